# Reference answers for notebooks/05-predictive-clv.ipynb (see notebooks/README.md).

# %% [05-1]
weeks = convert_duration(12, from_unit="M", to_unit=bgf.time_unit)  # about 52.18 weeks
next_year = bgf.conditional_expected_purchases(frequency=[4], recency=[20.0], T=[39.0],
                                               t=weeks).iloc[0]

# %% [05-1 wrong]
next_year = bgf.conditional_expected_purchases(frequency=[4], recency=[20.0], T=[39.0],
                                               t=12).iloc[0]  # 12 weeks, not 12 months

# %% [05-2]
predicted_total = bgf.conditional_expected_purchases(summary, t=summary["duration_holdout"]).sum()

# %% [05-2 wrong]
# a new customer's expectation ignores each customer's history
predicted_total = len(summary) * float(bgf.expected_purchases_new_customer(39))
