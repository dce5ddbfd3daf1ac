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
#
# Notebook 04 then measures what drifting statistics do to a pretrained model during fine-tuning.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras
import numpy as np

from helpers import models
from helpers.models import all_layers, batchnorm_layers
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
    assert not before.any(), "a fresh BatchNormalization's moving mean starts at 0"
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
# - Dropout ignores `trainable`: only `training` matters.
# - BatchNormalization is the special case. With `trainable=False` it runs in inference mode even when
#   called with `training=True`: it normalises with its moving statistics and never updates them.

# %%
assert table.column("Dropout drops") == [True, False, True, False], "Dropout follows `training` only"
assert table.column("BN uses batch stats") == [True, False, False, False], "frozen BN normalises as in inference"
assert table.column("BN moving stats move") == [True, False, False, False], "frozen BN never updates its statistics"

# %% [markdown]
# ## When does a change of `trainable` take effect?
# `model.trainable_weights` changes the moment you set `trainable`. What `fit()` updates is another
# matter: the first `fit()` after `compile()` builds a training step, and what that step does after a
# later change of `trainable` depends on the backend. We freeze a layer at four points and ask whether
# the last `fit()` changed it, on the backend in force. One order builds the optimizer first, as
# `model.optimizer.build(model.trainable_variables)` does. Nothing in the table is typed in.

# %%
x_small, y_small = rng.random((32, 3)), rng.random((32, 1))


def frozen_layer_changes(steps):
    """Run the `steps` ("compile", "build", "fit", "freeze") on a small model; did the last fit() change the frozen layer?"""
    layer = keras.layers.Dense(2, name="to_freeze")
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(1)])
    try:
        for step in steps:
            if step == "compile":
                model.compile(optimizer="adam", loss="mse")
            elif step == "build":
                model.optimizer.build(model.trainable_variables)
            elif step == "freeze":
                layer.trainable = False
                trainable_paths = [w.path for w in model.trainable_weights]
                assert layer.kernel.path not in trainable_paths, "trainable_weights changes the moment you set it"
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
    "compile, build the optimizer, freeze, fit": ["compile", "build", "freeze", "fit"],
}
compile_table = Table(["order", "frozen layer in the last fit()"], [[name, frozen_layer_changes(steps)]
                                                                     for name, steps in orders.items()])
display(compile_table)
print("backend:", keras.backend.backend())

# %% [markdown]
# - Freeze between `compile()` and the first `fit()`: the layer stays put, because the training step
#   is built afterwards.
# - Freeze after a `fit()`: the training step already exists. On TensorFlow it keeps the list of
#   trainable weights it was built with and goes on updating the "frozen" layer, silently. On JAX the
#   next `fit()` raises, because the optimizer's state was built for the old list.
# - `compile()` again, and the next `fit()` builds a new step: the layer stays put on both backends.
#   `"adam"` as a string makes a new optimizer at each `compile()`.
# - Build the optimizer, then freeze: on JAX the `fit()` raises again. An optimizer built for one list
#   of weights cannot train another.
#
# The cell below asserts the rows of the backend in force. The advice: **after every change of
# `trainable`, call `compile()` with a new optimizer, and build the optimizer only after the last change.**

# %%
results = compile_table.column("frozen layer in the last fit()")
assert results[1:3] == ["unchanged", "unchanged"], "frozen before the first fit() or before a recompile, it stays put"
expected = {"tensorflow": ("changed", "unchanged"), "jax": ("raises", "raises")}.get(keras.backend.backend())
if expected is None:
    print("not measured on this backend")
else:
    assert results[0].startswith(expected[0]), f"fit, freeze, fit on {keras.backend.backend()}: {results[0]}"
    assert results[3].startswith(expected[1]), f"optimizer built, then freeze, on {keras.backend.backend()}: {results[3]}"

# %% [markdown]
# ### Building the step: once, or twice
# To build a training step, Keras runs `train_step` once in Python and records what it computes (a
# `tf.function` trace on TensorFlow, a `jax.jit` trace on JAX). So Python code inside `train_step`
# runs only while a step is being built, and a counter there counts the builds. On TensorFlow, with an
# optimizer that keeps a state per weight (Adam keeps two moments), the first `fit()` after `compile()`
# builds its step twice: Keras creates the
# optimizer's variables during the first build, and TensorFlow builds again when a build has created
# variables. `model.optimizer.build(model.trainable_variables)` after `compile()` and after the last
# change of `trainable` creates them first, and the step is built once. On JAX, Keras builds the optimizer before the step: once either
# way (for batches of one shape). A build is time spent before the first step, so the later notebooks
# build the optimizer where they train MobileNetV2 with Adam.

