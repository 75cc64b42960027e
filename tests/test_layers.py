"""hqc_course.layers / hqc_course.statevector: the quantum layer on every Keras backend.

`make test` runs this file once per backend (TensorFlow in the main run, then JAX and torch
in their own processes, with JAX_ENABLE_X64=1 so that float64 is checked everywhere):
outputs equal PennyLane's QNode, gradients equal PennyLane's parameter-shift rule, every batch
size works, the hybrid trains, and a saved model loads — in a fresh process and under another
backend — with the same predictions.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pennylane as qml
import pytest
from pennylane import numpy as pnp

from hqc_course.circuits import CircuitSpec, make_qnode
from hqc_course.layers import QuantumLayer, RingDense
from hqc_course.statevector import DENSE_MAX_QUBITS, StatevectorSimulator

BACKEND = keras.backend.backend()
BACKENDS = [b for b in ("tensorflow", "jax", "torch") if importlib.util.find_spec(b) is not None]
SPECS = [CircuitSpec(1, 1), CircuitSpec(2, 1), CircuitSpec(3, 2, reupload=True), CircuitSpec(4, 1),
         CircuitSpec(4, 2, entangle=False), CircuitSpec(4, 3, reupload=True), CircuitSpec(7, 1),
         CircuitSpec(8, 2, reupload=True)]


def float64_available():
    return BACKEND != "jax" or __import__("jax").config.jax_enable_x64


def reference_expvals(spec, x, w):
    qnode = make_qnode(spec, interface="autograd")
    return np.array([np.asarray(qnode(xi, w), dtype=float).reshape(spec.n_qubits) for xi in x])


def reference_gradients(spec, x, w, cotangent):
    """d/dw and d/dx of sum(⟨Z⟩ · cotangent), by PennyLane's parameter-shift rule."""
    qnode = make_qnode(spec, diff_method="parameter-shift", interface="autograd")

    def loss(weights, inputs):
        return sum(pnp.sum(pnp.stack(qnode(inputs[i], weights)) * cotangent[i]) for i in range(len(inputs)))

    gw, gx = qml.grad(loss, argnums=[0, 1])(pnp.array(w, requires_grad=True), pnp.array(x, requires_grad=True))
    return np.asarray(gx), np.asarray(gw)


def compiled(f):
    """f itself, or under JAX its jax.jit: eager JAX compiles every small operation separately (slow)."""
    if BACKEND == "jax":
        import jax

        return jax.jit(f)
    return f


