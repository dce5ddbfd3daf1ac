"""`make predict IMAGES=path [MODEL=path]`: classify image files with a course model.

A course model (notebook 05 saves one to build/models/cats_vs_dogs.keras) takes raw RGB images, 0-255, of
its trained size and returns one logit: above 0 means dog (label 1). Files are resized as in training
(`pipelines.image_from_file`). The command prints a table (file, class, probability of dog) and writes a
CSV and a contact sheet to build/predictions/. Bad input (a missing path, a folder without images, a model
that is missing or not a course model) is one sentence; files that are not usable images are reported and
skipped, as notebook 04's loader does.
"""

import argparse
import csv
import os
import sys
from pathlib import Path

from helpers import import_tensorflow_quietly
from helpers.config import SettingsError, keras_backend_problem, load_settings
from helpers.labels import CLASS_NAMES  # logit above 0: class 1, dog

BATCH_SIZE = 32
PROGRESS_FROM = 2 * BATCH_SIZE  # files; fewer are classified without a progress line
SHEET_LIMIT = 100  # images on the contact sheet; the CSV and the table hold every file
THUMBNAIL = 128  # pixels per contact-sheet image


class PredictError(Exception):
    """Input `make predict` cannot use; its message is one sentence for the user."""


def default_model_path(settings):
    """Where notebook 05 saves the model: <build>/models/cats_vs_dogs.keras."""
    return settings.build_dir / "models" / "cats_vs_dogs.keras"


def load_course_model(path):
    """(model, image_size) of a course model file, or PredictError saying why it is not one."""
    import keras

    path = Path(path)
    if not path.is_file():
        where = "is a folder, not a model file" if path.is_dir() else "does not exist"
        raise PredictError(
            f"The model file {path} {where}: train and save one with notebook 05 (make run), or give MODEL=path."
        )
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # a zip that is not a Keras archive, a custom layer Keras does not know, ...
        reason = _first_sentence(str(error)) or type(error).__name__
        raise PredictError(f"{path} is not a Keras model file Keras can load ({reason}).") from None
    inputs = getattr(model, "inputs", None) or []
    outputs = getattr(model, "outputs", None) or []
    in_shape = tuple(inputs[0].shape) if len(inputs) == 1 else None
    out_shape = tuple(outputs[0].shape) if len(outputs) == 1 else None
    square_rgb = in_shape is not None and len(in_shape) == 4 and in_shape[3] == 3 and in_shape[1] == in_shape[2]
    if not (square_rgb and isinstance(in_shape[1], int) and out_shape is not None and out_shape[1:] == (1,)):
        raise PredictError(
            f"{path} is not a course model: it takes {in_shape or 'several inputs'} and returns "
            f"{out_shape or 'several outputs'}, where a course model takes square RGB images "
            "(None, N, N, 3) and returns one logit (None, 1)."
        )
    return model, int(in_shape[1])


def files_under(folder):
    """(files, others): every file under `folder`, sorted, and every other entry (a broken link, a pipe).

    Linked folders are followed, each real folder once, so a link back up the tree cannot loop.
    """
    files, others, seen = [], [], set()
    for root, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        for name in names:
            entry = Path(root, name)
            (files if entry.is_file() else others).append(entry)
    return sorted(files), sorted(others)


def _first_sentence(text, limit=160):
    """The first sentence of an error message, cut at a word (with "...") when longer than `limit`."""
    sentence = " ".join(text.split()).split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " ..."


def image_files(paths):
    """(candidate files, skipped (path, reason) pairs): files as given, and every file under a folder.

    Entries under a folder that are not files (a broken link) are skipped with a reason, not dropped.
    A missing path, or a folder with no files at all, is a PredictError.
    """
    if not paths:
        raise PredictError("Nothing to classify: give IMAGES=path (a file, several files or a folder).")
    files, skipped = [], []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found, others = files_under(path)
            if not found:
                raise PredictError(f"The folder {path} holds no files, so no images to classify.")
            files += found
            skipped += [(str(p), "a broken link" if p.is_symlink() else "not a file") for p in others]
        elif path.is_file():
            files.append(path)
        else:
            raise PredictError(f"{path} does not exist (IMAGES takes files or folders).")
    return files, skipped


def usable_images(files):
    """(usable paths, skipped (path, reason) pairs): the checks of notebook 04's loader, header then decode."""
    from helpers import data

    usable, skipped = data.usable_files(files, [0] * len(files))
    return [path for path, _ in usable], skipped


def classify(model, image_size, paths, progress=None):
    """The logit of each file, as a float: files resized as in training, in batches of BATCH_SIZE."""
    import numpy as np

    from helpers.pipelines import image_from_file

    logits = []
    for start in range(0, len(paths), BATCH_SIZE):
        batch = np.stack([image_from_file(p, image_size).numpy() for p in paths[start : start + BATCH_SIZE]])
        logits += [float(v) for v in np.asarray(model.predict_on_batch(batch.astype("float32"))).reshape(-1)]
        if progress:
            progress(len(logits), len(paths))
    return logits


