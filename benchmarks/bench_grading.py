"""Time per submission of ``clvkit course grade`` on the course notebooks.

Builds fake students (``tests/course_submissions/build.py``: by default ``correct``,
``blank`` and ``wrong``) for every course notebook, grades them with ``--jobs`` notebooks
at a time, checks the points (correct = all automatic points, blank and wrong = 0), and
prints the wall time per submission (the wall time divided by the notebook runs, the control
runs of the solutions included), then extrapolates a class of 30 students x every course
notebook plus one control run per notebook.

    .venv/bin/python benchmarks/bench_grading.py [--cases correct blank wrong] [--jobs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

from _common import machine, print_table

from clvkit.course import grade

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "course_submissions_build", ROOT / "tests" / "course_submissions" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["correct", "blank", "wrong"])
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    notebooks = [p.stem for p in sorted(SOURCE.glob("[0-9]*.ipynb"))]
    print(f"grading {len(args.cases)} fake students x {len(notebooks)} notebooks, "
          f"jobs={args.jobs}; {machine()}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        subs = _builder().build(Path(tmp) / "subs", cases=args.cases, notebooks=notebooks,
                                source=SOURCE)
        start = time.perf_counter()
        table = grade(subs, out=Path(tmp) / "out", source=SOURCE, timeout=args.timeout,
                      jobs=args.jobs)
        wall = time.perf_counter() - start
    auto = table[~table["exercise"].str.endswith("-written")]  # the autograded checks
    by_student = auto.groupby("student")[["points", "max_points"]].sum()
    problems = [s for s in args.cases if s in by_student.index and (
        (s == "correct") != (by_student.loc[s, "points"] == by_student.loc[s, "max_points"])
        or (s != "correct" and by_student.loc[s, "points"] != 0))]
    submissions = len(args.cases) * len(notebooks)
    runs = submissions + len(notebooks)  # grade() first runs the solutions as a control
    per_run = wall / runs                # wall time per notebook run at `jobs` in parallel
    rows = [{"submissions": submissions, "control runs": len(notebooks), "jobs": args.jobs,
             "wall (s)": round(wall, 1), "per submission (s)": round(per_run, 2),
             f"30 students x {len(notebooks)} notebooks (min)":
                 round((30 + 1) * len(notebooks) * per_run / 60, 1)}]
    print_table(rows, title="clvkit course grade: wall time (kernel start, full notebook run, "
                "hidden tests, feedback)")
    print("\npoints per fake student (automatic only):")
    print(by_student.to_string())
    if problems:
        print(f"UNEXPECTED POINTS for {problems}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
