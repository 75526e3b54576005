"""RFM summary: one row per customer with frequency, recency, T and monetary value.

The "buy till you die" (BTYD) models need, per customer, the number of repeat
purchases ``x`` (``frequency``), the time of the last purchase ``t_x``
(``recency``, measured from the first purchase) and the length of observation
``T`` (from the first purchase to the end of the calibration period).

Conventions (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):

* Purchases are counted per **calendar day**: several transactions on one day
  are one purchase occasion whose value is their sum. The first occasion starts
  the relationship and is not a *repeat* purchase, so ``frequency`` = occasions - 1.
* Durations are measured between calendar days and expressed in an explicit
  ``time_unit`` (``"D"``, ``"W"``, ``"M"``, ``"Y"``; see :mod:`clvkit.units`);
  the unit is stored in ``result.attrs["time_unit"]``.
* ``monetary_value`` is the mean value of the **repeat** occasions (0 when there
  are none), the Gamma-Gamma convention.
* Dates are inclusive: a purchase on ``calibration_end`` belongs to the
  calibration period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_one_of
from .contract import as_day, check_transactions, id_order
from .errors import DataValidationError
from .io import LoadResult
from .units import DAYS_PER_UNIT, TIME_UNITS, to_units

__all__ = ["rfm_summary", "compress_summary"]


def rfm_summary(
    transactions: pd.DataFrame | LoadResult,
    *,
    observation_end,
    time_unit: str = "W",
    calibration_end=None,
    monetary: str = "mean",
) -> pd.DataFrame:
    """Summarise transactions into per-customer frequency, recency, T and monetary value.

    Parameters
    ----------
    transactions : DataFrame or LoadResult
        Canonical transactions (``customer_id``, ``date``, ``amount``), e.g.
        ``load_transactions(...).transactions``.
    observation_end : date-like
        Last day observed (inclusive). Later transactions are ignored.
    time_unit : {"D", "W", "M", "Y"}, default "W"
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    calibration_end : date-like, optional
        End of the calibration period (inclusive). When given, ``T`` runs to it,
        only customers whose first purchase falls on or before it are kept, and
        the holdout columns ``frequency_holdout`` (purchase days in the holdout),
        ``monetary_value_holdout`` (their mean value) and ``duration_holdout``
        are added.
    monetary : {"mean", "mean_all", "sum"}, default "mean"
        ``"mean"``: mean of repeat occasions (Gamma-Gamma input); ``"mean_all"``:
        mean of all occasions; ``"sum"``: total spend in the calibration period.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, in the model convention of Fader, Hardie & Lee
        (2005): ``frequency`` (number of **repeat** purchase days: all purchase days
        minus the first), ``recency`` (the customer's **age at the last purchase**:
        last minus first purchase day, in ``time_unit``; 0 without repeats), ``T``
        (age at the end of the calibration period) and ``monetary_value`` (see
        ``monetary``). These are not the ``recency`` and ``frequency`` of
        :func:`clvkit.segments.rfm_scores` (time since the last purchase, all
        purchases). ``attrs`` holds ``time_unit``, ``calibration_end`` and
        ``observation_end``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-01-01",
    ...                                            "1997-01-15", "1997-01-08"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> s = rfm_summary(tx, observation_end="1997-01-29", time_unit="W")
    >>> s
                 frequency  recency    T  monetary_value
    customer_id
    1                    1      2.0  4.0            20.0
    2                    0      0.0  3.0             0.0
    >>> s.attrs["time_unit"]
    'W'
    """
    check_one_of("time_unit", time_unit, TIME_UNITS)
    check_one_of("monetary", monetary, ["mean", "mean_all", "sum"])
    tx = check_transactions(transactions)
    obs_end = as_day(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else as_day(calibration_end, "calibration_end")
    if cal_end > obs_end:
        raise DataValidationError(f"calibration_end ({cal_end.date()}) is after "
                                  f"observation_end ({obs_end.date()})")

    days = _purchase_days(tx, end=obs_end)
    cal_day = _day_number(cal_end)
    in_cal = days.day <= cal_day
    if not in_cal.any():
        raise DataValidationError(f"no purchases on or before {cal_end.date()}: the "
                                  "calibration period is empty")
    # purchase days are sorted by customer then day: each customer's calibration days form
    # one contiguous run, whose first element is the first purchase
    cust, day, value = days.customer[in_cal], days.day[in_cal], days.amount[in_cal]
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    ends = np.r_[starts[1:], len(cust)] - 1
    occasions = np.diff(np.r_[starts, len(cust)])
    first, last = day[starts], day[ends]
    total = np.add.reduceat(value, starts)
    frequency = occasions - 1
    if monetary == "mean":
        repeat = total - value[starts]
        amount = np.divide(repeat, frequency, out=np.zeros(len(starts)), where=frequency > 0)
    elif monetary == "mean_all":
        amount = total / occasions
    else:
        amount = total
    per_unit = DAYS_PER_UNIT[time_unit]
    out = pd.DataFrame({
        "frequency": frequency.astype("int64"),
        "recency": (last - first) / per_unit,
        "T": (cal_day - first) / per_unit,
        "monetary_value": amount,
    }, index=pd.Index(days.ids.take(cust[starts]), name=C.CUSTOMER_ID))
    if calibration_end is not None:
        # holdout purchase days of customers seen in the calibration period
        position = np.full(len(days.ids), -1)
        position[cust[starts]] = np.arange(len(starts))
        where = position[days.customer[~in_cal]]
        seen = where >= 0
        n_hold = np.bincount(where[seen], minlength=len(starts))
        spent = np.bincount(where[seen], weights=days.amount[~in_cal][seen],
                            minlength=len(starts))
        out["frequency_holdout"] = n_hold.astype("int64")
        out["monetary_value_holdout"] = np.divide(spent, n_hold, out=np.zeros(len(starts)),
                                                  where=n_hold > 0)
        out["duration_holdout"] = to_units(obs_end - cal_end, time_unit=time_unit)
    out.index.name = C.CUSTOMER_ID
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()),
                     observation_end=str(obs_end.date()))
    return out


def compress_summary(summary: pd.DataFrame, *,
                     columns: tuple[str, ...] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Collapse identical summary rows into unique rows with a ``weights`` count.

    Models fit on the compressed table cost the same however many customers
    share a row, which makes a million customers as cheap as a few thousand.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0.0, 0.0, 5.0],
    ...                   "T": [10.0, 10.0, 10.0]})
    >>> compress_summary(s)
       frequency  recency     T  weights
    0          0      0.0  10.0        2
    1          2      5.0  10.0        1
    """
    cols, weights = compress_arrays({c: summary[c].to_numpy() for c in columns},
                                    np.ones(len(summary)))
    out = pd.DataFrame({**cols, "weights": weights.astype("int64")})
    out.attrs.update(summary.attrs)
    return out


