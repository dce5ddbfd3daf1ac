"""TFDS data sets in the course cache (cats_vs_dogs, tf_flowers): where TFDS keeps them, and whether they are there.

Each function takes the TFDS name (default: the full profile's cats_vs_dogs). The loaders (`tfds.load`) are
helpers.data.load_tfds (the guide's split) and helpers.sources.flowers; nothing here imports TensorFlow.
"""

import sys
from pathlib import Path

from helpers.missing import data_missing_message, download_status
from helpers.network import url_host

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
