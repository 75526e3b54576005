# Checks of notebook 05 (instructors only: never released); see 01-clv-formula.py.
for _x, _tx, _T, _months in [(4, 20.0, 39.0, 12), (0, 0.0, 30.0, 6), (10, 35.0, 38.0, 3),
                             (2, 5.0, 39.0, 24)]:
    case("05-1", "expected_purchases_in", bgf, frequency=_x, recency=_tx, T=_T, months=_months,
         rtol=0.01, hint="use the arguments, and express the months in the model's time unit")

case("05-2", "holdout_total", bgf, summary, atol=0.5,
     hint="use each customer's history (conditional_expected_purchases), not a new "
          "customer's expectation")
for _part in (summary.iloc[::3], summary[summary["frequency"] == 0]):
    case("05-2", "holdout_total", bgf, _part, atol=0.5,
         hint="predict for the customers of the summary you are given")
