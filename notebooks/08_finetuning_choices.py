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
# - to tell whether a difference between two recipes is real: an accuracy as an interval, two models
#   compared on the same images, seed by seed, and many tests corrected together;
# - to unfreeze a base by whole blocks, read from its layer names;
# - to fine-tune with a warm-up and cosine decay, `keras.optimizers.schedules.CosineDecay`;
# - to fine-tune with Keras 3's built-in LoRA, `layer.enable_lora(rank)`, then store the adapters and merge
#   them back;
# - what freezing BatchNormalization changes, against letting its statistics move or training only its
#   gamma and beta.
#
# Every figure below is measured in this run. Which recipe wins depends on the data, the base and the
# budget. This notebook teaches the method that tells you. When the numbers show no difference, it says so,
# and says how large a difference they could have shown.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import math
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import bases, comparisons, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.plots import plot_by_step
from helpers.stats import detectable_split, holm
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = pretrained.resolve_weights(settings)
# how many images, seeds and pixels each run gets: comparisons.plan says why
plan = comparisons.plan(settings, course_data.sizes, bases.base_info(settings.base_model).min_size, keras.backend.backend())
size, batch_size, train_images, SEEDS = plan.image_size, settings.batch_size, plan.train_images, plan.seeds
train_split = course_data.train.take(train_images)
# a folder's split skips unreadable files (`ignore_errors()`), so tf.data cannot know its length: we tell it,
# so that fit() counts exactly the steps a schedule plans for (asserted with the schedules)
train_split = train_split.apply(tf.data.experimental.assert_cardinality(train_images)).cache()  # decoded once
assert int(train_split.cardinality()) == train_images, "tf.data knows the training split's length"
head_epochs = max(settings.epochs_head, 20)  # on cached features (see The runs): a few steps of one Dense layer
validation_images = plan.validation_images
validation_ds = pipeline(course_data.validation.take(validation_images), size, batch_size, training=False)
test_ds = pipeline(course_data.test, size, batch_size, training=False)
ORIGINAL = dict(train=train_split, validation=validation_ds, test=test_ds)  # the photos as they are
print(course_data.description, course_data.sizes)
print(f"here: {train_images} training images at {size} px, {validation_images} validation images, "
      f"batch {batch_size}, head {head_epochs} epoch(s), fine-tuning {settings.epochs_finetune} epoch(s), seeds {SEEDS}"
      + (", steps run eagerly" if plan.eager else ""))

# %% [markdown]
# ## Is the difference real?
# An accuracy measured on *n* test images is one draw: other images of the same kind would give a slightly
# different one. The **Wilson interval** gives the accuracies that this result is compatible with, at 95%
# here. We prefer it to "accuracy ± 1.96 standard errors": it stays within 0-100% and is not zero-wide at
# 100%.


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
# An example with 360 test photos, where one photo is 0.28 points: say two recipes get 350 and 354 of them
# right. The cell below computes the first one's interval, and the paired test for two ways the four-photo
# gap could come about.

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
# must win on at least six of them, with none going the other way, before the numbers can tell. It needs
# more when the disagreements are split.
#
# A "no measurable difference" needs its scale. `detectable_split` gives the most even split of the
# disagreements that the test would call measurable. For the 16 disagreements above, the cell below
# prints it.
#
# A seed can move a result too: it brings its own head, shuffle and augmentation. So we compare two recipes
# seed by seed, on models that share the seed's head. Each seed gives a paired difference in test accuracy
# and a paired test; the mean and spread of the differences show how stable a gap is.
#
# Many tests bring one more trap. If no recipe made any difference, each test would still fall below 0.05
# up to one time in twenty. **Holm's correction** guards the whole family. Sort the p-values, multiply the
# smallest by the number of tests, the next by one fewer, and so on; each adjusted value is at least the one
# before. An adjusted p-value below 0.05 is measurable.

