"""The first cell of every notebook: read the settings, show them, seed everything."""

from helpers.config import SettingsError, load_settings
from helpers.tables import settings_table


def start():
    """Load and display the settings in force, seed Keras, NumPy and Python; return the settings.

    A bad COURSE_* value stops the notebook with one sentence instead of a stack trace.
    """
    try:
        settings = load_settings()
    except SettingsError as error:
        raise SystemExit(f"Settings problem: {error}") from None
    import keras

    keras.utils.set_random_seed(settings.seed)
    _show(settings_table(settings))
    return settings


def _show(table):
    try:
        from IPython.display import display

        display(table)
    except ImportError:
        print(table)
