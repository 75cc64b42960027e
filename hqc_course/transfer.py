"""Quantum transfer learning (Mari et al. 2019): a frozen pretrained CNN, then a "dressed" quantum circuit.

Introduced in notebook 11.

The course pretrains its own CNN trunk (:func:`hqc_course.models.create_cnn_trunk`) on the 8
CIFAR-10 classes that are neither cat nor dog (40,000 training images; no downloaded
weights), caches the weights (:func:`hqc_course.settings.cache_dir`) under a fingerprint, and
freezes it. On the two held-out classes, cat vs dog (one of Mari et al.'s two CIFAR-10 tasks), three heads
read the trunk's 128 features, less the units that are constant on the run's training split (dropped,
and the rest standardised, by :func:`target_dataset`):

* ``"linear"`` — ``Dense(2, softmax)``;
* ``"classical"`` — ``Dense(4) → BatchNorm → sigmoid → RingDense(4, 3 layers) → Dense(2)``: the
  dressed circuit with its circuit replaced by the course's classical block of the same
  parameter count;
* ``"dressed_quantum"`` — ``Dense(4) → BatchNorm → sigmoid → QuantumLayer(4 qubits, 3 layers) →
  Dense(2)``: Mari et al.'s dressed quantum circuit (this one has 2 × 4 × 3 = 24 angles; their
  cats-vs-dogs circuit had 5 layers of 4, 20 angles, their ants-vs-bees one 6 layers, 24).

The frozen trunk's features are computed once per image and cached too, so the heads train
on at most 128 numbers per image in seconds.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course.cache import cache_write_error, cached_arrays
from hqc_course.files import atomic_path, file_sha256
from hqc_course.settings import cache_dir

__all__ = [
    "HEADS",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "TARGET_TEST_IMAGES",
    "PretrainSpec",
    "TransferImages",
    "create_transfer_head",
    "load_transfer_images",
    "pretrained_network",
    "pretrained_trunk",
    "target_dataset",
    "test_image_ids",
    "trunk_features",
    "train_benchmark_run",
]

HEADS = ("linear", "classical", "dressed_quantum")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TARGET_CLASSES = (3, 5)  # cat, dog
TARGET_TEST_IMAGES = 2_000  # CIFAR-10's cat and dog test images
SOURCE_CLASSES = tuple(c for c in range(10) if c not in TARGET_CLASSES)
_CACHE_VERSION = 2  # of the pretrained trunk's recipe (part of its cache key)
_FEATURES_VERSION = 3  # of the features cache; 3: written by hqc_course.cache


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------- data
@dataclass
class TransferImages:
    """CIFAR-10 split for transfer learning. Introduced in notebook 11.

    ``source_*``: the 8 other classes, labels 0–7 in :data:`SOURCE_CLASSES` order (40,000
    train, 8,000 test). ``target_*``: cat (0) and dog (1) (10,000 train, 2,000 test).
    """

    name: str
    fingerprint: Any  # hqc_course.data.DataFingerprint
    source: str
    source_x_train: np.ndarray
    source_y_train: np.ndarray
    source_x_test: np.ndarray
    source_y_test: np.ndarray
    target_x_train: np.ndarray
    target_y_train: np.ndarray
    target_x_test: np.ndarray
    target_y_test: np.ndarray

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(CIFAR10_CLASSES[c] for c in SOURCE_CLASSES)

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(CIFAR10_CLASSES[c] for c in TARGET_CLASSES)

    def counts(self) -> dict[str, int]:
        return {"source train": len(self.source_y_train), "source test": len(self.source_y_test),
                "target train": len(self.target_y_train), "target test": len(self.target_y_test)}


def load_transfer_images(verbose: bool = False) -> TransferImages:
    """All 60,000 CIFAR-10 images, split into the 8 source classes and cat vs dog. Introduced in notebook 11.

    The images come from :func:`hqc_course.data.load_dataset` (all training images, in the
    order of its seed 0; the official test split), then are split by class.
    """
    from hqc_course.data import load_dataset

    data = load_dataset("cifar10", None, 10, None, seed=0, verbose=verbose)
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    source_map = np.full(10, -1)
    source_map[list(SOURCE_CLASSES)] = np.arange(len(SOURCE_CLASSES))
    target_map = np.full(10, -1)
    target_map[list(TARGET_CLASSES)] = np.arange(len(TARGET_CLASSES))

    def part(images, labels, classes, mapping):
        keep = np.isin(labels, classes)
        return images[keep], mapping[labels[keep]].astype(np.int64)

    sx, sy = part(x, y, SOURCE_CLASSES, source_map)
    tx, ty = part(x, y, TARGET_CLASSES, target_map)
    sxt, syt = part(data.x_test, data.y_test, SOURCE_CLASSES, source_map)
    txt, tyt = part(data.x_test, data.y_test, TARGET_CLASSES, target_map)
    return TransferImages(data.name, data.fingerprint, data.source, sx, sy, sxt, syt, tx, ty, txt, tyt)


# ----------------------------------------------------------------- pretraining
@dataclass(frozen=True)
class PretrainSpec:
    """How the trunk is pretrained on the 8 source classes. Introduced in notebook 11.

    The trunk is :func:`hqc_course.models.create_cnn_trunk` with ``Dense(8, softmax)`` on top,
    trained with Adam for a fixed number of ``epochs`` on all 40,000 source training images
    (no selection, so no validation split is needed), then tested once on the 8,000 source
    test images.
    """

    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.learning_rate, float) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive float, got {self.learning_rate!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "cnn_trunk pretrained on CIFAR-10 minus cat and dog", "epochs": self.epochs,
                "batch_size": self.batch_size, "learning_rate": self.learning_rate, "seed": self.seed,
                "source_classes": list(SOURCE_CLASSES), "version": _CACHE_VERSION}


def _source_network(spec: PretrainSpec):
    """Trunk → Dense(8, softmax), not compiled (its saved weights then hold no optimizer state)."""
    import keras

    from hqc_course.models import create_cnn_trunk

    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        create_cnn_trunk((32, 32, 3), seed=spec.seed),
        keras.layers.Dense(len(SOURCE_CLASSES), activation="softmax",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=spec.seed * 1000 + 9),
                           name="source_classes"),
    ], name="source_classifier")


def trunk_paths(spec: PretrainSpec, fingerprint: Any) -> tuple[Path, Path]:
    """``<cache folder>/transfer_trunk_<fingerprint>.weights.h5`` (the trunk's weights) and its ``.json`` record (spec,
    data, the weights' sha256, the pretraining's cost and accuracy)."""
    key = _digest({"spec": spec.to_dict(), "data": fingerprint.to_dict()})[:16]
    base = cache_dir() / f"transfer_trunk_{key}"
    return base.with_name(base.name + ".weights.h5"), base.with_name(base.name + ".json")


def _read_trunk(spec: PretrainSpec, fingerprint: Any) -> tuple[Any, dict[str, Any] | None, str]:
    weights, record_path = trunk_paths(spec, fingerprint)
    if not weights.exists() or not record_path.exists():
        return None, None, "absent"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None, None, "its record is unreadable"
    if record.get("spec") != spec.to_dict() or record.get("data") != fingerprint.to_dict():
        return None, None, "made for another recipe or other data"
    if file_sha256(weights) != record.get("weights_sha256"):
        return None, None, "the weights' checksum differs (corrupt or replaced)"
    network = _source_network(spec)
    try:
        network.load_weights(weights)
    except Exception as error:  # noqa: BLE001 - an unloadable file is retrained, never trusted
        return None, None, f"unloadable ({type(error).__name__})"
    return network, record, ""


#: threads of the process that pretrains the trunk: always one, so that the same recipe gives the same weights
#: (byte for byte) in a notebook, on a benchmark worker or on a reader's laptop, whatever their cores
PRETRAIN_THREADS = 1


def _one_thread_process(threads: int) -> None:
    """In the fresh pretraining process: fix TensorFlow's thread pools before its first operation."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def _pretrain_and_cache(spec: PretrainSpec, images: TransferImages | None, verbose: int, why: str) -> None:
    """Pretrain the source network and write its cache (weights, then the record); run in a fresh process."""
    from hqc_course.files import atomic_write_text
    from hqc_course.models import compile_classifier
    from hqc_course.reproducibility import set_seed
    from hqc_course.training import EpochTimer

    images = images or load_transfer_images()
    set_seed(spec.seed)
    network = _source_network(spec)
    model = compile_classifier(network, spec.learning_rate)
    timer = EpochTimer()
    start = time.perf_counter()
    history = model.fit(images.source_x_train, images.source_y_train, epochs=spec.epochs,
                        batch_size=spec.batch_size, verbose=verbose, callbacks=[timer])
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(images.source_x_test, images.source_y_test, batch_size=256, verbose=0)
    weights, record_path = trunk_paths(spec, images.fingerprint)
    try:
        with atomic_path(weights, suffix=".weights.h5") as tmp:
            plain = _source_network(spec)  # the same weights without the optimizer's state
            plain.set_weights(network.get_weights())
            plain.save_weights(tmp, overwrite=True)
    except OSError as error:
        raise cache_write_error(weights, error) from error
    record = {"spec": spec.to_dict(), "data": images.fingerprint.to_dict(), "data_name": images.name,
              "weights_sha256": file_sha256(weights), "seconds": round(seconds, 1),
              "threads": PRETRAIN_THREADS, "epoch_seconds": [round(s, 2) for s in timer.seconds],
              "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
              "source_test_accuracy": float(accuracy), "source_test_loss": float(loss),
              "source_train_images": int(len(images.source_y_train)),
              "source_test_images": int(len(images.source_y_test)),
              "status": "trained" if why == "absent" else f"retrained ({why})"}
    atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")


