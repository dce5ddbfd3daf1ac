"""`make bench`: where the time goes, and whether the guide's faults cost accuracy.

Four measurements, printed as tables and written to build/bench.json:
1. the input pipelines, the guide's and ours, on real JPEGs with no model attached;
2. the models: notebooks 05 and 06 in the quick profile on ../shared's photos with the MobileNetV2 file;
3. the guide's recipe against the course's, same base, photos, split and epochs, judged on the test split;
4. the backends: one convolution layer's forward pass on TensorFlow and on JAX (on a CPU, JAX's depthwise
   convolution, MobileNetV2's building block, is far slower: why JAX runs notebook 05 slowly here).
Parts 2 and 3 need ../shared (photos and weights); without it they are skipped with a sentence.
Run it on an otherwise idle machine.
"""

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from helpers import import_tensorflow_quietly

import_tensorflow_quietly()  # before anything imports TensorFlow: no start-up lines in the report

import numpy as np

from helpers import data, pipelines
from helpers.config import SHARED_PHOTOS, SHARED_WEIGHTS, load_settings
from helpers.tables import Table


def bench_folder():
    """The folder to measure: ../shared's real photos when present, else a generated folder of JPEGs."""
    if SHARED_PHOTOS.is_dir():
        return SHARED_PHOTOS
    from PIL import Image

    folder = Path(load_settings().build_dir) / "bench_images"
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


def layer_milliseconds(batch_shape=(32, 112, 112, 32), repeats=5):
    """Milliseconds per forward pass of a 3x3 depthwise and a 3x3 convolution, on the backend in force."""
    import keras

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


def bench_backends(backends=("tensorflow", "jax"), batch_shape=(32, 112, 112, 32)):
    """`layer_milliseconds` on each backend, each in its own process (Keras picks its backend once)."""
    code = (
        "import json; from commands.bench import layer_milliseconds; "
        f"print(json.dumps(layer_milliseconds({tuple(batch_shape)})))"
    )
    timings = {}
    for backend in backends:
        run = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "KERAS_BACKEND": backend},
            capture_output=True,
            text=True,
            check=True,
        )
        timings[backend] = json.loads(run.stdout.strip().splitlines()[-1])
    return timings


def quick_real_photo_settings(build_dir):
    """Environment for the quick profile on ../shared's photos with the MobileNetV2 ImageNet file."""
    return dict(
        COURSE_PROFILE="quick",
        COURSE_DATA_DIR=str(SHARED_PHOTOS),
        COURSE_BASE_MODEL="mobilenet_v2_0.35",
        COURSE_WEIGHTS=str(SHARED_WEIGHTS),
        COURSE_BUILD_DIR=str(build_dir),
    )


def bench_models(build_dir):
    """Run notebooks 06 and 05 on the real photos with the ImageNet MobileNetV2; collect their figures."""
    from commands.run_course import execute_notebook, notebook_paths

    os.environ.update(quick_real_photo_settings(build_dir))
    results = {}
    for source in notebook_paths():
        if source.stem in ("05_transfer_and_finetune", "06_feature_extraction"):
            ok, seconds, error = execute_notebook(source, build_dir / "executed" / source.name)
            if not ok:
                raise RuntimeError(f"{source.name} failed: {error}")
            results[source.stem] = json.loads((build_dir / "results" / f"{source.stem}.json").read_text())
    extraction, finetune = results["06_feature_extraction"], results["05_transfer_and_finetune"]
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
        notebook_05_training_seconds=round(finetune["training_seconds"], 1),
        notebook_05_test_accuracy=round(finetune["test_accuracy"], 4),
        notebook_05_test_before_finetune=round(finetune["test_before_finetune"], 4),
    )


