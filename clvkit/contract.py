"""The one data contract every analysis checks its transactions against.

A transactions table has the canonical columns of :mod:`clvkit.columns`
(``customer_id``, ``date``, ``amount`` and, when present, ``order_id``,
``quantity``, ``channel``, ``product``). :func:`clvkit.load_transactions` is the
boundary that produces such tables from files; the functions here are the rules
every module applies to them, defined once:

* :func:`check_transactions` -- the table is usable (columns, dtypes, no missing
  ids/dates/amounts, finite amounts; purchases only where a metric needs that);
* :func:`order_keys` -- what counts as an order: the ``order_id`` of the customer
  where one is recorded, otherwise one order per customer and calendar day;
* :func:`as_day` -- a user-given date (``observation_end`` ...) as a calendar day.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
...                    "date": pd.to_datetime(["2024-01-05 09:00", "2024-01-05 17:00",
...                                            "2024-01-07 10:00"]),
...                    "amount": [10.0, 5.0, 20.0]})
>>> check_transactions(tx) is tx
True
>>> order_keys(tx).tolist()            # two lines on one day are one order
[0, 0, 1]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .errors import DataValidationError, example_rows

__all__ = ["as_transactions", "check_frame", "check_transactions", "order_keys", "as_day",
           "id_order", "ids_in", "id_positions", "ID_ORDER_SQL", "ORDER_DEFINITION"]

#: One sentence, shown wherever an order count appears.
ORDER_DEFINITION = ("an order is one order id of a customer where the data record order ids, "
                    "otherwise all of a customer's purchases on one calendar day")

_LOAD_HINT = "load the data with clvkit.load_transactions, which maps and cleans your columns"


def as_transactions(data: Any) -> pd.DataFrame:
    """Return the transactions table of ``data`` (a DataFrame, or a LoadResult's ``.transactions``).

    Examples
    --------
    >>> import pandas as pd
    >>> as_transactions(pd.DataFrame({"a": [1]})).columns.tolist()
    ['a']
    """
    from .io import LoadResult  # the loader imports this module: import lazily

    if isinstance(data, LoadResult):
        return data.transactions
    return data


def check_frame(data: Any, *, name: str, columns: Sequence[str],
                allow_empty: bool = False) -> pd.DataFrame:
    """Check ``data`` is a DataFrame with ``columns`` (and rows, unless ``allow_empty``).

    Examples
    --------
    >>> import pandas as pd
    >>> check_frame(pd.DataFrame({"x": [1]}), name="touches", columns=["y"])
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: `touches` is missing column(s) ['y']; it has ['x']...
    """
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError(f"`{name}` must be a pandas DataFrame or a LoadResult, got "
                                  f"{type(data).__name__}; {_LOAD_HINT}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataValidationError(
            f"`{name}` is missing column(s) {missing}; it has {list(data.columns)}. Rename "
            f"your columns to the canonical names (clvkit.columns) or {_LOAD_HINT}.")
    if len(data) == 0 and not allow_empty:
        raise DataValidationError(f"`{name}` has no rows: there is nothing to measure")
    return data


def check_transactions(data: Any, *, extra: Sequence[str] = (), purchases_only: bool = False,
                       name: str = "transactions") -> pd.DataFrame:
    """Check the transactions contract once, at the boundary; return the table unchanged.

    Parameters
    ----------
    data : DataFrame or LoadResult
        Transactions with the canonical columns.
    extra : sequence of str
        Further columns the caller needs (e.g. ``"product"``); they must have no
        missing values either.
    purchases_only : bool, default False
        Refuse negative amounts (returns), for metrics that count purchases.
    name : str
        How the table is called in messages.

    Returns
    -------
    DataFrame
        The transactions (a LoadResult is unwrapped), never modified.

    Raises
    ------
    DataValidationError
        Naming the column and the offending rows.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", None], "date": pd.to_datetime(["2024-01-01"] * 2),
    ...                    "amount": [1.0, 2.0]})
    >>> check_transactions(tx)
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: column 'customer_id' has missing values in 1 row (e.g. 1)...
    """
    tx = check_frame(as_transactions(data), name=name, columns=(*C.REQUIRED, *extra))
    if not pd.api.types.is_datetime64_any_dtype(tx[C.DATE]):
        raise DataValidationError(f"column {C.DATE!r} must hold datetimes (datetime64), got "
                                  f"{tx[C.DATE].dtype}; {_LOAD_HINT}")
    if not pd.api.types.is_numeric_dtype(tx[C.AMOUNT]) or pd.api.types.is_bool_dtype(
            tx[C.AMOUNT]):
        raise DataValidationError(f"column {C.AMOUNT!r} must be numeric, got "
                                  f"{tx[C.AMOUNT].dtype}; {_LOAD_HINT}")
    for col in (*C.REQUIRED, *extra):
        bad = tx[col].isna().to_numpy()
        if bad.any():
            raise DataValidationError(f"column {col!r} has missing values in "
                                      f"{example_rows(tx.index[bad])}; {_LOAD_HINT}")
    amount = tx[C.AMOUNT].to_numpy(dtype=float)
    bad = ~np.isfinite(amount)
    if bad.any():
        raise DataValidationError(f"column {C.AMOUNT!r} has non-finite values (inf) in "
                                  f"{example_rows(tx.index[bad])}; {_LOAD_HINT}")
    if purchases_only and (amount < 0).any():
        raise DataValidationError(
            f"column {C.AMOUNT!r} has negative values (returns?) in "
            f"{example_rows(tx.index[amount < 0])}; this metric counts purchases only: pass "
            "LoadResult.transactions (returns kept apart) or filter `amount >= 0`")
    return tx


def order_keys(tx: pd.DataFrame) -> np.ndarray:
    """An int64 key per row identifying its order (see :data:`ORDER_DEFINITION`).

    Rows of one customer with the same ``order_id`` share a key; where the data
    have no ``order_id`` column (or a row's order id is missing) a customer's rows
    of one calendar day share a key. Keys are dense codes starting at 0 in order
    of first appearance.

    Parameters
    ----------
    tx : DataFrame
        Transactions satisfying :func:`check_transactions`.

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01",
    ...                                            "2024-01-02"]),
    ...                    "order_id": ["X1", "X2", "X3", "X3"], "amount": [1.0] * 4})
    >>> order_keys(tx).tolist()
    [0, 1, 2, 2]
    """
    cust = pd.factorize(tx[C.CUSTOMER_ID])[0].astype(np.int64)
    day = tx[C.DATE].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    if not len(day):
        return np.zeros(0, np.int64)
    day = day - day.min()
    n_days = int(day.max()) + 1
    occasion = day                       # codes 0 .. n_days-1: a calendar day
    if C.ORDER_ID in tx.columns:
        codes = pd.factorize(tx[C.ORDER_ID])[0].astype(np.int64)   # -1 where missing
        occasion = np.where(codes >= 0, codes + n_days, day)       # order ids after the days
    width = int(occasion.max()) + 1
    return pd.factorize(cust * width + occasion)[0].astype(np.int64)


def ids_in(ids, among) -> np.ndarray:
    """Which of ``ids`` occur in ``among``: a boolean array (hash lookups, vectorised).

    ``Index.isin`` of pandas' Arrow-backed text converts every value of its
    argument to a Python object (seconds for a million transaction rows); this
    looks the ids up in the distinct values of ``among`` instead.

    Examples
    --------
    >>> import pandas as pd
    >>> ids_in(pd.Index(["a", "b", "c"]), pd.Series(["c", "a", "a"])).tolist()
    [True, False, True]
    """
    distinct = pd.Index(pd.unique(pd.Series(among, copy=False)))
    return distinct.get_indexer(pd.Index(ids)) >= 0


def id_positions(index: pd.Index, ids) -> np.ndarray:
    """Position in ``index`` (unique) of each of ``ids``, -1 where absent (int64 array).

    ``index.get_indexer(ids)`` hashes every one of ``ids`` as a Python object when
    they are Arrow-backed text; here each distinct id is looked up once
    (``pd.factorize`` first), which is what a transactions table with many rows per
    customer needs.

    Examples
    --------
    >>> import pandas as pd
    >>> id_positions(pd.Index(["b", "a"]), pd.Series(["a", "a", "c", "b"])).tolist()
    [1, 1, -1, 0]
    """
    codes, distinct = pd.factorize(pd.Series(ids, copy=False), use_na_sentinel=True)
    found = np.append(index.get_indexer(pd.Index(distinct)), -1).astype(np.int64)
    return found[codes]     # a missing id (code -1) takes the appended -1


def id_order(ids) -> np.ndarray:
    """The positions that sort customer ids: digit ids in numeric order, then the rest as text.

    Customer ids are text (``"007"`` is not ``"7"``), so they never become
    numbers; ids made only of digits sort by length first, which is numeric
    order (``"9"`` before ``"10"``), and come before other ids, which sort as
    text. The SQL engines order their output by the same rule. Ids of other
    types (a DataFrame with integer ids) sort as they are.

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.array(["10", "9", "100", "007", "C2", "B10"], dtype=object)
    >>> ids[id_order(ids)].tolist()
    ['9', '10', '007', '100', 'B10', 'C2']
    """
    values = pd.Index(ids)
    if len(values) == 0:
        return np.zeros(0, np.int64)
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        text = values.astype(str)
        digits = np.asarray(text.str.fullmatch(r"[0-9]+"), dtype=bool)
        length = np.where(digits, np.asarray(text.str.len()), 0)
        return np.lexsort((np.asarray(text, dtype=object), length, ~digits))
    try:
        return np.argsort(values.to_numpy(), kind="stable")
    except TypeError:    # ids of mixed types cannot be sorted: keep first-seen order
        return np.arange(len(values))


#: The same order in SQL (DuckDB and Spark), for a text column ``{id}``.
ID_ORDER_SQL = ("CASE WHEN length(translate(CAST({id} AS STRING), '0123456789', '')) = 0 "
                "THEN 0 ELSE 1 END, "
                "CASE WHEN length(translate(CAST({id} AS STRING), '0123456789', '')) = 0 "
                "THEN length(CAST({id} AS STRING)) ELSE 0 END, {id}")


def as_day(value: Any, name: str) -> pd.Timestamp:
    """A user-given date as a calendar day (midnight, no timezone).

    Examples
    --------
    >>> as_day("2024-03-31 17:45", "observation_end")
    Timestamp('2024-03-31 00:00:00')
    >>> as_day("last week", "observation_end")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: `observation_end` must be a date (e.g. '2024-03-31'), \
got 'last week'
    >>> as_day("05.06.2024", "observation_end")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: `observation_end` '05.06.2024' could be day or month \
first (pandas reads 6 May): write it as YYYY-MM-DD, e.g. '2024-06-05' for 5 June
    """
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b.*", value):
        raise DataValidationError(
            f"`{name}` {value!r} could be day or month first (pandas reads "
            f"{_pandas_reading(value)}): write it as YYYY-MM-DD, e.g. '2024-06-05' for 5 June")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise DataValidationError(f"`{name}` must be a date (e.g. '2024-03-31'), got {value!r}")
    return stamp.tz_localize(None).normalize() if stamp.tzinfo else stamp.normalize()


def _pandas_reading(value: str) -> str:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return "nothing"
    return "nothing" if pd.isna(stamp) else f"{stamp.day} {stamp.strftime('%B')}"
