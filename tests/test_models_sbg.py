"""sBG contractual retention: Fader & Hardie (2007) published values; DEL/DERL identities."""

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import DataValidationError
from clvkit.models import (
    ShiftedBetaGeometric,
    ShiftedBetaGeometricFit,
    ShiftedBetaGeometricParams,
)

# Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1),
# Table 1: survivors per 1000 of the two cohorts, years 0-7 (calibration) and 8-12 (holdout).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR_8_12 = [223, 207, 194, 183, 173]
HIGH_END_8_12 = [468, 445, 427, 409, 394]


@pytest.mark.parametrize("survivors, alpha, beta", [
    (REGULAR, 0.704, 1.182),   # FH (2007), regular: alpha = 0.704, beta = 1.182
    (HIGH_END, 0.668, 3.806),  # FH (2007), high end: alpha = 0.668, beta = 3.806
])
def test_published_parameters(survivors, alpha, beta):
    fit = ShiftedBetaGeometric().fit(survivors, time_unit="Y")
    # printed to 3 decimals: must round to the printed value
    assert fit.params.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.params.beta == pytest.approx(beta, abs=5e-4)
    assert fit.n_customers == 1000 and fit.time_unit == "Y" and fit.success


@pytest.mark.parametrize("survivors, observed", [(REGULAR, REGULAR_8_12),
                                                 (HIGH_END, HIGH_END_8_12)])
def test_projection_close_to_observed_years_8_to_12(survivors, observed):
    # The sBG projection at the published parameters is regular 220, 204, 191, 180, 170 and
    # high end 460, 436, 414, 395, 378. The issue lists 223, 207, 194, ... as "projected";
    # in FH (2007) those are the OBSERVED survivors of years 8-12, which the model tracks
    # within ~1.5 % (regular) and ~4 % (high end) -- the paper's point. We test that, and
    # record separately (xfail below) that "within 1 customer" does not hold.
    fit = ShiftedBetaGeometric().fit(survivors, time_unit="Y")
    projected = 1000 * fit.survival(np.arange(8, 13))
    np.testing.assert_allclose(projected, observed, rtol=0.045)
    assert np.all(projected < observed)  # both cohorts are slightly under-projected


@pytest.mark.xfail(strict=True, reason="issue 4 lists FH (2007)'s observed years 8-12 as "
                   "projections; the sBG projection differs by 3-16 customers (see report)")
def test_projection_within_one_customer_of_issue_values():
    fit = ShiftedBetaGeometric().fit(REGULAR, time_unit="Y")
    np.testing.assert_allclose(1000 * fit.survival(np.arange(8, 13)), REGULAR_8_12, atol=1)


def test_survival_recursion_and_retention():
    fit = ShiftedBetaGeometricFit(ShiftedBetaGeometricParams(0.704, 1.182), 0.0, 1000, "Y",
                                  True, 0, "")
    t = np.arange(1, 30)
    s = fit.survival(np.r_[0, t])
    np.testing.assert_allclose(s[1:] / s[:-1], fit.retention_rate(t), rtol=1e-12)
    np.testing.assert_allclose(s[:-1] - s[1:], fit.churn_probability(t), rtol=1e-10)
    assert np.all(np.diff(fit.retention_rate(t)) > 0)  # retention rises (sorting effect)


def test_del_and_derl_equal_discounted_sums():
    fit = ShiftedBetaGeometricFit(ShiftedBetaGeometricParams(0.704, 1.182), 0.0, 1000, "Y",
                                  True, 0, "")
    d = 0.1
    t = np.arange(0, 3000)
    s = fit.survival(t)
    assert fit.discounted_expected_lifetime(discount_rate=d) == pytest.approx(
        np.sum(s / (1 + d) ** t), rel=1e-10)
    for n_minus_1 in (0, 4):  # next payment undiscounted, k-th later one by (1 + d)^k
        n = n_minus_1 + 1
        k = np.arange(0, 3000)
        brute = np.sum(fit.survival(n + k) / fit.survival(n - 1) / (1 + d) ** k)
        assert fit.derl(discount_rate=d, renewals=n_minus_1) == pytest.approx(brute, rel=1e-10)


@pytest.mark.parametrize("bad, match", [
    ([1000, 1100, 900], "increases"),
    ([1000, 500.5], "whole number"),
    ([1000], "at least one"),
    ([1000, np.nan], "NaN"),
])
def test_bad_survivors(bad, match):
    with pytest.raises(DataValidationError, match=match):
        ShiftedBetaGeometric().fit(bad, time_unit="Y")


