"""clvkit.grading and clvkit.sandbox without running notebooks: plain data, comparison, modes."""

import json

import numpy as np
import pandas as pd
import pytest

from clvkit._course_runner import Unsupported, to_plain
from clvkit.errors import ClvError
from clvkit.grading import matches, read_results, score
from clvkit.sandbox import choose_mode


def test_to_plain_accepts_data_and_refuses_objects():
    assert to_plain(np.float64(2.5)) == {"t": "num", "v": 2.5}
    assert to_plain(np.array([1, 2]))["t"] == "seq"
    assert to_plain(float("nan")) == {"t": "num", "v": "nan"}
    frame = to_plain(pd.DataFrame({"a": [1.0]}, index=["x"]))
    assert frame["columns"] == ["a"] and frame["index"] == ["x"]

    class Always:
        def __eq__(self, other):
            return True

    with pytest.raises(Unsupported):
        to_plain(Always())
    with pytest.raises(Unsupported):
        to_plain(np.zeros(300_000))


def test_matches_compares_numbers_labels_and_sets():
    num = lambda v: {"t": "num", "v": v}  # noqa: E731
    assert matches(num(0.1 + 0.2), num(0.3))
    assert not matches(num(1.0), num(1.01), atol=0.001)
    assert matches(num(1.0), num(1.01), atol=0.02)
    assert not matches({"t": "bool", "v": True}, num(1.0))     # True is not the number 1
    assert matches({"t": "seq", "v": [num(2.0)]}, num(2.0))     # a one-element answer
    assert matches(num("nan"), num("nan")) and not matches(num(1.0), num("nan"))
    a = to_plain(pd.Series(["x", "y"], index=[1, 2]))
    b = to_plain(pd.Series(["y", "x"], index=[2, 1]))
    assert matches(a, b) and not matches(a, b, compare="values")
    assert matches(to_plain(pd.Index([3, 1])), to_plain(np.array([1, 3])), compare="set")
    assert not matches(to_plain(pd.Index([3, 1, 1])), to_plain(np.array([1, 3])), compare="set")


@pytest.mark.parametrize("payload", [
    "not json", "[]", json.dumps({"calls": "x"}), json.dumps({"calls": [{"value": {"t": "obj"}}]}),
    json.dumps({"calls": [{"value": {"t": "seq", "v": [{"t": "num", "v": "1e9"}]}}]}),
    json.dumps({"calls": [{"error": "evil <script> text"}]}),
])
def test_read_results_turns_anything_malformed_into_a_miss(tmp_path, payload):
    path = tmp_path / "results.json"
    path.write_text(payload)
    got = read_results(path, 1)
    assert got["calls"][0] in (None, {"error": "invalid result"}, {"error": "error"})
    assert not got["done"]


def test_a_symlinked_results_file_is_not_read(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"calls": [{"value": {"t": "num", "v": 1}}], "done": True}))
    (tmp_path / "results.json").symlink_to(target)
    assert read_results(tmp_path / "results.json", 1)["calls"] == [None]


def test_score_gives_zero_to_exercises_a_crash_left_unanswered():
    from clvkit.course import Check

    class Ref:
        references = [{"exercise": f"e{k}", "hint": f"h{k}", "options": {},
                       "value": {"t": "num", "v": k}} for k in (1, 2)]

    results = {"cells": [], "calls": [{"value": {"t": "num", "v": 1}}, None], "done": False}
    rows, notes = score(student="s", notebook="n", checks=[Check("e1", 3, "auto", 0),
                                                            Check("e2", 3, "auto", 1)],
                        reference=Ref, results=results, problem="stopped", written={})
    assert [r["points"] for r in rows] == [3, 0.0] and notes == ["stopped"]
    assert "stopped before this check ran" in rows[1]["hint"]


def test_choose_mode_refuses_an_unknown_or_unavailable_mode():
    with pytest.raises(ClvError, match="must be one of"):
        choose_mode("docker")
    assert choose_mode("rlimits") == "rlimits"
