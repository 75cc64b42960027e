"""The benchmark's command line. Introduced in notebook 07; the README shows every mode.

::

    python -m hqc_course.benchmark run --config quick                  # a local Dask cluster, one worker per core
    python -m hqc_course.benchmark plan --config scale                 # the plan and its estimated CPU-hours
    python -m hqc_course.benchmark run --config scale --scheduler tcp://HOST:8786   # a running Dask cluster
    python -m hqc_course.benchmark run --config scale --slurm --jobs 4 --cores 16 --memory 32GB --walltime 08:00:00
    python -m hqc_course.benchmark export results/benchmark_scale.jsonl  # rewrite the export the notebooks read
    python -m hqc_course.benchmark merge all.jsonl machine-a.jsonl machine-b.jsonl   # stores of separate clusters
    python -m hqc_course.benchmark labels                              # record the test splits' labels beside the results

Exit status: 0 when every planned run is in the store; 1 when runs failed every attempt (they
are named); 2 for bad input, a store of another config/backend/data, a store in use by another
driver, or a scheduler that does not answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from hqc_course import settings
from hqc_course.benchmark.cluster import ClusterOptions, SchedulerUnreachableError, slurm_cluster
from hqc_course.benchmark.plan import RunKey, known_runs, ready_runs
from hqc_course.benchmark.progress import plan_table
from hqc_course.benchmark.report import summarize
from hqc_course.benchmark.run import run_benchmark
from hqc_course.benchmark.spec import CONFIGS, get_config
from hqc_course.benchmark.split_labels import record_test_labels
from hqc_course.benchmark.stats import final_rows, judge, judgement
from hqc_course.benchmark.store import ResultsMismatchError, StoreLockedError, merge_stores, read_store, write_export
from hqc_course.data import DATASETS


def _store_of(args: argparse.Namespace) -> Path:
    # the folder the chapters read (hqc_course.settings): the checkout's results/, else ../results, as on Colab
    return args.store or settings.benchmark_results_dir() / f"benchmark_{args.config}.jsonl"


def _cluster_options(args: argparse.Namespace) -> ClusterOptions:
    if args.slurm:
        return ClusterOptions(slurm_jobs=args.jobs, slurm_cores=args.cores, slurm_memory=args.memory,
                              slurm_walltime=args.walltime, slurm_queue=args.queue, slurm_account=args.account,
                              threads_per_run=args.threads_per_run)
    return ClusterOptions(scheduler=args.scheduler, workers=args.workers, threads_per_run=args.threads_per_run)


def _run(args: argparse.Namespace) -> int:
    config = get_config(args.config)
    options = _cluster_options(args)
    if args.slurm and args.print_job_script:
        cluster = slurm_cluster(options)
        print(cluster.job_script())
        cluster.close()
        return 0
    start = time.perf_counter()
    outcome = run_benchmark(config, _store_of(args), options, retries=args.retries)
    rows = outcome.rows
    if final_rows(rows):
        import pandas as pd

        with pd.option_context("display.width", 160, "display.max_columns", 20):
            print(summarize(rows).round(3).to_string(index=False))
        if config.statistics is not None:
            for family in judge(rows, config.statistics).values():
                for c in family:
                    print(judgement(c))
    print(f"{len(rows)} runs in {outcome.store} ({outcome.finished_here} finished by this call in "
          f"{time.perf_counter() - start:.0f} s)")
    if outcome.failed:
        print(f"error: {len(outcome.failed)} run(s) failed every attempt (tracebacks in {outcome.store}): "
              + "; ".join(outcome.failed), file=sys.stderr)
    if outcome.blocked:
        print(f"error: {len(outcome.blocked)} run(s) could not start (their tuning failed): "
              + "; ".join(outcome.blocked[:20]) + (" …" if len(outcome.blocked) > 20 else ""), file=sys.stderr)
    return 0 if outcome.ok else 1


def _plan(args: argparse.Namespace) -> int:
    config = get_config(args.config)
    store = _store_of(args)
    rows = read_store(store)[1] if store.exists() else []
    finished = {RunKey.of_row(r) for r in rows}
    known = known_runs(config, rows)
    ready = ready_runs(config, rows)
    waiting = [k for k in known if k not in finished and k not in set(ready)]
    print(f"{config.name}: {len(known)} runs planned so far, {len(rows)} done in {store}, {len(ready)} ready to run, "
          f"{len(waiting)} waiting for their tuning")
    for title, keys in (("ready to run", ready), ("waiting for their tuning", waiting)):
        table = plan_table(config, keys, rows)
        if len(table):
            print(f"\n{title}:")
            print(table.round(2).to_string())
            print(f"total: {table['runs'].sum()} runs, {table['cpu_hours'].sum():.1f} CPU-hours (estimated from "
                  f"{'the store' if rows else 'the default costs'}; a tuning's extensions would add more)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hqc_course.benchmark", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every unfinished run of a config on a Dask cluster")
    plan = sub.add_parser("plan", help="print the plan and its estimated CPU-hours; runs nothing")
    for p in (run, plan):
        p.add_argument("--config", default="quick", help=f"one of {', '.join(CONFIGS)} (default: quick)")
        p.add_argument("--store", type=Path, help="the results store (default: benchmark_<config>.jsonl in the results folder the chapters read: the checkout's results/, $HQC_BENCHMARK_RESULTS_DIR if set, else ../results)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--slurm", action="store_true", help="start the workers as Slurm jobs (dask-jobqueue)")
    run.add_argument("--workers", type=int, help="local cluster: worker processes (default: one per core)")
    run.add_argument("--threads-per-run", type=int, help="threads of each run (default: the worker's share of cores)")
    run.add_argument("--retries", type=int, default=2, help="attempts after the first for a run that fails (default 2)")
    slurm = run.add_argument_group("Slurm (with --slurm)")
    slurm.add_argument("--jobs", type=int, default=1, help="batch jobs (default 1)")
    slurm.add_argument("--cores", type=int, default=8, help="cores per job, one single-threaded worker each (default 8)")
    slurm.add_argument("--memory", default="16GB", help="memory per job (default 16GB)")
    slurm.add_argument("--walltime", default="04:00:00", help="time limit per job (default 04:00:00)")
    slurm.add_argument("--queue", help="partition")
    slurm.add_argument("--account", help="account to charge")
    slurm.add_argument("--print-job-script", action="store_true", help="print the batch script and submit nothing")
    export = sub.add_parser("export", help="rewrite the export (the .json the notebooks read) of a store")
    export.add_argument("store", type=Path)
    export.add_argument("--output", type=Path, help="default: the store's name with .json")
    merge = sub.add_parser("merge", help="merge the stores of machines that did not share a scheduler")
    merge.add_argument("output", type=Path)
    merge.add_argument("inputs", type=Path, nargs="+")
    labels = sub.add_parser("labels", help="record the test splits' labels of the data here beside the results, so "
                                           "that readers without that data can line the runs' test images up")
    labels.add_argument("--folder", type=Path, help="default: the results folder the chapters read")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "plan":
            return _plan(args)
        if args.command == "export":
            results = write_export(args.store, args.output)
            print(f"{len(results['rows'])} runs of {args.store} exported to {args.output or args.store.with_suffix('.json')}")
            return 0
        if args.command == "labels":
            print(f"test labels of {', '.join(DATASETS)} recorded in {record_test_labels(DATASETS, args.folder)}")
            return 0
        results = merge_stores(args.output, args.inputs)
        print(f"{len(results['rows'])} runs from {len(args.inputs)} stores in {args.output}")
        return 0
    except (ResultsMismatchError, StoreLockedError, SchedulerUnreachableError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
