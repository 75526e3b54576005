"""Read numbers, dates and customer ids from raw columns: decide once per column, never guess.

Three pure functions turn one raw column (text from a CSV, or the typed column of a
Parquet/Excel file) into clean values:

* :func:`parse_numbers` -- amounts and prices written in any common convention
  (``12.50``, ``12,50``, ``1,234.50``, ``1.234,50``, ``1 234,50``, ``1'234.50``,
  ``(12.50)``, ``£12.50``, ``12,50 EUR``);
* :func:`parse_dates` -- ISO, day-first, month-first, month names, offsets, Unix
  epochs and Excel serial days;
* :func:`normalise_ids` -- customer ids as text, exactly as written.

Each function looks at the *distinct* values of the column, decides one reading for
the whole column from all of them, and either says what it decided (``decision``, one
sentence for the load log) or refuses with the evidence and the option that settles
the question. It never decides value by value: a column cannot be half day-first and
half month-first. Values that fit the decided reading of no value are reported as
``unreadable`` (with examples), values that were read but cannot be used (an infinite
amount, a date outside pandas' nanosecond range) as ``implausible``. Missing values
(NaN, None, empty or whitespace-only text) are neither.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ._validate import check_one_of
from .errors import DataValidationError

__all__ = ["ParsedColumn", "parse_numbers", "parse_dates", "normalise_ids", "has_time_of_day",
           "ID_DTYPE", "check_date_options", "INVISIBLE_CHARS"]

#: dtype of parsed customer ids (see :func:`normalise_ids`): pandas' default text dtype
#: (missing = NaN), the dtype a Parquet round trip gives back.
ID_DTYPE = pd.StringDtype(na_value=np.nan)

_SPACE_CHARS = " \u00a0\u202f\u2009"
#: Invisible format characters (Unicode category Cf) an id can carry without showing them:
#: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width space/joiners,
#: direction marks and embeddings/isolates, word joiner and invisible operators, the BOM.
INVISIBLE_CHARS = "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
_WS = f"[{_SPACE_CHARS}]"
_DECIMALS = (".", ",")
_THOUSANDS = (None, ",", ".", " ", "'", "\u00a0", "\u202f")


@dataclass(frozen=True)
class ParsedColumn:
    """One raw column read into clean values.

    Attributes
    ----------
    values : Series
        Same index (and name) as the input: float64 for numbers, naive
        datetime64[ns] for dates, pandas ``string`` for ids. Missing, unreadable and
        implausible values are NaN / NaT / <NA>.
    unreadable : ndarray of bool
        A value was present but could not be read.
    implausible : ndarray of bool
        A value was read but cannot be used (non-finite number, date outside
        pandas' nanosecond range 1677-09-21 .. 2262-04-11).
    decision : str
        One sentence saying how the column was read, for ``LoadResult.decisions``;
        ``""`` when there was nothing to decide.
    examples : tuple of str
        Up to three raw texts of unreadable values.
    """

    values: pd.Series
    unreadable: np.ndarray
    implausible: np.ndarray
    decision: str
    examples: tuple[str, ...]


# --------------------------------------------------------------------------- shared


def _distinct(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) and distinct values of a column."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    return np.asarray(codes), np.asarray(uniques, dtype=object)


def _as_text(uniques: np.ndarray) -> pd.Series:
    """Distinct values as stripped text (str cells only), <NA> for blank text.

    Arrow-backed, so that regexes run vectorised (RE2 in pyarrow.compute). Text that
    Arrow cannot hold (lone surrogates) becomes U+FFFD, which reads as nothing.
    """
    cells = pd.Series(uniques, dtype=object)
    try:
        text = cells.astype("string[pyarrow]")
    except (pa.ArrowException, UnicodeError):
        text = cells.map(lambda c: c.encode("utf-8", "replace").decode("utf-8")
                         if isinstance(c, str) else c).astype("string[pyarrow]")
    text = text.str.strip()
    return text.mask(text == "")


def _arrow(text: pd.Series) -> pa.Array:
    arr = pa.array(text.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _match(text: pd.Series, pattern: str, *, ignore_case: bool = False) -> np.ndarray:
    """Values matching an anchored (``^...$``) RE2 pattern; missing values do not match."""
    found = pc.match_substring_regex(_arrow(text), pattern, ignore_case=ignore_case)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False).astype(bool)


def _extract(text: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of ``pattern`` per value (object columns; None = no match / empty group).

    ``Series.str.extract`` runs Python's ``re`` value by value even on Arrow strings;
    ``pyarrow.compute.extract_regex`` is ~5x faster. Patterns use no back-references (RE2).
    """
    found = pc.extract_regex(_arrow(text), pattern)
    valid = found.is_valid().to_numpy(zero_copy_only=False)
    cols = {}
    for i in range(found.type.num_fields):
        col = found.field(i).to_numpy(zero_copy_only=False).astype(object)
        col[~valid | (col == "")] = None
        cols[found.type.field(i).name] = col
    return pd.DataFrame(cols, index=text.index, dtype=object)


def _clip(text: str, limit: int = 60) -> str:
    """A raw value for a message or the log's examples, elided beyond ``limit`` characters."""
    return text if len(text) <= limit else f"{text[:limit - 1]}\u2026"


def _examples(texts) -> tuple[str, ...]:
    return tuple(_clip(str(t)) for t in list(texts)[:3])


def _quote_list(texts, limit: int = 3) -> str:
    texts = list(texts)
    shown = ", ".join(repr(_clip(str(t))) for t in texts[:limit])
    return shown + (", ..." if len(texts) > limit else "")


def _count(n, noun: str) -> str:
    """``"1 distinct value"`` / ``"2,345 distinct values"``."""
    n = int(n)
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _num(x: float) -> str:
    return f"{x:.15g}"


def _bool_rows(raw: pd.Series) -> np.ndarray:
    """Rows holding True/False in an object column (factorize merges True with 1)."""
    return np.fromiter((isinstance(v, (bool, np.bool_)) for v in raw), bool, len(raw))


def _str_cells(uniques: np.ndarray) -> np.ndarray:
    """Mask of the distinct values that are text."""
    if pd.api.types.infer_dtype(uniques, skipna=True) == "string":
        return np.ones(len(uniques), bool)
    return np.fromiter((isinstance(u, str) for u in uniques), bool, len(uniques))


# --------------------------------------------------------------------------- numbers

_SIGN = "[+\\-\u2212]"
_CURRENCY = "[£$€¥]|[A-Z]{3}"
_NUMBER_RE = (
    rf"^(?P<open>\()?{_WS}*(?P<s1>{_SIGN})?{_WS}*(?P<c1>{_CURRENCY})?{_WS}*(?P<s2>{_SIGN})?"
    rf"{_WS}*(?P<body>[0-9.,'{_SPACE_CHARS}]*[0-9](?:[eE][+-]?[0-9]+)?)"
    rf"{_WS}*(?P<c2>{_CURRENCY})?{_WS}*(?P<s3>{_SIGN})?{_WS}*(?P<close>\))?$"
)
_INF_RE = "^[+\\-\u2212]?(?:inf|infinity)$"
_SYMBOL_CODES = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "JPY"}
_PLAIN_RE = r"^[+-]?\d+(?:\.\d+)?$"
_THREE_DECIMALS_RE = r"^[+-]?[1-9]\d{0,2}\.\d{3}$"


