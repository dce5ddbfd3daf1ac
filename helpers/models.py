"""The pretrained base (taught in notebook 05), the freezing helpers (taught in 03), and parameter counts."""

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
