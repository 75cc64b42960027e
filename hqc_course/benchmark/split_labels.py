"""The test splits' labels, recorded beside the results, so that runs can be lined up image by image without the data.

Introduced in notebook 07. Each run holds its test images in the order its seed shuffled them
(:func:`hqc_course.data.test_image_ids`), and that order follows from the split's labels and the seed
alone. ``test_labels.json`` in the results folder records the labels of every data file the results
were computed on, under the file's sha256, so a reader who has other data (the original CIFAR-10
where the results used the JPEG copy) or none can still line the runs up. ``python -m
hqc_course.benchmark labels`` writes it from the data on this machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course import settings
from hqc_course.data import DATASETS, data_fingerprint, test_image_ids, test_labels
from hqc_course.files import atomic_write_text

__all__ = ["LABELS_FILE", "loaded_test_images", "record_test_labels", "recorded_test_labels"]

LABELS_FILE = "test_labels.json"


def _path(folder: Path | str | None) -> Path:
    return Path(folder if folder is not None else settings.benchmark_results_dir()) / LABELS_FILE


def recorded_test_labels(sha256: str, folder: Path | str | None = None) -> np.ndarray | None:
    """The recorded test labels of the data file with this sha256 (None: not recorded)."""
    path = _path(folder)
    if not path.is_file():
        return None
    entry = json.loads(path.read_text()).get(sha256)
    return None if entry is None else np.array([int(c) for c in entry["labels"]], dtype=np.int64)


def record_test_labels(names: Iterable[str] = DATASETS, folder: Path | str | None = None) -> Path:
    """Record the test labels of the data here for ``names`` in ``folder``'s labels file; returns its path.

    Entries already there for other data are kept; the file is replaced atomically.
    """
    path = _path(folder)
    recorded = json.loads(path.read_text()) if path.is_file() else {}
    for name in names:
        fingerprint = data_fingerprint(name)
        labels = test_labels(name, sha256=fingerprint.sha256)
        if labels.max() > 9:
            raise ValueError(f"{name}: labels above 9 cannot be written one digit each")
        recorded[fingerprint.sha256] = {"dataset": name, "variant": fingerprint.variant, "file": fingerprint.file,
                                        "labels": "".join(map(str, labels.tolist()))}
    atomic_write_text(path, json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")
    return path


def loaded_test_images(row: Mapping[str, Any]) -> np.ndarray:
    """The official test-split index of each image behind ``row["test_correct"]``. Introduced in notebook 07.

    For the trainers that load their data with :func:`hqc_course.data.load_dataset`: the recorded
    labels of the data the row was computed on, or, if none are recorded, that data on this machine.
    """
    sha = row["data_fingerprint"]["sha256"]
    labels = recorded_test_labels(sha)
    if labels is None:
        labels = test_labels(row["dataset"], sha256=sha)
    return test_image_ids(labels, row["n_test"], row["seed"])
