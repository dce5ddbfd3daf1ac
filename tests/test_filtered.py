"""The quick profile's photos: TensorFlow's cats_and_dogs_filtered.zip, downloaded and extracted by Keras.

A small zip with the same layout, built from generated JPEGs, is served from a file:// origin, so the real
download-and-extract code (keras.utils.get_file) runs without network or shared test material.
"""

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from helpers import data, downloads, filtered
from helpers.config import load_settings

TRAIN, VALIDATION = 20, 10  # images per class in train/ and validation/
CAT_RED, DOG_BLUE = (250, 0, 20), (20, 0, 250)  # cats are red, dogs blue, so a label can be read back


def jpeg(color, size=(48, 36)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def make_zip(path, train=TRAIN, validation=VALIDATION, leave_out=(), empty=()):
    """A cats_and_dogs_filtered.zip look-alike; `leave_out`/`empty` name folders like "train/dogs"."""
    counts = {"train": train, "validation": validation}
    with zipfile.ZipFile(path, "w") as archive:
        for split, count in counts.items():
            for name, color in (("cats", CAT_RED), ("dogs", DOG_BLUE)):
                folder = f"{split}/{name}"
                if folder in leave_out:
                    continue
                if folder in empty:
                    archive.writestr(f"cats_and_dogs_filtered/{folder}/", "")
                    continue
                for i in range(count):
                    # Each file its own shade of green (train first), so images can be told apart.
                    shade = (color[0], 5 * (i + (split == "validation") * train), color[2])
                    archive.writestr(f"cats_and_dogs_filtered/{folder}/{name[:-1]}.{i}.jpg", jpeg(shade))
    return path


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The look-alike zip served from a file:// origin; probing any host fails the test."""
    (tmp_path / "served").mkdir()
    origin = make_zip(tmp_path / "served" / "cats_and_dogs_filtered.zip")
    monkeypatch.setattr(filtered, "FILTERED_URL", origin.as_uri())
    monkeypatch.setattr(downloads, "network_available", no_probe)
    return origin


def no_probe(host, *args, **kwargs):
    raise AssertionError(f"probed {host} although nothing needed the network")


def label_of(image):
    red, _, blue = np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0)
    return int(blue > red)


def examples(dataset):
    return [(image.numpy(), int(label)) for image, label in dataset]


# ---------------------------------------------------------------- download, extract, load


def test_the_real_download_and_extract_give_exact_balanced_splits(tmp_path, served):
    course = data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=1)
    folder = filtered.filtered_dir(tmp_path / "cache")
    assert (
        folder
        == tmp_path / "cache" / "keras" / "datasets" / "cats_and_dogs_filtered_extracted" / "cats_and_dogs_filtered"
    )
    assert filtered.filtered_layout(folder) == {
        "train": {"cats": 20, "dogs": 20},
        "validation": {"cats": 10, "dogs": 10},
    }
    assert course.class_names == ["cat", "dog"]
    assert course.sizes == {"train": 40, "validation": 10, "test": 10}
    for name in ("train", "validation", "test"):
        seen = examples(getattr(course, name))
        assert len(seen) == course.sizes[name]
        labels = [label for _, label in seen]
        assert labels.count(0) == labels.count(1) == len(seen) // 2, f"{name} is not balanced"
        assert all(label_of(image) == label for image, label in seen), "a cat (red) must be label 0"
        image = seen[0][0]
        assert image.dtype == np.uint8 and image.shape == (32, 32, 3)


def test_validation_and_test_never_share_an_image_and_stay_put(tmp_path, served):
    course = data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=7)

    def keys(dataset):
        return [image.tobytes() for image, _ in examples(dataset)]

    validation, test = keys(course.validation), keys(course.test)
    assert len(set(validation)) == len(validation) == 10 and len(set(test)) == 10
    assert not set(validation) & set(test)
    assert keys(course.validation) == validation and keys(course.test) == test, "a second pass must not reshuffle"
    again = data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=7)
    assert keys(again.validation) == validation, "the same seed picks the same images"


def test_caps_are_exact_seeded_and_keep_both_classes(tmp_path, served):
    first = data.load_filtered(tmp_path / "cache", 32, 6, 4, seed=3)
    assert first.sizes == {"train": 6, "validation": 4, "test": 4}
    for name in ("train", "validation", "test"):
        labels = [label for _, label in examples(getattr(first, name))]
        assert len(labels) == first.sizes[name] and labels.count(0) == labels.count(1)
    train = [image.tobytes() for image, _ in examples(first.train)]
    assert [image.tobytes() for image, _ in examples(first.train)] == train, "the capped split must not change"
    same = data.load_filtered(tmp_path / "cache", 32, 6, 4, seed=3)
    other = data.load_filtered(tmp_path / "cache", 32, 6, 4, seed=4)
    assert [image.tobytes() for image, _ in examples(same.train)] == train
    assert [image.tobytes() for image, _ in examples(other.train)] != train


