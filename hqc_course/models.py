"""Model builders: the seed's CNN, the hybrid, its classical twin, and the ablations.

The CNN trunk is defined once (:func:`create_cnn_trunk`) and shared by every model,
so any difference between models is the block after the trunk. Introduced in
notebook 01 (CNN) and notebook 05 (hybrid and twin).

All builders take integer labels (``sparse_categorical_crossentropy``). The blog
post one-hot encoded its labels and used ``categorical_crossentropy`` — equivalent,
but its hybrid ended in the QNN's 4 expectation values, which cannot be a 10-class
probability distribution. Here the hybrid ends in ``Dense(num_classes, softmax)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from hqc_course.circuits import CircuitSpec
from hqc_course.layers import QuantumLayer, RingDense

__all__ = [
    "MODEL_KINDS",
    "compile_classifier",
    "create_classical_baseline",
    "create_cnn",
    "create_cnn_trunk",
    "create_hybrid_model",
    "create_identity_control",
    "create_model",
    "trainable_params",
]

MODEL_KINDS = ("cnn", "hybrid", "twin", "hybrid_no_entanglement", "hybrid_frozen", "hybrid_half_angle", "identity")


def _check_shape(input_shape: Sequence[int], num_classes: int) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"input_shape must be (height, width, channels) of positive integers, got {input_shape!r}")
    if shape[0] < 10 or shape[1] < 10:
        raise ValueError(f"input_shape {shape} is too small for the trunk (two 3x3 convolutions and two 2x2 poolings need at least 10x10)")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    return shape


def _init(seed: int, offset: int) -> keras.initializers.Initializer:
    # Each layer gets its own fixed seed: same seed, same initial model, every time.
    return keras.initializers.GlorotUniform(seed=seed * 1000 + offset)


def create_cnn_trunk(input_shape: Sequence[int], seed: int = 0) -> keras.Sequential:
    """The seed's feature extractor, shared by every model. Introduced in notebook 01.

    Conv 32 3×3 (ReLU) → MaxPool 2×2 → Conv 64 3×3 (ReLU) → MaxPool 2×2 → Flatten →
    Dense 128 (ReLU).
    """
    shape = tuple(input_shape)
    return keras.Sequential(
        [
            keras.Input(shape=shape),
            layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer=_init(seed, 1), name="conv1"),
            layers.MaxPooling2D((2, 2), name="pool1"),
            layers.Conv2D(64, (3, 3), activation="relu", kernel_initializer=_init(seed, 2), name="conv2"),
            layers.MaxPooling2D((2, 2), name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", kernel_initializer=_init(seed, 3), name="features"),
        ],
        name="cnn_trunk",
    )


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3, steps_per_execution: int = 1) -> keras.Model:
    """Adam, sparse categorical cross-entropy, accuracy. Introduced in notebook 01.

    ``steps_per_execution=N`` runs N batches per call of the compiled step (chapter 04 measures
    it): the same updates in the same order, so the same trained weights, with TensorFlow's fixed
    cost per call paid once per N batches.
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) or steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be a positive integer, got {steps_per_execution!r}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def _classifier(trunk: keras.Model, head: list, num_classes: int, seed: int, name: str,
                learning_rate: float, steps_per_execution: int) -> keras.Model:
    model = keras.Sequential(
        [keras.Input(shape=trunk.input_shape[1:]), trunk, *head,
         layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed, 9), name="classes")],
        name=name,
    )
    return compile_classifier(model, learning_rate, steps_per_execution)


def create_cnn(input_shape: Sequence[int], num_classes: int = 10, seed: int = 0,
               learning_rate: float = 1e-3, *, steps_per_execution: int = 1) -> keras.Model:
    """The blog post's CNN: trunk → Dense(num_classes, softmax). Introduced in notebook 01.

    Every model builder compiles what it builds (:func:`compile_classifier`, with its
    ``learning_rate`` and ``steps_per_execution``).
    """
    shape = _check_shape(input_shape, num_classes)
    return _classifier(create_cnn_trunk(shape, seed), [], num_classes, seed, "cnn", learning_rate,
                       steps_per_execution)


def _bottleneck(n_qubits: int, seed: int) -> keras.Sequential:
    # Dense → BatchNormalization → sigmoid: batch normalisation keeps each feature spread
    # around 0 before the squashing (neither collapsed at 0.5 nor saturated at 0 or 1, where
    # no gradient flows); the sigmoid then maps it into [0, 1], which RY(π·x) turns into
    # angles in [0, π] without wrapping around.
    return keras.Sequential([
        layers.Dense(n_qubits, kernel_initializer=_init(seed, 4), name="bottleneck_dense"),
        # momentum 0.9, not Keras' 0.99: with ~30-60 steps per epoch the running statistics used
        # for validation and test would otherwise still be half their initial values after epoch 1
        layers.BatchNormalization(momentum=0.9, name="bottleneck_norm"),
        layers.Activation("sigmoid", name="bottleneck_sigmoid"),
    ], name="bottleneck")


