"""Pareto/NBD with time-varying covariates (clvkit.models.pareto_nbd_dynamic).

No published estimates exist for this data version (CLVTools' vignettes print none for the
600-customer apparel data), so the likelihood is validated against an independent
computation: with covariates constant in time the model is the static-covariate Pareto/NBD,
whose likelihood is the closed form with 2F1 (note 009, eq. (18)); the dynamic code instead
integrates the dropout time numerically period by period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import load_clvtools_apparel
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import ParetoNBD
from clvkit.models.pareto_nbd_dynamic import ParetoNBDDynamic, _loglik, dynamic_data

GC = ["Gender", "Channel"]


@pytest.fixture(scope="module")
def apparel():
    data = load_clvtools_apparel()
    return data["transactions"].transactions, data["summary"], data["static"], data["dynamic"]


@pytest.fixture(scope="module")
def static_fit(apparel):
    _, summary, static, _ = apparel
    return ParetoNBD().fit(summary, covariates=static, trans=GC, life=GC)


@pytest.fixture(scope="module")
def grid(apparel):
    tx, _, _, dyn = apparel
    return dynamic_data(tx, dyn, calibration_end="2006-12-31", trans=GC, life=GC)[0]


def test_grid_matches_the_summary(apparel, grid):
    _, summary, _, _ = apparel
    s = summary.loc[grid.index]
    np.testing.assert_array_equal(grid.x, s["frequency"])
    np.testing.assert_allclose(grid.t_x, s["recency"], rtol=1e-12)
    np.testing.assert_allclose(grid.T, s["T"], rtol=1e-12)
    assert grid.bought.sum() == s["frequency"].sum() == 1266


def test_constant_covariates_give_the_static_closed_form(static_fit, grid, apparel):
    _, summary, static, _ = apparel
    theta = static_fit._theta()
    ll, alive, _ = _loglik(theta, grid, False)
    # static model: -5821.062685868866 (closed form with 2F1); dynamic: quadrature
    assert ll.sum() == pytest.approx(static_fit.log_likelihood, rel=1e-13)
    expected = static_fit.p_alive(summary, covariates=static).loc[grid.index]
    np.testing.assert_allclose(alive, expected, rtol=1e-10, atol=1e-13)
    # and at parameters away from the optimum, customer by customer
    other = theta + np.array([0.3, -0.2, 0.4, -0.5, 0.2, -0.3, 0.5, 0.1])
    ll_other = _loglik(other, grid, False)[0]
    problem = static_fit._problem
    by_row = problem.model._loglik_groups(problem.values(other)[0], problem.d, False)[0]
    assert ll_other.sum() == pytest.approx(np.dot(problem.w, by_row), rel=1e-12)


def test_analytic_gradient_matches_differences(grid, static_fit):
    theta = static_fit._theta() + np.array([0.3, -0.2, 0.4, -0.5, 0.2, -0.3, 0.5, 0.1])
    _, _, g = _loglik(theta, grid, True)
    for j in range(theta.size):
        step = np.zeros(theta.size)
        step[j] = 1e-6
        fd = (_loglik(theta + step, grid, False)[0].sum()
              - _loglik(theta - step, grid, False)[0].sum()) / 2e-6
        assert g[:, j].sum() == pytest.approx(fd, rel=1e-6, abs=1e-6), j


@pytest.mark.slow
def test_fit_with_constant_covariates_reproduces_the_static_fit(apparel):
    tx, summary, static, dyn = apparel
    one = ParetoNBD().fit(summary, covariates=static, trans=["Channel"], life=["Channel"])
    fit = ParetoNBDDynamic().fit(tx, covariates=dyn, calibration_end="2006-12-31",
                                 trans=["Channel"], life=["Channel"])
    assert fit.success
    assert fit.log_likelihood == pytest.approx(one.log_likelihood, rel=1e-12)
    np.testing.assert_allclose(fit._theta(), one._theta(), atol=1e-5)
    se = fit.summary()["std_error"]
    np.testing.assert_allclose(se, one.summary()["std_error"], rtol=1e-4)
    # conditional expectation over 52 weeks: the static closed form (note 009, eq. (41))
    cet = fit.conditional_expected_purchases(tx, t=52, covariates=dyn)
    expected = one.conditional_expected_purchases(summary, t=52, covariates=static)
    np.testing.assert_allclose(cet, expected.loc[cet.index], rtol=1e-6)
    alive = fit.p_alive(tx, covariates=dyn)
    np.testing.assert_allclose(alive, one.p_alive(summary, covariates=static)
                               .loc[alive.index], rtol=1e-6)


def test_gaps_in_the_covariate_table_are_refused(apparel):
    tx, _, _, dyn = apparel
    holed = dyn.drop(index=dyn.index[(dyn.customer_id == "7") & (dyn.period == "2005-06-05")])
    with pytest.raises(DataValidationError, match=r"7.*not consecutive periods"):
        dynamic_data(tx, holed, calibration_end="2006-12-31", trans=GC, life=[])


def test_ids_of_another_type_in_the_covariate_table_are_named(apparel):
    tx, _, _, dyn = apparel
    numbered = dyn.assign(customer_id=dyn["customer_id"].astype(int))
    with pytest.raises(DataValidationError, match="customer ids are str in the transactions "
                       "and int64 in the covariate table"):
        dynamic_data(tx, numbered, calibration_end="2006-12-31", trans=GC, life=[])


def test_a_single_column_name_is_one_dynamic_covariate(apparel):
    tx, _, _, dyn = apparel
    with pytest.raises(ClvError, match=r"`trans` names \['Gender'\] more than once"):
        ParetoNBDDynamic().fit(tx, covariates=dyn, calibration_end="2006-12-31",
                               trans=["Gender", "Gender"])
    fit = ParetoNBDDynamic().fit(tx, covariates=dyn, calibration_end="2006-12-31",
                                 trans="High.Season")
    assert fit.coefficient_names == ("trans.High.Season",)


@pytest.fixture(scope="module")
def small_dynamic(apparel):
    """The dynamic fit on 150 customers (Channel on both processes): quick to refit."""
    tx, _, _, dyn = apparel
    keep = sorted(tx["customer_id"].unique())[:150]
    tx, dyn = tx[tx["customer_id"].isin(keep)], dyn[dyn["customer_id"].isin(keep)]
    fit = ParetoNBDDynamic().fit(tx, covariates=dyn, calibration_end="2006-12-31",
                                 trans=["Channel"], life=["Channel"])
    return tx, dyn, fit


def test_dynamic_bootstrap_resamples_customers_with_their_covariate_histories(small_dynamic):
    # a replicate's refit equals a new fit on the resampled customers written out, each
    # copy with its own transactions and covariate periods
    from clvkit.models.uncertainty import _refit

    tx, dyn, fit = small_dynamic
    likelihood = fit._likelihood()
    ids = likelihood.dd.index
    # (seed 3: a resample whose maximum is interior; some of 150 customers run off)
    counts = np.random.default_rng(3).multinomial(len(ids), np.full(len(ids), 1 / len(ids)))
    theta, ok = _refit(likelihood, counts.astype(float), fit._theta(),
                       fit._log_covariance(per_customer=True))
    assert ok
    copies = [(cid, f"{cid}#{k}") for cid, c in zip(ids, counts, strict=True) for k in range(c)]
    new_id = pd.DataFrame(copies, columns=["customer_id", "copy"])
    tx_b = tx.merge(new_id, on="customer_id").drop(columns="customer_id").rename(
        columns={"copy": "customer_id"})
    dyn_b = dyn.merge(new_id, on="customer_id").drop(columns="customer_id").rename(
        columns={"copy": "customer_id"})
    direct = ParetoNBDDynamic().fit(tx_b, covariates=dyn_b, calibration_end="2006-12-31",
                                    trans=["Channel"], life=["Channel"])
    np.testing.assert_allclose(theta, direct._theta(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_dynamic_bootstrap_is_seeded_and_gives_intervals(small_dynamic):
    tx, dyn, fit = small_dynamic
    boot = fit.bootstrap(n=5, seed=4)
    assert boot.converged.all() and boot.replicates.shape == (5, 6)
    table = boot.summary()
    np.testing.assert_allclose(table["estimate"], fit.estimates(), rtol=1e-15)
    assert (table["lower"] <= table["upper"]).all()
    alive = boot.p_alive(tx, covariates=dyn)
    assert (alive.customers["lower"] <= alive.customers["upper"]).all()
    with pytest.raises(ClvError, match=">= 5"):
        fit.bootstrap(n=4, seed=4)
