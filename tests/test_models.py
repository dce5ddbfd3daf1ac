import keras
import numpy as np
import pytest

from helpers import bases, models

SIZE = 32  # the smallest MobileNetV2 accepts: its parameter counts do not depend on the image size


@pytest.fixture
def mobilenet_model():
    """The quick profile's base with random weights, small images, and the course's head: a fresh one per test."""
    base = models.build_base("mobilenet_v2_0.35", SIZE, weights=None)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(x))), base


def test_unfreezing_with_batchnorm_frozen_freezes_exactly_gamma_and_beta(mobilenet_model):
    model, base = mobilenet_model
    base.trainable = False
    assert models.param_counts(model) == (1_281, 410_208)
    base.trainable = True
    trainable, non_trainable = models.param_counts(model)
    batchnorm = models.batchnorm_layers(base)
    gamma_beta = models.count_params([w for layer in batchnorm for w in layer.trainable_weights])
    assert models.unfreeze_keep_batchnorm_frozen(base) == len(batchnorm) == 52
    assert models.param_counts(model) == (trainable - gamma_beta, non_trainable + gamma_beta)


def test_unfreezing_reaches_layers_frozen_one_by_one(mobilenet_model):
    model, base = mobilenet_model
    base.trainable = True
    base.layers[1].trainable = False  # a convolution frozen by hand, the base itself still trainable
    models.unfreeze_keep_batchnorm_frozen(base)
    assert base.layers[1].trainable
    assert all(layer.trainable != isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers[1:])


def test_one_fit_step_changes_no_moving_statistic_but_changes_convolutions(mobilenet_model):
    model, base = mobilenet_model
    models.unfreeze_keep_batchnorm_frozen(base)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.optimizer.build(model.trainable_variables)  # one trace of the step instead of two (notebook 03)
    stats, weights = models.moving_statistics(base), models.weight_values(base)
    model.fit(np.random.rand(2, SIZE, SIZE, 3) * 255, np.ones((2, 1)), batch_size=2, epochs=1, verbose=0)
    assert models.changed(stats, models.moving_statistics(base)) == []
    assert any("kernel" in key for key in models.changed(weights, models.weight_values(base)))


def test_the_wrapper_keeps_statistics_and_trains_gamma():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(models.InferenceModeBase(inner)(inputs)))
    model.compile(optimizer="adam", loss="mse")
    stats, weights = models.moving_statistics(inner), models.weight_values(inner)
    model.fit(np.random.rand(16, 4) + 3, np.ones((16, 1)), verbose=0)
    assert models.changed(stats, models.moving_statistics(inner)) == []
    assert any("gamma" in key for key in models.changed(weights, models.weight_values(inner)))


def test_plain_unfreezing_lets_the_statistics_drift():
    inputs = keras.Input((4,))
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()])
    model = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs, training=False)))
    inner.trainable = True
    model.compile(optimizer="adam", loss="mse")
    stats = models.moving_statistics(inner)
    model.fit(np.random.rand(16, 4) + 3, np.ones((16, 1)), verbose=0)
    assert models.changed(stats, models.moving_statistics(inner))


def test_all_layers_reaches_nested_models():
    inner = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="deep")])
    outer = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1, name="top")])
    assert [layer.name for layer in models.all_layers(outer)] == [inner.name, "deep", "top"]


def test_every_base_of_the_table_says_how_its_preprocess_input_scales():
    """Each entry of helpers/bases.py: -1..1 (the course's Rescaling), or the pixels as they are (scales_inputs)."""
    pixels = np.linspace(0, 255, 12, dtype="float32").reshape(1, 2, 2, 3)
    for name, entry in bases.BASES.items():
        expected = pixels if entry.scales_inputs else pixels / 127.5 - 1
        assert np.allclose(bases.preprocess_input(name)(pixels.copy()), expected, atol=1e-6), name


def test_mobilenet_v3_and_efficientnet_preprocess_input_pass_pixels_through():
    """Notebook 06's head: such bases scale raw pixels themselves (formerly checked in notebook 06)."""
    pixels = np.linspace(0, 255, 12, dtype="float32").reshape(1, 2, 2, 3)
    for module in (keras.applications.mobilenet_v3, keras.applications.efficientnet):
        assert np.array_equal(module.preprocess_input(pixels.copy()), pixels), module.__name__


def test_no_batchnorm_layer_of_a_base_hides_in_a_nested_model():
    """Notebook 06 unfreezes by looping over `base_model.layers`: every BatchNormalization layer of every base
    of helpers/bases.py is one of them (formerly checked in notebook 06, for its base only)."""
    for name in bases.BASES:
        base = models.build_base(name, 96, None)
        listed = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers)
        assert listed == len(models.batchnorm_layers(base)) > 0, name


def test_xception_has_the_guides_counts_and_the_wrapper_changes_none():
    """The guide's Xception at 150 px with its Dense(1) head (formerly checked in notebook 06): frozen, unfrozen,
    and unfrozen with BatchNormalization kept frozen, which freezes gamma and beta too."""
    xception = models.build_base("xception", 150, None)
    inputs = keras.Input((150, 150, 3))
    features = keras.layers.GlobalAveragePooling2D()(xception(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(features)))
    assert xception.output.shape[1:] == (5, 5, 2048)
    xception.trainable = False
    assert models.param_counts(model) == (2_049, 20_861_480)
    xception.trainable = True
    assert models.param_counts(model) == (20_809_001, 54_528)
    assert models.unfreeze_keep_batchnorm_frozen(xception) == len(models.batchnorm_layers(xception)) > 0
    assert models.param_counts(model) == (20_754_473, 109_056)  # 54,528 gamma and beta frozen with the statistics
    for layer in models.batchnorm_layers(xception):
        layer.trainable = True
    wrapped = models.InferenceModeBase(xception)(inputs)
    wrapped_model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(wrapped)))
    assert models.param_counts(wrapped_model) == models.param_counts(model) == (20_809_001, 54_528)
