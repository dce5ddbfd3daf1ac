"""Asserts that bite: each row makes one notebook claim false with one changed line, and expects the
notebook's own assert for that claim to fail with its message.

A row is (claim, original, replacement[, settings]). The claim is the assert's message, its id: for an
f-string, its text before the first placeholder. Every notebook assert has a message, unique across the
notebooks, and at least one row. The test finds the assert by parsing the notebooks' code cells, so a row
names no notebook and survives renumbering. The original is a fragment of one code line, matched after
collapsing runs of whitespace, that occurs exactly once in that notebook's code cells from its first up to
the assert's; the row's cells are the one holding it and those after it up to the assert's. Settings, where
a claim needs them: the environment variables to set (real photos, the JAX backend) and `eager` (TensorFlow's
steps run eagerly, cheaper than tracing where a row's cells take a few steps of a new model).

The rows of one notebook (and settings) share a kernel, which runs the notebook as a learner would, cells
run again included. For each row, in cell order: the cells up to the row's, unmutated; the row's cells with
the changed line, which must fail on the row's assert (the mutant); then the same cells unmutated, from
where the mutant left, which must pass (the control). Where two rows share cells, the mutant runs them
again, and a cell that fails when run again (which would fake a firing assert) fails the control too; so
does a mutation that leaves behind a name the row's cells do not define again. What
it does not check: that cells outside every row's give the same result when run again (they run once), and
a cell that draws from an unseeded random state draws other numbers in the control than in the mutant.

One kernel per notebook instead of one per row: CI's last run with a kernel per row spent 852 s on its 21
slowest rows alone; the 43 rows of then took 512 s of test time (309 s wall) in this form on 2 cores.

Adding a mutation is adding a row.
"""

import ast
import copy
import re
from typing import NamedTuple

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from support import EAGER_STEPS, MOBILENET_WEIGHTS, REAL_PHOTOS, require_shared_material

from helpers.config import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"

# TensorFlow's steps run eagerly: where a row's cells call fit() on a new MobileNetV2 for a few smoke steps,
# tracing its train step costs about 30 s on 2 cores against 2 s per eager step of 16 images (notebook 05's
# 7 rows of then: 253 s -> 136 s). Elsewhere eager steps save nothing or cost more (many steps), and some
# claims are about compiled steps.
EAGER = {"eager": True}
# The JAX backend: claims that only JAX makes.
JAX = {"KERAS_BACKEND": "jax"}
# The shared photos with their ImageNet weights, a short budget: claims that only real data and pretrained
# weights can show.
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

