"""Tests of clvkit.report.sections.segments."""

from __future__ import annotations

import pandas as pd

from clvkit.report.sections.segments import target_lists, target_lists_text, write_target_lists


def test_target_list_csv_neutralises_formula_like_ids(tmp_path):
    movement = pd.DataFrame(
        {"previous": ["Champions", "At risk", "Lost"], "current": ["At risk", "At risk", "Lost"],
         "monetary": [500.0, 80.0, 10.0],
         "last_purchase": pd.to_datetime(["2024-01-02", "2024-02-03", "2023-05-01"])},
        index=pd.Index(['=HYPERLINK("http://x","y")', "+1234 5", "c"], name="customer_id"))
    movement["moved"] = movement["previous"] != movement["current"]
    lists = target_lists(movement)
    assert lists["win_back"].index.tolist() == ['=HYPERLINK("http://x","y")']
    assert lists["at_risk"].index.tolist() == ['=HYPERLINK("http://x","y")', "+1234 5"]
    paths = write_target_lists(lists, folder=tmp_path, prefix="02-segments")
    back = pd.read_csv(paths["at_risk"], dtype=str)
    assert back["customer_id"].tolist() == ['\'=HYPERLINK("http://x","y")', "'+1234 5"]
    assert not back["customer_id"].str.match(r"[=+\-@]").any()
    assert "[02\\-segments\\-win\\-back\\.csv](02-segments-win-back.csv): 1 win-back" in (
        target_lists_text(lists, paths))
