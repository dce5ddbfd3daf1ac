"""Every test, and every notebook the tests run, uses the smoke profile with throw-away folders.

COURSE_* variables from the shell (but the tests' own switches, TEST_SWITCHES) are cleared so that a
learner's own settings cannot change the tests; the notebooks' kernels inherit this environment.
"""

import os
import tempfile
from pathlib import Path

import pytest

from commands import sync
from helpers import set_course_environment
from helpers.config import SHARED_PHOTOS as REAL_PHOTOS
from helpers.config import SHARED_WEIGHTS as MOBILENET_WEIGHTS

# The tests' own switches, not course settings: kept, so that pytest-xdist's workers (started after this
# file has run in the main process, with its environment) see them too.
# COURSE_NOTEBOOK_TIMEOUT: the seconds per cell `make test` gives tests/test_site.py's run of the notebooks.
TEST_SWITCHES = ("COURSE_REQUIRE_REAL", "COURSE_REQUIRE_BROWSER", "COURSE_TEST_FORK_KERNELS", "COURSE_NOTEBOOK_TIMEOUT")
REQUIRE_REAL = os.environ.get("COURSE_REQUIRE_REAL") == "1"
FORK_KERNELS = os.environ.get("COURSE_TEST_FORK_KERNELS") == "1"
for name in [n for n in os.environ if n.startswith("COURSE_") and n not in TEST_SWITCHES]:
    del os.environ[name]
_scratch = tempfile.mkdtemp(prefix="course-tests-")
os.environ.update(
    COURSE_PROFILE="smoke",
    COURSE_BUILD_DIR=os.path.join(_scratch, "build"),
    COURSE_CACHE_DIR=os.path.join(_scratch, "cache"),
)
# What notebook.start() and the commands set before TensorFlow is imported (its log level, KERAS_BACKEND), set
# once for the whole run: importing helpers sets nothing, and a test that calls start() must not change what
# the kernels started after it inherit.
set_course_environment()


# The code that makes a notebook kernel run TensorFlow's steps eagerly, for tests whose few steps cost less
# than tracing a train step (notebook 05's mutation rows, test_new_base); test_site.py runs the notebooks compiled.
EAGER_STEPS = "import tensorflow as tf\ntf.config.run_functions_eagerly(True)\n"


def require_shared_material():
    """Skip when ../shared is missing, unless COURSE_REQUIRE_REAL=1 makes that a failure (CI)."""
    missing = [str(p) for p in (REAL_PHOTOS, MOBILENET_WEIGHTS) if not p.exists()]
    if missing and REQUIRE_REAL:
        pytest.fail(f"COURSE_REQUIRE_REAL=1 but the test material is missing: {', '.join(missing)}")
    if missing:
        pytest.skip(f"test material not found: {', '.join(missing)}")


# JAX compiles each jitted function with XLA, which costs seconds per model on a CPU. A persistent
# compilation cache lets a later test reuse what an earlier one compiled (measured once: notebook 05 on
# JAX took 134 s with an empty cache, 87 s run again with it; hits between notebooks were not measured).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(_scratch, "jax-cache"))
# XLA's CPU compiler at its lowest optimisation level, without its fusion emitters and with one code-generation
# task per program: a smoke run takes a few steps per compiled function, so compiling costs more than running
# (measured once: notebook 05 on JAX 87 s -> 67 s with the first two flags; with all four, MobileNetV2's
# first fit() at 32 px 23 s -> 9.5 s compiled, 69 s -> 42 s eager, and notebook 08 on JAX 148 s -> 92 s).
# Tests only.
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    " --xla_cpu_use_fusion_emitters=false --xla_cpu_parallel_codegen_split_count=1",
)

