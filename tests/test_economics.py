"""Tests of clvkit.economics: cost comparisons, retention scenarios, Reichheld & Sasser check,
LTV:CAC by channel and the budget-shift scenario."""

import numpy as np
import pandas as pd
import pytest

from clvkit.economics import (
    RS_CREDIT_CARD,
    acquisition_vs_retention,
    break_even_retention_spend,
    budget_shift,
    crm_costs,
    cumulative_margin,
    defection_uplift,
    ltv_cac_by_channel,
    profit_path,
    retention_scenarios,
)
from clvkit.errors import ClvError, DataValidationError
from clvkit.formulas import retention_clv
from clvkit.synthetic import CAC_BY_CHANNEL, COST_PER_SEND, generate_crm
from clvkit.units import DAYS_PER_UNIT


@pytest.fixture(scope="module")
def crm():
    return generate_crm(n_customers=12_000, months=24, seed=21)


# ----------------------------------------------------------------- costs

def test_acquisition_vs_retention_hand_computed():
    t = acquisition_vs_retention(acquisition_spend=30_000, new_customers=600,
                                 retention_spend=4_000, retained_customers=800)
    assert t.loc["acquire", "cost_per_customer"] == 50.0
    assert t.loc["retain", "cost_per_customer"] == 5.0
    assert t.attrs["ratio"] == 10.0
    with pytest.raises(ClvError):
        acquisition_vs_retention(acquisition_spend=-1, new_customers=1, retention_spend=0,
                                 retained_customers=1)
    with pytest.raises(ClvError):
        acquisition_vs_retention(acquisition_spend=1, new_customers=0, retention_spend=0,
                                 retained_customers=1)


def test_crm_costs_match_the_generator(crm):
    t = crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns)
    counts = crm.customers["channel"].astype(str).value_counts()
    assert t.loc["acquire", "spend"] == pytest.approx(
        sum(CAC_BY_CHANNEL[c] * n for c, n in counts.items()))
    by_medium = crm_costs(crm.customers, crm.transactions, crm.touches,
                          cost_per_send=COST_PER_SEND)
    assert by_medium.loc["retain", "spend"] == pytest.approx(t.loc["retain", "spend"])
    repeaters = (crm.customers["true_repeat_purchases"] > 0).sum()
    assert t.loc["retain", "customers"] == repeaters
    with pytest.raises(ClvError):
        crm_costs(crm.customers, crm.transactions, crm.touches)


def test_crm_costs_attributed_to_campaigns_counts_converters_only(crm):
    repeat = crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns)
    conv = crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns,
                     retained="converted")
    converters = crm.touches.loc[crm.touches["converted"], "customer_id"].nunique()
    assert 0 < converters < repeat.loc["retain", "customers"]
    assert conv.loc["retain", "customers"] == converters
    assert conv.loc["retain", "spend"] == pytest.approx(repeat.loc["retain", "spend"])
    assert conv.loc["retain", "cost_per_customer"] == pytest.approx(
        repeat.loc["retain", "spend"] / converters)
    assert conv.loc["acquire"].equals(repeat.loc["acquire"])
    assert conv.attrs["retained"] == "converted"
    with pytest.raises(ClvError, match="retained"):
        crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns,
                  retained="all")
    with pytest.raises(DataValidationError, match="converted"):
        crm_costs(crm.customers, crm.transactions, crm.touches.drop(columns="converted"),
                  campaigns=crm.campaigns, retained="converted")


# ----------------------------------------------------------------- retention scenarios

def test_retention_scenarios_hand_computed():
    t = retention_scenarios(100.0, retention=0.8, discount_rate=0.1, uplifts=(0.0, 0.05, 0.1),
                            customers=1_000)
    # m r / (1 + d - r): 100*0.8/0.3, 100*0.85/0.25, 100*0.9/0.2
    assert t["clv"].tolist() == pytest.approx([800 / 3, 340.0, 450.0])
    assert t.loc[0.05, "clv_change_pct"] == pytest.approx(27.5)
    assert t["base_value"].tolist() == pytest.approx([1000 * 800 / 3, 340_000, 450_000])
    assert t["expected_lifetime"].tolist() == pytest.approx([5.0, 1 / 0.15, 10.0])
    assert t["clv"].is_monotonic_increasing