# A row proves that an assert fires; the unmutated notebook, run by tests/test_site.py, proves its claim with
# the compiled steps learners get.
ROWS = [
    # claim, original fragment, replacement[, settings]
    # ---------------------------------------------------------------- 00
    (  # another Keras than the checked one, as a stale environment holds (the name rebound, the module left alone)
        "The course is checked on Keras 3.15: run `make setup`.",
        "import keras",
        'import keras; keras = type("Keras", (), {"__version__": "3.10.0", "backend": keras.backend})',
    ),
    (  # another TensorFlow than the checked one
        "The course is checked on TensorFlow 2.21: run `make setup`.",
        "import tensorflow as tf",
        'import tensorflow as tf; tf = type("TensorFlow", (), {"__version__": "2.16.1"})',
    ),
    # ---------------------------------------------------------------- 01
    (  # a Dense layer without its bias
        "a Dense layer has two weights, both trainable",
        "dense = keras.layers.Dense(3)",
        "dense = keras.layers.Dense(3, use_bias=False)",
    ),
    (  # BatchNormalization without beta: one trainable weight fewer
        "BatchNormalization has 2 trainable and 2 non-trainable weights",
        "batchnorm = keras.layers.BatchNormalization()",
        "batchnorm = keras.layers.BatchNormalization(center=False)",
    ),
    (  # the guide's sentence, made true: BatchNormalization where Normalization stands
        "Normalization has three weights, none of them trainable",
        "normalization = keras.layers.Normalization()",
        "normalization = keras.layers.BatchNormalization()",
    ),
    (  # a layer with weights where Rescaling stands
        "Rescaling has no weights",
        "rescaling = keras.layers.Rescaling(1 / 127.5, offset=-1)",
        "rescaling = keras.layers.Dense(4)",
    ),
    (  # a count that adapt() would keep: the claim that it never does, made false
        "adapt() sets the mean and leaves count at 0",
        'adapted_layer.adapt(np.arange(40, dtype="float32").reshape(10, 4))',
        'adapted_layer.adapt(np.arange(40, dtype="float32").reshape(10, 4)); adapted_layer.count.assign(10)',
    ),
    (
        "freezing moves both of Dense's weights to the non-trainable list",
        "frozen_dense.trainable = False",
        "frozen_dense.trainable = True",
    ),
    (
        "the frozen layer must not change",
        "first.trainable = False",
        "first.trainable = True",
    ),
    (  # the trainable layer without a bias: only its kernel can change
        "the trainable layer's kernel and bias must both change",
        'second = keras.layers.Dense(3, activation="sigmoid")',
        'second = keras.layers.Dense(3, activation="sigmoid", use_bias=False)',
    ),
    (
        "a custom loop over trainable_weights skips the frozen layer",
        "variables = loop_model.trainable_weights",
        "variables = loop_model.weights",
    ),
    (  # a Dense layer with an activation: the hand computation no longer gives its output
        "a frozen layer still computes with its weights",
        "frozen_dense = keras.layers.Dense(3)",
        'frozen_dense = keras.layers.Dense(3, activation="sigmoid")',
    ),
    (  # the wrong reference answer: BatchNormalization's counts as if freezing kept gamma and beta trainable
        "the reference counts pass their check",
        "check_frozen_batchnorm_counts((4, 0, 4))",
        "check_frozen_batchnorm_counts((4, 2, 2))",
    ),
    (  # the reference freezes every layer but the first
        "the reference freeze_all_but_last passes its check",
        "for layer in model.layers[:-1]:",
        "for layer in model.layers[1:]:",
    ),
    # ---------------------------------------------------------------- 02
    (  # the head built on the base called as a layer: the base becomes one nested layer
        "built from base.output, the base is not nested",
        'flat_model = keras.Model(flat_base.input, keras.layers.Dense(1, name="head")(flat_base.output), name="flat")',
        'flat_model = keras.Model(flat_base.input, keras.layers.Dense(1, name="head")(flat_base(flat_base.input)), name="flat")',
    ),
    (
        "freezing the base leaves only the head's kernel and bias",
        "flat_base.trainable = False",
        "flat_base.layers[-1].trainable = False",
    ),
    (
        "the outer model collects them",
        "for layer in base.layers[-unfreeze_last_n:]:",
        "for layer in base.layers[:0]:",
    ),
    (
        "on TensorFlow only, freezing an already frozen base is skipped",
        "base.trainable = False  # already False",
        "base.trainable = True; base.trainable = False",
    ),
    (  # TensorFlow skips True on a trainable model: the hand-frozen layer stays frozen
        "setting every layer's flag thaws them all",
        "set_trainable_everywhere(model, True)",
        "model.trainable = True",
    ),
    (  # the base's own summary: its flag is False, so it counts no trainable parameter
        "the summary counts the thawed blocks",
        "full_model.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "base.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
    ),
    (  # the summary without its trainable column: its rows no longer say which layers train
        "the summary says N for the base, Y for its thawed blocks",
        "full_model.summary(show_trainable=True, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
        "full_model.summary(show_trainable=False, expand_nested=True, print_fn=lambda text, **kwargs: summary.append(text))",
    ),
    (  # the flag of the base alone, already False: skipped on TensorFlow
        "setting every layer's flag freezes the base: the head trains",
        "set_trainable_everywhere(base, False)",
        "base.trainable = False",
    ),
    (  # the nested base thawed first: the setter no longer stops there, and the block freezes
        "on TensorFlow the setter stops at the frozen base",
        "wrapper.trainable = False  # a real change: the wrapper was trainable",
        "nested_base.trainable = True; wrapper.trainable = False",
    ),
    (  # the wrapper's flag alone, already False: skipped on TensorFlow
        "every layer's flag set: only the head trains",
        "set_trainable_everywhere(wrapper, False)",
        "wrapper.trainable = False",
    ),
    (  # the inner model's layers spread into the outer model: no nested model
        "the inner model is one layer of the outer model",
        "[keras.Input(shape=(3,)), inner_model,",
        "[keras.Input(shape=(3,)), *inner_model.layers,",
    ),
    (  # the head built on the base's hidden layer: the base's last layer is left out of the model
        "the base's layers are the model's own",
        '(flat_base.output), name="flat")',
        '(hidden), name="flat")',
    ),
    (  # the head thawed instead of the outer model
        "unfreezing the outer model thaws everything",
        "model.trainable = True",
        "model.layers[-1].trainable = True",
    ),
    (  # the head without a bias: five weights, not six
        "three Dense layers, kernel and bias each, all trainable again",
        'keras.layers.Dense(3, activation="sigmoid")], name="outer"',
        'keras.layers.Dense(3, activation="sigmoid", use_bias=False)], name="outer"',
    ),
    (  # a real change of the flag: frozen first, then thawed, TensorFlow thaws every layer too
        "on TensorFlow only, trainable = True on a trainable model is skipped",
        "model.trainable = True  # already True",
        "model.trainable = False; model.trainable = True",
    ),
    (  # the base thawed where its last layers should be
        "the base itself still says frozen",
        "layer.trainable = True",
        "base.trainable = True",
    ),
    (  # a zero learning rate: fit() changes nothing
        "fit() changes exactly the thawed blocks and the head",
        'full_model.compile(optimizer="adam", loss="mse")',
        'full_model.compile(optimizer=keras.optimizers.Adam(0.0), loss="mse")',
    ),
    (  # the reference keeps one layer too many frozen
        "the reference unfreeze_last passes its check",
        "model.layers[: len(model.layers) - n]",
        "model.layers[: len(model.layers) - n - 1]",
    ),
    (  # the reported recipe with the missing line put back: it trains the base
        "the reported recipe never trains the base",
        'model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")  # 2. fine-tune at a low rate',
        'base.trainable = True; model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="mse")',
    ),
    (  # the reference without the missing line: the base never trains
        "the reference fine_tune passes its check",
        "base.trainable = True  # the missing line",
        "pass",
    ),
    # ---------------------------------------------------------------- 03
    (
        "frozen before the first fit() or before a recompile, it stays put",
        '"compile, fit, freeze, compile, fit": ["compile", "fit", "freeze", "compile", "fit"],',
        '"compile, fit, freeze, compile, fit": ["compile", "fit", "freeze", "fit"],',
    ),
    (  # both arms build the optimizer first: the doubled build no longer shows
        "the first fit() builds its step twice on TensorFlow, once on JAX",
        "if build_optimizer_first:",
        "if True:",
    ),
    (
        "the guide's claim would hold if nothing moved",
        'guide_model.compile(optimizer="adam", loss="mse")  # recompile after the change of `trainable`',
        "pass  # no recompile: on TensorFlow the next fit() reuses the frozen base's step",
    ),
    (
        "frozen BN keeps its statistics, gamma and beta",
        "kept_frozen = unfreeze_keep_batchnorm_frozen(fixed_base)",
        "kept_frozen = 1",
    ),
    (
        "the wrapper keeps the statistics",
        "return self.base(inputs, training=False)",
        "return self.base(inputs)",
    ),
    (  # the layer run on the batch before its moving mean is read
        "a fresh BatchNormalization's moving mean starts at 0",
        "layer.build(batch.shape)",
        "layer.build(batch.shape); layer(batch, training=True)",
    ),
    (  # Dropout called with the trainable flag where `training` belongs
        "Dropout follows `training` only",
        "layer(batch, training=training)) == 0",
        "layer(batch, training=trainable)) == 0",
    ),
    (  # BatchNormalization always called in training mode: trainable, it then uses the batch's statistics
        "frozen BN normalises as in inference",
        "output = keras.ops.convert_to_numpy(layer(batch, training=training))",
        "output = keras.ops.convert_to_numpy(layer(batch, training=True))",
    ),
    (  # momentum 1: the moving statistics never move, not even in training
        "frozen BN never updates its statistics",
        "keras.layers.BatchNormalization(momentum=0.5)",
        "keras.layers.BatchNormalization(momentum=1.0)",
    ),
    (  # the wrong layer frozen: the head
        "trainable_weights changes the moment you set it",
        "layer.trainable = False",
        "model.layers[-1].trainable = False",
    ),
    (  # a recompile in the first order: no backend trains the frozen layer
        "fit, freeze, fit on ",
        '"compile, fit, freeze, fit": ["compile", "fit", "freeze", "fit"],',
        '"compile, fit, freeze, fit": ["compile", "fit", "freeze", "compile", "fit"],',
    ),
    (  # the freeze forgotten: head training moves the statistics
        "while the base is frozen its statistics stay",
        "guide_base.trainable = False  # 1. freeze the base",
        "pass",
    ),
    (  # isinstance against the wrong class: no BatchNormalization layer is found
        "the tiny base has one BatchNormalization layer, kept frozen",
        "batchnorm = batchnorm_layers(model)",
        "batchnorm = [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Normalization)]",
    ),
    (  # the base frozen again before compiling: only the head trains
        "the convolution trains",
        'fixed_model.compile(optimizer="adam", loss="mse")',
        'fixed_base.trainable = False; fixed_model.compile(optimizer="adam", loss="mse")',
    ),
    (  # the wrapped base left frozen
        "gamma, beta, kernels train",
        "wrapped_base.trainable = True",
        "wrapped_base.trainable = False",
    ),
    (  # the wrapper's count taken on the base alone, without the head
        "the wrapper changes no count",
        '"wrapper": models.param_counts(wrapped_model),',
        '"wrapper": models.param_counts(wrapped_base),',
    ),
    (  # the BatchNormalization-frozen count taken on the guide's model instead
        "freezing BN makes gamma and beta non-trainable too",
        '"BatchNormalization frozen": models.param_counts(fixed_model),',
        '"BatchNormalization frozen": models.param_counts(guide_model),',
    ),
    (  # the reference forgets to keep BatchNormalization frozen
        "the reference unfreeze_last_keep_batchnorm_frozen passes its check",
        "layer.trainable = i >= len(model.layers) - n and not is_batchnorm",
        "layer.trainable = i >= len(model.layers) - n",
    ),
    (  # new: a fit() slipped in before the freeze: on TensorFlow the stale step trains the frozen layer
        "optimizer built, then freeze, on ",
        '"compile, build the optimizer, freeze, fit": ["compile", "build", "freeze", "fit"],',
        '"compile, build the optimizer, freeze, fit": ["compile", "build", "fit", "freeze", "fit"],',
    ),
    # ---------------------------------------------------------------- 04
    (
        "the weights barely move: every kernel changes by less than 1%",
        "compile_binary(model, 1e-5)",
        "compile_binary(model, 1e-3)",
    ),
    (
        "a higher momentum moves them slower",
        "x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=momentum)(x))",
        "x = keras.layers.ReLU()(keras.layers.BatchNormalization(momentum=0.9)(x))",
    ),
    (  # a learning rate a thousand times too small: pretraining learns nothing
        "the small base learns the stripes' orientation",
        "compile_binary(pretraining, 3e-3)",
        "compile_binary(pretraining, 3e-6)",
    ),
    (  # the guide's unfreezing in the first run reversed: BatchNormalization kept frozen
        "updating, the moving statistics move toward B's",
        '"updating, momentum 0.9": finetune(False, 0.9),',
        '"updating, momentum 0.9": finetune(True, 0.9),',
    ),
    (  # the frozen run unfrozen as the guide does
        "frozen, the moving statistics stay at A's",
        '"BatchNormalization frozen": finetune(True, 0.9),',
        '"BatchNormalization frozen": finetune(False, 0.9),',
    ),
    (  # any drop at all counted as damage: the slow and frozen runs wobble by a few images
        "0.999 and frozen: no damage within 40 steps",
        "curve[step][1] <= curve[0][1] - 0.10",
        "curve[step][1] <= curve[0][1] - 0.0",
    ),
    (  # a damage threshold no run reaches: the fast run's damage is not seen
        "0.99: damage later",
        "curve[step][1] <= curve[0][1] - 0.10",
        "curve[step][1] <= curve[0][1] - 0.50",
    ),
    (  # the slow run at momentum 0.995 instead of 0.999
        "at momentum 0.999, 40 steps move the statistics less than 10% of the way",
        '"updating, momentum 0.999": finetune(False, 0.999),',
        '"updating, momentum 0.999": finetune(False, 0.995),',
    ),
    (  # a wrong reference: the layer default taken for MobileNetV2's own
        "Keras's default momentum is 0.99",
        "default_momentum = keras.layers.BatchNormalization().momentum",
        "default_momentum = keras.layers.BatchNormalization(momentum=0.999).momentum",
    ),
    (  # the bases built by name swapped
        "MobileNetV2 uses 0.999, Xception 0.99",
        'for name in ("mobilenet_v2_0.35", "xception")}',
        'for name in ("mobilenet_v2_0.35", "mobilenet_v2_0.35")}',
    ),
    (  # new: the fast run at momentum 0.97 instead of 0.9: its damage comes later than 10 steps
        "momentum 0.9: damage within 10 steps",
        '"updating, momentum 0.9": finetune(False, 0.9),',
        '"updating, momentum 0.9": finetune(False, 0.97),',
    ),
    # ---------------------------------------------------------------- 05
    (  # a real JPEG where the text file stood: nothing stops the dataset
        "a file that is not an image stops the dataset",
        'not_a_photo.write_text("a text file with a .jpg name")',
        "keras.utils.save_img(not_a_photo, np.zeros((8, 8, 3)))",
    ),
    (  # the same image nine times, no augmentation drawn
        "each call draws a new augmentation",
        "draws = [rotation(flip(resized))[0] for _ in range(9)]",
        "draws = [resized[0] for _ in range(9)]",
    ),
    (
        "augmenting after the cache gives fresh images every epoch",
        "return dataset.prefetch(AUTOTUNE)  # augmented after the cache: new images every epoch",
        "return dataset.cache().prefetch(AUTOTUNE)  # the guide's place for the cache: after augmenting",
    ),
    (
        "the guide's cache replays epoch 1, in file order",
        "return dataset.batch(batch_size).prefetch(AUTOTUNE).cache()",
        "return dataset.batch(batch_size).prefetch(AUTOTUNE)",
    ),
    (
        "separate seeds make them independent",
        'for name, rotation_seed in [("same seed", settings.seed), ("separate seeds", settings.seed + 1)]:',
        'for name, rotation_seed in [("same seed", settings.seed), ("separate seeds", settings.seed)]:',
    ),
    (
        "stateless draws give the same batches for the same seed, in parallel",
        "batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)",
        "batch_seeds = tf.data.Dataset.random(rerandomize_each_iteration=True).batch(2)",
    ),
    (
        "our pipeline gives fresh images every epoch",
        "return dataset.prefetch(AUTOTUNE)  # the next batch is prepared while the model trains",
        "return dataset.cache().prefetch(AUTOTUNE)",
    ),
    (
        "flip_and_rotate applies the transform of RandomFlip, then RandomRotation",
        'angles = tf.constant(np.deg2rad(np.asarray(rotation_draws["angle"])), tf.float32)  # the layer draws degrees',
        'angles = -tf.constant(np.deg2rad(np.asarray(rotation_draws["angle"])), tf.float32)',
    ),
    (  # the label names read in the wrong order
        "TFDS labels cats 0 and dogs 1",
        'label_names = tfds_info.features["label"].names',
        'label_names = tfds_info.features["label"].names[::-1]',
    ),
    (  # "same seed" given another seed for its rotation
        "one seed couples the flip and the rotation",
        '[("same seed", settings.seed),',
        '[("same seed", settings.seed + 2),',
    ),
    (  # the rotation layer left unseeded: each build draws other angles
        "one batch at a time, the same seed gives the same batches",
        "rotation = keras.layers.RandomRotation(0.1, seed=seed + 1)",
        "rotation = keras.layers.RandomRotation(0.1)",
    ),
    (  # first_batch ignores its seed
        "another seed, another batch",
        "training=True, seed=seed)))[0]",
        "training=True, seed=settings.seed)))[0]",
    ),
    (  # the pipelines timed on an empty dataset
        "every pipeline delivered images",
        "first_256 = course_data.train.take(256)",
        "first_256 = course_data.train.take(0)",
    ),
    (  # the shuffle reshuffled every epoch: the split leaks test images into training
        "the reference split keeps test images out",
        "dataset = dataset.shuffle(64, seed=0, reshuffle_each_iteration=False)",
        "dataset = dataset.shuffle(64, seed=0, reshuffle_each_iteration=True)",
    ),
    (  # the cache left out: every epoch reads the source again
        "the reference pipeline flips afresh every epoch",
        "dataset = dataset.map(lambda image, label: (resize_image(image, 64), label)).cache()",
        "dataset = dataset.map(lambda image, label: (resize_image(image, 64), label))",
    ),
    (  # the labels in your own folder order, not Keras's sorted one
        "classes are the sorted subfolder names",
        "batch_size=None, shuffle=False,",
        "batch_size=None, shuffle=False, class_names=subfolders,",
    ),
    (  # file names reused: a later photo overwrites an earlier one of its class
        "every photo written comes back, and Thumbs.db is skipped",
        '/ f"{i}.jpg", image.numpy())',
        '/ f"{i % 6}.jpg", image.numpy())',
    ),
    (  # the extra file has a photo's extension, so Keras takes it (replaces the row of "every photo written comes back")
        "every photo written comes back, and Thumbs.db is skipped",
        '(folder / subfolders[0] / "Thumbs.db").write_bytes(b"\\0" * 64)  # a file Windows adds: not an image',
        'keras.utils.save_img(folder / subfolders[0] / "Thumbs.jpg", image.numpy())  # an extra file with a photo extension',
    ),
    (  # a preview of each split counted instead of the whole split
        "the loader's size is its image count: ",
        "counts = class_counts(getattr(course_data, split))",
        "counts = class_counts(getattr(course_data, split).take(16))",
    ),
    # ---------------------------------------------------------------- 06
    (  # the guide's freeze left out: the model's trainable count is no longer the head's
        "only the head trains: the frozen base has no trainable weights",
        "base_model.trainable = False",
        "base_model.trainable = True",
        EAGER,
    ),
    (  # a base that scales its own inputs would get them scaled twice
        "the model scales raw pixels as its base expects",
        "scales_itself = bases.BASES[settings.base_model].scales_inputs  # False for Xception and MobileNetV2",
        "scales_itself = True",
        EAGER,
    ),
    (  # the base left trainable during head training
        "only the head trains: the frozen base moved (",
        "base_model.trainable = False  # again, for when this cell runs after the fine-tuning cell",
        "base_model.trainable = True",
        EAGER,
    ),
    (  # BatchNormalization left trainable in fine-tuning
        "BatchNormalization moving statistics unchanged by fine-tuning (",
        "layer.trainable = False  # frozen, it runs in inference mode: its moving statistics stay",
        "layer.trainable = True",
        EAGER,
    ),
    (  # the model kept after fine-tuning is not the one measured (its bias shifted)
        "the kept model is the best one seen on validation (measured again: accuracy and loss)",
        "model.set_weights(kept_weights)",
        "model.set_weights([*kept_weights[:-1], kept_weights[-1] + 1.0])",
        EAGER,
    ),
    (  # one logit per class even for two classes: the guide's one-logit head is gone
        "one logit for two classes, one per class for more",
        "outputs = keras.layers.Dense(1 if class_count == 2 else class_count)(x)",
        "outputs = keras.layers.Dense(class_count)(x)",
        EAGER,
    ),
    (  # the sigmoid's twin built wrongly: softmax of [z, 0] is the probability of class 0
        "sigmoid(z) is softmax([0, z])[1]",
        "two_logit_softmax = keras.ops.convert_to_numpy(keras.ops.softmax(np.concatenate([0 * some_logits, some_logits], 1)))",
        "two_logit_softmax = keras.ops.convert_to_numpy(keras.ops.softmax(np.concatenate([some_logits, 0 * some_logits], 1)))",
        EAGER,
    ),
    (  # the two losses fed opposite labels
        "BinaryCrossentropy on z is SparseCategoricalCrossentropy on [0, z]",
        "categorical_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(some_labels, two_logits)",
        "categorical_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(1 - some_labels, two_logits)",
        EAGER,
    ),
    (  # probabilities left unnormalised
        "class_probabilities agrees with Keras",
        "return shifted / shifted.sum(axis=-1, keepdims=True)",
        "return shifted",
        EAGER,
    ),
    (  # each image counted twice
        "rows are true classes, columns predicted ones (TensorFlow's confusion_matrix)",
        "np.add.at(confusion, (test_labels, predicted), 1)  # one count per image: row its true class, column the predicted",
        "np.add.at(confusion, (test_labels, predicted), 2)",
        EAGER,
    ),
    (  # the class names written to another file than the model's
        "the saved model carries its class names",
        'with zipfile.ZipFile(model_path, "a") as archive:',
        'with zipfile.ZipFile(model_path.with_suffix(".zip"), "a") as archive:',
        EAGER,
    ),
    (  # a pipeline that scales its pixels to 0-1
        "the pipeline's images are raw 0-255 pixels",
        "validation_ds = pipeline(course_data.validation, size, batch_size, training=False)",
        "validation_ds = pipeline(course_data.validation, size, batch_size, training=False).map(lambda x, y: (x / 255, y))",
        EAGER,
    ),
    (  # Adam at fine-tuning's rate
        "Adam's default rate is 1e-3, 100 times fine-tuning's",
        "model.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=[accuracy])",
        "model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=loss, metrics=[accuracy])",
        EAGER,
    ),
    (  # the classes read in the wrong order
        "the confusion matrix counts the same predictions as evaluate()",
        "predicted = predicted_classes(test_logits)",
        "predicted = 1 - predicted_classes(test_logits)",
        REAL,
    ),
    (  # Keras's metric fed probabilities: at threshold 0 every image counts as class 1
        "BinaryAccuracy(threshold=0.0) is our logit > 0",
        "keras.metrics.BinaryAccuracy(threshold=t)(test_labels[:, None], test_logits)",
        "keras.metrics.BinaryAccuracy(threshold=t)(test_labels[:, None], keras.ops.sigmoid(test_logits))",
        REAL,
    ),
    (  # the band taken as 0 to 5
        "the two thresholds differ only on the logits between 0 and 0.5",
        "between = (test_logits[:, 0] > 0) & (test_logits[:, 0] <= 0.5)",
        "between = (test_logits[:, 0] > 0) & (test_logits[:, 0] <= 5.0)",
        REAL,
    ),
    (  # a clone of the model instead of the file: fresh weights
        "the reloaded model predicts as the trained one",
        "reloaded = keras.models.load_model(model_path)",
        "reloaded = keras.models.clone_model(model)",
        EAGER,
    ),
    (  # PIL read another file
        "a PNG decodes alike",
        "pil_pixels = keras.utils.img_to_array(keras.utils.load_img(large_png))",
        'pil_pixels = keras.utils.img_to_array(keras.utils.load_img(large_png, color_mode="grayscale"))',
        EAGER,
    ),
    (  # the test file made at the model's size: nothing is resized, so both ways give the same pixels
        "load_img's default resize gives other pixels than the training resize",
        "image = next(iter(course_data.test))[0].numpy()",
        "image = resize_image(next(iter(course_data.test))[0], size // 2).numpy()",
        EAGER,
    ),
    (  # the reference returns the cat's probability
        "the reference dog_probabilities is accepted",
        "return probability_model.predict(images, verbose=0)[:, 0]",
        "return 1 - probability_model.predict(images, verbose=0)[:, 0]",
        EAGER,
    ),
    (  # the reference without the missing line
        "the reference prepare_fine_tuning is accepted",
        "base.trainable = True  # the missing line",
        "pass  # the missing line",
        EAGER,
    ),
    (  # the probe's images from one class only, as the first batches of a split in file order (cats first)
        "the linear probe trains on every class",
        'shuffled = course_data.train.shuffle(course_data.sizes["train"], seed=settings.seed, reshuffle_each_iteration=False)',
        "shuffled = course_data.train.filter(lambda image, label: label == 0)",
        EAGER,
    ),
    (  # the two runs' rates swapped: the table's 1e-5 row is the run at 1e-3
        "fine-tuning at 1e-5 scored higher than at 1e-3",
        "tuned = {rate: fine_tune_steps(head_trained_weights, rate) for rate in (1e-3, 1e-5)}",
        "tuned = {rate: fine_tune_steps(head_trained_weights, 1e-3 if rate == 1e-5 else 1e-5) for rate in (1e-3, 1e-5)}",
        REAL,
    ),
    (  # a prediction resize other than the pipeline's (nearest-neighbour); same mutation as the old row
        "image_from_file gives the pixels the pipeline gives",
        "return resize_image(decode_image(tf.io.read_file(str(path))), image_size)",
        "return tf.cast(tf.image.resize(decode_image(tf.io.read_file(str(path))), (image_size, image_size), "
        '"nearest"), tf.uint8)',
        EAGER,
    ),
    # ---------------------------------------------------------------- 07
    (
        "pretrained features must beat standardised random ones on real photos (gain ",
        "extractor, base_model = feature_extractor(weights)",
        "extractor, base_model = feature_extractor(None)",
        REAL,
    ),
    (  # Flatten where the pooling stands: one vector per position and channel
        "one vector per image",
        "return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)), base_model",
        "return keras.Model(inputs, keras.layers.Flatten()(x)), base_model",
    ),
    (  # the head put on the random base, not the one whose features it learned
        "the head on its base scores what it scored on the stored features",
        "model = keras.Model(extractor.input, head(extractor.output))",
        "model = keras.Model(random_extractor.input, head(random_extractor.output))",
        REAL,
    ),
    (  # the break-even count rounded down: the features do not yet pay for their extraction
        "the reference break-even epoch count passes its check",
        "math.ceil(extraction_seconds / (slow_seconds_per_epoch - fast_seconds_per_epoch)),",
        "math.floor(extraction_seconds / (slow_seconds_per_epoch - fast_seconds_per_epoch)),",
    ),
    # ---------------------------------------------------------------- 08
    (
        "each worker trains on its own shard: no image on both",
        "options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA  # a shard each",
        "options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF",
    ),
    (  # statistics shared across replicas: no replica keeps its own slice's
        "under MirroredStrategy each replica uses its own slice's statistics",
        'arms = {"BatchNormalization()": {}}',
        'arms = {"BatchNormalization()": {"synchronized": True}}',
    ),
    (  # the same split asked for again: TensorFlow accepts it, so the refusal is not shown
        "once TensorFlow's runtime has started, the CPU can no longer be split",
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)",
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)",
    ),
    (  # the physical CPUs listed where the logical devices belong: one device
        "data parallelism needs two devices or more",
        'devices = [device.name for device in tf.config.list_logical_devices("CPU")]',
        'devices = [device.name for device in tf.config.list_physical_devices("CPU")]',
    ),
    (  # the strategy given one device
        "every device holds a copy of the weights",
        "strategy = tf.distribute.MirroredStrategy(devices)",
        "strategy = tf.distribute.MirroredStrategy(devices[:1])",
    ),
    (  # evaluate() where fit() belongs: no step is taken
        "the step must change the weights, or the comparison proves nothing",
        "single.fit(one_batch, epochs=1, verbose=0)",
        "single.evaluate(one_batch, verbose=0)",
    ),
    (  # the replicated model takes a step more
        "a replicated step must give the weights of a single-device step",
        "replicated.fit(one_batch, epochs=1, verbose=0)",
        "replicated.fit(one_batch, epochs=2, verbose=0)",
    ),
    (  # synchronized=True left out of its arm
        "synchronized=True shares the global statistics",
        '"BatchNormalization(synchronized=True)"] = {"synchronized": True}',
        '"BatchNormalization(synchronized=True)"] = {}',
    ),
    (  # the workers started without their output file's argument
        "a worker failed: see ",
        'settings.base_model, str(work / f"worker_{index}.npz"),',
        "settings.base_model,",
    ),
    (  # the workers trained on half the images
        "together the shards hold every image once",
        "batches = strategy.experimental_distribute_dataset(dataset.batch(global_batch).with_options(options))",
        "batches = strategy.experimental_distribute_dataset(dataset.take(8).batch(global_batch).with_options(options))",
    ),
    (  # a zero learning rate in the workers
        "the workers must have trained",
        "optimizer = keras.optimizers.SGD(0.01)",
        "optimizer = keras.optimizers.SGD(0.0)",
    ),
    (  # momentum 0.5: the moving mean keeps half of its start
        "on JAX, BatchNormalization uses the global batch's statistics",
        "x = keras.layers.BatchNormalization(momentum=0.0, **options)(inputs)",
        "x = keras.layers.BatchNormalization(momentum=0.5, **options)(inputs)",
        JAX,
    ),
    (  # the step count rounded down: the last, partial batch is dropped
        "the reference global batch and step count pass their check",
        "-(-2000 // (4 * 32))",
        "2000 // (4 * 32)",
    ),
    (  # the replicated model built over one device only: a global batch is no longer split per device
        "laid out this way, a global batch gives each device per_device_batch images",
        "keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))",
        "keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices[:1]))",
        JAX,
    ),
    (  # the workers' base frozen: only the head's kernel and bias move
        "the workers' step moves the base's weights, not only the head's",
        "models.unfreeze_keep_batchnorm_frozen(base)",
        "base.trainable = False",
        REAL,
    ),
    (  # the workers batch 16 images: each trains on a whole group of 8, not half of every global batch of 8
        "each worker trains on half of every global batch of 8",
        "global_batch = 8",
        "global_batch = 16",
    ),
    (  # fit() records no error, as it would the day Keras fixes keras-team/keras#20585
        "fit() under MultiWorkerMirroredStrategy fails on these versions",
        'fit_error = f"{type(error).__name__}: {error}"',
        'fit_error = ""',
    ),
    # ---------------------------------------------------------------- 09
    (  # the textbook (Wald) interval instead of Wilson's: zero-wide at 360 of 360
        "the Wilson interval is not zero-wide at 100%",
        "return max(0.0, centre - half), min(1.0, centre + half)",
        "return max(0.0, share - z * math.sqrt(share * (1 - share) / total)), min(1.0, share + z * math.sqrt(share * (1 - share) / total))",
    ),
    (
        "four of four disagreements on one side: p = 2/16",
        "return only_a, only_b, min(1.0, 2 * tail)",
        "return only_a, only_b, min(1.0, tail)",
    ),
    (  # a gap of 8 photos, every disagreement on one side: that one is measurable
        "4 photos in 360 is no measurable difference either way",
        "_, _, p_one_sided = mcnemar_exact([False] * 4, [True] * 4)",
        "_, _, p_one_sided = mcnemar_exact([False] * 8, [True] * 8)",
    ),
    (  # the detectable split read at p < 0.5: 10 to 6 would count
        "the 10-to-6 split above is more even than any measurable split of 16",
        "more, fewer = detectable_split(16, 0.05)",
        "more, fewer = detectable_split(16, 0.5)",
    ),
    (  # the p-values left uncorrected: all three below 0.05
        "Holm: the smallest p times 3, the next times 2, the last raised to it",
        "adjusted = holm([0.01, 0.04, 0.03])",
        "adjusted = [0.01, 0.04, 0.03]",
    ),
    (  # block names without MobileNetV2's first block, expanded_conv: one block short of the paper's 17
        "the layer names give the paper's count of blocks",
        'BLOCK_NAME = re.compile(r"(block_?\\d+|expanded_conv)")  # the start of a layer name that names its block',
        'BLOCK_NAME = re.compile(r"(block_?\\d+)")',
    ),
    (  # the tutorial's cut moved to a block boundary: no block is cut
        "freezing layers[:100] cuts MobileNetV2's block_11 in half",
        "layer.trainable = index >= 100  # the tutorial's cut, set layer by layer",
        "layer.trainable = index >= 98",
    ),
    (  # unfreezing by a layer count, as a popular tutorial does, cuts the top block in half
        "the top ",
        "thawed = {layer.name for _, layers in blocks(base_model)[len(blocks(base_model)) - count :] for layer in layers}",
        "thawed = {layer.name for layer in base_model.layers[len(base_model.layers) - 9 * count :]}",
    ),
    (  # no warm-up
        "the warm-up starts at 0 and peaks at the target",
        "warmup_target=peak, warmup_steps=steps_per_epoch,",
        "warmup_target=peak, warmup_steps=0,",
    ),
    (  # one epoch more than the schedule planned: the rate stays at 0 after its last planned step
        "every run took the planned steps: the schedule ends at 0 on its last one",
        'schedule_runs[name] = fine_tune(model, learning_rate(), SCHEDULE_EPOCHS, PHOTOS, every_epoch=True)["photos"]',
        'schedule_runs[name] = fine_tune(model, learning_rate(), SCHEDULE_EPOCHS + 1, PHOTOS, every_epoch=True)["photos"]',
    ),
    (  # an optimizer that counted its step before reading the rate would take the first step at schedule(1) > 0
        "the very first step runs at rate 0",
        "first_step.build([probe])",
        "first_step.build([probe]); first_step.iterations.assign(1)",
    ),
    (  # the decay counted over every step, warm-up included: the rate has not reached 0 at the end
        "the rate reaches 0 at step total_steps, just after the last step run",
        "initial_learning_rate=0.0, decay_steps=total_steps - steps_per_epoch,",
        "initial_learning_rate=0.0, decay_steps=total_steps,",
    ),
    (  # the top `count` blocks as [-count:]: with count 0 that is every block, so "head only" trains them all
        "each count of blocks trains more parameters than a smaller count",
        "thawed = {layer.name for _, layers in blocks(base_model)[len(blocks(base_model)) - count :] for layer in layers}",
        "thawed = {layer.name for _, layers in blocks(base_model)[-count:] for layer in layers}",
    ),
    (  # the 50% quantile where the 95% one belongs: too narrow an interval
        "a gap of 4 photos in 360 lies inside the Wilson interval",
        "Z_95 = 1.959963984540054",
        "Z_95 = 0.6744897501960817",
    ),
    (  # the counts off by one: 4 and 5 disagreements
        "the paired test needs at least 6 disagreements, all on one side, to reach p < 0.05",
        "for k in (5, 6))",
        "for k in (4, 5))",
    ),
    (  # the random state looked for among the weights
        "Dropout's random state is a variable outside the weights: set_weights does not reset it",
        'seed_states = [variable.path for variable in model.variables if "seed_generator" in variable.path]',
        'seed_states = [variable.path for variable in model.weights if "seed_generator" in variable.path]',
    ),
    (  # "top block" unfreezes no block: the same count as "head only"
        "each depth trains more parameters than the one before",
        '"top block": 1,',
        '"top block": 0,',
    ),
    (  # the warm-up one step too long
        "the peak comes at the end of the warm-up",
        "warmup_target=peak, warmup_steps=steps_per_epoch,",
        "warmup_target=peak, warmup_steps=steps_per_epoch + 1,",
    ),
    (  # the wrong reference answer: the comparison reversed, 7 to 4 counts as real
        "the reference is-it-real answer is accepted",
        "exercises.check_is_it_real(p_value < 0.05)",
        "exercises.check_is_it_real(p_value > 0.05)",
    ),
    (  # the reference unfreezes one block too few
        "the reference unfreeze_from is accepted",
        "unfreeze_top_blocks(base_model, len(groups) - owner[base_model.layers[fine_tune_at].name])",
        "unfreeze_top_blocks(base_model, len(groups) - owner[base_model.layers[fine_tune_at].name] - 1)",
    ),
    (  # BatchNormalization unfrozen with its block
        "the frozen BatchNormalization statistics moved in the run ",
        "layer.trainable = layer.name in thawed and not isinstance(layer, keras.layers.BatchNormalization)",
        "layer.trainable = layer.name in thawed",
    ),
    # ---------------------------------------------------------------- 10
    (  # the adapters left out of the merge: the plain kernel alone
        "each merged layer computes exactly what its LoRA layer computes",
        "target.set_weights([keras.ops.convert_to_numpy(source.kernel),",
        "target.set_weights([keras.ops.convert_to_numpy(source._kernel),",
    ),
    (  # every weight stored per task, the frozen base included
        "the adapters are a small fraction of the model",
        "np.savez(adapter_file, *[keras.ops.convert_to_numpy(w) for w in adapter_weights + lora_model.layers[-1].weights])",
        "np.savez(adapter_file, *[keras.ops.convert_to_numpy(w) for w in lora_model.weights])",
    ),
    (  # a clone of the LoRA model instead of the file: fresh kernels, not the merged ones
        "the .keras file stores the merged kernel",
        "reloaded = keras.models.load_model(whole_file)",
        "reloaded = keras.models.clone_model(lora_model)",
    ),
    (  # the model in memory instead of the one read back from the file: its adapters are trained
        "reloaded, the adapters start again at zero",
        "reloaded = keras.models.load_model(whole_file)",
        "reloaded = lora_model",
    ),
    (  # the rest of the base left trainable beside the adapters
        "LoRA trains only the adapters and the head",
        "layer.trainable = layer in pointwise",
        "layer.trainable = True",
    ),
    (  # "statistics moving" with BatchNormalization kept frozen: nothing moves, whatever the model says
        "with BatchNormalization trainable, fit() moves its statistics despite base_model(x, training=False)",
        "layer.trainable = True",
        "layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)",
    ),
    (  # the base called with training=False in the functional model instead of notebook 03's wrapper
        "fine-tuning through the wrapper keeps the statistics",
        "x = models.InferenceModeBase(base_model)(x)  # calls base_model(x, training=False) inside its call",
        "x = base_model(x, training=False)",
    ),
    (  # the wrapper arm with BatchNormalization frozen: its gamma and beta do not train
        "the wrapper trains gamma and beta",
        "wrapped_inputs = keras.Input(shape=(size, size, 3))",
        "models.unfreeze_keep_batchnorm_frozen(base_model); wrapped_inputs = keras.Input(shape=(size, size, 3))",
    ),
    (  # a "shift" that changes nothing
        "the shift moves the statistics the base sees: half the contrast, about a quarter of the variance",
        "shifted = tf.cast(image, tf.float32) * CONTRAST + tf.constant(CAST)",
        "shifted = tf.cast(image, tf.float32)",
    ),
    (  # the shifted copy shuffled: its images come in another order
        "the shifted copy holds the same training images, in the same order",
        "train=train_split.map(shift),",
        "train=train_split.shuffle(64).map(shift),",
    ),
    (  # the layer left frozen
        "trainable = True after enable_lora thaws the kernel",
        "demo.trainable = True",
        "demo.trainable = False",
    ),
    (  # B initialised like A
        "B starts at zero",
        "layer.enable_lora(rank)",
        'layer.enable_lora(rank, b_initializer="he_uniform")',
    ),
    (  # the adapters' sizes counted where the kernels' belong
        "the pointwise convolutions hold most of the base's weights",
        "pointwise_share = sum(int(np.prod(layer.kernel.shape)) for layer in lora_layers)",
        "pointwise_share = sum(int(np.prod(layer.lora_kernel_a.shape)) for layer in lora_layers)",
    ),
    (  # a rank sixteen times larger
        "LoRA trains a small fraction of the parameters",
        "RANK = 4",
        "RANK = 64",
    ),
    (  # the LoRA runs at rate 0: the adapters never train
        "the adapters trained: B starts at zero",
        'fine_tune(lora_model, 1e-3, FINETUNE_EPOCHS, {"photos": (restart_lora, ORIGINAL)})',
        'fine_tune(lora_model, 0.0, FINETUNE_EPOCHS, {"photos": (restart_lora, ORIGINAL)})',
    ),
    (  # a plain clone where the merge belongs: it keeps LoRA
        "the copy has no LoRA",
        "merged = merged_copy(lora_model)",
        "merged = keras.models.clone_model(lora_model)",
    ),
    (  # the head's weights left out of the copy
        "the merged model predicts what the LoRA model predicts",
        "elif not isinstance(source, keras.Model):",
        "elif not isinstance(source, (keras.Model, keras.layers.Dense)):",
    ),
    (  # the wrong class counted as separable
        "most of Xception's convolutions are separable",
        "separable = [layer for layer in xception.layers if isinstance(layer, keras.layers.SeparableConv2D)]",
        "separable = [layer for layer in xception.layers if isinstance(layer, keras.layers.DepthwiseConv2D)]",
    ),
    (  # the guide's `base_model.trainable = True` in place of the course's loop: fit()'s training=True moves the statistics
        "frozen: the statistics stay",
        "models.unfreeze_keep_batchnorm_frozen(base_model)",
        "base_model.trainable = True",
    ),
    # ---------------------------------------------------------------- 11
    (  # the dog logit as every image's score: for cats the map shows what argues for dog
        "Grad-CAM puts most of the map's mass in the square that decides the class",
        "return keras.ops.abs(logits[:, 0]) if logits.shape[-1] == 1 else keras.ops.max(logits, axis=-1)",
        "return logits[:, 0] if logits.shape[-1] == 1 else keras.ops.max(logits, axis=-1)",
    ),
    (  # the feature maps without the gradient weighting: an activation map, not Grad-CAM
        "Grad-CAM puts most of the map's mass in the square that decides the class",
        "channel_weights = keras.ops.mean(gradients, axis=(1, 2), keepdims=True)",
        "channel_weights = keras.ops.ones_like(keras.ops.mean(gradients, axis=(1, 2), keepdims=True))",
    ),
    (  # the deployment code resizes otherwise than training did
        "the ",
        'image = tf.image.resize(image, (size, size), method="bilinear")',
        'image = tf.image.resize(image, (size, size), method="nearest")',
    ),
    (  # the deployment code skips the rounding to whole pixel values
        "the ",
        "return tf.cast(tf.round(image), tf.uint8).numpy()",
        "return image.numpy()",
    ),
    (  # both classes get a red square: the colour no longer decides
        "the squares model learns which colour decides the class",
        "image[y : y + SQUARE, x : x + SQUARE, 0 if label else 1] = 255",
        "image[y : y + SQUARE, x : x + SQUARE, 0] = 255",
    ),
    (  # the SavedModel format's name misspelt
        "a TensorFlow SavedModel can be exported on every backend the course runs on",
        '("tf_saved_model", ""),',
        '("saved_model", ""),',
    ),
    (  # the ONNX format's name misspelt
        "on TensorFlow all three formats export",
        '("onnx", ".onnx"),',
        '("onx", ".onnx"),',
    ),
    (  # LiteRT left out of the formats tried
        "on JAX, Keras 3.15.1 exports a SavedModel but not ONNX or LiteRT",
        ', ("litert", ".tflite")]',
        "]",
        JAX,
    ),
    (  # each problem recorded by its exception's type alone
        "on JAX the ONNX export needs the jax2onnx package",
        'export_problems[fmt] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:120]}"',
        "export_problems[fmt] = type(error).__name__",
        JAX,
    ),
    (  # the loaded SavedModel called as a function: it has no __call__, only its serve endpoint
        "the exported models run in a fresh process: ",
        'runners["tf_saved_model"] = lambda x: saved.serve(x).numpy()',
        'runners["tf_saved_model"] = lambda x: saved(x).numpy()',
    ),
    (  # the base saved without its wrapper
        "a layer built from a model needs get_config before Keras can save it",
        'wrapped(InferenceModeBase).save(work / "wrapper.keras")',
        'wrapped(lambda base: base).save(work / "wrapper.keras")',
    ),
    (  # the model built again with the plain wrapper instead of read back from the file
        "the reloaded model holds the wrapper class",
        'reloaded = keras.models.load_model(work / "wrapper.keras")',
        "reloaded = wrapped(InferenceModeBase)",
    ),
    (  # a second, freshly built model saved instead of the one compared
        "the reloaded wrapper model computes what the saved one did",
        'wrapper_model.save(work / "wrapper.keras")',
        'wrapped(SavableInferenceModeBase).save(work / "wrapper.keras")',
    ),
    (  # "the logit alone" bound to the notebook's score
        "the logit alone is the dog score, also for cats",
        "cats = check_labels == 0",
        "score_as_logit = class_score; cats = check_labels == 0",
    ),
    (  # the logit squared where its absolute value belongs: the same Grad-CAM maps, other scores
        "the notebook's class score passes its check",
        "return keras.ops.abs(logits[:, 0]) if logits.shape[-1] == 1",
        "return keras.ops.square(logits[:, 0]) if logits.shape[-1] == 1",
    ),
    (  # the logit as both classes' score
        "the reference target_score is accepted",
        "return logits[:, 0] if k == 1 else -logits[:, 0]",
        "return logits[:, 0]",
    ),
    (  # the scale forgotten in call()
        "the reference ScaledWrapper is accepted",
        "return super().call(inputs * self.scale)",
        "return super().call(inputs)",
    ),
    # ---------------------------------------------------------------- 12
    (  # the copy left balanced: every training image kept
        "the copy keeps fewer images of the rare class (a fifth, at least one) and every image of the others",
        "imbalanced_x, imbalanced_y = train_x[keep], train_y[keep]",
        "imbalanced_x, imbalanced_y = train_x, train_y",
    ),
    (  # every image weighed alike: what class_weight does is no longer what sample_weight does here
        "class_weight weighs each image's loss by its class's weight",
        "image_weights = np.array([class_weight[label] for label in imbalanced_y])",
        "image_weights = np.ones(len(imbalanced_y))",
    ),
    (  # top-2 counted as "at most two classes above the true one": top-3
        "top-2: the true class is among the two largest logits",
        "top_2_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=2)",
        "top_2_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=3)",
        {"COURSE_SYNTHETIC_CLASSES": "4"},
    ),
    (  # off by one: k classes above the true one still count
        "the reference top_k_accuracy is accepted",
        "(logits > true_logits[:, None]).sum(axis=1) < k)",
        "(logits > true_logits[:, None]).sum(axis=1) <= k)",
    ),
    (  # the true class beaten, not tied: it must then fall outside the top 1
        "a class tied at the k-th place counts as in the top k",
        "[[1.0, 1.0, 0.0]]",
        "[[1.0, 0.5, 0.0]]",
    ),
    (  # the copy keeps half of the rare class, not a fifth (condition now checks the share)
        "the copy keeps fewer images of the rare class (a fifth, at least one) and every image of the others",
        "size=max(1, round(RARE_SHARE * len(rare_positions)))",
        "size=max(1, round(0.5 * len(rare_positions)))",
    ),
    # ---------------------------------------------------------------- ??
    (  # the inner model frozen instead of the outer one: the head stays trainable
        "freezing the outer model freezes every layer inside it: ",
        "model.trainable = False",
        "inner_model.trainable = False",
    ),
    (  # replaces the old row, whose fragment "model.optimizer.build(model.trainable_variables)" now also
        # occurs in frozen_layer_changes: the "built first" arm measured without building the optimizer
        "with the optimizer built first, fit() builds its step once",
        '"optimizer.build() after compile()": builds_in_first_fit(True)}',
        '"optimizer.build() after compile()": builds_in_first_fit(False)}',
    ),
    (  # the wrong reference answer: the stale step on TensorFlow predicted not to train
        # (replaces the old row: the line lost its "torch" entry and now uses .get)
        "the reference answer",
        'stale_step = {"tensorflow": True, "jax": "raises"}.get(keras.backend.backend())',
        'stale_step = {"tensorflow": False, "jax": "raises"}.get(keras.backend.backend())',
    ),
]


