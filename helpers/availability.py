"""Where data and weights will come from, and whether they can be had right now."""

from pathlib import Path

from helpers.data import TFDS_NAME, tfds_data_dir
from helpers.models import cached_weights_file, keras_cache_dir
from helpers.tables import Table

OFFLINE_ADVICE = "Not cached and no network: run `make prefetch` on a connected machine, copy cache/."


def tfds_prepared(cache_dir):
    """True when TFDS cats_vs_dogs has been downloaded and prepared in the course cache."""
    return any(tfds_data_dir(cache_dir).glob(f"{TFDS_NAME}/*/dataset_info.json"))


def data_status(settings, online):
    """(where the data comes from, whether it can be had, what to do if not) for the settings."""
    if settings.data_source == "synthetic":
        return "generated in memory (synthetic stripes)", True, ""
    if settings.data_source == "folder":
        found = Path(settings.data_dir).is_dir()
        return settings.data_dir, found, "" if found else "COURSE_DATA_DIR does not exist; fix the path."
    where = str(tfds_data_dir(settings.cache_dir))
    if tfds_prepared(settings.cache_dir):
        return f"{where} (cached)", True, ""
    if online:
        return f"{where} (downloads about 800 MB on first use)", True, ""
    return where, False, OFFLINE_ADVICE


def weights_status(settings, online):
    """(where the base's weights come from, whether they can be had, what to do if not)."""
    if settings.weights == "none":
        return "random initialisation (COURSE_WEIGHTS=none)", True, ""
    if settings.weights != "imagenet":
        return settings.weights, True, ""
    cached = cached_weights_file(settings.base_model, settings.cache_dir)
    if cached:
        return f"{cached} (cached)", True, ""
    where = str(keras_cache_dir(settings.cache_dir) / "models")
    if online:
        return f"{where} (downloads on first use)", True, ""
    return where, False, OFFLINE_ADVICE


def availability_table(settings, online):
    """A table of the data and weights the settings need, with their status and advice."""
    rows = [
        ["data", *data_status(settings, online)],
        [f"weights ({settings.base_model})", *weights_status(settings, online)],
    ]
    for row in rows:
        row[2] = "available" if row[2] else "NOT AVAILABLE"
    return Table(["what", "from", "status", "what to do"], rows, title="Data and weights")


def offline_fallback(settings, online):
    """Environment changes that switch to the smoke profile when data or weights cannot be had.

    Returns (variables to set, variables to remove, one sentence saying so); all empty when nothing
    is missing. Random weights make long training pointless, so the whole smoke profile is used.
    """
    missing = []
    if not data_status(settings, online)[1]:
        missing.append("the cats-vs-dogs photos")
    if not weights_status(settings, online)[1]:
        missing.append(f"the ImageNet weights for {settings.base_model}")
    if not missing:
        return {}, [], ""
    sentence = (
        f"No network and no cached copy of {' or '.join(missing)}, so this run uses the smoke profile "
        "(synthetic images, random weights); run `make prefetch` on a connected machine to get the real ones."
    )
    overrides = {"COURSE_PROFILE": "smoke", "COURSE_DATA_SOURCE": "synthetic", "COURSE_WEIGHTS": "none"}
    return overrides, ["COURSE_DATA_DIR"], sentence
