"""The commands (commands/): each is a `main(argv=None) -> int` run by `python -m`, whose `--help` says what it
does, and imports nothing heavy at module level: TensorFlow, Keras and JAX wait for `main`."""

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMANDS = sorted(p.stem for p in (REPO / "commands").glob("*.py") if p.stem != "__init__")
HEAVY = ("tensorflow", "keras", "jax")
# Seconds one import may take on a loaded 2-core machine; TensorFlow alone takes several.
IMPORT_BUDGET = 1.0

PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
importlib.import_module(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "heavy": [m for m in sys.argv[2:] if m in sys.modules]}))
"""


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_is_a_main_taking_argv_whose_help_says_what_it_does(name, capsys):
    from commands import SETTINGS_NOTE

    module = importlib.import_module(f"commands.{name}")
    argv = inspect.signature(module.main).parameters.get("argv")
    assert argv is not None and argv.default is None, f"commands.{name}.main has no argv=None"
    assert 'if __name__ == "__main__":' in inspect.getsource(module), f"commands.{name} cannot run as python -m"
    with pytest.raises(SystemExit) as exit:
        module.main(["--help"])
    assert exit.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert shown.startswith("usage: ")
    assert " ".join(module.__doc__.split()) in shown and " ".join(SETTINGS_NOTE.split()) in shown


def test_every_command_is_listed():
    assert {"run_course", "prefetch", "lab", "student", "predict", "bench", "site"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_imports_quickly_without_tensorflow_keras_or_jax(name):
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, f"commands.{name}", *HEAVY], cwd=REPO, capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr
    measured = json.loads(probe.stdout.strip().splitlines()[-1])
    assert measured["heavy"] == [], f"commands.{name} imports {measured['heavy']} at module level"
    assert measured["seconds"] < IMPORT_BUDGET, f"commands.{name} took {measured['seconds']:.2f} s to import"
