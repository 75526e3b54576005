"""Prediction-time input checks, scalar inputs, large counts and degenerate fits (all models).

The prediction methods validate their inputs with the same helper as ``fit``
(`clvkit.models._base.check_customers`): each hostile input below must raise a
`DataValidationError` naming the argument, the offending customer and its value, instead of
returning a confident number (P(alive) = 1.0, expected spend -39, ...).
"""

import time
import warnings
from decimal import Decimal, getcontext

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ConvergenceError, DataValidationError
from clvkit.models import (
    BGNBD,
    MBGNBD,
    BetaGeoBetaBinomial,
    BetaGeoBetaBinomialFit,
    BGNBDFit,
    ConvergenceWarning,
    GammaGammaFit,
    MBGNBDFit,
    ParetoNBD,
    ParetoNBDFit,
    ShiftedBetaGeometric,
    ShiftedBetaGeometricFit,
)
from clvkit.models import bgbb as bgbb_module

# published CDNOW estimates (weeks): FHL (2005), Batislam et al. (2007) as refitted, FH note 009
BG = BGNBDFit.from_params(r=0.2426, alpha=4.4135, a=0.7929, b=2.4259, time_unit="W")
MBG = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
PARETO = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
GG = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit="W")
BGBB = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783,
                                          time_unit="Y")
SBG = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")


def rft(**change):
    """A valid weekly summary of 4 customers (ids 11-14); ``change`` sets customer 13's values."""
    s = pd.DataFrame({"frequency": [0.0, 2, 5, 1], "recency": [0.0, 20.0, 30.0, 3.0],
                      "T": [39.0, 39.0, 35.0, 20.0]},
                     index=pd.Index([11, 12, 13, 14], name="customer_id"))
    for col, value in change.items():
        s.loc[13, col] = value
    s.attrs["time_unit"] = "W"
    return s


# (change to customer 13, words the error must contain)
RFT_HOSTILE = [
    ({"frequency": -1.0}, ["`frequency` is negative", "frequency=-1"]),
    ({"frequency": np.nan}, ["`frequency` is missing (NaN)", "frequency=nan"]),
    ({"frequency": 2.5}, ["`frequency` is not a whole number", "frequency=2.5"]),
    ({"frequency": np.inf}, ["`frequency` is infinite"]),
    ({"recency": -3.0}, ["`recency` is negative", "recency=-3"]),
    ({"recency": 50.0}, ["`recency` > `T`", "recency=50, T=35"]),
    ({"recency": np.nan}, ["`recency` is missing (NaN)"]),
    ({"T": -1.0, "recency": -1.0}, ["`recency` is negative"]),
    ({"T": -1.0, "recency": 0.0}, ["`T` is negative", "T=-1"]),
    ({"T": 0.0, "recency": 0.0}, ["0 with repeat purchases", "frequency=5, T=0"]),
    ({"T": np.inf}, ["`T` is infinite"]),
    ({"frequency": 0.0}, ["`recency` != 0 although `frequency` = 0",
                          "frequency=0, recency=30"]),
]

RFT_METHODS = {
    "BG/NBD p_alive": lambda d: BG.p_alive(d),
    "BG/NBD expected": lambda d: BG.conditional_expected_purchases(d, t=10),
    "MBG/NBD p_alive": lambda d: MBG.p_alive(d),
    "MBG/NBD expected": lambda d: MBG.conditional_expected_purchases(d, t=10),
    "Pareto/NBD p_alive": lambda d: PARETO.p_alive(d),
    "Pareto/NBD expected": lambda d: PARETO.conditional_expected_purchases(d, t=10),
    "Pareto/NBD dert": lambda d: PARETO.dert(d, discount_rate=0.15, discount_period="Y"),
}


@pytest.mark.parametrize("method", list(RFT_METHODS))
@pytest.mark.parametrize("change, words", RFT_HOSTILE)
def test_rft_predictions_refuse_hostile_input(method, change, words):
    with pytest.raises(DataValidationError) as err:
        RFT_METHODS[method](rft(**change))
    text = str(err.value)
    for word in words:
        assert word in text
    assert "1 row (e.g. 13)" in text  # the offending customer id, and only that one


