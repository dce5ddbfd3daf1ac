"""A data source's table entry (helpers.sources.SOURCES): everything the course does with one source."""

from dataclasses import dataclass
from typing import Callable, Optional

from helpers.downloads import prefetch_command


def _always(settings):
    return True


def _nothing():
    return None


@dataclass(frozen=True)
class Source:
    """One data source (COURSE_DATA_SOURCE): its status, host, loader and prefetch, and what `make run` does
    when it is missing.

    Every function receives what it needs and imports TensorFlow only when called, so the table can be
    read by the commands and by helpers.config without importing it.
    """

    name: str  # the value of COURSE_DATA_SOURCE
    what: str  # its name in sentences ("the cats_and_dogs_filtered photos")
    load: Callable  # settings -> helpers.data.CourseData (train, validation, test)
    status: Callable  # settings -> (where the data comes from, whether it can be had, what to do if not)
    ready: Callable = _always  # settings -> True when the data is here, without a download
    host: Callable = _nothing  # () -> the host it downloads from, None when it downloads nothing
    prefetch: Optional[Callable] = None  # cache_dir -> one line saying what was fetched where; None: nothing to fetch
    prefetch_variable: str = ""  # '' : `make prefetch` fetches it; else the COURSE_PREFETCH_* that asks for it (=1)
    size_mb: int = 0  # what it downloads, in MB
    used_by: str = ""  # who needs it ("the quick profile"), in `make prefetch`'s lines
    classes: Callable = _nothing  # () -> the class names in label order, when the source fixes them
    replaceable: bool = False  # True: offline, `make run` may use synthetic images instead (if left at its default)
    # settings -> the sentence `make run` stops with when the data is missing and not replaceable
    problem: Optional[Callable] = None

    @property
    def prefetch_command(self):
        """The command that fetches this source into the cache."""
        return prefetch_command(self.prefetch_variable)
