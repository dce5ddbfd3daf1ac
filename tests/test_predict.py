"""`make predict` (commands/predict.py) on a tiny model with the course model's contract, and its bad input."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from commands import predict
from helpers.pipelines import image_from_file

REPO = Path(__file__).resolve().parents[1]


def tiny_model(input_shape=(32, 32, 3), units=1):
    """A course model in miniature: raw 0-255 RGB in, Rescaling, a small convolution, one logit out."""
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(units)(x))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    keras.utils.set_random_seed(0)
    tiny_model().save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Two photos, one in a subfolder, a PNG, a truncated JPEG and a text file named .jpg."""
    folder = tmp_path_factory.mktemp("photos")
    (folder / "more").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(folder / "a.jpg", quality=90)
    Image.fromarray(rng.integers(0, 256, (45, 45, 3), dtype=np.uint8)).save(folder / "b.png")
    Image.fromarray(rng.integers(0, 256, (70, 50, 3), dtype=np.uint8)).save(folder / "more" / "c.jpg")
    whole = (folder / "a.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.jpg").write_text("not a photo\n")
    return folder


def run_main(capsys, *argv):
    code = predict.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_make_predict_passes_images_and_model():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "predict", "IMAGES=x.jpg y", "MODEL=m.keras"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert '-m commands.predict --model "m.keras" x.jpg y' in dry


