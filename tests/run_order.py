"""The order the tests run in: longest first, so that none of them starts last on one worker while the other
waits (`make test` runs two workers and lets an idle one take tests queued for the other: --dist worksteal).

The seconds are the tests' own, from the runs before: conftest.py writes each run's to build/test-durations.json
(`record`) and orders the next run by them (`order`). Where there is no such file yet (a fresh clone, CI), the
files known to be slow come first, slowest first, then the others as collected.
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
    """Sort pytest's `items` in place, longest first by `seconds` ({test id: seconds}).

    A test with no seconds of its own counts its file's mean (a new case of a known test), else none; ties
    keep SLOW_FILES's order, then the order of collection.
    """
    by_file = {}
    for test, s in seconds.items():
        by_file.setdefault(test.split("::")[0], []).append(s)
    means = {file: sum(found) / len(found) for file, found in by_file.items()}

    def rank(item):
        file = item.nodeid.split("::")[0]
        expected = seconds.get(item.nodeid, means.get(file, 0))
        slow = SLOW_FILES.index(Path(file).name) if Path(file).name in SLOW_FILES else len(SLOW_FILES)
        return -expected, slow

    items.sort(key=rank)
