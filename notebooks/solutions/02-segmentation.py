# Reference answers for notebooks/02-segmentation.ipynb (see notebooks/README.md).

# %% [02-1]
import math

ranked = revenue.sort_values(ascending=False)
top20_share = ranked.head(math.ceil(0.2 * len(ranked))).sum() / ranked.sum()

# %% [02-1 wrong]
import math

ranked = revenue.sort_values()  # ascending: the bottom 20 %
top20_share = ranked.head(math.ceil(0.2 * len(ranked))).sum() / ranked.sum()

# %% [02-2]
profit_gain = -profit.loc[profit["profit"] < 0, "profit"].sum()

# %% [02-2 wrong]
profit_gain = profit.loc[profit["profit"] < 0, "profit"].sum()  # sign: a loss, not a gain
