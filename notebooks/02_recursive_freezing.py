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
# - setting `trainable` on a model sets it on every layer inside, however deeply nested;
# - unfreezing works the same way, and it overwrites whatever the inner layers said before;
# - partial unfreezing: freeze a whole base, then thaw only its last few layers.
#
# The guide covers this in "Recursive setting of the `trainable` attribute".

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras

from helpers.models import all_layers
from helpers.tables import layer_table

# %% [markdown]
# ## A model inside a model
# Transfer learning always nests: a pretrained base is one layer of the model you train.

# %%
inner_model = keras.Sequential(
    [keras.Input(shape=(3,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(3, activation="relu")],
    name="inner",
)
model = keras.Sequential(
    [keras.Input(shape=(3,)), inner_model, keras.layers.Dense(3, activation="sigmoid")], name="outer"
)
display(layer_table(model, title="Everything trainable"))

# %% [markdown]
# ## Freeze the outer model
# One assignment reaches every layer below it.

# %%
model.trainable = False
for layer in all_layers(model):
    assert layer.trainable is False, f"{layer.name} is still trainable"
assert model.trainable_weights == []
display(layer_table(model, title="Outer model frozen"))

# %% [markdown]
# ## Unfreeze it again
# Unfreezing a frozen model is just as recursive: every inner layer becomes trainable, including any
# you had frozen one by one before. If some layers must stay frozen, set them *after* unfreezing.

# %%
inner_model.layers[0].trainable = False
model.trainable = True
assert all(layer.trainable for layer in all_layers(model)), "unfreezing the outer model thaws everything"
assert len(model.trainable_weights) == 6  # three Dense layers, kernel and bias each

# %% [markdown]
# A trap, and a difference between Keras's backends: set `trainable = True` on a model that is
# *already* trainable. On JAX (and PyTorch), Keras's setter runs and thaws every layer inside. On
# TensorFlow the assignment is skipped before the setter runs (its attribute tracking treats `x = x` as
# a no-op), so a layer you froze by hand stays frozen. Freezing the model first, then unfreezing it,
# thaws everything on every backend.

# %%
inner_model.layers[0].trainable = False
model.trainable = True  # already True
thawed = inner_model.layers[0].trainable
print(f"backend {keras.backend.backend()}: the hand-frozen layer is", "thawed" if thawed else "still frozen")
assert thawed == {"tensorflow": False, "jax": True, "torch": True}[keras.backend.backend()]
model.trainable = False
model.trainable = True  # a real change: every layer follows, on every backend
assert inner_model.layers[0].trainable is True

# %% [markdown]
# ## Partial unfreezing
# Fine-tuning often thaws only the top of a base: its last layers hold the most task-specific
# features. Freeze the base, then set `trainable = True` on the last N layers. The base model
# itself must stay trainable for its layers' flags to count, so freeze the layers, not the base.

# %%
base = keras.Sequential(
    [keras.Input(shape=(4,)), *(keras.layers.Dense(4, name=f"block_{i}") for i in range(6))], name="base"
)
full_model = keras.Sequential([keras.Input(shape=(4,)), base, keras.layers.Dense(1, name="head")])
unfreeze_last_n = 2
for layer in base.layers[:-unfreeze_last_n]:
    layer.trainable = False

display(layer_table(base, title=f"Base with its last {unfreeze_last_n} layers unfrozen"))
flags = [layer.trainable for layer in base.layers]
assert flags == [False] * 4 + [True] * 2
assert len(full_model.trainable_weights) == 2 * (unfreeze_last_n + 1)  # the thawed blocks and the head

# %% [markdown]
# The same loop works on a real base: you can unfreeze only its last few blocks. That is a common
# choice when data is scarce (advice; the course does not measure it). Notebook 05 unfreezes the whole
# base and keeps every BatchNormalization layer frozen; notebook 03 shows why.

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
# **2.** An inner model is set `trainable = True`, then the outer model containing it is set
# `trainable = False`. How many trainable weights does the outer model have? (The check builds
# a two-Dense inner model inside an outer model with one more Dense.)

# %%
my_count = ...
exercises.check_nested_trainable_count(my_count);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
def reference_unfreeze_last(model, n):
    model.trainable = True
    for layer in model.layers[: len(model.layers) - n]:
        layer.trainable = False


assert exercises.check_unfreeze_last(reference_unfreeze_last)
assert exercises.check_nested_trainable_count(0)
