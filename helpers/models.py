"""Pretrained bases, their weight files, and the freezing helpers the notebooks teach."""

from pathlib import Path

import keras
import numpy as np

from helpers.network import network_available
from helpers.tables import count_params

_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"

# Where keras.applications downloads each base's ImageNet weights (include_top=False), and the hash
# it checks. The MobileNet sha256 is Keras's own WEIGHTS_HASHES entry for "2_5_224" (no top).
WEIGHT_FILES = {
    "xception": dict(
        fname="xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        origin=_KERAS_APPS + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        file_hash="b0042744bf5b25fce3cb969f33bebb97",
    ),
    "mobilenet_v1_0.25": dict(
        fname="mobilenet_2_5_224_tf_no_top.h5",
        origin=_KERAS_APPS + "mobilenet/mobilenet_2_5_224_tf_no_top.h5",
        file_hash="dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf",
    ),
}


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


def keras_cache_dir(cache_dir):
    """The folder that holds Keras weight files inside the course cache (Keras's own layout)."""
    return Path(cache_dir) / "keras"


def cached_weights_file(base_model, cache_dir):
    """The cached ImageNet weights file of `base_model`, or None when it is not in the cache."""
    path = keras_cache_dir(cache_dir) / "models" / WEIGHT_FILES[base_model]["fname"]
    return path if path.is_file() else None


def download_weights(base_model, cache_dir):
    """Return the ImageNet weights file of `base_model`, downloading it (hash checked) if not cached."""
    cached = cached_weights_file(base_model, cache_dir)
    if cached:
        return cached
    spec = WEIGHT_FILES[base_model]
    if not network_available():
        raise WeightsUnavailable(_weights_missing_message(base_model, cache_dir, "no network"))
    try:
        path = keras.utils.get_file(
            spec["fname"],
            spec["origin"],
            file_hash=spec["file_hash"],
            cache_subdir="models",
            cache_dir=str(keras_cache_dir(cache_dir)),
        )
    except Exception as error:  # get_file raises plain Exception for network failures
        raise WeightsUnavailable(_weights_missing_message(base_model, cache_dir, type(error).__name__)) from None
    return Path(path)


def _weights_missing_message(base_model, cache_dir, reason):
    return (
        f"The ImageNet weights for {base_model} are not in {keras_cache_dir(cache_dir)} and could not be "
        f"downloaded ({reason}). Run `make prefetch` on a connected machine and copy the cache folder here, "
        "point COURSE_WEIGHTS at a weights file, or set COURSE_WEIGHTS=none."
    )


def resolve_weights(settings):
    """What to pass as `weights=` to keras.applications: None, or the path of a weights file."""
    if settings.weights == "none":
        return None
    if settings.weights == "imagenet":
        return str(download_weights(settings.base_model, settings.cache_dir))
    return settings.weights


def build_base(base_model, image_size, weights=None):
    """A keras.applications base without its ImageNet classifier, for `image_size` square RGB inputs."""
    shape = (image_size, image_size, 3)
    if base_model == "xception":
        return keras.applications.Xception(weights=weights, include_top=False, input_shape=shape)
    if base_model == "mobilenet_v1_0.25":
        return keras.applications.MobileNet(alpha=0.25, weights=weights, include_top=False, input_shape=shape)
    raise ValueError(f"Unknown base model {base_model!r}; use one of: {', '.join(WEIGHT_FILES)}.")


def base_from_settings(settings):
    """The base model named by the settings, with the weights they ask for."""
    return build_base(settings.base_model, settings.image_size, resolve_weights(settings))


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
    """Make `model` trainable except its BatchNormalization layers, which stay frozen.

    A frozen BatchNormalization layer runs in inference mode whatever `training` says, so its moving
    mean and variance keep their pretrained values while every other weight trains. Returns the number
    of BatchNormalization layers kept frozen.
    """
    model.trainable = True
    frozen = batchnorm_layers(model)
    for layer in frozen:
        layer.trainable = False
    return len(frozen)


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
