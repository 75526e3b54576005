"""Benchmark: the whole report pack at warehouse scale, per engine (issue 19 targets).

Run: ``.venv/bin/python benchmarks/bench_report_scale.py`` (every row; ``--only`` picks
rows by name, ``--sizes`` picks data sets). Prints a Markdown table: data, engine, whole
pack time, peak memory, target, verdict.

Data: the shipped Online Retail file and seeded scale sets written by
:func:`clvkit.synthetic.write_transactions_at_scale` (BG/NBD buyers with Gamma-distributed
rates, Gamma-Gamma order values split over lines, five channels, 6% of lines returned,
24 months from 2023-01-01). They are cached under ``benchmarks/_out/scale_data/``
(git-ignored) and reused while the generator arguments and ``clvkit/synthetic.py`` are
unchanged.

Each pack is ``python -m clvkit report --config default --data FILE ...`` in its own
process group; its peak memory is the peak of the summed proportional set size (PSS:
shared pages split between the processes sharing them) of the whole process tree (the
report process, its section kernels, a Spark JVM), sampled every 0.2 s with psutil; the
CPU time is the tree's (``wait4`` rusage of the child, descendants included), and so is
"largest process MB" (the peak RSS of the largest single process of the tree). A row
whose engine the installed ``clvkit report`` does not offer (``--engine``) is printed as
"not available", never timed.
The 1-minute load average at the start of each run is printed: the machine is shared,
wall times grow with it.

Row ``clv_stream_5m``: P(alive), expected purchases and 12-month CLV
with delta-method intervals of 5M customers (``score_customers``), streamed to Parquet in
chunks of 500k (``CustomerScores.write_parquet``), after fitting BG/NBD on the distinct
(frequency, recency, T) rows (weights) and Gamma-Gamma on the repeat buyers of a seeded
5M-customer summary (BG/NBD truth of ``clvkit.synthetic`` with 3x the purchase rate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / "_out" / "scale_data"
SEED = 19
#: ``--memory-limit`` of the DuckDB packs (DuckDB spills beyond it)
DUCKDB_MEMORY_LIMIT = "1GB"

#: data set -> generator arguments (None: a shipped file)
DATASETS = {
    "online_retail": None,
    "1.3m": {"n_customers": 150_000, "frequency": 2.2},
    "10m": {"n_customers": 1_000_000, "frequency": 3.0},
    "100m": {"n_customers": 5_000_000, "frequency": 12.5},
}


@dataclass(frozen=True)
class Row:
    name: str
    data: str
    engine: str
    target_s: float | None
    target_mb: float | None


ROWS = (
    Row("online_retail/pandas", "online_retail", "pandas", 30, 600),
    Row("1.3m/pandas", "1.3m", "pandas", 60, 1024),
    Row("10m/duckdb", "10m", "duckdb", 180, 2048),
    Row("10m/pandas", "10m", "pandas", None, None),
    Row("100m/duckdb", "100m", "duckdb", 1200, 4096),
    Row("100m/pandas", "100m", "pandas", None, None),
    Row("10m/spark", "10m", "spark", 600, None),
    Row("clv_stream_5m", "5m customers", "pandas", None, None),
)


def dataset(name: str, *, say=print) -> Path:
    """The file of data set ``name`` (generated once into the cache)."""
    if DATASETS[name] is None:
        return ROOT / "data" / "online_retail.parquet"
    import hashlib

    import clvkit.synthetic

    source = Path(clvkit.synthetic.__file__).read_bytes()     # the generator's code
    kw = {**DATASETS[name], "seed": SEED,
          "generator_sha256": hashlib.sha256(source).hexdigest()[:16]}
    path = CACHE / f"tx_{name}.parquet"
    stamp = path.with_suffix(".json")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text())["args"] == kw:
        return path
    from clvkit.synthetic import write_transactions_at_scale

    CACHE.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    info = write_transactions_at_scale(path, workers=2, **{k: v for k, v in kw.items()
                                                            if k != "generator_sha256"})
    seconds = time.perf_counter() - start
    stamp.write_text(json.dumps({"args": kw, "info": info, "seconds": seconds}))
    say(f"generated {name}: {info['rows']:,} rows, {info['customers']:,} customers "
        f"in {seconds:.0f} s")
    return path


def clv_stream_child(n_customers: int, out: str, chunk_size: int) -> None:
    """In this process: a seeded 5M-customer summary, BG/NBD and Gamma-Gamma fitted on it
    (BG/NBD on the distinct rows with weights), every customer scored and streamed."""
    import numpy as np
    import pandas as pd

    from clvkit.models import BGNBD, GammaGamma, score_customers
    from clvkit.synthetic import BGNBD_TRUTH, GAMMA_GAMMA_TRUTH

    rng = np.random.default_rng(SEED)
    g, gg = BGNBD_TRUTH, GAMMA_GAMMA_TRUTH
    t_end = 104.0                                    # weeks observed, 24 months
    age = np.floor(rng.random(n_customers) * t_end * 7) / 7   # whole days, in weeks
    lam = rng.gamma(g["r"], 3.0 / g["alpha"], n_customers)
    n_events = rng.poisson(lam * age)
    x = np.minimum(rng.geometric(rng.beta(g["a"], g["b"], n_customers)), n_events)
    tx = np.where(x > 0, age * rng.beta(np.maximum(x, 1), n_events - x + 1), 0.0)
    tx = np.floor(tx * 7) / 7
    nu = rng.gamma(gg["q"], 1.0 / gg["v"], n_customers)
    m = np.where(x > 0, rng.gamma(np.maximum(x, 1) * gg["p"], 1.0 / (nu * np.maximum(x, 1))),
                 0.0)
    width = len(str(n_customers))
    ids = pd.Index(np.char.add("C", np.char.zfill(np.arange(1, n_customers + 1).astype(str),
                                                  width)), name="customer_id")
    summary = pd.DataFrame({"frequency": x, "recency": tx, "T": age, "monetary_value": m},
                           index=ids)
    summary.attrs["time_unit"] = "W"
    start = time.perf_counter()
    rows = summary[["frequency", "recency", "T"]].value_counts().reset_index()
    fit = BGNBD().fit(rows, weights=rows.pop("count").to_numpy(float), time_unit="W")
    spend = GammaGamma().fit(summary[summary["frequency"] > 0])
    fitted = time.perf_counter()
    scores = score_customers(fit, summary, spend_fit=spend, margin=0.3, discount_rate=0.008)
    scored = time.perf_counter()
    written = scores.write_parquet(out, chunk_size=chunk_size, force=True)
    done = time.perf_counter()
    print(json.dumps({"customers": written, "distinct_histories": len(rows),
                      "fit_s": fitted - start, "score_s": scored - fitted,
                      "write_s": done - scored, "mb": Path(out).stat().st_size / 2**20}))


def engines_available() -> set[str]:
    """Engines the installed ``clvkit report`` offers (``--engine`` choices)."""
    out = subprocess.run([sys.executable, "-m", "clvkit", "report", "--help"],
                         capture_output=True, text=True, cwd=ROOT, check=False).stdout
    if "--engine" not in out:
        return {"pandas"}
    return {"pandas"} | {e for e in ("duckdb", "spark") if e in out.split("--engine", 1)[1]}


def _tree_memory(root) -> float:
    """Summed proportional set size (PSS, else RSS) of ``root`` and its descendants, MB.

    PSS shares each shared page among the processes mapping it, so the kernels' common
    libraries are not counted once per kernel as a sum of RSS would.
    """
    import psutil

    total = 0
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for p in tree:
        try:
            info = p.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total / 2**20


def measure(cmd: list[str], *, timeout: float) -> dict:
    """Run ``cmd``; wall seconds, CPU seconds of the tree, peak tree PSS (MB), exit code.

    CPU time is the child's ``wait4`` rusage (user + system), which includes every
    descendant it waited for (section kernels, a JVM).
    """
    import psutil

    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        root = psutil.Process(proc.pid)
        peak, status, usage = 0.0, None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.perf_counter() - start > timeout:
                os.killpg(proc.pid, 9)
                os.wait4(proc.pid, 0)
                return {"status": f"timeout {timeout:.0f} s", "load": load}
            peak = max(peak, _tree_memory(root))
            time.sleep(0.2)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    return {"status": "ok" if proc.returncode == 0 else f"exit {proc.returncode}",
            "seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak,
            "max_process_mb": usage.ru_maxrss / 1024, "load": load, "output": output}


def pack_command(row: Row, path: Path, out: Path, *, engines: set[str]) -> list[str]:
    """The ``clvkit report`` command of ``row`` (``--engine`` named whenever it exists)."""
    cmd = [sys.executable, "-m", "clvkit", "report", "--out", str(out), "--force"]
    if row.data != "online_retail":
        cmd += ["--config", "default", "--data", str(path), "--currency", "USD"]
    if engines != {"pandas"}:
        cmd += ["--engine", row.engine]
    if row.engine == "duckdb":
        cmd += ["--memory-limit", DUCKDB_MEMORY_LIMIT]
    return cmd


def verdict(row: Row, result: dict) -> str:
    if result["status"] != "ok":
        return result["status"]
    missed = []
    if row.target_s is not None and result["seconds"] > row.target_s:
        missed.append("time")
    if row.target_mb is not None and result["peak_mb"] > row.target_mb:
        missed.append("memory")
    if row.target_s is None and row.target_mb is None:
        return "comparison"
    return "met" if not missed else "NOT met (" + ", ".join(missed) + ")"


def target_text(row: Row) -> str:
    parts = [f"<= {row.target_s:.0f} s" if row.target_s else "",
             f"<= {row.target_mb:.0f} MB" if row.target_mb else ""]
    return " / ".join(p for p in parts if p) or "-"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None,
                        help=f"rows to run (default all): {[r.name for r in ROWS]}")
    parser.add_argument("--sizes", nargs="*", default=None,
                        help=f"data sets to run (default all): {list(DATASETS)}")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds after which a pack is stopped (default 1800)")
    parser.add_argument("--keep", action="store_true", help="keep the packs (printed paths)")
    parser.add_argument("--pandas-100m", action="store_true",
                        help="also try the pandas engine on 100M rows")
    parser.add_argument("--clv-stream-child", nargs=3, metavar=("N", "OUT", "CHUNK"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.clv_stream_child:
        n, out, chunk = args.clv_stream_child
        clv_stream_child(int(n), out, int(chunk))
        return 0
    rows = [r for r in ROWS if (args.only is None or r.name in args.only)
            and (args.sizes is None or r.data in args.sizes)]
    available = engines_available()
    print(f"{machine()}; engines offered by `clvkit report`: {sorted(available)}")
    table = []
    work = Path(tempfile.mkdtemp(prefix="bench_report_scale_"))
    for row in rows:
        base = {"data": row.data, "engine": row.engine, "target": target_text(row)}
        if row.engine == "pandas" and row.data == "100m" and not args.pandas_100m:
            table.append({**base, "pack s": "not run", "CPU s": "", "peak MB": "", "load": "",
                          "verdict": "not run: pandas holds every row in memory "
                          "(--pandas-100m to try)"})
            continue
        if row.engine not in available:
            table.append({**base, "pack s": "not available", "CPU s": "", "peak MB": "",
                          "load": "", "verdict": "not available (no --engine "
                          f"{row.engine} in clvkit report)"})
            print(f"{row.name}: not available", flush=True)
            continue
        out = work / row.name.replace("/", "_")
        if row.name == "clv_stream_5m":
            cmd = [sys.executable, str(Path(__file__).resolve()), "--clv-stream-child",
                   "5000000", str(out.with_suffix(".parquet")), "500000"]
        else:
            cmd = pack_command(row, dataset(row.data), out, engines=available)
        res = measure(cmd, timeout=args.timeout)
        if row.name == "clv_stream_5m" and res["status"] == "ok":
            print(f"clv_stream_5m: {res['output'].strip().splitlines()[-1]}")
        elif "output" in res:       # the report's own lines: load, sections, total
            print("\n".join(line for line in res["output"].splitlines()
                            if line.startswith(("  [", "clvkit report: done"))))
        if res["status"] != "ok" and "output" in res:
            print(res["output"][-2000:])
        table.append({**base, "pack s": f"{res['seconds']:.1f}" if "seconds" in res else "-",
                      "CPU s": f"{res['cpu']:.0f}" if "cpu" in res else "-",
                      "peak MB": f"{res['peak_mb']:.0f}" if "peak_mb" in res else "-",
                      "largest process MB": (f"{res['max_process_mb']:.0f}"
                                             if "max_process_mb" in res else "-"),
                      "load": f"{res['load']:.1f}", "verdict": verdict(row, res)})
        print(f"{row.name}: {table[-1]}", flush=True)
    _print(table)
    if args.keep:
        print(f"packs kept in {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print(table: list[dict]) -> None:
    import pandas as pd

    frame = pd.DataFrame(table)
    print("\n### Report pack at scale (issue 19)\n")
    try:
        print(frame.to_markdown(index=False))
    except ImportError:
        print(frame.to_string(index=False))


if __name__ == "__main__":
    raise SystemExit(main())
