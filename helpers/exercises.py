"""Self-checks for the exercises: a hint for a wrong attempt, a confirmation for a right one.

Every check returns True or False and prints one line, so a notebook can `assert` the reference
solution while a learner's unfinished attempt just prints a hint.
"""

import re

import keras
import numpy as np

from helpers.models import changed, moving_statistics, weight_values
from helpers.stats import mcnemar_exact


def _verdict(ok, confirmation, hint):
    print(f"Correct: {confirmation}" if ok else f"Not yet: {hint}")
    return ok


def _empty_function(*args, **kwargs): ...


def _unanswered(answer):
    """True, with a hint, while an exercise still holds a `...` or a function whose body is only `...`."""
    values = list(answer.values()) if isinstance(answer, dict) else answer if isinstance(answer, list) else [answer]
    empty = [
        value is None
        or value is Ellipsis
        or getattr(value, "__code__", None) is not None
        and value.__code__.co_code == _empty_function.__code__.co_code
        for value in values
    ]
    if any(empty):
        print("Not yet: replace the `...` with your answer and run the cell again.")
        return True
    return False


# ---------------------------------------------------------------- notebook 01


def check_frozen_batchnorm_counts(answer):
    """Exercise: (weights, trainable, non-trainable) of a frozen BatchNormalization built on (None, 4)."""
    if _unanswered(answer):
        return False
    layer = keras.layers.BatchNormalization()
    layer.build((None, 4))
    layer.trainable = False
    truth = (len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights))
    return _verdict(
        tuple(answer) == truth,
        f"a frozen BatchNormalization has {truth[0]} weights, all of them non-trainable.",
        "freezing moves every weight, gamma and beta included, to the non-trainable list.",
    )


def check_freeze_all_but_last(freeze_all_but_last):
    """Exercise: a function that freezes every layer of a model except the last one."""
    if _unanswered(freeze_all_but_last):
        return False
    model = keras.Sequential([keras.Input((3,)), *(keras.layers.Dense(3) for _ in range(3))])
    freeze_all_but_last(model)
    flags = [layer.trainable for layer in model.layers]
    if flags != [False, False, True]:
        return _verdict(False, "", f"trainable flags are {flags}; expected [False, False, True].")
    before = weight_values(model)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 3)), verbose=0)
    moved = changed(before, weight_values(model))
    last = {w.path for w in model.layers[-1].weights}
    return _verdict(
        set(moved) == last,
        "only the last layer's kernel and bias changed in training.",
        f"these weights changed: {moved}; only the last layer's should.",
    )


# ---------------------------------------------------------------- notebook 02


def check_unfreeze_last(unfreeze_last):
    """Exercise: `unfreeze_last(model, n)` leaves only the last n layers of `model` trainable."""
    if _unanswered(unfreeze_last):
        return False
    for n in (0, 2, 5):
        model = keras.Sequential([keras.Input((2,)), *(keras.layers.Dense(2) for _ in range(5))])
        unfreeze_last(model, n)
        flags = [layer.trainable for layer in model.layers]
        expected = [i >= 5 - n for i in range(5)]
        if flags != expected:
            return _verdict(False, "", f"with n={n} the flags are {flags}; expected {expected}.")
    if not model.trainable:
        return _verdict(False, "", "the model itself must stay trainable, or nothing inside it trains.")
    return _verdict(True, "only the last n layers train, for n = 0, 2 and 5.", "")


