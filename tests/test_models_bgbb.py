"""BG/BB: Fader, Hardie & Shang (2010) donations values and agreement with lifetimes."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import DataValidationError
from clvkit.models import BetaGeoBetaBinomial

DATA = "data/donations.csv"


@pytest.fixture(scope="module")
def donations():
    return pd.read_csv(DATA).rename(columns={"periods": "n_periods"})


@pytest.fixture(scope="module")
def fit(donations):
    return BetaGeoBetaBinomial().fit(donations, weights=donations["weights"], time_unit="Y")


def test_published_parameters_and_ll(fit):
    # Fader, Hardie & Shang (2010), Marketing Science 29(6), donations (11,104 donors):
    # alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33225.6
    p = fit.params
    assert p.alpha == pytest.approx(1.204, abs=5e-4)
    assert p.beta == pytest.approx(0.750, abs=5e-4)
    assert p.gamma == pytest.approx(0.657, abs=5e-4)
    assert p.delta == pytest.approx(2.783, abs=5e-4)
    assert fit.log_likelihood == pytest.approx(-33225.6, abs=0.05)
    assert fit.n_customers == 11104


def test_agrees_with_lifetimes(donations, fit):
    lifetimes = pytest.importorskip("lifetimes")
    x, tx, n, w = (donations[c] for c in ["frequency", "recency", "n_periods", "weights"])
    bb = lifetimes.BetaGeoBetaBinomFitter().fit(x, tx, n, weights=w)
    theirs = bb.params_[["alpha", "beta", "gamma", "delta"]].to_numpy()
    assert dataclasses.astuple(fit.params) == pytest.approx(theirs, rel=1e-4)
    their_ll = BetaGeoBetaBinomial().log_likelihood(donations, params=theirs, weights=w)
    assert fit.log_likelihood == pytest.approx(their_ll, rel=1e-6)
    assert fit.log_likelihood >= their_ll - 1e-8 * abs(their_ll)
    bb.params_ = pd.Series(vars(fit.params))
    np.testing.assert_allclose(fit.p_alive(donations, periods_ahead=1),
                               bb.conditional_probability_alive(1, x, tx, n), rtol=1e-6)
    np.testing.assert_allclose(
        fit.conditional_expected_purchases(donations, t=5),
        bb.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n), rtol=1e-6)


def test_new_customer_expectation_matches_simulation(fit):
    rng = np.random.default_rng(3)
    p = fit.params
    size, n = 400_000, 6
    pt = rng.beta(p.alpha, p.beta, size)
    theta = rng.beta(p.gamma, p.delta, size)
    # death strikes at the start of an opportunity with prob. theta (FHS 2010, assumption):
    alive_through = rng.geometric(theta) - 1  # opportunities while alive
    k = np.arange(1, n + 1)
    buys = (rng.random((size, n)) < pt[:, None]) & (k[None, :] <= alive_through[:, None])
    sim = buys.sum(axis=1).mean()
    assert fit.expected_purchases_new_customer(n) == pytest.approx(sim, rel=0.01)


def test_expected_purchases_are_consistent(fit, donations):
    e1 = fit.conditional_expected_purchases(donations, t=1)
    e5 = fit.conditional_expected_purchases(donations, t=5)
    assert (e1 > 0).all() and (e5 > e1).all()
    pa = fit.p_alive(donations, periods_ahead=0)
    assert ((pa > 0) & (pa <= 1)).all()
    assert (pa[donations["recency"] == 6] > pa[donations["recency"] == 1].max()).all()


def test_bad_rows_are_rejected(donations):
    bad = donations.copy()
    bad.loc[3, "recency"] = 7  # > n_periods
    with pytest.raises(DataValidationError, match="recency <= n_periods"):
        BetaGeoBetaBinomial().fit(bad, weights=bad["weights"])


def test_analytic_gradient(donations):
    model = BetaGeoBetaBinomial()
    d = {c: donations[c].to_numpy(float) for c in ["frequency", "recency", "n_periods"]}
    w = donations["weights"].to_numpy(float)
    theta = np.log([0.8, 1.5, 1.2, 2.0])
    _, g = model._objective(theta, d, w)
    num = [(model._objective(theta + h, d, w, False)[0]
            - model._objective(theta - h, d, w, False)[0]) / 2e-6 for h in np.eye(4) * 1e-6]
    assert g == pytest.approx(num, rel=1e-5, abs=1e-8)


def test_dert_equals_discounted_sum_of_conditional_expectations(fit, donations):
    # DERT (FHS 2010, eq. 14) = sum_k (E[X(n, n+k)] - E[X(n, n+k-1)]) / (1 + d)^k
    d = 0.1
    dert = fit.dert(donations, discount_rate=d).to_numpy()
    k = np.arange(0, 600)
    cum = np.array([fit.conditional_expected_purchases(donations, t=kk).to_numpy() for kk in k])
    brute = (np.diff(cum, axis=0) / (1 + d) ** k[1:, None]).sum(axis=0)
    np.testing.assert_allclose(dert, brute, rtol=1e-9)
