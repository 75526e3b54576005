# Checks of notebook 02 (instructors only: never released); see 01-clv-formula.py.
import pandas as pd

case("02-1", "top_share", revenue, 0.2, atol=0.005,
     hint="sort customers from the highest revenue down before taking the top 20 %")
case("02-1", "top_share", pd.Series([4.0, 100.0, 1.0, 3.0, 2.0]), 0.2,
     hint="the top share must not depend on the order of the values you are given")
case("02-1", "top_share", pd.Series([4.0, 100.0, 1.0, 3.0, 2.0]), 0.5,
     hint="round the number of customers up (the top 50 % of 5 customers is 3 customers)")
case("02-1", "top_share", revenue, 0.05, atol=0.005, hint="use the `share` argument, not a fixed 20 %")

case("02-2", "gain_from_dropping", profit["profit"], profit["orders"], atol=0.01,
     hint="sum the profit of the customers with orders in the period and profit < 0 (and flip "
          "its sign); customers without orders are an artefact of the window")
case("02-2", "gain_from_dropping", pd.Series([5.0, -2.0, -3.0, 0.0, -4.0]),
     pd.Series([2, 1, 3, 1, 0]),
     hint="dropping loss-making customers who ordered adds what they lose (a positive gain); "
          "keep the customers without orders")
case("02-2", "gain_from_dropping", pd.Series([1.0, 2.0]), pd.Series([1, 1]),
     hint="when nobody loses money the gain is 0")
case("02-2", "gain_from_dropping", profit.iloc[::7]["profit"], profit.iloc[::7]["orders"],
     atol=0.01, hint="compute the gain from the profits and orders you are given")

case("02-3", "value_of_spend", plan, spent, rtol=1e-6, atol=1e-6,
     hint="V = u N (1 - exp(-s / (N c))): contacts land at random, so value grows ever more slowly "
          "and never exceeds u N")
value("02-3", "first_pound", hint="with nothing spent yet, the next pound goes where u / c is highest")
value("02-3", "after_all_in", hint="after spending on a segment its marginal return falls: compare "
                                   "u / c x exp(-s / (N c)) of the segments")
_plan = pd.DataFrame({"customers": [100, 1000], "incremental_clv": [10.0, 4.0],
                      "cost_per_customer": [2.0, 2.0]}, index=["a", "b"])
for _spend in (pd.Series({"a": 200.0, "b": 0.0}), pd.Series({"a": 0.0, "b": 0.0}),
               pd.Series({"a": 1000.0, "b": 3000.0})):
    case("02-3", "value_of_spend", _plan, _spend, rtol=1e-9, atol=1e-9,
         hint="£200 buys 100 contacts for 100 customers, but some get two: fewer than 100 are reached")
    case("02-3", "next_pound", _plan, _spend,
         hint="after spending on a segment its marginal return falls: compare u / c x exp(-s / (N c))")
case("02-3", "next_pound", plan, spent * 0.5, hint="use the plan and the spend you are given")
