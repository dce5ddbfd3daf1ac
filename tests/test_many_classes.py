"""The notebooks that load the course's data, on three classes of synthetic stripes, on TensorFlow.

tests/test_site.py runs every notebook on TensorFlow with two classes (the guide's cats and dogs), and
tests/test_student.py runs the student edition on JAX with three: this file adds three classes on
TensorFlow, so that both class counts run on both backends. Notebook 08 trains on stripes of its own and
reads no class count, so it is left out.
"""

import nbformat
import pytest

from commands.run_course import execute_notebook
from helpers.config import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
MANY_CLASS_NOTEBOOKS = ["05", "06", "07", "09", "10", "11", "12"]


@pytest.mark.parametrize(
    "path", [next(NOTEBOOKS.glob(f"{number}_*.ipynb")) for number in MANY_CLASS_NOTEBOOKS], ids=lambda p: p.stem
)
def test_the_notebook_runs_on_three_classes(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SYNTHETIC_CLASSES", "3")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    ok, _, error = execute_notebook(path, tmp_path / path.name)
    assert ok, error
    executed = nbformat.read(tmp_path / path.name, as_version=4)
    printed = "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))
    assert "3 classes" in printed and "backend tensorflow" in printed, (
        "the notebook ran on three classes, on TensorFlow"
    )