def pretrained_network(spec: PretrainSpec = PretrainSpec(), images: TransferImages | None = None,
                       retrain: bool = False, verbose: int = 0):
    """The 8-class network (trunk → Dense(8, softmax)) pretrained on the source classes; cached.

    Introduced in notebook 11. Returns ``(network, record)``: ``record`` holds the weights'
    sha256, the pretraining's seconds, per-epoch history and the accuracy on the 8,000 source
    test images, and ``"status"`` (``"cache"``, ``"trained"``, or ``"retrained (<why>)"``). The
    cache is ``<cache folder>/transfer_trunk_<fingerprint>.weights.h5`` (:func:`hqc_course.settings.cache_dir`);
    the fingerprint hashes the recipe and the data's fingerprint, and the record stores the
    weights' sha256, checked at every load.

    The pretraining runs in a fresh process with :data:`PRETRAIN_THREADS` thread (TensorFlow's
    thread pools can only be set before its first operation): with more threads, the order of
    floating-point sums depends on the cores, and the same recipe gave a notebook and the
    benchmark two different trunks. Weights are written to a temporary file and then renamed,
    and the record is written last, so a killed run leaves no cache that looks complete.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from hqc_course.data import data_fingerprint

    fingerprint = images.fingerprint if images is not None else data_fingerprint("cifar10")
    why = "retrain=True"
    if not retrain:
        network, record, why = _read_trunk(spec, fingerprint)
        if network is not None:
            return network, {**record, "status": "cache"}
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread_process,
                             initargs=(PRETRAIN_THREADS,)) as pool:
        pool.submit(_pretrain_and_cache, spec, images, verbose, why).result()
    network, record, problem = _read_trunk(spec, fingerprint)
    if network is None:
        raise RuntimeError(f"the pretrained trunk was written but cannot be read back: {problem}")
    return network, record


def pretrained_trunk(spec: PretrainSpec = PretrainSpec(), images: TransferImages | None = None,
                     retrain: bool = False, verbose: int = 0):
    """The trunk of :func:`pretrained_network`, frozen: ``(trunk, record)``. Introduced in notebook 11."""
    network, record = pretrained_network(spec, images, retrain, verbose)
    trunk = network.get_layer("cnn_trunk")
    trunk.trainable = False
    return trunk, record


# ----------------------------------------------------------------- features
def _features_path(meta: dict[str, Any]) -> Path:
    return cache_dir() / f"transfer_features_{_digest(meta)[:16]}.npz"


def trunk_features(trunk, record: dict[str, Any], images: TransferImages | None = None,
                   cache: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The frozen trunk's 128 features of every cat and dog image, computed once and cached.

    Introduced in notebook 11. Returns ``({"x_train", "y_train", "x_test", "y_test"}, info)``, ``info`` as
    :func:`hqc_course.cache.cached_arrays` gives it (``"status"``: ``"hit"``, ``"built"``, ``"rebuilt (<why>)"``
    or ``"off"``). The cache file's name hashes the trunk's weights (their sha256), the data's
    fingerprint and the recipe, which its record repeats; a checksum of the features is checked, and
    any mismatch or corruption rebuilds the file (written atomically).
    """
    from hqc_course.data import data_fingerprint

    fingerprint = images.fingerprint if images is not None else data_fingerprint("cifar10")
    meta = {"version": _FEATURES_VERSION, "weights_sha256": record["weights_sha256"], "data": fingerprint.to_dict(),
            "classes": list(TARGET_CLASSES), "layer": "cnn_trunk/features"}

    def build() -> dict[str, np.ndarray]:
        nonlocal images
        images = images or load_transfer_images()
        return {"x_train": trunk.predict(images.target_x_train, batch_size=256, verbose=0).astype(np.float32),
                "y_train": images.target_y_train.astype(np.int64),
                "x_test": trunk.predict(images.target_x_test, batch_size=256, verbose=0).astype(np.float32),
                "y_test": images.target_y_test.astype(np.int64)}

    return cached_arrays(_features_path(meta), meta, build, use_cache=cache)


