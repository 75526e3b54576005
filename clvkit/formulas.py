r"""Closed-form CLV formulas: the classroom formula, retention-based CLV, LTV:CAC, payback.

The classroom formula
---------------------
.. math:: \text{CLV} = \text{APV} \times f \times L \;(\times\ m)

* APV, average purchase value = revenue / number of purchases;
* :math:`f`, purchase frequency = purchases per customer per time unit;
* :math:`L`, customer lifespan in the same time unit;
* :math:`m`, optional gross margin rate (value becomes profit instead of revenue).

Retention-based CLV (Gupta & Lehmann 2003, "Customers as assets", J. Interactive
Marketing 17(1); Gupta, Lehmann & Stuart 2004)
------------------------------------------------------------------------------
A customer yields margin :math:`m` per period, stays from one period to the
next with probability :math:`r`, and money is discounted at rate :math:`d`
per period. Summing the geometric series over an infinite horizon:

=====================  ===============================================  =======================
``timing``             cash flows                                       CLV
=====================  ===============================================  =======================
``"end"`` (default)    :math:`m` at the end of every period survived    :math:`m\,r/(1+d-r)`
``"start"``            :math:`m` at the start of every period,          :math:`m(1+d)/(1+d-r)`
                       the first one now
``"end_first_sure"``   :math:`m` at the end of every period, the        :math:`m/(1+d-r)`
                       first one certain
=====================  ===============================================  =======================

:math:`r/(1+d-r)` is the *margin multiplier*: with :math:`r = 0.8, d = 0.1` a
customer is worth 2.67 periods of margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_nonnegative, check_one_of, check_positive, check_probability
from .contract import check_transactions, order_keys
from .errors import DataValidationError
from .io import LoadResult
from .units import TIME_UNITS, to_units, unit_name

__all__ = [
    "SimpleCLV", "simple_clv", "clv_components", "retention_clv", "finite_horizon_clv",
    "margin_multiplier", "expected_lifetime", "ltv_cac_ratio", "cac_payback_periods",
]

_TIMINGS = ("end", "start", "end_first_sure")


@dataclass(frozen=True)
class SimpleCLV:
    """The terms of the classroom CLV formula for one group of customers.

    Attributes
    ----------
    revenue, purchases, customers
        Totals over the window.
    span : float
        Length of the window in ``time_unit``.
    average_purchase_value : float
        revenue / purchases.
    purchase_frequency : float
        purchases / customers / span: purchases per customer per time unit.
    lifespan : float
        Expected customer lifespan in ``time_unit``.
    margin : float
        Gross margin rate applied (1.0 = revenue CLV).
    clv : float
        APV x frequency x lifespan x margin.
    time_unit : str
    """

    revenue: float
    purchases: int
    customers: int
    span: float
    average_purchase_value: float
    purchase_frequency: float
    lifespan: float
    margin: float
    clv: float
    time_unit: str

    def describe(self) -> str:
        """One sentence that spells the formula out with the numbers.

        Examples
        --------
        >>> SimpleCLV(1000.0, 20, 5, 1.0, 50.0, 4.0, 3.0, 1.0, 600.0, "Y").describe()
        'CLV = 50.00 per purchase x 4.00 purchases per customer per year x 3.00 years = 600.00'
        """
        unit = unit_name(self.time_unit)
        margin = f" x margin {self.margin:.0%}" if self.margin != 1 else ""
        return (f"CLV = {self.average_purchase_value:,.2f} per purchase x "
                f"{self.purchase_frequency:,.2f} purchases per customer per {unit[:-1]} x "
                f"{self.lifespan:,.2f} {unit}{margin} = {self.clv:,.2f}")


def clv_components(
    transactions: pd.DataFrame | LoadResult,
    *,
    by: str | None = None,
    time_unit: str = "Y",
    lifespan: float | str | pd.Series = "observed",
    margin: float = 1.0,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Compute APV, purchase frequency, lifespan and CLV, overall or per group.

    Parameters
    ----------
    transactions : DataFrame or LoadResult
        Canonical transactions. A *purchase* is a distinct ``order_id`` when that
        column exists, otherwise a distinct (customer, calendar day).
    by : str, optional
        Column to group by (e.g. ``"channel"``, ``"segment"``, or ``"customer_id"``
        for per-customer terms). None: one row for everybody.
    time_unit : {"D", "W", "M", "Y"}, default "Y"
        Unit of frequency (per customer per unit) and lifespan.
    lifespan : float, "observed" or Series, default "observed"
        Expected lifespan in ``time_unit``. ``"observed"`` uses the mean time from
        first to last purchase *plus one purchase interval* seen in the window --
        a lower bound, because customers still active at the end are censored.
        A Series gives one lifespan per group.
    margin : float, default 1.0
        Gross margin rate in (0, 1]; 1 gives revenue CLV.
    start, end : date-like, optional
        Window; default the data's first and last day. The span counts whole days
        inclusive of both ends.

    Returns
    -------
    DataFrame
        Columns ``revenue, purchases, customers, span, average_purchase_value,
        purchase_frequency, lifespan, margin, clv``; ``attrs["time_unit"]``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2],
    ...                    "date": pd.to_datetime(["2023-01-01", "2023-07-01", "2023-02-01",
    ...                                            "2023-06-01", "2023-12-31"]),
    ...                    "amount": [100.0, 50.0, 30.0, 30.0, 40.0]})
    >>> t = clv_components(tx, time_unit="Y", lifespan=3.0)
    >>> t[["average_purchase_value", "purchase_frequency", "clv"]].round(2)
       average_purchase_value  purchase_frequency    clv
    0                    50.0                 2.5  375.25
    """
    check_one_of("time_unit", time_unit, TIME_UNITS)
    if not 0 < margin <= 1:
        raise DataValidationError(f"`margin` must be in (0, 1], got {margin!r}")
    tx = check_transactions(transactions)
    if by is not None and by not in tx.columns:
        raise DataValidationError(f"column {by!r} (by=) not in transactions; "
                                  f"found {list(tx.columns)}")
    day = tx[C.DATE].dt.normalize()
    lo = day.min() if start is None else pd.Timestamp(start)
    hi = day.max() if end is None else pd.Timestamp(end)
    window = tx[(day >= lo) & (day <= hi)]
    if window.empty:
        raise DataValidationError("no transactions in the window: nothing to compute")
    span = to_units(hi - lo + pd.Timedelta(days=1), time_unit=time_unit)
    purchase = pd.Series(order_keys(window), index=window.index)
    keys = window[by] if by is not None else pd.Series(0, index=window.index)
    frame = pd.DataFrame({"key": keys.to_numpy(), "customer": window[C.CUSTOMER_ID].to_numpy(),
                          "purchase": purchase.to_numpy(), "amount": window[C.AMOUNT].to_numpy(),
                          "day": window[C.DATE].dt.normalize().to_numpy()})
    g = frame.groupby("key", sort=True, observed=True)
    out = pd.DataFrame({"revenue": g["amount"].sum(), "purchases": g["purchase"].nunique(),
                        "customers": g["customer"].nunique()})
    out["span"] = span
    out["average_purchase_value"] = out["revenue"] / out["purchases"]
    out["purchase_frequency"] = out["purchases"] / out["customers"] / span
    out["lifespan"] = _lifespan(frame, out, lifespan, time_unit)
    out["margin"] = margin
    terms = out["average_purchase_value"] * out["purchase_frequency"] * out["lifespan"]
    out["clv"] = terms * margin
    out.index.name = by
    if by is None:
        out = out.reset_index(drop=True)
    out.attrs["time_unit"] = time_unit
    return out


