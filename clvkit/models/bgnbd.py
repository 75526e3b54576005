"""BG/NBD model of repeat buying and dropout (Fader, Hardie & Lee 2005).

Reference: Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your
Customers" the Easy Way: An Alternative to the Pareto/NBD Model. *Marketing
Science* 24(2), 275-284. Equation numbers below refer to that paper.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gammaln, hyp2f1

from ._base import RFTFit, RFTModel, check_horizon, prediction
from .covariates import RowGroups, StaticCovariatesFit, covariates_or_base
from .future import continuous_discount_rate, discounted_if_alive
from .probabilities import CountDistribution, bgnbd_log_pmf

__all__ = ["BGNBD", "BGNBDParams", "BGNBDFit", "BGNBDCovariatesFit"]


@dataclass(frozen=True)
class BGNBDParams:
    """BG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout p ~ Beta(a, b).

    ``alpha`` is in the fit's time unit (the mean purchase rate while alive is
    ``r / alpha`` per time unit).
    """

    r: float
    alpha: float
    a: float
    b: float


def _log_death_odds(p: Any, k: int, x: np.ndarray, t_x: np.ndarray,
                    T: np.ndarray) -> np.ndarray:  # noqa: N803
    """Log of a / (b + x + k - 1) ((alpha + T) / (alpha + t_x))^(r + x) (parameters per row)."""
    r, alpha, a, b = p
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (np.log(a) - np.log(b + x + k - 1)
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return odds if k else np.where(x > 0, odds, -np.inf)


def _expected_if_alive(p: Any, k: int, x: Any, T: Any, t: Any) -> np.ndarray:  # noqa: N803
    """E[Y(t) | x, t_x, T] / P(alive) (eq. (10)), broadcastable arrays (see the method)."""
    r, alpha, a, b = p
    c = a + b + x + k - 1
    z = t / (alpha + T + t)
    # Euler's transformation of eq. (10)'s 2F1(r + x, b + x + k; c; z) (see above)
    bracket = 1.0 - (1.0 - z) ** (a - 1) * hyp2f1(a + b + k - 1 - r, a - 1, c, z)
    return c / (a - 1) * bracket


class BGNBDPredictions:
    """The BG/NBD and MBG/NBD predictions, for one parameter set or one per customer.

    Written once for the fits without (`BGNBDFit`) and with covariates
    (`BGNBDCovariatesFit`): each gets its customers and their parameters from ``_rows``
    (`clvkit.models._base.RFTFit._rows`, `clvkit.models.covariates.StaticCovariatesFit._rows`)
    and a new customer's from ``_new_rows``.
    """

    #: MBG/NBD shifts the dropout opportunities by one (a dropout chance at the first purchase)
    _shift: ClassVar[int] = 0

    def _per_row(self, data: Any, given: dict[str, Any], covariates: Any
                 ) -> tuple[pd.DataFrame, list[np.ndarray], tuple[Any, ...]]:
        frame, cols, params, group = self._rows(data, given, covariates)
        return frame, cols, tuple(v if np.ndim(v) == 0 else np.asarray(v)[group]
                                  for v in params)

    def p_alive(self, data: Any = None, *, covariates: Any = None, frequency: Any = None,
                recency: Any = None, T: Any = None) -> pd.Series | float:  # noqa: N803
        """Probability each customer is still alive at the end of the calibration period.

        P(alive | x, t_x, T) =
        1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x))
        (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD model",
        brucehardie.com note 021, eq. (1); it follows from eq. (6) of the 2005 paper).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``p_alive`` in [0, 1], indexed like ``data``; a float if every input is a scalar.

        Raises
        ------
        DataValidationError
            ``frequency`` not a whole number >= 0, ``recency`` outside [0, T], NaN or
            infinite values, recency != 0 with frequency 0 (names the customers).

        Examples
        --------
        >>> from clvkit.models import BGNBDFit
        >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> fit.p_alive(frequency=[0, 2, 2], recency=[0, 30.43, 5.0], T=38.86).round(3).tolist()
        [1.0, 0.727, 0.124]
        >>> round(fit.p_alive(frequency=2, recency=30.43, T=38.86), 3)
        0.727
        """
        frame, (x, t_x, T), p = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        alive = expit(-_log_death_odds(p, self._shift, x, t_x, T))  # finite for any frequency
        return prediction(alive, frame, "p_alive", time_unit=self.time_unit)

    def conditional_expected_purchases(self, data: Any = None, *, t: Any,
                                       covariates: Any = None, frequency: Any = None,
                                       recency: Any = None, T: Any = None,  # noqa: N803
                                       ) -> pd.Series | float:
        """Compute the expected number of purchases in the next ``t`` time units, per history.

        E[Y(t) | x, t_x, T] of eq. (10) of Fader, Hardie & Lee (2005),
        (a + b + x - 1) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x)
        2F1(r + x, b + x; a + b + x - 1; z)] P(alive), z = t / (alpha + T + t).
        For large x the power underflows while the 2F1 overflows (NaN at x ~ 10,000);
        Euler's transformation 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z)
        turns the bracket into 1 - (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z),
        the same number with small upper parameters: finite and accurate at any x.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        t : float or array-like
            Horizon in the fit's time unit (``fit.time_unit``); scalar or one per customer.
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_purchases`` indexed like ``data``; ``attrs`` hold ``time_unit`` and
            ``horizon``. A float if every input is a scalar.

        Raises
        ------
        DataValidationError
            Invalid customer inputs, as for `p_alive`.

        Examples
        --------
        The CDNOW customer of Fader, Hardie & Lee (2005, p. 280) with x = 2, t_x = 30.43,
        T = 38.86 weeks is expected to make 1.226 purchases in the next 39 weeks:

        >>> from clvkit.models import BGNBDFit
        >>> fit = BGNBDFit.from_params(r=0.2426, alpha=4.4135, a=0.7929, b=2.4259, time_unit="W")
        >>> fit.conditional_expected_purchases(frequency=[2], recency=[30.43], T=[38.86],
        ...                                    t=39).round(3).tolist()
        [1.226]
        """
        frame, (x, t_x, T), p = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        k = self._shift
        e = _expected_if_alive(p, k, x, T, t) * expit(-_log_death_odds(p, k, x, t_x, T))
        return prediction(e, frame, "expected_purchases", time_unit=self.time_unit,
                          horizon=t if t.ndim == 0 else None)

    def p_alive_at(self, data: Any = None, *, t: Any, covariates: Any = None,
                   frequency: Any = None, recency: Any = None,
                   T: Any = None) -> pd.Series | float:  # noqa: N803
        """P(alive) ``t`` time units after the end of the data (`clvkit.models.future` notes).

        P(alive at T + t | x, t_x, T) = P(alive) ((alpha + T) / (alpha + T + t))^a
        2F1(a, a + b + k - r; a + b + x + k; t / (alpha + T + t)), k = 0 for the BG/NBD and
        1 for the MBG/NBD.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        t : float or array-like
            Time after T, in the fit's time unit; scalar or one per customer.
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``p_alive`` in [0, 1] (``attrs`` hold ``horizon``); a float for scalar inputs.
        """
        frame, (x, t_x, T), p = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        r, alpha, a, b = p
        k = self._shift
        alive = expit(-_log_death_odds(p, k, x, t_x, T))
        survive = (((alpha + T) / (alpha + T + t)) ** a
                   * hyp2f1(a, a + b + k - r, a + b + x + k, t / (alpha + T + t)))
        return prediction(np.clip(alive * survive, 0.0, 1.0), frame, "p_alive",
                          time_unit=self.time_unit, horizon=t if t.ndim == 0 else None)

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str,
             covariates: Any = None, frequency: Any = None, recency: Any = None,
             T: Any = None) -> pd.Series | float:  # noqa: N803
        """Discounted expected residual transactions (FHL 2005 JMR eq. (2)), by quadrature.

        DERT = int_0^inf delta e^(-delta t) E[Y(t) | x, t_x, T] dt with delta the
        continuously compounded rate per time unit of the fit
        (`clvkit.models.future.continuous_discount_rate`); the BG/NBD has no closed form,
        so E[Y(t)] (eq. (10)) is integrated numerically
        (`clvkit.models.future.discounted_if_alive`).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
        discount_rate : float
            Effective discount rate per ``discount_period`` (e.g. 0.15 a year), > 0.
        discount_period : {"D", "W", "M", "Y"}
            Period of ``discount_rate``.
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``dert``; ``attrs`` hold the rate, period and ``delta``.

        Examples
        --------
        >>> from clvkit.models import BGNBDFit
        >>> bg = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> bg.dert(frequency=[0, 2], recency=[0, 30.43], T=38.86, discount_rate=0.15,
        ...         discount_period="Y").round(2).tolist()
        [1.02, 5.18]
        """
        delta = continuous_discount_rate(discount_rate, discount_period=discount_period,
                                         time_unit=self.time_unit)
        frame, (x, t_x, T), p = self._per_row(  # noqa: N806
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        k = self._shift
        varying = [np.broadcast_to(v, x.shape) for v in p if np.ndim(v)]

        def if_alive(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
            own = tuple(v if np.ndim(v) == 0 else v[rows][:, None] for v in p)
            return _expected_if_alive(own, k, x[rows][:, None], T[rows][:, None], t)

        value = (discounted_if_alive(if_alive, np.column_stack([x, T, *varying]), delta)
                 * expit(-_log_death_odds(p, k, x, t_x, T)))
        return prediction(value, frame, "dert", time_unit=self.time_unit,
                          discount_rate=discount_rate, discount_period=discount_period,
                          delta=delta)

    def expected_purchases_new_customer(self, t: Any, *, covariates: Any = None) -> Any:
        """Compute expected repeat purchases of a new customer in (0, t] (eq. (9), FHL 2005).

        E[X(t)] = (a + b - 1) / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b; a + b - 1;
        t / (alpha + t))].

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase, in the fit's time unit (with ``covariates``:
            scalar or one per row).
        covariates : DataFrame, optional
            Fits with covariates only (then required): one row per new customer.

        Returns
        -------
        ndarray, float or Series
            Expected repeat purchases (same shape as ``t``; a float for a scalar); with
            covariates a Series ``expected_purchases`` indexed like ``covariates``.

        Examples
        --------
        >>> from clvkit.models import BGNBDFit
        >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
        >>> fit.expected_purchases_new_customer([13, 39, 78]).round(3)
        array([0.534, 1.197, 1.861])
        """
        (r, alpha, a, b), t, out = self._new_rows(t, covariates)
        coef, hb, hc = self._new_customer_terms(a, b)
        return out(coef / (a - 1) * (
            1 - (alpha / (alpha + t)) ** r * hyp2f1(r, hb, hc, t / (alpha + t))))

    @staticmethod
    def _new_customer_terms(a: Any, b: Any) -> tuple[Any, Any, Any]:
        return a + b - 1, b, a + b - 1


@dataclass(frozen=True)
class BGNBDFit(BGNBDPredictions, CountDistribution, RFTFit):
    """A fitted BG/NBD model (frozen); predictions keep the customer index.

    Examples
    --------
    >>> from clvkit.models import BGNBD
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = BGNBD().fit(summary, time_unit="W")
    >>> print(fit)  # doctest: +NORMALIZE_WHITESPACE
    BG/NBD fitted on 2,357 customers (time unit: weeks): r=0.2426, alpha=4.414, a=0.7929,
    b=2.426; LL=-9582.4
    """

    params: BGNBDParams
    model_name: ClassVar[str] = "BG/NBD"

    def conditional_log_pmf(self, n: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,  # noqa: N803
                            t: Any) -> np.ndarray:
        """Log P(X* = n | x, t_x, T) (`clvkit.models.probabilities` notes), broadcastable."""
        return bgnbd_log_pmf(dataclasses.astuple(self.params), self._shift, n, x, t_x, T, t)

    def _new_log_pmf(self, n: Any, t: Any) -> np.ndarray:
        zero = np.zeros(1)
        return self.conditional_log_pmf(n, zero[0], zero[0], zero[0], t)


@dataclass(frozen=True)
class BGNBDCovariatesFit(BGNBDPredictions, StaticCovariatesFit):
    """A BG/NBD fitted with static covariates (frozen); see `BGNBD.fit`.

    Customer i has alpha_i = alpha exp(-gamma_trans . z_i), a_i = a exp(gamma_life . z_i) and
    b_i = b exp(gamma_life . z_i) (Fader & Hardie 2007, note 019; CLVTools'
    ``bgnbd_staticcov_alpha_i``/``_a_i``/``_b_i``). Predictions are the BG/NBD formulas of
    `BGNBDFit` with each customer's own parameters (`BGNBDPredictions`); ``covariates=``
    defaults to the fit's own customers'.
    """

    params: BGNBDParams
    model_name: ClassVar[str] = "BG/NBD with static covariates"


class BGNBD(RowGroups, RFTModel):
    """BG/NBD model (Fader, Hardie & Lee 2005) for non-contractual repeat purchasing.

    While alive a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha);
    after each purchase the customer drops out with probability p ~ Beta(a, b).
    The likelihood is eq. (6) of the paper, maximised in log-parameter space with an
    analytic gradient.

    Parameters
    ----------
    penalizer : float, default 0
        Optional L2 penalty on the parameters (0 reproduces the published estimates).

    Examples
    --------
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = BGNBD().fit(summary, time_unit="W")
    >>> fit.params_series().round(3).tolist()
    [0.243, 4.414, 0.793, 2.426]
    >>> round(fit.log_likelihood, 1)
    -9582.4
    """

    params_type = BGNBDParams
    scale_params = ("alpha",)
    result_type = BGNBDFit
    covariates_result_type = BGNBDCovariatesFit
    #: process -> (parameter, sign): p_i = p exp(sign gamma . z_i) (CLVTools bgnbd)
    covariate_links: ClassVar[dict[str, tuple[tuple[str, int], ...]]] = {
        "trans": (("alpha", -1),), "life": (("a", 1), ("b", 1))}
    #: CLVTools' default ``start.params.model`` (R/class_clv_model_bgnbd.R), for method="clvtools"
    clvtools_start: ClassVar[tuple[float, ...]] = (1.0, 3.0, 1.0, 3.0)

    def fit(self, data: Any = None, *, covariates: pd.DataFrame | None = None,
            trans: Any = (), life: Any = (), constrain: Any = (),
            regularization: Any = None, reference: Any = None,
            **kwargs: Any) -> BGNBDFit | BGNBDCovariatesFit:
        """Fit by maximum likelihood, optionally with static covariates.

        The keywords are those of `ParetoNBD.fit`; the lifetime covariates act on a and b
        (a_i = a exp(gamma_life . z_i), b_i = b exp(gamma_life . z_i)).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            RFM summary indexed by customer id.
        covariates, trans, life, constrain, regularization, reference
            See `ParetoNBD.fit`.
        **kwargs
            ``frequency``, ``recency``, ``T``, ``weights``, ``time_unit``, ``strict`` and,
            with covariates, ``method`` (see `ParetoNBD.fit`).

        Returns
        -------
        BGNBDFit or BGNBDCovariatesFit
        """
        return covariates_or_base(self, super().fit, data, covariates=covariates, trans=trans,
                                  life=life, constrain=constrain,
                                  regularization=regularization, reference=reference,
                                  **kwargs)

    def _loglik(self, p, d, grad):
        r, alpha, a, b = p
        x, t_x, T = d["frequency"], d["recency"], d["T"]
        k = self.result_type._shift
        bx = b + x + k
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(bx) - gammaln(b) - gammaln(a + bx)
        a3 = -(r + x) * np.log(alpha + T)
        has_a4 = x + k > 0
        bx1 = np.where(has_a4, bx - 1, 1.0)
        a4 = np.where(has_a4, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
        mix = np.logaddexp(a3, a4)
        ll = a1 + a2 + mix
        if not grad:
            return ll, None
        u = np.exp(a4 - mix)  # share of the "dropped out after the last purchase" term
        dr = (digamma(r + x) - digamma(r) + np.log(alpha)
              - (1 - u) * np.log(alpha + T) - u * np.log(alpha + t_x))
        dalpha = r / alpha - (r + x) * ((1 - u) / (alpha + T) + u / (alpha + t_x))
        psi_ab, psi_abx = digamma(a + b), digamma(a + bx)
        da = psi_ab - psi_abx + u / a
        db = psi_ab + digamma(bx) - digamma(b) - psi_abx - u / bx1
        return ll, np.vstack([dr, dalpha, da, db])
BGNBDCovariatesFit._model_type = BGNBD
