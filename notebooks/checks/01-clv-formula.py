# Checks of notebook 01 (instructors only: never released). Run by the grader in the namespace
# of the solved notebook: each case() calls the student's function and the solution on the same
# inputs; the grader compares the two. Hints are shown to students: no inputs, no answers.
import pandas as pd

case("01-1", "average_purchase_value", tx, atol=0.01,
     hint="APV is revenue per purchase (order), not per order line")
case("01-1", "average_purchase_value",
     pd.DataFrame({"order_id": ["a", "a", "b"], "amount": [10.0, 20.0, 30.0]}), atol=1e-9,
     hint="on a small table where one order has two lines: divide by the distinct orders")
for _country in ["Germany", "France", "EIRE"]:
    case("01-1", "average_purchase_value", tx[tx["country"] == _country], atol=0.01,
         hint="compute the APV from the table of order lines you are given")

case("01-2", "retention_for_clv", 2 * clv_retention, margin=m, discount_rate=d, rtol=1e-6,
     hint="the retention rate whose CLV is twice the notebook's: solve m r / (1 + d - r) = C")
for _margin, _target, _d in [(10.0, 30.0, 0.0), (50.0, 10.0, 0.02), (5.0, 100.0, 0.01)]:
    case("01-2", "retention_for_clv", _target, margin=_margin, discount_rate=_d, rtol=1e-6,
         hint="use the function's arguments (target, margin, discount rate), not the "
              "notebook's m and d")
