"""helpers/experiments.py, notebook 06's experiment scaffolding, on tiny models: each run starts where it says."""

from types import SimpleNamespace

import keras
import numpy as np
import tensorflow as tf

from helpers import experiments

RNG = np.random.default_rng(5)
LABELS = RNG.integers(0, 2, 48)
IMAGES = RNG.normal(size=(48, 4, 4, 2)).astype("float32")
IMAGES[..., 0] += 3 * (2 * LABELS[:, None, None] - 1)  # the first channel's mean says the class: -3 or 3


def batches(count=48, batch_size=8):
    """The first `count` images and labels, unshuffled, in batches."""
    return tf.data.Dataset.from_tensor_slices((IMAGES[:count], LABELS[:count])).batch(batch_size)


def tiny_model():
    """A base (one convolution), pooling and one logit, compiled with Adam as notebook 06's experiment model."""
    inputs = keras.Input((4, 4, 2))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 1)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(pooled))
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def test_random_weights_skip_the_experiment_with_one_line(capsys):
    assert experiments.worth_running(SimpleNamespace(uses_pretrained_weights=False)) is False
    assert capsys.readouterr().out == experiments.SKIPPED + "\n"
    assert experiments.worth_running(SimpleNamespace(uses_pretrained_weights=True)) is True
    assert capsys.readouterr().out == ""


def test_a_restarted_run_repeats_the_first_and_counts_its_steps():
    model = tiny_model()
    start = model.get_weights()
    restart = experiments.restarter(model)
    runs = []
    for rate in (1e-2, 1e-2, 1e-4):
        restart(start, rate)
        assert int(model.optimizer.iterations.numpy()) == 0 and np.isclose(float(model.optimizer.learning_rate), rate)
        steps = experiments.StepCount()
        model.fit(batches().take(3), epochs=1, callbacks=[steps], verbose=0)
        runs.append((model.get_weights(), steps.count))
    (first, first_steps), (again, _), (slower, _) = runs
    assert first_steps == 3
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(first, again)), "the same start, the same run"
    moved = [np.abs(w - s).max() for w, s in zip(first, start)]
    moved_slowly = [np.abs(w - s).max() for w, s in zip(slower, start)]
    assert max(moved_slowly) < max(moved) / 10, "a rate 100 times smaller moves the weights far less"


def test_right_per_image_scores_each_image_in_order():
    model = tiny_model()
    weights = model.get_weights()
    logits = model.predict(batches(), verbose=0)[:, 0]
    right = experiments.right_per_image(model, weights, batches())
    np.testing.assert_array_equal(right, (logits > 0) == LABELS)
    assert right.shape == (48,)


def test_the_probe_learns_from_the_pooled_features_it_returns():
    model = tiny_model()
    conv = model.layers[1]
    conv.set_weights([np.array([[[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]]), np.zeros(3)])  # channels 0, 1 and 0 * x
    probe = experiments.linear_prober(model, batches(32), batches().skip(4))  # images 32 to 47
    right, features = probe(model.get_weights())
    np.testing.assert_allclose(features[:, :2], IMAGES[32:, ..., :2].mean(axis=(1, 2)), atol=1e-5)
    assert right.shape == (16,) and right.mean() >= 0.8, "the first channel's mean decides the class"


def test_feature_change_is_relative():
    reference = np.array([[1.0, -2.0], [3.0, -4.0]])
    assert experiments.feature_change(reference, reference) == 0.0
    assert np.isclose(experiments.feature_change(reference * 1.5, reference), 0.5)


def test_the_fine_tuner_repeats_a_run_from_its_start_and_counts_at_most_its_steps():
    model = tiny_model()
    start = model.get_weights()
    fine_tune = experiments.fine_tuner(model, batches(), steps=4)
    first, first_steps = fine_tune(start, 1e-2)
    again, _ = fine_tune(start, 1e-2)
    assert first_steps == 4, "at most `steps` batches"
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(first, again)), "the same start, the same run"
    assert np.isclose(float(model.optimizer.learning_rate), 1e-2)
    _, short_steps = experiments.fine_tuner(model, batches(16), steps=4)(start, 1e-3)
    assert short_steps == 2, "a dataset shorter than `steps` is run once through"


def test_probe_arms_measures_each_arm_against_the_first():
    model = tiny_model()
    reference = model.get_weights()
    moved = [weight * 2 for weight in reference]
    measured = experiments.probe_arms(model, {"reference": reference, "moved": moved}, batches(32), batches().skip(4))
    assert list(measured) == ["reference", "moved"]
    whole, probe, change = measured["reference"]
    assert whole.shape == probe.shape == (16,) and change == 0.0
    np.testing.assert_array_equal(whole, experiments.right_per_image(model, reference, batches().skip(4)))
    assert measured["moved"][2] > 0, "features of other weights moved"


def test_the_paired_verdict_says_no_difference_unless_the_test_does():
    same = np.array([True] * 20 + [False] * 20)
    assert experiments.paired_verdict(same, same, "B")[3] == "no measurable difference"
    first = np.array([True] * 40)
    second = np.array([False] * 20 + [True] * 20)
    only_first, only_second, p_value, verdict = experiments.paired_verdict(first, second, "B")
    assert (only_first, only_second) == (20, 0) and p_value < 0.05 and verdict == "B scores lower"
    assert experiments.paired_verdict(second, first, "B")[3] == "B scores higher"
