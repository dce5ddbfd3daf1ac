"""Where data and weights come from: hosts, the probe and the TFDS cache (downloads), weight files and their
hashes (pretrained), notebook 00's availability table (notebook, sources) and make run's offline fallback
(helpers/offline.py)."""

import hashlib
import socket
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest

from helpers import bases, downloads, filtered, notebook, offline, pretrained, sources
from helpers.config import SHARED_WEIGHTS as SHARED_V2_WEIGHTS
from helpers.config import load_settings


def no_probe(host):
    raise AssertionError(f"probed {host} although nothing needed the network")


def fake_weights(monkeypatch, base_model, content, origin="https://storage.googleapis.com/fake.h5", file_hash=None):
    """Make the weights file of BASES[base_model] a small file with `content`; its hash is the content's unless given."""
    spec = replace(
        bases.BASES[base_model],
        weights_file=f"{base_model}_fake.h5",
        weights_origin=origin,
        weights_hash=file_hash or hashlib.sha256(content).hexdigest(),
    )
    monkeypatch.setitem(bases.BASES, base_model, spec)
    return spec


def prepare_filtered(cache_dir):
    """What extracted cats_and_dogs_filtered photos look like to the layout check: one file per class folder."""
    for split in ("train", "validation"):
        for name in ("cats", "dogs"):
            folder = filtered.filtered_dir(cache_dir) / split / name
            folder.mkdir(parents=True)
            (folder / f"{name}.1.jpg").write_bytes(b"")


def prepare_tfds(cache_dir):
    """What a prepared TFDS cats_vs_dogs looks like to TFDS: its version folder with dataset_info.json."""
    import tensorflow_datasets as tfds

    folder = Path(cache_dir) / "tensorflow_datasets" / "cats_vs_dogs" / str(tfds.builder_cls("cats_vs_dogs").VERSION)
    folder.mkdir(parents=True)
    (folder / "dataset_info.json").write_text("{}")


# ---------------------------------------------------------------- hosts and the probe


def test_the_tfds_host_is_the_one_in_tfds_own_builder():
    from tensorflow_datasets.image_classification import cats_vs_dogs

    assert downloads.tfds_host() == urlparse(cats_vs_dogs._URL).hostname
    assert downloads.tfds_host() not in {pretrained.weights_host(base) for base in bases.BASES}


def test_the_filtered_photos_host_is_the_one_in_their_origin():
    assert filtered.filtered_host() == urlparse(filtered.FILTERED_URL).hostname == "download.mlcc.google.com"
    assert filtered.FILTERED_URL.endswith("/cats_and_dogs_filtered.zip")
    assert filtered.filtered_host("file:///tmp/cats_and_dogs_filtered.zip") is None


def test_each_data_source_names_the_host_it_needs():
    assert sources.data_host(load_settings({"COURSE_PROFILE": "quick"})) == "download.mlcc.google.com"
    assert sources.data_host(load_settings({"COURSE_PROFILE": "full"})) == downloads.tfds_host()
    assert sources.data_host(load_settings({"COURSE_PROFILE": "smoke"})) is None


def test_the_weights_host_is_the_one_in_each_origin():
    for base_model, base in bases.BASES.items():
        assert pretrained.weights_host(base_model) == urlparse(base.weights_origin).hostname == "storage.googleapis.com"


def test_the_probe_sees_an_open_port_and_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert downloads.network_available("127.0.0.1", port, timeout=2)
    assert not downloads.network_available("127.0.0.1", port, timeout=2)


# ---------------------------------------------------------------- weight files


def test_each_base_with_weights_pins_a_hash_of_its_file():
    assert {"xception", "mobilenet_v2_0.35"} <= set(bases.BASES)
    for name, base in bases.BASES.items():
        assert base.weights_origin.endswith("/" + base.weights_file), name
        assert len(base.weights_hash) in (32, 64) and int(base.weights_hash, 16) >= 0, f"{name}: md5 or sha256"


