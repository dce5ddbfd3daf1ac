"""The course cache's layout (COURSE_CACHE_DIR, filled by `make prefetch`): where Keras's downloads go."""

import os
from pathlib import Path


def keras_cache_dir(cache_dir):
    """The folder that holds Keras's downloads (weights in models/, archives in datasets/) in the course cache."""
    return Path(cache_dir) / "keras"


def writable_folder(folder):
    """Create `folder` if needed; True when files can be written there.

    Asked before every keras.utils.get_file: it quietly writes to /tmp/.keras when the folder it is given
    is missing or read-only.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