@dataclass(frozen=True)
class _Convention:
    decimal: str
    thousands: str | None  # " " stands for every space character (NBSP, thin, ...)

    @property
    def name(self) -> str:
        dec = "decimal point" if self.decimal == "." else "decimal comma"
        if self.thousands is None:
            return dec
        return f"{dec} with {_sep_name(self.thousands)} thousands separator"

    def option(self, text: str) -> str:
        """The keyword that selects this reading of ``text``."""
        if self.thousands is not None and self.thousands in text.replace("\u00a0", " "):
            return f"thousands={self.thousands!r}"
        return f"decimal={self.decimal!r}"

    def pattern(self) -> str:
        dec = re.escape(self.decimal)
        if self.decimal == ".":
            plain = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
        else:
            plain = r"(?:\d+(?:,\d+)?|,\d+)"
        if self.thousands is None:
            return f"^{plain}$"
        sep = _WS if self.thousands == " " else re.escape(self.thousands)
        grouped = rf"[1-9]\d{{0,2}}(?:{sep}\d{{3}})+(?:{dec}\d+)?"
        return f"^(?:{plain}|{grouped})$"

    def read(self, body: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Readable mask and values (NaN where unreadable) of number bodies."""
        ok = _match(body, self.pattern())
        text = pc.filter(_arrow(body), pa.array(ok))
        if self.thousands == " ":
            text = pc.replace_substring_regex(text, _WS, "")
        elif self.thousands is not None:
            text = pc.replace_substring(text, self.thousands, "")
        if self.decimal == ",":
            text = pc.replace_substring(text, ",", ".")
        values = np.full(len(body), np.nan)
        values[ok] = pd.to_numeric(text.to_numpy(zero_copy_only=False), errors="coerce")
        return ok, values


def _sep_name(sep: str) -> str:
    return {" ": "space", "\u00a0": "space", "\u202f": "space"}.get(sep, repr(sep))


#: Conventions tried when the caller does not say (preference order for ties).
_CONVENTIONS = (
    _Convention(".", None), _Convention(".", ","), _Convention(".", " "), _Convention(".", "'"),
    _Convention(",", None), _Convention(",", "."), _Convention(",", " "),
)


def _candidates(decimal, thousands) -> tuple[_Convention, ...]:
    if decimal is not None:
        check_one_of("decimal", decimal, _DECIMALS)
    if thousands is not None:
        check_one_of("thousands", thousands, _THOUSANDS)
        if thousands == decimal:
            raise DataValidationError(f"thousands={thousands!r} and decimal={decimal!r} "
                                      "cannot be the same character; pass different ones")
        thousands = " " if thousands in _SPACE_CHARS else thousands
    if decimal is not None and thousands is not None:
        return (_Convention(decimal, thousands),)
    chosen = tuple(c for c in _CONVENTIONS
                   if (decimal is None or c.decimal == decimal)
                   and (thousands is None or c.thousands == thousands))
    if not chosen:  # e.g. thousands="'" with decimal="," : not in the detection list
        chosen = (_Convention("," if thousands == "." else ".", thousands),)
    return chosen


def parse_numbers(raw: pd.Series, *, column: str, decimal: str | None = None,
                  thousands: str | None = None) -> ParsedColumn:
    """Read a column of amounts or prices, deciding the number convention once.

    Text is stripped of surrounding whitespace, a sign (leading, or trailing minus),
    accounting parentheses (negative) and one currency symbol or code (``£ $ € ¥``,
    ``EUR``...) before or after the number, if the whole column uses the same one.
    The decimal mark and thousands separator are decided from all distinct values:
    a value that only one convention reads (``12,50``, ``1,234.50``, ``1.234.567``)
    settles it; if the column reads under two conventions giving different numbers
    and no value tells them apart (every value like ``1,234``), the column is refused.

    Parameters
    ----------
    raw : Series
        The raw column: text, numbers, or an object column mixing both.
    column : str
        The column's name in the source, used in messages.
    decimal : {".", ","}, optional
        Decimal mark. None: decide from the data.
    thousands : {",", ".", " ", "'", no-break space, narrow no-break space}, optional
        Thousands separator (any space character stands for all of them). None:
        decide from the data (no separator is always accepted).

    Returns
    -------
    ParsedColumn
        ``values`` float64; infinite values are kept but flagged ``implausible``.

    Raises
    ------
    DataValidationError
        Boolean column; no value readable as a number; several currencies in the
        column; the decimal convention is ambiguous (message says ``decimal=``).

    Examples
    --------
    >>> col = parse_numbers(pd.Series(["12,50", "1.234,50", None, "7"]), column="amount")
    >>> col.values.tolist()
    [12.5, 1234.5, nan, 7.0]
    >>> col.decision  # doctest: +NORMALIZE_WHITESPACE
    "'amount': decimal comma with '.' thousands separator (decided from 2 of 3 distinct
    values, e.g. '1.234,50'); pass decimal=... to override"
    >>> parse_numbers(pd.Series(["£3.50", "(£1.25)", "n/a"]), column="price").values.tolist()
    [3.5, -1.25, nan]
    >>> parse_numbers(pd.Series(["1,234", "2,500"]), column="amount")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: 'amount': 2 distinct values like '1,234' read as \
