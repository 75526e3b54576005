"""Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005).

References: Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis. *Journal of Marketing Research* 42(4),
415-430; Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary
Value", brucehardie.com note 025. Equation numbers refer to the note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ._base import (
    FittedModel,
    Model,
    check_counts,
    check_customers,
    check_not_empty,
    optional_time_unit,
    prediction,
    read_frame,
    read_weights,
)
from ._core import SPEND_COLUMNS

__all__ = ["GammaGamma", "GammaGammaParams", "GammaGammaFit"]

_COLUMNS = ("frequency", "monetary_value")


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: spend per transaction ~ Gamma(p, nu), nu ~ Gamma(q, gamma).

    ``gamma`` is in money units; the population mean spend is ``p * gamma / (q - 1)``.
    """

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class GammaGammaFit(FittedModel):
    """A fitted Gamma-Gamma spend model (frozen).

    ``time_unit`` is that of the summary it was fitted on (spend does not depend on it)
    or None.
    """

    params: GammaGammaParams
    model_name: ClassVar[str] = "Gamma-Gamma"
    input_columns: ClassVar[tuple[str, ...]] = SPEND_COLUMNS

    @property
    def mean_spend(self) -> float:
        """Population mean spend per transaction, p gamma / (q - 1) (eq. (3) of the note)."""
        p = self.params
        return p.p * p.gamma / (p.q - 1) if p.q > 1 else float("inf")

    def conditional_expected_spend(self, data: Any = None, *, frequency: Any = None,
                                   monetary_value: Any = None) -> pd.Series | float:
        """Compute each customer's expected spend per transaction, given x and mean m_x.

        E[M | p, q, gamma, m_x, x] = (p (gamma + x m_x)) / (p x + q - 1), eq. (5) of the
        note (= eq. (3) of FHL 2005 JMR): a weighted average of the population mean and the
        customer's own mean. Customers with x = 0 get the population mean.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency`` (repeat transactions x) and ``monetary_value``
            (mean spend of the repeat transactions, m_x).
        frequency, monetary_value : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_spend`` per transaction, indexed like ``data`` (a float if every
            input is a scalar).

        Raises
        ------
        DataValidationError
            ``frequency`` not a whole number >= 0 or NaN; ``monetary_value`` not finite and
            > 0 for a customer with frequency > 0, or negative (names the customers). For
            frequency 0 the monetary value is not used and may be 0 or NaN.

        Examples
        --------
        >>> from clvkit.models import GammaGammaFit
        >>> fit = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit="W")
        >>> fit.conditional_expected_spend(frequency=[0, 1, 10], monetary_value=[0, 30, 30]
        ...                                ).round(2).tolist()
        [35.22, 31.59, 30.22]
        >>> round(fit.conditional_expected_spend(frequency=1, monetary_value=30), 2)
        31.59
        """
        frame = self._read(data, _COLUMNS, {"frequency": frequency,
                                            "monetary_value": monetary_value})
        check_customers(frame, age=None, monetary="monetary_value")
        x = frame["frequency"].to_numpy()
        m = np.where(x > 0, frame["monetary_value"].to_numpy(), 0.0)
        p, q, g = self.params.p, self.params.q, self.params.gamma
        return prediction(p * (g + x * m) / (p * x + q - 1), frame, "expected_spend")


class GammaGamma(Model):
    """Gamma-Gamma spend model: each customer's mean spend per transaction.

    Fitted on customers with at least one repeat transaction (x > 0) using their number of
    repeat transactions x and mean repeat spend m_x; rows with x = 0 are ignored. The
    model assumes spend is independent of frequency: check with
    `clvkit.evaluation.gamma_gamma_check` first.

    Examples
    --------
    >>> s = pd.read_csv("data/cdnow_customers_summary_with_transactions.csv", index_col="ID")
    >>> s = s.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    >>> fit = GammaGamma().fit(s)
    >>> fit.params_series().round(2).tolist(), fit.n_customers
    ([6.25, 3.74, 15.45], 946)
    """

    params_type = GammaGammaParams
    scale_params = ("gamma",)
    result_type = GammaGammaFit

    def fit(self, data: pd.DataFrame | Mapping[str, Any] | None = None, *,
            frequency: Any = None, monetary_value: Any = None, weights: Any = None,
            time_unit: str | None = None, strict: bool = True) -> GammaGammaFit:
        """Fit the model by maximum likelihood (eq. (4) of the note); return a frozen result.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency`` and ``monetary_value`` indexed by ``customer_id``.
        frequency, monetary_value : array-like, optional
            The same columns as arrays.
        weights : array-like, optional
            Number of customers each row stands for.
        time_unit : str, optional
            Recorded on the result (taken from ``data.attrs`` if present).
        strict : bool, default True
            Raise `ConvergenceError` on non-convergence or a degenerate estimate (else warn,
            ``success=False``).

        Returns
        -------
        GammaGammaFit
        """
        return self._fit(data, {"frequency": frequency, "monetary_value": monetary_value},
                         weights=weights, time_unit=time_unit, strict=strict)

    def _prepare(self, data, given, weights, time_unit):
        frame = read_frame(data, _COLUMNS, given)
        unit = optional_time_unit(frame, time_unit)
        w = read_weights(frame, weights)
        check_not_empty(frame)
        check_customers(frame, age=None, monetary="monetary_value")  # as for predictions
        check_counts(frame)
        keep = frame["frequency"].to_numpy() > 0
        return frame[keep], w[keep], unit

    def _start(self, d, w):
        # p = 2, q = 3 and gamma such that the population mean p gamma / (q - 1) = mean spend
        return np.array([2.0, 3.0, np.dot(w, d["monetary_value"]) / w.sum()])

    def _loglik(self, params, d, grad):
        p, q, g = params
        x, m = d["frequency"], d["monetary_value"]
        px = p * x
        log_gxm = np.log(g + x * m)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + px * np.log(x)
              + (px - 1) * np.log(m) - (px + q) * log_gxm)
        if not grad:
            return ll, None
        psi = digamma(px + q)
        dp = x * (psi - digamma(px) + np.log(x) + np.log(m) - log_gxm)
        dq = psi - digamma(q) + np.log(g) - log_gxm
        dg = q / g - (px + q) / (g + x * m)
        return ll, np.vstack([dp, dq, dg])
