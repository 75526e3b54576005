"""Tests of clvkit.report.sections.predictions: model choice, honest degeneracy, ranges.

Online Retail (the default pack): every purchase model is degenerate (no dropout), so the page
must say that no model fits and publish no predicted CLV. The synthetic CRM set and CDNOW:
a model fits and the page shows the 12-month value and next month's purchases with their 95%
intervals. A plain three-column CSV of 40 customers: too little to fit, rule-based view.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from clvkit.report.config import load_config
from clvkit.report.data import load_report_data
from clvkit.report.sections import predictions as P

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def retail():
    cfg = load_config("online_retail")
    data = load_report_data(cfg.data)
    page = P.build(data, month=cfg.month, title=cfg.title, currency=cfg.currency,
                   time_unit=cfg.time_unit, options=cfg.options)
    return cfg, data, page


@pytest.fixture(scope="module")
def forecasts(datasets):
    out = {}
    for name in ("synthetic", "plain_csv", "cdnow"):
        cfg, data, _, month = datasets[name]
        out[name] = (cfg, data, month, P.forecast(data, month=month, time_unit=cfg.time_unit,
                                                  options=cfg.options))
    return out


def test_online_retail_no_model_fits_and_no_clv_is_published(retail):
    cfg, data, page = retail
    summary = page.text["summary"]
    assert "**No purchase model fits these data**" in summary
    for model in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        assert f"- {model}: degenerate" in summary
    assert "P(alive) > 0.99 for 100.0% of customers" in summary
    assert "No predicted CLV is published for November 2011" in summary
    assert "12-month value" not in summary and "£" not in summary
    assert "not published on this page" in page.text["assumptions"]
    table = page.tables["comparison"]
    assert list(table.index) == ["BG/NBD", "MBG/NBD", "Pareto/NBD"]
    assert (table["degenerate"] == "yes").all() and (table["used"] == "").all()
    # the rule-based view: valuable repeat customers past twice their usual gap
    risky = page.tables["at_risk"]
    assert list(risky.columns) == ["revenue to date", "since last purchase", "usual gap"]
    assert page.text["at_risk"].startswith("Rule-based view (no model): ")
    assert len(risky) == cfg.options["top_n"]
    assert (risky["since last purchase"] > 2 * risky["usual gap"] - 0.15).all()


def test_online_retail_same_comparison_with_duckdb(retail):
    # DuckDB sums doubles in parallel threads: its summary can differ in the last bits
    cfg, data, page = retail
    fc = P.forecast(data, month=cfg.month, time_unit=cfg.time_unit,
                    options={**cfg.options, "engine": "duckdb"})
    assert not fc.fits and fc.result is not None and fc.holdout_months == 4
    shown = page.tables["comparison"]["log-likelihood"]
    np.testing.assert_allclose(fc.result.comparison.loc[shown.index, "log_likelihood"], shown,
                               atol=0.06)


def test_synthetic_crm_model_fits_with_ranges_and_customer_margins(forecasts):
    cfg, data, month, fc = forecasts["synthetic"]
    assert fc.fits
    r = fc.result
    assert not r.comparison.loc[r.model, "degenerate"]
    text = P.predictions_text(fc, data, month=month, currency=cfg.currency)
    assert f"{r.model} is used: " in text
    t = r.totals
    fmt = P._fmt
    revenue = (f"**12-month value** of the existing customers (predictive CLV, discounted): "
               f"{fmt(t.loc['clv_revenue', 'estimate'], 'currency', 'USD')} of revenue (95% "
               f"interval {fmt(t.loc['clv_revenue', 'lower'], 'currency', 'USD')}–"
               f"{fmt(t.loc['clv_revenue', 'upper'], 'currency', 'USD')})")
    assert revenue in text
    purchases = (f"{fmt(t.loc['purchases_next', 'estimate'], 'count')} purchase days (95% "
                 f"interval {fmt(t.loc['purchases_next', 'lower'], 'count')}–"
                 f"{fmt(t.loc['purchases_next', 'upper'], 'count')})")
    assert purchases in text
    assert t.loc["clv_revenue", "lower"] < t.loc["clv_revenue", "estimate"] \
        < t.loc["clv_revenue", "upper"]
    # each customer's own margin rate from the data
    c = fc.customers
    rates = data.customers["margin"].reindex(c.index)
    np.testing.assert_allclose(c["clv_margin"], c["clv_revenue"] * rates)
    assert "each customer's own gross margin rate" in P.assumptions_text(fc, data, cfg.options)
    # horizon, discount rate and the metric's name on the page
    words = P.assumptions_text(fc, data, cfg.options)
    assert "`predicted_clv`" in words and "Horizon 12 months" in words
    assert "10.0% a year (0.80% a month)" in words


def test_at_risk_list_comes_from_the_chosen_model(forecasts):
    cfg, data, month, fc = forecasts["synthetic"]
    risky = P.at_risk_customers(fc, n=5, threshold=0.5)
    assert risky.attrs["rule"] == "p_alive" and risky.attrs["model"] == fc.result.model
    c = fc.customers
    top = c["revenue_to_date"] >= c["revenue_to_date"].quantile(0.8)
    expected = c.loc[top & (c["p_alive"] < 0.5)].sort_values(
        "revenue_to_date", ascending=False, kind="mergesort").head(5)
    assert list(risky.index) == list(expected.index)
    shown = P.at_risk_display(risky, currency="USD")
    assert {"P(alive)", "purchases next month", "12-month CLV (revenue)",
            "12-month CLV (margin)"} <= set(shown.columns)
    first = risky.iloc[0]
    assert shown["P(alive)"].iloc[0] == (f"{P._fmt(first['p_alive'], 'percent')} "
                                         f"({P._fmt(first['p_alive_lower'], 'percent')}–"
                                         f"{P._fmt(first['p_alive_upper'], 'percent')})")


def test_cdnow_comparison_table_marks_the_model_used(forecasts):
    cfg, data, month, fc = forecasts["cdnow"]
    assert fc.fits
    table = P.comparison_display(fc)
    assert list(table.columns) == ["log-likelihood", "AIC", "BIC", "χ² (p)", "holdout MAE",
                                   "holdout RMSE", "degenerate", "used"]
    assert table.loc[table["used"] == "yes"].index.tolist() == [fc.result.model]
    comp = fc.result.comparison
    assert table.loc["BG/NBD", "BIC"] == round(comp.loc["BG/NBD", "bic"], 1)


def test_plain_three_column_csv_gets_the_rule_based_view(forecasts):
    cfg, data, month, fc = forecasts["plain_csv"]
    assert not fc.fits
    text = P.predictions_text(fc, data, month=month, currency=cfg.currency)
    assert "No predicted CLV is published" in text and "value**" not in text
    risky = P.at_risk_customers(fc, n=10, threshold=0.5)
    assert risky.attrs["rule"] == "overdue"
    assert (risky["since_last"] > 2 * risky["usual_gap"]).all()
    c = fc.customers
    assert risky["revenue_to_date"].min() >= c["revenue_to_date"].quantile(0.8)
    assert "p_alive" not in c and "clv_revenue" not in c


def test_holdout_is_a_third_of_the_months():
    first = pd.Timestamp("2023-01-15")
    assert [P.holdout_months(first, m) for m in ("2023-01", "2023-02", "2023-06", "2024-02",
                                                  "2026-01")] == [0, 1, 2, 4, 6]
