"""Checking fitted models: holdout predictions, tracking plots' data, error metrics.

The classic validation of a "buy till you die" model (Fader, Hardie & Lee 2005, section
4) fits it on a calibration period and compares, on the following holdout period,

* the mean number of holdout purchases per calibration frequency ("conditional
  expectations", `conditional_expectations`),
* the cumulative repeat transactions of the whole cohort, period by period
  (`cumulative_tracking`),
* per-customer errors (`holdout_predictions`, `error_metrics`).

`gamma_gamma_check` tests the Gamma-Gamma assumption that spend and frequency are
independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_positive
from .errors import DataValidationError
from .units import DAYS_PER_UNIT, to_units, unit_name

__all__ = [
    "holdout_predictions",
    "conditional_expectations",
    "ErrorMetrics",
    "error_metrics",
    "cumulative_tracking",
    "SpendFrequencyCheck",
    "gamma_gamma_check",
]

_HOLDOUT = ("frequency_holdout", "duration_holdout")


def _require(summary: pd.DataFrame, cols: tuple[str, ...], hint: str) -> None:
    missing = [c for c in cols if c not in summary.columns]
    if missing:
        raise DataValidationError(f"the summary lacks column(s) {missing}; {hint}")


def holdout_predictions(summary: pd.DataFrame, *, fit: Any) -> pd.DataFrame:
    """Predict each customer's holdout purchases and put them next to the actual ones.

    Parameters
    ----------
    summary : DataFrame
        Calibration/holdout summary from ``rfm_summary(..., calibration_end=...)``:
        ``frequency, recency, T, frequency_holdout, duration_holdout``.
    fit : fitted transaction model
        E.g. a `BGNBDFit`; fitted on the calibration columns of ``summary``.

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``frequency`` (calibration), ``actual`` (holdout
        purchases) and ``predicted`` (expected holdout purchases).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0, 20.0, 30.0],
    ...                   "T": 39.0, "frequency_holdout": [0, 1, 4], "duration_holdout": 39.0},
    ...                  index=pd.Index([7, 8, 9], name="customer_id"))
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> holdout_predictions(s, fit=fit).round(2)  # doctest: +NORMALIZE_WHITESPACE
                 frequency  actual  predicted
    customer_id
    7                    0       0       0.19
    8                    2       1       0.91
    9                    5       4       2.68
    """
    _require(summary, _HOLDOUT, "build it with rfm_summary(..., calibration_end=...)")
    predicted = fit.conditional_expected_purchases(summary, t=summary["duration_holdout"])
    return pd.DataFrame({"frequency": summary["frequency"],
                         "actual": summary["frequency_holdout"],
                         "predicted": predicted.to_numpy()}, index=summary.index)


def conditional_expectations(summary: pd.DataFrame, *, fit: Any,
                             max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL 2005, Fig. 4).

    Parameters
    ----------
    summary : DataFrame
        Calibration/holdout summary (see `holdout_predictions`).
    fit : fitted transaction model
        Fitted on the calibration columns of ``summary``.
    max_frequency : int, default 7
        Customers with ``frequency >= max_frequency`` are pooled in the last row.

    Returns
    -------
    DataFrame
        Indexed by ``frequency`` (0 .. max_frequency, the last meaning "or more"), with
        ``n_customers``, ``actual`` and ``predicted`` (means per customer); ``attrs``
        hold ``time_unit``, ``max_frequency`` and the holdout length.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> s = pd.DataFrame({"frequency": [0, 0, 2, 5], "recency": [0, 0, 20.0, 30.0],
    ...                   "T": 39.0, "frequency_holdout": [0, 1, 1, 4],
    ...                   "duration_holdout": 39.0})
    >>> conditional_expectations(s, fit=fit, max_frequency=2).round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
               n_customers  actual  predicted
    frequency
    0                    2     0.5       0.19
    2                    2     2.5       1.80
    """
    if not isinstance(max_frequency, int | np.integer) or max_frequency < 1:
        raise DataValidationError(f"`max_frequency` must be an integer >= 1, got "
                                  f"{max_frequency!r}")
    preds = holdout_predictions(summary, fit=fit)
    bucket = preds["frequency"].clip(upper=max_frequency).astype("int64").rename("frequency")
    table = preds.groupby(bucket).agg(n_customers=("actual", "size"), actual=("actual", "mean"),
                                      predicted=("predicted", "mean"))
    durations = summary["duration_holdout"].unique()
    table.attrs = {"time_unit": fit.time_unit, "max_frequency": max_frequency,
                   "duration_holdout": float(durations[0]) if len(durations) == 1 else None}
    return table


