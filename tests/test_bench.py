"""`make bench` (commands/bench.py): it reads what the notebooks write, and changes no global setting."""

import ast
import json
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

from commands import bench

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def saved_names(notebook):
    """{results name: set of figure names} of every `notebook.save_results(settings, name, ...)` in a notebook."""
    (path,) = NOTEBOOKS.glob(f"{notebook}.py")
    saved = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "save_results":
            name = node.args[1].value
            saved.setdefault(name, set()).update(keyword.arg for keyword in node.keywords)
    return saved


@pytest.mark.parametrize("notebook", sorted(bench.NOTEBOOK_FIGURES))
def test_every_figure_the_bench_reads_is_one_its_notebook_writes(notebook):
    saved = saved_names(notebook)
    assert notebook in saved, f"notebook {notebook} writes no results file named {notebook}"
    assert set(bench.NOTEBOOK_FIGURES[notebook]) <= saved[notebook], "the bench reads a figure the notebook lacks"


def test_the_key_check_sees_what_a_notebook_writes():
    assert {"test_accuracy", "sizes", "finetune_validation_curve"} <= saved_names("06_transfer_and_finetune")[
        "06_transfer_and_finetune"
    ]
    assert "learning_rates" not in saved_names("06_transfer_and_finetune")["06_transfer_and_finetune"]


def test_a_missing_figure_is_named():
    with pytest.raises(KeyError, match="has no .*test_accuracy"):
        bench.read_figures({"sizes": {}, "training_seconds": 1.0}, "06_transfer_and_finetune")
    figures = {key: 1 for key in bench.NOTEBOOK_FIGURES["06_transfer_and_finetune"]}
    assert bench.read_figures({**figures, "other": 2}, "06_transfer_and_finetune") == figures


def test_a_notebook_gets_its_settings_in_its_own_process(tmp_path):
    """The settings reach the notebook's kernel; this process's environment stays as it was."""
    cell = (
        "from helpers import notebook\nfrom helpers.config import load_settings\n"
        "settings = load_settings()\n"
        "notebook.save_results(settings, '99_probe', seed=settings.seed, profile=settings.profile)"
    )
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, tmp_path / "99_probe.ipynb")
    before = dict(os.environ)
    figures = bench.run_notebook("99_probe", {"COURSE_SEED": "4242"}, tmp_path / "build", folder=tmp_path)
    assert figures["seed"] == 4242 and figures["profile"] == os.environ["COURSE_PROFILE"]
    assert dict(os.environ) == before, "the bench changed this process's environment"
    assert (tmp_path / "build" / "executed" / "99_probe.ipynb").is_file()


def test_a_failing_notebook_is_named_with_its_error(tmp_path):
    broken = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('no photos here')")])
    broken.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(broken, tmp_path / "98_broken.ipynb")
    with pytest.raises(RuntimeError, match="98_broken.ipynb failed: .*no photos here"):
        bench.run_notebook("98_broken", {}, tmp_path / "build", folder=tmp_path)


def test_each_backend_is_timed_in_a_fresh_process_and_its_errors_reach_the_caller():
    before = dict(os.environ)
    timings = bench.bench_backends(("jax",), batch_shape=(1, 8, 8, 2))
    assert list(timings) == ["jax"] and set(timings["jax"]) == {"depthwise 3x3", "convolution 3x3"}
    assert all(ms > 0 for ms in timings["jax"].values())
    with pytest.raises(ValueError, match="no_such_backend"):  # Keras refuses it when the fresh process imports it
        bench.bench_backends(("no_such_backend",), batch_shape=(1, 8, 8, 2))
    assert dict(os.environ) == before, "the bench changed this process's environment"


def test_the_recipe_table_prints_intervals_and_p_values(capsys):
    from helpers import recipes

    def seed(number, guide_right, course_right):
        return recipes.seed_result(number, guide_right, course_right, {}, {"rolled_back": True})

    runs = [seed(1, [1, 1, 0, 1], [1, 1, 1, 1]), seed(2, [1, 0, 0, 1], [1, 1, 0, 1])]
    config = dict(base_model="mobilenet_v2_0.35", image_size=150, batch_size=32, epochs_head=3, epochs_finetune=3)
    results = dict(seeds=runs, summary=recipes.summarise(runs), config=dict(config, sizes={"test": 4}, split_seed=1))
    bench.print_recipes(dict(results, config=dict(results["config"], seconds=1)))
    printed = capsys.readouterr().out
    assert "0.7500 (0.301-0.954)" in printed, "the guide's first seed with its Wilson interval"
    assert "1.000" in printed and "no measurable difference" in printed, "the p-values and the verdict"
    assert "per seed: +0.2500, +0.2500 (mean +0.2500, sd over seeds 0.0000)" in printed, "the paired differences"
    assert json.loads(json.dumps(results)) == results, "the results are JSON as they are"


def test_an_unknown_part_is_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["everything"])
    assert "unknown part 'everything'" in capsys.readouterr().err


def test_no_part_named_means_every_part():
    """What `make bench` passes: nothing. (With `choices=`, Python 3.11's argparse refused an empty list.)"""
    assert bench.parse_parts([]) == list(bench.PARTS)
    assert bench.parse_parts(["recipes", "models"]) == ["recipes", "models"]


