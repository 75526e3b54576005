"""Data-quality section: the cleaning log, revenue bridge, independent checks and data gaps."""

from __future__ import annotations

import html

import pandas as pd

from ... import columns as C
from ..data import ReportData, report_tables
from ..month import month_end
from ..page import SectionPage, fmt, md_text, section_page

#: The loader's reason for summary/total rows (left out of the input total).
_SUMMARY_REASON = "summary / total row"


def _input_total(log: pd.DataFrame) -> float:
    """The input's total amount: every row's readable amount except summary/total rows.

    A spreadsheet's "Total" or "Summe" row repeats the sum of the rows above;
    counting it would double the input.
    """
    return log.loc[log["reason"] != _SUMMARY_REASON, "amount"].sum(min_count=1)


def data_quality_table(data: ReportData, *, currency: str) -> pd.DataFrame:
    """The cleaning log with a total row: rows and amount per reason ("n/a" where unreadable).

    The total's amount leaves out summary/total rows (their own line shows them).
    """
    log = data.log[["reason", "action", "rows", "amount"]].copy()
    summary = (log["reason"] == _SUMMARY_REASON).any()
    total = pd.DataFrame({"reason": ["total (input, without summary rows)" if summary
                                     else "total (input)"], "action": [""],
                          "rows": [int(log.loc[log["reason"] != _SUMMARY_REASON,
                                               "rows"].sum())],
                          "amount": [_input_total(log)]})
    log = pd.concat([log, total], ignore_index=True)
    log["share of rows"] = [fmt(v, "percent", currency) for v in log["rows"] / data.rows_read]
    log["amount"] = log["amount"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.2f}")
    log = log.rename(columns={"amount": f"amount ({currency})"})
    return log.set_index("reason")


def revenue_bridge_table(data: ReportData, *, month: str, currency: str) -> pd.DataFrame | None:
    """The month's revenue bridge from the file to the headline (None without raw input).

    Rows: :data:`clvkit.reconcile.BRIDGE_STEPS`; columns rows and amount
    (formatted, "n/a" for amounts that could not be read), and the report's own
    revenue of the month under the last line for comparison.
    """
    if data.bridge is None or len(data.bridge) == 0:
        return None
    bridge = data.bridge.loc[data.bridge["month"] == month].set_index("step")
    if bridge.empty:
        return None
    out = pd.DataFrame({"rows": bridge["rows"].astype(int),
                        f"amount ({currency})": [fmt(v, "currency", currency, 2)
                                                 for v in bridge["amount"]]})
    out.index = [("= " if s.endswith(" revenue") else "" if s.startswith("all") else "- ") + s
                 for s in out.index]
    out.index.name = "step"
    monthly = report_tables(data).monthly.set_index("period")
    period = pd.Period(month, "M")
    lines = int(monthly["rows"].get(period.ordinal, 0))
    out.loc["report: gross revenue of the month"] = [
        lines, fmt(float(monthly["revenue"].get(period.ordinal, 0.0)), "currency", currency, 2)]
    net = _monthly_revenue(data, net=True)
    out.loc["report: net revenue of the month"] = [
        lines, fmt(net.get(period, 0.0), "currency", currency, 2)]
    return out


def _monthly_revenue(data: ReportData, *, net: bool = False) -> pd.Series:
    """The report's gross (or net: less returns and refunds) revenue per month."""
    tables = report_tables(data)
    sold = tables.monthly.loc[tables.monthly["rows"] > 0]
    gross = pd.Series(sold["revenue"].to_numpy(dtype=float), name=C.AMOUNT,
                      index=pd.PeriodIndex.from_ordinals(sold["period"].to_numpy(), freq="M",
                                                         name=C.DATE))
    if not net:
        return gross
    returned = tables.returns()
    months = gross.index.union(returned.index)
    return gross.reindex(months, fill_value=0.0) - returned.reindex(months, fill_value=0.0)


