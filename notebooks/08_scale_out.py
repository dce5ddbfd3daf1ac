# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Fine-tuning across devices and machines
#
# **What you will learn**
# - data-parallel training on several devices of one machine: TensorFlow's `MirroredStrategy`, and
#   Keras's `keras.distribution.DataParallel` on JAX;
# - what the *global* batch is, and the learning-rate question that follows;
# - several machines with `MultiWorkerMirroredStrategy` and `TF_CONFIG`, run here as two processes on
#   this machine;
# - proof that it is the same training: one replicated step gives the same weights as one step on one
#   device.
#
# The model is notebook 06's without its dropout (a random mask would make the runs compared below
# differ): the base with BatchNormalization frozen and a Dense head, at a small image size, trained
# with plain SGD.

# %%
import os

# JAX reads this when it starts: split this machine's CPU into two devices, so data parallelism can be
# shown without a second GPU. It must come before anything imports JAX (the next cell does). Other XLA
# flags you set are kept, and so is a device count of your own.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"

# %%
from helpers import notebook

settings = notebook.start()

# %% [markdown]
# ## The devices of this machine
# With two GPUs or more, each GPU is a device. Otherwise we split the CPU into two devices, so the code
# below runs the same way on a laptop. TensorFlow accepts this split only until its runtime starts, so
# this cell does it before any other TensorFlow work (`notebook.start()` above does none); asked again
# afterwards, TensorFlow refuses, as the cell checks. JAX reads its split from `XLA_FLAGS`, set in the
# first cell.

# %%
import keras
import tensorflow as tf

backend = keras.backend.backend()
if backend not in ("tensorflow", "jax"):
    raise SystemExit(f"This notebook covers the TensorFlow and JAX backends, not {backend}.")
if backend == "tensorflow":
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= 2:
        devices = [f"/gpu:{i}" for i in range(len(gpus))]
    else:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        try:  # the runtime has started now
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)
            refused = False
        except RuntimeError as error:
            refused = True
            print("asked again:", error)
        assert refused, "once TensorFlow's runtime has started, the CPU can no longer be split"
else:
    import jax

    gpus = jax.devices("gpu") if jax.default_backend() == "gpu" else []
    devices = gpus if len(gpus) >= 2 else jax.devices("cpu")
print(f"{backend}: {len(devices)} devices: {devices}")
assert len(devices) >= 2, "data parallelism needs two devices or more"

# %%
import json
import socket
import subprocess
import sys

import numpy as np

from helpers import bases, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.tables import Table

size = bases.BASES[settings.base_model].small_size  # small: this notebook needs the model only to run
with notebook.friendly_errors():
    weights = pretrained.resolve_weights(settings)


def build_model():
    """Notebook 06's model without dropout, BatchNormalization frozen, base trainable; the same weights each time."""
    keras.utils.set_random_seed(settings.seed)
    base_model = models.build_base(settings.base_model, size, weights)
    models.unfreeze_keep_batchnorm_frozen(base_model)
    inputs = keras.Input((size, size, 3))
    x = inputs if bases.BASES[settings.base_model].scales_inputs else keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = base_model(x, training=False)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model


# %% [markdown]
# ## The global batch
# Data parallelism copies the model onto every device, gives each device its own slice of every batch,
# and averages the gradients before each update. Each copy, with the device that runs it, is a
# **replica**. The batch you hand to `fit()` is the **global** batch:
# per-device batch x number of devices. Keep the per-device batch you had on one device, and the
# global batch grows with the devices, so each update averages more images and there are fewer updates
# per epoch. The learning rate that worked on one device is then a starting point, not an answer. A
# common rule of thumb, advice we do not measure here, is to scale it with the global batch and to warm
# it up over the first steps. For fine-tuning, where the rate is small to protect the pretrained weights,
# scale it with care and compare on validation data.

# %%
per_device_batch = 4
global_batch = per_device_batch * len(devices)
images, labels = data.synthetic_images(global_batch, size, settings.seed)
images = images.astype("float32")
one_batch = tf.data.Dataset.from_tensor_slices((images, labels)).batch(global_batch)
print(f"per-device batch {per_device_batch} x {len(devices)} devices = global batch {global_batch}")

# %% [markdown]
# ## Several devices, one machine
# On TensorFlow, build and compile the model inside `strategy.scope()`: its variables become mirrored
# on every device. On JAX, `keras.distribution.set_distribution(DataParallel(...))` before building
# the model does the same. `fit()` then gives each device its slice of every global batch: on JAX the
# cell lays out one global batch the way the distribution does and prints each device's slice; on TensorFlow the BatchNormalization cell
# further down reads what each replica saw. We count the replicas by measuring where the model's
# first weight lives: on how many devices it has a copy.

