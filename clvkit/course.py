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
* :func:`grade`: check that the solutions score full points here, then for every
  ``SUBMISSIONS/<student>/<notebook>.ipynb``, restore
  the source's test cells (source, metadata and points: an edited check gains
  nothing; a deleted one is put back with its hidden tests), execute in a fresh
  kernel in its own process with a per-cell timeout and a per-notebook limit,
  score each test cell with ``nbgrader.utils.determine_grade`` (no error and no
  stderr = full points), then write ``grades.csv`` and one feedback page per
  student with the hint of each failed check. A submission that changes how the
  kernel runs cells (input/AST transformers, exception handlers, tracers, event
  callbacks, a replaced ``run_cell``) before a check runs scores 0 on the checks,
  with a note for the instructor.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import html
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._extras import require
from ._nbnormalize import normalize_notebook, write_notebook
from .errors import ClvError

__all__ = [
    "Check", "find_checks", "release_notebook", "release", "restore_checks", "grade",
    "add_course_arguments", "run_course_cli",
]

#: Default folder of the source notebooks (relative to the working directory).
SOURCE_DIR = Path("notebooks")
#: Glob of the course notebooks inside the source folder.
NOTEBOOK_GLOB = "[0-9]*.ipynb"
#: Kernel the grader registers (in a temporary JUPYTER_PATH) for the interpreter that grades,
#: so a ``python3`` kernelspec pointing at another Python cannot make every student fail.
KERNEL_NAME = "clvkit-grader"
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


def restore_checks(submission, source):
    """Return the submission with the source's test cells restored (nbgrader's OverwriteCells).

    Every locked cell of the source (test cells, read-only cells) replaces the cell
    with the same ``grade_id`` in the submission: source with hidden tests, cell type
    and metadata (points). A test cell the student deleted (or whose metadata was
    removed) is put back after the cell of the previous ``grade_id``. Answer cells
    and the student's own cells are kept; outputs are cleared.

    Parameters
    ----------
    submission, source : nbformat.NotebookNode
        The student's notebook and the source notebook.

    Returns
    -------
    nbformat.NotebookNode

    Examples
    --------
    >>> import nbformat
    >>> def cell(source, **meta):
    ...     c = nbformat.v4.new_code_cell(source)
    ...     c.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
    ...                               "locked": False, **meta}
    ...     return c
    >>> src = nbformat.v4.new_notebook(cells=[
    ...     cell("x = 1", solution=True, grade_id="a"),
    ...     cell("assert x == 1", grade=True, locked=True, grade_id="t", points=1)])
    >>> sub = copy.deepcopy(src)
    >>> sub.cells[0].source, sub.cells[1].source = "x = 2", "print('Correct!')"
    >>> [c.source for c in restore_checks(sub, src).cells]
    ['x = 2', 'assert x == 1']
    >>> del sub.cells[1]
    >>> [c.source for c in restore_checks(sub, src).cells]
    ['x = 2', 'assert x == 1']
    """
    restored = copy.deepcopy(submission)
    originals = {}
    order = []
    for cell in source.cells:
        meta = _nbgrader(cell)
        if "grade_id" in meta:
            order.append(meta["grade_id"])
            originals[meta["grade_id"]] = cell
    locked = {gid for gid, cell in originals.items()
              if _nbgrader(cell).get("locked") or (_nbgrader(cell).get("grade")
                                                   and not _nbgrader(cell).get("solution"))}
    cells, present = [], set()
    for cell in restored.cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid in locked and gid not in present:
            cell = copy.deepcopy(originals[gid])
        elif gid in present or (gid is not None and gid not in originals):
            cell.metadata.pop("nbgrader", None)  # a duplicated or unknown id scores nothing
        elif gid is not None:  # an answer cell: the source's metadata (points), student's text
            cell.metadata["nbgrader"] = copy.deepcopy(_nbgrader(originals[gid]))
            if cell.cell_type != originals[gid].cell_type:
                cell = _as_type(cell, originals[gid].cell_type)
        if _nbgrader(cell).get("grade_id") is not None:
            present.add(_nbgrader(cell)["grade_id"])
        cells.append(cell)
    for number, gid in enumerate(order):
        if gid in present or gid not in locked:
            continue
        previous = [g for g in order[:number] if g in present]
        at = 0
        if previous:
            at = 1 + next(i for i, c in enumerate(cells)
                          if _nbgrader(c).get("grade_id") == previous[-1])
        cells.insert(at, copy.deepcopy(originals[gid]))
        present.add(gid)
    for position, cell in enumerate(cells):
        cell["id"] = f"cell-{position}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    restored.cells = cells
    restored.nbformat_minor = max(restored.get("nbformat_minor", 0), 5)  # cell ids
    restored.metadata["kernelspec"] = copy.deepcopy(source.metadata.get("kernelspec", {}))
    return restored


