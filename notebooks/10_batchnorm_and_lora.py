# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · Fine-tuning choices: BatchNormalization and LoRA
#
# Notebook 09 compared how much to unfreeze and which schedule, with the paired test and Holm's correction.
# This notebook uses the same method on two more choices.
#
# **What you will learn**
# - what freezing BatchNormalization changes, against letting its statistics move or training only its
#   gamma and beta;
# - to fine-tune with Keras 3's built-in LoRA, `layer.enable_lora(rank)`, then store the adapters and merge
#   them back.
#
# Every figure below is measured in this run.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import math
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import bases, comparisons, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = pretrained.resolve_weights(settings)
# how many images, seeds and pixels each run gets: comparisons.plan says why
plan = comparisons.plan(settings, course_data.sizes, bases.base_info(settings.base_model).min_size, keras.backend.backend())
size, batch_size, train_images, SEEDS = plan.image_size, settings.batch_size, plan.train_images, plan.seeds
# the split's known length, as in notebook 09: fit() then counts exactly the planned steps
train_split = course_data.train.take(train_images).apply(tf.data.experimental.assert_cardinality(train_images)).cache()
head_epochs = max(settings.epochs_head, 20)  # on cached features: a few steps of one Dense layer
validation_images = plan.validation_images
validation_ds = pipeline(course_data.validation.take(validation_images), size, batch_size, training=False)
test_ds = pipeline(course_data.test, size, batch_size, training=False)
ORIGINAL = dict(train=train_split, validation=validation_ds, test=test_ds)  # the photos as they are
print(course_data.description, course_data.sizes)
print(f"here: {train_images} training images at {size} px, {validation_images} validation images, "
      f"batch {batch_size}, head {head_epochs} epoch(s), fine-tuning {settings.epochs_finetune} epoch(s), seeds {SEEDS}"
      + (", steps run eagerly" if plan.eager else ""))

# %% [markdown]
# The runs are set up as in notebook 09: the pretrained base, notebook 06's model, and one head per seed
# trained on cached features with the base frozen. `fine_tune` compiles a model and runs it from each seed's
# start with `comparisons.run_arm`.

# %%
class_count = len(course_data.class_names)
scales_itself = bases.BASES[settings.base_model].scales_inputs


def compile_model(model, learning_rate):
    """Adam, the logit loss and accuracy of notebook 06."""
    loss, accuracy = models.loss_and_metric(class_count)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[accuracy], run_eagerly=plan.eager)


keras.utils.set_random_seed(settings.seed)
base_model = models.build_base(settings.base_model, size, weights)
base_model.trainable = False
model = models.build_model(base_model, size, class_count, scales_itself)
head = model.layers[-1]
pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
feature_model = keras.Model(model.inputs, pooling.output)  # the scaling, the base and the pooling
plain_train = pipeline(train_split, size, batch_size, training=False)
train_features = feature_model.predict(plain_train, verbose=0)
train_labels = np.concatenate([labels.numpy() for _, labels in plain_train])


def train_head(seed, features):
    """A new Dropout + Dense head, trained on cached `features` with `seed`: its weights."""
    keras.utils.set_random_seed(seed)
    head_model = keras.Sequential([keras.Input(features.shape[1:]), keras.layers.Dropout(0.2), keras.layers.Dense(head.units)])
    compile_model(head_model, 1e-3)
    head_model.fit(features, train_labels, batch_size=batch_size, epochs=head_epochs, verbose=0)
    return head_model.layers[-1].get_weights()


base_start = base_model.get_weights()  # the pretrained base, moving statistics included
head_weights = {seed: train_head(seed, train_features) for seed in SEEDS}


def restart(seed):
    """The pretrained base and `seed`'s head."""
    base_model.set_weights(base_start)
    head.set_weights(head_weights[seed])


steps_per_epoch = math.ceil(train_images / batch_size)
PHOTOS = {"photos": (restart, ORIGINAL)}
FINETUNE_EPOCHS = settings.epochs_finetune
start_statistics = models.moving_statistics(base_model)