def check_fine_tune(fine_tune, hint=True):
    """Exercise: `fine_tune(model, base, x, y)` trains the head on a frozen base, then fine-tunes the base too.

    The check runs it on a small model and records, for each `fit()`, whether the base's weights changed:
    they must not in the first and must in the last (the bug of fchollet/deep-learning-with-python-notebooks#257
    is a second phase in which the base never trains). With `hint=False` it prints only that record, so that
    checking someone else's recipe does not print the fix.
    """
    if _unanswered(fine_tune):
        return False
    inputs = keras.Input((4,))
    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dense(4)], name="base")
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(base(inputs)))
    fit, base_moved = model.fit, []

    def recording_fit(*args, **kwargs):
        before = weight_values(base)
        history = fit(*args, **kwargs)
        base_moved.append(bool(changed(before, weight_values(base))))
        return history

    model.fit = recording_fit
    rng = np.random.default_rng(0)
    recompile = "changing `trainable` needs a `compile()` before the next fit(), or that fit() reuses the old step."
    try:
        fine_tune(model, base, rng.random((32, 4)), rng.random((32, 1)))
    except ValueError:  # JAX: fit() after a change of `trainable` without compile()
        if not hint:
            print("a fit() raised ValueError.")
            return False
        return _verdict(False, "", f"the second fit() raised: {recompile}")
    if not hint:
        print("did the base's weights change? " + "; ".join(f"fit {i + 1}: {m}" for i, m in enumerate(base_moved)))
        return len(base_moved) >= 2 and not base_moved[0] and base_moved[-1]
    if len(base_moved) < 2:
        return _verdict(False, "", f"call fit() twice, head first, then fine-tuning; it ran {len(base_moved)} time(s).")
    if base_moved[0]:
        return _verdict(False, "", "the base moved in the first fit(): freeze it while the new head is still random.")
    return _verdict(
        base_moved[-1],
        "the first fit() left the base alone, the last one fine-tuned it.",
        "the base never trained, so the 'fine-tuning' was feature extraction again: set `base.trainable = True` "
        f"before the second phase. Also: {recompile}",
    )


# ---------------------------------------------------------------- notebook 03


def check_stale_step_prediction(answer):
    """Exercise: after `fit`, a BatchNormalization layer is frozen and `fit` runs again without `compile`.

    `answer` predicts, for "moving_mean" and "gamma", whether the second `fit` changes it (True or False),
    or "raises" where the second `fit` raises (JAX). The check measures it on a fresh model.
    """
    if _unanswered(answer):
        return False
    inputs = keras.Input((4,))
    batchnorm = keras.layers.BatchNormalization()
    model = keras.Model(inputs, keras.layers.Dense(1)(batchnorm(keras.layers.Dense(4)(inputs))))
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).random((32, 4)) + 3, np.ones((32, 1))
    model.fit(x, y, verbose=0)
    batchnorm.trainable = False
    before = {"moving_mean": batchnorm.moving_mean.numpy(), "gamma": batchnorm.gamma.numpy()}
    try:
        model.fit(x, y, verbose=0)
        truth = {name: not np.allclose(value, getattr(batchnorm, name).numpy()) for name, value in before.items()}
    except ValueError:  # JAX: the optimizer no longer matches the list of trainable weights
        truth = dict.fromkeys(before, "raises")
    wrong = [name for name in truth if answer.get(name) != truth[name]]
    return _verdict(
        not wrong,
        f"measured {truth} on the {keras.backend.backend()} backend. On TensorFlow the step built by the first "
        "fit() still treats the layer as trainable, in its gradients and its BatchNormalization mode; "
        "compile again after every change of `trainable`.",
        f"your prediction for {wrong} differs from the measurement: what decides is the training step "
        "the first fit() built, not the flag you set afterwards.",
    )


def check_unfreeze_last_keep_batchnorm_frozen(unfreeze):
    """Exercise: `unfreeze(model, n)` makes the last n layers trainable but keeps BatchNormalization frozen."""
    if _unanswered(unfreeze):
        return False
    for n in (0, 2, 4):
        model = keras.Sequential(
            [keras.Input((4,))]
            + [keras.layers.BatchNormalization() if i % 2 else keras.layers.Dense(4) for i in range(6)]
            + [keras.layers.Dense(1)]
        )
        model.trainable = False
        unfreeze(model, n)
        expected = [
            i >= len(model.layers) - n and not isinstance(layer, keras.layers.BatchNormalization)
            for i, layer in enumerate(model.layers)
        ]
        flags = [layer.trainable for layer in model.layers]
        if flags != expected:
            return _verdict(False, "", f"with n={n} the flags are {flags}; expected {expected}.")
    if not model.trainable:
        return _verdict(False, "", "the model itself must stay trainable, or nothing inside it trains.")
    stats = moving_statistics(model)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(16, 4), np.random.rand(16, 1), verbose=0)
    return _verdict(
        not changed(stats, moving_statistics(model)),
        "the last n layers train, BatchNormalization stays frozen, its statistics did not move.",
        "after fit the moving statistics moved: a BatchNormalization layer is still trainable.",
    )


