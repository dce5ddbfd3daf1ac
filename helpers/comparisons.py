"""Fine-tuning arms run over seeds and compared on the same test images: the harness of notebooks 09 and 10.

An arm is one recipe: a model the notebook has compiled, and a `fit` of its own. `run_arm` trains it from
each seed's start on each version of the data and keeps, per seed, what the notebook's tables show.
`paired` compares two arms seed by seed: the paired difference in test accuracy and McNemar's exact test,
on models that share the seed's head. `corrected` puts Holm's correction over every paired test of the
notebook and says, per comparison, whether it is measurable and, when it is not, the gap that would have
counted on each seed, whatever the other tests. `plan` sets how large the experiments are in each profile.

The results file (notebook.save_results) holds `recipe_figures` per recipe and `corrected`'s entries.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np

from helpers import models
from helpers.experiments import optimizer_resetter
from helpers.recipes import right_and_labels
from helpers.stats import detectable_split, holm, mcnemar_exact, seed_spread, wilson_interval

# Notebooks 09 and 10 fine-tune about a dozen recipes between them over three seeds, so each sees a capped share of the data:
# our choice, for a CPU. The test split stays whole, and every comparison is on the same images.
TRAIN_IMAGES, IMAGE_SIZE, VALIDATION_IMAGES, SEED_COUNT = 128, 96, 200, 3


@dataclass(frozen=True)
class Plan:
    """How large the experiments of notebooks 09 and 10 are.

    `eager`: each training step runs eagerly (smoke: our reading, not measured in the notebook, is that
    building a compiled step on a CPU costs more than the few eager steps smoke runs). `shifted_copy`: the
    BatchNormalization arms also train on the shifted copy. `batchnorm_arms`: the arms "statistics moving"
    and "gamma and beta only" train (not in smoke on JAX, where each operation those arms add is compiled
    on first use, eagerly: one run of arm 2 took 80 s in one of our runs).
    """

    train_images: int
    image_size: int
    validation_images: int
    seeds: list
    eager: bool
    shifted_copy: bool
    batchnorm_arms: bool


def plan(settings, sizes, min_size, backend):
    """The plan for `settings` and splits of `sizes`: the caps above, or in smoke the least that checks the
    mechanics (one batch of images at the base's smallest input `min_size`, one seed)."""
    smoke = settings.profile == "smoke"
    return Plan(
        train_images=min(sizes["train"], settings.batch_size if smoke else TRAIN_IMAGES),
        image_size=min_size if smoke else min(settings.image_size, IMAGE_SIZE),
        validation_images=min(sizes["validation"], settings.batch_size if smoke else VALIDATION_IMAGES),
        seeds=[settings.seed + k for k in range(1 if smoke else SEED_COUNT)],
        eager=smoke,
        shifted_copy=not smoke,
        batchnorm_arms=not (smoke and backend == "jax"),
    )


class _EpochClock(keras.callbacks.Callback):
    """Seconds per epoch, and validation accuracy after the last epoch (or every epoch)."""

    def __init__(self, validation, every_epoch):
        super().__init__()
        self.validation, self.every_epoch = validation, every_epoch
        self.seconds, self.curve = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        if self.every_epoch or epoch == self.params["epochs"] - 1:
            self.curve.append(float(right_and_labels(self.model, self.validation)[0].mean()))


def run_arm(model, fit, versions, seeds, every_epoch=False):
    """Train the compiled `model` from each seed's start on each version of the data: one arm.

    `versions` maps a name to (restart, splits): `restart(seed)` puts the seed's starting weights back,
    `splits` holds "train" (what `fit` gets), "validation" and "test" (unshuffled, batched). `fit(seed,
    train, callbacks)` calls `model.fit`. Returns {name: one run per seed}, a run being a dict: seed,
    trainable (parameters), steps (the optimizer's count), step_seconds (the last epoch's, per step),
    validation (accuracy after the last epoch), curve (after every epoch with `every_epoch`), right (per
    test image, in order).

    One compile serves every seed and version: before each run the optimizer's variables go back to their
    values before its first step (step 0, no momentum), as a new optimizer would start, so Keras builds the
    training step once. Validation accuracy comes from `predict_on_batch`, whose step is built once per
    compile (`validation_data` would build an evaluation step besides). With one epoch, the first seed's
    seconds include building the step.
    """
    reset_optimizer = optimizer_resetter(model)
    results = {}
    for version, (restart, splits) in versions.items():
        runs = results[version] = []
        for seed in seeds:
            restart(seed)
            reset_optimizer()
            clock = _EpochClock(splits["validation"], every_epoch)
            fit(seed, splits["train"], [clock])
            steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
            runs.append(
                dict(
                    seed=seed,
                    trainable=models.param_counts(model)[0],
                    steps=steps,
                    step_seconds=clock.seconds[-1] * len(clock.seconds) / steps,
                    validation=clock.curve[-1],
                    curve=clock.curve,
                    right=right_and_labels(model, splits["test"])[0],
                )
            )
    return results


RECIPE_HEADER = ["recipe", "trainable", "s/step (last epoch)", "validation (mean)", "test (mean)", "test 95%, 1st seed"]


def recipe_figures(runs):
    """One recipe's figures over its runs: trainable, step_seconds, validation and test_mean (means over
    seeds), test_low and test_high (the first seed's Wilson 95% interval)."""
    right = runs[0]["right"]
    low, high = wilson_interval(int(np.sum(right)), len(right))
    return dict(
        trainable=runs[0]["trainable"],
        step_seconds=float(np.mean([run["step_seconds"] for run in runs])),
        validation=float(np.mean([run["validation"] for run in runs])),
        test_mean=float(np.mean([np.mean(run["right"]) for run in runs])),
        test_low=low,
        test_high=high,
    )


def recipe_rows(runs_by_name):
    """One row per recipe under RECIPE_HEADER."""
    rows = []
    for name, runs in runs_by_name.items():
        figures = recipe_figures(runs)
        rows.append(
            [
                name,
                figures["trainable"],
                figures["step_seconds"],
                figures["validation"],
                figures["test_mean"],
                f"{figures['test_low']:.3f}-{figures['test_high']:.3f}",
            ]
        )
    return rows


def paired(name_a, runs_a, name_b, runs_b):
    """Two arms compared seed by seed on the same test images: {"A vs B": {a, b, seeds}}, each seed a dict:
    seed, images, difference (A's test accuracy minus B's), only_a and only_b (images only one gets right), p
    (McNemar's exact test)."""
    if [run["seed"] for run in runs_a] != [run["seed"] for run in runs_b]:
        raise ValueError("both arms must have run with the same seeds")
    seeds = []
    for run_a, run_b in zip(runs_a, runs_b):
        only_a, only_b, p_value = mcnemar_exact(run_a["right"], run_b["right"])
        images = len(run_a["right"])
        seeds.append(
            dict(
                seed=run_a["seed"],
                images=images,
                difference=(only_a - only_b) / images,
                only_a=only_a,
                only_b=only_b,
                p=p_value,
            )
        )
    return {f"{name_a} vs {name_b}": dict(a=name_a, b=name_b, seeds=seeds)}


PAIRED_HEADER = ["comparison", "seed", "A minus B (test)", "only A right", "only B right", "p"]


def paired_rows(comparisons):
    """Per comparison, one row per seed under PAIRED_HEADER, then the mean and spread of the differences."""
    rows = []
    for name, found in comparisons.items():
        for seed in found["seeds"]:
            rows.append(
                [name, str(seed["seed"]), f"{seed['difference']:+.4f}", seed["only_a"], seed["only_b"], seed["p"]]
            )
        mean, spread, count = seed_spread([seed["difference"] for seed in found["seeds"]])
        if count > 1:
            rows.append([name, "mean (sd)", f"{mean:+.4f} ({spread:.4f})", "", "", ""])
    return rows


def corrected(comparisons, alpha=0.05):
    """Every paired test of `comparisons` (paired's entries), Holm-corrected as one family.

    Returns {"A vs B": {a, b, seeds, difference_mean, difference_sd (None with one seed), measurable (the
    seeds whose adjusted p is below `alpha`), verdict (one sentence)}}, each seed also holding p_holm and
    detectable: the most even split of its disagreements that reaches p < `alpha` / (number of tests),
    where Holm calls a test measurable whatever the others say, as [more, fewer], or None when none does.
    """
    tests = [(name, seed) for name, found in comparisons.items() for seed in found["seeds"]]
    by_name = {name: [] for name in comparisons}
    for (name, seed), adjusted in zip(tests, holm([seed["p"] for _, seed in tests])):
        split = detectable_split(seed["only_a"] + seed["only_b"], alpha / len(tests))
        by_name[name].append(dict(seed, p_holm=adjusted, detectable=None if split is None else list(split)))
    results = {}
    for name, seeds in by_name.items():
        mean, spread, count = seed_spread([seed["difference"] for seed in seeds])
        measurable = [seed["seed"] for seed in seeds if seed["p_holm"] < alpha]
        entry = dict(
            comparisons[name],
            seeds=seeds,
            difference_mean=mean,
            difference_sd=spread if count > 1 else None,
            measurable=measurable,
        )
        results[name] = dict(entry, verdict=verdict(entry, alpha))
    return results


def verdict(found, alpha=0.05):
    """One sentence on a corrected comparison: measurable on which seeds and for whom, or not, at what scale."""
    a, b, seeds = found["a"], found["b"], found["seeds"]
    spread = "" if found["difference_sd"] is None else f" (sd {found['difference_sd']:.4f})"
    average = f"{a} minus {b} is {found['difference_mean']:+.4f} on average over {len(seeds)} seed(s){spread}"
    winners = [a if seed["only_a"] > seed["only_b"] else b for seed in seeds if seed["p_holm"] < alpha]
    if winners:
        sides = ", ".join(f"{name} on {winners.count(name)}" for name in dict.fromkeys(winners))
        return f"measurable after Holm's correction on {len(winners)} of {len(seeds)} seed(s), in favour of {sides}; {average}"
    gaps = [
        f"none with so few disagreements (seed {seed['seed']})"
        if seed["detectable"] is None
        else f"{(seed['detectable'][0] - seed['detectable'][1]) / seed['images']:.4f} (seed {seed['seed']})"
        for seed in seeds
    ]
    return (
        f"no measurable difference after Holm's correction; {average}; the gap that would have counted on each "
        f"seed, whatever the other tests: {', '.join(gaps)}"
    )


CORRECTED_HEADER = [
    "comparison",
    "seed",
    "A minus B",
    "only A right",
    "only B right",
    "p",
    "p, Holm",
    "detectable gap (images)",
]


def corrected_rows(results):
    """One row per comparison and seed under CORRECTED_HEADER (the detectable gap in images)."""
    rows = []
    for name, found in results.items():
        for seed in found["seeds"]:
            gap = "none" if seed["detectable"] is None else seed["detectable"][0] - seed["detectable"][1]
            rows.append(
                [
                    name,
                    str(seed["seed"]),
                    f"{seed['difference']:+.4f}",
                    seed["only_a"],
                    seed["only_b"],
                    seed["p"],
                    seed["p_holm"],
                    gap,
                ]
            )
    return rows
