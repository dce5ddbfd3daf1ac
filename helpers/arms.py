"""The course's recipe and the guide's, one difference at a time, measured on the same photos.

Each arm starts from the course's recipe (notebook 06's cells, helpers/recipes.py) and changes one thing
toward the guide's; the last arm is the guide's recipe as written. The arms that fine-tune the course's
trained head again are compared with a control that fine-tunes it again the course's way (FORKS, CONTROL).
Every arm of a seed is scored on the same test tensors (the course's test pipeline), so two arms are
compared photo by photo. `make bench` (commands/bench.py, parts arms and finetune) runs them over seeds.
"""

import time

import keras
import numpy as np

from helpers import models, recipes, stats
from helpers.pipelines import pipeline

ARMS = {
    "statistics move": "BatchNormalization left trainable in fine-tuning, so its statistics move, as in the guide",
    "last epoch kept": "the last fine-tuning epoch kept, with no best-epoch restore and no roll-back, as in the guide",
    "epoch 1 replayed": "training batches cached after augmenting, so later epochs replay epoch 1, as in the guide",
    "guide": "the guide's recipe and pipeline as written: all of the above, and its own resizing",
}


def fine_tune_again(run, settings, statistics_move, keep_best):
    """Fine-tune `run`'s model again from its trained head, with one of notebook 06's choices changed.

    `statistics_move`: leave BatchNormalization trainable (notebook 06 freezes it). `keep_best`: restore
    the best validation epoch and roll back when fine-tuning lowers validation accuracy (notebook 06
    does both). Returns the figures; the model keeps the weights the variant chose.
    """
    model, base = run.model, run.base
    model.set_weights(run.head_weights)
    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = statistics_move
    statistics = models.moving_statistics(base)
    loss, accuracy = models.loss_and_metric(max(2, model.output.shape[-1]))
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=loss, metrics=[accuracy])
    before = model.evaluate(run.validation, return_dict=True, verbose=0)["accuracy"]
    callbacks = []
    if keep_best:
        callbacks = [
            keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=2, restore_best_weights=True)
        ]
    started = time.perf_counter()
    history = model.fit(
        run.train, epochs=settings.epochs_finetune, validation_data=run.validation, callbacks=callbacks, verbose=2
    )
    seconds = time.perf_counter() - started
    moved = len(models.changed(statistics, models.moving_statistics(base)))
    curve = history.history["val_accuracy"]
    rolled_back = keep_best and max(curve) < before
    if rolled_back:
        model.set_weights(run.head_weights)
    return dict(
        validation_before_finetune=before,
        finetune_validation_curve=curve,
        rolled_back=bool(rolled_back),
        batchnorm_arrays_moved=moved,
        finetune_seconds=seconds,
    )


def arm_figures(right, figures):
    """What one arm of one seed records: test accuracy, per-image right, the figures that say how it trained."""
    kept = {name: value for name, value in figures.items() if name in KEPT_FIGURES}
    return dict(recipes._rounded(kept), test_accuracy=float(np.mean(right)), right=np.asarray(right, int).tolist())


KEPT_FIGURES = (
    "validation_before_finetune",
    "finetune_validation_curve",
    "rolled_back",
    "batchnorm_arrays_moved",
    "test_accuracy_own_pipeline",
    "own_pipeline_agreement",
)


# The arms that fine-tune the course's trained head again, and how: (statistics_move, keep_best). They are
# compared with CONTROL, the course's own fine-tuning run again the same way, not with the course's first run:
# each run again gets the same fresh training stream and seed, so the arm's change is the only difference.
FORKS = {"statistics move": (True, True), "last epoch kept": (False, False)}
CONTROL = "course again"


def baseline(name):
    """What arm `name` is compared with: the control for the arms that fine-tune again, else the course's run."""
    return CONTROL if name in FORKS else "course"


def run_seed(course_data, settings, seed, weights, arms):
    """Every arm in `arms` (names of ARMS) and the course's recipe, from `seed`: {arm: figures}."""
    course = recipes.course_run(course_data, settings, seed, weights)
    results = {"course": arm_figures(course.right, course.figures)}
    forks = [name for name in FORKS if name in arms]
    for name, (statistics_move, keep_best) in ([(CONTROL, (False, True))] if forks else []) + [
        (name, FORKS[name]) for name in forks
    ]:
        keras.utils.set_random_seed(seed)
        train = pipeline(course_data.train, settings.image_size, settings.batch_size, training=True, seed=seed)
        figures = fine_tune_again(course._replace(train=train), settings, statistics_move, keep_best)
        right, labels = recipes.right_and_labels(course.model, course.test)
        results[name] = arm_figures(right, figures)
    if "epoch 1 replayed" in arms:
        replayed = recipes.course_run(course_data, settings, seed, weights, replay=True)
        results["epoch 1 replayed"] = arm_figures(replayed.right, replayed.figures)
    if "guide" in arms:
        own_right, labels, figures, model = recipes.run_guide(course_data, settings, seed, weights)
        right, _ = recipes.right_and_labels(model, course.test)  # the same test tensors as every other arm
        figures["test_accuracy_own_pipeline"] = float(np.mean(own_right))
        figures["own_pipeline_agreement"] = float(np.mean(own_right == right))
        if not np.array_equal(labels, course.labels):
            raise AssertionError("the guide's pipeline does not give the test images in the course's order")
        results["guide"] = arm_figures(right, figures)
    return results


