"""Tests of clvkit.models.subscriptions: recognising subscriptions, the pooled sBG fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clvkit.models.subscriptions import (
    expected_payments,
    fit_retention,
    subscription_evidence,
    subscription_summary,
)


def test_pooled_fit_reproduces_fader_hardie_2007_regular_cohort():
    # FH (2007), "regular" cohort, survivors of 1000 in years 0-7: alpha 0.704, beta 1.182
    # (as the one-cohort fit in clvkit.models.sbg reproduces). One row per customer: paid k
    # years and left, or still paying after 8 years.
    survivors = np.array([1000, 631, 468, 382, 326, 289, 262, 241])
    left = -np.diff(survivors)
    k = np.r_[np.repeat(np.arange(1, 8), left), np.full(survivors[-1], 8)]
    active = np.r_[np.zeros(left.sum(), bool), np.ones(survivors[-1], bool)]
    fit = fit_retention(pd.DataFrame({"months_paid": k, "active": active}))
    assert round(fit.params.alpha, 3) == 0.704 and round(fit.params.beta, 3) == 1.182


def test_expected_payments_is_the_sum_of_conditional_survival():
    from clvkit.models import ShiftedBetaGeometricFit

    fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
    s = fit.survival(np.arange(1, 8))
    # paid 3 periods and still paying: sum_j S(2 + j) / S(2), j = 1..4
    want = s[2:6].sum() / s[1]
    assert expected_payments(fit, np.array([3]), horizon=4)[0] == pytest.approx(want)
    d = expected_payments(fit, np.array([3]), horizon=4, discount_rate=0.1)[0]
    assert d == pytest.approx((s[2:6] / s[1] / 1.1 ** np.arange(1, 5)).sum())


def test_evidence_tells_monthly_charges_from_shopping():
    days = pd.date_range("2024-01-03", periods=5, freq="MS") + pd.Timedelta(days=2)
    subs = pd.DataFrame({"customer_id": np.repeat([f"s{i}" for i in range(20)], 5),
                         "date": np.tile(days, 20), "amount": 10.0})
    assert subscription_evidence(subs).is_subscription
    rng = np.random.default_rng(0)
    shop = pd.DataFrame({"customer_id": np.repeat([f"c{i}" for i in range(20)], 5),
                         "date": pd.Timestamp("2024-01-01")
                         + pd.to_timedelta(rng.integers(0, 150, 100), unit="D"),
                         "amount": 10.0})
    ev = subscription_evidence(shop)
    assert not ev.is_subscription and ev.n_customers == 20 and ev.share < 0.6


def test_summary_counts_months_and_marks_the_paying():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "b"],
                       "date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-01-20",
                                               "2024-02-20", "2024-03-20"]),
                       "amount": [5.0, 5.0, 9.0, 9.0, 11.0]})
    s = subscription_summary(tx, last_month="2024-03")
    assert s["months_paid"].tolist() == [2, 3] and s["active"].tolist() == [False, True]
    assert s.loc["b", "charge"] == 9.0


def test_payment_moments_match_a_simulation():
    # a subscriber who paid k = 3 months: theta | survived 2 renewals ~ Beta(a, b + 2); each
    # month they renew with probability 1 - theta; W = sum of (1 + d)^-j over months paid
    from clvkit.models import ShiftedBetaGeometricFit
    from clvkit.models.subscriptions import payment_moments

    a, b, h, rate = 0.9, 2.5, 12, 0.01
    fit = ShiftedBetaGeometricFit.from_params(alpha=a, beta=b, time_unit="M")
    w1, w2 = payment_moments(fit, np.array([3]), horizon=h, discount_rate=rate)
    rng = np.random.default_rng(4)
    theta = rng.beta(a, b + 2, 400_000)
    months = np.minimum(rng.geometric(theta) - 1, h)  # renewals before cancelling
    disc = np.r_[0.0, np.cumsum((1 + rate) ** -np.arange(1, h + 1))]
    w = disc[months]
    assert w1[0] == pytest.approx(w.mean(), rel=0.01)
    assert w2[0] == pytest.approx((w**2).mean(), rel=0.01)
