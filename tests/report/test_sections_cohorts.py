"""Tests of clvkit.report.sections.cohorts."""

from __future__ import annotations

import pandas as pd

from clvkit.report.sections.cohorts import (
    cohort_retention,
    cohort_sizes_table,
    cohort_text,
    plot_cohort_retention,
)


def test_first_cohort_is_marked_left_censored(tiny_data):
    matrix = cohort_retention(tiny_data, month="2024-04", cohorts=12)
    assert matrix.attrs["left_censored"] == pd.Period("2024-01", "M")
    assert "left-censored" in cohort_text(matrix, month="2024-04")

def test_cohort_page_shows_sizes_weighted_averages_and_marks_the_first_cohort(tiny_data):
    matrix = cohort_retention(tiny_data, month="2024-04", cohorts=12)
    sizes = matrix.attrs["cohort_size"]
    table = cohort_sizes_table(matrix)
    assert table["customers"].tolist() == [int(v) for v in sizes]
    assert table["note"].iloc[0].startswith("* left-censored")
    assert (table["note"].iloc[1:] == "").all()
    later = matrix.iloc[1:]
    w = sizes.iloc[1:]
    reached = later[1].notna()
    expected = (later.loc[reached, 1] * w[reached]).sum() / w[reached].sum()
    text = cohort_text(matrix, month="2024-04")
    assert f"On average (weighted by cohort size) {expected * 100:.1f}%" in text
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_cohort_retention(matrix)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"2024-01 (n={int(sizes.iloc[0])}) *"
    assert "0" not in [t.get_text() for t in ax.get_xticklabels()]
    matplotlib.pyplot.close("all")


def test_a_partial_months_cohorts_stop_at_the_extract_date():
    # issue 18 §1: data extracted on 15 March; the month in progress counts days 1-15 only
    import sys
    from pathlib import Path

    from clvkit.report.data import ReportData

    sys.path.insert(0, str(Path(__file__).parent))
    from report_helpers import partial_month_data

    data, cut = partial_month_data()
    matrix = cohort_retention(data, month="2024-03")
    assert matrix.attrs["observation_end"] == pd.Timestamp("2024-03-15")
    cut_data = ReportData(cut, data.returns, pd.DataFrame(), len(cut), "x", as_of="2024-03-15")
    expected = cohort_retention(cut_data, month="2024-03")
    pd.testing.assert_frame_equal(matrix, expected)
    pd.testing.assert_series_equal(matrix.attrs["cohort_size"], expected.attrs["cohort_size"])
    text = cohort_text(matrix, month="2024-03")
    assert "still in progress (data to 15 March 2024)" in text and "days 1-15 only" in text
    complete = cohort_retention(ReportData(cut, None, pd.DataFrame(), len(cut), "x"),
                                month="2024-02")
    assert "in progress" not in cohort_text(complete, month="2024-02")