def quality_checks(data: ReportData) -> pd.DataFrame:
    """Checks that can fail: the loader's accounts against totals computed from the raw input.

    Returns
    -------
    DataFrame
        One row per check: ``check``, ``expected``, ``found``, ``ok`` (bool). The
        checks: rows read (raw file vs loader), input total (raw file's readable
        amounts vs the cleaning log), kept amount (log vs the loaded purchases)
        and the revenue of every month (bridge vs report). Without a raw input
        (data given as a LoadResult) only the log's own identity is checked.
    """
    log = data.log
    rows = []
    kept_log = float(log.loc[log["action"].str.startswith("kept"), "amount"].sum())
    kept_data = float(data.transactions[C.AMOUNT].sum())
    if data.non_product is not None and len(data.non_product):
        kept_data += float(data.non_product[C.AMOUNT].sum())
    dropped = log.loc[(log["action"] == "dropped") & (log["reason"] != _SUMMARY_REASON)]
    parts = (kept_log, float(data.returns[C.AMOUNT].sum()), float(dropped["amount"].sum()))
    rows.append(("log: kept + returns + dropped = input total", float(_input_total(log) or 0.0),
                 sum(parts)))
    rows.append(("kept purchases: log vs loaded data", kept_log, kept_data))
    totals = data.file_totals
    if totals:
        rows.append(("rows: raw file vs loader", totals["rows"], data.rows_read))
        rows.append(("input total: raw file vs cleaning log (without summary rows)",
                     totals["amount"], float(_input_total(log) or 0.0)))
    if data.bridge is not None and len(data.bridge):
        from ...reconcile import check_bridge

        bridge = data.bridge.set_index(["month", "step"])
        for month, row in check_bridge(bridge, _monthly_revenue(data)).iterrows():
            rows.append((f"revenue {month}: bridge vs report", row["bridge"], row["report"]))
        if "net revenue" in set(data.bridge["step"]):
            for month, row in check_bridge(bridge, _monthly_revenue(data, net=True),
                                           step="net revenue").iterrows():
                rows.append((f"net revenue {month}: bridge vs report", row["bridge"],
                             row["report"]))
    out = pd.DataFrame(rows, columns=["check", "expected", "found"])
    out["ok"] = (out["expected"].astype(float) - out["found"].astype(float)).abs() < 0.005
    return out.set_index("check")