def run_arms(course_data, settings, seeds, weights, arms=tuple(ARMS), after_each_seed=None):
    """The arms over `seeds` on one split; `after_each_seed(results so far)` lets a caller save as it goes."""
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm {', '.join(unknown)}: choose from {', '.join(ARMS)}")
    runs = []
    for seed in seeds:
        runs.append(dict(seed=seed, arms=run_seed(course_data, settings, seed, weights, arms)))
        if after_each_seed:
            after_each_seed(dict(seeds=runs, summary=summarise(runs)))
    return dict(seeds=runs, summary=summarise(runs))


def summarise(runs, alpha=0.05):
    """Each arm against its baseline (the course's run, or for the arms that fine-tune again, the course's
    fine-tuning run again): per-seed differences, their mean with a 95% interval over seeds, a t-test over
    seeds with Holm's correction for the number of arms, and McNemar's test per seed."""
    names = [name for name in runs[0]["arms"] if name not in ("course", CONTROL)]
    summary = {}
    for name in names:
        differences, tests = [], []
        for run in runs:
            arm, course = run["arms"][name], run["arms"][baseline(name)]
            differences.append(arm["test_accuracy"] - course["test_accuracy"])
            only_course, only_arm, p_value = stats.mcnemar_exact(course["right"], arm["right"])
            tests.append(dict(only_course_right=only_course, only_arm_right=only_arm, p_value=p_value))
        mean, low, high, p_value = mean_difference(differences)
        summary[name] = dict(
            differences=differences, mean=mean, interval_95=[low, high], p_value=p_value, per_seed=tests
        )
    for name, adjusted in zip(names, stats.holm([summary[name]["p_value"] for name in names])):
        summary[name]["holm_p"] = adjusted
        summary[name]["verdict"] = arm_verdict(summary[name], alpha)
    accuracies = {name: [run["arms"][name]["test_accuracy"] for run in runs] for name in runs[0]["arms"]}
    summary["accuracy"] = {
        name: dict(zip(("mean", "sd", "seeds"), stats.seed_spread(a))) for name, a in accuracies.items()
    }
    summary["course_rolled_back"] = sum(run["arms"]["course"]["rolled_back"] for run in runs)
    return summary


def mean_difference(differences):
    """Mean of paired differences over seeds, its 95% t-interval and the two-sided t-test's p (SciPy).

    When every seed gives the same difference, the p-value is the sign test's: every seed on one side.
    """
    from scipy import stats as scipy_stats

    values = np.asarray(differences, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan"), float("nan")
    error = float(values.std(ddof=1)) / np.sqrt(len(values))
    if error == 0:  # every seed gave the same difference: no spread for a t-test; the sign test's p instead
        return mean, mean, mean, 1.0 if mean == 0 else min(1.0, 2 * 0.5 ** len(values))
    half = float(scipy_stats.t.ppf(0.975, len(values) - 1)) * error
    p_value = float(2 * scipy_stats.t.sf(abs(mean) / error, len(values) - 1))
    return mean, mean - half, mean + half, p_value


def arm_verdict(arm, alpha):
    """One sentence: is the arm measurably better or worse than its baseline, after Holm's correction?"""
    low, high = arm["interval_95"]
    if arm["holm_p"] < alpha:
        side = "better" if arm["mean"] > 0 else "worse"
        return f"measurably {side} than its baseline (Holm-adjusted p = {arm['holm_p']:.3f})"
    return (
        f"no measurable difference (Holm-adjusted p = {arm['holm_p']:.3f}); the 95% interval of the mean "
        f"difference is {low * 100:+.1f} to {high * 100:+.1f} points: a larger effect would likely have shown"
    )


ARM_HEADER = [
    "arm (one change toward the guide's)",
    "test accuracy, mean (sd)",
    "arm - baseline per seed, points",
    "mean (95% interval), points",
    "p (t over seeds)",
    "Holm p",
    "photos only the arm / only its baseline right",
]


def arm_rows(results):
    """One row per arm for `make bench`, the course's recipe first."""
    summary = results["summary"]
    accuracy = summary["accuracy"]
    course = accuracy["course"]
    rows = [["course (notebook 06)", f"{course['mean']:.4f} ({course['sd']:.4f})"] + [""] * 5]
    if CONTROL in accuracy:
        control = accuracy[CONTROL]
        rows.append(
            [f"{CONTROL} (the baseline of the next two)", f"{control['mean']:.4f} ({control['sd']:.4f})"] + [""] * 5
        )
    for name in (name for name in ARMS if name in summary):
        arm = summary[name]
        low, high = arm["interval_95"]
        per_seed = ", ".join(f"{d * 100:+.1f}" for d in arm["differences"])
        arm_only = sum(test["only_arm_right"] for test in arm["per_seed"])
        course_only = sum(test["only_course_right"] for test in arm["per_seed"])
        rows.append(
            [name, f"{accuracy[name]['mean']:.4f} ({accuracy[name]['sd']:.4f})", per_seed,
             f"{arm['mean'] * 100:+.2f} ({low * 100:+.1f} to {high * 100:+.1f})", f"{arm['p_value']:.3f}",
             f"{arm['holm_p']:.3f}", f"{arm_only} / {course_only}"]
        )  # fmt: skip
    return rows
