"""Plots for the CRM analytics (cohorts, funnels, Pareto curves, segments, channels).

Every function takes the table a :mod:`clvkit.crm` (or :mod:`clvkit.segments`)
function returns, draws on ``ax`` (a new figure when None) and returns the Axes.
Colours come from seaborn's colour-blind-safe ``"colorblind"`` palette and the
perceptually uniform ``"viridis"`` map; nothing global (rcParams, styles) is
changed, at import or later.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, PercentFormatter

from ..crm import FUNNEL_STAGES, wilson_interval
from ..errors import ClvError
from ..narrative import CURRENCY_SYMBOLS, format_value

__all__ = [
    "cohort_heatmap",
    "retention_curves",
    "funnel_chart",
    "message_comparison",
    "dropout_chart",
    "pareto_curve",
    "segment_bars",
    "clv_by_channel",
    "clv_over_tenure",
]

PALETTE = "colorblind"
_UNIT_TITLE = {"D": "Days", "W": "Weeks", "M": "Months", "Q": "Quarters", "Y": "Years"}
_UNIT_SINGULAR = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def _axes(ax, figsize=(8, 5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _colors(n: int) -> list:
    return sns.color_palette(PALETTE, n_colors=max(n, 1))


def _symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())


def _check_table(data, name: str, columns=()) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ClvError(f"`{name}` must be a non-empty DataFrame (see clvkit.crm)")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ClvError(f"`{name}` is missing column(s) {missing}; it has {list(data.columns)}")
    return data


def _age_label(data: pd.DataFrame) -> str:
    unit = data.attrs.get("period", "M")
    return f"{_UNIT_TITLE.get(unit, 'Periods')} since acquisition"


# --------------------------------------------------------------------------- cohorts

_COHORT_LABELS = {
    "retention": ("Cohort retention", "Customers active (% of cohort)"),
    "customers": ("Active customers by cohort", "Active customers (count)"),
    "revenue": ("Revenue by cohort", "Revenue ({symbol})"),
    "revenue_per_customer": ("Revenue per acquired customer by cohort",
                             "Revenue per acquired customer ({symbol})"),
}


def cohort_heatmap(matrix: pd.DataFrame, *, annot: bool | None = None, currency: str = "GBP",
                   cmap: str = "viridis", ax=None):
    """Heatmap of a cohort matrix (acquisition cohort x periods since acquisition).

    Parameters
    ----------
    matrix : DataFrame
        Output of :func:`clvkit.crm.cohort_matrix`; cells a cohort has not reached
        (NaN) stay blank.
    annot : bool, optional
        Write values in the cells; default when there are at most 13 columns.
    currency : str, default "GBP"
        Currency of revenue matrices (axis label).
    cmap : str, default "viridis"
        Colour map (perceptually uniform and colour-blind safe).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    matrix = _check_table(matrix, "matrix")
    ax = _axes(ax, figsize=(10, 6))
    value = matrix.attrs.get("value", "retention")
    title, bar_label = _COHORT_LABELS.get(value, ("Cohort matrix", "Value"))
    bar_label = bar_label.format(symbol=_symbol(currency))
    percent = value == "retention"
    data = matrix.astype(float) * (100 if percent else 1)
    annot = matrix.shape[1] <= 13 if annot is None else annot
    sns.heatmap(data, ax=ax, cmap=cmap, mask=data.isna(), annot=annot,
                fmt=".0f", cbar_kws={"label": bar_label},
                yticklabels=[str(i) for i in matrix.index], linewidths=0.5)
    unit = matrix.attrs.get("period", "M")
    ax.set_xlabel(_age_label(matrix))
    ax.set_ylabel(f"Acquisition cohort (first purchase {_UNIT_SINGULAR.get(unit, 'period')})")
    ax.set_title(title)
    return ax


