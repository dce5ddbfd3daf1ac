"""Self-checks for the exercises: a hint for a wrong attempt, a confirmation for a right one.

Every check returns True or False and prints one line, so a notebook can `assert` the reference
solution while a learner's unfinished attempt just prints a hint.
"""

import keras
import numpy as np

from helpers.models import batchnorm_layers, changed, moving_statistics, weight_values


def _verdict(ok, confirmation, hint):
    print(f"Correct: {confirmation}" if ok else f"Not yet: {hint}")
    return ok


def _unanswered(answer):
    if answer is None or answer is Ellipsis or (isinstance(answer, list) and Ellipsis in answer):
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


def check_nested_trainable_count(answer):
    """Exercise: trainable weights of an outer model frozen after its inner model was unfrozen."""
    if _unanswered(answer):
        return False
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3), keras.layers.Dense(3)])
    outer = keras.Sequential([keras.Input((3,)), inner, keras.layers.Dense(1)])
    inner.trainable = True
    outer.trainable = False
    truth = len(outer.trainable_weights)
    return _verdict(
        answer == truth,
        f"{truth}: freezing the outer model freezes everything inside it, whatever was set before.",
        "setting `trainable` on a model overwrites the flag of every layer inside it.",
    )


# ---------------------------------------------------------------- notebook 03


def batchnorm_moves(trainable, training):
    """Whether a BatchNormalization layer's moving mean changes when called with these flags."""
    layer = keras.layers.BatchNormalization(momentum=0.5)
    layer.build((None, 2))
    layer.trainable = trainable
    before = layer.moving_mean.numpy()
    layer(np.full((8, 2), 5.0, "float32"), training=training)
    return not np.allclose(before, layer.moving_mean.numpy())


def check_batchnorm_moves(answer):
    """Exercise: for each (trainable, training) pair, do the moving statistics move?"""
    if _unanswered(answer):
        return False
    truth = {(t, tr): batchnorm_moves(t, tr) for t in (True, False) for tr in (True, False)}
    wrong = [key for key in truth if answer.get(key) != truth[key]]
    return _verdict(
        not wrong,
        "only trainable=True with training=True updates the moving statistics.",
        f"look again at (trainable, training) = {wrong}.",
    )


def check_unfreeze_keep_bn(unfreeze):
    """Exercise: your own version of the helper that unfreezes a model but keeps BatchNorm frozen."""
    if _unanswered(unfreeze):
        return False
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4), keras.layers.BatchNormalization(), keras.layers.Dense(4)]
    )
    model = keras.Sequential([keras.Input((4,)), inner, keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    model.trainable = False
    unfreeze(model)
    bns = batchnorm_layers(model)
    others = [layer for layer in inner.layers + model.layers if layer not in bns and layer is not inner]
    if any(layer.trainable for layer in bns):
        return _verdict(False, "", "every BatchNormalization layer, nested ones too, must stay frozen.")
    if not all(layer.trainable for layer in others) or not inner.trainable:
        return _verdict(False, "", "every other layer, and the nested model itself, must become trainable.")
    stats = moving_statistics(model)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.rand(16, 4), np.random.rand(16, 1), verbose=0)
    return _verdict(
        not changed(stats, moving_statistics(model)),
        "the Dense layers train and the moving statistics did not move.",
        "after fit the moving statistics moved: a BatchNormalization layer is still trainable.",
    )


# ---------------------------------------------------------------- notebook 05


def check_head_params(answer, base_model):
    """Exercise: the trainable parameter count of the model while its base was frozen."""
    if _unanswered(answer):
        return False
    truth = base_model.output.shape[-1] + 1
    return _verdict(
        answer == truth,
        f"{truth:,}: one weight per feature the base outputs, plus the bias.",
        "with the base frozen only the Dense(1) head trains: one weight per feature channel plus a bias.",
    )


def check_accept_finetune(accept_finetune):
    """Exercise: keep the fine-tuned weights only when validation accuracy did not drop."""
    if _unanswered(accept_finetune):
        return False
    cases = {(0.9705, 0.9494): False, (0.90, 0.93): True, (0.95, 0.95): True}
    wrong = [case for case, keep in cases.items() if bool(accept_finetune(*case)) != keep]
    return _verdict(
        not wrong,
        "the guide's 0.9705 -> 0.9494 would have been rolled back.",
        f"look again at (before, after) = {wrong}.",
    )


# ---------------------------------------------------------------- notebook 04


def check_pipeline_order(order):
    """Exercise: the order of the steps of a pipeline whose augmentation is fresh every epoch."""
    if _unanswered(order):
        return False
    steps = ["decode_resize", "cache", "shuffle", "batch", "augment", "prefetch"]
    if sorted(order) != sorted(steps):
        return _verdict(False, "", f"use each of these names once: {steps}.")
    position = {step: order.index(step) for step in steps}
    rules = [
        (position["cache"] < position["augment"], "cache before augmenting, or the cache replays epoch 1."),
        (position["cache"] < position["shuffle"], "cache before shuffling, or the order is frozen too."),
        (position["decode_resize"] < position["cache"], "decode and resize before the cache: it is the slow part."),
        (position["shuffle"] < position["batch"], "shuffle single images, before batching."),
        (order[-1] == "prefetch", "prefetch comes last, so the next batch is ready while the model trains."),
    ]
    broken = [hint for ok, hint in rules if not ok]
    return _verdict(
        not broken, "fresh augmentation and order every epoch, slow work done once.", broken[0] if broken else ""
    )


def check_usable_count(answer):
    """Exercise: how many of 15 files (10 good, 3 truncated, 2 Thumbs.db) the folder source uses."""
    if _unanswered(answer):
        return False
    import tempfile
    from contextlib import redirect_stdout
    from io import StringIO
    from pathlib import Path

    from PIL import Image

    from helpers.data import load_folder

    with tempfile.TemporaryDirectory() as folder:
        for i in range(10):
            label = ("cat", "dog")[i % 2]
            (Path(folder) / label).mkdir(exist_ok=True)
            Image.new("RGB", (40, 30), (i * 20, 0, 0)).save(Path(folder) / label / f"{label}.{i}.jpg")
        good = (Path(folder) / "cat" / "cat.0.jpg").read_bytes()
        for i in range(3):
            (Path(folder) / "cat" / f"broken.{i}.jpg").write_bytes(good[: len(good) // 2])
        for label in ("cat", "dog"):
            (Path(folder) / label / "Thumbs.db").write_bytes(b"\0" * 64)
        with redirect_stdout(StringIO()):
            data = load_folder(folder, 0, 0, seed=0)
    truth = sum(data.sizes.values())
    return _verdict(
        answer == truth,
        f"{truth}: the 5 unusable files are counted, listed once, and left out.",
        "only files that decode to an RGB image are used; the rest are skipped.",
    )


# ---------------------------------------------------------------- notebook 06


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
