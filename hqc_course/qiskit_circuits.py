"""The seed's QNN in Qiskit: a cross-check, finite shots, device noise and hardware cost.

Introduced in notebook 08. The circuit is built from the same
:class:`hqc_course.circuits.CircuitSpec` as the PennyLane version, gate for gate::

    encode:   RY(π·x_i) on every qubit i
    layer l:  RZ(w[l, 0, i]) on every qubit, CNOT ring (hqc_course.circuits.ring_pairs), RY(w[l, 1, i])
              [with reupload=True the encoding is repeated before every layer after the first]
    readout:  ⟨Z_i⟩ on every qubit i

What this module adds, using Qiskit's own tools rather than rewriting them:

* **exact** ⟨Z_i⟩ with ``qiskit.primitives.StatevectorEstimator`` (:func:`exact_expvals`);
* **finite-shot** ⟨Z_i⟩ from counts with ``qiskit_aer.AerSimulator``, ideal or with the
  noise model of a real device (``AerSimulator.from_backend``) (:func:`sampled_counts`,
  :func:`sampled_expvals`), with Aer's symmetric readout errors or the snapshot's asymmetric ones
  (:func:`noisy_simulator`, :func:`snapshot_readout_errors`);
* **hardware cost** of the circuit transpiled for a device (depth, two-qubit gates and a
  success-probability estimate from the device's calibration data) (:func:`hardware_cost`);
* the circuit **after routing**, before translation to native gates, with the SWAPs the
  router inserted still visible as ``swap`` gates (:func:`route_for_backend`).

Qiskit orders qubits little-endian: in a Pauli string such as ``"IIZI"`` and in a
counts key such as ``"0010"``, qubit 0 is the *rightmost* character. PennyLane lists
wire 0 first. :func:`z_observables` and :func:`counts_to_expvals` handle the
conversion, so results come back in the same order as PennyLane's.

For the comparison of entangling patterns, ``entangler="chain"`` replaces the ring
of CNOTs by a linear chain ``CNOT(i, i+1)`` for ``i < n-1`` (one CNOT fewer; it fits
a device whose qubits are connected in a line). The seed's circuit is the ring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.converters import dag_to_circuit
from qiskit.primitives import StatevectorEstimator
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError

from hqc_course.circuits import CircuitSpec, ring_pairs

__all__ = [
    "ENTANGLERS",
    "chain_pairs",
    "counts_to_expvals",
    "entangling_pairs",
    "exact_expvals",
    "fake_backend",
    "hardware_cost",
    "noisy_simulator",
    "parameter_values",
    "qnn_template",
    "READOUT_MODELS",
    "RoutedCircuit",
    "route_for_backend",
    "sampled_counts",
    "sampled_expvals",
    "snapshot_readout_errors",
    "to_qiskit",
    "transpile_for_backend",
    "z_observables",
]

ENTANGLERS = ("ring", "chain")
READOUT_MODELS = ("symmetric", "asymmetric")  # noisy_simulator's readout errors: Aer's default, or the snapshot's
_NOT_GATES = ("barrier", "delay")  # directives and idling: no gate error in the estimate


# ------------------------------------------------------------------ validation
def _check_spec(spec: Any) -> CircuitSpec:
    if not isinstance(spec, CircuitSpec):
        raise ValueError(f"spec must be a hqc_course.circuits.CircuitSpec, got {type(spec).__name__}")
    return spec


def _check_entangler(entangler: Any) -> str:
    if entangler not in ENTANGLERS:
        raise ValueError(f"unknown entangler {entangler!r}: allowed {', '.join(map(repr, ENTANGLERS))}")
    return entangler


def _check_inputs(spec: CircuitSpec, inputs: Any) -> tuple[np.ndarray, bool]:
    """Inputs as a (batch, n_qubits) float array, and whether a single row was given."""
    try:
        x = np.asarray(inputs, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"inputs must be numbers, got {type(inputs).__name__}") from None
    single = x.ndim == 1
    if single:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != spec.n_qubits:
        raise ValueError(
            f"inputs have shape {np.shape(inputs)}: allowed ({spec.n_qubits},) or (batch, {spec.n_qubits}) "
            f"for n_qubits={spec.n_qubits} (one value per qubit)"
        )
    if x.shape[0] == 0:
        raise ValueError("inputs have no rows: allowed at least one row")
    if not np.all(np.isfinite(x)):
        raise ValueError("inputs contain NaN or infinity: allowed finite values in [0, 1]")
    if x.min() < -1e-6 or x.max() > 1 + 1e-6:
        raise ValueError(
            f"inputs range from {x.min():.4g} to {x.max():.4g}: allowed [0, 1] (the encoding is RY(π·x); "
            "squash features first, e.g. with a sigmoid)"
        )
    return x, single


def _check_weights(spec: CircuitSpec, weights: Any) -> np.ndarray:
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"weights must be numbers, got {type(weights).__name__}") from None
    if w.shape != spec.weight_shape:
        raise ValueError(f"weights have shape {w.shape}: allowed {spec.weight_shape} (n_layers, 2, n_qubits) "
                         f"for {spec}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or infinity: allowed finite angles")
    return w


def _check_positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if allow_none else 1):
        allowed = "None or a non-negative integer" if allow_none else "a positive integer"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def _check_backend(backend: Any) -> BackendV2:
    if not isinstance(backend, BackendV2):
        raise ValueError(f"backend must be a Qiskit BackendV2 (e.g. fake_backend('fake_manila') or an "
                         f"AerSimulator), got {type(backend).__name__}")
    return backend


# ------------------------------------------------------------------ the circuit
def chain_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """CNOT (control, target) pairs of a linear chain: (0, 1), (1, 2), …, (n-2, n-1).

    Introduced in notebook 08, as the cheaper alternative to the seed's ring on a device whose
    qubits form a line. One qubit: no pair.
    """
    n = _check_positive_int("n_qubits", n_qubits)
    return [(i, i + 1) for i in range(n - 1)]


def entangling_pairs(spec: CircuitSpec, entangler: str = "ring") -> list[tuple[int, int]]:
    """The CNOT pairs of one layer: the seed's ring, a chain, or none if ``spec.entangle`` is False.

    Introduced in notebook 08.
    """
    spec, entangler = _check_spec(spec), _check_entangler(entangler)
    if not spec.entangle:
        return []
    return ring_pairs(spec.n_qubits) if entangler == "ring" else chain_pairs(spec.n_qubits)


def qnn_template(spec: CircuitSpec, measure: bool = False,
                 entangler: str = "ring") -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    """The QNN as a *parameterised* Qiskit circuit: ``(circuit, x, w)``.

    Introduced in notebook 08. ``x`` holds one parameter per qubit (the inputs), ``w`` the
    ``spec.n_params`` angles in the order of ``weights.ravel()`` for weights of shape
    ``spec.weight_shape``. Built once, transpiled once, then bound to many inputs. With
    ``measure=True`` every qubit i is measured into classical bit i.
    """
    spec = _check_spec(spec)
    pairs = entangling_pairs(spec, entangler)
    n = spec.n_qubits
    x = ParameterVector("x", n)
    w = ParameterVector("w", spec.n_params)
    angle = lambda layer, kind, i: w[(layer * 2 + kind) * n + i]  # noqa: E731 - index into ravel()
    qreg = QuantumRegister(n, "q")
    circuit = QuantumCircuit(qreg, name=f"qnn_{entangler}")
    if measure:
        circuit.add_register(ClassicalRegister(n, "c"))

    def encode() -> None:
        for i in range(n):
            circuit.ry(math.pi * x[i], i)

    encode()
    for layer in range(spec.n_layers):
        if spec.reupload and layer > 0:
            encode()
        for i in range(n):
            circuit.rz(angle(layer, 0, i), i)
        for control, target in pairs:
            circuit.cx(control, target)
        for i in range(n):
            circuit.ry(angle(layer, 1, i), i)
    if measure:
        circuit.measure(range(n), range(n))
    return circuit, x, w


def _parameter_table(circuit: QuantumCircuit, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(batch, circuit.num_parameters) values, columns in the order of ``circuit.parameters``.

    Parameters are matched by their vector's name (``x`` or ``w``) and index, which survives
    transpilation (the transpiler may copy the Parameter objects).
    """
    flat_w = weights.ravel()
    columns = []
    for parameter in circuit.parameters:
        name = getattr(getattr(parameter, "vector", None), "name", None)
        if name == "x" and parameter.index < inputs.shape[1]:
            columns.append(inputs[:, parameter.index])
        elif name == "w" and parameter.index < flat_w.size:
            columns.append(np.full(len(inputs), flat_w[parameter.index]))
        else:
            raise ValueError(f"circuit {circuit.name!r} has parameter {parameter}, which is not one of the QNN's "
                             "x[i] or w[j]: allowed circuits from qnn_template or transpile_for_backend")
    return np.stack(columns, axis=1) if columns else np.zeros((len(inputs), 0))


