"""Run a course notebook in-process and call its functions: the grader's child process.

Two modes, both started by :mod:`clvkit.grading` as ``python -m clvkit._course_runner``:

* ``reference NOTEBOOK SPEC OUT`` (trusted, the instructor's source notebook): runs the
  notebook's code cells, then the check file ``SPEC`` in the notebook's namespace. Each
  ``case(exercise, function, *args, hint=..., **options)`` / ``value(exercise, name, ...)``
  of the check file records a call; the solution is called on it at once. Writes
  ``OUT/calls.pkl`` (what to call, with pickled inputs: given to the sandbox) and
  ``OUT/references.json`` (expected values and hints: kept by the grader).
* ``student BOX`` (untrusted, inside the sandbox): runs the code cells of
  ``BOX/notebooks/*.ipynb`` (a per-cell time limit, errors recorded by type only), then makes
  every call of ``BOX/calls.pkl`` on fresh copies of the inputs and writes
  ``BOX/results.json`` after each call: plain data only (see :func:`to_plain`).

Nothing from here is trusted by the grader: ``results.json`` is parsed as JSON, validated
(:func:`clvkit.grading.read_results`) and compared in the grader's own process.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import sys
from pathlib import Path

#: CPU seconds per notebook cell and per function call (a soft limit: the sandbox has a hard
#: one on the wall clock).
CELL_SECONDS = float(os.environ.get("CLVKIT_CELL_SECONDS", "60"))
#: Largest number of scalars in one returned value.
MAX_ITEMS = 200_000


class Unsupported(TypeError):
    """A returned value that is not plain data (number, text, array, Series, DataFrame)."""


def _scalar(x):
    import numpy as np

    if x is None:
        return {"t": "none"}
    if isinstance(x, (bool, np.bool_)):
        return {"t": "bool", "v": bool(x)}
    if isinstance(x, (int, float, np.integer, np.floating)):
        v = float(x)
        return {"t": "num", "v": v if math.isfinite(v) else repr(v)}
    if isinstance(x, str):
        return {"t": "str", "v": str(x)}
    import pandas as pd

    if x is pd.NA or x is pd.NaT:
        return {"t": "none"}
    if isinstance(x, (pd.Period, pd.Timestamp, pd.Timedelta)):
        return {"t": "str", "v": str(x)}
    raise Unsupported(type(x).__name__)


def _label(x) -> str:
    return "|".join(map(str, x)) if isinstance(x, tuple) else str(x)


def to_plain(x, _count=None):
    """Plain JSON data of a returned value: numbers, text, lists, Series and DataFrames.

    Examples
    --------
    >>> import pandas as pd
    >>> to_plain(pd.Series([1.5, 2.0], index=["a", "b"]))
    {'t': 'series', 'index': ['a', 'b'], 'values': [{'t': 'num', 'v': 1.5}, {'t': 'num', 'v': 2.0}]}
    """
    import numpy as np
    import pandas as pd

    count = _count if _count is not None else [0]
    count[0] += 1
    if count[0] > MAX_ITEMS:
        raise Unsupported("more than %d values" % MAX_ITEMS)
    if isinstance(x, pd.Series):
        return {"t": "series", "index": [_label(k) for k in x.index.tolist()],
                "values": [to_plain(v, count) for v in x.tolist()]}
    if isinstance(x, pd.DataFrame):
        return {"t": "frame", "columns": [_label(c) for c in x.columns.tolist()],
                "index": [_label(k) for k in x.index.tolist()],
                "values": [[to_plain(v, count) for v in row] for row in x.to_numpy().tolist()]}
    if isinstance(x, pd.Index):
        return {"t": "seq", "v": [to_plain(v, count) for v in x.tolist()]}
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return to_plain(x.item(), count)
        return {"t": "seq", "v": [to_plain(v, count) for v in x.tolist()]}
    if isinstance(x, (list, tuple)):
        return {"t": "seq", "v": [to_plain(v, count) for v in x]}
    return _scalar(x)


class _Timeout(KeyboardInterrupt):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def _timer(seconds: float) -> None:
    """Interrupt after ``seconds`` of CPU time, or five times as long on the wall clock.

    CPU time, so that a busy machine does not make a cell fail; the wall clock catches a cell
    that sleeps. 0 cancels both.
    """
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, 5 * seconds)


def _shell():
    """An in-process IPython shell: magics and ``display`` work, nothing is rendered."""
    import matplotlib

    matplotlib.use("Agg")
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.ast_node_interactivity = "none"  # no repr of each cell's last value
    shell.register_magic_function(lambda line: None, "line", "matplotlib")
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    return shell


def _is_check(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def run_cells(shell, notebook: Path) -> list[dict]:
    """Run the code cells of ``notebook`` (check cells skipped); return each cell's problem."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    problems = []
    for position, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code" or _is_check(cell):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        _timer(CELL_SECONDS)
        try:
            result = shell.run_cell(source, store_history=False, silent=False)
            error = result.error_in_exec or result.error_before_exec
        except _Timeout as timeout:
            error = timeout
        finally:
            _timer(0)
        if error is not None:
            kind = "timeout" if isinstance(error, _Timeout) else type(error).__name__
            problems.append({"cell": position, "error": kind})
    return problems


