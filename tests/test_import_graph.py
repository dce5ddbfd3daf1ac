"""The library's import graph: no cycle, no private name borrowed across modules, nothing imports upward.

Read from the source with `ast` (every import, at module level or inside a function), so nothing is run.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("helpers", "commands")


def module_files():
    """{module: path} of every module of the course's packages, subpackages (helpers.sources) included."""
    files = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path.name.endswith(".hand.py"):  # a template of a generated module (commands/sync.py), read as made
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imports():
    """{module: {(imported module, name or None)}} for every module of the course's packages."""
    graph = {}
    modules = _modules()
    for module, path in module_files().items():
        found = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {(alias.name, None) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    # `from helpers import data` imports the module helpers.data
                    found.add((submodule, None) if submodule in modules else (node.module, alias.name))
    return graph


def _modules():
    return set(module_files())


def course_edges():
    """{module: set of the course's modules it imports}, packages' __init__ left out (it imports nothing)."""
    known = _modules()
    return {
        module: {target for target, _ in found if target in known and target != module}
        for module, found in imports().items()
    }


def cycles(edges):
    """Every cycle of the graph, as a list of modules (empty when there is none)."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_cycle():
    edges = course_edges()
    assert "helpers.data" in edges and edges["helpers.data"], "the graph was read"
    assert cycles(edges) == []


def test_no_module_imports_a_private_name_from_another():
    borrowed = [
        f"{module} imports {target}.{name}"
        for module, found in imports().items()
        for target, name in found
        if name and name.startswith("_") and target.split(".")[0] in PACKAGES
    ]
    assert borrowed == []


def test_the_library_does_not_import_the_commands():
    upward = [f"{m} imports {t}" for m, targets in course_edges().items() if m.startswith("helpers") for t in targets]
    assert [line for line in upward if " commands" in line] == []


def test_tables_settings_and_the_bases_and_sources_tables_import_no_keras():
    found = imports()
    source_modules = [module for module in found if module.startswith("helpers.sources.")]
    assert "helpers.sources.flowers" in source_modules, "the sources' modules were read"
    for module in ("helpers.tables", "helpers.config", "helpers.sources", *source_modules):
        assert not {target.split(".")[0] for target, _ in found[module]} & {"keras", "tensorflow", "jax"}, module
    module_level = ast.parse((REPO / "helpers" / "bases.py").read_text()).body  # bases.build imports Keras when called
    assert not [
        node for node in module_level if isinstance(node, (ast.Import, ast.ImportFrom)) and "keras" in ast.dump(node)
    ]


# ---------------------------------------------------------------- importing changes nothing

# Run in a fresh interpreter. What the course's dependencies set in the environment when they are imported
# (TensorFlow sets TF_CPP_MIN_LOG_LEVEL, TF2_BEHAVIOR and others) is theirs: they are imported first and the
# environment put back. Then each module is imported in a child forked for it, where no course module has been
# imported yet, once as it is and once with a KERAS_BACKEND no Keras knows; the child reports what changed.
IMPORT_EACH = """
import json, os, sys

original = dict(os.environ)
import keras, matplotlib.pyplot, numpy, PIL.Image, tensorflow, tensorflow_datasets  # noqa: E401, F401

os.environ.clear()
os.environ.update(original)
report = {}
for module in sys.argv[1:]:
    for backend in ("", "no-such-backend"):
        read, write = os.pipe()
        if os.fork() == 0:
            os.close(read)
            if backend:
                os.environ["KERAS_BACKEND"] = backend
            before = dict(os.environ)
            try:
                __import__(module)
                changed = [name for name in sorted({*before, *os.environ}) if before.get(name) != os.environ.get(name)]
                outcome = f"changed {', '.join(changed)}" if changed else ""
            except SystemExit as stop:
                outcome = f"SystemExit({stop})"
            except Exception as error:
                outcome = f"{type(error).__name__}: {error}"
            os.write(write, outcome.encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            outcome = answer.read()
        os.wait()
        if outcome:
            report[f"{module} (KERAS_BACKEND={backend!r})"] = outcome
print(json.dumps(report))
"""


def test_importing_any_helpers_module_changes_no_environment_variable_and_never_exits():
    # Before: `import helpers` set TF_CPP_MIN_LOG_LEVEL and KERAS_BACKEND, and importing helpers.notebook with
    # a KERAS_BACKEND no Keras knows raised SystemExit; notebook.start() and the commands do that work now.
    modules = sorted(module for module in module_files() if module.split(".")[0] == "helpers")
    assert {"helpers", "helpers.notebook", "helpers.sources.flowers"} <= set(modules), "the modules were listed"
    env = {name: value for name, value in os.environ.items() if name not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *modules], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {}
