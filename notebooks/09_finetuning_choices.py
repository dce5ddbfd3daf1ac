# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · Fine-tuning choices: is the difference real, how much to unfreeze, which schedule
#
# Notebook 06 fine-tuned with one recipe. This notebook compares recipes, and notebook 10 goes on with
# BatchNormalization and LoRA.
#
# **What you will learn**
# - to tell whether a difference between two recipes is real: an accuracy as an interval, two models
#   compared on the same images, seed by seed, and many tests corrected together;
# - to unfreeze a base by whole blocks, read from its layer names;
# - to fine-tune with a warm-up and cosine decay, `keras.optimizers.schedules.CosineDecay`.
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
# notebook 06's first stage: one head per seed. Within a seed, the runs differ only in the recipe: what is
# fine-tuned, at which rate, for how many epochs. They see the same images in the same order, with the same
# augmentation. Not everything random is reset, though. Keras keeps Dropout's random state outside the
# weights, as asserted below, so two runs of one recipe need not agree exactly. A recipe that comes back
# later with the same epochs therefore reuses its runs.
#
# The head trains on **cached features**. The frozen base runs in inference mode, so its output for an
# image never changes, and computing it once per image is exact. That holds only for images that are not
# augmented. So the head here trains without augmentation, unlike notebook 06's; the fine-tuning runs
# below augment.


# %%
class_count = len(course_data.class_names)
scales_itself = bases.BASES[settings.base_model].scales_inputs  # as in notebook 06


def compile_model(model, learning_rate):
    """Adam, the logit loss and accuracy of notebook 06."""
    loss, accuracy = models.loss_and_metric(class_count)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[accuracy], run_eagerly=plan.eager)


keras.utils.set_random_seed(settings.seed)
base_model = models.build_base(settings.base_model, size, weights)
base_model.trainable = False
model = models.build_model(base_model, size, class_count, scales_itself)  # notebook 06's model
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
    # a group without weights is no block: Xception's "stem" holds only its input layer
    return [(name, layers) for name, layers in groups if any(layer.weights for layer in layers)]


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
# Four depths, each fine-tuned for the same epochs at notebook 06's rate, 1e-5, from the same heads: the head
# only, the top block, the top half of the blocks, and every block. BatchNormalization stays frozen in each,
# as in notebook 03. The paired test below is on every seed; its p-values are corrected with all the
# others at the end. The s/step column is the last epoch's: with a single epoch, it includes building the step.

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
        f"the frozen BatchNormalization statistics moved in the run {name!r}"
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
# Notebook 06 fine-tunes at a constant, small rate of 1e-5. A common alternative is a **warm-up**, the rate
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
# ## Every comparison, corrected together
# Each paired test above, on each seed, belongs to one family. The table below gives every test its
# Holm-adjusted p-value; a comparison is measurable on a seed where that value is below 0.05. The sentences
# after the table are computed from these numbers. Where a comparison shows no measurable difference, they
# give its scale. Take the seed's number of disagreements, and the most even split of them whose p-value is
# below 0.05 divided by the number of tests. A p-value that small stays below 0.05 after Holm's correction,
# whatever the other tests give. So a gap that large, with as many disagreements, would have counted.

# %%
verdicts = comparisons.corrected(PAIRED)
display(Table(comparisons.CORRECTED_HEADER, comparisons.corrected_rows(verdicts),
              title=f"{sum(len(found['seeds']) for found in verdicts.values())} paired tests, Holm-corrected together"))
for name, found in verdicts.items():
    print(f"{name}: {found['verdict']}")

# %%
all_runs = {**depth_runs, **schedule_runs}
notebook.save_results(
    settings, "09_finetuning_choices", seeds=SEEDS, train_images=train_images, validation_images=validation_images,
    test_images=course_data.sizes["test"], image_size=size, head_epochs=head_epochs, finetune_epochs=FINETUNE_EPOCHS,
    schedule_epochs=SCHEDULE_EPOCHS, recipes={name: comparisons.recipe_figures(runs) for name, runs in all_runs.items()},
    paired=verdicts,
)

# %% [markdown]
# ## Summary
# - Before believing that one recipe beats another, put an interval on each accuracy and run the paired
#   test on the same images, seed by seed. Correct for the number of tests, and give each "no measurable
#   difference" its scale. On 360 images, a gap of four photos is no measurable difference, even with all
#   four disagreements on one side.
# - Unfreeze by blocks read from the layer names, not by a layer index. Deeper unfreezing trains more
#   parameters; the corrected tests say whether it pays.
# - A schedule is an object given to the optimizer, and a warm-up starts even a larger peak rate from 0.
#   The corrected tests say whether that helps on this data.
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
