"""Least-profitable customers section: profit per customer and the whale curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ..month import observation_end, observed_upto
from ..page import (
    SectionPage,
    fmt,
    money_axis,
    new_axes,
    palette,
    section_page,
    typed_options,
)


def profit_table(data: ReportData, *, month: str, options: dict | None = None) -> pd.DataFrame:
    """Profit per customer up to the end of ``month`` (:func:`clvkit.segments.customer_profit`).

    Margin: the customers' own ``margin`` when the data have it, else
    ``options["margin"]``; cost to serve ``options["cost_per_order"]`` per order
    and ``options["cost_per_contact"]`` per campaign touch; acquisition cost
    the customers' ``cac`` when present.
    """
    from ...contract import ids_in
    from ...segments import customer_profit

    options = typed_options(options)
    tx = observed_upto(data.transactions, data, month)
    ret = observed_upto(data.returns, data, month)
    margin, cac, contacts = options["margin"], None, None
    if data.has("customers"):
        customers = data.customers.loc[ids_in(data.customers.index, tx[C.CUSTOMER_ID])]
        margin = customers["margin"] if "margin" in customers else margin
        cac = customers["cac"] if "cac" in customers else None
    if data.has("touches"):
        touches = data.touches
        contacts = touches.loc[pd.to_datetime(touches["send_date"])
                               <= observation_end(data, month)]
    profit = customer_profit(tx, returns=ret, margin=margin,
                             cost_per_order=options["cost_per_order"],
                             cost_per_contact=options["cost_per_contact"],
                             contacts=contacts, acquisition_cost=cac)
    profit = profit.loc[ids_in(profit.index, tx[C.CUSTOMER_ID])]
    profit.attrs["margin"] = "customers" if isinstance(margin, pd.Series) else "option"
    return profit


def least_profitable_display(profit: pd.DataFrame, *, n: int, currency: str) -> pd.DataFrame:
    """The ``n`` least profitable customers with their revenue and cost terms, formatted."""
    from ...segments import least_profitable

    worst = least_profitable(profit, n=n)
    cols = [c for c in ("revenue", "returns", "cogs", "cost_to_serve", "acquisition_cost",
                        "profit") if c in worst]
    out = worst[["orders"]].copy()
    for col in cols:
        out[col.replace("_", " ")] = [fmt(v, "currency", currency) for v in worst[col]]
    return out


def profit_text(profit: pd.DataFrame, *, month: str, currency: str, options: dict) -> str:
    """Sentences on how many customers lose money and what they cost."""
    label = pd.Period(month, "M").strftime("%B %Y")
    losers = profit.loc[profit["profit"] < 0]
    total = profit["profit"].sum()
    margin = ("each customer's gross margin rate from the data" if profit.attrs.get("margin")
              == "customers" else f"gross margin {fmt(options['margin'], 'percent', currency)}")
    cost = fmt(options["cost_per_order"], "currency", currency)
    assumptions = f"{margin}, {cost} cost to serve per order"
    return (f"Up to the end of {label}, **{len(losers):,} of {len(profit):,} customers "
            f"({fmt(len(losers) / max(len(profit), 1), 'percent', currency)}) lost money**: "
            f"together {fmt(losers['profit'].sum(), 'currency', currency)}, against a total "
            f"profit of {fmt(total, 'currency', currency)}. Without them profit would be "
            f"{fmt(total - losers['profit'].sum(), 'currency', currency)}.\n\n"
            f"Assumptions: {assumptions}; returns are subtracted from revenue."
            + (f" {over:,} customers returned more than they bought within the data (returns "
               "of purchases made before the data begin), which makes their net revenue "
               "negative." if (over := int((profit["returns"] > profit["revenue"]).sum())) else ""))


def plot_profit_curve(profit: pd.DataFrame, *, currency: str, ax=None):
    """Cumulative profit with customers sorted from most to least profitable (whale curve)."""
    ax = new_axes(ax)
    ordered = np.sort(profit["profit"].to_numpy())[::-1]
    share = np.arange(1, len(ordered) + 1) / len(ordered) * 100
    ax.plot(share, np.cumsum(ordered), color=palette()[0])
    ax.axhline(ordered.sum(), color=palette()[3], linestyle="--", label="total profit")
    ax.set_xlabel("Customers, most profitable first (%)")
    ax.set_ylabel(f"Cumulative profit ({currency})")
    money_axis(ax.yaxis, currency)
    ax.set_title("Cumulative profit by customer (whale curve)")
    ax.legend(frameon=False, loc="lower right")
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str,
          options: dict | None = None) -> SectionPage:
    """The least-profitable customers page: profit per customer and the whale curve.

    Returns a :class:`~clvkit.report.page.SectionPage` with text
    ``summary``, table ``least_profitable`` and figure ``whale``.
    """
    options = typed_options(options)
    profit = profit_table(data, month=month, options=options)
    return section_page(
        "least_profitable", title=title, month=month,
        text={"summary": profit_text(profit, month=month, currency=currency, options=options)},
        tables={"least_profitable": least_profitable_display(profit, n=options["top_n"],
                                                             currency=currency)},
        figures={"whale": plot_profit_curve(profit, currency=currency)})
