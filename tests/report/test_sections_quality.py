"""Tests of clvkit.report.sections.quality."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.report.config import load_config
from clvkit.report.data import load_report_data
from clvkit.report.sections.executive import executive_summary_text, headline_numbers
from clvkit.report.sections.quality import (
    data_gaps,
    data_quality_table,
    data_quality_text,
    quality_checks,
    revenue_bridge_table,
)

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import _csv  # noqa: E402


def test_data_quality_reconciles_to_the_cent(tiny_data):
    text = data_quality_text(tiny_data, currency="EUR")
    assert "checks pass" in text and "CHECK FAILED" not in text
    assert f"{tiny_data.rows_read:,} rows were read" in text
    table = data_quality_table(tiny_data, currency="EUR")
    assert table.loc["total (input)", "rows"] == tiny_data.rows_read
    assert table.loc["missing customer id", "rows"] == 1

def test_unreadable_amounts_are_counted_not_zero_and_bridge_reconciles(tmp_path):
    rows = [("a", "2024-01-05", "10.5"), ("b", "2024-01-06", "oops"), ("c", "2024-01-07", "-2"),
            ("", "2024-01-08", "7"), ("a", "2024-02-03", "4")]
    path = _csv(tmp_path, rows)
    data = load_report_data(load_config({"data": str(path)}).data)
    bridge = revenue_bridge_table(data, month="2024-01", currency="EUR")
    assert bridge.loc["- unreadable amount", "rows"] == 1
    assert bridge.loc["- unreadable amount", "amount (EUR)"] == "n/a"
    assert bridge.loc["all rows in the month", "amount (EUR)"] == "€15.50"   # 10.5 - 2 + 7
    assert bridge.loc["= gross revenue", "amount (EUR)"] == "€10.50"
    assert bridge.loc["- returns and refunds", "amount (EUR)"] == "€2.00"   # c's return
    assert bridge.loc["= net revenue", "amount (EUR)"] == "€8.50"
    assert bridge.loc["report: net revenue of the month", "amount (EUR)"] == "€8.50"
    assert quality_checks(data)["ok"].all()

def test_a_month_without_transactions_is_a_data_gap_not_a_fall(tmp_path):
    rows = [(c, d, "10") for c in "abcd" for d in ("2024-01-05", "2024-02-05", "2024-04-05",
                                                   "2024-05-05")]
    data = load_report_data(load_config({"data": str(_csv(tmp_path, rows))}).data)
    assert data_gaps(data) == ["2024-03"]
    head = headline_numbers(data, month="2024-03")
    assert head["value"].isna().all()
    text = executive_summary_text(head, month="2024-03", currency="EUR")
    assert "No transactions are recorded in March 2024" in text and "100" not in text
    april = headline_numbers(data, month="2024-04")
    assert np.isnan(april.loc["revenue", "previous"])
    assert "2024-03 had no transactions" in executive_summary_text(
        april, month="2024-04", currency="EUR")
    assert "Data gap" in data_quality_text(data, currency="EUR")

def test_a_month_of_returns_only_is_not_called_a_gap_in_the_data(tmp_path):
    rows = [(c, d, "10") for c in "abcd" for d in ("2024-01-05", "2024-02-05", "2024-04-05")]
    rows += [(c, "2024-03-07", "-4") for c in "ab"]          # March: only two returns
    data = load_report_data(load_config({"data": str(_csv(tmp_path, rows))}).data)
    head = headline_numbers(data, month="2024-03")
    text = executive_summary_text(head, month="2024-03", currency="EUR")
    assert "No purchases are recorded in March 2024" in text and "2 rows" in text
    assert "gap in the data" not in text


def test_data_quality_of_shipped_online_retail_reconciles_to_published_total():
    # data/PROVENANCE.md (UCI Online Retail, checked against the published statistics):
    # 541,909 rows; sum(Quantity x UnitPrice) = 9,747,747.934 GBP over all rows.
    data = load_report_data(load_config().data)
    text = data_quality_text(data, currency="GBP", month="2011-11")
    assert text.startswith("541,909 rows were read")
    checks = quality_checks(data)
    assert checks["ok"].all(), checks.loc[~checks["ok"]]
    assert checks.loc["input total: raw file vs cleaning log (without summary rows)",
                      "expected"] == pytest.approx(9_747_747.934, abs=0.01)
    assert "All 30 checks pass" in text         # 4 file checks + 13 months x (gross, net)
    # the November bridge: every row of the file dated in the month -> the headline
    raw = pd.read_parquet("data/online_retail.parquet")
    nov = raw[raw["InvoiceDate"].dt.to_period("M") == pd.Period("2011-11")]
    bridge = revenue_bridge_table(data, month="2011-11", currency="GBP")
    assert bridge.loc["all rows in the month", "rows"] == len(nov)
    assert bridge.loc["all rows in the month", "amount (GBP)"] == (
        f"£{(nov['Quantity'] * nov['UnitPrice']).sum():,.2f}")         # £1.46m
    assert bridge.loc["- without customer id", "rows"] == nov["CustomerID"].isna().sum()
    postage = bridge.loc["- non-product lines", "rows"]
    assert postage > 0
    head = headline_numbers(data, month="2011-11")
    assert bridge.loc["= gross revenue", "amount (GBP)"] == (
        f"£{head.loc['revenue', 'value']:,.2f}")
    assert bridge.loc["= net revenue", "amount (GBP)"] == (
        f"£{head.loc['net_revenue', 'value']:,.2f}")
    assert head.loc["net_revenue", "value"] < head.loc["revenue", "value"]
    # a tampered load (one purchase lost) fails the check
    tx = data.transactions
    lost = dataclasses.replace(data, transactions=tx.drop(index=tx.index[-1]))
    assert not quality_checks(lost)["ok"].all()
    assert "CHECK FAILED" in data_quality_text(lost, currency="GBP")


def test_loader_decisions_are_listed_escaped_and_survive_staging(tmp_path):
    # day-first dates and repeated rows in a customer,date,amount file: both are decisions
    # the loader makes from the whole file; the page must say them, with the YAML option
    rows = [("a", "13/01/2024", "10"), ("a", "13/01/2024", "10"), ("[x](javascript:1)",
            "02/02/2024", "5")]
    path = _csv(tmp_path, rows)
    data = load_report_data(load_config({"data": str(path)}).data)
    assert any("day-first" in d for d in data.decisions)
    assert any("kept as separate purchases" in d for d in data.decisions)
    text = data_quality_text(data, currency="EUR")
    assert "How the input was read" in text
    assert "data: {duplicates: 'drop'}" in text.replace("\\", "")
    assert "duplicates='drop'" not in text          # the hint is in the config's terms
    from clvkit.report.data import _save_data, load_section_data
    _save_data(data, tmp_path / "staged")
    assert load_section_data(tmp_path / "staged").decisions == data.decisions
    hostile = dataclasses.replace(data, decisions=("'sep': [x](javascript:alert(1)) <b>",))
    text = data_quality_text(hostile, currency="EUR")
    assert "\\[x\\]\\(javascript" in text and "<b>" not in text


def test_loader_decisions_are_in_the_command_line_terms_for_command_line_users(tmp_path):
    # `clvkit report --data file.csv` passes cli_hint: the page names --duplicates, not YAML
    from clvkit.cli import cli_hint

    rows = [("a", "13/01/2024", "10"), ("a", "13/01/2024", "10"), ("b", "02/02/2024", "5")]
    data = load_report_data(load_config({"data": str(_csv(tmp_path, rows))}).data,
                            hint=cli_hint)
    text = data_quality_text(data, currency="EUR").replace("\\", "")
    assert "--duplicates 'drop'" in text
    assert "data: {" not in text and "duplicates='drop'" not in text


@pytest.mark.parametrize("rule", ["drop", "keep"])
def test_summary_rows_option_reaches_loader_and_bridge_alike(tmp_path, rule):
    rows = [(c, "2024-01-05", "10") for c in "abcdefghijkl"] + [("Total", "2024-01-31", "120")]
    path = _csv(tmp_path, rows)
    data = load_report_data(load_config({"data": {"path": str(path),
                                                  "summary_rows": rule}}).data)
    assert len(data.transactions) == (12 if rule == "drop" else 13)
    assert quality_checks(data)["ok"].all()
