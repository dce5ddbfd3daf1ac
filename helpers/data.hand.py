"""Data sources (cats_and_dogs_filtered, TFDS, a folder, synthetic), their splits, and the checks that keep
bad files out.

The pipelines that turn these splits into batches are in `helpers/pipelines.py`.
"""

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image, UnidentifiedImageError

from helpers import downloads
from helpers.downloads import (
    OWN_PHOTOS_ADVICE,
    PREFETCH_ADVICE,
    TFDS_NAME,
    DataUnavailable,
    tfds_data_dir,
    tfds_host,
    tfds_missing_message,
    tfds_prepared,
)
from helpers.filtered import (
    FILTERED_CLASSES,
    FILTERED_NAME,
    IMAGE_SUFFIXES,
    download_filtered,
    extract_filtered_again,
    filtered_archive,
    filtered_dir,
    filtered_zip_images,
    zip_damage,
)
from helpers.folders import image_folder_problem
from helpers.sources import CLASS_NAMES

AUTOTUNE = tf.data.AUTOTUNE
FOLDER_FRACTIONS = (0.7, 0.15, 0.15)  # train, validation, test of a folder of images
# What tf.io.decode_image reads in TensorFlow 2.21, named as Pillow names them (tests/test_data.py checks both).
DECODABLE_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "WEBP"}
# Photo formats a phone saves that Pillow cannot open either: named from the file's suffix.
OTHER_IMAGE_SUFFIXES = (".heic", ".heif", ".avif", ".jxl")


