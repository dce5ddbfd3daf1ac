"""`make bench`: where the time goes, and whether the guide's faults cost accuracy.

Eight parts, printed as tables and written to build/bench.json (`python -m commands.bench PART ...` runs some):
- pipelines: the guide's input pipeline and ours, on real JPEGs with no model attached;
- models: notebooks 07 and 06 themselves, in the quick profile on ../shared's photos with the MobileNetV2
  file, each in a process of its own; the figures are read from the results files they write;
- recipes: the guide's recipe against the course's (helpers/recipes.py: the guide's code and notebook 06's
  cells), same base, photos, split and epochs, over seeds, with McNemar's exact test and Wilson intervals
  on the same test images;
- arms: the course's recipe with one thing changed toward the guide's, arm by arm (helpers/arms.py), over
  five seeds at 150 and 224 px, each arm against the course's on the same test photos, with Holm's
  correction for the number of arms (the longest part: about an hour on 2 cores);
- finetune: notebook 06's recipe in the quick profile on ../shared's photos over the same five seeds: how
  often fine-tuning raises validation accuracy and is kept, with BatchNormalization frozen (the course's)
  and moving;
- backends: one convolution layer's forward pass on TensorFlow and on JAX (on a CPU, JAX's depthwise
  convolution, MobileNetV2's building block, is far slower: why JAX runs notebook 06 slowly here);
- choices: notebooks 09 and 10 themselves, in the quick profile on the same photos, their figures from their results files;
- flowers: notebook 06 in the quick profile on ../shared's five classes of flowers: test accuracy with its
  Wilson interval, recall per class, and the time it took.
The parts on ../shared need its photos and weights; without them they are skipped with a sentence.
Nothing here changes this process's environment: a notebook gets its settings in its own process's.
TensorFlow, Keras and JAX are imported by the parts that need them, when they run. Run it on an otherwise
idle machine.
"""

import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from commands import argument_parser
from helpers.config import REPO_ROOT, SHARED_FLOWERS, SHARED_PHOTOS, SHARED_WEIGHTS, load_settings
from helpers.tables import Table

PARTS = ("pipelines", "models", "recipes", "arms", "finetune", "backends", "choices", "flowers")

# The recipe comparison's size: three seeds of both recipes fit in about 15-20 minutes on a loaded 2-core CPU.
RECIPE_SEEDS = (1337, 1338, 1339)
RECIPE_SIZE = dict(image_size=150, train_images=512, head_epochs=3, finetune_epochs=3)
# The arms (helpers/arms.py): five seeds, at the guide's 150 px and at the quick profile's 224 px.
ARM_SEEDS = (1337, 1338, 1339, 1340, 1341)
ARM_SIZES = (150, 224)

# What the bench reads from each notebook's results file (notebook.save_results). tests/test_bench.py
# checks that each notebook writes every one of these names.
# What notebooks 09 and 10 each save of their comparisons (10 adds its LoRA figures).
COMPARISON_FIGURES = (
    "seeds",
    "train_images",
    "validation_images",
    "test_images",
    "image_size",
    "head_epochs",
    "finetune_epochs",
    "recipes",
    "paired",
)
NOTEBOOK_FIGURES = {
    "07_feature_extraction": (
        "extraction_seconds",
        "end_to_end_seconds_per_epoch",
        "feature_seconds_per_epoch",
        "end_to_end_val_accuracy",
        "feature_val_accuracy",
        "random_features_val_accuracy",
    ),
    "06_transfer_and_finetune": (
        "sizes",
        "finetune_seconds_per_step",
        "training_seconds",
        "test_before_finetune",
        "test_accuracy",
        "finetune_rolled_back",
        "class_names",
        "confusion",
    ),
    "09_finetuning_choices": COMPARISON_FIGURES,
    "10_batchnorm_and_lora": (*COMPARISON_FIGURES, "lora"),
}
CHOICE_NOTEBOOKS = ("09_finetuning_choices", "10_batchnorm_and_lora")  # the `choices` part


