"""helpers.benchmark: the plan, shards, tuning on validation, provenance, resume, statistics — with fake trainers."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from helpers.benchmark import (
    CONFIGS,
    BenchmarkConfig,
    ResultsMismatchError,
    SizePlan,
    _t_interval,
    cap_share,
    chosen_learning_rates,
    comparisons,
    merge_results,
    paired_comparison,
    plan_runs,
    run_benchmark,
    select_runs,
    summarize,
    verdict,
)

TINY = BenchmarkConfig(name="tiny", datasets=("mnist",), sizes=(SizePlan(20, 10, (0, 1, 2), ("twin_4q", "hybrid_4q")),),
                       lr_grid=(1e-3,), epochs=1)
TUNED = BenchmarkConfig(name="tuned", datasets=("mnist",), sizes=(SizePlan(20, 10, (0, 1), ("cnn", "twin_4q")),),
                        lr_grid=(1e-3, 3e-3), tuning_n_train=20, tuning_n_val=10, epochs=1)
FINGERPRINT = {"dataset": "mnist", "variant": "original", "source_kind": "folder", "file": "mnist.npz",
               "sha256": "a" * 64, "origin": ""}


def fake_train(dataset, model, seed, n_train, n_val, lr, config, fingerprint=FINGERPRINT):
    # deterministic numbers; the test accuracy prefers lr 1e-3, the validation accuracy prefers 3e-3
    acc = 0.5 + 0.1 * seed + (0.05 if model == "hybrid_4q" else 0.0)
    val = acc + (0.2 if lr == 3e-3 else 0.0)
    test = acc + (0.2 if lr == 1e-3 else 0.0)
    return {"n_train": n_train, "n_val": n_val, "n_test": 10, "test_accuracy": test, "test_loss": 1 - acc,
            "val_accuracy": val, "val_loss": 1 - val, "train_accuracy": acc, "best_epoch": 1, "epochs_run": 1,
            "hit_cap": seed == 0, "seconds_per_epoch": 0.1, "epoch_seconds": [0.1], "inference_seconds": 0.01,
            "trainable_params": 10, "data_name": "MNIST", "data_fingerprint": fingerprint}


def rows_for(pairs, data="MNIST", size="20"):
    rows = []
    for seed, (x, y) in enumerate(pairs):
        rows += [{"phase": "final", "data_name": data, "size": size, "model": "hybrid_4q", "seed": seed,
                  "test_accuracy": x},
                 {"phase": "final", "data_name": data, "size": size, "model": "twin_4q", "seed": seed,
                  "test_accuracy": y}]
    return rows


# ------------------------------------------------------------------ statistics
def test_t_interval_matches_known_values():
    mean, std, half = _t_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert mean == 3.0 and std == pytest.approx(np.sqrt(2.5))
    assert half == pytest.approx(2.7764451 * np.sqrt(2.5) / np.sqrt(5), rel=1e-6)  # t(0.975, 4) = 2.776445


def test_paired_comparison_matches_scipy():
    from scipy import stats

    a, b = [0.80, 0.82, 0.79, 0.85, 0.81], [0.84, 0.85, 0.83, 0.88, 0.86]
    c = paired_comparison(rows_for(zip(a, b)), "MNIST", "20", "hybrid_4q", "twin_4q")
    assert c["mean difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert c["p value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert c["wilcoxon p"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert c["seeds"] == 5 and c["differences"] == pytest.approx(np.subtract(a, b).tolist())


def test_holm_adjustment_decides_the_verdict():
    # two sizes: a clear difference, and a borderline one (raw p < 0.05, Holm-adjusted above it)
    clear = rows_for([(0.80, 0.90), (0.81, 0.92), (0.79, 0.90), (0.80, 0.91), (0.82, 0.92)], size="20")
    borderline = rows_for([(0.80, 0.81), (0.80, 0.83), (0.81, 0.81), (0.79, 0.81), (0.80, 0.82)], size="40")
    null = rows_for([(0.80, 0.81), (0.82, 0.80), (0.81, 0.81), (0.79, 0.80), (0.80, 0.79)], size="60")
    family = comparisons(clear + borderline + null)
    by_size = {c["size"]: c for c in family}
    raw = sorted(c["p value"] for c in family)
    assert by_size["20"]["holm p value"] == pytest.approx(min(1, 3 * raw[0]))  # Holm: smallest p times m
    assert by_size["40"]["holm p value"] == pytest.approx(max(3 * raw[0], 2 * raw[1]))  # then times m − 1
    assert by_size["40"]["p value"] < 0.05 < by_size["40"]["holm p value"]
    assert by_size["20"]["significant"] and not by_size["40"]["significant"]
    assert "twin_4q is better than hybrid_4q by 10.6 points" in verdict(by_size["20"])
    assert "no significant difference after Holm's correction" in verdict(by_size["40"])
    assert "Holm-adjusted over 3 comparisons" in verdict(by_size["40"])
    # the unadjusted interval of the borderline case excludes 0, and the sentence says so; the null's does not
    assert "unadjusted interval excludes 0" in verdict(by_size["40"])
    assert "unadjusted interval" not in verdict(by_size["60"])


def test_pairs_with_fewer_than_three_seeds_stay_out_of_the_family():
    five = rows_for([(0.80, 0.90), (0.81, 0.92), (0.79, 0.90), (0.80, 0.91), (0.82, 0.92)], size="20")
    two = rows_for([(0.80, 0.81), (0.80, 0.83)], size="40")
    assert [c["size"] for c in comparisons(five + two)] == ["20"]
    assert comparisons(five + two)[0]["family size"] == 1
    assert sorted(c["size"] for c in comparisons(five + two, min_seeds=2)) == ["20", "40"]
    with pytest.raises(ValueError, match="min_seeds"):
        comparisons(five, min_seeds=1)


def test_summaries_never_merge_rows_from_different_data():
    original = rows_for([(0.8, 0.9), (0.81, 0.9)], data="CIFAR-10")
    copy = rows_for([(0.5, 0.6), (0.52, 0.6)], data="CIFAR-10 (JPEG copy)")
    for r in original + copy:
        r.update(dataset="cifar10", n_train=20, learning_rate=1e-3, seconds_per_epoch=0.1, epochs_run=1,
                 trainable_params=10)
    summary = summarize(original + copy)
    assert sorted(set(summary["data"])) == ["CIFAR-10", "CIFAR-10 (JPEG copy)"]
    assert len(summary) == 4 and set(summary["runs"]) == {2}
    assert {c["data"] for c in comparisons(original + copy, min_seeds=2)} == {"CIFAR-10", "CIFAR-10 (JPEG copy)"}


# ------------------------------------------------------------------ the plan
def test_scale_plan_follows_the_protocol():
    config = CONFIGS["scale"]
    runs = plan_runs(config)
    tune = [r for r in runs if r.phase == "tune"]
    final = [r for r in runs if r.phase == "final"]
    assert runs[: len(tune)] == tune  # tuning first: it decides the final learning rates
    assert len(tune) == 2 * 7 * 3 and {r.seed for r in tune} == {100} and {r.size for r in tune} == {"4000"}
    seeds = {size: {r.seed for r in final if r.size == size} for size in ("1000", "4000", "16000", "all")}
    assert seeds == {"1000": {0, 1, 2, 3, 4}, "4000": {0, 1, 2, 3, 4}, "16000": {0, 1, 2}, "all": {0, 1, 2}}
    for size in seeds:
        models = {r.model for r in final if r.size == size}
        assert {"cnn", "twin_4q", "hybrid_4q", "hybrid_4q_no_entanglement"} <= models
    assert {"twin_8q", "hybrid_8q"} <= {r.model for r in final if r.size == "4000"}
    assert [s.n_val for s in config.sizes] == [500, 1000, 2000, 5000]
    assert config.n_test is None  # the official 10,000 test images


def test_tuning_must_not_use_a_final_seed():
    with pytest.raises(ValueError, match="tuning_seed=0 is also a seed of the final runs"):
        BenchmarkConfig(name="x", datasets=("mnist",), sizes=(SizePlan(20, 10, (0, 1), ("cnn",)),), tuning_seed=0)


def test_shards_are_disjoint_cover_everything_and_keep_seeds_together():
    runs = plan_runs(CONFIGS["scale"])
    parts = [select_runs(runs, shard=(k, 3)) for k in (1, 2, 3)]
    keys = [r.as_tuple() for part in parts for r in part]
    assert sorted(keys) == sorted(r.as_tuple() for r in runs) and len(set(keys)) == len(keys)
    for part in parts:
        groups = {(r.dataset, r.size, r.seed) for r in part if r.phase == "final"}
        for other in parts:
            if other is not part:
                assert not groups & {(r.dataset, r.size, r.seed) for r in other if r.phase == "final"}
    only = select_runs(runs, only=["dataset=cifar10", "size=1000,4000", "phase=final"])
    assert only and all(r.dataset == "cifar10" and r.size in ("1000", "4000") and r.phase == "final" for r in only)
    with pytest.raises(ValueError, match="--only 'colour=red'"):
        select_runs(runs, only=["colour=red"])
    with pytest.raises(ValueError, match="shard 3/2"):
        select_runs(runs, shard=(3, 2))


def test_learning_rate_is_chosen_on_validation_never_on_test(tmp_path):
    results = run_benchmark(TUNED, tmp_path / "r.json", progress=False, train_fn=fake_train)
    assert chosen_learning_rates(results["rows"], TUNED) == {("mnist", "cnn"): 3e-3, ("mnist", "twin_4q"): 3e-3}
    assert results["learning_rates"] == {"mnist/cnn": 3e-3, "mnist/twin_4q": 3e-3}
    assert {r["learning_rate"] for r in results["rows"] if r["phase"] == "final"} == {3e-3}


def test_final_runs_without_tuning_say_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="no learning rate chosen yet for mnist/cnn.*--tuning-from"):
        run_benchmark(TUNED, tmp_path / "r.json", progress=False, train_fn=fake_train, only=["phase=final"])


# ------------------------------------------------------------------ resume, provenance, merge
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
    assert cap_share(results["rows"]) == pytest.approx(1 / 3)  # seed 0 of each model hit the cap


def test_failure_mid_run_keeps_finished_rows_and_a_valid_file(tmp_path):
    out = tmp_path / "r.json"

    def failing(dataset, model, seed, *rest):
        if seed == 1:
            raise RuntimeError("boom")
        return fake_train(dataset, model, seed, *rest)

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
    deadline = time.time() + 120
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
    other = BenchmarkConfig(name="tiny", datasets=("mnist",), sizes=TINY.sizes, lr_grid=(1e-3,), epochs=2)
    with pytest.raises(ResultsMismatchError, match="refusing to mix"):
        run_benchmark(other, out, progress=False, train_fn=fake_train)


def test_resuming_on_other_data_is_refused_naming_the_difference(tmp_path):
    out = tmp_path / "r.json"
    run_benchmark(TINY, out, progress=False, train_fn=fake_train, only=["model=twin_4q"])
    results = json.loads(out.read_text())
    results["provenance"]["fingerprints"] = {"mnist": FINGERPRINT}  # as the real runner records it
    out.write_text(json.dumps(results))
    other = dict(FINGERPRINT, sha256="b" * 64)
    with pytest.raises(ResultsMismatchError, match=r"other data \(sha256: 'aaaa.*' there, 'bbbb.*' here\)"):
        run_benchmark(TINY, out, progress=False, train_fn=lambda *a: fake_train(*a, fingerprint=other))


def test_resuming_under_another_backend_is_refused(tmp_path):
    out = tmp_path / "r.json"
    run_benchmark(TINY, out, progress=False, train_fn=fake_train, only=["model=twin_4q"])
    results = json.loads(out.read_text())
    results["provenance"]["keras_backend"] = "jax"
    out.write_text(json.dumps(results))
    with pytest.raises(ResultsMismatchError, match="Keras backend 'jax', this run uses 'tensorflow'"):
        run_benchmark(TINY, out, progress=False, train_fn=fake_train)


def test_shards_merge_into_the_whole_and_conflicts_are_refused(tmp_path):
    parts = [tmp_path / "p1.json", tmp_path / "p2.json"]
    for phase in ("tune", "final"):  # as on two machines: tune, exchange the files, then the final runs
        for k, part in enumerate(parts, start=1):
            run_benchmark(TUNED, part, progress=False, train_fn=fake_train, shard=(k, 2), only=[f"phase={phase}"],
                          tuning_from=[parts[2 - k]])
    merged = merge_results(tmp_path / "all.json", parts)
    assert len(merged["rows"]) == len(plan_runs(TUNED))
    assert merged["learning_rates"] == {"mnist/cnn": 3e-3, "mnist/twin_4q": 3e-3}
    with pytest.raises(ResultsMismatchError, match="is in both"):
        merge_results(tmp_path / "twice.json", [parts[0], parts[0]])
    tampered = json.loads(parts[1].read_text())
    tampered["provenance"]["fingerprints"] = {"mnist": dict(FINGERPRINT, file="other.npz")}
    bad = json.loads(parts[0].read_text())
    bad["provenance"]["fingerprints"] = {"mnist": FINGERPRINT}
    parts[0].write_text(json.dumps(bad))
    parts[1].write_text(json.dumps(tampered))
    with pytest.raises(ResultsMismatchError, match="other data \\(file: 'mnist.npz' there, 'other.npz' here\\)"):
        merge_results(tmp_path / "mixed.json", parts)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"datasets": ("svhn",)}, r"allowed a non-empty subset of \['mnist', 'cifar10'\]"),
        ({"sizes": (SizePlan(20, 10, (0, 1), ("cnn",)), SizePlan(20, 5, (0, 1), ("cnn",)))}, r"training sizes repeat"),
        ({"lr_grid": (0.0,)}, r"lr_grid must hold positive floats"),
        ({"epochs": 0}, r"epochs must be a positive integer"),
        ({"patience": -1}, r"patience must be a non-negative integer"),
    ],
)
def test_config_validation(kwargs, match):
    base = dict(name="x", datasets=("mnist",), sizes=(SizePlan(20, 10, (0, 1), ("cnn",)),), lr_grid=(1e-3,))
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        BenchmarkConfig(**base)


@pytest.mark.parametrize("kwargs, match", [
    ({"models": ("resnet",)}, r"unknown models \['resnet'\]"),
    ({"seeds": (0,)}, r"need at least 2 distinct"),
    ({"seeds": (1, 1)}, r"need at least 2 distinct"),
    ({"n_val": 0}, r"n_val must be a positive integer"),
])
def test_size_plan_validation(kwargs, match):
    base = dict(n_train=20, n_val=10, seeds=(0, 1), models=("cnn",))
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        SizePlan(**base)


def test_unknown_config_name():
    with pytest.raises(ValueError, match="unknown config 'huge': allowed 'quick', 'scale'"):
        run_benchmark("huge", "unused.json")


def test_dry_run_prints_the_plan_and_an_estimate(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "helpers.benchmark", "--config", "scale", "--dry-run",
                           "--output", str(tmp_path / "none.json")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "230 to run" in proc.stdout and "estimated total:" in proc.stdout


@pytest.mark.slow
def test_quick_config_runs_end_to_end(tmp_path):
    """The real thing at CI size: `python -m helpers.benchmark --config quick` (a few minutes)."""
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, "-m", "helpers.benchmark", "--config", "quick", "--output", str(out),
                           "--no-progress"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    rows, config = results["rows"], CONFIGS["quick"]
    assert len(rows) == len(plan_runs(config))
    assert all(0.0 <= r["test_accuracy"] <= 1.0 and r["trainable_params"] > 0 for r in rows)
    assert results["provenance"]["keras_backend"] == "tensorflow"
    assert results["provenance"]["fingerprints"]["mnist"]["sha256"] == rows[0]["data_fingerprint"]["sha256"]
    assert "hybrid_4q vs twin_4q over 5 seeds" in proc.stdout
