# Reference answers for notebooks/04-crm-metrics.ipynb (see notebooks/README.md).

# %% [04-1]
repeat_rate = (tx.groupby("customer_id")["order_id"].nunique() >= 2).mean()

# %% [04-1 wrong]
repeat_rate = (tx.groupby("customer_id").size() >= 2).mean()  # counts order lines

# %% [04-2]
discount = crm_data.touches[crm_data.touches["tactic"] == "discount"]
landing_conversion = discount["converted"].sum() / discount["visited"].sum()

# %% [04-2 wrong]
discount = crm_data.touches[crm_data.touches["tactic"] == "discount"]
landing_conversion = discount["converted"].mean()  # conversions per send, not per visit