def target_dataset(features: dict[str, np.ndarray], n_train: int, n_val: int, n_test: int | None, seed: int,
                   name: str, fingerprint: Any, source: str = "", standardize: bool = True):
    """A :class:`hqc_course.data.Dataset` of trunk features: ``n_train`` / ``n_val`` stratified from the 10,000
    cat and dog training images with ``seed`` (:func:`hqc_course.data.stratified_split`), and ``n_test`` of the
    2,000 test images (``None``: all).

    With ``standardize`` (the default, used by every head alike) the features are prepared from the
    *training* split alone, with scikit-learn: features that are constant on it are dropped
    (``VarianceThreshold``: the trunk's ReLU units that never fire on these images carry nothing a
    head could learn, and dividing by their zero spread would blow up any validation or test image
    where they do fire), and the others are shifted and scaled to mean 0 and standard deviation 1
    (``StandardScaler``: the features are unbounded and on different scales, and a linear head then
    converges slowly). The dataset's ``notes`` say how many were dropped.

    Introduced in notebook 11.
    """
    from hqc_course.data import Dataset, stratified_split

    y, yt = features["y_train"], features["y_test"]
    n_test = len(yt) if n_test is None else n_test
    for label, value, high in (("n_train", n_train, len(y) - 2), ("n_val", n_val, len(y) - 2),
                               ("n_test", n_test, len(yt))):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 2 <= value <= high:
            raise ValueError(f"{label}={value!r} is impossible here: allowed 2 to {high}")
    if n_train + n_val > len(y):
        raise ValueError(f"n_train + n_val = {n_train + n_val} exceeds the {len(y)} cat and dog training images")
    train, val = stratified_split(y, n_train, n_val, seed)
    test = np.sort(stratified_split(yt, n_test, 0, seed)[0]) if n_test < len(yt) else np.arange(len(yt))
    x_train, x_val, x_test = features["x_train"][train], features["x_train"][val], features["x_test"][test]
    notes = ["features of the frozen trunk pretrained on the 8 other CIFAR-10 classes"]
    if standardize:  # fitted on the training split only
        from sklearn.feature_selection import VarianceThreshold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        prepare = make_pipeline(VarianceThreshold(0.0), StandardScaler()).fit(x_train)
        x_train, x_val, x_test = (prepare.transform(x).astype(np.float32) for x in (x_train, x_val, x_test))
        kept = int(prepare[0].get_support().sum())
        notes.append(f"{features['x_train'].shape[1] - kept} of {features['x_train'].shape[1]} features are constant "
                     f"on the training split and dropped; the other {kept} are standardised with its mean and "
                     "standard deviation")
    return Dataset(name=name, key="cifar10", x_train=x_train, y_train=y[train],
                   x_val=x_val, y_val=y[val], x_test=x_test, y_test=yt[test],
                   class_names=tuple(CIFAR10_CLASSES[c] for c in TARGET_CLASSES), source=source,
                   fingerprint=fingerprint, seed=int(seed), notes=tuple(notes))


