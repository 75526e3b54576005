"""Static covariates in the Pareto/NBD and BG/NBD (clvkit.models.covariates).

Published values: CLVTools 0.12.1, vignette "Advanced and Very Advanced Modeling Techniques
in CLVTools" (Meierer, Schilter, Naef & Bachmann, 21 Sep 2025), the pre-rendered PDF
``vignettes/CLVTools_advanced_techniques.pdf`` of github.com/bachmannpatrick/CLVTools at
commit 1b06356 (Release v0.12.1): section 4 (``est.pnbd.full``, ``est.pnbd.constr``) and
section 2 (``est.pnbd.regularization``), on the apparel data of that release (600
customers; ``data/clvtools_apparel``, GPL-3), weekly, estimation split 104 weeks.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary, load_clvtools_apparel
from clvkit.errors import ClvError, ConvergenceError, DataValidationError
from clvkit.models import ParetoNBD, ParetoNBDFit, encode_covariates

BOTH = {"trans": ["Gender", "Channel"], "life": ["Gender", "Channel"]}


@pytest.fixture(scope="module")
def apparel():
    """CLVTools' apparel data: summary to 2006-12-31 (weekly) and the static covariates."""
    data = load_clvtools_apparel()
    return data["summary"], data["static"]


@pytest.fixture(scope="module")
def full(apparel):
    summary, cov = apparel
    return ParetoNBD().fit(summary, covariates=cov, **BOTH)


def _estimates(fit) -> pd.Series:
    return fit.summary()["estimate"]


# ---------------------------------------------------------------------------------------------
# CLVTools' printed estimates


#: est.pnbd.full (vignette section 4): Estimate, Std. Error; LL -5821.0627.
CLVTOOLS_FULL = {
    "r": (1.8378, 0.3455), "alpha": (92.9123, 16.9670), "s": (0.5920, 0.2609),
    "beta": (49.6227, 36.2509), "life.Gender": (-0.6430, 0.2955),
    "life.Channel": (0.7907, 0.3059), "trans.Gender": (0.2859, 0.1041),
    "trans.Channel": (0.6241, 0.1050)}
#: est.pnbd.constr (vignette section 4): LL -5826.5342.
CLVTOOLS_CONSTR = {
    "r": (1.7939, 0.3318), "alpha": (94.7223, 17.2216), "s": (0.4287, 0.1418),
    "beta": (59.0743, 34.5098), "life.Channel": (1.0228, 0.3542),
    "trans.Channel": (0.6384, 0.1064), "constr.Gender": (0.3283, 0.1074)}
#: est.pnbd.regularization, reg.lambdas = c(trans = 0.1, life = 0.2) (vignette section 2);
#: its "LL" -9.7313 is minus the minimised function (mean negative LL + penalty), and its
#: standard errors come from the Hessian of that per-customer mean.
CLVTOOLS_REG = {
    "r": (1.73887, 8.07414), "alpha": (69.85288, 315.45779), "s": (0.53350, 5.81354),
    "beta": (39.68346, 704.57431), "life.Gender": (-0.04437, 1.54979),
    "life.Channel": (0.02465, 1.54501), "trans.Gender": (0.17178, 1.63462),
    "trans.Channel": (0.23676, 1.65635)}


def _theta(fit, printed: dict) -> np.ndarray:
    names = [f.name for f in dataclasses.fields(fit.params)]
    return np.r_[np.log([printed[n][0] for n in names]),
                 [printed[n][0] for n in fit.coefficient_names]]


def test_apparel_full_log_likelihood_reproduces_clvtools(full):
    # vignette section 4, est.pnbd.full: "LL -5821.0627"
    assert round(full.log_likelihood, 4) == -5821.0627
    assert full.success


def test_apparel_full_estimates_agree_with_clvtools_within_a_hundredth_of_a_se(full):
    # NOT reproduced to the printed digits: ours vs CLVTools' printed estimate
    #   r 1.8390 vs 1.8378, alpha 92.963 vs 92.9123, s 0.5913 vs 0.5920, beta 49.513 vs
    #   49.6227, life.Gender -0.6419 vs -0.6430, life.Channel 0.7898 vs 0.7907,
    #   trans.Gender 0.2861 vs 0.2859, trans.Channel 0.6239 vs 0.6241.
    # The likelihood is flat there: at CLVTools' printed estimates our likelihood is
    # -5821.062709, lower than at ours (-5821.062686): CLVTools' optimiser (optimx
    # L-BFGS-B, default tolerance) stopped short of the maximum. Every difference is below
    # 0.01 of the printed standard error. method="clvtools" follows CLVTools' path and
    # reproduces the printed digits (test_clvtools_method_reproduces_the_printed_estimates).
    ours = _estimates(full)
    for name, (value, se) in CLVTOOLS_FULL.items():
        assert abs(ours[name] - value) < 0.01 * se, (name, ours[name], value)
    at_printed = -full._problem.objective(_theta(full, CLVTOOLS_FULL), False)[0] * 600
    assert round(at_printed, 3) == -5821.063  # the printed estimates: same LL to 3 decimals
    assert full.log_likelihood > at_printed


def test_apparel_full_standard_errors_agree_with_clvtools(full):
    # vignette section 4: Std. Error; ours (at our slightly different estimate) within 1%
    # (e.g. trans.Gender 0.1041 both, life.Gender 0.2955 both, alpha 16.979 vs 16.967).
    se = full.summary()["std_error"]
    for name, (_, printed) in CLVTOOLS_FULL.items():
        assert se[name] == pytest.approx(printed, rel=0.01), name
    assert round(se["trans.Gender"], 4) == 0.1041
    assert round(se["life.Gender"], 4) == 0.2955