# %%
more, fewer = detectable_split(16, 0.05)
print(f"16 disagreements: the most even measurable split is {more} to {fewer}, a gap of {more - fewer} images")
assert more - fewer > 10 - 6, "the 10-to-6 split above is more even than any measurable split of 16"
adjusted = holm([0.01, 0.04, 0.03])
print(f"three tests, p = 0.01, 0.04 and 0.03; after Holm's correction: {[round(p, 3) for p in adjusted]}, "
      f"{sum(p < 0.05 for p in adjusted)} of them below 0.05")
assert np.allclose(adjusted, [0.03, 0.06, 0.06]), "Holm: the smallest p times 3, the next times 2, the last raised to it"

# %% [markdown]
# ## The runs
# Every run starts from the same pretrained base and a head trained on it with the base frozen, as in
# notebook 05's first stage: one head per seed. Within a seed, the runs differ only in the recipe: what is
# fine-tuned, at which rate, for how many epochs. They see the same images in the same order, with the same
# augmentation. Not everything random is reset, though. Keras keeps Dropout's random state outside the
# weights, as asserted below, so two runs of one recipe need not agree exactly. A recipe that comes back
# later with the same epochs therefore reuses its runs.
#
# The head trains on **cached features**. The frozen base runs in inference mode, so its output for an
# image never changes, and computing it once per image is exact. That holds only for images that are not
# augmented. So the head here trains without augmentation, unlike notebook 05's; the fine-tuning runs
# below augment.


# %%
class_count = len(course_data.class_names)
scales_itself = bases.BASES[settings.base_model].scales_inputs  # as in notebook 05


def compile_model(model, learning_rate):
    """Adam, the logit loss and accuracy of notebook 05."""
    loss, accuracy = models.loss_and_metric(class_count)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[accuracy], run_eagerly=plan.eager)


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
PHOTOS = {"photos": (restart, ORIGINAL)}  # one version of the data: the photos, from each seed's start


def fine_tune(model, learning_rate, epochs, versions, every_epoch=False):
    """One arm: compile `model` (the caller unfroze what it trains), then fit it from each seed's start on each
    version of the data. Returns {version: one run per seed} (comparisons.run_arm)."""
    compile_model(model, learning_rate)

    def fit(seed, train, callbacks):
        model.fit(pipeline(train, size, batch_size, training=True, seed=seed), epochs=epochs, callbacks=callbacks, verbose=0)

    return comparisons.run_arm(model, fit, versions, SEEDS, every_epoch)


PAIRED = {}  # every paired comparison of this notebook, corrected together at the end

# %% [markdown]
# ## How much to unfreeze: by blocks, not by layer index
# TensorFlow's tutorial fine-tunes MobileNetV2 from `fine_tune_at = 100`, "Fine-tune from this layer
# onwards". A layer index is easy to write and easy to get wrong: it can cut a block in half, as printed
# below. The layer names of `keras.applications` bases say which block each layer belongs to:
# `block_13_expand` or `block_13_depthwise_BN` in MobileNetV2, `block13_sepconv1` in Xception. A layer whose
# name names no block, such as MobileNetV2's final `Conv_1`, joins the block before it. Read this way, the
# names give the papers' counts: 17 bottleneck blocks in MobileNetV2, 14 modules in Xception. The cell below
# asserts the count of this run's base.


# %%
BLOCK_NAME = re.compile(r"(block_?\d+|expanded_conv)")  # the start of a layer name that names its block


def blocks(base_model):
    """The base's layers grouped into blocks, in order, from their names: [(block name, [layers])]."""
    groups = []
    for layer in base_model.layers:
        match = BLOCK_NAME.match(layer.name)
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


def cut_blocks(base_model):
    """The blocks, by the names of their layers, that are partly trainable and partly frozen (BatchNormalization aside)."""
    flags = {}
    for layer in base_model.layers:
        match = BLOCK_NAME.match(layer.name)
        if match and not isinstance(layer, keras.layers.BatchNormalization):
            flags.setdefault(match.group(1), set()).add(layer.trainable)
    return [name for name, seen in flags.items() if len(seen) > 1]


