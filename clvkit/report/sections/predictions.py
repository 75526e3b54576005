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

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import ClvError
from ...metrics import metric
from ..data import ReportData
from ..month import observation_end, observation_stop, observed_upto
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
    section_page,
)

#: CLV horizon of the page, in months, and the window of "expected purchases next month".
HORIZON_MONTHS = 12
#: Holdout length: a third of the months of data, between these bounds.
MIN_HOLDOUT_MONTHS, MAX_HOLDOUT_MONTHS = 1, 6
_EPOCH = pd.Timestamp("1970-01-01")
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
        One row per customer seen up to the observation end: ``frequency``, ``recency``, ``T``,
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
    subscription : SubscriptionEvidence or None
        How many customers pay monthly (`clvkit.models.subscriptions`); when the data are
        subscriptions the contractual sBG model is used.
    observation_end : Timestamp or None
        Last day observed (customer ages ``T`` run to midnight after it): the month's
        last day, or the extract date of a month in progress.
    """

    result: object
    customers: pd.DataFrame
    holdout_months: int
    calibration_end: pd.Timestamp | None
    time_unit: str
    note: str = ""
    subscription: object = None
    observation_end: pd.Timestamp | None = None

    @property
    def fits(self) -> bool:
        """True when a purchase model fits and its predictions are published."""
        return self.result is not None and self.result.fits


def _observed_activity(data: ReportData, month: str) -> pd.DataFrame:
    """The report tables' activity observed in ``month`` (`clvkit.report.tables.ACTIVITY_SCHEMA`).

    The rows of :func:`clvkit.report.month.observed_upto`: from the engine's tables
    (:func:`clvkit.report.data.report_tables`), or, for a stop inside a month the tables
    have no cut for, from the transactions up to the stop.
    """
    from ..data import report_tables
    from ..tables import pandas_tables

    stop = observation_stop(data, month)
    try:
        return report_tables(data).activity_before(int((stop - _EPOCH).days))
    except ValueError:  # a month in progress without its cut
        return pandas_tables(observed_upto(data.transactions, data, month)).activity


def _calibration_activity(act: pd.DataFrame, cal_end: pd.Timestamp) -> pd.DataFrame:
    """``act`` with each month starting on day ``cal_end`` split at the end of that day.

    The calibration summary counts the purchases of every day up to and including
    ``cal_end`` (:func:`clvkit.summary.rfm_summary`'s ``calibration_end``): a month whose
    first purchase day is ``cal_end`` gives that day (its value is ``first_day_revenue``)
    to the calibration period and its other purchase days to the holdout.
    """
    cal_day = int((cal_end - _EPOCH).days)
    split = ((act["first_day"] == cal_day) & (act["last_day"] > cal_day)).to_numpy()
    if not split.any():
        return act
    rows = act.loc[split]
    first = rows.assign(purchase_days=1, last_day=cal_day, revenue=rows["first_day_revenue"])
    rest = rows.assign(purchase_days=rows["purchase_days"] - 1, first_day=cal_day + 1,
                       revenue=rows["revenue"] - rows["first_day_revenue"],
                       first_day_revenue=np.nan)
    return pd.concat([act.loc[~split], first, rest], ignore_index=True)


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
    from ...models.select import predict_subscriptions, predict_with_best_model
    from ..tables import rfm_from_activity, subscription_evidence_from_activity

    options = _options(options)
    act = _observed_activity(data, month)
    # the observation ends at midnight after the month's last day (the extract date of a
    # month in progress): first purchases on that day get an age T of one day, not zero
    end = observation_stop(data, month)
    full = rfm_from_activity(act, observation_end=end, time_unit=time_unit)
    customers = full.copy()
    customers["revenue_to_date"] = (act.groupby("customer_id")["revenue"].sum()
                                    .reindex(customers.index))
    customers["since_last"] = customers["T"] - customers["recency"]
    customers["usual_gap"] = (customers["recency"]
                              / customers["frequency"].where(customers["frequency"] > 0))
    customers["overdue"] = customers["since_last"] > OVERDUE_FACTOR * customers["usual_gap"]
    first_day = _EPOCH + pd.Timedelta(days=int(act["first_day"].min()))
    n_holdout = holdout_months(first_day, month)
    base = {"customers": customers, "holdout_months": n_holdout, "time_unit": time_unit,
            "observation_end": observation_end(data, month)}
    if n_holdout == 0:
        return Forecast(result=None, calibration_end=None, **base,
                        note="The data span less than two months: there is no holdout period "
                             "to compare the purchase models on.")
    cal_end = _month_end(str(pd.Period(month, "M") - n_holdout)) + pd.Timedelta(days=1)
    rate = _margin_rate(data, options)
    margin = (rate.reindex(full.index).fillna(options["margin"])
              if isinstance(rate, pd.Series) else float(rate))
    evidence = subscription_evidence_from_activity(act)
    base["subscription"] = evidence
    if evidence.is_subscription:  # the contractual model reads the monthly payments
        result = predict_subscriptions(observed_upto(data.transactions, data, month),
                                       month=month, holdout_months=n_holdout,
                                       margin=margin, horizon=HORIZON_MONTHS,
                                       discount_rate=_monthly_discount(options), level=0.95)
        if result.fits:
            customers = customers.join(result.customers)
        return Forecast(result=result, calibration_end=cal_end,
                        **{**base, "customers": customers})
    try:
        cal = rfm_from_activity(_calibration_activity(act, cal_end), observation_end=end,
                                time_unit=time_unit, calibration_end=cal_end)
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
    """``"£1.2m of revenue (95% model range £1.1m–£1.3m)"``-style text."""
    return (f"{_fmt(estimate, kind, currency)}{what} (95% model range "
            f"{_fmt(lower, kind, currency)}–{_fmt(upper, kind, currency)})")


def _headline(total: pd.Series, kind: str, currency: str, what: str) -> str:
    """A total with its prediction range first and the model range beside it."""
    f = lambda v: _fmt(v, kind, currency)  # noqa: E731
    return (f"{f(total['estimate'])}{what} (95% prediction range {f(total['pred_lower'])}–"
            f"{f(total['pred_upper'])}, counting chance in what customers do; model range "
            f"{f(total['lower'])}–{f(total['upper'])})")


#: The candidate purchase models shown on the page, always, in this order.
CANDIDATES = ("BG/NBD", "MBG/NBD", "Pareto/NBD", "NBD", "sBG")


def _plain_reason(reason: str) -> str:
    """A rejection reason in words a manager reads (the technical detail is in the glossary).

    Only the kind of verdict reaches the page, never which parameters ran off or their
    values: on a flat likelihood those depend on rounding, hence on the CPU.

    Examples
    --------
    >>> _plain_reason("degenerate estimate (runs off towards 0 or infinity): r, alpha; "
    ...               "alpha=4.85e+08")
    'sees nobody stop buying (its dropout estimate runs to zero)'
    """
    if ("no dropout" in reason or "runs off" in reason or "optimiser bound" in reason
            or "degenerate" in reason):
        return "sees nobody stop buying (its dropout estimate runs to zero)"
    if "subscriptions" in reason:
        return "the data are subscriptions (the contractual model applies)"
    if "naive baseline" in reason:
        return "predicts the holdout no better than the naive baseline"
    if "not finite" in reason:
        return "its predictions overflow (not a usable fit)"
    return "the fit did not settle on an answer"


def _versus_naive(diff: float, se: float) -> str:
    """``"better (beyond noise)"``-style verdict of a paired difference and its error."""
    if not np.isfinite(diff):
        return "n/a"
    side = "better" if diff < 0 else "worse"
    noise = ("beyond noise" if np.isfinite(se) and abs(diff) > 2 * se
             else "within noise")
    return f"{side} ({diff:+.3f} ± {se:.3f}, {noise})"


def comparison_display(fc: Forecast) -> pd.DataFrame:
    """The candidates table, always shown: every model, its holdout error and its verdict.

    The verdict column carries the same reasons as the page's text (``result.rejected``):
    "used", "rejected: <reason in plain words>", "not needed" (a better model was used),
    or, for the naive baseline, "baseline". Without a comparison (no holdout, or the
    models could not be fitted) every candidate is listed with the reason.
    """
    if fc.result is None:
        why = _text(fc.note) if fc.note else "not compared"
        return pd.DataFrame({"verdict": [f"not compared: {why}"] * len(CANDIDATES)},
                            index=pd.Index(CANDIDATES, name="model"))
    r = fc.result
    t = r.comparison
    t = t[t["kind"] != "spend"]
    verdict = []
    for m in t.index:
        if m == r.model:
            verdict.append("used")
        elif m in r.rejected:
            verdict.append(f"rejected: {_plain_reason(r.rejected[m])}")
        elif t.loc[m, "kind"] == "baseline":
            verdict.append("baseline")
        elif t.loc[m, "kind"] == "no dropout" and r.model is not None:
            verdict.append("not needed: a model with dropout fits")
        elif t.loc[m, "kind"] == "no dropout":
            verdict.append("not used")
        else:
            verdict.append("not used: another model predicts as well or better")
    if "sBG" not in t.index:  # offered to subscription data only: say why not here
        ev = fc.subscription
        share = f"{ev.share:.0%} of" if ev is not None and ev.n_customers else "none of"
        t = pd.concat([t, pd.DataFrame({"kind": ["contractual"]}, index=pd.Index(["sBG"]))])
        verdict.append(f"not used: not subscriptions ({share} the customers with 3+ "
                       "payments pay monthly)")
    return pd.DataFrame({
        "holdout RMSE": [f"{v:.3f}" if np.isfinite(v) else "n/a"
                         for v in t["holdout_rmse"].astype(float)],
        "vs naive baseline": [_versus_naive(d, e) if k != "baseline" else "—"
                              for d, e, k in zip(t["vs_naive"].astype(float),
                                                 t["vs_naive_se"].astype(float), t["kind"],
                                                 strict=True)],
        "log-likelihood": [f"{v:.1f}" if np.isfinite(v) else "—"
                           for v in t["log_likelihood"].astype(float)],
        "BIC": [f"{v:.1f}" if np.isfinite(v) else "—" for v in t["bic"].astype(float)],
        "verdict": verdict,
    }, index=pd.Index(t.index, name="model"))


GLOSSARY = (
    "**Glossary.** *Holdout*: the last months of data, hidden from the models while they are "
    "fitted and then used to check their predictions. *Holdout RMSE*: root mean squared "
    "error of each customer's predicted number of purchases in the holdout (lower is "
    "better). *Naive baseline*: every customer keeps buying at the rate of the months before "
    "the holdout. *vs naive baseline*: the mean difference of the customers' squared errors "
    "(model minus baseline) ± its standard error; *beyond noise* when the difference is more "
    "than twice its standard error. *Log-likelihood*: how probable the model finds the "
    "purchases it was fitted on (higher is better). *BIC* (Bayesian information criterion): "
    "minus twice the log-likelihood plus a penalty for each parameter; among models that "
    "predict the holdout equally well the lowest BIC is used. *Degenerate* (\"sees nobody "
    "stop buying\"): a parameter of the fit runs off to zero or infinity, so the model says "
    "every customer is still active; its P(alive) and CLV would be artefacts of the fit. "
    "*NBD*: the purchase process of the other models without any dropout (Ehrenberg 1959). "
    "*P(alive)*: the probability that a customer still buys. *Prediction range*: where the "
    "actual number is expected to fall (95%), counting both the model's uncertainty and "
    "chance in what customers do; *model range*: the uncertainty of the model's estimate "
    "alone (parameter uncertainty, delta method).")


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
                "degenerate or no better than the naive baseline, so any CLV or P(alive) it "
                "gave would be an artefact of the fit, not a forecast.\n\n"
                + "\n".join(f"- {m} rejected: {_plain_reason(why)}."
                            for m, why in r.rejected.items())
                + f"\n\nNo predicted CLV is published for {period:%B %Y}; the table below is "
                "a rule-based view of the customers who may be leaving.")
    t = r.totals
    nxt = period + 1
    from ..data import report_tables

    act = report_tables(data).activity
    actual_now = int(act.loc[act["period"] == period.ordinal, "purchase_days"].sum())
    alive = (f"it expects {_headline(t.loc['alive'], 'count', currency, ' of them')} to "
             "still be buying" if r.fit.model_name != "NBD" else
             "it assumes that all of them are still buying")
    why = r.reason.split(" Rejected: ")[0]
    if r.rejected:
        why += "\n\n" + "\n".join(f"- {m} rejected: {_plain_reason(w)}."
                                  for m, w in r.rejected.items())
    if r.model == "sBG":
        ev = fc.subscription
        text = (f"{first}\n\n**These data are subscriptions**: {ev.n_monthly:,} of the "
                f"{ev.n_customers:,} customers with three or more payments were charged once "
                "a month, every month, so the contractual model (sBG: each month a "
                "subscriber renews or cancels) replaces the purchase models.\n\n"
                f"{why}\n\nThe sBG model expects "
                + _headline(t.loc["purchases_next"], "count", currency, " renewals")
                + f" in {nxt:%B %Y} from the {t.loc['alive', 'estimate']:,.0f} subscribers "
                f"who paid in {period:%B %Y} (new subscribers come on top).")
    else:
        text = (f"{first}\n\n{why}\n\n"
                f"The {r.model} model expects "
                + _headline(t.loc["purchases_next"], "count", currency, " purchase days")
                + f" from the {len(fc.customers):,} existing customers in "
                f"{nxt:%B %Y}, against {actual_now:,} in {period:%B %Y} (new customers "
                f"come on top); {alive}.")
    if r.has_clv:
        value = []
        for row, what in (("clv_revenue", " of revenue"), ("clv_margin", " of gross margin")):
            total = t.loc[row]
            value.append(_headline(total, "currency", currency, what)
                         if np.isfinite(total.get("pred_lower", np.nan))
                         else _range(*total[["estimate", "lower", "upper"]], "currency",
                                     currency, what))
        text += (f"\n\n**{HORIZON_MONTHS}-month value** of the existing customers (predictive "
                 f"CLV, discounted): {value[0]}; {value[1]}."
                 + (f" Value per purchase: {_fmt(r.spend_mean, 'currency', currency)}, the "
                    "sample mean spend per purchase, for every customer (no spend model)."
                    if r.spend_model == "sample mean" else ""))
    text += "".join(f"\n\n{n}" for n in r.notes)
    return text


def _spend_phrase(r, currency: str) -> str:
    """What the value per purchase of the CLV comes from, as the model layer used it."""
    if r.spend_model == "Gamma-Gamma":
        return "the spend model Gamma-Gamma"
    if r.spend_model == "sample mean":
        return ("no spend model: the Gamma-Gamma spend model is degenerate on these data "
                "(spend per purchase hardly differs between customers beyond chance), so "
                "each customer's value per purchase is the sample mean spend per purchase, "
                f"{_fmt(r.spend_mean, 'currency', currency)}, the same for every customer")
    return "no spend model could be used, so no CLV is predicted"


def assumptions_text(fc: Forecast, data: ReportData, options: dict, *,
                     currency: str = "") -> str:
    """What the predicted figures mean: the metric's definition, horizon, margin, discount."""
    options = _options(options)
    m = metric("predicted_clv")
    margin = _margin_phrase(data, options)
    if fc.fits:
        lead = (f"**Predictive CLV** (`{m.name}`): {m.definition} Here the purchase model is "
                f"{fc.result.model} and " + _spend_phrase(fc.result, currency) + ".")
        if fc.result.model == "sBG":
            lead = (f"**Predictive CLV** (`{m.name}`) of a subscriber: their monthly charge "
                    "(their median month) times the discounted payments the contractual sBG "
                    "model expects in the next 12 months (no spend model is needed).")
        elif fc.result.fit.model_name == "NBD":
            lead += (" NBD has no dropout: it assumes every customer keeps buying at their "
                     "own rate through the horizon, so over 12 months it is an upper "
                     "estimate if some customers do leave.")
    else:
        lead = (f"**Predictive CLV** (`{m.name}`) is not published on this page, because no "
                f"purchase model fits: {m.definition}")
    return (f"{lead} Horizon "
            f"{HORIZON_MONTHS} months in monthly steps; revenue is what customers are expected "
            f"to pay, gross margin assumes {margin}; discounted at "
            f"{_fmt(options['annual_discount_rate'], 'percent')} a year "
            f"({_fmt(_monthly_discount(options), 'percent', decimals=2)} a month). "
            "A 95% *prediction range* covers both the uncertainty of the model's "
            "parameters and the chance variation of what customers actually do; a *model "
            "range* covers the parameters' uncertainty alone (delta method), so it is "
            "narrower.\n\n" + GLOSSARY)


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
    if risky.attrs.get("rule") == "p_alive" and risky.attrs.get("model") == "sBG":
        return (f"{risky.attrs['n_candidates']:,} valuable customers (top 20% by revenue to "
                "date) have stopped paying their subscription (no payment in the report "
                "month); the most valuable of them:")
    if risky.attrs.get("rule") == "p_alive":
        return (f"{risky.attrs['n_candidates']:,} valuable customers (top 20% by revenue to "
                f"date) have a probability below {risky.attrs['threshold']:.0%} of still being "
                f"active according to {risky.attrs['model']}; the most valuable of them, with "
                f"95% model ranges (times in {unit}):")
    overdue = customers.loc[customers["overdue"]]
    share = overdue["revenue_to_date"].sum() / customers["revenue_to_date"].sum()
    model = risky.attrs.get("model")
    lead = ("NBD assumes that every customer keeps buying, so the list uses a rule instead: "
            if model == "NBD" else "No valuable customer has a P(alive) below "
            f"{risky.attrs['threshold']:.0%}, so the list uses a rule instead: "
            if model else "Rule-based view (no model): ")
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
    if "p_alive" in risky and risky.attrs.get("model") != "NBD":  # NBD: P(alive) is 1
        out["P(alive) (model range)"] = [
            f"{_fmt(v, 'percent')} ({_fmt(lo, 'percent')}–{_fmt(hi, 'percent')})"
            for v, lo, hi in risky[["p_alive", "p_alive_lower", "p_alive_upper"]].to_numpy()]
    if "purchases_next" in risky:
        out["expected purchases next month (model range)"] = [
            f"{v:.2f} ({lo:.2f}–{hi:.2f})" for v, lo, hi in
            risky[["purchases_next", "purchases_next_lower", "purchases_next_upper"]].to_numpy()]
    for basis in ("revenue", "margin"):
        col = f"clv_{basis}"
        if col in risky:
            out[f"{HORIZON_MONTHS}-month CLV ({basis}, model range)"] = [
                f"{_fmt(v, 'currency', currency)} ({_fmt(lo, 'currency', currency)}–"
                f"{_fmt(hi, 'currency', currency)})"
                for v, lo, hi in risky[[col, f"{col}_lower", f"{col}_upper"]].to_numpy()]
    return out


def plot_forecast(fc: Forecast, *, ax=None):
    """P(alive) across customers (a model fits), else time since last purchase / usual gap."""
    ax = _axes(ax)
    model = fc.result.model if fc.fits else None
    if model == "sBG":
        paying = fc.customers.loc[fc.customers["p_alive"] == 1, "purchases_next"]
        ax.hist(paying, bins=np.linspace(0, 1, 41), color=_palette()[0])
        ax.set_xlabel("Probability of paying next month (paying subscribers)")
        ax.set_title("How likely are subscribers to renew? (sBG)")
    elif model is not None and model != "NBD":  # NBD: everyone is active
        ax.hist(fc.customers["p_alive"], bins=np.linspace(0, 1, 21), color=_palette()[0])
        stop = fc.observation_end
        ax.set_xlabel("P(alive) at the end of the month"
                      if stop is None or stop == stop + pd.offsets.MonthEnd(0)
                      else f"P(alive) at the end of {stop:%d %B %Y} (extract date)")
        ax.set_title(f"How likely are customers to still be active? ({model})")
    else:
        ratio = (fc.customers["since_last"] / fc.customers["usual_gap"]).dropna()
        ax.hist(ratio.clip(upper=10), bins=np.linspace(0, 10, 41), color=_palette()[0])
        ax.axvline(OVERDUE_FACTOR, color=_palette()[3], linestyle="--")
        ax.set_xlabel("Time since last purchase / usual gap between purchases (capped at 10)")
        ax.set_title(f"Repeat customers past the dashed line ({OVERDUE_FACTOR:g}x) are overdue")
    ax.set_ylabel("Customers")
    return ax


#: Chunk of customers streamed at a time to the per-customer predictions file.
CUSTOMERS_FILE_CHUNK = 500_000


def write_customer_predictions(fc: Forecast, *, folder: str | os.PathLike,
                               prefix: str = "07-predictions") -> Path | None:
    """Stream every customer's predictions to ``<prefix>-customers.parquet`` in ``folder``.

    The columns of :meth:`clvkit.models.CustomerScores.frame` (P(alive), expected
    purchases next month and, with a spend model, the CLV of revenue and margin, each
    with its 95% model range), written chunk by chunk (bounded memory for millions of
    customers). None (no file) when no model fits or the intervals are not delta-method.
    """
    scores = getattr(fc.result, "scores", None) if fc.fits else None
    if scores is None:
        return None
    path = Path(folder) / f"{prefix}-customers.parquet"
    scores.write_parquet(path, chunk_size=CUSTOMERS_FILE_CHUNK, force=True)
    return path


def customers_file_text(path: Path | None, fc: Forecast) -> str:
    """One line linking the per-customer predictions file (empty without one)."""
    if path is None:
        return ""
    what = "P(alive), expected purchases next month" + (
        f" and the {HORIZON_MONTHS}-month CLV" if fc.result.has_clv else "")
    return (f"Every customer's predictions ({what}, each with its 95% model range): "
            f"[{_text(path.name)}]({path.name}), {len(fc.result.scores):,} rows (Parquet).")


def build(data: ReportData, *, month: str, title: str, currency: str, time_unit: str = "W",
          options: dict | None = None, folder: str | os.PathLike | None = None,
          prefix: str = "07-predictions") -> SectionPage:
    """The predictions page: model comparison and choice, forecasts with ranges, at-risk list.

    With ``folder``, every customer's predictions are streamed there
    (:func:`write_customer_predictions`) and text ``customers_file`` links the file.
    Returns a :class:`~clvkit.report.sections._common.SectionPage` with texts ``summary``,
    ``assumptions``, ``at_risk`` and ``customers_file``, tables ``comparison`` (None
    without a holdout) and ``at_risk``, and figure ``forecast``.
    """
    options = _options(options)
    fc = forecast(data, month=month, time_unit=time_unit, options=options)
    risky = at_risk_customers(fc, n=options["top_n"], threshold=options["at_risk_threshold"])
    path = (write_customer_predictions(fc, folder=folder, prefix=prefix)
            if folder is not None else None)
    return section_page(
        "predictions", title=title, month=month,
        text={"summary": predictions_text(fc, data, month=month, currency=currency),
              "assumptions": assumptions_text(fc, data, options, currency=currency),
              "at_risk": at_risk_text(risky, currency=currency, customers=fc.customers),
              "customers_file": customers_file_text(path, fc)},
        tables={"comparison": comparison_display(fc),
                "at_risk": at_risk_display(risky, currency=currency)},
        figures={"forecast": plot_forecast(fc)})