1234 with thousands=',' or 1.234 with decimal=',' and no value tells the two apart; pass \
decimal='.' or decimal=',' (and thousands=... if needed)
    """
    n = len(raw)
    if pd.api.types.is_bool_dtype(raw):
        raise DataValidationError(f"column {column!r} is boolean (True/False), expected "
                                  "numbers; name the column holding the amounts")
    candidates = _candidates(decimal, thousands)
    if pd.api.types.is_complex_dtype(raw):
        raise DataValidationError(f"column {column!r} holds complex numbers, expected real "
                                  "amounts; name the column holding the amounts")
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
        implausible = (values.notna() & ~np.isfinite(values)).to_numpy()
        return ParsedColumn(values, np.zeros(n, bool), implausible, "", ())

    codes, uniques = _distinct(raw)
    is_text = _str_cells(uniques)
    parsed = np.full(len(uniques), np.nan)
    readable = np.zeros(len(uniques), bool)
    missing = np.zeros(len(uniques), bool)
    if not is_text.all():
        for i in np.flatnonzero(~is_text):
            cell = uniques[i]
            if isinstance(cell, numbers.Real) and not isinstance(cell, (bool, np.bool_)):
                parsed[i], readable[i] = float(cell), True
    text = _as_text(np.where(is_text, uniques, None))
    missing |= is_text & text.isna().to_numpy(dtype=bool)
    present = is_text & ~missing
    decision = ""
    if present.any():
        t_parsed, t_ok, decision = _numbers_from_text(
            text[present].reset_index(drop=True), column, candidates,
            passed={"decimal": decimal, "thousands": thousands})
        parsed[present], readable[present] = t_parsed, t_ok
    bad = ~readable & ~missing
    if not readable.any() and bad.any():
        raise DataValidationError(
            f"column {column!r} is not numeric: none of its {_count(bad.sum(), 'distinct value')} "
            f"could be read as a number (values like {_quote_list(uniques[bad])}). Name the "
            "column holding the amounts, or pass decimal=/thousands= if the numbers use "
            "an unusual convention")
    values = _take(parsed, codes)
    unreadable = np.zeros(n, bool) if not bad.any() else _take_bool(bad, codes)
    examples = _examples(uniques[bad])
    if not is_text.all():
        bools = _bool_rows(raw)
        if bools.any():
            values[bools], unreadable[bools] = np.nan, True
            examples = (examples + tuple(str(v) for v in raw[bools].unique()))[:3]
    implausible = np.isinf(values)
    return ParsedColumn(pd.Series(values, index=raw.index, name=raw.name), unreadable,
                        implausible, decision, examples)


def _take(values: np.ndarray, codes: np.ndarray, fill=np.nan) -> np.ndarray:
    out = values[codes] if len(values) else np.full(len(codes), fill, dtype=values.dtype)
    if (codes < 0).any():
        out = out.copy()
        out[codes < 0] = fill
    return out


def _take_bool(mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return _take(mask, codes, fill=False).astype(bool)


def _numbers_from_text(text: pd.Series, column: str, candidates, *, passed: dict):
    """Parse distinct non-blank texts; return values, readable mask and decision."""
    m = len(text)
    explicit = any(v is not None for v in passed.values())
    conv_fast = not explicit or candidates[0].decimal == "." and all(
        c.decimal == "." for c in candidates)
    if conv_fast and _match(text, _PLAIN_RE).all():  # plain numbers: no decision
        dotted = text[_match(text, r"^.*\..*$")]
        ambiguous = (not explicit and len(dotted)
                     and _match(dotted, _THREE_DECIMALS_RE).all())
        if not ambiguous:
            values = pd.to_numeric(text.to_numpy(dtype=object), errors="coerce")
            return values, ~np.isnan(values), ""

    parts = _extract(text, _NUMBER_RE)
    matched = parts["body"].notna().to_numpy(copy=True)
    signs = parts[["s1", "s2", "s3"]].notna().sum(axis=1).to_numpy()
    has_open, has_close = parts["open"].notna().to_numpy(), parts["close"].notna().to_numpy()
    both_cur = (parts["c1"].notna() & parts["c2"].notna()).to_numpy()
    matched &= (has_open == has_close) & (signs + has_open <= 1) & ~both_cur
    negative = has_open | parts[["s1", "s2", "s3"]].isin(["-", "\u2212"]).any(axis=1).to_numpy()
    body = parts["body"].where(matched, None).astype(text.dtype)

    # currency: one throughout, or refuse
    currency = parts["c1"].fillna(parts["c2"]).where(matched)
    code = currency.replace(_SYMBOL_CODES)
    used = code.dropna().unique()
    used = [c for c in used if c not in ("INF", "NAN")]
    if len(used) > 1:
        shown = "; ".join(f"{c} in {text[code == c].iloc[0]!r}" for c in used[:3])
        raise DataValidationError(
            f"column {column!r} mixes more than one currency ({shown}): convert the amounts "
            "to one currency before loading (clvkit does not convert currency)")

    inf = _match(text, _INF_RE, ignore_case=True)
    reads = [c.read(body) for c in _CONVENTIONS]
    cand_idx = [_CONVENTIONS.index(c) if c in _CONVENTIONS else None for c in candidates]
    if any(i is None for i in cand_idx):  # explicit pair outside the detection list
        cand_reads = [candidates[0].read(body)]
    else:
        cand_reads = [reads[i] for i in cand_idx]
    counts = [ok.sum() for ok, _ in cand_reads]
    best = max(counts)
    tied = [i for i, c in enumerate(counts) if c == best]
    first = tied[0]
    for other in tied[1:]:
        ok = cand_reads[first][0] & cand_reads[other][0]
        differ = ok & (cand_reads[first][1] != cand_reads[other][1])
        if differ.any():
            k = int(np.flatnonzero(differ)[0])
            a, b = candidates[first], candidates[other]
            example = text.iloc[k]
            raise DataValidationError(
                f"{column!r}: {_count(differ.sum(), 'distinct value')} like {example!r} read as "
                f"{_num(cand_reads[first][1][k])} with {a.option(body.iloc[k])} or "
                f"{_num(cand_reads[other][1][k])} with {b.option(body.iloc[k])} and no value "
                "tells the two apart; pass decimal='.' or decimal=',' (and thousands=... "
                "if needed)")
    for other in range(len(candidates)):
        if candidates[other].decimal == candidates[first].decimal:
            continue
        only_a = cand_reads[first][0] & ~cand_reads[other][0]
        only_b = cand_reads[other][0] & ~cand_reads[first][0]
        if only_a.any() and only_b.any():  # e.g. US amounts, then EU amounts
            a, b = candidates[first], candidates[other]
            ex_a, ex_b = text.iloc[np.flatnonzero(only_a)[0]], text.iloc[np.flatnonzero(only_b)[0]]
            n_a = _count(only_a.sum(), "distinct value")
            n_b = _count(only_b.sum(), "distinct value")
            raise DataValidationError(
                f"{column!r} mixes number conventions: {n_a} "
                f"read only with {a.name} (e.g. {ex_a!r}) and {n_b} "
                f"only with {b.name} (e.g. {ex_b!r}). Fix the source, or pass decimal= (and "
                "thousands=) to choose one; values written the other way become unreadable")
    ok, values = cand_reads[first]
    values = np.where(negative, -values, values)
    values[inf] = np.where(text[inf].str[0].isin(["-", "\u2212"]).to_numpy(dtype=bool),
                           -np.inf, np.inf)
    ok = ok | inf

    clauses = []
    chosen = candidates[first]
    if explicit:
        given = ", ".join(f"{k}={v!r}" for k, v in passed.items() if v is not None)
        clauses.append(f"{chosen.name} ({given} as passed)")
    elif chosen != _CONVENTIONS[0] and best:
        # evidence: values some other convention reads differently or not at all; the
        # example is one only this convention reads, else one only its decimal mark reads
        evidence = np.zeros(m, bool)
        only_chosen, only_decimal = np.ones(m, bool), np.ones(m, bool)
        for conv, (c_ok, c_val) in zip(_CONVENTIONS, reads, strict=True):
            if conv == chosen:
                continue
            other = ~c_ok | (c_val != cand_reads[first][1])
            evidence |= other
            only_chosen &= other
            if conv.decimal != chosen.decimal:
                only_decimal &= other
        evidence &= cand_reads[first][0]
        for best_pick in (only_chosen, only_decimal, evidence):
            pick = np.flatnonzero(evidence & best_pick)
            if len(pick):
                break
        decimals = {candidates[i].decimal for i in tied}
        name = chosen.name if len(decimals) == 1 else (
            f"digits grouped with {_sep_name(chosen.thousands)} thousands separators"
            if chosen.thousands else chosen.name)
        example = f", e.g. {text.iloc[pick[0]]!r}" if len(pick) else ""
        clauses.append(f"{name} (decided from {evidence.sum():,} of "
                       f"{_count(m, 'distinct value')}{example}); pass decimal=... to override")
    if used:
        n_cur = int(code.notna().sum())
        written = ", ".join(repr(w) for w in sorted(currency.dropna().unique())[:3])
        clauses.append(f"currency {used[0]} (written {written}) stripped from "
                       f"{_count(n_cur, 'distinct value')}")
    decision = f"{column!r}: " + "; ".join(clauses) if clauses else ""
    return values, ok, decision


# --------------------------------------------------------------------------- dates

_DATE_UNITS = ("s", "ms", "us", "ns", "D")
_NS_MIN, _NS_MAX = pd.Timestamp.min, pd.Timestamp.max
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")

_TIME_RE = (r"(?:(?P<tsep>T| +|, *)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})"
            r"(?P<F>\.\d{1,9})?)?(?P<ampm> ?[AaPp][Mm])?(?P<tz> ?(?:Z|[+-]\d{2}:?\d{2}))?)?$")
#: shape name -> regex of the date part (named groups used to build the format)
_SHAPES = {
    "ymd": r"^(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P<sep2>[-/.])(?P<d>\d{1,2})",
    "abY": r"^(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P<sep2>[-/.])(?P<y>\d{4})",
    "dMonY": r"^(?P<d>\d{1,2})(?P<sep>[ -])(?P<mon>[A-Za-z]{3,9})(?P<sep2>[ -])(?P<y>\d{4})",
    "MondY": r"^(?P<mon>[A-Za-z]{3,9}) (?P<d>\d{1,2})(?P<comma>,?) (?P<y>\d{4})",
}
_HUMAN = {"%Y": "yyyy", "%m": "mm", "%d": "dd", "%H": "HH", "%I": "hh", "%M": "MM",
          "%S": "SS", "%f": "ffffff", "%b": "Mon", "%B": "Month", "%p": "AM/PM", "%z": "±HH:MM"}


def _human(fmt: str) -> str:
    for code, text in _HUMAN.items():
        fmt = fmt.replace(code, text)
    return fmt


def _check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise DataValidationError(
            f"timezone={timezone!r} is not a known time zone; pass an IANA name such as "
            "'UTC' or 'Europe/London'") from None
    return timezone


_STRPTIME = set("aAbBcdfGHIjmMpSuUVwWxXyYzZ%")


def check_date_options(*, date_format=None, dayfirst=None) -> None:
    """Refuse a ``date_format`` that cannot give a full date, and a ``dayfirst`` not a bool.

    A format needs a year (``%Y``/``%y``) and a day of the year (``%j``) or a month
    (``%m``/``%b``/``%B``) and a day (``%d``); without a year pandas puts every date in
    1900. Unknown directives (``%Q``) are refused by name.

    Examples
    --------
    >>> check_date_options(date_format="%d/%m")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: date_format='%d/%m' has no year (%Y or %y): every \
