"""Reading committed results, and the tables the chapters show: summaries, learning curves, the cap share.

Introduced in notebook 06 (summaries) and notebook 07 (the rest).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course import settings
from hqc_course.benchmark.catalogue import TestImages, test_images_of
from hqc_course.benchmark.spec import get_config
from hqc_course.benchmark.stats import accuracy_interval, final_rows
from hqc_course.benchmark.store import export_results, load_results, read_store

__all__ = ["cap_share", "family_table", "learning_curves", "scale_results", "summarize", "tuned_learning_rates"]


def scale_results(results_dir: Path | str | None = None, config: str = "scale") -> dict[str, Any]:
    """The committed results of ``--config <config>``: the export ``benchmark_<config>.json``.

    Introduced in notebook 05 (the learning rates) and read by notebooks 06, 07 and the README.
    While a benchmark still runs, its export is rewritten after every run; if only the store
    (``benchmark_<config>.jsonl``) is there, it is exported in memory. ``"planned_runs"``
    and ``len(rows)`` say how complete it is. ``results_dir`` defaults to the folder the command
    writes to, :func:`hqc_course.settings.benchmark_results_dir`.
    """
    folder = Path(results_dir) if results_dir is not None else settings.benchmark_results_dir()
    export, store = folder / f"benchmark_{config}.json", folder / f"benchmark_{config}.jsonl"
    if export.is_file():
        return load_results(export)
    if store.is_file():
        header, rows, failures = read_store(store)
        return export_results(header, rows, failures, source=store.name)
    raise FileNotFoundError(f"no results of --config {config} in {folder}: run "
                            f"python -m hqc_course.benchmark run --config {config}")


def tuned_learning_rates(dataset: str, results_dir: Path | str | None = None, config: str = "scale",
                         models: Iterable[str] | None = None, size: str | None = None) -> dict[str, float]:
    """The learning rates that ``--config <config>`` chose on validation for ``dataset`` at ``size``, by model.

    Introduced in notebook 05, which shows them. ``size`` defaults to the first size of the
    config that is tuned itself. Raises a clear error if a requested model's tuning is not finished.
    """
    spec = get_config(config)
    size = size or next(s.label for s in spec.sizes if s.lr_from is None)
    results = scale_results(results_dir, config)
    chosen = results["learning_rates"]
    wanted = list(models) if models is not None else list(spec.size(size).models)
    out = {m: chosen[f"{dataset}/{size}/{m}"] for m in wanted if f"{dataset}/{size}/{m}" in chosen}
    missing = [m for m in wanted if m not in out]
    if missing:
        raise RuntimeError(f"the tuning of {', '.join(missing)} on {dataset} at {size} images is not finished in "
                           f"{results.get('store') or config}")
    return out


def summarize(rows: Iterable[dict[str, Any]], confidence: float = 0.95, test_images: TestImages = test_images_of):
    """Per (data, training size, model): runs, mean, std and interval of test accuracy, and costs.

    Introduced in notebook 06. Rows are grouped by the data's *name* (e.g. "CIFAR-10 (JPEG
    copy)"), so results from different data never merge. The interval counts the seeds and, where
    the runs recorded which test images they got right, the test set's sampling of images
    (:func:`~hqc_course.benchmark.stats.accuracy_interval`; ``se seeds`` and ``se test images``
    say how much each adds). Returns a pandas DataFrame.
    """
    import pandas as pd

    final = final_rows(rows)
    if not final:
        raise ValueError("no finished final runs to summarize")
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in final:
        groups.setdefault((r["data_name"], str(r["size"]), r["model"]), []).append(r)
    out = []
    for (data_name, size, model), g in groups.items():
        a = accuracy_interval(g, confidence, test_images)
        out.append({"data": data_name, "dataset": g[0]["dataset"], "size": size,
                    "n_train": int(g[0]["n_train"]), "model": model, "runs": len(g),
                    "mean accuracy": a["mean"], "std": a["std"], "ci low": a["mean"] - a["ci half-width"],
                    "ci high": a["mean"] + a["ci half-width"], "ci half-width": a["ci half-width"],
                    "se seeds": a["se seeds"], "se test images": a["se test images"],
                    "learning rate": float(g[0]["learning_rate"]),
                    "s / epoch": float(np.median([r["seconds_per_epoch"] for r in g])),
                    "epochs run": float(np.median([r["epochs_run"] for r in g])),
                    "trainable params": int(g[0]["trainable_params"])})
    return pd.DataFrame(out)


def learning_curves(rows: Iterable[dict[str, Any]], confidence: float = 0.95):
    """Mean test accuracy ± CI against the number of training images, per data and model (notebook 07)."""
    summary = summarize(rows, confidence)
    return summary.sort_values(["data", "model", "n_train"]).reset_index(drop=True)


def cap_share(rows: Iterable[dict[str, Any]]) -> float:
    """Share of final runs whose early stopping never fired before the epoch cap. Introduced in notebook 07."""
    final = final_rows(rows)
    return float(np.mean([bool(r["hit_cap"]) for r in final])) if final else float("nan")


def family_table(family: Iterable[dict[str, Any]], marks: Iterable[dict[str, Any]] = ()):
    """One family of :func:`~hqc_course.benchmark.stats.judge` as a table, in points. Introduced in notebook 07.

    One row per comparison a − b: where (data, size), the two models, their mean accuracies and
    ``b error`` (100 − b's mean accuracy, the room there is to improve on b), the difference with
    its 95 % and family-level half-widths, the test the plan chose and the seeds' correlation,
    the Holm-adjusted p-values of the difference and of the equivalence test, and ``verdict``,
    the one word every report counts. ``marks`` (rows of
    :func:`~hqc_course.benchmark.stats.pairing_check`) add ``†`` to a verdict that testing
    every cell paired would change. Returns a pandas DataFrame.
    """
    import pandas as pd

    changed = {(m["data"], m["size"], m["a"], m["b"]) for m in marks if m["changed"]}
    out = []
    for c in family:
        dagger = "†" if (c["data"], c["size"], c["a"], c["b"]) in changed else ""
        out.append({"data": c["data"], "size": c["size"], "a": c["a"], "b": c["b"], "seeds": c["seeds"],
                    "a mean": 100 * c["a mean"], "b mean": 100 * c["b mean"], "b error": 100 * (1 - c["b mean"]),
                    "a − b": 100 * c["mean difference"], "± 95%": 100 * c["ci half-width"],
                    "± family": 100 * c["family ci half-width"], "test": c["test"],
                    "correlation": c["correlation"], "holm p": c["holm p value"], "holm tost p": c["holm tost p"],
                    "verdict": c["verdict"] + dagger})
    return pd.DataFrame(out, columns=["data", "size", "a", "b", "seeds", "a mean", "b mean", "b error", "a − b",
                                      "± 95%", "± family", "test", "correlation", "holm p", "holm tost p", "verdict"])
