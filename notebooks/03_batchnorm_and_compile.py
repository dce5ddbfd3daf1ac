# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · BatchNormalization, `training` versus `trainable`, and `compile()`
#
# **What you will learn**
# - the difference between the `trainable` attribute and the `training` call argument, shown on
#   BatchNormalization and Dropout by measuring what each layer does;
# - why you must call `compile()` again after changing `trainable`;
# - a place where the keras.io guide is wrong for Keras 3, with numbers, and what to do instead.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras
import numpy as np

from helpers import models
from helpers.models import all_layers, batchnorm_layers
from helpers.plots import plot_by_step
from helpers.tables import Table, layer_table

rng = np.random.default_rng(settings.seed)

# %% [markdown]
# ## `trainable` and `training` are different knobs
# - `trainable` (an attribute) says whether training may **update the layer's weights**;
# - `training` (an argument of the call) says whether the layer **behaves as in training**:
#   Dropout drops units, BatchNormalization normalises with the statistics of the current batch.
#
# We feed each layer a batch whose mean is 5, far from BatchNormalization's initial moving mean of 0,
# and record what happens. Nothing in the table below is typed in: each cell is measured.

# %%
batch = rng.normal(5.0, 2.0, size=(64, 4)).astype("float32")


def batchnorm_behaviour(trainable, training):
    """(uses batch statistics?, moving statistics move?) for a fresh BatchNormalization layer."""
    layer = keras.layers.BatchNormalization(momentum=0.5)
    layer.build(batch.shape)
    layer.trainable = trainable
    before = layer.moving_mean.numpy()
    output = keras.ops.convert_to_numpy(layer(batch, training=training))
    uses_batch_statistics = bool(abs(output.mean()) < 0.5)  # normalised with the batch's own mean of ~5
    return uses_batch_statistics, not np.allclose(before, layer.moving_mean.numpy())


def dropout_behaviour(trainable, training):
    """Does a Dropout layer zero some inputs?"""
    layer = keras.layers.Dropout(0.5, seed=settings.seed)
    layer.trainable = trainable
    return bool((keras.ops.convert_to_numpy(layer(batch, training=training)) == 0).any())


rows = []
for trainable in (True, False):
    for training in (True, False):
        uses_batch, moves = batchnorm_behaviour(trainable, training)
        rows.append([trainable, training, uses_batch, moves, dropout_behaviour(trainable, training)])
table = Table(["trainable", "training", "BN uses batch stats", "BN moving stats move", "Dropout drops"], rows)
display(table)

# %% [markdown]
# Read the table row by row:
# - Dropout ignores `trainable`: only `training` matters (it has no weights to freeze).
# - BatchNormalization is the special case. With `trainable=False` it runs in inference mode even when
#   called with `training=True`: it normalises with its moving statistics and never updates them.

# %%
assert table.column("Dropout drops") == [True, False, True, False]
assert table.column("BN uses batch stats") == [True, False, False, False]
assert table.column("BN moving stats move") == [True, False, False, False]

# %% [markdown]
# ## When does a change of `trainable` take effect?
# `model.trainable_weights` changes the moment you set `trainable`. What `fit()` updates is another
# matter: the first `fit()` after `compile()` builds a training step, and that step keeps the list of
# trainable weights it was built with. We freeze a layer at three points and ask whether the last
# `fit()` changed it. Nothing in the table is typed in.

# %%
x_small, y_small = rng.random((32, 3)), rng.random((32, 1))


def frozen_layer_changes(steps):
    """Run the `steps` ("compile", "fit", "freeze") on a small model; did the last fit() change the frozen layer?"""
    layer = keras.layers.Dense(2, name="to_freeze")
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(1)])
    try:
        for step in steps:
            if step == "compile":
                model.compile(optimizer="adam", loss="mse")
            elif step == "freeze":
                layer.trainable = False
            else:
                before = models.weight_values(layer)
                model.fit(x_small, y_small, verbose=0)
    except ValueError as error:
        return f"raises: {str(error).splitlines()[0][:60]}..."
    return "changed" if models.changed(before, models.weight_values(layer)) else "unchanged"


orders = {
    "compile, fit, freeze, fit": ["compile", "fit", "freeze", "fit"],
    "compile, freeze, fit": ["compile", "freeze", "fit"],
    "compile, fit, freeze, compile, fit": ["compile", "fit", "freeze", "compile", "fit"],
}
compile_table = Table(["order", "frozen layer in the last fit()"], [[name, frozen_layer_changes(steps)]
                                                                     for name, steps in orders.items()])
display(compile_table)
print("backend:", keras.backend.backend())

