"""Customer segmentation: RFM scores and named segments, CLV tiers, concentration, profit.

* :func:`rfm_scores` scores recency, frequency and monetary value 1-5 by
  quantile and names each customer's segment from a visible, overridable grid
  (:data:`RFM_SEGMENT_MAP`).
* :func:`clv_tiers`, :func:`tier_summary` and :func:`concentration` show how
  value concentrates (top 1 % / 5 % / 20 %, deciles, Pareto curve, Gini).
* :func:`customer_profit`, :func:`least_profitable`, :func:`profit_without` and
  :func:`profit_by_segment` find the customers and segments that destroy value.
* :func:`allocate_budget` spreads a marketing budget over segments by expected
  incremental CLV per unit of cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_nonnegative, check_one_of, check_positive
from .contract import check_transactions, order_keys
from .errors import ClvError, DataValidationError, example_rows
from .io import LoadResult
from .units import DAYS_PER_UNIT, TIME_UNITS, to_units

__all__ = [
    "SEGMENT_NAMES", "RFM_SEGMENT_MAP", "RF_SEGMENT_MAP", "SEGMENT_SCHEMES", "quantile_scores",
    "rfm_scores", "clv_tiers", "tier_summary", "Concentration", "concentration", "gini",
    "segment_grid", "customer_profit", "least_profitable", "LOSS_KINDS",
    "unprofitable_groups", "profit_without", "profit_by_segment", "allocate_budget",
]

#: The named segments, from most to least valuable. "Recent light buyers" (R 5 x FM 1: bought
#: recently, few purchases, low spend) is the cell other RFM grids call "New customers"; that
#: name belongs to the KPI of :mod:`clvkit.metrics` (first purchase in the month).
SEGMENT_NAMES = ("Champions", "Loyal customers", "Potential loyalists", "Recent light buyers",
                 "Promising", "Need attention", "About to sleep", "At risk", "Can't lose them",
                 "Hibernating", "Lost")

_S = dict(enumerate(SEGMENT_NAMES))
#: Default segment of every (R score, FM score) cell: rows are ``r_score`` 5..1, columns
#: ``fm_score`` 1..5 (FM = mean of F and M scores, rounded half up). Copy and edit it, then
#: pass it as ``rfm_scores(..., segment_map=my_map)``.
RFM_SEGMENT_MAP = pd.DataFrame(
    [[_S[3], _S[2], _S[2], _S[0], _S[0]],
     [_S[4], _S[2], _S[1], _S[1], _S[0]],
     [_S[6], _S[6], _S[5], _S[1], _S[1]],
     [_S[9], _S[9], _S[7], _S[7], _S[8]],
     [_S[10], _S[10], _S[7], _S[8], _S[8]]],
    index=pd.Index([5, 4, 3, 2, 1], name="r_score"),
    columns=pd.Index([1, 2, 3, 4, 5], name="fm_score"),
)
#: The widespread 10-segment recency x frequency grid (no "Lost"; columns are ``f_score``).
RF_SEGMENT_MAP = pd.DataFrame(
    [[_S[3], _S[2], _S[2], _S[0], _S[0]],
     [_S[4], _S[2], _S[2], _S[1], _S[1]],
     [_S[6], _S[6], _S[5], _S[1], _S[1]],
     [_S[9], _S[9], _S[7], _S[7], _S[8]],
     [_S[9], _S[9], _S[7], _S[7], _S[8]]],
    index=pd.Index([5, 4, 3, 2, 1], name="r_score"),
    columns=pd.Index([1, 2, 3, 4, 5], name="f_score"),
)
#: Named schemes accepted by ``rfm_scores(segment_map=...)``.
SEGMENT_SCHEMES = {"rfm": RFM_SEGMENT_MAP, "rf": RF_SEGMENT_MAP}
_TIES = ("average", "min", "first")


# --------------------------------------------------------------------------- RFM scores

def quantile_scores(values, *, bins: int = 5, ties: str = "average",
                    higher_is_better: bool = True) -> pd.Series:
    """Score values 1..``bins`` by quantile (``bins`` = best when ``higher_is_better``).

    With ranks ``rank`` (1 = smallest) of the ``n`` values, the score is
    ``1 + floor(bins * (rank - 0.5) / n)``. Without ties this cuts the customers
    into ``bins`` groups of equal size (like ``pd.qcut`` of the ranks). Tie handling:

    * ``"average"`` (default): tied values share their mid-rank, so **equal values
      always get equal scores**; a tie covering many customers (e.g. everybody
      with one purchase) lands in the score of its middle, and groups are unequal.
    * ``"min"``: tied values get the score of the lowest member of the tie.
    * ``"first"``: ties broken by order of appearance (equal group sizes, but two
      identical customers may get different scores).

    Parameters
    ----------
    values : Series or array
        The metric (missing values are not allowed).
    bins : int, default 5
    ties : {"average", "min", "first"}, default "average"
    higher_is_better : bool, default True
        False scores small values highest (e.g. days since the last purchase).

    Returns
    -------
    Series of int64, same index as ``values``.

    Examples
    --------
    >>> quantile_scores(pd.Series([10, 20, 30, 40, 50])).tolist()
    [1, 2, 3, 4, 5]
    >>> quantile_scores(pd.Series([1, 1, 1, 1, 5, 9])).tolist()
    [2, 2, 2, 2, 4, 5]
    >>> quantile_scores(pd.Series([3.0, 90.0, 10.0]), bins=3, higher_is_better=False).tolist()
    [3, 1, 2]
    """
    check_one_of("ties", ties, _TIES)
    if int(bins) != bins or bins < 2:
        raise ClvError(f"`bins` must be a whole number >= 2, got {bins!r}")
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    if s.isna().any():
        raise DataValidationError(f"cannot score missing values: {example_rows(s.index[s.isna()])}")
    if s.empty:
        return s.astype(np.int64)
    key = s.astype(float) if higher_is_better else -s.astype(float)
    rank = key.rank(method=ties).to_numpy()
    score = 1 + np.floor(bins * (rank - 0.5) / len(s)).astype(np.int64)
    return pd.Series(np.clip(score, 1, int(bins)), index=s.index, name=s.name)


def _rfm_inputs(data, observation_end, time_unit: str, monetary: str,
                returns=None) -> pd.DataFrame:
    """Per-customer recency (time since last purchase), frequency and monetary value."""
    if isinstance(data, LoadResult):
        returns = data.returns if returns is None else returns
        data = data.transactions
    if not isinstance(data, pd.DataFrame):
        raise DataValidationError("rfm_scores needs a DataFrame (an rfm_summary or "
                                  "transactions) or a LoadResult")
    if {"frequency", "recency", "T"} <= set(data.columns):  # an rfm_summary
        if isinstance(returns, pd.DataFrame):
            raise ClvError("`returns` applies to transactions, not to an rfm_summary: net the "
                           "returns before summarising, or pass the transactions")
        unit = data.attrs.get("time_unit", time_unit)
        since_last = (data["T"] - data["recency"]).astype(float)
        value = data["monetary_value"] if "monetary_value" in data else data["frequency"] * 0.0
        out = pd.DataFrame({"recency": to_units(pd.to_timedelta(
            since_last * _days(unit), unit="D"), time_unit=time_unit),
            "frequency": data["frequency"] + 1, "monetary": value.astype(float)})
        out.index = data.index
        return out
    try:
        data = check_transactions(data)
    except DataValidationError as err:
        raise DataValidationError(f"rfm_scores needs an rfm_summary (frequency, recency, T) or "
                                  f"transactions: {err}") from None
    if returns is None:
        returns = data[data[C.AMOUNT] < 0]
    tx = data[data[C.AMOUNT] > 0]
    day = tx[C.DATE].dt.normalize()  # recency counts whole days, like rfm_summary
    end = (day.max() if observation_end is None else pd.Timestamp(observation_end)).normalize()
    tx, day = tx[day <= end], day[day <= end]
    occasion = order_keys(tx)
    g = pd.DataFrame({"c": tx[C.CUSTOMER_ID].to_numpy(), "d": day.to_numpy(),
                      "o": occasion, "a": tx[C.AMOUNT].to_numpy(float)}).groupby("c")
    orders = g["o"].nunique()
    total = g["a"].sum()
    if returns is not False:
        returns = _returns_table(returns)
        returns = returns[returns[C.DATE].dt.normalize() <= end]
        returned = returns[C.AMOUNT].abs().groupby(returns[C.CUSTOMER_ID]).sum()
        total = total - returned.reindex(total.index, fill_value=0.0)
    out = pd.DataFrame({"recency": to_units(end - g["d"].max(), time_unit=time_unit),
                        "frequency": orders,
                        "monetary": total if monetary == "sum" else total / orders})
    out.index.name = C.CUSTOMER_ID
    return out


def _returns_table(returns) -> pd.DataFrame:
    if not isinstance(returns, pd.DataFrame):
        raise ClvError("`returns` must be None (a LoadResult's returns, or the negative rows of "
                       "the transactions), False (gross spend) or a DataFrame of return rows "
                       f"with {C.CUSTOMER_ID!r}, {C.DATE!r} and {C.AMOUNT!r}; got "
                       f"{type(returns).__name__}")
    missing = [c for c in (C.CUSTOMER_ID, C.DATE, C.AMOUNT) if c not in returns.columns]
    if missing:
        raise DataValidationError(f"`returns` lacks columns {missing}; found "
                                  f"{list(returns.columns)}")
    return returns


def _days(unit: str) -> float:
    return DAYS_PER_UNIT[check_one_of("time_unit", unit, TIME_UNITS)]


def _segment_grid(segment_map) -> pd.DataFrame:
    if segment_map is None:
        return RFM_SEGMENT_MAP
    if isinstance(segment_map, str):
        return SEGMENT_SCHEMES[check_one_of("segment_map", segment_map, SEGMENT_SCHEMES)]
    if isinstance(segment_map, dict):
        idx = pd.MultiIndex.from_tuples(list(segment_map), names=["r_score", "fm_score"])
        segment_map = pd.Series(list(segment_map.values()), index=idx).unstack("fm_score")
    if not isinstance(segment_map, pd.DataFrame):
        raise ClvError("`segment_map` must be None, a scheme name "
                       f"{list(SEGMENT_SCHEMES)}, a 5x5 DataFrame (rows r_score, columns "
                       "fm_score or f_score) or a dict {(r_score, fm_score): name}")
    grid = segment_map.reindex(index=range(1, 6), columns=range(1, 6))
    holes = [(r, f) for r in range(1, 6) for f in range(1, 6) if pd.isna(grid.loc[r, f])]
    if holes:
        raise ClvError(f"`segment_map` has no segment for {len(holes)} (r_score, column) cells "
                       f"(e.g. {holes[:5]}); give a name for every score 1-5 x 1-5")
    grid.columns.name = segment_map.columns.name or "fm_score"
    return grid


def rfm_scores(data, *, observation_end=None, time_unit: str = "D", bins: int = 5,
               ties: str = "average", monetary: str = "sum", segment_map=None,
               returns=None) -> pd.DataFrame:
    """RFM quantile scores 1-5 and named segments per customer.

    Parameters
    ----------
    data : DataFrame or LoadResult
        Either an :func:`clvkit.rfm_summary` (``frequency, recency, T,
        monetary_value``; its ``T - recency`` is the time since the last purchase
        and its mean repeat spend the monetary value) or canonical transactions
        (positive amounts are purchases; a purchase is an ``order_id`` if present,
        else a calendar day).
    observation_end : date-like, optional
        For transactions: the day recency is measured to (default: last date).
    time_unit : {"D", "W", "M", "Y"}, default "D"
        Unit of the ``recency`` column.
    bins : int, default 5
        Number of score levels (named segments need 5).
    ties : {"average", "min", "first"}, default "average"
        Tie handling of :func:`quantile_scores`; the default gives equal
        values equal scores.
    monetary : {"sum", "mean"}, default "sum"
        For transactions: total spend **net of returns**, or that net spend per
        purchase.
    segment_map : None, "rfm", "rf", DataFrame or dict
        Segment of each cell. None/"rfm": :data:`RFM_SEGMENT_MAP` on
        (``r_score``, ``fm_score``); "rf": :data:`RF_SEGMENT_MAP` on
        (``r_score``, ``f_score``); a DataFrame shaped like those (its columns'
        name, ``fm_score`` or ``f_score``, says which score it uses) or a dict
        ``{(r_score, fm_score): name}``.
    returns : None, False or DataFrame, default None
        Returns and cancellations subtracted from the monetary value (their
        absolute amounts, up to ``observation_end``). None: a LoadResult's
        ``.returns``, or the negative-amount rows of the transactions; False:
        gross spend (returns ignored). A customer who returned what they bought
        gets a monetary value of 0 (or below) and the lowest M score.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``recency`` (time since last purchase, in
        ``time_unit``; more recent = **higher** ``r_score``), ``frequency``
        (purchases), ``monetary``, ``r_score, f_score, m_score``, ``fm_score``
        (mean of F and M rounded half up), ``rfm_cell`` (e.g. ``"545"``) and
        ``segment`` (categorical); ``attrs["time_unit"]`` and ``attrs["monetary"]``
        (``"net of returns"`` or ``"gross"``).

    Notes
    -----
    ``recency`` and ``frequency`` here have their marketing (RFM) meanings, not those of
    :func:`clvkit.rfm_summary` (the models' input):

    ========== ===================================== =====================================
    column     ``rfm_scores``                        ``rfm_summary``
    ========== ===================================== =====================================
    recency    time since the last purchase          age at the last purchase
               (``T - recency`` of a summary)        (last minus first purchase)
    frequency  all purchases (orders, else days)     repeat purchase days (all minus one)
    monetary   ``monetary``: total or mean spend     ``monetary_value``: mean repeat spend
    ========== ===================================== =====================================

    A summary input is converted with ``T - recency`` and ``frequency + 1``, and its
    ``monetary_value`` becomes ``monetary``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2, 3, 3, 4, 5],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-06-01", "2024-06-20",
    ...                        "2024-06-25", "2024-01-10", "2024-02-01", "2024-03-01",
    ...                        "2023-07-01"]),
    ...                    "amount": [50.0, 80.0, 70.0, 20.0, 30.0, 25.0, 90.0, 10.0]})
    >>> s = rfm_scores(tx, observation_end="2024-06-30")
    >>> s["recency"].tolist()
    [10.0, 5.0, 150.0, 121.0, 365.0]
    >>> s["rfm_cell"].tolist()
    ['455', '522', '243', '324', '121']
    >>> s["segment"].tolist()
    ['Champions', 'Potential loyalists', 'At risk', 'Need attention', 'Lost']

    A return of customer 4's only purchase makes their value 0 (lowest M score):

    >>> back = pd.DataFrame({"customer_id": [4], "date": pd.to_datetime(["2024-03-05"]),
    ...                      "amount": [-90.0]})
    >>> net = rfm_scores(pd.concat([tx, back]), observation_end="2024-06-30")
    >>> net.loc[4, ["monetary", "m_score"]].tolist()
    [0.0, 1.0]
    """
    check_one_of("monetary", monetary, ["sum", "mean"])
    check_one_of("time_unit", time_unit, TIME_UNITS)
    grid = _segment_grid(segment_map)
    rfm = _rfm_inputs(data, observation_end, time_unit, monetary, returns)
    out = rfm.copy()
    out["r_score"] = quantile_scores(rfm["recency"], bins=bins, ties=ties,
                                     higher_is_better=False)
    out["f_score"] = quantile_scores(rfm["frequency"], bins=bins, ties=ties)
    out["m_score"] = quantile_scores(rfm["monetary"], bins=bins, ties=ties)
    out["fm_score"] = np.floor((out["f_score"] + out["m_score"]) / 2 + 0.5).astype(np.int64)
    out["rfm_cell"] = (out["r_score"].astype(str) + out["f_score"].astype(str)
                       + out["m_score"].astype(str))
    if bins == 5:
        col = "f_score" if grid.columns.name == "f_score" else "fm_score"
        names = grid.sort_index().to_numpy()[out["r_score"].to_numpy() - 1, out[col].to_numpy() - 1]
        order = [s for s in SEGMENT_NAMES if s in set(grid.to_numpy().ravel())]
        order += sorted(set(grid.to_numpy().ravel()) - set(order))
        out["segment"] = pd.Categorical(names, categories=order)
    elif segment_map is not None:
        raise ClvError(f"named segments need bins=5, got bins={bins}; drop `segment_map`")
    out.index.name = C.CUSTOMER_ID
    out.attrs["time_unit"] = time_unit
    out.attrs["monetary"] = "gross" if returns is False else "net of returns"
    return out


def segment_grid(rfm: pd.DataFrame, *, segment_map=None) -> pd.DataFrame:
    """Customers in each cell of the RFM grid, with the cell's segment name.

    Parameters
    ----------
    rfm : DataFrame
        Output of :func:`rfm_scores` (``r_score`` and ``fm_score`` or ``f_score``).
    segment_map : None, "rfm", "rf", DataFrame or dict
        The grid used by :func:`rfm_scores` (same meaning).

    Returns
    -------
    DataFrame
        One row per cell (25 rows, R score 5 to 1, then the column score 1 to 5):
        ``r_score``, ``fm_score`` (or ``f_score``), ``segment``, ``customers`` and
        ``share`` of all customers. Pivot it for a heatmap.

    Examples
    --------
    >>> rfm = pd.DataFrame({"r_score": [5, 5, 1], "fm_score": [5, 5, 1]})
    >>> g = segment_grid(rfm)
    >>> g.iloc[[0, 4, 24]]
        r_score  fm_score    segment  customers     share
    0         5         1  Recent light buyers          0  0.000000
    4         5         5  Champions          2  0.666667
    24        1         5  Can't lose them          0  0.000000
    >>> int(g["customers"].sum())
    3
    """
    grid = _segment_grid(segment_map)
    col = grid.columns.name if grid.columns.name in ("fm_score", "f_score") else "fm_score"
    missing = [c for c in ("r_score", col) if c not in rfm.columns]
    if missing:
        raise DataValidationError(f"segment_grid needs the columns {missing} of rfm_scores; "
                                  f"found {list(rfm.columns)}")
    counts = rfm.groupby(["r_score", col]).size()
    rows = [(r, f, grid.loc[r, f], int(counts.get((r, f), 0)))
            for r in range(5, 0, -1) for f in range(1, 6)]
    out = pd.DataFrame(rows, columns=["r_score", col, "segment", "customers"])
    out["share"] = out["customers"] / max(len(rfm), 1)
    return out


# --------------------------------------------------------------------------- tiers

def _values(values, name: str = "values") -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, float))
    if s.empty:
        raise DataValidationError(f"`{name}` is empty: nothing to rank")
    bad = ~np.isfinite(s.to_numpy(dtype=float))
    if bad.any():
        raise DataValidationError(f"`{name}` has missing or infinite values in "
                                  f"{example_rows(s.index[bad])}; fill or drop them first")
    return s.astype(float)


def clv_tiers(values, *, tiers=(0.01, 0.05, 0.2)) -> pd.DataFrame:
    """Top-x % tiers and deciles of customers ranked by value (e.g. predicted CLV).

    Customers are ranked from the highest value down; ties are broken by the
    order of ``values`` (a stable sort), so every tier holds exactly
    ``ceil(share * n)`` customers.

    Parameters
    ----------
    values : Series
        One value per customer (index = customer id).
    tiers : sequence of float, default (0.01, 0.05, 0.2)
        Increasing cumulative shares in (0, 1]; customers beyond the last are "Rest".

    Returns
    -------
    DataFrame
        Same index: ``value``, ``rank`` (1 = highest), ``top_share`` (rank / n),
        ``tier`` (categorical "Top 1%", "Top 5%", ..., "Rest"; each tier excludes
        the tiers above it) and ``decile`` (1 = top 10 %).

    Examples
    --------
    >>> t = clv_tiers(pd.Series(np.arange(100.0, 0, -1)), tiers=(0.01, 0.05, 0.2))
    >>> t["tier"].value_counts(sort=False).to_dict()
    {'Top 1%': 1, 'Top 5%': 4, 'Top 20%': 15, 'Rest': 80}
    >>> t["decile"].iloc[[0, 9, 10, 99]].tolist()
    [1, 1, 2, 10]
    """
    s = _values(values)
    shares = np.asarray(tiers, float)
    if shares.ndim != 1 or len(shares) == 0 or np.any(np.diff(shares) <= 0) or not (
            0 < shares[0] and shares[-1] <= 1):
        raise ClvError(f"`tiers` must be increasing shares in (0, 1], got {tiers!r}")
    n = len(s)
    order = np.argsort(-s.to_numpy(), kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(1, n + 1)
    cut = np.ceil(shares * n - 1e-9).astype(np.int64)
    labels = [f"Top {x * 100:g}%" for x in shares] + ["Rest"]
    tier = np.searchsorted(cut, rank, side="left")
    out = pd.DataFrame({"value": s.to_numpy(), "rank": rank, "top_share": rank / n,
                        "tier": pd.Categorical.from_codes(tier, categories=labels),
                        "decile": np.ceil(10 * rank / n - 1e-9).astype(np.int64)},
                       index=s.index)
    return out


def tier_summary(values, *, tiers=(0.01, 0.05, 0.2), by: str = "tier") -> pd.DataFrame:
    """Customers and value held by each tier (or decile), with shares of the total.

    Parameters
    ----------
    values : Series
        One value per customer (e.g. CLV, revenue or profit).
    tiers : sequence of float
        See :func:`clv_tiers`.
    by : {"tier", "decile"}, default "tier"

    Returns
    -------
    DataFrame
        Indexed by tier/decile: ``customers, customer_share, value, value_share,
        cumulative_customer_share, cumulative_value_share``.

    Examples
    --------
    >>> t = tier_summary(pd.Series([50.0, 30.0, 10.0, 5.0, 5.0]), tiers=(0.2, 0.4))
    >>> t[["customers", "value", "value_share", "cumulative_value_share"]]
             customers  value  value_share  cumulative_value_share
    tier
    Top 20%          1   50.0          0.5                     0.5
    Top 40%          1   30.0          0.3                     0.8
    Rest             3   20.0          0.2                     1.0
    """
    check_one_of("by", by, ["tier", "decile"])
    t = clv_tiers(values, tiers=tiers)
    g = t.groupby(by, observed=False, sort=True)["value"]
    out = pd.DataFrame({"customers": g.size(), "value": g.sum()})
    out.insert(1, "customer_share", out["customers"] / len(t))
    out["value_share"] = out["value"] / t["value"].sum()
    out["cumulative_customer_share"] = out["customer_share"].cumsum()
    out["cumulative_value_share"] = out["value_share"].cumsum()
    return out


# --------------------------------------------------------------------------- concentration

def gini(values) -> float:
    r"""Gini coefficient of non-negative values (0 = equal, (n-1)/n = one holds all).

    :math:`G = \frac{2\sum_i i\,x_{(i)}}{n \sum_i x_i} - \frac{n+1}{n}` with
    :math:`x_{(1)} \le \dots \le x_{(n)}` (the sample Gini of the Lorenz curve).

    Examples
    --------
    >>> gini([5.0, 5.0, 5.0])
    0.0
    >>> gini([0.0, 0.0, 0.0, 12.0])
    0.75
    """
    x = np.sort(_values(values).to_numpy())
    if x[0] < 0:
        raise DataValidationError("the Gini coefficient needs non-negative values; for profit "
                                  "with losses use the Pareto curve of `concentration`")
    total = x.sum()
    if total == 0:
        raise DataValidationError("all values are zero: the Gini coefficient is undefined")
    n = len(x)
    return float(2 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n)


@dataclass(frozen=True)
class Concentration:
    """Pareto curve and Gini coefficient of a value distribution.

    Attributes
    ----------
    curve : DataFrame
        ``customer_share`` (top share of customers, highest value first, from 0)
        and ``value_share`` (share of the total they hold; above 1 when the
        others destroy value).
    gini : float
        :func:`gini`; NaN when some values are negative.
    n_customers : int
    total : float
    """

    curve: pd.DataFrame
    gini: float
    n_customers: int
    total: float

    def top_share(self, share: float) -> float:
        """Share of the total held by the top ``share`` of customers (interpolated).

        Examples
        --------
        >>> round(concentration([8.0, 1.0, 1.0, 0.0, 0.0]).top_share(0.2), 2)
        0.8
        """
        c = self.curve
        return float(np.interp(share, c["customer_share"], c["value_share"]))


def concentration(values, *, points: int | None = None) -> Concentration:
    """Pareto (cumulative value) curve and Gini coefficient.

    Parameters
    ----------
    values : Series or array
        One value per customer; negative values (losses) are allowed for the curve.
    points : int, optional
        Return the curve at ``points + 1`` evenly spaced customer shares (linear
        interpolation) instead of one row per customer.

    Returns
    -------
    Concentration

    Examples
    --------
    >>> c = concentration([1.0, 1.0, 1.0, 1.0])
    >>> c.gini, c.curve["value_share"].tolist()
    (0.0, [0.0, 0.25, 0.5, 0.75, 1.0])
    """
    s = _values(values)
    x = np.sort(s.to_numpy())[::-1]
    total = float(x.sum())
    if total == 0:
        raise DataValidationError("values sum to zero: value shares are undefined")
    n = len(x)
    cust = np.arange(n + 1) / n
    val = np.r_[0.0, np.cumsum(x)] / total
    if points is not None:
        grid = np.linspace(0, 1, int(check_positive("points", points)) + 1)
        cust, val = grid, np.interp(grid, cust, val)
    curve = pd.DataFrame({"customer_share": cust, "value_share": val})
    g = gini(x) if x[-1] >= 0 else float("nan")
    return Concentration(curve=curve, gini=g, n_customers=n, total=total)


# --------------------------------------------------------------------------- profit

def _per_customer(values, name: str, index: pd.Index) -> pd.Series:
    """Broadcast a scalar or align a per-customer Series on ``index``."""
    if isinstance(values, pd.Series):
        missing = index.difference(values.index)
        if len(missing):
            raise DataValidationError(f"`{name}` has no value for {example_rows(missing)}; "
                                      "give one per customer (index = customer_id)")
        out = values.reindex(index).astype(float)
    else:
        out = pd.Series(float(values), index=index)
    check_nonnegative(name, out.to_numpy())
    return out


def _count_by_customer(contacts, index: pd.Index) -> pd.Series:
    if contacts is None:
        return pd.Series(0.0, index=index)
    if isinstance(contacts, pd.DataFrame):
        if C.CUSTOMER_ID not in contacts.columns:
            raise DataValidationError("`contacts` as a DataFrame (e.g. touches) needs a "
                                      f"{C.CUSTOMER_ID!r} column; found {list(contacts.columns)}")
        contacts = contacts.groupby(C.CUSTOMER_ID).size()
    return contacts.reindex(index, fill_value=0).astype(float)


def customer_profit(transactions, *, returns=None, margin=1.0, cost_per_order: float = 0.0,
                    cost_per_contact: float = 0.0, contacts=None,
                    acquisition_cost=None) -> pd.DataFrame:
    """Profit per customer, with every revenue and cost term as its own column.

    ``profit = revenue - returns - cogs - cost_to_serve - acquisition_cost`` where

    * ``revenue``: sum of positive amounts; ``returns``: value of returned goods
      (positive number); ``net_revenue = revenue - returns``;
    * ``cogs = (1 - margin) * net_revenue`` -- returned goods are assumed to go
      back to stock, so they carry no cost of goods (``gross_profit = margin *
      net_revenue``);
    * ``cost_to_serve = cost_per_order * orders + cost_per_contact * contacts``;
    * ``acquisition_cost``: per customer (e.g. the CAC of their channel).

    Parameters
    ----------
    transactions : DataFrame or LoadResult
        Canonical transactions. Rows with negative ``amount`` are returns when
        ``returns`` is None; a LoadResult supplies its ``.returns``.
    returns : DataFrame, optional
        Return rows (negative or positive amounts; their absolute value counts).
    margin : float or Series, default 1.0
        Gross margin rate, one for all or per customer (e.g. ``customers["margin"]``).
    cost_per_order, cost_per_contact : float, default 0
        Cost to serve: picking/shipping/service per order, cost of one contact.
    contacts : Series or DataFrame, optional
        Contacts per customer, or a table with one row per contact (e.g.
        ``touches``) that is counted per ``customer_id``.
    acquisition_cost : float or Series, optional
        Per-customer acquisition cost. Customers present here but without
        purchases are included (they cost money and earned nothing).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``orders, revenue, returns, net_revenue, cogs,
        gross_profit, contacts, order_cost, contact_cost, cost_to_serve,
        acquisition_cost, profit``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 1],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05",
    ...                                            "2024-02-10"]),
    ...                    "amount": [100.0, 50.0, 20.0, -50.0], "order_id": [1, 2, 3, 2]})
    >>> p = customer_profit(tx, margin=0.4, cost_per_order=5.0,
    ...                     acquisition_cost=pd.Series({1: 30.0, 2: 30.0, 3: 30.0}))
    >>> p[["revenue", "returns", "cogs", "cost_to_serve", "acquisition_cost", "profit"]]
                 revenue  returns  cogs  cost_to_serve  acquisition_cost  profit
    customer_id
    1              150.0     50.0  60.0           10.0              30.0     0.0
    2               20.0      0.0  12.0            5.0              30.0   -27.0
    3                0.0      0.0   0.0            0.0              30.0   -30.0
    """
    if isinstance(transactions, LoadResult):
        returns = transactions.returns if returns is None else returns
        transactions = transactions.transactions
    transactions = check_transactions(transactions)
    amount = transactions[C.AMOUNT].astype(float)
    sales = transactions[amount > 0]
    if returns is None:
        returns = transactions[amount < 0]
    cust = sales[C.CUSTOMER_ID]
    order_key = order_keys(sales)
    orders = pd.DataFrame({"c": cust.to_numpy(), "o": order_key}).groupby("c")["o"]
    revenue = sales.groupby(C.CUSTOMER_ID)[C.AMOUNT].sum()
    returned = returns[C.AMOUNT].abs().groupby(returns[C.CUSTOMER_ID]).sum()
    index = revenue.index.union(returned.index)
    if isinstance(acquisition_cost, pd.Series):
        index = index.union(acquisition_cost.index)
    if isinstance(contacts, pd.Series):
        index = index.union(contacts.index)
    elif isinstance(contacts, pd.DataFrame) and C.CUSTOMER_ID in contacts:
        index = index.union(pd.Index(contacts[C.CUSTOMER_ID].unique()))
    index = index.rename(C.CUSTOMER_ID)
    check_nonnegative("cost_per_order", cost_per_order)
    check_nonnegative("cost_per_contact", cost_per_contact)
    m = _per_customer(margin, "margin", index)
    if (m > 1).any():
        raise DataValidationError(f"`margin` must be a rate in [0, 1]; got values above 1 for "
                                  f"{example_rows(m.index[m > 1])}")
    out = pd.DataFrame(index=index)
    out["orders"] = orders.nunique().reindex(index, fill_value=0).astype(np.int64)
    out["revenue"] = revenue.reindex(index, fill_value=0.0)
    out["returns"] = returned.reindex(index, fill_value=0.0)
    out["net_revenue"] = out["revenue"] - out["returns"]
    out["cogs"] = (1 - m) * out["net_revenue"]
    out["gross_profit"] = out["net_revenue"] - out["cogs"]
    out["contacts"] = _count_by_customer(contacts, index)
    out["order_cost"] = cost_per_order * out["orders"]
    out["contact_cost"] = cost_per_contact * out["contacts"]
    out["cost_to_serve"] = out["order_cost"] + out["contact_cost"]
    out["acquisition_cost"] = (0.0 if acquisition_cost is None else
                               _per_customer(acquisition_cost, "acquisition_cost", index))
    out["profit"] = out["gross_profit"] - out["cost_to_serve"] - out["acquisition_cost"]
    return out


def least_profitable(profit_table: pd.DataFrame, *, n: int | None = None,
                     threshold: float | None = 0.0) -> pd.DataFrame:
    """The customers who destroy value, least profitable first.

    Parameters
    ----------
    profit_table : DataFrame
        Output of :func:`customer_profit` (needs a ``profit`` column).
    n : int, optional
        Return the ``n`` least profitable customers (``threshold`` is then ignored).
    threshold : float, default 0.0
        Return every customer with ``profit < threshold``.

    Returns
    -------
    DataFrame
        The selected rows sorted by ``profit`` ascending, plus ``cumulative_profit``.

    Examples
    --------
    >>> p = pd.DataFrame({"profit": [5.0, -3.0, -10.0, 2.0]}, index=[1, 2, 3, 4])
    >>> least_profitable(p).index.tolist()
    [3, 2]
    >>> least_profitable(p, n=3)["cumulative_profit"].tolist()
    [-10.0, -13.0, -11.0]
    """
    if "profit" not in profit_table:
        raise DataValidationError("profit_table needs a 'profit' column (see customer_profit)")
    ordered = profit_table.sort_values("profit", kind="stable")
    if n is not None:
        if int(n) != n or n < 0:
            raise ClvError(f"`n` must be a whole number >= 0, got {n!r}")
        chosen = ordered.head(int(n))
    elif threshold is not None:
        chosen = ordered[ordered["profit"] < threshold]
    else:
        raise ClvError("give `n` or `threshold`")
    out = chosen.copy()
    out["cumulative_profit"] = out["profit"].cumsum()
    return out


#: Why a customer lost money, in :func:`unprofitable_groups` order.
LOSS_KINDS = ("no orders in the period", "returns/cancellation artefact", "really unprofitable")


def unprofitable_groups(profit_table: pd.DataFrame, *, threshold: float = 0.0,
                        returns_share: float = 0.5) -> pd.DataFrame:
    """The loss-making customers, split by why they lost money.

    Three kinds of "unprofitable" customer call for three different actions:

    * ``"no orders in the period"``: they only returned goods (bought before the
      data start): a timing artefact of the window, not a customer to drop;
    * ``"returns/cancellation artefact"``: they ordered, but returned or
      cancelled at least as much as they bought in the period (net revenue <= 0);
      check the returns policy or the booking of cancellations;
    * ``"really unprofitable"``: they kept goods (net revenue > 0) but the margin
      does not cover the cost to serve (and acquisition): candidates for a cheaper
      service or a price change.

    Parameters
    ----------
    profit_table : DataFrame
        Output of :func:`customer_profit` (``orders``, ``revenue``, ``returns``,
        ``profit``).
    threshold : float, default 0.0
        Customers with ``profit < threshold`` are loss-making.
    returns_share : float, default 0.5
        Returns of at least this share of the period's purchases (``returns >=
        returns_share * revenue``) make a loss a returns artefact; in (0, 1].

    Returns
    -------
    DataFrame
        The rows of :func:`least_profitable` (least profitable first) with a
        categorical ``kind`` (:data:`LOSS_KINDS`).

    Examples
    --------
    >>> p = pd.DataFrame({"orders": [0, 1, 3, 2], "revenue": [0.0, 80.0, 300.0, 50.0],
    ...                   "returns": [40.0, 79.0, 20.0, 0.0],
    ...                   "profit": [-10.0, -10.0, -2.0, 5.0]}, index=[1, 2, 3, 4])
    >>> unprofitable_groups(p)["kind"].tolist()
    ['no orders in the period', 'returns/cancellation artefact', 'really unprofitable']
    """
    missing = [c for c in ("orders", "revenue", "returns", "profit") if c not in profit_table]
    if missing:
        raise DataValidationError(f"profit_table lacks {missing}: use the output of "
                                  "customer_profit")
    check_positive("returns_share", returns_share)
    if returns_share > 1:
        raise ClvError(f"`returns_share` is a share of purchases in (0, 1], got {returns_share!r}")
    losers = least_profitable(profit_table, threshold=threshold)
    kind = np.select([losers["orders"] == 0,
                      losers["returns"] >= returns_share * losers["revenue"]],
                     list(LOSS_KINDS[:2]), LOSS_KINDS[2])
    losers["kind"] = pd.Categorical(kind, categories=list(LOSS_KINDS))
    return losers


def profit_without(profit_table: pd.DataFrame, customers) -> pd.DataFrame:
    """What-if: totals with everybody versus without the given customers.

    Assumes every cost in the table is caused by the customer (variable): not
    serving a customer removes their revenue, returns, cost of goods, cost to
    serve and -- if they were never acquired -- their acquisition cost. Fixed
    costs do not appear, so the gain is an upper bound when part of the cost to
    serve is fixed.

    Parameters
    ----------
    profit_table : DataFrame
        Output of :func:`customer_profit`.
    customers : index-like or DataFrame
        Customer ids to drop (a DataFrame, e.g. from :func:`least_profitable`,
        gives its index).

    Returns
    -------
    DataFrame
        Rows ``"all customers"``, ``"without them"``, ``"difference"``; columns
        ``customers`` and every money column of the table.

    Examples
    --------
    >>> p = pd.DataFrame({"revenue": [100.0, 10.0], "profit": [30.0, -5.0]}, index=[1, 2])
    >>> profit_without(p, [2])
                   customers  revenue  profit
    all customers          2    110.0    25.0
    without them           1    100.0    30.0
    difference            -1    -10.0     5.0
    """
    if "profit" not in profit_table:
        raise DataValidationError("profit_table needs a 'profit' column (see customer_profit)")
    drop = customers.index if isinstance(customers, pd.DataFrame) else pd.Index(customers)
    unknown = drop.difference(profit_table.index)
    if len(unknown):
        raise DataValidationError(f"customers not in profit_table: {example_rows(unknown)}")
    money = [c for c in profit_table.columns
             if c not in ("orders", "contacts") and pd.api.types.is_float_dtype(profit_table[c])]
    kept = profit_table.drop(index=drop)
    out = pd.DataFrame([[len(profit_table), *profit_table[money].sum()],
                        [len(kept), *kept[money].sum()]],
                       columns=["customers", *money], index=["all customers", "without them"])
    out.loc["difference"] = out.loc["without them"] - out.loc["all customers"]
    return out.astype({"customers": np.int64})


def profit_by_segment(profit_table: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Sum the profit table by segment and flag the segments that destroy value.

    Parameters
    ----------
    profit_table : DataFrame
        Output of :func:`customer_profit`.
    segments : Series
        Segment per customer (e.g. ``rfm_scores(...)["segment"]`` or
        ``customers["segment"]``); customers without one are "(none)".

    Returns
    -------
    DataFrame
        One row per segment: ``customers``, the summed columns, ``profit_per_customer``,
        ``share_of_profit``, ``unprofitable_customers`` (profit < 0) and
        ``destroys_value`` (segment profit < 0); sorted by ``profit`` ascending.

    Examples
    --------
    >>> p = pd.DataFrame({"revenue": [100.0, 10.0, 5.0], "profit": [30.0, -5.0, -1.0]},
    ...                  index=[1, 2, 3])
    >>> profit_by_segment(p, pd.Series({1: "A", 2: "B", 3: "B"}))[["customers", "profit",
    ...                                                            "destroys_value"]]
             customers  profit  destroys_value
    segment
    B                2    -6.0            True
    A                1    30.0           False
    """
    seg = segments.reindex(profit_table.index)
    seg = seg.astype(object).where(seg.notna(), "(none)").rename("segment")
    numeric = profit_table.select_dtypes("number")
    g = numeric.groupby(seg.to_numpy())
    out = g.sum()
    out.insert(0, "customers", g.size())
    out["profit_per_customer"] = out["profit"] / out["customers"]
    out["share_of_profit"] = out["profit"] / profit_table["profit"].sum()
    out["unprofitable_customers"] = (profit_table["profit"] < 0).groupby(seg.to_numpy()).sum()
    out["destroys_value"] = out["profit"] < 0
    out.index.name = "segment"
    return out.sort_values("profit", kind="stable")


