"""Tests of clvkit.parsing: one reading per column, decided from all values, or a clear refusal."""

from __future__ import annotations

import collections
import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clvkit.errors import ClvError, DataValidationError
from clvkit.parsing import ID_DTYPE, INVISIBLE_CHARS, normalise_ids, parse_dates, parse_numbers


def nums(values, **kw):
    return parse_numbers(pd.Series(values, dtype=object), column="amount", **kw)


def dates(values, **kw):
    return parse_dates(pd.Series(values, dtype=object), column="date", **kw)


def stamps(*texts):
    return [pd.Timestamp(t) for t in texts]


# --------------------------------------------------------------------------- numbers


def test_decimal_comma_is_not_read_as_thousands():
    col = nums(["12,50", "7,05", "3"])
    assert col.values.tolist() == [12.5, 7.05, 3.0]
    assert col.decision.startswith("'amount': decimal comma (decided from 2 of 3 distinct values")
    assert "pass decimal=... to override" in col.decision


def test_decimal_comma_with_dot_thousands():
    col = nums(["1.234,50", "12,00", "5"])
    assert col.values.tolist() == [1234.5, 12.0, 5.0]
    assert col.decision == ("'amount': decimal comma with '.' thousands separator (decided from "
                            "2 of 3 distinct values, e.g. '1.234,50'); pass decimal=... to "
                            "override")


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2009", " "])
def test_space_thousands_separators(space):
    col = nums([f"1{space}234,50", "12,5"])
    assert col.values.tolist() == [1234.5, 12.5]
    assert "decimal comma with space thousands separator" in col.decision


def test_swiss_apostrophe_thousands():
    col = nums(["1'234.50", "3.5", "12'000"])
    assert col.values.tolist() == [1234.5, 3.5, 12000.0]
    assert "decimal point with \"'\" thousands separator" in col.decision


def test_comma_thousands_with_decimal_point():
    col = nums(["1,234.50", "12.00"])
    assert col.values.tolist() == [1234.5, 12.0]
    assert "decimal point with ',' thousands separator" in col.decision


def test_dot_thousands_without_decimals():
    col = nums(["1.234.567", "12"])
    assert col.values.tolist() == [1234567.0, 12.0]
    assert "'.' thousands separator" in col.decision


def test_comma_grouped_only_is_refused():
    with pytest.raises(DataValidationError) as err:
        nums(["1,234", "2,500", "7"])
    msg = str(err.value)
    for part in ("'amount'", "'1,234'", "1234 with thousands=','", "1.234 with decimal=','",
                 "decimal="):
        assert part in msg


def test_evenly_mixed_conventions_are_refused():
    with pytest.raises(DataValidationError) as err:
        nums(["1,234.5", "1.234,5", "7"])
    msg = str(err.value)
    assert "mixes number conventions" in msg and "decimal=" in msg
    assert "'1,234.5'" in msg and "'1.234,5'" in msg


def test_a_minority_convention_is_refused_as_mixed():
    # issue 23: a convention with values only it can read is never outvoted silently
    with pytest.raises(DataValidationError, match=r"mixes number conventions: 2 distinct "
                       r"values read only with decimal point .* \(e.g. '1,234.5'\) and 1 "
                       r"distinct value only with decimal comma .* \(e.g. '1.234,5'\)"):
        nums(["1,234.5", "12.25", "1.234,5"])


def test_a_minority_convention_is_unreadable_once_the_convention_is_passed():
    col = nums(["1,234.5", "12.25", "1.234,5"], decimal=".")
    assert col.values.tolist()[:2] == [1234.5, 12.25]
    assert col.unreadable.tolist() == [False, False, True]
    assert col.examples == ("1.234,5",)


def test_three_decimals_only_is_refused():
    with pytest.raises(DataValidationError) as err:
        nums(["1.234", "12.500", "3"])
    msg = str(err.value)
    assert "'1.234'" in msg and "1.234 with decimal='.'" in msg
    assert "1234 with thousands='.'" in msg and "decimal=" in msg


def test_other_decimal_counts_decide_decimal_point():
    col = nums(["12.5", "3.14159", "1.234"])
    assert col.values.tolist() == [12.5, 3.14159, 1.234]
    assert col.decision == ""


def test_leading_zero_is_not_a_thousands_group():
    assert nums(["0.750", "1.250"]).values.tolist() == [0.75, 1.25]


