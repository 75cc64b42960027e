"""The statistics of the benchmark: intervals, tests and verdicts in words (SciPy and statsmodels).

Introduced in notebook 06 (a family of its own) and notebook 07 (the families and verdicts; protocol 1's paired tests).

Two ways of judging, both on final runs only:

* :func:`comparisons` and :func:`verdict`: seed-by-seed paired differences, the paired t-test
  (with Wilcoxon beside it) and Holm's adjustment over one family of pairs (protocol 1, and
  chapters 10 and 11).
* :func:`judge` and :func:`judgement`: protocol 2's rules, fixed in the config's
  :class:`~hqc_course.benchmark.spec.StatisticsPlan` before any final run: a main family and a
  secondary family, each Holm-adjusted on its own; intervals that count the test set's
  sampling error as well as the seeds'; a paired or Welch test per cell, chosen from the
  measured correlation; and "no difference" only from an equivalence test (TOST).

The t distributions are SciPy's and Holm's adjustment is statsmodels' ``multipletests``; the
TOST here is statsmodels' ``ttost_paired`` / ``ttost_ind`` with the test images' variance added
to the seeds' (with ``interval="seeds"`` the two agree exactly; ``tests/test_benchmark_stats.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from hqc_course.benchmark.catalogue import TestImages, test_images_of
from hqc_course.benchmark.spec import PAIRS, StatisticsPlan
from hqc_course.runs import decode_correct

__all__ = ["comparisons", "final_rows", "judge", "judgement", "paired_comparison", "pairing_check", "t_interval",
           "verdict"]


def final_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The final runs among ``rows`` (tuning and sensitivity runs never enter a verdict). Notebook 07."""
    return [r for r in rows if r.get("phase", "final") == "final"]


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean, sample standard deviation and half-width of the t confidence interval of ``values``.

    Introduced in notebook 07.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        raise ValueError(f"need at least 2 values for a confidence interval, got {len(values)}")
    mean, std = float(values.mean()), float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * std / np.sqrt(len(values)))
    return mean, std, half


def _accuracies(rows: Iterable[dict[str, Any]], data_name: str, size: str, model: str) -> dict[int, dict[str, Any]]:
    return {r["seed"]: r for r in final_rows(rows)
            if r["data_name"] == data_name and str(r["size"]) == str(size) and r["model"] == model}


# ------------------------------------------------------------------ protocol 1: paired t, one family
def paired_comparison(rows: Iterable[dict[str, Any]], data_name: str, size: str, model_a: str, model_b: str,
                      confidence: float = 0.95) -> dict[str, Any]:
    """Seed-by-seed difference of test accuracy, ``model_a − model_b``: t-interval, paired t and Wilcoxon tests.

    Introduced in notebook 07 (protocol 1). Only seeds where both models finished are used. The
    p-values here are *unadjusted*; :func:`comparisons` adds the Holm adjustment.
    """
    from scipy import stats

    rows = list(rows)
    a_runs, b_runs = _accuracies(rows, data_name, size, model_a), _accuracies(rows, data_name, size, model_b)
    seeds = sorted(set(a_runs) & set(b_runs))
    if len(seeds) < 2:
        raise ValueError(f"{data_name} at {size}: {model_a} and {model_b} share {len(seeds)} finished seeds; "
                         "need at least 2")
    a = np.array([a_runs[s]["test_accuracy"] for s in seeds])
    b = np.array([b_runs[s]["test_accuracy"] for s in seeds])
    diff = a - b
    mean, std, half = t_interval(diff, confidence)
    p = float(stats.ttest_rel(a, b).pvalue) if std > 0 else (1.0 if mean == 0 else 0.0)
    wilcoxon = float(stats.wilcoxon(a, b).pvalue) if np.any(diff != 0) else 1.0
    skew = float(stats.skew(diff)) if len(diff) > 2 and std > 0 else 0.0
    return {"data": data_name, "size": size, "a": model_a, "b": model_b, "seeds": len(seeds),
            "differences": diff.tolist(), "mean difference": mean, "ci half-width": half, "p value": p,
            "wilcoxon p": wilcoxon, "skewness": skew, "confidence": confidence}


