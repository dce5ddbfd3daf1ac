"""COURSE_DATA_SOURCE=synthetic, the smoke profile's data: striped images generated in memory (helpers.data)."""

from helpers.sources import CLASS_NAMES
from helpers.sources.entry import Source


def load(settings):
    """Synthetic splits of the settings' image size, caps and class count (helpers.data.load_synthetic)."""
    from helpers import data

    return data.load_synthetic(
        settings.image_size, settings.train_images, settings.eval_images, settings.seed, settings.synthetic_classes
    )


SOURCE = Source(
    name="synthetic",
    what="synthetic images",
    load=load,
    status=lambda settings: ("generated in memory (synthetic stripes)", True, ""),
    classes=lambda: tuple(CLASS_NAMES),  # two by default; COURSE_SYNTHETIC_CLASSES draws more
)