def test_apparel_full_p_values_match_clvtools_stars(full):
    # vignette section 4: Pr(>|z|) life.Gender 0.02957, life.Channel 0.00973,
    # trans.Gender 0.00605, trans.Channel 2.74e-09 (ours at our estimate)
    p = full.summary()["p_value"]
    assert p["life.Gender"] == pytest.approx(0.02957, abs=0.001)
    assert p["life.Channel"] == pytest.approx(0.00973, abs=0.0003)
    assert p["trans.Gender"] == pytest.approx(0.00605, abs=0.0002)
    assert p["trans.Channel"] < 1e-8
    assert np.isnan(p["r"])  # p-values only for coefficients, as CLVTools


def test_apparel_gender_constrained_reproduces_clvtools(apparel):
    # vignette section 4, est.pnbd.constr (names.cov.constr = "Gender"): LL -5826.5342;
    # estimates reproduced to the printed digits for r (1.7939) and within 0.01 SE for the
    # rest (ours: alpha 94.7355 vs 94.7223, s 0.4286 vs 0.4287, beta 59.0657 vs 59.0743,
    # life.Channel 1.0233 vs 1.0228, trans.Channel 0.6386 vs 0.6384, constr.Gender 0.3285 vs
    # 0.3283); at the printed estimates our LL is -5826.534194, at ours -5826.534191.
    summary, cov = apparel
    fit = ParetoNBD().fit(summary, covariates=cov, constrain=["Gender"], **BOTH)
    assert fit.coefficient_names == ("trans.Channel", "life.Channel", "constr.Gender")
    assert round(fit.log_likelihood, 4) == -5826.5342
    ours = _estimates(fit)
    assert round(ours["r"], 4) == 1.7939
    for name, (value, se) in CLVTOOLS_CONSTR.items():
        assert abs(ours[name] - value) < 0.01 * se, (name, ours[name], value)
        assert fit.summary()["std_error"][name] == pytest.approx(se, rel=0.01), name


def test_apparel_likelihood_ratio_test_of_the_constraint(apparel, full):
    # vignette section 4, lrtest: Chisq 10.943 on 1 df, Pr(>Chisq) 0.0009396
    summary, cov = apparel
    constr = ParetoNBD().fit(summary, covariates=cov, constrain=["Gender"], **BOTH)
    chisq = 2 * (full.log_likelihood - constr.log_likelihood)
    assert round(chisq, 3) == 10.943


def test_apparel_regularized_reproduces_clvtools(apparel):
    # vignette section 2, est.pnbd.regularization with reg.lambdas = c(trans=0.1, life=0.2):
    # printed "LL -9.7313" is minus the minimised function; ours -9.731281. Coefficients
    # reproduced to the printed 5 decimals within 1 unit for trans.Gender (0.17175 vs
    # 0.17178: 3 units), trans.Channel (0.23671 vs 0.23676), life.Gender (-0.04438 vs
    # -0.04437), life.Channel (0.02464 vs 0.02465); base parameters within 0.1% (r 1.73758
    # vs 1.73887, alpha 69.7993 vs 69.85288, s 0.53392 vs 0.53350, beta 39.7336 vs 39.68346).
    # At the printed estimates our objective is -9.73128085, at ours -9.73128083.
    summary, cov = apparel
    fit = ParetoNBD().fit(summary, covariates=cov, regularization={"trans": 0.1, "life": 0.2},
                          **BOTH)
    assert round(-fit.objective, 4) == -9.7313
    ours = _estimates(fit)
    for name, (value, se) in CLVTOOLS_REG.items():
        assert abs(ours[name] - value) < 0.001 * se, (name, ours[name], value)
    at_printed = -fit._problem.objective(_theta(fit, CLVTOOLS_REG), False)[0]
    assert -fit.objective >= at_printed
    # CLVTools' standard errors are those of the per-customer mean objective (sqrt(N) times
    # larger): life.Gender 1.54979 and life.Channel 1.54501 reproduced within one unit of
    # the last printed digit (ours 1.549785, 1.545004)
    se = fit.summary(per_customer=True)["std_error"]
    assert abs(se["life.Gender"] - 1.54979) <= 1e-5
    assert abs(se["life.Channel"] - 1.54501) <= 1e-5
    for name, (_, printed) in CLVTOOLS_REG.items():
        assert se[name] == pytest.approx(printed, rel=0.003), name
    # the penalty pulls the coefficients towards 0, and the LL (no penalty) is lower
    assert abs(ours["trans.Channel"]) < 0.6239
    assert fit.log_likelihood < -5821.0627


# ---------------------------------------------------------------------------------------------
# method="clvtools": CLVTools' own optimiser path reproduces its printed digits


