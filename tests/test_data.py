"""The data sources, bad input, and the pipeline's promises."""

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import data, pipelines


def jpeg_bytes(color=(200, 100, 50), size=(40, 30), mode="RGB"):
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode != "L" else 128).save(buffer, "JPEG")
    return buffer.getvalue()


def save(image, path, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def make_folder(root, per_class=6, names=("cat", "dog")):
    for name in names:
        for i in range(per_class):
            save(Image.new("RGB", (50, 40), (i * 30, 80, 160)), root / name / f"{name}.{i}.jpg")
    return root


# ---------------------------------------------------------------- every bad-input case


BAD_FILES = {
    "truncated.jpg": lambda: jpeg_bytes()[:200],
    "empty.jpg": lambda: b"",
    "Thumbs.db": lambda: b"\xd0\xcf\x11\xe0" + b"\0" * 100,
    "notes.txt": lambda: b"a note",
    "text_named.jpg": lambda: b"this is not a jpeg",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unusable_files_are_refused_with_a_reason(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name]())
    assert data.check_image_file(path)


GOOD_IMAGES = {
    "photo.png": lambda p: save(Image.new("RGB", (30, 20), (1, 2, 3)), p),
    "animation.gif": lambda p: save(Image.new("P", (30, 20)), p),
    "bitmap.bmp": lambda p: save(Image.new("RGB", (30, 20), (9, 9, 9)), p),
    "gray.jpg": lambda p: save(Image.new("L", (30, 20), 90), p),
    "cmyk.jpg": lambda p: save(Image.new("CMYK", (30, 20), (10, 20, 30, 0)), p),
    "alpha.png": lambda p: save(Image.new("RGBA", (30, 20), (1, 2, 3, 4)), p),
}


@pytest.mark.parametrize("name", sorted(GOOD_IMAGES))
def test_odd_but_valid_images_decode_to_rgb(tmp_path, name):
    path = GOOD_IMAGES[name](tmp_path / name)
    assert data.check_image_file(path) is None
    image = data.decode_image(tf.io.read_file(str(path)))
    assert image.shape == (20, 30, 3) and image.dtype == tf.uint8


def test_a_folder_with_every_kind_of_file_trains_without_crashing(tmp_path, capsys):
    folder = make_folder(tmp_path / "photos")
    for name, make in BAD_FILES.items():
        (folder / "cat" / name).write_bytes(make())
    for name, make in GOOD_IMAGES.items():
        make(folder / "dog" / name)
    course = data.load_folder(folder, 0, 0, seed=1)
    report = capsys.readouterr().out
    assert f"Skipped {len(BAD_FILES)} of {12 + len(BAD_FILES) + len(GOOD_IMAGES)} files" in report
    assert report.count("\n  ") == 5  # at most five examples
    assert sum(course.sizes.values()) == 12 + len(GOOD_IMAGES)
    for name in ("train", "validation", "test"):
        batches = pipelines.pipeline(getattr(course, name), 32, 4, training=True)
        assert sum(int(x.shape[0]) for x, _ in batches) == course.sizes[name]


def test_a_file_that_breaks_after_the_check_is_dropped_not_fatal(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=10)
    course = data.load_folder(folder, 0, 0, seed=0)
    for path in (folder / "cat").glob("*.jpg"):
        path.write_bytes(b"broken after the check")
    seen = sum(1 for _ in course.train)
    assert 0 < seen < course.sizes["train"]


# ---------------------------------------------------------------- folder layouts and errors


def test_class_subfolders_give_sorted_classes_and_a_seeded_split(tmp_path):
    folder = make_folder(tmp_path / "PetImages", per_class=20, names=("Dog", "Cat"))
    first = data.load_folder(folder, 0, 0, seed=3)
    again = data.load_folder(folder, 0, 0, seed=3)
    assert first.class_names == ["Cat", "Dog"]
    assert first.sizes == {"train": 28, "validation": 6, "test": 6}

    def labels(course):
        return [int(y) for _, y in course.test]

    assert labels(first) == labels(again)


def test_kaggle_flat_layout_is_labelled_by_file_name(tmp_path):
    for i in range(4):
        for name in ("cat", "dog"):
            save(Image.new("RGB", (20, 20), (i, 0, 0)), tmp_path / f"{name}.{i}.jpg")
    paths, labels, names = data.list_labelled_files(tmp_path)
    assert names == ["cat", "dog"]
    assert all(Path(p).name.startswith(names[label]) for p, label in zip(paths, labels))


@pytest.mark.parametrize(
    "layout, message",
    [
        ("missing", "does not exist"),
        ("empty", "holds no images"),
        ("one_class", "has 1 class(es) (cat)"),
        ("three_classes", "has 3 class(es)"),
    ],
)
def test_bad_folders_get_one_clear_error_naming_them(tmp_path, layout, message):
    folder = tmp_path / "photos"
    if layout == "empty":
        folder.mkdir()
    if layout == "one_class":
        make_folder(folder, names=("cat",))
    if layout == "three_classes":
        make_folder(folder, names=("cat", "dog", "fox"))
    with pytest.raises(data.DataError) as error:
        data.load_folder(folder, 0, 0, seed=0)
    assert message in str(error.value) and str(folder) in str(error.value)


def test_a_class_with_only_broken_files_is_an_error(tmp_path):
    folder = make_folder(tmp_path / "photos", names=("cat",))
    (folder / "dog").mkdir()
    (folder / "dog" / "dog.1.jpg").write_bytes(b"")
    with pytest.raises(data.DataError, match="fewer than two classes"):
        data.load_folder(folder, 0, 0, seed=0)


# ---------------------------------------------------------------- synthetic source and pipeline


def test_synthetic_images_are_deterministic_and_learnable_by_rule():
    images, labels = data.synthetic_images(40, 48, seed=5)
    again, _ = data.synthetic_images(40, 48, seed=5)
    assert images.dtype == np.uint8 and images.shape == (40, 48, 48, 3) and np.array_equal(images, again)
    assert {0, 1} == set(labels.tolist())
    assert [data.synthetic_label(image) for image in images] == labels.tolist()


# ---------------------------------------------------------------- TFDS, offline


def test_tfds_source_uses_the_guides_split_and_the_cache_dir(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(data, "network_available", lambda host: True)
    with tfds.testing.mock_data(num_examples=20):
        course = data.load_tfds(tmp_path, 8, 4)
    assert course.sizes == {"train": 8, "validation": 4, "test": 4}
    image, label = next(iter(course.train))
    assert image.dtype == tf.uint8 and image.shape[-1] == 3 and int(label) in (0, 1)
    assert str(tmp_path / "tensorflow_datasets") in course.description


def test_tfds_offline_without_a_cache_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "network_available", lambda host: False)
    with pytest.raises(data.DataUnavailable) as error:
        data.load_tfds(tmp_path, 0, 0)
    message = str(error.value)
    assert "no network" in message and "make prefetch" in message and "COURSE_DATA_DIR" in message


def test_a_failing_tfds_download_is_one_clear_sentence(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(data, "network_available", lambda host: True)

    def fail(*args, **kwargs):
        raise ConnectionError("simulated: no route to host")

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(data.DataUnavailable, match=r"could not be downloaded \(ConnectionError\)"):
        data.load_tfds(tmp_path, 0, 0)
