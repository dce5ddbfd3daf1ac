"""Course settings: a profile (smoke, quick, full) plus COURSE_* environment overrides."""

import difflib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.bases import BASES
from helpers.folders import file_in_the_way
from helpers.sources import SOURCES

REPO_ROOT = Path(__file__).resolve().parents[1]

# Test material beside the repository, not part of it: real photos and genuine ImageNet weights files.
# Tests and `make bench` use it when present; no notebook needs it.
SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_PHOTOS = SHARED_DIR / "data" / "cats_vs_dogs_sample"
SHARED_FLOWERS = SHARED_DIR / "data" / "flowers_sample"  # five classes, 400 photos each, 128 px
SHARED_WEIGHTS = SHARED_DIR / "weights" / BASES["mobilenet_v2_0.35"].weights_file

PROFILES = {
    # Seconds, for CI: synthetic images, random weights, one short epoch each.
    "smoke": dict(
        data_source="synthetic",
        weights="none",
        image_size=96,  # small images: random weights learn nothing anyway, and CI runs every notebook 4 times
        batch_size=16,
        epochs_head=1,
        epochs_finetune=1,
        train_images=64,
        eval_images=32,
    ),
    # Minutes on a CPU laptop: real photos (TensorFlow's cats_and_dogs_filtered, a 68 MB download) and
    # ImageNet weights. How many images and epochs fit in those minutes depends on the base: its quick_sizes
    # in helpers/bases.py.
    "quick": dict(
        data_source="filtered",
        weights="imagenet",
        image_size=0,  # 0: the base's own size (its default_size in helpers/bases.py)
        batch_size=16,
    ),
    # The guide's settings: 40/10/10 split of TFDS cats_vs_dogs, 150 px, batch 64. More epochs than
    # the guide's 2 + 1, because the best weights are restored after fine-tuning (see notebook 06).
    "full": dict(
        data_source="tfds",
        weights="imagenet",
        image_size=0,
        batch_size=64,
        epochs_head=5,
        epochs_finetune=5,
        train_images=0,
        eval_images=0,
    ),
}

DEFAULT_PROFILE = "quick"  # when COURSE_PROFILE is not set
DEFAULT_BASE = {"smoke": "mobilenet_v2_0.35", "quick": "mobilenet_v2_0.35", "full": "xception"}
NAMED_WEIGHTS = ("imagenet", "none")


class SettingsError(ValueError):
    """A COURSE_* setting has a value the course cannot use."""


# Every COURSE_* variable the course reads: the settings above, the commands' own, and the tests'; with the
# sources' COURSE_PREFETCH_*, known_settings().
FIXED_SETTINGS = (
    "COURSE_PROFILE",
    "COURSE_DATA_SOURCE",
    "COURSE_DATA_DIR",
    "COURSE_BASE_MODEL",
    "COURSE_WEIGHTS",
    "COURSE_IMAGE_SIZE",
    "COURSE_BATCH_SIZE",
    "COURSE_EPOCHS_HEAD",
    "COURSE_EPOCHS_FINETUNE",
    "COURSE_SEED",
    "COURSE_TRAIN_IMAGES",
    "COURSE_EVAL_IMAGES",
    "COURSE_SYNTHETIC_CLASSES",
    "COURSE_CACHE_DIR",
    "COURSE_BUILD_DIR",
    "COURSE_NOTEBOOK_TIMEOUT",  # make run and make test: seconds per cell (the Makefile's NOTEBOOK_TIMEOUT)
    "COURSE_REQUIRE_REAL",  # the tests (.ci/run)
    "COURSE_REQUIRE_BROWSER",
    "COURSE_TEST_FORK_KERNELS",
)


def known_settings():
    """FIXED_SETTINGS and the COURSE_PREFETCH_* settings of the data sources (`make prefetch`): one per source
    it fetches only when asked (COURSE_PREFETCH_FULL, COURSE_PREFETCH_FLOWERS), read from the sources' table now."""
    return (*FIXED_SETTINGS, *(source.prefetch_variable for source in SOURCES.values() if source.prefetch_variable))


