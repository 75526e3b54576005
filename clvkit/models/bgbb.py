"""BG/BB model of discrete-time repeat transactions (Fader, Hardie & Shang 2010).

Reference: Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-Base Analysis in
a Discrete-Time Noncontractual Setting. *Marketing Science* 29(6), 1086-1108. Equation
numbers refer to that paper.

At each of n transaction opportunities an alive customer transacts with probability
p ~ Beta(alpha, beta) and, after each opportunity, dies with probability
theta ~ Beta(gamma, delta). A customer is summarised by x (repeat transactions),
t_x (opportunity of the last transaction, 0 if none) and n.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln, hyp2f1, logsumexp

from .._validate import check_one_of, check_positive
from ..errors import ClvError
from ..units import TIME_UNITS, convert_duration
from ._base import (
    FittedModel,
    Model,
    check_counts,
    check_customers,
    check_horizon,
    check_not_empty,
    optional_time_unit,
    prediction,
    read_frame,
    read_weights,
    scalar_or_array,
)

__all__ = ["BetaGeoBetaBinomial", "BetaGeoBetaBinomialParams", "BetaGeoBetaBinomialFit"]

_COLUMNS = ("frequency", "recency", "n_periods")
#: Cells (rows x opportunities) of the likelihood's term matrix computed at once (~32 MB each).
_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class BetaGeoBetaBinomialParams:
    """BG/BB parameters: transaction p ~ Beta(alpha, beta), dropout theta ~ Beta(gamma, delta)."""

    alpha: float
    beta: float
    gamma: float
    delta: float


def _loglik(p: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
            grad: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood, eq. (5): one term alive through n plus one per death time.

    With ``grad`` also return d ll / d (alpha, beta, gamma, delta), shape (4, rows).
    Rows are processed in chunks of at most `_CHUNK_CELLS` terms, so memory stays bounded
    whatever the number of rows (n itself is limited by `check_customers`).
    """
    step = max(1, _CHUNK_CELLS // max(1, int(n.max(initial=1))))
    if len(x) == 0:
        return (np.empty(0), np.empty((4, 0))) if grad else np.empty(0)
    if len(x) <= step:
        return _loglik_chunk(p, x, t_x, n, grad)
    parts = [_loglik_chunk(p, x[i:i + step], t_x[i:i + step], n[i:i + step], grad)
             for i in range(0, len(x), step)]
    if not grad:
        return np.concatenate(parts)
    return (np.concatenate([q[0] for q in parts]),
            np.concatenate([q[1] for q in parts], axis=1))


def _loglik_chunk(p: np.ndarray, x: np.ndarray, t_x: np.ndarray, n: np.ndarray,
                  grad: bool) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    a, b, g, d = p
    i = np.arange(int(n.max()))[:, None]  # death after opportunity t_x + i, i < n - t_x
    # each term is B(a + x, b + k1) B(g + e, d + k2) / (B(a, b) B(g, d)), e in {0, 1}
    k1 = np.vstack([n - x, t_x - x + i])
    k2 = np.vstack([n, t_x + i])
    e = np.r_[0.0, np.ones(len(i))][:, None]
    base = betaln(a, b) + betaln(g, d)
    terms = betaln(a + x, b + k1) + betaln(g + e, d + k2) - base
    terms[1:] = np.where(i < n - t_x, terms[1:], -np.inf)
    ll = logsumexp(terms, axis=0)
    if not grad:
        return ll
    share = np.exp(terms - ll)  # posterior weight of each term (0 for the unused ones)
    psi_ab = digamma(a + b + x + k1)
    psi_gd = digamma(g + d + e + k2)
    parts = [digamma(a + x) - psi_ab - digamma(a) + digamma(a + b),
             digamma(b + k1) - psi_ab - digamma(b) + digamma(a + b),
             digamma(g + e) - psi_gd - digamma(g) + digamma(g + d),
             digamma(d + k2) - psi_gd - digamma(d) + digamma(g + d)]
    return ll, np.vstack([np.sum(share * np.nan_to_num(q), axis=0) for q in parts])


@dataclass(frozen=True)
class BetaGeoBetaBinomialFit(FittedModel):
    """A fitted BG/BB model (frozen). One period = one transaction opportunity.

    ``time_unit`` is the length of one opportunity if given (e.g. ``"Y"``), else None.
    """

    params: BetaGeoBetaBinomialParams
    model_name: ClassVar[str] = "BG/BB"
    input_columns: ClassVar[tuple[str, ...]] = _COLUMNS

    def _arrays(self, data: Any, given: dict[str, Any]) -> tuple[pd.DataFrame, list]:
        frame = self._read(data, _COLUMNS, given)
        check_customers(frame, age="n_periods", discrete=True)
        return frame, [frame[c].to_numpy(dtype=float) for c in _COLUMNS]

    def _p(self) -> np.ndarray:
        q = self.params
        return np.array([q.alpha, q.beta, q.gamma, q.delta])

    def p_alive(self, data: Any = None, *, periods_ahead: int = 1, frequency: Any = None,
                recency: Any = None, n_periods: Any = None) -> pd.Series | float:
        """Compute P(alive at opportunity n + ``periods_ahead`` | x, t_x, n) (eq. (11)).

        P = B(alpha + x, beta + n - x) / B(alpha, beta) B(gamma, delta + n + m) /
        B(gamma, delta) / L(alpha, beta, gamma, delta | x, t_x, n); the paper's eq. (11) is
        m = 1 (alive at the next opportunity); m = 0 gives alive at the end of the data.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            With ``frequency``, ``recency``, ``n_periods``.
        periods_ahead : int, default 1
            m, opportunities after n.
        frequency, recency, n_periods : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``p_alive``, indexed like ``data`` (a float if every input is a scalar).

        Raises
        ------
        DataValidationError
            Not 0 <= frequency <= recency <= n_periods whole numbers, n_periods < 1 or
            above 10,000 opportunities, NaN (names the customers).

        Examples
        --------
        >>> from clvkit.models import BetaGeoBetaBinomialFit
        >>> fit = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                          delta=2.783, time_unit="Y")
        >>> fit.p_alive(frequency=[6, 3, 3], recency=[6, 6, 3], n_periods=6).round(3).tolist()
        [0.93, 0.93, 0.095]
        """
        frame, (x, t_x, n) = self._arrays(data, {"frequency": frequency, "recency": recency,
                                                 "n_periods": n_periods})
        a, b, g, d = p = self._p()
        m = check_horizon("periods_ahead", periods_ahead, len(frame))
        log_p = (betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + m)
                 - betaln(g, d) - _loglik(p, x, t_x, n))
        return prediction(np.minimum(np.exp(log_p), 1.0), frame, "p_alive",
                          time_unit=self.time_unit)

    def conditional_expected_purchases(self, data: Any = None, *, t: Any,
                                       frequency: Any = None, recency: Any = None,
                                       n_periods: Any = None) -> pd.Series | float:
        """Compute expected transactions in the next ``t`` opportunities (eq. (13)).

        E[X(n, n + t) | x, t_x, n] = B(alpha + x + 1, beta + n - x) / B(alpha, beta)
        delta / (gamma - 1) Gamma(gamma + delta) / Gamma(1 + delta)
        [Gamma(1 + delta + n) / Gamma(gamma + delta + n)
        - Gamma(1 + delta + n + t) / Gamma(gamma + delta + n + t)] / L(... | x, t_x, n).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            With ``frequency``, ``recency``, ``n_periods``.
        t : int or array-like
            Number of future opportunities (scalar or one per customer).
        frequency, recency, n_periods : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_purchases``, indexed like ``data`` (a float if every input is a scalar).

        Raises
        ------
        DataValidationError
            Not 0 <= frequency <= recency <= n_periods whole numbers, n_periods < 1 or
            above 10,000 opportunities, NaN (names the customers).

        Examples
        --------
        >>> from clvkit.models import BetaGeoBetaBinomialFit
        >>> fit = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                          delta=2.783, time_unit="Y")
        >>> fit.conditional_expected_purchases(frequency=[6, 0], recency=[6, 0], n_periods=6,
        ...                                    t=5).round(2).tolist()
        [3.75, 0.07]
        """
        frame, (x, t_x, n) = self._arrays(data, {"frequency": frequency, "recency": recency,
                                                 "n_periods": n_periods})
        t = check_horizon("t", t, len(frame))
        a, b, g, d = p = self._p()

        def ratio(k: Any) -> np.ndarray:  # Gamma(1 + delta + k) / Gamma(gamma + delta + k)
            return np.exp(gammaln(1 + d + k) - gammaln(g + d + k))

        log_lead = (betaln(a + x + 1, b + n - x) - betaln(a, b) + gammaln(g + d)
                    - gammaln(1 + d) - _loglik(p, x, t_x, n))
        e = np.exp(log_lead) * d / (g - 1) * (ratio(n) - ratio(n + t))
        return prediction(e, frame, "expected_purchases", time_unit=self.time_unit,
                          horizon=t if t.ndim == 0 else None)

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str | None = None,
             frequency: Any = None, recency: Any = None,
             n_periods: Any = None) -> pd.Series | float:
        """Compute discounted expected residual transactions (eq. (14)).

        DERT(d | alpha, beta, gamma, delta, x, t_x, n) = B(alpha + x + 1, beta + n - x) /
        B(alpha, beta) B(gamma, delta + n + 1) / (B(gamma, delta) (1 + d))
        2F1(1, delta + n + 1; gamma + delta + n + 1; 1 / (1 + d)) / L(... | x, t_x, n):
        the transaction at opportunity n + k is discounted by (1 + d)^k.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            With ``frequency``, ``recency``, ``n_periods``.
        discount_rate : float
            Discount rate per opportunity (or per ``discount_period``), > 0.
        discount_period : {"D", "W", "M", "Y"}, optional
            Period of ``discount_rate`` (as for the other purchase models' ``dert``); it is
            converted to a rate per opportunity of length ``time_unit``:
            (1 + rate)^(opportunity / period) - 1. None: the rate is per opportunity.
        frequency, recency, n_periods : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``dert``, indexed like ``data`` (a float if every input is a scalar).

        Raises
        ------
        DataValidationError
            Not 0 <= frequency <= recency <= n_periods whole numbers, n_periods < 1 or
            above 10,000 opportunities, NaN (names the customers).

        Examples
        --------
        >>> from clvkit.models import BetaGeoBetaBinomialFit
        >>> fit = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                          delta=2.783, time_unit="Y")
        >>> fit.dert(frequency=[6, 0], recency=[6, 0], n_periods=6,
        ...          discount_rate=0.1).round(2).tolist()
        [5.91, 0.11]
        """
        d_rate = float(check_positive("discount_rate", discount_rate))
        if discount_period is not None:
            check_one_of("discount_period", discount_period, TIME_UNITS)
            if self.time_unit is None:
                raise ClvError("the BG/BB fit has no `time_unit` (length of an opportunity): "
                               "give the rate per opportunity without `discount_period`, or "
                               "fit with time_unit=")
            d_rate = float(np.expm1(np.log1p(d_rate) * convert_duration(
                1.0, from_unit=self.time_unit, to_unit=discount_period)))
        frame, (x, t_x, n) = self._arrays(data, {"frequency": frequency, "recency": recency,
                                                 "n_periods": n_periods})
        a, b, g, d = p = self._p()
        log_dert = (betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(g, d + n + 1)
                    - betaln(g, d) - np.log1p(d_rate) - _loglik(p, x, t_x, n))
        hyp = hyp2f1(1.0, d + n + 1, g + d + n + 1, 1.0 / (1.0 + d_rate))
        return prediction(np.exp(log_dert) * hyp, frame, "dert", time_unit=self.time_unit,
                          discount_rate=d_rate)

    def expected_purchases_new_customer(self, n: Any) -> np.ndarray | float:
        """Compute expected transactions of a new customer in n opportunities (eq. (9)).

        E[X(n)] = alpha / (alpha + beta) delta / (gamma - 1)
        [1 - Gamma(gamma + delta) Gamma(1 + delta + n) / (Gamma(gamma + delta + n)
        Gamma(1 + delta))].

        Parameters
        ----------
        n : int or array-like
            Number of opportunities.

        Returns
        -------
        ndarray or float
            Same shape as ``n`` (a float for a scalar).

        Examples
        --------
        >>> from clvkit.models import BetaGeoBetaBinomialFit
        >>> fit = BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                          delta=2.783, time_unit="Y")
        >>> fit.expected_purchases_new_customer([1, 6]).round(3)
        array([0.498, 2.22 ])
        """
        n = np.asarray(check_horizon("n", n, np.size(n)), dtype=float)
        a, b, g, d = self._p()
        log_r = gammaln(g + d) + gammaln(1 + d + n) - gammaln(g + d + n) - gammaln(1 + d)
        return scalar_or_array(a / (a + b) * d / (g - 1) * (1 - np.exp(log_r)))