# ---------------------------------------------------------------- notebook 06


def check_dog_probabilities(dog_probabilities):
    """Exercise (spot the bug, tensorflow/docs#2314): P(dog) from a model that already ends in a sigmoid."""
    if _unanswered(dog_probabilities):
        return False
    inputs = keras.Input((1,))
    probability_model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    probability_model.set_weights([np.ones((1, 1)), np.zeros(1)])  # logits -6..6, probabilities 0.0025..0.9975
    images = np.linspace(-6, 6, 9, dtype="float32")[:, None]
    truth = probability_model.predict(images, verbose=0)[:, 0]
    answer = np.asarray(keras.ops.convert_to_numpy(dog_probabilities(probability_model, images)), "float32")
    answer = answer.reshape(-1)
    if answer.shape == truth.shape and np.all((answer >= 0.5) & (answer <= 0.7311)):
        return _verdict(
            False,
            "",
            f"every probability is between 0.50 and 0.73 ({answer.min():.2f}..{answer.max():.2f}), so every "
            "image is a dog: what does a sigmoid do to a number that is already between 0 and 1?",
        )
    return _verdict(
        answer.shape == truth.shape and np.allclose(answer, truth, atol=1e-5),
        "the model's own sigmoid is the only one: its outputs are the probabilities.",
        f"for outputs {', '.join(f'{v:.3f}' for v in truth)} the function returned "
        f"{', '.join(f'{v:.3f}' for v in answer) if answer.shape == truth.shape else answer.shape}.",
    )


def check_prepare_fine_tuning(prepare_fine_tuning):
    """Exercise (spot the bug, fchollet/deep-learning-with-python-notebooks#257): ready a model to fine-tune."""
    if _unanswered(prepare_fine_tuning):
        return False
    base_inputs = keras.Input((8, 8, 3))
    base = keras.Model(base_inputs, keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(base_inputs)))
    inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = keras.Model(inputs, keras.layers.Dense(1)(features))
    base.trainable = False  # as after training the head
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(np.random.rand(8, 8, 8, 3), np.ones((8, 1)), verbose=0)  # the head's training
    prepare_fine_tuning(model, base)
    kernels, statistics = weight_values(base.layers[1]), moving_statistics(base)
    model.fit(np.random.rand(16, 8, 8, 3) * 10, np.random.randint(0, 2, (16, 1)), batch_size=8, verbose=0)
    if not changed(kernels, weight_values(base.layers[1])):
        return _verdict(
            False,
            "",
            "the base's convolution did not move: the base was never unfrozen, so this 'fine-tuning' trains "
            "the head alone, like feature extraction.",
        )
    if changed(statistics, moving_statistics(base)):
        return _verdict(False, "", "the moving statistics moved: a BatchNormalization layer is trainable.")
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return _verdict(
        rate <= 1e-4,
        "the base's convolutions train, BatchNormalization keeps its statistics, at a small rate.",
        f"the learning rate is {rate:g}: fine-tuning uses a small one (this notebook: 1e-5).",
    )


# ---------------------------------------------------------------- notebook 05


def _split_ids(split):
    """Two epochs of `split(range(64))`: [(train ids, test ids), (train ids, test ids)], or None."""
    import tensorflow as tf

    parts = split(tf.data.Dataset.range(64))
    if not isinstance(parts, tuple) or len(parts) != 2:
        return None
    train, test = parts
    return [([int(i) for i in train], [int(i) for i in test]) for _ in range(2)]