def parameter_values(spec: CircuitSpec, circuit: QuantumCircuit, inputs: Any, weights: Any) -> np.ndarray:
    """Values for a (transpiled) QNN circuit's parameters, one row per input row.

    Introduced in notebook 08. Returns shape ``(batch, circuit.num_parameters)``, columns in the
    order of ``circuit.parameters`` — what a Sampler or Estimator PUB ``(circuit, values)``
    expects, e.g. for ``qiskit_ibm_runtime.SamplerV2`` on a real device.
    """
    spec = _check_spec(spec)
    if not isinstance(circuit, QuantumCircuit):
        raise ValueError(f"circuit must be a qiskit QuantumCircuit, got {type(circuit).__name__}")
    x_arr, _ = _check_inputs(spec, inputs)
    return _parameter_table(circuit, x_arr, _check_weights(spec, weights))


def _bind_rows(circuit: QuantumCircuit, inputs: np.ndarray, weights: np.ndarray) -> list[QuantumCircuit]:
    table = _parameter_table(circuit, inputs, weights)
    return [circuit.assign_parameters(row) for row in table]


def to_qiskit(spec: CircuitSpec, inputs: Any, weights: Any, measure: bool = False,
              entangler: str = "ring") -> QuantumCircuit:
    """The QNN for one input row as a Qiskit circuit with numbers for every angle.

    Introduced in notebook 08. ``inputs``: shape ``(n_qubits,)``, values in ``[0, 1]``;
    ``weights``: shape ``spec.weight_shape``. ``measure=True`` adds a measurement of every
    qubit i into classical bit i (needed for sampling, not for the Estimator).
    """
    spec = _check_spec(spec)
    x_row, single = _check_inputs(spec, inputs)
    if not single:
        raise ValueError(f"to_qiskit builds one circuit: inputs must have shape ({spec.n_qubits},), "
                         f"got {np.shape(inputs)}; use exact_expvals or sampled_expvals for a batch")
    w_arr = _check_weights(spec, weights)
    circuit, _, _ = qnn_template(spec, measure=measure, entangler=entangler)
    return _bind_rows(circuit, x_row, w_arr)[0]