def shared_material():
    """Whether ../shared's photos and MobileNetV2 file are there."""
    return SHARED_PHOTOS.is_dir() and SHARED_WEIGHTS.is_file()


def quick_real_photo_env(build_dir):
    """The COURSE_* settings of the quick profile on ../shared's photos with the MobileNetV2 ImageNet file."""
    return dict(
        COURSE_PROFILE="quick",
        COURSE_DATA_DIR=str(SHARED_PHOTOS),
        COURSE_BASE_MODEL="mobilenet_v2_0.35",
        COURSE_WEIGHTS=str(SHARED_WEIGHTS),
        COURSE_BUILD_DIR=str(build_dir),
    )


# ---------------------------------------------------------------- pipelines


def bench_folder(build_dir):
    """The folder to measure: ../shared's real photos when present, else a generated folder of JPEGs."""
    if SHARED_PHOTOS.is_dir():
        return SHARED_PHOTOS
    from PIL import Image

    from helpers import data

    folder = Path(build_dir) / "bench_images"
    for label in ("cat", "dog"):
        (folder / label).mkdir(parents=True, exist_ok=True)
    images, labels = data.synthetic_images(600, 400, seed=0)
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(folder / ("cat", "dog")[label] / f"{i}.jpg", quality=90)
    return folder


def bench_pipelines(folder, image_size=150, batch_size=64, images=1200, rounds=2):
    """Throughput and freshness of both pipelines on the training split of `folder`.

    The files are read once first, so neither pipeline pays for a cold disk cache, and the two
    pipelines take turns for `rounds` rounds; each keeps its best round.
    """
    from helpers import data, pipelines

    for path in Path(folder).rglob("*"):
        if path.is_file():
            path.read_bytes()
    source = data.load_folder(folder, images, 0, seed=0).train
    builders = {
        "guide": lambda ds: pipelines.guide_pipeline(ds, image_size, batch_size, training=True),
        "ours": lambda ds: pipelines.pipeline(ds, image_size, batch_size, training=True, seed=0),
    }
    measured = [
        {name: pipelines.pipeline_throughput(build(source)) for name, build in builders.items()} for _ in range(rounds)
    ]
    results = {}
    for name, build in builders.items():
        epoch_1, later = max(r[name][0] for r in measured), max(r[name][1] for r in measured)
        results[name] = dict(
            epoch_1=epoch_1, epochs_2_3=later, repeated_in_epoch_2=pipelines.repeated_share(build, source)
        )
    results["ratios"] = dict(
        ours_over_guide_epoch_1=round(results["ours"]["epoch_1"] / results["guide"]["epoch_1"], 2),
        ours_later_over_ours_epoch_1=round(results["ours"]["epochs_2_3"] / results["ours"]["epoch_1"], 2),
    )
    return results


def print_pipelines(report, folder):
    rows = [
        [name, r["epoch_1"], r["epochs_2_3"], f"{r['repeated_in_epoch_2']:.0%}"]
        for name, r in report.items()
        if name not in ("ratios", "folder")
    ]
    title = f"Input pipelines on {folder} (150 px, batch 64, training split), no model attached"
    print(Table(["pipeline", "epoch 1 images/s", "epochs 2-3 images/s", "epoch 2 repeats epoch 1"], rows, title=title))
    ratios = report["ratios"]
    print(
        f"ours / guide, epoch 1: {ratios['ours_over_guide_epoch_1']}x (target >= 1.5); "
        f"ours, later epochs / epoch 1: {ratios['ours_later_over_ours_epoch_1']}x (target >= 2)",
        flush=True,
    )


# ---------------------------------------------------------------- notebooks, each in a kernel of its own


