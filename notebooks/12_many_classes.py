# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 12 · Many classes: top-k accuracy and class imbalance
#
# **What you will learn**
# - what changes in the model with more than two classes (a short recap of notebook 06);
# - top-k accuracy: whether the true class is among the model's k best guesses;
# - what an imbalanced training set does to the rare class, and whether class weights help, measured on
#   the same test images with notebook 09's paired test.
#
# Run it on a folder of your own with three or more classes (`COURSE_DATA_DIR`), or on the flowers
# (`COURSE_DATA_SOURCE=flowers`). It also runs on two classes; then top-k has nothing to show.

# %%
from helpers import notebook

settings = notebook.start()

# %%
import keras
import numpy as np

from helpers import bases, data, models, pretrained
from helpers.pipelines import pipeline
from helpers.stats import detectable_split, mcnemar_exact, wilson_interval
from helpers.tables import Table

with notebook.friendly_errors():
    course_data = data.load_data(settings)
    weights = pretrained.resolve_weights(settings)
class_names = course_data.class_names
class_count = len(class_names)
print(course_data.description)

# %% [markdown]
# ## The model, and features computed once
# Notebook 06's model: one logit for two classes, one logit per class for more. A softmax turns the
# logits into probabilities that add up to 1, which suits classes that exclude each other. The base is
# frozen and runs in inference mode, so its pooled output for an image never changes: we compute it
# once and train heads on it, as notebook 07 does. Training images are not augmented here.

# %%
size, batch_size = settings.image_size, settings.batch_size
base = models.build_base(settings.base_model, size, weights)
base.trainable = False
model = models.build_model(base, size, class_count, bases.BASES[settings.base_model].scales_inputs)
pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
feature_model = keras.Model(model.inputs, pooling.output)


def features_of(split):
    """The pooled features and the labels of every image of a split, in order."""
    batches = pipeline(split, size, batch_size, training=False)
    return feature_model.predict(batches, verbose=0), np.concatenate([labels.numpy() for _, labels in batches])


train_x, train_y = features_of(course_data.train)
test_x, test_y = features_of(course_data.test)
print(f"{len(train_x)} training and {len(test_x)} test images, {train_x.shape[1]} features each; "
      f"{class_count} classes, model output {model.output.shape[1:]}")
HEAD_EPOCHS = max(settings.epochs_head, 20)  # a head on stored features: each epoch takes a moment


def train_head(features, labels, class_weight=None, sample_weight=None, epochs=HEAD_EPOCHS):
    """Notebook 06's head (dropout, Dense) trained on stored features, with the settings' seed."""
    keras.utils.set_random_seed(settings.seed)
    head = keras.Sequential([keras.Input(features.shape[1:]), keras.layers.Dropout(0.2),
                             keras.layers.Dense(model.output.shape[-1])])
    loss, accuracy = models.loss_and_metric(class_count)
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=[accuracy])
    head.fit(features, labels, batch_size=batch_size, epochs=epochs, class_weight=class_weight,
             sample_weight=sample_weight, verbose=0)
    return head


# %% [markdown]
# ## Top-k accuracy
# With many classes, a wrong answer can still be a near miss. Top-k accuracy counts an image as right
# when its true class is among the k largest logits (a class tied at the k-th place counts as among
# them). Keras computes it with `SparseTopKCategoricalAccuracy(k=...)`; we count it ourselves too.

# %%
tie = keras.metrics.SparseTopKCategoricalAccuracy(k=1)
tie.update_state(np.array([1]), np.array([[1.0, 1.0, 0.0]], "float32"))  # the true class 1 ties with class 0 for first place
assert float(tie.result()) == 1.0, "a class tied at the k-th place counts as in the top k"
head = train_head(train_x, train_y)
test_logits = head.predict(test_x, verbose=0)
top_1 = float((models.predicted_classes(test_logits) == test_y).mean())
if class_count == 2:
    print(f"top-1 accuracy {top_1:.4f}. Two classes: the true class is always among the top two, "
          "so top-k needs three classes or more.")
else:
    top_2_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    top_2_metric.update_state(test_y, test_logits)
    top_2 = float(top_2_metric.result())
    true_logits = test_logits[np.arange(len(test_y)), test_y]
    beaten_by = (test_logits > true_logits[:, None]).sum(axis=1)  # how many classes score above the true one
    assert abs(top_2 - float((beaten_by < 2).mean())) < 1e-6, "top-2: the true class is among the two largest logits"
    display(Table(["measure", "test accuracy"], [["top-1", top_1], ["top-2", top_2]],
                  title=f"{len(test_y)} test images, {class_count} classes (a uniform guess: top-1 {1 / class_count:.2f})"))

# %% [markdown]
# ## An imbalanced training set
# Real folders are rarely balanced. To see what that does, we make an imbalanced copy of the training
# split: the last class keeps a fifth of its images, the others keep all of theirs. The test split stays
# as it is, so every comparison below is on the same test images.

