"""Predictions section: which purchase model fits, forecasts with ranges, customers at risk.

The page compares BG/NBD, MBG/NBD and Pareto/NBD on a holdout period
(`clvkit.models.predict_with_best_model`), says which model is used and why, and:

* when one fits, shows the 12-month predictive CLV of the existing customers (revenue and
  gross margin, discounted) and next month's expected purchases, each with its 95%
  interval, and the valuable customers the model thinks are leaving;
* when every model is degenerate (they all see no dropout, as on Online Retail), states that
  no purchase model fits these data, publishes **no** predicted CLV, and shows a rule-based
  view instead: valuable repeat customers past twice their usual gap between purchases.

The holdout is the last third of the months of data up to the report month (1 to 6
months); the models are then refitted on all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import columns as C
from ...errors import ClvError
from ...metrics import metric
from ..data import ReportData
from ._common import (
    SectionPage,
    _axes,
    _fmt,
    _margin_phrase,
    _margin_rate,
    _month_end,
    _monthly_discount,
    _options,
    _palette,
    _text,
    _upto,
    section_page,
)

#: CLV horizon of the page, in months, and the window of "expected purchases next month".
HORIZON_MONTHS = 12
#: Holdout length: a third of the months of data, between these bounds.
MIN_HOLDOUT_MONTHS, MAX_HOLDOUT_MONTHS = 1, 6
#: A repeat customer is overdue past this many times their usual gap between purchases.
OVERDUE_FACTOR = 2.0
#: Top share of customers by revenue to date that counts as valuable.
TOP_SHARE = 0.2


@dataclass(frozen=True)
class Forecast:
    """What the predictions page shows, computed once (frozen).

    Attributes
    ----------
    result : ModelPredictions or None
        The model layer's result (comparison, choice, predictions); None when the data are
        too short for a holdout or the models cannot be fitted at all.
    customers : DataFrame
        One row per customer seen up to the month end: ``frequency``, ``recency``, ``T``,
        ``monetary_value``, ``revenue_to_date``, ``since_last``, ``usual_gap`` (repeat
        customers; NaN otherwise), ``overdue`` (``since_last`` > 2 x ``usual_gap``) and, when
        a model fits, its predictions with ``_lower``/``_upper`` bounds.
    holdout_months : int
        Length of the holdout period (0 when there is none).
    calibration_end : Timestamp or None
        Last calibration day.
    time_unit : str
        Unit of ``recency``, ``T``, ``since_last`` and ``usual_gap``.
    note : str
        Why no model was compared (empty when they were).
    """

    result: object
    customers: pd.DataFrame
    holdout_months: int
    calibration_end: pd.Timestamp | None
    time_unit: str
    note: str = ""

    @property
    def fits(self) -> bool:
        """True when a purchase model fits and its predictions are published."""
        return self.result is not None and self.result.fits


def _summary(tx: pd.DataFrame, *, end: pd.Timestamp, time_unit: str, engine: str,
             calibration_end: pd.Timestamp | None = None) -> pd.DataFrame:
    from ...summary import rfm_summary

    if engine == "pandas":
        return rfm_summary(tx, observation_end=end, time_unit=time_unit,
                           calibration_end=calibration_end)
    from ...engines import rfm_summary_engine  # the same summary computed by SQL

    return rfm_summary_engine(tx[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]], engine=engine,
                              observation_end=end, time_unit=time_unit,
                              calibration_end=calibration_end)


def holdout_months(first: pd.Timestamp, month: str) -> int:
    """Months of holdout for data starting at ``first``: a third of the span, 1 to 6 (0: none).

    Examples
    --------
    >>> holdout_months(pd.Timestamp("2010-12-01"), "2011-11")  # 12 months of data
    4
    >>> holdout_months(pd.Timestamp("2024-04-03"), "2024-04")  # one month: no holdout
    0
    """
    span = (pd.Period(month, "M") - pd.Period(first, "M")).n + 1
    if span < 2:
        return 0
    return int(np.clip(span // 3, MIN_HOLDOUT_MONTHS, MAX_HOLDOUT_MONTHS))


def forecast(data: ReportData, *, month: str, time_unit: str = "W",
             options: dict | None = None) -> Forecast:
    """Compare the purchase models on a holdout, refit the best, predict at the month end.

    Returns
    -------
    Forecast
        The model result (or None) and the per-customer table; see `Forecast`.
    """
    from ...models import predict_with_best_model

    options = _options(options)
    tx = _upto(data.transactions, month)
    # the observation ends at midnight after the month's last day: first purchases on that
    # day get an age T of one day rather than zero
    end = _month_end(month) + pd.Timedelta(days=1)
    full = _summary(tx, end=end, time_unit=time_unit, engine=options["engine"])
    customers = full.copy()
    customers["revenue_to_date"] = (tx.groupby(C.CUSTOMER_ID)[C.AMOUNT].sum()
                                    .reindex(customers.index))
    customers["since_last"] = customers["T"] - customers["recency"]
    customers["usual_gap"] = (customers["recency"]
                              / customers["frequency"].where(customers["frequency"] > 0))
    customers["overdue"] = customers["since_last"] > OVERDUE_FACTOR * customers["usual_gap"]
    n_holdout = holdout_months(tx[C.DATE].min(), month) if len(tx) else 0
    base = {"customers": customers, "holdout_months": n_holdout, "time_unit": time_unit}
    if n_holdout == 0:
        return Forecast(result=None, calibration_end=None, **base,
                        note="The data span less than two months: there is no holdout period "
                             "to compare the purchase models on.")
    cal_end = _month_end(str(pd.Period(month, "M") - n_holdout)) + pd.Timedelta(days=1)
    rate = _margin_rate(data, options)
    margin = (rate.reindex(full.index).fillna(options["margin"])
              if isinstance(rate, pd.Series) else float(rate))
    try:
        cal = _summary(tx, end=end, time_unit=time_unit, engine=options["engine"],
                       calibration_end=cal_end)
        result = predict_with_best_model(
            cal, full, margin=margin, horizon=HORIZON_MONTHS, horizon_unit="M",
            discount_rate=_monthly_discount(options), discount_period="M", next_period=1,
            next_period_unit="M", level=0.95, time_unit=time_unit)
    except ClvError as exc:  # e.g. nobody bought twice in the calibration period
        return Forecast(result=None, calibration_end=cal_end, **base,
                        note=f"The purchase models cannot be fitted to these data: {_text(exc)}")
    if result.fits:
        customers = customers.join(result.customers)
    return Forecast(result=result, calibration_end=cal_end,
                    **{**base, "customers": customers})


# ---------------------------------------------------------------------------------------------
# text and tables


def _range(estimate: float, lower: float, upper: float, kind: str, currency: str,
           what: str = "") -> str:
    """``"£1.2m of revenue (95% interval £1.1m–£1.3m)"``-style text."""
    return (f"{_fmt(estimate, kind, currency)}{what} (95% interval "
            f"{_fmt(lower, kind, currency)}–{_fmt(upper, kind, currency)})")


def comparison_display(fc: Forecast) -> pd.DataFrame | None:
    """The model comparison as shown: fit on the calibration period, error on the holdout."""
    if fc.result is None:
        return None
    t = fc.result.comparison
    t = t[t["kind"] == "purchases"]
    out = pd.DataFrame({
        "log-likelihood": t["log_likelihood"].round(1),
        "AIC": t["aic"].round(1), "BIC": t["bic"].round(1),
        "χ² (p)": [("n/a" if not np.isfinite(c) else f"{c:.1f} (p n/a)" if not np.isfinite(p)
                    else f"{c:.1f} ({p:.3f})")
                   for c, p in zip(t["chi2"].astype(float), t["chi2_p"].astype(float),
                                   strict=True)],
        "holdout MAE": [f"{v:.3f}" if np.isfinite(v) else "n/a"
                        for v in t["holdout_mae"].astype(float)],
        "holdout RMSE": [f"{v:.3f}" if np.isfinite(v) else "n/a"
                         for v in t["holdout_rmse"].astype(float)],
        "degenerate": np.where(t["degenerate"], "yes", "no"),
        "used": ["yes" if m == fc.result.model else "" for m in t.index],
    }, index=t.index)
    return out


def predictions_text(fc: Forecast, data: ReportData, *, month: str, currency: str) -> str:
    """Which model is used and why (or why none), and the headline forecasts with ranges."""
    period = pd.Period(month, "M")
    if fc.result is None:
        return (f"{fc.note}\n\nNo predicted CLV is published for {period:%B %Y}; the table "
                "below is a rule-based view of the customers who may be leaving.")
    r = fc.result
    first = (f"The purchase models were fitted on the purchases up to "
             f"{fc.calibration_end - pd.Timedelta(days=1):%d %B %Y} and scored on the "
             f"following {fc.holdout_months} month{'s' if fc.holdout_months > 1 else ''} "
             "(holdout); degenerate fits are rejected.")
    if not r.fits:
        return (f"{first}\n\n**No purchase model fits these data**: every candidate is "
                "degenerate, so any CLV or P(alive) it gave would be an artefact of the fit, "
                "not a forecast.\n\n"
                + "\n".join(f"- {m}: {why}." for m, why in r.rejected.items())
                + f"\n\nNo predicted CLV is published for {period:%B %Y}; the table below is "
                "a rule-based view of the customers who may be leaving.")
    t = r.totals
    nxt = period + 1
    tx = data.transactions
    now = tx.loc[tx[C.DATE].dt.to_period("M") == period]
    actual_now = now.groupby([C.CUSTOMER_ID, now[C.DATE].dt.normalize()]).ngroups
    text = (f"{first}\n\n{r.reason}\n\n"
            f"The {r.model} model expects "
            + _range(*t.loc["purchases_next", ["estimate", "lower", "upper"]], "count", currency,
                     " purchase days")
            + f" from the {len(fc.customers):,} existing customers in "
            f"{nxt:%B %Y}, against {actual_now:,} in {period:%B %Y} (new customers come on "
            "top); it expects "
            + _range(*t.loc["alive", ["estimate", "lower", "upper"]], "count", currency,
                     " of them")
            + " to still be active.")
    if r.has_clv:
        text += (f"\n\n**{HORIZON_MONTHS}-month value** of the existing customers (predictive "
                 "CLV, discounted): "
                 + _range(*t.loc["clv_revenue", ["estimate", "lower", "upper"]], "currency",
                          currency, " of revenue")
                 + ", "
                 + _range(*t.loc["clv_margin", ["estimate", "lower", "upper"]], "currency",
                          currency, " of gross margin")
                 + ".")
    text += "".join(f"\n\n{n}" for n in r.notes)
    return text


def assumptions_text(fc: Forecast, data: ReportData, options: dict) -> str:
    """What the predicted figures mean: the metric's definition, horizon, margin, discount."""
    options = _options(options)
    m = metric("predicted_clv")
    margin = _margin_phrase(data, options)
    if fc.fits:
        lead = (f"**Predictive CLV** (`{m.name}`): {m.definition} Here the purchase model is "
                f"{fc.result.model} and the spend model Gamma-Gamma.")
    else:
        lead = (f"**Predictive CLV** (`{m.name}`) is not published on this page, because no "
                f"purchase model fits: {m.definition}")
    return (f"{lead} Horizon "
            f"{HORIZON_MONTHS} months in monthly steps; revenue is what customers are expected "
            f"to pay, gross margin assumes {margin}; discounted at "
            f"{_fmt(options['annual_discount_rate'], 'percent')} a year "
            f"({_fmt(_monthly_discount(options), 'percent', decimals=2)} a month). The 95% "
            "intervals cover the uncertainty of the models' parameters (delta method), not the "
            "chance variation of what customers will actually buy.")