# ----------------------------------------------------------------- heads
def create_transfer_head(kind: str, n_features: int = 128, num_classes: int = 2, n_qubits: int = 4,
                         n_layers: int = 3, seed: int = 0, learning_rate: float = 1e-3, *,
                         steps_per_execution: int = 1):
    """A head on the frozen trunk's features (one of :data:`HEADS`). Introduced in notebook 11.

    ``"classical"`` and ``"dressed_quantum"`` share everything but their middle block: the
    QNN (2 angles per qubit per layer) or :class:`hqc_course.layers.RingDense` (2 weights per unit
    per layer), so they have exactly the same number of trainable parameters.
    """
    import keras
    from keras import layers

    from hqc_course.layers import QuantumLayer, RingDense
    from hqc_course.models import compile_classifier

    if kind not in HEADS:
        raise ValueError(f"unknown head {kind!r}: allowed {', '.join(map(repr, HEADS))}")
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"n_features must be a positive integer, got {n_features!r}")

    def init(offset: int):
        return keras.initializers.GlorotUniform(seed=seed * 1000 + offset)

    block = []
    if kind != "linear":
        block = [layers.Dense(n_qubits, kernel_initializer=init(4), name="dress_in"),
                 layers.BatchNormalization(momentum=0.9, name="dress_norm"),
                 layers.Activation("sigmoid", name="dress_sigmoid")]
        if kind == "dressed_quantum":
            block.append(QuantumLayer(n_qubits=n_qubits, n_layers=n_layers, name="quantum",
                                      weights_initializer=keras.initializers.RandomUniform(
                                          0.0, 6.283185307179586, seed=seed * 1000 + 5)))
        else:
            block.append(RingDense(units=n_qubits, n_layers=n_layers, seed=seed * 1000 + 5, name="classical_block"))
    model = keras.Sequential([keras.Input(shape=(n_features,)), *block,
                              layers.Dense(num_classes, activation="softmax", kernel_initializer=init(9),
                                           name="classes")], name=f"head_{kind}")
    return compile_classifier(model, learning_rate, steps_per_execution)


