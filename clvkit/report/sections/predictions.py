"""Predictions section: purchase-model forecasts, predictive CLV and customers at risk."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ._common import (
    SectionPage,
    _axes,
    _clv_assumptions,
    _fmt,
    _margin_rate,
    _month_end,
    _options,
    _palette,
    _upto,
    section_page,
)


def predictions(data: ReportData, *, month: str, time_unit: str = "W",
                options: dict | None = None) -> pd.DataFrame:
    """BG/NBD and Gamma-Gamma predictions per customer at the end of ``month``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: the RFM summary columns plus ``p_alive``,
        ``expected_purchases_next_month``, ``clv_12m`` (12 months, discounted at
        ``options["annual_discount_rate"]``) and ``revenue_to_date``.
    """
    from ...clv import customer_lifetime_value
    from ...models import BGNBD, GammaGamma
    from ...models._base import ConvergenceWarning
    from ...summary import rfm_summary
    from ...units import convert_duration

    options = _options(options)
    tx = _upto(data.transactions, month)
    # the observation ends at midnight after the month's last day: first purchases on that
    # day get an age T of one day rather than zero
    end = _month_end(month) + pd.Timedelta(days=1)
    if options["engine"] == "pandas":
        summary = rfm_summary(tx, observation_end=end, time_unit=time_unit)
    else:  # the same summary computed by SQL (clvkit.engines): DuckDB or Spark
        from ...engines import rfm_summary_engine

        summary = rfm_summary_engine(tx[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]],
                                     engine=options["engine"], observation_end=end,
                                     time_unit=time_unit)
    # A data set where almost nobody drops out drives BG/NBD's `a` towards 0: the
    # estimate is then degenerate but still usable (P(alive) ~ 1). The report keeps
    # it and says so (predictions_text) instead of failing the section.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        bgnbd = BGNBD().fit(summary, strict=False)
    fit_notes = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    with warnings.catch_warnings(record=True) as caught_spend:
        warnings.simplefilter("always", ConvergenceWarning)
        spend = GammaGamma().fit(repeat, strict=False)
    spend_notes = [str(w.message) for w in caught_spend
                   if issubclass(w.category, ConvergenceWarning)]
    out = summary.copy()
    out["p_alive"] = bgnbd.p_alive(summary)
    one_month = convert_duration(1.0, from_unit="M", to_unit=time_unit)
    out["expected_purchases_next_month"] = bgnbd.conditional_expected_purchases(summary,
                                                                                t=one_month)
    monthly_d = (1 + options["annual_discount_rate"]) ** (1 / 12) - 1
    clv = customer_lifetime_value(bgnbd, spend, summary, horizon=12, time_unit="M",
                                  discount_rate=monthly_d, freq_of_discount="M")
    out["clv_12m"] = clv["clv"]
    rate = _margin_rate(data, options)
    out["clv_12m_margin"] = out["clv_12m"] * (rate.reindex(out.index).fillna(options["margin"])
                                              if isinstance(rate, pd.Series) else rate)
    out["revenue_to_date"] = tx.groupby(C.CUSTOMER_ID)[C.AMOUNT].sum().reindex(out.index)
    out.attrs.update(time_unit=time_unit, bgnbd=bgnbd.params_series().to_dict(),
                     assumptions=_clv_assumptions(data, options),
                     bgnbd_converged=not fit_notes, bgnbd_note=" ".join(fit_notes),
                     gamma_gamma_converged=not spend_notes,
                     gamma_gamma=spend.params_series().to_dict())
    return out


def at_risk_customers(pred: pd.DataFrame, *, n: int = 10, threshold: float = 0.5,
                      top_share: float = 0.2, overdue_factor: float = 2.0) -> pd.DataFrame:
    """Valuable customers (top ``top_share`` by revenue to date) who may be leaving.

    At risk means P(alive) < ``threshold``. When the model puts no valuable
    customer below the threshold (a fit with almost no dropout), the rule falls
    back to *overdue* repeat customers: time since the last purchase more than
    ``overdue_factor`` times their mean gap between purchases. ``attrs["rule"]``
    says which rule selected the rows. Sorted by revenue to date, top ``n``.
    """
    cutoff = pred["revenue_to_date"].quantile(1 - top_share)
    valuable = pred.loc[pred["revenue_to_date"] >= cutoff].copy()
    valuable["since_last"] = valuable["T"] - valuable["recency"]
    gap = valuable["recency"] / valuable["frequency"].where(valuable["frequency"] > 0)
    valuable["usual_gap"] = gap
    risky = valuable.loc[valuable["p_alive"] < threshold]
    rule = "p_alive"
    if risky.empty:
        risky = valuable.loc[valuable["since_last"] > overdue_factor * gap]
        rule = "overdue"
    out = risky.sort_values(["revenue_to_date", "p_alive"], ascending=[False, True],
                            kind="mergesort").head(n)
    out.attrs.update(rule=rule, threshold=threshold, overdue_factor=overdue_factor,
                     time_unit=pred.attrs.get("time_unit", "W"))
    return out


def at_risk_text(risky: pd.DataFrame) -> str:
    """One sentence saying which rule selected the customers at risk."""
    unit = risky.attrs.get("time_unit", "W")
    from ...units import unit_name

    if risky.attrs.get("rule") == "overdue":
        return (f"No valuable customer has a P(alive) below {risky.attrs['threshold']:.0%}, so "
                f"these are the valuable repeat customers who are *overdue*: the time since "
                f"their last purchase is more than {risky.attrs['overdue_factor']:g} times their "
                f"usual gap between purchases (times in {unit_name(unit)}).")
    return (f"Valuable customers whose probability of still being active is below "
            f"{risky.attrs.get('threshold', 0.5):.0%} (times in {unit_name(unit)}).")


def predictions_text(pred: pd.DataFrame, data: ReportData, *, month: str, currency: str,
                     threshold: float = 0.5) -> str:
    """Sentences on next month's expected purchases and customers at risk."""
    nxt = pd.Period(month, "M") + 1
    expected = pred["expected_purchases_next_month"].sum()
    tx = data.transactions
    occasions = tx.loc[tx[C.DATE].dt.to_period("M") == pd.Period(month, "M")]
    actual_now = occasions.groupby([C.CUSTOMER_ID, occasions[C.DATE].dt.normalize()]).ngroups
    text = (f"The BG/NBD model expects **{_fmt(expected, 'count', currency)} purchases** "
            f"(purchase days) from the {len(pred):,} existing customers in {nxt:%B %Y}, against "
            f"{actual_now:,} in {pd.Period(month, 'M'):%B %Y} (new customers come on top). "
            f"{_fmt((pred['p_alive'] < threshold).mean(), 'percent', currency)} of customers "
            f"have a probability below {threshold:.0%} of still being active.")
    later = tx.loc[tx[C.DATE].dt.to_period("M") == nxt]
    if len(later) and nxt <= tx[C.DATE].max().to_period("M"):
        known = later.loc[later[C.CUSTOMER_ID].isin(pred.index)]
        actual = known.groupby([C.CUSTOMER_ID, known[C.DATE].dt.normalize()]).ngroups
        text += (f" (The data already hold {actual:,} purchase days of these customers in "
                 f"{nxt:%B %Y}"
                 + (", a partial month" if tx[C.DATE].max() < nxt.end_time.normalize() else "")
                 + ".)")
    text += (f"\n\nPredictive 12-month CLV of the existing base (discounted): "
             f"{_fmt(pred['clv_12m'].sum(), 'currency', currency)} of **revenue**, "
             f"{_fmt(pred['clv_12m_margin'].sum(), 'currency', currency)} of **gross margin**. "
             + pred.attrs.get("assumptions", ""))
    params = pred.attrs.get("bgnbd", {})
    if (pred["p_alive"] < threshold).sum() == 0 and params:
        dropout = params["a"] / (params["a"] + params["b"])
        text += (f"\n\nNote: the fitted BG/NBD dropout parameters (a = {params['a']:.3g}, "
                 f"b = {params['b']:.3g}) give a mean dropout probability after a purchase of "
                 f"{dropout:.2g}: the model sees almost no customers leaving in these data, so "
                 "P(alive) hardly separates them.")
    if not pred.attrs.get("gamma_gamma_converged", True):
        text += ("\n\nThe Gamma-Gamma spend model is degenerate on these data (its spread "
                 "parameters ran off to their limit): it predicts about the same spend per "
                 "purchase for every customer, so the CLV ranks customers by expected "
                 "purchases only.")
    if not pred.attrs.get("bgnbd_converged", True):
        text += ("\n\nThe BG/NBD estimate is degenerate (a dropout parameter ran to its bound), "
                 "so treat P(alive) and the expected purchases as optimistic.")
    return text