# %%
groups = blocks(base_model)
print(f"{base_model.name}: {len(base_model.layers)} layers in {len(groups)} blocks:",
      ", ".join(f"{name} ({len(layers)})" for name, layers in groups[:3]), "...",
      ", ".join(f"{name} ({len(layers)})" for name, layers in groups[-2:]))
PAPER_BLOCKS = {"mobilenet_v2_0.35": 17, "xception": 14}  # MobileNetV2's bottleneck blocks, Xception's modules
if settings.base_model in PAPER_BLOCKS:
    assert len([name for name, _ in groups if name != "stem"]) == PAPER_BLOCKS[settings.base_model], (
        "the layer names give the paper's count of blocks"
    )
if settings.base_model.startswith("mobilenet_v2"):  # the tutorial's base: it freezes layers[:100]
    for index, layer in enumerate(base_model.layers):
        layer.trainable = index >= 100  # the tutorial's cut, set layer by layer
    cut = cut_blocks(base_model)
    print(f"layers[:100] frozen, blocks cut: {cut};", [(layer.name, layer.trainable) for layer in base_model.layers
          if layer.weights and not isinstance(layer, keras.layers.BatchNormalization) and layer.name.startswith(tuple(f"{name}_" for name in cut))])
    assert cut_blocks(base_model) == ["block_11"], "freezing layers[:100] cuts MobileNetV2's block_11 in half"
trainable_by_count = []
for count in range(len(groups) + 1):  # ours, at every depth
    unfreeze_top_blocks(base_model, count)
    assert cut_blocks(base_model) == [], f"the top {count} block(s) unfrozen: a block is cut in half"
    trainable_by_count.append(models.param_counts(model)[0])
assert trainable_by_count == sorted(set(trainable_by_count)), "each count of blocks trains more parameters than a smaller count"

# %% [markdown]
# Four depths, each fine-tuned for the same epochs at notebook 05's rate, 1e-5, from the same heads: the head
# only, the top block, the top half of the blocks, and every block. BatchNormalization stays frozen in each,
# as in notebook 03. The paired test below is on every seed; its p-values are corrected with all the
# others at the end.

# %%
DEPTHS = {"head only": 0, "top block": 1, "top half": len(groups) // 2, "every block": len(groups)}
FINETUNE_EPOCHS = settings.epochs_finetune
base_model.set_weights(base_start)  # the pretrained base, also when this cell runs again after training it
start_statistics = models.moving_statistics(base_model)
depth_runs = {}
for name, count in DEPTHS.items():
    unfreeze_top_blocks(base_model, count)
    depth_runs[name] = fine_tune(model, 1e-5, FINETUNE_EPOCHS, PHOTOS, every_epoch=name == "every block")["photos"]
    assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], (
        f"{name}: the frozen BatchNormalization statistics moved"
    )
trainable_by_depth = [runs[0]["trainable"] for runs in depth_runs.values()]
assert trainable_by_depth == sorted(set(trainable_by_depth)), "each depth trains more parameters than the one before"
display(Table(comparisons.RECIPE_HEADER, comparisons.recipe_rows(depth_runs),
              title=f"{len(SEEDS)} seed(s), {course_data.sizes['test']} test images each"))
found = comparisons.paired("every block", depth_runs["every block"], "head only", depth_runs["head only"])
PAIRED.update(found)
display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))

# %% [markdown]
# ## Learning rate and schedule
# Notebook 05 fine-tunes at a constant, small rate of 1e-5. A common alternative is a **warm-up**, the rate
# climbing from 0 over the first steps, then a **cosine decay** to 0. The usual argument is advice from
# practice: Adam's running averages rest on few gradients at first, so small first updates let a larger peak
# rate start gently. The runs below measure what each does here. In Keras a schedule is an object passed to
# the optimizer in place of the learning rate:

# %%
SCHEDULE_EPOCHS = max(2, settings.epochs_finetune)  # at least two points per curve
total_steps = steps_per_epoch * SCHEDULE_EPOCHS


