# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · What drifting statistics do to a pretrained model
#
# Notebook 03 showed that in Keras 3 `fit()` updates the moving statistics of a trainable
# BatchNormalization layer, even inside a base called with `training=False`. This notebook measures what
# that drift does to a pretrained model during fine-tuning, at three momenta, and which momentum real
# bases use. It is why the course freezes BatchNormalization when fine-tuning.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras
import numpy as np

from helpers import data, models
from helpers.models import batchnorm_layers, unfreeze_keep_batchnorm_frozen
from helpers.plots import plot_by_step
from helpers.tables import Table

# %% [markdown]
# ## Drift, reproduced on small images
# The guide's reason for keeping BatchNormalization in inference mode: otherwise the updates to its
# non-trainable weights "destroy what the model has learned". How that happens: once the base is
# unfrozen, its statistics get re-estimated on small batches of the *new* data, and every feature the new
# head was trained on shifts under it. We reproduce that on synthetic images small enough to train on a
# CPU:
# - **pretraining** (data A): dim, low-contrast stripes, labelled by their orientation. A small base
#   (two convolutions, each followed by BatchNormalization) and a Dense layer learn them; its moving
#   statistics are then set to A's, as a long pretraining would leave them;
# - **a new task** (data B): bright stripes, labelled by their contrast, high or low. A new head is
#   trained on the frozen base's features;
# - **fine-tuning**, each time on a fresh copy of that model, with batches of 4 at learning rate 1e-5:
#   with BatchNormalization updating (the guide's code on Keras 3), and with it frozen.
#
# The cell that trains the head seeds Keras first, and each fine-tuning run starts from the trained
# head's saved weights, so re-running a cell gives the same result.

# %%
size, steps = 32, (5, 10, 20, 40)


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


def small_model(momentum):
    """(model, base): a fresh small base, BatchNormalization momentum `momentum`, and a Dense head on it."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, strides=2, use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=momentum)(x))
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="small_base")
    outer_inputs = keras.Input((size, size, 3))
    return keras.Model(outer_inputs, keras.layers.Dense(1)(base(outer_inputs, training=False))), base


def set_statistics(base, images):
    """One pass in training mode with momentum 0: the moving statistics become those of `images`."""
    momentum = batchnorm_layers(base)[0].momentum
    for layer in batchnorm_layers(base):
        layer.momentum = 0.0
    base(images, training=True)
    for layer in batchnorm_layers(base):
        layer.momentum = momentum


def moving_means(base):
    """Every BatchNormalization moving mean of `base`, in one vector."""
    return np.concatenate([keras.ops.convert_to_numpy(layer.moving_mean) for layer in batchnorm_layers(base)])


def compile_binary(model, learning_rate):
    """Compile for a binary task with one logit: Adam at `learning_rate`, accuracy at threshold 0."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])


# %% [markdown]
# Pretraining on A, then the new head on B. The accuracy on A is measured on images the base never saw.

# %%
keras.utils.set_random_seed(settings.seed)
images_a, labels_a = data.synthetic_images(512, size, settings.seed)
unseen_a, unseen_labels_a = data.synthetic_images(256, size, settings.seed + 3)
images_a, unseen_a = images_a.astype("float32") * 0.05, unseen_a.astype("float32") * 0.05  # dim, low-contrast
_, base = small_model(0.9)
pretraining = keras.Sequential([base, keras.layers.Dense(1)])
compile_binary(pretraining, 3e-3)
pretraining.fit(images_a, labels_a, batch_size=32, epochs=3, verbose=0)
set_statistics(base, images_a)
accuracy_a = pretraining.evaluate(unseen_a, unseen_labels_a, verbose=0)[1]
pretrained, statistics_a = base.get_weights(), moving_means(base)
print(f"pretraining: accuracy {accuracy_a:.3f} on unseen images of A (orientation)")
assert accuracy_a >= 0.9, "the small base learns the stripes' orientation"

