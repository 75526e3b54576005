"""Predictive CLV models: one module per model, a shared base for fitting and results.

Every model is fitted with ``Model().fit(summary)`` and returns a new frozen result
object (parameters, full-sample log-likelihood, ``n_customers``, ``time_unit`` and
convergence information) whose methods make the predictions.
"""

from ._base import ConvergenceWarning, FittedModel
from .bgbb import BetaGeoBetaBinomial, BetaGeoBetaBinomialFit, BetaGeoBetaBinomialParams
from .bgnbd import BGNBD, BGNBDFit, BGNBDParams
from .gamma_gamma import GammaGamma, GammaGammaFit, GammaGammaParams
from .mbgnbd import MBGNBD, MBGNBDFit, MBGNBDParams
from .pareto_nbd import ParetoNBD, ParetoNBDFit, ParetoNBDParams
from .sbg import (
    ShiftedBetaGeometric,
    ShiftedBetaGeometricFit,
    ShiftedBetaGeometricParams,
)

__all__ = [
    "FittedModel",
    "ConvergenceWarning",
    "BGNBD",
    "BGNBDFit",
    "BGNBDParams",
    "GammaGamma",
    "GammaGammaFit",
    "GammaGammaParams",
    "MBGNBD",
    "MBGNBDFit",
    "MBGNBDParams",
    "ParetoNBD",
    "ParetoNBDFit",
    "ParetoNBDParams",
    "ShiftedBetaGeometric",
    "ShiftedBetaGeometricFit",
    "ShiftedBetaGeometricParams",
    "BetaGeoBetaBinomial",
    "BetaGeoBetaBinomialFit",
    "BetaGeoBetaBinomialParams",
]
