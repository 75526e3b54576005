"""Cheating and broken submissions against the grader, on a tiny two-exercise course.

The cheats attack the grading machinery, not one lesson, so a tiny course keeps each run
short: ``00-demo.ipynb`` asks for ``double(x)`` (exercise ``00-1``, 1 point) and
``share_above(values, threshold)`` (``00-2``, 1 point: the share of values above a
threshold), plus a written answer (``00-written``). Its check file calls both on visible
and hidden inputs; the hidden threshold is :data:`SECRET` so a leak is easy to find.

:data:`CHEATS` maps each student to the code of their notebook (cells) and the points the
grader must give: ``(00-1, 00-2)``. ``tests/test_course.py`` grades them all at once and
checks each outcome, plus what the cheat must not have achieved (a rewritten grades.csv,
another student's file changed, a surviving process, a leak into the feedback page).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

#: A hidden input of the check file: it must never appear in a feedback page.
SECRET = 0.7371

DOUBLE = "def double(x):\n    return 2 * x\n"
SHARE = ("def share_above(values, threshold):\n"
         "    values = pd.Series(values, dtype=float)\n"
         "    return float((values > threshold).mean())\n")
RIGHT = DOUBLE + "\n\n" + SHARE

#: Marker in the command line of every process a cheat starts (the test looks for survivors).
MARKER = "clvkit-cheat-daemon"

_DAEMON = f'''
import os, sys, time, pathlib
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        sys.argv[0] = "{MARKER}"
        try:
            import setproctitle
        except ImportError:
            pass
        os.execvp(sys.executable, [sys.executable, "-c", """
import pathlib, time
for _ in range(600):
    for root in ("/", "/tmp", "/work", "/root"):
        for p in pathlib.Path(root).glob("**/grades.csv"):
            try:
                p.write_text("student,notebook,exercise,points,max_points\\\\nmallory,00-demo,00-1,999,1\\\\n")
            except OSError:
                pass
    time.sleep(0.5)
