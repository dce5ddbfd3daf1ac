"""Plumbing for the transfer-learning course: settings, data, models, tables, plots, exercise checks."""

import os
import re
import sys
import tempfile
import warnings

# What TensorFlow's shared libraries write while they load, before its log level applies: absl's
# "All log messages before absl::InitializeLog() ..." and C++ log lines (oneDNN, CUDA stubs).
_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] )"
)


def set_course_environment():
    """Set what TensorFlow and Keras read from the environment when they are imported, here and in the
    processes this one starts: TensorFlow's C++ log level (3, unless set) and KERAS_BACKEND (tensorflow when
    unset; " jax" is jax).

    Called by notebook.start() and the commands before anything imports TensorFlow or starts a kernel, never
    on import: importing helpers changes no environment variable.
    """
    # Level 3 hides TensorFlow's C++ INFO, WARNING and ERROR lines after start-up, such as "failed call to
    # cuInit" on a machine without a GPU (an ERROR line, so 2 is not enough). Python exceptions are unaffected.
    # oneDNN stays on (TF_ENABLE_ONEDNN_OPTS would change numerics).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = os.environ.get("KERAS_BACKEND", "").strip() or "tensorflow"


def import_tensorflow_quietly():
    """Set the course's environment (set_course_environment), then import TensorFlow with its start-up log
    lines held back; any other line it writes is shown.

    The lines come from C++ static initialisers, straight to file descriptor 2, so no logging setting
    reaches them: stderr is pointed at a temporary file for the import, then restored. When the import
    fails, everything it wrote is shown.
    """
    set_course_environment()
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    failed = True
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401

            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            shown = [line for line in lines if failed or not _STARTUP_NOISE.match(line)]
            if shown:
                print("\n".join(shown), file=sys.stderr)


def quiet_expected_warnings():
    """Hide the warnings Keras gives for every tf.data input of unknown length: expected in this course."""
    warnings.filterwarnings("ignore", message=".*ran out of data.*")
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
