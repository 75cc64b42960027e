"""helpers.circuits: the seed's circuit, its spec, QNode factory, drawing and resources."""

import numpy as np
import pennylane as qml
import pytest

from helpers.circuits import CircuitSpec, circuit_resources, draw_circuit, make_qnode, ring_pairs


def seed_qnn_4_qubits(params, inputs):
    """The blog post's qnn_layer, transcribed gate by gate (qml.broadcast ring written out)."""
    for i in range(4):
        qml.RY(np.pi * inputs[i], wires=i)
        qml.RZ(params[0][i], wires=i)
    for i in range(4):
        qml.CNOT(wires=[i, (i + 1) % 4])
    for i in range(4):
        qml.RY(params[1][i], wires=i)
    return [qml.expval(qml.PauliZ(i)) for i in range(4)]


def test_one_layer_is_exactly_the_seed_circuit():
    rng = np.random.default_rng(0)
    seed = qml.QNode(seed_qnn_4_qubits, qml.device("default.qubit", wires=4))
    ours = make_qnode(CircuitSpec(4, 1))
    for _ in range(5):
        x, w = rng.random(4), rng.uniform(0, 2 * np.pi, (1, 2, 4))
        np.testing.assert_allclose(ours(x, w), seed(w[0], x), atol=1e-12)


def test_ring_matches_removed_broadcast_pattern():
    assert ring_pairs(1) == []
    assert ring_pairs(2) == [(0, 1)]
    assert ring_pairs(4) == [(0, 1), (1, 2), (2, 3), (3, 0)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_qubits": 0}, r"n_qubits=0 is out of range: allowed 1 to 16"),
        ({"n_qubits": 17}, r"n_qubits=17 is out of range: allowed 1 to 16"),
        ({"n_qubits": 2.0}, r"n_qubits must be an integer"),
        ({"n_qubits": True}, r"n_qubits must be an integer"),
        ({"n_layers": 0}, r"n_layers=0 is out of range: allowed 1 or more"),
        ({"entangle": "yes"}, r"entangle must be True or False"),
    ],
)
def test_bad_specs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CircuitSpec(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"device": "qiskit.aer"}, r"unknown device 'qiskit.aer': allowed 'default.qubit', 'lightning.qubit'"),
        ({"diff_method": "finite"}, r"unknown diff_method 'finite'"),
        ({"shots": 0}, r"shots must be None \(exact\) or a positive integer"),
        ({"shots": 100}, r"needs exact expectation values"),
        ({"device": "lightning.qubit"}, r"lightning.qubit does not support backprop"),
    ],
)
def test_bad_qnode_options_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_qnode(CircuitSpec(2, 1), **kwargs)


def test_devices_and_gradient_methods_agree():
    spec = CircuitSpec(3, 2, reupload=True)
    x, w = np.array([0.2, 0.5, 0.9]), np.linspace(0.1, 1.2, spec.n_params).reshape(spec.weight_shape)
    exact = make_qnode(spec)(x, w)
    for device, method in [("default.qubit", "parameter-shift"), ("lightning.qubit", "adjoint")]:
        np.testing.assert_allclose(make_qnode(spec, device=device, diff_method=method)(x, w), exact, atol=1e-10)
    sampled = make_qnode(spec, diff_method="parameter-shift", shots=20_000)(x, w)
    np.testing.assert_allclose(sampled, exact, atol=0.05)  # 20k shots: standard error <= 0.007


def test_entangle_false_has_no_cnots_and_reupload_adds_encodings():
    assert circuit_resources(CircuitSpec(4, 1)) == {
        "n_qubits": 4, "n_layers": 1, "gates": 16, "gate_types": {"CNOT": 4, "RY": 8, "RZ": 4},
        "two_qubit_gates": 4, "depth": 7, "trainable_params": 8,
    }
    assert circuit_resources(CircuitSpec(4, 2, entangle=False))["two_qubit_gates"] == 0
    assert circuit_resources(CircuitSpec(4, 3, reupload=True))["gate_types"]["RY"] == 4 * 3 + 4 * 3


def test_drawing_is_deterministic_text():
    assert draw_circuit(CircuitSpec(2, 1)) == (
        "0: ──RY(0.31)──RZ(0.10)─╭●──RY(0.70)─┤  <Z>\n"
        "1: ──RY(2.83)──RZ(0.40)─╰X──RY(1.00)─┤  <Z>"
    )


@pytest.mark.parametrize("n_qubits", [8, 9])
def test_tensorflow_broadcasting_is_right_on_8_and_more_qubits(n_qubits):
    """PennyLane 0.45's TF path mis-broadcasts rotations on 9+-axis states; helpers.circuits routes around it."""
    import tensorflow as tf

    spec = CircuitSpec(n_qubits, 2, reupload=True)
    rng = np.random.default_rng(1)
    x, w = rng.random((3, n_qubits)), rng.uniform(0, 6.28, spec.weight_shape)
    batched = np.stack(make_qnode(spec)(tf.constant(x), tf.constant(w)), axis=-1)
    reference = np.array([make_qnode(spec, interface="autograd")(xi, w) for xi in x])
    np.testing.assert_allclose(batched, reference, atol=1e-10)
