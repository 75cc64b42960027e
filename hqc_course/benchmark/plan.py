"""The plan: which runs a benchmark needs, and which of them can start now.

Introduced in notebook 07. Tuning comes first: its runs choose each model's learning rate on
validation data (never the test set). A final run can start only once the tuning that
chooses its rate is complete; tuning itself may grow, when a choice lands on an edge of the
rates tried (:class:`TuningOutcome`). Everything here is a pure function of the config and
the rows finished so far, so a benchmark that was interrupted re-plans exactly what is missing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hqc_course.benchmark.spec import BenchmarkConfig
from hqc_course.runs import RunRequest

__all__ = ["PHASES", "RunKey", "TuningOutcome", "chosen_learning_rates", "epoch_cap", "known_runs", "plan_runs",
           "ready_runs", "request_for", "tuning_outcomes"]

PHASES = ("tune", "final", "sensitivity")


def _sig(x: float) -> float:
    """A learning rate (or factor) rounded to 4 significant digits: how it is written, compared and keyed."""
    return float(f"{x:.4g}")


@dataclass(frozen=True)
class RunKey:
    """One training run of the plan. Introduced in notebook 07.

    ``lr_tag`` is the rate tried (tuning runs), the factor applied to the chosen rate
    (sensitivity runs), or ``None`` (final runs, at the chosen rate).
    """

    phase: str
    dataset: str
    size: str  # "1000", ..., "all"
    model: str
    seed: int
    lr_tag: float | None = None

    def as_tuple(self) -> tuple:
        return (self.phase, self.dataset, self.size, self.model, self.seed, self.lr_tag)

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> RunKey:
        phase = row["phase"]
        tag = _sig(row["learning_rate"]) if phase == "tune" else (
            _sig(row["lr_factor"]) if phase == "sensitivity" else None)
        return cls(phase, row["dataset"], str(row["size"]), row["model"], int(row["seed"]), tag)

    @classmethod
    def of_list(cls, values: list) -> RunKey:
        return cls(values[0], values[1], str(values[2]), values[3], int(values[4]), values[5])

    def __str__(self) -> str:
        tag = "" if self.lr_tag is None else (f" lr {self.lr_tag:g}" if self.phase == "tune" else f" lr x{self.lr_tag:.3g}")
        return f"{self.phase} {self.dataset} {self.size} {self.model} seed {self.seed}{tag}"


@dataclass
class TuningOutcome:
    """The tuning of one (dataset, size, model): rates tried, scores, and the choice when complete."""

    dataset: str
    size: str
    model: str
    rates: list[float]  # every rate tried or to be tried, increasing
    extensions: list[dict[str, Any]] = field(default_factory=list)  # rates added beyond an edge, and why
    scores: dict[float, float] = field(default_factory=dict)  # rate -> mean metric over the tuning seeds
    missing: list[RunKey] = field(default_factory=list)  # tuning runs still to do
    chosen: float | None = None  # None until complete
    on_edge: bool = False  # the choice is still on an edge after every allowed extension

    @property
    def complete(self) -> bool:
        return self.chosen is not None

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "size": self.size, "model": self.model, "rates": self.rates,
                "scores": {f"{k:g}": v for k, v in sorted(self.scores.items())}, "chosen": self.chosen,
                "on_edge": self.on_edge, "extensions": self.extensions, "complete": self.complete}


def _tuning_groups(config: BenchmarkConfig) -> list[tuple[str, str, str]]:
    """(dataset, tuned size, model) for every tuning the config needs, in plan order."""
    if not config.tune:
        return []
    groups = []
    for size in config.sizes:
        if size.lr_from is not None:
            continue
        models = dict.fromkeys(m for s in config.sizes if config.tuned_at(s.label) == size.label for m in s.models)
        groups += [(d, size.label, m) for d in config.datasets for m in models]
    return groups


def _better(config: BenchmarkConfig, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether (score, rate) ``a`` beats ``b``: the metric's better direction, ties to the smaller rate.

    A NaN score (a diverged run) loses to every finite one and never wins.
    """
    sign = -1 if config.tuning_metric == "val_loss" else 1

    def key(x: tuple[float, float]) -> tuple[float, float]:
        return (sign * x[0] if math.isfinite(x[0]) else -math.inf, -x[1])

    return key(a) > key(b)