train_b, validation_b = contrast_stripes(4 * steps[-1], settings.seed + 1), contrast_stripes(256, settings.seed + 2)
set_statistics(base, train_b[0])
statistics_b = moving_means(base)  # where re-estimating on B would take them

model, base = small_model(0.9)
base.set_weights(pretrained)
base.trainable = False
compile_binary(model, 1e-2)
model.fit(*train_b, batch_size=32, epochs=30, verbose=0)  # the new head, on the frozen base
head_trained = model.get_weights()
head_accuracy = model.evaluate(*validation_b, verbose=0)[1]
print(f"validation accuracy on B with the trained head: {head_accuracy:.3f}")


# %% [markdown]
# Fine-tuning. Our small base's BatchNormalization layers use a momentum of 0.9 (PyTorch's default, which
# its documentation writes as `momentum=0.1`) so that the drift shows within 40 steps. Keras's default is
# 0.99, and not every base of `keras.applications` uses it: measured below. So we also fine-tune with the
# statistics updating at momentum 0.99 and 0.999. For each run the table gives validation accuracy and
# loss on B, and how far the moving means have gone from A's toward B's (0% at A's, 100% at B's).

# %%
def finetune(keep_batchnorm_frozen, momentum):
    """Fine-tune a fresh copy of the head-trained model on B with batches of 4 at learning rate 1e-5.

    Returns ({step: (loss, accuracy)} on B's validation images, {step: way from A's statistics to B's},
    the largest relative change of a convolution kernel).
    """
    model, base = small_model(momentum)
    model.set_weights(head_trained)
    if keep_batchnorm_frozen:
        unfreeze_keep_batchnorm_frozen(base)
    else:
        base.trainable = True  # the guide's unfreezing: BatchNormalization trains too
    compile_binary(model, 1e-5)
    kernels = {w.path: keras.ops.convert_to_numpy(w) for w in base.weights if "kernel" in w.path}
    order = np.random.default_rng(settings.seed).permutation(len(train_b[0]))
    distance = np.linalg.norm(statistics_a - statistics_b)
    curve, way = {0: model.evaluate(*validation_b, verbose=0)}, {0: 0.0}
    for step in range(1, steps[-1] + 1):
        batch = order[4 * (step - 1) : 4 * step]
        model.train_on_batch(train_b[0][batch], train_b[1][batch])
        if step in steps:
            curve[step] = model.evaluate(*validation_b, verbose=0)
            way[step] = float(1 - np.linalg.norm(moving_means(base) - statistics_b) / distance)
    kernel_change = max(
        np.linalg.norm(keras.ops.convert_to_numpy(w) - kernels[w.path]) / np.linalg.norm(kernels[w.path])
        for w in base.weights if w.path in kernels
    )
    return curve, way, float(kernel_change)


runs = {
    "updating, momentum 0.9": finetune(False, 0.9),
    "updating, momentum 0.99": finetune(False, 0.99),
    "updating, momentum 0.999": finetune(False, 0.999),
    "BatchNormalization frozen": finetune(True, 0.9),
}
curves = {name: run[0] for name, run in runs.items()}
ways = {name: run[1] for name, run in runs.items()}
kernel_changes = {name: run[2] for name, run in runs.items()}
display(Table(["step", *(f"{name}: accuracy / loss" for name in runs)],
              [[step, *(f"{curve[step][1]:.3f} / {curve[step][0]:.3f}" for curve in curves.values())]
               for step in (0, *steps)], title="Validation on B"))
display(Table(["step", *(f"{name}" for name in runs)],
              [[step, *(f"{way[step]:.0%}" for way in ways.values())] for step in (0, *steps)],
              title="Moving means: how far from A's toward B's"))
plot_by_step({name: {step: values[1] for step, values in curve.items()} for name, curve in curves.items()},
             "validation accuracy", title="Fine-tuning with batches of 4, learning rate 1e-5");
