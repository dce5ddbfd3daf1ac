# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Fine-tuning in practice: how much to unfreeze, which schedule, LoRA, and is it real?
#
# **What you will learn**
# - to tell whether a difference between two recipes is real: an accuracy as an interval (Wilson),
#   two models compared on the same images (McNemar's exact test), and the spread over seeds;
# - to unfreeze a base by whole blocks, read from its layer names, and what each depth costs and buys;
# - to fine-tune with a warm-up and cosine decay (`keras.optimizers.schedules.CosineDecay`);
# - parameter-efficient fine-tuning with Keras 3's built-in LoRA (`layer.enable_lora(rank)`): what it
#   trains, what it stores per task, and how to merge the adapters back into plain weights;
# - what keeping BatchNormalization frozen during fine-tuning changes against letting its statistics move
#   or training its gamma and beta with the statistics kept (notebook 03's wrapper), on the photos and
#   (the first two) on a colour-shifted copy, and why MobileNetV2's momentum of 0.999 matters there.
#
# Every measured figure below comes from this run (one CI timing in a comment is marked as from another).
# Which recipe wins depends on the data, the base and the budget; the point of this notebook is the method
# that tells you, and the honesty to say "no measurable difference" when that is what the numbers say.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import math
import re
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import bases, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.plots import plot_by_step
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = pretrained.resolve_weights(settings)
# This notebook fine-tunes about a dozen recipes, each over three seeds outside smoke, so it caps what each
# one sees: at most EXPERIMENT_IMAGES training images at EXPERIMENT_SIZE pixels, and validation accuracy on
# at most CURVE_IMAGES validation images (the test split stays whole). Our choice for a CPU; the caps are
# printed below, and every comparison is on the same images. The smoke profile checks the mechanics only:
# one training step per epoch, one batch for the curves, the smallest input the base accepts, one seed, and
# Keras running each step eagerly (a choice for CI time: our reading, not measured in this notebook, is that
# building a compiled training step on a CPU costs more than a few eager steps do).
EXPERIMENT_IMAGES, EXPERIMENT_SIZE, CURVE_IMAGES = 128, 96, 200
SMOKE = settings.profile == "smoke"
if SMOKE:
    EXPERIMENT_IMAGES, CURVE_IMAGES = settings.batch_size, settings.batch_size
    EXPERIMENT_SIZE = bases.base_info(settings.base_model).min_size  # the least keras.applications takes
size, batch_size = min(settings.image_size, EXPERIMENT_SIZE), settings.batch_size
train_images = min(course_data.sizes["train"], EXPERIMENT_IMAGES)
train_split = course_data.train.take(train_images)
# a folder's split skips unreadable files (`ignore_errors()`), so tf.data cannot know its length: we tell it,
# or TensorFlow's compiled fit() counts one extra optimizer step per epoch, which shifts a schedule
train_split = train_split.apply(tf.data.experimental.assert_cardinality(train_images)).cache()  # decoded once
assert int(train_split.cardinality()) == train_images, "tf.data knows the training split's length"
head_epochs = max(settings.epochs_head, 20)  # on cached features (see The runs): a few steps of one Dense layer
validation_images = min(course_data.sizes["validation"], CURVE_IMAGES)
validation_ds = pipeline(course_data.validation.take(validation_images), size, batch_size, training=False)
test_ds = pipeline(course_data.test, size, batch_size, training=False)
ORIGINAL = dict(train=train_split, validation=validation_ds, test=test_ds)  # the photos as they are
SEEDS = [settings.seed + k for k in range(1 if SMOKE else 3)]
print(course_data.description, course_data.sizes)
print(f"here: {train_images} training images at {size} px, {validation_images} validation images, "
      f"batch {batch_size}, head {head_epochs} epoch(s), fine-tuning {settings.epochs_finetune} epoch(s), seeds {SEEDS}"
      + (", steps run eagerly" if SMOKE else ""))

# %% [markdown]
# ## Is the difference real?
# An accuracy measured on *n* test images is one draw: on other images of the same kind it would come
# out a little different. The **Wilson interval** gives the range of accuracies that this result is
# compatible with (95% here). We use it rather than "accuracy ± 1.96 standard errors" because it never
# leaves 0-100% and is not zero-wide at 100%.


# %%
Z_95 = 1.959963984540054  # the two-sided 95% quantile of the normal distribution


# Saved in helpers/stats.py for later notebooks.
def wilson_interval(correct, total, z=Z_95):
    """The Wilson score interval (95% by default) for an accuracy of `correct` out of `total`: (low, high).

    Unlike accuracy +- 1.96 standard errors, it stays inside [0, 1] and is not zero-width at 0 or 100%.
    """
    if total <= 0:
        raise ValueError("an interval needs at least one image")
    share = correct / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


# %% [markdown]
# Two models scored **on the same images** can be compared more sharply than two intervals allow: the
# images both get right or both get wrong say nothing about which is better. Only the disagreements
# count. If the two were equally good, each disagreement would be a fair coin toss; **McNemar's exact
# test** asks how surprising the split of the disagreements is under that coin.


# %%
# Saved in helpers/stats.py for later notebooks.
def mcnemar_exact(right_a, right_b):
    """McNemar's exact test of two models on the same images: (only A right, only B right, p-value).

    `right_a` and `right_b` say, image by image, whether each model was right. Only the images where the two
    disagree carry information; under "no difference" each of them is a fair coin toss, so the two-sided
    p-value is twice the smaller binomial tail (at most 1).
    """
    right_a, right_b = np.asarray(right_a, dtype=bool), np.asarray(right_b, dtype=bool)
    if right_a.shape != right_b.shape:
        raise ValueError("both models must be scored on the same images")
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(~right_a & right_b))
    disagreements = only_a + only_b
    tail = sum(math.comb(disagreements, k) for k in range(min(only_a, only_b) + 1)) / 2**disagreements
    return only_a, only_b, min(1.0, 2 * tail)


# %% [markdown]
# An example with 360 test photos (the quick profile's test split of the shared 2,400-photo folder,
# as in `make bench`), where one photo is 0.28 points: say two recipes get 350 and 354 of them right. The cell below computes the interval of the first, and the
# paired test for two ways the four-photo gap could come about.

