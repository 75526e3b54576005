"""Grade course submissions by value, outside the student's process.

For every course notebook ``notebooks/NN-name.ipynb`` the check file
``notebooks/checks/NN-name.py`` (instructors only, never released) lists calls:
``case("01-1", "average_purchase_value", tx, hint=..., atol=0.01)`` calls the student's
function on the notebook's table ``tx``; ``value("04-3", "riskiest", hint=...)`` reads a
variable. Grading a class:

1. **References** (trusted, one child process per notebook): the solved source notebook runs,
   then its check file; each call is made on the solution at once. The inputs are pickled for
   the sandbox; the expected values stay in the grader (:mod:`clvkit._course_runner`).
2. **Submissions** (untrusted, :mod:`clvkit.sandbox`, one sandbox per notebook): the
   submission's code cells run (check cells skipped: they never decide points), then every
   call is made on fresh copies of the inputs. Only plain data comes back, as JSON: numbers,
   text, lists, Series, DataFrames, validated by type and size (:func:`read_results`).
3. **Comparison** (the grader's own process): each exercise scores its points when every one
   of its calls returned the solution's value (within the check's tolerance), else 0 with the
   student hint of the first call that did not. A missing function, an error, a timeout or a
   killed sandbox gives 0 for the exercises it affects.

The solved notebooks are graded first, in the sandbox, as a control: if they do not score
full points here (missing package, wrong data folder, broken sandbox), grading stops before
anything is written. Feedback shows hints, exercise names and points: never the check file,
the inputs, the expected values, or any text the submission produced.
"""

from __future__ import annotations

import concurrent.futures
import html
import json
import math
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ClvError
from .sandbox import Limits, choose_mode, run_in_sandbox

__all__ = ["GRADES_COLUMNS", "check_file", "read_results", "matches", "grade_submissions"]

GRADES_COLUMNS = ["student", "notebook", "exercise", "points", "max_points"]
#: Largest results file read back from a sandbox.
MAX_RESULTS_BYTES = 50 * 2**20
_KINDS = {"none", "bool", "num", "str", "seq", "series", "frame"}


def check_file(notebook) -> Path:
    """The check file of a source notebook: ``checks/<notebook name>.py`` beside it."""
    notebook = Path(notebook)
    return notebook.parent / "checks" / f"{notebook.stem}.py"


# --------------------------------------------------------------------------- plain data


def _valid(x, depth=0) -> bool:
    """Whether ``x`` is plain data as :func:`clvkit._course_runner.to_plain` writes it."""
    if depth > 4 or not isinstance(x, dict) or x.get("t") not in _KINDS:
        return False
    kind = x["t"]
    if kind == "none":
        return True
    if kind == "bool":
        return type(x.get("v")) is bool
    if kind == "num":
        v = x.get("v")
        return (type(v) in (int, float)) or v in ("nan", "inf", "-inf")
    if kind == "str":
        return type(x.get("v")) is str
    if kind == "seq":
        return type(x.get("v")) is list and all(_valid(v, depth + 1) for v in x["v"])
    labels = x.get("index")
    if type(labels) is not list or not all(type(k) is str for k in labels):
        return False
    if kind == "series":
        values = x.get("values")
        return (type(values) is list and len(values) == len(labels)
                and all(_valid(v, depth + 1) for v in values))
    columns, rows = x.get("columns"), x.get("values")
    return (type(columns) is list and all(type(c) is str for c in columns)
            and type(rows) is list and len(rows) == len(labels)
            and all(type(r) is list and len(r) == len(columns)
                    and all(_valid(v, depth + 1) for v in r) for r in rows))


