"""`make predict IMAGES=path [MODEL=path]`: classify image files with a course model.

A course model (notebook 05 saves one to build/models/cats_vs_dogs.keras) takes raw RGB images, 0-255, of
its trained size and returns one logit: above 0 means dog (label 1). Files are resized as in training
(`pipelines.image_from_file`). The command prints a table (file, class, probability of dog) and writes a
CSV and a contact sheet to build/predictions/. Bad input (a missing path, a folder without images, a model
that is missing or not a course model, a folder it cannot write) is one sentence, said before TensorFlow is
imported wherever it can be; files that are not usable images are reported and skipped, as notebook 04's
loader does. Ctrl-C stops it with one line and writes nothing.
"""

import argparse
import csv
import datetime
import math
import os
import sys
from pathlib import Path

from helpers import import_tensorflow_quietly
from helpers.config import SettingsError, keras_backend_problem, load_settings, unknown_settings
from helpers.folders import FolderProblem, lock_folder
from helpers.labels import CLASS_NAMES  # logit above 0: class 1, dog

BATCH_SIZE = 32
PROGRESS_FROM = 2 * BATCH_SIZE  # files; fewer are classified without a progress line
PROGRESS_LINES = 4  # without a terminal (CI, a pipe): a line at each quarter, not one per batch
SHEET_LIMIT = 100  # images on the contact sheet; the CSV and the table hold every file
THUMBNAIL = 128  # pixels per contact-sheet image
OUT_ADVICE = "give this run a folder of its own with OUT=path"
ZIP_START, HDF5_START = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"  # a .keras file is a zip; Keras 2's .h5 files are HDF5
EXIF_ORIENTATION = 0x0112  # 1 is upright; phones store portrait photos on their side with 6 or 8


class PredictError(Exception):
    """Input `make predict` cannot use; its message is one sentence for the user."""


def default_model_path(settings):
    """Where notebook 05 saves the model: <build>/models/cats_vs_dogs.keras."""
    return settings.build_dir / "models" / "cats_vs_dogs.keras"


def check_model_file(path):
    """`path` as an absolute Path when it may be a Keras model file, else PredictError saying what it is.

    Looks only at the file's first bytes, so a wrong MODEL is said before TensorFlow is imported.
    """
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        where = "is a folder, not a model file" if path.is_dir() else "does not exist"
        raise PredictError(
            f"The model file {path} {where}: train and save one with notebook 05 (make run), or give MODEL=path."
        )
    with open(path, "rb") as file:
        start = file.read(512)
    if start.startswith((ZIP_START, HDF5_START)):
        return path
    if not start:
        what = "is empty (0 bytes)"
    elif _utf8(start):
        what = "is a text file"
    else:
        what = "holds other data"
    raise PredictError(
        f"The model file {path} {what}, not a Keras model: a .keras file is a zip archive, as notebook 05 saves it."
    )


def _utf8(data):
    """True for text: UTF-8 (ASCII included) without NUL bytes. A multi-byte letter cut at the end of
    `data` reads as other data, which is still not a model."""
    try:
        return b"\0" not in data and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def load_course_model(path):
    """(model, image_size, output) of a course model file, or PredictError saying why it is not one.

    `output` is "logit" for a last layer without an activation (the course's), "probability" for one
    that applies a sigmoid.
    """
    import keras

    path = check_model_file(path)
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
    activation = final_activation(model)
    if activation not in ("linear", "sigmoid"):
        raise PredictError(
            f"{path} is not a course model: its last layer applies {activation}, so its one output is neither a "
            "logit nor a probability (a course model ends in Dense(1) without an activation)."
        )
    return model, int(in_shape[1]), "probability" if activation == "sigmoid" else "logit"


def final_activation(model):
    """The name of the activation the model's last layer applies: "linear" when it applies none."""
    import keras

    layer = model.layers[-1] if model.layers else None
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear") if activation is not None else "linear"


def files_under(folder):
    """(files, others, hidden): every file under `folder`, sorted; every other entry (a broken link, a
    pipe); and how many hidden files and folders (`.git`, `.DS_Store`, `._photo.jpg`) were left out.

    Linked folders are followed, each real folder once, so a link back up the tree cannot loop.
    """
    files, others, seen, hidden = [], [], set(), 0
    for root, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            folders[:] = []
            continue
        seen.add(real)
        hidden += sum(name.startswith(".") for name in folders + names)
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            if not name.startswith("."):
                entry = Path(root, name)
                (files if entry.is_file() else others).append(entry)
    return sorted(files), sorted(others), hidden


def _first_sentence(text, limit=160):
    """The first sentence of an error message, cut at a word (with "...") when longer than `limit`."""
    sentence = " ".join(text.split()).split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " ..."