def test_a_folder_gives_a_table_a_csv_and_a_contact_sheet(photos, model_path, tmp_path):
    out = tmp_path / "predictions"
    command = [sys.executable, "-m", "commands.predict", "--model", str(model_path), "--out", str(out), str(photos)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", "no TensorFlow start-up lines reach the terminal"
    good = [photos / "a.jpg", photos / "b.png", photos / "more" / "c.jpg"]
    assert "Skipped 2 of 5 files" in run.stdout
    assert f"{photos / 'cut.jpg'}: truncated JPEG" in run.stdout and f"{photos / 'notes.jpg'}: unreadable" in run.stdout
    header = next(line for line in run.stdout.splitlines() if line.startswith("file"))
    assert header.split() == ["file", "class", "P(dog)"]
    assert all(any(line.startswith(str(p)) for line in run.stdout.splitlines()) for p in good)
    with open(out / "predictions.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["file"] for row in rows] == [str(p) for p in good]
    model = keras.models.load_model(model_path)
    expected = model.predict_on_batch(np.stack([image_from_file(p, 32).numpy() for p in good]).astype("float32"))
    np.testing.assert_allclose([float(r["logit"]) for r in rows], expected[:, 0], atol=1e-3)  # the training resize
    for row in rows:
        p_dog = float(row["p_dog"])
        assert 0 <= p_dog <= 1 and row["class"] == ("dog" if float(row["logit"]) > 0 else "cat")
        assert abs(p_dog - 1 / (1 + np.exp(-float(row["logit"])))) < 1e-3
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.size == (3 * predict.THUMBNAIL, predict.THUMBNAIL + 16)


def test_several_files_and_the_progress_line(photos, model_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(predict, "BATCH_SIZE", 1)
    monkeypatch.setattr(predict, "PROGRESS_FROM", 2)
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path, photos / "a.jpg", photos / "b.png")
    assert code == 0
    assert "classified 1 of 2 images" in out and "classified 2 of 2 images" in out
    assert "2 images classified" in out and "0 skipped" in out


def test_default_model_is_the_one_notebook_05_saves(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))  # a build folder where notebook 05 has not run
    code, _, err = run_main(capsys, photos)
    assert code == 2 and one_sentence(err).startswith(f"The model file {tmp_path / 'models' / 'cats_vs_dogs.keras'}")


def one_sentence(err):
    assert err.count("\n") == 1 and err.strip().endswith("."), f"one sentence: {err!r}"
    return err.strip()


def test_missing_path(model_path, tmp_path, capsys):
    code, _, err = run_main(capsys, "--model", model_path, tmp_path / "nowhere.jpg")
    assert (
        code == 2 and one_sentence(err) == f"{tmp_path / 'nowhere.jpg'} does not exist (IMAGES takes files or folders)."
    )


def test_no_images_given(model_path, capsys):
    code, _, err = run_main(capsys, "--model", model_path)
    assert code == 2 and "give IMAGES=path" in one_sentence(err)


def test_an_empty_folder(model_path, tmp_path, capsys):
    code, _, err = run_main(capsys, "--model", model_path, tmp_path)
    assert code == 2 and one_sentence(err) == f"The folder {tmp_path} holds no files, so no images to classify."


def test_a_folder_without_images(model_path, tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("hello")
    (tmp_path / "fake.png").write_bytes(b"\x89PNG but not really")
    code, out, err = run_main(capsys, "--model", model_path, tmp_path)
    assert code == 2 and "None of the 2 files given is a usable image" in one_sentence(err)
    assert "readme.txt: not an image file" in out and "fake.png: unreadable" in out


def test_a_file_that_is_not_an_image_is_skipped(photos, model_path, tmp_path, capsys):
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path, photos / "notes.jpg", photos / "b.png")
    assert code == 0 and f"{photos / 'notes.jpg'}: unreadable" in out and "1 image classified" in out


def test_missing_model(photos, tmp_path, capsys):
    code, _, err = run_main(capsys, "--model", tmp_path / "none.keras", photos)
    assert code == 2 and f"The model file {tmp_path / 'none.keras'} does not exist" in one_sentence(err)


def test_a_model_file_that_is_not_a_keras_file(photos, tmp_path, capsys):
    (tmp_path / "broken.keras").write_bytes(b"PK not a zip")
    code, _, err = run_main(capsys, "--model", tmp_path / "broken.keras", photos)
    assert code == 2 and "is not a Keras model file Keras can load" in one_sentence(err)


@pytest.mark.parametrize(
    "input_shape, units, said",
    [((32, 32, 1), 1, "(None, 32, 32, 1)"), ((32, 32, 3), 2, "(None, 2)")],
    ids=["grey input", "two outputs"],
)
def test_a_model_that_is_not_a_course_model(photos, tmp_path, capsys, input_shape, units, said):
    tiny_model(input_shape, units).save(tmp_path / "other.keras")
    code, _, err = run_main(capsys, "--model", tmp_path / "other.keras", photos)
    assert code == 2 and "is not a course model" in one_sentence(err) and said in err


def test_links_are_followed_or_reported_and_a_jpeg_named_png_is_read(model_path, tmp_path, capsys):
    folder, elsewhere = tmp_path / "photos", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(folder / "jpeg.png", format="JPEG")
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(elsewhere / "linked.jpg")
    (folder / "linked_folder").symlink_to(elsewhere)
    (folder / "loop").symlink_to(folder)  # a link back up the tree: walked once, not forever
    (folder / "broken.jpg").symlink_to(tmp_path / "gone.jpg")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", folder)
    assert code == 0 and f"{folder / 'broken.jpg'}: a broken link" in out, "a broken link is reported, not dropped"
    with open(tmp_path / "out" / "predictions.csv") as file:
        classified = [row["file"] for row in csv.DictReader(file)]
    assert classified == [str(folder / "jpeg.png"), str(folder / "linked_folder" / "linked.jpg")]
    assert "Skipped 1 of 3 files" in out and "2 images classified" in out


def test_every_skipped_file_is_listed(model_path, tmp_path, capsys):
    for i in range(7):
        (tmp_path / f"note_{i}.txt").write_text("not a photo")
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "black.png")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", tmp_path)
    assert code == 0 and all(f"note_{i}.txt: not an image file" in out for i in range(7))
    assert "1 image classified" in out


def test_an_unloadable_model_is_named_in_one_whole_sentence(photos, tmp_path, capsys):
    (tmp_path / "model.txt").write_text("not a model")
    code, _, err = run_main(capsys, "--model", tmp_path / "model.txt", photos)
    sentence = one_sentence(err)
    assert code == 2 and sentence.startswith(f"{tmp_path / 'model.txt'} is not a Keras model file Keras can load (")
    assert sentence.endswith("(File format not supported: filepath=" + str(tmp_path / "model.txt") + ")."), sentence
