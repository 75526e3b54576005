# Checks of notebook 04 (instructors only: never released); see 01-clv-formula.py.
import pandas as pd

case("04-1", "repeat_rate", tx, hint="count distinct orders per customer, not order lines")
case("04-1", "repeat_rate",
     pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"], "order_id": [1, 1, 2, 3, 4]}),
     hint="an order of two lines is one order: count distinct orders")
case("04-1", "repeat_rate", tx[tx["customer_id"].isin(tx["customer_id"].drop_duplicates().iloc[::5])],
     hint="compute the rate from the lines you are given")

for _tactic in funnel.index.get_level_values("tactic").unique():
    case("04-2", "landing_conversion", crm_data.touches, _tactic,
         hint="landing-page conversion = conversions / visits of the touches of the tactic "
              "you are given (not per send)")
case("04-2", "landing_conversion",
     pd.DataFrame({"tactic": ["x", "x", "x", "x", "y"], "visited": [True, True, False, False, True],
                   "converted": [True, False, False, False, True]}), "x",
     hint="divide by the visits, not by the sends")

value("04-3", "riskiest", hint="riskiest: the (tactic, message) pair with the highest dropout rate")
for (_t, _m) in by_message.index:
    case("04-3", "dropout_rate", crm_data.touches, _t, _m,
         hint="dropout rate = unsubscribes / sends of the touches with this tactic AND this message")
_touches = pd.DataFrame({"tactic": ["x", "x", "x", "x", "y", "y"],
                         "message": ["A", "A", "B", "B", "A", "A"],
                         "unsubscribed": [True, False, False, False, True, True]})
for _t, _m in [("x", "A"), ("y", "A")]:
    case("04-3", "dropout_rate", _touches, _t, _m,
         hint="select the touches of both the tactic and the message you are given")
