"""tests/run_order.py: the tests run longest first, by the seconds the runs before wrote, else slow files first."""

from types import SimpleNamespace

import run_order


def ordered(test_ids, seconds):
    items = [SimpleNamespace(nodeid=test) for test in test_ids]
    run_order.order(items, seconds)
    return [item.nodeid for item in items]


def test_without_seconds_the_slow_files_come_first_slowest_first_then_the_rest_as_collected():
    collected = [
        "tests/test_a.py::test_one",
        "tests/test_student.py::test_x",
        "tests/test_b.py::test_two",
        "tests/test_real_photos.py::test_y",
        "tests/test_site_build.py::test_z",
    ]
    assert ordered(collected, {}) == [
        "tests/test_real_photos.py::test_y",
        "tests/test_student.py::test_x",
        "tests/test_a.py::test_one",
        "tests/test_b.py::test_two",
        "tests/test_site_build.py::test_z",
    ]


def test_with_seconds_the_longest_come_first_and_an_untimed_test_goes_by_its_file():
    seconds = {
        "tests/test_a.py::test_fast": 1.0,
        "tests/test_a.py::test_slow": 50.0,
        "tests/test_real_photos.py::test_y": 20.0,
        "tests/test_gone.py::test_old": 500.0,
    }
    collected = ["tests/test_new.py::test_new", "tests/test_a.py::test_fast", "tests/test_real_photos.py::test_y"]
    collected += ["tests/test_claims.py::test_row[new]", "tests/test_a.py::test_slow"]
    assert ordered(collected, seconds) == [
        "tests/test_claims.py::test_row[new]",  # not timed yet, in a file known to be slow
        "tests/test_a.py::test_slow",
        "tests/test_real_photos.py::test_y",
        "tests/test_a.py::test_fast",
        "tests/test_new.py::test_new",  # not timed yet, in any other file
    ]


def test_a_run_adds_its_seconds_and_the_tests_it_did_not_time_keep_theirs(tmp_path):
    path = tmp_path / "build" / "test-durations.json"
    assert run_order.read_seconds(path) == {}
    run_order.record({"t.py::a": 3.14159, "t.py::b": 2}, path)
    run_order.record({"t.py::a": 1}, path)
    assert run_order.read_seconds(path) == {"t.py::a": 1, "t.py::b": 2}
    assert list(path.parent.iterdir()) == [path], "no partial file left behind"
    path.write_text("{half a file")
    assert run_order.read_seconds(path) == {}