def quality_checks_display(checks: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """:func:`quality_checks` formatted: counts as counts, money to the cent, "ok" or "FAILED"."""
    def show(name, value):
        return (fmt(value, "count", currency) if name.startswith("rows")
                else fmt(value, "currency", currency, 2))

    return pd.DataFrame({
        "expected": [show(n, v) for n, v in checks["expected"].items()],
        "found": [show(n, v) for n, v in checks["found"].items()],
        "result": ["ok" if ok else "FAILED" for ok in checks["ok"]]},
        index=checks.index)


def data_gaps(data: ReportData) -> list[str]:
    """Months between the first and the last transaction with no row at all in the input."""
    if data.bridge is not None and len(data.bridge):
        first = data.bridge.loc[data.bridge["step"] == "all rows in the month"]
        return [str(m) for m in first.loc[first["rows"] == 0, "month"]]
    tx = data.transactions
    if len(tx) == 0:
        return []
    months = tx[C.DATE].dt.to_period("M")
    span = pd.period_range(months.min(), months.max(), freq="M")
    return [str(m) for m in span.difference(pd.PeriodIndex(months.unique()))]


def data_quality_text(data: ReportData, *, currency: str, month: str | None = None) -> str:
    """Sentences on rows read, kept and dropped, the independent checks, date range and gaps."""
    log = data.log
    kept_rows = int(log.loc[log["action"].str.startswith("kept"), "rows"].sum())
    dropped = log.loc[log["action"] == "dropped"]
    reasons = ", ".join(f"{int(r.rows):,} {md_text(r.reason)}"
                        for r in dropped.itertuples()) or "none"
    source = (md_text(data.source) if isinstance(data.source, str) and data.source.strip()
              else "the input")
    text = (f"{data.rows_read:,} rows were read from {source} (the whole "
            f"file, not only this month); **{kept_rows:,}** were kept as purchases, "
            f"{int(log.loc[log['action'] == 'separated', 'rows'].sum()):,} set apart as "
            f"returns or cancellations, and {int(dropped['rows'].sum()):,} dropped "
            f"({reasons}).")
    merged = int(log.loc[log["action"] == "counted in its order", "rows"].sum())
    if merged:
        text += (f" The other {merged:,} rows are further lines of multi-line orders whose "
                 "amount (the order's total) is on the order's first line: each order is "
                 "counted once, with that total; these lines are not unreadable amounts.")
    if data.non_product is not None and len(data.non_product):
        text += (f" Of the purchases, {len(data.non_product):,} lines are not products "
                 f"(postage, fees; {fmt(data.non_product[C.AMOUNT].sum(), 'currency', currency)}"
                 ") and are left out of revenue.")
    checks = quality_checks(data)
    failed = checks.loc[~checks["ok"]]

    def money(name, value):
        return fmt(value, "count" if name.startswith("rows") else "currency", currency,
                    None if name.startswith("rows") else 2)

    if failed.empty:
        text += (f"\n\n**All {len(checks)} checks pass**: the loader's counts and totals "
                 "agree with totals computed independently from the raw input, for the file "
                 "and for the revenue of every month.")
    else:
        items = "; ".join(f"{html.escape(name)}: expected {money(name, r.expected)}, found "
                          f"{money(name, r.found)}" for name, r in failed.iterrows())
        text += (f"\n\n**CHECK FAILED: {len(failed)} of {len(checks)} checks do NOT "
                 f"reconcile** ({items}). Do not trust the revenue figures until this is "
                 "explained.")
    totals = data.file_totals or {}
    if totals.get("unreadable_amount_rows"):
        text += (f" {totals['unreadable_amount_rows']:,} rows have an amount that could not "
                 "be read: they are counted as rows, their amount is n/a (not 0).")
    if totals.get("unreadable_date_rows"):
        text += (f" {totals['unreadable_date_rows']:,} rows have a date that could not be "
                 "read and belong to no month.")
    activity = report_tables(data).activity
    if len(activity):
        first, last = (pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(d))
                       for d in (activity["first_day"].min(), activity["last_day"].max()))
        text += (f"\n\nThe purchases run from {first:%d %B %Y} to {last:%d %B %Y}")
        if month is not None:
            lag = (last.normalize() - month_end(month)).days
            text += (f"; the data end {abs(lag)} day(s) "
                     f"{'after' if lag >= 0 else 'before'} the end of the report month"
                     + (" (the month may be incomplete)" if lag < 0 else ""))
        text += "."
    if data.decisions:
        text += ("\n\nHow the input was read (each choice was made once, from the whole "
                 "column or file; the option in brackets changes it):\n\n"
                 + "\n".join(f"- {md_text(d.replace('`', ''))}"
                             for d in data.decisions))
    gaps = data_gaps(data)
    if gaps:
        text += (f" **Data gap:** no transactions at all in {', '.join(gaps)}; these months "
                 "are shown as n/a, not as a fall in sales.")
    return text


def build(data: ReportData, *, month: str, title: str, currency: str) -> SectionPage:
    """The data-quality page: the cleaning log, the month's revenue bridge, independent checks.

    Returns a :class:`~clvkit.report.page.SectionPage` with text
    ``summary`` and tables ``log``, ``bridge`` (None without a bridge) and ``checks``.
    """
    return section_page(
        "data_quality", title=title, month=month,
        text={"summary": data_quality_text(data, currency=currency, month=month)},
        tables={"log": data_quality_table(data, currency=currency),
                "bridge": revenue_bridge_table(data, month=month, currency=currency),
                "checks": quality_checks_display(quality_checks(data), currency=currency)})