def retention_curves(matrix: pd.DataFrame, *, cohorts=None, average: bool = True, ax=None):
    """Retention curve of each cohort plus the customer-weighted average.

    Parameters
    ----------
    matrix : DataFrame
        :func:`clvkit.crm.cohort_matrix` with ``value="retention"``.
    cohorts : list, optional
        Cohorts (index labels) to draw; default all (legend only up to 8).
    average : bool, default True
        Draw the average over cohorts weighted by cohort size (only cohorts that
        reached each age).

    Returns
    -------
    matplotlib.axes.Axes
    """
    matrix = _check_table(matrix, "matrix")
    if matrix.attrs.get("value", "retention") != "retention":
        raise ClvError("retention_curves needs cohort_matrix(..., value='retention')")
    ax = _axes(ax)
    shown = matrix if cohorts is None else matrix.loc[list(cohorts)]
    colors = sns.color_palette("viridis", n_colors=max(len(shown), 1))
    for color, (cohort, row) in zip(colors, shown.iterrows(), strict=True):
        ax.plot(row.index, row.to_numpy() * 100, color=color, alpha=0.6, linewidth=1,
                label=str(cohort))
    if average:
        size = matrix.attrs.get("cohort_size")
        weights = (pd.Series(1.0, index=matrix.index) if size is None else size.astype(float))
        w = matrix.notna().mul(weights, axis=0)
        avg = (matrix.fillna(0).mul(weights, axis=0).sum() / w.sum()).where(w.sum() > 0)
        ax.plot(avg.index, avg.to_numpy() * 100, color="black", linewidth=2.5,
                label="weighted average")
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_ylim(0, 105)
    ax.set_xlabel(_age_label(matrix))
    ax.set_ylabel("Customers active (% of cohort)")
    ax.set_title("Retention curves by acquisition cohort")
    if len(shown) <= 8 or average:
        handles, labels = ax.get_legend_handles_labels()
        keep = [i for i, lab in enumerate(labels) if len(shown) <= 8 or lab == "weighted average"]
        ax.legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize="small",
                  title="Cohort")
    return ax


# --------------------------------------------------------------------------- campaigns

def funnel_chart(funnel_table: pd.DataFrame, *, hue: str | None = None, ax=None):
    """Campaign funnel: share of sends reaching each stage, with Wilson 95 % intervals.

    Parameters
    ----------
    funnel_table : DataFrame
        Output of :func:`clvkit.crm.funnel` (index ``(*by, stage)``).
    hue : str, optional
        One of the ``by`` levels (e.g. ``"tactic"``) to draw side by side; counts of
        the other levels are summed. None sums everything into one funnel.

    Returns
    -------
    matplotlib.axes.Axes
    """
    table = _check_table(funnel_table, "funnel_table", ["count"])
    levels = [n for n in table.index.names if n != "stage"]
    if hue is not None and hue not in levels:
        raise ClvError(f"`hue` must be one of the funnel's groups {levels}, got {hue!r}")
    keys = [hue, "stage"] if hue else ["stage"]
    counts = table["count"].groupby(level=keys, observed=True, sort=False).sum()
    wide = counts.unstack("stage").reindex(columns=list(FUNNEL_STAGES)) if hue else \
        counts.reindex(list(FUNNEL_STAGES)).to_frame("all").T
    sent = wide["sent"].to_numpy()[:, None]
    rate = wide.to_numpy() / sent
    low, high = wilson_interval(wide.to_numpy(), np.broadcast_to(sent, wide.shape))
    confidence = table.attrs.get("confidence", 0.95)
    ax = _axes(ax)
    x = np.arange(len(FUNNEL_STAGES))
    width = 0.8 / len(wide)
    for i, (color, label) in enumerate(zip(_colors(len(wide)), wide.index, strict=True)):
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, rate[i] * 100, width=width, color=color, label=str(label))
        err = np.clip([rate[i] - low[i], high[i] - rate[i]], 0, None) * 100
        ax.errorbar(pos, rate[i] * 100, yerr=err,
                    fmt="none", ecolor="black", capsize=2, linewidth=1)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.set_xticks(x, [s.capitalize() for s in FUNNEL_STAGES])
    ax.set_xlabel("Funnel stage")
    ax.set_ylabel("Share of sends reaching the stage (%, log scale)")
    ax.set_title(f"Campaign funnel{f' by {hue}' if hue else ''} "
                 f"(bars: {confidence:.0%} Wilson intervals)")
    if hue:
        ax.legend(title=hue.capitalize(), fontsize="small")
    return ax