def compress_arrays(cols: dict[str, np.ndarray],
                    w: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Unique rows of equal-length columns (sorted) and the summed weights of each.

    The one row-compression used by :func:`compress_summary` and the models.

    Examples
    --------
    >>> cols, w = compress_arrays({"x": np.array([2, 0, 2])}, np.ones(3))
    >>> cols["x"].tolist(), w.tolist()
    ([0, 2], [1.0, 2.0])
    """
    keys = list(cols.values())
    if len(w) == 0:
        return dict(cols), w
    order = np.lexsort(keys[::-1])
    ordered = [k[order] for k in keys]
    new = np.zeros(len(w), dtype=bool)
    new[0] = True
    for k in ordered:
        new[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    return ({c: k[starts] for c, k in zip(cols, ordered, strict=True)},
            np.add.reduceat(w[order], starts))


@dataclass(frozen=True)
class _PurchaseDays:
    """One row per (customer, calendar day) with a purchase, sorted by customer then day."""

    ids: pd.Index          # customer ids; ``customer`` holds positions into it
    customer: np.ndarray   # int64 position of the customer in ``ids``
    day: np.ndarray        # int64 days since 1970-01-01
    amount: np.ndarray     # float total spent that day


def _day_number(stamp: pd.Timestamp) -> int:
    return int(np.datetime64(stamp.normalize(), "D").astype(np.int64))


def _purchase_days(tx: pd.DataFrame, *, end: pd.Timestamp) -> _PurchaseDays:
    """Sum transactions per (customer, calendar day) up to ``end`` inclusive.

    Vectorised with one integer sort instead of a two-key groupby: the key packs
    the customer's position and the day number into one int64.
    """
    day = tx[C.DATE].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    keep = day <= _day_number(end)
    codes, ids = pd.factorize(tx[C.CUSTOMER_ID].to_numpy()[keep], sort=False)
    order = id_order(ids)                     # customers in id order (natural for digits)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    codes, ids = rank[codes], ids[order]
    day = day[keep]
    amount = tx[C.AMOUNT].to_numpy(dtype=float)[keep]
    low = day.min() if len(day) else 0
    width = (day.max() - low + 1) if len(day) else 1
    key = codes.astype(np.int64) * width + (day - low)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.array([], int)
    return _PurchaseDays(ids=pd.Index(ids), customer=codes[order][starts].astype(np.int64),
                         day=day[order][starts],
                         amount=np.add.reduceat(amount[order], starts) if len(starts)
                         else np.array([]))
