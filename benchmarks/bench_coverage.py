"""Calibration of the 95% intervals: coverage over data sets simulated from known BG/NBD parameters.

Each simulation draws ``--customers`` customers from a BG/NBD with known parameters
(CDNOW-like, weeks; ages uniform on 26-39 weeks, purchase times continuous), fits the
model and builds, for each parameter and for the total expected purchases of those
customers in the next 52 weeks given their histories:

* the observed-information interval (``fit.summary()``: log-scale Wald interval; for the
  total ``clvkit.models.intervals.delta_interval``, the delta method),
* the bootstrap percentile interval (``fit.bootstrap(n=--replicates)``).

The truth for the total is sum_i E[Y(52) | x_i, t_x,i, T_i] at the *true* parameters: the
quantity the intervals are about (parameter uncertainty, not purchase noise). Coverage is
the share of simulations whose interval contains the truth; the target is 93-97%. Its Monte
Carlo standard error, sqrt(0.95 x 0.05 / simulations), is printed with it.

Run: ``OPENBLAS_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python benchmarks/bench_coverage.py
[--simulations 200] [--customers 2000] [--replicates 100] [--workers 2]`` (about 1 s of
CPU per simulation: the default run takes ~2 minutes on 2 idle cores, ~10 at load 8).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
import warnings

import numpy as np
import pandas as pd

from clvkit.models import BGNBD, BGNBDFit
from clvkit.models.intervals import delta_interval

TRUE = {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}
HORIZON = 52.0


def simulate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """BG/NBD customers (Fader, Hardie & Lee 2005, section 2), continuous purchase times."""
    r, alpha, a, b = TRUE.values()
    T = rng.uniform(26, 39, n)  # noqa: N806
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    n_events = rng.poisson(lam * T)  # purchases of a customer who never drops out
    x = np.minimum(n_events, rng.geometric(p))  # drops out right after repeat purchase J
    # the last purchase is the x-th of n_events uniform times on (0, T]
    u = np.zeros(n)
    has = x > 0
    u[has] = rng.beta(x[has], n_events[has] - x[has] + 1)
    out = pd.DataFrame({"frequency": x.astype(float), "recency": u * T, "T": T})
    out.attrs["time_unit"] = "W"
    return out


def _total(params: np.ndarray, data: pd.DataFrame) -> float:
    fit = BGNBDFit.from_params(time_unit="W", **dict(zip(TRUE, params, strict=True)))
    return float(fit.conditional_expected_purchases(data, t=HORIZON).sum())


def one(args: tuple[int, int, int]) -> dict:
    seed, customers, replicates = args
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    data = simulate(customers, np.random.default_rng(seed))
    truth = np.array(list(TRUE.values()))
    true_total = _total(truth, data)
    fit = BGNBD().fit(data, strict=False)
    if not fit.success:
        return {"seed": seed, "failed": True}
    out: dict = {"seed": seed, "failed": False}
    s = fit.summary()
    for k, name in enumerate(TRUE):
        out[f"hess {name}"] = s["lower"].iloc[k] <= truth[k] <= s["upper"].iloc[k]
    tot = delta_interval(fit, "conditional_expected_purchases", data, t=HORIZON).total
    out["hess total"] = tot["lower"] <= true_total <= tot["upper"]
    boot = fit.bootstrap(n=replicates, seed=seed)
    bs = boot.summary()
    for k, name in enumerate(TRUE):
        out[f"boot {name}"] = bs["lower"].iloc[k] <= truth[k] <= bs["upper"].iloc[k]
    tot = boot.conditional_expected_purchases(data, t=HORIZON).total
    out["boot total"] = tot["lower"] <= true_total <= tot["upper"]
    return out


def coverage(*, simulations: int = 200, customers: int = 2000, replicates: int = 100,
             workers: int = 2) -> tuple[str, pd.DataFrame]:
    """(description, table of coverage per quantity and method) of ``simulations`` runs."""
    start = time.perf_counter()
    jobs = [(seed, customers, replicates) for seed in range(simulations)]
    with mp.get_context("fork").Pool(workers) as pool:
        rows = pool.map(one, jobs, chunksize=4)
    table = pd.DataFrame(rows)
    ok = table[~table["failed"]]
    mc_se = np.sqrt(0.95 * 0.05 / len(ok))
    cols = [c for c in ok.columns if c.startswith(("hess", "boot"))]
    cover = pd.DataFrame({
        "quantity": [c.split(" ", 1)[1] for c in cols],
        "method": ["observed information" if c.startswith("hess") else
                   f"bootstrap ({replicates} replicates)" for c in cols],
        "coverage": [ok[c].astype(bool).mean() for c in cols],
    })
    text = (f"{len(ok)} simulations of {customers:,} BG/NBD customers "
            f"(true r={TRUE['r']}, alpha={TRUE['alpha']}, a={TRUE['a']}, b={TRUE['b']}; "
            f"{int(table['failed'].sum())} fits failed and are left out); "
            f"total = expected purchases in the next {HORIZON:g} weeks.\n"
            f"Target 93-97%; Monte Carlo standard error of a coverage {mc_se:.3f}. "
            f"{time.perf_counter() - start:.0f} s on {workers} workers, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}.")
    return text, cover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=200)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    text, cover = coverage(simulations=args.simulations, customers=args.customers,
                           replicates=args.replicates, workers=args.workers)
    print(text)
    print(cover.to_string(index=False, formatters={"coverage": "{:.1%}".format}))


if __name__ == "__main__":
    main()
