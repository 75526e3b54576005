"""Tests of clvkit.report.sections.predictions."""

from __future__ import annotations

import pandas as pd

from clvkit.report.config import load_config
from clvkit.report.data import load_report_data
from clvkit.report.sections.predictions import predictions, predictions_text


def test_predictions_same_with_duckdb_and_degenerate_fit_is_reported():
    # Online Retail: BG/NBD finds almost no dropout (a -> 0); the section must still run and say so.
    # DuckDB sums doubles in parallel threads, so its summary can differ from pandas' in the last
    # bits; this flat likelihood turns that into ~1e-8 relative differences in CLV.
    cfg = load_config("online_retail")
    data = load_report_data(cfg.data)
    pandas_pred = predictions(data, month="2011-11", options=cfg.options)
    duck_pred = predictions(data, month="2011-11", options={**cfg.options,
                                                                    "engine": "duckdb"})
    pd.testing.assert_series_equal(pandas_pred["clv_12m"], duck_pred.loc[pandas_pred.index,
                                                                         "clv_12m"], rtol=1e-6)
    assert pandas_pred.attrs["bgnbd_converged"] is False
    text = predictions_text(pandas_pred, data, month="2011-11", currency="GBP")
    assert "degenerate" in text
