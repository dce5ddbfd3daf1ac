"""COURSE_DATA_SOURCE=folder (implied by COURSE_DATA_DIR): the learner's own photos, a folder of class folders.

The loader and the file checks are helpers.data.load_folder; nothing is downloaded.
"""

from pathlib import Path

from helpers.sources.entry import Source


def load(settings):
    """The folder's photos, split and capped as the settings say (helpers.data.load_folder)."""
    from helpers import data

    return data.load_folder(settings.data_dir, settings.train_images, settings.eval_images, settings.seed)


def status(settings):
    """(the folder, whether it exists, what to do if not)."""
    if not settings.data_dir:
        return "COURSE_DATA_DIR is not set", False, "Set COURSE_DATA_DIR to a folder of class folders."
    folder = Path(settings.data_dir)
    if folder.is_file():
        return settings.data_dir, False, "This is a file; point COURSE_DATA_DIR at a folder of class folders."
    found = folder.is_dir()
    return settings.data_dir, found, "" if found else "This folder does not exist; fix COURSE_DATA_DIR."


def problem(settings):
    """The sentence `make run` stops with when the folder cannot be used."""
    if Path(settings.data_dir).is_file():
        return (
            f"COURSE_DATA_DIR={settings.data_dir} is a file, not a folder: point it at a folder of class "
            "folders (cat/ and dog/) or of train/ and validation/ folders."
        )
    return f"The image folder {settings.data_dir} (COURSE_DATA_DIR) does not exist."


SOURCE = Source(
    name="folder",
    what="the image folder (COURSE_DATA_DIR)",
    load=load,
    status=status,
    ready=lambda settings: bool(settings.data_dir) and Path(settings.data_dir).is_dir(),
    problem=problem,
)
