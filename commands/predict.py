"""`make predict IMAGES=path [MODEL=path]`: classify image files with a course model.

A course model (notebook 06 saves one to build/models/cats_vs_dogs.keras) takes raw RGB images, 0-255, of
its trained size and returns logits: one for two classes (above 0: the second class), one per class for
more. Its class names travel in the file (helpers.models.save_class_names); a model saved without them is
a cats-vs-dogs model. Files are resized as in training (`pipelines.image_from_file`). The command prints a
table (file, class, probability) and writes a CSV and a contact sheet to build/predictions/. Bad input (a
missing path, a folder without images, a model that is missing or not a course model, a folder it cannot
write) is one sentence, said before TensorFlow is imported wherever it can be; files that are not usable images are reported and skipped, as notebook 05's
loader does. Ctrl-C stops it with one line and writes nothing.
"""

import csv
import datetime
import math
import os
import sys
from pathlib import Path
from typing import NamedTuple

from commands import argument_parser
from helpers import import_tensorflow_quietly
from helpers.config import SettingsError, keras_backend_problem, load_settings, unknown_settings
from helpers.folders import FolderProblem, lock_folder
from helpers.sources import CLASS_NAMES  # logit above 0: class 1, dog

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
    """Where notebook 06 saves the model: <build>/models/cats_vs_dogs.keras."""
    return settings.build_dir / "models" / "cats_vs_dogs.keras"


def check_model_file(path):
    """`path` as an absolute Path when it may be a Keras model file, else PredictError saying what it is.

    Looks only at the file's first bytes, so a wrong MODEL is said before TensorFlow is imported.
    """
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        where = "is a folder, not a model file" if path.is_dir() else "does not exist"
        raise PredictError(
            f"The model file {path} {where}: train and save one with notebook 06 (make run), or give MODEL=path."
        )
    try:
        with open(path, "rb") as file:
            start = file.read(512)
    except OSError as error:  # PermissionError as any user but root
        raise PredictError(f"The model file {path} cannot be read ({error.strerror.lower()}).") from None
    if start.startswith((ZIP_START, HDF5_START)):
        return path
    if not start:
        what = "is empty (0 bytes)"
    elif _utf8(start):
        what = "is a text file"
    else:
        what = "holds other data"
    raise PredictError(
        f"The model file {path} {what}, not a Keras model: a .keras file is a zip archive, as notebook 06 saves it."
    )


def _utf8(data):
    """True for text: UTF-8 (ASCII included) without NUL bytes. A multi-byte letter cut at the end of
    `data` reads as other data, which is still not a model."""
    try:
        return b"\0" not in data and bool(data.decode("utf-8"))
    except UnicodeDecodeError:
        return False


class CourseModel(NamedTuple):
    """A loaded course model and what reading its outputs needs."""

    model: object
    image_size: int
    class_names: list
    output: str  # "logit" (no activation: the course's) or "probability" (a sigmoid or a softmax)


def load_course_model(path):
    """The CourseModel in a file, or PredictError saying why the file holds no course model."""
    import keras

    from helpers.models import saved_class_names

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
    vector = out_shape is not None and len(out_shape) == 2 and isinstance(out_shape[1], int)
    if not (square_rgb and isinstance(in_shape[1], int) and vector):
        raise PredictError(
            f"{path} is not a course model: it takes {in_shape or 'several inputs'} and returns "
            f"{out_shape or 'several outputs'}, where a course model takes square RGB images "
            "(None, N, N, 3) and returns logits (None, 1) or (None, classes)."
        )
    count = out_shape[1]
    names = saved_class_names(path) or (list(CLASS_NAMES) if count == 1 else None)
    if names is None:
        raise PredictError(
            f"{path} returns {count} outputs but carries no class names: save them with "
            "helpers.models.save_class_names(path, class_names), as notebook 06 does."
        )
    if len(names) != (2 if count == 1 else count):
        raise PredictError(
            f"{path} returns {count} output{'s' if count != 1 else ''} but carries {len(names)} class names "
            f"({', '.join(names)}): a course model has one output for two classes and one per class for more."
        )
    activation = final_activation(model)
    allowed = ("linear", "sigmoid") if count == 1 else ("linear", "softmax")
    if activation not in allowed:
        raise PredictError(
            f"{path} is not a course model: its last layer applies {activation}, so its output"
            f"{'' if count == 1 else 's'} {'is' if count == 1 else 'are'} neither "
            f"logits nor probabilities (a course model ends in Dense without an activation)."
        )
    return CourseModel(model, int(in_shape[1]), names, "logit" if activation == "linear" else "probability")


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
        plural = "s" if hidden != 1 else ""
        notes.append(
            f"Left out {hidden:,} hidden file{plural} or folder{plural} (names that start with a dot, such as .git)."
        )
    return unique, skipped, notes


