"""The first cell of every notebook: read the settings, say which are in force, seed everything.

Also notebook 00's tables of what the settings need and where it comes from, how a notebook stops with one
sentence instead of a stack trace, and where it writes what it measured. Importing this module imports neither
TensorFlow nor Keras, and changes nothing: notebook.start() does what the first cell needs.
"""

import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from helpers import downloads, import_tensorflow_quietly, quiet_expected_warnings
from helpers.bases import BASES
from helpers.config import SettingsError, keras_backend_problem, load_settings, unknown_settings
from helpers.downloads import DataUnavailable, WeightsUnavailable, stand_ins
from helpers.pretrained import weights_host, weights_path, weights_status
from helpers.sources import SOURCES, data_host, data_status
from helpers.tables import Table, settings_table

FAKE_RESULTS_WARNING = "the accuracies below mean nothing about real photos"


def start():
    """Print the settings in force in two lines, seed Keras, NumPy and Python; return the settings.

    First the environment TensorFlow and Keras read (helpers.set_course_environment), then TensorFlow imported
    with its start-up lines held back. A bad KERAS_BACKEND or COURSE_* value stops the notebook with one
    sentence instead of a stack trace. Synthetic images or random weights add a warning line, and JAX on a CPU
    outside smoke a note that it is slow. `show_settings(settings)` shows every setting.
    """
    if keras_backend_problem():  # importing TensorFlow or Keras would fail with a long traceback
        raise SystemExit(f"Settings problem: {keras_backend_problem()}")
    import_tensorflow_quietly()  # before Keras imports TensorFlow: its start-up lines stay out of the notebook
    import keras

    try:
        settings = load_settings()
    except SettingsError as error:
        raise SystemExit(f"Settings problem: {error}") from None
    quiet_expected_warnings()
    # TensorFlow's "triggered tf.function retracing" notes: expected where a notebook compiles small
    # models again and again to compare them, and not something a learner can act on.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    keras.utils.set_random_seed(settings.seed)
    print(settings_summary(settings))
    for line in (*unknown_settings(), fake_results_warning(settings), slow_backend_note(settings, jax_on_cpu())):
        if line:
            print(line)
    return settings


def settings_summary(settings):
    """The settings in force, in two lines."""
    import keras

    weights = settings.weights if settings.weights in ("imagenet", "none") else Path(settings.weights).name
    return (
        f"Settings: profile {settings.profile}, data {settings.data_source}, base {settings.base_model}, "
        f"weights {weights}, backend {keras.backend.backend()}\n"
        f"          {settings.image_size} px images, batch {settings.batch_size}, "
        f"epochs {settings.epochs_head} head + {settings.epochs_finetune} fine-tuning "
        "(notebook.show_settings(settings) lists them all)"
    )


def fake_results_warning(settings):
    """A warning line when the run learns from synthetic images or starts from random weights, else ''."""
    fakes = stand_ins(settings.data_source == "synthetic", settings.weights == "none")
    return f"Warning: this run uses {fakes}, so {FAKE_RESULTS_WARNING}." if fakes else ""


def jax_on_cpu():
    """Whether Keras runs on JAX with the CPU as its only device kind (no GPU or TPU)."""
    import keras

    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.default_backend() == "cpu"


def slow_backend_note(settings, jax_cpu_only):
    """A note when JAX on a CPU will train the base (its table entry's slow_on_jax_cpu) very slowly, else ''."""
    if not jax_cpu_only or not BASES[settings.base_model].slow_on_jax_cpu or settings.profile == "smoke":
        return ""
    return (
        f"Note: on a 2-core CPU, JAX ran {BASES[settings.base_model].constructor}'s depthwise convolutions 15x "
        "slower than TensorFlow and notebook 06 4x slower (docs/backends.md); KERAS_BACKEND=tensorflow is likely "
        "faster here."
    )


# ---------------------------------------------------------------- notebook 00's tables


def download_hosts(settings):
    """The hosts the settings' data and the base's ImageNet weights come from (none for what needs no download)."""
    hosts = {data_host(settings)}
    if BASES[settings.base_model].weights_file:
        hosts.add(weights_host(settings.base_model))
    return sorted(hosts - {None})


def network_lines(settings):
    """One line per download host: whether this machine reaches it."""
    return [
        f"Network to {host}: {'yes' if downloads.network_available(host) else 'no'}"
        for host in download_hosts(settings)
    ]


def availability_table(settings):
    """A table of the data and weights the settings need, with their status and advice."""
    rows = [["data", *data_status(settings)], [f"weights ({settings.base_model})", *weights_status(settings)]]
    for row in rows:
        row[2] = "available" if row[2] else "NOT AVAILABLE"
    return Table(["what", "from", "status", "what to do"], rows, title="Data and weights")


def sources_table(settings):
    """One row per data source (COURSE_DATA_SOURCE): what it is, its classes, whether it is here, how to get it.

    Nothing is probed: a source that is not here names the command that fetches it and the host it comes
    from (availability_table and network_lines say whether the settings' own source can be had now).
    """
    rows = []
    for name, source in SOURCES.items():
        here = source.ready(settings)
        if here:
            how = ""
        elif source.prefetch is not None:
            how = f"downloaded on first use, or `{source.prefetch_command}` (about {source.size_mb} MB from {source.host()})"
        else:
            how = source.status(settings)[2]  # a source that downloads nothing: its status probes nothing
        classes = source.classes()
        rows.append(
            [
                f"{name} (in use)" if name == settings.data_source else name,
                source.what,
                ", ".join(classes) if classes else "from the data",
                "yes" if here else "no",
                how,
            ]
        )
    return Table(["COURSE_DATA_SOURCE", "what", "classes", "here", "how to get it"], rows, title="Data sources")


def show_settings(settings):
    """Display every setting in force, as a table."""
    _show(settings_table(settings))


def _show(table):
    try:
        from IPython.display import display

        display(table)
    except ImportError:
        print(table)


@contextlib.contextmanager
def friendly_errors():
    """Inside this block, missing data or weights and bad folders stop the notebook with one sentence.

        with notebook.friendly_errors():
            base_model = keras.applications.Xception(weights=..., include_top=False)

    Only the course's own errors (DataUnavailable, WeightsUnavailable), FileNotFoundError
    (a weights or image path that does not exist) and Keras failing to load a weights file (named with
    its base) are turned into a sentence; anything else keeps its stack trace.
    """
    try:
        yield
    except (DataUnavailable, WeightsUnavailable) as error:
        raise SystemExit(str(error)) from None
    except FileNotFoundError as error:
        raise SystemExit(f"File not found: {error.filename or error}.") from None
    except (ValueError, OSError) as error:
        sentence = weights_error_sentence(error)
        if not sentence:
            raise
        raise SystemExit(sentence) from None


# What Keras and h5py say when a weights file cannot be loaded into a base (seen on Keras 3.15.1).
WEIGHT_LOADING_ERRORS = (
    "Layer count mismatch",
    "File format not supported",
    "Shape mismatch",
    "Unable to open file",
    "Unable to synchronously open",
    "truncated file",
)


def weights_error_sentence(error):
    """One sentence naming the weights file and base when `error` is Keras failing to load weights, else ''.

    pretrained.resolve_weights checks a file before Keras sees it; this catches what that check cannot.
    """
    if not any(marker in str(error) for marker in WEIGHT_LOADING_ERRORS):
        return ""
    try:
        settings = load_settings()
    except SettingsError:
        return ""
    path = settings.weights
    if path == "imagenet":
        path = str(keras_cache_file(settings))
    first_line = str(error).strip().splitlines()[0][:120]
    return (
        f"The weights file {path} cannot be loaded into {settings.base_model} ({first_line}). Point COURSE_WEIGHTS "
        f"at {settings.base_model}'s weights file (include_top=False), or set it to imagenet or none."
    )


def keras_cache_file(settings):
    """Where the ImageNet weights file of the settings' base lives in the course cache."""
    return weights_path(settings.base_model, settings.cache_dir)


SCRATCH_MARK = ".made-by-the-course"  # in every folder scratch_folder makes: only such a folder is deleted
# What notebook 05 wrote into build/my_photos before folders were marked: <class>/<number>.jpg, not_a_photo.jpg.
_UNMARKED_COURSE_FILE = re.compile(r"[^/]+/(\d+|not_a_photo)\.jpg")


def scratch_folder(settings, name):
    """An empty folder `name` in the build folder for a notebook to write into; returns its path.

    The course deletes only a folder it made (marked with SCRATCH_MARK), and never one that is, holds or
    lies inside the data or cache in use (COURSE_DATA_DIR, COURSE_CACHE_DIR). Any other folder of that
    name is left alone and a fresh one beside it is used instead, with a sentence saying so.
    """
    folder = Path(os.path.realpath(settings.build_dir / name))
    protected = [Path(os.path.realpath(p)) for p in (settings.data_dir, settings.cache_dir) if p]
    in_use = [p for p in protected if p == folder or p.is_relative_to(folder) or folder.is_relative_to(p)]
    if not in_use and (not folder.exists() or _made_by_the_course(folder)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    else:
        parent = folder.parent
        if any(parent == p or parent.is_relative_to(p) for p in protected):
            parent = Path(tempfile.gettempdir())  # never write into the data in use either
        parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
        why = f"it holds the data in use ({in_use[0]})" if in_use else "the course did not make it"
        print(f"{folder} is left alone because {why}; this notebook writes to {fresh} instead.")
        folder = fresh
    (folder / SCRATCH_MARK).write_text("Made by the course; deleted and made again on the next run.\n")
    return folder


def _made_by_the_course(folder):
    if (folder / SCRATCH_MARK).is_file():
        return True
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()]
    return all(_UNMARKED_COURSE_FILE.fullmatch(f) for f in files) and len(files) <= 32


def results_path(settings, notebook_name):
    """Where a notebook writes the figures it measured (JSON), for the README, the bench and tests."""
    path = settings.build_dir / "results" / f"{notebook_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_results(settings, notebook_name, **figures):
    """Write the settings (under "settings") and the figures a notebook measured to its results file.

    Returns None, so a notebook cell that ends with this call shows nothing.
    """
    results = {"settings": dataclasses.asdict(settings), **figures}
    results_path(settings, notebook_name).write_text(json.dumps(results, indent=2, default=_plain) + "\n")


def _plain(value):
    """NumPy numbers and arrays, and paths, as JSON can hold them."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be saved as JSON")
