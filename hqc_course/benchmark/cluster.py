"""Where the runs go: a Dask cluster on this machine, one already running, or one on Slurm.

Introduced in notebook 07. Dask distributed is the engine in every mode:

* **local** (the default): a ``LocalCluster`` of one single-threaded worker process per core,
  started and stopped by the command;
* **scheduler**: a running Dask cluster (``dask scheduler`` and ``dask worker`` started by hand,
  on this machine or others), reached at ``tcp://HOST:PORT``;
* **slurm**: a ``dask_jobqueue.SLURMCluster`` whose batch jobs each start one single-threaded
  worker per core (``pip install .[cluster]``).

Each worker thread trains one run at a time, in a fresh process whose thread pools are set to
``threads_per_run`` (:mod:`hqc_course.isolate`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hqc_course.isolate import thread_environment

__all__ = ["ClusterOptions", "SchedulerUnreachableError", "open_client", "slurm_cluster"]

CONNECT_TIMEOUT = 10  # seconds to wait for a scheduler that does not answer


class SchedulerUnreachableError(RuntimeError):
    """No Dask scheduler answered at the address given. Introduced in notebook 07."""


@dataclass(frozen=True)
class ClusterOptions:
    """How to reach the workers. Introduced in notebook 07 (the command line builds it from its flags)."""

    scheduler: str | None = None  # tcp://HOST:PORT of a running cluster
    workers: int | None = None  # local cluster: worker processes (default: one per core)
    slurm_jobs: int | None = None  # Slurm: batch jobs to start
    slurm_cores: int = 8  # Slurm: cores (and single-threaded workers) per job
    slurm_memory: str = "16GB"  # Slurm: memory per job
    slurm_walltime: str = "04:00:00"  # Slurm: time limit per job
    slurm_queue: str | None = None  # Slurm: partition
    slurm_account: str | None = None  # Slurm: account to charge
    threads_per_run: int | None = None  # threads of each run (default: the worker's share of the cores)
    dashboard_address: str = ":8787"

    def __post_init__(self) -> None:
        modes = [self.scheduler is not None, self.slurm_jobs is not None]
        if all(modes):
            raise ValueError("give either a scheduler address or Slurm jobs, not both")
        if self.scheduler is not None and not self.scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://")):
            raise ValueError(f"scheduler {self.scheduler!r}: expected an address like tcp://HOST:PORT")
        for name in ("workers", "slurm_jobs", "threads_per_run"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.slurm_cores, bool) or not isinstance(self.slurm_cores, int) or self.slurm_cores < 1:
            raise ValueError(f"slurm_cores must be a positive integer, got {self.slurm_cores!r}")

    @property
    def mode(self) -> str:
        return "scheduler" if self.scheduler else ("slurm" if self.slurm_jobs else "local")


def slurm_cluster(options: ClusterOptions, **extra: Any):
    """The ``SLURMCluster`` of ``options`` (not yet scaled: nothing is submitted). Introduced in notebook 07.

    Each job asks for ``slurm_cores`` cores and ``slurm_memory``, and starts that many
    single-threaded worker processes, with every thread pool of the job set to one thread.
    ``cluster.job_script()`` shows the batch script it would submit.
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as error:
        raise RuntimeError("--slurm needs dask-jobqueue: pip install '.[cluster]' (or pip install "
                           "dask-jobqueue)") from error
    prologue = [f"export {k}={v}" for k, v in thread_environment(options.threads_per_run or 1).items()]
    prologue.append("export DASK_DISTRIBUTED__WORKER__DAEMON=False")  # workers may start the runs' processes
    return SLURMCluster(cores=options.slurm_cores, processes=options.slurm_cores, memory=options.slurm_memory,
                        walltime=options.slurm_walltime, queue=options.slurm_queue, account=options.slurm_account,
                        job_script_prologue=prologue, scheduler_options={"dashboard_address": options.dashboard_address},
                        **extra)


@contextmanager
def open_client(options: ClusterOptions) -> Iterator[tuple[Any, str, int]]:
    """A Dask client for ``options``, a line describing the cluster, and the threads per run.

    Introduced in notebook 07. A local or Slurm cluster is started here and stopped when the
    block ends; a running scheduler is only connected to (its workers stay).
    """
    import logging

    import dask
    from distributed import Client, LocalCluster

    if options.mode == "scheduler":
        try:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise SchedulerUnreachableError(
                f"no Dask scheduler answered at {options.scheduler} within {CONNECT_TIMEOUT} s ({error}). Start one "
                "with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or leave out --scheduler "
                "to run on a local cluster") from None
        with client:
            workers = client.scheduler_info(n_workers=-1)["workers"]
            threads = sum(w["nthreads"] for w in workers.values())
            yield client, (f"Dask scheduler {options.scheduler}: {len(workers)} workers, {threads} threads; "
                           f"dashboard {client.dashboard_link}"), options.threads_per_run or 1
        return
    if options.mode == "slurm":
        cluster = slurm_cluster(options)
        cluster.scale(jobs=options.slurm_jobs)
        try:
            with Client(cluster) as client:
                yield client, (f"Slurm: {options.slurm_jobs} jobs × {options.slurm_cores} workers "
                               f"(queued; dashboard {client.dashboard_link})"), options.threads_per_run or 1
        finally:
            cluster.close()
        return
    cores = os.cpu_count() or 1
    n = options.workers or cores
    threads = options.threads_per_run or max(1, cores // n)
    with dask.config.set({"distributed.worker.daemon": False}):  # workers may start the runs' processes
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=options.dashboard_address, silence_logs=logging.ERROR,
                               env=thread_environment(threads))
    try:
        with Client(cluster) as client:
            yield client, (f"local Dask cluster: {n} single-threaded worker processes on {cores} cores, "
                           f"{threads} thread(s) per run; dashboard {client.dashboard_link}"), threads
    finally:
        cluster.close()
