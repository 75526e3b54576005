"""P(alive) at a future time and DERT (clvkit.models.future).

Sources: P(alive | x, t_x, T) of FHL's note 021 eq. (1) (BG/NBD), Batislam et al. (2007)
eq. (5) (MBG/NBD), Fader & Hardie note 009 eq. (25) (Pareto/NBD), times the posterior
survival derived in the module notes; DERT of Fader, Hardie & Lee (2005, JMR 42(4)) eq. (2),
whose Pareto/NBD closed form (`ParetoNBDFit.dert`) the numerical integral (the BG/NBD's
DERT, `discounted_if_alive`) must reproduce,
and which for the BG/NBD / MBG/NBD must equal a fine discounted sum of the increments of
E[Y(t) | x, t_x, T] (FHL 2005 Marketing Science eq. (10); Wagner & Hoppe 2008).
"""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBDFit, GammaGammaFit, MBGNBDFit, ParetoNBDFit
from clvkit.models.future import (
    continuous_discount_rate,
    dert,
    discounted_if_alive,
    p_alive_at,
)
from clvkit.models.nbd import NBDFit
from clvkit.models.pareto_nbd import expected_if_alive

BG = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
MBG = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
PNBD = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
FITS = pytest.mark.parametrize("fit", [BG, MBG, PNBD], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])


@FITS
def test_p_alive_at_starts_at_p_alive_and_falls(fit):
    s = cdnow_summary().iloc[::7]
    np.testing.assert_allclose(p_alive_at(fit, s, t=0), fit.p_alive(s), rtol=1e-13)
    p13, p52 = p_alive_at(fit, s, t=13), p_alive_at(fit, s, t=52)
    assert p13.index.equals(s.index) and p13.attrs["horizon"] == 13
    assert ((p52 <= p13 + 1e-15) & (p13 <= fit.p_alive(s) + 1e-15) & (p52 >= 0)).all()
    one = p_alive_at(fit, frequency=2, recency=30.43, T=38.86, t=52)
    assert isinstance(one, float) and one == pytest.approx(
        p_alive_at(fit, frequency=[2], recency=[30.43], T=[38.86], t=52).iloc[0])
    with pytest.raises(DataValidationError, match="frequency"):
        p_alive_at(fit, frequency=[-1], recency=[0], T=[3], t=1)


@pytest.mark.parametrize("fit", [BG, MBG], ids=["BG/NBD", "MBG/NBD"])
def test_bgnbd_p_alive_at_equals_the_integral_over_the_dropout_probability(fit):
    # P(alive at T + t) = P(alive) E[((alpha + T) / (alpha + T + p t))^(r + x)],
    # p ~ Beta(a, b + x + k): the integral before Pfaff's transformation, by scipy.quad
    p, k = fit.params, fit._shift
    for x, t_x, T, t in [(0, 0, 38.86, 52), (2, 30.43, 38.86, 52), (7, 35.0, 38.86, 10),  # noqa: N806
                         (30, 38.0, 38.86, 200)]:
        mean = integrate.quad(lambda q, x=x, T=T, t=t: stats.beta.pdf(q, p.a, p.b + x + k)  # noqa: N803
                              * ((p.alpha + T) / (p.alpha + T + q * t)) ** (p.r + x), 0, 1,
                              epsabs=1e-13, epsrel=1e-12)[0]
        expected = mean * fit.p_alive(frequency=x, recency=t_x, T=T)
        assert p_alive_at(fit, frequency=x, recency=t_x, T=T, t=t) == pytest.approx(
            expected, rel=1e-9)