# ---------------------------------------------------------------------------------------------
# time-invariant covariates (FH note 019, section 3, applied to the sBG's beta mixing)


@pytest.fixture(scope="module")
def two_plans():
    customers = pd.concat([ShiftedBetaGeometric.customers_from_survivors(REGULAR),
                           ShiftedBetaGeometric.customers_from_survivors(HIGH_END)],
                          ignore_index=True).rename_axis("customer_id")
    plan = pd.DataFrame({"plan": ["regular"] * 1000 + ["high end"] * 1000},
                        index=customers.index)
    fit = ShiftedBetaGeometric().fit(customers, covariates=plan, life=["plan"],
                                     reference={"plan": "regular"}, time_unit="Y")
    return customers, plan, fit


def test_plan_covariate_reproduces_each_cohorts_published_fit(two_plans):
    # A plan dummy on alpha and beta gives each cohort its own (alpha, beta): the fit must
    # reproduce Fader & Hardie (2007), "How to Project Customer Retention", JIM 21(1), the
    # estimates printed in the text: regular alpha = 0.704, beta = 1.182; high end
    # alpha = 0.668, beta = 3.806 (3 decimals); its LL is the sum of the two cohorts' own.
    _, plan, fit = two_plans
    own = fit.customer_params(plan.iloc[[0, 1000]])
    np.testing.assert_allclose(own.to_numpy().round(3), [[0.704, 1.182], [0.668, 3.806]])
    separate = [ShiftedBetaGeometric().fit(s, time_unit="Y") for s in (REGULAR, HIGH_END)]
    assert fit.log_likelihood == pytest.approx(sum(f.log_likelihood for f in separate),
                                               rel=1e-9)
    for f, row in zip(separate, own.to_numpy(), strict=True):
        np.testing.assert_allclose(row, [f.params.alpha, f.params.beta], rtol=1e-5)
    assert fit.coefficient_names == ("alpha.plan[high end]", "beta.plan[high end]")
    table = fit.summary()
    assert list(table.columns) == ["estimate", "std_error", "lower", "upper", "z", "p_value"]
    # the high-end plan's beta is 3.2x the regular one's: far from 0 on the log scale
    assert table.loc["beta.plan[high end]", "lower"] > 0.5
    assert table.loc["beta.plan[high end]", "p_value"] < 1e-4


def test_all_zero_covariates_reduce_exactly_to_the_base_sbg():
    base = ShiftedBetaGeometric().fit(REGULAR, time_unit="Y")
    customers = ShiftedBetaGeometric.customers_from_survivors(REGULAR)
    zero = pd.DataFrame({"z": 0.0}, index=customers.index)
    with pytest.warns(UserWarning, match="NOT positive definite"):
        fit = ShiftedBetaGeometric().fit(customers, covariates=zero, life=["z"],
                                         time_unit="Y", strict=False)
    assert fit.coefficients == (0.0, 0.0)  # the gradient along the coefficients is exactly 0
    assert fit.params.alpha == pytest.approx(base.params.alpha, rel=1e-7)
    assert fit.params.beta == pytest.approx(base.params.beta, rel=1e-7)
    assert fit.log_likelihood == pytest.approx(base.log_likelihood, rel=1e-12)


def _simulate_sbg(n, gamma_alpha, gamma_beta, seed, horizon=8):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    theta = rng.beta(0.8 * np.exp(gamma_alpha * z), 2.0 * np.exp(gamma_beta * z))
    life = rng.geometric(theta)  # the renewal opportunity at which each customer leaves
    churned = life <= horizon
    frame = pd.DataFrame({"periods": np.minimum(life, horizon), "churned": churned})
    return frame.rename_axis("customer_id"), pd.DataFrame({"z": z}, index=frame.index)


@pytest.fixture(scope="module")
def simulated_sbg():
    customers, cov = _simulate_sbg(3000, 0.4, -0.3, seed=7)
    return customers, cov, ShiftedBetaGeometric().fit(customers, covariates=cov, life=["z"],
                                                      time_unit="M")


def test_sbg_recovers_known_coefficients_within_their_intervals(simulated_sbg):
    table = simulated_sbg[2].summary()
    for name, true in (("alpha.z", 0.4), ("beta.z", -0.3)):
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], table
    for name, true in (("alpha", 0.8), ("beta", 2.0)):
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], table


