"""Every exercise check says 'Not yet' to a wrong or missing answer and 'Correct' to a right one."""

import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import exercises, models


def freeze_nothing(model):
    pass


def freeze_all_but_last(model):
    for layer in model.layers[:-1]:
        layer.trainable = False


def unfreeze_last_wrongly(model, n):
    for layer in model.layers[-n:]:
        layer.trainable = True


def unfreeze_last(model, n):
    model.trainable = True
    for layer in model.layers[: len(model.layers) - n]:
        layer.trainable = False


def unfreeze_last_keep_batchnorm_frozen(model, n):
    unfreeze_last(model, n)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def reported_fine_tune(model, base, x, y):
    """The bug of fchollet/deep-learning-with-python-notebooks#257: the second phase never unfreezes."""
    base.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)


def fine_tune_without_recompile(model, base, x, y):
    base.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    base.trainable = True
    model.fit(x, y, epochs=2, verbose=0)


def fine_tune(model, base, x, y):
    base.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)


def flips(dataset, seed, cache_first=True, stateless=True, parallel=True):
    """Notebook 05's exercise 2: resize, cache, shuffle, batch, mirror at random; or with one thing changed."""
    from helpers.pipelines import AUTOTUNE, resize_image

    dataset = dataset.map(lambda x, y: (resize_image(x, 64), y))
    dataset = dataset.cache() if cache_first else dataset
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def flip(batch, batch_seed):
        images, labels = batch
        count = [tf.shape(images)[0]]
        draws = tf.random.stateless_uniform(count, batch_seed) if stateless else tf.random.uniform(count)
        return tf.where(draws[:, None, None, None] < 0.5, tf.reverse(images, axis=[2]), images), labels

    dataset = tf.data.Dataset.zip(dataset.shuffle(64, seed=seed).batch(8), seeds)
    return dataset.map(flip, num_parallel_calls=AUTOTUNE if parallel else None).prefetch(AUTOTUNE)


def flip_pipeline(dataset, seed):
    return flips(dataset, seed)


def pipeline_on_screen(dataset, seed):  # notebook 05's own pipeline: it rotates too
    from helpers.pipelines import pipeline

    return pipeline(dataset, 64, 8, training=True, seed=seed)


def flips_before_the_cache(dataset, seed):
    from helpers.pipelines import resize_image

    dataset = dataset.map(lambda x, y: (resize_image(x, 64), y)).enumerate()
    dataset = dataset.map(
        lambda i, example: (tf.where(i % 2 == 0, tf.reverse(example[0], [1]), example[0]), example[1])
    )
    return dataset.cache().shuffle(64, seed=seed).batch(8)


def flips_without_a_cache(dataset, seed):
    return flips(dataset, seed, cache_first=False)


def flips_from_a_global_state(dataset, seed):
    return flips(dataset, seed, stateless=False)


def flips_one_batch_at_a_time(dataset, seed):
    return flips(dataset, seed, parallel=False)


def leaky_split(dataset):
    """tensorflow/tensorflow#59279: a shuffle that reshuffles on every pass, then take and skip."""
    dataset = dataset.shuffle(64, seed=0)
    return dataset.take(48), dataset.skip(48)


def split_once(dataset):
    dataset = dataset.shuffle(64, seed=0, reshuffle_each_iteration=False)
    return dataset.take(48), dataset.skip(48)


def sigmoid_twice(model, images):  # notebook 06, exercise 1 as given (tensorflow/docs#2314)
    return keras.ops.convert_to_numpy(keras.ops.sigmoid(model.predict(images, verbose=0)[:, 0]))


def dog_labels(model, images):
    return (model.predict(images, verbose=0)[:, 0] > 0.5).astype(int)


def model_probabilities(model, images):
    return model.predict(images, verbose=0)[:, 0]


def _compile(model, rate=1e-5):
    model.compile(optimizer=keras.optimizers.Adam(rate), loss=keras.losses.BinaryCrossentropy(from_logits=True))


def never_unfreeze(model, base):  # notebook 06, exercise 2 as given (deep-learning-with-python-notebooks#257)
    for layer in models.batchnorm_layers(base):
        layer.trainable = False
    _compile(model)


def unfreeze_batchnorm_too(model, base):
    base.trainable = True
    _compile(model)


def large_rate(model, base):
    models.unfreeze_keep_batchnorm_frozen(base)
    _compile(model, 1e-3)


def prepare_fine_tuning(model, base):
    base.trainable = True
    for layer in models.batchnorm_layers(base):
        layer.trainable = False
    _compile(model)


def unfreeze_from_layer(base_model, fine_tune_at):  # the tutorial's way: every layer from fine_tune_at on
    base_model.trainable = True
    for layer in base_model.layers[:fine_tune_at]:
        layer.trainable = False


def unfreeze_from_layer_batchnorm_frozen(base_model, fine_tune_at):
    unfreeze_from_layer(base_model, fine_tune_at)
    for layer in models.batchnorm_layers(base_model):
        layer.trainable = False


