"""Benchmark: RFM summary, model fit and per-customer CLV at scale, per engine.

Run: ``.venv/bin/python benchmarks/bench_scale.py`` (1M and 10M transactions; add
``--huge`` for 100M, DuckDB only; ``--sizes 1000000`` to choose). Prints a Markdown table.
DuckDB runs with ``memory_limit="1GB"`` throughout (``--duckdb-memory``).

Data: a seeded BG/NBD-like purchase process with Gamma-Gamma spend, ~10 transactions per
customer (10M transactions ~ 1M customers) over 2023-2024, generated in chunks of customers
and streamed to Parquet with ``pyarrow.parquet.ParquetWriter`` (never held in memory whole).

Each measurement runs in its own subprocess, so its peak memory is its own: peak RSS is
sampled every 50 ms over the process *and its children* (Spark's JVM included), as is the CPU
time (user + system) of that process tree. The 1-minute load average at the start of each
run is printed too: on a shared machine wall times grow with it, CPU times much less.

* ``summary``: transactions Parquet file -> per-customer RFM summary (weeks) on the engine
  (pandas reads the file into memory; DuckDB scans it; Spark SQL in ``local[2]`` mode).
* ``pipeline``: the same summary, then compressed to distinct (frequency, recency, T) rows with
  weights, BG/NBD fitted on those rows (``fit``), Gamma-Gamma on the repeat customers, and the
  12-month CLV (1% per month) of every customer (``CLV``); ``total`` is the whole pipeline.
* ``summary_file`` (100M only): DuckDB within its ``memory_limit`` writes the summary straight
  to Parquet (``write_rfm_summary``, ``COPY ... TO``): neither transactions nor customers
  pass through pandas.
* ``lifetimes``: ``summary_data_from_transaction_data`` (freq="D", with monetary value) on the
  same file read with pandas, for the sizes it can handle (1M).

Targets (issue 8, 2 cores / 24 GB): 10M transactions / 1M customers -> per-customer CLV in
<= 60 s and <= 4 GB peak.
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

START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31")
DAYS = (END - START).days + 1
SEED = 8
CHUNK_CUSTOMERS = 100_000
TX_PER_CUSTOMER = 10  # on average
#: DuckDB's memory limit in the benchmark (``--duckdb-memory``): beyond it, aggregations
#: spill to a temporary folder
DUCKDB_MEMORY_DEFAULT = "1GB"


def duckdb_memory() -> str:
    """The limit in force (children inherit it through the environment)."""
    return os.environ.get("CLVKIT_BENCH_DUCKDB_MEMORY", DUCKDB_MEMORY_DEFAULT)


# --------------------------------------------------------------------------- data


def generate(path: Path, n_transactions: int, *, seed: int = SEED) -> int:
    """Write about ``n_transactions`` rows to ``path`` in chunks; return the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_customers = n_transactions // TX_PER_CUSTOMER
    schema = pa.schema([("customer_id", pa.int64()), ("date", pa.timestamp("us")),
                        ("amount", pa.float64())])
    written = 0
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for first in range(0, n_customers, CHUNK_CUSTOMERS):
            ids = np.arange(first, min(first + CHUNK_CUSTOMERS, n_customers), dtype=np.int64)
            table = _chunk(rng, ids + 1)
            writer.write_table(pa.Table.from_pandas(table, schema=schema, preserve_index=False))
            written += len(table)
    return written