def run_notebook(name, env, build_dir, folder=REPO_ROOT / "notebooks"):
    """Execute notebook `name` with `env`'s settings, as `make run` does; return its results file's figures.

    The settings go to the notebook's kernel only (execute_notebook's `env`): this process's environment
    stays as it was. Raises RuntimeError with the notebook's error when it fails.
    """
    from commands.run_course import execute_notebook  # here: the process that times a backend needs none of it

    source = Path(folder) / f"{name}.ipynb"
    target = Path(build_dir) / "executed" / source.name
    kernel_env = {**os.environ, **env, "COURSE_BUILD_DIR": str(build_dir)}
    ok, seconds, error = execute_notebook(source, target, env=kernel_env)
    if not ok:
        raise RuntimeError(f"{source.name} failed: {error} (executed copy: {target})")
    results = json.loads((Path(build_dir) / "results" / f"{name}.json").read_text())
    return dict(read_figures(results, name), notebook_seconds=round(seconds, 1))


def read_figures(results, name):
    """The figures the bench reads from notebook `name`'s results, by the names in NOTEBOOK_FIGURES (all if none)."""
    wanted = NOTEBOOK_FIGURES.get(name, ())
    missing = [key for key in wanted if key not in results]
    if missing:
        raise KeyError(f"{name}'s results file has no {', '.join(missing)}: has the notebook changed what it saves?")
    return {key: results[key] for key in wanted} if wanted else results


def bench_models(build_dir):
    """Notebooks 07 and 06 on the real photos with the ImageNet MobileNetV2; the figures they measured."""
    env = quick_real_photo_env(build_dir)
    extraction = run_notebook("07_feature_extraction", env, build_dir)
    finetune = run_notebook("06_transfer_and_finetune", env, build_dir)
    return model_figures(extraction, finetune)


def model_figures(extraction, finetune):
    """The models table's rows from notebook 07's and 06's figures."""
    return dict(
        config="quick profile, folder ../shared/data/cats_vs_dogs_sample, mobilenet_v2_0.35, ImageNet weights file",
        sizes=finetune["sizes"],
        extraction_seconds=round(extraction["extraction_seconds"], 1),
        head_epoch_seconds_through_base=round(extraction["end_to_end_seconds_per_epoch"], 2),
        head_epoch_seconds_on_features=round(extraction["feature_seconds_per_epoch"], 3),
        feature_extraction_speedup=round(
            extraction["end_to_end_seconds_per_epoch"] / extraction["feature_seconds_per_epoch"], 1
        ),
        val_accuracy_through_base=round(extraction["end_to_end_val_accuracy"], 4),
        val_accuracy_on_features=round(extraction["feature_val_accuracy"], 4),
        val_accuracy_random_features=round(extraction["random_features_val_accuracy"], 4),
        finetune_seconds_per_step=round(finetune["finetune_seconds_per_step"], 3),
        notebook_06_training_seconds=round(finetune["training_seconds"], 1),
        notebook_06_test_before_finetune=round(finetune["test_before_finetune"], 4),
        notebook_06_test_accuracy=round(finetune["test_accuracy"], 4),
        notebook_06_finetune_rolled_back=finetune["finetune_rolled_back"],
    )


def bench_flowers(build_dir):
    """Notebook 06 in the quick profile on ../shared's five flower classes: test accuracy with its Wilson
    interval, recall per class with theirs, and the seconds it took."""
    from helpers.stats import wilson_interval

    env = dict(quick_real_photo_env(build_dir), COURSE_DATA_DIR=str(SHARED_FLOWERS))
    figures = run_notebook("06_transfer_and_finetune", env, build_dir)
    confusion = figures["confusion"]
    right, total = sum(confusion[k][k] for k in range(len(confusion))), sum(map(sum, confusion))
    recall = {  # class: [right, test photos, low, high]
        name: [row[k], sum(row), *(round(bound, 4) for bound in wilson_interval(row[k], sum(row)))]
        for k, (name, row) in enumerate(zip(figures["class_names"], confusion))
    }
    return dict(
        config="quick profile, folder ../shared/data/flowers_sample, mobilenet_v2_0.35, ImageNet weights file",
        sizes=figures["sizes"],
        test_accuracy=round(right / total, 4),
        test_interval=[round(bound, 4) for bound in wilson_interval(right, total)],
        chance=round(1 / len(confusion), 4),
        recall=recall,
        finetune_rolled_back=figures["finetune_rolled_back"],
        training_seconds=round(figures["training_seconds"], 1),
        notebook_seconds=figures["notebook_seconds"],
    )