def tuning_outcomes(config: BenchmarkConfig, rows: Iterable[dict[str, Any]]) -> list[TuningOutcome]:
    """The state of every tuning of ``config`` given the finished ``rows``. Introduced in notebook 06; notebook 07 shows all.

    A choice on the lowest (highest) rate tried adds the rate one step below (above), as long as
    that edge has been extended fewer than ``config.lr_extensions`` times.
    """
    values: dict[tuple, dict[float, dict[int, float]]] = {}
    for r in rows:
        if r["phase"] == "tune":
            key = (r["dataset"], str(r["size"]), r["model"])
            values.setdefault(key, {}).setdefault(_sig(r["learning_rate"]), {})[int(r["seed"])] = r[config.tuning_metric]
    out = []
    for dataset, size, model in _tuning_groups(config):
        tried = values.get((dataset, size, model), {})
        outcome = TuningOutcome(dataset, size, model, [_sig(lr) for lr in config.lr_grid])
        low = high = 0  # extensions used per edge
        while True:
            outcome.missing = [RunKey("tune", dataset, size, model, seed, lr) for lr in outcome.rates
                               for seed in config.tuning_seeds if seed not in tried.get(lr, {})]
            if outcome.missing:
                break
            outcome.scores = {lr: statistics.fmean(tried[lr][s] for s in config.tuning_seeds) for lr in outcome.rates}
            best = outcome.rates[0]
            for lr in outcome.rates[1:]:
                if _better(config, (outcome.scores[lr], lr), (outcome.scores[best], best)):
                    best = lr
            edge = "low" if best == outcome.rates[0] else ("high" if best == outcome.rates[-1] else None)
            if edge == "low" and low < config.lr_extensions:
                low += 1
                new = _sig(outcome.rates[0] / config.lr_step)
                outcome.rates.insert(0, new)
            elif edge == "high" and high < config.lr_extensions:
                high += 1
                new = _sig(outcome.rates[-1] * config.lr_step)
                outcome.rates.append(new)
            else:
                outcome.chosen, outcome.on_edge = best, edge is not None and len(config.lr_grid) > 1
                break
            outcome.extensions.append({"edge": edge, "chosen_before": best, "added": new,
                                       "score_before": outcome.scores[best]})
        out.append(outcome)
    return out


def chosen_learning_rates(config: BenchmarkConfig, rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], float]:
    """The learning rate of each (dataset, size, model) whose rate is known. Introduced in notebook 07.

    Every size of ``config`` is listed, with the rate of the size it is tuned at; without
    tuning, every run uses the grid's one rate. Only validation numbers decide; test
    accuracy is never looked at.
    """
    if not config.tune:
        return {(d, s.label, m): config.lr_grid[0] for d in config.datasets for s in config.sizes for m in s.models}
    tuned = {(o.dataset, o.size, o.model): o.chosen for o in tuning_outcomes(config, rows) if o.complete}
    out = {}
    for d in config.datasets:
        for s in config.sizes:
            for m in s.models:
                lr = tuned.get((d, config.tuned_at(s.label), m))
                if lr is not None:
                    out[(d, s.label, m)] = lr
    return out


def _final_keys(config: BenchmarkConfig) -> list[RunKey]:
    """Final runs size by size, smallest first; within a size seed by seed with every model of the seed together."""
    return [RunKey("final", d, size.label, m, seed) for size in config.sizes for d in config.datasets
            for seed in size.seeds for m in size.models]


def _sensitivity_keys(config: BenchmarkConfig) -> list[RunKey]:
    s = config.sensitivity
    if s is None:
        return []
    return [RunKey("sensitivity", d, size, m, s.seed, _sig(f)) for size in s.sizes for d in config.datasets
            for m in s.models for f in s.factors]


def plan_runs(config: BenchmarkConfig, rows: Iterable[dict[str, Any]] = ()) -> list[RunKey]:
    """Every run of ``config`` known given ``rows``: tuning (with its extensions so far), final and sensitivity runs.

    Introduced in notebook 07. Runs whose tuning is not finished are listed too; the list
    only grows when a tuning choice on an edge adds a rate.
    """
    rows = list(rows)
    tune = []
    for o in tuning_outcomes(config, rows):
        tune += [RunKey("tune", o.dataset, o.size, o.model, seed, lr) for lr in o.rates for seed in config.tuning_seeds]
    return tune + _final_keys(config) + _sensitivity_keys(config)


known_runs = plan_runs


def ready_runs(config: BenchmarkConfig, rows: Iterable[dict[str, Any]]) -> list[RunKey]:
    """The runs of the plan that are not finished and can start now (their learning rate is known). Notebook 07."""
    rows = list(rows)
    done = {RunKey.of_row(r) for r in rows}
    outcomes = tuning_outcomes(config, rows)
    ready = [k for o in outcomes for k in o.missing]
    chosen = chosen_learning_rates(config, rows)
    for key in _final_keys(config) + _sensitivity_keys(config):
        if key not in done and (key.dataset, key.size, key.model) in chosen:
            ready.append(key)
    return [k for k in ready if k not in done]


def epoch_cap(config: BenchmarkConfig, key: RunKey) -> int:
    """The epoch cap of one run: tuning runs' own cap, else its size's, else the config's."""
    if key.phase == "tune" and config.tuning_epochs is not None:
        return config.tuning_epochs
    return config.size(key.size).max_epochs or config.epochs


def learning_rate_of(config: BenchmarkConfig, key: RunKey, chosen: dict[tuple[str, str, str], float]) -> float:
    """The learning rate run ``key`` trains with."""
    if key.phase == "tune":
        return float(key.lr_tag)
    lr = chosen[(key.dataset, key.size, key.model)]
    return _sig(lr * key.lr_tag) if key.phase == "sensitivity" else lr


def request_for(config: BenchmarkConfig, key: RunKey, learning_rate: float, options: dict[str, Any]) -> RunRequest:
    """What the trainer of run ``key`` is asked to do."""
    size = config.size(key.size)
    return RunRequest(dataset=key.dataset, n_train=size.n_train, n_val=size.n_val, n_test=config.n_test, seed=key.seed,
                      learning_rate=float(learning_rate), max_epochs=epoch_cap(config, key), patience=config.patience,
                      batch_size=config.batch_size, steps_per_execution=config.steps_per_execution,
                      instruments=config.instruments, options=dict(options))
