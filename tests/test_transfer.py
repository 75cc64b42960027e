"""hqc_course.transfer: fair heads, honest splits, and caches that are never trusted blindly."""

import numpy as np
import pytest

from hqc_course import transfer as T
from hqc_course.data import DataFingerprint, dataset_available
from hqc_course.runs import RunRequest
from hqc_course.settings import ci

FAKE_FP = DataFingerprint("cifar10", "jpeg-copy", "folder", "cifar10_jpeg.npz", "0" * 64)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HQC_CACHE_DIR", str(tmp_path))
    T._memo.clear()
    yield tmp_path
    T._memo.clear()


def fake_images(n_source=96, n_target=64, seed=0):
    rng = np.random.default_rng(seed)

    def imgs(n):
        return rng.uniform(0, 1, (n, 32, 32, 3)).astype(np.float32)

    return T.TransferImages("CIFAR-10 (JPEG copy)", FAKE_FP, "test images",
                            imgs(n_source), rng.integers(0, 8, n_source), imgs(32), rng.integers(0, 8, 32),
                            imgs(n_target), np.arange(n_target) % 2, imgs(16), np.arange(16) % 2)


def fake_features(n_train=200, n_test=40, seed=0):
    rng = np.random.default_rng(seed)
    y, yt = np.arange(n_train) % 2, np.arange(n_test) % 2
    return {"x_train": (rng.normal(size=(n_train, 128)) + y[:, None]).astype(np.float32), "y_train": y,
            "x_test": (rng.normal(size=(n_test, 128)) + yt[:, None]).astype(np.float32), "y_test": yt}


def test_the_classical_head_has_the_dressed_circuits_parameter_count():
    from hqc_course.models import trainable_params

    counts = {kind: trainable_params(T.create_transfer_head(kind, 128, 2, seed=0)) for kind in T.HEADS}
    assert counts["linear"] == 128 * 2 + 2
    # Dense(128→4) + BatchNorm (γ, β) + 24 angles or 24 RingDense weights + Dense(4→2)
    assert counts["dressed_quantum"] == counts["classical"] == 128 * 4 + 4 + 8 + 24 + 4 * 2 + 2
    quantum = T.create_transfer_head("dressed_quantum", 128, 2, seed=0)
    assert [layer.name for layer in quantum.layers] == ["dress_in", "dress_norm", "dress_sigmoid", "quantum", "classes"]
    assert quantum.get_layer("quantum").spec.n_qubits == 4 and quantum.output_shape == (None, 2)


def test_target_split_is_stratified_disjoint_and_seeded():
    f = fake_features()
    d = T.target_dataset(f, 120, 40, None, seed=3, name="CIFAR-10 (JPEG copy)", fingerprint=FAKE_FP)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (120, 40, 40)
    assert d.y_train.sum() == 60 and d.y_val.sum() == 20  # half cats, half dogs
    rows = {tuple(r) for r in d.x_train} & {tuple(r) for r in d.x_val}
    assert not rows  # no image in both
    again = T.target_dataset(f, 120, 40, None, seed=3, name="x", fingerprint=FAKE_FP)
    assert np.array_equal(again.x_train, d.x_train)
    other = T.target_dataset(f, 120, 40, None, seed=4, name="x", fingerprint=FAKE_FP)
    assert not np.array_equal(other.x_train, d.x_train)
    assert d.class_names == ("cat", "dog") and d.input_shape == (128,)


@pytest.mark.parametrize("sizes, message", [((150, 60, None), r"exceeds the 200 cat and dog"),
                                            ((1, 40, None), r"n_train=1 is impossible"),
                                            ((100, 40, 41), r"n_test=41 is impossible")])
def test_impossible_sizes_are_named(sizes, message):
    with pytest.raises(ValueError, match=message):
        T.target_dataset(fake_features(), *sizes, seed=0, name="x", fingerprint=FAKE_FP)


def test_unknown_head_and_bad_recipe_are_named():
    with pytest.raises(ValueError, match=r"unknown head 'mlp'"):
        T.create_transfer_head("mlp")
    with pytest.raises(ValueError, match=r"epochs must be a positive integer"):
        T.PretrainSpec(epochs=0)


def test_pretrained_trunk_is_cached_checked_and_retrained_when_corrupt(cache):
    images = fake_images()
    spec = T.PretrainSpec(epochs=1, batch_size=32)
    trunk, record = T.pretrained_trunk(spec, images)
    assert record["status"] == "trained" and not trunk.trainable
    assert record["source_train_images"] == 96 and 0 <= record["source_test_accuracy"] <= 1
    weights, record_path = T.trunk_paths(spec, FAKE_FP)
    assert weights.exists() and record_path.exists()
    assert sorted(p.name for p in cache.iterdir()) == sorted([weights.name, record_path.name])  # no temp files
    x = images.target_x_test[:4]
    cached, record2 = T.pretrained_trunk(spec, images)
    assert record2["status"] == "cache"
    assert np.allclose(cached.predict(x, verbose=0), trunk.predict(x, verbose=0), atol=1e-6)
    weights.write_bytes(weights.read_bytes()[:-100] + b"x" * 100)
    _, record3 = T.pretrained_trunk(spec, images)
    assert record3["status"] == "retrained (the weights' checksum differs (corrupt or replaced))"
    assert T.trunk_paths(T.PretrainSpec(epochs=2), FAKE_FP)[0] != weights


