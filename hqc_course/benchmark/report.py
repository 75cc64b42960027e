"""Reading committed results, and the tables the chapters show: summaries, learning curves, the cap share.

Introduced in notebook 06 (summaries) and notebook 07 (the rest).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course import settings
from hqc_course.benchmark.spec import get_config
from hqc_course.benchmark.stats import final_rows, t_interval
from hqc_course.benchmark.store import export_results, load_results, read_store

__all__ = ["cap_share", "learning_curves", "scale_results", "summarize", "tuned_learning_rates"]


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


def summarize(rows: Iterable[dict[str, Any]], confidence: float = 0.95):
    """Per (data, training size, model): runs, mean, std and t-interval of test accuracy, and costs.

    Introduced in notebook 06. Rows are grouped by the data's *name* (e.g. "CIFAR-10 (JPEG
    copy)"), so results from different data never merge. Returns a pandas DataFrame.
    """
    import pandas as pd

    df = pd.DataFrame(final_rows(rows))
    if df.empty:
        raise ValueError("no finished final runs to summarize")
    df["size"] = df["size"].astype(str)
    out = []
    for (data_name, size, model), g in df.groupby(["data_name", "size", "model"], sort=False):
        if len(g) >= 2:
            mean, std, half = t_interval(g["test_accuracy"].to_numpy(), confidence)
        else:  # one finished seed so far: a mean, but no spread and no interval
            mean, std, half = float(g["test_accuracy"].iloc[0]), float("nan"), float("nan")
        out.append({"data": data_name, "dataset": g["dataset"].iloc[0], "size": size,
                    "n_train": int(g["n_train"].iloc[0]), "model": model, "runs": len(g),
                    "mean accuracy": mean, "std": std, "ci low": mean - half, "ci high": mean + half,
                    "ci half-width": half, "learning rate": float(g["learning_rate"].iloc[0]),
                    "s / epoch": float(g["seconds_per_epoch"].median()),
                    "epochs run": float(g["epochs_run"].median()),
                    "trainable params": int(g["trainable_params"].iloc[0])})
    return pd.DataFrame(out)


def learning_curves(rows: Iterable[dict[str, Any]], confidence: float = 0.95):
    """Mean test accuracy ± CI against the number of training images, per data and model (notebook 07)."""
    summary = summarize(rows, confidence)
    return summary.sort_values(["data", "model", "n_train"]).reset_index(drop=True)


def cap_share(rows: Iterable[dict[str, Any]]) -> float:
    """Share of final runs whose early stopping never fired before the epoch cap. Introduced in notebook 07."""
    final = final_rows(rows)
    return float(np.mean([bool(r["hit_cap"]) for r in final])) if final else float("nan")
