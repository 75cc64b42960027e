"""One call to make a run repeatable, and one to say what ran it. Introduced in notebook 01."""

from __future__ import annotations

import os
import platform
import random
from typing import Any

import numpy as np


def run_environment() -> dict[str, Any]:
    """The package versions, Keras backend, CPU and Python of this process. Introduced in notebook 07.

    The benchmark records it with every run (``hqc_course.benchmark``), so a result says what made it.
    """
    from importlib.metadata import PackageNotFoundError, version

    import keras

    versions = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "pennylane", "numpy", "jax", "torch", "distributed"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # a package may be absent (e.g. tensorflow vs tensorflow-cpu)
            continue
    cpu = platform.processor() or platform.machine()
    return {"versions": versions, "keras_backend": keras.backend.backend(),
            "cpu": f"{cpu}, {os.cpu_count()} cores", "python": platform.python_version()}


def set_seed(seed: int = 0, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and Keras (and so TensorFlow or JAX) with ``seed``.

    Introduced in notebook 01. With ``deterministic_ops`` TensorFlow is also asked
    for deterministic kernels, so the same seed gives the same training run on
    the same machine (a little slower; different CPUs may still differ in the last
    digits).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses started from here
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend
    if deterministic_ops and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
