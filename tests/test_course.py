"""clvkit.course and clvkit.grading: the student edition, grading fake and cheating submissions.

Each graded submission runs in its own sandbox (bubblewrap here: ``make sandbox`` installs it).
Notebook 01 is graded for seven fake students, notebook 08 for three, and the tiny course of
``tests/course_submissions/cheats.py`` for every cheat; the full course is timed by
``benchmarks/bench_grading.py``.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from clvkit.cli import main as cli_main
from clvkit.course import CONTROL, MANIFEST, find_checks, grade, release, release_notebook
from clvkit.errors import ClvError
from clvkit.grading import check_file
from clvkit.sandbox import choose_mode

# grading runs every submission in a Jupyter kernel: part of `make nbval`, not the unit tests
pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks"
NOTEBOOKS = sorted(SOURCE.glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _load(name):
    spec = importlib.util.spec_from_file_location(
        f"course_submissions_{name}", ROOT / "tests" / "course_submissions" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_builder():
    return _load("build")


@pytest.fixture(scope="module")
def bwrap():
    """The cheats are only safe to run in the bubblewrap sandbox (the other modes do not
    isolate files: a cheat would vandalise this checkout)."""
    if choose_mode() != "bwrap":
        pytest.fail("these tests need the bubblewrap sandbox: run `make sandbox` (root, apt) "
                    "or install Debian's bubblewrap with user namespaces allowed")
    return "bwrap"


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
    "edited_checks": (0, 0, None),   # its check cells never decide anything
    "copied_number": (0, 0, None),   # typed numbers: right on the notebook's data only
    "endless":       (0, 3, None),   # the endless cell is stopped; the rest still runs
    "raises_at_top": (3, 3, None),   # a broken import cell: noted, but its functions are right
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, bwrap):
    tmp = tmp_path_factory.mktemp("grading")
    submissions = _load_builder().build(tmp / "submissions", cases=list(EXPECTED),
                                        notebooks=[NOTEBOOKS[0].stem], source=SOURCE)
    table = grade(submissions, out=tmp / "out", source=SOURCE, timeout=20,
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


def test_feedback_shows_student_hints_only(graded):
    _, out, _ = graded
    pages = {p.stem: p.read_text() for p in (out / "feedback").glob("*.html")}
    assert set(pages) == set(EXPECTED)
    assert "APV is revenue per purchase (order), not per order line" in pages["wrong"]
    assert "one order has two lines" in pages["copied_number"]      # a hidden case's hint
    assert "ran longer than the time limit" in pages["endless"]
    assert "raised ModuleNotFoundError" in pages["raises_at_top"]
    assert "6 / 6" in pages["correct"]
    checks = check_file(NOTEBOOKS[0]).read_text()
    for page in pages.values():  # no check code, no input, no expected value
        assert "case(" not in page and "Germany" not in page and "479.56" not in page
        assert "Traceback" not in page and "assert" not in page
    assert "Germany" in checks  # (the hidden inputs that must not leak)


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


def test_notebook_08_fake_submissions(tmp_path, bwrap):
    """The strategy notebook: the reference answers score every exercise, the blank edition and
    a typical mistake in each exercise (``WRONG`` of the builder) score none."""
    name = "08-crm-strategy-and-kpis"
    submissions = _load_builder().build(tmp_path / "subs", cases=["correct", "blank", "wrong"],
                                        notebooks=[name], source=SOURCE)
    table = grade(submissions, out=tmp_path / "out", source=SOURCE, timeout=60,
                  notebook_timeout=240, jobs=2)
    points = table.set_index(["student", "exercise"])["points"]
    auto = [f"08-{k}" for k in range(1, 6)]
    written = ["08-focus-written", "08-story-written", "08-voice-written", "08-written"]
    assert sorted(table["exercise"].unique()) == [*auto, *written]
    assert [points["correct", e] for e in auto] == [3.0] * 5
    assert [points[s, e] for s in ("blank", "wrong") for e in auto] == [0.0] * 10
    for question in written:
        assert points["blank", question] == 0 and pd.isna(points["correct", question])
    page = (tmp_path / "out" / "feedback" / "wrong.html").read_text()
    assert "lower churn is better" in page           # 08-4's hint
    assert "share of ALL customers who bought it" in page


def test_notebook_09_fake_submissions(tmp_path, bwrap):
    """The covariates notebook: the reference answers score both exercises, the blank edition
    and the typical mistake of each (``WRONG`` of the builder: a lifetime multiplier read as
    exp(+gamma), ...) score none; the written question is left to the instructor."""
    name = "09-covariates"
    submissions = _load_builder().build(tmp_path / "subs", cases=["correct", "blank", "wrong"],
                                        notebooks=[name], source=SOURCE)
    table = grade(submissions, out=tmp_path / "out", source=SOURCE, timeout=60,
                  notebook_timeout=240, jobs=2)
    points = table.set_index(["student", "exercise"])["points"]
    auto = ["09-1", "09-2"]
    assert sorted(table["exercise"].unique()) == [*auto, "09-written"]
    assert [points["correct", e] for e in auto] == [3.0, 3.0]   # the nbgrader points
    assert [points[s, e] for s in ("blank", "wrong") for e in auto] == [0.0] * 4
    assert points["blank", "09-written"] == 0 and pd.isna(points["correct", "09-written"])


# ------------------------------------------------------------------ cheats (a tiny course)


@pytest.fixture(scope="module")
def cheated(tmp_path_factory, bwrap):
    cheats = _load("cheats")
    tmp = tmp_path_factory.mktemp("cheats")
    source, subs = cheats.build(tmp)
    before = {p: p.read_bytes() for p in subs.rglob("*.ipynb")}
    out = tmp / "out"
    table = grade(subs, out=out, source=source, data=tmp / "data", timeout=5,
                  notebook_timeout=40, jobs=2)
    grades_after = (out / "grades.csv").read_bytes()
    time.sleep(2)  # a surviving daemon would rewrite grades.csv in this time
    return cheats, table, out, subs, before, grades_after


def test_every_cheat_gets_its_outcome(cheated):
    cheats, table, *_ = cheated
    assert len(cheats.CHEATS) >= 15
    expected = {name: points for name, (_, points, _) in
                {**cheats.CHEATS, **cheats.ODD_NAMES}.items()}
    expected["victim"] = (1, 1)
    auto = table[~table["exercise"].str.endswith("written")]
    got = {student: tuple(group.sort_values("exercise")["points"])
           for student, group in auto.groupby("student")}
    assert got == expected


def test_no_process_of_a_submission_survives_and_grades_stay(cheated):
    cheats, _, out, _, _, grades_after = cheated
    survivors = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and cheats.MARKER in (proc / "cmdline").read_text():
                survivors.append(proc.name)
        except OSError:
            continue
    assert survivors == []
    assert (out / "grades.csv").read_bytes() == grades_after
    assert b"999" not in grades_after and b"mallory" not in grades_after


def test_submissions_cannot_read_or_change_each_other(cheated):
    _, table, _, subs, before, _ = cheated
    assert {p: p.read_bytes() for p in subs.rglob("*.ipynb")} == before
    points = table[table["student"].isin(["snoop", "victim"])
                   & ~table["exercise"].str.endswith("written")]["points"]
    assert points.tolist() == [1.0] * 4  # the snooper found nothing (else its answers are off)


def test_feedback_never_carries_hidden_inputs_or_submission_text(cheated):
    cheats, _, out, *_ = cheated
    page = (out / "feedback" / "leak_inputs.html").read_text()
    assert str(cheats.SECRET) not in page and "21.5" not in page
    assert "raised ValueError" in page and "<script>" not in page
    for path in (out / "feedback").glob("*.html"):
        text = path.read_text()
        assert str(cheats.SECRET) not in text and "case(" not in text


def test_a_formula_as_student_name_stays_text_in_grades_csv(cheated):
    _, _, out, *_ = cheated
    text = (out / "grades.csv").read_text()
    assert not re.search(r"^=", text, flags=re.M) and "'=HYPERLINK(" in text


def test_lost_metadata_finds_answers_by_name_and_says_what_is_missing(cheated):
    _, table, out, *_ = cheated
    rows = table[table["student"] == "lost_metadata"].set_index("exercise")["points"]
    assert rows["00-1"] == 1 and rows["00-2"] == 1 and pd.isna(rows["00-written"])
    page = (out / "feedback" / "lost_metadata.html").read_text()
    assert "lost its metadata" in page
    assert "`double` is not defined" in (out / "feedback" / "renamed.html").read_text()


def test_grading_stops_when_the_solutions_fail_here(tmp_path, bwrap):
    """A grading environment that cannot run the course must not give everyone 0."""
    cheats = _load("cheats")
    source, subs = cheats.build(tmp_path)
    text = (source / "checks" / "00-demo.py").read_text()
    (source / "checks" / "00-demo.py").write_text(text.replace('"double", 2,', '"triple", 2,'))
    one = tmp_path / "one" / "honest"
    one.mkdir(parents=True)
    (one / "00-demo.ipynb").write_bytes((subs / "honest" / "00-demo.ipynb").read_bytes())
    with pytest.raises(ClvError, match="00-demo.ipynb or its checks failed here"):
        grade(one.parent, out=tmp_path / "out", source=source, data=tmp_path / "data")
    assert not (tmp_path / "out").exists()


def test_release_into_the_source_folder_names_the_argument_it_has(tmp_path, capsys):
    # `clvkit course release` has no --out: the refusal named an option the command lacks
    assert cli_main(["course", "release", str(SOURCE), "--source", str(SOURCE)]) == 2
    err = capsys.readouterr().err
    assert "the release folder" in err and "overlaps the input folder" in err
    assert "--out" not in err


def test_every_course_notebook_has_a_check_file_for_each_exercise():
    for path in NOTEBOOKS:
        text = check_file(path).read_text()
        auto = [c.grade_id for c in find_checks(nbformat.read(str(path), as_version=4))
                if c.kind == "auto"]
        for grade_id in auto:
            assert f'("{grade_id}"' in text, (path.name, grade_id)
    assert CONTROL.startswith("(")  # never a folder name a student could have


def test_student_edition_holds_no_solution_hidden_test_or_output(tmp_path):
    """What `make student` builds (``clvkit course release student/notebooks``): only the
    notebooks, without a line of any solution or hidden test, without outputs; the check
    files (hidden inputs) and the instructors' guide are not in it."""
    out = tmp_path / "student" / "notebooks"
    assert cli_main(["course", "release", str(out), "--source", str(SOURCE)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST] + [p.name for p in NOTEBOOKS])
    for path in NOTEBOOKS:
        source = nbformat.read(str(path), as_version=4)
        released = (out / path.name).read_text()
        student = nbformat.reads(released, as_version=4)
        secret = []
        for cell in source.cells:
            for begin, end in (("### BEGIN SOLUTION", "### END SOLUTION"),
                               ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
                for block in re.findall(re.escape(begin) + r"(.*?)" + re.escape(end),
                                        cell.source, flags=re.S):
                    secret += [line.strip() for line in block.splitlines()
                               if len(line.strip()) > 12]
        assert secret, path.name
        text = "\n".join(c.source for c in student.cells)
        assert [line for line in secret if line in text] == [], path.name
        assert "BEGIN SOLUTION" not in released and "HIDDEN TESTS" not in released
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in student.cells if c.cell_type == "code"), path.name
        for line in check_file(path).read_text().splitlines():  # no check-file input
            if line.startswith("_") and "=" in line:
                assert line not in text, (path.name, line)


def test_the_rlimits_mode_grades_trusted_notebooks_the_same(tmp_path):
    """The last-resort mode (no isolation, documented) still grades by value."""
    cheats = _load("cheats")
    source, subs = cheats.build(tmp_path)
    two = tmp_path / "two"
    for name in ("honest", "typed_number"):
        (two / name).mkdir(parents=True)
        (two / name / "00-demo.ipynb").write_bytes((subs / name / "00-demo.ipynb").read_bytes())
    table = grade(two, out=tmp_path / "out", source=source, data=tmp_path / "data",
                  sandbox="rlimits", notebook_timeout=60)
    auto = table[~table["exercise"].str.endswith("written")]
    assert auto.groupby("student")["points"].sum().to_dict() == {"honest": 2.0,
                                                                 "typed_number": 0.0}