""", "{MARKER}"])
    os._exit(0)
'''

_SNOOP = '''
import glob, os, pathlib
found = 0
for pattern in ("/proc/*/cwd/**/*.ipynb", "../data/../../**/*.ipynb", "/work/*/*/notebooks/*",
                "/work/*/*/notebooks/checks/*.py", "/tmp/**/*.ipynb", "/tmp/**/checks/*.py",
                "../../**/checks/*.py", "../../../*/*/*.ipynb", "/proc/*/environ"):
    for path in glob.glob(pattern, recursive=True)[:200]:
        if path.endswith("submission-of-others.ipynb") or "/box/notebooks" in path:
            continue
        try:
            text = pathlib.Path(path).read_text(errors="ignore")
        except OSError:
            continue
        if ("BEGIN " + "SOLUTION") in text or ("ca" + "se(") in text or "victim" in path:
            found += 1
            try:
                pathlib.Path(path).write_text("{}")  # vandalise what was found
            except OSError:
                pass
'''

#: student -> (cells of code, (points of 00-1, points of 00-2), what is tried)
CHEATS: dict[str, tuple[list[str], tuple[float, float], str]] = {
    "honest": ([RIGHT], (1, 1), "the right answers"),
    "blank": (["def double(x):\n    raise NotImplementedError()\n\n\n"
               "def share_above(values, threshold):\n    raise NotImplementedError()\n"],
              (0, 0), "the student edition as released"),
    "typed_number": (["def double(x):\n    return 4\n\n\n"
                      "def share_above(values, threshold):\n    return 0.5\n"], (0, 0),
                     "returns the numbers the visible checks want"),
    "wrap_messages": (["import sys\nip = get_ipython()\n"
                       "ip.showtraceback = lambda *a, **k: None\n"
                       "sys.stderr.write = lambda *a: 0\n"
                       "def double(x):\n    return x\n\n"
                       "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                      "silences tracebacks and stderr so failed checks look clean"),
    "shadow_exec": (["import builtins\nbuiltins.exec = lambda *a, **k: None\n"
                     "def double(x):\n    return x\n\n"
                     "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                    "shadows exec so check code does not run"),
    "optimize_asserts": (["get_ipython().compile.flags |= 0\n"
                          "exec(compile('assert False', 'x', 'exec', optimize=1))\n"
                          "import sys\nsys.flags.__class__\n"
                          "def double(x):\n    return x\n\n"
                          "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                         "compiles with optimize=1 so asserts vanish"),
    "shadow_names": (["abs = lambda x: 0\nclass _N:\n    def __getattr__(self, k):\n"
                      "        return lambda *a, **kw: True\nnp = _N()\nfloat = lambda x: 4.0\n"
                      "def double(x):\n    return x\n\n"
                      "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                     "shadows abs, np and float in the namespace"),
    "patch_libraries": (["import builtins, math, numpy\n"
                         "math.isclose = lambda *a, **k: True\n"
                         "numpy.allclose = lambda *a, **k: True\n"
                         "numpy.isclose = lambda *a, **k: True\n"
                         "builtins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n"
                         "def double(x):\n    return x\n\n"
                         "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                        "patches math.isclose, numpy.allclose and builtins"),
    "lying_array": (["import numpy\n"
                     "class Liar(numpy.ndarray):\n"
                     "    def __eq__(self, other):\n        return True\n"
                     "    def __float__(self):\n        return 4.0\n"
                     "    def tolist(self):\n        return 4.0\n"
                     "def double(x):\n    return numpy.zeros(3).view(Liar)\n\n"
                     "class Always:\n    def __eq__(self, other):\n        return True\n"
                     "    __float__ = lambda self: 0.5\n"
                     "def share_above(values, threshold):\n    return Always()\n"], (0, 0),
                    "an array subclass and an object that claim to equal anything"),
    "exit_in_call": ([DOUBLE + "\n\nimport os\n\ndef share_above(values, threshold):\n"
                      "    os._exit(0)\n"], (1, 0),
                     "os._exit inside the second function: a dead process is no pass"),
    "sys_exit_cell": (["import sys\nsys.exit(0)\n", RIGHT], (1, 1),
                      "sys.exit in a cell: the cell stops, the answers below still count"),
    "daemon": ([_DAEMON, RIGHT], (1, 1),
               "a double-forked daemon that rewrites every grades.csv it can find"),
    "snoop": ([_SNOOP, RIGHT.replace("return 2 * x", "return 2 * x + found")], (1, 1),
              "reads /proc, the data link and the disk for solutions, checks and other "
              "students' work, and vandalises them: full points only if it found nothing"),
    "leak_inputs": (["def double(x):\n    raise ValueError(f'inputs: {x!r}')\n\n\n"
                     "def share_above(values, threshold):\n"
                     "    raise ValueError(f'threshold={threshold!r} values={list(values)!r}')\n",
                     "raise RuntimeError('<script>alert(1)</script>')\n"], (0, 0),
                    "puts the hidden inputs into its error messages"),
    "forge_results": (["import json, os, pathlib\n"
                       "pathlib.Path('/box/results.json').write_text(json.dumps({'cells': [],"
                       " 'calls': [{'value': {'t': 'num', 'v': 1}}] * 50, 'done': True}))\n"
                       "pathlib.Path('../results.json').write_text('{\"done\": true}')\n"
                       "os._exit(0)\n"], (0, 0),
                      "writes a forged results file and exits before the calls"),
    "patch_runner": (["import sys\nrunner = sys.modules['clvkit._course_runner']\n"
                      "runner.to_plain = lambda x, _count=None: {'t': 'num', 'v': 1.0}\n"
                      "runner._call = lambda shell, call: {'value': {'t': 'num', 'v': 1.0}}\n"
                      "def double(x):\n    return x\n\n"
                      "def share_above(values, threshold):\n    return 0.0\n"], (0, 0),
                     "replaces the grader's runner inside its own process"),
    "endless_cell": (["while True:\n    pass\n", RIGHT], (1, 1),
                     "an endless cell: stopped at the cell limit, the rest runs"),
    "ignores_alarm": (["import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                       "signal.signal(signal.SIGPROF, signal.SIG_IGN)\n"
                       "signal.setitimer = lambda *a: None\n", RIGHT,
                       "while True:\n    pass\n"], (0, 0),
                      "disables both cell timers, then loops: killed at the notebook limit"),
    "memory_hog": (["block = bytearray(64 * 2**30)\n", RIGHT], (1, 1),
                   "asks for 64 GiB: refused by the memory limit, the rest runs"),
    "renamed": (["def twice(x):\n    return 2 * x\n\n\n" + SHARE], (0, 1),
                "a function under another name: 0 for that exercise, with a hint"),
    "lost_metadata": ([RIGHT], (1, 1),
                      "the answers copied into a new notebook without nbgrader metadata: "
                      "found by function name"),
}

#: students whose folder names attack the grades file
ODD_NAMES = {'=HYPERLINK("evil.example","win")': ([RIGHT], (1, 1), "a formula as name")}


def tiny_source(folder: Path) -> Path:
    """Write the tiny course (source notebook, check file) into ``folder``; return it."""
    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
                                  "locked": False, "task": False, **meta}
        return c

    written = nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    written.metadata["nbgrader"] = {"schema_version": 3, "solution": True, "grade": True,
                                    "locked": False, "task": False, "grade_id": "00-written",
                                    "points": 1}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import pandas as pd"),
        cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
             solution=True, grade_id="00-1-answer"),
        cell("assert double(2) == 4, 'double 2'", grade=True, locked=True, grade_id="00-1",
             points=1),
        cell("def share_above(values, threshold):\n    ### BEGIN SOLUTION\n"
             "    return float((pd.Series(values, dtype=float) > threshold).mean())\n"
             "    ### END SOLUTION", solution=True, grade_id="00-2-answer"),
        cell("assert share_above([1, 2, 3, 4], 2) == 0.5, 'half of them'", grade=True,
             locked=True, grade_id="00-2", points=1),
        written])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    source = folder / "source"
    (source / "checks").mkdir(parents=True)
    nbformat.write(nb, str(source / "00-demo.ipynb"))
    (source / "checks" / "00-demo.py").write_text(
        'case("00-1", "double", 2, hint="twice the number you are given")\n'
        'case("00-1", "double", 21.5, hint="twice the number you are given")\n'
        'case("00-2", "share_above", [1, 2, 3, 4], 2, hint="the share of values above it")\n'
        f'case("00-2", "share_above", [0.1, 0.8, 0.9, 0.95, {SECRET}], {SECRET},\n'
        '     hint="strictly above the threshold you are given")\n')
    (folder / "data").mkdir()
    (folder / "data" / "README.md").write_text("the tiny course's data folder\n")
    return source


def submission(source: Path, cells: list[str], *, keep_metadata: bool = True):
    """The student edition with ``cells`` as the answer cells (the first replaces 00-1's
    answer, the rest go after it, the 00-2 answer cell is emptied)."""
    from clvkit.course import release_notebook

    nb = release_notebook(nbformat.read(str(source / "00-demo.ipynb"), as_version=4))
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
               and c.cell_type == "code"]
    answers[0].source = cells[0]
    answers[1].source = ""
    at = nb.cells.index(answers[0])
    for offset, text in enumerate(cells[1:], start=1):
        nb.cells.insert(at + offset, nbformat.v4.new_code_cell(text))
    if not keep_metadata:
        code = [nbformat.v4.new_code_cell(c.source) for c in nb.cells if c.cell_type == "code"
                and not c.metadata.get("nbgrader", {}).get("grade")]
        nb = nbformat.v4.new_notebook(cells=code)
    return nb


def build(folder: Path) -> tuple[Path, Path]:
    """Write the tiny course and every cheat's submission; return (source, submissions)."""
    source = tiny_source(folder)
    subs = folder / "subs"
    for name, (cells, _, _) in {**CHEATS, **ODD_NAMES}.items():
        (subs / name).mkdir(parents=True)
        nb = submission(source, cells, keep_metadata=name != "lost_metadata")
        nbformat.write(nb, str(subs / name / "00-demo.ipynb"))
    # the snooper's victim: another student's file it must not find or change
    (subs / "victim").mkdir()
    nbformat.write(submission(source, [RIGHT]), str(subs / "victim" / "00-demo.ipynb"))
    return source, subs
