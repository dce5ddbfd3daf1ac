"""The full profile's data, TFDS cats_vs_dogs: where TFDS keeps it in the course cache, and whether it is there.

The loader (`tfds.load`, the guide's split) is helpers.data.load_tfds; nothing here imports TensorFlow.
"""

import sys
from pathlib import Path

from helpers.missing import data_missing_message, download_status
from helpers.network import url_host

TFDS_NAME = "cats_vs_dogs"


def tfds_host():
    """The host TFDS downloads cats_vs_dogs from, read from TFDS's own builder (its `_URL`)."""
    import tensorflow_datasets as tfds  # does not import TensorFlow

    module = sys.modules[tfds.builder_cls(TFDS_NAME).__module__]
    return url_host(module._URL)


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


def tfds_missing_message(data_dir, reason):
    """The sentence for TFDS data that is not prepared and could not be downloaded (`reason`)."""
    return data_missing_message(f"TFDS {TFDS_NAME} is not prepared in {data_dir}", reason)


def tfds_status(cache_dir):
    """(where the data comes from, whether it can be had, what to do if not). Probes only when needed."""
    where = str(tfds_data_dir(cache_dir))
    if tfds_prepared(cache_dir):
        return f"{where} (cached)", True, ""
    return download_status(where, tfds_host(), "800 MB")
