"""Tests of clvkit.segments: RFM scores, tiers, concentration, profit, budget allocation."""

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError, DataValidationError
from clvkit.segments import (
    LOSS_KINDS,
    RFM_SEGMENT_MAP,
    SEGMENT_NAMES,
    SEGMENT_SCHEMES,
    allocate_budget,
    clv_tiers,
    concentration,
    customer_profit,
    gini,
    least_profitable,
    profit_by_segment,
    profit_without,
    quantile_scores,
    rfm_scores,
    segment_grid,
    tier_summary,
    unprofitable_groups,
)
from clvkit.summary import rfm_summary
from clvkit.synthetic import generate_crm


@pytest.fixture(scope="module")
def crm():
    return generate_crm(n_customers=4_000, months=18, seed=11)


# ----------------------------------------------------------------- quantile scores

def test_scores_without_ties_make_equal_groups():
    x = pd.Series(np.random.default_rng(0).normal(size=1000))
    s = quantile_scores(x)
    assert s.value_counts().to_dict() == {k: 200 for k in range(1, 6)}
    assert (np.diff(s.to_numpy()[np.argsort(x.to_numpy())]) >= 0).all()  # monotone


@pytest.mark.parametrize("ties", ["average", "min"])
def test_equal_values_get_equal_scores(ties):
    x = pd.Series(np.random.default_rng(1).integers(0, 6, size=500))
    s = quantile_scores(x, ties=ties)
    assert (s.groupby(x).nunique() == 1).all()
    assert (np.diff(s.groupby(x).first().to_numpy()) >= 0).all()


def test_first_ties_give_equal_group_sizes():
    s = quantile_scores(pd.Series([1] * 10), ties="first")
    assert s.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_lower_is_better_reverses_direction():
    s = quantile_scores(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), higher_is_better=False)
    assert s.tolist() == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("kwargs", [{"ties": "dense"}, {"bins": 1}])
def test_bad_score_arguments(kwargs):
    with pytest.raises(ClvError):
        quantile_scores(pd.Series([1.0, 2.0]), **kwargs)


def test_missing_values_are_refused():
    with pytest.raises(DataValidationError, match="missing"):
        quantile_scores(pd.Series([1.0, np.nan]))


# ----------------------------------------------------------------- RFM and named segments

def test_segment_map_is_complete_and_uses_every_name():
    assert RFM_SEGMENT_MAP.shape == (5, 5)
    assert set(RFM_SEGMENT_MAP.to_numpy().ravel()) == set(SEGMENT_NAMES)
    assert RFM_SEGMENT_MAP.loc[5, 5] == "Champions" and RFM_SEGMENT_MAP.loc[1, 1] == "Lost"


def test_segment_names_never_reuse_a_kpi_name():
    """One word, one meaning (issue 18 section 4): "New customers" is the KPI (first purchase
    in the month), so the RFM cell R 5 x FM 1 may not carry that name too."""
    from clvkit.metrics import METRICS

    def words(text):
        return " ".join(text.replace("_", " ").casefold().split())

    kpi_words = {words(m.label) for m in METRICS.values()} | {words(n) for n in METRICS}
    segment_words = {words(s) for s in SEGMENT_NAMES} | {
        words(s) for grid in SEGMENT_SCHEMES.values() for s in grid.to_numpy().ravel()}
    assert "new customers" in kpi_words                # the comparison reads the registry
    assert kpi_words & segment_words == set()
    assert RFM_SEGMENT_MAP.loc[5, 1] == "Recent light buyers"


def test_more_recent_customers_score_higher_recency(crm):
    s = rfm_scores(crm.transactions)
    by_score = s.groupby("r_score")["recency"].agg(["min", "max"])
    assert (by_score["max"].to_numpy()[1:] <= by_score["min"].to_numpy()[:-1]).all()
    assert s.attrs["time_unit"] == "D"


def test_rfm_scores_from_summary_and_from_transactions_agree(crm):
    tx = crm.transactions[crm.transactions["amount"] > 0]
    end = tx["date"].max().normalize()
    from_tx = rfm_scores(tx, observation_end=end, time_unit="W")
    summary = rfm_summary(tx, observation_end=end, time_unit="W")
    from_summary = rfm_scores(summary, time_unit="W")
    pd.testing.assert_series_equal(from_tx["recency"], from_summary["recency"], atol=1e-9)
    assert (from_tx["r_score"] == from_summary["r_score"]).all()


