"""The data sources the course knows: one table entry per source (COURSE_DATA_SOURCE).

Each entry says which helpers.data function loads it and from which settings, whether its data can be had
now (notebook 00's table, `make run`), where it downloads from, and whether `make run` may replace it by
synthetic images when it cannot. Adding a source is one entry here plus its loader in helpers.data.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from helpers.filtered import FILTERED_NAME, filtered_host, filtered_status
from helpers.tfds_cache import TFDS_NAME, tfds_host, tfds_status


@dataclass(frozen=True)
class Source:
    """One data source: its loader, its status, its host, and what `make run` does when it is missing."""

    loader: str  # a function of helpers.data
    arguments: tuple  # the Settings fields passed to the loader, in order
    status: Callable  # settings -> (where the data comes from, whether it can be had, what to do if not)
    host: Callable = lambda: None  # the host it downloads from, None when it downloads nothing
    what: str = ""  # its name in sentences ("the cats_and_dogs_filtered photos")
    replaceable: bool = False  # True: offline, `make run` may use synthetic images instead (if left at its default)


def _synthetic_status(settings):
    return "generated in memory (synthetic stripes)", True, ""


def _folder_status(settings):
    folder = Path(settings.data_dir)
    if folder.is_file():
        return settings.data_dir, False, "This is a file; point COURSE_DATA_DIR at a folder of class folders."
    found = folder.is_dir()
    return settings.data_dir, found, "" if found else "This folder does not exist; fix COURSE_DATA_DIR."


SOURCES = {
    "tfds": Source(
        loader="load_tfds",
        arguments=("cache_dir", "train_images", "eval_images"),
        status=lambda settings: tfds_status(settings.cache_dir),
        host=tfds_host,
        what=f"TFDS {TFDS_NAME}",
        replaceable=True,
    ),
    "filtered": Source(
        loader="load_filtered",
        arguments=("cache_dir", "image_size", "train_images", "eval_images", "seed"),
        status=lambda settings: filtered_status(settings.cache_dir),
        host=filtered_host,
        what=f"the {FILTERED_NAME} photos",
        replaceable=True,
    ),
    "folder": Source(
        loader="load_folder",
        arguments=("data_dir", "train_images", "eval_images", "seed"),
        status=_folder_status,
        what="the image folder (COURSE_DATA_DIR)",
    ),
    "synthetic": Source(
        loader="load_synthetic",
        arguments=("image_size", "train_images", "eval_images", "seed", "synthetic_classes"),
        status=_synthetic_status,
        what="synthetic images",
    ),
}


def data_status(settings):
    """(where the settings' data comes from, whether it can be had, what to do if not). Probes only when needed."""
    return SOURCES[settings.data_source].status(settings)


def data_host(settings):
    """The host the settings' data is downloaded from, or None when it needs no download."""
    return SOURCES[settings.data_source].host()