def test_plain_numbers_have_no_decision():
    col = nums(["12", "-3.5", "+0.25", " 7 "])
    assert col.values.tolist() == [12.0, -3.5, 0.25, 7.0]
    assert col.decision == ""
    assert not col.unreadable.any() and not col.implausible.any()


def test_unicode_spaces_around_values_are_stripped():
    col = nums(["\u00a012,5\u202f", "\u20093 "])
    assert col.values.tolist() == [12.5, 3.0]


def test_text_arrow_cannot_hold_is_unreadable():
    col = nums(["x\ud800", "3"])
    assert col.unreadable.tolist() == [True, False] and col.examples == ("x\ud800",)
    assert dates(["x\ud800", "2024-01-01"]).unreadable.tolist() == [True, False]


def test_text_dtypes_give_the_same_result():
    for dtype in ["str", "string[pyarrow]", "string[python]", object]:
        raw = pd.Series(["1.234,5", None, " "], dtype=dtype)
        assert parse_numbers(raw, column="a").values.tolist()[0] == 1234.5
        raw = pd.Series(["13/01/2024", None], dtype=dtype)
        assert parse_dates(raw, column="d").values[0] == pd.Timestamp("2024-01-13")
        assert normalise_ids(pd.Series([" 007", None], dtype=dtype),
                             column="c").values.pipe(_listed) == ["007", None]


def test_signs_parentheses_and_trailing_minus():
    col = nums(["(12.50)", "12.50-", "-3", "+4", "\u22125", "( 1.5 )"])
    assert col.values.tolist() == [-12.5, -12.5, -3.0, 4.0, -5.0, -1.5]


def test_two_signs_are_unreadable():
    col = nums(["--3", "(-3)", "4.5"])
    assert col.unreadable.tolist() == [True, True, False]
    assert col.examples == ("--3", "(-3)")


def test_scientific_notation():
    assert nums(["1e3", "2.5E-2", "7"]).values.tolist() == [1000.0, 0.025, 7.0]


def test_infinite_values_are_kept_and_flagged():
    col = nums(["inf", "-Infinity", "1e999", "2.5"])
    assert col.values.tolist() == [np.inf, -np.inf, np.inf, 2.5]
    assert col.implausible.tolist() == [True, True, True, False]
    assert not col.unreadable.any()
    num = parse_numbers(pd.Series([1.0, np.inf, np.nan]), column="amount")
    assert num.implausible.tolist() == [False, True, False]


@pytest.mark.parametrize("values", [["£12.50", "£ 3", "(£1.25)", "-£2"],
                                    ["12.50 GBP", "GBP 3", "GBP1.25-", "£-2"],
                                    ["12.50£", "3 £", "(1.25 GBP)", "-2"]])
def test_one_currency_is_stripped(values):
    col = nums(values)
    assert col.values.tolist() == [12.5, 3.0, -1.25, -2.0]
    assert "currency GBP (written " in col.decision


def test_currency_with_decimal_comma():
    col = nums(["12,50 EUR", "-€3,00", "(€ 1.234,56)"])
    assert col.values.tolist() == [12.5, -3.0, -1234.56]
    assert "decimal comma with '.' thousands separator" in col.decision
    assert "stripped from 3 distinct values" in col.decision


def test_two_currencies_are_refused():
    with pytest.raises(DataValidationError) as err:
        nums(["€12,50", "$3", "4"])
    msg = str(err.value)
    assert "currency" in msg and "'amount'" in msg
    assert "'€12,50'" in msg and "'$3'" in msg


def test_explicit_convention_wins():
    assert nums(["1.234", "5"], decimal=",").values.tolist() == [1234.0, 5.0]
    assert nums(["1.234", "5"], thousands=".").values.tolist() == [1234.0, 5.0]
    assert nums(["1,234", "5"], decimal=".").values.tolist() == [1234.0, 5.0]
    col = nums(["1 234,5"], decimal=",", thousands="\u00a0")
    assert col.values.tolist() == [1234.5]
    assert "decimal=',', thousands='\\xa0' as passed" in col.decision


def test_explicit_convention_marks_other_values_unreadable():
    col = nums(["12,50", "3.5"], decimal=".")
    assert col.values[1] == 3.5 and np.isnan(col.values[0])
    assert col.unreadable.tolist() == [True, False]
    assert col.examples == ("12,50",)


