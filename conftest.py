"""Every test, and every notebook nbmake runs, uses the smoke profile with throw-away folders.

COURSE_* variables from the shell are cleared so a learner's own settings cannot change the tests;
nbmake's kernels inherit this environment.
"""

import os
import tempfile

import pytest

from helpers.config import SHARED_PHOTOS as REAL_PHOTOS
from helpers.config import SHARED_WEIGHTS as MOBILENET_WEIGHTS

REQUIRE_REAL = os.environ.get("COURSE_REQUIRE_REAL") == "1"
for name in [n for n in os.environ if n.startswith("COURSE_")]:
    del os.environ[name]
_scratch = tempfile.mkdtemp(prefix="course-tests-")
os.environ.update(
    COURSE_PROFILE="smoke",
    COURSE_BUILD_DIR=os.path.join(_scratch, "build"),
    COURSE_CACHE_DIR=os.path.join(_scratch, "cache"),
)


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

# The longest tests first, so that one of them does not start last on one worker while the other waits
# (make test also lets an idle worker take tests queued for the other: --dist worksteal).
_LONGEST_FIRST = (
    "test_real_photos.py",
    "test_student.py::test_each_student_notebook_runs_on_jax",
    "notebooks/",
    "test_new_base.py",
    "test_recipes.py",
    "test_claims.py::test_the_claims_assert_fires",
    "test_student.py",
)


def pytest_collection_modifyitems(items):
    """Run the longest tests first (by file, then as collected): a shorter CI on two workers."""

    def rank(item):
        return next((i for i, part in enumerate(_LONGEST_FIRST) if part in item.nodeid), len(_LONGEST_FIRST))

    items.sort(key=rank)