@dataclass
class CourseData:
    """Three unbatched datasets of (uint8 RGB image, int label), and what they hold."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    class_names: list
    description: str
    sizes: dict = field(default_factory=dict)  # split name -> number of examples
    skipped: list = field(default_factory=list)  # (path, reason) of files left out


# ---------------------------------------------------------------- synthetic


def synthetic_images(count, image_size, seed, classes=2):
    """`count` striped images and labels: class k has stripes at k/classes of a half turn.

    Two classes: cats (0) have horizontal stripes, dogs (1) vertical ones. Colours, stripe width, phase
    and noise are random, so a model has to learn the orientation. The same seed always gives the same
    images.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=count)
    ramp = np.linspace(0.0, 1.0, image_size, dtype=np.float32)
    images = np.empty((count, image_size, image_size, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        frequency, phase = rng.uniform(3, 8), rng.uniform()
        if classes == 2:
            wave = np.sin(2 * np.pi * (frequency * ramp + phase))
            pattern = np.broadcast_to(wave[:, None] if label == 0 else wave[None, :], (image_size, image_size))
        else:  # the wave runs along the direction at `angle` from the rows' axis
            angle = np.pi * label / classes
            along = np.cos(angle) * ramp[:, None] + np.sin(angle) * ramp[None, :]
            pattern = np.sin(2 * np.pi * (frequency * along + phase))
        light, dark = rng.uniform(120, 255, 3), rng.uniform(0, 110, 3)
        mix = (pattern[..., None] + 1) / 2
        noise = rng.normal(0, 12, (image_size, image_size, 3))
        images[i] = np.clip(dark + mix * (light - dark) + noise, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int64)


def synthetic_class_names(classes):
    """cat and dog for two classes; otherwise the stripes' angle, in degrees: angle_000, angle_060, ..."""
    return list(CLASS_NAMES) if classes == 2 else [f"angle_{round(180 * k / classes):03d}" for k in range(classes)]


def synthetic_label(image, classes=2):
    """The label a synthetic image was drawn for, read back from its stripes (for checks)."""
    gray = np.asarray(image, dtype=np.float32).mean(axis=-1)
    down, across = np.gradient(gray)  # the wave's direction is the gradient's
    direction = 0.5 * np.arctan2(2 * (down * across).sum(), (down**2).sum() - (across**2).sum())
    return int(np.round((direction % np.pi) / (np.pi / classes))) % classes


def load_synthetic(image_size, train_images, eval_images, seed, classes=2):
    """Synthetic train/validation/test splits of `classes` classes (sizes 256/64/64 when given as 0)."""
    counts = {"train": train_images or 256, "validation": eval_images or 64, "test": eval_images or 64}
    splits = {
        name: tf.data.Dataset.from_tensor_slices(synthetic_images(n, image_size, seed + offset, classes))
        for offset, (name, n) in enumerate(counts.items())
    }
    names = synthetic_class_names(classes)
    what = "horizontal = cat, vertical = dog" if classes == 2 else f"{classes} classes, by the stripes' angle"
    return CourseData(
        **splits,
        class_names=names,
        description=f"synthetic stripes ({image_size} px): {what}",
        sizes=counts,
    )


# ---------------------------------------------------------------- folder


def check_image_file(path):
    """Why `path` cannot be used as an image, or None when TensorFlow can decode it to RGB.

    The file's content decides, not its name: a JPEG without an extension is read. Reads only the
    header (and, for JPEG, the last bytes), so checking thousands of files is quick.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        return "empty file"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # too large: refused, not warned
            with Image.open(path) as image:
                image_format = image.format
                if image_format not in DECODABLE_FORMATS:
                    return f"a {image_format} image, which TensorFlow cannot decode: convert it to JPEG or PNG"
                if image_format == "WEBP" and "A" in image.mode:
                    return "a WEBP image with transparency, which TensorFlow cannot decode to RGB: convert it to JPEG"
                if image_format != "JPEG":
                    image.verify()  # walks PNG chunks and checksums, GIF and BMP headers
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"too large (more than {Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels)"
    except UnidentifiedImageError:
        suffix = path.suffix.lower()
        if suffix == ".jxl":  # TensorFlow 2.21 decodes JPEG XL, but Pillow, which checks every file, cannot open it
            return "a JXL image, which the course's file check (Pillow) cannot open: convert it to JPEG or PNG"
        if suffix in OTHER_IMAGE_SUFFIXES:  # HEIC, AVIF: neither Pillow nor TensorFlow reads them
            return f"a {suffix[1:].upper()} image, which TensorFlow cannot decode: convert it to JPEG or PNG"
        if suffix in IMAGE_SUFFIXES:
            return f"not an image, though its name ends in {path.suffix}"
        return "not an image file"
    except (OSError, SyntaxError, ValueError) as error:
        return f"unreadable ({_without_path(str(error), path)})"
    if image_format == "JPEG" and not _jpeg_has_end_marker(path):
        return "truncated JPEG"
    return None


def _without_path(message, path, limit=80):
    """An error message with the file's path taken out (the report names the file), cut at a word."""
    message = " ".join(message.replace(f"'{path}'", "").replace(str(path), "").split()).rstrip(" :.")
    return message if len(message) <= limit else message[:limit].rsplit(" ", 1)[0] + " ..."


def _jpeg_has_end_marker(path):
    """True when the JPEG's own data reaches its end marker (EOI), wherever the file ends.

    Most files end with it, so their last bytes are checked first. A phone's "motion photo" appends a video
    after it: then the JPEG's segments are walked from the start to their end marker.
    """
    with open(path, "rb") as file:
        file.seek(max(0, path.stat().st_size - 1024))
        if b"\xff\xd9" in file.read():
            return True
    return _jpeg_segments_end(path.read_bytes())


def _jpeg_segments_end(data):
    """Walk a JPEG's marker segments and entropy-coded scans; True on reaching its end marker (EOI)."""
    position = 2  # after the start marker (SOI)
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xDA:  # a scan: its data runs to the next marker (0xFF followed by neither 0 nor a restart)
            while True:
                position = data.find(b"\xff", position)
                if position < 0 or position + 1 >= len(data):
                    return False
                following = data[position + 1]
                if following != 0 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
                    break
                position += 1
    return False


def list_labelled_files(folder):
    """(paths, labels, class_names) of a folder of class subfolders, or of `class.N.jpg` files.

    Class subfolders (`cat/`, `dog/`, or PetImages' `Cat/`, `Dog/`) give classes in sorted order; each
    holds its images directly. Without subfolders, Kaggle's flat layout is used: the file-name prefix
    before the first dot. A folder of train/ + validation/ split folders is refused here: see
    `labelled_splits`, which reads both layouts.
    """
    splits, class_names = labelled_splits(folder)
    if "all" not in splits:
        raise DataUnavailable(f"The image folder {folder} holds split folders; read it with labelled_splits.")
    return (*splits["all"], class_names)


SPLIT_NAMES = {"train", "training", "validation", "valid", "val", "test", "testing", "test1", "eval"}
READABLE_SPLITS = [{"train", "validation"}, {"train", "validation", "test"}]
LAYOUTS = (
    "a folder of two or more class folders (cat/ and dog/), of cat.N.jpg and dog.N.jpg files, or of train/ and "
    "validation/ (optionally test/) folders that each hold the same class folders"
)
MIN_CLASS_IMAGES = 3  # a class needs an image in each of the three splits
IMBALANCE = 3  # a class more than 3 times as large as another is named in the data description


def labelled_splits(folder):
    """({split: (paths, labels)}, class_names) of a folder the course can read as two or more classes.

    A folder of class subfolders or of `class.N.jpg` files gives the one split "all"; a folder of
    train/ + validation/ (optionally test/) split folders, each holding the same class subfolders, gives
    those splits. Any other layout (split folders with other names, classes nested one level deeper,
    images beside class folders) raises DataUnavailable with one sentence.
    """
    folder = Path(folder)
    problem = image_folder_problem(folder)
    if problem:
        raise DataUnavailable(problem)
    names = {sub.name for sub in _subfolders(folder)}
    if {name.lower() for name in names} & SPLIT_NAMES:
        if names not in READABLE_SPLITS or _files(folder, images_only=True):
            raise DataUnavailable(
                f"The image folder {folder} holds split folders ({', '.join(sorted(names))}) the course cannot "
                f"read as classes; it reads {LAYOUTS}."
            )
        splits = {
            name: _class_files(folder / name) for name in sorted(names, key=["train", "validation", "test"].index)
        }
        class_sets = {name: sorted(files) for name, files in splits.items()}
        if len({tuple(classes) for classes in class_sets.values()}) != 1:
            listed = "; ".join(f"{name}/ has {', '.join(classes) or 'none'}" for name, classes in class_sets.items())
            raise DataUnavailable(f"The split folders of {folder} do not hold the same class folders ({listed}).")
    else:
        splits = {"all": _class_files(folder)}
    class_names = sorted(next(iter(splits.values())))
    labelled = {}
    for split, files in splits.items():
        paths = [p for name in class_names for p in files[name]]
        labels = [class_names.index(name) for name in class_names for _ in files[name]]
        labelled[split] = (paths, labels)
    return labelled, class_names


def _subfolders(folder):
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder, images_only=False):
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES] if images_only else files


