"""Cohort retention section: the retention matrix, its sizes and heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import ReportData, observed_activity
from ..month import month_end, observation_end
from ..page import SectionPage, fmt, section_page, typed_options


def cohort_retention(data: ReportData, *, month: str, cohorts: int = 12) -> pd.DataFrame:
    """Monthly retention of the last ``cohorts`` acquisition cohorts up to ``month``.

    :func:`clvkit.crm.cohort_matrix` cut to the last ``cohorts`` rows and
    ``cohorts`` ages (plot it with :func:`clvkit.plotting.cohort_heatmap`).
    """
    from ...crm import activity_cohorts

    matrix = activity_cohorts(observed_activity(data, month), period="M", value="retention")
    sizes = matrix.attrs["cohort_size"]
    acquired = sizes.index[sizes.to_numpy() > 0]        # months that acquired no one are no cohort
    out = matrix.loc[acquired].iloc[-cohorts:, :cohorts].copy()
    out.attrs = {**matrix.attrs, "cohort_size": sizes.loc[out.index],
                 "left_censored": matrix.index[0] if matrix.index[0] in out.index else None,
                 "observation_end": observation_end(data, month)}
    return out


def _weighted_retention(matrix: pd.DataFrame, age: int) -> float:
    """Size-weighted mean retention at ``age`` (cohorts that reached it, not the first)."""
    if age not in matrix.columns:
        return float("nan")
    censored = matrix.attrs.get("left_censored")
    sizes = pd.Series(matrix.attrs.get("cohort_size", pd.Series(1.0, index=matrix.index)),
                      dtype=float).reindex(matrix.index)
    keep = matrix[age].notna() & (matrix.index != censored) & (sizes > 0)
    if not keep.any():
        return float("nan")
    return float(np.average(matrix.loc[keep, age].astype(float), weights=sizes[keep]))


def cohort_text(matrix: pd.DataFrame, *, month: str) -> str:
    """Sentences on month-1 and month-3 retention of recent cohorts.

    Averages are weighted by cohort size over the cohorts that reached the age,
    leaving out the left-censored first cohort of the data.
    """
    comparable = matrix.drop(index=[matrix.attrs.get("left_censored")], errors="ignore")
    best = (comparable[1].idxmax() if 1 in comparable.columns and comparable[1].notna().any()
            else None)
    text = (f"On average (weighted by cohort size) "
            f"{fmt(_weighted_retention(matrix, 1), 'percent', 'GBP')} of a cohort's customers "
            f"bought again in the month after their first purchase and "
            f"{fmt(_weighted_retention(matrix, 3), 'percent', 'GBP')} three months after it "
            f"(cohorts shown: {matrix.index[0]:%B %Y} to {matrix.index[-1]:%B %Y}).")
    if best is not None:
        size = matrix.attrs.get("cohort_size")
        customers = (f", {int(size.loc[best]):,} customers" if size is not None else "")
        text += (f" The best first-month retention was the {best:%B %Y} cohort's "
                 f"({fmt(matrix.loc[best, 1], 'percent', 'GBP')}{customers}).")
    stop = matrix.attrs.get("observation_end")
    if stop is not None and stop < month_end(month):
        text += (f" {pd.Period(month, 'M'):%B %Y} is still in progress (data to "
                 f"{stop:%d %B %Y}): its cells, the last of each row, count days 1-{stop.day} "
                 "only.")
    censored = matrix.attrs.get("left_censored")
    if censored is not None:
        text += (f"\n\nThe {censored:%B %Y} cohort is the first month of the data: it holds "
                 "every customer who was already buying before the data begin, not only new "
                 "ones (left-censored), so its retention is not comparable with later cohorts "
                 "and is left out of the averages; it is marked * below.")
    return text


def cohort_sizes_table(matrix: pd.DataFrame, *, currency: str = "GBP") -> pd.DataFrame:
    """Per cohort: customers acquired, month-1 and month-3 retention, and a note.

    The left-censored first cohort is marked (``note``).
    """
    sizes = matrix.attrs.get("cohort_size")
    censored = matrix.attrs.get("left_censored")
    out = pd.DataFrame(index=pd.Index([f"{p:%Y-%m}" for p in matrix.index], name="cohort"))
    out["customers"] = ([int(v) for v in sizes.reindex(matrix.index)] if sizes is not None
                        else pd.NA)
    for age in (1, 3):
        if age in matrix.columns:
            out[f"month {age}"] = [fmt(v, "percent", currency) for v in matrix[age]]
    out["note"] = ["* left-censored: includes customers buying before the data begin"
                   if p == censored else "" for p in matrix.index]
    return out


def plot_cohort_retention(matrix: pd.DataFrame, *, ax=None):
    """Retention heatmap without month 0 (100% by definition), rows labelled with cohort sizes.

    :func:`clvkit.plotting.cohort_heatmap` on ages 1 and later; each row reads
    ``YYYY-MM (n=…)``, with ``*`` on the left-censored first cohort.
    """
    from ...plotting import cohort_heatmap

    sizes = matrix.attrs.get("cohort_size")
    censored = matrix.attrs.get("left_censored")
    shown = matrix.drop(columns=[0], errors="ignore")
    labels = [f"{p:%Y-%m}" + (f" (n={int(sizes.loc[p]):,})" if sizes is not None else "")
              + (" *" if p == censored else "") for p in matrix.index]
    shown = shown.set_axis(pd.Index(labels, name=matrix.index.name), axis=0)
    shown.attrs = {k: v for k, v in matrix.attrs.items()
                   if k not in ("cohort_size", "left_censored")}
    ax = cohort_heatmap(shown, ax=ax)
    ax.set_title(ax.get_title() + " (month 0 = 100% left out; * left-censored)")
    return ax


def build(data: ReportData, *, month: str, title: str, options: dict | None = None) -> SectionPage:
    """The cohort retention page: the retention heatmap and each cohort's size.

    Returns a :class:`~clvkit.report.page.SectionPage` with text
    ``summary``, table ``sizes`` and figure ``heatmap``.
    """
    options = typed_options(options)
    matrix = cohort_retention(data, month=month, cohorts=options["cohort_months"])
    return section_page(
        "cohorts", title=title, month=month,
        text={"summary": cohort_text(matrix, month=month)},
        tables={"sizes": cohort_sizes_table(matrix)},
        figures={"heatmap": plot_cohort_retention(matrix)})
