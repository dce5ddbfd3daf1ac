"""The data sources the course knows: one module per source in this package, one table entry each.

A source is one module here that defines `SOURCE = Source(...)` (helpers/sources/entry.py): its
COURSE_DATA_SOURCE name, whether its data can be had now (notebook 00's table, `make run`), where it
downloads from, how to load it, how `make prefetch` fetches it, and whether `make run` may replace it by
synthetic images when it cannot. Every other place (settings, notebook 00, `make run`'s offline fallback,
`make prefetch`, helpers.data.load_data) loops over SOURCES, so adding a source is adding its module.
"""

import importlib
import pkgutil
import sys

from helpers.sources.entry import Source

__all__ = ["CLASS_NAMES", "SOURCES", "Source", "data_host", "data_status", "sources_of"]

# The classes of the cats-and-dogs sources (filtered, tfds) and of two-class synthetic images: label 0 is cat,
# 1 is dog, as in TFDS cats_vs_dogs, so a logit above 0 means dog. Defined before SOURCES: the sources'
# modules, imported below, read it.
CLASS_NAMES = ("cat", "dog")


def sources_of(package):
    """{name: Source} of every module of `package` that defines SOURCE, in the modules' alphabetical order."""
    table = {}
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        source = getattr(module, "SOURCE", None)
        if source is not None:
            if source.name in table:
                raise ValueError(f"Two modules of {package.__name__} define the data source {source.name!r}.")
            table[source.name] = source
    return table


SOURCES = sources_of(sys.modules[__name__])


def data_status(settings):
    """(where the settings' data comes from, whether it can be had, what to do if not). Probes only when needed."""
    return SOURCES[settings.data_source].status(settings)


def data_host(settings):
    """The host the settings' data is downloaded from, or None when it needs no download."""
    return SOURCES[settings.data_source].host()