def test_retention_of_one_is_refused():
    with pytest.raises(ClvError, match="infinite"):
        retention_scenarios(10.0, retention=0.96, discount_rate=0.1, uplifts=(0.05,))


def test_break_even_spend_is_break_even():
    b = break_even_retention_spend(50.0, retention=0.7, discount_rate=0.05,
                                   uplifts=(0.01, 0.05, 0.1))
    for u, row in b.iterrows():
        before = retention_clv(50.0, retention=0.7, discount_rate=0.05)
        # spending `per_period` every period at the new retention leaves CLV unchanged
        after = retention_clv(50.0 - row["per_period"], retention=0.7 + u, discount_rate=0.05)
        assert after == pytest.approx(before)
        assert row["one_off"] == pytest.approx(
            retention_clv(50.0, retention=0.7 + u, discount_rate=0.05) - before)
    assert b["per_period"].is_monotonic_increasing
    with pytest.raises(ClvError):
        break_even_retention_spend(50.0, retention=0.7, discount_rate=0.05, uplifts=(0.3,))


# ----------------------------------------------------------------- Reichheld & Sasser

def test_flat_profit_uplift_is_the_pure_lifetime_effect():
    # flat profit, no discounting, average life 1/d: value is proportional to life, so a
    # 5-point cut raises it by d / (d - 0.05) - 1 = 0.05 / (d - 0.05)
    d = np.array([0.25, 0.2, 0.15, 0.1])
    u = defection_uplift([10.0], defection=d)
    assert u["uplift_pct"].to_numpy() == pytest.approx(100 * 0.05 / (d - 0.05))
    # the lower end of Reichheld & Sasser's 25%-85% band is this lifetime effect at d = 25%
    assert u.loc[0.25, "uplift_pct"] == pytest.approx(25.0)


def test_expected_life_flat_profit_equals_retention_formula():
    u = defection_uplift([12.0], defection=0.2, discount_rate=0.1, life="expected")
    # sum_t m (1-d)^(t-1) / (1+i)^t = m / (i + d) = retention_clv(..., "end_first_sure")
    expected = retention_clv(12.0, retention=0.8, discount_rate=0.1, timing="end_first_sure")
    assert u.loc[0.2, "value"] == pytest.approx(expected, rel=1e-9)
    assert u.loc[0.2, "new_value"] == pytest.approx(12.0 / 0.25, rel=1e-9)


def test_credit_card_worked_example_hand_computed():
    # Reichheld & Sasser (1990, HBR 68(5)) credit-card inputs as reproduced in RS_CREDIT_CARD
    # (30, 42, 44, 49, 55 per year, then 55; acquisition cost 51), undiscounted, average life.
    cc = RS_CREDIT_CARD
    u = defection_uplift(cc["profit_by_year"], defection=[0.2, 0.1],
                         acquisition_cost=cc["acquisition_cost"])
    # 20% -> 15%: 5 years = 220 - 51 = 169; 6.67 years = 220 + 1.667*55 - 51 = 260.67
    assert u.loc[0.2, "value"] == pytest.approx(169.0)
    assert u.loc[0.2, "new_value"] == pytest.approx(220 + 55 * 5 / 3 - 51)
    # 10% -> 5%: 10 years = 495 - 51 = 444; 20 years = 1045 - 51 = 994: +123.9%.
    # The article reports +125% for MBNA halving its 10% defection rate (abstract); our
    # model with the reproduced inputs gives 123.9%, not 125% -- inputs partly assumed.
    assert u.loc[0.1, "value"] == pytest.approx(444.0)
    assert u.loc[0.1, "new_value"] == pytest.approx(994.0)
    assert u.loc[0.1, "uplift_pct"] == pytest.approx(100 * (994 / 444 - 1))


