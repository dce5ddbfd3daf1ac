"""Asserts that bite: each row makes one notebook claim false with one changed line, and expects the
notebook's own assert for that claim to fail with its message.

A row is (notebook, original line, replacement, expected message) and, where the claim needs other
settings than smoke (real photos, say), a fifth item: the COURSE_* variables to set. The original line must
occur exactly once in the notebook, and the message in the first code cell that holds it from the changed
one on (the assert's). A row's cells are the changed cell and those after it up to the assert's.

The rows of one notebook (and settings) share a kernel, which runs the notebook as a learner would, cells
run again included. For each row, in cell order: the cells up to the row's, unmutated; the row's cells with
the changed line, which must fail on the row's assert (the mutant); then the same cells unmutated, from
where the mutant left, which must pass (the control). Where a row's cells follow the cells before them,
the mutant runs them for the first time, from the state the unmutated notebook leaves (as a learner who
edits a line before running on); where two rows share cells, it runs them again, and a cell that fails
when run again (which would fake a firing assert) fails the control too. What it does not check: that
the cells outside every row's give the same result when run again (they run once), and a cell that draws
from an unseeded random state draws other numbers in the control than in the mutant. The test fails when
a control fails, or a mutant passes or fails elsewhere.

One kernel per notebook instead of one per row: CI's last run with a kernel per row spent 852 s on its 21
slowest rows alone; measured on 2 cores with forked kernels (`pytest -n 2 tests/test_claims.py`), the 43
rows with a control before and a run again after each mutant took 840 s of test time (491 s wall); in
this form (mutant, then control), 512 s of test time (309 s wall).

Adding a mutation is adding a row.
"""

import ast
import copy
from typing import NamedTuple

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from support import EAGER_STEPS, MOBILENET_WEIGHTS, REAL_PHOTOS, require_shared_material

from helpers.config import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
# Notebook 05 and 06 on the shared photos with their ImageNet weights, a short budget: claims that only
# real data and pretrained weights can show.
REAL = {
    "COURSE_PROFILE": "quick",
    "COURSE_DATA_DIR": str(REAL_PHOTOS),
    "COURSE_WEIGHTS": str(MOBILENET_WEIGHTS),
    "COURSE_IMAGE_SIZE": "128",
    "COURSE_TRAIN_IMAGES": "320",
    "COURSE_EVAL_IMAGES": "160",
    "COURSE_EPOCHS_HEAD": "2",
    "COURSE_EPOCHS_FINETUNE": "1",
}

# A row proves that an assert fires; the unmutated notebook, run by tests/test_site.py, proves its claim with the
# compiled steps learners get. Notebook 05's rows run TensorFlow's steps eagerly: in smoke each of its fit()
# calls takes a few steps, and tracing a new MobileNetV2 train step costs about 30 s on 2 cores against 2 s
# per eager step of 16 images (its 7 rows: 253 s -> 136 s). Elsewhere eager steps save nothing (08 already
# runs eagerly in smoke; 04 is tf.data) or cost more (06 and 09 run many steps), and 03's and 07's claims
# are about compiled steps.
EAGER_ROWS = {"05_transfer_and_finetune"}

