"""Executive summary section: headline KPIs, their context, definitions and the monthly trend."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData, report_tables
from ..month import report_month
from ..page import (
    SectionPage,
    bullet_list,
    clv_assumptions,
    fmt,
    has_cac,
    md_text,
    money_axis,
    monthly_discount,
    palette,
    section_page,
    typed_options,
)
from ..tables import ReportTables
from .quality import data_gaps


def month_kpis(data: ReportData, *, options: dict | None = None,
               tables: ReportTables | None = None) -> pd.DataFrame:
    """Monthly KPIs of :func:`clvkit.crm.monthly_kpis` plus the retention-model CLV and LTV:CAC.

    Definitions: :data:`clvkit.metrics.METRICS`. ``retention_clv`` is the
    retention-model value of a customer of the churn base, m r / (1 + d - r),
    with m the month's gross margin divided by the churn base at the end of the
    previous month (the same customers the churn rate is a share of), r = 1 - the
    month's churn rate and d the monthly discount rate; it is NaN (n/a) where churn
    is undefined (the first three months of the data). ``ltv_to_cac`` divides it by
    the mean CAC of the month's new customers (only when the data have customer CAC).
    ``returns`` is the month's returns, cancellations and credit notes (the negative
    rows set apart by the loader, as a positive amount) plus the refunds column on the
    month's purchases; ``net_revenue`` is ``revenue - returns``. Everything is computed
    from the report tables (``tables``, default :func:`clvkit.report.data.report_tables`).
    """
    from ...crm import activity_churn_base, activity_kpis
    from ...formulas import retention_clv

    options = typed_options(options)
    tables = report_tables(data) if tables is None else tables
    act = tables.activity
    first = int(act["period"].min())
    span = pd.PeriodIndex.from_ordinals(np.arange(first, int(act["period"].max()) + 1),
                                        freq="M")
    kpis = activity_kpis(act, period="M", revenue=tables.revenue(span))
    if data.has("customers") and "margin" in data.customers:
        rate = act[C.CUSTOMER_ID].map(data.customers["margin"]).fillna(options["margin"])
        margin = pd.Series(np.bincount(act["period"].to_numpy() - first,
                                       weights=act["revenue"].to_numpy(float) * rate.to_numpy(
                                           float), minlength=len(span)), index=kpis.index)
    else:
        margin = kpis["revenue"] * options["margin"]
    base = activity_churn_base(act, period="M").shift(1)
    per_customer = margin / base.replace(0, np.nan)
    retention = (1 - kpis["churn_rate"]).clip(upper=0.999)
    ok = (per_customer.notna() & retention.notna()).to_numpy()
    clv = np.full(len(kpis), np.nan)
    clv[ok] = retention_clv(per_customer.to_numpy()[ok], retention=retention.to_numpy()[ok],
                            discount_rate=monthly_discount(options))
    kpis["retention_clv"] = clv
    returned = tables.returns().reindex(kpis.index).fillna(0.0)
    kpis["returns"] = returned
    kpis["net_revenue"] = kpis["revenue"] - returned
    if data.has("customers") and "cac" in data.customers:
        acquired = pd.to_datetime(data.customers["acquisition_date"]).dt.to_period("M")
        cac = data.customers["cac"].groupby(acquired).mean().reindex(kpis.index)
        kpis["ltv_to_cac"] = kpis["retention_clv"] / cac
    return kpis


def monthly_returns(data: ReportData) -> pd.Series:
    """Returns and refunds per month, as a positive amount (indexed by month Period).

    Negative rows set apart by the loader (``data.returns``) plus the refunds column
    (:data:`clvkit.io.REFUNDED`) of the purchases, each in the month of its date.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-05"]),
    ...                    "amount": [50.0], "refunded": [5.0]})
    >>> ret = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-02-01"]),
    ...                     "amount": [-20.0]})
    >>> monthly_returns(ReportData(tx, ret, pd.DataFrame(), 2, "x")).to_dict()
    {Period('2024-01', 'M'): 5.0, Period('2024-02', 'M'): 20.0}
    """
    from ...io import REFUNDED

    parts = []
    if data.returns is not None and len(data.returns):
        parts.append(pd.Series(-data.returns[C.AMOUNT].to_numpy(dtype=float),
                               index=data.returns[C.DATE].dt.to_period("M")))
    tx = data.transactions
    if REFUNDED in tx and len(tx):
        refunded = tx.loc[tx[REFUNDED] > 0]
        parts.append(pd.Series(refunded[REFUNDED].to_numpy(dtype=float),
                               index=refunded[C.DATE].dt.to_period("M")))
    if not parts:
        return pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M"))
    joined = pd.concat(parts)
    return joined.groupby(level=0).sum().sort_index()


def _cut(data: ReportData, end: pd.Timestamp) -> ReportData:
    """``data`` with transactions and returns dated up to ``end`` (a like-for-like cut)."""
    import dataclasses

    keep = {name: frame.loc[frame[C.DATE] <= end]
            for name in ("transactions", "returns")
            if (frame := getattr(data, name)) is not None}
    return dataclasses.replace(data, tables=None, **keep)


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
    return _headline(_kpis_with_gaps(data, options=options), data, month=month,
                     benchmarks=benchmarks, options=options)


def _headline(kpis: pd.DataFrame, data: ReportData, *, month: str,
              benchmarks: dict | None, options: dict | None = None) -> pd.DataFrame:
    """:func:`headline_numbers` from the KPIs of :func:`_kpis_with_gaps`.

    For a month in progress (``data.as_of`` before the month's end) last month and
    the same month last year are cut to the same number of days (like for like).
    """
    from ...metrics import KPI_NAMES, METRICS

    gaps = set(kpis.attrs["gaps"])
    period = pd.Period(month, "M")
    keys = [k for k in KPI_NAMES if k in kpis.columns]
    kpis = kpis[keys]

    def row(p):
        return kpis.loc[p] if p in kpis.index else pd.Series(np.nan, index=keys)

    table = pd.DataFrame({"value": row(period), "previous": row(period - 1),
                          "last_year": row(period - 12)}).astype(float)
    current = report_month(data, month)
    if current.partial:
        tables = report_tables(data)
        for column, back in (("previous", 1), ("last_year", 12)):
            stop = comparison_stop(current, back)
            cut = _kpis_with_gaps(data, options=options,
                                  tables=(tables.upto(stop) if stop in tables.cuts else
                                          report_tables(_cut(data, current.comparison_end(back)))))
            earlier = period - back
            table[column] = (cut.loc[earlier, keys].astype(float) if earlier in cut.index
                             else np.nan)
    table["benchmark"] = pd.Series(benchmarks or {}, dtype=float).reindex(table.index)
    meta = pd.DataFrame({"label": [METRICS[k].label for k in keys],
                         "kind": [METRICS[k].unit for k in keys],
                         "higher_is_better": [METRICS[k].higher_is_better for k in keys]},
                        index=keys)
    out = meta.join(table)
    out.attrs["churn_definition"] = kpis.attrs.get("churn_definition", "")
    out.attrs["gaps"] = [str(p) for p in (period, period - 1, period - 12) if str(p) in gaps]
    out.attrs["distorted"] = {m: names for m, names in kpis.attrs.get("distorted", {}).items()
                              if m in (str(period), str(period - 1), str(period - 12))}
    out.attrs["month"] = month
    out.attrs["partial_days"] = current.days if current.partial else None
    if data.bridge is not None and len(data.bridge):
        steps = data.bridge.loc[data.bridge["month"] == month].set_index("step")
        if len(steps):
            out.attrs["file_total"] = float(steps.loc["all rows in the month", "amount"])
            out.attrs["file_rows"] = int(steps.loc["all rows in the month", "rows"])
    return out


def comparison_stop(current, months_back: int) -> int:
    """The like-for-like cut of ``months_back`` earlier as a stop day (days since 1970, exclusive).

    Examples
    --------
    >>> from clvkit.report.month import ReportMonth
    >>> comparison_stop(ReportMonth("2024-03", pd.Timestamp("2024-03-15")), 1)  # 16 Feb
    19769
    """
    end = current.comparison_end(months_back)
    return int((end.normalize() - pd.Timestamp("1970-01-01")).days) + 1


def comparison_stops(current) -> tuple[int, ...]:
    """The stop days of the cuts :func:`headline_numbers` needs (none for a complete month)."""
    return tuple(comparison_stop(current, back) for back in (1, 12)) if current.partial else ()


def report_cuts(current) -> tuple[int, ...]:
    """Every cut (stop day) a report of ``current`` needs.

    For a month in progress: the like-for-like comparisons and the observation stop
    (the day after the extract date); none for a complete month.
    """
    if not current.partial:
        return ()
    stop = int((current.as_of.normalize() - pd.Timestamp("1970-01-01")).days) + 1
    return (*comparison_stops(current), stop)


def _kpis_with_gaps(data: ReportData, *, options: dict | None = None,
                    tables: ReportTables | None = None) -> pd.DataFrame:
    """:func:`month_kpis` with every number of a month without transactions NaN (n/a, not 0).

    ``attrs["gaps"]`` lists those months (``YYYY-MM``). A gap also distorts the
    months whose windows reach back into it: churn (and the retention-model CLV
    built on it) in the :data:`CHURN_WINDOW` months after a gap, retention in the
    month after it. Those values are n/a too, listed in ``attrs["distorted"]``
    (month -> KPI names), rather than shown as if the gap were lost customers.
    """
    kpis = month_kpis(data, options=options, tables=tables)
    gaps = set(data_gaps(data)) | {str(p) for p in kpis.index[kpis["active_customers"] == 0]}
    kpis.loc[[p for p in kpis.index if str(p) in gaps]] = np.nan    # a gap is n/a, not 0
    distorted: dict[str, list[str]] = {}
    for gap in sorted(gaps):
        for k in range(1, CHURN_WINDOW + 1):
            later = pd.Period(gap, "M") + k
            if later not in kpis.index or str(later) in gaps:
                continue
            names = [n for n in ("churn_rate", "retention_clv", "ltv_to_cac")
                     if n in kpis.columns]
            names += ["retention_rate"] if k == 1 else []
            kpis.loc[later, names] = np.nan
            distorted.setdefault(str(later), [])
            distorted[str(later)] += [n for n in names if n not in distorted[str(later)]]
    kpis.attrs["gaps"] = sorted(gaps)
    kpis.attrs["distorted"] = distorted
    return kpis


#: Months of the churn window (a customer churns after this many months without a purchase).
CHURN_WINDOW = 3


def definitions_text(data: ReportData, *, month: str, currency: str,
                     options: dict | None = None,
                     names: tuple[str, ...] | None = None) -> str:
    """Markdown definitions of the headline KPIs and CLV figures, from :mod:`clvkit.metrics`.

    Adds what the data and configuration decide: the data's start date (what
    "new" means), the churn window, why churn and retention do not add up to
    100%, and the margin and discount rate the CLV figures assume.
    """
    from ...metrics import CLV_FAMILY, KPI_NAMES, definitions_markdown

    options = typed_options(options)
    start = report_tables(data).first_day
    notes = {
        "new_customers": (f"The data start on {start:%d %B %Y}; customers who bought before "
                          "that are new when first seen." if start is not None else ""),
        "churn_rate": ("Churn and retention need not add up to 100%: retention compares two "
                       "consecutive months, while churn counts only customers who have gone "
                       "three full months without a purchase, as a share of everyone who "
                       "bought in the last three months. The window lags: a customer counted "
                       "as churned in a month last bought three months before it (churn in "
                       "April counts customers whose last purchase was in January), so this "
                       "month's churn describes customers lost a quarter ago."),
        "retention_clv": clv_assumptions(data, options),
        "observed_value": clv_assumptions(data, options, discounted=False),
        "predicted_clv": clv_assumptions(data, options),
    }
    names = names or tuple(n for n in dict.fromkeys((*KPI_NAMES, *CLV_FAMILY))
                           if n not in ("ltv_to_cac",) or has_cac(data))
    return ("## Definitions\n\n"
            + definitions_markdown(names, horizon=int(options["clv_horizon_months"]),
                                   notes=notes))


def executive_summary_text(headline: pd.DataFrame, *, month: str, currency: str,
                           data: ReportData | None = None) -> str:
    """Markdown sentences (escaped) that put each headline number in context.

    One :func:`clvkit.narrative.describe_change` sentence per KPI: its value,
    the change since last month, since the same month last year (when the data
    reach back) and against the configured target. With ``data``, a change driven
    by one order is flagged (:func:`concentration_note`).
    """
    from ...narrative import describe_change

    label = pd.Period(month, "M").strftime("%B %Y")
    if month in headline.attrs.get("gaps", ()) and headline.attrs.get("file_rows"):
        return (f"**No purchases are recorded in {label}**, although the file has "
                f"{headline.attrs['file_rows']:,} rows dated in the month: all of them are "
                "returns, cancellations or rows set aside by the cleaning (see the "
                "data-quality page's revenue bridge). The month's numbers are n/a.")
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
    from ...metrics import METRICS

    for when, names in headline.attrs.get("distorted", {}).items():
        labels = ", ".join(METRICS[n].label.lower() for n in names if n in METRICS)
        note += (f"\n\n**Distorted by a data gap:** {labels} of {when} "
                 f"{'is' if len(names) == 1 else 'are'} n/a: their window reaches back into a "
                 "month without any transaction, where every customer would look lost.")
    definition = headline.attrs.get("churn_definition")
    if definition:
        note += f"\n\nA customer counts as churned after {html.escape(definition)}."
    note += revenue_note(headline, month=month, currency=currency)
    if data is not None:
        note += concentration_note(data, headline, month=month, currency=currency)
    return bullet_list(sentences) + note


def _largest_order(data: ReportData, period: pd.Period) -> tuple[float, str, str] | None:
    """(amount, label, customer) of the month's largest order, or None without purchases.

    An order is an order id, or a customer-day when the data have none.
    """
    tx = data.transactions
    rows = tx.loc[tx[C.DATE].dt.to_period("M") == period]
    if rows.empty:
        return None
    keys = ([rows[C.ORDER_ID].astype("string").fillna("")] if C.ORDER_ID in rows
            else [rows[C.CUSTOMER_ID], rows[C.DATE].dt.normalize()])
    totals = rows[C.AMOUNT].groupby(keys, sort=True).sum()
    best = totals.idxmax()
    first = rows.loc[(rows[C.ORDER_ID].astype("string").fillna("") == best) if C.ORDER_ID in rows
                     else (rows[C.CUSTOMER_ID] == best[0])].iloc[0]
    label = f"order {best}" if C.ORDER_ID in rows else f"a purchase on {best[1]:%d %B %Y}"
    return float(totals.max()), label, str(first[C.CUSTOMER_ID])


def concentration_note(data: ReportData, headline: pd.DataFrame, *, month: str,
                       currency: str) -> str:
    """A warning when one order drives the net revenue change on last month or last year.

    For each change of at least 5%, the largest single order of either month is
    left out (when it is at least a tenth of the months' net revenue); when that
    turns a fall into a rise (or back), or removes more than half of the change,
    the page says so, with the change without it.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "big", "a", "b"], "amount":
    ...     [100.0, 100, 4800, 120, 110], "date": pd.to_datetime(["2023-03-02", "2023-03-03",
    ...     "2023-03-15", "2024-03-02", "2024-03-03"])})
    >>> data = ReportData(tx, tx.iloc[:0], pd.DataFrame(), 5, "x")
    >>> head = headline_numbers(data, month="2024-03")
    >>> note = concentration_note(data, head, month="2024-03", currency="USD")
    >>> note.split("(")[1][:6], note.split("; ")[1]
    ('-95.4%', 'without it, net revenue is up 15.0%.')
    """
    if "net_revenue" not in headline.index:
        return ""
    period = pd.Period(month, "M")
    value = headline.loc["net_revenue", "value"]
    notes = []
    for column, back in (("previous", 1), ("last_year", 12)):
        other = headline.loc["net_revenue", column]
        if not (np.isfinite(value) and np.isfinite(other)) or other <= 0:
            continue
        change = value / other - 1
        if abs(change) < 0.05:          # a small change needs no explanation
            continue
        for where in (period, period - back):
            found = _largest_order(data, where)
            if found is None:
                continue
            amount, label, customer = found
            if amount < 0.1 * max(value, other):     # not a large order for these months
                continue
            now, then = (value - amount, other) if where == period else (value, other - amount)
            if then <= 0:
                continue
            without = now / then - 1
            flips = np.sign(without) != np.sign(change) and abs(without) > 0.005
            if flips or abs(without) < abs(change) / 2:
                shown = f"{where:%B %Y}"
                notes.append(
                    f"**Driven by one order:** the change in net revenue on "
                    f"{(period - back):%B %Y} ({change:+.1%}) comes from {md_text(label)} of "
                    f"{fmt(amount, 'currency', currency)} by customer {md_text(customer)} in "
                    f"{shown}; without it, net revenue is "
                    f"{'up' if without >= 0 else 'down'} {abs(without):.1%}.")
                break
    return "\n\n" + "\n\n".join(notes) if notes else ""


def revenue_note(headline: pd.DataFrame, *, month: str, currency: str) -> str:
    """One paragraph: net revenue = gross revenue - returns, and how the file's rows relate.

    Never a part larger than its whole: the file's total is named for what it
    is (every row of the month, sales and returns, including the rows the
    cleaning set apart), not as the whole of which revenue is a part.
    """
    if not {"net_revenue", "revenue", "returns"} <= set(headline.index):
        return ""
    money = {k: fmt(headline.loc[k, "value"], "currency", currency)
             for k in ("net_revenue", "revenue", "returns")}
    label = pd.Period(month, "M").strftime("%B %Y")
    days = headline.attrs.get("partial_days")
    text = (f"\n\n**Net revenue** {money['net_revenue']} = gross revenue (sales) "
            f"{money['revenue']} - returns and refunds {money['returns']}"
            + (f", over days 1-{days} of {label}" if days else f", {label}") + ". "
            "Both count identified customers' purchases after cancellations, duplicates and "
            "non-product lines (postage, fees) are set apart.")
    if "file_total" in headline.attrs:
        text += (f" For reference, every row of the file dated in {label} (sales and returns, "
                 "including the rows the cleaning set apart) adds up to "
                 f"{fmt(headline.attrs['file_total'], 'currency', currency)}; the revenue "
                 "bridge on the data-quality page walks from that total to net revenue, line "
                 "by line.")
    return text


def headline_table_display(headline: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Headline numbers formatted as text, ready to display (one row per KPI)."""
    out = pd.DataFrame(index=pd.Index(headline["label"], name="KPI"))
    for col, name in (("value", "This month"), ("previous", "Last month"),
                      ("last_year", "Same month last year"), ("benchmark", "Target")):
        out[name] = [fmt(v, k, currency) for v, k in zip(headline[col], headline["kind"],
                                                           strict=True)]
    return out