def train_recipe(recipe, course_data, settings, head_epochs, finetune_epochs):
    """Train one recipe from the same start; return its test accuracy and fine-tuning validation curve.

    "guide": augment then cache, no shuffle, the whole base unfrozen (BatchNormalization statistics
    move), `BinaryAccuracy()` at 0.5. "course": cache, then shuffle and augment afresh, BatchNormalization
    frozen, threshold 0, the best fine-tuning epoch restored.
    """
    import keras

    from helpers import models

    keras.utils.set_random_seed(settings.seed)
    size, batch = settings.image_size, settings.batch_size
    if recipe == "guide":

        def build(ds, training):
            return pipelines.guide_pipeline(ds, size, batch, training)
    else:

        def build(ds, training):
            return pipelines.pipeline(ds, size, batch, training, seed=settings.seed)

    train, validation, test = (
        build(getattr(course_data, name), name == "train") for name in ("train", "validation", "test")
    )
    threshold = 0.5 if recipe == "guide" else 0.0
    base = models.build_base(settings.base_model, size, settings.weights)
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    x = base(keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs), training=False)
    model = keras.Model(
        inputs, keras.layers.Dense(1)(keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x)))
    )

    def compile_with(learning_rate):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.BinaryCrossentropy(from_logits=True),
            metrics=[keras.metrics.BinaryAccuracy(threshold=threshold)],
        )

    compile_with(1e-3)
    model.fit(train, epochs=head_epochs, validation_data=validation, verbose=0)
    if recipe == "guide":
        base.trainable = True
        callbacks = []
    else:
        models.unfreeze_keep_batchnorm_frozen(base)
        callbacks = [
            keras.callbacks.EarlyStopping(
                monitor="val_binary_accuracy", mode="max", patience=finetune_epochs, restore_best_weights=True
            )
        ]
    compile_with(1e-5)
    before = model.evaluate(validation, return_dict=True, verbose=0)["binary_accuracy"]
    history = model.fit(train, epochs=finetune_epochs, validation_data=validation, callbacks=callbacks, verbose=0)
    labels = np.concatenate([y.numpy() for _, y in test])
    logits = model.predict(test, verbose=0)[:, 0]
    return dict(
        test_accuracy=round(float(((logits > threshold) == labels).mean()), 4),
        test_images=int(len(labels)),
        validation_before_finetune=round(before, 4),
        finetune_validation_curve=[round(v, 4) for v in history.history["val_binary_accuracy"]],
    )


def compare_recipes(build_dir, head_epochs=5, finetune_epochs=4):
    """The guide's recipe and the course's on the same base, photos, split and epochs."""
    os.environ.update(quick_real_photo_settings(build_dir))
    settings = load_settings()
    course_data = data.load_folder(settings.data_dir, 0, 0, settings.seed)
    results = {
        recipe: train_recipe(recipe, course_data, settings, head_epochs, finetune_epochs)
        for recipe in ("guide", "course")
    }
    results["course_minus_guide"] = round(results["course"]["test_accuracy"] - results["guide"]["test_accuracy"], 4)
    results["config"] = (
        f"mobilenet_v2_0.35 ImageNet file, {settings.image_size} px, batch {settings.batch_size}, "
        f"{head_epochs} head + {finetune_epochs} fine-tuning epochs, split {course_data.sizes}"
    )
    return results


def main():
    """Measure, print tables, write build/bench.json."""
    # Keras's notes about tf.data inputs of unknown length: expected here, as in the notebooks.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    build_dir = Path(load_settings().build_dir)
    folder = bench_folder()
    print(f"Input pipelines on {folder} (150 px, batch 64, training split), no model attached:", flush=True)
    started = time.perf_counter()
    report = dict(folder=str(folder), pipelines=bench_pipelines(folder))
    rows = [
        [name, r["epoch_1"], r["epochs_2_3"], f"{r['repeated_in_epoch_2']:.0%}"]
        for name, r in report["pipelines"].items()
        if name != "ratios"
    ]
    print(Table(["pipeline", "epoch 1 images/s", "epochs 2-3 images/s", "epoch 2 repeats epoch 1"], rows))
    ratios = report["pipelines"]["ratios"]
    print(
        f"ours / guide, epoch 1: {ratios['ours_over_guide_epoch_1']}x (target >= 1.5); "
        f"ours, later epochs / epoch 1: {ratios['ours_later_over_ours_epoch_1']}x (target >= 2)",
        flush=True,
    )
    if not (SHARED_PHOTOS.is_dir() and SHARED_WEIGHTS.is_file()):
        print("Model figures and the recipe comparison skipped: they need ../shared's photos and MobileNetV2 file.")
    else:
        report["models"] = bench_models(build_dir / "bench")
        print(Table(["measure", "value"], report["models"].items(), title="\nModels (quick profile, real photos)"))
        print("target: feature extraction >= 20x faster per head epoch, validation accuracy within 1 point", flush=True)
        report["recipes"] = compare_recipes(build_dir / "bench")
        recipes = report["recipes"]
        print(
            Table(
                ["recipe", "test accuracy", "validation before fine-tuning", "fine-tuning validation curve"],
                [
                    [name, r["test_accuracy"], r["validation_before_finetune"], r["finetune_validation_curve"]]
                    for name, r in recipes.items()
                    if name in ("guide", "course")
                ],
                title=f"\nThe guide's recipe against the course's ({recipes['config']})",
            )
        )
        print(f"course - guide: {recipes['course_minus_guide']:+.4f} on {recipes['course']['test_images']} test images")
    report["backends"] = bench_backends()
    layers = list(report["backends"]["tensorflow"])
    print(
        Table(
            ["backend", *(f"{layer}, ms" for layer in layers)],
            [[backend, *(t[layer] for layer in layers)] for backend, t in report["backends"].items()],
            title="\nOne layer's forward pass on a 32x112x112x32 batch, per backend",
        ),
        flush=True,
    )
    report["seconds"] = round(time.perf_counter() - started)
    path = build_dir / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
