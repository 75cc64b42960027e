"""Quanvolution (Henderson et al. 2019): a fixed random quantum circuit used as a 2×2 image filter.

Introduced in notebook 10.

Each non-overlapping ``patch × patch`` block of an image (stride = patch) is encoded into
``patch²`` qubits with ``RY(π·x)`` (one pixel per qubit), a fixed random circuit
(PennyLane's ``qml.RandomLayers``) acts on them, and the ``⟨Z⟩`` of every qubit becomes one
output channel. A 28×28 MNIST digit becomes a 14×14×4 feature map, computed once per image
(no parameter of the circuit is trained) and cached (:func:`hqc_course.settings.cache_dir`).

The controls of chapter 10 give the same small classifier the same images with the same
output shape:

* ``"none"`` — no filter: the raw pixels, each 2×2 block's 4 pixels as 4 channels
  (space-to-depth, 14×14×4). Exactly the same numbers as the image, so nothing is lost or
  invented; only their arrangement matches the filters'.
* ``"classical"`` — a random *classical* 2×2 filter: ``cos(π·(W·x) + b)`` per output channel
  with ``W`` ~ N(0, 1) and ``b`` ~ U(0, 2π) drawn once (random Fourier features), bounded in
  [−1, 1] like ``⟨Z⟩``.
* ``"quantum"`` — the quanvolution filter;
* ``"closed_form"`` — the same filter's closed form (:func:`closed_form_terms`) evaluated classically
  with the circuit's own random parameters: the same numbers, with no simulation at all.

Two simulations of the circuit, checked against each other in the tests and in the chapter:
the PennyLane QNode (``method="pennylane"``, one broadcast call per image, as in PennyLane's
demo) and an exact statevector simulation in NumPy (``method="exact"``) of many patches at once:
the encoded state is a product state, the random layer's gates (its PennyLane decomposition)
act one by one, and ``⟨Z_j⟩ = Σ_b |ψ_b|² z_j(b)``. :func:`quanv_unitary` gives the layer's
unitary from ``qml.matrix`` for a third, independent check.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course.cache import cached_arrays
from hqc_course.settings import cache_dir

__all__ = [
    "FILTERS",
    "QuanvSpec",
    "cached_quanv_features",
    "classical_filter",
    "closed_form_features",
    "closed_form_terms",
    "create_quanv_classifier",
    "extract_patches",
    "featurize_dataset",
    "filter_features",
    "make_quanv_qnode",
    "measure_precompute_rate",
    "quanv_features",
    "random_layer_gates",
    "space_to_depth",
    "train_benchmark_run",
]

FILTERS = ("none", "classical", "quantum", "closed_form")
METHODS = ("exact", "pennylane", "closed_form")
_CACHE_VERSION = 2  # 2: written by hqc_course.cache (record + checksum of every array)
_MAX_EXACT_QUBITS = 12  # the dense unitary has 4**n complex entries: 16 qubits would need 68 GB
_DENSE_MAX_QUBITS = 5  # up to here one product with the dense unitary beats applying gates one by one


@dataclass(frozen=True)
class QuanvSpec:
    """What defines a quanvolution filter. Introduced in notebook 10.

    ``patch``: side of the square patch, also the stride (2 → 4 qubits, 3 → 9 qubits);
    ``n_layers``: layers of ``qml.RandomLayers``; ``seed``: seed of the random circuit (its
    gate choice and its angles). Everything else is built from it, and its digest names
    the cache files.
    """

    patch: int = 2
    n_layers: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name, low, high in (("patch", 1, 4), ("n_layers", 1, 10)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"{name}={value!r} is out of range: allowed integers {low} to {high}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def n_qubits(self) -> int:
        return self.patch * self.patch

    def weights(self) -> np.ndarray:
        """The random circuit's fixed angles, uniform in [0, 2π), shape (n_layers, n_qubits)."""
        return np.random.default_rng(self.seed).uniform(0.0, 2 * math.pi, (self.n_layers, self.n_qubits))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "quanvolution", "patch": self.patch, "n_layers": self.n_layers, "seed": self.seed,
                "encoding": "RY(pi*x)", "layer": "qml.RandomLayers", "readout": "expval(Z) per qubit"}