def test_named_segments_follow_the_map(crm):
    s = rfm_scores(crm.transactions)
    expected = [RFM_SEGMENT_MAP.loc[r, fm] for r, fm in zip(s["r_score"], s["fm_score"],
                                                            strict=True)]
    assert s["segment"].astype(str).tolist() == expected
    assert s.loc[s["segment"] == "Champions", "r_score"].min() >= 4


def test_segments_carry_signal_about_the_true_state(crm):
    s = rfm_scores(crm.transactions).join(crm.customers[["true_alive_at_end",
                                                          "true_mean_spend"]])
    alive = s.groupby("segment", observed=True)["true_alive_at_end"].agg(["mean", "size"])
    # BG/NBD customers can only die after a repeat purchase, so many "Lost" one-time buyers
    # are still alive in truth; the difference must still be clear (> 4 standard errors)
    p1, n1 = alive.loc["Champions"]
    p2, n2 = alive.loc["Lost"]
    assert p1 - p2 > 4 * np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    spend = s.groupby("segment", observed=True)["true_mean_spend"].mean()
    assert spend["Champions"] > spend["Hibernating"]


def test_segment_map_override_dict_and_scheme(crm):
    everyone = {(r, f): "Everyone" for r in range(1, 6) for f in range(1, 6)}
    s = rfm_scores(crm.transactions, segment_map=everyone)
    assert set(s["segment"]) == {"Everyone"}
    rf = rfm_scores(crm.transactions, segment_map="rf")
    assert "Lost" not in set(rf["segment"])
    assert (rf.loc[rf["segment"] == "Champions", "f_score"] >= 4).all()


def test_bad_segment_maps_raise(crm):
    holes = {(5, 5): "Champions"}
    with pytest.raises(ClvError, match="no segment for 24"):
        rfm_scores(crm.transactions, segment_map=holes)
    with pytest.raises(ClvError, match="must be one of"):
        rfm_scores(crm.transactions, segment_map="bcg")
    with pytest.raises(ClvError):
        rfm_scores(crm.transactions, bins=4, segment_map="rfm")


def test_rfm_scores_bad_input():
    with pytest.raises(DataValidationError, match="missing"):
        rfm_scores(pd.DataFrame({"customer_id": [1], "amount": [1.0]}))


def _tx_with_returns():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d"],
                       "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-02-01",
                                               "2024-02-10", "2024-03-20"]),
                       "amount": [100.0, 60.0, 500.0, 40.0, 30.0]})
    back = pd.DataFrame({"customer_id": ["a", "b", "z"],
                         "date": pd.to_datetime(["2024-03-05", "2024-02-03", "2024-01-02"]),
                         "amount": [-60.0, -500.0, -25.0]})
    return tx, back


def test_rfm_monetary_is_net_of_returns():
    tx, back = _tx_with_returns()
    net = rfm_scores(pd.concat([tx, back]), observation_end="2024-03-31")
    # b bought 500 and returned it all: worth 0 net, the lowest monetary value, not the highest
    assert net["monetary"].to_dict() == {"a": 100.0, "b": 0.0, "c": 40.0, "d": 30.0}
    assert net.loc["b", "m_score"] == net["m_score"].min()
    assert "z" not in net.index  # returned only: no purchase, no RFM row
    assert net.attrs["monetary"] == "net of returns"
    explicit = rfm_scores(tx, observation_end="2024-03-31", returns=back)
    pd.testing.assert_frame_equal(explicit, net)
    gross = rfm_scores(pd.concat([tx, back]), observation_end="2024-03-31", returns=False)
    assert gross.loc["b", "monetary"] == 500.0 and gross.attrs["monetary"] == "gross"
    mean = rfm_scores(tx, observation_end="2024-03-31", returns=back, monetary="mean")
    assert mean.loc["a", "monetary"] == 50.0  # (160 - 60) / 2 orders