def image_files(paths):
    """(candidate files, skipped (path, reason) pairs, notes): files as given, and every file under a folder.

    `~` is expanded. A file given twice (or a file and its folder) is kept once; hidden files under a
    folder are left out; each says so in a note. Entries under a folder that are not files (a broken
    link) are skipped with a reason, not dropped. A missing path, or a folder with no files, is a
    PredictError.
    """
    if not paths:
        raise PredictError("Nothing to classify: give IMAGES=path (a file, several files or a folder).")
    files, skipped, hidden = [], [], 0
    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            found, others, hidden_here = files_under(path)
            if not found:
                raise PredictError(f"The folder {path} holds no files, so no images to classify.")
            files += found
            hidden += hidden_here
            skipped += [(str(p), "a broken link" if p.is_symlink() else "not a file") for p in others]
        elif path.is_file():
            files.append(path)
        else:
            raise PredictError(f"{path} does not exist (IMAGES takes files or folders).")
    unique, seen = [], set()
    for file in files:
        if os.path.realpath(file) not in seen:
            seen.add(os.path.realpath(file))
            unique.append(file)
    notes = []
    if len(unique) < len(files):
        twice = len(files) - len(unique)
        notes.append(f"{twice:,} file{'s' if twice != 1 else ''} given more than once: each is classified once.")
    if hidden:
        notes.append(
            f"Left out {hidden:,} hidden file{'s' if hidden != 1 else ''} or folder{'s' if hidden != 1 else ''} (names that start with a dot, such as .git)."
        )
    return unique, skipped, notes


def usable_images(files):
    """(usable paths, skipped (path, reason) pairs): the checks of notebook 04's loader, header then decode."""
    from helpers import data

    usable, skipped = data.usable_files(files, [0] * len(files))
    return [path for path, _ in usable], skipped


def classify(model, image_size, paths, progress=None):
    """The model's output for each file, as a float: files resized as in training, in batches of BATCH_SIZE."""
    import numpy as np

    from helpers.pipelines import image_from_file

    outputs = []
    for start in range(0, len(paths), BATCH_SIZE):
        batch = np.stack([image_from_file(p, image_size).numpy() for p in paths[start : start + BATCH_SIZE]])
        outputs += [float(v) for v in np.asarray(model.predict_on_batch(batch.astype("float32"))).reshape(-1)]
        if progress:
            progress(len(outputs), len(paths))
    return outputs


def probability_of_dog(logit):
    """The sigmoid of a logit: the model's probability of class 1, dog."""
    return 1 / (1 + math.exp(-logit)) if logit >= 0 else math.exp(logit) / (1 + math.exp(logit))


def logit_of(probability):
    """The logit whose sigmoid is `probability` (infinite at 0 and 1)."""
    if probability <= 0 or probability >= 1:
        return math.inf if probability >= 1 else -math.inf
    return math.log(probability) - math.log1p(-probability)


def rows_from(paths, outputs, output):
    """(file, class, P(dog), logit) rows from the model's outputs, logits or ("probability") sigmoids."""
    rows = []
    for path, value in zip(paths, outputs):
        logit = value if output == "logit" else logit_of(value)
        p_dog = probability_of_dog(logit) if output == "logit" else value
        rows.append((path, CLASS_NAMES[logit > 0], p_dog, logit))
    return rows


def rotated_photos(paths):
    """The files among `paths` whose EXIF data says to turn them (a phone's portrait photo)."""
    from PIL import Image

    rotated = []
    for path in paths:
        try:
            with Image.open(path) as image:
                if image.getexif().get(EXIF_ORIENTATION, 1) not in (0, 1):
                    rotated.append(path)
        except (OSError, ValueError, SyntaxError):  # checked and skipped elsewhere
            pass
    return rotated


def write_csv(path, rows):
    """rows: (file, class, P(dog), logit). Written beside `path` first, then renamed, so that a stopped
    run never leaves half a file."""
    partial = Path(f"{path}.partial")
    with open(partial, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "class", "p_dog", "logit"])
        writer.writerows([str(f), c, f"{p:.4f}", f"{logit:.4f}"] for f, c, p, logit in rows)
    os.replace(partial, path)


