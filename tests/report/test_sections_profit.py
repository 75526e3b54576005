"""Tests of clvkit.report.sections.profit."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from clvkit.report.data import ReportData
from clvkit.report.sections.profit import profit_table

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import partial_month_data  # noqa: E402


def test_a_partial_months_profit_counts_purchases_up_to_the_extract_date():
    # issue 18 §1: data extracted on 15 March; nothing dated after it counts
    data, cut = partial_month_data()
    returns = data.returns.loc[data.returns["date"] < "2024-03-16"]
    cut_data = ReportData(cut, returns, pd.DataFrame(), len(cut), "x", as_of="2024-03-15")
    got = profit_table(data, month="2024-03")
    pd.testing.assert_frame_equal(got, profit_table(cut_data, month="2024-03"))
    assert got["revenue"].sum() == cut["amount"].sum()
