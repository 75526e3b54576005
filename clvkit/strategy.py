"""CLV in CRM decisions: whom to focus on, what to say, how to read KPIs, what to build.

The computations behind notebook 08 (CRM strategy and KPIs):

* :func:`value_captured` and :func:`gains_curve` -- how much of a later outcome (next
  year's margin) the customers ranked first by a score (current sales, CLV) hold:
  when does ranking by CLV beat ranking by current sales?
* :func:`clv_messages` and :func:`message_budget` -- a message plan by CLV tier and
  risk (retain, develop, win back, low cost) and the budget it needs per message.
* :func:`journey_stage` and :func:`journey_stages` -- customers by stage of the
  customer journey (new, developing, established, lapsed), to read a KPI over the
  journey rather than as one number.
* :func:`objective_kpis` and :func:`objective_scorecard` -- the monthly KPIs of each
  objective (acquisition, retention, cross-selling) of the :mod:`clvkit.metrics`
  registry, and whether each got better or worse.
* :func:`category_lift` -- which product categories a group of customers (e.g. the
  high-CLV tier) buys more than the base rate, for product development.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._validate import check_nonnegative, check_one_of, check_probability
from .columns import AMOUNT, CUSTOMER_ID, DATE, PRODUCT
from .contract import check_transactions
from .crm import monthly_kpis
from .errors import ClvError, DataValidationError, example_rows
from .metrics import KPIS_BY_OBJECTIVE, OBJECTIVES, metric
from .segments import clv_tiers
from .units import DAYS_PER_UNIT

__all__ = [
    "value_captured", "gains_curve", "MESSAGES", "MESSAGE_GRID", "clv_messages",
    "message_budget", "JOURNEY_STAGES", "journey_stage", "journey_stages", "objective_kpis",
    "objective_scorecard", "category_lift",
]


def _series(values, name: str) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, float))
    if s.empty:
        raise DataValidationError(f"`{name}` is empty")
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataValidationError(f"`{name}` has missing, infinite or non-numeric values in "
                                  f"{example_rows(s.index[bad])}; fill or drop them first")
    return pd.Series(x, index=s.index, name=s.name)


def _aligned(score, outcome) -> tuple[np.ndarray, np.ndarray]:
    s, o = _series(score, "score"), _series(outcome, "outcome")
    if len(s) != len(o) or not s.index.equals(o.index):
        if not (s.index.is_unique and o.index.is_unique and s.index.sort_values().equals(
                o.index.sort_values())):
            raise DataValidationError(
                "`score` and `outcome` must hold the same customers (same index); e.g. "
                f"customers only in one: {example_rows(s.index.symmetric_difference(o.index))}")
        o = o.reindex(s.index)
    return s.to_numpy(), o.to_numpy()


def _cumulative_by_rank(score: np.ndarray, outcome: np.ndarray):
    """Customers and outcome accumulated over groups of equal score, highest score first."""
    order = np.argsort(-score, kind="stable")
    s, o = score[order], outcome[order]
    last = np.r_[s[1:] != s[:-1], True]                  # last customer of each tie group
    customers = np.r_[0, np.flatnonzero(last) + 1]
    value = np.r_[0.0, np.cumsum(o)[last]]
    return customers.astype(float), value


def value_captured(score, outcome, *, share: float = 0.2) -> float:
    """Share of the total ``outcome`` held by the top ``share`` of customers ranked by ``score``.

    Customers are ranked from the highest score down; customers with equal scores are
    taken in random order, in expectation (the value of a partly included group of ties
    is counted pro rata), so a score with many ties (e.g. this month's sales, zero for
    most customers) gets no lucky tie-break. ``share * n`` customers are taken
    (interpolated when not a whole number).

    Parameters
    ----------
    score : Series
        What customers are ranked by (index = customer id), e.g. current sales or CLV.
    outcome : Series
        What is captured (same customers), e.g. next year's margin.
    share : float, default 0.2
        Share of customers targeted, in [0, 1].

    Returns
    -------
    float
        Captured share of the total outcome (1.0 at ``share=1``).

    Examples
    --------
    >>> outcome = pd.Series([50.0, 30.0, 0.0, 20.0])
    >>> value_captured(pd.Series([4.0, 3.0, 2.0, 1.0]), outcome, share=0.5)
    0.8
    >>> round(value_captured(pd.Series([1.0, 0.0, 0.0, 0.0]), outcome, share=0.5), 4)
    0.6667

    The second customer is one of three tied at 0: a third of their value, 50 + 50 / 3.
    """
    check_probability("share", share, upper_open=False)
    s, o = _aligned(score, outcome)
    total = o.sum()
    if total == 0:
        raise DataValidationError("`outcome` sums to zero: captured shares are undefined")
    customers, value = _cumulative_by_rank(s, o)
    return float(np.interp(share * len(s), customers, value) / total)


def gains_curve(scores: Mapping | pd.DataFrame, outcome, *, points: int = 50) -> pd.DataFrame:
    """Cumulative gains: share of ``outcome`` captured by the top customers of each ranking.

    Parameters
    ----------
    scores : DataFrame or mapping of name -> Series
        One column per ranking (index = customer id).
    outcome : Series
        Same customers.
    points : int, default 50
        The curve is evaluated at ``points + 1`` evenly spaced customer shares.

    Returns
    -------
    DataFrame
        Long format: ``ranking, customer_share, value_share`` with two reference
        rankings added: ``"perfect (by outcome)"`` and ``"random"``.

    Examples
    --------
    >>> g = gains_curve({"score": pd.Series([2.0, 1.0])}, pd.Series([3.0, 1.0]), points=2)
    >>> g.pivot(index="customer_share", columns="ranking", values="value_share")
    ranking         perfect (by outcome)  random  score
    customer_share
    0.0                             0.00     0.0   0.00
    0.5                             0.75     0.5   0.75
    1.0                             1.00     1.0   1.00
    """
    columns = dict(scores.items())
    if not columns:
        raise ClvError("`scores` is empty: give at least one ranking")
    grid = np.linspace(0.0, 1.0, int(points) + 1)
    out = outcome if isinstance(outcome, pd.Series) else pd.Series(outcome)
    columns["perfect (by outcome)"] = out
    rows = [pd.DataFrame({"ranking": name, "customer_share": grid,
                          "value_share": [value_captured(score, out, share=x) for x in grid]})
            for name, score in columns.items()]
    rows.append(pd.DataFrame({"ranking": "random", "customer_share": grid, "value_share": grid}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- messages by CLV

#: The four messages of the plan: aim and typical content (``cost`` is a default cost per
#: customer in currency units, an assumption to replace with your own).
MESSAGES = pd.DataFrame(
    {"aim": ["keep the most valuable customers", "grow customers with room to buy more",
             "bring back valuable customers who are slipping away",
             "stay in touch at the lowest cost"],
     "content": ["recognition, service, early access to new products",
                 "cross-sell and up-sell offers from their purchase history",
                 "a personal reactivation offer",
                 "newsletter and seasonal promotions by e-mail"],
     "cost": [3.0, 1.0, 5.0, 0.1]},
    index=pd.Index(["retain", "develop", "win back", "low cost"], name="message"))

#: Message of each (CLV tier, at risk) cell: tiers "high", "middle", "low".
MESSAGE_GRID = {("high", False): "retain", ("high", True): "win back",
                ("middle", False): "develop", ("middle", True): "win back",
                ("low", False): "low cost", ("low", True): "low cost"}


def clv_messages(clv, *, p_alive, tiers=(0.2, 0.5), at_risk_below: float = 0.5,
                 grid: Mapping | None = None) -> pd.DataFrame:
    """Assign a message to every customer from their CLV tier and their risk of leaving.

    Customers are ranked by CLV (highest first, ties in the order given, as
    :func:`clvkit.segments.clv_tiers`): the top ``tiers[0]`` share is the **high** tier,
    the customers down to ``tiers[1]`` the **middle** tier, the rest **low**. A customer
    is **at risk** when ``p_alive < at_risk_below``. The message comes from
    :data:`MESSAGE_GRID` (or ``grid``): high and not at risk -> retain, middle and not at
    risk -> develop, high or middle at risk -> win back, low -> low cost.

    Parameters
    ----------
    clv : Series
        Predicted CLV per customer (index = customer id).
    p_alive : Series
        Probability of being alive, same customers.
    tiers : (float, float), default (0.2, 0.5)
        Cumulative shares ending the high and the middle tier.
    at_risk_below : float, default 0.5
        P(alive) threshold of "at risk".
    grid : mapping, optional
        (tier, at_risk) -> message, replacing :data:`MESSAGE_GRID`.

    Returns
    -------
    DataFrame
        Indexed like ``clv``: ``clv, p_alive, tier`` (categorical high/middle/low),
        ``at_risk`` and ``message``.

    Examples
    --------
    >>> clv = pd.Series([900.0, 500.0, 300.0, 80.0, 10.0], index=list("abcde"))
    >>> p = pd.Series([0.9, 0.3, 0.8, 0.2, 0.9], index=list("abcde"))
    >>> clv_messages(clv, p_alive=p, tiers=(0.2, 0.6))["message"].tolist()
    ['retain', 'win back', 'develop', 'low cost', 'low cost']
    """
    value = _series(clv, "clv")
    p = _series(p_alive, "p_alive")
    if not (p.index.is_unique and value.index.is_unique
            and p.index.sort_values().equals(value.index.sort_values())):
        only_one = value.index.symmetric_difference(p.index)
        raise DataValidationError("`clv` and `p_alive` must hold the same customers; e.g. "
                                  f"only in one: {example_rows(only_one)}")
    p = p.reindex(value.index)
    outside = (p < 0) | (p > 1)
    if outside.any():
        raise DataValidationError(f"`p_alive` must be in [0, 1]; not for customers "
                                  f"{example_rows(p.index[outside])}")
    check_probability("at_risk_below", at_risk_below, upper_open=False)
    shares = tuple(tiers)
    if len(shares) != 2:
        raise ClvError(f"`tiers` must be two cumulative shares (high, middle), got {tiers!r}")
    ranked = clv_tiers(value, tiers=shares)
    names = {ranked["tier"].cat.categories[0]: "high", ranked["tier"].cat.categories[1]: "middle",
             "Rest": "low"}
    tier = pd.Categorical(ranked["tier"].astype(str).map(names),
                          categories=["high", "middle", "low"], ordered=True)
    at_risk = (p < at_risk_below).to_numpy()
    cells = {**MESSAGE_GRID, **(grid or {})}
    message = [cells[(t, bool(r))] for t, r in zip(tier.astype(str), at_risk, strict=True)]
    return pd.DataFrame({"clv": value.to_numpy(), "p_alive": p.to_numpy(), "tier": tier,
                         "at_risk": at_risk, "message": message}, index=value.index)


def message_budget(plan: pd.DataFrame, *, cost_per_customer: Mapping | None = None
                   ) -> pd.DataFrame:
    """Customers, CLV and budget of each message of a plan (:func:`clv_messages`).

    Parameters
    ----------
    plan : DataFrame
        With columns ``message`` and ``clv``.
    cost_per_customer : mapping message -> cost, optional
        Default: the ``cost`` column of :data:`MESSAGES`.

    Returns
    -------
    DataFrame
        Indexed by message (in the order of :data:`MESSAGES`, then others): ``customers,
        clv, clv_share, cost_per_customer, budget, budget_share, budget_to_clv``.

    Examples
    --------
    >>> plan = pd.DataFrame({"message": ["retain", "low cost", "low cost"],
    ...                      "clv": [300.0, 50.0, 50.0]})
    >>> message_budget(plan, cost_per_customer={"retain": 3.0, "low cost": 0.5})[
    ...     ["customers", "clv_share", "budget", "budget_to_clv"]]
              customers  clv_share  budget  budget_to_clv
    message
    retain            1       0.75     3.0           0.01
    low cost          2       0.25     1.0           0.01
    """
    missing = [c for c in ("message", "clv") if c not in plan.columns]
    if missing:
        raise DataValidationError(f"`plan` lacks {missing}: pass the result of clv_messages")
    costs = dict(MESSAGES["cost"]) if cost_per_customer is None else dict(cost_per_customer)
    used = pd.unique(plan["message"])
    unknown = [m for m in used if m not in costs]
    if unknown:
        raise DataValidationError(f"no cost per customer for messages {unknown}: add them to "
                                  "`cost_per_customer`")
    for name, cost in costs.items():
        check_nonnegative(f"cost_per_customer[{name!r}]", cost)
    order = [m for m in MESSAGES.index if m in used] + [m for m in used if m not in MESSAGES.index]
    g = plan.groupby("message", sort=False)
    out = pd.DataFrame({"customers": g.size(), "clv": g["clv"].sum()}).reindex(order)
    out["clv_share"] = out["clv"] / out["clv"].sum()
    out["cost_per_customer"] = [float(costs[m]) for m in out.index]
    out["budget"] = out["customers"] * out["cost_per_customer"]
    total = out["budget"].sum()
    out["budget_share"] = out["budget"] / total if total > 0 else 0.0
    out["budget_to_clv"] = out["budget"] / out["clv"]
    out.index.name = "message"
    return out


# --------------------------------------------------------------------------- journey

#: Stages of the customer journey, in order.
JOURNEY_STAGES = ("new", "developing", "established", "lapsed")


def journey_stage(tenure, months_since_last, *, new_within: float = 3,
                  established_after: float = 12, lapsed_after: float = 6) -> pd.Series:
    """Stage of each customer from tenure and time since the last purchase (months).

    **lapsed**: no purchase for ``lapsed_after`` months or more; otherwise **new**:
    tenure (months since the first purchase) below ``new_within``; **developing**:
    below ``established_after``; **established**: the rest.

    Examples
    --------
    >>> journey_stage(pd.Series([1.0, 5.0, 20.0, 20.0]), pd.Series([0.5, 1.0, 2.0, 7.0])).tolist()
    ['new', 'developing', 'established', 'lapsed']
    """
    tenure = _series(tenure, "tenure")
    since = _series(months_since_last, "months_since_last")
    if len(tenure) != len(since):
        raise DataValidationError("`tenure` and `months_since_last` must have the same length")
    if not 0 < new_within <= established_after:
        raise ClvError(f"need 0 < new_within <= established_after, got {new_within} and "
                       f"{established_after}")
    check_nonnegative("lapsed_after", lapsed_after)
    t, r = tenure.to_numpy(), since.to_numpy()
    stage = np.select([r >= lapsed_after, t < new_within, t < established_after],
                      ["lapsed", "new", "developing"], "established")
    return pd.Series(pd.Categorical(stage, categories=JOURNEY_STAGES, ordered=True),
                     index=tenure.index, name="stage")


def journey_stages(transactions, *, as_of, new_within: float = 3,
                   established_after: float = 12, lapsed_after: float = 6) -> pd.DataFrame:
    """Each customer's tenure, months since last purchase and journey stage at ``as_of``.

    Months are mean Gregorian months (:data:`clvkit.units.DAYS_PER_UNIT`); purchases on or
    after ``as_of`` are ignored.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``tenure_months, months_since_last, stage``
        (see :func:`journey_stage`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": 10.0,
    ...     "date": pd.to_datetime(["2023-01-10", "2023-12-01", "2023-02-01"])})
    >>> journey_stages(tx, as_of="2024-01-01")["stage"].tolist()
    ['developing', 'lapsed']
    """
    tx = check_transactions(transactions)
    end = pd.Timestamp(as_of)
    tx = tx[tx[DATE] < end]
    if tx.empty:
        raise DataValidationError(f"no transactions before as_of={end.date()}")
    g = tx.groupby(CUSTOMER_ID, sort=True)[DATE]
    month = pd.Timedelta(days=DAYS_PER_UNIT["M"])
    out = pd.DataFrame({"tenure_months": (end - g.min()) / month,
                        "months_since_last": (end - g.max()) / month})
    out["stage"] = journey_stage(out["tenure_months"], out["months_since_last"],
                                 new_within=new_within, established_after=established_after,
                                 lapsed_after=lapsed_after)
    return out


# --------------------------------------------------------------------------- KPIs by objective

def _cumulative_by_period(first_dates: pd.Series, index: pd.PeriodIndex) -> np.ndarray:
    """How many of ``first_dates`` fall in or before each period of ``index``."""
    counts = first_dates.dt.to_period(index.freqstr).value_counts()
    return counts.reindex(index, fill_value=0).cumsum().to_numpy()


def objective_kpis(transactions, *, customers: pd.DataFrame | None = None,
                   category: str = PRODUCT, inactive_periods: int = 3) -> pd.DataFrame:
    """Every KPI of :data:`clvkit.metrics.KPIS_BY_OBJECTIVE`, one row per calendar month.

    :func:`clvkit.crm.monthly_kpis` plus ``acquisition_cost`` (needs ``customers`` with a
    ``cac`` column, indexed by customer id), ``multi_category_share`` and
    ``categories_per_customer`` (need a ``category`` column), as the registry defines them.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "product": ["x", "x", "y"],
    ...     "date": pd.to_datetime(["2024-01-03", "2024-01-09", "2024-02-03"]),
    ...     "amount": 10.0})
    >>> cust = pd.DataFrame({"cac": [5.0, 15.0]}, index=["a", "b"])
    >>> objective_kpis(tx, customers=cust)[["new_customers", "acquisition_cost",
    ...                                     "multi_category_share"]]
             new_customers  acquisition_cost  multi_category_share
    period
    2024-01              2              10.0                   0.0
    2024-02              0               NaN                   0.5
    """
    out = monthly_kpis(transactions, period="M", inactive_periods=inactive_periods)
    tx = check_transactions(transactions, purchases_only=True)
    first = tx.groupby(CUSTOMER_ID, sort=False)[DATE].min()
    if customers is not None:
        if "cac" not in customers.columns:
            raise DataValidationError("`customers` lacks a 'cac' column (acquisition cost)")
        cac = customers["cac"].reindex(first.index)
        if cac.isna().any():
            raise DataValidationError(
                f"no acquisition cost for customers {example_rows(cac.index[cac.isna()])}: "
                "`customers` must hold every customer of the transactions")
        month = first.dt.to_period("M")
        out["acquisition_cost"] = cac.groupby(month.to_numpy()).mean().reindex(out.index)
    if category in tx.columns:
        tx = check_transactions(transactions, extra=(category,), purchases_only=True)
        pairs = (tx.groupby([CUSTOMER_ID, category], observed=True, sort=False)[DATE].min()
                 .sort_values(kind="stable"))
        second = pairs[pairs.groupby(level=0, sort=False).cumcount().to_numpy() == 1]
        seen = _cumulative_by_period(first, out.index)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["multi_category_share"] = _cumulative_by_period(second, out.index) / seen
            out["categories_per_customer"] = _cumulative_by_period(pairs, out.index) / seen
    return out


def _verdict(value, reference, lower_is_better: bool) -> str:
    if not (np.isfinite(value) and np.isfinite(reference)):
        return "n/a"
    if value == reference:
        return "same"
    return "better" if (value < reference) == lower_is_better else "worse"


def objective_scorecard(kpis: pd.DataFrame, *, month, reference=None,
                        objectives=None) -> pd.DataFrame:
    """The KPIs of each objective in ``month``, against a ``reference`` month.

    Parameters
    ----------
    kpis : DataFrame
        One row per month (``PeriodIndex``), columns named after metrics, e.g.
        :func:`objective_kpis`.
    month, reference : str or Period
        The month read and the month compared with (default: 12 months earlier).
    objectives : sequence of str, optional
        Some of :data:`clvkit.metrics.OBJECTIVES`.

    Returns
    -------
    DataFrame
        Indexed by (``objective``, ``metric``): ``label, unit, value, reference, verdict``
        ("better", "worse", "same" or "n/a"; direction from the registry's
        ``lower_is_better``). Metrics missing from ``kpis`` are "n/a".

    Examples
    --------
    >>> k = pd.DataFrame({"churn_rate": [0.05, 0.04], "new_customers": [10, 12]},
    ...                  index=pd.period_range("2024-01", periods=2, freq="M"))
    >>> objective_scorecard(k, month="2024-02", reference="2024-01",
    ...                     objectives=["acquisition", "retention"])["verdict"].tolist()
    ['better', 'n/a', 'n/a', 'better', 'n/a']
    """
    month = pd.Period(month, "M")
    reference = month - 12 if reference is None else pd.Period(reference, "M")
    chosen = OBJECTIVES if objectives is None else tuple(objectives)
    rows = []
    for objective in chosen:
        check_one_of("objective", objective, OBJECTIVES)
        for name in KPIS_BY_OBJECTIVE[objective]:
            m = metric(name)
            col = kpis[name] if name in kpis.columns else pd.Series(dtype=float)
            value = float(col.get(month, np.nan))
            ref = float(col.get(reference, np.nan))
            rows.append({"objective": objective, "metric": name, "label": m.label,
                         "unit": m.unit, "value": value, "reference": ref,
                         "verdict": _verdict(value, ref, m.lower_is_better)})
    out = pd.DataFrame(rows).set_index(["objective", "metric"])
    out.attrs.update(month=str(month), reference=str(reference))
    return out


# --------------------------------------------------------------------------- product development

def category_lift(transactions, *, group: pd.Series, category: str = PRODUCT) -> pd.DataFrame:
    """Which categories the customers of ``group`` buy, against the base rate of everyone.

    ``group`` is a boolean Series over **all** customers of interest (index = customer
    id; True = in the group, e.g. the high-CLV tier). A category's penetration is the
    share of customers who bought it at least once; its **lift** is the group's
    penetration divided by the base rate (the penetration among all customers of
    ``group``'s index): above 1, the group buys it more than average.

    Returns
    -------
    DataFrame
        Indexed by category (highest lift first): ``group_penetration,
        others_penetration, base_rate, lift, group_revenue_share`` (share of the group's
        spend that goes to the category) and ``others_revenue_share``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...     "product": ["x", "y", "x", "x"], "amount": [10.0, 30.0, 10.0, 10.0],
    ...     "date": pd.to_datetime(["2024-01-03"] * 4)})
    >>> high = pd.Series([True, False, False], index=["a", "b", "c"])
    >>> category_lift(tx, group=high)[["group_penetration", "base_rate", "lift"]].round(2)
              group_penetration  base_rate  lift
    category
    y                       1.0       0.33   3.0
    x                       1.0       1.00   1.0
    """
    tx = check_transactions(transactions, extra=(category,), purchases_only=True)
    if not isinstance(group, pd.Series) or group.dtype != bool:
        raise DataValidationError("`group` must be a boolean Series indexed by customer id "
                                  "(True = in the group)")
    if not group.index.is_unique or not group.any() or group.all():
        raise DataValidationError("`group` needs unique customer ids, with customers both in "
                                  "and out of the group")
    tx = tx[tx[CUSTOMER_ID].isin(group.index)]
    if tx.empty:
        raise DataValidationError("no transactions of the customers of `group`")
    bought = (tx.groupby([CUSTOMER_ID, category], observed=True)[AMOUNT].sum()
              .unstack(category, fill_value=0.0).reindex(group.index, fill_value=0.0))
    bought.columns = pd.Index(bought.columns.astype(str), name="category")
    has = bought > 0
    inside = group.to_numpy()
    base = has.mean()
    spend_in, spend_out = bought[inside].sum(), bought[~inside].sum()
    out = pd.DataFrame({"group_penetration": has[inside].mean(),
                        "others_penetration": has[~inside].mean(), "base_rate": base,
                        "lift": has[inside].mean() / base,
                        "group_revenue_share": spend_in / spend_in.sum(),
                        "others_revenue_share": spend_out / spend_out.sum()})
    out.index.name = "category"
    return out.sort_values("lift", ascending=False, kind="stable")
