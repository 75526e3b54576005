"""Report months: which month a report covers, whether it is complete, and like-for-like cuts.

All month logic of the report lives here. A month is **complete** when the
data's extract date (``as_of``: the config's ``data.as_of``, the command
line's ``--as-of``, else the last date in the data) is on or after the month's
last day -- not when a transaction happens to fall on its last day, so a month
ending on a weekend or a holiday without sales can be reported. A month still
in progress (it contains the extract date) is reported only on request
(``partial=True``, ``--partial``); its comparisons are then like for like: the
same number of days of last month and of the same month last year.

Examples
--------
>>> m = ReportMonth("2024-03", as_of=pd.Timestamp("2024-03-15"))
>>> m.partial, m.days, m.label
(True, 15, '1-15 March 2024 (month in progress)')
>>> m.comparison_end(1), m.comparison_end(12)
(Timestamp('2024-02-15 23:59:59.999999999'), Timestamp('2023-03-15 23:59:59.999999999'))
>>> ReportMonth("2024-02", as_of=pd.Timestamp("2024-03-15")).label
'February 2024'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .. import columns as C
from ..errors import ReportError

__all__ = ["ReportMonth", "check_month", "check_day", "month_end", "upto", "extract_date",
           "resolve_month", "complete_months", "report_month", "observation_end",
           "observation_stop", "observed_upto"]

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_month(month, where: str) -> str:
    """``month`` as ``YYYY-MM`` text, or a ReportError naming ``where``.

    Examples
    --------
    >>> check_month("2011-11", "month")
    '2011-11'
    >>> check_month("2011-13", "--month")
    Traceback (most recent call last):
    ...
    clvkit.errors.ReportError: --month must look like YYYY-MM (e.g. 2011-11), got '2011-13'
    """
    from .config import brief

    month = str(month)
    if not _MONTH_RE.match(month):
        raise ReportError(f"{where} must look like YYYY-MM (e.g. 2011-11), got {brief(month)}")
    return month


def check_day(value, where: str) -> pd.Timestamp:
    """An extract date (``as_of``) as a day; ReportError when it is not a date.

    Examples
    --------
    >>> check_day("2024-03-31", "--as-of")
    Timestamp('2024-03-31 00:00:00')
    """
    from ..errors import ClvError
    from ..io import as_of_limit  # the loader's and the config's reading of as_of

    text = str(value).strip()
    try:
        day = as_of_limit(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", text) else None
    except ClvError:
        day = None
    if day is None:     # 05.06.2024 would be read month first, silently: ISO days only
        raise ReportError(f"{where} must be a day written YYYY-MM-DD (the date the data were "
                          f"extracted), got {value!r}")
    return day.normalize()


def month_end(month: str) -> pd.Timestamp:
    """The last day of ``month`` (midnight)."""
    return pd.Period(month, "M").end_time.normalize()


def upto(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """Rows dated up to the end of ``month`` (the report never looks into the future)."""
    end = pd.Period(month, "M").end_time
    return frame.loc[frame[C.DATE] <= end]


def extract_date(*frames: pd.DataFrame | None, as_of=None) -> pd.Timestamp | None:
    """The data's extract date: ``as_of`` when given, else the last date in ``frames``.

    Examples
    --------
    >>> tx = pd.DataFrame({"date": pd.to_datetime(["2024-03-01", "2024-03-29"])})
    >>> extract_date(tx)
    Timestamp('2024-03-29 00:00:00')
    >>> extract_date(tx, as_of="2024-03-31")
    Timestamp('2024-03-31 00:00:00')
    """
    if as_of is not None and str(as_of) != "now":
        return check_day(as_of, "`data.as_of`")
    last = [f[C.DATE].max() for f in frames if f is not None and len(f) and C.DATE in f]
    last = [d for d in last if pd.notna(d)]
    return max(last).normalize() if last else None


@dataclass(frozen=True)
class ReportMonth:
    """The month a report covers, with the data's extract date.

    Attributes
    ----------
    month : str
        ``YYYY-MM``.
    as_of : Timestamp
        The data's extract date (midnight).
    """

    month: str
    as_of: pd.Timestamp

    @property
    def period(self) -> pd.Period:
        """The month as a pandas Period."""
        return pd.Period(self.month, "M")

    @property
    def end(self) -> pd.Timestamp:
        """Last day of the month (midnight)."""
        return month_end(self.month)

    @property
    def partial(self) -> bool:
        """True when the extract date falls before the month's last day (month in progress)."""
        return self.as_of < self.end

    @property
    def days(self) -> int:
        """Days of the month covered by the data (all of them for a complete month)."""
        return (min(self.as_of, self.end) - self.period.start_time).days + 1

    @property
    def label(self) -> str:
        """"March 2024", or "1-15 March 2024 (month in progress)"."""
        name = self.period.strftime("%B %Y")
        return f"1-{self.days} {name} (month in progress)" if self.partial else name

    def comparison_end(self, months_back: int) -> pd.Timestamp:
        """Last instant of the like-for-like cut of the month ``months_back`` earlier.

        The same number of days (:attr:`days`), at most the whole earlier month.
        """
        earlier = self.period - months_back
        last = min(self.days, earlier.days_in_month)
        return (earlier.start_time + pd.Timedelta(days=last)) - pd.Timedelta(1, "ns")

    def note(self) -> str:
        """One sentence for every page of a partial month ("" for a complete month)."""
        if not self.partial:
            return ""
        return (f"Month in progress: the data were extracted on {self.as_of:%d %B %Y}, so "
                f"{self.period:%B %Y} covers days 1-{self.days} only. Comparisons are like for "
                f"like: days 1-{self.days} of last month and of the same month last year.")