def z_observables(n_qubits: int) -> list[SparsePauliOp]:
    """``[Z_0, Z_1, …]`` as ``SparsePauliOp``: qubit i is the i-th character from the *right*.

    Introduced in notebook 08. For 4 qubits: ``IIIZ, IIZI, IZII, ZIII``.
    """
    n = _check_positive_int("n_qubits", n_qubits)
    return [SparsePauliOp("I" * (n - 1 - i) + "Z" + "I" * i) for i in range(n)]


# ------------------------------------------------------------------ exact
def exact_expvals(spec: CircuitSpec, inputs: Any, weights: Any, entangler: str = "ring") -> np.ndarray:
    """Exact ``⟨Z_i⟩`` from Qiskit's ``StatevectorEstimator``: shape ``(batch, n_qubits)``.

    Introduced in notebook 08. ``inputs`` of shape ``(n_qubits,)`` give shape ``(n_qubits,)``.
    All rows go to the estimator as one PUB (the circuit with a table of parameter values).
    """
    spec = _check_spec(spec)
    x_arr, single = _check_inputs(spec, inputs)
    w_arr = _check_weights(spec, weights)
    circuit, _, _ = qnn_template(spec, entangler=entangler)
    values = _parameter_table(circuit, x_arr, w_arr)[:, None, :]  # (batch, 1, parameters)
    observables = [z_observables(spec.n_qubits)]  # (1, n): broadcast against the batch
    result = StatevectorEstimator().run([(circuit, observables, values)]).result()[0]
    expvals = np.asarray(result.data.evs, dtype=float).reshape(len(x_arr), spec.n_qubits)
    return expvals[0] if single else expvals


