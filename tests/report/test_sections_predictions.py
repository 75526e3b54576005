"""Tests of clvkit.report.sections.predictions: model choice, honest degeneracy, ranges.

Online Retail (the default pack): every dropout model is degenerate (no dropout), so the page
says so and publishes the NBD (no dropout) forecast, which beats the naive baseline. The
synthetic CRM set and CDNOW: a model fits and the page shows the 12-month value and next
month's purchases with their ranges. A plain three-column CSV of 40 customers: too little to
fit, rule-based view.
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


def test_online_retail_publishes_the_no_dropout_forecast_and_says_why(retail):
    # every dropout model runs to "nobody leaves" (a, s -> 0); NBD, the same purchase process
    # without dropout, predicts the 4-month holdout better than the naive baseline
    cfg, data, page = retail
    summary = page.text["summary"]
    assert "NBD is used: every model with dropout is degenerate" in summary
    for model in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
        assert (f"- {model} rejected: sees nobody stop buying (its dropout estimate runs to "
                "zero).") in summary
    assert "12-month value" in summary and "£" in summary
    assert "assumes that all of them are still buying" in summary
    # degeneracy explained without the jargon of the optimiser or information criteria
    for jargon in ("AIC", "BIC", "optimiser", "P(alive) > 0.99", "runs off towards 0"):
        assert jargon not in summary
    words = page.text["assumptions"]
    assert "NBD has no dropout" in words and "**Glossary.**" in words and "*BIC*" in words
    table = page.tables["comparison"]
    assert list(table.index) == ["BG/NBD", "MBG/NBD", "Pareto/NBD", "NBD",
                                 "Naive (past rate)", "sBG"]
    assert table.loc["NBD", "verdict"] == "used"
    assert table.loc["Naive (past rate)", "verdict"] == "baseline"
    assert table.loc["NBD", "vs naive baseline"].startswith("better (")
    # with the no-dropout model the list of customers at risk is the rule-based one
    risky = page.tables["at_risk"]
    assert "P(alive) (model range)" not in risky.columns
    assert page.text["at_risk"].startswith("NBD assumes that every customer keeps buying, "
                                           "so the list uses a rule instead: ")


def test_online_retail_same_comparison_with_duckdb(retail):
    # DuckDB sums doubles in parallel threads: its summary can differ in the last bits
    cfg, data, page = retail
    fc = P.forecast(data, month=cfg.month, time_unit=cfg.time_unit,
                    options={**cfg.options, "engine": "duckdb"})
    assert fc.fits and fc.result.model == "NBD" and fc.holdout_months == 4
    shown = page.tables["comparison"]["log-likelihood"].iloc[:4].astype(float)
    np.testing.assert_allclose(fc.result.comparison.loc[shown.index, "log_likelihood"], shown,
                               atol=0.06)


@pytest.mark.parametrize("name", ["synthetic", "plain_csv", "cdnow"])
def test_text_agrees_with_the_candidates_table(forecasts, name):
    cfg, data, month, fc = forecasts[name]
    table = P.comparison_display(fc)
    text = P.predictions_text(fc, data, month=month, currency=cfg.currency)
    assert table is not None and set(P.CANDIDATES) <= set(table.index)
    if fc.result is None:
        assert table["verdict"].str.startswith("not compared").all()
        return
    for model, verdict in table["verdict"].items():
        assert (f"- {model} rejected:" in text) == verdict.startswith("rejected"), model
        if verdict.startswith("rejected"):
            assert f"- {model} rejected: {verdict.removeprefix('rejected: ')}." in text
    assert (table["verdict"] == "used").sum() == int(fc.fits)


def test_beyond_noise_only_past_twice_the_standard_error():
    assert P._versus_naive(-0.30, 0.10) == "better (-0.300 ± 0.100, beyond noise)"
    assert P._versus_naive(-0.15, 0.10) == "better (-0.150 ± 0.100, within noise)"
    assert P._versus_naive(0.05, 0.10) == "worse (+0.050 ± 0.100, within noise)"
    assert P._versus_naive(float("nan"), 0.1) == "n/a"


def test_synthetic_crm_model_fits_with_ranges_and_customer_margins(forecasts):
    cfg, data, month, fc = forecasts["synthetic"]
    assert fc.fits
    r = fc.result
    assert not r.comparison.loc[r.model, "degenerate"]
    text = P.predictions_text(fc, data, month=month, currency=cfg.currency)
    assert f"{r.model} is used: " in text
    t = r.totals
    fmt = P._fmt
    v = t.loc["clv_revenue"]
    revenue = (f"**12-month value** of the existing customers (predictive CLV, discounted): "
               f"{fmt(v['estimate'], 'currency', 'USD')} of revenue (95% prediction range "
               f"{fmt(v['pred_lower'], 'currency', 'USD')}–"
               f"{fmt(v['pred_upper'], 'currency', 'USD')}, counting chance in what customers "
               f"do; model range {fmt(v['lower'], 'currency', 'USD')}–"
               f"{fmt(v['upper'], 'currency', 'USD')})")
    assert revenue in text
    # the headline range of next month's purchases is the prediction range (parameters and
    # purchase noise); the model range (parameters only) beside it, and narrower
    n = t.loc["purchases_next"]
    purchases = (f"{fmt(n['estimate'], 'count')} purchase days (95% prediction range "
                 f"{fmt(n['pred_lower'], 'count')}–{fmt(n['pred_upper'], 'count')}, counting "
                 f"chance in what customers do; model range {fmt(n['lower'], 'count')}–"
                 f"{fmt(n['upper'], 'count')})")
    assert purchases in text
    assert n["pred_lower"] < n["lower"] < n["estimate"] < n["upper"] < n["pred_upper"]
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
    assert {"P(alive) (model range)", "expected purchases next month (model range)",
            "12-month CLV (revenue, model range)",
            "12-month CLV (margin, model range)"} <= set(shown.columns)
    first = risky.iloc[0]
    assert shown["P(alive) (model range)"].iloc[0] == (f"{P._fmt(first['p_alive'], 'percent')} "
                                         f"({P._fmt(first['p_alive_lower'], 'percent')}–"
                                         f"{P._fmt(first['p_alive_upper'], 'percent')})")


def test_cdnow_zero_purchase_is_left_out_of_the_spend_model_only(forecasts):
    # CDNOW (the full file) has one $0 repeat purchase, kept by the preset: before, it
    # blocked the whole page. Here the sample gets one: a repeat buyer's purchases set to $0
    import dataclasses

    cfg, data, month, _ = forecasts["cdnow"]
    tx = data.transactions.copy()
    days = tx.groupby("customer_id")["date"].transform("nunique")
    who = tx.loc[days == 2, "customer_id"].iloc[0]
    tx.loc[tx["customer_id"] == who, "amount"] = 0.0
    fc = P.forecast(dataclasses.replace(data, transactions=tx), month=month,
                    time_unit=cfg.time_unit, options=cfg.options)
    assert fc.fits and fc.result.has_clv
    c = fc.customers
    zero = c.index[(c["frequency"] > 0) & ~(c["monetary_value"] > 0)]
    assert len(zero) >= 1
    assert c.loc[zero, ["p_alive", "purchases_next", "clv_revenue"]].notna().all().all()
    assert any("left out of the spend model" in n for n in fc.result.notes)
    assert fc.result.spend_fit.n_customers == int(((c["frequency"] > 0)
                                                   & (c["monetary_value"] > 0)).sum())
    table = P.comparison_display(fc)
    assert table.loc[table["verdict"] == "used"].index.tolist() == [fc.result.model]
    comp = fc.result.comparison
    assert table.loc["BG/NBD", "BIC"] == f"{comp.loc['BG/NBD', 'bic']:.1f}"


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
    table = P.comparison_display(fc)  # the candidates table is shown all the same
    assert set(P.CANDIDATES) <= set(table.index)


def test_holdout_is_a_third_of_the_months():
    first = pd.Timestamp("2023-01-15")
    assert [P.holdout_months(first, m) for m in ("2023-01", "2023-02", "2023-06", "2024-02",
                                                  "2026-01")] == [0, 1, 2, 4, 6]


def saas_invoices(n: int = 600, months: int = 24, seed: int = 7) -> pd.DataFrame:
    """A SaaS invoice log: monthly charges on the signup day (+-2 days) until cancelled."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    signup = rng.integers(0, months - 1, n)
    churn = rng.beta(1.0, 6.0, n)  # monthly cancellation probability
    life = rng.geometric(churn)    # months paid before cancelling
    paid = np.minimum(life, months - signup)
    owner = np.repeat(np.arange(n), paid)
    k = np.concatenate([np.arange(p) for p in paid])
    day = rng.integers(1, 27, n)[owner] + rng.integers(-2, 3, owner.size)
    month = pd.PeriodIndex.from_ordinals(pd.Period(start, "M").ordinal + signup[owner] + k,
                                         freq="M")
    date = month.to_timestamp() + pd.to_timedelta(np.clip(day, 1, 27) - 1, unit="D")
    amount = rng.choice([19.0, 49.0, 99.0], n)[owner]
    amount[0] = 4_800.0  # one outlier invoice (an annual prepayment)
    return pd.DataFrame({"customer_id": pd.array([f"acct-{i:04d}" for i in owner],
                                                 dtype="string"),
                         "date": date, "amount": amount})