# ----------------------------------------------------------------- patches
def _as_images(images: Any) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width) or (n, height, width, 1), got {np.shape(images)}")
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1 or not np.isfinite(x).all()):
        raise ValueError(f"pixel values must lie in [0, 1] (scale uint8 images by 1/255), found "
                         f"{np.nanmin(x):.3g} to {np.nanmax(x):.3g}")
    return x


def extract_patches(images: Any, patch: int = 2) -> np.ndarray:
    """Non-overlapping ``patch × patch`` blocks (stride ``patch``): shape (n, h, w, patch²).

    Introduced in notebook 10. Rows and columns that do not fill a whole patch are dropped
    (28 // 3 = 9 patches of 3 × 3 cover 27 of the 28 rows). Within a patch the pixels are in
    reading order: for 2 × 2, ``[x[j, k], x[j, k+1], x[j+1, k], x[j+1, k+1]]``, the order of
    PennyLane's demo.
    """
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or patch < 1:
        raise ValueError(f"patch must be a positive integer, got {patch!r}")
    x = _as_images(images)
    n, height, width = x.shape
    h, w = height // patch, width // patch
    if h == 0 or w == 0:
        raise ValueError(f"images of {height}×{width} pixels are smaller than one {patch}×{patch} patch")
    x = x[:, : h * patch, : w * patch].reshape(n, h, patch, w, patch)
    return x.transpose(0, 1, 3, 2, 4).reshape(n, h, w, patch * patch)


def space_to_depth(images: Any, patch: int = 2) -> np.ndarray:
    """The "no filter" control: the raw pixels of each patch as channels, (n, h, w, patch²), float32. Notebook 10."""
    return extract_patches(images, patch).astype(np.float32)


# ----------------------------------------------------------------- circuit
def quanv_circuit(pixels: Any, spec: QuanvSpec) -> list:
    """The filter's quantum function (call it inside a QNode): RY(π·x) encoding, random layer, ⟨Z⟩ each.

    ``pixels`` has shape (n_qubits,) or (batch, n_qubits) (PennyLane parameter broadcasting).
    """
    import pennylane as qml

    pixels = qml.math.asarray(pixels)
    for j in range(spec.n_qubits):
        qml.RY(math.pi * pixels[..., j], wires=j)
    qml.RandomLayers(spec.weights(), wires=range(spec.n_qubits), seed=spec.seed)
    return [qml.expval(qml.PauliZ(j)) for j in range(spec.n_qubits)]


def make_quanv_qnode(spec: QuanvSpec, device: str = "default.qubit"):
    """The filter as a PennyLane QNode ``qnode(pixels)``; draw it with ``qml.draw(qnode)(pixels)``. Notebook 10."""
    import pennylane as qml

    dev = qml.device(device, wires=spec.n_qubits)

    @qml.qnode(dev)
    def quanvolution_filter(pixels):
        return quanv_circuit(pixels, spec)

    return quanvolution_filter


def random_layer_gates(spec: QuanvSpec) -> list:
    """The fixed random layer as PennyLane operations (its decomposition into RX/RY/RZ and CNOT). Notebook 10."""
    import pennylane as qml

    return list(qml.RandomLayers(spec.weights(), wires=range(spec.n_qubits), seed=spec.seed).decomposition())


def quanv_unitary(spec: QuanvSpec) -> np.ndarray:
    """The unitary of the fixed random layer, (2**n, 2**n), wire 0 the most significant bit (PennyLane's order)."""
    import pennylane as qml

    if spec.n_qubits > _MAX_EXACT_QUBITS:
        raise ValueError(f"{spec.n_qubits} qubits: the dense unitary would hold 4**{spec.n_qubits} entries; "
                         f"at most {_MAX_EXACT_QUBITS} qubits here")
    op = qml.RandomLayers(spec.weights(), wires=range(spec.n_qubits), seed=spec.seed)
    return np.asarray(qml.matrix(op, wire_order=range(spec.n_qubits)), dtype=np.complex128)


