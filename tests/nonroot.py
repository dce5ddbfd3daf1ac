"""Run a function as a user other than root, for the tests where permissions matter.

As root, permission bits do not apply, so a folder with mode 0o555 is still writable. The function runs
in a forked child that has given up root (user "nobody"), with its output captured. The child keeps the
interpreter the tests already loaded: the course's Python lives under /root, which "nobody" cannot open.
"""

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

NOBODY = 65534


def open_folder():
    """A new folder that "nobody" can enter and read (pytest's tmp_path is closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="course-nonroot-"))
    folder.chmod(0o755)
    return folder


def run_as_nobody(function, *args):
    """(return value, stdout, stderr) of `function(*args)` run as "nobody" when the tests run as root,
    else as the current user (for whom permission bits already apply)."""
    if os.getuid() != 0:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            value = function(*args)
        return value, out.getvalue(), err.getvalue()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.close(read_end)
        out, err = io.StringIO(), io.StringIO()
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                value = function(*args)
        except BaseException as error:  # reported to the parent as the value, never raised in the child
            value = f"raised {type(error).__name__}: {error}"
        with os.fdopen(write_end, "w") as pipe:
            json.dump([value, out.getvalue(), err.getvalue()], pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        value, out, err = json.loads(pipe.read() or '[null, "", "the child wrote nothing"]')
    os.waitpid(child, 0)
    return value, out, err
