"""Chapter 05's training recipe is defined once: helpers.training.MNIST_RECIPE."""

import dataclasses
import inspect

import pytest

from helpers.training import MNIST_RECIPE, train_and_evaluate


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
