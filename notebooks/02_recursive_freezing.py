# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Freezing is recursive
#
# **What you will learn**
# - setting `trainable` on a model sets it on the layers inside, and where TensorFlow stops;
# - partial unfreezing: freeze a whole base, then thaw only its last few layers, and the traps in freezing it again;
# - the way that works on TensorFlow and on JAX: set the flag of every layer;
# - a model built from `base.output` instead of nesting the base, and `model.summary(show_trainable=True)`.
#
# The guide covers this in "Recursive setting of the `trainable` attribute".

# %%
from helpers import notebook

settings = notebook.start()

# %%
import re

import keras
import numpy as np

from helpers.models import all_layers, changed, weight_values
from helpers.tables import layer_table

# %% [markdown]
# ## A model inside a model
# Transfer learning often nests: the pretrained base is one layer of the model you train, as in the
# guide's end-to-end example, `base_model(x, training=False)`.

# %%
inner_model = keras.Sequential(
    [keras.Input(shape=(3,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(3, activation="relu")],
    name="inner",
)
model = keras.Sequential(
    [keras.Input(shape=(3,)), inner_model, keras.layers.Dense(3, activation="sigmoid")], name="outer"
)
display(layer_table(model, title="Everything trainable"))
assert inner_model in model.layers, "the inner model is one layer of the outer model"

# %% [markdown]
# It does not have to. The guide's recipe also allows a new model "on top of the output of one (or
# several) layers from the base model". Build it from `base.output`, and the base's layers become the new
# model's own layers, with no nested model in between. The base below is functional, as
# `keras.applications` models are. Freezing the base still works, because
# `base.trainable = False` reaches the very same layer objects.

# %%
base_inputs = keras.Input(shape=(3,))
hidden = keras.layers.Dense(3, activation="relu")(base_inputs)
flat_base = keras.Model(base_inputs, keras.layers.Dense(3, activation="relu")(hidden), name="flat_base")
flat_model = keras.Model(flat_base.input, keras.layers.Dense(1, name="head")(flat_base.output), name="flat")
print("flat model's layers:", [layer.name for layer in flat_model.layers])
assert flat_base not in flat_model.layers, "built from base.output, the base is not nested"
assert all(layer in flat_model.layers for layer in flat_base.layers), "the base's layers are the model's own"
flat_base.trainable = False
print("trainable weights with the base frozen:", [w.path for w in flat_model.trainable_weights])
assert len(flat_model.trainable_weights) == 2, "freezing the base leaves only the head's kernel and bias"

# %% [markdown]
# ## Freeze the outer model
# Every layer is trainable, and one assignment reaches them all. `model.summary(show_trainable=True)` adds a
# column with each layer's `trainable` flag: Y, N, or - for a layer without weights (the guide prints it
# after freezing its base).

# %%
model.trainable = False
for layer in all_layers(model):
    assert layer.trainable is False, f"freezing the outer model freezes every layer inside it: {layer.name} is still trainable"
model.summary(show_trainable=True)

# %% [markdown]
# ## Unfreeze it again
# Unfreezing is recursive too. Here every nested model is frozen, so every layer thaws, including one
# you froze by hand. If some layers must stay frozen, set them *after* unfreezing.

# %%
inner_model.layers[0].trainable = False
model.trainable = True
assert all(layer.trainable for layer in all_layers(model)), "unfreezing the outer model thaws everything"
assert len(model.trainable_weights) == 6, "three Dense layers, kernel and bias each, all trainable again"

# %% [markdown]
# A trap, and a difference between Keras's backends: set `trainable = True` on a model that is
# *already* trainable. On JAX, Keras's setter runs and thaws every layer inside. On TensorFlow the
# assignment is skipped before the setter runs (its attribute tracking treats `x = x` as a no-op), so a
# layer you froze by hand stays frozen. The way that works on both: set the flag of every layer, nested
# models included. `all_layers` (from `helpers.models`) lists them, each model before the layers inside it.

# %%
inner_model.layers[0].trainable = False
model.trainable = True  # already True
thawed = inner_model.layers[0].trainable
print(f"backend {keras.backend.backend()}: the hand-frozen layer is", "thawed" if thawed else "still frozen")
expected_thawed = {"tensorflow": False, "jax": True}.get(keras.backend.backend())  # the backends measured here
if expected_thawed is None:
    print("not measured on this backend")
else:
    assert thawed == expected_thawed, "on TensorFlow only, trainable = True on a trainable model is skipped"


def set_trainable_everywhere(model, value):
    """Set `trainable` to `value` on `model` and on every layer of the models nested in it.

    A custom layer that holds a model (notebook 03's `InferenceModeBase`) is not entered: call it on the inner model.
    """
    model.trainable = value
    for layer in all_layers(model):
        layer.trainable = value


set_trainable_everywhere(model, True)
assert all(layer.trainable for layer in all_layers(model)), "setting every layer's flag thaws them all"

# %% [markdown]
# ## Partial unfreezing
# Fine-tuning often thaws only the top of a base, whose last layers hold the most task-specific features
# (a finding from the literature, e.g. Yosinski et al., 2014, not measured here). Freeze the whole base,
# then set `trainable = True` on its last N layers. The base's own flag stays `False`, and
# `base.trainable_weights` is empty; yet the model you train collects the weights of every trainable
# layer inside it, so the thawed layers do train. The summary shows both sides: the
# base's row says N, its thawed blocks' rows say Y, and "Trainable params" counts them with the head.
#
# This works only while the model you `fit()` keeps `trainable = True`. A layer whose own flag is
# `False` returns `[]` for `trainable_weights`, whatever the layers inside it say. Freeze the base, not
# the model you train. Measured, with `fit()`:

# %%
base = keras.Sequential(
    [keras.Input(shape=(4,)), *(keras.layers.Dense(4, name=f"block_{i}") for i in range(6))], name="base"
)
full_model = keras.Sequential([keras.Input(shape=(4,)), base, keras.layers.Dense(1, name="head")])
unfreeze_last_n = 2
base.trainable = False
for layer in base.layers[-unfreeze_last_n:]:
    layer.trainable = True

summary = []
full_model.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))
print(*summary)
print("base.trainable:", base.trainable, "; base.trainable_weights:", base.trainable_weights)
print("full_model.trainable_weights:", [w.path for w in full_model.trainable_weights])
thawed_and_head = [*base.layers[-unfreeze_last_n:], full_model.layers[-1]]
thawed_and_head_weights = [w.path for layer in thawed_and_head for w in layer.weights]
assert base.trainable is False and base.trainable_weights == [], "the base itself still says frozen"
assert [w.path for w in full_model.trainable_weights] == thawed_and_head_weights, "the outer model collects them"
summary_count = int(re.search(r"Trainable params: ([\d,]+)", "".join(summary)).group(1).replace(",", ""))
assert summary_count == sum(layer.count_params() for layer in thawed_and_head), "the summary counts the thawed blocks"
# Each row of the table: a layer's name, its type in brackets, ..., and Y or N in the last column.
flags = dict(re.findall(r"(\w+) \(\w+\)[^\n]*?([YN])\s*│", "".join(summary)))
thawed_names = [layer.name for layer in base.layers[-unfreeze_last_n:]]
block_flags = {layer.name: "Y" if layer.name in thawed_names else "N" for layer in base.layers}
assert flags == {"base": "N", **block_flags, "head": "Y"}, "the summary says N for the base, Y for its thawed blocks"

