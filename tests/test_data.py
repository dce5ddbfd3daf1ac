"""The data sources, bad input, and the pipeline's promises."""

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import data, downloads, pipelines


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


@pytest.mark.parametrize("name", ["scan.TIFF", "scan.jp2"])
def test_a_photo_format_tensorflow_cannot_decode_is_named_with_the_fix(tmp_path, name):
    path = save(Image.new("RGB", (30, 20), (1, 2, 3)), tmp_path / name)
    reason = data.check_image_file(path)
    assert Image.open(path).format in reason and "convert it to JPEG or PNG" in reason, reason


def test_a_phone_format_pillow_cannot_open_is_named_from_its_suffix(tmp_path):
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\0\0\0\x18ftypheic" + bytes(40))
    assert data.check_image_file(tmp_path / "IMG_0001.HEIC").startswith("a HEIC image, which TensorFlow cannot decode")


def test_a_webp_photo_is_used(tmp_path):
    # TensorFlow 2.21's decode_image reads WebP (tests/test_predict.py checks the formats against it).
    path = save(Image.new("RGB", (30, 20), (1, 2, 3)), tmp_path / "photo.webp")
    assert data.check_image_file(path) is None and data.undecodable([path]) == []


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
        ("one_class", "has 1 class (cat); a classifier needs two or more class folders."),
        ("names_alike", "has class folders whose names differ only in case (Cat, cat)"),
    ],
)
def test_bad_folders_get_one_clear_error_naming_them(tmp_path, layout, message):
    folder = tmp_path / "photos"
    if layout == "empty":
        folder.mkdir()
    if layout == "one_class":
        make_folder(folder, names=("cat",))
    if layout == "names_alike":
        make_folder(folder, names=("Cat", "cat", "dog"))
    with pytest.raises(data.DataUnavailable) as error:
        data.load_folder(folder, 0, 0, seed=0)
    assert message in str(error.value) and str(folder) in str(error.value)


def test_a_class_with_only_broken_files_is_an_error(tmp_path):
    folder = make_folder(tmp_path / "photos", names=("cat",))
    (folder / "dog").mkdir()
    (folder / "dog" / "dog.1.jpg").write_bytes(b"")
    with pytest.raises(data.DataUnavailable, match="fewer than two classes"):
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

    monkeypatch.setattr(downloads, "network_available", lambda host: True)
    with tfds.testing.mock_data(num_examples=20):
        course = data.load_tfds(tmp_path, 8, 4)
    assert course.sizes == {"train": 8, "validation": 4, "test": 4}
    image, label = next(iter(course.train))
    assert image.dtype == tf.uint8 and image.shape[-1] == 3 and int(label) in (0, 1)
    assert str(tmp_path / "tensorflow_datasets") in course.description


def test_tfds_offline_without_a_cache_is_one_clear_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "network_available", lambda host: False)
    with pytest.raises(data.DataUnavailable) as error:
        data.load_tfds(tmp_path, 0, 0)
    message = str(error.value)
    assert "no network" in message and "make prefetch" in message and "COURSE_DATA_DIR" in message


def test_a_failing_tfds_download_is_one_clear_sentence(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(downloads, "network_available", lambda host: True)

    def fail(*args, **kwargs):
        raise ConnectionError("simulated: no route to host")

    monkeypatch.setattr(tfds, "load", fail)
    with pytest.raises(data.DataUnavailable, match=r"could not be downloaded \(ConnectionError\)"):
        data.load_tfds(tmp_path, 0, 0)


# ---------------------------------------------------------------- issue 16: layouts, too few, undecodable


def noise_jpeg(path, seed=0, size=(50, 40)):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return save(Image.fromarray(pixels), path)


def coloured(root, split, name, count, color):
    for i in range(count):
        save(Image.new("RGB", (40, 30), color), root / split / name / f"{name}.{i}.jpg")


CATS, DOGS = (250, 0, 10), (10, 0, 250)


def label_read_back(image):
    red, _, blue = np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0)
    return int(blue > red)


def test_a_train_validation_folder_is_read_as_its_two_classes_with_its_splits(tmp_path):
    # cats_and_dogs_filtered's layout: before, "train" and "validation" were taken as the two classes.
    folder = tmp_path / "filtered"
    for split, count in (("train", 10), ("validation", 6)):
        coloured(folder, split, "cats", count, CATS)
        coloured(folder, split, "dogs", count, DOGS)
    course = data.load_folder(folder, 0, 0, seed=0)
    assert course.class_names == ["cats", "dogs"]
    assert course.sizes == {"train": 20, "validation": 6, "test": 6}
    assert "train from train/, validation/ split into validation and test" in course.description
    for split in ("train", "validation", "test"):
        assert all(label_read_back(x) == int(y) for x, y in getattr(course, split)), f"{split}: labels are classes"
    assert sorted(int(y) for _, y in course.validation) == [0, 0, 0, 1, 1, 1]