def test_rfm_returns_after_the_observation_end_are_ignored():
    tx, back = _tx_with_returns()
    early = rfm_scores(tx, observation_end="2024-03-02", returns=back)
    assert early.loc["a", "monetary"] == 160.0  # a's return is dated 5 March


def test_rfm_load_result_uses_its_returns(crm):
    from clvkit import load_transactions
    loaded = load_transactions(crm.transactions, order_id="order_id")
    assert len(loaded.returns) > 0
    from_loaded = rfm_scores(loaded)
    from_raw = rfm_scores(crm.transactions)
    pd.testing.assert_series_equal(from_loaded["monetary"], from_raw["monetary"])
    gross = rfm_scores(loaded, returns=False)
    assert (gross["monetary"] >= from_loaded["monetary"] - 1e-9).all()
    assert (gross["monetary"] > from_loaded["monetary"] + 1e-9).any()


def test_rfm_returns_errors(crm):
    tx, back = _tx_with_returns()
    with pytest.raises(ClvError, match="returns"):
        rfm_scores(tx, returns="yes")
    with pytest.raises(DataValidationError, match="date"):
        rfm_scores(tx, returns=back.drop(columns="date"))
    summary = rfm_summary(tx, observation_end="2024-03-31", time_unit="D")
    with pytest.raises(ClvError, match="rfm_summary"):
        rfm_scores(summary, returns=back)


def test_segment_grid_counts_every_customer_in_its_named_cell(crm):
    s = rfm_scores(crm.transactions)
    g = segment_grid(s)
    assert len(g) == 25 and int(g["customers"].sum()) == len(s)
    assert g["share"].sum() == pytest.approx(1.0)
    for _, row in g.iterrows():
        assert row["segment"] == RFM_SEGMENT_MAP.loc[row["r_score"], row["fm_score"]]
        in_cell = (s["r_score"] == row["r_score"]) & (s["fm_score"] == row["fm_score"])
        assert row["customers"] == in_cell.sum()
        assert (s.loc[in_cell, "segment"].astype(str) == row["segment"]).all()
    rf = segment_grid(rfm_scores(crm.transactions, segment_map="rf"), segment_map="rf")
    assert "f_score" in rf.columns
    with pytest.raises(DataValidationError, match="fm_score"):
        segment_grid(s.drop(columns="fm_score"))


# ----------------------------------------------------------------- tiers and concentration

def test_clv_tiers_sizes_and_value_shares():
    values = pd.Series(np.random.default_rng(2).pareto(1.5, size=1000),
                       index=pd.RangeIndex(1, 1001, name="customer_id"))
    t = clv_tiers(values)
    assert t["tier"].value_counts(sort=False).tolist() == [10, 40, 150, 800]
    assert t["decile"].value_counts().eq(100).all()
    assert t.index.equals(values.index)
    top = t.sort_values("rank")
    assert (np.diff(top["value"].to_numpy()) <= 0).all()
    summary = tier_summary(values)
    assert summary["value"].sum() == pytest.approx(values.sum())
    share_top20 = values.nlargest(200).sum() / values.sum()
    assert summary["cumulative_value_share"].iloc[2] == pytest.approx(share_top20)
    assert tier_summary(values, by="decile")["customers"].tolist() == [100] * 10


def test_bad_tiers():
    with pytest.raises(ClvError):
        clv_tiers(pd.Series([1.0, 2.0]), tiers=(0.2, 0.1))