# %%
low, high = wilson_interval(350, 360)
print(f"one photo in 360 is {1 / 360:.2%}; 350 of 360 right: {350 / 360:.4f}, 95% interval {low:.4f} to {high:.4f} ({high - low:.2%} wide)")
assert low < 354 / 360 < high, "a gap of 4 photos in 360 lies inside the Wilson interval"
print(f"360 of 360 right: 95% interval {wilson_interval(360, 360)[0]:.4f} to 1")
assert wilson_interval(360, 360)[0] < 1.0, "the Wilson interval is not zero-wide at 100%"
# 10 images only B gets right and 6 only A gets right: 354 against 350 with 16 disagreements
_, _, p_spread = mcnemar_exact([True] * 6 + [False] * 10, [False] * 6 + [True] * 10)
# 4 images only B gets right, none only A: the same gap, every disagreement on one side
_, _, p_one_sided = mcnemar_exact([False] * 4, [True] * 4)
print(f"same 4-photo gap: p = {p_spread:.3f} when 16 images disagree, p = {p_one_sided:.3f} when 4 do")
assert p_spread > 0.05 and p_one_sided > 0.05, "4 photos in 360 is no measurable difference either way"
assert p_one_sided == 2 / 2**4, "four of four disagreements on one side: p = 2/16"
p_five, p_six = (mcnemar_exact([False] * k, [True] * k)[2] for k in (5, 6))
print(f"every disagreement on one side: p = {p_five:.4f} for 5 of 5, p = {p_six:.4f} for 6 of 6")
assert p_five > 0.05 > p_six, "the paired test needs at least 6 disagreements, all on one side, to reach p < 0.05"

# %% [markdown]
# Even four of four disagreements on one side is not enough at the 5% level: p = 2/16 = 0.125. Nor is
# five of five. The test only sees the disagreements. So however many test images there are, a recipe
# must win on at least six of them, with none going the other way, before the numbers can tell; more
# when the disagreements are split. A different seed, with its own shuffle, augmentation and head
# initialisation, can move a result too. We repeat each run over the seeds printed above and report mean
# and spread: three seeds in the quick and full profiles, one in smoke, which checks the mechanics only.
#
# ## The runs
# Every run starts from the same pretrained base and a head trained on it with the base frozen, as in
# notebook 05's first stage: one head per seed. Within a seed, the runs differ only in the recipe being
# compared: what is fine-tuned, at which rate, for how many epochs. They see the same images in the same
# order, with the same augmentation. Not everything random is reset, though. Keras keeps Dropout's random
# state outside the weights, so the Dropout masks differ from run to run, and two runs of one recipe need
# not agree exactly. So where a recipe comes back in a later section with the same epochs, its runs are
# reused, not repeated. The head trains on **cached features**: the
# frozen base runs in inference mode, so its output for an image never changes, and computing it once per
# image is exact. That holds only for images that are not augmented, so the head here trains without
# augmentation (notebook 05 augments; the fine-tuning runs below do), and the base runs once over the
# training images instead of once per epoch and seed.


# %%
class_count = len(course_data.class_names)
scales_itself = bases.BASES[settings.base_model].scales_inputs  # as in notebook 05


def compile_model(model, learning_rate):
    """Adam, the logit loss and accuracy of notebook 05; eager steps in smoke (see above)."""
    loss, accuracy = models.loss_and_metric(class_count)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[accuracy], run_eagerly=SMOKE)


keras.utils.set_random_seed(settings.seed)
base_model = models.build_base(settings.base_model, size, weights)
base_model.trainable = False
model = models.build_model(base_model, size, class_count, scales_itself)  # notebook 05's model
head = model.layers[-1]
pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
feature_model = keras.Model(model.inputs, pooling.output)  # its frozen part: the scaling, the base and the pooling
plain_train = pipeline(train_split, size, batch_size, training=False)  # not augmented: see above
train_features = feature_model.predict(plain_train, verbose=0)  # once, for every seed
train_labels = np.concatenate([labels.numpy() for _, labels in plain_train])


def train_head(seed, features):
    """A new Dropout + Dense head, trained on cached `features` (of the training images, in order) with `seed`: its weights."""
    keras.utils.set_random_seed(seed)
    head_model = keras.Sequential([keras.Input(features.shape[1:]), keras.layers.Dropout(0.2), keras.layers.Dense(head.units)])
    compile_model(head_model, 1e-3)
    head_model.fit(features, train_labels, batch_size=batch_size, epochs=head_epochs, verbose=0)
    return head_model.layers[-1].get_weights()


base_start = base_model.get_weights()  # the pretrained base, moving statistics included
head_weights = {seed: train_head(seed, train_features) for seed in SEEDS}


def restart(seed):
    """Put the model back where every run of `seed` starts: the pretrained base and that seed's head."""
    base_model.set_weights(base_start)
    head.set_weights(head_weights[seed])


seed_states = [variable.path for variable in model.variables if "seed_generator" in variable.path]
assert seed_states and not any("seed_generator" in weight.path for weight in model.weights), (
    "Dropout's random state is a variable outside the weights: set_weights does not reset it"
)


steps_per_epoch = math.ceil(train_images / batch_size)


def fine_tune(model, epochs, learning_rate, restart, every_epoch=False):
    """Compile `model` (the caller unfroze what it wants), then train it from each seed's start on the
    photos: one result per seed, with what the tables below show. `fine_tune_on` does the work."""
    return fine_tune_on(model, epochs, learning_rate, {"photos": (restart, ORIGINAL)}, every_epoch)["photos"]


def fine_tune_on(model, epochs, learning_rate, versions, every_epoch=False):
    """Compile `model`, then train it from each seed's start on each version of the data:
    `versions` maps a name to (restart, {train, validation, test}); returns {name: one result per seed}.

    One compile per recipe, not per seed or version: `restart(seed)` puts the seed's starting weights back
    and the optimizer's variables go back to their values before its first step (step 0, no momentum), as
    a new optimizer would start, so Keras builds the training step once. Validation accuracy is measured
    with `predict_on_batch` at the end, and after each epoch with `every_epoch` (`predict_on_batch` builds
    a predict step once per compile; `validation_data` would build an evaluation step besides). Seconds
    per step are the last epoch's training time: with one epoch, the first seed's include building the step.
    """
    compile_model(model, learning_rate)
    model.optimizer.build(model.trainable_variables)
    fresh = [keras.ops.convert_to_numpy(variable) for variable in model.optimizer.variables]
    results = {}
    for version, (restart, photos) in versions.items():
        runs = results[version] = []
        for seed in SEEDS:
            restart(seed)
            for variable, value in zip(model.optimizer.variables, fresh):
                variable.assign(value)
            starts, seconds, curve = [], [], []

            def epoch_end(epoch, logs):
                seconds.append(time.perf_counter() - starts[-1])
                if every_epoch or epoch == epochs - 1:
                    curve.append(float(right_on(model, photos["validation"]).mean()))

            clock = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: starts.append(time.perf_counter()),
                                                   on_epoch_end=epoch_end)
            model.fit(pipeline(photos["train"], size, batch_size, True, seed), epochs=epochs, callbacks=[clock], verbose=0)
            assert int(model.optimizer.iterations) == epochs * steps_per_epoch, "the optimizer counted the planned steps"
            runs.append(dict(trainable=models.param_counts(model)[0], step_seconds=seconds[-1] / steps_per_epoch,
                             validation=curve[-1], curve=curve, right=right_on(model, photos["test"])))
    return results


