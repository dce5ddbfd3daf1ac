"""The pipeline's promises: fresh, independent and deterministic augmentation, and one resize for all."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from helpers import data, pipelines


@pytest.fixture
def synthetic():
    return data.load_synthetic(64, 48, 16, seed=2)


def test_two_epochs_give_different_augmented_images(synthetic):
    share = pipelines.repeated_share(lambda ds: pipelines.pipeline(ds, 64, 8, training=True, seed=1), synthetic.train)
    assert share == 0.0  # identical only for the same flip and exactly the same angle, drawn from a continuum


def test_labels_stay_with_their_images_through_the_pipeline(synthetic):
    dataset = pipelines.pipeline(synthetic.train, 64, 8, training=True, seed=4)
    pairs = [(data.synthetic_label(x), int(y)) for xs, ys in dataset for x, y in zip(xs.numpy(), ys.numpy())]
    assert len(pairs) == 48 and all(a == b for a, b in pairs)


def all_batches(dataset):
    return [x.numpy() for x, _ in dataset]


@pytest.mark.parametrize("repeat", range(5))
def test_the_same_seed_gives_the_same_batches_in_parallel_runs(synthetic, repeat):
    def build(seed):
        return pipelines.pipeline(synthetic.train, 64, 8, training=True, seed=seed)

    first, again, other = all_batches(build(7)), all_batches(build(7)), all_batches(build(8))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_the_same_seed_gives_the_same_second_epoch(synthetic):
    runs = []
    for _ in range(2):
        dataset = pipelines.pipeline(synthetic.train, 64, 8, training=True, seed=7)
        runs.append([all_batches(dataset), all_batches(dataset)])
    assert all(np.array_equal(a, b) for epoch in range(2) for a, b in zip(runs[0][epoch], runs[1][epoch]))
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0][0], runs[0][1]))


def marker_image(size=64):
    """A dark image with one bright square left of the top centre: asymmetric under flips and rotations."""
    image = np.zeros((size, size, 3), np.float32)
    image[8:16, 16:24] = 255.0
    return image


def flip_and_angle(image, size=64):
    """(flipped?, rotation angle in radians) read back from an augmented `marker_image`."""
    rows, cols = np.nonzero(image[..., 0] > 127)
    centre = (size - 1) / 2
    angle = np.arctan2(centre - rows.mean(), cols.mean() - centre)  # counter-clockwise, y up
    original = np.arctan2(centre - 11.5, 19.5 - centre)
    mirrored = np.pi - original

    def unwrap(a):
        return (a + np.pi) % (2 * np.pi) - np.pi

    plain, flipped = unwrap(angle - original), unwrap(angle - mirrored)
    return (True, flipped) if abs(flipped) < abs(plain) else (False, plain)


def test_flip_and_rotation_are_independent_and_within_the_guides_range():
    copies = tf.constant(np.repeat(marker_image()[None], 512, axis=0))
    augmented = pipelines.augment_batch(copies, tf.constant([3, 4], tf.int64)).numpy()
    draws = [flip_and_angle(image) for image in augmented]
    flipped = np.array([f for f, _ in draws])
    positive = np.array([a > 0 for _, a in draws])
    assert 0.4 < flipped.mean() < 0.6
    assert abs(positive[flipped].mean() - positive[~flipped].mean()) < 0.15
    assert max(abs(a) for _, a in draws) <= 0.1 * 2 * np.pi + 0.05  # up to 10 % of a turn


def test_augmentation_is_a_function_of_the_seed():
    copies = tf.constant(np.repeat(marker_image()[None], 16, axis=0))
    seed = tf.constant([1, 2], tf.int64)
    first, again = pipelines.augment_batch(copies, seed), pipelines.augment_batch(copies, seed)
    other = pipelines.augment_batch(copies, tf.constant([1, 3], tf.int64))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_validation_data_is_neither_shuffled_nor_augmented(synthetic):
    dataset = pipelines.pipeline(synthetic.validation, 64, 8, training=False)
    first = np.concatenate([x.numpy() for x, _ in dataset])
    second = np.concatenate([x.numpy() for x, _ in dataset])
    raw = np.stack([x.numpy() for x, _ in synthetic.validation]).astype("float32")
    assert np.array_equal(first, second) and np.allclose(first, raw)


def test_the_guide_pipeline_replays_epoch_one(synthetic):
    share = pipelines.repeated_share(lambda ds: pipelines.guide_pipeline(ds, 64, 8, training=True), synthetic.train)
    assert share == 1.0


def test_a_file_reaches_the_model_as_the_pipeline_gives_it(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "dog" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(rng.integers(0, 255, (300, 200, 3), dtype=np.uint8)).save(path, quality=90)
    from_file = pipelines.image_from_file(path, 96).numpy()[None].astype("float32")
    files = tf.data.Dataset.from_tensor_slices(([str(path)], [1]))
    files = files.map(lambda p, label: (data.decode_image(tf.io.read_file(p)), label))
    from_pipeline = next(iter(pipelines.pipeline(files, 96, 1, training=False)))[0].numpy()
    inputs = keras.Input((96, 96, 3))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inputs))))
    np.testing.assert_allclose(model.predict_on_batch(from_file), model.predict_on_batch(from_pipeline), atol=1e-5)
    nearest = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(96, 96)))[None]
    assert not np.allclose(nearest, from_pipeline, atol=1.0), "load_img's default resize is not the training resize"


def test_flip_and_rotate_applies_the_transform_of_the_guides_two_layers():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (16, 48, 48, 3)).astype("float32"))
    flip = keras.layers.RandomFlip("horizontal", seed=1)
    rotation = keras.layers.RandomRotation(0.1, seed=2)
    flip_draws = flip.get_random_transformation(images)
    flipped = flip.transform_images(images, flip_draws)
    rotation_draws = rotation.get_random_transformation(flipped)
    expected = np.asarray(rotation.transform_images(flipped, rotation_draws))
    flips = np.asarray(flip_draws["flips"]).reshape(-1)
    angles = np.deg2rad(np.asarray(rotation_draws["angle"])).astype("float32")  # the layer draws degrees
    assert 0 < flips.sum() < len(flips), "the draws hold flipped and unflipped images"
    ours = pipelines.flip_and_rotate(images, tf.constant(flips), tf.constant(angles)).numpy()
    assert np.abs(ours - expected).max() < 2e-3  # on 0-255 pixels: the same transform, to rounding