def warmup_cosine(peak):
    """0 up to `peak` over the first epoch, then a cosine decay that reaches 0 just after the last step.

    The optimizer reads the rate before it counts the step, so the very first step runs at rate 0. The rate
    follows `optimizer.iterations`: every run must count exactly the planned steps (asserted after the runs).
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
        schedule_runs[name] = fine_tune(model, learning_rate(), SCHEDULE_EPOCHS, PHOTOS, every_epoch=True)["photos"]
assert all(run["steps"] == total_steps for runs in schedule_runs.values() for run in runs), (
    "every run took the planned steps: the schedule ends at 0 on its last one"
)
plot_by_step(
    {name: dict(enumerate(np.mean([run["curve"] for run in runs], axis=0), start=1))
     for name, runs in schedule_runs.items()},
    ylabel="validation accuracy (mean over seeds)", title="Fine-tuning every block, by schedule", xlabel="epoch",
);
display(Table(comparisons.RECIPE_HEADER, comparisons.recipe_rows(schedule_runs), title=f"{SCHEDULE_EPOCHS} epochs, {len(SEEDS)} seed(s)"))
found = comparisons.paired("peak 1e-4", schedule_runs["warm-up + cosine, peak 1e-4"], "constant 1e-5", schedule_runs["constant 1e-5"])
PAIRED.update(found)
display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))

# %% [markdown]
# ## BatchNormalization during fine-tuning: frozen, moving, or gamma and beta only
# Here the anchors disagree. The guide means to keep BatchNormalization's statistics fixed while gamma, beta
# and the rest of the base train. It calls the base with `training=False`, which on Keras 3 no longer does
# that, as notebook 03 shows. This course freezes the layers outright, since frozen statistics cannot drift.
# fastai trains BatchNormalization layers by default, `train_bn=True`. And in an icevision discussion,
# airctic/icevision#32, a maintainer answers that unfreezing them gives better accuracy, because ImageNet's
# statistics are "off" for other images. Three arms, each fine-tuning every block at 1e-5 for the same
# epochs from the same heads:
# - **frozen**: notebook 03's `unfreeze_keep_batchnorm_frozen`. On the photos this is the depth section's
#   "every block" recipe, so its runs are reused; the trainable counts match, as asserted.
# - **statistics moving**: every BatchNormalization layer trainable too, as the guide's
#   `base_model.trainable = True` leaves them. The model calls the base with `training=False`, but
#   `fit()`'s `training=True` reaches the layers inside it all the same. So their moving mean and variance
#   change, as asserted, and their gamma and beta train.
# - **gamma and beta only**: notebook 03's wrapper, `InferenceModeBase`, calls the base with
#   `training=False` inside its own `call`, where `fit()` cannot override it. The statistics stay while
#   gamma and beta train, both asserted. The convolution kernels train in every arm: see the trainable
#   column of the table.
#
# Our reasoning, not a measurement: re-estimated statistics can help only where the new data's statistics
# differ from those of pretraining. That is the idea behind AdaBN. So the first two arms also run on a
# **shifted copy** of every split: half the contrast and a warm colour cast. The shifted copy gets heads of
# its own, trained as above on cached features. First, how far the shift moves what the pretrained base
# sees. We take the inputs of its first BatchNormalization layer over the training images. We compare their
# channel means with its moving means, in units of its moving standard deviation, and their variances with
# its moving variances.

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
shifted_heads = {seed: train_head(seed, shifted_features) for seed in (SEEDS if plan.shifted_copy else [])}


def restart_shifted(seed):
    """The pretrained base and `seed`'s head for the shifted copy."""
    base_model.set_weights(base_start)
    head.set_weights(shifted_heads[seed])


# %% [markdown]
# The three arms follow. The third runs on the photos only: the shifted copy asks whether moving statistics
# help. The wrapped model shares the base and the head with `model`, so `restart` and `restart_shifted`
# reset it too.

# %%
def gamma_and_beta(base_model):
    """A copy of every BatchNormalization gamma and beta in the base, keyed by variable path."""
    return {w.path: keras.ops.convert_to_numpy(w) for layer in models.batchnorm_layers(base_model) for w in (layer.gamma, layer.beta)}