def at_risk_customers(fc: Forecast, *, n: int = 10, threshold: float = 0.5) -> pd.DataFrame:
    """Valuable customers (top 20% by revenue to date) who may be leaving.

    With a fitting model: P(alive) < ``threshold``. Without one, or when the model puts no
    valuable customer below the threshold: the valuable repeat customers who are *overdue*
    (time since the last purchase more than twice their usual gap). ``attrs["rule"]`` says
    which rule selected the rows. Sorted by revenue to date, top ``n``.
    """
    c = fc.customers
    valuable = c.loc[c["revenue_to_date"] >= c["revenue_to_date"].quantile(1 - TOP_SHARE)]
    rule = "overdue"
    risky = valuable.iloc[:0]
    if fc.fits:
        risky = valuable.loc[valuable["p_alive"] < threshold]
        rule = "p_alive"
    if risky.empty:
        risky = valuable.loc[valuable["overdue"]]
        rule = "overdue"
    out = risky.sort_values("revenue_to_date", ascending=False, kind="mergesort").head(n)
    out.attrs.update(rule=rule, threshold=threshold, n_candidates=len(risky),
                     n_overdue=int(c["overdue"].sum()), time_unit=fc.time_unit,
                     model=fc.result.model if fc.fits else None)
    return out


def at_risk_text(risky: pd.DataFrame, *, currency: str, customers: pd.DataFrame) -> str:
    """Which rule selected the customers at risk, and how many there are."""
    from ...units import unit_name

    unit = unit_name(risky.attrs.get("time_unit", "W"))
    if risky.attrs.get("rule") == "p_alive":
        return (f"{risky.attrs['n_candidates']:,} valuable customers (top 20% by revenue to "
                f"date) have a probability below {risky.attrs['threshold']:.0%} of still being "
                f"active according to {risky.attrs['model']}; the most valuable of them, with "
                f"95% intervals (times in {unit}):")
    overdue = customers.loc[customers["overdue"]]
    share = overdue["revenue_to_date"].sum() / customers["revenue_to_date"].sum()
    lead = ("No valuable customer has a P(alive) below "
            f"{risky.attrs['threshold']:.0%}, so the list uses a rule instead: "
            if risky.attrs.get("model") else "Rule-based view (no model): ")
    return (f"{lead}{len(overdue):,} repeat customers are *overdue*: the time since their last "
            f"purchase is more than {OVERDUE_FACTOR:g} times their usual gap between purchases"
            f" (their revenue to date: {_fmt(share, 'percent', currency)} of the total). The "
            f"most valuable of them among the top 20% by revenue (times in {unit}):")


