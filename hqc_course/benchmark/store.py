"""The results store: one file of JSON lines, written by one driver, that survives a kill at any moment.

Introduced in notebook 07. The first line is the header: the config and its digest, the
Keras backend, the data's fingerprints and the package versions. Every further line is one
finished run (``"kind": "run"``) or one failed attempt (``"kind": "failure"``, with its
traceback). Each line is appended with one write and synced to disk before the next run is
recorded, so a crash leaves at most a torn last line, which the next driver cuts off.

* **One writer**: a driver holds an exclusive lock on ``<store>.lock`` (through ``filelock``)
  while it runs, and writes who it is into ``<store>.driver.json``; a second driver is refused
  with the holder's name. Workers never write: they return their rows to the driver.
* **Never mixed**: a store made by another config, under another Keras backend or from other
  data is refused, with a message that names the difference.
* **The export** (:func:`export_results`) is what the notebooks read: one JSON file in the
  course's results format (``config``, ``config_digest``, ``provenance``, ``rows``,
  ``learning_rates``, ``tuning``, ``planned_runs``, ``failures``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hqc_course.benchmark.plan import PHASES, RunKey, chosen_learning_rates, plan_runs, tuning_outcomes
from hqc_course.benchmark.spec import BenchmarkConfig, config_from_dict
from hqc_course.files import atomic_write_text

__all__ = ["FORMAT", "ResultsMismatchError", "Store", "StoreLockedError", "code_version", "export_path",
           "export_results", "load_results", "merge_stores", "read_store"]

FORMAT = 2  # of the store's lines; the export keeps the course's results format


class ResultsMismatchError(RuntimeError):
    """The results were made by another configuration, from other data, or under another backend.

    Introduced in notebook 07, which explains when reading results raises it.
    """


class StoreLockedError(RuntimeError):
    """Another driver is writing to this store (its name is in the message). Introduced in notebook 07."""


def code_version() -> str:
    """The git commit of the code that runs (with ``+changes`` if the checkout has uncommitted changes), or ``unknown``."""
    import subprocess

    root = Path(__file__).resolve().parent.parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


def export_path(store: Path | str) -> Path:
    """The export of a store: ``results/benchmark_scale.jsonl`` → ``results/benchmark_scale.json``."""
    return Path(store).with_suffix(".json")


# ------------------------------------------------------------------ reading
def _parse(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], int]:
    """(header, runs, failures, bytes of whole lines) of a store; a torn last line is left out."""
    data = path.read_bytes()
    good = data.rfind(b"\n") + 1  # a last line without its newline was torn by a kill: not part of the store
    lines = data[:good].decode("utf-8").splitlines()
    if not lines:
        raise ResultsMismatchError(f"{path} holds no header line: not a results store (remove it to start over)")
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ResultsMismatchError(f"{path}, line {number}: not JSON ({error}); the store is damaged") from error
    header = records[0]
    if header.get("kind") != "header" or header.get("format") != FORMAT:
        raise ResultsMismatchError(f"{path}: its first line is not a results-store header of format {FORMAT}")
    runs = [r["row"] for r in records[1:] if r.get("kind") == "run"]
    failures = [r for r in records[1:] if r.get("kind") == "failure"]
    return header, runs, failures, good


def read_store(path: Path | str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """(header, rows, failures) of a store, without taking its lock (readers never need it). Notebook 07."""
    header, runs, failures, _ = _parse(Path(path))
    return header, runs, failures


def _differences(recorded: dict[str, Any], current: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {recorded.get(k)!r} there, {current.get(k)!r} here"
                     for k in sorted(set(recorded) | set(current)) if recorded.get(k) != current.get(k))


def check_same(path: Path | str, header: dict[str, Any], config_digest: str, backend: str,
               fingerprints: dict[str, dict[str, Any]]) -> None:
    """Refuse a store of another config, backend or data, naming the difference."""
    if header.get("config_digest") != config_digest:
        raise ResultsMismatchError(
            f"{path} was made by config {header.get('config', {}).get('name')!r} (digest {header.get('config_digest')}),"
            f" not by this one (digest {config_digest}); refusing to mix them. Use another store file, or move "
            "this one away to start over.")
    if header.get("keras_backend") != backend:
        raise ResultsMismatchError(f"{path} holds runs made with the Keras backend {header.get('keras_backend')!r}, "
                                   f"this run uses {backend!r}; refusing to mix them")
    for dataset, fp in fingerprints.items():
        before = header.get("fingerprints", {}).get(dataset)
        if before is not None and before != fp:
            raise ResultsMismatchError(f"{path} holds {dataset} runs made from other data ({_differences(before, fp)});"
                                       " refusing to mix them")


# ------------------------------------------------------------------ writing: the driver's store
class Store:
    """A results store opened for writing by this process (the driver). Introduced in notebook 07.

    ``Store.open(path, config, backend, fingerprints, versions)`` takes the lock, creates the
    file with its header or checks the existing header, cuts a torn last line, and reads the
    runs so far. Use it as a context manager (or call :meth:`close`) to release the lock.
    """

    def __init__(self, path: Path, header: dict[str, Any], rows: list[dict[str, Any]],
                 failures: list[dict[str, Any]], lock: Any) -> None:
        self.path, self.header, self.rows, self.failures, self._lock = path, header, rows, failures, lock
        self._keys = {RunKey.of_row(r) for r in rows}

    @classmethod
    def open(cls, path: Path | str, config: BenchmarkConfig, backend: str, fingerprints: dict[str, dict[str, Any]],
             versions: dict[str, str] | None = None) -> Store:
        from filelock import FileLock, Timeout

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock")
        holder_file = Path(str(path) + ".driver.json")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            try:
                holder = json.loads(holder_file.read_text())
                who = (f"pid {holder['pid']} on host {holder['host']}, started {holder['started']} "
                       f"({holder['command']})")
            except (OSError, ValueError, KeyError):
                who = "a process that did not say who it is"
            raise StoreLockedError(f"{path} is being written by another driver: {who}. One store has one writer: "
                                   "wait for it to finish, or stop it (a killed driver releases the lock)") from None
        try:
            atomic_write_text(holder_file, json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(),
                "started": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300]}) + "\n")
            if path.exists() and path.stat().st_size > 0:
                header, rows, failures, good = _parse(path)
                if good < path.stat().st_size:  # a torn last line: cut it off before appending
                    with open(path, "r+b") as f:
                        f.truncate(good)
                        os.fsync(f.fileno())
                check_same(path, header, config.digest(), backend, fingerprints)
                new = {d: fp for d, fp in fingerprints.items() if d not in header.get("fingerprints", {})}
                if new:  # data seen for the first time (a dataset added to the plan): recorded in the header's place
                    header.setdefault("fingerprints", {}).update(new)
                store = cls(path, header, rows, failures, lock)
            else:
                header = {"kind": "header", "format": FORMAT, "config": config.to_dict(),
                          "config_digest": config.digest(), "keras_backend": backend, "fingerprints": fingerprints,
                          "versions": versions or {},
                          "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
                store = cls(path, header, [], [], lock)
                store._append(header)
            return store
        except BaseException:
            holder_file.unlink(missing_ok=True)
            lock.release()
            raise

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def has(self, key: RunKey) -> bool:
        return key in self._keys

    def append_run(self, row: dict[str, Any]) -> None:
        """Record one finished run (refused if that run is already recorded: every run exactly once)."""
        key = RunKey.of_row(row)
        if key in self._keys:
            raise ValueError(f"run {key} is already in {self.path}")
        self._check_row(row)
        self._append({"kind": "run", "row": row})
        self.rows.append(row)
        self._keys.add(key)

    def append_failure(self, key: RunKey, attempt: int, error: str, traceback: str, where: str = "") -> None:
        """Record one failed attempt of a run, with its traceback."""
        record = {"kind": "failure", "key": list(key.as_tuple()), "attempt": attempt, "error": error,
                  "traceback": traceback[-20000:], "where": where,
                  "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
        self._append(record)
        self.failures.append(record)

    def _check_row(self, row: dict[str, Any]) -> None:
        """A row from a worker with other data or another backend is refused, naming the difference."""
        if row.get("keras_backend") not in (None, self.header["keras_backend"]):
            raise ResultsMismatchError(f"a worker ran {RunKey.of_row(row)} under the Keras backend "
                                       f"{row['keras_backend']!r}; {self.path} holds {self.header['keras_backend']!r}")
        fp = row.get("data_fingerprint")
        before = self.header.get("fingerprints", {}).get(row["dataset"])
        if fp is not None and before is not None and fp != before:
            raise ResultsMismatchError(f"a worker ran {RunKey.of_row(row)} on other {row['dataset']} data than "
                                       f"{self.path} records ({_differences(before, fp)})")

    def close(self) -> None:
        Path(str(self.path) + ".driver.json").unlink(missing_ok=True)
        self._lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ------------------------------------------------------------------ the export the notebooks read
def _plan_order(config: BenchmarkConfig, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {k: i for i, k in enumerate(plan_runs(config, rows))}
    return sorted(rows, key=lambda r: (order.get(RunKey.of_row(r), len(order)), PHASES.index(r["phase"])))


def export_results(header: dict[str, Any], rows: list[dict[str, Any]], failures: Iterable[dict[str, Any]] = (),
                   source: str = "") -> dict[str, Any]:
    """The results in the course's format (what the notebooks read), from a store's header and rows.

    Introduced in notebook 07. Rows are in plan order; ``learning_rates`` maps
    ``"dataset/size/model"`` to the chosen rate; ``tuning`` lists every tuning's rates, scores,
    choice and extensions; ``failures`` lists failed attempts of runs that never succeeded.
    """
    config = config_from_dict(header["config"])
    rows = _plan_order(config, list(rows))
    done = {RunKey.of_row(r) for r in rows}
    open_failures = [f for f in failures if RunKey.of_list(f["key"]) not in done]
    return {
        "config": header["config"], "config_digest": header["config_digest"],
        "provenance": {"keras_backend": header["keras_backend"], "fingerprints": header.get("fingerprints", {}),
                       "versions": header.get("versions", {}), "created": header.get("created")},
        "learning_rates": {f"{d}/{s}/{m}": lr for (d, s, m), lr in sorted(chosen_learning_rates(config, rows).items())},
        "tuning": [o.to_dict() for o in tuning_outcomes(config, rows)],
        "planned_runs": len(plan_runs(config, rows)),
        "failures": open_failures,
        "store": source,
        "rows": rows,
    }


def write_export(store: Path | str, output: Path | str | None = None) -> dict[str, Any]:
    """Write the export of ``store`` (atomically) beside it, or to ``output``; returns it."""
    header, rows, failures = read_store(store)
    results = export_results(header, rows, failures, source=Path(store).name)
    atomic_write_text(output or export_path(store), json.dumps(results, separators=(",", ":")) + "\n")
    return results


def load_results(path: Path | str) -> dict[str, Any]:
    """Read results: an export (``.json``) as it is, or a store (``.jsonl``) exported in memory. Notebook 10.

    Raises :class:`ResultsMismatchError` for a file that is neither.
    """
    path = Path(path)
    if path.suffix == ".jsonl":
        header, rows, failures = read_store(path)
        return export_results(header, rows, failures, source=path.name)
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsMismatchError(f"{path} is not a results file (invalid JSON: {error})") from error
    if not isinstance(results, dict) or "rows" not in results or "config" not in results:
        raise ResultsMismatchError(f"{path} is not a results file (no config and rows)")
    return results


def merge_stores(output: Path | str, inputs: list[Path | str]) -> dict[str, Any]:
    """One store from the stores of machines that did not share a scheduler; writes it and its export.

    Introduced in notebook 07. Every input must come from the same config, backend and data;
    a run in two inputs is an error. Failed attempts are kept.
    """
    if not inputs:
        raise ValueError("need at least one store to merge")
    output = Path(output)
    if output.exists():
        raise ValueError(f"{output} exists: merge into a new file")
    header = None
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    seen: dict[RunKey, str] = {}
    for path in inputs:
        h, r, f = read_store(path)
        if header is None:
            header = dict(h)
        else:
            check_same(path, h, header["config_digest"], header["keras_backend"], header.get("fingerprints", {}))
            for dataset, fp in h.get("fingerprints", {}).items():
                header.setdefault("fingerprints", {}).setdefault(dataset, fp)
        for row in r:
            key = RunKey.of_row(row)
            if key in seen:
                raise ResultsMismatchError(f"run {key} is in both {seen[key]} and {path}")
            seen[key] = str(path)
            rows.append(row)
        failures += f
    assert header is not None
    lines = [header] + [{"kind": "run", "row": r} for r in _plan_order(config_from_dict(header["config"]), rows)]
    lines += failures
    atomic_write_text(output, "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines))
    return write_export(output)