def probability_of_dog(logit):
    """The sigmoid of a logit: the model's probability of class 1, dog."""
    import math

    return 1 / (1 + math.exp(-logit)) if logit >= 0 else math.exp(logit) / (1 + math.exp(logit))


def write_csv(path, rows):
    """rows: (file, class, P(dog), logit)."""
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "class", "p_dog", "logit"])
        writer.writerows([str(f), c, f"{p:.4f}", f"{logit:.4f}"] for f, c, p, logit in rows)


def write_contact_sheet(path, rows, limit=SHEET_LIMIT, columns=10):
    """A grid of thumbnails, each captioned with its class and P(dog); the first `limit` rows only."""
    from PIL import Image, ImageDraw, ImageOps

    shown = rows[:limit]
    caption = 16
    columns = min(columns, len(shown))
    lines = -(-len(shown) // columns)
    sheet = Image.new("RGB", (columns * THUMBNAIL, lines * (THUMBNAIL + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (file, label, p_dog, _) in enumerate(shown):
        x, y = (i % columns) * THUMBNAIL, (i // columns) * (THUMBNAIL + caption)
        with Image.open(file) as image:
            thumb = ImageOps.contain(image.convert("RGB"), (THUMBNAIL, THUMBNAIL))
        sheet.paste(thumb, (x + (THUMBNAIL - thumb.width) // 2, y + (THUMBNAIL - thumb.height) // 2))
        draw.text((x + 3, y + THUMBNAIL + 2), f"{label} P(dog) {p_dog:.2f}", fill="black")
    sheet.save(path)
    return len(shown)


def _print_progress(done, total):
    end = "\r" if sys.stdout.isatty() and done < total else "\n"
    print(f"  classified {done:,} of {total:,} images", end=end, flush=True)


def predict(paths, model_path=None, out_dir=None):
    """Classify `paths` (files or folders); print the table; write the CSV and the contact sheet.

    Returns the rows (file, class, P(dog), logit). Raises PredictError for input it cannot use.
    """
    from helpers.tables import Table

    settings = load_settings()
    model_path = Path(model_path) if model_path else default_model_path(settings)
    files, not_files = image_files(paths)
    model, image_size = load_course_model(model_path)
    usable, skipped = usable_images(files)
    skipped, total = not_files + skipped, len(files) + len(not_files)
    if skipped:  # every one, not notebook 04's five examples: these are the user's own files
        print(f"Skipped {len(skipped):,} of {total:,} files that are not usable images:")
        for path, reason in skipped:
            print(f"  {path}: {reason}")
    if not usable:
        raise PredictError(f"None of the {total:,} files given is a usable image (see the list above).")
    progress = _print_progress if len(usable) >= PROGRESS_FROM else None
    logits = classify(model, image_size, usable, progress)
    rows = [(p, CLASS_NAMES[logit > 0], probability_of_dog(logit), logit) for p, logit in zip(usable, logits)]
    out_dir = Path(out_dir) if out_dir else settings.build_dir / "predictions"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(Table(["file", "class", "P(dog)"], [(str(f), c, round(p, 4)) for f, c, p, _ in rows]))
    write_csv(out_dir / "predictions.csv", rows)
    shown = write_contact_sheet(out_dir / "contact_sheet.png", rows)
    print(
        f"{len(rows):,} image{'s' if len(rows) != 1 else ''} classified with {model_path} at {image_size} px (P(dog): the probability of dog; "
        f"class dog when above 0.5); {len(skipped):,} skipped."
    )
    print(f"Wrote {out_dir / 'predictions.csv'} and {out_dir / 'contact_sheet.png'}", end="")
    print(f" (the first {shown} of {len(rows):,} images)." if shown < len(rows) else ".")
    return rows


def main(argv=None):
    """The command line: `python -m commands.predict [--model PATH] [--out DIR] PATH...`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="make predict", description="Classify image files with a course model.")
    parser.add_argument("paths", nargs="*", help="image files or folders (IMAGES=...)")
    parser.add_argument("--model", help="a .keras file (MODEL=...); default build/models/cats_vs_dogs.keras")
    parser.add_argument("--out", help="folder for the CSV and the contact sheet; default build/predictions")
    args = parser.parse_args(argv)
    problem = keras_backend_problem()
    if problem:  # before anything imports Keras, which fails with a long traceback
        print(problem, file=sys.stderr)
        return 2
    import_tensorflow_quietly()  # before Keras: its start-up lines need not reach the terminal
    try:
        predict(args.paths, args.model, args.out)
    except (PredictError, SettingsError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