# The longest tests first, longest of all first, so that none of them starts last on one worker while the
# other waits (make test also lets an idle worker take tests queued for the other: --dist worksteal). The
# seconds are those of b65f80c's CI run (`make test` lists its 60 slowest tests), but test_site.py's (it runs
# the notebooks nbmake ran then, measured alone); a test not listed here ranks by its file, after the listed ones.
_MEASURED_SECONDS = {  # a part of the test's id: seconds
    "test_real_photos.py": 357,
    "test_site.py": 170,
    "test_many_classes.py": 20,  # per notebook, on TensorFlow  # notebooks 149 s, site 6 s, Chromium 14 s (measured alone, forked kernels, 2 cores)
    "claim_is_false[07]": 147,
    "unanswered[08_": 118,
    "claim_is_false[03]": 108,
    "claim_is_false[08]": 90,
    "claim_is_false[05]": 88,
    "claim_is_false[09]": 75,
    "claim_is_false[06 real]": 73,
    "unanswered[07_": 64,
    "unanswered[05_": 53,
    "unanswered[06_": 41,
    "unanswered[09_": 39,
    "test_the_terminal_shows_only_the_courses_lines": 31,
    "test_both_recipes_run_on_the_same_test_images": 29,
    "test_new_base.py": 27,
    "unanswered[03_": 25,
    "test_browser.py": 25,
    "claim_is_false[04]": 25,
    "unanswered[04_": 21,
}
_LONGEST_FIRST = (
    "test_student.py::test_each_student_notebook_runs_on_jax",
    "test_claims.py::test_each_claims_assert_fires",
    "test_student.py",
)


def pytest_collection_modifyitems(items):
    """Run the longest tests first (the measured ones by their seconds, then by file): a shorter CI on two workers."""

    def rank(item):
        group = next((i for i, part in enumerate(_LONGEST_FIRST) if part in item.nodeid), len(_LONGEST_FIRST))
        seconds = next((s for part, s in _MEASURED_SECONDS.items() if part in item.nodeid), 0)
        return -seconds, group

    items.sort(key=rank)


_JUPYTER_PATH = os.environ.get("JUPYTER_PATH")  # before pytest_configure puts the forking kernelspec first


def use_ordinary_kernels(monkeypatch):
    """For tests of how learners' kernels start (make run, make lab): no forked kernel, Jupyter's own spec."""
    monkeypatch.delenv("KERNEL_ZYGOTES_DIR", raising=False)
    if _JUPYTER_PATH is None:
        monkeypatch.delenv("JUPYTER_PATH", raising=False)
    else:
        monkeypatch.setenv("JUPYTER_PATH", _JUPYTER_PATH)


def pytest_configure(config):
    """With COURSE_TEST_FORK_KERNELS=1 (make test sets it), notebook kernels are forked from a process per
    backend that has imported TensorFlow and Keras once (tests/kernel_zygote.py), in each process that runs
    tests; until a zygote is ready, and wherever it cannot serve, kernels start as usual."""
    # First, one sentence per generated helper `make sync` has not written yet, not an ImportError per test file.
    if missing := sync.missing(Path(__file__).resolve().parent):
        pytest.exit("\n".join(missing), returncode=1)
    controller = getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")
    if not FORK_KERNELS or controller:
        return
    import atexit
    import json
    import subprocess
    import sys
    import time

    zygote = Path(__file__).parent / "tests" / "kernel_zygote.py"
    spec = Path(_scratch) / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    launcher = [sys.executable, str(zygote), "launch", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": launcher, "display_name": "Python 3 (ipykernel)", "language": "python"})
    )
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(spec.parents[1]), os.environ.get("JUPYTER_PATH")]))
    os.environ["KERNEL_ZYGOTES_DIR"] = _scratch
    zygotes = [
        subprocess.Popen(
            [sys.executable, str(zygote), "serve", os.path.join(_scratch, f"zygote-{backend}.sock"), backend],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(_scratch, f"zygote-{backend}.log"), "wb"),
        )
        for backend in ("tensorflow", "jax")
    ]
    atexit.register(lambda: [process.kill() for process in zygotes])
    # Waiting costs no more than the imports the first kernels would repeat, and every kernel is then forked.
    sockets = [Path(_scratch) / f"zygote-{backend}.sock" for backend in ("tensorflow", "jax")]
    deadline = time.monotonic() + 120
    while not all(path.exists() for path in sockets) and time.monotonic() < deadline:
        if any(process.poll() is not None for process in zygotes):
            break  # a zygote failed (its log is in the scratch folder): kernels start as usual
        time.sleep(0.2)
