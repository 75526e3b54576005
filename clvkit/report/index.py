"""The index page of a report pack, and the notes every page carries (banner, small sample)."""

from __future__ import annotations

import html

import pandas as pd

from .config import (
    ReportConfig,
)
from .kernels import SectionResult
from .month import ReportMonth
from .sections.executive import headline_table_display

#: Customers active in the report month below which every page warns of a small sample.
SMALL_SAMPLE = 30


def small_sample_note(headline: pd.DataFrame, *, month: str) -> str:
    """A warning when few customers bought in the month ("" otherwise).

    Examples
    --------
    >>> head = pd.DataFrame({"value": [12.0]}, index=["active_customers"])
    >>> small_sample_note(head, month="2024-03")[:45]
    'Small sample: only 12 customers bought in Mar'
    """
    if "active_customers" not in headline.index:
        return ""
    active = headline.loc["active_customers", "value"]
    if not pd.notna(active) or active >= SMALL_SAMPLE:
        return ""
    label = pd.Period(month, "M").strftime("%B %Y")
    return (f"Small sample: only {int(active):,} customers bought in {label}. Rates and "
            "changes move by several points with a single customer; read them as "
            "indications, not trends.")


def page_banner(month: ReportMonth, notes=()) -> str:
    """Markdown shown first on every section page: the index link, a partial-month note.

    Examples
    --------
    >>> page_banner(ReportMonth("2024-02", pd.Timestamp("2024-03-01")))
    '[&larr; Report index](index.html)'
    """
    lines = [n for n in (month.note(), *notes) if n]
    return "[&larr; Report index](index.html)" + "".join(f"\n\n**{n}**" for n in lines)


_INDEX_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222}h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0}
th,td{padding:.35rem .8rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.failed{color:#b00020;font-weight:bold}
.skipped{color:#555;font-style:italic}dt{font-weight:bold;margin-top:.4rem}
li{margin:.3rem 0}.warn{background:#fff4e5;border-left:4px solid #b35c00;padding:.4rem .8rem}"""


def _definitions_html(headline: pd.DataFrame) -> str:
    """Definitions of the headline KPIs (from :mod:`clvkit.metrics`) as an HTML list."""
    from ..metrics import definitions_table

    table = definitions_table(list(headline.index))
    items = "\n".join(
        f'<dt id="def-{html.escape(name)}">{html.escape(row.label)}</dt>'
        f"<dd>{html.escape(row.definition)} <em>Formula:</em> {html.escape(row.formula)}."
        + (f" <em>Window:</em> {html.escape(row.window)}." if isinstance(row.window, str)
           else "") + "</dd>"
        for name, row in table.iterrows())
    return f'<h2 id="definitions">Definitions</h2>\n<dl>\n{items}\n</dl>'


def _index_notes(cfg: ReportConfig, period: ReportMonth, extra=()) -> list[str]:
    """Warnings under the index's title: a month in progress, a margin never set, ``extra``."""
    notes = []
    if period.partial:
        notes.append(period.note())
    if cfg.options.margin == 1.0:
        notes.append("No gross margin is configured (options.margin is 100%): every "
                     "\"margin\" and CLV figure in this report is revenue, not profit. Set "
                     "options.margin (e.g. 0.3) in the config.")
    return notes + [n for n in extra if n]


def _index_html(cfg: ReportConfig, period: ReportMonth, headline: pd.DataFrame,
                results: list[SectionResult], notes=(), engine=None) -> str:
    esc = html.escape
    label = period.label
    notes = "".join(f'<p class="warn">{esc(n)}</p>\n' for n in _index_notes(cfg, period, notes))
    privacy = ("Customer ids, names and e-mail addresses are shown as pseudonyms (stable "
               "short hashes; set <code>privacy: {mask_ids: false}</code> or pass "
               "<code>--no-mask</code> to show them). The key of the target lists "
               "(pseudonym &rarr; customer id), for the CRM team to act on them, is "
               "<code>target-lists-key.csv</code>, readable by the report's owner only."
               if cfg.mask_ids else "Customer ids are shown as in the data "
               "(<code>privacy: {mask_ids: false}</code>).")
    table = headline_table_display(headline, currency=cfg.currency)
    rows = "\n".join("<tr><td>" + "</td><td>".join(esc(str(v)) for v in (kpi, *row)) +
                     "</td></tr>" for kpi, row in zip(table.index, table.to_numpy(), strict=True))
    head = "".join(f"<th>{esc(c)}</th>" for c in ("KPI", *table.columns))
    items = []
    for r in results:
        status = ("" if r.status == "ok" else
                  f' <span class="skipped">({esc(r.note or "skipped")})</span>'
                  if r.status == "skipped" else
                  f' <span class="failed">failed: {esc(str((r.error or {}).get("ename")))}'
                  f"</span>")
        link = f'<a href="{esc(r.html)}">{esc(r.title)}</a>' if r.html else esc(r.title)
        nb = f' (<a href="{esc(r.notebook)}">notebook</a>)' if r.notebook else ""
        items.append(f"<li>{link}{nb}{status}</li>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(cfg.title)} -- {esc(label)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{esc(cfg.title)}</h1>
<p class="sub">Monthly CRM report for <strong>{esc(label)}</strong>
(currency {esc(cfg.currency)}; data extracted {period.as_of:%d %B %Y})</p>
{notes}<p class="sub">The same numbers for BI tools, with their definitions:
<a href="kpis.csv">kpis.csv</a></p>
<h2>Headline numbers</h2>
<table id="headline">
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{_definitions_html(headline)}
<h2>Sections</h2>
<ol>
{chr(10).join(items)}
</ol>
<p class="sub">Inputs, parameters and checksums: <a href="manifest.json">manifest.json</a></p>
{f'<p class="sub">Computed with the {esc(engine.line())}.</p>' if engine else ""}
<p class="sub">{privacy}</p>
</body>
</html>
"""
