"""The course notebooks: nbgrader exercises, figures and structure (their outputs: `make nbval`)."""

from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade

from clvkit.course import find_checks
from clvkit.errors import ClvError
from clvkit.notebook_tools import execute_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_course_is_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01-clv-formula", "02-segmentation", "03-retention-vs-acquisition", "04-crm-metrics",
        "05-predictive-clv", "06-personalisation-and-targeting", "07-contractual-retention",
        "08-crm-strategy-and-kpis", "09-covariates"]


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
    assert not any("raises-exception" in c.metadata.get("tags", []) for c in cells), (
        "the source notebooks run without errors: no raises-exception")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercises_are_nbgrader_cells_with_hidden_tests(path):
    nb = _read(path)
    checks = find_checks(nb)
    auto = [c for c in checks if c.kind == "auto"]
    assert len(auto) >= 2, "each notebook needs at least two autograded exercises"
    assert any(c.kind == "manual" for c in checks), "and a written (manually graded) question"
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells
           if "nbgrader" in cell.metadata]
    assert len(ids) == len(set(ids))
    for check in auto:
        cell = nb.cells[check.position]
        meta = cell.metadata["nbgrader"]
        assert meta["locked"] and not meta["solution"] and meta["points"] > 0
        assert "### BEGIN HIDDEN TESTS" in cell.source and "### END HIDDEN TESTS" in cell.source
        answer = nb.cells[check.position - 1]  # the answer cell comes right before its check
        assert answer.metadata["nbgrader"]["grade_id"] == f"{check.grade_id}-answer"
        assert "### BEGIN SOLUTION" in answer.source and "def " in answer.source, (
            "ask for a function the hidden tests can rerun on other data")
        # committed with the solution: the check passed, as nbgrader would score it
        assert determine_grade(cell) == (meta["points"], meta["points"]), check.grade_id
        assert [o.get("text") for o in cell.outputs] == ["Checks passed.\n"]
    for check in checks:
        if check.kind == "manual":
            cell = nb.cells[check.position]
            assert cell.cell_type == "markdown" and "### BEGIN SOLUTION" in cell.source


def test_later_sections_do_not_call_an_exercise_function():
    # in the student edition the function raises NotImplementedError until solved: a later
    # section calling it crashes for every student who has not solved it yet (issue 22:
    # notebook 09's section 5 called Exercise 1's `rate_multipliers`). Notebook 09 only:
    # 02 (`top_share`, cell 50) and 07 (`retention_by_year`, cell 13) still do; left to
    # their owners
    import re

    nb = _read(next(p for p in NOTEBOOKS if p.stem == "09-covariates"))
    heads = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "markdown" and c.source.startswith("## ")] + [len(nb.cells)]
    for check in (c for c in find_checks(nb) if c.kind == "auto"):
        answer = nb.cells[check.position - 1].source
        section_end = next(h for h in heads if h > check.position)
        for name in re.findall(r"^def (\w+)\(", answer, flags=re.M):
            callers = [i for i, cell in enumerate(nb.cells[section_end:], start=section_end)
                       if cell.cell_type == "code" and re.search(rf"\b{name}\(", cell.source)]
            assert not callers, f"cells {callers} call the exercise's `{name}`"


def test_notebook_09_visible_check_of_exercise_2_is_a_hint_not_the_formula():
    nb = _read(next(p for p in NOTEBOOKS if p.stem == "09-covariates"))
    check = next(c for c in find_checks(nb) if c.grade_id == "09-2")
    visible = nb.cells[check.position].source.split("### BEGIN HIDDEN TESTS")[0]
    assert "expected_purchases_new_customer" not in visible


def _demo_notebook(path, sources):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)
                                                   for src in sources]), str(path))
    return path


@pytest.mark.notebooks
def test_execute_saves_deterministically_and_names_failures(tmp_path):
    path = _demo_notebook(tmp_path / "00-demo.ipynb",
                          ["from pathlib import Path\nprint(Path.cwd().name)", "x = 1", "x + 1"])
    execute_notebook(path)
    first = path.read_text()
    execute_notebook(path)
    assert path.read_text() == first  # byte-identical re-runs
    saved = _read(path)
    assert [c.id for c in saved.cells] == ["cell-0", "cell-1", "cell-2"]
    assert saved.cells[0].outputs[0]["text"] == f"{tmp_path.name}\n"  # runs in its folder
    assert saved.cells[2].outputs[0]["data"]["text/plain"] == "2"
    assert all("execution" not in c.metadata for c in saved.cells)
    assert saved.metadata["kernelspec"]["name"] == "python3"

    broken = _demo_notebook(tmp_path / "00-broken.ipynb", ["1 / 0"])
    with pytest.raises(ClvError, match="00-broken.ipynb: a cell failed"):
        execute_notebook(broken)