def at_risk_display(risky: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted at-risk table: with the model's predictions and ranges where there are any."""
    out = pd.DataFrame({
        "revenue to date": [_fmt(v, "currency", currency) for v in risky["revenue_to_date"]],
        "since last purchase": risky["since_last"].round(1),
        "usual gap": risky["usual_gap"].round(1),
    }, index=risky.index)
    if "p_alive" in risky:
        out["P(alive)"] = [f"{_fmt(v, 'percent')} ({_fmt(lo, 'percent')}–{_fmt(hi, 'percent')})"
                           for v, lo, hi in risky[["p_alive", "p_alive_lower",
                                                   "p_alive_upper"]].to_numpy()]
        out["purchases next month"] = [f"{v:.2f} ({lo:.2f}–{hi:.2f})" for v, lo, hi in
                                       risky[["purchases_next", "purchases_next_lower",
                                              "purchases_next_upper"]].to_numpy()]
    for basis in ("revenue", "margin"):
        col = f"clv_{basis}"
        if col in risky:
            out[f"{HORIZON_MONTHS}-month CLV ({basis})"] = [
                f"{_fmt(v, 'currency', currency)} ({_fmt(lo, 'currency', currency)}–"
                f"{_fmt(hi, 'currency', currency)})"
                for v, lo, hi in risky[[col, f"{col}_lower", f"{col}_upper"]].to_numpy()]
    return out


def plot_forecast(fc: Forecast, *, ax=None):
    """P(alive) across customers (a model fits), else time since last purchase / usual gap."""
    ax = _axes(ax)
    if fc.fits:
        ax.hist(fc.customers["p_alive"], bins=np.linspace(0, 1, 21), color=_palette()[0])
        ax.set_xlabel("P(alive) at the end of the month")
        ax.set_title(f"How likely are customers to still be active? ({fc.result.model})")
    else:
        ratio = (fc.customers["since_last"] / fc.customers["usual_gap"]).dropna()
        ax.hist(ratio.clip(upper=10), bins=np.linspace(0, 10, 41), color=_palette()[0])
        ax.axvline(OVERDUE_FACTOR, color=_palette()[3], linestyle="--")
        ax.set_xlabel("Time since last purchase / usual gap between purchases (capped at 10)")
        ax.set_title(f"Repeat customers past the dashed line ({OVERDUE_FACTOR:g}x) are overdue")
    ax.set_ylabel("Customers")
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str, time_unit: str = "W",
          options: dict | None = None) -> SectionPage:
    """The predictions page: model comparison and choice, forecasts with ranges, at-risk list.

    Returns a :class:`~clvkit.report.sections._common.SectionPage` with texts ``summary``,
    ``assumptions`` and ``at_risk``, tables ``comparison`` (None without a holdout) and
    ``at_risk``, and figure ``forecast``.
    """
    options = _options(options)
    fc = forecast(data, month=month, time_unit=time_unit, options=options)
    risky = at_risk_customers(fc, n=options["top_n"], threshold=options["at_risk_threshold"])
    return section_page(
        "predictions", title=title, month=month,
        text={"summary": predictions_text(fc, data, month=month, currency=currency),
              "assumptions": assumptions_text(fc, data, options),
              "at_risk": at_risk_text(risky, currency=currency, customers=fc.customers)},
        tables={"comparison": comparison_display(fc),
                "at_risk": at_risk_display(risky, currency=currency)},
        figures={"forecast": plot_forecast(fc)})
