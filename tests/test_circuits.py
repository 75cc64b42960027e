"""hqc_course.circuits: the seed's circuit, its spec, QNode factory, drawing and resources."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pennylane as qml
import pytest

from hqc_course.circuits import (
    CircuitSpec,
    circuit_resources,
    draw_circuit,
    make_qnode,
    pennylane_needs_tf_broadcast_workaround,
    ring_pairs,
)


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


BROADCAST_CHECK = textwrap.dedent("""
    import sys, numpy as np, tensorflow as tf
    from hqc_course.circuits import CircuitSpec, install_pennylane_tf_broadcast_workaround, make_qnode
    if sys.argv[1] == "with-workaround":
        assert install_pennylane_tf_broadcast_workaround()
    spec = CircuitSpec(int(sys.argv[2]), 2, reupload=True)
    rng = np.random.default_rng(1)
    x, w = rng.random((3, spec.n_qubits)), rng.uniform(0, 6.28, spec.weight_shape)
    batched = np.stack(make_qnode(spec)(tf.constant(x), tf.constant(w)), axis=-1)
    reference = np.array([make_qnode(spec, interface="autograd")(xi, w) for xi in x])
    assert np.abs(batched - reference).max() < 1e-10, np.abs(batched - reference).max()
    print("batched TensorFlow broadcasting is right")
""")


def run_broadcast_check(mode, n_qubits):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    return subprocess.run([sys.executable, "-c", BROADCAST_CHECK, mode, str(n_qubits)], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.xfail(condition=pennylane_needs_tf_broadcast_workaround(), strict=True,
                   reason="upstream bug: PennyLane 0.44-0.45's TensorFlow path mis-broadcasts rotations on 9+-axis "
                          "states. When this test passes (XPASS fails the run), the bug is fixed upstream: delete "
                          "install_pennylane_tf_broadcast_workaround and PENNYLANE_TF_BROADCAST_BUG.")
def test_upstream_tensorflow_broadcasting_bug_without_the_workaround():
    proc = run_broadcast_check("without-workaround", 8)
    assert proc.returncode == 0, proc.stderr[-1500:]


@pytest.mark.parametrize("n_qubits", [8, 9])
def test_the_workaround_makes_tensorflow_broadcasting_right(n_qubits):
    if not pennylane_needs_tf_broadcast_workaround():
        pytest.skip(f"PennyLane {qml.__version__} is not known to need the workaround")
    proc = run_broadcast_check("with-workaround", n_qubits)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "broadcasting is right" in proc.stdout


NO_SIDE_EFFECTS = textwrap.dedent("""
    import importlib
    import pennylane as qml
    module = importlib.import_module("pennylane.devices.qubit.apply_operation")
    import hqc_course.circuits, hqc_course.layers, hqc_course.models, hqc_course.benchmark  # noqa: F401
    from hqc_course.layers import QuantumLayer
    patched = lambda: any(getattr(module.apply_operation.dispatch(g), "_hqc_course_workaround", False)
                          for g in (qml.RX, qml.RY, qml.RZ))
    assert not patched(), "importing hqc_course changed PennyLane"
    QuantumLayer(8)
    assert not patched(), "the statevector simulator changed PennyLane"
    QuantumLayer(8, simulator="pennylane")
    assert patched(), "PennyLane on TensorFlow with 8 qubits should install the workaround"
    print("no import-time patching")
""")


def test_importing_the_course_package_patches_nothing():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, "-c", NO_SIDE_EFFECTS], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "no import-time patching" in proc.stdout


def test_the_workaround_is_version_gated():
    assert pennylane_needs_tf_broadcast_workaround("0.45.1") and pennylane_needs_tf_broadcast_workaround("0.44.0")
    assert not pennylane_needs_tf_broadcast_workaround("0.46.0")
    assert not pennylane_needs_tf_broadcast_workaround("0.43.2")
