"""Executive summary section: headline KPIs, their context, definitions and the monthly trend."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ._common import (
    SectionPage,
    _axes,
    _bullets,
    _clv_assumptions,
    _fmt,
    _has_cac,
    _money_axis,
    _monthly_discount,
    _options,
    _palette,
    _upto,
    section_page,
)
from .quality import data_gaps


def month_kpis(data: ReportData, *, options: dict | None = None) -> pd.DataFrame:
    """Monthly KPIs of :func:`clvkit.crm.monthly_kpis` plus the retention-model CLV and LTV:CAC.

    Definitions: :data:`clvkit.metrics.METRICS`. ``retention_clv`` is the
    retention-model value of a customer of the churn base, m r / (1 + d - r),
    with m the month's gross margin divided by the churn base at the end of the
    previous month (the same customers the churn rate is a share of), r = 1 - the
    month's churn rate and d the monthly discount rate; it is NaN (n/a) where churn
    is undefined (the first three months of the data). ``ltv_to_cac`` divides it by
    the mean CAC of the month's new customers (only when the data have customer CAC).
    """
    from ...crm import churn_base, monthly_kpis
    from ...formulas import retention_clv

    options = _options(options)
    tx = data.transactions
    kpis = monthly_kpis(tx, period="M")
    rate = np.full(len(tx), options["margin"])
    if data.has("customers") and "margin" in data.customers:
        rate = tx[C.CUSTOMER_ID].map(data.customers["margin"]).fillna(options["margin"])
    month_of = tx[C.DATE].dt.to_period("M")
    margin = (tx[C.AMOUNT] * rate).groupby(month_of).sum().reindex(kpis.index).fillna(0.0)
    base = churn_base(tx, period="M").shift(1)
    per_customer = margin / base.replace(0, np.nan)
    retention = (1 - kpis["churn_rate"]).clip(upper=0.999)
    ok = (per_customer.notna() & retention.notna()).to_numpy()
    clv = np.full(len(kpis), np.nan)
    clv[ok] = retention_clv(per_customer.to_numpy()[ok], retention=retention.to_numpy()[ok],
                            discount_rate=_monthly_discount(options))
    kpis["retention_clv"] = clv
    if data.has("customers") and "cac" in data.customers:
        acquired = pd.to_datetime(data.customers["acquisition_date"]).dt.to_period("M")
        cac = data.customers["cac"].groupby(acquired).mean().reindex(kpis.index)
        kpis["ltv_to_cac"] = kpis["retention_clv"] / cac
    return kpis


def headline_numbers(data: ReportData, *, month: str, benchmarks: dict | None = None,
                     options: dict | None = None) -> pd.DataFrame:
    """The month's headline numbers next to last month, the same month last year and targets.

    Parameters
    ----------
    data : ReportData
        Report data (see :func:`load_report_data`).
    month : str
        ``YYYY-MM``.
    benchmarks : dict, optional
        Targets by KPI name (:data:`BENCHMARK_KEYS`).
    options : dict, optional
        ``margin`` (gross margin rate when customers have none) and
        ``annual_discount_rate`` for the CLV.

    Returns
    -------
    DataFrame
        Indexed by KPI name (:data:`clvkit.metrics.KPI_NAMES`, those the data
        support) with columns ``label, kind, higher_is_better, value, previous,
        last_year, benchmark`` (NaN where not available or undefined).
    """
    from ...metrics import KPI_NAMES, METRICS

    kpis = month_kpis(data, options=options)
    period = pd.Period(month, "M")
    keys = [k for k in KPI_NAMES if k in kpis.columns]
    kpis = kpis[keys]

    def row(p):
        return kpis.loc[p] if p in kpis.index else pd.Series(np.nan, index=keys)

    gaps = set(data_gaps(data)) | {str(p) for p in kpis.index[_active_by_month(data) == 0]}
    kpis.loc[[p for p in kpis.index if str(p) in gaps]] = np.nan    # a gap is n/a, not 0
    table = pd.DataFrame({"value": row(period), "previous": row(period - 1),
                          "last_year": row(period - 12)}).astype(float)
    table["benchmark"] = pd.Series(benchmarks or {}, dtype=float).reindex(table.index)
    meta = pd.DataFrame({"label": [METRICS[k].label for k in keys],
                         "kind": [METRICS[k].unit for k in keys],
                         "higher_is_better": [METRICS[k].higher_is_better for k in keys]},
                        index=keys)
    out = meta.join(table)
    out.attrs["churn_definition"] = kpis.attrs.get("churn_definition", "")
    out.attrs["gaps"] = [str(p) for p in (period, period - 1, period - 12) if str(p) in gaps]
    out.attrs["month"] = month
    if data.bridge is not None and len(data.bridge):
        rows = data.bridge.loc[data.bridge["month"] == month].set_index("step")["amount"]
        if len(rows):
            out.attrs["file_total"] = float(rows["all rows in the month"])
    return out


def _active_by_month(data: ReportData) -> pd.Series:
    """Active customers per month (0 in months without transactions)."""
    from ...crm import active_customers

    return active_customers(data.transactions, period="M")


def definitions_text(data: ReportData, *, month: str, currency: str,
                     options: dict | None = None,
                     names: tuple[str, ...] | None = None) -> str:
    """Markdown definitions of the headline KPIs and CLV figures, from :mod:`clvkit.metrics`.

    Adds what the data and configuration decide: the data's start date (what
    "new" means), the churn window, why churn and retention do not add up to
    100%, and the margin and discount rate the CLV figures assume.
    """
    from ...metrics import CLV_FAMILY, KPI_NAMES, definitions_markdown

    options = _options(options)
    start = data.transactions[C.DATE].min()
    notes = {
        "new_customers": (f"The data start on {start:%d %B %Y}; customers who bought before "
                          "that are new when first seen." if pd.notna(start) else ""),
        "churn_rate": ("Churn and retention need not add up to 100%: retention compares two "
                       "consecutive months, while churn counts only customers who have gone "
                       "three full months without a purchase, as a share of everyone who "
                       "bought in the last three months."),
        "retention_clv": _clv_assumptions(data, options),
        "observed_value": _clv_assumptions(data, options, discounted=False),
        "predicted_clv": _clv_assumptions(data, options),
    }
    names = names or tuple(n for n in dict.fromkeys((*KPI_NAMES, *CLV_FAMILY))
                           if n not in ("ltv_to_cac",) or _has_cac(data))
    return ("## Definitions\n\n"
            + definitions_markdown(names, horizon=int(options["clv_horizon_months"]),
                                   notes=notes))


def executive_summary_text(headline: pd.DataFrame, *, month: str, currency: str) -> str:
    """Markdown sentences (escaped) that put each headline number in context.

    One :func:`clvkit.narrative.describe_change` sentence per KPI: its value,
    the change since last month, since the same month last year (when the data
    reach back) and against the configured target.
    """
    from ...narrative import describe_change

    label = pd.Period(month, "M").strftime("%B %Y")
    if month in headline.attrs.get("gaps", ()):
        return (f"**No transactions are recorded in {label}.** This is a gap in the data (a "
                "missing extract?), not a fall in sales: the month's numbers are n/a. Check "
                "the data-quality page.")
    sentences = []
    for _, row in headline.iterrows():
        has_ly = pd.notna(row["last_year"])
        sentences.append(describe_change(
            row["label"], row["value"], kind=row["kind"], period=month,
            previous=row["previous"], last_year=row["last_year"] if has_ly else None,
            benchmark=None if pd.isna(row["benchmark"]) else row["benchmark"],
            higher_is_better=bool(row["higher_is_better"]), currency=currency,
            benchmark_label="the target"))
    note = ""
    if not headline["last_year"].notna().any():
        note = ("\n\nThe data do not reach back to the same month last year, so there is no "
                "year-on-year comparison.")
    gaps = [g for g in headline.attrs.get("gaps", ()) if g != month]
    if gaps:
        note += (f"\n\n{', '.join(gaps)} had no transactions at all (a gap in the data): "
                 "comparisons with it are n/a.")
    definition = headline.attrs.get("churn_definition")
    if definition:
        note += f"\n\nA customer counts as churned after {html.escape(definition)}."
    if "file_total" in headline.attrs and "revenue" in headline.index:
        note += ("\n\nRevenue covers identified customers' purchases after cancellations, "
                 "returns, duplicates and non-product lines (postage, fees) are set apart: "
                 f"{_fmt(headline.loc['revenue', 'value'], 'currency', currency)} of the "
                 f"{_fmt(headline.attrs['file_total'], 'currency', currency)} that all rows of "
                 f"the file dated in {label} add up to (the revenue bridge on the data-quality "
                 "page shows each step).")
    return _bullets(sentences) + note


def headline_table_display(headline: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Headline numbers formatted as text, ready to display (one row per KPI)."""
    out = pd.DataFrame(index=pd.Index(headline["label"], name="KPI"))
    for col, name in (("value", "This month"), ("previous", "Last month"),
                      ("last_year", "Same month last year"), ("benchmark", "Target")):
        out[name] = [_fmt(v, k, currency) for v, k in zip(headline[col], headline["kind"],
                                                           strict=True)]
    return out

