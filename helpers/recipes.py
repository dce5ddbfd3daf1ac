"""The guide's recipe and the course's, as the code that teaches them, and the two compared over seeds.

`course_recipe` runs notebook 06's cells tagged "recipe" (head training, unfreezing, fine-tuning) as they
are, on a model built by notebook 06's `build_model`: the bench trains with the lesson's own code, not a
copy. `guide_recipe` is the guide's end-to-end example (keras-io `guides/transfer_learning.py`): each block
of its lines that starts with a comment `# The guide:` and runs to the next blank line is copied verbatim,
in order, from the guide (which is not in this repository); tests/test_taught_code.py compares them with the
guide's copy in ../shared/reference. The lines between the blocks are glue: the guide's fixed 150 px and
epoch counts become parameters. `compare_recipes` runs both on the same splits for each seed and puts
McNemar's exact test and Wilson intervals (helpers/stats, taught in notebook 09) on the same test images.
`make bench` (commands/bench.py) calls it.
"""

import time
from typing import NamedTuple

import keras
import numpy as np

from helpers import bases, models, stats
from helpers.config import REPO_ROOT
from helpers.pipelines import guide_pipeline, pipeline

RECIPE_NOTEBOOK = "06_transfer_and_finetune"
RECIPE_TAG = "recipe"


def recipe_cells(notebook=RECIPE_NOTEBOOK, tag=RECIPE_TAG):
    """The source of the cells of `notebook` tagged `tag`, in order: notebook 06's head training, unfreezing
    and fine-tuning."""
    import jupytext

    (path,) = (REPO_ROOT / "notebooks").glob(f"{notebook}.py")
    cells = [cell.source for cell in jupytext.read(path).cells if tag in cell.metadata.get("tags", [])]
    if not cells:
        raise LookupError(f"no cell of {path.name} is tagged {tag!r}: the course's recipe cannot be run")
    return cells


def course_recipe(course_data, model, base_model, train_ds, validation_ds, test_ds, settings):
    """Notebook 06's recipe on `model`, built around the frozen `base_model`: its cells tagged "recipe", run
    as they are (their asserts included) on the arguments; returns what they measured, and the weights of
    the trained head (what helpers/arms.py fine-tunes again, other ways).

    Train the head (Adam 1e-3, logit loss); unfreeze the base with every BatchNormalization layer kept
    frozen; recompile at 1e-5; fine-tune for `settings.epochs_finetune` epochs, restore the best
    validation epoch, and roll back to the trained head when fine-tuning lowered validation accuracy.
    What the cells show (tables, plots) is not shown here.
    """
    from helpers.tables import Table

    def show_nothing(*args, **kwargs):
        return None

    run = dict(
        keras=keras, np=np, time=time, models=models, Table=Table, settings=settings, course_data=course_data,
        model=model, base_model=base_model, train_ds=train_ds, validation_ds=validation_ds, test_ds=test_ds,
        initial_weights=model.get_weights(), loss_and_metric=models.loss_and_metric,
        class_count=max(2, model.output.shape[-1]),  # one logit: two classes
        display=show_nothing, layer_table=show_nothing, plot_phases=show_nothing,
    )  # fmt: skip
    for source in recipe_cells():
        exec(compile(source, f"notebook {RECIPE_NOTEBOOK}, a cell tagged {RECIPE_TAG}", "exec"), run)
    return dict(
        head_validation_curve=run["head_history"].history["val_accuracy"],
        validation_before_finetune=run["validation_before"],
        finetune_validation_curve=run["curve"]["val_accuracy"],
        rolled_back=bool(run["rolled_back"]),
        validation_after_finetune=run["validation_after"],
        test_before_finetune=run["test_before"],
        test_accuracy=run["test_after"],
        training_seconds=run["head_seconds"] + run["finetune_seconds"],
    ), run["head_trained_weights"]


# fmt: off
# The copied blocks keep the guide's layout, so ruff format must leave them alone.


def guide_recipe(base_model, image_size, train_ds, validation_ds, head_epochs, finetune_epochs):
    """The guide's end-to-end example around `base_model` (the guide's: Xception at 150 px).

    Returns the model and its validation accuracy per epoch ({"head": [...], "finetune": [...]}).

    Its faults kept: the whole base unfrozen, so BatchNormalization statistics move in fine-tuning
    (`training=False` no longer prevents it in Keras 3, notebook 03), no roll-back, `BinaryAccuracy()` at
    0.5 on logits (which only changes what it reports: nothing in training reads it). The guide builds its
    base with `keras.applications.Xception(weights="imagenet", ...)`; here the caller builds it.
    """
    # The guide:
    base_model.trainable = False

    inputs = keras.Input(shape=(image_size, image_size, 3))  # the guide's (150, 150, 3)

    # The guide:
    scale_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)
    x = scale_layer(inputs)

    # The guide:
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)  # Regularize with dropout
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    # The guide:
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy()],
    )

    epochs = head_epochs  # the guide's 2

    # The guide:
    model.fit(train_ds, epochs=epochs, validation_data=validation_ds)

    head_curve = model.history.history["val_binary_accuracy"]

    # The guide:
    base_model.trainable = True

    # The guide:
    model.compile(
        optimizer=keras.optimizers.Adam(1e-5),  # Low learning rate
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy()],
    )

    epochs = finetune_epochs  # the guide's 1

    # The guide:
    model.fit(train_ds, epochs=epochs, validation_data=validation_ds)

    return model, dict(head=head_curve, finetune=model.history.history["val_binary_accuracy"])


