"""Parameter uncertainty: observed-information standard errors and the customer bootstrap.

Sources: lifetimes 0.11.3 ``summary`` (Hessian standard errors, the delta method
``p_i^2 [H^-1]_ii / N`` on log parameters) for BG/NBD, MBG/NBD, Gamma-Gamma and BG/BB;
Efron & Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 6 (resampling cases)
and ch. 13 (percentile interval).
"""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError
from clvkit.models import (
    BGNBD,
    MBGNBD,
    BetaGeoBetaBinomial,
    BGNBDFit,
    GammaGamma,
    ParetoNBD,
    ShiftedBetaGeometric,
)


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary(with_spend=True)


@pytest.fixture(scope="module")
def donations():
    return pd.read_csv("data/donations.csv").rename(columns={"periods": "n_periods"})


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return BGNBD().fit(cdnow)


REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), regular customers


def _fits(cdnow, donations):
    """(model, data, fit keywords) of every model, fitted on its published data set."""
    return {
        "BG/NBD": (BGNBD(), cdnow, {}),
        "MBG/NBD": (MBGNBD(), cdnow, {}),
        "Pareto/NBD": (ParetoNBD(), cdnow, {}),
        "Gamma-Gamma": (GammaGamma(), cdnow, {}),
        "BG/BB": (BetaGeoBetaBinomial(), donations, {"weights": donations["weights"],
                                                     "time_unit": "Y"}),
        "sBG": (ShiftedBetaGeometric(), REGULAR, {"time_unit": "Y"}),
    }


def test_bgnbd_standard_errors_match_lifetimes_published(bgnbd):
    # lifetimes 0.11.3 BetaGeoFitter().fit(CDNOW summary).summary["se(coef)"]
    # (values recorded in PITFALLS.md): r 0.012557, alpha 0.378221, a 0.185719, b 0.705345.
    # Requirement of issue 14: within 1% relative.
    se = bgnbd.summary()["std_error"]
    expected = {"r": 0.012557, "alpha": 0.378221, "a": 0.185719, "b": 0.705345}
    for name, value in expected.items():
        assert se[name] == pytest.approx(value, rel=0.01), name


@pytest.mark.parametrize("name", ["BG/NBD", "MBG/NBD", "Gamma-Gamma", "BG/BB"])
def test_standard_errors_match_lifetimes_live(name, cdnow, donations):
    # lifetimes computes its Hessian with autograd (exact second derivatives); ours are
    # differences of the analytic gradient: they must agree within 1% relative.
    lifetimes = pytest.importorskip("lifetimes")
    model, data, kw = _fits(cdnow, donations)[name]
    ours = model.fit(data, **kw).summary()["std_error"].to_numpy()
    if name == "Gamma-Gamma":
        rep = data[data["frequency"] > 0]
        theirs = lifetimes.GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    elif name == "BG/BB":
        theirs = lifetimes.BetaGeoBetaBinomFitter().fit(
            data["frequency"], data["recency"], data["n_periods"], weights=data["weights"])
    else:
        cls = {"BG/NBD": lifetimes.BetaGeoFitter,
               "MBG/NBD": lifetimes.ModifiedBetaGeoFitter}[name]
        theirs = cls().fit(data["frequency"], data["recency"], data["T"])
    np.testing.assert_allclose(ours, theirs.summary["se(coef)"].to_numpy(), rtol=0.01)


def _function_hessian(model, data, kw, p):
    """Hessian of the total log-likelihood by second differences of *function values*
    (log-parameter space): independent of the models' analytic gradients."""
    def ll(theta):
        return model.log_likelihood(data, params=np.exp(theta), **kw)
    theta, k, h = np.log(p), p.size, 1e-3
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hess[i, j] = (ll(theta + ei + ej) - ll(theta + ei - ej) - ll(theta - ei + ej)
                          + ll(theta - ei - ej)) / (4 * h * h)
    return hess


@pytest.mark.parametrize("name", ["BG/NBD", "MBG/NBD", "Pareto/NBD", "Gamma-Gamma", "BG/BB",
                                  "sBG"])
def test_covariance_matches_function_value_hessian(name, cdnow, donations):
    model, data, kw = _fits(cdnow, donations)[name]
    fit = model.fit(data, **kw)
    p = np.asarray(dataclasses.astuple(fit.params))
    if name == "sBG":  # log_likelihood takes the survivor counts like fit
        kw = {"time_unit": "Y"}
    cov = fit.covariance()
    assert list(cov.index) == list(cov.columns) == [f.name for f in
                                                   dataclasses.fields(fit.params)]
    np.testing.assert_allclose(cov.to_numpy(), cov.to_numpy().T)
    assert np.all(np.linalg.eigvalsh(cov.to_numpy()) > 0)
    expected = np.linalg.inv(-_function_hessian(model, data, kw, p)) * np.outer(p, p)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), np.sqrt(np.diag(expected)), rtol=0.01)


def test_summary_interval_is_log_symmetric_and_positive(bgnbd):
    s95 = bgnbd.summary()
    s80 = bgnbd.summary(level=0.8)
    assert list(s95.columns) == ["estimate", "std_error", "lower", "upper"]
    assert s95.attrs["level"] == 0.95
    assert (s95["lower"] > 0).all() and (s95["lower"] < s95["estimate"]).all()
    assert (s95["estimate"] < s95["upper"]).all()
    # exp(log p -+ z se): the estimate is the geometric mean of the bounds
    np.testing.assert_allclose(s95["lower"] * s95["upper"], s95["estimate"] ** 2, rtol=1e-12)
    # z = 1.959964: log(upper / estimate) = z * std_error / estimate (delta method)
    np.testing.assert_allclose(np.log(s95["upper"] / s95["estimate"]),
                               1.959964 * s95["std_error"] / s95["estimate"], rtol=1e-6)
    assert ((s80["lower"] > s95["lower"]) & (s80["upper"] < s95["upper"])).all()
    with pytest.raises(ClvError, match="level"):
        bgnbd.summary(level=95)


