"""How much does the quantum layer cost? Epoch time of the hybrid vs its classical twin.

Introduced in notebook 04. Run ``python -m helpers.bench_layer`` (a few minutes).

Both models share the same CNN trunk and differ only in the block after the
bottleneck (``QuantumLayer`` vs ``RingDense``), so the ratio of their epoch times is
the overhead of simulating the quantum circuit. Set-up: MNIST 28×28, batch 32,
the first epoch (tracing and compilation) discarded, the median of the warm
epochs reported. Peak memory is the benchmark process's maximum resident size,
an upper bound for any single run in it.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from helpers.data import load_mnist
from helpers.models import create_classical_baseline, create_hybrid_model
from helpers.reproducibility import set_seed
from helpers.training import EpochTimer


def time_epochs(model: keras.Model, x, y, epochs: int, batch_size: int = 32) -> list[float]:
    timer = EpochTimer()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def run(qubits: list[int], warm_epochs: int = 5, n_train: int = 2048, seed: int = 0) -> list[dict]:
    if warm_epochs < 3:
        raise ValueError(f"warm_epochs={warm_epochs}: at least 3 are needed for a median")
    data = load_mnist(n_train=n_train, n_val=100, n_test=100, seed=seed, verbose=False)
    rows = []
    for n in qubits:
        times = {}
        for kind, build in (("twin", create_classical_baseline), ("hybrid", create_hybrid_model)):
            set_seed(seed)
            model = build(data.input_shape, data.num_classes, n_qubits=n, seed=seed)
            seconds = time_epochs(model, data.x_train, data.y_train, epochs=1 + warm_epochs)
            times[kind] = statistics.median(seconds[1:])
            times[kind + "_min"] = min(seconds[1:])
            print(f"  {n} qubits, {kind:6s}: first epoch {seconds[0]:.2f} s, warm epochs "
                  + ", ".join(f"{s:.2f}" for s in seconds[1:]) + " s", flush=True)
        rows.append({"n_qubits": n, "twin_s": times["twin"], "hybrid_s": times["hybrid"],
                     "ratio": times["hybrid"] / times["twin"],
                     "ratio_of_fastest": times["hybrid_min"] / times["twin_min"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench_layer", description=__doc__.split("\n")[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--warm-epochs", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=2048)
    args = parser.parse_args(argv)
    print(f"MNIST {args.n_train} images per epoch, batch 32, median of {args.warm_epochs} warm epochs; "
          f"{platform.machine()}, {os.cpu_count()} CPU cores, Keras backend {keras.backend.backend()}")
    rows = run(args.qubits, args.warm_epochs, args.n_train)
    print("\nqubits | twin s/epoch | hybrid s/epoch | ratio of medians | ratio of fastest epochs")
    for r in rows:
        print(f"{r['n_qubits']:6d} | {r['twin_s']:12.2f} | {r['hybrid_s']:14.2f} | {r['ratio']:16.2f} | "
              f"{r['ratio_of_fastest']:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux
    print(f"peak memory of this process (all runs): {peak:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
