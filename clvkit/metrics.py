"""One vocabulary: the definitions of every KPI and CLV figure clvkit reports or teaches.

Each metric has one name and one meaning. The report's KPI table, its
narrative sentences (:mod:`clvkit.narrative`), its definitions block and the
course notebooks all read this registry, so "repeat rate" cannot mean one
thing on one page and another on the next.

Two metrics that used to share the name "repeat rate" are now distinct:

* ``returning_share`` -- of the customers who bought **this month**, the share
  who had bought before (a monthly mix of the active base);
* ``repeat_purchase_rate`` -- of **all customers seen so far**, the share with
  at least two orders (a cumulative property of the customer base).

CLV is a family of named quantities (:data:`CLV_FAMILY`): observed
(historical) value, retention-model CLV and predictive (model) CLV. Each says
whether it is revenue or margin, its horizon, its discount rate and the margin
it assumes.

Examples
--------
>>> m = metric("churn_rate")
>>> m.label, m.unit, m.lower_is_better
('Churn rate', 'percent', True)
>>> metric("returning_share").denominator
'active customers this month'
>>> metric("repeat_rate")
Traceback (most recent call last):
...
clvkit.errors.ClvError: unknown metric 'repeat_rate': it was split in two, 'returning_share' \
(bought before, among this month's buyers) and 'repeat_purchase_rate' (2+ orders, among all \
customers so far)
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import pandas as pd

from .errors import ClvError

__all__ = ["Metric", "METRICS", "KPI_NAMES", "CLV_FAMILY", "OBJECTIVES", "KPIS_BY_OBJECTIVE",
           "metric", "definitions_table", "definitions_markdown", "objectives_table"]

#: Narrative kinds a metric's unit can take (see :data:`clvkit.narrative.KINDS`).
UNITS = ("currency", "percent", "count", "number")


@dataclass(frozen=True)
class Metric:
    """The definition of one metric.

    Attributes
    ----------
    name : str
        Identifier: column of :func:`clvkit.crm.monthly_kpis`, key of a report's
        ``benchmarks``.
    label : str
        Name shown to readers.
    definition : str
        One sentence a manager can read.
    formula : str
        How it is computed, in words and symbols.
    numerator, denominator : str
        What is counted (denominator None for totals and counts).
    unit : {"currency", "percent", "count", "number"}
        How the value is formatted.
    lower_is_better : bool
        Direction of "better" in comparisons with targets.
    window : str or None
        Time window or base the definition depends on (e.g. churn's 3 months).
    basis : {"revenue", "margin"} or None
        For money metrics: revenue or gross margin.
    family : {"kpi", "clv"}
        Headline KPI or member of the CLV family.
    """

    name: str
    label: str
    definition: str
    formula: str
    numerator: str
    denominator: str | None
    unit: str
    lower_is_better: bool = False
    window: str | None = None
    basis: str | None = None
    family: str = "kpi"

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ClvError(f"metric {self.name!r}: unit must be one of {list(UNITS)}, "
                           f"got {self.unit!r}")

    @property
    def higher_is_better(self) -> bool:
        """The opposite of :attr:`lower_is_better`."""
        return not self.lower_is_better


_M = Metric
_ALL = (
    _M("net_revenue", "Net revenue",
       "What identified customers spent in the month after returns, refunds and credit "
       "notes: gross revenue minus returns and refunds. The report's headline revenue.",
       "revenue - returns (both dated in the month)", "purchase amounts less returns and "
       "refunds", None, "currency", basis="revenue"),
    _M("revenue", "Gross revenue",
       "Value of the month's purchases (sales) by identified customers, before returns and "
       "refunds; cancellations, duplicates and non-product lines (postage, fees) are set "
       "apart.",
       "sum of purchase amounts dated in the month", "purchase amounts", None, "currency",
       basis="revenue"),
    _M("returns", "Returns and refunds",
       "Value of the month's returns, cancellations and credit notes (negative rows) and of "
       "the refunds column, by identified customers, as a positive amount.",
       "minus the sum of negative (return) amounts dated in the month, plus refunds recorded on "
       "the month's purchases", "returned and refunded amounts", None, "currency",
       lower_is_better=True, basis="revenue"),
    _M("orders", "Orders", "Distinct orders placed in the month.",
       "count of distinct order ids (without order ids: distinct customer-days)",
       "orders", None, "count"),
    _M("active_customers", "Active customers",
       "Customers with at least one purchase in the month.",
       "count of distinct customer ids with a purchase in the month", "customers", None,
       "count"),
    _M("new_customers", "New customers",
       "Active customers whose first purchase in the data falls in the month (customers who "
       "bought before the data start count as new when first seen).",
       "active customers whose first purchase date in the data is in the month",
       "customers", None, "count"),
    _M("returning_customers", "Returning customers",
       "Active customers who had bought in an earlier month of the data.",
       "active customers - new customers", "customers", None, "count"),
    _M("average_order_value", "Average order value (AOV)", "Revenue per order in the month.",
       "revenue / orders", "revenue", "orders", "currency", basis="revenue"),
    _M("returning_share", "Returning share",
       "Of the customers who bought this month, the share who had bought before.",
       "returning customers / active customers", "returning customers this month",
       "active customers this month", "percent"),
    _M("repeat_purchase_rate", "Repeat purchase rate",
       "Of all customers seen from the data start to the end of the month, the share with at "
       "least two orders.",
       "customers with 2+ orders / customers with 1+ order (cumulative to the month end)",
       "customers with at least two orders so far", "customers with at least one order so far",
       "percent", window="cumulative from the data start"),
    _M("retention_rate", "Retention rate",
       "Of last month's buyers, the share who bought again this month.",
       "customers active in both t-1 and t / customers active in t-1",
       "customers active last month and this month", "customers active last month",
       "percent", window="one month to the next"),
    _M("churn_rate", "Churn rate",
       "Of the customer base at the end of last month (everyone who bought in the last "
       "{inactive_periods} months), the share who this month complete {inactive_periods} "
       "months in a row without a purchase.",
       "customers completing {inactive_periods} months without a purchase in t / base at the "
       "end of t-1 (customers with a purchase in the {inactive_periods} months up to t-1)",
       "customers who reach {inactive_periods} months without a purchase this month",
       "customers who bought in the {inactive_periods} months up to last month", "percent",
       lower_is_better=True, window="{inactive_periods} months without a purchase; undefined "
       "(n/a) in the first {inactive_periods} months of the data"),
    _M("acquisition_cost", "Acquisition cost (CAC)",
       "Mean acquisition cost of the customers whose first purchase in the data falls in the "
       "month.", "acquisition cost of the month's new customers / new customers",
       "acquisition cost of the month's new customers", "new customers of the month",
       "currency", lower_is_better=True),
    _M("multi_category_share", "Cross-buying share",
       "Of all customers seen from the data start to the end of the month, the share who "
       "bought from at least two product categories.",
       "customers with 2+ categories / customers with 1+ order (cumulative to the month end)",
       "customers who bought from at least two categories so far",
       "customers with at least one order so far", "percent",
       window="cumulative from the data start"),
    _M("categories_per_customer", "Categories per customer",
       "Mean number of distinct product categories bought by the customers seen from the data "
       "start to the end of the month.",
       "sum over customers of their distinct categories / customers (cumulative to the month "
       "end)", "distinct (customer, category) pairs so far", "customers with at least one "
       "order so far", "number", window="cumulative from the data start"),
    _M("retention_clv", "CLV (retention model, margin)",
       "Expected discounted gross margin of a customer in the churn base, if this month's "
       "margin per customer and churn rate held for ever.",
       "m r / (1 + d - r): m = gross margin of the month / churn base at the end of last month, "
       "r = 1 - churn rate, d = monthly discount rate",
       "the month's gross margin (revenue x margin rate)",
       "customers in the churn base at the end of last month", "currency",
       window="infinite horizon, monthly steps", basis="margin", family="clv"),
    _M("ltv_to_cac", "LTV:CAC (retention-model CLV)",
       "Retention-model CLV divided by the mean acquisition cost of the month's new customers.",
       "retention_clv / mean CAC of customers acquired in the month", "retention-model CLV",
       "mean CAC of the month's new customers", "number", basis="margin", family="clv"),
    _M("observed_value", "Observed value (historical, margin)",
       "Gross margin, net of returns, a customer actually produced in their first {horizon} "
       "months after acquisition (not a prediction; months of 30.44 days).",
       "mean over customers acquired at least {horizon} months ago of the summed gross margin "
       "net of returns in months 0..{horizon_1} after acquisition "
       "(clvkit.economics.cumulative_margin)",
       "gross margin of the group's customers", "customers observed for the whole horizon",
       "currency", window="first {horizon} months after acquisition", basis="margin",
       family="clv"),
    _M("observed_value_to_cac", "Observed value:CAC",
       "Observed {horizon}-month margin per customer divided by the mean acquisition cost "
       "of the group.", "observed_value / mean CAC", "observed value", "mean CAC", "number",
       basis="margin", family="clv"),
    _M("predicted_clv", "Predictive CLV (purchase model + Gamma-Gamma)",
       "Expected discounted value of a customer's purchases in the next 12 months, from "
       "a purchase model (BG/NBD, MBG/NBD or Pareto/NBD, whichever fits best on a holdout "
       "and is not degenerate) and the Gamma-Gamma spend model, fitted to all purchases to "
       "the month end.",
       "sum over months 1..12 of expected purchases x expected spend per purchase / (1+d)^k; "
       "margin = revenue x margin rate", "expected revenue (and margin) per customer", None,
       "currency", window="next 12 months", basis="revenue and margin", family="clv"),
)

#: Every metric by name.
METRICS: dict[str, Metric] = {m.name: m for m in _ALL}
#: Headline KPIs of the monthly report, in display order.
KPI_NAMES: tuple[str, ...] = ("net_revenue", "revenue", "returns", "orders", "active_customers",
                              "new_customers", "returning_customers", "average_order_value",
                              "returning_share", "repeat_purchase_rate", "churn_rate",
                              "retention_rate",
                              "retention_clv", "ltv_to_cac")
#: The CLV family, from observed to predicted.
CLV_FAMILY: tuple[str, ...] = ("observed_value", "retention_clv", "predicted_clv")
#: The three objectives a CRM programme's KPIs are organised by.
OBJECTIVES: tuple[str, ...] = ("acquisition", "retention", "cross_selling")
#: The monthly KPIs of each objective (names of :data:`METRICS`; all computed per month by
#: :func:`clvkit.strategy.objective_kpis`). The CLV family links acquisition and retention
#: (``ltv_to_cac``, ``retention_clv``) and is listed in :data:`CLV_FAMILY`.
KPIS_BY_OBJECTIVE: dict[str, tuple[str, ...]] = {
    "acquisition": ("new_customers", "acquisition_cost"),
    "retention": ("retention_rate", "churn_rate", "repeat_purchase_rate"),
    "cross_selling": ("multi_category_share", "categories_per_customer",
                      "average_order_value"),
}

_RENAMED = {"repeat_rate": "it was split in two, 'returning_share' (bought before, among this "
                           "month's buyers) and 'repeat_purchase_rate' (2+ orders, among all "
                           "customers so far)",
            "aov": "use 'average_order_value'",
            "clv": "use 'retention_clv' (or 'observed_value', 'predicted_clv')"}


def metric(name: str) -> Metric:
    """The :class:`Metric` called ``name`` (a clear error for old or unknown names)."""
    if name in METRICS:
        return METRICS[name]
    hint = _RENAMED.get(name, f"known metrics are {sorted(METRICS)}")
    raise ClvError(f"unknown metric {name!r}: {hint}")


class _Defaults(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _fill(text: str | None, context: dict) -> str | None:
    if text is None:
        return None
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    return text.format_map(_Defaults({k: v for k, v in context.items() if k in names}))


def _context(inactive_periods: int = 3, horizon: int = 12) -> dict:
    return {"inactive_periods": inactive_periods, "horizon": horizon, "horizon_1": horizon - 1}


def definitions_table(names=None, *, inactive_periods: int = 3, horizon: int = 12
                      ) -> pd.DataFrame:
    """The definitions of ``names`` (default all metrics) as a table, one row per metric.

    Examples
    --------
    >>> t = definitions_table(["churn_rate"], inactive_periods=3)
    >>> t.loc["churn_rate", "window"]
    '3 months without a purchase; undefined (n/a) in the first 3 months of the data'
    >>> list(t.columns)
    ['label', 'definition', 'formula', 'numerator', 'denominator', 'unit', 'lower_is_better', \
'window', 'basis', 'family']
    """
    context = _context(inactive_periods, horizon)
    rows = {}
    for name in (METRICS if names is None else names):
        m = metric(name)
        rows[name] = {"label": m.label, "definition": _fill(m.definition, context),
                      "formula": _fill(m.formula, context),
                      "numerator": _fill(m.numerator, context),
                      "denominator": _fill(m.denominator, context), "unit": m.unit,
                      "lower_is_better": m.lower_is_better, "window": _fill(m.window, context),
                      "basis": m.basis, "family": m.family}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "metric"
    return out


def definitions_markdown(names=None, *, inactive_periods: int = 3, horizon: int = 12,
                         notes: dict | None = None) -> str:
    """A Markdown definitions list of ``names`` (default the headline KPIs and CLV family).

    ``notes`` adds a data-specific sentence after a metric's definition (e.g. the
    data's start date after ``new_customers``, the assumed margin after a CLV).
    The text is plain: escape data-derived notes before passing them.

    Examples
    --------
    >>> print(definitions_markdown(["retention_rate"]))
    - **Retention rate** (`retention_rate`): Of last month's buyers, the share who bought \
again this month. *Formula:* customers active in both t-1 and t / customers active in t-1. \
*Window:* one month to the next.
    """
    context = _context(inactive_periods, horizon)
    notes = notes or {}
    lines = []
    for name in (names if names is not None else (*KPI_NAMES, *CLV_FAMILY)):
        m = metric(name)
        line = (f"- **{m.label}** (`{m.name}`): {_fill(m.definition, context)} "
                f"*Formula:* {_fill(m.formula, context)}.")
        if m.window:
            line += f" *Window:* {_fill(m.window, context)}."
        if name in notes:
            line += f" {notes[name]}"
        lines.append(line)
    return "\n".join(lines)


def objectives_table(objectives=None, *, inactive_periods: int = 3) -> pd.DataFrame:
    """The KPIs of each objective with their registry definitions, one row per metric.

    Parameters
    ----------
    objectives : sequence of str, optional
        Some of :data:`OBJECTIVES` (default all), in the order wanted.
    inactive_periods : int, default 3
        Fills the churn definition's window.

    Returns
    -------
    DataFrame
        Indexed by (``objective``, ``metric``): ``label, definition, formula, unit,
        lower_is_better`` read from :data:`METRICS` (nothing is redefined here).

    Examples
    --------
    >>> t = objectives_table(["cross_selling"])
    >>> t["label"].tolist()
    ['Cross-buying share', 'Categories per customer', 'Average order value (AOV)']
    >>> objectives_table(["loyalty"])
    Traceback (most recent call last):
    ...
    clvkit.errors.ClvError: unknown objective 'loyalty': objectives are ['acquisition', \
'retention', 'cross_selling']
    """
    chosen = OBJECTIVES if objectives is None else tuple(objectives)
    for name in chosen:
        if name not in KPIS_BY_OBJECTIVE:
            raise ClvError(f"unknown objective {name!r}: objectives are {list(OBJECTIVES)}")
    parts = []
    for name in chosen:
        table = definitions_table(KPIS_BY_OBJECTIVE[name], inactive_periods=inactive_periods)
        parts.append(table[["label", "definition", "formula", "unit", "lower_is_better"]]
                     .assign(objective=name).set_index("objective", append=True)
                     .reorder_levels(["objective", "metric"]))
    return pd.concat(parts)