def comparisons(rows: Iterable[dict[str, Any]], confidence: float = 0.95, alpha: float = 0.05,
                min_seeds: int = 3, pairs: Iterable[tuple[str, str]] = PAIRS) -> list[dict[str, Any]]:
    """Every pair of ``pairs`` at every (data, size) present in ``rows``, with Holm-adjusted p-values.

    Introduced in notebook 07 (protocol 1). The family is every comparison returned: Holm's step-down
    method (statsmodels) keeps the chance of any false "significant" at most ``alpha``.
    A pair enters the family only once both models share ``min_seeds`` finished seeds: a
    t-test on 2 differences (1 degree of freedom) can hardly detect anything and would only
    make the adjustment of the others stricter.
    """
    if min_seeds < 2:
        raise ValueError(f"min_seeds must be at least 2 (a paired t-test needs 2 differences), got {min_seeds}")
    from statsmodels.stats.multitest import multipletests

    final = final_rows(rows)
    seeds: dict[tuple, set] = {}  # (data, size, model) -> its finished seeds
    for r in final:
        seeds.setdefault((r["data_name"], str(r["size"]), r["model"]), set()).add(r["seed"])
    out = []
    for data_name, size in dict.fromkeys((r["data_name"], str(r["size"])) for r in final):
        for a, b in pairs:
            shared = seeds.get((data_name, size, a), set()) & seeds.get((data_name, size, b), set())
            if len(shared) >= min_seeds:
                out.append(paired_comparison(final, data_name, size, a, b, confidence))
    if out:
        for name in ("p value", "wilcoxon p"):
            reject, adjusted, _, _ = multipletests([c[name] for c in out], alpha=alpha, method="holm")
            for c, adj, rej in zip(out, adjusted, reject):
                c[f"holm {name}"] = float(adj)
                if name == "p value":
                    c["significant"] = bool(rej)
        for c in out:
            c["family size"] = len(out)
            c["alpha"] = alpha
    return out


def _size_words(size: str) -> str:
    return "all" if size == "all" else f"{int(size):,}"


def verdict(comparison: dict[str, Any]) -> str:
    """The comparison in words, from the Holm-adjusted paired t-test. Introduced in notebook 07.

    It leads with the direction (in how many seeds ``a`` was above and below ``b``), gives the
    interval at the family's level (Bonferroni, ``1 − alpha / family size``: an interval at 95 %
    beside a family-wise test would claim more than the family allows), and never reads "no
    difference" from a test that did not reject: protocol 1 has no equivalence test.
    """
    c = comparison
    d = np.asarray(c["differences"], dtype=float)
    diff = 100 * c["mean difference"]
    m = c["family size"]
    level = 1 - c["alpha"] / m
    half = 100 * t_interval(d, level)[2]
    above, below = int(np.sum(d > 0)), int(np.sum(d < 0))
    head = f"{c['data']}, {_size_words(c['size'])} training images, {c['a']} vs {c['b']} over {c['seeds']} seeds: "
    family = f"{m} comparison{'s' if m != 1 else ''}"
    numbers = (f"{c['a']} − {c['b']} = {diff:+.1f} points, ± {half:.1f} at the family's level ({level:.2%} interval, "
               f"Bonferroni over {family}); {c['a']} above {c['b']} in {above} of {len(d)} seeds, below in {below}; "
               f"paired t-test p = {c['p value']:.3g}, Holm-adjusted p = {c['holm p value']:.3g}")
    if not c["significant"]:
        return head + (f"{c['a']} {'below' if diff < 0 else 'above'} {c['b']} on average, but not significant after "
                       f"Holm's correction ({numbers}); not evidence of equal accuracy: no equivalence test was made.")
    better, worse = (c["a"], c["b"]) if diff > 0 else (c["b"], c["a"])
    return head + f"{better} is better than {worse} by {abs(diff):.1f} points ({numbers})."


# ------------------------------------------------------------------ protocol 2: the plan's families
def _lined_up(runs: list[dict[str, Any]], test_images: TestImages) -> np.ndarray | None:
    """Which test images each run got right (seeds × images, 0/1), every run's images in one order.

    Each seed holds its test images in its own order: ``test_images(row)`` names them. ``None`` when a
    run did not record which images it got right, or when the runs did not all test the same images.
    """
    if not runs or not all("test_correct" in r for r in runs):
        return None
    ids = [test_images(r) for r in runs]
    if any(i is None for i in ids) or any(not np.array_equal(np.sort(i), np.sort(ids[0])) for i in ids[1:]):
        return None
    n = runs[0]["n_test"]
    return np.array([decode_correct(r["test_correct"], n)[np.argsort(i)] for r, i in zip(runs, ids)], dtype=float)