MUTATIONS = [
    # notebook, original line, replacement, expected message[, settings]
    # ---------------------------------------------------------------- 01
    (  # a Dense layer without its bias
        "01_trainable_weights",
        "dense = keras.layers.Dense(3)",
        "dense = keras.layers.Dense(3, use_bias=False)",
        "a Dense layer has two weights, both trainable",
    ),
    (  # BatchNormalization without beta: one trainable weight fewer
        "01_trainable_weights",
        "batchnorm = keras.layers.BatchNormalization()",
        "batchnorm = keras.layers.BatchNormalization(center=False)",
        "BatchNormalization has 2 trainable and 2 non-trainable weights",
    ),
    (  # the guide's sentence, made true: BatchNormalization where Normalization stands
        "01_trainable_weights",
        "normalization = keras.layers.Normalization()",
        "normalization = keras.layers.BatchNormalization()",
        "Normalization has three weights, none of them trainable",
    ),
    (  # a layer with weights where Rescaling stands
        "01_trainable_weights",
        "rescaling = keras.layers.Rescaling(1 / 127.5, offset=-1)",
        "rescaling = keras.layers.Dense(4)",
        "Rescaling has no weights",
    ),
    (  # a count that adapt() would keep: the claim that it never does, made false
        "01_trainable_weights",
        'adapted_layer.adapt(np.arange(40, dtype="float32").reshape(10, 4))',
        'adapted_layer.adapt(np.arange(40, dtype="float32").reshape(10, 4)); adapted_layer.count.assign(10)',
        "adapt() sets the mean and leaves count at 0",
    ),
    ("01_trainable_weights", "frozen_dense.trainable = False", "frozen_dense.trainable = True", "freezing moves both"),
    ("01_trainable_weights", "first.trainable = False", "first.trainable = True", "the frozen layer must not change"),
    (  # the trainable layer without a bias: only its kernel can change
        "01_trainable_weights",
        'second = keras.layers.Dense(3, activation="sigmoid")',
        'second = keras.layers.Dense(3, activation="sigmoid", use_bias=False)',
        "the trainable layer's kernel and bias must both change",
    ),
    (
        "01_trainable_weights",
        "variables = loop_model.trainable_weights",
        "variables = loop_model.weights",
        "a custom loop over trainable_weights skips the frozen layer",
    ),
    # ---------------------------------------------------------------- 02
    (  # the head built on the base called as a layer: the base becomes one nested layer
        "02_recursive_freezing",
        'flat_model = keras.Model(flat_base.input, keras.layers.Dense(1, name="head")(flat_base.output), name="flat")',
        'flat_model = keras.Model(flat_base.input, keras.layers.Dense(1, name="head")(flat_base(flat_base.input)), '
        'name="flat")',
        "built from base.output, the base is not nested",
    ),
    (
        "02_recursive_freezing",
        "flat_base.trainable = False",
        "flat_base.layers[-1].trainable = False",
        "freezing the base leaves only the head's",
    ),
    (
        "02_recursive_freezing",
        "for layer in base.layers[-unfreeze_last_n:]:",
        "for layer in base.layers[:0]:",
        "the outer model collects them",
    ),
    (
        "02_recursive_freezing",
        "base.trainable = False  # already False",
        "base.trainable = True; base.trainable = False",
        "on TensorFlow only, freezing an already frozen base is skipped",
    ),
    (  # TensorFlow skips True on a trainable model: the hand-frozen layer stays frozen
        "02_recursive_freezing",
        "set_trainable_everywhere(model, True)",
        "model.trainable = True",
        "setting every layer's flag thaws them all",
    ),
    (  # the base's own summary: its flag is False, so it counts no trainable parameter
        "02_recursive_freezing",
        "full_model.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "base.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "the summary counts the thawed blocks",
    ),
    (  # the summary without its trainable column: its rows no longer say which layers train
        "02_recursive_freezing",
        "full_model.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "full_model.summary(show_trainable=False, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "the summary says N for the base, Y for its thawed blocks",
    ),
    (  # the flag of the base alone, already False: skipped on TensorFlow
        "02_recursive_freezing",
        "set_trainable_everywhere(base, False)",
        "base.trainable = False",
        "setting every layer's flag freezes the base: the head trains",
    ),
    (  # the nested base thawed first: the setter no longer stops there, and the block freezes
        "02_recursive_freezing",
        "wrapper.trainable = False  # a real change: the wrapper was trainable",
        "nested_base.trainable = True; wrapper.trainable = False",
        "on TensorFlow the setter stops at the frozen base",
    ),
    (  # the wrapper's flag alone, already False: skipped on TensorFlow
        "02_recursive_freezing",
        "set_trainable_everywhere(wrapper, False)",
        "wrapper.trainable = False",
        "every layer's flag set: only the head trains",
    ),
    # ---------------------------------------------------------------- 03
    (  # a layer that has weights once built: an unbuilt one would have passed
        "03_batchnorm_and_compile",
        "built_dropout = keras.layers.Dropout(0.5)",
        "built_dropout = keras.layers.BatchNormalization()",
        "Dropout has no weights to freeze",
    ),
    (
        "03_batchnorm_and_compile",
        '"compile, fit, freeze, compile, fit": ["compile", "fit", "freeze", "compile", "fit"],',
        '"compile, fit, freeze, compile, fit": ["compile", "fit", "freeze", "fit"],',
        "frozen before the first fit() or before a recompile, it stays put",
    ),
    (  # the optimizer left to fit(): one build is no longer enough
        "03_batchnorm_and_compile",
        "model.optimizer.build(model.trainable_variables)",
        "pass",
        "with the optimizer built first, fit() builds its step once",
    ),
    (  # both arms build the optimizer first: the doubled build no longer shows
        "03_batchnorm_and_compile",
        "if build_optimizer_first:",
        "if True:",
        "the first fit() builds its step twice on TensorFlow, once on JAX",
    ),
    (
        "03_batchnorm_and_compile",
        'guide_model.compile(optimizer="adam", loss="mse")  # recompile after the change of `trainable`',
        "pass  # no recompile: on TensorFlow the next fit() reuses the frozen base's step",
        "the guide's claim would hold if nothing moved",
    ),
    (
        "03_batchnorm_and_compile",
        "kept_frozen = unfreeze_keep_batchnorm_frozen(fixed_base)",
        "kept_frozen = 1",
        "frozen BN keeps its statistics",
    ),
    (
        "03_batchnorm_and_compile",
        "return self.base(inputs, training=False)",
        "return self.base(inputs)",
        "the wrapper keeps the statistics",
    ),
    (
        "03_batchnorm_and_compile",
        "compile_binary(model, 1e-5)",
        "compile_binary(model, 1e-3)",
        "the weights barely move",
    ),
    (
        "03_batchnorm_and_compile",
        "x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=momentum)(x))",
        "x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(x))",
        "a higher momentum moves them slower",
    ),
    # ---------------------------------------------------------------- 04
    (  # a real JPEG where the text file stood: nothing stops the dataset
        "04_cats_vs_dogs_data",
        'not_a_photo.write_text("a text file with a .jpg name")',
        "keras.utils.save_img(not_a_photo, np.zeros((8, 8, 3)))",
        "a file that is not an image stops the dataset",
    ),
    (  # the same image nine times, no augmentation drawn
        "04_cats_vs_dogs_data",
        "draws = [rotation(flip(resized))[0] for _ in range(9)]",
        "draws = [resized[0] for _ in range(9)]",
        "each call draws a new augmentation",
    ),
    (
        "04_cats_vs_dogs_data",
        "return dataset.prefetch(AUTOTUNE)  # augmented after the cache: new images every epoch",
        "return dataset.cache().prefetch(AUTOTUNE)  # the guide's place for the cache: after augmenting",
        "augmenting after the cache gives fresh images every epoch",
    ),
    (
        "04_cats_vs_dogs_data",
        "return dataset.batch(batch_size).prefetch(AUTOTUNE).cache()",
        "return dataset.batch(batch_size).prefetch(AUTOTUNE)",
        "the guide's cache replays epoch 1",
    ),
    (
        "04_cats_vs_dogs_data",
        'for name, rotation_seed in [("same seed", settings.seed), ("separate seeds", settings.seed + 1)]:',
        'for name, rotation_seed in [("same seed", settings.seed), ("separate seeds", settings.seed)]:',
        "separate seeds make them independent",
    ),
    (
        "04_cats_vs_dogs_data",
        "batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)",
        "batch_seeds = tf.data.Dataset.random(rerandomize_each_iteration=True).batch(2)",
        "stateless draws give the same batches for the same seed",
    ),
    (
        "04_cats_vs_dogs_data",
        "return dataset.prefetch(AUTOTUNE)  # the next batch is prepared while the model trains",
        "return dataset.cache().prefetch(AUTOTUNE)",
        "our pipeline gives fresh images every epoch",
    ),
    (
        "04_cats_vs_dogs_data",
        'angles = tf.constant(np.deg2rad(np.asarray(rotation_draws["angle"])), tf.float32)  # the layer draws degrees',
        'angles = -tf.constant(np.deg2rad(np.asarray(rotation_draws["angle"])), tf.float32)',
        "flip_and_rotate applies the transform of RandomFlip",
    ),
    # ---------------------------------------------------------------- 05
    (  # the guide's freeze left out: the model's trainable count is no longer the head's
        "05_transfer_and_finetune",
        "base_model.trainable = False",
        "base_model.trainable = True",
        "the frozen base has no trainable weights",
    ),
    (  # a base that scales its own inputs would get them scaled twice
        "05_transfer_and_finetune",
        "scales_itself = bases.BASES[settings.base_model].scales_inputs  # False for Xception and MobileNetV2",
        "scales_itself = True",
        "the model scales raw pixels as its base expects",
    ),
    (  # the base left trainable during head training
        "05_transfer_and_finetune",
        "base_model.trainable = False  # again, for when this cell runs after the fine-tuning cell",
        "base_model.trainable = True",
        "only the head trains: the frozen base moved",
    ),
    (  # BatchNormalization left trainable in fine-tuning
        "05_transfer_and_finetune",
        "layer.trainable = False  # frozen, it runs in inference mode: its moving statistics stay",
        "layer.trainable = True",
        "BatchNormalization moving statistics unchanged by fine-tuning",
    ),
    (  # the model kept after fine-tuning is not the one measured (its bias shifted)
        "05_transfer_and_finetune",
        "model.set_weights(kept_weights)",
        "model.set_weights([*kept_weights[:-1], kept_weights[-1] + 1.0])",
        "the kept model is the best one seen on validation",
    ),
    (  # a prediction resize other than training's (nearest-neighbour)
        "05_transfer_and_finetune",
        "return resize_image(decode_image(tf.io.read_file(str(path))), image_size)",
        "return tf.cast(tf.image.resize(decode_image(tf.io.read_file(str(path))), (image_size, image_size), "
        '"nearest"), tf.uint8)',
        "a file must look to the model as in training",
    ),
    (  # one logit per class even for two classes: the guide's one-logit head is gone
        "05_transfer_and_finetune",
        "outputs = keras.layers.Dense(1 if class_count == 2 else class_count)(x)",
        "outputs = keras.layers.Dense(class_count)(x)",
        "one logit for two classes, one per class for more",
    ),
    (  # the sigmoid's twin built wrongly: softmax of [z, 0] is the probability of class 0
        "05_transfer_and_finetune",
        "two_logit_softmax = keras.ops.convert_to_numpy(keras.ops.softmax(np.concatenate([0 * some_logits, some_logits], 1)))",
        "two_logit_softmax = keras.ops.convert_to_numpy(keras.ops.softmax(np.concatenate([some_logits, 0 * some_logits], 1)))",
        "sigmoid(z) is softmax([0, z])[1]",
    ),
    (  # the two losses fed opposite labels
        "05_transfer_and_finetune",
        "categorical_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(some_labels, two_logits)",
        "categorical_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(1 - some_labels, two_logits)",
        "BinaryCrossentropy on z is SparseCategoricalCrossentropy on [0, z]",
    ),
    (  # probabilities left unnormalised
        "05_transfer_and_finetune",
        "return shifted / shifted.sum(axis=-1, keepdims=True)",
        "return shifted",
        "class_probabilities agrees with Keras",
    ),
    (  # each image counted twice
        "05_transfer_and_finetune",
        "np.add.at(confusion, (test_labels, predicted), 1)  # one count per image: row its true class, column the predicted",
        "np.add.at(confusion, (test_labels, predicted), 2)",
        "rows are true classes, columns predicted ones",
    ),
    (  # the class names left out of the saved file
        "05_transfer_and_finetune",
        "save_class_names(model_path, class_names)",
        "pass",
        "the saved model carries its class names",
    ),
    # ---------------------------------------------------------------- 06
    (
        "06_feature_extraction",
        "extractor, base_model = feature_extractor(weights)",
        "extractor, base_model = feature_extractor(None)",
        "pretrained features must beat standardised random ones",
        REAL,
    ),
    # ---------------------------------------------------------------- 07
    (
        "07_scale_out",
        "options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA  # a shard each",
        "options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF",
        "each worker trains on its own shard",
    ),
    (  # statistics shared across replicas: no replica keeps its own slice's
        "07_scale_out",
        'arms = {"BatchNormalization()": {}}',
        'arms = {"BatchNormalization()": {"synchronized": True}}',
        "each replica uses its own slice's statistics",
    ),
    # ---------------------------------------------------------------- 08
    (  # the training split as a folder leaves it, its length unknown to tf.data (TensorFlow's fit() would count extra steps)
        "08_finetuning_choices",
        "train_split = train_split.apply(tf.data.experimental.assert_cardinality(train_images)).cache()  # decoded once",
        "train_split = train_split.ignore_errors().cache()",
        "tf.data knows the training split's length",
    ),
    (  # the textbook (Wald) interval instead of Wilson's: zero-wide at 360 of 360
        "08_finetuning_choices",
        "return max(0.0, centre - half), min(1.0, centre + half)",
        "return max(0.0, share - z * math.sqrt(share * (1 - share) / total)), "
        "min(1.0, share + z * math.sqrt(share * (1 - share) / total))",
        "the Wilson interval is not zero-wide at 100%",
    ),
    (
        "08_finetuning_choices",
        "return only_a, only_b, min(1.0, 2 * tail)",
        "return only_a, only_b, min(1.0, tail)",
        "p = 2/16",
    ),
    (  # a gap of 8 photos, every disagreement on one side: that one is measurable
        "08_finetuning_choices",
        "_, _, p_one_sided = mcnemar_exact([False] * 4, [True] * 4)",
        "_, _, p_one_sided = mcnemar_exact([False] * 8, [True] * 8)",
        "4 photos in 360 is no measurable difference either way",
    ),
    (  # the detectable split read at p < 0.5: 10 to 6 would count
        "08_finetuning_choices",
        "more, fewer = detectable_split(16, 0.05)",
        "more, fewer = detectable_split(16, 0.5)",
        "the 10-to-6 split above is more even than any measurable split of 16",
    ),
    (  # the p-values left uncorrected: all three below 0.05
        "08_finetuning_choices",
        "adjusted = holm([0.01, 0.04, 0.03])",
        "adjusted = [0.01, 0.04, 0.03]",
        "Holm: the smallest p times 3",
    ),
    (  # block names without MobileNetV2's first block, expanded_conv: one block short of the paper's 17
        "08_finetuning_choices",
        'BLOCK_NAME = re.compile(r"(block_?\\d+|expanded_conv)")  # the start of a layer name that names its block',
        'BLOCK_NAME = re.compile(r"(block_?\\d+)")',
        "the layer names give the paper's count of blocks",
    ),
    (  # the tutorial's cut moved to a block boundary: no block is cut
        "08_finetuning_choices",
        "layer.trainable = index >= 100  # the tutorial's cut, set layer by layer",
        "layer.trainable = index >= 98",
        "freezing layers[:100] cuts MobileNetV2's block_11 in half",
    ),
    (  # unfreezing by a layer count, as a popular tutorial does, cuts the top block in half
        "08_finetuning_choices",
        "thawed = {layer.name for _, layers in blocks(base_model)[len(blocks(base_model)) - count :] for layer in layers}",
        "thawed = {layer.name for layer in base_model.layers[len(base_model.layers) - 9 * count :]}",
        "a block is cut in half",
    ),
    (  # BatchNormalization unfrozen with its block
        "08_finetuning_choices",
        "layer.trainable = layer.name in thawed and not isinstance(layer, keras.layers.BatchNormalization)",
        "layer.trainable = layer.name in thawed",
        "the frozen BatchNormalization statistics moved",
    ),
    (  # no warm-up
        "08_finetuning_choices",
        "warmup_target=peak, warmup_steps=steps_per_epoch,",
        "warmup_target=peak, warmup_steps=0,",
        "the warm-up starts at 0",
    ),
    (  # one epoch more than the schedule planned: the rate stays at 0 after its last planned step
        "08_finetuning_choices",
        'schedule_runs[name] = fine_tune(model, learning_rate(), SCHEDULE_EPOCHS, PHOTOS, every_epoch=True)["photos"]',
        'schedule_runs[name] = fine_tune(model, learning_rate(), SCHEDULE_EPOCHS + 1, PHOTOS, every_epoch=True)["photos"]',
        "every run took the planned steps",
    ),
    (  # an optimizer that counted its step before reading the rate would take the first step at schedule(1) > 0
        "08_finetuning_choices",
        "first_step.build([probe])",
        "first_step.build([probe]); first_step.iterations.assign(1)",
        "the very first step runs at rate 0",
    ),
    (  # the decay counted over every step, warm-up included: the rate has not reached 0 at the end
        "08_finetuning_choices",
        "initial_learning_rate=0.0, decay_steps=total_steps - steps_per_epoch,",
        "initial_learning_rate=0.0, decay_steps=total_steps,",
        "the rate reaches 0 at step total_steps",
    ),
    (  # the adapters left out of the merge: the plain kernel alone
        "08_finetuning_choices",
        "target.set_weights([keras.ops.convert_to_numpy(source.kernel),",
        "target.set_weights([keras.ops.convert_to_numpy(source._kernel),",
        "each merged layer computes exactly what its LoRA layer computes",
    ),
    (  # every weight stored per task, the frozen base included
        "08_finetuning_choices",
        "np.savez(adapter_file, *[keras.ops.convert_to_numpy(w) for w in adapter_weights + lora_model.layers[-1].weights])",
        "np.savez(adapter_file, *[keras.ops.convert_to_numpy(w) for w in lora_model.weights])",
        "the adapters are a small fraction of the model",
    ),
    (  # the top `count` blocks as [-count:]: with count 0 that is every block, so "head only" trains them all
        "08_finetuning_choices",
        "thawed = {layer.name for _, layers in blocks(base_model)[len(blocks(base_model)) - count :] for layer in layers}",
        "thawed = {layer.name for _, layers in blocks(base_model)[-count:] for layer in layers}",
        "each count of blocks trains more parameters than a smaller count",
    ),
    (  # a clone of the LoRA model instead of the file: fresh kernels, not the merged ones
        "08_finetuning_choices",
        "reloaded = keras.models.load_model(whole_file)",
        "reloaded = keras.models.clone_model(lora_model)",
        "the .keras file stores the merged kernel",
    ),
    (  # the model in memory instead of the one read back from the file: its adapters are trained
        "08_finetuning_choices",
        "reloaded = keras.models.load_model(whole_file)",
        "reloaded = lora_model",
        "reloaded, the adapters start again at zero",
    ),
    (  # the rest of the base left trainable beside the adapters
        "08_finetuning_choices",
        "layer.trainable = layer in pointwise",
        "layer.trainable = True",
        "LoRA trains only the adapters and the head",
    ),
    (  # "statistics moving" with BatchNormalization kept frozen: nothing moves, whatever the model says
        "08_finetuning_choices",
        "layer.trainable = True",
        "layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)",
        "fit() moves its statistics despite",
    ),
    (  # the base called with training=False in the functional model instead of notebook 03's wrapper
        "08_finetuning_choices",
        "x = models.InferenceModeBase(base_model)(x)  # calls base_model(x, training=False) inside its call",
        "x = base_model(x, training=False)",
        "fine-tuning through the wrapper keeps the statistics",
    ),
    (  # the wrapper arm with BatchNormalization frozen: its gamma and beta do not train
        "08_finetuning_choices",
        "wrapped_inputs = keras.Input(shape=(size, size, 3))",
        "models.unfreeze_keep_batchnorm_frozen(base_model); wrapped_inputs = keras.Input(shape=(size, size, 3))",
        "the wrapper trains gamma and beta",
    ),
    (  # a "shift" that changes nothing
        "08_finetuning_choices",
        "shifted = tf.cast(image, tf.float32) * CONTRAST + tf.constant(CAST)",
        "shifted = tf.cast(image, tf.float32)",
        "half the contrast, about a quarter of the variance",
    ),
    # ---------------------------------------------------------------- 09
    (  # the dog logit as every image's score: for cats the map shows what argues for dog
        "09_use_the_model",
        "return keras.ops.abs(logits[:, 0]) if logits.shape[-1] == 1 else keras.ops.max(logits, axis=-1)",
        "return logits[:, 0] if logits.shape[-1] == 1 else keras.ops.max(logits, axis=-1)",
        "Grad-CAM puts most of the map's mass in the square that decides the class",
    ),
    (  # the feature maps without the gradient weighting: an activation map, not Grad-CAM
        "09_use_the_model",
        "channel_weights = keras.ops.mean(gradients, axis=(1, 2), keepdims=True)",
        "channel_weights = keras.ops.ones_like(keras.ops.mean(gradients, axis=(1, 2), keepdims=True))",
        "Grad-CAM puts most of the map's mass in the square that decides the class",
    ),
    (  # the deployment code resizes otherwise than training did
        "09_use_the_model",
        'image = tf.image.resize(image, (size, size), method="bilinear")',
        'image = tf.image.resize(image, (size, size), method="nearest")',
        "run in a fresh process, gives Keras's logits",
    ),
    (  # the deployment code skips the rounding to whole pixel values
        "09_use_the_model",
        "return tf.cast(tf.round(image), tf.uint8).numpy()",
        "return image.numpy()",
        "run in a fresh process, gives Keras's logits",
    ),
    # ---------------------------------------------------------------- 10
    (  # the copy left balanced: every training image kept
        "10_many_classes",
        "imbalanced_x, imbalanced_y = train_x[keep], train_y[keep]",
        "imbalanced_x, imbalanced_y = train_x, train_y",
        "the copy keeps fewer images of the rare class",
    ),
    (  # every image weighed alike: what class_weight does is no longer what sample_weight does here
        "10_many_classes",
        "image_weights = np.array([class_weight[label] for label in imbalanced_y])",
        "image_weights = np.ones(len(imbalanced_y))",
        "class_weight weighs each image's loss by its class's weight",
    ),
    (  # top-2 counted as "at most two classes above the true one": top-3
        "10_many_classes",
        "top_2_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=2)",
        "top_2_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=3)",
        "top-2: the true class is among the two largest logits",
        {"COURSE_SYNTHETIC_CLASSES": "4"},
    ),
]


class Mutant(NamedTuple):
    """Where a row acts: the index of the mutated code cell, its mutated source, the index of the assert's cell."""

    row: tuple
    index: int
    source: str
    last: int


def mutant(code, row):
    """Locate `row` (notebook, original, replacement, expected, ...) in the notebook's `code` cells."""
    name, original, replacement, expected, *_ = row
    hits = [(i, cell) for i, cell in enumerate(code) for line in cell.source.splitlines() if line.strip() == original]
    assert len(hits) == 1, f"{name}: the line {original!r} occurs {len(hits)} times, expected once"
    index, cell = hits[0]
    source = "\n".join(
        line.replace(original.strip(), replacement.strip()) if line.strip() == original else line
        for line in cell.source.splitlines()
    )
    last = next((i for i in range(index, len(code)) if expected in code[i].source), None)
    assert last is not None, f"{name}: no code cell from the changed one on holds the message {expected!r}"
    return Mutant(row, index, source, last)


def code_cells(name):
    """The code cells of notebook `name`."""
    return [cell for cell in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells if cell.cell_type == "code"]


def row_settings(row):
    """The COURSE_* variables a row sets: its fifth item, or none (smoke)."""
    return row[4] if len(row) == 5 else {}


def row_groups():
    """The rows by notebook and settings, one test (and one kernel) each: `05`, `06 real` (a second set of
    settings for the same notebook would be `06 real 2`)."""
    groups = {}
    for row in MUTATIONS:
        groups.setdefault((row[0], tuple(sorted(row_settings(row).items()))), []).append(row)
    params, seen = [], {}
    for (name, settings), rows in groups.items():
        base = name[:2] + (" real" if "COURSE_DATA_DIR" in dict(settings) else " settings" if settings else "")
        seen[base] = seen.get(base, 0) + 1
        params.append(pytest.param(rows, id=base if seen[base] == 1 else f"{base} {seen[base]}"))
    return params


@pytest.mark.parametrize("rows", row_groups())
def test_each_claims_assert_fires_when_the_claim_is_false(rows, monkeypatch, tmp_path):
    name, *_ = rows[0]
    for variable, value in row_settings(rows[0]).items():
        if variable in ("COURSE_DATA_DIR", "COURSE_WEIGHTS"):
            require_shared_material()
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    code = code_cells(name)
    mutants = sorted((mutant(code, row) for row in rows), key=lambda m: (m.index, m.last))
    # nbclient stores each executed cell at its index in the client's notebook: one slot, reused
    slot = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell()])
    replies = []  # an "aborted" reply (a request that reached the kernel while it stopped on an error) is no run
    client = NotebookClient(
        slot,
        timeout=600,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.append(execute_reply["content"]["status"]),
    )
    failures = []
    with client.setup_kernel():
        if name in EAGER_ROWS:
            client.execute_cell(nbformat.v4.new_code_cell(EAGER_STEPS), 0)

        def run(cells, first, why):
            for offset, cell in enumerate(cells):
                try:
                    client.execute_cell(cell, 0)
                except CellExecutionError as error:
                    pytest.fail(
                        f"{name}, unmutated, {why}: code cell {first + offset} failed: {error.ename}: {error.evalue}"
                    )
                assert replies[-1] == "ok", f"{name}, {why}: code cell {first + offset} did not run: {replies[-1]}"

        clean = 0  # code cells [0, clean) have run unmutated since the last mutant (or been its control)
        for m in mutants:
            expected = m.row[3]
            cells = code[m.index : m.last + 1]
            run(code[clean : m.index], clean, "up to the row's cells")
            changed = copy.deepcopy(code[m.index])
            changed.source = m.source
            try:
                for cell in [changed, *cells[1:]]:
                    client.execute_cell(cell, 0)
                failures.append(f"{expected!r}: the mutated notebook passed")
            except CellExecutionError as error:
                if error.ename != "AssertionError":
                    failures.append(f"{expected!r}: failed elsewhere: {error.ename}: {error.evalue}")
                elif expected not in error.evalue:
                    failures.append(f"{expected!r}: failed on another assert: {error.evalue}")
            # The control: the same cells unmutated, from where the mutant left, must pass (so a cell that fails
            # when run again, which would fake a firing assert where rows share cells, fails the test).
            run(cells, m.index, f"the control of the row {expected!r}")
            clean = m.last + 1
    assert not failures, f"{name}: " + "; ".join(failures)


def test_every_row_changes_a_line_the_notebook_holds_once():
    for row in MUTATIONS:
        name, original, replacement, *_ = row
        assert original != replacement, f"{name}: the row changes nothing"
        mutant(code_cells(name), row)


def test_every_notebook_assert_has_a_message():
    missing = []
    for script in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Assert) and node.msg is None:
                missing.append(f"{script.name}:{node.lineno}")
    assert not missing, f"asserts without a message saying what claim they guard: {', '.join(missing)}"
