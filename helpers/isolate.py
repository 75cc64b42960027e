"""Runs in fresh processes: what a Dask worker does with each run of the benchmark.

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
the local and Slurm clusters of :mod:`helpers.benchmark.cluster` set. On a daemonic worker (e.g.
a ``dask worker`` started by hand without ``DASK_DISTRIBUTED__WORKER__DAEMON=False``) each run
gets a process of its own instead (``python -m helpers.benchmark.isolate``), which only costs
the start of Python and TensorFlow again. Either way the child stops when its worker is killed,
so a killed worker leaves no orphan training in the background. ``results/bench_engine.json``
measures what a fresh process costs.
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

__all__ = ["RUNS_PER_PROCESS", "RunFailedError", "run_isolated", "thread_environment"]

#: runs one child process serves before it is replaced by a fresh one
RUNS_PER_PROCESS = 8


class RunFailedError(RuntimeError):
    """A run raised, or its process died; the message holds the run's own traceback."""


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that fix every thread pool of a fresh process to ``threads`` threads."""
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


def run_isolated(trainer: Any, request: Any, threads: int = 1) -> dict[str, Any]:
    """Train one run in a child process and return ``{"row", "timing", "where"}``; runs on a Dask worker.

    Introduced in notebook 07. ``trainer`` is a function of the catalogue and ``request`` its
    :class:`helpers.training.RunRequest`. Raises :class:`RunFailedError` with the run's
    traceback if the trainer raises or its process dies.
    """
    task_start = time.time()
    if multiprocessing.current_process().daemon:
        result = _in_own_process(trainer, request, threads)
    else:
        try:
            result = _pool(threads).submit(_execute, trainer, request, threads).result()
        except BrokenProcessPool as error:
            _pools.pop(threads, None)
            raise RunFailedError(f"the run's process died ({error})") from None
        except Exception as error:  # the trainer raised: its traceback came back with it
            remote = getattr(error, "__cause__", None)
            detail = str(remote) if remote is not None else traceback.format_exc()
            raise RunFailedError(f"{type(error).__name__}: {error}\n--- the run's traceback ---\n{detail}") from None
    result["timing"]["task_start"] = task_start
    result["timing"]["task_end"] = time.time()
    return result


def _in_own_process(trainer: Any, request: Any, threads: int) -> dict[str, Any]:
    """One run in a process of its own (``python -m helpers.benchmark.isolate``), for daemonic workers."""
    import cloudpickle

    with tempfile.TemporaryDirectory(prefix="hqc-run-") as folder:
        job, out = Path(folder) / "job.pkl", Path(folder) / "result.json"
        job.write_bytes(cloudpickle.dumps((trainer, request)))
        env = dict(os.environ, **thread_environment(threads))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # the same import path as this worker, so that a trainer importable here is importable there
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        proc = subprocess.run([sys.executable, "-m", "helpers.benchmark.isolate", str(job), str(out), str(threads),
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


def _start_child(threads: int, parent: int) -> None:
    """In a new child: stop with the worker, and fix the thread pools before anything else runs."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _set_threads(threads)


def _execute(trainer: Any, request: Any, threads: int) -> dict[str, Any]:
    """In a child: one run, with the environment it ran in."""
    from helpers.benchmark.store import environment

    start = time.time()
    row = trainer(request)
    return {"row": {**row, **environment(), "threads": threads},
            "timing": {"trainer_start": start, "trainer_end": time.time()},
            "where": {"host": socket.gethostname(), "pid": os.getpid()}}


def _main(job: str, out: str, threads: str, parent: str) -> int:
    """``python -m helpers.benchmark.isolate JOB OUT THREADS PARENT``: one run in a process of its own."""
    import pickle

    from helpers.files import atomic_write_text

    try:
        _start_child(int(threads), int(parent))
        trainer, request = pickle.loads(Path(job).read_bytes())
        text = json.dumps(_execute(trainer, request, int(threads)))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the driver with its traceback
        atomic_write_text(out, json.dumps({"error": f"{type(error).__name__}: {error}",
                                           "traceback": traceback.format_exc()}))
        return 1
    atomic_write_text(out, text)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:5]))