def _image_variance(per_seed: np.ndarray) -> float:
    """Variance of a seed-averaged mean over N images that comes from drawing the images (seeds × images in).

    Image i has an expected value μ_i over seeds; a new draw of N images moves the mean by var(μ) / N.
    The seed-averaged value of image i also carries the seeds' own noise on it, var_s / n for n seeds,
    which the seeds' term of an interval already counts: that part is subtracted, which makes the
    estimate unbiased (clipped at 0).
    """
    n_seeds, n_images = per_seed.shape
    spread = float(np.var(per_seed.mean(axis=0), ddof=1))
    if n_seeds > 1:
        spread -= float(np.mean(np.var(per_seed, axis=0, ddof=1))) / n_seeds
    return max(0.0, spread) / n_images


def _test_image_variance(a_runs: list[dict[str, Any]], b_runs: list[dict[str, Any]],
                         test_images: TestImages) -> float | None:
    """Variance of the seed-averaged accuracy difference a − b that comes from the test set's sampling of images.

    Per image, d_i = (a right) − (b right), seed by seed (``a_runs`` and ``b_runs`` in the same seed
    order), lined up image by image; see :func:`_image_variance`. ``None`` as for :func:`_lined_up`.
    """
    right = _lined_up(a_runs + b_runs, test_images)
    return None if right is None else _image_variance(right[:len(a_runs)] - right[len(a_runs):])


def accuracy_interval(runs: list[dict[str, Any]], confidence: float = 0.95,
                      test_images: TestImages = test_images_of) -> dict[str, float]:
    """One model's mean test accuracy over seeds with an interval counting seeds and test images. Notebook 10.

    ``se seeds`` from the seeds' spread, ``se test images`` (NaN when the runs did not record their
    test images, or tested different ones) as for a comparison, both in ``se``; the interval uses
    the seeds' n − 1 degrees of freedom. NaN spread and interval with a single seed.
    """
    from scipy import stats

    x = np.array([r["test_accuracy"] for r in runs], dtype=float)
    n = len(x)
    if n < 2:
        return {"mean": float(x.mean()), "std": float("nan"), "se seeds": float("nan"),
                "se test images": float("nan"), "se": float("nan"), "ci half-width": float("nan")}
    right = _lined_up(runs, test_images)
    test_var = float("nan") if right is None else _image_variance(right)
    seed_var = float(np.var(x, ddof=1) / n)
    se = float(np.sqrt(seed_var + (0.0 if np.isnan(test_var) else test_var)))
    return {"mean": float(x.mean()), "std": float(np.std(x, ddof=1)), "se seeds": float(np.sqrt(seed_var)),
            "se test images": float(np.sqrt(test_var)), "se": se,
            "ci half-width": float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se}


