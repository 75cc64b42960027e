"""An honest benchmark: hybrid vs classical twin vs seed CNN vs ablations, over seeds.

Introduced in notebook 07. Command line::

    python -m helpers.benchmark --config quick            # CI size, a few minutes
    python -m helpers.benchmark --config full             # the committed results (see notebook 07)

Method (why each piece is there is explained in notebook 07):

* every model is trained with the same recipe (:func:`helpers.training.train_and_evaluate`),
  early stopping on the validation split, and tested once;
* every (dataset, model) pair is repeated over several seeds; the seed fixes the data
  subset, the initial weights and the batch order, and the same seeds are used for
  every model, so hybrid and twin can be compared *paired*, seed by seed;
* results are written after every finished run, atomically: a re-run resumes and skips
  finished rows, a killed run leaves no partial row, and a results file made by another
  configuration is refused rather than mixed in.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from helpers.files import atomic_write_text

__all__ = [
    "BenchmarkConfig",
    "CONFIGS",
    "MODELS",
    "PAIRS",
    "comparisons",
    "ResultsMismatchError",
    "load_results",
    "paired_comparison",
    "run_benchmark",
    "summarize",
    "verdict",
]

#: model key -> (kind for helpers.models.create_model, n_qubits)
MODELS: dict[str, tuple[str, int]] = {
    "cnn": ("cnn", 4),
    "twin_4q": ("twin", 4),
    "hybrid_4q": ("hybrid", 4),
    "hybrid_4q_no_entanglement": ("hybrid_no_entanglement", 4),
    "hybrid_4q_frozen": ("hybrid_frozen", 4),
    "twin_8q": ("twin", 8),
    "hybrid_8q": ("hybrid", 8),
}
#: the pairs compared seed by seed: (quantum model, its classical reference)
PAIRS: tuple[tuple[str, str], ...] = (
    ("hybrid_4q", "twin_4q"),
    ("hybrid_8q", "twin_8q"),
    ("hybrid_4q_no_entanglement", "hybrid_4q"),
    ("hybrid_4q_frozen", "hybrid_4q"),
)


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that defines a benchmark run; its hash guards the results file."""

    name: str
    datasets: tuple[str, ...]
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    sizes: dict[str, dict[str, int]] = field(hash=False)
    epochs: int = 15
    patience: int = 3
    learning_rate: dict[str, float] = field(hash=False, default_factory=lambda: {"mnist": 0.005, "cifar10": 0.001})

    def __post_init__(self) -> None:
        from helpers.data import DATASETS

        bad = [d for d in self.datasets if d not in DATASETS]
        if bad or not self.datasets:
            raise ValueError(f"datasets {list(self.datasets)}: allowed a non-empty subset of {list(DATASETS)}")
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"unknown models {bad or '(none given)'}: allowed {list(MODELS)}")
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds {list(self.seeds)}: need at least 2 distinct non-negative integers "
                             "(statistics over seeds); the course's configs use 5 (quick) and 10 (full)")
        for d in self.datasets:
            if d not in self.sizes or set(self.sizes[d]) != {"n_train", "n_val", "n_test"}:
                raise ValueError(f"sizes[{d!r}] must give n_train, n_val and n_test, got {self.sizes.get(d)!r}")
            if d not in self.learning_rate:
                raise ValueError(f"learning_rate has no entry for {d!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(datasets=list(self.datasets), models=list(self.models), seeds=list(self.seeds))
        return d

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


_ALL_MODELS = tuple(MODELS)
CONFIGS: dict[str, BenchmarkConfig] = {
    # CI size: MNIST only, 4-qubit models, 5 seeds, tiny subsets, few epochs (≈ 3-5 min on 2 cores).
    "quick": BenchmarkConfig(
        name="quick", datasets=("mnist",),
        models=("cnn", "twin_4q", "hybrid_4q", "hybrid_4q_no_entanglement", "hybrid_4q_frozen"),
        seeds=(0, 1, 2, 3, 4), sizes={"mnist": {"n_train": 300, "n_val": 100, "n_test": 300}},
        epochs=3, patience=2,
    ),
    # The committed results: both datasets at course size, every model, 10 seeds.
    "full": BenchmarkConfig(
        name="full", datasets=("mnist", "cifar10"), models=_ALL_MODELS, seeds=tuple(range(10)),
        sizes={"mnist": {"n_train": 2000, "n_val": 500, "n_test": 1000},
               "cifar10": {"n_train": 1000, "n_val": 200, "n_test": 360}},
        epochs=15, patience=3,
    ),
}


class ResultsMismatchError(RuntimeError):
    """The results file was made by another configuration."""


# ------------------------------------------------------------------ storage
def _environment() -> dict[str, str]:
    from importlib.metadata import version

    versions = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "pennylane", "numpy"):
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a package may be absent (e.g. tensorflow vs tensorflow-cpu)
            continue
    cpu = platform.processor() or platform.machine()
    return {"versions": json.dumps(versions, sort_keys=True), "cpu": f"{cpu}, {os.cpu_count()} cores",
            "python": platform.python_version()}