# ------------------------------------------------------------------ shots and noise
def counts_to_expvals(counts: Mapping[str, int], n_qubits: int) -> np.ndarray:
    """``⟨Z_i⟩`` estimated from one circuit's counts: shape ``(n_qubits,)``.

    Introduced in notebook 08. Keys are bitstrings in Qiskit's little-endian order: bit i
    (qubit i's result) is the i-th character from the right. ``⟨Z_i⟩ = P(0) − P(1)``.
    """
    n = _check_positive_int("n_qubits", n_qubits)
    if not isinstance(counts, Mapping) or not counts:
        raise ValueError(f"counts must be a non-empty mapping bitstring -> count, got {counts!r}")
    total = 0
    ones = np.zeros(n)
    for key, count in counts.items():
        bits = str(key).replace(" ", "")
        if len(bits) != n or set(bits) - {"0", "1"}:
            raise ValueError(f"counts key {key!r} is not a bitstring of length {n}: allowed keys like {'0' * n!r}")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ValueError(f"count of {key!r} must be a non-negative integer, got {count!r}")
        total += count
        ones += count * np.array([bits[n - 1 - i] == "1" for i in range(n)], dtype=float)
    if total == 0:
        raise ValueError("counts hold no shots (all counts are 0): allowed at least one shot")
    return 1.0 - 2.0 * ones / total


def _fake_backend_classes() -> dict[str, type]:
    """Every offline fake device class of qiskit-ibm-runtime, by the name its backend reports."""
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    classes = {}
    for value in vars(fake_provider).values():
        if isinstance(value, type) and issubclass(value, FakeBackendV2) and isinstance(
                getattr(value, "backend_name", None), str):
            classes[value.backend_name] = value
    return classes


def fake_backend(name: str) -> BackendV2:
    """An offline fake IBM device from ``qiskit_ibm_runtime.fake_provider``, by name.

    Introduced in notebook 08. ``name`` as the backend calls itself, e.g. ``"fake_manila"``
    (``FakeManilaV2``: 5 qubits in a line) or ``"fake_prague"`` (``FakePrague``: 33 qubits).
    A fake backend is not a device: it stores one past calibration snapshot of a real device
    (coupling map, native gates, error rates, T1/T2 and gate durations, dated in
    ``backend.properties().last_update_date``); no network is used. Simulated through
    :func:`noisy_simulator` it becomes an Aer noise model without crosstalk, drift or leakage.
    """
    classes = _fake_backend_classes()
    if name not in classes:
        raise ValueError(f"unknown fake backend {name!r}: allowed {', '.join(map(repr, sorted(classes)))}")
    return classes[name]()