# fmt: on


def right_and_labels(model, dataset):
    """Whether `model`'s predicted class (models.predicted_classes) is right on each image of an unshuffled
    split, and the labels."""
    right, labels = [], []
    for images, batch_labels in dataset:
        logits = keras.ops.convert_to_numpy(model.predict_on_batch(images.numpy()))
        labels.append(batch_labels.numpy())
        right.append(models.predicted_classes(logits) == labels[-1])
    return np.concatenate(right), np.concatenate(labels)


def run_guide(course_data, settings, seed, weights):
    """The guide's recipe, with its pipeline, from `seed`: (per-image test right, test labels, figures, model)."""
    keras.utils.set_random_seed(seed)
    size, batch = settings.image_size, settings.batch_size
    train, validation, test = (
        guide_pipeline(getattr(course_data, split), size, batch, training=split == "train")
        for split in ("train", "validation", "test")
    )
    base = models.build_base(settings.base_model, size, weights)
    statistics = models.moving_statistics(base)
    started = time.perf_counter()
    model, curves = guide_recipe(base, size, train, validation, settings.epochs_head, settings.epochs_finetune)
    seconds = time.perf_counter() - started
    right, labels = right_and_labels(model, test)
    figures = dict(
        head_validation_curve=curves["head"],
        finetune_validation_curve=curves["finetune"],
        training_seconds=seconds,
        batchnorm_arrays_moved=len(models.changed(statistics, models.moving_statistics(base))),
        batchnorm_arrays=len(statistics),
    )
    return right, labels, figures, model


class CourseRun(NamedTuple):
    """One run of the course's recipe: per-image test right, labels, figures, and what it trained."""

    right: np.ndarray
    labels: np.ndarray
    figures: dict
    model: keras.Model
    base: keras.Model
    head_weights: list
    train: object
    validation: object
    test: object


def course_run(course_data, settings, seed, weights, replay=False):
    """Notebook 06's recipe, with notebook 05's pipeline, from `seed`.

    `replay`: cache the training batches after augmenting them, as the guide's pipeline does, so every
    epoch after the first replays the first epoch's images in its order.
    """
    keras.utils.set_random_seed(seed)
    size, batch = settings.image_size, settings.batch_size
    train = pipeline(course_data.train, size, batch, training=True, seed=seed)
    if replay:
        train = train.cache()
    validation = pipeline(course_data.validation, size, batch, training=False)
    test = pipeline(course_data.test, size, batch, training=False)
    base = models.build_base(settings.base_model, size, weights)
    model = models.build_model(base, size, len(course_data.class_names), bases.BASES[settings.base_model].scales_inputs)
    figures, head_weights = course_recipe(course_data, model, base, train, validation, test, settings)
    right, labels = right_and_labels(model, test)
    if abs(float(right.mean()) - figures["test_accuracy"]) > 1e-6:
        raise AssertionError("the per-image scores disagree with notebook 06's evaluate()")
    return CourseRun(right, labels, figures, model, base, head_weights, train, validation, test)


def run_course(course_data, settings, seed, weights):
    """Notebook 06's recipe, with notebook 05's pipeline, from `seed`: (per-image right, labels, figures)."""
    run = course_run(course_data, settings, seed, weights)
    return run.right, run.labels, run.figures


def compare_recipes(course_data, settings, seeds, weights):
    """Both recipes on the same splits for each seed, the paired test on the same test images.

    `settings` gives the base, image size, batch size and epochs (both recipes get the same), `weights`
    None or a weights file. Returns {"seeds": [one dict per seed], "summary": ...}, JSON-ready.
    """
    runs = []
    for seed in seeds:
        guide_right, guide_labels, guide, _ = run_guide(course_data, settings, seed, weights)
        course_right, course_labels, course = run_course(course_data, settings, seed, weights)
        if not np.array_equal(guide_labels, course_labels):
            raise AssertionError("the two pipelines do not give the test images in the same order")
        runs.append(seed_result(seed, guide_right, course_right, guide, course))
    return dict(seeds=runs, summary=summarise(runs))


def seed_result(seed, guide_right, course_right, guide, course):
    """One seed's figures: each recipe's test accuracy and Wilson interval, McNemar's exact test between them."""
    only_guide, only_course, p_value = stats.mcnemar_exact(guide_right, course_right)
    result = dict(
        seed=seed,
        test_images=len(guide_right),
        only_guide_right=only_guide,
        only_course_right=only_course,
        p_value=p_value,
    )
    for name, right, figures in (("guide", guide_right, guide), ("course", course_right, course)):
        correct = int(np.sum(right))
        result[name] = dict(
            _rounded(figures),
            test_accuracy=correct / len(right),
            correct=correct,
            wilson_95=list(stats.wilson_interval(correct, len(right))),
            right=np.asarray(right, dtype=int).tolist(),
        )
    return result


