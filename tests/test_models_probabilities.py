"""P(X(t) = x) for BG/NBD, MBG/NBD and Pareto/NBD (clvkit.models.probabilities).

Sources: Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. (8) (unconditional pmf),
checked against lifetimes 0.11.3 ``probability_of_n_purchases_up_to_time``; the conditional
pmf must sum to 1 and its mean must equal E[Y(t) | x, t_x, T] (FHL 2005 eq. (10); for the
MBG/NBD the Wagner & Hoppe 2008 expectation), and the unconditional mean E[X(t)] (eq. (9)).
Pareto/NBD: Fader & Hardie note 012 (unconditional) and note 028 (conditional); lifetimes
has no Pareto/NBD pmf, so it is checked by its sum (1), its mean (note 009 eqs. (27) and
(41)) and seeded Monte Carlo simulations with tolerances from the simulation's standard error.
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBD, BGNBDFit, GammaGammaFit, MBGNBDFit, ParetoNBDFit
from clvkit.models.probabilities import (
    conditional_probability_of_purchases,
    probability_of_no_purchases,
    probability_of_purchases,
    purchase_count_interval,
)

BG = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
MBG = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
N = np.arange(400)


def test_unconditional_matches_lifetimes():
    lifetimes = pytest.importorskip("lifetimes")
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    for t in (1.0, 39.0, 78.0):
        ours = probability_of_purchases(BG, t=t, n=np.arange(8))
        theirs = [bgf.probability_of_n_purchases_up_to_time(t, k) for k in range(8)]
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("fit", [BG, MBG], ids=["BG/NBD", "MBG/NBD"])
def test_unconditional_pmf_sums_to_one_with_the_right_mean(fit):
    for t in (0.5, 39.0, 78.0):  # 400 terms hold all but < 1e-10 of the mass
        pmf = probability_of_purchases(fit, t=t, n=N)
        assert (pmf >= 0).all() and pmf.sum() == pytest.approx(1.0, abs=1e-10)
        assert (N * pmf).sum() == pytest.approx(fit.expected_purchases_new_customer(t),
                                                rel=1e-9)
    assert probability_of_purchases(fit, t=0.0, n=[0, 1]).tolist() == pytest.approx([1, 0])


@pytest.mark.parametrize("fit", [BG, MBG], ids=["BG/NBD", "MBG/NBD"])
def test_conditional_pmf_sums_to_one_with_the_right_mean(fit):
    s = cdnow_summary().iloc[::20]  # 118 CDNOW customers of all kinds
    total = np.zeros(len(s))
    mean = np.zeros(len(s))
    for n in range(150):
        p = conditional_probability_of_purchases(fit, s, t=39, n=n)
        assert p.index.equals(s.index) and (p >= 0).all()
        total += p.to_numpy()
        mean += n * p.to_numpy()
    np.testing.assert_allclose(total, 1.0, atol=1e-10)
    np.testing.assert_allclose(mean, fit.conditional_expected_purchases(s, t=39), rtol=1e-8)


def test_no_purchase_probability_is_churn_over_the_horizon():
    # P(0 purchases in the next t) falls with t, and is at least P(dead) = 1 - P(alive)
    s = cdnow_summary().iloc[:50]
    p13 = conditional_probability_of_purchases(BG, s, t=13, n=0)
    p52 = conditional_probability_of_purchases(BG, s, t=52, n=0)
    assert (p52 <= p13).all()
    assert (p52 >= 1 - BG.p_alive(s) - 1e-12).all()
    assert p13.attrs["n"] == 0 and p13.attrs["horizon"] == 13


def test_errors():
    spend = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit=None)
    with pytest.raises(ClvError, match="Pareto/NBD"):
        probability_of_purchases(spend, t=1, n=0)
    with pytest.raises(ClvError, match="whole numbers"):
        probability_of_purchases(BG, t=1, n=[0.5])
    with pytest.raises(ClvError, match="one number"):
        conditional_probability_of_purchases(BG, frequency=[1], recency=[1], T=[2], t=1,
                                             n=[0, 1])


def _simulate_with_holdout(n, t_hold, rng):
    """BG/NBD customers event by event: calibration (0, T] summary and holdout counts."""
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    T = rng.uniform(20, 39, n)  # noqa: N806
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    hold = np.zeros(n)
    now = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        now[alive] += rng.exponential(1 / lam[alive])
        alive &= now < T + t_hold
        in_cal = alive & (now <= T)
        x[in_cal] += 1
        t_x[in_cal] = now[in_cal]
        hold[alive & (now > T)] += 1
        alive &= rng.random(n) >= p  # drops out right after this purchase with prob. p
    s = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    s.attrs["time_unit"] = "W"
    return s, hold


def test_conditional_pmf_and_count_interval_match_a_simulation():
    # 10,000 customers simulated purchase by purchase from the BG/NBD process (FHL 2005,
    # section 2) over a calibration period and a 39-week holdout: the predicted histogram of
    # holdout counts (sum over customers of P(X* = n | history)) must match the simulated
    # one, and the 90% count intervals must hold at least 90% of the customers.
    s, hold = _simulate_with_holdout(10_000, 39.0, np.random.default_rng(5))
    for n in range(4):
        expected = conditional_probability_of_purchases(BG, s, t=39, n=n).sum()
        observed = (hold == n).sum()
        # binomial-like noise: sd <= sqrt(expected); allow 4 sd
        assert abs(observed - expected) < 4 * np.sqrt(expected) + 1, n
    first = s.iloc[:3000]
    iv = purchase_count_interval(BG, first, t=39, level=0.9)
    inside = (hold[:3000] >= iv["lower"]) & (hold[:3000] <= iv["upper"])
    assert inside.mean() >= 0.9 - 3 * np.sqrt(0.09 / 3000)
    assert (iv["lower"] <= iv["upper"]).all()


def test_count_interval_with_bootstrap_replicates_is_at_least_as_wide():
    s = cdnow_summary()
    boot = BGNBD().fit(s).bootstrap(n=10, seed=4)
    sub = s.iloc[::50]
    plug_in = purchase_count_interval(boot.fit, sub, t=39)
    mixed = purchase_count_interval(boot, sub, t=39)
    assert mixed.index.equals(sub.index)
    assert ((mixed["upper"] - mixed["lower"]) >= (plug_in["upper"] - plug_in["lower"]) - 1).all()
    np.testing.assert_allclose(
        plug_in["p_zero"], conditional_probability_of_purchases(boot.fit, sub, t=39, n=0))
    with pytest.raises(ClvError, match="max_n"):
        purchase_count_interval(boot.fit, sub, t=39, max_n=0)


PNBD = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")


def test_pareto_unconditional_pmf_sums_to_one_with_the_mean_of_eq_27():
    # note 012 pmf; its mean must be E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta /
    # (beta + t))^(s - 1)] (note 009, eq. (27)); 2,000 terms hold all but < 1e-12
    big_n = np.arange(2000)
    for t in (0.5, 39.0, 78.0):
        pmf = probability_of_purchases(PNBD, t=t, n=big_n)
        assert (pmf >= 0).all() and pmf.sum() == pytest.approx(1.0, abs=1e-12)
        assert (big_n * pmf).sum() == pytest.approx(PNBD.expected_purchases_new_customer(t),
                                                    rel=1e-10)
    assert probability_of_purchases(PNBD, t=0.0, n=[0, 1]).tolist() == [1.0, 0.0]


def test_pareto_unconditional_pmf_matches_a_simulation():
    # lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), tau ~ Exp(mu), X ~ Poisson(lambda
    # min(tau, t)): the Pareto/NBD story (SMC 1987; note 009, section 2)
    rng = np.random.default_rng(12)
    n = 200_000
    p = PNBD.params
    lam = rng.gamma(p.r, 1 / p.alpha, n)
    tau = rng.exponential(1 / rng.gamma(p.s, 1 / p.beta, n))
    for t in (13.0, 39.0):
        counts = rng.poisson(lam * np.minimum(tau, t))
        pmf = probability_of_purchases(PNBD, t=t, n=np.arange(6))
        observed = np.bincount(counts, minlength=6)[:6] / n
        se = np.sqrt(pmf * (1 - pmf) / n)
        assert (np.abs(observed - pmf) < 4 * se).all(), (t, observed, pmf)


def test_pareto_conditional_pmf_sums_to_one_with_the_mean_of_eq_41():
    s = cdnow_summary().iloc[::20]
    total = np.zeros(len(s))
    mean = np.zeros(len(s))
    for n in range(300):
        p = conditional_probability_of_purchases(PNBD, s, t=39, n=n)
        assert p.index.equals(s.index) and (p >= 0).all()
        total += p.to_numpy()
        mean += n * p.to_numpy()
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    np.testing.assert_allclose(mean, PNBD.conditional_expected_purchases(s, t=39), rtol=1e-10)


def _simulate_pareto(n, t_hold, rng):
    """Pareto/NBD customers: calibration (0, T] summary, holdout counts, alive at T + t_hold."""
    p = PNBD.params
    T = rng.uniform(20, 39, n)  # noqa: N806
    lam = rng.gamma(p.r, 1 / p.alpha, n)
    tau = rng.exponential(1 / rng.gamma(p.s, 1 / p.beta, n))
    x, t_x, hold, now = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    going = np.ones(n, dtype=bool)
    while going.any():
        now[going] += rng.exponential(1 / lam[going])
        going &= now < np.minimum(tau, T + t_hold)
        cal = going & (now <= T)
        x[cal] += 1
        t_x[cal] = now[cal]
        hold[going & (now > T)] += 1
    s = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    s.attrs["time_unit"] = "W"
    return s, hold, tau > T + t_hold


def test_pareto_conditional_pmf_matches_a_simulation():
    # predicted histogram of holdout counts (sum over customers of P(X* = n | history),
    # note 028) against 10,000 simulated customers; Poisson-binomial sd <= sqrt(expected)
    s, hold, _ = _simulate_pareto(10_000, 39.0, np.random.default_rng(8))
    for n in range(4):
        expected = conditional_probability_of_purchases(PNBD, s, t=39, n=n).sum()
        assert abs((hold == n).sum() - expected) < 4 * np.sqrt(expected) + 1, n


@pytest.mark.parametrize("fit", [BG, MBG, PNBD], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])
def test_probability_of_no_purchases_is_churn_over_the_horizon(fit):
    # pymc-marketing #1093: P(0 purchases in the next t) = the conditional pmf at 0
    s = cdnow_summary().iloc[::10]
    p13 = probability_of_no_purchases(fit, s, t=13)
    p52 = probability_of_no_purchases(fit, s, t=52)
    np.testing.assert_allclose(p13, conditional_probability_of_purchases(fit, s, t=13, n=0))
    assert p13.index.equals(s.index) and p13.name == "p_no_purchases"
    assert (p52 <= p13 + 1e-12).all() and (p52 >= 1 - fit.p_alive(s) - 1e-12).all()
    one = probability_of_no_purchases(fit, frequency=2, recency=30.43, T=38.86, t=39)
    assert isinstance(one, float)
    assert one == pytest.approx(conditional_probability_of_purchases(
        fit, frequency=[2], recency=[30.43], T=[38.86], t=39, n=0).iloc[0])
    with pytest.raises(DataValidationError, match="recency"):
        probability_of_no_purchases(fit, frequency=[2], recency=[40.0], T=[38.86], t=39)


def test_pareto_count_interval():
    s, hold, _ = _simulate_pareto(3_000, 39.0, np.random.default_rng(9))
    iv = purchase_count_interval(PNBD, s, t=39, level=0.9)
    inside = (hold >= iv["lower"]) & (hold <= iv["upper"])
    assert inside.mean() >= 0.9 - 3 * np.sqrt(0.09 / 3000)


def test_pareto_conditional_pmf_for_extreme_customers():
    # a brand-new customer (T = 0) and very frequent ones: still sums to 1 with the mean of
    # note 009 eq. (41)
    s = pd.DataFrame({"frequency": [0, 50, 300], "recency": [0, 50, 51], "T": [0.0, 52, 52]})
    n = np.arange(800)  # x = 300: about 250 +- 21 purchases at most
    pmf = np.array([conditional_probability_of_purchases(PNBD, s, t=52, n=k) for k in n])
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(n @ pmf, PNBD.conditional_expected_purchases(s, t=52), rtol=1e-11)
    # T = 0, x = 0 is the unconditional pmf (P(alive) = 1)
    np.testing.assert_allclose(pmf[:20, 0], probability_of_purchases(PNBD, t=52, n=n[:20]),
                               rtol=1e-12)
