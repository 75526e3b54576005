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
                                       attributed); *no* id at all is an error
missing date              dropped      always; *no* date at all is an error
unparsable date           dropped      always; *all* dates unparsable is an error
order line of a multi-    counted in   lines of a multi-line order whose amount (an
line order (amount on     its order    order field, e.g. Shopify's ``Total``) is on
the order's first line)                the order's first line only: counted there
missing amount            dropped      always
unparsable amount         dropped      always; a non-numeric column is an error;
                                       the log shows examples, and no amount
non-finite amount         dropped      always (``inf``, or quantity x price overflow)
excluded order            dropped      preset rule (e.g. Online Retail bad-debt
                                       adjustments, invoice prefix ``A``)
future or implausible     dropped      dates after ``as_of`` (default: now) and
date                                   dates pandas cannot hold (before 1677 or
                                       after 2262, e.g. 2300-01-01)
exact duplicate           dropped      ``duplicates="drop"`` or kept; by default
                                       decided from the file (see
                                       :func:`duplicate_rule`) and logged
zero amount               dropped      ``zero="drop"`` (default) or kept
return / cancellation     separated    ``returns="separate"`` (default): kept apart
                                       in ``LoadResult.returns``; ``"net"``: kept
                                       in the transactions; ``"drop"``: dropped
kept                      kept         everything else
========================  ===========  ============================================

A row is a return when its amount is negative or, with a preset that knows
it, when its order id marks a cancellation (Online Retail: prefix ``C``).

Values are interpreted once per column, from all of the column's values, and
every interpretation is recorded in ``LoadResult.decisions`` (see
:mod:`clvkit.reading` for files and :mod:`clvkit.parsing` for values):
customer ids and order ids are text exactly as written (``"007"`` is not
``"7"``); the decimal convention of amounts, the order of day and month in
dates, and the separator and encoding of CSV files are decided from the whole
column or file, and ambiguous input is refused with the evidence and the
option that settles it (``decimal=``, ``dayfirst=``, ``date_format=``,
``date_unit=``, ``encoding=``, ``sep=``, ``sheet=``). Dates with a UTC offset
are converted to ``timezone`` (default UTC) before the calendar date is taken.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._validate import check_one_of
from .errors import DataValidationError, example_rows
from .parsing import (
    INVISIBLE_CHARS,
    check_date_options,
    has_time_of_day,
    normalise_ids,
    parse_dates,
    parse_numbers,
)
from .reading import WHITESPACE, RawTable, read_source

__all__ = ["LoadResult", "load_transactions", "resolve_columns", "duplicate_rule", "PRESETS",
           "REASONS", "find_summary_rows", "as_of_limit", "name_headerless_columns",
           "carry_order_fields", "order_lines_without_amount", "summary_file_message",
           "suggest_preset", "REFUNDED"]

KEPT = "kept"
RETURN = "return / cancellation"
FUTURE = "future or implausible date"
SUMMARY = "summary / total row"
ORDER_LINE = "order line of a multi-line order (amount on the order's first line)"

#: Order of the checks (the first that applies to a row wins) and their action.
REASONS: dict[str, str] = {
    SUMMARY: "dropped",
    "missing customer id": "dropped",
    "missing date": "dropped",
    "unparsable date": "dropped",
    ORDER_LINE: "counted in its order",
    "missing amount": "dropped",
    "unparsable amount": "dropped",
    "non-finite amount": "dropped",
    "excluded order": "dropped",
    FUTURE: "dropped",
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
    duplicates: str | None = None
    zero: str = "drop"
    extra: dict[str, str] = field(default_factory=dict)
    description: str = ""
    currency: str | None = None
    #: Source column names in file order, used when a file has no header row
    #: (:func:`name_headerless_columns`).
    positional: tuple[str, ...] = ()


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
        currency="USD",
        # CDNOW_master.txt as Fader & Hardie (and lifetimes) ship it: no header, columns
        # aligned with spaces (sep="whitespace") in this order
        positional=("customer_id", "date", "quantity", "amount"),
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
        currency="GBP",
    ),
}



@dataclass(frozen=True)
class LoadResult:
    """Clean transactions, returns kept apart, and a log that accounts for every input row.

    Attributes
    ----------
    transactions : DataFrame
        Canonical columns (``customer_id``, ``date``, ``amount`` and those optional
        columns present), sorted by date then customer, new RangeIndex. Customer ids
        (and order ids) are text, exactly as written in the source.
    returns : DataFrame
        Returns and cancellations (negative amounts), same columns.
    log : DataFrame
        One row per outcome: ``reason``, ``action``, ``rows``, ``amount``,
        ``examples``; ``rows`` sums to ``rows_read``. ``amount`` is the sum of the
        readable amounts of those rows; it is missing (NaN) for rows whose amount
        could not be read or is not finite, whose raw text ``examples`` shows.
    row_outcome : Series
        Categorical outcome of every input row, indexed by input row position.
    rows_read : int
        Rows in the input.
    source : str
        Where the data came from.
    decisions : tuple of str
        Every interpretation the loader made (file format, separator, encoding,
        sheet, number convention, date format, timezone, id normalisation), one
        sentence each.
    """

    transactions: pd.DataFrame
    returns: pd.DataFrame
    log: pd.DataFrame
    row_outcome: pd.Series
    rows_read: int
    source: str
    decisions: tuple[str, ...] = ()

    def to_text(self, *, hint=None) -> str:
        """Render the decisions and the cleaning log as plain text.

        ``hint`` rewrites each decision (the command line turns ``sheet=`` into ``--sheet``).
        """
        table = self.log.copy()
        table["amount"] = table["amount"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.2f}")
        source = (self.source if isinstance(self.source, str) and self.source.strip()
                  else "the input")
        lines = [f"{self.rows_read:,} rows read from {source}"]
        lines += [f"- {hint(d) if hint else d}" for d in self.decisions]
        return "\n".join(lines) + "\n" + table.to_string(index=False)



def duplicate_rule(*, requested: str | None, preset_rule: str | None, has_order_id: bool,
                   has_time: bool, n_duplicates: int) -> tuple[str, str | None]:
    """Decide what to do with exact duplicate rows, once, from the evidence.

    An exact duplicate repeats another row in every column. Whether it is a
    repeated record or a second, identical purchase depends on what the file
    can tell apart: with an order id or a time of day a repeat is a repeated
    record and is dropped; a file with only customer, date and amount (for
    example line items exported without the product) cannot tell two equal
    purchases on one day from a repeated line, so they are kept as purchases.
    An explicit ``duplicates=`` or the preset's rule wins.

    Parameters
    ----------
    requested : {"drop", "keep"} or None
        The caller's ``duplicates=`` option.
    preset_rule : {"drop", "keep"} or None
        The preset's rule (None: no rule).
    has_order_id : bool
        Whether the file has an order id column.
    has_time : bool
        Whether any date carries a time of day.
    n_duplicates : int
        How many rows repeat an earlier row exactly.

    Returns
    -------
    tuple of (str, str or None)
        The rule, and the decision sentence for ``LoadResult.decisions`` (None
        when there are no duplicates or the caller chose explicitly).

    Examples
    --------
    >>> duplicate_rule(requested=None, preset_rule=None, has_order_id=False,
    ...                has_time=False, n_duplicates=3)[0]
    'keep'
    >>> duplicate_rule(requested=None, preset_rule=None, has_order_id=True,
    ...                has_time=False, n_duplicates=3)[0]
    'drop'
    """
    if requested is not None:
        return requested, None
    if preset_rule is not None:
        rule, why = preset_rule, "the preset's rule"
    elif has_order_id or has_time:
        rule = "drop"
        why = ("the file has " + ("an order id" if has_order_id else "times of day")
               + ", so a row repeated in every column is a repeated record")
    else:
        rule = "keep"
        why = ("the file has no order id and no time of day, so two equal purchases on one "
               "day cannot be told apart from a repeated line")
    if n_duplicates == 0:
        return rule, None
    action = "dropped" if rule == "drop" else "kept as separate purchases"
    other = "keep" if rule == "drop" else "drop"
    rows = "1 row repeats" if n_duplicates == 1 else f"{n_duplicates:,} rows repeat"
    return rule, (f"{rows} another row in every column: {action} "
                  f"({why}); pass duplicates='{other}' to {other} them")


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
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: str | None = None,
    timezone: str = "UTC",
    summary_rows: str = "drop",
    refunds: str | None = None,
) -> LoadResult:
    """Load transactions into the data contract and log what happened to every row.

    Parameters
    ----------
    source : path, DataFrame or RawTable
        CSV (``.csv``, ``.txt``, compressed or zipped), Parquet (``.parquet``,
        ``.pq``), Excel (``.xlsx``, ``.xls``), a DataFrame (never modified), or a
        table already read by :func:`clvkit.reading.read_source` (its reading
        decisions are kept; ``encoding``, ``sep`` and ``sheet`` then do nothing),
        so a caller that needs the raw table too reads the file once.
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
        Exact duplicate rows (every column equal). By default the preset's rule,
        otherwise decided from the file by :func:`duplicate_rule` (dropped when the
        file has an order id or times of day, kept as separate purchases when it has
        only customer, date and amount) and recorded in ``decisions``.
    zero : {"drop", "keep"}, optional
        Rows whose amount is exactly zero (free items, price fixes). Default
        "drop" (the CDNOW preset keeps them).
    as_of : "now", timestamp or None, default "now"
        Rows dated after this are dropped as "future or implausible date"; None
        disables that check (dates pandas cannot represent are dropped anyway).
    encoding : str, optional
        Text encoding of CSV files; default: a byte-order mark decides, else UTF-8.
    sep : str, optional
        Field separator of CSV files; default: detected among ``, ; TAB |``.
    sheet : str or int, optional
        Excel sheet (name or 0-based position); default: the first, logged.
    decimal, thousands : str, optional
        Number convention of text amounts (e.g. ``decimal=","`` and
        ``thousands="."`` for ``1.234,50``); default: decided from the whole
        column, refused when the column cannot tell.
    date_format : str, optional
        A :func:`time.strftime` format for text dates; default: decided from the
        whole column.
    dayfirst : bool, optional
        Settles day/month order where every date of the column could be either;
        ISO dates (``2024-01-06``) stay ISO.
    date_unit : {"s", "ms", "us", "ns", "D"}, optional
        Required for numeric dates: Unix seconds (etc.) or ``"D"``, Excel serial days.
    timezone : str, default "UTC"
        Dates with an offset (``Z``, ``+01:00``) or timezone-aware columns are
        converted to this zone before the calendar date is taken.
    summary_rows : {"drop", "keep"}, default "drop"
        Spreadsheet exports often end with a total: rows whose id, date or order
        cell reads "Total" (also "Grand total", "Sum", "Gesamt", ...), rows anywhere
        in the file labelled like "Total January" whose amount equals the sum of the
        rows since the previous summary row (dated subtotals), and a trailing block of
        up to 3 rows each equal to the sum of the rows above are dropped as "summary /
        total row" (logged, with their row numbers; see :func:`find_summary_rows`);
        "keep" keeps them as purchases.
    refunds : str, optional
        Source name of a column of money refunded on a purchase row (e.g.
        Shopify's ``Refunded Amount``). Read with the amounts' number convention
        into the column ``refunded`` (:data:`REFUNDED`; blank = 0) of the kept
        purchases; the report subtracts it in net revenue.

    Returns
    -------
    LoadResult

    Raises
    ------
    DataValidationError
        Missing file or column, empty input, wrong encoding, ambiguous or mixed
        number or date conventions (naming the option that settles them), all
        dates unparsable, non-numeric amount column, unreadable file.

    Notes
    -----
    Multi-line orders whose order fields (customer, date, ...) are filled only
    on an order's first line are recognised from the order id: the blank order
    fields of later lines are carried down within the order id, and the
    decision is logged (:func:`carry_order_fields`).

    Examples
    --------
    >>> raw = pd.DataFrame({"cust": [1, 1, None, 2], "day": ["2024-01-02", "2024-01-09",
    ...                     "2024-01-03", "not a date"], "value": [10.0, -4.0, 5.0, 7.0]})
    >>> res = load_transactions(raw, customer_id="cust", date="day", amount="value")
    >>> res.transactions[["customer_id", "amount"]].to_dict("list")
    {'customer_id': ['1'], 'amount': [10.0]}
    >>> res.log[["reason", "rows"]].to_dict("list")
    {'reason': ['missing customer id', 'unparsable date', 'return / cancellation', 'kept'], \
'rows': [1, 1, 1, 1]}

    European text: decimal commas and day-first dates are decided once per
    column, from all its values, and each decision is logged.

    >>> text = pd.DataFrame({"customer_id": ["007", "7"], "date": ["13/02/2024", "02/03/2024"],
    ...                      "amount": ["1.234,50", "12,50"]})
    >>> res = load_transactions(text, as_of=None)
    >>> res.transactions.to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'customer_id': ['007', '7'], 'date': [Timestamp('2024-02-13 00:00:00'),
    Timestamp('2024-03-02 00:00:00')], 'amount': [1234.5, 12.5]}
    """
    _check_option_types(locals())
    check_one_of("returns", returns, ["separate", "net", "drop"])
    check_one_of("summary_rows", summary_rows, ["drop", "keep"])
    spec = resolve_columns(preset, customer_id=customer_id, date=date, amount=amount,
                            order_id=order_id, quantity=quantity, unit_price=unit_price,
                            channel=channel, product=product)
    rules = PRESETS[preset] if preset else Preset(name="custom", columns={})
    extras = {**rules.extra, **(extra or {})}
    spec.update({f"extra:{key}": name for key, name in extras.items()})
    if refunds is not None:
        spec[f"extra:{REFUNDED}"] = refunds
    if duplicates is not None:
        check_one_of("duplicates", duplicates, ["drop", "keep"])
    zero = check_one_of("zero", zero or rules.zero, ["drop", "keep"])

    raw, label, decisions = _read_source(source, encoding=encoding, sep=sep, sheet=sheet)
    if len(raw) == 0:
        raise DataValidationError(f"{label} has no rows: nothing to load. Check the file and "
                                  "its header.")
    raw, note = name_headerless_columns(raw, preset)
    decisions = (*decisions, note) if note else decisions
    mapped = _map_columns(raw, spec, label,
                          sheet_note=next((d for d in decisions if d.startswith("sheet ")), None))
    order_lines = order_lines_without_amount(mapped)
    mapped, note = carry_order_fields(mapped)
    decisions = (*decisions, note) if note else decisions
    frame, checks, notes = _parse_values(
        mapped, label, unit_price="unit_price" in spec,
        numbers={"decimal": decimal, "thousands": thousands},
        dates={"date_format": date_format, "dayfirst": dayfirst, "date_unit": date_unit,
               "timezone": timezone})
    decisions = (*decisions, *notes)
    if REFUNDED in frame:
        frame[REFUNDED], note = _parse_refunds(frame[REFUNDED], column=refunds, numbers={
            "decimal": decimal, "thousands": thousands})
        decisions = (*decisions, note)
    checks["excluded order"] = _excluded_orders(frame, rules)
    checks[ORDER_LINE] = order_lines
    if order_lines.any():
        decisions = (*decisions, f"{int(order_lines.sum()):,} order line(s) have no amount of "
                     "their own: the amount column is an order field on the order's first line "
                     "(e.g. Shopify's Total), counted once per order; logged as "
                     f"'{ORDER_LINE}'")
    checks[SUMMARY], note = _summary_rows(mapped, frame[C.AMOUNT].to_numpy(dtype=float),
                                          keep=summary_rows == "keep")
    if note:
        decisions = (*decisions, note)
    checks[FUTURE] = checks.pop("implausible date") | _future(frame, as_of)
    repeated = _repeated_rows(frame, raw, spec)
    earlier = np.zeros(len(frame), bool)
    for reason in list(REASONS)[:list(REASONS).index("exact duplicate")]:
        earlier |= checks[reason]
    duplicates, note = duplicate_rule(requested=duplicates, preset_rule=rules.duplicates,
                                      has_order_id=C.ORDER_ID in frame,
                                      has_time=has_time_of_day(frame[C.DATE]),
                                      n_duplicates=int((repeated & ~earlier).sum()))
    if note:
        decisions = (*decisions, note)
    checks["exact duplicate"] = repeated if duplicates == "drop" else np.zeros(len(frame), bool)
    amounts = frame[C.AMOUNT].to_numpy(dtype=float)
    checks["zero amount"] = (amounts == 0) if zero == "drop" else np.zeros(len(frame), bool)
    is_return = amounts < 0
    if rules.cancel_prefix and C.ORDER_ID in frame:
        is_return |= frame[C.ORDER_ID].astype("string").str.startswith(rules.cancel_prefix,
                                                                       na=False).to_numpy()
    checks[RETURN] = is_return

    reasons = _first_reason(checks, len(frame))
    position = {reason: i for i, reason in enumerate(reasons.categories)}

    def outcome_is(reason: str) -> np.ndarray:
        return reasons.codes == position[reason]

    examples = frame.attrs.pop("examples")
    examples[SUMMARY] = tuple(
        f"row {i + 1}: " + ("no id" if pd.isna(label := mapped[C.CUSTOMER_ID].iloc[i])
                            else str(label))
        for i in np.flatnonzero(outcome_is(SUMMARY))[:3])
    # an order line's blank amount is on its order's first line: 0 here, not "n/a"
    log = _build_log(reasons, np.where(outcome_is(ORDER_LINE), 0.0, amounts), examples)
    keep = outcome_is(KEPT)
    if returns == "net":
        keep |= outcome_is(RETURN)
    clean = _tidy(frame.loc[keep])
    ret = _tidy(frame.loc[outcome_is(RETURN)]) if returns != "drop" else _tidy(frame.iloc[:0])
    if returns == "drop":
        log.loc[log["reason"] == RETURN, "action"] = "dropped"
    elif returns == "net":
        log.loc[log["reason"] == RETURN, "action"] = "kept (netted)"
    outcome_series = pd.Series(reasons, name="outcome")
    return LoadResult(transactions=clean, returns=ret, log=log, row_outcome=outcome_series,
                      rows_read=len(frame), source=label, decisions=tuple(decisions))


