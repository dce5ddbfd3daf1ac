"""pytest's hooks for the course's tests; what the tests share is in tests/support.py.

Every test, and every notebook the tests run, uses the smoke profile with throw-away folders; the tests run
longest first, by the seconds the last runs took (tests/run_order.py), which each run writes at its end.
"""

from pathlib import Path

import kernel_zygote
import pytest
import run_order
import support

from commands import sync

_SECONDS = {}  # this run's seconds per test id (setup, call and teardown), from pytest's reports
_SKIPPED = set()  # the test ids this run skipped: their few milliseconds say nothing of how long they take


def pytest_configure(config):
    """The tests' environment (support.isolate_environment), in pytest's process and in each worker. With
    COURSE_TEST_FORK_KERNELS=1 (make test sets it), notebook kernels are forked from a process per backend
    that has imported TensorFlow and Keras once (tests/kernel_zygote.py), in each process that runs tests."""
    # First, one sentence per generated helper `make sync` has not written yet, not an ImportError per test file.
    if missing := sync.missing(Path(__file__).resolve().parent):
        pytest.exit("\n".join(missing), returncode=1)
    scratch = support.isolate_environment()
    controller = getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput")
    if support.FORK_KERNELS and not controller:
        kernel_zygote.start(scratch)


def pytest_collection_modifyitems(items):
    """Longest first, by the seconds build/test-durations.json holds, else the slow files first."""
    run_order.order(items, run_order.read_seconds())


def pytest_runtest_logreport(report):
    """Add up each test's seconds; with pytest-xdist the main process gets every worker's reports."""
    _SECONDS[report.nodeid] = _SECONDS.get(report.nodeid, 0) + report.duration
    if report.skipped:
        _SKIPPED.add(report.nodeid)


def pytest_sessionfinish(session):
    """Write the seconds of the tests this run ran for the next run's order (the main process only)."""
    ran = {test: seconds for test, seconds in _SECONDS.items() if test not in _SKIPPED}
    if ran and not hasattr(session.config, "workerinput"):
        run_order.record(ran)
