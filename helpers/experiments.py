"""The scaffolding of notebook 06's two experiments: one compiled model trained again and again from saved
weights, and what each run did, measured image by image on the validation split.

The notebook keeps the Keras calls that are the lesson (the model, the unfreezing, `compile`, the learning
rates compared); this module puts the model and its optimizer back at their start before each run, runs the
few steps of a run and counts them, scores each image, trains a linear probe on the base's features, and
says what McNemar's test between two arms shows.
"""

import keras
import numpy as np

from helpers.models import loss_and_metric, predicted_classes
from helpers.stats import mcnemar_exact

SKIPPED = "Random weights: this experiment would measure noise, so it is skipped."


def worth_running(settings):
    """Whether the base has pretrained weights. Without them, fine-tuning has no features to keep or wreck:
    the experiment would measure noise, and one printed line says it is skipped."""
    if not settings.uses_pretrained_weights:
        print(SKIPPED)
    return settings.uses_pretrained_weights


def optimizer_resetter(model):
    """A function `reset()` that puts the compiled `model`'s optimizer back as a new one starts (step 0, no
    momentum).

    The optimizer is built here for the model's trainable variables, so the first `fit()` builds its step once
    (notebook 03), and every later run reuses that step: a new `compile()` would build a new one each time.
    """
    model.optimizer.build(model.trainable_variables)
    start = [keras.ops.convert_to_numpy(variable) for variable in model.optimizer.variables]

    def reset():
        for variable, value in zip(model.optimizer.variables, start):
            variable.assign(value)

    return reset


def restarter(model):
    """A function `restart(weights, learning_rate)` that puts the compiled `model` back at `weights`, with its
    optimizer as a new one starts (optimizer_resetter) at `learning_rate`."""
    reset_optimizer = optimizer_resetter(model)

    def restart(weights, learning_rate):
        model.set_weights(weights)
        reset_optimizer()
        model.optimizer.learning_rate = learning_rate

    return restart


class StepCount(keras.callbacks.Callback):
    """Counts the training steps of a `fit()` in `count`.

    On TensorFlow, `optimizer.iterations` counts one step too many per epoch when tf.data does not know the
    dataset's length (as with image folders), so the steps are counted here instead.
    """

    def __init__(self):
        super().__init__()
        self.count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1


def fine_tuner(model, train_ds, steps):
    """A function `fine_tune(start_weights, learning_rate)` -> (weights, steps taken).

    Each call restarts the compiled `model` at `start_weights` with a fresh optimizer at `learning_rate`
    (restarter), trains it on at most `steps` batches of `train_ds`, and returns its weights. Every call
    reuses the training step the first one built, so a cell that calls it again repeats its experiment.
    """
    restart = restarter(model)

    def fine_tune(start_weights, learning_rate):
        restart(start_weights, learning_rate)
        count = StepCount()
        model.fit(train_ds.take(steps), epochs=1, callbacks=[count], verbose=0)
        return model.get_weights(), count.count

    return fine_tune


def labels_of(dataset):
    """The labels of a dataset of (images, labels) batches, in order."""
    return np.concatenate([np.asarray(labels) for _, labels in dataset])


def right_per_image(model, weights, dataset):
    """Whether `model`, set to `weights`, names the right class for each image of the unshuffled `dataset`."""
    model.set_weights(weights)
    return predicted_classes(model.predict(dataset, verbose=0)) == labels_of(dataset)


def linear_prober(model, train_images, validation_images, epochs=20):
    """A function `probe(weights)` -> (right, features) for `model` (a base, then GlobalAveragePooling2D).

    `probe` sets `model` to `weights`, trains a new Dense head, started from zeros, on the frozen pooled
    features of `train_images`, and returns whether it is right on each image of `validation_images`, and
    those images' features. Both datasets are unshuffled batches of (images, labels).
    """
    pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
    features_model = keras.Model(model.inputs, pooling.output)  # shares the model's layers, built once
    train_labels, validation_labels = labels_of(train_images), labels_of(validation_images)
    outputs = model.output.shape[-1]
    batch_size = next(iter(train_images))[0].shape[0]

    def probe(weights):
        model.set_weights(weights)
        train_features = features_model.predict(train_images, verbose=0)
        features = features_model.predict(validation_images, verbose=0)
        head = keras.Sequential(
            [keras.Input(train_features.shape[1:]), keras.layers.Dense(outputs, kernel_initializer="zeros")]
        )
        loss, metric = loss_and_metric(max(2, outputs))  # one output: two classes
        head.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=[metric])
        head.fit(train_features, train_labels, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
        return predicted_classes(head.predict(features, verbose=0)) == validation_labels, features

    return probe


def feature_change(features, reference):
    """How far `features` moved from `reference`: mean |features - reference| / mean |reference|."""
    return float(np.abs(features - reference).mean() / np.abs(reference).mean())


def probe_arms(model, arms, train_images, validation_images):
    """Each arm of `arms` ({name: weights of `model`}, the first the reference) measured on `validation_images`.

    Returns {name: (whole model right per image, linear probe right per image, feature change)}: the probe is
    linear_prober's, trained on `train_images`; the feature change is feature_change's, against the first arm.
    """
    probe = linear_prober(model, train_images, validation_images)
    measured = {
        name: (right_per_image(model, weights, validation_images), *probe(weights)) for name, weights in arms.items()
    }
    reference = next(iter(measured.values()))[2]
    return {
        name: (whole, right, feature_change(features, reference)) for name, (whole, right, features) in measured.items()
    }


def paired_verdict(right_first, right_second, second, alpha=0.05):
    """McNemar's exact test of two arms on the same images, in words.

    Returns (images only the first gets right, images only the second gets right, p, verdict), where the
    verdict is "no measurable difference" at p >= `alpha`, else "`second` scores lower" or "... higher".
    """
    only_first, only_second, p_value = mcnemar_exact(right_first, right_second)
    if p_value >= alpha:
        verdict = "no measurable difference"
    else:
        verdict = f"{second} scores {'lower' if only_first > only_second else 'higher'}"
    return only_first, only_second, p_value, verdict