def print_flowers(figures):
    """The flowers part: accuracy with its interval, then recall per class."""
    low, high = figures["test_interval"]
    finetuning = "rolled back" if figures["finetune_rolled_back"] else "kept"
    print(
        f"\nFlowers ({figures['config']}): test accuracy {figures['test_accuracy']:.4f} "
        f"(95% {low:.4f}-{high:.4f}; chance {figures['chance']:.2f}) on {figures['sizes']['test']} photos; "
        f"training {figures['training_seconds']} s, notebook {figures['notebook_seconds']} s; fine-tuning {finetuning}"
    )
    rows = [
        [name, n, f"{right / n:.3f}", f"{lo:.3f}-{hi:.3f}"] for name, (right, n, lo, hi) in figures["recall"].items()
    ]
    print(Table(["class", "test photos", "recall", "95% interval"], rows), flush=True)


def bench_choices(build_dir):
    """Notebooks 09 and 10 in the quick profile on the real photos: {notebook: the figures it saved}."""
    return {name: run_notebook(name, quick_real_photo_env(build_dir), build_dir) for name in CHOICE_NOTEBOOKS}


def print_choices(figures, name):
    """Notebook `name`'s recipes (means over seeds, the first seed's Wilson interval) and its paired tests, seed
    by seed, Holm-corrected together within the notebook, each comparison's verdict after them."""
    print(
        Table(
            ["recipe", "trainable", "s/step", "validation", "test (mean)", "test 95% (first seed)"],
            [
                [
                    name,
                    r["trainable"],
                    round(r["step_seconds"], 3),
                    round(r["validation"], 4),
                    round(r["test_mean"], 4),
                    f"{r['test_low']:.3f}-{r['test_high']:.3f}",
                ]
                for name, r in figures["recipes"].items()
            ],  # fmt: skip
            title=(
                f"\nNotebook {name[:2]} (quick profile, real photos): {figures['train_images']} training photos at "
                f"{figures['image_size']} px, {figures['head_epochs']} head + {figures['finetune_epochs']} "
                f"fine-tuning epochs, seeds {figures['seeds']}, {figures['test_images']} test photos"
            ),
        )
    )
    print(
        Table(
            ["paired test", "seed", "A minus B", "only A right", "only B right", "McNemar exact p", "p, Holm"],
            [
                [
                    name,
                    s["seed"],
                    f"{s['difference']:+.4f}",
                    s["only_a"],
                    s["only_b"],
                    f"{s['p']:.3f}",
                    f"{s['p_holm']:.3f}",
                ]
                for name, t in figures["paired"].items()
                for s in t["seeds"]
            ],
        )
    )
    for name, t in figures["paired"].items():
        print(f"{name}: {t['verdict']}")
    lora = figures.get("lora")
    if lora is None:
        return
    print(
        f"LoRA: {lora['adapter_kb']:,.0f} kB of adapters and head per task against {lora['whole_model_mb']:.2f} MB "
        f"for the whole model; merged against LoRA, largest logit difference {lora['logit_gap']:.1e}",
        flush=True,
    )


# ---------------------------------------------------------------- the recipes


def bench_recipes(build_dir, seeds=RECIPE_SEEDS, size=RECIPE_SIZE):
    """The guide's recipe against the course's on the shared photos, over `seeds` (helpers/recipes.py)."""
    from helpers import import_tensorflow_quietly

    import_tensorflow_quietly()
    from helpers import recipes

    settings = recipes.shared_photo_settings(build_dir, **size)
    return recipes.compare_on_folder(settings, seeds)


