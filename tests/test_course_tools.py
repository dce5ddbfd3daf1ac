"""A notebook's first cell and its helpers (helpers/notebook.py), make prefetch offline, and the Makefile.

The runner is tested in test_runner.py, where data and weights come from in test_offline.py.
"""

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from commands import prefetch
from helpers import downloads, filtered, notebook, sources
from helpers.config import load_settings
from helpers.data import load_folder

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- notebook.start()


def test_start_shows_the_settings_in_two_lines_and_warns_about_fake_results(capsys):
    settings = notebook.start()  # conftest: the smoke profile, synthetic images and random weights
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Settings: profile smoke, data synthetic, base ")
    assert f"base {settings.base_model}, weights none, backend {keras.backend.backend()}" in lines[0]
    assert f"{settings.image_size} px images, batch {settings.batch_size}" in lines[1]
    assert lines[2] == (
        "Warning: this run uses synthetic images and random weights, so the accuracies below mean nothing "
        "about real photos."
    )


def test_real_photos_and_imagenet_weights_give_no_warning(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "quick")  # nothing is downloaded: start() only reads settings
    settings = notebook.start()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "Warning" not in lines[1]
    assert f"profile quick, data filtered, base {settings.base_model}, weights imagenet" in lines[0]


def test_only_random_weights_are_named_when_the_photos_are_real(tmp_path):
    settings = load_settings({"COURSE_DATA_DIR": str(tmp_path), "COURSE_WEIGHTS": "none"})
    assert notebook.fake_results_warning(settings).startswith("Warning: this run uses random weights, so")


def test_a_misspelt_setting_is_named_by_start_with_the_closest_one(capsys, monkeypatch):
    # Before: COURSE_EPOCH_HEAD=1 was ignored without a word, and the run trained the profile's epochs.
    monkeypatch.setenv("COURSE_EPOCH_HEAD", "1")
    monkeypatch.setenv("COURSE_THEME", "dark")
    notebook.start()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[2:4] == [
        "Warning: COURSE_EPOCH_HEAD is not a course setting, so it is ignored; did you mean COURSE_EPOCHS_HEAD?",
        "Warning: COURSE_THEME is not a course setting, so it is ignored; no course setting has a similar name.",
    ]


