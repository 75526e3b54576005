"""clvkit.course: the student edition and grading of fake submissions (notebook 01).

Grading the seven fake students of ``tests/course_submissions`` runs seven kernels
(about 30-40 s on an idle 2-core machine, one of them waits for the 30 s cell timeout);
the full course is timed by ``benchmarks/bench_grading.py``.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from clvkit.cli import main as cli_main
from clvkit.course import MANIFEST, find_checks, grade, release, release_notebook
from clvkit.errors import ClvError

# grading runs every submission in a Jupyter kernel: part of `make nbval`, not the unit tests
pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"
NOTEBOOKS = sorted(SOURCE.glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _load_builder():
    spec = importlib.util.spec_from_file_location(
        "course_submissions_build", ROOT / "tests" / "course_submissions" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_edition_has_no_solutions_hidden_tests_or_outputs(path):
    source = nbformat.read(str(path), as_version=4)
    student = release_notebook(source)
    assert len(student.cells) == len(source.cells)
    text = "\n".join(c.source for c in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    for before, after in zip(source.cells, student.cells, strict=True):
        meta = _meta(before)
        if meta.get("solution") and before.cell_type == "code":
            assert "raise NotImplementedError()" in after.source
        elif meta.get("solution"):
            assert after.source == "YOUR ANSWER HERE"
        elif meta.get("grade"):  # the visible part of a check stays, locked
            assert after.source == before.source.split("### BEGIN HIDDEN TESTS")[0] + \
                before.source.split("### END HIDDEN TESTS\n")[1]
            assert after.metadata["editable"] is False and after.metadata["deletable"] is False
        else:
            assert after.source == before.source


def test_release_writes_every_notebook_and_refuses_a_foreign_folder(tmp_path):
    written = release(tmp_path / "student", source=SOURCE)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    assert json.loads((tmp_path / "student" / MANIFEST).read_text())["kind"] == "release"
    assert release(tmp_path / "student", source=SOURCE) == written  # a previous release: replaced
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert cli_main(["course", "release", str(foreign), "--source", str(SOURCE)]) == 2
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_release_equals_nbgrader_generate_assignment(tmp_path):
    """The real ``nbgrader generate_assignment`` gives the same cells as our release."""
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(nbformat.read(str(NOTEBOOKS[0]), as_version=4),
                   str(course / "source" / "ps1" / NOTEBOOKS[0].name))
    bin_dir = Path(sys.executable).parent  # nbgrader runs `alembic` from PATH
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", "ps1",
                    f"--CourseDirectory.root={course}"], check=True, env=env, cwd=course,
                   capture_output=True)
    theirs = nbformat.read(str(course / "release" / "ps1" / NOTEBOOKS[0].name), as_version=4)
    ours = release_notebook(nbformat.read(str(NOTEBOOKS[0]), as_version=4))
    assert [c.source for c in theirs.cells] == [c.source for c in ours.cells]
    assert [_meta(c) for c in theirs.cells] == [_meta(c) for c in ours.cells]


# ------------------------------------------------------------------ the fake submissions

#: points of (01-1, 01-2, 01-written) for each fake student; None = graded by the instructor
EXPECTED = {
    "correct":       (3, 3, None),
    "blank":         (0, 0, 0),      # unchanged written answer scores 0 automatically
    "wrong":         (0, 0, None),
    "edited_checks": (0, 0, None),   # the restored checks run, with their hidden tests
    "copied_number": (0, 0, None),   # passes the visible check, fails the hidden ones
    "endless":       (0, 3, None),   # the endless cell is stopped; the rest still runs
    "raises_at_top": (0, 0, None),   # right answers, but nothing works after the imports
    "peeker":        (3, 3, None),   # right answers; finds no hidden tests or solutions
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grading")
    submissions = _load_builder().build(tmp / "submissions", cases=list(EXPECTED),
                                        notebooks=[NOTEBOOKS[0].stem], source=SOURCE)
    table = grade(submissions, out=tmp / "out", source=SOURCE, timeout=30,
                  notebook_timeout=240, jobs=2)
    return table, tmp / "out", submissions


def test_fake_submissions_get_the_expected_points(graded):
    table, out, _ = graded
    assert list(table.columns) == ["student", "notebook", "exercise", "points", "max_points"]
    on_disk = pd.read_csv(out / "grades.csv")
    pd.testing.assert_frame_equal(on_disk, table.reset_index(drop=True), check_dtype=False)
    got = {student: tuple(None if pd.isna(p) else p
                          for p in group.sort_values("exercise")["points"])
           for student, group in table.groupby("student")}
    assert got == EXPECTED
    assert set(table["max_points"]) == {3.0, 2.0}


def test_feedback_names_the_hint_of_each_failed_check(graded):
    _, out, _ = graded
    pages = {p.stem: p.read_text() for p in (out / "feedback").glob("*.html")}
    assert set(pages) == set(EXPECTED)
    assert "APV is revenue per purchase (order), not per order line" in pages["wrong"]
    assert "APV is revenue per purchase" in pages["edited_checks"]  # the restored check's hint
    assert "two orders worth" in pages["copied_number"]             # a hidden check's hint
    assert "ran longer than the time limit" in pages["endless"]
    assert "ModuleNotFoundError" in pages["raises_at_top"]
    assert "6 / 6" in pages["correct"] and "AssertionError" not in pages["correct"]


def test_student_code_finds_no_hidden_tests_or_solutions_on_disk(graded):
    """The restored notebook goes to the executing process on stdin and the executed
    solutions are deleted before students run: nothing in the work folder to read."""
    _, out, _ = graded
    nb = nbformat.read(str(out / "autograded" / "peeker" / f"{NOTEBOOKS[0].stem}.ipynb"),
                       as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "PEEK 0" in printed, printed


def test_graded_notebooks_hold_the_restored_checks(graded):
    _, out, _ = graded
    nb = nbformat.read(str(out / "autograded" / "edited_checks" / f"{NOTEBOOKS[0].stem}.ipynb"),
                       as_version=4)
    checks = [c for c in nb.cells if _meta(c).get("grade") and c.cell_type == "code"]
    source = nbformat.read(str(NOTEBOOKS[0]), as_version=4)
    assert [c.source for c in checks] == [source.cells[c.position].source
                                          for c in find_checks(source) if c.kind == "auto"]
    assert all("BEGIN HIDDEN TESTS" in c.source for c in checks)


def test_grading_output_is_replaced_but_never_a_foreign_folder(graded, tmp_path):
    _, out, submissions = graded
    foreign = tmp_path / "results"
    foreign.mkdir()
    (foreign / "grades.csv").write_text("my own grades")
    with pytest.raises(ClvError, match="not written by `clvkit course grade`"):
        grade(submissions, out=foreign, source=SOURCE)
    assert (foreign / "grades.csv").read_text() == "my own grades"
    with pytest.raises(ClvError, match="overlaps the input folder"):
        grade(submissions, out=submissions / "correct", source=SOURCE)
    released = tmp_path / "student"
    release(released, source=SOURCE)
    with pytest.raises(ClvError, match="output of `clvkit course release`"):
        grade(submissions, out=released, source=SOURCE)
    assert (out / MANIFEST).exists()  # the previous grading output is recognised as such
    assert json.loads((out / MANIFEST).read_text())["kind"] == "grade"


def test_a_previous_grading_output_is_replaced_file_by_file(tmp_path):
    from clvkit.course import _prepare_output, _write_manifest

    out = tmp_path / "out"
    (out / "feedback").mkdir(parents=True)
    ours, theirs = out / "feedback" / "a.html", out / "README.txt"
    ours.write_text("old feedback")
    theirs.write_text("instructor notes")
    _write_manifest(out, kind="grade", files=[ours])
    _prepare_output(out, kind="grade", inputs=[tmp_path / "submissions"])
    assert not ours.exists() and theirs.read_text() == "instructor notes"


def test_grade_rejects_a_folder_without_submissions(tmp_path):
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    (tmp_path / "subs" / "alice" / "homework.ipynb").write_text("{}")
    with pytest.raises(ClvError, match="no submissions found"):
        grade(tmp_path / "subs", out=tmp_path / "out", source=SOURCE)
    assert not (tmp_path / "out").exists()


def _tiny_course(folder, answer, solution="return 2 * x"):
    """A one-exercise source notebook and one student's copy with ``answer`` as the answer."""
    def cell(source, **meta):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False,
                                  "locked": False, "task": False, **meta}
        return c

    source = nbformat.v4.new_notebook(cells=[
        cell(f"def double(x):\n    ### BEGIN SOLUTION\n    {solution}\n    ### END SOLUTION",
             solution=True, grade_id="00-1-answer"),
        cell("assert double(2) == 4, 'double 2'\n### BEGIN HIDDEN TESTS\n"
             "assert double(5) == 10, 'double 5'\n### END HIDDEN TESTS",
             grade=True, locked=True, grade_id="00-1", points=1)])
    source.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
    (folder / "source").mkdir(parents=True)
    nbformat.write(source, str(folder / "source" / "00-demo.ipynb"))
    student = release_notebook(source)
    student.cells[0].source = answer
    (folder / "subs" / "eve").mkdir(parents=True)
    nbformat.write(student, str(folder / "subs" / "eve" / "00-demo.ipynb"))
    return folder / "source", folder / "subs"