def test_the_pinned_v2_hash_is_the_real_files():
    if not SHARED_V2_WEIGHTS.is_file():
        pytest.skip(f"test material not found: {SHARED_V2_WEIGHTS}")
    assert pretrained.file_hash_matches(SHARED_V2_WEIGHTS, bases.BASES["mobilenet_v2_0.35"].weights_hash)


def test_cached_weights_are_used_without_network(tmp_path, monkeypatch):
    spec = fake_weights(monkeypatch, "xception", b"weights")
    monkeypatch.setattr(downloads, "network_available", no_probe)
    cached = tmp_path / "keras" / "models" / spec.weights_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"weights")
    assert pretrained.cached_weights_file("xception", tmp_path) == cached
    assert pretrained.download_weights("xception", tmp_path) == cached


def test_a_cached_file_with_the_wrong_hash_is_not_the_weights(tmp_path, monkeypatch):
    spec = fake_weights(monkeypatch, "xception", b"weights")
    cached = tmp_path / "keras" / "models" / spec.weights_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"truncated")
    assert pretrained.cached_weights_file("xception", tmp_path) is None


def test_missing_weights_offline_is_one_clear_sentence(tmp_path, monkeypatch):
    probed = []
    monkeypatch.setattr(downloads, "network_available", lambda host: probed.append(host) or False)
    with pytest.raises(downloads.WeightsUnavailable) as error:
        pretrained.download_weights("mobilenet_v2_0.35", tmp_path)
    message = str(error.value)
    assert probed == ["storage.googleapis.com"]
    assert "not in" in message and "no network to storage.googleapis.com" in message and "make prefetch" in message
    assert "\n" not in message


def test_a_failed_download_is_one_clear_sentence(tmp_path, monkeypatch):
    import keras

    monkeypatch.setattr(downloads, "network_available", lambda host: True)

    def refuse(*args, **kwargs):
        raise Exception("URL fetch failure")  # what get_file raises

    monkeypatch.setattr(keras.utils, "get_file", refuse)
    with pytest.raises(downloads.WeightsUnavailable, match="could not be downloaded"):
        pretrained.download_weights("xception", tmp_path)


def test_download_asks_keras_for_the_right_file_and_hash(tmp_path, monkeypatch):
    import keras

    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    calls = {}

    def fake_get_file(fname, origin, file_hash, cache_subdir, cache_dir):
        calls.update(fname=fname, origin=origin, file_hash=file_hash, cache_dir=cache_dir)
        return f"{cache_dir}/{cache_subdir}/{fname}"

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    path = pretrained.download_weights("mobilenet_v2_0.35", tmp_path)
    v2 = bases.BASES["mobilenet_v2_0.35"]
    assert path.name == v2.weights_file
    assert calls["origin"] == v2.weights_origin and calls["cache_dir"] == str(tmp_path / "keras")
    assert calls["file_hash"] == v2.weights_hash


def test_keras_refuses_a_download_whose_hash_does_not_match(tmp_path, monkeypatch):
    served = tmp_path / "served" / "weights.h5"
    served.parent.mkdir()
    served.write_bytes(b"not the MobileNetV2 weights")
    real_hash = bases.BASES["mobilenet_v2_0.35"].weights_hash
    spec = fake_weights(monkeypatch, "mobilenet_v2_0.35", b"", origin=served.as_uri(), file_hash=real_hash)
    monkeypatch.setattr(downloads, "network_available", no_probe)  # a file:// origin needs no network
    cache = tmp_path / "cache"
    with pytest.raises(downloads.WeightsUnavailable) as error:
        pretrained.download_weights("mobilenet_v2_0.35", cache)
    message = str(error.value)
    assert "could not be downloaded (its hash does not match)" in message and "\n" not in message
    assert not (cache / "keras" / "models" / spec.weights_file).exists(), "the refused file must not stay in the cache"
    assert pretrained.cached_weights_file("mobilenet_v2_0.35", cache) is None