def test_subscription_invoice_log_gets_the_contractual_model():
    # before: "No purchase model fits these data" on a SaaS invoice log
    from clvkit.report.data import ReportData

    tx = saas_invoices()
    data = ReportData(transactions=tx, returns=tx.iloc[:0], log=pd.DataFrame(),
                      rows_read=len(tx), source="saas.csv")
    page = P.build(data, month="2023-12", title="SaaS", currency="USD", time_unit="W",
                   options={})
    text = page.text["summary"]
    assert "**These data are subscriptions**" in text and "sBG is used" in text
    assert "renewals (95% prediction range" in text and "12-month value" in text
    table = page.tables["comparison"]
    assert table.loc["sBG", "verdict"] == "used"
    assert table.loc["sBG", "vs naive baseline"].startswith("better")
    for m in ("BG/NBD", "MBG/NBD", "Pareto/NBD", "NBD"):
        assert table.loc[m, "verdict"] == ("rejected: the data are subscriptions (the "
                                           "contractual model applies)")
        assert f"- {m} rejected: the data are subscriptions" in text
    fc = P.forecast(data, month="2023-12", time_unit="W", options={})
    for row in ("purchases_next", "clv_revenue", "clv_margin"):
        t = fc.result.totals.loc[row]
        assert t["pred_lower"] < t["lower"] < t["estimate"] < t["upper"] < t["pred_upper"]
    assert "contractual sBG model expects" in page.text["assumptions"]
    paying = fc.customers["p_alive"] == 1
    assert (fc.customers.loc[~paying, "clv_revenue"] == 0).all()
    assert (fc.customers.loc[paying, "clv_revenue"] > 0).all()


