"""Notebook 05 writes its small photo folder into the build folder: it must never delete the learner's photos.

Before, it ran `shutil.rmtree(COURSE_BUILD_DIR/my_photos)` unconditionally; with COURSE_DATA_DIR equal to or
inside that folder, every photo was gone. These tests put real photos exactly there and count them after.
"""

import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from helpers import notebook
from helpers.config import REPO_ROOT, load_settings


def real_photos(root, per_class=12):
    """JPEGs in root/cat and root/dog; returns {relative path: bytes}."""
    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):  # noise, so that a flipped or rotated photo differs from the original
            Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(root / name / f"{i}.jpg")
    return snapshot(root)


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in Path(root).rglob("*") if p.is_file()}


def settings_for(tmp_path, data_dir=""):
    env = {"COURSE_PROFILE": "smoke", "COURSE_BUILD_DIR": str(tmp_path / "build")}
    env["COURSE_CACHE_DIR"] = str(tmp_path / "cache")
    if data_dir:
        env["COURSE_DATA_DIR"] = str(data_dir)
    return load_settings(env)


@pytest.mark.parametrize("where", ["my_photos", "my_photos/pets", "."])
def test_the_data_in_use_is_never_deleted(tmp_path, capsys, where):
    data_dir = (tmp_path / "build" / where).resolve()
    photos = real_photos(data_dir)
    settings = settings_for(tmp_path, data_dir)
    folder = notebook.scratch_folder(settings, "my_photos")
    assert snapshot(data_dir) == photos, "every photo is still there, unchanged"
    assert not (folder == data_dir or data_dir.is_relative_to(folder) or folder.is_relative_to(data_dir))
    assert list(folder.iterdir()) == [folder / notebook.SCRATCH_MARK]
    assert "is left alone because it holds the data in use" in capsys.readouterr().out


def test_a_folder_the_course_did_not_make_is_left_alone(tmp_path, capsys):
    own = real_photos(tmp_path / "build" / "my_photos", per_class=40)  # 40: more than the course ever writes
    (tmp_path / "build" / "my_photos" / "notes.txt").write_text("mine")
    folder = notebook.scratch_folder(settings_for(tmp_path), "my_photos")
    assert folder != tmp_path / "build" / "my_photos"
    assert snapshot(tmp_path / "build" / "my_photos") == {**own, "notes.txt": b"mine"}
    assert "the course did not make it" in capsys.readouterr().out


def test_the_courses_own_folder_is_emptied_and_reused(tmp_path, capsys):
    settings = settings_for(tmp_path)
    folder = notebook.scratch_folder(settings, "my_photos")
    real_photos(folder)
    assert notebook.scratch_folder(settings, "my_photos") == folder
    assert list(folder.iterdir()) == [folder / notebook.SCRATCH_MARK]
    assert capsys.readouterr().out == ""


def test_notebook_05_on_photos_inside_its_own_folder_keeps_them(tmp_path):
    """The issue's case run for real: COURSE_DATA_DIR=<build>/my_photos, then notebook 05 from start to end."""
    data_dir = tmp_path / "build" / "my_photos"
    photos = real_photos(data_dir)
    env = {"COURSE_DATA_DIR": str(data_dir), "COURSE_BUILD_DIR": str(tmp_path / "build")}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel inherits the environment
    try:
        source = REPO_ROOT / "notebooks" / "05_cats_vs_dogs_data.ipynb"
        nb = nbformat.read(source, as_version=4)
        NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(source.parent)}}).execute()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    assert snapshot(data_dir) == photos, "every photo is still there, unchanged"
