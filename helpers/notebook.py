"""The first cell of every notebook: read the settings, show them, seed everything."""

import warnings
from pathlib import Path

import keras

from helpers.config import SettingsError, load_settings
from helpers.data import DataError, DataUnavailable
from helpers.models import WeightsUnavailable
from helpers.tables import settings_table


def start():
    """Load and display the settings in force, seed Keras, NumPy and Python; return the settings.

    A bad COURSE_* value stops the notebook with one sentence instead of a stack trace.
    """
    try:
        settings = load_settings()
    except SettingsError as error:
        raise SystemExit(f"Settings problem: {error}") from None
    # Keras warns about these for every tf.data input of unknown length; they are expected here.
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    keras.utils.set_random_seed(settings.seed)
    _show(settings_table(settings))
    return settings


def _show(table):
    try:
        from IPython.display import display

        display(table)
    except ImportError:
        print(table)


def explain_errors(load, *args):
    """Call `load(*args)`; missing data or weights and bad folders stop the notebook with one sentence."""
    try:
        return load(*args)
    except (DataError, DataUnavailable, WeightsUnavailable) as error:
        raise SystemExit(str(error)) from None


def results_path(settings, notebook_name):
    """Where a notebook writes the figures it measured (JSON), for the README, the bench and tests."""
    path = Path(settings.build_dir) / "results" / f"{notebook_name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