def read_results(path, n_calls: int) -> dict:
    """Read and validate a sandbox's ``results.json``; anything malformed counts as missing.

    Returns
    -------
    dict
        ``cells``: list of {cell, error}; ``calls``: ``n_calls`` outcomes, each one of
        {"value": plain}, {"error": type name}, {"missing": name} or None (not reached);
        ``done``: whether the run finished.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> _ = p.write_text(json.dumps({"cells": [], "calls": [{"value": {"t": "num", "v": 1}},
    ...                                                    {"value": {"t": "evil"}}]}))
    >>> read_results(p, 3)["calls"]
    [{'value': {'t': 'num', 'v': 1}}, {'error': 'invalid result'}, None]
    """
    empty = {"cells": [], "calls": [None] * n_calls, "done": False}
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RESULTS_BYTES:
            return empty
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return empty
    if not isinstance(data, dict):
        return empty
    cells = [c for c in data.get("cells", []) if isinstance(c, dict)
             and type(c.get("cell")) is int and isinstance(c.get("error"), str)][:1000]
    cells = [{"cell": c["cell"], "error": _identifier(c["error"])} for c in cells]
    calls = []
    raw = data.get("calls") if isinstance(data.get("calls"), list) else []
    for number in range(n_calls):
        got = raw[number] if number < len(raw) else None
        if not isinstance(got, dict):
            calls.append(None)
        elif "value" in got:
            calls.append({"value": got["value"]} if _valid(got["value"])
                         else {"error": "invalid result"})
        elif isinstance(got.get("missing"), str):
            calls.append({"missing": got["missing"]})
        else:
            calls.append({"error": _identifier(got.get("error"))})
    return {"cells": cells, "calls": calls, "done": data.get("done") is True}


def _identifier(text) -> str:
    """An error type name as reported by the sandbox, or ``error`` (no free text escapes)."""
    text = str(text)
    return text if text.isidentifier() and len(text) <= 60 else "error"


def _number(x):
    v = x["v"]
    return float(v) if not isinstance(v, str) else float(v)


def _unwrap(got):
    """A one-element list or Series where a number or text was expected: its element."""
    if got["t"] == "seq" and len(got["v"]) == 1:
        return got["v"][0]
    if got["t"] == "series" and len(got["values"]) == 1:
        return got["values"][0]
    return got


def _values(x):
    """Values of a list or Series, in order (the positional comparison)."""
    return x["v"] if x["t"] == "seq" else x["values"] if x["t"] == "series" else None


def matches(got, want, *, atol: float = 1e-9, rtol: float = 1e-9, compare: str = "auto"
            ) -> bool:
    """Whether a student's plain value equals the reference's.

    ``compare``: ``"auto"`` (numbers within ``atol``/``rtol``, text and booleans exactly;
    Series by label; lists by position), ``"values"`` (a Series or list compared by position,
    labels ignored) or ``"set"`` (the same elements in any order).

    Examples
    --------
    >>> num = lambda v: {"t": "num", "v": v}
    >>> matches(num(1.0 + 1e-12), num(1.0)), matches(num(1.1), num(1.0))
    (True, False)
    >>> s = lambda idx, vals: {"t": "series", "index": idx, "values": [num(v) for v in vals]}
    >>> matches(s(["b", "a"], [2, 1]), s(["a", "b"], [1, 2]))
    True
    """
    if compare == "set":
        a, b = _values(got), _values(want)
        if a is None or b is None:
            return False
        key = lambda v: json.dumps(v, sort_keys=True)  # noqa: E731
        return sorted(map(key, a)) == sorted(map(key, b))
    if compare == "values" and want["t"] in ("seq", "series"):
        a, b = _values(got), _values(want)
        return (a is not None and len(a) == len(b)
                and all(matches(x, y, atol=atol, rtol=rtol) for x, y in zip(a, b, strict=True)))
    if want["t"] in ("num", "str", "bool", "none"):
        got = _unwrap(got)
    if want["t"] == "num":
        if got["t"] not in ("num", "bool") or got["t"] == "bool":
            return False
        a, b = _number(got), _number(want)
        if math.isnan(b):
            return math.isnan(a)
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    if want["t"] in ("str", "bool", "none"):
        return got["t"] == want["t"] and got.get("v") == want.get("v")
    if want["t"] == "seq":
        return (got["t"] == "seq" and len(got["v"]) == len(want["v"])
                and all(matches(x, y, atol=atol, rtol=rtol) for x, y in zip(got["v"],
                                                                           want["v"], strict=True)))
    if want["t"] == "series":
        if got["t"] != "series" or sorted(got["index"]) != sorted(want["index"]):
            return False
        if len(set(want["index"])) != len(want["index"]):  # duplicate labels: by position
            return matches(got, want, atol=atol, rtol=rtol, compare="values")
        by_label = dict(zip(got["index"], got["values"], strict=True))
        return all(matches(by_label[k], v, atol=atol, rtol=rtol)
                   for k, v in zip(want["index"], want["values"], strict=True))
    if want["t"] == "frame":
        if (got["t"] != "frame" or sorted(got["columns"]) != sorted(want["columns"])
                or sorted(got["index"]) != sorted(want["index"])):
            return False
        cols = {c: i for i, c in enumerate(got["columns"])}
        rows = dict(zip(got["index"], got["values"], strict=True))
        return all(matches(rows[k][cols[c]], v, atol=atol, rtol=rtol)
                   for k, row in zip(want["index"], want["values"], strict=True)
                   for c, v in zip(want["columns"], row, strict=True))
    return False