date would fall in 1900; pass a format with the year, e.g. '%d/%m/%Y'
    """
    if dayfirst is not None and not isinstance(dayfirst, bool | np.bool_):
        raise DataValidationError(f"dayfirst= must be True, False or None, got "
                                  f"{type(dayfirst).__name__} {str(repr(dayfirst))[:40]}")
    if date_format is None:
        return
    if not isinstance(date_format, str):
        raise DataValidationError(f"date_format= must be a strftime format (text), got "
                                  f"{type(date_format).__name__} {str(repr(date_format))[:40]}")
    codes = re.findall(r"%(.)", date_format.replace("%%", ""))
    shown = repr(date_format[:40])
    unknown = sorted({c for c in codes if c not in _STRPTIME})
    if unknown or date_format.replace("%%", "").endswith("%"):
        raise DataValidationError(f"date_format={shown} has unknown directive(s) "
                                  f"{', '.join('%' + c for c in unknown) or '%'}; use strftime "
                                  "codes such as %Y %m %d %H %M %S")
    if not {"Y", "y", "c", "x"} & set(codes):
        raise DataValidationError(f"date_format={shown} has no year (%Y or %y): every date "
                                  "would fall in 1900; pass a format with the year, e.g. "
                                  "'%d/%m/%Y'")
    if not ({"j", "c", "x"} & set(codes) or ({"m", "b", "B"} & set(codes) and "d" in codes)
            or {"U", "W", "V"} & set(codes)):
        raise DataValidationError(f"date_format={shown} has no month and day (%m and %d, or "
                                  "%j): pass a format that gives the whole date")


def _in_ns_range(parsed: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Naive datetimes as datetime64[ns]; out-of-range values NaT and flagged."""
    out = (parsed < _NS_MIN) | (parsed > _NS_MAX)
    out = out.to_numpy(bool)
    if out.any():
        parsed = parsed.mask(out)
    return parsed.astype("datetime64[ns]"), out


