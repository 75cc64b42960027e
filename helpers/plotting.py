"""Figures the chapters share. Depends on no other ``helpers`` module.

Introduced in notebook 01.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_confusion_matrix", "plot_history", "show_images"]


def _history_dict(history: Any) -> Mapping[str, Sequence[float]]:
    return history.history if hasattr(history, "history") else history


def plot_history(histories: Mapping[str, Any], metrics: Sequence[str] = ("loss", "accuracy"),
                 title: str = "Learning curves"):
    """Training (solid) and validation (dashed) curves of one or more Keras runs.

    Introduced in notebook 01. ``histories`` maps a model name to a Keras
    ``History`` (or its ``.history`` dict). Returns the figure.
    """
    if not histories:
        raise ValueError("histories is empty: pass {'model name': history, ...}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (name, history) in enumerate(histories.items()):
            h = _history_dict(history)
            if metric not in h:
                raise ValueError(f"metric {metric!r} not recorded for {name!r}: has {sorted(h)}")
            epochs = np.arange(1, len(h[metric]) + 1)
            color = f"C{i}"
            ax.plot(epochs, h[metric], color=color, label=f"{name} (train)")
            if f"val_{metric}" in h:
                ax.plot(epochs, h[f"val_{metric}"], color=color, linestyle="--", label=f"{name} (validation)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss" if metric == "loss" else metric)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str],
                          title: str = "Confusion matrix", ax=None, normalize: bool = False):
    """Confusion matrix (scikit-learn's display) with readable labels. Introduced in notebook 01."""
    from sklearn.metrics import ConfusionMatrixDisplay

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(class_names))), display_labels=list(class_names),
        normalize="true" if normalize else None, values_format=".2f" if normalize else "d",
        ax=ax, colorbar=False, xticks_rotation=45 if max(map(len, class_names)) > 2 else 0,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return ax


def show_images(images: np.ndarray, labels: Sequence[int], class_names: Sequence[str],
                predictions: Sequence[int] | None = None, n: int = 12, cols: int = 6,
                title: str = "Images"):
    """A grid of images with their labels (and predictions, red when wrong). Introduced in notebook 01."""
    n = min(n, len(images))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 2.1 * rows + 0.4), squeeze=False,
                             layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                  vmin=0, vmax=1)
        text = f"true: {class_names[labels[i]]}"
        color = "black"
        if predictions is not None:
            text += f"\npred: {class_names[predictions[i]]}"
            color = "black" if predictions[i] == labels[i] else "red"
        ax.set_title(text, fontsize=8, color=color)
    fig.suptitle(title)
    return fig
