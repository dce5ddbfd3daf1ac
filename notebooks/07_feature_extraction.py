# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Feature extraction: the fast workflow, and what pretrained weights bring
#
# **What you will learn**
# - the guide's second workflow, which it describes but never shows: run the frozen base **once**
#   over the data, keep its outputs, and train the head on those;
# - that the head uses what ImageNet taught the base: the same head on ImageNet features and on random
#   features, standardised, so that the comparison is about what the features hold and not about their scale;
# - how much faster that is than training the head through the frozen base, measured here;
# - a head on an earlier layer of the base, the guide's "output of one (or several) layers";
# - that a head trained on features can go back on the base and be fine-tuned.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import time

import keras
import numpy as np

from helpers import bases, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.plots import plot_curves
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = pretrained.resolve_weights(settings)
size, batch_size = settings.image_size, settings.batch_size
train_ds = pipeline(course_data.train, size, batch_size, training=True, seed=settings.seed)
validation_ds = pipeline(course_data.validation, size, batch_size, training=False)
print(course_data.description, course_data.sizes)

# %% [markdown]
# ## Extract the features once
# The extractor is notebook 06's model up to the pooling: scaling (for a base that does not scale its
# inputs itself, as notebook 06 says), the frozen base, average pooling.
# One feature vector per image. Training images go through *without* augmentation: the features are
# computed once, so a random flip would be frozen into them anyway.


# %%
def feature_extractor(base_weights):
    """Scaling (unless the base scales itself), the frozen base (notebook 06's `build_base`), average pooling."""
    base_model = models.build_base(settings.base_model, size, base_weights)
    base_model.trainable = False
    inputs = keras.Input((size, size, 3))
    x = inputs if bases.BASES[settings.base_model].scales_inputs else keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
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
assert train_features.shape == (course_data.sizes["train"], base_model.output.shape[-1]), "one vector per image"

# %% [markdown]
# ## Train notebook 06's head on the features
# The same head as notebook 06: dropout and a Dense layer, with one unit for two classes and one per
# class for more. It is compiled the same way. Its input is now a vector, not the pooled output of the base.


# %%
class_count = len(course_data.class_names)


def new_head(width):
    """Notebook 06's head, dropout and Dense, as a model that takes feature vectors."""
    inputs = keras.Input((width,))
    x = keras.layers.Dropout(0.2)(inputs)
    outputs = keras.layers.Dense(1 if class_count == 2 else class_count)(x)
    head = keras.Model(inputs, outputs)
    loss, accuracy = models.loss_and_metric(class_count)  # notebook 06's
    head.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=[accuracy])
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
# ## What the pretrained weights bring
# With ImageNet weights, the head above learns from what ImageNet taught the base. Give the same head
# the features of the same architecture with **random** weights, and there is a trap in the comparison:
# random weights change the *scale* of the features as well as what they hold. The table prints each
# extractor's mean |feature|, and the head's learning rate suits features of ordinary size. To compare
# what the features hold, not their scale, we also **standardise** every feature (subtract its mean
# over the training images, divide by its spread) before the same head. With pretrained weights the
# cell asserts that they beat the random ones, both standardised, by at least 0.1 of validation
# accuracy; with random weights it only prints.


# %%
def standardise(train_x, validation_x):
    """Both splits standardised feature by feature with the training features' mean and spread."""
    mean, spread = train_x.mean(axis=0), train_x.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)  # a feature that never varies stays 0
    return (train_x - mean) / spread, (validation_x - mean) / spread


random_extractor, _ = feature_extractor(None)
random_features = extract(random_extractor)
rows, raw, standardised = [], {}, {}
for name, splits in {"this run's weights": features, "random weights": random_features}.items():
    train_x, validation_x = splits["train"][0], splits["validation"][0]
    raw_history = fast_history if splits is features else train_head_on(train_x, validation_x)[1]
    raw[name] = raw_history.history["val_accuracy"][-1]
    standardised[name] = train_head_on(*standardise(train_x, validation_x))[1].history["val_accuracy"][-1]
    rows.append([name, f"{np.abs(train_x).mean():.2g}", raw[name], standardised[name]])
