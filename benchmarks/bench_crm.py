"""Timings of the CRM analytics on large synthetic data (`python benchmarks/bench_crm.py`).

Prints a Markdown table: step, size, seconds. Sizes are customers.
"""

from __future__ import annotations

import time

import pandas as pd

from clvkit.economics import ltv_cac_by_channel
from clvkit.segments import clv_tiers, concentration, customer_profit, rfm_scores
from clvkit.synthetic import generate_crm

ROWS: list[tuple[str, str, float]] = []


def timed(step: str, size: str, func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    ROWS.append((step, size, time.perf_counter() - start))
    return out


def main() -> None:
    timed("generate_crm (24 months, campaigns)", "100k", generate_crm,
          n_customers=100_000, months=24, seed=1)
    big = timed("generate_crm (12 months, no campaigns)", "1M", generate_crm,
                n_customers=1_000_000, months=12, seed=2, campaigns_per_month=0)
    tx = big.transactions
    print(f"1M customers: {len(tx):,} transaction rows")
    timed("rfm_scores (from transactions)", "1M", rfm_scores, tx)
    profit = timed("customer_profit (margin, CAC, cost per order)", "1M", customer_profit, tx,
                   margin=big.customers["margin"], cost_per_order=3.0,
                   acquisition_cost=big.customers["cac"])
    timed("clv_tiers", "1M", clv_tiers, profit["profit"])
    timed("concentration (Pareto + Gini)", "1M", concentration, profit["revenue"])
    timed("ltv_cac_by_channel (6-month LTV)", "1M", ltv_cac_by_channel, big.customers, tx,
          horizon=6)
    table = pd.DataFrame(ROWS, columns=["step", "customers", "seconds"])
    print(table.to_markdown(index=False, floatfmt=".2f") if _has_tabulate() else
          table.round(2).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
