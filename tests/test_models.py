import keras
import numpy as np
import pytest

from helpers import models


@pytest.fixture(scope="module")
def xception_model():
    base = models.build_base("xception", 150, weights=None)
    inputs = keras.Input((150, 150, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(x))), base


def test_unfreezing_xception_with_batchnorm_frozen_gives_the_expected_counts(xception_model):
    model, base = xception_model
    base.trainable = False
    assert models.param_counts(model) == (2_049, 20_861_480)
    kept = models.unfreeze_keep_batchnorm_frozen(base)
    assert kept == len(models.batchnorm_layers(base)) > 0
    assert models.param_counts(model) == (20_754_473, 109_056)


def test_one_fit_step_changes_no_moving_statistic_but_changes_convolutions(xception_model):
    model, base = xception_model
    models.unfreeze_keep_batchnorm_frozen(base)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    stats, weights = models.moving_statistics(base), models.weight_values(base)
    model.fit(np.random.rand(2, 150, 150, 3) * 255, np.ones((2, 1)), batch_size=2, epochs=1, verbose=0)
    assert models.changed(stats, models.moving_statistics(base)) == []
    assert any("kernel" in key for key in models.changed(weights, models.weight_values(base)))


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


def test_cached_weights_are_used_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "network_available", lambda: False)
    cached = tmp_path / "keras" / "models" / models.WEIGHT_FILES["xception"]["fname"]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert models.cached_weights_file("xception", tmp_path) == cached
    assert models.download_weights("xception", tmp_path) == cached


def test_missing_weights_offline_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "network_available", lambda: False)
    with pytest.raises(models.WeightsUnavailable) as error:
        models.download_weights("mobilenet_v1_0.25", tmp_path)
    message = str(error.value)
    assert "not in" in message and "make prefetch" in message and "\n" not in message


def test_a_failed_download_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "network_available", lambda: True)

    def refuse(*args, **kwargs):
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.utils, "get_file", refuse)
    with pytest.raises(models.WeightsUnavailable, match="could not be downloaded"):
        models.download_weights("xception", tmp_path)


def test_download_asks_keras_for_the_right_file_and_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "network_available", lambda: True)
    calls = {}

    def fake_get_file(fname, origin, file_hash, cache_subdir, cache_dir):
        calls.update(fname=fname, origin=origin, file_hash=file_hash, cache_dir=cache_dir)
        return f"{cache_dir}/{cache_subdir}/{fname}"

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    path = models.download_weights("mobilenet_v1_0.25", tmp_path)
    assert path.name == "mobilenet_2_5_224_tf_no_top.h5" and calls["origin"].endswith(path.name)
    assert calls["file_hash"].startswith("dbdb03ee") and calls["cache_dir"] == str(tmp_path / "keras")