def right_on(model, dataset):
    """Whether `model` is right on each image of an unshuffled split, in order."""
    logits = np.concatenate([model.predict_on_batch(images.numpy()) for images, _ in dataset])
    labels = np.concatenate([labels.numpy() for _, labels in dataset])
    return models.predicted_classes(logits) == labels


def summary_rows(runs_by_name):
    """One row per recipe: trainable parameters, seconds per step, validation and test accuracy (mean, sd),
    and the Wilson interval of the first seed's test accuracy."""
    rows = []
    for name, runs in runs_by_name.items():
        test = [float(run["right"].mean()) for run in runs]
        low, high = wilson_interval(int(runs[0]["right"].sum()), len(runs[0]["right"]))
        rows.append([name, runs[0]["trainable"], np.mean([run["step_seconds"] for run in runs]),
                     np.mean([run["validation"] for run in runs]), np.mean(test),
                     np.std(test, ddof=1) if len(test) > 1 else "one seed", f"{low:.3f}-{high:.3f}"])
    return rows


HEADER = ["recipe", "trainable", "s/step (last epoch)", "validation", "test (mean)", "test (sd over seeds)", "test 95% (first seed)"]
def verdict(name_a, right_a, name_b, right_b):
    """One sentence: McNemar's test between two recipes on the same test images."""
    only_a, only_b, p_value = mcnemar_exact(right_a, right_b)
    better = name_a if only_a > only_b else name_b
    finding = f"a measurable difference, in favour of {better}" if p_value < 0.05 else "no measurable difference on this data"
    return f"{name_a} vs {name_b}, first seed: {only_a} images only the first gets right, {only_b} only the second; p = {p_value:.3f}: {finding}"



# %% [markdown]
# ## How much to unfreeze: by blocks, not by layer index
# TensorFlow's tutorial fine-tunes MobileNetV2 from `fine_tune_at = 100` ("Fine-tune from this layer
# onwards"); a layer index is easy to write and easy to get wrong, because it can cut a block in half
# (there: block 11's expansion frozen, its projection not; printed below). The layer names of
# `keras.applications` bases say which block each layer belongs to: `block_13_expand`,
# `block_13_depthwise_BN`, ... in MobileNetV2, `block13_sepconv1` in
# Xception. A layer whose name names no block (MobileNetV2's final `Conv_1`, Xception's residual
# convolutions, auto-named `conv2d_1`, ...) belongs to the block before it in `base_model.layers`.


# %%
def blocks(base_model):
    """The base's layers grouped into blocks, in order, from their names: [(block name, [layers])]."""
    groups = []
    for layer in base_model.layers:
        match = re.match(r"(block_?\d+|expanded_conv)", layer.name)
        if match and (not groups or groups[-1][0] != match.group(1)):
            groups.append((match.group(1), []))
        elif not groups:
            groups.append(("stem", []))
        groups[-1][1].append(layer)
    return groups


def unfreeze_top_blocks(base_model, count):
    """Unfreeze the last `count` blocks of the base, every BatchNormalization layer kept frozen."""
    base_model.trainable = True
    thawed = {layer.name for _, layers in blocks(base_model)[len(blocks(base_model)) - count :] for layer in layers}
    for layer in base_model.layers:
        layer.trainable = layer.name in thawed and not isinstance(layer, keras.layers.BatchNormalization)


def whole_blocks(base_model):
    """Whether each block's layers, BatchNormalization aside, are all trainable or all frozen."""
    return all(
        len({layer.trainable for layer in layers if not isinstance(layer, keras.layers.BatchNormalization)}) <= 1
        for _, layers in blocks(base_model)
    )


groups = blocks(base_model)
print(f"{base_model.name}: {len(base_model.layers)} layers in {len(groups)} blocks:",
      ", ".join(f"{name} ({len(layers)})" for name, layers in groups[:3]), "...",
      ", ".join(f"{name} ({len(layers)})" for name, layers in groups[-2:]))
assert [layer for _, layers in groups for layer in layers] == base_model.layers, "every layer in one block, in order"
assert all(len({re.match(r"(block_?\d+)?", layer.name).group(0) for layer in layers} - {""}) <= 1
           for _, layers in groups), "no block holds layers named for another block"
if settings.base_model.startswith("mobilenet_v2"):  # the tutorial's base: it freezes layers[:100]
    owner = {layer.name: name for name, layers in groups for layer in layers}
    cut_block = owner[base_model.layers[100].name]
    convs = [layer for layer in base_model.layers if owner[layer.name] == cut_block and "conv" in type(layer).__name__.lower()]
    print(f"from layer 100 on: {cut_block} is cut, frozen", [c.name for c in convs if base_model.layers.index(c) < 100],
          "trained", [c.name for c in convs if base_model.layers.index(c) >= 100])
    assert owner[base_model.layers[99].name] == cut_block, "unfreezing from layer 100 cuts a block of MobileNetV2 in half"
trainable_by_count = []
for count in range(len(groups) + 1):  # ours, at every depth
    unfreeze_top_blocks(base_model, count)
    assert whole_blocks(base_model), f"the top {count} block(s) unfrozen: a block is cut in half"
    trainable_by_count.append(models.param_counts(model)[0])
assert trainable_by_count == sorted(set(trainable_by_count)), "each depth trains more parameters than the one before"

# %% [markdown]
# Four depths, each fine-tuned for the same epochs at the same learning rate (1e-5, notebook 05's)
# from the same trained head: the head only (nothing of the base), the top block, the top half of the
# blocks, and every block. BatchNormalization stays frozen in each (notebook 03).

# %%
DEPTHS = {"head only": 0, "top block": 1, "top half": len(groups) // 2, "every block": len(groups)}
FINETUNE_EPOCHS = settings.epochs_finetune
base_model.set_weights(base_start)  # the pretrained base, also when this cell runs again after training it
start_statistics = models.moving_statistics(base_model)
depth_runs = {}
for name, count in DEPTHS.items():
    unfreeze_top_blocks(base_model, count)
    assert whole_blocks(base_model), f"{name}: a block is cut in half"
    depth_runs[name] = fine_tune(model, FINETUNE_EPOCHS, 1e-5, restart, every_epoch=name == "every block")  # its curve: below
    assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], (
        f"{name}: the frozen BatchNormalization statistics moved"
    )
trainable_by_depth = [runs[0]["trainable"] for runs in depth_runs.values()]
assert trainable_by_depth == sorted(set(trainable_by_depth)), "each depth trains more parameters than the one before"


display(Table(HEADER, summary_rows(depth_runs), title=f"{len(SEEDS)} seed(s), {course_data.sizes['test']} test images each"))

# %% [markdown]
# Is the deepest unfreezing better than training the head alone? The paired test on the first seed's
# models answers for this data and that seed; the sentence below it is computed, not written in advance.

