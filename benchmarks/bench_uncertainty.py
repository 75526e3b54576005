"""Uncertainty: standard-error time vs fit time, bootstrap, CLV intervals at 1M customers, coverage.

Tables printed in one run
-------------------------
1. For every model on its published data set (CDNOW summary; donations for BG/BB; the
   "regular" sBG cohort) and for BG/NBD, Pareto/NBD and Gamma-Gamma on the 1M synthetic
   customers of ``bench_models.py``: fit time, time of ``fit.summary()`` (the observed
   information from the analytic gradient) and their ratio (target <= 2), and lifetimes'
   fit time for the same model where it has one (its fit includes its autograd Hessian;
   lifetimes has no bootstrap).
2. ``fit.bootstrap(n=200)`` on the 1M customers, with 1 and 2 worker processes (target
   <= 20 s on 2 cores).
3. Expected purchases in the next 52 weeks and 12-month CLV (1% per month) with 95%
   intervals for the 1M customers, per customer and in total.
4. Coverage of the 95% intervals over data sets simulated from known BG/NBD parameters
   (``bench_coverage.coverage``: parameters and the total of expected purchases; target
   93-97%). ``--coverage-simulations 0`` skips it (run ``bench_coverage.py`` alone).
5. The targets of issue 14, met or not, from the tables above.

Times are the fastest of up to 3 runs for fits and standard errors, one run for the
bootstrap and the intervals. The machine is shared: the load average is printed.

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_uncertainty.py
[--n 1000000] [--replicates 200] [--timeout 60] [--coverage-simulations 200]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_coverage import coverage  # noqa: E402
from bench_models import best_of, cpu_name, lifetimes_fit, simulate  # noqa: E402

from clvkit.datasets import cdnow_summary  # noqa: E402
from clvkit.models import (  # noqa: E402
    BGNBD,
    MBGNBD,
    BetaGeoBetaBinomial,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
)
from clvkit.models.intervals import clv_interval  # noqa: E402

RFT = ["frequency", "recency", "T"]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007)


def _lifetimes_seconds(name: str, data: pd.DataFrame, timeout: float) -> str:
    if name not in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma"):
        return "-"
    out = lifetimes_fit(name, data, timeout)
    return f"> {timeout:g} (timeout)" if out is None else f"{out[0]:.3f}"


def standard_error_rows(cdnow: pd.DataFrame, synth: pd.DataFrame, *,
                        timeout: float) -> list[dict]:
    donations = pd.read_csv("data/donations.csv").rename(columns={"periods": "n_periods"})
    gg_cdnow = cdnow.loc[cdnow["frequency"] > 0, ["frequency", "monetary_value"]]
    gg_synth = synth.loc[synth["frequency"] > 0, ["frequency", "monetary_value"]]
    cases = [
        ("CDNOW", "BG/NBD", lambda: BGNBD().fit(cdnow[RFT]), cdnow[RFT]),
        ("CDNOW", "MBG/NBD", lambda: MBGNBD().fit(cdnow[RFT]), None),
        ("CDNOW", "Pareto/NBD", lambda: ParetoNBD().fit(cdnow[RFT]), cdnow[RFT]),
        ("CDNOW", "Gamma-Gamma", lambda: GammaGamma().fit(gg_cdnow), gg_cdnow),
        ("donations", "BG/BB", lambda: BetaGeoBetaBinomial().fit(
            donations, weights=donations["weights"], time_unit="Y"), None),
        ("sBG regular", "sBG", lambda: ShiftedBetaGeometric().fit(REGULAR, time_unit="Y"),
         None),
        (f"synthetic {len(synth):,}", "BG/NBD", lambda: BGNBD().fit(synth[RFT]), synth[RFT]),
        (f"synthetic {len(synth):,}", "Pareto/NBD", lambda: ParetoNBD().fit(synth[RFT]),
         synth[RFT]),
        (f"synthetic {len(synth):,}", "Gamma-Gamma", lambda: GammaGamma().fit(gg_synth),
         gg_synth),
    ]
    for frame in (cdnow, synth, gg_cdnow, gg_synth):
        frame.attrs["time_unit"] = "W"
    rows = []
    for data, name, fit_fn, lifetimes_data in cases:
        fit_s, fit = best_of(fit_fn)
        se_s, table = best_of(fit.summary)
        rows.append({"data": data, "model": name, "customers": fit.n_customers,
                     "distinct rows": fit._fit_data.weights.size, "fit s": fit_s,
                     "std errors s": se_s, "SE / fit": se_s / fit_s,
                     "lifetimes fit s": "-" if lifetimes_data is None else
                     _lifetimes_seconds(name, lifetimes_data, timeout),
                     "largest rel. SE": float((table["std_error"] / table["estimate"]).max())})
        print(f"  done: standard errors {data} {name}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic customers")
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replicates")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds allowed per lifetimes fit")
    parser.add_argument("--coverage-simulations", type=int, default=200,
                        help="simulated data sets for the coverage table (0: skip it)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    cdnow = cdnow_summary(with_spend=True)
    synth = simulate(args.n)
    se_rows = standard_error_rows(cdnow, synth, timeout=args.timeout)

    tx = BGNBD().fit(synth[RFT])
    gg_data = synth.loc[synth["frequency"] > 0, ["frequency", "monetary_value"]]
    spend = GammaGamma().fit(gg_data)
    boot_rows, boots = [], {}
    for name, fit, seed in (("BG/NBD", tx, 1), ("Gamma-Gamma", spend, 2)):
        for jobs in (1, 2):
            start = time.perf_counter()
            boot = fit.bootstrap(n=args.replicates, seed=seed, n_jobs=jobs)
            seconds = time.perf_counter() - start
            boots[name] = boot
            boot_rows.append({"model": name, "customers": fit.n_customers,
                              "distinct rows": fit._fit_data.weights.size,
                              "replicates": boot.n, "workers": jobs, "seconds": seconds,
                              "converged": int(boot.converged.sum())})
            print(f"  done: bootstrap {name}, {jobs} worker(s)", flush=True)

    pred_rows = []
    start = time.perf_counter()
    purchases = boots["BG/NBD"].conditional_expected_purchases(synth, t=52)
    pred_rows.append({"prediction": "expected purchases, next 52 weeks",
                      "seconds": time.perf_counter() - start, **purchases.total.to_dict()})
    start = time.perf_counter()
    clv = clv_interval(boots["BG/NBD"], boots["Gamma-Gamma"], synth, horizon=12,
                       horizon_unit="M", discount_rate=0.01, discount_period="M")
    pred_rows.append({"prediction": "CLV, 12 months, 1%/month",
                      "seconds": time.perf_counter() - start, **clv.total.to_dict()})
    c = clv.customers
    rel = ((c["upper"] - c["lower"]) / c["clv"]).replace([np.inf, -np.inf], np.nan)
    if args.coverage_simulations > 0:
        cover_text, cover = coverage(simulations=args.coverage_simulations)
        print("  done: coverage", flush=True)

    print()
    print(f"Machine: {cpu_name()}, {os.cpu_count()} CPUs (shared), Python "
          f"{platform.python_version()}, numpy {np.__version__}; OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; load average at the end "
          f"{os.getloadavg()[0]:.1f}")
    print("\nStandard errors (observed information) vs fit:")
    print(pd.DataFrame(se_rows).to_string(index=False, float_format="{:.3f}".format))
    print(f"\nBootstrap ({args.replicates} replicates, multinomial reweighting, warm-started):")
    print(pd.DataFrame(boot_rows).to_string(index=False, float_format="{:.2f}".format))
    print(f"\nPredictions with 95% intervals for {len(synth):,} customers "
          f"({args.replicates} replicates; totals: interval of the sum):")
    print(pd.DataFrame(pred_rows).to_string(index=False, float_format="{:,.2f}".format))
    print(f"Per-customer CLV interval width / CLV: median {rel.median():.3f}, "
          f"90th percentile {rel.quantile(0.9):.3f}")
    print("\nCoverage of the 95% intervals (bench_coverage.py):")
    if args.coverage_simulations > 0:
        print(cover_text)
        print(cover.to_string(index=False, formatters={"coverage": "{:.1%}".format}))
    else:
        print("skipped (--coverage-simulations 0): run benchmarks/bench_coverage.py")
    se = pd.DataFrame(se_rows)
    boot2 = pd.DataFrame(boot_rows).query("workers == 2")
    targets = [
        ("std errors <= 2x fit time (every row)", f"max {se['SE / fit'].max():.2f}x "
         f"({se.loc[se['SE / fit'].idxmax(), 'data']} {se.loc[se['SE / fit'].idxmax(), 'model']})",
         bool((se["SE / fit"] <= 2).all())),
        *[(f"bootstrap {r.model} {r.replicates} replicates, {r.customers:,} customers, "
           "2 workers <= 20 s", f"{r.seconds:.1f} s", bool(r.seconds <= 20))
          for r in boot2.itertuples()],
        (f"CLV with intervals, {len(synth):,} customers", f"{pred_rows[1]['seconds']:.1f} s",
         None),
    ]
    if args.coverage_simulations > 0:
        targets += [(f"coverage {q.quantity}, {q.method}: 93-97%", f"{q.coverage:.1%}",
                     bool(0.93 <= q.coverage <= 0.97)) for q in cover.itertuples()]
    print("\nTargets (issue 14):")
    print(pd.DataFrame([{"target": t, "measured": m,
                         "met": "-" if ok is None else ("yes" if ok else "NO")}
                        for t, m, ok in targets]).to_string(index=False))


if __name__ == "__main__":
    main()
