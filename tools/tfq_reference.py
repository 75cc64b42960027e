"""PennyLane's reference values for chapter 09 (TensorFlow Quantum), as a small committed fixture.

Chapter 09 runs in its own environment (``.venv-tfq``: TensorFlow 2.18, tf-keras, TFQ), where
PennyLane is not installed. To cross-check TFQ against PennyLane there, this script computes, in
the MAIN environment, the seed circuit's ⟨Z_i⟩ and their gradients for a few fixed inputs and
weights, with the course's own circuit (``hqc_course.circuits``), and writes them to
``results/tfq_reference.json``::

    .venv/bin/python tools/tfq_reference.py           # (re)write the fixture
    .venv/bin/python tools/tfq_reference.py --check   # exit 1 if the committed fixture is stale

Values come from ``make_qnode(spec, interface="autograd")`` (``default.qubit``, exact), gradients
from the same circuit with ``diff_method="parameter-shift"`` (checked here against backprop).
The file holds no date, so regenerating an up-to-date fixture changes no byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "results" / "tfq_reference.json"
TOLERANCE = 1e-12  # same machine, same library versions: the numbers must agree to rounding
SPEC_ARGS = {"n_qubits": 4, "n_layers": 1}


def _cases() -> list[tuple[str, list[float], list]]:
    """(label, inputs, weights) of the fixed test points: short decimals, or exact binary fractions."""
    rng = np.random.default_rng(2024)
    cases = [
        # hqc_course.circuits' drawing arguments (chapter 03): inputs 0.1..0.9, weights 0.1..1.0
        ("course example", [0.1, 0.37, 0.63, 0.9], [[[0.1, 0.23, 0.36, 0.49], [0.61, 0.74, 0.87, 1.0]]]),
        # the ends of the encoding's range: RY(0) and RY(pi) give basis states
        ("inputs at 0, 1 and between", [0.0, 1.0, 0.5, 0.25], [[[0.3, -1.2, 2.5, 0.0], [1.1, 0.4, -0.7, 3.0]]]),
    ]
    for k in range(3):
        # multiples of 2**-12: exact in float32, so TFQ (single precision) gets exactly these angles
        inputs = (np.round(rng.uniform(0, 1, 4) * 4096) / 4096).tolist()
        weights = (np.round(rng.uniform(0, 2 * np.pi, (1, 2, 4)) * 4096) / 4096).tolist()
        cases.append((f"random {k + 1} (numpy default_rng(2024))", inputs, weights))
    return cases


def _tidy(values: np.ndarray) -> list:
    # 14 decimals: float64 rounding noise (1e-17) becomes an exact 0 and the file stays small;
    # the cross-check in chapter 09 needs 1e-6, the staleness check 1e-12.
    return (np.round(values, 14) + 0.0).tolist()


def compute() -> dict:
    """The fixture's content, computed now."""
    import pennylane as qml
    from pennylane import numpy as pnp

    from hqc_course.circuits import CircuitSpec, make_qnode

    spec = CircuitSpec(**SPEC_ARGS)
    values = make_qnode(spec, interface="autograd")
    shift = make_qnode(spec, interface="autograd", diff_method="parameter-shift")

    def stacked(qnode):
        return lambda x, w: qml.math.stack(qnode(x, w))

    cases = []
    for label, inputs, weights in _cases():
        x = pnp.array(inputs, dtype=float, requires_grad=True)
        w = pnp.array(weights, dtype=float, requires_grad=True)
        expval = np.asarray(stacked(values)(x, w), dtype=float)
        d_inputs, d_weights = (np.asarray(j, dtype=float) for j in qml.jacobian(stacked(shift), argnums=[0, 1])(x, w))
        # parameter shift is exact for these gates: it must agree with backprop to rounding
        bp_inputs, bp_weights = (np.asarray(j, dtype=float) for j in qml.jacobian(stacked(values), argnums=[0, 1])(x, w))
        if not (np.allclose(d_inputs, bp_inputs, atol=1e-10) and np.allclose(d_weights, bp_weights, atol=1e-10)):
            raise RuntimeError(f"case {label!r}: parameter-shift and backprop gradients disagree")
        cases.append({
            "label": label,
            "inputs": list(inputs),
            "weights": weights,
            "expval": _tidy(expval),
            "d_expval_d_inputs": _tidy(d_inputs),
            "d_expval_d_weights": _tidy(d_weights),
        })

    return {
        "about": ("PennyLane reference values for chapter 09's cross-check of TensorFlow Quantum. "
                  "Made by tools/tfq_reference.py in the main environment; do not edit by hand."),
        "pennylane_version": qml.__version__,
        "circuit": {
            "spec": spec.to_dict(),
            "built_with": "hqc_course.circuits.make_qnode(spec, interface='autograd') on default.qubit",
            "definition": ("RY(pi*inputs[i]) on every wire i; RZ(weights[0][0][i]); CNOT ring (0,1),(1,2),(2,3),(3,0); "
                           "RY(weights[0][1][i]); readout <Z_i> on every wire"),
            "gradient_method": "parameter-shift (checked against backprop to 1e-10)",
        },
        "shapes": {
            "inputs": [spec.n_qubits], "weights": list(spec.weight_shape), "expval": [spec.n_qubits],
            "d_expval_d_inputs": [spec.n_qubits, spec.n_qubits],
            "d_expval_d_weights": [spec.n_qubits, *spec.weight_shape],
            "note": "jacobians: first axis = which <Z_i>, the rest = the argument's axes; "
                    "d/d inputs is with respect to x in RY(pi*x), so it includes the factor pi",
        },
        "cases": cases,
    }


