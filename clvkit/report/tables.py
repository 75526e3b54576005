r"""The report's boundary: the small tables every engine produces from one scan.

An engine (pandas, DuckDB, Spark) reads the cleaned transactions once and
produces the tables of :class:`ReportTables`; the KPIs (:mod:`clvkit.metrics`,
computed by :mod:`clvkit.crm` from these tables) are then computed in pandas for
every engine, so no metric is written twice. None of the tables grows with the
number of transactions: the largest has one row per customer and month with a
purchase.

Schemas
-------
``activity`` -- one row per customer and calendar month with a purchase
    (:data:`ACTIVITY_SCHEMA`): ``customer_id`` (text as the loader wrote it),
    ``period`` (pandas monthly Period ordinal: months since January 1970),
    ``orders`` (distinct orders of the customer in the month,
    :data:`clvkit.contract.ORDER_DEFINITION`), ``first_orders`` (of those, the
    orders first seen in the month), ``purchase_days`` (distinct calendar days),
    ``first_day`` / ``last_day`` (days since 1970-01-01), ``revenue`` (sum of the
    purchase amounts), ``first_day_revenue`` (the amounts of ``first_day``) and
    ``refunds`` (the refunds column of the purchases, :data:`clvkit.io.REFUNDED`; 0
    without one).
``monthly`` -- one row per month with a purchase or a return (:data:`MONTHLY_SCHEMA`):
    ``period``, ``rows`` (purchase lines), ``revenue`` (sum of the purchase
    amounts, row by row), ``returns`` (returns and refunds as a positive amount,
    the definition of :func:`clvkit.report.sections.executive.monthly_returns`).
``customer_returns`` -- one row per customer and month with a return (:data:`RETURNS_SCHEMA`):
    ``customer_id``, ``period``, ``rows`` (return lines) and ``amount`` (their sum,
    negative as in the data).
``cuts`` -- for a month in progress, the like-for-like cuts
    (``{stop_day: ReportTables}``) of the rows dated before ``stop_day`` (days since
    1970-01-01).

The DuckDB and Spark producers run one SQL text (:func:`tables_sql`) over a view
of the cleaned transactions; :func:`pandas_tables` is the reference producer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import columns as C

__all__ = ["ACTIVITY_SCHEMA", "MONTHLY_SCHEMA", "RETURNS_SCHEMA", "ReportTables", "pandas_tables",
           "tables_sql", "monthly_sql", "rfm_from_activity",
           "subscription_evidence_from_activity"]

#: Column -> dtype of :attr:`ReportTables.activity`.
ACTIVITY_SCHEMA = {"customer_id": "object", "period": "int64", "orders": "int64",
                   "first_orders": "int64", "purchase_days": "int64", "first_day": "int64",
                   "last_day": "int64", "revenue": "float64", "first_day_revenue": "float64",
                   "refunds": "float64"}
#: Column -> dtype of :attr:`ReportTables.monthly`.
MONTHLY_SCHEMA = {"period": "int64", "rows": "int64", "revenue": "float64",
                  "returns": "float64"}
#: Column -> dtype of :attr:`ReportTables.customer_returns`.
RETURNS_SCHEMA = {"customer_id": "object", "period": "int64", "rows": "int64",
                  "amount": "float64"}
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True, eq=False)
class ReportTables:
    """The small tables of a report (see the module docstring for their schemas).

    Attributes
    ----------
    activity, monthly : DataFrame
        Customer x month activity and the monthly row sums.
    engine : str
        The engine that produced them.
    customer_returns : DataFrame or None
        Customer x month returns (None: no returns table was produced).
    cuts : dict
        ``stop_day -> ReportTables`` of the like-for-like cuts of a month in progress.
    """

    activity: pd.DataFrame
    monthly: pd.DataFrame
    engine: str = "pandas"
    cuts: dict = field(default_factory=dict)
    customer_returns: pd.DataFrame | None = None

    @property
    def customers(self) -> pd.DataFrame:
        """Per-customer features of the purchasers, indexed by ``customer_id``.

        ``first_day``, ``last_day`` (days since 1970-01-01), ``orders``,
        ``purchase_days``, ``revenue``, ``returns`` (positive) and ``net_value``
        (revenue - returns); one row per customer with a purchase.
        """
        grouped = self.activity.groupby("customer_id", sort=True)
        out = grouped.agg(first_day=("first_day", "min"), last_day=("last_day", "max"),
                          orders=("first_orders", "sum"),
                          purchase_days=("purchase_days", "sum"), revenue=("revenue", "sum"))
        back = self.customer_returns
        returned = (-back.groupby("customer_id")["amount"].sum() if back is not None
                    and len(back) else pd.Series(dtype=float))
        out["returns"] = returned.reindex(out.index, fill_value=0.0).to_numpy(dtype=float)
        out["net_value"] = out["revenue"] - out["returns"]
        return out

    @property
    def first_day(self) -> pd.Timestamp | None:
        """The first purchase date of the data (midnight), None without purchases."""
        if len(self.activity) == 0:
            return None
        return pd.Timestamp(_EPOCH + np.timedelta64(int(self.activity["first_day"].min()), "D"))

    def revenue(self, periods: pd.PeriodIndex) -> np.ndarray:
        """Revenue (row sums) of each month of ``periods`` (0 where no purchase)."""
        sums = self.monthly.set_index("period")["revenue"]
        return sums.reindex(periods.asi8, fill_value=0.0).to_numpy(dtype=float)

    def returns(self) -> pd.Series:
        """Returns and refunds per month (positive), indexed by month Period."""
        m = self.monthly.loc[self.monthly["returns"] != 0]
        return pd.Series(m["returns"].to_numpy(dtype=float),
                         index=pd.PeriodIndex.from_ordinals(m["period"].to_numpy(), freq="M"))

    def upto(self, stop_day: int) -> ReportTables:
        """The tables of the rows dated before ``stop_day`` (a cut given to the producer)."""
        if stop_day not in self.cuts:
            raise KeyError(f"no cut at day {stop_day} was produced")
        return self.cuts[stop_day]

    def activity_before(self, stop_day: int) -> pd.DataFrame:
        """The activity of the rows dated before ``stop_day`` (days since 1970-01-01).

        Exact when ``stop_day`` starts a month or is a cut the producer made; a stop
        inside a month whose rows straddle it is refused (ValueError).
        """
        if stop_day in self.cuts:
            return self.cuts[stop_day].activity
        a = self.activity
        month = pd.Period(_EPOCH + np.timedelta64(stop_day, "D"), "M").ordinal
        straddle = (a["first_day"] < stop_day) & (a["last_day"] >= stop_day)
        if straddle.any():
            raise ValueError(f"the tables have no cut at day {stop_day}")
        return a.loc[(a["period"] <= month) & (a["last_day"] < stop_day)]

    def repeat_customers(self, stop_day: int) -> int:
        """Customers with purchases on two or more days before ``stop_day``."""
        a = self.activity
        last_period = pd.Period(_EPOCH + np.timedelta64(stop_day - 1, "D"), "M").ordinal
        if stop_day in self.cuts:
            a = self.cuts[stop_day].activity
        a = a.loc[a["period"] <= last_period]
        days = a.groupby("customer_id", sort=False)["purchase_days"].sum()
        return int((days >= 2).sum())


def pandas_tables(transactions: pd.DataFrame, returns: pd.DataFrame | None = None, *,
                  cuts: tuple[int, ...] = ()) -> ReportTables:
    """The report tables of cleaned transactions, in pandas (the reference producer).

    Parameters
    ----------
    transactions, returns : DataFrame
        As in :class:`clvkit.report.data.ReportData`.
    cuts : tuple of int
        Stop days (days since 1970-01-01, exclusive) of like-for-like cuts.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-03"]),
    ...                    "amount": [10.0, 5.0, 20.0]})
    >>> t = pandas_tables(tx)
    >>> t.activity[["customer_id", "period", "orders", "purchase_days", "revenue"]]
      customer_id  period  orders  purchase_days  revenue
    0           a     648       1              1     10.0
    1           a     649       1              1      5.0
    2           b     649       1              1     20.0
    >>> t.monthly
       period  rows  revenue  returns
    0     648     1     10.0      0.0
    1     649     2     25.0      0.0
    """
    tables = _pandas_tables(transactions, returns)
    out = {}
    for stop in cuts:
        end = _EPOCH + np.timedelta64(int(stop), "D")
        keep = {"transactions": transactions.loc[transactions[C.DATE] < end]}
        if returns is not None:
            keep["returns"] = returns.loc[returns[C.DATE] < end]
        out[int(stop)] = _pandas_tables(keep["transactions"], keep.get("returns"))
    return dataclasses.replace(tables, cuts=out)


def _pandas_tables(tx: pd.DataFrame, returns: pd.DataFrame | None) -> ReportTables:
    from ..crm import activity_table
    from ..io import REFUNDED

    if len(tx):
        act = activity_table(tx, period="M")
        day = _day_numbers(tx[C.DATE])
        cust = pd.factorize(tx[C.CUSTOMER_ID])[0].astype(np.int64)
        period = tx[C.DATE].dt.to_period("M").array.asi8.astype(np.int64)
        codes = pd.factorize(act[C.CUSTOMER_ID])[0].astype(np.int64)
        first = int(act["period"].min())
        n = int(act["period"].max()) - first + 1
        pair = np.searchsorted(codes * n + act["period"].to_numpy() - first,
                               cust * n + period - first)
        first_day = np.full(len(act), np.iinfo(np.int64).max)
        last_day = np.full(len(act), np.iinfo(np.int64).min)
        np.minimum.at(first_day, pair, day)
        np.maximum.at(last_day, pair, day)
        days = np.unique(pair * (int(day.max()) - int(day.min()) + 1) + day - int(day.min()))
        amount = tx[C.AMOUNT].to_numpy(dtype=float)
        on_first = day == first_day[pair]
        refunds = (tx[REFUNDED].fillna(0).to_numpy(dtype=float) if REFUNDED in tx
                   else np.zeros(len(tx)))
        act = act.assign(
            purchase_days=np.bincount(days // (int(day.max()) - int(day.min()) + 1),
                                      minlength=len(act)),
            first_day=first_day, last_day=last_day,
            first_day_revenue=np.bincount(pair[on_first], weights=amount[on_first],
                                          minlength=len(act)),
            refunds=np.bincount(pair, weights=refunds, minlength=len(act)))
        act = act[list(ACTIVITY_SCHEMA)]
        act[C.CUSTOMER_ID] = act[C.CUSTOMER_ID].astype("object")
    else:
        act = pd.DataFrame({k: pd.Series(dtype=v) for k, v in ACTIVITY_SCHEMA.items()})
    monthly = _pandas_monthly(tx, returns)
    back = pd.DataFrame({k: pd.Series(dtype=v) for k, v in RETURNS_SCHEMA.items()})
    if returns is not None and len(returns):
        keys = [returns[C.CUSTOMER_ID].astype("string").astype("object").rename("customer_id"),
                pd.Series(returns[C.DATE].dt.to_period("M").array.asi8, index=returns.index,
                          name="period")]
        grouped = returns[C.AMOUNT].astype(float).groupby(keys, sort=True)
        back = pd.DataFrame({"rows": grouped.size(), "amount": grouped.sum()}).reset_index()
        back = back.astype(RETURNS_SCHEMA)
    return ReportTables(act.reset_index(drop=True), monthly, customer_returns=back)


def _pandas_monthly(tx: pd.DataFrame, returns: pd.DataFrame | None) -> pd.DataFrame:
    """Rows, revenue (summed row by row) and returns per month."""
    from ..io import REFUNDED

    periods = tx[C.DATE].dt.to_period("M").array.asi8.astype(np.int64)
    parts = []
    if returns is not None and len(returns):
        parts.append(pd.Series(-returns[C.AMOUNT].to_numpy(dtype=float),
                               index=returns[C.DATE].dt.to_period("M").array.asi8))
    if REFUNDED in tx and len(tx):
        refunded = (tx[REFUNDED] > 0).to_numpy(dtype=bool)
        parts.append(pd.Series(tx.loc[refunded, REFUNDED].to_numpy(dtype=float),
                               index=periods[refunded]))
    returned = (pd.concat(parts).groupby(level=0).sum() if parts
                else pd.Series(dtype=float))
    if len(periods):
        first = int(periods.min())
        t = periods - first
        n = int(t.max()) + 1
        rows = np.bincount(t, minlength=n)
        revenue = np.bincount(t, weights=tx[C.AMOUNT].to_numpy(dtype=float), minlength=n)
        sold = pd.DataFrame({"rows": rows, "revenue": revenue}, index=np.arange(n) + first)
        sold = sold.loc[rows > 0]
    else:
        sold = pd.DataFrame({"rows": pd.Series(dtype="int64"),
                             "revenue": pd.Series(dtype=float)})
    index = sold.index.union(returned.index).sort_values()
    out = pd.DataFrame({"period": np.asarray(index, dtype=np.int64),
                        "rows": sold["rows"].reindex(index, fill_value=0).to_numpy(np.int64),
                        "revenue": sold["revenue"].reindex(index, fill_value=0.0)
                        .to_numpy(dtype=float),
                        "returns": returned.reindex(index, fill_value=0.0).to_numpy(dtype=float)})
    return out


def _day_numbers(dates: pd.Series) -> np.ndarray:
    day = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return (day - _EPOCH).astype(np.int64)


# --------------------------------------------------------------------------- one SQL text

#: Day number and month ordinal of a transactions view's ``date`` in SQL (DuckDB and Spark).
_DAY = "unix_date(CAST(date AS DATE))"
_PERIOD = ("((year(CAST(date AS DATE)) - 1970) * 12 + month(CAST(date AS DATE)) - 1)")


def tables_sql(*, source: str, has_order_id: bool, has_refunds: bool,
               stop_day: int | None = None) -> str:
    """The ``activity`` table as one SQL query, the same text for DuckDB and Spark SQL.

    ``source`` is a view with the cleaned purchases (canonical columns; ``date`` a
    date or timestamp). An order is an ``order_id`` of a customer where given, else a
    customer's calendar day (:func:`clvkit.contract.order_keys`).

    Examples
    --------
    >>> print(tables_sql(source="tx", has_order_id=False, has_refunds=False)
    ...       .splitlines()[0])
    WITH rows_ AS (
    """
    order = (f"COALESCE(CAST(order_id AS STRING), CONCAT('day ', CAST({_DAY} AS STRING)))"
             if has_order_id else f"CONCAT('day ', CAST({_DAY} AS STRING))")
    refunds = "COALESCE(CAST(refunded AS DOUBLE), 0.0)" if has_refunds else "0.0"
    where = "" if stop_day is None else f"\n  WHERE {_DAY} < {int(stop_day)}"
    return f"""WITH rows_ AS (
  SELECT customer_id, {_PERIOD} AS period, {_DAY} AS day, {order} AS order_key,
         CAST(amount AS DOUBLE) AS amount, {refunds} AS refunds
  FROM {source}{where}
),
orders_ AS (
  SELECT customer_id, order_key, MIN(period) AS first_period
  FROM rows_ GROUP BY customer_id, order_key
),
first_orders_ AS (
  SELECT customer_id, first_period AS period, COUNT(*) AS first_orders
  FROM orders_ GROUP BY customer_id, first_period
),
pairs_ AS (
  SELECT customer_id, period, COUNT(DISTINCT order_key) AS orders,
         COUNT(DISTINCT day) AS purchase_days, MIN(day) AS first_day, MAX(day) AS last_day,
         SUM(amount) AS revenue, SUM(refunds) AS refunds
  FROM rows_ GROUP BY customer_id, period
),
first_day_ AS (
  SELECT r.customer_id, r.period, SUM(r.amount) AS first_day_revenue
  FROM rows_ r JOIN pairs_ p
    ON r.customer_id = p.customer_id AND r.period = p.period AND r.day = p.first_day
  GROUP BY r.customer_id, r.period
)
SELECT p.customer_id, CAST(p.period AS BIGINT) AS period, CAST(p.orders AS BIGINT) AS orders,
       CAST(COALESCE(f.first_orders, 0) AS BIGINT) AS first_orders,
       CAST(p.purchase_days AS BIGINT) AS purchase_days,
       CAST(p.first_day AS BIGINT) AS first_day, CAST(p.last_day AS BIGINT) AS last_day,
       p.revenue, d.first_day_revenue, p.refunds
FROM pairs_ p
LEFT JOIN first_orders_ f ON f.customer_id = p.customer_id AND f.period = p.period
JOIN first_day_ d ON d.customer_id = p.customer_id AND d.period = p.period"""


def monthly_sql(*, purchases: str, returns: str | None, has_refunds: bool,
                stop_day: int | None = None) -> str:
    """The ``monthly`` table as one SQL query (DuckDB and Spark SQL).

    Examples
    --------
    >>> "FULL OUTER JOIN" in monthly_sql(purchases="tx", returns="ret", has_refunds=True)
    True
    """
    where = "" if stop_day is None else f" WHERE {_DAY} < {int(stop_day)}"
    refunds = ("SUM(CASE WHEN CAST(refunded AS DOUBLE) > 0 THEN CAST(refunded AS DOUBLE) "
               "ELSE 0.0 END)" if has_refunds else "0.0")
    back = ("" if returns is None else f"""
  UNION ALL
  SELECT {_PERIOD} AS period, SUM(-CAST(amount AS DOUBLE)) AS returned
  FROM {returns}{where} GROUP BY {_PERIOD}""")
    return f"""WITH sold AS (
  SELECT {_PERIOD} AS period, COUNT(*) AS rows_, SUM(CAST(amount AS DOUBLE)) AS revenue,
         {refunds} AS refunded
  FROM {purchases}{where} GROUP BY {_PERIOD}
),
back AS (
  SELECT period, SUM(returned) AS returned FROM (
  SELECT period, refunded AS returned FROM sold{back}) parts GROUP BY period
)
SELECT CAST(COALESCE(s.period, b.period) AS BIGINT) AS period,
       CAST(COALESCE(s.rows_, 0) AS BIGINT) AS rows,
       COALESCE(s.revenue, 0.0) AS revenue, COALESCE(b.returned, 0.0) AS returns
FROM sold s FULL OUTER JOIN back b ON s.period = b.period
ORDER BY 1"""


# --------------------------------------------------------------------------- producers

#: Engines that produce the tables (``"auto"`` is resolved before, see :mod:`.engine`).
TABLE_ENGINES = ("pandas", "duckdb", "spark")


def engine_tables(transactions: pd.DataFrame, returns: pd.DataFrame | None = None, *,
                  engine: str = "pandas", cuts: tuple[int, ...] = (), spark=None,
                  memory_limit: str | None = None) -> ReportTables:
    """The report tables produced on ``engine`` (pandas, or the SQL of :func:`tables_sql`).

    Every engine gives the same tables: counts exactly, money up to summation order.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-03"]),
    ...                    "amount": [10.0, 5.0, 20.0]})
    >>> duck = engine_tables(tx, engine="duckdb")
    >>> duck.activity.equals(pandas_tables(tx).activity.sort_values(
    ...     ["customer_id", "period"], ignore_index=True))
    True
    """
    from .._validate import check_one_of
    from ..engines import run_sql
    from ..io import REFUNDED

    check_one_of("engine", engine, TABLE_ENGINES)
    if engine == "pandas":
        return pandas_tables(transactions, returns, cuts=cuts)
    keep = [c for c in (C.CUSTOMER_ID, C.DATE, C.AMOUNT, C.ORDER_ID, REFUNDED)
            if c in transactions.columns]
    purchases = transactions[keep].copy()
    purchases[C.CUSTOMER_ID] = purchases[C.CUSTOMER_ID].astype("string")
    if C.ORDER_ID in purchases:
        purchases[C.ORDER_ID] = purchases[C.ORDER_ID].astype("string")
    frames = {"clvkit_purchases": purchases}
    if returns is not None and len(returns):
        back = returns[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]].copy()
        back[C.CUSTOMER_ID] = back[C.CUSTOMER_ID].astype("string")
        frames["clvkit_returns"] = back
    options = dict(has_refunds=REFUNDED in purchases)
    queries = {}
    for stop in (None, *cuts):
        queries[("activity", stop)] = tables_sql(source="clvkit_purchases", stop_day=stop,
                                                 has_order_id=C.ORDER_ID in purchases,
                                                 **options)
        if "clvkit_returns" in frames:
            where = "" if stop is None else f" WHERE {_DAY} < {int(stop)}"
            queries[("returns", stop)] = (
                f"SELECT customer_id, {_PERIOD} AS period, COUNT(*) AS rows, "
                f"SUM(CAST(amount AS DOUBLE)) AS amount FROM clvkit_returns{where} "
                f"GROUP BY customer_id, {_PERIOD}")
        queries[("monthly", stop)] = monthly_sql(
            purchases="clvkit_purchases", stop_day=stop,
            returns="clvkit_returns" if "clvkit_returns" in frames else None, **options)
    names = {key: f"{key[0]}_{key[1]}" for key in queries}
    got = run_sql({names[k]: q for k, q in queries.items()}, frames=frames, engine=engine,
                  spark=spark, memory_limit=memory_limit)

    def tables(stop):
        back = (got[names["returns", stop]] if ("returns", stop) in names
                else pd.DataFrame({k: pd.Series(dtype=v) for k, v in RETURNS_SCHEMA.items()}))
        return ReportTables(_typed(got[names["activity", stop]], ACTIVITY_SCHEMA,
                                   ["customer_id", "period"]),
                            _typed(got[names["monthly", stop]], MONTHLY_SCHEMA, ["period"]),
                            engine=engine,
                            customer_returns=_typed(back, RETURNS_SCHEMA,
                                                    ["customer_id", "period"]))

    return dataclasses.replace(tables(None), cuts={int(stop): tables(stop) for stop in cuts})


def _typed(frame: pd.DataFrame, schema: dict, order: list[str]) -> pd.DataFrame:
    """``frame`` with the schema's columns and dtypes, sorted by ``order`` (SQL has no order)."""
    out = pd.DataFrame({col: frame[col].astype(dtype) if dtype != "object"
                        else frame[col].astype("string").astype("object")
                        for col, dtype in schema.items()})
    return out.sort_values(order, ignore_index=True)