# --------------------------------------------------------------------------- options

#: Types of the options of `load_transactions` (checked once, wherever they come from:
#: Python, the command line, a report config's YAML).
_TEXT_OPTIONS = ("preset", "customer_id", "date", "amount", "order_id", "quantity",
                 "unit_price", "channel", "product", "returns", "duplicates", "zero",
                 "encoding", "sep", "decimal", "thousands", "date_format", "date_unit",
                 "timezone", "summary_rows", "refunds")


def _check_option_types(given: dict) -> None:
    """One clear error for an option of the wrong type (``sep=5``, ``dayfirst="false"``)."""
    def shown(value):
        return f"{type(value).__name__} {str(repr(value))[:40]}"

    for name in _TEXT_OPTIONS:
        value = given[name]
        if value is not None and not isinstance(value, str):
            raise DataValidationError(f"{name}= must be text, got {shown(value)}")
    if given["sep"] is not None and len(given["sep"]) != 1 and given["sep"] != WHITESPACE:
        raise DataValidationError(f"sep={given['sep'][:20]!r}: the separator must be one "
                                  f"character, or sep='{WHITESPACE}' for columns aligned with "
                                  "spaces")
    sheet = given["sheet"]
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise DataValidationError(f"sheet= must be a sheet name or a 0-based position, got "
                                  f"{shown(sheet)}")
    extra = given["extra"]
    if extra is not None and not (isinstance(extra, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items())):
        raise DataValidationError(f"extra= must map new names to source column names "
                                  f"(text), got {shown(extra)}")
    check_date_options(date_format=given["date_format"], dayfirst=given["dayfirst"])
    as_of_limit(given["as_of"])