def check_split_does_not_leak(split):
    """Exercise: `split(dataset)` gives (train, test) of 48 and 16 of 64 images, no test image ever in training."""
    if _unanswered(split):
        return False
    epochs = _split_ids(split)
    if epochs is None:
        return _verdict(False, "", "return a pair of datasets: (train, test).")
    train_seen = {i for train, _ in epochs for i in train}
    test_seen = {i for _, test in epochs for i in test}
    leaked = len(train_seen & test_seen)

    def leaky_split(dataset):
        dataset = dataset.shuffle(64, seed=0)
        return dataset.take(48), dataset.skip(48)

    leaky = _split_ids(leaky_split)
    leaky_count = len({i for train, _ in leaky for i in train} & {i for _, test in leaky for i in test})
    rules = [
        (
            all(sorted(train) == sorted(set(train)) and len(train) == 48 and len(test) == 16 for train, test in epochs),
            "train must hold 48 different images and test 16, in every epoch.",
        ),
        (
            leaked == 0,
            f"{leaked} images were in training and in test over two epochs: the shuffle draws a new order on every pass, "
            "so take and skip cut different orders. Shuffle once (reshuffle_each_iteration=False), or split first.",
        ),
    ]
    broken = [hint for ok, hint in rules if not ok]
    return _verdict(
        not broken,
        f"no image in both training and test over two epochs (the leaky split had {leaky_count}).",
        broken[0] if broken else "",
    )


def _flip_state(image, plain):
    """False where `image` is the resized image `plain`, True where it is its mirror, None where it is neither
    (a pixel value of rounding allowed)."""
    image = np.asarray(image, "float32")
    for state, candidate in ((False, plain), (True, plain[:, ::-1])):
        if image.shape == candidate.shape and np.allclose(image, candidate, atol=1.0):
            return state
    return None


def check_flip_pipeline(build):
    """Exercise: `build(dataset, seed)` resizes to 64 px, batches by 8 and mirrors each image or not at random,
    nothing else: a new order and new flips every epoch, the source read once, the same batches for the same seed.
    """
    if _unanswered(build):
        return False
    import tensorflow as tf

    from helpers.data import synthetic_images
    from helpers.pipelines import epoch_images, resize_image

    images, _ = synthetic_images(64, 48, seed=0)
    resized = [resize_image(image, 64).numpy().astype("float32") for image in images]
    reads = []

    def source():  # the 64 images labelled with their index, counting every read
        for index, image in enumerate(images):
            reads.append(index)
            yield image, index

    signature = (tf.TensorSpec((48, 48, 3), tf.uint8), tf.TensorSpec((), tf.int64))
    dataset = build(tf.data.Dataset.from_generator(source, output_signature=signature), 0)
    if dataset is None:
        return _verdict(False, "", "return the dataset from your function.")
    first, second = epoch_images(dataset), epoch_images(dataset)
    reads_in_two_epochs = len(reads)
    batch = next(iter(dataset))[0]
    if sorted(first) != list(range(64)) or sorted(second) != list(range(64)):
        return _verdict(False, "", "every one of the 64 images must come out once per epoch.")
    if tuple(batch.shape[1:]) != (64, 64, 3):
        return _verdict(False, "", f"resize to 64 x 64 pixels (the batch has shape {batch.shape}).")
    states = [
        {index: _flip_state(image, resized[index]) for index, image in epoch.items()} for epoch in (first, second)
    ]
    neither = [index for index in first if None in (states[0][index], states[1][index])]
    if neither:
        return _verdict(
            False,
            "",
            f"image {neither[0]} is neither the resized image nor its mirror: mirror only, do not rotate, and "
            "resize with resize_image.",
        )
    flipped = sum(states[0].values())
    differs = sum(states[0][index] != states[1][index] for index in first)
    identical = 64 - differs

    def same_batches(other):
        return list(other) == list(first) and all(np.array_equal(other[i], first[i]) for i in first)

    rules = [
        (batch.shape[0] == 8, f"batch by 8 (the first batch holds {batch.shape[0]})."),
        (8 <= flipped <= 56, f"{flipped} of 64 images were mirrored in epoch 1: mirror each one with probability 1/2."),
        (differs >= 8, f"{identical} of 64 images came back as in epoch 1: draw the flips after the cache."),
        (list(first) != list(second), "epoch 2 has the order of epoch 1: shuffle after the cache."),
        (
            reads_in_two_epochs == 64,
            f"your pipeline read the source {reads_in_two_epochs} times in two epochs: cache the resized images, "
            "so that epoch 2 reads none.",
        ),
        (
            b"ParallelMapDataset" in dataset._as_serialized_graph().numpy(),  # a map with num_parallel_calls
            "run the flips in parallel: map(..., num_parallel_calls=tf.data.AUTOTUNE).",
        ),
    ]
    broken = [hint for ok, hint in rules if not ok]
    if broken:
        return _verdict(False, "", broken[0])
    again = epoch_images(build(tf.data.Dataset.from_generator(source, output_signature=signature), 0))
    if list(again) != list(first):
        return _verdict(
            False, "", "built again with the same seed, your pipeline gave another order: seed the shuffle."
        )
    if not same_batches(again):
        return _verdict(
            False,
            "",
            "built again with the same seed, your pipeline gave other flips: draw them from the seed with "
            "stateless ops (tf.random.stateless_uniform), one seed per batch, as augment_batch does.",
        )
    other_seed = epoch_images(build(tf.data.Dataset.from_generator(source, output_signature=signature), 1))
    return _verdict(
        not same_batches(other_seed),
        f"{identical} of 64 images came back identical in epoch 2 (a coin toss each: about half), in a new order; "
        "each image was read once, and the same seed gave the same batches.",
        "seed 1 gave the batches of seed 0: your pipeline must use its seed.",
    )


