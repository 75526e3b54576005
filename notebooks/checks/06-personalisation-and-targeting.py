# Checks of notebook 06 (instructors only: never released); see 01-clv-formula.py.
import pandas as pd

case("06-1", "break_even_rate", predictions.loc[target.index], cost=send_cost, rtol=1e-6,
     hint="at the break-even rate, expected margin (spend x margin rate) equals the cost of the sends")
case("06-1", "break_even_rate", pd.DataFrame({"expected_spend": [10.0, 30.0], "margin": [0.5, 0.5]}),
     cost=1.0, rtol=1e-6, hint="expected margin is spend x margin rate; the cost is per send")
_other = predictions.index[predictions["subscribed_at_end"]][::11]
for _cost in (send_cost, 3 * send_cost):
    case("06-1", "break_even_rate", predictions.loc[_other], cost=_cost, rtol=1e-6,
         hint="use the audience and the cost you are given")

for _rate, _cost in [(win_back["overall_rate"], send_cost),
                     (3 * win_back["overall_rate"], 2 * send_cost),
                     (0.5 * win_back["overall_rate"], send_cost)]:
    case("06-2", "best_audience", predictions, rate=_rate, cost=_cost, compare="set",
         hint="only subscribed customers, each once, whose expected value of one send "
              "(rate x spend x margin - cost) is positive; use `rate` and `cost`")

case("06-3", "value_per_send", incremental, margin_per_purchase=mean_margin, cost=send_cost,
     rtol=1e-6, atol=1e-9,
     hint="value of a send = (buy rate of the contacted - buy rate of those not contacted) "
          "x margin per purchase - cost")
case("06-3", "value_per_send",
     pd.DataFrame({"sends": [100, 200], "contacted_buyers": [20, 20],
                   "not_contacted": [400, 100], "not_contacted_buyers": [80, 5]},
                  index=pd.Index(["x", "y"], name="tactic")),
     margin_per_purchase=10.0, cost=0.1, rtol=1e-9, atol=1e-9,
     hint="contacted customers who buy as often as the others were not moved by the message: "
          "only the lift earns margin, and the cost is paid on every send")
_by_tactic = incremental[["sends", "contacted_buyers", "not_contacted",
                          "not_contacted_buyers"]].groupby(level="tactic").sum()
for _margin, _cost in [(mean_margin, send_cost), (3 * mean_margin, 0.0)]:
    case("06-3", "value_per_send", _by_tactic, margin_per_purchase=_margin, cost=_cost,
         rtol=1e-6, atol=1e-9, hint="use the table, margin and cost you are given")
