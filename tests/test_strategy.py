"""clvkit.strategy: value captured by a ranking, messages by CLV tier, journey stages,
KPIs by objective, category lift (hand-computed fixtures and invariants)."""

import numpy as np
import pandas as pd
import pytest

from clvkit import crm, metrics, strategy
from clvkit.errors import ClvError, DataValidationError


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount", "product"]).assign(
        date=lambda d: pd.to_datetime(d["date"]))


# --------------------------------------------------------------------------- value captured

def test_value_captured_by_hand_and_ties_pro_rata():
    outcome = pd.Series([50.0, 30.0, 0.0, 20.0], index=list("abcd"))
    assert strategy.value_captured(pd.Series([4.0, 3, 2, 1], index=list("abcd")), outcome,
                                   share=0.25) == 0.5
    # b, c, d tied at 0 after a: two customers = a + one third of (30 + 0 + 20)
    tied = pd.Series([1.0, 0, 0, 0], index=list("abcd"))
    assert strategy.value_captured(tied, outcome, share=0.5) == pytest.approx(
        (50 + 50 / 3) / 100)
    # the index aligns the two series, whatever their order
    assert strategy.value_captured(tied.iloc[::-1], outcome, share=0.5) == pytest.approx(
        (50 + 50 / 3) / 100)


def test_value_captured_is_monotone_and_bounded_by_the_perfect_ranking():
    rng = np.random.default_rng(3)
    outcome = pd.Series(rng.gamma(0.5, 10, 500))
    score = outcome + pd.Series(rng.normal(0, 5, 500))
    shares = np.linspace(0, 1, 21)
    got = [strategy.value_captured(score, outcome, share=s) for s in shares]
    perfect = [strategy.value_captured(outcome, outcome, share=s) for s in shares]
    assert got[0] == 0 and got[-1] == pytest.approx(1)
    assert np.all(np.diff(got) >= -1e-12)
    assert np.all(np.array(got) <= np.array(perfect) + 1e-12)


def test_value_captured_refuses_different_customers_and_a_zero_total():
    with pytest.raises(DataValidationError, match="same customers"):
        strategy.value_captured(pd.Series([1.0], index=["a"]), pd.Series([1.0], index=["b"]))
    with pytest.raises(DataValidationError, match="sums to zero"):
        strategy.value_captured(pd.Series([1.0, 2.0]), pd.Series([0.0, 0.0]))
    with pytest.raises(DataValidationError, match=r"missing.*e.g. b"):
        strategy.value_captured(pd.Series([1.0, np.nan], index=["a", "b"]),
                                pd.Series([1.0, 2.0], index=["a", "b"]))


def test_gains_curve_has_the_references():
    g = strategy.gains_curve({"x": pd.Series([3.0, 2.0, 1.0])}, pd.Series([1.0, 2.0, 3.0]),
                             points=3)
    assert set(g["ranking"]) == {"x", "perfect (by outcome)", "random"}
    worst = g[g["ranking"] == "x"]["value_share"].to_numpy()
    assert worst == pytest.approx([0, 1 / 6, 3 / 6, 1])


# --------------------------------------------------------------------------- messages

def test_clv_messages_follow_the_grid():
    clv = pd.Series([900.0, 500, 300, 80, 10], index=list("abcde"))
    p = pd.Series([0.9, 0.3, 0.8, 0.2, 0.9], index=list("abcde"))
    plan = strategy.clv_messages(clv, p_alive=p, tiers=(0.2, 0.6))
    assert plan["tier"].astype(str).tolist() == ["high", "middle", "middle", "low", "low"]
    assert plan["message"].tolist() == ["retain", "win back", "develop", "low cost", "low cost"]
    # p_alive is aligned by customer id, not by position
    assert strategy.clv_messages(clv, p_alive=p.iloc[::-1], tiers=(0.2, 0.6)).equals(plan)
    custom = strategy.clv_messages(clv, p_alive=p, tiers=(0.2, 0.6),
                                   grid={("low", True): "win back"})
    assert custom.loc["d", "message"] == "win back"


def test_clv_messages_refuses_bad_input():
    clv = pd.Series([1.0, 2.0], index=["a", "b"])
    with pytest.raises(DataValidationError, match=r"same customers.*e.g. b, c"):
        strategy.clv_messages(clv, p_alive=pd.Series([0.5, 0.5], index=["a", "c"]))
    with pytest.raises(DataValidationError, match=r"\[0, 1\].*e.g. b"):
        strategy.clv_messages(clv, p_alive=pd.Series([0.5, 1.5], index=["a", "b"]))
    with pytest.raises(ClvError, match="two cumulative shares"):
        strategy.clv_messages(clv, p_alive=clv / 2, tiers=(0.2,))


def test_message_budget_totals_and_missing_costs():
    plan = pd.DataFrame({"message": ["retain", "develop", "develop", "low cost"],
                         "clv": [500.0, 200.0, 100.0, 200.0]})
    b = strategy.message_budget(plan)  # default costs of MESSAGES
    assert b.index.tolist() == ["retain", "develop", "low cost"]
    assert b["customers"].sum() == 4 and b["clv_share"].sum() == pytest.approx(1)
    assert b.loc["develop", "budget"] == 2 * strategy.MESSAGES.loc["develop", "cost"]
    assert b["budget_share"].sum() == pytest.approx(1)
    with pytest.raises(DataValidationError, match="no cost per customer.*develop"):
        strategy.message_budget(plan, cost_per_customer={"retain": 1.0, "low cost": 0.1})


