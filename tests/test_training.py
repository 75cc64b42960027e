"""Chapter 05's training recipe is defined once (hqc_course.training.MNIST_RECIPE), and the chapters use it."""

import ast
import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest

from hqc_course.training import MNIST_RECIPE, train_and_evaluate

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_recipe_is_frozen_and_its_fit_options_are_train_and_evaluates_arguments():
    with pytest.raises(dataclasses.FrozenInstanceError):
        MNIST_RECIPE.learning_rate = 0.1
    options = MNIST_RECIPE.fit_options()
    assert set(options) <= set(inspect.signature(train_and_evaluate).parameters)
    assert options == {"epochs": MNIST_RECIPE.max_epochs, "patience": MNIST_RECIPE.patience,
                       "batch_size": MNIST_RECIPE.batch_size}
    slower = dataclasses.replace(MNIST_RECIPE, learning_rate=1e-3)
    assert slower.learning_rate == 1e-3 and slower.max_epochs == MNIST_RECIPE.max_epochs


@pytest.mark.parametrize("change, match", [
    ({"learning_rate": 0}, r"learning_rate must be a number in \(0, 1\), got 0"),
    ({"learning_rate": "3e-3"}, r"learning_rate must be a number in \(0, 1\), got '3e-3'"),
    ({"max_epochs": 0}, r"max_epochs must be a positive integer, got 0"),
    ({"max_epochs": 40.0}, r"max_epochs must be a positive integer, got 40.0"),
    ({"patience": -1}, r"patience must be a non-negative integer, got -1"),
    ({"batch_size": True}, r"batch_size must be a positive integer, got True"),
])
def test_a_bad_recipe_is_refused_early_with_the_value_and_what_is_allowed(change, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(MNIST_RECIPE, **change)


RECIPE_NAME = re.compile(r"learning_rate|epochs|patience", re.I)


def typed_recipe_values(code):
    """Recipe values typed as numbers: ``EPOCHS = 15``, ``A, LEARNING_RATE = 0, 5e-3``, ``f(patience=3)``."""
    # IPython's %magics and !commands are not Python: each becomes a `pass` at its own indentation
    lines = [line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!")) else line
             for line in code.splitlines()]
    tree = ast.parse("\n".join(lines))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = (zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple)
                         and isinstance(node.value, ast.Tuple) else [(target, node.value)])
                found += [f"{t.id} = {ast.unparse(v)}" for t, v in pairs if isinstance(t, ast.Name)
                          and RECIPE_NAME.search(t.id) and isinstance(v, ast.Constant)]
        elif isinstance(node, ast.keyword) and node.arg and RECIPE_NAME.search(node.arg):
            if isinstance(node.value, ast.Constant):
                found.append(f"{node.arg}={ast.unparse(node.value)}")
    return found


def notebook_code(name):
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_typed_recipe_values_are_found():
    assert typed_recipe_values("SEED, EPOCHS, LR = 0, 15, 1\nLEARNING_RATE = 0.005\n%pip install x\n"
                               "f(x, patience=3, epochs=n)") == ["EPOCHS = 15", "LEARNING_RATE = 0.005", "patience=3"]


def test_chapter_08_trains_chapter_05s_hybrid_with_the_one_recipe():
    code = notebook_code("08_qiskit_shots_noise.ipynb")
    assert "MNIST_RECIPE" in code
    typed = typed_recipe_values(code)
    assert not typed, f"chapter 08 types recipe values of its own instead of using MNIST_RECIPE: {typed}"


def test_the_best_epoch_is_the_one_early_stopping_restored_not_a_nan_epoch(monkeypatch):
    from types import SimpleNamespace

    import keras
    import numpy as np

    class NanSecondEpoch(keras.callbacks.EarlyStopping):  # one diverged epoch: its validation loss is NaN
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                logs["val_loss"] = float("nan")
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(keras.callbacks, "EarlyStopping", NanSecondEpoch)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    data = SimpleNamespace(x_train=x, y_train=y, x_val=x, y_val=y, x_test=x, y_test=y)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    result = train_and_evaluate(model, data, epochs=4, patience=4)
    losses = result.history["val_loss"]
    assert np.isnan(losses[1]) and result.epochs_run == 4
    assert result.best_epoch == 1 + int(np.nanargmin(losses)) > 2  # np.argmin would say 2, the NaN epoch
