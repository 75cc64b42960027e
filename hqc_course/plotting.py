"""Figures the chapters share. Depends on no other ``hqc_course`` module.

Introduced in notebook 01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_bottleneck_history", "plot_confusion_matrix", "plot_history", "show_images"]


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


def draw_architecture(n_qubits: int = 4, num_classes: int = 10, title: str | None = None):
    """A diagram of the hybrid model: CNN trunk → bottleneck → quantum circuit → classifier.

    Introduced in notebook 05; the README's figure is drawn by this function.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    boxes = [
        ("image", "28×28×1 (MNIST)\nor 32×32×3 (CIFAR)", "#dddddd"),
        ("CNN trunk", "Conv 32 3×3 → MaxPool\nConv 64 3×3 → MaxPool\nFlatten → Dense 128", "#9ecae1"),
        ("bottleneck", f"Dense {n_qubits} → BatchNorm\n→ sigmoid\nfeatures x ∈ [0, 1]", "#c6dbef"),
        ("QuantumLayer", f"{n_qubits} qubits: RY(πx)\nRZ(θ) · CNOT ring · RY(φ)\nreadout ⟨Z₀⟩…⟨Z"
         + str(n_qubits - 1).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")) + "⟩", "#fdae6b"),
        ("classifier", f"Dense {num_classes}, softmax\nclass probabilities", "#a1d99b"),
    ]
    fig, ax = plt.subplots(figsize=(13, 3.2))
    width, gap = 2.2, 0.55
    for i, (name, text, color) in enumerate(boxes):
        x = i * (width + gap)
        ax.add_patch(FancyBboxPatch((x, 0), width, 1.6, boxstyle="round,pad=0.05", facecolor=color, edgecolor="k"))
        ax.text(x + width / 2, 1.3, name, ha="center", va="center", fontsize=11, fontweight="bold")
        ax.text(x + width / 2, 0.62, text, ha="center", va="center", fontsize=8.5)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.05, 0.8), (x - 0.05, 0.8), arrowstyle="-|>", mutation_scale=15))
    ax.text(3 * (width + gap) + width / 2, -0.4, "simulated exactly with keras.ops (hqc_course.statevector);\n"
            "checked against PennyLane's default.qubit", ha="center", va="center", fontsize=8, style="italic")
    ax.set_xlim(-0.2, len(boxes) * (width + gap) - gap + 0.2)
    ax.set_ylim(-0.6, 1.8)
    ax.axis("off")
    ax.set_title(title or "The hybrid quantum-classical classifier of this course")
    fig.tight_layout()
    return fig


def plot_bottleneck_history(before: Mapping[str, Mapping[str, Any]], records: Mapping[str, Sequence[Mapping[str, Any]]],
                            colors: Mapping[str, str], title: str):
    """Where the bottleneck's features sit, and how much gradient reaches them, epoch by epoch.

    Introduced in notebook 05, which draws this figure with its code inline; notebook 06 calls it.
    ``before`` maps a model's name to its :func:`hqc_course.instruments.bottleneck_report` before
    training, ``records`` to its ``BottleneckProbe.records`` (one per epoch), ``colors`` names the
    models to draw and their colours. One panel per model with the features' quantiles, and one
    with the median gradient ‖∂ℓ/∂z‖ per image of every model. Returns the figure.
    """
    missing = [name for name in colors if name not in before or name not in records]
    if missing:
        raise ValueError(f"no instrument records for {missing}: before and records have {sorted(before)} and "
                         f"{sorted(records)}")
    fig, axes = plt.subplots(1, len(colors) + 1, figsize=(4.5 * len(colors) + 6.3, 4.5),
                             gridspec_kw={"width_ratios": [1] * len(colors) + [1.4]})
    for ax, (name, color) in zip(axes[:-1], colors.items()):
        q = np.array([before[name]["quantiles"]] + [r["quantiles"] for r in records[name]])
        epochs = np.arange(len(q))
        ax.fill_between(epochs, q[:, 0], q[:, 4], color=color, alpha=0.15, label="5–95%")
        ax.fill_between(epochs, q[:, 1], q[:, 3], color=color, alpha=0.35, label="25–75%")
        ax.plot(epochs, q[:, 2], color=color, label="median")
        ax.axhline(0.5, color="k", linestyle=":", linewidth=1)
        ax.set(xlabel="epoch (0 = before training)", ylabel="bottleneck feature z (dimensionless)", ylim=(0, 1),
               title=f"{name}: where z sits")
        ax.legend(fontsize="small", loc="lower left")
    for name, color in colors.items():
        g = [before[name]["grad_norm_median"]] + [r["grad_norm_median"] for r in records[name]]
        axes[-1].plot(np.arange(len(g)), g, marker=".", color=color, label=name)
    axes[-1].set(xlabel="epoch (0 = before training)", ylabel="median ‖∂ℓ/∂z‖ per image (log scale)", yscale="log",
                 title="Gradient reaching the bottleneck through the block")
    axes[-1].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
