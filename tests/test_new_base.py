"""Adding a base is one table entry: MobileNetV3Small, which scales its inputs itself, runs notebook 06.

The entry is added to helpers/bases.py's table in the notebook's kernel, by an IPython start-up file, and
nowhere else: settings, weights, notebook 06's model and its saved file follow from it. The saved model
must take raw 0-255 images like every course model, and must not scale them a second time.
"""

import keras
import numpy as np
from support import EAGER_STEPS

from commands.run_course import execute_notebook
from helpers.config import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "06_transfer_and_finetune.ipynb"
ENTRY = """
from helpers import bases

bases.BASES["mobilenet_v3_small"] = bases.Base(
    constructor="MobileNetV3Small",
    preprocessing="mobilenet_v3",
    scales_inputs=True,  # MobileNetV3 rescales raw 0-255 pixels itself (include_preprocessing=True)
    default_size=224,
    min_size=32,
)
"""
SIZE = 32


def test_a_base_added_by_one_table_entry_runs_notebook_06_and_saves_a_raw_pixel_model(tmp_path, monkeypatch):
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00_new_base.py").write_text(ENTRY)
    # Eager steps, as for notebook 06's mutation rows (tests/test_claims.py): tracing a train step costs more
    # than the few steps this run takes (measured: 62 s -> 29 s for this test). test_site.py runs the notebook compiled.
    (startup / "01_eager_steps.py").write_text(EAGER_STEPS)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    # The smallest run the settings allow: CI runs this test too.
    for name, value in dict(BASE_MODEL="mobilenet_v3_small", IMAGE_SIZE=SIZE, TRAIN_IMAGES=16, EVAL_IMAGES=8).items():
        monkeypatch.setenv(f"COURSE_{name}", str(value))
    monkeypatch.setenv("COURSE_BATCH_SIZE", "8")
    ok, _, error = execute_notebook(NOTEBOOK, tmp_path / "executed.ipynb")
    assert ok, error
    assert "base mobilenet_v3_small" in (tmp_path / "executed.ipynb").read_text(), "the kernel used the new entry"

    model = keras.models.load_model(tmp_path / "build" / "models" / "cats_vs_dogs.keras", compile=False)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert base.name == "MobileNetV3Small"
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in base.layers), "the base scales inputs itself"
    before_base = model.layers[1 : model.layers.index(base)]
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in before_base), "no second scaling"

    raw = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    preprocess = keras.applications.mobilenet_v3.preprocess_input  # what the base expects of 0-255 pixels
    x = base(preprocess(raw.copy()), training=False)
    for layer in model.layers[model.layers.index(base) + 1 :]:
        x = layer(x, training=False)
    np.testing.assert_allclose(model.predict_on_batch(raw), keras.ops.convert_to_numpy(x), rtol=1e-5, atol=1e-6)