def _class_files(folder):
    """{class name: files} of a folder of two or more class subfolders, or of `class.N.jpg` files."""
    subfolders = _subfolders(folder)
    if subfolders:
        stray = _files(folder, images_only=True)
        if stray:
            raise DataUnavailable(
                f"The image folder {folder} holds both class folders ({', '.join(p.name for p in subfolders)}) "
                f"and images beside them ({stray[0].name}, ...); move those images into a class folder."
            )
        files = {sub.name: _files(sub) for sub in subfolders}
        for sub in subfolders:
            deeper = [inner for inner in _subfolders(sub) if any(p.is_file() for p in inner.rglob("*"))]
            if deeper and files[sub.name]:
                raise DataUnavailable(
                    f"The class folder {sub} holds both images and subfolders of images ({deeper[0].name}/, ...); "
                    "the course reads only the images directly inside each class folder."
                )
            if deeper:
                raise DataUnavailable(
                    f"The image folder {folder} has its images one level deeper than the course reads them "
                    f"({deeper[0]}): set COURSE_DATA_DIR to the folder that holds the class folders"
                    + (f" ({sub})." if len(subfolders) == 1 else ".")
                )
        files = {name: paths for name, paths in files.items() if paths}
    else:
        files = {}
        for path in _files(folder, images_only=True):
            match = re.match(r"([A-Za-z]+)\.", path.name)
            if match:
                files.setdefault(match.group(1).lower(), []).append(path)
    if not files:
        raise DataUnavailable(
            f"The image folder {folder} holds no images (expected class folders, such as cat/ and dog/)."
        )
    if len(files) < 2:
        raise DataUnavailable(
            f"The image folder {folder} has 1 class ({next(iter(files))}); a classifier needs two or more "
            "class folders."
        )
    by_case = {}
    for name in files:
        by_case.setdefault(name.lower(), []).append(name)
    alike = next((names for names in by_case.values() if len(names) > 1), None)
    if alike:
        raise DataUnavailable(
            f"The image folder {folder} has class folders whose names differ only in case ({', '.join(alike)}): "
            "merge them, or rename one (on macOS and Windows they would be one folder)."
        )
    return files


