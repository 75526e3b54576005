"""Intervals on predictions from bootstrap replicates (clvkit.models.intervals).

Each interval is checked against the definition, computed the slow way: the prediction
made with every replicate fit on every customer, then its percentiles (Efron & Tibshirani
1993, ch. 13); totals are the percentiles of the per-replicate sums.
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.clv import customer_lifetime_value
from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError
from clvkit.models import BGNBD, MBGNBD, BetaGeoBetaBinomial, GammaGamma, ParetoNBD
from clvkit.models.intervals import clv_interval, delta_interval

Q = [0.025, 0.975]


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary(with_spend=True)


@pytest.fixture(scope="module")
def boot(cdnow):
    return BGNBD().fit(cdnow).bootstrap(n=40, seed=11)


def _slow(boot, method, data, **kw):
    values = np.vstack([getattr(f, method)(data, **kw).to_numpy() for f in boot.fits()])
    return np.quantile(values, Q, axis=0), np.quantile(values.sum(axis=1), Q)


@pytest.mark.parametrize("method, kw", [("p_alive", {}),
                                        ("conditional_expected_purchases", {"t": 39})])
def test_customer_and_total_intervals_match_the_definition(boot, cdnow, method, kw):
    out = boot.predict(method, cdnow, **kw)
    (lo, hi), (tot_lo, tot_hi) = _slow(boot, method, cdnow, **kw)
    np.testing.assert_allclose(out.customers["lower"], lo, rtol=1e-10)
    np.testing.assert_allclose(out.customers["upper"], hi, rtol=1e-10)
    point = getattr(boot.fit, method)(cdnow, **kw)
    pd.testing.assert_series_equal(out.customers.iloc[:, 0], point)
    assert out.total["estimate"] == pytest.approx(point.sum())
    assert (out.total["lower"], out.total["upper"]) == pytest.approx((tot_lo, tot_hi))
    # the interval of the sum is much narrower than the sum of the intervals
    assert out.total["upper"] - out.total["lower"] < 0.8 * (hi - lo).sum()
    assert out.customers.index.equals(cdnow.index)
    assert (out.customers["lower"] <= out.customers["upper"]).all()


def test_per_customer_horizon_and_subset(boot, cdnow):
    sub = cdnow.iloc[[10, 3, 3, 200]]  # repeated customer, custom order
    t = np.array([5.0, 39.0, 10.0, 52.0])
    out = boot.conditional_expected_purchases(sub, t=t)
    (lo, hi), _ = _slow(boot, "conditional_expected_purchases", sub, t=t)
    np.testing.assert_allclose(out.customers["lower"], lo, rtol=1e-10)
    np.testing.assert_allclose(out.customers["upper"], hi, rtol=1e-10)
    assert out.customers.index.equals(sub.index)


def test_level_and_errors(boot, cdnow):
    wide = boot.p_alive(cdnow, level=0.95).customers
    narrow = boot.p_alive(cdnow, level=0.5).customers
    assert (narrow["lower"] >= wide["lower"]).all() and (narrow["upper"] <= wide["upper"]).all()
    with pytest.raises(ClvError, match="level"):
        boot.p_alive(cdnow, level=1.5)
    with pytest.raises(ClvError, match="no per-customer prediction"):
        boot.predict("not_a_method", cdnow)


def test_other_models(cdnow):
    pareto = ParetoNBD().fit(cdnow).bootstrap(n=8, seed=1)
    out = pareto.conditional_expected_purchases(cdnow.head(50), t=39)
    (lo, hi), _ = _slow(pareto, "conditional_expected_purchases", cdnow.head(50), t=39)
    np.testing.assert_allclose(out.customers["lower"], lo, rtol=1e-10)
    spend = GammaGamma().fit(cdnow).bootstrap(n=8, seed=1)
    out = spend.conditional_expected_spend(cdnow.head(50))
    (lo, hi), _ = _slow(spend, "conditional_expected_spend", cdnow.head(50))
    np.testing.assert_allclose(out.customers["upper"], hi, rtol=1e-10)
    d = pd.read_csv("data/donations.csv").rename(columns={"periods": "n_periods"})
    bgbb = BetaGeoBetaBinomial().fit(d, weights=d["weights"]).bootstrap(n=8, seed=1)
    out = bgbb.conditional_expected_purchases(d, t=5)
    (lo, hi), _ = _slow(bgbb, "conditional_expected_purchases", d, t=5)
    np.testing.assert_allclose(out.customers["lower"], lo, rtol=1e-10)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_clv_interval_matches_the_definition(model, boot, cdnow):
    # clv_interval computes the discounted purchases once per (x, T) and rescales by
    # P(alive | x, t_x, T) / P(alive | x, T, T); the slow way calls customer_lifetime_value
    # with every pair of replicate fits on every customer
    n = 40 if model is BGNBD else 8
    spend = GammaGamma().fit(cdnow).bootstrap(n=n, seed=12)
    opts = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01, "discount_period": "M"}
    sub = cdnow.iloc[:300]
    if model is not BGNBD:
        boot = model().fit(cdnow).bootstrap(n=n, seed=13)
    out = clv_interval(boot, spend, sub, **opts)
    values = np.vstack([customer_lifetime_value(tf, sf, sub, **opts)["clv"].to_numpy()
                        for tf, sf in zip(boot.fits(), spend.fits(), strict=True)])
    lo, hi = np.quantile(values, Q, axis=0)
    np.testing.assert_allclose(out.customers["lower"], lo, rtol=1e-9)
    np.testing.assert_allclose(out.customers["upper"], hi, rtol=1e-9)
    np.testing.assert_allclose([out.total["lower"], out.total["upper"]],
                               np.quantile(values.sum(axis=1), Q), rtol=1e-9)
    point = customer_lifetime_value(boot.fit, spend.fit, sub, **opts)["clv"]
    np.testing.assert_allclose(out.customers["clv"], point)
    assert out.customers.index.equals(sub.index)
    with pytest.raises(ClvError, match="same `n`"):
        clv_interval(boot, GammaGamma().fit(cdnow).bootstrap(n=5, seed=1), sub, **opts)
    with pytest.raises(ClvError, match="Gamma-Gamma"):
        clv_interval(boot, boot, sub, **opts)
    with pytest.raises(ClvError, match="BG/NBD, MBG/NBD or Pareto/NBD"):
        clv_interval(spend, spend, sub, **opts)


def test_delta_method_agrees_with_the_bootstrap(boot, cdnow):
    # both estimate the sampling spread of the prediction: the delta method from the
    # observed information, the bootstrap from 40 replicates (Monte Carlo error ~11%)
    fit = boot.fit
    delta = delta_interval(fit, "conditional_expected_purchases", cdnow, t=39)
    bs = boot.conditional_expected_purchases(cdnow, t=39)
    assert delta.total["estimate"] == pytest.approx(bs.total["estimate"])
    assert delta.total["std_error"] == pytest.approx(bs.total["std_error"], rel=0.35)
    width_d = delta.customers["upper"] - delta.customers["lower"]
    width_b = bs.customers["upper"] - bs.customers["lower"]
    assert np.median(width_d / width_b) == pytest.approx(1.0, rel=0.35)
    c = delta.customers
    assert ((c["lower"] <= c.iloc[:, 0]) & (c.iloc[:, 0] <= c["upper"])).all()
    pa = delta_interval(fit, "p_alive", cdnow).customers
    assert (pa["upper"] <= 1).all() and (pa["lower"] >= 0).all()
    # the total is symmetric on the natural scale: estimate -+ 1.96 std_error
    t = delta.total
    assert t["upper"] - t["estimate"] == pytest.approx(1.959964 * t["std_error"], rel=1e-6)


def test_clv_interval_of_a_fit_with_covariates_is_the_quantile_of_its_replicates():
    # issue 22: CLV with intervals takes each customer's covariates; every replicate pair
    # gives every customer's CLV (customer_lifetime_value with the covariates)
    from clvkit.datasets import load_clvtools_apparel

    apparel = load_clvtools_apparel()
    s, static = apparel["summary"], apparel["static"]
    fit = ParetoNBD().fit(s, covariates=static, trans=["Gender", "Channel"],
                          life=["Gender", "Channel"])
    tx, spend = fit.bootstrap(n=8, seed=1), GammaGamma().fit(s).bootstrap(n=8, seed=2)
    options = dict(horizon=12, horizon_unit="M", discount_rate=0.01, discount_period="M")
    out = clv_interval(tx, spend, s, level=0.9, **options)
    direct = np.array([customer_lifetime_value(t, g, s, **options)["clv"].to_numpy()
                       for t, g in zip(tx.fits(), spend.fits(), strict=True)])
    np.testing.assert_allclose(out.customers["lower"], np.quantile(direct, 0.05, axis=0))
    np.testing.assert_allclose(out.customers["upper"], np.quantile(direct, 0.95, axis=0))
    np.testing.assert_allclose(out.customers["clv"],
                               customer_lifetime_value(fit, spend.fit, s, **options)["clv"])
    # customers who differ only in covariates get different values (the covariates are used)
    assert out.customers["clv"].nunique() > len(s) // 2
    with pytest.raises(ClvError, match="has none"):       # covariates for a model without
        clv_interval(BGNBD().fit(s).bootstrap(n=8, seed=1), spend, s, covariates=static,
                     **options)


def test_delta_method_on_a_fit_with_covariates_agrees_with_its_bootstrap():
    # the gradient runs over every estimate, coefficients included (issue 22: it crashed
    # with a (6,6) vs (4,4) broadcast error); the bootstrap resamples customers with their
    # covariates (60 replicates: Monte Carlo error of a standard deviation ~9%)
    from clvkit.datasets import load_clvtools_apparel

    data = load_clvtools_apparel()
    summary, static = data["summary"], data["static"]
    fit = ParetoNBD().fit(summary, covariates=static, trans=["Gender", "Channel"],
                          life=["Channel"])
    delta = delta_interval(fit, "conditional_expected_purchases", summary, t=52)
    bs = fit.bootstrap(n=60, seed=3).conditional_expected_purchases(summary, t=52)
    assert delta.total["estimate"] == pytest.approx(bs.total["estimate"])
    assert delta.total["std_error"] == pytest.approx(bs.total["std_error"], rel=0.3)
    width_d = delta.customers["upper"] - delta.customers["lower"]
    width_b = bs.customers["upper"] - bs.customers["lower"]
    assert np.median(width_d / width_b) == pytest.approx(1.0, rel=0.3)
    pa = delta_interval(fit, "p_alive", summary).customers
    assert pa["p_alive"].equals(fit.p_alive(summary))
    assert ((pa["lower"] <= pa["p_alive"]) & (pa["p_alive"] <= pa["upper"])).all()
