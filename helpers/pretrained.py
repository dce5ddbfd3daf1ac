"""Pretrained weights files: the course cache, the hash check, the download, and what `weights=` gets.

What each base's file is (name, origin, hash, layer count) is its entry in helpers/bases.py.
"""

import hashlib
from pathlib import Path

from helpers import downloads
from helpers.bases import BASES
from helpers.downloads import (
    OFFLINE_ADVICE,
    PREFETCH_ADVICE,
    WeightsUnavailable,
    keras_cache_dir,
    url_host,
    writable_folder,
)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ALTERNATIVES = "point COURSE_WEIGHTS at a weights file, or set COURSE_WEIGHTS=none"


def weights_entry(base_model):
    """The table entry of `base_model`, or WeightsUnavailable when the course knows no ImageNet file for it."""
    known = [name for name, base in BASES.items() if base.weights_file]
    if base_model not in known:
        raise WeightsUnavailable(
            f"The course knows no ImageNet weights file for {base_model}; use one of: {', '.join(known)}."
        )
    return BASES[base_model]


def weights_path(base_model, cache_dir):
    """Where the ImageNet weights file of `base_model` lives in the course cache."""
    return keras_cache_dir(cache_dir) / "models" / weights_entry(base_model).weights_file


def weights_host(base_model):
    """The host Keras downloads the ImageNet weights of `base_model` from."""
    return url_host(weights_entry(base_model).weights_origin)


def file_hash_matches(path, file_hash):
    """True when the file's sha256 (64 hex digits) or md5 (32) is `file_hash`, as keras.utils.get_file checks."""
    hasher = hashlib.sha256() if len(file_hash) == 64 else hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == file_hash


def cached_weights_file(base_model, cache_dir):
    """The cached ImageNet weights file of `base_model`, or None when it is missing or fails its hash."""
    path = weights_path(base_model, cache_dir)
    return path if path.is_file() and file_hash_matches(path, BASES[base_model].weights_hash) else None


def corrupt_weights_file(base_model, cache_dir):
    """(path, what is wrong) when the cached ImageNet weights file of `base_model` exists but fails its hash."""
    path = weights_path(base_model, cache_dir)
    file_hash = BASES[base_model].weights_hash
    if not path.is_file() or file_hash_matches(path, file_hash):
        return None
    algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return path, f"{path.stat().st_size:,} bytes whose {algorithm} hash is not the file's"


def corrupt_weights_message(base_model, corrupt):
    """The sentence for a cached weights file that fails its hash."""
    path, reason = corrupt
    return (
        f"The cached ImageNet weights file {path} for {base_model} is corrupt ({reason}). Delete it, then "
        f"{PREFETCH_ADVICE}, {ALTERNATIVES}."
    )


def weights_missing_message(base_model, cache_dir, reason):
    """The sentence for ImageNet weights that are not cached and could not be downloaded (`reason`)."""
    return (
        f"The ImageNet weights for {base_model} are not in {keras_cache_dir(cache_dir)} and could not be "
        f"downloaded ({reason}): {PREFETCH_ADVICE}, {ALTERNATIVES}."
    )


def download_weights(base_model, cache_dir):
    """Return the ImageNet weights file of `base_model`, downloading it (hash checked) if not cached."""
    cached = cached_weights_file(base_model, cache_dir)
    if cached:
        return cached
    base = weights_entry(base_model)
    host = weights_host(base_model)
    if host and not downloads.network_available(host):  # fail in seconds; a file:// origin needs no network
        corrupt = corrupt_weights_file(base_model, cache_dir)
        if corrupt:
            raise WeightsUnavailable(corrupt_weights_message(base_model, corrupt))
        raise WeightsUnavailable(weights_missing_message(base_model, cache_dir, f"no network to {host}"))
    import keras

    target = weights_path(base_model, cache_dir)
    if not writable_folder(target.parent):
        raise WeightsUnavailable(weights_missing_message(base_model, cache_dir, f"{target.parent} is not writable"))
    try:
        path = keras.utils.get_file(
            base.weights_file,
            base.weights_origin,
            file_hash=base.weights_hash,
            cache_subdir="models",
            cache_dir=str(keras_cache_dir(cache_dir)),
        )
    except ValueError as error:  # get_file raises ValueError when the hash does not match
        target.unlink(missing_ok=True)  # Keras leaves the refused file in place
        reason = "its hash does not match" if "hash" in str(error) else type(error).__name__
        raise WeightsUnavailable(weights_missing_message(base_model, cache_dir, reason)) from None
    except Exception as error:  # get_file raises plain Exception for network failures
        raise WeightsUnavailable(weights_missing_message(base_model, cache_dir, type(error).__name__)) from None
    return Path(path)


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
        raise WeightsUnavailable(bad_weights_message(settings.weights, settings.base_model, problem))
    return str(settings.weights)


def weights_file_problem(path, base_model):
    """Why the weights file `path` cannot be loaded into `base_model`, or None when it looks loadable.

    Checks that it is HDF5 (a .keras zip is left to Keras), that every array in it can be read (a
    truncated file cannot), and for Keras's classic .h5 layout (keras.applications' own files) that it
    holds weights for as many layers as the base has (its table entry's weight_layers).
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
    expected = BASES[base_model].weight_layers if base_model in BASES else 0
    if expected and count != expected:
        return f"it holds weights for {count} layers where {base_model} has {expected}: another network's file"
    return None


def bad_weights_message(path, base_model, problem):
    """The sentence for a weights file of the user's that cannot be loaded into the base."""
    return (
        f"The weights file {path} (COURSE_WEIGHTS) cannot be loaded into {base_model}: {problem}. Point "
        f"COURSE_WEIGHTS at {base_model}'s weights file (include_top=False), or set it to imagenet or none."
    )


def weights_status(settings):
    """(where the base's weights come from, whether they can be had, what to do if not)."""
    if settings.weights == "none":
        return "random initialisation (COURSE_WEIGHTS=none)", True, ""
    if settings.weights != "imagenet":
        problem = weights_file_problem(settings.weights, settings.base_model)
        advice = bad_weights_message(settings.weights, settings.base_model, problem) if problem else ""
        return str(settings.weights), not problem, advice
    if not BASES[settings.base_model].weights_file:
        return "", False, f"No ImageNet weights file is known for {settings.base_model}."
    cached = cached_weights_file(settings.base_model, settings.cache_dir)
    if cached:
        return f"{cached} (cached)", True, ""
    where = str(keras_cache_dir(settings.cache_dir) / "models")
    host = weights_host(settings.base_model)
    corrupt = corrupt_weights_file(settings.base_model, settings.cache_dir)
    if downloads.network_available(host):
        again = f"{corrupt[0]} is corrupt: downloaded again" if corrupt else "downloads"
        return f"{where} ({again} from {host} on first use)", True, ""
    if corrupt:
        return str(corrupt[0]), False, corrupt_weights_message(settings.base_model, corrupt)
    return where, False, f"{OFFLINE_ADVICE} (no network to {host})"
