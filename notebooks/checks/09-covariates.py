# Checks of notebook 09 (instructors only: never released); see 01-clv-formula.py.
import numpy as np
import pandas as pd

case("09-1", "rate_multipliers", channel_table, rtol=1e-6, atol=1e-9,
     hint="one row per trans./life. coefficient: exp(gamma) on the purchase rate, exp(-gamma) "
          "on the expected lifetime, and the interval transformed the same way")
_table = pd.DataFrame({"estimate": [0.5, np.log(2.0), -np.log(4.0), 0.3],
                       "lower": [0.1, np.log(1.5), -np.log(8.0), -0.1],
                       "upper": [2.0, np.log(3.0), -np.log(2.0), 0.7]},
                      index=["alpha", "trans.x", "life.x", "life.y"])
case("09-1", "rate_multipliers", _table, rtol=1e-6, atol=1e-9,
     hint="a positive life. coefficient SHORTENS the lifetime: exp(-gamma), with the bounds "
          "swapped; leave out the base parameters")
case("09-1", "rate_multipliers", contacts_table, rtol=1e-6, atol=1e-9,
     hint="use the table you are given (here the time-varying model's)")

for _c in observed.index:
    case("09-2", "new_customer_value", fit, _c, weeks=value_weeks,
         margin_per_order=float(margin_per_order[_c]), rtol=1e-6,
         hint="margin per order x (1 + expected repeat purchases of THAT channel's model)")
case("09-2", "new_customer_value", fit, "social", weeks=52.0, margin_per_order=10.0, rtol=1e-6,
     hint="use the channel, the horizon and the margin you are given")
case("09-2", "new_customer_value", fit, "email_referral", weeks=0.0, margin_per_order=7.0,
     rtol=1e-6, hint="the first purchase counts once, even over 0 weeks")