def test_keras_accepts_a_download_whose_hash_matches(tmp_path, monkeypatch):
    served = tmp_path / "served" / "weights.h5"
    served.parent.mkdir()
    served.write_bytes(b"exactly these bytes")
    fake_weights(monkeypatch, "mobilenet_v2_0.35", b"exactly these bytes", origin=served.as_uri())
    monkeypatch.setattr(downloads, "network_available", no_probe)
    path = pretrained.download_weights("mobilenet_v2_0.35", tmp_path / "cache")
    assert path.read_bytes() == b"exactly these bytes"
    assert pretrained.cached_weights_file("mobilenet_v2_0.35", tmp_path / "cache") == path


def test_resolve_weights_gives_none_a_path_or_the_cached_file(tmp_path, monkeypatch):
    content = legacy_h5(tmp_path / "made.h5", layers=104, size=1).read_bytes()  # a file the check accepts
    spec = fake_weights(monkeypatch, "mobilenet_v2_0.35", content)
    cached = tmp_path / "keras" / "models" / spec.weights_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content)
    env = {"COURSE_PROFILE": "smoke", "COURSE_CACHE_DIR": str(tmp_path), "COURSE_BASE_MODEL": "mobilenet_v2_0.35"}
    assert pretrained.resolve_weights(load_settings(env)) is None
    assert pretrained.resolve_weights(load_settings({**env, "COURSE_WEIGHTS": str(cached)})) == str(cached)
    assert pretrained.resolve_weights(load_settings({**env, "COURSE_WEIGHTS": "imagenet"})) == str(cached)


# ---------------------------------------------------------------- TFDS


def test_tfds_is_prepared_only_with_its_version_folder(tmp_path):
    assert not downloads.tfds_prepared(tmp_path)
    other = tmp_path / "tensorflow_datasets" / "cats_vs_dogs" / "1.0.0"
    other.mkdir(parents=True)
    (other / "dataset_info.json").write_text("{}")
    assert not downloads.tfds_prepared(tmp_path), "another version would make tfds.load download"
    prepare_tfds(tmp_path)
    assert downloads.tfds_prepared(tmp_path)


def test_load_tfds_probes_the_tfds_host(tmp_path, monkeypatch):
    from helpers import data

    probed = []
    monkeypatch.setattr(downloads, "network_available", lambda host: probed.append(host) or False)
    with pytest.raises(downloads.DataUnavailable, match=f"no network to {downloads.tfds_host()}"):
        data.load_tfds(tmp_path, 0, 0)
    assert probed == [downloads.tfds_host()]


# ---------------------------------------------------------------- notebook 00's table


def test_a_filled_cache_needs_no_network(tmp_path, monkeypatch):
    prepare_filtered(tmp_path)
    spec = fake_weights(monkeypatch, "mobilenet_v2_0.35", b"w")
    weights = tmp_path / "keras" / "models" / spec.weights_file
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"w")
    monkeypatch.setattr(downloads, "network_available", no_probe)
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    table = notebook.availability_table(settings)
    assert table.column("status") == ["available", "available"]
    assert table.column("from")[0] == f"{filtered.filtered_dir(tmp_path)} (cached)"
    assert str(weights) in table.column("from")[1]


def test_the_full_profiles_tfds_cache_needs_no_network(tmp_path, monkeypatch):
    prepare_tfds(tmp_path)
    monkeypatch.setattr(downloads, "network_available", no_probe)
    settings = load_settings({"COURSE_PROFILE": "full", "COURSE_CACHE_DIR": str(tmp_path)})
    assert sources.data_status(settings) == (f"{tmp_path / 'tensorflow_datasets'} (cached)", True, "")


def test_the_table_says_the_quick_photos_download_68_mb_online(tmp_path, monkeypatch):
    probed = []
    monkeypatch.setattr(downloads, "network_available", lambda host: probed.append(host) or True)
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    where, ok, advice = sources.data_status(settings)
    assert where.startswith(str(filtered.filtered_dir(tmp_path))) and "68 MB from download.mlcc.google.com" in where
    assert ok and advice == "" and probed == ["download.mlcc.google.com"]


