import pytest

from helpers.bases import BASES
from helpers.config import PROFILES, SettingsError, load_settings


def test_defaults_are_the_quick_profile_with_mobilenet_v2_at_224():
    settings = load_settings({})
    assert (settings.profile, settings.base_model, settings.image_size) == ("quick", "mobilenet_v2_0.35", 224)
    assert settings.data_source == "filtered" and settings.weights == "imagenet"


def test_full_profile_uses_the_guides_settings():
    settings = load_settings({"COURSE_PROFILE": "full"})
    assert settings.base_model == "xception" and settings.data_source == "tfds"
    assert (settings.image_size, settings.batch_size, settings.train_images) == (150, 64, 0)


def test_smoke_is_synthetic_with_random_weights_and_small_images():
    settings = load_settings({"COURSE_PROFILE": "smoke"})
    assert (settings.data_source, settings.weights, settings.image_size) == ("synthetic", "none", 96)
    assert load_settings({"COURSE_PROFILE": "smoke", "COURSE_IMAGE_SIZE": "128"}).image_size == 128


def test_overrides_win_over_the_profile(tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"x")
    settings = load_settings(
        {
            "COURSE_PROFILE": "smoke",
            "COURSE_BATCH_SIZE": "8",
            "COURSE_EPOCHS_HEAD": "3",
            "COURSE_BASE_MODEL": "mobilenet_v2_0.35",
            "COURSE_WEIGHTS": str(weights),
            "COURSE_SEED": "0",
        }
    )
    assert (settings.batch_size, settings.epochs_head, settings.seed) == (8, 3, 0)
    assert settings.image_size == 96 and settings.weights == str(weights)  # smoke's small images


def test_a_data_dir_implies_the_folder_source(tmp_path):
    settings = load_settings({"COURSE_DATA_DIR": str(tmp_path)})
    assert settings.data_source == "folder" and settings.data_dir == str(tmp_path)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"COURSE_PROFILE": "fast"}, "COURSE_PROFILE='fast' is not accepted; use one of: smoke, quick, full."),
        ({"COURSE_BASE_MODEL": "resnet"}, "COURSE_BASE_MODEL='resnet' is not accepted"),
        ({"COURSE_DATA_SOURCE": "web"}, "COURSE_DATA_SOURCE='web' is not accepted"),
        ({"COURSE_BATCH_SIZE": "0"}, "COURSE_BATCH_SIZE='0' is not accepted; use a whole number of at least 1."),
        ({"COURSE_EPOCHS_HEAD": "two"}, "COURSE_EPOCHS_HEAD='two' is not accepted"),
        (
            {"COURSE_BASE_MODEL": "xception", "COURSE_IMAGE_SIZE": "64"},
            "COURSE_IMAGE_SIZE='64' is not accepted; use a whole number from 71 to 512 (xception needs at least 71 px).",
        ),
        # Issue 16: these gave tracebacks, or wrong advice ("at least 1" for 0, which is refused under 32).
        ({"COURSE_IMAGE_SIZE": "0"}, "use a whole number from 32 to 512 (mobilenet_v2_0.35 needs at least 32 px)."),
        ({"COURSE_IMAGE_SIZE": "\u00b2"}, "COURSE_IMAGE_SIZE='\u00b2' is not accepted; use a whole number from 32"),
        ({"COURSE_IMAGE_SIZE": "\u0663\u0662"}, "is not accepted"),  # Arabic-Indic digits: not ASCII
        (
            {"COURSE_IMAGE_SIZE": "10000"},
            "COURSE_IMAGE_SIZE='10000' is not accepted; use a whole number from 32 to 512",
        ),
        (
            {"COURSE_SEED": str(2**32)},
            f"COURSE_SEED='{2**32}' is not accepted; use a whole number from 0 to 2147483647",
        ),
        ({"COURSE_SEED": "-1"}, "COURSE_SEED='-1' is not accepted"),
        ({"COURSE_TRAIN_IMAGES": "5"}, "use a whole number of at least 12 (or 0: no limit) (notebook 05 shows 12)."),
        ({"COURSE_EVAL_IMAGES": "1"}, "COURSE_EVAL_IMAGES='1' is not accepted"),
        ({"COURSE_WEIGHTS": "/no/such/file.h5"}, "COURSE_WEIGHTS='/no/such/file.h5' is neither"),
        ({"COURSE_DATA_SOURCE": "folder"}, "COURSE_DATA_SOURCE=folder needs COURSE_DATA_DIR"),
        ({"COURSE_DATA_DIR": "/x", "COURSE_DATA_SOURCE": "tfds"}, "COURSE_DATA_DIR is set"),
    ],
)
def test_bad_values_get_one_clear_sentence(env, message):
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    assert message in str(error.value)


def test_every_profile_names_every_setting():
    every = set(PROFILES["smoke"])
    assert set(PROFILES["full"]) == every
    assert all(set(PROFILES["quick"]) | set(base.quick_sizes) == every for base in BASES.values())


def test_quick_sizes_depend_on_the_base():
    xception = load_settings({"COURSE_PROFILE": "quick", "COURSE_BASE_MODEL": "xception"})
    mobilenet = load_settings({"COURSE_PROFILE": "quick"})
    assert (xception.train_images, xception.epochs_head) == (300, 3)
    assert (mobilenet.train_images, mobilenet.epochs_head, mobilenet.batch_size) == (2000, 5, 32)
    assert load_settings({"COURSE_PROFILE": "quick", "COURSE_TRAIN_IMAGES": "50"}).train_images == 50


def test_the_largest_seed_accepted_seeds_everything():
    import keras

    settings = load_settings({"COURSE_SEED": str(2**31 - 1)})
    keras.utils.set_random_seed(settings.seed + 1)  # the notebooks add small offsets to it


def test_paths_are_stripped_and_resolved_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets").mkdir()
    settings = load_settings({"COURSE_DATA_DIR": " pets ", "COURSE_CACHE_DIR": " c ", "COURSE_BUILD_DIR": "b "})
    assert settings.data_dir == str(tmp_path / "pets")
    assert (settings.cache_dir, settings.build_dir) == (tmp_path / "c", tmp_path / "b"), "paths, as Path"


def test_the_keras_backend_is_checked_before_keras_is_imported():
    from helpers.config import keras_backend_problem

    assert keras_backend_problem({}) == "" and keras_backend_problem({"KERAS_BACKEND": " jax "}) == ""
    assert "is not a Keras backend" in keras_backend_problem({"KERAS_BACKEND": "pytorch"})
    assert "needs the openvino package" in keras_backend_problem({"KERAS_BACKEND": "openvino"})