# The asserts that have no row yet, each with why: the debt the "every assert has a row" still
# carries. A test fails when one of them is gone or gets a row, so the list only shrinks.
WITHOUT_ROW = {
    "an epoch over stored vectors must beat an epoch through the base": "a timing: no plausible one-line "
    "mistake makes training a Dense head on stored vectors slower than running the base every epoch",
    "every worker must end with the same weights": "MultiWorkerMirroredStrategy broadcasts the starting "
    "weights and sums the gradients; the one-line mistakes tried (a seed per worker, no sharding) keep the "
    "workers equal, and the one that would not (a step outside strategy.run) fails before the assert",
    "the shifted copy lies farther from the pretrained statistics than the photos": "runs only with pretrained "
    "weights and the shifted copy: a row needs notebook 10 on the shared photos, about a minute of CI per row",
    "at MobileNetV2's momentum, a short fine-tuning moves the statistics less than a tenth of the way": "needs "
    "pretrained weights and about 100 steps to fail at momentum 0.999; a lower momentum skips the guard",
    "the wrapper trains every gamma and beta": "runs only with pretrained weights (notebook 10 on the shared "
    "photos), like the shifted copy's claim",
    "updating statistics must cost accuracy here": "the experiment's outcome on its data: the one-line mistakes "
    "that would undo it (no shift between A and B, a slower momentum) fire an earlier assert of the same cell",
    "and cost loss already after 10 steps": "as the claim above: an earlier assert of its cell fires first",
    "one step moves the base's weights, not only the head's": "its row (the base frozen) fires, but its "
    "control then fails: after the mutant, running the replicated step's cells again in the same kernel raised "
    "in TensorFlow's collective ops (CI, 8 December 2026); not yet understood",
    "LiteRT export needs the TensorFlow or PyTorch backend": "runs only on JAX: a row needs notebook 11 on JAX "
    "up to its export cell",
}


