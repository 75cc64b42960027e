"""The QNN of :mod:`hqc_course.circuits`, simulated exactly with ``keras.ops``: fast on every Keras backend.

Introduced in notebook 04 (why the course's layer does not run PennyLane's simulator inside
``model.fit``, and how this one is checked against PennyLane).

PennyLane defines the circuit (:func:`hqc_course.circuits.qnn_circuit`) and remains the
reference: the tests compare this simulator with the PennyLane QNode to 1e-6 and its
gradients with PennyLane's parameter-shift rule, on TensorFlow, JAX and torch. What
changes is *how* the statevector is computed during training. PennyLane's
``default.qubit`` builds a long chain of small complex-number operations per gate; on
the TensorFlow backend (whose PennyLane interface is no longer maintained) that chain
has a fixed cost per training step that dominates at small batches, and at large
batches its work per sample dominates: for every gate it builds a batch of complex gate
matrices, one per sample (notebook 04 separates the two parts from its timings). The
circuit of this course has a structure that needs fewer operations and no per-sample
gate matrices:

* the encoding ``RY(π·x_i)`` on ``|0…0⟩`` is a *product* state, built from the
  ``cos``/``sin`` of the inputs by ``n − 1`` outer products;
* a layer of ``RZ`` rotations is *diagonal*: one phase per basis state;
* the CNOT ring only *permutes* basis states;
* a layer of ``RY`` rotations is the Kronecker product of ``2×2`` real matrices.

So each circuit layer is one ``2ⁿ × 2ⁿ`` matrix ``U = R·P·D`` (built once per step,
independent of the batch) applied to the batch of states with a matrix product, for up
to :data:`DENSE_MAX_QUBITS` qubits. Beyond that the ``4ⁿ`` cost of a dense matrix
outgrows the ``n·2ⁿ`` cost of applying the pieces one by one, so ``D`` is applied as a
phase, ``P`` as a gather and ``R`` block by block. Real and imaginary parts are kept as
two real tensors, so every backend runs it in plain floating point. Products are written
with ``ops.einsum``: Keras 3.15's ``ops.matmul`` (torch) and ``ops.cos``/``ops.sin`` (JAX)
return float32 for float64 inputs, which would cap the accuracy at about 1e-7.

Tried and lost (``results/bench_layer.json`` keeps the other losers: XLA on the simulator and on
the whole gradient, float32, dense against factored). XLA over the whole gradient does make the
layer alone faster on TensorFlow, but Keras' ``fit`` does not compile with XLA on a CPU, and
asking it to (``jit_compile=True``) makes the whole hybrid slower, because the CNN trunk is
slower under XLA there (the file's ``tensorflow_fit_options``). Also lost: building the product state and the Kronecker products as one gather from a constant
index table and one ``prod`` each. It cuts TensorFlow's graph from 588 to 251 operations for 4
qubits, yet was slower on both backends at every size measured (gradient of the layer alone,
µs per sample): TensorFlow 4 qubits at batch 512 2.13 against 0.99, 8 qubits 32.0 against 11.6;
JAX 8 qubits at batch 512 61.6 against 13.9. The gathered tensors are ``n`` times larger than
the states, and the gradient of ``prod`` costs more than that of a chain of outer products.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from hqc_course.circuits import CircuitSpec, ring_pairs

__all__ = ["DENSE_MAX_QUBITS", "StatevectorSimulator"]

#: Up to this many qubits a circuit layer is applied as one dense matrix (see the module notes).
DENSE_MAX_QUBITS = 6
_BLOCK_QUBITS = 4  # beyond DENSE_MAX_QUBITS, R is applied in blocks of at most this many qubits


def _cos_sin(x: Any) -> tuple[Any, Any]:
    """``cos(x), sin(x)`` in the precision of ``x``.

    On the JAX backend Keras 3.15 returns float32 from ``ops.cos``/``ops.sin`` even for
    float64 input (``keras.src.backend.common.dtypes.result_type`` maps 64-bit results to
    32 bits outside TensorFlow), which would cap the simulator's accuracy at about 1e-7.
    """
    if keras.backend.backend() == "jax":
        import jax.numpy as jnp

        return jnp.cos(x), jnp.sin(x)
    return ops.cos(x), ops.sin(x)


def _basis_bits(n: int) -> np.ndarray:
    """Bit i of every basis state, wire 0 most significant (PennyLane's ordering): shape (2**n, n)."""
    k = np.arange(2**n)
    return (k[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1


def _ring_permutation(n: int, entangle: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The CNOT ring as a permutation of basis states: ``(image, source)``, or ``None`` without a ring.

    The ring sends basis state ``k`` to ``image[k]``; ``source[k]`` is the state it sends to ``k``.
    """
    pairs = ring_pairs(n) if entangle else []
    if not pairs:
        return None
    bits = _basis_bits(n)
    for control, target in pairs:  # apply the CNOTs in circuit order
        bits[:, target] ^= bits[:, control]
    image = bits @ (2 ** (n - 1 - np.arange(n)))
    source = np.empty_like(image)
    source[image] = np.arange(2**n)
    return image.astype("int32"), source.astype("int32")


class StatevectorSimulator:
    """``⟨Z_i⟩`` of the course's QNN for a batch of inputs, written in ``keras.ops``.

    Introduced in notebook 04. ``sim(inputs, weights)`` takes inputs of shape
    ``(batch, n_qubits)`` in ``[0, 1]`` and weights of shape ``spec.weight_shape`` (tensors
    of the active backend, of ``dtype``) and returns ``(batch, n_qubits)``. It is
    differentiable by the backend's automatic differentiation, for any batch size, also
    an unknown one while a graph is traced.
    """

    def __init__(self, spec: CircuitSpec, dtype: str = "float64") -> None:
        if not isinstance(spec, CircuitSpec):
            raise ValueError(f"spec must be a CircuitSpec, got {type(spec).__name__}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.spec, self.dtype = spec, dtype
        n = spec.n_qubits
        self.dense = n <= DENSE_MAX_QUBITS
        signs = 1.0 - 2.0 * _basis_bits(n)  # ⟨Z_i⟩ of basis state k is signs[k, i]
        self._signs = signs.astype(dtype)
        self._ring = _ring_permutation(n, spec.entangle)
        # wires of each block of R, when it is applied block by block
        self._blocks = [list(range(i, min(i + _BLOCK_QUBITS, n))) for i in range(0, n, _BLOCK_QUBITS)]

    # ------------------------------------------------------------ pieces
    @staticmethod
    def _kron_ry(angles: Any, wires: list[int]) -> Any:
        """⊗ RY(angles[i]) over ``wires``: a real (2**len, 2**len) matrix."""
        c, s = _cos_sin(angles / 2)
        out = None
        for i in wires:
            m = ops.stack([ops.stack([c[i], -s[i]]), ops.stack([s[i], c[i]])])
            if out is None:
                out = m
            else:
                size = out.shape[0] * 2
                out = ops.reshape(out[:, None, :, None] * m[None, :, None, :], (size, size))
        return out

    def _phase(self, rz_angles: Any) -> Any:
        # RZ(θ) = diag(e^{-iθ/2}, e^{iθ/2}) on every wire: basis state k gets phase −Σ_i signs[k,i]·θ_i/2
        return -0.5 * ops.einsum("ki,i->k", ops.convert_to_tensor(self._signs, dtype=self.dtype), rz_angles)

    def _product_state(self, half_angles: Any) -> Any:
        """RY(π·x_i) on |0…0⟩: amplitude of basis state k = Π_i (cos or sin)(π·x_i/2), real."""
        c, s = _cos_sin(half_angles)
        state = ops.stack([c[:, 0], s[:, 0]], axis=1)
        for i in range(1, self.spec.n_qubits):
            pair = ops.stack([c[:, i], s[:, i]], axis=1)
            state = ops.reshape(state[:, :, None] * pair[:, None, :], (-1, 2 ** (i + 1)))
        return state

    def _reencode(self, re: Any, im: Any, half_angles: Any) -> tuple[Any, Any]:
        """RY(π·x_i) on every wire of a general state (data re-uploading): one 2×2 per sample and wire."""
        n = self.spec.n_qubits
        both = ops.concatenate([re, im], axis=0)  # real gates act on both parts alike
        cos, sin = _cos_sin(half_angles)
        c2, s2 = ops.concatenate([cos, cos], axis=0), ops.concatenate([sin, sin], axis=0)
        for i in range(n):
            t = ops.reshape(both, (-1, 2**i, 2, 2 ** (n - 1 - i)))
            a0, a1 = t[:, :, 0, :], t[:, :, 1, :]
            c, s = c2[:, i][:, None, None], s2[:, i][:, None, None]
            both = ops.reshape(ops.stack([c * a0 - s * a1, s * a0 + c * a1], axis=2), (-1, 2**n))
        return both[: ops.shape(re)[0]], both[ops.shape(re)[0]:]

    def _apply_dense(self, re: Any, im: Any | None, rz: Any, ry: Any) -> tuple[Any, Any]:
        n = self.spec.n_qubits
        r = self._kron_ry(ry, list(range(n)))
        if self._ring is not None:
            r = ops.take(r, ops.convert_to_tensor(self._ring[0]), axis=1)  # (R·P)[:, k] = R[:, image[k]]
        phase = self._phase(rz)
        cos, sin = _cos_sin(phase)
        u_re, u_im = r * cos[None, :], r * sin[None, :]  # U = R·P·D
        def times(state, u):  # state · Uᵀ for a batch of states
            return ops.einsum("bj,ij->bi", state, u)

        if im is None:  # a real state (the first layer): 2 products instead of 4
            return times(re, u_re), times(re, u_im)
        return times(re, u_re) - times(im, u_im), times(re, u_im) + times(im, u_re)

    def _apply_factored(self, re: Any, im: Any | None, rz: Any, ry: Any) -> tuple[Any, Any]:
        n = self.spec.n_qubits
        phase = self._phase(rz)
        cos, sin = _cos_sin(phase)
        cos, sin = cos[None, :], sin[None, :]
        re, im = (re * cos, re * sin) if im is None else (re * cos - im * sin, re * sin + im * cos)
        if self._ring is not None:  # (P·ψ)[k] = ψ[source[k]]
            source = ops.convert_to_tensor(self._ring[1])
            re, im = ops.take(re, source, axis=1), ops.take(im, source, axis=1)
        both = ops.concatenate([re, im], axis=0)
        dims = [2 ** len(b) for b in self._blocks]
        both = ops.reshape(both, (-1, *dims))
        letters = "abcdefgh"[: len(dims)]
        for j, wires in enumerate(self._blocks):
            block = self._kron_ry(ry, wires)
            out = letters[:j] + "z" + letters[j + 1:]
            both = ops.einsum(f"y{letters},z{letters[j]}->y{out}", both, block)
        both = ops.reshape(both, (-1, 2**n))
        half = ops.shape(re)[0]
        return both[:half], both[half:]

    # ------------------------------------------------------------ public
    def __call__(self, inputs: Any, weights: Any) -> Any:
        spec = self.spec
        half_angles = inputs * (math.pi / 2)
        re, im = self._product_state(half_angles), None
        apply = self._apply_dense if self.dense else self._apply_factored
        for layer in range(spec.n_layers):
            if spec.reupload and layer > 0:
                re, im = self._reencode(re, im, half_angles)
            re, im = apply(re, im, weights[layer, 0], weights[layer, 1])
        probabilities = re * re + im * im
        return ops.einsum("bk,ki->bi", probabilities, ops.convert_to_tensor(self._signs, dtype=self.dtype))
