# Reference answers for notebooks/03-retention-vs-acquisition.ipynb (see notebooks/README.md).

# %% [03-1]
before = retention_clv(m, retention=r, discount_rate=ANNUAL_DISCOUNT_RATE)
after = retention_clv(m, retention=r + 0.05, discount_rate=ANNUAL_DISCOUNT_RATE)
gain_pct = 100 * (after / before - 1)

# %% [03-1 wrong]
before = retention_clv(m, retention=r, discount_rate=ANNUAL_DISCOUNT_RATE)
after = retention_clv(m, retention=r * 1.05, discount_rate=ANNUAL_DISCOUNT_RATE)  # +5 %, not +5 points
gain_pct = 100 * (after / before - 1)

# %% [03-2]
ltv = curves[curves["month"] == LTV_HORIZON].set_index("channel")["cumulative_margin"]
ltv_cac = ltv / channels["cac"]

# %% [03-2 wrong]
ltv = curves[curves["age"] == LTV_HORIZON - 2].set_index("channel")["cumulative_margin"]  # off by one
ltv_cac = ltv / channels["cac"]
