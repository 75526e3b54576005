"""Tests of clvkit.narrative: wording, direction words, formatting and edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError
from clvkit.narrative import (
    describe_change,
    describe_kpis,
    format_change,
    format_value,
    headline_table,
    period_label,
)

NAN = float("nan")


# ----------------------------------------------------------------- formatting

@pytest.mark.parametrize("value, kwargs, expected", [
    (1234567, {"kind": "currency"}, "£1,234,567"),
    (1234567.89, {"kind": "currency", "currency": "EUR"}, "€1,234,568"),
    (12.5, {"kind": "currency", "currency": "usd"}, "$12.50"),
    (-1234, {"kind": "currency"}, "-£1,234"),
    (1234, {"kind": "currency", "currency": "CHF"}, "CHF 1,234"),
    (1_143_118, {"kind": "currency", "compact": True}, "£1.14m"),
    (25_300, {"kind": "currency", "compact": True}, "£25.3k"),
    (2_500_000_000, {"kind": "count", "compact": True}, "2.50bn"),
    (0.1234, {"kind": "percent"}, "12.3%"),
    (0.1234, {"kind": "percent", "decimals": 2}, "12.34%"),
    (-0.004, {"kind": "percent"}, "-0.4%"),
    (1234.4, {"kind": "count"}, "1,234"),
    (1234.567, {"kind": "number"}, "1,234.57"),
    (-0.001, {"kind": "number"}, "0.00"),         # no "-0.00"
    (None, {"kind": "currency"}, "n/a"),
    (NAN, {"kind": "percent"}, "n/a"),
])
def test_format_value(value, kwargs, expected):
    assert format_value(value, **kwargs) == expected


def test_format_value_rejects_unknown_kind_and_text():
    with pytest.raises(ClvError, match="kind"):
        format_value(1.0, kind="money")
    with pytest.raises(ClvError, match="number"):
        format_value("lots", kind="count")


@pytest.mark.parametrize("value, reference, kind, expected", [
    (110, 100, "number", "+10.0%"),
    (90, 100, "currency", "-10.0%"),
    (100.4, 100, "number", "steady"),             # within the default 0.5 %
    (0.064, 0.052, "percent", "+1.2 pp"),
    (0.0525, 0.052, "percent", "steady"),         # within 0.1 points
    (5, 0, "count", "from zero"),
    (0, 0, "count", "steady"),
    (-50, -100, "currency", "+£50.00"),           # negative base: absolute change
    (5, None, "count", "n/a"),
    (NAN, 3, "count", "n/a"),
])
def test_format_change(value, reference, kind, expected):
    assert format_change(value, reference, kind=kind) == expected


def test_period_labels():
    assert period_label(pd.Period("2011-11", freq="M")) == "November 2011"
    assert period_label("2011-11") == "November 2011"
    assert period_label("2011Q4") == "Q4 2011"
    assert period_label(pd.Period("2011", freq="Y")) == "2011"
    assert period_label(pd.Period("2011-11-09", freq="D")) == "9 November 2011"
    assert period_label(pd.Timestamp("2011-11-09")) == "November 2011"
    with pytest.raises(ClvError, match="period"):
        period_label("not a period")


# ----------------------------------------------------------------- sentences

def test_full_sentence_with_all_comparisons():
    s = describe_change("revenue", 1_234_567, kind="currency", period="2011-11",
                        previous=1_099_200, last_year=1_187_084, benchmark=1_143_118,
                        compact=False)
    assert s == ("Revenue rose 12.3% to £1,234,567 in November 2011, from £1,099,200 in "
                 "October 2011, up 4.0% on November 2010 (£1,187,084); 8.0% above the "
                 "benchmark of £1,143,118 (better).")


def test_direction_words():
    up = describe_change("Orders", 110, kind="count", previous=100)
    down = describe_change("Orders", 90, kind="count", previous=100)
    flat = describe_change("Orders", 100, kind="count", previous=100)
    assert up.startswith("Orders rose 10.0% to 110,")
    assert down == "Orders fell 10.0% to 90, from 100 in the previous period."
    assert flat == "Orders held steady at 100 (100 in the previous period)."
    # tolerance decides what counts as steady
    assert "held steady" in describe_change("Orders", 1004, kind="count", previous=1000)
    assert "rose 0.4%" in describe_change("Orders", 1004, kind="count", previous=1000,
                                          tolerance=0.001)


def test_percentages_change_in_points():
    s = describe_change("Retention", 0.35, kind="percent", period="2024-05", previous=0.30,
                        last_year=0.36)
    assert s == ("Retention rose 5.0 percentage points to 35.0% in May 2024, from 30.0% in "
                 "April 2024, down 1.0 percentage point on May 2023 (36.0%).")
    assert "held steady at 35.0%" in describe_change("Retention", 0.3505, kind="percent",
                                                     previous=0.35)


def test_zero_previous_value_says_from_zero():
    assert describe_change("Revenue", 500, kind="currency", period="2024-02", previous=0) == (
        "Revenue rose from zero in January 2024 to £500.00 in February 2024.")
    assert describe_change("Revenue", 0, kind="currency", previous=0) == (
        "Revenue held steady at zero, as in the previous period.")
    assert "up from zero in February 2023" in describe_change(
        "Revenue", 500, kind="currency", period="2024-02", last_year=0)


def test_missing_values():
    s = describe_change("Revenue", 500, kind="currency", period="2024-02", previous=400,
                        last_year=NAN)
    assert s.endswith("with no comparable month last year.")
    assert describe_change("Revenue", NAN, kind="currency", period="2024-02") == (
        "Revenue is not available for February 2024.")
    assert "there is no figure for January 2024" in describe_change(
        "Revenue", 5, kind="currency", period="2024-02", previous=NAN)
    # omitted comparisons are not mentioned at all
    assert describe_change("Revenue", 5, kind="currency") == "Revenue was £5.00."
    assert describe_change("Revenue", 5, kind="currency", benchmark=NAN) == "Revenue was £5.00."
    assert "quarter" in describe_change("Revenue", 5, kind="currency", period="2024Q1",
                                        last_year=NAN)


def test_negative_change_and_negative_base():
    s = describe_change("Profit", -200, kind="currency", previous=-500)
    assert s == "Profit rose £300.00 to -£200.00, from -£500.00 in the previous period."
    s = describe_change("Profit", -200, kind="currency", previous=100)
    assert s.startswith("Profit fell 300.0% to -£200.00")


def test_benchmark_lower_is_better():
    worse = describe_change("Churn", 0.06, kind="percent", benchmark=0.05,
                            higher_is_better=False)
    better = describe_change("Churn", 0.04, kind="percent", benchmark=0.05,
                             higher_is_better=False)
    assert worse.endswith("1.0 percentage point above the benchmark of 5.0% (worse).")
    assert better.endswith("1.0 percentage point below the benchmark of 5.0% (better).")
    assert describe_change("Churn", 0.0505, kind="percent", benchmark=0.05).endswith(
        "in line with the benchmark of 5.0%.")
    neutral = describe_change("AOV", 60, kind="currency", benchmark=50, higher_is_better=None,
                              benchmark_label="the industry average")
    assert neutral.endswith("20.0% above the industry average of £50.00.")


# ----------------------------------------------------------------- KPI tables

@pytest.fixture
def kpis():
    idx = pd.period_range("2023-01", periods=14, freq="M")
    return pd.DataFrame({
        "revenue": np.linspace(1000, 2300, 14),
        "active_customers": np.arange(100, 114),
        "churn_rate": np.r_[np.nan, np.full(13, 0.05)],
    }, index=idx)


def test_headline_table(kpis):
    t = headline_table(kpis, benchmarks={"revenue": 2000, "churn_rate": 0.06})
    assert list(t.columns) == ["metric", "value", "vs_previous", "vs_last_year", "vs_benchmark"]
    rev = t.set_index("metric").loc["Gross revenue"]
    assert rev["value"] == "£2,300"
    assert rev["vs_previous"] == f"+{100 * 100 / 2200:.1f}%"
    assert rev["vs_last_year"] == f"+{100 * 1200 / 1100:.1f}%"
    assert rev["vs_benchmark"] == "+15.0% better"
    churn = t.set_index("metric").loc["Churn rate"]
    assert churn["vs_previous"] == "steady"
    assert churn["vs_benchmark"] == "-1.0 pp better"      # lower churn is better by default
    first = headline_table(kpis, period="2023-01")
    assert (first[["vs_previous", "vs_last_year"]] == "n/a").all().all()
    with pytest.raises(ClvError, match="not in the KPI table"):
        headline_table(kpis, period="2030-01")
    with pytest.raises(ClvError, match="metric"):
        headline_table(kpis, metrics=["profit"])
    with pytest.raises(ClvError, match="PeriodIndex"):
        headline_table(kpis.reset_index(drop=True))


def test_describe_kpis_uses_previous_and_last_year(kpis):
    sentences = describe_kpis(kpis, metrics=["active_customers"])
    assert sentences == ["Active customers rose 0.9% to 113 in February 2024, from 112 in "
                         "January 2024, up 11.9% on February 2023 (101)."]
    early = describe_kpis(kpis, period="2023-02", metrics=["churn_rate"])
    assert "there is no figure for January 2023" in early[0]


def test_kpi_table_from_crm(kpis):
    crm = pytest.importorskip("clvkit.crm")
    tx = pd.DataFrame({"customer_id": [1, 2, 1],
                       "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-03"]),
                       "amount": [10.0, 20.0, 40.0]})
    t = headline_table(crm.monthly_kpis(tx, inactive_periods=1))
    row = t.set_index("metric")
    assert row.loc["Gross revenue", "vs_previous"] == "+33.3%"
    assert row.loc["Retention rate", "value"] == "50.0%"
    assert row.loc["Average order value (AOV)", "value"] == "£40.00"
