"""hqc_course.benchmark on real Dask processes on localhost: the runner, its faults and its bad input.

Fake trainers (tests/benchmark_fakes.py) keep the runs short; the clusters, worker processes,
run processes, kills and locks are real. The real trainers run in the slow tests at the end. The kill and lock
tests that start a driver process (each with a cluster of its own, tens of seconds) are marked slow too.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from benchmark_fakes import FINGERPRINT, config, fake_models

from hqc_course.benchmark import (
    ClusterOptions,
    RunKey,
    SchedulerUnreachableError,
    StoreLockedError,
    load_results,
    plan_runs,
    read_store,
    run_benchmark,
)
from hqc_course.benchmark.__main__ import main
from hqc_course.benchmark.cluster import slurm_cluster

TESTS = Path(__file__).resolve().parent
LOCAL = ClusterOptions(workers=2, dashboard_address=":0")
FP = {"mnist": FINGERPRINT}


def keys_of(rows):
    return [RunKey.of_row(r) for r in rows]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def driver(store, folder, sleep="1.0"):
    """The fake driver script as a process of its own (so that it can be killed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS.parent)]))
    return subprocess.Popen([sys.executable, str(TESTS / "benchmark_fakes.py"), str(store), str(folder), sleep],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def store_rows(store):
    try:
        return read_store(store)[1]
    except (FileNotFoundError, ValueError, RuntimeError):
        return []


# ------------------------------------------------------------------ the normal path
def test_runs_every_planned_run_once_and_exports(tmp_path):
    cfg = config(seeds=3, tuned=True)
    lines = []
    out = run_benchmark(cfg, tmp_path / "s.jsonl", LOCAL, models=fake_models(tmp_path), fingerprints=FP,
                        write=lines.append)
    assert out.ok and out.finished_here == len(plan_runs(cfg, out.rows)) == 4 + 6
    assert sorted(map(str, keys_of(out.rows))) == sorted(map(str, plan_runs(cfg, out.rows)))
    # tuning on validation loss chose 3e-3 (the test accuracy would have chosen 1e-3)
    assert {r["learning_rate"] for r in out.rows if r["phase"] == "final"} == {3e-3}
    results = load_results(tmp_path / "s.json")  # the export the notebooks read
    assert results["learning_rates"] == {"mnist/20/hybrid_4q": 3e-3, "mnist/20/twin_4q": 3e-3}
    assert len(results["rows"]) == 10 and results["config"]["name"] == "fake-tuned"
    # progress: the plan with its dashboard, then one line per finished run with done/total, failures and an ETA
    assert "dashboard http://" in lines[0] and "CPU-hours" in lines[1]
    runs = [x for x in lines if x.startswith("[")]
    assert len(runs) == 10 and runs[-1].startswith("[10/10]") and all("| failed 0 | ETA" in x for x in runs)
    # a second call has nothing to do
    again = run_benchmark(cfg, tmp_path / "s.jsonl", LOCAL, models=fake_models(tmp_path), fingerprints=FP,
                          write=lines.append)
    assert again.finished_here == 0 and len(again.rows) == 10


def test_final_runs_start_as_soon_as_their_tuning_is_complete(tmp_path):
    cfg = config(seeds=2, tuned=True)
    out = run_benchmark(cfg, tmp_path / "s.jsonl", LOCAL, models=fake_models(tmp_path), fingerprints=FP,
                        write=lambda line: None)
    order = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()[1:]]
    done_tuning = {}
    for i, record in enumerate(order):
        row = record["row"]
        if row["phase"] == "tune":
            done_tuning.setdefault(row["model"], []).append(i)
        else:  # a final run is recorded only after both tuning runs of its model
            assert len(done_tuning.get(row["model"], [])) == 2
    assert out.ok