def test_non_subscription_data_say_why_sbg_is_not_used(forecasts):
    cfg, data, month, fc = forecasts["cdnow"]
    verdict = P.comparison_display(fc).loc["sBG", "verdict"]
    assert verdict.startswith("not used: not subscriptions (")
    assert not fc.subscription.is_subscription


def test_degenerate_spend_model_page_says_sample_mean_not_gamma_gamma(forecasts):
    # spend per purchase that barely differs between customers (as in a Shopify export of
    # similar baskets): Gamma-Gamma is degenerate. Before, the page said "No CLV: ... q" and
    # then "the spend model Gamma-Gamma"; now the CLV uses the sample mean spend per
    # purchase, and every text says so.
    import dataclasses

    cfg, data, month, _ = forecasts["cdnow"]
    tx = data.transactions.copy()
    tx["amount"] = 40.0 + np.random.default_rng(1).normal(0, 0.01, len(tx))
    fc = P.forecast(dataclasses.replace(data, transactions=tx), month=month,
                    time_unit=cfg.time_unit, options=cfg.options)
    assert fc.fits and fc.result.has_clv and fc.result.spend_model == "sample mean"
    summary = P.predictions_text(fc, data, month=month, currency="USD")
    words = P.assumptions_text(fc, data, cfg.options, currency="USD")
    mean = P._fmt(fc.result.spend_mean, "currency", "USD")
    assert "the spend model Gamma-Gamma" not in words and "No CLV" not in summary
    assert f"sample mean spend per purchase, {mean}" in words
    assert f"Value per purchase: {mean}, the sample mean spend per purchase" in summary
    assert "degenerate" in summary and ": q" not in summary and "q)" not in summary


