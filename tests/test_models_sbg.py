"""sBG contractual retention: Fader & Hardie (2007) published values; DEL/DERL identities."""

import numpy as np
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