def test_uplift_shape_with_tenure_growth():
    d = np.linspace(0.3, 0.1, 9)
    flat = defection_uplift([10.0], defection=d, discount_rate=0.1)
    growing = defection_uplift(profit_path(10.0, growth=0.1, years=30), defection=d,
                               discount_rate=0.1)
    # lower baseline defection -> larger uplift from the same 5-point cut
    assert growing["uplift_pct"].is_monotonic_increasing
    # profit growing with tenure makes the same cut worth more
    assert (growing["uplift_pct"].to_numpy() > flat["uplift_pct"].to_numpy()).all()
    # discounting damps it
    undiscounted = defection_uplift(profit_path(10.0, growth=0.1, years=30), defection=d)
    assert (undiscounted["uplift_pct"].to_numpy() > growing["uplift_pct"].to_numpy()).all()


def test_plausible_industries_span_the_25_to_85_percent_band():
    # a grid of defection rates, tenure growth and discount rates reaches below 25% and
    # above 85%, i.e. the published band is the kind of spread this model produces
    uplifts = [defection_uplift(profit_path(100.0, growth=g, years=40), defection=d,
                                discount_rate=i, acquisition_cost=80.0)["uplift_pct"].iloc[0]
               for d in (0.1, 0.2, 0.3) for g in (0.0, 0.1) for i in (0.0, 0.1)]
    assert min(uplifts) < 25 and max(uplifts) > 85


def test_profit_path_and_bad_inputs():
    assert profit_path(5.0, growth=0.0, years=3).tolist() == [5.0, 5.0, 5.0]
    with pytest.raises(ClvError, match="infinite customer life"):
        defection_uplift([1.0], defection=0.05)
    with pytest.raises(ClvError):
        defection_uplift([1.0], defection=0.2, life="forever")
    with pytest.raises(ClvError):
        defection_uplift([], defection=0.2)


# ----------------------------------------------------------------- channels

def test_cumulative_margin_excludes_customers_not_yet_observed():
    cust = pd.DataFrame({"acquisition_date": pd.to_datetime(["2024-01-01", "2024-03-01"]),
                         "channel": ["a", "a"], "margin": [1.0, 1.0]},
                        index=pd.Index([1, 2], name="customer_id"))
    tx = pd.DataFrame({"customer_id": [1, 1, 2],
                       "date": pd.to_datetime(["2024-01-01", "2024-02-15", "2024-03-01"]),
                       "amount": [10.0, 5.0, 100.0], "order_id": [1, 2, 3]})
    c = cumulative_margin(cust, tx, observation_end="2024-04-15", cost_per_order=1.0)
    # customer 1 is observed 3.5 months (ages 0-2), customer 2 only 1.5 months (age 0):
    # age 0 -> (9 + 99) / 2; ages 1 and 2 -> customer 1 alone, 9 + 4
    assert c["cumulative_margin"].tolist() == pytest.approx([54.0, 13.0, 13.0])
    assert c["customers_observed"].tolist() == [2, 1, 1]


def test_ltv_cac_by_channel_consistent_with_its_curve(crm):
    t = ltv_cac_by_channel(crm.customers, crm.transactions, horizon=12)
    assert t["cac"].to_dict() == pytest.approx(CAC_BY_CHANNEL)
    assert t["ltv_cac"].to_numpy() == pytest.approx((t["ltv"] / t["cac"]).to_numpy())
    curve = cumulative_margin(crm.customers, crm.transactions)
    for ch, row in t.iterrows():
        c = curve[curve["channel"] == ch].set_index("age")["cumulative_margin"]
        k = int(row["payback_periods"]) - 1
        assert c.loc[k] >= row["cac"] and (k == 0 or c.loc[k - 1] < row["cac"])
    # cheap channels pay back at least as fast as paid search
    assert t.loc["organic", "payback_periods"] <= t.loc["paid_search", "payback_periods"]


