"""`make sync`'s generated code (commands/sync.py): the helpers hold what the notebooks save, and a notebook
edited without `make sync` is caught."""

import shutil

import pytest

from commands import sync
from helpers.config import REPO_ROOT

PIPELINE_LINE = (
    "        dataset = dataset.shuffle(2048, seed=seed, reshuffle_each_iteration=True)  # a new order every epoch"
)
NOTEBOOK_04 = "notebooks/04_cats_vs_dogs_data.py"


@pytest.fixture
def copy(tmp_path):
    """A copy of the repository's notebooks (.py) and helpers, for the command to check and rewrite."""
    shutil.copytree(REPO_ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(REPO_ROOT / "helpers", tmp_path / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def edit(path, old, new):
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} stands once in {path.name}"
    path.write_text(text.replace(old, new))


def test_the_helpers_are_in_sync_with_the_notebooks(capsys):
    assert sync.main(["--check"]) == 0, capsys.readouterr().err


def test_every_taught_definition_is_saved():
    saved = {item.name: (item.notebook[10:12], item.module) for item in sync.marked_definitions(REPO_ROOT)}
    assert saved == {
        "unfreeze_keep_batchnorm_frozen": ("03", "helpers/models.py"),
        "InferenceModeBase": ("03", "helpers/models.py"),
        "load_guide_split": ("04", "helpers/data.py"),
        "guide_pipeline": ("04", "helpers/pipelines.py"),
        "resize_image": ("04", "helpers/pipelines.py"),
        "augment_batch": ("04", "helpers/pipelines.py"),
        "pipeline": ("04", "helpers/pipelines.py"),
        "build_base": ("05", "helpers/models.py"),
        "build_model": ("05", "helpers/models.py"),
        "loss_and_metric": ("05", "helpers/models.py"),
        "class_probabilities": ("05", "helpers/models.py"),
        "predicted_classes": ("05", "helpers/models.py"),
        "save_class_names": ("05", "helpers/models.py"),
        "image_from_file": ("05", "helpers/pipelines.py"),
        "wilson_interval": ("08", "helpers/stats.py"),
        "mcnemar_exact": ("08", "helpers/stats.py"),
    }


def test_a_notebook_edited_without_sync_is_caught_and_sync_fixes_it(copy, capsys):
    helper = copy / "helpers" / "pipelines.py"
    before = helper.read_text()
    edit(copy / NOTEBOOK_04, PIPELINE_LINE, PIPELINE_LINE.replace("2048", "1024"))

    assert sync.main(["--check", "--root", str(copy)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"helpers/pipelines.py is out of date with {NOTEBOOK_04}: run `make sync` after editing a notebook's saved code."
    ]
    assert helper.read_text() == before, "--check writes nothing"

    assert sync.main(["--root", str(copy)]) == 0
    assert helper.read_text() == before.replace(PIPELINE_LINE, PIPELINE_LINE.replace("2048", "1024"))
    assert sync.main(["--check", "--root", str(copy)]) == 0
    assert sync.sync(copy) == [], "a second sync changes nothing"


def test_a_marker_removed_takes_its_definition_out_of_the_helper(copy):
    edit(
        copy / "notebooks" / "08_finetuning_choices.py",
        "# Saved in helpers/stats.py for later notebooks.\ndef mcnemar",
        "def mcnemar",
    )
    assert sync.sync(copy) == ["helpers/stats.py: rewritten from notebooks/08_finetuning_choices.py."]
    stats = (copy / "helpers" / "stats.py").read_text()
    assert "def wilson_interval(" in stats and "def mcnemar_exact(" not in stats


def error(root):
    with pytest.raises(sync.SyncError) as raised:
        sync.sync(root, check=True)
    return str(raised.value)


def test_a_marker_above_anything_but_a_definition_is_an_error(copy):
    edit(
        copy / "notebooks" / "08_finetuning_choices.py",
        "Z_95 = ",
        "# Saved in helpers/stats.py for later notebooks.\nZ_95 = ",
    )
    assert error(copy).startswith(
        "notebooks/08_finetuning_choices.py, line 89: the line '# Saved in helpers/stats.py for later notebooks.' "
        "must stand directly above a top-level def or class"
    )


def test_a_mistyped_marker_is_an_error(copy):
    edit(
        copy / "notebooks" / "08_finetuning_choices.py",
        "helpers/stats.py for later notebooks.\ndef mcnemar",
        "helpers/stats.py\ndef mcnemar",
    )
    assert "'# Saved in helpers/stats.py' is not the marker's wording" in error(copy)


def test_one_name_saved_from_two_notebooks_is_an_error(copy):
    source = (copy / "notebooks" / "08_finetuning_choices.py").read_text()
    start = source.index("# Saved in helpers/stats.py for later notebooks.\ndef wilson_interval")
    wilson = source[start : source.index("# %% [markdown]", start)]
    with (copy / "notebooks" / "10_many_classes.py").open("a") as notebook:
        notebook.write("\n\n# %%\n" + wilson)
    assert error(copy) == (
        "wilson_interval is marked to be saved twice, in notebooks/08_finetuning_choices.py and in "
        "notebooks/10_many_classes.py: keep the marker of the notebook that teaches it."
    )


def test_a_name_also_written_by_hand_is_an_error(copy):
    with (copy / "helpers" / "stats.py").open("a") as module:
        module.write("\n\ndef mcnemar_exact(right_a, right_b):\n    return 0, 0, 1.0\n")
    assert error(copy) == (
        "helpers/stats.py defines mcnemar_exact by hand, and notebooks/08_finetuning_choices.py saves it there too: "
        "delete the hand-written one."
    )


def test_a_module_without_its_region_is_an_error(copy, capsys):
    edit(copy / "helpers" / "data.py", sync.END + "\n", "")
    assert error(copy).startswith("helpers/data.py needs one generated region")
    assert sync.main(["--root", str(copy)]) == 2
    assert "helpers/data.py needs one generated region" in capsys.readouterr().err