def _forest(table: pd.DataFrame, name: str, estimate: str, *, color_index: int,
            zero_line: bool, ax):
    """Point estimates (in %) with interval bars, one row per group of ``table``."""
    table = _check_table(table, name, [estimate, "low", "high"])
    ax = _axes(ax)
    est, low, high = (table[c].to_numpy(dtype=float) * 100 for c in (estimate, "low", "high"))
    y = np.arange(len(table))[::-1]
    color = _colors(color_index + 1)[color_index]
    ax.errorbar(est, y, xerr=np.clip([est - low, high - est], 0, None), fmt="o", color=color,
                ecolor=color, capsize=3)
    if zero_line:
        ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    labels = [" / ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in table.index]
    ax.set_yticks(y, labels)
    names = [str(n) for n in table.index.names if n is not None]
    ax.set_ylabel(" / ".join(names) or "Group")
    return table, ax


def message_comparison(comparison: pd.DataFrame, *, ax=None):
    """Forest plot of message-variant differences with their confidence intervals.

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`clvkit.crm.compare_messages`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    c, ax = _forest(comparison, "comparison", "difference", color_index=0, zero_line=True,
                    ax=ax)
    a, b = c.attrs.get("a", "A"), c.attrs.get("b", "B")
    stage, base = c.attrs.get("stage", "converted"), c.attrs.get("base", "sent")
    per = {"sent": "send", "opened": "open", "clicked": "click", "visited": "visit"}
    ax.set_xlabel(f"Difference in {stage} rate per {per.get(base, base)} "
                  f"({a} minus {b}, percentage points)")
    level = c.attrs.get("confidence", 0.95)
    ax.set_title(f"Message {a} vs {b}: difference with {level:.0%} Newcombe interval")
    return ax


def dropout_chart(dropout_table: pd.DataFrame, *, ax=None):
    """Dropout (unsubscribe) rate per group with Wilson intervals.

    Parameters
    ----------
    dropout_table : DataFrame
        Output of :func:`clvkit.crm.dropout`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    d, ax = _forest(dropout_table, "dropout_table", "dropout_rate", color_index=1,
                    zero_line=False, ax=ax)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.set_xlabel("Dropout rate (% of sends unsubscribing)")
    ax.set_title(f"Dropout after contact ({d.attrs.get('confidence', 0.95):.0%} "
                 "Wilson intervals)")
    return ax


# --------------------------------------------------------------------------- value

def pareto_curve(values, *, highlight: float = 0.2, ax=None):
    """Pareto (concentration) curve: share of value held by the top share of customers.

    Parameters
    ----------
    values : Series, array or clvkit.segments.Concentration
        One value per customer (revenue, CLV, profit), or a computed concentration.
    highlight : float, default 0.2
        Mark the share of value held by this top share of customers.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..segments import Concentration, concentration

    conc = values if isinstance(values, Concentration) else concentration(values)
    curve = conc.curve
    ax = _axes(ax, figsize=(6, 6))
    color = _colors(1)[0]
    ax.plot(curve["customer_share"] * 100, curve["value_share"] * 100, color=color,
            linewidth=2, label="customers ranked by value")
    ax.plot([0, 100], [0, 100], color="grey", linestyle="--", linewidth=1,
            label="equal value per customer")
    share = conc.top_share(highlight)
    ax.plot([highlight * 100], [share * 100], "o", color=_colors(2)[1])
    ax.annotate(f"top {highlight:.0%} hold {share:.0%}", (highlight * 100, share * 100),
                xytext=(10, -15), textcoords="offset points")
    ax.xaxis.set_major_formatter(PercentFormatter())
    ax.yaxis.set_major_formatter(PercentFormatter())
    ax.set_xlabel("Customers, highest value first (% of customers)")
    ax.set_ylabel("Cumulative share of total value (%)")
    gini = "" if np.isnan(conc.gini) else f" (Gini {conc.gini:.2f})"
    ax.set_title(f"Value concentration{gini}")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def segment_bars(data, *, value: str | None = None, value_label: str | None = None,
                 kind: str = "currency", currency: str = "GBP", ax=None):
    """Horizontal bars of one value per segment; negative (value-destroying) bars stand out.

    Parameters
    ----------
    data : Series or DataFrame
        Values indexed by segment, or a table with a ``value`` column (e.g.
        ``clvkit.segments.profit_by_segment``).
    value : str, optional
        Column of ``data`` when it is a DataFrame.
    value_label : str, optional
        Axis label with unit; default from the name and ``kind``/``currency``.
    kind : {"currency", "percent", "count", "number"}, default "currency"
        Formatting of the bar labels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(data, pd.DataFrame):
        if value is None or value not in data.columns:
            raise ClvError(f"`value` must name a column of `data` {list(data.columns)}, "
                           f"got {value!r}")
        series = data[value]
    elif isinstance(data, pd.Series):
        series = data
    else:
        raise ClvError(f"`data` must be a Series or DataFrame, got {type(data).__name__}")
    if series.empty:
        raise ClvError("`data` has no segments to plot")
    series = series.astype(float).sort_values()
    name = str(series.name or value or "value").replace("_", " ")
    unit = {"currency": f" ({_symbol(currency)})", "percent": " (%)", "count": " (count)"}
    label = value_label or f"{name.capitalize()}{unit.get(kind, '')}"
    shown = series * (100 if kind == "percent" else 1)
    positive, negative = _colors(4)[0], _colors(4)[3]
    ax = _axes(ax)
    bars = ax.barh([str(i) for i in series.index], shown.to_numpy(),
                   color=[negative if v < 0 else positive for v in shown])
    ax.bar_label(bars, labels=[format_value(v, kind=kind, currency=currency, compact=True)
                               for v in series], padding=3, fontsize="small")
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_xlabel(label)
    ax.set_ylabel(str(series.index.name or "Segment").replace("_", " ").capitalize())
    ax.set_title(f"{name.capitalize()} by {str(series.index.name or 'segment').replace('_', ' ')}")
    return ax


def clv_by_channel(table: pd.DataFrame, *, currency: str = "GBP", ax=None):
    """Bars of observed value per customer by acquisition channel (or any group).

    Parameters
    ----------
    table : DataFrame
        ``value`` and ``customers_observed`` per group, e.g. the report's
        :func:`clvkit.report.sections.channels.clv_by_channel`; ``attrs`` may name
        the ``horizon``, its ``period`` and the ``value`` measured.

    Returns
    -------
    matplotlib.axes.Axes
    """
    t = _check_table(table, "table", ["value", "customers_observed"]).sort_values("value")
    horizon, unit = t.attrs.get("horizon"), t.attrs.get("period", "M")
    what = t.attrs.get("value", "revenue")
    ax = _axes(ax)
    bars = ax.barh([str(i) for i in t.index], t["value"].fillna(0).to_numpy(),
                   color=_colors(len(t)))
    ax.bar_label(bars, labels=[f"{format_value(v, kind='currency', currency=currency)} "
                               f"(n={n:,})" for v, n in zip(t["value"], t["customers_observed"],
                                                           strict=True)],
                 padding=3, fontsize="small")
    ax.set_xlabel(f"Cumulative {what} per customer ({_symbol(currency)})")
    group = str(t.index.name or "group").replace("_", " ")
    ax.set_ylabel(group.capitalize())
    span = f"{horizon}-{_UNIT_SINGULAR.get(unit, 'period')} " if horizon is not None else ""
    ax.set_title(f"{span}{what} per customer by {group}".capitalize())
    ax.margins(x=0.25)
    return ax


def clv_over_tenure(curves: pd.DataFrame, *, currency: str = "GBP", ax=None):
    """Lines of mean cumulative value per customer over tenure, one per group.

    "CLV over the customer journey": ages as index, one column per group, e.g.
    :func:`clvkit.crm.cumulative_value` or a pivot of
    :func:`clvkit.economics.cumulative_margin`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    curves = _check_table(curves, "curves")
    ax = _axes(ax)
    for color, (group, line) in zip(_colors(curves.shape[1]), curves.items(), strict=True):
        ax.plot(curves.index, line.to_numpy(), color=color, marker="o", markersize=3,
                label=str(group))
    what = curves.attrs.get("value", "revenue")
    ax.set_xlabel(_age_label(curves))
    ax.set_ylabel(f"Cumulative {what} per customer ({_symbol(currency)})")
    name = curves.columns.name
    ax.set_title(f"Value over the customer journey{f' by {name}' if name else ''}")
    if curves.shape[1] > 1:
        ax.legend(title=str(name or "group").replace("_", " ").capitalize(), fontsize="small")
    return ax
