"""Time per submission of ``clvkit course grade`` on the course notebooks.

Builds fake students (``tests/course_submissions/build.py``: by default ``correct``,
``blank`` and ``wrong``) for every course notebook, grades them with ``--jobs`` notebooks
at a time (each in its own sandbox), checks the points (correct = all automatic points, blank
and wrong = 0), and prints the wall time and the CPU time (user + system of every child
process) per notebook run (the reference and control runs of the solutions included), then
extrapolates a class of 30 students x every course notebook plus the two runs per notebook:
from the wall time measured here, and from the CPU time on an otherwise idle machine with
``--jobs`` cores (CPU time / cores: what the wall time is when nobody else uses the machine).
A second table gives the wall time of each notebook's runs (submission and control runs in
their sandbox, and the reference run of the solution), to see which notebooks cost the most.

    .venv/bin/python benchmarks/bench_grading.py [--cases correct blank wrong] [--jobs 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from _common import machine, print_table

from clvkit import grading
from clvkit.course import grade

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "course_submissions_build", ROOT / "tests" / "course_submissions" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def _timed_runs():
    """Record the wall time of every reference and sandbox run (notebook, kind, seconds)."""
    runs, lock = [], threading.Lock()
    originals = {"build_reference": grading.build_reference,
                 "run_submission": grading.run_submission}

    def timer(kind, function, name_of):
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with lock:
                    runs.append((name_of(args, kwargs), kind, time.perf_counter() - start))
        return wrapped

    grading.build_reference = timer("reference", originals["build_reference"],
                                    lambda args, kwargs: Path(args[0]).stem)
    grading.run_submission = timer("sandbox", originals["run_submission"],
                                   lambda args, kwargs: kwargs["name"])
    try:
        yield runs
    finally:
        for name, function in originals.items():
            setattr(grading, name, function)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["correct", "blank", "wrong"])
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at once")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument("--sandbox", choices=["bwrap", "user", "rlimits"],
                        help="sandbox mode (default: the safest available). The CPU time of the "
                        "runs inside bubblewrap's PID namespace is not reported to this process: "
                        "use rlimits (the fake students are trusted) to measure it")
    args = parser.parse_args(argv)
    notebooks = [p.stem for p in sorted(SOURCE.glob("[0-9]*.ipynb"))]
    print(f"grading {len(args.cases)} fake students x {len(notebooks)} notebooks, "
          f"jobs={args.jobs}, sandbox {args.sandbox or 'default'}; {machine()}; load average "
          f"{os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        subs = _builder().build(Path(tmp) / "subs", cases=args.cases, notebooks=notebooks,
                                source=SOURCE)
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with _timed_runs() as timed:
            table = grade(subs, out=Path(tmp) / "out", source=SOURCE, timeout=args.timeout,
                          jobs=args.jobs, sandbox=args.sandbox)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    auto = table[~table["exercise"].str.endswith("-written")]  # the autograded checks
    by_student = auto.groupby("student")[["points", "max_points"]].sum()
    problems = [s for s in args.cases if s in by_student.index and (
        (s == "correct") != (by_student.loc[s, "points"] == by_student.loc[s, "max_points"])
        or (s != "correct" and by_student.loc[s, "points"] != 0))]
    submissions = len(args.cases) * len(notebooks)
    runs = submissions + 2 * len(notebooks)  # + the reference and control run per notebook
    per_run = wall / runs                    # wall time per notebook run at `jobs` in parallel
    cpu_per_run = cpu / runs
    class_runs = (30 + 2) * len(notebooks)
    rows = [{"submissions": submissions, "solution runs": 2 * len(notebooks), "jobs": args.jobs,
             "wall (s)": round(wall, 1), "wall per run (s)": round(per_run, 2),
             "CPU per run (s)": round(cpu_per_run, 2),
             f"30 x {len(notebooks)}, this wall (min)": round(class_runs * per_run / 60, 1),
             f"30 x {len(notebooks)}, idle {args.jobs} cores (min)":
                 round(class_runs * cpu_per_run / args.jobs / 60, 1)}]
    print_table(rows, title="clvkit course grade: time per notebook run (sandbox start, full "
                "notebook run, checked calls, comparison, feedback)")
    times = pd.DataFrame(timed, columns=["notebook", "kind", "seconds"])
    per_nb = times.pivot_table(index="notebook", columns="kind", values="seconds",
                               aggfunc=["mean", "count"])
    per_nb.columns = [f"{kind} {'mean wall (s)' if stat == 'mean' else 'runs'}"
                      for stat, kind in per_nb.columns]
    print_table(per_nb.round(2).reset_index().to_dict("records"),
                title=f"wall time per run and notebook ({args.jobs} runs at a time)")
    print("\npoints per fake student (automatic only):")
    print(by_student.to_string())
    if problems:
        print(f"UNEXPECTED POINTS for {problems}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