def test_standard_errors_shrink_with_more_customers(cdnow):
    # the same customers counted four times: information x 4, standard errors / 2
    one = BGNBD().fit(cdnow).summary()["std_error"]
    four = BGNBD().fit(cdnow, weights=np.full(len(cdnow), 4.0)).summary()["std_error"]
    np.testing.assert_allclose(four, one / 2, rtol=1e-4)


def test_not_fitted_result_has_no_uncertainty():
    fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    with pytest.raises(ClvError, match="from_params"):
        fit.summary()
    with pytest.raises(ClvError, match="from_params"):
        fit.bootstrap(n=5, seed=1)


def test_fitted_result_equality_and_repr_ignore_the_data(bgnbd, cdnow):
    again = BGNBD().fit(cdnow)
    assert again == bgnbd
    assert "_fit_data" not in repr(bgnbd)


# -- bootstrap ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boot(bgnbd):
    return bgnbd.bootstrap(n=200, seed=7)


def test_bootstrap_is_seeded_and_reproducible(bgnbd, boot):
    again = bgnbd.bootstrap(n=50, seed=7)  # the first 50 of the same seed's children
    pd.testing.assert_frame_equal(again.replicates, boot.replicates.iloc[:50])
    parallel = bgnbd.bootstrap(n=20, seed=7, n_jobs=2)  # same replicates, split over 2 workers
    pd.testing.assert_frame_equal(parallel.replicates, boot.replicates.iloc[:20])
    other = bgnbd.bootstrap(n=20, seed=8)
    assert not np.allclose(other.replicates, boot.replicates.iloc[:20])
    assert boot.replicates.shape == (200, 4) and boot.converged.all()
    assert list(boot.replicates.columns) == ["r", "alpha", "a", "b"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        boot.seed = 1


def test_each_replicate_is_the_mle_of_a_multinomial_resample(bgnbd, boot):
    # Replicate i reweights the compressed rows by Multinomial(N, counts / N) drawn from the
    # i-th child of SeedSequence(seed) (Efron & Tibshirani 1993, ch. 6: resampling
    # customers); refitting those weights from scratch must give the same parameters.
    cols, w = bgnbd._fit_data.columns, bgnbd._fit_data.weights
    for i in (0, 123):
        child = np.random.SeedSequence(7).spawn(200)[i]
        wb = np.random.default_rng(child).multinomial(int(w.sum()), w / w.sum())
        assert wb.sum() == 2357
        refit = BGNBD().fit(frequency=cols["frequency"], recency=cols["recency"],
                            T=cols["T"], weights=wb, time_unit="W")
        np.testing.assert_allclose(boot.replicates.iloc[i], dataclasses.astuple(refit.params),
                                   rtol=1e-6)


def test_bootstrap_summary(bgnbd, boot):
    s = boot.summary()
    assert list(s.index) == ["r", "alpha", "a", "b"]
    assert (s["lower"] < s["estimate"]).all() and (s["estimate"] < s["upper"]).all()
    np.testing.assert_allclose(s["std_error"], boot.replicates.std(), rtol=1e-12)
    # the bootstrap and the observed information estimate the same sampling spread: on CDNOW
    # (2,357 customers, 200 replicates, Monte Carlo error ~5%) they agree within 25%
    np.testing.assert_allclose(s["std_error"], bgnbd.summary()["std_error"], rtol=0.25)
    fits = boot.fits()
    assert len(fits) == 200 and fits[3].params.alpha == boot.replicates["alpha"].iloc[3]


@pytest.mark.parametrize("name", ["Pareto/NBD", "Gamma-Gamma", "BG/BB", "sBG"])
def test_bootstrap_every_model(name, cdnow, donations):
    model, data, kw = _fits(cdnow, donations)[name]
    fit = model.fit(data, **kw)
    boot = fit.bootstrap(n=10, seed=3)
    assert boot.converged.all() and boot.replicates.notna().all().all()
    assert (boot.replicates > 0).all().all()
    # replicates scatter around the estimate by about a standard error
    spread = (boot.replicates - fit.params_series().to_numpy()).abs().median()
    se = fit.summary()["std_error"]
    assert (spread < 3 * se).all() and (spread > 0.05 * se).all()


def test_bootstrap_needs_counts(cdnow):
    fit = BGNBD().fit(cdnow, weights=np.full(len(cdnow), 0.5))
    with pytest.raises(ClvError, match="counts"):
        fit.bootstrap(n=10, seed=1)


def test_lbfgs_fallback_gives_the_same_replicates(bgnbd, boot, monkeypatch):
    # with no Newton step allowed every replicate goes through the L-BFGS-B fallback
    import clvkit.models.uncertainty as unc

    monkeypatch.setattr(unc, "_MAX_NEWTON", 0)
    slow = bgnbd.bootstrap(n=10, seed=7)
    assert slow.converged.all()
    np.testing.assert_allclose(slow.replicates, boot.replicates.iloc[:10], rtol=1e-5)