def test_gini_closed_forms():
    assert gini(np.full(50, 7.0)) == pytest.approx(0.0, abs=1e-12)
    for n in (2, 10, 1000):
        assert gini(np.r_[np.zeros(n - 1), 5.0]) == pytest.approx((n - 1) / n)
    # values 1..n: G = (n - 1) / (3 n) (hand-computed for n = 4: 2*30/40 - 5/4 = 0.25)
    assert gini([1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.25)
    assert gini(np.arange(1.0, 101.0)) == pytest.approx(99 / 300)
    # exponential distribution: population Gini 1/2
    x = np.random.default_rng(3).exponential(size=200_000)
    assert gini(x) == pytest.approx(0.5, abs=0.005)


def test_gini_equals_one_minus_twice_the_lorenz_area():
    x = np.random.default_rng(4).lognormal(size=5000)
    c = concentration(x)
    # Lorenz curve L(p) = 1 - value_share(1 - p) from the descending Pareto curve
    p = 1 - c.curve["customer_share"].to_numpy()[::-1]
    lorenz = 1 - c.curve["value_share"].to_numpy()[::-1]
    area = np.sum((lorenz[1:] + lorenz[:-1]) / 2 * np.diff(p))
    assert c.gini == pytest.approx(1 - 2 * area, abs=1e-9)


def test_concentration_curve_and_top_share():
    c = concentration([10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert c.top_share(0.1) == pytest.approx(1.0)
    assert c.curve["value_share"].is_monotonic_increasing
    grid = concentration(np.arange(1.0, 1001.0), points=10).curve
    assert len(grid) == 11 and grid["value_share"].iloc[-1] == pytest.approx(1.0)


def test_concentration_with_losses_overshoots_and_has_no_gini():
    c = concentration([100.0, 50.0, -30.0, -20.0])
    assert c.curve["value_share"].max() == pytest.approx(1.5)
    assert np.isnan(c.gini)
    with pytest.raises(DataValidationError, match="non-negative"):
        gini([1.0, -1.0, 2.0])


# ----------------------------------------------------------------- profit

def _toy():
    tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01",
                                               "2024-02-01", "2024-02-02"]),
                       "amount": [60.0, 40.0, 80.0, 25.0, 200.0],
                       "order_id": [1, 1, 2, 3, 4]})
    returns = pd.DataFrame({"customer_id": [3], "date": pd.to_datetime(["2024-02-10"]),
                            "amount": [-200.0], "order_id": [4]})
    return tx, returns


def test_customer_profit_hand_computed():
    tx, returns = _toy()
    p = customer_profit(tx, returns=returns, margin=pd.Series({1: 0.5, 2: 0.5, 3: 0.2, 4: 0.5}),
                        cost_per_order=4.0, cost_per_contact=0.5,
                        contacts=pd.Series({1: 10, 3: 2}),
                        acquisition_cost=pd.Series({1: 20.0, 2: 20.0, 3: 50.0, 4: 20.0}))
    # customer 1: revenue 180, gross profit 90, 2 orders (8), 10 contacts (5), CAC 20 -> 57
    # customer 2: 25 -> 12.5 - 4 - 20 = -11.5
    # customer 3: 200 returned in full -> 0 - 4 - 1 - 50 = -55; customer 4: never bought, -20
    assert p["profit"].to_dict() == {1: 57.0, 2: -11.5, 3: -55.0, 4: -20.0}
    assert p.loc[1, "cogs"] == 90.0 and p.loc[3, "returns"] == 200.0
    recomposed = (p["revenue"] - p["returns"] - p["cogs"] - p["cost_to_serve"]
                  - p["acquisition_cost"])
    pd.testing.assert_series_equal(recomposed, p["profit"], check_names=False)
    assert p.index.name == "customer_id"


def test_negative_rows_count_as_returns_and_load_result_works(crm):
    from clvkit.io import load_transactions

    mixed = customer_profit(crm.transactions, margin=crm.customers["margin"])
    res = load_transactions(crm.transactions, as_of=None, order_id="order_id")
    loaded = customer_profit(res, margin=crm.customers["margin"])
    pd.testing.assert_frame_equal(mixed, loaded)
    assert mixed["revenue"].sum() == pytest.approx(
        crm.transactions.loc[crm.transactions["amount"] > 0, "amount"].sum())
    assert mixed["returns"].sum() == pytest.approx(
        -crm.transactions.loc[crm.transactions["amount"] < 0, "amount"].sum())


