# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · Use the model: what it looks at, export it, run it outside Keras
#
# **What you will learn**
# - Grad-CAM: which part of an image moved the model's logit, from one `GradientTape` on TensorFlow or
#   one `jax.grad` on JAX, and a check that the map means something;
# - `model.export(...)` to a TensorFlow SavedModel, to ONNX and to LiteRT, each run in a fresh process
#   on the same image files, its logits compared with Keras's;
# - why a custom layer such as notebook 03's `InferenceModeBase` breaks saving, and the fix.
#
# Nothing here is trained for long: the notebook loads the model notebook 06 saved, or trains a short
# one when there is none. `make predict IMAGES=path`, described in the README, classifies your own photos
# with it.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import bases, data, exercises, models, pretrained
from helpers.models import InferenceModeBase
from helpers.pipelines import image_from_file, pipeline
from helpers.plots import image_grid
from helpers.tables import Table

backend = keras.backend.backend()
work = Path(settings.build_dir) / "notebook09"
work.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The model
# Notebook 06 saves `build/models/cats_vs_dogs.keras` with its class names inside. It takes raw RGB images
# of its trained size and returns logits: one for two classes, above 0 for the second class; one per class
# for more. We use it when its image size, base and classes match the settings. Otherwise we train a head
# for one short epoch here: enough to have a model, not a good one.

# %%
model_path = Path(settings.build_dir) / "models" / "cats_vs_dogs.keras"
size = settings.image_size
course_data = data.load_data(settings)
test_ds = pipeline(course_data.test, size, settings.batch_size, training=False)


class_names = course_data.class_names


