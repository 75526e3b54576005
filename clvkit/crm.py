"""CRM metrics: activity, churn, retention, cohorts, campaign funnels, cross-sell, value.

Every function takes the canonical transactions table (columns ``customer_id``,
``date``, ``amount`` and optionally ``order_id``, ``product``, ``channel``; one row
per order line, positive amounts -- returns separated as
:func:`clvkit.load_transactions` does) or the campaign ``touches`` table of
:mod:`clvkit.synthetic` (one row per send with boolean ``opened``, ``clicked``,
``visited``, ``converted``, ``unsubscribed``).

Conventions
-----------
* **Periods are calendar periods** (pandas ``Period``): ``period="M"`` means
  calendar months, ``"W"`` weeks ending on Sunday, ``"Q"`` quarters, ``"Y"``
  years, ``"D"`` days -- never blocks of 30 days. Results are indexed by a
  ``PeriodIndex`` named ``"period"`` that covers every period from the first to
  the last transaction (periods without activity show zeros, not gaps). The
  last period is usually incomplete (data end mid-month): read its counts with
  care.
* **Orders** are distinct ``order_id`` values when that column is present,
  otherwise distinct (customer, calendar day) pairs.
* **Churn in non-contractual data is a definition, not an observation.**
  ``definition="inactive"``: a customer is classified as churned at the end of
  period *t* when they made no purchase in the ``inactive_periods`` periods up
  to and including *t*; ``definition="p_alive"``: when a model's P(alive) is
  below ``threshold``. The definition used is written into ``attrs``.
* Rates on campaign touches come with **Wilson score** intervals (Wilson 1927;
  Newcombe 1998, method 3); differences between two message variants with
  **Newcombe's hybrid score** interval (Newcombe 1998, method 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._validate import check_one_of, check_positive, check_probability
from .columns import AMOUNT, CUSTOMER_ID, DATE, PRODUCT, QUANTITY
from .contract import check_frame, check_transactions, order_keys
from .errors import ClvError, DataValidationError, example_rows

__all__ = [
    "PERIODS",
    "FUNNEL_STAGES",
    "active_customers",
    "new_vs_returning",
    "retention_rate",
    "churn_rate",
    "churn_base",
    "repeat_purchase_rate",
    "purchase_frequency",
    "average_order_value",
    "revenue_per_customer",
    "monthly_kpis",
    "cohort_matrix",
    "ACTIVITY_COLUMNS",
    "activity_table",
    "activity_kpis",
    "activity_cohorts",
    "activity_churn_base",
    "wilson_interval",
    "newcombe_interval",
    "funnel",
    "compare_messages",
    "dropout",
    "engagement_fade",
    "acquisition_funnel",
    "category_penetration",
    "categories_per_customer",
    "multi_category_share",
    "next_category",
    "category_lift",
    "campaign_lift",
    "basket_growth",
    "cumulative_value",
]

#: Calendar periods understood by every ``period=`` argument.
PERIODS = ("D", "W", "M", "Q", "Y")
_PERIOD_NAMES = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
_PERIOD_TEXT = {"D": "days", "W": "weeks (Mon-Sun)", "M": "calendar months",
                "Q": "calendar quarters", "Y": "calendar years"}

#: Columns of a customer x period activity table (:func:`activity_table`): one row per
#: customer and calendar period with a purchase; ``period`` is the pandas Period ordinal,
#: ``orders`` the customer's distinct orders in the period, ``first_orders`` those of them
#: first seen in the period (an order spanning two periods counts in both ``orders`` but
#: once in ``first_orders``), ``revenue`` the sum of the amounts.
ACTIVITY_COLUMNS = ("customer_id", "period", "orders", "first_orders", "revenue")

#: Nested stages of a campaign funnel, in order (each implies the previous one).
FUNNEL_STAGES = ("sent", "opened", "clicked", "visited", "converted")


# --------------------------------------------------------------------------- validation

def _check_period(period: str) -> str:
    return check_one_of("period", period, PERIODS)


def _age_name(period: str) -> str:
    return f"{_PERIOD_NAMES[period]}_since_acquisition"


# --------------------------------------------------------------------------- activity core

def _ordinals(dates: pd.Series, period: str) -> np.ndarray:
    return dates.dt.to_period(period).array.asi8.astype(np.int64)


def _unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct integer keys (sort-based: numpy 2.4 hash-based np.unique is slower)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def _period_index(first: int, n: int, period: str) -> pd.PeriodIndex:
    return pd.PeriodIndex.from_ordinals(np.arange(first, first + n), freq=period, name="period")


@dataclass(frozen=True)
class _Activity:
    """Customer x period activity (private helper): from rows or from an activity table."""

    period: str
    first: int            # ordinal of the first period
    n: int                # number of periods from first to last
    cust: np.ndarray      # customer code of each active (customer, period) pair
    t: np.ndarray         # period position (0..n-1) of each pair; pairs sorted by (cust, t)
    revenue: np.ndarray   # revenue per period position
    orders: np.ndarray    # distinct orders per period position
    customers: pd.Index   # customer ids by code
    first_orders: np.ndarray  # per pair: the customer's orders first seen in that period
    row_cust: np.ndarray | None = None  # customer code of each transaction row (from rows)
    row_t: np.ndarray | None = None     # period position of each transaction row (from rows)
    row_order: np.ndarray | None = None  # order key of each row (from rows)

    @classmethod
    def build(cls, transactions: pd.DataFrame, period: str) -> _Activity:
        tx = check_transactions(transactions, purchases_only=True)
        period = _check_period(period)
        cust, customers = pd.factorize(tx[CUSTOMER_ID])
        cust = cust.astype(np.int64)
        p = _ordinals(tx[DATE], period)
        first = int(p.min())
        t = p - first
        n = int(t.max()) + 1
        pairs = _unique(cust * n + t)
        row_order = order_keys(tx)     # an order belongs to one customer
        okey = _unique(row_order * n + t)
        # each order counts once, in the first period it appears (its key's smallest t)
        order_first = okey[np.r_[True, okey[1:] // n != okey[:-1] // n]]
        owner = np.empty(int(row_order.max()) + 1, dtype=np.int64)
        owner[row_order] = cust
        first_pairs = owner[order_first // n] * n + order_first % n
        first_orders = np.bincount(np.searchsorted(pairs, first_pairs), minlength=len(pairs))
        return cls(
            period=period, first=first, n=n, cust=pairs // n, t=pairs % n,
            revenue=np.bincount(t, weights=tx[AMOUNT].to_numpy(dtype=float), minlength=n),
            orders=np.bincount(okey % n, minlength=n), customers=pd.Index(customers),
            first_orders=first_orders, row_cust=cust, row_t=t, row_order=row_order,
        )

    @classmethod
    def from_table(cls, activity: pd.DataFrame, period: str, *,
                   revenue: np.ndarray | None = None) -> _Activity:
        """From an activity table (:data:`ACTIVITY_COLUMNS`; see :func:`activity_table`)."""
        period = _check_period(period)
        missing = [c for c in ACTIVITY_COLUMNS if c not in activity.columns]
        if missing:
            raise DataValidationError(f"the activity table lacks column(s) {missing}; "
                                      f"expected {list(ACTIVITY_COLUMNS)}")
        if len(activity) == 0:
            raise DataValidationError("the activity table is empty: no purchases")
        cust, customers = pd.factorize(activity[CUSTOMER_ID])
        p = activity["period"].to_numpy(dtype=np.int64)
        first = int(p.min())
        n = int(p.max()) - first + 1
        key = cust.astype(np.int64) * n + (p - first)
        order = np.argsort(key, kind="stable")
        key = key[order]
        if len(key) > 1 and (key[1:] == key[:-1]).any():
            raise DataValidationError("the activity table has two rows for one customer and "
                                      "period")
        t = key % n
        orders = activity["orders"].to_numpy(dtype=np.int64)[order]
        if revenue is None:
            revenue = np.bincount(t, weights=activity["revenue"].to_numpy(dtype=float)[order],
                                  minlength=n)
        return cls(period=period, first=first, n=n, cust=key // n, t=t,
                   revenue=np.asarray(revenue, dtype=float),
                   orders=np.bincount(t, weights=orders, minlength=n).astype(np.int64),
                   customers=pd.Index(customers),
                   first_orders=activity["first_orders"].to_numpy(dtype=np.int64)[order])

    @property
    def index(self) -> pd.PeriodIndex:
        return _period_index(self.first, self.n, self.period)

    def _count(self, mask=None) -> np.ndarray:
        t = self.t if mask is None else self.t[mask]
        return np.bincount(t, minlength=self.n)

    @property
    def is_first(self) -> np.ndarray:
        return np.r_[True, self.cust[1:] != self.cust[:-1]]

    def active(self) -> np.ndarray:
        return self._count()

    def new(self) -> np.ndarray:
        return self._count(self.is_first)

    def retained(self) -> np.ndarray:
        """Count customers active in t who were also active in t-1."""
        prev_t = np.r_[-2, self.t[:-1]]
        return self._count(~self.is_first & (prev_t == self.t - 1))

    def repeat_buyers(self) -> np.ndarray:
        """Customers with at least two orders by the end of each period (cumulative)."""
        if len(self.t) == 0:
            return np.zeros(self.n, dtype=np.int64)
        total = np.cumsum(self.first_orders)
        starts = np.flatnonzero(self.is_first)
        before = total - self.first_orders      # orders of all earlier pairs
        own = before - np.repeat(before[starts], np.diff(np.r_[starts, len(self.t)]))
        second = (own < 2) & (own + self.first_orders >= 2)
        return np.cumsum(np.bincount(self.t[second], minlength=self.n))

    def churn(self, inactive_periods: int) -> tuple[np.ndarray, np.ndarray]:
        """(churned in t, in the base at end of t) under the inactivity definition."""
        last = np.r_[self.cust[1:] != self.cust[:-1], True]
        next_t = np.r_[self.t[1:], 0]
        next_t = np.where(last, np.iinfo(np.int64).max // 2, next_t)
        end = np.minimum(next_t, self.t + inactive_periods)   # first period not in the base
        churn_at = (self.t + inactive_periods)[next_t > self.t + inactive_periods]
        churned = np.bincount(churn_at[churn_at < self.n], minlength=self.n)
        delta = np.bincount(self.t, minlength=self.n + 1)[: self.n + 1].astype(np.int64)
        delta -= np.bincount(np.minimum(end, self.n), minlength=self.n + 1)[: self.n + 1]
        return churned, np.cumsum(delta)[: self.n]


def _ratio(num, den) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _lagged_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num[t] / den[t-1], NaN for the first period."""
    out = np.full(len(num), np.nan)
    out[1:] = _ratio(num[1:], den[:-1])
    return out