def stratified_split(labels, seed, fractions=FOLDER_FRACTIONS):
    """(train, validation, test) positions of `labels`: each class cut 70/15/15 on its own, with the seed.

    Every split holds every class in proportion; a class of at least three images gives each split one
    or more. Within a split the classes alternate (balanced_order), so any cap keeps them all.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = [[], [], []]
    for label in np.unique(labels):
        positions = rng.permutation(np.flatnonzero(labels == label))
        n_validation = max(1, int(round(len(positions) * fractions[1])))
        n_test = max(1, int(round(len(positions) * fractions[2])))
        n_train = len(positions) - n_validation - n_test
        for part, chosen in zip(parts, np.split(positions, [n_train, n_train + n_validation])):
            part.extend(chosen.tolist())
    return [np.asarray(part, np.int64)[balanced_order(labels[part], seed)] for part in parts]


def decode_image(contents):
    """Decode JPEG, PNG, GIF (first frame) or BMP bytes to a uint8 RGB tensor."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _files_dataset(paths, labels):
    dataset = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels, np.int64)))
    dataset = dataset.map(lambda path, label: (decode_image(tf.io.read_file(path)), label), AUTOTUNE)
    return dataset.ignore_errors()  # last line of defence: a file that changed after the check


MIN_SPLIT_SIZES = {"train": 12, "validation": 2, "test": 2}  # notebook 05 writes 12 training images to a folder


def usable_files(paths, labels):
    """(usable (path, label) pairs, skipped (path, reason) pairs): the header check, then a decode check.

    The decode check runs TensorFlow's own decoder once on every file that passed the header check, so a
    file the pipeline would drop later (a JPEG whose data is damaged after a good header) is left out
    and reported here instead.
    """
    skipped, checked = [], []
    for path, label in zip(paths, labels):
        reason = check_image_file(path)
        if reason:
            skipped.append((str(path), reason))
        else:
            checked.append((path, label))
    failed = set(undecodable([path for path, _ in checked]))
    skipped += [(str(checked[i][0]), "TensorFlow cannot decode it") for i in sorted(failed)]
    return [pair for i, pair in enumerate(checked) if i not in failed], skipped


def undecodable(paths):
    """The positions in `paths` of files tf.io.decode_image cannot decode to an RGB image."""
    if not paths:
        return []
    dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), [str(p) for p in paths]))
    dataset = dataset.map(lambda i, path: (i, tf.shape(decode_image(tf.io.read_file(path)))), AUTOTUNE)
    decoded = {int(i) for i, _ in dataset.ignore_errors().as_numpy_iterator()}
    return [i for i in range(len(paths)) if i not in decoded]


