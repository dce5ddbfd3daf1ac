# %% [markdown]
# # 04 · The cats-vs-dogs data and a pipeline that really augments
#
# **What you will learn**
# - where the images come from (TFDS, your own folder, or synthetic stripes) and how they are split;
# - what random augmentation does to one photo;
# - a fault in the guide's pipeline: it caches *after* augmenting, so every epoch after the first
#   replays the first epoch's "random" images; and it never shuffles. Ours fixes both, and is faster.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import time

import numpy as np
import tensorflow as tf

from helpers import data
from helpers.plots import image_grid
from helpers.tables import Table

# %% [markdown]
# ## Load and split
# `data.load_data` picks the source from the settings. A folder is split 70/15/15 with the seed, so
# the split is the same on every machine; TFDS uses the guide's 40/10/10 slices. Unreadable files
# (truncated, empty, not images) are skipped and reported once.

# %%
course_data = notebook.explain_errors(data.load_data, settings)
print(course_data.description)


def class_counts(dataset):
    counts = np.zeros(len(course_data.class_names), int)
    for _, label in dataset:
        counts[int(label)] += 1
    return counts


rows = []
for split in ("train", "validation", "test"):
    counts = class_counts(getattr(course_data, split))
    assert counts.sum() == course_data.sizes[split], f"{split}: counted {counts.sum()}"
    rows.append([split, int(counts.sum()), *counts, f"{counts[1] / counts.sum():.0%}"])
display(Table(["split", "images", *course_data.class_names, f"share of {course_data.class_names[1]}"], rows))
assert all(row[1] > 0 for row in rows)

# %% [markdown]
# ## The first nine training images
# Real photos come in all sizes; each title is the class name of its label.

# %%
first_nine = list(course_data.train.take(9))
image_grid([image for image, _ in first_nine], [course_data.class_names[int(label)] for _, label in first_nine]);

# %% [markdown]
# ## Augmentation
# A random horizontal flip and a random rotation of up to 10 % of a full turn (±36°). Nine draws for
# the same image:

# %%
image, label = first_nine[0]
resized = tf.image.resize(image, (settings.image_size, settings.image_size))[None]
layers = data.augmentation_layers(seed=settings.seed)
draws = [data.augment(resized, layers)[0] for _ in range(9)]
image_grid(draws, [course_data.class_names[int(label)]] * 9);
assert len({float(tf.reduce_sum(d)) for d in draws}) > 1, "augmentation produced identical images"

# %% [markdown]
# ## The guide's pipeline next to ours
# The guide: `map(resize)`, `map(augment)`, `batch`, `prefetch`, **then `cache`**. The cache is filled
# in epoch 1 with already-augmented images, and from epoch 2 on it replays them.
#
# Ours: decode and resize in parallel, **cache the plain resized images**, shuffle (seeded, a new
# order every epoch), batch, augment whole batches, prefetch. The random part comes after the cache.
#
# To see which images repeat, we tag every image with its index (in place of the label) and compare
# each image between epoch 1 and epoch 2.

# %%
from helpers.bench import indexed, pipeline_throughput, repeated_share

size, batch = settings.image_size, settings.batch_size
guide_repeats = repeated_share(lambda ds: data.guide_pipeline(ds, size, batch, training=True), course_data.train)
our_repeats = repeated_share(
    lambda ds: data.pipeline(ds, size, batch, training=True, seed=settings.seed), course_data.train
)
print(f"identical in epochs 1 and 2: guide {guide_repeats:.0%}, ours {our_repeats:.0%}")
assert guide_repeats == 1.0, "the guide's cache replays epoch 1"
assert our_repeats < 0.5, "our augmentation must be fresh each epoch"

# %% [markdown]
# With a flip that has a 50 % chance, an identical image in ours means both epochs drew "no flip" and
# a near-zero rotation, which is rare. Ours also shuffles: the order of epoch 2 differs from epoch 1.

# %%
def label_order(dataset):
    return np.concatenate([labels.numpy() for _, labels in dataset])


first_64 = indexed(course_data.train)
ours = data.pipeline(first_64, size, batch, training=True, seed=settings.seed)
guide = data.guide_pipeline(first_64, size, batch, training=True)
assert not np.array_equal(label_order(ours), label_order(ours)), "ours reshuffles each epoch"
assert np.array_equal(label_order(guide), np.arange(len(label_order(guide)))), "the guide never shuffles"

# %% [markdown]
# ## Speed
# Images per second through each pipeline, no model attached: epoch 1 (decode, resize, and the
# guide's augmentation) and epochs 2-3 (from the cache). `make bench` measures the same on a folder
# of real JPEGs and writes `build/bench.json`.

# %%
sample = course_data.train.take(256)
speed = {
    "guide": pipeline_throughput(data.guide_pipeline(sample, size, batch, training=True)),
    "ours": pipeline_throughput(data.pipeline(sample, size, batch, training=True, seed=settings.seed)),
}
display(Table(["pipeline", "epoch 1 images/s", "epochs 2-3 images/s"],
              [[name, *values] for name, values in speed.items()]))
assert all(value > 0 for values in speed.values() for value in values)

# %% [markdown]
# The guide's later epochs are fast because they do no work at all: they replay stale images. Ours
# pays for fresh augmentation every epoch, batched and parallel. With real JPEGs, epoch 1 is dominated
# by decoding, which ours spreads over all cores (`make bench` reports the ratio).

# %% [markdown]
# ## Exercises
# **1.** Put the steps of a correct pipeline in order. Use the names
# `"decode_resize", "cache", "shuffle", "batch", "augment", "prefetch"`.

# %%
from helpers import exercises

my_order = [...]
exercises.check_pipeline_order(my_order);

# %% [markdown]
# **2.** A folder of cat and dog photos holds 15 files: 10 good JPEGs, 3 truncated JPEGs and 2
# `Thumbs.db` files. How many images does the folder source use? (The check builds that folder.)

# %%
my_usable = ...
exercises.check_usable_count(my_usable);

# %% [markdown]
# ### Reference solutions

# %%
assert exercises.check_pipeline_order(["decode_resize", "cache", "shuffle", "batch", "augment", "prefetch"])
assert exercises.check_usable_count(10)