def print_recipes(results):
    from helpers import recipes

    config = results["config"]
    print(
        Table(
            recipes.RECIPE_HEADER,
            recipes.recipe_rows(results),
            title=(
                f"\nThe guide's recipe against the course's: {config['base_model']}, ImageNet weights file, "
                f"{config['image_size']} px, batch {config['batch_size']}, {config['epochs_head']} head + "
                f"{config['epochs_finetune']} fine-tuning epochs, split {config['sizes']} (seed "
                f"{config['split_seed']}), the same {config['sizes']['test']} test photos for every seed"
            ),
        )
    )
    summary = results["summary"]
    differences = ", ".join(f"{d:+.4f}" for d in summary["course_minus_guide"])
    print(
        f"course - guide, per seed: {differences} (mean {summary['difference_mean']:+.4f}, sd over seeds "
        f"{summary['difference_sd']:.4f})"
    )
    print(f"{summary['verdict']} ({config['seconds']} s)", flush=True)


# ---------------------------------------------------------------- the arms


def bench_arms(build_dir, seeds=ARM_SEEDS, sizes=ARM_SIZES, arm_names=None):
    """helpers/arms.py's arms (all, or `arm_names`) on the shared photos at each image size; saved to
    build_dir/arms.json as it goes."""
    from helpers import import_tensorflow_quietly

    import_tensorflow_quietly()
    from helpers import arms, data, pretrained, recipes

    results, path = {}, Path(build_dir) / "arms.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        settings = recipes.shared_photo_settings(build_dir, **dict(RECIPE_SIZE, image_size=size))
        course_data = data.load_folder(settings.data_dir, settings.train_images, settings.eval_images, settings.seed)
        config = dict(
            image_size=size, sizes=course_data.sizes, seeds=list(seeds), base_model=settings.base_model,
            batch_size=settings.batch_size, epochs_head=settings.epochs_head,
            epochs_finetune=settings.epochs_finetune,
        )  # fmt: skip
        started = time.perf_counter()

        def save(partial, key=str(size)):
            results[key] = dict(partial, config=dict(config, seconds=round(time.perf_counter() - started)))
            path.write_text(json.dumps(results, indent=1) + "\n")

        weights = pretrained.resolve_weights(settings)
        save(arms.run_arms(course_data, settings, seeds, weights, arm_names or tuple(arms.ARMS), after_each_seed=save))
        print_arms(results[str(size)])
    return results


def print_arms(results):
    """The arms table of one image size, and each arm's verdict."""
    from helpers import arms

    config, summary = results["config"], results["summary"]
    print(
        Table(
            arms.ARM_HEADER,
            arms.arm_rows(results),
            title=(
                f"\nThe course's recipe with one change toward the guide's: {config['base_model']}, "
                f"{config['image_size']} px, {config['epochs_head']} head + {config['epochs_finetune']} fine-tuning "
                f"epochs, split {config['sizes']}, seeds {config['seeds']}, every arm on the same "
                f"{config['sizes']['test']} test photos"
            ),
        )
    )
    for name in (name for name in arms.ARMS if name in summary):
        verdict = summary[name]["verdict"]
        print(f"- {name}: {arms.ARMS[name]}. {verdict[0].upper()}{verdict[1:]}.")
    rolled = summary["course_rolled_back"]
    print(
        f"The course's fine-tuning was rolled back in {rolled} of {len(config['seeds'])} seeds ({config['seconds']} s)"
    )