def load_folder(folder, train_images, eval_images, seed):
    """Split a folder of labelled images into train/validation/test, skipping unusable files.

    A folder of class folders is split 70/15/15 with the seed. A folder of train/ + validation/ split
    folders keeps its split: train from train/, validation/ cut into validation and test (pairs of one
    image of each class in turn, as for cats_and_dogs_filtered), or test from test/ when there is one.
    Caps (`train_images`, `eval_images`, 0: none) take a seeded sample.
    """
    labelled, class_names = labelled_splits(folder)
    usable, skipped, total = {}, [], 0
    for split, (paths, labels) in labelled.items():
        usable[split], left_out = usable_files(paths, labels)
        skipped += left_out
        total += len(paths)
    counts = {split: np.bincount(_labels(pairs), minlength=len(class_names)) for split, pairs in usable.items()}
    _check_class_sizes(folder, class_names, counts, skipped, total)
    limits = {"train": train_images, "validation": eval_images, "test": eval_images}
    if "all" in usable:
        chosen = {
            split: [usable["all"][i] for i in indices]
            for split, indices in zip(limits, stratified_split(_labels(usable["all"]), seed))
        }
        layout = "each class split 70/15/15 with the seed"
    else:
        chosen = {"train": [usable["train"][i] for i in balanced_order(_labels(usable["train"]), seed)]}
        if "test" in usable:
            for split in ("validation", "test"):
                chosen[split] = [usable[split][i] for i in balanced_order(_labels(usable[split]), seed)]
            layout = "train/, validation/ and test/ folders used as they are"
        else:
            order = balanced_order(_labels(usable["validation"]), seed)
            rounds = (np.arange(len(order)) // len(class_names)) % 2  # one image of each class per round
            for half, split in enumerate(("validation", "test")):
                chosen[split] = [usable["validation"][i] for i in order[rounds == half]]
            layout = "train/ and validation/ folders: train from train/, validation/ split into validation and test"
    chosen = {split: pairs[: limits[split]] if limits[split] else pairs for split, pairs in chosen.items()}
    sizes = {split: len(pairs) for split, pairs in chosen.items()}
    if any(sizes[split] < least for split, least in MIN_SPLIT_SIZES.items()):
        report_skipped(skipped, total)
        raise DataUnavailable(
            f"The image folder {folder} gives too few usable images to train and evaluate "
            f"({', '.join(f'{split} {n}' for split, n in sizes.items())}); the course needs at least "
            f"{', '.join(f'{n} for {split}' for split, n in MIN_SPLIT_SIZES.items())}."
        )
    per_class = sum(counts.values())
    description = (
        f"folder {folder} ({int(per_class.sum()):,} usable images in {len(class_names)} classes; {layout}; "
        "the images directly inside each class folder)"
    )
    data = CourseData(
        **{split: _files_dataset(*zip(*pairs)) for split, pairs in chosen.items()},
        class_names=class_names,
        description=description + imbalance_note(class_names, per_class),
        sizes=sizes,
        skipped=skipped,
    )
    report_skipped(data.skipped, total)
    return data


def _check_class_sizes(folder, class_names, counts, skipped, total):
    """DataUnavailable naming each class with too few usable images for the splits it must fill."""
    per_class = sum(counts.values())
    if (per_class > 0).sum() < 2:
        report_skipped(skipped, total)
        raise DataUnavailable(f"The image folder {folder} has fewer than two classes with readable images.")
    least = MIN_CLASS_IMAGES if "all" in counts else 2  # a validation/ folder is cut in two
    pool = counts.get("all", counts.get("validation") if "test" not in counts else None)
    short = [(name, int(n)) for name, n in zip(class_names, pool)] if pool is not None else []
    short = [(name, n) for name, n in short if n < least]
    if short:
        report_skipped(skipped, total)
        where = "" if "all" in counts else " in validation/"
        listed = ", ".join(f"{name} ({n})" for name, n in short)
        raise DataUnavailable(
            f"The image folder {folder} has too few usable images{where} in {listed}: each class needs at least "
            f"{least}, so that every split holds every class."
        )


def imbalance_note(class_names, per_class):
    """A sentence when the largest class is more than IMBALANCE times the smallest, else ''."""
    largest, smallest = int(np.argmax(per_class)), int(np.argmin(per_class))
    if per_class[largest] <= IMBALANCE * per_class[smallest]:
        return ""
    return (
        f". Imbalanced: {class_names[largest]} has {per_class[largest]:,} images, {class_names[smallest]} "
        f"{per_class[smallest]:,}; the splits keep these proportions unless a cap shortens them (a capped split "
        "alternates the classes), and accuracy counts every image alike: "
        "notebook 06 shows the recall of each class, notebook 12 what class weights change"
    )


def _labels(pairs):
    return [label for _, label in pairs]


def report_skipped(skipped, total):
    """Print, once, how many files were left out and why, with up to five examples."""
    if not skipped:
        return
    print(f"Skipped {len(skipped):,} of {total:,} files that are not usable images, for example:")
    for path, reason in skipped[:5]:
        print(f"  {path}: {reason}")


# ---------------------------------------------------------------- cats_and_dogs_filtered (quick profile)


def balanced_order(labels, seed):
    """Positions of `labels` in a seeded order that alternates the classes: cat, dog, cat, dog, ...

    Each class is shuffled with the seed; when one class runs out the other's rest follows. So while both
    classes last, every pair (positions 2k, 2k + 1) holds one image of each, and any prefix of two or more
    holds both classes.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == label)) for label in np.unique(labels)]
    order = []
    for rank in range(max(len(positions) for positions in per_class)):
        order.extend(int(positions[rank]) for positions in per_class if rank < len(positions))
    return np.asarray(order, dtype=np.int64)


def _directory_images(folder, image_size):
    """image_dataset_from_directory in file order (cats, then dogs): never reshuffled between iterations."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        folder, image_size=(image_size, image_size), batch_size=None, shuffle=False, verbose=False
    )
    assert dataset.class_names == list(FILTERED_CLASSES), f"{folder} holds classes {dataset.class_names}"
    # image_dataset_from_directory sorts the class folders: cats is label 0 and dogs 1, as cat and dog in TFDS
    labels = [dataset.class_names.index(Path(path).parent.name) for path in dataset.file_paths]
    return dataset, labels


