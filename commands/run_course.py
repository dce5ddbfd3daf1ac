"""`make run`: execute every notebook, in order, into build/executed/, and print a summary.

The notebooks in notebooks/ are only read. Without network, data or weights that cannot be had are
replaced by synthetic images and random weights, but only where the user left the setting at its
default; a setting the user chose that cannot be met stops the run with one sentence. A notebook that
fails, times out or kills its kernel is named in the summary and the others still run. Ctrl-C, SIGINT or
SIGTERM stops the run at once: the running notebook's kernel is killed, it is named INTERRUPTED in the
summary, and the notebooks not yet run are listed as such.
"""

import logging
import os
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from commands import argument_parser
from helpers import set_course_environment
from helpers.config import (
    DEFAULT_PROFILE,
    REPO_ROOT,
    SettingsError,
    keras_backend_problem,
    load_settings,
    unknown_settings,
    whole_number,
)
from helpers.downloads import DataUnavailable, WeightsUnavailable
from helpers.folders import FolderProblem, lock_folder
from helpers.offline import offline_fallback
from helpers.provenance import RECORD_KEY, run_record
from helpers.tables import Table

TIMEOUT_VARIABLE = "COURSE_NOTEBOOK_TIMEOUT"  # set from the Makefile's NOTEBOOK_TIMEOUT, as nbmake's is
DEFAULT_TIMEOUT = 600  # seconds per cell when run without the Makefile
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):
    """The run was asked to stop by a signal (Ctrl-C is SIGINT); its argument is the signal's name."""


_RUNNING = []  # the NotebookClient of the notebook running now (set by execute_notebook)


