"""hqc_course.plotting.plot_bottleneck_history: the figure chapters 05 and 06 draw from the bottleneck instruments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from hqc_course.plotting import plot_bottleneck_history  # noqa: E402


def report(centre, grad):
    return {"quantiles": [centre - 0.2, centre - 0.1, centre, centre + 0.1, centre + 0.2], "grad_norm_median": grad}


def test_one_panel_per_model_and_one_for_the_gradients_drawn_from_the_records():
    before = {"hybrid": report(0.5, 0.1), "twin": report(0.5, 0.7)}
    records = {"hybrid": [report(0.4, 0.5), report(0.3, 0.9)], "twin": [report(0.6, 0.6)]}
    fig = plot_bottleneck_history(before, records, {"hybrid": "C0", "twin": "C1"}, "a title")
    axes = fig.axes
    assert len(axes) == 3 and fig._suptitle.get_text() == "a title"
    assert [ax.get_title() for ax in axes[:2]] == ["hybrid: where z sits", "twin: where z sits"]
    median = [line for line in axes[0].get_lines() if line.get_label() == "median"][0]
    assert np.allclose(median.get_ydata(), [0.5, 0.4, 0.3])  # before training, then epoch by epoch
    grads = {line.get_label(): line.get_ydata() for line in axes[2].get_lines()}
    assert np.allclose(grads["hybrid"], [0.1, 0.5, 0.9]) and np.allclose(grads["twin"], [0.7, 0.6])
    assert axes[2].get_yscale() == "log" and "per image" in axes[2].get_ylabel()
    assert all(ax.get_ylabel() == "bottleneck feature z (dimensionless)" for ax in axes[:2])  # every panel reads alone
    plt.close(fig)


def test_a_model_without_records_is_named():
    with pytest.raises(ValueError, match=r"no instrument records for \['twin'\]"):
        plot_bottleneck_history({"hybrid": report(0.5, 0.1)}, {"hybrid": []}, {"hybrid": "C0", "twin": "C1"}, "t")
