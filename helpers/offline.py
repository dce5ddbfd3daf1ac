"""`make run` without network: which settings left at their defaults it replaces, and which choices it refuses.

commands/run_course.py asks it before any notebook starts; nothing here imports TensorFlow.
"""

from helpers.downloads import PREFETCH_ADVICE, DataUnavailable, WeightsUnavailable, prefetch_advice, stand_ins
from helpers.pretrained import corrupt_weights_file, weights_host, weights_status
from helpers.sources import SOURCES, data_host, data_status

# The settings that make data or weights necessary, most specific first, as the user may set them.
NEEDS_DATA = ("COURSE_DATA_SOURCE", "COURSE_PROFILE")
NEEDS_WEIGHTS = ("COURSE_WEIGHTS", "COURSE_PROFILE")


def offline_fallback(settings, chosen):
    """Environment overrides that let a run go ahead when its data or weights cannot be had.

    `chosen` holds the names of the COURSE_* variables the user set. Only settings left at their defaults
    are replaced: missing photos become synthetic images, missing weights become random ones, and a
    default profile becomes `smoke` (minutes of training on either is pointless). Returns (overrides, one
    sentence naming each replaced setting); ({}, "") when nothing is missing. When a setting the user
    chose cannot be met, raises DataUnavailable or WeightsUnavailable with one sentence instead.
    """
    values = {
        "COURSE_PROFILE": settings.profile,
        "COURSE_DATA_SOURCE": settings.data_source,
        "COURSE_WEIGHTS": settings.weights,
    }
    overrides, missing = {}, []
    where, ok, advice = data_status(settings)
    if not ok:
        source = SOURCES[settings.data_source]
        if not source.replaceable:
            raise DataUnavailable(source.problem(settings) if source.problem else f"{where}: {advice}")
        needs = [name for name in NEEDS_DATA if name in chosen]
        fetch = prefetch_advice(source.prefetch_variable)
        _refuse_if_chosen(DataUnavailable, needs, values, source.what, where, data_host(settings), advice=fetch)
        overrides["COURSE_DATA_SOURCE"] = "synthetic"
        missing.append(source.what)
    where, ok, advice = weights_status(settings)
    if not ok and settings.weights not in ("imagenet", "none"):  # a file of the user's that cannot be loaded
        raise WeightsUnavailable(advice)
    if not ok:
        what = f"the ImageNet weights for {settings.base_model}"
        corrupt = corrupt_weights_file(settings.base_model, settings.cache_dir)
        problem = f"the cached {corrupt[0]} is corrupt ({corrupt[1]})" if corrupt else ""
        needs = [name for name in NEEDS_WEIGHTS if name in chosen]
        _refuse_if_chosen(WeightsUnavailable, needs, values, what, where, weights_host(settings.base_model), problem)
        overrides["COURSE_WEIGHTS"] = "none"
        missing.append(f"{what} ({problem})" if corrupt else what)
    if not overrides:
        return {}, ""
    kept = ""
    if "COURSE_PROFILE" not in chosen and settings.profile != "smoke":
        overrides = {"COURSE_PROFILE": "smoke", **overrides}
        if "COURSE_DATA_SOURCE" not in overrides and settings.data_source != "folder":
            # The smoke profile's own data is synthetic: the photos that are there stay.
            overrides["COURSE_DATA_SOURCE"] = settings.data_source
            kept = f"; the {settings.data_source} photos it has are kept"
    replaced = ", ".join(
        f"{name} {values[name]} -> {value}" for name, value in overrides.items() if value != values[name]
    )
    fake = stand_ins(overrides.get("COURSE_DATA_SOURCE") == "synthetic", "COURSE_WEIGHTS" in overrides)
    sentence = (
        f"No network and no usable cached copy of {' or '.join(missing)}, so this run replaces settings you left at "
        f"their defaults ({replaced}{kept}): with {fake} its accuracies mean nothing about real photos; run "
        "`make prefetch` on a connected machine to get the real ones."
    )
    return overrides, sentence


def _refuse_if_chosen(error, chosen_names, values, what, where, host, problem="", advice=PREFETCH_ADVICE):
    if chosen_names:
        name = chosen_names[0]
        raise error(
            f"You set {name}={values[name]}, which needs {what}, but {problem or f'it is not in {where}'} and "
            f"{host} cannot be reached to download it: {advice}, or change {name}."
        )