#: KPIs of the executive page's trend panels, in panel order (names of :mod:`clvkit.metrics`).
TREND_KPIS = ("net_revenue", "churn_rate", "retention_rate", "average_order_value")


def kpi_trends(data: ReportData, *, month: str, options: dict | None = None,
               months: int = 13) -> pd.DataFrame:
    """The ``months`` months ending at ``month`` of each KPI in :data:`TREND_KPIS`.

    Values are those of :func:`month_kpis` (definitions: :data:`clvkit.metrics.METRICS`).
    An undefined value is NaN (shown "n/a"), never 0: churn in the first three
    months of the data and every KPI of a month without transactions (a data gap,
    listed in ``attrs["gaps"]``). Months before the data start are left out.

    Returns
    -------
    DataFrame
        Indexed by month (``Period``; ``months`` rows, fewer when the data start
        later), one column per KPI.

    Examples
    --------
    >>> from clvkit.report import ReportData
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "a"], "amount": [10.0, 30, 20, 40],
    ...                    "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-05",
    ...                                            "2024-04-05"])})
    >>> trends = kpi_trends(ReportData(tx, tx.iloc[:0], pd.DataFrame(), 4, "x"),
    ...                     month="2024-04")
    >>> trends[["net_revenue", "retention_rate", "average_order_value"]]
             net_revenue  retention_rate  average_order_value
    month
    2024-01         40.0             NaN                 20.0
    2024-02         20.0             0.5                 20.0
    2024-03          NaN             NaN                  NaN
    2024-04         40.0             NaN                 40.0
    >>> trends.attrs["gaps"]
    ['2024-03']
    """
    return _trend_window(_kpis_with_gaps(data, options=options), month=month, months=months)


