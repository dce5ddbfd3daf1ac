"""What the course needs from the network and the cache: whether a download host answers, where the course
cache (COURSE_CACHE_DIR, filled by `make prefetch`) keeps Keras's downloads and TFDS's data sets, and what the
course says when data or weights can be had from neither.

The downloads themselves are helpers/filtered.py (the quick profile's photos), helpers/pretrained.py (weights)
and the TFDS loaders (helpers.data.load_tfds, helpers/sources/flowers.py). Nothing here imports TensorFlow.
"""

import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

# ---------------------------------------------------------------- the network


def network_available(host, port=443, timeout=3.0):
    """True when a TCP connection to `host` opens within `timeout` seconds.

    The course asks before it downloads, so offline fails in seconds.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_host(url):
    """The host a URL downloads from (None for a file:// URL, which needs no network)."""
    return urlparse(url).hostname


# ---------------------------------------------------------------- the cache


def keras_cache_dir(cache_dir):
    """The folder that holds Keras's downloads (weights in models/, archives in datasets/) in the course cache."""
    return Path(cache_dir) / "keras"


def writable_folder(folder):
    """Create `folder` if needed; True when files can be written there.

    Asked before every keras.utils.get_file: it quietly writes to /tmp/.keras when the folder it is given
    is missing or read-only.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


# ---------------------------------------------------------------- when data or weights cannot be had


class DataUnavailable(RuntimeError):
    """The data asked for cannot be had: not cached and not downloadable, damaged, or a folder the course
    cannot read (missing, empty, badly laid out). Its message is one sentence for the user."""


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable, or a weights file cannot be loaded."""


def prefetch_command(variable=""):
    """The command that fetches a source: `make prefetch`, or, for a source fetched only when asked,
    `COURSE_PREFETCH_FLOWERS=1 make prefetch` (its `variable`)."""
    return f"{variable}=1 make prefetch" if variable else "make prefetch"


def prefetch_advice(variable=""):
    """ "run `make prefetch` on a connected machine ...", with the COURSE_PREFETCH_* setting a source needs."""
    return f"run `{prefetch_command(variable)}` on a connected machine and copy the cache folder here"


def offline_advice(variable=""):
    """What a status row says to do when something is neither cached nor downloadable."""
    return f"Not cached and no network: run `{prefetch_command(variable)}` on a connected machine, copy cache/."


PREFETCH_ADVICE = prefetch_advice()
OWN_PHOTOS_ADVICE = "use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>"
OFFLINE_ADVICE = offline_advice()


def stand_ins(synthetic_images, random_weights):
    """ "synthetic images and random weights", or the one of them in use ('' for neither)."""
    return " and ".join(
        text for text, used in (("synthetic images", synthetic_images), ("random weights", random_weights)) if used
    )


def download_status(where, host, size, variable=""):
    """(where, can it be had, what to do): downloadable on first use when `host` answers, else the advice.

    `variable`: the COURSE_PREFETCH_* setting that makes `make prefetch` fetch it ('' when it does by default).
    """
    if network_available(host):
        return f"{where} (downloads about {size} from {host} on first use)", True, ""
    return where, False, f"{offline_advice(variable)} (no network to {host})"


def data_missing_message(what_is_missing, reason, variable=""):
    """The sentence for data that is not cached and could not be downloaded: "<what_is_missing> and could not ..."."""
    return (
        f"{what_is_missing} and could not be downloaded ({reason}): {prefetch_advice(variable)} (or set "
        f"COURSE_CACHE_DIR to it), or {OWN_PHOTOS_ADVICE}."
    )


# ---------------------------------------------------------------- TFDS data sets in the cache

# Each function takes the TFDS name (default: the full profile's cats_vs_dogs; tf_flowers is the other). The
# loaders (`tfds.load`) are helpers.data.load_tfds (the guide's split) and helpers.sources.flowers.
TFDS_NAME = "cats_vs_dogs"


def tfds_host(name=TFDS_NAME):
    """The host TFDS downloads `name` from, read from TFDS's own builder (its `_URL`)."""
    import tensorflow_datasets as tfds  # does not import TensorFlow

    module = sys.modules[tfds.builder_cls(name).__module__]
    return url_host(module._URL)


def tfds_data_dir(cache_dir):
    """Where TFDS keeps prepared datasets inside the course cache."""
    return Path(cache_dir) / "tensorflow_datasets"


def tfds_prepared(cache_dir, name=TFDS_NAME):
    """True when TFDS `name` is prepared in the course cache, so `tfds.load` needs no download.

    TFDS's own rule (`DatasetBuilder.is_prepared`): the builder's version folder holds dataset_info.json.
    Checked without building the builder, which would parse that file and fail on a partial copy.
    """
    import tensorflow_datasets as tfds  # does not import TensorFlow

    version = str(tfds.builder_cls(name).VERSION)
    return (tfds_data_dir(cache_dir) / name / version / "dataset_info.json").is_file()


def tfds_missing_message(data_dir, reason, name=TFDS_NAME, variable=""):
    """The sentence for TFDS data that is not prepared and could not be downloaded (`reason`).

    `variable`: the COURSE_PREFETCH_* setting that makes `make prefetch` fetch it ('' when it does by default).
    """
    return data_missing_message(f"TFDS {name} is not prepared in {data_dir}", reason, variable)


def tfds_status(cache_dir, name=TFDS_NAME, size="800 MB", variable=""):
    """(where the data comes from, whether it can be had, what to do if not). Probes only when needed."""
    where = str(tfds_data_dir(cache_dir))
    if tfds_prepared(cache_dir, name):
        return f"{where} (cached)", True, ""
    return download_status(where, tfds_host(name), size, variable)