def load_results(path: Path | str) -> dict[str, Any]:
    """Read a results file: ``{"config": ..., "config_digest": ..., "rows": [...]}``."""
    return json.loads(Path(path).read_text())


def _open_results(path: Path, config: BenchmarkConfig) -> dict[str, Any]:
    if not path.exists():
        return {"config": config.to_dict(), "config_digest": config.digest(), "rows": []}
    results = load_results(path)
    if results.get("config_digest") != config.digest():
        raise ResultsMismatchError(
            f"{path} was made by config {results.get('config', {}).get('name')!r} "
            f"(digest {results.get('config_digest')}), not by {config.name!r} (digest {config.digest()}); "
            "refusing to mix them. Use another --output file, or delete this one to start over.")
    return results


# ------------------------------------------------------------------ running
TrainFn = Callable[[str, str, int, BenchmarkConfig], dict[str, Any]]


def _train_one(dataset: str, model_key: str, seed: int, config: BenchmarkConfig) -> dict[str, Any]:
    """Train and test one (dataset, model, seed) with the course recipe."""
    from helpers.data import load_dataset
    from helpers.models import create_model
    from helpers.reproducibility import set_seed
    from helpers.training import train_and_evaluate

    data = load_dataset(dataset, **config.sizes[dataset], seed=seed, verbose=False)
    kind, n_qubits = MODELS[model_key]
    set_seed(seed)
    model = create_model(kind, data.input_shape, data.num_classes, n_qubits=n_qubits, seed=seed,
                         learning_rate=config.learning_rate[dataset])
    result = train_and_evaluate(model, data, epochs=config.epochs, patience=config.patience)
    import keras

    keras.backend.clear_session()  # free the graph before the next run
    return {
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss, "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run, "seconds_per_epoch": result.seconds_per_epoch,
        "inference_seconds": result.inference_seconds, "trainable_params": result.trainable_params,
        "data_source": data.source_kind, "data_name": data.name, "is_standin": data.is_standin,
    }


def run_benchmark(config: BenchmarkConfig | str, output: Path | str, progress: bool = True,
                  train_fn: TrainFn | None = None) -> dict[str, Any]:
    """Run every unfinished (dataset, model, seed) of ``config``; returns the results dict.

    Introduced in notebook 07. ``train_fn`` replaces the real training (tests use it).
    """
    if isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"unknown config {config!r}: allowed {', '.join(map(repr, CONFIGS))}")
        config = CONFIGS[config]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results = _open_results(output, config)
    done = {(r["dataset"], r["model"], r["seed"]) for r in results["rows"]}
    # seed by seed, so that an interrupted run leaves every dataset and model with the same seeds
    todo = [(d, m, s) for s in config.seeds for d in config.datasets for m in config.models
            if (d, m, s) not in done]
    train = train_fn or _train_one
    env = _environment()
    bar = None
    if progress and todo:
        import keras

        print(f"{config.name}: {len(done)} runs already in {output.name}, {len(todo)} to go", flush=True)
        bar = keras.utils.Progbar(len(todo), unit_name="run")
    for i, (dataset, model_key, seed) in enumerate(todo):
        start = time.perf_counter()
        row = {"dataset": dataset, "model": model_key, "seed": seed, **train(dataset, model_key, seed, config)}
        row.update(env, run_seconds=round(time.perf_counter() - start, 2),
                   date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
        results["rows"].append(row)
        atomic_write_text(output, json.dumps(results, indent=1) + "\n")  # after every run: resumable
        if bar is not None:
            bar.update(i + 1, values=[("last accuracy", row["test_accuracy"])])
    return results


# --------------------------------------------------------------- statistics
def _t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean, sample standard deviation and half-width of the t confidence interval."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        raise ValueError(f"need at least 2 values for a confidence interval, got {len(values)}")
    mean, std = float(values.mean()), float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * std / np.sqrt(len(values)))
    return mean, std, half


