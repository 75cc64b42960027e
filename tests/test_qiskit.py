"""hqc_course.qiskit_circuits: the same QNN in Qiskit — exact, with shots, with noise, and its hardware cost."""

import math

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers.fake_provider import GenericBackendV2  # noqa: E402
from qiskit.quantum_info import SparsePauliOp, Statevector  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402

from hqc_course.circuits import CircuitSpec, make_qnode, ring_pairs  # noqa: E402
from hqc_course.qiskit_circuits import (  # noqa: E402
    chain_pairs,
    counts_to_expvals,
    entangling_pairs,
    exact_expvals,
    fake_backend,
    hardware_cost,
    noisy_simulator,
    parameter_values,
    qnn_template,
    route_for_backend,
    sampled_counts,
    sampled_expvals,
    snapshot_readout_errors,
    to_qiskit,
    transpile_for_backend,
    z_observables,
)

SPECS = [
    CircuitSpec(1, 1),
    CircuitSpec(2, 1),
    CircuitSpec(3, 2, reupload=True),
    CircuitSpec(4, 1),
    CircuitSpec(4, 2, entangle=False),
    CircuitSpec(5, 3),
]


def random_arguments(spec, rows, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (rows, spec.n_qubits)), rng.uniform(-np.pi, 2 * np.pi, spec.weight_shape)