# --------------------------------------------------------------------------- budget

_BUDGET_COLUMNS = ("customers", "incremental_clv", "cost_per_customer")


def _check_segments_table(table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise ClvError("segments_table must be a DataFrame indexed by segment")
    missing = [c for c in _BUDGET_COLUMNS if c not in table.columns]
    if missing:
        raise DataValidationError(
            f"segments_table lacks {missing}: give per segment the number of `customers`, the "
            "expected `incremental_clv` per treated customer and the `cost_per_customer` "
            "of treating one customer")
    if table.empty:
        raise DataValidationError("segments_table is empty: nothing to allocate")
    for col in _BUDGET_COLUMNS:
        vals = table[col].to_numpy(dtype=float)
        bad = ~np.isfinite(vals) | (vals < 0) | ((vals == 0) & (col == "cost_per_customer"))
        if bad.any():
            rule = "> 0" if col == "cost_per_customer" else ">= 0"
            raise DataValidationError(f"`{col}` must be finite and {rule}; bad in segments "
                                      f"{example_rows(table.index[bad])}")
    return table


def _diminishing_spend(roi0: np.ndarray, scale: np.ndarray, budget: float,
                       min_return: float) -> np.ndarray:
    """Water-filling: spend where marginal return roi0*exp(-s/S) stays >= a common level."""
    def spend_at(level):
        return np.where(roi0 > level, scale * np.log(np.maximum(roi0, level) / level), 0.0)

    if spend_at(min_return).sum() <= budget:
        return spend_at(min_return)
    lo, hi = min_return, max(float(roi0.max()), min_return)
    for _ in range(200):  # bisection on the common marginal return (monotone)
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if spend_at(mid).sum() > budget else (lo, mid)
    return spend_at(hi)


def allocate_budget(segments_table: pd.DataFrame, *, budget: float,
                    response: str = "diminishing", min_return: float = 1.0) -> pd.DataFrame:
    """Allocate a marketing budget across segments by incremental CLV per unit of cost.

    Each segment ``i`` has ``N_i`` customers; treating one customer costs
    ``c_i`` and adds ``u_i`` of CLV in expectation (the *incremental* CLV, i.e.
    the uplift over not treating, which you estimate, e.g. from a test). Its
    return per unit of cost is ``roi_i = u_i / c_i`` and the spend that treats
    every customer once is ``S_i = N_i c_i``. Response models:

    * ``"diminishing"`` (default): spend ``s`` buys ``s / c_i`` contacts that land
      on the segment's customers at random, so ``N_i (1 - exp(-s / S_i))``
      distinct customers are reached (never more than ``N_i``; some are contacted
      twice) and the value is ``u_i N_i (1 - exp(-s / S_i))``. The marginal
      return ``roi_i exp(-s/S_i)`` falls as spend rises. The optimum equalises
      marginal returns across funded segments: ``s_i = S_i ln(roi_i / level)``
      for ``roi_i > level`` (bisection on ``level``).
    * ``"capped"``: value ``roi_i s`` up to the cap ``s <= S_i`` (everybody treated);
      segments are funded greedily in order of ``roi_i``.

    Spend stops where one more unit returns less than ``min_return`` units of
    CLV, so the budget may be left partly unspent.

    Parameters
    ----------
    segments_table : DataFrame
        Indexed by segment; columns ``customers``, ``incremental_clv`` (per treated
        customer) and ``cost_per_customer``.
    budget : float
        Money to allocate, >= 0.
    response : {"diminishing", "capped"}, default "diminishing"
    min_return : float, default 1.0
        Smallest acceptable marginal return (CLV per unit of spend), > 0.

    Returns
    -------
    DataFrame
        Per segment (best return first): ``customers, incremental_clv,
        cost_per_customer, roi, spend, budget_share, contacts`` (spend / cost),
        ``customers_treated`` (distinct customers reached, at most ``customers``),
        ``expected_incremental_clv`` (``incremental_clv x customers_treated``),
        ``marginal_return, reason`` (in words); an
        ``"(unspent)"`` row when budget is left. ``attrs`` has ``budget``, ``response``.

    Examples
    --------
    >>> seg = pd.DataFrame({"customers": [100, 400, 1000], "incremental_clv": [30.0, 8.0, 1.0],
    ...                     "cost_per_customer": [2.0, 2.0, 2.0]},
    ...                    index=["Champions", "At risk", "Lost"])
    >>> a = allocate_budget(seg, budget=600.0, response="capped")
    >>> a[["spend", "expected_incremental_clv"]]
                spend  expected_incremental_clv
    Champions   200.0                    3000.0
    At risk     400.0                    1600.0
    Lost          0.0                       0.0
    >>> print(a.loc["Lost", "reason"])
    not funded: each 1 spent returns 0.50 of CLV, below the minimum of 1.00
    """
    table = _check_segments_table(segments_table)
    check_nonnegative("budget", budget)
    check_one_of("response", response, ["diminishing", "capped"])
    check_positive("min_return", min_return)
    n = table["customers"].to_numpy(float)
    u = table["incremental_clv"].to_numpy(float)
    c = table["cost_per_customer"].to_numpy(float)
    roi0, scale = u / c, n * c
    order = np.argsort(-roi0, kind="stable")
    if response == "capped":
        caps = np.where(roi0 >= min_return, scale, 0.0)[order]
        before = np.r_[0.0, np.cumsum(caps)[:-1]]
        spend = np.empty_like(caps)
        spend[order] = np.clip(budget - before, 0.0, caps)
        value = roi0 * spend
        marginal = np.where(spend < scale, roi0, 0.0)
    else:
        spend = _diminishing_spend(roi0, scale, float(budget), float(min_return))
        value = n * u * (1 - np.exp(-spend / scale))
        marginal = roi0 * np.exp(-spend / scale)
    out = table[list(_BUDGET_COLUMNS)].copy()
    out["roi"] = roi0
    out["spend"] = spend
    out["budget_share"] = spend / budget if budget > 0 else 0.0
    out["contacts"] = spend / c
    out["customers_treated"] = (spend / c if response == "capped"
                                else n * -np.expm1(-spend / scale))
    out["expected_incremental_clv"] = value
    out["marginal_return"] = marginal
    out["reason"] = _reasons(out, response, float(min_return))
    out = out.iloc[order]
    left = float(budget) - float(spend.sum())
    if left > 1e-9 * max(1.0, float(budget)):
        out.loc["(unspent)"] = {"spend": left, "budget_share": left / budget,
                                "expected_incremental_clv": 0.0,
                                "reason": f"left unspent: every further 1 spent would return "
                                          f"less than {min_return:.2f}"}
    out.attrs.update(budget=float(budget), response=response, min_return=float(min_return))
    return out


def _reasons(out: pd.DataFrame, response: str, min_return: float) -> list[str]:
    reasons = []
    for roi, spend, marginal, cap_reached in zip(
            out["roi"], out["spend"], out["marginal_return"],
            out["contacts"] >= out["customers"] - 1e-9, strict=True):
        if roi < min_return:
            reasons.append(f"not funded: each 1 spent returns {roi:.2f} of CLV, below the "
                           f"minimum of {min_return:.2f}")
        elif spend <= 0:
            reasons.append(f"not funded: its return of {roi:.2f} per 1 spent is lower than "
                           "that of the funded segments and the budget ran out")
        elif response == "capped" and cap_reached:
            reasons.append(f"fully funded: returns {roi:.2f} of CLV per 1 spent, every "
                           "customer treated")
        elif response == "capped":
            reasons.append(f"partly funded: returns {roi:.2f} of CLV per 1 spent; the budget "
                           "ran out")
        else:
            reasons.append(f"funded: starts at {roi:.2f} of CLV per 1 spent; funded until the "
                           f"next 1 would return {marginal:.2f}")
    return reasons