def simple_clv(transactions, *, time_unit: str = "Y", lifespan="observed", margin: float = 1.0,
               start=None, end=None) -> SimpleCLV:
    """The classroom formula CLV = APV x purchase frequency x lifespan for all customers.

    See :func:`clv_components` for the parameters.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [10.0, 30.0, 20.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-06-30", "2024-12-30"])})
    >>> round(simple_clv(tx, time_unit="Y", lifespan=2.0).clv, 2)
    60.04
    """
    row = clv_components(transactions, time_unit=time_unit, lifespan=lifespan, margin=margin,
                         start=start, end=end).iloc[0]
    return SimpleCLV(revenue=float(row["revenue"]), purchases=int(row["purchases"]),
                     customers=int(row["customers"]), span=float(row["span"]),
                     average_purchase_value=float(row["average_purchase_value"]),
                     purchase_frequency=float(row["purchase_frequency"]),
                     lifespan=float(row["lifespan"]), margin=float(margin),
                     clv=float(row["clv"]), time_unit=time_unit)


def _lifespan(frame: pd.DataFrame, table: pd.DataFrame, lifespan, time_unit: str) -> pd.Series:
    if isinstance(lifespan, pd.Series):
        return lifespan.reindex(table.index).astype(float)
    if isinstance(lifespan, str):
        check_one_of("lifespan", lifespan, ["observed"])
        per = frame.groupby(["key", "customer"], observed=True)["day"]
        per = per.agg(["min", "max", "nunique"])
        tenure = to_units(per["max"] - per["min"], time_unit=time_unit)
        # add one mean inter-purchase gap so a single purchase does not count as zero lifetime
        gap = tenure / (per["nunique"] - 1).where(per["nunique"] > 1)
        typical_gap = gap.groupby(level="key").mean().fillna(0.0)
        return tenure.groupby(level="key").mean() + typical_gap
    check_positive("lifespan", lifespan)
    return pd.Series(float(lifespan), index=table.index)


