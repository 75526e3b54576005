# Checks of notebook 03 (instructors only: never released); see 01-clv-formula.py.
import pandas as pd

case("03-1", "clv_gain_pct", r, 0.05, discount_rate=ANNUAL_DISCOUNT_RATE, atol=0.01,
     hint="5 points means r + 0.05, not r x 1.05; answer in percent")
case("03-1", "clv_gain_pct", 0.5, 0.1, discount_rate=0.0, atol=1e-6,
     hint="use the retention, points and discount rate you are given")
case("03-1", "clv_gain_pct", 0.3, 0.02, discount_rate=0.05, atol=1e-6,
     hint="use the retention, points and discount rate you are given")

case("03-2", "ltv_to_cac", curves, channels["cac"], horizon=LTV_HORIZON, rtol=1e-9,
     hint=f"take the cumulative margin at month {LTV_HORIZON} and divide by the CAC; "
          "return a Series indexed by channel")
_curves = pd.DataFrame({"channel": ["x", "x", "y", "y"], "month": [1, 2, 1, 2],
                        "cumulative_margin": [5.0, 10.0, 3.0, 4.0]})
for _h in (2, 1):
    case("03-2", "ltv_to_cac", _curves, pd.Series({"x": 5.0, "y": 2.0}), horizon=_h,
         hint="use the month given by `horizon` and the tables you are given")