def _select(dataset, count, positions):
    """The elements of `dataset` at `positions` (in the dataset's own order), as uint8 images and int64 labels."""
    keep = np.zeros(count, dtype=bool)
    keep[positions] = True
    keep = tf.constant(keep)
    dataset = dataset.enumerate().filter(lambda i, example: keep[i])
    return dataset.map(
        lambda i, example: (tf.cast(tf.round(example[0]), tf.uint8), tf.cast(example[1], tf.int64)), AUTOTUNE
    )


CHECKED_STAMP = ".course-checked"  # in the extracted folder: what the photos were when last checked


def filtered_photos(cache_dir):
    """The extracted cats_and_dogs_filtered folder, every photo checked as a folder's photos are.

    Damaged photos (a 0-byte or truncated JPEG, one TensorFlow cannot decode) and photos the cached zip holds
    but the folder lacks (a half-finished extraction) are repaired by extracting the zip again, with a
    sentence saying what was wrong; without a sound zip, DataUnavailable says what is damaged and what to
    do. A stamp of the files' count, sizes and times skips the check while nothing has changed.
    """
    folder = download_filtered(cache_dir)
    problems = filtered_damage(cache_dir)
    if not problems:
        return folder
    summary = f"{len(problems)} {'was' if len(problems) == 1 else 'were'} damaged or missing, for example " + (
        "; ".join(f"{path}: {reason}" for path, reason in problems[:3])
    )
    archive = filtered_archive(cache_dir)
    if not archive.is_file():
        raise DataUnavailable(
            f"Of the {FILTERED_NAME} photos in {folder}, {summary}, and {archive} is not there to repair them. "
            f"Delete {folder.parent}, then {PREFETCH_ADVICE} (or {OWN_PHOTOS_ADVICE})."
        )
    extract_filtered_again(cache_dir)  # raises a sentence when the zip is damaged too
    still = filtered_damage(cache_dir)
    if still:
        raise DataUnavailable(
            f"{len(still)} of the {FILTERED_NAME} photos in {archive} are damaged ({still[0][0]}: {still[0][1]}). "
            f"Delete it and the extracted folder beside it, then {PREFETCH_ADVICE}."
        )
    print(f"Repaired the {FILTERED_NAME} photos in {folder}: {summary}. They were extracted again from {archive}.")
    return folder


