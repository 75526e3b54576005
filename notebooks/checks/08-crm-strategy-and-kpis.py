# Checks of notebook 08 (instructors only: never released); see 01-clv-formula.py.
import pandas as pd

case("08-1", "top_share_captured", focus["clv"], focus["next_year_margin"], TARGET_SHARE,
     hint="rank by the score (CLV), then add up the OUTCOME (next year's margin) of the top "
          "customers")
_score = pd.Series([5.0, 1.0, 4.0, 2.0, 3.0], index=list("abcde"))
_outcome = pd.Series([10.0, 40.0, 0.0, 30.0, 20.0], index=list("abcde"))
case("08-1", "top_share_captured", _score, _outcome, 0.4,
     hint="rank by the score, sum the outcome of the top customers")
case("08-1", "top_share_captured", _score, _outcome.loc[list("cadbe")], 0.6,
     hint="match customers by their id (the index), not by position")
_some = focus.iloc[::7]
for _share in (0.1, 0.5):
    case("08-1", "top_share_captured", _some["clv"], _some["next_year_margin"],
         round(_share * len(_some)) / len(_some), hint="use the customers and the share you are given")

case("08-2", "assign_message", focus["clv"], focus["p_alive"], top_share=TIERS[0],
     middle_share=TIERS[1], at_risk_below=AT_RISK_BELOW,
     hint="high tier -> retain (or win back if at risk), middle -> develop (or win back), "
          "low -> low cost; one message per customer, indexed like `clv`")
_clv = pd.Series([900.0, 500.0, 300.0, 80.0, 10.0], index=list("vwxyz"))
_p = pd.Series([0.9, 0.3, 0.8, 0.2, 0.9], index=list("vwxyz"))
case("08-2", "assign_message", _clv, _p.loc[list("xzvyw")], top_share=0.2, middle_share=0.6,
     at_risk_below=0.5, hint="match P(alive) to customers by id; at-risk customers of the top "
                             "and middle tiers are won back")
_some = focus.iloc[1::5]
for _top, _middle, _risk in [(0.1, 0.3, 0.5), (0.05, 0.5, 0.7)]:
    case("08-2", "assign_message", _some["clv"], _some["p_alive"], top_share=_top,
         middle_share=_middle, at_risk_below=_risk,
         hint="use the tier shares and the risk threshold you are given")

case("08-3", "stage_of", stages["tenure_months"], stages["months_since_last"],
     new_within=NEW_WITHIN, established_after=ESTABLISHED_AFTER, lapsed_after=LAPSED_AFTER,
     compare="values",
     hint="lapsed first (no purchase for lapsed_after months), then new, developing, established "
          "by tenure")
_tenure = pd.Series([1.0, 2.0, 5.0, 24.0, 30.0, 4.0])
_since = pd.Series([0.5, 2.0, 1.0, 3.0, 0.0, 4.0])
case("08-3", "stage_of", _tenure, _since, new_within=2, established_after=24, lapsed_after=4,
     compare="values", hint="check the boundaries: a tenure equal to a threshold belongs to the "
                            "next stage")
case("08-3", "stage_of", _tenure, _since, new_within=3, established_after=6, lapsed_after=1,
     compare="values", hint="'lapsed' comes before the tenure rules, even for a new customer")

case("08-4", "verdicts", kpis, objective="retention", month=KPI_MONTH,
     reference=str(pd.Period(KPI_MONTH, "M") - 12),
     hint="lower churn is better: read the direction from metrics.metric(name).lower_is_better")
_k = pd.DataFrame({"new_customers": [100, 120], "acquisition_cost": [20.0, 25.0]},
                  index=pd.period_range("2024-01", periods=2, freq="M"))
case("08-4", "verdicts", _k, objective="acquisition", month="2024-02", reference="2024-01",
     hint="a higher cost is worse: use the objective and the table you are given")
case("08-4", "verdicts", _k, objective="acquisition", month="2024-01", reference="2024-01",
     hint="a month compared with itself is the same")
for _objective in metrics.OBJECTIVES:
    case("08-4", "verdicts", kpis, objective=_objective, month="2024-06", reference="2024-03",
         hint="use the objective and the months you are given")

case("08-5", "penetration_lift", bought, in_high_tier,
     hint="lift = share of the group who bought the category / share of ALL customers who "
          "bought it")
_bought = pd.DataFrame({"x": [True, True, False, False], "y": [True, False, False, False]},
                       index=list("abcd"))
case("08-5", "penetration_lift", _bought, pd.Series([True, False, False, False], index=list("abcd")),
     hint="a category bought by most customers has a low lift")
case("08-5", "penetration_lift", bought, plan["clv"] >= plan["clv"].quantile(0.95),
     hint="use the group you are given")
