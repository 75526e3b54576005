"""Tests of clvkit.metrics: one registry of definitions read by crm, narrative and report."""

from __future__ import annotations

import pytest

from clvkit import crm, metrics, narrative
from clvkit.errors import ClvError


def test_every_registered_metric_is_fully_defined():
    for name, m in metrics.METRICS.items():
        assert m.name == name
        assert m.label and m.definition.endswith(".") and m.formula and m.numerator
        assert m.unit in metrics.UNITS
        if m.family == "clv":
            assert m.basis in ("revenue", "margin", "revenue and margin"), name


def test_kpis_are_columns_of_monthly_kpis_or_report_extras():
    import pandas as pd

    tx = pd.DataFrame({"customer_id": ["a", "b", "a"],
                       "date": pd.to_datetime(["2024-01-03", "2024-01-04", "2024-02-05"]),
                       "amount": [10.0, 20.0, 5.0]})
    columns = set(crm.monthly_kpis(tx).columns)
    extras = {"retention_clv", "ltv_to_cac", "net_revenue", "returns"}  # added by the report
    # (report.sections.executive.month_kpis: they need the returns table)
    assert set(metrics.KPI_NAMES) - columns == extras


def test_repeat_rate_is_split_into_two_named_metrics():
    assert "repeat_rate" not in metrics.METRICS
    with pytest.raises(ClvError, match="returning_share.*repeat_purchase_rate"):
        metrics.metric("repeat_rate")
    a, b = metrics.metric("returning_share"), metrics.metric("repeat_purchase_rate")
    assert a.denominator != b.denominator


def test_narrative_reads_direction_and_kind_from_the_registry():
    assert narrative._kpi_kind("churn_rate", None) == "percent"
    assert narrative._higher_is_better("churn_rate") is False
    assert narrative._kpi_kind("retention_clv", None) == "currency"
    assert narrative._kpi_label("average_order_value") == "Average order value (AOV)"


def test_definitions_fill_in_the_window():
    text = metrics.definitions_markdown(["churn_rate"], inactive_periods=2)
    assert "2 months without a purchase" in text and "{" not in text
    table = metrics.definitions_table()
    assert set(table.index) == set(metrics.METRICS)
    assert not table["definition"].str.contains("{", regex=False).any()
