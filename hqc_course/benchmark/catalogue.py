"""Every model the benchmark can train: its name, its trainer and the trainer's options.

Introduced in notebook 07. The trainers are imported here, so the package's layering
(``tests/test_layering.py``) sees every dependency of the benchmark. The image models' trainer,
:func:`hqc_course.training.train_benchmark_run`, is imported when a run starts (see
:func:`train_image_run`): importing :mod:`hqc_course.training` loads Keras and TensorFlow, several
seconds that the driver, the Dask workers and every reader of results would otherwise pay for nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hqc_course import quanvolution, transfer
from hqc_course.benchmark.split_labels import loaded_test_images
from hqc_course.runs import RunRequest

__all__ = ["MODELS", "ModelEntry", "TestImages", "Trainer", "test_images_of", "train_image_run"]

#: a trainer takes a :class:`hqc_course.runs.RunRequest` and returns the run's row
Trainer = Callable[[RunRequest], dict[str, Any]]
#: which test image each entry of a row's ``test_correct`` is (ids shared by every run of that trainer), or None
TestImages = Callable[[Mapping[str, Any]], "np.ndarray | None"]


def train_image_run(request: RunRequest) -> dict[str, Any]:
    """One run of an image model: :func:`hqc_course.training.train_benchmark_run`. Introduced in notebook 07.

    Imports the trainer (and with it Keras and TensorFlow) only when the run starts, in the run's own process.
    """
    from hqc_course.training import train_benchmark_run

    return train_benchmark_run(request)


@dataclass(frozen=True)
class ModelEntry:
    """One model of the benchmark: who trains it, with which options, and what it is. Notebook 07."""

    trainer: Trainer
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    n_qubits: int = 4  # the width of the bottleneck (or of the filter / head), for cost estimates
    test_images: TestImages = loaded_test_images  # not recorded: it reads results, it makes none

    def to_dict(self) -> dict[str, Any]:
        """What the results file records of it (the trainer by its module and name)."""
        return {"trainer": f"{self.trainer.__module__}.{self.trainer.__qualname__}", "options": dict(self.options),
                "description": self.description}


def _image(kind: str, n_qubits: int, description: str) -> ModelEntry:
    return ModelEntry(train_image_run, {"kind": kind, "n_qubits": n_qubits}, description, n_qubits)


MODELS: dict[str, ModelEntry] = {
    "cnn": _image("cnn", 4, "the blog's CNN: trunk → Dense(classes)"),
    "twin_4q": _image("twin", 4, "classical twin: trunk → bottleneck(4) → RingDense → Dense(classes)"),
    "hybrid_4q": _image("hybrid", 4, "the seed's hybrid: RY(π·x) encoding, CNOT ring"),
    "hybrid_4q_half_angle": _image("hybrid_half_angle", 4, "the hybrid with RY(π·x/2) encoding (no flat point at x = ½)"),
    "hybrid_4q_no_entanglement": _image("hybrid_no_entanglement", 4,
                                        "the hybrid without the CNOT ring (a product of cosines)"),
    "hybrid_4q_frozen": _image("hybrid_frozen", 4, "the hybrid with its circuit's angles frozen at random values"),
    "identity_4q": _image("identity", 4, "identity control: trunk → bottleneck(4) → Dense(classes)"),
    "twin_8q": _image("twin", 8, "classical twin at width 8"),
    "hybrid_8q": _image("hybrid", 8, "the seed's hybrid at 8 qubits"),
    # chapter 10 (quanvolution, MNIST): the same small classifier on raw pixels, on random classical
    # 2×2 filters, and on the quantum 2×2 filter
    "quanv_none": ModelEntry(quanvolution.train_benchmark_run, {"filter": "none"}, "no filter"),
    "quanv_classical": ModelEntry(quanvolution.train_benchmark_run, {"filter": "classical"}, "random classical filter"),
    "quanv_quantum": ModelEntry(quanvolution.train_benchmark_run, {"filter": "quantum"}, "random quantum filter"),
    # chapter 11 (transfer learning, CIFAR-10 cat vs dog on a frozen CNN pretrained on the other 8
    # classes): a linear head, a classical head of the dressed circuit's size, the dressed circuit
    "transfer_linear": ModelEntry(transfer.train_benchmark_run, {"head": "linear"}, "linear head",
                                  test_images=transfer.test_image_ids),
    "transfer_classical": ModelEntry(transfer.train_benchmark_run, {"head": "classical"}, "classical head",
                                     test_images=transfer.test_image_ids),
    "transfer_dressed_quantum": ModelEntry(transfer.train_benchmark_run, {"head": "dressed_quantum"},
                                           "dressed quantum circuit head", test_images=transfer.test_image_ids),
}


def test_images_of(row: Mapping[str, Any]) -> np.ndarray | None:
    """Which test image each entry of a run's ``test_correct`` is, by its model's trainer. Introduced in notebook 07.

    None when they cannot be named (then each seed's test images are its own draw).
    """
    if row["model"] not in MODELS:
        raise ValueError(f"unknown model {row['model']!r} in a results row: allowed {', '.join(MODELS)}")
    return MODELS[row["model"]].test_images(row)
