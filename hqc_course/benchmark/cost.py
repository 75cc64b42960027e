"""How long a run will take: a cost model that learns from the runs already finished.

Introduced in notebook 07 (``python -m hqc_course.benchmark plan`` prints the estimated CPU-hours;
the progress lines' ETA uses it). A run costs its epochs times the images it passes per epoch
(the training split, plus the validation split, which is only predicted and costs about a
third as much per image) times a per-image cost per dataset; data loading and the fresh
process add a fixed cost.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from hqc_course.benchmark.plan import RunKey, epoch_cap
from hqc_course.benchmark.spec import BenchmarkConfig

__all__ = ["estimate_seconds"]

#: measured per-image cost of one training epoch (ms, TensorFlow, batch 32, one thread): the
#: median of results/benchmark_scale_v1.json's runs; refined by the rows of the store when it has any
MS_PER_IMAGE_EPOCH = {"mnist": 0.45, "cifar10": 0.55}
_FULL = {"mnist": 60000, "cifar10": 50000}
_START_SECONDS = 6.0  # a fresh process: Python, TensorFlow and the data


def _images(config: BenchmarkConfig, key: RunKey) -> float:
    size = config.size(key.size)
    n_train = size.n_train if size.n_train is not None else _FULL.get(key.dataset, 50000) - size.n_val
    return n_train + size.n_val / 3


def estimate_seconds(config: BenchmarkConfig, key: RunKey, rows: Iterable[dict[str, Any]] = ()) -> float:
    """Estimated seconds of run ``key``: measured costs from ``rows`` where there are any, defaults otherwise.

    Introduced in notebook 07. The per-image cost is the median over finished rows of the same
    dataset; the epochs, the median over finished rows of the same phase, dataset and size (else
    a third of the cap, at least 20).
    """
    rows = [r for r in rows if r.get("seconds_per_epoch") and r.get("n_train")]
    same = [r for r in rows if r["dataset"] == key.dataset]
    if same:
        ms = statistics.median(1000 * r["seconds_per_epoch"] / (r["n_train"] + r["n_val"] / 3) for r in same)
    else:
        ms = MS_PER_IMAGE_EPOCH.get(key.dataset, 0.5)
    ms *= 1.3 if "8q" in key.model else 1.0
    like = [r["epochs_run"] for r in rows if (r["phase"], r["dataset"], str(r["size"])) ==
            (key.phase, key.dataset, key.size)]
    epochs = statistics.median(like) if like else max(20, epoch_cap(config, key) / 3)
    return _START_SECONDS + epochs * _images(config, key) * ms / 1000