def _as_type(cell, cell_type: str):
    import nbformat

    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    new = maker(cell.source)
    new.metadata = cell.metadata
    return new


#: Run in the kernel (through ``user_expressions``, which no input transformer rewrites)
#: before the first cell and before every test cell: a fingerprint of the machinery that
#: decides what a cell runs and whether its error is shown. A submission that changes it
#: (an input or AST transformer that turns the checks into ``pass``, a custom exception
#: handler, a tracer, an event callback that clears the error, a replaced ``run_cell``)
#: could pass every check without a right answer.
_KERNEL_FINGERPRINT = r"""
import sys
from IPython import get_ipython

_ours = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "comm", "traitlets",
         "jupyter_client", "tornado", "zmq", "debugpy", "ipywidgets")

def _name(f):
    f = getattr(f, "func", f)
    f = getattr(f, "__func__", f)
    module = getattr(f, "__module__", None) or type(f).__module__
    return f"{module}.{getattr(f, '__qualname__', type(f).__qualname__)}"

def _foreign(f):
    return not _name(f).startswith(tuple(m + "." for m in _ours))

sh = get_ipython()
m = sh.input_transformer_manager
seen = {
    "input transformers": [_name(f) for f in (*m.cleanup_transforms, *m.line_transforms,
                                              *getattr(m, "token_transformers", ()),
                                              *sh.input_transformers_post)],
    "AST transformers": [_name(f) for f in sh.ast_transformers],
    "custom exception handler": repr(getattr(sh, "custom_exceptions", ())),
    "tracer": [_name(f) for f in (sys.gettrace(), sys.getprofile()) if f is not None],
    "event callbacks": sorted(_name(f) for cbs in sh.events.callbacks.values() for f in cbs
                              if _foreign(f)),
    "shell methods": sorted(k for k in vars(sh) if k in (
        "run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback",
        "_showtraceback", "showsyntaxerror", "transform_cell", "transform_ast",
        "should_run_async", "get_exception_only")) + [
        _name(getattr(type(sh), k)) for k in ("run_cell", "run_cell_async", "run_ast_nodes",
                                               "run_code", "showtraceback", "transform_cell")
        if _foreign(getattr(type(sh), k))],
    "input transformer manager": type(m).__module__ + "." + type(m).__qualname__,
    "exception hooks": [_name(h) for h in (sys.excepthook, sys.displayhook)
                        if _foreign(h) and _name(h) not in ("sys.excepthook",
                                                             "sys.displayhook")],
}
result = repr(sorted(seen.items()))
"""
_FINGERPRINT_EXPR = ("(lambda d: (exec(compile(" + repr(_KERNEL_FINGERPRINT) +
                     ", '<clvkit grader>', 'exec'), d), d['result'])[1])({})")


def _tampering(baseline: str, now: str) -> str:
    """What differs between two kernel fingerprints (empty: nothing).

    Examples
    --------
    >>> _tampering("[('a', [1]), ('b', [])]", "[('a', [1]), ('b', ['x'])]")
    'b'
    """
    import ast

    before, after = dict(ast.literal_eval(baseline)), dict(ast.literal_eval(now))
    return ", ".join(key for key in after if after[key] != before.get(key))


