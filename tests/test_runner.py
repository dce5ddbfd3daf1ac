"""`make run`'s runner: executed copies, failures named in the summary, settings it may and may not replace,
and a terminal and notebooks free of TensorFlow's start-up lines."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nonroot import open_folder, run_as_nobody
from support import use_ordinary_kernels

from commands import run_course
from helpers import downloads
from helpers.config import SettingsError


@pytest.fixture(autouse=True)
def ordinary_kernels(monkeypatch):
    """What is tested here is how learners' kernels start: none is forked from the tests' zygote (conftest.py)."""
    use_ordinary_kernels(monkeypatch)


def write_notebook(path, *cells):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells]), path)
    return path


# ---------------------------------------------------------------- one notebook


def test_the_runner_writes_an_executed_copy_and_leaves_the_source_alone(tmp_path):
    source = write_notebook(tmp_path / "01_demo.ipynb", "print(6 * 7)")
    before = source.read_bytes()
    ok, seconds, error = run_course.execute_notebook(source, tmp_path / "out" / "01_demo.ipynb")
    assert ok and error == "" and seconds > 0
    assert source.read_bytes() == before
    executed = nbformat.read(tmp_path / "out" / "01_demo.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "42\n"


def test_a_failing_notebook_is_reported_in_one_line(tmp_path):
    source = write_notebook(tmp_path / "02_broken.ipynb", "1 / 0")
    ok, _, error = run_course.execute_notebook(source, tmp_path / "out.ipynb")
    assert not ok and "ZeroDivisionError" in error and "\n" not in error


def test_no_tensorflow_start_up_lines_reach_the_notebook(tmp_path, monkeypatch):
    # ipykernel copies what is written to file descriptors 1 and 2 into the cell's outputs, except under
    # pytest (it looks for this variable, which kernels inherit): here it must behave as in Jupyter.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the first cell's notebook.start() sets it
    source = write_notebook(
        tmp_path / "03_tf.ipynb",
        "from helpers import notebook\nsettings = notebook.start()\nimport tensorflow as tf\ntf.constant(1) + 1",
    )
    ok, _, error = run_course.execute_notebook(source, tmp_path / "out" / "03_tf.ipynb", timeout=120)
    assert ok, error
    outputs = nbformat.read(tmp_path / "out" / "03_tf.ipynb", as_version=4).cells[0].outputs
    text = "\n".join(str(output.get("text", "")) + str(output.get("data", "")) for output in outputs)
    assert "numpy=2" in text
    for noise in ("oneDNN", "cuInit", "absl", "cuda"):
        assert noise not in text
    assert not [output for output in outputs if output.get("name") == "stderr"]


# ---------------------------------------------------------------- the whole run


def test_a_timeout_and_a_dead_kernel_are_named_and_the_others_still_run(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_slow.ipynb", "import time\ntime.sleep(30)")
    write_notebook(folder / "02_crash.ipynb", "import os\nos._exit(1)")
    write_notebook(folder / "03_fine.ipynb", "print('fine')")
    monkeypatch.setenv("COURSE_NOTEBOOK_TIMEOUT", "2")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    assert run_course.main([str(folder)]) == 1
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[0].startswith("running 01_slow.ipynb ... FAILED (")
    assert lines[1].startswith("running 02_crash.ipynb ... FAILED (")
    assert lines[2].startswith("running 03_fine.ipynb ... ok (")
    rows = {line.split()[0]: line for line in lines if line.startswith("0")}
    assert "FAILED" in rows["01_slow"] and "CellTimeoutError: a cell ran longer than 2 s" in rows["01_slow"]
    assert "FAILED" in rows["02_crash"] and "DeadKernelError: the kernel died" in rows["02_crash"]
    assert rows["03_fine"].split()[1] == "ok"
    executed = tmp_path / "build" / "executed"
    assert nbformat.read(executed / "03_fine.ipynb", as_version=4).cells[0].outputs[0].text == "fine\n"


def test_the_terminal_shows_only_the_courses_lines(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_tf.ipynb", "from helpers import notebook\nsettings = notebook.start()")
    write_notebook(folder / "02_tf.ipynb", "from helpers import models\nimport tensorflow as tf\ntf.constant(1) + 1")
    # Without TF_CPP_MIN_LOG_LEVEL (the runner sets it for its kernels) and without pytest's variable (see above).
    # The runner itself never imports TensorFlow (its start-up lines, and 6 s of CPU, are the kernels'), asserted below.
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")}
    env["COURSE_BUILD_DIR"] = str(tmp_path / "build")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; from commands import run_course; code = run_course.main([{str(folder)!r}]); "
            "assert 'tensorflow' not in sys.modules, 'the runner imported TensorFlow'; sys.exit(code)",
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(run_course.__file__).parents[1],
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert lines[0].startswith("running 01_tf.ipynb ... ok") and lines[1].startswith("running 02_tf.ipynb ... ok")
    assert lines[2] == "" and lines[3].startswith("profile smoke, data synthetic")
    assert not [line for line in lines if "Kernel" in line or "oneDNN" in line or "absl" in line]


def test_the_timeout_comes_from_the_makefile_setting():
    assert run_course.notebook_timeout({}) == run_course.DEFAULT_TIMEOUT
    assert run_course.notebook_timeout({"COURSE_NOTEBOOK_TIMEOUT": "90"}) == 90
    with pytest.raises(SettingsError, match="COURSE_NOTEBOOK_TIMEOUT='soon' is not accepted"):
        run_course.notebook_timeout({"COURSE_NOTEBOOK_TIMEOUT": "soon"})


# ---------------------------------------------------------------- what the run may replace offline


@pytest.fixture
def offline_machine(monkeypatch, tmp_path):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    return {"COURSE_CACHE_DIR": str(tmp_path / "empty-cache"), "COURSE_BUILD_DIR": str(tmp_path / "build")}


def test_what_the_user_left_at_its_defaults_is_replaced_and_said(offline_machine):
    env = dict(offline_machine)
    settings, overrides, sentence = run_course.plan_run(env)
    assert (settings.profile, settings.data_source, settings.weights) == ("smoke", "synthetic", "none")
    assert env["COURSE_PROFILE"] == "smoke" and env["COURSE_WEIGHTS"] == "none", "the kernels must see them"
    assert "COURSE_PROFILE quick -> smoke" in sentence and "COURSE_WEIGHTS imagenet -> none" in sentence


def test_the_default_profile_is_not_mistaken_for_a_choice(offline_machine):
    env = {**offline_machine, "COURSE_PROFILE": ""}  # empty counts as not set, as in config
    assert "COURSE_PROFILE" not in run_course.user_choices(env)
    assert run_course.plan_run(env)[0].profile == "smoke"


@pytest.mark.parametrize(
    "chosen, error",
    [
        ({"COURSE_PROFILE": "quick"}, "You set COURSE_PROFILE=quick, which needs the cats_and_dogs_filtered photos"),
        (
            {"COURSE_DATA_SOURCE": "filtered"},
            "You set COURSE_DATA_SOURCE=filtered, which needs the cats_and_dogs_filtered photos",
        ),
        ({"COURSE_PROFILE": "full"}, "You set COURSE_PROFILE=full, which needs TFDS cats_vs_dogs"),
        ({"COURSE_DATA_SOURCE": "tfds"}, "You set COURSE_DATA_SOURCE=tfds, which needs TFDS cats_vs_dogs"),
        ({"COURSE_WEIGHTS": "imagenet"}, "You set COURSE_WEIGHTS=imagenet, which needs the ImageNet weights"),
    ],
)
def test_what_the_user_chose_is_never_replaced(offline_machine, monkeypatch, capsys, chosen, error):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    for name, value in {**offline_machine, **chosen}.items():
        monkeypatch.setenv(name, value)
    assert run_course.main([]) == 2
    output = capsys.readouterr().out.strip()
    assert output.startswith(error) and "\n" not in output


def test_a_folder_that_does_not_exist_stops_the_run_naming_it(offline_machine, monkeypatch, capsys, tmp_path):
    for name, value in offline_machine.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "nonexistent"))
    assert run_course.main([]) == 2
    output = capsys.readouterr().out.strip()
    assert output == (
        f"The image folder {tmp_path / 'nonexistent'} (COURSE_DATA_DIR) does not exist: point COURSE_DATA_DIR at a "
        "folder of class folders (cat/ and dog/) or of train/ and validation/ folders."
    )


# ---------------------------------------------------------------- a signal stops the run


def gone(pid):
    """True when process `pid` has ended (a zombie waiting for its parent counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "how",
    [
        "ctrl-c: SIGINT to the runner's process group",
        "SIGTERM to the runner",
        "ctrl-c on make run: SIGINT to make's process group",
        "SIGTERM to make run",
    ],
)
def test_a_signal_stops_the_run_at_once_and_kills_its_kernel(tmp_path, how):
    # Before, nbclient's own handler shut the kernel down, the notebook FAILED and the next ones still ran.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    pids = tmp_path / "kernel.pids"
    write_notebook(folder / "01_quick.ipynb", "print('quick')")
    write_notebook(
        folder / "02_sleeps.ipynb",
        f"import os, pathlib, time\npathlib.Path({str(pids)!r}).write_text(f'{{os.getpid()}} {{os.getppid()}}')",
        "time.sleep(120)",
    )
    write_notebook(folder / "03_later.ipynb", "print('later')")
    before = snapshot(folder)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    env["COURSE_BUILD_DIR"] = str(tmp_path / "build")
    repo = Path(run_course.__file__).parents[1]
    if "make" in how:
        command = ["make", "--no-print-directory", "run", f"NOTEBOOKS={folder}"]
    else:
        command = [sys.executable, "-m", "commands.run_course", str(folder)]
    run = subprocess.Popen(
        command, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        assert wait_until(lambda: pids.exists() and pids.read_text(), 120), "notebook 02 started"
        kernel, runner = map(int, pids.read_text().split())
        time.sleep(0.5)  # inside time.sleep(120)
        sent = time.monotonic()
        if how.startswith("ctrl-c"):
            os.killpg(run.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
        else:
            os.kill(run.pid, signal.SIGTERM)
        output, _ = run.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert took < 10, f"the run stopped {took:.1f} s after the signal"
    assert wait_until(lambda: gone(kernel), 2), "no kernel is left"
    assert gone(runner), "no runner is left"
    name = "SIGINT" if how.startswith("ctrl-c") else "SIGTERM"
    rows = {line.split()[0]: line for line in output.splitlines() if line.startswith("0")}
    assert rows["01_quick"].split()[1] == "ok", output
    assert rows["02_sleeps"].split()[1] == "INTERRUPTED" and f"stopped by {name}" in rows["02_sleeps"], output
    assert rows["03_later"].split()[1:3] == ["not", "run"], output
    assert "running 03_later" not in output
    assert snapshot(folder) == before, "the notebooks folder is untouched"
    if "make" not in how:
        assert run.returncode == 128 + signal.Signals[name].value


# ---------------------------------------------------------------- relative paths


def test_relative_paths_are_resolved_once_from_where_the_command_was_typed(tmp_path):
    # Before: the runner resolved them from its directory, the kernels from notebooks/ ("…/notebooks/pets
    # does not exist"), and a relative build dir put outputs in notebooks/out/.
    typed_in = tmp_path / "here"
    pets = typed_in / "pets"
    for name in ("cat", "dog"):
        (pets / name).mkdir(parents=True)
    folder = typed_in / "notebooks"
    folder.mkdir()
    write_notebook(
        folder / "01_paths.ipynb",
        "from helpers.config import load_settings\ns = load_settings()\nprint(s.data_dir, s.cache_dir, s.build_dir)",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
    env.update(COURSE_PROFILE="smoke", COURSE_DATA_DIR=" pets ", COURSE_CACHE_DIR="cache ", COURSE_BUILD_DIR=" out")
    env.update(COURSE_WEIGHTS="none")
    run = subprocess.run(
        [sys.executable, "-m", "commands.run_course", str(folder)],
        cwd=typed_in,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    executed = typed_in / "out" / "executed" / "01_paths.ipynb"
    assert executed.exists() and not (folder / "out").exists()
    printed = nbformat.read(executed, as_version=4).cells[0].outputs[0].text.split()
    assert printed == [str(pets), str(typed_in / "cache"), str(typed_in / "out")]


# ---------------------------------------------------------------- KERAS_BACKEND


@pytest.mark.parametrize(
    "backend, sentence",
    [
        ("tensorflw", "Settings problem: KERAS_BACKEND='tensorflw' is not a Keras backend; use tensorflow"),
        ("openvino", "Settings problem: KERAS_BACKEND=openvino needs the openvino package, which is not installed"),
    ],
)
def test_a_bad_or_missing_backend_is_one_sentence_in_make_run_and_in_a_notebook(tmp_path, backend, sentence):
    # Before: make run printed 50 lines of traceback and no summary.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_any.ipynb", "print(1)")
    env = {**os.environ, "KERAS_BACKEND": backend, "COURSE_BUILD_DIR": str(tmp_path / "build")}
    repo = Path(run_course.__file__).parents[1]
    run = subprocess.run(
        [sys.executable, "-m", "commands.run_course", str(folder)], cwd=repo, env=env, capture_output=True, text=True
    )
    assert run.returncode == 2 and run.stdout.startswith(sentence) and run.stdout.count("\n") == 1, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    first_cell = subprocess.run(
        [sys.executable, "-c", "from helpers import notebook\nsettings = notebook.start()"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert first_cell.returncode == 1 and first_cell.stderr.strip().startswith(sentence), first_cell.stderr


# ---------------------------------------------------------------- two runs, one build folder


def test_a_second_run_on_the_same_build_folder_is_refused_in_one_sentence(tmp_path, monkeypatch, capsys):
    # Before: two runs sharing a build folder overwrote each other's executed copies without a word.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_any.ipynb", "print(1)")
    build = tmp_path / "build"
    monkeypatch.setenv("COURSE_BUILD_DIR", str(build))
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    with run_course.lock_build_dir(build):  # the first run, still going
        assert run_course.main([str(folder)]) == 2
        output = capsys.readouterr().out
        assert output == (
            f"Another make run (process {os.getpid()}) is writing to {build}: wait for it to end, stop it, or give "
            "this run a folder of its own with COURSE_BUILD_DIR=path.\n"
        )
    assert not (build / "executed").exists()
    assert run_course.main([str(folder)]) == 0, "once the first run ends, the lock is free"


# ---------------------------------------------------------------- build folders it cannot use, misspelt settings


def test_a_build_folder_that_is_a_file_is_one_sentence(tmp_path, monkeypatch, capsys):
    # Before: FileExistsError, with a traceback.
    (tmp_path / "notes.txt").write_text("not a folder")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "notes.txt"))
    assert run_course.main([str(tmp_path)]) == 2
    assert capsys.readouterr().out == (
        f"Settings problem: COURSE_BUILD_DIR='{tmp_path / 'notes.txt'}' is a file; point COURSE_BUILD_DIR at a folder.\n"
    )


def test_a_build_folder_it_cannot_write_is_one_sentence():
    # Before: PermissionError on .make-run.lock, with a traceback (as any user but root).
    shared = open_folder()
    try:
        write_notebook(shared / "01_any.ipynb", "print(1)")
        build = shared / "build"
        build.mkdir(mode=0o555)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("COURSE_PROFILE", "smoke")
            patch.setenv("COURSE_BUILD_DIR", str(build))
            patch.setenv("COURSE_CACHE_DIR", str(shared / "cache"))
            code, out, err = run_as_nobody(run_course.main, [str(shared)])
        assert code == 2 and err == "", (code, out, err)
        assert out == (
            f"make run cannot write to {build} (permission denied); give this run a folder of its own with "
            "COURSE_BUILD_DIR=path.\n"
        )
    finally:
        shutil.rmtree(shared)


def test_a_misspelt_setting_is_named_before_and_after_the_run(tmp_path, monkeypatch, capsys):
    write_notebook(tmp_path / "01_any.ipynb", "print(1)")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("COURSE_EPOCH_HEAD", "1")
    assert run_course.main([str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    warning = "Warning: COURSE_EPOCH_HEAD is not a course setting, so it is ignored; did you mean COURSE_EPOCHS_HEAD?"
    assert lines[0] == warning and lines[-1] == warning
