"""hqc_course.benchmark.stats: intervals, tests, families and verdicts, against SciPy and statsmodels."""

import numpy as np
import pytest

from hqc_course.benchmark import (
    StatisticsPlan,
    comparisons,
    family_table,
    judge,
    judgement,
    paired_comparison,
    pairing_check,
    summarize,
    t_interval,
    verdict,
)
from hqc_course.runs import decode_correct, encode_correct


def rows_for(pairs, data="MNIST", size="20", a="hybrid_4q", b="twin_4q"):
    rows = []
    for seed, (x, y) in enumerate(pairs):
        rows += [{"phase": "final", "data_name": data, "size": size, "model": a, "seed": seed, "test_accuracy": x},
                 {"phase": "final", "data_name": data, "size": size, "model": b, "seed": seed, "test_accuracy": y}]
    return rows


# ------------------------------------------------------------------ protocol 1
def test_t_interval_matches_known_values():
    mean, std, half = t_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert mean == 3.0 and std == pytest.approx(np.sqrt(2.5))
    assert half == pytest.approx(2.7764451 * np.sqrt(2.5) / np.sqrt(5), rel=1e-6)  # t(0.975, 4) = 2.776445
    with pytest.raises(ValueError, match="need at least 2 values"):
        t_interval(np.array([1.0]))


