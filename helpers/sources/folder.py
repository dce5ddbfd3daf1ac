"""COURSE_DATA_SOURCE=folder (implied by COURSE_DATA_DIR): the learner's own photos, a folder of class folders.

The loader and the file checks are helpers.data.load_folder; nothing is downloaded.
"""

from helpers.folders import image_folder_problem
from helpers.sources.entry import Source


def load(settings):
    """The folder's photos, split and capped as the settings say (helpers.data.load_folder)."""
    from helpers import data

    return data.load_folder(settings.data_dir, settings.train_images, settings.eval_images, settings.seed)


def status(settings):
    """(the folder, whether it is a folder, what to do if not)."""
    if not settings.data_dir:
        return "COURSE_DATA_DIR is not set", False, "Set COURSE_DATA_DIR to a folder of class folders."
    problem = image_folder_problem(settings.data_dir)
    return settings.data_dir, not problem, problem


def problem(settings):
    """The sentence `make run` stops with when the folder cannot be used."""
    return image_folder_problem(settings.data_dir)


SOURCE = Source(
    name="folder",
    what="the image folder (COURSE_DATA_DIR)",
    load=load,
    status=status,
    ready=lambda settings: bool(settings.data_dir) and not image_folder_problem(settings.data_dir),
    problem=problem,
)
