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

_lines = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"],
                       "order_id": ["1", "1", "2", "3", "4", "5"],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01",
                                               "2024-01-05", "2024-03-01", "2024-01-07"]),
                       "amount": [10.0, 10.0, 40.0, 30.0, 30.0, 5.0],
                       "product": ["x", "y", "z", "x", "x", "y"]})
_some = tx[tx["customer_id"].isin(tx["customer_id"].drop_duplicates().iloc[::9])]
for _table in (tx, _lines, _some):
    case("04-4", "cross_sell_share", _table, rtol=1e-9, atol=1e-9,
         hint="of the customers with 2+ orders, the share who bought a category in a later order "
              "that was not in their first order")
for _table, _k in [(tx, 6), (_lines, 2), (_some, 3), (tx, 2)]:
    case("04-4", "upsell_ratio", _table, _k, rtol=1e-9, atol=1e-9,
         hint="up-sell on the same customers: mean k-th order value / mean first order value of the "
              "customers with at least k orders (an order's value is the sum of its lines)")
