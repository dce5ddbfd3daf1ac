"""`make student`: the student edition, in build/student/ and build/student.zip.

Every notebook without its reference solutions (cells tagged "solution") and without outputs, the
helpers (the library the notebooks import), what set-up needs (Makefile, requirements.txt, pyproject.toml),
the two commands a learner uses (`make run`, `make lab` and its settings), and the README's set-up part.
The maintainers' commands (bench, prefetch, predict, student) and the tests stay out. The repository's
notebooks are only read.
"""

import re
import shutil
import sys
from pathlib import Path

from commands import argument_parser
from commands.run_course import notebook_paths
from helpers.config import REPO_ROOT

SOLUTION_TAG = "solution"  # the cell tag of reference solutions: left out here, hidden on the site (commands/site.py)
# Top-level entries beside notebooks/ and helpers/: set-up, what `make run` and `make lab` need, and the
# pages of docs/ that the README's set-up part links.
SETUP_FILES = ("Makefile", "requirements.txt", "pyproject.toml", "commands", "lab", "docs")
LEARNER_COMMANDS = ("__init__.py", "run_course.py", "lab.py")  # of commands/


def student_notebook(source):
    """The notebook at `source` without its solution cells and without outputs."""
    import nbformat  # here, not at the top: it takes seconds to import (its JSON-schema checks)

    notebook = nbformat.read(source, as_version=4)
    notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("jupytext", None)  # the edition has no .py twins to pair with
    return notebook


def readme_setup_part(readme):
    """The README's title, first paragraphs and its "Two commands" section, with a note for students."""
    text = Path(readme).read_text()
    title_and_intro = text[: text.index("\n## ")]
    setup = re.search(r"\n## Two commands\n.*?(?=\n## )", text, flags=re.S).group(0)
    note = (
        "\n\nThis is the student edition: the lessons end with exercises that check themselves; the "
        "reference solutions are left out. Use `make run` or `make lab` (the other targets are the maintainers' "
        "and are not included).\n"
    )
    return title_and_intro.rstrip() + note + setup.rstrip() + "\n"


def build_student_edition(target, repo=REPO_ROOT):
    """Write the edition to the folder `target` (replaced if it exists) and a zip beside it; return the zip."""
    import nbformat

    target, repo = Path(target), Path(repo)
    shutil.rmtree(target, ignore_errors=True)
    (target / "notebooks").mkdir(parents=True)
    for source in notebook_paths(repo / "notebooks"):
        nbformat.write(student_notebook(source), target / "notebooks" / source.name)
    shutil.copytree(repo / "helpers", target / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    for name in SETUP_FILES:
        if (repo / name).is_dir():
            shutil.copytree(repo / name, target / name, ignore=_not_for_learners)
        else:
            shutil.copy(repo / name, target / name)
    (target / "README.md").write_text(readme_setup_part(repo / "README.md"))
    return Path(shutil.make_archive(str(target), "zip", root_dir=target.parent, base_dir=target.name))


def _not_for_learners(folder, names):
    """What copytree leaves out: caches, and in commands/ every command but the learner's."""
    if Path(folder).name == "commands":
        return [name for name in names if name not in LEARNER_COMMANDS]
    return [name for name in names if name == "__pycache__"]


def main(argv=None):
    """Build the edition under the build folder and say where it is; return 0. `argv` takes only --help."""
    from helpers.config import load_settings

    argument_parser("make student", __doc__).parse_args(argv)

    target = load_settings().build_dir / "student"
    archive = build_student_edition(target)
    count = len(list((target / "notebooks").glob("*.ipynb")))
    print(f"Student edition: {count} notebooks without reference solutions in {target}, zipped as {archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
