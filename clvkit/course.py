"""The course as an nbgrader assignment: release the student edition, grade submissions.

The source notebooks (``notebooks/0*.ipynb``) are nbgrader *source* notebooks,
committed with solutions and outputs:

* an **answer cell** (``solution: true``) holds the reference code between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* a **test cell** (``grade: true``, locked, with ``points``) holds visible
  ``assert`` checks whose messages are hints, then hidden checks between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that rerun the
  student's function on other data or parameters;
* a **written answer** (a Markdown cell, ``solution`` and ``grade``) is graded
  by the instructor with the rubric of ``notebooks/INSTRUCTORS.md``.

An instructor who runs nbgrader can drop the notebooks into a course's
``source/`` folder as they are. Without nbgrader's course folder and database,
this module applies the same steps with nbgrader's own preprocessors:

* :func:`release_notebook` / :func:`release`: the pipeline of
  ``nbgrader generate_assignment`` (lock cells, replace solutions by
  ``raise NotImplementedError()``, clear outputs, remove hidden tests);
* :func:`grade`: grade by value, outside the student's process (:mod:`clvkit.grading`):
  each submission runs in its own sandbox (:mod:`clvkit.sandbox`), the check file
  ``notebooks/checks/<notebook>.py`` calls the student's functions there on visible and
  hidden inputs, only plain data comes back, and the grader compares it with the solution's
  values in its own process. The test cells left in the notebooks are hints for students;
  they never decide points. ``grades.csv`` is written through :mod:`clvkit.outputs`.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._extras import require
from ._nbnormalize import normalize_notebook, write_notebook
from .errors import ClvError

__all__ = [
    "Check", "find_checks", "release_notebook", "release", "grade",
    "add_course_arguments", "run_course_cli",
]

#: Default folder of the source notebooks (relative to the working directory).
SOURCE_DIR = Path("notebooks")
#: Glob of the course notebooks inside the source folder.
NOTEBOOK_GLOB = "[0-9]*.ipynb"
#: Name of the control "student" whose submission is the solved source notebook.
CONTROL = "(solutions)"
#: Manifest proving a folder was written by this module (and listing what it wrote).
MANIFEST = ".clvkit-course.json"
GRADES_COLUMNS = ["student", "notebook", "exercise", "points", "max_points"]


@dataclass(frozen=True)
class Check:
    """One graded cell of a source notebook.

    Attributes
    ----------
    grade_id : str
        nbgrader ``grade_id`` (the exercise name in ``grades.csv``).
    points : float
        Maximum points.
    kind : str
        ``"auto"`` (a test cell, scored by running it) or ``"manual"`` (a written
        answer scored by the instructor).
    position : int
        Position of the cell in the source notebook.
    """

    grade_id: str
    points: float
    kind: str
    position: int


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _require_nbgrader() -> None:
    """Raise a clear `ClvError` when the ``course`` extra (nbgrader) is not installed."""
    require("nbgrader")


def _read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def find_checks(nb) -> list[Check]:
    """The graded cells of a notebook, in order.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source (or release) notebook.

    Returns
    -------
    list of Check

    Raises
    ------
    ClvError
        If two cells share a ``grade_id`` or a graded cell has no points.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("assert f(1) == 2")
    >>> cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
    ...                             "grade_id": "ex-1", "points": 2, "schema_version": 3}
    >>> find_checks(nbformat.v4.new_notebook(cells=[cell]))
    [Check(grade_id='ex-1', points=2.0, kind='auto', position=0)]
    """
    checks, seen = [], set()
    for position, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if not meta.get("grade"):
            continue
        grade_id = meta.get("grade_id")
        if grade_id in seen:
            raise ClvError(f"two graded cells have grade_id {grade_id!r} (the second at cell "
                           f"{position}); give each cell its own grade_id")
        if "points" not in meta:
            raise ClvError(f"graded cell {grade_id!r} (cell {position}) has no points")
        seen.add(grade_id)
        kind = "manual" if meta.get("solution") else "auto"
        checks.append(Check(grade_id, float(meta["points"]), kind, position))
    return checks


def release_notebook(nb):
    r"""Return the student edition of a source notebook (``nbgrader generate_assignment``).

    Runs nbgrader's preprocessors in the order of ``generate_assignment``:
    LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
    ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata
    (without the database). Cell ids become ``cell-<n>``.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A source notebook (solutions and hidden tests in place).

    Returns
    -------
    nbformat.NotebookNode
        A new notebook: no solutions, no hidden tests, no outputs.

    Examples
    --------
    >>> import nbformat
    >>> answer = nbformat.v4.new_code_cell(
    ...     "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")
    >>> answer.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False,
    ...                               "grade_id": "ex-1-answer", "schema_version": 3}
    >>> test = nbformat.v4.new_code_cell(
    ...     "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 10\n"
    ...     "### END HIDDEN TESTS")
    >>> test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
    ...                             "grade_id": "ex-1", "points": 2, "schema_version": 3}
    >>> student = release_notebook(nbformat.v4.new_notebook(cells=[answer, test]))
    >>> print(student.cells[0].source)
    def f(x):
        # YOUR CODE HERE
        raise NotImplementedError()
    >>> print(student.cells[1].source)
    assert f(1) == 2
    """
    _require_nbgrader()
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    nb = copy.deepcopy(nb)
    resources: dict = {}
    steps = [LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
             ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata]
    for step in steps:
        nb, resources = step().preprocess(nb, resources)
    for cell in nb.cells:  # nbgrader's ClearOutput keeps a cell's execution timing
        cell.metadata.pop("execution", None)
    return normalize_notebook(nb)


def source_notebooks(source=SOURCE_DIR) -> list[Path]:
    """The course notebooks of a source folder (``NN-name.ipynb``), sorted."""
    source = Path(source)
    paths = sorted(source.glob(NOTEBOOK_GLOB))
    if not paths:
        raise ClvError(f"no course notebooks ({NOTEBOOK_GLOB}) in {source}; pass --source "
                       "with the folder of the source notebooks")
    return paths


# --------------------------------------------------------------------------- output folders


def _prepare_output(out: Path, *, kind: str, inputs: list[Path], clear: bool = True) -> None:
    """Make ``out`` ready to receive a new output of ``kind``, or refuse.

    An existing non-empty folder is only reused when its manifest says this module
    wrote it for the same ``kind``; then exactly the files listed in the manifest are
    removed (unless ``clear`` is false: only check). ``out`` may never be, contain, or
    lie inside an input folder.
    """
    out = out.resolve()
    for folder in inputs:
        folder = folder.resolve()
        if out == folder or folder.is_relative_to(out) or out.is_relative_to(folder):
            what = "the release folder" if kind == "release" else "--out"
            raise ClvError(f"{what} {out} overlaps the input folder {folder}; choose an "
                           "output folder outside the inputs")
    if out.exists() and not out.is_dir():
        raise ClvError(f"{out} exists and is not a folder; choose another output folder")
    if not out.exists() or not any(out.iterdir()):
        if clear:
            out.mkdir(parents=True, exist_ok=True)
        return
    manifest = out / MANIFEST
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ClvError(f"{out} is not empty and was not written by `clvkit course {kind}` "
                       f"(no valid {MANIFEST}); nothing was changed. Choose a new or empty "
                       "folder") from None
    if previous.get("kind") != kind:
        raise ClvError(f"{out} holds the output of `clvkit course {previous.get('kind')}`, "
                       f"not `{kind}`; choose another folder")
    if not clear:
        return
    for name in previous.get("files", []):
        target = (out / name).resolve()
        if target.is_relative_to(out) and target.is_file():
            target.unlink()
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    manifest.unlink()


def _write_manifest(out: Path, *, kind: str, files: list[Path]) -> None:
    names = sorted(str(path.resolve().relative_to(out.resolve())) for path in files)
    (out / MANIFEST).write_text(json.dumps({"kind": kind, "files": names}, indent=1) + "\n",
                                encoding="utf-8")


def release(out, *, source=SOURCE_DIR) -> list[Path]:
    """Write the student edition of every course notebook into ``out``.

    Parameters
    ----------
    out : path-like
        Output folder: new, empty, or a previous release (its manifest proves it).
        The notebooks read ``../data``, so a folder beside ``data/`` runs as is.
    source : path-like, default "notebooks"
        Folder of the source notebooks.

    Returns
    -------
    list of Path
        The notebooks written.
    """
    out, paths = Path(out), source_notebooks(source)
    _prepare_output(out, kind="release", inputs=[Path(source)])
    written = []
    for path in paths:
        target = out / path.name
        write_notebook(release_notebook(_read(path)), target)
        written.append(target)
    _write_manifest(out, kind="release", files=written)
    return written


# --------------------------------------------------------------------------- grading


def _find_submissions(submissions: Path, names: set[str]) -> tuple[list, list[str]]:
    if not submissions.is_dir():
        raise ClvError(f"{submissions} is not a folder; expected SUBMISSIONS/<student>/"
                       "<notebook>.ipynb")
    jobs, ignored = [], []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir() and not p.is_symlink()):
        for path in sorted(folder.glob("*.ipynb")):
            if path.stem in names and path.is_file() and not path.is_symlink():
                jobs.append((folder.name, path.stem, path))
            else:
                ignored.append(str(path))
    if not jobs:
        raise ClvError(f"no submissions found in {submissions}: expected "
                       f"<student>/<notebook>.ipynb with a notebook among {sorted(names)}")
    return jobs, ignored


def grade(submissions, *, out, source=SOURCE_DIR, data=None, timeout: int = 60,
          notebook_timeout: int = 600, jobs: int = 2, sandbox: str | None = None,
          memory_mb: int = 4096) -> pd.DataFrame:
    """Grade every ``SUBMISSIONS/<student>/<notebook>.ipynb`` by value, in a sandbox.

    The steps are those of :mod:`clvkit.grading`: references from the solved notebooks and
    their check files (``<source>/checks/<notebook>.py``), the solved notebooks graded in
    the sandbox as a control (grading stops with a `ClvError` before anything is written if
    they do not score full points), then every submission in its own sandbox
    (:mod:`clvkit.sandbox`), compared in this process.

    Parameters
    ----------
    submissions : path-like
        Folder with one sub-folder per student holding their notebooks, named like the
        course notebooks (``01-clv-formula.ipynb``).
    out : path-like
        Output folder: new, empty, or a previous grading output (its manifest proves it).
        Receives ``grades.csv`` (spreadsheet-safe, written atomically) and
        ``feedback/<student>.html``.
    source : path-like, default "notebooks"
        Folder of the source notebooks (with solutions) and their ``checks/``.
    data : path-like, optional
        Data folder the notebooks read as ``../data``; default ``<source>/../data``. Each
        sandbox gets a read-only copy.
    timeout : int, default 60
        CPU seconds allowed per cell and per checked call (or five times as many on the wall
        clock); past it the cell is interrupted (the rest still runs) or the call scores 0.
    notebook_timeout : int, default 600
        Seconds allowed per notebook; past it every process of the sandbox is killed and the
        checks that had not run score 0.
    jobs : int, default 2
        Notebooks run at the same time.
    sandbox : {"bwrap", "user", "rlimits"}, optional
        Sandbox mode (:mod:`clvkit.sandbox`); default the safest available here.
    memory_mb : int, default 4096
        Address-space limit of a submission.

    Returns
    -------
    DataFrame
        The rows of ``grades.csv``: student, notebook, exercise, points (empty for
        written answers to grade by hand), max_points.
    """
    import os

    from . import grading
    from .outputs import write_table
    from .sandbox import Limits

    submissions, out, source = Path(submissions), Path(out), Path(source)
    paths = {p.stem: p for p in source_notebooks(source)}
    data = Path(data) if data is not None else source.resolve().parent / "data"
    found, ignored = _find_submissions(submissions, set(paths))
    _prepare_output(out, kind="grade", inputs=[submissions, source], clear=False)
    for path in ignored:
        print(f"ignored (not a course notebook): {path}", file=sys.stderr)
    names = sorted({name for _, name, _ in found})
    sources = {name: paths[name] for name in names}
    checks = {name: find_checks(_read(paths[name])) for name in names}
    limits = Limits(seconds=notebook_timeout, cpu_seconds=notebook_timeout,
                    memory_mb=memory_mb)
    previous = os.environ.get("CLVKIT_CELL_SECONDS")
    os.environ["CLVKIT_CELL_SECONDS"] = str(timeout)
    try:
        refs, results = grading.grade_submissions(
            found, sources=sources, checks=checks, data=data.resolve() if data.exists() else None,
            control=CONTROL, sandbox=sandbox, limits=limits, jobs=jobs)
    finally:
        if previous is None:
            os.environ.pop("CLVKIT_CELL_SECONDS", None)
        else:
            os.environ["CLVKIT_CELL_SECONDS"] = previous
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir() and not p.is_symlink())
    by_key = {(student, name): path for student, name, path in found}
    rows, notes = [], {}
    for student in students:
        for name in names:
            got, problem = results.get((student, name), (None, "not submitted"))
            path = by_key.get((student, name))
            written = grading.written_answers(path) if path else {}
            more, told = grading.score(student=student, notebook=name, checks=checks[name],
                                       reference=refs[name], results=got, problem=problem,
                                       written=written)
            rows += more
            notes.setdefault(student, {})[name] = told
    table = pd.DataFrame(rows)
    _prepare_output(out, kind="grade", inputs=[submissions, source])
    written_files = [write_table(table[GRADES_COLUMNS], out / "grades.csv", force=True,
                                 index=False)]
    (out / "feedback").mkdir(exist_ok=True)
    for student, group in table.groupby("student", sort=True):
        page = out / "feedback" / f"{student}.html"
        page.write_text(grading.feedback_html(student, group, notes[student]), encoding="utf-8")
        written_files.append(page)
    _write_manifest(out, kind="grade", files=written_files)
    result = table[GRADES_COLUMNS].copy()
    result.attrs["autograded"] = table["kind"].eq("auto").tolist()  # rows of test cells
    result.attrs["hints"] = table["hint"].tolist()
    return result


# --------------------------------------------------------------------------- command line


def add_course_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``release`` and ``grade`` sub-commands of ``clvkit course`` to ``parser``."""
    sub = parser.add_subparsers(dest="course_command", metavar="ACTION", required=True)
    rel = sub.add_parser("release", help="write the student edition (no solutions, no hidden "
                         "tests)")
    rel.add_argument("outdir", help="new or empty folder (or a previous release)")
    rel.add_argument("--source", default=str(SOURCE_DIR), help="folder of the source notebooks "
                     "(default: notebooks)")
    gra = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<notebook>.ipynb")
    gra.add_argument("submissions", help="folder of one sub-folder per student")
    gra.add_argument("--out", required=True, help="new or empty folder (or a previous grading "
                     "output) for grades.csv, feedback/ and autograded/")
    gra.add_argument("--source", default=str(SOURCE_DIR), help="folder of the source notebooks "
                     "(default: notebooks)")
    gra.add_argument("--data", help="data folder the notebooks read as ../data "
                     "(default: next to the source folder)")
    gra.add_argument("--timeout", type=int, default=60,
                     help="CPU seconds per cell and per checked call (default 60)")
    gra.add_argument("--notebook-timeout", type=int, default=600,
                     help="seconds per notebook (default 600)")
    gra.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    gra.add_argument("--sandbox", choices=["bwrap", "user", "rlimits"],
                     help="how submissions are isolated (default: the safest available; "
                     "see clvkit.sandbox)")


def run_course_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit course release|grade`` from parsed arguments; returns the exit code."""
    if args.course_command == "release":
        written = release(args.outdir, source=args.source)
        print(f"wrote {len(written)} student notebooks to {args.outdir}")
        return 0
    started = time.perf_counter()
    table = grade(args.submissions, out=args.out, source=args.source, data=args.data,
                  timeout=args.timeout, notebook_timeout=args.notebook_timeout, jobs=args.jobs,
                  sandbox=args.sandbox)
    auto = table[table.attrs["autograded"]]
    manual = int(table["points"].isna().sum())
    print(f"graded {table['student'].nunique()} students x {table['notebook'].nunique()} "
          f"notebooks in {time.perf_counter() - started:.1f} s; {auto['points'].sum():g} of "
          f"{auto['max_points'].sum():g} autograded points; {manual} written answers to grade "
          f"by hand; wrote {Path(args.out) / 'grades.csv'}")
    return 0