# --------------------------------------------------------------------------- journey

def test_journey_stage_boundaries():
    stage = strategy.journey_stage(pd.Series([2.9, 3.0, 11.9, 12.0, 30.0]),
                                   pd.Series([0.0, 0.0, 5.9, 0.0, 6.0]))
    assert stage.astype(str).tolist() == ["new", "developing", "developing", "established",
                                          "lapsed"]
    assert list(stage.cat.categories) == list(strategy.JOURNEY_STAGES)
    with pytest.raises(ClvError, match="new_within <= established_after"):
        strategy.journey_stage(pd.Series([1.0]), pd.Series([1.0]), new_within=12,
                               established_after=3)


def test_journey_stages_from_transactions_ignore_later_purchases():
    tx = _tx([("a", "2023-01-10", 10.0, "x"), ("a", "2023-12-01", 10.0, "x"),
              ("b", "2023-02-01", 10.0, "x"), ("b", "2024-03-01", 10.0, "x"),
              ("c", "2024-02-01", 10.0, "x")])
    s = strategy.journey_stages(tx, as_of="2024-01-01")
    assert s.index.tolist() == ["a", "b"]          # c starts later
    assert s["stage"].astype(str).tolist() == ["developing", "lapsed"]
    assert s.loc["a", "months_since_last"] == pytest.approx(31 / (365.2425 / 12))


# --------------------------------------------------------------------------- KPIs by objective

def test_objectives_read_the_registry():
    for objective in metrics.OBJECTIVES:
        for name in metrics.KPIS_BY_OBJECTIVE[objective]:
            assert name in metrics.METRICS
    table = metrics.objectives_table()
    assert table.index.get_level_values("objective").unique().tolist() == list(
        metrics.OBJECTIVES)
    assert table.loc[("retention", "churn_rate"), "lower_is_better"]


def test_objective_kpis_match_crm_and_hand_counts():
    tx = _tx([("a", "2024-01-03", 10.0, "x"), ("b", "2024-01-09", 30.0, "x"),
              ("a", "2024-02-03", 10.0, "y"), ("c", "2024-02-05", 10.0, "z"),
              ("c", "2024-03-05", 10.0, "x"), ("b", "2024-03-07", 10.0, "x")])
    cust = pd.DataFrame({"cac": [5.0, 15.0, 40.0]}, index=["a", "b", "c"])
    k = strategy.objective_kpis(tx, customers=cust)
    assert k["acquisition_cost"].tolist()[:2] == [10.0, 40.0]
    assert np.isnan(k["acquisition_cost"].iloc[2])      # no new customer in March
    assert k["multi_category_share"].tolist() == pytest.approx([0, 1 / 3, 2 / 3])
    assert k["categories_per_customer"].tolist() == pytest.approx([1, 4 / 3, 5 / 3])
    assert k["multi_category_share"].iloc[-1] == pytest.approx(crm.multi_category_share(tx))
    pd.testing.assert_frame_equal(k[crm.monthly_kpis(tx).columns], crm.monthly_kpis(tx))
    with pytest.raises(DataValidationError, match=r"acquisition cost.*e.g. c"):
        strategy.objective_kpis(tx, customers=cust.iloc[:2])


def test_objective_scorecard_direction_comes_from_the_registry():
    k = pd.DataFrame({"churn_rate": [0.05, 0.06], "retention_rate": [0.3, 0.3],
                      "acquisition_cost": [20.0, 10.0]},
                     index=pd.period_range("2024-01", periods=2, freq="M"))
    card = strategy.objective_scorecard(k, month="2024-02", reference="2024-01",
                                        objectives=["acquisition", "retention"])
    assert card.loc[("retention", "churn_rate"), "verdict"] == "worse"    # churn went up
    assert card.loc[("retention", "retention_rate"), "verdict"] == "same"
    assert card.loc[("acquisition", "acquisition_cost"), "verdict"] == "better"
    assert card.loc[("acquisition", "new_customers"), "verdict"] == "n/a"
    assert strategy.objective_scorecard(k, month="2024-02").attrs["reference"] == "2023-02"
    with pytest.raises(ClvError, match="objective"):
        strategy.objective_scorecard(k, month="2024-02", objectives=["loyalty"])


# --------------------------------------------------------------------------- category lift

def test_category_lift_by_hand():
    tx = _tx([("a", "2024-01-03", 10.0, "x"), ("a", "2024-01-04", 30.0, "y"),
              ("b", "2024-01-05", 10.0, "x"), ("c", "2024-01-06", 10.0, "z")])
    group = pd.Series([True, False, False, False], index=["a", "b", "c", "d"])  # d bought nothing
    lift = strategy.category_lift(tx, group=group)
    assert lift.loc["y", "base_rate"] == 0.25 and lift.loc["y", "lift"] == 4.0
    assert lift.loc["x", "lift"] == pytest.approx(1 / 0.5)
    assert lift.loc["z", "lift"] == 0.0
    assert lift.loc["y", "group_revenue_share"] == 0.75
    assert lift["others_revenue_share"].sum() == pytest.approx(1)
    with pytest.raises(DataValidationError, match="boolean Series"):
        strategy.category_lift(tx, group=group.astype(int))
    with pytest.raises(DataValidationError, match="both in and out"):
        strategy.category_lift(tx, group=group | True)
