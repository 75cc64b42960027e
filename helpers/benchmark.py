"""A fair benchmark: does the quantum layer help at the real datasets' sizes, and when data is scarce?

Introduced in notebook 07. Command line::

    python -m helpers.benchmark --config quick              # CI size, a few minutes
    python -m helpers.benchmark --config scale --dry-run    # the plan and its estimated time
    python -m helpers.benchmark --config scale              # the committed results (hours)
    python -m helpers.benchmark --config scale --shard 1/2 --threads 1   # one half; run 2/2 beside it
    python -m helpers.benchmark merge results/benchmark_scale.json part-1.json part-2.json

The protocol of ``--config scale`` (notebook 07 explains why each piece is there):

* **Models** ``cnn`` (the blog's CNN), ``twin_4q`` (classical twin), ``hybrid_4q`` and
  ``hybrid_4q_no_entanglement`` (the CNOT ring removed) at every size; ``hybrid_4q_frozen``
  (random, untrained angles) and the 8-qubit pair ``twin_8q`` / ``hybrid_8q`` at 1,000 and 4,000.
* **Data** MNIST and CIFAR-10 (offline: the JPEG copy, named as such in every row).
  Training sizes 1,000, 4,000, 16,000 and all (60,000 or 50,000 minus validation).
  Validation is carved from the training data: 500, 1,000, 2,000 and 5,000 images.
  Test: the official 10,000 test images at every size.
* **Learning rate** chosen per (dataset, model) on *validation accuracy only*, from
  {3e-4, 1e-3, 3e-3}, at 4,000 training images, with seed 100, which no final run uses.
  The choice is recorded in the results file.
* **Epochs** early stopping on the validation loss (patience 5, best weights restored).
  The cap is 100 epochs for tuning and at 16,000 and all images, 200 at 4,000 and 400 at 1,000:
  a small learning rate on few images needs many epochs (the same number of *steps* takes
  4 times more epochs on 4 times fewer images). The share of runs that reach the cap is reported.
* **Seeds** 0–4 at 1,000 and 4,000 images, 0–2 above. A seed fixes the data subset, the
  initial weights and the batch order, and every model gets the same seeds, so models are
  compared *paired*, seed by seed.
* **Statistics** per comparison: the paired difference with its t confidence interval, the
  paired t-test, the Wilcoxon signed-rank test (no normality assumption), and Holm-adjusted
  p-values over the whole family of comparisons. Verdicts in words use only the adjusted
  numbers.

Results are written after every finished run, atomically. A re-run resumes and skips
finished runs; a killed run leaves no partial row; a file made by another configuration,
from other data (the data's fingerprint: file and sha256) or under another Keras backend is
refused, with a message that names the difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.files import atomic_write_text

__all__ = [
    "BenchmarkConfig",
    "CONFIGS",
    "MODELS",
    "PAIRS",
    "ResultsMismatchError",
    "RunKey",
    "SizePlan",
    "cap_share",
    "chosen_learning_rates",
    "combine_results",
    "comparisons",
    "estimate_seconds",
    "learning_curves",
    "load_results",
    "merge_results",
    "paired_comparison",
    "plan_runs",
    "run_benchmark",
    "scale_results",
    "summarize",
    "tuned_learning_rates",
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
    # chapter 10 (quanvolution, MNIST): the same small classifier on raw pixels, on random classical
    # 2×2 filters, and on the quantum 2×2 filter; trained by helpers.quanvolution
    "quanv_none": ("quanv_none", 4),
    "quanv_classical": ("quanv_classical", 4),
    "quanv_quantum": ("quanv_quantum", 4),
    # chapter 11 (transfer learning, CIFAR-10 cat vs dog on a frozen CNN pretrained on the other 8
    # classes): a linear head, a classical head of the dressed circuit's size, the dressed circuit
    "transfer_linear": ("transfer_linear", 4),
    "transfer_classical": ("transfer_classical", 4),
    "transfer_dressed_quantum": ("transfer_dressed_quantum", 4),
}
#: models whose runs another module trains: key prefix -> "module:function" (same signature as _train_one)
EXTERNAL_TRAINERS = {
    "quanv_": "helpers.quanvolution:train_benchmark_run",
    "transfer_": "helpers.transfer:train_benchmark_run",
}
#: the comparisons, seed by seed: (model a, model b), reported as a − b
PAIRS: tuple[tuple[str, str], ...] = (
    ("hybrid_4q", "twin_4q"),
    ("hybrid_4q_no_entanglement", "twin_4q"),
    ("hybrid_4q_no_entanglement", "hybrid_4q"),
    ("hybrid_4q_frozen", "hybrid_4q"),
    ("hybrid_8q", "twin_8q"),
    ("cnn", "twin_4q"),
    ("quanv_quantum", "quanv_classical"),
    ("quanv_quantum", "quanv_none"),
    ("transfer_dressed_quantum", "transfer_classical"),
    ("transfer_dressed_quantum", "transfer_linear"),
)
PHASES = ("tune", "final")


def _positive_int(label: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class SizePlan:
    """One training size of the grid: its validation size, seeds, models and epoch cap. Introduced in notebook 07."""

    n_train: int | None  # None: all training images that remain after validation
    n_val: int
    seeds: tuple[int, ...]
    models: tuple[str, ...]
    max_epochs: int | None = None  # the epoch cap of this size's final runs (None: the config's epochs)

    @property
    def label(self) -> str:
        return "all" if self.n_train is None else str(self.n_train)

    def __post_init__(self) -> None:
        if self.n_train is not None:
            _positive_int("n_train", self.n_train)
        _positive_int("n_val", self.n_val)
        if self.max_epochs is not None:
            _positive_int("max_epochs", self.max_epochs)
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds {list(self.seeds)} (size {self.label}): need at least 2 distinct non-negative "
                             "integers (statistics over seeds)")
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"unknown models {bad or '(none given)'} (size {self.label}): allowed {list(MODELS)}")


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that defines a benchmark; its digest guards the results file. Introduced in notebook 07."""

    name: str
    datasets: tuple[str, ...]
    sizes: tuple[SizePlan, ...]
    n_test: int | None = None  # None: the whole official test split
    lr_grid: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    tuning_n_train: int = 4000
    tuning_n_val: int = 1000
    tuning_seed: int = 100
    epochs: int = 100
    patience: int = 5
    batch_size: int = 32

    def __post_init__(self) -> None:
        from helpers.data import DATASETS

        bad = [d for d in self.datasets if d not in DATASETS]
        if bad or not self.datasets:
            raise ValueError(f"datasets {list(self.datasets)}: allowed a non-empty subset of {list(DATASETS)}")
        if not self.sizes:
            raise ValueError("sizes is empty: give at least one SizePlan")
        labels = [s.label for s in self.sizes]
        if len(set(labels)) != len(labels):
            raise ValueError(f"training sizes repeat: {labels}")
        if not self.lr_grid or any(not (isinstance(lr, float) and lr > 0) for lr in self.lr_grid):
            raise ValueError(f"lr_grid must hold positive floats, got {list(self.lr_grid)}")
        for label in ("epochs", "batch_size", "tuning_n_train", "tuning_n_val"):
            _positive_int(label, getattr(self, label))
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {self.patience!r}")
        final_seeds = {s for size in self.sizes for s in size.seeds}
        if self.tune and self.tuning_seed in final_seeds:
            raise ValueError(f"tuning_seed={self.tuning_seed} is also a seed of the final runs: tuning must use "
                             "a seed (a data subset and initialisation) that no reported run uses")

    @property
    def tune(self) -> bool:
        """Whether the learning rate is tuned (a grid of one value is simply fixed)."""
        return len(self.lr_grid) > 1

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for size in self.sizes for m in size.models))

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


