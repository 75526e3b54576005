"""CLV by channel section: observed value and CAC per acquisition group, value curves."""

from __future__ import annotations

import pandas as pd

from ... import columns as C
from ...errors import ReportError
from ..data import ReportData
from ..month import observation_stop, observed_upto
from ..page import (
    SectionPage,
    clv_assumptions,
    fmt,
    margin_rate,
    md_text,
    section_page,
    typed_options,
)


def _acquisition_groups(data: ReportData, tx: pd.DataFrame, *, top: int = 6) -> pd.Series:
    """Group of each customer: acquisition channel, else channel or country of the first order.

    Beyond the ``top`` largest groups, customers are pooled as "other".
    """
    if data.has("customers") and "channel" in data.customers:
        labels = data.customers["channel"].astype("object")
        labels.name = "channel"
    else:
        column = next((c for c in (C.CHANNEL, "country") if c in tx), None)
        if column is None:
            raise ReportError("CLV by channel needs an acquisition channel: customers with "
                              "`channel` (synthetic CRM), or a `channel` or `country` column")
        first = tx.sort_values(C.DATE, kind="mergesort").drop_duplicates(C.CUSTOMER_ID)
        labels = first.set_index(C.CUSTOMER_ID)[column].astype("object")
        labels.name = column
    largest = labels.value_counts().index[:top]
    return labels.where(labels.isin(largest), "other")


def _acquired_and_lines(data: ReportData, tx: pd.DataFrame, month: str
                        ) -> tuple[pd.Series, pd.DataFrame, pd.Timestamp]:
    """Acquisition date per customer, purchase and return lines, and the observation end.

    Acquisition is the customers table's ``acquisition_date`` when the data have
    one, else the first purchase; returns (negative amounts) are included so that
    value is net of returns, as :func:`clvkit.economics.cumulative_margin` expects,
    except returns dated before the customer's acquisition or by customers with no
    purchase (goods bought before the data begin).
    """
    end = observation_stop(data, month)     # the extract date of a month in progress
    if data.has("customers") and "acquisition_date" in data.customers:
        acquired = pd.to_datetime(data.customers["acquisition_date"])
    else:
        acquired = tx.groupby(C.CUSTOMER_ID)[C.DATE].min()
    acquired = acquired.loc[acquired < end]
    lines = tx[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]]
    if data.returns is not None and len(data.returns):
        returned = observed_upto(data.returns, data, month)[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]]
        # a return by a customer with no purchase since acquisition (the goods were bought
        # before the data begin) belongs to no customer's observed value
        since = returned[C.CUSTOMER_ID].map(acquired)
        returned = returned.loc[since.notna() & (returned[C.DATE] >= since)]
        lines = pd.concat([lines, returned], ignore_index=True)
    return acquired, lines, end


def clv_by_channel(data: ReportData, *, month: str, horizon: int = 12,
                   options: dict | None = None) -> pd.DataFrame:
    """Observed value (``horizon`` months of margin net of returns) per acquisition group, vs CAC.

    The ``observed_value`` metric of :mod:`clvkit.metrics`, computed by the same
    function as the course (:func:`clvkit.economics.cumulative_margin`): margin
    net of returns in the first ``horizon`` months after acquisition (months of
    average Gregorian length, 30.44 days), averaged over the customers acquired
    at least ``horizon`` months before the end of ``month``. Acquisition is the
    customers table's ``acquisition_date`` when the data have one, else the first
    purchase. The mean CAC of the group and the ratio (LTV:CAC) are added when the
    data have CAC. Without acquisition channels the customers are grouped by the
    channel or country of their first order (``attrs["group"]`` names it).
    ``ranked`` is False for groups with fewer than ``options["min_group_size"]``
    customers observed over the horizon (and for "other"): they are shown but
    never called best or worst.
    """
    from ...economics import cumulative_margin

    options = typed_options(options)
    tx = observed_upto(data.transactions, data, month)
    groups = _acquisition_groups(data, tx)
    acquired, lines, end = _acquired_and_lines(data, tx, month)
    customers = pd.DataFrame({"acquisition_date": acquired,
                              "group": groups.reindex(acquired.index)}).dropna()
    curve = cumulative_margin(customers, lines, observation_end=end, by="group",
                              margin=margin_rate(data, options), time_unit="M",
                              max_age=horizon - 1)
    at = curve.loc[curve["age"] == horizon - 1].set_index("group")
    value = pd.DataFrame({"customers": customers["group"].value_counts()})
    value["customers_observed"] = (at["customers_observed"].reindex(value.index).fillna(0)
                                   .astype("int64"))
    value["value"] = at["cumulative_margin"].reindex(value.index)
    if data.has("customers") and "cac" in data.customers:
        value["cac"] = data.customers["cac"].groupby(groups).mean()
        value["ltv_to_cac"] = value["value"] / value["cac"]
    value.index.name = groups.name
    value.attrs.update(group=groups.name, horizon=horizon, period="M",
                       value="margin net of returns",
                       assumptions=clv_assumptions(data, options, discounted=False),
                       min_group_size=options["min_group_size"],
                       observation_end=end - pd.Timedelta(days=1))
    value["ranked"] = ((value["customers_observed"] >= options["min_group_size"])
                       & (value.index != "other"))
    return value.sort_values("value", ascending=False, kind="mergesort")


