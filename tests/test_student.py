"""`make student`: the edition holds no reference solution, and every notebook in it runs unanswered.

The edition's notebooks run on Keras's JAX backend (smoke profile), while tests/test_site.py runs the course's own
notebooks, reference solutions included, on TensorFlow: one execution each proves both the edition and
the second backend (one model code, two backends), instead of a third run of every notebook. Notebooks
05 to 12 run here on three classes of synthetic stripes (COURSE_SYNTHETIC_CLASSES=3), where the TensorFlow
run has two: so both class counts run in CI, and the many-class path on the second backend. tf.data stays
the input pipeline: it feeds every Keras backend. Where the backends behave differently (notebook 02's
`trainable` trap, notebook 03's stale training step), the notebook measures and asserts the behaviour of
the backend in force.
"""

import subprocess
import sys
import zipfile

import jupytext
import nbformat
import pytest

from commands import student
from commands.run_course import execute_notebook
from helpers.config import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
MANY_CLASSES_FROM = "05"  # the notebooks that load the course's data
SAY_THEIR_CLASSES = {
    "05",
    "06",
    "07",
    "09",
    "10",
    "11",
    "12",
}  # print the data's description or classes (08 trains on its own stripes)
WITHOUT_EXERCISES = {"00", "04", "10"}  # 00 checks the set-up; 04 and 10 measure, and their exercises are in 03 and 09


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    target = tmp_path_factory.mktemp("edition") / "student"
    archive = student.build_student_edition(target)
    return target, archive


def solution_lines():
    """Every line of the course's reference-solution cells that no other cell of the course holds."""
    solutions, others = set(), set()
    for script in NOTEBOOKS.glob("[0-9][0-9]_*.py"):
        for cell in jupytext.read(script).cells:
            lines = {line.strip() for line in cell.source.splitlines() if line.strip()}
            if student.SOLUTION_TAG in cell.metadata.get("tags", []):
                solutions |= lines
            else:
                others |= lines
    return solutions - others


def test_the_edition_holds_the_notebooks_helpers_and_setup_only(edition):
    target, archive = edition
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["notebooks", "helpers", "README.md", *student.SETUP_FILES]
    )
    assert sorted(p.name for p in (target / "notebooks").iterdir()) == sorted(
        p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
    )
    assert "## Two commands" in (target / "README.md").read_text()
    with zipfile.ZipFile(archive) as zipped:
        assert "student/notebooks/06_transfer_and_finetune.ipynb" in zipped.namelist()


def test_the_editions_commands_run_from_the_edition_alone(edition):
    # Before: its `make run` stopped with ModuleNotFoundError (commands.fallback, which the edition left out).
    target, _ = edition
    for command in ("run_course", "lab"):
        shown = subprocess.run(
            [sys.executable, "-m", f"commands.{command}", "--help"], cwd=target, capture_output=True, text=True
        )
        assert shown.returncode == 0 and shown.stdout.startswith("usage: make "), (command, shown.stderr)


def test_no_solution_leaks_into_the_edition(edition):
    target, _ = edition
    leaked = solution_lines()
    assert leaked, "the course's notebooks tag their reference solutions"
    for path in (target / "notebooks").glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            assert student.SOLUTION_TAG not in cell.metadata.get("tags", []), path.name
            assert not cell.get("outputs"), path.name
            lines = {line.strip() for line in cell.source.splitlines()}
            assert not lines & leaked, f"{path.name}: a reference solution leaked: {lines & leaked}"


def test_a_leaking_notebook_would_be_caught(tmp_path):
    source = NOTEBOOKS / "02_recursive_freezing.ipynb"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("tags", None)  # a solution cell someone forgot to tag
    nbformat.write(notebook, tmp_path / source.name)
    kept = student.student_notebook(tmp_path / source.name)
    assert any({line.strip() for line in cell.source.splitlines()} & solution_lines() for cell in kept.cells)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
def test_each_student_notebook_runs_on_jax_with_every_exercise_unanswered(edition, name, tmp_path, monkeypatch):
    target, _ = edition
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))  # apart from the TensorFlow runs
    if name[:2] >= MANY_CLASSES_FROM:
        monkeypatch.setenv("COURSE_SYNTHETIC_CLASSES", "3")
    ok, _, error = execute_notebook(target / "notebooks" / name, tmp_path / name)
    assert ok, error
    executed = nbformat.read(tmp_path / name, as_version=4)
    start = next(cell for cell in executed.cells if "notebook.start()" in cell.source)
    assert "backend jax" in "".join(output.get("text", "") for output in start.outputs), "the kernel ran on JAX"
    if name[:2] in SAY_THEIR_CLASSES:
        printed = "".join(output.get("text", "") for cell in executed.cells for output in cell.get("outputs", []))
        assert "3 classes" in printed, "the notebook ran on three classes"
    checks = [cell for cell in executed.cells if cell.cell_type == "code" and "exercises.check_" in cell.source]
    if name[:2] not in WITHOUT_EXERCISES:
        assert checks, "every lesson ends with self-checking exercises"
    for cell in checks:
        text = "".join(output.get("text", "") for output in cell.outputs)
        assert "Not yet: replace the `...`" in text, cell.source