class Claim(NamedTuple):
    """A notebook assert: its notebook, the index of its code cell, and whether its message is a literal."""

    notebook: str
    cell: int
    literal: bool

    def __str__(self):
        return f"{self.notebook}, code cell {self.cell}"


class Mutant(NamedTuple):
    """Where a row acts: its claim, the index of the mutated code cell, its mutated source."""

    row: tuple
    claim: Claim
    index: int
    source: str


def claim_id(message):
    """An assert's message as its claim id: a literal, or an f-string's text before its first placeholder."""
    if isinstance(message, ast.Constant):
        return message.value
    text = ""
    for part in message.values:
        if not isinstance(part, ast.Constant):
            break
        text += part.value
    return text


def code_cells(name):
    """The code cells of notebook `name`."""
    return [cell for cell in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells if cell.cell_type == "code"]


def notebook_asserts():
    """Every assert of the notebooks as (claim id, Claim), in notebook order; the id is None without a message."""
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for index, cell in enumerate(code_cells(path.stem)):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Assert):
                    claim = Claim(path.stem, index, isinstance(node.msg, ast.Constant))
                    found.append((None if node.msg is None else claim_id(node.msg), claim))
    return found


def claims():
    """Claim id -> the asserts that carry it (one, unless ids collide)."""
    by_id = {}
    for claim, where in notebook_asserts():
        by_id.setdefault(claim, []).append(where)
    return by_id


