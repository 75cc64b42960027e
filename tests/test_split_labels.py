"""The test splits' labels recorded beside the results: readers line runs up without the data."""

import json
from pathlib import Path

import numpy as np
import pytest

from hqc_course import data as D
from hqc_course.benchmark import split_labels
from hqc_course.benchmark.store import read_store
from hqc_course.data import DATASETS, data_fingerprint, dataset_available
from hqc_course.settings import ci

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_every_stored_run_that_names_its_test_images_has_its_data_labels_recorded():
    recorded = json.loads((RESULTS / split_labels.LABELS_FILE).read_text())
    missing, checked = set(), 0
    for store in sorted(RESULTS.glob("benchmark_*.jsonl")):
        _, rows, _ = read_store(store)
        for r in rows:
            if "test_correct" in r and r["model"].split("_")[0] != "transfer":  # transfer runs: one fixed order
                checked += 1
                if r["data_fingerprint"]["sha256"] not in recorded:
                    missing.add((store.name, r["dataset"], r["data_fingerprint"]["sha256"][:12]))
    assert checked > 0 and not missing, f"run `python -m hqc_course.benchmark labels` with that data: {missing}"


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.skipif(not ci() and not all(dataset_available(n)[0] for n in DATASETS), reason="the datasets are not here")
def test_the_recorded_labels_are_the_data_s_own(name):
    fingerprint = data_fingerprint(name)
    recorded = split_labels.recorded_test_labels(fingerprint.sha256, RESULTS)
    assert recorded is not None, f"no labels recorded for {name} ({fingerprint.variant}, {fingerprint.sha256[:12]})"
    np.testing.assert_array_equal(recorded, D.test_labels(name, sha256=fingerprint.sha256))


def test_runs_are_lined_up_from_the_recorded_labels_without_the_data(tmp_path, monkeypatch):
    labels = np.repeat(np.arange(10), 6)
    (tmp_path / split_labels.LABELS_FILE).write_text(json.dumps(
        {"ab" * 32: {"dataset": "mnist", "variant": "x", "file": "x", "labels": "".join(map(str, labels))}}))
    monkeypatch.setenv("HQC_BENCHMARK_RESULTS_DIR", str(tmp_path))

    def no_data(*args, **kwargs):
        raise AssertionError("the data were read although their labels are recorded")

    monkeypatch.setattr(split_labels, "test_labels", no_data)
    row = {"dataset": "mnist", "n_test": 60, "seed": 3, "data_fingerprint": {"sha256": "ab" * 32}}
    np.testing.assert_array_equal(split_labels.loaded_test_images(row), D.test_image_ids(labels, 60, 3))
    with pytest.raises(AssertionError, match="although their labels are recorded"):
        split_labels.loaded_test_images({**row, "data_fingerprint": {"sha256": "cd" * 32}})