# %% [markdown]
# - Freeze between `compile()` and the first `fit()`: the layer stays put, because the training step
#   is built afterwards.
# - Freeze after a `fit()`: the training step already exists. On TensorFlow it keeps updating the
#   "frozen" layer, silently; on JAX the next `fit()` raises, because the optimizer's state no longer
#   matches the list of trainable weights; on PyTorch the layer stays put.
# - `compile()` again, and the next `fit()` builds a new step: the layer stays put on every backend.
#
# The advice stays simple: **call `compile()` after every change of `trainable`.**

# %%
results = compile_table.column("frozen layer in the last fit()")
expected_first = {"tensorflow": "changed", "jax": "raises", "torch": "unchanged"}[keras.backend.backend()]
assert results[0].startswith(expected_first), results[0]
assert results[1:] == ["unchanged", "unchanged"]

# %% [markdown]
# ## The guide's BatchNormalization advice does not hold in Keras 3
# The guide builds its model with `base_model(x, training=False)` and says that, once the base is
# unfrozen, its BatchNormalization layers *keep running in inference mode*. In Keras 3 they do not:
# `fit()` calls the model with `training=True`, and that reaches the layers inside the base. (The
# Keras team reworded its copy of the guide after keras-team/keras#20285.) Measure it:

# %%
def tiny_base():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, keras.layers.ReLU()(x), name="tiny_base")


def model_on(base):
    inputs = keras.Input((8, 8, 3))
    x = base(inputs, training=False)  # the guide's advice
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


images, targets = rng.normal(3.0, 1.0, (64, 8, 8, 3)), rng.random((64, 1))
guide_base = tiny_base()
guide_model = model_on(guide_base)
guide_base.trainable = True  # "unfreeze the base", as the guide does
stats_before = models.moving_statistics(guide_base)
guide_model.fit(images, targets, batch_size=16, verbose=0)
stats_after = models.moving_statistics(guide_base)
mean_key = next(k for k in stats_before if "moving_mean" in k)
print("moving mean before:", stats_before[mean_key].round(3))
print("moving mean after: ", stats_after[mean_key].round(3))
assert models.changed(stats_before, stats_after), "the guide's claim would hold if nothing moved"

# %% [markdown]
# The moving mean moved, although the base was called with `training=False`. What does work, as the
# first table showed: keep each BatchNormalization layer's own `trainable = False`. This function
# unfreezes a model, then freezes every BatchNormalization layer in it again, however deeply nested
# (`all_layers` and `batchnorm_layers` walk nested models as notebook 02 did). Notebooks 05 and 06 use it.


# %%
def unfreeze_keep_batchnorm_frozen(model):
    """Make `model` trainable except its BatchNormalization layers; return how many stay frozen.

    Taught in notebook 03. A frozen BatchNormalization layer runs in inference mode whatever `training`
    says, so its moving mean and variance keep their pretrained values while the other weights train.
    Every layer's flag is set, because on TensorFlow `model.trainable = True` on a model that is already
    trainable does not reach layers frozen one by one (notebook 02).
    """
    model.trainable = True
    batchnorm = batchnorm_layers(model)
    for layer in all_layers(model):  # outer models before the layers inside them
        layer.trainable = layer not in batchnorm
    return len(batchnorm)


# %% [markdown]
# Its proof: the statistics stay, the convolution trains.

# %%
fixed_base = tiny_base()
fixed_model = model_on(fixed_base)
kept_frozen = unfreeze_keep_batchnorm_frozen(fixed_base)
fixed_model.compile(optimizer="adam", loss="mse")
display(layer_table(fixed_base, title="Unfrozen, BatchNormalization kept frozen"))
stats_before, weights_before = models.moving_statistics(fixed_base), models.weight_values(fixed_base)
fixed_model.fit(images, targets, batch_size=16, verbose=0)
moved = models.changed(weights_before, models.weight_values(fixed_base))
print("BatchNormalization layers kept frozen:", kept_frozen)
print("weights that changed:", moved)
assert kept_frozen == 1
assert models.changed(stats_before, models.moving_statistics(fixed_base)) == []
assert any("conv2d" in key and "kernel" in key for key in moved)
assert not any("gamma" in key or "beta" in key for key in moved), "a frozen layer's gamma and beta stay too"

# %% [markdown]
# It is not the only way. A layer of our own can call the base with `training=False` *inside* its
# `call`, where `fit()` cannot override it. The statistics stay, and unlike freezing, BatchNormalization's
# scale and offset (gamma and beta) still train:


# %%
class InferenceModeBase(keras.layers.Layer):
    """Runs `base` in inference mode whatever `training` says: its BatchNormalization statistics stay.

    Taught in notebook 03. Unlike freezing the BatchNormalization layers, gamma and beta still train.
    """

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    def call(self, inputs):
        return self.base(inputs, training=False)