def row_settings(row):
    """A row's settings: its fourth item, or none (smoke, compiled steps)."""
    return row[3] if len(row) == 4 else {}


def fragment(original):
    """A pattern for `original` that matches it whatever runs of whitespace stand between its words, and not
    inside a longer name."""
    words = original.split()
    start = r"(?<!\w)" if re.match(r"\w", words[0]) else ""  # not the tail of a longer name: `base` in `flat_base`
    end = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    return re.compile(start + r"\s+".join(re.escape(word) for word in words) + end)


def mutant(row, by_id=None):
    """Locate `row` (claim, original, replacement, ...): its assert, and its one occurrence up to it."""
    claim, original, replacement, *_ = row
    found = (by_id or claims()).get(claim, [])
    assert len(found) == 1, f"{claim!r}: the claim id matches {len(found)} notebook asserts, expected one"
    where = found[0]
    code = code_cells(where.notebook)
    pattern = fragment(original)
    hits = [
        (index, number, match)
        for index, cell in enumerate(code[: where.cell + 1])
        for number, line in enumerate(cell.source.splitlines())
        for match in pattern.finditer(line)
    ]
    assert len(hits) == 1, (
        f"{claim!r}: {original!r} occurs {len(hits)} times in {where.notebook}'s code cells up to the assert's, "
        "expected once"
    )
    index, number, match = hits[0]
    lines = code[index].source.splitlines()
    lines[number] = lines[number][: match.start()] + replacement + lines[number][match.end() :]
    return Mutant(row, where, index, "\n".join(lines))