def test_a_cached_zip_is_enough_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", no_probe)
    filtered.filtered_archive(tmp_path).parent.mkdir(parents=True)
    filtered.filtered_archive(tmp_path).write_bytes(b"zip")
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    where, ok, _ = sources.data_status(settings)
    assert ok and where.endswith("(extracted from the cached cats_and_dogs_filtered.zip on first use)")


def test_the_table_says_what_is_missing_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    table = notebook.availability_table(settings)
    assert table.column("status") == ["NOT AVAILABLE", "NOT AVAILABLE"]
    advice = table.column("what to do")
    assert "make prefetch" in advice[0] and "no network to download.mlcc.google.com" in advice[0]
    assert "storage.googleapis.com" in advice[1]
    full = load_settings({"COURSE_PROFILE": "full", "COURSE_CACHE_DIR": str(tmp_path)})
    assert downloads.tfds_host() in notebook.availability_table(full).column("what to do")[0]


# ---------------------------------------------------------------- make run's offline fallback


def quick_offline(tmp_path, monkeypatch, **env):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    return load_settings({"COURSE_CACHE_DIR": str(tmp_path), **env})


def test_offline_defaults_are_replaced_and_each_replacement_is_named(tmp_path, monkeypatch):
    settings = quick_offline(tmp_path, monkeypatch)
    overrides, sentence = offline.offline_fallback(settings, chosen={"COURSE_CACHE_DIR"})
    assert overrides == {"COURSE_PROFILE": "smoke", "COURSE_DATA_SOURCE": "synthetic", "COURSE_WEIGHTS": "none"}
    for replaced in (
        "COURSE_PROFILE quick -> smoke",
        "COURSE_DATA_SOURCE filtered -> synthetic",
        "COURSE_WEIGHTS imagenet -> none",
    ):
        assert replaced in sentence
    assert "mean nothing about real photos" in sentence and "\n" not in sentence


def test_online_nothing_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    settings = load_settings({"COURSE_CACHE_DIR": str(tmp_path)})
    assert offline.offline_fallback(settings, chosen=set()) == ({}, "")


def test_the_smoke_profile_never_probes(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", no_probe)
    settings = load_settings({"COURSE_PROFILE": "smoke", "COURSE_CACHE_DIR": str(tmp_path)})
    assert offline.offline_fallback(settings, chosen={"COURSE_PROFILE"}) == ({}, "")


def test_an_explicit_profile_that_needs_the_filtered_photos_stops_instead(tmp_path, monkeypatch):
    settings = quick_offline(tmp_path, monkeypatch, COURSE_PROFILE="quick")
    with pytest.raises(downloads.DataUnavailable) as error:
        offline.offline_fallback(settings, chosen={"COURSE_PROFILE"})
    message = str(error.value)
    assert message.startswith("You set COURSE_PROFILE=quick, which needs the cats_and_dogs_filtered photos")
    for named in (
        str(filtered.filtered_dir(tmp_path)),
        "download.mlcc.google.com",
        "make prefetch",
        "change COURSE_PROFILE",
    ):
        assert named in message, named
    assert "\n" not in message


def test_an_explicit_profile_that_needs_tfds_stops_instead(tmp_path, monkeypatch):
    settings = quick_offline(tmp_path, monkeypatch, COURSE_PROFILE="full")
    with pytest.raises(downloads.DataUnavailable) as error:
        offline.offline_fallback(settings, chosen={"COURSE_PROFILE"})
    message = str(error.value)
    assert message.startswith("You set COURSE_PROFILE=full, which needs TFDS cats_vs_dogs") and "\n" not in message
    assert downloads.tfds_host() in message


def test_explicit_imagenet_weights_stop_instead(tmp_path, monkeypatch):
    settings = quick_offline(tmp_path, monkeypatch, COURSE_WEIGHTS="imagenet")
    with pytest.raises(
        downloads.WeightsUnavailable, match="^You set COURSE_WEIGHTS=imagenet, which needs the ImageNet"
    ):
        offline.offline_fallback(settings, chosen={"COURSE_WEIGHTS"})


def test_own_photos_stay_and_only_the_weights_are_replaced(tmp_path, monkeypatch):
    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).mkdir(parents=True)
    settings = quick_offline(tmp_path, monkeypatch, COURSE_DATA_DIR=str(tmp_path / "photos"))
    overrides, sentence = offline.offline_fallback(settings, chosen={"COURSE_DATA_DIR"})
    assert overrides == {"COURSE_PROFILE": "smoke", "COURSE_WEIGHTS": "none"}
    assert "with random weights its accuracies" in sentence and "synthetic" not in sentence