def _call(shell, call: dict):
    ns = shell.user_ns
    if call["name"] not in ns:
        return {"missing": call["name"]}
    target = ns[call["name"]]
    _timer(CELL_SECONDS)
    try:
        if call["kind"] == "value":
            got = target
        else:
            if not callable(target):
                return {"missing": call["name"]}
            got = target(*pickle.loads(call["args"]), **pickle.loads(call["kwargs"]))
        return {"value": to_plain(got)}
    except _Timeout:
        return {"error": "timeout"}
    except Exception as error:  # noqa: BLE001 -- the student's error: its type is reported
        return {"error": type(error).__name__}
    finally:
        _timer(0)


def _write_json(path: Path, data) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def student(box: Path) -> None:
    """Sandbox entry: run the submission in ``box``, call its functions, write results."""
    calls = pickle.loads((box / "calls.pkl").read_bytes())
    notebook = next(iter(sorted((box / "notebooks").glob("*.ipynb"))))
    shell = _shell()
    out = {"cells": run_cells(shell, notebook), "calls": []}
    _write_json(box / "results.json", out)
    for call in calls:
        out["calls"].append(_call(shell, call))
        _write_json(box / "results.json", out)
    out["done"] = True
    _write_json(box / "results.json", out)


def reference(notebook: Path, spec: Path, out: Path) -> None:
    """Trusted entry: run the source notebook and its check file; write calls and references."""
    shell = _shell()
    failed = run_cells(shell, notebook)
    if failed:
        sys.exit(f"the source notebook {notebook.name} raised errors: {failed[:3]}")
    calls, refs = [], []

    def record(exercise, kind, name, args, kwargs, hint, options):
        call = {"kind": kind, "name": name, "args": pickle.dumps(args),
                "kwargs": pickle.dumps(kwargs)}
        got = _call(shell, call)
        if "value" not in got:
            sys.exit(f"{notebook.name}: the solution's {name} failed on a check of {exercise}: "
                     f"{got}")
        calls.append(call)
        refs.append({"exercise": exercise, "name": name, "hint": hint, "options": options,
                     "value": got["value"]})

    def case(exercise, name, *args, hint, **kwargs):
        options = {k: kwargs.pop(k) for k in ("atol", "rtol", "compare") if k in kwargs}
        record(exercise, "call", name, args, kwargs, hint, options)

    def value(exercise, name, *, hint, **options):
        record(exercise, "value", name, (), {}, hint, options)

    ns = shell.user_ns
    ns.update(case=case, value=value)
    code = compile(spec.read_text(encoding="utf-8"), str(spec), "exec")
    exec(code, ns)  # noqa: S102 -- the instructor's own check file
    out.mkdir(parents=True, exist_ok=True)
    (out / "calls.pkl").write_bytes(pickle.dumps(calls))
    _write_json(out / "references.json", refs)


if __name__ == "__main__":  # pragma: no cover - run as a child process
    if len(sys.argv) == 3 and sys.argv[1] == "student":
        student(Path(sys.argv[2]))
    elif len(sys.argv) == 5 and sys.argv[1] == "reference":
        reference(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit("internal: python -m clvkit._course_runner student BOX | reference NB SPEC OUT")