def test_a_test_folder_beside_train_and_validation_is_the_test_split(tmp_path):
    folder = tmp_path / "splits"
    for split, count in (("train", 7), ("validation", 2), ("test", 3)):
        coloured(folder, split, "cat", count, CATS)
        coloured(folder, split, "dog", count, DOGS)
    course = data.load_folder(folder, 0, 0, seed=0)
    assert course.sizes == {"train": 14, "validation": 4, "test": 6}


UNREADABLE = {
    "kaggle_train_test1": (
        lambda f: (make_folder(f / "train"), make_folder(f / "test1")),
        "split folders (test1, train)",
    ),
    "nested_one_deeper": (lambda f: make_folder(f / "PetImages"), "one level deeper"),
    "split_nested_one_deeper": (
        lambda f: (make_folder(f / "data" / "train"), make_folder(f / "data" / "validation")),
        "one level deeper",
    ),
    "images_beside_classes": (
        lambda f: (make_folder(f), noise_jpeg(f / "stray.jpg")),
        "holds both class folders (cat, dog) and images beside them",
    ),
    "different_classes_per_split": (
        lambda f: (make_folder(f / "train"), make_folder(f / "validation", names=("cats", "dogs"))),
        "do not hold the same class folders",
    ),
    "split_without_class_folders": (
        lambda f: (make_folder(f / "train"), noise_jpeg(f / "validation" / "a.jpg")),
        "validation has 1 class (a)",
    ),
    "images_and_subfolders_in_a_class": (
        lambda f: (make_folder(f), noise_jpeg(f / "cat" / "more" / "x.jpg")),
        "holds both images and subfolders of images",
    ),
}


@pytest.mark.parametrize("layout", sorted(UNREADABLE))
def test_a_layout_that_is_not_two_classes_is_refused_in_one_sentence(tmp_path, layout):
    make, message = UNREADABLE[layout]
    folder = tmp_path / "photos"
    folder.mkdir()
    make(folder)
    with pytest.raises(data.DataUnavailable) as error:
        data.load_folder(folder, 0, 0, seed=0)
    text = str(error.value)
    assert message in text and "\n" not in text, text


def test_a_data_dir_that_is_a_file_is_said_to_be_a_file(tmp_path):
    path = noise_jpeg(tmp_path / "one_photo.jpg")
    with pytest.raises(data.DataUnavailable, match="is a file, not a folder"):
        data.load_folder(path, 0, 0, seed=0)


@pytest.mark.parametrize("per_class", [4, 6])
def test_too_few_images_is_one_sentence(tmp_path, per_class):
    # Before: a TypeError from an empty split, or a bare AssertionError in notebook 05.
    folder = make_folder(tmp_path / "photos", per_class=per_class)
    with pytest.raises(data.DataUnavailable, match="gives too few usable images to train and evaluate"):
        data.load_folder(folder, 0, 0, seed=0)


def test_a_class_too_small_for_three_splits_is_named_with_its_count(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=10)
    make_folder(folder, per_class=2, names=("fox",))
    with pytest.raises(data.DataUnavailable) as error:
        data.load_folder(folder, 0, 0, seed=0)
    assert str(error.value) == (
        f"The image folder {folder} has too few usable images in fox (2): each class needs at least 3, so that "
        "every split holds every class."
    )


def test_a_class_of_unusable_files_only_is_named(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=10, names=("cat", "dog"))
    (folder / "fox").mkdir()
    (folder / "fox" / "notes.txt").write_text("no photos yet")
    with pytest.raises(data.DataUnavailable, match=r"too few usable images in fox \(0\)"):
        data.load_folder(folder, 0, 0, seed=0)


def test_three_classes_are_split_by_class_and_any_cap_keeps_them_all(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=20, names=("daisy", "rose", "tulip"))
    course = data.load_folder(folder, 0, 0, seed=0)
    assert course.class_names == ["daisy", "rose", "tulip"]
    for split in ("train", "validation", "test"):
        labels = [int(label) for _, label in course.__dict__[split]]
        assert (
            sorted(set(labels)) == [0, 1, 2]
            and max(map(labels.count, range(3))) - min(map(labels.count, range(3))) == 0
        )
    assert course.sizes == {"train": 42, "validation": 9, "test": 9}
    capped = data.load_folder(folder, 12, 3, seed=0)
    assert {split: sorted(int(label) for _, label in capped.__dict__[split]) for split in ("validation", "test")} == {
        "validation": [0, 1, 2],
        "test": [0, 1, 2],
    }