def as_of_limit(as_of: Any) -> pd.Timestamp | None:
    """``as_of`` as a naive timestamp (None: no limit); a value that is not a date is refused.

    Examples
    --------
    >>> as_of_limit("2011-12-09")
    Timestamp('2011-12-09 00:00:00')
    >>> as_of_limit("someday")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: as_of= must be 'now', None or a date such as \
'2011-12-09', got str 'someday'
    """
    if as_of is None:
        return None
    if isinstance(as_of, str) and as_of == "now":
        return pd.Timestamp.now()
    try:
        if isinstance(as_of, bool) or not isinstance(as_of, str | datetime.date | np.datetime64):
            raise TypeError
        limit = pd.Timestamp(as_of)
        if pd.isna(limit):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise DataValidationError(f"as_of= must be 'now', None or a date such as '2011-12-09', "
                                  f"got {type(as_of).__name__} {str(repr(as_of))[:40]}") from None
    return limit.tz_convert(None) if limit.tzinfo is not None else limit


# --------------------------------------------------------------------------- reading


def _read_source(source, *, encoding, sep, sheet) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame", ()
    if isinstance(source, RawTable):
        return source.frame, source.label, tuple(source.decisions)
    if not isinstance(source, (str, os.PathLike)):
        raise DataValidationError(f"source must be a file path, a DataFrame or a RawTable, got "
                                  f"{type(source).__name__}")
    table = read_source(source, encoding=encoding, sep=sep, sheet=sheet)
    return table.frame, table.label, tuple(table.decisions)


