"""MBG/NBD (Batislam et al. 2007) on CDNOW: lifetimes' documented values and agreement."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.models import MBGNBD


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()  # the published summary (weeks), indexed by customer_id


@pytest.fixture(scope="module")
def fit(cdnow):
    return MBGNBD().fit(cdnow)


def test_documented_parameters(fit):
    # lifetimes 0.11.3 documentation (ModifiedBetaGeoFitter on CDNOW, weeks):
    # r ~ 0.525, alpha ~ 6.183, a ~ 0.891, b ~ 1.614 (printed to 3 decimals: must round)
    p = fit.params
    assert p.r == pytest.approx(0.525, abs=5e-4)
    assert p.alpha == pytest.approx(6.183, abs=5e-4)
    assert p.a == pytest.approx(0.891, abs=5e-4)
    assert p.b == pytest.approx(1.614, abs=5e-4)
    assert fit.success and fit.model_name == "MBG/NBD"


def test_agrees_with_lifetimes(cdnow, fit):
    lifetimes = pytest.importorskip("lifetimes")
    x, tx, T = (cdnow[c] for c in ["frequency", "recency", "T"])
    mbg = lifetimes.ModifiedBetaGeoFitter().fit(x, tx, T)
    theirs = mbg.params_[["r", "alpha", "a", "b"]].to_numpy()
    assert dataclasses.astuple(fit.params) == pytest.approx(theirs, rel=1e-4)
    their_ll = MBGNBD().log_likelihood(cdnow, params=theirs)
    assert fit.log_likelihood == pytest.approx(their_ll, rel=1e-6)
    assert fit.log_likelihood >= their_ll - 1e-6
    mbg.params_ = pd.Series(vars(fit.params))
    np.testing.assert_allclose(fit.p_alive(cdnow), mbg.conditional_probability_alive(x, tx, T),
                               rtol=1e-10)
    np.testing.assert_allclose(
        fit.conditional_expected_purchases(cdnow, t=39),
        mbg.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-10)
    np.testing.assert_allclose(fit.expected_purchases_new_customer([10, 39]),
                               mbg.expected_number_of_purchases_up_to_time(
                                   np.array([10.0, 39.0])), rtol=1e-10)


def test_zero_repeat_customers_may_be_dead(fit):
    # unlike the BG/NBD, P(alive) < 1 without repeat purchases, falling with age
    pa = fit.p_alive(frequency=[0, 0], recency=[0, 0], T=[5.0, 38.0])
    assert 0 < pa.iloc[1] < pa.iloc[0] < 1


def test_analytic_gradient(cdnow):
    model = MBGNBD()
    d = {c: cdnow[c].to_numpy(float) for c in ["frequency", "recency", "T"]}
    w = np.ones(len(cdnow))
    theta = np.log([0.5, 3.0, 1.2, 2.0])
    _, g = model._objective(theta, d, w)
    num = [(model._objective(theta + h, d, w, False)[0]
            - model._objective(theta - h, d, w, False)[0]) / 2e-6 for h in np.eye(4) * 1e-6]
    assert g == pytest.approx(num, rel=1e-5, abs=1e-8)