def _check_retention_inputs(margin, retention, discount_rate, timing):
    check_probability("retention", retention)
    check_nonnegative("discount_rate", discount_rate)
    check_one_of("timing", timing, _TIMINGS)
    return (np.asarray(margin, float), np.asarray(retention, float),
            np.asarray(discount_rate, float))


def margin_multiplier(*, retention, discount_rate, timing: str = "end"):
    """Present value of one unit of margin per period: CLV / m.

    Examples
    --------
    >>> round(float(margin_multiplier(retention=0.8, discount_rate=0.1)), 4)
    2.6667
    """
    return retention_clv(1.0, retention=retention, discount_rate=discount_rate, timing=timing)


def retention_clv(margin_per_period, *, retention, discount_rate, timing: str = "end"):
    """Infinite-horizon CLV with constant margin, retention and discount rate.

    Parameters
    ----------
    margin_per_period : float or array
        Margin per customer per period, an amount (currency), not a rate: the
        ``m`` of the formulas.
    retention : float or array
        Probability of staying from one period to the next, in [0, 1).
    discount_rate : float or array
        Discount rate per period, >= 0.
    timing : {"end", "start", "end_first_sure"}, default "end"
        When margins arrive (see module docstring): ``m r/(1+d-r)``,
        ``m (1+d)/(1+d-r)`` or ``m/(1+d-r)``.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(float(retention_clv(1.0, retention=0.8, discount_rate=0.1)), 4)
    2.6667
    >>> round(float(retention_clv(1.0, retention=0.8, discount_rate=0.1, timing="start")), 4)
    3.6667
    >>> round(float(retention_clv(1.0, retention=0.8, discount_rate=0.1,
    ...                           timing="end_first_sure")), 4)
    3.3333
    """
    m, r, d = _check_retention_inputs(margin_per_period, retention, discount_rate, timing)
    numerator = {"end": r, "start": 1 + d, "end_first_sure": np.ones_like(r)}[timing]
    out = m * numerator / (1 + d - r)
    return out if out.ndim else float(out)