def pennylane_expvals(spec, inputs, weights):
    qnode = make_qnode(spec, interface="autograd")
    return np.stack([np.asarray(qnode(x, weights), dtype=float).reshape(spec.n_qubits) for x in inputs])


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_exact_expvals_match_pennylane(spec):
    inputs, weights = random_arguments(spec, rows=6, seed=spec.n_qubits * 10 + spec.n_layers)
    ours = exact_expvals(spec, inputs, weights)
    assert ours.shape == (6, spec.n_qubits)
    np.testing.assert_allclose(ours, pennylane_expvals(spec, inputs, weights), atol=1e-6)
    # a single row keeps PennyLane's shape (n_qubits,)
    np.testing.assert_allclose(exact_expvals(spec, inputs[0], weights), ours[0], atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_bound_circuit_has_the_seed_gates_and_state(spec):
    inputs, weights = random_arguments(spec, rows=1, seed=1)
    circuit = to_qiskit(spec, inputs[0], weights)
    ops = circuit.count_ops()
    encodings = spec.n_layers if spec.reupload else 1
    assert ops.get("ry", 0) == spec.n_qubits * (encodings + spec.n_layers)
    assert ops.get("rz", 0) == spec.n_qubits * spec.n_layers
    assert ops.get("cx", 0) == (len(ring_pairs(spec.n_qubits)) if spec.entangle else 0) * spec.n_layers
    assert circuit.num_parameters == 0 and circuit.num_clbits == 0
    # An independent route: Qiskit's Statevector, read with an explicit little-endian Z_i
    state = Statevector(circuit)
    probs = state.probabilities()
    n = spec.n_qubits
    z = [sum(p * (1 - 2 * ((k >> i) & 1)) for k, p in enumerate(probs)) for i in range(n)]
    np.testing.assert_allclose(z, pennylane_expvals(spec, inputs, weights)[0], atol=1e-6)
    measured = to_qiskit(spec, inputs[0], weights, measure=True)
    assert measured.count_ops()["measure"] == n and measured.num_clbits == n


def test_qubit_order_is_little_endian_in_paulis_and_counts():
    assert [op.paulis[0].to_label() for op in z_observables(3)] == ["IIZ", "IZI", "ZII"]
    # "001": qubit 0 read 1 (rightmost); "100": qubit 2 read 1
    np.testing.assert_allclose(counts_to_expvals({"001": 30, "100": 10}, 3), [-0.5, 1.0, 0.5])
    # Physically: RY(π) flips only qubit 0 (entangle=False, zero weights) -> ⟨Z_0⟩ = -1 only.
    spec = CircuitSpec(3, 1, entangle=False)
    np.testing.assert_allclose(exact_expvals(spec, [1.0, 0.0, 0.0], np.zeros(spec.weight_shape)), [-1, 1, 1],
                               atol=1e-12)
    sampled = sampled_expvals(spec, [1.0, 0.0, 0.0], np.zeros(spec.weight_shape), shots=50, seed_simulator=0)
    np.testing.assert_allclose(sampled, [-1, 1, 1])


def test_chain_and_ring_pairs():
    assert chain_pairs(1) == [] and chain_pairs(4) == [(0, 1), (1, 2), (2, 3)]
    assert entangling_pairs(CircuitSpec(4, 1)) == ring_pairs(4)
    assert entangling_pairs(CircuitSpec(4, 1), "chain") == [(0, 1), (1, 2), (2, 3)]
    assert entangling_pairs(CircuitSpec(4, 1, entangle=False), "chain") == []
    circuit, x, w = qnn_template(CircuitSpec(4, 2), entangler="chain")
    assert circuit.count_ops()["cx"] == 6 and len(x) == 4 and len(w) == 16


@pytest.mark.parametrize("spec", [CircuitSpec(3, 2, reupload=True), CircuitSpec(4, 1)], ids=str)
def test_finite_shots_converge_and_are_reproducible(spec):
    inputs, weights = random_arguments(spec, rows=5, seed=3)
    exact = exact_expvals(spec, inputs, weights)
    many = sampled_expvals(spec, inputs, weights, shots=20_000, seed_simulator=7)
    few = sampled_expvals(spec, inputs, weights, shots=100, seed_simulator=7)
    assert many.shape == exact.shape
    assert np.abs(many - exact).max() < 0.05
    assert np.abs(many - exact).mean() < np.abs(few - exact).mean()  # 1/sqrt(shots): 14x smaller expected
    np.testing.assert_array_equal(sampled_expvals(spec, inputs, weights, shots=100, seed_simulator=7), few)
    assert not np.array_equal(sampled_expvals(spec, inputs, weights, shots=100, seed_simulator=8), few)
    # 100 shots give multiples of 2/100
    np.testing.assert_allclose(np.round(few * 50), few * 50, atol=1e-9)


def test_noisy_simulation_stays_in_range_and_shows_noise():
    spec = CircuitSpec(4, 1)
    simulator = noisy_simulator(fake_backend("fake_manila"))
    inputs, weights = random_arguments(spec, rows=8, seed=4)
    noisy = sampled_expvals(spec, inputs, weights, shots=2000, simulator=simulator, seed_simulator=1)
    assert noisy.shape == (8, 4) and np.all(np.abs(noisy) <= 1)
    assert np.abs(noisy - exact_expvals(spec, inputs, weights)).max() < 0.5
    # All qubits stay in |0>: ideally ⟨Z⟩ = 1 exactly; readout and gate errors pull it below 1.
    zeros = sampled_expvals(spec, np.zeros((2, 4)), np.zeros(spec.weight_shape), shots=4000,
                            simulator=simulator, seed_simulator=1)
    assert 0.8 < zeros.mean() < 0.995, zeros


def test_snapshot_readout_errors_are_the_two_directions_whose_mean_aer_uses():
    backend = fake_backend("fake_manila")
    errors = snapshot_readout_errors(backend, [2, 0])
    assert errors.shape == (2, 2) and np.all((0 < errors) & (errors < 0.5))
    properties = backend.properties()
    assert errors[0, 0] == properties.qubit_property(2)["prob_meas1_prep0"][0]
    assert errors[0, 1] == properties.qubit_property(2)["prob_meas0_prep1"][0]
    assert not np.isclose(errors[0, 0], errors[0, 1])  # asymmetric: 1 decays to 0 during the measurement
    # the Target keeps one number per qubit, the mean of the two, and Aer's default model uses it both ways
    assert np.allclose(errors.mean(axis=1), [backend.target["measure"][(q,)].error for q in (2, 0)])
    assert snapshot_readout_errors(backend).shape == (backend.num_qubits, 2)


def test_asymmetric_readout_gives_the_predicted_offset_and_the_symmetric_one_none():
    # One qubit flipped by the input, nothing else: ⟨Z⟩ = -1 exactly. A readout with P(1|0) = a and
    # P(0|1) = b turns z into (1 - a - b)·z + (b - a); a symmetric one (a = b) only scales.
    spec, backend = CircuitSpec(4, 1, entangle=False), fake_backend("fake_manila")
    inputs = np.array([[0, 0, 0, 0], [1, 1, 1, 1]], dtype=float)
    weights = np.zeros(spec.weight_shape)
    shots = 40_000
    for readout in ("symmetric", "asymmetric"):
        simulator = noisy_simulator(backend, readout=readout)
        read_on = transpile_for_backend(spec, simulator).layout.final_index_layout()[:4]
        counts = sampled_counts(spec, inputs, weights, shots, simulator=simulator, seed_simulator=2)
        z = np.stack([counts_to_expvals(c, 4) for c in counts])
        a, b = snapshot_readout_errors(backend, read_on).T
        if readout == "symmetric":
            a = b = (a + b) / 2
        offset, slope = (z[0] + z[1]) / 2, (z[0] - z[1]) / 2  # from ⟨Z⟩ of |0⟩ and of |1⟩
        tolerance = 0.01 + 3 / np.sqrt(shots)  # gate errors of the few one-qubit gates, and shots
        assert np.allclose(offset, b - a, atol=tolerance), (readout, offset, b - a)
        assert np.allclose(slope, 1 - a - b, atol=tolerance), (readout, slope, 1 - a - b)


def test_sampled_counts_are_what_sampled_expvals_reads():
    spec = CircuitSpec(4, 1)
    inputs, weights = random_arguments(spec, rows=3, seed=5)
    counts = sampled_counts(spec, inputs, weights, shots=200, seed_simulator=3)
    assert len(counts) == 3 and all(sum(c.values()) == 200 and all(len(k) == 4 for k in c) for c in counts)
    np.testing.assert_array_equal(np.stack([counts_to_expvals(c, 4) for c in counts]),
                                  sampled_expvals(spec, inputs, weights, shots=200, seed_simulator=3))


def test_ring_costs_more_than_chain_on_a_line_of_qubits():
    backend = fake_backend("fake_manila")  # qubits coupled 0-1-2-3-4: no ring of 4
    spec = CircuitSpec(4, 1)
    ring = hardware_cost(transpile_for_backend(spec, backend, "ring"), backend)
    chain = hardware_cost(transpile_for_backend(spec, backend, "chain"), backend)
    assert chain["two_qubit_gates"] == 3  # a chain fits the line: no SWAP needed
    assert ring["two_qubit_gates"] > 4  # 4 CNOTs plus the SWAPs closing the ring
    assert ring["depth"] >= chain["depth"]
    assert 0 < ring["estimated_success_probability"] < chain["estimated_success_probability"] < 1
    assert ring["measurements"] == chain["measurements"] == 4
    again = hardware_cost(transpile_for_backend(spec, backend, "ring"), backend)
    assert again == pytest.approx(ring, rel=1e-12)  # fixed seed_transpiler: reproducible


def test_transpiling_is_reproducible_and_the_noisy_simulator_uses_the_same_qubits():
    # Qiskit's preset transpiler alone picks 1-2-3-4 or its mirror 4-3-2-1 at random for the ring on
    # fake_manila (equal scores); the module breaks that tie, so the seed fixes the qubits.
    spec = CircuitSpec(4, 1)
    backend = fake_backend("fake_manila")
    layouts = {tuple(transpile_for_backend(spec, backend).layout.initial_index_layout()[:4]) for _ in range(6)}
    assert len(layouts) == 1, layouts
    simulated = transpile_for_backend(spec, noisy_simulator(backend))
    assert tuple(simulated.layout.initial_index_layout()[:4]) in layouts


def coupled(backend):
    return {tuple(sorted(edge)) for edge in backend.coupling_map.get_edges()}


def test_routing_inserts_swaps_only_where_the_device_lacks_a_loop():
    spec = CircuitSpec(4, 1)
    line = fake_backend("fake_manila")  # qubits coupled 0-1-2-3-4: no loop of 4
    ring, chain = route_for_backend(spec, line, "ring"), route_for_backend(spec, line, "chain")
    assert ring.swaps >= 1 and chain.swaps == 0
    ops = ring.circuit.count_ops()
    assert ops["swap"] == ring.swaps and ops["cx"] == 4 and ops["ry"] == 8  # the QNN's own gates, not translated yet
    # every two-qubit gate of the routed circuit, SWAPs included, acts on a coupled pair
    for routed in (ring, chain):
        pairs = {tuple(sorted(routed.circuit.find_bit(q).index for q in ins.qubits))
                 for ins in routed.circuit.data if len(ins.qubits) == 2}
        assert pairs <= coupled(line), pairs - coupled(line)
    # translation turns each SWAP into at most 3 native two-qubit gates; the optimiser can only save some
    assert hardware_cost(ring.transpiled, line)["two_qubit_gates"] <= 4 + 3 * ring.swaps
    # a device whose qubits do form a loop of 4 runs the ring without any SWAP
    loop_edges = [[0, 1], [1, 2], [2, 3], [3, 0]]
    loop = GenericBackendV2(num_qubits=4, coupling_map=loop_edges + [e[::-1] for e in loop_edges], seed=0)
    assert route_for_backend(spec, loop, "ring").swaps == 0


@pytest.mark.parametrize("name", ["fake_manila", "fake_prague"])
def test_routed_circuit_sits_on_the_qubits_of_the_finished_circuit(name):
    # fake_prague: the optimisation stage moves the routed circuit to other qubits (VF2PostLayout);
    # the routed copy must follow, or its drawing shows qubits the device never uses.
    spec, backend = CircuitSpec(4, 1), fake_backend(name)
    routed = route_for_backend(spec, backend)
    finished = transpile_for_backend(spec, backend)
    assert routed.initial_qubits == tuple(finished.layout.initial_index_layout()[:4])
    assert routed.final_qubits == tuple(finished.layout.final_index_layout()[:4])
    assert str(routed.transpiled.draw("text", fold=-1)) == str(finished.draw("text", fold=-1))  # the same run
    used = {routed.circuit.find_bit(q).index for ins in routed.circuit.data for q in ins.qubits}
    assert used == set(routed.initial_qubits) | set(routed.final_qubits)


def test_routed_circuit_computes_the_same_expectation_values():
    spec, backend = CircuitSpec(4, 1), fake_backend("fake_manila")
    routed = route_for_backend(spec, backend, measure=False)
    assert routed.swaps >= 1
    inputs, weights = random_arguments(spec, rows=4, seed=5)
    n = routed.circuit.num_qubits
    for x, values in zip(inputs, parameter_values(spec, routed.circuit, inputs, weights)):
        state = Statevector(routed.circuit.assign_parameters(values))
        # logical qubit i is read on physical qubit final_qubits[i], after the SWAPs moved it there
        z = [state.expectation_value(SparsePauliOp.from_sparse_list([("Z", [p], 1)], n)).real
             for p in routed.final_qubits]
        np.testing.assert_allclose(z, exact_expvals(spec, x, weights), atol=1e-9)


def test_success_probability_uses_the_targets_error_rates():
    backend = fake_backend("fake_manila")
    target = backend.target
    circuit = QuantumCircuit(5, 2)
    circuit.cx(0, 1)
    circuit.sx(2)
    circuit.measure([0, 3], [0, 1])
    cost = hardware_cost(circuit, backend)
    expected_gates = (1 - target["cx"][(0, 1)].error) * (1 - target["sx"][(2,)].error)
    expected_readout = (1 - target["measure"][(0,)].error) * (1 - target["measure"][(3,)].error)
    assert cost["two_qubit_gates"] == 1 and cost["gates"] == 2 and cost["measurements"] == 2
    assert math.isclose(cost["estimated_success_probability"], expected_gates * expected_readout, rel_tol=1e-12)
    assert math.isclose(cost["readout_fidelity"], expected_readout, rel_tol=1e-12)


def test_transpiled_for_simulator_is_still_the_same_circuit():
    spec = CircuitSpec(4, 1)
    circuit = transpile_for_backend(spec, AerSimulator(), measure=False)
    assert circuit.count_ops()["cx"] == 4


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda s, x, w: exact_expvals(s, x[:, :3], w), r"inputs have shape \(2, 3\): allowed \(4,\) or \(batch, 4\)"),
        (lambda s, x, w: exact_expvals(s, x * 255, w), r"inputs range from .* allowed \[0, 1\]"),
        (lambda s, x, w: exact_expvals(s, np.full((2, 4), np.nan), w), r"inputs contain NaN"),
        (lambda s, x, w: exact_expvals(s, x, w[0]), r"weights have shape \(2, 4\): allowed \(1, 2, 4\)"),
        (lambda s, x, w: exact_expvals(s, np.zeros((0, 4)), w), r"inputs have no rows"),
        (lambda s, x, w: exact_expvals("4 qubits", x, w), r"spec must be a hqc_course.circuits.CircuitSpec"),
        (lambda s, x, w: sampled_expvals(s, x, w, shots=0), r"shots must be a positive integer, got 0"),
        (lambda s, x, w: sampled_expvals(s, x, w, shots=-5), r"shots must be a positive integer, got -5"),
        (lambda s, x, w: sampled_expvals(s, x, w, shots=1.5), r"shots must be a positive integer, got 1.5"),
        (lambda s, x, w: sampled_expvals(s, x, w, shots=True), r"shots must be a positive integer, got True"),
        (lambda s, x, w: sampled_expvals(s, x, w, 10, seed_simulator=-1), r"seed_simulator must be None or a non-neg"),
        (lambda s, x, w: sampled_expvals(s, x, w, 10, simulator="aer"), r"simulator must be None \(ideal\) or a"),
        (lambda s, x, w: to_qiskit(s, x, w), r"to_qiskit builds one circuit: inputs must have shape \(4,\)"),
        (lambda s, x, w: to_qiskit(s, x[0], w, entangler="star"), r"unknown entangler 'star': allowed 'ring', 'chain'"),
        (lambda s, x, w: counts_to_expvals({"01": 5}, 3), r"counts key '01' is not a bitstring of length 3"),
        (lambda s, x, w: counts_to_expvals({}, 3), r"counts must be a non-empty mapping"),
        (lambda s, x, w: counts_to_expvals({"000": 0}, 3), r"counts hold no shots"),
        (lambda s, x, w: z_observables(0), r"n_qubits must be a positive integer, got 0"),
        (lambda s, x, w: fake_backend("fake_nowhere"), r"unknown fake backend 'fake_nowhere': allowed .*'fake_manila'"),
        (lambda s, x, w: noisy_simulator("fake_manila"), r"backend must be a Qiskit BackendV2"),
        (lambda s, x, w: noisy_simulator(fake_backend("fake_manila"), readout="average"),
         r"unknown readout 'average': allowed 'symmetric', 'asymmetric'"),
        (lambda s, x, w: snapshot_readout_errors(fake_backend("fake_manila"), [5]),
         r"qubits \[5\]: allowed physical qubits 0 ... 4 of 'fake_manila'"),
        (lambda s, x, w: snapshot_readout_errors(GenericBackendV2(2, seed=0)),
         r"backend 'generic_backend_2q' has no calibration snapshot with the two readout errors of qubit 0"),
        (lambda s, x, w: transpile_for_backend(s, AerSimulator(), optimization_level=4),
         r"optimization_level must be 0, 1, 2 or 3, got 4"),
        (lambda s, x, w: transpile_for_backend(CircuitSpec(6, 1), fake_backend("fake_manila")),
         r"backend 'fake_manila' has 5 qubits: too few for n_qubits=6"),
        (lambda s, x, w: route_for_backend(s, AerSimulator()), r"backend 'aer_simulator' has no coupling map"),
        (lambda s, x, w: route_for_backend(s, fake_backend("fake_manila"), entangler="star"),
         r"unknown entangler 'star'"),
        (lambda s, x, w: hardware_cost(qnn_template(s, measure=True)[0], fake_backend("fake_manila")),
         r"'ry' on qubits \(0,\) is not a native operation of backend 'fake_manila'"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    spec = CircuitSpec(4, 1)
    inputs, weights = random_arguments(spec, rows=2, seed=0)
    with pytest.raises(ValueError, match=match):
        call(spec, inputs, weights)