# %%
print(verdict("every block", depth_runs["every block"][0]["right"], "head only", depth_runs["head only"][0]["right"]))

# %% [markdown]
# ## Learning rate and schedule
# Notebook 05 fine-tunes at a constant, small rate (1e-5). A common alternative is a **warm-up**, the rate
# climbing from 0 over the first steps, followed by a **cosine decay** to 0. The usual argument for the
# warm-up: the first updates, when Adam's running averages rest on few gradients and a new head's
# gradients are largest, stay small, which should let a larger peak rate start gently. That is
# advice from practice;
# the runs below measure what each does here. In Keras a schedule is an object passed to the optimizer
# in place of the learning rate:

# %%
SCHEDULE_EPOCHS = max(2, settings.epochs_finetune)  # at least two points per curve
total_steps = steps_per_epoch * SCHEDULE_EPOCHS


def warmup_cosine(peak):
    """0 up to `peak` over the first epoch, then a cosine decay that reaches 0 just after the last step.

    The optimizer reads the rate before it counts the step, so the very first step runs at rate 0. The rate
    follows `optimizer.iterations`: every run must count exactly the planned steps (asserted in `fine_tune_on`).
    """
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, decay_steps=total_steps - steps_per_epoch,
        warmup_target=peak, warmup_steps=steps_per_epoch,
    )


schedule = warmup_cosine(1e-4)
rates = [float(schedule(step)) for step in range(total_steps + 1)]
assert rates[0] == 0.0 and abs(max(rates) - 1e-4) < 1e-9, "the warm-up starts at 0 and peaks at the target"
assert int(np.argmax(rates)) == steps_per_epoch, "the peak comes at the end of the warm-up"
assert rates[-1] < 1e-9, "the rate reaches 0 at step total_steps, just after the last step run"
probe = keras.Variable(1.0)  # one SGD step on a single number, with the schedule: it moves by the rate used
first_step = keras.optimizers.SGD(schedule)
first_step.build([probe])
first_step.apply([keras.ops.ones(())], [probe])
assert float(keras.ops.convert_to_numpy(probe)) == 1.0, "the very first step runs at rate 0"
plot_by_step({"warm-up + cosine, peak 1e-4": dict(enumerate(rates))}, ylabel="learning rate",
             title="The schedule", xlabel="training step");

# %%
SCHEDULES = {
    "constant 1e-5": lambda: 1e-5,
    "warm-up + cosine, peak 1e-5": lambda: warmup_cosine(1e-5),
    "warm-up + cosine, peak 1e-4": lambda: warmup_cosine(1e-4),
}
models.unfreeze_keep_batchnorm_frozen(base_model)  # notebook 03's: every layer but BatchNormalization
schedule_runs = {}
for name, learning_rate in SCHEDULES.items():
    if name == "constant 1e-5" and SCHEDULE_EPOCHS == FINETUNE_EPOCHS:  # the "every block" recipe: its runs, reused
        schedule_runs[name] = depth_runs["every block"]
    else:
        schedule_runs[name] = fine_tune(model, SCHEDULE_EPOCHS, learning_rate(), restart, every_epoch=True)
plot_by_step(
    {name: dict(enumerate(np.mean([run["curve"] for run in runs], axis=0), start=1))
     for name, runs in schedule_runs.items()},
    ylabel="validation accuracy (mean over seeds)", title="Fine-tuning every block, by schedule", xlabel="epoch",
);
display(Table(HEADER, summary_rows(schedule_runs), title=f"{SCHEDULE_EPOCHS} epochs, {len(SEEDS)} seed(s)"))
print(verdict("peak 1e-4", schedule_runs["warm-up + cosine, peak 1e-4"][0]["right"],
              "constant 1e-5", schedule_runs["constant 1e-5"][0]["right"]))

# %% [markdown]
# ## BatchNormalization during fine-tuning: frozen, moving, or gamma and beta only
# Here the anchors disagree. The guide means to keep BatchNormalization's statistics fixed while gamma, beta
# and the rest of the base train. It calls the base with `training=False`, which on Keras 3 no longer does
# that (notebook 03). This course freezes the layers outright, since frozen statistics cannot drift. fastai
# trains BatchNormalization layers by default, `train_bn=True`. And in an icevision discussion,
# airctic/icevision#32, a maintainer answers that unfreezing them gives better accuracy, because ImageNet's
# statistics are "off" for other images. Three arms, each fine-tuning every block at 1e-5 for the same
# epochs from the same heads:
# - **frozen**: notebook 03's `unfreeze_keep_batchnorm_frozen`. On the photos this is the "every block"
#   recipe of the depth section, so its runs are reused, not trained again (the same number of trainable
#   parameters, asserted);
# - **statistics moving**: every BatchNormalization layer trainable too, as the guide's
#   `base_model.trainable = True` leaves them. The model calls the base with `training=False`, but in
#   Keras 3 `fit()`'s `training=True` reaches the layers inside it all the same (notebook 03): they
#   normalise each batch with its own statistics, update their moving mean and variance (asserted), and
#   train gamma and beta;
# - **gamma and beta only**: notebook 03's wrapper, `InferenceModeBase`, calls the base with
#   `training=False` inside its own `call`, where `fit()` cannot override it: the statistics stay
#   (asserted) while gamma and beta (asserted) and the kernels train. "Only" is about BatchNormalization's
#   weights: the convolution kernels train in every arm (the trainable column of the table below).
#
# Re-estimated statistics can help, we reason, only where the new data's statistics differ from those the
# base was pretrained on (the idea behind AdaBN). So the first two arms run twice: on the photos, and on a
# **shifted copy** of them, every split (training, validation, test) changed the same way: half the contrast
# and a warm colour cast. The shifted copy gets heads of its own, trained as above on cached features of its
# training images. First, how far the shift moves what the pretrained base sees: the channel means of
# the inputs of its first BatchNormalization layer, over the training images, in units of that layer's
# moving standard deviation (averaged over its channels), and their variances against its moving variances.

# %%
CONTRAST, CAST = 0.5, (100.0, 60.0, 20.0)  # the contrast factor, and what is added to red, green and blue
base_model.set_weights(base_start)  # the pretrained base again: the schedules' last run left it fine-tuned


def shift(image, label):
    """The shifted copy of a photo: half the contrast, then a warm colour cast (0-255, still uint8)."""
    shifted = tf.cast(image, tf.float32) * CONTRAST + tf.constant(CAST)
    return tf.cast(tf.round(shifted), tf.uint8), label


SHIFTED = dict(train=train_split.map(shift),
               validation=pipeline(course_data.validation.take(validation_images).map(shift), size, batch_size, training=False),
               test=pipeline(course_data.test.map(shift), size, batch_size, training=False))