# --------------------------------------------------------------------------- prediction inputs


def rfm_from_activity(activity: pd.DataFrame, *, observation_end, time_unit: str = "W",
                      calibration_end=None) -> pd.DataFrame:
    """The RFM summary of :func:`clvkit.summary.rfm_summary` from the activity table.

    The purchase models' inputs without the transactions: purchase days, first and
    last day, the first day's value and the revenue per customer and month give
    ``frequency``, ``recency``, ``T``, ``monetary_value`` (mean of the repeat purchase
    days) and the holdout columns. ``calibration_end`` must be a month's last day,
    and ``activity`` must hold the rows up to ``observation_end`` only
    (:meth:`ReportTables.activity_before`); rows after it are refused. Customers come
    in the order of :func:`clvkit.contract.id_order`, as in ``rfm_summary``.

    Examples
    --------
    >>> from clvkit.summary import rfm_summary
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-15", "2024-01-08"]),
    ...     "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> act = pandas_tables(tx).activity
    >>> ours = rfm_from_activity(act, observation_end="2024-02-29",
    ...                          calibration_end="2024-01-31")
    >>> ours.equals(rfm_summary(tx, observation_end="2024-02-29", calibration_end="2024-01-31"))
    True
    """
    from ..contract import as_day, id_order
    from ..errors import DataValidationError
    from ..units import DAYS_PER_UNIT, to_units

    obs_end = as_day(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else as_day(calibration_end, "calibration_end")
    obs_day, cal_day = ((d - pd.Timestamp("1970-01-01")).days for d in (obs_end, cal_end))
    a = activity.sort_values(["customer_id", "period"], kind="stable")
    if (a["last_day"] > obs_day).any():
        raise DataValidationError("the activity table has purchases after observation_end "
                                  f"({obs_end.date()}): cut it first (activity_before)")
    if calibration_end is not None and ((a["first_day"] <= cal_day)
                                        & (a["last_day"] > cal_day)).any():
        raise DataValidationError(f"calibration_end ({cal_end.date()}) splits a month of the "
                                  "activity table: give a month's last day")
    in_cal = (a["last_day"] <= cal_day).to_numpy()
    cal = a.loc[in_cal]
    if len(cal) == 0:
        raise DataValidationError(f"no purchases on or before {cal_end.date()}: the "
                                  "calibration period is empty")
    grouped = cal.groupby("customer_id", sort=False)
    occasions = grouped["purchase_days"].sum().to_numpy()
    first = grouped["first_day"].min().to_numpy()
    last = grouped["last_day"].max().to_numpy()
    total = grouped["revenue"].sum().to_numpy()
    first_value = grouped["first_day_revenue"].first().to_numpy()
    frequency = occasions - 1
    repeat = total - first_value
    per_unit = DAYS_PER_UNIT[time_unit]
    ids = grouped["purchase_days"].sum().index
    out = pd.DataFrame({
        "frequency": frequency.astype("int64"),
        "recency": (last - first) / per_unit,
        "T": (cal_day - first) / per_unit,
        "monetary_value": np.divide(repeat, frequency, out=np.zeros(len(ids)),
                                    where=frequency > 0),
    }, index=pd.Index(ids, name=C.CUSTOMER_ID))
    if calibration_end is not None:
        hold = a.loc[~in_cal].groupby("customer_id", sort=False)[["purchase_days", "revenue"]]
        hold = hold.sum().reindex(ids, fill_value=0)
        n_hold = hold["purchase_days"].to_numpy(dtype=np.int64)
        out["frequency_holdout"] = n_hold
        out["monetary_value_holdout"] = np.divide(hold["revenue"].to_numpy(dtype=float), n_hold,
                                                  out=np.zeros(len(ids)), where=n_hold > 0)
        out["duration_holdout"] = to_units(obs_end - cal_end, time_unit=time_unit)
    out = out.iloc[id_order(out.index)]     # rfm_summary's order: "9" before "10"
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()),
                     observation_end=str(obs_end.date()))
    return out