def _execute_one(notebook: str, output: str, cwd: str, timeout: int) -> None:
    """Child-process entry: execute a restored notebook with nbgrader's Execute, save it.

    Before the first cell and before every test cell the kernel's fingerprint
    (:data:`_KERNEL_FINGERPRINT`) is taken; a change is recorded in the notebook's
    metadata (``clvkit_grader.tampered``) and voids the autograded points.
    """
    import nbformat
    from jupyter_core.utils import run_sync
    from nbgrader.preprocessors import Execute

    class _GuardedExecute(Execute):
        baseline: str | None = None
        tampered: str = ""

        def _fingerprint(self) -> str:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"fp": _FINGERPRINT_EXPR})
            reply = run_sync(self.async_wait_for_reply)(msg_id)
            value = reply["content"].get("user_expressions", {}).get("fp", {})
            if value.get("status") != "ok":
                return "unreadable: " + str(value.get("ename", "no reply"))
            return __import__("ast").literal_eval(value["data"]["text/plain"])

        def preprocess_cell(self, cell, resources, index):
            test = cell.cell_type == "code" and _nbgrader(cell).get("grade")
            if self.baseline is None or test:
                now = self._fingerprint()
                if self.baseline is None:
                    self.baseline = now
                elif not self.tampered and now != self.baseline:
                    try:
                        self.tampered = _tampering(self.baseline, now) or "unknown"
                    except (ValueError, SyntaxError):
                        self.tampered = now[:200]
            return super().preprocess_cell(cell, resources, index)

    nb = nbformat.read(sys.stdin if notebook == "-" else notebook, as_version=4)
    executor = _GuardedExecute(timeout=timeout, kernel_name=KERNEL_NAME, execute_retries=0)
    try:
        nb, _ = executor.preprocess(nb, {"metadata": {"path": cwd}})
    finally:
        if executor.tampered:
            nb.metadata.setdefault("clvkit_grader", {})["tampered"] = executor.tampered
        nbformat.write(nb, output)


@dataclass(frozen=True)
class _Job:
    student: str
    notebook: str
    path: Path


def _kernel_env(work: Path) -> dict:
    """Environment of the child processes: a JUPYTER_PATH with the grader's own kernel."""
    spec = work / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (clvkit grader)", "language": "python"}), encoding="utf-8")
    paths = [str(work / "jupyter"), os.environ.get("JUPYTER_PATH", "")]
    return {**os.environ, "JUPYTER_PATH": os.pathsep.join(p for p in paths if p)}