def _rounded(figures):
    """Figures with floats (and lists of them) rounded to 4 places, booleans and others as they are."""

    def plain(value):
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, (float, np.floating)):
            return round(float(value), 4)
        return value

    return {name: plain(value) for name, value in figures.items()}


def summarise(runs, alpha=0.05):
    """Mean and spread over seeds of each recipe's test accuracy, and what the paired tests say."""
    summary = {}
    for name in ("guide", "course"):
        mean, spread, count = stats.seed_spread([run[name]["test_accuracy"] for run in runs])
        summary[name] = dict(mean=mean, sd=spread, seeds=count)
    differences = [run["course"]["test_accuracy"] - run["guide"]["test_accuracy"] for run in runs]
    summary["course_minus_guide"] = differences
    summary["difference_mean"], summary["difference_sd"], _ = stats.seed_spread(differences)
    summary["verdict"] = verdict(runs, alpha)
    return summary


def verdict(runs, alpha=0.05):
    """One sentence from the seeds' paired tests: "no measurable difference" unless some p is below `alpha`."""
    measurable = [run for run in runs if run["p_value"] < alpha]
    if not measurable:
        largest = max(run["p_value"] for run in runs)
        smallest = min(run["p_value"] for run in runs)
        return (
            f"no measurable difference on this data: no seed's paired test reaches p < {alpha} "
            f"(p from {smallest:.3f} to {largest:.3f} over {len(runs)} seeds)"
        )
    winners = {"course" if run["only_course_right"] > run["only_guide_right"] else "guide" for run in measurable}
    sides = " and ".join(sorted(winners))
    return (
        f"a measurable difference in {len(measurable)} of {len(runs)} seeds (p < {alpha}), "
        f"in favour of the {sides} recipe" + ("" if len(winners) == 1 else ": the seeds disagree on the direction")
    )


def shared_photo_settings(build_dir, image_size, train_images, head_epochs, finetune_epochs, batch_size=32):
    """Settings for the comparison on ../shared's photos with the MobileNetV2 0.35 ImageNet file.

    Read from an environment of its own (not the process's): nothing global changes.
    """
    from helpers.config import SHARED_PHOTOS, SHARED_WEIGHTS, load_settings

    env = dict(
        COURSE_PROFILE="quick",
        COURSE_DATA_DIR=str(SHARED_PHOTOS),
        COURSE_BASE_MODEL="mobilenet_v2_0.35",
        COURSE_WEIGHTS=str(SHARED_WEIGHTS),
        COURSE_BUILD_DIR=str(build_dir),
        COURSE_IMAGE_SIZE=str(image_size),
        COURSE_TRAIN_IMAGES=str(train_images),
        COURSE_EVAL_IMAGES="0",  # every validation and test photo of the split
        COURSE_EPOCHS_HEAD=str(head_epochs),
        COURSE_EPOCHS_FINETUNE=str(finetune_epochs),
        COURSE_BATCH_SIZE=str(batch_size),
    )
    return load_settings(env)


def compare_on_folder(settings, seeds):
    """`compare_recipes` on `settings.data_dir`, split once with `settings.seed`; the settings recorded too."""
    from helpers import data, pretrained

    course_data = data.load_folder(settings.data_dir, settings.train_images, settings.eval_images, settings.seed)
    started = time.perf_counter()
    results = compare_recipes(course_data, settings, seeds, pretrained.resolve_weights(settings))
    results["config"] = dict(
        data=course_data.description,
        sizes=course_data.sizes,
        split_seed=settings.seed,
        seeds=list(seeds),
        base_model=settings.base_model,
        weights=settings.weights,
        image_size=settings.image_size,
        batch_size=settings.batch_size,
        epochs_head=settings.epochs_head,
        epochs_finetune=settings.epochs_finetune,
        seconds=round(time.perf_counter() - started),
    )
    return results


def recipe_rows(results):
    """One row per seed: each recipe's test accuracy with its Wilson interval, the disagreements, McNemar's p."""

    def accuracy(figures):
        low, high = figures["wilson_95"]
        return f"{figures['test_accuracy']:.4f} ({low:.3f}-{high:.3f})"

    rows = [
        [run["seed"], accuracy(run["guide"]), accuracy(run["course"]), run["only_guide_right"],
         run["only_course_right"], f"{run['p_value']:.3f}"]
        for run in results["seeds"]
    ]  # fmt: skip
    summary = results["summary"]
    rows.append(
        ["mean (sd)"]
        + [f"{summary[name]['mean']:.4f} ({summary[name]['sd']:.4f})" for name in ("guide", "course")]
        + ["", "", ""]
    )
    return rows


RECIPE_HEADER = [
    "seed",
    "guide: test accuracy (95% Wilson)",
    "course: test accuracy (95% Wilson)",
    "only the guide right",
    "only the course right",
    "McNemar exact p",
]
