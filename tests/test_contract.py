"""The one data contract (clvkit.contract): checks, order keys, user dates."""

import numpy as np
import pandas as pd
import pytest

from clvkit.contract import as_day, check_frame, check_transactions, order_keys
from clvkit.errors import DataValidationError
from clvkit.io import load_transactions


def _tx(**extra):
    base = {"customer_id": ["a", "a", "b", "b"],
            "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-01 00:00",
                                    "2024-01-03 00:00"]),
            "amount": [10.0, 5.0, 7.0, 3.0]}
    base.update(extra)
    return pd.DataFrame(base)


def test_valid_table_is_returned_unchanged_and_load_result_is_unwrapped():
    tx = _tx()
    assert check_transactions(tx) is tx
    loaded = load_transactions(tx)
    assert check_transactions(loaded) is loaded.transactions


@pytest.mark.parametrize(("change", "words"), [
    (lambda t: t.drop(columns="amount"), "missing column(s) ['amount']"),
    (lambda t: t.iloc[:0], "no rows"),
    (lambda t: t.assign(date=t["date"].astype(str)), "must hold datetimes"),
    (lambda t: t.assign(amount=t["amount"].astype(str)), "must be numeric"),
    (lambda t: t.assign(amount=[1.0, np.inf, 2.0, 3.0]),
     "non-finite values (inf) in 1 row (e.g. 1)"),
    (lambda t: t.assign(customer_id=["a", None, "b", None]),
     "'customer_id' has missing values in 2 rows"),
    (lambda t: t.assign(date=[pd.NaT] + list(t["date"][1:])),
     "'date' has missing values in 1 row (e.g. 0)"),
])
def test_each_broken_rule_is_named(change, words):
    with pytest.raises(DataValidationError) as err:
        check_transactions(change(_tx()))
    assert words in str(err.value)


def test_purchases_only_refuses_returns_and_names_rows():
    tx = _tx(amount=[10.0, -5.0, 7.0, 3.0])
    assert check_transactions(tx) is tx          # a summary may net returns
    with pytest.raises(DataValidationError,
                       match=r"negative values \(returns\?\) in 1 row \(e.g. 1\)"):
        check_transactions(tx, purchases_only=True)


def test_extra_columns_are_required_and_complete():
    with pytest.raises(DataValidationError, match="product"):
        check_transactions(_tx(), extra=("product",))
    with pytest.raises(DataValidationError, match="'product' has missing values"):
        check_transactions(_tx(product=["x", None, "y", "z"]), extra=("product",))


def test_check_frame_refuses_non_frames():
    with pytest.raises(DataValidationError, match="must be a pandas DataFrame"):
        check_frame([1, 2], name="touches", columns=[])


def test_order_keys_without_order_id_are_customer_days():
    assert order_keys(_tx()).tolist() == [0, 0, 1, 2]


def test_order_keys_use_order_id_per_customer_and_fall_back_per_row():
    tx = _tx(order_id=["X1", "X2", "X1", None])
    # a's two lines are two orders; b's X1 (the same id as a's) is b's own order; b's row
    # without an order id falls back to its calendar day
    assert order_keys(tx).tolist() == [0, 1, 2, 3]
    same_day = _tx(order_id=[None, None, "Z", "Z"])
    assert order_keys(same_day).tolist() == [0, 0, 1, 1]


def test_order_keys_of_empty_table():
    assert order_keys(_tx().iloc[:0]).tolist() == []


def test_as_day_normalises_and_drops_timezones():
    assert as_day("2024-03-31T23:30:00+02:00", "x") == pd.Timestamp("2024-03-31")
    for bad in ("soon", None, "2024-13-45"):
        with pytest.raises(DataValidationError, match="`x` must be a date"):
            as_day(bad, "x")


@pytest.mark.parametrize("text", ["05.06.2024", "05/06/2024", "5-6-24", "30.06.2024"])
def test_a_day_written_with_day_and_month_unordered_is_refused(text):
    # pd.Timestamp("05.06.2024") is 6 May: an observation end a European user meant as
    # 5 June moved a month earlier without a word
    with pytest.raises(DataValidationError, match="YYYY-MM-DD"):
        as_day(text, "observation_end")
    assert as_day("2024-06-05", "observation_end") == pd.Timestamp("2024-06-05")
    assert as_day("5 June 2024", "observation_end") == pd.Timestamp("2024-06-05")


def test_id_lookups_agree_with_pandas_on_arrow_text_ids():
    # ids_in / id_positions look each distinct id up once; same answers as isin/get_indexer
    from clvkit.contract import id_positions, ids_in

    rng = np.random.default_rng(0)
    ids = pd.Series([f"C{i:03d}" for i in rng.integers(0, 400, 5000)], dtype="str")
    ids.iloc[[3, 70]] = None                    # missing ids are found nowhere
    index = pd.Index([f"C{i:03d}" for i in rng.permutation(300)], dtype="str")
    expected = index.get_indexer(ids)
    assert (id_positions(index, ids) == expected).all()
    assert (id_positions(index, ids)[[3, 70]] == -1).all()
    assert (ids_in(index, ids) == index.isin(ids.dropna())).all()
    assert ids_in(index, ids[:0]).sum() == 0