def bench_finetune(build_dir, seeds=ARM_SEEDS):
    """Notebook 06's recipe in the quick profile on the shared photos over `seeds`, and its fine-tuning run
    again with BatchNormalization moving, against the same run again the course's way (helpers/arms.py):
    is fine-tuning kept or rolled back?"""
    from helpers import import_tensorflow_quietly

    import_tensorflow_quietly()
    from helpers import arms, data, pretrained

    settings = load_settings(quick_real_photo_env(build_dir))
    course_data = data.load_folder(settings.data_dir, settings.train_images, settings.eval_images, settings.seed)
    started = time.perf_counter()
    weights = pretrained.resolve_weights(settings)
    results = arms.run_arms(course_data, settings, seeds, weights, arms=("statistics move",))
    results["config"] = dict(
        image_size=settings.image_size, sizes=course_data.sizes, seeds=list(seeds), batch_size=settings.batch_size,
        epochs_head=settings.epochs_head, epochs_finetune=settings.epochs_finetune,
        seconds=round(time.perf_counter() - started),
    )  # fmt: skip
    return results


def print_finetune(results):
    """Per seed: validation accuracy before fine-tuning and at its best epoch, kept or rolled back, for both."""
    config, rows = results["config"], []
    for run in results["seeds"]:
        row = [run["seed"]]
        for name in ("course", "statistics move"):
            arm = run["arms"][name]
            row += [
                f"{arm['validation_before_finetune']:.4f} -> {max(arm['finetune_validation_curve']):.4f}",
                "rolled back" if arm["rolled_back"] else "kept",
                f"{arm['test_accuracy']:.4f}",
            ]
        rows.append(row)
    print(
        Table(
            ["seed"]
            + [f"{name}: {what}" for name in ("frozen", "moving") for what in ("validation", "fine-tuning", "test")],
            rows,
            title=(
                f"\nNotebook 05's fine-tuning, quick profile on the shared photos ({config['image_size']} px, "
                f"{config['epochs_head']} head + {config['epochs_finetune']} fine-tuning epochs, split "
                f"{config['sizes']}): BatchNormalization frozen (the course's) and moving"
            ),
        )
    )
    kept = {
        name: sum(not run["arms"][name]["rolled_back"] for run in results["seeds"])
        for name in ("course", "statistics move")
    }
    moving = results["summary"]["statistics move"]
    low, high = moving["interval_95"]
    print(
        f"Fine-tuning kept in {kept['course']} of {len(rows)} seeds with BatchNormalization frozen, "
        f"{kept['statistics move']} with it moving; test accuracy, moving minus the course's fine-tuning run again: "
        f"{moving['mean'] * 100:+.2f} "
        f"points (95% interval {low * 100:+.1f} to {high * 100:+.1f}, p = {moving['p_value']:.3f}) "
        f"({config['seconds']} s)",
        flush=True,
    )


# ---------------------------------------------------------------- backends


def layer_milliseconds(batch_shape=(32, 112, 112, 32), repeats=5):
    """Milliseconds per forward pass of a 3x3 depthwise and a 3x3 convolution, on the backend in force."""
    import keras
    import numpy as np

    batch = np.random.default_rng(0).random(batch_shape, dtype="float32")
    layers = {
        "depthwise 3x3": keras.layers.DepthwiseConv2D(3, padding="same"),
        "convolution 3x3": keras.layers.Conv2D(batch_shape[-1], 3, padding="same"),
    }
    timings = {}
    for name, layer in layers.items():
        model = keras.Sequential([keras.Input(batch_shape[1:]), layer])
        model.predict_on_batch(batch)  # the first call compiles
        started = time.perf_counter()
        for _ in range(repeats):
            model.predict_on_batch(batch)
        timings[name] = round((time.perf_counter() - started) / repeats * 1000, 1)
    return timings


def layer_milliseconds_on(backend, batch_shape):
    """`layer_milliseconds` with Keras on `backend`, in a fresh process that has not imported Keras yet.

    What the process prints goes nowhere (TensorFlow's and JAX's start-up lines); an error still reaches
    the caller, as an exception.
    """
    os.environ["KERAS_BACKEND"] = backend  # read once, when Keras is imported
    with open(os.devnull, "w") as nowhere:
        os.dup2(nowhere.fileno(), 1)
        os.dup2(nowhere.fileno(), 2)
    return layer_milliseconds(batch_shape)


