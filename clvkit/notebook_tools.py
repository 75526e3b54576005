"""Run the course notebooks deterministically and check their exercises.

Two jobs:

* **execute**: run a notebook from a fresh ``python3`` kernel (working directory =
  the notebook's folder) and save it with its outputs, without run-specific data
  (timings, random cell ids), so that ``pytest --nbval`` compares like with like.
* **exercises** (the nbgrader pattern): an exercise is an *answer* cell and a
  *check* cell, marked in the cell metadata as
  ``{"exercise": {"id": "01-1", "role": "answer"}}`` (or ``"role": "check"``).
  The committed student notebook holds a placeholder answer and its check cell
  is tagged ``raises-exception`` (its saved output is the expected
  ``AssertionError``). Reference answers live in ``notebooks/solutions/NN-*.py``
  as sections headed ``# %% [01-1]``; an optional ``# %% [01-1 wrong]`` section
  holds a typical mistake that the check must reject.

Command line::

    python -m clvkit.notebook_tools execute notebooks/01-clv-formula.ipynb ...
    python -m clvkit.notebook_tools check notebooks/01-clv-formula.ipynb ...
    python -m clvkit.notebook_tools grade student/01-clv-formula.ipynb
    python -m clvkit.notebook_tools solve notebooks/01-clv-formula.ipynb -o solved.ipynb
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._nbnormalize import normalize_notebook, write_notebook
from .errors import ClvError

__all__ = [
    "Exercise", "execute_notebook", "find_exercises", "load_solutions", "solve_notebook",
    "check_exercises", "grade_notebook", "main",
]

#: Tag nbval (and nbclient) read: the cell is expected to raise.
RAISES_TAG = "raises-exception"
#: Folder of the reference answers, relative to the notebooks.
SOLUTIONS_DIR = "solutions"

_SECTION = re.compile(r"^# %% \[(?P<id>[\w.-]+)(?P<wrong> wrong)?\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: where its cells are and what they contain.

    Attributes
    ----------
    id : str
        Exercise id, e.g. ``"01-1"`` (notebook number, exercise number).
    answer_cell, check_cell : int
        Positions of the answer and check cells in ``nb.cells``.
    placeholder : str
        Source of the answer cell as committed (what the student starts from).
    check : str
        Source of the check cell.
    """

    id: str
    answer_cell: int
    check_cell: int
    placeholder: str
    check: str


def _read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def _role(cell) -> tuple[str, str] | None:
    meta = cell.metadata.get("exercise")
    if not meta:
        return None
    return meta["id"], meta["role"]


def find_exercises(nb) -> list[Exercise]:
    """List the exercises of a notebook in order.

    Parameters
    ----------
    nb : nbformat.NotebookNode or path
        The notebook.

    Returns
    -------
    list of Exercise

    Raises
    ------
    ClvError
        If an exercise lacks its answer or its check cell, or the check comes first.

    Examples
    --------
    >>> import nbformat
    >>> cells = [nbformat.v4.new_code_cell("x = None"), nbformat.v4.new_code_cell("assert x == 1")]
    >>> cells[0].metadata["exercise"] = {"id": "00-1", "role": "answer"}
    >>> cells[1].metadata["exercise"] = {"id": "00-1", "role": "check"}
    >>> find_exercises(nbformat.v4.new_notebook(cells=cells))[0].check_cell
    1
    """
    if isinstance(nb, (str, os.PathLike)):
        nb = _read(nb)
    found: dict[str, dict[str, int]] = {}
    for position, cell in enumerate(nb.cells):
        role = _role(cell)
        if role is not None:
            roles = found.setdefault(role[0], {})
            if role[1] in roles:
                raise ClvError(f"exercise {role[0]!r} has two {role[1]} cells ({roles[role[1]]} "
                               f"and {position}); give each exercise its own id")
            roles[role[1]] = position
    out = []
    for ex_id, cells in found.items():
        if set(cells) != {"answer", "check"} or cells["answer"] > cells["check"]:
            raise ClvError(f"exercise {ex_id!r} needs one answer cell followed by one check "
                           f"cell; found {cells}. Fix the cell metadata 'exercise'.")
        out.append(Exercise(ex_id, cells["answer"], cells["check"],
                            nb.cells[cells["answer"]].source, nb.cells[cells["check"]].source))
    return sorted(out, key=lambda e: e.answer_cell)


def solutions_path(notebook) -> Path:
    """Reference-answer file of a notebook: ``<folder>/solutions/<stem>.py``."""
    notebook = Path(notebook)
    return notebook.parent / SOLUTIONS_DIR / f"{notebook.stem}.py"


