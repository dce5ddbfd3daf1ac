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

from helpers import data, models, pipelines, stats

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
