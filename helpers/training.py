"""Training and measuring a model the same way everywhere. Introduced in notebook 05.

:func:`train_and_evaluate` is what chapters 05–07 and the benchmark use, so every
model is trained with the same recipe: a fixed seed, batches of 32, early stopping on
the *validation* loss (best weights restored), then one evaluation on the test set.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from helpers.data import Dataset
from helpers.models import trainable_params

__all__ = ["EpochTimer", "TrainingResult", "train_and_evaluate"]


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

    def row(self) -> dict[str, Any]:
        return {
            "model": self.name, "test accuracy": self.test_accuracy, "test loss": self.test_loss,
            "best epoch": self.best_epoch, "epochs run": self.epochs_run,
            "s / epoch": self.seconds_per_epoch, "trainable params": self.trainable_params,
        }


def train_and_evaluate(model: keras.Model, data: Dataset, name: str | None = None, epochs: int = 10,
                       batch_size: int = 32, patience: int = 2, verbose: int = 0) -> TrainingResult:
    """Fit on ``data``'s train split with early stopping on validation loss, then test once.

    Introduced in notebook 05. ``verbose=2`` prints one line per epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
        raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
    timer = EpochTimer()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                        epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=[timer, stop])
    start = time.perf_counter()
    probabilities = model.predict(data.x_test, batch_size=batch_size, verbose=0)
    inference = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test, batch_size=batch_size, verbose=0)
    warm = timer.seconds[1:] or timer.seconds

    return TrainingResult(
        name=name or model.name, test_accuracy=float(test_accuracy), test_loss=float(test_loss),
        best_epoch=int(np.argmin(history.history["val_loss"])) + 1, epochs_run=len(timer.seconds),
        seconds_per_epoch=statistics.median(warm), first_epoch_seconds=timer.seconds[0],
        epoch_seconds=[round(s, 4) for s in timer.seconds],
        inference_seconds=inference, trainable_params=trainable_params(model),
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        predictions=probabilities.argmax(axis=1), model=model,
    )