# %%
if backend == "tensorflow":
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        replicated = build_model()
    replicas = len(replicated.weights[0].value.values)  # a MirroredVariable: one copy per device
else:
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    replicated = build_model()
    replicas = len(replicated.weights[0].value.sharding.device_set)  # the devices that hold the array
    layout = keras.distribution.distribution().get_data_layout(images.shape)
    sliced = keras.distribution.distribute_tensor(images, layout)  # one global batch, laid out that way
    slices = [tuple(shard.data.shape) for shard in sliced.addressable_shards]
    print(f"a global batch laid out as {layout.axes}: the devices hold slices of shape {slices}")
    assert [shape[0] for shape in slices] == [per_device_batch] * len(devices), (
        "laid out this way, a global batch gives each device per_device_batch images"
    )
print(f"the first weight has a copy on {replicas} devices: {replicas} replicas")
assert replicas == len(devices), "every device holds a copy of the weights"

# %% [markdown]
# ## The same training, proved
# One step on one device, and one step on all of them, from the same weights and on the same global
# batch. Data parallelism is only an implementation of the same computation: the weights must agree.

# %%
if backend == "jax":
    keras.distribution.set_distribution(None)  # the single-device model is built without distribution
with tf.device(devices[0]) if backend == "tensorflow" else jax.default_device(devices[0]):
    single = build_model()  # on the first of the replicas' devices: the same hardware, the same arithmetic
    start = single.get_weights()
    single.fit(one_batch, epochs=1, verbose=0)
replicated.set_weights(start)
if backend == "jax":
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
replicated.fit(one_batch, epochs=1, verbose=0)

changes = [float(np.abs(a - b).max()) for a, b in zip(start, single.get_weights())]
moved, moved_arrays = max(changes), sum(change > 1e-6 for change in changes)
gap = max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), replicated.get_weights()))
print(f"the step moved {moved_arrays} of {len(changes)} weight arrays, the largest by {moved:.2e}; "
      f"largest difference, one device vs {replicas}: {gap:.2e}")
assert moved > 1e-4, "the step must change the weights, or the comparison proves nothing"
if settings.uses_pretrained_weights:
    assert moved_arrays > 2, "one step moves the base's weights, not only the head's"
else:
    print(f"This run's base has random weights: the comparison rests on the arrays that moved, {moved_arrays}.")
assert gap < 1e-5, "a replicated step must give the weights of a single-device step"

# %% [markdown]
# Training for real is the same `fit()` call, on notebook 05's pipeline, its batches now global
# batches. This model has one logit, for two classes: on data of more classes it trains on the first two.

# %%
with notebook.friendly_errors():
    course_data = data.load_data(settings)
two_classes = course_data.train.filter(lambda image, label: label < 2)  # what a one-logit model can learn
# repeat(): 64 images however many the two classes hold, so every global batch splits evenly over the devices
train_ds = pipeline(two_classes.repeat().take(64), size, global_batch, training=True, seed=settings.seed)
history = replicated.fit(train_ds, epochs=1, verbose=0)
print(f"one epoch of 64 images on {replicas} devices: loss {history.history['loss'][-1]:.4f}")
if backend == "jax":
    keras.distribution.set_distribution(None)

# %% [markdown]
# ## BatchNormalization that updates
# BatchNormalization is frozen here, as in notebook 06. Were it updating, the statistics of a batch
# would enter every step, and then it matters which images each device normalises with. A tiny model
# with one BatchNormalization layer at momentum 0, so that its moving mean becomes the last batch's mean,
# takes one step on a global batch whose device slices differ: slice *i* is shifted by 5 *i*. Then we
# read the moving mean from every device's copy. On TensorFlow, `synchronized=True` is the layer's
# option to share the statistics across replicas; the cell tries both there.

# %%
rng = np.random.default_rng(settings.seed)
shifted = np.concatenate([rng.normal(size=(per_device_batch, 4)) + 5.0 * i for i in range(len(devices))])
shifted = shifted.astype("float32")
targets = np.zeros((len(shifted), 1), "float32")
bn_batch = tf.data.Dataset.from_tensor_slices((shifted, targets)).batch(len(shifted))  # one global batch
slice_means = [shifted[i * per_device_batch:(i + 1) * per_device_batch].mean(axis=0) for i in range(len(devices))]