# %%
wrapped_base = tiny_base()
wrapped_base.trainable = True
inputs = keras.Input((8, 8, 3))
x = keras.layers.GlobalAveragePooling2D()(InferenceModeBase(wrapped_base)(inputs))
wrapped_model = keras.Model(inputs, keras.layers.Dense(1)(x))
wrapped_model.compile(optimizer="adam", loss="mse")
stats_before, weights_before = models.moving_statistics(wrapped_base), models.weight_values(wrapped_base)
wrapped_model.fit(images, targets, batch_size=16, verbose=0)
moved = models.changed(weights_before, models.weight_values(wrapped_base))
print("weights that changed:", moved)
assert models.changed(stats_before, models.moving_statistics(wrapped_base)) == []
assert any("gamma" in key for key in moved) and any("kernel" in key for key in moved)

# %% [markdown]
# Which to choose? Both keep the pretrained statistics. Freezing the layers is what the guide's own
# counts describe once fixed, and it is what the rest of the course uses; the wrapper also lets gamma and
# beta adapt to the new data (notebook 05 counts the difference on Xception). Either way, not
# `training=False` in the functional model alone.

# %% [markdown]
# ## What drifting statistics do to a pretrained model
# The guide's reason for keeping BatchNormalization in inference mode: right after unfreezing, its
# statistics get re-estimated on small batches of the *new* data, and every feature the new head was
# trained on shifts under it. We reproduce that in seconds, on synthetic images:
# - **pretraining** (data A): dim, low-contrast stripes; a small base learns their orientation. Its
#   moving statistics are then set to A's, as a long pretraining would leave them;
# - **a new task** (data B): bright stripes, labelled by their contrast, high or low. A new head is
#   trained on the frozen base's features;
# - **fine-tuning**, twice from the same weights, batch 4, learning rate 1e-5 (the weights barely
#   move): once with BatchNormalization updating (the guide's code on Keras 3), once frozen.
#
# Our small base uses a BatchNormalization momentum of 0.9 (PyTorch's default, which PyTorch writes
# as `momentum=0.1`) so that the drift shows within 40 steps. With Keras's default of 0.99 the
# statistics move more slowly per step and the same damage takes longer to appear; the table below
# prints how much of the way to B's statistics each momentum goes.

# %%
from helpers import data

size, momentum, steps = 32, 0.9, (5, 10, 20, 40)


def contrast_stripes(count, seed):
    """Data B: stripes in either orientation; label 1 for high contrast, 0 for low contrast."""
    rng, ramp = np.random.default_rng(seed), np.linspace(0, 1, size, dtype="float32")
    labels, images = rng.integers(0, 2, count), np.empty((count, size, size, 3), "float32")
    for i, label in enumerate(labels):
        wave = np.sin(2 * np.pi * (rng.uniform(3, 8) * ramp + rng.uniform()))
        pattern = wave[:, None] if rng.random() < 0.5 else wave[None, :]
        amplitude = rng.uniform(*((80, 127) if label else (15, 40)))
        noise = rng.normal(0, 8, (size, size, 3))
        images[i] = np.clip(rng.uniform(100, 155, 3) + amplitude * pattern[..., None] + noise, 0, 255)
    return images, labels


