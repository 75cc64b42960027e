"""How fast the benchmark's engine is: results/bench_engine.json (the README quotes it).

    python -m tools.bench_engine            # about 10 minutes, on an otherwise idle machine
    python -m tools.bench_engine --quick    # a smoke test of this script (numbers not meaningful)
    python -m tools.bench_engine --parts per_run   # measure one part again, keep the others

What it measures (timings go here, never into test assertions):

* ``grid``: the wall time of one small real grid (MNIST, 1,000 images, cnn/twin/hybrid, 4 seeds, 20
  epochs) on a local Dask cluster with 1 worker process (one thread per run, then two) and with 2
  worker processes (one thread each), and the speed-ups; the CPU use of every core
  while the 2-worker grid runs (psutil, sampled every half second), and the CPU time of the
  driver and of the idle Dask workers, which is the engine's own cost.
* ``ceiling``: what the machine allows without any engine: one training alone, then two at once
  (samples/s together); two cores that share memory and caches rarely give 2x.
* ``overhead``: per run, the seconds from ``client.submit`` to the task starting on an idle
  worker (Dask's scheduling), and from there to the trainer starting in a warm child process
  (the hand-over) or in a fresh one (Python and TensorFlow start again).
* ``per_run``: training samples per second of ``model.fit`` (1,000 MNIST digits, batch 32, one
  thread, median of the epochs after the first) for cnn, twin and hybrid with the benchmark's
  settings before this engine (``steps_per_execution=1``) and now (32), against the PennyLane
  TorchLayer stack's classical control in PyTorch (the same trunk and block as tools/bench_layer's
  peer) at one thread; and whether the two settings train the same weights.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "bench_engine.json"


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "repeats": [round(v, 4) for v in values]}


# ------------------------------------------------------------------ the grid, 1 and 2 workers
def grid_config(quick: bool):
    """The small grid this tool times on 1 and 2 workers: a measuring instrument, not a benchmark the chapters read,
    so it is not one of hqc_course.benchmark.CONFIGS (its store lives in a temporary folder and is thrown away)."""
    from hqc_course.benchmark import BenchmarkConfig, SizePlan

    return BenchmarkConfig(name="engine-speed", datasets=("mnist",), n_test=1000, lr_grid=(1e-3,), epochs=2 if quick else 20,
                           patience=50, steps_per_execution=32,
                           sizes=(SizePlan(300 if quick else 1000, 200, tuple(range(2 if quick else 4)),
                                           ("cnn", "twin_4q", "hybrid_4q")),))


def measure_grid(workers: int, threads: int, quick: bool) -> dict:
    import psutil

    from hqc_course.benchmark import ClusterOptions, run_benchmark

    samples: list[list[float]] = []
    stop = threading.Event()

    def sample():
        psutil.cpu_percent(percpu=True)
        while not stop.wait(0.5):
            samples.append(psutil.cpu_percent(percpu=True))

    me = psutil.Process()
    with tempfile.TemporaryDirectory() as folder:
        thread = threading.Thread(target=sample, daemon=True)
        cpu_before = me.cpu_times()
        start = time.perf_counter()
        thread.start()
        outcome = run_benchmark(grid_config(quick), Path(folder) / "grid.jsonl",
                                ClusterOptions(workers=workers, threads_per_run=threads, dashboard_address=":0"), write=lambda line: None)
        wall = time.perf_counter() - start
        stop.set()
        thread.join()
        cpu_after = me.cpu_times()
    assert outcome.ok, outcome.failed
    rows = outcome.rows
    per_core = [statistics.mean(s[i] for s in samples) for i in range(len(samples[0]))] if samples else []
    return {"workers": workers, "threads_per_run": threads, "runs": len(rows), "wall_seconds": round(wall, 2),
            "training_seconds": round(sum(r["run_seconds"] for r in rows), 2),
            "run_seconds_mean": round(statistics.mean(r["run_seconds"] for r in rows), 2),
            # the share of the workers' time spent in runs: 1.0 = no worker ever waited for a run
            "workers_busy_share": round(sum(r["run_seconds"] for r in rows) / (workers * wall), 3),
            "queue_seconds_median": statistics.median(r["queue_seconds"] for r in rows),
            "start_seconds": [r["start_seconds"] for r in rows],
            "cpu_percent_per_core_mean": [round(c, 1) for c in per_core],
            "share_of_samples_all_cores_above_90": round(sum(min(s) > 90 for s in samples) / max(1, len(samples)), 3),
            "driver_cpu_seconds": round((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2)}


# ------------------------------------------------------------------ the engine's overhead per run
def _noop(request):
    return {"n_train": 1, "n_val": 1, "n_test": 1, "test_accuracy": 0.0, "test_loss": 0.0, "val_accuracy": 0.0,
            "val_loss": 0.0, "train_accuracy": 0.0, "best_epoch": 1, "epochs_run": 1, "hit_cap": False,
            "seconds_per_epoch": 0.0, "epoch_seconds": [0.0], "inference_seconds": 0.0, "trainable_params": 0,
            "data_name": "none", "data_fingerprint": None}


def measure_overhead(repeats: int) -> dict:
    import dask
    from distributed import Client, LocalCluster

    from hqc_course.isolate import pack, run_isolated
    from hqc_course.runs import RunRequest

    request = RunRequest("mnist", 10, 10, 10, 0, 1e-3, 1, 0)
    out = {"submit_to_start": [], "start_to_trainer_warm": [], "start_to_trainer_fresh": []}
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
        for i in range(repeats):
            submitted = time.time()
            result = client.submit(run_isolated, pack(_noop, request), 1, pure=False).result()
            timing = result["timing"]
            out["submit_to_start"].append(timing["task_start"] - submitted)
            key = "start_to_trainer_fresh" if i % 8 == 0 else "start_to_trainer_warm"  # a child serves 8 runs
            out[key].append(timing["trainer_start"] - timing["task_start"])
    return {k: spread(v) for k, v in out.items() if v}


# ------------------------------------------------------------------ per-run training speed
CHILD = r'''
import json, os, statistics, sys
threads, which, spe = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from hqc_course.data import load_mnist
data = load_mnist(n_train=1000, n_val=100, n_test=100, seed=0, verbose=False)
if which == "peer":
    import time, numpy as np, torch
    from torch import nn
    torch.set_num_threads(threads); torch.manual_seed(0)
    x = torch.tensor(np.transpose(data.x_train, (0, 3, 1, 2))); y = torch.tensor(data.y_train).long()
    class RingDense(nn.Module):
        def __init__(self):
            super().__init__(); self.kernel = nn.Parameter(torch.randn(1, 2, 4))
        def forward(self, v):
            return torch.tanh(self.kernel[0, 0] * v + self.kernel[0, 1] * torch.roll(v, -1, dims=-1))
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 4),
                        nn.BatchNorm1d(4, momentum=0.1), nn.Sigmoid(), RingDense(), nn.Linear(4, 10))
    opt = torch.optim.Adam(net.parameters(), 1e-3); loss_fn = nn.CrossEntropyLoss(); seconds = []
    for _ in range(6):
        start = time.perf_counter()
        for i in torch.randperm(len(x)).split(32):
            opt.zero_grad(); loss_fn(net(x[i]), y[i]).backward(); opt.step()
        seconds.append(time.perf_counter() - start)
    print("RESULT " + json.dumps({"epoch_seconds": seconds[1:]}))
    sys.exit(0)
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads); tf.config.threading.set_inter_op_parallelism_threads(threads)
import numpy as np
from hqc_course.models import compile_classifier, create_model
from hqc_course.reproducibility import set_seed
from hqc_course.training import EpochTimer
set_seed(0)
model = create_model(which, data.input_shape, 10, n_qubits=4, seed=0)
compile_classifier(model, 1e-3, steps_per_execution=spe)
timer = EpochTimer()
model.fit(data.x_train, data.y_train, batch_size=32, epochs=6, verbose=0, callbacks=[timer])
digest = float(sum(np.abs(w).sum() for w in model.get_weights()))
print("RESULT " + json.dumps({"epoch_seconds": timer.seconds[1:], "weights_abs_sum": digest}))
'''


def run_child(threads: int, which: str, spe: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(threads), which, str(spe)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{which} (spe {spe}) failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def measure_per_run(quick: bool) -> dict:
    # Every setting runs `repeats` times, interleaved (a round runs each setting once), so that a slow
    # spell of the machine falls on all settings alike; a setting's figure is the median over all its epochs.
    repeats = 1 if quick else 3
    settings = [(which, spe) for which in ("cnn", "twin", "hybrid") for spe in (1, 32)] + [("peer", 1)]
    runs: dict[tuple[str, int], list[dict]] = {s: [] for s in settings}
    for round_ in range(repeats):
        for which, spe in settings:
            runs[(which, spe)].append(run_child(1, which, spe))
            epochs = runs[(which, spe)][-1]["epoch_seconds"]
            print(f"  round {round_ + 1}: {which:7s} steps_per_execution={spe:2d}: "
                  f"{1000 / statistics.median(epochs):7.0f} samples/s", flush=True)
    rows = []
    for (which, spe), done in runs.items():
        if which == "peer":
            continue
        epochs = [s for r in done for s in r["epoch_seconds"]]
        digests = {r["weights_abs_sum"] for r in done}
        rows.append({"model": which, "steps_per_execution": spe, "epoch_s": spread(epochs),
                     "samples_per_s": round(1000 / statistics.median(epochs), 1),
                     "weights_abs_sum": done[0]["weights_abs_sum"], "same_weights_every_repeat": len(digests) == 1})
    peer = {"epoch_seconds": [s for r in runs[("peer", 1)] for s in r["epoch_seconds"]]}
    peer_rate = 1000 / statistics.median(peer["epoch_seconds"])
    print(f"  peer (PennyLane TorchLayer stack's classical control, torch): {peer_rate:7.0f} samples/s", flush=True)
    rate = {(r["model"], r["steps_per_execution"]): r["samples_per_s"] for r in rows}
    same = {m: next(r["weights_abs_sum"] for r in rows if r["model"] == m and r["steps_per_execution"] == 1) ==
            next(r["weights_abs_sum"] for r in rows if r["model"] == m and r["steps_per_execution"] == 32)
            for m in ("cnn", "twin", "hybrid")}
    return {"setting": "1,000 MNIST digits, batch 32, 1 thread, fit without validation, median of epochs 2-6 "
                       f"of {repeats} interleaved runs per setting",
            "rows": rows, "peer_classical_control": {"epoch_s": spread(peer["epoch_seconds"]),
                                                     "samples_per_s": round(peer_rate, 1)},
            "speedup_from_steps_per_execution": {m: round(rate[(m, 32)] / rate[(m, 1)], 3) for m in ("cnn", "twin", "hybrid")},
            "twin_vs_peer_classical_control": {"before": round(rate[("twin", 1)] / peer_rate, 3),
                                               "now": round(rate[("twin", 32)] / peer_rate, 3)},
            "same_weights_with_either_setting": same}


def measure_ceiling(quick: bool) -> dict:
    """What the machine itself allows: one training alone, then two at once (no Dask), in samples/s."""
    def many(n: int) -> list[dict]:
        out: list[dict] = [{}] * n
        threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, run_child(1, "twin", 32))) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    rounds = 1 if quick else 3
    alone, together = [], []
    for _ in range(rounds):
        alone += [1000 / statistics.median(r["epoch_seconds"]) for r in many(1)]
        pair = many(2)
        together.append(sum(1000 / statistics.median(r["epoch_seconds"]) for r in pair))
    ratio = statistics.median(together) / statistics.median(alone)
    print(f"  one training alone {statistics.median(alone):.0f} samples/s, two at once {statistics.median(together):.0f} "
          f"samples/s together: {ratio:.2f}x", flush=True)
    return {"setting": "twin, steps_per_execution=32, 1,000 MNIST digits, 1 thread each, no Dask; median of "
                       f"{rounds} rounds", "alone_samples_per_s": spread(alone),
            "two_at_once_total_samples_per_s": spread(together), "ceiling_speedup": round(ratio, 3)}


PARTS = ("per_run", "ceiling", "overhead", "grid")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_engine", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: tiny sizes, numbers not meaningful")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="measure only these parts and keep the others from the existing results file")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import platform

    from hqc_course.benchmark.store import code_version
    from hqc_course.reproducibility import run_environment

    result = json.loads(OUT.read_text()) if set(args.parts) != set(PARTS) and OUT.exists() else {}
    result.update({"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
                   "date": time.strftime("%Y-%m-%d"), "commit": code_version(),
                   "versions": run_environment()["versions"], "quick": args.quick})
    if "per_run" in args.parts:
        print("per-run training speed ...", flush=True)
        result["per_run"] = measure_per_run(args.quick)
    if "ceiling" in args.parts:
        print("two trainings at once, without the engine ...", flush=True)
        result["ceiling"] = measure_ceiling(args.quick)
    if "overhead" in args.parts:
        print("engine overhead per run ...", flush=True)
        result["overhead"] = measure_overhead(9 if args.quick else 25)
    if "grid" in args.parts:
        # 1 worker with 1 thread per run: how the engine scales; 1 worker with 2 threads per run (the
        # default for one worker on 2 cores): the alternative to parallel runs; 2 workers, 1 thread each.
        for name, workers, threads in (("grid_1", 1, 1), ("grid_1_two_threads", 1, 2), ("grid_2", 2, 1)):
            print(f"grid on {workers} worker(s), {threads} thread(s) per run ...", flush=True)
            result[name] = measure_grid(workers, threads, args.quick)
            print(f"  {result[name]['wall_seconds']:.1f} s", flush=True)
        result["speedup_2_over_1"] = round(result["grid_1"]["wall_seconds"] / result["grid_2"]["wall_seconds"], 3)
        result["speedup_2_over_1_two_threads"] = round(result["grid_1_two_threads"]["wall_seconds"]
                                                       / result["grid_2"]["wall_seconds"], 3)
    if "ceiling" in result and "speedup_2_over_1" in result:
        # the engine's share of what the machine allows: 1.0 = the grid scales as two bare trainings do
        result["speedup_over_ceiling"] = round(result["speedup_2_over_1"] / result["ceiling"]["ceiling_speedup"], 3)
    missing = [p for p in ("per_run", "ceiling", "overhead", "grid_1") if p not in result]
    if missing:
        raise SystemExit(f"{OUT} has no {missing}: measure all parts once (no --parts)")
    result["targets"] = [
        {"target": "speed-up >= 1.8x with 2 local workers on 2 cores", "value": result["speedup_2_over_1"],
         "met": result["speedup_2_over_1"] >= 1.8},
        {"target": "engine overhead <= 1 s from submit to start", "value": result["overhead"]["submit_to_start"]["median"],
         "met": result["overhead"]["submit_to_start"]["median"] <= 1.0},
        {"target": ">= 1.0x the PennyLane TorchLayer stack's classical control (twin, samples/s)",
         "value": result["per_run"]["twin_vs_peer_classical_control"]["now"],
         "met": result["per_run"]["twin_vs_peer_classical_control"]["now"] >= 1.0},
    ]
    for t in result["targets"]:
        print(f"{'met' if t['met'] else 'MISSED'}: {t['target']}: {t['value']}")
    if not args.quick:
        from hqc_course.files import atomic_write_text

        atomic_write_text(OUT, json.dumps(result, indent=1) + "\n")
        print(f"written {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
