"""Instruments at the bottleneck: where its features sit, and how much gradient reaches them.

Introduced in notebook 05 (the probe and the report; chapter 07 reads them from the benchmark's runs). Every hybrid, its twin and the identity control share one shape
(:mod:`hqc_course.models`): trunk → ``bottleneck`` (Dense → BatchNorm → sigmoid, values in
[0, 1]) → block → ``Dense(num_classes)``. The block's input is the bottleneck's output ``z``.
Three numbers tell whether the block can learn from the data:

* the **quantiles of z** on a fixed set of images: where the features sit (the seed's
  encoding RY(π·z) has a flat point at z = ½ when the CNOT ring is there);
* ``‖∂ℓ/∂z‖`` per image: how much of the loss's gradient reaches the bottleneck *through*
  the block (ℓ is the image's cross-entropy);
* ``‖∂block(z)/∂z‖`` per image (Frobenius norm of the block's Jacobian): how strongly the
  block's outputs follow its inputs at the data.

Models are put in inference mode for these measurements (``training=False``): BatchNorm
uses its running statistics and is not updated, so measuring never changes the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

__all__ = ["QUANTILES", "BottleneckProbe", "FirstEpoch", "block_input_gradients", "block_jacobian_norms",
           "bottleneck_features", "bottleneck_report", "first_epoch", "has_bottleneck"]

#: the quantiles recorded for the bottleneck's features
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_PROBE = "bottleneck"  # the sub-model whose output is the block's input


def has_bottleneck(model: keras.Model) -> bool:
    """Whether ``model`` has the shape these instruments read (a layer named ``bottleneck``). Notebook 07."""
    return any(layer.name == _PROBE for layer in model.layers)


def _split(model: keras.Model) -> tuple[list, list, list]:
    """(layers up to and with the bottleneck, the block's layers, the classifier) of a Sequential model."""
    names = [layer.name for layer in model.layers]
    if _PROBE not in names:
        raise ValueError(f"model {model.name!r} has no layer named {_PROBE!r} (its layers: {names}): the instruments "
                         "read models built by hqc_course.models with a bottleneck (hybrids, twins, identity control)")
    cut = names.index(_PROBE) + 1
    return model.layers[:cut], model.layers[cut:-1], model.layers[-1:]


def _apply(layers: list, x: Any) -> Any:
    for layer in layers:
        x = layer(x, training=False)
    return x


def bottleneck_features(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The bottleneck's output ``z`` (the block's input) for images ``x``: shape (images, width). Notebook 07."""
    body, _, _ = _split(model)
    parts = [keras.ops.convert_to_numpy(_apply(body, x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def _gradient(fn, z: np.ndarray) -> np.ndarray:
    """∂ fn(z) / ∂z for a scalar ``fn``, on the active Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        zt = tf.constant(z, dtype="float32")
        with tf.GradientTape() as tape:
            tape.watch(zt)
            value = fn(zt)
        return tape.gradient(value, zt).numpy().astype(np.float64)
    if backend == "torch":
        import torch

        zt = torch.tensor(z, dtype=torch.float32, requires_grad=True)
        fn(zt).backward()
        return zt.grad.detach().cpu().numpy().astype(np.float64)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(fn)(jnp.asarray(z, dtype="float32")), dtype=np.float64)
    raise ValueError(f"the instruments need the tensorflow, torch or jax backend, not {backend!r}")