def fine_tune(model, learning_rate, epochs, versions):
    """One arm: compile `model`, then fit it from each seed's start on each version of the data."""
    compile_model(model, learning_rate)

    def fit(seed, train, callbacks):
        model.fit(pipeline(train, size, batch_size, training=True, seed=seed), epochs=epochs, callbacks=callbacks, verbose=0)

    return comparisons.run_arm(model, fit, versions, SEEDS)


PAIRED = {}  # every paired comparison of this notebook, corrected together at the end

# %% [markdown]
# ## BatchNormalization during fine-tuning: frozen, moving, or gamma and beta only
# Here the sources disagree. The guide means to keep BatchNormalization's statistics fixed while gamma, beta
# and the rest of the base train. It calls the base with `training=False`, which on Keras 3 no longer does
# that, as notebook 03 shows. This course freezes the layers outright, since frozen statistics cannot drift.
# fastai trains BatchNormalization layers by default, `train_bn=True`. And in an icevision discussion,
# airctic/icevision#32, a maintainer answers that unfreezing them gives better accuracy, because ImageNet's
# statistics are "off" for other images. Three arms, each fine-tuning every block at 1e-5 for the same
# epochs from the same heads:
# - **frozen**: notebook 03's `unfreeze_keep_batchnorm_frozen`, notebook 09's "every block" recipe.
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
# its own, trained on cached features. First, how far the shift moves what the pretrained base
# sees. We take the inputs of its first BatchNormalization layer over the training images. We compare their
# channel means with its moving means, in units of its moving standard deviation, and their variances with
# its moving variances.

# %%
CONTRAST, CAST = 0.5, (100.0, 60.0, 20.0)  # the contrast factor, and what is added to red, green and blue
base_model.set_weights(base_start)  # the pretrained base, also when this cell runs again


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

# 1. frozen: every layer but BatchNormalization, the "every block" recipe
models.unfreeze_keep_batchnorm_frozen(base_model)
bn_runs["frozen"] = fine_tune(model, 1e-5, FINETUNE_EPOCHS, VERSIONS)
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
    if first_batchnorm.momentum >= 0.999:  # MobileNetV2's; Xception's is 0.99
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
    print(f"gamma and beta only: {len(trained)} of {len(start_gamma_beta)} gamma and beta arrays changed "
          f"({sum(path.endswith('gamma') for path in trained)} gammas, {sum(path.endswith('beta') for path in trained)} betas)")
    # with random weights, not asserted: most gradients are tiny, far below Adam's epsilon, so most steps are tiny
    # too: enough to move a beta, which starts at 0, too little for float32 to move a gamma, which starts at 1
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
if found:
    display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))
else:
    print("only the frozen arm ran here: no paired test of BatchNormalization")

# %% [markdown]
# One fact explains part of what these runs can show. MobileNetV2's BatchNormalization layers average with
# momentum 0.999: each step moves a moving statistic 0.1% of the way toward the batch's. After *n* steps the
# new batches weigh only 1 - 0.999^n, printed above with the measured share of the first layer. At
# evaluation the "statistics moving" arm therefore normalises almost as the frozen arm does. Re-estimating
# the statistics for new data, the AdaBN idea, takes one forward pass over the new images at momentum 0:
# notebook 04's `set_statistics`. Through `fit()` at 0.999, 90% of the way takes about 2,300 steps, as
# printed above. That is a different recipe, not measured here.

# %% [markdown]
# ## LoRA: fine-tune a small fraction of the parameters
# LoRA, low-rank adaptation, leaves a layer's kernel *W* frozen and learns a correction *A·B* of low rank
# *r*. The layer computes with `W + (alpha / r)·A·B`, where `alpha`, `lora_alpha`, scales the correction.
# Keras sets `alpha = r` unless told otherwise, as printed below, so the scale is 1 here. *B* starts at zero,
# so training starts from the pretrained layer exactly. Keras 3 has it built in: `layer.enable_lora(rank)`.
# The pinned Keras offers it on `Dense`, `EinsumDense`, `Embedding` and the plain convolutions such as
# `Conv2D`, not on the depthwise and separable ones, as printed below. We enable it on the base's pointwise
# 1x1 convolutions. On MobileNetV2 they hold most of the weights, as printed below. `enable_lora` freezes
# the kernel itself. But freezing and unfreezing the layer afterwards thaws it again, as printed below: set
# the flags first, then enable LoRA.