# --------------------------------------------------------------------------- mapping


def resolve_columns(preset: str | None, **given: str | None) -> dict[str, str]:
    """Canonical name -> source column of a layout: the preset's, then ``given`` over it.

    Required columns default to their canonical names; with a unit price (and no
    amount given) the amount is computed, so it is not looked up.

    Examples
    --------
    >>> resolve_columns("online_retail", customer_id="Customer")["customer_id"]
    'Customer'
    >>> "amount" in resolve_columns("online_retail")
    False
    """
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


def _map_columns(raw: pd.DataFrame, spec: dict[str, str], label: str, *,
                 sheet_note: str | None = None) -> pd.DataFrame:
    # optional columns already under their canonical name come along without being named
    spec = {**spec, **{c: c for c in C.OPTIONAL if c not in spec and c in raw.columns}}
    missing = [f"{name!r} (for {key.removeprefix('extra:')})" for key, name in spec.items()
               if name not in raw.columns]
    if "unit_price" in spec and C.QUANTITY not in spec:
        missing.append("a quantity column (amount = quantity x unit price)")
    if missing:
        summary = summary_file_message(raw.columns)
        if summary:
            raise DataValidationError(f"{label}: {summary}")
        found = ", ".join(repr(c) for c in raw.columns[:30])
        more = f" (and {len(raw.columns) - 30} more)" if len(raw.columns) > 30 else ""
        absent = [key for key, name in spec.items()
                  if name not in raw.columns and not key.startswith("extra:")]
        options = ", ".join(f"{key}='COLUMN'" for key in absent) or "extra={...}"
        where = f" ({sheet_note})" if sheet_note and " of " in sheet_note else ""
        preset = suggest_preset(raw.columns)
        hint = (f" These columns match the preset {preset!r}: pass preset='{preset}' "
                f"(command line: --preset {preset})." if preset else "")
        raise DataValidationError(
            f"{label}: missing column(s) {', '.join(missing)}. Columns found: {found}{more}"
            f"{where}.{hint} Name the file's columns: load_transactions(path, {options})")
    return pd.DataFrame({key.removeprefix("extra:"): raw[name].reset_index(drop=True)
                         for key, name in spec.items()})