def test_invalid_options():
    with pytest.raises(ClvError, match="decimal"):
        nums(["1"], decimal=";")
    with pytest.raises(ClvError, match="thousands"):
        nums(["1"], thousands="_")
    with pytest.raises(DataValidationError, match="cannot be the same"):
        nums(["1"], decimal=",", thousands=",")


def test_unreadable_values_are_reported_not_raised():
    col = nums(["12.5", "abc", "  ", None, "n/a", "abc"])
    assert col.unreadable.tolist() == [False, True, False, False, True, True]
    assert col.examples == ("abc", "n/a")
    assert col.values.isna().tolist() == [False, True, True, True, True, True]


def test_no_readable_value_is_an_error():
    with pytest.raises(DataValidationError, match="'amount' is not numeric.*'abc'"):
        nums(["abc", "def", None])


def test_missing_only_is_not_an_error():
    col = nums([None, " ", ""])
    assert col.values.isna().all() and not col.unreadable.any()


def test_boolean_column_is_refused():
    with pytest.raises(DataValidationError, match="boolean"):
        parse_numbers(pd.Series([True, False]), column="amount")


def test_numeric_dtypes_pass_through():
    col = parse_numbers(pd.Series([1, None], dtype="Int64", index=[5, 9], name="q"),
                        column="q")
    assert col.values.dtype == "float64" and col.values.index.tolist() == [5, 9]
    assert col.values.name == "q" and col.values.tolist()[0] == 1.0 and np.isnan(col.values[9])


def test_object_column_mixing_numbers_and_text():
    col = nums([1, "2,5", 3.25, "x", True])
    assert col.values.tolist()[:3] == [1.0, 2.5, 3.25]
    assert col.unreadable.tolist() == [False, False, False, True, True]


def test_index_is_kept():
    raw = pd.Series(["1,5", "2"], index=["a", "b"], name="price")
    col = parse_numbers(raw, column="price")
    assert col.values.index.tolist() == ["a", "b"] and col.values.name == "price"


# --------------------------------------------------------------------------- numbers: properties

_CONVENTIONS = [(".", None), (".", ","), (".", " "), (".", "\u00a0"), (".", "'"),
                (",", None), (",", "."), (",", " "), (",", "\u00a0")]


def _format(value: Decimal, decimal: str, thousands: str | None) -> str:
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):f}"
    whole, _, frac = digits.partition(".")
    if thousands:
        groups = []
        while len(whole) > 3:
            whole, groups = whole[:-3], [whole[-3:], *groups]
        whole = thousands.join([whole, *groups])
    return sign + whole + (decimal + frac if frac else "")


_amounts = st.lists(
    st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False,
                allow_infinity=False).map(lambda d: d.normalize() if d == d.to_integral()
                                          else d),
    min_size=1, max_size=30)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_amounts, st.sampled_from(_CONVENTIONS + [(",", "'")]))
def test_property_explicit_convention_round_trips(values, convention):
    decimal, thousands = convention
    texts = [_format(v, decimal, thousands) for v in values]
    col = nums(texts, decimal=decimal, thousands=thousands)
    assert np.round(col.values.to_numpy(), 2).tolist() == [float(v) for v in values]
    assert not col.unreadable.any()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_amounts, st.sampled_from(_CONVENTIONS))
def test_property_detected_convention_round_trips(values, convention):
    # one value that only this convention reads (1,234,567.89 / 1.234.567,89 / 1234567,89)
    decimal, thousands = convention
    values = [*values, Decimal("1234567.89")]
    texts = [_format(v, decimal, thousands) for v in values]
    col = nums(texts)
    assert np.round(col.values.to_numpy(), 2).tolist() == [float(v) for v in values]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_amounts, st.sampled_from(_CONVENTIONS))
def test_property_never_misread_silently(values, convention):
    """Without a disambiguating value, the column is read exactly or refused."""
    texts = [_format(v, *convention) for v in values]
    try:
        col = nums(texts)
    except DataValidationError as err:
        assert "decimal=" in str(err)
        return
    assert np.round(col.values.to_numpy(), 2).tolist() == [float(v) for v in values]


# --------------------------------------------------------------------------- dates


def test_day_first_decided_from_days_above_12():
    col = dates(["13/02/2024 10:00", "05/03/2024 09:30", "05/03/2024 09:30"])
    assert col.values.tolist() == stamps("2024-02-13 10:00", "2024-03-05 09:30",
                                         "2024-03-05 09:30")
    assert col.decision == ("'date': day-first dd/mm/yyyy HH:MM (decided from 1 of 2 distinct "
                            "values with a day above 12, e.g. '13/02/2024 10:00')")


