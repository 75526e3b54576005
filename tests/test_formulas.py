"""Tests of clvkit.formulas: hand-computed values and textbook identities."""

import numpy as np
import pandas as pd
import pytest

from clvkit import DataValidationError
from clvkit.errors import ClvError
from clvkit.formulas import (
    cac_payback_periods,
    clv_components,
    expected_lifetime,
    finite_horizon_clv,
    ltv_cac_ratio,
    margin_multiplier,
    retention_clv,
    simple_clv,
)


def test_retention_clv_known_values():
    # m = 1, r = 0.8, d = 0.1 (Gupta & Lehmann 2003 margin multiplier r/(1+d-r))
    assert retention_clv(1.0, retention=0.8, discount_rate=0.1) == pytest.approx(2.6667, abs=1e-4)
    assert retention_clv(1.0, retention=0.8, discount_rate=0.1,
                         timing="end_first_sure") == pytest.approx(3.3333, abs=1e-4)
    assert retention_clv(1.0, retention=0.8, discount_rate=0.1,
                         timing="start") == pytest.approx(3.6667, abs=1e-4)
    # Gupta & Lehmann (2003) Table 1: r = 90%, i = 12% -> multiplier 4.09
    assert margin_multiplier(retention=0.9, discount_rate=0.12) == pytest.approx(4.09, abs=0.005)


def test_finite_horizon_converges_and_matches_sum():
    m, r, d = 50.0, 0.7, 0.08
    t = np.arange(1, 11)
    explicit = np.sum(m * r**t / (1 + d) ** t)
    ten = finite_horizon_clv(m, retention=r, discount_rate=d, periods=10)
    assert ten == pytest.approx(explicit)
    explicit_start = np.sum(m * r ** (t - 1) / (1 + d) ** (t - 1))
    assert finite_horizon_clv(m, retention=r, discount_rate=d, periods=10,
                              timing="start") == pytest.approx(explicit_start)
    for timing in ("end", "start", "end_first_sure"):
        assert finite_horizon_clv(m, retention=r, discount_rate=d, periods=2000, timing=timing) \
            == pytest.approx(retention_clv(m, retention=r, discount_rate=d, timing=timing))


def test_vectorised_inputs():
    out = retention_clv(np.array([1.0, 2.0]), retention=np.array([0.5, 0.5]), discount_rate=0.0)
    assert out.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kwargs", [dict(retention=1.0, discount_rate=0.1),
                                    dict(retention=-0.1, discount_rate=0.1),
                                    dict(retention=0.5, discount_rate=-0.1)])
def test_bad_retention_inputs(kwargs):
    with pytest.raises(ClvError):
        retention_clv(1.0, **kwargs)


def test_expected_lifetime_and_ratios():
    assert expected_lifetime(retention=0.8) == pytest.approx(5.0)
    assert ltv_cac_ratio(450.0, 150.0) == 3.0
    with pytest.raises(ClvError):
        ltv_cac_ratio(1.0, 0.0)
    assert cac_payback_periods(100.0, margin_per_period=25.0) == 4.0
    # with retention 0.9 the expected cumulative margin after n periods is 10 (1 - 0.9^n) / 0.1
    n = cac_payback_periods(50.0, margin_per_period=10.0, retention=0.9)
    assert 10 * (1 - 0.9**n) / 0.1 == pytest.approx(50.0)
    assert cac_payback_periods(101.0, margin_per_period=10.0, retention=0.9) == np.inf


def tx_fixture():
    # two customers, one year: customer 1 buys 100 then 50; customer 2 buys 30, 30, 40
    return pd.DataFrame({"customer_id": [1, 1, 2, 2, 2],
                         "date": pd.to_datetime(["2023-01-01", "2023-07-01", "2023-02-01",
                                                 "2023-06-01", "2023-12-31"]),
                         "amount": [100.0, 50.0, 30.0, 30.0, 40.0],
                         "channel": ["web", "web", "shop", "shop", "shop"]})


def test_clv_components_by_hand():
    out = clv_components(tx_fixture(), time_unit="Y", lifespan=2.0, margin=0.5)
    row = out.iloc[0]
    span_years = 365 / 365.2425
    assert row["average_purchase_value"] == 50.0           # 250 / 5 purchases
    assert row["purchase_frequency"] == pytest.approx(2.5 / span_years)
    assert row["clv"] == pytest.approx(50.0 * 2.5 / span_years * 2.0 * 0.5)


def test_clv_components_by_group_and_observed_lifespan():
    out = clv_components(tx_fixture(), by="channel", time_unit="D", lifespan="observed")
    # web: one customer, purchases 181 days apart -> tenure 181 + one gap of 181 days
    assert out.loc["web", "lifespan"] == pytest.approx(362.0)
    # shop: 333 days tenure, gaps 120 and 213 -> mean gap 166.5
    assert out.loc["shop", "lifespan"] == pytest.approx(333 + 166.5)
    assert out.attrs["time_unit"] == "D"


def test_clv_components_per_customer_uses_order_ids():
    tx = tx_fixture().assign(order_id=["a", "a", "b", "c", "d"])
    out = clv_components(tx, by="customer_id", time_unit="Y", lifespan=1.0)
    assert out.loc[1, "purchases"] == 1 and out.loc[2, "purchases"] == 3


def test_simple_clv_describe():
    res = simple_clv(tx_fixture(), time_unit="Y", lifespan=3.0)
    assert res.customers == 2 and res.purchases == 5
    assert "x 3.00 years" in res.describe()


def test_bad_inputs():
    with pytest.raises(DataValidationError, match="margin"):
        clv_components(tx_fixture(), margin=1.5, lifespan=1.0)
    with pytest.raises(DataValidationError, match="segment"):
        clv_components(tx_fixture(), by="segment", lifespan=1.0)
    with pytest.raises(ClvError, match="lifespan"):
        clv_components(tx_fixture(), lifespan=-1.0)
    with pytest.raises(DataValidationError, match="window"):
        clv_components(tx_fixture(), lifespan=1.0, start="2030-01-01")