def fits_settings(model, path):
    """True when `model` takes images of the settings' size through the settings' base, for this data's classes."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    same_base = nested and settings.base_model.replace("_", "") in nested[0].name.replace("_", "").lower()
    same_classes = (models.saved_class_names(path) or ["cat", "dog"]) == class_names
    return tuple(model.input_shape) == (None, size, size, 3) and bool(same_base) and same_classes


model = keras.models.load_model(model_path) if model_path.exists() else None
if model is not None and fits_settings(model, model_path):
    print(f"Loaded {model_path} (saved by notebook 06), classes {', '.join(models.saved_class_names(model_path) or class_names)}.")
else:
    print(f"No model for these settings at {model_path}: training a head for one epoch here instead.")
    base = models.build_base(settings.base_model, size, pretrained.resolve_weights(settings))
    base.trainable = False
    model = models.build_model(base, size, len(class_names), bases.BASES[settings.base_model].scales_inputs)  # notebook 06's
    model.compile(optimizer="adam", loss=models.loss_and_metric(len(class_names))[0])
    model.optimizer.build(model.trainable_variables)  # fit() builds its step once, not twice, on TensorFlow (notebook 03)
    model.fit(pipeline(course_data.train, size, settings.batch_size, training=True, seed=settings.seed), verbose=0)
base_layer = next(layer for layer in model.layers if isinstance(layer, keras.Model))
print(f"input {model.input_shape}, output {model.output_shape}, base {base_layer.name} -> {base_layer.output.shape}; "
      f"{len(class_names)} classes ({', '.join(class_names)})")

# %% [markdown]
# ## What the model looks at: Grad-CAM
# Grad-CAM, from Selvaraju et al., 2017, takes the feature maps of a convolutional layer. It weights each
# channel by how much the class score grows with it: the gradient, averaged over the map. Then it sums the
# channels and keeps the positive part. With one logit, the class score is the logit when the model chose
# the second class, its logit above 0, and minus the logit when it chose the first; with one logit per class, it is the largest
# logit, the chosen class's. Either way the map shows what pushed the image towards the class the model chose.
#
# Our models are chains of layers, so we run the layers up to the chosen one, then the rest, and take the
# gradient of the score with respect to the features between the two parts. On TensorFlow that is a
# `GradientTape`; on JAX, `jax.grad` of the same function: the head applied to the features. The code covers
# these two backends, the ones the course runs its notebooks on; PyTorch would need `torch.autograd` instead.


# %%
def split_at(model, layer_name):
    """Two functions, images -> features of `layer_name`, and features -> logits (every layer in inference mode)."""
    names = [layer.name for layer in model.layers]
    cut = names.index(layer_name) + 1

    def run(layers, x):
        for layer in layers:
            x = layer(x, training=False)
        return x

    return (lambda images: run(model.layers[1:cut], images)), (lambda features: run(model.layers[cut:], features))


def class_score(logits):
    """The score of the chosen class: with one logit, the logit where it is above 0 (the second class) and
    minus the logit elsewhere; with several, the largest."""
    return keras.ops.abs(logits[:, 0]) if logits.shape[-1] == 1 else keras.ops.max(logits, axis=-1)


def grad_cam(model, images, layer_name, score=class_score):
    """A Grad-CAM map per image (height x width of the image), from the feature maps of `layer_name`."""
    to_features, head = split_at(model, layer_name)
    features = to_features(keras.ops.convert_to_tensor(np.asarray(images, "float32")))
    if backend == "jax":
        import jax

        gradients = jax.grad(lambda f: keras.ops.sum(score(head(f))))(features)
    else:
        with tf.GradientTape() as tape:
            tape.watch(features)
            total = keras.ops.sum(score(head(features)))  # images are independent: one sum, all gradients
        gradients = tape.gradient(total, features)
    channel_weights = keras.ops.mean(gradients, axis=(1, 2), keepdims=True)
    maps = keras.ops.relu(keras.ops.sum(channel_weights * features, axis=-1))
    height, width = np.shape(images)[1:3]
    return keras.ops.convert_to_numpy(keras.ops.image.resize(maps[..., None], (height, width)))[..., 0]


# %% [markdown]
# ### Does the map mean anything? A test where we know the answer
# A map that always lights up the middle would look convincing on photos of pets. So first a model whose
# answer lives in one known place: 32-pixel noise images with a red square for dog or a green square for
# cat somewhere, and a blue square, in every image, somewhere else. Only the red or green square decides
# the class. A network of two convolutions and a Dense layer learns this in seconds; then most of the
# map's mass must lie in that square. By chance, the square would get only its share of the image.

# %%
SQUARE, SIDE = 8, 32


def squares(count, seed):
    """Noise images with a red (dog, 1) or green (cat, 0) square, a blue square in every one; labels; corners."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (count, SIDE, SIDE, 3)).astype("float32")
    labels = rng.integers(0, 2, count)
    corners = []
    for image, label in zip(images, labels):
        y, x = rng.integers(0, SIDE - SQUARE, 2)
        while True:  # the blue square never overlaps the deciding one
            blue_y, blue_x = rng.integers(0, SIDE - SQUARE, 2)
            if abs(blue_y - y) >= SQUARE or abs(blue_x - x) >= SQUARE:
                break
        image[y : y + SQUARE, x : x + SQUARE, 0 if label else 1] = 255
        image[blue_y : blue_y + SQUARE, blue_x : blue_x + SQUARE, 2] = 255
        corners.append((y, x, blue_y, blue_x))
    return images, labels, np.array(corners)


square_images, square_labels, _ = squares(512, settings.seed)
inputs = keras.Input(shape=(SIDE, SIDE, 3))
x = keras.layers.Rescaling(1 / 255)(inputs)
x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="first_conv")(x)
x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last_conv")(x)
squares_model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
squares_model.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)],
)
started = time.perf_counter()
squares_model.fit(square_images, square_labels, epochs=5, batch_size=32, verbose=0)
check_images, check_labels, check_corners = squares(64, settings.seed + 1)
_, squares_accuracy = squares_model.evaluate(check_images, check_labels, verbose=0)
print(f"trained in {time.perf_counter() - started:.1f} s; accuracy on 64 new images {squares_accuracy:.3f}")
assert squares_accuracy > 0.9, "the squares model learns which colour decides the class"


