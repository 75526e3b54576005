"""Gamma-Gamma spend model: published CDNOW values and agreement with lifetimes 0.11.3."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.errors import DataValidationError
from clvkit.models import GammaGamma


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary(with_spend=True)  # x, t_x, T and zbar of the published summary


@pytest.fixture(scope="module")
def fit(cdnow):
    return GammaGamma().fit(cdnow)


def test_published_parameters(fit):
    # Fader & Hardie (2013) note 025 "The Gamma-Gamma Model of Monetary Value", CDNOW:
    # p = 6.25, q = 3.74, gamma = 15.44 (printed to 2 decimals). p and q round to the
    # printed values; our gamma = 15.4477 (lifetimes: 15.4477 too) rounds to 15.45, so it is
    # matched within one unit of the last printed digit (the note appears to truncate).
    assert fit.params.p == pytest.approx(6.25, abs=0.005)
    assert fit.params.q == pytest.approx(3.74, abs=0.005)
    assert fit.params.gamma == pytest.approx(15.44, abs=0.01)
    assert fit.n_customers == 946  # customers with x > 0
    assert fit.success


def test_conditional_spend_is_shrunk_mean(fit, cdnow):
    e = fit.conditional_expected_spend(cdnow)
    assert e.index.equals(cdnow.index)
    repeat = cdnow["frequency"] > 0
    # each estimate lies between the customer's own mean and the population mean
    lo = np.minimum(cdnow.loc[repeat, "monetary_value"], fit.mean_spend)
    hi = np.maximum(cdnow.loc[repeat, "monetary_value"], fit.mean_spend)
    assert ((e[repeat] >= lo - 1e-9) & (e[repeat] <= hi + 1e-9)).all()
    assert e[~repeat].to_numpy() == pytest.approx(fit.mean_spend)


def test_agrees_with_lifetimes(cdnow, fit):
    lifetimes = pytest.importorskip("lifetimes")
    rep = cdnow[cdnow["frequency"] > 0]
    ggf = lifetimes.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    theirs = ggf.params_[["p", "q", "v"]].to_numpy()
    assert dataclasses.astuple(fit.params) == pytest.approx(theirs, rel=1e-4)
    their_ll = GammaGamma().log_likelihood(rep, params=theirs)
    assert fit.log_likelihood == pytest.approx(their_ll, rel=1e-4)
    np.testing.assert_allclose(
        fit.conditional_expected_spend(rep).to_numpy(),
        ggf.conditional_expected_average_profit(rep["frequency"], rep["monetary_value"]),
        rtol=1e-4)


def test_bad_spend_is_rejected(cdnow):
    bad = cdnow.copy()
    bad.loc[bad.index[bad["frequency"] > 0][:2], "monetary_value"] = -1.0
    with pytest.raises(DataValidationError, match="monetary_value"):
        GammaGamma().fit(bad)


def test_analytic_gradient(cdnow):
    model = GammaGamma()
    rep = cdnow[cdnow["frequency"] > 0]
    d = {c: rep[c].to_numpy(float) for c in ["frequency", "monetary_value"]}
    w = np.ones(len(rep))
    theta = np.log([3.0, 2.5, 20.0])
    _, g = model._objective(theta, d, w)
    num = [(model._objective(theta + h, d, w, False)[0]
            - model._objective(theta - h, d, w, False)[0]) / 2e-6 for h in np.eye(3) * 1e-6]
    assert g == pytest.approx(num, rel=1e-5, abs=1e-8)


# ---------------------------------------------------------------------------------------------
# time-invariant covariates on the scale: gamma_i = gamma0 exp(delta . z_i)


def test_all_zero_covariates_reduce_exactly_to_the_base_gamma_gamma(cdnow, fit):
    zero = pd.DataFrame({"z": 0.0}, index=cdnow.index)
    with pytest.warns(UserWarning, match="NOT positive definite"):
        cov_fit = GammaGamma().fit(cdnow, covariates=zero, spend=["z"], strict=False)
    assert cov_fit.coefficients == (0.0,)
    for name, value in dataclasses.asdict(fit.params).items():
        assert getattr(cov_fit.params, name) == pytest.approx(value, rel=1e-7)
    assert cov_fit.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-12)
    assert cov_fit.n_customers == fit.n_customers == 946  # repeat buyers only


def _simulate_spend(n, delta, seed):
    """Customers with x >= 1 transactions and mean spend m_x under Gamma-Gamma with covariate z."""
    rng = np.random.default_rng(seed)
    p, q, gamma0 = 6.0, 4.0, 15.0
    z = rng.integers(0, 2, n).astype(float)
    w = rng.normal(size=n)
    nu = rng.gamma(q, 1 / (gamma0 * np.exp(delta[0] * z + delta[1] * w)))
    x = rng.integers(1, 8, n).astype(float)
    m = rng.gamma(p * x, 1 / (nu * x))  # mean of x Gamma(p, nu) spends
    frame = pd.DataFrame({"frequency": x, "monetary_value": m}).rename_axis("customer_id")
    return frame, pd.DataFrame({"web": np.where(z > 0, "web", "store"), "w": w},
                               index=frame.index)


@pytest.fixture(scope="module")
def simulated_spend():
    frame, cov = _simulate_spend(3000, (0.3, -0.2), seed=11)
    return frame, cov, GammaGamma().fit(frame, covariates=cov, spend=["web", "w"],
                                        reference={"web": "store"})


def test_gamma_gamma_recovers_known_coefficients_within_their_intervals(simulated_spend):
    table = simulated_spend[2].summary()
    assert list(table.index) == ["p", "q", "gamma", "spend.web[web]", "spend.w"]
    for name, true in (("spend.web[web]", 0.3), ("spend.w", -0.2), ("p", 6.0), ("q", 4.0),
                       ("gamma", 15.0)):
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], table


def test_gamma_gamma_covariate_likelihood_equals_numerical_integration(simulated_spend,
                                                                       integrated_loglik):
    # f(m_x | x, nu) is Gamma(p x, rate nu x); integrate over nu ~ Gamma(q, rate gamma_i).
    from scipy import stats

    frame, cov, fit = simulated_spend
    own = fit.customer_params(cov)
    rows = [0, 1, 2, 3, 5, 8, 13, 21]
    direct = integrated_loglik(
        own, frame, rows, lambda nu, p, q, g, x, m: stats.gamma.pdf(m, p * x, scale=1 / (nu * x))
        * stats.gamma.pdf(nu, q, scale=1 / g), 0, np.inf)
    d = {c: frame.iloc[rows][c].to_numpy() for c in frame.columns}
    ll, _ = GammaGamma()._loglik(tuple(own.iloc[rows][c].to_numpy() for c in own.columns), d,
                                 False)
    np.testing.assert_allclose(ll, direct, rtol=1e-8)


def test_gamma_gamma_covariate_predictions_use_each_customers_gamma(simulated_spend):
    frame, cov, fit = simulated_spend
    spend = fit.conditional_expected_spend(frame.iloc[:5])  # the fitted customers' own
    for cid in frame.index[:5]:
        own = fit.customer_model(cov.loc[[cid]])
        assert spend.loc[cid] == pytest.approx(
            own.conditional_expected_spend(frame.loc[[cid]]).iloc[0], rel=1e-12)
    new = pd.DataFrame({"web": ["store", "web"], "w": [0.0, 0.0]})
    means = fit.mean_spend(new)
    # exp(delta) is the factor on the expected spend per transaction
    assert means.iloc[1] / means.iloc[0] == pytest.approx(np.exp(fit.coefficients[0]), rel=1e-12)
    with pytest.raises(DataValidationError, match="level not seen"):
        fit.mean_spend(pd.DataFrame({"web": ["phone"], "w": [0.0]}))


def test_gamma_gamma_covariates_predict_for_customers_without_repeat_purchases(cdnow):
    # the likelihood uses repeat buyers only; predictions cover every customer given
    early = pd.DataFrame({"early": (cdnow.index.astype(int) <= 1000).astype(int)},
                         index=cdnow.index)
    fit = GammaGamma().fit(cdnow, covariates=early, spend=["early"])
    spend = fit.conditional_expected_spend(cdnow)
    assert len(spend) == len(cdnow) > fit.n_customers
    zero = cdnow["frequency"].to_numpy() == 0
    means = fit.mean_spend(early)
    np.testing.assert_allclose(spend[zero], means[zero], rtol=1e-12)  # x = 0: population mean


def test_new_customer_clv_takes_the_spend_model_of_given_covariates(cdnow):
    from clvkit.clv import new_customer_clv
    from clvkit.errors import ClvError
    from clvkit.models import ParetoNBDFit

    early = pd.DataFrame({"early": (cdnow.index.astype(int) <= 1000).astype(int)},
                         index=cdnow.index)
    fit = GammaGamma().fit(cdnow, covariates=early, spend=["early"])
    pnbd = ParetoNBDFit.from_params(r=0.55, alpha=10.58, s=0.61, beta=11.67, time_unit="W")
    options = {"horizon": 1, "horizon_unit": "Y", "discount_rate": 0.01,
               "discount_period": "M"}
    with pytest.raises(ClvError, match="spend model has covariates"):
        new_customer_clv(pnbd, fit, **options)
    late = new_customer_clv(pnbd, fit.customer_model({"early": 0}), **options)
    assert late["mean_spend"] == pytest.approx(
        fit.mean_spend(pd.DataFrame({"early": [0]})).iloc[0], rel=1e-12)