def render(content: dict) -> str:
    """JSON with one line per field (arrays kept on their line): small and diff-friendly."""
    head = [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in content.items() if k != "cases"]
    cases = ["  {\n" + ",\n".join(f"   {json.dumps(k)}: {json.dumps(v)}" for k, v in case.items()) + "\n  }"
             for case in content["cases"]]
    return "{\n" + ",\n".join(head) + ',\n "cases": [\n' + ",\n".join(cases) + "\n ]\n}\n"


def differences(committed: dict, fresh: dict, tol: float = TOLERANCE) -> list[str]:
    """What differs between a committed fixture and a fresh computation (empty: up to date)."""
    problems = []
    for key in ("pennylane_version", "circuit", "shapes"):
        if committed.get(key) != fresh[key]:
            problems.append(f"{key}: committed {committed.get(key)!r}, now {fresh[key]!r}")
    old, new = committed.get("cases", []), fresh["cases"]
    if len(old) != len(new):
        return problems + [f"{len(old)} cases committed, {len(new)} now"]
    for a, b in zip(old, new):
        for key in ("label", "inputs", "weights"):
            if a.get(key) != b[key]:
                problems.append(f"case {b['label']!r}: {key} committed {a.get(key)!r}, now {b[key]!r}")
        for key in ("expval", "d_expval_d_inputs", "d_expval_d_weights"):
            try:
                gap = float(np.max(np.abs(np.asarray(a.get(key), dtype=float) - np.asarray(b[key]))))
            except (TypeError, ValueError):
                problems.append(f"case {b['label']!r}: {key} is missing or has the wrong shape")
                continue
            if not gap <= tol:
                problems.append(f"case {b['label']!r}: {key} differs by {gap:.3g} (allowed {tol:g})")
    return problems


def staleness(fresh: dict) -> list[str]:
    """Why the committed fixture is not current for ``fresh`` (empty: it is).

    Values are compared to :data:`TOLERANCE`, not byte for byte: the last of their 14 decimals can
    differ between runs (summation order in BLAS). The text must be exactly what :func:`render`
    writes for the committed values: no hand edits.
    """
    if not FIXTURE.is_file():
        return ["it is missing"]
    text = FIXTURE.read_text()
    committed = json.loads(text)
    problems = differences(committed, fresh)
    if not problems and text != render(committed):
        problems = ["its text is not in the format this tool writes (edited by hand?), although every value is "
                    f"within {TOLERANCE:g}"]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/tfq_reference.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare the committed fixture; exit 1 if stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
    from hqc_course.files import atomic_write_text

    fresh = compute()
    shown = FIXTURE.relative_to(ROOT)
    problems = staleness(fresh)
    if args.check:
        for p in problems:
            print(f"{shown} is stale: {p}", file=sys.stderr)
        if problems:
            print("regenerate it with: .venv/bin/python tools/tfq_reference.py", file=sys.stderr)
            return 1
        print(f"{shown} is up to date (PennyLane {fresh['pennylane_version']}, {len(fresh['cases'])} cases)")
        return 0
    # rewrite only for a real change, so that `make notebooks` leaves an up-to-date file alone
    text = render(fresh)
    if problems:
        atomic_write_text(FIXTURE, text)
    print(f"{shown} {'written' if problems else 'already up to date'} "
          f"({len(fresh['cases'])} cases, PennyLane {fresh['pennylane_version']}, {len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