def bn_model(**options):
    """Dense(1) on one BatchNormalization layer whose moving mean is the last batch's mean."""
    keras.utils.set_random_seed(settings.seed)
    inputs = keras.Input((4,))
    x = keras.layers.BatchNormalization(momentum=0.0, **options)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def moving_means(model):
    """The moving mean as each device holds it."""
    value = model.layers[1].moving_mean.value
    if backend == "tensorflow":
        return [np.asarray(copy) for copy in value.values]  # a MirroredVariable: one copy per replica
    return [np.asarray(shard.data) for shard in value.addressable_shards]  # a JAX array: one copy per device


arms = {"BatchNormalization()": {}}
if backend == "tensorflow":
    arms["BatchNormalization(synchronized=True)"] = {"synchronized": True}
rows = {}
for name, options in arms.items():
    if backend == "tensorflow":
        with strategy.scope():
            bn = bn_model(**options)
    else:
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        bn = bn_model(**options)
    bn.fit(bn_batch, epochs=1, verbose=0)
    if backend == "jax":
        keras.distribution.set_distribution(None)
    means = moving_means(bn)
    rows[name] = [len(means), max(float(np.abs(m - own).max()) for m, own in zip(means, slice_means)),
                  max(float(np.abs(m - shifted.mean(axis=0)).max()) for m in means)]
display(Table([f"{backend}: layer", "copies read", "largest gap to the device's own slice mean",
               "largest gap to the global batch's mean"], [[name, *row] for name, row in rows.items()]))
if backend == "tensorflow":
    assert rows["BatchNormalization()"][1] < 1e-4, "under MirroredStrategy each replica uses its own slice's statistics"
    assert rows["BatchNormalization(synchronized=True)"][2] < 1e-4, "synchronized=True shares the global statistics"
else:
    assert rows["BatchNormalization()"][2] < 1e-4, "on JAX, BatchNormalization uses the global batch's statistics"
print("So on this backend an updating BatchNormalization layer normalises with "
      + ("its own slice's statistics on each replica, unless synchronized=True." if backend == "tensorflow"
         else "the global batch's statistics, as on one device."))

# %% [markdown]
# ## Several machines
# `MultiWorkerMirroredStrategy` runs one process per machine. Each reads `TF_CONFIG`, an environment
# variable that lists every worker's address and says which one it is; the workers then exchange
# gradients over the network. Here both workers are processes on this machine, on two free ports, and
# each trains on its own shard of every global batch; afterwards their weights must be identical. Equal
# weights alone would not show the sharding (two workers fed the same batches end equal too), so each
# worker also records the index of every image it trained on, and how many weight arrays moved.
#
# The workers train with a short loop of their own, `strategy.run` on each shard with gradients from
# `tf.GradientTape`, rather than `fit()`. On these versions `fit()` under this strategy fails with
# "Attempt to convert a value (PerReplica...)" (keras-team/keras#20585). The workers try it after
# saving their weights, and the cell below prints the error. The workers use TensorFlow, whatever this
# notebook's backend.

# %%
WORKER = '''
import sys
import numpy as np
import tensorflow as tf
import keras
from helpers import bases, data, models

strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG: the cluster and this worker
size, base_model_name, out, weights = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] or None
global_batch = 8
with strategy.scope():  # the model and its optimizer, mirrored on every worker
    keras.utils.set_random_seed(0)
    base = models.build_base(base_model_name, size, weights)  # the notebook's weights
    models.unfreeze_keep_batchnorm_frozen(base)
    inputs = keras.Input((size, size, 3))
    scaled = inputs if bases.BASES[base_model_name].scales_inputs else keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = base(scaled, training=False)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x)))
    optimizer = keras.optimizers.SGD(0.01)
    per_image_loss = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)
start = [w.numpy() for w in model.weights]
images, labels = data.synthetic_images(16, size, seed=0)
indices = np.arange(16)  # which image is which, to see each worker's shard
dataset = tf.data.Dataset.from_tensor_slices((images.astype("float32"), labels.astype("float32")[:, None], indices))
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA  # a shard each
batches = strategy.experimental_distribute_dataset(dataset.batch(global_batch).with_options(options))


@tf.function
def train_step(batch):
    def replica_step(images, labels, indices):
        with tf.GradientTape() as tape:
            losses = per_image_loss(labels, model(images, training=True))
            loss = tf.nn.compute_average_loss(losses, global_batch_size=global_batch)  # mean over the global batch
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # gradients summed over workers

    strategy.run(replica_step, args=batch)


seen = []
for batch in batches:
    seen.extend(int(i) for part in strategy.experimental_local_results(batch[2]) for i in part.numpy())
    train_step(batch)
moved = [float(np.abs(w.numpy() - s).max()) for w, s in zip(model.weights, start)]
np.savez(out, moved=moved, seen=np.array(seen), *[w.numpy() for w in model.weights])
try:  # after the weights are saved: what fit() does under this strategy
    with strategy.scope():
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(dataset.map(lambda x, y, i: (x, y)).batch(global_batch).with_options(options), epochs=1, verbose=0)
    fit_error = ""
except Exception as error:
    fit_error = f"{type(error).__name__}: {error}"
open(out + ".fit.txt", "w").write(fit_error)
'''


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("localhost", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


work = settings.build_dir / "workers"
work.mkdir(parents=True, exist_ok=True)
(work / "worker.py").write_text(WORKER)
cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
workers = []
for index in range(2):
    tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
    env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "KERAS_BACKEND": "tensorflow", "XLA_FLAGS": ""}
    workers.append(subprocess.Popen(
        [sys.executable, str(work / "worker.py"), str(size), settings.base_model, str(work / f"worker_{index}.npz"),
         weights or ""],
        env=env, stdout=subprocess.DEVNULL, stderr=open(work / f"worker_{index}.log", "wb"),
    ))
