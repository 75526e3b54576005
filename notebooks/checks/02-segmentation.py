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