def unfreeze_top_two_blocks(base_model, fine_tune_at):  # notebook 09's unfreeze_top_blocks(base_model, 2), on screen
    base_model.trainable = True
    for layer in base_model.layers:
        in_top = layer.name.startswith(("block_15", "block_16", "Conv_1", "out_relu"))
        layer.trainable = in_top and not isinstance(layer, keras.layers.BatchNormalization)


def unfreeze_from_block(base_model, fine_tune_at):  # back to the first layer named for the same block
    names = [layer.name for layer in base_model.layers]
    block = re.match(r"block_\d+_", names[fine_tune_at]).group(0)
    start = fine_tune_at
    while names[start - 1].startswith(block):
        start -= 1
    base_model.trainable = True
    for index, layer in enumerate(base_model.layers):
        layer.trainable = index >= start and not isinstance(layer, keras.layers.BatchNormalization)


def unfreeze_from_next_block(base_model, fine_tune_at):  # rounds up: layer fine_tune_at's own block stays frozen
    names = [layer.name for layer in base_model.layers]
    block = re.match(r"block_\d+_", names[fine_tune_at]).group(0)
    end = next(index for index in range(fine_tune_at, len(names)) if not names[index].startswith(block))
    unfreeze_from_block(base_model, end)


def score_as_logit(logits):  # notebook 11, exercise 1 as given: the dog score for cats too
    return logits[:, 0]


def class_score(logits):
    return keras.ops.abs(logits[:, 0])


class SavableWrapper(models.InferenceModeBase):  # notebook 11's SavableInferenceModeBase: no scale
    def get_config(self):
        return {**super().get_config(), "base": keras.saving.serialize_keras_object(self.base)}

    @classmethod
    def from_config(cls, config):
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)