@pytest.mark.parametrize("printed, options, decimals, ll", [
    # vignette section 4, est.pnbd.full: 4 decimals, LL -5821.0627
    (CLVTOOLS_FULL, {}, 4, -5821.0627),
    # vignette section 4, est.pnbd.constr (names.cov.constr = "Gender"): LL -5826.5342
    (CLVTOOLS_CONSTR, {"constrain": ["Gender"]}, 4, -5826.5342),
    # vignette section 2, est.pnbd.regularization, reg.lambdas = c(trans = 0.1, life = 0.2):
    # 5 decimals; its "LL -9.7313" is minus the minimised function
    (CLVTOOLS_REG, {"regularization": {"trans": 0.1, "life": 0.2}}, 5, None),
], ids=["full", "constrained", "regularized"])
def test_clvtools_method_reproduces_the_printed_estimates(apparel, printed, options, decimals,
                                                          ll):
    # CLVTools' start values (r 0.5, alpha 15, s 0.5, beta 10; coefficients 0.1), summed
    # objective, numerical central-difference gradient (ndeps 1e-3) and optimx L-BFGS-B
    # defaults (lmm 5, factr 1e7, pgtol 0). Every estimate is within half a unit of the
    # last printed digit (largest: 0.49 units, constr.Gender 0.3282534 vs 0.3283).
    summary, cov = apparel
    fit = ParetoNBD().fit(summary, covariates=cov, method="clvtools", **BOTH, **options)
    regularized = "regularization" in options
    table = fit.summary(per_customer=regularized)
    unit = 10.0 ** -decimals
    for name, (value, se) in printed.items():
        assert abs(table.loc[name, "estimate"] - value) <= unit, (name, value)
        # standard errors: within one unit, or 2e-5 relative for the base parameters (below)
        tol = unit if name in fit.coefficient_names else max(unit, 2e-5 * se)
        assert abs(table.loc[name, "std_error"] - se) <= tol, (name, se)
    if ll is not None:
        assert round(fit.log_likelihood, 4) == ll
    else:
        assert round(-fit.objective, 4) == -9.7313
    # Not reproduced to the printed digits: the standard errors of some base parameters,
    # from CLVTools' numDeriv Hessian where ours is central differences of the analytic
    # gradient: full beta 36.2512 vs 36.2509; regularized r 8.07417 vs 8.07414, alpha
    # 315.45878 vs 315.45779, s 5.81360 vs 5.81354, beta 704.58130 vs 704.57431 (all within
    # 1.1e-5 relative). Every other standard error is within half a unit.


def test_clvtools_method_stops_short_of_the_maximum(apparel, full):
    # CLVTools' path ends where the likelihood is flat; the default method goes on uphill
    summary, cov = apparel
    fit = ParetoNBD().fit(summary, covariates=cov, method="clvtools", **BOTH)
    assert fit.log_likelihood < full.log_likelihood
    assert full.log_likelihood - fit.log_likelihood < 1e-4
    with pytest.raises(ClvError, match="`method` must be one of"):
        ParetoNBD().fit(summary, covariates=cov, method="R", **BOTH)
    with pytest.raises(ClvError, match="need `covariates=`"):
        ParetoNBD().fit(summary, method="clvtools")


# ---------------------------------------------------------------------------------------------
# reduction to the base model


def test_all_zero_covariates_reduce_exactly_to_the_base_model():
    summary = cdnow_summary()
    base = ParetoNBD().fit(summary)
    cov = pd.DataFrame({"z": 0.0}, index=summary.index)
    with pytest.warns(UserWarning, match="NOT positive definite"):
        fit = ParetoNBD().fit(summary, covariates=cov, trans=["z"], life=["z"], strict=False)
    assert fit.coefficients == (0.0, 0.0)  # the gradient along gamma is exactly 0
    # the same maximum: the fit restarts from the base estimate with a tighter tolerance, so
    # parameters agree to the optimiser's precision (2e-9 relative) and the LL exactly
    for name, value in dataclasses.asdict(base.params).items():
        assert getattr(fit.params, name) == pytest.approx(value, rel=1e-7)
    assert fit.log_likelihood == pytest.approx(base.log_likelihood, rel=1e-12, abs=1e-9)
    # strict (the default) refuses the constant column before fitting, naming it
    with pytest.raises(DataValidationError, match=r"`z` of `trans` is constant \(0 "):
        ParetoNBD().fit(summary, covariates=cov, trans=["z"])


