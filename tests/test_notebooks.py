"""The course notebooks: exercises, figures and structure (their outputs: `make nbval`)."""

from pathlib import Path

import nbformat
import pytest

from clvkit.errors import ClvError
from clvkit.notebook_tools import (
    RAISES_TAG,
    check_exercises,
    find_exercises,
    grade_notebook,
    load_solutions,
    solutions_path,
    solve_notebook,
)

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_course_is_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-clv-formula", "02-segmentation", "03-retention-vs-acquisition", "04-crm-metrics",
        "05-predictive-clv", "06-personalisation-and-targeting"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_objectives_prose_and_summary(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "\n1. " in first.source, "the first cell lists the objectives"
    assert any(c.cell_type == "markdown" and c.source.strip() == "## Summary" for c in nb.cells)
    for i, cell in enumerate(nb.cells):  # prose introduces every figure: at most one code
        if cell.cell_type == "code" and "plt.show()" in cell.source:  # cell in between
            kinds = [c.cell_type for c in nb.cells[max(0, i - 2):i]]
            assert "markdown" in kinds, f"figure cell {i} is not introduced by prose"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_check_fails_on_placeholder_and_passes_on_solution(path):
    table = check_exercises(path)
    assert len(table) >= 2, "each notebook needs at least two exercises"
    assert (table["placeholder"] == "AssertionError").all(), table
    assert (table["solution"] == "passed").all(), table
    wrong = table["wrong"].dropna()
    assert (wrong == "AssertionError").all(), table
    assert len(wrong) == len(table), "give a typical wrong answer for every exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_figures_render(path):
    nb = _read(path)
    figure_cells = [c for c in _code_cells(nb) if "plt.show()" in c.source]
    assert figure_cells, "every notebook shows at least one figure"
    for cell in figure_cells:
        kinds = {key for out in cell.outputs for key in out.get("data", {})}
        assert "image/png" in kinds, f"no PNG figure saved for cell:\n{cell.source[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_notebook_structure(path):
    nb = _read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    cells = _code_cells(nb)
    assert sum("parameters" in c.metadata.get("tags", []) for c in cells) == 1
    assert all(c.execution_count is not None for c in cells), "commit the notebook executed"
    for c in cells:
        assert "/work/" not in c.source and "C:\\" not in c.source, "no absolute paths"
        assert "execution" not in c.metadata, "run `make notebooks` to strip timing metadata"
    for ex in find_exercises(nb):
        check = nb.cells[ex.check_cell]
        assert RAISES_TAG in check.metadata.get("tags", [])
        assert [o.get("ename") for o in check.outputs] == ["AssertionError"], ex.id
        assert "YOUR CODE HERE" in ex.placeholder
        assert "assert" in ex.check


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_solved_notebook_has_no_expected_errors(path):
    solved = solve_notebook(_read(path), load_solutions(solutions_path(path)))
    for ex in find_exercises(solved):
        assert RAISES_TAG not in solved.cells[ex.check_cell].metadata.get("tags", [])
        assert "YOUR CODE HERE" not in solved.cells[ex.answer_cell].source


def test_find_exercises_rejects_a_missing_check():
    cell = nbformat.v4.new_code_cell("x = None")
    cell.metadata["exercise"] = {"id": "00-1", "role": "answer"}
    with pytest.raises(ClvError, match="00-1"):
        find_exercises(nbformat.v4.new_notebook(cells=[cell]))


def _demo_notebook(path, exercises, before=()):
    """A notebook of plain cells ``before`` then (answer, check) pairs, ids 00-1, 00-2, ..."""
    cells = [nbformat.v4.new_code_cell(src) for src in before]
    for number, (answer, check) in enumerate(exercises, start=1):
        pair = [nbformat.v4.new_code_cell(answer), nbformat.v4.new_code_cell(check)]
        for cell, role in zip(pair, ("answer", "check"), strict=True):
            cell.metadata["exercise"] = {"id": f"00-{number}", "role": role}
        cells += pair
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def test_find_exercises_rejects_a_duplicate_id(tmp_path):
    path = _demo_notebook(tmp_path / "00-demo.ipynb", [("x = 1", "assert x == 1")] * 2)
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[2].metadata["exercise"]["id"] = "00-1"
    with pytest.raises(ClvError, match="two answer cells"):
        find_exercises(nb)


def test_grade_reports_each_exercise(tmp_path):
    path = _demo_notebook(tmp_path / "00-demo.ipynb", [
        ("x = 2", "assert x == 2"),                   # right
        ("y = 3", "assert y == 4, 'y is 4'"),         # wrong
        ("z = undefined_name", "assert z == 1"),      # answer cell crashes
    ], before=["import math"])
    assert grade_notebook(path)["outcome"].tolist() == [
        "passed", "AssertionError", "answer cell raised NameError"]


def test_grade_names_a_broken_cell(tmp_path):
    path = _demo_notebook(tmp_path / "00-demo.ipynb", [("x = 1", "assert x == 1")],
                          before=["1 / 0"])
    with pytest.raises(ClvError, match="cell 0 raised ZeroDivisionError"):
        grade_notebook(path)


def test_check_exercises_detects_a_check_that_cannot_fail(tmp_path):
    _demo_notebook(tmp_path / "00-demo.ipynb", [("x = None  # YOUR CODE HERE", "assert True")])
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "00-demo.py").write_text("# %% [00-1]\nx = 1\n")
    table = check_exercises(tmp_path / "00-demo.ipynb")
    assert table.loc["00-1", "placeholder"] == "passed"  # the test above would flag it


def test_execute_saves_deterministically_and_names_failures(tmp_path):
    from clvkit.notebook_tools import execute_notebook

    path = _demo_notebook(tmp_path / "00-demo.ipynb", [("x = None  # YOUR CODE HERE",
                                                        "assert x == 1, 'x is 1'")],
                          before=["from pathlib import Path\nprint(Path.cwd().name)"])
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[2].metadata["tags"] = [RAISES_TAG]
    nbformat.write(nb, str(path))
    execute_notebook(path)
    first = path.read_text()
    execute_notebook(path)
    assert path.read_text() == first  # byte-identical re-runs
    saved = _read(path)
    assert [c.id for c in saved.cells] == ["cell-0", "cell-1", "cell-2"]
    assert saved.cells[0].outputs[0]["text"] == f"{tmp_path.name}\n"  # runs in its folder
    assert saved.cells[2].outputs[0]["evalue"] == "x is 1"
    assert all("execution" not in c.metadata for c in saved.cells)
    assert saved.metadata["kernelspec"]["name"] == "python3"

    broken = _demo_notebook(tmp_path / "00-broken.ipynb", [], before=["1 / 0"])
    with pytest.raises(ClvError, match="00-broken.ipynb: a cell failed"):
        execute_notebook(broken)


def test_in_process_runs_leave_no_global_state(tmp_path):
    import matplotlib
    import pandas as pd

    before = (pd.get_option("display.float_format"), matplotlib.rcParams["axes.grid"])
    _demo_notebook(tmp_path / "00-demo.ipynb", [("x = None  # YOUR CODE HERE", "assert x == 1")],
                   before=["import pandas as pd\nimport seaborn as sns\n"
                           "pd.set_option('display.float_format', '{:.1f}'.format)\n"
                           "sns.set_theme(style='whitegrid')"])
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "00-demo.py").write_text("# %% [00-1]\nx = 1\n")
    check_exercises(tmp_path / "00-demo.ipynb")
    assert (pd.get_option("display.float_format"), matplotlib.rcParams["axes.grid"]) == before
