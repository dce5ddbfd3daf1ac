"""`make prefetch`: download what the profiles need into the course cache, with Keras's progress bars.

By default: both bases' ImageNet weights (hash-checked) and every data source that `make prefetch` fetches
by default (today the quick profile's photos, TensorFlow's cats_and_dogs_filtered.zip, about 68 MB,
extracted), about 155 MB in all. A source with a COURSE_PREFETCH_* setting is fetched too when it is 1:
COURSE_PREFETCH_FULL=1 for the full profile's TFDS cats_vs_dogs (about 800 MB more, prepared by TFDS),
COURSE_PREFETCH_FLOWERS=1 for TFDS tf_flowers (about 230 MB more). The sources are helpers.sources.SOURCES.
Run it once on a connected machine; then copy the cache folder (COURSE_CACHE_DIR, default cache/)
to every machine that should run the course offline.
"""

import os
import sys

from commands import argument_parser
from helpers import downloads, import_tensorflow_quietly
from helpers.bases import BASES
from helpers.config import load_settings
from helpers.downloads import DataUnavailable, WeightsUnavailable
from helpers.pretrained import download_weights, weights_host
from helpers.sources import SOURCES

WEIGHTED_BASES = [name for name, base in BASES.items() if base.weights_file]  # the bases with an ImageNet file
WEIGHTS_MB = 87  # both bases' ImageNet files (Xception's 83 MB, MobileNetV2 0.35's 2 MB), rounded up


def wanted(source, env=None):
    """True when `make prefetch` fetches `source`: by default, or when its COURSE_PREFETCH_* setting is 1."""
    if source.prefetch is None:
        return False
    env = os.environ if env is None else env
    return not source.prefetch_variable or env.get(source.prefetch_variable, "").strip() == "1"


def fetched_sources(env=None):
    """The data sources (table entries) `make prefetch` fetches with these settings, in the table's order."""
    return [source for source in SOURCES.values() if wanted(source, env)]


def download_hosts(env=None):
    """Every host `make prefetch` downloads from: the fetched sources' hosts and Keras's for the weights."""
    hosts = {*(source.host() for source in fetched_sources(env)), *(weights_host(base) for base in WEIGHTED_BASES)}
    return sorted(host for host in hosts if host)


def main(argv=None):
    """Fill the cache; print where everything went; return 0, or 1 with one sentence when offline.

    `argv` takes only --help: what to fetch is chosen with the COURSE_PREFETCH_* settings.
    """
    argument_parser("make prefetch", __doc__).parse_args(argv)
    settings = load_settings()
    cache_dir = settings.cache_dir
    fetched = fetched_sources()
    hosts = download_hosts()
    unreachable = [host for host in hosts if not downloads.network_available(host)]
    if unreachable:
        size = WEIGHTS_MB + sum(source.size_mb for source in fetched)
        print(
            f"No network to {' or '.join(unreachable)}: `make prefetch` needs to download about {size} MB from "
            f"{' and '.join(hosts)}. Run it on a connected machine and copy {cache_dir} here."
        )
        return 1
    import_tensorflow_quietly()  # Keras downloads: TensorFlow's start-up lines need not reach the terminal
    try:
        for base_model in WEIGHTED_BASES:
            print(f"weights for {base_model}: {download_weights(base_model, cache_dir)}")
        for source in fetched:
            print(source.prefetch(cache_dir))
    except (WeightsUnavailable, DataUnavailable) as error:
        print(error)
        return 1
    for source in SOURCES.values():
        if source.prefetch is not None and source not in fetched and not source.ready(settings):
            print(
                f"{source.what} ({source.used_by}, about {source.size_mb} MB more) was not fetched: run "
                f"`{source.prefetch_command}` to fetch it too."
            )
    print(f"Done. Copy {cache_dir} to each machine (same path, or set COURSE_CACHE_DIR).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
