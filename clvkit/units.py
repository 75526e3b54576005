"""Explicit time units.

Every duration in clvkit carries a unit: ``"D"`` (days), ``"W"`` (weeks of 7 days),
``"M"`` (months) or ``"Y"`` (years). Days and weeks are exact. Months and years
are not a fixed number of days, so clvkit measures them as the **mean Gregorian
month and year** (365.2425 / 12 = 30.436875 days and 365.2425 days) -- never as
30-day months. The constants below are the only place these numbers live.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validate import check_one_of

__all__ = ["TIME_UNITS", "DAYS_PER_UNIT", "unit_name", "to_units", "convert_duration"]

#: Days in one mean Gregorian year (400-year cycle: 146097 days / 400).
DAYS_PER_GREGORIAN_YEAR = 365.2425

#: Length of each supported unit in days.
DAYS_PER_UNIT: dict[str, float] = {
    "D": 1.0,
    "W": 7.0,
    "M": DAYS_PER_GREGORIAN_YEAR / 12.0,
    "Y": DAYS_PER_GREGORIAN_YEAR,
}
TIME_UNITS = tuple(DAYS_PER_UNIT)
_NAMES = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def unit_name(time_unit: str) -> str:
    """Plural English name of a time unit.

    Examples
    --------
    >>> unit_name("W")
    'weeks'
    """
    return _NAMES[check_one_of("time_unit", time_unit, TIME_UNITS)]


def to_units(delta, *, time_unit: str):
    """Convert a timedelta (scalar, array or Series) to a float number of ``time_unit``.

    Parameters
    ----------
    delta : timedelta-like, array or Series
        Durations.
    time_unit : {"D", "W", "M", "Y"}
        Target unit (see module docstring for months and years).

    Returns
    -------
    float, ndarray or Series
        Durations in the requested unit.

    Examples
    --------
    >>> to_units(pd.Timedelta(days=272), time_unit="W")
    38.857142857142854
    >>> round(to_units(pd.Timedelta(days=365), time_unit="M"), 4)
    11.992
    """
    days_per = DAYS_PER_UNIT[check_one_of("time_unit", time_unit, TIME_UNITS)]
    one_day = np.timedelta64(1, "D")
    if isinstance(delta, pd.Series):
        return delta / pd.Timedelta(days=1) / days_per
    if isinstance(delta, pd.Timedelta):
        return delta / pd.Timedelta(days=1) / days_per
    return np.asarray(delta, dtype="timedelta64[ns]") / one_day / days_per


def convert_duration(value, *, from_unit: str, to_unit: str):
    """Convert a number of ``from_unit`` into ``to_unit``.

    Examples
    --------
    >>> convert_duration(52, from_unit="W", to_unit="D")
    364.0
    >>> round(convert_duration(12, from_unit="M", to_unit="W"), 4)
    52.1775
    """
    check_one_of("from_unit", from_unit, TIME_UNITS)
    check_one_of("to_unit", to_unit, TIME_UNITS)
    return value * DAYS_PER_UNIT[from_unit] / DAYS_PER_UNIT[to_unit]