def _z_signs(n: int) -> np.ndarray:
    """z_j(b) = +1 if bit j of basis state b is 0 else −1 (wire 0 = most significant): shape (2**n, n)."""
    bits = (np.arange(2 ** n)[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1
    return (1 - 2 * bits).astype(np.float64)


def _exact_filter(patches: np.ndarray, spec: QuanvSpec, max_amplitudes: int = 1 << 22) -> np.ndarray:
    """⟨Z_j⟩ for every patch (rows of ``patches``, shape (m, n_qubits)): an exact statevector simulation.

    The encoding is a product state (real amplitudes); then, for up to 5 qubits, one product
    with the layer's dense unitary (4**n per patch), and above that the layer's gates act one by
    one on the batch of states (cost ∝ gates × 2**n per patch).
    """
    import pennylane as qml

    n = spec.n_qubits
    gates = []
    for op in random_layer_gates(spec):
        wires = [int(w) for w in op.wires]
        if op.name == "CNOT":
            gates.append(("cnot", wires, None))
        elif len(wires) == 1:
            gates.append(("one", wires, np.asarray(qml.matrix(op), dtype=np.complex128)))
        else:
            raise NotImplementedError(f"gate {op.name} on {len(wires)} wires is not simulated here")
    signs = _z_signs(n)
    dense = quanv_unitary(spec).T if n <= _DENSE_MAX_QUBITS else None
    out = np.empty((len(patches), n), dtype=np.float64)
    chunk = max(1, max_amplitudes >> n)
    for start in range(0, len(patches), chunk):
        half = 0.5 * math.pi * patches[start:start + chunk].astype(np.float64)  # RY(θ)|0> = cos(θ/2)|0> + sin(θ/2)|1>
        m = len(half)
        psi = np.ones((m, 1))
        for j in range(n):  # kron of the single-qubit states, wire 0 most significant
            psi = (psi[:, :, None] * np.stack([np.cos(half[:, j]), np.sin(half[:, j])], axis=1)[:, None, :]).reshape(m, -1)
        if dense is not None:  # few qubits: one matrix product with the layer's unitary is fastest
            state = psi @ dense.real + 1j * (psi @ dense.imag)
        else:
            state = psi.astype(np.complex128)
            for kind, wires, matrix in gates:
                if kind == "one":
                    view = state.reshape(m, 2 ** wires[0], 2, -1)  # axis 2 is the gate's wire
                    s0, s1 = view[:, :, 0, :], view[:, :, 1, :]
                    new0 = matrix[0, 0] * s0 + matrix[0, 1] * s1
                    s1 *= matrix[1, 1]
                    s1 += matrix[1, 0] * s0
                    s0[...] = new0
                else:  # CNOT: where the control is 1, swap the target's 0 and 1 amplitudes
                    control, target = wires
                    view = state.reshape((m,) + (2,) * n)
                    index0 = [slice(None)] * (n + 1)
                    index0[control + 1], index0[target + 1] = 1, 0
                    index1 = list(index0)
                    index1[target + 1] = 1
                    flipped = view[tuple(index0)].copy()
                    view[tuple(index0)] = view[tuple(index1)]
                    view[tuple(index1)] = flipped
        probabilities = (state.real ** 2 + state.imag ** 2).reshape(m, -1)
        out[start:start + chunk] = probabilities @ signs
    return out


def quanv_features(images: Any, spec: QuanvSpec = QuanvSpec(), method: str = "exact") -> np.ndarray:
    """The quanvolution feature maps of ``images``, (n, h, w, n_qubits) float32, without caching.

    Introduced in notebook 10. ``method="exact"`` (statevector in NumPy, all patches of all
    images at once), ``"pennylane"`` (the QNode, one broadcast call per image, like PennyLane's
    demo) or ``"closed_form"`` (no state at all: :func:`closed_form_features`, up to 5 qubits); they
    agree to about 1e-15.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: allowed {', '.join(map(repr, METHODS))}")
    if method == "closed_form":
        return closed_form_features(images, spec)
    patches = extract_patches(images, spec.patch)
    n, h, w, q = patches.shape
    if method == "exact":
        out = _exact_filter(patches.reshape(-1, q), spec)
    else:
        qnode = make_quanv_qnode(spec)
        out = np.empty((n, h * w, q))
        for i in range(n):
            out[i] = np.stack(qnode(patches[i].reshape(-1, q).astype(np.float64)), axis=-1)
    return out.reshape(n, h, w, q).astype(np.float32)


def classical_filter(images: Any, patch: int = 2, n_out: int | None = None, seed: int = 0,
                     nonlinearity: str = "cos") -> np.ndarray:
    """The random classical control: ``f(π·(W·x) + b)`` per patch, (n, h, w, n_out) float32.

    Introduced in notebook 10. ``W`` (patch², n_out) ~ N(0, 1) and ``b`` ~ U(0, 2π) are drawn
    once from ``seed`` (never trained); ``nonlinearity`` is ``"cos"`` (random Fourier
    features) or ``"tanh"`` (then without the offset ``b``); both are bounded in [−1, 1] like ⟨Z⟩.
    ``n_out`` defaults to patch², the quantum filter's number of channels.
    """
    if nonlinearity not in ("cos", "tanh"):
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}: allowed 'cos', 'tanh'")
    patches = extract_patches(images, patch).astype(np.float64)
    n_in = patch * patch
    n_out = n_in if n_out is None else n_out
    if isinstance(n_out, bool) or not isinstance(n_out, (int, np.integer)) or n_out < 1:
        raise ValueError(f"n_out must be a positive integer, got {n_out!r}")
    rng = np.random.default_rng([seed, 7])  # another stream than the quantum circuit's of the same seed
    w = rng.normal(0.0, 1.0, (n_in, n_out))
    b = rng.uniform(0.0, 2 * math.pi, n_out)
    z = math.pi * (patches @ w)
    return (np.cos(z + b) if nonlinearity == "cos" else np.tanh(z)).astype(np.float32)


# ----------------------------------------------------------------- the closed form, evaluated classically
def closed_form_terms(spec: QuanvSpec, tol: float = 1e-12) -> list[dict[str, float]]:
    """The filter in closed form: per output channel, ``{Pauli string: coefficient}``. Introduced in notebook 10.

    Heisenberg picture: ``⟨Z_j⟩ = ⟨ψ(x)| U† Z_j U |ψ(x)⟩`` with ``U`` the random layer. ``U† Z_j U`` is a
    Hermitian matrix, a real combination of Pauli strings (``qml.pauli_decompose``), and on the encoded
    product state ``RY(π·x)|0…0⟩`` a Pauli string is a product of one factor per qubit:
    ``⟨I⟩ = 1``, ``⟨Z_q⟩ = cos(π·x_q)``, ``⟨X_q⟩ = sin(π·x_q)``, ``⟨Y_q⟩ = 0`` (the amplitudes are
    real). So only strings of I, X and Z count; each is returned as a string over the wires
    (``"ZIIZ"`` is ``Z_0 Z_3``). The coefficients are computed once from the circuit's unitary;
    after that, :func:`closed_form_features` needs neither a state nor a simulator.
    """
    import pennylane as qml

    n = spec.n_qubits
    if n > _DENSE_MAX_QUBITS:
        raise ValueError(f"{n} qubits: the closed form is derived from the {2 ** n}×{2 ** n} unitary here; "
                         f"at most {_DENSE_MAX_QUBITS} qubits (patch 2)")
    u = quanv_unitary(spec)
    terms = []
    for j in range(n):
        observable = u.conj().T @ np.asarray(qml.matrix(qml.PauliZ(j), wire_order=range(n))) @ u
        sentence = qml.pauli_decompose(observable, wire_order=range(n), pauli=True)
        channel = {}
        for word, coefficient in sentence.items():
            letters = "".join(word.get(q, "I") for q in range(n))
            if "Y" not in letters and abs(coefficient) > tol:
                channel[letters] = float(np.real(coefficient))
        terms.append(dict(sorted(channel.items())))
    return terms


def closed_form_features(images: Any, spec: QuanvSpec = QuanvSpec(),
                         terms: list[dict[str, float]] | None = None) -> np.ndarray:
    """The quantum filter's own closed form evaluated classically, (n, h, w, n_qubits) float32. Notebook 10.

    ``Σ coefficient · Π cos(π·x_q) or sin(π·x_q)`` per channel (:func:`closed_form_terms`): the same
    numbers as :func:`quanv_features` (to rounding), computed with a few NumPy products per term.
    """
    patches = extract_patches(images, spec.patch).astype(np.float64)
    terms = closed_form_terms(spec) if terms is None else terms
    angle = math.pi * patches
    factor = {"I": np.ones_like(angle), "Z": np.cos(angle), "X": np.sin(angle)}
    out = np.zeros(patches.shape[:-1] + (len(terms),))
    for j, channel in enumerate(terms):
        for letters, coefficient in channel.items():
            product = np.full(patches.shape[:-1], coefficient)
            for q, letter in enumerate(letters):
                if letter != "I":
                    product = product * factor[letter][..., q]
            out[..., j] += product
    return out.astype(np.float32)


# ----------------------------------------------------------------- cache
def _image_digests(x: np.ndarray) -> np.ndarray:
    """One 64-bit digest per image (blake2b of its float32 bytes)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return np.array([int.from_bytes(hashlib.blake2b(img.tobytes(), digest_size=8).digest(), "little")
                     for img in x], dtype=np.uint64)


def _fingerprint_dict(data_fingerprint: Any) -> dict[str, Any]:
    if data_fingerprint is None:
        return {}
    return data_fingerprint.to_dict() if hasattr(data_fingerprint, "to_dict") else dict(data_fingerprint)


def _cache_meta(spec: QuanvSpec, data_fingerprint: Any, digests: np.ndarray, shape: tuple) -> dict[str, Any]:
    image_set = hashlib.sha256(np.sort(digests).tobytes()).hexdigest()
    return {"version": _CACHE_VERSION, "spec": spec.to_dict(), "data": _fingerprint_dict(data_fingerprint),
            "images": int(len(digests)), "image_set_sha256": image_set, "image_shape": list(shape)}


def feature_cache_path(meta: dict[str, Any]) -> Path:
    """``<cache folder>/quanv_p<patch>_q<qubits>_<fingerprint>.npz``: the fingerprint hashes the circuit spec and its
    seed, the data's fingerprint and the set of images (their digests), so any change gives another file."""
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    spec = meta["spec"]
    return cache_dir() / f"quanv_p{spec['patch']}_q{spec['patch'] ** 2}_n{meta['images']}_{key}.npz"


def cached_quanv_features(images: Any, spec: QuanvSpec = QuanvSpec(), data_fingerprint: Any = None,
                          method: str = "exact", cache: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`quanv_features`, computed once per set of images and then read from the cache folder.

    Introduced in notebook 10. The cache folder is :func:`hqc_course.settings.cache_dir`, the file a
    :func:`hqc_course.cache.cached_arrays` file. Returns ``(features, info)``; ``info`` says whether the
    cache was used (``"status"``: ``"hit"``, ``"built"``, ``"rebuilt (<why>)"`` or ``"off"``), the
    file's name, and the seconds spent. The same images in any order share one file (rows are stored
    by image digest). A file that is unreadable, corrupt (checksum) or made for anything else is
    rebuilt, and writes are atomic, so a killed run never leaves half a file.
    """
    x = _as_images(images)
    digests = _image_digests(x)
    order = np.argsort(digests, kind="stable")
    sorted_digests = digests[order]
    h, w = x.shape[1] // spec.patch, x.shape[2] // spec.patch
    shape = (len(x), h, w, spec.n_qubits)
    meta = _cache_meta(spec, data_fingerprint, digests, tuple(x.shape[1:]))

    def build() -> dict[str, np.ndarray]:  # rows in sorted-digest order, so any order of the same images hits
        return {"keys": sorted_digests, "features": quanv_features(x[order], spec, method)}

    def check(stored) -> str:
        if not np.array_equal(stored["keys"], sorted_digests):
            return "its image digests differ"
        if stored["features"].shape != shape or stored["features"].dtype != np.float32:
            return f"features of shape {stored['features'].shape} {stored['features'].dtype}, expected {shape} float32"
        return ""

    arrays, info = cached_arrays(feature_cache_path(meta), meta, build, use_cache=cache, check=check)
    features = np.empty_like(arrays["features"])
    features[order] = arrays["features"]
    return features, info


def filter_features(kind: str, images: Any, seed: int = 0, data_fingerprint: Any = None,
                    cache: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """The 14×14×4 input of the classifier for one control (:data:`FILTERS`). Introduced in notebook 10.

    ``seed`` draws the random filter (quantum circuit, its closed form, or the classical projection);
    ``"none"`` has nothing random. Only the quantum features are cached (the others cost milliseconds).
    """
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}: allowed {', '.join(map(repr, FILTERS))}")
    start = time.perf_counter()
    if kind == "quantum":
        return cached_quanv_features(images, QuanvSpec(2, 1, seed), data_fingerprint, cache=cache)
    if kind == "closed_form":
        features = closed_form_features(images, QuanvSpec(2, 1, seed))
    else:
        features = space_to_depth(images) if kind == "none" else classical_filter(images, 2, seed=seed)
    return features, {"status": "not cached", "file": None, "seconds": time.perf_counter() - start}


# ----------------------------------------------------------------- cost
def measure_precompute_rate(spec: QuanvSpec, images: Any, method: str = "exact", repeats: int = 3) -> dict[str, Any]:
    """Images per second of :func:`quanv_features` (no cache), ``repeats`` timed runs after one warm-up.

    Introduced in notebook 10. Returns the median, min and max rate and the raw seconds.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    x = _as_images(images)
    quanv_features(x[:1], spec, method)  # warm-up: builds the unitary or the QNode's tape once
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        quanv_features(x, spec, method)
        seconds.append(time.perf_counter() - start)
    rates = [len(x) / s for s in seconds]
    patches = extract_patches(x[:1], spec.patch).shape
    return {"patch": f"{spec.patch}×{spec.patch}", "qubits": spec.n_qubits, "method": method,
            "patches per image": patches[1] * patches[2], "images": len(x), "repeats": repeats,
            "images/s (median)": float(np.median(rates)), "images/s (min)": float(min(rates)),
            "images/s (max)": float(max(rates)), "seconds": [round(s, 4) for s in seconds]}


# ----------------------------------------------------------------- classifier
def create_quanv_classifier(input_shape: tuple[int, ...] = (14, 14, 4), num_classes: int = 10, seed: int = 0,
                            learning_rate: float = 1e-3, *, steps_per_execution: int = 1):
    """The small classifier every control shares: Flatten → Dense(num_classes, softmax), as in PennyLane's demo.

    Introduced in notebook 10. A linear read-out, so any difference between controls comes
    from the fixed features they hand it.
    """
    import keras

    from hqc_course.models import compile_classifier

    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be (height, width, channels) of positive integers, got {input_shape!r}")
    model = keras.Sequential([
        keras.Input(shape=shape),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(num_classes, activation="softmax",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1000 + 9), name="classes"),
    ], name="quanv_classifier")
    return compile_classifier(model, learning_rate, steps_per_execution)


def featurize_dataset(data, kind: str, seed: int, cache: bool = True):
    """``data`` (a :class:`hqc_course.data.Dataset`) with its three splits replaced by one control's features.

    Introduced in notebook 10.

    Returns ``(dataset, info)``; ``info`` sums the feature seconds and lists the cache status per split.
    """
    parts, info = {}, {"seconds": 0.0, "status": {}}
    for split in ("train", "val", "test"):
        features, meta = filter_features(kind, getattr(data, f"x_{split}"), seed, data.fingerprint, cache)
        parts[f"x_{split}"] = features
        info["seconds"] += meta["seconds"]
        info["status"][split] = meta["status"]
    return dataclasses.replace(data, **parts), info


def train_benchmark_run(request: Any) -> dict[str, Any]:
    """One run of ``hqc_course.benchmark --config quanvolution``: features of one control, then the classifier.

    Introduced in notebook 10. ``request`` is a :class:`hqc_course.runs.RunRequest` whose
    ``options["filter"]`` names the control (one of :data:`FILTERS`). The seed fixes the MNIST
    subset, the random filter (quantum or classical) and the classifier's initial weights and
    batch order.
    """
    import keras

    from hqc_course.data import load_dataset
    from hqc_course.reproducibility import set_seed
    from hqc_course.training import result_row, train_and_evaluate

    if request.dataset != "mnist":
        raise ValueError(f"quanvolution runs on MNIST only, got dataset {request.dataset!r}")
    kind = request.options.get("filter")
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}: allowed {', '.join(map(repr, FILTERS))}")
    data = load_dataset(request.dataset, request.n_train, request.n_val, request.n_test, seed=request.seed,
                        verbose=False)
    features, info = featurize_dataset(data, kind, request.seed)
    set_seed(request.seed)
    model = create_quanv_classifier(features.input_shape, data.num_classes, seed=request.seed,
                                    learning_rate=request.learning_rate, steps_per_execution=request.steps_per_execution)
    result = train_and_evaluate(model, features, epochs=request.max_epochs, patience=request.patience,
                                batch_size=request.batch_size)
    row = result_row(result, data, request, filter=kind, feature_seconds=round(info["seconds"], 3),
                     feature_cache=info["status"])
    keras.backend.clear_session()
    return row