def _churn_ratio(churned: np.ndarray, base: np.ndarray, inactive_periods: int) -> np.ndarray:
    """Churned in t / base at the end of t-1, NaN in the first ``inactive_periods`` periods.

    Nobody can have gone ``inactive_periods`` periods without buying before then.
    """
    out = _lagged_ratio(churned, base)
    out[:inactive_periods] = np.nan
    return out


def _series(values, act: _Activity, name: str, **attrs) -> pd.Series:
    s = pd.Series(values, index=act.index, name=name)
    s.attrs.update(period=act.period, **attrs)
    return s


# --------------------------------------------------------------------------- activity metrics

def active_customers(transactions: pd.DataFrame, *, period: str = "M") -> pd.Series:
    """Count distinct customers with at least one purchase in each calendar period.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period (pandas ``Period`` frequency).

    Returns
    -------
    Series
        Counts indexed by a ``PeriodIndex`` named ``"period"`` spanning first to last
        transaction (idle periods give 0).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-09", "2024-03-02"]),
    ...     "amount": [10.0, 5.0, 20.0, 8.0]})
    >>> active_customers(tx).tolist()
    [2, 0, 1]
    """
    act = _Activity.build(transactions, period)
    return _series(act.active(), act, "active_customers")


def new_vs_returning(transactions: pd.DataFrame, *, period: str = "M") -> pd.DataFrame:
    """Active customers per period split into new (first purchase ever) and returning.

    A customer is *new* in the period of their first purchase in the data and
    *returning* in every later period in which they buy.

    Returns
    -------
    DataFrame
        Columns ``active``, ``new``, ``returning``, ``new_share`` indexed by period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09", "2024-02-10"]),
    ...     "amount": [10.0, 5.0, 20.0, 8.0]})
    >>> new_vs_returning(tx)[["active", "new", "returning"]]
             active  new  returning
    period
    2024-01       1    1          0
    2024-02       3    2          1
    """
    act = _Activity.build(transactions, period)
    active, new = act.active(), act.new()
    out = pd.DataFrame({"active": active, "new": new, "returning": active - new,
                        "new_share": _ratio(new, active)}, index=act.index)
    out.attrs["period"] = act.period
    return out


def retention_rate(transactions: pd.DataFrame, *, period: str = "M") -> pd.Series:
    """Share of the customers active in period t-1 who are active again in period t.

    Returns
    -------
    Series
        Rates in [0, 1] indexed by period; the first period (no predecessor) and
        periods following an idle period are NaN.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 1, 2, 5],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4 + ["2024-02-03"] * 3),
    ...     "amount": 10.0})
    >>> retention_rate(tx).tolist()
    [nan, 0.5]
    """
    act = _Activity.build(transactions, period)
    return _series(_lagged_ratio(act.retained(), act.active()), act, "retention_rate")


def churn_rate(
    transactions: pd.DataFrame,
    *,
    period: str = "M",
    definition: str = "inactive",
    inactive_periods: int = 3,
    p_alive: pd.Series | pd.DataFrame | None = None,
    threshold: float = 0.5,
) -> pd.Series:
    """Churn rate per calendar period under an explicit definition of churn.

    In non-contractual data nobody announces that they left, so churn has to be
    defined:

    ``definition="inactive"`` (a flow rate)
        A customer is in the *base* at the end of period t if they bought in one of
        the ``inactive_periods`` periods up to and including t, and *churns* in the
        period that completes ``inactive_periods`` periods without a purchase. The
        churn rate of period t is ``churned in t / base at the end of t-1``. A
        customer who buys again later re-enters the base. With
        ``inactive_periods=1`` the churn rate equals ``1 - retention_rate``.
        No churn can be observed in the first ``inactive_periods`` periods of the
        data: the rate is NaN (undefined) there, not 0.
    ``definition="p_alive"`` (a stock share)
        ``p_alive`` holds a model's P(alive) per customer: a Series indexed by
        ``customer_id`` (one snapshot, labelled with the last period of the
        transactions) or a DataFrame indexed by ``customer_id`` whose columns are
        snapshot periods (NaN for customers not yet acquired). The rate of each
        snapshot is the share of customers with ``P(alive) < threshold``.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period.
    definition : {"inactive", "p_alive"}, default "inactive"
        Churn definition (see above); recorded in ``attrs["definition"]``.
    inactive_periods : int, default 3
        Number of consecutive periods without a purchase that define churn.
    p_alive : Series or DataFrame, optional
        P(alive) per customer; required for ``definition="p_alive"``.
    threshold : float, default 0.5
        P(alive) below this value counts as churned.

    Returns
    -------
    Series
        Churn rate indexed by period, ``attrs["definition"]`` states the definition.

    Examples
    --------
    Four customers buy in January; two buy again in February, one in March:

    >>> tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 1, 2, 1],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4 + ["2024-02-03"] * 2 + ["2024-03-03"]),
    ...     "amount": 10.0})
    >>> churn_rate(tx, inactive_periods=1).tolist()
    [nan, 0.5, 0.5]
    >>> churn_rate(tx, inactive_periods=2).tolist()
    [nan, nan, 0.5]
    >>> r = churn_rate(tx, definition="p_alive", p_alive=pd.Series([0.9, 0.4, 0.2, 0.7]))
    >>> r.attrs["definition"]
    'P(alive) < 0.5'
    >>> float(r.iloc[0])
    0.5
    """
    definition = check_one_of("definition", definition, ["inactive", "p_alive"])
    if definition == "p_alive":
        return _churn_from_p_alive(transactions, period=period, p_alive=p_alive,
                                   threshold=threshold)
    _check_inactive_periods(inactive_periods)
    act = _Activity.build(transactions, period)
    churned, base = act.churn(inactive_periods)
    text = (f"no purchase in {inactive_periods} consecutive {_PERIOD_TEXT[act.period]}; "
            "rate = churned in period / base at end of previous period")
    return _series(_churn_ratio(churned, base, inactive_periods), act, "churn_rate",
                   definition=text, inactive_periods=inactive_periods)


def churn_base(transactions: pd.DataFrame, *, period: str = "M",
               inactive_periods: int = 3) -> pd.Series:
    """Customers in the churn base at the end of each period (the denominator of churn).

    The base at the end of period t holds every customer who bought in one of the
    ``inactive_periods`` periods up to and including t (see :func:`churn_rate`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 1, 2, 1],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4 + ["2024-02-03"] * 2 + ["2024-03-03"]),
    ...     "amount": 10.0})
    >>> churn_base(tx, inactive_periods=2).tolist()
    [4, 4, 2]
    """
    _check_inactive_periods(inactive_periods)
    act = _Activity.build(transactions, period)
    return _series(act.churn(inactive_periods)[1], act, "churn_base",
                   inactive_periods=inactive_periods)


def _check_inactive_periods(inactive_periods) -> None:
    if not isinstance(inactive_periods, (int, np.integer)) or inactive_periods < 1:
        raise ClvError(f"`inactive_periods` must be an integer >= 1, got {inactive_periods!r}")


def _churn_from_p_alive(transactions, *, period, p_alive, threshold) -> pd.Series:
    if p_alive is None:
        raise ClvError("definition='p_alive' needs `p_alive`: a Series (or DataFrame of "
                       "snapshots) of P(alive) indexed by customer_id, e.g. from a BG/NBD fit.")
    check_probability("threshold", threshold, upper_open=False)
    period = _check_period(period)
    if isinstance(p_alive, pd.Series):
        tx = check_transactions(transactions, purchases_only=True)
        p_alive = p_alive.to_frame(tx[DATE].max().to_period(period))
    values = p_alive.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size and ((finite < 0) | (finite > 1)).any():
        raise ClvError("`p_alive` must hold probabilities in [0, 1]")
    known = np.isfinite(values)
    rate = _ratio((known & (np.nan_to_num(values, nan=1.0) < threshold)).sum(axis=0),
                  known.sum(axis=0))
    index = pd.PeriodIndex([pd.Period(c, freq=period) for c in p_alive.columns], name="period")
    out = pd.Series(rate, index=index, name="churn_rate")
    out.attrs.update(period=period, definition=f"P(alive) < {threshold:g}")
    return out