def test_observed_ltv_recovers_the_generator_truth(crm):
    # E[gross profit in the first k+1 months | customer] = margin x E[order value] x
    # (1 - return rate) x (1 + E[repeat purchases]), with the BG/NBD individual mean
    # E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p (Fader, Hardie & Lee 2005).
    horizon = 12
    c = crm.customers
    tx = crm.transactions
    end = crm.truth.observation_end
    first = tx[tx["amount"] > 0].groupby("customer_id")["date"].min()
    observed = (end - c["acquisition_date"]) / pd.Timedelta(days=DAYS_PER_UNIT["M"]) >= horizon
    ages = ((tx["date"] - c.loc[tx["customer_id"], "acquisition_date"].to_numpy())
            / pd.Timedelta(days=DAYS_PER_UNIT["M"]))
    in_window = (ages < horizon).to_numpy()
    realised = (tx.loc[in_window, "amount"] * c.loc[tx.loc[in_window, "customer_id"],
                                                     "margin"].to_numpy()).groupby(
        tx.loc[in_window, "customer_id"]).sum().reindex(c.index, fill_value=0.0)
    # the window in months of DAYS_PER_UNIT["M"] days, measured from the first order
    t_weeks = ((c["acquisition_date"] + pd.Timedelta(days=horizon * DAYS_PER_UNIT["M"])
                - first) / pd.Timedelta(days=7))
    lam, p = c["true_lambda"], c["true_p"]
    expected = (c["margin"] * c["true_mean_spend"] * (1 - crm.truth.return_rate)
                * (1 + (1 - np.exp(-lam * p * t_weeks)) / p))
    diff = (realised - expected)[observed]
    assert abs(diff.mean()) < 4 * diff.std() / np.sqrt(len(diff)), diff.mean()
    ltv = ltv_cac_by_channel(c, tx, horizon=horizon)
    pooled = (ltv["ltv"] * ltv["customers_observed"]).sum() / ltv["customers_observed"].sum()
    assert pooled == pytest.approx(realised[observed].mean(), rel=0.01)


def test_channel_errors(crm):
    with pytest.raises(DataValidationError, match="cac"):
        ltv_cac_by_channel(crm.customers.drop(columns="cac"), crm.transactions)
    with pytest.raises(DataValidationError, match="missing from `customers`"):
        cumulative_margin(crm.customers.iloc[:10], crm.transactions)


# ----------------------------------------------------------------- budget shift

BASE = dict(acquisition_budget=10_000.0, retention_budget=2_000.0, cac=50.0, churn_rate=0.08,
            revenue_per_customer=40.0, margin=0.3, spend_to_halve_churn=2.0, months=12,
            initial_customers=5_000.0)


def test_budget_shift_first_month_by_hand():
    r = budget_shift(shift=3_000.0, **BASE)
    m1 = r.monthly.loc[("shifted", 1)]
    churn = 0.08 * 0.5 ** ((5_000 / 5_000) / 2.0)  # 1 per customer, halving spend 2
    assert m1["churn_rate"] == pytest.approx(churn)
    assert m1["customers"] == pytest.approx(5_000 * (1 - churn) + 7_000 / 50)
    assert m1["revenue"] == pytest.approx(m1["customers"] * 40)
    assert m1["gross_profit"] == pytest.approx(m1["revenue"] * 0.3 - 12_000)
    last = r.monthly.loc[("shifted", 12)]
    assert r.summary.loc["shifted", "clv"] == pytest.approx(
        retention_clv(40 * 0.3, retention=1 - last["churn_rate"], discount_rate=0.01))
    assert r.summary.loc["shifted", "base_value"] == pytest.approx(
        last["customers"] * r.summary.loc["shifted", "clv"])


def test_budget_shift_is_deterministic_and_zero_shift_changes_nothing():
    a = budget_shift(shift=0.0, **BASE)
    assert (a.summary.loc["change"] == 0).all()
    b = budget_shift(shift=0.0, **BASE)
    pd.testing.assert_frame_equal(a.monthly, b.monthly)


def test_budget_shift_direction():
    expensive = {**BASE, "cac": 200.0}
    r = budget_shift(shift=5_000.0, **expensive)
    assert r.summary.loc["change", "customers"] > 0
    assert r.summary.loc["shifted", "churn_rate"] < r.summary.loc["current", "churn_rate"]
    cheap = {**BASE, "cac": 5.0}
    assert budget_shift(shift=5_000.0, **cheap).summary.loc["change", "customers"] < 0


@pytest.mark.parametrize("bad", [{"shift": 20_000.0}, {"shift": -3_000.0},
                                 {"shift": 0.0, "churn_rate": 1.0},
                                 {"shift": 0.0, "acquisition_budget": -1.0},
                                 {"shift": 0.0, "months": 0}])
def test_budget_shift_errors(bad):
    with pytest.raises(ClvError):
        budget_shift(**{**BASE, **bad})
