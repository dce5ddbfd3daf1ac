"""helpers/recipes.py: both recipes run end to end on tiny synthetic data; the verdict says what the p-values say.

That the recipes are notebook 06's and the guide's code is tests/test_taught_code.py's job.
"""

import dataclasses
import warnings

import numpy as np
import pytest
import tensorflow as tf

from helpers import data, recipes
from helpers.config import load_settings


def tiny_comparison():
    """One seed of both recipes at 32 px on 16 training and 8 + 8 evaluation images (random weights).

    One seed only: on a loaded 2-core machine two took 4.5 minutes; `summarise` is tested on its own below.
    One test uses it, so that it runs once (under pytest-xdist a module fixture runs once per worker).
    """
    settings = dataclasses.replace(
        load_settings({"COURSE_PROFILE": "smoke"}), image_size=32, batch_size=8, epochs_head=1, epochs_finetune=2
    )
    course_data = data.load_synthetic(32, 16, 8, seed=0)
    # TensorFlow's steps run eagerly: tracing a MobileNetV2 train step costs more than the few steps run here
    # (measured: 93 s -> 28 s for this test). test_site.py runs the same code compiled, in notebook 06; what this
    # test checks, the recipes' bookkeeping, is the same either way.
    previous = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")
            return recipes.compare_recipes(course_data, settings, seeds=(3,), weights=None)
    finally:
        tf.config.run_functions_eagerly(previous)


def test_both_recipes_run_on_the_same_test_images_for_the_epochs_asked():
    tiny = tiny_comparison()
    assert [run["seed"] for run in tiny["seeds"]] == [3]
    for run in tiny["seeds"]:
        assert run["test_images"] == 8
        guide, course = (np.array(run[name]["right"], dtype=bool) for name in ("guide", "course"))
        assert run["only_guide_right"] == int(np.sum(guide & ~course))
        assert run["only_course_right"] == int(np.sum(course & ~guide))
        assert 0 < run["p_value"] <= 1
        for name in ("guide", "course"):
            low, high = run[name]["wilson_95"]
            assert low <= run[name]["test_accuracy"] == run[name]["correct"] / 8 <= high
        assert len(run["guide"]["finetune_validation_curve"]) == 2, "the guide has no early stopping"
        assert 1 <= len(run["course"]["finetune_validation_curve"]) <= 2
        assert isinstance(run["course"]["rolled_back"], bool)
        assert 0 < run["guide"]["batchnorm_arrays_moved"] <= run["guide"]["batchnorm_arrays"], (
            "the guide's BatchNormalization statistics move in fine-tuning"
        )
    assert recipes.summarise(tiny["seeds"])["guide"]["seeds"] == 1


def test_the_summary_is_over_the_seeds():
    runs = [
        {**fake_run(2, 0, 0.5), "guide": {"test_accuracy": 0.75}, "course": {"test_accuracy": 0.5}},
        {**fake_run(0, 4, 0.125), "guide": {"test_accuracy": 0.5}, "course": {"test_accuracy": 1.0}},
    ]
    summary = recipes.summarise(runs)
    assert summary["guide"]["seeds"] == summary["course"]["seeds"] == 2
    accuracies = [run["course"]["test_accuracy"] for run in runs]
    assert summary["course"]["mean"] == pytest.approx(np.mean(accuracies))
    assert summary["course"]["sd"] == pytest.approx(np.std(accuracies, ddof=1))
    assert summary["course_minus_guide"][1] == 0.5


def fake_run(only_guide, only_course, p_value):
    return dict(only_guide_right=only_guide, only_course_right=only_course, p_value=p_value)


def test_the_verdict_says_no_measurable_difference_unless_a_test_says_otherwise():
    assert recipes.verdict([fake_run(3, 5, 0.73), fake_run(4, 4, 1.0), fake_run(1, 5, 0.22)]).startswith(
        "no measurable difference on this data"
    )
    one = recipes.verdict([fake_run(0, 9, 0.004), fake_run(4, 4, 1.0), fake_run(2, 6, 0.29)])
    assert "1 of 3 seeds" in one and "course recipe" in one and "disagree" not in one
    split = recipes.verdict([fake_run(0, 9, 0.004), fake_run(9, 0, 0.004)])
    assert "disagree" in split
