"""Files a report pack writes beside its pages: ``kpis.csv`` and the key of masked lists.

Both go through :func:`clvkit.outputs.write_table` (atomic, spreadsheet-safe).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .. import columns as C
from ..outputs import write_table
from .month import ReportMonth

__all__ = ["KPI_COLUMNS", "kpis_table", "kpi_value", "write_kpis", "KEY_FILE", "target_key",
           "write_target_key"]

#: Columns of ``kpis.csv``, in order.
KPI_COLUMNS = ("metric", "label", "unit", "month", "days", "partial", "value", "previous",
               "last_year", "benchmark", "definition", "formula", "window")
#: Name of the key file written beside masked target lists.
KEY_FILE = "target-lists-key.csv"


def kpis_table(headline: pd.DataFrame, *, period: ReportMonth) -> pd.DataFrame:
    """The month's KPIs for BI tools: registry name, value, comparisons and definition.

    ``headline`` is :func:`clvkit.report.sections.executive.headline_numbers`.
    Values are written per the registry's unit of the metric (:func:`kpi_value`:
    money to the cent, counts as integers, rates as fractions to 6 decimals),
    empty where undefined; ``previous`` and ``last_year`` are like for
    like when the month is in progress (``partial``, over ``days`` days).

    Examples
    --------
    >>> head = pd.DataFrame({"label": ["Orders"], "kind": ["count"], "value": [5.0],
    ...                      "previous": [4.0], "last_year": [float("nan")],
    ...                      "benchmark": [float("nan")]}, index=["orders"])
    >>> t = kpis_table(head, period=ReportMonth("2024-03", pd.Timestamp("2024-03-31")))
    >>> t[["metric", "month", "days", "partial", "value", "previous"]].to_dict("records")
    [{'metric': 'orders', 'month': '2024-03', 'days': 31, 'partial': False, 'value': 5, \
'previous': 4}]
    >>> t.loc[0, "definition"]
    'Distinct orders placed in the month.'
    """
    from ..metrics import METRICS, definitions_table

    defs = definitions_table(list(headline.index))
    units = [METRICS[m].unit if m in METRICS else k
             for m, k in zip(headline.index, headline["kind"], strict=True)]
    out = pd.DataFrame({
        "metric": list(headline.index), "label": headline["label"].to_numpy(),
        "unit": headline["kind"].to_numpy(), "month": period.month, "days": period.days,
        "partial": period.partial,
        **{c: pd.Series([kpi_value(v, u) for v, u in zip(headline[c].to_numpy(dtype=float),
                                                         units, strict=True)], dtype=object)
           for c in ("value", "previous", "last_year", "benchmark")},
        "definition": defs["definition"].to_numpy(), "formula": defs["formula"].to_numpy(),
        "window": defs["window"].to_numpy()})
    return out[list(KPI_COLUMNS)]


def kpi_value(value: float, unit: str) -> int | float | None:
    """A KPI as written to ``kpis.csv``: without float noise, the same on every machine.

    Money (``currency``) is rounded to the cent, counts are integers, rates
    (``percent``, as fractions) and other numbers are rounded to 6 decimals;
    None (an empty cell) where undefined.

    Examples
    --------
    >>> kpi_value(16446.879999999994, "currency"), kpi_value(344.0, "count")
    (16446.88, 344)
    >>> kpi_value(0.30000000000000004, "percent"), kpi_value(float("nan"), "count")
    (0.3, None)
    """
    if not math.isfinite(value):
        return None
    if unit == "count":
        return int(round(value))
    return round(value, 2 if unit == "currency" else 6) + 0.0   # + 0.0: no "-0.0"


def write_kpis(headline: pd.DataFrame, path: str | Path, *, period: ReportMonth) -> Path:
    """Write :func:`kpis_table` to ``path`` (CSV, no index)."""
    return write_table(kpis_table(headline, period=period), path, index=False)


def target_key(ids, lists) -> pd.DataFrame:
    """Pseudonym -> customer id, for the pseudonyms that appear in ``lists``.

    ``ids`` are the real customer ids (any iterable); ``lists`` the exported
    tables (their ``customer_id`` column or index holds pseudonyms of
    :func:`clvkit.report.data.mask_id`).

    Examples
    --------
    >>> from clvkit.report.data import mask_id
    >>> listed = pd.DataFrame({"customer_id": [mask_id("17")], "spend": [5.0]})
    >>> target_key(["17", "18"], [listed]).to_dict("list")
    {'pseudonym': ['c-4523540f1504'], 'customer_id': ['17']}
    """
    from .data import mask_id

    wanted = set()
    for frame in lists:
        column = (frame[C.CUSTOMER_ID] if C.CUSTOMER_ID in frame
                  else frame.index.to_series() if frame.index.name == C.CUSTOMER_ID else None)
        if column is not None:
            wanted |= set(column.dropna().astype(str))
    ids = pd.Series(pd.unique(pd.Series(list(ids), dtype="string").dropna()), dtype="string")
    key = pd.DataFrame({"pseudonym": ids.map(mask_id).astype(str), "customer_id": ids.astype(str)})
    key = key.loc[key["pseudonym"].isin(wanted)].sort_values("pseudonym", kind="mergesort")
    return key.reset_index(drop=True)


def write_target_key(data, folder: str | Path) -> Path | None:
    """Write the key of the masked lists in ``folder`` (:data:`KEY_FILE`, mode 600).

    ``data`` is the unmasked :class:`~clvkit.report.data.ReportData`; the lists
    are the CSV files the sections exported into ``folder``. Returns the path,
    or None when no list holds a customer.
    """
    folder = Path(folder)
    lists = [pd.read_csv(p, dtype="string") for p in sorted(folder.glob("*.csv"))
             if p.name not in ("kpis.csv", KEY_FILE)]
    ids = pd.concat([data.transactions[C.CUSTOMER_ID], data.returns[C.CUSTOMER_ID]])
    key = target_key(ids, lists)
    if key.empty:
        return None
    return write_table(key, folder / KEY_FILE, index=False, mode=0o600)