def test_degenerate_fit_text_names_no_parameters_or_values(forecasts):
    # which parameters run off on a flat likelihood, and to what, depends on rounding (the
    # CPU's instruction set): the page prints only the kind of verdict
    import dataclasses

    cfg, data, month, fc = forecasts["cdnow"]
    others = [m for m in ("BG/NBD", "MBG/NBD", "Pareto/NBD") if m != fc.result.model]
    raw = {others[0]: "degenerate when refitted on the full period: r, alpha, a, b; "
                      "alpha=4.85e+08",
           others[1]: "did not converge or degenerate: ABNORMAL:  (max |gradient| of mean "
                      "LL = 2.5e-07); parameter(s) at the optimiser bound e^+-20: a=2.06e-09"}
    bad = dataclasses.replace(fc, result=dataclasses.replace(fc.result, rejected=raw))
    text = P.predictions_text(bad, data, month=month, currency="USD")
    table = P.comparison_display(bad)
    verdicts = " ".join(table["verdict"])
    for printed in (text, verdicts):
        for detail in ("alpha", "e+08", "e-09", "4.85", "gradient", "ABNORMAL", "r, a"):
            assert detail not in printed
    assert table.loc[others[0], "verdict"] == table.loc[others[1], "verdict"] == (
        "rejected: sees nobody stop buying (its dropout estimate runs to zero)")


def test_a_partial_months_customer_ages_run_to_the_extract_date():
    # issue 18 §1: data extracted on 15 March; T and recency are measured to the end of
    # 15 March on the data up to it, not to 31 March (a day in the future of the data)
    import sys
    from pathlib import Path

    from clvkit.summary import rfm_summary

    sys.path.insert(0, str(Path(__file__).parent))
    from report_helpers import partial_month_data

    data, cut = partial_month_data()
    fc = P.forecast(data, month="2024-03", time_unit="D")
    assert fc.observation_end == pd.Timestamp("2024-03-15")
    expected = rfm_summary(cut, observation_end=pd.Timestamp("2024-03-16"), time_unit="D")
    got = fc.customers[["frequency", "recency", "T"]]
    pd.testing.assert_frame_equal(got, expected[["frequency", "recency", "T"]])
    assert got["T"].max() <= 75      # 1 January to the end of 15 March, not 91 days


def test_the_p_alive_axis_names_the_extract_date_of_a_partial_month():
    from types import SimpleNamespace

    def label(stop):
        fc = P.Forecast(result=SimpleNamespace(model="BG/NBD", fits=True),
                        customers=pd.DataFrame({"p_alive": [0.2, 0.9]}), holdout_months=1,
                        calibration_end=None, time_unit="D", observation_end=stop)
        return P.plot_forecast(fc).get_xlabel()

    partial = label(pd.Timestamp("2024-03-15"))
    assert partial == "P(alive) at the end of 15 March 2024 (extract date)"
    assert label(pd.Timestamp("2024-03-31")) == "P(alive) at the end of the month"


def test_every_customers_predictions_are_streamed_into_the_pack_folder(forecasts, tmp_path):
    # issue 19: the per-customer table is written chunk by chunk beside the page
    cfg, data, month, fc = forecasts["synthetic"]
    path = P.write_customer_predictions(fc, folder=tmp_path, prefix="07-predictions")
    assert path == tmp_path / "07-predictions-customers.parquet"
    back = pd.read_parquet(path).set_index("customer_id")
    expected = fc.result.customers.copy()
    expected.attrs = {}
    pd.testing.assert_frame_equal(back, expected, check_exact=True, check_index_type=False)
    text = P.customers_file_text(path, fc)
    assert "](07-predictions-customers.parquet)" in text
    assert f"{len(back):,} rows" in text
    # no model: no file, no text
    _, _, _, rule_based = forecasts["plain_csv"]
    assert P.write_customer_predictions(rule_based, folder=tmp_path / "x") is None
    assert P.customers_file_text(None, rule_based) == ""


@pytest.mark.parametrize("name", ["synthetic", "cdnow"])
def test_the_forecast_reads_the_report_tables_not_the_transactions(forecasts, name):
    """Issue 19: with the engine's tables, the page needs no transaction (same forecast)."""
    import dataclasses

    from clvkit.report.data import report_tables

    cfg, data, month, fc = forecasts[name]
    assert fc.result is not None and not fc.subscription.is_subscription
    blind = dataclasses.replace(data, tables=report_tables(data),
                                transactions=data.transactions.iloc[:0])
    again = P.forecast(blind, month=month, time_unit=cfg.time_unit, options=cfg.options)
    pd.testing.assert_frame_equal(again.customers, fc.customers)
    assert again.result.model == fc.result.model
    assert (P.predictions_text(again, blind, month=month, currency="$")
            == P.predictions_text(fc, data, month=month, currency="$"))