@pytest.mark.parametrize("method", list(RFT_METHODS))
def test_rft_predictions_accept_the_valid_summary(method):
    out = RFT_METHODS[method](rft())
    assert np.isfinite(out).all() and list(out.index) == [11, 12, 13, 14]


@pytest.mark.parametrize("change, words", RFT_HOSTILE)
def test_fit_and_predictions_give_the_same_message(change, words):
    # one validation: fit refuses exactly what the predictions refuse, with the same words
    bad = pd.concat([rft(**change), BIG_VALID])
    bad.attrs["time_unit"] = "W"
    with pytest.raises(DataValidationError) as fit_err:
        BGNBD().fit(bad)
    with pytest.raises(DataValidationError) as pred_err:
        BG.p_alive(bad)
    assert str(fit_err.value) == str(pred_err.value)


BIG_VALID = pd.DataFrame({"frequency": [3.0, 1.0], "recency": [9.0, 2.0], "T": [30.0, 25.0]},
                         index=pd.Index([21, 22], name="customer_id"))


def test_keyword_arrays_name_positions():
    with pytest.raises(DataValidationError, match=r"`frequency` is negative in 1 row \(e.g. 1\)"):
        BG.p_alive(frequency=[2, -1], recency=[30.0, 0.0], T=38.86)


GG_HOSTILE = [
    ({"frequency": [1, 2], "monetary_value": [30.0, -39.0]},
     ["`monetary_value` is not > 0 for a repeat buyer", "frequency=2, monetary_value=-39"]),
    ({"frequency": [1, 2], "monetary_value": [30.0, 0.0]}, ["is not > 0 for a repeat buyer"]),
    ({"frequency": [1, 2], "monetary_value": [30.0, np.nan]}, ["monetary_value=nan"]),
    ({"frequency": [1, 2], "monetary_value": [30.0, np.inf]}, ["is not > 0 for a repeat buyer"]),
    ({"frequency": [1, 0], "monetary_value": [30.0, -5.0]},
     ["`monetary_value` is negative or infinite", "frequency=0, monetary_value=-5"]),
    ({"frequency": [1, -2], "monetary_value": [30.0, 20.0]}, ["`frequency` is negative"]),
    ({"frequency": [1, 1.5], "monetary_value": [30.0, 20.0]}, ["not a whole number"]),
    ({"frequency": [1, np.nan], "monetary_value": [30.0, 20.0]}, ["`frequency` is missing"]),
]


@pytest.mark.parametrize("columns, words", GG_HOSTILE)
def test_gamma_gamma_refuses_hostile_input(columns, words):
    with pytest.raises(DataValidationError) as err:
        GG.conditional_expected_spend(**columns)
    for word in words:
        assert word in str(err.value)
    assert "1 row (e.g. 1)" in str(err.value)


def test_gamma_gamma_ignores_spend_of_customers_without_repeat_purchases():
    # for x = 0 the monetary value is not used: 0 and NaN both give the population mean
    out = GG.conditional_expected_spend(frequency=[0, 0], monetary_value=[0.0, np.nan])
    assert out.tolist() == pytest.approx([GG.mean_spend] * 2, rel=1e-12)


BGBB_HOSTILE = [
    ({"recency": 7}, ["not 0 <= frequency <= recency <= n_periods", "recency=7, n_periods=6"]),
    ({"frequency": 5, "recency": 4}, ["not 0 <= frequency <= recency <= n_periods"]),
    ({"n_periods": 6.5}, ["are not whole numbers"]),
    ({"recency": 0, "frequency": 0, "n_periods": 0}, ["n_periods >= 1", "n_periods=0"]),
    ({"frequency": -1}, ["`frequency` is negative"]),
    ({"frequency": 0}, ["`recency` != 0 although `frequency` = 0"]),
    ({"n_periods": np.nan}, ["`n_periods` is missing (NaN)"]),
    ({"n_periods": 1e9}, ["exceeds the limit of 10,000 transaction opportunities",
                          "n_periods=1e+09", "coarser unit"]),
]

BGBB_METHODS = {
    "p_alive": lambda d: BGBB.p_alive(d),
    "expected": lambda d: BGBB.conditional_expected_purchases(d, t=5),
    "dert": lambda d: BGBB.dert(d, discount_rate=0.1),
}


