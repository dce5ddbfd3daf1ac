"""COURSE_DATA_SOURCE=flowers: TFDS tf_flowers, TensorFlow's tutorial photos (3,670 photos of 5 classes).

TFDS downloads one archive of about 230 MB (218 MiB) from download.tensorflow.org and prepares it in the
course cache, as it does cats_vs_dogs (helpers/downloads.py). `make prefetch` fetches it only with
COURSE_PREFETCH_FLOWERS=1. The data set has one split, `train`; the loader cuts it 70/15/15 into train,
validation and test with TFDS's slicing, which is deterministic.
"""

from helpers import downloads, import_tensorflow_quietly
from helpers.downloads import (
    DataUnavailable,
    tfds_data_dir,
    tfds_host,
    tfds_missing_message,
    tfds_prepared,
    tfds_status,
)
from helpers.sources.entry import Source

FLOWERS_NAME = "tf_flowers"
PREFETCH_VARIABLE = "COURSE_PREFETCH_FLOWERS"  # =1: `make prefetch` fetches it too
FLOWERS_SPLITS = {"train": "train[:70%]", "validation": "train[70%:85%]", "test": "train[85%:]"}


def flowers_classes():
    """The class names in label order, as TFDS's builder names them (read from its code, offline)."""
    import tensorflow_datasets as tfds  # does not import TensorFlow

    return tuple(tfds.builder(FLOWERS_NAME).info.features["label"].names)


def load_flowers(cache_dir, train_images, eval_images):
    """TFDS tf_flowers cut 70/15/15; `train_images`/`eval_images` > 0 take the first images of a split.

    Downloads and prepares it in the cache when needed; fails in seconds with one sentence when it is
    neither prepared nor downloadable.
    """
    import tensorflow_datasets as tfds

    from helpers.data import CourseData

    data_dir = tfds_data_dir(cache_dir)
    host = tfds_host(FLOWERS_NAME)
    if not tfds_prepared(cache_dir, FLOWERS_NAME) and not downloads.network_available(host):  # seconds, not minutes
        raise DataUnavailable(tfds_missing_message(data_dir, f"no network to {host}", FLOWERS_NAME, PREFETCH_VARIABLE))
    try:
        splits, info = tfds.load(
            FLOWERS_NAME,
            split=list(FLOWERS_SPLITS.values()),
            as_supervised=True,
            data_dir=str(data_dir),
            with_info=True,
        )
    except Exception as error:  # TFDS raises many kinds of errors when a download fails
        reason = type(error).__name__
        raise DataUnavailable(tfds_missing_message(data_dir, reason, FLOWERS_NAME, PREFETCH_VARIABLE)) from None
    limits = [train_images, eval_images, eval_images]
    splits = [ds.take(limit) if limit else ds for ds, limit in zip(splits, limits)]
    class_names = list(info.features["label"].names)
    return CourseData(
        *splits,
        class_names=class_names,
        description=(
            f"TFDS {FLOWERS_NAME} from {data_dir} ({len(class_names)} classes; its one split, train, cut 70/15/15 "
            "into train, validation and test)"
        ),
        sizes=dict(zip(FLOWERS_SPLITS, (int(ds.cardinality()) for ds in splits))),
    )


def load(settings):
    """tf_flowers, capped as the settings say."""
    return load_flowers(settings.cache_dir, settings.train_images, settings.eval_images)


def prefetch(cache_dir):
    """Download and prepare tf_flowers in the cache; one line saying where."""
    import_tensorflow_quietly()
    load_flowers(cache_dir, 0, 0)
    assert tfds_prepared(cache_dir, FLOWERS_NAME), f"{FLOWERS_NAME} was loaded but is not prepared in the cache"
    return f"TFDS {FLOWERS_NAME} ({SOURCE.used_by}): {tfds_data_dir(cache_dir)}"


SOURCE = Source(
    name="flowers",
    what=f"TFDS {FLOWERS_NAME}",
    load=load,
    status=lambda settings: tfds_status(settings.cache_dir, FLOWERS_NAME, "230 MB", PREFETCH_VARIABLE),
    ready=lambda settings: tfds_prepared(settings.cache_dir, FLOWERS_NAME),
    host=lambda: tfds_host(FLOWERS_NAME),
    prefetch=prefetch,
    prefetch_variable=PREFETCH_VARIABLE,
    size_mb=230,
    used_by="COURSE_DATA_SOURCE=flowers",
    classes=flowers_classes,
    # Never a profile's default: whoever runs it chose COURSE_DATA_SOURCE=flowers, and `make run` offline then
    # stops with one sentence naming it (helpers' fallback refuses a chosen source instead of replacing it).
    replaceable=True,
)