def unknown_settings(env=None):
    """One sentence for each COURSE_* variable in `env` that the course does not read, naming the closest
    known one: a misspelt setting would otherwise be ignored without a word."""
    env = os.environ if env is None else env
    sentences = []
    known_names = known_settings()
    for name in sorted(n for n in env if n.startswith("COURSE_") and n not in known_names):
        # Compared without the shared "COURSE_", which would make every name look alike.
        closest = difflib.get_close_matches(name[7:], [known[7:] for known in known_names], n=1, cutoff=0.6)
        hint = f"did you mean COURSE_{closest[0]}?" if closest else "no course setting has a similar name."
        sentences.append(f"Warning: {name} is not a course setting, so it is ignored; {hint}")
    return sentences


# Keras 3.15.1's backends and the package each needs. The course is tested on tensorflow and jax.
KERAS_BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy", "openvino": "openvino"}


def keras_backend_problem(env=None):
    """One sentence when KERAS_BACKEND names no Keras backend or one whose package is not installed, else ''.

    Asked before Keras is imported: Keras itself fails at import with a long traceback.
    """
    env = os.environ if env is None else env
    name = env.get("KERAS_BACKEND", "").strip() or "tensorflow"
    if name not in KERAS_BACKENDS:
        return (
            f"KERAS_BACKEND={name!r} is not a Keras backend; use tensorflow (the default) or jax "
            f"(Keras also knows {', '.join(sorted(set(KERAS_BACKENDS) - {'tensorflow', 'jax'}))})."
        )
    if importlib.util.find_spec(KERAS_BACKENDS[name]) is None:
        return (
            f"KERAS_BACKEND={name} needs the {KERAS_BACKENDS[name]} package, which is not installed here; "
            "use tensorflow or jax, or install it."
        )
    return ""


@dataclass(frozen=True)
class Settings:
    """Everything a notebook needs to know about the run it is part of."""

    profile: str
    data_source: str
    data_dir: str
    base_model: str
    weights: str
    image_size: int
    batch_size: int
    epochs_head: int
    epochs_finetune: int
    seed: int
    train_images: int  # 0 means every image of the training split
    eval_images: int  # 0 means every image of the validation and test splits
    synthetic_classes: int  # how many classes the synthetic source draws (2: cat and dog)
    cache_dir: Path
    build_dir: Path

    @property
    def source(self):
        """The data source's table entry (helpers/sources/): its status, host, loader and prefetch."""
        return SOURCES[self.data_source]

    @property
    def uses_pretrained_weights(self):
        """True when the base model starts from trained weights (ImageNet or a file)."""
        return self.weights != "none"


def _choice(env, name, accepted, default):
    value = env.get(name, "").strip() or default
    if value not in accepted:
        raise SettingsError(f"{name}={value!r} is not accepted; use one of: {', '.join(accepted)}.")
    return value


MAX_IMAGE_SIZE = 512  # pixels; 10,000 asked for 17.9 GiB before anything ran
MAX_SEED = 2**31 - 1  # NumPy's seed must be below 2**32, and the notebooks add small offsets to it
MIN_TRAIN_IMAGES, MIN_EVAL_IMAGES = 12, 2  # notebook 05 writes 12 training images to a folder
MAX_SYNTHETIC_CLASSES = 12  # stripes 15 degrees apart: beyond that, noise blurs the angle at 96 px


def whole_number(env, name, default, allow_zero=False, lowest=None, highest=None, why=""):
    """A whole number from `env[name]` in [lowest, highest] (0 also, with allow_zero), else `default`.

    Raises SettingsError with one sentence for anything else ("many", "-3", "²", "1.5").
    """
    raw = env.get(name, "").strip()
    if not raw:
        return default
    lowest = (0 if allow_zero else 1) if lowest is None else lowest
    plain = raw.isascii() and raw.isdigit()  # str.isdigit alone accepts "²", which int() refuses
    value = int(raw) if plain else None
    if plain and (allow_zero and value == 0 or lowest <= value and (highest is None or value <= highest)):
        return value
    accepted = f"from {lowest} to {highest}" if highest is not None else f"of at least {lowest}"
    if allow_zero and lowest > 0:
        accepted += " (or 0: no limit)"
    raise SettingsError(f"{name}={raw!r} is not accepted; use a whole number {accepted}{why}.")


