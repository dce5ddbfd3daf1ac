"""The quick profile's photos, TensorFlow's cats_and_dogs_filtered.zip: download, extract, layout check, cache.

About 68 MB: cats_and_dogs_filtered/train/{cats,dogs} (1,000 JPEGs each) and .../validation/{cats,dogs}
(500 each). No hash is published for this zip, so the layout check after extraction (filtered_layout) is
its integrity check. Tests point FILTERED_URL, or download_filtered's `origin`, at a file:// URL. The loader
that reads the photos (and checks every one) is helpers.data.load_filtered; nothing here imports TensorFlow.
"""

import zipfile
import zlib
from pathlib import Path

from helpers import downloads
from helpers.downloads import (
    OWN_PHOTOS_ADVICE,
    PREFETCH_ADVICE,
    DataUnavailable,
    data_missing_message,
    download_status,
    keras_cache_dir,
    url_host,
    writable_folder,
)

FILTERED_NAME = "cats_and_dogs_filtered"
FILTERED_URL = "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip"
FILTERED_SPLITS = ("train", "validation")
# The zip's class folders. Sorted, as image_dataset_from_directory sorts them: cats is label 0 and dogs 1, as cat and
# dog are in TFDS cats_vs_dogs (helpers.sources.CLASS_NAMES; helpers.data.load_filtered checks it).
FILTERED_CLASSES = ("cats", "dogs")
# What image_dataset_from_directory reads; helpers.data's file checks accept the same.
# Image files by their name: what tf.io.decode_image reads that Pillow opens (image_dataset_from_directory
# skips .webp).
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")


def filtered_host(origin=None):
    """The host cats_and_dogs_filtered.zip is downloaded from (None for a file:// origin)."""
    return url_host(origin or FILTERED_URL)


def filtered_archive(cache_dir):
    """Where keras.utils.get_file keeps the downloaded cats_and_dogs_filtered.zip in the course cache."""
    return keras_cache_dir(cache_dir) / "datasets" / f"{FILTERED_NAME}.zip"


def filtered_dir(cache_dir):
    """The extracted cats_and_dogs_filtered folder (train/ and validation/) in the course cache.

    keras.utils.get_file(fname="cats_and_dogs_filtered.zip", extract=True) extracts into
    `<cache_dir>/keras/datasets/cats_and_dogs_filtered_extracted/`; the zip holds one top folder.
    """
    return keras_cache_dir(cache_dir) / "datasets" / f"{FILTERED_NAME}_extracted" / FILTERED_NAME