def test_a_check_that_never_ran_scores_nothing(tmp_path):
    """A kernel killed before the checks leaves them without output: 0, not full points."""
    source, subs = _tiny_course(tmp_path, "import os\nos._exit(1)")
    table = grade(subs, out=tmp_path / "out", source=source, timeout=30)
    assert table["points"].tolist() == [0.0]
    page = (tmp_path / "out" / "feedback" / "eve.html").read_text()
    assert "execution stopped early" in page or "the check did not run" in page



def test_grading_stops_when_the_solutions_fail_here(tmp_path):
    """A grading environment that cannot run the course must not give everyone 0."""
    source, subs = _tiny_course(tmp_path, "def double(x):\n    return 2 * x",
                                solution="import package_missing_here\n    return 2 * x")
    with pytest.raises(ClvError, match="solutions of 00-demo do not pass their own checks"):
        grade(subs, out=tmp_path / "out", source=source, timeout=30)
    assert not (tmp_path / "out").exists()


def test_notebook_08_fake_submissions(tmp_path):
    """The strategy notebook: the reference answers score every exercise, the blank edition and
    a typical mistake in each exercise (``WRONG`` of the builder) score none."""
    name = "08-crm-strategy-and-kpis"
    submissions = _load_builder().build(tmp_path / "subs", cases=["correct", "blank", "wrong"],
                                        notebooks=[name], source=SOURCE)
    table = grade(submissions, out=tmp_path / "out", source=SOURCE, timeout=60,
                  notebook_timeout=240, jobs=2)
    points = table.set_index(["student", "exercise"])["points"]
    auto = [f"08-{k}" for k in range(1, 6)]
    written = ["08-focus-written", "08-story-written", "08-written"]
    assert sorted(table["exercise"].unique()) == [*auto, *written]
    assert [points["correct", e] for e in auto] == [3.0] * 5
    assert [points[s, e] for s in ("blank", "wrong") for e in auto] == [0.0] * 10
    for question in written:
        assert points["blank", question] == 0 and pd.isna(points["correct", question])
    page = (tmp_path / "out" / "feedback" / "wrong.html").read_text()
    assert "lower churn is better" in page           # 08-4's hint
    assert "share of the group who bought the category" in page


