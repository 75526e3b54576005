"""Tests of clvkit.report.sections.segments."""

from __future__ import annotations

import pandas as pd
import pytest

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


# ------------------------------------------------------------- transitions, revenue, grid

def hand_movement():
    """Six customers whose segments last month and this month are known."""
    return pd.DataFrame(
        {"previous": ["Champions", "Champions", "Champions", "At risk", "Lost", "(new)"],
         "current": ["Champions", "Loyal customers", "Loyal customers", "Lost", "Lost",
                     "Recent light buyers"],
         "r_score": [5, 4, 4, 1, 1, 5], "fm_score": [5, 4, 5, 3, 1, 1]},
        index=pd.Index(["a", "b", "c", "d", "e", "f"], name="customer_id"))


def test_known_transitions_give_known_counts():
    from clvkit.report.sections.segments import segment_transitions, transitions_text

    table = segment_transitions(hand_movement())
    assert table.index.tolist() == ["Champions", "At risk", "Lost", "(new)"]
    assert table.columns.tolist() == ["Champions", "Loyal customers", "Recent light buyers", "Lost"]
    assert table.loc["Champions"].tolist() == [1, 2, 0, 0]
    assert table.loc["At risk"].tolist() == [0, 0, 0, 1]
    assert table.loc["Lost"].tolist() == [0, 0, 0, 1]
    assert table.loc["(new)"].tolist() == [0, 0, 1, 0]
    assert int(table.to_numpy().sum()) == 6
    text = transitions_text(table)
    assert "Of the 5 customers known at the end of last month, 2 (40.0%) stayed" in text
    assert "Champions → Loyal customers (2)" in text


def test_transitions_add_up_to_the_segment_sizes_on_real_data(tiny_data):
    from clvkit.report.sections.segments import (
        segment_movement,
        segment_sizes,
        segment_transitions,
    )

    movement = segment_movement(tiny_data, month="2024-04")
    table = segment_transitions(movement)
    sizes = segment_sizes(movement)
    assert int(table.to_numpy().sum()) == len(movement)
    pd.testing.assert_series_equal(table.sum(axis=0), sizes["this month"].loc[table.columns],
                                   check_names=False)
    last = table.sum(axis=1)
    assert last["(new)"] == (movement["previous"] == "(new)").sum()
    pd.testing.assert_series_equal(last.drop("(new)"), sizes["last month"].loc[last.index[:-1]],
                                   check_names=False)


def test_revenue_per_segment_has_known_values_and_adds_up_to_the_headline(tiny_data):
    from clvkit.report.data import ReportData
    from clvkit.report.sections.executive import headline_numbers
    from clvkit.report.sections.segments import (
        segment_movement,
        segment_revenue,
        segment_revenue_display,
        segment_revenue_text,
    )

    movement = hand_movement()
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "f", "d", "c"],
                       "date": pd.to_datetime(["2024-05-02", "2024-05-20", "2024-05-03",
                                               "2024-05-04", "2024-04-01", "2024-06-01"]),
                       "amount": [100.0, 50.0, 30.0, 20.0, 999.0, 999.0]})
    data = ReportData(tx, tx.iloc[:0], pd.DataFrame(), len(tx), "x")
    table = segment_revenue(data, movement, month="2024-05")
    assert table.index.tolist() == ["Champions", "Loyal customers", "Recent light buyers", "Lost"]
    assert table["customers"].tolist() == [1, 2, 1, 2]
    assert table["buyers"].tolist() == [1, 1, 1, 0]
    assert table["revenue"].tolist() == [150.0, 30.0, 20.0, 0.0]
    assert table["revenue_share"].tolist() == pytest.approx([0.75, 0.15, 0.10, 0.0])
    assert table["revenue_per_customer"].tolist() == [150.0, 15.0, 20.0, 0.0]
    shown = segment_revenue_display(table, currency="EUR")
    assert shown.loc["total"].tolist() == ["6", "3", "€200.00", "100.0%", "€33.33"]
    text = segment_revenue_text(table, month="2024-05", currency="EUR")
    assert "Champions (16.7% of customers) brought 75.0%" in text
    # on real data the segments' revenue is the headline revenue
    real = segment_revenue(tiny_data, segment_movement(tiny_data, month="2024-04"),
                           month="2024-04")
    head = headline_numbers(tiny_data, month="2024-04")
    assert real["revenue"].sum() == pytest.approx(head.loc["revenue", "value"])
    assert real["customers"].sum() == tiny_data.transactions.loc[
        tiny_data.transactions["date"] <= "2024-04-30 23:59:59", "customer_id"].nunique()


def test_rfm_grid_counts_cells_and_names_them_as_the_segment_map(tiny_data):
    from clvkit.report.sections.segments import (
        plot_rfm_grid,
        rfm_grid,
        rfm_grid_display,
        rfm_grid_text,
        segment_movement,
    )
    from clvkit.segments import RFM_SEGMENT_MAP

    grid = rfm_grid(hand_movement())
    assert grid.index.tolist() == [5, 4, 3, 2, 1] and grid.columns.tolist() == [1, 2, 3, 4, 5]
    assert (grid.loc[5, 5], grid.loc[4, 4], grid.loc[4, 5], grid.loc[1, 3], grid.loc[1, 1],
            grid.loc[5, 1]) == (1, 1, 1, 1, 1, 1)
    assert int(grid.to_numpy().sum()) == 6
    shown = rfm_grid_display(grid)
    assert shown.loc["R 5", "FM 5"] == "Champions: 1"
    assert shown.loc["R 1", "FM 1"] == "Lost: 1"
    assert shown.loc["R 3", "FM 3"] == "Need attention: 0"
    text = rfm_grid_text(grid)          # ties: the first cell from the top left
    assert text.startswith(
        "The fullest cell is R 5 × FM 1 (Recent light buyers: 1 customer, 16.7%)")
    assert "high-spending customers): 1." in text                 # R5 x FM4-5: a
    assert "the most valuable to win back): 0." in text            # R1-2 x FM4-5: nobody
    # on real data every customer's segment is the map's name of their cell
    movement = segment_movement(tiny_data, month="2024-04")
    real = rfm_grid(movement)
    assert int(real.to_numpy().sum()) == len(movement)
    names = [RFM_SEGMENT_MAP.loc[r, f] for r, f in zip(movement["r_score"],
                                                        movement["fm_score"], strict=True)]
    assert names == movement["current"].tolist()
    ax = plot_rfm_grid(real)
    labels = [t.get_text() for t in ax.texts]
    assert len(labels) == 25 and f"Champions\n{real.loc[5, 5]:,}" in labels
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_segment_monetary_value_is_net_of_returns(tmp_path):
    """As in notebook 02: a customer who sent back most of what they bought is not a big spender."""
    from clvkit.report.config import load_config
    from clvkit.report.data import load_report_data
    from clvkit.report.sections.segments import segment_movement

    rows = [("big", "2024-01-05", "1000"), ("big", "2024-01-20", "-990"),
            ("small", "2024-01-06", "50"), ("other", "2024-01-07", "20")]
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows),
                    encoding="utf-8")
    data = load_report_data(load_config({"data": str(path)}).data)
    movement = segment_movement(data, month="2024-01")
    assert movement.loc["big", "monetary"] == pytest.approx(10.0)
    assert movement.loc["small", "monetary"] == pytest.approx(50.0)
