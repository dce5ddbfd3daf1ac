"""COURSE_DATA_SOURCE=filtered, the quick profile's photos: TensorFlow's cats_and_dogs_filtered.zip (68 MB).

The download, cache and layout check are helpers/filtered.py; the loader, which checks every photo, is
helpers.data.load_filtered.
"""

from helpers import import_tensorflow_quietly
from helpers.filtered import (
    FILTERED_NAME,
    filtered_archive,
    filtered_host,
    filtered_layout,
    filtered_prepared,
    filtered_status,
)
from helpers.sources import CLASS_NAMES
from helpers.sources.entry import Source


def load(settings):
    """The photos, split and capped as the settings say (helpers.data.load_filtered)."""
    from helpers import data

    return data.load_filtered(
        settings.cache_dir, settings.image_size, settings.train_images, settings.eval_images, settings.seed
    )


def download_filtered(cache_dir):
    """The photos, downloaded if needed, then every photo checked (damaged ones repaired)."""
    import_tensorflow_quietly()  # helpers.data needs TensorFlow; its start-up lines need not reach the terminal
    from helpers.data import filtered_photos

    return filtered_photos(cache_dir)


def prefetch(cache_dir):
    """Download the photos into the cache (every photo checked); one line saying where, with the counts."""
    folder = download_filtered(cache_dir)  # damaged photos are extracted again, and said
    counts = filtered_layout(folder)
    split_counts = ", ".join(
        f"{split} {' + '.join(str(n) for n in classes.values())}" for split, classes in counts.items()
    )
    return f"{FILTERED_NAME} ({SOURCE.used_by}): {folder} ({split_counts})"


SOURCE = Source(
    name="filtered",
    what=f"the {FILTERED_NAME} photos",
    load=load,
    status=lambda settings: filtered_status(settings.cache_dir),
    ready=lambda settings: filtered_prepared(settings.cache_dir) or filtered_archive(settings.cache_dir).is_file(),
    host=filtered_host,
    prefetch=prefetch,
    size_mb=68,
    used_by="quick profile",
    classes=lambda: tuple(CLASS_NAMES),
    replaceable=True,
)
