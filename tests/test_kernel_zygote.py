"""tests/kernel_zygote.py: a forked kernel is a fresh kernel (environment, folder, seeds), an interrupt and a
timeout reach it, and a kernel the zygote cannot serve starts as usual."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ZYGOTE = Path(__file__).with_name("kernel_zygote.py")
REPORT = "import json, os, random, sys; print(json.dumps([os.getpid(), os.getcwd(), os.environ.get('PROBE'), 'tensorflow' in sys.modules, random.random()]))"  # noqa: E501


@pytest.fixture(scope="module")
def zygote_folder(tmp_path_factory):
    """A TensorFlow zygote of our own, and a kernelspec that launches through it."""
    folder = tmp_path_factory.mktemp("zygote")
    spec = folder / "jupyter" / "kernels" / "zygote"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": [sys.executable, str(ZYGOTE), "launch", "-f", "{connection_file}"], "language": "python"})
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    server = subprocess.Popen(
        [sys.executable, str(ZYGOTE), "serve", str(folder / "zygote-tensorflow.sock"), "tensorflow"], env=env
    )
    deadline = time.monotonic() + 120
    while not (folder / "zygote-tensorflow.sock").exists() and time.monotonic() < deadline:
        assert server.poll() is None, "the zygote failed to start"
        time.sleep(0.2)
    yield folder
    server.kill()


def run(folder, monkeypatch, *cells, timeout=60, zygotes=True):
    """Execute `cells` in a kernel from the zygote's kernelspec; the notebook with its outputs."""
    monkeypatch.setenv("JUPYTER_PATH", str(folder / "jupyter"))
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    if zygotes:
        monkeypatch.setenv("KERNEL_ZYGOTES_DIR", str(folder))
    else:
        monkeypatch.delenv("KERNEL_ZYGOTES_DIR", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    client = NotebookClient(
        notebook, kernel_name="zygote", timeout=timeout, resources={"metadata": {"path": str(folder)}}
    )
    client.execute()
    return notebook


def report(notebook):
    return json.loads(notebook.cells[0].outputs[0]["text"])


def test_a_forked_kernel_has_its_own_environment_folder_and_seeds(zygote_folder, monkeypatch):
    monkeypatch.setenv("PROBE", "first")
    first = report(run(zygote_folder, monkeypatch, REPORT))
    monkeypatch.setenv("PROBE", "second")
    second = report(run(zygote_folder, monkeypatch, REPORT))
    assert first[3] and second[3], "forked: TensorFlow is imported before the first cell"
    assert (first[1], first[2], second[2]) == (str(zygote_folder), "first", "second")
    assert first[0] != second[0] and first[4] != second[4], "each kernel is a process of its own, with its own seeds"


def test_without_the_zygote_an_ordinary_kernel_starts(zygote_folder, monkeypatch):
    assert not report(run(zygote_folder, monkeypatch, REPORT, zygotes=False))[3]
    monkeypatch.setenv("KERAS_HOME", str(zygote_folder))  # read when Keras is imported: the zygote cannot serve
    assert not report(run(zygote_folder, monkeypatch, REPORT))[3]


def test_a_timeout_interrupts_a_forked_kernel(zygote_folder, monkeypatch):
    start = time.monotonic()
    with pytest.raises(CellTimeoutError):
        run(zygote_folder, monkeypatch, "import time\ntime.sleep(60)", timeout=3)
    assert time.monotonic() - start < 30, "the interrupt and the shutdown reached the kernel"
