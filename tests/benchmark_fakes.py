"""Fake trainers and a driver script for the engine's tests: real Dask processes, no real training.

A fake trainer returns a deterministic row (its numbers depend on the model, seed and learning
rate only) after sleeping ``options["sleep"]`` seconds. Options drive the faults:

* ``fail``: ``"always"`` raises every time; ``"once"`` raises on the first attempt only (a marker
  file in ``options["folder"]`` remembers it);
* ``announce``: writes ``{"worker": <the worker's pid>, "child": <this pid>}`` to
  ``options["folder"]/<model>-<seed>.json`` when the run starts, so a test can kill its worker.

Run as a script, this is a benchmark driver on a fake catalogue::

    python tests/benchmark_fakes.py STORE FOLDER [SLEEP]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hqc_course.benchmark import BenchmarkConfig, ModelEntry, SizePlan, StatisticsPlan

FINGERPRINT = {"dataset": "mnist", "variant": "original", "source_kind": "folder", "file": "mnist.npz",
               "sha256": "a" * 64, "origin": ""}


def fake_train(request):
    """A deterministic row; the validation loss is lowest at lr 3e-3, the test accuracy best at 1e-3."""
    options = request.options
    folder = Path(options.get("folder", "."))
    name = f"{options['model']}-{request.seed}-{request.learning_rate:g}"
    if options.get("announce"):
        (folder / f"{name}.json").write_text(json.dumps({"worker": os.getppid(), "child": os.getpid()}))
    time.sleep(options.get("sleep", 0.0))
    fail = options.get("fail")
    if fail == "always" or (fail == "once" and not (folder / f"{name}.failed").exists()):
        (folder / f"{name}.failed").write_text("x")
        raise ArithmeticError(f"fake failure of {name}")
    acc = 0.5 + 0.01 * request.seed + (0.05 if options["model"] == "hybrid_4q" else 0.0)
    val_loss = 1.0 - acc + abs(request.learning_rate - 3e-3)
    test = acc + (0.2 if request.learning_rate == 1e-3 else 0.0)
    return {"n_train": request.n_train, "n_val": request.n_val, "n_test": 10, "test_accuracy": test,
            "test_loss": 1 - test, "val_accuracy": acc, "val_loss": val_loss, "train_accuracy": acc,
            "best_epoch": 1, "epochs_run": 1, "hit_cap": False, "seconds_per_epoch": 0.01, "epoch_seconds": [0.01],
            "inference_seconds": 0.001, "trainable_params": 10, "data_name": "MNIST", "data_fingerprint": FINGERPRINT}


def fake_models(folder: Path | str, sleep: float = 0.0, **per_model: dict) -> dict[str, ModelEntry]:
    """A catalogue of fake trainers under real model names; ``per_model`` adds options to one model."""
    return {m: ModelEntry(fake_train, {"model": m, "folder": str(folder), "sleep": sleep, **per_model.get(m, {})})
            for m in ("cnn", "twin_4q", "hybrid_4q")}


def config(seeds: int = 3, tuned: bool = False) -> BenchmarkConfig:
    """A tiny grid: twin and hybrid on MNIST, ``seeds`` seeds, optionally tuned over (1e-3, 3e-3)."""
    return BenchmarkConfig(name="fake" + ("-tuned" if tuned else ""), datasets=("mnist",),
                           sizes=(SizePlan(20, 10, tuple(range(seeds)), ("twin_4q", "hybrid_4q")),),
                           lr_grid=(1e-3, 3e-3) if tuned else (1e-3,), tuning_seeds=(100,), tuning_metric="val_loss", epochs=1,
                           statistics=StatisticsPlan(main=(("hybrid_4q", "twin_4q"),)))


if __name__ == "__main__":
    # the trainers must come from the module benchmark_fakes, not from __main__, so that workers can import them
    import benchmark_fakes as fakes

    from hqc_course.benchmark import ClusterOptions, run_benchmark

    store, folder = sys.argv[1], sys.argv[2]
    sleep = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    outcome = run_benchmark(fakes.config(seeds=4), store, ClusterOptions(workers=2, dashboard_address=":0"),
                            models=fakes.fake_models(folder, sleep, hybrid_4q={"announce": True}),
                            fingerprints={"mnist": fakes.FINGERPRINT})
    sys.exit(0 if outcome.ok else 1)
