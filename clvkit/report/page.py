"""What the section pages share: the page object, headings, formatting, plotting helpers.

Every section module builds its page with :func:`section_page` and formats
numbers, data text and assumptions with the helpers here (public names; the
old private names stay importable from ``clvkit.report.sections._common``).
Month logic (month ends, cuts up to a month) lives in :mod:`clvkit.report.month`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from .config import SECTIONS, ReportOptions

if TYPE_CHECKING:
    from .data import ReportData


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
                 figures=None, heading: str | None = None) -> SectionPage:
    """A :class:`SectionPage` of ``section`` (a name of :data:`~clvkit.report.config.SECTIONS`).

    Figures are given as the Axes a plotting function returned (or a Figure, or
    a :class:`Chart` with its own alt text); each figure is closed so it is
    displayed once, where the template shows it, and shown as a :class:`Chart`
    (a PNG with alt text for screen readers). ``heading`` replaces the section's
    title where the data decide what the page is about (a page grouped by
    country is titled by country).
    """
    import matplotlib.pyplot as plt

    shown = {}
    for name, item in (figures or {}).items():
        figure = getattr(item, "figure", item)
        plt.close(figure)
        shown[name] = item if isinstance(item, Chart) else Chart(figure)
    return SectionPage(
        heading=section_heading(title, month=month,
                                section=heading or SECTIONS[section].title),
        text=MappingProxyType(dict(text or {})), tables=MappingProxyType(dict(tables or {})),
        figures=MappingProxyType(shown))


def alt_text(figure) -> str:
    """A description of a matplotlib figure for screen readers, from its titles and axis labels.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set(title="Revenue by month", xlabel="month", ylabel="revenue (GBP)")
    >>> alt_text(fig)
    'Chart: Revenue by month (x: month; y: revenue (GBP)).'
    >>> plt.close(fig)
    """
    parts = []
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    panels = []
    for ax in figure.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        title = ax.get_title() or ax.get_title(loc="left")
        axes_text = "; ".join(f"{n}: {t}" for n, t in (("x", ax.get_xlabel()),
                                                       ("y", ax.get_ylabel())) if t)
        if title or axes_text:
            panels.append(title + (f" ({axes_text})" if axes_text else ""))
    if len(panels) > 1:
        parts.append(f"{len(panels)} panels: " + ", ".join(p.strip() for p in panels))
    elif panels:
        parts.append(panels[0].strip())
    return "Chart: " + (". ".join(parts) if parts else "figure without a title") + "."


class Chart:
    """A closed matplotlib figure that a notebook shows as a PNG with alt text.

    ``figure`` is the matplotlib Figure (so code can still inspect it); ``alt``
    the text screen readers read (default :func:`alt_text`). The PNG is the one
    the inline backend would draw (``bbox_inches="tight"``).
    """

    def __init__(self, figure, alt: str | None = None):
        self.figure = getattr(figure, "figure", figure)
        self.alt = alt if alt is not None else alt_text(self.figure)

    def _repr_png_(self):
        import io

        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue(), {"alt": self.alt}

    def __repr__(self):
        return f"<Chart: {self.alt}>"


def section_heading(title: str, *, month: str, section: str) -> str:
    r"""Markdown heading of a section page, with data text escaped.

    Examples
    --------
    >>> section_heading("Shop <A&B>", month="2011-11", section="Data quality")
    '# Data quality\n**Shop &lt;A&amp;B&gt;** -- November 2011'
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    return f"# {section}\n**{md_text(title)}** -- {label}"


def fmt(value, kind: str, currency: str = "GBP", decimals: int | None = None) -> str:
    """A number as page text (:func:`clvkit.narrative.format_value`): "n/a" when undefined."""
    from ..narrative import format_value

    return format_value(value, kind=kind, currency=currency, decimals=decimals)


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def md_text(value) -> str:
    r"""Text from data or config (a title, channel, country, product, file name) for Markdown.

    HTML-escaped and with Markdown punctuation backslash-escaped, so a value such
    as ``[x](javascript:alert(1))`` or a backtick stays text; line breaks become
    spaces. (Pages are sanitised after rendering as well.)

    Examples
    --------
    >>> md_text("[x](javascript:alert(1)) <b>")
    '\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;'
    """
    flat = " ".join(str(value).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(flat, quote=False))


def bullet_list(sentences) -> str:
    """Sentences as a Markdown bullet list, each HTML-escaped."""
    return "\n".join(f"- {html.escape(s)}" for s in sentences)


def typed_options(options) -> ReportOptions:
    """Section options (a mapping or :class:`ReportOptions`) typed, with the defaults."""
    return ReportOptions.from_mapping(options)


def monthly_discount(options: dict) -> float:
    """Monthly discount rate equivalent to ``options["annual_discount_rate"]``."""
    return (1 + options["annual_discount_rate"]) ** (1 / 12) - 1

def has_cac(data: ReportData) -> bool:
    """Whether the data have a per-customer acquisition cost (``customers.cac``)."""
    return data.has("customers") and "cac" in data.customers


def margin_phrase(data: ReportData, options: dict) -> str:
    """What margin a CLV figure assumes, as a phrase ("a gross margin of 30.0% of revenue ...")."""
    if data.has("customers") and "margin" in data.customers:
        return "each customer's own gross margin rate from the data"
    if options["margin"] == 1.0:
        return ("no margin: the configuration sets none (`options.margin` is 100%), so "
                "these \"margin\" figures are revenue; set `options.margin` (e.g. 0.3) "
                "for margin")
    return (f"a gross margin of {fmt(options['margin'], 'percent')} of revenue "
            "(an assumption, set by `options.margin`)")


def clv_assumptions(data: ReportData, options: dict, *, discounted: bool = True) -> str:
    """One sentence: the margin (and discount rate) a CLV figure assumes."""
    margin = margin_phrase(data, options)
    if not discounted:
        return f"Assumes {margin}; not discounted."
    return (f"Assumes {margin} and an annual discount rate of "
            f"{fmt(options['annual_discount_rate'], 'percent')} "
            f"({fmt(monthly_discount(options), 'percent', decimals=2)} a month).")


def new_axes(ax, figsize=(8, 3.5)):
    """``ax``, or the Axes of a new figure of ``figsize``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def palette():
    """The colour-blind-safe palette of every chart."""
    import seaborn as sns

    return sns.color_palette("colorblind")


def money_axis(axis, currency: str) -> None:
    """Format ``axis`` ticks as money in ``currency``, without cents."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, "currency", currency)
                                           .replace(".00", "")))

def margin_rate(data: ReportData, options: dict):
    """Gross margin rate: per customer when the data have it, else the configured rate."""
    if data.has("customers") and "margin" in data.customers:
        return data.customers["margin"]
    return options["margin"]