def test_no_more_runs_in_flight_than_the_cluster_has_threads(tmp_path):
    # Dask gives a task to a worker when it is submitted; runs submitted all at once pile up in one worker's
    # queue while another sits idle. The driver holds them back: at any time, at most 2 runs (2 threads) out.
    cfg = config(seeds=4, tuned=False)
    out = run_benchmark(cfg, tmp_path / "s.jsonl", LOCAL, models=fake_models(tmp_path), fingerprints=FP,
                        write=lambda line: None)
    assert out.ok and len(out.engine) == 8
    events = sorted([(e["submitted"], 1) for e in out.engine] + [(e["task_end"], -1) for e in out.engine])
    out_now = most = 0
    for _, change in events:
        out_now += change
        most = max(most, out_now)
    assert most <= 2, f"{most} runs were submitted and not finished at once on a cluster of 2 threads"


# ------------------------------------------------------------------ (a) a worker killed mid-run
@pytest.mark.slow  # a driver process with a cluster of its own
def test_a_worker_killed_mid_run_has_its_run_redone_elsewhere(tmp_path):
    store = tmp_path / "s.jsonl"
    proc = driver(store, tmp_path, sleep="4")
    try:
        announced = wait_for(lambda: sorted(tmp_path.glob("hybrid_4q-*.json")), 120, "a hybrid run to start")
        victim = json.loads(announced[0].read_text())
        os.kill(victim["worker"], signal.SIGKILL)
        output, _ = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, output[-3000:]
    rows = read_store(store)[1]
    assert sorted(map(str, keys_of(rows))) == sorted(map(str, plan_runs(config(seeds=4))))  # every run, once
    # the run process of the killed worker stopped with it: no orphan training goes on
    wait_for(lambda: not psutil.pid_exists(victim["child"]) or
             psutil.Process(victim["child"]).status() == psutil.STATUS_ZOMBIE, 10, "the orphan to stop")


# ------------------------------------------------------------------ (b) the driver killed
@pytest.mark.slow  # a driver process with a cluster of its own
def test_a_killed_driver_loses_nothing_and_a_rerun_completes_only_what_is_missing(tmp_path):
    store = tmp_path / "s.jsonl"
    proc = driver(store, tmp_path, sleep="2")
    try:
        wait_for(lambda: len(store_rows(store)) >= 2, 180, "two finished runs")
        family = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    before = store.read_text().splitlines()
    # the cluster and the runs' processes die with the driver
    wait_for(lambda: all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in family), 30,
             "the driver's workers and run processes to stop")
    assert 2 <= len(before) - 1 < 8
    rerun = driver(store, tmp_path, sleep="0")
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output[-3000:]
    after = store.read_text().splitlines()
    assert after[: len(before)] == before  # nothing finished before the kill was redone or changed
    rows = read_store(store)[1]
    assert sorted(map(str, keys_of(rows))) == sorted(map(str, plan_runs(config(seeds=4))))


def test_a_torn_last_line_is_cut_off_when_the_store_is_reopened(tmp_path):
    cfg = config(seeds=2)
    store = tmp_path / "s.jsonl"
    run_benchmark(cfg, store, LOCAL, models=fake_models(tmp_path), fingerprints=FP, write=lambda line: None)
    text = store.read_text()
    lines = text.splitlines(keepends=True)
    store.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # a kill in the middle of a write
    assert len(read_store(store)[1]) == 3  # readers ignore the torn line
    out = run_benchmark(cfg, store, LOCAL, models=fake_models(tmp_path), fingerprints=FP, write=lambda line: None)
    assert out.finished_here == 1 and len(out.rows) == 4
    assert all(line.endswith("\n") for line in store.read_text().splitlines(keepends=True))