@pytest.mark.parametrize("method", list(BGBB_METHODS))
@pytest.mark.parametrize("change, words", BGBB_HOSTILE)
def test_bgbb_refuses_hostile_input(method, change, words):
    d = pd.DataFrame({"frequency": [6, 3, 0], "recency": [6, 5, 0], "n_periods": [6, 6, 6]},
                     index=pd.Index(["a", "b", "c"], name="customer_id"))
    for col, value in change.items():
        d[col] = d[col].astype(float)
        d.loc["b", col] = value
    start = time.perf_counter()
    with pytest.raises(DataValidationError) as err:
        BGBB_METHODS[method](d)
    assert time.perf_counter() - start < 1.0  # n = 1e9 is refused, not allocated
    for word in words:
        assert word in str(err.value)
    assert "1 row (e.g. b)" in str(err.value)


def test_bgbb_fit_refuses_too_many_opportunities():
    d = pd.DataFrame({"frequency": [1, 2], "recency": [3, 5], "n_periods": [6, 20_000]})
    with pytest.raises(DataValidationError, match="limit of 10,000"):
        BetaGeoBetaBinomial().fit(d)


def test_bgbb_chunked_likelihood_equals_one_block(monkeypatch):
    rng = np.random.default_rng(3)
    n = rng.integers(1, 40, 500).astype(float)
    t_x = np.floor(rng.uniform(0, 1, 500) * (n + 1))
    x = np.floor(rng.uniform(0, 1, 500) * (t_x + 1))
    t_x = np.where(x == 0, 0.0, t_x)
    p = np.array([1.2, 0.75, 0.66, 2.8])
    whole, whole_grad = bgbb_module._loglik(p, x, t_x, n, True)
    monkeypatch.setattr(bgbb_module, "_CHUNK_CELLS", 100)  # 2 rows per chunk
    chunked, chunked_grad = bgbb_module._loglik(p, x, t_x, n, True)
    np.testing.assert_allclose(chunked, whole, rtol=1e-13)
    np.testing.assert_allclose(chunked_grad, whole_grad, rtol=1e-12)


@pytest.mark.parametrize("call, words", [
    (lambda: SBG.survival(-1), ["`t` must hold whole numbers of periods >= 0", "-1"]),
    (lambda: SBG.survival([1, 2.5]), ["`t`", "1 row (e.g. 1)", "2.5"]),
    (lambda: SBG.survival([np.nan]), ["`t`", "nan"]),
    (lambda: SBG.survival(np.inf), ["`t`", "inf"]),
    (lambda: SBG.churn_probability([0, 1]), ["periods >= 1", "(e.g. 0)"]),
    (lambda: SBG.retention_rate(0), ["periods >= 1"]),
    (lambda: SBG.derl(discount_rate=0.1, renewals=-2), ["`renewals`", ">= -1", "-2"]),
])
def test_sbg_refuses_hostile_periods(call, words):
    with pytest.raises(DataValidationError) as err:
        call()
    for word in words:
        assert word in str(err.value)


# ---------------------------------------------------------------------------------------------
# scalars in, a float out (as lifetimes' conditional_probability_alive(2, 30.43, 38.86))


@pytest.mark.parametrize("fit", [BG, MBG, PARETO], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])
def test_scalar_inputs_give_floats(fit):
    one = fit.p_alive(frequency=2, recency=30.43, T=38.86)
    assert type(one) is float
    assert one == fit.p_alive(frequency=[2], recency=[30.43], T=[38.86]).iloc[0]
    e = fit.conditional_expected_purchases(frequency=2, recency=30.43, T=38.86, t=39)
    assert type(e) is float and e > 0
    assert type(fit.expected_purchases_new_customer(39)) is float