first_batchnorm = models.batchnorm_layers(base_model)[0]
up_to_first = keras.Model(base_model.input, first_batchnorm.input)  # the base up to that layer
to_base_input = model.layers[1] if not scales_itself else (lambda images: images)  # what the model does before the base
moving_mean = keras.ops.convert_to_numpy(first_batchnorm.moving_mean)
moving_sd = np.sqrt(keras.ops.convert_to_numpy(first_batchnorm.moving_variance) + first_batchnorm.epsilon)


def first_inputs(split):
    """The first BatchNormalization layer's inputs for a split's images: (images, height, width, channels)."""
    batches = pipeline(split, size, batch_size, training=False)
    return np.concatenate([keras.ops.convert_to_numpy(up_to_first(to_base_input(images))) for images, _ in batches])


inputs_by_version = {"photos": first_inputs(train_split), "shifted": first_inputs(SHIFTED["train"])}
channel_means = {name: values.mean(axis=(0, 1, 2)) for name, values in inputs_by_version.items()}
variance_ratio = {name: float(np.mean(values.var(axis=(0, 1, 2)) / moving_sd**2)) for name, values in inputs_by_version.items()}
away = {name: float(np.mean(np.abs(means - moving_mean) / moving_sd)) for name, means in channel_means.items()}
shift_distance = float(np.mean(np.abs(channel_means["shifted"] - channel_means["photos"]) / moving_sd))
print(f"{first_batchnorm.name}: its inputs' channel means lie {away['photos']:.2f} moving sd (mean over channels) from its moving means "
      f"on the photos, {away['shifted']:.2f} on the shifted copy (the shift moves them by {shift_distance:.2f}); "
      f"their variances are {variance_ratio['photos']:.2f} and {variance_ratio['shifted']:.2f} times the moving variances")
assert variance_ratio["shifted"] < variance_ratio["photos"] / 2, (
    "the shift moves the statistics the base sees: half the contrast, about a quarter of the variance"
)
if settings.uses_pretrained_weights:  # random weights have no pretrained statistics to be far from
    assert away["shifted"] > away["photos"], "the shifted copy lies farther from the pretrained statistics than the photos"
plain_shifted = pipeline(SHIFTED["train"], size, batch_size, training=False)
shifted_features = feature_model.predict(plain_shifted, verbose=0)
assert np.array_equal(np.concatenate([labels.numpy() for _, labels in plain_shifted]), train_labels), (
    "the shifted copy holds the same training images, in the same order"
)
shifted_heads = {seed: train_head(seed, shifted_features) for seed in ([] if SMOKE else SEEDS)}  # smoke: see below


def restart_shifted(seed):
    """The pretrained base and `seed`'s head for the shifted copy."""
    base_model.set_weights(base_start)
    head.set_weights(shifted_heads[seed])


# %% [markdown]
# The three arms, the third on the photos only (for the quick profile's time; the shifted copy asks
# whether moving statistics help). One compile per arm serves both versions of the data (`fine_tune_on`). The wrapped
# model shares the base and the head with `model`, so `restart` and `restart_shifted` reset it too. The
# smoke profile fine-tunes on the photos only (CI time; the shifted copy's statistics above still run
# there, its heads do not), and on JAX runs only the frozen arm, whose runs are the depth section's (see the cell).

# %%
def gamma_and_beta(base_model):
    """A copy of every BatchNormalization gamma and beta in the base, keyed by variable path."""
    return {w.path: keras.ops.convert_to_numpy(w) for layer in models.batchnorm_layers(base_model) for w in (layer.gamma, layer.beta)}


VERSIONS = {"photos": (restart, ORIGINAL)} if SMOKE else {"photos": (restart, ORIGINAL), "shifted": (restart_shifted, SHIFTED)}
start_gamma_beta = gamma_and_beta(base_model)  # the pretrained values (the base was reset above)
bn_runs = {}

# 1. frozen: the "every block" runs on the photos; trained here on the shifted copy only
models.unfreeze_keep_batchnorm_frozen(base_model)
assert models.param_counts(model)[0] == depth_runs["every block"][0]["trainable"], "frozen is the every-block recipe"
bn_runs["frozen"] = {"photos": depth_runs["every block"],
                     **fine_tune_on(model, FINETUNE_EPOCHS, 1e-5, {k: v for k, v in VERSIONS.items() if k != "photos"})}
assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], "frozen: the statistics stay"

share = steps = None  # how far the statistics moved, measured in arm 2
# CI time: on JAX in smoke, where every step runs eagerly, the operations of arms 2 and 3 that the runs above
# did not use are compiled one by one on first use (arm 2's one-step run took 80 s in one of our runs): TensorFlow's smoke
# run and the quick profile train them, JAX's smoke run skips them.
BN_ARMS_TRAIN = not (SMOKE and keras.backend.backend() == "jax")

# %%
if BN_ARMS_TRAIN:
    # 2. statistics moving: every layer trainable, BatchNormalization too; the model is unchanged
    for layer in models.all_layers(base_model):
        layer.trainable = True
    bn_runs["statistics moving"] = fine_tune_on(model, FINETUNE_EPOCHS, 1e-5, VERSIONS)
    moved_means = keras.ops.convert_to_numpy(first_batchnorm.moving_mean) - moving_mean  # the last run's
    assert models.changed(start_statistics, models.moving_statistics(base_model)), (
        "with BatchNormalization trainable, fit() moves its statistics despite base_model(x, training=False)"
    )
    last_version = list(VERSIONS)[-1]
    toward = channel_means[last_version] - moving_mean
    share = float(moved_means @ toward / (toward @ toward))  # how much of the way toward the training images' means
    steps = FINETUNE_EPOCHS * steps_per_epoch
    print(f"statistics moving: in {steps} steps at momentum {first_batchnorm.momentum} the first layer's moving means went "
          f"{share:.1%} of the way toward the means of the training images ({last_version}; 1 - momentum^steps = {1 - first_batchnorm.momentum**steps:.1%}; 90% of the way would take {math.log(0.1) / math.log(first_batchnorm.momentum):.0f} steps)")
    assert share < 0.1, "at MobileNetV2's momentum, a short fine-tuning moves the statistics less than a tenth of the way"

