"""A fair benchmark: does the quantum layer help at the real datasets' sizes, and when data is scarce?

Introduced in notebook 07. The files show the design:

=============  ==============================================================================
``catalogue``  every model the benchmark can train, with its trainer
``spec``       what a benchmark is (:class:`BenchmarkConfig`), and the course's :data:`CONFIGS`
``plan``       which runs a config needs, and which can start now (tuning before final runs)
``cost``       how long a run will take, learned from finished runs
``store``      the results store (one writer, append-only, survives a kill) and its export
``stats``      intervals, tests, families and verdicts (SciPy, statsmodels)
``report``     reading committed results; summaries and learning curves
``cluster``    the Dask cluster: local, a running scheduler, or Slurm
``progress``   the plan and one line per run, with an ETA
``run``        the driver: submits ready runs, records each result once
``__main__``   the command line: ``python -m hqc_course.benchmark run --config quick``
=============  ==============================================================================

A worker trains each run in a child process (:mod:`hqc_course.isolate`), and never imports
TensorFlow or the trainers itself.

This module re-exports what the notebooks use.
"""

from hqc_course.benchmark.catalogue import MODELS, ModelEntry
from hqc_course.benchmark.cluster import ClusterOptions, SchedulerUnreachableError
from hqc_course.benchmark.cost import estimate_seconds
from hqc_course.benchmark.plan import RunKey, chosen_learning_rates, plan_runs, ready_runs, tuning_outcomes
from hqc_course.benchmark.report import (
                                       cap_share,
                                       family_table,
                                       learning_curves,
                                       scale_results,
                                       summarize,
                                       tuned_learning_rates,
)
from hqc_course.benchmark.run import BenchmarkRun, run_benchmark
from hqc_course.benchmark.spec import CONFIGS, PAIRS, BenchmarkConfig, Sensitivity, SizePlan, StatisticsPlan, get_config
from hqc_course.benchmark.stats import (
                                       compared_to,
                                       comparisons,
                                       final_rows,
                                       judge,
                                       judgement,
                                       paired_comparison,
                                       pairing_check,
                                       t_interval,
                                       verdict,
)
from hqc_course.benchmark.store import (
                                       ResultsMismatchError,
                                       StoreLockedError,
                                       export_results,
                                       load_results,
                                       merge_stores,
                                       read_store,
                                       write_export,
)

__all__ = [
    "CONFIGS", "MODELS", "PAIRS", "BenchmarkConfig", "BenchmarkRun", "ClusterOptions", "ModelEntry",
    "ResultsMismatchError", "RunKey", "SchedulerUnreachableError", "Sensitivity", "SizePlan", "StatisticsPlan",
    "StoreLockedError", "cap_share", "family_table", "chosen_learning_rates", "compared_to", "comparisons", "estimate_seconds", "export_results",
    "final_rows", "get_config", "judge", "judgement", "learning_curves", "load_results", "merge_stores",
    "paired_comparison", "pairing_check", "plan_runs", "read_store", "ready_runs", "run_benchmark", "scale_results",
    "summarize", "t_interval", "tuned_learning_rates", "tuning_outcomes", "verdict", "write_export",
]