def row_groups():
    """The rows by notebook and settings, one test (and one kernel) each: `05`, `06 real`, `07 jax` (a second
    set of settings for the same notebook would be `06 real 2`)."""
    by_id, groups = claims(), {}
    for row in ROWS:
        found = by_id.get(row[0], [])
        name = found[0].notebook if len(found) == 1 else "unknown"  # the structural tests name the row
        groups.setdefault((name, tuple(sorted(row_settings(row).items()))), []).append(row)
    params, seen = [], {}
    for (name, settings), rows in sorted(groups.items()):
        values = dict(settings)
        base = (
            ("unknown" if name == "unknown" else name[:2])
            + (
                " real"
                if "COURSE_DATA_DIR" in values
                else " settings"
                if any(k.startswith("COURSE_") for k in values)
                else ""
            )
            + (" jax" if values.get("KERAS_BACKEND") == "jax" else "")
        )
        seen[base] = seen.get(base, 0) + 1
        params.append(pytest.param(rows, id=base if seen[base] == 1 else f"{base} {seen[base]}"))
    return params


@pytest.mark.parametrize("rows", row_groups())
def test_each_claims_assert_fires_when_the_claim_is_false(rows, monkeypatch, tmp_path):
    settings = row_settings(rows[0])
    for variable, value in settings.items():
        if variable in ("COURSE_DATA_DIR", "COURSE_WEIGHTS"):
            require_shared_material()
        if variable.isupper():  # an environment variable, not a switch of the test's own
            monkeypatch.setenv(variable, value)
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    by_id = claims()
    mutants = sorted((mutant(row, by_id) for row in rows), key=lambda m: (m.index, m.claim.cell))
    name = mutants[0].claim.notebook
    code = code_cells(name)
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
        if settings.get("eager"):
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
            expected, last = m.row[0], m.claim.cell
            cells = code[m.index : last + 1]
            run(code[clean : m.index], clean, "up to the row's cells")
            changed = copy.deepcopy(code[m.index])
            changed.source = m.source
            try:
                for cell in [changed, *cells[1:]]:
                    client.execute_cell(cell, 0)
                failures.append(f"{expected!r}: the mutated notebook passed")
            except CellExecutionError as error:
                message = error.evalue.strip()
                if error.ename != "AssertionError":
                    failures.append(f"{expected!r}: failed elsewhere: {error.ename}: {error.evalue}")
                elif not (message == expected if m.claim.literal else message.startswith(expected)):
                    failures.append(f"{expected!r}: failed on another assert: {error.evalue}")
            # The control: the same cells unmutated, from where the mutant left, must pass (so a cell that fails
            # when run again, which would fake a firing assert where rows share cells, fails the test).
            run(cells, m.index, f"the control of the row {expected!r}")
            clean = last + 1
    assert not failures, f"{name}: " + "; ".join(failures)


