"""Tests of clvkit.plotting.crm: each plot returns its Axes, labelled, with something drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from clvkit import crm  # noqa: E402
from clvkit.errors import ClvError  # noqa: E402
from clvkit.plotting import crm as plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def crm_data():
    synthetic = pytest.importorskip("clvkit.synthetic")
    return synthetic.generate_crm(n_customers=1500, months=18, seed=5)


@pytest.fixture(scope="module")
def tx(crm_data):
    return crm_data.transactions[crm_data.transactions["amount"] > 0]


@pytest.fixture(scope="module")
def touches(crm_data):
    return crm_data.touches


def _check(ax, *, artists=("lines", "patches", "collections", "images")):
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    drawn = sum(len(getattr(ax, a)) for a in artists)
    assert drawn > 0
    return ax


def test_cohort_heatmap(tx):
    ax = _check(plots.cohort_heatmap(crm.cohort_matrix(tx)))
    assert "since acquisition" in ax.get_xlabel()
    assert "%" in ax.figure.axes[-1].get_ylabel()           # colour bar states the unit
    rev = _check(plots.cohort_heatmap(crm.cohort_matrix(tx, value="revenue"), currency="USD"))
    assert "$" in rev.figure.axes[-1].get_ylabel()


def test_retention_curves(tx):
    m = crm.cohort_matrix(tx)
    ax = _check(plots.retention_curves(m))
    assert len(ax.lines) == len(m) + 1                       # one per cohort + average
    with pytest.raises(ClvError, match="retention"):
        plots.retention_curves(crm.cohort_matrix(tx, value="revenue"))


def test_funnel_chart(touches):
    f = crm.funnel(touches)
    ax = _check(plots.funnel_chart(f, hue="tactic"))
    n_tactics = touches["tactic"].nunique()
    assert len(ax.patches) == n_tactics * 5                  # one bar per tactic and stage
    heights = [p.get_height() for p in ax.patches[:5]]
    assert heights[0] == pytest.approx(100) and heights == sorted(heights, reverse=True)
    _check(plots.funnel_chart(f))
    with pytest.raises(ClvError, match="hue"):
        plots.funnel_chart(f, hue="segment")


def test_message_comparison_and_dropout(touches):
    _check(plots.message_comparison(crm.compare_messages(touches, by=("tactic", "medium"))))
    ax = _check(plots.dropout_chart(crm.dropout(touches)))
    assert "%" in ax.get_xlabel()


def test_pareto_curve(tx):
    values = tx.groupby("customer_id")["amount"].sum()
    ax = _check(plots.pareto_curve(values))
    x, y = ax.lines[0].get_data()
    assert y[0] == 0 and y[-1] == pytest.approx(100)
    assert np.all(np.diff(y) >= -1e-9)


def test_segment_bars_marks_value_destroyers():
    profit = pd.Series({"Champions": 120.0, "At risk": -30.0, "New": 15.0},
                       name="profit_per_customer").rename_axis("segment")
    ax = _check(plots.segment_bars(profit))
    assert "£" in ax.get_xlabel()
    colors = {tuple(p.get_facecolor()) for p in ax.patches}
    assert len(colors) == 2                                  # losses in a second colour
    table = profit.to_frame()
    _check(plots.segment_bars(table, value="profit_per_customer", kind="number",
                              value_label="Profit per customer (index)"))
    with pytest.raises(ClvError, match="value"):
        plots.segment_bars(table)


def test_clv_by_channel_and_over_tenure(tx):
    channels = sorted(tx["channel"].unique())
    table = pd.DataFrame({"value": np.arange(len(channels)) * 10.0 + 5,
                          "customers_observed": 100}, index=pd.Index(channels, name="channel"))
    table.attrs.update(horizon=6, period="M", value="margin net of returns")
    ax = _check(plots.clv_by_channel(table))
    assert len(ax.patches) == tx["channel"].nunique() and "£" in ax.get_xlabel()
    curves = crm.cumulative_value(tx, by="channel")
    ax = _check(plots.clv_over_tenure(curves))
    assert len(ax.lines) == tx["channel"].nunique()
    assert ax.get_xlabel() == "Months since acquisition"


def test_uses_given_axes_and_leaves_rcparams_alone(tx):
    before = dict(matplotlib.rcParams)
    fig, ax = plt.subplots()
    out = plots.cohort_heatmap(crm.cohort_matrix(tx), ax=ax)
    assert out is ax
    assert dict(matplotlib.rcParams) == before


def test_exported():
    import clvkit.plotting as plotting

    for name in plots.__all__:
        assert callable(getattr(plotting, name))


def test_import_changes_no_global_state():
    import subprocess
    import sys

    code = ("import matplotlib; before = dict(matplotlib.rcParams); "
            "import clvkit.plotting.crm; assert dict(matplotlib.rcParams) == before; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