display(Table(["base weights", "mean |feature|", "validation accuracy, raw", "validation accuracy, standardised"],
              rows, title=f"The same head, {settings.epochs_head} epoch(s), {course_data.sizes['train']} training images"))
if settings.uses_pretrained_weights:
    gain = standardised["this run's weights"] - standardised["random weights"]
    assert gain >= 0.1, f"pretrained features must beat standardised random ones on real photos (gain {gain:.2f})"
else:
    print("This run's base has random weights too, so both rows are random features: no claim to check here.")

# %% [markdown]
# Why not `keras.layers.Normalization`, adapted on the training features? It divides by the standard
# deviation or `keras.config.epsilon()`, whichever is larger, so features whose spread is far below
# that floor stay far below 1 after it:

# %%
normalization = keras.layers.Normalization()
normalization.adapt(random_features["train"][0])
spread_after = float(np.mean(np.std(keras.ops.convert_to_numpy(normalization(random_features["train"][0])), axis=0)))
spread_before = float(np.mean(np.std(random_features["train"][0], axis=0)))
print(f"spread of the random features: {spread_before:.2g}; after Normalization: {spread_after:.2g} "
      f"(floor {keras.config.epsilon()}); after standardise(): "
      f"{float(np.mean(np.std(standardise(*[random_features['train'][0]] * 2)[0], axis=0))):.2g}")

# %% [markdown]
# ## The same head, trained through the frozen base
# Notebook 06's way: every epoch runs every (augmented) image through the base.

# %%
keras.utils.set_random_seed(settings.seed)
end_to_end = keras.Model(extractor.input, new_head(train_features.shape[1])(extractor.output))
loss, accuracy = models.loss_and_metric(class_count)
end_to_end.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=[accuracy])
end_to_end.optimizer.build(end_to_end.trainable_variables)  # fit() builds its step once, not twice, on TensorFlow (notebook 03)
started = time.perf_counter()
slow_history = end_to_end.fit(train_ds, epochs=settings.epochs_head, validation_data=validation_ds, verbose=0)
slow_seconds_per_epoch = (time.perf_counter() - started) / settings.epochs_head

# %%
comparison = Table(
    ["workflow", "seconds per epoch", "final validation accuracy"],
    [["feature extraction (head only)", fast_seconds_per_epoch, fast_history.history["val_accuracy"][-1]],
     ["through the frozen base", slow_seconds_per_epoch, slow_history.history["val_accuracy"][-1]]],
    title=f"Same images (augmented only through the base), same head, {settings.epochs_head} epoch(s); "
    f"extraction itself took {extraction_seconds:.1f} s",
)
display(comparison)


def noise(accuracy):
    """About two standard errors of an accuracy measured on this run's validation images."""
    return 2 * np.sqrt(accuracy * (1 - accuracy) / len(validation_labels))


print(f"{len(validation_labels)} validation images: an accuracy of "
      f"{slow_history.history['val_accuracy'][-1]:.2f} is measured to about "
      f"± {noise(slow_history.history['val_accuracy'][-1]):.2f} (two standard errors); "
      "a smaller difference between the rows is no measured difference")
plot_curves({"feature extraction": fast_history, "through the base": slow_history}, ("loss", "accuracy"),
            title="Head training");
speedup = slow_seconds_per_epoch / fast_seconds_per_epoch
print(f"feature extraction trains the head {speedup:.1f}x faster per epoch")
assert speedup > 1, "an epoch over stored vectors must beat an epoch through the base"

# %% [markdown]
# ## A head on an earlier layer
# The guide's recipe puts the new layers "on top of the output of one (or several) layers" of the base.
# Its last layer is one choice. Any layer's output can be the features: `base_model.get_layer(name)`
# gives the layer, and a `keras.Model` from the base's input to that output is a shorter extractor.
# Here: the last layer before the base's final downsampling (ZeroPadding2D left out). Which layer
# suits a new task best is a question for the validation data, not a rule (advice).

