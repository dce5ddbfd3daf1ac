"""Figures: training curves and image grids."""

import matplotlib.pyplot as plt
import numpy as np


def plot_curves(histories, metrics=("loss", "binary_accuracy"), title=""):
    """Validation (solid) and training (dashed) curves of several runs, one panel per metric.

    `histories` maps a run's name to a Keras History or its `.history` dict.
    """
    return _plot_histories(histories, metrics, title, one_after_another=False)


def _plot_histories(histories, metrics, title, one_after_another):
    """Each history's curves from epoch 1 (`one_after_another=False`) or after the previous one's."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        start = 0
        for i, (name, history) in enumerate(histories.items()):
            values = getattr(history, "history", history)
            epochs = np.arange(start + 1, start + len(values[metric]) + 1)
            if start:
                ax.axvline(start + 0.5, color="gray", linestyle=":")
            ax.plot(epochs, values[metric], "--", color=f"C{i}", alpha=0.6, label=f"{name} (train)")
            if f"val_{metric}" in values:
                ax.plot(epochs, values[f"val_{metric}"], "o-", color=f"C{i}", label=f"{name} (validation)")
            if one_after_another:
                start += len(values[metric])
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(images, titles, columns=3, size=3):
    """Show images (uint8 or 0-255 floats) in a grid with one title each."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(np.clip(np.asarray(image), 0, 255).astype("uint8"))
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_phases(phases, metrics=("loss", "binary_accuracy"), title=""):
    """Training phases one after another on the same axes, a dotted line where each new phase starts.

    `phases` maps a phase's name to its Keras History (or `.history` dict), in training order.
    """
    return _plot_histories(phases, metrics, title, one_after_another=True)


def plot_by_step(series, ylabel, title="", xlabel="fine-tuning step"):
    """One line per run: `series` maps a run's name to {step: value}."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in series.items():
        ax.plot(list(values), list(values.values()), "o-", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_confusion(confusion, class_names, title=""):
    """The confusion matrix as a picture: rows the true class, columns the predicted one, each row's
    counts shaded by their share of that row (its recall on the diagonal)."""
    confusion = np.asarray(confusion)
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    side = 1.2 + 0.6 * len(class_names)
    fig, ax = plt.subplots(figsize=(side + 1, side))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(confusion):
        ax.text(
            column, row, str(count), ha="center", va="center", color="white" if shares[row, column] > 0.5 else "black"
        )
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return fig