def _trend_window(kpis: pd.DataFrame, *, month: str, months: int) -> pd.DataFrame:
    """:func:`kpi_trends` from the KPIs of :func:`_kpis_with_gaps`."""
    end = pd.Period(month, "M")
    start = end - (months - 1)
    if len(kpis) and kpis.index.min() > start:
        start = min(kpis.index.min(), end)
    window = pd.period_range(start, end, freq="M", name="month")
    out = kpis.reindex(window)[list(TREND_KPIS)].astype(float)
    out.attrs["gaps"] = [g for g in kpis.attrs["gaps"] if pd.Period(g, "M") in window]
    out.attrs["distorted"] = sorted(m for m in kpis.attrs.get("distorted", {})
                                    if pd.Period(m, "M") in window)
    out.attrs["data_start"] = str(kpis.index.min()) if len(kpis) else None
    return out


def kpi_trends_display(trends: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """:func:`kpi_trends` formatted as text, one row per month ("n/a" where undefined)."""
    from ...metrics import METRICS

    out = pd.DataFrame(index=pd.Index(trends.index.strftime("%b %Y"), name="Month"))
    for name in trends.columns:
        out[METRICS[name].label] = [fmt(v, METRICS[name].unit, currency)
                                    for v in trends[name]]
    return out


def kpi_trends_text(trends: pd.DataFrame, *, currency: str) -> str:
    """One Markdown bullet per KPI: this month, its range over the months shown, its n/a months."""
    from ...metrics import METRICS

    first, last = trends.index[0].strftime("%b %Y"), trends.index[-1].strftime("%b %Y")
    sentences = []
    for name in trends.columns:
        m, values = METRICS[name], trends[name]
        text = f"{m.label}: {fmt(values.iloc[-1], m.unit, currency)} in {last}"
        if values.notna().sum() >= 2:
            low, high = values.idxmin(), values.idxmax()
            text += (f"; lowest {fmt(values[low], m.unit, currency)} "
                     f"({low.strftime('%b %Y')}), highest {fmt(values[high], m.unit, currency)} "
                     f"({high.strftime('%b %Y')}) from {first} to {last}")
        missing = [p.strftime("%b %Y") for p in values.index[values.isna()]]
        if missing:
            text += f"; n/a in {', '.join(missing)}"
        sentences.append(text + ".")
    notes = []
    if len(trends) < 13 and trends.attrs.get("data_start") == str(trends.index[0]):
        notes.append(f"The data start in {first}, so fewer months are shown.")
    if "churn_rate" in trends and trends["churn_rate"].isna().any():
        notes.append("Churn needs three full months of history, so it is n/a in the first "
                     "three months of the data.")
    if trends.attrs.get("gaps"):
        notes.append(f"{', '.join(trends.attrs['gaps'])} had no transactions at all (a gap in "
                     "the data): every number of such a month is n/a, not 0.")
    if trends.attrs.get("distorted"):
        notes.append(f"Churn (and retention, the month after) is n/a in "
                     f"{', '.join(trends.attrs['distorted'])} too: its window reaches back into "
                     "the gap, where every customer would look lost.")
    return bullet_list(sentences) + ("\n\n" + " ".join(notes) if notes else "")


def plot_kpi_trends(trends: pd.DataFrame, *, currency: str):
    """Small multiples of :func:`kpi_trends`: one panel per KPI, undefined months as gaps.

    Revenue is drawn as bars, the rates and AOV as lines; a month where a value
    is undefined has no bar or point (the line breaks) and is marked "n/a".
    Returns the figure's first Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from ...metrics import METRICS

    fig, axes = plt.subplots(2, 2, figsize=(9, 5.5), sharex=True, layout="constrained")
    colors = palette()
    x = np.arange(len(trends))
    for i, (ax, name) in enumerate(zip(axes.ravel(), trends.columns, strict=True)):
        m, values = METRICS[name], trends[name].to_numpy(dtype=float)
        if name in ("revenue", "net_revenue"):
            ok = ~np.isnan(values)
            ax.bar(x[ok], values[ok], color=colors[0])
        else:
            ax.plot(x, values, color=colors[i], marker="o", markersize=4)
        if m.unit == "percent":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        elif m.unit == "currency":
            money_axis(ax.yaxis, currency)
        ax.set_ylim(bottom=0)
        for k in np.flatnonzero(np.isnan(values)):
            ax.text(x[k], 0, "n/a", ha="center", va="bottom", fontsize=7, color="0.4")
        ax.set_title(m.label + (" (lower is better)" if m.lower_is_better else ""), fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[1]:
        ax.set_xticks(x, trends.index.strftime("%b %y"), rotation=45)
    fig.suptitle(f"{trends.index[0]:%B %Y} to {trends.index[-1]:%B %Y}")
    return axes[0, 0]


def build(data: ReportData, *, month: str, title: str, currency: str,
          benchmarks: dict | None = None, options: dict | None = None) -> SectionPage:
    """The executive summary page: headline numbers in context, the trend, the definitions.

    Returns a :class:`~clvkit.report.page.SectionPage` with text
    ``summary``, ``trends`` and ``definitions``, tables ``headline`` and ``trends`` and
    figure ``trends`` (:func:`kpi_trends`).
    """
    kpis = _kpis_with_gaps(data, options=options)         # computed once for both
    headline = _headline(kpis, data, month=month, benchmarks=benchmarks, options=options)
    trends = _trend_window(kpis, month=month, months=13)
    return section_page(
        "executive_summary", title=title, month=month,
        text={"summary": executive_summary_text(headline, month=month, currency=currency,
                                                data=data),
              "trends": kpi_trends_text(trends, currency=currency),
              "definitions": definitions_text(data, month=month, currency=currency,
                                              options=options)},
        tables={"headline": headline_table_display(headline, currency=currency),
                "trends": kpi_trends_display(trends, currency=currency)},
        figures={"trends": plot_kpi_trends(trends, currency=currency)})