@dataclass(frozen=True)
class ErrorMetrics:
    """Per-customer prediction errors (actual minus predicted)."""

    mae: float
    rmse: float
    correlation: float
    n_customers: int
    total_actual: float
    total_predicted: float


def error_metrics(data: pd.DataFrame, *, actual: str = "actual",
                  predicted: str = "predicted") -> ErrorMetrics:
    """Compute MAE, RMSE and Pearson correlation of per-customer predictions.

    Parameters
    ----------
    data : DataFrame
        One row per customer, e.g. from `holdout_predictions`.
    actual, predicted : str
        Column names.

    Returns
    -------
    ErrorMetrics

    Examples
    --------
    >>> d = pd.DataFrame({"actual": [0, 1, 4], "predicted": [0.5, 1.0, 3.0]})
    >>> m = error_metrics(d)
    >>> round(m.mae, 3), round(m.rmse, 3), round(m.correlation, 3)
    (0.5, 0.645, 0.999)
    """
    _require(data, (actual, predicted), "pass the names of the actual and predicted columns")
    a = data[actual].to_numpy(dtype=float)
    p = data[predicted].to_numpy(dtype=float)
    if a.size == 0 or np.isnan(a).any() or np.isnan(p).any():
        raise DataValidationError("error metrics need at least one customer and no NaN")
    err = a - p
    corr = float(np.corrcoef(a, p)[0, 1]) if a.size > 1 and a.std() and p.std() else np.nan
    return ErrorMetrics(mae=float(np.mean(np.abs(err))), rmse=float(np.sqrt(np.mean(err**2))),
                        correlation=corr, n_customers=int(a.size),
                        total_actual=float(a.sum()), total_predicted=float(p.sum()))


def cumulative_tracking(transactions: Any, *, fit: Any, calibration_end: Any,
                        observation_end: Any) -> pd.DataFrame:
    """Actual vs expected repeat transactions of the cohort, period by period (FHL 2005 Fig. 2).

    The cohort is the customers whose first purchase is on or before ``calibration_end``.
    A repeat transaction is a purchase day after the customer's first purchase day (as
    in `clvkit.summary.rfm_summary`). The expected number by time t sums, over
    customers, E[X(t - b_i)] of a new customer (the model's
    ``expected_purchases_new_customer``), b_i being the customer's first-purchase time.
    Periods are of the fit's time unit, counted from the cohort's first purchase day.

    Parameters
    ----------
    transactions : DataFrame or LoadResult
        Canonical transactions (``customer_id``, ``date``).
    fit : fitted transaction model
        With ``expected_purchases_new_customer`` and ``time_unit``.
    calibration_end, observation_end : date-like
        Inclusive ends of the calibration and of the whole observation period.

    Returns
    -------
    DataFrame
        Indexed by ``period`` (1, 2, ...): ``period_end`` (exclusive end date),
        ``actual``, ``predicted`` (repeat transactions in the period),
        ``actual_cumulative``, ``predicted_cumulative``; ``attrs`` hold ``time_unit`` and
        ``calibration_period`` (the last period that ends in the calibration period).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-03",
    ...                                            "2024-01-03", "2024-01-20"])})
    >>> t = cumulative_tracking(tx, fit=fit, calibration_end="2024-01-14",
    ...                         observation_end="2024-01-28")
    >>> t[["actual_cumulative", "predicted_cumulative"]].round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
            actual_cumulative  predicted_cumulative
    period
    1                       0                  0.09
    2                       1                  0.19
    3                       2                  0.29
    4                       2                  0.38
    """
    tx = getattr(transactions, "transactions", transactions)
    _require(tx, (C.CUSTOMER_ID, C.DATE), "pass canonical transactions (clvkit.load_transactions)")
    cal_end, obs_end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if cal_end > obs_end:
        raise DataValidationError("`calibration_end` is after `observation_end`")
    days = pd.DataFrame({"c": tx[C.CUSTOMER_ID].to_numpy(),
                         "d": pd.to_datetime(tx[C.DATE]).dt.normalize().to_numpy()})
    days = days[days["d"] <= obs_end].drop_duplicates()
    first = days.groupby("c")["d"].transform("min")
    cohort = first <= cal_end
    if not cohort.any():
        raise DataValidationError(f"no customer's first purchase is on or before {cal_end}")
    days, first = days[cohort], first[cohort]
    start = first.min()
    unit = fit.time_unit
    n_periods = int(np.ceil(to_units(obs_end + pd.Timedelta(days=1) - start, time_unit=unit)
                            - 1e-9))
    ends = np.arange(1, n_periods + 1, dtype=float)

    repeat_t = to_units(days.loc[days["d"] > first, "d"] - start, time_unit=unit).to_numpy()
    actual_cum = np.searchsorted(np.sort(repeat_t), ends, side="left")  # times < period end
    births = to_units(first.groupby(days["c"]).first() - start, time_unit=unit)
    b, counts = np.unique(births.to_numpy(), return_counts=True)
    ages = np.clip(ends[None, :] - b[:, None], 0.0, None)
    expected = fit.expected_purchases_new_customer(ages.ravel()).reshape(ages.shape)
    predicted_cum = counts @ np.where(ages > 0, expected, 0.0)

    cal_periods = to_units(cal_end + pd.Timedelta(days=1) - start, time_unit=unit)
    out = pd.DataFrame(
        {
            "period_end": start + pd.to_timedelta(ends * DAYS_PER_UNIT[unit], unit="D"),
            "actual": np.diff(actual_cum, prepend=0),
            "predicted": np.diff(predicted_cum, prepend=0.0),
            "actual_cumulative": actual_cum,
            "predicted_cumulative": predicted_cum,
        },
        index=pd.RangeIndex(1, n_periods + 1, name="period"),
    )
    out.attrs = {"time_unit": unit, "unit_name": unit_name(unit),
                 "calibration_period": float(cal_periods), "cohort_size": int(counts.sum())}
    return out