def test_pareto_p_alive_at_is_the_rate_of_expected_purchases():
    # Pareto/NBD: lambda and mu are independent given the history, so
    # d/dt E[Y(t) | history] (note 009 eq. (41)) = (r + x) / (alpha + T) P(alive at T + t)
    s = cdnow_summary().iloc[::25]
    p = PNBD.params
    for t in (5.0, 39.0, 150.0):
        h = 1e-4
        slope = (PNBD.conditional_expected_purchases(s, t=t + h)
                 - PNBD.conditional_expected_purchases(s, t=t - h)) / (2 * h)
        rate = (p.r + s["frequency"]) / (p.alpha + s["T"])
        np.testing.assert_allclose(slope, rate * p_alive_at(PNBD, s, t=t), rtol=1e-6)


def _simulate(model, n, t_hold, rng):
    """Customers simulated event by event; calibration summary and alive at T + t_hold."""
    T = rng.uniform(20, 39, n)  # noqa: N806
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    if model == "pareto":
        p = PNBD.params
        lam = rng.gamma(p.r, 1 / p.alpha, n)
        tau = rng.exponential(1 / rng.gamma(p.s, 1 / p.beta, n))
        going = np.ones(n, dtype=bool)
        while going.any():
            now[going] += rng.exponential(1 / lam[going])
            going &= now < np.minimum(tau, T)
            x[going] += 1
            t_x[going] = now[going]
        alive_later = tau > T + t_hold
    else:  # BG/NBD: dropout with probability q right after each purchase
        p = BG.params
        lam = rng.gamma(p.r, 1 / p.alpha, n)
        q = rng.beta(p.a, p.b, n)
        alive = np.ones(n, dtype=bool)
        going = np.ones(n, dtype=bool)
        while going.any():
            now[going] += rng.exponential(1 / lam[going])
            going &= now < T + t_hold
            cal = going & (now <= T)
            x[cal] += 1
            t_x[cal] = now[cal]
            drop = going & (rng.random(n) < q)
            alive &= ~drop
            going &= ~drop
        alive_later = alive
    s = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    s.attrs["time_unit"] = "W"
    return s, alive_later


@pytest.mark.parametrize(("model", "fit"), [("bgnbd", BG), ("pareto", PNBD)],
                         ids=["BG/NBD", "Pareto/NBD"])
def test_p_alive_at_matches_a_simulation(model, fit):
    # 20,000 simulated customers: the number still alive 26 weeks after their T must match
    # the sum of the predicted probabilities (Poisson-binomial sd <= sqrt(sum p (1 - p)))
    s, alive = _simulate(model, 20_000, 26.0, np.random.default_rng(3))
    p = p_alive_at(fit, s, t=26)
    sd = np.sqrt((p * (1 - p)).sum())
    assert abs(alive.sum() - p.sum()) < 4 * sd, (alive.sum(), p.sum(), sd)


def _pareto_by_quadrature(fit: ParetoNBDFit, s: pd.DataFrame, rate: float,
                          period: str) -> np.ndarray:
    """The BG/NBD's DERT engine (`discounted_if_alive`) run on the Pareto/NBD's E[Y(t)]."""
    p = fit.params
    delta = continuous_discount_rate(rate, discount_period=period, time_unit=fit.time_unit)
    x, T = s["frequency"].to_numpy(float), s["T"].to_numpy(float)  # noqa: N806

    def if_alive(rows, t):
        return expected_if_alive(p.r, p.alpha, p.s, p.beta, x[rows][:, None], T[rows][:, None],
                                 t)

    return discounted_if_alive(if_alive, np.column_stack([x, T]), delta) * fit.p_alive(s)


def test_dert_quadrature_matches_the_pareto_closed_form():
    # FHL 2005 JMR eq. (2) in closed form (the Pareto/NBD's dert) vs the quadrature that is
    # the BG/NBD's DERT, every CDNOW customer
    s = cdnow_summary()
    for rate, period in [(0.15, "Y"), (0.01, "M"), (0.5, "Y")]:
        ours = _pareto_by_quadrature(PNBD, s, rate, period)
        closed = dert(PNBD, s, discount_rate=rate, discount_period=period)
        np.testing.assert_allclose(ours, closed, rtol=1e-9)
        assert closed.index.equals(s.index) and closed.attrs["discount_period"] == period


