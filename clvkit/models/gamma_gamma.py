"""Gamma-Gamma model of average spend per transaction (Fader, Hardie & Lee 2005).

References: Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis. *Journal of Marketing Research* 42(4),
415-430; Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary
Value", brucehardie.com note 025. Equation numbers refer to the note.

Covariates (time-invariant, e.g. acquisition channel) act on the scale of the heterogeneity
distribution: nu_i ~ Gamma(q, gamma_i) with gamma_i = gamma0 exp(delta . z_i), so each
customer's expected spend per transaction, p gamma_i / (q - 1), is multiplied by exp(delta .
z_i) (a log link on the mean, as in a gamma GLM). This is the scale-parameter treatment of
Fader & Hardie (2007), "Incorporating Time-Invariant Covariates into the Pareto/NBD and
BG/NBD Models" (note 019: alpha_i = alpha0 exp(-gamma' x_i) for the gamma-distributed
purchase rate) applied to the gamma-distributed nu of the spend model; we know of no
published Gamma-Gamma fit with covariates to reproduce, so the likelihood is checked against
numerical integration over nu in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ..errors import ClvError
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
from .covariates import RowGroups, StaticCovariatesFit, fit_static

__all__ = ["GammaGamma", "GammaGammaParams", "GammaGammaFit", "GammaGammaCovariatesFit"]

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
        frame, x, m = _spend_inputs(self, data, frequency, monetary_value)
        p, q, g = self.params.p, self.params.q, self.params.gamma
        return prediction(expected_spend(p, q, g, x, m), frame, "expected_spend")


def _spend_inputs(fit: FittedModel, data: Any, frequency: Any, monetary_value: Any
                  ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Checked (x, m_x) of the customers to predict for (m_x = 0 where x = 0)."""
    frame = fit._read(data, _COLUMNS, {"frequency": frequency,
                                       "monetary_value": monetary_value})
    check_customers(frame, age=None, monetary="monetary_value")
    x = frame["frequency"].to_numpy()
    return frame, x, np.where(x > 0, frame["monetary_value"].to_numpy(), 0.0)


def expected_spend(p: float, q: float, g: Any, x: Any, m: Any) -> np.ndarray:
    """E[M | p, q, gamma, m_x, x] = p (gamma + x m_x) / (p x + q - 1) (note 025, eq. (5))."""
    return p * (g + x * m) / (p * x + q - 1)


@dataclass(frozen=True)
class GammaGammaCovariatesFit(StaticCovariatesFit):
    """A Gamma-Gamma fitted with time-invariant covariates (frozen); see `GammaGamma.fit`.

    ``params`` are p, q and gamma0 (a customer whose covariates are all 0); coefficients
    ``spend.<column>``: gamma_i = gamma0 exp(delta . z_i), so exp(delta) is the factor on
    the expected spend per transaction.

    Examples
    --------
    >>> s = pd.read_csv("data/cdnow_customers_summary_with_transactions.csv", index_col="ID")
    >>> s = s.rename(columns={"x": "frequency", "zbar": "monetary_value"})
    >>> early = pd.DataFrame({"early": (s.index <= 1000).astype(int)}, index=s.index)
    >>> fit = GammaGamma().fit(s, covariates=early, spend=["early"])
    >>> fit.coefficient_names, fit.n_customers
    (('spend.early',), 946)
    """

    model_name: ClassVar[str] = "Gamma-Gamma with static covariates"

    def mean_spend(self, covariates: pd.DataFrame) -> pd.Series:
        """Population mean spend per transaction of customers with these covariates.

        p gamma_i / (q - 1) (eq. (3) of note 025 at gamma_i).
        """
        _, _, g = self._values_for(covariates)
        p, q = self.params.p, self.params.q
        value = p * g / (q - 1) if q > 1 else np.full(len(g), np.inf)
        return pd.Series(value, index=covariates.index, name="mean_spend")

    def conditional_expected_spend(self, data: Any = None, *, covariates: Any = None,
                                   frequency: Any = None,
                                   monetary_value: Any = None) -> pd.Series | float:
        """Compute each customer's expected spend per transaction at their own gamma_i.

        Eq. (5) of note 025 with gamma_i; see `GammaGammaFit.conditional_expected_spend`.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency`` and ``monetary_value``, indexed by customer id.
        covariates : DataFrame, optional
            Indexed by customer id (default: the fitted customers' own).
        frequency, monetary_value : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_spend`` per transaction, indexed like ``data``.
        """
        frame, x, m = _spend_inputs(self, data, frequency, monetary_value)
        (_, _, g), group = self._grouped(frame.index, covariates)
        p, q = self.params.p, self.params.q
        return prediction(expected_spend(p, q, g[group], x, m), frame, "expected_spend")


class GammaGamma(RowGroups, Model):
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
    covariates_result_type = GammaGammaCovariatesFit
    #: process -> (parameter, sign): gamma_i = gamma0 exp(delta . z_i)
    covariate_links: ClassVar[dict[str, tuple[tuple[str, int], ...]]] = {
        "spend": (("gamma", 1),)}

    def fit(self, data: pd.DataFrame | Mapping[str, Any] | None = None, *,
            frequency: Any = None, monetary_value: Any = None, weights: Any = None,
            time_unit: str | None = None, strict: bool = True,
            covariates: pd.DataFrame | None = None, spend: Any = (),
            regularization: Any = None,
            reference: Any = None) -> GammaGammaFit | GammaGammaCovariatesFit:
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
        covariates : DataFrame, optional
            Time-invariant covariates indexed by customer id (rows of customers without
            repeat transactions are not used).
        spend : sequence of str
            Covariate columns of the spend process: gamma_i = gamma0 exp(delta . z_i).
        regularization : mapping, optional
            ``{"spend": lambda}``: L2 penalty on the coefficients (as CLVTools' ``reg.lambdas``).
        reference : mapping, optional
            Reference level of categorical covariates (default: first level in sorted order).

        Returns
        -------
        GammaGammaFit or GammaGammaCovariatesFit
        """
        if covariates is not None:
            if frequency is not None or monetary_value is not None:
                raise ClvError("with `covariates` pass the summary as `data`")
            return fit_static(self, data, covariates=covariates, processes={"spend": spend},
                              regularization=regularization, reference=reference,
                              weights=weights, time_unit=time_unit, strict=strict)
        if spend or regularization or reference:
            raise ClvError("`spend`/`regularization`/`reference` need `covariates=`")
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


GammaGammaCovariatesFit._model_type = GammaGamma
