"""What the course says when data or weights are missing: the two errors, and the advice they share."""

from helpers import network


class DataUnavailable(RuntimeError):
    """The data asked for is neither cached nor downloadable."""


class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached nor downloadable."""


def prefetch_command(variable=""):
    """The command that fetches a source: `make prefetch`, or, for a source fetched only when asked,
    `COURSE_PREFETCH_FLOWERS=1 make prefetch` (its `variable`)."""
    return f"{variable}=1 make prefetch" if variable else "make prefetch"


def prefetch_advice(variable=""):
    """ "run `make prefetch` on a connected machine ...", with the COURSE_PREFETCH_* setting a source needs."""
    return f"run `{prefetch_command(variable)}` on a connected machine and copy the cache folder here"


def offline_advice(variable=""):
    """What a status row says to do when something is neither cached nor downloadable."""
    return f"Not cached and no network: run `{prefetch_command(variable)}` on a connected machine, copy cache/."


PREFETCH_ADVICE = prefetch_advice()
OWN_PHOTOS_ADVICE = "use your own photos with COURSE_DATA_DIR=<folder with cat/ and dog/>"
OFFLINE_ADVICE = offline_advice()


def stand_ins(synthetic_images, random_weights):
    """ "synthetic images and random weights", or the one of them in use ('' for neither)."""
    return " and ".join(
        text for text, used in (("synthetic images", synthetic_images), ("random weights", random_weights)) if used
    )


def download_status(where, host, size, variable=""):
    """(where, can it be had, what to do): downloadable on first use when `host` answers, else the advice.

    `variable`: the COURSE_PREFETCH_* setting that makes `make prefetch` fetch it ('' when it does by default).
    """
    if network.network_available(host):
        return f"{where} (downloads about {size} from {host} on first use)", True, ""
    return where, False, f"{offline_advice(variable)} (no network to {host})"


def data_missing_message(what_is_missing, reason, variable=""):
    """The sentence for data that is not cached and could not be downloaded: "<what_is_missing> and could not ..."."""
    return (
        f"{what_is_missing} and could not be downloaded ({reason}): {prefetch_advice(variable)} (or set "
        f"COURSE_CACHE_DIR to it), or {OWN_PHOTOS_ADVICE}."
    )