# %%
class CountingModel(keras.Sequential):
    """A Sequential model that counts how often Keras builds its training step."""

    builds = 0

    def train_step(self, *args, **kwargs):
        CountingModel.builds += 1  # plain Python: runs while the step is built, not at every step
        return super().train_step(*args, **kwargs)


def builds_in_first_fit(build_optimizer_first):
    """How many times the first fit() (two epochs) of a new model builds its training step."""
    model = CountingModel([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=[keras.metrics.MeanAbsoluteError()])
    if build_optimizer_first:
        model.optimizer.build(model.trainable_variables)
    CountingModel.builds = 0
    model.fit(x_small, y_small, epochs=2, verbose=0)
    return CountingModel.builds


build_counts = {"optimizer left to fit()": builds_in_first_fit(False),
                "optimizer.build() after compile()": builds_in_first_fit(True)}
print(f"{keras.backend.backend()}: training steps built by the first fit():", build_counts)
expected_builds = {"tensorflow": 2, "jax": 1}.get(keras.backend.backend())  # the backends measured here
if expected_builds is not None:
    assert build_counts["optimizer left to fit()"] == expected_builds, (
        "the first fit() builds its step twice on TensorFlow, once on JAX"
    )
assert build_counts["optimizer.build() after compile()"] == 1, "with the optimizer built first, fit() builds its step once"

# %% [markdown]
# ## The guide's BatchNormalization advice does not hold in Keras 3
# The guide builds its model with `base_model(x, training=False)` and says that, once the base is
# unfrozen, its BatchNormalization layers *keep running in inference mode*. In Keras 3 they do not:
# `fit()` calls the model with `training=True`, and that reaches the layers inside the base. After
# keras-team/keras#20285 the Keras team reworded the guide's BatchNormalization note: freeze those layers,
# "or otherwise call the model with `training=False`". That second option does not hold in Keras 3, nor
# does the end-to-end example's "still running in inference mode". Measure it, with the guide's three steps: freeze the base and train the head, then
# unfreeze the base, recompile and train again.

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
    return keras.Model(inputs, outputs)


images_rng = np.random.default_rng(settings.seed)  # its own generator: re-running a cell gives the same data
images, targets = images_rng.normal(3.0, 1.0, (64, 8, 8, 3)), images_rng.random((64, 1))
guide_base = tiny_base()
guide_model = model_on(guide_base)
guide_base.trainable = False  # 1. freeze the base
guide_model.compile(optimizer="adam", loss="mse")
stats_before = models.moving_statistics(guide_base)
guide_model.fit(images, targets, batch_size=16, verbose=0)  # 2. train the head
stats_head_trained = models.moving_statistics(guide_base)
guide_base.trainable = True  # 3. unfreeze the base, as the guide does
guide_model.compile(optimizer="adam", loss="mse")  # recompile after the change of `trainable`
guide_model.fit(images, targets, batch_size=16, verbose=0)  # and fine-tune
stats_after = models.moving_statistics(guide_base)
mean_key = next(k for k in stats_before if "moving_mean" in k)
print("moving mean before:            ", stats_before[mean_key].round(3))
print("after training the head:       ", stats_head_trained[mean_key].round(3))
print("after unfreezing and training: ", stats_after[mean_key].round(3))
assert models.changed(stats_before, stats_head_trained) == [], "while the base is frozen its statistics stay"
assert models.changed(stats_head_trained, stats_after), "the guide's claim would hold if nothing moved"

# %% [markdown]
# While the base was frozen the moving mean stayed; once it was unfrozen it moved, although the base was
# called with `training=False`. What does work, as the first table showed: keep each BatchNormalization
# layer's own `trainable = False`. This function unfreezes a model, then freezes every BatchNormalization
# layer in it again, in nested models too (`all_layers` and `batchnorm_layers` walk nested models as
# notebook 02 did). It does not enter a custom layer that holds a model: call it on the base itself. Later notebooks call it from `helpers.models`; notebook 06's main fine-tuning cell
# writes the same two steps out on screen, for a base without nested models.


# %%
# Saved in helpers/models.py for later notebooks.
def unfreeze_keep_batchnorm_frozen(model):
    """Make `model` trainable except its BatchNormalization layers; return how many stay frozen.

    A frozen BatchNormalization layer runs in inference mode whatever `training` says, so its moving mean
    and variance keep their pretrained values while the other weights train. Every layer's flag is set,
    because on TensorFlow `model.trainable = True` on a model that is already trainable does not reach
    layers frozen one by one (notebook 02).
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
assert kept_frozen == 1, "the tiny base has one BatchNormalization layer, kept frozen"
frozen_batchnorm_moved = models.changed(stats_before, models.moving_statistics(fixed_base)) + [
    key for key in moved if "gamma" in key or "beta" in key
]
assert frozen_batchnorm_moved == [], "frozen BN keeps its statistics, gamma and beta"
assert any("conv2d" in key and "kernel" in key for key in moved), "the convolution trains"

# %% [markdown]
# It is not the only way. A layer of our own can call the base with `training=False` *inside* its
# `call`, where `fit()` cannot override it. The statistics stay, and unlike freezing, BatchNormalization's
# scale and offset (gamma and beta) still train:


# %%
# Saved in helpers/models.py for later notebooks.
class InferenceModeBase(keras.layers.Layer):
    """Runs `base` in inference mode whatever `training` says: its BatchNormalization statistics stay.

    Unlike freezing the BatchNormalization layers, gamma and beta still train.
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
assert models.changed(stats_before, models.moving_statistics(wrapped_base)) == [], "the wrapper keeps the statistics"
assert all(any(name in key for key in moved) for name in ("gamma", "beta", "kernel")), "gamma, beta, kernels train"

# %% [markdown]
# Which to choose? Both keep the pretrained statistics. A parameter count cannot tell the wrapper from
# the guide's recipe, which does not keep them: the wrapper changes no count. Compare the three models of this section:

# %%
counts = {
    "guide: unfrozen, training=False": models.param_counts(guide_model),
    "BatchNormalization frozen": models.param_counts(fixed_model),
    "wrapper": models.param_counts(wrapped_model),
}
display(Table(["model", "trainable", "non-trainable"], [[name, *pair] for name, pair in counts.items()]))
gamma_and_beta = models.count_params([w for layer in batchnorm_layers(fixed_base) for w in (layer.gamma, layer.beta)])
assert counts["wrapper"] == counts["guide: unfrozen, training=False"], "the wrapper changes no count"
frozen_extra = counts["BatchNormalization frozen"][1] - counts["wrapper"][1]
assert frozen_extra == gamma_and_beta, "freezing BN makes gamma and beta non-trainable too"

# %% [markdown]
# The guide's own counts for Xception (20,809,001 trainable, 54,528 non-trainable once unfrozen) have the
# shape of the first and last rows: only the moving statistics are non-trainable, gamma and beta train.
# They fit the wrapper as well as the guide's model, not the frozen layers: freezing moves gamma and beta,
# as many numbers as the statistics, to the non-trainable side too (Xception: 20,754,473 / 109,056). The
# course freezes the layers (simple, and nothing to wrap); the wrapper also lets gamma and beta adapt to the
# new data. Either way, not `training=False` in the functional model alone.

# %% [markdown]
# ## Exercises
# **1.** Predict before you run anything. A model `Dense → BatchNormalization → Dense` is compiled and
# trained with `fit()`. Then its BatchNormalization layer gets `trainable = False`, and `fit()` runs
# again **without** `compile()`. Does the second `fit()` change the layer's moving mean? Its gamma?
# Answer True or False for each, or "raises" if you predict that the second `fit()` raises. The check
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
stale_step = {"tensorflow": True, "jax": "raises"}.get(keras.backend.backend())  # the backends measured here
if stale_step is not None:
    assert exercises.check_stale_step_prediction({"moving_mean": stale_step, "gamma": stale_step}), "the reference answer"


def reference_unfreeze_last_keep_batchnorm_frozen(model, n):
    model.trainable = True
    for i, layer in enumerate(model.layers):
        is_batchnorm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= len(model.layers) - n and not is_batchnorm


assert exercises.check_unfreeze_last_keep_batchnorm_frozen(reference_unfreeze_last_keep_batchnorm_frozen), (
    "the reference unfreeze_last_keep_batchnorm_frozen passes its check"
)
