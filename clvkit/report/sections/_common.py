"""Formatting and plotting helpers shared by the section modules."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from ... import columns as C
from ..config import SECTIONS, ReportOptions

if TYPE_CHECKING:
    from ..data import ReportData


@dataclass(frozen=True, eq=False)
class SectionPage:
    r"""What a section page shows, computed by the section's ``build`` in one call.

    ``heading`` is the page's Markdown heading; ``text`` holds Markdown paragraphs
    (data text escaped), ``tables`` the tables shown (None where the data have
    none), ``figures`` the matplotlib figures (closed, so a notebook shows each
    one where the template displays it), each by name in page order.

    Examples
    --------
    >>> page = section_page("data_quality", title="Shop", month="2011-11",
    ...                     text={"summary": "All checks pass."})
    >>> page.heading
    '# Data quality\n**Shop** -- November 2011'
    >>> list(page.text), dict(page.tables), dict(page.figures)
    (['summary'], {}, {})
    """

    heading: str
    text: Mapping[str, str] = field(default_factory=dict)
    tables: Mapping[str, Any] = field(default_factory=dict)
    figures: Mapping[str, Any] = field(default_factory=dict)


def section_page(section: str, *, title: str, month: str, text=None, tables=None,
                 figures=None) -> SectionPage:
    """A :class:`SectionPage` of ``section`` (a name of :data:`~clvkit.report.config.SECTIONS`).

    Figures are given as the Axes a plotting function returned (or a Figure);
    each figure is closed so it is displayed once, where the template shows it.
    """
    import matplotlib.pyplot as plt

    shown = {}
    for name, item in (figures or {}).items():
        figure = getattr(item, "figure", item)
        plt.close(figure)
        shown[name] = figure
    return SectionPage(
        heading=section_heading(title, month=month, section=SECTIONS[section].title),
        text=MappingProxyType(dict(text or {})), tables=MappingProxyType(dict(tables or {})),
        figures=MappingProxyType(shown))


def section_heading(title: str, *, month: str, section: str) -> str:
    r"""Markdown heading of a section page, with data text escaped.

    Examples
    --------
    >>> section_heading("Shop <A&B>", month="2011-11", section="Data quality")
    '# Data quality\n**Shop &lt;A&amp;B&gt;** -- November 2011'
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    return f"# {section}\n**{_text(title)}** -- {label}"


def _fmt(value, kind: str, currency: str = "GBP", decimals: int | None = None) -> str:
    from ...narrative import format_value

    return format_value(value, kind=kind, currency=currency, decimals=decimals)


def _upto(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """Rows dated up to the end of ``month`` (the report never looks into the future)."""
    end = pd.Period(month, "M").end_time
    return frame.loc[frame[C.DATE] <= end]


def _month_end(month: str) -> pd.Timestamp:
    return pd.Period(month, "M").end_time.normalize()


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def _text(value) -> str:
    r"""Text from data or config (a title, channel, country, product, file name) for Markdown.

    HTML-escaped and with Markdown punctuation backslash-escaped, so a value such
    as ``[x](javascript:alert(1))`` or a backtick stays text; line breaks become
    spaces. (Pages are sanitised after rendering as well.)

    Examples
    --------
    >>> _text("[x](javascript:alert(1)) <b>")
    '\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;'
    """
    flat = " ".join(str(value).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(flat, quote=False))


def _bullets(sentences) -> str:
    return "\n".join(f"- {html.escape(s)}" for s in sentences)


def _options(options) -> ReportOptions:
    """Section options (a mapping or :class:`ReportOptions`) typed, with the defaults."""
    return ReportOptions.from_mapping(options)


def _monthly_discount(options: dict) -> float:
    """Monthly discount rate equivalent to ``options["annual_discount_rate"]``."""
    return (1 + options["annual_discount_rate"]) ** (1 / 12) - 1

def _has_cac(data: ReportData) -> bool:
    return data.has("customers") and "cac" in data.customers


def _margin_phrase(data: ReportData, options: dict) -> str:
    """What margin a CLV figure assumes, as a phrase ("a gross margin of 30.0% of revenue ...")."""
    if data.has("customers") and "margin" in data.customers:
        return "each customer's own gross margin rate from the data"
    if options["margin"] == 1.0:
        return ("no margin: the configuration sets none (`options.margin` is 100%), so "
                "these \"margin\" figures are revenue; set `options.margin` (e.g. 0.3) "
                "for margin")
    return (f"a gross margin of {_fmt(options['margin'], 'percent')} of revenue "
            "(an assumption, set by `options.margin`)")


def _clv_assumptions(data: ReportData, options: dict, *, discounted: bool = True) -> str:
    """One sentence: the margin (and discount rate) a CLV figure assumes."""
    margin = _margin_phrase(data, options)
    if not discounted:
        return f"Assumes {margin}; not discounted."
    return (f"Assumes {margin} and an annual discount rate of "
            f"{_fmt(options['annual_discount_rate'], 'percent')} "
            f"({_fmt(_monthly_discount(options), 'percent', decimals=2)} a month).")


def _axes(ax, figsize=(8, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _palette():
    import seaborn as sns

    return sns.color_palette("colorblind")


def _money_axis(axis, currency: str) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: _fmt(v, "currency", currency)
                                           .replace(".00", "")))

def _margin_rate(data: ReportData, options: dict):
    """Gross margin rate: per customer when the data have it, else the configured rate."""
    if data.has("customers") and "margin" in data.customers:
        return data.customers["margin"]
    return options["margin"]