def test_a_submission_that_rewrites_the_checks_gains_nothing(tmp_path):
    """An answer cell that installs an input transformer turns every later cell, the
    restored checks included, into ``pass``: it scored full points with a wrong answer.
    The grader fingerprints the kernel before each check; an honest answer that plots
    (matplotlib's inline backend registers its own callback) keeps its points."""
    cheat = ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
             "def double(x):\n    return 0")
    source, subs = _tiny_course(tmp_path, cheat)
    honest = nbformat.read(str(subs / "eve" / "00-demo.ipynb"), as_version=4)
    honest.cells[0].source = ("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n"
                              "def double(x):\n    return 2 * x")
    (subs / "ann").mkdir()
    nbformat.write(honest, str(subs / "ann" / "00-demo.ipynb"))
    table = grade(subs, out=tmp_path / "out", source=source, timeout=30)
    assert table.set_index("student")["points"].to_dict() == {"ann": 1.0, "eve": 0.0}
    page = (tmp_path / "out" / "feedback" / "eve.html").read_text()
    assert "changed how the grader runs cells (input transformers)" in page
    assert "changed how" not in (tmp_path / "out" / "feedback" / "ann.html").read_text()


def test_release_into_the_source_folder_names_the_argument_it_has(tmp_path, capsys):
    # `clvkit course release` has no --out: the refusal named an option the command lacks
    assert cli_main(["course", "release", str(SOURCE), "--source", str(SOURCE)]) == 2
    err = capsys.readouterr().err
    assert "the release folder" in err and "overlaps the input folder" in err
    assert "--out" not in err