def test_covariate_likelihood_at_zero_coefficients_equals_base(apparel, full):
    summary, cov = apparel
    base = ParetoNBD().fit(summary)
    theta = np.r_[np.log(dataclasses.astuple(base.params)), np.zeros(4)]
    ll = -full._problem.objective(theta, False)[0] * 600
    assert ll == pytest.approx(base.log_likelihood, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# predictions: the base formulas with each customer's own alpha_i, beta_i


def test_predictions_equal_base_model_with_each_customers_parameters(apparel, full):
    summary, cov = apparel
    own = full.customer_params(cov.loc[summary.index])
    p_alive = full.p_alive(summary, covariates=cov)
    cet = full.conditional_expected_purchases(summary, t=52, covariates=cov)
    dert = full.dert(summary, covariates=cov, discount_rate=0.1, discount_period="Y")
    for cid in ["1", "10", "100", "250", "599"]:
        row = own.loc[cid]
        one = ParetoNBDFit.from_params(time_unit="W", **row.to_dict())
        x = summary.loc[[cid]]
        assert p_alive[cid] == pytest.approx(one.p_alive(x).iloc[0], rel=1e-12)
        assert cet[cid] == pytest.approx(
            one.conditional_expected_purchases(x, t=52).iloc[0], rel=1e-12)
        assert dert[cid] == pytest.approx(
            one.dert(x, discount_rate=0.1, discount_period="Y").iloc[0], rel=1e-12)
    assert p_alive.index.equals(summary.index)
    assert p_alive.between(0, 1).all()


def test_customer_params_follow_the_clvtools_parametrisation(full):
    cov = pd.DataFrame({"Gender": [0, 1, 0, 1], "Channel": [0, 0, 1, 1]})
    own = full.customer_params(cov)
    g = dict(zip(full.coefficient_names, full.coefficients, strict=True))
    p = full.params
    expected_alpha = p.alpha * np.exp(-(g["trans.Gender"] * cov.Gender
                                        + g["trans.Channel"] * cov.Channel))
    expected_beta = p.beta * np.exp(-(g["life.Gender"] * cov.Gender
                                      + g["life.Channel"] * cov.Channel))
    np.testing.assert_allclose(own["alpha"], expected_alpha, rtol=1e-14)
    np.testing.assert_allclose(own["beta"], expected_beta, rtol=1e-14)
    assert (own["r"] == p.r).all() and (own["s"] == p.s).all()


def test_new_customer_purchases_with_covariates(full):
    new = pd.DataFrame({"Gender": [0, 1], "Channel": [1, 1]}, index=["a", "b"])
    e = full.expected_purchases_new_customer(52, covariates=new)
    own = full.customer_params(new)
    for cid in new.index:
        one = ParetoNBDFit.from_params(time_unit="W", **own.loc[cid].to_dict())
        assert e[cid] == pytest.approx(one.expected_purchases_new_customer(52), rel=1e-12)
    assert list(e.index) == ["a", "b"]


# ---------------------------------------------------------------------------------------------
# categorical covariates and bad input


def test_text_covariates_become_dummies_with_a_named_reference(apparel, full):
    summary, cov = apparel
    text = pd.DataFrame({"Gender": cov.Gender.map({0: "male", 1: "female"}),
                         "Channel": cov.Channel.map({0: "online", 1: "offline"})})
    fit = ParetoNBD().fit(summary, covariates=text, trans=["Gender", "Channel"],
                          life=["Gender", "Channel"],
                          reference={"Gender": "male", "Channel": "online"})
    assert fit.coefficient_names == ("trans.Gender[female]", "trans.Channel[offline]",
                                     "life.Gender[female]", "life.Channel[offline]")
    np.testing.assert_allclose(fit.coefficients, full.coefficients, rtol=1e-5)
    assert fit.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-10)
    # the default reference is the first level in sorted order: "female", "offline"
    flipped = ParetoNBD().fit(summary, covariates=text, trans=["Channel"])
    assert flipped.coefficient_names == ("trans.Channel[online]",)
    assert flipped.coefficients[0] < 0  # online buys less often than offline
    with pytest.raises(DataValidationError, match="level not seen"):
        fit.p_alive(summary.head(1), covariates=text.replace("online", "phone"))


def test_encode_covariates_refuses_a_single_level_and_unknown_reference():
    cov = pd.DataFrame({"c": ["x", "x"], "d": ["u", "v"]})
    with pytest.raises(DataValidationError, match="single level"):
        encode_covariates(cov, ["c"])
    with pytest.raises(ClvError, match="does not occur"):
        encode_covariates(cov, ["d"], reference={"d": "w"})


def test_bad_covariates_are_refused_naming_customers(apparel):
    summary, cov = apparel
    with pytest.raises(DataValidationError, match=r"no covariates for .*\b5\b"):
        ParetoNBD().fit(summary, covariates=cov.drop(index="5"), trans=["Gender"])
    holed = cov.astype(float)
    holed.loc["7", "Channel"] = np.nan
    with pytest.raises(DataValidationError, match=r"`Channel` is missing.*\b7\b"):
        ParetoNBD().fit(summary, covariates=holed, life=["Channel"])
    with pytest.raises(DataValidationError, match="not a column"):
        ParetoNBD().fit(summary, covariates=cov, life=["Age"])
    with pytest.raises(ClvError, match="every process"):
        ParetoNBD().fit(summary, covariates=cov, trans=["Gender"], life=["Channel"],
                        constrain=["Gender"])
    with pytest.raises(ClvError, match="need `covariates=`"):
        ParetoNBD().fit(summary, trans=["Gender"])


def test_inputs_are_not_modified(apparel):
    summary, cov = apparel
    before_s, before_c = summary.copy(), cov.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ParetoNBD().fit(summary, covariates=cov, trans=["Channel"])
    pd.testing.assert_frame_equal(summary, before_s)
    pd.testing.assert_frame_equal(cov, before_c)


def test_predictions_default_to_the_fitted_customers_covariates(full, apparel):
    summary, cov = apparel
    pd.testing.assert_series_equal(full.p_alive(summary), full.p_alive(summary, covariates=cov))
    other = summary.head(2).rename(index={"1": "new-1"})
    with pytest.raises(DataValidationError, match="new-1.*pass `covariates=`"):
        full.p_alive(other)


def test_customer_lifetime_value_and_new_customer_clv_with_covariates(full, apparel):
    from clvkit.clv import customer_lifetime_value, new_customer_clv
    from clvkit.models import GammaGammaFit

    summary, cov = apparel
    gg = GammaGammaFit.from_params(p=4.0, q=3.0, gamma=20.0, time_unit="W")
    options = {"horizon": 1, "horizon_unit": "Y", "discount_rate": 0.01,
               "discount_period": "M"}
    some = summary.loc[["1", "2", "11", "16"]]
    clv = customer_lifetime_value(full, gg, some, **options)
    for cid in some.index:
        one = full.customer_model(cov.loc[[cid]])
        assert isinstance(one, ParetoNBDFit)
        alone = customer_lifetime_value(one, gg, some.loc[[cid]], **options)
        assert clv.loc[cid].to_dict() == pytest.approx(alone.iloc[0].to_dict(), rel=1e-12)
    # a new customer's value by acquisition channel: offline customers buy more often but
    # leave sooner (trans.Channel, life.Channel > 0)
    online = new_customer_clv(full.customer_model({"Gender": 0, "Channel": 0}), gg, **options)
    offline = new_customer_clv(full.customer_model({"Gender": 0, "Channel": 1}), gg, **options)
    assert offline["expected_purchases"] != online["expected_purchases"]
    new = full.expected_purchases_new_customer(
        52.1775, covariates=pd.DataFrame({"Gender": [0], "Channel": [1]}))
    assert offline["expected_purchases"] == pytest.approx(new.iloc[0], rel=1e-9)