def notebook_paths(folder=REPO_ROOT / "notebooks"):
    """The course's notebooks, in order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(source, target, timeout=DEFAULT_TIMEOUT, env=None):
    """Run `source` in a fresh kernel, write the executed copy to `target`; return (ok, seconds, error).

    `timeout` is per cell, as nbmake's. `env` is the kernel's environment (default: this process's), so
    `make bench` gives a notebook its settings without changing its own. The kernel's own stderr (transport
    warnings, a crash report) goes to a `.kernel.log` file beside `target`, not to the terminal; cell
    outputs are in the copy.
    """
    env = os.environ if env is None else env
    import nbformat  # here, not at the top: it takes seconds to import (its JSON-schema checks)
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(source.parent)}})
    _RUNNING[:] = [client]
    target.parent.mkdir(parents=True, exist_ok=True)
    kernel_log = target.with_suffix(".kernel.log")
    started = time.perf_counter()
    error = ""
    try:
        with open(kernel_log, "wb") as log:
            client.execute(stdout=log, stderr=log, env=env)
    except CellExecutionError as failure:
        error = _last_line(str(failure))
    except CellTimeoutError:
        error = f"CellTimeoutError: a cell ran longer than {timeout} s (for more: make run NOTEBOOK_TIMEOUT=...)"
    except DeadKernelError:
        error = f"DeadKernelError: the kernel died; see {kernel_log}"
    except Exception as failure:  # a kernel that cannot start, a broken notebook file: still summarise
        error = f"{type(failure).__name__}: {_last_line(str(failure))}"
    finally:
        notebook.metadata[RECORD_KEY] = run_record(notebook, env)  # how it was made, for `make site`'s banner
        nbformat.write(notebook, target)
    return not error, time.perf_counter() - started, error


def execute_stoppably(source, target, timeout=DEFAULT_TIMEOUT):
    """execute_notebook in a thread, so that a signal reaches the runner and not nbclient's own handler.

    nbclient installs SIGINT and SIGTERM handlers that shut the kernel down and report a failed cell;
    outside the main thread it cannot, so the runner's handlers (see `stop_on_signals`) raise Interrupted
    here. Then the kernel is killed and Interrupted goes on to the caller.
    """
    result = []
    worker = threading.Thread(target=lambda: result.append(execute_notebook(source, target, timeout)), daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except Interrupted:
        kill_kernels()
        worker.join(3)  # nbclient notices the dead kernel and writes the executed copy
        kill_kernels()  # a kernel that was still starting when the signal came
        raise
    return result[0]


def kill_kernels():
    """Kill the running notebook's kernel and everything it started (its process group)."""
    for client in _RUNNING:
        provisioner = getattr(getattr(client, "km", None), "provisioner", None)
        pid = getattr(provisioner, "pgid", None) or getattr(provisioner, "pid", None)
        if not pid:
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def stop_on_signals():
    """From now on SIGINT and SIGTERM raise Interrupted (once: a second signal during the clean-up is ignored).

    Returns the handlers it replaced, for `signal.signal` to put back.
    """

    def handler(signum, frame):
        for stop in STOP_SIGNALS:
            signal.signal(stop, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    return {stop: signal.signal(stop, handler) for stop in STOP_SIGNALS}


def _last_line(text):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Jupyter colours its tracebacks
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "failed"


def notebook_timeout(env=None):
    """Seconds a cell may run, from COURSE_NOTEBOOK_TIMEOUT (the Makefile's NOTEBOOK_TIMEOUT)."""
    env = os.environ if env is None else env
    return whole_number(env, TIMEOUT_VARIABLE, DEFAULT_TIMEOUT, why=" (seconds)")


def user_choices(env=None):
    """The COURSE_* variables the user set (to a non-empty value), read before any default is filled in."""
    env = os.environ if env is None else env
    return {name for name, value in env.items() if name.startswith("COURSE_") and value.strip()}


def plan_run(env):
    """Settings for the run, after the offline fallback: (settings, overrides applied, sentence).

    Raises SettingsError for a bad value, DataUnavailable or WeightsUnavailable for a choice of the
    user's that cannot be met (a missing folder, or photos or ImageNet weights offline without a cache).
    `env` is updated in place with the overrides and with the absolute paths of the paths the user set
    (COURSE_DATA_DIR, COURSE_CACHE_DIR, COURSE_BUILD_DIR, a COURSE_WEIGHTS file), so the kernels see them.
    """
    chosen = user_choices(env)
    env.setdefault("COURSE_PROFILE", DEFAULT_PROFILE)
    settings = load_settings(env)
    # The kernels run in notebooks/: they get the paths as resolved here, where the user typed the command.
    paths = {"COURSE_DATA_DIR": settings.data_dir, "COURSE_CACHE_DIR": settings.cache_dir}
    paths.update(COURSE_BUILD_DIR=settings.build_dir, COURSE_WEIGHTS=settings.weights)
    env.update({name: str(value) for name, value in paths.items() if name in chosen})
    overrides, sentence = offline_fallback(settings, chosen)
    if overrides:
        env.update(overrides)
        settings = load_settings(env)
    return settings, overrides, sentence


BUILD_DIR_ADVICE = "give this run a folder of its own with COURSE_BUILD_DIR=path"


def lock_build_dir(build_dir):
    """Hold `build_dir`/.make-run.lock for this run (helpers.folders.lock_folder); returns the open file."""
    return lock_folder(build_dir, "make run", BUILD_DIR_ADVICE)


def quiet_jupyter():
    """Keep kernel-transport warnings and log lines (jupyter_client, zmq, tornado) off the terminal."""
    for name in ("traitlets", "jupyter_client", "nbclient", "asyncio", "tornado", "zmq"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for module in ("jupyter_client", "jupyter_core", "nbclient", "zmq", "tornado", "asyncio"):
        warnings.filterwarnings("ignore", module=module)


def main(argv=None):
    """Run the notebooks (of the folder in `argv`, else notebooks/); return 2 when a setting is bad or cannot
    be met, 1 when a notebook fails, 0 when all ran.

    After SIGINT or SIGTERM: 128 + the signal's number, once the summary is printed.
    """
    parser = argument_parser("make run", __doc__)
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=REPO_ROOT / "notebooks",
        help="another folder of notebooks to run (make run NOTEBOOKS=...; the tests use one); default notebooks/",
    )
    folder = parser.parse_args(argv).folder
    replaced = stop_on_signals()
    try:
        return _run(folder)
    except Interrupted as signal_name:  # before any notebook started
        print(f"Stopped by {signal_name} before any notebook ran.")
        return 128 + signal.Signals[str(signal_name)].value
    finally:
        for stop, handler in replaced.items():
            signal.signal(stop, handler)


def _run(folder):
    quiet_jupyter()
    backend_problem = keras_backend_problem()
    if backend_problem:  # before anything imports Keras, which fails with a long traceback
        print(f"Settings problem: {backend_problem}")
        return 2
    for warning in unknown_settings():
        print(warning)
    # For the kernels, which inherit it: TensorFlow's log level, KERAS_BACKEND (" jax" is jax). The runner itself
    # imports neither Keras nor TensorFlow (6 s saved per run).
    set_course_environment()

    try:
        timeout = notebook_timeout()
        settings, _, fallback = plan_run(os.environ)
    except SettingsError as error:
        print(f"Settings problem: {error}")
        return 2
    except (DataUnavailable, WeightsUnavailable) as error:
        print(error)
        return 2
    try:
        lock = lock_build_dir(settings.build_dir)
    except FolderProblem as error:
        print(error)
        return 2
    with lock:
        return _run_notebooks(folder, settings, timeout, fallback)


def _run_notebooks(folder, settings, timeout, fallback):
    if fallback:
        print(fallback)
    executed_dir = settings.build_dir / "executed"
    rows, stopped_by = [], ""
    sources = notebook_paths(folder)
    for source in sources:
        print(f"running {source.name} ...", end=" ", flush=True)
        started = time.perf_counter()
        try:
            ok, seconds, error = execute_stoppably(source, executed_dir / source.name, timeout)
        except Interrupted as signal_name:
            stopped_by = str(signal_name)
            print(f"INTERRUPTED by {stopped_by}", flush=True)
            seconds = round(time.perf_counter() - started)
            rows.append([source.stem, "INTERRUPTED", seconds, f"stopped by {stopped_by}; its kernel was killed"])
            rows += [[later.stem, "not run", "", ""] for later in sources[len(rows) :]]
            break
        print(f"{'ok' if ok else 'FAILED'} ({round(seconds)} s)", flush=True)
        rows.append([source.stem, "ok" if ok else "FAILED", round(seconds), error])
    print()
    if fallback:
        print(fallback)
    print(
        f"profile {settings.profile}, data {settings.data_source}, base {settings.base_model}, "
        f"weights {settings.weights}; executed copies in {executed_dir}"
    )
    print(Table(["notebook", "status", "seconds", "error"], rows), flush=True)
    for warning in unknown_settings():  # again: the first lines have scrolled away by now
        print(warning)
    if stopped_by:
        return 128 + signal.Signals[stopped_by].value  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    return 0 if all(row[1] == "ok" for row in rows) else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    # After a signal, skip the interpreter's clean-up: nbclient's exit hook would wait on the killed kernel.
    os._exit(code) if code > 128 else sys.exit(code)
