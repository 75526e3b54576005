"""Tests of clvkit.report.sections.campaigns."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.report.data import ReportData
from clvkit.report.sections.campaigns import (
    campaign_dropout,
    campaign_dropout_display,
    campaign_funnel,
    campaign_results,
    campaign_table,
    campaign_text,
    contact_lift,
    contact_lift_display,
    contact_lift_text,
    medium_table,
    month_touches,
)

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import EVIL  # noqa: E402


def test_campaign_names_are_escaped_in_html():
    touches = pd.DataFrame({"campaign_id": ["C1", "C1"], "customer_id": [1, 2],
                            "opened": [True, False], "clicked": [True, False],
                            "visited": [False, False], "converted": [False, False],
                            "unsubscribed": [False, True], "revenue": [0.0, 0.0]})
    campaigns = pd.DataFrame({"name": [f"{EVIL} & <b>"], "tactic": ["discount"],
                              "message": ["A"]}, index=pd.Index(["C1"], name="campaign_id"))
    data = ReportData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), 0, "x",
                             campaigns=campaigns, touches=touches)
    page = campaign_table(data, touches, currency="USD")._repr_html_()
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page

def test_campaign_text_names_the_maxima_of_the_tables_shown(crm_data):
    data, month = crm_data
    touches = month_touches(data, month=month)
    window = month_touches(data, month=month, months=3)
    funnel_table, drop = campaign_funnel(window), campaign_dropout(window)
    text = campaign_text(touches, funnel_table, drop, month=month, currency="USD",
                                months=3)
    worst = drop["dropout_rate"].idxmax()
    shown = campaign_dropout_display(drop, currency="USD")
    rate = shown.loc[worst, "dropout rate"]
    assert f"highest dropout **{worst[0]}, message {worst[1]}** ({rate} of sends" in text.replace(
        "\\", "")
    assert rate == shown["dropout rate"].loc[drop["dropout_rate"].idxmax()]
    best = funnel_table["converted"].idxmax()
    assert f"best conversion per send **{best[0]}, message {best[1]}**" in text.replace("\\", "")

def test_campaign_costs_cost_per_conversion_and_roi_recompute(crm_data):
    data, month = crm_data
    touches = month_touches(data, month=month)
    res = campaign_results(data, touches)
    cid = res.index[0]
    mine = touches[touches["campaign_id"] == cid]
    cost = len(mine) * data.campaigns.loc[cid, "cost_per_send"]
    assert res.loc[cid, "cost"] == pytest.approx(cost)
    assert res.loc[cid, "cost_per_send"] == pytest.approx(data.campaigns.loc[cid,
                                                                            "cost_per_send"])
    converted = mine["converted"].sum()
    expected = cost / converted if converted else np.nan
    assert res.loc[cid, "cost_per_conversion"] == pytest.approx(expected, nan_ok=True)
    assert res.loc[cid, "roi"] == pytest.approx((mine["revenue"].sum() - cost) / cost)
    table = campaign_table(data, touches, currency="USD")
    assert {"medium", "cost per send", "cost per conversion", "ROI"} <= set(table.columns)
    # without campaign costs the configured cost per contact is used
    no_cost = dataclasses.replace(data, campaigns=data.campaigns.drop(columns="cost_per_send"))
    assert campaign_results(no_cost, touches, cost_per_contact=0.5).loc[
        cid, "cost"] == pytest.approx(0.5 * len(mine))
    assert campaign_table(no_cost, touches, currency="USD")["ROI"].eq("n/a").all()

def test_email_vs_sms_and_lift_against_customers_not_contacted(crm_data):
    data, month = crm_data
    touches = month_touches(data, month=month)
    mediums = medium_table(data, touches, currency="USD")
    assert sorted(mediums.index) == sorted(touches["medium"].astype(str).unique())
    assert mediums["sent"].sum() == len(touches)
    lift = contact_lift(data, touches, month=month)
    tx = data.transactions
    start = pd.Period(month, "M").start_time
    first = tx.groupby("customer_id")["date"].min()
    existing = set(first.index[first < start])
    buyers = set(tx.loc[(tx["date"] >= start) & (tx["date"] <= pd.Period(month, "M").end_time),
                        "customer_id"])
    contacted = existing & set(touches["customer_id"])
    not_contacted = existing - contacted
    assert lift.loc["contacted", "customers"] == len(contacted)
    assert lift.loc["not contacted", "customers"] == len(not_contacted) > 0
    rate = len(not_contacted & buyers) / len(not_contacted)
    assert lift.loc["not contacted", "purchase_rate"] == pytest.approx(rate)
    text = contact_lift_text(lift, month=month)
    assert "not decided at random" in text and "association" in text
    shown = contact_lift_display(lift, currency="USD")
    assert shown.loc["not contacted", "purchase rate"] == f"{rate * 100:.1f}%"
    everyone = touches.iloc[:0]
    assert contact_lift(data, everyone, month=month) is None


def test_roi_counts_the_offer_cost_and_states_the_attribution_rule(crm_data):
    from clvkit.report.sections.campaigns import build, campaign_results, month_touches

    data, month = crm_data
    touches = month_touches(data, month=month)
    plain = campaign_results(data, touches)
    offered = campaign_results(data, touches, offer_cost_per_conversion=2.0)
    assert (offered["offer_cost"] == 2.0 * plain["converted"]).all()
    assert (offered["cost"] == plain["cost"] + 2.0 * plain["converted"]).all()
    assert (offered["roi"] <= plain["roi"]).all()
    page = build(data, month=month, title="t", currency="EUR",
                 options={"offer_cost_per_conversion": 2.0})
    assert "**Attribution:**" in page.text["roi"] and "€2.00 per conversion" in page.text["roi"]
    assert "offer cost" in page.tables["campaigns"].columns
    unset = build(data, month=month, title="t", currency="EUR")
    assert "or ROI is overstated" in unset.text["roi"]


def test_roi_warns_when_contact_showed_no_lift():
    from clvkit.report.sections.campaigns import roi_text

    lift = pd.DataFrame({"purchase_rate": [0.10, 0.12]}, index=["contacted", "not contacted"])
    lift.attrs["lift"] = -0.02
    assert "contacted customers bought no more than uncontacted ones this month (10.0% " \
           "against 12.0%)" in roi_text(lift)
    lift.attrs["lift"] = 0.05
    assert "Read the ROI with care" not in roi_text(lift)


def test_a_partial_months_touches_and_lift_stop_at_the_extract_date(crm_data):
    # issue 18 §1: data extracted on day 10 of the month; sends and purchases after it
    # do not count
    data, month = crm_data
    as_of = pd.Timestamp(f"{month}-10")
    partial = dataclasses.replace(data, as_of=str(as_of.date()))
    touches = month_touches(partial, month=month)
    stop = as_of + pd.Timedelta(days=1)
    sent = pd.to_datetime(data.touches["send_date"])
    cut = dataclasses.replace(data, transactions=data.transactions.loc[
        data.transactions["date"] < stop], touches=data.touches.loc[sent < stop])
    pd.testing.assert_frame_equal(touches, month_touches(cut, month=month))
    pd.testing.assert_frame_equal(contact_lift(partial, touches, month=month),
                                  contact_lift(cut, touches, month=month))
    assert len(touches) < len(month_touches(data, month=month))   # later sends were left out