# %%
if BN_ARMS_TRAIN:
    # 3. gamma and beta only: notebook 03's wrapper around the same base, every layer trainable
    for layer in models.all_layers(base_model):
        layer.trainable = True  # as in arm 2, also when this cell runs again after another
    wrapped_inputs = keras.Input(shape=(size, size, 3))
    x = wrapped_inputs if scales_itself else keras.layers.Rescaling(scale=1 / 127.5, offset=-1)(wrapped_inputs)
    x = models.InferenceModeBase(base_model)(x)  # calls base_model(x, training=False) inside its call
    wrapped_model = keras.Model(wrapped_inputs, head(keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))))
    # on the photos only: the quick profile's time (the shifted copy asks whether moving statistics help)
    bn_runs["gamma and beta only"] = fine_tune_on(wrapped_model, FINETUNE_EPOCHS, 1e-5, {"photos": VERSIONS["photos"]})
    assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], "the wrapper keeps the statistics"
    assert set(start_gamma_beta) <= {w.path for w in wrapped_model.trainable_weights}, "the wrapper trains gamma and beta"
    trained = models.changed(start_gamma_beta, gamma_and_beta(base_model))
    print(f"gamma and beta only: {len(trained)} of {len(start_gamma_beta)} gamma and beta arrays changed")
    # with random weights, not asserted: our reading is that their features' scale collapses through the untrained
    # layers (notebook 06 measures it), so some gradients are too small for 1e-5 to move every array
    if settings.uses_pretrained_weights:
        assert len(trained) == len(start_gamma_beta), "the wrapper trains every gamma and beta"

# %%
bn_table = {f"{arm}, {version}": runs for arm, by_version in bn_runs.items() for version, runs in by_version.items()}
display(Table(HEADER, summary_rows(dict(sorted(bn_table.items(), key=lambda item: item[0].endswith("shifted")))),
              title=f"BatchNormalization, every block at 1e-5, {FINETUNE_EPOCHS} epoch(s), {len(SEEDS)} seed(s)"))

# %% [markdown]
# Is any arm measurably different from freezing? McNemar's test on every seed's models (the same test
# images within a version), and the sentence after it, are computed from this run.

# %%
bn_tests = {}
for version in VERSIONS:
    for arm in [arm for arm in bn_runs if arm != "frozen" and version in bn_runs[arm]]:
        frozen_runs, arm_runs = bn_runs["frozen"][version], bn_runs[arm][version]
        print(verdict(f"{arm} ({version})", arm_runs[0]["right"], f"frozen ({version})", frozen_runs[0]["right"]))
        tests = [mcnemar_exact(a["right"], f["right"]) for a, f in zip(arm_runs, frozen_runs)]
        bn_tests[f"{arm} vs frozen, {version}"] = tests
        print(f"  every seed: {[f'{only_a} against {only_b}, p = {p:.3f}' for only_a, only_b, p in tests]}")
measurable = {name: [only_a > only_b for only_a, only_b, p in tests if p < 0.05] for name, tests in bn_tests.items()}
if not bn_tests:
    print("Only the frozen arm ran here (see above): nothing to compare.")
elif not any(measurable.values()):
    print(f"In none of the {len(bn_tests) * len(SEEDS)} paired tests is an arm measurably different from freezing: "
          f"no measurable difference on this data ({' or '.join(VERSIONS)}).")
else:
    for name, wins in measurable.items():
        if wins:
            print(f"{name}: measurable in {len(wins)} of {len(SEEDS)} seed(s), the arm better in {sum(wins)} of them")
    print(f"Even if no arm made any difference, up to one test in twenty could come out below 0.05 by chance "
          f"(here {len(bn_tests) * len(SEEDS) / 20:.1f} of {len(bn_tests) * len(SEEDS)} tests): a single such test is weak evidence.")

# %% [markdown]
# What these runs can and cannot say. The sentences above are the finding on this data, at these
# settings. One more fact explains part of it. MobileNetV2's BatchNormalization layers average with
# momentum 0.999, so each step moves a moving statistic 0.1% of the way toward the batch's. Then *n* steps
# give the new batches a weight of only 1 - 0.999^n in every layer. The cell above prints it with the
# measured share of the first layer, asserted under a tenth. At evaluation the "statistics moving" arm
# therefore normalises almost as the frozen arm does; during training it normalises each batch with that
# batch's own statistics and trains gamma and beta. Re-estimating the statistics for the shifted copy, the
# AdaBN idea, takes one forward pass over all the new images as a single batch with momentum 0: notebook
# 03's `set_statistics`. Through `fit()` at 0.999 it would take about 2,300 steps for 90% of the way, as
# printed above, or a lower momentum; PyTorch's default corresponds to Keras's 0.9. That is a different
# recipe, not measured here.
# Where the anchors disagree, these numbers support only the sentences printed above, for this base and
# these settings.

# %% [markdown]
# ## LoRA: fine-tune a small fraction of the parameters
# LoRA (low-rank adaptation) leaves a layer's kernel *W* frozen and learns a correction *A·B* of low
# rank *r*: the layer computes with *W + (α/r)·A·B*, where α, `lora_alpha`, scales the correction. Keras
# sets α = r unless told otherwise, as printed below, so here α/r = 1. *B* starts at zero, so training starts
# from the pretrained layer exactly. Keras 3 has it built in: `layer.enable_lora(rank)`, on `Dense`,
# `EinsumDense`, `Embedding` and, in the pinned Keras, `Conv2D`, but not on the depthwise and separable
# convolutions (printed below). We enable it on the base's pointwise (1x1) convolutions, which hold most
# of MobileNetV2's weights (measured below). `enable_lora` freezes the kernel itself, but freezing and
# unfreezing the layer afterwards thaws it again (printed below): set the flags first, then enable LoRA.

# %%
RANK = 4
LAYER_KINDS = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Embedding, keras.layers.Conv2D,
               keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
print("enable_lora:", {kind.__name__: hasattr(kind, "enable_lora") for kind in LAYER_KINDS})
demo = keras.layers.Conv2D(8, 1)
demo.build((None, 4, 4, 3))
demo.enable_lora(2)
print("trainable after enable_lora:", [w.name for w in demo.trainable_weights])
demo.trainable = False  # frozen and unfrozen after enable_lora, as a loop that sets `trainable` per stage would
demo.trainable = True
print("after trainable = False, then True:", [w.name for w in demo.trainable_weights])
assert "kernel" in [w.name for w in demo.trainable_weights], "trainable = True after enable_lora thaws the kernel"


def enable_lora_on_pointwise(base_model, rank):
    """Freeze the base except LoRA adapters on its 1x1 convolutions; return those layers."""
    base_model.trainable = True
    pointwise = [layer for layer in base_model.layers
                 if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)]
    for layer in base_model.layers:
        layer.trainable = layer in pointwise
    for layer in pointwise:
        layer.enable_lora(rank)  # the kernel becomes non-trainable; lora_kernel_a and _b are the trainable part
    return pointwise


sample = next(iter(test_ds))[0].numpy()