# ------------------------------------------------------------------ (c) a trainer that raises
def test_a_failing_run_is_retried_then_recorded_and_the_grid_goes_on(tmp_path):
    cfg = config(seeds=3)
    models = fake_models(tmp_path, hybrid_4q={"fail": "once"}, twin_4q={"fail": "always"})
    lines = []
    out = run_benchmark(cfg, tmp_path / "s.jsonl", LOCAL, retries=2, models=models, fingerprints=FP,
                        write=lines.append)
    assert not out.ok
    assert sorted(out.failed) == [f"final mnist 20 twin_4q seed {s}" for s in range(3)]
    assert sorted(r["model"] for r in out.rows) == ["hybrid_4q"] * 3  # the hybrid failed once each, then passed
    failures = read_store(tmp_path / "s.jsonl")[2]
    twin = [f for f in failures if f["key"][3] == "twin_4q"]
    assert sorted(f["attempt"] for f in twin) == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # 1 + 2 retries each
    assert all("ArithmeticError: fake failure of twin_4q" in f["traceback"] and "fake_train" in f["traceback"]
               for f in twin)
    assert len([f for f in failures if f["key"][3] == "hybrid_4q"]) == 3
    assert any(x.startswith("FAILED final mnist 20 twin_4q") and x.endswith("giving up") for x in lines)
    assert load_results(tmp_path / "s.json")["failures"]  # the export lists the runs that never succeeded