def test_month_first_decided_from_second_numbers_above_12():
    col = dates(["02/13/2024", "05/03/2024"])
    assert col.values.tolist() == stamps("2024-02-13", "2024-05-03")
    assert "month-first mm/dd/yyyy" in col.decision


def test_genuinely_mixed_order_is_refused():
    with pytest.raises(DataValidationError) as err:
        dates(["13/02/2024", "02/13/2024", "01/01/2024"])
    msg = str(err.value)
    assert "mixed" in msg and "'13/02/2024'" in msg and "'02/13/2024'" in msg
    assert "'date'" in msg and "date_format=" in msg


def test_ambiguous_order_is_refused_with_count_and_examples():
    with pytest.raises(DataValidationError) as err:
        dates(["05/03/2024", "06/01/2024", "05/03/2024"])
    msg = str(err.value)
    assert "dayfirst=" in msg and "date_format=" in msg and "'date'" in msg
    assert "all 2 distinct values" in msg and "'05/03/2024'" in msg


@pytest.mark.parametrize(("dayfirst", "expected"), [(True, "2024-03-05"), (False, "2024-05-03")])
def test_dayfirst_settles_ambiguous_order(dayfirst, expected):
    col = dates(["05/03/2024"], dayfirst=dayfirst)
    assert col.values.tolist() == stamps(expected)
    assert f"dayfirst={dayfirst} as passed" in col.decision


def test_dotted_day_first_is_never_june():
    with pytest.raises(DataValidationError, match="dayfirst="):
        dates(["06.01.2024"])
    assert dates(["06.01.2024"], dayfirst=True).values.tolist() == stamps("2024-01-06")
    assert dates(["06.01.2024", "25.12.2024"]).values.tolist() == stamps("2024-01-06",
                                                                          "2024-12-25")


@pytest.mark.parametrize(("dayfirst", "example"), [(False, "13/03/2024"), (True, "03/13/2024")])
def test_dayfirst_contradicting_the_data_is_refused(dayfirst, example):
    with pytest.raises(DataValidationError) as err:
        dates([example, "01/02/2024"], dayfirst=dayfirst)
    assert f"dayfirst={dayfirst}" in str(err.value) and repr(example) in str(err.value)


def test_iso_stays_iso_whatever_dayfirst_says():
    col = dates(["2024-01-05", "2024-02-03 10:15:30"], dayfirst=True)
    assert col.values.tolist() == stamps("2024-01-05", "2024-02-03 10:15:30")
    assert col.decision == ""


def test_iso_and_day_first_shapes_together():
    col = dates(["2024-03-05", "13.02.2024", "2024-03-05T08:00"])
    assert col.values.tolist() == stamps("2024-03-05", "2024-02-13", "2024-03-05 08:00")
    assert col.decision.startswith("'date': 2 date shapes, each read unambiguously; ISO")
    assert "day-first dd.mm.yyyy" in col.decision


def test_iso_and_ambiguous_shape_is_refused():
    with pytest.raises(DataValidationError, match="dayfirst="):
        dates(["2024-03-05", "05/03/2024"])


def test_year_first_slashes_and_month_names():
    col = dates(["2024/01/05", "05 Jan 2024", "Jan 5, 2024", "5 January 2024", "5-Jan-2024"])
    assert col.values.tolist() == stamps(*["2024-01-05"] * 5)
    assert "month name" in col.decision and "year first yyyy/mm/dd" in col.decision


def test_am_pm_and_fractional_seconds():
    col = dates(["1/2/2024 1:05 PM", "13/2/2024 1:05 am"])
    assert col.values.tolist() == stamps("2024-02-01 13:05", "2024-02-13 01:05")
    col = dates(["2024-01-05 10:00:00.123456789"])
    assert col.values[0] == pd.Timestamp("2024-01-05 10:00:00.123456789")


def test_offsets_are_converted_to_the_timezone():
    col = dates(["2024-01-05T10:00:00Z", "2024-03-30 10:00+01:00", "2024-07-05 10:00+02:00"])
    assert col.values.tolist() == stamps("2024-01-05 10:00", "2024-03-30 09:00",
                                         "2024-07-05 08:00")
    assert col.values.dtype == "datetime64[ns]"
    assert "converted 3 distinct values with UTC offsets to UTC" in col.decision


