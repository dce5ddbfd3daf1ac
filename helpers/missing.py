"""What the course says when data or weights are missing: the two errors, and the advice they share."""

from helpers import network


class DataUnavailable(RuntimeError):
    """The data asked for is neither cached nor downloadable."""


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


PREFETCH_ADVICE = "run `make prefetch` on a connected machine and copy the cache folder here"
OWN_PHOTOS_ADVICE = "use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>"
OFFLINE_ADVICE = "Not cached and no network: run `make prefetch` on a connected machine, copy cache/."


def stand_ins(synthetic_images, random_weights):
    """ "synthetic images and random weights", or the one of them in use ('' for neither)."""
    return " and ".join(
        text for text, used in (("synthetic images", synthetic_images), ("random weights", random_weights)) if used
    )


def download_status(where, host, size):
    """(where, can it be had, what to do): downloadable on first use when `host` answers, else the advice."""
    if network.network_available(host):
        return f"{where} (downloads about {size} from {host} on first use)", True, ""
    return where, False, f"{OFFLINE_ADVICE} (no network to {host})"


def data_missing_message(what_is_missing, reason):
    """The sentence for data that is not cached and could not be downloaded: "<what_is_missing> and could not ..."."""
    return (
        f"{what_is_missing} and could not be downloaded ({reason}): {PREFETCH_ADVICE} (or set COURSE_CACHE_DIR "
        f"to it), or {OWN_PHOTOS_ADVICE}."
    )