print("largest relative change of a convolution kernel in 40 steps:",
      {name: f"{change:.2%}" for name, change in kernel_changes.items()})

# %% [markdown]
# What the numbers say, each checked below:
# - the weights barely move (the printed kernel changes), while the moving statistics, where they
#   update, go most of the way toward B's at momentum 0.9; frozen, they stay at A's;
# - with momentum 0.9, updating the statistics costs 0.10 of accuracy within 10 steps; frozen, no
#   measured step falls 0.10 below the trained head's accuracy;
# - a higher momentum moves the statistics more slowly, and the damage comes later: printed below, the
#   first step whose accuracy is 0.10 or more below the trained head's (`None`: not within 40 steps).

# %%
def first_damage(curve):
    """The first measured step whose accuracy is 0.10 or more below the trained head's, or None."""
    return next((step for step in steps if curve[step][1] <= curve[0][1] - 0.10), None)


damage = {name: first_damage(curve) for name, curve in curves.items()}
print("first step with accuracy 0.10 below the head's:", damage)
fast, medium, slow, frozen = runs
assert max(kernel_changes.values()) < 0.01, "the weights barely move: every kernel changes by less than 1%"
assert ways[fast][steps[-1]] > 0.5, "updating, the moving statistics move toward B's"
assert ways[frozen][steps[-1]] == 0.0, "frozen, the moving statistics stay at A's"
assert curves[frozen][steps[-1]][1] - curves[fast][steps[-1]][1] >= 0.10, "updating statistics must cost accuracy here"
assert curves[fast][10][0] > curves[frozen][10][0], "and cost loss already after 10 steps"
assert ways[fast][steps[-1]] > ways[medium][steps[-1]] > ways[slow][steps[-1]], "a higher momentum moves them slower"
assert damage[fast] is not None and (damage[medium] is None or damage[medium] > damage[fast]), "0.99: damage later"
assert damage[fast] <= 10, "momentum 0.9: damage within 10 steps"
assert damage[slow] is None and damage[frozen] is None, "0.999 and frozen: no damage within 40 steps"
assert ways[slow][steps[-1]] < 0.10, "at momentum 0.999, 40 steps move the statistics less than 10% of the way"

# %% [markdown]
# Which momentum does a real base use? Keras's `BatchNormalization` defaults to 0.99; some bases of
# `keras.applications` set their own. Measured on the course's two bases (random weights, so nothing is
# downloaded):

# %%
default_momentum = keras.layers.BatchNormalization().momentum
base_momenta = {name: {layer.momentum for layer in batchnorm_layers(models.build_base(name, 96, None))}
                for name in ("mobilenet_v2_0.35", "xception")}
print("Keras's default momentum:", default_momentum, "; the bases' momenta:", base_momenta)
assert default_momentum == 0.99, "Keras's default momentum is 0.99"
assert base_momenta == {"mobilenet_v2_0.35": {0.999}, "xception": {0.99}}, "MobileNetV2 uses 0.999, Xception 0.99"

# %% [markdown]
# MobileNetV2, the quick profile's base, updates its statistics with momentum 0.999: in the experiment
# above, 40 steps at 0.999 moved them less than a tenth of the way and did not cost 0.10 of accuracy.
# On that base the guide's recipe, whose statistics update, drifts far more slowly than on our small base
# at 0.9: each batch weighs 0.001 in the moving average instead of 0.1. How much that matters on real
# photos, notebook 10 measures. Frozen statistics avoid the drift altogether, and that is why the course
# freezes BatchNormalization when fine-tuning. It is our default for small data: a choice, not a result
# measured here. When the new data differs from the old mainly in the statistics themselves,
# re-estimating them can *help*: that is the idea behind AdaBN (Li et al., 2016). And fastai keeps
# BatchNormalization layers training when it freezes the rest of a pretrained model, by its
# `train_bn=True` default.