def test_nbd_dert_closed_form_matches_the_quadrature():
    # (r + x) / ((alpha + T) delta): the integral of delta e^(-delta t) (r + x) t / (alpha + T)
    fit = NBDFit.from_params(r=0.385, alpha=12.07, time_unit="W")
    s = cdnow_summary().head(50)
    delta = continuous_discount_rate(0.15, discount_period="Y", time_unit="W")
    x, T = s["frequency"].to_numpy(float), s["T"].to_numpy(float)  # noqa: N806
    by_quadrature = discounted_if_alive(
        lambda rows, t: (0.385 + x[rows][:, None]) / (12.07 + T[rows][:, None]) * t,
        np.column_stack([x, T]), delta)
    np.testing.assert_allclose(dert(fit, s, discount_rate=0.15, discount_period="Y"),
                               by_quadrature, rtol=1e-9)


@pytest.mark.parametrize("fit", [BG, MBG], ids=["BG/NBD", "MBG/NBD"])
def test_dert_equals_a_fine_discounted_sum_of_expected_purchases(fit):
    # sum_k [E[Y(t_k)] - E[Y(t_{k-1})]] e^(-delta (t_k + t_{k-1}) / 2) on a fine geometric
    # grid up to 60 / delta (e^-60 leaves nothing), one model call per customer
    delta = continuous_discount_rate(0.15, discount_period="Y", time_unit="W")
    grid = np.concatenate([[0.0], np.geomspace(1e-4, 60 / delta, 20_000)])
    s = cdnow_summary().iloc[[0, 1, 5, 30, 200]]
    ours = dert(fit, s, discount_rate=0.15, discount_period="Y")
    for (cid, row), value in zip(s.iterrows(), ours, strict=True):
        rows = pd.DataFrame({c: np.full(grid.size, row[c]) for c in s.columns})
        e = fit.conditional_expected_purchases(rows, t=grid).to_numpy()
        fine = np.sum(np.diff(e) * np.exp(-delta * (grid[1:] + grid[:-1]) / 2))
        assert value == pytest.approx(fine, rel=1e-6), cid
    assert isinstance(dert(fit, frequency=2, recency=30.43, T=38.86, discount_rate=0.15,
                           discount_period="Y"), float)


def test_dert_errors():
    with pytest.raises(ClvError, match="discount_rate"):
        dert(BG, frequency=[1], recency=[1], T=[2], discount_rate=0, discount_period="Y")
    with pytest.raises(ClvError, match="discount_period"):
        dert(BG, frequency=[1], recency=[1], T=[2], discount_rate=0.1, discount_period="Q")
    with pytest.raises(DataValidationError, match="recency"):
        dert(BG, frequency=[1], recency=[3], T=[2], discount_rate=0.1, discount_period="Y")
    spend = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit=None)
    with pytest.raises(ClvError, match="Pareto/NBD"):
        dert(spend, frequency=[1], recency=[1], T=[2], discount_rate=0.1, discount_period="Y")


def test_dert_quadrature_holds_for_extreme_customers_and_rates():
    # a daily Pareto/NBD, customers from x = 0 to 3,000 and rates from 0.01 % to 200 % a
    # day: the quadrature must still agree with the closed form of FHL 2005 JMR eq. (2)
    daily = ParetoNBDFit.from_params(r=0.553, alpha=74.05, s=0.606, beta=81.68, time_unit="D")
    s = pd.DataFrame({"frequency": [0, 1, 5, 50, 500, 3000],
                      "recency": [0, 10, 100, 300, 360, 364.9],
                      "T": [1, 365, 365, 365, 365, 365.0]})
    for rate, period in [(0.1, "Y"), (0.0001, "D"), (2.0, "D")]:
        np.testing.assert_allclose(_pareto_by_quadrature(daily, s, rate, period),
                                   daily.dert(s, discount_rate=rate, discount_period=period),
                                   rtol=1e-9)