def _overall_orders(transactions: pd.DataFrame) -> tuple[int, int, float]:
    tx = check_transactions(transactions, purchases_only=True)
    cust = pd.factorize(tx[CUSTOMER_ID])[0].astype(np.int64)
    orders = len(_unique(order_keys(tx)))
    return int(cust.max()) + 1, orders, float(tx[AMOUNT].sum())


def repeat_purchase_rate(transactions: pd.DataFrame) -> float:
    """Share of customers with at least two orders (distinct order_id, else distinct days).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09",
    ...                             "2024-02-10", "2024-02-10"]),
    ...     "amount": [10.0, 5.0, 20.0, 8.0, 2.0]})
    >>> round(repeat_purchase_rate(tx), 4)
    0.3333
    """
    tx = check_transactions(transactions, purchases_only=True)
    cust = pd.factorize(tx[CUSTOMER_ID])[0].astype(np.int64)
    okeys = order_keys(tx)
    keys = _unique(cust * (int(okeys.max()) + 1) + okeys)
    per_customer = np.bincount(keys // (int(okeys.max()) + 1))
    return float(np.mean(per_customer >= 2))


def _overall_or_by_period(transactions, period, func, name):
    if period is None:
        customers, orders, revenue = _overall_orders(transactions)
        return float(func(customers=customers, orders=orders, revenue=revenue))
    act = _Activity.build(transactions, period)
    values = func(customers=act.active(), orders=act.orders, revenue=act.revenue)
    return _series(values, act, name)


def purchase_frequency(transactions: pd.DataFrame, *, period: str | None = None):
    """Orders per customer: overall (``period=None``) or per active customer in each period.

    Returns
    -------
    float or Series
        A number for ``period=None``, else a Series indexed by period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 11, 12],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-09"]),
    ...     "amount": [10.0, 5.0, 20.0]})
    >>> purchase_frequency(tx)
    1.5
    >>> purchase_frequency(tx, period="M").tolist()
    [2.0, 1.0]
    """
    return _overall_or_by_period(transactions, period,
                                 lambda customers, orders, revenue: _ratio(orders, customers),
                                 "orders_per_customer")


def average_order_value(transactions: pd.DataFrame, *, period: str | None = None):
    """Average order value: revenue / distinct orders, overall or per period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [10, 10, 12],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-02-09"]),
    ...     "amount": [10.0, 5.0, 20.0]})
    >>> average_order_value(tx)
    17.5
    >>> average_order_value(tx, period="M").tolist()
    [15.0, 20.0]
    """
    return _overall_or_by_period(transactions, period,
                                 lambda customers, orders, revenue: _ratio(revenue, orders),
                                 "average_order_value")


def revenue_per_customer(transactions: pd.DataFrame, *, period: str | None = None):
    """Revenue per customer: overall, or per active customer in each period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-09"]),
    ...     "amount": [10.0, 5.0, 20.0]})
    >>> revenue_per_customer(tx)
    17.5
    >>> revenue_per_customer(tx, period="M").tolist()
    [15.0, 20.0]
    """
    return _overall_or_by_period(transactions, period,
                                 lambda customers, orders, revenue: _ratio(revenue, customers),
                                 "revenue_per_customer")


def monthly_kpis(transactions: pd.DataFrame, *, period: str = "M",
                 inactive_periods: int = 3) -> pd.DataFrame:
    """Compute the headline KPI table of a CRM report, one row per calendar period.

    Columns
    -------
    ``revenue``, ``orders``, ``active_customers``, ``new_customers``,
    ``returning_customers``, ``average_order_value`` (revenue / orders),
    ``orders_per_customer`` and ``revenue_per_customer`` (per active customer),
    ``returning_share`` (share of the period's active customers who had bought before),
    ``repeat_purchase_rate`` (share of all customers seen up to the end of the period
    with at least two orders; cumulative), ``retention_rate`` (see
    :func:`retention_rate`), ``churn_rate`` (see :func:`churn_rate`, inactivity
    definition, stated in ``attrs["churn_definition"]``; NaN in the first
    ``inactive_periods`` periods). Definitions: :data:`clvkit.metrics.METRICS`.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 1, 2, 1],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4 + ["2024-02-03"] * 2 + ["2024-03-03"]),
    ...     "amount": [10.0, 20, 30, 40, 10, 20, 60]})
    >>> k = monthly_kpis(tx, inactive_periods=1)
    >>> k[["revenue", "orders", "active_customers", "new_customers", "retention_rate"]]
             revenue  orders  active_customers  new_customers  retention_rate
    period
    2024-01    100.0       4                 4              4             NaN
    2024-02     30.0       2                 2              0             0.5
    2024-03     60.0       1                 1              0             0.5
    """
    _check_inactive_periods(inactive_periods)
    return _kpis(_Activity.build(transactions, period), inactive_periods)


def activity_kpis(activity: pd.DataFrame, *, period: str = "M", inactive_periods: int = 3,
                  revenue: np.ndarray | None = None) -> pd.DataFrame:
    """:func:`monthly_kpis` from a customer x period activity table (:func:`activity_table`).

    The same definitions and code as :func:`monthly_kpis`; the table is what a SQL
    engine produces from transactions it never hands over (:mod:`clvkit.report.tables`).

    Parameters
    ----------
    activity : DataFrame
        Columns :data:`ACTIVITY_COLUMNS`.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period of the table's ``period`` ordinals.
    inactive_periods : int, default 3
        Churn window, as in :func:`monthly_kpis`.
    revenue : array, optional
        Revenue per period from the first to the last period of the table (default:
        the sum of the table's ``revenue`` per period).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 1, 2, 1],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4 + ["2024-02-03"] * 2 + ["2024-03-03"]),
    ...     "amount": [10.0, 20, 30, 40, 10, 20, 60]})
    >>> a = activity_kpis(activity_table(tx), inactive_periods=1)
    >>> a.equals(monthly_kpis(tx, inactive_periods=1))
    True
    """
    _check_inactive_periods(inactive_periods)
    return _kpis(_Activity.from_table(activity, period, revenue=revenue), inactive_periods)


def activity_churn_base(activity: pd.DataFrame, *, period: str = "M",
                        inactive_periods: int = 3) -> pd.Series:
    """:func:`churn_base` from a customer x period activity table (:func:`activity_table`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 1],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-03-03"]),
    ...     "amount": 10.0})
    >>> activity_churn_base(activity_table(tx), inactive_periods=1).equals(
    ...     churn_base(tx, inactive_periods=1))
    True
    """
    _check_inactive_periods(inactive_periods)
    act = _Activity.from_table(activity, period)
    return _series(act.churn(inactive_periods)[1], act, "churn_base",
                   inactive_periods=inactive_periods)


def activity_table(transactions: pd.DataFrame, *, period: str = "M") -> pd.DataFrame:
    """The customer x period activity table of ``transactions`` (:data:`ACTIVITY_COLUMNS`).

    Rows are sorted by customer (in order of first appearance) and period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["X", "X", "Y"],
    ...     "date": pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-03"]),
    ...     "amount": [10.0, 5.0, 20.0]})
    >>> activity_table(tx)
      customer_id  period  orders  first_orders  revenue
    0           a     648       1             1     10.0
    1           a     649       1             0      5.0
    2           b     649       1             1     20.0
    """
    act = _Activity.build(transactions, period)
    pair = np.searchsorted(act.cust * act.n + act.t, act.row_cust * act.n + act.row_t)
    tx = check_transactions(transactions, purchases_only=True)
    okeys = _unique(act.row_order * len(act.t) + pair) % len(act.t)
    return pd.DataFrame({
        CUSTOMER_ID: act.customers[act.cust],
        "period": act.t + act.first,
        "orders": np.bincount(okeys, minlength=len(act.t)),
        "first_orders": act.first_orders,
        "revenue": np.bincount(pair, weights=tx[AMOUNT].to_numpy(dtype=float),
                               minlength=len(act.t)),
    })


def _kpis(act: _Activity, inactive_periods: int) -> pd.DataFrame:
    active, new = act.active(), act.new()
    churned, base = act.churn(inactive_periods)
    out = pd.DataFrame({
        "revenue": act.revenue,
        "orders": act.orders,
        "active_customers": active,
        "new_customers": new,
        "returning_customers": active - new,
        "average_order_value": _ratio(act.revenue, act.orders),
        "orders_per_customer": _ratio(act.orders, active),
        "revenue_per_customer": _ratio(act.revenue, active),
        "returning_share": _ratio(active - new, active),
        "repeat_purchase_rate": _ratio(act.repeat_buyers(), np.cumsum(new)),
        "retention_rate": _lagged_ratio(act.retained(), active),
        "churn_rate": _churn_ratio(churned, base, inactive_periods),
    }, index=act.index)
    out.attrs.update(
        period=act.period,
        churn_definition=f"no purchase in {inactive_periods} consecutive "
                         f"{_PERIOD_TEXT[act.period]}",
    )
    return out


# --------------------------------------------------------------------------- cohorts

_COHORT_VALUES = ("retention", "customers", "revenue", "revenue_per_customer")


def cohort_matrix(transactions: pd.DataFrame, *, period: str = "M",
                  value: str = "retention") -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition.

    The cohort of a customer is the calendar period of their first purchase in the
    data; age 0 is that period. Cells a cohort has not reached yet (beyond the last
    period of the data) are NaN, not zero.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period of cohorts and ages.
    value : {"retention", "customers", "revenue", "revenue_per_customer"}
        ``customers``: active customers of the cohort at each age; ``retention``: that
        count / cohort size (1.0 at age 0); ``revenue``: the cohort's revenue at each
        age; ``revenue_per_customer``: revenue / cohort size.

    Returns
    -------
    DataFrame
        Index ``cohort`` (PeriodIndex), columns ``0..n-1`` named e.g.
        ``months_since_acquisition``; ``attrs`` hold ``value``, ``period`` and
        ``cohort_size`` (Series).

    Raises
    ------
    DataValidationError
        If ``transactions`` is empty.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 1, 3, 2],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-03",
    ...                             "2024-02-05", "2024-03-01"]),
    ...     "amount": 10.0})
    >>> cohort_matrix(tx)
    months_since_acquisition    0    1    2
    cohort
    2024-01                   1.0  0.5  0.5
    2024-02                   1.0  0.0  NaN
    2024-03                   NaN  NaN  NaN
    """
    value = check_one_of("value", value, _COHORT_VALUES)
    return _cohorts(_Activity.build(transactions, period), value,
                    transactions[AMOUNT].to_numpy(dtype=float) if value not in (
                        "retention", "customers") else None)


def activity_cohorts(activity: pd.DataFrame, *, period: str = "M",
                     value: str = "retention") -> pd.DataFrame:
    """:func:`cohort_matrix` from a customer x period activity table (:func:`activity_table`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "amount": [5.0, 7.0, 9.0],
    ...                    "date": pd.to_datetime(["2024-01-03", "2024-02-09", "2024-03-03"])})
    >>> activity_cohorts(activity_table(tx), value="revenue").equals(
    ...     cohort_matrix(tx, value="revenue"))
    True
    """
    value = check_one_of("value", value, _COHORT_VALUES)
    act = _Activity.from_table(activity, period)
    revenue = None
    if value not in ("retention", "customers"):
        cust, _ = pd.factorize(activity[CUSTOMER_ID])
        key = cust.astype(np.int64) * act.n + activity["period"].to_numpy(np.int64) - act.first
        revenue = activity["revenue"].to_numpy(dtype=float)[np.argsort(key, kind="stable")]
    return _cohorts(act, value, revenue, rows=False)


def _cohorts(act: _Activity, value: str, amounts: np.ndarray | None, *,
             rows: bool = True) -> pd.DataFrame:
    """Cohort cells of ``act``; ``amounts`` per transaction row (``rows``) or per pair."""
    n = act.n
    first_t = np.zeros(len(act.customers), dtype=np.int64)
    first_t[act.cust[act.is_first]] = act.t[act.is_first]
    size = np.bincount(first_t, minlength=n)
    if value == "retention" or value == "customers":
        cohort, age = first_t[act.cust], act.t - first_t[act.cust]
        cells = np.bincount(cohort * n + age, minlength=n * n).astype(float)
    else:
        who, when = (act.row_cust, act.row_t) if rows else (act.cust, act.t)
        cohort = first_t[who]
        cells = np.bincount(cohort * n + when - cohort, weights=amounts, minlength=n * n)
    cells = cells.reshape(n, n)
    if value in ("retention", "revenue_per_customer"):
        cells = _ratio(cells, size[:, None] * np.ones((1, n)))
    observed = np.arange(n)[:, None] + np.arange(n)[None, :] < n
    cells = np.where(observed & (size[:, None] > 0), cells, np.nan)
    index = act.index.rename("cohort")
    out = pd.DataFrame(cells, index=index,
                       columns=pd.RangeIndex(n, name=_age_name(act.period)))
    out.attrs.update(value=value, period=act.period,
                     cohort_size=pd.Series(size, index=index, name="cohort_size"))
    return out


# --------------------------------------------------------------------------- proportions

def _z(confidence: float) -> float:
    check_probability("confidence", confidence)
    check_positive("confidence", confidence)
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes, trials, *, confidence: float = 0.95):
    """Wilson score interval for a binomial proportion (Wilson 1927).

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``p = x/n``. Unlike
    the Wald interval it stays inside [0, 1] and keeps its coverage for small counts
    and rates near 0 or 1 (Newcombe 1998, method 3; Agresti & Coull 1998).

    Parameters
    ----------
    successes, trials : int or array-like
        Counts; ``trials == 0`` gives NaN.
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    (low, high) : tuple of float or ndarray

    Examples
    --------
    Newcombe (1998, Table I) example 81/263: 0.2553 to 0.3662.

    >>> low, high = wilson_interval(81, 263)
    >>> round(float(low), 4), round(float(high), 4)
    (0.2553, 0.3662)
    """
    z = _z(confidence)
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ClvError("wilson_interval needs 0 <= successes <= trials")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def newcombe_interval(x1, n1, x2, n2, *, confidence: float = 0.95):
    """Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe 1998, method 10).

    With Wilson limits ``(l1, u1)``, ``(l2, u2)``:
    ``low = d - sqrt((p1-l1)² + (u2-p2)²)``, ``high = d + sqrt((u1-p1)² + (p2-l2)²)``.
    Good coverage for small samples and rates near 0 or 1, unlike the Wald interval.

    Returns
    -------
    (difference, low, high) : tuple of float or ndarray

    Examples
    --------
    Newcombe (1998b, Table II) example 56/70 - 48/80: 0.0524 to 0.3339.

    >>> d, low, high = newcombe_interval(56, 70, 48, 80)
    >>> round(float(d), 4), round(float(low), 4), round(float(high), 4)
    (0.2, 0.0524, 0.3339)
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    if np.ndim(d) == 0:
        return float(d), float(low), float(high)
    return d, low, high


