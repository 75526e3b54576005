"""Segments section: RFM segments, their movement over the month and target lists."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ._common import (
    SectionPage,
    _axes,
    _fmt,
    _month_end,
    _options,
    _palette,
    _text,
    _upto,
    section_page,
)


def segment_movement(data: ReportData, *, month: str, time_unit: str = "D") -> pd.DataFrame:
    """RFM segment of every customer at the end of last month and at the end of ``month``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``previous`` (segment at the end of the
        previous month; "(new)" for customers whose first purchase is in
        ``month``), ``current``, ``moved`` (bool), ``monetary`` (total spend to
        date) and ``last_purchase`` (date).
    """
    from ...segments import rfm_scores

    tx = _upto(data.transactions, month)
    prev_month = str(pd.Period(month, "M") - 1)
    now = rfm_scores(tx, observation_end=_month_end(month), time_unit=time_unit)
    before_tx = _upto(tx, prev_month)
    previous = (rfm_scores(before_tx, observation_end=_month_end(prev_month),
                           time_unit=time_unit)["segment"]
                if len(before_tx) else pd.Series(dtype="object"))
    prev = previous.astype("object").reindex(now.index).fillna("(new)")
    out = pd.DataFrame({"previous": prev, "current": now["segment"].astype("object"),
                        "monetary": now["monetary"],
                        "last_purchase": tx.groupby(C.CUSTOMER_ID)[C.DATE].max()
                        .reindex(now.index).dt.normalize()})
    out["moved"] = out["previous"] != out["current"]
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
                         "spend to date": [_fmt(v, "currency", currency)
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
    return "\n".join(f"- [{_text(paths[name].name)}]({paths[name].name}): "
                     f"{len(frame):,} {what.get(name, _text(name))}"
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
        f"earlier ({_fmt(share, 'percent', currency)}) changed RFM segment, and "
        f"{int((movement['previous'] == '(new)').sum()):,} are new this month.\n\n"
        f"**{len(into):,} customers moved into \"At risk\"** this month "
        f"({int(valuable.sum()):,} of them were Champions, Loyal customers or Can't lose them "
        f"last month); together they have spent "
        f"{_fmt(into['monetary'].sum(), 'currency', currency)} to date. They are the first "
        "candidates for a win-back contact.")


def plot_segment_sizes(sizes: pd.DataFrame, *, ax=None):
    """Horizontal bars: customers per segment last month and this month."""
    ax = _axes(ax, figsize=(8, 4.5))
    colors = _palette()
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


def build(data: ReportData, *, month: str, title: str, currency: str, options: dict | None = None,
          folder: str | os.PathLike | None = None, prefix: str = "02-segments") -> SectionPage:
    """The segments page: movement between RFM segments, sizes, who moved into "At risk".

    With ``folder``, the target lists are written there as CSV files
    (:func:`write_target_lists`) and text ``target_lists`` links them. Returns a
    :class:`~clvkit.report.sections._common.SectionPage` with text ``summary``,
    tables ``sizes`` and ``at_risk`` and figure ``sizes``.
    """
    options = _options(options)
    movement = segment_movement(data, month=month)
    sizes = segment_sizes(movement)
    text = {"summary": segments_text(movement, month=month, currency=currency)}
    if folder is not None:
        lists = target_lists(movement)
        paths = write_target_lists(lists, folder=folder, prefix=prefix)
        text["target_lists"] = target_lists_text(lists, paths)
    return section_page(
        "segments", title=title, month=month, text=text,
        tables={"sizes": sizes,
                "at_risk": moved_into(movement, segment="At risk", n=options["top_n"],
                                      currency=currency)},
        figures={"sizes": plot_segment_sizes(sizes)})
