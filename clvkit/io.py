"""Load transactions from a file or DataFrame into the data contract, with a cleaning log.

The loader is the one boundary where user data meet clvkit. It

1. reads the source (CSV, CSV.gz, Parquet, Excel or a DataFrame) without ever
   modifying it,
2. maps the user's column names onto the canonical ones of :mod:`clvkit.columns`,
3. checks every row once and decides, per row, what happens to it.

Each input row gets exactly one outcome, recorded in the cleaning log. The
checks run in this order and the first one that applies wins:

========================  ===========  ============================================
reason                    action       policy
========================  ===========  ============================================
missing customer id       dropped      always (a purchase nobody made cannot be
                                       attributed)
unparsable date           dropped      always; *all* dates unparsable is an error
missing amount            dropped      always
unparsable amount         dropped      always; a non-numeric column is an error
excluded order            dropped      preset rule (e.g. Online Retail bad-debt
                                       adjustments, invoice prefix ``A``)
future date               dropped      dates after ``as_of`` (default: now)
exact duplicate           dropped      ``duplicates="drop"`` (default) or kept
zero amount               dropped      ``zero="drop"`` (default) or kept
return / cancellation     separated    ``returns="separate"`` (default): kept apart
                                       in ``LoadResult.returns``; ``"net"``: kept
                                       in the transactions; ``"drop"``: dropped
kept                      kept         everything else
========================  ===========  ============================================

A row is a return when its amount is negative or, with a preset that knows
it, when its order id marks a cancellation (Online Retail: prefix ``C``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_one_of
from .errors import DataValidationError, example_rows
from .reading import read_source, read_table

__all__ = ["LoadResult", "load_transactions", "PRESETS", "read_table"]

KEPT = "kept"
RETURN = "return / cancellation"

#: Order of the checks (the first that applies to a row wins) and their action.
REASONS: dict[str, str] = {
    "missing customer id": "dropped",
    "unparsable date": "dropped",
    "missing amount": "dropped",
    "unparsable amount": "dropped",
    "excluded order": "dropped",
    "future date": "dropped",
    "exact duplicate": "dropped",
    "zero amount": "dropped",
    RETURN: "separated",
    KEPT: "kept",
}


@dataclass(frozen=True)
class Preset:
    """Column mapping and rules of a known data layout."""

    name: str
    columns: dict[str, str]
    unit_price: str | None = None
    cancel_prefix: str | None = None
    exclude_prefix: dict[str, str] = field(default_factory=dict)
    duplicates: str = "drop"
    zero: str = "drop"
    extra: dict[str, str] = field(default_factory=dict)
    description: str = ""


#: Ready mappings for the data sets shipped in ``data/``.
PRESETS: dict[str, Preset] = {
    "cdnow": Preset(
        name="cdnow",
        columns={C.CUSTOMER_ID: "customer_id", C.DATE: "date", C.AMOUNT: "amount",
                 C.QUANTITY: "quantity"},
        # CDNOW has no order id: two identical rows on one day are two purchases,
        # and the published summaries (Fader, Hardie & Lee 2005) count them.
        duplicates="keep",
        # Eight first purchases are recorded at $0; the published 2,357-customer
        # summary keeps them, so the preset does too.
        zero="keep",
        description="CDNOW (Fader & Hardie): customer_id, date, quantity, amount in USD",
    ),
    "online_retail": Preset(
        name="online_retail",
        columns={C.CUSTOMER_ID: "CustomerID", C.DATE: "InvoiceDate", C.ORDER_ID: "InvoiceNo",
                 C.QUANTITY: "Quantity", C.PRODUCT: "Description"},
        extra={"country": "Country"},
        unit_price="UnitPrice",
        cancel_prefix="C",
        exclude_prefix={"A": "accounting adjustment (bad debt)"},
        description="UCI Online Retail: amount = Quantity x UnitPrice (GBP), "
        "InvoiceNo -> order_id, 'C' invoices are cancellations, "
        "'A' invoices are bad-debt adjustments",
    ),
}

@dataclass(frozen=True)
class LoadResult:
    """Clean transactions, returns kept apart, and a log that accounts for every input row.

    Attributes
    ----------
    transactions : DataFrame
        Canonical columns (``customer_id``, ``date``, ``amount`` and those optional
        columns present), sorted by date then customer, new RangeIndex.
    returns : DataFrame
        Returns and cancellations (negative amounts), same columns.
    log : DataFrame
        One row per outcome: ``reason``, ``action``, ``rows``, ``amount``; ``rows``
        sums to ``rows_read`` and ``amount`` (where parsable) to the input total.
    row_outcome : Series
        Categorical outcome of every input row, indexed by input row position.
    rows_read : int
        Rows in the input.
    source : str
        Where the data came from.
    """

    transactions: pd.DataFrame
    returns: pd.DataFrame
    log: pd.DataFrame
    row_outcome: pd.Series
    rows_read: int
    source: str

    def to_text(self) -> str:
        """Render the cleaning log as a plain-text table."""
        table = self.log.copy()
        table["amount"] = table["amount"].map(lambda v: f"{v:,.2f}")
        total = f"{self.rows_read:,} rows read from {self.source}"
        return total + "\n" + table.to_string(index=False)


def load_transactions(
    source: str | os.PathLike | pd.DataFrame,
    *,
    preset: str | None = None,
    customer_id: str | None = None,
    date: str | None = None,
    amount: str | None = None,
    order_id: str | None = None,
    quantity: str | None = None,
    unit_price: str | None = None,
    channel: str | None = None,
    product: str | None = None,
    extra: dict[str, str] | None = None,
    returns: str = "separate",
    duplicates: str | None = None,
    zero: str | None = None,
    as_of: Any = "now",
    encoding: str = "utf-8",
    date_format: str | None = None,
    dayfirst: bool = False,
) -> LoadResult:
    """Load transactions into the data contract and log what happened to every row.

    Parameters
    ----------
    source : path or DataFrame
        CSV (``.csv``, ``.csv.gz``, ``.txt``), Parquet (``.parquet``, ``.pq``),
        Excel (``.xlsx``, ``.xls``) or a DataFrame (never modified).
    preset : {"cdnow", "online_retail"}, optional
        A known layout (see :data:`PRESETS`); explicit column arguments override it.
    customer_id, date, amount : str, optional
        The source's names of the required columns (default: the canonical names).
        ``amount`` may be omitted when ``quantity`` and ``unit_price`` are given:
        amount = quantity x unit price.
    order_id, quantity, unit_price, channel, product : str, optional
        Source names of optional columns. Columns already named ``order_id``,
        ``quantity``, ``channel`` or ``product`` are picked up without being named.
    extra : dict, optional
        Further columns to carry along, as ``{new_name: source_name}``
        (e.g. ``{"country": "Country"}``).
    returns : {"separate", "net", "drop"}, default "separate"
        What to do with returns and cancellations (see module docstring).
    duplicates : {"drop", "keep"}, optional
        Exact duplicate rows (every column equal). Default "drop" (preset may change it).
    zero : {"drop", "keep"}, optional
        Rows whose amount is exactly zero (free items, price fixes). Default
        "drop" (the CDNOW preset keeps them).
    as_of : "now", timestamp or None, default "now"
        Rows dated after this are dropped as "future date"; None disables the check.
    encoding : str, default "utf-8"
        Text encoding of CSV files.
    date_format, dayfirst
        Passed to :func:`pandas.to_datetime` for text dates.

    Returns
    -------
    LoadResult

    Raises
    ------
    DataValidationError
        Missing file or column, empty input, wrong encoding, all dates
        unparsable, non-numeric amount column, unreadable file.

    Examples
    --------
    >>> raw = pd.DataFrame({"cust": [1, 1, None, 2], "day": ["2024-01-02", "2024-01-09",
    ...                     "2024-01-03", "not a date"], "value": [10.0, -4.0, 5.0, 7.0]})
    >>> res = load_transactions(raw, customer_id="cust", date="day", amount="value")
    >>> res.transactions[["customer_id", "amount"]].to_dict("list")
    {'customer_id': [1], 'amount': [10.0]}
    >>> res.log[["reason", "rows"]].to_dict("list")
    {'reason': ['missing customer id', 'unparsable date', 'return / cancellation', 'kept'], \
'rows': [1, 1, 1, 1]}
    """
    check_one_of("returns", returns, ["separate", "net", "drop"])
    spec = _resolve_columns(preset, customer_id=customer_id, date=date, amount=amount,
                            order_id=order_id, quantity=quantity, unit_price=unit_price,
                            channel=channel, product=product)
    rules = PRESETS[preset] if preset else Preset(name="custom", columns={})
    extras = {**rules.extra, **(extra or {})}
    spec.update({f"extra:{key}": name for key, name in extras.items()})
    duplicates = check_one_of("duplicates", duplicates or rules.duplicates, ["drop", "keep"])
    zero = check_one_of("zero", zero or rules.zero, ["drop", "keep"])

    table = read_source(source, encoding=encoding)
    raw, label = table.frame, table.label
    if len(raw) == 0:
        raise DataValidationError(f"{label} has no rows: nothing to load. Check the file and "
                                  "its header.")
    frame = _map_columns(raw, spec, label)
    frame, checks = _parse_values(frame, label, date_format=date_format, dayfirst=dayfirst)
    checks["excluded order"] = _excluded_orders(frame, rules)
    checks["future date"] = _future(frame, as_of)
    checks["exact duplicate"] = (raw.reset_index(drop=True).duplicated().to_numpy()
                                 if duplicates == "drop" else np.zeros(len(frame), bool))
    amounts = frame[C.AMOUNT].to_numpy(dtype=float)
    checks["zero amount"] = (amounts == 0) if zero == "drop" else np.zeros(len(frame), bool)
    is_return = amounts < 0
    if rules.cancel_prefix and C.ORDER_ID in frame:
        is_return |= frame[C.ORDER_ID].astype("string").str.startswith(rules.cancel_prefix,
                                                                       na=False).to_numpy()
    checks[RETURN] = is_return

    outcome = _first_reason(checks, len(frame))
    log = _build_log(outcome, amounts)
    keep = outcome == KEPT
    if returns == "net":
        keep |= outcome == RETURN
    clean = _tidy(frame.loc[keep])
    ret = _tidy(frame.loc[outcome == RETURN]) if returns != "drop" else _tidy(frame.iloc[:0])
    if returns == "drop":
        log.loc[log["reason"] == RETURN, "action"] = "dropped"
    elif returns == "net":
        log.loc[log["reason"] == RETURN, "action"] = "kept (netted)"
    outcome_series = pd.Series(pd.Categorical(outcome, categories=list(REASONS)),
                               name="outcome")
    return LoadResult(transactions=clean, returns=ret, log=log, row_outcome=outcome_series,
                      rows_read=len(frame), source=label)


# --------------------------------------------------------------------------- mapping


def _resolve_columns(preset: str | None, **given: str | None) -> dict[str, str]:
    spec: dict[str, str] = {}
    if preset is not None:
        check_one_of("preset", preset, list(PRESETS))
        rules = PRESETS[preset]
        spec.update(rules.columns)
        if rules.unit_price:
            spec["unit_price"] = rules.unit_price
    for canonical, name in given.items():
        if name is not None:
            spec[canonical] = name
    for canonical in C.REQUIRED:
        spec.setdefault(canonical, canonical)
    if "unit_price" in spec and given.get("amount") is None:
        spec.pop(C.AMOUNT, None)
    return spec


def _map_columns(raw: pd.DataFrame, spec: dict[str, str], label: str) -> pd.DataFrame:
    # optional columns already under their canonical name come along without being named
    spec = {**spec, **{c: c for c in C.OPTIONAL if c not in spec and c in raw.columns}}
    missing = [f"{name!r} (for {key.removeprefix('extra:')})" for key, name in spec.items()
               if name not in raw.columns]
    if "unit_price" in spec and C.QUANTITY not in spec:
        missing.append("a quantity column (amount = quantity x unit price)")
    if missing:
        found = ", ".join(repr(c) for c in raw.columns[:30])
        raise DataValidationError(
            f"{label}: missing column(s) {', '.join(missing)}. Columns found: {found}. "
            "Pass the right names, e.g. load_transactions(path, customer_id='CustomerID', "
            "date='InvoiceDate', amount='Sales')")
    out = pd.DataFrame({key.removeprefix("extra:"): raw[name].reset_index(drop=True)
                        for key, name in spec.items() if key != "unit_price"})
    if "unit_price" in spec:
        qty = _numeric(out[C.QUANTITY], "quantity", label, strict=True)
        price = _numeric(raw[spec["unit_price"]].reset_index(drop=True), spec["unit_price"],
                         label, strict=True)
        out[C.QUANTITY] = qty
        out[C.AMOUNT] = (qty * price).round(10)
    return out


def _numeric(values: pd.Series, name: str, label: str, *, strict: bool) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        raise DataValidationError(f"{label}: column {name!r} is boolean, expected numbers")
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    cleaned = values.astype("string").str.replace(r"[,\s£$€]", "", regex=True)
    parsed = pd.to_numeric(cleaned, errors="coerce")
    bad = parsed.isna() & values.notna()
    if strict and bad.all() and len(values):
        raise DataValidationError(
            f"{label}: column {name!r} is not numeric: {example_rows(values.index[bad])}, "
            f"values like {values[bad].head(3).tolist()}. Give the column holding numbers.")
    return parsed.astype(float)


def _parse_values(frame: pd.DataFrame, label: str, *, date_format, dayfirst):
    checks: dict[str, np.ndarray] = {}
    cid = frame[C.CUSTOMER_ID]
    missing_id = cid.isna()
    if cid.dtype == object or pd.api.types.is_string_dtype(cid):
        missing_id |= cid.astype("string").str.strip().fillna("").eq("")
    checks["missing customer id"] = missing_id.to_numpy()

    raw_dates = frame[C.DATE]
    if pd.api.types.is_datetime64_any_dtype(raw_dates):
        dates = raw_dates.dt.tz_localize(None) if raw_dates.dt.tz is not None else raw_dates
    else:
        dates = _parse_dates(raw_dates, date_format=date_format, dayfirst=dayfirst)
    bad_date = dates.isna().to_numpy()
    if bad_date.all():
        raise DataValidationError(
            f"{label}: no value of column {C.DATE!r} could be read as a date "
            f"({example_rows(frame.index)}, values like {raw_dates.head(3).tolist()}). "
            "Pass date_format='%d/%m/%Y' (or dayfirst=True) or name the right column.")
    checks["unparsable date"] = bad_date

    amount_raw = frame[C.AMOUNT]
    amounts = _numeric(amount_raw, C.AMOUNT, label, strict=True)
    checks["missing amount"] = amount_raw.isna().to_numpy()
    checks["unparsable amount"] = (amounts.isna() & amount_raw.notna()).to_numpy()
    out = frame.copy()
    out[C.DATE] = dates.astype("datetime64[ns]")
    out[C.AMOUNT] = amounts
    return out, checks


def _parse_dates(raw: pd.Series, *, date_format, dayfirst) -> pd.Series:
    """Parse text dates: one consistent format first, element-wise only for the rest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dates = pd.to_datetime(raw, errors="coerce", format=date_format, dayfirst=dayfirst)
        retry = dates.isna() & raw.notna()
        if date_format is None and retry.any() and not retry.all():
            dates = dates.copy()
            dates[retry] = pd.to_datetime(raw[retry], errors="coerce", format="mixed",
                                          dayfirst=dayfirst)
    return dates