def test_a_folder_that_does_not_exist_is_an_error_naming_it(tmp_path, monkeypatch):
    settings = quick_offline(tmp_path, monkeypatch, COURSE_DATA_DIR=str(tmp_path / "nowhere"))
    with pytest.raises(downloads.DataUnavailable, match=f"^The image folder {tmp_path / 'nowhere'} .* does not exist"):
        offline.offline_fallback(settings, chosen={"COURSE_DATA_DIR"})


# ---------------------------------------------------------------- issue 16: corrupt weights, kept photos


def corrupt_cache(tmp_path, monkeypatch):
    spec = fake_weights(monkeypatch, "mobilenet_v2_0.35", b"the real weights")
    cached = tmp_path / "keras" / "models" / spec.weights_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"the real wei")  # a download that stopped early
    return cached


def test_a_corrupt_cached_weights_file_is_said_to_be_corrupt_with_the_fix(tmp_path, monkeypatch):
    # Before: "are not in ... and could not be downloaded", as if nothing were cached.
    cached = corrupt_cache(tmp_path, monkeypatch)
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    with pytest.raises(downloads.WeightsUnavailable) as error:
        pretrained.download_weights("mobilenet_v2_0.35", tmp_path)
    message = str(error.value)
    assert message.startswith(f"The cached ImageNet weights file {cached} for mobilenet_v2_0.35 is corrupt (12 bytes")
    assert "Delete it, then run `make prefetch`" in message and "\n" not in message
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path)})
    assert pretrained.weights_status(settings) == (str(cached), False, message)


def test_make_runs_fallback_replaces_only_the_corrupt_weights_and_keeps_the_cached_photos(tmp_path, monkeypatch):
    # Before: the profile switch to smoke also swapped the cached photos for synthetic ones, unnamed.
    cached = corrupt_cache(tmp_path, monkeypatch)
    prepare_filtered(tmp_path)
    settings = quick_offline(tmp_path, monkeypatch)
    overrides, sentence = offline.offline_fallback(settings, chosen={"COURSE_CACHE_DIR"})
    assert overrides == {"COURSE_PROFILE": "smoke", "COURSE_WEIGHTS": "none", "COURSE_DATA_SOURCE": "filtered"}
    assert load_settings({"COURSE_CACHE_DIR": str(tmp_path), **overrides}).data_source == "filtered"
    assert "COURSE_PROFILE quick -> smoke, COURSE_WEIGHTS imagenet -> none; the filtered photos it has are kept" in (
        sentence
    )
    assert f"the cached {cached} is corrupt" in sentence and "synthetic" not in sentence


def test_chosen_imagenet_weights_that_are_corrupt_stop_the_run_saying_so(tmp_path, monkeypatch):
    cached = corrupt_cache(tmp_path, monkeypatch)
    settings = quick_offline(tmp_path, monkeypatch, COURSE_WEIGHTS="imagenet")
    with pytest.raises(downloads.WeightsUnavailable) as error:
        offline.offline_fallback(settings, chosen={"COURSE_WEIGHTS"})
    assert f"but the cached {cached} is corrupt (12 bytes" in str(error.value)


def test_a_data_dir_that_is_a_file_is_said_to_be_a_file(tmp_path, monkeypatch):
    (tmp_path / "photos.zip").write_bytes(b"PK")
    settings = quick_offline(tmp_path, monkeypatch, COURSE_DATA_DIR=str(tmp_path / "photos.zip"))
    with pytest.raises(downloads.DataUnavailable, match="is a file, not a folder"):
        offline.offline_fallback(settings, chosen={"COURSE_DATA_DIR"})


