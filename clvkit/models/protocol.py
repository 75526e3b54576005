"""The one protocol of the fitted purchase models: what every one of them predicts.

Every fitted purchase model -- BG/NBD, MBG/NBD, Pareto/NBD, NBD, BG/BB, the fits with
static covariates and the Pareto/NBD with time-varying covariates -- answers the same
questions with methods of the same names, so code that predicts (`clvkit.clv`,
`clvkit.models.intervals`, `clvkit.models.future`, `clvkit.models.probabilities`, the
report) calls the methods and never asks which model it holds:

``p_alive(data, ...)``
    P(alive) of each customer at the end of the data.
``conditional_expected_purchases(data, *, t, ...)``
    Expected purchases in the next ``t`` time units.
``dert(data, *, discount_rate, discount_period, ...)``
    Discounted expected residual transactions (Fader, Hardie & Lee 2005, *JMR*, eq. (2)).
``expected_purchases_new_customer(t, ...)``
    Expected repeat purchases of a customer acquired now.

Each method reads the customer inputs the model needs (``input_columns`` of a summary;
``covariates=`` for the fits with covariates; transactions and a covariate table for the
time-varying fit) and returns a prediction on the customer index. ``input_columns`` says
which summary columns fix a customer's predictions: customers equal in them are predicted
once (`clvkit.models.intervals`); None means more than the columns does (covariates), and
the data are then predicted as given.

The continuous-time models fitted on (frequency, recency, T) also have ``p_alive_at``
(P(alive) ``t`` after the end of the data) and the distribution of purchase counts
(``probability_of_purchases``, ``conditional_probability_of_purchases``,
``probability_of_no_purchases`` and ``conditional_log_pmf``); `CountModelFit` names them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["PurchaseModelFit", "CountModelFit"]


@runtime_checkable
class PurchaseModelFit(Protocol):
    """A fitted purchase model: the predictions every one of them makes (see the module)."""

    model_name: ClassVar[str]
    input_columns: ClassVar[tuple[str, ...] | None]
    time_unit: str | None

    def p_alive(self, data: Any = None, **inputs: Any) -> pd.Series | float:
        """P(alive) of each customer at the end of the data."""

    def conditional_expected_purchases(self, data: Any = None, *, t: Any,
                                       **inputs: Any) -> pd.Series | float:
        """Expected purchases of each customer in the next ``t`` time units."""

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str,
             **inputs: Any) -> pd.Series | float:
        """Discounted expected residual transactions of each customer."""

    def expected_purchases_new_customer(self, t: Any, **inputs: Any) -> Any:
        """Expected repeat purchases in (0, t] of a customer acquired now."""


@runtime_checkable
class CountModelFit(PurchaseModelFit, Protocol):
    """A continuous-time purchase model on (frequency, recency, T) with the count distribution."""

    def p_alive_at(self, data: Any = None, *, t: Any, **inputs: Any) -> pd.Series | float:
        """P(alive) ``t`` time units after the end of the data."""

    def probability_of_purchases(self, *, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n) of a customer acquired now."""

    def conditional_log_pmf(self, n: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,  # noqa: N803
                            t: Any) -> np.ndarray:
        """Log P(X* = n | x, t_x, T) on validated arrays (broadcastable)."""
