"""How an executed notebook was made: recorded by `make run` in the executed copy, shown by `make site`.

`make run` (commands/run_course.py) stores `run_record(...)` in the executed copy's metadata under
RECORD_KEY; the site (commands/site.py) turns it into the banner at the top of the notebook's page.
Imports nothing heavy: the runner itself never imports TensorFlow or Keras.
"""

import datetime
import os
import subprocess
from pathlib import Path

from helpers.config import REPO_ROOT, SettingsError, load_settings

RECORD_KEY = "course_run"
# The first words of the line notebook.start() prints for synthetic images or random weights
# (helpers/notebook.py, fake_results_warning).
WARNING_START = "Warning: this run uses"


def course_commit(repo=REPO_ROOT):
    """The repository's commit (short hash, with "+ changes" when the work tree differs), or "unknown"."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return f"{commit} + changes" if changed else commit


def printed_warning(notebook):
    """The synthetic-images / random-weights warning the executed `notebook` printed, or ''."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith(WARNING_START):
                    return line.strip()
    return ""


def run_record(notebook, env=None, commit=None):
    """The record of one notebook's run: profile, data, base, weights, backend, commit, date, warning."""
    env = os.environ if env is None else env
    try:
        settings = load_settings(env)
    except SettingsError as error:  # the notebook stopped on it; the copy is still written, with the reason
        made = dict.fromkeys(("profile", "data", "base", "weights"), f"unreadable settings ({error})")
    else:
        weights = settings.weights if settings.weights in ("imagenet", "none") else Path(settings.weights).name
        made = {"profile": settings.profile, "data": settings.data_source, "base": settings.base_model}
        made["weights"] = weights
    return {
        **made,
        "backend": env.get("KERAS_BACKEND", "").strip() or "tensorflow",
        "commit": commit or course_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "warning": printed_warning(notebook),
    }