def subscription_evidence_from_activity(activity: pd.DataFrame):
    """:func:`clvkit.models.subscriptions.subscription_evidence` from the activity table.

    Exact without the transactions: the gaps between a customer's payment days are
    those between consecutive months (next ``first_day`` minus ``last_day``) and, in a
    month with two payment days, ``last_day - first_day``. A month with three or more
    has a gap of at most 15 days, never monthly.

    Examples
    --------
    >>> from clvkit.models.subscriptions import subscription_evidence
    >>> days = pd.date_range("2024-01-01", periods=6, freq="MS") + pd.Timedelta(days=4)
    >>> tx = pd.DataFrame({"customer_id": np.repeat(["a", "b"], 6),
    ...                    "date": np.tile(days, 2), "amount": 29.0})
    >>> subscription_evidence_from_activity(pandas_tables(tx).activity) == (
    ...     subscription_evidence(tx))
    True
    """
    from ..models.subscriptions import MONTHLY_GAP_DAYS, SubscriptionEvidence

    a = activity.sort_values(["customer_id", "period"], kind="stable")
    ids = a["customer_id"].to_numpy()
    lo, hi = MONTHLY_GAP_DAYS
    days = a["purchase_days"].to_numpy()
    inside = a["last_day"].to_numpy() - a["first_day"].to_numpy()
    ok = (days == 1) | ((days == 2) & (inside >= lo) & (inside <= hi))
    same = np.r_[False, ids[1:] == ids[:-1]]
    gap = a["first_day"].to_numpy() - np.r_[0, a["last_day"].to_numpy()[:-1]]
    ok &= ~same | ((gap >= lo) & (gap <= hi))
    by = pd.DataFrame({"days": days, "ok": ok}).groupby(ids, sort=False)
    counts, regular = by["days"].sum(), by["ok"].all()
    many = counts >= 3
    n, k = int(many.sum()), int((regular & many).sum())
    return SubscriptionEvidence(n_customers=n, n_monthly=k, share=k / n if n else 0.0)
