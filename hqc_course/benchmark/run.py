"""The driver: submits the plan's runs to Dask as they become ready, and records each result once.

Introduced in notebook 07. One process, the driver, holds the store (:mod:`hqc_course.benchmark.store`)
and a Dask client (:mod:`hqc_course.benchmark.cluster`). It submits every run that can start now
(:func:`hqc_course.benchmark.plan.ready_runs`); each result that comes back is appended to the
store and the export is rewritten; then whatever has become ready — the final runs of a
(dataset, size, model) once its tuning is complete, or a tuning's extension — is submitted.

* A worker killed mid-run: Dask gives the run to another worker.
* A run that raises: recorded as a failed attempt with its traceback and submitted again, up
  to ``retries`` more times; the rest of the grid goes on; at the end the failed runs are
  named and :attr:`BenchmarkRun.ok` is false.
* The driver killed: the store holds every run finished so far; running the command again
  plans only what is missing.
"""

from __future__ import annotations

import datetime as _dt
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hqc_course.benchmark.catalogue import MODELS, ModelEntry
from hqc_course.benchmark.cluster import ClusterOptions, open_client
from hqc_course.benchmark.cost import estimate_seconds
from hqc_course.benchmark.plan import (
    RunKey,
    chosen_learning_rates,
    epoch_cap,
    known_runs,
    learning_rate_of,
    ready_runs,
    request_for,
)
from hqc_course.benchmark.progress import Progress
from hqc_course.benchmark.spec import BenchmarkConfig, get_config
from hqc_course.benchmark.store import ResultsMismatchError, Store, code_version, export_path, write_export
from hqc_course.isolate import pack, run_isolated
from hqc_course.reproducibility import run_environment

__all__ = ["BenchmarkRun", "run_benchmark"]

_PHASE_PRIORITY = {"tune": 2, "final": 1, "sensitivity": 0}


@dataclass
class BenchmarkRun:
    """What one call of :func:`run_benchmark` did. Introduced in notebook 07."""

    store: Path
    rows: list[dict[str, Any]]
    finished_here: int = 0
    failed: list[str] = field(default_factory=list)  # runs that failed every attempt
    blocked: list[str] = field(default_factory=list)  # runs whose tuning could not complete
    engine: list[dict[str, float]] = field(default_factory=list)  # per run: submit, start and end times

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked


def _fingerprints(config: BenchmarkConfig) -> dict[str, dict[str, Any]]:
    from hqc_course.data import data_fingerprint

    return {d: data_fingerprint(d).to_dict() for d in config.datasets}


def run_benchmark(config: BenchmarkConfig | str, store: Path | str, cluster: ClusterOptions | None = None,
                  retries: int = 2, models: Mapping[str, ModelEntry] | None = None,
                  fingerprints: dict[str, dict[str, Any]] | None = None,
                  write: Callable[[str], None] | None = None, export: bool = True) -> BenchmarkRun:
    """Run every unfinished run of ``config`` on Dask, recording each in ``store``; returns what happened.

    Introduced in notebook 07. ``cluster`` says where the runs go (default: a local cluster of
    one worker process per core). ``models`` replaces the catalogue (tests use it for fake
    trainers); ``fingerprints`` the data's (tests, with fake data). ``write`` receives the
    progress lines (default: printed). The export the notebooks read is rewritten after every
    run unless ``export=False``.
    """
    config = get_config(config) if isinstance(config, str) else config
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    catalogue = dict(models) if models is not None else MODELS
    unknown = [m for m in config.models if m not in catalogue]
    if unknown:
        raise ValueError(f"models {unknown} of config {config.name!r} are not in the catalogue ({list(catalogue)})")
    env = run_environment()
    store_path = Path(store)
    with Store.open(store_path, config, env["keras_backend"], fingerprints or _fingerprints(config),
                    env["versions"]) as results, open_client(cluster or ClusterOptions()) as (client, where, threads):
        if export:
            write_export(store_path, export_path(store_path))
        return _drive(config, results, client, where, threads, retries, catalogue, write, export)


_TOP_UP_SECONDS = 5.0  # how often the driver looks for new threads while no run finishes


