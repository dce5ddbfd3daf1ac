# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Trainable and non-trainable weights
#
# **What you will learn**
# - the three weight lists every Keras layer has: `weights`, `trainable_weights`, `non_trainable_weights`;
# - what "freezing" a layer (`trainable = False`) changes, and what it does not;
# - proof, by training, that a frozen layer's weights stay exactly where they were.
#
# Follows the first section of the keras.io guide
# [Transfer learning & fine-tuning](https://keras.io/guides/transfer_learning/); every number it
# states is computed and asserted here on the Keras version we pin.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras
import numpy as np

from helpers.models import changed, weight_values
from helpers.tables import Table, layer_table


def weight_counts(layer):
    """How many weights a layer has in each of its three lists."""
    return len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights)


# %% [markdown]
# ## Three lists of weights
# A `Dense` layer owns a kernel and a bias. Gradient descent updates both, so both are *trainable*.

# %%
dense = keras.layers.Dense(3)
dense.build((None, 4))
assert weight_counts(dense) == (2, 2, 0), "a Dense layer has two weights, both trainable"
print("Dense:", [w.path for w in dense.trainable_weights])

# %% [markdown]
# Some layers own weights that gradient descent never touches. `BatchNormalization` has two: the
# moving mean and moving variance, which the layer updates itself when it is called in training mode
# (notebook 03 measures when).

# %%
batchnorm = keras.layers.BatchNormalization()
batchnorm.build((None, 4))
assert weight_counts(batchnorm) == (4, 2, 2), "BatchNormalization has 2 trainable and 2 non-trainable weights"
print("trainable:    ", [w.name for w in batchnorm.trainable_weights])
print("non-trainable:", [w.name for w in batchnorm.non_trainable_weights])

# %% [markdown]
# The guide says BatchNormalization is "the only built-in layer that has non-trainable weights". It is
# not. `keras.layers.Normalization` (the layer the guide's cats-vs-dogs section says it will use to scale
# pixels to [-1, 1], although its code then uses `Rescaling`) has three weights, none of them trainable:
# a mean, a variance and a count. `Rescaling`, what the guide's code really uses, has no weights at all.

# %%
normalization = keras.layers.Normalization()
normalization.build((None, 4))
assert weight_counts(normalization) == (3, 0, 3), "Normalization has three weights, none of them trainable"
print("Normalization, non-trainable:", [w.name for w in normalization.non_trainable_weights])
rescaling = keras.layers.Rescaling(1 / 127.5, offset=-1)
rescaling.build((None, 4))
assert weight_counts(rescaling) == (0, 0, 0), "Rescaling has no weights"
print("Rescaling:", weight_counts(rescaling))

# %% [markdown]
# `adapt()` sets the mean and the variance from data. It never updates `count`: Keras keeps that weight
# only to load models saved by older versions (its source says so).

# %%
adapted_layer = keras.layers.Normalization()
adapted_layer.adapt(np.arange(40, dtype="float32").reshape(10, 4))
adapted = {w.name: keras.ops.convert_to_numpy(w) for w in adapted_layer.weights}
print("after adapt() on 10 rows:", adapted)
assert adapted["mean"].any() and adapted["count"] == 0, "adapt() sets the mean and leaves count at 0"

# %% [markdown]
# ## Freezing
# Setting `trainable = False` moves every weight of a layer to the non-trainable list. The weights
# still exist and the forward pass still uses them; training no longer updates them. One exception: a
# frozen `BatchNormalization` layer also runs in inference mode, even when called with `training=True`
# (notebook 03 measures it).

# %%
frozen_dense = keras.layers.Dense(3)
frozen_dense.build((None, 4))
frozen_dense.trainable = False
assert weight_counts(frozen_dense) == (2, 0, 2), "freezing moves both of Dense's weights to the non-trainable list"
probe = np.ones((1, 4), "float32")
by_hand = probe @ keras.ops.convert_to_numpy(frozen_dense.kernel) + keras.ops.convert_to_numpy(frozen_dense.bias)
assert np.allclose(keras.ops.convert_to_numpy(frozen_dense(probe)), by_hand), "a frozen layer still computes with its weights"

display(
    Table(
        ["layer", "weights", "trainable", "non-trainable"],
        [["Dense", *weight_counts(dense)], ["BatchNormalization", *weight_counts(batchnorm)],
         ["Dense, frozen", *weight_counts(frozen_dense)]],
        title="Weight counts, computed",
    )
)

# %% [markdown]
# ## A frozen layer does not train
# Two layers; freeze the first, train the model, compare each layer's weights before and after.

