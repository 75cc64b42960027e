"""hqc_course.instruments.first_epoch: the verdict chapters 05 and 06 print on the flat start."""

import pytest

from hqc_course.instruments import first_epoch


def reports(hybrid_start, twin_start, hybrid_first, twin_first):
    before = {"hybrid": {"grad_norm_median": hybrid_start}, "twin": {"grad_norm_median": twin_start}}
    records = {"hybrid": [{"grad_norm_median": hybrid_first}, {"grad_norm_median": 9.0}],
               "twin": [{"grad_norm_median": twin_first}]}
    return before, records


def test_ratios_are_read_from_the_first_epoch_only():
    check = first_epoch(*reports(0.01, 0.5, 0.3, 0.4), "hybrid", "twin")
    assert check.start_ratio == pytest.approx(50) and check.growth == pytest.approx(30)
    assert check.escaped  # grew 30× and reached 0.3 ≥ half of the twin's 0.4


def test_growth_alone_is_not_escape():
    assert not first_epoch(*reports(0.01, 0.5, 0.1, 0.4), "hybrid", "twin").escaped  # 10× but a quarter of the twin


def test_catching_up_without_growth_is_not_escape():
    assert not first_epoch(*reports(0.3, 0.5, 0.5, 0.5), "hybrid", "twin").escaped  # level with the twin, grew 1.7×


def test_the_thresholds_are_parameters():
    before, records = reports(0.01, 0.5, 0.1, 0.4)
    assert first_epoch(before, records, "hybrid", "twin", share_needed=0.25).escaped


def test_a_model_without_records_is_named():
    before, records = reports(0.01, 0.5, 0.3, 0.4)
    records["twin"] = []
    with pytest.raises(ValueError, match=r"'twin'.*records for \['hybrid'\]"):
        first_epoch(before, records, "hybrid", "twin")


def test_a_zero_start_is_refused():
    with pytest.raises(ValueError, match=r"'hybrid' had a gradient of 0.0 before training"):
        first_epoch(*reports(0.0, 0.5, 0.3, 0.4), "hybrid", "twin")
