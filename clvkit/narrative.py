"""Sentences that put a number in context ("a metric tells a story beyond the number").

A KPI on its own says little: £1.2m of revenue is good or bad only next to last
month, the same month last year, or a target. :func:`describe_change` writes that
sentence; :func:`headline_table` and :func:`describe_kpis` do it for a whole KPI
table such as :func:`clvkit.crm.monthly_kpis`.

Rules the wording follows
-------------------------
* Direction words: "rose", "fell", or "held steady" when the change is within
  ``tolerance`` (relative, e.g. 0.005 = 0.5 %; for ``kind="percent"`` an absolute
  number of percentage points as a fraction, e.g. 0.001 = 0.1 points).
* Changes of rates (``kind="percent"``) are given in **percentage points**, changes
  of other quantities in per cent of the earlier value. A zero earlier value is
  reported as "from zero" (never a division by zero); a negative earlier value
  (e.g. a loss) as an absolute change.
* Numbers: currency symbol from :data:`CURRENCY_SYMBOLS` (unknown codes are written
  as a prefix, "CHF 1,234"), thousands separators, percentages with one decimal.
* Missing values (None/NaN) are said to be missing, never printed as "nan".
* The text is plain (not HTML-escaped): escape it where you render it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from ._validate import check_nonnegative, check_one_of
from .errors import ClvError
from .metrics import METRICS

__all__ = [
    "KINDS",
    "CURRENCY_SYMBOLS",
    "format_value",
    "format_change",
    "period_label",
    "describe_change",
    "headline_table",
    "describe_kpis",
]

#: What a number measures; decides its formatting and how changes are expressed.
KINDS = ("currency", "percent", "count", "number")

#: Currency codes written as a symbol. Other codes are written as a prefix ("CHF 12").
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹",
                    "AUD": "A$", "CAD": "C$"}

_DEFAULT_TOLERANCE = {"percent": 0.001}         # 0.1 percentage points
_RELATIVE_TOLERANCE = 0.005                     # 0.5 % for every other kind
_PERIODS_PER_YEAR = {"D": 365, "W": 52, "M": 12, "Q": 4, "Y": 1}
_UNIT_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError) as err:
        raise ClvError(f"expected a number, got {value!r}") from err


# --------------------------------------------------------------------------- formatting

def _compact(value: float) -> tuple[float, str]:
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return value / size, suffix
    return value, ""


def format_value(value, *, kind: str = "number", currency: str = "GBP",
                 decimals: int | None = None, compact: bool = False) -> str:
    """Format a number consistently for prose and tables.

    Parameters
    ----------
    value : float or None
        The number; percentages as fractions (0.123 is 12.3 %). None/NaN gives "n/a".
    kind : {"currency", "percent", "count", "number"}, default "number"
        What the number measures.
    currency : str, default "GBP"
        ISO code; symbol from :data:`CURRENCY_SYMBOLS`.
    decimals : int, optional
        Decimal places. Defaults: currency 0 from 1,000 upwards and 2 below;
        percent 1; count 0; number 2 (3 significant digits when ``compact``).
    compact : bool, default False
        Abbreviate thousands, millions and billions ("£1.14m").

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(1234567, kind="currency")
    '£1,234,567'
    >>> format_value(1143118, kind="currency", compact=True)
    '£1.14m'
    >>> format_value(-12.5, kind="currency", currency="USD")
    '-$12.50'
    >>> format_value(0.1234, kind="percent")
    '12.3%'
    >>> format_value(12345.0, kind="count"), format_value(float("nan"))
    ('12,345', 'n/a')
    >>> format_value(99, kind="currency", currency="CHF")
    'CHF 99.00'
    """
    check_one_of("kind", kind, KINDS)
    if _missing(value):
        return "n/a"
    value = float(value)
    if kind == "percent":
        return f"{value * 100:,.{1 if decimals is None else decimals}f}%"
    suffix = ""
    if compact:
        value, suffix = _compact(value)
        if decimals is None:
            decimals = 2 if suffix and abs(value) < 10 else (1 if suffix and abs(value) < 100
                                                             else 0)
    if kind == "count" and decimals is None:
        decimals = 0
    if kind == "currency" and decimals is None:
        decimals = 0 if abs(value) >= 1000 else 2
    text = f"{abs(value):,.{2 if decimals is None else decimals}f}{suffix}"
    sign = "-" if value < 0 and float(text.rstrip("kmbn").replace(",", "")) != 0 else ""
    if kind == "currency":
        symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
        return f"{sign}{symbol}{text}"
    return f"{sign}{text}"


def _tolerance(kind: str, tolerance: float | None) -> float:
    if tolerance is None:
        return _DEFAULT_TOLERANCE.get(kind, _RELATIVE_TOLERANCE)
    return float(check_nonnegative("tolerance", tolerance))


def _change(value: float, reference: float, *, kind: str, tolerance: float,
            currency: str) -> tuple[int, str]:
    """(direction -1/0/+1, magnitude text) of ``value`` relative to ``reference``."""
    diff = value - reference
    if kind == "percent":
        if abs(diff) <= tolerance:
            return 0, ""
        points = abs(diff) * 100
        unit = "percentage point" if round(points, 1) == 1 else "percentage points"
        return (1 if diff > 0 else -1), f"{points:.1f} {unit}"
    if reference > 0:
        rel = diff / reference
        if abs(rel) <= tolerance:
            return 0, ""
        return (1 if rel > 0 else -1), f"{abs(rel) * 100:,.1f}%"
    if diff == 0 or (reference < 0 and abs(diff / reference) <= tolerance):
        return 0, ""
    return (1 if diff > 0 else -1), format_value(abs(diff), kind=kind, currency=currency)


def format_change(value, reference, *, kind: str = "number", tolerance: float | None = None,
                  currency: str = "GBP") -> str:
    """Short signed change for tables: "+12.3%", "-1.2 pp", "steady", "from zero" or "n/a".

    Examples
    --------
    >>> format_change(110, 100)
    '+10.0%'
    >>> format_change(0.052, 0.064, kind="percent")
    '-1.2 pp'
    >>> format_change(100.2, 100), format_change(5, 0), format_change(5, None)
    ('steady', 'from zero', 'n/a')
    """
    check_one_of("kind", kind, KINDS)
    if _missing(value) or _missing(reference):
        return "n/a"
    value, reference = float(value), float(reference)
    if reference == 0 and kind != "percent":
        return "steady" if value == 0 else "from zero"
    direction, size = _change(value, reference, kind=kind,
                              tolerance=_tolerance(kind, tolerance), currency=currency)
    if direction == 0:
        return "steady"
    size = size.replace(" percentage points", " pp").replace(" percentage point", " pp")
    return f"{'+' if direction > 0 else '-'}{size}"


# --------------------------------------------------------------------------- periods

def period_label(period) -> str:
    """Human label of a calendar period: "November 2011", "Q4 2011", "week of 7 Nov 2011".

    Examples
    --------
    >>> period_label(pd.Period("2011-11", freq="M"))
    'November 2011'
    >>> period_label(pd.Period("2011-11-07", freq="W")), period_label(pd.Period("2011Q4"))
    ('week of 7 Nov 2011', 'Q4 2011')
    """
    period = _as_period(period)
    code = period.freqstr[0]
    if code == "M":
        return period.strftime("%B %Y")
    if code == "Q":
        return f"Q{period.quarter} {period.year}"
    if code == "Y" or code == "A":
        return str(period.year)
    start = period.start_time
    if code == "W":
        return f"week of {start.day} {start.strftime('%b %Y')}"
    return f"{start.day} {start.strftime('%B %Y')}"


def _as_period(period) -> pd.Period:
    if isinstance(period, pd.Period):
        return period
    try:
        # strings carry their own frequency ("2011-11" month, "2011Q4", "2011"); dates -> month
        return pd.Period(period) if isinstance(period, str) else pd.Period(period, freq="M")
    except (ValueError, TypeError) as err:
        raise ClvError(f"`period` must be a pandas Period, a date or a string such as "
                       f"'2011-11' or '2011Q4', got {period!r}") from err


def _labels(period, period_label_, previous_label, last_year_label):
    unit = None
    if period is not None:
        period = _as_period(period)
        code = period.freqstr[0].replace("A", "Y")
        unit = _UNIT_WORDS.get(code)
        period_label_ = period_label_ or period_label(period)
        previous_label = previous_label or period_label(period - 1)
        last_year_label = last_year_label or period_label(period - _PERIODS_PER_YEAR[code])
    return (period_label_, previous_label or "the previous period",
            last_year_label or "the same period last year", unit)


# --------------------------------------------------------------------------- sentences

def _main_clause(name, value, previous, *, fmt, label, previous_label, kind, tolerance,
                 currency) -> str:
    when = f" in {label}" if label else ""
    shown = fmt(value)
    if previous is None:
        return f"{name} was {shown}{when}"
    if _missing(previous):
        return f"{name} was {shown}{when}; there is no figure for {previous_label} to compare with"
    previous = float(previous)
    if previous == 0 and kind != "percent":
        if value == 0:
            return f"{name} held steady at zero{when}, as in {previous_label}"
        verb = "rose" if value > 0 else "fell"
        return f"{name} {verb} from zero in {previous_label} to {shown}{when}"
    direction, size = _change(value, previous, kind=kind, tolerance=tolerance, currency=currency)
    if direction == 0:
        return f"{name} held steady at {shown}{when} ({fmt(previous)} in {previous_label})"
    verb = "rose" if direction > 0 else "fell"
    return f"{name} {verb} {size} to {shown}{when}, from {fmt(previous)} in {previous_label}"


def _last_year_clause(value, last_year, *, fmt, label, unit, kind, tolerance, currency) -> str:
    if last_year is None:
        return ""
    if _missing(last_year):
        return f"with no comparable {unit or 'period'} last year"
    last_year = float(last_year)
    if last_year == 0 and kind != "percent":
        return f"{'level with' if value == 0 else 'up from zero in'} {label}" if value >= 0 \
            else f"down from zero in {label}"
    direction, size = _change(value, last_year, kind=kind, tolerance=tolerance,
                              currency=currency)
    if direction == 0:
        return f"level with {label} ({fmt(last_year)})"
    return f"{'up' if direction > 0 else 'down'} {size} on {label} ({fmt(last_year)})"


def _benchmark_clause(value, benchmark, *, fmt, benchmark_label, higher_is_better, kind,
                      tolerance, currency) -> str:
    if benchmark is None or _missing(benchmark):
        return ""
    benchmark = float(benchmark)
    direction, size = _change(value, benchmark, kind=kind, tolerance=tolerance,
                              currency=currency)
    if direction == 0:
        return f"in line with {benchmark_label} of {fmt(benchmark)}"
    text = f"{size} {'above' if direction > 0 else 'below'} {benchmark_label} of {fmt(benchmark)}"
    if higher_is_better is None:
        return text
    better = (direction > 0) == bool(higher_is_better)
    return f"{text} ({'better' if better else 'worse'})"


def describe_change(name: str, value, *, kind: str = "number", period=None,
                    previous=None, last_year=None, benchmark=None,
                    higher_is_better: bool | None = True, currency: str = "GBP",
                    tolerance: float | None = None, decimals: int | None = None,
                    compact: bool = False, period_label: str | None = None,
                    previous_label: str | None = None, last_year_label: str | None = None,
                    benchmark_label: str = "the benchmark") -> str:
    """One sentence: the value, its change on the previous period, last year and a benchmark.

    Parameters
    ----------
    name : str
        Metric name as it should read ("Revenue", "Monthly churn").
    value : float
        This period's value (percentages as fractions).
    kind : {"currency", "percent", "count", "number"}, default "number"
        Formatting, and whether changes are relative (%) or in percentage points.
    period : pandas.Period or "YYYY-MM", optional
        This period; labels of the previous period and of the same period last year
        are derived from it ("November 2011", "October 2011", "November 2010").
    previous, last_year, benchmark : float, optional
        Comparison values. Omitted (None) comparisons are not mentioned; NaN ones are
        said to be missing.
    higher_is_better : bool or None, default True
        Whether being above the benchmark is good (False for churn, cost, ...); None
        leaves out "(better)"/"(worse)".
    currency : str, default "GBP"
        Currency code for ``kind="currency"``.
    tolerance : float, optional
        Changes within it read "held steady"/"level with"/"in line with": relative
        (default 0.005) or, for percentages, absolute (default 0.001 = 0.1 points).
    decimals, compact
        Passed to :func:`format_value`.
    period_label, previous_label, last_year_label, benchmark_label : str, optional
        Override the derived wording.

    Returns
    -------
    str
        Plain text (escape it before putting it in HTML).

    Examples
    --------
    >>> describe_change("Revenue", 1_234_567, kind="currency", period="2011-11",
    ...                 previous=1_099_200, last_year=1_187_084, benchmark=1_143_118)
    'Revenue rose 12.3% to £1,234,567 in November 2011, from £1,099,200 in October 2011, \
up 4.0% on November 2010 (£1,187,084); 8.0% above the benchmark of £1,143,118 (better).'
    >>> describe_change("Monthly churn", 0.052, kind="percent", period="2024-03",
    ...                 previous=0.064, last_year=float("nan"), benchmark=0.04,
    ...                 higher_is_better=False)
    'Monthly churn fell 1.2 percentage points to 5.2% in March 2024, from 6.4% in February 2024, \
with no comparable month last year; 1.2 percentage points above the benchmark of 4.0% (worse).'
    >>> describe_change("New customers", 120, kind="count", previous=0)
    'New customers rose from zero in the previous period to 120.'
    """
    check_one_of("kind", kind, KINDS)
    label, prev_label, ly_label, unit = _labels(period, period_label, previous_label,
                                                last_year_label)
    name = name[:1].upper() + name[1:]
    if _missing(value):
        return f"{name} is not available{f' for {label}' if label else ''}."
    value = float(value)
    tol = _tolerance(kind, tolerance)

    def fmt(v):
        return format_value(v, kind=kind, currency=currency, decimals=decimals, compact=compact)

    common = dict(fmt=fmt, kind=kind, tolerance=tol, currency=currency)
    sentence = _main_clause(name, value, previous, label=label, previous_label=prev_label,
                            **common)
    year = _last_year_clause(value, last_year, label=ly_label, unit=unit, **common)
    bench = _benchmark_clause(value, benchmark, benchmark_label=benchmark_label,
                              higher_is_better=higher_is_better, **common)
    return sentence + (f", {year}" if year else "") + (f"; {bench}" if bench else "") + "."


# --------------------------------------------------------------------------- KPI tables

#: Columns of :func:`clvkit.crm.monthly_kpis` that are not headline metrics of the registry.
_OTHER_KINDS = {"revenue_per_customer": "currency", "orders_per_customer": "number"}


def _kpi_kind(column: str, kinds: Mapping[str, str] | None) -> str:
    """Kind of a KPI column: given, else from the metric registry, else from the name."""
    if kinds and column in kinds:
        return check_one_of(f"kinds[{column!r}]", kinds[column], KINDS)
    if column in METRICS:
        return METRICS[column].unit
    if column.endswith(("_rate", "_share")):
        return "percent"
    return _OTHER_KINDS.get(column, "number")


def _kpi_label(column: str) -> str:
    return METRICS[column].label if column in METRICS else column.replace("_", " ").capitalize()


def _higher_is_better(column: str) -> bool:
    return not METRICS[column].lower_is_better if column in METRICS else True


def _kpi_rows(kpis: pd.DataFrame, period, metrics, benchmarks, higher_is_better, kinds):
    """Yield (metric, kind, value, previous, last_year, benchmark, higher_is_better, period)."""
    if not isinstance(kpis, pd.DataFrame) or not isinstance(kpis.index, pd.PeriodIndex):
        raise ClvError("`kpis` must be a DataFrame indexed by a PeriodIndex, "
                       "e.g. clvkit.crm.monthly_kpis(transactions)")
    if len(kpis) == 0:
        raise ClvError("`kpis` has no rows")
    period = kpis.index[-1] if period is None else pd.Period(period, freq=kpis.index.freq)
    if period not in kpis.index:
        raise ClvError(f"period {period} is not in the KPI table "
                       f"({kpis.index[0]} to {kpis.index[-1]})")
    code = kpis.index.freqstr[0].replace("A", "Y")
    metrics = list(kpis.columns) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in kpis.columns]
    if unknown:
        raise ClvError(f"metric(s) {unknown} not in the KPI table; columns: {list(kpis.columns)}")
    benchmarks = dict(benchmarks or {})
    hib = dict(higher_is_better or {})

    def at(p, m):
        return kpis.at[p, m] if p in kpis.index else None

    for m in metrics:
        yield (m, _kpi_kind(m, kinds), kpis.at[period, m], at(period - 1, m),
               at(period - _PERIODS_PER_YEAR[code], m), benchmarks.get(m),
               hib.get(m, _higher_is_better(m)), period)


def headline_table(kpis: pd.DataFrame, *, period=None, metrics: Sequence[str] | None = None,
                   benchmarks: Mapping[str, float] | None = None,
                   higher_is_better: Mapping[str, bool] | None = None,
                   kinds: Mapping[str, str] | None = None, currency: str = "GBP",
                   compact: bool = False) -> pd.DataFrame:
    """Formatted headline table: value and changes vs previous period, last year, benchmark.

    Parameters
    ----------
    kpis : DataFrame
        KPI table indexed by a ``PeriodIndex`` (e.g. :func:`clvkit.crm.monthly_kpis`).
    period : Period or str, optional
        Row to report; default the last one.
    metrics : sequence of str, optional
        Columns to report; default all.
    benchmarks : mapping, optional
        Benchmark per metric.
    higher_is_better : mapping, optional
        Per metric; default from :data:`clvkit.metrics.METRICS` (``lower_is_better``),
        True for columns the registry does not define.
    kinds : mapping, optional
        Kind per metric; default the registry's ``unit``, else from the column name
        (``*_rate`` and ``*_share`` are percentages).
    currency : str, default "GBP"
    compact : bool, default False

    Returns
    -------
    DataFrame
        Columns ``metric, value, vs_previous, vs_last_year, vs_benchmark`` (strings;
        "n/a" where a comparison is missing).

    Examples
    --------
    >>> kpis = pd.DataFrame({"revenue": [1000.0, 1100.0], "churn_rate": [0.05, 0.04]},
    ...                     index=pd.period_range("2024-01", periods=2, freq="M"))
    >>> headline_table(kpis, benchmarks={"churn_rate": 0.045})
              metric   value vs_previous vs_last_year    vs_benchmark
    0  Gross revenue  £1,100      +10.0%          n/a             n/a
    1     Churn rate    4.0%     -1.0 pp          n/a  -0.5 pp better
    """
    rows = []
    for m, kind, value, prev, ly, bench, hib, _ in _kpi_rows(kpis, period, metrics, benchmarks,
                                                             higher_is_better, kinds):
        vs_bench = format_change(value, bench, kind=kind, currency=currency)
        if vs_bench not in ("n/a", "steady") and not _missing(value):
            better = (float(value) > float(bench)) == hib
            vs_bench = f"{vs_bench} {'better' if better else 'worse'}"
        rows.append({
            "metric": _kpi_label(m),
            "value": format_value(value, kind=kind, currency=currency, compact=compact),
            "vs_previous": format_change(value, prev, kind=kind, currency=currency),
            "vs_last_year": format_change(value, ly, kind=kind, currency=currency),
            "vs_benchmark": vs_bench,
        })
    return pd.DataFrame(rows, columns=["metric", "value", "vs_previous", "vs_last_year",
                                       "vs_benchmark"])


def describe_kpis(kpis: pd.DataFrame, *, period=None, metrics: Sequence[str] | None = None,
                  benchmarks: Mapping[str, float] | None = None,
                  higher_is_better: Mapping[str, bool] | None = None,
                  kinds: Mapping[str, str] | None = None, currency: str = "GBP",
                  compact: bool = False) -> list[str]:
    """One :func:`describe_change` sentence per KPI column (same arguments as headline_table).

    A comparison row missing from the table (e.g. no data a year earlier) is said to
    be missing.

    Examples
    --------
    >>> kpis = pd.DataFrame({"revenue": [1000.0, 1100.0]},
    ...                     index=pd.period_range("2024-01", periods=2, freq="M"))
    >>> describe_kpis(kpis)
    ['Gross revenue rose 10.0% to £1,100 in February 2024, from £1,000 in January 2024, \
with no comparable month last year.']
    """
    sentences = []
    for m, kind, value, prev, ly, bench, hib, p in _kpi_rows(kpis, period, metrics, benchmarks,
                                                             higher_is_better, kinds):
        sentences.append(describe_change(
            _kpi_label(m), value, kind=kind, period=p,
            previous=float("nan") if prev is None else prev,
            last_year=float("nan") if ly is None else ly, benchmark=bench,
            higher_is_better=hib, currency=currency, compact=compact))
    return sentences
