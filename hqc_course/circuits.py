"""The seed's quantum neural network (QNN), generalised — the one place it is defined.

Introduced in notebook 03a (written there inline first, then imported from here).

The circuit on ``n_qubits`` wires, for inputs ``x`` in ``[0, 1]`` and trainable
angles ``weights`` of shape ``(n_layers, 2, n_qubits)``::

    encode:   RY(π·x_i) on every wire i                  (angle encoding)
    layer l:  RZ(weights[l, 0, i]) on every wire i       (trainable)
              CNOT(i, i+1 mod n) for every i             (ring; skipped if entangle=False)
              RY(weights[l, 1, i]) on every wire i       (trainable)
              [with reupload=True, the encoding is repeated before every layer after the first]
    readout:  ⟨Z_i⟩ on every wire i                      (n_qubits numbers in [-1, 1])

With ``n_layers=1`` and ``entangle=True`` this is exactly the blog post's
``qnn_layer``; its ``qml.broadcast(qml.CNOT, ..., pattern="ring")`` (``qml.broadcast``
no longer exists in PennyLane) is the explicit ring of CNOTs here. Like that
pattern, two wires get a single CNOT(0, 1) and one wire gets none.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pennylane as qml

__all__ = [
    "CircuitSpec",
    "DIFF_METHODS",
    "DEVICES",
    "circuit_resources",
    "draw_circuit",
    "install_pennylane_tf_broadcast_workaround",
    "make_qnode",
    "pennylane_needs_tf_broadcast_workaround",
    "qnn_circuit",
    "ring_pairs",
]

MAX_QUBITS = 16
DEVICES = ("default.qubit", "lightning.qubit")
DIFF_METHODS = ("backprop", "adjoint", "parameter-shift", "best")

@dataclass(frozen=True)
class CircuitSpec:
    """What defines the QNN: everything else (QNodes, layers, Qiskit copies) is built from it.

    Introduced in notebook 03a.
    """

    n_qubits: int = 4
    n_layers: int = 1
    entangle: bool = True
    reupload: bool = False

    def __post_init__(self) -> None:
        for name in ("n_qubits", "n_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if not 1 <= self.n_qubits <= MAX_QUBITS:
            raise ValueError(
                f"n_qubits={self.n_qubits} is out of range: allowed 1 to {MAX_QUBITS} "
                f"(a statevector of {MAX_QUBITS} qubits already holds 2**{MAX_QUBITS} amplitudes per sample)"
            )
        if self.n_layers < 1:
            raise ValueError(f"n_layers={self.n_layers} is out of range: allowed 1 or more")
        for name in ("entangle", "reupload"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def weight_shape(self) -> tuple[int, int, int]:
        """Shape of the trainable angles: (layers, [RZ, RY], qubits)."""
        return (self.n_layers, 2, self.n_qubits)

    @property
    def n_params(self) -> int:
        return math.prod(self.weight_shape)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

#: PennyLane releases whose TensorFlow path mis-broadcasts rotations on 9+-axis states (checked:
#: 0.44 and 0.45). tests/test_circuits.py holds a strict xfail that reproduces the bug without the
#: workaround: when a PennyLane upgrade fixes it, that test fails, and the workaround can go.
PENNYLANE_TF_BROADCAST_BUG = ((0, 44), (0, 45))


def pennylane_needs_tf_broadcast_workaround(version: str | None = None) -> bool:
    """Whether this PennyLane release has the TensorFlow broadcasting bug (see below). Notebook 04."""
    major_minor = tuple(int(p) for p in (version or qml.__version__).split(".")[:2])
    return major_minor in PENNYLANE_TF_BROADCAST_BUG


def install_pennylane_tf_broadcast_workaround() -> bool:
    """Work around a bug of PennyLane's unmaintained TensorFlow path; returns whether it was installed.

    Introduced in notebook 04. Called by :class:`hqc_course.layers.QuantumLayer` only when it
    runs a PennyLane QNode (``simulator="pennylane"``) on the TensorFlow backend, and only
    for the releases in :data:`PENNYLANE_TF_BROADCAST_BUG`; nothing calls it at import time.

    For TensorFlow states with 9 or more axes (8+ qubits plus a batch axis),
    ``default.qubit`` applies RX/RY/RZ with ``tensordot``, which mixes up the batch axes
    when *both* the gate and the state are batched (parameter broadcasting):
    ``ValueError: Dimensions must be equal``. PennyLane's general ``einsum`` path handles
    that case correctly, so batched rotations on large TensorFlow states are sent there;
    every other case keeps PennyLane's own choice. It changes PennyLane's dispatch for the
    whole process (through the private module ``pennylane.devices.qubit.apply_operation``),
    which is why it is explicit and version-gated.
    """
    if not pennylane_needs_tf_broadcast_workaround():
        return False
    module = importlib.import_module("pennylane.devices.qubit.apply_operation")
    for gate in (qml.RX, qml.RY, qml.RZ):
        original = module.apply_operation.dispatch(gate)
        if getattr(original, "_hqc_course_workaround", False):
            continue  # already installed

        def apply(op, state, is_state_batched=False, debugger=None, _original=original, **kwargs):
            if (op.batch_size is not None and is_state_batched and qml.math.ndim(state) >= 9
                    and qml.math.get_interface(state) == "tensorflow"):
                return module.apply_operation_einsum(op, state, is_state_batched=is_state_batched)
            return _original(op, state, is_state_batched=is_state_batched, debugger=debugger, **kwargs)

        apply._hqc_course_workaround = True
        module.apply_operation.register(gate)(apply)
    return True


def ring_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """The CNOT (control, target) pairs of the ring, as the removed ``qml.broadcast`` made them. Notebook 03a."""
    if n_qubits == 1:
        return []
    if n_qubits == 2:
        return [(0, 1)]
    return [(i, (i + 1) % n_qubits) for i in range(n_qubits)]

def _encode(inputs: Any, n_qubits: int) -> None:
    # inputs[..., i] keeps a leading batch axis if there is one: PennyLane then
    # simulates the whole batch at once (parameter broadcasting).
    for i in range(n_qubits):
        qml.RY(np.pi * inputs[..., i], wires=i)

def qnn_circuit(inputs: Any, weights: Any, spec: CircuitSpec) -> list:
    """The QNN as a PennyLane quantum function (call it inside a QNode).

    Introduced in notebook 03b (03a describes it; its QNodes come from :func:`make_qnode`). ``inputs`` has shape ``(n_qubits,)`` or
    ``(batch, n_qubits)`` with values in ``[0, 1]``; ``weights`` has
    ``spec.weight_shape``. Returns one ``⟨Z⟩`` measurement per qubit.
    """
    n = spec.n_qubits
    pairs = ring_pairs(n) if spec.entangle else []
    _encode(inputs, n)
    for layer in range(spec.n_layers):
        if spec.reupload and layer > 0:
            _encode(inputs, n)
        for i in range(n):
            qml.RZ(weights[layer, 0, i], wires=i)
        for control, target in pairs:
            qml.CNOT(wires=[control, target])
        for i in range(n):
            qml.RY(weights[layer, 1, i], wires=i)
    return [qml.expval(qml.PauliZ(i)) for i in range(n)]

def make_qnode(
    spec: CircuitSpec,
    device: str = "default.qubit",
    diff_method: str = "backprop",
    shots: int | None = None,
    interface: str = "auto",
) -> qml.QNode:
    """A QNode ``f(inputs, weights)`` for ``spec``. Introduced in notebook 03a.

    Defaults — ``default.qubit`` with ``backprop`` — let TensorFlow or JAX
    differentiate through the simulation (fast for few qubits). ``lightning.qubit``
    with ``adjoint`` and ``parameter-shift`` are there to compare gradient methods;
    ``shots`` gives finite-sample estimates instead of exact expectation values.
    """
    if not isinstance(spec, CircuitSpec):
        raise ValueError(f"spec must be a CircuitSpec, got {type(spec).__name__}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}: allowed {', '.join(map(repr, DEVICES))}")
    if diff_method not in DIFF_METHODS:
        raise ValueError(f"unknown diff_method {diff_method!r}: allowed {', '.join(map(repr, DIFF_METHODS))}")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1):
        raise ValueError(f"shots must be None (exact) or a positive integer, got {shots!r}")
    if shots is not None and diff_method in ("backprop", "adjoint"):
        raise ValueError(f"diff_method={diff_method!r} needs exact expectation values (shots=None); "
                         "use 'parameter-shift' with shots")
    if device == "lightning.qubit" and diff_method == "backprop":
        raise ValueError("lightning.qubit does not support backprop: use 'adjoint' or 'parameter-shift'")

    dev = qml.device(device, wires=spec.n_qubits)

    def circuit(inputs, weights):
        return qnn_circuit(inputs, weights, spec)

    qnode = qml.QNode(circuit, dev, interface=interface, diff_method=diff_method)
    return qml.set_shots(qnode, shots=shots) if shots is not None else qnode

def _example_arguments(spec: CircuitSpec) -> tuple[np.ndarray, np.ndarray]:
    # Fixed, readable values so drawings are the same on every run.
    inputs = np.round(np.linspace(0.1, 0.9, spec.n_qubits), 2)
    weights = np.round(np.linspace(0.1, 1.0, spec.n_params).reshape(spec.weight_shape), 2)
    return inputs, weights

def draw_circuit(spec: CircuitSpec, decimals: int | None = 2) -> str:
    """The circuit as text (``qml.draw``), with example inputs and weights. Introduced in notebook 03a."""
    inputs, weights = _example_arguments(spec)
    return qml.draw(make_qnode(spec), decimals=decimals)(inputs, weights)

def circuit_resources(spec: CircuitSpec) -> dict[str, Any]:
    """Gate counts, depth and trainable parameters, from ``qml.specs``. Introduced in notebook 03a."""
    inputs, weights = _example_arguments(spec)
    resources = qml.specs(make_qnode(spec))(inputs, weights)["resources"]
    gate_types = dict(sorted(resources.gate_types.items()))
    return {
        "n_qubits": spec.n_qubits,
        "n_layers": spec.n_layers,
        "gates": resources.num_gates,
        "gate_types": gate_types,
        "two_qubit_gates": sum(v for k, v in gate_types.items() if k in ("CNOT", "CZ", "SWAP")),
        "depth": resources.depth,
        "trainable_params": spec.n_params,
    }
