"""Where the course's data and weights come from, and whether they can be had right now.

The hosts that downloads really use and a probe for them, the Keras weight files (download, hash check,
cache), the quick profile's photos (TensorFlow's cats_and_dogs_filtered.zip: download, extract, layout
check, cache), whether TFDS cats_vs_dogs (the full profile's) is prepared in the cache, the one-sentence
messages when something is missing, notebook 00's availability table and `make run`'s offline fallback.
Nothing here imports TensorFlow: `make run` asks these questions before any notebook starts.
"""

import hashlib
import os
import socket
import sys
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlparse

TFDS_NAME = "cats_vs_dogs"
FILTERED_NAME = "cats_and_dogs_filtered"
# The TensorFlow transfer-learning tutorial's photos, about 68 MB: cats_and_dogs_filtered/train/{cats,dogs}
# (1,000 JPEGs each) and cats_and_dogs_filtered/validation/{cats,dogs} (500 each). No hash is published
# for this zip, so the layout check after extraction (filtered_layout) is its integrity check. Tests
# point FILTERED_URL, or download_filtered's `origin`, at a file:// URL.
FILTERED_URL = "https://download.mlcc.google.com/mledu-datasets/cats_and_dogs_filtered.zip"
FILTERED_SPLITS = ("train", "validation")
FILTERED_CLASSES = ("cats", "dogs")  # sorted, so image_dataset_from_directory labels cat 0 and dog 1
FILTERED_IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
OFFLINE_ADVICE = "Not cached and no network: run `make prefetch` on a connected machine, copy cache/."

_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"

# Where keras.applications downloads each base's ImageNet weights (include_top=False), and the hash
# to check. Xception's md5 is Keras's own. Keras pins no hash for MobileNetV2; this sha256 is the file's
# (see shared/weights/SOURCE.md), so a changed or corrupted download is refused.
WEIGHT_FILES = {
    "xception": dict(
        fname="xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        origin=_KERAS_APPS + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        file_hash="b0042744bf5b25fce3cb969f33bebb97",
    ),
    "mobilenet_v2_0.35": dict(
        fname="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
        origin=_KERAS_APPS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
        file_hash="df1c3db1d0d9193719c4c70f707c56f7021f999f825bdc57454c275cf6def19f",
    ),
}


class DataUnavailable(RuntimeError):
    """The data asked for is neither cached nor downloadable."""


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


# ---------------------------------------------------------------- network


def network_available(host, port=443, timeout=3.0):
    """True when a TCP connection to `host` opens within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tfds_host():
    """The host TFDS downloads cats_vs_dogs from, read from TFDS's own builder (its `_URL`)."""
    import tensorflow_datasets as tfds  # does not import TensorFlow

    module = sys.modules[tfds.builder_cls(TFDS_NAME).__module__]
    return urlparse(module._URL).hostname


def filtered_host(origin=None):
    """The host cats_and_dogs_filtered.zip is downloaded from (None for a file:// origin)."""
    return urlparse(origin or FILTERED_URL).hostname


def data_host(settings):
    """The host the settings' data is downloaded from, or None when it needs no download."""
    return {"tfds": tfds_host, "filtered": filtered_host}.get(settings.data_source, lambda: None)()


def weights_host(base_model):
    """The host Keras downloads the ImageNet weights of `base_model` from."""
    return urlparse(_weight_file(base_model)["origin"]).hostname


# ---------------------------------------------------------------- Keras weights


def keras_cache_dir(cache_dir):
    """The folder that holds Keras weight files inside the course cache (Keras's own layout)."""
    return Path(cache_dir) / "keras"


def _weight_file(base_model):
    if base_model not in WEIGHT_FILES:
        raise WeightsUnavailable(
            f"The course knows no ImageNet weights file for {base_model}; use one of: {', '.join(WEIGHT_FILES)}."
        )
    return WEIGHT_FILES[base_model]


def file_hash_matches(path, file_hash):
    """True when the file's sha256 (64 hex digits) or md5 (32) is `file_hash`, as keras.utils.get_file checks."""
    hasher = hashlib.sha256() if len(file_hash) == 64 else hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == file_hash


