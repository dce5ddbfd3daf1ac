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
