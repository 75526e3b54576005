"""Benchmark: the report's predictions section at scale (1.3M rows, 150k customers).

Run: ``.venv/bin/python benchmarks/bench_predictions.py`` (defaults: 150,000 customers,
~1.3M transaction rows, 26 months). Prints a Markdown table: the predictions section's
forecast (model comparison on a holdout, refit, per-customer predictions with intervals) and
the whole page build, with this checkout's code and, with ``--before REV``, with the code of
git revision ``REV`` on the same data in the same run; then lifetimes 0.11.3 (BG/NBD fit and
per-customer P(alive), expected purchases and Gamma-Gamma CLV) on the same summary.

Data: a seeded, realistic purchase history (``generate``): customers acquired over two
years, skewed purchase rates (gamma shape 0.6, so most buy once or twice and a few weekly),
a dropout after each purchase (BG/NBD-like, beta(2, 8)), several order lines per purchase
day for some customers (baskets), Gamma-Gamma spend and 3% returns (negative rows, which
the section leaves out like the loader does). Each measurement runs in its own subprocess,
so the "before" and "after" code never share a process.

    .venv/bin/python benchmarks/bench_predictions.py --before 9f043b4 --customers 150000

Goal (issue 18 section 3 / issue 19): the predictions section <= 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine  # noqa: E402

START = pd.Timestamp("2022-01-01")
MONTHS = 26
SEED = 19
MONTH = "2024-02"  # the report month: the last of the 26 months
ROOT = Path(__file__).resolve().parents[1]


def generate(n_customers: int, *, seed: int = SEED) -> pd.DataFrame:
    """Seeded transactions: ``customer_id, date, amount`` (~8.7 rows per customer)."""
    rng = np.random.default_rng(seed)
    days = (START + pd.DateOffset(months=MONTHS) - START).days
    birth = rng.integers(0, days - 30, n_customers)
    rate = rng.gamma(0.6, 0.045 / 0.6, n_customers)  # purchase days per day while active
    p_drop = rng.beta(2.0, 8.0, n_customers)
    # BG/NBD: purchases at Poisson rate, a dropout after each with probability p
    n_before_drop = rng.geometric(p_drop)
    horizon = days - birth
    repeats = np.minimum(rng.poisson(rate * horizon), n_before_drop)
    owner = np.repeat(np.arange(n_customers), repeats + 1)
    first = np.zeros(owner.size, dtype=bool)
    first[np.concatenate([[0], np.cumsum(repeats + 1)[:-1]])] = True
    # repeat purchases spread over the time up to a customer's last one
    last = np.minimum(horizon, rng.gamma(np.maximum(repeats, 1), 1.0 / np.maximum(rate, 1e-9)))
    offset = np.where(first, 0, rng.random(owner.size) * last[owner]).astype(np.int64)
    day = birth[owner] + offset
    # baskets: 1 + Poisson(0.7) order lines per purchase day
    lines = 1 + rng.poisson(0.7, owner.size)
    owner, day = np.repeat(owner, lines), np.repeat(day, lines)
    nu = rng.gamma(4.0, 1.0 / 60.0, n_customers)  # Gamma-Gamma: spend scale per customer
    amount = np.round(rng.gamma(3.0, 1.0 / nu[owner]), 2) + 0.01
    returned = rng.random(owner.size) < 0.03
    amount[returned] = -amount[returned]
    frame = pd.DataFrame({
        "customer_id": pd.array([f"C{i:07d}" for i in owner], dtype="string"),
        "date": START + pd.to_timedelta(day, unit="D"),
        "amount": amount})
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _report_data(path: Path):
    from clvkit.report.data import ReportData

    tx = pd.read_parquet(path)
    keep = tx["amount"] > 0
    return ReportData(transactions=tx.loc[keep].reset_index(drop=True),
                      returns=tx.loc[~keep].reset_index(drop=True), log=pd.DataFrame(),
                      rows_read=len(tx), source=str(path))


def child(kind: str, data: str) -> dict:
    """One measurement in this process: ``forecast``, ``page`` or ``lifetimes``."""
    path = Path(data)
    if kind == "lifetimes":
        return _lifetimes(path)
    from clvkit.report.sections import predictions

    rd = _report_data(path)
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "forecast":
        fc = predictions.forecast(rd, month=MONTH, time_unit="W", options={})
        model = fc.result.model if fc.result is not None else None
    else:
        page = predictions.build(rd, month=MONTH, title="bench", currency="GBP",
                                 time_unit="W", options={})
        table = page.tables["comparison"]
        used = (table["verdict"] == "used" if "verdict" in table  # this checkout's table
                else table["used"] == "yes")  # the older table
        model = ", ".join(table.index[used.to_numpy()])
    import clvkit

    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "model": str(model), "package": str(Path(clvkit.__file__).parent)}


def _lifetimes(path: Path) -> dict:
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.read_parquet(path)
    tx = tx.loc[tx["amount"] > 0]
    start, cpu = time.perf_counter(), time.process_time()
    end = pd.Period(MONTH, "M").end_time.normalize()
    s = summary_data_from_transaction_data(tx, "customer_id", "date", "amount",
                                           observation_period_end=end, freq="D")
    s[["recency", "T"]] /= 7.0
    t_summary = time.perf_counter() - start
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
    bg.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    bg.conditional_expected_number_of_purchases_up_to_time(4.35, s["frequency"], s["recency"],
                                                           s["T"])
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    gg = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    gg.customer_lifetime_value(bg, rep["frequency"], rep["recency"], rep["T"],
                               rep["monetary_value"], time=12, freq="W", discount_rate=0.008)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "summary_seconds": t_summary,
            "model": "BG/NBD (no holdout, no intervals)"}


def measure(kind: str, data: Path, code: Path | None) -> dict:
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(data)], env=env,
                         capture_output=True, text=True, cwd=code or ROOT)
    if out.returncode:
        return {"seconds": float("nan"), "cpu": float("nan"),
                "model": "failed: " + out.stderr.strip()[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _checkout(rev: str, folder: Path) -> Path:
    """The package of git revision ``rev`` extracted into ``folder``."""
    archive = subprocess.run(["git", "archive", rev, "clvkit"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=150_000)
    parser.add_argument("--before", default=None, help="git revision to time as 'before'")
    parser.add_argument("--no-lifetimes", action="store_true")
    parser.add_argument("--kinds", default="forecast,page")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tx.parquet"
        tx = generate(args.customers)
        tx.to_parquet(data)
        n_rows, n_cust = len(tx), tx["customer_id"].nunique()
        del tx
        print(f"data: {n_rows:,} rows, {n_cust:,} customers, {MONTHS} months, seed {SEED}; "
              f"report month {MONTH}")
        print(machine())
        codes = [("this checkout", None)]
        if args.before:
            codes.insert(0, (f"before ({args.before})",
                             _checkout(args.before, Path(tmp) / "before")))
        for label, code in codes:
            for kind in args.kinds.split(","):
                r = measure(kind, data, code)
                rows.append({"code": label, "what": f"predictions {kind}", **r})
                print(rows[-1], flush=True)
        if not args.no_lifetimes:
            r = measure("lifetimes", data, None)
            rows.append({"code": "lifetimes 0.11.3", "what": "summary + fit + scores", **r})
    print(f"\n1-minute load average now: {os.getloadavg()[0]:.1f} (2 cores shared: wall times "
          "grow with it, CPU times much less)")
    print("\n| code | what | wall s | CPU s | model |\n|---|---|---:|---:|---|")
    for r in rows:
        print(f"| {r['code']} | {r['what']} | {r['seconds']:.1f} | {r['cpu']:.1f} | "
              f"{r['model']} |")
    print("\nGoal: the predictions section <= 20 s (issue 18 section 3).")


if __name__ == "__main__":
    main()