def filtered_damage(cache_dir):
    """[(path, reason)] of the extracted cats_and_dogs_filtered photos that are damaged or missing."""
    folder = filtered_dir(cache_dir)
    paths = sorted(p for p in folder.glob("*/*/*") if p.is_file() and p.parent.parent.name in ("train", "validation"))
    stamp, signature = folder / CHECKED_STAMP, _signature(paths)
    if stamp.is_file() and stamp.read_text() == signature:
        return []
    problems = usable_files(paths, [0] * len(paths))[1]
    archive = filtered_archive(cache_dir)
    if archive.is_file() and not zip_damage(archive):
        on_disk = {p.relative_to(folder) for p in paths}
        problems += [(str(folder / name), "missing") for name in sorted(filtered_zip_images(archive) - on_disk)]
    if not problems:
        try:
            stamp.write_text(signature)
        except OSError:  # a read-only cache: checked again next time
            pass
    return problems


def _signature(paths):
    stats = [path.stat() for path in paths]
    return f"{len(stats)} files, {sum(s.st_size for s in stats)} bytes, newest {max((s.st_mtime_ns for s in stats), default=0)}"


def load_filtered(cache_dir, image_size, train_images, eval_images, seed):
    """TensorFlow's cats_and_dogs_filtered photos: downloaded (about 68 MB) or read from the cache.

    train is the archive's train/ folder; its validation/ folder is split in two, validation and test.
    The seed picks which images (balanced between cats and dogs) when `train_images` or `eval_images`
    caps a split (0: no cap) and which half of validation/ goes to each split; the same seed always picks
    the same images, and no image is in two splits. Images are read by image_dataset_from_directory
    (bilinear resize to `image_size`) and come in file order, cats first: the course's pipeline shuffles.
    """
    folder = filtered_photos(cache_dir)
    train, train_labels = _directory_images(folder / "train", image_size)
    pool, pool_labels = _directory_images(folder / "validation", image_size)
    order = balanced_order(train_labels, seed)
    chosen = {"train": order[:train_images] if train_images else order}
    order = balanced_order(pool_labels, seed)
    halves = (np.arange(len(order)) // 2) % 2  # pairs (one cat, one dog) go to validation and test in turn
    for half, name in enumerate(("validation", "test")):
        positions = order[halves == half]
        chosen[name] = positions[:eval_images] if eval_images else positions
    sources = {"train": (train, len(train_labels)), "validation": (pool, len(pool_labels))}
    sources["test"] = sources["validation"]
    splits = {name: _select(*sources[name], chosen[name]) for name in chosen}
    counts = f"{len(train_labels):,} train and {len(pool_labels):,} validation images"
    return CourseData(
        **splits,
        class_names=list(CLASS_NAMES),
        description=f"{FILTERED_NAME} from {folder} ({counts}; validation/ split into validation and test)",
        sizes={name: len(positions) for name, positions in chosen.items()},
    )


# ---------------------------------------------------------------- TFDS (full profile)


# ---- Generated by make sync from the notebooks: edit the notebook, not these lines. ----
# ---- End of generated code. ----


def load_tfds(cache_dir, train_images, eval_images):
    """The guide's split of TFDS cats_vs_dogs; `train_images`/`eval_images` > 0 take a smaller slice.

    Fails in seconds with one sentence when the data is neither prepared nor downloadable.
    """
    data_dir = tfds_data_dir(cache_dir)
    if not tfds_prepared(cache_dir) and not downloads.network_available(tfds_host()):  # fail in seconds, not minutes
        raise DataUnavailable(tfds_missing_message(data_dir, f"no network to {tfds_host()}"))
    try:
        splits = load_guide_split(str(data_dir))
    except Exception as error:  # TFDS raises many kinds of errors when a download fails
        raise DataUnavailable(tfds_missing_message(data_dir, type(error).__name__)) from None
    limits = [train_images, eval_images, eval_images]
    splits = [ds.take(limit) if limit else ds for ds, limit in zip(splits, limits)]
    sizes = dict(zip(["train", "validation", "test"], (int(ds.cardinality()) for ds in splits)))
    return CourseData(
        *splits,
        class_names=list(CLASS_NAMES),
        description=f"TFDS {TFDS_NAME} from {data_dir}",
        sizes=sizes,
    )


def load_data(settings):
    """The train/validation/test data the settings ask for: their source's loader (helpers/sources/)."""
    return settings.source.load(settings)
