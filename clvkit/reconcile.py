"""Revenue bridge: from every row of the input file to the headline revenue, month by month.

The report's headline revenue covers identified customers' purchases, after
cancellations and returns, duplicates and non-product lines (postage, fees)
are set apart. :func:`revenue_bridge` recomputes that figure **independently
of the loader** (:func:`clvkit.load_transactions`): it parses the raw input
with plain pandas under the same published rules (column mapping, preset
rules, the report's list of non-product lines) and walks each month down a
bridge::

    all rows dated in the month
    - rows without a customer id
    - order lines of multi-line orders whose amount (the order's total) is on the
      order's first line (no amount of their own; the order is counted there)
    - rows whose amount cannot be read (counted, amount n/a -- never 0)
    - cancellations and returns
    - exact duplicate rows
    - other exclusions (zero amounts, excluded orders, future dates, summary/total rows)
    - non-product lines
    = gross revenue (sales)
    - returns and refunds (cancellation rows of identified customers, refunds column)
    = net revenue (the report's headline)

:func:`check_bridge` then compares the bridge's gross and net revenue with
those the report computed from the loaded data; a difference fails the check.
Rows whose date cannot be read belong to no month and are counted per file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import columns as C
from .io import REFUNDED
from .parsing import has_time_of_day, parse_dates, parse_numbers

__all__ = ["BRIDGE_STEPS", "parse_raw", "revenue_bridge", "check_bridge", "file_totals",
           "is_non_product"]

#: Lines of the bridge, in order (each removes rows left by the previous ones).
BRIDGE_STEPS = ("all rows in the month", "without customer id",
                "order lines (amount on the order's first line)", "unreadable amount",
                "cancellations and returns", "duplicates", "other exclusions",
                "non-product lines", "gross revenue", "returns and refunds", "net revenue")
#: Lines of :data:`BRIDGE_STEPS` that remove rows (between the first line and gross revenue).
_REMOVING = BRIDGE_STEPS[1:8]


def is_non_product(products: pd.Series, names: Sequence[str]) -> np.ndarray:
    """True where a product (text, surrounding spaces and case ignored) is in ``names``.

    Examples
    --------
    >>> is_non_product(pd.Series(["POSTAGE", " postage ", "MUG", None]), ["Postage"]).tolist()
    [True, True, False, False]
    """
    wanted = {str(n).strip().casefold() for n in names}
    text = products.astype("string").str.strip().str.casefold()
    return text.isin(wanted).fillna(False).to_numpy(dtype=bool)


def _numbers(raw: pd.Series, *, column: str, decimal: str | None,
             thousands: str | None) -> pd.Series:
    values = parse_numbers(raw, column=column, decimal=decimal, thousands=thousands).values
    return values.where(np.isfinite(values))


def parse_raw(raw: pd.DataFrame, *, preset: str | None = None, columns: dict | None = None,
              options: dict | None = None) -> pd.DataFrame:
    """Parse a raw input table into the columns the bridge needs, apart from the loader.

    Numbers and dates are read with the conventions of :mod:`clvkit.parsing` (the
    same decision from the whole column, or the config's options), then every
    total is computed here from the raw rows, independently of how the loader
    classified them.

    Parameters
    ----------
    raw : DataFrame
        The input as read from the file (one row per input row).
    preset : str, optional
        Name of a :data:`clvkit.io.PRESETS` layout (column names and rules).
    columns : dict, optional
        Canonical name -> source column (the config's ``data.columns``).
    options : dict, optional
        Loader options of the config: ``decimal``, ``thousands``, ``date_format``,
        ``dayfirst``.

    Returns
    -------
    DataFrame
        One row per input row: ``customer_id`` (bool ``has_customer``), ``date``
        (NaT when unreadable), ``amount`` (NaN when unreadable), ``order_id``
        and ``product`` when present.
    """
    from .io import (
        carry_order_fields,
        find_summary_rows,
        name_headerless_columns,
        order_lines_without_amount,
        resolve_columns,
    )

    options = options or {}
    columns = dict(columns or {})
    refunds = options.get("refunds")
    raw, _ = name_headerless_columns(raw, preset)     # the loader's published rules
    spec = resolve_columns(preset, **columns)         # the loader's own column mapping
    for name in (C.ORDER_ID, C.PRODUCT, C.QUANTITY):      # picked up by name, as the loader does
        if name not in spec and name in raw.columns:
            spec[name] = name
    nums = {"decimal": options.get("decimal"), "thousands": options.get("thousands")}
    order_lines = np.zeros(len(raw), bool)
    if C.ORDER_ID in spec and spec[C.ORDER_ID] in raw.columns:
        order_lines = order_lines_without_amount(pd.DataFrame(
            {k: raw[spec[k]].reset_index(drop=True)
             for k in (C.CUSTOMER_ID, C.DATE, C.ORDER_ID, C.AMOUNT)
             if spec.get(k) in raw.columns}))
        # multi-line orders: order fields carried down within the order id
        keys = [k for k in (C.CUSTOMER_ID, C.DATE, C.ORDER_ID) if spec.get(k) in raw.columns]
        cells, _ = carry_order_fields(pd.DataFrame({k: raw[spec[k]].reset_index(drop=True)
                                                    for k in keys}))
        raw = raw.reset_index(drop=True).assign(**{spec[k]: cells[k] for k in keys})
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    cid = raw[spec[C.CUSTOMER_ID]].reset_index(drop=True)
    out["has_customer"] = ~(cid.isna() | cid.astype("string").str.strip().eq("")).fillna(True)
    dates = raw[spec[C.DATE]].reset_index(drop=True)
    out[C.DATE] = parse_dates(dates, column=spec[C.DATE], date_format=options.get("date_format"),
                              dayfirst=options.get("dayfirst"),
                              date_unit=options.get("date_unit"),
                              timezone=options.get("timezone") or "UTC").values
    if C.AMOUNT in spec:
        out[C.AMOUNT] = _numbers(raw[spec[C.AMOUNT]].reset_index(drop=True),
                                 column=spec[C.AMOUNT], **nums)
    else:
        qty = _numbers(raw[spec[C.QUANTITY]].reset_index(drop=True), column=spec[C.QUANTITY],
                       **nums)
        price = _numbers(raw[spec["unit_price"]].reset_index(drop=True),
                         column=spec["unit_price"], **nums)
        out[C.AMOUNT] = (qty * price).round(10)
    for name in (C.ORDER_ID, C.PRODUCT):
        if name in spec and spec[name] in raw.columns:
            out[name] = raw[spec[name]].reset_index(drop=True).astype("string")
    if refunds is not None and refunds in raw.columns:
        out[REFUNDED] = _numbers(raw[refunds].reset_index(drop=True), column=refunds,
                                 **nums).fillna(0.0).abs()
    out["_duplicate"] = raw.reset_index(drop=True).duplicated().to_numpy()
    out["_order_line"] = order_lines
    cells = pd.DataFrame({name: raw[spec[name]].reset_index(drop=True)
                          for name in (C.CUSTOMER_ID, C.DATE, C.ORDER_ID)
                          if name in spec and spec[name] in raw.columns})
    out["_summary"] = (find_summary_rows(cells, out[C.AMOUNT].to_numpy(dtype=float))
                       if options.get("summary_rows", "drop") == "drop"
                       else np.zeros(len(out), bool))
    return out


def _flags(parsed: pd.DataFrame, *, preset: str | None, non_product: Sequence[str],
           as_of, duplicates: str | None, zero: str | None) -> dict[str, np.ndarray]:
    from .io import PRESETS, duplicate_rule

    rules = PRESETS[preset] if preset else None
    amount = parsed[C.AMOUNT].to_numpy(dtype=float)
    orders = parsed[C.ORDER_ID] if C.ORDER_ID in parsed else None
    cancel = amount < 0
    excluded = np.zeros(len(parsed), bool)
    if rules is not None and orders is not None:
        if rules.cancel_prefix:
            cancel |= orders.str.startswith(rules.cancel_prefix).fillna(False).to_numpy(bool)
        for prefix in rules.exclude_prefix:
            excluded |= orders.str.startswith(prefix).fillna(False).to_numpy(bool)
    if (zero or (rules.zero if rules else "drop")) == "drop":
        excluded |= amount == 0
    if as_of is not None:
        limit = pd.Timestamp.now() if as_of == "now" else pd.Timestamp(as_of)
        excluded |= (parsed[C.DATE] > limit).fillna(False).to_numpy(bool)
    if "_summary" in parsed:   # a spreadsheet's "Total" row (the loader's summary rows)
        excluded |= parsed["_summary"].to_numpy(bool)
    dup = parsed["_duplicate"].to_numpy(bool)
    rule, _ = duplicate_rule(requested=duplicates, preset_rule=rules.duplicates if rules else None,
                             has_order_id=orders is not None,
                             has_time=has_time_of_day(parsed[C.DATE]),
                             n_duplicates=int(dup.sum()))
    if rule != "drop":
        dup = np.zeros(len(parsed), bool)
    product = (is_non_product(parsed[C.PRODUCT], non_product) if C.PRODUCT in parsed
               else np.zeros(len(parsed), bool))
    order_lines = (parsed["_order_line"].to_numpy(bool) if "_order_line" in parsed
                   else np.zeros(len(parsed), bool))
    return {"without customer id": ~parsed["has_customer"].to_numpy(bool),
            "order lines (amount on the order's first line)": order_lines,
            "unreadable amount": np.isnan(amount), "cancellations and returns": cancel,
            "duplicates": dup, "other exclusions": excluded, "non-product lines": product,
            "summary": parsed["_summary"].to_numpy(bool) if "_summary" in parsed
            else np.zeros(len(parsed), bool)}


def revenue_bridge(parsed: pd.DataFrame, *, preset: str | None = None,
                   non_product: Sequence[str] = (), as_of="now", duplicates: str | None = None,
                   zero: str | None = None) -> pd.DataFrame:
    """Monthly bridge from all rows of the input to the headline revenue.

    Parameters
    ----------
    parsed : DataFrame
        Output of :func:`parse_raw`.
    preset : str, optional
        Preset whose rules apply (cancellation and excluded-order prefixes,
        duplicates and zero-amount policies).
    non_product : sequence of str
        Product names that are not products (postage, fees, bank charges).
    as_of : "now", timestamp or None
        Rows dated later are excluded, as the loader does.
    duplicates, zero : {"drop", "keep"}, optional
        Loader policies when they differ from the preset's.

    Returns
    -------
    DataFrame
        Index: (``month``, ``step``) for every month from the first to the last
        readable date and every step of :data:`BRIDGE_STEPS`; columns ``rows``
        and ``amount`` (NaN for unreadable amounts). A step's rows are those
        that the earlier steps left and that the step removes.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", None, "b", "b", "c", "d"],
    ...     "date": ["2024-01-05"] * 6, "amount": ["10", "5", "-3", "x", "7", "2"],
    ...     "product": ["mug", "mug", "mug", "mug", "POSTAGE", "mug"]})
    >>> b = revenue_bridge(parse_raw(raw), non_product=["postage"], as_of=None)
    >>> b.loc["2024-01", "amount"].tolist()
    [21.0, 5.0, 0.0, nan, -3.0, 0.0, 0.0, 7.0, 12.0, 3.0, 9.0]
    """
    flags = _flags(parsed, preset=preset, non_product=non_product, as_of=as_of,
                   duplicates=duplicates, zero=zero)
    month = parsed[C.DATE].dt.to_period("M")
    readable = month.notna().to_numpy()
    amount = parsed[C.AMOUNT].to_numpy(dtype=float)
    if not readable.any():
        return pd.DataFrame(columns=["rows", "amount"])
    months = pd.period_range(month[readable].min(), month[readable].max(), freq="M")
    left = readable.copy()
    parts = [("all rows in the month", left.copy(), amount)]
    for step in _REMOVING:
        hit = left & flags[step]
        parts.append((step, hit, amount))
        left &= ~hit
    parts.append(("gross revenue", left, amount))
    # the loader's returns: cancellations of identified customers not excluded otherwise
    # (duplicates, excluded orders, summary rows), shown as a positive amount subtracted
    returned = (readable & flags["cancellations and returns"] & ~flags["without customer id"]
                & ~flags["duplicates"] & ~flags["other exclusions"] & ~np.isnan(amount))
    refunded = (parsed[REFUNDED].to_numpy(dtype=float) if REFUNDED in parsed
                else np.zeros(len(parsed)))
    back = np.where(returned, -amount, 0.0) + np.where(left, refunded, 0.0)
    parts.append(("returns and refunds", returned | (left & (refunded > 0)), back))
    parts.append(("net revenue", left | returned, np.where(left, amount, 0.0) - back))
    rows = []
    for step, mask, values in parts:
        sub = pd.DataFrame({"month": month[mask], "amount": values[mask]})
        grouped = sub.groupby("month", observed=True)["amount"]
        count = grouped.size().reindex(months, fill_value=0)
        total = grouped.sum(min_count=1).reindex(months)
        if step == "unreadable amount":
            total[:] = np.nan
        else:
            total = total.fillna(0.0)
        for m in months:
            rows.append((str(m), step, int(count[m]), float(total[m])))
    out = pd.DataFrame(rows, columns=["month", "step", "rows", "amount"])
    return out.set_index(["month", "step"])


def file_totals(parsed: pd.DataFrame) -> dict:
    """Rows, readable total, unreadable amounts and dates, date range of the whole input.

    ``amount`` leaves out summary/total rows (a spreadsheet's "Summe" row would
    double it); they are counted in ``summary_rows`` and ``summary_amount``. Order
    lines whose amount is on their order's first line (``order_line_rows``) are not
    unreadable amounts.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-05", "soon"],
    ...                     "amount": ["10.5", "oops"]})
    >>> t = file_totals(parse_raw(raw))
    >>> t["rows"], t["amount"], t["unreadable_amount_rows"], t["unreadable_date_rows"]
    (2, 10.5, 1, 1)
    """
    amount = parsed[C.AMOUNT]
    dates = parsed[C.DATE]
    summary = (parsed["_summary"].to_numpy(bool) if "_summary" in parsed
               else np.zeros(len(parsed), bool))
    lines = (parsed["_order_line"].to_numpy(bool) if "_order_line" in parsed
             else np.zeros(len(parsed), bool))
    return {"rows": len(parsed), "amount": float(amount[~summary].sum(min_count=1) or 0.0),
            "summary_rows": int(summary.sum()),
            "summary_amount": float(amount[summary].sum(min_count=1) or 0.0),
            "order_line_rows": int(lines.sum()),
            "unreadable_amount_rows": int(amount[~summary & ~lines].isna().sum()),
            "unreadable_date_rows": int(dates[~summary].isna().sum()),
            "first_date": dates.min(), "last_date": dates.max()}


def check_bridge(bridge: pd.DataFrame, revenue: pd.Series, *, tolerance: float = 0.005,
                 step: str = "gross revenue") -> pd.DataFrame:
    """Compare a line of the bridge with the report's own figure, month by month.

    Parameters
    ----------
    bridge : DataFrame
        :func:`revenue_bridge`.
    revenue : Series
        The report's monthly revenue (e.g. ``clvkit.crm.monthly_kpis(...)["revenue"]``),
        indexed by month (Period or ``YYYY-MM`` text).
    tolerance : float
        Largest absolute difference counted as equal (half a cent).
    step : {"gross revenue", "net revenue"}
        The bridge line compared (``revenue`` is then the report's gross or net
        revenue).

    Returns
    -------
    DataFrame
        Per month: ``bridge`` and ``report`` revenue, ``difference`` and ``ok``.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-05", "2024-01-09"],
    ...                     "amount": [10.0, 4.0]})
    >>> b = revenue_bridge(parse_raw(raw), as_of=None)
    >>> check_bridge(b, pd.Series({"2024-01": 14.0}))["ok"].tolist()
    [True]
    >>> check_bridge(b, pd.Series({"2024-01": 10.0}))["difference"].tolist()
    [4.0]
    """
    head = bridge.xs(step, level="step")["amount"]
    report = pd.Series(revenue.to_numpy(dtype=float), index=[str(i) for i in revenue.index])
    months = sorted(set(head.index) | set(report.index))
    out = pd.DataFrame({"bridge": head.reindex(months).fillna(0.0),
                        "report": report.reindex(months).fillna(0.0)})
    out["difference"] = (out["bridge"] - out["report"]).round(2)
    out["ok"] = out["difference"].abs() < tolerance
    out.index.name = "month"
    return out
