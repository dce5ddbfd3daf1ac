"""`make predict` (commands/predict.py) on a tiny model with the course model's contract, and its bad input."""

import csv
import io
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from nonroot import open_folder, run_as_nobody
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


def make_predict_command(*variables):
    """The command `make predict VARIABLE=...` would run (make -n), split into words as the shell splits it."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "predict", *variables], cwd=REPO, env=env, capture_output=True, text=True
    ).stdout
    return shlex.split(dry.strip().splitlines()[-1])


def test_make_predict_passes_images_and_model():
    command = make_predict_command("IMAGES=x.jpg y", "MODEL=m.keras")
    assert command[-5:] == ["commands.predict", "--model", "m.keras", "x.jpg", "y"]


def test_a_folder_gives_a_table_a_csv_and_a_contact_sheet(photos, model_path, tmp_path):
    out = tmp_path / "predictions"
    command = [sys.executable, "-m", "commands.predict", "--model", str(model_path), "--out", str(out), str(photos)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stderr == "", "no TensorFlow start-up lines reach the terminal"
    good = [photos / "a.jpg", photos / "b.png", photos / "more" / "c.jpg"]
    assert "Skipped 2 of 5 files" in run.stdout
    assert (
        f"{photos / 'cut.jpg'}: truncated JPEG" in run.stdout
        and f"{photos / 'notes.jpg'}: not an image, though its name ends in .jpg" in run.stdout
    )
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


def test_default_model_is_the_one_notebook_06_saves(photos, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))  # a build folder where notebook 06 has not run
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
    assert "readme.txt: not an image file" in out and "fake.png: not an image, though its name ends in .png" in out


def test_a_file_that_is_not_an_image_is_skipped(photos, model_path, tmp_path, capsys):
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path, photos / "notes.jpg", photos / "b.png")
    assert code == 0 and f"{photos / 'notes.jpg'}: not an image, though its name ends in .jpg" in out
    assert "1 image classified" in out


def test_missing_model(photos, tmp_path, capsys):
    code, _, err = run_main(capsys, "--model", tmp_path / "none.keras", photos)
    assert code == 2 and f"The model file {tmp_path / 'none.keras'} does not exist" in one_sentence(err)


def test_a_zip_that_is_not_a_keras_file(photos, tmp_path, capsys):
    with zipfile.ZipFile(tmp_path / "photos.keras", "w") as archive:
        archive.writestr("holiday.txt", "not a model")
    code, _, err = run_main(capsys, "--model", tmp_path / "photos.keras", photos)
    sentence = one_sentence(err)
    assert code == 2 and sentence.startswith(f"{tmp_path / 'photos.keras'} is not a Keras model file Keras can load (")


@pytest.mark.parametrize(
    "input_shape, units, said",
    [((32, 32, 1), 1, "(None, 32, 32, 1)"), ((32, 32, 3), 3, "returns 3 outputs but carries no class names")],
    ids=["grey input", "three outputs without class names"],
)
def test_a_model_that_is_not_a_course_model(photos, tmp_path, capsys, input_shape, units, said):
    tiny_model(input_shape, units).save(tmp_path / "other.keras")
    code, _, err = run_main(capsys, "--model", tmp_path / "other.keras", photos)
    assert code == 2 and said in one_sentence(err)


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


@pytest.mark.parametrize(
    "content, said",
    [(b"", "is empty (0 bytes)"), (b"not a model\n", "is a text file"), (bytes(range(256)), "holds other data")],
    ids=["empty", "text", "other data"],
)
def test_a_model_file_that_is_no_zip_says_what_it_is(photos, tmp_path, capsys, content, said):
    # Before: "File not found" for a file that exists.
    (tmp_path / "model.keras").write_bytes(content)
    code, _, err = run_main(capsys, "--model", tmp_path / "model.keras", photos)
    assert code == 2 and one_sentence(err) == (
        f"The model file {tmp_path / 'model.keras'} {said}, not a Keras model: a .keras file is a zip archive, "
        "as notebook 06 saves it."
    )


# ---------------------------------------------------------------- bad input, said before TensorFlow is imported


def photo(path, size=(50, 40), **save_args):
    """A random RGB photo of `size` (width, height) saved at `path`; returns the path."""
    rng = np.random.default_rng(len(str(path)))
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, **save_args)
    return path


def light_run(tmp_path, argv, env=None):
    """`commands.predict.main(argv)` in a fresh process: (exit code, stdout, stderr, TensorFlow imported?)."""
    script = (
        "import sys; from commands import predict; code = predict.main(sys.argv[1:]); "
        "print('tensorflow imported' if 'tensorflow' in sys.modules else '', file=sys.stderr); sys.exit(code)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, *map(str, argv)],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = run.stderr.replace("tensorflow imported\n", "")
    return run.returncode, run.stdout, err.rstrip("\n") + "\n", "tensorflow imported" in run.stderr


@pytest.mark.parametrize(
    "case",
    ["no images", "model missing", "model empty", "model text", "build folder is a file", "out folder is a file"],
)
def test_bad_input_is_one_sentence_before_tensorflow_loads(tmp_path, model_path, case):
    # Before: every make predict imported TensorFlow first (6-8 s for "Nothing to classify"), and a build
    # folder that is a file raised NotADirectoryError.
    picture = photo(tmp_path / "a.jpg")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder")
    (tmp_path / "empty.keras").write_bytes(b"")
    (tmp_path / "text.keras").write_text("a model?")
    argv, env, said = {
        "no images": (["--model", model_path], {}, "Nothing to classify"),
        "model missing": (["--model", tmp_path / "no.keras", picture], {}, "does not exist"),
        "model empty": (["--model", tmp_path / "empty.keras", picture], {}, "is empty (0 bytes)"),
        "model text": (["--model", tmp_path / "text.keras", picture], {}, "is a text file"),
        "build folder is a file": (
            [picture],
            {"COURSE_BUILD_DIR": str(notes)},
            f"COURSE_BUILD_DIR='{notes}' is a file",
        ),
        "out folder is a file": (
            ["--model", model_path, "--out", notes / "predictions", picture],
            {},
            f"make predict cannot make the folder {notes / 'predictions'}: {notes} is a file;",
        ),
    }[case]
    code, out, err, tensorflow = light_run(tmp_path, argv, env)
    assert code == 2 and said in one_sentence(err), err
    assert not tensorflow, "the input alone shows the problem: TensorFlow need not be imported"


def test_a_folder_it_cannot_write_is_one_sentence_before_any_image_is_classified(model_path):
    # Before: make predict classified every image, then raised PermissionError on predictions/.
    shared = open_folder()
    try:
        shutil.copy(model_path, shared / "tiny.keras")
        picture = photo(shared / "a.jpg")
        locked = shared / "locked"
        locked.mkdir(mode=0o555)
        argv = ["--model", str(shared / "tiny.keras"), "--out", str(locked / "predictions"), str(picture)]
        code, out, err = run_as_nobody(predict.main, argv)
        assert code == 2, (code, out, err)
        assert out == "" and one_sentence(err) == (
            f"make predict cannot write to {locked / 'predictions'} (permission denied); give this run a folder of "
            "its own with OUT=path."
        )
    finally:
        shutil.rmtree(shared)


def test_a_model_file_it_cannot_read_is_one_sentence(model_path):
    shared = open_folder()
    try:
        shutil.copy(model_path, shared / "secret.keras")
        (shared / "secret.keras").chmod(0o000)
        picture = photo(shared / "a.jpg")
        code, out, err = run_as_nobody(predict.main, ["--model", str(shared / "secret.keras"), str(picture)])
        assert (
            code == 2
            and one_sentence(err) == f"The model file {shared / 'secret.keras'} cannot be read (permission denied)."
        )
    finally:
        shutil.rmtree(shared)


def test_ctrl_c_says_nothing_was_written_and_whose_the_old_csv_is(photos, model_path, tmp_path, capsys, monkeypatch):
    # Before: a 30-frame KeyboardInterrupt traceback, and the previous run's CSV with nothing saying so.
    (tmp_path / "predictions.csv").write_text("file,class,p_dog,logit\nold.jpg,cat,0.1,-2.2\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(predict, "classify", interrupted)
    code, out, err = run_main(capsys, "--model", model_path, "--out", tmp_path, photos)
    assert code == 130 and "Traceback" not in out + err
    sentence = one_sentence(err)
    assert sentence.startswith(
        f"Stopped by Ctrl-C: this run wrote no predictions. {tmp_path / 'predictions.csv'} is an"
    )
    assert (tmp_path / "predictions.csv").read_text().endswith("old.jpg,cat,0.1,-2.2\n"), "the old CSV is kept"
    assert not list(tmp_path.glob("*.partial*"))


def test_a_second_run_on_the_same_folder_is_refused(photos, model_path, tmp_path, capsys):
    # Before: the later run's CSV was overwritten by the earlier one after it printed "Wrote ...".
    from helpers.folders import lock_folder

    with lock_folder(tmp_path, "make predict", predict.OUT_ADVICE):  # the first run, still going
        code, _, err = run_main(capsys, "--model", model_path, "--out", tmp_path, photos)
    assert code == 2 and one_sentence(err) == (
        f"Another make predict (process {os.getpid()}) is writing to {tmp_path}: wait for it to end, stop it, or give "
        "this run a folder of its own with OUT=path."
    )
    assert not (tmp_path / "predictions.csv").exists()


def test_a_misspelt_setting_is_named_with_the_closest_one(photos, model_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_EPOCH_HEAD", "1")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path, photos / "a.jpg")
    assert code == 0
    assert (
        "Warning: COURSE_EPOCH_HEAD is not a course setting, so it is ignored; did you mean COURSE_EPOCHS_HEAD?" in out
    )


def sigmoid_model(activation):
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation=activation, bias_initializer="ones")(x))


def test_a_model_ending_in_a_sigmoid_is_read_as_probabilities(photos, tmp_path, capsys):
    # Before: its probability was read as a logit, so every image came out dog (a probability is above 0).
    model = sigmoid_model("sigmoid")
    model.save(tmp_path / "sigmoid.keras")
    code, out, _ = run_main(capsys, "--model", tmp_path / "sigmoid.keras", "--out", tmp_path, photos / "a.jpg")
    assert code == 0 and "The model's last layer applies a sigmoid: its outputs were read as probabilities." in out
    with open(tmp_path / "predictions.csv") as file:
        (row,) = list(csv.DictReader(file))
    p_dog = float(model.predict_on_batch(image_from_file(photos / "a.jpg", 32).numpy()[None])[0, 0])
    assert abs(float(row["p_dog"]) - p_dog) < 1e-4 and abs(float(row["logit"]) - np.log(p_dog / (1 - p_dog))) < 1e-3
    assert row["class"] == ("dog" if p_dog > 0.5 else "cat")


@pytest.mark.parametrize("activation", ["softmax", "relu"])
def test_a_model_whose_output_is_no_logit_is_refused(photos, tmp_path, capsys, activation):
    sigmoid_model(activation).save(tmp_path / "other.keras")
    code, _, err = run_main(capsys, "--model", tmp_path / "other.keras", photos)
    assert code == 2 and f"its last layer applies {activation}, so its output is neither" in one_sentence(err)


def test_a_file_given_twice_is_classified_once(photos, model_path, tmp_path, capsys):
    # Before: "14 images classified" for 12 files.
    code, out, _ = run_main(
        capsys, "--model", model_path, "--out", tmp_path, photos / "a.jpg", photos, photos / "a.jpg"
    )
    assert code == 0 and "2 files given more than once: each is classified once." in out
    with open(tmp_path / "predictions.csv") as file:
        files = [row["file"] for row in csv.DictReader(file)]
    assert sorted(files) == sorted({str(photos / "a.jpg"), str(photos / "b.png"), str(photos / "more" / "c.jpg")})


def test_hidden_files_and_folders_are_left_out(model_path, tmp_path, capsys):
    # Before: a folder with .git listed every git object as a skipped file.
    folder = tmp_path / "album"
    (folder / ".git" / "objects" / "ab").mkdir(parents=True)
    (folder / ".git" / "objects" / "ab" / "cdef01").write_bytes(b"x\x9c blob")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    photo(folder / "dog.jpg")
    (folder / "._dog.jpg").write_bytes(b"\0\5\26\7 AppleDouble")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", folder)
    assert code == 0 and "Skipped" not in out and ".git" not in out.replace("such as .git", "")
    assert "Left out 3 hidden files or folders (names that start with a dot, such as .git)." in out
    assert "1 image classified" in out


def test_tilde_is_expanded_in_model_and_images(photos, model_path, tmp_path, capsys, monkeypatch):
    # Before: MODEL=~/model.keras "does not exist" (make passes the quoted ~ through).
    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copy(model_path, tmp_path / "model.keras")
    shutil.copy(photos / "a.jpg", tmp_path / "a.jpg")
    code, out, err = run_main(capsys, "--model", "~/model.keras", "--out", "~/out", "~/a.jpg")
    assert code == 0, err
    assert f"classified with {tmp_path / 'model.keras'}" in out and (tmp_path / "out" / "predictions.csv").exists()


def test_images_are_recognised_by_content(model_path, tmp_path, capsys):
    # Before: a JPEG without an extension was "not an image file", and WebP "a WEBP image, which TensorFlow
    # cannot decode", though TensorFlow 2.21 decodes it.
    folder = tmp_path / "in"
    folder.mkdir()
    photo(folder / "IMG_0001", format="JPEG")
    photo(folder / "web.webp")
    Image.new("RGBA", (30, 20), (1, 2, 3, 4)).save(folder / "clear.webp", lossless=True)
    photo(folder / "scan.tif")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", folder)
    assert code == 0 and "2 images classified" in out, out
    assert f"{folder / 'clear.webp'}: a WEBP image with transparency, which TensorFlow cannot decode to RGB" in out
    assert f"{folder / 'scan.tif'}: a TIFF image, which TensorFlow cannot decode: convert it to JPEG or PNG" in out


def test_the_formats_named_decodable_are_those_tensorflow_decodes():
    import tensorflow as tf

    from helpers.data import DECODABLE_FORMATS

    decodes = set()
    for image_format in ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF", "JPEG2000", "ICO", "PPM", "TGA"):
        saved = io.BytesIO()
        Image.new("RGB", (20, 10), (5, 6, 7)).save(saved, format=image_format)
        try:
            tf.io.decode_image(saved.getvalue(), channels=3, expand_animations=False)
            decodes.add(image_format)
        except tf.errors.InvalidArgumentError:
            pass
    assert decodes == DECODABLE_FORMATS


def test_a_skip_reason_does_not_cut_the_path(model_path, tmp_path, capsys):
    # Before: "unreadable (cannot identify image file '/tmp/.../my)", the path cut mid-word.
    folder = tmp_path / "my. holiday photos, the long-named folder of the summer" / "day. one"
    folder.mkdir(parents=True)
    png = photo(folder / "beach.png").read_bytes()
    (folder / "beach.png").write_bytes(png[:60] + bytes([png[60] ^ 0xFF]) + png[61:])  # a bad chunk checksum
    (folder / "fake.jpg").write_text("not a photo")
    photo(folder / "good.jpg")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", folder)
    lines = {line.strip() for line in out.splitlines()}
    assert f"{folder / 'beach.png'}: unreadable (broken PNG file (bad header checksum in b'IDAT'))" in lines, out
    assert f"{folder / 'fake.jpg'}: not an image, though its name ends in .jpg" in lines


def test_without_a_terminal_progress_is_a_handful_of_lines(model_path, tmp_path, capsys, monkeypatch):
    # Before: one line per batch (94 lines for 3,000 images).
    for i in range(40):
        photo(tmp_path / f"{i:02d}.png", size=(20, 20))
    monkeypatch.setattr(predict, "BATCH_SIZE", 1)
    monkeypatch.setattr(predict, "PROGRESS_FROM", 2)
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", tmp_path)
    progress = [line for line in out.splitlines() if line.strip().startswith("classified")]
    assert code == 0 and progress == [f"  classified {n} of 40 images" for n in (10, 20, 30, 40)]


def test_a_16_bit_png_is_shown_on_the_contact_sheet(tmp_path):
    # Before: its tile was blank white (Pillow's convert("RGB") clips 16-bit values).
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    row = (tmp_path / "deep.png", "cat", 0.8, [0.8, 0.2], -1.3863)
    predict.write_contact_sheet(tmp_path / "sheet.png", [row], ["cat", "dog"])
    tile = np.asarray(Image.open(tmp_path / "sheet.png").convert("L"))[: predict.THUMBNAIL]
    assert tile.min() < 10 and tile.max() > 245 and 100 < np.median(tile) < 160, "a ramp from black to white"


def test_a_photo_with_an_exif_rotation_is_named_and_shown_as_the_model_saw_it(model_path, tmp_path, capsys):
    # The course reads pixels as stored (tf.io.decode_image ignores EXIF): said, not silently.
    exif = Image.Exif()
    exif[predict.EXIF_ORIENTATION] = 6  # "turn 90 degrees clockwise to view"
    picture = photo(tmp_path / "portrait.jpg", size=(80, 40), exif=exif)
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", picture)
    assert code == 0 and "1 photo (such as portrait.jpg) carries an EXIF rotation" in out
    sheet = np.asarray(Image.open(tmp_path / "out" / "contact_sheet.png").convert("L"))
    assert sheet[:20, :].min() == 255 and sheet[40:80, :].min() < 255, "stored wide (80 x 40), not turned upright"


def test_a_path_with_an_apostrophe_reaches_the_command_whole():
    # The README said to quote a path inside in single quotes, which breaks on "Rex's dog.jpg".
    docs = (REPO / "README.md").read_text() + (REPO / "docs" / "using-the-model.md").read_text()
    assert "make predict IMAGES='\"my photos/\"'" in docs and "IMAGES=\"'" not in docs
    command = make_predict_command('IMAGES="Rex\'s dog.jpg" cat.png', "OUT=my out")
    assert command[-5:] == ["commands.predict", "--out", "my out", "Rex's dog.jpg", "cat.png"]


# ---------------------------------------------------------------- any number of classes


def flower_model(path, class_names, activation=None):
    """A tiny course model of len(class_names) classes, saved with its class names as notebook 06 does."""
    from helpers.models import save_class_names

    keras.utils.set_random_seed(3)
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(len(class_names), activation=activation)(x))
    model.save(path)
    save_class_names(path, class_names)
    return model


FLOWERS = ["daisy", "dandelion", "rose", "sunflower", "tulip"]


def test_a_model_of_five_classes_prints_their_names(photos, tmp_path, capsys):
    model = flower_model(tmp_path / "flowers.keras", FLOWERS)
    out_dir = tmp_path / "out"
    code, out, _ = run_main(capsys, "--model", tmp_path / "flowers.keras", "--out", out_dir, photos / "a.jpg")
    assert code == 0
    logits = model.predict_on_batch(image_from_file(photos / "a.jpg", 32).numpy()[None].astype("float32"))[0]
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    ranked = np.argsort(-probabilities)
    line = next(line for line in out.splitlines() if line.startswith(str(photos / "a.jpg")))
    expected = [f"{FLOWERS[k]} {probabilities[k]:.1%}" for k in ranked[:3]]
    assert line.split()[1:] == " ".join(expected).split(), line
    assert "(5 classes (daisy, dandelion, rose, sunflower, tulip); the most probable one)" in out
    with open(out_dir / "predictions.csv") as file:
        (row,) = list(csv.DictReader(file))
    assert list(row) == ["file", "class", "probability", *(f"p_{name}" for name in FLOWERS)]
    assert row["class"] == FLOWERS[ranked[0]] and abs(float(row["probability"]) - probabilities[ranked[0]]) < 1e-4
    assert abs(sum(float(row[f"p_{name}"]) for name in FLOWERS) - 1) < 1e-3


def test_a_two_class_model_with_its_own_names(photos, tmp_path, capsys):
    # Before: a model of hund/ and katze/ was labelled cat and dog.
    flower_model(tmp_path / "pets.keras", ["hund"])  # one output: two classes
    from helpers.models import save_class_names

    keras.models.load_model(tmp_path / "pets.keras").save(tmp_path / "pets2.keras")
    save_class_names(tmp_path / "pets2.keras", ["hund", "katze"])
    code, out, _ = run_main(capsys, "--model", tmp_path / "pets2.keras", "--out", tmp_path / "out", photos / "a.jpg")
    assert code == 0 and "P(katze)" in out and " dog" not in out
    with open(tmp_path / "out" / "predictions.csv") as file:
        assert next(csv.reader(file)) == ["file", "class", "p_katze", "logit"]


def test_a_softmax_model_is_read_as_probabilities(photos, tmp_path, capsys):
    flower_model(tmp_path / "soft.keras", FLOWERS[:3], activation="softmax")
    code, out, _ = run_main(capsys, "--model", tmp_path / "soft.keras", "--out", tmp_path / "out", photos / "a.jpg")
    assert code == 0 and "applies a softmax: its outputs were read as probabilities" in out


@pytest.mark.parametrize("names, said", [(["a", "b"], "returns 3 outputs but carries 2 class names (a, b)")])
def test_class_names_that_do_not_match_the_outputs_are_refused(photos, tmp_path, capsys, names, said):
    from helpers.models import save_class_names

    flower_model(tmp_path / "m.keras", ["x", "y", "z"])
    keras.models.load_model(tmp_path / "m.keras").save(tmp_path / "wrong.keras")
    save_class_names(tmp_path / "wrong.keras", names)
    code, _, err = run_main(capsys, "--model", tmp_path / "wrong.keras", photos)
    assert code == 2 and said in one_sentence(err)


def test_a_folder_whose_subfolders_are_other_classes_is_noted(model_path, tmp_path, capsys):
    for name in ("daisy", "rose", "tulip"):
        (tmp_path / "in" / name).mkdir(parents=True)
        photo(tmp_path / "in" / name / "1.jpg")
    code, out, _ = run_main(capsys, "--model", model_path, "--out", tmp_path / "out", tmp_path / "in")
    assert (
        code == 0
        and (
            f"Note: {tmp_path / 'in'} holds 3 folders (daisy, rose, tulip), but the model knows 2 classes (cat, dog): "
            "every image gets one of the model's."
        )
        in out
    )


def test_a_confident_models_logit_is_written_as_the_model_gave_it(photos, tmp_path, capsys):
    # A probability rounds to 1 for a logit of 50: the logit is taken from the model, not from the probability.
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(50.0))
    keras.Model(inputs, dense(x)).save(tmp_path / "sure.keras")
    code, _, _ = run_main(capsys, "--model", tmp_path / "sure.keras", "--out", tmp_path, photos / "a.jpg")
    with open(tmp_path / "predictions.csv") as file:
        (row,) = list(csv.DictReader(file))
    assert code == 0 and row["logit"] == "50.0000" and row["class"] == "dog" and row["p_dog"] == "1.0000"
