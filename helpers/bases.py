"""The base models the course knows: one table entry per base holds everything the course needs about it.

Adding a base is adding one entry to BASES: settings (`COURSE_BASE_MODEL`), the weights file's download and
check, notebook 00's table, the slow-backend note, notebook 06's model (its scaling) and notebook 08's size
all read it. Nothing here imports Keras until `build` is called.
"""

from dataclasses import dataclass, field

_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Base:
    """One base model: how to build it, what input it expects, its weights file, and what it costs."""

    constructor: str  # the keras.applications function, e.g. "MobileNetV2"
    preprocessing: str  # the keras.applications module whose preprocess_input the base expects
    # True when the base rescales raw 0-255 pixels itself (MobileNetV3, EfficientNet): the course must not
    # scale its inputs again. False: it expects -1..1 (Xception, MobileNetV2), which the course's model does.
    scales_inputs: bool
    default_size: int  # pixels, when COURSE_IMAGE_SIZE is not set
    min_size: int  # the smallest input keras.applications accepts for it
    arguments: dict = field(default_factory=dict)  # other arguments to the constructor (alpha=0.35)
    # The quick profile's images, epochs and batch: what fits in a few minutes on a CPU laptop.
    quick_sizes: dict = field(
        default_factory=lambda: dict(train_images=300, eval_images=150, epochs_head=3, epochs_finetune=1)
    )
    small_size: int = 96  # pixels, where a notebook needs the model only to run (notebook 08)
    cost: str = ""  # multiply-adds per image, for the reader
    slow_on_jax_cpu: bool = False  # depthwise convolutions: JAX on a CPU ran them 15x slower than TensorFlow
    # The ImageNet weights file keras.applications downloads (include_top=False) and its hash ("" when the
    # course knows none: only COURSE_WEIGHTS=none or a file then).
    weights_file: str = ""
    weights_origin: str = ""
    weights_hash: str = ""  # sha256 (64 hex digits) or md5 (32), as keras.utils.get_file checks
    weight_layers: int = 0  # layers with weights, which Keras's .h5 loader compares (0: not checked)


BASES = {
    # The guide's base. Xception's md5 is Keras's own.
    "xception": Base(
        constructor="Xception",
        preprocessing="xception",
        scales_inputs=False,
        default_size=150,
        min_size=71,
        quick_sizes=dict(train_images=300, eval_images=150, epochs_head=3, epochs_finetune=1),
        small_size=150,
        cost="about 4.6 billion multiply-adds per 150 px image",
        weights_file="xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS_APPS + "xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_hash="b0042744bf5b25fce3cb969f33bebb97",
        weight_layers=80,
    ),
    # The quick profile's base. Keras pins no hash for it; this sha256 is the file's (shared/weights/SOURCE.md).
    "mobilenet_v2_0.35": Base(
        constructor="MobileNetV2",
        arguments=dict(alpha=0.35),
        preprocessing="mobilenet_v2",
        scales_inputs=False,
        default_size=224,
        min_size=32,
        quick_sizes=dict(train_images=2000, eval_images=400, epochs_head=5, epochs_finetune=2, batch_size=32),
        cost="about 59 million multiply-adds per 224 px image",
        slow_on_jax_cpu=True,
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
        weights_origin=_KERAS_APPS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
        weights_hash="df1c3db1d0d9193719c4c70f707c56f7021f999f825bdc57454c275cf6def19f",
        weight_layers=104,
    ),
}


def base_info(name):
    """The table entry of the base `name`; ValueError naming the known bases when there is none."""
    if name not in BASES:
        raise ValueError(f"Unknown base model {name!r}; use one of: {', '.join(BASES)}.")
    return BASES[name]


def build(name, image_size, weights):
    """The base `name` without its ImageNet classifier, for square RGB images, as its table entry says.

    `weights` is None (random) or the path of a weights file. Notebook 06 writes this call out for the
    bases it teaches; this is how any other entry of the table is built.
    """
    import keras

    base = base_info(name)
    constructor = getattr(keras.applications, base.constructor)
    return constructor(**base.arguments, weights=weights, input_shape=(image_size, image_size, 3), include_top=False)


def preprocess_input(name):
    """The preprocessing function keras.applications pairs with the base `name` (0-255 pixels in)."""
    import keras

    return getattr(keras.applications, base_info(name).preprocessing).preprocess_input