# %%
final_side = base_model.output.shape[1]
layer_name = [layer.name for layer in base_model.layers
              if layer.output.shape[1] > final_side and not isinstance(layer, keras.layers.ZeroPadding2D)][-1]
earlier_base = keras.Model(base_model.input, base_model.get_layer(layer_name).output)
inputs = keras.Input((size, size, 3))
x = inputs if bases.BASES[settings.base_model].scales_inputs else keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
x = earlier_base(x, training=False)
earlier_extractor = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
earlier_features = extract(earlier_extractor)
earlier_train, earlier_validation = earlier_features["train"][0], earlier_features["validation"][0]
_, earlier_history, _ = train_head_on(*standardise(earlier_train, earlier_validation))
display(Table(["features from", "output shape", "validation accuracy, standardised"], [
    [f"{base_model.layers[-1].name} (the last layer)", str(base_model.output.shape[1:]),
     standardised["this run's weights"]],
    [layer_name, str(base_model.get_layer(layer_name).output.shape[1:]),
     earlier_history.history["val_accuracy"][-1]],
]))

# %% [markdown]
# ## From features back to fine-tuning
# Training through the base is not the only road to fine-tuning. The head trained on features can be
# put on top of the base it came from, since the features are exactly what that base computes, and
# the whole model fine-tuned from there, with BatchNormalization frozen and a small learning rate.

# %%
model = keras.Model(extractor.input, head(extractor.output))
loss, accuracy = models.loss_and_metric(class_count)
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=loss, metrics=[accuracy])
before = model.evaluate(validation_ds, return_dict=True, verbose=0)["accuracy"]
on_features = head.evaluate(validation_features, validation_labels, verbose=0)[1]
assert abs(before - on_features) < 1e-6, "the head on its base scores what it scored on the stored features"
models.unfreeze_keep_batchnorm_frozen(base_model)
loss, accuracy = models.loss_and_metric(class_count)
model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=loss, metrics=[accuracy])
model.optimizer.build(model.trainable_variables)  # fit() builds its step once, not twice, on TensorFlow (notebook 03)
finetune_history = model.fit(train_ds, epochs=1, validation_data=validation_ds, verbose=0)
after = finetune_history.history["val_accuracy"][-1]
print(f"validation accuracy: head from features {before:.4f}; after one epoch of fine-tuning {after:.4f} "
      f"(each measured to about ± {noise(before):.2f} on {len(validation_labels)} images)")

notebook.save_results(
    settings, "07_feature_extraction", extraction_seconds=extraction_seconds,
    feature_seconds_per_epoch=fast_seconds_per_epoch, end_to_end_seconds_per_epoch=slow_seconds_per_epoch,
    feature_val_accuracy=raw["this run's weights"], random_features_val_accuracy=raw["random weights"],
    standardised_feature_val_accuracy=standardised["this run's weights"],
    standardised_random_features_val_accuracy=standardised["random weights"],
    end_to_end_val_accuracy=slow_history.history["val_accuracy"][-1],
    finetune_from_features_before=before, finetune_from_features_after=after,
)

# %% [markdown]
# ## Which workflow when (advice)
# - **Feature extraction** costs one pass of the base, then each epoch is nearly free. Use it to try
#   heads, learning rates and epochs quickly, on small data, or on a machine without a GPU.
# - **Through the base** runs the base every epoch. Only it draws new random versions of the images at
#   every epoch; stored features hold one fixed version of each. Whether that wins accuracy
#   depends on the data: compare the two rows of the table above for this run, with the noise printed
#   below it.
# - A common path: explore with features, then put the chosen head on the base and fine-tune.

# %% [markdown]
# ## Exercises
# **1.** Extraction took `extraction_seconds`, each epoch of the head on the stored features takes
# `fast_seconds_per_epoch`, and each epoch through the base takes `slow_seconds_per_epoch`. After how
# many epochs (round up) does extracting first pay off, extraction included? Compute it from this
# run's numbers.

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
), "the reference break-even epoch count passes its check"