def finite_horizon_clv(margin_per_period, *, retention, discount_rate, periods: int,
                       timing: str = "end"):
    r"""CLV summed over ``periods`` periods instead of forever.

    ``margin_per_period`` (``m``) is an amount per customer per period, as in
    :func:`retention_clv`.

    With ``timing="end"``: :math:`\sum_{t=1}^{N} m\,r^t/(1+d)^t`;
    ``"start"``: :math:`\sum_{t=0}^{N-1} m\,r^t/(1+d)^t`;
    ``"end_first_sure"``: :math:`\sum_{t=1}^{N} m\,r^{t-1}/(1+d)^t`.
    As ``periods`` grows it tends to :func:`retention_clv`.

    Examples
    --------
    >>> round(float(finite_horizon_clv(100.0, retention=0.8, discount_rate=0.1, periods=3)), 2)
    164.09
    >>> round(float(finite_horizon_clv(1.0, retention=0.8, discount_rate=0.1, periods=500)), 4)
    2.6667
    """
    m, r, d = _check_retention_inputs(margin_per_period, retention, discount_rate, timing)
    if int(periods) != periods or periods < 1:
        raise DataValidationError(f"`periods` must be a whole number >= 1, got {periods!r}")
    q = r / (1 + d)
    geometric = (1 - q ** int(periods)) / (1 - q)  # sum_{t=0}^{N-1} q^t
    factor = {"end": q * geometric, "start": geometric,
              "end_first_sure": geometric / (1 + d)}[timing]
    out = m * factor
    return out if np.ndim(out) else float(out)


def expected_lifetime(*, retention):
    """Expected number of periods a customer stays: 1 / (1 - r) (geometric lifetime).

    Examples
    --------
    >>> expected_lifetime(retention=0.75)
    4.0
    """
    r = np.asarray(check_probability("retention", retention), float)
    out = 1.0 / (1.0 - r)
    return out if out.ndim else float(out)


def ltv_cac_ratio(ltv, cac):
    """LTV:CAC, customer lifetime value per unit of acquisition cost.

    A common rule of thumb treats 3 or more as healthy; below 1 the customer
    never pays back the cost of winning them.

    Examples
    --------
    >>> ltv_cac_ratio(300.0, 100.0)
    3.0
    """
    check_positive("cac", cac)
    out = np.asarray(ltv, float) / np.asarray(cac, float)
    return out if out.ndim else float(out)


def cac_payback_periods(cac, *, margin_per_period, retention=None, discount_rate=0.0):
    r"""Periods of margin needed to earn back the acquisition cost.

    Without ``retention``: ``cac / margin_per_period``. With ``retention`` (and an
    optional ``discount_rate``), margins of surviving customers are expected
    values: the payback is the smallest (fractional) number of periods ``n``
    with :math:`\sum_{t=1}^{n} m\,r^{t-1}/(1+d)^{t}\ge CAC`; ``inf`` when the
    customer is never expected to pay back.

    Examples
    --------
    >>> cac_payback_periods(120.0, margin_per_period=10.0)
    12.0
    >>> round(cac_payback_periods(25.0, margin_per_period=10.0, retention=0.9), 3)
    2.73
    >>> cac_payback_periods(200.0, margin_per_period=10.0, retention=0.9)
    inf
    """
    cac = float(check_positive("cac", cac))
    m = float(check_positive("margin_per_period", margin_per_period))
    if retention is None and not discount_rate:
        return cac / m
    r = 1.0 if retention is None else float(check_probability("retention", retention))
    d = float(check_nonnegative("discount_rate", discount_rate))
    q = r / (1 + d)
    # cumulative expected margin after n periods: m/(1+d) * (1 - q^n)/(1 - q)
    scale = m / (1 + d)
    limit = np.inf if q >= 1 else scale / (1 - q)
    if cac >= limit:
        return float("inf")
    if q == 1:
        return cac / scale
    return float(np.log(1 - cac * (1 - q) / scale) / np.log(q))
