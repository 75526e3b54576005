"""New-customer CLV (clvkit.clv.new_customer_clv).

Sources: the unconditional expectation E[X(t)] of FHL (2005, Marketing Science) eq. (9)
(BG/NBD), written out by hand below, and of Fader & Hardie note 009 eq. (27) (Pareto/NBD);
the Gamma-Gamma population mean spend p gamma / (q - 1) (Fader & Hardie, "The Gamma-Gamma
Model of Monetary Value", 2013, eq. (3)).
"""

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from clvkit.clv import customer_lifetime_value, new_customer_clv
from clvkit.errors import ClvError
from clvkit.models import BGNBDFit, GammaGammaFit, ParetoNBDFit

BG = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
PNBD = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
GG = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit=None)


def test_matches_a_hand_computation_from_eq_9():
    # one year at 1% a month with a weekly model: month k ends at k * 365.2425 / 12 / 7
    # weeks; E[X(t)] by eq. (9) written out here; value = margin * p gamma / (q - 1)
    # * (1 + sum_k (E[X(t_k)] - E[X(t_{k-1})]) / 1.01^k)
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426

    def ex(t):
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                        * hyp2f1(r, b, a + b - 1, t / (alpha + t)))

    weeks = np.arange(13) * 365.2425 / 12 / 7
    discounted = sum((ex(weeks[k]) - ex(weeks[k - 1])) / 1.01**k for k in range(1, 13))
    mean_spend = 6.25 * 15.44 / (3.74 - 1)
    v = new_customer_clv(BG, GG, horizon=12, horizon_unit="M", discount_rate=0.01,
                         discount_period="M", margin=0.3)
    assert v["discounted_purchases"] == pytest.approx(discounted, rel=1e-12)
    assert v["expected_purchases"] == pytest.approx(ex(weeks[-1]), rel=1e-12)
    assert v["mean_spend"] == pytest.approx(mean_spend, rel=1e-12)
    assert v["clv"] == pytest.approx(0.3 * mean_spend * (1 + discounted), rel=1e-12)
    assert v.attrs["horizon_unit"] == "M" and v.attrs["model_time_unit"] == "W"
    # the same horizon however expressed
    y = new_customer_clv(BG, GG, horizon=1, horizon_unit="Y", discount_rate=0.01,
                         discount_period="M", margin=0.3)
    assert y["clv"] == pytest.approx(v["clv"], rel=1e-12)


@pytest.mark.parametrize("fit", [BG, PNBD], ids=["BG/NBD", "Pareto/NBD"])
def test_equals_the_clv_of_a_customer_with_no_history(fit):
    # a customer with x = t_x = T = 0 is alive with the population's rates (P(alive) = 1 in
    # both models), so customer_lifetime_value of that row is the repeat-purchase part
    row = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [0.0],
                        "monetary_value": [np.nan]}, index=pd.Index(["new"], name="ID"))
    row.attrs["time_unit"] = "W"
    gg = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit="W")
    old = customer_lifetime_value(fit, gg, row, horizon=2, horizon_unit="Y",
                                  discount_rate=0.1, discount_period="Y")
    new = new_customer_clv(fit, GG, horizon=2, horizon_unit="Y", discount_rate=0.1,
                           discount_period="Y", include_first_purchase=False)
    assert new["clv"] == pytest.approx(old["clv"].iloc[0], rel=1e-10)
    assert new["first_purchase"] == 0.0


def test_undiscounted_value_and_errors():
    v = new_customer_clv(PNBD, GG, horizon=52, horizon_unit="W", discount_rate=0.0,
                         discount_period="W")
    assert v["discounted_purchases"] == pytest.approx(PNBD.expected_purchases_new_customer(52))
    assert v["clv"] == pytest.approx(GG.mean_spend * (1 + v["expected_purchases"]))
    with pytest.raises(ClvError, match="horizon_unit"):
        new_customer_clv(BG, GG, horizon=1, horizon_unit="Q", discount_rate=0.1,
                         discount_period="Y")
    with pytest.raises(ClvError, match="margin"):
        new_customer_clv(BG, GG, horizon=1, horizon_unit="Y", discount_rate=0.1,
                         discount_period="Y", margin=-1)
    with pytest.raises(ClvError, match="mean spend"):
        new_customer_clv(BG, GammaGammaFit.from_params(p=6.0, q=0.9, gamma=15.0,
                                                       time_unit=None),
                         horizon=1, horizon_unit="Y", discount_rate=0.1, discount_period="Y")
    with pytest.raises(ClvError, match="time_unit"):
        new_customer_clv(BGNBDFit.from_params(r=0.2, alpha=4.0, a=0.8, b=2.4, time_unit=None),
                         GG, horizon=1, horizon_unit="Y", discount_rate=0.1,
                         discount_period="Y")


def test_a_fit_with_covariates_asks_for_the_customers_covariates():
    # a fit with covariates has no single new customer: new_customer_clv used to end in a raw
    # TypeError from expected_purchases_new_customer(); now one ClvError names the way, and
    # the model of a customer with given covariates (alpha_i = alpha0 exp(-g z_i), CLVTools'
    # parametrisation) is valued like the base model at those parameters
    from clvkit.datasets import load_clvtools_apparel
    from clvkit.models import ParetoNBD

    apparel = load_clvtools_apparel()
    fit = ParetoNBD().fit(apparel["summary"], covariates=apparel["static"],
                          trans=["Gender"], life=["Gender"])
    kw = dict(horizon=1, horizon_unit="Y", discount_rate=0.1, discount_period="Y")
    with pytest.raises(ClvError, match=r"has covariates.*customer_model"):
        new_customer_clv(fit, GG, **kw)
    p, g = fit.params, dict(zip(fit.coefficient_names, fit.coefficients, strict=True))
    own = ParetoNBDFit.from_params(r=p.r, alpha=p.alpha * np.exp(-g["trans.Gender"]), s=p.s,
                                   beta=p.beta * np.exp(-g["life.Gender"]), time_unit="W")
    woman = new_customer_clv(fit.customer_model({"Gender": 1}), GG, **kw)
    assert woman["clv"] == pytest.approx(new_customer_clv(own, GG, **kw)["clv"], rel=1e-12)
