# Reference answers for notebooks/06-personalisation-and-targeting.ipynb (see notebooks/README.md).

# %% [06-1]
rows = predictions.loc[target.index]
# EV is linear in the rate: rate * sum(spend x margin) = n x cost
break_even_rate = len(rows) * send_cost / (rows["expected_spend"] * rows["margin"]).sum()

# %% [06-1 wrong]
rows = predictions.loc[target.index]
break_even_rate = len(rows) * send_cost / rows["expected_spend"].sum()  # forgets the margin

# %% [06-2]
eligible = predictions[predictions["subscribed_at_end"]]
ev = win_back["overall_rate"] * eligible["expected_spend"] * eligible["margin"] - send_cost
audience = ev.index[ev > 0]

# %% [06-2 wrong]
eligible = predictions[predictions["subscribed_at_end"]]
audience = eligible.index[eligible["clv"] >= eligible["clv"].quantile(0.8)]  # top CLV is not top EV