def at_risk_display(risky: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted at-risk table."""
    return pd.DataFrame({
        "revenue to date": [_fmt(v, "currency", currency) for v in risky["revenue_to_date"]],
        "P(alive)": [_fmt(v, "percent", currency) for v in risky["p_alive"]],
        "since last purchase": risky["since_last"].round(1),
        "usual gap": risky["usual_gap"].round(1),
        "expected purchases next month": risky["expected_purchases_next_month"].round(2),
        "predictive 12-month CLV (revenue)": [_fmt(v, "currency", currency)
                                              for v in risky["clv_12m"]],
        "predictive 12-month CLV (margin)": [_fmt(v, "currency", currency)
                                             for v in risky["clv_12m_margin"]],
    }, index=risky.index)


def plot_p_alive(pred: pd.DataFrame, *, ax=None):
    """Histogram of P(alive) across customers."""
    ax = _axes(ax)
    ax.hist(pred["p_alive"], bins=np.linspace(0, 1, 21), color=_palette()[0])
    ax.set_xlabel("P(alive) at the end of the month")
    ax.set_ylabel("Customers")
    ax.set_title("How likely are customers to still be active? (BG/NBD)")
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str, time_unit: str = "W",
          options: dict | None = None) -> SectionPage:
    """The predictions page: purchase-model forecasts, P(alive), valuable customers at risk.

    Returns a :class:`~clvkit.report.sections._common.SectionPage` with texts
    ``summary`` and ``at_risk``, table ``at_risk`` and figure ``p_alive``.
    """
    options = _options(options)
    pred = predictions(data, month=month, time_unit=time_unit, options=options)
    text = predictions_text(pred, data, month=month, currency=currency,
                            threshold=options["at_risk_threshold"])
    figure = plot_p_alive(pred)
    risky = at_risk_customers(pred, n=options["top_n"], threshold=options["at_risk_threshold"])
    return section_page(
        "predictions", title=title, month=month,
        text={"summary": text, "at_risk": at_risk_text(risky)},
        tables={"at_risk": at_risk_display(risky, currency=currency)},
        figures={"p_alive": figure})
