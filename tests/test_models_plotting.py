"""Model plots: Axes in, Axes out, labelled with units, nothing global changed."""

import matplotlib
import matplotlib.pyplot as plt
import pytest

from clvkit import evaluation as ev
from clvkit.datasets import cdnow_summary, load_cdnow
from clvkit.models import BGNBD
from clvkit.plotting import holdout_by_frequency, p_alive_matrix, tracking_chart
from clvkit.summary import rfm_summary


@pytest.fixture(scope="module")
def setup():
    tx = load_cdnow().transactions
    s = rfm_summary(tx, observation_end="1998-06-30", calibration_end="1997-09-30",
                    time_unit="W")
    return tx, s, BGNBD().fit(cdnow_summary())


def test_plots_draw_on_given_axes(setup):
    tx, s, fit = setup
    rc = dict(matplotlib.rcParams)
    fig, axes = plt.subplots(1, 3)
    table = ev.conditional_expectations(s, fit=fit)
    assert holdout_by_frequency(table, model="BG/NBD", ax=axes[0]) is axes[0]
    assert "39 weeks" in axes[0].get_ylabel()
    assert [t.get_text() for t in axes[0].get_xticklabels()][-1] == "7+"
    tracking = ev.cumulative_tracking(tx, fit=fit, calibration_end="1997-09-30",
                                      observation_end="1998-06-30")
    assert tracking_chart(tracking, ax=axes[1]) is axes[1]
    assert len(axes[1].get_lines()) == 3  # actual, model, calibration end
    assert p_alive_matrix(fit, T=38.86, ax=axes[2]) is axes[2]
    assert "weeks" in axes[2].get_xlabel()
    assert dict(matplotlib.rcParams) == rc
    plt.close(fig)


def test_tracking_per_period_and_new_axes(setup):
    tx, _, fit = setup
    tracking = ev.cumulative_tracking(tx, fit=fit, calibration_end="1997-09-30",
                                      observation_end="1998-06-30")
    ax = tracking_chart(tracking, cumulative=False)
    assert ax.get_ylabel() == "Repeat transactions per period"
    plt.close(ax.figure)