lora_model = keras.models.clone_model(model)  # a copy, so the model above stays free of LoRA
lora_base = next(layer for layer in lora_model.layers if isinstance(layer, keras.Model))
lora_base.set_weights(base_start)
lora_layers = enable_lora_on_pointwise(lora_base, RANK)
assert not any(np.any(keras.ops.convert_to_numpy(layer.lora_kernel_b)) for layer in lora_layers), "B starts at zero"
print(f"rank {RANK}, lora_alpha {lora_layers[0].lora_alpha}: the correction is scaled by {lora_layers[0].lora_alpha / RANK:g}")
adapter_weights = [w for layer in lora_layers for w in (layer.lora_kernel_a, layer.lora_kernel_b)]
head_weight_count = models.count_params(lora_model.layers[-1].weights)
assert models.param_counts(lora_model)[0] == models.count_params(adapter_weights) + head_weight_count, (
    "LoRA trains only the adapters and the head"
)
lora_start = lora_model.get_weights()  # the pretrained base with fresh adapters


def restart_lora(seed):
    """The pretrained base, the same fresh adapters for every seed, and `seed`'s head."""
    lora_model.set_weights(lora_start)
    lora_model.layers[-1].set_weights(head_weights[seed])


# advice from practice, not measured here: LoRA takes a larger learning rate than full fine-tuning
lora_runs = {"LoRA rank 4 (pointwise convolutions)": fine_tune(lora_model, FINETUNE_EPOCHS, 1e-3, restart_lora)}
# below: the last seed's LoRA model, stored and merged
pointwise_share = sum(int(np.prod(layer.kernel.shape)) for layer in lora_layers) / base_model.count_params()  # no adapters
lora_share = models.param_counts(lora_model)[0] / depth_runs["every block"][0]["trainable"]
print(f"the pointwise kernels hold {pointwise_share:.0%} of the base's parameters; LoRA trains "
      f"{lora_share:.1%} of what fine-tuning every block trains")
assert pointwise_share > 0.5, "the pointwise convolutions hold most of the base's weights"
assert lora_share < 0.1, "LoRA trains a small fraction of the parameters"
display(Table(HEADER, summary_rows({**lora_runs, "every block": depth_runs["every block"]}),
              title=f"LoRA against full fine-tuning ({FINETUNE_EPOCHS} epoch(s), {len(SEEDS)} seed(s))"))
print(verdict("LoRA", lora_runs["LoRA rank 4 (pointwise convolutions)"][0]["right"],
              "every block", depth_runs["every block"][0]["right"]))

# %% [markdown]
# What must be kept per task is only the adapters and the head; the base is shared by every task.
# Saving the whole LoRA model to `.keras` does not keep the adapters: each LoRA layer stores its merged
# kernel *W + (α/r)·A·B* as its kernel, and loading builds LoRA layers again with fresh adapters (*B* zero)
# on top of it. The reloaded model predicts the same, but the trained *A* and *B* are gone (checked below).

# %%
build_dir = Path(settings.build_dir) / "lora"
build_dir.mkdir(parents=True, exist_ok=True)
adapter_file = build_dir / "adapters.npz"
np.savez(adapter_file, *[keras.ops.convert_to_numpy(w) for w in adapter_weights + lora_model.layers[-1].weights])
whole_file = build_dir / "whole_model.keras"
lora_model.save(whole_file)
print(f"per task: {adapter_file.stat().st_size / 1e3:,.0f} kB of adapters and head, "
      f"against {whole_file.stat().st_size / 1e6:,.2f} MB for the whole model")
assert adapter_file.stat().st_size * 5 < whole_file.stat().st_size, "the adapters are a small fraction of the model"
reloaded = keras.models.load_model(whole_file)
saved_layer = next(layer for layer in models.all_layers(reloaded) if layer.name == lora_layers[-1].name)
assert np.array_equal(keras.ops.convert_to_numpy(saved_layer.kernel), keras.ops.convert_to_numpy(lora_layers[-1].kernel)), (
    "the .keras file stores the merged kernel"
)
assert not np.any(keras.ops.convert_to_numpy(saved_layer.lora_kernel_b)), "reloaded, the adapters start again at zero"

# %% [markdown]
# **Merging.** For serving, the adapters can be folded back into plain kernels: the merged kernel is
# `layer.kernel`, which on a LoRA layer already returns *W + (α/r)·A·B*. A model built without LoRA and
# given those kernels predicts what the LoRA model predicts, with no adapters left to compute.


# %%
def merged_copy(model):
    """A copy of `model` without LoRA: every LoRA layer's adapters folded into its kernel."""
    plain = keras.models.clone_model(model, recursive=True, clone_function=lambda layer: layer.__class__.from_config(
        {key: value for key, value in layer.get_config().items() if key not in ("lora_rank", "lora_alpha")}))
    for source, target in zip(models.all_layers(model), models.all_layers(plain)):
        if getattr(source, "lora_enabled", False):
            target.set_weights([keras.ops.convert_to_numpy(source.kernel),
                                *[w.numpy() for w in source.weights if w.name not in ("kernel", "lora_kernel_a", "lora_kernel_b")]])
        elif not isinstance(source, keras.Model):
            target.set_weights(source.get_weights())
    return plain


merged = merged_copy(lora_model)
merged_base = next(layer for layer in merged.layers if isinstance(layer, keras.Model))
rng = np.random.default_rng(settings.seed)
layer_gaps = []
for layer in lora_layers:  # each LoRA layer and its merged twin, on the same random input
    probe = rng.normal(size=(2, 8, 8, layer.kernel.shape[-2])).astype("float32")
    merged_output = keras.ops.convert_to_numpy(merged_base.get_layer(layer.name)(probe))
    layer_gaps.append(float(np.abs(merged_output - keras.ops.convert_to_numpy(layer(probe))).max()))
largest_b = max(float(np.abs(keras.ops.convert_to_numpy(layer.lora_kernel_b)).max()) for layer in lora_layers)
logit_gap = float(np.abs(merged.predict_on_batch(sample) - lora_model.predict_on_batch(sample)).max())
print(f"largest |B| after training: {largest_b:.1e}; largest difference, merged against LoRA: "
      f"{max(layer_gaps):.1e} over {len(lora_layers)} layers, {logit_gap:.1e} in the logits")
assert largest_b > 0, "the adapters trained: B starts at zero"
assert not any(getattr(layer, "lora_enabled", False) for layer in models.all_layers(merged)), "the copy has no LoRA"
assert max(layer_gaps) == 0.0, "each merged layer computes exactly what its LoRA layer computes"
assert logit_gap <= 1e-5, "the merged model predicts what the LoRA model predicts"

# %% [markdown]
# **Xception, the guide's base.** Parameter counts need no training, so `weights=None` gives them. Its
# pointwise convolutions live inside `SeparableConv2D`, which (as printed above) has no `enable_lora` in
# the pinned Keras: LoRA there reaches only Xception's few plain `Conv2D` layers.