# ---------------------------------------------------------------- notebook 07


def check_break_even(answer, extraction_seconds, fast_epoch_seconds, slow_epoch_seconds):
    """Exercise: the number of epochs after which extracting features first is faster overall."""
    if _unanswered(answer):
        return False
    saving = slow_epoch_seconds - fast_epoch_seconds
    truth = int(np.ceil(extraction_seconds / saving)) if saving > 0 else None
    return _verdict(
        answer == truth,
        f"{truth} epoch(s): from then on, extraction plus cheap epochs beats running the base every epoch.",
        "find the smallest n with extraction + n x (feature epoch) <= n x (epoch through the base).",
    )


# ---------------------------------------------------------------- notebook 08


def check_global_batch(answer, devices=4, per_device_batch=32, images=2000):
    """Exercise: (global batch, updates per epoch) for data-parallel training on `devices` devices."""
    if _unanswered(answer) or _unanswered(list(answer)):
        return False
    truth = (devices * per_device_batch, int(np.ceil(images / (devices * per_device_batch))))
    global_batch, updates = answer
    if global_batch != truth[0]:
        return _verdict(False, "", "the global batch is the per-device batch times the number of devices.")
    return _verdict(
        updates == truth[1],
        f"{truth[0]} images per update, {truth[1]} updates per epoch, against "
        f"{int(np.ceil(images / per_device_batch))} on one device with batch {per_device_batch}.",
        "each update consumes one global batch; count how many it takes to cover every image (round up).",
    )


# ---------------------------------------------------------------- notebook 09


def check_is_it_real(answer):
    """Exercise: is A (7 photos only it gets right) measurably better than B (4 only B gets right)?"""
    if _unanswered(answer):
        return False
    if not isinstance(answer, bool | np.bool_):
        return _verdict(False, "", "answer True or False.")
    _, _, p_value = mcnemar_exact([True] * 7 + [False] * 4, [False] * 7 + [True] * 4)
    return _verdict(
        bool(answer) == (p_value < 0.05),
        f"p = {p_value:.2f}: 3 photos in 400 is no measurable difference; the 389 photos both get right "
        "or both get wrong say nothing about which is better.",
        "only the 11 photos where the two disagree count: give them to mcnemar_exact and compare its "
        "p-value with 0.05.",
    )


def _block_of(name):
    match = re.match(r"(block_?\d+|expanded_conv)", name)
    return match.group(1) if match else None


