"""`make bench`: throughput of the guide's input pipeline and ours, on real JPEGs, no model attached.

Writes build/bench.json and prints a table. Run it on an otherwise idle machine.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

from helpers import data
from helpers.config import REPO_ROOT, load_settings
from helpers.tables import Table

SHARED_PHOTOS = REPO_ROOT.parent / "shared" / "data" / "cats_vs_dogs_sample"
SHARED_WEIGHTS = REPO_ROOT.parent / "shared" / "weights" / "mobilenet_2_5_224_tf_no_top.h5"


def pipeline_throughput(dataset, epochs=3):
    """(images/s in epoch 1, images/s over epochs 2..`epochs`) for one pass after another."""
    rates = []
    for _ in range(epochs):
        started, count = time.perf_counter(), 0
        for images, _ in dataset:
            count += int(images.shape[0])
        rates.append(count / (time.perf_counter() - started))
    return round(rates[0], 1), round(float(np.mean(rates[1:])), 1)


def indexed(source, count=64):
    """The first `count` images of `source`, each labelled with its index, to follow images by index."""
    return source.take(count).enumerate().map(lambda i, example: (example[0], i))


def repeated_share(build, source, count=64):
    """Share of images identical between epoch 1 and epoch 2 of the pipeline `build(dataset)`."""
    dataset = build(indexed(source, count))
    epochs = [{int(i): x for xs, ids in dataset for x, i in zip(xs.numpy(), ids.numpy())} for _ in range(2)]
    return float(np.mean([np.array_equal(epochs[0][i], epochs[1][i]) for i in epochs[0]]))


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
        "guide": lambda ds: data.guide_pipeline(ds, image_size, batch_size, training=True),
        "ours": lambda ds: data.pipeline(ds, image_size, batch_size, training=True, seed=0),
    }
    rounds = [{name: pipeline_throughput(build(source)) for name, build in builders.items()} for _ in range(rounds)]
    results = {}
    for name, build in builders.items():
        epoch_1, later = max(r[name][0] for r in rounds), max(r[name][1] for r in rounds)
        results[name] = dict(epoch_1=epoch_1, epochs_2_3=later, repeated_in_epoch_2=repeated_share(build, source))
    results["ratios"] = dict(
        epoch_1=round(results["ours"]["epoch_1"] / results["guide"]["epoch_1"], 2),
        epochs_2_3=round(results["ours"]["epochs_2_3"] / results["guide"]["epochs_2_3"], 4),
    )
    return results


def bench_models(build_dir):
    """Run notebooks 06 and 05 on the real photos with the ImageNet MobileNet; collect their figures.

    Needs ../shared's photos and weights; returns None without them.
    """
    import os

    from helpers.run_course import execute_notebook, notebook_paths

    if not (SHARED_PHOTOS.is_dir() and SHARED_WEIGHTS.is_file()):
        return None
    os.environ.update(
        COURSE_PROFILE="quick", COURSE_DATA_DIR=str(SHARED_PHOTOS), COURSE_BASE_MODEL="mobilenet_v1_0.25",
        COURSE_WEIGHTS=str(SHARED_WEIGHTS), COURSE_BUILD_DIR=str(build_dir),
    )
    results = {}
    for source in notebook_paths():
        if source.stem in ("05_transfer_and_finetune", "06_feature_extraction"):
            ok, seconds, error = execute_notebook(source, build_dir / "executed" / source.name)
            if not ok:
                raise RuntimeError(f"{source.name} failed: {error}")
            results[source.stem] = json.loads((build_dir / "results" / f"{source.stem}.json").read_text())
    extraction, finetune = results["06_feature_extraction"], results["05_transfer_and_finetune"]
    return dict(
        config="quick profile, folder ../shared/data/cats_vs_dogs_sample, mobilenet_v1_0.25, ImageNet weights file",
        head_epoch_seconds_end_to_end=round(extraction["end_to_end_seconds_per_epoch"], 2),
        head_epoch_seconds_feature_extraction=round(extraction["feature_seconds_per_epoch"], 3),
        feature_extraction_speedup=round(
            extraction["end_to_end_seconds_per_epoch"] / extraction["feature_seconds_per_epoch"], 1
        ),
        val_accuracy_end_to_end=round(extraction["end_to_end_val_accuracy"], 4),
        val_accuracy_feature_extraction=round(extraction["feature_val_accuracy"], 4),
        extraction_seconds=round(extraction["extraction_seconds"], 1),
        real_photo_test_accuracy=round(finetune["test_accuracy"], 4),
        finetune_seconds_per_step=round(finetune["finetune_seconds_per_step"], 3),
    )


def main():
    """Measure, print tables, write build/bench.json."""
    folder = bench_folder()
    print(f"Input pipelines on {folder} (150 px, batch 64, training split), no model attached:")
    pipelines = bench_pipelines(folder)
    rows = [[name, r["epoch_1"], r["epochs_2_3"], f"{r['repeated_in_epoch_2']:.0%}"]
            for name, r in pipelines.items() if name != "ratios"]
    print(Table(["pipeline", "epoch 1 images/s", "epochs 2-3 images/s", "epoch 2 repeats epoch 1"], rows))
    print(f"ours / guide: epoch 1 {pipelines['ratios']['epoch_1']}x (target >= 1.5), "
          f"epochs 2-3 {pipelines['ratios']['epochs_2_3']}x (target >= 0.5)")
    build_dir = Path(load_settings().build_dir)
    report = dict(folder=str(folder), pipelines=pipelines, models=bench_models(build_dir / "bench"))
    if report["models"] is None:
        print("Model figures skipped: they need ../shared's photos and MobileNet weights file.")
    else:
        print(Table(["measure", "value"], report["models"].items(), title="\nModels (mobilenet_v1_0.25, real photos)"))
        print("targets: feature extraction >= 20x faster per head epoch, validation accuracy within 1 point")
    path = build_dir / "bench.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