def cached_weights_file(base_model, cache_dir):
    """The cached ImageNet weights file of `base_model`, or None when it is missing or fails its hash."""
    spec = _weight_file(base_model)
    path = keras_cache_dir(cache_dir) / "models" / spec["fname"]
    return path if path.is_file() and file_hash_matches(path, spec["file_hash"]) else None


def corrupt_weights_file(base_model, cache_dir):
    """(path, what is wrong) when the cached ImageNet weights file of `base_model` exists but fails its hash."""
    spec = _weight_file(base_model)
    path = keras_cache_dir(cache_dir) / "models" / spec["fname"]
    if not path.is_file() or file_hash_matches(path, spec["file_hash"]):
        return None
    algorithm = "sha256" if len(spec["file_hash"]) == 64 else "md5"
    return path, f"{path.stat().st_size:,} bytes whose {algorithm} hash is not the file's"


def _corrupt_weights_message(base_model, corrupt):
    path, reason = corrupt
    return (
        f"The cached ImageNet weights file {path} for {base_model} is corrupt ({reason}). Delete it, then run "
        "`make prefetch` on a connected machine and copy the cache folder here, point COURSE_WEIGHTS at a good "
        "weights file, or set COURSE_WEIGHTS=none."
    )


def _writable_folder(folder):
    """Create `folder` if needed; True when files can be written there.

    Asked before every get_file: it quietly writes to /tmp/.keras when the folder it is given is
    missing or read-only.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def download_weights(base_model, cache_dir):
    """Return the ImageNet weights file of `base_model`, downloading it (hash checked) if not cached."""
    cached = cached_weights_file(base_model, cache_dir)
    if cached:
        return cached
    spec = _weight_file(base_model)
    host = weights_host(base_model)
    if host and not network_available(host):  # fail in seconds; a file:// origin needs no network
        corrupt = corrupt_weights_file(base_model, cache_dir)
        if corrupt:
            raise WeightsUnavailable(_corrupt_weights_message(base_model, corrupt))
        raise WeightsUnavailable(_weights_missing_message(base_model, cache_dir, f"no network to {host}"))
    import keras

    target = keras_cache_dir(cache_dir) / "models" / spec["fname"]
    if not _writable_folder(target.parent):
        raise WeightsUnavailable(_weights_missing_message(base_model, cache_dir, f"{target.parent} is not writable"))
    try:
        path = keras.utils.get_file(
            spec["fname"],
            spec["origin"],
            file_hash=spec["file_hash"],
            cache_subdir="models",
            cache_dir=str(keras_cache_dir(cache_dir)),
        )
    except ValueError as error:  # get_file raises ValueError when the hash does not match
        target.unlink(missing_ok=True)  # Keras leaves the refused file in place
        reason = "its hash does not match" if "hash" in str(error) else type(error).__name__
        raise WeightsUnavailable(_weights_missing_message(base_model, cache_dir, reason)) from None
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
    """What to pass as `weights=` to keras.applications: None, or the path of a weights file.

    A weights file of the user's (COURSE_WEIGHTS=path) is checked first: one that Keras could not load
    into the base raises WeightsUnavailable with one sentence naming the file and the base.
    """
    if settings.weights == "none":
        return None
    if settings.weights == "imagenet":
        return str(download_weights(settings.base_model, settings.cache_dir))
    problem = weights_file_problem(settings.weights, settings.base_model)
    if problem:
        raise WeightsUnavailable(_bad_weights_message(settings.weights, settings.base_model, problem))
    return settings.weights


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Layers that hold weights in each base built with include_top=False (tests/test_offline.py measures them):
# the count Keras's legacy .h5 loader compares ("Layer count mismatch ... expected 104 layers, found 54").
BASE_WEIGHT_LAYERS = {"xception": 80, "mobilenet_v2_0.35": 104}


def weights_file_problem(path, base_model):
    """Why the weights file `path` cannot be loaded into `base_model`, or None when it looks loadable.

    Checks that it is HDF5 (a .keras zip is left to Keras), that every array in it can be read (a
    truncated file cannot), and for Keras's classic .h5 layout (keras.applications' own files) that it
    holds weights for as many layers as the base has.
    """
    import h5py  # does not import TensorFlow

    with open(path, "rb") as file:
        head = file.read(8)
    if head.startswith(b"PK"):  # a .keras archive: Keras reads and checks it
        return None
    if head != HDF5_SIGNATURE:
        return "it is not an HDF5 weights file (.h5)"
    try:
        with h5py.File(path, "r") as opened:
            opened.visititems(lambda name, item: item[()] if isinstance(item, h5py.Dataset) else None)
            group = opened["model_weights"] if "model_weights" in opened else opened
            if "layer_names" not in group.attrs:
                return None  # Keras 3's .weights.h5 layout: Keras checks it
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
            count = sum(1 for name in names if len(group[name].attrs.get("weight_names", [])))
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        return f"it cannot be read, truncated or damaged ({str(error).splitlines()[0][:80]})"
    expected = BASE_WEIGHT_LAYERS.get(base_model)
    if expected and count != expected:
        return f"it holds weights for {count} layers where {base_model} has {expected}: another network's file"
    return None


def _bad_weights_message(path, base_model, problem):
    return (
        f"The weights file {path} (COURSE_WEIGHTS) cannot be loaded into {base_model}: {problem}. Point "
        f"COURSE_WEIGHTS at {base_model}'s weights file (include_top=False), or set it to imagenet or none."
    )


# ---------------------------------------------------------------- cats_and_dogs_filtered (quick profile)


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
            images = [p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in FILTERED_IMAGE_SUFFIXES]
            counts[split][name] = len(images)
            if not images:
                problems.append(f"{class_dir} holds no images")
    if problems:
        raise DataUnavailable(_filtered_layout_message(folder, problems))
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
    if damage and host and not network_available(host):
        raise DataUnavailable(_damaged_zip_message(archive, damage))
    if damage:
        archive.unlink()  # downloaded again below
    if not archive.is_file() and host and not network_available(host):  # a file:// origin needs no network
        raise DataUnavailable(_filtered_missing_message(cache_dir, f"no network to {host}"))
    if not _writable_folder(archive.parent):
        raise DataUnavailable(_filtered_missing_message(cache_dir, f"{archive.parent} is not writable"))
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
        raise DataUnavailable(_damaged_zip_message(archive, f"{type(error).__name__}: {error}")) from None
    except Exception as error:  # get_file raises plain Exception for network failures
        raise DataUnavailable(_filtered_missing_message(cache_dir, type(error).__name__)) from None
    damage = zip_damage(archive)  # get_file only warns when it cannot read the archive at all
    if damage:
        raise DataUnavailable(_damaged_zip_message(archive, damage))
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
        and name.suffix.lower() in FILTERED_IMAGE_SUFFIXES
    }


def extract_filtered_again(cache_dir):
    """Extract the cached cats_and_dogs_filtered.zip again over the extracted folder (as get_file does).

    Raises DataUnavailable with one sentence when the zip is missing or damaged.
    """
    archive = filtered_archive(cache_dir)
    damage = zip_damage(archive) if archive.is_file() else "it is not in the cache"
    if damage:
        raise DataUnavailable(_damaged_zip_message(archive, damage))
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(filtered_dir(cache_dir).parent)


def _damaged_zip_message(archive, reason):
    return (
        f"The cached {archive} is damaged ({reason}). Delete it, then run `make prefetch` on a connected "
        "machine and copy the cache folder here (or use your own photos with COURSE_DATA_DIR=<folder with cat/ "
        "and dog/>)."
    )


def _filtered_missing_message(cache_dir, reason):
    return (
        f"The {FILTERED_NAME} photos are not in {filtered_dir(cache_dir)} and could not be downloaded "
        f"({reason}). Run `make prefetch` on a connected machine and copy the cache folder here (or set "
        "COURSE_CACHE_DIR to it), or use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>."
    )


def _filtered_layout_message(folder, problems):
    datasets = folder.parent.parent
    return (
        f"The {FILTERED_NAME} photos in {folder} are incomplete: {'; '.join(problems)}. Delete "
        f"{datasets / (FILTERED_NAME + '.zip')} and {folder.parent}, then run `make prefetch` on a connected "
        "machine (or use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>)."
    )


# ---------------------------------------------------------------- TFDS (full profile)


def tfds_data_dir(cache_dir):
    """Where TFDS keeps prepared datasets inside the course cache."""
    return Path(cache_dir) / "tensorflow_datasets"


def tfds_prepared(cache_dir):
    """True when TFDS cats_vs_dogs is prepared in the course cache, so `tfds.load` needs no download.

    TFDS's own rule (`DatasetBuilder.is_prepared`): the builder's version folder holds dataset_info.json.
    Checked without building the builder, which would parse that file and fail on a partial copy.
    """
    import tensorflow_datasets as tfds  # does not import TensorFlow

    version = str(tfds.builder_cls(TFDS_NAME).VERSION)
    return (tfds_data_dir(cache_dir) / TFDS_NAME / version / "dataset_info.json").is_file()


def _tfds_missing_message(data_dir, reason):
    return (
        f"TFDS {TFDS_NAME} is not prepared in {data_dir} and could not be downloaded ({reason}). "
        "Run `make prefetch` on a connected machine and copy the cache folder here (or set "
        "COURSE_CACHE_DIR to it), or use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>."
    )


# ---------------------------------------------------------------- what the settings need


def data_status(settings):
    """(where the data comes from, whether it can be had, what to do if not). Probes only when needed."""
    if settings.data_source == "synthetic":
        return "generated in memory (synthetic stripes)", True, ""
    if settings.data_source == "folder":
        found = Path(settings.data_dir).is_dir()
        if Path(settings.data_dir).is_file():
            return settings.data_dir, False, "This is a file; point COURSE_DATA_DIR at a folder of class folders."
        return settings.data_dir, found, "" if found else "This folder does not exist; fix COURSE_DATA_DIR."
    if settings.data_source == "filtered":
        return _filtered_status(settings.cache_dir)
    where = str(tfds_data_dir(settings.cache_dir))
    if tfds_prepared(settings.cache_dir):
        return f"{where} (cached)", True, ""
    host = tfds_host()
    if network_available(host):
        return f"{where} (downloads about 800 MB from {host} on first use)", True, ""
    return where, False, f"{OFFLINE_ADVICE} (no network to {host})"


def _filtered_status(cache_dir):
    where = str(filtered_dir(cache_dir))
    if filtered_prepared(cache_dir):
        return f"{where} (cached)", True, ""
    if filtered_archive(cache_dir).is_file():
        return f"{where} (extracted from the cached {FILTERED_NAME}.zip on first use)", True, ""
    host = filtered_host()
    if not host:
        return f"{where} (copied from {FILTERED_URL} on first use)", True, ""
    if network_available(host):
        return f"{where} (downloads about 68 MB from {host} on first use)", True, ""
    return where, False, f"{OFFLINE_ADVICE} (no network to {host})"


def weights_status(settings):
    """(where the base's weights come from, whether they can be had, what to do if not)."""
    if settings.weights == "none":
        return "random initialisation (COURSE_WEIGHTS=none)", True, ""
    if settings.weights != "imagenet":
        problem = weights_file_problem(settings.weights, settings.base_model)
        return (
            settings.weights,
            not problem,
            _bad_weights_message(settings.weights, settings.base_model, problem) if problem else "",
        )
    if settings.base_model not in WEIGHT_FILES:
        return "", False, f"No ImageNet weights file is known for {settings.base_model}."
    cached = cached_weights_file(settings.base_model, settings.cache_dir)
    if cached:
        return f"{cached} (cached)", True, ""
    where = str(keras_cache_dir(settings.cache_dir) / "models")
    host = weights_host(settings.base_model)
    corrupt = corrupt_weights_file(settings.base_model, settings.cache_dir)
    if network_available(host):
        again = f"{corrupt[0]} is corrupt: downloaded again" if corrupt else "downloads"
        return f"{where} ({again} from {host} on first use)", True, ""
    if corrupt:
        return str(corrupt[0]), False, _corrupt_weights_message(settings.base_model, corrupt)
    return where, False, f"{OFFLINE_ADVICE} (no network to {host})"


def availability_table(settings):
    """A table of the data and weights the settings need, with their status and advice."""
    from helpers.tables import Table  # here, not at the top: helpers.tables imports Keras

    rows = [["data", *data_status(settings)], [f"weights ({settings.base_model})", *weights_status(settings)]]
    for row in rows:
        row[2] = "available" if row[2] else "NOT AVAILABLE"
    return Table(["what", "from", "status", "what to do"], rows, title="Data and weights")


# ---------------------------------------------------------------- make run without network

# The settings that make data or weights necessary, most specific first, as the user may set them.
_NEEDS_DATA = ("COURSE_DATA_SOURCE", "COURSE_PROFILE")
_NEEDS_WEIGHTS = ("COURSE_WEIGHTS", "COURSE_PROFILE")


def offline_fallback(settings, chosen):
    """Environment overrides that let a run go ahead when its data or weights cannot be had.

    `chosen` holds the names of the COURSE_* variables the user set. Only settings left at their defaults
    are replaced: missing photos become synthetic images, missing weights become random ones, and a
    default profile becomes `smoke` (minutes of training on either is pointless). Returns (overrides, one
    sentence naming each replaced setting); ({}, "") when nothing is missing. When a setting the user
    chose cannot be met, raises DataUnavailable or WeightsUnavailable with one sentence instead.
    """
    values = {
        "COURSE_PROFILE": settings.profile,
        "COURSE_DATA_SOURCE": settings.data_source,
        "COURSE_WEIGHTS": settings.weights,
    }
    overrides, missing = {}, []
    where, ok, _ = data_status(settings)
    if not ok:
        if settings.data_source == "folder":
            if Path(settings.data_dir).is_file():
                raise DataUnavailable(
                    f"COURSE_DATA_DIR={settings.data_dir} is a file, not a folder: point it at a folder of class "
                    "folders (cat/ and dog/) or of train/ and validation/ folders."
                )
            raise DataUnavailable(f"The image folder {settings.data_dir} (COURSE_DATA_DIR) does not exist.")
        needs = [name for name in _NEEDS_DATA if name in chosen]
        what = f"the {FILTERED_NAME} photos" if settings.data_source == "filtered" else f"TFDS {TFDS_NAME}"
        _refuse_if_chosen(DataUnavailable, needs, values, what, where, data_host(settings))
        overrides["COURSE_DATA_SOURCE"] = "synthetic"
        missing.append("the cats-vs-dogs photos")
    where, ok, advice = weights_status(settings)
    if not ok and settings.weights not in ("imagenet", "none"):  # a file of the user's that cannot be loaded
        raise WeightsUnavailable(advice)
    if not ok:
        what = f"the ImageNet weights for {settings.base_model}"
        corrupt = corrupt_weights_file(settings.base_model, settings.cache_dir)
        problem = f"the cached {corrupt[0]} is corrupt ({corrupt[1]})" if corrupt else ""
        needs = [name for name in _NEEDS_WEIGHTS if name in chosen]
        _refuse_if_chosen(WeightsUnavailable, needs, values, what, where, weights_host(settings.base_model), problem)
        overrides["COURSE_WEIGHTS"] = "none"
        missing.append(f"{what} ({problem})" if corrupt else what)
    if not overrides:
        return {}, ""
    kept = ""
    if "COURSE_PROFILE" not in chosen and settings.profile != "smoke":
        overrides = {"COURSE_PROFILE": "smoke", **overrides}
        if "COURSE_DATA_SOURCE" not in overrides and settings.data_source != "folder":
            # The smoke profile's own data is synthetic: the photos that are there stay.
            overrides["COURSE_DATA_SOURCE"] = settings.data_source
            kept = f"; the {settings.data_source} photos it has are kept"
    replaced = ", ".join(
        f"{name} {values[name]} -> {value}" for name, value in overrides.items() if value != values[name]
    )
    fake = " and ".join(
        text
        for text, used in (
            ("synthetic images", overrides.get("COURSE_DATA_SOURCE") == "synthetic"),
            ("random weights", "COURSE_WEIGHTS" in overrides),
        )
        if used
    )
    sentence = (
        f"No network and no usable cached copy of {' or '.join(missing)}, so this run replaces settings you left at "
        f"their defaults ({replaced}{kept}): with {fake} its accuracies mean nothing about real photos; run "
        "`make prefetch` on a connected machine to get the real ones."
    )
    return overrides, sentence


def _refuse_if_chosen(error, chosen_names, values, what, where, host, problem=""):
    if chosen_names:
        name = chosen_names[0]
        raise error(
            f"You set {name}={values[name]}, which needs {what}, but {problem or f'it is not in {where}'} and "
            f"{host} cannot be "
            "reached to download it: run `make prefetch` on a connected machine and copy the cache folder here, "
            f"or change {name}."
        )
