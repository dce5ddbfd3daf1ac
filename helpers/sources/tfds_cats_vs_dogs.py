"""COURSE_DATA_SOURCE=tfds, the full profile's data: the guide's TFDS cats_vs_dogs (about 800 MB).

Fetched by `make prefetch` only with COURSE_PREFETCH_FULL=1. The cache layout is helpers/downloads.py; the
loader (the guide's split, taught in notebook 05) is helpers.data.load_tfds.
"""

from helpers import import_tensorflow_quietly
from helpers.downloads import TFDS_NAME, tfds_data_dir, tfds_host, tfds_prepared, tfds_status
from helpers.sources import CLASS_NAMES
from helpers.sources.entry import Source

PREFETCH_VARIABLE = "COURSE_PREFETCH_FULL"  # =1: `make prefetch` fetches it too


def load(settings):
    """The guide's 40/10/10 split of cats_vs_dogs, capped as the settings say (helpers.data.load_tfds)."""
    from helpers import data

    return data.load_tfds(settings.cache_dir, settings.train_images, settings.eval_images)


def load_tfds(cache_dir):
    """Download and prepare cats_vs_dogs in the cache; DataUnavailable with one sentence when it cannot."""
    import_tensorflow_quietly()
    from helpers import data

    return data.load_tfds(cache_dir, 0, 0)


def prefetch(cache_dir):
    """Download and prepare cats_vs_dogs in the cache; one line saying where."""
    load_tfds(cache_dir)
    assert tfds_prepared(cache_dir), f"TFDS {TFDS_NAME} was loaded but is not prepared in {tfds_data_dir(cache_dir)}"
    return f"TFDS {TFDS_NAME} ({SOURCE.used_by}): {tfds_data_dir(cache_dir)}"


SOURCE = Source(
    name="tfds",
    what=f"TFDS {TFDS_NAME}",
    load=load,
    status=lambda settings: tfds_status(settings.cache_dir, TFDS_NAME, "800 MB", PREFETCH_VARIABLE),
    ready=lambda settings: tfds_prepared(settings.cache_dir),
    host=tfds_host,
    prefetch=prefetch,
    prefetch_variable=PREFETCH_VARIABLE,
    size_mb=800,
    used_by="full profile",
    classes=lambda: tuple(CLASS_NAMES),
    replaceable=True,
)
