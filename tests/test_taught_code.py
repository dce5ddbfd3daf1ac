"""The recipes `make bench` compares (helpers/recipes.py) are notebook 06's cells and the guide's code.

The functions a notebook teaches and later notebooks reuse are generated into the helpers by `make sync`
(tests/test_sync.py). The course's recipe is notebook 06's cells tagged "recipe", run as they are; the
guide's is copied block by block from the guide, which is not in this repository, and checked here.
"""

import inspect
import re

import pytest
from support import REQUIRE_REAL

from helpers import recipes
from helpers.config import SHARED_DIR

# The guide's recipe is the guide's code, not a function of its own: each block of it that starts with the marker
# comment and runs to the next blank line must be a run of consecutive lines of the guide's code, in the same
# order as in the guide, indentation kept.
GUIDE = SHARED_DIR / "reference" / "keras_guide_transfer_learning.md"
COPIED_FROM = {"# The guide:": "the guide"}


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


def test_the_course_recipe_is_notebook_06s_tagged_cells():
    cells = recipes.recipe_cells()
    assert [cell.splitlines()[0] for cell in cells] == [
        "model.set_weights(initial_weights)",
        "base_model.trainable = True",
        "model.set_weights(head_trained_weights)  # so that running this cell again fine-tunes from the same weights",
    ], "head training, unfreezing, fine-tuning, in the notebook's order"
    assert sum(".fit(" in cell for cell in cells) == 2


def test_a_notebook_without_the_tag_is_refused_by_name():
    with pytest.raises(LookupError, match="no cell of 06_transfer_and_finetune.py is tagged 'nowhere'"):
        recipes.recipe_cells(tag="nowhere")


def test_the_guide_recipe_is_the_guides_code():
    assert len(copied_blocks(recipes.guide_recipe)) >= 8, "the guide's recipe is made of the guide's code"
    assert block_problems(recipes.guide_recipe, {"# The guide:": guide_code_lines()}) == []


def test_the_recipes_copy_every_line_that_trains():
    """Only glue between the blocks: no fit() or compile() of the recipes' own."""
    for function in (recipes.guide_recipe,):
        copied = {line for _, block in copied_blocks(function) for line in block}
        own = [line for line in inspect.getsource(function).splitlines() if line not in copied]
        assert not [line for line in own if re.search(r"\.(fit|compile|trainable)\b", line)], (
            f"{function.__name__} trains only with copied lines"
        )


def test_a_changed_or_reordered_guide_block_is_caught():
    lines = guide_code_lines()
    edited = [line.replace("Adam(1e-5)", "Adam(1e-4)") for line in lines]
    problems = block_problems(recipes.guide_recipe, {"# The guide:": edited})
    assert len(problems) == 1 and problems[0].endswith("is not the guide's code")
    start = len(lines) - 1 - lines[::-1].index("base_model.trainable = True")  # the end-to-end example's unfreezing,
    # moved to the guide's end
    moved = lines[:start] + lines[start + 1 :] + lines[start : start + 1]
    assert block_problems(recipes.guide_recipe, {"# The guide:": moved}), "the blocks after it are out of order"
    assert find_run(["    a = 1", "    if a:", "        b = 2"], ["a = 1", "if a:", "    b = 2"]) == 0
    assert find_run(["    a = 1", "    if a:", "        b = 2"], ["a = 1", "if a:", "b = 2"]) == -1