def usable_images(files):
    """(usable paths, skipped (path, reason) pairs): the checks of notebook 05's loader, header then decode."""
    from helpers import data

    usable, skipped = data.usable_files(files, [0] * len(files))
    return [path for path, _ in usable], skipped


def classify(model, image_size, paths, progress=None):
    """The model's outputs for the files, one row each: files resized as in training, in batches of BATCH_SIZE."""
    import numpy as np

    from helpers.pipelines import image_from_file

    outputs = []
    for start in range(0, len(paths), BATCH_SIZE):
        batch = np.stack([image_from_file(p, image_size).numpy() for p in paths[start : start + BATCH_SIZE]])
        outputs.append(np.asarray(model.predict_on_batch(batch.astype("float32")), dtype=np.float64))
        if progress:
            progress(sum(map(len, outputs)), len(paths))
    return np.concatenate(outputs)


def probabilities_of(outputs, output):
    """Each file's probabilities of the classes, from the model's logits or (a sigmoid or softmax) probabilities."""
    import numpy as np

    from helpers.models import class_probabilities

    if output == "logit":
        return class_probabilities(outputs)
    return np.concatenate([1 - outputs, outputs], axis=1) if outputs.shape[1] == 1 else outputs


def logit_of(probability):
    """The logit whose sigmoid is `probability` (infinite at 0 and 1)."""
    if probability <= 0 or probability >= 1:
        return math.inf if probability >= 1 else -math.inf
    return math.log(probability) - math.log1p(-probability)


def one_logit(output_row, output):
    """A two-class model's output for one file as its one logit: above 0 means the second class.

    Kept from the model's own logits where it gives them, not recomputed from a probability, which rounds
    to 1 (an infinite logit) for a confident model.
    """
    if output == "logit":
        return float(output_row[0]) if len(output_row) == 1 else float(output_row[1] - output_row[0])
    return logit_of(float(output_row[-1]))  # a sigmoid's probability, or a two-way softmax's second one


def rows_from(paths, outputs, output, class_names):
    """(file, class, its probability, every class's probability, logit) rows from the model's outputs.

    Two classes: the second where the one logit is above 0, as in training. More: the most probable class,
    and no logit (None).
    """
    rows = []
    for path, output_row, row in zip(paths, outputs, probabilities_of(outputs, output)):
        logit = one_logit(output_row, output) if len(class_names) == 2 else None
        best = int(logit > 0) if logit is not None else int(row.argmax())
        rows.append((path, class_names[best], float(row[best]), [float(p) for p in row], logit))
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


def write_csv(path, rows, class_names):
    """One line per file. Two classes: file, class, p_<second class>, logit (p_dog for cats and dogs).
    More: file, class, probability, then p_<class> for each class. Written beside `path` first, then
    renamed, so that a stopped run never leaves half a file."""
    two = len(class_names) == 2
    header = ["file", "class", f"p_{class_names[1]}", "logit"] if two else ["file", "class", "probability"]
    partial = Path(f"{path}.partial")
    with open(partial, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header + ([] if two else [f"p_{name}" for name in class_names]))
        for f, label, p, every, logit in rows:
            end = [f"{every[1]:.4f}", f"{logit:.4f}"] if two else [f"{p:.4f}", *(f"{q:.4f}" for q in every)]
            writer.writerow([str(f), label, *end])
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