def test_scalar_published_values():
    # FHL (2005) p. 280: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in 39 weeks
    assert BG.conditional_expected_purchases(frequency=2, recency=30.43, T=38.86,
                                             t=39) == pytest.approx(1.226, abs=5e-4)
    assert PARETO.dert(frequency=2, recency=30.43, T=38.86, discount_rate=0.15,
                       discount_period="Y") == pytest.approx(6.52, abs=5e-3)
    assert type(GG.conditional_expected_spend(frequency=1, monetary_value=30)) is float
    assert type(BGBB.p_alive(frequency=6, recency=6, n_periods=6)) is float
    assert type(BGBB.expected_purchases_new_customer(6)) is float
    assert SBG.survival(1) == pytest.approx(1.182 / (0.704 + 1.182))
    assert type(SBG.derl(discount_rate=0.1, renewals=0)) is float


def test_mixed_scalar_and_array_inputs_give_a_series():
    out = BG.p_alive(frequency=[0, 2], recency=[0, 30.43], T=38.86)
    assert isinstance(out, pd.Series) and len(out) == 2


# ---------------------------------------------------------------------------------------------
# large counts: finite and equal to a high-precision evaluation of the published formulas

getcontext().prec = 60


def _hyp2f1(a, b, c, z):
    """Gauss 2F1 by its power series in 60-digit decimals (|z| < 1)."""
    a, b, c, z = (Decimal(repr(float(v))) if not isinstance(v, Decimal) else v
                  for v in (a, b, c, z))
    term = total = Decimal(1)
    n = 0
    while True:
        term = term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total += term
        n += 1
        if n > 50 and abs(term) < total * Decimal("1e-50"):
            return total


def _d(v):
    return Decimal(repr(float(v)))


def bgnbd_reference(params, shift, x, t_x, T, t):  # noqa: N803
    """Eq. (10) of FHL (2005) (shift 0) or MBG/NBD (shift 1), term by term, in decimals."""
    r, alpha, a, b = (_d(v) for v in params)
    x, t_x, T, t = (_d(v) for v in (x, t_x, T, t))  # noqa: N806
    k = shift
    c = a + b + x + k - 1
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * _hyp2f1(r + x, b + x + k, c, z)
    odds = a / (b + x + k - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    p_alive = 1 / (1 + odds) if (x > 0 or k) else Decimal(1)
    return float(p_alive), float(c / (a - 1) * bracket * p_alive)


def pareto_reference(params, x, t_x, T, t):  # noqa: N803
    """P(alive) (note 009 eq. (25), A0 from eqs. (19)-(20)) and eq. (41), in decimals."""
    r, alpha, s, beta = (_d(v) for v in params)
    x, t_x, T, t = (_d(v) for v in (x, t_x, T, t))  # noqa: N806
    rsx = r + s + x
    if alpha >= beta:
        def h(u):
            return _hyp2f1(rsx, s + 1, rsx + 1, (alpha - beta) / (alpha + u)) / (alpha + u) ** rsx
    else:
        def h(u):
            return _hyp2f1(rsx, r + x, rsx + 1, (beta - alpha) / (beta + u)) / (beta + u) ** rsx
    a0 = h(t_x) - h(T)
    p_alive = 1 / (1 + s / rsx * (alpha + T) ** (r + x) * (beta + T) ** s * a0)
    e = ((r + x) * (beta + T) / ((alpha + T) * (s - 1))
         * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * p_alive)
    return float(p_alive), float(e)


def test_references_reproduce_published_values():
    # the decimal references themselves give the published numbers at small x
    assert bgnbd_reference([0.2426, 4.4135, 0.7929, 2.4259], 0, 2, 30.43, 38.86,
                           39)[1] == pytest.approx(1.226, abs=5e-4)
    assert pareto_reference([0.553, 10.578, 0.606, 11.669], 2, 30.43, 38.86,
                            39)[0] == pytest.approx(0.869, abs=5e-4)


CASES = [(x, t_x) for x in (1000, 10_000) for t_x in (38.86, 38.5)]


@pytest.mark.parametrize("x, t_x", CASES)
@pytest.mark.parametrize("fit, shift", [(BG, 0), (MBG, 1)], ids=["BG/NBD", "MBG/NBD"])
def test_bgnbd_large_frequency_matches_high_precision(fit, shift, x, t_x):
    params = [fit.params.r, fit.params.alpha, fit.params.a, fit.params.b]
    p_ref, e_ref = bgnbd_reference(params, shift, x, t_x, 38.86, 39)
    p = fit.p_alive(frequency=x, recency=t_x, T=38.86)
    e = fit.conditional_expected_purchases(frequency=x, recency=t_x, T=38.86, t=39)
    assert np.isfinite(e) and e > 0
    assert p == pytest.approx(p_ref, rel=1e-9)
    assert e == pytest.approx(e_ref, rel=1e-9)


@pytest.mark.parametrize("x, t_x", CASES)
@pytest.mark.parametrize("alpha", [10.578, 12.578], ids=["alpha<beta", "alpha>beta"])
def test_pareto_large_frequency_matches_high_precision(alpha, x, t_x):
    fit = ParetoNBDFit.from_params(r=0.553, alpha=alpha, s=0.606, beta=11.669, time_unit="W")
    p_ref, e_ref = pareto_reference([0.553, alpha, 0.606, 11.669], x, t_x, 38.86, 39)
    p = fit.p_alive(frequency=x, recency=t_x, T=38.86)
    e = fit.conditional_expected_purchases(frequency=x, recency=t_x, T=38.86, t=39)
    assert p == pytest.approx(p_ref, rel=1e-8)
    assert e == pytest.approx(e_ref, rel=1e-8)


@pytest.mark.parametrize("fit", [BG, MBG, PARETO], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])
def test_expectation_finite_and_increasing_in_frequency(fit):
    # customers who bought at the very end (recency = T): more purchases, more expected
    x = np.array([0, 1, 10, 100, 1e3, 1e4, 1e5, 1e6])
    e = fit.conditional_expected_purchases(frequency=x, recency=np.where(x > 0, 38.86, 0),
                                           T=38.86, t=39).to_numpy()
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) > 0)
    pa = fit.p_alive(frequency=x, recency=np.where(x > 0, 30.0, 0), T=38.86).to_numpy()
    assert np.all(np.isfinite(pa)) and np.all((pa >= 0) & (pa <= 1))