def _excluded_orders(frame: pd.DataFrame, rules: Preset) -> np.ndarray:
    mask = np.zeros(len(frame), bool)
    if C.ORDER_ID in frame:
        orders = frame[C.ORDER_ID].astype("string")
        for prefix in rules.exclude_prefix:
            mask |= orders.str.startswith(prefix, na=False).to_numpy()
    return mask


def _future(frame: pd.DataFrame, as_of) -> np.ndarray:
    if as_of is None:
        return np.zeros(len(frame), bool)
    limit = pd.Timestamp.now() if as_of == "now" else pd.Timestamp(as_of)
    return (frame[C.DATE] > limit).fillna(False).to_numpy()


def _first_reason(checks: dict[str, np.ndarray], n: int) -> np.ndarray:
    outcome = np.full(n, KEPT, dtype=object)
    decided = np.zeros(n, bool)
    for reason in REASONS:
        if reason == KEPT:
            continue
        hit = checks[reason] & ~decided
        outcome[hit] = reason
        decided |= hit
    return outcome


def _build_log(outcome: np.ndarray, amounts: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"reason": pd.Categorical(outcome, categories=list(REASONS)),
                          "amount": np.nan_to_num(amounts, nan=0.0)})
    counts = frame.groupby("reason", observed=False).agg(rows=("amount", "size"),
                                                        amount=("amount", "sum"))
    counts = counts[counts["rows"] > 0].reset_index()
    counts["reason"] = counts["reason"].astype(str)
    counts.insert(1, "action", counts["reason"].map(REASONS))
    counts["amount"] = counts["amount"].round(2)
    return counts[["reason", "action", "rows", "amount"]]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    ordered = [c for c in C.CANONICAL if c in frame.columns]
    ordered += [c for c in frame.columns if c not in ordered]
    out = frame[ordered].sort_values([C.DATE, C.CUSTOMER_ID], kind="stable")
    out = out.reset_index(drop=True)
    cid = out[C.CUSTOMER_ID]
    if pd.api.types.is_numeric_dtype(cid) and len(cid) and not cid.isna().any():
        if (cid == np.floor(cid)).all():
            out[C.CUSTOMER_ID] = cid.astype("int64")
    return out