def snapshot_readout_errors(backend: BackendV2, qubits: Any = None) -> np.ndarray:
    """The calibration snapshot's two readout errors of each qubit: shape ``(len(qubits), 2)``.

    Introduced in notebook 08. Column 0 is P(read 1 | prepared 0), column 1 P(read 0 | prepared 1),
    as the device measured them on the snapshot's day (``backend.properties()``: ``prob_meas1_prep0``
    and ``prob_meas0_prep1``). They differ: a qubit in 1 can decay to 0 while it is being measured.
    The backend's ``Target`` keeps only one number per qubit, their mean, and that is what
    ``AerSimulator.from_backend`` uses in both directions. ``qubits``: physical qubits, default all.
    """
    backend = _check_backend(backend)
    if qubits is None:
        qubits = range(backend.num_qubits)
    qubits = list(qubits)
    if any(isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not 0 <= q < backend.num_qubits
           for q in qubits):
        raise ValueError(f"qubits {qubits!r}: allowed physical qubits 0 ... {backend.num_qubits - 1} of "
                         f"{backend.name!r}")
    properties = backend.properties() if callable(getattr(backend, "properties", None)) else None
    values = []
    for q in qubits:
        found = properties.qubit_property(q) if properties is not None else {}
        if "prob_meas1_prep0" not in found or "prob_meas0_prep1" not in found:
            raise ValueError(f"backend {backend.name!r} has no calibration snapshot with the two readout errors of "
                             f"qubit {q} (prob_meas1_prep0, prob_meas0_prep1): allowed a fake backend of "
                             "qiskit_ibm_runtime.fake_provider, e.g. fake_backend('fake_manila')")
        values.append((found["prob_meas1_prep0"][0], found["prob_meas0_prep1"][0]))
    return np.array(values, dtype=float).reshape(len(qubits), 2)


def noisy_simulator(backend: BackendV2, method: str = "density_matrix", readout: str = "symmetric") -> AerSimulator:
    """An ``AerSimulator`` with the device's noise model, coupling map and basis gates.

    Introduced in notebook 08. ``AerSimulator.from_backend`` turns the backend's calibration data
    into an Aer noise model. After every gate: a depolarising error, sized so that it and the next
    part together have the gate's calibrated error, then thermal relaxation (T1, T2) for the gate's
    duration. On every measurement: a readout error, and no relaxation. It has no crosstalk, no
    drift, no leakage, no coherent errors and no noise on idle qubits.

    ``readout="symmetric"`` (Aer's default) flips a bit 0→1 and 1→0 with the same probability, the
    ``Target``'s one readout error per qubit. A device's readout is not symmetric: ``"asymmetric"``
    keeps Aer's gate errors and replaces the readout errors by the snapshot's two measured
    probabilities (:func:`snapshot_readout_errors`), with Aer's ``ReadoutError``.

    Building it took 0.2-0.5 s for fake_manila (5 qubits), 1.4-2.1 s for fake_prague (33) and
    4.6-6.0 s for fake_torino (133) in three runs each on a shared 2-core CPU: build it once,
    reuse it. ``method="density_matrix"`` simulates the few active qubits exactly and then
    samples shots.
    """
    backend = _check_backend(backend)
    allowed = ("density_matrix", "statevector", "automatic")
    if method not in allowed:
        raise ValueError(f"unknown method {method!r}: allowed {', '.join(map(repr, allowed))}")
    if readout not in READOUT_MODELS:
        raise ValueError(f"unknown readout {readout!r}: allowed {', '.join(map(repr, READOUT_MODELS))}")
    if isinstance(backend, AerSimulator):
        raise ValueError("backend is already an AerSimulator: pass a device backend, e.g. fake_backend('fake_manila')")
    if readout == "symmetric":
        return AerSimulator.from_backend(backend, method=method)
    errors = snapshot_readout_errors(backend)  # checks that the snapshot has them before building anything
    noise_model = NoiseModel.from_backend(backend, readout_error=False)
    for qubit, (p1_given_0, p0_given_1) in enumerate(errors):
        noise_model.add_readout_error(ReadoutError([[1 - p1_given_0, p1_given_0], [p0_given_1, 1 - p0_given_1]]),
                                      [qubit])
    return AerSimulator.from_backend(backend, method=method, noise_model=noise_model)


def _score_layouts_by_direction(pass_manager: Any) -> int:
    """Let the preset's ``VF2PostLayout`` score each gate *direction*; returns how many it changed.

    The preset pass managers run the routing stage's ``VF2PostLayout`` with ``strict_direction=False``
    (Qiskit 2.3 and 2.6). Two layouts that are mirror images of each other (e.g. qubits 1-2-3-4 or
    4-3-2-1 of a line) then score the same up to rounding, and with Qiskit 2.3 which one won changed
    from call to call even with a fixed ``seed_transpiler``: the same circuit landed on different
    qubits, with different error rates. (Qiskit 2.6.2 chose the same layout in five processes with
    different hash seeds either way.) Scoring directions breaks the tie, so the same seed gives the
    same transpiled circuit whatever the version does with ties.
    """
    from qiskit.transpiler.passes import VF2PostLayout

    changed = 0
    stack = [pass_manager.routing.to_flow_controller()] if getattr(pass_manager, "routing", None) else []
    while stack:
        task = stack.pop()
        if isinstance(task, VF2PostLayout):
            task.strict_direction = True
            changed += 1
        stack.extend(getattr(task, "tasks", None) or ())
    return changed