# %%
RARE_SHARE = 0.2
rare = class_count - 1
rng = np.random.default_rng(settings.seed)
rare_positions = np.flatnonzero(train_y == rare)
kept_rare = rng.choice(rare_positions, size=max(1, round(RARE_SHARE * len(rare_positions))), replace=False)
keep = np.sort(np.concatenate([np.flatnonzero(train_y != rare), kept_rare]))
imbalanced_x, imbalanced_y = train_x[keep], train_y[keep]
before, after = np.bincount(train_y, minlength=class_count), np.bincount(imbalanced_y, minlength=class_count)
display(Table(["class", "training images", "in the imbalanced copy"], zip(class_names, before, after)))
others = np.arange(class_count) != rare
a_fifth = max(1, round(RARE_SHARE * before[rare]))  # a fifth, at least one
assert after[rare] == a_fifth < before[rare] and np.array_equal(after[others], before[others]), (
    "the copy keeps fewer images of the rare class (a fifth, at least one) and every image of the others"
)

# %% [markdown]
# ## Class weights
# A head trained on this copy sees the rare class seldom. The table below shows how many of the rare
# class's test images each head finds. `fit()` takes `class_weight`, a weight per class that multiplies
# each image's loss. Weights inversely proportional to the class sizes make every class weigh the same in
# the loss in total. It is a common first try (our advice); resampling the rare class is another.


# %%
def balanced_class_weights(labels, class_count):
    """{class: weight} with which every class weighs the same in the loss: images / (classes x class images)."""
    counts = np.bincount(labels, minlength=class_count)
    return {k: len(labels) / (class_count * counts[k]) for k in range(class_count) if counts[k]}


class_weight = balanced_class_weights(imbalanced_y, class_count)
print("class weights:", ", ".join(f"{class_names[k]} {w:.2f}" for k, w in class_weight.items()))
# What class_weight does in fit(): each image's loss weighted by its class's weight, as sample_weight would.
image_weights = np.array([class_weight[label] for label in imbalanced_y])
by_class = train_head(imbalanced_x, imbalanced_y, class_weight=class_weight, epochs=1)
by_image = train_head(imbalanced_x, imbalanced_y, sample_weight=image_weights, epochs=1)
assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(by_class.get_weights(), by_image.get_weights())), (
    "class_weight weighs each image's loss by its class's weight"
)

# %% [markdown]
# Two heads, trained alike from the same seed: one without weights, one with. We score both on the same
# test images: accuracy, and the recall of the rare class with its Wilson interval (notebook 09). The
# paired test asks whether they differ: once on all test images, once on the rare class's images. Two
# tests, so each uses 0.05 / 2 (Bonferroni). One seed only: a second seed could move these figures.

# %%
ALPHA = 0.05 / 2
heads = {"no class weights": train_head(imbalanced_x, imbalanced_y),
         "class weights": train_head(imbalanced_x, imbalanced_y, class_weight=class_weight)}
in_rare = test_y == rare
right, rows = {}, []
for name, trained in heads.items():
    predicted = models.predicted_classes(trained.predict(test_x, verbose=0))
    right[name] = predicted == test_y
    rare_right = int(right[name][in_rare].sum())
    interval = "n/a" if not in_rare.any() else "{:.2f} to {:.2f}".format(*wilson_interval(rare_right, int(in_rare.sum())))
    rows.append([name, f"{right[name].mean():.4f}", f"{rare_right} of {int(in_rare.sum())}", interval])
display(Table(["head", "test accuracy", f"{class_names[rare]} found", "95% interval"], rows))


for images, where in ((slice(None), "all test images"), (in_rare, f"the {class_names[rare]} test images")):
    only_plain, only_weighted, p_value = mcnemar_exact(right["no class weights"][images], right["class weights"][images])
    split = detectable_split(only_plain + only_weighted, ALPHA)
    scale = (f"a split of {split[0]} to {split[1]} or more uneven would have been" if split
             else "no split of so few could be")
    finding = "a measurable difference" if p_value < ALPHA else "no measurable difference"
    p_text = "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
    print(f"{where}: {only_weighted} right only with weights, {only_plain} only without; {p_text}: "
          f"{finding} ({scale} measurable at {ALPHA})")

# %% [markdown]
# ## Exercises
# **1.** Write `top_k_accuracy(logits, labels, k)`: the share of rows whose true class is among the `k`
# largest logits. Predict first: what does it give for k equal to the number of classes? The check
# compares it with Keras's `SparseTopKCategoricalAccuracy` on logits it makes.

# %%
from helpers import exercises


def top_k_accuracy(logits, labels, k):
    ...  # your code here


exercises.check_top_k_accuracy(top_k_accuracy);

# %% [markdown] tags=["solution"]
# ### Reference solution

# %% tags=["solution"]
def reference_top_k_accuracy(logits, labels, k):
    logits, labels = np.asarray(logits), np.asarray(labels)
    true_logits = logits[np.arange(len(labels)), labels]
    return float(((logits > true_logits[:, None]).sum(axis=1) < k).mean())


assert exercises.check_top_k_accuracy(reference_top_k_accuracy), "the reference top_k_accuracy is accepted"
