"""Keras 3 layers: the QNN as a layer (``QuantumLayer``) and its classical twin (``RingDense``).

Introduced in notebook 04 (the simplest version is written there inline first).

Why the course has its own layer: PennyLane's ``qml.qnn.KerasLayer``, which the blog
post uses, was deprecated in PennyLane 0.41 and removed in 0.42. ``QuantumLayer`` runs
the circuit of :mod:`hqc_course.circuits` in one of two ways:

* ``simulator="statevector"`` (the default): :class:`hqc_course.statevector.StatevectorSimulator`,
  an exact simulation of the same circuit written in ``keras.ops``. It runs unchanged on
  the TensorFlow, JAX and torch backends, with any batch size (also an unknown one while
  TensorFlow traces a graph), and the backend differentiates through it. The tests check
  it against the PennyLane QNode to 1e-6 and against PennyLane's parameter-shift
  gradients, on every backend.
* ``simulator="pennylane"``: the PennyLane QNode itself, through PennyLane's interface for
  the active backend (``tf``, ``jax`` or ``torch``), with parameter broadcasting — the
  whole batch in one QNode call. Any PennyLane device and gradient method can be used
  (``device``, ``diff_method``). On TensorFlow, whose PennyLane interface is no longer
  maintained, it is several times slower (``results/bench_layer.json``) and needs two
  workarounds: a partial batch traced with an unknown size is padded and simulated chunk
  by chunk (``chunk_size``), and 8+ qubits need
  :func:`hqc_course.circuits.install_pennylane_tf_broadcast_workaround`.

Either way the layer is serialisable: ``get_config`` stores the circuit's spec, not a
simulator object, and the class is registered, so ``keras.models.load_model`` needs no
``custom_objects`` — also under another backend than the one that saved it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import keras
from keras import ops

from hqc_course.circuits import (
    DEVICES,
    DIFF_METHODS,
    CircuitSpec,
    install_pennylane_tf_broadcast_workaround,
    make_qnode,
)
from hqc_course.statevector import StatevectorSimulator

__all__ = ["SIMULATORS", "QuantumLayer", "RingDense"]

SIMULATORS = ("statevector", "pennylane")
_PENNYLANE_INTERFACE = {"tensorflow": "tf", "jax": "jax", "torch": "torch"}


def _quiet_complex_cast_warning() -> None:
    # With PennyLane on TensorFlow, TensorFlow logs "casting complex128 to float64 discards the
    # imaginary part" while building the gradient of ⟨Z⟩ (real by construction). The message is
    # correct and harmless here, and would print dozens of times per model.
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(getattr(f, "_hqc_course_filter", False) for f in logger.filters):
        def quiet(record: logging.LogRecord) -> bool:
            return "You are casting an input of type complex" not in record.getMessage()

        quiet._hqc_course_filter = True  # type: ignore[attr-defined]
        logger.addFilter(quiet)


def _simulation_dtype() -> str:
    """float64 where the backend has it: enough to match parameter-shift gradients to 1e-6."""
    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"  # JAX default: 32-bit only
    return "float64"


@keras.saving.register_keras_serializable(package="hqc_course")
class QuantumLayer(keras.layers.Layer):
    """The QNN of :func:`hqc_course.circuits.qnn_circuit` as a Keras layer.

    Introduced in notebook 04. Input: ``(batch, n_qubits)`` values in ``[0, 1]``
    (squash them first, e.g. with a sigmoid). Output: ``(batch, n_qubits)``
    expectation values ``⟨Z_i⟩`` in ``[-1, 1]``.

    Args:
        n_qubits, n_layers, entangle, reupload: the circuit, see
            :class:`hqc_course.circuits.CircuitSpec`.
        simulator: ``"statevector"`` (exact, fast, every backend) or ``"pennylane"``
            (the PennyLane QNode; see the module notes).
        device, diff_method: the PennyLane device and gradient method
            (``simulator="pennylane"`` only).
        chunk_size: with ``simulator="pennylane"`` on TensorFlow, the batch size of the
            fallback path used when the batch size is unknown while tracing (match it
            to the training batch size).
        weights_initializer: initializer of the rotation angles; by default
            uniform in ``[0, 2π)``.
    """

    def __init__(
        self,
        n_qubits: int = 4,
        n_layers: int = 1,
        entangle: bool = True,
        reupload: bool = False,
        simulator: str = "statevector",
        device: str = "default.qubit",
        diff_method: str = "backprop",
        chunk_size: int = 32,
        weights_initializer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = CircuitSpec(n_qubits=n_qubits, n_layers=n_layers, entangle=entangle, reupload=reupload)
        if simulator not in SIMULATORS:
            raise ValueError(f"unknown simulator {simulator!r}: allowed {', '.join(map(repr, SIMULATORS))}")
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}: allowed {', '.join(map(repr, DEVICES))}")
        if diff_method not in DIFF_METHODS:
            raise ValueError(f"unknown diff_method {diff_method!r}: allowed {', '.join(map(repr, DIFF_METHODS))}")
        if simulator == "statevector" and (device, diff_method) != ("default.qubit", "backprop"):
            raise ValueError(f"device={device!r} and diff_method={diff_method!r} choose how PennyLane simulates: "
                             "they need simulator='pennylane' (the statevector simulator is exact and always "
                             "differentiated by the backend)")
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        backend = keras.backend.backend()
        if simulator == "pennylane" and backend not in _PENNYLANE_INTERFACE:
            raise ValueError(f"simulator='pennylane' needs the tensorflow, jax or torch backend, not {backend!r}")
        self.simulator, self.device, self.diff_method, self.chunk_size = simulator, device, diff_method, chunk_size
        self.weights_initializer = keras.initializers.get(
            weights_initializer or keras.initializers.RandomUniform(0.0, 2 * math.pi)
        )
        self._sim_dtype = _simulation_dtype()
        if simulator == "statevector":
            self._simulate = StatevectorSimulator(self.spec, dtype=self._sim_dtype)
        else:
            if backend == "tensorflow" and n_qubits >= 8:
                install_pennylane_tf_broadcast_workaround()
            self.qnode = make_qnode(self.spec, device=device, diff_method=diff_method,
                                    interface=_PENNYLANE_INTERFACE[backend])
            self._simulate = self._broadcast
            if backend == "tensorflow":
                import tensorflow as tf

                _quiet_complex_cast_warning()
                # AutoGraph must not rewrite PennyLane's Python code (it cannot, and says so loudly).
                self._simulate = tf.autograph.experimental.do_not_convert(self._broadcast)

    # -------------------------------------------------------------- Keras API
    def build(self, input_shape: tuple) -> None:
        width = input_shape[-1]
        if width != self.spec.n_qubits:
            raise ValueError(
                f"QuantumLayer '{self.name}' has n_qubits={self.spec.n_qubits} but its input has "
                f"{width} features (shape {tuple(input_shape)}): put a Dense({self.spec.n_qubits}) "
                f"before it, or set n_qubits={width}"
            )
        self.quantum_weights = self.add_weight(
            name="quantum_weights",
            shape=self.spec.weight_shape,
            initializer=self.weights_initializer,
            trainable=True,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        # Declared so that Keras need not trace the circuit to learn the output shape.
        return tuple(input_shape[:-1]) + (self.spec.n_qubits,)

    def call(self, inputs):
        n = self.spec.n_qubits
        flat = ops.reshape(inputs, (-1, n))
        x = ops.cast(flat, self._sim_dtype)
        w = ops.cast(self.quantum_weights, self._sim_dtype)
        if self.simulator == "pennylane" and flat.shape[0] is None:
            out = self._chunked(x, w)  # PennyLane on TensorFlow, unknown batch size while tracing
        else:
            out = self._simulate(x, w)
        out = ops.cast(out, self.compute_dtype)
        if len(inputs.shape) == 2:
            return out
        return ops.reshape(out, tuple(ops.shape(inputs)[:-1]) + (n,))

    # ------------------------------------------------------------ internals
    def _broadcast(self, x, w):
        """One QNode call for the whole batch: shape (batch, n_qubits)."""
        with warnings.catch_warnings():
            # PennyLane warns at every trace that its TensorFlow interface is deprecated;
            # notebook 04 explains it, and the default simulator does not use it.
            warnings.filterwarnings("ignore", message="Support for the TensorFlow interface is deprecated")
            results = self.qnode(x, w)
        # One sample without a batch axis comes back as scalars: keep the axis.
        return ops.reshape(ops.stack(results, axis=-1), (-1, self.spec.n_qubits))

    def _chunked(self, x, w):
        import tensorflow as tf  # only TensorFlow traces with an unknown batch size

        n, c = self.spec.n_qubits, self.chunk_size
        batch = tf.shape(x)[0]
        padded = tf.pad(x, [[0, (-batch) % c], [0, 0]])
        chunks = tf.reshape(padded, (-1, c, n))  # each chunk has the static shape (c, n)
        out = tf.map_fn(tf.autograph.experimental.do_not_convert(lambda chunk: self._simulate(chunk, w)),
                        chunks, fn_output_signature=tf.TensorSpec((c, n), x.dtype))
        return tf.reshape(out, (-1, n))[:batch]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            self.spec.to_dict(),
            simulator=self.simulator,
            device=self.device,
            diff_method=self.diff_method,
            chunk_size=self.chunk_size,
            weights_initializer=keras.initializers.serialize(self.weights_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="hqc_course")
class RingDense(keras.layers.Layer):
    """The QNN's classical twin: a simple classical block with the same width and parameter count.

    Introduced in notebook 05. Per layer, output ``i`` mixes its own feature with
    its ring neighbour's::

        y_i = tanh(a_i · x_i + b_i · x_{(i+1) mod n})

    That is 2 trainable numbers per feature per layer — exactly the QNN's two
    angles (RZ, RY) per qubit per layer — and outputs in ``[-1, 1]`` like ``⟨Z⟩``.
    It is a classical block of the same size, not a classical copy of the circuit:
    after the CNOT ring each ⟨Z_i⟩ depends on several inputs at once (chapter 03
    derives it), while y_i sees only two.
    """

    def __init__(self, units: int = 4, n_layers: int = 1, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers={n_layers!r} is out of range: allowed 1 or more")
        self.units, self.n_layers, self.seed = units, n_layers, seed

    def build(self, input_shape: tuple) -> None:
        if input_shape[-1] != self.units:
            raise ValueError(f"RingDense '{self.name}' has units={self.units} but its input has "
                             f"{input_shape[-1]} features")
        self.kernel = self.add_weight(
            name="kernel", shape=(self.n_layers, 2, self.units),
            initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed), trainable=True,
        )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def call(self, inputs):
        x = inputs
        for layer in range(self.n_layers):
            neighbour = ops.roll(x, shift=-1, axis=-1)
            x = ops.tanh(self.kernel[layer, 0] * x + self.kernel[layer, 1] * neighbour)
        return x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(units=self.units, n_layers=self.n_layers, seed=self.seed)
        return config
