"""hqc_course.benchmark without Dask: the configs, the plan (tuning before final runs, extensions), the store, the export."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from benchmark_fakes import FINGERPRINT, config

from hqc_course.benchmark import (
    CONFIGS,
    BenchmarkConfig,
    ResultsMismatchError,
    RunKey,
    Sensitivity,
    SizePlan,
    StatisticsPlan,
    StoreLockedError,
    chosen_learning_rates,
    load_results,
    merge_stores,
    plan_runs,
    read_store,
    ready_runs,
    tuning_outcomes,
    write_export,
)
from hqc_course.benchmark.__main__ import main
from hqc_course.benchmark.store import Store


def tune_row(model, lr, seed, val_loss, size="1000", dataset="mnist", val_accuracy=0.5):
    return {"phase": "tune", "dataset": dataset, "size": size, "model": model, "seed": seed, "learning_rate": lr,
            "val_loss": val_loss, "val_accuracy": val_accuracy}


def final_row(model, seed, size="20", acc=0.5, lr=1e-3):
    return {"phase": "final", "dataset": "mnist", "size": size, "model": model, "seed": seed, "learning_rate": lr,
            "test_accuracy": acc, "data_name": "MNIST", "data_fingerprint": FINGERPRINT}


# ------------------------------------------------------------------ the committed configs
def test_protocol_2_is_the_issue_s_protocol():
    c = CONFIGS["scale"]
    assert c.lr_grid == (1e-4, 3.162e-4, 1e-3, 3.162e-3, 1e-2) and c.tuning_metric == "val_loss"
    assert c.tuning_seeds == (100, 101) and c.lr_extensions >= 1 and c.patience >= 20
    sizes = {s.label: s for s in c.sizes}
    assert [s.lr_from for s in c.sizes] == [None, None, "4000", "4000"]  # tuned at 1k and 4k, reused above
    assert len(sizes["1000"].seeds) == len(sizes["4000"].seeds) == 10
    assert len(sizes["16000"].seeds) >= 3 and len(sizes["all"].seeds) >= 3
    main_models = {"cnn", "twin_4q", "hybrid_4q", "hybrid_4q_half_angle", "hybrid_4q_no_entanglement"}
    assert all(main_models <= set(s.models) for s in c.sizes)
    assert {"identity_4q", "twin_8q", "hybrid_8q"} <= set(sizes["1000"].models) & set(sizes["4000"].models)
    assert set(c.statistics.main) == {("hybrid_4q", "twin_4q"), ("hybrid_4q_half_angle", "twin_4q"),
                                      ("hybrid_4q_no_entanglement", "twin_4q"), ("hybrid_8q", "twin_8q")}
    assert c.statistics.equivalence_margin == 0.01 and c.sensitivity.factors == (3.0, 1 / 3)
    assert c.n_test is None  # the official 10,000 test images


def test_the_committed_protocol_2_store_was_made_by_this_config():
    header, rows, _ = read_store("results/benchmark_scale.jsonl")
    assert header["config_digest"] == CONFIGS["scale"].digest(), "CONFIGS['scale'] changed under its running grid"
    assert header["keras_backend"] == "tensorflow" and len({RunKey.of_row(r) for r in rows}) == len(rows)


def test_protocol_1_still_describes_its_committed_results():
    results = load_results("results/benchmark_scale_v1.json")
    assert results["config_digest"] == CONFIGS["scale_v1"].digest()
    assert len(results["rows"]) == results["planned_runs"] == 230
    # the rates protocol 1 chose from its tuning rows are those its final runs used
    chosen = chosen_learning_rates(CONFIGS["scale_v1"], results["rows"])
    assert all(r["learning_rate"] == chosen[(r["dataset"], r["size"], r["model"])] for r in results["rows"]
               if r["phase"] == "final")


@pytest.mark.parametrize("kwargs, match", [
    ({"datasets": ("svhn",)}, r"allowed a non-empty subset of \['mnist', 'cifar10'\]"),
    ({"sizes": (SizePlan(20, 10, (0, 1), ("cnn",)), SizePlan(20, 5, (0, 1), ("cnn",)))}, r"training sizes repeat"),
    ({"lr_grid": (0.0,)}, r"lr_grid must hold distinct positive floats in increasing order"),
    ({"lr_grid": (3e-3, 1e-3)}, r"in increasing order"),
    ({"epochs": 0}, r"epochs must be a positive integer"),
    ({"patience": -1}, r"patience must be a non-negative integer"),
    ({"tuning_metric": "test_accuracy"}, r"tuning_metric 'test_accuracy': allowed val_loss, val_accuracy"),
    ({"lr_grid": (1e-3, 3e-3), "tuning_seeds": (0,)}, r"tuning seeds \[0\] are also seeds of the final runs"),
    ({"sizes": (SizePlan(20, 10, (0, 1), ("cnn",), lr_from="4000"),)}, r"takes its learning rates from '4000'"),
    ({"sensitivity": Sensitivity(("99",), ("cnn",))}, r"sensitivity sizes \['99'\] are not sizes"),
])
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


def test_statistics_plan_validation():
    with pytest.raises(ValueError, match="unknown models"):
        StatisticsPlan(main=(("hybrid_4q", "twin_5q"),))
    with pytest.raises(ValueError, match="pairing 'sometimes'"):
        StatisticsPlan(main=(("hybrid_4q", "twin_4q"),), pairing="sometimes")


def test_unknown_config_name(capsys):
    assert main(["plan", "--config", "huge"]) == 2
    assert "unknown config 'huge': allowed 'quick', 'scale'" in capsys.readouterr().err


# ------------------------------------------------------------------ the plan
def test_final_runs_wait_for_their_tuning_and_tuning_never_uses_their_seeds():
    c = CONFIGS["scale"]
    ready = ready_runs(c, [])
    assert ready and all(k.phase == "tune" for k in ready)
    assert {k.seed for k in ready} == {100, 101} and {k.size for k in ready} == {"1000", "4000"}
    assert len(ready) == 2 * 2 * 8 * 5 * 2  # tuned sizes x datasets x models x rates x seeds
    plan = plan_runs(c)
    finals = [k for k in plan if k.phase == "final"]
    assert not {k.seed for k in finals} & {100, 101}
    assert len([k for k in plan if k.phase == "sensitivity"]) == 2 * 2 * 4 * 2


def test_a_choice_on_an_edge_extends_the_grid_and_is_recorded():
    c = BenchmarkConfig(name="x", datasets=("mnist",), sizes=(SizePlan(1000, 100, (0, 1), ("cnn",)),),
                        lr_grid=(1e-3, 3e-3, 9e-3), lr_extensions=2, tuning_seeds=(100, 101), tuning_metric="val_loss")
    # validation loss keeps falling towards small rates: 1e-3 is the best of the grid, on its low edge
    loss = {1e-3: 0.3, 3e-3: 0.4, 9e-3: 0.5, 3.333e-4: 0.2, 1.111e-4: 0.25}
    rows = [tune_row("cnn", lr, s, loss[lr]) for lr in (1e-3, 3e-3, 9e-3) for s in (100, 101)]
    (o,) = tuning_outcomes(c, rows)
    assert not o.complete and [k.lr_tag for k in o.missing] == [3.333e-4, 3.333e-4]
    assert o.extensions == [{"edge": "low", "chosen_before": 1e-3, "added": 3.333e-4, "score_before": 0.3}]
    assert not [k for k in ready_runs(c, rows) if k.phase == "final"]  # the final runs wait for the extension
    rows += [tune_row("cnn", 3.333e-4, s, loss[3.333e-4]) for s in (100, 101)]
    (o,) = tuning_outcomes(c, rows)
    assert [k.lr_tag for k in o.missing] == [1.111e-4] * 2  # still on the edge: one more step
    rows += [tune_row("cnn", 1.111e-4, s, loss[1.111e-4]) for s in (100, 101)]
    (o,) = tuning_outcomes(c, rows)
    assert o.complete and o.chosen == 3.333e-4 and not o.on_edge and len(o.extensions) == 2
    assert chosen_learning_rates(c, rows) == {("mnist", "1000", "cnn"): 3.333e-4}
    assert {k.phase for k in ready_runs(c, rows)} == {"final"}


def test_extensions_stop_at_the_allowed_number_and_say_the_choice_is_still_on_an_edge():
    c = BenchmarkConfig(name="x", datasets=("mnist",), sizes=(SizePlan(1000, 100, (0, 1), ("cnn",)),),
                        lr_grid=(1e-3, 3e-3), lr_extensions=1, tuning_seeds=(100,), tuning_metric="val_loss")
    rows = [tune_row("cnn", lr, 100, 10 * lr) for lr in (1e-3, 3e-3, 3.333e-4)]  # smaller is always better
    (o,) = tuning_outcomes(c, rows)
    assert o.complete and o.chosen == 3.333e-4 and o.on_edge


def test_a_diverged_rate_never_wins_the_tuning():
    c = BenchmarkConfig(name="x", datasets=("mnist",), sizes=(SizePlan(1000, 100, (0, 1), ("cnn",)),),
                        lr_grid=(1e-3, 3e-3, 9e-3), lr_extensions=0, tuning_seeds=(100,), tuning_metric="val_loss")
    for nan_rate in (1e-3, 3e-3):  # whether the NaN comes first or in the middle of the grid
        rows = [tune_row("cnn", lr, 100, float("nan") if lr == nan_rate else 10 * lr) for lr in (1e-3, 3e-3, 9e-3)]
        (o,) = tuning_outcomes(c, rows)
        assert o.chosen == (3e-3 if nan_rate == 1e-3 else 1e-3)


def test_learning_rate_is_chosen_on_the_metric_of_the_config_never_on_test():
    rows = [tune_row("cnn", 1e-3, 100, val_loss=0.2, val_accuracy=0.8),
            tune_row("cnn", 3e-3, 100, val_loss=0.3, val_accuracy=0.9)]
    for r in rows:
        r["test_accuracy"] = 1.0 if r["learning_rate"] == 3e-3 else 0.0
    base = dict(name="x", datasets=("mnist",), sizes=(SizePlan(1000, 100, (0, 1), ("cnn",)),), lr_grid=(1e-3, 3e-3))
    assert chosen_learning_rates(BenchmarkConfig(**base, tuning_metric="val_loss"), rows) == {("mnist", "1000", "cnn"): 1e-3}
    assert chosen_learning_rates(BenchmarkConfig(**base, tuning_metric="val_accuracy"), rows) == {("mnist", "1000", "cnn"): 3e-3}


def test_sizes_reuse_the_rate_of_the_size_they_name_and_sensitivity_scales_it():
    c = CONFIGS["scale"]
    rows = [tune_row(m, lr, s, val_loss=abs(lr - 1e-3), size="4000") for m in c.size("4000").models
            for lr in c.lr_grid for s in (100, 101)]
    chosen = chosen_learning_rates(c, rows)
    assert chosen[("mnist", "16000", "hybrid_4q")] == chosen[("mnist", "all", "hybrid_4q")] == 1e-3
    assert ("mnist", "1000", "hybrid_4q") not in chosen  # 1,000 has its own tuning, not finished
    ready = ready_runs(c, rows)
    sens = [k for k in ready if k.phase == "sensitivity" and k.dataset == "mnist"]
    assert {k.lr_tag for k in sens} == {3.0, 0.3333} and {k.size for k in sens} == {"16000", "all"}
    from hqc_course.benchmark.plan import learning_rate_of

    assert {learning_rate_of(c, k, chosen) for k in sens} == {3e-3, 3.333e-4}


def test_run_keys_round_trip_through_rows():
    for key in (RunKey("tune", "mnist", "1000", "cnn", 100, 3.162e-4), RunKey("final", "cifar10", "all", "cnn", 2),
                RunKey("sensitivity", "mnist", "16000", "twin_4q", 0, 0.3333)):
        row = {"phase": key.phase, "dataset": key.dataset, "size": key.size, "model": key.model, "seed": key.seed,
               "learning_rate": key.lr_tag if key.phase == "tune" else 1e-3,
               **({"lr_factor": key.lr_tag} if key.phase == "sensitivity" else {})}
        assert RunKey.of_row(row) == key and RunKey.of_list(list(key.as_tuple())) == key


def test_plan_command_prints_the_plan_and_its_cpu_hours(tmp_path, capsys):
    assert main(["plan", "--config", "scale", "--store", str(tmp_path / "none.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "320 ready to run" in out and "waiting for their tuning" in out and "CPU-hours" in out


# ------------------------------------------------------------------ the store
def open_store(path, cfg=None, backend="tensorflow", fingerprints=None):
    return Store.open(path, cfg or config(), backend, fingerprints or {"mnist": FINGERPRINT})


def test_store_appends_each_run_once_and_reopens_with_them(tmp_path):
    path = tmp_path / "s.jsonl"
    with open_store(path) as store:
        store.append_run(final_row("twin_4q", 0))
        with pytest.raises(ValueError, match="is already in"):
            store.append_run(final_row("twin_4q", 0))
        store.append_failure(RunKey("final", "mnist", "20", "hybrid_4q", 0), 1, "boom", "Traceback ...boom")
    with open_store(path) as store:
        assert len(store.rows) == 1 and store.failures[0]["error"] == "boom"
    header, rows, failures = read_store(path)
    assert header["config_digest"] == config().digest() and header["keras_backend"] == "tensorflow"


@pytest.mark.parametrize("change, match", [
    (dict(cfg=config(seeds=5)), r"was made by config 'fake' \(digest .*\), not by this one"),
    (dict(backend="jax"), r"Keras backend 'tensorflow', this run uses 'jax'"),
    (dict(fingerprints={"mnist": {**FINGERPRINT, "sha256": "b" * 64}}), r"other data \(sha256: 'aaaa"),
])
def test_a_store_of_another_config_backend_or_data_is_refused_naming_the_difference(tmp_path, change, match):
    path = tmp_path / "s.jsonl"
    open_store(path).close()
    with pytest.raises(ResultsMismatchError, match=match):
        open_store(path, **change)


def test_a_row_from_other_data_or_backend_is_refused(tmp_path):
    with open_store(tmp_path / "s.jsonl") as store:
        with pytest.raises(ResultsMismatchError, match="on other mnist data"):
            store.append_run({**final_row("cnn", 0), "data_fingerprint": {**FINGERPRINT, "file": "x.npz"}})
        with pytest.raises(ResultsMismatchError, match="under the Keras backend 'jax'"):
            store.append_run({**final_row("cnn", 1), "keras_backend": "jax"})
        assert store.rows == []


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    path = tmp_path / "s.jsonl"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from benchmark_fakes import FINGERPRINT, config
        from hqc_course.benchmark.store import Store
        store = Store.open({str(path)!r}, config(), "tensorflow", {{"mnist": FINGERPRINT}})
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError, match=rf"being written by another driver: pid {holder.pid} on host .*-c"):
            open_store(path)
    finally:
        holder.kill()
        holder.wait()
    open_store(path).close()  # a killed holder leaves no lock behind


def test_a_damaged_store_is_reported_with_its_line(tmp_path):
    path = tmp_path / "s.jsonl"
    open_store(path).close()
    path.write_text(path.read_text() + "{not json}\n" + json.dumps({"kind": "run", "row": final_row("cnn", 0)}) + "\n")
    with pytest.raises(ResultsMismatchError, match=r"line 2: not JSON"):
        read_store(path)
    path.write_text("hello\n")
    with pytest.raises(ResultsMismatchError, match="line 1: not JSON"):
        read_store(path)


def test_export_has_the_course_format_and_stores_merge_without_duplicates(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with open_store(a) as store:
        store.append_run(final_row("twin_4q", 0))
        store.append_run(final_row("hybrid_4q", 0))
    with open_store(b) as store:
        store.append_run(final_row("twin_4q", 1))
    results = write_export(a)
    assert set(results) >= {"config", "config_digest", "provenance", "rows", "learning_rates", "tuning",
                            "planned_runs", "failures"}
    assert load_results(tmp_path / "a.json")["rows"] == results["rows"] == load_results(a)["rows"]
    merged = merge_stores(tmp_path / "all.jsonl", [a, b])
    assert len(merged["rows"]) == 3 and len(read_store(tmp_path / "all.jsonl")[1]) == 3
    with pytest.raises(ResultsMismatchError, match="is in both"):
        merge_stores(tmp_path / "again.jsonl", [a, a])
    other = tmp_path / "other.jsonl"
    open_store(other, backend="jax").close()
    with pytest.raises(ResultsMismatchError, match="Keras backend"):
        merge_stores(tmp_path / "mixed.jsonl", [a, other])
    assert main(["export", str(a), "--output", str(tmp_path / "e.json")]) == 0
    assert main(["merge", str(tmp_path / "m.jsonl"), str(a), str(other)]) == 2


def test_the_command_writes_where_the_chapters_read(monkeypatch, tmp_path):
    # outside a checkout (pip install git+…, Colab) the chapters read settings.benchmark_results_dir():
    # the command must write there by default, not to ./results of whatever folder it runs in
    import argparse

    from hqc_course.benchmark.__main__ import _store_of
    from hqc_course.benchmark.report import scale_results

    monkeypatch.setenv("HQC_BENCHMARK_RESULTS_DIR", str(tmp_path))
    assert _store_of(argparse.Namespace(store=None, config="quick")) == tmp_path / "benchmark_quick.jsonl"
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        scale_results(config="quick")
