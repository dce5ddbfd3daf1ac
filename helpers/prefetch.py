"""`make prefetch`: download TFDS cats_vs_dogs and the bases' ImageNet weights into the course cache.

Run it once on a connected machine; then copy the cache folder (COURSE_CACHE_DIR, default cache/)
to every machine that should run the course offline. Weight files are hash-checked by Keras.
"""

import sys

from helpers.availability import tfds_prepared
from helpers.config import load_settings
from helpers.data import DataUnavailable, load_tfds, tfds_data_dir
from helpers.models import WEIGHT_FILES, WeightsUnavailable, download_weights
from helpers.network import network_available


def main():
    """Fill the cache; print where everything went. Exit 1 with one sentence when offline."""
    cache_dir = load_settings().cache_dir
    if not network_available():
        print(f"No network: `make prefetch` needs to download about 900 MB. Run it on a connected machine "
              f"and copy {cache_dir} here.")
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