def _cell(rows: list[dict[str, Any]], data_name: str, size: str, a: str, b: str, plan: StatisticsPlan,
          test_images: TestImages) -> dict | None:
    """One comparison a − b at (data, size) under ``plan``; None if it has too few seeds."""
    from scipy import stats

    a_all, b_all = _accuracies(rows, data_name, size, a), _accuracies(rows, data_name, size, b)
    shared = sorted(set(a_all) & set(b_all))
    if len(shared) < plan.min_seeds:
        return None
    xa = np.array([a_all[s]["test_accuracy"] for s in shared], dtype=float)
    xb = np.array([b_all[s]["test_accuracy"] for s in shared], dtype=float)
    bad = [s for s, ok in zip(shared, np.isfinite(xa) & np.isfinite(xb)) if not ok]
    if bad:
        raise ValueError(f"{data_name}, {size}: {a} − {b} has a non-finite test accuracy at seeds {bad}; "
                         "a verdict needs a finite accuracy for every run (look at those runs in the store)")
    # a run whose training loss went non-finite still has a finite accuracy (its best weights, or chance): say so
    diverged = [s for s in shared if any(not np.isfinite(v) for run in (a_all[s], b_all[s])
                                         for v in run.get("history", {}).get("loss", []))]
    r = float(np.corrcoef(xa, xb)[0, 1]) if xa.std() > 0 and xb.std() > 0 else float("nan")
    paired = plan.pairing == "paired" or (plan.pairing == "by correlation" and np.isfinite(r) and r > 0)
    n = len(shared)
    diff = float(xa.mean() - xb.mean())
    if paired:
        seed_var = float(np.var(xa - xb, ddof=1) / n)
        df = n - 1
    else:
        va, vb = float(np.var(xa, ddof=1) / n), float(np.var(xb, ddof=1) / n)
        seed_var = va + vb
        df = seed_var ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1)) if seed_var > 0 else n - 1
    test_var = (_test_image_variance([a_all[s] for s in shared], [b_all[s] for s in shared], test_images)
                if plan.interval == "seeds and test images" else None)
    se = float(np.sqrt(seed_var + (test_var or 0.0)))
    # The seeds' degrees of freedom, even where the test images' variance (known almost exactly) dominates: crediting
    # it (Welch–Satterthwaite) makes the test too bold when 3-5 seeds estimate the seeds' part — chapter 07 simulates it.
    t_crit = float(stats.t.ppf(0.5 + plan.confidence / 2, df))
    if se > 0:
        p = float(2 * stats.t.sf(abs(diff) / se, df))
        m = plan.equivalence_margin
        tost = float(max(stats.t.sf((diff + m) / se, df), stats.t.sf((m - diff) / se, df)))
    else:
        p, tost = (1.0 if diff == 0 else 0.0), (0.0 if abs(diff) < plan.equivalence_margin else 1.0)
    return {"data": data_name, "size": size, "a": a, "b": b, "seeds": n, "seed list": shared, "diverged seeds": diverged,
            "a accuracies": xa.tolist(), "b accuracies": xb.tolist(), "differences": (xa - xb).tolist(),
            "correlation": r, "test": "paired t" if paired else "Welch t", "df": float(df),
            "df seeds": float(df),  # the same number: named so that no reader takes df for a Satterthwaite one
            "a mean": float(xa.mean()), "b mean": float(xb.mean()), "mean difference": diff, "se": se, "se seeds": float(np.sqrt(seed_var)),
            "se test images": None if test_var is None else float(np.sqrt(test_var)),
            "ci low": diff - t_crit * se, "ci high": diff + t_crit * se, "ci half-width": t_crit * se,
            "p value": p, "tost p": tost, "margin": plan.equivalence_margin, "confidence": plan.confidence}