VERSIONS = {**PHOTOS, "shifted": (restart_shifted, SHIFTED)} if plan.shifted_copy else PHOTOS
start_gamma_beta = gamma_and_beta(base_model)  # the pretrained values (the base was reset above)
bn_runs = {}

# 1. frozen: the "every block" runs on the photos; trained here on the shifted copy only
models.unfreeze_keep_batchnorm_frozen(base_model)
assert models.param_counts(model)[0] == depth_runs["every block"][0]["trainable"], "frozen is the every-block recipe"
bn_runs["frozen"] = {"photos": depth_runs["every block"]}
if plan.shifted_copy:
    bn_runs["frozen"].update(fine_tune(model, 1e-5, FINETUNE_EPOCHS, {"shifted": VERSIONS["shifted"]}))
assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], "frozen: the statistics stay"
share = steps = None  # how far the statistics moved, measured in arm 2

# %%
if plan.batchnorm_arms:
    # 2. statistics moving: every layer trainable, BatchNormalization too; the model is unchanged
    for layer in models.all_layers(base_model):
        layer.trainable = True
    bn_runs["statistics moving"] = fine_tune(model, 1e-5, FINETUNE_EPOCHS, VERSIONS)
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
if plan.batchnorm_arms:
    # 3. gamma and beta only: notebook 03's wrapper around the same base, every layer trainable
    for layer in models.all_layers(base_model):
        layer.trainable = True  # as in arm 2, also when this cell runs again after another
    wrapped_inputs = keras.Input(shape=(size, size, 3))
    x = wrapped_inputs if scales_itself else keras.layers.Rescaling(scale=1 / 127.5, offset=-1)(wrapped_inputs)
    x = models.InferenceModeBase(base_model)(x)  # calls base_model(x, training=False) inside its call
    wrapped_model = keras.Model(wrapped_inputs, head(keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))))
    bn_runs["gamma and beta only"] = fine_tune(wrapped_model, 1e-5, FINETUNE_EPOCHS, PHOTOS)
    assert models.changed(start_statistics, models.moving_statistics(base_model)) == [], "fine-tuning through the wrapper keeps the statistics"
    assert set(start_gamma_beta) <= {w.path for w in wrapped_model.trainable_weights}, "the wrapper trains gamma and beta"
    trained = models.changed(start_gamma_beta, gamma_and_beta(base_model))
    print(f"gamma and beta only: {len(trained)} of {len(start_gamma_beta)} gamma and beta arrays changed")
    # with random weights, not asserted: our reading is that their features' scale collapses through the untrained
    # layers (notebook 06 measures it), so some gradients are too small for 1e-5 to move every array
    if settings.uses_pretrained_weights:
        assert len(trained) == len(start_gamma_beta), "the wrapper trains every gamma and beta"

# %%
bn_table = {f"{arm}, {version}": runs for arm, by_version in bn_runs.items() for version, runs in by_version.items()}
display(Table(comparisons.RECIPE_HEADER,
              comparisons.recipe_rows(dict(sorted(bn_table.items(), key=lambda item: item[0].endswith("shifted")))),
              title=f"BatchNormalization, every block at 1e-5, {FINETUNE_EPOCHS} epoch(s), {len(SEEDS)} seed(s)"))
found = {}
for version in VERSIONS:
    for arm in [arm for arm in bn_runs if arm != "frozen" and version in bn_runs[arm]]:
        found.update(comparisons.paired(f"{arm}, {version}", bn_runs[arm][version], f"frozen, {version}", bn_runs["frozen"][version]))
PAIRED.update(found)
display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))

# %% [markdown]
# One fact explains part of what these runs can show. MobileNetV2's BatchNormalization layers average with
# momentum 0.999: each step moves a moving statistic 0.1% of the way toward the batch's. After *n* steps the
# new batches weigh only 1 - 0.999^n, printed above with the measured share of the first layer. At
# evaluation the "statistics moving" arm therefore normalises almost as the frozen arm does. Re-estimating
# the statistics for new data, the AdaBN idea, takes one forward pass over the new images at momentum 0:
# notebook 03's `set_statistics`. Through `fit()` at 0.999, 90% of the way takes about 2,300 steps, as
# printed above. That is a different recipe, not measured here.