def parse_dates(raw: pd.Series, *, column: str, date_format: str | None = None,
                dayfirst: bool | None = None, date_unit: str | None = None,
                timezone: str = "UTC") -> ParsedColumn:
    """Read a column of dates, deciding the format once from all distinct values.

    Text values are sorted into shapes (ISO ``yyyy-mm-dd[ HH:MM[:SS[.fff]]][Z|±HH:MM]``,
    ``yyyy/mm/dd``, ``a/b/yyyy`` with ``/ . -`` separators, ``05 Jan 2024``,
    ``Jan 5, 2024``, ``yyyymmdd``; each with an optional time) and each shape is
    parsed with one explicit format. For ``a/b/yyyy`` the day/month order comes from
    the data: a first number above 12 means day-first, a second number above 12
    month-first; both at once is an error ("mixed"), neither needs ``dayfirst=``.
    ISO dates stay ISO whatever ``dayfirst`` says.

    Parameters
    ----------
    raw : Series
        Text, datetime64 (naive or tz-aware), numbers, or an object column of them.
    column : str
        The column's name in the source, used in messages.
    date_format : str, optional
        strftime format for every text value; wins over detection.
    dayfirst : bool, optional
        Order of ``a/b/yyyy`` dates when the data do not settle it; an error if it
        contradicts the data.
    date_unit : {"s", "ms", "us", "ns", "D"}, optional
        Required for numeric dates: Unix epoch units, or ``"D"`` for Excel serial
        days (origin 1899-12-30, fractional days keep the time, rounded to the
        millisecond).
    timezone : str, default "UTC"
        Values with an offset and tz-aware datetimes are converted to this zone and
        made naive; values without an offset in such a column are taken as already
        in this zone.

    Returns
    -------
    ParsedColumn
        ``values`` naive datetime64[ns]; dates outside 1677-09-21 .. 2262-04-11 are NaT
        and flagged ``implausible``.

    Raises
    ------
    DataValidationError
        Ambiguous (``dayfirst=``) or mixed day/month order, numbers without
        ``date_unit=``, no value readable as a date, unknown time zone.

    Examples
    --------
    >>> col = parse_dates(pd.Series(["13/02/2024 10:00", "05/03/2024 09:30", ""]),
    ...                   column="date")
    >>> col.values.dt.strftime("%Y-%m-%d %H:%M").tolist()
    ['2024-02-13 10:00', '2024-03-05 09:30', nan]
    >>> col.decision
    "'date': day-first dd/mm/yyyy HH:MM (decided from 1 of 2 distinct values with a day \
above 12, e.g. '13/02/2024 10:00')"
    >>> parse_dates(pd.Series(["05/03/2024"]), column="date", dayfirst=False).values[0]
    Timestamp('2024-05-03 00:00:00')
    >>> parse_dates(pd.Series([45292.5]), column="date", date_unit="D").values[0]
    Timestamp('2024-01-01 12:00:00')
    """
    n = len(raw)
    _check_timezone(timezone)
    check_date_options(date_format=date_format, dayfirst=dayfirst)
    if date_unit is not None:
        check_one_of("date_unit", date_unit, _DATE_UNITS)
    if pd.api.types.is_bool_dtype(raw):
        raise DataValidationError(f"column {column!r} is boolean (True/False), expected "
                                  "dates; name the column holding the dates")
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        local = raw.dt.tz_convert(timezone).dt.tz_localize(None)
        values, out = _in_ns_range(local)
        decision = f"{column!r}: converted tz-aware dates to {timezone} and dropped the zone"
        return ParsedColumn(values.rename(raw.name), np.zeros(n, bool), out, decision, ())
    if pd.api.types.is_datetime64_dtype(raw):
        values, out = _in_ns_range(raw)
        return ParsedColumn(values, np.zeros(n, bool), out, "", ())
    if pd.api.types.is_numeric_dtype(raw):
        number = raw.astype("float64")
        _require_unit(date_unit, column, number.dropna().unique())
        values, out = _numbers_to_dates(number.to_numpy(), date_unit)
        return ParsedColumn(pd.Series(values, index=raw.index, name=raw.name),
                            np.zeros(n, bool), out, f"{column!r}: {_unit_clause(date_unit)}", ())

    codes, uniques = _distinct(raw)
    parsed = np.full(len(uniques), np.datetime64("NaT"), dtype="datetime64[ns]")
    done = np.zeros(len(uniques), bool)
    out = np.zeros(len(uniques), bool)
    missing = np.zeros(len(uniques), bool)
    is_text = _str_cells(uniques)
    decisions = []
    if not is_text.all():  # Excel-style object column: datetimes / numbers per cell
        others = np.flatnonzero(~is_text)
        stamps = [_cell_to_timestamp(uniques[i], timezone) for i in others]
        for i, stamp in zip(others, stamps, strict=True):
            if isinstance(stamp, pd.Timestamp):
                if _NS_MIN <= stamp <= _NS_MAX:
                    parsed[i], done[i] = stamp.as_unit("ns").to_datetime64(), True
                else:
                    out[i] = done[i] = True
        nums = [i for i, s in zip(others, stamps, strict=True) if isinstance(s, float)]
        if nums:
            _require_unit(date_unit, column, uniques[nums])
            v, o = _numbers_to_dates(np.array([float(uniques[i]) for i in nums]), date_unit)
            parsed[nums], out[nums], done[nums] = v, o, True
            decisions.append(_unit_clause(date_unit))
    text = _as_text(np.where(is_text, uniques, None))
    missing |= is_text & text.isna().to_numpy(dtype=bool)
    present = np.flatnonzero(is_text & ~missing)
    if len(present):
        sub = text.iloc[present].reset_index(drop=True)
        v, o, ok, notes = _dates_from_text(sub, column, date_format=date_format,
                                         dayfirst=dayfirst, date_unit=date_unit,
                                         timezone=timezone)
        parsed[present], out[present], done[present] = v, o, ok | o
        decisions.extend(notes)
    bad = ~done & ~missing
    if bad.any() and not done.any():
        raise DataValidationError(
            f"no value of column {column!r} could be read as a date "
            f"({_count(bad.sum(), 'distinct value')} like {_quote_list(uniques[bad])}). Pass "
            "date_format='%d/%m/%Y' (any strftime format) or name the column holding the dates")
    values = _take(parsed, codes, fill=np.datetime64("NaT"))
    unreadable, examples = _take_bool(bad, codes), _examples(uniques[bad])
    if not is_text.all():
        bools = _bool_rows(raw)
        if bools.any():
            values[bools], unreadable[bools] = np.datetime64("NaT"), True
            examples = (examples + tuple(str(v) for v in raw[bools].unique()))[:3]
    decision = f"{column!r}: " + "; ".join(decisions) if decisions else ""
    return ParsedColumn(pd.Series(values, index=raw.index, name=raw.name), unreadable,
                        _take_bool(out, codes), decision, examples)


