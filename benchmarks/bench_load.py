"""Benchmark: load_transactions on Online Retail (541,909 rows), before/after the new loader.

Run: ``.venv/bin/python benchmarks/bench_load.py [--compare PATH] [--repeat N]``.

Times :func:`clvkit.load_transactions` with ``preset="online_retail"`` on
``data/online_retail.parquet`` and on the same table written to CSV (a temporary file,
removed afterwards), for the clvkit found on ``sys.path``. With ``--compare PATH`` the
same timings run for the clvkit checkout at PATH (e.g. the first edition in
``/work/wt/baseline``) and one table shows both medians, their ratio and PASS/FAIL
against the goal (``--goal``, default 1.10, issue 23): loading no more than 10% slower
than the baseline (issue 11 allowed 20%).

Each side runs in fresh subprocesses (``PYTHONPATH`` set to its checkout) so both start
from the same state; each case is run once to warm up, then ``--repeat`` times. The two
sides alternate for ``--rounds`` rounds and the medians pool every run, so that load from
other users of a shared machine falls on both sides alike (with one round, the same code
on both sides measured 0.96 and 1.22 on this 2-core machine). Because wall time on a
shared machine swings by more than the 20% being tested (the same code measured 1.30 in
wall time), the verdict uses CPU time of the process (``time.process_time``, all threads),
which other users' load moves less; wall-clock medians and the ratio of the fastest runs
are shown beside it. Even CPU time of the same code differed by 16% once on the busy
machine: run it when the machine is quiet, or with more ``--rounds``, before trusting a
verdict near the limit.
Only options both loaders accept are passed (the first edition lacks the new keywords).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import print_table  # noqa: E402

GOAL = 1.10  # issue 23: no more than 10% slower than the base commit (issue 11: 20%)
ROWS = 541_909
OPTIONS = {"preset": "online_retail"}  # accepted by the first and the second edition
CASES = ("parquet", "csv")


def data_file() -> Path:
    """The Online Retail Parquet file: this checkout's data/, else the main checkout's."""
    here = Path(__file__).resolve().parents[1] / "data" / "online_retail.parquet"
    return here if here.exists() else Path("/work/main/data/online_retail.parquet")


def worker(parquet: str, csv: str, repeat: int) -> None:
    """Time every case with the clvkit on sys.path; print one JSON line."""
    import clvkit
    from clvkit import load_transactions

    out = {"clvkit": clvkit.__file__, "times": {}, "kept": {}}
    for case, path in zip(CASES, (parquet, csv), strict=True):
        res = load_transactions(path, **OPTIONS)  # warm-up (imports, page cache)
        if res.rows_read != ROWS:
            raise SystemExit(f"{path}: read {res.rows_read:,} rows, expected {ROWS:,}")
        wall, cpu = [], []
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            res = load_transactions(path, **OPTIONS)
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
        out["times"][case] = {"wall": wall, "cpu": cpu}
        out["kept"][case] = len(res.transactions)
    print(json.dumps(out))


def run_side(checkout: Path, parquet: Path, csv: Path, repeat: int) -> dict:
    """Run the worker in a subprocess with PYTHONPATH=checkout."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    cmd = [sys.executable, __file__, "--worker", "--parquet", str(parquet), "--csv", str(csv),
           "--repeat", str(repeat)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"timing with PYTHONPATH={checkout} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = (checkout / "clvkit" / "__init__.py").resolve()
    if Path(result["clvkit"]).resolve() != expected:
        raise SystemExit(f"PYTHONPATH={checkout} imported {result['clvkit']}, not {expected}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="checkout of the baseline clvkit")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two sides")
    parser.add_argument("--goal", type=float, default=GOAL, help="largest accepted ratio "
                        f"new / baseline CPU time (default {GOAL})")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parquet", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.parquet, args.csv, args.repeat)
        return

    import pandas as pd

    import clvkit

    new_checkout = Path(clvkit.__file__).resolve().parents[1]
    parquet = data_file()
    with tempfile.TemporaryDirectory(prefix="clvkit-bench-load-") as tmp:
        csv = Path(tmp) / "online_retail.csv"
        pd.read_parquet(parquet).to_csv(csv, index=False)
        new = {"times": {f"{c} {k}": [] for c in CASES for k in ("wall", "cpu")}}
        base = {"times": {key: [] for key in new["times"]}} if args.compare else None
        for _ in range(args.rounds):
            for side, checkout in ((new, new_checkout), (base, args.compare)):
                if side is None:
                    continue
                result = run_side(checkout, parquet, csv, args.repeat)
                for case, kinds in result["times"].items():
                    for kind, times in kinds.items():
                        side["times"][f"{case} {kind}"] += times
                side["kept"], side["clvkit"] = result["kept"], result["clvkit"]

    rows = []
    for case in CASES:
        new_cpu = statistics.median(new["times"][f"{case} cpu"])
        new_wall = statistics.median(new["times"][f"{case} wall"])
        row = {"case": f"Online Retail {case}, {ROWS:,} rows"}
        if base is not None:
            base_cpu = statistics.median(base["times"][f"{case} cpu"])
            base_wall = statistics.median(base["times"][f"{case} wall"])
            ratio = new_cpu / base_cpu
            row |= {"baseline median CPU s": round(base_cpu, 3),
                    "new median CPU s": round(new_cpu, 3),
                    "ratio": round(ratio, 2),
                    f"goal <= {args.goal:.2f}": "PASS" if ratio <= args.goal else "FAIL",
                    "ratio of fastest CPU": round(min(new["times"][f"{case} cpu"])
                                                  / min(base["times"][f"{case} cpu"]), 2),
                    "wall s baseline / new": f"{base_wall:.3f} / {new_wall:.3f}",
                    "kept baseline / new": f"{base['kept'][case]:,} / {new['kept'][case]:,}"}
        else:
            row |= {"new median CPU s": round(new_cpu, 3), "new median wall s": round(new_wall, 3),
                    "kept new": f"{new['kept'][case]:,}"}
        rows.append(row)
    title = (f"load_transactions (preset='online_retail'), median of {args.rounds} rounds "
             f"x {args.repeat} runs (sides alternating); verdict on CPU time")
    print_table(rows, title=title)
    print(f"\nnew: {new['clvkit']}")
    if base is not None:
        print(f"baseline: {base['clvkit']}")


if __name__ == "__main__":
    main()
