"""Proof on real photos, offline: notebook 05 with the ImageNet MobileNet on ../shared's cats and dogs."""

import json
from pathlib import Path

import pytest

from conftest import MOBILENET_WEIGHTS, REAL_PHOTOS, require_shared_material
from helpers.run_course import execute_notebook

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_transfer_and_finetune.ipynb"


def run_notebook_05(monkeypatch, build_dir, weights):
    """Execute notebook 05 in the quick profile on the real photos; return the results it wrote."""
    monkeypatch.setenv("COURSE_PROFILE", "quick")
    monkeypatch.setenv("COURSE_DATA_DIR", str(REAL_PHOTOS))
    monkeypatch.setenv("COURSE_BASE_MODEL", "mobilenet_v1_0.25")
    monkeypatch.setenv("COURSE_WEIGHTS", weights)
    monkeypatch.setenv("COURSE_BUILD_DIR", str(build_dir))
    ok, _, error = execute_notebook(NOTEBOOK, build_dir / "executed.ipynb")
    assert ok, error
    return json.loads((build_dir / "results" / "05_transfer_and_finetune.json").read_text())


@pytest.fixture(scope="module")
def shared_material():
    require_shared_material()


def test_pretrained_mobilenet_beats_random_weights_on_real_photos(shared_material, monkeypatch, tmp_path):
    pretrained = run_notebook_05(monkeypatch, tmp_path / "pretrained", str(MOBILENET_WEIGHTS))
    random = run_notebook_05(monkeypatch, tmp_path / "random", "none")
    print(f"test accuracy: ImageNet weights {pretrained['test_accuracy']:.4f}, random {random['test_accuracy']:.4f}")
    assert pretrained["sizes"]["test"] >= 300
    assert pretrained["test_accuracy"] >= 0.90
    assert pretrained["test_accuracy"] - random["test_accuracy"] >= 0.15
    assert (tmp_path / "pretrained" / "models" / "cats_vs_dogs.keras").is_file()
