"""Customer x period cash-flow table (clvkit.clv.cash_flows, write_cash_flows).

The table holds exactly the terms `customer_lifetime_value` sums (the discrete discounted
sum of FHL 2005 JMR / lifetimes, increments of E[Y(t) | x, t_x, T], FHL 2005 eq. (10)), so
per customer its discounted column must add up to that CLV (times the margin); chunking
must not change a single value (CDNOW, 2,357 customers).
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.clv import cash_flows, customer_lifetime_value, write_cash_flows
from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBD, GammaGamma

KW = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01, "discount_period": "M"}


@pytest.fixture(scope="module")
def setup():
    s = cdnow_summary(with_spend=True)
    s.attrs["time_unit"] = "W"
    return BGNBD().fit(s), GammaGamma().fit(s), s


def test_chunked_equals_unchunked_and_sums_to_the_clv(setup):
    bg, gg, s = setup
    whole = list(cash_flows(bg, gg, s, margin=0.3, chunk_size=len(s), **KW))
    parts = list(cash_flows(bg, gg, s, margin=0.3, chunk_size=500, **KW))
    assert len(whole) == 1 and len(parts) == 5 and max(len(p) for p in parts) == 500 * 12
    chunked = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole[0])
    assert len(chunked) == 12 * len(s) and chunked["period"].max() == 12
    clv = customer_lifetime_value(bg, gg, s, horizon=12, horizon_unit="M", discount_rate=0.01,
                                  discount_period="M")
    per_customer = chunked.groupby("customer_id", sort=False)["discounted_cash_flow"].sum()
    np.testing.assert_allclose(per_customer.loc[s.index], 0.3 * clv["clv"], rtol=1e-12)
    purchases = chunked.groupby("customer_id", sort=False)["expected_purchases"].sum()
    np.testing.assert_allclose(purchases.loc[s.index], clv["expected_purchases"], rtol=1e-12)


def test_parquet_writer_streams_chunks(setup, tmp_path):
    bg, gg, s = setup
    path = tmp_path / "flows.parquet"
    rows = write_cash_flows(cash_flows(bg, gg, s, chunk_size=700, **KW), path)
    back = pd.read_parquet(path)
    assert rows == len(back) == 12 * len(s)
    expected = pd.concat(cash_flows(bg, gg, s, chunk_size=len(s), **KW), ignore_index=True)
    pd.testing.assert_frame_equal(back, expected)
    with pytest.raises(ClvError, match="never overwrites"):
        write_cash_flows(cash_flows(bg, gg, s, **KW), path)


def test_bad_input(setup, tmp_path):
    bg, gg, s = setup
    with pytest.raises(ClvError, match="chunk_size"):
        cash_flows(bg, gg, s, chunk_size=0, **KW)
    with pytest.raises(ClvError, match="discount_period"):
        cash_flows(bg, gg, s, **{**KW, "discount_period": "Q"})
    bad = s.copy()
    bad.iloc[1500, bad.columns.get_loc("recency")] = 100.0  # recency > T
    path = tmp_path / "bad.parquet"
    with pytest.raises(DataValidationError, match="recency"):
        write_cash_flows(cash_flows(bg, gg, bad, chunk_size=1000, **KW), path)
    assert not path.exists()  # the half-written file was removed
    assert list(tmp_path.iterdir()) == []  # and no temporary file is left beside it
    with pytest.raises(ClvError, match="no rows"):
        write_cash_flows(iter(()), tmp_path / "empty.parquet")
    assert list(tmp_path.iterdir()) == []