def _chunk(rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    m = len(ids)
    birth = rng.integers(0, 365, m)  # acquired during the first year
    alive = np.minimum(rng.exponential(420.0, m), DAYS - birth)  # days until dropout/end
    rate = rng.gamma(1.5, 0.03 / 1.5, m)  # purchases per day while alive
    repeats = rng.poisson(rate * alive)
    owner = np.repeat(np.arange(m), repeats + 1)
    is_first = np.zeros(len(owner), dtype=bool)
    is_first[np.concatenate([[0], np.cumsum(repeats + 1)[:-1]])] = True
    offset = np.where(is_first, 0.0, rng.random(len(owner)) * alive[owner])
    day = birth[owner] + np.floor(offset).astype(np.int64)
    stamp = (START.to_datetime64() + day.astype("timedelta64[D]")
             + rng.integers(0, 86_400, len(owner)).astype("timedelta64[s]"))
    spend_scale = 1.0 / rng.gamma(4.0, 1.0 / 15.0, m)  # Gamma-Gamma: nu ~ Gamma(q, gamma)
    amount = np.round(rng.gamma(6.0, spend_scale[owner]), 2) + 0.01
    order = rng.permutation(len(owner))
    return pd.DataFrame({"customer_id": ids[owner][order], "date": stamp[order],
                         "amount": amount[order]})


# --------------------------------------------------------------------------- measurements


def child(kind: str, engine: str, data: str) -> dict:
    """One measurement (runs inside its own subprocess)."""
    from clvkit.engines import local_spark, rfm_summary_engine

    spark = (local_spark(config={"spark.driver.memory": "3g"}) if engine == "spark" else None)
    limit = {"memory_limit": duckdb_memory()} if engine == "duckdb" else {}
    result: dict = {}
    start = time.perf_counter()
    if kind == "summary_file":  # DuckDB streams the customers to Parquet (COPY ... TO)
        from clvkit.engines import write_rfm_summary

        out = Path(data).with_name("summary.parquet")
        result["customers"] = write_rfm_summary(data, out, engine=engine, observation_end=END,
                                                time_unit="W", **limit)
        result["summary_s"] = time.perf_counter() - start
        return result
    if kind == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data

        tx = pd.read_parquet(data)
        summary = summary_data_from_transaction_data(
            tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=END,
            freq="D")
        result["summary_s"] = time.perf_counter() - start
        result["customers"] = len(summary)
        return result
    summary = rfm_summary_engine(data, engine=engine, spark=spark, observation_end=END,
                                 time_unit="W", **limit)
    result["summary_s"] = time.perf_counter() - start
    result["customers"] = len(summary)
    if kind == "pipeline":
        from clvkit.clv import customer_lifetime_value
        from clvkit.models import BGNBD, GammaGamma
        from clvkit.summary import compress_summary

        t0 = time.perf_counter()
        packed = compress_summary(summary)
        bgnbd = BGNBD().fit(packed[["frequency", "recency", "T"]], weights=packed["weights"],
                            time_unit="W", strict=False)
        result["fit_s"] = time.perf_counter() - t0
        result["distinct_rows"] = len(packed)
        result["bgnbd_converged"] = bool(bgnbd.success)
        t0 = time.perf_counter()
        spend = GammaGamma().fit(summary, strict=False)
        clv = customer_lifetime_value(bgnbd, spend, summary, horizon=12, horizon_unit="M",
                                      discount_rate=0.01, discount_period="M")
        result["clv_s"] = time.perf_counter() - t0
        result["clv_customers"] = int(clv["clv"].notna().sum())
        result["total_s"] = time.perf_counter() - start
    return result


def measure(kind: str, engine: str, data: Path) -> dict:
    """Run ``child`` in a subprocess; add its peak RSS (process tree, sampled every 50 ms)."""
    import psutil

    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--child", kind, "--engine", engine, "--data", str(data)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root, peak, cpu = psutil.Process(proc.pid), 0, {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        rss = 0
        for process in tree:
            try:
                rss += process.memory_info().rss
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, rss)
        time.sleep(0.05)
    out, err = proc.communicate()
    result = {"peak_mb": peak / 2**20, "cpu_s": sum(cpu.values()), "load": load}
    if proc.returncode != 0:
        tail = err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"
        return {"error": tail, **result}
    return {**json.loads(out.strip().splitlines()[-1]), **result}


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def run(sizes: list[int], engines: list[str], folder: Path) -> list[dict]:
    rows = []
    for size in sizes:
        path = folder / f"tx_{size}.parquet"
        t0 = time.perf_counter()
        n_rows = generate(path, size)
        print(f"generated {n_rows:,} transactions ({path.stat().st_size / 2**20:,.0f} MB "
              f"Parquet) in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        runs = [(engine, kind) for engine in engines for kind in ("summary", "pipeline")]
        if size <= 1_000_000:
            runs.append(("lifetimes", "lifetimes"))
        if size > 10_000_000:  # 100M: the out-of-core case, DuckDB summary streamed to a file
            runs = [("duckdb", "summary_file")] if "duckdb" in engines else []
        for engine, kind in runs:
            res = measure(kind, "pandas" if engine == "lifetimes" else engine, path)
            print(f"  {size:,} {engine} {kind}: {res}", file=sys.stderr, flush=True)
            rows.append({"transactions": n_rows, "engine": engine, "kind": kind, **res})
    return rows


def table(rows: list[dict]) -> str:
    """Merge the summary-only and pipeline runs of each (size, engine) into one line."""
    merged: dict[tuple, dict] = {}
    for r in rows:
        key = (r["transactions"], r["engine"])
        line = merged.setdefault(key, {"transactions": r["transactions"], "engine": r["engine"]})
        if r.get("error"):
            line.setdefault("note", []).append(f"{r['kind']}: {r['error'][:60]}")
        elif r["kind"] in ("summary", "summary_file", "lifetimes"):
            line.update(customers=r["customers"], summary_s=r["summary_s"],
                        summary_peak_mb=r["peak_mb"], summary_load=r["load"])
        else:
            line.update(distinct=r["distinct_rows"], fit_s=r["fit_s"], clv_s=r["clv_s"],
                        total_s=r["total_s"], total_peak_mb=r["peak_mb"],
                        total_cpu_s=r["cpu_s"], total_load=r["load"],
                        converged=r["bgnbd_converged"])
    head = ("| transactions | customers | engine | summary s | summary peak MB | distinct "
            "(x, t_x, T) | BG/NBD fit s | CLV s (GG fit + 12-month CLV) | total s "
            "(summary -> CLV) | total CPU s | total peak MB | load avg |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for line in merged.values():
        name = ("lifetimes summary_data_from_transaction_data" if line["engine"] == "lifetimes"
                else line["engine"])
        if line["engine"] == "duckdb":
            name += f" (memory_limit {duckdb_memory()})"
        if line.get("note"):
            name += " (" + "; ".join(line["note"]) + ")"
        if line.get("converged") is False:
            name += " (BG/NBD not converged)"
        lines.append("| " + " | ".join([
            _fmt(line["transactions"]), _fmt(line.get("customers")), name,
            _fmt(line.get("summary_s")), _fmt(line.get("summary_peak_mb"), 0),
            _fmt(line.get("distinct")), _fmt(line.get("fit_s")), _fmt(line.get("clv_s")),
            _fmt(line.get("total_s")), _fmt(line.get("total_cpu_s")),
            _fmt(line.get("total_peak_mb"), 0),
            _fmt(line.get("total_load", line.get("summary_load")))]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge", action="store_true",
                        help="also 100M transactions (DuckDB summary only)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["pandas", "duckdb", "spark"])
    parser.add_argument("--folder", help="where to write the generated Parquet files "
                        "(default: a temporary folder, deleted afterwards)")
    parser.add_argument("--duckdb-memory", default=duckdb_memory(),
                        help=f"DuckDB memory_limit (default {DUCKDB_MEMORY_DEFAULT})")
    parser.add_argument("--child", choices=["summary", "summary_file", "pipeline", "lifetimes"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.engine, args.data)))
        return
    os.environ["CLVKIT_BENCH_DUCKDB_MEMORY"] = args.duckdb_memory
    sizes = args.sizes + ([100_000_000] if args.huge else [])
    with tempfile.TemporaryDirectory(prefix="clvkit-bench-") as tmp:
        folder = Path(args.folder) if args.folder else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = run(sizes, args.engines, folder)
    print(f"\n### Scale: summary, fit and per-customer CLV per engine\n\n{machine()}\n")
    print(table(rows))
    target = [r for r in rows if r["kind"] == "pipeline" and "total_s" in r
              and 9_000_000 <= r["transactions"] <= 11_000_000]
    for r in target:
        ok = r["total_s"] <= 60 and r["peak_mb"] <= 4096
        print(f"\n10M target ({r['engine']}): {r['total_s']:.1f} s, {r['peak_mb']:,.0f} MB "
              f"-> {'met' if ok else 'NOT met'} (<= 60 s, <= 4,096 MB)")


if __name__ == "__main__":
    main()