def check_unfreeze_from(unfreeze_from):
    """Exercise: unfreeze MobileNetV2 from the block that holds layer `fine_tune_at` to the top, whole blocks,
    BatchNormalization kept frozen; tried with several values of `fine_tune_at`, a block's first layer among them."""
    if _unanswered(unfreeze_from):
        return False

    def frozen_base():
        base = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(96, 96, 3), include_top=False)
        base.trainable = False
        return base

    base = frozen_base()
    owners, current = [], "stem"
    for layer in base.layers:  # a layer whose name names no block belongs to the block before it
        current = _block_of(layer.name) or current
        owners.append(current)
    order = list(dict.fromkeys(owners))
    batchnorm = [isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers]
    for fine_tune_at in (100, 60, owners.index("block_16"), 131):
        # a new base each time: on TensorFlow, setting a model's `trainable` to the value it already has leaves
        # its layers' own flags as they are
        base = frozen_base()
        unfreeze_from(base, fine_tune_at)
        actual = [layer.trainable for layer in base.layers]
        first = order.index(owners[fine_tune_at])
        expected = [order.index(owner) >= first and not bn for owner, bn in zip(owners, batchnorm)]
        if any(flag and bn for flag, bn in zip(actual, batchnorm)):
            return _verdict(False, "", "a BatchNormalization layer is trainable: keep every one frozen (notebook 03).")
        if actual[fine_tune_at] != expected[fine_tune_at]:
            return _verdict(
                False, "", f"with fine_tune_at={fine_tune_at}, layer {base.layers[fine_tune_at].name} stays frozen."
            )
        cut = [o for o in order if len({f for own, f, bn in zip(owners, actual, batchnorm) if own == o and not bn}) > 1]
        if cut:
            return _verdict(
                False,
                "",
                f"with fine_tune_at={fine_tune_at}, block {cut[0]} is only partly unfrozen: start at the first layer "
                "of the block that holds layer fine_tune_at.",
            )
        if actual != expected:
            return _verdict(
                False,
                "",
                f"with fine_tune_at={fine_tune_at}, exactly the blocks from {owners[fine_tune_at]} up should "
                "train, BatchNormalization aside.",
            )
    return _verdict(True, "each time the block of layer fine_tune_at and every block above it train, whole.", "")


# ---------------------------------------------------------------- notebook 11


def check_class_score(class_score):
    """Exercise: the score of the predicted class, from logits of shape (n, 1): logit for dog, minus it for cat."""
    if _unanswered(class_score):
        return False
    logits = np.array([[2.0], [-3.0], [0.5]], "float32")
    try:
        scores = keras.ops.convert_to_numpy(class_score(keras.ops.convert_to_tensor(logits))).reshape(-1)
    except Exception as error:  # a learner's function can fail in any way; the hint names it
        return _verdict(False, "", f"your function raised {type(error).__name__}: {error}")
    if scores.shape == (3,) and np.allclose(scores, logits[:, 0]):
        return _verdict(
            False,
            "",
            "that is the dog score for every image: for a cat (negative logit) the map then shows what argues "
            "for dog. The cat's score is minus the logit.",
        )
    return _verdict(
        scores.shape == (3,) and np.allclose(scores, [2.0, 3.0, 0.5]),
        "the logit for a dog, minus the logit for a cat: the map shows what pushed the image to its class.",
        "return one score per image: logits[:, 0] where it is above 0, -logits[:, 0] elsewhere.",
    )