class ScaledWrapper(models.InferenceModeBase):
    def __init__(self, base, scale, **kwargs):
        super().__init__(base, **kwargs)
        self.scale = scale

    def call(self, inputs):
        return super().call(inputs * self.scale)

    def get_config(self):
        return {**super().get_config(), "base": keras.saving.serialize_keras_object(self.base), "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)


class ScaleLeftOut(ScaledWrapper):  # the scale not written down: reloaded, it is the default
    def __init__(self, base, scale=1.0, **kwargs):
        super().__init__(base, scale, **kwargs)

    def get_config(self):
        return {key: value for key, value in super().get_config().items() if key != "scale"}


class WithoutFromConfig(ScaledWrapper):  # saves; loaded, the base comes back as a config
    from_config = classmethod(models.InferenceModeBase.from_config.__func__)  # Keras's default, not ScaledWrapper's


class ScaleIgnored(ScaledWrapper):
    def call(self, inputs):
        return self.base(inputs, training=False)


def target_score(logits, k):
    if logits.shape[-1] == 1:
        return logits[:, 0] if k == 1 else -logits[:, 0]
    return logits[:, k]


def top_1_whatever_k(logits, labels, k):
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def top_k_by_count(logits, labels, k):
    logits, labels = np.asarray(logits), np.asarray(labels)
    return float(((logits > logits[np.arange(len(labels)), labels][:, None]).sum(axis=1) < k).mean())


# What the second fit() does to a layer frozen without recompiling, on each backend (notebook 03 measures it).
STALE_STEP = {"tensorflow": True, "jax": "raises", "torch": False}

CASES = [
    (exercises.check_frozen_batchnorm_counts, ((4, 2, 2),), ((4, 0, 4),)),
    (exercises.check_freeze_all_but_last, (freeze_nothing,), (freeze_all_but_last,)),
    (exercises.check_unfreeze_last, (unfreeze_last_wrongly,), (unfreeze_last,)),
    (exercises.check_fine_tune, (reported_fine_tune,), (fine_tune,)),
    (exercises.check_fine_tune, (fine_tune_without_recompile,), (fine_tune,)),
    (
        exercises.check_stale_step_prediction,
        ({"moving_mean": False, "gamma": True},),
        (dict.fromkeys(["moving_mean", "gamma"], STALE_STEP[keras.backend.backend()]),),
    ),
    (exercises.check_unfreeze_last_keep_batchnorm_frozen, (unfreeze_last,), (unfreeze_last_keep_batchnorm_frozen,)),
    (exercises.check_dog_probabilities, (sigmoid_twice,), (model_probabilities,)),
    (exercises.check_dog_probabilities, (dog_labels,), (model_probabilities,)),
    (exercises.check_prepare_fine_tuning, (never_unfreeze,), (prepare_fine_tuning,)),
    (exercises.check_prepare_fine_tuning, (unfreeze_batchnorm_too,), (prepare_fine_tuning,)),
    (exercises.check_prepare_fine_tuning, (large_rate,), (prepare_fine_tuning,)),
    (exercises.check_split_does_not_leak, (leaky_split,), (split_once,)),
    (exercises.check_flip_pipeline, (pipeline_on_screen,), (flip_pipeline,)),
    (exercises.check_break_even, (1, 10.0, 0.5, 3.0), (math.ceil(10 / 2.5), 10.0, 0.5, 3.0)),
    (exercises.check_global_batch, ((128, 15),), ((128, 16),)),
    (exercises.check_is_it_real, (True,), (False,)),
    (exercises.check_unfreeze_from, (unfreeze_from_layer,), (unfreeze_from_block,)),
    (exercises.check_class_score, (score_as_logit,), (class_score,)),
    (exercises.check_scaled_wrapper, (SavableWrapper,), (ScaledWrapper,)),
    (exercises.check_top_k_accuracy, (top_1_whatever_k,), (top_k_by_count,)),
    (exercises.check_target_score, (lambda logits, k: keras.ops.abs(logits[:, 0]),), (target_score,)),
]


@pytest.mark.parametrize("check, wrong, right", CASES, ids=[case[0].__name__ for case in CASES])
def test_check_answers_hint_then_confirmation(check, wrong, right, capsys):
    assert check(*((...,) + wrong[1:])) is False
    assert "replace the `...`" in capsys.readouterr().out
    assert check(*(([...],) + wrong[1:])) is False
    assert "replace the `...`" in capsys.readouterr().out
    assert check(*wrong) is False
    assert capsys.readouterr().out.startswith("Not yet: ")
    assert check(*right) is True
    assert capsys.readouterr().out.startswith("Correct: ")


def test_checking_the_reported_recipe_without_hint_prints_the_record_not_the_fix(capsys):
    assert exercises.check_fine_tune(reported_fine_tune, hint=False) is False
    out = capsys.readouterr().out
    assert out == "did the base's weights change? fit 1: False; fit 2: False\n"
    assert exercises.check_fine_tune(fine_tune, hint=False) is True


def test_the_leaky_split_is_told_why(capsys):
    assert exercises.check_split_does_not_leak(leaky_split) is False
    assert "were in training and in test" in capsys.readouterr().out


# ---------------------------------------------------------------- notebook 09


def test_a_gap_that_looks_big_is_not_measurable(capsys):
    assert exercises.check_is_it_real(True) is False  # 388 against 385 looks like a win
    assert "only the 11 photos where the two disagree count" in capsys.readouterr().out
    assert exercises.check_is_it_real("no") is False
    assert "answer True or False" in capsys.readouterr().out
    assert exercises.check_is_it_real(False) is True


def test_unfreezing_from_a_layer_index_or_the_top_two_blocks_is_caught(capsys):
    assert exercises.check_unfreeze_from(unfreeze_from_layer) is False
    assert "BatchNormalization layer is trainable" in capsys.readouterr().out
    assert exercises.check_unfreeze_from(unfreeze_from_layer_batchnorm_frozen) is False
    assert "block_11 is only partly unfrozen" in capsys.readouterr().out
    assert exercises.check_unfreeze_from(unfreeze_top_two_blocks) is False, "the call on screen above the exercise"
    assert "with fine_tune_at=100, layer block_11_expand_relu stays frozen" in capsys.readouterr().out
    assert exercises.check_unfreeze_from(unfreeze_from_next_block) is False
    assert "stays frozen" in capsys.readouterr().out
    assert exercises.check_unfreeze_from(unfreeze_from_block) is True


# ---------------------------------------------------------------- notebook 11


# A wrong answer to an exercise whose check has several hints gets the hint that names what it broke.
WRONG_ANSWERS = [
    (exercises.check_flip_pipeline, pipeline_on_screen, "do not rotate"),  # notebook 05's answer on screen
    (exercises.check_flip_pipeline, flips_before_the_cache, "draw the flips after the cache"),
    (exercises.check_flip_pipeline, flips_without_a_cache, "cache the resized images"),
    (exercises.check_flip_pipeline, flips_from_a_global_state, "stateless ops"),
    (exercises.check_flip_pipeline, flips_one_batch_at_a_time, "num_parallel_calls"),
    (exercises.check_scaled_wrapper, SavableWrapper, "must take the scale"),  # notebook 11's class on screen
    (exercises.check_scaled_wrapper, models.InferenceModeBase, "must take the scale"),
    (exercises.check_scaled_wrapper, ScaleIgnored, "inputs times the scale"),
    (exercises.check_scaled_wrapper, WithoutFromConfig, "does not load"),
    (exercises.check_scaled_wrapper, ScaleLeftOut, "does get_config write the scale"),
]


@pytest.mark.parametrize("check, wrong, hint", WRONG_ANSWERS, ids=lambda value: getattr(value, "__name__", ""))
def test_a_wrong_answer_is_told_what_it_broke(check, wrong, hint, capsys):
    assert check(wrong) is False
    assert hint in capsys.readouterr().out
