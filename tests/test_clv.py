"""Per-customer CLV: unit handling and agreement with lifetimes' customer_lifetime_value."""

import time

import numpy as np
import pandas as pd
import pytest

from clvkit.clv import customer_lifetime_value
from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBD, GammaGamma


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary(with_spend=True)  # x, t_x, T and zbar of the published summary


@pytest.fixture(scope="module")
def fits(cdnow):
    return BGNBD().fit(cdnow), GammaGamma().fit(cdnow)


def clv(fits, summary, **kw):
    return customer_lifetime_value(fits[0], fits[1], summary, **kw)


def lifetimes_clv(fits, summary, *, time, freq, discount_rate):
    """lifetimes' CLV called at *our* parameters, so that only the CLV arithmetic differs."""
    lifetimes = pytest.importorskip("lifetimes")
    bg, gg = fits
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(vars(bg.params))
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # as fit() does
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series({"p": gg.params.p, "q": gg.params.q, "v": gg.params.gamma})
    return ggf.customer_lifetime_value(
        bgf, summary["frequency"], summary["recency"], summary["T"],
        summary["monetary_value"], time=time, discount_rate=discount_rate, freq=freq)


def test_exactly_equivalent_lifetimes_call(fits, cdnow):
    # lifetimes with freq="M" takes steps of ONE data unit (here: one week) and discounts per
    # step; with weekly data, time=12, freq="M" therefore means 12 weeks at 1% per week.
    # The equivalent clvkit call states that explicitly:
    ours = clv(fits, cdnow, horizon=12, horizon_unit="W", discount_rate=0.01,
               discount_period="W")
    theirs = lifetimes_clv(fits, cdnow, time=12, freq="M", discount_rate=0.01)
    np.testing.assert_allclose(ours["clv"].to_numpy(), theirs.to_numpy(), rtol=1e-9)
    assert ours.index.equals(cdnow.index)


def test_twelve_months_matches_lifetimes_up_to_month_length(fits, cdnow):
    # lifetimes' documented 12-month CLV on weekly data: time=12, freq="W" = 12 steps of
    # 4.345 weeks, 1% per month. clvkit: 12 mean Gregorian months of 30.436875 / 7 = 4.3481
    # weeks each. The month lengths differ by 0.07 %, so the CLVs agree to ~1e-3.
    ours = clv(fits, cdnow, horizon=12, horizon_unit="M", discount_rate=0.01,
               discount_period="M")
    theirs = lifetimes_clv(fits, cdnow, time=12, freq="W", discount_rate=0.01)
    np.testing.assert_allclose(ours["clv"].to_numpy(), theirs.to_numpy(), rtol=2e-3)
    assert ours["clv"].sum() > theirs.sum()  # our months are slightly longer
    # and the horizon really is one year: undiscounted purchases over 12 months = 365.2425 days
    year = fits[0].conditional_expected_purchases(cdnow, t=365.2425 / 7)
    np.testing.assert_allclose(ours["expected_purchases"], year, rtol=1e-12)


def test_units_are_equivalent_however_expressed(fits, cdnow):
    a = clv(fits, cdnow, horizon=1, horizon_unit="Y", discount_rate=0.01, discount_period="M")
    b = clv(fits, cdnow, horizon=12, horizon_unit="M", discount_rate=0.01, discount_period="M")
    np.testing.assert_allclose(a["clv"], b["clv"], rtol=1e-12)
    # no discounting: CLV = spend x expected purchases over the horizon, whatever the step
    c = clv(fits, cdnow, horizon=52, horizon_unit="W", discount_rate=0.0, discount_period="M")
    e = fits[0].conditional_expected_purchases(cdnow, t=52)
    s = fits[1].conditional_expected_spend(cdnow)
    np.testing.assert_allclose(c["clv"], e * s, rtol=1e-10)