codes = [worker.wait(timeout=600) for worker in workers]
print("TF_CONFIG of worker 0:", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
assert codes == [0, 0], f"a worker failed: see {work}/worker_*.log"

# %%
results = [np.load(work / f"worker_{index}.npz") for index in range(2)]
arrays = [[result[name] for name in result.files if name not in ("moved", "seen")] for result in results]
moved = [result["moved"] for result in results]  # each weight array's largest change
moved_arrays = [int((changes > 1e-6).sum()) for changes in moved]
seen = [sorted(int(i) for i in result["seen"]) for result in results]
fit_errors = [(work / f"worker_{index}.npz.fit.txt").read_text() for index in range(2)]
differences = max(float(np.abs(a - b).max()) for a, b in zip(*arrays))
display(Table(["worker", "images trained on", "weight arrays moved", "largest change", "sum of all weights"],
              [[index, " ".join(map(str, seen[index])), f"{moved_arrays[index]} of {len(values)}",
                float(moved[index].max()), float(sum(w.sum() for w in values))] for index, values in enumerate(arrays)]))
for index, error in enumerate(fit_errors):
    print(f"worker {index}, fit(): {error.splitlines()[0][:90] if error else 'no error'}")
assert not set(seen[0]) & set(seen[1]), "each worker trains on its own shard: no image on both"
assert sorted(seen[0] + seen[1]) == list(range(16)), "together the shards hold every image once"
assert all(sum(i // 8 == b for i in seen[w]) == 4 for w in (0, 1) for b in (0, 1)), (
    "each worker trains on half of every global batch of 8"
)
assert min(float(changes.max()) for changes in moved) > 1e-4, "the workers must have trained"
if settings.uses_pretrained_weights:
    assert min(moved_arrays) > 2, "the workers' step moves the base's weights, not only the head's"
else:
    print(f"This run's base has random weights: the workers' check rests on the arrays that moved, {min(moved_arrays)}.")
assert differences == 0.0, "every worker must end with the same weights"
assert all("PerReplica" in error for error in fit_errors), "fit() under MultiWorkerMirroredStrategy fails on these versions"
print(f"the workers trained on {len(seen[0])} and {len(seen[1])} different images and finished with identical weights")

# %% [markdown]
# ## On a real cluster
# - Each machine runs the same script once, with a `TF_CONFIG` that lists the real addresses of all
#   workers (`"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]`) and its own index; the ports must be
#   open between the machines. Worker 0 is the chief; our advice is to let only it save the model.
# - Reading the data: each worker reads its shard (`AutoShardPolicy.FILE` when the data is in many
#   files, `DATA` as here when it is not).
# - On JAX, the same idea is `jax.distributed.initialize(coordinator_address=..., num_processes=...,
#   process_id=...)` in every process, then `keras.distribution.DataParallel` over all processes'
#   devices. The course has not run that multi-process version (it was not tried on this CPU machine).

# %% [markdown]
# ## Exercises
# **1.** Four GPUs, a per-device batch of 32, 2,000 training images. What global batch do you pass to
# `fit()`, and how many updates does one epoch make (round up)?

# %%
from helpers import exercises

my_global_batch, my_updates_per_epoch = ..., ...
exercises.check_global_batch((my_global_batch, my_updates_per_epoch));

# %% [markdown] tags=["solution"]
# ### Reference solution

# %% tags=["solution"]
assert exercises.check_global_batch((4 * 32, -(-2000 // (4 * 32)))), "the reference global batch and step count pass their check"