class BetaGeoBetaBinomial(Model):
    """BG/BB model (Fader, Hardie & Shang 2010) for discrete transaction opportunities.

    Examples
    --------
    The donations data of the paper (11,104 donors, 6 annual opportunities):

    >>> d = pd.read_csv("data/donations.csv").rename(columns={"periods": "n_periods"})
    >>> fit = BetaGeoBetaBinomial().fit(d, weights=d["weights"], time_unit="Y")
    >>> fit.params_series().round(3).tolist(), round(fit.log_likelihood, 1)
    ([1.204, 0.75, 0.657, 2.783], -33225.6)
    """

    params_type = BetaGeoBetaBinomialParams
    result_type = BetaGeoBetaBinomialFit

    def fit(self, data: pd.DataFrame | Mapping[str, Any] | None = None, *,
            frequency: Any = None, recency: Any = None, n_periods: Any = None,
            weights: Any = None, time_unit: str | None = None,
            strict: bool = True) -> BetaGeoBetaBinomialFit:
        """Fit by maximum likelihood (eq. (5)) and return a new frozen result.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Columns ``frequency`` (x), ``recency`` (t_x, 0 if x = 0) and ``n_periods`` (n).
        frequency, recency, n_periods : array-like, optional
            The same as arrays.
        weights : array-like, optional
            Number of customers per row (e.g. the counts of a recency/frequency table).
        time_unit : {"D", "W", "M", "Y"}, optional
            Length of one opportunity, recorded on the result.
        strict : bool, default True
            Raise `ConvergenceError` on non-convergence or a degenerate estimate (else warn,
            ``success=False``).

        Returns
        -------
        BetaGeoBetaBinomialFit
        """
        return self._fit(data, {"frequency": frequency, "recency": recency,
                                "n_periods": n_periods},
                         weights=weights, time_unit=time_unit, strict=strict)

    def _prepare(self, data, given, weights, time_unit):
        frame = read_frame(data, _COLUMNS, given)
        unit = optional_time_unit(frame, time_unit)
        check_not_empty(frame)
        check_customers(frame, age="n_periods", discrete=True)
        check_counts(frame)
        return frame, read_weights(frame, weights), unit

    def _start(self, d, w):
        return np.ones(4)

    def _loglik(self, p, d, grad):
        out = _loglik(p, d["frequency"], d["recency"], d["n_periods"], grad)
        return out if grad else (out, None)
