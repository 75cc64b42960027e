"""helpers.benchmark: statistics, resume, atomic writes, config validation — with a fake trainer."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from helpers.benchmark import (CONFIGS, BenchmarkConfig, ResultsMismatchError, _t_interval, paired_comparison,
                               run_benchmark, summarize, verdict)

TINY = BenchmarkConfig(name="tiny", datasets=("mnist",), models=("twin_4q", "hybrid_4q"), seeds=(0, 1, 2),
                       sizes={"mnist": {"n_train": 20, "n_val": 10, "n_test": 10}}, epochs=1)


def fake_train(dataset, model, seed, config):
    # deterministic, model- and seed-dependent numbers
    acc = 0.5 + 0.1 * seed + (0.05 if model == "hybrid_4q" else 0.0)
    return {"test_accuracy": acc, "test_loss": 1 - acc, "best_epoch": 1, "epochs_run": 1,
            "seconds_per_epoch": 0.1, "inference_seconds": 0.01, "trainable_params": 10,
            "data_source": "fake", "data_name": dataset, "is_standin": False}


def test_t_interval_matches_known_values():
    mean, std, half = _t_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert mean == 3.0 and std == pytest.approx(np.sqrt(2.5))
    assert half == pytest.approx(2.7764451 * np.sqrt(2.5) / np.sqrt(5), rel=1e-6)  # t(0.975, 4) = 2.776445


def test_paired_comparison_matches_scipy_and_words():
    from scipy import stats

    rows = []
    a = [0.80, 0.82, 0.79, 0.85, 0.81]
    b = [0.84, 0.85, 0.83, 0.88, 0.86]
    for seed, (x, y) in enumerate(zip(a, b)):
        rows += [{"dataset": "mnist", "model": "hybrid_4q", "seed": seed, "test_accuracy": x},
                 {"dataset": "mnist", "model": "twin_4q", "seed": seed, "test_accuracy": y}]
    c = paired_comparison(rows, "mnist", "hybrid_4q", "twin_4q")
    assert c["mean difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert c["p value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert c["significant"]
    assert "twin_4q is better than hybrid_4q by 3.8 ± 1.0 points" in verdict(c)


def test_verdict_says_no_difference_when_the_interval_contains_zero():
    rows = []
    for seed, (x, y) in enumerate([(0.8, 0.81), (0.82, 0.80), (0.79, 0.80)]):
        rows += [{"dataset": "d", "model": "a", "seed": seed, "test_accuracy": x},
                 {"dataset": "d", "model": "b", "seed": seed, "test_accuracy": y}]
    text = verdict(paired_comparison(rows, "d", "a", "b"))
    assert "no significant difference at 95%" in text


def test_run_resumes_and_skips_finished_rows(tmp_path):
    out = tmp_path / "r.json"
    calls = []

    def counting(*args):
        calls.append(args[:3])
        return fake_train(*args)

    run_benchmark(TINY, out, progress=False, train_fn=counting)
    assert len(calls) == 6
    results = run_benchmark(TINY, out, progress=False, train_fn=counting)
    assert len(calls) == 6 and len(results["rows"]) == 6  # nothing re-run
    summary = summarize(results["rows"]).set_index("model")
    assert summary.loc["hybrid_4q", "mean accuracy"] == pytest.approx(0.65)
    assert summary.loc["twin_4q", "runs"] == 3


def test_failure_mid_run_keeps_finished_rows_and_a_valid_file(tmp_path):
    out = tmp_path / "r.json"

    def failing(dataset, model, seed, config):
        if seed == 1:
            raise RuntimeError("boom")
        return fake_train(dataset, model, seed, config)

    with pytest.raises(RuntimeError):
        run_benchmark(TINY, out, progress=False, train_fn=failing)
    rows = json.loads(out.read_text())["rows"]
    assert {(r["model"], r["seed"]) for r in rows} == {("twin_4q", 0), ("hybrid_4q", 0)}
    assert not list(tmp_path.glob(".r.json.*.tmp"))  # no temporary file left behind


def test_sigkill_leaves_only_complete_rows(tmp_path):
    out = tmp_path / "r.json"
    script = textwrap.dedent(f"""
        import time, sys
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from test_benchmark import TINY, fake_train
        from helpers.benchmark import run_benchmark
        def slow(*a):
            time.sleep(0.4)
            return fake_train(*a)
        run_benchmark(TINY, {str(out)!r}, progress=False, train_fn=slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline and not (out.exists() and len(json.loads(out.read_text())["rows"]) >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = json.loads(out.read_text())["rows"]  # parses: never half-written
    assert 2 <= len(rows) < 6
    assert all("test_accuracy" in r and "date" in r for r in rows)
    resumed = run_benchmark(TINY, out, progress=False, train_fn=fake_train)
    assert len(resumed["rows"]) == 6
    assert len({(r["model"], r["seed"]) for r in resumed["rows"]}) == 6  # no duplicates


def test_results_of_another_config_are_refused(tmp_path):
    out = tmp_path / "r.json"
    run_benchmark(TINY, out, progress=False, train_fn=fake_train)
    other = BenchmarkConfig(name="tiny", datasets=("mnist",), models=("twin_4q", "hybrid_4q"), seeds=(0, 1, 2),
                            sizes={"mnist": {"n_train": 20, "n_val": 10, "n_test": 10}}, epochs=2)
    with pytest.raises(ResultsMismatchError, match="refusing to mix"):
        run_benchmark(other, out, progress=False, train_fn=fake_train)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"datasets": ("svhn",)}, r"allowed a non-empty subset of \['mnist', 'cifar10'\]"),
        ({"models": ("resnet",)}, r"unknown models \['resnet'\]"),
        ({"seeds": (0,)}, r"need at least 2 distinct"),
        ({"seeds": (1, 1)}, r"need at least 2 distinct"),
        ({"epochs": 0}, r"epochs must be a positive integer"),
        ({"sizes": {"mnist": {"n_train": 20}}}, r"sizes\['mnist'\] must give n_train, n_val and n_test"),
    ],
)
def test_config_validation(kwargs, match):
    base = dict(name="x", datasets=("mnist",), models=("cnn",), seeds=(0, 1),
                sizes={"mnist": {"n_train": 20, "n_val": 10, "n_test": 10}})
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        BenchmarkConfig(**base)


def test_unknown_config_name():
    with pytest.raises(ValueError, match="unknown config 'huge': allowed 'quick', 'full'"):
        run_benchmark("huge", "unused.json")


def test_course_configs_use_enough_seeds():
    assert len(CONFIGS["quick"].seeds) >= 5 and len(CONFIGS["full"].seeds) >= 10


def test_quick_config_runs_end_to_end(tmp_path):
    """The real thing at CI size: `python -m helpers.benchmark --config quick` (a few minutes)."""
    out = tmp_path / "quick.json"
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "helpers.benchmark", "--config", "quick", "--output", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    config = CONFIGS["quick"]
    assert len(rows) == len(config.models) * len(config.seeds)
    assert all(0.0 <= r["test_accuracy"] <= 1.0 and r["trainable_params"] > 0 for r in rows)
    assert "hybrid_4q vs twin_4q over 5 seeds" in proc.stdout
    print(f"quick benchmark: {time.time() - start:.0f} s")