_CORE = ("cnn", "twin_4q", "hybrid_4q", "hybrid_4q_no_entanglement")
_SMALL_EXTRA = ("hybrid_4q_frozen", "twin_8q", "hybrid_8q")
CONFIGS: dict[str, BenchmarkConfig] = {
    # CI size: MNIST only, 5 seeds, tiny subsets, few epochs, a fixed learning rate (≈ 2-4 min on 2 cores).
    "quick": BenchmarkConfig(
        name="quick", datasets=("mnist",),
        sizes=(SizePlan(300, 100, (0, 1, 2, 3, 4), _CORE),),
        n_test=500, lr_grid=(3e-3,), epochs=3, patience=2,
    ),
    # The committed results (results/benchmark_scale.json): the protocol of the module notes.
    "scale": BenchmarkConfig(
        name="scale", datasets=("mnist", "cifar10"),
        sizes=(SizePlan(1000, 500, (0, 1, 2, 3, 4), _CORE + _SMALL_EXTRA, max_epochs=400),
               SizePlan(4000, 1000, (0, 1, 2, 3, 4), _CORE + _SMALL_EXTRA, max_epochs=200),
               SizePlan(16000, 2000, (0, 1, 2), _CORE),
               SizePlan(None, 5000, (0, 1, 2), _CORE)),
    ),
    # Chapter 10: quanvolution on 1,000 real MNIST training images (features cached in data/).
    "quanvolution": BenchmarkConfig(
        name="quanvolution", datasets=("mnist",),
        sizes=(SizePlan(1000, 500, (0, 1, 2, 3, 4), ("quanv_none", "quanv_classical", "quanv_quantum")),),
        # 400 epochs: a Dense(10) on fixed features with a small learning rate converges slowly
        # (with a cap of 100, 4 of the 5 quantum-feature runs at 3e-4 reached it)
        tuning_n_train=1000, tuning_n_val=500, epochs=400, patience=5,
    ),
    # Chapter 11: CIFAR-10 cat vs dog (n_train counts cat and dog images) on the frozen pretrained trunk.
    "transfer": BenchmarkConfig(
        name="transfer", datasets=("cifar10",),
        sizes=(SizePlan(8000, 2000, (0, 1, 2, 3, 4),
                        ("transfer_linear", "transfer_classical", "transfer_dressed_quantum")),),
        tuning_n_train=8000, tuning_n_val=2000, epochs=100, patience=5,
    ),
}