# ---------------------------------------------------------------------------------------------
# BG/NBD: no published values; an independent likelihood by numerical integration


def _bgnbd_integrated(x, t_x, T, r, alpha, a, b):  # noqa: N803
    """BG/NBD likelihood of one customer, p ~ Beta(a, b) integrated numerically.

    Given p: (1 - p)^x E[l^x e^(-l T)] + [x > 0] p (1 - p)^(x - 1) E[l^x e^(-l t_x)] with
    l ~ Gamma(r, alpha), E[l^x e^(-l t)] = G(r + x) / G(r) alpha^r / (alpha + t)^(r + x)
    (Fader, Hardie & Lee 2005, eqs. (3)-(4)); the Beta mixing is done by quadrature, not
    by the Beta-function algebra of eq. (6) used by the model.
    """
    from scipy import integrate, special, stats

    def moment(t):
        return np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                      - (r + x) * np.log(alpha + t))

    def given(p):
        dead = p * (1 - p) ** (x - 1) * moment(t_x) if x > 0 else 0.0
        return ((1 - p) ** x * moment(T) + dead) * stats.beta.pdf(p, a, b)

    return integrate.quad(given, 0, 1, epsabs=0, epsrel=1e-11, limit=200)[0]


@pytest.fixture(scope="module")
def simulated():
    return _simulate_bgnbd(3000, gamma_trans=0.5, gamma_life=-0.7, seed=11)


@pytest.fixture(scope="module")
def bg_full(simulated):
    from clvkit.models import BGNBD

    summary, cov = simulated
    return BGNBD().fit(summary, covariates=cov, trans=["z"], life=["z"])


def test_bgnbd_on_apparel_with_lifetime_covariates_is_degenerate(apparel):
    # CLVTools prints no BG/NBD covariate fit of these data; ours runs off: a and b of the
    # reference customers (online, male) go to ~1e6 (a point mass of the dropout
    # probability), which is refused as degenerate like the base models' fits
    from clvkit.models import BGNBD

    summary, cov = apparel
    with pytest.raises(ConvergenceError, match="degenerate.*a, b"):
        BGNBD().fit(summary, covariates=cov, **BOTH)


def test_bgnbd_covariate_likelihood_equals_numerical_integration(simulated, bg_full):
    summary, cov = simulated
    assert bg_full.success
    own = bg_full.customer_params(cov.loc[summary.index])
    # one customer of each covariate group, plus a zero-repeater
    picks = list(cov.groupby("z").head(2).index)
    picks += [summary.index[((summary.frequency == 0) & (cov.z == k)).to_numpy()][0]
              for k in (0, 1)]
    problem = bg_full._problem
    theta = np.r_[np.log(dataclasses.astuple(bg_full.params)), bg_full.coefficients]
    vals, _ = problem.values(theta)
    ll_rows = bg_full._model_type()._loglik_groups(vals, problem.d, False)[0]
    d = problem.d
    for cid in picks:
        x, t_x, T = summary.loc[cid, ["frequency", "recency", "T"]]  # noqa: N806
        p = own.loc[cid]
        expected = np.log(_bgnbd_integrated(x, t_x, T, p.r, p.alpha, p.a, p.b))
        # find the compressed row of this customer: same (x, t_x, T) and group params
        match = ((d["frequency"] == x) & np.isclose(d["recency"], t_x) & (d["T"] == T)
                 & np.isclose(vals[1][d["_g"]], p.alpha) & np.isclose(vals[2][d["_g"]], p.a))
        assert match.sum() == 1, cid
        assert ll_rows[match][0] == pytest.approx(expected, rel=1e-7), cid


def test_bgnbd_predictions_equal_base_model_with_each_customers_parameters(simulated, bg_full):
    from clvkit.models import BGNBDFit

    summary, cov = simulated
    own = bg_full.customer_params(cov.loc[summary.index])
    alive = bg_full.p_alive(summary, covariates=cov)
    cet = bg_full.conditional_expected_purchases(summary, t=52, covariates=cov)
    new = bg_full.expected_purchases_new_customer(52, covariates=cov.loc[[1, 2]])
    for cid in [1, 2, 300, 598]:
        one = BGNBDFit.from_params(time_unit="W", **own.loc[cid].to_dict())
        x = summary.loc[[cid]]
        assert alive[cid] == pytest.approx(one.p_alive(x).iloc[0], rel=1e-12)
        assert cet[cid] == pytest.approx(
            one.conditional_expected_purchases(x, t=52).iloc[0], rel=1e-12)
    for cid in [1, 2]:
        one = BGNBDFit.from_params(time_unit="W", **own.loc[cid].to_dict())
        assert new[cid] == pytest.approx(one.expected_purchases_new_customer(52), rel=1e-12)
    # a and b move together with the lifetime covariates (CLVTools' bgnbd_staticcov_a_i/b_i)
    np.testing.assert_allclose(own["a"] / own["b"], bg_full.params.a / bg_full.params.b)


