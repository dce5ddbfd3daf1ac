"""Every notebook also runs on Keras's JAX backend (smoke profile): one model code, two backends.

tf.data stays the input pipeline: it feeds every Keras backend. Where the backends behave differently
(notebook 02's `trainable` trap, notebook 03's stale training step), the notebook measures and asserts
the behaviour of the backend in force.
"""

import nbformat
import pytest

from helpers.run_course import execute_notebook, notebook_paths


@pytest.mark.parametrize("source", notebook_paths(), ids=lambda path: path.stem)
def test_the_notebook_runs_on_jax(source, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))  # apart from the TensorFlow runs
    ok, _, error = execute_notebook(source, tmp_path / source.name)
    assert ok, error
    start = next(
        cell for cell in nbformat.read(tmp_path / source.name, as_version=4).cells if "notebook.start()" in cell.source
    )
    assert "backend jax" in "".join(output.get("text", "") for output in start.outputs)
