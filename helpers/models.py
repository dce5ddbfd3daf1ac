"""The pretrained base and the course's model (taught in notebook 05), the freezing helpers (taught in 03),
the class names a saved model carries, and parameter counts."""

import json
import zipfile

import keras
import numpy as np

from helpers import bases
from helpers.tables import count_params


def build_base(base_model, image_size, weights):
    """A pretrained base without its ImageNet classifier, for square RGB images of `image_size` pixels.

    Taught in notebook 05. `weights` is None (random) or the path of a weights file.
    """
    input_shape = (image_size, image_size, 3)
    if base_model == "xception":
        return keras.applications.Xception(weights=weights, input_shape=input_shape, include_top=False)
    if base_model == "mobilenet_v2_0.35":
        return keras.applications.MobileNetV2(alpha=0.35, weights=weights, input_shape=input_shape, include_top=False)
    return bases.build(base_model, image_size, weights)  # any other base of the table in helpers/bases.py


def build_model(base, image_size, class_count, scales_inputs=False):
    """The course's model around `base`: scaling, the base in inference mode, pooling, dropout, logits.

    Taught in notebook 05. One logit for two classes (above 0: class 1), one logit per class for more.
    `scales_inputs`: the base scales raw pixels itself (helpers/bases.py), so it gets them as they are.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3))
    x = inputs if scales_inputs else keras.layers.Rescaling(scale=1 / 127.5, offset=-1)(inputs)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(1 if class_count == 2 else class_count)(x)
    return keras.Model(inputs, outputs)


def loss_and_metric(class_count):
    """The loss and the accuracy metric for the model's logits, for `class_count` classes.

    Taught in notebook 05. Two classes: one logit, a sigmoid inside the loss (the guide's). More: one
    logit per class, a softmax inside the loss. The metric is named "accuracy" either way.
    """
    if class_count == 2:
        return keras.losses.BinaryCrossentropy(from_logits=True), keras.metrics.BinaryAccuracy(
            threshold=0.0, name="accuracy"
        )
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True), keras.metrics.SparseCategoricalAccuracy(
        name="accuracy"
    )


def class_probabilities(logits):
    """Each row of logits as probabilities of the classes: [1 - sigmoid, sigmoid] of one logit, else a softmax.

    Taught in notebook 05.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[-1] == 1:
        logits = np.concatenate([np.zeros_like(logits), logits], axis=-1)  # sigmoid(z) = softmax([0, z])[1]
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def predicted_classes(logits):
    """The class each row of logits names: 1 where the one logit is above 0, else the largest logit's.

    Taught in notebook 05.
    """
    logits = np.asarray(logits)
    return (logits[:, 0] > 0).astype(int) if logits.shape[-1] == 1 else logits.argmax(axis=-1)


CLASS_NAMES_FILE = "class_names.json"  # inside the .keras zip: Keras ignores entries it does not know


def save_class_names(model_path, class_names):
    """Add the class names, in label order, to a saved .keras file, so that the model carries them.

    Taught in notebook 05.
    """
    with zipfile.ZipFile(model_path, "a") as archive:
        archive.writestr(CLASS_NAMES_FILE, json.dumps(list(class_names)))


def saved_class_names(model_path):
    """The class names a .keras file carries (save_class_names), or None for a model saved without them."""
    with zipfile.ZipFile(model_path) as archive:
        if CLASS_NAMES_FILE not in archive.namelist():
            return None
        return json.loads(archive.read(CLASS_NAMES_FILE))


def all_layers(model):
    """Every layer inside `model`, depth first, nested models included (the models themselves too)."""
    layers = []
    for layer in getattr(model, "layers", []):
        layers.append(layer)
        layers.extend(all_layers(layer))
    return layers


def batchnorm_layers(model):
    """Every BatchNormalization layer inside `model`, however deeply nested."""
    return [layer for layer in all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def unfreeze_keep_batchnorm_frozen(model):
    """Make `model` trainable except its BatchNormalization layers; return how many stay frozen.

    Taught in notebook 03. A frozen BatchNormalization layer runs in inference mode whatever `training`
    says, so its moving mean and variance keep their pretrained values while the other weights train.
    Every layer's flag is set, because on TensorFlow `model.trainable = True` on a model that is already
    trainable does not reach layers frozen one by one (notebook 02).
    """
    model.trainable = True
    batchnorm = batchnorm_layers(model)
    for layer in all_layers(model):  # outer models before the layers inside them
        layer.trainable = layer not in batchnorm
    return len(batchnorm)


class InferenceModeBase(keras.layers.Layer):
    """Runs `base` in inference mode whatever `training` says: its BatchNormalization statistics stay.

    Taught in notebook 03. Unlike freezing the BatchNormalization layers, gamma and beta still train.
    """

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    def call(self, inputs):
        return self.base(inputs, training=False)


def moving_statistics(model):
    """A copy of every BatchNormalization moving mean and variance in `model`, keyed by variable path."""
    return {
        weight.path: weight.numpy()
        for layer in batchnorm_layers(model)
        for weight in (layer.moving_mean, layer.moving_variance)
    }


def weight_values(layer_or_model):
    """A copy of every weight of a layer or model, keyed by variable path."""
    return {weight.path: weight.numpy() for weight in layer_or_model.weights}


def changed(before, after, atol=0.0):
    """The keys whose arrays differ between two snapshots made by `weight_values` or `moving_statistics`."""
    return [key for key in before if not np.allclose(before[key], after[key], rtol=0.0, atol=atol)]


def param_counts(model):
    """(trainable, non-trainable) parameter counts of `model`."""
    return count_params(model.trainable_weights), count_params(model.non_trainable_weights)
