"""Training and measuring a model the same way everywhere. Introduced in notebook 05.

:func:`train_and_evaluate` is what chapters 05–07 and the benchmark use, so every
model is trained with the same recipe: a fixed seed, batches of 32, early stopping on
the *validation* loss (best weights restored), then one evaluation on the test set.

:data:`MNIST_RECIPE` is chapter 05's recipe for the course-size MNIST hybrid (learning rate,
epoch cap, patience, batch size), defined once so that the chapters that train that model again
(05 and 08) cannot drift apart.

For the benchmark (chapter 07), :class:`~hqc_course.runs.RunRequest` (defined in
:mod:`hqc_course.runs`, re-exported here) says what one run trains, and :func:`result_row` turns its :class:`TrainingResult` into the row the results file holds;
every trainer of the benchmark (:func:`train_benchmark_run` here, and those of
:mod:`hqc_course.quanvolution` and :mod:`hqc_course.transfer`) builds its row with it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from hqc_course.data import Dataset, load_dataset
from hqc_course.instruments import BottleneckProbe, bottleneck_report, has_bottleneck
from hqc_course.models import create_model, trainable_params
from hqc_course.reproducibility import set_seed
from hqc_course.runs import RunRequest, decode_correct, encode_correct

__all__ = ["MNIST_RECIPE", "EpochTimer", "RunRequest", "TrainingResult", "decode_correct", "result_row",
           "train_and_evaluate", "train_benchmark_run"]


def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


@dataclass(frozen=True)
class TrainingRecipe:
    """How a course model is trained: Adam at ``learning_rate``, batches of ``batch_size``, at most
    ``max_epochs`` epochs with early stopping on the validation loss after ``patience`` epochs without
    improvement (best weights restored). Notebook 05 introduces the recipe; use :data:`MNIST_RECIPE`,
    and ``dataclasses.replace(MNIST_RECIPE, ...)`` for a variation.
    """

    learning_rate: float
    max_epochs: int
    patience: int
    batch_size: int = 32

    def __post_init__(self) -> None:
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 1:
            raise ValueError(f"learning_rate must be a number in (0, 1), got {rate!r}")
        _check_int("max_epochs", self.max_epochs)
        _check_int("patience", self.patience, minimum=0)
        _check_int("batch_size", self.batch_size)

    def fit_options(self) -> dict[str, int]:
        """The keyword arguments of :func:`train_and_evaluate` that the recipe fixes (notebook 05)."""
        return {"epochs": self.max_epochs, "patience": self.patience, "batch_size": self.batch_size}


#: Chapter 05's recipe for the hybrid and its classical twin on the course-size MNIST subset
#: (notebook 05, which explains the choice of the learning rate): Adam at 0.003, batches of 32, at
#: most 40 epochs, early stopping with patience 4. Chapter 08 trains the same hybrid with it.
MNIST_RECIPE = TrainingRecipe(learning_rate=3e-3, max_epochs=40, patience=4, batch_size=32)


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch (a Keras callback). Introduced in notebook 09; train_and_evaluate uses it."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


@dataclass
class TrainingResult:
    """What one training run measured. Introduced in notebook 05."""

    name: str
    test_accuracy: float
    test_loss: float
    best_epoch: int
    epochs_run: int
    seconds_per_epoch: float  # median of the epochs after the first (which includes tracing)
    first_epoch_seconds: float
    epoch_seconds: list[float]  # every epoch's wall-clock time, the first included
    inference_seconds: float  # predicting the whole test set once
    trainable_params: int
    history: dict[str, list[float]] = field(repr=False, default_factory=dict)
    predictions: np.ndarray | None = field(repr=False, default=None)
    model: keras.Model | None = field(repr=False, default=None)  # the trained model, best weights restored
    stopped_early: bool = False  # early stopping ended the run (False: it ran to the epoch cap)

    def row(self) -> dict[str, Any]:
        return {
            "model": self.name, "test accuracy": self.test_accuracy, "test loss": self.test_loss,
            "best epoch": self.best_epoch, "epochs run": self.epochs_run,
            "s / epoch": self.seconds_per_epoch, "trainable params": self.trainable_params,
        }


def train_and_evaluate(model: keras.Model, data: Dataset, name: str | None = None, epochs: int = 10,
                       batch_size: int = 32, patience: int = 2, verbose: int = 0,
                       callbacks: Sequence[keras.callbacks.Callback] = ()) -> TrainingResult:
    """Fit on ``data``'s train split with early stopping on validation loss, then test once.

    Introduced in notebook 05. ``verbose=2`` prints one line per epoch; ``callbacks`` are
    added to the timer and the early stopping (e.g. a :class:`hqc_course.instruments.BottleneckProbe`).
    """
    _check_int("epochs", epochs)
    _check_int("patience", patience, minimum=0)
    timer = EpochTimer()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=[timer, stop, *callbacks])
    start = time.perf_counter()
    probabilities = model.predict(data.x_test, batch_size=batch_size, verbose=0)
    inference = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test, batch_size=batch_size, verbose=0)
    warm = timer.seconds[1:] or timer.seconds

    return TrainingResult(
        name=name or model.name, test_accuracy=float(test_accuracy), test_loss=float(test_loss),
        # the epoch whose weights EarlyStopping restored (np.argmin would pick a NaN epoch: it never is the best)
        best_epoch=stop.best_epoch + 1, epochs_run=len(timer.seconds),
        seconds_per_epoch=statistics.median(warm), first_epoch_seconds=timer.seconds[0],
        epoch_seconds=[round(s, 4) for s in timer.seconds],
        inference_seconds=inference, trainable_params=trainable_params(model),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        predictions=probabilities.argmax(axis=1), model=model, stopped_early=stop.stopped_epoch > 0,
    )


# ------------------------------------------------------------------ one run of the benchmark
#: images whose bottleneck the instruments follow (the first ones of the validation split)
PROBE_IMAGES = 512


def _rounded(values: Sequence[float], digits: int = 5) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in values]


def result_row(result: TrainingResult, data: Dataset, request: RunRequest, **extra: Any) -> dict[str, Any]:
    """The results file's row of one run: what it measured, on which data. Introduced in notebook 07.

    The one place a row is built; ``extra`` adds a trainer's own fields (e.g. its feature cache).
    ``test_correct`` holds, packed, which test images the model classified correctly, so that
    statistics can count the test set's own sampling error (:func:`decode_correct` reads it).
    """
    best = result.best_epoch - 1
    correct = result.predictions == np.asarray(data.y_test) if result.predictions is not None else None
    row = {
        "n_train": len(data.y_train), "n_val": len(data.y_val), "n_test": len(data.y_test),
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "val_accuracy": result.history["val_accuracy"][best], "val_loss": result.history["val_loss"][best],
        "train_accuracy": result.history["accuracy"][best], "train_loss": result.history["loss"][best],
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "hit_cap": not result.stopped_early,  # early stopping never fired before the epoch cap
        "seconds_per_epoch": result.seconds_per_epoch, "epoch_seconds": result.epoch_seconds,
        "inference_seconds": result.inference_seconds, "trainable_params": result.trainable_params,
        "history": {k: _rounded(v) for k, v in result.history.items()},
        "data_name": data.name, "data_fingerprint": data.fingerprint.to_dict(),
    }
    if correct is not None:
        row["test_correct"] = encode_correct(correct)
    row.update(extra)
    return row


def train_benchmark_run(request: RunRequest) -> dict[str, Any]:
    """One benchmark run of an image model of :func:`hqc_course.models.create_model`; returns its row.

    Introduced in notebook 07. ``request.options`` names the model: ``kind`` and ``n_qubits``.
    The seed fixes the data subset, the initial weights and the batch order. With
    ``request.instruments``, models with a bottleneck also record, per epoch and at the end,
    where its features sit and how much gradient reaches them (:mod:`hqc_course.instruments`).
    """
    kind, n_qubits = request.options.get("kind"), request.options.get("n_qubits", 4)
    data = load_dataset(request.dataset, request.n_train, request.n_val, request.n_test, seed=request.seed,
                        verbose=False)
    set_seed(request.seed)
    model = create_model(kind, data.input_shape, data.num_classes, n_qubits=n_qubits, seed=request.seed,
                         learning_rate=request.learning_rate, steps_per_execution=request.steps_per_execution)
    probe = None
    if request.instruments and has_bottleneck(model):
        probe = BottleneckProbe(data.x_val[:PROBE_IMAGES], data.y_val[:PROBE_IMAGES])
    result = train_and_evaluate(model, data, epochs=request.max_epochs, patience=request.patience,
                                batch_size=request.batch_size, callbacks=[probe] if probe else [])
    extra: dict[str, Any] = {}
    if probe is not None:
        extra["instruments"] = {
            "per_epoch": probe.records,
            "final": bottleneck_report(model, data.x_val[:PROBE_IMAGES], data.y_val[:PROBE_IMAGES]),
        }
    row = result_row(result, data, request, **extra)
    keras.backend.clear_session()  # free the graph before the next run
    return row