def create_hybrid_model(
    input_shape: Sequence[int],
    num_classes: int = 10,
    n_qubits: int = 4,
    n_layers: int = 1,
    entangle: bool = True,
    reupload: bool = False,
    freeze_quantum: bool = False,
    seed: int = 0,
    learning_rate: float = 1e-3,
    chunk_size: int = 32,
    simulator: str = "statevector",
    angle_scale: float = 1.0,
    *,
    steps_per_execution: int = 1,
) -> keras.Model:
    """Trunk → bottleneck (Dense(n_qubits) → BatchNorm → sigmoid) → QuantumLayer → Dense(num_classes, softmax).

    Introduced in notebook 05. ``entangle=False`` removes the CNOT ring and
    ``freeze_quantum=True`` keeps the quantum angles at their random initial values
    (the two ablations of chapter 07). ``simulator`` chooses how the circuit is simulated
    (see :class:`hqc_course.layers.QuantumLayer`); the numbers are the same either way.

    ``angle_scale`` multiplies the bottleneck's features before the circuit, so the encoding
    becomes RY(angle_scale·π·x). The seed's value, 1, puts the sigmoid's centre x = ½ at
    RY(π/2), where the ring circuit's outputs do not depend on its inputs to first order
    (chapter 07 explains it); ``angle_scale=0.5`` (RY(πx/2)) has no such flat point there.
    """
    shape = _check_shape(input_shape, num_classes)
    CircuitSpec(n_qubits, n_layers, entangle, reupload)  # validate before building anything
    if isinstance(angle_scale, bool) or not isinstance(angle_scale, (int, float)) or not 0 < angle_scale <= 2:
        raise ValueError(f"angle_scale must be a number in (0, 2], got {angle_scale!r}")
    quantum = QuantumLayer(
        n_qubits=n_qubits, n_layers=n_layers, entangle=entangle, reupload=reupload, chunk_size=chunk_size,
        simulator=simulator,
        weights_initializer=keras.initializers.RandomUniform(0.0, 6.283185307179586, seed=seed * 1000 + 5),
        name="quantum",
    )
    quantum.trainable = not freeze_quantum
    name = "hybrid" if entangle and not freeze_quantum else (
        "hybrid_frozen" if freeze_quantum else "hybrid_no_entanglement")
    block = [quantum]
    if angle_scale != 1:
        name = "hybrid_half_angle" if (angle_scale == 0.5 and name == "hybrid") else f"{name}_scaled"
        block = [layers.Rescaling(float(angle_scale), name="angle_scale"), quantum]
    return _classifier(create_cnn_trunk(shape, seed), [_bottleneck(n_qubits, seed), *block],
                       num_classes, seed, name, learning_rate, steps_per_execution)


def create_classical_baseline(
    input_shape: Sequence[int],
    num_classes: int = 10,
    n_qubits: int = 4,
    n_layers: int = 1,
    seed: int = 0,
    learning_rate: float = 1e-3,
    *,
    steps_per_execution: int = 1,
) -> keras.Model:
    """The hybrid's classical twin: the QNN replaced by :class:`RingDense`.

    Introduced in notebook 05. Same trunk, same bottleneck width, and a classical
    block with exactly the QNN's number of trainable parameters (2 per qubit per
    layer), so the two models differ only in what that block computes.
    """
    shape = _check_shape(input_shape, num_classes)
    CircuitSpec(n_qubits, n_layers)  # same validation as the hybrid
    block = RingDense(units=n_qubits, n_layers=n_layers, seed=seed * 1000 + 5, name="classical_block")
    return _classifier(create_cnn_trunk(shape, seed), [_bottleneck(n_qubits, seed), block],
                       num_classes, seed, "twin", learning_rate, steps_per_execution)


def create_identity_control(
    input_shape: Sequence[int],
    num_classes: int = 10,
    n_qubits: int = 4,
    seed: int = 0,
    learning_rate: float = 1e-3,
    *,
    steps_per_execution: int = 1,
) -> keras.Model:
    """The hybrid without its quantum block: the bottleneck's features straight into the classifier.

    Introduced in notebook 07. Same trunk and bottleneck as the hybrid and the twin, and no
    block between the bottleneck and ``Dense(num_classes)``: what either block adds is
    measured against it.
    """
    shape = _check_shape(input_shape, num_classes)
    CircuitSpec(n_qubits)  # same validation of the width as the hybrid
    return _classifier(create_cnn_trunk(shape, seed), [_bottleneck(n_qubits, seed)], num_classes, seed,
                       "identity", learning_rate, steps_per_execution)


def create_model(kind: str, input_shape: Sequence[int], num_classes: int = 10, n_qubits: int = 4,
                 n_layers: int = 1, seed: int = 0, learning_rate: float = 1e-3, *,
                 steps_per_execution: int = 1) -> keras.Model:
    """Any model of the benchmark by name (one of :data:`MODEL_KINDS`), compiled. Introduced in notebook 07."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}: allowed {', '.join(map(repr, MODEL_KINDS))}")
    compiled = {"steps_per_execution": steps_per_execution}
    if kind == "cnn":
        return create_cnn(input_shape, num_classes, seed, learning_rate, **compiled)
    if kind == "twin":
        return create_classical_baseline(input_shape, num_classes, n_qubits, n_layers, seed, learning_rate, **compiled)
    if kind == "identity":
        return create_identity_control(input_shape, num_classes, n_qubits, seed, learning_rate, **compiled)
    return create_hybrid_model(
        input_shape, num_classes, n_qubits, n_layers,
        entangle=kind != "hybrid_no_entanglement", freeze_quantum=kind == "hybrid_frozen",
        seed=seed, learning_rate=learning_rate, angle_scale=0.5 if kind == "hybrid_half_angle" else 1.0, **compiled,
    )


def trainable_params(model_or_layer: keras.layers.Layer) -> int:
    """Number of trainable scalars. Introduced in notebook 01."""
    return int(sum(keras.ops.size(w) for w in model_or_layer.trainable_weights))
