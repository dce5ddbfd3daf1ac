"""`make lab`: JupyterLab on notebooks/, opening without friction.

One entry per lesson in the file browser (the .py twins are hidden; jupytext still keeps them in sync),
no news pop-up (lab/overrides.json, installed into the environment), `--allow-root` only for root, and
the address to open printed. The notebooks carry a python3 kernelspec, so no kernel dialog appears.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from commands import argument_parser
from helpers.config import REPO_ROOT

HIDDEN_IN_FILE_BROWSER = ["*.py", "*.toml", "__pycache__", "*.pyc", ".ipynb_checkpoints"]
SETTINGS_OVERRIDES = REPO_ROOT / "lab" / "overrides.json"


def install_settings(prefix=sys.prefix):
    """Copy the course's JupyterLab settings overrides into the environment at `prefix`; return the copy."""
    target = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SETTINGS_OVERRIDES, target)
    return target


def lab_command(port=None, token=None, open_browser=True, notebook_dir=REPO_ROOT / "notebooks"):
    """The `jupyter lab` command line the course uses (and its browser test)."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={notebook_dir}",
        f"--ContentsManager.hide_globs={HIDDEN_IN_FILE_BROWSER!r}",
    ]
    if port is not None:
        command.append(f"--port={port}")
    if token is not None:
        command.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Docker and cloud machines often run as root
        command.append("--allow-root")
    return command


def main(argv=None):
    """Install the settings, start JupyterLab, and say which address to open; return JupyterLab's exit code
    (0 after Ctrl-C). `argv` takes only --help."""
    argument_parser("make lab", __doc__).parse_args(argv)
    install_settings()
    print(
        "Starting JupyterLab on notebooks/. Open the http://localhost:... address printed below "
        "(with its token); stop with Ctrl-C.",
        flush=True,
    )
    try:
        return subprocess.call(lab_command())
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
