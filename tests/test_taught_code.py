"""Code a notebook teaches and a helper reuses is the same code (d2l's `#@save` idea).

A helper function or class whose docstring says "Taught in notebook NN" must have the very same source
as the definition of that name in `notebooks/NN_*.py`. The pipeline is also run from both sides and
must give the same batches for the same seed.
"""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import REQUIRE_REAL
from helpers import data, models, pipelines, recipes, stats
from helpers.config import SHARED_DIR

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HELPER_MODULES = [data, models, pipelines, stats]


def taught_helpers():
    """(helper object, notebook number) for every helper whose docstring names the notebook it is taught in."""
    found = []
    for module in HELPER_MODULES:
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__:
                continue
            match = re.search(r"Taught in notebook (\d\d)", inspect.getdoc(value) or "")
            if match:
                found.append((value, match.group(1)))
    return found


def notebook_definitions(number):
    """{name: source} of every top-level function and class defined in notebook `number`'s .py file."""
    (path,) = NOTEBOOKS.glob(f"{number}_*.py")
    lines = path.read_text().splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.parse("\n".join(lines)).body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }


def source_problems(helpers, definitions_of):
    """One sentence per helper that its notebook does not define, or defines differently."""
    problems = []
    for helper, number in helpers:
        taught = definitions_of(number).get(helper.__name__)
        if taught is None:
            problems.append(f"{helper.__name__}: notebook {number} does not define it")
        elif taught != inspect.getsource(helper).rstrip("\n"):
            problems.append(f"{helper.__name__}: the helper differs from its cell in notebook {number}")
    return problems


def test_every_taught_helper_is_found():
    names = {helper.__name__ for helper, _ in taught_helpers()}
    expected = {
        "load_guide_split",
        "resize_image",
        "augment_batch",
        "pipeline",
        "guide_pipeline",
        "build_base",
        "build_model",
        "loss_and_metric",
        "class_probabilities",
        "predicted_classes",
        "save_class_names",
        "image_from_file",
        "unfreeze_keep_batchnorm_frozen",
        "InferenceModeBase",
        "wilson_interval",
        "mcnemar_exact",
    }
    assert expected <= names


def test_each_helper_is_the_code_its_notebook_teaches():
    assert source_problems(taught_helpers(), notebook_definitions) == []


def test_a_one_sided_change_is_caught():
    def edited(number):
        return {name: source.replace("2048", "1024") for name, source in notebook_definitions(number).items()}

    assert source_problems([(pipelines.pipeline, "04")], edited) == [
        "pipeline: the helper differs from its cell in notebook 04"
    ]
    assert source_problems([(pipelines.pipeline, "05")], notebook_definitions) == [
        "pipeline: notebook 05 does not define it"
    ]


def notebook_pipeline():
    """Notebook 04's cells that define the pipeline, executed on their own."""
    definitions = notebook_definitions("04")
    namespace = {"AUTOTUNE": pipelines.AUTOTUNE, "flip_and_rotate": pipelines.flip_and_rotate}
    exec("import math\nimport tensorflow as tf\n", namespace)
    for name in ("resize_image", "augment_batch", "pipeline"):
        exec(definitions[name], namespace)
    return namespace["pipeline"]


@pytest.mark.parametrize("training", [True, False])
def test_the_notebook_and_the_helper_give_the_same_batches(training):
    course = data.load_synthetic(48, 40, 8, seed=0)
    from_notebook = notebook_pipeline()(course.train, 48, 8, training=training, seed=5)
    from_helper = pipelines.pipeline(course.train, 48, 8, training=training, seed=5)
    for _ in range(2):  # two epochs
        pairs = list(zip(from_notebook, from_helper))
        assert len(pairs) == 5
        for (x1, y1), (x2, y2) in pairs:
            assert np.array_equal(x1.numpy(), x2.numpy()) and np.array_equal(y1.numpy(), y2.numpy())


# ---------------------------------------------------------------- copied blocks (helpers/recipes.py)
# The recipes `make bench` compares are notebook 05's cells and the guide's code, not functions of their own:
# each block of a recipe function that starts with a marker comment and runs to the next blank line must be a
# run of consecutive lines of its source, in the same order as in the source, indentation kept.
GUIDE = SHARED_DIR / "reference" / "keras_guide_transfer_learning.md"
COPIED_FROM = {"# Notebook 05:": "notebook 05", "# The guide:": "the guide"}