def test_values_without_offset_are_taken_in_the_timezone():
    col = dates(["2024-07-05 10:00+02:00", "2024-07-05 10:00"], timezone="Europe/Paris")
    assert col.values.tolist() == stamps("2024-07-05 10:00", "2024-07-05 10:00")
    assert "1 distinct value without offset taken as already in Europe/Paris" in col.decision


def test_offsets_with_seconds_are_unreadable_not_misread():
    # pandas' %z drops the seconds of "+00:09:21" (Paris mean time before 1911)
    col = dates(["1911-01-01T00:09:21+00:09:21", "2024-01-01T10:00:00+01:00"])
    assert col.unreadable.tolist() == [True, False]
    assert col.values[1] == pd.Timestamp("2024-01-01 09:00")


def test_unknown_timezone_is_refused():
    with pytest.raises(DataValidationError, match="timezone='Mars/Base'"):
        dates(["2024-01-05"], timezone="Mars/Base")


def test_tz_aware_datetimes_give_the_local_calendar_date():
    raw = pd.Series(pd.to_datetime(["2024-01-01 23:30"]).tz_localize("UTC"))
    col = parse_dates(raw, column="date", timezone="Europe/Paris")
    assert col.values.tolist() == stamps("2024-01-02 00:30")
    assert "converted tz-aware dates to Europe/Paris" in col.decision


def test_naive_datetimes_pass_through():
    raw = pd.Series(pd.to_datetime(["2024-01-01 23:30", None]), index=[3, 4])
    col = parse_dates(raw, column="date")
    assert col.values.tolist()[0] == pd.Timestamp("2024-01-01 23:30")
    assert col.values.index.tolist() == [3, 4] and col.decision == ""


def test_dates_outside_nanosecond_range_are_implausible():
    col = dates(["2300-01-01", "0001-01-01", "2024-01-01"])
    assert col.values.isna().tolist() == [True, True, False]
    assert col.implausible.tolist() == [True, True, False]
    assert not col.unreadable.any()
    raw = pd.Series(np.array(["2300-01-01", "2024-01-01"], dtype="datetime64[us]"))
    assert parse_dates(raw, column="date").implausible.tolist() == [True, False]


@pytest.mark.parametrize("raw", [pd.Series([45292, 45293]), pd.Series(["1700000000", "17"])])
def test_numbers_need_a_unit(raw):
    with pytest.raises(DataValidationError) as err:
        parse_dates(raw, column="date")
    assert "date_unit=" in str(err.value) and "'date'" in str(err.value)
    assert str(raw[0]) in str(err.value)


def test_numeric_units():
    excel = parse_dates(pd.Series([45292.5, 45293.75, np.nan]), column="date", date_unit="D")
    assert excel.values.tolist()[:2] == stamps("2024-01-01 12:00", "2024-01-02 18:00")
    assert "Excel serial days" in excel.decision
    epoch = parse_dates(pd.Series(["1700000000"]), column="date", date_unit="s")
    assert epoch.values.tolist() == stamps("2023-11-14 22:13:20")
    ms = parse_dates(pd.Series([1_700_000_000_000]), column="date", date_unit="ms")
    assert ms.values.tolist() == stamps("2023-11-14 22:13:20")
    far = parse_dates(pd.Series([1e12, np.inf]), column="date", date_unit="s")
    assert far.implausible.tolist() == [True, True]
    with pytest.raises(ClvError, match="date_unit"):
        parse_dates(pd.Series([1]), column="date", date_unit="h")


def test_yyyymmdd_is_detected_only_when_every_value_parses():
    col = dates(["20240105", "20241231"])
    assert col.values.tolist() == stamps("2024-01-05", "2024-12-31")
    assert "yyyymmdd" in col.decision
    with pytest.raises(DataValidationError, match="date_unit="):
        dates(["20241305", "20241231"])


def test_two_digit_years_only_with_date_format():
    with pytest.raises(DataValidationError, match="date_format="):
        dates(["5/1/24", "6/1/24"])
    col = dates(["5/1/24", "6/1/24"], date_format="%d/%m/%y")
    assert col.values.tolist() == stamps("2024-01-05", "2024-01-06")
    assert "'%d/%m/%y' (as passed)" in col.decision