def complete_months(first: pd.Period, as_of: pd.Timestamp) -> tuple[pd.Period, pd.Period]:
    """First month of the data and last month complete at ``as_of``.

    Examples
    --------
    >>> complete_months(pd.Period("2024-01", "M"), pd.Timestamp("2024-03-29"))
    (Period('2024-01', 'M'), Period('2024-02', 'M'))
    >>> complete_months(pd.Period("2024-01", "M"), pd.Timestamp("2024-03-31"))
    (Period('2024-01', 'M'), Period('2024-03', 'M'))
    """
    last = as_of.to_period("M")
    if as_of.normalize() < last.end_time.normalize():
        last -= 1
    return first, last


def resolve_month(month: str | None, tx: pd.DataFrame, *, as_of=None, returns=None,
                  partial: bool = False) -> ReportMonth:
    """The report month: ``month``, or the last complete month of the data at ``as_of``.

    Parameters
    ----------
    month : str or None
        ``YYYY-MM``; None for the last complete month (the month in progress
        with ``partial``).
    tx : DataFrame
        Cleaned transactions.
    as_of : date-like, optional
        Extract date; default the last date of ``tx`` and ``returns``.
    returns : DataFrame, optional
        Returns, whose dates count for the default extract date.
    partial : bool, default False
        Allow the month in progress (the month of the extract date).

    Raises
    ------
    ReportError
        No transactions; a month outside the data; the month in progress without
        ``partial`` (naming ``--partial`` and ``--as-of``).

    Examples
    --------
    >>> tx = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-03-29"])})
    >>> resolve_month(None, tx).month
    '2024-02'
    >>> resolve_month("2024-03", tx, as_of="2024-03-31").month
    '2024-03'
    >>> resolve_month("2024-03", tx, partial=True).label
    '1-29 March 2024 (month in progress)'
    """
    if len(tx) == 0:
        raise ReportError("the data have no transactions left after cleaning; nothing to report")
    stamp = extract_date(tx, returns, as_of=as_of)
    first, last = complete_months(tx[C.DATE].min().to_period("M"), stamp)
    current = stamp.to_period("M")
    span = (f"transactions from {tx[C.DATE].min():%Y-%m-%d} to {tx[C.DATE].max():%Y-%m-%d}, "
            f"extract date {stamp:%Y-%m-%d}")
    if month is None:
        if partial:
            return ReportMonth(str(current), stamp)
        if last < first:
            raise ReportError(f"the data hold no complete month ({span}); pass --month with "
                              "--partial for the month in progress, or --as-of if the data "
                              "were extracted later")
        return ReportMonth(str(last), stamp)
    wanted = pd.Period(check_month(month, "month"), "M")
    if wanted == current and wanted > last:
        if partial:
            return ReportMonth(str(wanted), stamp)
        raise ReportError(
            f"month {month} is still in progress ({span}): pass --partial to report days "
            f"1-{stamp.day} of it (compared like for like), or --as-of YYYY-MM-DD if the "
            "data were extracted after the month ended")
    if not first <= wanted <= last:
        raise ReportError(f"month {month} is outside the data's range of complete months "
                          f"{first}..{last} ({span}); choose a month in that range")
    return ReportMonth(str(wanted), stamp)


def report_month(data, month: str) -> ReportMonth:
    """The :class:`ReportMonth` of ``month`` for report data (``data.as_of`` set by the run).

    Data without an extract date (built directly, not by a report run) count
    every month as complete.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> report_month(SimpleNamespace(as_of="2024-03-10"), "2024-03").days
    10
    >>> report_month(SimpleNamespace(as_of=None), "2024-03").partial
    False
    """
    as_of = getattr(data, "as_of", None)
    return ReportMonth(month, check_day(as_of, "as_of") if as_of else month_end(month))


def observation_end(data, month: str) -> pd.Timestamp:
    """The last day observed in ``month``: its last day, or the extract date if earlier.

    Recency and customer age of a month in progress are measured to the day the
    data stop, not to a month end that has not come yet.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> observation_end(SimpleNamespace(as_of="2024-03-10"), "2024-03")
    Timestamp('2024-03-10 00:00:00')
    >>> observation_end(SimpleNamespace(as_of="2024-03-10"), "2024-02")
    Timestamp('2024-02-29 00:00:00')
    """
    return min(report_month(data, month).as_of, month_end(month))


def observation_stop(data, month: str) -> pd.Timestamp:
    """Midnight after the last day observed in ``month`` (:func:`observation_end` + 1 day).

    The observation end of customer ages and value curves: a first purchase on
    the last observed day has an age of one day, not zero. For a month in
    progress it follows the extract date, not the month's end.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> observation_stop(SimpleNamespace(as_of="2024-03-15"), "2024-03")
    Timestamp('2024-03-16 00:00:00')
    >>> observation_stop(SimpleNamespace(as_of=None), "2024-03")
    Timestamp('2024-04-01 00:00:00')
    """
    return observation_end(data, month) + pd.Timedelta(days=1)


def observed_upto(frame: pd.DataFrame, data, month: str) -> pd.DataFrame:
    """Rows of ``frame`` dated up to the last day observed in ``month`` (see :func:`upto`).

    The same rows as :func:`upto` for a complete month; for a month in progress
    nothing after the extract date.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> tx = pd.DataFrame({"date": pd.to_datetime(["2024-03-15 18:00", "2024-03-20 09:00"])})
    >>> len(observed_upto(tx, SimpleNamespace(as_of="2024-03-15"), "2024-03"))
    1
    """
    return frame.loc[frame[C.DATE] < observation_stop(data, month)]