def _parse_values(frame: pd.DataFrame, label: str, *, unit_price: bool, numbers: dict,
                  dates: dict) -> tuple[pd.DataFrame, dict[str, np.ndarray], list[str]]:
    """Interpret every column once; return the typed frame, per-row checks and decisions."""
    notes: list[str] = []
    checks: dict[str, np.ndarray] = {}
    out = frame.copy()

    def note(parsed):
        if parsed.decision:
            notes.append(parsed.decision)
        return parsed

    ids = note(normalise_ids(frame[C.CUSTOMER_ID], column=C.CUSTOMER_ID))
    out[C.CUSTOMER_ID] = ids.values
    checks["missing customer id"] = ids.values.isna().to_numpy()
    if checks["missing customer id"].all():
        raise DataValidationError(
            f"{label}: column {C.CUSTOMER_ID!r} has no customer id in any of its "
            f"{len(frame):,} rows; name the column holding them (customer_id=..., CLI "
            "--customer-id)")
    if C.ORDER_ID in frame:
        out[C.ORDER_ID] = note(normalise_ids(frame[C.ORDER_ID], column=C.ORDER_ID)).values

    when = note(parse_dates(frame[C.DATE], column=C.DATE, **dates))
    if when.values.isna().all() and len(frame):
        seen = (f"values like {list(when.examples)}" if when.examples else
                "dates outside 1677-2262" if when.implausible.any() else "every cell is empty")
        raise DataValidationError(
            f"{label}: no value of column {C.DATE!r} could be read as a date "
            f"({example_rows(frame.index)}; {seen}). Pass date_format='%d/%m/%Y' (or "
            "dayfirst=True) or name the right column (date=..., CLI --date).")
    out[C.DATE] = when.values.astype("datetime64[ns]")
    checks["missing date"] = (when.values.isna().to_numpy() & ~when.unreadable
                              & ~when.implausible)
    checks["unparsable date"] = when.unreadable
    checks["implausible date"] = when.implausible

    if unit_price:
        qty = note(parse_numbers(frame[C.QUANTITY], column=C.QUANTITY, **numbers))
        price = note(parse_numbers(frame["unit_price"], column="unit_price", **numbers))
        with np.errstate(over="ignore", invalid="ignore"):
            value = (qty.values * price.values).round(10)
        missing = (qty.values.isna() & ~qty.unreadable) | (price.values.isna() & ~price.unreadable)
        unreadable = qty.unreadable | price.unreadable
        implausible = qty.implausible | price.implausible
        examples = qty.examples + price.examples
        out[C.QUANTITY] = qty.values
        out = out.drop(columns="unit_price")
    else:
        parsed = note(parse_numbers(frame[C.AMOUNT], column=C.AMOUNT, **numbers))
        value, unreadable, examples = parsed.values, parsed.unreadable, parsed.examples
        implausible = parsed.implausible
        missing = (value.isna() & ~unreadable).to_numpy()
        if C.QUANTITY in frame:
            out[C.QUANTITY] = note(parse_numbers(frame[C.QUANTITY], column=C.QUANTITY,
                                                 **numbers)).values
    value = value.astype(float)
    checks["missing amount"] = np.asarray(missing, bool)
    checks["unparsable amount"] = np.asarray(unreadable, bool)
    checks["non-finite amount"] = (np.asarray(implausible, bool)
                                   | ~np.isfinite(value.to_numpy()) & ~missing & ~unreadable)
    out[C.AMOUNT] = value
    out.attrs["examples"] = {"unparsable amount": examples, "unparsable date": when.examples}
    return out, checks, notes


def _repeated_rows(frame: pd.DataFrame, raw: pd.DataFrame, spec: dict[str, str]) -> np.ndarray:
    """Rows equal to an earlier row in every column *after* parsing and normalising.

    The parsed columns compare by value (``" C001 "`` and ``C001``, ``10.00`` and
    ``10.0``, ``2024-01-02`` and ``2024-01-02 00:00:00`` are equal); other text columns,
    including the file's columns that were not mapped, compare with surrounding
    whitespace and invisible characters removed.
    """
    used = set(spec.values())
    key = {c: frame[c] for c in frame.columns}
    key.update({f"raw:{c}": raw[c].reset_index(drop=True) for c in raw.columns
                if c not in used})
    n = len(frame)
    combined = np.zeros(n, np.int64)   # one code per distinct row so far
    size = 1
    for name, col in key.items():
        codes, uniques = pd.factorize(col, use_na_sentinel=True)   # missing cells: -1
        width = len(uniques)
        if (name not in (C.CUSTOMER_ID, C.ORDER_ID)   # already normalised (normalise_ids)
                and (pd.api.types.is_string_dtype(col.dtype) or col.dtype == object)
                and width and pd.api.types.infer_dtype(uniques, skipna=True) == "string"):
            # other text compares after normalising (numbers or mixed cells, e.g. from
            # Excel, compare as they are); decided on the distinct cells
            text = pd.Series(uniques, dtype="string[pyarrow]")
            text = text.str.replace(INVISIBLE_CHARS, "", regex=True).str.strip()
            same, distinct = pd.factorize(text, use_na_sentinel=True)
            codes = np.where(codes >= 0, same[np.maximum(codes, 0)], -1)
            width = len(distinct)
        if size * (width + 1) >= 2**62:   # keep the combined code exact
            combined, kinds = pd.factorize(combined)
            size = len(kinds)
        combined = combined * (width + 1) + (codes.astype(np.int64) + 1)
        size *= width + 1
    return pd.Series(combined).duplicated().to_numpy()


def _excluded_orders(frame: pd.DataFrame, rules: Preset) -> np.ndarray:
    mask = np.zeros(len(frame), bool)
    if C.ORDER_ID in frame:
        orders = frame[C.ORDER_ID].astype("string")
        for prefix in rules.exclude_prefix:
            mask |= orders.str.startswith(prefix, na=False).to_numpy()
    return mask


def _future(frame: pd.DataFrame, as_of) -> np.ndarray:
    limit = as_of_limit(as_of)
    if limit is None:
        return np.zeros(len(frame), bool)
    return (frame[C.DATE] > limit).fillna(False).to_numpy()


