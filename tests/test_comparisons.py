"""helpers.comparisons, the harness of notebooks 09 and 10, on small synthetic cases: the plan per profile, an arm run on
a tiny model, the per-seed paired differences, and the verdicts after Holm's correction."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import comparisons, models


def settings(profile):
    return SimpleNamespace(profile=profile, batch_size=16, image_size=160, seed=7)


SIZES = {"train": 1000, "validation": 300, "test": 300}


def test_the_plan_caps_the_experiments_and_smoke_checks_the_mechanics():
    quick = comparisons.plan(settings("quick"), SIZES, 32, "tensorflow")
    assert (quick.train_images, quick.image_size, quick.validation_images) == (128, 96, 200)
    assert quick.seeds == [7, 8, 9] and not quick.eager and quick.shifted_copy and quick.batchnorm_arms
    smoke = comparisons.plan(settings("smoke"), SIZES, 32, "tensorflow")
    assert (smoke.train_images, smoke.image_size, smoke.validation_images, smoke.seeds) == (16, 32, 16, [7])
    assert smoke.eager and not smoke.shifted_copy and smoke.batchnorm_arms
    assert not comparisons.plan(settings("smoke"), SIZES, 32, "jax").batchnorm_arms
    small = comparisons.plan(settings("quick"), {"train": 50, "validation": 20, "test": 20}, 32, "jax")
    assert (small.train_images, small.validation_images) == (50, 20), "a split smaller than the cap is used whole"


def run(seed, right):
    return dict(seed=seed, right=np.array(right, dtype=bool))


def test_paired_gives_each_seeds_difference_and_test():
    a = [run(1, [1, 1, 1, 0]), run(2, [1, 0, 0, 0])]
    b = [run(1, [1, 0, 0, 0]), run(2, [1, 1, 0, 0])]
    found = comparisons.paired("A", a, "B", b)["A vs B"]
    assert (found["a"], found["b"]) == ("A", "B")
    first, second = found["seeds"]
    assert (first["seed"], first["only_a"], first["only_b"], first["images"]) == (1, 2, 0, 4)
    assert first["difference"] == 0.5 and second["difference"] == -0.25
    assert first["p"] == 0.5 and second["p"] == 1.0  # McNemar: 2 of 2 on one side is p = 2/4
    rows = comparisons.paired_rows({"A vs B": found})
    assert rows[-1][:3] == ["A vs B", "mean (sd)", "+0.1250 (0.5303)"], "the mean and sd of the paired differences"


def test_paired_refuses_arms_run_with_other_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        comparisons.paired("A", [run(1, [1])], "B", [run(2, [1])])


def comparison(name_a, name_b, splits, images=100):
    """paired's entry for seeds whose disagreements split `splits` [(only A, only B), ...]."""
    seeds = []
    for seed, (only_a, only_b) in enumerate(splits):
        both = images - only_a - only_b
        a = [True] * only_a + [False] * only_b + [True] * both
        b = [False] * only_a + [True] * only_b + [True] * both
        seeds.append((run(seed, a), run(seed, b)))
    return comparisons.paired(name_a, [a for a, _ in seeds], name_b, [b for _, b in seeds])


def test_holm_corrects_every_test_of_the_family():
    family = {**comparison("A", "B", [(6, 0), (0, 0)]), **comparison("C", "D", [(0, 10)])}
    results = comparisons.corrected(family)
    # p = 2/64, 1 and 2/1024: Holm multiplies the smallest by 3 and the next by 2
    assert [seed["p_holm"] for seed in results["A vs B"]["seeds"]] == pytest.approx([2 / 64 * 2, 1.0])
    assert results["C vs D"]["seeds"][0]["p_holm"] == pytest.approx(2 / 1024 * 3)
    assert results["A vs B"]["measurable"] == [] and results["C vs D"]["measurable"] == [0]
    assert results["A vs B"]["verdict"].startswith("no measurable difference after Holm's correction")
    assert "in favour of D on 1" in results["C vs D"]["verdict"]
    assert results["C vs D"]["difference_sd"] is None, "one seed has no spread"
    assert family["A vs B"]["seeds"][0].keys() == {"seed", "images", "difference", "only_a", "only_b", "p"}, (
        "the paired entries are left as they were"
    )


def test_a_difference_that_is_not_measurable_gets_its_scale():
    # one test: 20 disagreements split 12 to 8 (p = 0.50); the most even split measurable at 0.05 is 15 to 5
    results = comparisons.corrected(comparison("A", "B", [(12, 8)], images=200))
    (seed,) = results["A vs B"]["seeds"]
    assert seed["detectable"] == [15, 5]
    assert "whatever the other tests: 0.0500 (seed 0)" in results["A vs B"]["verdict"]
    few = comparisons.corrected(comparison("A", "B", [(3, 1)]))["A vs B"]
    assert few["seeds"][0]["detectable"] is None and few["verdict"].endswith(
        "whatever the other tests: none with so few disagreements (seed 0)"
    )
    rows = comparisons.corrected_rows(results)
    assert rows == [["A vs B", "0", "+0.0200", 12, 8, seed["p"], seed["p_holm"], 10]]


def test_recipe_figures_average_the_seeds_and_bound_the_first():
    runs = [
        dict(run(1, [1] * 9 + [0]), trainable=5, step_seconds=0.2, validation=0.5),
        dict(run(2, [1] * 7 + [0] * 3), trainable=5, step_seconds=0.4, validation=0.7),
    ]
    figures = comparisons.recipe_figures(runs)
    assert figures["test_mean"] == pytest.approx(0.8) and figures["validation"] == pytest.approx(0.6)
    assert figures["step_seconds"] == pytest.approx(0.3) and figures["trainable"] == 5
    assert figures["test_low"] < 0.9 < figures["test_high"], "the first seed's Wilson interval"
    assert comparisons.recipe_rows({"r": runs})[0][0] == "r"


def test_run_arm_restarts_each_seed_with_a_fresh_optimizer():
    features = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
    labels = (features[:, 0] > 0).astype("int32")
    splits = dict(
        train=tf.data.Dataset.from_tensor_slices((features, labels)),
        validation=tf.data.Dataset.from_tensor_slices((features, labels)).batch(4),
        test=tf.data.Dataset.from_tensor_slices((features, labels)).batch(4),
    )
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    start = model.get_weights()
    loss, accuracy = models.loss_and_metric(2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, metrics=[accuracy])
    restarted = []

    def restart(seed):
        restarted.append(seed)
        model.set_weights(start)

    def fit(seed, train, callbacks):
        model.fit(train.shuffle(12, seed=seed).batch(4), epochs=2, callbacks=callbacks, shuffle=False, verbose=0)

    results = comparisons.run_arm(model, fit, {"plain": (restart, splits)}, [3, 4], every_epoch=True)
    first, second = results["plain"]
    assert restarted == [3, 4] and (first["seed"], second["seed"]) == (3, 4)
    assert first["steps"] == second["steps"] == 6, "each run counts its own steps: the optimizer starts again"
    assert len(first["curve"]) == 2 and first["validation"] == first["curve"][-1]
    assert first["right"].shape == (12,) and first["right"].dtype == bool
    assert first["trainable"] == 4 and first["step_seconds"] > 0
    again = comparisons.run_arm(model, fit, {"plain": (restart, splits)}, [3])["plain"][0]
    assert len(again["curve"]) == 1, "without every_epoch, validation after the last epoch only"