def _tasks(stage: Any) -> list[Any]:
    """Every pass and flow controller of one stage of a staged pass manager, nested ones included."""
    found, stack = [], [stage.to_flow_controller()] if stage is not None else []
    while stack:
        task = stack.pop()
        found.append(task)
        stack.extend(getattr(task, "tasks", None) or ())
    return found


def _preset_pass_manager(spec: CircuitSpec, backend: BackendV2, optimization_level: int,
                         seed_transpiler: int | None) -> Any:
    """Validated arguments -> the preset pass manager both transpiling functions use."""
    if isinstance(optimization_level, bool) or optimization_level not in (0, 1, 2, 3):
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3, got {optimization_level!r}")
    seed_transpiler = _check_positive_int("seed_transpiler", seed_transpiler, allow_none=True)
    if backend.num_qubits is not None and backend.num_qubits < spec.n_qubits:
        raise ValueError(f"backend {backend.name!r} has {backend.num_qubits} qubits: too few for "
                         f"n_qubits={spec.n_qubits}")
    pass_manager = generate_preset_pass_manager(optimization_level=optimization_level, backend=backend,
                                                seed_transpiler=seed_transpiler)
    _score_layouts_by_direction(pass_manager)
    return pass_manager


def transpile_for_backend(spec: CircuitSpec, backend: BackendV2, entangler: str = "ring", measure: bool = True,
                          optimization_level: int = 3, seed_transpiler: int = 0) -> QuantumCircuit:
    """The parameterised QNN transpiled for ``backend``: its basis gates and coupling map.

    Introduced in notebook 08. Uses Qiskit's preset pass manager (layout on the least noisy
    qubits it finds, routing with SWAPs where the device lacks a connection, translation to the
    native gates, optimisation). A fixed ``seed_transpiler`` makes the result reproducible (see
    ``_score_layouts_by_direction`` for the one setting changed for that). Parameters stay
    symbolic, so the resource counts hold for every input and every trained weight.
    """
    spec = _check_spec(spec)
    backend = _check_backend(backend)
    circuit, _, _ = qnn_template(spec, measure=measure, entangler=entangler)
    pass_manager = _preset_pass_manager(spec, backend, optimization_level, seed_transpiler)
    return pass_manager.run(circuit)


@dataclass(frozen=True)
class RoutedCircuit:
    """What routing did to the QNN on one device (see :func:`route_for_backend`). Introduced in notebook 08.

    ``circuit``: the QNN after layout and routing, *before* translation to native gates, on the
    device's physical qubits (wire ``q_p`` is physical qubit p): the QNN's own gates (RY, RZ,
    CX) plus the ``swap`` gates the router inserted. ``swaps``: how many. ``initial_qubits[i]``
    / ``final_qubits[i]``: the physical qubit that holds logical qubit i at the start / is
    measured for it at the end (the SWAPs move qubits around). ``transpiled``: the finished
    circuit of the same transpiler run, identical to :func:`transpile_for_backend`'s.
    """

    circuit: QuantumCircuit
    swaps: int
    initial_qubits: tuple[int, ...]
    final_qubits: tuple[int, ...]
    transpiled: QuantumCircuit


