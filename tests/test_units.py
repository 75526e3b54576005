import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError
from clvkit.units import DAYS_PER_UNIT, convert_duration, to_units, unit_name


def test_no_thirty_day_months():
    assert DAYS_PER_UNIT["M"] == pytest.approx(30.436875)
    assert DAYS_PER_UNIT["M"] * 12 == pytest.approx(DAYS_PER_UNIT["Y"])


def test_cdnow_week_convention():
    # a 1 Jan 1997 customer has T = 272 days / 7 = 38.86 weeks at 30 Sep 1997
    assert round(to_units(pd.Timestamp("1997-09-30") - pd.Timestamp("1997-01-01"),
                          time_unit="W"), 2) == 38.86


def test_series_and_arrays():
    s = pd.Series(pd.to_timedelta([7, 14], unit="D"))
    assert to_units(s, time_unit="W").tolist() == [1.0, 2.0]
    arr = np.array([7, 14], dtype="timedelta64[D]")
    assert to_units(arr, time_unit="W").tolist() == [1.0, 2.0]


def test_convert_and_errors():
    assert convert_duration(2, from_unit="Y", to_unit="M") == pytest.approx(24.0)
    with pytest.raises(ClvError, match="time_unit"):
        unit_name("Q")
    with pytest.raises(ClvError):
        convert_duration(1, from_unit="W", to_unit="fortnight")