def test_the_command_exits_non_zero_naming_the_failed_runs(tmp_path, monkeypatch, capsys):
    import hqc_course.benchmark.run as run_module
    import hqc_course.benchmark.spec as spec

    monkeypatch.setitem(spec.CONFIGS, "fake", config(seeds=2))
    monkeypatch.setattr(run_module, "MODELS", fake_models(tmp_path, hybrid_4q={"fail": "always"}))
    monkeypatch.setattr(run_module, "_fingerprints", lambda config: FP)
    code = main(["run", "--config", "fake", "--store", str(tmp_path / "s.jsonl"), "--workers", "2", "--retries", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 run(s) failed every attempt" in err and "final mnist 20 hybrid_4q seed 0" in err


# ------------------------------------------------------------------ (d) a scheduler that does not answer
def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_30_s(tmp_path, capsys):
    start = time.monotonic()
    with pytest.raises(SchedulerUnreachableError, match=r"no Dask scheduler answered at tcp://127.0.0.1:9 within"):
        run_benchmark(config(seeds=2), tmp_path / "s.jsonl", ClusterOptions(scheduler="tcp://127.0.0.1:9"),
                      models=fake_models(tmp_path), fingerprints=FP)
    assert time.monotonic() - start < 30
    code = main(["run", "--config", "quick", "--store", str(tmp_path / "q.jsonl"), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2 and "no Dask scheduler answered" in capsys.readouterr().err
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("options, match", [
    (dict(scheduler="127.0.0.1:8786"), r"expected an address like tcp://HOST:PORT"),
    (dict(workers=0), r"workers must be a positive integer"),
    (dict(scheduler="tcp://x:1", slurm_jobs=2), r"either a scheduler address or Slurm jobs"),
])
def test_cluster_options_are_checked(options, match):
    with pytest.raises(ValueError, match=match):
        ClusterOptions(**options)


# ------------------------------------------------------------------ (e) a second driver on the same store
@pytest.mark.slow  # a driver process with a cluster of its own
def test_a_second_driver_on_the_same_store_is_refused_naming_the_holder(tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    proc = driver(store, tmp_path, sleep="3")
    try:
        wait_for(lambda: Path(str(store) + ".driver.json").exists() and store.exists(), 120, "the first driver")
        with pytest.raises(StoreLockedError, match=rf"being written by another driver: pid {proc.pid} on host "):
            run_benchmark(config(seeds=4), store, LOCAL, models=fake_models(tmp_path), fingerprints=FP)
        proc.wait(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert len(read_store(store)[1]) == 8  # the refused driver wrote nothing


# ------------------------------------------------------------------ Slurm: the job script (there is no Slurm here)
def test_the_slurm_cluster_asks_for_what_the_options_say():
    options = ClusterOptions(slurm_jobs=4, slurm_cores=16, slurm_memory="32GB", slurm_walltime="08:00:00",
                             slurm_queue="compute", slurm_account="qml", dashboard_address=":0")
    cluster = slurm_cluster(options)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -n 1", "#SBATCH --cpus-per-task=16", "#SBATCH --mem=30G", "#SBATCH -t 08:00:00",
                 "#SBATCH -p compute", "#SBATCH -A qml", "export OMP_NUM_THREADS=1", "export TF_NUM_INTRAOP_THREADS=1",
                 "export DASK_DISTRIBUTED__WORKER__DAEMON=False", "--nworkers 16", "--nthreads 1"):
        assert line in script, f"{line!r} not in the job script:\n{script}"


def test_the_command_prints_the_slurm_job_script(capsys):
    code = main(["run", "--config", "quick", "--slurm", "--jobs", "2", "--cores", "4", "--memory", "8GB",
                 "--print-job-script"])
    assert code == 0 and "#SBATCH --cpus-per-task=4" in capsys.readouterr().out


# ------------------------------------------------------------------ the real trainers
@pytest.mark.slow
def test_a_hand_started_cluster_gives_the_same_rows_as_the_local_one(tmp_path):
    """`dask scheduler` and two `dask worker` processes started by hand, against the embedded LocalCluster."""
    from hqc_course.benchmark import BenchmarkConfig, SizePlan

    cfg = BenchmarkConfig(name="same-rows", datasets=("mnist",), n_test=300, lr_grid=(3e-3,), epochs=2, patience=1,
                          sizes=(SizePlan(200, 100, (0, 1), ("twin_4q", "hybrid_4q")),))
    local = run_benchmark(cfg, tmp_path / "local.jsonl", LOCAL, write=lambda line: None)
    dask_bin = Path(sys.executable).with_name("dask")
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(TESTS.parent))
    processes = [subprocess.Popen([str(dask_bin), "scheduler", "--port", "0", "--dashboard-address", ":0",
                                   "--scheduler-file", str(scheduler_file)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
    try:
        wait_for(scheduler_file.exists, 60, "the scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            processes.append(subprocess.Popen([str(dask_bin), "worker", address, "--nthreads", "1",
                                               "--dashboard-address", ":0"], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        remote = run_benchmark(cfg, tmp_path / "remote.jsonl", ClusterOptions(scheduler=address),
                               write=lambda line: None)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=30)
    measured = ("test_accuracy", "test_loss", "val_loss", "val_accuracy", "best_epoch", "history", "test_correct")
    by_key = {RunKey.of_row(r): r for r in local.rows}
    assert len(remote.rows) == len(local.rows) == 4
    for row in remote.rows:
        assert {k: row[k] for k in measured} == {k: by_key[RunKey.of_row(row)][k] for k in measured}
    # the hand-started workers are daemonic, so each run had a process of its own: a different path, the same rows
    assert len({r["worker"] for r in remote.rows}) == 4


@pytest.mark.slow
def test_the_quick_config_runs_end_to_end(tmp_path):
    """The README's command at CI size: `python -m hqc_course.benchmark run --config quick` (a few minutes)."""
    store = tmp_path / "quick.jsonl"
    proc = subprocess.run([sys.executable, "-m", "hqc_course.benchmark", "run", "--config", "quick", "--store", str(store)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = load_results(store.with_suffix(".json"))
    rows = results["rows"]
    assert len(rows) == results["planned_runs"] == 20
    assert all(0.0 <= r["test_accuracy"] <= 1.0 and r["trainable_params"] > 0 for r in rows)
    assert results["provenance"]["keras_backend"] == "tensorflow"
    assert results["provenance"]["fingerprints"]["mnist"]["sha256"] == rows[0]["data_fingerprint"]["sha256"]
    assert "hybrid_4q vs twin_4q (5 seeds)" in proc.stdout and "dashboard http://" in proc.stdout