# %%
def mass_in(maps, corners):
    """Mean share of each map's mass inside the SQUARE x SQUARE box at its (y, x) corner."""
    shares = [m[y : y + SQUARE, x : x + SQUARE].sum() / max(m.sum(), 1e-12) for m, (y, x) in zip(maps, corners)]
    return float(np.mean(shares))


square_maps = grad_cam(squares_model, check_images, "last_conv")
deciding_share = mass_in(square_maps, check_corners[:, :2])
blue_share = mass_in(square_maps, check_corners[:, 2:])
chance = SQUARE**2 / SIDE**2
print(f"map mass in the deciding square {deciding_share:.2f}, in the blue square {blue_share:.2f}, chance {chance:.2f}")
assert deciding_share > 0.5, "Grad-CAM puts most of the map's mass in the square that decides the class"

# %% [markdown]
# Which layer? Grad-CAM is usually taken from the last convolutional layer, whose maps are the most
# abstract that still have a place: the paper's choice. On a deep base, early maps are said to respond to
# edges and colours rather than parts of a pet; we do not measure that here. The table below gives both
# convolutional layers of this toy. What does matter here: the gradient weighting and the class score's
# sign. Without the gradient weighting, or with the logit's sign kept, the assert above fails; exercise 1
# measures the sign.

# %%
display(
    Table(
        ["layer", "mass in the deciding square"],
        [[name, round(mass_in(grad_cam(squares_model, check_images, name), check_corners[:, :2]), 2)]
         for name in ("first_conv", "last_conv")],
        title="Grad-CAM of the squares model, by layer (64 images)",
    )
)

# %% [markdown]
# ### Grad-CAM on the course model
# The course model's last spatial maps are the base's output. Below: test images it gets right and wrong,
# each with its map over it. With random weights the maps mean nothing.

# %%
test_images, test_labels = map(np.concatenate, zip(*[(x.numpy(), y.numpy()) for x, y in test_ds]))
test_predicted = models.predicted_classes(model.predict(test_images, verbose=0))
right = np.flatnonzero(test_predicted == test_labels)[:3]
wrong = np.flatnonzero(test_predicted != test_labels)[:3]
chosen = np.concatenate([right, wrong]).astype(int)
course_maps = grad_cam(model, test_images[chosen], base_layer.name)
overlays = [0.55 * image + 0.45 * 255 * np.stack([m / max(m.max(), 1e-12)] * 3, -1) * [1, 0.3, 0]
            for image, m in zip(test_images[chosen], course_maps)]
titles = [f"{'right' if i in right else 'wrong'}: {class_names[test_predicted[i]]} "
          f"(is {class_names[test_labels[i]]})" for i in chosen]
image_grid(overlays, titles, columns=3);
print(f"{len(right)} right and {len(wrong)} wrong shown, of {len(test_labels)} test images; backend {backend}")

# %% [markdown]
# ## Export, and run outside Keras
# `model.export(path, format=...)` writes a model that runs without Keras: `tf_saved_model` for TensorFlow
# Serving and TensorFlow.js's converter, `onnx` for onnxruntime in many languages, and `litert` for
# TensorFlow Lite on phones. The exported model is the same function: raw 0-255 images of the trained size in, logits out.
# What it does not carry is the resize: whoever runs it must resize as training did (bilinear, then rounded
# to whole pixel values, as notebook 05's `resize_image` does).
#
# On TensorFlow all three formats export here (ONNX through tf2onnx, pinned in requirements.txt). On JAX only
# the SavedModel does: Keras's ONNX export on JAX needs the `jax2onnx` package, which the course does not
# install, and its LiteRT export needs the TensorFlow or PyTorch backend. The cell prints Keras's reasons.