def test_an_imbalance_of_more_than_three_to_one_is_named(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=40, names=("cat",))
    make_folder(folder, per_class=13, names=("dog",))
    assert "Imbalanced: cat has 40 images, dog 13" in data.load_folder(folder, 0, 0, seed=0).description
    make_folder(folder, per_class=14, names=("dog",))
    assert "Imbalanced" not in data.load_folder(folder, 0, 0, seed=0).description


def test_hundreds_of_classes_load(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=3, names=[f"class_{i:03d}" for i in range(200)])
    course = data.load_folder(folder, 0, 0, seed=0)
    assert len(course.class_names) == 200 and course.sizes == {"train": 200, "validation": 200, "test": 200}


def test_class_names_with_spaces_and_accents_are_kept(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=6, names=("pâquerette", "red rose", "Löwenzahn"))
    assert data.load_folder(folder, 0, 0, seed=0).class_names == ["Löwenzahn", "pâquerette", "red rose"]


def test_the_smallest_folder_accepted_gives_non_empty_splits(tmp_path):
    folder = make_folder(tmp_path / "photos", per_class=8)  # 16 images
    course = data.load_folder(folder, 0, 0, seed=0)
    assert course.sizes["train"] >= 12 and min(course.sizes.values()) >= 2


def undecodable_jpeg(path):
    """A JPEG whose header and end marker are fine, but whose Huffman table TensorFlow refuses."""
    noise_jpeg(path)
    contents = bytearray(path.read_bytes())
    table = contents.index(b"\xff\xc4")
    contents[table + 5 : table + 21] = b"\xff" * 16
    path.write_bytes(bytes(contents))
    return path


def test_a_jpeg_that_passes_the_header_check_but_fails_to_decode_is_reported_once(tmp_path, capsys):
    # Before: notebook 05 failed on "validation: counted 11" and notebook 06 dropped it silently.
    folder = make_folder(tmp_path / "photos", per_class=10)
    bad = undecodable_jpeg(folder / "dog" / "broken.jpg")
    assert data.check_image_file(bad) is None, "the header check cannot see this damage"
    course = data.load_folder(folder, 0, 0, seed=0)
    report = capsys.readouterr().out
    assert report.count(str(bad)) == 1 and "TensorFlow cannot decode it" in report
    assert course.skipped == [(str(bad), "TensorFlow cannot decode it")]
    for split in ("train", "validation", "test"):
        assert sum(1 for _ in getattr(course, split)) == course.sizes[split], f"{split}: nothing dropped later"


@pytest.mark.parametrize("size", [(40, 30), (100, 100)])  # a DecompressionBombWarning, a DecompressionBombError
def test_a_decompression_bomb_is_reported_and_skipped(tmp_path, monkeypatch, capsys, size):
    folder = make_folder(tmp_path / "photos", per_class=10)  # 50 x 40 px: 2,000 pixels each
    bomb = noise_jpeg(folder / "cat" / "huge.jpg", size=size)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000 if size == (40, 30) else 2500)
    monkeypatch.setattr(data, "check_image_file", lambda p: None if p != bomb else real_check(p))
    assert real_check(bomb).startswith("too large")
    course = data.load_folder(folder, 0, 0, seed=0)
    assert course.skipped == [(str(bomb), real_check(bomb))]
    assert "huge.jpg: too large" in capsys.readouterr().out


real_check = data.check_image_file


def test_a_motion_photo_is_a_valid_jpeg(tmp_path):
    # Phones append a video after the JPEG's end marker: before, the end-marker check, which looked only at the
    # file's last 1,024 bytes, called it a truncated JPEG.
    photo = tmp_path / "PXL_motion.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(photo, quality=90)
    video = b"\0\0\0\x18ftypmp42" + bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8))
    photo.write_bytes(photo.read_bytes() + video.replace(b"\xff", b"\xfe"))
    assert data.check_image_file(photo) is None and data.undecodable([photo]) == []
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(photo.read_bytes()[:2000])
    assert data.check_image_file(cut) == "truncated JPEG", "a JPEG cut short is still refused"


def test_a_progressive_jpeg_with_trailing_data_is_read(tmp_path):
    photo = tmp_path / "progressive.jpg"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
        photo, quality=85, progressive=True
    )
    photo.write_bytes(photo.read_bytes() + b"trailing data " * 100)
    assert data.check_image_file(photo) is None


def test_a_jpeg_xl_is_named_for_what_it_is(tmp_path):
    # TensorFlow 2.21 decodes JPEG XL, but Pillow, which checks every file first, cannot open it.
    (tmp_path / "photo.jxl").write_bytes(b"\xff\x0a" + bytes(40))
    assert data.check_image_file(tmp_path / "photo.jxl").startswith("a JXL image, which the course's file check")
