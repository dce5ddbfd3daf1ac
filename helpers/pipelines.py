"""The input pipelines taught in notebook 04, ours and the guide's, and the measures that compare them.

The functions marked "Taught in notebook 04" are copies of the notebook's cells, so notebooks 05 and 06
can reuse them; `tests/test_taught_code.py` fails when a copy and its cell differ.
"""

import math
import time

import numpy as np
import tensorflow as tf

from helpers.data import decode_image

AUTOTUNE = tf.data.AUTOTUNE


def flip_and_rotate(images, flips, angles):
    """Mirror the images where `flips` is True, then rotate each by its angle (radians, counter-clockwise).

    What RandomFlip("horizontal") followed by RandomRotation does, for draws we make ourselves, in one
    bilinear resampling (reflecting at the edges, as RandomRotation does) instead of two passes.
    Notebook 04 and tests/test_pipelines.py compare it with the two layers on the layers' own draws.
    """
    height = tf.cast(tf.shape(images)[1], tf.float32)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    cos, sin = tf.cos(angles), tf.sin(angles)
    mirror = tf.where(flips, -1.0, 1.0)  # a flip reads each row from the other end
    zeros = tf.zeros_like(angles)
    # Each row maps an output pixel (x, y) to the input pixel it is read from: rotate, then mirror.
    transforms = tf.stack(
        [
            mirror * cos,
            -mirror * sin,
            centre_x - mirror * (cos * centre_x - sin * centre_y),
            sin,
            cos,
            centre_y - sin * centre_x - cos * centre_y,
            zeros,
            zeros,
        ],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


def resize_image(image, image_size):
    """Resize to a square uint8 image, bilinear: the one resize for training, evaluation and prediction.

    Taught in notebook 04.
    """
    resized = tf.image.resize(image, (image_size, image_size))  # bilinear
    return tf.cast(tf.round(resized), tf.uint8)


def image_from_file(path, image_size):
    """An image file as training saw its images: decoded to RGB, resized by notebook 04's resize_image.

    Taught in notebook 05.
    """
    return resize_image(decode_image(tf.io.read_file(str(path))), image_size)


def augment_batch(images, seed):
    """A random horizontal flip and a random rotation of up to 10 % of a turn, for each image of a batch.

    Taught in notebook 04. `seed` (two integers) decides every draw, so batches can be augmented in
    parallel and the same seed always gives the same batch. Flip and rotation get separate seeds.
    """
    flip_seed, rotation_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    count = tf.shape(images)[0]
    flips = tf.random.stateless_uniform([count], flip_seed) < 0.5
    turns = tf.random.stateless_uniform([count], rotation_seed, minval=-0.1, maxval=0.1)
    return tf.cast(flip_and_rotate(images, flips, turns * 2 * math.pi), tf.float32)


def pipeline(dataset, image_size, batch_size, training, seed=0):
    """Our pipeline: resize, cache, shuffle, batch, augment, prefetch.

    Taught in notebook 04.
    """
    dataset = dataset.map(lambda image, label: (resize_image(image, image_size), label), num_parallel_calls=AUTOTUNE)
    dataset = dataset.cache()  # plain resized images: decoding and resizing happen once
    if training:
        dataset = dataset.shuffle(2048, seed=seed, reshuffle_each_iteration=True)  # a new order every epoch
    dataset = dataset.batch(batch_size)
    if training:
        # Two fresh random numbers per batch, a new stream every epoch, the same streams for the same seed.
        batch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, batch_seeds).map(
            lambda batch, batch_seed: (augment_batch(batch[0], batch_seed), batch[1]),
            num_parallel_calls=AUTOTUNE,  # parallel and still deterministic: no shared random state
        )
    else:
        dataset = dataset.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    return dataset.prefetch(AUTOTUNE)  # the next batch is prepared while the model trains


def guide_pipeline(dataset, image_size, batch_size, training):
    """The guide's pipeline, kept as written: resize, augment, batch, prefetch, cache.

    Taught in notebook 04.
    """
    import keras

    resize_fn = keras.layers.Resizing(image_size, image_size)
    dataset = dataset.map(lambda x, y: (resize_fn(x), y))
    if training:
        augmentation_layers = [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1)]

        def data_augmentation(x):
            for layer in augmentation_layers:
                x = layer(x)
            return x

        dataset = dataset.map(lambda x, y: (data_augmentation(x), y))
    return dataset.batch(batch_size).prefetch(AUTOTUNE).cache()


# ---------------------------------------------------------------- measuring pipelines


def indexed(source, count=64):
    """The first `count` images of `source`, each labelled with its index, to follow images by index."""
    return source.take(count).enumerate().map(lambda i, example: (example[0], i))


def epoch_images(dataset):
    """One epoch of a pipeline built on `indexed` data, as {index: image}."""
    return {int(i): x for xs, ids in dataset for x, i in zip(xs.numpy(), ids.numpy())}


def share_identical(first, second):
    """Share of the images of one epoch ({index: image}) identical in another."""
    return float(np.mean([np.array_equal(first[i], second[i]) for i in first]))


def repeated_share(build, source, count=64):
    """Share of images identical between epoch 1 and epoch 2 of the pipeline `build(dataset)`."""
    dataset = build(indexed(source, count))
    return share_identical(epoch_images(dataset), epoch_images(dataset))


def pipeline_throughput(dataset, epochs=3):
    """(images/s in epoch 1, images/s over epochs 2..`epochs`) for one pass after another."""
    rates = []
    for _ in range(epochs):
        started, count = time.perf_counter(), 0
        for images, _ in dataset:
            count += int(images.shape[0])
        rates.append(count / (time.perf_counter() - started))
    return round(rates[0], 1), round(float(np.mean(rates[1:])), 1)