def route_for_backend(spec: CircuitSpec, backend: BackendV2, entangler: str = "ring", measure: bool = True,
                      optimization_level: int = 3, seed_transpiler: int = 0) -> RoutedCircuit:
    """The QNN right after routing for ``backend``, with the inserted SWAP gates, and their number.

    Introduced in notebook 08. Runs exactly the transpiler of :func:`transpile_for_backend` (same
    pass manager, same seed) and keeps a copy of the circuit at the end of its *routing* stage,
    where SWAPs are still ``swap`` gates; the translation stage later turns each into native
    two-qubit gates (3 CNOTs, or 3 CZs plus one-qubit gates), and the optimiser may merge some of
    those with neighbouring gates. If the optimisation stage then moves the whole circuit onto an
    equivalent set of less noisy qubits (Qiskit's ``VF2PostLayout``), the routed copy is
    relabelled the same way, so it sits on the qubits the finished circuit uses.
    """
    spec = _check_spec(spec)
    backend = _check_backend(backend)
    circuit, _, _ = qnn_template(spec, measure=measure, entangler=entangler)
    pass_manager = _preset_pass_manager(spec, backend, optimization_level, seed_transpiler)
    from qiskit.transpiler.passes import VF2PostLayout

    routing_tasks = {id(task) for task in _tasks(getattr(pass_manager, "routing", None))}
    seen: dict[str, Any] = {}

    def keep_routed(pass_: Any, dag: Any, time: float, property_set: Any, count: int) -> None:
        if id(pass_) in routing_tasks:  # after every pass of the routing stage: keep the latest state
            seen["routed"] = dag_to_circuit(dag)
            seen["layout"] = property_set["layout"]
            seen.pop("relabel", None)
        elif "routed" in seen and isinstance(pass_, VF2PostLayout) and property_set["post_layout"] is not None:
            post_layout = property_set["post_layout"]
            seen["relabel"] = [post_layout[qubit] for qubit in dag.qubits]  # old physical index -> new

    transpiled = pass_manager.run(circuit, callback=keep_routed)
    if seen.get("layout") is None:  # e.g. a simulator without a coupling map: nothing was laid out or routed
        raise ValueError(f"backend {backend.name!r} has no coupling map to route onto: allowed a device backend, "
                         "e.g. fake_backend('fake_manila')")
    routed, layout = seen["routed"], seen["layout"]
    relabel = seen.get("relabel", list(range(routed.num_qubits)))
    physical = QuantumRegister(routed.num_qubits, "q")
    moved = QuantumCircuit(physical, *routed.cregs, name=f"{circuit.name}_routed")
    for instruction in routed.data:
        qubits = [physical[relabel[routed.find_bit(q).index]] for q in instruction.qubits]
        moved.append(instruction.operation, qubits, instruction.clbits)
    initial = tuple(relabel[layout[qubit]] for qubit in circuit.qubits)
    measured = {moved.find_bit(ins.clbits[0]).index: moved.find_bit(ins.qubits[0]).index
                for ins in moved.data if ins.operation.name == "measure"}
    if measure:
        final = tuple(measured[i] for i in range(spec.n_qubits))
    else:  # no measurements to read it from: the transpiler's own record of where each qubit ends
        final = tuple(transpiled.layout.final_index_layout()[: spec.n_qubits])
    return RoutedCircuit(circuit=moved, swaps=int(moved.count_ops().get("swap", 0)), initial_qubits=initial,
                         final_qubits=final, transpiled=transpiled)


def sampled_counts(spec: CircuitSpec, inputs: Any, weights: Any, shots: int,
                   simulator: AerSimulator | None = None, seed_simulator: int | None = None,
                   entangler: str = "ring", optimization_level: int = 3,
                   seed_transpiler: int = 0) -> list[dict[str, int]]:
    """The measured counts of every input row: a list of ``{bitstring: count}``, one per row.

    Introduced in notebook 08. ``simulator``: ``None`` for an ideal ``AerSimulator`` (only
    shot noise), or one from :func:`noisy_simulator` (shot noise plus the device's noise). The
    circuit is transpiled once for the simulator (as :func:`transpile_for_backend` does for the
    device), bound to every row (one circuit per row), and all circuits run in one job;
    ``seed_simulator`` makes the samples reproducible. Classical bit i holds logical qubit i
    (Qiskit's order: the rightmost character of a bitstring), wherever the transpiler put it.
    """
    spec = _check_spec(spec)
    x_arr, _ = _check_inputs(spec, inputs)
    w_arr = _check_weights(spec, weights)
    shots = _check_positive_int("shots", shots)
    seed_simulator = _check_positive_int("seed_simulator", seed_simulator, allow_none=True)
    if simulator is None:
        simulator = AerSimulator()
    elif not isinstance(simulator, AerSimulator):
        raise ValueError(f"simulator must be None (ideal) or a qiskit_aer.AerSimulator, e.g. noisy_simulator("
                         f"fake_backend('fake_manila')), got {type(simulator).__name__}")
    circuit = transpile_for_backend(spec, simulator, entangler=entangler, measure=True,
                                    optimization_level=optimization_level, seed_transpiler=seed_transpiler)
    circuits = _bind_rows(circuit, x_arr, w_arr)
    counts = simulator.run(circuits, shots=shots, seed_simulator=seed_simulator).result().get_counts()
    return [dict(counts)] if isinstance(counts, dict) else [dict(c) for c in counts]