def copied_blocks(function):
    """[(marker, [lines])] of `function`'s blocks that start with a marker comment, without the marker."""
    blocks, current = [], None
    for line in inspect.getsource(function).splitlines():
        if line.strip() in COPIED_FROM:
            current = (line.strip(), [])
            blocks.append(current)
        elif not line.strip():
            current = None
        elif current is not None:
            current[1].append(line)
    return blocks


def find_run(block, lines, start=0):
    """Where `block` (lines) occurs in `lines` at or after `start`, indentation shifted evenly; -1 if nowhere."""
    width = len(block[0]) - len(block[0].lstrip())
    dedented = [line[width:] if line[:width].isspace() or not width else None for line in block]
    if None in dedented:
        return -1
    for i in range(start, len(lines) - len(block) + 1):
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        if all(lines[i + k] == indent + dedented[k] for k in range(len(block))):
            return i
    return -1


def block_problems(function, sources):
    """One sentence per block of `function` that is not a run of consecutive lines of its source, in order."""
    problems, positions = [], dict.fromkeys(sources, 0)
    for marker, block in copied_blocks(function):
        where = find_run(block, sources[marker], positions[marker])
        if where < 0:
            problems.append(f"{function.__name__}: {block[0].strip()!r}... is not {COPIED_FROM[marker]}'s code")
        else:
            positions[marker] = where + len(block)
    return problems


def guide_code_lines():
    """Every line of the guide's ```python blocks, in order (a blank line between blocks)."""
    if not GUIDE.exists():
        if REQUIRE_REAL:
            pytest.fail(f"COURSE_REQUIRE_REAL=1 but the guide's copy is missing: {GUIDE}")
        pytest.skip(f"the guide's copy is not there: {GUIDE}")
    return "\n\n".join(re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)).splitlines()


def notebook_05_lines():
    (path,) = NOTEBOOKS.glob("05_*.py")
    return path.read_text().splitlines()


@pytest.mark.parametrize("function", [recipes.course_recipe], ids=lambda f: f.__name__)
def test_the_course_recipe_is_notebook_05s_code(function):
    assert len(copied_blocks(function)) >= 1, "the recipe holds blocks copied from notebook 05"
    assert block_problems(function, {"# Notebook 05:": notebook_05_lines()}) == []


def test_the_guide_recipe_is_the_guides_code():
    assert len(copied_blocks(recipes.guide_recipe)) >= 8, "the guide's recipe is made of the guide's code"
    assert block_problems(recipes.guide_recipe, {"# The guide:": guide_code_lines()}) == []


def test_the_recipes_copy_every_line_that_trains():
    """Only glue between the blocks: no fit() or compile() of the recipes' own."""
    for function in (recipes.course_recipe, recipes.guide_recipe):
        copied = {line for _, block in copied_blocks(function) for line in block}
        own = [line for line in inspect.getsource(function).splitlines() if line not in copied]
        assert not [line for line in own if re.search(r"\.(fit|compile|trainable)\b", line)], (
            f"{function.__name__} trains only with copied lines"
        )


def test_a_changed_or_reordered_block_is_caught():
    lines = notebook_05_lines()
    edited = [line.replace("patience=2", "patience=4") for line in lines]
    problems = block_problems(recipes.course_recipe, {"# Notebook 05:": edited})
    assert len(problems) == 1 and problems[0].startswith("course_recipe: 'model.set_weights(head_trained_weights)")
    assert problems[0].endswith("is not notebook 05's code")
    start = lines.index("base_model.trainable = True")  # the unfreezing cell, moved to the notebook's end
    moved = lines[:start] + lines[start + 4 :] + lines[start : start + 4]
    problems = block_problems(recipes.course_recipe, {"# Notebook 05:": moved})
    assert problems and "model.set_weights(head_trained_weights)" in problems[0], "the blocks after it are out of order"
    assert find_run(["    a = 1", "    if a:", "        b = 2"], ["a = 1", "if a:", "    b = 2"]) == 0
    assert find_run(["    a = 1", "    if a:", "        b = 2"], ["a = 1", "if a:", "b = 2"]) == -1