def test_date_format_wins_over_detection():
    col = dates(["05/03/2024", "2024-01-01"], date_format="%m/%d/%Y")
    assert col.values.tolist()[0] == pd.Timestamp("2024-05-03")
    assert col.unreadable.tolist() == [False, True]


def test_unreadable_dates_are_reported_not_raised():
    col = dates(["2024-01-05", "soon", "31/02/2024", None, " "])
    assert col.unreadable.tolist() == [False, True, True, False, False]
    assert col.examples == ("soon", "31/02/2024")


def test_no_readable_date_is_an_error():
    with pytest.raises(DataValidationError, match="no value of column 'date'.*'soon'"):
        dates(["soon", "later"])


def test_object_column_of_excel_cells():
    raw = [pd.Timestamp("2024-01-05"), "13/01/2024", 45292, datetime(2024, 2, 1), None]
    col = dates(raw, date_unit="D")
    assert col.values.tolist()[:4] == stamps("2024-01-05", "2024-01-13", "2024-01-01",
                                             "2024-02-01")
    assert "Excel serial days" in col.decision and "day-first" in col.decision


def test_boolean_dates_are_refused():
    with pytest.raises(DataValidationError, match="boolean"):
        parse_dates(pd.Series([True]), column="date")


# --------------------------------------------------------------------------- dates: properties

_moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
_DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y"]
_TIME_FORMATS = ["", " %H:%M", " %H:%M:%S", "T%H:%M:%S"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_moments, min_size=1, max_size=30), st.sampled_from(_DATE_FORMATS),
       st.sampled_from(_TIME_FORMATS))
def test_property_dates_round_trip(moments, date_fmt, time_fmt):
    if time_fmt.startswith("T") and not date_fmt.startswith("%Y"):
        time_fmt = " " + time_fmt[1:]
    fmt = date_fmt + time_fmt
    moments = [*moments, datetime(2020, 5, 25, 6, 7, 8)]  # a day above 12
    # keep only what the format writes
    moments = [datetime.strptime(m.strftime(fmt), fmt) for m in moments]
    col = dates([m.strftime(fmt) for m in moments])
    assert col.values.tolist() == [pd.Timestamp(m) for m in moments]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_moments, min_size=1, max_size=30), st.sampled_from(_DATE_FORMATS[1:]))
def test_property_dates_never_misread_silently(moments, fmt):
    """Without a day above 12 the column is read exactly or refused; dayfirst= settles it."""
    texts = [m.strftime(fmt) for m in moments]
    expected = [pd.Timestamp(m.date()) for m in moments]
    try:
        col = dates(texts)
    except DataValidationError as err:
        assert "dayfirst=" in str(err)
        col = dates(texts, dayfirst=fmt.startswith("%d"))
    assert col.values.tolist() == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(_moments.filter(lambda m: m.year >= 1970), min_size=1, max_size=10),
       st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]))
def test_property_offsets_convert_like_pandas(moments, zone):
    # (offsets with seconds, such as Paris' +00:09:21 before 1911, are unreadable: pandas'
    # %z drops their seconds)
    aware = [pd.Timestamp(m, tz="UTC").tz_convert(zone) for m in moments]
    texts = [a.isoformat() for a in aware]
    col = dates(texts, timezone="UTC")
    assert col.values.tolist() == [pd.Timestamp(m) for m in moments]


# --------------------------------------------------------------------------- ids


def _listed(values: pd.Series) -> list:
    """Values with missing as None (NaN != NaN in list comparisons)."""
    return [None if pd.isna(v) else v for v in values.tolist()]


def test_text_ids_are_kept_exactly():
    raw = [" 007", "007", "1E3", "  ", None, "12345678901234567890", "0042", "7"]
    col = normalise_ids(pd.Series(raw, dtype=object), column="cust")
    assert _listed(col.values) == ["007", "007", "1E3", None, None, "12345678901234567890",
                                   "0042", "7"]
    assert col.values.dtype == ID_DTYPE
    assert col.decision == ("'cust': 1 distinct id (1 row) changed by normalisation "
                            "(surrounding whitespace, Unicode NFC)")
    assert not col.unreadable.any()


def test_ids_are_unicode_nfc():
    col = normalise_ids(pd.Series(["Jose\u0301", "Jos\u00e9", "Jose\u0301"]), column="cust")
    assert col.values.tolist() == ["Jos\u00e9"] * 3
    assert "1 distinct id (2 rows) changed" in col.decision