# ---------------------------------------------------------------- issue 16: bad weights files


def legacy_h5(path, layers=2, size=1000):
    """A weights file in Keras's classic .h5 layout (keras.applications' own) with `layers` layers."""
    import h5py
    import numpy as np

    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [f"layer_{i}".encode() for i in range(layers)]
        for i in range(layers):
            group = file.create_group(f"layer_{i}")
            group.attrs["weight_names"] = [f"layer_{i}/kernel:0".encode()]
            group.create_dataset(f"layer_{i}/kernel:0", data=np.arange(size, dtype=np.float32))
    return path


def truncated_h5(path):
    legacy_h5(path, layers=104, size=5000)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


BAD_WEIGHTS = {
    "text": (lambda p: p.write_text("not weights") and p, "it is not an HDF5 weights file"),
    "other_network": (
        lambda p: legacy_h5(p, layers=54),
        "it holds weights for 54 layers where mobilenet_v2_0.35 has 104",
    ),
    "truncated": (truncated_h5, "it cannot be read, truncated or damaged"),
}


@pytest.mark.parametrize("kind", sorted(BAD_WEIGHTS))
def test_a_bad_weights_file_is_one_sentence_naming_it_and_the_base(tmp_path, kind):
    make, problem = BAD_WEIGHTS[kind]
    path = make(tmp_path / f"{kind}.h5")
    settings = load_settings({"COURSE_WEIGHTS": str(path), "COURSE_CACHE_DIR": str(tmp_path)})
    with pytest.raises(downloads.WeightsUnavailable) as error:
        pretrained.resolve_weights(settings)
    message = str(error.value)
    assert message.startswith(f"The weights file {path} (COURSE_WEIGHTS) cannot be loaded into mobilenet_v2_0.35: ")
    assert problem in message and "\n" not in message
    with pytest.raises(downloads.WeightsUnavailable, match="cannot be loaded into mobilenet_v2_0.35"):  # make run
        offline.offline_fallback(settings, chosen={"COURSE_WEIGHTS"})


def test_the_real_files_pass_the_check_and_another_networks_real_file_does_not():
    other = SHARED_V2_WEIGHTS.parent / "mobilenet_2_5_224_tf_no_top.h5"  # MobileNet (v1) 0.25
    if not (SHARED_V2_WEIGHTS.is_file() and other.is_file()):
        pytest.skip("test material not found")
    assert pretrained.weights_file_problem(SHARED_V2_WEIGHTS, "mobilenet_v2_0.35") is None
    assert "54 layers where mobilenet_v2_0.35 has 104" in pretrained.weights_file_problem(other, "mobilenet_v2_0.35")
    assert "where xception has 80" in pretrained.weights_file_problem(SHARED_V2_WEIGHTS, "xception")


def test_the_layer_counts_are_the_bases():

    from helpers import models

    for name, entry in bases.BASES.items():
        if entry.weight_layers:
            base = models.build_base(name, entry.min_size, None)
            assert sum(1 for layer in base.layers if layer.weights) == entry.weight_layers, name


def test_what_keras_says_about_a_bad_file_becomes_one_sentence_too(tmp_path, monkeypatch):
    import keras

    path = legacy_h5(tmp_path / "other.h5", layers=54)
    monkeypatch.setenv("COURSE_WEIGHTS", str(path))
    monkeypatch.setenv("COURSE_BASE_MODEL", "mobilenet_v2_0.35")
    with pytest.raises(SystemExit) as stopped:
        with notebook.friendly_errors():
            keras.applications.MobileNetV2(alpha=0.35, weights=str(path), input_shape=(96, 96, 3), include_top=False)
    message = str(stopped.value)
    assert message.startswith(f"The weights file {path} cannot be loaded into mobilenet_v2_0.35 (Layer count mismatch")
    assert "\n" not in message