def test_every_notebook_assert_has_a_message():
    missing = [str(where) for claim, where in notebook_asserts() if claim is None]
    assert not missing, f"asserts without a message saying what claim they guard: {', '.join(missing)}"


def test_claim_ids_are_unique():
    shared = {claim: found for claim, found in claims().items() if claim is not None and len(found) > 1}
    assert not shared, "claim ids carried by more than one assert: " + "; ".join(
        f"{claim!r} ({'; '.join(map(str, found))})" for claim, found in shared.items()
    )


def test_every_notebook_assert_has_a_row():
    covered = {row[0] for row in ROWS}
    missing = [f"{claim!r} ({where})" for claim, where in notebook_asserts() if claim not in covered | set(WITHOUT_ROW)]
    assert not missing, f"notebook asserts with no row that makes them fire: {'; '.join(missing)}"


def test_the_asserts_without_a_row_are_still_there_and_still_without_one():
    ids = {claim for claim, _ in notebook_asserts()}
    stale = [claim for claim in WITHOUT_ROW if claim not in ids or claim in {row[0] for row in ROWS}]
    assert not stale, f"WITHOUT_ROW names asserts that are gone or now have a row: {stale}"


def test_every_row_names_one_claim_and_changes_a_fragment_held_once():
    by_id, problems = claims(), []
    for row in ROWS:
        if row[1] == row[2]:
            problems.append(f"{row[0]!r}: the row changes nothing")
        elif [r[:3] for r in ROWS].count(row[:3]) > 1:
            problems.append(f"{row[0]!r}: the row {row[1]!r} is given twice")
        else:
            try:
                mutant(row, by_id)
            except AssertionError as error:
                problems.append(str(error).split("\nassert")[0])
    assert not problems, "; ".join(problems)