# ----------------------------------------------------------------- benchmark
_memo: dict[str, Any] = {}


def _features_for_benchmark() -> tuple[dict[str, np.ndarray], dict[str, Any], Any, str]:
    """The cat and dog features, once per process (pretraining and extraction only if not cached)."""
    from hqc_course.data import data_fingerprint

    if "features" not in _memo:
        trunk, record = pretrained_trunk()
        features, _ = trunk_features(trunk, record)
        _memo.update(features=features, record=record, fingerprint=data_fingerprint("cifar10"),
                     name=record["data_name"])
    return _memo["features"], _memo["record"], _memo["fingerprint"], _memo["name"]


def test_image_ids(row: Mapping[str, Any]) -> np.ndarray | None:
    """Which cat and dog test image each entry of a transfer run's ``test_correct`` is. Introduced in notebook 11.

    With all 2,000 (the benchmark's setting) every seed tests them in one order: their positions.
    A smaller ``n_test`` draws each seed's own images, which cannot be lined up: None.
    """
    return np.arange(TARGET_TEST_IMAGES) if row["n_test"] == TARGET_TEST_IMAGES else None


def train_benchmark_run(request: Any) -> dict[str, Any]:
    """One run of ``hqc_course.benchmark --config transfer``: a head on the frozen trunk's cat/dog features.

    Introduced in notebook 11. ``request`` is a :class:`hqc_course.runs.RunRequest` whose
    ``options["head"]`` names the head (one of :data:`HEADS`); ``n_train`` and ``n_val`` count
    cat and dog training images, and the test set is the 2,000 cat and dog test images (or
    ``n_test`` of them). The seed fixes the split, the head's initial weights and the batch
    order; the trunk is the same for all.
    """
    import keras

    from hqc_course.reproducibility import set_seed
    from hqc_course.training import result_row, train_and_evaluate

    if request.dataset != "cifar10":
        raise ValueError(f"transfer learning runs on CIFAR-10 only, got dataset {request.dataset!r}")
    head = request.options.get("head")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}: allowed {', '.join(map(repr, HEADS))}")
    if request.n_train is None:
        raise ValueError("n_train=None (all images) is not defined here: give the number of cat and dog images")
    features, record, fingerprint, name = _features_for_benchmark()
    data = target_dataset(features, request.n_train, request.n_val, request.n_test, request.seed, name, fingerprint)
    set_seed(request.seed)
    model = create_transfer_head(head, data.input_shape[0], data.num_classes, seed=request.seed,
                                 learning_rate=request.learning_rate, steps_per_execution=request.steps_per_execution)
    result = train_and_evaluate(model, data, epochs=request.max_epochs, patience=request.patience,
                                batch_size=request.batch_size)
    row = result_row(result, data, request, head=head, trunk_weights_sha256=record["weights_sha256"],
                     trunk_source_test_accuracy=record["source_test_accuracy"])
    keras.backend.clear_session()
    return row