def displayable(image):
    """`image` as 8-bit RGB for the contact sheet: 16- and 32-bit greyscale scaled, not clipped to white."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        values = np.asarray(image, dtype=np.float64)
        top = 65535 if image.mode.startswith("I;16") or values.max() <= 65535 else values.max()
        image = Image.fromarray(np.clip(values / top * 255, 0, 255).astype(np.uint8), "L")
    return image.convert("RGB")


def write_contact_sheet(path, rows, limit=SHEET_LIMIT, columns=10):
    """A grid of thumbnails, each captioned with its class and P(dog); the first `limit` rows only.

    Pixels are shown as stored, as the model read them: an EXIF rotation is not applied.
    """
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
            thumb = ImageOps.contain(displayable(image), (THUMBNAIL, THUMBNAIL))
        sheet.paste(thumb, (x + (THUMBNAIL - thumb.width) // 2, y + (THUMBNAIL - thumb.height) // 2))
        draw.text((x + 3, y + THUMBNAIL + 2), f"{label} P(dog) {p_dog:.2f}", fill="black")
    partial = Path(f"{path}.partial.png")
    sheet.save(partial)
    os.replace(partial, path)
    return len(shown)


def _print_progress(done, total):
    """On a terminal, one line rewritten per batch; elsewhere (CI, a pipe), a line at each quarter."""
    if sys.stdout.isatty():
        print(f"  classified {done:,} of {total:,} images", end="\r" if done < total else "\n", flush=True)
    elif done * PROGRESS_LINES // total > max(0, done - BATCH_SIZE) * PROGRESS_LINES // total:
        print(f"  classified {done:,} of {total:,} images", flush=True)


def predict(paths, model_path=None, out_dir=None):
    """Classify `paths` (files or folders); print the table; write the CSV and the contact sheet.

    Returns the rows (file, class, P(dog), logit). Raises PredictError, SettingsError or FolderProblem
    for input it cannot use, each before TensorFlow is imported where the input alone shows it.
    """
    from helpers.tables import Table

    settings = load_settings()
    for warning in unknown_settings():
        print(warning)
    model_path = check_model_file(model_path or default_model_path(settings))
    files, not_files, notes = image_files(paths)
    out_dir = Path(out_dir).expanduser() if out_dir else settings.build_dir / "predictions"
    with lock_folder(out_dir, "make predict", OUT_ADVICE):
        import_tensorflow_quietly()  # before Keras: its start-up lines need not reach the terminal
        model, image_size, output = load_course_model(model_path)
        usable, skipped = usable_images(files)
        skipped, total = not_files + skipped, len(files) + len(not_files)
        for note in notes:
            print(note)
        if skipped:  # every one, not notebook 04's five examples: these are the user's own files
            print(f"Skipped {len(skipped):,} of {total:,} files that are not usable images:")
            for path, reason in skipped:
                print(f"  {path}: {reason}")
        if not usable:
            raise PredictError(f"None of the {total:,} files given is a usable image (see the list above).")
        progress = _print_progress if len(usable) >= PROGRESS_FROM else None
        rows = rows_from(usable, classify(model, image_size, usable, progress), output)
        print(Table(["file", "class", "P(dog)"], [(str(f), c, round(p, 4)) for f, c, p, _ in rows]))
        write_csv(out_dir / "predictions.csv", rows)
        shown = write_contact_sheet(out_dir / "contact_sheet.png", rows)
    if output == "probability":
        print("The model's last layer applies a sigmoid: its outputs were read as probabilities of dog.")
    rotated = rotated_photos(usable)
    if rotated:
        print(
            f"{len(rotated):,} photo{'s' if len(rotated) != 1 else ''} (such as {rotated[0].name}) "
            f"{'carry' if len(rotated) != 1 else 'carries'} an EXIF "
            "rotation, as phones store portrait photos: the course reads pixels as stored, in training too, so "
            "the model saw them on their side, as the contact sheet shows them."
        )
    print(
        f"{len(rows):,} image{'s' if len(rows) != 1 else ''} classified with {model_path} at {image_size} px (P(dog): the probability of dog; "
        f"class dog when above 0.5); {len(skipped):,} skipped."
    )
    print(f"Wrote {out_dir / 'predictions.csv'} and {out_dir / 'contact_sheet.png'}", end="")
    print(f" (the first {shown} of {len(rows):,} images)." if shown < len(rows) else ".")
    return rows


def stopped_sentence(out_dir):
    """What Ctrl-C leaves: nothing written by this run, and whose the CSV in `out_dir` is, if any."""
    sentence = "Stopped by Ctrl-C: this run wrote no predictions."
    earlier = Path(out_dir) / "predictions.csv"
    if earlier.is_file():
        written = datetime.datetime.fromtimestamp(earlier.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        sentence += f" {earlier} is an earlier run's, written {written}."
    return sentence


def main(argv=None):
    """The command line: `python -m commands.predict [--model PATH] [--out DIR] PATH...`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="make predict", description="Classify image files with a course model.")
    parser.add_argument("paths", nargs="*", help="image files or folders (IMAGES=...)")
    parser.add_argument("--model", help="a .keras file (MODEL=...); default build/models/cats_vs_dogs.keras")
    parser.add_argument("--out", help="folder for the CSV and the contact sheet (OUT=...); default build/predictions")
    args = parser.parse_args(argv)
    problem = keras_backend_problem()
    if problem:  # before anything imports Keras, which fails with a long traceback
        print(problem, file=sys.stderr)
        return 2
    try:
        predict(args.paths, args.model, args.out)
    except (PredictError, SettingsError, FolderProblem) as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        try:
            out_dir = Path(args.out).expanduser() if args.out else load_settings().build_dir / "predictions"
        except SettingsError:
            out_dir = None
        print(stopped_sentence(out_dir) if out_dir else "Stopped by Ctrl-C.", file=sys.stderr)
        return 130  # the shell's code for a command stopped by SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())