# --------------------------------------------------------------------------- campaigns

def _as_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _check_touches(touches, by: list[str], stages: Sequence[str]) -> pd.DataFrame:
    df = check_frame(touches, name="touches", columns=[*by, *stages])
    for col in stages:
        if not pd.api.types.is_bool_dtype(df[col]):
            raise DataValidationError(
                f"touches column `{col}` must be boolean, got {df[col].dtype}")
    return df


def _grouped_counts(df: pd.DataFrame, by: list[str], columns: list[str]) -> pd.DataFrame:
    flags = df[columns].astype(np.int64)
    flags.insert(0, "sent", 1)
    if not by:
        out = flags.sum().to_frame().T
        out.index = pd.Index(["all"], name="group")
        return out
    return flags.groupby([df[c] for c in by], observed=True, sort=True).sum()


def funnel(touches: pd.DataFrame, *, by=("tactic", "message", "medium"),
           confidence: float = 0.95) -> pd.DataFrame:
    """Campaign funnel sent -> opened -> clicked -> visited -> converted, with Wilson intervals.

    Each stage implies the previous one (a click implies an open, ...); the check
    fails loudly otherwise. ``rate`` is conditional on the previous stage (open rate
    = opened / sent, click rate = clicked / opened, landing-page conversion =
    converted / visited); ``overall_rate`` is per send.

    Parameters
    ----------
    touches : DataFrame
        One row per send with boolean ``opened, clicked, visited, converted``.
    by : str, sequence of str or None, default ("tactic", "message", "medium")
        Grouping columns; ``None`` gives one overall funnel.
    confidence : float, default 0.95
        Level of the Wilson intervals.

    Returns
    -------
    DataFrame
        Index ``(*by, stage)``; columns ``count``, ``base`` (previous stage count),
        ``rate``, ``rate_low``, ``rate_high``, ``overall_rate``, ``overall_low``,
        ``overall_high``.

    Examples
    --------
    >>> t = pd.DataFrame({"tactic": ["x"] * 4,
    ...     "opened": [True, True, True, False], "clicked": [True, True, False, False],
    ...     "visited": [True, False, False, False], "converted": [False] * 4})
    >>> f = funnel(t, by="tactic")
    >>> f[["count", "rate", "overall_rate"]].round(3)
                     count   rate  overall_rate
    tactic stage
    x      sent          4  1.000          1.00
           opened        3  0.750          0.75
           clicked       2  0.667          0.50
           visited       1  0.500          0.25
           converted     0  0.000          0.00
    """
    by = _as_list(by)
    stages = list(FUNNEL_STAGES[1:])
    df = _check_touches(touches, by, stages)
    for prev, stage in zip(stages[:-1], stages[1:], strict=True):
        bad = df.index[(df[stage] & ~df[prev]).to_numpy()]
        if len(bad):
            raise DataValidationError(
                f"touches are not nested: `{stage}` is True while `{prev}` is False in "
                f"{example_rows(bad)}; a funnel needs each stage to imply the previous one."
            )
    counts = _grouped_counts(df, by, stages)
    wide = counts.to_numpy()
    base = np.c_[wide[:, :1], wide[:, :-1]]
    sent = wide[:, :1] * np.ones((1, wide.shape[1]), dtype=np.int64)
    long = pd.DataFrame({
        "count": wide.ravel(),
        "base": base.ravel(),
    }, index=pd.MultiIndex.from_tuples(
        [(*(key if isinstance(key, tuple) else (key,)), s)
         for key in counts.index for s in FUNNEL_STAGES],
        names=[*counts.index.names, "stage"]))
    long["rate"] = _ratio(long["count"], long["base"])
    long["rate_low"], long["rate_high"] = wilson_interval(long["count"], long["base"],
                                                          confidence=confidence)
    long["overall_rate"] = _ratio(wide.ravel(), sent.ravel())
    long["overall_low"], long["overall_high"] = wilson_interval(wide.ravel(), sent.ravel(),
                                                                confidence=confidence)
    long.attrs.update(confidence=confidence, interval="Wilson score")
    return long