def test_synthetic_profit_has_value_destroyers_and_what_if(crm):
    p = customer_profit(crm.transactions, margin=crm.customers["margin"], cost_per_order=3.0,
                        cost_per_contact=0.02, contacts=crm.touches,
                        acquisition_cost=crm.customers["cac"])
    assert len(p) == len(crm.customers)
    assert p["contacts"].sum() == len(crm.touches)
    losers = least_profitable(p)
    assert len(losers) > 0 and (losers["profit"] < 0).all()
    assert losers["profit"].is_monotonic_increasing
    w = profit_without(p, losers)
    assert w.loc["difference", "profit"] == pytest.approx(-losers["profit"].sum())
    assert w.loc["without them", "profit"] > w.loc["all customers", "profit"]
    assert w.loc["difference", "customers"] == -len(losers)
    by_seg = profit_by_segment(p, crm.customers["segment"])
    assert by_seg["profit"].sum() == pytest.approx(p["profit"].sum())
    assert by_seg["customers"].sum() == len(p)
    # wholesale (15% margin) earns less per customer than consumer (40%)
    assert by_seg.loc["wholesale", "profit_per_customer"] < by_seg.loc[
        "consumer", "profit_per_customer"]


def test_unprofitable_groups_separate_artefacts_from_real_losses():
    tx, back = _tx_with_returns()
    p = customer_profit(tx, returns=back, margin=0.3, cost_per_order=10.0)
    groups = unprofitable_groups(p)
    assert groups["kind"].astype(str).to_dict() == {
        "b": "returns/cancellation artefact",   # returned all it bought: -£10 to serve
        "z": "no orders in the period",         # only returned goods: -30% of £25
        "d": "really unprofitable"}             # kept £30: £9 of margin < £10 to serve
    assert list(groups["kind"].cat.categories) == list(LOSS_KINDS)
    assert groups["profit"].is_monotonic_increasing
    assert "c" not in groups.index  # kept £40: £12 of margin covers £10 to serve
    with pytest.raises(DataValidationError, match="returns"):
        unprofitable_groups(p.drop(columns="returns"))
    with pytest.raises(ClvError, match="returns_share"):
        unprofitable_groups(p, returns_share=1.5)


def test_unprofitable_groups_near_total_return_is_an_artefact():
    # customer 16446 of Online Retail: bought £168,472.50 and returned £168,469.60
    p = customer_profit(pd.DataFrame({"customer_id": ["x", "x", "y"], "order_id": [1, 2, 3],
                                      "date": pd.to_datetime(["2011-05-18", "2011-12-09",
                                                              "2011-06-01"]),
                                      "amount": [168_469.60, 2.90, 30.0]}),
                        returns=pd.DataFrame({"customer_id": ["x", "y"],
                                              "date": pd.to_datetime(["2011-12-09", "2011-06-02"]),
                                              "amount": [-168_469.60, -10.0]}),
                        margin=0.25, cost_per_order=10.0)
    kinds = unprofitable_groups(p)["kind"].astype(str)
    assert kinds["x"] == "returns/cancellation artefact"   # kept £2.90 of £168,472.50
    assert kinds["y"] == "really unprofitable"             # kept £20 of £30: £5 < £10 to serve
    assert unprofitable_groups(p, returns_share=1.0)["kind"].astype(str)["x"] == (
        "really unprofitable")

    p = pd.DataFrame({"profit": [3.0, -1.0, -7.0]}, index=[10, 11, 12])
    assert least_profitable(p, n=2).index.tolist() == [12, 11]
    assert least_profitable(p, threshold=5.0).index.tolist() == [12, 11, 10]
    with pytest.raises(DataValidationError):
        least_profitable(pd.DataFrame({"x": [1]}))
    with pytest.raises(DataValidationError, match="not in profit_table"):
        profit_without(p, [99])


def test_profit_input_errors():
    tx, _ = _toy()
    with pytest.raises(DataValidationError, match="margin"):
        customer_profit(tx, margin=pd.Series({1: 0.5}))
    with pytest.raises(ClvError, match="cost_per_order"):
        customer_profit(tx, cost_per_order=-1.0)
    with pytest.raises(DataValidationError, match="above 1"):
        customer_profit(tx, margin=1.5)


# ----------------------------------------------------------------- budget allocation

@pytest.fixture
def seg_table():
    return pd.DataFrame({"customers": [500, 2000, 4000, 8000],
                         "incremental_clv": [40.0, 12.0, 6.0, 0.8],
                         "cost_per_customer": [2.0, 2.0, 1.5, 1.0]},
                        index=pd.Index(["Champions", "At risk", "Hibernating", "Lost"],
                                       name="segment"))


def _value(table, spend):
    n, u, c = (table[k].to_numpy() for k in ("customers", "incremental_clv",
                                               "cost_per_customer"))
    return np.sum(n * u * (1 - np.exp(-spend / (n * c))))