def cohort_value_curves(data: ReportData, *, month: str, options: dict | None = None,
                        max_months: int = 12) -> pd.DataFrame:
    """Mean cumulative margin (net of returns) per customer by months since acquisition.

    One curve per acquisition quarter (columns, e.g. ``"2011Q1"``), computed like
    the ``observed_value`` metric (:func:`clvkit.economics.cumulative_margin`:
    months of 30.44 days since acquisition). Each curve stops at the last age the
    whole quarter's cohort has reached, so the same customers are averaged all
    along it; a quarter with no such age is left out. ``attrs["customers"]``
    holds the counts.
    """
    from ...economics import cumulative_margin

    options = typed_options(options)
    tx = observed_upto(data.transactions, data, month)
    acquired, lines, end = _acquired_and_lines(data, tx, month)
    customers = pd.DataFrame({"acquisition_date": acquired,
                              "quarter": acquired.dt.to_period("Q").astype(str)})
    long = cumulative_margin(customers, lines, observation_end=end, by="quarter",
                             margin=margin_rate(data, options), time_unit="M",
                             max_age=max_months - 1)
    curves = long.pivot(index="age", columns="quarter", values="cumulative_margin")
    counts = long.pivot(index="age", columns="quarter", values="customers_observed")
    # only ages the whole quarter has reached: a curve averaged over fewer and fewer
    # customers changes composition along its length and jumps (the newest cohort drops)
    whole = counts.ge(customers.groupby("quarter").size().reindex(counts.columns), axis=1)
    curves = curves.where(whole).dropna(axis=1, how="all")
    counts = counts.where(whole)[curves.columns]
    curves.index.name = counts.index.name = "months_since_acquisition"
    curves.columns.name = counts.columns.name = "acquisition quarter"
    curves.attrs.update(customers=counts, value="margin net of returns")
    return curves