def load_solutions(path) -> dict[str, dict[str, str]]:
    r"""Read a reference-answer file into ``{id: {"solution": code, "wrong": code}}``.

    Sections start with ``# %% [ID]`` (the reference answer) or ``# %% [ID wrong]``
    (a typical mistake the check must reject; optional).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = Path(tmp) / "00-demo.py"
    ...     _ = f.write_text("# %% [00-1]\nx = 1\n# %% [00-1 wrong]\nx = 2\n")
    ...     load_solutions(f)
    {'00-1': {'solution': 'x = 1', 'wrong': 'x = 2'}}
    """
    text = Path(path).read_text(encoding="utf-8")
    marks = list(_SECTION.finditer(text))
    out: dict[str, dict[str, str]] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end():following.start() if following else len(text)].strip()
        out.setdefault(mark["id"], {})["wrong" if mark["wrong"] else "solution"] = body
    return out


def solve_notebook(nb, solutions: dict[str, dict[str, str]]):
    """Return a copy of the notebook with the reference answers filled in.

    Answer cells get the solution code and check cells lose the
    ``raises-exception`` tag and their outputs, so the solved notebook runs
    without errors (e.g. under papermill) and shows what a full answer gives.
    """
    import copy

    solved = copy.deepcopy(nb)
    for ex in find_exercises(solved):
        if ex.id not in solutions or "solution" not in solutions[ex.id]:
            raise ClvError(f"no reference answer for exercise {ex.id!r}; add a section "
                           f"'# %% [{ex.id}]' to the solutions file")
        solved.cells[ex.answer_cell].source = solutions[ex.id]["solution"]
        check = solved.cells[ex.check_cell]
        check.metadata["tags"] = [t for t in check.metadata.get("tags", []) if t != RAISES_TAG]
        check.outputs = []
    return solved


def execute_notebook(path, *, output=None, timeout: int = 300, kernel_name: str = "python3"):
    """Execute a notebook from a fresh kernel and save it deterministically.

    The kernel runs in the notebook's folder (like nbval and papermill), cells
    tagged ``raises-exception`` may raise, any other error stops the run. The
    saved notebook has no timing metadata, cell ids ``cell-<n>`` and the kernel
    spec ``python3``.

    Parameters
    ----------
    path : path-like
        Notebook to run.
    output : path-like, optional
        Where to save; default overwrite ``path``.
    timeout : int, default 300
        Seconds allowed per cell.
    kernel_name : str, default "python3"

    Returns
    -------
    nbformat.NotebookNode
        The executed, normalised notebook.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = _read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise ClvError(f"{path}: a cell failed (the notebook was not saved):\n{error}") from error
    nb = normalize_notebook(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    write_notebook(nb, output or path)
    return nb


def _code(source: str) -> str:
    """Drop IPython line magics (``%matplotlib inline``) so plain Python can run a cell."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _outcome(source: str, namespace: dict) -> str:
    """Run code in ``namespace``: ``"passed"``, ``"AssertionError"`` or another error name."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(_code(source), "<check>", "exec"), namespace)  # noqa: S102
    except AssertionError:
        return "AssertionError"
    except Exception as error:  # noqa: BLE001 -- reported to the caller by name
        return type(error).__name__
    return "passed"


def _run_cells(nb, *, on_check, cwd) -> None:
    """Execute the code cells of ``nb`` in one namespace; call ``on_check`` at check cells.

    ``on_check(exercise, namespace, answer_outcome)`` receives the outcome of running the
    exercise's answer cell (``"passed"`` or the name of the exception it raised), so that a
    broken answer is reported for its exercise instead of stopping the run. An error in any
    other cell stops the run with a `ClvError` naming the cell.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "__main__"}
    exercises = find_exercises(nb)
    checks = {ex.check_cell: ex for ex in exercises}
    answers = {ex.answer_cell: ex.id for ex in exercises}
    answered: dict[str, str] = {}
    old = Path.cwd()
    os.chdir(cwd)
    # notebook cells may set pandas display options or matplotlib styles: keep them in here
    displayed = {key: pd.get_option(key) for key in _display_options()}
    style = matplotlib.rc_context()
    style.__enter__()
    try:
        for position, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if position in checks:
                ex = checks[position]
                on_check(ex, namespace, answered.get(ex.id, "passed"))
            elif position in answers:
                answered[answers[position]] = _outcome(cell.source, namespace)
            else:
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        exec(compile(_code(cell.source), f"<cell {position}>", "exec"),  # noqa: S102
                             namespace)
                except Exception as error:
                    raise ClvError(f"cell {position} raised {type(error).__name__}: {error}; "
                                   f"it starts with: {cell.source.splitlines()[0][:80]!r}"
                                   ) from error
            plt.close("all")
    finally:
        os.chdir(old)
        style.__exit__(None, None, None)
        for key, value in displayed.items():
            pd.set_option(key, value)


def _display_options() -> list[str]:
    """Names of pandas' ``display.*`` options (the ones notebooks change)."""
    from pandas._config.config import _registered_options

    return [key for key in _registered_options if key.startswith("display.")]


