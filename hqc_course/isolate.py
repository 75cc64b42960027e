"""Runs in fresh processes: what a Dask worker of the benchmark does with each run.

Introduced in notebook 07. A worker does not train in its own process: it hands each run to a
child process, which serves at most :data:`RUNS_PER_PROCESS` runs and is then replaced
(``concurrent.futures.ProcessPoolExecutor`` with ``max_tasks_per_child``), so that

* TensorFlow's and BLAS's thread pools are set to the run's share of the cores *before*
  TensorFlow's first operation (after it, TensorFlow ignores new settings);
* memory that TensorFlow keeps between models cannot grow over a grid of hundreds of runs;
* a crash inside a run (even a segmentation fault) fails that run only, with its traceback.

A run gives the same row whichever process it lands in, first or eighth (every run sets its
seeds and clears Keras' state). Python's ``multiprocessing`` lets only non-daemonic processes
start children: Dask's workers are daemonic unless ``distributed.worker.daemon`` is false, which
the local and Slurm clusters of :mod:`hqc_course.benchmark.cluster` set. On a daemonic worker (e.g.
a ``dask worker`` started by hand without ``DASK_DISTRIBUTED__WORKER__DAEMON=False``) each run
gets a process of its own instead (``python -m hqc_course.isolate``), which only costs
the start of Python and TensorFlow again. Either way the child stops when its worker is killed,
so a killed worker leaves no orphan training in the background. ``results/bench_engine.json``
measures what a fresh process costs.

The run travels as bytes (:func:`pack`): the worker never unpickles it, so a worker imports
neither TensorFlow nor the trainers; only the child that trains does. This module imports
nothing of the course at import time.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

__all__ = ["RUNS_PER_PROCESS", "RunFailedError", "pack", "run_isolated", "thread_environment"]

#: runs one child process serves before it is replaced by a fresh one
RUNS_PER_PROCESS = 8


class RunFailedError(RuntimeError):
    """A run raised, or its process died; the message holds the run's own traceback. Notebook 07."""


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that fix every thread pool of a fresh process to ``threads`` threads. Notebook 07."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "NUMEXPR_NUM_THREADS": n,
            "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n,
            "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"}


_pools: dict[int, ProcessPoolExecutor] = {}  # this worker's child processes, by threads per run


def _pool(threads: int) -> ProcessPoolExecutor:
    if threads not in _pools:
        try:
            from distributed import get_worker

            slots = get_worker().state.nthreads
        except (ImportError, ValueError):  # not on a Dask worker (e.g. called directly)
            slots = 1
        os.environ.update(thread_environment(threads))  # inherited by the children
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _pools[threads] = ProcessPoolExecutor(max_workers=slots, mp_context=multiprocessing.get_context("spawn"),
                                              max_tasks_per_child=RUNS_PER_PROCESS, initializer=_start_child,
                                              initargs=(threads, os.getpid()))
    return _pools[threads]


def pack(trainer: Any, request: Any) -> bytes:
    """A run as bytes (cloudpickle, which Dask itself uses): what :func:`run_isolated` takes. Notebook 07."""
    import cloudpickle

    return cloudpickle.dumps((trainer, request))


def run_isolated(job: bytes, threads: int = 1) -> dict[str, Any]:
    """Train one run (``job``, from :func:`pack`) in a child process; returns ``{"row", "timing", "where"}``.

    Introduced in notebook 07. Runs on a Dask worker. Raises :class:`RunFailedError` with the run's traceback if the
    trainer raises or its process dies.
    """
    task_start = time.time()
    if multiprocessing.current_process().daemon:
        result = _in_own_process(job, threads)
    else:
        try:
            result = _pool(threads).submit(_execute, job, threads).result()
        except BrokenProcessPool as error:
            _pools.pop(threads, None)
            raise RunFailedError(f"the run's process died ({error}); the end of what it printed:\n{_last_log()}") from None
        except Exception as error:  # the trainer raised: its traceback came back with it
            remote = getattr(error, "__cause__", None)
            detail = str(remote) if remote is not None else traceback.format_exc()
            raise RunFailedError(f"{type(error).__name__}: {error}\n--- the run's traceback ---\n{detail}") from None
    result["timing"]["task_start"] = task_start
    result["timing"]["task_end"] = time.time()
    return result


def _in_own_process(job: bytes, threads: int) -> dict[str, Any]:
    """One run in a process of its own (``python -m hqc_course.isolate``), for daemonic workers."""
    with tempfile.TemporaryDirectory(prefix="hqc-run-") as folder:
        path, out = Path(folder) / "job.pkl", Path(folder) / "result.json"
        path.write_bytes(job)
        env = dict(os.environ, **thread_environment(threads))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # the same import path as this worker, so that a trainer importable here is importable there
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        proc = subprocess.run([sys.executable, "-m", "hqc_course.isolate", str(path), str(out), str(threads),
                               str(os.getpid())], env=env, capture_output=True, text=True)
        result = json.loads(out.read_text()) if out.exists() else {}
    if "row" not in result:
        detail = result.get("traceback") or f"(exit code {proc.returncode})\n{proc.stderr[-4000:]}"
        raise RunFailedError(f"{result.get('error', 'the run process died')}\n--- the run's traceback ---\n{detail}")
    return result


def _watch_parent(parent: int) -> None:
    """Stop this process as soon as its parent (the worker) is gone."""
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.5)


def _set_threads(threads: int) -> None:
    """Fix the backend's thread pools before its first operation."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)


def _log_folder(worker: int) -> Path:
    return Path(tempfile.gettempdir()) / f"hqc-runs-of-worker-{worker}"


def _last_log() -> str:
    """The end of the newest log of this worker's children (what a child that died printed last)."""
    logs = sorted(_log_folder(os.getpid()).glob("*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1].read_text(errors="replace")[-4000:] if logs else "(nothing)"


def _start_child(threads: int, parent: int, log: bool = True) -> None:
    """In a new child: stop with the worker, send its output to a log, fix the thread pools before anything else.

    What TensorFlow prints while it starts goes to ``<tmp>/hqc-runs-of-worker-<pid>/<child pid>.log``
    rather than into the worker's (and so a notebook's) output; the log is kept only if the child dies.
    """
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if log:
        import atexit

        folder = _log_folder(parent)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{os.getpid()}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        def tidy() -> None:
            path.unlink(missing_ok=True)
            try:
                folder.rmdir()  # the last child of a worker leaves no folder behind
            except OSError:
                pass

        atexit.register(tidy)
    _set_threads(threads)


def _execute(job: bytes, threads: int) -> dict[str, Any]:
    """In a child: one run, with the environment it ran in."""
    import pickle

    from hqc_course.reproducibility import run_environment

    start = time.time()
    trainer, request = pickle.loads(job)
    row = trainer(request)
    return {"row": {**row, **run_environment(), "threads": threads},
            "timing": {"trainer_start": start, "trainer_end": time.time()},
            "where": {"host": socket.gethostname(), "pid": os.getpid()}}


def _main(job: str, out: str, threads: str, parent: str) -> int:
    """``python -m hqc_course.isolate JOB OUT THREADS PARENT``: one run in a process of its own."""
    from hqc_course.files import atomic_write_text

    try:
        _start_child(int(threads), int(parent), log=False)  # the worker captures this process's output
        text = json.dumps(_execute(Path(job).read_bytes(), int(threads)))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the driver with its traceback
        atomic_write_text(out, json.dumps({"error": f"{type(error).__name__}: {error}",
                                           "traceback": traceback.format_exc()}))
        return 1
    atomic_write_text(out, text)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:5]))