def test_bgnbd_all_zero_covariates_reduce_to_the_base_model():
    from clvkit.models import BGNBD, MBGNBD

    summary = cdnow_summary()
    base = BGNBD().fit(summary)
    cov = pd.DataFrame({"z": 0}, index=summary.index)
    with pytest.warns(UserWarning, match="NOT positive definite"):
        fit = BGNBD().fit(summary, covariates=cov, trans=["z"], life=["z"], strict=False)
    assert fit.coefficients == (0.0, 0.0)
    for name, value in dataclasses.asdict(base.params).items():
        assert getattr(fit.params, name) == pytest.approx(value, rel=1e-6)
    assert fit.log_likelihood == pytest.approx(base.log_likelihood, rel=1e-12)
    with pytest.raises(ClvError, match="no covariate version"):
        MBGNBD().fit(summary, covariates=cov, trans=["z"])


def _simulate_bgnbd(n, gamma_trans, gamma_life, seed):
    """BG/NBD customers over T = 52 with one binary covariate in both processes."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    r, alpha, a, b, T = 0.8, 5.0, 0.6, 2.5, 52.0  # noqa: N806
    lam = rng.gamma(r, 1 / (alpha * np.exp(-gamma_trans * z)))
    p = rng.beta(a * np.exp(gamma_life * z), b * np.exp(gamma_life * z))
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t[alive] += rng.exponential(1 / lam[alive])
        bought = alive & (t <= T)
        x[bought] += 1
        t_x[bought] = t[bought]
        alive &= bought & (rng.random(n) >= p)
    frame = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    frame.attrs["time_unit"] = "W"
    return frame, pd.DataFrame({"z": z}, index=frame.index)


def test_bgnbd_recovers_known_coefficients_from_simulated_data(bg_full):
    table = bg_full.summary()
    for name, true in (("trans.z", 0.5), ("life.z", -0.7)):
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], table


def _simulate_pareto_nbd(n, gamma_trans, gamma_life, seed):
    """Pareto/NBD customers (ages 26-52 weeks) with one binary covariate in both processes."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    lam = rng.gamma(0.55, 1 / (10.0 * np.exp(-gamma_trans * z)))
    mu = rng.gamma(0.6, 1 / (12.0 * np.exp(-gamma_life * z)))
    T = rng.uniform(26, 52, n)  # noqa: N806
    alive_for = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * alive_for).astype(float)
    # the last of x uniform purchase times on (0, alive_for)
    t_x = np.where(x > 0, alive_for * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    frame = pd.DataFrame({"frequency": x, "recency": t_x, "T": T})
    frame.attrs["time_unit"] = "W"
    return frame, pd.DataFrame({"z": z}, index=frame.index)


def test_pareto_nbd_recovers_known_coefficients_within_their_intervals():
    summary, cov = _simulate_pareto_nbd(3000, 0.5, -0.5, seed=5)
    table = ParetoNBD().fit(summary, covariates=cov, trans=["z"], life=["z"]).summary()
    for name, true in (("trans.z", 0.5), ("life.z", -0.5), ("r", 0.55), ("alpha", 10.0),
                       ("s", 0.6), ("beta", 12.0)):
        assert table.loc[name, "lower"] < true < table.loc[name, "upper"], table


def test_functions_that_would_ignore_the_covariates_refuse_the_fit(full, apparel):
    # a new customer's count distribution and the JSON file would read fit.params (the
    # reference customer's) and be silently wrong for others: they refuse
    from clvkit.models import probability_of_purchases, save_fit

    for call in (lambda: probability_of_purchases(full, t=10, n=2),
                 lambda: save_fit(full, "unused.json"),
                 lambda: full.expected_purchases_new_customer(10)):
        with pytest.raises(ClvError, match="static covariates|ParetoNBDCovariatesFit"):
            call()
    # the per-customer base model is the way in
    one = full.customer_model({"Gender": 1, "Channel": 0})
    assert probability_of_purchases(one, t=10, n=[0, 1, 2]).sum() < 1


@pytest.mark.parametrize("which", ["Pareto/NBD", "BG/NBD"])
def test_protocol_predictions_of_a_covariate_fit_use_each_customers_parameters(
        which, full, bg_full, apparel, simulated):
    # P(alive) later on and DERT (the wrappers of clvkit.models.future call the fit's
    # methods) equal the base model at each customer's own parameters
    from clvkit.models import BGNBDFit, dert, p_alive_at

    fit, (summary, cov), base = ((full, apparel, ParetoNBDFit) if which == "Pareto/NBD"
                                 else (bg_full, simulated, BGNBDFit))
    later = p_alive_at(fit, summary, t=10)
    value = dert(fit, summary, discount_rate=0.1, discount_period="Y")
    own = fit.customer_params(cov.loc[summary.index])
    picks = list(cov.loc[summary.index].groupby(cov.columns[0]).head(2).index)
    for cid in picks:
        one = base.from_params(time_unit=fit.time_unit, **own.loc[cid].to_dict())
        x = summary.loc[[cid]]
        assert later[cid] == pytest.approx(one.p_alive_at(x, t=10).iloc[0], rel=1e-12)
        assert value[cid] == pytest.approx(
            one.dert(x, discount_rate=0.1, discount_period="Y").iloc[0], rel=1e-12)
    assert later.index.equals(summary.index) and (later <= fit.p_alive(summary)).all()
    # other customers' covariates change the answer (the covariates are read)
    moved = cov.loc[summary.index].copy()
    moved[cov.columns[0]] = 1 - moved[cov.columns[0]]
    assert not np.allclose(fit.dert(summary, covariates=moved, discount_rate=0.1,
                                    discount_period="Y"), value)


# ---------------------------------------------------------------------------------------------
# bootstrap: customers resampled with their covariates (Efron & Tibshirani 1993, ch. 6)


@pytest.fixture(scope="module")
def full_boot(full):
    return full.bootstrap(n=30, seed=7)


def test_bootstrap_replicates_every_parameter_and_coefficient(full, full_boot):
    assert full_boot.replicates.shape == (30, 8)
    assert list(full_boot.replicates.columns) == list(full.estimates().index)
    assert full_boot.converged.all()
    table = full_boot.summary()
    np.testing.assert_allclose(table["estimate"], full.estimates(), rtol=1e-15)
    assert (table["lower"] < table["estimate"]).all() and (table["estimate"] < table["upper"]).all()
    # bootstrap and observed-information standard errors of the coefficients agree in size
    # (30 replicates: the bootstrap's is itself uncertain by ~13 %)
    ratio = table["std_error"] / full.summary()["std_error"]
    coef = [c for c in table.index if "." in c]
    assert ratio[coef].between(0.6, 1.6).all(), ratio


@pytest.mark.slow
def test_bootstrap_is_reproducible_whatever_the_workers(full, full_boot):
    again = full.bootstrap(n=30, seed=7, n_jobs=2)
    pd.testing.assert_frame_equal(again.replicates, full_boot.replicates)
    assert not full.bootstrap(n=5, seed=8).replicates.equals(full_boot.replicates.head(5))


def test_bootstrap_needs_five_replicates(full):
    # the base models' rule: with fewer a "95 %" interval is the range of a handful
    for n in (0, 4, 2.5):
        with pytest.raises(ClvError, match=">= 5"):
            full.bootstrap(n=n, seed=1)
    assert full.bootstrap(n=5, seed=1).n == 5


def test_a_replicate_is_the_fit_of_the_resampled_customers_with_their_covariates(full):
    # the refit on multinomial counts of the compressed (history, covariate) rows equals a
    # new fit on those customers written out one row each, covariates attached
    from clvkit.models.uncertainty import _refit

    problem = full._problem
    counts = np.random.default_rng(5).multinomial(600, problem.w / problem.w.sum())
    theta, ok = _refit(problem, counts.astype(float), full._theta(),
                       full._log_covariance(per_customer=True))
    assert ok
    rows = np.repeat(np.arange(len(counts)), counts)
    g = problem.d["_g"][rows]
    summary = pd.DataFrame({c: problem.d[c][rows] for c in ("frequency", "recency", "T")})
    summary.index = pd.Index([f"c{i}" for i in range(len(rows))], name="customer_id")
    summary.attrs["time_unit"] = "W"
    names = full._layout.trans.names  # numeric 0/1 columns: the design is the covariates
    cov = pd.DataFrame(problem.z["trans"][g], columns=names, index=summary.index)
    direct = ParetoNBD().fit(summary, covariates=cov, **BOTH)
    np.testing.assert_allclose(theta, direct._theta(), rtol=1e-4, atol=1e-5)


def test_bootstrap_prediction_intervals_take_the_covariates(apparel, full, full_boot):
    summary, cov = apparel
    few = summary.head(40)
    out = full_boot.conditional_expected_purchases(few, t=52, covariates=cov)
    point = full.conditional_expected_purchases(few, t=52, covariates=cov)
    np.testing.assert_allclose(out.customers["expected_purchases"], point, rtol=1e-15)
    per_replicate = np.vstack([f.conditional_expected_purchases(few, t=52, covariates=cov)
                               for f in full_boot.fits()])
    np.testing.assert_allclose(out.customers["lower"], np.quantile(per_replicate, 0.025, axis=0))
    np.testing.assert_allclose(out.total["upper"],
                               np.quantile(per_replicate.sum(axis=1), 0.975))
    # other covariates, other intervals: the replicates read them
    flipped = cov.assign(Channel=1 - cov["Channel"])
    moved = full_boot.conditional_expected_purchases(few, t=52, covariates=flipped)
    assert not np.allclose(moved.customers["upper"], out.customers["upper"])


def test_bgnbd_bootstrap_interval_covers_the_estimate_and_is_seeded(simulated, bg_full):
    boot = bg_full.bootstrap(n=20, seed=3)
    table = boot.summary()
    assert boot.converged.all()
    assert (table["lower"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["upper"]).all()
    pd.testing.assert_frame_equal(bg_full.bootstrap(n=20, seed=3).replicates, boot.replicates)


# ---------------------------------------------------------------------------------------------
# a model declares its covariates in one place


def test_covariates_are_declared_by_the_model_alone():
    # an NBD with a covariate on its purchase rate, declared here and nowhere else: the
    # linked parameter (alpha_i = alpha exp(-gamma z_i)), the per-group likelihood
    # (RowGroups) and the predictions (the NBD's, written once for both). Fitting,
    # standard errors, the bootstrap and every prediction then work without a line in
    # clvkit.models.covariates, future, probabilities or intervals.
    from dataclasses import dataclass
    from typing import ClassVar

    from clvkit.models.covariates import RowGroups, StaticCovariatesFit, fit_static
    from clvkit.models.nbd import NBD, NBDParams, NBDPredictions

    @dataclass(frozen=True)
    class NBDCovariatesFit(NBDPredictions, StaticCovariatesFit):
        params: NBDParams
        model_name: ClassVar[str] = "NBD with static covariates"

    class NBDWithCovariates(RowGroups, NBD):
        covariate_links: ClassVar[dict] = {"trans": (("alpha", -1),)}
        covariates_result_type = NBDCovariatesFit

    NBDCovariatesFit._model_type = NBDWithCovariates

    rng = np.random.default_rng(4)
    n = 4000
    z = rng.integers(0, 2, n)
    lam = rng.gamma(0.8, 1 / (6.0 * np.exp(-0.6 * z)))  # Gamma(r, alpha_i): gamma = 0.6
    T = rng.uniform(20, 52, n)  # noqa: N806
    x = rng.poisson(lam * T)
    idx = pd.Index([f"c{i}" for i in range(n)], name="customer_id")
    summary = pd.DataFrame({"frequency": x, "recency": np.where(x > 0, T * 0.9, 0.0), "T": T},
                           index=idx)
    summary.attrs["time_unit"] = "W"
    cov = pd.DataFrame({"z": z}, index=idx)
    fit = fit_static(NBDWithCovariates(), summary, covariates=cov, processes={"trans": ["z"]})
    table = fit.summary()
    assert table.loc["trans.z", "lower"] < 0.6 < table.loc["trans.z", "upper"], table
    # coefficient 0: exactly the NBD's likelihood
    base = NBD().fit(summary)
    ll0 = -fit._problem.objective(np.r_[np.log(dataclasses.astuple(base.params)), 0.0],
                                  False)[0] * n
    assert ll0 == pytest.approx(base.log_likelihood, rel=1e-12)
    # predictions: the NBD at each customer's own alpha_i
    own = fit.customer_params(cov)
    for cid in ("c0", "c1", "c2"):
        one = NBD().result_type.from_params(time_unit="W", **own.loc[cid].to_dict())
        row = summary.loc[[cid]]
        assert fit.conditional_expected_purchases(summary, t=10)[cid] == pytest.approx(
            one.conditional_expected_purchases(row, t=10).iloc[0], rel=1e-12)
        assert fit.dert(summary, discount_rate=0.1, discount_period="Y")[cid] == pytest.approx(
            one.dert(row, discount_rate=0.1, discount_period="Y").iloc[0], rel=1e-12)
    new = fit.expected_purchases_new_customer(10.0, covariates=pd.DataFrame({"z": [0, 1]}))
    assert new.iloc[1] == pytest.approx(new.iloc[0] * np.exp(fit.coefficients[0]), rel=1e-12)
    boot = fit.bootstrap(n=5, seed=1)
    assert boot.converged.all() and list(boot.replicates.columns) == ["r", "alpha", "trans.z"]


# ---------------------------------------------------------------------------------------------
# mistakes a user makes (issue 22's stranger test)


def test_default_row_numbers_as_covariate_index_are_refused(apparel):
    # the frame read from a CSV without set_index: its 0..n-1 row numbers matched the
    # summary's text ids '1'..'599' silently (the wrong customers' covariates)
    summary, cov = apparel
    with pytest.raises(DataValidationError, match=r"default 0\.\.n-1 .*set_index\('customer_id'\)"):
        ParetoNBD().fit(summary, covariates=cov.reset_index(), trans=["Channel"])


def test_ids_matching_only_as_text_name_both_types(apparel):
    summary, cov = apparel
    numbered = summary.set_axis(summary.index.astype(int))
    with pytest.raises(DataValidationError, match="customer ids are int64 in the summary and "
                       "str in the covariates"):
        ParetoNBD().fit(numbered, covariates=cov, trans=["Channel"])


def test_unknown_reference_column_is_named(apparel):
    summary, cov = apparel
    cat = cov.assign(Channel=cov["Channel"].map({0: "online", 1: "store"}))
    with pytest.raises(ClvError, match=r"`reference` names \['Chanel'\].*\['Gender', 'Channel'\]"):
        ParetoNBD().fit(summary, covariates=cat, **BOTH, reference={"Chanel": "store"})


@pytest.mark.parametrize(("extra", "trans", "match"), [
    ({}, ["Gender", "Gender"], r"`trans` names \['Gender'\] more than once"),
    ({"one": 1}, ["Gender", "one"], r"`one` of `trans` is constant \(1 "),
    ({"G2": "2G"}, ["Gender", "G2"], r"`G2` of `trans` is a linear combination of \['Gender'\]"),
])
def test_unidentifiable_covariates_are_refused_naming_the_column(apparel, extra, trans, match):
    summary, cov = apparel
    extra = {k: 2 * cov["Gender"] if v == "2G" else v for k, v in extra.items()}
    with pytest.raises(ClvError, match=match):
        ParetoNBD().fit(summary, covariates=cov.assign(**extra), trans=trans)


def test_a_single_column_name_is_one_covariate(apparel):
    summary, cov = apparel
    one = ParetoNBD().fit(summary, covariates=cov, trans="Gender", life="Channel")
    assert one.coefficient_names == ("trans.Gender", "life.Channel")


def test_clvtools_path_gets_the_same_degeneracy_check(apparel):
    # BG/NBD with Gender and Channel in both processes on the apparel data: a0 and b0 grow
    # without bound as life.Channel falls; the default path runs off and is refused, and
    # CLVTools' path, which stops at a=5726, b=42251 (intervals 1e-57..1e64), is too
    from clvkit.models import BGNBD

    summary, cov = apparel
    for method in ("clvkit", "clvtools"):
        with pytest.raises(ConvergenceError, match=r"degenerate estimate .*: a, b"):
            BGNBD().fit(summary, covariates=cov, **BOTH, method=method)
    with pytest.warns(UserWarning, match=r"degenerate .*: a, b, life\.Channel"):
        loose = BGNBD().fit(summary, covariates=cov, **BOTH, method="clvtools", strict=False)
    assert not loose.success
