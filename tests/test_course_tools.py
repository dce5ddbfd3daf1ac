"""make run's runner, the offline fallback, the setup checks and make prefetch's offline path."""

import nbformat

from helpers import availability, prefetch, run_course
from helpers.config import load_settings


def test_the_runner_writes_an_executed_copy_and_leaves_the_source_alone(tmp_path):
    source = tmp_path / "01_demo.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), source)
    before = source.read_bytes()
    ok, seconds, error = run_course.execute_notebook(source, tmp_path / "out" / "01_demo.ipynb")
    assert ok and error == "" and seconds > 0
    assert source.read_bytes() == before
    executed = nbformat.read(tmp_path / "out" / "01_demo.ipynb", as_version=4)
    assert executed.cells[0].outputs[0].text == "42\n"


def test_a_failing_notebook_is_reported_in_one_line(tmp_path):
    source = tmp_path / "02_broken.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")]), source)
    ok, _, error = run_course.execute_notebook(source, tmp_path / "out.ipynb")
    assert not ok and "ZeroDivisionError" in error and "\n" not in error


def test_offline_without_a_cache_falls_back_to_the_smoke_profile(tmp_path):
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    overrides, removed, sentence = availability.offline_fallback(settings, online=False)
    assert overrides["COURSE_PROFILE"] == "smoke" and removed == ["COURSE_DATA_DIR"]
    assert sentence.startswith("No network and no cached copy of the cats-vs-dogs photos or the ImageNet weights")
    assert availability.offline_fallback(settings, online=True) == ({}, [], "")


def test_a_filled_cache_needs_no_network(tmp_path):
    (tmp_path / "tensorflow_datasets" / "cats_vs_dogs" / "4.0.1").mkdir(parents=True)
    (tmp_path / "tensorflow_datasets" / "cats_vs_dogs" / "4.0.1" / "dataset_info.json").write_text("{}")
    weights = tmp_path / "keras" / "models" / "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"w")
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    assert availability.offline_fallback(settings, online=False) == ({}, [], "")
    table = availability.availability_table(settings, online=False)
    assert table.column("status") == ["available", "available"]
    assert "(cached)" in table.column("from")[0] and str(weights) in table.column("from")[1]


def test_prefetch_offline_says_so_in_one_sentence(monkeypatch, capsys):
    monkeypatch.setattr(prefetch, "network_available", lambda: False)
    assert prefetch.main() == 1
    output = capsys.readouterr().out.strip()
    assert output.startswith("No network: `make prefetch` needs to download") and "\n" not in output