# %%
export_model = squares_model if settings.profile == "smoke" else model  # smoke: the small squares model
export_size = export_model.input_shape[1]
image_dir = work / "images"
image_dir.mkdir(exist_ok=True)
sources = check_images[:8] if export_model is squares_model else test_images[:8]
image_paths = []
for i, image in enumerate(sources):  # saved 1.5 times larger, so the resize matters
    big = tf.image.resize(image, (export_size * 3 // 2, export_size * 3 // 2)).numpy()
    image_paths.append(image_dir / f"image_{i}.png")
    keras.utils.save_img(image_paths[-1], np.round(big).astype("uint8"))
keras_batch = np.stack([image_from_file(p, export_size).numpy() for p in image_paths]).astype("float32")
keras_logits = export_model.predict_on_batch(keras_batch).reshape(-1)  # every logit of every image

warnings.filterwarnings("ignore", message=".*np.object.*", category=FutureWarning)  # raised by Keras's numpy-2 patch of tf2onnx
exported, export_problems = {}, {}
for fmt, suffix in [("tf_saved_model", ""), ("onnx", ".onnx"), ("litert", ".tflite")]:
    path = work / f"model_{fmt}{suffix}"
    try:
        export_model.export(str(path), format=fmt, verbose=False)
        exported[fmt] = str(path)
    except Exception as error:  # a format this backend or this install cannot write: said below
        export_problems[fmt] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:120]}"
for fmt, problem in export_problems.items():
    print(f"{fmt} cannot be exported on {backend}: {problem}")
assert "tf_saved_model" in exported, "a TensorFlow SavedModel can be exported on every backend the course runs on"
if backend == "tensorflow":
    assert not export_problems, "on TensorFlow all three formats export"
if backend == "jax":
    assert set(export_problems) == {"onnx", "litert"}, "on JAX, Keras 3.15.1 exports a SavedModel but not ONNX or LiteRT"
    assert "jax2onnx" in export_problems["onnx"], "on JAX the ONNX export needs the jax2onnx package"
    assert "TensorFlow or PyTorch" in export_problems["litert"], "LiteRT export needs the TensorFlow or PyTorch backend"

# %% [markdown]
# A fresh Python process, with no Keras model in it, reads the same PNG files, resizes them as training did,
# and runs each exported file. This is the whole deployment code, also a script you can copy:

# %%
RUN_EXPORTED = """
import json, sys, time, warnings
import numpy as np
import tensorflow as tf

job = json.loads(sys.argv[1])
size = job["size"]
def load(path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, (size, size), method="bilinear")
    return tf.cast(tf.round(image), tf.uint8).numpy()
batch = np.stack([load(p) for p in job["images"]]).astype("float32")

runners = {}
if "tf_saved_model" in job["exported"]:
    saved = tf.saved_model.load(job["exported"]["tf_saved_model"])  # keep it: its variables live in it
    runners["tf_saved_model"] = lambda x: saved.serve(x).numpy()
if "onnx" in job["exported"]:
    import onnxruntime
    session = onnxruntime.InferenceSession(job["exported"]["onnx"])
    name = session.get_inputs()[0].name
    runners["onnx"] = lambda x: session.run(None, {name: x})[0]
if "litert" in job["exported"]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter points to ai_edge_litert; it still works
        interpreter = tf.lite.Interpreter(job["exported"]["litert"])
    entry, exit_ = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(entry, batch.shape)
    interpreter.allocate_tensors()
    def run_litert(x):
        interpreter.set_tensor(entry, x)
        interpreter.invoke()
        return interpreter.get_tensor(exit_)
    runners["litert"] = run_litert

def best_seconds(run, repeats=5):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - started)
    return min(times)

results = {}
for fmt, run in runners.items():
    logits = np.asarray(run(batch)).reshape(-1).tolist()
    results[fmt] = {"logits": logits, "ms_per_image": 1000 * best_seconds(run) / len(batch)}
print(json.dumps(results))
"""
(work / "run_exported.py").write_text(RUN_EXPORTED)
job = {"size": export_size, "images": [str(p) for p in image_paths], "exported": exported}
started = time.perf_counter()
fresh = subprocess.run([sys.executable, str(work / "run_exported.py"), json.dumps(job)],
                       capture_output=True, text=True, timeout=300)