def test_unchanged_ids_have_no_decision():
    assert normalise_ids(pd.Series(["a", "b"]), column="cust").decision == ""


def test_integer_ids():
    col = normalise_ids(pd.Series([17850, 12346], dtype="int64", index=[4, 2]), column="cust")
    assert col.values.tolist() == ["17850", "12346"] and col.values.index.tolist() == [4, 2]
    nullable = normalise_ids(pd.Series([1, None], dtype="Int64"), column="cust")
    assert _listed(nullable.values) == ["1", None]


def test_integral_float_ids_become_integers():
    col = normalise_ids(pd.Series([17850.0, np.nan, 12346.0]), column="CustomerID")
    assert _listed(col.values) == ["17850", None, "12346"]
    assert col.decision == ("'CustomerID': 2 numeric ids stored as floats written as integers, "
                            "e.g. 17850.0 -> '17850'")


def test_non_integral_or_huge_float_ids_are_refused():
    with pytest.raises(DataValidationError, match="'cust'.*'1.5'"):
        normalise_ids(pd.Series([1.0, 1.5]), column="cust")
    with pytest.raises(DataValidationError, match="2\\*\\*53"):
        normalise_ids(pd.Series([1e17]), column="cust")


def test_excel_cells_mixing_numbers_and_text():
    col = normalise_ids(pd.Series([7, "007", " 7", 8.0], dtype=object), column="cust")
    assert col.values.tolist() == ["7", "007", "7", "8"]
    assert col.values.nunique() == 3
    with pytest.raises(DataValidationError, match="True/False"):
        normalise_ids(pd.Series([True, "a"], dtype=object), column="cust")


_clean_ids = st.one_of(
    st.sampled_from(["007", "1E3", "12345678901234567890", "0042", "1.0", "nan"]),
    st.text(min_size=1, max_size=12),
).filter(lambda s: s == unicodedata.normalize("NFC", s.strip()) and s != ""
          and not re.search(INVISIBLE_CHARS, s))   # invisible characters are removed


@settings(max_examples=120, deadline=None)
@given(st.lists(_clean_ids, min_size=1, max_size=20))
@example(["nan", "NAN"])                 # found by Hypothesis: a letter-case note, no change
def test_property_ids_round_trip_unchanged(ids):
    col = normalise_ids(pd.Series(ids, dtype=object), column="cust")
    assert col.values.tolist() == ids
    # clean ids need no decision, except the note on ids that differ only in letter case
    # ('nan' / 'NAN'), which are kept apart and said (see the test below)
    folded = collections.Counter(i.casefold() for i in set(ids))
    twins = sum(1 for i in set(ids) if folded[i.casefold()] > 1)
    if twins:
        assert (f"{twins:,} distinct ids differ from another id only in letter case"
                in col.decision)
    else:
        assert col.decision == ""


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=20))
def test_property_ids_are_stripped_nfc_text(ids):
    col = normalise_ids(pd.Series(ids, dtype=object), column="cust")
    # invisible format characters are removed before stripping (issue 23)
    expected = [unicodedata.normalize("NFC", re.sub(INVISIBLE_CHARS, "", s).strip()) or None
                for s in ids]
    assert _listed(col.values) == expected


def test_many_rows_are_parsed_through_distinct_values():
    # 200k rows, 400 distinct dates: the day-first order holds for every row
    base = pd.Timestamp("2023-01-01")
    days = [base + timedelta(days=int(k)) for k in np.arange(200_000) % 400]
    texts = pd.Series([d.strftime("%d/%m/%Y") for d in days[:400]] * 500)
    col = parse_dates(texts, column="date")
    assert (col.values.to_numpy() == np.array(days, dtype="datetime64[ns]")).all()


def test_ids_differing_only_in_case_are_kept_apart_but_said():
    col = normalise_ids(pd.Series(["Ann@X.com", "ann@x.com", "bob@x.com", "ann@x.com"]),
                        column="email")
    assert col.values.tolist() == ["Ann@X.com", "ann@x.com", "bob@x.com", "ann@x.com"]
    assert "2 distinct ids differ from another id only in letter case" in col.decision
    assert "'Ann@X.com'" in col.decision and "'ann@x.com'" in col.decision
    assert "letter case" not in normalise_ids(pd.Series(["a", "b", "B1"]), column="c").decision
