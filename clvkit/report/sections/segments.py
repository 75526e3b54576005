"""Segments section: RFM segments, their movement over the month and target lists."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ..month import month_end, observation_end, upto
from ..page import (
    SectionPage,
    fmt,
    md_text,
    new_axes,
    palette,
    section_page,
    typed_options,
)


def segment_movement(data: ReportData, *, month: str, time_unit: str = "D") -> pd.DataFrame:
    """RFM segment of every customer at the end of last month and at the end of ``month``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``previous`` (segment at the end of the
        previous month; "(new)" for customers whose first purchase is in
        ``month``), ``current``, ``moved`` (bool), ``monetary`` (total spend to
        date, net of returns), ``last_purchase`` (date) and the current ``r_score`` and
        ``fm_score`` (the cell of :data:`clvkit.segments.RFM_SEGMENT_MAP`).
    """
    from ...segments import rfm_scores

    tx = upto(data.transactions, month)
    prev_month = str(pd.Period(month, "M") - 1)
    # monetary value net of returns, as in the course (notebook 02) and clvkit.segments
    returns = (data.returns if data.returns is not None
               else tx.iloc[:0])[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]]
    now = rfm_scores(tx, observation_end=observation_end(data, month), time_unit=time_unit,
                     returns=upto(returns, month))
    before_tx = upto(tx, prev_month)
    previous = (rfm_scores(before_tx, observation_end=month_end(prev_month),
                           time_unit=time_unit, returns=upto(returns, prev_month))["segment"]
                if len(before_tx) else pd.Series(dtype="object"))
    prev = previous.astype("object").reindex(now.index).fillna("(new)")
    out = pd.DataFrame({"previous": prev, "current": now["segment"].astype("object"),
                        "monetary": now["monetary"],
                        "last_purchase": tx.groupby(C.CUSTOMER_ID)[C.DATE].max()
                        .reindex(now.index).dt.normalize()})
    out["moved"] = out["previous"] != out["current"]
    out["r_score"] = now["r_score"]
    out["fm_score"] = now["fm_score"]
    return out


def segment_sizes(movement: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment last month and this month, with the change."""
    from ...segments import SEGMENT_NAMES

    order = [s for s in SEGMENT_NAMES if s in set(movement["current"])
             | set(movement["previous"])]
    out = pd.DataFrame({
        "last month": movement["previous"].value_counts().reindex(order, fill_value=0),
        "this month": movement["current"].value_counts().reindex(order, fill_value=0),
    })
    out["change"] = out["this month"] - out["last month"]
    out.index.name = "segment"
    return out


def moved_into(movement: pd.DataFrame, *, segment: str = "At risk", n: int = 10,
               currency: str = "GBP") -> pd.DataFrame:
    """Customers who moved into ``segment`` this month, most valuable first (top ``n``)."""
    moved = movement.loc[movement["moved"] & (movement["current"] == segment)]
    moved = moved.sort_values(["monetary", "last_purchase"], ascending=[False, True],
                              kind="mergesort").head(n)
    return pd.DataFrame({"segment last month": moved["previous"],
                         "spend to date": [fmt(v, "currency", currency)
                                           for v in moved["monetary"]],
                         "last purchase": moved["last_purchase"].dt.strftime("%Y-%m-%d")},
                        index=moved.index)


#: Segments whose customers make the at-risk target list.
AT_RISK_SEGMENTS = ("At risk", "Can't lose them")