# %%
xception = keras.applications.Xception(weights=None, input_shape=(150, 150, 3), include_top=False)
plain_convs = [layer for layer in xception.layers if isinstance(layer, keras.layers.Conv2D)]
separable = [layer for layer in xception.layers if isinstance(layer, keras.layers.SeparableConv2D)]
lora_size = sum(RANK * (int(np.prod(layer.kernel.shape[:-1])) + layer.filters) for layer in plain_convs)
display(Table(["Xception, 150 px", "count"], [
    ["parameters", xception.count_params()],
    ["plain Conv2D layers (LoRA possible)", len(plain_convs)],
    ["SeparableConv2D layers (no LoRA in Keras 3.15.1)", len(separable)],
    [f"LoRA rank {RANK} parameters on the Conv2D layers", lora_size],
]))
assert len(separable) > len(plain_convs), "most of Xception's convolutions are separable"

# %% [markdown]
# The figures of this run go to a results file (`results/08_finetuning_choices.json` in the build folder),
# where `make bench` reads them (the README's tables are copied from one such run).


# %%
def recipe_figures(runs):
    """One recipe's figures over the seeds, as the tables above show them."""
    test = [float(run["right"].mean()) for run in runs]
    low, high = wilson_interval(int(runs[0]["right"].sum()), len(runs[0]["right"]))
    return dict(trainable=runs[0]["trainable"], step_seconds=float(np.mean([run["step_seconds"] for run in runs])),
                validation=float(np.mean([run["validation"] for run in runs])), test_mean=float(np.mean(test)),
                test_sd=float(np.std(test, ddof=1)) if len(test) > 1 else None, test_low=low, test_high=high)


def paired(runs_a, runs_b):
    """McNemar's test between two recipes' first seeds."""
    only_a, only_b, p_value = mcnemar_exact(runs_a[0]["right"], runs_b[0]["right"])
    return dict(only_a=only_a, only_b=only_b, p=p_value)


# Keys (stable, read by `make bench`): seeds, train_images, validation_images, test_images, image_size,
# head_epochs, finetune_epochs, schedule_epochs; recipes: {recipe name as in the tables: {trainable,
# step_seconds, validation, test_mean, test_sd (None with one seed), test_low, test_high (the first seed's
# Wilson 95%)}}; paired: {"A vs B": {only_a, only_b, p}} (first seed); lora: {adapter_kb, whole_model_mb,
# logit_gap (merged against LoRA)}; BatchNormalization's arms are recipes ("BatchNormalization statistics moving,
# shifted", ...; frozen on the photos is "every block") and paired entries ("BatchNormalization gamma and beta
# only vs frozen, photos"); batchnorm: {the shift, its effect on the first layer's inputs, the moving share,
# p_by_seed}.
all_runs = {**depth_runs, **schedule_runs, **lora_runs,
            **{f"BatchNormalization {name}": runs for name, runs in bn_table.items() if name != "frozen, photos"}}
notebook.save_results(
    settings, "08_finetuning_choices", seeds=SEEDS, train_images=train_images, validation_images=validation_images,
    test_images=course_data.sizes["test"], image_size=size, head_epochs=head_epochs, finetune_epochs=FINETUNE_EPOCHS,
    schedule_epochs=SCHEDULE_EPOCHS, recipes={name: recipe_figures(runs) for name, runs in all_runs.items()},
    paired={
        "every block vs head only": paired(depth_runs["every block"], depth_runs["head only"]),
        "peak 1e-4 vs constant 1e-5": paired(schedule_runs["warm-up + cosine, peak 1e-4"], schedule_runs["constant 1e-5"]),
        "LoRA vs every block": paired(lora_runs["LoRA rank 4 (pointwise convolutions)"], depth_runs["every block"]),
        **{f"BatchNormalization {name}": dict(zip(("only_a", "only_b", "p"), tests[0])) for name, tests in bn_tests.items()},
    },
    batchnorm=dict(contrast=CONTRAST, cast=CAST, layer=first_batchnorm.name, away_from_moving_means=away,
                   variance_ratio=variance_ratio, shift_distance=shift_distance, momentum=first_batchnorm.momentum,
                   steps=steps, moving_share=share, shifted_trained=not SMOKE,
                   p_by_seed={name: [p for _, _, p in tests] for name, tests in bn_tests.items()}),
    lora=dict(adapter_kb=adapter_file.stat().st_size / 1e3, whole_model_mb=whole_file.stat().st_size / 1e6,
              logit_gap=logit_gap),
)

# %% [markdown]
# ## Summary
# - Before believing that one recipe beats another, put an interval on each accuracy and run the paired
#   test on the same images; repeat over seeds. On 360 images, a gap of four photos is no measurable
#   difference, even with all four disagreements on one side (asserted above).
# - Unfreeze by blocks, read from the layer names, not by a layer index; deeper unfreezing trains more
#   parameters (asserted); what it costs per step and whether it pays, the tables and tests above say.
# - A schedule is an object given to the optimizer; a warm-up starts even a larger peak rate from 0.
#   Whether that helps on this data, the table and the paired test above say.
# - BatchNormalization frozen, with its statistics moving, or with its gamma and beta training while its
#   statistics stay (the kernels train in all three): the paired tests above say, per version of the
#   data, whether any arm differs from freezing. With MobileNetV2's momentum (0.999), a short fine-tuning
#   moves the moving statistics only a small part of the way to the new data's (asserted in the first layer).
# - LoRA trains a small fraction of the parameters and stores only the adapters and the head per task
#   (the sizes printed above); merged back, the model predicts the same.
#
# ## Exercises
# **1. Is it real?** Two fine-tuned models were scored on the same 400 test photos: A got 388 right,
# B 385. A is right on 7 photos where B is wrong, B on 4 where A is wrong. Is A measurably better?
# Answer `True` or `False`, from a computation, not a hunch.

# %%
from helpers import exercises

a_measurably_better = ...
exercises.check_is_it_real(a_measurably_better);

# %% [markdown]
# **2. Spot the bug.** This function, in the style of a popular tutorial, "unfreezes the top two blocks"
# of MobileNetV2 by counting layers from the end. What does it get wrong? Write `unfreeze_top_two_blocks`
# that does it right (BatchNormalization stays frozen). The check runs it on a MobileNetV2 0.35.
#
# ```python
# def unfreeze_top_two_blocks(base_model):
#     base_model.trainable = True
#     for layer in base_model.layers[:-15]:
#         layer.trainable = False
# ```


# %%
def unfreeze_top_two_blocks(base_model):
    ...  # your code here


exercises.check_unfreeze_top_two_blocks(unfreeze_top_two_blocks);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
_, _, p_value = mcnemar_exact([True] * 7 + [False] * 4, [False] * 7 + [True] * 4)
assert exercises.check_is_it_real(p_value < 0.05), "the reference answer to exercise 1 is accepted"


def reference_unfreeze_top_two_blocks(base_model):
    unfreeze_top_blocks(base_model, 2)


assert exercises.check_unfreeze_top_two_blocks(reference_unfreeze_top_two_blocks), "the reference answer to exercise 2 is accepted"
