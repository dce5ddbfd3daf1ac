"""`make prefetch`: download TFDS cats_vs_dogs and the bases' ImageNet weights into the course cache.

Run it once on a connected machine; then copy the cache folder (COURSE_CACHE_DIR, default cache/)
to every machine that should run the course offline. Weight files are hash-checked.
"""

import sys

from helpers import import_tensorflow_quietly

import_tensorflow_quietly()  # load_tfds needs TensorFlow; its start-up lines need not reach the terminal

from helpers.config import load_settings
from helpers.data import load_tfds
from helpers.offline import (
    WEIGHT_FILES,
    DataUnavailable,
    WeightsUnavailable,
    download_weights,
    network_available,
    tfds_data_dir,
    tfds_host,
    tfds_prepared,
    weights_host,
)


def download_hosts():
    """Every host `make prefetch` downloads from: TFDS's for the photos, Keras's for the weights."""
    return sorted({tfds_host(), *(weights_host(base_model) for base_model in WEIGHT_FILES)})


def main():
    """Fill the cache; print where everything went. Exit 1 with one sentence when offline."""
    cache_dir = load_settings().cache_dir
    unreachable = [host for host in download_hosts() if not network_available(host)]
    if unreachable:
        print(
            f"No network to {' or '.join(unreachable)}: `make prefetch` needs to download about 900 MB from "
            f"{' and '.join(download_hosts())}. Run it on a connected machine and copy {cache_dir} here."
        )
        return 1
    try:
        for base_model in WEIGHT_FILES:
            print(f"weights for {base_model}: {download_weights(base_model, cache_dir)}")
        load_tfds(cache_dir, 0, 0)
    except (WeightsUnavailable, DataUnavailable) as error:
        print(error)
        return 1
    assert tfds_prepared(cache_dir)
    print(f"TFDS cats_vs_dogs: {tfds_data_dir(cache_dir)}")
    print(f"Done. Copy {cache_dir} to each machine (same path, or set COURSE_CACHE_DIR).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
