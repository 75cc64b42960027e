"""What a benchmark is: its sizes, models, seeds, tuning, training recipe and statistics — fixed before it runs.

Introduced in notebook 07. A :class:`BenchmarkConfig` is everything that defines a benchmark;
its digest is written into the results store, and a store made by another config is refused.
:data:`CONFIGS` holds the course's benchmarks (``--config NAME`` on the command line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from hqc_course.benchmark.catalogue import MODELS

__all__ = ["CONFIGS", "PAIRS", "BenchmarkConfig", "Sensitivity", "SizePlan", "StatisticsPlan", "config_from_dict",
           "get_config"]

TUNING_METRICS = ("val_loss", "val_accuracy")


def _positive_int(label: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{label} must be a positive integer, got {value!r}")
    return value


def _check_models(models: tuple[str, ...], where: str) -> None:
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise ValueError(f"unknown models {bad or '(none given)'} ({where}): allowed {list(MODELS)}")


@dataclass(frozen=True)
class SizePlan:
    """One training size of the grid: its validation size, seeds, models and epoch cap. Introduced in notebook 07.

    ``lr_from`` names the size whose tuning gives this size its learning rates (``None``: the
    learning rates are tuned at this size itself, when the config tunes at all).
    """

    n_train: int | None  # None: all training images that remain after validation
    n_val: int
    seeds: tuple[int, ...]
    models: tuple[str, ...]
    max_epochs: int | None = None  # the epoch cap of this size's runs (None: the config's epochs)
    lr_from: str | None = None

    @property
    def label(self) -> str:
        return "all" if self.n_train is None else str(self.n_train)

    def __post_init__(self) -> None:
        if self.n_train is not None:
            _positive_int("n_train", self.n_train)
        _positive_int("n_val", self.n_val)
        if self.max_epochs is not None:
            _positive_int("max_epochs", self.max_epochs)
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds {list(self.seeds)} (size {self.label}): need at least 2 distinct non-negative "
                             "integers (statistics over seeds)")
        _check_models(self.models, f"size {self.label}")


@dataclass(frozen=True)
class Sensitivity:
    """Runs that show how much a result depends on its learning rate: the chosen rate times each factor.

    Introduced in notebook 07: at sizes that reuse another size's tuning, one seed of each of
    ``models`` is trained again at the chosen rate × 3 and ÷ 3.
    """

    sizes: tuple[str, ...]
    models: tuple[str, ...]
    factors: tuple[float, ...] = (3.0, 1 / 3)
    seed: int = 0

    def __post_init__(self) -> None:
        _check_models(self.models, "sensitivity")
        if not self.sizes or not self.factors or any(not (isinstance(f, float) and f > 0 and f != 1)
                                                     for f in self.factors):
            raise ValueError(f"sensitivity needs sizes and positive factors other than 1, got {self.sizes}, "
                             f"{self.factors}")


#: the pairs compared seed by seed, reported as a − b (the families of the committed configs are built from these)
PAIRS: tuple[tuple[str, str], ...] = (
    ("hybrid_4q", "twin_4q"),
    ("hybrid_4q_no_entanglement", "twin_4q"),
    ("hybrid_4q_no_entanglement", "hybrid_4q"),
    ("hybrid_4q_frozen", "hybrid_4q"),
    ("hybrid_8q", "twin_8q"),
    ("cnn", "twin_4q"),
    ("quanv_quantum", "quanv_classical"),
    ("quanv_quantum", "quanv_none"),
    ("transfer_dressed_quantum", "transfer_classical"),
    ("transfer_dressed_quantum", "transfer_linear"),
)


PAIRING = ("by correlation", "paired", "welch")
INTERVALS = ("seeds and test images", "seeds")


@dataclass(frozen=True)
class StatisticsPlan:
    """How the results are judged, fixed in the config before any final run. Introduced in notebook 06; explained in 07.

    * ``main``: the main question's comparisons (a − b), Holm-adjusted within this family only,
      across every (dataset, size) where both models ran;
    * ``secondary``: the other comparisons, Holm-adjusted in a family of their own;
    * ``interval="seeds and test images"``: a difference's variance is the seeds' (how much it
      moves from seed to seed) plus the test set's (how much it would move with another draw of
      test images: the variance of the per-image differences over the number of images);
      ``"seeds"`` counts the seeds' only;
    * ``pairing="by correlation"``: each cell is tested paired (seed by seed) when the two
      models' accuracies correlate positively over seeds, with Welch's unpaired test otherwise,
      and says which; ``"paired"`` and ``"welch"`` fix the test;
    * "no difference" is said only when the two one-sided tests (TOST) put the difference
      within ± ``equivalence_margin`` after Holm's adjustment; otherwise "inconclusive".
    """

    main: tuple[tuple[str, str], ...]
    secondary: tuple[tuple[str, str], ...] = ()
    alpha: float = 0.05
    confidence: float = 0.95
    equivalence_margin: float = 0.01  # accuracy: 1 point
    min_seeds: int = 3
    pairing: str = "by correlation"
    interval: str = "seeds and test images"

    def __post_init__(self) -> None:
        for a, b in self.main + self.secondary:
            _check_models((a, b), "statistics")
        if not self.main:
            raise ValueError("statistics: the main family needs at least one comparison")
        if not 0 < self.alpha < 0.5 or not 0.5 < self.confidence < 1 or not 0 < self.equivalence_margin < 1:
            raise ValueError(f"statistics: alpha {self.alpha}, confidence {self.confidence} and margin "
                             f"{self.equivalence_margin} must lie in (0, 0.5), (0.5, 1) and (0, 1)")
        if self.min_seeds < 2:
            raise ValueError(f"statistics: min_seeds must be at least 2, got {self.min_seeds}")
        if self.pairing not in PAIRING or self.interval not in INTERVALS:
            raise ValueError(f"statistics: pairing {self.pairing!r} (allowed {PAIRING}) and interval "
                             f"{self.interval!r} (allowed {INTERVALS})")


@dataclass(frozen=True)
class BenchmarkConfig:
    """Everything that defines a benchmark; its digest guards the results store. Introduced in notebook 07.

    Tuning: at every size whose ``lr_from`` is ``None``, each model that this size or a size
    reusing it trains is run at every rate of ``lr_grid`` with every seed of ``tuning_seeds``
    (which no final run uses); the rate with the best mean ``tuning_metric`` is chosen. A choice
    on an edge of the rates tried adds the next rate beyond it (a factor of ``lr_step``), up to
    ``lr_extensions`` times per edge; every extension is recorded.
    """

    name: str
    datasets: tuple[str, ...]
    sizes: tuple[SizePlan, ...]
    n_test: int | None = None  # None: the whole official test split
    lr_grid: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    lr_extensions: int = 0
    tuning_seeds: tuple[int, ...] = (100,)
    tuning_metric: str = "val_accuracy"
    tuning_epochs: int | None = None  # the epoch cap of tuning runs (None: their size's own)
    epochs: int = 100  # the epoch cap wherever a size gives none
    patience: int = 5
    batch_size: int = 32
    steps_per_execution: int = 1
    instruments: bool = False
    sensitivity: Sensitivity | None = None
    statistics: StatisticsPlan | None = None

    def __post_init__(self) -> None:
        from hqc_course.data import DATASETS

        bad = [d for d in self.datasets if d not in DATASETS]
        if bad or not self.datasets:
            raise ValueError(f"datasets {list(self.datasets)}: allowed a non-empty subset of {list(DATASETS)}")
        if not self.sizes:
            raise ValueError("sizes is empty: give at least one SizePlan")
        labels = [s.label for s in self.sizes]
        if len(set(labels)) != len(labels):
            raise ValueError(f"training sizes repeat: {labels}")
        if not self.lr_grid or any(not (isinstance(lr, float) and lr > 0) for lr in self.lr_grid) or \
                list(self.lr_grid) != sorted(set(self.lr_grid)):
            raise ValueError(f"lr_grid must hold distinct positive floats in increasing order, got {list(self.lr_grid)}")
        if isinstance(self.lr_extensions, bool) or not isinstance(self.lr_extensions, int) or self.lr_extensions < 0:
            raise ValueError(f"lr_extensions must be a non-negative integer, got {self.lr_extensions!r}")
        if self.lr_extensions and len(self.lr_grid) < 2:
            raise ValueError("lr_extensions needs a grid of at least 2 rates (the step between them)")
        if self.tuning_metric not in TUNING_METRICS:
            raise ValueError(f"tuning_metric {self.tuning_metric!r}: allowed {', '.join(TUNING_METRICS)}")
        for label in ("epochs", "batch_size", "steps_per_execution"):
            _positive_int(label, getattr(self, label))
        if self.tuning_epochs is not None:
            _positive_int("tuning_epochs", self.tuning_epochs)
        if isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {self.patience!r}")
        for size in self.sizes:
            if size.lr_from is not None:
                source = next((s for s in self.sizes if s.label == size.lr_from), None)
                if source is None or source.lr_from is not None:
                    raise ValueError(f"size {size.label} takes its learning rates from {size.lr_from!r}, which is not a "
                                     f"size of this config that is tuned itself (sizes: {labels})")
        if self.tune:
            if not self.tuning_seeds or len(set(self.tuning_seeds)) != len(self.tuning_seeds):
                raise ValueError(f"tuning_seeds must be distinct, got {list(self.tuning_seeds)}")
            final_seeds = {s for size in self.sizes for s in size.seeds}
            shared = sorted(final_seeds & set(self.tuning_seeds))
            if shared:
                raise ValueError(f"tuning seeds {shared} are also seeds of the final runs: tuning must use seeds "
                                 "(data subsets and initialisations) that no reported run uses")
        if self.sensitivity is not None:
            unknown = [s for s in self.sensitivity.sizes if s not in labels]
            if unknown:
                raise ValueError(f"sensitivity sizes {unknown} are not sizes of this config ({labels})")
            missing = [(s.label, m) for s in self.sizes if s.label in self.sensitivity.sizes
                       for m in self.sensitivity.models if m not in s.models]
            if missing:
                raise ValueError(f"sensitivity runs models that a size does not train: {missing}")

    @property
    def tune(self) -> bool:
        """Whether learning rates are tuned (a grid of one value is simply fixed)."""
        return len(self.lr_grid) > 1

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m for size in self.sizes for m in size.models))

    @property
    def lr_step(self) -> float:
        """The factor between neighbouring rates of the grid (geometric mean of the grid's steps)."""
        grid = self.lr_grid
        return (grid[-1] / grid[0]) ** (1 / (len(grid) - 1)) if len(grid) > 1 else 1.0

    def size(self, label: str) -> SizePlan:
        for size in self.sizes:
            if size.label == label:
                return size
        raise ValueError(f"{self.name}: no training size {label!r} (sizes: {[s.label for s in self.sizes]})")

    def tuned_at(self, label: str) -> str:
        """The label of the size whose tuning gives size ``label`` its learning rates."""
        return self.size(label).lr_from or label

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def config_from_dict(d: dict[str, Any]) -> BenchmarkConfig:
    """The :class:`BenchmarkConfig` written in a results store (the inverse of ``to_dict``)."""
    d = dict(d)
    d["sizes"] = tuple(SizePlan(s["n_train"], s["n_val"], tuple(s["seeds"]), tuple(s["models"]), s.get("max_epochs"),
                                s.get("lr_from")) for s in d["sizes"])
    for k in ("datasets", "lr_grid", "tuning_seeds"):
        if k in d:
            d[k] = tuple(d[k])
    if d.get("sensitivity"):
        s = d["sensitivity"]
        d["sensitivity"] = Sensitivity(tuple(s["sizes"]), tuple(s["models"]), tuple(s["factors"]), s["seed"])
    if d.get("statistics"):
        s = dict(d["statistics"])
        s["main"] = tuple(tuple(p) for p in s["main"])
        s["secondary"] = tuple(tuple(p) for p in s["secondary"])
        d["statistics"] = StatisticsPlan(**s)
    return BenchmarkConfig(**d)


def _log_grid(low: float, high: float, points: int) -> tuple[float, ...]:
    """``points`` rates evenly spaced in log scale from ``low`` to ``high``, to 4 significant digits."""
    step = (math.log10(high) - math.log10(low)) / (points - 1)
    return tuple(float(f"{10 ** (math.log10(low) + i * step):.4g}") for i in range(points))


_CORE = ("cnn", "twin_4q", "hybrid_4q", "hybrid_4q_no_entanglement")
_SMALL_EXTRA = ("hybrid_4q_frozen", "twin_8q", "hybrid_8q")
_V2_MAIN = ("cnn", "twin_4q", "hybrid_4q", "hybrid_4q_half_angle", "hybrid_4q_no_entanglement")
_V2_SMALL = _V2_MAIN + ("identity_4q", "twin_8q", "hybrid_8q")

CONFIGS: dict[str, BenchmarkConfig] = {
    # CI size: MNIST only, 5 seeds, tiny subsets, few epochs, a fixed learning rate (a few minutes on 2 cores).
    "quick": BenchmarkConfig(
        name="quick", datasets=("mnist",),
        sizes=(SizePlan(300, 100, (0, 1, 2, 3, 4), _CORE),),
        n_test=500, lr_grid=(3e-3,), epochs=3, patience=2,
        statistics=StatisticsPlan(main=(("hybrid_4q", "twin_4q"),), secondary=(("cnn", "twin_4q"),)),
    ),
    # The benchmark at the datasets' real sizes, protocol 2 (chapters 05-07; issue "protocol v2"):
    # tuned at 1,000 and 4,000 on validation loss, trained to convergence, 10 seeds where runs are cheap.
    "scale": BenchmarkConfig(
        name="scale", datasets=("mnist", "cifar10"),
        sizes=(SizePlan(1000, 500, tuple(range(10)), _V2_SMALL, max_epochs=500),
               SizePlan(4000, 1000, tuple(range(10)), _V2_SMALL, max_epochs=300),
               SizePlan(16000, 2000, tuple(range(5)), _V2_MAIN, max_epochs=150, lr_from="4000"),
               SizePlan(None, 5000, tuple(range(3)), _V2_MAIN, max_epochs=100, lr_from="4000")),
        lr_grid=_log_grid(1e-4, 1e-2, 5), lr_extensions=2, tuning_seeds=(100, 101), tuning_metric="val_loss",
        patience=20, steps_per_execution=32, instruments=True,
        sensitivity=Sensitivity(sizes=("16000", "all"),
                                models=("twin_4q", "hybrid_4q", "hybrid_4q_half_angle", "hybrid_4q_no_entanglement")),
        statistics=StatisticsPlan(
            main=(("hybrid_4q", "twin_4q"), ("hybrid_4q_half_angle", "twin_4q"),
                  ("hybrid_4q_no_entanglement", "twin_4q"), ("hybrid_8q", "twin_8q")),
            secondary=(("hybrid_4q_half_angle", "hybrid_4q"), ("hybrid_4q_no_entanglement", "hybrid_4q"),
                       ("twin_4q", "identity_4q"), ("hybrid_4q", "identity_4q"), ("cnn", "twin_4q"))),
    ),
    # Protocol 1, whose results (results/benchmark_scale_v1.json) chapter 07 quotes as the protocol that was
    # replaced: tuned once at 4,000 images with one seed on validation accuracy, patience 5.
    "scale_v1": BenchmarkConfig(
        name="scale_v1", datasets=("mnist", "cifar10"),
        sizes=(SizePlan(1000, 500, (0, 1, 2, 3, 4), _CORE + _SMALL_EXTRA, max_epochs=400, lr_from="4000"),
               SizePlan(4000, 1000, (0, 1, 2, 3, 4), _CORE + _SMALL_EXTRA, max_epochs=200),
               SizePlan(16000, 2000, (0, 1, 2), _CORE, lr_from="4000"),
               SizePlan(None, 5000, (0, 1, 2), _CORE, lr_from="4000")),
        tuning_epochs=100,
        statistics=StatisticsPlan(main=PAIRS[:6], pairing="paired", interval="seeds"),
    ),
    # Chapter 10: quanvolution on 1,000 real MNIST training images (features cached). Tuned like "scale"
    # (review finding 4): 5 log-spaced rates from 1e-4 to 1e-2, one extension beyond an edge, two tuning seeds
    # that no final run uses, chosen on validation loss (the early-stopping metric).
    "quanvolution": BenchmarkConfig(
        name="quanvolution", datasets=("mnist",),
        sizes=(SizePlan(1000, 500, (0, 1, 2, 3, 4), ("quanv_none", "quanv_classical", "quanv_quantum")),),
        lr_grid=_log_grid(1e-4, 1e-2, 5), lr_extensions=1, tuning_seeds=(100, 101), tuning_metric="val_loss",
        # 400 epochs: a Dense(10) on fixed features with a small learning rate converges slowly
        # (with a cap of 100, 4 of the 5 quantum-feature runs at 3e-4 reached it)
        epochs=400, patience=5,
        statistics=StatisticsPlan(main=PAIRS[6:8]),
    ),
    # Chapter 11: CIFAR-10 cat vs dog (n_train counts cat and dog images) on the frozen pretrained trunk,
    # tuned like "quanvolution"; 32 steps per execution (the heads are tiny: per-step overhead dominates).
    "transfer": BenchmarkConfig(
        name="transfer", datasets=("cifar10",),
        sizes=(SizePlan(8000, 2000, (0, 1, 2, 3, 4),
                        ("transfer_linear", "transfer_classical", "transfer_dressed_quantum")),),
        lr_grid=_log_grid(1e-4, 1e-2, 5), lr_extensions=1, tuning_seeds=(100, 101), tuning_metric="val_loss",
        epochs=100, patience=5, steps_per_execution=32,
        statistics=StatisticsPlan(main=PAIRS[8:10]),
    ),
}


def get_config(name: str) -> BenchmarkConfig:
    """The committed config ``name``, with an error that lists the allowed names. Introduced in notebook 07."""
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}: allowed {', '.join(map(repr, CONFIGS))}")
    return CONFIGS[name]