def test_diminishing_allocation_is_optimal(seg_table):
    a = allocate_budget(seg_table, budget=5000.0)
    funded = a[a["spend"] > 0].drop(index="(unspent)", errors="ignore")
    assert a["spend"].sum() == pytest.approx(5000.0)
    # KKT: equal marginal returns across funded segments, lower roi for unfunded ones
    assert funded["marginal_return"].max() - funded["marginal_return"].min() < 1e-6
    unfunded = a[(a["spend"] == 0)]
    assert (unfunded["roi"] <= funded["marginal_return"].min() + 1e-9).all()
    spend = a.loc[seg_table.index, "spend"].to_numpy()
    best = _value(seg_table, spend)
    assert a["expected_incremental_clv"].sum() == pytest.approx(best)
    rng = np.random.default_rng(5)
    for _ in range(200):  # no budget-neutral perturbation does better
        i, j = rng.choice(4, size=2, replace=False)
        eps = min(rng.uniform(1, 200), spend[i])
        moved = spend.copy()
        moved[i] -= eps
        moved[j] += eps
        assert _value(seg_table, moved) <= best + 1e-6
    assert a.loc["Lost", "spend"] == 0.0 and "not funded" in a.loc["Lost", "reason"]


@pytest.mark.parametrize("budget", [500.0, 5000.0, 1e7])
def test_diminishing_allocation_never_treats_more_customers_than_a_segment_has(seg_table,
                                                                               budget):
    a = allocate_budget(seg_table, budget=budget).drop(index="(unspent)", errors="ignore")
    assert (a["customers_treated"] <= a["customers"] + 1e-9).all()
    assert np.allclose(a["contacts"], a["spend"] / a["cost_per_customer"])
    # the value is the incremental CLV of each distinct customer reached
    assert np.allclose(a["expected_incremental_clv"],
                       a["incremental_clv"] * a["customers_treated"])
    if budget == 1e7:  # more contacts than customers somewhere, still capped at the segment
        assert (a["contacts"] > a["customers"]).any()


def test_capped_allocation_greedy(seg_table):
    a = allocate_budget(seg_table, budget=3000.0, response="capped")
    assert a.index.tolist()[:2] == ["Champions", "At risk"]
    assert a.loc["Champions", "spend"] == 1000.0  # 500 customers x 2.0: cap
    assert a.loc["At risk", "spend"] == 2000.0
    assert a.loc["Hibernating", "spend"] == 0.0
    assert "fully funded" in a.loc["Champions", "reason"]
    assert "budget ran out" in a.loc["Hibernating", "reason"]
    assert a.loc["Champions", "expected_incremental_clv"] == 20_000.0


def test_large_budget_leaves_money_unspent_below_min_return(seg_table):
    a = allocate_budget(seg_table, budget=1e7)
    assert "(unspent)" in a.index
    funded = a.drop(index="(unspent)")
    assert funded.loc[funded["spend"] > 0, "marginal_return"].min() == pytest.approx(1.0)
    assert a["spend"].sum() == pytest.approx(1e7)
    assert a.loc["Lost", "spend"] == 0.0  # roi 0.8 < 1


def test_zero_budget_allocates_nothing(seg_table):
    a = allocate_budget(seg_table, budget=0.0)
    assert (a["spend"] == 0).all()


@pytest.mark.parametrize("kwargs,err", [({"budget": -1.0}, ClvError),
                                        ({"budget": 10.0, "response": "linear"}, ClvError),
                                        ({"budget": 10.0, "min_return": 0.0}, ClvError)])
def test_budget_argument_errors(seg_table, kwargs, err):
    with pytest.raises(err):
        allocate_budget(seg_table, **kwargs)


def test_segments_table_errors(seg_table):
    with pytest.raises(DataValidationError, match="incremental_clv"):
        allocate_budget(seg_table.drop(columns="incremental_clv"), budget=10.0)
    bad = seg_table.assign(cost_per_customer=[2.0, 0.0, 1.0, 1.0])
    with pytest.raises(DataValidationError, match="At risk"):
        allocate_budget(bad, budget=10.0)