_TOTAL_WORDS = re.compile(
    r"\s*(grand[\s-]*)?(sub[\s-]*)?totals?|sum|summe|gesamt(summe)?|insgesamt|totale|totaal"
    r"|total g[ée]n[ée]ral|summary\s*:?\s*", re.IGNORECASE)


def _summary_rows(mapped: pd.DataFrame, amounts: np.ndarray, *,
                  keep: bool) -> tuple[np.ndarray, str | None]:
    found = find_summary_rows(mapped, amounts)
    n = len(mapped)
    if not found.any():
        return found, None
    rows = ", ".join(str(i + 1) for i in np.flatnonzero(found)[:3])
    more = f" and {found.sum() - 3} more" if found.sum() > 3 else ""
    if keep:
        return np.zeros(n, bool), (f"{int(found.sum())} row(s) look like summary/total rows "
                                   f"(data row {rows}{more}) and are kept as purchases "
                                   "because summary_rows='keep'")
    return found, (f"{int(found.sum())} summary/total row(s) dropped (data row {rows}{more}: "
                   "labelled 'Total' or equal to the sum of the rows above); pass "
                   "summary_rows='keep' if they are real purchases")


def find_summary_rows(mapped: pd.DataFrame, amounts: np.ndarray) -> np.ndarray:
    """Rows that total other rows (the loader's "summary / total row"), anywhere in the file.

    A row is a summary row when

    * its id, date or order cell says "Total" (or "Grand total", "Sum", "Gesamt", ...);
    * a text cell *starts or ends* with such a word ("Total January", "Subtotal Q1",
      "January total") and its amount equals the sum of the rows since the previous
      summary row (a dated subtotal in the middle of the file); a customer named
      "Total Wine" whose purchase does not equal that sum stays a purchase;
    * or it belongs to a trailing block of up to 3 rows whose amounts each equal the sum
      of all purchase rows above the block (at least 10 rows) and whose id is missing or
      appears nowhere above.

    Parameters
    ----------
    mapped : DataFrame
        The raw cells under canonical names (``customer_id``, ``date``, optionally
        ``order_id``, ``product`` and others), one row per input row.
    amounts : ndarray
        The amounts as read (NaN where unreadable).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": ["a", "b", "Total January", "c", "Total"],
    ...                     "date": ["2024-01-02", "2024-01-03", "2024-01-31", "2024-02-01",
    ...                              ""]})
    >>> find_summary_rows(raw, np.array([2.0, 3.0, 5.0, 4.0, 9.0])).tolist()
    [False, False, True, False, True]
    """
    n = len(mapped)
    values = np.where(np.isfinite(amounts), amounts, 0.0)
    labelled = np.zeros(n, bool)
    prefixed = np.zeros(n, bool)
    for column in mapped.columns:
        if column in (C.AMOUNT, C.QUANTITY, "unit_price") or not (
                pd.api.types.is_string_dtype(mapped[column].dtype)
                or mapped[column].dtype == object):
            continue
        # decided on the distinct cells (a few thousand), not on every row
        codes, distinct = pd.factorize(mapped[column], use_na_sentinel=True)
        if not len(distinct):
            continue
        text = pd.Series(distinct, dtype="string").str.strip()
        where = codes >= 0
        pick = np.maximum(codes, 0)
        if column in (C.CUSTOMER_ID, C.DATE, C.ORDER_ID):
            words = text.str.fullmatch(_TOTAL_WORDS).fillna(False).to_numpy(dtype=bool)
            labelled |= where & words[pick]
        hint = text.str.contains("total", case=False, regex=False).fillna(False)
        if hint.any():   # the regexes only on the few cells that mention a total
            cells = text[hint]
            starts = np.zeros(len(text), bool)
            starts[hint.to_numpy(dtype=bool)] = (
                cells.str.match(_TOTAL_START) | cells.str.contains(_TOTAL_END)
            ).fillna(False).to_numpy(dtype=bool)
            prefixed |= where & starts[pick]
    subtotal = _subtotals(values, labelled, prefixed & ~labelled)
    found = labelled | subtotal
    return found | _trailing_total(mapped, values, found)


_TOTAL_START = re.compile(r"(?i)(?:grand[\s-]*)?(?:sub[\s-]*)?totals?\b[\s:]*\S")
_TOTAL_END = re.compile(r"(?i)\S[\s:]*\b(?:grand[\s-]*)?(?:sub[\s-]*)?totals?\s*:?$")


