"""Tests of clvkit.report.sections.executive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvkit.report.sections.executive import (
    definitions_text,
    executive_summary_text,
    headline_numbers,
    headline_table_display,
)


def test_headline_numbers_match_a_direct_computation(tiny_data):
    tx = tiny_data.transactions
    head = headline_numbers(tiny_data, month="2024-03",
                                   benchmarks={"average_order_value": 40})
    march = tx[tx["date"].dt.to_period("M") == pd.Period("2024-03")]
    first = tx.groupby("customer_id")["date"].min().dt.to_period("M")
    assert head.loc["revenue", "value"] == pytest.approx(march["amount"].sum())
    assert head.loc["orders", "value"] == march["order_id"].nunique()
    assert head.loc["active_customers", "value"] == march["customer_id"].nunique()
    assert head.loc["new_customers", "value"] == (first == pd.Period("2024-03")).sum()
    assert head.loc["average_order_value", "value"] == pytest.approx(march["amount"].sum()
                                                     / march["order_id"].nunique())
    feb = tx[tx["date"].dt.to_period("M") == pd.Period("2024-02")]
    assert head.loc["revenue", "previous"] == pytest.approx(feb["amount"].sum())
    assert head.loc["average_order_value", "benchmark"] == 40
    assert head["last_year"].isna().all()          # the data start in 2024

def test_churn_and_clv_are_undefined_in_the_first_three_months(tiny_data):
    head = headline_numbers(tiny_data, month="2024-03")
    assert np.isnan(head.loc["churn_rate", "value"])          # data start in January
    assert np.isnan(head.loc["retention_clv", "value"])       # not a CLV from churn 0
    shown = headline_table_display(head, currency="EUR")
    assert shown.loc["Churn rate", "This month"] == "n/a"
    assert shown.loc["CLV (retention model, margin)", "This month"] == "n/a"

def test_retention_clv_uses_the_churn_base_for_margin_and_survival(tiny_data):
    from clvkit import crm

    tx = tiny_data.transactions
    head = headline_numbers(tiny_data, month="2024-04", options={"margin": 0.3})
    april = tx[tx["date"].dt.to_period("M") == pd.Period("2024-04")]
    # base at the end of March: customers who bought in January..March
    upto = tx[tx["date"].dt.to_period("M") <= pd.Period("2024-03")]
    base = upto.loc[upto["date"].dt.to_period("M") >= pd.Period("2024-01"),
                    "customer_id"].nunique()
    m = 0.3 * april["amount"].sum() / base
    r = 1 - crm.churn_rate(tx).loc[pd.Period("2024-04")]
    d = 1.1 ** (1 / 12) - 1
    assert head.loc["retention_clv", "value"] == pytest.approx(m * r / (1 + d - r))

def test_definitions_cover_every_headline_kpi(tiny_data):
    from clvkit.metrics import CLV_FAMILY, METRICS

    head = headline_numbers(tiny_data, month="2024-04")
    text = definitions_text(tiny_data, month="2024-04", currency="EUR",
                                   options={"margin": 0.3})
    for name in (*head.index, *CLV_FAMILY):
        assert f"**{METRICS[name].label}** (`{name}`)" in text, name
    assert "03 January 2024" in text                      # what "new" means here
    assert "30.0%" in text and "discount rate of 10.0%" in text

def test_executive_summary_is_sentences_with_context(tiny_data):
    head = headline_numbers(tiny_data, month="2024-03",
                                   benchmarks={"average_order_value": 40})
    text = executive_summary_text(head, month="2024-03", currency="EUR")
    revenue_line = text.splitlines()[0]
    assert revenue_line.startswith("- Net revenue ")
    assert "March 2024" in revenue_line and "February 2024" in revenue_line
    assert "target" in text and "€" in text
    assert "no year-on-year comparison" in text


# --------------------------------------------------------------------------- 13-month trends

def six_months_with_a_gap():
    """Jan-Jun 2024, nothing in April; one purchase a customer a day, so orders = rows.

    Revenue 60, 50, 30, n/a, 80, 60; AOV 20, 25, 30, n/a, 40, 20; retention n/a, 2/3,
    1/2, n/a (gap), n/a (no buyers in April), 2/2; churn n/a in January-March (three
    months of history), n/a in the gap, then b (last purchase in February) churns in May
    (1 of the base {a, b}) and nobody in June (base {a, d}).
    """
    from clvkit.report.data import ReportData

    rows = [("a", "2024-01-05", 10), ("b", "2024-01-06", 20), ("c", "2024-01-07", 30),
            ("a", "2024-02-05", 40), ("b", "2024-02-06", 10),
            ("a", "2024-03-05", 30),
            ("a", "2024-05-05", 20), ("d", "2024-05-06", 60),
            ("a", "2024-06-05", 10), ("d", "2024-06-06", 20), ("e", "2024-06-07", 30)]
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    tx["date"] = pd.to_datetime(tx["date"])
    tx["amount"] = tx["amount"].astype(float)
    return ReportData(tx, tx.iloc[:0], pd.DataFrame(), len(tx), "hand-made")


def test_kpi_trends_give_known_values_and_n_a_for_undefined_months_never_0():
    from clvkit.report.sections.executive import TREND_KPIS, kpi_trends

    trends = kpi_trends(six_months_with_a_gap(), month="2024-06")
    assert list(trends.columns) == list(TREND_KPIS)
    assert [str(p) for p in trends.index] == ["2024-01", "2024-02", "2024-03", "2024-04",
                                              "2024-05", "2024-06"]   # from the data start
    nan = np.nan
    expected = pd.DataFrame({
        "net_revenue": [60, 50, 30, nan, 80, 60],
        # May and June: the churn window reaches back into the April gap (b's last
        # purchase is February: did b buy in April? nobody knows), so n/a, not 50%
        "churn_rate": [nan, nan, nan, nan, nan, nan],
        "retention_rate": [nan, 2 / 3, 1 / 2, nan, nan, 1.0],
        "average_order_value": [20, 25, 30, nan, 40, 20]}, index=trends.index, dtype=float)
    pd.testing.assert_frame_equal(trends, expected)
    assert trends.attrs["gaps"] == ["2024-04"]
    assert trends.attrs["distorted"] == ["2024-05", "2024-06"]
    assert trends.loc[pd.Period("2024-06", "M"), "retention_rate"] == 1.0   # not distorted


def test_kpi_trends_show_13_months_and_agree_with_the_headline(tiny_data):
    from clvkit.report.data import ReportData
    from clvkit.report.sections.executive import kpi_trends

    tx = tiny_data.transactions
    longer = pd.concat([tx, tx.assign(date=tx["date"] + pd.DateOffset(years=1))])
    data = ReportData(longer, tx.iloc[:0], pd.DataFrame(), len(longer), "x")
    trends = kpi_trends(data, month="2025-04")
    assert len(trends) == 13 and str(trends.index[-1]) == "2025-04"
    head = headline_numbers(data, month="2025-04")
    for name in trends.columns:
        assert trends[name].iloc[-1] == pytest.approx(head.loc[name, "value"])
        assert trends[name].iloc[-2] == pytest.approx(head.loc[name, "previous"], nan_ok=True)


def test_kpi_trends_page_marks_gaps_as_n_a_in_table_text_and_figure():
    import matplotlib.pyplot as plt

    from clvkit.report.sections.executive import (
        kpi_trends,
        kpi_trends_display,
        kpi_trends_text,
        plot_kpi_trends,
    )

    trends = kpi_trends(six_months_with_a_gap(), month="2024-06")
    shown = kpi_trends_display(trends, currency="EUR")
    assert shown.loc["Apr 2024"].tolist() == ["n/a"] * 4
    assert shown.loc["Jun 2024", "Churn rate"] == "n/a"          # distorted by the gap
    assert shown.loc["May 2024", "Net revenue"] == "€80.00"
    text = kpi_trends_text(trends, currency="EUR")
    assert "Churn rate: n/a in Jun 2024" in text and "n/a in 2024-05, 2024-06 too" in text
    assert "n/a in Jan 2024, Feb 2024, Mar 2024, Apr 2024" in text
    assert "2024-04 had no transactions at all" in text
    ax = plot_kpi_trends(trends, currency="EUR")
    fig = ax.figure
    assert len(fig.axes) == 4
    assert len(fig.axes[0].patches) == 5                     # no revenue bar for April
    marks = [t.get_text() for a in fig.axes for t in a.texts]
    assert marks.count("n/a") == 1 + 6 + 3 + 1               # revenue, churn, retention, AOV
    plt.close(fig)