def _weights(env, default):
    value = env.get("COURSE_WEIGHTS", "").strip() or default
    if value in NAMED_WEIGHTS:
        return value
    path = Path(absolute_path(value))
    if path.is_dir():
        raise SettingsError(f"COURSE_WEIGHTS={value!r} is a folder; point it at a weights file (.h5 or .keras).")
    if not path.is_file():
        raise SettingsError(f"COURSE_WEIGHTS={value!r} is neither 'imagenet', 'none' nor an existing weights file.")
    return str(path)


def _data_source(env, default):
    data_dir = env.get("COURSE_DATA_DIR", "").strip()
    source = _choice(env, "COURSE_DATA_SOURCE", tuple(SOURCES), "folder" if data_dir else default)
    if source == "folder" and not data_dir:
        raise SettingsError("COURSE_DATA_SOURCE=folder needs COURSE_DATA_DIR, a folder of class subfolders.")
    if data_dir and source != "folder":
        raise SettingsError(
            f"COURSE_DATA_DIR is set, so the data source is a folder, but COURSE_DATA_SOURCE={source!r}."
        )
    return source, absolute_path(data_dir) if data_dir else ""


def absolute_path(value):
    """`value` (spaces around it stripped, `~` expanded) as an absolute path, from the current directory.

    `make run` resolves every path once, where the user typed the command, and gives its kernels (which
    run in notebooks/) the absolute paths.
    """
    return str(Path(value.strip()).expanduser().resolve())


def load_settings(env=None):
    """Read the profile and COURSE_* overrides from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    profile_name = _choice(env, "COURSE_PROFILE", tuple(PROFILES), DEFAULT_PROFILE)
    base_model = _choice(env, "COURSE_BASE_MODEL", tuple(BASES), DEFAULT_BASE[profile_name])
    base = BASES[base_model]
    profile = {**PROFILES[profile_name], **(base.quick_sizes if profile_name == "quick" else {})}
    data_source, data_dir = _data_source(env, profile["data_source"])
    least_size = base.min_size  # the smallest input keras.applications accepts
    image_size = whole_number(
        env,
        "COURSE_IMAGE_SIZE",
        profile["image_size"] or base.default_size,
        lowest=least_size,
        highest=MAX_IMAGE_SIZE,
        why=f" ({base_model} needs at least {least_size} px)",
    )
    return Settings(
        profile=profile_name,
        data_source=data_source,
        data_dir=data_dir,
        base_model=base_model,
        weights=_weights(env, profile["weights"]),
        image_size=image_size,
        batch_size=whole_number(env, "COURSE_BATCH_SIZE", profile["batch_size"]),
        epochs_head=whole_number(env, "COURSE_EPOCHS_HEAD", profile["epochs_head"]),
        epochs_finetune=whole_number(env, "COURSE_EPOCHS_FINETUNE", profile["epochs_finetune"]),
        seed=whole_number(env, "COURSE_SEED", 1337, lowest=0, highest=MAX_SEED, why=" (NumPy's seeds are below 2**32)"),
        train_images=whole_number(
            env,
            "COURSE_TRAIN_IMAGES",
            profile["train_images"],
            allow_zero=True,
            lowest=MIN_TRAIN_IMAGES,
            why=" (notebook 05 shows 12)",
        ),
        eval_images=whole_number(
            env, "COURSE_EVAL_IMAGES", profile["eval_images"], allow_zero=True, lowest=MIN_EVAL_IMAGES
        ),
        synthetic_classes=whole_number(
            env, "COURSE_SYNTHETIC_CLASSES", 2, lowest=2, highest=MAX_SYNTHETIC_CLASSES, why=" (synthetic data only)"
        ),
        cache_dir=folder_setting(env, "COURSE_CACHE_DIR", REPO_ROOT / "cache"),
        build_dir=folder_setting(env, "COURSE_BUILD_DIR", REPO_ROOT / "build"),
    )


def folder_setting(env, name, default):
    """The absolute folder `env[name]` names (default `default`); SettingsError when a file stands there
    or on its way (the folder could never be made)."""
    folder = Path(absolute_path(env.get(name, "").strip() or str(default)))
    place = file_in_the_way(folder)
    if place is not None:
        where = "is a file" if place == folder else f"cannot be made: {place} is a file"
        raise SettingsError(f"{name}={str(folder)!r} {where}; point {name} at a folder.")
    return folder