def _subtotals(values: np.ndarray, boundary: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Candidates whose amount equals the sum of the rows since the previous summary row."""
    found = np.zeros(len(values), bool)
    marks = np.flatnonzero(boundary | candidate)
    if not candidate.any():
        return found
    cumulative = np.concatenate([[0.0], np.cumsum(np.where(boundary, 0.0, values))])
    start = 0
    for i in marks:   # a few rows: the labelled ones
        if boundary[i]:
            start = i + 1
            continue
        block = cumulative[i] - cumulative[start]
        if i - start >= 2 and values[i] != 0 and np.isclose(values[i], block, rtol=1e-9,
                                                            atol=0.005):
            found[i] = True
            cumulative[i + 1:] -= values[i]   # a subtotal is not part of the next block
            start = i + 1
    return found


def _trailing_total(mapped: pd.DataFrame, values: np.ndarray, found: np.ndarray) -> np.ndarray:
    """A trailing block of up to 3 rows each equal to the sum of the purchase rows above."""
    n = len(values)
    body_values = np.where(found, 0.0, values)
    ids = mapped[C.CUSTOMER_ID].astype("string").str.strip()
    trailing = np.zeros(n, bool)
    for m in (3, 2, 1):
        body = body_values[:n - m]
        if len(body) < 10 or np.count_nonzero(body) < 2:
            continue
        total = body.sum()
        block = values[n - m:]
        # a customer seen earlier in the file making a purchase equal to the total is more
        # likely a purchase than a total: only rows without an id, or with an id of its own
        close = np.isclose(block, total, rtol=1e-9, atol=0.005 * (1 + m)) & (block != 0)
        if not close.any():
            continue
        tail = ids.iloc[n - m:]
        above = ids.iloc[:n - m]
        seen = set(above[above.isin(tail.dropna().tolist())].tolist())   # small lookup
        own = np.array([pd.isna(v) or v not in seen for v in tail], bool)
        equal = close & own
        if (equal | found[n - m:]).all() and equal.any():
            trailing[n - m:] = True
            break
    return trailing


def _first_reason(checks: dict[str, np.ndarray], n: int) -> pd.Categorical:
    """Each row's first reason in ``REASONS`` order (categories: every reason)."""
    names = list(REASONS)
    codes = np.full(n, names.index(KEPT), dtype=np.int8)
    decided = np.zeros(n, bool)
    for i, reason in enumerate(names):
        if reason == KEPT:
            continue
        hit = checks[reason] & ~decided
        codes[hit] = i
        decided |= hit
    return pd.Categorical.from_codes(codes, categories=names)


def _build_log(reasons: pd.Categorical, amounts: np.ndarray,
               examples: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    readable = np.isfinite(amounts)
    frame = pd.DataFrame({"reason": reasons,
                          "amount": np.where(readable, amounts, 0.0), "readable": readable})
    counts = frame.groupby("reason", observed=False).agg(
        rows=("amount", "size"), amount=("amount", "sum"), readable=("readable", "sum"))
    counts = counts[counts["rows"] > 0].reset_index()
    counts["reason"] = counts["reason"].astype(str)
    counts.insert(1, "action", counts["reason"].map(REASONS))
    # rows without a readable amount have no amount: n/a, never 0
    counts["amount"] = counts["amount"].round(2).where(counts["readable"] > 0)
    counts["examples"] = counts["reason"].map(
        lambda r: ", ".join(repr(e) for e in examples.get(r, ())[:3]))
    return counts[["reason", "action", "rows", "amount", "examples"]]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    ordered = [c for c in C.CANONICAL if c in frame.columns]
    ordered += [c for c in frame.columns if c not in ordered]
    out = frame[ordered].sort_values([C.DATE, C.CUSTOMER_ID], kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- foreign layouts
# Exports the kit did not ship with: headerless whitespace files, multi-line orders,
# refunds columns, per-customer summaries, files that match a preset.

#: Column of the kept purchases holding the money refunded on them (``refunds=``).
REFUNDED = "refunded"


def name_headerless_columns(raw: pd.DataFrame, preset: str | None
                            ) -> tuple[pd.DataFrame, str | None]:
    """Name the columns of a headerless file (``column_1`` ...) by the preset's file order.

    A whitespace-aligned file without a header row is read with columns
    ``column_1 .. column_N`` (:func:`clvkit.reading.read_source`); when the preset
    knows its layout (:attr:`Preset.positional`, e.g. CDNOW_master.txt) and the
    widths agree, the columns get the preset's names. Returns the (new) frame and
    the decision, or ``raw`` unchanged and None.

    Examples
    --------
    >>> raw = pd.DataFrame([["00001", "19970101", "1", "11.77"]],
    ...                    columns=["column_1", "column_2", "column_3", "column_4"])
    >>> named, note = name_headerless_columns(raw, "cdnow")
    >>> list(named.columns)
    ['customer_id', 'date', 'quantity', 'amount']
    """
    names = [f"column_{i + 1}" for i in range(raw.shape[1])]
    order = PRESETS[preset].positional if preset in PRESETS else ()
    if not order or list(raw.columns) != names or len(order) != len(names):
        return raw, None
    return (raw.set_axis(list(order), axis=1),
            f"the file has no header row: its columns are read in the {preset} preset's "
            f"order ({', '.join(order)})")


def _blank(values: pd.Series) -> np.ndarray:
    """Missing or whitespace-only cells (decided on the distinct values)."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return values.isna().to_numpy(dtype=bool)   # numbers, dates: only missing is blank
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not len(uniques):
        return np.ones(len(values), bool)
    blank = np.fromiter((isinstance(u, str) and not u.strip() for u in uniques), bool,
                        len(uniques))
    return (codes < 0) | blank[np.maximum(codes, 0)]


def carry_order_fields(mapped: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """Fill the order fields of multi-line orders written only on an order's first line.

    Shop exports (Shopify and others) write one line per item and fill the
    order's fields (customer, date, channel, ...) on the first line only. Where
    a line has an order id and a blank customer id or date, and another line of
    the same order has them, the blank order fields (every mapped column except
    the amount, quantity, product and refunds, which belong to the line) are
    filled from the order's first filled line. Nothing else changes.

    Parameters
    ----------
    mapped : DataFrame
        Raw cells under canonical names (text as read).

    Returns
    -------
    tuple of (DataFrame, str or None)
        The frame (a copy when anything was filled) and the decision sentence.

    Examples
    --------
    >>> raw = pd.DataFrame({"order_id": ["#1", "#1", "#2"], "customer_id": ["a", None, "b"],
    ...                     "date": ["2024-01-02", "", "2024-01-03"], "amount": ["5", "7", "1"]})
    >>> filled, note = carry_order_fields(raw)
    >>> filled[["customer_id", "date"]].to_dict("list")
    {'customer_id': ['a', 'a', 'b'], 'date': ['2024-01-02', '2024-01-02', '2024-01-03']}
    >>> note.split(":")[0]
    "1 line of 1 multi-line order has the order's fields only on its first line"
    """
    if C.ORDER_ID not in mapped or len(mapped) == 0:
        return mapped, None
    has_order = ~_blank(mapped[C.ORDER_ID])
    needs = has_order & (_blank(mapped[C.CUSTOMER_ID]) | _blank(mapped[C.DATE]))
    if not needs.any():
        return mapped, None
    # only orders with some lines that need the fields and some that may have them (the
    # ids compared stripped, as below; decided on the distinct ids, not on every line)
    ids, distinct = pd.factorize(mapped[C.ORDER_ID], use_na_sentinel=True)
    same, _ = pd.factorize(pd.Series(distinct).astype("string").str.strip())
    codes = np.where(has_order, same[np.maximum(ids, 0)], -1)
    known = codes >= 0
    lines = np.bincount(codes[known], minlength=codes.max() + 1)
    needing = np.bincount(codes[needs & known], minlength=codes.max() + 1)
    mixed = (needing > 0) & (needing < lines)
    if not mixed.any():
        return mapped, None
    line_fields = {C.AMOUNT, C.QUANTITY, C.PRODUCT, "unit_price", REFUNDED, C.ORDER_ID}
    fields = [c for c in mapped.columns if c not in line_fields]
    orders = mapped[C.ORDER_ID].astype("string").str.strip().where(has_order)
    out = mapped.copy()
    filled = np.zeros(len(mapped), bool)
    for column in fields:
        blank = _blank(mapped[column])
        if not (blank & needs).any():
            continue
        known = mapped[column].where(~blank)
        first = known.groupby(orders, sort=False).transform("first")
        fill = blank & has_order & first.notna().to_numpy()
        out.loc[fill, column] = first[fill]
        filled |= fill & needs
    lines = int(filled.sum())
    if lines == 0:
        return mapped, None
    n_orders = int(orders[filled].nunique())
    return out, (f"{lines:,} line{'s' if lines != 1 else ''} of {n_orders:,} multi-line "
                 f"order{'s' if n_orders != 1 else ''} "
                 f"{'have' if lines != 1 else 'has'} the order's fields only on its first "
                 "line: the customer id, date and other order fields were carried down "
                 "within the order id (each line keeps its own amount)")


def order_lines_without_amount(mapped: pd.DataFrame) -> np.ndarray:
    """Lines of multi-line orders whose amount is an order field on the first line only.

    Shop exports with an order-level amount column (Shopify's ``Total``) fill it,
    like the customer and date, on an order's first line only. The other lines
    (an order id, a blank amount and a blank customer id or date, in an order
    whose first line has all three) are order lines of an order already counted
    with its total: not an amount that could not be read. Their amount is never
    carried down (the order's total would be counted once per line). Call this
    on the raw cells *before* :func:`carry_order_fields`.

    Examples
    --------
    >>> raw = pd.DataFrame({"order_id": ["#1", "#1", "#2"], "customer_id": ["a", None, "b"],
    ...                     "date": ["2024-01-02", "", "2024-01-03"], "amount": ["12", "", ""]})
    >>> order_lines_without_amount(raw).tolist()
    [False, True, False]
    """
    if C.ORDER_ID not in mapped or C.AMOUNT not in mapped or len(mapped) == 0:
        return np.zeros(len(mapped), bool)
    has_order = ~_blank(mapped[C.ORDER_ID])
    no_amount = _blank(mapped[C.AMOUNT])
    order_blank = np.zeros(len(mapped), bool)
    head = has_order & ~no_amount
    for column in (C.CUSTOMER_ID, C.DATE):
        if column in mapped:
            blank = _blank(mapped[column])
            order_blank |= blank
            head &= ~blank
    codes, _ = pd.factorize(mapped[C.ORDER_ID].astype("string").str.strip().where(has_order))
    known = codes >= 0
    if not known.any():
        return np.zeros(len(mapped), bool)
    headed = np.bincount(codes[known & head], minlength=codes.max() + 1) > 0
    return known & no_amount & order_blank & headed[np.where(known, codes, 0)]


def _parse_refunds(values: pd.Series, *, column: str | None, numbers: dict
                   ) -> tuple[pd.Series, str]:
    parsed = parse_numbers(values, column=column or REFUNDED, **numbers)
    amount = parsed.values.astype(float).fillna(0.0).abs()
    unreadable = int(np.asarray(parsed.unreadable, bool).sum())
    if unreadable:
        raise DataValidationError(
            f"column {column!r} (refunds): {unreadable:,} value(s) are not numbers "
            f"({list(parsed.examples)[:3]}); fix them or leave refunds= out")
    rows = int((amount > 0).sum())
    return amount.to_numpy(), (f"refunds read from column {column!r}: {rows:,} row(s) "
                               f"with {amount.sum():,.2f} refunded (blank = none); net "
                               "revenue subtracts them in the month of the purchase")


#: Columns of a per-customer summary (lifetimes / clvkit ``rfm_summary``), lower case.
_SUMMARY_COLUMNS = {"frequency", "recency", "t"}


def summary_file_message(columns) -> str | None:
    """A message when ``columns`` are those of a per-customer summary, not transactions.

    Examples
    --------
    >>> summary_file_message(["customer_id", "frequency", "recency", "T", "monetary_value"])[:62]
    'this file is already a per-customer summary (frequency, recenc'
    >>> summary_file_message(["customer_id", "date", "amount"]) is None
    True
    """
    lower = {str(c).strip().lower(): str(c) for c in columns}
    if not _SUMMARY_COLUMNS <= set(lower) or "date" in lower:
        return None
    shown = ", ".join(lower[c] for c in ("frequency", "recency", "t") if c in lower)
    return (f"this file is already a per-customer summary ({shown}: one row per customer), "
            "not transactions (one row per purchase with a date and an amount). The loader "
            "and the report need the transactions; a summary can be passed straight to a "
            "model, e.g. clvkit.models.BGNBD().fit(summary, time_unit='W')")


def suggest_preset(columns) -> str | None:
    """The preset whose source columns are all among ``columns`` (None when none or several).

    Examples
    --------
    >>> suggest_preset(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
    ...                 "UnitPrice", "CustomerID", "Country"])
    'online_retail'
    """
    have = {str(c) for c in columns}
    found = [name for name, rules in PRESETS.items()
             if {*rules.columns.values(), *filter(None, [rules.unit_price])} <= have
             and not {*rules.columns.values()} <= set(C.CANONICAL)]
    return found[0] if len(found) == 1 else None
