"""Benchmark: CRM metrics (clvkit.crm) on 1M synthetic customers.

Run: ``.venv/bin/python benchmarks/bench_crm_metrics.py [n_customers]``. Generates the
data with :func:`clvkit.synthetic.generate_crm` (24 months), then prints the time of
each metric and, for context, of a plain pandas groupby computing a comparable
quantity (distinct customers per month; funnel counts by group). Wall time is the
best of two runs; CPU time (process time, all threads) of that run is shown too because
the 2-core machine is shared and wall time depends on the load.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import peak_rss_mb, print_table, timed  # noqa: E402

from clvkit import crm  # noqa: E402
from clvkit.synthetic import generate_crm  # noqa: E402

N_CUSTOMERS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def cpu_timed(fn):
    """Best wall time of two runs and the CPU time of that run."""
    best = (float("inf"), float("inf"))
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main() -> None:
    gen_s, data = timed(lambda: generate_crm(n_customers=N_CUSTOMERS, months=24, seed=0),
                        repeat=1)
    tx = data.transactions[data.transactions["amount"] > 0]
    touches = data.touches
    month = tx["date"].dt.to_period("M")
    stages = ["opened", "clicked", "visited", "converted"]
    cases = [
        ("generate_crm (for reference)", "-", None, gen_s),
        ("monthly_kpis", "transactions",
         lambda: crm.monthly_kpis(tx), None),
        ("cohort_matrix(value='retention')", "transactions",
         lambda: crm.cohort_matrix(tx), None),
        ("cohort_matrix(value='revenue')", "transactions",
         lambda: crm.cohort_matrix(tx, value="revenue"), None),
        ("churn_rate(inactive_periods=3)", "transactions",
         lambda: crm.churn_rate(tx, inactive_periods=3), None),
        ("cumulative_value(by='channel')", "transactions",
         lambda: crm.cumulative_value(tx, by="channel"), None),
        ("next_category", "transactions", lambda: crm.next_category(tx), None),
        ("basket_growth", "transactions", lambda: crm.basket_growth(tx), None),
        ("funnel(by=tactic,message,medium)", "touches", lambda: crm.funnel(touches), None),
        ("compare_messages(by='tactic')", "touches",
         lambda: crm.compare_messages(touches), None),
        ("dropout(by=tactic,message)", "touches", lambda: crm.dropout(touches), None),
        ("pandas: nunique customers per month", "transactions",
         lambda: tx.groupby(month)["customer_id"].nunique(), None),
        ("pandas: funnel counts by group", "touches",
         lambda: touches.groupby(["tactic", "message", "medium"], observed=True)[stages].sum(),
         None),
    ]
    rows = []
    for name, table, fn, seconds in cases:
        cpu = float("nan")
        if fn is not None:
            seconds, cpu = cpu_timed(fn)
        n_rows = {"transactions": len(tx), "touches": len(touches)}.get(table)
        rows.append({"function": name, "input": table, "rows": f"{n_rows:,}" if n_rows else "-",
                     "wall_s": round(seconds, 2), "cpu_s": round(cpu, 2)})
    print_table(rows, title=f"clvkit.crm on {N_CUSTOMERS:,} synthetic customers (24 months)")
    print(f"\npeak RSS: {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