def test_balanced_order_alternates_and_keeps_the_rest():
    labels = [0, 0, 0, 0, 0, 1, 1]
    order = data.balanced_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(7))
    assert [labels[i] for i in order] == [0, 1, 0, 1, 0, 0, 0]
    assert order.tolist() == data.balanced_order(labels, seed=0).tolist()


def test_a_second_load_uses_the_cache_without_network(tmp_path, served, monkeypatch):
    data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=1)
    monkeypatch.setattr(filtered, "FILTERED_URL", (tmp_path / "nowhere" / "gone.zip").as_uri())
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    import keras

    def no_download(*args, **kwargs):
        raise AssertionError("get_file was called although the photos are cached")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    course = data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=1)
    assert course.sizes == {"train": 40, "validation": 10, "test": 10}
    assert filtered.filtered_prepared(tmp_path / "cache")


def test_a_cached_zip_is_extracted_again_without_network(tmp_path, served, monkeypatch):
    cache = tmp_path / "cache"
    folder = filtered.download_filtered(cache)
    for path in (folder / "train" / "dogs").iterdir():
        path.unlink()
    assert not filtered.filtered_prepared(cache)
    monkeypatch.setattr(filtered, "FILTERED_URL", (tmp_path / "nowhere" / "gone.zip").as_uri())
    assert filtered.download_filtered(cache) == folder
    assert filtered.filtered_layout(folder)["train"]["dogs"] == TRAIN


# ---------------------------------------------------------------- offline and bad archives


def test_offline_without_a_cache_is_one_sentence_and_probes_the_host(tmp_path, monkeypatch):
    probed = []
    monkeypatch.setattr(downloads, "network_available", lambda host: probed.append(host) or False)
    with pytest.raises(downloads.DataUnavailable) as error:
        data.load_filtered(tmp_path, 32, 0, 0, seed=0)
    message = str(error.value)
    assert probed == ["download.mlcc.google.com"]
    assert message.startswith(f"The cats_and_dogs_filtered photos are not in {filtered.filtered_dir(tmp_path)}")
    for named in ("no network to download.mlcc.google.com", "make prefetch", "COURSE_CACHE_DIR", "COURSE_DATA_DIR"):
        assert named in message, named
    assert "\n" not in message


def test_a_failed_download_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(filtered, "FILTERED_URL", (tmp_path / "nowhere" / "gone.zip").as_uri())
    monkeypatch.setattr(downloads, "network_available", no_probe)
    with pytest.raises(downloads.DataUnavailable, match=r"could not be downloaded \(Exception\): run `make prefetch`"):
        filtered.download_filtered(tmp_path / "cache")
    assert not filtered.filtered_archive(tmp_path / "cache").exists()


@pytest.mark.parametrize(
    "broken, problem",
    [
        (dict(leave_out=("train/dogs",)), "train/dogs is missing"),
        (dict(empty=("validation/cats",)), "validation/cats holds no images"),
        (dict(leave_out=("train/dogs",), empty=("validation/cats",)), "train/dogs is missing; "),
    ],
)
def test_an_archive_without_a_class_folder_is_refused_naming_it(tmp_path, monkeypatch, broken, problem):
    origin = make_zip(tmp_path / "broken.zip", **broken)
    monkeypatch.setattr(filtered, "FILTERED_URL", origin.as_uri())
    monkeypatch.setattr(downloads, "network_available", no_probe)
    cache = tmp_path / "cache"
    with pytest.raises(downloads.DataUnavailable) as error:
        data.load_filtered(cache, 32, 0, 0, seed=0)
    message = str(error.value)
    folder = filtered.filtered_dir(cache)
    assert message.startswith(f"The cats_and_dogs_filtered photos in {folder} are incomplete: {folder}/")
    assert problem in message and "\n" not in message
    assert f"Delete {filtered.filtered_archive(cache)} and {folder.parent}, then run `make prefetch`" in message
    assert not filtered.filtered_prepared(cache)


def test_other_counts_than_the_published_ones_are_fine(tmp_path):
    for split, count in (("train", 3), ("validation", 1)):
        for name in ("cats", "dogs"):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(count):
                (tmp_path / split / name / f"{i}.jpg").write_bytes(b"")
    (tmp_path / "train" / "cats" / "notes.txt").write_text("not an image")
    assert filtered.filtered_layout(tmp_path) == {"train": {"cats": 3, "dogs": 3}, "validation": {"cats": 1, "dogs": 1}}


# ---------------------------------------------------------------- settings


def test_the_quick_profile_reads_the_filtered_photos(tmp_path, served):
    settings = load_settings({"COURSE_PROFILE": "quick", "COURSE_CACHE_DIR": str(tmp_path), "COURSE_IMAGE_SIZE": "32"})
    assert settings.data_source == "filtered"
    course = data.load_data(settings)
    assert course.sizes == {"train": 40, "validation": 10, "test": 10}  # fewer images than the profile's caps
    assert course.description.startswith(f"cats_and_dogs_filtered from {filtered.filtered_dir(tmp_path)}")


