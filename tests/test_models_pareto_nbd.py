"""Pareto/NBD: published CDNOW values (Fader, Hardie & Lee 2005) and agreement with lifetimes."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError
from clvkit.models import ParetoNBD


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()  # the published summary (weeks), indexed by customer_id


@pytest.fixture(scope="module")
def fit(cdnow):
    return ParetoNBD().fit(cdnow)


def test_published_parameters_and_ll(fit):
    # Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 279 (Pareto/NBD on CDNOW):
    # r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669, LL = -9595.0.
    # Tolerance as in the issue: relative 1e-3 on parameters. Our beta = 11.6679 (the LL is
    # flat in that direction; a Nelder-Mead polish gives the same) and the LL at the printed
    # values is 8e-5 lower than ours, so the printed beta is a rounding of a less precise fit.
    p = fit.params
    assert p.r == pytest.approx(0.553, rel=1e-3)
    assert p.alpha == pytest.approx(10.578, rel=1e-3)
    assert p.s == pytest.approx(0.606, rel=1e-3)
    assert p.beta == pytest.approx(11.669, rel=1e-3)
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.05)
    published = ParetoNBD().log_likelihood(cdnow_summary(),
                                           params=(0.553, 10.578, 0.606, 11.669))
    assert fit.log_likelihood >= published


def test_agrees_with_lifetimes(cdnow, fit):
    lifetimes = pytest.importorskip("lifetimes")
    x, tx, T = (cdnow[c] for c in ["frequency", "recency", "T"])
    # lifetimes starts Nelder-Mead from random points (global np.random) with tol=1e-4, which
    # stops ~1e-4 (relative) short in beta; start it deterministically (log-params 0) and
    # with a tight tolerance so that it reaches the maximum
    pnbd = lifetimes.ParetoNBDFitter().fit(x, tx, T, initial_params=np.zeros(4), tol=1e-10)
    theirs = pnbd.params_[["r", "alpha", "s", "beta"]].to_numpy()
    assert dataclasses.astuple(fit.params) == pytest.approx(theirs, rel=1e-4)
    their_ll = ParetoNBD().log_likelihood(cdnow, params=theirs)
    assert fit.log_likelihood == pytest.approx(their_ll, rel=1e-6)
    assert fit.log_likelihood >= their_ll - 1e-8 * abs(their_ll)
    # predictions at the same parameters
    pnbd.params_ = pd.Series(vars(fit.params))
    np.testing.assert_allclose(fit.p_alive(cdnow),
                               pnbd.conditional_probability_alive(x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(
        fit.conditional_expected_purchases(cdnow, t=39),
        pnbd.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T), rtol=1e-6)
    np.testing.assert_allclose(fit.expected_purchases_new_customer([10, 39, 78]),
                               pnbd.expected_number_of_purchases_up_to_time(
                                   np.array([10, 39, 78])), rtol=1e-10)


def test_both_branches_of_the_hypergeometric_term(cdnow):
    # alpha >= beta and alpha < beta use different 2F1 arguments (note 009, eqs. 19-20);
    # the likelihood must be continuous across alpha = beta
    model = ParetoNBD()
    lls = [model.log_likelihood(cdnow, params=(0.55, 11.0 + e, 0.6, 11.0)) for e in
           (-1e-7, 0.0, 1e-7)]
    assert lls[0] == pytest.approx(lls[1], rel=1e-9) and lls[2] == pytest.approx(lls[1],
                                                                                 rel=1e-9)


def test_new_customer_is_limit_of_conditional(fit):
    e_new = fit.expected_purchases_new_customer(39.0)
    e_cond = fit.conditional_expected_purchases(frequency=[0], recency=[0], T=[1e-9], t=39)
    assert e_cond.iloc[0] == pytest.approx(float(e_new), rel=1e-6)


def test_dert_equals_discounted_sum_of_conditional_expectations(fit):
    # DERT (FHL 2005 JMR eq. 2) = integral of e^{-delta t} dE[Y(t) | history]
    hist = pd.DataFrame({"frequency": [0, 2, 7], "recency": [0, 30.43, 35.0], "T": 38.86})
    dert = fit.dert(hist, discount_rate=0.15, discount_period="Y")
    delta = np.log(1.15) / (365.2425 / 7)  # per week
    grid = np.linspace(0, 25_000, 20_001)  # 1.25-week steps, e^(-delta 25000) ~ 1e-29
    rows = hist.loc[hist.index.repeat(grid.size)]  # each customer x each grid point
    cum = fit.conditional_expected_purchases(rows, t=np.tile(grid, len(hist)))
    cum = cum.to_numpy().reshape(len(hist), grid.size)
    t_mid = (grid[1:] + grid[:-1]) / 2
    numeric = np.diff(cum, axis=1) @ np.exp(-delta * t_mid)
    np.testing.assert_allclose(dert.to_numpy(), numeric, rtol=2e-3)
    with pytest.raises(ClvError, match="discount_rate"):
        fit.dert(hist, discount_rate=0.0, discount_period="Y")


def test_p_alive_properties(fit, cdnow):
    pa = fit.p_alive(cdnow)
    assert ((pa > 0) & (pa <= 1)).all()
    # more recent last purchase -> more likely alive (same x and T)
    h = pd.DataFrame({"frequency": 3, "recency": [5.0, 20.0, 38.0], "T": 38.86})
    assert np.all(np.diff(fit.p_alive(h).to_numpy()) > 0)


@pytest.mark.parametrize("params", [(0.5, 3.0, 1.2, 20.0), (0.5, 20.0, 0.7, 3.0)])
def test_gradient_matches_finite_differences(cdnow, params):
    # both branches of the 2F1 form: alpha < beta and alpha > beta
    model = ParetoNBD()
    d = model._precompute({c: cdnow[c].to_numpy(float) for c in ["frequency", "recency", "T"]})
    w = np.ones(len(cdnow))
    theta = np.log(params)
    _, g = model._objective(theta, d, w)
    num = [(model._objective(theta + h, d, w, False)[0]
            - model._objective(theta - h, d, w, False)[0]) / 2e-6 for h in np.eye(4) * 1e-6]
    assert g == pytest.approx(num, rel=1e-5, abs=1e-7)


def test_hypergeometric_near_one_agrees_with_scipy():
    # the connection formula (A&S 15.3.6) used near z = 1 for small x gives SciPy's hyp2f1
    from scipy.special import hyp2f1

    from clvkit.models.pareto_nbd import _hyp2f1_one

    worst = 0.0
    for r in np.r_[np.linspace(0.05, 6, 60), 0.999, 1.02]:
        for s in (1e-7, 1e-3, 0.1, 2.0, 10.0):
            x = np.repeat(np.arange(0.0, 11.0), 7)
            z = np.tile([0.5, 0.9, 0.99, 0.999, 1 - 1e-4, 1 - 1e-6, 1 - 1e-8], 11)
            fast = _hyp2f1_one(s + 1.0, r + s + x + 1.0, z, x)
            exact = hyp2f1(1.0, s + 1.0, r + s + x + 1.0, z)
            worst = max(worst, float(np.max(np.abs(fast / exact - 1))))
    assert worst < 5e-10


# ---------------------------------------------------------------------------------------------
# CLVTools 0.12.1 on CDNOW (tests/testthat/test_correctness_pnbd_nocovstaticcov.R)


@pytest.fixture(scope="module")
def clvtools_cdnow():
    """CLVTools' CDNOW data prepared as its tests do: clvdata(cdnow, time.unit = "w",
    estimation.split = "1997-09-30"); same-day purchases one transaction, T = days / 7.
    (CLVTools' own cdnow.rda rows give exactly this summary.)"""
    from clvkit.datasets import load_cdnow
    from clvkit.summary import rfm_summary

    summary = rfm_summary(load_cdnow("sample"), observation_end="1997-09-30", time_unit="W")
    return summary, ParetoNBD().fit(summary)


def test_clvtools_cdnow_pnbd(clvtools_cdnow):
    summary, fit = clvtools_cdnow
    # fct.testthat.correctness.clvfitted.correct.coefs ("As also reported ... in Fader,
    # Hardie, Lee (2005)"): r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0
    for name, printed in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert abs(getattr(fit.params, name) - printed) <= 1e-3, name
    assert round(fit.log_likelihood, 1) == -9595.0
    # correct.LL.nocov = -9594.976 ("Correct coefs are our estimates"): to the printed digits
    assert round(fit.log_likelihood, 3) == -9594.976
    # Its 5-decimal "our estimates" r 0.55315, alpha 10.57633, s 0.60625, beta 11.67150 are
    # NOT reproduced to the printed digits (ours 0.55328, 10.57768, 0.60624, 11.66874; s
    # only): the likelihood is flat along beta and CLVTools' own test compares them with
    # tolerance 0.001 (relative). Ours is the higher maximum:
    at_printed = ParetoNBD().log_likelihood(summary, params=(0.55315, 10.57633, 0.60625,
                                                             11.67150))
    assert fit.log_likelihood > at_printed
    ours = dataclasses.astuple(fit.params)
    np.testing.assert_allclose(ours, [0.55315, 10.57633, 0.60625, 11.67150], rtol=1e-3)
    # params.nocov.se: r 0.0476264, alpha 0.8427222, s 0.1872594, beta 6.2105448 (CLVTools'
    # tolerance 0.001 relative; ours 0.0476282, 0.8427235, 0.1872904, 6.2114015 at our own
    # estimate, from the observed information)
    se = fit.summary()["std_error"]
    np.testing.assert_allclose(se.to_numpy(), [0.0476264, 0.8427222, 0.1872594, 6.2105448],
                               rtol=1e-3)
