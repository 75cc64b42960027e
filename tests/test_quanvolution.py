"""hqc_course.quanvolution: the filter is the circuit it claims to be, the controls are fair, the cache is safe."""

import os
from pathlib import Path

import numpy as np
import pytest

from hqc_course import quanvolution as Q
from hqc_course.runs import RunRequest
from hqc_course.settings import ci


def digits(n=6, seed=0, size=28):
    """Digit-like test images: mostly 0, some strokes near 1, a few grey values."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size), dtype=np.float32)
    x[:, 8:20, 10:14] = rng.uniform(0.6, 1.0, (n, 12, 4))
    x[:, 5:7, 5:23] = rng.uniform(0.0, 1.0, (n, 2, 18))
    return x


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HQC_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("patch, seed", [(2, 0), (2, 1), (2, 7), (3, 0), (3, 4)])
def test_exact_simulation_matches_the_pennylane_qnode(patch, seed):
    spec = Q.QuanvSpec(patch, 1, seed)
    pixels = Q.extract_patches(digits(2), patch).reshape(-1, spec.n_qubits).astype(np.float64)
    qnode = np.stack(Q.make_quanv_qnode(spec)(pixels), axis=-1)
    exact = Q._exact_filter(pixels, spec)
    assert np.abs(exact - qnode).max() < 1e-6


def test_gate_by_gate_and_dense_unitary_paths_agree(monkeypatch):
    spec = Q.QuanvSpec(2, 2, 3)
    pixels = np.random.default_rng(1).uniform(0, 1, (50, 4))
    dense = Q._exact_filter(pixels, spec)
    monkeypatch.setattr(Q, "_DENSE_MAX_QUBITS", 0)
    gates = Q._exact_filter(pixels, spec)
    assert np.abs(dense - gates).max() < 1e-12


def test_blank_patch_gives_the_circuit_on_all_zeros():
    # all-zero pixels: the state is |0000>, so ⟨Z_j⟩ = <0|U† Z_j U|0> from the layer's unitary
    spec = Q.QuanvSpec(2, 1, 0)
    u = Q.quanv_unitary(spec)
    probabilities = np.abs(u[:, 0]) ** 2
    expected = probabilities @ Q._z_signs(4)
    out = Q.quanv_features(np.zeros((1, 4, 4)), spec)
    assert out.shape == (1, 2, 2, 4)
    assert np.allclose(out[0, 0, 0], expected, atol=1e-6)


def test_patch_order_is_the_demos():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4) / 15
    p = Q.extract_patches(x, 2)
    j, k = 2, 0  # the demo: [img[j, k], img[j, k + 1], img[j + 1, k], img[j + 1, k + 1]] → out[j // 2, k // 2]
    assert np.array_equal(p[0, j // 2, k // 2], [x[0, j, k], x[0, j, k + 1], x[0, j + 1, k], x[0, j + 1, k + 1]])
    assert Q.extract_patches(np.zeros((1, 28, 28)), 3).shape == (1, 9, 9, 9)


def test_controls_have_the_quantum_filters_shape_and_range():
    x = digits(3)
    raw = Q.space_to_depth(x)
    classical = Q.classical_filter(x, seed=1)
    quantum = Q.quanv_features(x, Q.QuanvSpec(seed=1))
    assert raw.shape == classical.shape == quantum.shape == (3, 14, 14, 4)
    assert np.array_equal(np.sort(raw.ravel()), np.sort(x.ravel()))  # no filter: every pixel, nothing else
    assert np.abs(classical).max() <= 1 and np.abs(quantum).max() <= 1 + 1e-6
    assert np.array_equal(classical, Q.classical_filter(x, seed=1))
    assert not np.allclose(classical, Q.classical_filter(x, seed=2))
    assert not np.allclose(quantum, Q.quanv_features(x, Q.QuanvSpec(seed=2)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_closed_form_is_the_circuit_computed_without_a_simulator(seed):
    spec = Q.QuanvSpec(2, 1, seed)
    terms = Q.closed_form_terms(spec)
    assert len(terms) == 4 and all(set("".join(t)) <= set("IXZ") for t in terms)  # Y has ⟨Y⟩ = 0 here: dropped
    x = digits(4, seed)
    assert np.abs(Q.closed_form_features(x, spec) - Q.quanv_features(x, spec)).max() < 1e-6
    assert np.array_equal(Q.quanv_features(x, spec, method="closed_form"), Q.closed_form_features(x, spec))
    features, info = Q.filter_features("closed_form", x, seed=seed)
    assert np.array_equal(features, Q.closed_form_features(x, spec)) and info["status"] == "not cached"


def test_closed_form_of_seed_0_is_the_one_chapter_10_derives_by_hand():
    terms = Q.closed_form_terms(Q.QuanvSpec(2, 1, 0))
    assert terms[0] == {"ZIIZ": pytest.approx(1.0)} and terms[3] == {"IIIZ": pytest.approx(1.0)}
    assert set(terms[1]) == {"IXII", "IZII"} and set(terms[2]) == {"IIXI", "IIZI"}


@pytest.mark.parametrize("call, message", [
    (lambda: Q.QuanvSpec(patch=0), r"patch=0 is out of range"),
    (lambda: Q.closed_form_terms(Q.QuanvSpec(patch=3)), r"9 qubits: the closed form"),
    (lambda: Q.QuanvSpec(seed=-1), r"seed must be a non-negative integer"),
    (lambda: Q.quanv_features(np.full((1, 28, 28), 255.0)), r"pixel values must lie in \[0, 1\]"),
    (lambda: Q.quanv_features(np.zeros((28, 28))), r"images must have shape"),
    (lambda: Q.quanv_features(np.zeros((1, 28, 28)), method="qiskit"), r"unknown method 'qiskit'"),
    (lambda: Q.filter_features("sobel", np.zeros((1, 28, 28))), r"unknown filter 'sobel'"),
    (lambda: Q.classical_filter(np.zeros((1, 28, 28)), nonlinearity="relu"), r"unknown nonlinearity 'relu'"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cache_builds_then_hits_in_any_order(cache):
    x = digits(5)
    spec = Q.QuanvSpec(seed=3)
    first, info = Q.cached_quanv_features(x, spec, {"file": "test"})
    assert info["status"] == "built" and (cache / info["file"]).exists()
    again, info2 = Q.cached_quanv_features(x, spec, {"file": "test"})
    assert info2["status"] == "hit" and np.array_equal(first, again)
    order = np.array([3, 0, 4, 1, 2])
    shuffled, info3 = Q.cached_quanv_features(x[order], spec, {"file": "test"})
    assert info3["status"] == "hit" and info3["file"] == info["file"]
    assert np.array_equal(shuffled, first[order])
    assert np.allclose(first, Q.quanv_features(x, spec), atol=0)
    assert [p.name for p in cache.iterdir()] == [info["file"]]  # no temporary files left behind


def test_cache_name_changes_with_circuit_data_and_images(cache):
    x = digits(4)
    base = Q.cached_quanv_features(x, Q.QuanvSpec(seed=0), {"file": "a"})[1]["file"]
    assert Q.cached_quanv_features(x, Q.QuanvSpec(seed=1), {"file": "a"})[1]["file"] != base
    assert Q.cached_quanv_features(x, Q.QuanvSpec(seed=0), {"file": "b"})[1]["file"] != base
    assert Q.cached_quanv_features(x[:3], Q.QuanvSpec(seed=0), {"file": "a"})[1]["file"] != base
    assert "seed" not in base and base.startswith("quanv_p2_q4_n4_")


def test_corrupt_or_tampered_cache_is_rebuilt(cache):
    x = digits(4)
    spec = Q.QuanvSpec()
    good, info = Q.cached_quanv_features(x, spec, None)
    path = cache / info["file"]
    path.write_bytes(b"not an npz file")
    out, info = Q.cached_quanv_features(x, spec, None)
    assert info["status"].startswith("rebuilt (unreadable") and np.array_equal(out, good)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["features"] = arrays["features"] + 0.5  # wrong numbers, old checksum
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    out, info = Q.cached_quanv_features(x, spec, None)
    assert info["status"] == "rebuilt (checksum mismatch (corrupt))" and np.array_equal(out, good)
    assert Q.cached_quanv_features(x, spec, None)[1]["status"] == "hit"


def test_a_failed_write_leaves_no_file(cache, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        Q.cached_quanv_features(digits(2), Q.QuanvSpec(), None)
    assert list(Path(cache).iterdir()) == []


def test_an_unwritable_cache_folder_is_named(monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("HQC_CACHE_DIR", str(blocker / "cache"))  # a folder inside a file: cannot be created
    with pytest.raises(OSError, match=r"cannot write the cache file .*a_file/cache.*set HQC_CACHE_DIR to a writable"):
        Q.cached_quanv_features(digits(2), Q.QuanvSpec(), None)


def test_precompute_rate_reports_a_spread():
    r = Q.measure_precompute_rate(Q.QuanvSpec(), digits(3), repeats=2)
    assert r["qubits"] == 4 and r["patches per image"] == 196 and len(r["seconds"]) == 2
    assert r["images/s (min)"] <= r["images/s (median)"] <= r["images/s (max)"]


def test_classifier_is_the_same_small_linear_readout_for_every_control():
    from hqc_course.models import trainable_params

    model = Q.create_quanv_classifier((14, 14, 4), 10, seed=0)
    assert trainable_params(model) == 14 * 14 * 4 * 10 + 10


def _mnist_available():
    from hqc_course.data import dataset_available

    return dataset_available("mnist")[0]


@pytest.mark.skipif(not ci() and not _mnist_available(), reason="MNIST not available")
def test_benchmark_run_returns_the_benchmarks_row(cache):
    def request(filter_name, dataset="mnist"):
        return RunRequest(dataset=dataset, n_train=40, n_val=20, n_test=60, seed=0, learning_rate=3e-3, max_epochs=2,
                          patience=1, options={"filter": filter_name})

    row = Q.train_benchmark_run(request("quantum"))
    needed = {"n_train", "n_val", "n_test", "test_accuracy", "test_loss", "val_accuracy", "val_loss",
              "train_accuracy", "best_epoch", "epochs_run", "hit_cap", "seconds_per_epoch", "epoch_seconds",
              "inference_seconds", "trainable_params", "data_name", "data_fingerprint"}
    assert needed <= set(row)
    assert (row["n_train"], row["n_val"], row["n_test"]) == (40, 20, 60)
    assert row["trainable_params"] == 7850 and row["epochs_run"] <= 2 and row["filter"] == "quantum"
    assert row["feature_cache"] == {"train": "built", "val": "built", "test": "built"}
    assert Q.train_benchmark_run(request("quantum"))["feature_cache"]["test"] == "hit"
    closed = Q.train_benchmark_run(request("closed_form"))  # the same features, so the same run
    assert closed["test_accuracy"] == row["test_accuracy"] and closed["filter"] == "closed_form"
    with pytest.raises(ValueError, match="MNIST only"):
        Q.train_benchmark_run(request("quantum", dataset="cifar10"))
    with pytest.raises(ValueError, match="unknown filter 'sobel'"):
        Q.train_benchmark_run(request("sobel"))
