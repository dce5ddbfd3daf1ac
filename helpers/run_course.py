"""`make run`: execute every notebook, in order, into build/executed/, and print a summary.

The notebooks in notebooks/ are only read. Without network, unavailable data or weights are
replaced by synthetic images and random weights, and the summary says so.
"""

import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.availability import offline_fallback
from helpers.config import REPO_ROOT, SettingsError, load_settings
from helpers.network import network_available
from helpers.tables import Table


def notebook_paths(folder=REPO_ROOT / "notebooks"):
    """The course's notebooks, in order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(source, target, timeout=3600):
    """Run `source` in a fresh kernel, write the executed copy to `target`; return (ok, seconds, error)."""
    notebook = nbformat.read(source, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(source.parent)}})
    started = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as failure:
        error = _last_line(str(failure))
    finally:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    return not error, time.perf_counter() - started, error


def _last_line(text):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Jupyter colours its tracebacks
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else "failed"


def main():
    """Run the course; exit non-zero when a setting is bad or a notebook fails."""
    os.environ.setdefault("COURSE_PROFILE", "quick")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Settings problem: {error}")
        return 2
    overrides, removed, fallback = offline_fallback(settings, network_available())
    if fallback:
        print(fallback)
        os.environ.update(overrides)
        for name in removed:
            os.environ.pop(name, None)
        settings = load_settings()
    executed_dir = Path(settings.build_dir) / "executed"
    rows = []
    for source in notebook_paths():
        print(f"running {source.name} ...", flush=True)
        ok, seconds, error = execute_notebook(source, executed_dir / source.name)
        rows.append([source.stem, "ok" if ok else "FAILED", round(seconds), error])
    print()
    if fallback:
        print(fallback)
    print(f"profile {settings.profile}, data {settings.data_source}, base {settings.base_model}, "
          f"weights {settings.weights}; executed copies in {executed_dir}")
    print(Table(["notebook", "status", "seconds", "error"], rows))
    return 0 if all(row[1] == "ok" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