# --------------------------------------------------------------------------- the runs


def _runner(*args: str) -> list[str]:
    return [sys.executable, "-m", "clvkit._course_runner", *args]


@dataclass(frozen=True)
class Reference:
    """The checks of one notebook: calls (with pickled inputs) and expected values."""

    calls: bytes
    references: list


def build_reference(notebook: Path, *, work: Path, data: Path | None) -> Reference:
    """Run the solved notebook and its check file (trusted child process)."""
    spec = check_file(notebook)
    if not spec.is_file():
        raise ClvError(f"{notebook.name} has autograded exercises but no check file {spec}")
    folder = work / "reference" / notebook.stem
    (folder / "notebooks").mkdir(parents=True)
    shutil.copy(notebook, folder / "notebooks" / notebook.name)
    if data is not None:
        (folder / "data").symlink_to(data, target_is_directory=True)
    done = subprocess.run(_runner("reference", notebook.name, str(spec.resolve()),
                                  str(folder / "out")),
                          cwd=folder / "notebooks", capture_output=True, text=True,
                          env=_trusted_env())
    if done.returncode != 0:
        raise ClvError(f"the solved notebook {notebook.name} or its checks failed here, so "
                       f"nothing was graded: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
                       " (check that the grading Python has clvkit and the data: --data)")
    reference = Reference((folder / "out" / "calls.pkl").read_bytes(),
                          json.loads((folder / "out" / "references.json").read_text()))
    shutil.rmtree(folder)
    return reference


def _trusted_env() -> dict:
    import os

    return {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
            "CLVKIT_CELL_SECONDS": "3600"}  # the solved notebook: no students' cell limit


def read_only_copy(data: Path, work: Path) -> Path:
    """A copy of the data folder that nobody can write (given to every sandbox)."""
    copy = work / "data"
    shutil.copytree(data, copy, symlinks=False)
    for path in sorted(copy.rglob("*"), reverse=True) + [copy]:
        mode = path.stat().st_mode
        path.chmod((stat.S_IMODE(mode) | 0o444 | (0o111 if path.is_dir() else 0)) & ~0o222)
    return copy


def run_submission(path: Path, *, name: str, calls: bytes, n_calls: int, work: Path,
                   data: Path | None, mode: str, limits: Limits) -> tuple[dict, str | None]:
    """Run one submitted notebook in a fresh sandbox; return its validated results."""
    box = Path(tempfile.mkdtemp(prefix="box-", dir=work))
    try:
        (box / "notebooks").mkdir()
        try:
            shutil.copyfile(path, box / "notebooks" / f"{name}.ipynb")
        except OSError as error:
            return read_results(box / "none", n_calls), f"the file could not be read ({error})"
        (box / "calls.pkl").write_bytes(calls)
        code, _ = run_in_sandbox(_runner("student", "BOX"), box=box, data=data, mode=mode,
                                 limits=limits)
        results = read_results(box / "results.json", n_calls)
    finally:
        shutil.rmtree(box, ignore_errors=True)
    problem = None
    if code is None:
        problem = f"the notebook ran longer than {limits.seconds:g} s and was stopped"
    elif not results["done"]:
        problem = "the notebook stopped before every check had run (it exited or crashed)"
    return results, problem


# --------------------------------------------------------------------------- scoring


def _why(outcome) -> str:
    if outcome is None:
        return "not checked: the notebook stopped before this check ran"
    if "missing" in outcome:
        return (f"`{outcome['missing']}` is not defined in your notebook: keep the name given "
                "in the exercise (and run the cell that defines it)")
    if outcome.get("error") == "timeout":
        return "your function ran longer than the time limit"
    if outcome.get("error") == "invalid result":
        return "your function returned something that is not a number, text, array or table"
    if "error" in outcome:
        return f"your function raised {outcome['error']}"
    return ""