def test_sbg_covariate_likelihood_equals_numerical_integration(simulated_sbg, integrated_loglik):
    # Independent of the beta functions: integrate theta (1 - theta)^(t - 1) (churned at t)
    # or (1 - theta)^t (still active after t) over each customer's Beta(alpha_i, beta_i).
    from scipy import stats

    customers, cov, fit = simulated_sbg
    own = fit.customer_params(cov)
    rows = [0, 1, 2, 3, 5, 8, 13, 21]
    direct = integrated_loglik(
        own, customers, rows, lambda th, a, b, t, churned: stats.beta.pdf(th, a, b)
        * (th * (1 - th) ** (t - 1) if churned else (1 - th) ** t), 0, 1)
    one = ShiftedBetaGeometric()
    frame = one._prepare_customers(customers.iloc[rows], {}, None, "M")[0]
    ll, _ = one._loglik((own.iloc[rows]["alpha"].to_numpy(), own.iloc[rows]["beta"].to_numpy()),
                        {c: frame[c].to_numpy() for c in frame.columns}, False)
    np.testing.assert_allclose(ll, direct, rtol=1e-8)


def test_sbg_covariate_predictions_equal_each_customers_own_sbg(simulated_sbg):
    customers, cov, fit = simulated_sbg
    some = cov.iloc[:4]
    surv = fit.survival(some, t=[0, 1, 5])
    dl = fit.discounted_expected_lifetime(some, discount_rate=0.01)
    derl = fit.derl(customers.iloc[:4], discount_rate=0.01)
    for i, cid in enumerate(some.index):
        own = fit.customer_model(some.iloc[[i]])
        np.testing.assert_allclose(surv.loc[cid], own.survival([0, 1, 5]), rtol=1e-12)
        assert dl.loc[cid] == pytest.approx(own.discounted_expected_lifetime(discount_rate=0.01),
                                            rel=1e-12)
        t, churned = customers.loc[cid]
        expected = 0.0 if churned else own.derl(discount_rate=0.01, renewals=t)
        assert derl.loc[cid] == pytest.approx(expected, rel=1e-12)
    assert (derl[customers.iloc[:4]["churned"]] == 0).all()


def test_sbg_covariates_refuse_bad_customer_rows(simulated_sbg):
    from clvkit.errors import ClvError

    customers, cov, _ = simulated_sbg
    bad = customers.astype({"churned": object})
    bad.loc[3, "churned"] = "maybe"
    with pytest.raises(DataValidationError, match=r"`churned` is not True/False.*\b3\b"):
        ShiftedBetaGeometric().fit(bad, covariates=cov, life=["z"], time_unit="M")
    bad = customers.copy()
    bad.loc[5, "periods"] = 0
    bad.loc[5, "churned"] = True
    with pytest.raises(DataValidationError, match=r"churned` at period 0.*\b5\b"):
        ShiftedBetaGeometric().fit(bad, covariates=cov, life=["z"], time_unit="M")
    with pytest.raises(DataValidationError, match="one row per customer"):
        ShiftedBetaGeometric().fit(REGULAR, covariates=cov, life=["z"], time_unit="M")
    with pytest.raises(ClvError, match="need `covariates=`"):
        ShiftedBetaGeometric().fit(REGULAR, life=["z"], time_unit="M")
    with pytest.raises(DataValidationError, match="`survivors` increases"):
        ShiftedBetaGeometric.customers_from_survivors([10, 12, 5])
    before = customers.copy()
    ShiftedBetaGeometric().fit(customers.iloc[:500], covariates=cov, life=["z"],
                               time_unit="M", strict=False)
    pd.testing.assert_frame_equal(customers, before)


def test_sbg_constrained_coefficient_is_shared_by_alpha_and_beta(simulated_sbg):
    customers, cov, free = simulated_sbg
    fit = ShiftedBetaGeometric().fit(customers, covariates=cov, life=["z"], constrain=["z"],
                                     time_unit="M")
    assert fit.coefficient_names == ("constr.z",)
    own = fit.customer_params(cov.iloc[:5])
    np.testing.assert_allclose(own["alpha"] / own["beta"], fit.params.alpha / fit.params.beta)
    assert fit.log_likelihood < free.log_likelihood  # the restricted model fits worse