def test_paired_comparison_matches_scipy():
    from scipy import stats

    a, b = [0.80, 0.82, 0.79, 0.85, 0.81], [0.84, 0.85, 0.83, 0.88, 0.86]
    c = paired_comparison(rows_for(zip(a, b)), "MNIST", "20", "hybrid_4q", "twin_4q")
    assert c["mean difference"] == pytest.approx(np.mean(np.subtract(a, b)))
    assert c["p value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert c["wilcoxon p"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    assert c["seeds"] == 5 and c["differences"] == pytest.approx(np.subtract(a, b).tolist())


def test_holm_adjustment_decides_the_verdict():
    clear = rows_for([(0.80, 0.90), (0.81, 0.92), (0.79, 0.90), (0.80, 0.91), (0.82, 0.92)], size="20")
    borderline = rows_for([(0.80, 0.81), (0.80, 0.83), (0.81, 0.81), (0.79, 0.81), (0.80, 0.82)], size="40")
    null = rows_for([(0.80, 0.81), (0.82, 0.80), (0.81, 0.81), (0.79, 0.80), (0.80, 0.79)], size="60")
    family = comparisons(clear + borderline + null)
    by_size = {c["size"]: c for c in family}
    raw = sorted(c["p value"] for c in family)
    assert by_size["20"]["holm p value"] == pytest.approx(min(1, 3 * raw[0]))
    assert by_size["40"]["holm p value"] == pytest.approx(max(3 * raw[0], 2 * raw[1]))
    assert by_size["40"]["p value"] < 0.05 < by_size["40"]["holm p value"]
    assert by_size["20"]["significant"] and not by_size["40"]["significant"]
    assert "twin_4q is better than hybrid_4q by 10.6 points" in verdict(by_size["20"])
    borderline_text = verdict(by_size["40"])
    assert "hybrid_4q below twin_4q on average, but not significant after Holm's correction" in borderline_text
    assert "no equivalence test" in borderline_text and "no difference" not in borderline_text
    assert "hybrid_4q above twin_4q in 0 of 5 seeds, below in 4" in borderline_text  # one tie
    # the interval is at the family's level (Bonferroni over 3: 98.33 %), as wide as the t-quantile says
    from scipy import stats

    half = 100 * stats.t.ppf(1 - 0.05 / 3 / 2, 4) * np.std(by_size["40"]["differences"], ddof=1) / np.sqrt(5)
    assert f"± {half:.1f} at the family's level (98.33% interval, Bonferroni over 3 comparisons)" in borderline_text


def test_pairs_with_fewer_than_three_seeds_stay_out_of_the_family():
    five = rows_for([(0.80, 0.90), (0.81, 0.92), (0.79, 0.90), (0.80, 0.91), (0.82, 0.92)], size="20")
    two = rows_for([(0.80, 0.81), (0.80, 0.83)], size="40")
    assert [c["size"] for c in comparisons(five + two)] == ["20"]
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


# ------------------------------------------------------------------ protocol 2
PLAN = StatisticsPlan(main=(("hybrid_4q", "twin_4q"),), secondary=(("cnn", "twin_4q"),), pairing="by correlation",
                      interval="seeds")


def test_the_test_follows_the_measured_correlation_and_matches_scipy():
    from scipy import stats

    a = [0.80, 0.82, 0.79, 0.85, 0.81]
    b_with = [0.84, 0.85, 0.83, 0.88, 0.86]  # moves with a: paired
    b_against = [0.88, 0.84, 0.87, 0.83, 0.86]  # moves against a: Welch
    (paired,) = judge(rows_for(zip(a, b_with)), PLAN)["main"]
    (welch,) = judge(rows_for(zip(a, b_against)), PLAN)["main"]
    assert paired["test"] == "paired t" and paired["correlation"] > 0
    assert paired["p value"] == pytest.approx(stats.ttest_rel(a, b_with).pvalue)
    assert welch["test"] == "Welch t" and welch["correlation"] < 0
    assert welch["p value"] == pytest.approx(stats.ttest_ind(a, b_against, equal_var=False).pvalue)
    assert "seed correlation +0.9" in judgement(paired) and "Welch t (seed correlation -0." in judgement(welch)


def test_the_pairing_check_flags_a_welch_verdict_that_pairing_would_not_give():
    # the hybrid ahead by 1.3 points, the two moving against each other over seeds (correlation < 0):
    # Welch calls it, the paired test (what the shared seeds support) sees the larger spread of the differences
    a = [0.8304, 0.8096, 0.8252, 0.8148, 0.8356, 0.8044, 0.8221, 0.8179, 0.8283, 0.8117]
    b = [0.7972, 0.8170, 0.8004, 0.8118, 0.7920, 0.8222, 0.8035, 0.8087, 0.7993, 0.8139]
    (c,) = pairing_check(rows_for(zip(a, b)), PLAN)
    assert c["test"] == "Welch t" and c["correlation"] < 0
    assert c["outcome"] == "a better" and c["paired outcome"] == "inconclusive" and c["changed"]
    # positively correlated seeds: already paired, nothing moves
    (same,) = pairing_check(rows_for(zip(a, [x - 0.01 for x in a])), PLAN)
    assert same["test"] == "paired t" and not same["changed"] and same["p"] == same["paired p"]


def test_the_family_table_shows_points_and_marks_fragile_verdicts():
    a = [0.8304, 0.8096, 0.8252, 0.8148, 0.8356, 0.8044, 0.8221, 0.8179, 0.8283, 0.8117]
    b = [0.7972, 0.8170, 0.8004, 0.8118, 0.7920, 0.8222, 0.8035, 0.8087, 0.7993, 0.8139]
    rows = rows_for(zip(a, b))
    (c,) = judge(rows, PLAN)["main"]
    (row,) = family_table([c], pairing_check(rows, PLAN)).to_dict("records")
    assert row["a − b"] == pytest.approx(100 * (np.mean(a) - np.mean(b)))
    assert row["b error"] == pytest.approx(100 - 100 * np.mean(b)) and row["± 95%"] == pytest.approx(100 * c["ci half-width"])
    assert row["verdict"] == "a better†"  # Welch calls it; all-paired would not
    (plain,) = family_table([c]).to_dict("records")
    assert plain["verdict"] == "a better"


def test_tost_matches_statsmodels_when_only_seeds_count():
    from statsmodels.stats.weightstats import ttost_ind, ttost_paired

    a = np.array([0.800, 0.803, 0.799, 0.805, 0.801, 0.802])
    b_with, b_against = a - 0.002 + np.array([0.001, 0, -0.001, 0.0005, 0, 0.0002]), a[::-1] + 0.001
    (c,) = judge(rows_for(zip(a, b_with)), PLAN)["main"]
    assert c["test"] == "paired t" and c["tost p"] == pytest.approx(ttost_paired(a, b_with, -0.01, 0.01)[0])
    (c,) = judge(rows_for(zip(a, b_against)), PLAN)["main"]
    assert c["test"] == "Welch t"
    assert c["tost p"] == pytest.approx(ttost_ind(a, b_against, -0.01, 0.01, usevar="unequal")[0])


def test_no_difference_is_said_only_from_equivalence():
    tight = rows_for([(0.800, 0.801), (0.802, 0.802), (0.799, 0.801), (0.801, 0.800), (0.800, 0.802)])
    noisy = rows_for([(0.70, 0.80), (0.90, 0.81), (0.75, 0.79), (0.88, 0.80), (0.80, 0.82)])
    (eq,) = judge(tight, PLAN)["main"]
    (unclear,) = judge(noisy, PLAN)["main"]
    assert eq["outcome"] == "equivalent" and "no difference larger than 1 point" in judgement(eq)
    assert unclear["outcome"] == "inconclusive" and "inconclusive: neither a difference nor equivalence" in judgement(unclear)


def test_holm_works_inside_each_family_only():
    rows = []
    for size, gap in (("20", 0.03), ("40", 0.031), ("60", 0.0)):
        rows += rows_for([(0.80 + gap + e, 0.80 + e2) for e, e2 in [(0.001, 0), (0, 0.002), (0.002, 0.001),
                                                                     (-0.001, 0.0), (0, -0.002)]], size=size)
        rows += rows_for([(0.9, 0.8), (0.91, 0.8), (0.9, 0.81)], size=size, a="cnn")
    families = judge(rows, PLAN)
    assert {c["family size"] for c in families["main"]} == {3} and {c["family size"] for c in families["secondary"]} == {3}
    main = families["main"]
    raw = sorted(c["p value"] for c in main)
    assert min(c["holm p value"] for c in main) == pytest.approx(min(1, 3 * raw[0]))


def _runs_on_images(p_a, p_b, seeds, rng, size="20", shuffle=False):
    """Final-run rows whose seeds get test image i right with probability p_a[i] (hybrid), p_b[i] (twin).

    With ``shuffle`` each seed holds its test images in its own order, as :func:`hqc_course.data.load_dataset`
    does; the rows' ``order`` says which image each entry is (what ``test_images`` reads).
    """
    n, rows = len(p_a), []
    for seed in range(seeds):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for model, p in (("hybrid_4q", p_a), ("twin_4q", p_b)):
            correct = (rng.random(n) < p)[order]
            rows.append({"phase": "final", "data_name": "MNIST", "size": size, "model": model, "seed": seed,
                         "test_accuracy": float(correct.mean()), "n_test": n, "test_correct": encode_correct(correct),
                         "order": order})
    return rows


def listed_order(row):
    return row["order"]


def _two_models_that_differ_image_by_image(rng, n):
    p_b = rng.beta(4, 1, n)
    return np.clip(p_b + rng.normal(0.0, 0.2, n), 0, 1), p_b


def test_the_test_images_add_their_variance_to_the_seeds():
    rng = np.random.default_rng(0)
    n = 2000
    rows = _runs_on_images(*_two_models_that_differ_image_by_image(rng, n), 5, rng)
    assert (decode_correct(rows[0]["test_correct"], n).mean()) == rows[0]["test_accuracy"]
    seeds_only = judge(rows, PLAN, listed_order)["main"][0]
    both = judge(rows, StatisticsPlan(main=PLAN.main, interval="seeds and test images"), listed_order)["main"][0]
    assert both["se test images"] > 0
    assert both["se"] == pytest.approx(np.sqrt(seeds_only["se"] ** 2 + both["se test images"] ** 2))
    # the degrees of freedom stay the seeds' own (n − 1 paired, Welch's otherwise)
    assert both["df"] == both["df seeds"] == seeds_only["df"]
    assert both["ci half-width"] > seeds_only["ci half-width"]
    # the sentence says what its interval counts
    assert "95% CI, seeds and test images;" in judgement(both) and "95% CI, seeds only;" in judgement(seeds_only)


def test_the_test_images_variance_does_not_count_the_seeds_noise_twice():
    from hqc_course.benchmark.stats import _test_image_variance

    rng = np.random.default_rng(1)
    n, seeds = 1000, 5

    def estimate(p_a, p_b):
        rows = _runs_on_images(p_a, p_b, seeds, rng)
        return _test_image_variance(rows[0::2], rows[1::2], listed_order)

    # every image alike: a new draw of test images cannot move the difference, only the seeds can
    flat = [estimate(np.full(n, 0.8), np.full(n, 0.78)) for _ in range(40)]
    raw = 2 * 0.8 * 0.2 / seeds / n  # what the per-image shares' spread alone would say, about
    assert np.mean(flat) < 0.1 * raw
    # images that differ: the estimate is unbiased for var(p_a − p_b) / n
    p_a, p_b = _two_models_that_differ_image_by_image(rng, n)
    truth = np.var(p_a - p_b, ddof=1) / n
    estimates = [estimate(p_a, p_b) for _ in range(40)]
    assert np.mean(estimates) == pytest.approx(truth, rel=0.05)


def test_the_runs_are_lined_up_image_by_image_when_each_seed_shuffles_its_test_images():
    from hqc_course.benchmark.stats import _test_image_variance

    rng = np.random.default_rng(2)
    n = 1000
    p_a, p_b = _two_models_that_differ_image_by_image(rng, n)
    truth = np.var(p_a - p_b, ddof=1) / n
    shuffled = [_runs_on_images(p_a, p_b, 5, rng, shuffle=True) for _ in range(20)]
    lined_up = [_test_image_variance(r[0::2], r[1::2], listed_order) for r in shuffled]
    assert np.mean(lined_up) == pytest.approx(truth, rel=0.1)
    # read in the seeds' own orders, the same images look alike and the test set's part vanishes
    as_stored = [_test_image_variance(r[0::2], r[1::2], lambda row: np.arange(n)) for r in shuffled]
    assert np.mean(as_stored) < 0.2 * truth
    # runs that tested different images cannot be lined up: their seeds' spread already holds that draw
    other = _runs_on_images(p_a, p_b, 2, rng)
    other[0]["order"] = other[1]["order"] = np.arange(n) + 1
    assert _test_image_variance(other[0::2], other[1::2], listed_order) is None
    assert _test_image_variance(other[0::2], other[1::2], lambda row: None) is None


def test_the_interval_is_also_given_at_the_familys_level():
    from scipy import stats

    rows = []
    for size, gap in (("20", 0.03), ("40", 0.01), ("60", 0.0)):
        rows += rows_for([(0.80 + gap + e, 0.80 + e2) for e, e2 in [(0.001, 0), (0, 0.002), (0.002, 0.001),
                                                                     (-0.001, 0.0), (0, -0.002)]], size=size)
    family = judge(rows, PLAN)["main"]
    assert len(family) == 3
    for c in family:
        half = stats.t.ppf(1 - 0.05 / 3 / 2, c["df"]) * c["se"]
        assert c["family level"] == pytest.approx(1 - 0.05 / 3)
        assert c["family ci high"] - c["mean difference"] == pytest.approx(half)
        assert c["family ci half-width"] > c["ci half-width"]
        assert f"± {100 * half:.1f} at the family's level, 98.33% Bonferroni" in judgement(c)


def test_a_test_images_dominated_error_keeps_the_seeds_degrees_of_freedom():
    # three seeds that agree to the image: the error is nearly all the test set's, but crediting its N − 1 degrees of
    # freedom (Welch–Satterthwaite) would make 3-seed tests too bold whenever the seeds' variance is underestimated
    rng = np.random.default_rng(1)
    n = 10_000
    a, b = rng.random(n) < 0.90, rng.random(n) < 0.88
    rows = [{"phase": "final", "data_name": "MNIST", "size": "all", "model": model, "seed": seed,
             "test_accuracy": float(correct.mean()) + 1e-4 * seed * (model == "hybrid_4q"), "n_test": n,
             "test_correct": encode_correct(correct)} for seed in range(3) for model, correct in (("hybrid_4q", a), ("twin_4q", b))]
    (c,) = judge(rows, StatisticsPlan(main=PLAN.main), lambda row: np.arange(n))["main"]
    assert c["se test images"] > 2 * c["se seeds"]
    assert c["df seeds"] == c["df"] == 2


def test_a_difference_inside_the_margin_is_flagged_negligible_and_said_so():
    a = [0.8010, 0.8021, 0.8003, 0.8018, 0.8007, 0.8014]
    (c,) = judge(rows_for(zip(a, [x - 0.002 for x in a])), PLAN)["main"]
    assert c["outcome"] == "a better" and c["negligible"] and "real but negligible" in judgement(c)
    assert c["verdict"] == "negligible"
    (big,) = judge(rows_for(zip(a, [x - 0.03 for x in a])), PLAN)["main"]
    assert big["outcome"] == "a better" and not big["negligible"] and "negligible" not in judgement(big)
    assert big["verdict"] == "a better"


def test_a_seed_whose_training_diverged_is_listed_and_said():
    rows = rows_for([(0.8, 0.7), (0.1, 0.72), (0.81, 0.71)])
    for r in rows:
        r["history"] = {"loss": [2.3, float("nan")] if (r["seed"], r["model"]) == (1, "hybrid_4q") else [2.3, 1.0]}
    (c,) = judge(rows, PLAN)["main"]
    assert c["diverged seeds"] == [1] and "(3 seeds; training loss non-finite at seed 1)" in judgement(c)
    assert (c["a mean"], c["b mean"]) == pytest.approx((np.mean([0.8, 0.1, 0.81]), np.mean([0.7, 0.72, 0.71])))
    (clean,) = judge(rows_for([(0.8, 0.7), (0.79, 0.72), (0.81, 0.71)]), PLAN)["main"]
    assert clean["diverged seeds"] == [] and "(3 seeds)" in judgement(clean)


def test_a_non_finite_accuracy_is_refused_with_its_cell_and_seed():
    with pytest.raises(ValueError, match=r"MNIST, 20: hybrid_4q − twin_4q has a non-finite test accuracy at seeds \[1\]"):
        judge(rows_for([(0.8, 0.7), (float("nan"), 0.7), (0.81, 0.72)]), PLAN)


def test_compared_to_phrases_each_verdict_and_a_fragile_one():
    from hqc_course.benchmark import compared_to

    a = [0.8010, 0.8021, 0.8003, 0.8018, 0.8007, 0.8014]
    (small,) = judge(rows_for(zip(a, [x - 0.002 for x in a])), PLAN)["main"]
    assert compared_to(small, "the twin").startswith("is better than the twin by 0.2 ± ")
    assert "real but negligible" in compared_to(small, "the twin")
    (big,) = judge(rows_for(zip(a, [x + 0.03 for x in a])), PLAN)["main"]
    assert compared_to(big, "the twin").startswith("is worse than the twin by 3.0 ± ")
    assert "negligible" not in compared_to(big, "the twin") and "fragile" not in compared_to(big, "the twin")
    check = {"changed": True, "test": "Welch t", "correlation": -0.7, "paired outcome": "inconclusive", "paired p": 0.08}
    assert "a fragile verdict" in compared_to(big, "the twin", check)
    (eq,) = judge(rows_for(zip(a, a[1:] + a[:1])), PLAN)["main"]
    assert eq["outcome"] == "equivalent" and compared_to(eq, "the twin").startswith("is equivalent to the twin within ±1 point")
    assert compared_to(eq, "the twin", {**check, "paired outcome": "inconclusive"}).endswith(
        "the comparison is inconclusive, Holm p = 0.08: a fragile verdict)")
    (unclear,) = judge(rows_for([(0.8, 0.7), (0.7, 0.8), (0.75, 0.74)]), PLAN)["main"]
    assert compared_to(unclear, "the twin").startswith("can be told neither better, worse, nor equivalent")


def test_one_models_interval_counts_the_test_images_too():
    from scipy import stats as st

    from hqc_course.benchmark import summarize
    from hqc_course.benchmark.stats import accuracy_interval

    rng = np.random.default_rng(3)
    n = 1000
    p_a, p_b = _two_models_that_differ_image_by_image(rng, n)
    # unbiased for var(p_a) / n with the seeds' noise taken out, from runs that shuffle their test images
    estimates = [accuracy_interval(_runs_on_images(p_a, p_b, 5, rng, shuffle=True)[0::2], 0.95, listed_order)
                 ["se test images"] ** 2 for _ in range(20)]
    assert np.mean(estimates) == pytest.approx(np.var(p_a, ddof=1) / n, rel=0.1)
    rows = _runs_on_images(p_a, p_b, 5, rng, shuffle=True)
    for r in rows:
        r.update(dataset="mnist", n_train=20, learning_rate=1e-3, seconds_per_epoch=1.0, epochs_run=3, trainable_params=10)
    hybrid = summarize(rows, test_images=listed_order).set_index("model").loc["hybrid_4q"]
    x = [r["test_accuracy"] for r in rows if r["model"] == "hybrid_4q"]
    assert hybrid["se seeds"] == pytest.approx(np.std(x, ddof=1) / np.sqrt(5)) and hybrid["se test images"] > 0
    assert hybrid["ci half-width"] == pytest.approx(st.t.ppf(0.975, 4) * np.hypot(hybrid["se seeds"], hybrid["se test images"]))
    # runs that did not record their test images: the seeds' interval alone
    for r in rows:
        del r["test_correct"]
    plain = summarize(rows, test_images=listed_order).set_index("model").loc["hybrid_4q"]
    assert np.isnan(plain["se test images"]) and plain["ci half-width"] == pytest.approx(st.t.ppf(0.975, 4) * plain["se seeds"])
