"""NBD model of repeat buying without dropout (Ehrenberg 1959; Morrison & Schmittlein 1988).

References: Ehrenberg, A. S. C. (1959). The Pattern of Consumer Purchases. *Applied
Statistics* 8(1), 26-41. Morrison, D. G. & Schmittlein, D. C. (1988). Generalizing the NBD
Model for Customer Purchases: What Are the Implications and Is It Worth the Effort?
*Journal of Business & Economic Statistics* 6(2), 145-159. Fader, Hardie & Lee (2005,
section 2) note that the BG/NBD with dropout probability p = 0 is this model.

Every customer stays a customer and buys as a Poisson process with rate
lambda ~ Gamma(r, alpha) across customers. Given x repeat purchases in an age T, the rate's
posterior is Gamma(r + x, alpha + T), so the expected purchases in the next t time units are
(r + x) / (alpha + T) t. The likelihood of (x, T) is, up to a constant in the data,
Gamma(r + x) / Gamma(r) alpha^r / (alpha + T)^(r + x) (the timing of the purchases within
(0, T] carries no information on lambda beyond x).

It is the model the BG/NBD, MBG/NBD and Pareto/NBD fall back on when the data show no
dropout (their dropout parameters run to a bound, as on one year of Online Retail): the
predictions page then fits it explicitly and says that it assumes nobody leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from ._base import RFTFit, RFTModel, check_horizon, prediction
from .future import continuous_discount_rate

__all__ = ["NBD", "NBDParams", "NBDFit"]


@dataclass(frozen=True)
class NBDParams:
    """NBD parameters: purchase rates ~ Gamma(r, alpha); ``alpha`` in the fit's time unit."""

    r: float
    alpha: float


