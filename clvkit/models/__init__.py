"""Predictive CLV models: one module per model, a shared base for fitting and results.

Every model is fitted with ``Model().fit(summary)`` and returns a new frozen result
object (parameters, full-sample log-likelihood, ``n_customers``, ``time_unit`` and
convergence information) whose methods make the predictions. The purchase models' fits
share one protocol (`PurchaseModelFit`, `clvkit.models.protocol`): ``p_alive``,
``conditional_expected_purchases``, ``dert`` and ``expected_purchases_new_customer``, with
``covariates=`` for the fits with covariates; the free functions below call these methods.

Uncertainty: ``fit.summary()`` (standard errors and intervals from the observed
information), ``fit.bootstrap(n=200, seed=...)`` (customer bootstrap) and the bootstrap's
``p_alive`` / ``conditional_expected_purchases`` / ``conditional_expected_spend`` with
intervals per customer and in total; `clv_interval` for CLV. ``P(X(t) = x)`` for BG/NBD,
MBG/NBD and Pareto/NBD: `probability_of_purchases`, `conditional_probability_of_purchases`,
`purchase_count_interval` (an interval for the count itself, purchase noise included) and
`probability_of_no_purchases` (churn over a horizon). The future:
`p_alive_at` (P(alive) t after the data end) and `dert` (discounted expected residual
transactions), wrappers of the fits' methods, in `clvkit.models.future`.

Which model to trust: `compare_models` (likelihood, AIC/BIC, chi-square on the purchase-count
histogram, holdout errors, degenerate fits flagged), with `purchase_count_histogram` and
`error_by_decile`; `predict_with_best_model` chooses the best non-degenerate model by
holdout error and predicts with it (P(alive), purchases, CLV with intervals). `save_fit` /
`load_fit` keep a fitted model as JSON.

Covariates (`clvkit.models.covariates`, Fader & Hardie 2007 note 019, CLVTools'
parametrisation): ``ParetoNBD().fit(summary, covariates=frame, trans=[...], life=[...])`` and
the same for `BGNBD`, with ``constrain=`` (one coefficient for both processes),
``regularization={"trans": ..., "life": ...}`` and ``reference=`` levels for text columns;
the result's ``summary()`` has coefficients with standard errors, intervals and p-values,
its predictions use each customer's own parameters, ``bootstrap()`` resamples customers
with their covariates, and ``customer_model(covariates)`` is the base model of one (e.g.
new) customer. Time-varying covariates: `ParetoNBDDynamic`
(Bachmann, Meierer & Naef 2021) on transactions and a long weekly covariate table.
"""

from ._base import ConvergenceWarning, FittedModel
from .bgbb import BetaGeoBetaBinomial, BetaGeoBetaBinomialFit, BetaGeoBetaBinomialParams
from .bgnbd import BGNBD, BGNBDCovariatesFit, BGNBDFit, BGNBDParams
from .compare import (
    compare_models,
    degenerate_reasons,
    error_by_decile,
    purchase_count_histogram,
)
from .covariates import CovariateEncoding, encode_covariates
from .future import dert, p_alive_at
from .gamma_gamma import GammaGamma, GammaGammaCovariatesFit, GammaGammaFit, GammaGammaParams
from .intervals import PredictionInterval, clv_interval
from .mbgnbd import MBGNBD, MBGNBDFit, MBGNBDParams
from .pareto_nbd import ParetoNBD, ParetoNBDCovariatesFit, ParetoNBDFit, ParetoNBDParams
from .pareto_nbd_dynamic import ParetoNBDDynamic, ParetoNBDDynamicFit
from .persist import load_fit, save_fit
from .probabilities import (
    conditional_probability_of_purchases,
    probability_of_no_purchases,
    probability_of_purchases,
    purchase_count_interval,
)
from .protocol import CountModelFit, PurchaseModelFit
from .sbg import (
    ShiftedBetaGeometric,
    ShiftedBetaGeometricCovariatesFit,
    ShiftedBetaGeometricFit,
    ShiftedBetaGeometricParams,
)
from .select import CustomerScores, ModelPredictions, predict_with_best_model, score_customers
from .uncertainty import BootstrapResult

__all__ = [
    "FittedModel",
    "PurchaseModelFit",
    "CountModelFit",
    "ConvergenceWarning",
    "BGNBD",
    "BGNBDFit",
    "BGNBDParams",
    "BGNBDCovariatesFit",
    "GammaGamma",
    "GammaGammaCovariatesFit",
    "GammaGammaFit",
    "GammaGammaParams",
    "MBGNBD",
    "MBGNBDFit",
    "MBGNBDParams",
    "ParetoNBD",
    "ParetoNBDFit",
    "ParetoNBDParams",
    "ParetoNBDCovariatesFit",
    "ParetoNBDDynamic",
    "ParetoNBDDynamicFit",
    "CovariateEncoding",
    "encode_covariates",
    "ShiftedBetaGeometric",
    "ShiftedBetaGeometricCovariatesFit",
    "ShiftedBetaGeometricFit",
    "ShiftedBetaGeometricParams",
    "BetaGeoBetaBinomial",
    "BetaGeoBetaBinomialFit",
    "BetaGeoBetaBinomialParams",
    "BootstrapResult",
    "PredictionInterval",
    "clv_interval",
    "probability_of_purchases",
    "conditional_probability_of_purchases",
    "purchase_count_interval",
    "probability_of_no_purchases",
    "p_alive_at",
    "dert",
    "compare_models",
    "purchase_count_histogram",
    "error_by_decile",
    "degenerate_reasons",
    "predict_with_best_model",
    "ModelPredictions",
    "CustomerScores",
    "score_customers",
    "save_fit",
    "load_fit",
]