def compare_messages(touches: pd.DataFrame, *, stage: str = "converted", a="A", b="B",
                     by="tactic", base: str = "sent", message: str = "message",
                     confidence: float = 0.95) -> pd.DataFrame:
    """Difference between two message variants in the rate of reaching ``stage``.

    The rate is ``stage / base`` (default: per send; use ``base="visited"`` for
    landing-page conversion). The difference ``rate_a - rate_b`` comes with
    Newcombe's hybrid score interval (Newcombe 1998, method 10), which keeps its
    coverage for small counts, and a two-sided pooled two-proportion z-test p-value.

    Parameters
    ----------
    touches : DataFrame
        Campaign touches with a ``message`` column and boolean stage columns.
    stage : str, default "converted"
        Stage counted as success (``opened``, ``clicked``, ``visited``, ``converted``
        or ``unsubscribed``).
    a, b : default "A", "B"
        The two values of the ``message`` column to compare.
    by : str, sequence of str or None, default "tactic"
        Compare within each group; ``None`` for one overall comparison.
    base : str, default "sent"
        Denominator stage (``"sent"`` = every row).
    message : str, default "message"
        Column holding the variant.
    confidence : float, default 0.95
        Interval level.

    Returns
    -------
    DataFrame
        One row per group: ``n_a, x_a, rate_a, n_b, x_b, rate_b, difference, low,
        high, p_value``.

    Examples
    --------
    Newcombe (1998b) example (a): 56/70 vs 48/80.

    >>> t = pd.DataFrame({"message": ["A"] * 70 + ["B"] * 80,
    ...     "converted": [True] * 56 + [False] * 14 + [True] * 48 + [False] * 32})
    >>> compare_messages(t, by=None)[["difference", "low", "high"]].round(4)
           difference     low    high
    group
    all           0.2  0.0524  0.3339
    """
    by = _as_list(by)
    stages = [stage] if base == "sent" else [base, stage]
    check_one_of("stage", stage, [*FUNNEL_STAGES[1:], "unsubscribed"])
    check_one_of("base", base, FUNNEL_STAGES[:-1])
    df = _check_touches(touches, [*by, message], stages)
    if not by:
        df, by = df.assign(group="all"), ["group"]
    if base != "sent":
        df = df[df[base].to_numpy()]
    both = df[df[message].isin([a, b]).to_numpy()]
    counts = _grouped_counts(both, [*by, message], [stage])
    wide = counts.unstack(message, fill_value=0)
    missing = [v for v in (a, b) if v not in wide.columns.get_level_values(message)]
    if missing:
        raise ClvError(f"message variant(s) {missing} not found in column `{message}`; "
                       f"values are {sorted(df[message].unique().tolist())}")
    n_a, n_b = wide[("sent", a)].to_numpy(), wide[("sent", b)].to_numpy()
    x_a, x_b = wide[(stage, a)].to_numpy(), wide[(stage, b)].to_numpy()
    diff, low, high = newcombe_interval(x_a, n_a, x_b, n_b, confidence=confidence)
    pooled = _ratio(x_a + x_b, n_a + n_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        p_value = 2 * stats.norm.sf(np.abs(diff) / se)
    p_value = np.where(se > 0, p_value, np.where(diff == 0, 1.0, np.nan))
    out = pd.DataFrame({"n_a": n_a, "x_a": x_a, "rate_a": _ratio(x_a, n_a),
                        "n_b": n_b, "x_b": x_b, "rate_b": _ratio(x_b, n_b),
                        "difference": diff, "low": low, "high": high, "p_value": p_value},
                       index=wide.index)
    out.attrs.update(a=a, b=b, stage=stage, base=base, confidence=confidence,
                     interval="Newcombe hybrid score (method 10)")
    return out


def dropout(touches: pd.DataFrame, *, by=("tactic", "message"), column: str = "unsubscribed",
            confidence: float = 0.95) -> pd.DataFrame:
    """Dropout (unsubscribe after contact) rate per send, by group, with Wilson intervals.

    Returns
    -------
    DataFrame
        ``sent``, ``dropouts``, ``dropout_rate``, ``low``, ``high`` per group.

    Examples
    --------
    >>> t = pd.DataFrame({"tactic": ["d", "d", "d", "n"],
    ...     "unsubscribed": [True, False, False, False]})
    >>> dropout(t, by="tactic")[["sent", "dropouts", "dropout_rate"]].round(3)
            sent  dropouts  dropout_rate
    tactic
    d          3         1         0.333
    n          1         0         0.000
    """
    by = _as_list(by)
    df = _check_touches(touches, by, [column])
    counts = _grouped_counts(df, by, [column])
    sent, drops = counts["sent"].to_numpy(), counts[column].to_numpy()
    low, high = wilson_interval(drops, sent, confidence=confidence)
    out = pd.DataFrame({"sent": sent, "dropouts": drops, "dropout_rate": _ratio(drops, sent),
                        "low": low, "high": high}, index=counts.index)
    out.attrs.update(confidence=confidence, interval="Wilson score", column=column)
    return out


def engagement_fade(touches: pd.DataFrame, *, recent: int = 6, column: str = "opened"
                    ) -> pd.DataFrame:
    """Customers whose engagement stopped: none of their last ``recent`` sends opened.

    Opens and clicks fade before purchases do: a customer who used to open the
    messages and has opened none of the last ``recent`` is a sign that the
    relationship may have ended, long before an inactivity-based churn rule can
    say so. A customer is flagged ``faded`` when they received at least
    ``recent + 1`` sends, opened none of their last ``recent`` and at least one of
    the earlier ones (someone who never opened anything never engaged: that is a
    different problem, a dead address or a channel they ignore).

    Parameters
    ----------
    touches : DataFrame
        One row per send: ``customer_id``, ``send_date`` and ``column`` (bool).
    recent : int, default 6
        Number of a customer's latest sends that make up the "recent" window.
    column : str, default "opened"
        The engagement flag (``"opened"`` or ``"clicked"``).

    Returns
    -------
    DataFrame
        Per customer (index ``customer_id``): ``sends``, ``earlier_rate`` (share of
        the sends before the window with ``column`` true), ``recent_rate`` (in the
        window), ``faded`` (bool); ``attrs["recent"]``, ``attrs["column"]``.

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": ["a"] * 4 + ["b"] * 4,
    ...                   "send_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01",
    ...                                                "2024-04-01"] * 2),
    ...                   "opened": [True, True, False, False, False, True, False, True]})
    >>> engagement_fade(t, recent=2)
                 sends  earlier_rate  recent_rate  faded
    customer_id
    a                4           1.0          0.0   True
    b                4           0.5          0.5  False
    """
    df = check_frame(touches, name="touches", columns=[CUSTOMER_ID, "send_date", column])
    if isinstance(recent, bool) or not isinstance(recent, (int, np.integer)) or recent < 1:
        raise ClvError(f"`recent` must be a whole number of sends >= 1, got {recent!r}")
    flags = df[column]
    if flags.isna().any():
        raise DataValidationError(
            f"`touches[{column!r}]` has missing values in {example_rows(df.index[flags.isna()])}: "
            "fill them (True/False) before measuring engagement")
    codes, customers = pd.factorize(df[CUSTOMER_ID], sort=True)
    dates = df["send_date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    order = np.lexsort((dates, codes))
    sorted_codes = codes[order]
    n_sends = np.bincount(codes, minlength=len(customers))
    from_end = n_sends[sorted_codes] - _rank_within(sorted_codes)   # 0 = the latest send
    in_window = from_end < int(recent)
    engaged = flags.to_numpy(dtype=bool)[order]
    k = len(customers)
    recent_sends = np.bincount(sorted_codes[in_window], minlength=k)
    recent_hits = np.bincount(sorted_codes[in_window & engaged], minlength=k)
    earlier_hits = np.bincount(sorted_codes[~in_window & engaged], minlength=k)
    earlier_sends = n_sends - recent_sends
    out = pd.DataFrame({
        "sends": n_sends,
        "earlier_rate": _ratio(earlier_hits, earlier_sends),
        "recent_rate": _ratio(recent_hits, recent_sends),
        "faded": (earlier_sends > 0) & (recent_hits == 0) & (earlier_hits > 0),
    }, index=pd.Index(customers, name=CUSTOMER_ID))
    out.attrs.update(recent=int(recent), column=column)
    return out


def acquisition_funnel(people: pd.DataFrame, *, by: str = "channel",
                       stages=("prospect", "first_purchase"), spend: pd.Series | None = None,
                       confidence: float = 0.95) -> pd.DataFrame:
    """The funnel before the first purchase (reached -> prospect -> first purchase), by group.

    Parameters
    ----------
    people : DataFrame
        One row per person reached, the ``by`` column and one boolean column per
        stage; each stage implies the previous one (checked).
    by : str, default "channel"
    stages : sequence of str, default ("prospect", "first_purchase")
        The boolean stage columns after "reached", in order.
    spend : Series, optional
        Spend per group: adds ``cost_per`` (spend / people at the stage), so the
        last stage's cost is the acquisition cost (CAC) of the group.
    confidence : float, default 0.95
        Level of the Wilson intervals.

    Returns
    -------
    DataFrame
        Index ``(by, stage)`` with stage ``reached`` first; ``count``, ``rate``
        (conditional on the previous stage), ``rate_low``, ``rate_high``,
        ``overall_rate`` (per person reached) and, with ``spend``, ``cost_per``.

    Examples
    --------
    >>> people = pd.DataFrame({"channel": ["a"] * 4 + ["b"] * 2,
    ...                        "prospect": [True, True, False, False, True, False],
    ...                        "first_purchase": [True, False, False, False, True, False]})
    >>> f = acquisition_funnel(people, spend=pd.Series({"a": 8.0, "b": 4.0}))
    >>> f[["count", "rate", "overall_rate", "cost_per"]]
                            count  rate  overall_rate  cost_per
    channel stage
    a       reached             4   1.0          1.00       2.0
            prospect            2   0.5          0.50       4.0
            first_purchase      1   0.5          0.25       8.0
    b       reached             2   1.0          1.00       2.0
            prospect            1   0.5          0.50       4.0
            first_purchase      1   1.0          0.50       4.0
    """
    stages = list(stages)
    df = check_frame(people, name="people", columns=[by, *stages])
    flags = []
    for column in stages:
        values = df[column]
        if values.isna().any():
            raise DataValidationError(f"`people[{column!r}]` has missing values in "
                                      f"{example_rows(df.index[values.isna()])}")
        flags.append(values.to_numpy(dtype=bool))
    for earlier, later, name in zip(flags, flags[1:], stages[1:], strict=False):
        skipped = later & ~earlier
        if skipped.any():
            raise DataValidationError(
                f"`people[{name!r}]` is True without the stage before it in "
                f"{example_rows(df.index[skipped])}: each stage implies the previous one")
    codes, groups = pd.factorize(df[by], sort=True)
    counts = np.vstack([np.bincount(codes, minlength=len(groups))]
                       + [np.bincount(codes[f], minlength=len(groups)) for f in flags])
    base = np.vstack([counts[:1], counts[:-1]])
    low, high = wilson_interval(counts.ravel(), base.ravel(), confidence=confidence)
    names = ["reached", *stages]
    index = pd.MultiIndex.from_product([groups, names], names=[by, "stage"])
    order = lambda a: np.asarray(a).reshape(counts.shape).T.ravel()  # noqa: E731 (group-major)
    out = pd.DataFrame({"count": order(counts), "rate": order(_ratio(counts, base)),
                        "rate_low": order(low), "rate_high": order(high),
                        "overall_rate": order(_ratio(counts, np.broadcast_to(counts[0],
                                                                             counts.shape)))},
                       index=index)
    if spend is not None:
        money = pd.Series(spend, dtype=float).reindex(groups).to_numpy()
        out["cost_per"] = order(_ratio(np.broadcast_to(money, counts.shape), counts))
    out.attrs.update(confidence=confidence, interval="Wilson score")
    return out


# --------------------------------------------------------------------------- cross-sell / up-sell

def _rank_within(sorted_codes: np.ndarray) -> np.ndarray:
    """1, 2, 3, ... within runs of equal codes of an array sorted by code."""
    position = np.arange(len(sorted_codes))
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    return position - np.maximum.accumulate(np.where(starts, position, 0)) + 1


def categories_per_customer(transactions: pd.DataFrame, *, category: str = PRODUCT) -> pd.Series:
    """Count the distinct categories each customer bought from (index ``customer_id``).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "product": ["a", "b", "a"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09"]),
    ...     "amount": 10.0})
    >>> categories_per_customer(tx).to_dict()
    {1: 2, 2: 1}
    """
    tx = check_transactions(transactions, extra=(category,), purchases_only=True)
    out = tx.groupby(CUSTOMER_ID, observed=True)[category].nunique()
    return out.rename("n_categories")


def multi_category_share(transactions: pd.DataFrame, *, category: str = PRODUCT,
                         min_categories: int = 2) -> float:
    """Share of customers who bought from at least ``min_categories`` categories.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "product": ["a", "b", "a"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09"]),
    ...     "amount": 10.0})
    >>> multi_category_share(tx)
    0.5
    """
    return float((categories_per_customer(transactions, category=category)
                  >= min_categories).mean())


def category_penetration(transactions: pd.DataFrame, *, category: str = PRODUCT) -> pd.DataFrame:
    """Per category: customers buying it, share of all customers, revenue and revenue share.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "product": ["a", "b", "a"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09"]),
    ...     "amount": [10.0, 30.0, 60.0]})
    >>> category_penetration(tx)
              customers  penetration  revenue  revenue_share
    category
    a                 2          1.0     70.0            0.7
    b                 1          0.5     30.0            0.3
    """
    tx = check_transactions(transactions, extra=(category,), purchases_only=True)
    g = tx.groupby(category, observed=True, sort=True)
    out = pd.DataFrame({"customers": g[CUSTOMER_ID].nunique(), "revenue": g[AMOUNT].sum()})
    out.insert(1, "penetration", out["customers"] / tx[CUSTOMER_ID].nunique())
    out["revenue_share"] = out["revenue"] / out["revenue"].sum()
    out.index = pd.Index(out.index.astype(object), name="category")
    return out


def next_category(transactions: pd.DataFrame, *, category: str = PRODUCT,
                  normalize: bool = True, none_label: str = "(none)") -> pd.DataFrame:
    """Next-category affinity: which category customers buy second, given the first.

    Categories are ranked per customer by the date of their first purchase; ties
    (several categories first bought on the same day) are broken by the amount
    spent in that row, larger first. Customers who never buy a second category fall
    in the ``none_label`` column, so each row shows the full outcome.

    Parameters
    ----------
    normalize : bool, default True
        Row shares P(second | first) (rows sum to 1) instead of customer counts.

    Returns
    -------
    DataFrame
        Index ``first_category`` (categories someone bought first), columns
        ``second_category``: every category (the diagonal is 0 by definition) plus
        ``none_label``;
        ``attrs["customers"]`` holds the row counts.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3],
    ...     "product": ["a", "b", "a", "c", "a"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-01-09",
    ...                             "2024-03-01", "2024-01-02"]),
    ...     "amount": 10.0})
    >>> next_category(tx).round(3)
    second_category    a      b      c  (none)
    first_category
    a                0.0  0.333  0.333   0.333
    """
    tx = check_transactions(transactions, extra=(category,), purchases_only=True)
    cust = pd.factorize(tx[CUSTOMER_ID])[0].astype(np.int64)
    cat, names = pd.factorize(tx[category], sort=True)
    k = len(names)
    rows = np.lexsort((-tx[AMOUNT].to_numpy(dtype=float),
                       tx[DATE].to_numpy().astype("datetime64[ns]").astype(np.int64), cust))
    c, g = cust[rows], cat[rows].astype(np.int64)
    firsts = ~pd.Series(c * k + g).duplicated().to_numpy()   # first row of each category
    c, g = c[firsts], g[firsts]
    rank = _rank_within(c)
    first_cat = np.full(int(cust.max()) + 1, -1)
    second_cat = np.full(int(cust.max()) + 1, k)              # k = none
    first_cat[c[rank == 1]] = g[rank == 1]
    second_cat[c[rank == 2]] = g[rank == 2]
    counts = np.bincount(first_cat * (k + 1) + second_cat, minlength=k * (k + 1))
    labels = [str(n) for n in names]
    table = pd.DataFrame(counts.reshape(k, k + 1),
                         index=pd.Index(labels, name="first_category"),
                         columns=pd.Index([*labels, none_label], name="second_category"))
    table = table.loc[table.sum(axis=1) > 0]
    rows = table.sum(axis=1)
    out = table.div(rows, axis=0) if normalize else table
    out.attrs["customers"] = rows.rename("customers")
    return out


def category_lift(transactions: pd.DataFrame, *, category: str = PRODUCT,
                  none_label: str = "(none)") -> pd.DataFrame:
    """Lift of each second category given the first, over its base rate.

    ``lift(c | f) = P(second = c | first = f) / P(second = c | first != c)``: how
    much more likely customers who started with ``f`` are to buy ``c`` next than
    every customer who could buy ``c`` second (all who did not start with it).
    Lift above 1 means ``f`` says something about ``c``; a category popular with
    everyone has lift near 1 in every row, however often it comes second.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions with a ``category`` column.
    category : str, default "product"
    none_label : str, default "(none)"
        Label of "no second category" in :func:`next_category` (left out here).

    Returns
    -------
    DataFrame
        Index ``first_category``, columns ``second_category`` (the categories);
        the diagonal is NaN (nobody buys their first category "second").
        ``attrs["base_rate"]`` is ``P(second = c | first != c)`` per category.

    Examples
    --------
    Everyone who starts with ``a`` buys ``b`` next; of the others, one in two:

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3, 4],
    ...     "product": ["a", "b", "a", "b", "c", "b", "c"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-02-01"] * 3 + ["2024-01-01"]),
    ...     "amount": 10.0})
    >>> category_lift(tx).round(3)
    second_category    a      b   c
    first_category
    a                NaN  1.333 NaN
    c                NaN  0.667 NaN
    >>> category_lift(tx).attrs["base_rate"].round(3).to_dict()
    {'a': 0.0, 'b': 0.75, 'c': 0.0}
    """
    counts = next_category(transactions, category=category, normalize=False,
                           none_label=none_label)
    cats = [c for c in counts.columns if c != none_label]
    rows = counts.sum(axis=1)
    share = counts[cats].div(rows, axis=0)
    base = pd.Series({c: counts[c].drop(index=c, errors="ignore").sum()
                      / rows.drop(index=c, errors="ignore").sum() for c in cats}, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = share / base.where(base > 0)
    for c in set(cats) & set(lift.index):
        lift.loc[c, c] = np.nan
    lift.columns.name = "second_category"
    lift.attrs["base_rate"] = base.rename("base_rate")
    return lift


def _lift_standard_error(counts: np.ndarray) -> float:
    """Cluster-robust (by customer) standard error of a difference of two ratio estimates.

    ``counts`` rows: per customer sends, buyers, times in the control, buyers in
    the control. The same customer appears in many sends, and whether they buy is
    correlated from one send to the next, so the sends are not independent
    trials: the linearised (sandwich) variance sums residuals per customer.
    """
    n1, x1, n2, x2 = counts.astype(float)
    if n1.sum() == 0 or n2.sum() == 0:
        return float("nan")
    r1, r2 = x1.sum() / n1.sum(), x2.sum() / n2.sum()
    e1, e2 = (x1 - r1 * n1) / n1.sum(), (x2 - r2 * n2) / n2.sum()
    return float(np.sqrt(np.sum((e1 - e2) ** 2)))


def campaign_lift(touches: pd.DataFrame, transactions: pd.DataFrame, *, by="tactic",
                  window_days: int = 30, acquisition=None,
                  confidence: float = 0.95) -> pd.DataFrame:
    """Incremental purchase rate of a campaign: contacted versus eligible not contacted.

    For each send (one ``send_date``), the **eligible** customers are those
    acquired before it and not unsubscribed by an earlier touch. The contacted
    ones "bought" when they have a purchase in ``transactions`` within
    ``window_days`` after the send or converted on the touch; the eligible
    customers not contacted when they have such a purchase. Summed over the sends
    of each group, the **lift** is the difference of the two rates (with
    an interval): the purchases per send the campaign *caused*, unlike the
    conversion rate, which also counts customers who would have bought anyway.

    A customer appears in many sends (contacted in some, in the control in
    others) and buys or not in a customer-specific way, so sends are not
    independent trials: the interval uses a cluster-robust (by customer, sandwich)
    standard error of the difference, ``lift +/- z se``, wider than a binomial one.

    The comparison is causal only if who was contacted was decided at random
    (a hold-out group); otherwise it measures targeting as well as the message.

    Parameters
    ----------
    touches : DataFrame
        One row per send: ``customer_id``, ``send_date``, ``converted``,
        ``unsubscribed`` and the ``by`` columns.
    transactions : DataFrame
        Canonical transactions (purchases).
    by : str, list or None, default "tactic"
        Columns of ``touches`` to group the sends by (None: all together).
    window_days : int, default 30
        Days after a send in which a purchase counts.
    acquisition : Series, optional
        Acquisition time per ``customer_id`` (default: the first purchase in
        ``transactions``); its index is the customer base. Give times as precise
        as the send times: with dates only, customers acquired later on a send
        day count as eligible, and their first purchase inflates the control's rate.
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        Per group: ``sends``, ``contacted_buyers``, ``rate_contacted``,
        ``not_contacted``, ``not_contacted_buyers``, ``rate_not_contacted``,
        ``lift`` (rate difference), ``low``, ``high`` and ``relative_lift``
        (``rate_contacted / rate_not_contacted``); ``attrs["window_days"]``.

    Examples
    --------
    Two eligible customers, one contacted: the contacted one converts, the other
    buys anyway within the window; a third customer arrives after the send.

    >>> touches = pd.DataFrame({"customer_id": ["a"], "send_date": pd.to_datetime(["2024-03-01"]),
    ...                         "tactic": ["discount"], "converted": [True],
    ...                         "unsubscribed": [False]})
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "b", "c"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-01-10", "2024-03-15",
    ...                                            "2024-03-20"]), "amount": 10.0})
    >>> campaign_lift(touches, tx)[["sends", "rate_contacted", "not_contacted",
    ...                             "rate_not_contacted", "lift"]]
              sends  rate_contacted  not_contacted  rate_not_contacted  lift
    tactic
    discount      1             1.0              1                 1.0   0.0
    """
    group_cols = _as_list(by)
    tch = _check_touches(touches, group_cols, ["converted", "unsubscribed"])
    tch = check_frame(tch, name="touches", columns=[CUSTOMER_ID, "send_date"])
    check_positive("window_days", window_days)
    tx = check_transactions(transactions, purchases_only=True)
    if acquisition is None:
        acquisition = tx.groupby(CUSTOMER_ID)[DATE].min()
    base = pd.Index(acquisition.index).union(pd.Index(tch[CUSTOMER_ID].unique()))
    acq = acquisition.reindex(base).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    acq = np.where(pd.isna(acquisition.reindex(base)).to_numpy(), np.iinfo(np.int64).max, acq)
    t_pos = base.get_indexer(tx[CUSTOMER_ID])
    known = t_pos >= 0
    t_pos = t_pos[known]
    t_date = tx[DATE].to_numpy(dtype="datetime64[ns]").astype(np.int64)[known]
    send = tch["send_date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    s_pos = base.get_indexer(tch[CUSTOMER_ID])
    unsub_at = np.full(len(base), np.iinfo(np.int64).max)
    unsub = tch["unsubscribed"].to_numpy(bool)
    np.minimum.at(unsub_at, s_pos[unsub], send[unsub])
    window = int(window_days) * 86_400_000_000_000
    labels = pd.Series(list(zip(*(tch[c].astype(str) for c in group_cols), strict=True))
                       if group_cols else [("all",)] * len(tch), index=tch.index, dtype=object)
    codes, uniques = pd.factorize(labels)
    converted_all = tch["converted"].to_numpy(bool)
    per_customer = {}  # group -> per-customer counts: sends, buyers, not contacted, buyers
    for when in np.unique(send):
        today = send == when
        contacted_any = np.zeros(len(base), bool)
        contacted_any[s_pos[today]] = True
        bought = np.zeros(len(base), bool)
        bought[t_pos[(t_date > when) & (t_date <= when + window)]] = True
        control = (acq < when) & (unsub_at >= when) & ~contacted_any
        for code in np.unique(codes[today]):
            group = uniques[code]
            here = today & (codes == code)
            contacted = np.zeros(len(base), bool)
            contacted[s_pos[here]] = True
            converted = np.zeros(len(base), bool)
            converted[s_pos[here & converted_all]] = True
            counts = per_customer.setdefault(group, np.zeros((4, len(base)), np.int64))
            counts[0] += contacted
            counts[1] += contacted & (bought | converted)
            counts[2] += control
            counts[3] += control & bought
    names = sorted(per_customer)
    table = np.array([per_customer[g].sum(axis=1) for g in names]).reshape(-1, 4)
    index = (pd.MultiIndex.from_tuples(names, names=group_cols) if len(group_cols) > 1
             else pd.Index([g[0] for g in names], name=group_cols[0] if group_cols else "group"))
    out = pd.DataFrame(table, columns=["sends", "contacted_buyers", "not_contacted",
                                       "not_contacted_buyers"], index=index)
    z = _z(confidence)
    se = np.array([_lift_standard_error(per_customer[g]) for g in names])
    with np.errstate(divide="ignore", invalid="ignore"):
        out.insert(2, "rate_contacted", out["contacted_buyers"] / out["sends"])
        out["rate_not_contacted"] = out["not_contacted_buyers"] / out["not_contacted"]
        out["lift"] = out["rate_contacted"] - out["rate_not_contacted"]
        out["low"], out["high"] = out["lift"] - z * se, out["lift"] + z * se
        out["relative_lift"] = out["rate_contacted"] / out["rate_not_contacted"]
    out.attrs["window_days"] = int(window_days)
    return out


def _orders_table(tx: pd.DataFrame) -> pd.DataFrame:
    """One row per order (customer code, first line's date, value, items), by customer, date."""
    cust = pd.factorize(tx[CUSTOMER_ID])[0].astype(np.int64)
    key = order_keys(tx)
    rows = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[rows][1:] != key[rows][:-1]])
    items = (tx[QUANTITY].to_numpy(dtype=float) if QUANTITY in tx.columns
             else np.ones(len(tx)))
    dates = tx[DATE].to_numpy().astype("datetime64[ns]").astype(np.int64)
    orders = pd.DataFrame({
        "cust": cust[rows][starts],
        DATE: np.minimum.reduceat(dates[rows], starts).astype("datetime64[ns]"),
        "value": np.add.reduceat(tx[AMOUNT].to_numpy(dtype=float)[rows], starts),
        "items": np.add.reduceat(items[rows], starts),
    })
    ordered = np.lexsort((orders[DATE].to_numpy(), orders["cust"].to_numpy()))
    return orders.iloc[ordered].reset_index(drop=True)


def basket_growth(transactions: pd.DataFrame, *, by: str = "order_number",
                  period: str = "M", max_steps: int = 12) -> pd.DataFrame:
    """Order value and basket size over customer tenure (up-sell).

    Parameters
    ----------
    by : {"order_number", "periods_since_first"}, default "order_number"
        Tenure axis: the customer's 1st, 2nd, ... order, or calendar periods since
        the period of their first order (0 = first period).
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Period of ``by="periods_since_first"``.
    max_steps : int, default 12
        Number of tenure steps to report.

    Returns
    -------
    DataFrame
        Per tenure step: ``orders``, ``customers``, ``mean_order_value``,
        ``median_order_value``, ``mean_items`` (quantity, else order lines) and
        ``value_index`` (mean order value relative to the first step). Later steps
        contain only customers who got that far (survivor selection: read with care).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2], "order_id": [1, 2, 3, 4],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-01-09", "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 30.0, 60.0]})
    >>> basket_growth(tx)[["orders", "mean_order_value", "value_index"]]
                  orders  mean_order_value  value_index
    order_number
    1                  2              20.0          1.0
    2                  2              40.0          2.0
    """
    by = check_one_of("by", by, ["order_number", "periods_since_first"])
    tx = check_transactions(transactions, purchases_only=True)
    orders = _orders_table(tx)
    order_number = _rank_within(orders["cust"].to_numpy())
    if by == "order_number":
        step, name, keep = order_number, "order_number", max_steps + 1
    else:
        p = _ordinals(orders[DATE], _check_period(period))
        first = np.arange(len(p)) - order_number + 1
        step, name, keep = p - p[first], f"{_PERIOD_NAMES[period]}_since_first", max_steps
    mask = step < keep
    orders = orders[mask].assign(step=step[mask])
    n_steps = int(orders["step"].max()) + 1
    pairs = _unique(orders["cust"].to_numpy() * n_steps + orders["step"].to_numpy())
    g = orders.groupby("step", sort=True)
    sizes = g.size()
    out = pd.DataFrame({"orders": sizes,
                        "customers": np.bincount(pairs % n_steps)[sizes.index.to_numpy()],
                        "mean_order_value": g["value"].mean(),
                        "median_order_value": g["value"].median(),
                        "mean_items": g["items"].mean()})
    out["value_index"] = out["mean_order_value"] / out["mean_order_value"].iloc[0]
    out.index.name = name
    return out


# --------------------------------------------------------------------------- value over tenure

def _group_labels(tx: pd.DataFrame, by) -> pd.Series:
    if by is None:
        return pd.Series("all", index=tx.index)
    if isinstance(by, str):
        if by not in tx.columns:
            raise DataValidationError(f"`by` column {by!r} not in transactions "
                                      f"(columns: {list(tx.columns)})")
        return tx[by]
    if isinstance(by, pd.Series):
        labels = tx[CUSTOMER_ID].map(by)
        bad = tx.index[labels.isna().to_numpy()]
        if len(bad):
            raise DataValidationError(f"`by` has no group for the customers of {example_rows(bad)}"
                                      "; pass a Series indexed by customer_id covering them.")
        return labels
    raise ClvError(f"`by` must be None, a column name or a Series indexed by customer_id, "
                   f"got {type(by).__name__}")


def cumulative_value(transactions: pd.DataFrame, *, by=None, period: str = "M",
                     margin=None, max_periods: int | None = None) -> pd.DataFrame:
    """Mean cumulative revenue (or margin) per customer by calendar periods since acquisition.

    A teaching view of cohorts in calendar periods. The ``observed_value`` metric
    (value in the first N months, as the course and the reports state it) is
    :func:`clvkit.economics.cumulative_margin`: margin net of returns, months of
    30.44 days since acquisition.

    "CLV over the customer journey": for each group (e.g. acquisition channel) and
    each age k (calendar periods since the customer's first purchase, 0 = that
    period), the expected value a customer has brought in up to age k.
    Right-censoring is handled life-table style: the mean spend *at* age j is taken
    over the customers whose cohort has been observed for at least j periods (so
    recent cohorts are not counted as zeros), and the curve is the running sum of
    these means -- non-decreasing, and every age uses all the cohorts that reached
    it. A group's curve stops (NaN) when no cohort of it reached that age.

    Parameters
    ----------
    transactions : DataFrame
        Canonical transactions.
    by : None, str or Series, default None
        Column of ``transactions`` (e.g. ``"channel"``), ``"cohort"`` (the period of
        the first purchase), a Series mapping ``customer_id`` to a group (e.g.
        segment), or None for everyone. A customer belongs to the group of their
        first transaction row.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Calendar period.
    margin : None, float or Series, default None
        Gross margin rate to turn revenue into margin: a number, or a Series indexed by
        ``customer_id``.
    max_periods : int, optional
        Report ages ``0..max_periods`` only.

    Returns
    -------
    DataFrame
        Index ages named e.g. ``months_since_acquisition``, one column per group;
        ``attrs["customers"]`` is a DataFrame of how many customers each cell averages.

    Examples
    --------
    Customer 1 (Jan) spends 10 then 20 a month later; customer 2 (Feb) spends 30 and
    has not been observed for a second month yet. Age 0: mean(10, 30) = 20; age 1:
    20 + customer 1's 20 = 40.

    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-02-20", "2024-02-09"]),
    ...     "amount": [10.0, 20.0, 30.0]})
    >>> cumulative_value(tx)
    group                      all
    months_since_acquisition
    0                         20.0
    1                         40.0
    """
    tx = check_transactions(transactions, purchases_only=True)
    period = _check_period(period)
    amount = tx[AMOUNT].to_numpy(dtype=float)
    if margin is not None:
        rate = (tx[CUSTOMER_ID].map(margin).to_numpy(dtype=float)
                if isinstance(margin, pd.Series) else np.full(len(tx), float(margin)))
        if not np.all(np.isfinite(rate)):
            raise DataValidationError("`margin` has no value for some customers; pass a Series "
                                      "indexed by customer_id covering every customer.")
        amount = amount * rate
    cust, customers = pd.factorize(tx[CUSTOMER_ID])
    t = _ordinals(tx[DATE], period)
    first = int(t.min())
    t = t - first
    n = int(t.max()) + 1
    cohort = np.full(len(customers), n, dtype=np.int64)
    np.minimum.at(cohort, cust, t)
    if isinstance(by, str) and by == "cohort" and "cohort" not in tx.columns:
        gcode, groups = pd.factorize(cohort, sort=True)
        groups = pd.PeriodIndex.from_ordinals(groups + first, freq=period).astype(str)
    else:
        labels = _group_labels(tx, by)
        first_row = np.flatnonzero(~pd.Series(cust).duplicated().to_numpy())
        gcode, groups = pd.factorize(labels.to_numpy()[first_row], sort=True)
    n_groups = len(groups)
    g_row, c_row = gcode[cust], cohort[cust]
    flat = (g_row * n + c_row) * n + (t - c_row)
    revenue = np.bincount(flat, weights=amount, minlength=n_groups * n * n).reshape(n_groups, n, n)
    size = np.bincount(gcode * n + cohort, minlength=n_groups * n).reshape(n_groups, n)
    observed = (np.arange(n)[:, None] + np.arange(n)[None, :] < n).astype(float)  # cohort x age
    eligible = size @ observed
    per_age = _ratio(np.einsum("gca,ca->ga", revenue, observed), eligible)
    ages = pd.RangeIndex(n, name=_age_name(period))
    cols = pd.Index(groups, name=by if isinstance(by, str) else "group")
    out = pd.DataFrame(np.cumsum(per_age, axis=1).T, index=ages, columns=cols)
    counts = pd.DataFrame(eligible.T.astype(np.int64), index=ages, columns=cols)
    if max_periods is not None:
        out, counts = out.loc[:max_periods], counts.loc[:max_periods]
    out.attrs.update(period=period, value="margin" if margin is not None else "revenue",
                     customers=counts)
    return out