def check_target_score(target_score):
    """Exercise: Grad-CAM's score of a chosen class k, for logits of one output and of several."""
    if _unanswered(target_score):
        return False
    one = np.array([[2.0], [-3.0], [0.5]], "float32")
    three = np.array([[0.1, 2.0, -1.0], [3.0, 0.2, 0.5], [-0.4, 0.0, 1.5]], "float32")
    cases = [(one, 1, one[:, 0]), (one, 0, -one[:, 0]), (three, 2, three[:, 2]), (three, 0, three[:, 0])]
    for logits, k, truth in cases:
        try:
            scores = keras.ops.convert_to_numpy(target_score(keras.ops.convert_to_tensor(logits), k)).reshape(-1)
        except Exception as error:  # a learner's function can fail in any way; the hint names it
            return _verdict(False, "", f"your function raised {type(error).__name__}: {error}")
        if scores.shape != truth.shape or not np.allclose(scores, truth):
            if logits is one and k == 0 and np.allclose(scores, np.abs(one[:, 0])):
                return _verdict(False, "", "abs(logit) scores the class the model chose, not class k.")
            if logits is one and k == 0:
                return _verdict(False, "", "with one logit, class 0's score is minus the logit.")
            return _verdict(
                False, "", f"for {logits.shape[1]} output(s) and k={k}, return one score per image: class k's logit."
            )
    return _verdict(
        True,
        "with one logit, class 1 scores the logit and class 0 minus it; with several, class k scores its own logit.",
        "",
    )


def check_scaled_wrapper(wrapper_class):
    """Exercise: `wrapper_class(base, scale)`, a subclass of InferenceModeBase that multiplies its inputs by
    `scale` before running the base, and that a model can be saved and loaded with, its scale included."""
    import tempfile
    from pathlib import Path

    from helpers.models import InferenceModeBase

    if _unanswered(wrapper_class):
        return False
    if not (isinstance(wrapper_class, type) and issubclass(wrapper_class, InferenceModeBase)):
        return _verdict(False, "", "write a class, a subclass of InferenceModeBase.")
    base_inputs = keras.Input((8, 8, 3))
    base = keras.Model(base_inputs, keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(base_inputs)))
    try:
        wrapper = wrapper_class(base, scale=0.5)
    except (TypeError, ValueError) as error:  # Keras's Layer refuses an argument it does not know
        return _verdict(False, "", f"the class must take the scale, as in wrapper_class(base, scale=0.5): {error}")
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(wrapper(inputs))))
    probe = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(base(probe * 0.5, training=False))
    if not np.allclose(keras.ops.convert_to_numpy(wrapper(probe)), expected, atol=1e-4):
        return _verdict(False, "", "call must run the base, in inference mode, on the inputs times the scale.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wrapper.keras"
        try:
            model.save(path)
        except Exception as error:
            return _verdict(False, "", f"saving fails ({type(error).__name__}): write get_config, with the base in it.")
        try:
            reloaded = keras.models.load_model(path, custom_objects={wrapper_class.__name__: wrapper_class})
        except Exception as error:
            return _verdict(
                False,
                "",
                f"it saves but does not load ({type(error).__name__}): get_config must write every argument of "
                "__init__, the base with keras.saving.serialize_keras_object, and from_config rebuild the base "
                "with deserialize_keras_object.",
            )
    same = np.allclose(reloaded.predict_on_batch(probe), model.predict_on_batch(probe), atol=1e-5)
    return _verdict(
        same and isinstance(reloaded.layers[1], wrapper_class),
        "the model saves and loads with its scale, and computes the same outputs.",
        "the reloaded model computes other outputs: does get_config write the scale?",
    )


# ---------------------------------------------------------------- notebook 12


def check_top_k_accuracy(top_k_accuracy):
    """Exercise: top-k accuracy from logits and class labels, compared with Keras's metric."""
    if _unanswered(top_k_accuracy):
        return False
    import keras

    rng = np.random.default_rng(10)
    logits, labels = rng.normal(size=(200, 5)).astype("float32"), rng.integers(0, 5, 200)
    for k in (1, 2, 5):
        metric = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
        metric.update_state(labels, logits)
        try:
            answer = float(top_k_accuracy(logits, labels, k))
        except Exception as error:  # a learner's function can fail in any way; the hint names it
            return _verdict(False, "", f"your function raised {type(error).__name__}: {error}")
        if abs(answer - float(metric.result())) > 1e-6:
            return _verdict(
                False,
                "",
                f"for k={k} Keras gives {float(metric.result()):.3f}, yours {answer:.3f}: count the rows whose true "
                "class's logit has fewer than k logits above it.",
            )
    return _verdict(True, "at k equal to the number of classes every row counts: top-k accuracy is 1.", "")
