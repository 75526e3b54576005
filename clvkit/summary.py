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

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_one_of
from .errors import DataValidationError, example_rows
from .io import LoadResult
from .units import TIME_UNITS, to_units

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
        Indexed by ``customer_id``; ``attrs`` holds ``time_unit``,
        ``calibration_end`` and ``observation_end``.

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
    tx = transactions.transactions if isinstance(transactions, LoadResult) else transactions
    _check_transactions(tx)
    obs_end = _day(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else _day(calibration_end, "calibration_end")
    if cal_end > obs_end:
        raise DataValidationError(f"calibration_end ({cal_end.date()}) is after "
                                  f"observation_end ({obs_end.date()})")

    daily = _purchase_days(tx, end=obs_end)
    in_cal = daily[C.DATE] <= cal_end
    cal = daily[in_cal.to_numpy()]
    if cal.empty:
        raise DataValidationError(f"no purchases on or before {cal_end.date()}: the "
                                  "calibration period is empty")
    grouped = cal.groupby(C.CUSTOMER_ID, sort=True)
    first = grouped[C.DATE].min()
    last = grouped[C.DATE].max()
    occasions = grouped[C.DATE].size()
    total = grouped[C.AMOUNT].sum()
    first_value = grouped[C.AMOUNT].first()  # `cal` is sorted by customer then day
    frequency = (occasions - 1).astype("int64")
    if monetary == "mean":
        value = ((total - first_value) / frequency.where(frequency > 0)).fillna(0.0)
    elif monetary == "mean_all":
        value = total / occasions
    else:
        value = total
    out = pd.DataFrame({
        "frequency": frequency,
        "recency": to_units(last - first, time_unit=time_unit),
        "T": to_units(cal_end - first, time_unit=time_unit),
        "monetary_value": value,
    })
    if calibration_end is not None:
        hold = daily[~in_cal.to_numpy()]
        hold = hold[hold[C.CUSTOMER_ID].isin(out.index)].groupby(C.CUSTOMER_ID)[C.AMOUNT]
        out["frequency_holdout"] = hold.size().reindex(out.index, fill_value=0).astype("int64")
        out["monetary_value_holdout"] = hold.mean().reindex(out.index, fill_value=0.0)
        out["duration_holdout"] = to_units(obs_end - cal_end, time_unit=time_unit)
    out.index.name = C.CUSTOMER_ID
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()),
                     observation_end=str(obs_end.date()))
    return out


def compress_summary(summary: pd.DataFrame, *,
                     columns: tuple[str, ...] = ("frequency", "recency", "T")) -> pd.DataFrame:
    """Collapse identical summary rows into unique rows with a ``weight`` count.

    Models fit on the compressed table cost the same however many customers
    share a row, which makes a million customers as cheap as a few thousand.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0.0, 0.0, 5.0],
    ...                   "T": [10.0, 10.0, 10.0]})
    >>> compress_summary(s)
       frequency  recency     T  weight
    0          0      0.0  10.0       2
    1          2      5.0  10.0       1
    """
    counted = summary.groupby(list(columns), sort=True, observed=True).size()
    out = counted.rename("weight").reset_index()
    out.attrs.update(summary.attrs)
    return out


def _day(value, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataValidationError(f"`{name}` must be a date, got {value!r}") from None
    if pd.isna(stamp):
        raise DataValidationError(f"`{name}` must be a date, got {value!r}")
    return stamp.tz_localize(None).normalize() if stamp.tzinfo else stamp.normalize()


def _check_transactions(tx: pd.DataFrame) -> None:
    if not isinstance(tx, pd.DataFrame):
        raise DataValidationError("transactions must be a DataFrame or a LoadResult; load them "
                                  "with clvkit.load_transactions")
    missing = [c for c in C.REQUIRED if c not in tx.columns]
    if missing:
        raise DataValidationError(
            f"transactions lack column(s) {missing}; found {list(tx.columns)}. "
            "Load them with clvkit.load_transactions to map your column names.")
    if tx.empty:
        raise DataValidationError("transactions are empty: nothing to summarise")
    if not pd.api.types.is_datetime64_any_dtype(tx[C.DATE]):
        raise DataValidationError(f"column {C.DATE!r} must hold datetimes, got "
                                  f"{tx[C.DATE].dtype}; use clvkit.load_transactions")
    bad = tx[C.CUSTOMER_ID].isna() | tx[C.DATE].isna() | ~np.isfinite(tx[C.AMOUNT].astype(float))
    if bad.any():
        raise DataValidationError(
            f"transactions have missing customer ids, dates or amounts in "
            f"{example_rows(tx.index[bad])}; clean them with clvkit.load_transactions")


def _purchase_days(tx: pd.DataFrame, *, end: pd.Timestamp) -> pd.DataFrame:
    """Sum transactions per (customer, calendar day) up to ``end`` inclusive."""
    day = tx[C.DATE].dt.normalize()
    keep = (day <= end).to_numpy()
    frame = pd.DataFrame({C.CUSTOMER_ID: tx[C.CUSTOMER_ID].to_numpy()[keep],
                          C.DATE: day.to_numpy()[keep],
                          C.AMOUNT: tx[C.AMOUNT].to_numpy(dtype=float)[keep]})
    return frame.groupby([C.CUSTOMER_ID, C.DATE], sort=True, as_index=False)[C.AMOUNT].sum()