class ResultsMismatchError(RuntimeError):
    """The results file was made by another configuration, from other data, or under another backend.

    Introduced in notebook 07, which explains when ``scale_results`` raises it.
    """


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class RunKey:
    """One training run of the plan. Introduced in notebook 07."""

    phase: str  # "tune" or "final"
    dataset: str
    size: str  # "1000", ..., "all"
    model: str
    seed: int
    learning_rate: float | None  # the grid value for tuning runs; chosen later for final runs

    def as_tuple(self) -> tuple:
        return (self.phase, self.dataset, self.size, self.model, self.seed,
                self.learning_rate if self.phase == "tune" else None)


def _row_key(row: dict[str, Any]) -> tuple:
    return (row["phase"], row["dataset"], row["size"], row["model"], row["seed"],
            row["learning_rate"] if row["phase"] == "tune" else None)


def plan_runs(config: BenchmarkConfig) -> list[RunKey]:
    """Every run of ``config``, in the order they are run. Introduced in notebook 07.

    Tuning first (it decides the final runs' learning rates). Then size by size, smallest
    first, and within a size seed by seed with every model of that seed together — so an
    interrupted benchmark leaves complete, paired seeds at the smaller sizes.
    """
    runs = []
    if config.tune:
        for dataset in config.datasets:
            for model in config.models:
                for lr in config.lr_grid:
                    runs.append(RunKey("tune", dataset, str(config.tuning_n_train), model, config.tuning_seed, lr))
    for size in config.sizes:
        for dataset in config.datasets:
            for seed in size.seeds:
                for model in size.models:
                    runs.append(RunKey("final", dataset, size.label, model, seed, None))
    return runs


def _size_plan(config: BenchmarkConfig, key: RunKey) -> tuple[int | None, int]:
    if key.phase == "tune":
        return config.tuning_n_train, config.tuning_n_val
    size = next(s for s in config.sizes if s.label == key.size)
    return size.n_train, size.n_val


def epoch_cap(config: BenchmarkConfig, key: RunKey) -> int:
    """The epoch cap of one run: the config's, or its size's own for final runs."""
    if key.phase == "final":
        size = next(s for s in config.sizes if s.label == key.size)
        if size.max_epochs is not None:
            return size.max_epochs
    return config.epochs


def _parse_only(only: Iterable[str]) -> dict[str, set[str]]:
    filters: dict[str, set[str]] = {}
    for item in only:
        name, sep, values = item.partition("=")
        if not sep or name not in ("dataset", "model", "size", "phase"):
            raise ValueError(f"--only {item!r}: expected dataset=..., model=..., size=... or phase=... "
                             "(comma-separated values)")
        filters.setdefault(name, set()).update(v for v in values.split(",") if v)
    return filters


def select_runs(runs: list[RunKey], only: Iterable[str] = (), shard: tuple[int, int] = (1, 1)) -> list[RunKey]:
    """The runs that pass the ``--only`` filters, and of those, the ``shard`` k of n.

    Shards are disjoint and together cover the selection: tuning runs are dealt out one by
    one, final runs by (dataset, size, seed) group, so that the models of one seed — the
    paired comparison — stay together (and share one data load).
    """
    k, n = shard
    if not (isinstance(n, int) and isinstance(k, int) and 1 <= k <= n):
        raise ValueError(f"shard {k}/{n}: expected k/n with 1 <= k <= n")
    filters = _parse_only(only)
    chosen = [r for r in runs if all(getattr(r, f) in values for f, values in filters.items())]
    groups: dict[tuple, int] = {}
    out = []
    for i, r in enumerate(chosen):
        group = ("tune", i) if r.phase == "tune" else (r.dataset, r.size, r.seed)
        index = groups.setdefault(group, len(groups))
        if index % n == k - 1:
            out.append(r)
    return out


# ------------------------------------------------------------------ storage
def _environment() -> dict[str, Any]:
    from importlib.metadata import version

    import keras

    versions = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "pennylane", "numpy", "jax", "torch"):
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a package may be absent (e.g. tensorflow vs tensorflow-cpu)
            continue
    cpu = platform.processor() or platform.machine()
    return {"versions": versions, "keras_backend": keras.backend.backend(),
            "cpu": f"{cpu}, {os.cpu_count()} cores", "python": platform.python_version()}