def pretrained_base():
    """A small base pretrained on data A, its moving statistics set to A's."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, strides=2, use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=momentum)(x))
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    images_a, labels_a = data.synthetic_images(512, size, settings.seed)
    images_a = images_a.astype("float32") * 0.05  # dim and low-contrast
    pretraining = keras.Sequential([base, keras.layers.Dense(1)])
    pretraining.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    pretraining.fit(images_a, labels_a, batch_size=32, epochs=3, verbose=0)
    for layer in batchnorm_layers(base):
        layer.momentum = 0.0  # one pass with momentum 0: the moving statistics become A's own
    base(images_a, training=True)
    for layer in batchnorm_layers(base):
        layer.momentum = momentum
    return base


keras.utils.set_random_seed(settings.seed)
base = pretrained_base()
train_b, validation_b = contrast_stripes(4 * steps[-1], settings.seed + 1), contrast_stripes(256, settings.seed + 2)
base.trainable = False
inputs = keras.Input((size, size, 3))
model = keras.Model(inputs, keras.layers.Dense(1)(base(inputs, training=False)))
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.BinaryCrossentropy(from_logits=True),
              metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
model.fit(*train_b, batch_size=32, epochs=30, verbose=0)  # the new head, on the frozen base
head_trained = model.get_weights()
print("validation accuracy with the trained head:", model.evaluate(*validation_b, verbose=0)[1])


# %%
def finetune(keep_batchnorm_frozen):
    """Validation (accuracy, loss) on B after 0 and each of `steps` fine-tuning steps of batch 4."""
    model.set_weights(head_trained)
    if keep_batchnorm_frozen:
        unfreeze_keep_batchnorm_frozen(base)
    else:
        base.trainable = False
        base.trainable = True  # the guide's unfreezing: BatchNormalization trains too
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    order = np.random.default_rng(settings.seed).permutation(len(train_b[0]))
    curve = {0: model.evaluate(*validation_b, verbose=0)}
    for step in range(1, steps[-1] + 1):
        batch = order[4 * (step - 1) : 4 * step]
        model.train_on_batch(train_b[0][batch], train_b[1][batch])
        if step in steps:
            curve[step] = model.evaluate(*validation_b, verbose=0)
    return curve


curves = {"BatchNormalization updating": finetune(False), "BatchNormalization frozen": finetune(True)}
rows = [[step, *(f"{curve[step][1]:.3f} / {curve[step][0]:.3f}" for curve in curves.values()),
         f"{1 - 0.9 ** step:.0%}", f"{1 - 0.99 ** step:.0%}"] for step in (0, *steps)]
display(Table(["step", *(f"{name}: accuracy / loss" for name in curves),
               "way to B's statistics, momentum 0.9", "momentum 0.99"], rows))
plot_by_step({name: {step: values[1] for step, values in curve.items()} for name, curve in curves.items()},
             "validation accuracy", title="Fine-tuning with batches of 4, learning rate 1e-5");

# %%
updating, frozen = curves.values()
assert frozen[steps[-1]][1] - updating[steps[-1]][1] >= 0.10, "updating statistics must cost accuracy here"
assert updating[10][0] > frozen[10][0], "and cost loss already after 10 steps"
print(f"after {steps[-1]} steps: accuracy {updating[steps[-1]][1]:.3f} with the statistics updating, "
      f"{frozen[steps[-1]][1]:.3f} with them frozen")

# %% [markdown]
# The weights barely moved; the moving statistics did, toward B's, and the head was calibrated on
# features normalised with A's. Frozen statistics avoid that, and that is why the course freezes
# BatchNormalization when fine-tuning. How much it costs depends on the batches and on how far the new
# data's statistics are from the old: on the quick profile's real photos, with batches of 32, `make
# bench` compares the guide's recipe with the course's on the pretrained MobileNetV2 (see the README
# for what it found). It is a safe default for small data, not a law (opinion, backed
# by the literature rather than by a measurement here): when the new data differs from the old mainly
# in the statistics themselves, re-estimating them can *help* (the idea behind AdaBN, Li et al.,
# 2016), and fastai keeps BatchNormalization layers training when it freezes the rest of a
# pretrained model (its `train_bn=True` default).

# %% [markdown]
# ## Exercises
# **1.** Predict before you run anything. A model `Dense → BatchNormalization → Dense` is compiled and
# trained with `fit()`. Then its BatchNormalization layer gets `trainable = False`, and `fit()` runs
# again **without** `compile()`. Does the second `fit()` change the layer's moving mean? Its gamma?
# Answer True or False for each (on JAX, where the second `fit()` raises, answer "raises"). The check
# builds that model and measures both.

# %%
from helpers import exercises

my_prediction = {"moving_mean": ..., "gamma": ...}
exercises.check_stale_step_prediction(my_prediction);

# %% [markdown]
# **2.** Partial fine-tuning: write `unfreeze_last_keep_batchnorm_frozen(model, n)` that makes only the
# last `n` layers of `model` trainable, except BatchNormalization layers, which all stay frozen. The
# check tries n = 0, 2 and 4 on a model that alternates Dense and BatchNormalization, then trains it.

# %%
def unfreeze_last_keep_batchnorm_frozen(model, n):
    ...  # your code here


exercises.check_unfreeze_last_keep_batchnorm_frozen(unfreeze_last_keep_batchnorm_frozen);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
stale_step = {"tensorflow": True, "jax": "raises", "torch": False}[keras.backend.backend()]
assert exercises.check_stale_step_prediction({"moving_mean": stale_step, "gamma": stale_step})


def reference_unfreeze_last_keep_batchnorm_frozen(model, n):
    model.trainable = True
    for i, layer in enumerate(model.layers):
        is_batchnorm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= len(model.layers) - n and not is_batchnorm


assert exercises.check_unfreeze_last_keep_batchnorm_frozen(reference_unfreeze_last_keep_batchnorm_frozen)