def bench_backends(backends=("tensorflow", "jax"), batch_shape=(32, 112, 112, 32)):
    """`layer_milliseconds` on each backend, each in a fresh process of its own (Keras picks its backend once)."""
    timings = {}
    for backend in backends:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as fresh:
            timings[backend] = fresh.submit(layer_milliseconds_on, backend, tuple(batch_shape)).result()
    return timings


def print_backends(timings):
    layers = list(timings["tensorflow"])
    print(
        Table(
            ["backend", *(f"{layer}, ms" for layer in layers)],
            [[backend, *(t[layer] for layer in layers)] for backend, t in timings.items()],
            title="\nOne layer's forward pass on a 32x112x112x32 batch, per backend",
        ),
        flush=True,
    )


# ---------------------------------------------------------------- main


def parse_parts(argv):
    """The parts named in `argv`, in PARTS's words; every part when none is named. Exits on an unknown one."""
    parser = argument_parser("python -m commands.bench", __doc__)
    # Checked here, not with `choices=`: Python 3.11's argparse checks an empty `nargs="*"` list against
    # `choices` and refuses it, so `make bench` with no parts named would stop at once.
    parser.add_argument("parts", nargs="*", help=f"parts to run (default: all of {', '.join(PARTS)})")
    parts = parser.parse_args(argv).parts or list(PARTS)
    unknown = [part for part in parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(map(repr, unknown))}: choose from {', '.join(PARTS)}")
    return parts


def main(argv=None):
    """Measure the parts asked for (all by default), print tables, write build/bench.json; return 0."""
    parts = parse_parts(argv)
    from helpers import quiet_expected_warnings

    quiet_expected_warnings()  # Keras's notes about tf.data inputs of unknown length, as in the notebooks
    build_dir = Path(load_settings().build_dir)
    started = time.perf_counter()
    report = {}
    if "pipelines" in parts:
        from helpers import import_tensorflow_quietly

        import_tensorflow_quietly()  # before anything imports TensorFlow: no start-up lines in the report
        folder = bench_folder(build_dir)
        report["pipelines"] = dict(folder=str(folder), **bench_pipelines(folder))
        print_pipelines(report["pipelines"], folder)
    shared_parts = [part for part in parts if part in ("models", "recipes", "arms", "finetune", "choices", "flowers")]
    if shared_parts and not shared_material():
        print(f"Skipped ({', '.join(shared_parts)}): they need ../shared's photos and MobileNetV2 file.")
        shared_parts = []
    if "models" in shared_parts:
        report["models"] = bench_models(build_dir / "bench")
        print(Table(["measure", "value"], report["models"].items(), title="\nModels (quick profile, real photos)"))
        print("target: feature extraction >= 20x faster per head epoch, validation accuracy within 1 point", flush=True)
    if "recipes" in shared_parts:
        report["recipes"] = bench_recipes(build_dir / "bench", RECIPE_SEEDS, RECIPE_SIZE)
        print_recipes(report["recipes"])
    if "arms" in shared_parts:
        report["arms"] = bench_arms(build_dir / "bench-arms")
    if "finetune" in shared_parts:
        report["finetune"] = bench_finetune(build_dir / "bench-finetune")
        print_finetune(report["finetune"])
    if "backends" in parts:
        report["backends"] = bench_backends()
        print_backends(report["backends"])
    if "choices" in shared_parts:
        report["choices"] = bench_choices(build_dir / "bench")
        for name, figures in report["choices"].items():
            print_choices(figures, name)
    if "flowers" in shared_parts and not SHARED_FLOWERS.is_dir():
        print(f"Skipped (flowers): it needs {SHARED_FLOWERS}.")
    elif "flowers" in shared_parts:
        report["flowers"] = bench_flowers(build_dir / "bench-flowers")
        print_flowers(report["flowers"])
    report["seconds"] = round(time.perf_counter() - started)
    path = build_dir / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
