"""helpers/arms.py: every arm runs on tiny synthetic data, changes what it says it changes, and the summary's
tests and intervals are the textbook ones."""

import dataclasses
import warnings

import numpy as np
import pytest
import tensorflow as tf

from helpers import arms, data, pipelines, stats
from helpers.config import load_settings


def tiny_arms():
    """One seed of every arm at 32 px on 16 training and 8 + 8 evaluation images (random weights), eager.

    Eager for the reason tests/test_recipes.py gives: tracing costs more than the few steps run here.
    """
    settings = dataclasses.replace(
        load_settings({"COURSE_PROFILE": "smoke"}), image_size=32, batch_size=8, epochs_head=1, epochs_finetune=2
    )
    course_data = data.load_synthetic(32, 16, 8, seed=0)
    saved = []
    previous = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")
            results = arms.run_arms(course_data, settings, seeds=(3,), weights=None, after_each_seed=saved.append)
    finally:
        tf.config.run_functions_eagerly(previous)
    return results, saved


def test_every_arm_runs_and_changes_what_it_says():
    results, saved = tiny_arms()
    assert len(saved) == 1 and saved[0]["seeds"] == results["seeds"], "saved after each seed"
    (run,) = results["seeds"]
    assert set(run["arms"]) == {"course", arms.CONTROL, *arms.ARMS}
    for figures in run["arms"].values():
        assert len(figures["right"]) == 8
        assert figures["test_accuracy"] == pytest.approx(np.mean(figures["right"]))
    course, moving = run["arms"]["course"], run["arms"]["statistics move"]
    assert moving["batchnorm_arrays_moved"] > 0, "BatchNormalization trainable: its statistics move"
    assert run["arms"]["last epoch kept"]["batchnorm_arrays_moved"] == 0, "frozen, as in notebook 06"
    assert len(run["arms"]["last epoch kept"]["finetune_validation_curve"]) == 2, "no early stop"
    assert not run["arms"]["last epoch kept"]["rolled_back"]
    assert isinstance(course["rolled_back"], bool)
    guide = run["arms"]["guide"]
    assert guide["batchnorm_arrays_moved"] > 0 and 0 <= guide["own_pipeline_agreement"] <= 1
    control = run["arms"][arms.CONTROL]
    assert control["batchnorm_arrays_moved"] == 0 and isinstance(control["rolled_back"], bool)
    for name in arms.ARMS:
        test = results["summary"][name]["per_seed"][0]
        baseline = control if name in arms.FORKS else course
        right_arm, right_baseline = (np.array(f["right"], bool) for f in (run["arms"][name], baseline))
        assert test["only_arm_right"] == int(np.sum(right_arm & ~right_baseline))
    rows = arms.arm_rows(results)
    assert [row[0] for row in rows] == [
        "course (notebook 06)",
        f"{arms.CONTROL} (the baseline of the next two)",
        *arms.ARMS,
    ]


def test_an_unknown_arm_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown arm 'shuffle'|unknown arm shuffle"):
        arms.run_arms(None, None, seeds=(1,), weights=None, arms=("shuffle",))


def test_the_replayed_pipeline_repeats_epoch_one_and_ours_does_not():
    source = tf.data.Dataset.from_tensor_slices(
        (np.random.default_rng(0).integers(0, 255, (8, 12, 12, 3), dtype=np.uint8), np.arange(8) % 2)
    )
    ours = pipelines.pipeline(source, 12, 4, training=True, seed=1)
    replayed = ours.cache()
    first, second = (np.concatenate([images for images, _ in replayed]) for _ in range(2))
    assert np.array_equal(first, second)
    first, second = (np.concatenate([images for images, _ in ours]) for _ in range(2))
    assert not np.array_equal(first, second)


def fake_runs(differences_by_arm, seeds=5, images=20):
    """Runs where the course (and its fine-tuning run again) gets the first half of the images right and
    each arm `d` more (or fewer)."""
    runs = []
    for seed in range(seeds):
        course = np.arange(images) < images // 2
        run = {"course": dict(right=course.tolist(), test_accuracy=course.mean(), rolled_back=seed == 0)}
        run[arms.CONTROL] = dict(run["course"])  # the course fine-tuned again: here, the same answers
        for name, differences in differences_by_arm.items():
            right = np.arange(images) < images // 2 + differences[seed]
            run[name] = dict(right=right.tolist(), test_accuracy=right.mean())
        runs.append(dict(seed=seed, arms=run))
    return runs


def test_the_summary_is_a_paired_t_over_seeds_with_holm():
    from scipy import stats as scipy_stats

    summary = arms.summarise(fake_runs({"guide": [2, 3, 1, 2, 4], "statistics move": [0, 1, -1, 0, 1]}))
    guide = summary["guide"]
    assert guide["differences"] == pytest.approx([0.10, 0.15, 0.05, 0.10, 0.20])
    expected = scipy_stats.ttest_1samp(guide["differences"], 0.0)
    assert guide["p_value"] == pytest.approx(expected.pvalue)
    low, high = expected.confidence_interval(0.95)
    assert guide["interval_95"] == pytest.approx([low, high])
    assert [summary[name]["holm_p"] for name in ("guide", "statistics move")] == pytest.approx(
        stats.holm([guide["p_value"], summary["statistics move"]["p_value"]])
    )
    assert guide["verdict"].startswith("measurably better")
    assert summary["statistics move"]["verdict"].startswith("no measurable difference")
    assert summary["course_rolled_back"] == 1
    assert summary["guide"]["per_seed"][0] == dict(only_course_right=0, only_arm_right=2, p_value=0.5)


def test_holm_matches_a_worked_example():
    # Worked by hand: the sorted p-values times 4, 3, 2, 1, kept non-decreasing, capped at 1.
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.9]) == [1.0, 1.0]
    assert stats.holm([]) == []


def test_the_same_difference_on_every_seed_gets_the_sign_tests_p_not_zero():
    mean, low, high, p_value = arms.mean_difference([0.01] * 5)
    assert (mean, low, high) == pytest.approx((0.01, 0.01, 0.01))
    assert p_value == pytest.approx(2 / 2**5)  # all five on one side: not measurable at 0.05 on its own
    assert arms.mean_difference([0.0, 0.0])[3] == 1.0