# %% [markdown]
# ## LoRA: fine-tune a small fraction of the parameters
# LoRA, low-rank adaptation, leaves a layer's kernel *W* frozen and learns a correction *A·B* of low rank
# *r*. The layer computes with `W + (alpha / r)·A·B`, where `alpha`, `lora_alpha`, scales the correction.
# Keras sets `alpha = r` unless told otherwise, as printed below, so the scale is 1 here. *B* starts at zero,
# so training starts from the pretrained layer exactly. Keras 3 has it built in: `layer.enable_lora(rank)`.
# The pinned Keras offers it on `Dense`, `EinsumDense`, `Embedding` and `Conv2D`, not on the depthwise and
# separable convolutions, as printed below. We enable it on the base's pointwise 1x1 convolutions, which
# hold most of MobileNetV2's weights, as measured below. `enable_lora` freezes the kernel itself. But
# freezing and unfreezing the layer afterwards thaws it again, as printed below: set the flags first, then
# enable LoRA.

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


# %% [markdown]
# LoRA runs at 1e-3, a hundred times the rate of full fine-tuning. That LoRA needs a larger rate is advice
# from practice, not measured here. So the two arms differ in rate as well as in method. Whatever their
# paired test finds, it cannot be put on LoRA alone.

# %%
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


lora_runs = {"LoRA rank 4 at 1e-3": fine_tune(lora_model, 1e-3, FINETUNE_EPOCHS, {"photos": (restart_lora, ORIGINAL)})["photos"]}
# below: the last seed's LoRA model, stored and merged
pointwise_share = sum(int(np.prod(layer.kernel.shape)) for layer in lora_layers) / base_model.count_params()  # no adapters
lora_share = models.param_counts(lora_model)[0] / depth_runs["every block"][0]["trainable"]
print(f"the pointwise kernels hold {pointwise_share:.0%} of the base's parameters; LoRA trains "
      f"{lora_share:.1%} of what fine-tuning every block trains")
assert pointwise_share > 0.5, "the pointwise convolutions hold most of the base's weights"
assert lora_share < 0.1, "LoRA trains a small fraction of the parameters"
display(Table(comparisons.RECIPE_HEADER, comparisons.recipe_rows({**lora_runs, "every block at 1e-5": depth_runs["every block"]}),
              title=f"LoRA against full fine-tuning ({FINETUNE_EPOCHS} epoch(s), {len(SEEDS)} seed(s))"))
found = comparisons.paired("LoRA at 1e-3", lora_runs["LoRA rank 4 at 1e-3"], "every block at 1e-5", depth_runs["every block"])
PAIRED.update(found)
display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))

# %% [markdown]
# What must be kept per task is only the adapters and the head; the base is shared by every task. Saving
# the whole LoRA model to `.keras` does not keep the adapters. Each LoRA layer stores its merged kernel,
# `W + (alpha / r)·A·B`, as its kernel, and loading builds LoRA layers again with fresh adapters on top of
# it. The reloaded model predicts the same, but the trained *A* and *B* are gone, as checked below.

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
# **Merging.** For serving, the adapters can be folded back into plain kernels. The merged kernel is
# `layer.kernel`, which on a LoRA layer already returns `W + (alpha / r)·A·B`. A model built without LoRA
# and given those kernels predicts what the LoRA model predicts, with no adapters left to compute.

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
# pointwise convolutions live inside `SeparableConv2D`, which has no `enable_lora` in the pinned Keras, as
# printed above. LoRA there reaches only Xception's few plain `Conv2D` layers.

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
# ## Every comparison, corrected together
# Each paired test above, on each seed, belongs to one family. The table below gives every test its
# Holm-adjusted p-value; a comparison is measurable on a seed where that value is below 0.05. The sentences
# after the table are computed from these numbers. Where a comparison shows no measurable difference, they
# give its scale: the gap of the most even split of the seed's disagreements that is measurable at 0.05
# divided by the number of tests. Below that level Holm calls a test measurable whatever the others say, so a gap that
# large would have counted.

