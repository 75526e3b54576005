"""Benchmark: RFM summary of 1M transactions / 50k customers vs lifetimes and bare pandas.

Run: ``.venv/bin/python benchmarks/bench_summary.py`` (``make bench``). Prints a table.
Targets (issue 3): >= 3x faster than lifetimes' summary_data_from_transaction_data, within
1.5x of a bare pandas groupby that computes the same columns.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import print_table, timed  # noqa: E402

from clvkit import rfm_summary  # noqa: E402

N_TX, N_CUSTOMERS, SEED = 1_000_000, 50_000, 0
END = pd.Timestamp("2024-12-31")


def make_transactions() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    customers = rng.integers(1, N_CUSTOMERS + 1, N_TX)
    days = rng.integers(0, 730, N_TX)
    seconds = rng.integers(0, 86_400, N_TX)
    dates = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")
             + pd.to_timedelta(seconds, unit="s"))
    return pd.DataFrame({"customer_id": customers, "date": dates,
                         "amount": rng.gamma(2.0, 20.0, N_TX).round(2)})


def bare_pandas(tx: pd.DataFrame) -> pd.DataFrame:
    """The minimum work: daily totals, then first/last/count/sum per customer."""
    day = tx["date"].dt.normalize()
    daily = tx.assign(date=day).groupby(["customer_id", "date"], as_index=False)["amount"].sum()
    g = daily.groupby("customer_id")
    out = g["date"].agg(["min", "max", "size"])
    total, first = g["amount"].sum(), g["amount"].first()
    return pd.DataFrame({"frequency": out["size"] - 1,
                         "recency": (out["max"] - out["min"]).dt.days / 7,
                         "T": (END - out["min"]).dt.days / 7,
                         "monetary_value": (total - first) / (out["size"] - 1)})


def main() -> None:
    tx = make_transactions()
    rows = []
    t_ours, ours = timed(lambda: rfm_summary(tx, observation_end=END, time_unit="W"))
    rows.append({"implementation": "clvkit.rfm_summary", "seconds": round(t_ours, 3)})
    t_bare, bare = timed(lambda: bare_pandas(tx))
    rows.append({"implementation": "bare pandas groupby", "seconds": round(t_bare, 3)})
    try:
        from lifetimes.utils import summary_data_from_transaction_data
    except ImportError:
        t_lt = float("nan")
        theirs = None
    else:
        t_lt, theirs = timed(lambda: summary_data_from_transaction_data(
            tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=END,
            freq="D"), repeat=1)
    rows.append({"implementation": "lifetimes summary_data_from_transaction_data (freq=D)",
                 "seconds": round(t_lt, 3)})
    for row in rows:
        row["vs clvkit"] = round(row["seconds"] / t_ours, 2)
    print_table(rows, title=f"RFM summary, {N_TX:,} transactions, {N_CUSTOMERS:,} customers")
    if theirs is not None:
        same = (theirs["frequency"].reindex(ours.index) == ours["frequency"]).all()
        print(f"\nfrequency identical to lifetimes: {bool(same)}")
    print(f"speed-up vs lifetimes: {t_lt / t_ours:.1f}x (target >= 3x); "
          f"time ratio to bare pandas: {t_ours / t_bare:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