class NBDPredictions:
    """The NBD's predictions, for one parameter set or one per customer (covariates).

    Like `clvkit.models.bgnbd.BGNBDPredictions`: the customers and their (r, alpha) come
    from ``_rows`` / ``_new_rows``, so a fit with covariates reuses every method (each
    method's ``covariates=`` is for such a fit only; the NBD itself refuses it).
    """

    def _per_row(self, data: Any, given: dict[str, Any], covariates: Any
                 ) -> tuple[pd.DataFrame, list[np.ndarray], tuple[Any, ...]]:
        """Customers, their (x, t_x, T) and (r, alpha): one set, or one per customer."""
        frame, cols, params, group = self._rows(data, given, covariates)
        return frame, cols, tuple(v if np.ndim(v) == 0 else np.asarray(v)[group]
                                  for v in params)

    def p_alive(self, data: Any = None, *, covariates: Any = None,
                frequency: Any = None, recency: Any = None,
                T: Any = None) -> pd.Series | float:  # noqa: N803
        """Probability each customer is still a customer: 1 (the model has no dropout).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T``.
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``p_alive`` (all 1), indexed like ``data``.
        """
        frame, (x, _, _), (r, alpha) = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        return prediction(np.ones(len(x)), frame, "p_alive", time_unit=self.time_unit)

    def conditional_expected_purchases(self, data: Any = None, *, t: Any,
                                       covariates: Any = None,
                                       frequency: Any = None, recency: Any = None,
                                       T: Any = None) -> pd.Series | float:  # noqa: N803
        """Expected purchases in the next ``t`` time units: (r + x) / (alpha + T) t.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        t : float or array-like
            Horizon in the fit's time unit; scalar or one per customer.
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_purchases`` indexed like ``data``.
        """
        frame, (x, _, T), (r, alpha) = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        e = (r + x) / (alpha + T) * t
        return prediction(e, frame, "expected_purchases", time_unit=self.time_unit,
                          horizon=t if t.ndim == 0 else None)

    def p_alive_at(self, data: Any = None, *, t: Any, covariates: Any = None,
                   frequency: Any = None,
                   recency: Any = None, T: Any = None) -> pd.Series | float:  # noqa: N803
        """P(alive) ``t`` after the end of the data: 1 (the model has no dropout).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T``.
        t : float or array-like
            Time after T, in the fit's time unit.
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``p_alive`` (all 1).
        """
        frame, (x, _, _), (r, alpha) = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        return prediction(np.ones(len(x)), frame, "p_alive", time_unit=self.time_unit,
                          horizon=t if t.ndim == 0 else None)

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str,
             covariates: Any = None,
             frequency: Any = None, recency: Any = None,
             T: Any = None) -> pd.Series | float:  # noqa: N803
        """Discounted expected residual transactions: (r + x) / ((alpha + T) delta).

        The rate's posterior mean (r + x) / (alpha + T) purchases per time unit, forever,
        discounted continuously at delta per time unit
        (`clvkit.models.future.continuous_discount_rate`): int_0^inf e^(-delta t) dt = 1 /
        delta (FHL 2005 JMR eq. (2) with E[Y(t)] linear in t).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        discount_rate : float
            Effective discount rate per ``discount_period``, > 0.
        discount_period : {"D", "W", "M", "Y"}
            Period of ``discount_rate``.
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``dert``; ``attrs`` hold the rate, period and ``delta``.

        Examples
        --------
        >>> fit = NBDFit.from_params(r=0.5, alpha=10.0, time_unit="W")
        >>> fit.dert(frequency=[0, 4], recency=[0, 20.0], T=[30.0, 30.0], discount_rate=0.15,
        ...          discount_period="Y").round(2).tolist()
        [4.67, 42.0]
        """
        delta = continuous_discount_rate(discount_rate, discount_period=discount_period,
                                         time_unit=self.time_unit)
        frame, (x, _, T), (r, alpha) = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        return prediction((r + x) / (alpha + T) / delta, frame, "dert",
                          time_unit=self.time_unit, discount_rate=discount_rate,
                          discount_period=discount_period, delta=delta)

    def expected_purchases_new_customer(self, t: Any, *, covariates: Any = None) -> Any:
        """Expected repeat purchases of a new customer in (0, t]: r t / alpha.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the fit's time unit.

        Returns
        -------
        ndarray or float
            Same shape as ``t`` (a float for a scalar).
        """
        (r, alpha), t, out = self._new_rows(t, covariates)
        return out(r * t / alpha)


@dataclass(frozen=True)
class NBDFit(NBDPredictions, RFTFit):
    """A fitted NBD model (frozen); predictions keep the customer index.

    Examples
    --------
    >>> from clvkit.models.nbd import NBDFit
    >>> fit = NBDFit.from_params(r=0.5, alpha=10.0, time_unit="W")
    >>> fit.conditional_expected_purchases(frequency=[0, 4], recency=[0, 20.0], T=[30.0, 30.0],
    ...                                    t=4).round(4).tolist()
    [0.05, 0.45]
    >>> fit.p_alive(frequency=[0, 4], recency=[0, 20.0], T=[30.0, 30.0]).tolist()
    [1.0, 1.0]
    """

    params: NBDParams
    model_name: ClassVar[str] = "NBD"


class NBD(RFTModel):
    """NBD model (no dropout), fitted by maximum likelihood in log-parameter space.

    Examples
    --------
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = NBD().fit(summary, time_unit="W")
    >>> fit.params_series().round(3).tolist()
    [0.385, 12.072]
    """

    params_type = NBDParams
    scale_params = ("alpha",)
    result_type = NBDFit

    def _start(self, d, w):
        rate = np.dot(w, d["frequency"]) / np.dot(w, d["T"])
        return np.array([1.0, 1.0 / rate])

    def _loglik(self, p, d, grad):
        r, alpha = p
        x, T = d["frequency"], d["T"]  # noqa: N806
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
        if not grad:
            return ll, None
        dr = digamma(r + x) - digamma(r) + np.log(alpha) - np.log(alpha + T)
        dalpha = r / alpha - (r + x) / (alpha + T)
        return ll, np.vstack([dr, dalpha])
