# %% [markdown]
# # 06 · Feature extraction: the fast workflow
#
# **What you will learn**
# - the guide's second workflow, which it describes but never shows: run the frozen base **once**
#   over the data, keep its outputs, and train the head on those;
# - how much faster that is than training the head through the frozen base, measured here;
# - what it costs (no augmentation, no fine-tuning) and when each workflow is the right choice.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import json
import time
from pathlib import Path

import keras
import numpy as np

from helpers import data, models
from helpers.plots import plot_curves
from helpers.tables import Table

course_data = notebook.explain_errors(data.load_data, settings)
train_ds, validation_ds, _ = data.datasets_for_training(course_data, settings)
base_model = notebook.explain_errors(models.base_from_settings, settings)
base_model.trainable = False
print(course_data.description, course_data.sizes)

# %% [markdown]
# ## Extract the features once
# The extractor is the frozen base with its scaling and pooling: one 1-D feature vector per image.
# Training images go through *without* augmentation: the features are computed once, so a random
# flip would be frozen into them anyway.

# %%
inputs = keras.Input((settings.image_size, settings.image_size, 3))
x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
features_out = keras.layers.GlobalAveragePooling2D()(base_model(x, training=False))
extractor = keras.Model(inputs, features_out)

plain = dict(image_size=settings.image_size, batch_size=settings.batch_size, training=False)
splits = {"train": data.pipeline(course_data.train, **plain), "validation": validation_ds}
features, labels = {}, {}
started = time.perf_counter()
for name, dataset in splits.items():
    features[name] = extractor.predict(dataset, verbose=0)
    labels[name] = np.concatenate([y.numpy() for _, y in dataset])
extraction_seconds = time.perf_counter() - started

feature_dir = Path(settings.build_dir) / "features"
feature_dir.mkdir(parents=True, exist_ok=True)
for name in features:
    np.save(feature_dir / f"{name}_features.npy", features[name])
    np.save(feature_dir / f"{name}_labels.npy", labels[name])
print(f"extracted {sum(len(f) for f in features.values())} feature vectors of width "
      f"{features['train'].shape[1]} in {extraction_seconds:.1f} s; saved under {feature_dir}")
assert features["train"].shape == (course_data.sizes["train"], base_model.output.shape[-1])

# %% [markdown]
# ## Train the same head on the features
# The head is the one from notebook 05, dropout and one Dense unit, now on vectors instead of images.

# %%
def new_head():
    head_inputs = keras.Input((features["train"].shape[1],))
    head = keras.Model(head_inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(head_inputs)))
    head.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                 metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    return head


keras.utils.set_random_seed(settings.seed)
head = new_head()
started = time.perf_counter()
fast_history = head.fit(features["train"], labels["train"], batch_size=settings.batch_size,
                        epochs=settings.epochs_head, validation_data=(features["validation"], labels["validation"]),
                        verbose=0)
fast_seconds_per_epoch = (time.perf_counter() - started) / settings.epochs_head

# %% [markdown]
# ## The same head, trained through the frozen base
# This is notebook 05's head training: every epoch runs every (augmented) image through the base.

# %%
keras.utils.set_random_seed(settings.seed)
end_to_end = keras.Model(inputs, new_head()(features_out))
end_to_end.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                   metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
started = time.perf_counter()
slow_history = end_to_end.fit(train_ds, epochs=settings.epochs_head, validation_data=validation_ds, verbose=0)
slow_seconds_per_epoch = (time.perf_counter() - started) / settings.epochs_head

# %%
comparison = Table(
    ["workflow", "seconds per epoch", "final validation accuracy"],
    [["feature extraction (head only)", fast_seconds_per_epoch, fast_history.history["val_binary_accuracy"][-1]],
     ["through the frozen base", slow_seconds_per_epoch, slow_history.history["val_binary_accuracy"][-1]]],
    title=f"Same data, same head, {settings.epochs_head} epochs; extraction itself took {extraction_seconds:.1f} s",
)
display(comparison)
plot_curves({"feature extraction": fast_history, "through the base": slow_history}, title="Head training");
speedup = slow_seconds_per_epoch / fast_seconds_per_epoch
print(f"feature extraction trains the head {speedup:.0f}x faster per epoch")
assert speedup > 1, "an epoch over stored vectors must beat an epoch through the base"

results = dict(
    settings=settings.__dict__, extraction_seconds=extraction_seconds,
    feature_seconds_per_epoch=fast_seconds_per_epoch, end_to_end_seconds_per_epoch=slow_seconds_per_epoch,
    feature_val_accuracy=fast_history.history["val_binary_accuracy"][-1],
    end_to_end_val_accuracy=slow_history.history["val_binary_accuracy"][-1],
)
notebook.results_path(settings, "06_feature_extraction").write_text(json.dumps(results, indent=2))

# %% [markdown]
# ## Which workflow when
# - **Feature extraction** costs one pass of the base, then each epoch is nearly free. Use it to try
#   heads, learning rates and epochs quickly, on small data, or on a machine without a GPU.
# - **Through the base** runs the base every epoch. It is the only way to use random augmentation
#   (each epoch sees new versions of the images) and the necessary first step before fine-tuning,
#   which needs the base inside the model. With little data, augmentation often wins back accuracy.
# - A common path: explore with features, then train the chosen head through the base and fine-tune.

# %% [markdown]
# ## Exercises
# **1.** Extraction took `extraction_seconds`, and each epoch through the base takes
# `slow_seconds_per_epoch`. After how many epochs (round up) does extracting first pay off? Compute
# it from this run's numbers.

# %%
from helpers import exercises

my_break_even = ...
exercises.check_break_even(my_break_even, extraction_seconds, fast_seconds_per_epoch, slow_seconds_per_epoch);

# %% [markdown]
# ### Reference solution

# %%
import math

assert exercises.check_break_even(
    math.ceil(extraction_seconds / (slow_seconds_per_epoch - fast_seconds_per_epoch)),
    extraction_seconds, fast_seconds_per_epoch, slow_seconds_per_epoch,
)