def plot_monthly_trend(data: ReportData, *, month: str, currency: str, months: int = 13,
                       ax=None):
    """Revenue bars and active customers line over the ``months`` months ending at ``month``."""
    from ...crm import monthly_kpis

    kpis = monthly_kpis(_upto(data.transactions, month), period="M").iloc[-months:]
    ax = _axes(ax)
    colors = _palette()
    labels = kpis.index.strftime("%b %y")
    ax.bar(labels, kpis["revenue"], color=colors[0], label="Revenue")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    ax.set_xlabel("Month")
    twin = ax.twinx()
    twin.plot(labels, kpis["active_customers"], color=colors[1], marker="o",
              label="Active customers")
    twin.set_ylabel("Active customers")
    twin.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Revenue and active customers by month")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", frameon=False)
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str,
          benchmarks: dict | None = None, options: dict | None = None) -> SectionPage:
    """The executive summary page: headline numbers in context, the trend, the definitions.

    Returns a :class:`~clvkit.report.sections._common.SectionPage` with text
    ``summary`` and ``definitions``, table ``headline`` and figure ``trend``.
    """
    headline = headline_numbers(data, month=month, benchmarks=benchmarks, options=options)
    return section_page(
        "executive_summary", title=title, month=month,
        text={"summary": executive_summary_text(headline, month=month, currency=currency),
              "definitions": definitions_text(data, month=month, currency=currency,
                                              options=options)},
        tables={"headline": headline_table_display(headline, currency=currency)},
        figures={"trend": plot_monthly_trend(data, month=month, currency=currency)})