def test_trunk_features_are_cached_and_rebuilt_when_tampered(cache):
    images = fake_images()
    trunk, record = T.pretrained_trunk(T.PretrainSpec(epochs=1, batch_size=32), images)
    f, info = T.trunk_features(trunk, record, images)
    assert info["status"] == "built" and f["x_train"].shape == (64, 128) and f["x_test"].shape == (16, 128)
    again, info = T.trunk_features(trunk, record, images)
    assert info["status"] == "hit" and np.array_equal(again["x_train"], f["x_train"])
    path = cache / info["file"]
    with np.load(path) as stored:
        arrays = {k: stored[k] for k in stored.files}
    arrays["x_train"] = arrays["x_train"] * 2
    with open(path, "wb") as out:
        np.savez(out, **arrays)
    rebuilt, info = T.trunk_features(trunk, record, images)
    assert info["status"].startswith("rebuilt") and np.array_equal(rebuilt["x_train"], f["x_train"])
    other = dict(record, weights_sha256="f" * 64)  # another trunk: another file
    assert T.trunk_features(trunk, other, images)[1]["file"] != info["file"]


def test_benchmark_run_returns_the_benchmarks_row(cache):
    T._memo.update(features=fake_features(), record={"weights_sha256": "a" * 64, "source_test_accuracy": 0.7},
                   fingerprint=FAKE_FP, name="CIFAR-10 (JPEG copy)")

    def request(head, dataset="cifar10"):
        return RunRequest(dataset=dataset, n_train=120, n_val=40, n_test=None, seed=0, learning_rate=3e-3,
                          max_epochs=2, patience=1, options={"head": head})

    row = T.train_benchmark_run(request("linear"))
    needed = {"n_train", "n_val", "n_test", "test_accuracy", "test_loss", "val_accuracy", "val_loss",
              "train_accuracy", "best_epoch", "epochs_run", "hit_cap", "seconds_per_epoch", "epoch_seconds",
              "inference_seconds", "trainable_params", "data_name", "data_fingerprint"}
    assert needed <= set(row)
    assert (row["n_train"], row["n_val"], row["n_test"]) == (120, 40, 40)
    assert row["data_fingerprint"] == FAKE_FP.to_dict() and row["data_name"] == "CIFAR-10 (JPEG copy)"
    assert row["trainable_params"] == 258 and row["head"] == "linear"
    with pytest.raises(ValueError, match="CIFAR-10 only"):
        T.train_benchmark_run(request("linear", dataset="mnist"))
    with pytest.raises(ValueError, match="unknown head 'svm'"):
        T.train_benchmark_run(request("svm"))


def test_features_constant_on_the_training_split_are_dropped_not_divided_by_zero():
    f = fake_features(n_train=200, n_test=40)
    dead = [3, 50, 99]  # ReLU units that never fire on the training images ...
    f["x_train"][:, dead] = 0.0
    f["x_test"][:5, dead] = 2.0  # ... but do on a few test images
    d = T.target_dataset(f, 120, 40, None, seed=0, name="x", fingerprint=FAKE_FP)
    assert d.input_shape == (128 - len(dead),)
    assert any(f"{len(dead)} of 128 features are constant" in note for note in d.notes)
    assert np.abs(d.x_test).max() < 10 and np.abs(d.x_val).max() < 10  # standardised, no division by ~0
    assert np.allclose(d.x_train.mean(axis=0), 0, atol=1e-5) and np.allclose(d.x_train.std(axis=0), 1, atol=1e-4)
    raw = T.target_dataset(f, 120, 40, None, seed=0, name="x", fingerprint=FAKE_FP, standardize=False)
    assert raw.input_shape == (128,) and np.array_equal(raw.x_test, f["x_test"])


@pytest.mark.slow
@pytest.mark.skipif(not ci() and not dataset_available("cifar10")[0], reason="CIFAR-10 not available")
def test_real_split_has_the_8_source_classes_and_cat_vs_dog():
    images = T.load_transfer_images()
    assert images.counts() == {"source train": 40000, "source test": 8000, "target train": 10000,
                               "target test": 2000}
    assert images.target_names == ("cat", "dog") and len(images.source_names) == 8
    assert np.bincount(images.source_y_train).tolist() == [5000] * 8
    assert np.bincount(images.target_y_test).tolist() == [1000, 1000]