before = weight_values(full_model)
full_model.compile(optimizer="adam", loss="mse")
rng = np.random.default_rng(settings.seed)
full_model.fit(rng.random((32, 4)), rng.random((32, 1)), verbose=0)
moved = changed(before, weight_values(full_model))
print("weights fit() changed:", moved)
assert moved == thawed_and_head_weights, "fit() changes exactly the thawed blocks and the head"

# %% [markdown]
# The mirror image of the trap above: freeze the base again with `base.trainable = False`. Its flag is
# already `False`, so on TensorFlow the assignment is skipped and the two hand-thawed blocks stay
# trainable; on JAX the setter runs and freezes them. Setting every layer's flag freezes them on both.

# %%
for layer in thawed_and_head[:-1]:
    layer.trainable = True  # the two blocks as the cell above thawed them, also when this cell runs again
base.trainable = False  # already False
still_trainable = len(full_model.trainable_weights)
print(f"backend {keras.backend.backend()}: {still_trainable} trainable weights after freezing a frozen base")
expected = {"tensorflow": 2 * (unfreeze_last_n + 1), "jax": 2}.get(keras.backend.backend())
if expected is None:
    print("not measured on this backend")
else:
    assert still_trainable == expected, "on TensorFlow only, freezing an already frozen base is skipped"
set_trainable_everywhere(base, False)
assert len(full_model.trainable_weights) == 2, "setting every layer's flag freezes the base: the head trains"

