"""The one protocol of the fitted purchase models (clvkit.models.protocol).

Every purchase model answers P(alive), expected purchases, DERT and a new customer's
purchases with methods of the same names; the free functions of clvkit.models.future and
clvkit.models.probabilities only call them.
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError
from clvkit.models import (
    BetaGeoBetaBinomialFit,
    BGNBDFit,
    GammaGammaFit,
    MBGNBDFit,
    ParetoNBDDynamicFit,
    ParetoNBDFit,
    ShiftedBetaGeometricFit,
    dert,
    p_alive_at,
    probability_of_purchases,
)
from clvkit.models.nbd import NBDFit
from clvkit.models.protocol import CountModelFit, PurchaseModelFit

BG = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
MBG = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
PNBD = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
NBD = NBDFit.from_params(r=0.385, alpha=12.07, time_unit="W")
BGBB = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783,
                                          time_unit="Y")
GG = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit=None)
SBG = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
RFT_FITS = pytest.mark.parametrize("fit", [BG, MBG, PNBD, NBD],
                                   ids=["BG/NBD", "MBG/NBD", "Pareto/NBD", "NBD"])
HISTORY = {"frequency": [0, 2, 7], "recency": [0, 30.43, 35.0], "T": [38.86, 38.86, 38.86]}


def test_every_purchase_model_follows_the_protocol_and_no_other_model_does():
    for fit in (BG, MBG, PNBD, NBD, BGBB):
        assert isinstance(fit, PurchaseModelFit), fit.model_name
    for fit in (BG, MBG, PNBD):
        assert isinstance(fit, CountModelFit), fit.model_name
    for fit in (GG, SBG):
        assert not isinstance(fit, PurchaseModelFit), fit.model_name
    for name in ("p_alive", "conditional_expected_purchases", "dert",
                 "expected_purchases_new_customer"):
        assert callable(getattr(ParetoNBDDynamicFit, name)), name


@RFT_FITS
def test_the_methods_return_predictions_on_the_customer_index(fit):
    s = pd.DataFrame(HISTORY, index=pd.Index(["a", "b", "c"], name="customer_id"))
    s.attrs["time_unit"] = "W"
    alive = fit.p_alive(s)
    later = fit.p_alive_at(s, t=26)
    value = fit.dert(s, discount_rate=0.15, discount_period="Y")
    purchases = fit.conditional_expected_purchases(s, t=52)
    for out in (alive, later, value, purchases):
        assert out.index.equals(s.index)
    assert ((later <= alive + 1e-15) & (later >= 0)).all()
    # DERT discounts every future purchase: less than the undiscounted purchases forever,
    # more than those of the next year discounted at a year's rate
    assert (value > purchases / 1.15).all()
    new = fit.expected_purchases_new_customer([13.0, 52.0])
    assert np.all(np.diff(new) > 0) and np.all(new > 0)
    # the free functions are the same numbers
    pd.testing.assert_series_equal(p_alive_at(fit, s, t=26), later)
    pd.testing.assert_series_equal(dert(fit, s, discount_rate=0.15, discount_period="Y"), value)


@pytest.mark.parametrize("fit", [BG, MBG, PNBD], ids=["BG/NBD", "MBG/NBD", "Pareto/NBD"])
def test_a_fit_without_covariates_refuses_covariates(fit):
    # the same methods serve the fits with covariates: given here they would be ignored
    with pytest.raises(ClvError, match="has no covariates"):
        fit.p_alive(pd.DataFrame(HISTORY), covariates=pd.DataFrame({"z": [0, 1, 0]}))
    with pytest.raises(ClvError, match="has no covariates"):
        fit.expected_purchases_new_customer(10.0, covariates=pd.DataFrame({"z": [1]}))


@pytest.mark.parametrize("other", [GG, SBG], ids=["Gamma-Gamma", "sBG"])
def test_the_free_functions_name_a_model_without_the_prediction(other):
    with pytest.raises(ClvError, match=f"{other.model_name}.*Pareto/NBD"):
        dert(other, **HISTORY, discount_rate=0.1, discount_period="Y")
    with pytest.raises(ClvError, match=f"{other.model_name}.*Pareto/NBD"):
        p_alive_at(other, **HISTORY, t=4)
    with pytest.raises(ClvError, match="not " + other.model_name):
        probability_of_purchases(other, t=4, n=1)
    with pytest.raises(ClvError, match="not " + "BG/BB"):
        probability_of_purchases(BGBB, t=4, n=1)


def test_bgbb_dert_takes_a_rate_per_discount_period_like_the_other_models():
    # FHL & Shang (2010) eq. (14) discounts per opportunity: 10 % a year on yearly
    # opportunities is the same as the rate per opportunity; a monthly rate compounds
    rows = {"frequency": [6, 0, 3], "recency": [6, 0, 4], "n_periods": [6, 6, 6]}
    per_opportunity = BGBB.dert(**rows, discount_rate=0.1)
    np.testing.assert_allclose(BGBB.dert(**rows, discount_rate=0.1, discount_period="Y"),
                               per_opportunity, rtol=1e-13)
    monthly = 1.1 ** (1 / 12) - 1
    np.testing.assert_allclose(BGBB.dert(**rows, discount_rate=monthly, discount_period="M"),
                               per_opportunity, rtol=1e-6)  # a year is 12 mean months
    unitless = BetaGeoBetaBinomialFit.from_params(alpha=1.2, beta=0.75, gamma=0.66, delta=2.8,
                                                  time_unit=None)
    with pytest.raises(ClvError, match="time_unit"):
        unitless.dert(**rows, discount_rate=0.1, discount_period="Y")


def test_the_dynamic_fit_refuses_what_its_covariate_table_cannot_tell():
    dynamic = ParetoNBDDynamicFit.from_params(r=0.5, alpha=10.0, s=0.6, beta=11.0,
                                              time_unit="W")
    with pytest.raises(ClvError, match="covariates for all future time"):
        dynamic.dert(None, discount_rate=0.1, discount_period="Y")
    with pytest.raises(ClvError, match="future covariate path|every period ahead"):
        dynamic.expected_purchases_new_customer(10)