def filtered_layout(folder):
    """{split: {class: number of images}} of an extracted cats_and_dogs_filtered folder.

    Raises DataUnavailable with one sentence naming every class folder that is missing or holds no
    images. Other counts than the published 1,000 / 500 per class are accepted (a local test archive).
    """
    folder = Path(folder)
    counts, problems = {}, []
    for split in FILTERED_SPLITS:
        counts[split] = {}
        for name in FILTERED_CLASSES:
            class_dir = folder / split / name
            if not class_dir.is_dir():
                problems.append(f"{class_dir} is missing")
                continue
            images = [p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
            counts[split][name] = len(images)
            if not images:
                problems.append(f"{class_dir} holds no images")
    if problems:
        raise DataUnavailable(filtered_layout_message(folder, problems))
    return counts


def filtered_prepared(cache_dir):
    """True when the extracted cats_and_dogs_filtered photos in the cache pass the layout check."""
    try:
        filtered_layout(filtered_dir(cache_dir))
    except DataUnavailable:
        return False
    return True


def download_filtered(cache_dir, origin=None):
    """The extracted cats_and_dogs_filtered folder, downloaded and extracted by Keras if not cached.

    Offline with the photos in the cache, nothing is probed or downloaded. With only the zip in the cache,
    Keras extracts it again without the network. Otherwise the host is probed first, so offline fails in
    seconds with one sentence (DataUnavailable); a download that fails, or an archive without the
    expected class folders, is one sentence too.
    """
    folder = filtered_dir(cache_dir)
    if filtered_prepared(cache_dir):
        return folder
    origin = origin or FILTERED_URL
    host = filtered_host(origin)
    archive = filtered_archive(cache_dir)
    damage = zip_damage(archive) if archive.is_file() else None
    if damage and host and not downloads.network_available(host):
        raise DataUnavailable(damaged_zip_message(archive, damage))
    if damage:
        archive.unlink()  # downloaded again below
    if not archive.is_file() and host and not downloads.network_available(host):  # a file:// origin needs no network
        raise DataUnavailable(filtered_missing_message(cache_dir, f"no network to {host}"))
    if not writable_folder(archive.parent):
        raise DataUnavailable(filtered_missing_message(cache_dir, f"{archive.parent} is not writable"))
    import keras

    try:
        keras.utils.get_file(
            archive.name,
            origin,
            extract=True,
            cache_subdir="datasets",
            cache_dir=str(keras_cache_dir(cache_dir)),
        )
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:  # downloaded, but damaged
        raise DataUnavailable(damaged_zip_message(archive, f"{type(error).__name__}: {error}")) from None
    except Exception as error:  # get_file raises plain Exception for network failures
        raise DataUnavailable(filtered_missing_message(cache_dir, type(error).__name__)) from None
    damage = zip_damage(archive)  # get_file only warns when it cannot read the archive at all
    if damage:
        raise DataUnavailable(damaged_zip_message(archive, damage))
    filtered_layout(folder)  # the archive's integrity check: raises a sentence naming what is missing
    return folder


def zip_damage(archive):
    """Why `archive` is not a sound zip (no central directory, a member that fails its CRC), or None.

    Reads the whole archive once (about a second for cats_and_dogs_filtered.zip).
    """
    if not zipfile.is_zipfile(archive):
        return "it is not a readable zip file (truncated or overwritten)"
    try:
        with zipfile.ZipFile(archive) as opened:
            bad = opened.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    return f"{bad} fails its CRC check" if bad else None


def filtered_zip_images(archive):
    """The photos cats_and_dogs_filtered.zip holds, as paths relative to the extracted folder."""
    with zipfile.ZipFile(archive) as opened:
        names = [Path(name) for name in opened.namelist() if not name.endswith("/")]
    return {
        name.relative_to(FILTERED_NAME)
        for name in names
        if name.parts[0] == FILTERED_NAME
        and len(name.parts) == 4
        and name.parts[1] in FILTERED_SPLITS
        and name.suffix.lower() in IMAGE_SUFFIXES
    }


def extract_filtered_again(cache_dir):
    """Extract the cached cats_and_dogs_filtered.zip again over the extracted folder (as get_file does).

    Raises DataUnavailable with one sentence when the zip is missing or damaged.
    """
    archive = filtered_archive(cache_dir)
    damage = zip_damage(archive) if archive.is_file() else "it is not in the cache"
    if damage:
        raise DataUnavailable(damaged_zip_message(archive, damage))
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(filtered_dir(cache_dir).parent)


def damaged_zip_message(archive, reason):
    """The sentence for a cached zip that is damaged."""
    return f"The cached {archive} is damaged ({reason}). Delete it, then {PREFETCH_ADVICE} (or {OWN_PHOTOS_ADVICE})."


def filtered_missing_message(cache_dir, reason):
    """The sentence for photos that are not cached and could not be downloaded (`reason`)."""
    return data_missing_message(f"The {FILTERED_NAME} photos are not in {filtered_dir(cache_dir)}", reason)


def filtered_layout_message(folder, problems):
    """The sentence for an extracted folder that lacks class folders or images."""
    datasets = folder.parent.parent
    return (
        f"The {FILTERED_NAME} photos in {folder} are incomplete: {'; '.join(problems)}. Delete "
        f"{datasets / (FILTERED_NAME + '.zip')} and {folder.parent}, then {PREFETCH_ADVICE} (or {OWN_PHOTOS_ADVICE})."
    )


def filtered_status(cache_dir):
    """(where the photos come from, whether they can be had, what to do if not). Probes only when needed."""
    where = str(filtered_dir(cache_dir))
    if filtered_prepared(cache_dir):
        return f"{where} (cached)", True, ""
    if filtered_archive(cache_dir).is_file():
        return f"{where} (extracted from the cached {FILTERED_NAME}.zip on first use)", True, ""
    host = filtered_host()
    if not host:
        return f"{where} (copied from {FILTERED_URL} on first use)", True, ""
    return download_status(where, host, "68 MB")