assert fresh.returncode == 0, f"the exported models run in a fresh process: {fresh.stderr[-500:]}"
outside = json.loads(fresh.stdout.strip().splitlines()[-1])
print(f"fresh process: {time.perf_counter() - started:.1f} s, formats run: {', '.join(outside)}")

# %% [markdown]
# The table: each format's file size, milliseconds per image (best of 5 runs of the 8-image batch, in the
# fresh process; Keras's `predict_on_batch` in this notebook), and the largest difference of its logits
# from Keras's. With a GPU, Keras and the SavedModel may use it while onnxruntime and LiteRT run on the
# CPU. The tolerance we assert is 1e-4 on the logits.

# %%
TOLERANCE = 1e-4


def size_of(path):
    """Bytes of a file, or of every file under a folder."""
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


export_model.save(work / "export_model.keras")
keras_seconds = []
for _ in range(5):
    started = time.perf_counter()
    export_model.predict_on_batch(keras_batch)
    keras_seconds.append(time.perf_counter() - started)
rows = [["keras (.keras, in this process)", size_of(work / "export_model.keras"),
         round(1000 * min(keras_seconds) / len(keras_batch), 3), 0.0]]
differences = {}
for fmt, result in outside.items():
    differences[fmt] = float(np.max(np.abs(np.array(result["logits"]) - keras_logits)))
    rows.append([fmt, size_of(exported[fmt]), round(result["ms_per_image"], 3), float(f"{differences[fmt]:.2g}")])
rows += [[fmt, "-", "-", f"not exported on {backend}"] for fmt in export_problems]
display(Table(["format", "bytes", "ms per image", "largest |logit - Keras's|"], rows,
              title=f"{len(keras_batch)} images, {export_size} px, backend {backend}"))
for fmt, difference in differences.items():
    assert difference < TOLERANCE, f"the {fmt} export, run in a fresh process, gives Keras's logits"

# %% [markdown]
# ## Saving a custom layer
# Notebook 03's wrapper runs its base in inference mode. Save a model that holds it, and Keras refuses:
# the layer was built from an argument (the base) that Keras does not know how to write down.

# %%
def small_base():
    """A convolution and a BatchNormalization layer: enough to show what saving keeps."""
    base_inputs = keras.Input((8, 8, 3))
    return keras.Model(base_inputs, keras.layers.BatchNormalization()(keras.layers.Conv2D(4, 3)(base_inputs)))