def _run_job(job: _Job, *, source_nb, work: Path, data: Path | None, autograded: Path,
             timeout: int, notebook_timeout: int, env: dict) -> tuple[object, str | None]:
    """Restore, execute in a child process (killed at ``notebook_timeout``); return nb, problem."""
    import nbformat

    run = work / job.student / job.notebook
    (run / "notebooks").mkdir(parents=True)
    if data is not None:
        (run / "data").symlink_to(data, target_is_directory=True)
    try:
        submitted = nbformat.read(str(job.path), as_version=4)
    except Exception as error:  # noqa: BLE001 -- any unreadable file is the student's problem
        return None, f"the file could not be read as a notebook ({type(error).__name__})"
    restored = restore_checks(submitted, source_nb)
    done = autograded / job.student / f"{job.notebook}.ipynb"
    done.parent.mkdir(parents=True, exist_ok=True)
    # the restored notebook (it holds the hidden tests) goes to the child on stdin: it is never
    # a file a student's code could read while it runs
    command = [sys.executable, "-m", "clvkit.course", "_execute-one", "-", str(done),
               str(run / "notebooks"), str(timeout)]
    text = nbformat.writes(restored)
    for attempt in (1, 2):  # a second try only when no cell ran (e.g. a kernel port clash)
        done.unlink(missing_ok=True)
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, start_new_session=True, text=True,
                                   env=env)
        try:
            _, err = process.communicate(input=text, timeout=notebook_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the child and its kernel
            process.communicate()
            return None, f"the notebook ran longer than {notebook_timeout} s and was stopped"
        last = ((err or "").strip().splitlines()[-1:] or ["no message"])[0][:200]
        executed = nbformat.read(str(done), as_version=4) if done.exists() else None
        ran = executed is not None and any(c.get("execution_count") is not None
                                           for c in executed.cells if c.cell_type == "code")
        if process.returncode == 0 or ran or attempt == 2:
            break
    if executed is None:
        return None, f"the notebook could not be executed ({last})"
    if process.returncode != 0:
        return executed, f"execution stopped early ({last})"
    return executed, None


def _hint(cell) -> str:
    """The message of a failed test cell: its error (the assert's hint) or its stderr."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            value = str(output.get("evalue", "")).strip()
            return f"{output.ename}: {value}" if value else output.ename
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stderr":
            return "the check wrote to stderr: " + "".join(output.text).strip()[:300]
    return "no output"


def _notes(nb) -> list[str]:
    """Problems outside the test cells worth telling the student: the first error, timeouts."""
    notes, errors = [], 0
    for position, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or _nbgrader(cell).get("grade"):
            continue
        failed = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if not failed:
            continue
        errors += 1
        if any(o.ename == "CellTimeoutError" for o in failed):
            notes.append(f"cell {position + 1} ran longer than the time limit and was stopped")
        elif errors == 1:
            notes.append(f"cell {position + 1} raised {failed[0].ename}: "
                         f"{str(failed[0].get('evalue', ''))[:200]}")
    if errors > len(notes):
        notes.append(f"{errors} cells outside the checks raised errors in all: run the notebook "
                     "with 'Restart kernel and run all' before handing it in")
    return notes


def _score(job: _Job, executed, problem: str | None, source_nb, release_nb) -> tuple[list, list]:
    from nbgrader.utils import determine_grade

    release_checksums = {_nbgrader(c)["grade_id"]: _nbgrader(c).get("checksum")
                         for c in release_nb.cells if "grade_id" in _nbgrader(c)}
    by_id = {}
    if executed is not None:
        by_id = {_nbgrader(c)["grade_id"]: c for c in executed.cells
                 if "grade_id" in _nbgrader(c)}
    rows, notes = [], ([problem] if problem else []) + (_notes(executed) if executed else [])
    tampered = executed.metadata.get("clvkit_grader", {}).get("tampered") if executed else None
    if tampered:
        notes.insert(0, f"the notebook changed how the grader runs cells ({tampered}) before "
                     "the checks ran, so no check result can be trusted: autograded points "
                     "are 0; the instructor may review the notebook")
    for check in find_checks(source_nb):
        cell = by_id.get(check.grade_id)
        row = {"student": job.student, "notebook": job.notebook, "exercise": check.grade_id,
               "points": 0.0, "max_points": check.points, "kind": check.kind, "hint": ""}
        if tampered and check.kind == "auto":
            row["hint"] = f"not trusted: the notebook changed how cells run ({tampered})"
        elif cell is None:
            row["hint"] = problem or "the cell is missing from the submission"
        elif check.kind == "manual":
            cell = copy.deepcopy(cell)
            cell.metadata["nbgrader"]["checksum"] = release_checksums.get(check.grade_id)
            points, _ = determine_grade(cell)
            row["points"] = points  # None: to be graded by the instructor
            row["hint"] = "no answer written" if points == 0 else "graded by the instructor"
        elif cell.get("execution_count") is None:  # never ran: the kernel died or was killed
            row["hint"] = problem or "the check did not run"
        else:
            points, _ = determine_grade(cell)
            row["points"] = float(points)
            if points < check.points:
                row["hint"] = _hint(cell)
        rows.append(row)
    return rows, notes


def _check_control(job: _Job, executed, problem, source_nb, release_nb) -> None:
    """Refuse to grade when the solved source notebook does not score full points here."""
    rows, notes = _score(job, executed, problem, source_nb, release_nb)
    failed = [f"{row['exercise']}: {row['hint']}" for row in rows
              if row["kind"] == "auto" and row["points"] != row["max_points"]]
    if failed:
        raise ClvError(f"the solutions of {job.notebook} do not pass their own checks in this "
                       f"environment ({'; '.join(failed[:3])}; {'; '.join(notes[:2])}), so "
                       "students would be graded wrongly; nothing was graded. Check that the "
                       "grading Python has clvkit and the data (--data)")


def _feedback_html(student: str, rows: pd.DataFrame, notes: dict) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
             f"<title>Feedback: {esc(student)}</title><style>"
             "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "td,th{border-bottom:1px solid #ccc;padding:.3em .6em;text-align:left;"
             "vertical-align:top}.fail{color:#a00}.ok{color:#070}</style></head><body>",
             f"<h1>Feedback for {esc(student)}</h1>"]
    auto = rows[rows["kind"] == "auto"]
    parts.append(f"<p>Automatically graded: <b>{auto['points'].sum():g} / "
                 f"{auto['max_points'].sum():g}</b> points. Written answers are graded by the "
                 "instructor.</p>")
    for notebook, group in rows.groupby("notebook", sort=True):
        parts.append(f"<h2>{esc(notebook)}</h2>")
        for note in notes.get(notebook, []):
            parts.append(f"<p class='fail'>Note: {esc(note)}</p>")
        parts.append("<table><tr><th>exercise</th><th>points</th><th>hint</th></tr>")
        for row in group.itertuples():
            points = "to grade" if pd.isna(row.points) else f"{row.points:g}"
            klass = "ok" if (not pd.isna(row.points) and row.points >= row.max_points) else "fail"
            parts.append(f"<tr class='{klass}'><td>{esc(row.exercise)}</td>"
                         f"<td>{esc(points)} / {row.max_points:g}</td>"
                         f"<td>{esc(row.hint)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _find_submissions(submissions: Path, names: set[str]) -> tuple[list[_Job], list[str]]:
    if not submissions.is_dir():
        raise ClvError(f"{submissions} is not a folder; expected SUBMISSIONS/<student>/"
                       "<notebook>.ipynb")
    jobs, ignored = [], []
    for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.ipynb")):
            if path.stem in names:
                jobs.append(_Job(folder.name, path.stem, path))
            else:
                ignored.append(str(path))
    if not jobs:
        raise ClvError(f"no submissions found in {submissions}: expected "
                       f"<student>/<notebook>.ipynb with a notebook among {sorted(names)}")
    return jobs, ignored


def grade(submissions, *, out, source=SOURCE_DIR, data=None, timeout: int = 60,
          notebook_timeout: int = 600, jobs: int = 2) -> pd.DataFrame:
    """Grade every ``SUBMISSIONS/<student>/<notebook>.ipynb`` against the source notebooks.

    First, as a control, the solved source notebook of every graded notebook is graded
    the same way: if it does not score full points in this environment (a missing
    package, wrong data folder), grading stops with a `ClvError` before anything is
    written, rather than giving every student zero. Kernels run the grading Python
    (a temporary kernelspec), whatever ``python3`` kernel is registered.

    Parameters
    ----------
    submissions : path-like
        Folder with one sub-folder per student holding their notebooks, named like the
        course notebooks (``01-clv-formula.ipynb``).
    out : path-like
        Output folder: new, empty, or a previous grading output (its manifest proves it).
        Receives ``grades.csv``, ``feedback/<student>.html`` and
        ``autograded/<student>/<notebook>.ipynb`` (the executed, restored notebooks).
    source : path-like, default "notebooks"
        Folder of the source notebooks (with solutions and hidden tests).
    data : path-like, optional
        Data folder the notebooks read as ``../data``; default ``<source>/../data``.
    timeout : int, default 60
        Seconds allowed per cell; a cell running longer is interrupted (it and the
        checks that need it score 0), the rest of the notebook still runs.
    notebook_timeout : int, default 600
        Seconds allowed per notebook; past it the kernel is killed and the notebook
        scores 0.
    jobs : int, default 2
        Notebooks executed at the same time.

    Returns
    -------
    DataFrame
        The rows of ``grades.csv``: student, notebook, exercise, points (empty for
        written answers to grade by hand), max_points.
    """
    _require_nbgrader()
    submissions, out, source = Path(submissions), Path(out), Path(source)
    paths = {p.stem: p for p in source_notebooks(source)}
    data = Path(data) if data is not None else source.resolve().parent / "data"
    found, ignored = _find_submissions(submissions, set(paths))
    _prepare_output(out, kind="grade", inputs=[submissions, source], clear=False)
    for path in ignored:
        print(f"ignored (not a course notebook): {path}", file=sys.stderr)
    sources = {name: _read(paths[name]) for name in {job.notebook for job in found}}
    releases = {name: release_notebook(nb) for name, nb in sources.items()}
    students = sorted(p.name for p in submissions.iterdir() if p.is_dir())
    notebooks = sorted(sources)
    by_key = {(job.student, job.notebook): job for job in found}
    autograded = out / "autograded"
    rows, notes = [], {}
    with tempfile.TemporaryDirectory(prefix="clvkit-grade-") as tmp:
        env = _kernel_env(Path(tmp))

        def work(job, folder):
            return job, _run_job(job, source_nb=sources[job.notebook], work=Path(tmp) / "run",
                                 data=data.resolve() if data.exists() else None,
                                 autograded=folder, timeout=timeout,
                                 notebook_timeout=notebook_timeout, env=env)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            controls = [_Job(CONTROL, name, paths[name]) for name in notebooks]
            for job, (executed, problem) in pool.map(work, controls,
                                                     [Path(tmp) / "control"] * len(controls)):
                _check_control(job, executed, problem, sources[job.notebook],
                               releases[job.notebook])
            # the executed solutions must not be on disk while students' code runs
            shutil.rmtree(Path(tmp) / "control", ignore_errors=True)
            shutil.rmtree(Path(tmp) / "run" / CONTROL, ignore_errors=True)
            _prepare_output(out, kind="grade", inputs=[submissions, source])
            results = dict(((j.student, j.notebook), r)
                           for j, r in pool.map(work, found, [autograded] * len(found)))
    for student in students:
        for notebook in notebooks:
            job = by_key.get((student, notebook), _Job(student, notebook, Path()))
            executed, problem = results.get((student, notebook), (None, "not submitted"))
            got, told = _score(job, executed, problem, sources[notebook], releases[notebook])
            rows += got
            notes.setdefault(student, {})[notebook] = told
    table = pd.DataFrame(rows)
    written = [path for path in autograded.rglob("*.ipynb")]
    table[GRADES_COLUMNS].to_csv(out / "grades.csv", index=False)
    written.append(out / "grades.csv")
    (out / "feedback").mkdir(exist_ok=True)
    for student, group in table.groupby("student", sort=True):
        page = out / "feedback" / f"{student}.html"
        page.write_text(_feedback_html(student, group, notes[student]), encoding="utf-8")
        written.append(page)
    _write_manifest(out, kind="grade", files=written)
    result = table[GRADES_COLUMNS].copy()
    result.attrs["autograded"] = table["kind"].eq("auto").tolist()  # rows of test cells
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
    gra.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    gra.add_argument("--notebook-timeout", type=int, default=600,
                     help="seconds per notebook (default 600)")
    gra.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")


def run_course_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit course release|grade`` from parsed arguments; returns the exit code."""
    if args.course_command == "release":
        written = release(args.outdir, source=args.source)
        print(f"wrote {len(written)} student notebooks to {args.outdir}")
        return 0
    started = time.perf_counter()
    table = grade(args.submissions, out=args.out, source=args.source, data=args.data,
                  timeout=args.timeout, notebook_timeout=args.notebook_timeout, jobs=args.jobs)
    auto = table[table.attrs["autograded"]]
    manual = int(table["points"].isna().sum())
    print(f"graded {table['student'].nunique()} students x {table['notebook'].nunique()} "
          f"notebooks in {time.perf_counter() - started:.1f} s; {auto['points'].sum():g} of "
          f"{auto['max_points'].sum():g} autograded points; {manual} written answers to grade "
          f"by hand; wrote {Path(args.out) / 'grades.csv'}")
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process of grade()
    if len(sys.argv) == 6 and sys.argv[1] == "_execute-one":
        _execute_one(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        sys.exit(0)
    sys.exit("usage: clvkit course release|grade (python -m clvkit.course is internal)")