def test_discounting_lowers_clv(fits, cdnow):
    lo = clv(fits, cdnow, horizon=2, horizon_unit="Y", discount_rate=0.0, discount_period="Y")
    hi = clv(fits, cdnow, horizon=2, horizon_unit="Y", discount_rate=0.1, discount_period="Y")
    assert (hi["clv"] < lo["clv"]).all()
    assert hi.attrs["discount_period"] == "Y" and hi.attrs["model_time_unit"] == "W"


@pytest.mark.parametrize("kw, match", [
    ({"horizon": 0}, "horizon"),
    ({"horizon_unit": "months"}, "horizon_unit"),
    ({"discount_rate": -0.1}, "discount_rate"),
    ({"discount_period": "H"}, "discount_period"),
])
def test_bad_arguments(fits, cdnow, kw, match):
    args = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01, "discount_period": "M"}
    with pytest.raises(ClvError, match=match):
        clv(fits, cdnow, **{**args, **kw})


def test_summary_in_other_unit_is_rejected(fits, cdnow):
    days = cdnow.copy()
    days.attrs["time_unit"] = "D"
    with pytest.raises(ClvError, match="time unit"):
        clv(fits, days, horizon=12, horizon_unit="M", discount_rate=0.01, discount_period="M")


def test_lifetimes_docs_twelve_months_on_weekly_data_is_360_weeks(fits, cdnow):
    # lifetimes' docs call customer_lifetime_value(time=12) with the default freq="D" on the
    # weekly CDNOW summary: 12 steps of 30 data units = 360 weeks. Without discounting the
    # result equals clvkit's CLV over an explicit 360-week horizon -- not 12 months.
    theirs = lifetimes_clv(fits, cdnow, time=12, freq="D", discount_rate=0.0)
    weeks_360 = clv(fits, cdnow, horizon=360, horizon_unit="W", discount_rate=0.0,
                    discount_period="M")
    np.testing.assert_allclose(weeks_360["clv"].to_numpy(), theirs.to_numpy(), rtol=1e-9)
    months_12 = clv(fits, cdnow, horizon=12, horizon_unit="M", discount_rate=0.0,
                    discount_period="M")
    assert (months_12["clv"] < 0.5 * weeks_360["clv"]).all()


def test_absurd_horizon_is_refused_at_once(fits, cdnow):
    # 1e9 months of monthly discounting would be 1e9 model predictions: refused before any work
    start = time.perf_counter()
    with pytest.raises(ClvError, match=r"1,000,000,000 discounting periods.*limit of 1,200"):
        clv(fits, cdnow, horizon=1e9, horizon_unit="M", discount_rate=0.01, discount_period="M")
    assert time.perf_counter() - start < 0.5
    # with yearly steps the same horizon is still 83 million steps: refused too
    with pytest.raises(ClvError, match="discount_period"):
        clv(fits, cdnow, horizon=1e9, horizon_unit="M", discount_rate=0.01, discount_period="Y")
    # just under the limit is accepted (200 years of yearly steps)
    out = clv(fits, cdnow.head(3), horizon=200, horizon_unit="Y", discount_rate=0.1,
              discount_period="Y")
    assert np.isfinite(out["clv"]).all()


@pytest.mark.parametrize("column, value, words", [
    ("frequency", -1.0, "`frequency` is negative"),
    ("recency", 99.0, "`recency` > `T`"),
    ("T", np.nan, "`T` is missing (NaN)"),
    ("monetary_value", -39.0, "`monetary_value` is not > 0 for a repeat buyer"),
])
def test_invalid_customers_are_named(fits, cdnow, column, value, words):
    bad = cdnow.head(5).copy()
    bad.loc[bad.index[1], column] = value  # a repeat buyer (x = 1)
    with pytest.raises(DataValidationError) as err:
        clv(fits, bad, horizon=12, horizon_unit="M", discount_rate=0.01, discount_period="M")
    assert words in str(err.value) and f"(e.g. {bad.index[1]})" in str(err.value)