def judge(rows: Iterable[dict[str, Any]], plan: StatisticsPlan,
          test_images: TestImages = test_images_of) -> dict[str, list[dict[str, Any]]]:
    """The main and secondary families of ``plan``, each Holm-adjusted on its own. Introduced in notebook 06; explained in 07.

    Every comparison is a − b on test accuracy at one (data, size) where the two models share at
    least ``plan.min_seeds`` finished seeds. Each gets:

    * the test chosen from the data (paired t when the two models' accuracies correlate
      positively over seeds, Welch's t otherwise), with its ``correlation`` reported;
    * a standard error that adds the seeds' variance and the test set's (``se seeds``,
      ``se test images``: the spread of per-image differences less the seeds' noise inside it,
      which the seeds' part already holds, with every run's test images lined up by
      ``test_images``, which names them; by default each model's trainer, as the catalogue
      says) on the seeds' degrees of freedom (``df`` = ``df seeds``: n − 1 paired,
      Welch's otherwise; Welch–Satterthwaite's credit for the test images would make a test on
      3-5 seeds too bold), its interval and p-value, and the TOST p-value for a difference within
      ± ``plan.equivalence_margin``;
    * the interval at the family's level too (``family ci low``/``high``: Bonferroni at
      ``1 − alpha / family size``), a simultaneous interval for the family — conservative
      next to Holm's step-down verdict, which can reject where it still covers zero;
    * Holm-adjusted p-values for both tests within its family, and an ``outcome``:
      ``"a better"``, ``"b better"``, ``"equivalent"`` or ``"inconclusive"``; ``negligible`` is
      true when a difference is shown *and* shown to lie within the margin (real, but smaller
      than the margin: not a win); ``verdict`` is the outcome in one word, ``"negligible"`` for
      those, which is what every report counts.

    A non-finite test accuracy raises ``ValueError`` naming the cell and the seeds. A seed whose
    training loss went non-finite in either model keeps its (finite) accuracy and is listed in
    ``diverged seeds``; :func:`judgement` says so.
    """
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    rows = final_rows(rows)
    cells = list(dict.fromkeys((r["data_name"], str(r["size"])) for r in rows))
    out: dict[str, list[dict[str, Any]]] = {}
    for family, pairs in (("main", plan.main), ("secondary", plan.secondary)):
        found = [c for (data_name, size) in cells for a, b in pairs
                 if (c := _cell(rows, data_name, size, a, b, plan, test_images)) is not None]
        if found:
            for name in ("p value", "tost p"):
                _, adjusted, _, _ = multipletests([c[name] for c in found], alpha=plan.alpha, method="holm")
                for c, adj in zip(found, adjusted):
                    c[f"holm {name}"] = float(adj)
        for c in found:
            c.update(family=family, **{"family size": len(found)}, alpha=plan.alpha)
            # the interval at the family's level (Bonferroni): the level the Holm-adjusted verdict speaks at
            level = 1 - plan.alpha / len(found)
            half = float(stats.t.ppf(0.5 + level / 2, c["df"])) * c["se"]
            c.update({"family level": level, "family ci low": c["mean difference"] - half,
                      "family ci high": c["mean difference"] + half, "family ci half-width": half})
            # a difference shown *and* shown to lie within the margin: real but smaller than the margin
            c["negligible"] = c["holm p value"] <= plan.alpha and c["holm tost p"] <= plan.alpha
            if c["holm p value"] <= plan.alpha:
                c["outcome"] = "a better" if c["mean difference"] > 0 else "b better"
            elif c["holm tost p"] <= plan.alpha:
                c["outcome"] = "equivalent"
            else:
                c["outcome"] = "inconclusive"
            c["verdict"] = "negligible" if c["negligible"] else c["outcome"]  # the one word every report counts
        out[family] = found
    return out


