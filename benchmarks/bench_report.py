"""Wall time of the full monthly report pack on the shipped Online Retail data.

Builds the default report (the shipped ``online_retail`` config, November 2011,
every configured section executed by papermill, HTML, index, manifest) into a
temporary folder and prints the total and per-section times. Target: <= 60 s on
2 cores.

    .venv/bin/python benchmarks/bench_report.py [--config FILE] [--jobs N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from clvkit.report import build_report, load_config

TARGET_SECONDS = 60.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="report config (default: Online Retail)")
    parser.add_argument("--jobs", type=int, default=None, help="sections run in parallel")
    parser.add_argument("--repeat", type=int, default=1, help="number of timed builds")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    jobs = args.jobs or cfg.jobs
    print(f"report pack: {cfg.name}, month {cfg.month}, {len(cfg.sections)} sections, "
          f"jobs={jobs}, cpus={os.cpu_count()}")
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            start = time.perf_counter()
            result = build_report(config=args.config, out=Path(tmp) / f"run{k}", jobs=jobs,
                                  progress=None)
            totals.append(time.perf_counter() - start)
            if not result.ok:
                print(f"FAILED sections: {result.failed}")
                return 1
    print()
    print(f"{'section':<20} {'seconds':>8}")
    print(f"{'-' * 20} {'-' * 8}")
    for section in result.sections:
        print(f"{section.name:<20} {section.seconds:>8.1f}")
    print(f"{'-' * 20} {'-' * 8}")
    best = min(totals)
    print(f"{'total wall time':<20} {best:>8.1f}   (target <= {TARGET_SECONDS:.0f} s; "
          f"{'met' if best <= TARGET_SECONDS else 'NOT met'})")
    if len(totals) > 1:
        print(f"all runs: {', '.join(f'{t:.1f}' for t in totals)} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