def write_contact_sheet(path, rows, class_names, limit=SHEET_LIMIT, columns=10):
    """A grid of thumbnails, each captioned with its class and probability; the first `limit` rows only.

    Pixels are shown as stored, as the model read them: an EXIF rotation is not applied.
    """
    from PIL import Image, ImageDraw, ImageOps

    shown = rows[:limit]
    caption = 16
    columns = min(columns, len(shown))
    lines = -(-len(shown) // columns)
    sheet = Image.new("RGB", (columns * THUMBNAIL, lines * (THUMBNAIL + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (file, label, probability, every, _) in enumerate(shown):
        x, y = (i % columns) * THUMBNAIL, (i // columns) * (THUMBNAIL + caption)
        with Image.open(file) as image:
            thumb = ImageOps.contain(displayable(image), (THUMBNAIL, THUMBNAIL))
        sheet.paste(thumb, (x + (THUMBNAIL - thumb.width) // 2, y + (THUMBNAIL - thumb.height) // 2))
        text = f"{label} P({class_names[1]}) {every[1]:.2f}" if len(every) == 2 else f"{label} {probability:.0%}"
        draw.text((x + 3, y + THUMBNAIL + 2), text[:22], fill="black")
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

    Returns the rows (file, class, its probability, every class's probability, logit). Raises PredictError,
    SettingsError or FolderProblem for input it cannot use, before TensorFlow is imported where the input
    alone shows it.
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
        course_model = load_course_model(model_path)
        names = course_model.class_names
        usable, skipped = usable_images(files)
        skipped, total = not_files + skipped, len(files) + len(not_files)
        for note in notes + folder_notes(paths, names):
            print(note)
        if skipped:  # every one, not notebook 05's five examples: these are the user's own files
            print(f"Skipped {len(skipped):,} of {total:,} files that are not usable images:")
            for path, reason in skipped:
                print(f"  {path}: {reason}")
        if not usable:
            raise PredictError(f"None of the {total:,} files given is a usable image (see the list above).")
        progress = _print_progress if len(usable) >= PROGRESS_FROM else None
        outputs = classify(course_model.model, course_model.image_size, usable, progress)
        rows = rows_from(usable, outputs, course_model.output, names)
        print(Table(*table_of(rows, names)))
        write_csv(out_dir / "predictions.csv", rows, names)
        shown = write_contact_sheet(out_dir / "contact_sheet.png", rows, names)
    if course_model.output == "probability":
        activation = "a sigmoid" if len(names) == 2 else "a softmax"
        print(f"The model's last layer applies {activation}: its outputs were read as probabilities.")
    rotated = rotated_photos(usable)
    if rotated:
        print(
            f"{len(rotated):,} photo{'s' if len(rotated) != 1 else ''} (such as {rotated[0].name}) "
            f"{'carry' if len(rotated) != 1 else 'carries'} an EXIF "
            "rotation, as phones store portrait photos: the course reads pixels as stored, in training too, so "
            "the model saw them on their side, as the contact sheet shows them."
        )
    meaning = (
        f"P({names[1]}): the probability of {names[1]}; class {names[1]} when above 0.5"
        if len(names) == 2
        else f"{len(names)} classes ({', '.join(names)}); the most probable one"
    )
    print(
        f"{len(rows):,} image{'s' if len(rows) != 1 else ''} classified with {model_path} at "
        f"{course_model.image_size} px ({meaning}); {len(skipped):,} skipped."
    )
    print(f"Wrote {out_dir / 'predictions.csv'} and {out_dir / 'contact_sheet.png'}", end="")
    print(f" (the first {shown} of {len(rows):,} images)." if shown < len(rows) else ".")
    return rows


def table_of(rows, class_names):
    """(header, rows) of the printed table: P(second class) for two classes; else the top class and the
    next two, each with its probability."""
    if len(class_names) == 2:
        return ["file", "class", f"P({class_names[1]})"], [
            (str(f), c, round(every[1], 4)) for f, c, _, every, _ in rows
        ]
    lines = []
    for file, label, probability, every, _ in rows:
        ranked = sorted(range(len(every)), key=lambda k: -every[k])[1:3]
        lines.append([str(file), f"{label} {probability:.1%}", *(f"{class_names[k]} {every[k]:.1%}" for k in ranked)])
    return ["file", "class", "second", "third"][: 2 + min(2, len(class_names) - 1)], lines


def folder_notes(paths, class_names):
    """A sentence for each folder given whose subfolders look like classes other than the model's."""
    notes = []
    for given in paths:
        folder = Path(given).expanduser()
        if not folder.is_dir():
            continue
        subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if len(subfolders) >= 2 and set(subfolders) != set(class_names):
            notes.append(
                f"Note: {folder} holds {len(subfolders)} folders ({', '.join(subfolders[:5])}"
                f"{', ...' if len(subfolders) > 5 else ''}), but the model knows {len(class_names)} classes "
                f"({', '.join(class_names)}): every image gets one of the model's."
            )
    return notes


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
    parser = argument_parser("make predict", __doc__)
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