def score(*, student: str, notebook: str, checks, reference: Reference | None, results,
          problem, written: dict) -> tuple[list[dict], list[str]]:
    """Rows of ``grades.csv`` (with kind and hint) and notes for one student and notebook."""
    rows, notes = [], []
    if problem:
        notes.append(problem)
    if results is not None:
        for cell in results["cells"][:3]:
            what = ("ran longer than the time limit and was stopped" if cell["error"] == "timeout"
                    else f"raised {cell['error']}")
            notes.append(f"cell {cell['cell'] + 1} {what}")
        if len(results["cells"]) > 3:
            notes.append(f"{len(results['cells'])} cells raised errors in all: run the notebook "
                         "with 'Restart kernel and run all' before handing it in")
    for check in checks:
        row = {"student": student, "notebook": notebook, "exercise": check.grade_id,
               "points": 0.0, "max_points": check.points, "kind": check.kind, "hint": ""}
        if check.kind == "manual":
            answer = written.get(check.grade_id)
            if answer is None:
                row["points"] = None
                row["hint"] = ("the cell of this written answer is missing or lost its "
                               "metadata: the instructor reads the notebook")
            elif not answer.strip() or answer.strip() == "YOUR ANSWER HERE":
                row["hint"] = "no answer written"
            else:
                row["points"], row["hint"] = None, "graded by the instructor"
        elif results is None:
            row["hint"] = problem or "not submitted"
        else:
            failed = None
            for ref, outcome in zip(reference.references, results["calls"], strict=True):
                if ref["exercise"] != check.grade_id:
                    continue
                ok = (outcome is not None and "value" in outcome
                      and matches(outcome["value"], ref["value"], **ref["options"]))
                if not ok:
                    failed = _why(outcome) or ref["hint"]
                    if outcome is not None and "value" in outcome:
                        failed = ref["hint"]
                    break
            if failed is None:
                row["points"] = check.points
            else:
                row["hint"] = failed
        rows.append(row)
    return rows, notes


def written_answers(path: Path) -> dict:
    """Text of the written-answer cells of a submission, by grade_id (unreadable: none)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = nb.get("cells", [])
    except (OSError, ValueError, AttributeError):
        return {}
    out = {}
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and meta.get("solution") and meta.get("grade"):
            source = cell.get("source", "")
            out[str(meta.get("grade_id"))] = ("".join(source) if isinstance(source, list)
                                              else str(source))
    return out


def feedback_html(student: str, rows: pd.DataFrame, notes: dict) -> str:
    """One student's feedback page: points and hints per exercise, escaped."""
    esc = html.escape
    parts = ["<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
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


def grade_submissions(jobs_list, *, sources: dict, checks: dict, data: Path | None,
                      control: str, sandbox: str | None, limits: Limits, jobs: int,
                      log=None) -> tuple[dict, dict]:
    """Run references, controls and submissions; return results and problems by (student, nb).

    ``jobs_list``: (student, notebook name, path) of every submission. Raises `ClvError` when
    a solved notebook does not score full points in the sandbox.
    """
    mode = choose_mode(sandbox)
    if log:
        log(f"sandbox mode: {mode}")
    with tempfile.TemporaryDirectory(prefix="clvkit-grade-") as tmp:
        work = Path(tmp)
        work.chmod(0o711)
        box_data = read_only_copy(data, work) if data is not None else None
        names = sorted(sources)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            refs = dict(zip(names, pool.map(
                lambda n: build_reference(sources[n], work=work, data=data), names), strict=True))

            def one(job):
                student, name, path = job
                calls = refs[name].calls
                return job[:2], run_submission(path, name=name, calls=calls,
                                               n_calls=len(refs[name].references), work=work,
                                               data=box_data, mode=mode, limits=limits)

            everything = [(control, n, sources[n]) for n in names] + list(jobs_list)
            results = dict(pool.map(one, everything))
        for name in names:
            got, problem = results[(control, name)]
            rows, notes = score(student=control, notebook=name, checks=checks[name],
                                reference=refs[name], results=got, problem=problem, written={})
            failed = [f"{r['exercise']}: {r['hint']}" for r in rows
                      if r["kind"] == "auto" and r["points"] != r["max_points"]]
            if failed:
                raise ClvError(f"the solutions of {name} do not pass their own checks in the "
                               f"{mode} sandbox ({'; '.join(failed[:3])}; "
                               f"{'; '.join(notes[:2])}), so students would be graded wrongly; "
                               "nothing was graded")
    return refs, results
