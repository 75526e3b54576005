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
    assert revenue_line.startswith("- Revenue ")
    assert "March 2024" in revenue_line and "February 2024" in revenue_line
    assert "target" in text and "€" in text
    assert "no year-on-year comparison" in text
