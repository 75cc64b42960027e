"""helpers.layers.QuantumLayer: correctness, gradients, every batch size, saving, errors, JAX."""

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pennylane as qml
import pytest
import tensorflow as tf
from pennylane import numpy as pnp

from helpers.circuits import CircuitSpec, make_qnode
from helpers.layers import QuantumLayer, RingDense


def built_layer(n_qubits=3, n_layers=2, **kwargs):
    layer = QuantumLayer(n_qubits, n_layers, reupload=True, **kwargs)
    layer.build((None, n_qubits))
    return layer


def weights64(layer):
    return keras.ops.convert_to_numpy(layer.quantum_weights).astype(np.float64)


def test_pennylane_tensorflow_interface_still_works():
    """The course's TF path: broadcasting + backprop inside tf.function. If this fails, see the pin in requirements.txt."""
    spec = CircuitSpec(2, 1)
    qnode = make_qnode(spec)
    w = tf.Variable(np.full(spec.weight_shape, 0.3))

    @tf.function
    def loss_and_grad(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.stack(qnode(x, w), axis=-1))
        return loss, tape.gradient(loss, w)

    loss, grad = loss_and_grad(tf.constant([[0.1, 0.2], [0.3, 0.4]], tf.float64))
    assert np.isfinite(loss.numpy()) and grad is not None and np.abs(grad.numpy()).sum() > 0, (
        "PennyLane's TensorFlow interface no longer differentiates QNodes: "
        "keep pennylane<0.46 (requirements.txt) or run with KERAS_BACKEND=jax"
    )


@pytest.mark.parametrize("batch", [1, 5, 32])
def test_output_equals_qnode_sample_by_sample(batch):
    layer = built_layer()
    x = np.random.default_rng(batch).random((batch, 3)).astype(np.float32)
    out = keras.ops.convert_to_numpy(layer(x))
    reference_qnode = make_qnode(layer.spec, interface="autograd")
    reference = np.array([reference_qnode(xi.astype(np.float64), weights64(layer)) for xi in x])
    assert out.shape == (batch, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference, atol=1e-6)


def test_gradients_equal_parameter_shift():
    layer = built_layer()
    rng = np.random.default_rng(7)
    x = rng.random((4, 3)).astype(np.float32)
    cotangent = rng.normal(size=(4, 3))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt) * cotangent)
    grad_w, grad_x = tape.gradient(loss, [layer.quantum_weights, xt])

    shift_qnode = make_qnode(layer.spec, diff_method="parameter-shift", interface="autograd")

    def shifted_loss(w, inputs):
        return sum(pnp.sum(pnp.stack(shift_qnode(inputs[i], w)) * cotangent[i]) for i in range(len(cotangent)))

    ref_w, ref_x = qml.grad(shifted_loss, argnums=[0, 1])(
        pnp.array(weights64(layer), requires_grad=True), pnp.array(x.astype(np.float64), requires_grad=True))
    np.testing.assert_allclose(grad_w.numpy(), ref_w, atol=1e-5)
    np.testing.assert_allclose(grad_x.numpy(), ref_x, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 6, 32, 45, 70])
def test_unknown_batch_size_in_graph_mode_is_right(batch):
    """Keras traces a partial last batch and predict() with an unknown batch size: the chunked path."""
    layer = built_layer(chunk_size=32)
    graph = tf.function(layer.__call__, input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    x = np.random.default_rng(batch).random((batch, 3)).astype(np.float32)
    np.testing.assert_allclose(graph(x).numpy(), keras.ops.convert_to_numpy(layer(x)), atol=1e-6)


def tiny_model(n_qubits=2, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(n_qubits, activation="sigmoid"),
        QuantumLayer(n_qubits, 1, name="quantum"),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def separable_data(n=70, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_graph_mode_fit_learns_with_a_partial_last_batch():
    x, y = separable_data(70)  # batches of 32, 32 and a partial 6
    model = tiny_model()
    assert not model.run_eagerly
    history = model.fit(x, y, batch_size=32, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.85
    assert model.predict(x[:7], verbose=0).shape == (7, 2)  # another unknown batch size


def test_save_and_load_round_trip_needs_no_custom_objects(tmp_path):
    x, y = separable_data(40)
    model = tiny_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "hybrid.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: the class is registered
    assert isinstance(loaded.get_layer("quantum"), QuantumLayer)
    assert loaded.get_layer("quantum").spec == model.get_layer("quantum").spec
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_config_stores_the_circuit_spec_not_the_qnode():
    config = QuantumLayer(5, 3, entangle=False, reupload=True).get_config()
    assert {k: config[k] for k in ("n_qubits", "n_layers", "entangle", "reupload")} == {
        "n_qubits": 5, "n_layers": 3, "entangle": False, "reupload": True}
    assert all("QNode" not in type(v).__name__ for v in config.values())


def test_input_width_mismatch_fails_at_build_time():
    with pytest.raises(ValueError, match=r"n_qubits=4 but its input has 3 features.*Dense\(4\)"):
        QuantumLayer(4).build((None, 3))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_qubits": 0}, "n_qubits=0 is out of range: allowed 1 to 16"),
        ({"n_qubits": 17}, "n_qubits=17 is out of range: allowed 1 to 16"),
        ({"n_layers": 0}, "n_layers=0 is out of range: allowed 1 or more"),
        ({"chunk_size": 0}, "chunk_size must be a positive integer"),
        ({"diff_method": "magic"}, "unknown diff_method 'magic'"),
    ],
)
def test_bad_layer_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantumLayer(**kwargs)


def test_ring_dense_has_the_qnn_parameter_count_and_range():
    block = RingDense(units=4, n_layers=3)
    out = block(np.random.default_rng(0).random((5, 4)).astype(np.float32))
    assert sum(int(np.prod(w.shape)) for w in block.trainable_weights) == CircuitSpec(4, 3).n_params
    assert np.all(np.abs(keras.ops.convert_to_numpy(out)) <= 1)


JAX_SCRIPT = textwrap.dedent("""
    import numpy as np, keras
    assert keras.backend.backend() == "jax"
    from helpers.layers import QuantumLayer
    from helpers.circuits import make_qnode
    keras.utils.set_random_seed(0)
    layer = QuantumLayer(3, 2, reupload=True)
    x = np.random.default_rng(0).random((5, 3)).astype("float32")
    out = np.asarray(layer(x))
    ref_qnode = make_qnode(layer.spec, interface="autograd")
    w = np.asarray(layer.quantum_weights).astype("float64")
    ref = np.array([ref_qnode(xi.astype("float64"), w) for xi in x])
    assert np.abs(out - ref).max() < 1e-6, np.abs(out - ref).max()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(70, 2)).astype("float32"); Y = (X.sum(1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="sigmoid"),
                              QuantumLayer(2, 1), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    h = model.fit(X, Y, batch_size=32, epochs=25, verbose=0).history["loss"]
    assert h[-1] < 0.7 * h[0], h
    print("jax ok", round(h[0], 3), round(h[-1], 3))
""")


@pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                    reason="jax not installed: pip install -e '.[jax]' to test the JAX backend")
def test_same_layer_trains_under_the_jax_backend():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "jax ok" in result.stdout
