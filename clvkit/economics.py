"""Retention versus acquisition economics.

* :func:`acquisition_vs_retention` -- cost to acquire a customer versus cost to
  keep one, from spend and counts (:func:`crm_costs` gets them from CRM tables).
* :func:`retention_scenarios` -- "+x points of retention": CLV (retention
  formula of :func:`clvkit.formulas.retention_clv`) and customer-base value.
* :func:`break_even_retention_spend` -- the most you can spend to buy a given
  retention uplift without losing money.
* :func:`defection_uplift` and :data:`RS_CREDIT_CARD` -- a Reichheld & Sasser
  (1990) style worked check: profit per customer grows with tenure, so a few
  points less defection raise customer value far more than proportionally.
* :func:`ltv_cac_by_channel` and :func:`cumulative_margin` -- observed LTV:CAC and
  CAC payback per acquisition channel from customers and transactions.
* :func:`budget_shift` -- a deterministic scenario: move part of the acquisition
  budget into retention and follow customers, revenue and CLV month by month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_nonnegative, check_one_of, check_positive, check_probability
from .contract import check_transactions, id_positions, order_keys
from .errors import ClvError, DataValidationError, example_rows
from .formulas import ltv_cac_ratio, margin_multiplier, retention_clv
from .units import TIME_UNITS, to_units

__all__ = [
    "acquisition_vs_retention", "crm_costs", "retention_scenarios",
    "break_even_retention_spend", "RS_CREDIT_CARD", "defection_uplift", "profit_path",
    "cumulative_margin", "ltv_cac_by_channel", "BudgetShift", "budget_shift",
]


# --------------------------------------------------------------------------- costs

def acquisition_vs_retention(*, acquisition_spend: float, new_customers: int,
                             retention_spend: float, retained_customers: int) -> pd.DataFrame:
    """Cost to acquire one customer versus cost to retain one.

    Parameters
    ----------
    acquisition_spend : float
        Money spent winning new customers in the period.
    new_customers : int
        Customers won with it.
    retention_spend : float
        Money spent on existing customers (retention campaigns, loyalty, service).
    retained_customers : int
        Existing customers who stayed (bought again) in the period.

    Returns
    -------
    DataFrame
        Rows ``acquire`` and ``retain``: ``spend, customers, cost_per_customer``;
        ``attrs["ratio"]`` = cost to acquire / cost to retain.

    Examples
    --------
    >>> t = acquisition_vs_retention(acquisition_spend=50_000, new_customers=1_000,
    ...                              retention_spend=20_000, retained_customers=2_000)
    >>> t["cost_per_customer"].tolist(), t.attrs["ratio"]
    ([50.0, 10.0], 5.0)
    """
    check_nonnegative("acquisition_spend", acquisition_spend)
    check_nonnegative("retention_spend", retention_spend)
    check_positive("new_customers", new_customers)
    check_positive("retained_customers", retained_customers)
    out = pd.DataFrame({"spend": [float(acquisition_spend), float(retention_spend)],
                        "customers": [int(new_customers), int(retained_customers)]},
                       index=pd.Index(["acquire", "retain"], name="activity"))
    out["cost_per_customer"] = out["spend"] / out["customers"]
    retain = out.loc["retain", "cost_per_customer"]
    out.attrs["ratio"] = (float(out.loc["acquire", "cost_per_customer"] / retain)
                          if retain > 0 else float("inf"))
    return out


def crm_costs(customers: pd.DataFrame, transactions: pd.DataFrame, touches: pd.DataFrame, *,
              campaigns: pd.DataFrame | None = None,
              cost_per_send: float | dict | None = None,
              retained: str = "repeat_buyers") -> pd.DataFrame:
    """Acquisition versus retention cost from CRM tables (e.g. :func:`clvkit.synthetic.load_crm`).

    * acquisition spend = sum of ``customers["cac"]``, new customers = all customers;
    * retention spend = cost of every campaign send (``touches`` priced by
      ``campaigns["cost_per_send"]``, or ``cost_per_send`` per medium / flat);
    * retained customers, by ``retained``: ``"repeat_buyers"``, every customer
      who bought again after their first order (most of them were never
      persuaded by a message: the cost per customer is far too low), or
      ``"converted"``, the customers who converted after a message (the
      ``converted`` flag of ``touches``): the cost per retained customer
      *attributable* to the campaigns. Neither is incremental: only a control
      group tells how many of them would have bought anyway.

    Returns
    -------
    DataFrame
        As :func:`acquisition_vs_retention`.

    Examples
    --------
    >>> from clvkit.synthetic import generate_crm
    >>> crm = generate_crm(n_customers=500, months=6, seed=2)
    >>> t = crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns)
    >>> t.index.tolist()
    ['acquire', 'retain']
    >>> a = crm_costs(crm.customers, crm.transactions, crm.touches, campaigns=crm.campaigns,
    ...               retained="converted")
    >>> bool(a.loc["retain", "cost_per_customer"] > t.loc["retain", "cost_per_customer"])
    True
    """
    check_one_of("retained", retained, ["repeat_buyers", "converted"])
    if "cac" not in customers:
        raise DataValidationError("customers need a 'cac' column (acquisition cost per customer)")
    if campaigns is not None:
        price = touches["campaign_id"].map(campaigns["cost_per_send"])
        if price.isna().any():
            raise DataValidationError("touches refer to campaigns missing from `campaigns`: "
                                      f"{example_rows(touches.index[price.isna()])}")
    elif isinstance(cost_per_send, dict):
        price = touches["medium"].astype(str).map(cost_per_send)
    elif cost_per_send is not None:
        price = pd.Series(float(cost_per_send), index=touches.index)
    else:
        raise ClvError("give `campaigns` (with cost_per_send) or `cost_per_send`")
    transactions = check_transactions(transactions)
    if retained == "converted":
        if "converted" not in touches:
            raise DataValidationError("retained='converted' needs the 'converted' flag in "
                                      f"touches; found {list(touches.columns)}")
        n_retained = int(touches.loc[touches["converted"].astype(bool),
                                     C.CUSTOMER_ID].nunique())
    else:
        sales = transactions[transactions[C.AMOUNT] > 0]
        orders = pd.Series(order_keys(sales)).groupby(sales[C.CUSTOMER_ID].to_numpy()).nunique()
        n_retained = int((orders > 1).sum())
    out = acquisition_vs_retention(acquisition_spend=float(customers["cac"].sum()),
                                   new_customers=len(customers),
                                   retention_spend=float(price.sum()),
                                   retained_customers=n_retained)
    out.attrs["retained"] = retained
    return out


# --------------------------------------------------------------------------- retention CLV

def retention_scenarios(margin_per_period: float, *, retention: float, discount_rate: float,
                        uplifts=(0.0, 0.01, 0.02, 0.05, 0.10), customers: float = 1.0,
                        timing: str = "end") -> pd.DataFrame:
    """CLV and customer-base value when retention rises by a few points.

    CLV per customer is :func:`clvkit.formulas.retention_clv` (``m r / (1 + d - r)``
    for ``timing="end"``); the customer-base value is ``customers * CLV``.

    Parameters
    ----------
    margin_per_period : float
        Margin per customer per period, an amount (currency), not a rate.
    retention : float
        Current retention rate per period, in [0, 1).
    discount_rate : float
        Discount rate per period.
    uplifts : sequence of float
        Retention increases in rate units (0.05 = +5 points).
    customers : float, default 1
        Size of the customer base.
    timing : str, default "end"
        See :func:`clvkit.formulas.retention_clv`.

    Returns
    -------
    DataFrame
        Indexed by ``uplift``: ``retention, expected_lifetime, clv, clv_change,
        clv_change_pct, base_value``.

    Examples
    --------
    >>> t = retention_scenarios(100.0, retention=0.8, discount_rate=0.1, uplifts=(0, 0.05))
    >>> t[["retention", "clv", "clv_change_pct"]].round(2).reset_index()
       uplift  retention     clv  clv_change_pct
    0    0.00       0.80  266.67             0.0
    1    0.05       0.85  340.00            27.5
    """
    up = np.asarray(uplifts, float)
    new = retention + up
    if np.any(new >= 1) or np.any(new < 0):
        raise ClvError(f"retention {retention} + uplifts {list(up)} must stay in [0, 1); "
                       "retention of 1 means customers never leave and CLV is infinite")
    clv = np.asarray(retention_clv(margin_per_period, retention=new, discount_rate=discount_rate,
                                   timing=timing), float)
    base = float(retention_clv(margin_per_period, retention=retention, discount_rate=discount_rate,
                               timing=timing))
    out = pd.DataFrame({"retention": new, "expected_lifetime": 1 / (1 - new), "clv": clv,
                        "clv_change": clv - base,
                        "clv_change_pct": 100 * (clv - base) / base if base else np.nan,
                        "base_value": customers * clv},
                       index=pd.Index(up, name="uplift"))
    return out


def break_even_retention_spend(margin_per_period: float, *, retention: float,
                               discount_rate: float, uplifts=(0.01, 0.02, 0.05),
                               timing: str = "end") -> pd.DataFrame:
    """Largest spend that pays for itself by buying a retention uplift.

    * ``one_off``: spent once now per customer: ``CLV(m, r + u) - CLV(m, r)``;
    * ``per_period``: spent every period the customer stays (it lowers the
      margin to ``m - s``): the ``s`` solving ``CLV(m - s, r + u) = CLV(m, r)``,
      i.e. ``s = m - CLV(m, r) / M(r + u)`` with ``M`` the margin multiplier.

    Spending less than these amounts creates value; more destroys it.
    ``margin_per_period`` (``m``) is an amount per customer per period.

    Returns
    -------
    DataFrame
        Indexed by ``uplift``: ``retention, new_retention, clv_before, clv_after,
        one_off, per_period``.

    Examples
    --------
    >>> b = break_even_retention_spend(100.0, retention=0.8, discount_rate=0.1, uplifts=(0.05,))
    >>> b[["one_off", "per_period"]].round(2)
            one_off  per_period
    uplift
    0.05      73.33       21.57
    """
    check_probability("retention", retention)
    up = np.asarray(uplifts, float)
    if np.any(up <= 0) or np.any(retention + up >= 1):
        raise ClvError(f"uplifts must be > 0 and keep retention below 1, got {list(up)}")
    before = float(retention_clv(margin_per_period, retention=retention,
                                 discount_rate=discount_rate, timing=timing))
    after = np.asarray(retention_clv(margin_per_period, retention=retention + up,
                                     discount_rate=discount_rate, timing=timing), float)
    mult = np.asarray(margin_multiplier(retention=retention + up, discount_rate=discount_rate,
                                        timing=timing), float)
    return pd.DataFrame({"retention": retention, "new_retention": retention + up,
                         "clv_before": before, "clv_after": after, "one_off": after - before,
                         "per_period": margin_per_period - before / mult},
                        index=pd.Index(up, name="uplift"))


# --------------------------------------------------------------------------- Reichheld & Sasser

#: Credit-card worked example of Reichheld & Sasser (1990), "Zero Defections: Quality
#: Comes to Services", Harvard Business Review 68(5), 105-111: profit per customer by
#: year of tenure and the acquisition cost (US$). NOTE: these five yearly profits and the
#: $51 acquisition cost are the figures of the article's credit-card exhibit as widely
#: reproduced in secondary sources; clvkit's authors could not check them against the
#: printed original. Year 6+ is our assumption: the year-5 profit continues.
RS_CREDIT_CARD = {"profit_by_year": (30.0, 42.0, 44.0, 49.0, 55.0), "acquisition_cost": 51.0}


def profit_path(first_year: float, *, growth: float, years: int,
                plateau_after: int | None = None) -> np.ndarray:
    """Profit per customer by year of tenure, growing at ``growth`` per year.

    ``profit_t = first_year * (1 + growth) ** (min(t, plateau_after) - 1)`` for
    ``t = 1..years``: the Reichheld & Sasser pattern of profit that rises with
    tenure (more purchases, lower cost to serve, referrals, price premium).

    Examples
    --------
    >>> profit_path(10.0, growth=0.1, years=4, plateau_after=3).round(2).tolist()
    [10.0, 11.0, 12.1, 12.1]
    """
    check_positive("years", years)
    t = np.arange(1, int(years) + 1)
    if plateau_after is not None:
        t = np.minimum(t, int(plateau_after))
    return float(first_year) * (1 + float(growth)) ** (t - 1)


def _extend(profits: np.ndarray, years: int) -> np.ndarray:
    """Continue the last yearly profit up to ``years`` years."""
    if len(profits) >= years:
        return profits[:years]
    return np.r_[profits, np.full(years - len(profits), profits[-1])]


def _customer_npv(profits: np.ndarray, defection: np.ndarray, *, discount_rate: float,
                  life: str, acquisition_cost: float) -> np.ndarray:
    horizon = int(np.ceil(1 / defection.min())) + 1 if life == "average" else 1000
    p = _extend(profits, horizon)
    t = np.arange(1, horizon + 1)
    disc = p / (1 + discount_rate) ** t
    if life == "average":  # exactly 1/defection years, a fractional last year counted pro rata
        weight = np.clip(1 / defection[:, None] - (t[None, :] - 1), 0.0, 1.0)
    else:  # expected value: alive in year t with probability (1 - defection)^(t-1)
        weight = (1 - defection[:, None]) ** (t[None, :] - 1)
    return (weight * disc[None, :]).sum(axis=1) - acquisition_cost


def defection_uplift(profit_by_year, *, defection, reduction: float = 0.05,
                     discount_rate: float = 0.0, acquisition_cost: float = 0.0,
                     life: str = "average") -> pd.DataFrame:
    """Value of a customer before and after cutting defections by ``reduction``.

    Reichheld & Sasser (1990) obtain their 25 %-85 % profit rises by comparing
    the net present value of the profit stream over the *average customer life*
    at the current defection rate with that at a defection rate 5 points lower
    (the note to their exhibit as we recall it; not checked against the printed
    original). What is verified (publisher abstract): +85 % for a bank's branch
    system, +50 % insurance brokerage, +30 % auto-service chain, and +125 % for
    MBNA halving its 10 % defection rate. The per-industry inputs are not
    published, so only the *shape* can be checked. We model one customer:

    ``value(delta) = sum_t w_t(delta) * profit_t / (1 + i)^t - acquisition_cost``

    * ``life="average"`` (their reading): the customer stays exactly the average
      life ``1 / delta`` years, ``w_t = clip(1/delta - (t - 1), 0, 1)``;
    * ``life="expected"``: a geometric lifetime, ``w_t = (1 - delta)^(t - 1)``.

    Profits beyond the given years continue at the last year's level.

    Parameters
    ----------
    profit_by_year : sequence of float
        Profit per customer in tenure year 1, 2, ... (see :func:`profit_path`).
    defection : float or sequence
        Current annual defection rate(s), in (0, 1).
    reduction : float, default 0.05
        Cut in the defection rate (0.05 = 5 points).
    discount_rate : float, default 0.0
        Annual discount rate.
    acquisition_cost : float, default 0.0
        Subtracted once (year 0).
    life : {"average", "expected"}, default "average"

    Returns
    -------
    DataFrame
        Indexed by ``defection``: ``new_defection, average_life, new_average_life,
        value, new_value, uplift_pct``.

    Examples
    --------
    Credit card (:data:`RS_CREDIT_CARD`), undiscounted, 10 % -> 5 % defection:

    >>> cc = RS_CREDIT_CARD
    >>> u = defection_uplift(cc["profit_by_year"], defection=0.10,
    ...                      acquisition_cost=cc["acquisition_cost"])
    >>> u[["value", "new_value", "uplift_pct"]].round(1)
               value  new_value  uplift_pct
    defection
    0.1        444.0      994.0       123.9
    """
    check_one_of("life", life, ["average", "expected"])
    profits = np.asarray(profit_by_year, float)
    if profits.ndim != 1 or len(profits) == 0 or not np.isfinite(profits).all():
        raise ClvError("`profit_by_year` must be a non-empty sequence of finite numbers")
    d = np.atleast_1d(np.asarray(defection, float))
    new = d - reduction
    if np.any(d >= 1) or np.any(new <= 0):
        raise ClvError(f"defection rates {list(d)} minus reduction {reduction} must stay in "
                       "(0, 1): zero defection means an infinite customer life")
    check_nonnegative("discount_rate", discount_rate)
    kw = dict(discount_rate=float(discount_rate), life=life,
              acquisition_cost=float(acquisition_cost))
    before = _customer_npv(profits, d, **kw)
    after = _customer_npv(profits, new, **kw)
    return pd.DataFrame({"new_defection": new, "average_life": 1 / d, "new_average_life": 1 / new,
                         "value": before, "new_value": after,
                         "uplift_pct": 100 * (after - before) / np.abs(before)},
                        index=pd.Index(d, name="defection"))


# --------------------------------------------------------------------------- channels

def _per_customer_margin(customers: pd.DataFrame, margin) -> np.ndarray:
    if margin is None:
        if "margin" not in customers:
            raise DataValidationError("give `margin=` or a 'margin' column in customers")
        return customers["margin"].to_numpy(float)
    if isinstance(margin, pd.Series):
        return margin.reindex(customers.index).to_numpy(float)
    return np.full(len(customers), float(margin))


def cumulative_margin(customers: pd.DataFrame, transactions: pd.DataFrame, *,
                      observation_end=None, by: str = "channel", margin=None,
                      cost_per_order: float = 0.0, time_unit: str = "M",
                      max_age: int | None = None) -> pd.DataFrame:
    """Average cumulative gross profit per acquired customer by age, per group.

    For each age ``k`` (whole ``time_unit`` periods since acquisition, 0 = the
    first period) the average is taken over the customers **observed for at
    least k + 1 periods** (acquired at least k + 1 periods before
    ``observation_end``), so later cohorts do not drag the curve down (no
    censoring bias). Gross profit = margin x net amount (returns, as negative
    amounts, are netted) - ``cost_per_order`` per order.

    Parameters
    ----------
    customers : DataFrame
        Indexed by ``customer_id`` with ``acquisition_date``, the ``by`` column
        and optionally ``margin``.
    transactions : DataFrame
        Canonical transactions (returns as negative amounts are netted).
    observation_end : date-like, optional
        End of observation (default: day after the last transaction).
    by : str, default "channel"
    margin : float or Series, optional
        Gross margin rate; default ``customers["margin"]``.
    cost_per_order : float, default 0
    time_unit : {"D", "W", "M", "Y"}, default "M"
    max_age : int, optional
        Last age to report (default: the longest observed).

    Returns
    -------
    DataFrame
        Long format: ``by, age, customers_observed, cumulative_margin``;
        ``attrs["time_unit"]``.

    Examples
    --------
    >>> cust = pd.DataFrame({"acquisition_date": pd.to_datetime(["2024-01-01", "2024-01-01"]),
    ...                      "channel": ["a", "a"], "margin": [0.5, 0.5]},
    ...                     index=pd.Index([1, 2], name="customer_id"))
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 1],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-15"]),
    ...                    "amount": [100.0, 40.0, 60.0]})
    >>> cumulative_margin(cust, tx, observation_end="2024-03-02")
      channel  age  customers_observed  cumulative_margin
    0       a    0                   2               35.0
    1       a    1                   2               50.0
    """
    check_one_of("time_unit", time_unit, TIME_UNITS)
    check_nonnegative("cost_per_order", cost_per_order)
    for col in ("acquisition_date", by):
        if col not in customers:
            raise DataValidationError(f"customers lack column {col!r}")
    if len(customers) == 0:
        raise DataValidationError("customers is empty: no cohort to follow")
    transactions = check_transactions(transactions)
    end = (transactions[C.DATE].max().normalize() + pd.Timedelta(days=1)
           if observation_end is None else pd.Timestamp(observation_end))
    acq = customers["acquisition_date"]
    exposure = np.floor(to_units(end - acq, time_unit=time_unit).to_numpy()).astype(np.int64)
    pos = id_positions(customers.index, transactions[C.CUSTOMER_ID])
    if (pos < 0).any():
        raise DataValidationError("transactions of customers missing from `customers`: "
                                  f"{example_rows(transactions.index[pos < 0])}")
    m = _per_customer_margin(customers, margin)
    amount = transactions[C.AMOUNT].to_numpy(float)
    profit = m[pos] * amount
    if cost_per_order:
        first_line = ~pd.Series(order_keys(transactions)).duplicated().to_numpy()
        profit = profit - cost_per_order * (first_line & (amount > 0))
    age = np.floor(to_units(transactions[C.DATE].to_numpy() - acq.to_numpy()[pos],
                            time_unit=time_unit)).astype(np.int64)
    n_age = int(max(exposure.max(), 1)) if max_age is None else int(max_age) + 1
    keep = (age >= 0) & (age < n_age)
    grid = np.bincount(pos[keep] * n_age + age[keep], weights=profit[keep],
                       minlength=len(customers) * n_age).reshape(len(customers), n_age)
    cum = np.cumsum(grid, axis=1)
    observed = exposure[:, None] >= (np.arange(n_age) + 1)[None, :]
    groups = customers[by].astype(str).to_numpy()
    frames = []
    for g in sorted(set(groups)):  # loop over groups (a handful), not customers
        rows = groups == g
        n_obs = observed[rows].sum(axis=0)
        total = np.where(observed[rows], cum[rows], 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = total / n_obs
        frames.append(pd.DataFrame({by: g, "age": np.arange(n_age), "customers_observed": n_obs,
                                    "cumulative_margin": avg})[n_obs > 0])
    out = pd.concat(frames, ignore_index=True)
    out.attrs["time_unit"] = time_unit
    return out


def ltv_cac_by_channel(customers: pd.DataFrame, transactions: pd.DataFrame, *,
                       horizon: int = 12, observation_end=None, margin=None,
                       cost_per_order: float = 0.0, time_unit: str = "M") -> pd.DataFrame:
    """Observed LTV:CAC and CAC payback per acquisition channel.

    LTV is the average cumulative gross profit per acquired customer after
    ``horizon`` periods (:func:`cumulative_margin`, customers observed at least
    that long); LTV:CAC uses :func:`clvkit.formulas.ltv_cac_ratio`. The payback
    period is the first age at which the average cumulative margin covers the
    average CAC (ages counted from 1 = end of the first period); ``inf`` when it
    does not within the observed ages.

    Parameters
    ----------
    customers : DataFrame
        Indexed by ``customer_id`` with ``channel``, ``acquisition_date``, ``cac``
        (and ``margin`` unless given).
    transactions : DataFrame
    horizon : int, default 12
        LTV horizon in ``time_unit``.
    observation_end, margin, cost_per_order, time_unit
        See :func:`cumulative_margin`.

    Returns
    -------
    DataFrame
        Indexed by ``channel``: ``customers, cac, customers_observed, ltv,
        ltv_cac, payback_periods``; ``attrs`` has ``horizon`` and ``time_unit``.

    Examples
    --------
    >>> from clvkit.synthetic import generate_crm
    >>> crm = generate_crm(n_customers=2_000, months=18, seed=5)
    >>> t = ltv_cac_by_channel(crm.customers, crm.transactions, horizon=6)
    >>> t.columns.tolist()
    ['customers', 'cac', 'customers_observed', 'ltv', 'ltv_cac', 'payback_periods']
    """
    check_positive("horizon", horizon)
    if "cac" not in customers:
        raise DataValidationError("customers need a 'cac' column (acquisition cost)")
    curve = cumulative_margin(customers, transactions, observation_end=observation_end,
                              by="channel", margin=margin, cost_per_order=cost_per_order,
                              time_unit=time_unit)
    cac = customers.groupby(customers["channel"].astype(str))["cac"].agg(["size", "mean"])
    at = curve[curve["age"] == int(horizon) - 1].set_index("channel")
    out = pd.DataFrame({"customers": cac["size"], "cac": cac["mean"]})
    out["customers_observed"] = at["customers_observed"].reindex(out.index).fillna(0).astype(
        np.int64)
    out["ltv"] = at["cumulative_margin"].reindex(out.index)
    out["ltv_cac"] = [ltv_cac_ratio(v, c) if c > 0 else np.inf
                      for v, c in zip(out["ltv"], out["cac"], strict=True)]
    curve = curve.join(out["cac"], on="channel")
    paid = curve[curve["cumulative_margin"] >= curve["cac"]]
    out["payback_periods"] = (paid.groupby("channel")["age"].min() + 1).reindex(
        out.index).astype(float).fillna(np.inf)
    out.index.name = "channel"
    out.attrs.update(horizon=int(horizon), time_unit=time_unit)
    return out


# --------------------------------------------------------------------------- budget shift

@dataclass(frozen=True)
class BudgetShift:
    """Result of :func:`budget_shift`.

    Attributes
    ----------
    monthly : DataFrame
        One row per (scenario, month): ``new_customers, churned, customers,
        retention_spend_per_customer, churn_rate, revenue, gross_profit,
        marketing_spend, cumulative_revenue``.
    summary : DataFrame
        One row per scenario (``"current"``, ``"shifted"``) after the last month:
        ``customers, cumulative_revenue, cumulative_profit, churn_rate, clv,
        base_value`` and the differences (``"change"`` row).
    """

    monthly: pd.DataFrame
    summary: pd.DataFrame


def _simulate(*, months, initial, acq_budget, ret_budget, cac, churn, halve, revenue, margin,
              discount_rate):
    rows = []
    customers = float(initial)
    cum_rev = cum_profit = 0.0
    for month in range(1, months + 1):  # months, not customers: a difference equation
        spend_pc = ret_budget / customers if customers > 0 else 0.0
        rate = churn * 0.5 ** (spend_pc / halve) if halve > 0 else churn
        churned = customers * rate
        new = acq_budget / cac
        customers = customers - churned + new
        rev = customers * revenue
        profit = rev * margin - acq_budget - ret_budget
        cum_rev += rev
        cum_profit += profit
        rows.append((month, new, churned, customers, spend_pc, rate, rev, profit,
                     acq_budget + ret_budget, cum_rev, cum_profit))
    frame = pd.DataFrame(rows, columns=["month", "new_customers", "churned", "customers",
                                        "retention_spend_per_customer", "churn_rate", "revenue",
                                        "gross_profit", "marketing_spend", "cumulative_revenue",
                                        "cumulative_profit"])
    clv = retention_clv(revenue * margin, retention=1 - frame["churn_rate"].iloc[-1],
                        discount_rate=discount_rate)
    return frame, clv


def budget_shift(*, acquisition_budget: float, retention_budget: float, shift: float,
                 cac: float, churn_rate: float, revenue_per_customer: float, margin: float,
                 spend_to_halve_churn: float, months: int = 12, initial_customers: float = 0.0,
                 discount_rate: float = 0.01) -> BudgetShift:
    """Move ``shift`` per month from acquisition to retention; compare after ``months``.

    A deterministic monthly model (expected values, no randomness):

    * new customers per month = acquisition budget / ``cac``;
    * churn per month = ``churn_rate * 0.5 ** (s / spend_to_halve_churn)`` with
      ``s`` = retention budget / active customers at the start of the month
      (diminishing returns: every ``spend_to_halve_churn`` per customer halves
      churn again);
    * customers(t) = customers(t-1) x (1 - churn) + new customers; revenue =
      customers(t) x ``revenue_per_customer``; gross profit = revenue x margin -
      marketing spend;
    * CLV after the last month = :func:`clvkit.formulas.retention_clv` of the
      monthly margin at the final retention (1 - churn) and ``discount_rate``;
      customer-base value = customers x CLV.

    Parameters
    ----------
    acquisition_budget, retention_budget : float
        Current monthly budgets.
    shift : float
        Monthly amount moved from acquisition to retention (negative: the
        other way); at most the budget it is taken from.
    cac : float
        Cost to acquire one customer.
    churn_rate : float
        Monthly churn without retention spend, in [0, 1).
    revenue_per_customer : float
        Monthly revenue per active customer.
    margin : float
        Gross margin rate.
    spend_to_halve_churn : float
        Retention spend per customer per month that halves churn (> 0).
    months : int, default 12
    initial_customers : float, default 0
    discount_rate : float, default 0.01
        Monthly discount rate for the CLV.

    Returns
    -------
    BudgetShift

    Examples
    --------
    >>> r = budget_shift(acquisition_budget=10_000, retention_budget=2_000, shift=3_000,
    ...                  cac=50, churn_rate=0.08, revenue_per_customer=40, margin=0.3,
    ...                  spend_to_halve_churn=2.0, months=12, initial_customers=5_000)
    >>> r.summary[["customers", "cumulative_revenue"]].round(0)
              customers  cumulative_revenue
    current      3824.0           2048663.0
    shifted      3845.0           2057439.0
    change         22.0              8776.0
    """
    for name, value in (("acquisition_budget", acquisition_budget),
                        ("retention_budget", retention_budget),
                        ("initial_customers", initial_customers),
                        ("revenue_per_customer", revenue_per_customer)):
        check_nonnegative(name, value)
    check_positive("cac", cac)
    check_positive("spend_to_halve_churn", spend_to_halve_churn)
    check_probability("churn_rate", churn_rate)
    check_probability("margin", margin, upper_open=False)
    check_nonnegative("discount_rate", discount_rate)
    if int(months) != months or months < 1:
        raise ClvError(f"`months` must be a whole number >= 1, got {months!r}")
    if shift > acquisition_budget or -shift > retention_budget:
        raise ClvError(f"`shift` {shift} exceeds the budget it is taken from (acquisition "
                       f"{acquisition_budget}, retention {retention_budget})")
    common = dict(months=int(months), initial=initial_customers, cac=float(cac),
                  churn=float(churn_rate), halve=float(spend_to_halve_churn),
                  revenue=float(revenue_per_customer), margin=float(margin),
                  discount_rate=float(discount_rate))
    frames, summary = [], {}
    for name, acq, ret in (("current", acquisition_budget, retention_budget),
                           ("shifted", acquisition_budget - shift, retention_budget + shift)):
        frame, clv = _simulate(acq_budget=float(acq), ret_budget=float(ret), **common)
        last = frame.iloc[-1]
        summary[name] = {"customers": last["customers"],
                         "cumulative_revenue": last["cumulative_revenue"],
                         "cumulative_profit": last["cumulative_profit"],
                         "churn_rate": last["churn_rate"], "clv": clv,
                         "base_value": last["customers"] * clv}
        frames.append(frame.assign(scenario=name))
    table = pd.DataFrame(summary).T
    table.loc["change"] = table.loc["shifted"] - table.loc["current"]
    monthly = pd.concat(frames, ignore_index=True).set_index(["scenario", "month"])
    return BudgetShift(monthly=monthly, summary=table)