def load_results(path: Path | str) -> dict[str, Any]:
    """Read a results file: ``{"config", "config_digest", "provenance", "rows"}``. Introduced in notebook 10."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsMismatchError(f"{path} is not a results file (invalid JSON: {error})") from error


def _new_results(config: BenchmarkConfig) -> dict[str, Any]:
    return {"config": config.to_dict(), "config_digest": config.digest(), "provenance": {}, "rows": []}


def _check_same_config(path: Path, results: dict[str, Any], config: BenchmarkConfig) -> None:
    if results.get("config_digest") != config.digest():
        raise ResultsMismatchError(
            f"{path} was made by config {results.get('config', {}).get('name')!r} "
            f"(digest {results.get('config_digest')}), not by {config.name!r} (digest {config.digest()}); "
            "refusing to mix them. Use another --output file, or delete this one to start over.")


def _check_provenance(path: Path | str, recorded: dict[str, Any], dataset: str | None, fingerprint: dict | None,
                      backend: str) -> None:
    """Refuse results from other data or another backend, naming the difference."""
    if recorded.get("keras_backend") not in (None, backend):
        raise ResultsMismatchError(f"{path} holds runs made with the Keras backend {recorded['keras_backend']!r}, "
                                   f"this run uses {backend!r}; refusing to mix them")
    if dataset is None or fingerprint is None:
        return
    before = recorded.get("fingerprints", {}).get(dataset)
    if before is not None and before != fingerprint:
        differences = ", ".join(f"{k}: {before.get(k)!r} there, {fingerprint.get(k)!r} here"
                                for k in sorted(set(before) | set(fingerprint)) if before.get(k) != fingerprint.get(k))
        raise ResultsMismatchError(f"{path} holds {dataset} runs made from other data ({differences}); "
                                   "refusing to mix them")


def _open_results(path: Path, config: BenchmarkConfig) -> dict[str, Any]:
    if not path.exists():
        return _new_results(config)
    results = load_results(path)
    _check_same_config(path, results, config)
    return results


def combine_results(inputs: list[Path | str]) -> dict[str, Any]:
    """The results of several shards (or machines) as one, checking provenance; writes nothing.

    Introduced in notebook 07. Every input must come from the same configuration, the same
    data (fingerprints) and the same Keras backend; a run present in two files is an error.
    """
    if not inputs:
        raise ValueError("need at least one results file")
    merged: dict[str, Any] | None = None
    seen: dict[tuple, str] = {}
    for path in inputs:
        results = load_results(path)
        if merged is None:
            merged = {**results, "provenance": {}, "rows": []}
        elif results.get("config_digest") != merged["config_digest"]:
            raise ResultsMismatchError(f"{path} was made by another configuration (digest "
                                       f"{results.get('config_digest')}, expected {merged['config_digest']})")
        provenance = results.get("provenance", {})
        backend = provenance.get("keras_backend")
        if backend is not None:
            _check_provenance(path, merged["provenance"], None, None, backend)
            merged["provenance"]["keras_backend"] = backend
        for dataset, fp in provenance.get("fingerprints", {}).items():
            _check_provenance(path, merged["provenance"], dataset, fp, backend or "")
            merged["provenance"].setdefault("fingerprints", {})[dataset] = fp
        for row in results["rows"]:
            key = _row_key(row)
            if key in seen:
                raise ResultsMismatchError(f"run {key} is in both {seen[key]} and {path}")
            seen[key] = str(path)
            merged["rows"].append(row)
    assert merged is not None
    config = _config_from_dict(merged["config"])
    order = {r.as_tuple(): i for i, r in enumerate(plan_runs(config))}
    merged["rows"].sort(key=lambda row: order.get(_row_key(row), len(order)))
    merged["learning_rates"] = {f"{d}/{m}": lr for (d, m), lr in sorted(chosen_learning_rates(merged["rows"], config).items())}
    merged["planned_runs"] = len(order)
    merged["files"] = [Path(p).name for p in inputs]
    return merged


def merge_results(output: Path | str, inputs: list[Path | str]) -> dict[str, Any]:
    """Merge shard files into ``output`` (see :func:`combine_results`). Introduced in notebook 07."""
    merged = combine_results(inputs)
    atomic_write_text(output, json.dumps(merged, indent=1) + "\n")
    return merged


def scale_results(results_dir: Path | str = "results", config: str = "scale") -> dict[str, Any]:
    """The results of ``--config <config>``: the merged file, or while it still runs, its shards combined.

    Introduced in notebook 05 (the learning rates) and read by notebook 07 and the README.
    ``"planned_runs"`` and ``len(rows)`` say how complete it is.
    """
    folder = Path(results_dir)
    merged = folder / f"benchmark_{config}.json"
    files = [merged] if merged.is_file() else sorted(folder.glob(f"benchmark_{config}.part-*.json"))
    if not files:
        raise FileNotFoundError(f"no results of --config {config} in {folder}: run "
                                f"python -m helpers.benchmark --config {config}")
    return combine_results(files)


def _config_from_dict(d: dict[str, Any]) -> BenchmarkConfig:
    d = dict(d)
    d["sizes"] = tuple(SizePlan(s["n_train"], s["n_val"], tuple(s["seeds"]), tuple(s["models"]), s.get("max_epochs"))
                       for s in d["sizes"])
    for k in ("datasets", "lr_grid"):
        d[k] = tuple(d[k])
    return BenchmarkConfig(**d)


# ------------------------------------------------------------------ learning rates
def chosen_learning_rates(rows: Iterable[dict[str, Any]], config: BenchmarkConfig) -> dict[tuple[str, str], float]:
    """The learning rate of each (dataset, model): the grid value with the best *validation* accuracy.

    Introduced in notebook 06 (its models train with these rates). Ties go to the smaller rate. Only the tuning runs are
    used; their test accuracy is never looked at.
    """
    if not config.tune:
        return {(d, m): config.lr_grid[0] for d in config.datasets for m in config.models}
    best: dict[tuple[str, str], tuple[float, float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        if r["phase"] != "tune":
            continue
        key = (r["dataset"], r["model"])
        counts[key] = counts.get(key, 0) + 1
        score = (r["val_accuracy"], -r["learning_rate"])
        if key not in best or score > best[key]:
            best[key] = score
    return {key: -score[1] for key, score in best.items() if counts[key] == len(config.lr_grid)}


def tuned_learning_rates(dataset: str, results_dir: Path | str = "results", config: str = "scale",
                         models: Iterable[str] | None = None) -> dict[str, float]:
    """The learning rates ``--config scale`` chose on validation for ``dataset``, by model.

    Introduced in notebook 05, which shows them. Reads :func:`scale_results`; raises a clear
    error if a requested model's tuning is not finished.
    """
    results = scale_results(results_dir, config)
    chosen = chosen_learning_rates(results["rows"], CONFIGS[config])
    wanted = list(models) if models is not None else list(CONFIGS[config].models)
    out = {model: lr for (d, model), lr in chosen.items() if d == dataset and model in wanted}
    missing = [m for m in wanted if m not in out]
    if missing:
        raise RuntimeError(f"the tuning of {', '.join(missing)} on {dataset} is not finished in "
                           f"{', '.join(results['files'])}")
    return out


# ------------------------------------------------------------------ running
TrainFn = Callable[..., dict[str, Any]]

_data_cache: dict[tuple, Any] = {}


def _load(dataset: str, n_train: int | None, n_val: int, n_test: int | None, seed: int):
    from helpers.data import load_dataset

    key = (dataset, n_train, n_val, n_test, seed)
    if key not in _data_cache:
        _data_cache.clear()  # one dataset at a time: full CIFAR-10 is 0.6 GB as float32
        _data_cache[key] = load_dataset(dataset, n_train, n_val, n_test, seed=seed, verbose=False)
    return _data_cache[key]


def _data_fingerprint(dataset: str, config: BenchmarkConfig) -> dict[str, str]:
    from helpers.data import data_fingerprint

    return data_fingerprint(dataset).to_dict()


def _bottleneck_statistics(model, x) -> dict[str, float]:
    """How saturated the sigmoid bottleneck is on ``x``: share of outputs within 0.05 of 0 or 1, distinct codes."""
    import keras

    bottleneck = keras.Model(model.inputs, model.get_layer("bottleneck").output)
    squashed = bottleneck.predict(x, batch_size=256, verbose=0)
    return {"saturated_share": float(np.mean((squashed < 0.05) | (squashed > 0.95))),
            "distinct_codes": int(len(np.unique(squashed > 0.5, axis=0)))}


def _train_one(dataset: str, model_key: str, seed: int, n_train: int | None, n_val: int, learning_rate: float,
               config: BenchmarkConfig) -> dict[str, Any]:
    """Train and test one run with the course recipe; returns the measured numbers."""
    import keras

    from helpers.models import create_model
    from helpers.reproducibility import set_seed
    from helpers.training import train_and_evaluate

    data = _load(dataset, n_train, n_val, config.n_test, seed)
    kind, n_qubits = MODELS[model_key]
    set_seed(seed)
    model = create_model(kind, data.input_shape, data.num_classes, n_qubits=n_qubits, seed=seed,
                         learning_rate=learning_rate)
    result = train_and_evaluate(model, data, epochs=config.epochs, patience=config.patience,
                                batch_size=config.batch_size)
    best = result.best_epoch - 1
    row = {
        "n_train": len(data.y_train), "n_val": len(data.y_val), "n_test": len(data.y_test),
        "test_accuracy": result.test_accuracy, "test_loss": result.test_loss,
        "val_accuracy": result.history["val_accuracy"][best], "val_loss": result.history["val_loss"][best],
        "train_accuracy": result.history["accuracy"][best],
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
        "hit_cap": result.epochs_run == config.epochs,  # early stopping never fired
        "seconds_per_epoch": result.seconds_per_epoch, "epoch_seconds": result.epoch_seconds,
        "inference_seconds": result.inference_seconds, "trainable_params": result.trainable_params,
        "data_name": data.name, "data_fingerprint": data.fingerprint.to_dict(),
    }
    if kind != "cnn":
        row.update(_bottleneck_statistics(model, data.x_test))
    keras.backend.clear_session()  # free the graph before the next run
    return row


def _trainer_of(dataset: str, model_key: str, *args: Any) -> dict[str, Any]:
    """Train one run with the trainer of its model (the course's CNN-based models, or chapters 10-11's)."""
    import importlib

    for prefix, target in EXTERNAL_TRAINERS.items():
        if model_key.startswith(prefix):
            module, function = target.split(":")
            return getattr(importlib.import_module(module), function)(dataset, model_key, *args)
    return _train_one(dataset, model_key, *args)


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(threads)


def run_benchmark(config: BenchmarkConfig | str, output: Path | str, progress: bool = True,
                  train_fn: TrainFn | None = None, only: Iterable[str] = (), shard: tuple[int, int] = (1, 1),
                  tuning_from: Iterable[Path | str] = (), threads: int | None = None,
                  wait_for_tuning: float = 0.0) -> dict[str, Any]:
    """Run every unfinished run of ``config`` (or of its ``only`` / ``shard`` selection); returns the results.

    Introduced in notebook 07. ``train_fn`` replaces the real training (tests use it);
    ``tuning_from`` names results files (other shards' or machines') whose tuning runs
    choose the learning rates here; with ``wait_for_tuning`` seconds, a final run whose
    tuning is still running elsewhere waits for it (re-reading those files every minute).
    """
    if isinstance(config, str):
        if config not in CONFIGS:
            raise ValueError(f"unknown config {config!r}: allowed {', '.join(map(repr, CONFIGS))}")
        config = CONFIGS[config]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    results = _open_results(output, config)
    env = _environment()
    _check_provenance(output, results["provenance"], None, None, env["keras_backend"])
    tuning_from = [Path(p) for p in tuning_from]

    def read_tuning() -> list[dict[str, Any]]:
        rows = [r for r in results["rows"] if r["phase"] == "tune"]
        for path in tuning_from:
            if not path.exists():
                continue
            other = load_results(path)
            _check_same_config(path, other, config)
            _check_provenance(path, other.get("provenance", {}), None, None, env["keras_backend"])
            for dataset, fp in other.get("provenance", {}).get("fingerprints", {}).items():
                _check_provenance(path, results["provenance"], dataset, fp, env["keras_backend"])
            rows += [r for r in other["rows"] if r["phase"] == "tune"]
        return rows

    tuning_rows = read_tuning()

    done = {_row_key(r) for r in results["rows"]}
    todo = [r for r in select_runs(plan_runs(config), only, shard) if r.as_tuple() not in done]
    train = train_fn or _trainer_of
    _set_threads(threads)
    estimates = [estimate_seconds(config, r, results["rows"]) for r in todo]
    bar = None
    if progress and todo:
        import keras

        print(f"{config.name}: {len(done)} runs already in {output.name}, {len(todo)} to go "
              f"(estimated {sum(estimates) / 3600:.1f} h)", flush=True)
        bar = keras.utils.Progbar(max(1, round(sum(estimates))), unit_name="s of estimated work")
    checked: set[str] = set()
    finished_estimate = 0.0
    for key, estimate in zip(todo, estimates):
        if key.dataset not in checked:  # refuse other data before training anything on it
            fingerprint = _data_fingerprint(key.dataset, config) if train_fn is None else None
            _check_provenance(output, results["provenance"], key.dataset, fingerprint, env["keras_backend"])
            if fingerprint is not None:
                results["provenance"].setdefault("fingerprints", {})[key.dataset] = fingerprint
            results["provenance"]["keras_backend"] = env["keras_backend"]
            checked.add(key.dataset)
        lr = key.learning_rate
        if key.phase == "final":
            chosen = chosen_learning_rates(tuning_rows, config)
            deadline = time.monotonic() + wait_for_tuning
            while (key.dataset, key.model) not in chosen and time.monotonic() < deadline:
                time.sleep(60)
                tuning_rows = read_tuning()
                chosen = chosen_learning_rates(tuning_rows, config)
            if (key.dataset, key.model) not in chosen:
                raise RuntimeError(f"no learning rate chosen yet for {key.dataset}/{key.model}: its tuning runs are "
                                   "not all finished. Run the tuning phase first (--only phase=tune), or pass the "
                                   "other shards' files with --tuning-from")
            lr = chosen[(key.dataset, key.model)]
        n_train, n_val = _size_plan(config, key)
        # trainers read the cap from config.epochs: hand them this run's own
        run_config = dataclasses.replace(config, epochs=epoch_cap(config, key))
        start = time.perf_counter()
        row = {"phase": key.phase, "dataset": key.dataset, "size": key.size, "model": key.model, "seed": key.seed,
               "learning_rate": lr, "max_epochs": run_config.epochs,
               **train(key.dataset, key.model, key.seed, n_train, n_val, lr, run_config)}
        row.update(env, threads=threads, run_seconds=round(time.perf_counter() - start, 2),
                   date=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
        if "data_fingerprint" in row:
            _check_provenance(output, results["provenance"], key.dataset, row["data_fingerprint"], env["keras_backend"])
        results["rows"].append(row)
        if key.phase == "tune":
            tuning_rows.append(row)
        results["learning_rates"] = {f"{d}/{m}": lr for (d, m), lr in
                                     sorted(chosen_learning_rates(tuning_rows, config).items())}
        atomic_write_text(output, json.dumps(results, indent=1) + "\n")  # after every run: resumable
        finished_estimate += estimate
        if bar is not None:
            bar.update(round(finished_estimate), values=[("last accuracy", row["test_accuracy"])])
    return results


# ------------------------------------------------------------------ time estimates
#: Measured per-image cost of one training epoch (ms, TensorFlow, batch 32, 2 cores, idle machine):
#: tools/bench_layer.py's trunk measurements; refined by the rows of a results file when there are any.
MS_PER_IMAGE_EPOCH = {"mnist": 0.30, "cifar10": 0.40}
_EXPECTED_EPOCHS = {1000: 40, 4000: 30, 16000: 22, None: 18}  # patience 5 included; refined from rows


def estimate_seconds(config: BenchmarkConfig, key: RunKey, rows: Iterable[dict[str, Any]] = ()) -> float:
    """Estimated seconds of one run: measured costs from ``rows`` where there are any, defaults otherwise.

    Introduced in notebook 07 (``--dry-run`` prints the plan's total).
    """
    n_train, n_val = _size_plan(config, key)
    full = {"mnist": 60000, "cifar10": 50000}[key.dataset]
    images = (n_train if n_train is not None else full - n_val)
    same = [r for r in rows if r["dataset"] == key.dataset and r.get("n_train") and r.get("seconds_per_epoch")]
    ms = statistics.median(1000 * r["seconds_per_epoch"] / (r["n_train"] + r["n_val"] / 3) for r in same) if same \
        else MS_PER_IMAGE_EPOCH[key.dataset] * (1.3 if MODELS[key.model][1] == 8 else 1.0)
    like = [r["epochs_run"] for r in rows if r["dataset"] == key.dataset and r["size"] == key.size]
    epochs = statistics.median(like) if like else _EXPECTED_EPOCHS.get(n_train, 25)
    load = 10.0 if n_train is None else 2.0  # data loading and graph building
    return load + epochs * (images + n_val / 3) * ms / 1000


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


def _final(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("phase", "final") == "final"]


def summarize(rows: Iterable[dict[str, Any]], confidence: float = 0.95):
    """Per (data, training size, model): runs, mean, std and t-interval of test accuracy, and costs.

    Introduced in notebook 06. Rows are grouped by the data's *name* (e.g. "CIFAR-10 (JPEG
    copy)"), so results from different data never merge. Returns a pandas DataFrame.
    """
    import pandas as pd

    df = pd.DataFrame(_final(rows))
    if df.empty:
        raise ValueError("no finished final runs to summarize")
    out = []
    for (data_name, size, model), g in df.groupby(["data_name", "size", "model"], sort=False):
        if len(g) >= 2:
            mean, std, half = _t_interval(g["test_accuracy"].to_numpy(), confidence)
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


def paired_comparison(rows: Iterable[dict[str, Any]], data_name: str, size: str, model_a: str, model_b: str,
                      confidence: float = 0.95) -> dict[str, Any]:
    """Seed-by-seed difference of test accuracy, ``model_a − model_b``: t-interval, paired t and Wilcoxon tests.

    Introduced in notebook 06. Only seeds where both models finished are used. The
    p-values here are *unadjusted*; :func:`comparisons` adds the Holm adjustment.
    """
    from scipy import stats

    acc: dict[int, dict[str, float]] = {}
    for r in _final(rows):
        if r["data_name"] == data_name and r["size"] == size and r["model"] in (model_a, model_b):
            acc.setdefault(r["seed"], {})[r["model"]] = r["test_accuracy"]
    seeds = sorted(s for s, v in acc.items() if len(v) == 2)
    if len(seeds) < 2:
        raise ValueError(f"{data_name} at {size}: {model_a} and {model_b} share {len(seeds)} finished seeds; "
                         "need at least 2")
    a = np.array([acc[s][model_a] for s in seeds])
    b = np.array([acc[s][model_b] for s in seeds])
    diff = a - b
    mean, std, half = _t_interval(diff, confidence)
    p = float(stats.ttest_rel(a, b).pvalue) if std > 0 else (1.0 if mean == 0 else 0.0)
    wilcoxon = float(stats.wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
    skew = float(stats.skew(diff)) if len(diff) > 2 and std > 0 else 0.0
    return {"data": data_name, "size": size, "a": model_a, "b": model_b, "seeds": len(seeds),
            "differences": diff.tolist(), "mean difference": mean, "ci half-width": half, "p value": p,
            "wilcoxon p": wilcoxon, "skewness": skew, "confidence": confidence}


def comparisons(rows: list[dict[str, Any]], confidence: float = 0.95, alpha: float = 0.05,
                min_seeds: int = 3) -> list[dict[str, Any]]:
    """Every pair of :data:`PAIRS` at every (data, size) present in ``rows``, with Holm-adjusted p-values.

    Introduced in notebook 06. The family is every comparison returned: Holm's step-down
    method (statsmodels) keeps the chance of any false "significant" at most ``alpha``.
    A pair enters the family only once both models share ``min_seeds`` finished seeds: a
    t-test on 2 differences (1 degree of freedom) can hardly detect anything and would only
    make the adjustment of the others stricter.
    """
    if min_seeds < 2:
        raise ValueError(f"min_seeds must be at least 2 (a paired t-test needs 2 differences), got {min_seeds}")
    from statsmodels.stats.multitest import multipletests

    final = _final(rows)
    seeds: dict[tuple, set] = {}  # (data, size, model) -> its finished seeds
    for r in final:
        seeds.setdefault((r["data_name"], r["size"], r["model"]), set()).add(r["seed"])
    out = []
    for data_name, size in dict.fromkeys((r["data_name"], r["size"]) for r in final):
        for a, b in PAIRS:
            shared = seeds.get((data_name, size, a), set()) & seeds.get((data_name, size, b), set())
            if len(shared) >= min_seeds:
                out.append(paired_comparison(final, data_name, size, a, b, confidence))
    if out:
        for name in ("p value", "wilcoxon p"):
            reject, adjusted, _, _ = multipletests([c[name] for c in out], alpha=alpha, method="holm")
            for c, adj, rej in zip(out, adjusted, reject):
                c[f"holm {name}"] = float(adj)
                if name == "p value":
                    c["significant"] = bool(rej)
        for c in out:
            c["family size"] = len(out)
            c["alpha"] = alpha
    return out


def verdict(comparison: dict[str, Any]) -> str:
    """The comparison in words, from the Holm-adjusted paired t-test. Introduced in notebook 07."""
    c = comparison
    diff, half = 100 * c["mean difference"], 100 * c["ci half-width"]
    size = "all" if c["size"] == "all" else f"{int(c['size']):,}"
    head = f"{c['data']}, {size} training images, {c['a']} vs {c['b']} over {c['seeds']} seeds: "
    family = f"{c['family size']} comparison{'s' if c['family size'] != 1 else ''}"
    numbers = (f"{c['a']} − {c['b']} = {diff:+.1f} ± {half:.1f} points (95% CI), paired t-test p = "
               f"{c['p value']:.3g}, Holm-adjusted over {family} p = {c['holm p value']:.3g}")
    if not c["significant"]:
        # The ± interval is per comparison (unadjusted); Holm's verdict is for the whole family, so the
        # two can disagree. Say so rather than leave a reader with an interval that excludes 0 beside "no difference".
        caveat = ("; the unadjusted interval excludes 0, but the difference does not survive the correction "
                  "for the family") if abs(diff) > half else ""
        return head + f"no significant difference after Holm's correction ({numbers}{caveat})."
    better, worse = (c["a"], c["b"]) if diff > 0 else (c["b"], c["a"])
    return head + f"{better} is better than {worse} by {abs(diff):.1f} points ({numbers})."


def cap_share(rows: Iterable[dict[str, Any]]) -> float:
    """Share of final runs whose early stopping never fired before the epoch cap. Introduced in notebook 07."""
    final = _final(rows)
    return float(np.mean([bool(r["hit_cap"]) for r in final])) if final else float("nan")


# ---------------------------------------------------------------------- CLI
def _parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected k/n, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"--shard {text!r}: expected 1 <= k <= n")
    return k, n


def _dry_run(config: BenchmarkConfig, output: Path, only, shard) -> None:
    rows = load_results(output)["rows"] if output.exists() else []
    done = {_row_key(r) for r in rows}
    todo = [r for r in select_runs(plan_runs(config), only, shard) if r.as_tuple() not in done]
    import pandas as pd

    table = pd.DataFrame([{"phase": r.phase, "dataset": r.dataset, "size": r.size, "model": r.model,
                           "hours": estimate_seconds(config, r, rows) / 3600} for r in todo])
    print(f"{config.name}: {len(done)} runs done in {output}, {len(todo)} to run (shard {shard[0]}/{shard[1]})")
    if not table.empty:
        grouped = table.groupby(["phase", "dataset", "size"], sort=False).agg(runs=("model", "size"),
                                                                              hours=("hours", "sum"))
        print(grouped.round(2).to_string())
        print(f"estimated total: {table['hours'].sum():.1f} h on this machine "
              f"(per-image costs from {'the rows of ' + output.name if rows else 'MS_PER_IMAGE_EPOCH'})")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["merge"]:
        parser = argparse.ArgumentParser(prog="python -m helpers.benchmark merge")
        parser.add_argument("output", type=Path)
        parser.add_argument("inputs", type=Path, nargs="+")
        args = parser.parse_args(argv[1:])
        try:
            merged = merge_results(args.output, args.inputs)
        except ResultsMismatchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{len(merged['rows'])} runs from {len(args.inputs)} files in {args.output}")
        return 0
    parser = argparse.ArgumentParser(prog="python -m helpers.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="quick", help=f"one of {', '.join(CONFIGS)}")
    parser.add_argument("--output", type=Path, help="results file (default: results/benchmark_<config>.json)")
    parser.add_argument("--only", nargs="*", default=[], help="filters: dataset=mnist size=1000,4000 model=cnn phase=tune")
    parser.add_argument("--shard", type=_parse_shard, default=(1, 1), help="run part k of n (disjoint parts)")
    parser.add_argument("--tuning-from", type=Path, nargs="*", default=[], help="results files with tuning runs")
    parser.add_argument("--threads", type=int, help="CPU threads of this process (e.g. 1 per shard)")
    parser.add_argument("--wait-for-tuning", type=float, default=0.0, metavar="SECONDS",
                        help="let final runs wait this long for tuning runs of --tuning-from files")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its estimated time, run nothing")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.config not in CONFIGS:
        parser.error(f"unknown config {args.config!r}: allowed {', '.join(map(repr, CONFIGS))}")
    config = CONFIGS[args.config]
    output = args.output or Path("results") / f"benchmark_{args.config}.json"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.dry_run:
            _dry_run(config, output, args.only, args.shard)
            return 0
        start = time.perf_counter()
        results = run_benchmark(config, output, progress=not args.no_progress, only=args.only, shard=args.shard,
                                tuning_from=args.tuning_from, threads=args.threads,
                                wait_for_tuning=args.wait_for_tuning)
    except (ResultsMismatchError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import pandas as pd

    if _final(results["rows"]):
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(summarize(results["rows"]).round(3).to_string(index=False))
        for c in comparisons(results["rows"]):
            print(verdict(c))
    print(f"{len(results['rows'])} runs in {output} ({time.perf_counter() - start:.0f} s this invocation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
