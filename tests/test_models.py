"""hqc_course.models: the seed's CNN, the hybrid, its parameter-matched twin, the ablations."""

import keras
import numpy as np
import pytest

from hqc_course.layers import QuantumLayer, RingDense
from hqc_course.models import (
    MODEL_KINDS,
    create_classical_baseline,
    create_cnn,
    create_hybrid_model,
    create_model,
    trainable_params,
)

MNIST = (28, 28, 1)
CIFAR = (32, 32, 3)


def test_seed_cnn_has_the_blog_posts_layers_and_parameter_count():
    model = create_cnn(MNIST, 10)
    # conv 3*3*1*32+32 + conv 3*3*32*64+64 + dense 5*5*64*128+128 + dense 128*10+10
    assert trainable_params(model) == 320 + 18_496 + 204_928 + 1_290 == 225_034
    assert model.output_shape == (None, 10)
    assert model.loss == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("shape, n_qubits, n_layers", [(MNIST, 4, 1), (MNIST, 8, 1), (CIFAR, 4, 3)])
def test_hybrid_and_twin_have_matched_trainable_parameters(shape, n_qubits, n_layers):
    hybrid = create_hybrid_model(shape, 10, n_qubits=n_qubits, n_layers=n_layers)
    twin = create_classical_baseline(shape, 10, n_qubits=n_qubits, n_layers=n_layers)
    quantum = hybrid.get_layer("quantum")
    block = twin.get_layer("classical_block")
    assert isinstance(quantum, QuantumLayer) and isinstance(block, RingDense)
    assert trainable_params(quantum) == trainable_params(block) == 2 * n_qubits * n_layers
    assert trainable_params(hybrid) == trainable_params(twin)
    assert hybrid.output_shape == twin.output_shape == (None, 10)  # 10 classes, not 4 expectation values


def test_the_trunk_is_shared_code_and_identical_for_the_same_seed():
    a = create_hybrid_model(MNIST, 10, seed=3).get_layer("cnn_trunk")
    b = create_classical_baseline(MNIST, 10, seed=3).get_layer("cnn_trunk")
    c = create_cnn(MNIST, 10, seed=4).get_layer("cnn_trunk")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_ablations():
    frozen = create_hybrid_model(MNIST, 10, freeze_quantum=True)
    normal = create_hybrid_model(MNIST, 10)
    assert not frozen.get_layer("quantum").trainable
    assert trainable_params(normal) - trainable_params(frozen) == 8
    unentangled = create_hybrid_model(MNIST, 10, entangle=False)
    assert unentangled.get_layer("quantum").spec.entangle is False
    assert {m.name for m in (frozen, normal, unentangled)} == {"hybrid_frozen", "hybrid", "hybrid_no_entanglement"}


def test_create_model_builds_every_kind():
    for kind in MODEL_KINDS:
        assert create_model(kind, MNIST, 10).name == kind


def test_hybrid_bottleneck_is_dense_then_batchnorm_then_sigmoid():
    model = create_hybrid_model(MNIST, 10)
    bottleneck = model.get_layer("bottleneck")
    dense, norm, squash = bottleneck.layers
    assert [type(layer).__name__ for layer in bottleneck.layers] == ["Dense", "BatchNormalization", "Activation"]
    assert dense.units == 4 and norm.momentum == 0.9 and squash.activation is keras.activations.sigmoid
    features = np.random.default_rng(0).normal(size=(8, 128)).astype("float32")
    # inference mode: BatchNormalization uses its moving statistics (0 and 1 at initialisation)
    out = keras.ops.convert_to_numpy(bottleneck(features, training=False))
    w, b = (keras.ops.convert_to_numpy(v) for v in dense.weights)
    gamma, beta, mean, var = (keras.ops.convert_to_numpy(v) for v in norm.weights)
    z = (features @ w + b - mean) / np.sqrt(var + norm.epsilon) * gamma + beta
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-z)), atol=1e-5)


@pytest.mark.parametrize("kind", ["hybrid", "twin"])
def test_the_course_models_train_on_this_backend(kind):
    """A few steps on digits drawn as bars: the loss must fall (run under every backend by make test)."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 16)
    x = rng.normal(0, 0.1, (64, 28, 28, 1)).astype("float32")
    for i, label in enumerate(y):
        x[i, 4 + 5 * label: 8 + 5 * label, 4:24, 0] += 1.0  # one horizontal bar per class
    keras.utils.set_random_seed(0)
    model = create_model(kind, MNIST, 4, seed=0, learning_rate=1e-2)
    history = model.fit(x, y, batch_size=16, epochs=25, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0], history.history["loss"]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: create_cnn((28, 28), 10), r"input_shape must be \(height, width, channels\)"),
        (lambda: create_cnn((8, 8, 1), 10), r"too small for the trunk"),
        (lambda: create_cnn(MNIST, 1), r"num_classes must be an integer >= 2"),
        (lambda: create_hybrid_model(MNIST, 10, n_qubits=20), r"n_qubits=20 is out of range"),
        (lambda: create_classical_baseline(MNIST, 10, n_layers=0), r"n_layers=0 is out of range"),
        (lambda: create_model("quantum_cnn", MNIST), r"unknown model kind 'quantum_cnn': allowed 'cnn', 'hybrid'"),
        (lambda: create_cnn(MNIST, 10, learning_rate=0), r"learning_rate must be positive"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture
def compiles(monkeypatch):
    """Every Model.compile call's steps_per_execution, in order."""
    calls = []
    original = keras.Model.compile

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("steps_per_execution", 1))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", counting)
    return calls


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_a_builder_compiles_once_with_the_steps_per_execution_it_is_given(kind, compiles):
    model = create_model(kind, MNIST, 10, seed=0, learning_rate=3e-3, steps_per_execution=4)
    assert compiles == [4] and model.steps_per_execution == 4
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(3e-3)


def test_the_heads_of_chapters_10_and_11_compile_once_too(compiles):
    from hqc_course.quanvolution import create_quanv_classifier
    from hqc_course.transfer import create_transfer_head

    assert create_quanv_classifier(steps_per_execution=8).steps_per_execution == 8
    assert create_transfer_head("dressed_quantum", steps_per_execution=8).steps_per_execution == 8
    assert compiles == [8, 8]


def test_the_image_benchmark_run_compiles_its_model_once(compiles):
    from hqc_course.data import dataset_available
    from hqc_course.runs import RunRequest
    from hqc_course.settings import ci
    from hqc_course.training import train_benchmark_run

    if not ci() and not dataset_available("mnist")[0]:
        pytest.skip("MNIST not available")
    # Keras's PyTorch trainer refuses steps_per_execution > 1 (the benchmark itself runs on TensorFlow)
    steps = 1 if keras.backend.backend() == "torch" else 2
    row = train_benchmark_run(RunRequest(dataset="mnist", n_train=64, n_val=32, n_test=32, seed=0, learning_rate=1e-3,
                                         max_epochs=1, patience=1, steps_per_execution=steps, options={"kind": "cnn"}))
    assert compiles == [steps] and row["epochs_run"] == 1
