"""P(X(t) = x): the distribution of the number of purchases (BG/NBD, MBG/NBD, Pareto/NBD).

Unconditional (a customer just acquired, repeat purchases in (0, t]): Fader, Hardie & Lee
(2005), "Counting Your Customers the Easy Way", *Marketing Science* 24(2), eq. (8)::

    P(X(t) = x) = B(a, b + x) / B(a, b) Gamma(r + x) / (Gamma(r) x!) (alpha / (alpha + t))^r
                  (t / (alpha + t))^x
                + [x > 0] B(a + 1, b + x - 1) / B(a, b)
                  [1 - (alpha / (alpha + t))^r sum_{j<x} Gamma(r + j) / (Gamma(r) j!)
                  (t / (alpha + t))^j].

Conditional on a history (x, t_x, T), the number X* of purchases in (T, T + t]: the joint
probability of the history and X* = n, integrated over lambda ~ Gamma(r, alpha) and
p ~ Beta(a, b), divided by the likelihood L(x, t_x, T) (FHL 2005 eq. (6)); as in Fader &
Hardie's note on the conditional pmf of the BG/NBD::

    P(X* = n | x, t_x, T) L = [n = 0] A
        + B(a, b + x + n) / B(a, b) Gamma(r + x + n) / (Gamma(r) n!) alpha^r t^n
          / (alpha + T + t)^(r + x + n)
        + [n > 0] B(a + 1, b + x + n - 1) / B(a, b) [Gamma(r + x) / Gamma(r) alpha^r
          / (alpha + T)^(r + x) - sum_{j<n} Gamma(r + x + j) / (Gamma(r) j!) alpha^r t^j
          / (alpha + T + t)^(r + x + j)]

with A = [x > 0] B(a + 1, b + x - 1) / B(a, b) Gamma(r + x) / Gamma(r) alpha^r
/ (alpha + t_x)^(r + x) the probability of the history with the customer already gone
(then no purchase can follow). The three terms are: gone before T; alive at T, n purchases,
still alive; alive at T, gone right after the n-th purchase before T + t. With x = t_x =
T = 0 it is eq. (8). The MBG/NBD (Batislam et al. 2007) adds one dropout opportunity at
the first purchase: b + x becomes b + x + 1 throughout and A applies for x = 0 too.

Pareto/NBD (Fader & Hardie, "Deriving an Expression for P(X(t) = x) Under the Pareto/NBD
Model", brucehardie.com note 012; conditional: note 028). Given the dropout time tau, the
purchases in (0, t] are Poisson with exposure min(tau, t); mixing lambda ~ Gamma(r, alpha)
gives the NBD pmf NB(x; u) = Gamma(r + x) / (Gamma(r) x!) (alpha / (alpha + u))^r
(u / (alpha + u))^x, and mixing mu ~ Gamma(s, beta) makes tau Pareto (Lomax) with
P(tau > u) = (beta / (beta + u))^s, so

    P(X(t) = x) = NB(x; t) (beta / (beta + t))^s
                + int_0^t NB(x; u) s beta^s / (beta + u)^(s + 1) du,

the two cases (alive at t, gone at u < t) the note starts from. The note integrates the
second term into Gauss hypergeometric functions; here it is evaluated by composite
Gauss-Legendre quadrature in log u (the integrand is analytic and bell-shaped in log u:
320 nodes give ~1e-15 accuracy; checked against a simulation in the tests). Conditional on a
history, a customer alive at T has lambda ~ Gamma(r + x, alpha + T) and mu ~ Gamma(s,
beta + T) (memoryless dropout), so the next ``t`` behave like a new customer with those
parameters: P(X* = n | x, t_x, T) = [n = 0] (1 - P(alive)) + P(alive) P(X(t) = n | r + x,
alpha + T, s, beta + T) (note 028; P(alive) is eq. (25) of note 009).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, logsumexp

from ..errors import ClvError
from ._base import check_horizon, prediction, series

__all__ = ["probability_of_purchases", "conditional_probability_of_purchases",
           "probability_of_no_purchases", "purchase_count_interval", "CountDistribution",
           "bgnbd_log_pmf", "pareto_log_pmf", "pareto_conditional_log_pmf"]

#: Gauss-Legendre rule for the Pareto/NBD pmf integral: 40 panels of width 1 in log u over
#: [log t - 40, log t], 8 nodes each (the integrand below t e^-40 is added in closed form).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_LOG_NODES = (np.arange(40)[:, None] + (_GL_X[None, :] + 1) / 2).ravel() - 40.0
_LOG_WEIGHTS = np.log(np.tile(_GL_W / 2, 40))


def _check(n: Any) -> np.ndarray:
    arr = np.asarray(n, dtype=float)
    if np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ClvError(f"`n` must be whole numbers of purchases >= 0, got {n!r}")
    return arr


def bgnbd_log_pmf(params: Any, k: int, n: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                  T: np.ndarray, t: np.ndarray) -> np.ndarray:  # noqa: N803
    """BG/NBD (k = 0) or MBG/NBD (k = 1) log P(X* = n | x, t_x, T), broadcastable arrays."""
    r, alpha, a, b = params
    bx = b + x + k  # b + (dropout opportunities survived while alive at T)
    lb = betaln(a, b)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_l_alive = betaln(a, bx) - lb + head - (r + x) * np.log(alpha + T)
        has_dead = (x + k) > 0
        log_l_dead = np.where(has_dead, betaln(a + 1, np.where(has_dead, bx - 1, 1.0)) - lb
                              + head - (r + x) * np.log(alpha + t_x), -np.inf)
        log_l = np.logaddexp(log_l_alive, log_l_dead)
        log_t = np.log(t)
        log_at = np.log(alpha + T + t)
        # alive at T, n purchases in (T, T + t], still alive
        stay = (betaln(a, bx + n) - lb + gammaln(r + x + n) - gammaln(r) - gammaln(n + 1)
                + r * np.log(alpha) + np.where(n > 0, n * log_t, 0.0) - (r + x + n) * log_at)
        # alive at T, gone right after the n-th purchase, which falls before T + t:
        # P(Gamma(r + x, alpha + T)-mixed Poisson count over t >= n)
        shape = np.broadcast_shapes(np.shape(n), np.shape(x), np.shape(T), np.shape(t))
        n_b, x_b, T_b, t_b = (np.broadcast_to(v, shape) for v in (n, x, T, t))  # noqa: N806
        leave = np.full(shape, -np.inf)
        pos = n_b > 0
        if np.any(pos):
            nn, xx, TT, tt = n_b[pos], x_b[pos], T_b[pos], t_b[pos]  # noqa: N806
            # P(count >= n) = 1 - sum_{j<n} NB(j; r + x, ...): summed as the tail in logs
            q = tt / (alpha + TT + tt)
            j_max = int(nn.max())
            j = np.arange(j_max)[:, None]
            log_nb = (gammaln(r + xx + j) - gammaln(r + xx) - gammaln(j + 1)
                      + (r + xx) * np.log1p(-q) + j * np.log(np.where(q > 0, q, 1.0)))
            log_nb = np.where((j < nn) & ((q > 0) | (j == 0)), log_nb, -np.inf)
            below = np.minimum(np.exp(logsumexp(log_nb, axis=0)), 1.0)
            log_tail = np.log1p(-below)
            bxx = np.broadcast_to(bx, shape)[pos]
            leave[pos] = (betaln(a + 1, bxx + nn - 1) - lb + gammaln(r + xx) - gammaln(r)
                          + r * np.log(alpha) - (r + xx) * np.log(alpha + TT) + log_tail)
        dead = np.where(n == 0, log_l_dead, -np.inf)
        out = np.logaddexp(np.logaddexp(dead, stay), leave) - log_l
    return out


def pareto_log_pmf(r: Any, alpha: Any, s: float, beta: Any, n: Any, t: Any) -> np.ndarray:
    """Log P(X(t) = n) of a new Pareto/NBD customer (note 012), broadcastable arrays."""
    r, alpha, beta, n, t = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                 for v in (r, alpha, beta, n, t)))
    out = np.where(n == 0, 0.0, -np.inf)  # t = 0: no purchase for sure
    pos = t > 0
    if not np.any(pos):
        return out
    r, alpha, beta, n, t = (v[pos][..., None] for v in (r, alpha, beta, n, t))
    head = gammaln(r + n) - gammaln(r) - gammaln(n + 1)

    def log_nb(u: np.ndarray) -> np.ndarray:  # NBD pmf with exposure u > 0
        return (head + r * (np.log(alpha) - np.log(alpha + u))
                + n * (np.log(u) - np.log(alpha + u)))

    alive = log_nb(t) + s * (np.log(beta) - np.log(beta + t))
    log_u = np.log(t) + _LOG_NODES  # nodes in log u, shape (..., 320)
    u = np.exp(log_u)
    gone = logsumexp(_LOG_WEIGHTS + log_nb(u) + np.log(s) + s * np.log(beta)
                     - (s + 1) * np.log(beta + u) + log_u, axis=-1, keepdims=True)
    # below u = t e^-40 the NBD pmf is [n = 0]: add P(tau < t e^-40) for n = 0
    eps = t * np.exp(-40.0)
    tiny = np.where(n == 0, np.log(-np.expm1(-s * np.log1p(eps / beta))), -np.inf)
    out[pos] = np.logaddexp(np.logaddexp(alive, gone), tiny)[..., 0]
    return out


def pareto_conditional_log_pmf(params: Any, alive: np.ndarray, n: np.ndarray, x: np.ndarray,
                               T: np.ndarray, t: np.ndarray) -> np.ndarray:  # noqa: N803
    """Log P(X* = n | x, t_x, T) of the Pareto/NBD (note 028) given P(alive) (module notes)."""
    r, alpha, s, beta = params
    with np.errstate(divide="ignore"):
        log_alive, log_dead = np.log(alive), np.log1p(-alive)
    future = pareto_log_pmf(r + x, alpha + T, s, beta + T, n, t)
    return np.logaddexp(log_alive + future, np.where(n == 0, log_dead, -np.inf))


class CountDistribution:
    """P(X(t) = x) and its conditional form as methods of a fit (BG/NBD, MBG/NBD, Pareto/NBD).

    A fit provides the two primitives ``conditional_log_pmf(n, x, t_x, T, t)`` (log P(X* = n
    | x, t_x, T) on validated arrays) and ``_new_log_pmf(n, t)`` (a new customer's), and
    ``_rows`` (`clvkit.models._base.RFTFit`); the functions of this module call the methods.
    """

    def histories(self, data: Any = None, **columns: Any
                  ) -> tuple[pd.DataFrame, list[np.ndarray]]:
        """The checked customers and their (x, t_x, T) arrays (`check_customers`)."""
        frame, cols, _, _ = self._rows(data, columns)
        return frame, cols

    def probability_of_purchases(self, *, t: Any, n: Any) -> np.ndarray:
        """P(X(t) = n) of a customer acquired now; see `probability_of_purchases`."""
        n = _check(n)
        t = (float(check_horizon("t", t, 1)) if np.ndim(t) == 0
             else check_horizon("t", np.ravel(t), np.size(t)).reshape(np.shape(t)))
        return np.exp(self._new_log_pmf(n, t))

    def conditional_probability_of_purchases(self, data: Any = None, *, t: float, n: int,
                                             frequency: Any = None, recency: Any = None,
                                             T: Any = None) -> pd.Series:  # noqa: N803
        """P(exactly ``n`` purchases in the next ``t`` | history); see the module function."""
        n_arr = _check(n)
        if n_arr.ndim:
            raise ClvError("`n` must be one number of purchases (call once per n)")
        frame, (x, t_x, T) = self.histories(  # noqa: N806
            data, frequency=frequency, recency=recency, T=T)
        t_arr = check_horizon("t", t, len(frame))
        p = np.exp(self.conditional_log_pmf(n_arr, x, t_x, T, t_arr))
        return series(p, frame.index, "p_purchases", time_unit=self.time_unit, n=int(n_arr),
                      horizon=t_arr if t_arr.ndim == 0 else None)

    def probability_of_no_purchases(self, data: Any = None, *, t: Any, frequency: Any = None,
                                    recency: Any = None,
                                    T: Any = None) -> pd.Series | float:  # noqa: N803
        """P(no purchase in the next ``t`` | history): churn over a horizon; see the function."""
        frame, (x, t_x, T) = self.histories(  # noqa: N806
            data, frequency=frequency, recency=recency, T=T)
        t_arr = check_horizon("t", t, len(frame))
        p = np.exp(self.conditional_log_pmf(np.float64(0), x, t_x, T, t_arr))
        return prediction(p, frame, "p_no_purchases", time_unit=self.time_unit,
                          horizon=t_arr if t_arr.ndim == 0 else None)


def _counting(fit: Any, name: str) -> Any:
    """``fit.<name>`` or a `ClvError` for a model without the count distribution."""
    found = getattr(fit, name, None)
    if found is None:
        raise ClvError(f"P(X(t) = x) is implemented for BG/NBD, MBG/NBD and Pareto/NBD fits, "
                       f"not {getattr(fit, 'model_name', type(fit).__name__)}"
                       + ("; use fit.customer_model(covariates)"
                          if hasattr(fit, "customer_model") else ""))
    return found


def probability_of_purchases(fit: Any, *, t: Any, n: Any) -> np.ndarray:
    """P(X(t) = n): probability of exactly ``n`` repeat purchases in (0, t].

    For a customer who made the first purchase at time 0: FHL 2005, eq. (8) for the
    BG/NBD (MBG/NBD with its extra dropout opportunity); note 012 for the Pareto/NBD (see
    the module notes).

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit or ParetoNBDFit
        Fitted (or given) parameters.
    t : float or array-like
        Length of the period, in the fit's time unit; an array is broadcast against ``n``
        (e.g. ``t[:, None]`` and ``n[None, :]`` for every age at once).
    n : int or array-like of int
        Numbers of purchases.

    Returns
    -------
    ndarray
        Probabilities, shape of ``n`` (broadcast with ``t``).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> probability_of_purchases(fit, t=39, n=[0, 1, 2]).round(4)
    array([0.5738, 0.1994, 0.0854])
    >>> from clvkit.models import ParetoNBDFit
    >>> pnbd = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
    ...                                 time_unit="W")
    >>> probability_of_purchases(pnbd, t=39, n=[0, 1, 2]).round(4)
    array([0.5936, 0.1656, 0.0825])
    """
    return _counting(fit, "probability_of_purchases")(t=t, n=n)


def conditional_probability_of_purchases(fit: Any, data: Any = None, *, t: float,
                                         n: int, frequency: Any = None, recency: Any = None,
                                         T: Any = None) -> pd.Series:  # noqa: N803
    """P(exactly ``n`` purchases in the next ``t`` | x, t_x, T), per customer.

    ``n = 0`` gives the probability of no purchase in the next ``t``: a working
    definition of churn over that horizon (see `probability_of_no_purchases`). BG/NBD and
    MBG/NBD: the conditional pmf in the module notes; Pareto/NBD: note 028.

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit or ParetoNBDFit
        Fitted (or given) parameters.
    data : DataFrame or mapping, optional
        Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
    t : float
        Horizon, in the fit's time unit.
    n : int
        Number of purchases.
    frequency, recency, T : array-like, optional
        The same as arrays.

    Returns
    -------
    Series
        ``p_purchases`` indexed like ``data``; ``attrs`` hold ``n`` and ``horizon``.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> conditional_probability_of_purchases(
    ...     fit, frequency=[0, 2], recency=[0, 30.43], T=38.86, t=39, n=0).round(3).tolist()
    [0.855, 0.445]
    """
    return _counting(fit, "conditional_probability_of_purchases")(
        data, t=t, n=n, frequency=frequency, recency=recency, T=T)


def probability_of_no_purchases(fit: Any, data: Any = None, *, t: Any,
                                frequency: Any = None, recency: Any = None,
                                T: Any = None) -> pd.Series | float:  # noqa: N803
    """P(no purchase in the next ``t`` | x, t_x, T): churn over a horizon, per customer.

    The working definition of churn asked for in pymc-marketing #1093: the conditional pmf
    at 0, P(X* = 0 | x, t_x, T), of the BG/NBD and MBG/NBD (module notes: the customer
    is gone, or alive and makes no purchase) or of the Pareto/NBD (note 028:
    1 - P(alive) + P(alive) P(X(t) = 0 | r + x, alpha + T, s, beta + T)). It is at least
    1 - P(alive) and grows with ``t``.

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit or ParetoNBDFit
        Fitted (or given) parameters.
    data : DataFrame or mapping, optional
        Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
    t : float or array-like
        Horizon, in the fit's time unit; scalar or one per customer.
    frequency, recency, T : array-like, optional
        The same as arrays.

    Returns
    -------
    Series or float
        ``p_no_purchases`` indexed like ``data``; a float if every input is a scalar.

    Raises
    ------
    DataValidationError
        Invalid customers (checked by `check_customers`).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit, ParetoNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> round(probability_of_no_purchases(fit, frequency=2, recency=30.43, T=38.86, t=39), 3)
    0.445
    >>> pnbd = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
    ...                                 time_unit="W")
    >>> probability_of_no_purchases(pnbd, frequency=[0, 2], recency=[0, 30.43], T=38.86,
    ...                             t=39).round(3).tolist()
    [0.931, 0.408]
    """
    return _counting(fit, "probability_of_no_purchases")(
        data, t=t, frequency=frequency, recency=recency, T=T)


def purchase_count_interval(fit: Any, data: pd.DataFrame, *, t: float, level: float = 0.9,
                            max_n: int = 1000) -> pd.DataFrame:
    """Interval for the number of purchases each customer will make in the next ``t``.

    A prediction interval for the count itself: it includes the purchase noise (the
    conditional distribution above), not only the uncertainty of the expectation. Given a
    `BootstrapResult` the distribution is averaged over its replicates (parameter
    uncertainty too); given a fit, the fitted parameters are used. The bounds are the
    smallest counts whose cumulative probability reaches ``(1 - level) / 2`` and
    ``(1 + level) / 2``; counts are whole numbers, so the interval covers at least
    ``level``.

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit, ParetoNBDFit or BootstrapResult of one
        The model.
    data : DataFrame
        Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
    t : float
        Horizon, in the fit's time unit.
    level : float, default 0.9
        Probability the interval holds.
    max_n : int, default 1000
        Largest count considered (customers whose upper bound would exceed it raise).

    Returns
    -------
    DataFrame
        ``lower``, ``upper`` (whole numbers) and ``p_zero`` (no purchase) per customer.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> s = pd.DataFrame({"frequency": [0, 2, 10], "recency": [0, 30.43, 38.0], "T": 38.86})
    >>> purchase_count_interval(fit, s, t=39).astype(float).round(3).values.tolist()
    [[0.0, 1.0, 0.855], [0.0, 4.0, 0.445], [0.0, 15.0, 0.08]]
    """
    if not 0 < level < 1:
        raise ClvError(f"`level` must be between 0 and 1 (e.g. 0.9), got {level!r}")
    fits = fit.fits() if hasattr(fit, "fits") else [fit]
    for f in fits:
        _counting(f, "conditional_log_pmf")
    frame, (x, t_x, T) = fits[0].histories(data)  # noqa: N806
    t_arr = check_horizon("t", t, len(frame))
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    n_cust = len(frame)
    cdf = np.zeros(n_cust)
    lower = np.full(n_cust, -1)
    upper = np.full(n_cust, -1)
    p_zero = None
    for n in range(max_n + 1):
        pmf = np.mean([np.exp(f.conditional_log_pmf(np.float64(n), x, t_x, T, t_arr))
                       for f in fits], axis=0)
        if n == 0:
            p_zero = pmf
        cdf = cdf + pmf
        lower[(lower < 0) & (cdf >= lo_q - 1e-12)] = n
        upper[(upper < 0) & (cdf >= hi_q - 1e-12)] = n
        if (upper >= 0).all():
            break
    else:
        raise ClvError(f"the {level:.0%} interval of some customers exceeds `max_n`="
                       f"{max_n} purchases; raise `max_n`")
    return pd.DataFrame({"lower": lower, "upper": upper, "p_zero": p_zero}, index=frame.index)
