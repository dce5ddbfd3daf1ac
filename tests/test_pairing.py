"""Every notebook is a jupytext pair (.py percent + .ipynb) with the same cells and no outputs."""

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def pair_problems(folder):
    """Every problem with the notebook pairs in `folder`, as sentences (empty when all is well)."""
    folder = Path(folder)
    stems = {p.stem for p in folder.glob("*.py")} | {p.stem for p in folder.glob("*.ipynb")}
    problems = []
    for stem in sorted(stems):
        script, notebook = folder / f"{stem}.py", folder / f"{stem}.ipynb"
        if not script.exists() or not notebook.exists():
            problems.append(f"{stem}: missing {'.py' if not script.exists() else '.ipynb'} twin")
            continue
        problems += [f"{stem}: {p}" for p in _differences(script, notebook)]
    return problems


def _differences(script, notebook):
    from_script = jupytext.read(script)
    from_notebook = nbformat.read(notebook, as_version=4)
    problems = []
    for cell in from_notebook.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            problems.append("the .ipynb holds outputs or execution counts (run `make sync` on a clean copy)")
            break
    if set(from_notebook.metadata) - {"kernelspec", "jupytext"}:
        problems.append(f"the .ipynb holds metadata beyond kernelspec: {sorted(from_notebook.metadata)}")
    if from_notebook.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("the .ipynb names no python3 kernel, so Jupyter would ask for one")
    cells_a = [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in from_script.cells]
    cells_b = [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in from_notebook.cells]
    if cells_a != cells_b:
        first = next((i for i, (a, b) in enumerate(zip(cells_a, cells_b)) if a != b), min(len(cells_a), len(cells_b)))
        problems.append(f"cells differ from cell {first + 1} on (run `make sync`)")
    return problems


def test_every_notebook_is_a_clean_pair():
    assert list(NOTEBOOKS.glob("*.ipynb")), "no notebooks found"
    assert pair_problems(NOTEBOOKS) == []


@pytest.fixture
def pair(tmp_path):
    source = NOTEBOOKS / "00_setup.py"
    (tmp_path / "00_setup.py").write_text(source.read_text())
    (tmp_path / "00_setup.ipynb").write_text((NOTEBOOKS / "00_setup.ipynb").read_text())
    return tmp_path


def test_an_edited_script_is_caught(pair):
    script = pair / "00_setup.py"
    script.write_text(script.read_text().replace("settings = notebook.start()", "settings = None"))
    assert pair_problems(pair) == ["00_setup: cells differ from cell 2 on (run `make sync`)"]


def test_an_edited_notebook_is_caught(pair):
    notebook = nbformat.read(pair / "00_setup.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("print('extra')"))
    nbformat.write(notebook, pair / "00_setup.ipynb")
    assert pair_problems(pair) == [f"00_setup: cells differ from cell {len(notebook.cells)} on (run `make sync`)"]


def test_outputs_are_caught(pair):
    notebook = nbformat.read(pair / "00_setup.ipynb", as_version=4)
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.execution_count = 1
    code.outputs = [nbformat.v4.new_output("stream", text="hello")]
    nbformat.write(notebook, pair / "00_setup.ipynb")
    assert "outputs" in pair_problems(pair)[0]


def test_a_missing_twin_is_caught(pair):
    (pair / "00_setup.ipynb").unlink()
    assert pair_problems(pair) == ["00_setup: missing .ipynb twin"]


def test_a_lost_tag_is_caught(pair):
    (pair / "01.py").write_text((NOTEBOOKS / "01_trainable_weights.py").read_text())
    (pair / "01.ipynb").write_text((NOTEBOOKS / "01_trainable_weights.ipynb").read_text())
    notebook = nbformat.read(pair / "01.ipynb", as_version=4)
    tagged = next(c for c in notebook.cells if "solution" in c.metadata.get("tags", []))
    tagged.metadata["tags"] = []
    nbformat.write(notebook, pair / "01.ipynb")
    assert pair_problems(pair) == [
        f"01: cells differ from cell {notebook.cells.index(tagged) + 1} on (run `make sync`)"
    ]


def test_a_missing_kernelspec_is_caught(pair):
    notebook = nbformat.read(pair / "00_setup.ipynb", as_version=4)
    del notebook.metadata["kernelspec"]
    nbformat.write(notebook, pair / "00_setup.ipynb")
    assert pair_problems(pair) == ["00_setup: the .ipynb names no python3 kernel, so Jupyter would ask for one"]


def test_reference_solutions_are_tagged():
    without_exercises = ("00", "04", "10")  # the set-up, and two notebooks that only measure
    for script in [s for s in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")) if s.name[:2] not in without_exercises]:
        cells = jupytext.read(script).cells
        heading = next(i for i, c in enumerate(cells) if c.source.startswith("### Reference solution"))
        assert all("solution" in c.metadata.get("tags", []) for c in cells[heading:]), script.name
        assert not any("solution" in c.metadata.get("tags", []) for c in cells[:heading]), script.name