def test_every_course_variable_the_code_reads_is_a_known_setting():
    # A setting added to the code but not to known_settings() would be called a misspelling.
    from helpers.config import REPO_ROOT, known_settings

    files = [*REPO_ROOT.glob("helpers/**/*.py"), *REPO_ROOT.glob("commands/*.py"), REPO_ROOT / "tests" / "support.py"]
    files += [*REPO_ROOT.glob("notebooks/*.py"), REPO_ROOT / "Makefile", REPO_ROOT / ".ci" / "run"]
    read = {name for path in files for name in re.findall(r"\bCOURSE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text())}
    assert "COURSE_PREFETCH_FLOWERS" in read
    assert read - set(known_settings()) == set()


def test_a_bad_setting_stops_start_with_one_sentence(monkeypatch):
    monkeypatch.setenv("COURSE_BATCH_SIZE", "many")
    with pytest.raises(SystemExit, match="^Settings problem: COURSE_BATCH_SIZE='many' is not accepted"):
        notebook.start()


def test_start_notes_that_jax_on_a_cpu_is_slow_for_mobilenet_outside_smoke():
    quick = load_settings({"COURSE_PROFILE": "quick"})
    assert quick.base_model == "mobilenet_v2_0.35"
    assert "KERAS_BACKEND=tensorflow" in notebook.slow_backend_note(quick, jax_cpu_only=True)
    assert notebook.slow_backend_note(quick, jax_cpu_only=False) == ""
    assert notebook.slow_backend_note(load_settings({"COURSE_PROFILE": "smoke"}), jax_cpu_only=True) == ""
    xception = load_settings({"COURSE_PROFILE": "quick", "COURSE_BASE_MODEL": "xception"})
    assert notebook.slow_backend_note(xception, jax_cpu_only=True) == "", "its table entry: no depthwise convolutions"


def test_jax_on_cpu_asks_jax_which_devices_it_has(monkeypatch):
    import jax

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert notebook.jax_on_cpu() is False
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert notebook.jax_on_cpu() is True
    monkeypatch.setattr(keras.backend, "backend", lambda: "tensorflow")
    assert notebook.jax_on_cpu() is False, "TensorFlow: not JAX, whatever JAX's devices"


def test_show_settings_lists_every_setting(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "IPython.display", None)  # no Jupyter: printed
    settings = load_settings()
    notebook.show_settings(settings)
    shown = capsys.readouterr().out
    for name in ("profile", "cache_dir", "epochs_finetune", "seed"):
        assert name in shown


# ---------------------------------------------------------------- friendly_errors()


def test_course_errors_become_one_sentence(tmp_path):
    with pytest.raises(SystemExit) as stop:
        with notebook.friendly_errors():
            load_folder(tmp_path / "nowhere", 0, 0, 0)
    assert str(stop.value).startswith(f"The image folder {tmp_path / 'nowhere'} (COURSE_DATA_DIR) does not exist: ")
    for error in (downloads.DataUnavailable("no photos."), downloads.WeightsUnavailable("no weights.")):
        with pytest.raises(SystemExit, match=str(error)):
            with notebook.friendly_errors():
                raise error


def test_a_missing_file_becomes_one_sentence(tmp_path):
    with pytest.raises(SystemExit) as stop:
        with notebook.friendly_errors():
            open(tmp_path / "weights.h5")
    assert str(stop.value) == f"File not found: {tmp_path / 'weights.h5'}."


def test_other_errors_keep_their_stack_trace():
    with pytest.raises(ValueError):
        with notebook.friendly_errors():
            raise ValueError("a bug")


# ---------------------------------------------------------------- save_results()


def test_save_results_writes_the_settings_and_the_figures_in_one_call():
    settings = load_settings()
    returned = notebook.save_results(
        settings, "99_demo", accuracy=np.float32(0.5), sizes={"train": 64}, curve=np.array([0.25, 0.75])
    )
    assert returned is None
    path = notebook.results_path(settings, "99_demo")
    assert path == settings.build_dir / "results" / "99_demo.json"
    saved = json.loads(path.read_text())
    assert saved["settings"]["profile"] == "smoke" and saved["settings"]["seed"] == settings.seed
    assert saved["accuracy"] == 0.5 and saved["sizes"] == {"train": 64} and saved["curve"] == [0.25, 0.75]


def test_save_results_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="object cannot be saved as JSON"):
        notebook.save_results(load_settings(), "99_demo", model=object())


# ---------------------------------------------------------------- make prefetch


def test_prefetch_offline_says_so_in_one_sentence(monkeypatch, capsys):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    assert prefetch.main([]) == 1
    output = capsys.readouterr().out.strip()
    assert output.startswith("No network to download.mlcc.google.com or storage.googleapis.com: `make prefetch`")
    assert "about 155 MB" in output and "\n" not in output


def test_prefetch_downloads_from_the_photos_host_and_the_weights_host():
    assert prefetch.download_hosts({}) == ["download.mlcc.google.com", "storage.googleapis.com"]
    assert prefetch.download_hosts({"COURSE_PREFETCH_FULL": "1"}) == sorted(
        {"download.mlcc.google.com", downloads.tfds_host(), "storage.googleapis.com"}
    )
    assert prefetch.download_hosts({"COURSE_PREFETCH_FLOWERS": "1"}) == sorted(
        {"download.mlcc.google.com", downloads.tfds_host("tf_flowers"), "storage.googleapis.com"}
    )


def fake_downloads(monkeypatch, tmp_path):
    """Record what make prefetch downloads; the photos are a cached look-alike layout."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    fetched = []
    monkeypatch.setattr(prefetch, "download_weights", lambda base, cache: fetched.append(base) or f"{base}.h5")

    def fake_filtered(cache_dir):
        folder = filtered.filtered_dir(cache_dir)
        for split in ("train", "validation"):
            for name in ("cats", "dogs"):
                (folder / split / name).mkdir(parents=True, exist_ok=True)
                (folder / split / name / "1.jpg").write_bytes(b"")
        fetched.append("filtered")
        return folder

    monkeypatch.setattr(sources.filtered, "download_filtered", fake_filtered)
    monkeypatch.setattr(sources.tfds_cats_vs_dogs, "load_tfds", lambda cache_dir: fetched.append("tfds"))
    monkeypatch.setattr(sources.tfds_cats_vs_dogs, "tfds_prepared", lambda cache_dir: "tfds" in fetched)
    monkeypatch.setattr(sources.flowers, "load_flowers", lambda cache_dir, *caps: fetched.append("flowers"))
    monkeypatch.setattr(sources.flowers, "tfds_prepared", lambda cache_dir, name: "flowers" in fetched)
    return fetched


def test_prefetch_fetches_what_quick_needs_and_says_how_to_fetch_full(monkeypatch, tmp_path, capsys):
    fetched = fake_downloads(monkeypatch, tmp_path)
    assert prefetch.main([]) == 0
    assert fetched == ["xception", "mobilenet_v2_0.35", "filtered"]
    output = capsys.readouterr().out
    assert (
        f"cats_and_dogs_filtered (quick profile): {filtered.filtered_dir(tmp_path)} (train 1 + 1, validation 1 + 1)"
        in output
    )
    assert "run `COURSE_PREFETCH_FULL=1 make prefetch` to fetch it too." in output


def test_prefetch_full_fetches_tfds_too(monkeypatch, tmp_path, capsys):
    fetched = fake_downloads(monkeypatch, tmp_path)
    monkeypatch.setenv("COURSE_PREFETCH_FULL", "1")
    assert prefetch.main([]) == 0
    assert fetched == ["xception", "mobilenet_v2_0.35", "filtered", "tfds"]
    output = capsys.readouterr().out
    assert "TFDS cats_vs_dogs (full profile)" in output and "COURSE_PREFETCH_FULL=1 make" not in output


def test_prefetch_fetches_tf_flowers_only_when_asked(monkeypatch, tmp_path, capsys):
    fetched = fake_downloads(monkeypatch, tmp_path)
    monkeypatch.delenv("COURSE_PREFETCH_FLOWERS", raising=False)
    assert prefetch.main([]) == 0
    assert "flowers" not in fetched
    output = capsys.readouterr().out
    assert "TFDS tf_flowers (COURSE_DATA_SOURCE=flowers, about 230 MB more) was not fetched" in output
    assert "run `COURSE_PREFETCH_FLOWERS=1 make prefetch` to fetch it too." in output
    fetched.clear()
    monkeypatch.setenv("COURSE_PREFETCH_FLOWERS", "1")
    assert prefetch.main([]) == 0
    assert fetched == ["xception", "mobilenet_v2_0.35", "filtered", "flowers"]
    output = capsys.readouterr().out
    assert f"TFDS tf_flowers (COURSE_DATA_SOURCE=flowers): {tmp_path / 'tensorflow_datasets'}" in output
    assert "COURSE_PREFETCH_FLOWERS=1 make" not in output


def test_prefetch_offline_counts_the_sources_it_was_asked_for(monkeypatch, capsys):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    monkeypatch.setenv("COURSE_PREFETCH_FLOWERS", "1")
    assert prefetch.main([]) == 1
    output = capsys.readouterr().out.strip()
    assert "about 385 MB" in output and "download.tensorflow.org" in output and "\n" not in output


# ---------------------------------------------------------------- Makefile

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args, path=None, cwd=REPO):
    # Under `make test` the outer make's variables would make this one print "Entering directory".
    # BASE_PYTHON too: `make test BASE_PYTHON=...` exports it, and these tests choose it themselves.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "BASE_PYTHON")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [shutil.which("make"), "--no-print-directory", "-f", str(REPO / "Makefile"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


@needs_make
def test_one_notebook_timeout_for_make_run_and_make_test():
    run = make("-n", "run", "NOTEBOOK_TIMEOUT=77").stdout
    test = make("-n", "test", "NOTEBOOK_TIMEOUT=77").stdout
    assert "COURSE_NOTEBOOK_TIMEOUT=77 " in run and "-m commands.run_course" in run
    assert "COURSE_NOTEBOOK_TIMEOUT=77 " in test and "pytest" in test  # tests/test_site.py runs the notebooks


@needs_make
def test_make_test_lints_first():
    commands = [line for line in make("-n", "test").stdout.splitlines() if "ruff" in line or "pytest" in line]
    assert "ruff check" in commands[0] and "ruff format --check" in commands[1] and "pytest" in commands[2]


def fake_python(folder, name, version):
    """An executable `name` that answers the Makefile's version check as Python `version` would."""
    script = folder / name
    script.write_text(
        f'#!/bin/sh\nif [ "$1" = -c ]; then exec {shutil.which("python3")} -c \'import sys; sys.version_info = '
        f'{version}; exec(sys.argv[1])\' "$2"; fi\necho "$0 $*"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@needs_make
def test_make_picks_the_first_python_from_3_11_to_3_13(tmp_path):
    (tmp_path / "bin").mkdir()
    show = '--eval=show: ; @echo "$(BASE_PYTHON)"'  # quoted: make runs it through the shell
    fake_python(tmp_path / "bin", "python3.13", (3, 13, 0))
    assert make(show, "show", path=str(tmp_path / "bin")).stdout.strip() == str(tmp_path / "bin" / "python3.13")
    fake_python(tmp_path / "bin", "python3.12", (3, 12, 0))
    assert make(show, "show", path=str(tmp_path / "bin")).stdout.strip() == str(tmp_path / "bin" / "python3.12")
    assert make(show, "show", "BASE_PYTHON=/opt/py", path=str(tmp_path / "bin")).stdout.strip() == "/opt/py"


@needs_make
def test_make_setup_without_a_suitable_python_says_what_it_needs(tmp_path):
    (tmp_path / "bin").mkdir()
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    result = make("setup", path=str(tmp_path / "bin"), cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout.strip() == (
        "The course needs Python 3.11, 3.12 or 3.13: install one (python3.11, python3.12 or python3.13 on the "
        "PATH) or set BASE_PYTHON=/path/to/python3.1x."
    )
    fake_python(tmp_path / "bin", "python3.10", (3, 10, 0))
    too_old = make("setup", f"BASE_PYTHON={tmp_path / 'bin' / 'python3.10'}", path=str(tmp_path / "bin"), cwd=tmp_path)
    assert too_old.returncode != 0 and too_old.stdout.startswith("The course needs Python 3.11, 3.12 or 3.13")
    assert not (tmp_path / ".venv").exists()


# ---------------------------------------------------------------- make bench


def test_bench_times_both_layers_on_the_backend_in_force():
    # In this process (bench_backends runs the same function once per backend, each in its own process).
    from commands import bench

    timings = bench.layer_milliseconds(batch_shape=(2, 8, 8, 4), repeats=1)
    assert sorted(timings) == ["convolution 3x3", "depthwise 3x3"]
    assert all(ms >= 0 for ms in timings.values())