@dataclass(frozen=True)
class SpendFrequencyCheck:
    """Result of `gamma_gamma_check`."""

    correlation: float
    n_customers: int
    threshold: float
    ok: bool
    sentence: str


def gamma_gamma_check(summary: pd.DataFrame, *, threshold: float = 0.3) -> SpendFrequencyCheck:
    """Check the Gamma-Gamma assumption: average spend independent of frequency.

    Computes the Pearson correlation between ``frequency`` and ``monetary_value`` over
    customers with at least one repeat purchase (Fader, Hardie & Lee 2005, JMR, p. 420,
    report 0.11 on CDNOW) and a sentence for reports.

    Parameters
    ----------
    summary : DataFrame
        With ``frequency`` and ``monetary_value``.
    threshold : float, default 0.3
        Absolute correlation at or above which the sentence warns.

    Returns
    -------
    SpendFrequencyCheck

    Examples
    --------
    >>> s = pd.read_csv("data/cdnow_customers_summary_with_transactions.csv")
    >>> s = s.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    >>> check = gamma_gamma_check(s)
    >>> round(check.correlation, 2), check.ok
    (0.11, True)
    """
    check_positive("threshold", threshold)
    _require(summary, ("frequency", "monetary_value"), "build it with rfm_summary")
    rep = summary[summary["frequency"] > 0]
    if len(rep) < 3:
        raise DataValidationError("the check needs at least 3 customers with repeat purchases")
    r = float(np.corrcoef(rep["frequency"], rep["monetary_value"])[0, 1])
    ok = abs(r) < threshold
    if ok:
        sentence = (f"Purchase frequency and average spend are nearly uncorrelated "
                    f"(r = {r:.2f} over {len(rep):,} repeat buyers), as the Gamma-Gamma "
                    "spend model assumes.")
    else:
        sentence = (f"Warning: purchase frequency and average spend are correlated "
                    f"(r = {r:.2f} over {len(rep):,} repeat buyers); the Gamma-Gamma model "
                    "assumes they are independent, so its spend predictions (and CLV) may be "
                    "biased. Consider modelling segments separately.")
    return SpendFrequencyCheck(correlation=r, n_customers=len(rep), threshold=threshold,
                               ok=ok, sentence=sentence)
