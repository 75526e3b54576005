# Reference answers for notebooks/01-clv-formula.ipynb (see notebooks/README.md).
# Each "# %% [ID]" section replaces the answer cell of exercise ID; "# %% [ID wrong]" is a
# typical mistake that the check cell must reject.

# %% [01-1]
apv = tx["amount"].sum() / tx["order_id"].nunique()

# %% [01-1 wrong]
apv = tx["amount"].mean()  # revenue per order line, not per purchase

# %% [01-2]
# m r / (1 + d - r) = 2 C  <=>  r (m + 2 C) = 2 C (1 + d)
r_double = 2 * clv_retention * (1 + MONTHLY_DISCOUNT_RATE) / (m + 2 * clv_retention)

# %% [01-2 wrong]
r_double = min(2 * r, 0.999)  # doubling the retention rate is not doubling CLV
