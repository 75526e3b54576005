"""Tests of clvkit.report.sections.channels."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError, ReportError
from clvkit.report.config import ReportOptions
from clvkit.report.sections.channels import (
    channel_effects,
    channel_effects_display,
    channel_effects_text,
    clv_by_channel,
    clv_by_channel_display,
    clv_by_channel_text,
)

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import INJECT, channel_table  # noqa: E402


def test_country_names_are_text_in_the_channel_sentence():
    table = pd.DataFrame({"value": [10.0, 5.0], "customers": [30, 40],
                          "customers_observed": [30, 40]},
                         index=pd.Index([INJECT, "France"], name="country"))
    table.attrs["group"] = "country"
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from clvkit._nbnormalize import sanitize_html

    html_text = markdown2html_mistune(clv_by_channel_text(table, currency="EUR",
                                                                 horizon=6))
    assert "<a " not in html_text and "<script" not in html_text and "<img" not in html_text
    assert sanitize_html(html_text) == html_text          # nothing left to strip

def test_small_groups_are_shown_but_not_called_best():
    text = clv_by_channel_text(channel_table(), currency="GBP", horizon=12)
    # where CAC is known the ranking follows value:CAC: France (200 / 40 = 5) beats the
    # United Kingdom (300 / 100 = 3) although a British customer brings more margin
    assert text.startswith("Ranked by observed value:CAC")
    assert "from **France** return 5.00 times" in text and "against 3.00 from United " in text
    by_value = clv_by_channel_text(channel_table().drop(columns=["cac", "ltv_to_cac"]),
                                   currency="GBP", horizon=12)
    assert "**United Kingdom**" in by_value and "against £200.00 from France" in by_value
    assert "Switzerland" in text.split("Too few customers to rank")[1]
    assert "**Switzerland**" not in text
    # the value:CAC range ignores the small group too (Switzerland has the highest, 18.00)
    assert "18.00" not in text and "to 5.00 (France)" in text
    shown = clv_by_channel_display(channel_table(), currency="GBP")
    assert shown.loc["Switzerland", "ranked"] == "no (< 30 customers)"
    assert shown.loc["United Kingdom", "customers"] == 400
    assert shown.loc["other", "ranked"] == "no (pooled)"
    # with a smaller minimum the small group competes and wins
    assert "**Switzerland**" in clv_by_channel_text(channel_table(5), currency="GBP",
                                                          horizon=12)
    # no group large enough: nobody is best
    none = clv_by_channel_text(channel_table(1000), currency="GBP", horizon=12)
    assert "none is called best" in none and "**" not in none

def test_clv_by_channel_marks_groups_below_the_configured_minimum(crm_data):
    data, month = crm_data
    options = ReportOptions(min_group_size=40)
    table = clv_by_channel(data, month=month, horizon=3, options=options)
    assert table.attrs["min_group_size"] == 40
    expected = (table["customers_observed"] >= 40) & (table.index != "other")
    assert table["ranked"].tolist() == expected.tolist()
    assert ReportOptions().min_group_size == 30


def test_observed_value_by_channel_is_the_course_computation_net_of_returns(crm_data):
    """The report and notebooks 03/04 compute observed value with one function
    (economics.cumulative_margin via ltv_cac_by_channel): margin net of returns."""
    import numpy as np

    from clvkit.economics import ltv_cac_by_channel
    from clvkit.report.sections._common import _month_end

    data, month = crm_data
    table = clv_by_channel(data, month=month, horizon=3)
    end = _month_end(month) + pd.Timedelta(days=1)
    customers = data.customers.loc[pd.to_datetime(data.customers["acquisition_date"]) < end]
    lines = pd.concat([data.transactions, data.returns], ignore_index=True)
    lines = lines.loc[lines["date"] < end, ["customer_id", "date", "amount"]]
    course = ltv_cac_by_channel(customers, lines, horizon=3, observation_end=end)
    np.testing.assert_allclose(table["value"].sort_index(), course["ltv"].sort_index(),
                               rtol=1e-12)
    assert (table["customers_observed"].sort_index()
            == course["customers_observed"].sort_index()).all()
    # and returns lower it: the gross computation is higher wherever a channel had returns
    gross = ltv_cac_by_channel(customers, lines.loc[lines["amount"] > 0], horizon=3,
                               observation_end=end)["ltv"]
    assert len(data.returns) > 0 and (gross.sort_index() >= table["value"].sort_index()).all()
    assert (gross.sort_index() > table["value"].sort_index()).any()


def test_returns_without_a_purchase_in_the_data_do_not_break_observed_value(tmp_path):
    """Online Retail has customers whose only lines are returns (bought before the data
    begin): they have no acquisition in the data, so their returns count for no one."""
    from clvkit.report.config import load_config
    from clvkit.report.data import load_report_data

    rows = [("a", "2024-01-05", "10", "UK"), ("a", "2024-02-05", "-4", "UK"),
            ("b", "2024-01-06", "-7", "FR"),                 # only a return
            ("c", "2024-02-01", "8", "FR"), ("c", "2024-01-20", "-3", "FR")]  # return first
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount,channel\n"
                    + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows), encoding="utf-8")
    data = load_report_data(load_config({"data": str(path)}).data)
    table = clv_by_channel(data, month="2024-04", horizon=2, options={"margin": 1.0})
    assert table.loc["UK", "value"] == 6.0       # 10 bought, 4 returned a month later
    assert table.loc["FR", "value"] == 8.0       # c's return predates its first purchase


def test_cohort_value_curves_follow_the_same_customers_along_each_curve(crm_data):
    from clvkit.report.sections.channels import cohort_value_curves

    data, month = crm_data
    curves = cohort_value_curves(data, month=month)
    counts = curves.attrs["customers"]
    assert curves.shape[1] >= 1
    for quarter in curves:
        shown = counts[quarter].dropna()
        assert shown.nunique() == 1                 # one set of customers along the curve
        assert curves[quarter].notna().sum() == len(shown)


def test_a_page_grouped_by_country_is_titled_by_country(tmp_path):
    from clvkit.report.data import ReportData
    from clvkit.report.sections.channels import build

    tx = pd.DataFrame({"customer_id": [f"c{i}" for i in range(60)],
                       "date": pd.Timestamp("2023-01-02")
                       + pd.to_timedelta([5 * i for i in range(60)], unit="D"),
                       "amount": [10.0 + i for i in range(60)],
                       "country": [["UK", "France"][i % 2] for i in range(60)]})
    data = ReportData(tx, tx.iloc[:0], pd.DataFrame(), 60, "x")
    page = build(data, month="2024-03", title="Shop", currency="EUR",
                 options={"clv_horizon_months": 1})
    assert page.heading.startswith("# CLV by country and cohort")
    assert page.text["summary"].startswith("The data have no acquisition channels: customers "
                                           "are grouped by the country of their first order.")


def test_a_partial_months_observed_value_runs_to_the_extract_date():
    # issue 18 §1: data extracted on 15 March; customers observed a month by the end of
    # 15 March count, on the data up to it, not those observed a month by 31 March
    import numpy as np
    from report_helpers import partial_month_data

    from clvkit.economics import cumulative_margin
    from clvkit.report.sections.channels import cohort_value_curves

    data, cut = partial_month_data()
    table = clv_by_channel(data, month="2024-03", horizon=1, options={"margin": 1.0})
    assert table.attrs["observation_end"] == pd.Timestamp("2024-03-15")
    stop = pd.Timestamp("2024-03-16")
    first = cut.drop_duplicates("customer_id").set_index("customer_id")
    customers = pd.DataFrame({"acquisition_date": first["date"], "group": first["country"]})
    returns = data.returns.loc[data.returns["date"] < stop]
    returns = returns.loc[returns["date"] >= returns["customer_id"].map(first["date"])]
    lines = pd.concat([cut[["customer_id", "date", "amount"]], returns], ignore_index=True)
    course = cumulative_margin(customers, lines, observation_end=stop, by="group", margin=1.0,
                               time_unit="M", max_age=0).set_index("group")
    np.testing.assert_allclose(table["value"].sort_index(),
                               course["cumulative_margin"].sort_index(), rtol=1e-12)
    assert (table["customers_observed"].sort_index()
            == course["customers_observed"].sort_index()).all()
    cut_data = type(data)(cut, returns, pd.DataFrame(), len(cut), "x", as_of="2024-03-15")
    pd.testing.assert_frame_equal(cohort_value_curves(data, month="2024-03"),
                                  cohort_value_curves(cut_data, month="2024-03"))


# ----------------------------------------------------------------- channel effects


@pytest.fixture(scope="module")
def with_effects():
    """A per-customer frame (frequency, recency, T, channel) from synthetic data whose
    channels change the purchase and the dropout rate (known truth)."""
    from clvkit.summary import rfm_summary
    from clvkit.synthetic import CovariateEffects, generate_crm

    crm = generate_crm(n_customers=4000, months=12, seed=9, effects=CovariateEffects())
    end = crm.observation_end - pd.Timedelta(days=1)
    frame = rfm_summary(crm.transactions, observation_end=end)[["frequency", "recency", "T"]]
    return frame.join(crm.customers["channel"]), CovariateEffects()


def test_channel_effects_recover_the_true_multipliers(with_effects):
    """Each channel's multipliers against the reference: exp(gamma_trans) on the purchase rate
    and exp(-gamma_life) on the lifetime (Fader & Hardie 2007 parametrisation): every true
    value inside its 99.9% interval (eight intervals at once), the input left unchanged."""
    frame, truth = with_effects
    before = frame.copy()
    effects = channel_effects(frame, reference="organic", level=0.999)
    pd.testing.assert_frame_equal(frame, before)
    assert effects.reason is None and effects.reference == "organic"
    assert effects.n_customers == len(frame) and effects.left_out == ()
    t = effects.table
    assert sorted(t.index) == sorted(c for c in truth.trans_by_channel if c != "organic")
    for channel in t.index:
        purchase = np.exp(truth.trans_by_channel[channel])
        lifetime = np.exp(-truth.life_by_channel[channel])
        assert t.loc[channel, "purchase_lower"] < purchase < t.loc[channel, "purchase_upper"]
        assert t.loc[channel, "lifetime_lower"] < lifetime < t.loc[channel, "lifetime_upper"]
        assert t.loc[channel, "lifetime_lower"] < t.loc[channel, "lifetime"] < \
            t.loc[channel, "lifetime_upper"]
    # the same numbers as the model's own coefficient table
    from clvkit.models import ParetoNBD

    fit = ParetoNBD().fit(frame[["frequency", "recency", "T"]], covariates=frame[["channel"]],
                          trans=["channel"], life=["channel"], reference={"channel": "organic"},
                          time_unit="W")
    gamma = dict(zip(fit.coefficient_names, fit.coefficients, strict=True))
    assert t.loc["social", "purchase_rate"] == pytest.approx(
        np.exp(gamma["trans.channel[social]"]), rel=1e-9)
    assert t.loc["social", "lifetime"] == pytest.approx(
        np.exp(-gamma["life.channel[social]"]), rel=1e-9)


def test_channel_effects_text_and_display(with_effects):
    frame, _ = with_effects
    effects = channel_effects(frame)                  # default reference: the largest channel
    assert effects.reference == frame["channel"].value_counts().index[0] == "paid_search"
    text = channel_effects_text(effects)
    assert "Compared with customers acquired through **paid\\_search**" in text
    assert "**social** buy" in text and "associations" in text
    table = pd.DataFrame({"customers": [10, 20], "value": [5.0, 6.0]},
                         index=pd.Index(["paid_search", "social"], name="channel"))
    shown = channel_effects_display(effects, table, currency="GBP")
    assert shown.loc["paid_search"].iloc[-1] == "1 (reference)"
    row = effects.table.loc["social"]
    assert shown.loc["social", "purchase rate vs paid_search (95% interval)"] == (
        f"{row['purchase_rate']:.2f} ({row['purchase_lower']:.2f} to "
        f"{row['purchase_upper']:.2f})")


def test_thin_or_degenerate_data_say_so_in_plain_words(with_effects):
    frame, _ = with_effects
    # one channel large enough: nothing to compare
    few = frame[(frame["channel"] == "organic") | (frame.index.isin(frame.index[:40]))]
    thin = channel_effects(few, min_customers=200)
    assert thin.table is None and "fewer than two channels" in thin.reason
    assert "not shown: fewer than two channels have 200 customers" in channel_effects_text(thin)
    assert set(thin.left_out) == set(few["channel"].astype(str)) - {"organic"}
    shown = channel_effects_display(thin, pd.DataFrame({"customers": [1], "value": [2.0]},
                                                       index=["organic"]), currency="GBP")
    assert shown.iloc[0, -1] == "not estimated"
    # nobody ever stops buying (no dropout in the data): the model does not converge
    rng = np.random.default_rng(0)
    n = 600
    flat = pd.DataFrame({"frequency": rng.poisson(3, n), "T": 40.0,
                         "channel": np.where(np.arange(n) % 2, "web", "shop")})
    flat["recency"] = np.where(flat["frequency"] > 0, 40.0, 0.0)
    effects = channel_effects(flat)
    assert effects.table is None and "did not settle on an answer" in effects.reason
    # the pooled group and missing channels are left out, a bad reference is refused
    assert "other" not in channel_effects(frame.assign(
        channel=frame["channel"].astype(str).replace("affiliate", "other"))).table.index
    with pytest.raises(ClvError, match="reference channel 'nowhere'"):
        channel_effects(frame, reference="nowhere")
    with pytest.raises(ReportError, match=r"\['channel'\]"):
        channel_effects(frame.drop(columns="channel"))


def test_the_channel_page_shows_effects_where_the_data_have_channels(crm_data, tiny_data):
    from clvkit.report.sections.channels import build

    data, month = crm_data
    page = build(data, month=month, title="t", currency="GBP")
    assert "effects" in page.tables and "effects" in page.text
    shown = page.tables["effects"]
    assert list(shown.index) == list(page.tables["channels"].index)
    assert shown.columns[0] == "customers"
    # the text says what the groups are; headers are plain words, the same in both tables
    assert page.text["summary"].startswith("Customers are grouped by their acquisition channel.")
    assert "country" not in page.text["summary"]
    channels_shown = page.tables["channels"]
    assert list(channels_shown.columns[:3]) == ["customers", "customers observed",
                                                "observed value per customer"]
    assert shown.columns[1] == "observed value per customer"
    # a channel on the orders but no customers table: grouped by the first order's channel
    from clvkit.report.data import ReportData

    orders = ReportData(data.transactions, data.returns, data.log, len(data.transactions), "x")
    assert build(orders, month=month, title="t", currency="GBP").text["summary"].startswith(
        "The data have no acquisition channels: customers are grouped by the channel of "
        "their first order.")
    # grouped by country (no acquisition channels): the page says why no effects are shown
    from clvkit.report.data import ReportData

    tx = data.transactions.drop(columns="channel").assign(country="UK")
    tx.loc[tx.index[::3], "country"] = "France"
    country = ReportData(tx, data.returns, data.log, len(tx), "x")
    by_country = build(country, month=month, title="t", currency="GBP")
    assert "effects" not in by_country.tables
    assert "no acquisition channels" in by_country.text["effects"]
