"""The order the tests run in: longest first, so that none of them starts last on one worker while the other
waits (`make test` runs two workers and lets an idle one take tests queued for the other: --dist worksteal).

The seconds are the tests' own, from the runs before: conftest.py writes each run's to build/test-durations.json
(`record`) and orders the next run by them (`order`). A test with no seconds there (every test of a fresh
clone, as in CI; a new test; one only skipped so far) goes by its file: first when the file is one known to be
slow, slowest first, else last, as collected.
"""

import json
import os
from pathlib import Path

DURATIONS = Path(__file__).resolve().parents[1] / "build" / "test-durations.json"
# Slowest first: the notebooks they run, as the `--durations` lists of `make test` showed them.
SLOW_FILES = (
    "test_real_photos.py",
    "test_site.py",
    "test_claims.py",
    "test_student.py",
    "test_many_classes.py",
    "test_new_base.py",
    "test_browser.py",
)


def read_seconds(path=DURATIONS):
    """{test id: seconds} from the file `record` wrote; empty when there is none (or it cannot be read)."""
    try:
        seconds = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return seconds if isinstance(seconds, dict) else {}


def record(seconds, path=DURATIONS):
    """Add this run's {test id: seconds} to the file at `path`: the tests this run did not time keep theirs."""
    merged = {**read_seconds(path), **{test: round(s, 2) for test, s in seconds.items()}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")
    os.replace(partial, path)  # a run that reads it meanwhile sees the old file or the new one, not half


def order(items, seconds):
    """Sort pytest's `items` in place: the untimed tests of SLOW_FILES (in its order), then the timed tests,
    longest first by `seconds` ({test id: seconds}), then the other untimed tests, as collected."""

    def rank(item):
        file = Path(item.nodeid.split("::")[0]).name
        if item.nodeid in seconds:
            return 1, -seconds[item.nodeid]
        return (0, SLOW_FILES.index(file)) if file in SLOW_FILES else (2, 0)

    items.sort(key=rank)
