"""Tests of clvkit.synthetic.write_transactions_at_scale (the scale data generator).

Small sizes only; blocks are made small (``SCALE_BLOCK_CUSTOMERS``) so that several
random streams and the order-id offsets between blocks are exercised.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from clvkit import synthetic
from clvkit.errors import ClvError
from clvkit.io import load_transactions
from clvkit.synthetic import CATEGORIES, CHANNELS, write_transactions_at_scale


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(synthetic, "SCALE_BLOCK_CUSTOMERS", 300)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_same_arguments_give_byte_identical_files(tmp_path, small_blocks, suffix):
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    info_a = write_transactions_at_scale(a, n_customers=1000, seed=4)
    info_b = write_transactions_at_scale(b, n_customers=1000, seed=4, workers=2)
    assert _digest(a) == _digest(b)
    assert info_a == {**info_b, "path": str(a)}
    other = tmp_path / f"c{suffix}"
    write_transactions_at_scale(other, n_customers=1000, seed=5)
    assert _digest(other) != _digest(a)


def test_schema_and_contents(tmp_path, small_blocks):
    path = tmp_path / "tx.parquet"
    info = write_transactions_at_scale(path, n_customers=1000, seed=1, months=24)
    tx = pd.read_parquet(path)
    assert tx.columns.tolist() == ["customer_id", "date", "amount", "order_id", "quantity",
                                   "product", "channel"]
    assert len(tx) == info["rows"] and (tx["amount"] < 0).sum() == info["returns"]
    # every customer buys at least once; ids are text of equal width
    assert tx["customer_id"].nunique() == 1000 == info["customers"]
    assert tx["customer_id"].str.fullmatch(r"C\d{4}").all()
    assert set(tx["channel"]) == set(CHANNELS) and set(tx["product"]) <= set(CATEGORIES)
    assert tx["date"].min() >= pd.Timestamp("2023-01-01")
    assert tx["date"].max() < pd.Timestamp("2025-01-01")
    sales, returns = tx[tx["amount"] > 0], tx[tx["amount"] < 0]
    # order ids are unique across blocks: one customer and one date per order
    per_order = sales.groupby("order_id").agg(c=("customer_id", "nunique"), d=("date", "nunique"))
    assert (per_order == 1).all().all()
    assert sales["order_id"].max() == info["orders"] == sales["order_id"].nunique()
    # a return refers to an earlier order of the same customer, quantity negative
    first = sales.groupby("order_id")[["customer_id", "date"]].first()
    ref = first.loc[returns["order_id"]]
    assert (ref["customer_id"].to_numpy() == returns["customer_id"].to_numpy()).all()
    assert (ref["date"].to_numpy() < returns["date"].to_numpy()).all()
    assert (returns["quantity"] < 0).all() and (sales["quantity"] > 0).all()


def test_frequency_is_skewed_and_scales(tmp_path, small_blocks):
    low = write_transactions_at_scale(tmp_path / "a.parquet", n_customers=2000, seed=2)
    high = write_transactions_at_scale(tmp_path / "b.parquet", n_customers=2000, seed=2,
                                       frequency=3.0)
    assert high["orders"] > 1.5 * low["orders"]
    orders = pd.read_parquet(tmp_path / "b.parquet").query("amount > 0").groupby(
        "customer_id")["order_id"].nunique()
    # heterogeneous buyers: many one-time buyers, a long tail of frequent ones
    assert (orders == 1).mean() > 0.1 and orders.max() > 10 * orders.median()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_the_loader_reads_it_without_decisions(tmp_path, small_blocks, suffix):
    path = tmp_path / f"tx{suffix}"
    info = write_transactions_at_scale(path, n_customers=700, seed=3)
    res = load_transactions(path)
    assert res.decisions == ()
    assert res.rows_read == info["rows"]
    assert len(res.returns) == info["returns"]
    assert len(res.transactions) == info["rows"] - info["returns"]
    assert set(res.log["reason"]) == {"return / cancellation", "kept"}
    raw = pd.read_parquet(path) if suffix == ".parquet" else None
    if raw is not None:
        np.testing.assert_allclose(res.transactions["amount"].sum(),
                                   raw.loc[raw["amount"] > 0, "amount"].sum(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_customers": 0}, "n_customers"),
    ({"n_customers": 10, "frequency": 0}, "frequency"),
    ({"n_customers": 10, "format": "xlsx"}, "format"),
])
def test_bad_arguments_raise(tmp_path, kwargs, match):
    with pytest.raises(ClvError, match=match):
        write_transactions_at_scale(tmp_path / "x.parquet", **kwargs)
    assert not list(tmp_path.iterdir())
