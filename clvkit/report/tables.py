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
``cuts`` -- for a month in progress, the like-for-like cuts: ``{stop_day:
    ReportTables}`` of the rows dated before ``stop_day`` (days since 1970-01-01).

The DuckDB and Spark producers run one SQL text (:func:`tables_sql`) over a view
of the cleaned transactions; :func:`pandas_tables` is the reference producer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import columns as C
from ..contract import order_keys

__all__ = ["ACTIVITY_SCHEMA", "MONTHLY_SCHEMA", "ReportTables", "pandas_tables",
           "tables_sql", "monthly_sql"]

#: Column -> dtype of :attr:`ReportTables.activity`.
ACTIVITY_SCHEMA = {"customer_id": "object", "period": "int64", "orders": "int64",
                   "first_orders": "int64", "purchase_days": "int64", "first_day": "int64",
                   "last_day": "int64", "revenue": "float64", "first_day_revenue": "float64",
                   "refunds": "float64"}
#: Column -> dtype of :attr:`ReportTables.monthly`.
MONTHLY_SCHEMA = {"period": "int64", "rows": "int64", "revenue": "float64",
                  "returns": "float64"}
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
    cuts : dict
        ``stop_day -> ReportTables`` of the like-for-like cuts of a month in progress.
    """

    activity: pd.DataFrame
    monthly: pd.DataFrame
    engine: str = "pandas"
    cuts: dict = field(default_factory=dict)

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
    return ReportTables(tables.activity, tables.monthly, engine="pandas", cuts=out)


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
    return ReportTables(act.reset_index(drop=True), monthly)


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
        queries[("monthly", stop)] = monthly_sql(
            purchases="clvkit_purchases", stop_day=stop,
            returns="clvkit_returns" if "clvkit_returns" in frames else None, **options)
    names = {key: f"{key[0]}_{key[1]}" for key in queries}
    got = run_sql({names[k]: q for k, q in queries.items()}, frames=frames, engine=engine,
                  spark=spark, memory_limit=memory_limit)

    def tables(stop):
        return ReportTables(_typed(got[names["activity", stop]], ACTIVITY_SCHEMA,
                                   ["customer_id", "period"]),
                            _typed(got[names["monthly", stop]], MONTHLY_SCHEMA, ["period"]),
                            engine=engine)

    whole = tables(None)
    return ReportTables(whole.activity, whole.monthly, engine=engine,
                        cuts={int(stop): tables(stop) for stop in cuts})


def _typed(frame: pd.DataFrame, schema: dict, order: list[str]) -> pd.DataFrame:
    """``frame`` with the schema's columns and dtypes, sorted by ``order`` (SQL rows are unordered)."""
    out = pd.DataFrame({col: frame[col].astype(dtype) if dtype != "object"
                        else frame[col].astype("string").astype("object")
                        for col, dtype in schema.items()})
    return out.sort_values(order, ignore_index=True)