def pairing_check(rows: Iterable[dict[str, Any]], plan: StatisticsPlan,
                  test_images: TestImages = test_images_of,
                  judged: dict[str, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Every comparison of :func:`judge` beside its verdict with every cell tested paired. Introduced in notebook 07.

    The two models of a comparison share each seed's trunk initialisation and data order, so the
    paired test is the one the design supports. A plan with ``pairing="by correlation"`` tests a
    cell with a correlation ≤ 0 by Welch's t instead; when the true correlation is negative, the
    paired difference varies *more* than Welch assumes, and Welch's verdict is too bold. One
    dict per comparison: its place, ``correlation``, the plan's ``test``, ``outcome`` and Holm
    ``p``, the all-paired ``paired outcome`` and ``paired p`` (Holm inside the same family, every
    cell paired), and ``changed`` when the two outcomes differ. ``judged``: ``judge(rows, plan,
    test_images)`` when the caller has it already (it is not computed again). Only Welch cells can change their
    own test, but Holm's step-down can move a paired cell's verdict too.
    """
    from dataclasses import replace

    rows = list(rows)
    judged = judged if judged is not None else judge(rows, plan, test_images)
    all_paired = judged if plan.pairing == "paired" else judge(rows, replace(plan, pairing="paired"), test_images)
    paired = {(c["family"], c["data"], c["size"], c["a"], c["b"]): c for cs in all_paired.values() for c in cs}
    out = []
    for cs in judged.values():
        for c in cs:
            q = paired[(c["family"], c["data"], c["size"], c["a"], c["b"])]
            out.append({"family": c["family"], "data": c["data"], "size": c["size"], "a": c["a"], "b": c["b"],
                        "seeds": c["seeds"], "correlation": c["correlation"], "test": c["test"],
                        "outcome": c["outcome"], "p": c["holm p value"], "paired outcome": q["outcome"],
                        "paired p": q["holm p value"], "changed": c["outcome"] != q["outcome"]})
    return out


def judgement(c: dict[str, Any]) -> str:
    """One comparison of :func:`judge` in words, from its Holm-adjusted outcome. Introduced in notebook 07."""
    diff, half = 100 * c["mean difference"], 100 * c["ci half-width"]
    margin = 100 * c["margin"]
    diverged = c.get("diverged seeds") or []
    seeds = f"{c['seeds']} seeds" + (f"; training loss non-finite at seed{'s' * (len(diverged) > 1)} "
                                     f"{', '.join(map(str, diverged))}" if diverged else "")
    head = f"{c['data']}, {_size_words(c['size'])} training images, {c['a']} vs {c['b']} ({seeds}): "
    family = f"{c['family']} family of {c['family size']}"
    counted = "seeds and test images" if c.get("se test images") is not None else "seeds only"
    numbers = (f"{c['a']} − {c['b']} = {diff:+.1f} ± {half:.1f} points ({c['confidence']:.0%} CI, {counted}"
               f"; ± {100 * c['family ci half-width']:.1f} at the family's level, {c['family level']:.2%} "
               f"Bonferroni), {c['test']} (seed correlation {c['correlation']:+.2f}) p = {c['p value']:.3g}, "
               f"Holm over the {family} p = {c['holm p value']:.3g}")
    tost = f"equivalence test (TOST, ±{margin:g} point) Holm p = {c['holm tost p']:.3g}"
    if c["outcome"] in ("a better", "b better"):
        better, worse = (c["a"], c["b"]) if c["outcome"] == "a better" else (c["b"], c["a"])
        if c.get("negligible"):
            return head + (f"{better} is better than {worse} by {abs(diff):.1f} points, a difference shown to lie "
                           f"within ±{margin:g} point: real but negligible ({numbers}; {tost}).")
        return head + f"{better} is better than {worse} by {abs(diff):.1f} points ({numbers})."
    if c["outcome"] == "equivalent":
        return head + f"no difference larger than {margin:g} point ({tost}; {numbers})."
    return head + (f"inconclusive: neither a difference nor equivalence within ±{margin:g} point is shown "
                   f"({numbers}; {tost}).")


def compared_to(c: dict[str, Any], other: str, check: dict[str, Any] | None = None) -> str:
    """How ``c["a"]`` fares against ``other`` (the words for ``c["b"]``), as a verb phrase. Introduced in notebook 07.

    ``c`` is one comparison of :func:`judge`; ``check`` its row of :func:`pairing_check`, when a
    verdict that the all-paired test would change must say so (for every outcome). The phrase
    follows ``c["verdict"]``: "is better than …" / "is worse than …" (with "real but negligible"
    when the difference is shown to lie inside the margin), "is equivalent to …", or "can be told
    neither better, worse, nor equivalent …" (saying so when only Holm's correction removed an
    unadjusted p below alpha).
    """
    d, h, m = 100 * c["mean difference"], 100 * c["ci half-width"], 100 * c["margin"]
    fragile = (f"; but only by {check['test']}, which the plan chose because the seeds' correlation is "
               f"{check['correlation']:+.2f} — tested paired, as the shared seeds support, the "
               + ("difference" if c["outcome"] in ("a better", "b better") else "comparison")
               + f" is {check['paired outcome']}, Holm p = {check['paired p']:.2g}: a fragile verdict"
               if check is not None and check["changed"] else "")
    if c["outcome"] in ("a better", "b better"):
        small = (f"; a difference shown to lie within ±{m:g} point, real but negligible (equivalence Holm p = "
                 f"{c['holm tost p']:.2g})" if c["verdict"] == "negligible" else "")
        return (f"is {'better' if d > 0 else 'worse'} than {other} by {abs(d):.1f} ± {h:.1f} points "
                f"(Holm-adjusted p = {c['holm p value']:.2g}{small}{fragile})")
    if c["outcome"] == "equivalent":
        return (f"is equivalent to {other} within ±{m:g} point ({d:+.1f} ± {h:.1f} points; equivalence test, "
                f"Holm-adjusted p = {c['holm tost p']:.2g}{fragile})")
    near = (f"; alone, its unadjusted p = {c['p value']:.2g} would pass, but not after the correction for the "
            f"{c['family size']} tests of its family" if c["p value"] < c["alpha"] else "")
    return (f"can be told neither better, worse, nor equivalent within ±{m:g} point to {other} ({d:+.1f} ± {h:.1f} "
            f"points; difference Holm p = {c['holm p value']:.2g}{near}; equivalence Holm p = {c['holm tost p']:.2g}"
            f"{fragile})")