# ---------------------------------------------------------------- issue 16: a damaged cache


def damage(path, how):
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:150])
    else:
        path.unlink()  # an extraction that stopped halfway


@pytest.mark.parametrize("how, reason", [("empty", "empty file"), ("truncated", ""), ("missing", "missing")])
def test_a_damaged_photo_in_the_cache_is_repaired_from_the_zip_and_said(
    tmp_path, served, monkeypatch, capsys, how, reason
):
    # Before: it passed the layout check, then every later run died on "Input is empty".
    cache = tmp_path / "cache"
    data.load_filtered(cache, 32, 0, 0, seed=0)
    photo = filtered.filtered_dir(cache) / "validation" / "dogs" / "dog.3.jpg"
    good = photo.read_bytes()
    damage(photo, how)
    capsys.readouterr()
    monkeypatch.setattr(filtered, "FILTERED_URL", (tmp_path / "nowhere" / "gone.zip").as_uri())  # repaired offline
    course = data.load_filtered(cache, 32, 0, 0, seed=0)
    said = capsys.readouterr().out
    assert said.startswith("Repaired the cats_and_dogs_filtered photos in") and f"{photo}: {reason}" in said, said
    assert photo.read_bytes() == good
    assert [sum(1 for _ in getattr(course, split)) for split in ("train", "validation", "test")] == [40, 10, 10]
    data.load_filtered(cache, 32, 0, 0, seed=0)
    assert capsys.readouterr().out == "", "repaired once, then quiet"


def test_a_damaged_photo_without_the_zip_is_one_sentence_naming_it(tmp_path, served):
    cache = tmp_path / "cache"
    folder = filtered.download_filtered(cache)
    filtered.filtered_archive(cache).unlink()
    photo = folder / "train" / "cats" / "cat.0.jpg"
    damage(photo, "empty")
    with pytest.raises(downloads.DataUnavailable) as error:
        data.load_filtered(cache, 32, 0, 0, seed=0)
    message = str(error.value)
    assert f"{photo}: empty file" in message and "is not there to repair them" in message and "\n" not in message


def test_an_unchanged_cache_is_not_checked_again(tmp_path, served, monkeypatch):
    cache = tmp_path / "cache"
    data.load_filtered(cache, 32, 0, 0, seed=0)
    monkeypatch.setattr(data, "usable_files", lambda *args: pytest.fail("checked again although nothing changed"))
    data.load_filtered(cache, 32, 0, 0, seed=0)


def damaged_early(path):
    """A zip whose first member's data is overwritten: the central directory still reads, extraction fails."""
    contents = bytearray(path.read_bytes())
    contents[40:400] = b"\0" * 360
    path.write_bytes(bytes(contents))
    return path


def test_a_damaged_download_is_reported_as_damaged(tmp_path, served, monkeypatch):
    # Before: "could not be downloaded (BadZipFile)".
    damaged_early(served)
    with pytest.raises(downloads.DataUnavailable) as error:
        data.load_filtered(tmp_path / "cache", 32, 0, 0, seed=0)
    message = str(error.value)
    assert "is damaged (" in message and "could not be downloaded" not in message, message


@pytest.mark.parametrize("how", ["early", "truncated"])
def test_a_damaged_cached_zip_offline_is_reported_as_damaged(tmp_path, served, monkeypatch, how):
    cache = tmp_path / "cache"
    filtered.download_filtered(cache)
    archive = filtered.filtered_archive(cache)
    damaged_early(archive) if how == "early" else archive.write_bytes(archive.read_bytes()[:5000])
    (filtered.filtered_dir(cache) / "train" / "dogs" / "dog.1.jpg").unlink()
    (filtered.filtered_dir(cache) / "train" / "dogs" / "dog.2.jpg").write_bytes(b"")
    monkeypatch.setattr(filtered, "FILTERED_URL", "https://download.mlcc.google.com/cats_and_dogs_filtered.zip")
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    with pytest.raises(downloads.DataUnavailable) as error:
        data.load_filtered(cache, 32, 0, 0, seed=0)
    assert str(error.value).startswith(f"The cached {archive} is damaged ("), str(error.value)


def test_make_prefetch_repairs_a_damaged_cache(tmp_path, served, monkeypatch, capsys):
    # Before: make prefetch found the layout complete and left the 0-byte photo in place.
    from commands import prefetch

    cache = tmp_path / "cache"
    photo = filtered.download_filtered(cache) / "train" / "cats" / "cat.5.jpg"
    photo.write_bytes(b"")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    monkeypatch.setattr(prefetch, "download_weights", lambda base, cache_dir: f"{base}.h5")
    assert prefetch.main([]) == 0
    assert f"{photo}: empty file" in capsys.readouterr().out
    assert data.check_image_file(photo) is None