def check_exercises(path, *, solutions=None) -> pd.DataFrame:
    """Show each check cell rejects the placeholder (and a typical mistake), accepts the solution.

    The notebook's code cells run in one Python namespace (no kernel, figures to
    the Agg backend). At each check cell the check runs three times: after the
    committed placeholder answer, after the ``wrong`` answer when the solutions
    file has one, and after the reference answer, which is left in place for the
    following cells.

    Parameters
    ----------
    path : path-like
        A course notebook.
    solutions : path-like, optional
        Reference-answer file; default :func:`solutions_path` of the notebook.

    Returns
    -------
    DataFrame
        One row per exercise (index ``exercise``) with the outcome of the check
        (``"passed"``, ``"AssertionError"`` or another exception name) for
        ``placeholder``, ``wrong`` (None when no wrong answer is given) and ``solution``.
    """
    path = Path(path)
    nb = _read(path)
    answers = load_solutions(solutions or solutions_path(path))
    rows = []

    def on_check(ex: Exercise, namespace: dict, _answer_outcome: str) -> None:
        ref = answers.get(ex.id, {})
        if "solution" not in ref:
            raise ClvError(f"no reference answer for exercise {ex.id!r} in the solutions file")
        row = {"exercise": ex.id, "placeholder": _outcome(ex.placeholder + "\n" + ex.check,
                                                          namespace)}
        row["wrong"] = (_outcome(ref["wrong"] + "\n" + ex.check, namespace)
                        if "wrong" in ref else None)
        row["solution"] = _outcome(ref["solution"] + "\n" + ex.check, namespace)
        rows.append(row)

    _run_cells(nb, on_check=on_check, cwd=path.parent)
    return pd.DataFrame(rows, columns=["exercise", "placeholder", "wrong", "solution"]
                        ).set_index("exercise")


def grade_notebook(path) -> pd.DataFrame:
    """Run a student's notebook as saved and report which exercises pass.

    The student's answer cells run in order with the rest of the notebook; each check
    cell then runs once. An answer cell that raises is reported for its exercise.

    Returns
    -------
    DataFrame
        Index ``exercise``, column ``outcome``: ``"passed"``, ``"AssertionError"`` (wrong or
        missing answer), another exception name raised by the check, or
        ``"answer cell raised <name>"``.
    """
    path = Path(path)
    nb = _read(path)
    rows = []

    def on_check(ex: Exercise, namespace: dict, answer_outcome: str) -> None:
        outcome = (_outcome(ex.check, namespace) if answer_outcome == "passed"
                   else f"answer cell raised {answer_outcome}")
        rows.append({"exercise": ex.id, "outcome": outcome})

    _run_cells(nb, on_check=on_check, cwd=path.parent)
    return pd.DataFrame(rows, columns=["exercise", "outcome"]).set_index("exercise")


def _check_syntax(paths) -> None:
    for path in paths:
        for name, code in load_solutions(path).items():
            for kind, source in code.items():
                try:
                    ast.parse(source)
                except SyntaxError as error:
                    raise ClvError(f"{path}: {kind} of exercise {name!r} is not valid Python: "
                                   f"{error}") from None


def main(argv: list[str] | None = None) -> int:
    """Command line: ``execute``, ``check``, ``grade`` or ``solve`` notebooks."""
    parser = argparse.ArgumentParser(prog="python -m clvkit.notebook_tools",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("execute", help="run and re-save notebooks deterministically"
                   ).add_argument("notebooks", nargs="+")
    sub.add_parser("check", help="check cells fail on placeholders and pass on solutions"
                   ).add_argument("notebooks", nargs="+")
    sub.add_parser("grade", help="which exercises of a student's notebook pass"
                   ).add_argument("notebooks", nargs="+")
    solve = sub.add_parser("solve", help="write a copy with the reference answers filled in")
    solve.add_argument("notebook")
    solve.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    status = 0
    if args.command == "solve":
        nb = solve_notebook(_read(args.notebook), load_solutions(solutions_path(args.notebook)))
        write_notebook(nb, args.output)
        return 0
    for path in args.notebooks:
        if args.command == "execute":
            execute_notebook(path)
            print(f"executed {path}")
        elif args.command == "check":
            _check_syntax([solutions_path(path)])
            table = check_exercises(path)
            bad = ((table["placeholder"] != "AssertionError") | (table["solution"] != "passed")
                   | (table["wrong"].notna() & (table["wrong"] != "AssertionError")))
            status |= int(bad.any())
            print(f"{path}\n{table.to_string()}")
        else:
            table = grade_notebook(path)
            print(f"{path}: {int((table['outcome'] == 'passed').sum())}/{len(table)} passed\n"
                  f"{table.to_string()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