# %%
RANK = 4
LAYER_KINDS = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Embedding, keras.layers.Conv1D,
               keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
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
every_block = bn_runs["frozen"]["photos"]  # arm 1 on the photos: every block but BatchNormalization, at 1e-5
lora_share = models.param_counts(lora_model)[0] / every_block[0]["trainable"]
print(f"the pointwise kernels hold {pointwise_share:.0%} of the base's parameters; LoRA trains "
      f"{lora_share:.1%} of what fine-tuning every block trains")
if settings.base_model.startswith("mobilenet_v2"):  # Xception's sit inside SeparableConv2D: see its section below
    assert pointwise_share > 0.5, "the pointwise convolutions hold most of the base's weights"
assert lora_share < 0.1, "LoRA trains a small fraction of the parameters"
display(Table(comparisons.RECIPE_HEADER, comparisons.recipe_rows({**lora_runs, "every block at 1e-5": every_block}),
              title=f"LoRA against full fine-tuning ({FINETUNE_EPOCHS} epoch(s), {len(SEEDS)} seed(s))"))
found = comparisons.paired("LoRA at 1e-3", lora_runs["LoRA rank 4 at 1e-3"], "every block at 1e-5", every_block)
PAIRED.update(found)
display(Table(comparisons.PAIRED_HEADER, comparisons.paired_rows(found)))

# %% [markdown]
# What must be kept per task is only the adapters and the head; the base is shared by every task. Saving
# the whole LoRA model to `.keras` does not keep the adapters. Each LoRA layer stores its merged kernel,
# `W + (alpha / r)·A·B`, as its kernel. Loading builds the LoRA layers again with both *A* and *B* set to
# zero. The reloaded model predicts the same, but the trained adapters are gone, as printed and checked below.

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
reload_gap = float(np.abs(reloaded.predict_on_batch(sample) - lora_model.predict_on_batch(sample)).max())
print(f"reloaded: largest |A| {float(np.abs(keras.ops.convert_to_numpy(saved_layer.lora_kernel_a)).max()):.1e}, "
      f"largest |B| {float(np.abs(keras.ops.convert_to_numpy(saved_layer.lora_kernel_b)).max()):.1e}; "
      f"largest logit difference from the saved model {reload_gap:.1e}")
assert not any(np.any(keras.ops.convert_to_numpy(w)) for w in (saved_layer.lora_kernel_a, saved_layer.lora_kernel_b)), (
    "reloaded, the adapters start again at zero"
)

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
all_runs = {**lora_runs, **{f"BatchNormalization {name}": runs for name, runs in bn_table.items()}}
notebook.save_results(
    settings, "10_batchnorm_and_lora", seeds=SEEDS, train_images=train_images, validation_images=validation_images,
    test_images=course_data.sizes["test"], image_size=size, head_epochs=head_epochs, finetune_epochs=FINETUNE_EPOCHS,
    recipes={name: comparisons.recipe_figures(runs) for name, runs in all_runs.items()},
    paired=verdicts,
    batchnorm=dict(contrast=CONTRAST, cast=CAST, layer=first_batchnorm.name, away_from_moving_means=away,
                   variance_ratio=variance_ratio, shift_distance=shift_distance, momentum=first_batchnorm.momentum,
                   steps=steps, moving_share=share, shifted_trained=plan.shifted_copy),
    lora=dict(adapter_kb=adapter_file.stat().st_size / 1e3, whole_model_mb=whole_file.stat().st_size / 1e6,
              logit_gap=logit_gap),
)

# %% [markdown]
# ## Summary
# - BatchNormalization frozen, with its statistics moving, or with only gamma and beta training: the
#   corrected tests say, per version of the data, whether an arm differs from freezing. At momentum 0.999 a
#   short fine-tuning moves the moving statistics only a small part of the way to the new data's.
# - LoRA trains a small fraction of the parameters and stores only the adapters and the head per task.
#   Merged back, the model predicts the same. Compared at its own rate, its test mixes method and rate.
