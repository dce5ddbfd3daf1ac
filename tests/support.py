"""What the tests share besides fixtures: the environment every test and notebook kernel runs in (the smoke
profile, throw-away folders, XLA flags for short runs, the log level and Keras backend the course sets), ../shared's
material and the skip when it is missing, the code that makes a kernel run eagerly, and ordinary kernels for the
tests of how learners' kernels start.

conftest.py sets the environment up (`isolate_environment`) before any test module is imported.
"""

import os
import tempfile

import pytest

from helpers import set_course_environment
from helpers.config import SHARED_PHOTOS as REAL_PHOTOS
from helpers.config import SHARED_WEIGHTS as MOBILENET_WEIGHTS

# The tests' own switches, not course settings: kept, so that pytest-xdist's workers (started after
# conftest.py has set up the main process's environment, and with it) see them too.
# COURSE_NOTEBOOK_TIMEOUT: the seconds per cell `make test` gives tests/test_site.py's run of the notebooks.
TEST_SWITCHES = ("COURSE_REQUIRE_REAL", "COURSE_REQUIRE_BROWSER", "COURSE_TEST_FORK_KERNELS", "COURSE_NOTEBOOK_TIMEOUT")
REQUIRE_REAL = os.environ.get("COURSE_REQUIRE_REAL") == "1"
FORK_KERNELS = os.environ.get("COURSE_TEST_FORK_KERNELS") == "1"
_JUPYTER_PATH = os.environ.get("JUPYTER_PATH")  # before conftest.py puts the forking kernelspec first

# The code that makes a notebook kernel run TensorFlow's steps eagerly, for tests whose few steps cost less
# than tracing a train step (notebook 06's mutation rows, test_new_base); test_site.py runs the notebooks compiled.
EAGER_STEPS = "import tensorflow as tf\ntf.config.run_functions_eagerly(True)\n"

# XLA's CPU compiler at its lowest optimisation level, without its fusion emitters and with one code-generation
# task per program: a smoke run takes a few steps per compiled function, so compiling costs more than running
# (measured once: notebook 06 on JAX 87 s -> 67 s with the first two flags; with all four, MobileNetV2's
# first fit() at 32 px 23 s -> 9.5 s compiled, 69 s -> 42 s eager, and notebook 08, now 09 and 10, on JAX 148 s -> 92 s).
# Tests only.
XLA_FLAGS = (
    "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
    " --xla_cpu_use_fusion_emitters=false --xla_cpu_parallel_codegen_split_count=1"
)


def isolate_environment():
    """Give this process, and every kernel it starts, the smoke profile in a new scratch folder; return the folder.

    COURSE_* variables from the shell (but TEST_SWITCHES) are cleared, so that a learner's own settings
    cannot change the tests. What notebook.start() and the commands set before TensorFlow is imported (its log
    level, KERAS_BACKEND) is set here too, once for the whole run: importing helpers sets nothing, and a test
    that calls start() must not change what the kernels started after it inherit.
    """
    for name in [n for n in os.environ if n.startswith("COURSE_") and n not in TEST_SWITCHES]:
        del os.environ[name]
    scratch = tempfile.mkdtemp(prefix="course-tests-")
    os.environ.update(
        COURSE_PROFILE="smoke",
        COURSE_BUILD_DIR=os.path.join(scratch, "build"),
        COURSE_CACHE_DIR=os.path.join(scratch, "cache"),
    )
    # JAX compiles each jitted function with XLA, which costs seconds per model on a CPU. A persistent
    # compilation cache lets a later test reuse what an earlier one compiled (measured once: notebook 06 on
    # JAX took 134 s with an empty cache, 87 s run again with it; hits between notebooks were not measured).
    # Set once, by the main process: pytest-xdist's workers inherit it and share the cache.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(scratch, "jax-cache"))
    os.environ.setdefault("XLA_FLAGS", XLA_FLAGS)
    set_course_environment()
    return scratch


def require_shared_material():
    """Skip when ../shared is missing, unless COURSE_REQUIRE_REAL=1 makes that a failure (CI)."""
    missing = [str(p) for p in (REAL_PHOTOS, MOBILENET_WEIGHTS) if not p.exists()]
    if missing and REQUIRE_REAL:
        pytest.fail(f"COURSE_REQUIRE_REAL=1 but the test material is missing: {', '.join(missing)}")
    if missing:
        pytest.skip(f"test material not found: {', '.join(missing)}")


def use_ordinary_kernels(monkeypatch):
    """For tests of how learners' kernels start (make run, make lab): no forked kernel, Jupyter's own spec."""
    monkeypatch.delenv("KERNEL_ZYGOTES_DIR", raising=False)
    if _JUPYTER_PATH is None:
        monkeypatch.delenv("JUPYTER_PATH", raising=False)
    else:
        monkeypatch.setenv("JUPYTER_PATH", _JUPYTER_PATH)
