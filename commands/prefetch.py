"""`make prefetch`: download what the profiles need into the course cache, with Keras's progress bars.

By default: the quick profile's photos (TensorFlow's cats_and_dogs_filtered.zip, about 68 MB, extracted)
and both bases' ImageNet weights (hash-checked), about 155 MB in all. With COURSE_PREFETCH_FULL=1 also
the full profile's TFDS cats_vs_dogs (about 800 MB more, prepared by TFDS).
Run it once on a connected machine; then copy the cache folder (COURSE_CACHE_DIR, default cache/)
to every machine that should run the course offline.
"""

import os
import sys

from helpers import import_tensorflow_quietly, network
from helpers.bases import BASES
from helpers.config import load_settings
from helpers.filtered import FILTERED_NAME, filtered_host, filtered_layout
from helpers.missing import DataUnavailable, WeightsUnavailable
from helpers.pretrained import download_weights, weights_host
from helpers.tfds_cache import tfds_data_dir, tfds_host, tfds_prepared

FULL_VARIABLE = "COURSE_PREFETCH_FULL"  # set to 1 to fetch the full profile's TFDS cats_vs_dogs too
WEIGHTED_BASES = [name for name, base in BASES.items() if base.weights_file]  # the bases with an ImageNet file


def wants_full(env=None):
    """True when COURSE_PREFETCH_FULL=1 asks for the full profile's data too."""
    return (os.environ if env is None else env).get(FULL_VARIABLE, "").strip() == "1"


def download_hosts(full=False):
    """Every host `make prefetch` downloads from: the photos' hosts and Keras's for the weights."""
    hosts = {filtered_host(), *(weights_host(base_model) for base_model in WEIGHTED_BASES)}
    if full:
        hosts.add(tfds_host())
    return sorted(host for host in hosts if host)


def download_filtered(cache_dir):
    """The quick profile's photos, downloaded if needed, then every photo checked (damaged ones repaired)."""
    import_tensorflow_quietly()  # helpers.data needs TensorFlow; its start-up lines need not reach the terminal
    from helpers.data import filtered_photos

    return filtered_photos(cache_dir)


def load_tfds(cache_dir):
    """Download and prepare the full profile's TFDS cats_vs_dogs in the cache."""
    import_tensorflow_quietly()
    from helpers import data

    return data.load_tfds(cache_dir, 0, 0)


def main():
    """Fill the cache; print where everything went. Exit 1 with one sentence when offline."""
    cache_dir = load_settings().cache_dir
    full = wants_full()
    hosts = download_hosts(full)
    unreachable = [host for host in hosts if not network.network_available(host)]
    if unreachable:
        print(
            f"No network to {' or '.join(unreachable)}: `make prefetch` needs to download about "
            f"{'950' if full else '155'} MB from {' and '.join(hosts)}. Run it on a connected machine and "
            f"copy {cache_dir} here."
        )
        return 1
    try:
        for base_model in WEIGHTED_BASES:
            print(f"weights for {base_model}: {download_weights(base_model, cache_dir)}")
        folder = download_filtered(cache_dir)  # every photo checked; damaged ones extracted again, and said
        counts = filtered_layout(folder)
        print(f"{FILTERED_NAME} (quick profile): {folder} ({_counts(counts)})")
        if full:
            load_tfds(cache_dir)
            assert tfds_prepared(cache_dir)
            print(f"TFDS cats_vs_dogs (full profile): {tfds_data_dir(cache_dir)}")
    except (WeightsUnavailable, DataUnavailable) as error:
        print(error)
        return 1
    if not full and not tfds_prepared(cache_dir):
        print(
            "The full profile's TFDS cats_vs_dogs (about 800 MB more) was not fetched: run "
            f"`{FULL_VARIABLE}=1 make prefetch` to fetch it too."
        )
    print(f"Done. Copy {cache_dir} to each machine (same path, or set COURSE_CACHE_DIR).")
    return 0


def _counts(counts):
    return ", ".join(f"{split} {' + '.join(str(n) for n in classes.values())}" for split, classes in counts.items())


if __name__ == "__main__":
    sys.exit(main())