def fake_recipe_results(build_dir, seeds, size):
    """What bench_recipes returns, for two seeds on four photos, without training anything."""
    from helpers import recipes

    runs = [recipes.seed_result(seed, [1, 1, 0, 1], [1, 1, 1, 1], {}, {}) for seed in seeds]
    config = dict(base_model="mobilenet_v2_0.35", batch_size=32, epochs_head=size["head_epochs"])
    config.update(image_size=size["image_size"], epochs_finetune=size["finetune_epochs"], seconds=0)
    return dict(seeds=runs, summary=recipes.summarise(runs), config=dict(config, sizes={"test": 4}, split_seed=1))


def test_main_runs_only_the_parts_asked_for_and_writes_them(monkeypatch, capsys):
    from helpers.config import load_settings

    monkeypatch.setattr(bench, "shared_material", lambda: True)
    monkeypatch.setattr(bench, "bench_recipes", fake_recipe_results)
    monkeypatch.setattr(bench, "RECIPE_SEEDS", (7, 8))
    assert bench.main(["recipes"]) == 0
    printed = capsys.readouterr().out
    assert "McNemar exact p" in printed and f"{bench.RECIPE_SIZE['image_size']} px" in printed
    report = json.loads((Path(load_settings().build_dir) / "bench.json").read_text())
    assert [run["seed"] for run in report["recipes"]["seeds"]] == [7, 8]
    assert sorted(report) == ["recipes", "seconds"], "only the part asked for ran"


def test_the_shared_photo_settings_leave_the_environment_alone(tmp_path):
    from support import require_shared_material

    from helpers import recipes
    from helpers.config import SHARED_PHOTOS

    require_shared_material()  # the settings check that the weights file exists
    before = dict(os.environ)
    settings = recipes.shared_photo_settings(tmp_path, **bench.RECIPE_SIZE)
    assert dict(os.environ) == before, "the settings were read from an environment of their own"
    assert settings.profile == "quick" and settings.data_dir == str(SHARED_PHOTOS)
    assert (settings.image_size, settings.train_images, settings.epochs_head, settings.epochs_finetune) == (
        150,
        512,
        3,
        3,
    ), "the settings the README's recipe figures come from"


def test_the_choices_figures_are_printed_with_intervals_and_p_values(capsys):
    from helpers import comparisons

    recipe = dict(trainable=2_049, step_seconds=0.1, validation=0.9, test_mean=0.95, test_low=0.92, test_high=0.97)
    right = [True] * 90 + [False] * 10
    runs_a = [dict(seed=1337, right=np.array(right[:84] + [False] * 6 + right[90:]))]
    runs_b = [dict(seed=1337, right=np.array(right))]
    figures = dict(
        seeds=[1337],
        train_images=480,
        validation_images=360,
        test_images=100,
        image_size=128,
        head_epochs=3,
        finetune_epochs=2,
        recipes={"head only": recipe, "every block": recipe},
        paired=comparisons.corrected(comparisons.paired("every block", runs_a, "head only", runs_b)),
        lora=dict(adapter_kb=120.0, whole_model_mb=2.5, logit_gap=1e-6),
    )
    bench.print_choices(
        bench.read_figures(json.loads(json.dumps(figures)), "10_batchnorm_and_lora"), "10_batchnorm_and_lora"
    )
    printed = capsys.readouterr().out
    assert "0.920-0.970" in printed and "-0.0600" in printed and "0.031" in printed, "interval, difference, p"
    assert "every block vs head only: measurable after Holm's correction on 1 of 1 seed(s), in favour of head only" in (
        printed
    )
    assert "Notebook 10" in printed and "480 training photos at 128 px" in printed and "120 kB" in printed
    del figures["lora"]
    bench.print_choices(
        bench.read_figures(json.loads(json.dumps(figures)), "09_finetuning_choices"), "09_finetuning_choices"
    )
    assert "Notebook 09" in capsys.readouterr().out, "notebook 09 saves no LoRA figures"


def arm_results(names):
    """Two seeds of fake arms, as helpers.arms.run_arms returns them, with a config as bench adds it."""
    from test_arms import fake_runs

    from helpers import arms

    runs = fake_runs({name: [1, 2] for name in names}, seeds=2)
    for run in runs:
        for figures in run["arms"].values():
            figures.update(validation_before_finetune=0.9, finetune_validation_curve=[0.91, 0.92])
            figures.setdefault("rolled_back", False)
    config = dict(
        image_size=150, sizes={"train": 8, "validation": 4, "test": 20}, seeds=[0, 1], base_model="mobilenet_v2_0.35",
        batch_size=4, epochs_head=1, epochs_finetune=2, seconds=3,
    )  # fmt: skip
    return dict(seeds=runs, summary=arms.summarise(runs), config=config)


def test_the_arms_table_has_a_row_per_arm_and_each_verdict(capsys):
    from helpers import arms

    bench.print_arms(arm_results(list(arms.ARMS)))
    out = capsys.readouterr().out
    assert all(f"- {name}: {arms.ARMS[name]}." in out for name in arms.ARMS)
    assert "+5.0, +10.0" in out, "each seed's difference, in points"
    assert "rolled back in 1 of 2 seeds" in out


def test_the_finetune_table_says_how_often_fine_tuning_was_kept(capsys):
    bench.print_finetune(arm_results(["statistics move"]))
    out = capsys.readouterr().out
    assert "0.9000 -> 0.9200" in out and "rolled back" in out and "kept" in out
    assert "Fine-tuning kept in 1 of 2 seeds with BatchNormalization frozen, 2 with it moving" in out