def _drive(config: BenchmarkConfig, store: Store, client: Any, where: str, threads: int, retries: int,
           catalogue: Mapping[str, ModelEntry], write: Callable[[str], None] | None, export: bool) -> BenchmarkRun:
    from distributed import as_completed

    progress = Progress(config, max(1, sum(client.nthreads().values())), write)
    code = code_version()
    outcome = BenchmarkRun(store.path, store.rows)
    in_flight: dict[Any, tuple[RunKey, int, float, float]] = {}  # future -> (run, attempt, learning rate, submitted)
    attempts: dict[RunKey, int] = {}
    given_up: set[RunKey] = set()
    pending = as_completed()

    def submit_ready() -> list[RunKey]:
        busy = {key for key, *_ in in_flight.values()}
        ready = [k for k in ready_runs(config, store.rows) if k not in busy and k not in given_up]
        chosen = chosen_learning_rates(config, store.rows)
        # tuning first (it unblocks final runs), then the longest runs first (a short tail at the end); submitted
        # in that order too, since the first ones go straight to idle workers
        priorities = {k: _PHASE_PRIORITY[k.phase] * 10**7 + int(estimate_seconds(config, k, store.rows)) for k in ready}
        ready.sort(key=priorities.get, reverse=True)
        # Only as many runs in flight as the cluster has threads: Dask assigns a task to a worker when it is
        # submitted (each run is a task group of its own, so the scheduler does not queue them), and a worker
        # that draws long runs would keep runs waiting while another worker sits idle (measured: 1.28x instead
        # of 1.95x on two workers). Holding the rest here lets the next free thread take the next run in order.
        free = max(1, sum(client.nthreads().values())) - len(in_flight)
        for key in ready[:max(0, free)]:
            attempts[key] = attempt = attempts.get(key, 0) + 1
            entry = catalogue[key.model]
            lr = learning_rate_of(config, key, chosen)
            request = request_for(config, key, lr, entry.options)
            priority = priorities[key]
            name = f"{key}-attempt-{attempt}-{uuid.uuid4().hex[:8]}".replace(" ", "_")
            future = client.submit(run_isolated, pack(entry.trainer, request), threads, key=name, pure=False,
                                   priority=priority)
            in_flight[future] = (key, attempt, lr, time.time())
            pending.add(future)
        return ready

    def not_done() -> list[RunKey]:
        return [k for k in known_runs(config, store.rows) if not store.has(k)]

    def handle(future: Any) -> None:
        key, attempt, lr, submitted = in_flight.pop(future)
        try:
            result = future.result()
        except Exception as error:  # noqa: BLE001 - a failed run is recorded and retried, never fatal
            text = "".join(traceback.format_exception_only(type(error), error)).strip() or repr(error)
            store.append_failure(key, attempt, text.splitlines()[0], text)
            if export:
                write_export(store.path, export_path(store.path))
            retry = attempt <= retries
            progress.failed(key, attempt, text, retry)
            if not retry:
                given_up.add(key)
            submit_ready()
            return
        timing = result["timing"]
        row = {"phase": key.phase, "dataset": key.dataset, "size": key.size, "model": key.model, "seed": key.seed,
               "learning_rate": lr, **({"lr_factor": key.lr_tag} if key.phase == "sensitivity" else {}),
               "max_epochs": epoch_cap(config, key), **result["row"],
               "attempt": attempt, "run_seconds": round(timing["task_end"] - timing["task_start"], 2),
               "queue_seconds": round(timing["task_start"] - submitted, 3),
               "start_seconds": round(timing["trainer_start"] - timing["task_start"], 2),
               "worker": f"{result['where']['host']}:{result['where']['pid']}", "code": code,
               "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
        try:
            store.append_run(row)
        except ResultsMismatchError as error:  # a worker with other data or another backend: not retried
            store.append_failure(key, attempt, str(error), str(error), row["worker"])
            if export:
                write_export(store.path, export_path(store.path))
            progress.failed(key, attempt, str(error), False)
            given_up.add(key)
            submit_ready()
            return
        outcome.finished_here += 1
        outcome.engine.append({"submitted": submitted, **timing})
        if export:
            write_export(store.path, export_path(store.path))
        submit_ready()
        progress.finished(key, row, len(store.rows), len(known_runs(config, store.rows)), len(given_up), not_done(),
                          store.rows)
    first = submit_ready()
    progress.plan(where, store.rows, first, len(known_runs(config, store.rows)), len(not_done()) - len(first))
    last_top_up = time.monotonic()
    while not pending.is_empty():
        done = pending.next_batch(block=False)
        for future in done:
            handle(future)
        if not done:
            with pending.thread_condition:
                pending.thread_condition.wait(timeout=0.1)
            if time.monotonic() - last_top_up >= _TOP_UP_SECONDS:  # workers may have joined (Slurm, dask worker)
                submit_ready()
                last_top_up = time.monotonic()
    outcome.failed = [str(k) for k in sorted(given_up, key=lambda k: repr(k.as_tuple()))]
    outcome.blocked = [str(k) for k in not_done() if k not in given_up]
    outcome.rows = store.rows
    return outcome