# %%
verdicts = comparisons.corrected(PAIRED)
display(Table(comparisons.CORRECTED_HEADER, comparisons.corrected_rows(verdicts),
              title=f"{sum(len(found['seeds']) for found in verdicts.values())} paired tests, Holm-corrected together"))
for name, found in verdicts.items():
    print(f"{name}: {found['verdict']}")

# %%
all_runs = {**depth_runs, **schedule_runs, **lora_runs,
            **{f"BatchNormalization {name}": runs for name, runs in bn_table.items() if name != "frozen, photos"}}
notebook.save_results(
    settings, "08_finetuning_choices", seeds=SEEDS, train_images=train_images, validation_images=validation_images,
    test_images=course_data.sizes["test"], image_size=size, head_epochs=head_epochs, finetune_epochs=FINETUNE_EPOCHS,
    schedule_epochs=SCHEDULE_EPOCHS, recipes={name: comparisons.recipe_figures(runs) for name, runs in all_runs.items()},
    paired=verdicts,
    batchnorm=dict(contrast=CONTRAST, cast=CAST, layer=first_batchnorm.name, away_from_moving_means=away,
                   variance_ratio=variance_ratio, shift_distance=shift_distance, momentum=first_batchnorm.momentum,
                   steps=steps, moving_share=share, shifted_trained=plan.shifted_copy),
    lora=dict(adapter_kb=adapter_file.stat().st_size / 1e3, whole_model_mb=whole_file.stat().st_size / 1e6,
              logit_gap=logit_gap),
)

# %% [markdown]
# ## Summary
# - Before believing that one recipe beats another, put an interval on each accuracy and run the paired
#   test on the same images, seed by seed. Correct for the number of tests, and give each "no measurable
#   difference" its scale. On 360 images, a gap of four photos is no measurable difference, even with all
#   four disagreements on one side.
# - Unfreeze by blocks read from the layer names, not by a layer index. Deeper unfreezing trains more
#   parameters; the tables say what it costs per step, and the corrected tests whether it pays.
# - A schedule is an object given to the optimizer, and a warm-up starts even a larger peak rate from 0.
#   The corrected tests say whether that helps on this data.
# - BatchNormalization frozen, with its statistics moving, or with only gamma and beta training: the
#   corrected tests say, per version of the data, whether an arm differs from freezing. At momentum 0.999 a
#   short fine-tuning moves the moving statistics only a small part of the way to the new data's.
# - LoRA trains a small fraction of the parameters and stores only the adapters and the head per task.
#   Merged back, the model predicts the same. Compared at its own rate, its test mixes method and rate.
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
# **2. Unfreeze from a layer, whole blocks only.** TensorFlow's tutorial unfreezes every layer from
# `fine_tune_at = 100` on, which cuts block 11 in half. Keep its interface and fix it: write
# `unfreeze_from(base_model, fine_tune_at)`, which unfreezes the block that holds layer `fine_tune_at`
# and every block above it, whole, with BatchNormalization kept frozen. The check runs it on a MobileNetV2
# 0.35 with several values of `fine_tune_at`.


# %%
def unfreeze_from(base_model, fine_tune_at):
    ...  # your code here


exercises.check_unfreeze_from(unfreeze_from);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
_, _, p_value = mcnemar_exact([True] * 7 + [False] * 4, [False] * 7 + [True] * 4)
assert exercises.check_is_it_real(p_value < 0.05), "the reference is-it-real answer is accepted"


def reference_unfreeze_from(base_model, fine_tune_at):
    groups = blocks(base_model)
    owner = {layer.name: index for index, (_, layers) in enumerate(groups) for layer in layers}
    unfreeze_top_blocks(base_model, len(groups) - owner[base_model.layers[fine_tune_at].name])


assert exercises.check_unfreeze_from(reference_unfreeze_from), "the reference unfreeze_from is accepted"