def target_lists(movement: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Customer lists for CRM action, from :func:`segment_movement`.

    ``at_risk``: every customer whose RFM segment at the end of the month is
    one of :data:`AT_RISK_SEGMENTS` (valuable customers slipping away);
    ``win_back``: the customers who moved into "At risk" this month (the
    first candidates for a win-back contact). Most valuable first; columns
    ``segment``, ``segment_last_month``, ``spend_to_date``, ``last_purchase``,
    indexed by ``customer_id``.
    """
    def listing(rows):
        rows = rows.sort_values(["monetary", "last_purchase"], ascending=[False, True],
                                kind="mergesort")
        out = pd.DataFrame({"segment": rows["current"].astype("object"),
                            "segment_last_month": rows["previous"].astype("object"),
                            "spend_to_date": rows["monetary"].round(2),
                            "last_purchase": rows["last_purchase"].dt.strftime("%Y-%m-%d")},
                           index=rows.index)
        out.index.name = C.CUSTOMER_ID
        return out

    return {"at_risk": listing(movement.loc[movement["current"].isin(AT_RISK_SEGMENTS)]),
            "win_back": listing(movement.loc[movement["moved"]
                                             & (movement["current"] == "At risk")])}


def write_target_lists(lists: dict[str, pd.DataFrame], *, folder: str | os.PathLike,
                       prefix: str) -> dict[str, Path]:
    """Write each list of :func:`target_lists` as ``<prefix>-<name>.csv`` in ``folder``.

    Written with :func:`clvkit.outputs.write_table` (spreadsheet-safe text: an id
    such as ``=HYPERLINK(...)`` gets a leading ``'``), replacing a previous copy.
    Returns the paths by list name.
    """
    from ...outputs import write_table

    folder = Path(folder)
    return {name: write_table(frame, folder / f"{prefix}-{name.replace('_', '-')}.csv",
                              force=True)
            for name, frame in lists.items()}


def target_lists_text(lists: dict[str, pd.DataFrame], paths: dict[str, Path]) -> str:
    """Markdown bullets linking each exported list, with its size."""
    what = {"at_risk": "at-risk customers (segments " + ", ".join(AT_RISK_SEGMENTS) + ")",
            "win_back": "win-back candidates (moved into \"At risk\" this month)"}
    return "\n".join(f"- [{md_text(paths[name].name)}]({paths[name].name}): "
                     f"{len(frame):,} {what.get(name, md_text(name))}"
                     for name, frame in lists.items())


def segments_text(movement: pd.DataFrame, *, month: str, currency: str) -> str:
    """Sentences on how many customers changed segment and who moved into "At risk"."""
    label = pd.Period(month, "M").strftime("%B %Y")
    existing = movement.loc[movement["previous"] != "(new)"]
    into = movement.loc[movement["moved"] & (movement["current"] == "At risk")]
    valuable = into["previous"].isin(["Champions", "Loyal customers", "Can't lose them"])
    share = existing["moved"].mean() if len(existing) else float("nan")
    return (
        f"At the end of {label}, {len(movement):,} customers have bought at least once; "
        f"{int(existing['moved'].sum()):,} of the {len(existing):,} customers known a month "
        f"earlier ({fmt(share, 'percent', currency)}) changed RFM segment, and "
        f"{int((movement['previous'] == '(new)').sum()):,} are new this month.\n\n"
        f"**{len(into):,} customers moved into \"At risk\"** this month "
        f"({int(valuable.sum()):,} of them were Champions, Loyal customers or Can't lose them "
        f"last month); together they have spent "
        f"{fmt(into['monetary'].sum(), 'currency', currency)} to date. They are the first "
        "candidates for a win-back contact.")


def plot_segment_sizes(sizes: pd.DataFrame, *, ax=None):
    """Horizontal bars: customers per segment last month and this month."""
    ax = new_axes(ax, figsize=(8, 4.5))
    colors = palette()
    y = np.arange(len(sizes))
    ax.barh(y - 0.2, sizes["last month"], height=0.4, color=colors[7], label="last month")
    ax.barh(y + 0.2, sizes["this month"], height=0.4, color=colors[0], label="this month")
    ax.set_yticks(y, sizes.index)
    ax.invert_yaxis()
    ax.set_xlabel("Customers")
    ax.set_ylabel("RFM segment")
    ax.set_title("Customers per RFM segment")
    ax.legend(frameon=False)
    return ax


def _segment_order(names) -> list[str]:
    from ...segments import SEGMENT_NAMES

    names = set(names)
    return [n for n in SEGMENT_NAMES if n in names] + sorted(names - set(SEGMENT_NAMES))


def segment_transitions(movement: pd.DataFrame) -> pd.DataFrame:
    """Customers by segment at the end of last month (rows) and of this month (columns).

    Rows are the segments of :func:`segment_movement`'s ``previous`` (with "(new)"
    last: customers whose first purchase is this month), columns those of
    ``current``; only segments that hold customers appear. The diagonal counts
    customers who stayed; every customer is counted once.

    Examples
    --------
    >>> movement = pd.DataFrame({
    ...     "previous": ["Champions", "Champions", "At risk", "(new)"],
    ...     "current": ["Champions", "At risk", "Lost", "Recent light buyers"]})
    >>> segment_transitions(movement)
    this month  Champions  Recent light buyers  At risk  Lost
    last month
    Champions           1              0        1     0
    At risk             0              0        0     1
    (new)               0              1        0     0
    """
    rows = [n for n in _segment_order(movement["previous"]) if n != "(new)"]
    if (movement["previous"] == "(new)").any():
        rows.append("(new)")
    cols = _segment_order(movement["current"])
    table = pd.crosstab(movement["previous"], movement["current"])
    table = table.reindex(index=rows, columns=cols, fill_value=0).astype(np.int64)
    table.index.name, table.columns.name = "last month", "this month"
    return table


def transitions_text(transitions: pd.DataFrame, *, top: int = 3) -> str:
    """One sentence on :func:`segment_transitions`: stayers and the largest moves."""
    known = transitions.drop(index="(new)", errors="ignore")
    total = int(known.to_numpy().sum())
    stayed = int(sum(known.loc[s, s] for s in known.index if s in known.columns))
    moves = known.stack()
    moves = moves[[a != b for a, b in moves.index]]
    moves = moves[moves > 0].sort_values(ascending=False, kind="mergesort").head(top)
    if total == 0:
        return "No customer was known at the end of last month, so there are no moves yet."
    text = (f"Of the {total:,} customers known at the end of last month, {stayed:,} "
            f"({fmt(stayed / total, 'percent')}) stayed in their segment (the diagonal).")
    if len(moves):
        flows = "; ".join(f"{md_text(a)} \N{RIGHTWARDS ARROW} {md_text(b)} ({int(n):,})"
                          for (a, b), n in moves.items())
        text += f" The largest moves: {flows}."
    return text


def segment_revenue(data: ReportData, movement: pd.DataFrame, *, month: str) -> pd.DataFrame:
    """Revenue of ``month`` by the segment customers are in at the end of the month.

    Revenue is that of the executive page (the month's purchases of identified
    customers, :func:`clvkit.crm.monthly_kpis`), split by segment; the rows add up
    to it.

    Returns
    -------
    DataFrame
        Indexed by ``segment`` (those with customers): ``customers``, ``buyers``
        (customers who bought this month), ``revenue``, ``revenue_share`` and
        ``revenue_per_customer`` (revenue / customers of the segment).
    """
    tx = data.transactions
    in_month = tx.loc[tx[C.DATE].dt.to_period("M") == pd.Period(month, "M")]
    spend = in_month.groupby(C.CUSTOMER_ID)[C.AMOUNT].sum()
    segment = movement["current"].astype("object")
    order = _segment_order(segment)
    per = pd.DataFrame({"segment": segment,
                        "revenue": spend.reindex(movement.index).fillna(0.0),
                        "buyer": movement.index.isin(spend.index)})
    grouped = per.groupby("segment")
    out = pd.DataFrame({"customers": grouped.size(), "buyers": grouped["buyer"].sum(),
                        "revenue": grouped["revenue"].sum()}).reindex(order)
    out["buyers"] = out["buyers"].astype(np.int64)
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total else np.nan
    out["revenue_per_customer"] = out["revenue"] / out["customers"]
    out.index.name = "segment"
    return out


def segment_revenue_display(table: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """:func:`segment_revenue` formatted as text, with a total row."""
    out = pd.DataFrame(index=table.index)
    out["customers"] = [f"{v:,}" for v in table["customers"]]
    out["bought this month"] = [f"{v:,}" for v in table["buyers"]]
    out[f"revenue ({currency})"] = [fmt(v, "currency", currency) for v in table["revenue"]]
    out["share of revenue"] = [fmt(v, "percent") for v in table["revenue_share"]]
    out["revenue per customer"] = [fmt(v, "currency", currency)
                                   for v in table["revenue_per_customer"]]
    total = table["revenue"].sum()
    out.loc["total"] = [f"{table['customers'].sum():,}", f"{table['buyers'].sum():,}",
                        fmt(total, "currency", currency),
                        fmt(1.0 if total else np.nan, "percent"),
                        fmt(total / table["customers"].sum() if len(table) else np.nan,
                             "currency", currency)]
    return out


def segment_revenue_text(table: pd.DataFrame, *, month: str, currency: str) -> str:
    """One sentence: which segments bring this month's revenue, against their share of customers."""
    label = pd.Period(month, "M").strftime("%B %Y")
    total = table["revenue"].sum()
    if not len(table) or not total > 0:
        return f"No revenue is recorded in {label}."
    top = table.sort_values("revenue", ascending=False, kind="mergesort").head(2)
    parts = [f"{md_text(name)} ({fmt(row['customers'] / table['customers'].sum(), 'percent')} "
             f"of customers) brought {fmt(row['revenue_share'], 'percent')}"
             for name, row in top.iterrows()]
    return (f"Of the {fmt(total, 'currency', currency)} revenue of {label}, "
            + " and ".join(parts) + ". Customers in a segment who did not buy this month "
            "count in its customers but add no revenue.")


def rfm_grid(movement: pd.DataFrame) -> pd.DataFrame:
    """Customers in each cell of the RFM segment grid at the end of the month.

    Rows are the recency score (5 = bought most recently), columns the FM score
    (mean of the frequency and monetary scores, rounded half up; 5 = buys most
    often and spends most), laid out as :data:`clvkit.segments.RFM_SEGMENT_MAP`,
    whose segment each cell belongs to: :func:`clvkit.segments.segment_grid` as a table.

    Examples
    --------
    >>> movement = pd.DataFrame({"r_score": [5, 5, 1], "fm_score": [5, 5, 1]})
    >>> grid = rfm_grid(movement)
    >>> int(grid.loc[5, 5]), int(grid.loc[1, 1]), int(grid.to_numpy().sum())
    (2, 1, 3)
    """
    from ...segments import RFM_SEGMENT_MAP, segment_grid

    cells = segment_grid(movement[["r_score", "fm_score"]])
    grid = cells.pivot(index="r_score", columns="fm_score", values="customers")
    return grid.reindex(index=RFM_SEGMENT_MAP.index,
                        columns=RFM_SEGMENT_MAP.columns).astype(np.int64)


def rfm_grid_display(grid: pd.DataFrame) -> pd.DataFrame:
    """:func:`rfm_grid` as text: each cell's segment name and customers, e.g. "Champions: 120"."""
    from ...segments import RFM_SEGMENT_MAP

    names = RFM_SEGMENT_MAP.reindex(index=grid.index, columns=grid.columns)
    out = pd.DataFrame([[f"{names.loc[r, f]}: {grid.loc[r, f]:,}" for f in grid.columns]
                        for r in grid.index],
                       index=pd.Index([f"R {r}" for r in grid.index], name="recency score"),
                       columns=pd.Index([f"FM {f}" for f in grid.columns],
                                        name="frequency-monetary score"))
    return out


def rfm_grid_text(grid: pd.DataFrame) -> str:
    """One sentence on :func:`rfm_grid`: where the customers are, and the corners to watch."""
    from ...segments import RFM_SEGMENT_MAP

    total = int(grid.to_numpy().sum())
    if total == 0:
        return "No customer has an RFM score yet."
    names = RFM_SEGMENT_MAP.reindex(index=grid.index, columns=grid.columns)
    r, f = np.unravel_index(int(np.argmax(grid.to_numpy())), grid.shape)
    big = (grid.index[r], grid.columns[f])
    top = int(grid.loc[5, [4, 5]].sum()) if 5 in grid.index else 0
    slipping = int(grid.loc[[1, 2], [4, 5]].to_numpy().sum())
    n = int(grid.loc[big])
    return (f"The fullest cell is R {big[0]} \N{MULTIPLICATION SIGN} FM {big[1]} "
            f"({md_text(names.loc[big])}: {n:,} customer{'s' * (n != 1)}, "
            f"{fmt(n / total, 'percent')}). Top-right corner (recent, frequent, "
            f"high-spending customers): {top:,}. Bottom-right corner (customers who bought "
            f"often and spent much, but not recently: the most valuable to win back): "
            f"{slipping:,}.")


def plot_rfm_grid(grid: pd.DataFrame, *, ax=None):
    """Heatmap of :func:`rfm_grid`: customers per cell, each cell labelled with its segment."""
    from matplotlib.colors import LinearSegmentedColormap

    from ...segments import RFM_SEGMENT_MAP

    ax = new_axes(ax, figsize=(8, 5))
    names = RFM_SEGMENT_MAP.reindex(index=grid.index, columns=grid.columns)
    values = grid.to_numpy(dtype=float)
    cmap = LinearSegmentedColormap.from_list("customers", ["#ffffff", palette()[0]])
    ax.imshow(values, cmap=cmap, vmin=0, vmax=max(values.max(), 1), aspect="auto")
    for i, r in enumerate(grid.index):
        for j, f in enumerate(grid.columns):
            dark = values[i, j] > 0.6 * values.max()
            ax.text(j, i, f"{names.loc[r, f]}\n{int(values[i, j]):,}", ha="center",
                    va="center", fontsize=7.5, color="white" if dark else "0.15")
    ax.set_xticks(range(len(grid.columns)), [str(c) for c in grid.columns])
    ax.set_yticks(range(len(grid.index)), [str(r) for r in grid.index])
    ax.set_xlabel("Frequency-monetary score (5 = most often, most spent)")
    ax.set_ylabel("Recency score (5 = most recent)")
    ax.set_title("Customers in each cell of the RFM grid, by segment")
    return ax


def build(data: ReportData, *, month: str, title: str, currency: str, options: dict | None = None,
          folder: str | os.PathLike | None = None, prefix: str = "02-segments") -> SectionPage:
    """The segments page: movement between RFM segments, sizes, who moved into "At risk".

    With ``folder``, the target lists are written there as CSV files
    (:func:`write_target_lists`) and text ``target_lists`` links them. Returns a
    :class:`~clvkit.report.page.SectionPage` with texts ``summary``,
    ``transitions``, ``revenue`` and ``grid``, tables ``sizes``, ``transitions``
    (:func:`segment_transitions`), ``revenue`` (:func:`segment_revenue`), ``grid``
    (:func:`rfm_grid`) and ``at_risk``, and figures ``sizes`` and ``grid``.
    """
    options = typed_options(options)
    movement = segment_movement(data, month=month)
    sizes = segment_sizes(movement)
    transitions = segment_transitions(movement)
    revenue = segment_revenue(data, movement, month=month)
    grid = rfm_grid(movement)
    text = {"summary": segments_text(movement, month=month, currency=currency),
            "transitions": transitions_text(transitions),
            "revenue": segment_revenue_text(revenue, month=month, currency=currency),
            "grid": rfm_grid_text(grid)}
    if folder is not None:
        lists = target_lists(movement)
        paths = write_target_lists(lists, folder=folder, prefix=prefix)
        text["target_lists"] = target_lists_text(lists, paths)
    return section_page(
        "segments", title=title, month=month, text=text,
        tables={"sizes": sizes,
                "transitions": transitions,
                "revenue": segment_revenue_display(revenue, currency=currency),
                "grid": rfm_grid_display(grid),
                "at_risk": moved_into(movement, segment="At risk", n=options["top_n"],
                                      currency=currency)},
        figures={"sizes": plot_segment_sizes(sizes), "grid": plot_rfm_grid(grid)})
