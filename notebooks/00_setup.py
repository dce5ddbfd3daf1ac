# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Check your setup
#
# **What you will learn:** whether this machine can run the course, which settings are in force, and
# where the photos and the pretrained weights will come from.
#
# Run this notebook first. It never downloads anything and it works offline: whatever it cannot
# find, it tells you how to get.

# %%
from helpers import notebook

settings = notebook.start()

# %% [markdown]
# ## Profiles
# A profile sets every setting at once; `COURSE_PROFILE` picks it (`quick` when unset), and each
# `COURSE_*` variable overrides one setting.
# - `smoke`: seconds. Synthetic images and random weights: it checks that the code runs, and its
#   cat-and-dog accuracies mean nothing. Notebooks 01 to 04 use small data of their own and give the
#   same results under every profile.
# - `quick`: minutes on a laptop's CPU. Real photos, a 68 MB download, and ImageNet weights on a small base.
# - `full`: the guide's data, about 800 MB, and its base, Xception. Hours on a CPU; a GPU makes it practical.
#
# Pick one for the whole course with, for example, `COURSE_PROFILE=smoke make run`. In Jupyter, set it
# before you start the server. The table is read from the course's settings:

# %%
from helpers.config import DEFAULT_BASE, DEFAULT_PROFILE, PROFILES
from helpers.tables import Table

display(Table(["profile", "data", "weights", "base"],
              [[name, profile["data_source"], profile["weights"], DEFAULT_BASE[name]] for name, profile in PROFILES.items()]))
print("without COURSE_PROFILE:", DEFAULT_PROFILE, "; in force now:", settings.profile)

# %% [markdown]
# ## Versions
# The course's claims were checked on the versions pinned in `requirements.txt`. This cell stops if
# Keras or TensorFlow is not the pinned minor version.

# %%
import platform

import keras
import tensorflow as tf
import tensorflow_datasets as tfds

versions = {"Python": platform.python_version(), "TensorFlow": tf.__version__,
            "Keras": keras.__version__, "TFDS": tfds.__version__, "Keras backend": keras.backend.backend()}
display(Table(["package", "version"], versions.items()))
assert keras.__version__.startswith("3.15"), "The course is checked on Keras 3.15: run `make setup`."
assert tf.__version__.startswith("2.21"), "The course is checked on TensorFlow 2.21: run `make setup`."
print(f"Keras backend: {keras.backend.backend()} (set KERAS_BACKEND to change it; the input pipelines use "
      "tf.data, which feeds every backend)")

# %% [markdown]
# ## Devices
# Everything in the course runs on a CPU. A GPU makes the `full` profile practical, nothing more.

# %%
devices = tf.config.list_physical_devices()
display(Table(["device", "type"], [(d.name, d.device_type) for d in devices]))
gpus = [d for d in devices if d.device_type == "GPU"]
print(f"TensorFlow sees {len(gpus)} GPU(s).")
if not gpus:
    print("No GPU found: fine for the smoke and quick profiles; the full profile will take hours.")

# %% [markdown]
# ## Data and weights
# The profile decides where the images and the base model's weights come from: `quick` reads TensorFlow's
# `cats_and_dogs_filtered` photos, `full` the guide's TFDS `cats_vs_dogs`. Nothing is downloaded here; the table says whether each is cached, downloadable, or missing,
# and what to do if missing.

# %%
from helpers.notebook import availability_table, network_lines

for line in network_lines(settings):  # one line per download host: can this machine reach it?
    print(line)
display(availability_table(settings))

# %% [markdown]
# Every data source the course knows (`COURSE_DATA_SOURCE`), whether its data is already here, and how to
# get it. `flowers` swaps the cats and dogs for TensorFlow's tutorial photos: 3,670 flowers in five classes
# (TFDS `tf_flowers`, about 230 MB), fetched by `COURSE_PREFETCH_FLOWERS=1 make prefetch`.

# %%
from helpers.notebook import sources_table

display(sources_table(settings))

# %% [markdown]
# If a row says **NOT AVAILABLE**: on a machine with network, `make prefetch` fills `cache/`
# (or the folder `COURSE_CACHE_DIR` names); copy that folder to this machine. Or bring your own
# photos: `COURSE_DATA_DIR=/path/to/folder` with one subfolder per class (two or more, for example
# `cat/` and `dog/`). Offline, `make run`
# replaces missing photos or weights by synthetic images or random weights, but only for settings
# you left at their defaults, and says which; a setting you chose that cannot be met stops it.