def wrapped(wrapper_class):
    """A model around `wrapper_class(small_base())`: pooling and one logit."""
    wrapped_inputs = keras.Input((8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(wrapper_class(small_base())(wrapped_inputs))
    return keras.Model(wrapped_inputs, keras.layers.Dense(1)(features))


try:
    wrapped(InferenceModeBase).save(work / "wrapper.keras")
    save_error = None
except NotImplementedError as error:
    save_error = " ".join(str(error).split()).split(" Example:")[0]
print("save:", save_error)
assert save_error is not None, "a layer built from a model needs get_config before Keras can save it"

# %% [markdown]
# The fix: `get_config` writes the base down with `keras.saving.serialize_keras_object`, `from_config`
# rebuilds it, and `@keras.saving.register_keras_serializable` tells `load_model` which class the file names.
# The weights are saved as usual.

# %%
@keras.saving.register_keras_serializable(package="course")
class SavableInferenceModeBase(InferenceModeBase):
    """InferenceModeBase that Keras can save and load."""

    def get_config(self):
        return {**super().get_config(), "base": keras.saving.serialize_keras_object(self.base)}

    @classmethod
    def from_config(cls, config):
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)


wrapper_model = wrapped(SavableInferenceModeBase)
wrapper_model.save(work / "wrapper.keras")
reloaded = keras.models.load_model(work / "wrapper.keras")
probe = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype("float32")
wrapper_difference = float(np.max(np.abs(reloaded.predict_on_batch(probe) - wrapper_model.predict_on_batch(probe))))
print(f"reloaded as {type(reloaded.layers[1]).__name__}; largest output difference {wrapper_difference}")
assert isinstance(reloaded.layers[1], SavableInferenceModeBase), "the reloaded model holds the wrapper class"
assert wrapper_difference == 0.0, "the reloaded wrapper model computes what the saved one did"

# %% [markdown]
# ## Summary
# - Grad-CAM weights a layer's feature maps by the gradient of the chosen class's score; on a model where
#   we know what decides the class, most of the map's mass lies there (measured above).
# - `model.export` gives files that run without Keras; they must be fed images resized as in training.
# - A custom layer loads once it is registered with `keras.saving.register_keras_serializable`. An argument
#   that is a layer or a model also needs `get_config` and `from_config`.
#
# ## Exercises
# **1.** Grad-CAM's class score. A learner wrote `score = logits[:, 0]` for every image. Predict, before you
# run the next cell: on the squares model's cat images (green square), what share of the map lies in the
# green square with that score: about the 0.6 measured above, about chance (0.06), or close to 0? Why?

# %%
def score_as_logit(logits):
    return logits[:, 0]


cats = check_labels == 0
for name, score in [("abs(logit), the notebook's", class_score), ("logit alone", score_as_logit)]:
    cat_maps = grad_cam(squares_model, check_images[cats], "last_conv", score)
    print(f"{name}: map mass in the green square of {cats.sum()} cat images {mass_in(cat_maps, check_corners[cats, :2]):.2f}")

# %% [markdown]
# `class_score` scores the class the model chose. To see what in an image argues for a class `k` of your
# choice, whatever the model chose, the score must be class `k`'s for every image. Write
# `target_score(logits, k)`. Predict first: with one logit, what is class 0's score? The check gives it
# logits of one output and of three.

# %%
def target_score(logits, k):
    ...  # your code here


exercises.check_target_score(target_score);

# %% [markdown]
# **2.** A wrapper with a setting of its own. Write `ScaledWrapper(base, scale)`: a subclass of
# `InferenceModeBase` whose `call` multiplies its inputs by `scale`, a number such as 1/127.5, then runs
# the base in inference mode; Keras must save and load it with its scale. Predict first: does
# `SavableInferenceModeBase` pass this check, and why? The check saves and reloads a model whose wrapper
# has scale 0.5, and compares its outputs.

# %%
ScaledWrapper = ...  # your class here: a subclass of InferenceModeBase

exercises.check_scaled_wrapper(ScaledWrapper);

# %% [markdown] tags=["solution"]
# ### Reference solutions

# %% tags=["solution"]
assert not exercises.check_class_score(score_as_logit), "the logit alone is the dog score, also for cats"
assert exercises.check_class_score(class_score), "the notebook's class score passes its check"


def reference_target_score(logits, k):
    if logits.shape[-1] == 1:  # one logit: class 1's score is the logit, class 0's is minus the logit
        return logits[:, 0] if k == 1 else -logits[:, 0]
    return logits[:, k]


assert exercises.check_target_score(reference_target_score), "the reference target_score is accepted"


class ReferenceScaledWrapper(InferenceModeBase):
    def __init__(self, base, scale, **kwargs):
        super().__init__(base, **kwargs)
        self.scale = scale

    def call(self, inputs):
        return super().call(inputs * self.scale)

    def get_config(self):  # every argument of __init__: the base serialized, the scale as it is
        return {**super().get_config(), "base": keras.saving.serialize_keras_object(self.base), "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        config["base"] = keras.saving.deserialize_keras_object(config["base"])
        return cls(**config)


assert exercises.check_scaled_wrapper(ReferenceScaledWrapper), "the reference ScaledWrapper is accepted"