def clv_by_channel_text(table: pd.DataFrame, *, currency: str, horizon: int,
                        benchmark: float | None = None) -> str:
    """Sentences comparing groups' observed value and observed value:CAC.

    Only groups marked ``ranked`` (at least ``attrs["min_group_size"]``
    customers observed; "other" never) are called best or worst; the text names
    the groups too small to rank.
    """
    minimum = table.attrs.get("min_group_size", 1)
    ranked = (table["ranked"] if "ranked" in table
              else (table["customers_observed"] >= minimum) & (table.index != "other"))
    named = table.loc[ranked, "value"].dropna()
    small = [i for i in table.index[~ranked] if i != "other"]
    via = {"channel": "acquired through", "country": "from"}.get(table.attrs.get("group"),
                                                                 "in group")
    kind = {"channel": "channel", "country": "country"}.get(table.attrs.get("group"), "group")
    ratio = (table.loc[ranked, "ltv_to_cac"].dropna() if "ltv_to_cac" in table
             else pd.Series(dtype=float))
    if len(ratio) >= 2:         # where CAC is known, the ranking follows value:CAC
        best, worst = ratio.idxmax(), ratio.idxmin()
        text = (f"Ranked by observed value:CAC (margin brought per unit of acquisition "
                f"cost), customers {via} **{md_text(best)}** return "
                f"{fmt(ratio[best], 'number', currency)} times their acquisition cost "
                f"({fmt(table.loc[best, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months for a CAC of "
                f"{fmt(table.loc[best, 'cac'], 'currency', currency)}), against "
                f"{fmt(ratio[worst], 'number', currency)} {via} {md_text(worst)}.")
    elif len(named) >= 2:
        best, worst = named.idxmax(), named.idxmin()
        text = (f"A customer {via} **{md_text(best)}** brought "
                f"{fmt(table.loc[best, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[best, 'customers_observed']):,} "
                f"customers observed), against "
                f"{fmt(table.loc[worst, 'value'], 'currency', currency)} {via} "
                f"{md_text(worst)} ({int(table.loc[worst, 'customers_observed']):,} customers).")
    elif len(named) == 1:
        only = named.index[0]
        text = (f"A customer {via} **{md_text(only)}** brought "
                f"{fmt(table.loc[only, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[only, 'customers_observed']):,} "
                f"customers observed); no other {kind} is large enough to compare with it.")
    else:
        text = (f"No {kind} has the {minimum:,} customers observed over {horizon} months "
                "needed to compare it with others, so none is called best or worst.")
    if small:
        text += (f" Too few customers to rank (fewer than {minimum:,} observed, shown in the "
                 f"table but not compared): {', '.join(md_text(g) for g in small)}.")
    if "ltv_to_cac" in table:
        if len(ratio):
            text += (f" Among the {kind} groups large enough to rank, observed value:CAC "
                     f"ranges from {fmt(ratio.min(), 'number', currency)} "
                     f"({md_text(ratio.idxmin())}) to {fmt(ratio.max(), 'number', currency)}"
                     f" ({md_text(ratio.idxmax())})")
            if benchmark is not None:
                below = ratio.index[ratio < benchmark]
                text += (f"; {len(below)} fall below the target of "
                         f"{fmt(benchmark, 'number', currency)}"
                         + (f": {', '.join(md_text(c) for c in below)}" if len(below)
                            else ""))
            text += "."
    if table.attrs.get("assumptions"):
        text += f" Observed value is historical gross margin. {table.attrs['assumptions']}"
    return text


def clv_by_channel_display(table: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted channel table: customers, customers observed, value, CAC, and whether ranked."""
    out = table[["customers", "customers_observed"]].copy()
    out["observed value per customer (margin)"] = [fmt(v, "currency", currency)
                                                   for v in table["value"]]
    if "cac" in table:
        out["CAC"] = [fmt(v, "currency", currency) for v in table["cac"]]
        out["observed value:CAC"] = [fmt(v, "number", currency) for v in table["ltv_to_cac"]]
    if "ranked" in table:
        minimum = table.attrs.get("min_group_size", 1)
        out["ranked"] = ["yes" if r else ("no (pooled)" if i == "other"
                                          else f"no (< {minimum:,} customers)")
                         for i, r in zip(table.index, table["ranked"], strict=True)]
    return out


def plot_clv_by_channel(table: pd.DataFrame, *, currency: str, ax=None):
    """:func:`clvkit.plotting.clv_by_channel` with each channel's mean CAC marked (when known)."""
    from ...plotting import clv_by_channel as bars

    ax = bars(table, currency=currency, ax=ax)
    if "cac" in table:
        ordered = table.sort_values("value")
        ax.scatter(ordered["cac"], [str(i) for i in ordered.index], color="black",
                   marker="D", zorder=3, label="mean CAC")
        ax.legend(loc="lower right", fontsize="small")
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str,
          benchmarks: dict | None = None, options: dict | None = None) -> SectionPage:
    """The CLV by channel page: observed value and CAC per group, value curves by cohort.

    Returns a :class:`~clvkit.report.page.SectionPage` with text
    ``summary``, table ``channels`` and figures ``channels`` and ``curves``.
    """
    from ...plotting import clv_over_tenure

    options = typed_options(options)
    horizon = options["clv_horizon_months"]
    table = clv_by_channel(data, month=month, horizon=horizon, options=options)
    text = clv_by_channel_text(table, currency=currency, horizon=horizon,
                               benchmark=(benchmarks or {}).get("observed_value_to_cac"))
    heading = ("CLV by country and cohort" if table.attrs.get("group") == "country"
               else None)
    bars = plot_clv_by_channel(table, currency=currency)
    curves = cohort_value_curves(data, month=month, options=options)
    return section_page(
        "clv_by_channel", title=title, month=month, text={"summary": text}, heading=heading,
        tables={"channels": clv_by_channel_display(table, currency=currency)},
        figures={"channels": bars, "curves": clv_over_tenure(curves, currency=currency)})
