"""Tests of clvkit.report.data: staging, month resolution, masking."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from clvkit.report.config import load_config
from clvkit.report.data import load_report_data, mask_customer_ids, mask_id
from clvkit.report.month import resolve_month
from clvkit.report.run import _input_files

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import tiny_config  # noqa: E402


def test_default_month_is_last_complete_month(tiny_data):
    assert resolve_month(None, tiny_data.transactions).month == "2024-04"

def test_data_argument_accepts_dataframe_and_loadresult(tiny_csv):
    from clvkit.io import load_transactions

    frame = pd.read_csv(tiny_csv).dropna(subset=["customer_id"])
    spec = load_config(tiny_config(tiny_csv)).data
    from_frame = load_report_data(spec, data=frame)
    from_result = load_report_data(spec, data=load_transactions(tiny_csv,
                                                                       order_id="order_id"))
    assert from_frame.source == "DataFrame"
    assert from_frame.transactions["amount"].sum() == pytest.approx(
        from_result.transactions["amount"].sum())
    entry = _input_files(load_config(tiny_config(tiny_csv)), frame)[0]
    assert entry["path"] == "<DataFrame>" and len(entry["sha256"]) == 64

def test_masking_is_stable_and_consistent_across_tables(email_csv):
    data = load_report_data(load_config(tiny_config(email_csv)).data)
    masked = mask_customer_ids(data)
    ids = data.transactions["customer_id"]
    assert masked.transactions["customer_id"].tolist() == [mask_id(v) for v in ids]
    assert masked.transactions["customer_id"].nunique() == ids.nunique()
    assert not masked.transactions["customer_id"].str.contains("@").any()
    assert data.transactions["customer_id"].str.contains("@").all()      # input untouched


def test_a_partial_months_repeat_customers_are_counted_up_to_the_extract_date():
    # issue 18 §1: the predictions page's gate counts what the page will fit on: 25
    # customers bought on 1 March and again on 20 March, after the extract date (15 March)
    from clvkit.report.data import ReportData, section_support

    ids = [f"c{i}" for i in range(25)]
    tx = pd.DataFrame({"customer_id": ids * 2,
                       "date": pd.to_datetime(["2024-03-01"] * 25 + ["2024-03-20"] * 25),
                       "amount": 10.0})
    later = ReportData(tx, tx.iloc[:0], pd.DataFrame(), len(tx), "x", as_of="2024-03-31")
    assert section_support("predictions", later, month="2024-03") is None
    partial = ReportData(tx, tx.iloc[:0], pd.DataFrame(), len(tx), "x", as_of="2024-03-15")
    assert section_support("predictions", partial, month="2024-03").startswith(
        "only 0 customers bought on two or more days up to 2024-03")