def sampled_expvals(spec: CircuitSpec, inputs: Any, weights: Any, shots: int,
                    simulator: AerSimulator | None = None, seed_simulator: int | None = None,
                    entangler: str = "ring", optimization_level: int = 3, seed_transpiler: int = 0) -> np.ndarray:
    """``⟨Z_i⟩`` estimated from ``shots`` measurements per input row: shape ``(batch, n_qubits)``.

    Introduced in notebook 08. The counts of :func:`sampled_counts` (same arguments), turned into
    ``⟨Z_i⟩ = P(0) − P(1)`` by :func:`counts_to_expvals`.
    """
    spec = _check_spec(spec)
    _, single = _check_inputs(spec, inputs)
    counts = sampled_counts(spec, inputs, weights, shots, simulator=simulator, seed_simulator=seed_simulator,
                            entangler=entangler, optimization_level=optimization_level,
                            seed_transpiler=seed_transpiler)
    expvals = np.stack([counts_to_expvals(c, spec.n_qubits) for c in counts])
    return expvals[0] if single else expvals


# ------------------------------------------------------------------ hardware cost
def hardware_cost(circuit: QuantumCircuit, backend: BackendV2) -> dict[str, Any]:
    """Depth, gate counts and an estimated success probability of a transpiled circuit.

    Introduced in notebook 08. ``circuit`` must already be transpiled for ``backend`` (see
    :func:`transpile_for_backend`). The estimate multiplies ``1 − error`` over every gate and
    every measurement, with the error rates of the qubits each one acts on, read from the
    backend's ``Target`` (its calibration snapshot)::

        P(success) ≈ ∏_gates (1 − ε_gate) × ∏_measured qubits (1 − ε_readout)

    It ignores idling (T1/T2 decay while other qubits work) and crosstalk, so it is optimistic —
    a rough figure for comparing circuits, not a prediction of the result's accuracy.
    """
    backend = _check_backend(backend)
    if not isinstance(circuit, QuantumCircuit):
        raise ValueError(f"circuit must be a qiskit QuantumCircuit, got {type(circuit).__name__}")
    target = backend.target
    log_gates = log_readout = 0.0
    two_qubit = gates = measurements = 0
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in _NOT_GATES:
            continue
        qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        if name not in target.operation_names or not target.instruction_supported(name, qargs):
            raise ValueError(f"{name!r} on qubits {qargs} is not a native operation of backend {backend.name!r}: "
                             "transpile the circuit for this backend first (transpile_for_backend)")
        properties = target[name].get(qargs)
        error = properties.error if properties is not None and properties.error is not None else 0.0
        if name == "measure":
            measurements += 1
            log_readout += math.log1p(-error)
            continue
        gates += 1
        two_qubit += len(qargs) == 2
        log_gates += math.log1p(-error)
    return {
        "depth": circuit.depth(),
        "two_qubit_gates": two_qubit,
        "gates": gates,
        "measurements": measurements,
        "gate_fidelity": math.exp(log_gates),
        "readout_fidelity": math.exp(log_readout),
        "estimated_success_probability": math.exp(log_gates + log_readout),
    }
