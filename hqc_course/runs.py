"""What one run of the benchmark is, without the code that trains it. Introduced in notebook 07.

:class:`RunRequest` is what a trainer receives (:mod:`hqc_course.training`, :mod:`hqc_course.quanvolution`,
:mod:`hqc_course.transfer`), and :func:`encode_correct` / :func:`decode_correct` pack and unpack which test
images a run got right, as its row in the results file holds them.

This module needs NumPy only, so the benchmark's planning, storage and statistics (and the processes
that run them: the driver, the Dask workers) read runs without importing Keras and TensorFlow, which
takes several seconds in every process that does.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RunRequest", "decode_correct"]  # encode_correct: only the trainers write rows


@dataclass(frozen=True)
class RunRequest:
    """What one run of the benchmark trains, on what, and how. Introduced in notebook 07.

    ``options`` are the model's own settings from the benchmark's catalogue
    (:mod:`hqc_course.benchmark.catalogue`), e.g. ``{"kind": "hybrid", "n_qubits": 4}``.
    """

    dataset: str
    n_train: int | None  # None: all training images left after validation
    n_val: int
    n_test: int | None  # None: the whole official test split
    seed: int
    learning_rate: float
    max_epochs: int
    patience: int
    batch_size: int = 32
    steps_per_execution: int = 1
    instruments: bool = False  # record the bottleneck's quantiles and gradient per epoch (models with one)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("n_val", "max_epochs", "batch_size", "steps_per_execution"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {self.patience!r}")
        if not (isinstance(self.learning_rate, float) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive float, got {self.learning_rate!r}")


def encode_correct(correct: np.ndarray) -> str:
    """Which test images a model got right, packed 8 to a byte, as base64 text (for the results file)."""
    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode("ascii")


def decode_correct(text: str, n: int) -> np.ndarray:
    """The inverse of :func:`encode_correct`: ``n`` booleans, one per test image. Introduced in notebook 07."""
    return np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8), count=n).astype(bool)