def summarize(rows: Iterable[dict[str, Any]], confidence: float = 0.95):
    """Per (dataset, model): runs, mean, std and t-interval of test accuracy, and costs.

    Introduced in notebook 07. Returns a pandas DataFrame.
    """
    import pandas as pd

    df = pd.DataFrame(list(rows))
    if df.empty:
        raise ValueError("no finished runs to summarize")
    out = []
    for (dataset, model), g in df.groupby(["dataset", "model"], sort=False):
        if len(g) >= 2:
            mean, std, half = _t_interval(g["test_accuracy"].to_numpy(), confidence)
        else:  # one finished seed so far: a mean, but no spread and no interval
            mean, std, half = float(g["test_accuracy"].iloc[0]), float("nan"), float("nan")
        out.append({"dataset": dataset, "model": model, "runs": len(g), "mean accuracy": mean, "std": std,
                    "ci low": mean - half, "ci high": mean + half, "ci half-width": half,
                    "s / epoch": float(g["seconds_per_epoch"].median()),
                    "trainable params": int(g["trainable_params"].iloc[0])})
    return pd.DataFrame(out)


def paired_comparison(rows: Iterable[dict[str, Any]], dataset: str, model_a: str, model_b: str,
                      confidence: float = 0.95) -> dict[str, Any]:
    """Seed-by-seed difference of test accuracy, ``model_a − model_b``, with a paired t-test.

    Introduced in notebook 07. Only seeds where both models finished are used.
    """
    from scipy import stats

    acc = {}
    for r in rows:
        if r["dataset"] == dataset and r["model"] in (model_a, model_b):
            acc.setdefault(r["seed"], {})[r["model"]] = r["test_accuracy"]
    seeds = sorted(s for s, v in acc.items() if len(v) == 2)
    if len(seeds) < 2:
        raise ValueError(f"{dataset}: {model_a} and {model_b} share {len(seeds)} finished seeds; need at least 2")
    a = np.array([acc[s][model_a] for s in seeds])
    b = np.array([acc[s][model_b] for s in seeds])
    mean, std, half = _t_interval(a - b, confidence)
    p = float(stats.ttest_rel(a, b).pvalue) if std > 0 else (1.0 if mean == 0 else 0.0)
    return {"dataset": dataset, "a": model_a, "b": model_b, "seeds": len(seeds), "mean difference": mean,
            "ci half-width": half, "p value": p, "significant": bool(abs(mean) > half),
            "confidence": confidence}


def verdict(comparison: dict[str, Any]) -> str:
    """The comparison in words, computed from the numbers. Introduced in notebook 07."""
    c = comparison
    diff, half = 100 * c["mean difference"], 100 * c["ci half-width"]
    level = f"{100 * c['confidence']:.0f}%"
    head = f"{c['dataset']}, {c['a']} vs {c['b']} over {c['seeds']} seeds: "
    if not c["significant"]:
        return (head + f"no significant difference at {level} ({c['a']} − {c['b']} = {diff:+.1f} ± {half:.1f} "
                f"points, paired t-test p = {c['p value']:.2f}).")
    better, worse = (c["a"], c["b"]) if diff > 0 else (c["b"], c["a"])
    return (head + f"{better} is better than {worse} by {abs(diff):.1f} ± {half:.1f} points "
            f"({level} confidence interval of the paired difference; p = {c['p value']:.3g}).")


def comparisons(rows: list[dict[str, Any]], confidence: float = 0.95) -> list[dict[str, Any]]:
    """Every pair of :data:`PAIRS` present in ``rows``, per dataset."""
    present = {(r["dataset"], r["model"]) for r in rows}
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for a, b in PAIRS:
            if (dataset, a) in present and (dataset, b) in present:
                try:
                    out.append(paired_comparison(rows, dataset, a, b, confidence))
                except ValueError:
                    continue  # fewer than 2 shared seeds yet
    return out


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="quick", help=f"one of {', '.join(CONFIGS)}")
    parser.add_argument("--output", type=Path, help="results file (default: results/benchmark_<config>.json)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.config not in CONFIGS:
        parser.error(f"unknown config {args.config!r}: allowed {', '.join(map(repr, CONFIGS))}")
    output = args.output or Path("results") / f"benchmark_{args.config}.json"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    try:
        results = run_benchmark(args.config, output, progress=not args.no_progress)
    except ResultsMismatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import pandas as pd

    summary = summarize(results["rows"])
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(summary.round(3).to_string(index=False))
    for c in comparisons(results["rows"]):
        print(verdict(c))
    print(f"{len(results['rows'])} runs in {output} ({time.perf_counter() - start:.0f} s this invocation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