def backend_gradients(f, x, w):
    """Gradients of the scalar f(x, w) with respect to x and w, by the active backend."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        x, w = tf.constant(x), tf.constant(w)
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            value = f(x, w)
        return [g.numpy() for g in tape.gradient(value, [x, w])]
    if BACKEND == "jax":
        import jax

        return [np.asarray(g) for g in jax.jit(jax.grad(f, argnums=(0, 1)))(jax.numpy.asarray(x), jax.numpy.asarray(w))]
    import torch

    x, w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    f(x, w).backward()
    return [x.grad.numpy(), w.grad.numpy()]


def built_layer(spec, simulator="statevector"):
    layer = QuantumLayer(spec.n_qubits, spec.n_layers, spec.entangle, spec.reupload, simulator=simulator)
    layer.build((None, spec.n_qubits))
    return layer


def weights64(layer):
    return keras.ops.convert_to_numpy(layer.quantum_weights).astype(np.float64)


# ------------------------------------------------------------------ the numbers
@pytest.mark.parametrize("simulator", ["statevector", "pennylane"])
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_layer_output_equals_the_pennylane_qnode(spec, simulator):
    layer = built_layer(spec, simulator)
    x = np.random.default_rng(spec.n_qubits).random((5, spec.n_qubits)).astype(np.float32)
    out = keras.ops.convert_to_numpy(compiled(layer.__call__)(x))
    assert out.shape == (5, spec.n_qubits) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_expvals(spec, x.astype(np.float64), weights64(layer)), atol=1e-6)


@pytest.mark.skipif(not float64_available(), reason="JAX without JAX_ENABLE_X64=1 simulates in float32")
@pytest.mark.parametrize("dense", [True, False], ids=["dense", "factored"])
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_statevector_is_exact_in_float64(spec, dense):
    rng = np.random.default_rng(spec.n_qubits + 10 * spec.n_layers)
    x, w = rng.random((4, spec.n_qubits)), rng.uniform(-np.pi, 2 * np.pi, spec.weight_shape)
    sim = StatevectorSimulator(spec, dtype="float64")
    sim.dense = dense  # both strategies, whatever the size
    out = keras.ops.convert_to_numpy(compiled(sim)(keras.ops.convert_to_tensor(x, "float64"),
                                                   keras.ops.convert_to_tensor(w, "float64")))
    np.testing.assert_allclose(out, reference_expvals(spec, x, w), atol=1e-10)


def test_dense_strategy_is_used_up_to_its_limit():
    assert StatevectorSimulator(CircuitSpec(DENSE_MAX_QUBITS, 1)).dense
    assert not StatevectorSimulator(CircuitSpec(DENSE_MAX_QUBITS + 1, 1)).dense


@pytest.mark.skipif(not float64_available(), reason="JAX without JAX_ENABLE_X64=1 simulates in float32")
@pytest.mark.parametrize("simulator", ["statevector", "pennylane"])
@pytest.mark.parametrize("spec", [CircuitSpec(3, 2, reupload=True), CircuitSpec(4, 1), CircuitSpec(7, 1)], ids=str)
def test_gradients_equal_parameter_shift(spec, simulator):
    layer = built_layer(spec, simulator)
    rng = np.random.default_rng(7)
    x, w = rng.random((4, spec.n_qubits)), rng.uniform(0, 2 * np.pi, spec.weight_shape)
    cotangent = rng.normal(size=(4, spec.n_qubits))

    def loss(inputs, weights):
        return keras.ops.sum(layer._simulate(inputs, weights) * keras.ops.convert_to_tensor(cotangent, "float64"))

    grad_x, grad_w = backend_gradients(loss, x, w)
    ref_x, ref_w = reference_gradients(spec, x, w, cotangent)
    np.testing.assert_allclose(grad_w, ref_w, atol=1e-8)
    np.testing.assert_allclose(grad_x, ref_x, atol=1e-8)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="only TensorFlow traces graphs with an unknown batch size")
@pytest.mark.parametrize("simulator", ["statevector", "pennylane"])
@pytest.mark.parametrize("batch", [1, 6, 32, 45])
def test_unknown_batch_size_in_graph_mode_is_right(batch, simulator):
    import tensorflow as tf

    layer = built_layer(CircuitSpec(3, 2, reupload=True), simulator)
    graph = tf.function(layer.__call__, input_signature=[tf.TensorSpec((None, 3), tf.float32)], autograph=False)
    x = np.random.default_rng(batch).random((batch, 3)).astype(np.float32)
    np.testing.assert_allclose(graph(x).numpy(), keras.ops.convert_to_numpy(layer(x)), atol=1e-6)


# ------------------------------------------------------------------ training and saving
def tiny_model(n_qubits=2, seed=0, simulator="statevector"):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((2,)),
        keras.layers.Dense(n_qubits, activation="sigmoid"),
        QuantumLayer(n_qubits, 1, simulator=simulator, name="quantum"),
        keras.layers.Dense(2, activation="softmax"),
    ])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def separable_data(n=70, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


@pytest.mark.parametrize("simulator", ["statevector", "pennylane"])
def test_fit_learns_with_a_partial_last_batch(simulator):
    x, y = separable_data(70)  # batches of 32, 32 and a partial 6
    model = tiny_model(simulator=simulator)
    assert not model.run_eagerly
    history = model.fit(x, y, batch_size=32, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.85
    assert model.predict(x[:7], verbose=0).shape == (7, 2)  # another batch size


LOAD_AND_PREDICT = textwrap.dedent("""
    import sys, numpy as np, keras
    import hqc_course.layers  # registers QuantumLayer and RingDense with Keras: no custom_objects needed
    # compile=False: the saved compile settings are the saving backend's (JAX saves jit_compile=True,
    # which torch would honour with a minute of torch.compile before the first prediction)
    model = keras.models.load_model(sys.argv[1], compile=False)
    layer = model.get_layer("quantum")
    assert type(layer).__name__ == "QuantumLayer" and layer.simulator == sys.argv[3], layer.simulator
    x = np.load(sys.argv[2])
    np.save(sys.argv[2] + ".out.npy", model.predict(x, verbose=0))
    print(keras.backend.backend(), "loaded")
""")


def load_elsewhere(backend, model_path, x_path, simulator):
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(model_path), str(x_path), simulator],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{backend} loaded" in proc.stdout
    return np.load(str(x_path) + ".out.npy")


@pytest.mark.parametrize("target", BACKENDS)
def test_a_saved_model_loads_in_a_fresh_process_on_every_backend(tmp_path, target):
    x, y = separable_data(40)
    model = tiny_model(n_qubits=3)
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "hybrid.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    expected = model.predict(x, verbose=0)
    loaded = load_elsewhere(target, path, tmp_path / "x.npy", "statevector")
    np.testing.assert_allclose(loaded, expected, atol=1e-6)


def test_config_round_trips_through_json_without_a_simulator_object():
    layer = QuantumLayer(5, 3, entangle=False, reupload=True, simulator="pennylane", chunk_size=16)
    config = json.loads(json.dumps(layer.get_config()))  # fails if the config held a QNode or a simulator
    rebuilt = QuantumLayer.from_config(config)
    assert rebuilt.spec == layer.spec == CircuitSpec(5, 3, entangle=False, reupload=True)
    assert (rebuilt.simulator, rebuilt.chunk_size) == ("pennylane", 16)


# ------------------------------------------------------------------ errors
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
        ({"simulator": "qsim"}, "unknown simulator 'qsim': allowed 'statevector', 'pennylane'"),
        ({"device": "lightning.qubit", "diff_method": "adjoint"}, "need simulator='pennylane'"),
    ],
)
def test_bad_layer_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantumLayer(**kwargs)


def test_statevector_rejects_bad_arguments():
    with pytest.raises(ValueError, match="spec must be a CircuitSpec"):
        StatevectorSimulator((4, 1))
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'float16'"):
        StatevectorSimulator(CircuitSpec(2, 1), dtype="float16")


# ------------------------------------------------------------------ the classical twin
def test_ring_dense_computes_its_formula_with_the_qnn_parameter_count():
    block = RingDense(units=4, n_layers=2)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    out = keras.ops.convert_to_numpy(block(x))
    k = keras.ops.convert_to_numpy(block.kernel)
    expected = x
    for layer in range(2):
        expected = np.tanh(k[layer, 0] * expected + k[layer, 1] * np.roll(expected, -1, axis=-1))
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert sum(int(np.prod(w.shape)) for w in block.trainable_weights) == CircuitSpec(4, 2).n_params