# %% [markdown]
# ## Where TensorFlow's setter stops
# On TensorFlow the short-cut applies at every level of the recursion, not only at the top: a real change
# stops at any nested model whose flag already has the new value. Put the base inside a wrapper model
# (outer → wrapper → base → blocks), freeze the base, thaw its last block, then freeze the wrapper. The
# wrapper was trainable, so the change is real. On JAX it reaches every layer. On TensorFlow it stops at
# the base, already frozen: the thawed block stays trainable, and `fit()` moves it. Measured:

# %%
blocks = [keras.layers.Dense(4, name=f"b{i}") for i in range(3)]
nested_base = keras.Sequential([keras.Input(shape=(4,)), *blocks], name="nested_base")
wrapper = keras.Sequential([keras.Input(shape=(4,)), nested_base], name="wrapper")
outer = keras.Sequential([keras.Input(shape=(4,)), wrapper, keras.layers.Dense(1, name="head")], name="outer")
nested_base.trainable = False
blocks[-1].trainable = True  # thaw the last block
wrapper.trainable = False  # a real change: the wrapper was trainable

before = weight_values(outer)
outer.compile(optimizer="adam", loss="mse")
outer.fit(rng.random((32, 4)), rng.random((32, 1)), verbose=0)
moved = changed(before, weight_values(outer))
print(f"backend {keras.backend.backend()}: after wrapper.trainable = False, fit() changed", moved)
head_weights = [w.path for w in outer.layers[-1].weights]
expected_moved = {"tensorflow": [w.path for w in blocks[-1].weights] + head_weights, "jax": head_weights}
if keras.backend.backend() in expected_moved:  # the backends measured here
    assert moved == expected_moved[keras.backend.backend()], "on TensorFlow the setter stops at the frozen base"

# %% [markdown]
# Setting every layer's flag freezes the block on both backends, however deeply the models are nested
# (recompile after it):

# %%
set_trainable_everywhere(wrapper, False)
print("trainable weights:", [w.path for w in outer.trainable_weights])
assert [w.path for w in outer.trainable_weights] == head_weights, "every layer's flag set: only the head trains"

# %% [markdown]
# The same loop runs on a real base, but counting layers can cut one of its blocks in half: notebook 09
# unfreezes whole blocks, read from the layer names, and measures what each depth costs and buys.
# Unfreezing only the top is a common choice when data is scarce (advice). Notebook 06 unfreezes the
# whole base and keeps every BatchNormalization layer frozen; notebook 03 shows why.

# %% [markdown]
# ## Exercises
# **1.** Write `unfreeze_last(model, n)`: only the last `n` layers of `model` end up trainable
# (`n = 0` means none). The check tries n = 0, 2 and 5.

# %%
from helpers import exercises


def unfreeze_last(model, n):
    ...  # your code here


exercises.check_unfreeze_last(unfreeze_last);

# %% [markdown]
# **2.** Spot the bug. A reader of a well-known book's notebooks reported this "fine-tuning" recipe
# (fchollet/deep-learning-with-python-notebooks#257): its second phase, at a learning rate 100 times
# lower, took as long per epoch as the first. Predict before you run: which weights does the second `fit()`
# change? Then run the check on it, and write `fine_tune(model, base, x, y)` without the bug. The check
# runs your function on a small model and records, for each `fit()`, whether the base's weights moved.

# %%
def reported_fine_tune(model, base, x, y):
    base.trainable = False  # 1. train the new head on the frozen base
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")  # 2. fine-tune at a low rate
    model.fit(x, y, epochs=2, verbose=0)


exercises.check_fine_tune(reported_fine_tune, hint=False)


def fine_tune(model, base, x, y):
    ...  # your code here


exercises.check_fine_tune(fine_tune);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
def reference_unfreeze_last(model, n):
    model.trainable = True
    for layer in model.layers[: len(model.layers) - n]:
        layer.trainable = False


assert exercises.check_unfreeze_last(reference_unfreeze_last), "the reference unfreeze_last passes its check"
assert not exercises.check_fine_tune(reported_fine_tune), "the reported recipe never trains the base"


def reference_fine_tune(model, base, x, y):
    base.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    base.trainable = True  # the missing line
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")  # after it, so fit() builds a new step
    model.fit(x, y, epochs=2, verbose=0)


assert exercises.check_fine_tune(reference_fine_tune), "the reference fine_tune passes its check"