# ---------------------------------------------------------------------------------------------
# degenerate fits fail loudly (strict) or are flagged success=False with a warning


@pytest.mark.parametrize("survivors", [[100, 0, 0], [100, 100, 100], [100, 50]])
def test_degenerate_sbg_fit_is_not_a_success(survivors):
    with pytest.raises(ConvergenceError, match="degenerate"):
        ShiftedBetaGeometric().fit(survivors, time_unit="Y")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = ShiftedBetaGeometric().fit(survivors, time_unit="Y", strict=False)
    assert not fit.success and "degenerate" in fit.message
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


@pytest.mark.parametrize("model", [BGNBD, MBGNBD, ParetoNBD])
def test_two_customers_cannot_identify_four_parameters(model):
    with pytest.raises(ConvergenceError, match="2 distinct observation"):
        model().fit(frequency=[1, 2], recency=[5.0, 25.0], T=[20.0, 30.0], time_unit="W")


def test_identified_sbg_fit_still_succeeds():
    # FH (2007) regular cohort, only three periods: identified, no false alarm
    fit = ShiftedBetaGeometric().fit([1000, 631, 468], time_unit="Y")
    assert fit.success and "degenerate" not in fit.message


def test_empty_input_gives_empty_predictions():
    assert len(BG.p_alive(frequency=[], recency=[], T=[])) == 0
    assert len(BGBB.p_alive(frequency=[], recency=[], n_periods=[])) == 0


def test_homogeneous_cohort_is_flagged_by_the_ridge_check():
    # churn exactly halves the cohort every year: no heterogeneity, the maximum lies at
    # alpha, beta -> infinity with alpha / (alpha + beta) = 1/2 (5 observations, 2 parameters:
    # only the ridge check, not the count of observations, can see it)
    with pytest.raises(ConvergenceError, match="flat along it\\): alpha, beta") as err:
        ShiftedBetaGeometric().fit([1000, 500, 250, 125, 62], time_unit="Y")
    assert "distinct observation" not in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = ShiftedBetaGeometric().fit([1000, 500, 250, 125, 62], time_unit="Y", strict=False)
    assert not fit.success
    assert fit.retention_rate(1) == pytest.approx(0.5, abs=0.01)  # still usable, and flagged