def _cell_to_timestamp(cell, timezone: str):
    """A non-text cell as a naive Timestamp, a float (number), or None."""
    if isinstance(cell, (bool, np.bool_)):
        return None
    if isinstance(cell, (datetime, date, np.datetime64, pd.Timestamp)):
        try:
            stamp = pd.Timestamp(cell)
        except (ValueError, OverflowError):
            return None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert(timezone).tz_localize(None)
        return stamp
    if isinstance(cell, numbers.Real):
        return float(cell)
    return None


def _require_unit(date_unit, column: str, examples) -> None:
    if date_unit is None:
        shown = ", ".join(str(v) for v in list(examples)[:3])
        raise DataValidationError(
            f"column {column!r} holds numbers (e.g. {shown}), not dates: pass "
            "date_unit='D' for Excel serial days, or date_unit='s' / 'ms' / 'us' / 'ns' for "
            "Unix epoch time (or date_format= if they are dates like 20240105)")


def _unit_clause(unit: str) -> str:
    what = ("Excel serial days (origin 1899-12-30)" if unit == "D"
            else f"Unix epoch time in {unit}")
    return f"numbers read as {what} (date_unit={unit!r})"


def _numbers_to_dates(x: np.ndarray, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers to datetime64[ns]; values outside the ns range NaT and flagged."""
    x = np.asarray(x, dtype=float)
    if unit == "D":
        ns = (x - 25569.0) * 86_400e9  # serial 25569 = 1970-01-01
    else:
        ns = x * {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[unit]
    lo, hi = float(_NS_MIN.value), float(_NS_MAX.value)
    with np.errstate(invalid="ignore"):
        fine = np.isfinite(ns) & (ns > lo + 1e9) & (ns < hi - 1e9)
    out = ~fine & ~np.isnan(x)
    values = np.full(len(x), np.datetime64("NaT"), dtype="datetime64[ns]")
    if fine.any():
        if unit == "D":
            stamps = pd.to_datetime(x[fine], unit="D", origin=_EXCEL_EPOCH).round("ms")
        else:
            stamps = pd.to_datetime(x[fine], unit=unit)
        values[fine] = stamps.as_unit("ns").to_numpy()
    return values, out


def _time_format(g: pd.DataFrame) -> np.ndarray:
    """Give the strftime format of the time part of each value (vectorised over distinct values)."""
    has_time = g["H"].notna().to_numpy()
    ampm = g["ampm"].notna().to_numpy()
    fmt = np.where(has_time, g["tsep"].fillna("").to_numpy(object), "").astype(object)
    fmt = fmt + np.where(has_time, np.where(ampm, "%I:%M", "%H:%M"), "")
    fmt = fmt + np.where(g["S"].notna().to_numpy(), ":%S", "")
    fmt = fmt + np.where(g["F"].notna().to_numpy(), ".%f", "")
    fmt = fmt + np.where(ampm, np.where(g["ampm"].str.startswith(" ").fillna(False), " %p",
                                        "%p"), "")
    tz = g["tz"]
    fmt = fmt + np.where(tz.notna().to_numpy(),
                         np.where(tz.str.startswith(" ").fillna(False), " %z", "%z"), "")
    return fmt


def _dates_from_text(text: pd.Series, column: str, *, date_format, dayfirst, date_unit,
                     timezone):
    """Parse distinct non-blank texts: values, out-of-range, readable, decision."""
    m = len(text)
    formats = np.full(m, None, dtype=object)
    notes: list[str] = []
    if date_format is not None:
        formats[:] = date_format
        notes.append(f"format {date_format!r} (as passed)")
    else:
        numeric = _match(text, r"^\d+(?:\.\d+)?$")
        if numeric.all():
            eight = _match(text, r"^\d{8}$").all()
            as_ymd = (pd.to_datetime(text, format="%Y%m%d", errors="coerce")
                      if eight and date_unit is None else None)
            if as_ymd is not None and as_ymd.notna().all():
                formats[:] = "%Y%m%d"
                notes.append("yyyymmdd (every value is an 8-digit date)")
            else:
                _require_unit(date_unit, column, text.iloc[:3])
                v, o = _numbers_to_dates(pd.to_numeric(text).to_numpy(float), date_unit)
                return v, o, ~o, [_unit_clause(date_unit)]
        else:
            formats[_match(text, r"^\d{8}$")] = "%Y%m%d"
            notes.extend(_classify(text, formats, column, dayfirst))

    values = np.full(m, np.datetime64("NaT"), dtype="datetime64[ns]")
    out = np.zeros(m, bool)
    fmts = pd.Series(formats)
    offsets = np.zeros(m, bool)
    for fmt, idx in fmts.groupby(fmts, sort=False).groups.items():
        idx = np.asarray(idx)
        got = pd.to_datetime(text.iloc[idx], format=fmt, errors="coerce", utc="%z" in fmt)
        if isinstance(got.dtype, pd.DatetimeTZDtype):
            got = got.dt.tz_convert(timezone).dt.tz_localize(None)
            offsets[idx] = True
        got, o = _in_ns_range(got)
        values[idx], out[idx] = got.to_numpy(), o
    ok = ~np.isnat(values)
    if offsets.any():
        naive = (~offsets & ok).sum()
        line = (f"converted {_count(offsets.sum(), 'distinct value')} with UTC offsets to "
                f"{timezone}")
        if naive:
            line += (f"; {_count(naive, 'distinct value')} without offset taken as already in "
                     f"{timezone}")
        notes.append(line)
    return values, out, ok, notes


def _classify(text: pd.Series, formats: np.ndarray, column: str, dayfirst) -> list[str]:
    """Fill ``formats`` for each value's shape; return decision clauses."""
    notes, shapes, iso = [], 0, ""
    for shape, date_re in _SHAPES.items():
        todo = pd.isna(formats)
        if not todo.any():
            break
        g = _extract(text[todo], date_re + _TIME_RE)
        hit = g["y"].notna().to_numpy(copy=True)
        if "sep2" in g:  # one separator per date (RE2 has no back-references)
            hit &= (g["sep"] == g["sep2"]).to_numpy(dtype=bool)
        if not hit.any():
            continue
        g = g[hit]
        shapes += 1
        where = np.flatnonzero(todo)[hit]
        time_fmt = _time_format(g)
        sep = g["sep"].to_numpy(object) if "sep" in g else None
        if shape == "ymd":
            date_fmt = "%Y" + sep + "%m" + sep + "%d"
            formats[where] = date_fmt + time_fmt
            note = _shape_note(formats[where], text.iloc[where], "year first")
            if (sep != "-").any():
                notes.append(note)
            else:
                iso = note.replace("year first", "ISO")
        elif shape == "abY":
            first = _day_first(g, text.iloc[where], column, dayfirst)
            order = ("%d", "%m") if first[0] else ("%m", "%d")
            formats[where] = order[0] + sep + order[1] + sep + "%Y" + time_fmt
            notes.append(first[1])
        else:
            mon = np.where(g["mon"].str.len().to_numpy(dtype=int) > 3, "%B", "%b")
            if shape == "dMonY":
                date_fmt = "%d" + sep + mon + sep + "%Y"
            else:
                date_fmt = mon + " %d" + g["comma"].fillna("").to_numpy(object) + " %Y"
            formats[where] = date_fmt + time_fmt
            notes.append(_shape_note(formats[where], text.iloc[where], "month name"))
    if shapes > 1:
        notes = [f"{shapes} date shapes, each read unambiguously"] + ([iso] if iso else []) + notes
    return notes


def _shape_note(formats: np.ndarray, text: pd.Series, how: str) -> str:
    main = pd.Series(formats).value_counts().index[0]
    return f"{how} {_human(main)} ({_count(len(text), 'distinct value')}, e.g. {text.iloc[0]!r})"


def _day_first(g: pd.DataFrame, text: pd.Series, column: str, dayfirst) -> tuple[bool, str]:
    """Decide the order of a/b/yyyy values: (day_first, decision clause)."""
    a = g["a"].astype(int).to_numpy()
    b = g["b"].astype(int).to_numpy()
    day_a = (a > 12) & (a <= 31) & (b <= 12)
    day_b = (b > 12) & (b <= 31) & (a <= 12)
    n = len(a)
    sample_fmt = lambda first: _human(  # noqa: E731
        ("%d/%m/%Y" if first else "%m/%d/%Y").replace("/", g["sep"].iloc[0])
        + _time_format(g.iloc[:1])[0])
    if day_a.any() and day_b.any():
        ex_a, ex_b = text.iloc[np.flatnonzero(day_a)[0]], text.iloc[np.flatnonzero(day_b)[0]]
        raise DataValidationError(
            f"{column!r}: day/month order is mixed: values like {ex_a!r} and {ex_b!r} both "
            f"occur ({_count(day_a.sum(), 'distinct value')} with a day above 12 first, "
            f"{day_b.sum():,} second). Fix the source, or pass date_format= to read one "
            "order (values in the other become unreadable)")
    if day_a.any() or day_b.any():
        first = bool(day_a.any())
        evidence = day_a if first else day_b
        if dayfirst is not None and dayfirst != first:
            ex = text.iloc[np.flatnonzero(evidence)[0]]
            raise DataValidationError(
                f"{column!r}: dayfirst={dayfirst} contradicts the data: "
                f"{_count(evidence.sum(), 'distinct value')} such as {ex!r} with a day above 12 in "
                f"{'first' if first else 'second'} position. Drop dayfirst= or pass "
                "date_format= explicitly")
        ex = text.iloc[np.flatnonzero(evidence)[0]]
        word = "day-first" if first else "month-first"
        return first, (f"{word} {sample_fmt(first)} (decided from {evidence.sum():,} of "
                       f"{_count(n, 'distinct value')} with a day above 12, e.g. {ex!r})")
    if dayfirst is None:
        raise DataValidationError(
            f"{column!r}: day/month order is ambiguous: all {_count(n, 'distinct value')} like "
            f"{_quote_list(text)} have both numbers <= 12 (e.g. {text.iloc[0]!r} could be "
            "either). Pass dayfirst=True (dd/mm/yyyy) or dayfirst=False (mm/dd/yyyy), or "
            "date_format='%d/%m/%Y'")
    word = "day-first" if dayfirst else "month-first"
    return bool(dayfirst), (f"{word} {sample_fmt(dayfirst)} (dayfirst={dayfirst} as passed; "
                            f"no value has a day above 12)")


# --------------------------------------------------------------------------- ids


def normalise_ids(raw: pd.Series, *, column: str) -> ParsedColumn:
    """Customer ids as text exactly as written (whitespace, invisible characters, NFC aside).

    ``"007"`` stays ``"007"``, ``"1E3"`` stays ``"1E3"``, 20-digit ids stay intact.
    Invisible format characters anywhere in an id (zero-width spaces, right-to-left
    marks, a byte-order mark inside the file) are removed and counted in ``decision``:
    ``"C\u200b001"`` and ``"C001"`` are one customer.
    Integer columns become ``str(int)``; float columns (Parquet/Excel ids such as
    ``17850.0``) too when every value is integral. Object columns mixing numbers and
    text (Excel) keep each cell's text (``7`` and ``"007"`` stay two ids).

    Parameters
    ----------
    raw : Series
        The raw id column.
    column : str
        The column's name in the source, used in messages.

    Returns
    -------
    ParsedColumn
        ``values`` of dtype :data:`ID_DTYPE` (pandas' text dtype); blank ids are
        missing (NaN), not unreadable. ``decision`` counts the ids changed by normalisation.

    Raises
    ------
    DataValidationError
        Non-integral or too large (> 2**53) float ids, boolean ids.

    Examples
    --------
    >>> col = normalise_ids(pd.Series([" 007", "007", "1E3", "  "]), column="cust")
    >>> col.values.tolist()
    ['007', '007', '1E3', nan]
    >>> col.decision
    "'cust': 1 distinct id (1 row) changed by normalisation (surrounding whitespace, \
Unicode NFC)"
    >>> normalise_ids(pd.Series([17850.0, 12346.0]), column="CustomerID").values.tolist()
    ['17850', '12346']
    """
    n = len(raw)
    none = np.zeros(n, bool)
    if pd.api.types.is_bool_dtype(raw):
        raise DataValidationError(f"column {column!r} is boolean (True/False), expected "
                                  "customer ids; name the column holding the ids")
    if pd.api.types.is_integer_dtype(raw):
        codes, uniques = _distinct(raw)
        ids = np.array([str(int(u)) for u in uniques], dtype=object)
        return ParsedColumn(_ids_series(ids, codes, raw), none, none, "", ())
    if pd.api.types.is_float_dtype(raw):
        codes, uniques = _distinct(raw)
        ids, dec = _float_ids(uniques.astype(float), column)
        return ParsedColumn(_ids_series(ids, codes, raw), none, none, dec, ())

    codes, uniques = _distinct(raw)
    is_text = _str_cells(uniques)
    ids = np.empty(len(uniques), dtype=object)
    changed_mask = np.zeros(len(uniques), bool)
    invisible_mask = np.zeros(len(uniques), bool)
    if is_text.any():
        text = pd.Series(uniques[is_text], dtype="string[python]")
        invisible = _has_invisible(uniques[is_text], text)
        visible = (text.where(~invisible, text.str.replace(INVISIBLE_CHARS, "", regex=True))
                   if invisible.any() else text)
        clean = visible.str.strip().str.normalize("NFC")
        clean = clean.mask(clean == "")
        ids[is_text] = clean.astype(object).where(clean.notna(), None).to_numpy()
        changed_mask[is_text] = (clean != text).fillna(True).to_numpy(bool)
        invisible_mask[is_text] = invisible.to_numpy(bool)
    if not is_text.all() and _bool_rows(raw).any():
        raise DataValidationError(f"column {column!r} holds True/False cells, expected "
                                  "customer ids; name the column holding the ids")
    floats = []
    for i in np.flatnonzero(~is_text):
        cell = uniques[i]
        if isinstance(cell, numbers.Integral):
            ids[i] = str(int(cell))
        elif isinstance(cell, numbers.Real):
            floats.append(i)
        else:
            ids[i] = str(cell).strip() or None
    notes = []
    if floats:
        fl_ids, dec = _float_ids(np.array([float(uniques[i]) for i in floats]), column)
        ids[floats] = fl_ids
        notes.append(dec.split(": ", 1)[1])
    present = np.array([x is not None for x in ids], bool)
    changed = changed_mask & present & ~invisible_mask
    if changed.any():
        rows = int(np.isin(codes, np.flatnonzero(changed)).sum())
        k = int(changed.sum())
        notes.insert(0, f"{k:,} distinct id{'s' if k != 1 else ''} ({rows:,} "
                     f"row{'s' if rows != 1 else ''}) changed by normalisation (surrounding "
                     "whitespace, Unicode NFC)")
    if invisible_mask.any():
        rows = int(np.isin(codes, np.flatnonzero(invisible_mask)).sum())
        k = int(invisible_mask.sum())
        notes.insert(0, f"{k:,} distinct id{'s' if k != 1 else ''} ({rows:,} "
                     f"row{'s' if rows != 1 else ''}) held invisible characters (zero-width "
                     "spaces, direction marks, byte-order marks, soft hyphens), removed so that "
                     "one customer is not split in two, e.g. "
                     f"{_quote_list(uniques[invisible_mask], 1)}")
    if (case := _case_twins(ids)):
        notes.append(case)
    decision = f"{column!r}: " + "; ".join(notes) if notes else ""
    return ParsedColumn(_ids_series(ids, codes, raw), none, none, decision, ())


def _has_invisible(cells: np.ndarray, text: pd.Series) -> pd.Series:
    """Which text cells hold an invisible character (RE2 over Arrow, vectorised)."""
    try:
        found = _match(pd.Series(cells, dtype="string[pyarrow]"), INVISIBLE_CHARS)
    except (pa.ArrowException, UnicodeError):   # lone surrogates: Python's re
        found = text.str.contains(INVISIBLE_CHARS, regex=True).fillna(False).to_numpy(bool)
    return pd.Series(found, index=text.index)


def _case_twins(ids: np.ndarray) -> str:
    """A note when distinct ids differ only in letter case (``Ann@X.com`` / ``ann@x.com``)."""
    text = pd.Series([i for i in ids if isinstance(i, str)], dtype="string[python]").unique()
    if len(text) < 2:
        return ""
    folded = pd.Series(text).str.casefold()
    twins = folded.duplicated(keep=False)
    if not twins.any():
        return ""
    groups = pd.Series(text[twins.to_numpy()]).groupby(folded[twins].to_numpy(), sort=False)
    example = " / ".join(repr(v) for v in next(iter(groups))[1].head(2))
    k = int(twins.sum())
    return (f"{k:,} distinct ids differ from another id only in letter case (e.g. {example}): "
            "kept as different customers; lower-case the ids first if they are e-mail "
            "addresses or case-insensitive codes")


def _float_ids(values: np.ndarray, column: str) -> tuple[np.ndarray, str]:
    with np.errstate(invalid="ignore"):
        fractional = ~np.isnan(values) & (~np.isfinite(values) | (values != np.floor(values)))
        huge = np.isfinite(values) & (np.abs(values) > 2.0**53)
    if fractional.any():
        raise DataValidationError(
            f"column {column!r} holds non-integral numbers ({_quote_list(values[fractional])}"
            "), not customer ids; name the id column, or store ids as text")
    if huge.any():
        raise DataValidationError(
            f"column {column!r} holds ids stored as floating-point numbers above 2**53 "
            f"({_quote_list(values[huge])}): their last digits are already lost. Store the "
            "ids as text in the source")
    ids = np.array([None if np.isnan(v) else str(int(v)) for v in values], dtype=object)
    present = ~np.isnan(values)
    shown = (f", e.g. {float(values[present][0])!r} -> {ids[present][0]!r}"
             if present.any() else "")
    return ids, (f"{column!r}: {_count(present.sum(), 'numeric id')} stored as floats written "
                 f"as integers{shown}")


def _ids_series(ids: np.ndarray, codes: np.ndarray, raw: pd.Series) -> pd.Series:
    try:
        arr = pd.array(ids, dtype=ID_DTYPE) if len(ids) else pd.array([], dtype=ID_DTYPE)
    except UnicodeError:   # a lone surrogate (text decoded with errors="surrogateescape")
        bad = [i for i in ids if isinstance(i, str) and not i.isascii()
               and any(0xD800 <= ord(ch) <= 0xDFFF for ch in i)]
        raise DataValidationError(
            f"column {str(raw.name)[:60]!r} holds {len(bad):,} id(s) that are not valid Unicode "
            f"text (lone surrogates, e.g. {bad[0][:20]!r}); re-read the file with its "
            "encoding (encoding=)") from None
    return pd.Series(arr.take(codes, allow_fill=True), index=raw.index, name=raw.name)


def has_time_of_day(dates: pd.Series) -> bool:
    """Whether any parsed date carries a time of day (is not at midnight).

    Parameters
    ----------
    dates : Series
        Parsed dates (datetime64); missing values are ignored.

    Returns
    -------
    bool

    Examples
    --------
    >>> has_time_of_day(pd.Series(pd.to_datetime(["2024-01-02 00:00", "2024-01-03 10:15"])))
    True
    >>> has_time_of_day(pd.Series(pd.to_datetime(["2024-01-02", None])))
    False
    """
    values = pd.to_datetime(dates, errors="coerce").dropna()
    return bool(len(values)) and bool((values != values.dt.normalize()).any())