# %%
first = keras.layers.Dense(3, activation="relu")
second = keras.layers.Dense(3, activation="sigmoid")
model = keras.Sequential([keras.Input(shape=(3,)), first, second])
first.trainable = False
display(layer_table(model, title="Before training"))

before = {"first": weight_values(first), "second": weight_values(second)}
model.compile(optimizer="adam", loss="mse")
rng = np.random.default_rng(settings.seed)
model.fit(rng.random((32, 3)), rng.random((32, 3)), epochs=2, verbose=0)

changes = {name: changed(before[name], weight_values(layer)) for name, layer in [("first", first), ("second", second)]}
print("weights that changed:", changes)
assert changes["first"] == [], "the frozen layer must not change"
assert len(changes["second"]) == 2, "the trainable layer's kernel and bias must both change"

# %% [markdown]
# The frozen layer's kernel and bias are exactly equal to their values before training (compared with
# zero tolerance); the other layer's both moved.
#
# ## A training loop of your own
# The guide says freezing also holds "when training with any custom loop that relies on
# `trainable_weights` to apply gradient updates". Such a loop asks for gradients of exactly the weights
# in `model.trainable_weights` and updates only those, so a frozen layer is never touched. How to take a
# gradient depends on the backend: on TensorFlow a `tf.GradientTape`; on JAX `jax.grad` of a pure
# function (`loss_of` below, built on `model.stateless_call`) whose argument is the trainable weights'
# values. The cell runs the loop for the backend in force (TensorFlow and JAX; on another backend it
# says so and skips).

# %%
frozen_layer = keras.layers.Dense(3, activation="relu")
trained_layer = keras.layers.Dense(3, activation="sigmoid")
loop_model = keras.Sequential([keras.Input(shape=(3,)), frozen_layer, trained_layer])
frozen_layer.trainable = False
x, y = rng.random((32, 3)).astype("float32"), rng.random((32, 3)).astype("float32")
optimizer = keras.optimizers.SGD(learning_rate=0.1)
before = weight_values(loop_model)
backend = keras.backend.backend()
if backend == "tensorflow":
    import tensorflow as tf

    for _ in range(5):
        with tf.GradientTape() as tape:
            loss = keras.ops.mean((loop_model(x, training=True) - y) ** 2)
        variables = loop_model.trainable_weights
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
elif backend == "jax":
    import jax

    def loss_of(trainable_values, non_trainable_values):
        predictions, _ = loop_model.stateless_call(trainable_values, non_trainable_values, x, training=True)
        return keras.ops.mean((predictions - y) ** 2)

    for _ in range(5):
        gradients = jax.grad(loss_of)(
            [w.value for w in loop_model.trainable_weights], [w.value for w in loop_model.non_trainable_weights]
        )
        optimizer.apply_gradients(zip(gradients, loop_model.trainable_weights))
else:
    print(f"No custom loop written for the {backend} backend here: skipped.")
if backend in ("tensorflow", "jax"):
    moved = changed(before, weight_values(loop_model))
    print(f"{backend}, custom loop over trainable_weights; weights that changed:", moved)
    assert moved == [w.path for w in trained_layer.weights], "a custom loop over trainable_weights skips the frozen layer"

# %% [markdown]
# Note that `trainable` is not the `training` argument you can pass when calling a layer: that one
# picks inference or training behaviour (dropout on or off, say). Notebook 03 takes the two apart.

# %% [markdown]
# ## Exercises
# Each check prints a hint when the answer is wrong and a confirmation when it is right.
#
# **1.** How many weights, trainable weights and non-trainable weights does a `BatchNormalization`
# layer built on `(None, 4)` have once it is frozen? Answer with a tuple of three numbers.

# %%
from helpers import exercises

my_counts = ...  # for example (1, 2, 3)
exercises.check_frozen_batchnorm_counts(my_counts);

# %% [markdown]
# **2.** Write `freeze_all_but_last(model)`, which freezes every layer of a model except the last one.
# The check trains a three-layer model with it and looks at which weights moved.

# %%
def freeze_all_but_last(model):
    ...  # your code here


exercises.check_freeze_all_but_last(freeze_all_but_last);

# %% [markdown] tags=["solution"]
# ### Reference solutions
# Try first, then compare. These cells run in CI, so the solutions cannot rot.

# %% tags=["solution"]
assert exercises.check_frozen_batchnorm_counts((4, 0, 4)), "the reference counts pass their check"


def reference_freeze_all_but_last(model):
    for layer in model.layers[:-1]:
        layer.trainable = False


assert exercises.check_freeze_all_but_last(reference_freeze_all_but_last), "the reference freeze_all_but_last passes its check"