def block_input_gradients(model: keras.Model, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂ℓ_n/∂z_n for every image n: the gradient of its cross-entropy at the block's input. Notebook 07.

    ``z`` are the bottleneck's outputs (:func:`bottleneck_features`) and ``y`` the integer labels.
    The loss is summed over images, so row n is image n's own gradient.
    """
    _, block, classes = _split(model)
    labels = np.asarray(y).astype("int32")

    def loss(zt):
        probabilities = _apply(block + classes, zt)
        picked = keras.ops.take_along_axis(probabilities, keras.ops.convert_to_tensor(labels[:, None]), axis=1)
        return -keras.ops.sum(keras.ops.log(keras.ops.maximum(picked, 1e-12)))

    return _gradient(loss, np.asarray(z, dtype=np.float32))


def block_jacobian_norms(model: keras.Model, z: np.ndarray) -> np.ndarray:
    """‖∂block(z_n)/∂z_n‖ (Frobenius) for every image n: how strongly the block's outputs follow its inputs.

    Introduced in notebook 07. The block works image by image, so output unit i's gradient of
    the batch sum is row i of every image's Jacobian at once.
    """
    _, block, _ = _split(model)
    if not block:  # the identity control: the block is the identity, whose Jacobian has norm √width
        return np.full(len(z), np.sqrt(np.shape(z)[1]))
    width = keras.ops.convert_to_numpy(_apply(block, np.asarray(z[:1], dtype=np.float32))).shape[1]
    squares = np.zeros(len(z))
    for i in range(width):
        row = _gradient(lambda zt, i=i: keras.ops.sum(_apply(block, zt)[:, i]), np.asarray(z, dtype=np.float32))
        squares += np.sum(row ** 2, axis=1)
    return np.sqrt(squares)


def _round(values: Any, digits: int = 5) -> Any:
    return [float(f"{v:.{digits}g}") for v in np.ravel(values)]


def bottleneck_report(model: keras.Model, x: np.ndarray, y: np.ndarray, bins: int = 20) -> dict[str, Any]:
    """Where the bottleneck's features sit and how much gradient reaches them, on images ``x``.

    Introduced in notebook 05. Returns pooled and per-feature quantiles (:data:`QUANTILES`),
    a histogram of all features on [0, 1], the share within 0.1 of ½, and the median and
    mean of ``‖∂ℓ/∂z‖`` and of the block's Jacobian norm per image.
    """
    z = bottleneck_features(model, x)
    gradients = np.linalg.norm(block_input_gradients(model, z, y), axis=1)
    jacobians = block_jacobian_norms(model, z)
    counts, _ = np.histogram(z, bins=bins, range=(0.0, 1.0))
    return {
        "images": len(z), "width": int(z.shape[1]), "quantile_levels": list(QUANTILES),
        "quantiles": _round(np.quantile(z, QUANTILES)),
        "feature_quantiles": [_round(np.quantile(z[:, j], QUANTILES)) for j in range(z.shape[1])],
        "histogram": {"bins": bins, "range": [0.0, 1.0], "counts": counts.astype(int).tolist()},
        "near_half_share": float(np.mean(np.abs(z - 0.5) < 0.1)),
        "grad_norm_median": float(np.median(gradients)), "grad_norm_mean": float(np.mean(gradients)),
        "jacobian_norm_median": float(np.median(jacobians)), "jacobian_norm_mean": float(np.mean(jacobians)),
    }


class BottleneckProbe(keras.callbacks.Callback):
    """After every epoch: the bottleneck's quantiles and ``‖∂ℓ/∂z‖`` on fixed images (a Keras callback).

    Introduced in notebook 05; the benchmark attaches it to every model with a bottleneck.
    ``records`` holds one dict per epoch: ``quantiles`` (pooled over features, at
    :data:`QUANTILES`), ``grad_norm_median`` and ``grad_norm_mean``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        super().__init__()
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"BottleneckProbe needs as many labels as images (at least one), got {len(x)} and {len(y)}")
        self.x, self.y = x, np.asarray(y)
        self.records: list[dict[str, Any]] = []

    def on_train_begin(self, logs=None):
        self.records = []

    def on_epoch_end(self, epoch, logs=None):
        z = bottleneck_features(self.model, self.x)
        norms = np.linalg.norm(block_input_gradients(self.model, z, self.y), axis=1)
        self.records.append({"quantiles": _round(np.quantile(z, QUANTILES)),
                             "grad_norm_median": float(f"{np.median(norms):.5g}"),
                             "grad_norm_mean": float(f"{np.mean(norms):.5g}")})


@dataclass(frozen=True)
class FirstEpoch:
    """What the first epoch did to the gradient reaching a model's bottleneck, against a reference model.

    Introduced in notebook 05, made by :func:`first_epoch`. Gradients are the median ``‖∂ℓ/∂z‖``
    per image.
    """

    model: str
    reference: str
    start: float  #: the model's gradient before training
    reference_start: float
    first: float  #: the model's gradient after its first epoch
    reference_first: float
    growth_needed: float
    share_needed: float

    @property
    def start_ratio(self) -> float:
        """How many times more gradient reached the reference's bottleneck before training."""
        return self.reference_start / self.start

    @property
    def growth(self) -> float:
        """The model's gradient after one epoch, as a multiple of its gradient before training."""
        return self.first / self.start

    @property
    def escaped(self) -> bool:
        """Whether the model left a flat start within one epoch: its gradient grew more than
        ``growth_needed`` times and reached at least ``share_needed`` of the reference's."""
        return self.growth > self.growth_needed and self.first >= self.share_needed * self.reference_first


def first_epoch(before: dict[str, dict[str, Any]], records: dict[str, list[dict[str, Any]]], model: str,
                reference: str, growth_needed: float = 2.0, share_needed: float = 0.5) -> FirstEpoch:
    """Did ``model`` get off a flat start in its first epoch? Introduced in notebook 05.

    ``before`` maps model names to :func:`bottleneck_report` results taken before training, and
    ``records`` to :attr:`BottleneckProbe.records`. The verdict (:attr:`FirstEpoch.escaped`) needs the
    model's gradient to grow more than ``growth_needed`` times in its first epoch *and* to reach at
    least ``share_needed`` of the reference's (its twin's) after that epoch.
    """
    for name in (model, reference):
        if name not in before or not records.get(name):
            raise ValueError(f"first_epoch needs a report before training and at least one epoch's record for {name!r}; "
                             f"reports exist for {sorted(before)}, records for {sorted(k for k, v in records.items() if v)}")
    start = before[model]["grad_norm_median"]
    if not start > 0:
        raise ValueError(f"{model!r} had a gradient of {start!r} before training: the growth needs a positive start")
    return FirstEpoch(model, reference, start, before[reference]["grad_norm_median"],
                      records[model][0]["grad_norm_median"], records[reference][0]["grad_norm_median"],
                      growth_needed, share_needed)
