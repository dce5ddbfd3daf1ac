"""The folders the course uses: the one check that the image folder it reads is there, the folders the commands
write to (made when missing, one sentence when they cannot be), and a lock so that two runs of one command never
write to the same folder at once."""

import fcntl
import os
from pathlib import Path


class FolderProblem(Exception):
    """A command cannot write to a folder; its message is one sentence for the user."""


def file_in_the_way(folder):
    """The file that stands at `folder` or at one of its parents, so that the folder cannot be made; None
    when there is none. A parent the user cannot open counts as no file (lexists says False, not an error)."""
    folder = Path(folder)
    return next(
        (place for place in (folder, *folder.parents) if os.path.lexists(place) and not os.path.isdir(place)), None
    )


def image_folder_problem(folder):
    """The sentence for an image folder (COURSE_DATA_DIR) that does not exist or is a file; '' when it is a folder.

    The one check of that folder, asked by notebook 00's table, by `make run` before any notebook starts, and by
    helpers.data.labelled_splits before it reads the folder.
    """
    folder = Path(folder)
    if folder.is_dir():
        return ""
    what = "is a file, not a folder" if folder.exists() else "does not exist"
    return (
        f"The image folder {folder} (COURSE_DATA_DIR) {what}: point COURSE_DATA_DIR at a folder of class folders "
        "(cat/ and dog/) or of train/ and validation/ folders."
    )


def lock_folder(folder, command, advice):
    """Make `folder` if needed and hold `folder`/.<command>.lock while `command` writes there.

    Returns the open lock file: the lock lasts while it is open, and ends with the process however it
    ends, so a killed run leaves no stale lock. Raises FolderProblem with one sentence when the folder
    cannot be made or written to (a file in the way, no permission, a full disk) or when another run of
    `command` holds the lock; `advice` says how to give this run a folder of its own.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f".{command.replace(' ', '-')}.lock", "a+")
    except (FileExistsError, NotADirectoryError):
        raise FolderProblem(
            f"{command} cannot make the folder {folder}: {file_in_the_way(folder)} is a file; {advice}."
        ) from None
    except OSError as error:  # PermissionError (as any user but root), a read-only or full disk
        raise FolderProblem(f"{command} cannot write to {folder} ({error.strerror.lower()}); {advice}.") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise FolderProblem(
            f"Another {command} (process {holder}) is writing to {folder}: wait for it to end, stop it, or {advice}."
        ) from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock
