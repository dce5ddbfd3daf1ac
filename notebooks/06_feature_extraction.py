# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Feature extraction: the fast workflow, and why transfer works
#
# **What you will learn**
# - the guide's second workflow, which it describes but never shows: run the frozen base **once**
#   over the data, keep its outputs, and train the head on those;
# - how much faster that is than training the head through the frozen base, measured here;
# - why transfer learning works at all: the same head on ImageNet features and on random features;
# - that a head trained on features can go back on the base and be fine-tuned.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import time

import keras
import numpy as np

from helpers import data, models, offline
from helpers.pipelines import pipeline
from helpers.plots import plot_curves
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = offline.resolve_weights(settings)
size, batch_size = settings.image_size, settings.batch_size
train_ds = pipeline(course_data.train, size, batch_size, training=True, seed=settings.seed)
validation_ds = pipeline(course_data.validation, size, batch_size, training=False)
print(course_data.description, course_data.sizes)

# %% [markdown]
# ## Extract the features once
# The extractor is notebook 05's model up to the pooling: scaling, the frozen base, average pooling.
# One feature vector per image. Training images go through *without* augmentation: the features are
# computed once, so a random flip would be frozen into them anyway.


# %%
def feature_extractor(base_weights):
    """Scaling, the frozen base (notebook 05's `build_base`), average pooling: one vector per image."""
    base_model = models.build_base(settings.base_model, size, base_weights)
    base_model.trainable = False
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = base_model(x, training=False)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)), base_model


def extract(extractor):
    """Features and labels of the (unaugmented) training and validation splits."""
    splits = {"train": pipeline(course_data.train, size, batch_size, training=False), "validation": validation_ds}
    return {name: (extractor.predict(ds, verbose=0), np.concatenate([y.numpy() for _, y in ds]))
            for name, ds in splits.items()}


extractor, base_model = feature_extractor(weights)
started = time.perf_counter()
features = extract(extractor)
extraction_seconds = time.perf_counter() - started
(train_features, train_labels), (validation_features, validation_labels) = features.values()
print(f"{len(train_features) + len(validation_features)} feature vectors of width {train_features.shape[1]} "
      f"in {extraction_seconds:.1f} s")
assert train_features.shape == (course_data.sizes["train"], base_model.output.shape[-1])

# %% [markdown]
# ## Train notebook 05's head on the features
# The same head as notebook 05: dropout and one Dense unit, compiled the same way; its input is now
# a vector instead of the pooled output of the base.


# %%
def new_head(width):
    """Notebook 05's head, dropout and Dense(1), as a model that takes feature vectors."""
    inputs = keras.Input((width,))
    x = keras.layers.Dropout(0.2)(inputs)
    outputs = keras.layers.Dense(1)(x)
    head = keras.Model(inputs, outputs)
    head.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                 metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    return head


def train_head_on(train_x, validation_x):
    """A new head trained on feature vectors; returns (head, history, seconds per epoch)."""
    keras.utils.set_random_seed(settings.seed)
    head = new_head(train_x.shape[1])
    started = time.perf_counter()
    history = head.fit(train_x, train_labels, batch_size=batch_size, epochs=settings.epochs_head,
                       validation_data=(validation_x, validation_labels), verbose=0)
    return head, history, (time.perf_counter() - started) / settings.epochs_head


head, fast_history, fast_seconds_per_epoch = train_head_on(train_features, validation_features)

# %% [markdown]
# ## The same head, trained through the frozen base
# Notebook 05's way: every epoch runs every (augmented) image through the base.

# %%
keras.utils.set_random_seed(settings.seed)
end_to_end = keras.Model(extractor.input, new_head(train_features.shape[1])(extractor.output))
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

# %% [markdown]
# ## Why transfer learning works
# The head above learns from what ImageNet taught the base. Give the same head the features of the
# same architecture with **random** weights, and there is little left to learn from.

# %%
random_extractor, _ = feature_extractor(None)
random_features = extract(random_extractor)
_, random_history, _ = train_head_on(random_features["train"][0], random_features["validation"][0])
transfer = {"this run's weights": fast_history.history["val_binary_accuracy"][-1],
            "random weights": random_history.history["val_binary_accuracy"][-1]}
display(Table(["base weights", "validation accuracy of the same head"], transfer.items()))
if settings.uses_pretrained_weights:
    assert transfer["this run's weights"] - transfer["random weights"] >= 0.15, "pretrained features must help"
else:
    print("This run's base has random weights too, so both rows are random features.")

# %% [markdown]
# ## From features back to fine-tuning
# Training through the base is not the only road to fine-tuning. The head trained on features can be
# put on top of the base it came from, since the features are exactly what that base computes, and
# the whole model fine-tuned from there, with BatchNormalization frozen and a small learning rate.

# %%
model = keras.Model(extractor.input, head(extractor.output))
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
before = model.evaluate(validation_ds, return_dict=True, verbose=0)["binary_accuracy"]
assert abs(before - head.evaluate(validation_features, validation_labels, verbose=0)[1]) < 1e-6
models.unfreeze_keep_batchnorm_frozen(base_model)
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
finetune_history = model.fit(train_ds, epochs=1, validation_data=validation_ds, verbose=0)
after = finetune_history.history["val_binary_accuracy"][-1]
print(f"validation accuracy: head from features {before:.4f}; after one epoch of fine-tuning {after:.4f}")

notebook.save_results(
    settings, "06_feature_extraction", extraction_seconds=extraction_seconds,
    feature_seconds_per_epoch=fast_seconds_per_epoch, end_to_end_seconds_per_epoch=slow_seconds_per_epoch,
    feature_val_accuracy=transfer["this run's weights"], random_features_val_accuracy=transfer["random weights"],
    end_to_end_val_accuracy=slow_history.history["val_binary_accuracy"][-1],
    finetune_from_features_before=before, finetune_from_features_after=after,
)

# %% [markdown]
# ## Which workflow when (advice)
# - **Feature extraction** costs one pass of the base, then each epoch is nearly free. Use it to try
#   heads, learning rates and epochs quickly, on small data, or on a machine without a GPU.
# - **Through the base** runs the base every epoch. It is the only one of the two that can use random
#   augmentation, since each epoch sees new versions of the images. Whether that wins accuracy
#   depends on the data: compare the two rows of the table above for this run.
# - A common path: explore with features, then put the chosen head on the base and fine-tune.

# %% [markdown]
# ## Exercises
# **1.** Extraction took `extraction_seconds`, and each epoch through the base takes
# `slow_seconds_per_epoch`. After how many epochs (round up) does extracting first pay off? Compute
# it from this run's numbers.

# %%
from helpers import exercises

my_break_even = ...
exercises.check_break_even(my_break_even, extraction_seconds, fast_seconds_per_epoch, slow_seconds_per_epoch);

# %% [markdown] tags=["solution"]
# ### Reference solution

# %% tags=["solution"]
import math

assert exercises.check_break_even(
    math.ceil(extraction_seconds / (slow_seconds_per_epoch - fast_seconds_per_epoch)),
    extraction_seconds, fast_seconds_per_epoch, slow_seconds_per_epoch,
)
