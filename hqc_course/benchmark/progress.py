"""Progress a person can read: the plan at the start, then one line per finished or failed run.

Introduced in notebook 07. The estimate of what is left comes from :mod:`hqc_course.benchmark.cost`,
which learns the per-image cost and the number of epochs from the runs finished so far.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from hqc_course.benchmark.cost import estimate_seconds
from hqc_course.benchmark.plan import PHASES, RunKey
from hqc_course.benchmark.spec import BenchmarkConfig

__all__ = ["Progress", "plan_table"]


def plan_table(config: BenchmarkConfig, todo: Iterable[RunKey], rows: list[dict[str, Any]]):
    """Runs still to do and their estimated CPU-hours, by phase, dataset and size (a pandas DataFrame)."""
    import pandas as pd

    table = pd.DataFrame([{"phase": k.phase, "dataset": k.dataset, "size": k.size,
                           "cpu_hours": estimate_seconds(config, k, rows) / 3600} for k in todo])
    if table.empty:
        return pd.DataFrame(columns=["runs", "cpu_hours"])
    table["phase"] = pd.Categorical(table["phase"], PHASES, ordered=True)
    return (table.groupby(["phase", "dataset", "size"], sort=True, observed=True)
            .agg(runs=("cpu_hours", "size"), cpu_hours=("cpu_hours", "sum")))


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


class Progress:
    """Prints the plan and one line per run; ``write`` receives each line (default: stdout, flushed)."""

    def __init__(self, config: BenchmarkConfig, slots: int, write: Callable[[str], None] | None = None) -> None:
        self.config, self.slots = config, max(1, slots)
        self.write = write or (lambda line: print(line, file=sys.stdout, flush=True))
        self.started = time.monotonic()
        self.done_here = 0

    def remaining_seconds(self, todo: Iterable[RunKey], rows: list[dict[str, Any]]) -> float:
        """Estimated CPU-seconds of ``todo``, from the cost model fitted to ``rows``."""
        return sum(estimate_seconds(self.config, k, rows) for k in todo)

    def plan(self, cluster: str, rows: list[dict[str, Any]], todo: list[RunKey], known: int, blocked: int) -> None:
        self.write(cluster)
        cpu = self.remaining_seconds(todo, rows)
        self.write(f"{self.config.name}: {known} runs planned so far, {len(rows)} done, {len(todo)} ready to run"
                   + (f", {blocked} waiting for their tuning" if blocked else "")
                   + f"; the ready ones need about {cpu / 3600:.1f} CPU-hours ({_hours(cpu / self.slots)} on "
                     f"{self.slots} worker thread{'s' if self.slots != 1 else ''})")
        table = plan_table(self.config, todo, rows)
        if len(table):
            self.write(table.round(2).to_string())

    def finished(self, key: RunKey, row: dict[str, Any], done: int, total: int, failed: int,
                 todo: list[RunKey], rows: list[dict[str, Any]]) -> None:
        self.done_here += 1
        left = self.remaining_seconds(todo, rows) / self.slots
        metric = (f"val loss {row['val_loss']:.4f}" if key.phase == "tune" else f"test acc {row['test_accuracy']:.4f}")
        self.write(f"[{done}/{total}] {key}: {metric}, {row['epochs_run']} epochs, {row['run_seconds']:.0f} s"
                   f" | failed {failed} | ETA {_hours(left)} for the {len(todo)} runs known and not done")

    def failed(self, key: RunKey, attempt: int, error: str, retry: bool) -> None:
        first = error.strip().splitlines()[0] if error.strip() else "(no message)"
        self.write(f"FAILED {key} (attempt {attempt}): {first}" + ("; retrying" if retry else "; giving up"))
