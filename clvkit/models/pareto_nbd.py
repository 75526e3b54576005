"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) in the form of Fader & Hardie.

References: Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your
Customers: Who Are They and What Will They Do Next? *Management Science* 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2005). "A Note on Deriving the Pareto/NBD Model and
Related Expressions", brucehardie.com note 009 (equation numbers below refer to it).
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis. *Journal of Marketing Research* 42(4), 415-430 (DERT, eq. (2)).

The likelihood contains a Gauss hypergeometric function; it is evaluated in the stable
form of note 009 (eqs. (19)-(20)): the argument is (alpha - beta) / (alpha + t) when
alpha >= beta and (beta - alpha) / (beta + t) otherwise, which always lies in [0, 1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, expit, gamma, gammaln, hyp2f1, hyperu

from ._base import RFTFit, RFTModel, check_horizon, prediction
from .covariates import StaticCovariatesFit, covariates_or_base, unique_rows
from .future import continuous_discount_rate
from .probabilities import CountDistribution, pareto_conditional_log_pmf, pareto_log_pmf

__all__ = ["ParetoNBD", "ParetoNBDParams", "ParetoNBDFit", "ParetoNBDCovariatesFit"]


@dataclass(frozen=True)
class ParetoNBDParams:
    """Pareto/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta).

    ``alpha`` and ``beta`` are in the fit's time unit.
    """

    r: float
    alpha: float
    s: float
    beta: float


def _log_hyp_term(r: float, s: float, alpha: np.ndarray, beta: np.ndarray, x: np.ndarray,
                  t: np.ndarray) -> np.ndarray:
    """Log of 2F1(...; z(t)) / (max(alpha, beta) + t)^(r + s + x), one half of A0 (eq. 19-20).

    ``alpha`` and ``beta`` are per row (customers with covariates have their own). For
    alpha < beta the function is 2F1(r + s + x, r + x; r + s + x + 1; z), which overflows
    for large x (two large upper parameters); Euler's transformation
    2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z) gives its log as
    (1 - r - x) log(1 - z) + log 2F1(1, s + 1; r + s + x + 1; z), finite at any x.
    """
    alpha, beta, x, t = np.broadcast_arrays(alpha, beta, x, t)
    rsx = r + s + x
    out = np.empty(rsx.shape)
    first = alpha >= beta
    if first.any():
        a, b, tt, c = alpha[first], beta[first], t[first], rsx[first]
        z = (a - b) / (a + tt)
        out[first] = np.log(hyp2f1(c, s + 1.0, c + 1.0, z)) - c * np.log(a + tt)
    second = ~first
    if second.any():
        a, b, tt, c, xx = alpha[second], beta[second], t[second], rsx[second], x[second]
        z = (b - a) / (b + tt)
        out[second] = ((1.0 - r - xx) * np.log1p(-z) + np.log(_hyp2f1_one(s + 1.0, c + 1.0, z, xx))
                       - c * np.log(b + tt))
    return out


#: `_hyp2f1_one` uses the connection formula where z >= this, x <= `_NEAR_ONE_X` ...
_NEAR_ONE_Z = 0.99
_NEAR_ONE_X = 8
#: ... and c - a - b = r + x - 1 is at least this far from an integer (the two terms then
#: cancel by at most ~2 digits).
_NEAR_ONE_GAP = 0.01


def _hyp2f1_one(b: float, c: np.ndarray, z: np.ndarray, x: np.ndarray) -> np.ndarray:
    """2F1(1, b; c; z) for 0 <= z < 1, fast near z = 1 for small x.

    SciPy's ``hyp2f1`` needs ~30 us per value for z near 1 and small c (measured, SciPy
    1.17): the degenerate Pareto/NBD fits (beta -> infinity, so z -> 1) then take 10-30 s
    on 4,000 customers. There the connection formula to 1 - z (Abramowitz & Stegun
    15.3.6), with m = c - a - b,

        2F1(a, b; c; z) = G(c) G(m) / (G(c - a) G(c - b)) 2F1(a, b; 1 - m; 1 - z)
                          + (1 - z)^m G(c) G(-m) / (G(a) G(b)) 2F1(c - a, c - b; m + 1; 1 - z)

    has two quickly converging series. It is used for z >= 0.99, x <= 8, b <= 50 and m at
    least 0.01 from an integer (agreement with ``hyp2f1`` within 5e-10 relative on a grid of
    r in [0.05, 6], s in [1e-7, 10], checked in the tests); elsewhere ``hyp2f1``.
    """
    c = np.broadcast_to(np.asarray(c, dtype=float), np.shape(z))
    out = np.empty(np.shape(z))
    m = c - 1.0 - b
    near = ((z >= _NEAR_ONE_Z) & (x <= _NEAR_ONE_X) & (b <= 50.0)
            & (np.abs(m - np.round(m)) >= _NEAR_ONE_GAP))
    if near.any():
        cn, mn, y = c[near], m[near], 1.0 - z[near]
        with np.errstate(all="ignore"):
            first = gamma(cn) * gamma(mn) / (gamma(cn - 1.0) * gamma(cn - b))
            second = gamma(cn) * gamma(-mn) / gamma(b)
            fast = (first * hyp2f1(1.0, b, 1.0 - mn, y)
                    + y**mn * second * hyp2f1(cn - 1.0, cn - b, mn + 1.0, y))
        good = np.isfinite(fast) & (fast > 0)
        idx = np.flatnonzero(near)
        out[idx[good]] = fast[good]
        near[idx[~good]] = False
    out[~near] = hyp2f1(1.0, b, c[~near], z[~near])
    return out


def _unique(values: np.ndarray, key: str) -> dict[str, np.ndarray]:
    """Unique rows of ``values`` (1-D or stacked columns) and the inverse index."""
    if values.ndim == 1:
        uniq, inv = np.unique(values, return_inverse=True)
    else:
        uniq, inv = unique_rows(values)
    return {f"_{key}_u": uniq, f"_{key}_inv": inv.ravel()}


def _with_index(x: np.ndarray, t_x: np.ndarray, T: np.ndarray,  # noqa: N803
                group: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The data plus unique x, (T, g), (x, t_x, g) and (x, T, g) with inverse indices.

    ``group`` numbers the customers' (alpha, beta) pairs (all 0 without covariates; with
    covariates one group per distinct covariate row). Terms that depend only on x or
    (T, g) are computed once per distinct value, and the hypergeometric terms once per
    distinct (x, t_x, g) and (x, T, g): for a million customers recorded by day these are
    a few thousand values instead of 10^6 rows.
    """
    g = np.zeros(len(x)) if group is None else np.asarray(group, dtype=float)
    return {"frequency": x, "recency": t_x, "T": T, "_g": g.astype(np.intp), **_unique(x, "x"),
            **_unique(np.column_stack([T, g]), "Tg"),
            **_unique(np.column_stack([x, t_x, g]), "xr"),
            **_unique(np.column_stack([x, T, g]), "xT")}


def _hyp_terms(r: float, s: float, alpha: np.ndarray, beta: np.ndarray,
               d: dict[str, np.ndarray], key: str) -> np.ndarray:
    """`_log_hyp_term` on the unique (x, t, group) rows; ``alpha``, ``beta`` per group."""
    rows = d[f"_{key}_u"]
    g = rows[:, 2].astype(np.intp)
    return _log_hyp_term(r, s, alpha[g], beta[g], rows[:, 0], rows[:, 1])


#: Below this z the derivative of log 2F1 in z is its limit at 0 (error O(z)).
_SMALL_Z = 1e-8


def _log_hyp_slopes(r: float, s: float, alpha: np.ndarray, beta: np.ndarray, x: np.ndarray,
                    t: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/d alpha and d/d beta of `_log_hyp_term` ``h`` (analytic, through z).

    With z F'(a, b; c; z) = (c - 1) [F(a, b; c - 1; z) - F(a, b; c; z)] (DLMF 15.5.E4 with
    15.5.E1): for alpha >= beta, F(c, s + 1; c; z) = (1 - z)^-(s + 1) in closed form; for
    alpha < beta, F(1, s + 1; r + s + x; z) is one more evaluation of `_hyp2f1_one`.
    """
    c = r + s + x
    first = alpha >= beta
    big, small = np.where(first, alpha, beta), np.where(first, beta, alpha)
    z = (big - small) / (big + t)
    # log of the 2F1 factor alone (h without its power and Euler factor)
    log_f = h + c * np.log(big + t) - np.where(first, 0.0, (1.0 - r - x) * np.log1p(-z))
    dlog_f = np.empty_like(z)
    tiny = z < _SMALL_Z
    dlog_f[tiny] = (s + 1.0) * np.where(first, c, 1.0)[tiny] / (c[tiny] + 1.0)
    a_idx = first & ~tiny
    if a_idx.any():
        za, ca = z[a_idx], c[a_idx]
        dlog_f[a_idx] = ca / za * np.expm1(-(s + 1.0) * np.log1p(-za) - log_f[a_idx])
    b_idx = ~first & ~tiny
    if b_idx.any():
        zb, cb = z[b_idx], c[b_idx]
        lower = np.log(_hyp2f1_one(s + 1.0, cb, zb, x[b_idx]))
        dlog_f[b_idx] = cb / zb * np.expm1(lower - log_f[b_idx])
    dh_dz = dlog_f - np.where(first, 0.0, (1.0 - r - x) / (1.0 - z))
    d_big = dh_dz * (t + small) / (big + t) ** 2 - c / (big + t)
    d_small = -dh_dz / (big + t)
    return np.where(first, d_big, d_small), np.where(first, d_small, d_big)


def _hyp_gradient(r: float, s: float, alpha: np.ndarray, beta: np.ndarray,
                  d: dict[str, np.ndarray], key: str, h: np.ndarray) -> np.ndarray:
    """Derivatives of the log 2F1 terms ``h`` on the unique rows -> (4, n).

    r and s by central differences; alpha and beta (of the row's own group) analytically
    (`_log_hyp_slopes`).
    """
    rows = d[f"_{key}_u"]
    g = rows[:, 2].astype(np.intp)
    out = np.empty((4, len(rows)))
    for k, (name, value) in ((0, ("r", r)), (2, ("s", s))):
        step = 1e-5 * value
        args = {"r": r, "alpha": alpha, "s": s, "beta": beta}
        up = _hyp_terms(**{**args, name: value + step}, d=d, key=key)
        down = _hyp_terms(**{**args, name: value - step}, d=d, key=key)
        out[k] = (up - down) / (2 * step)
    out[1], out[3] = _log_hyp_slopes(r, s, alpha[g], beta[g], rows[:, 0], rows[:, 1], h)
    return out


def loglik_rows(r: float, s: float, alpha: np.ndarray, beta: np.ndarray,
                d: dict[str, np.ndarray], grad: bool = False,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-customer log-likelihood (note 009, eq. (18)), log-odds of death, gradient.

    ``alpha`` and ``beta`` hold one value per group of ``d["_g"]`` (see `_with_index`): a
    single group without covariates, one per distinct covariate row with them (Fader &
    Hardie 2007, note 019: alpha_i = alpha0 exp(-gamma_trans z_i), beta_i = beta0
    exp(-gamma_life z_i)). With ``grad`` also the derivatives of each row's log-likelihood
    with respect to r, the row's alpha, s and the row's beta, shape (4, n).
    """
    alpha = np.asarray(alpha, dtype=float)
    beta = np.asarray(beta, dtype=float)
    x, xi, g = d["frequency"], d["_x_inv"], d["_g"]
    xu, tg, ti = d["_x_u"], d["_Tg_u"], d["_Tg_inv"]
    tgg = tg[:, 1].astype(np.intp)
    a_row, b_row = alpha[g], beta[g]
    at, bt = (alpha[tgg] + tg[:, 0])[ti], (beta[tgg] + tg[:, 0])[ti]
    log_at, log_bt = np.log(at), np.log(bt)
    hu_tx, hu_t = _hyp_terms(r, s, alpha, beta, d, "xr"), _hyp_terms(r, s, alpha, beta, d, "xT")
    h_tx, h_t = hu_tx[d["_xr_inv"]], hu_t[d["_xT_inv"]]
    gap = np.minimum(h_t - h_tx, 0.0)  # log of H(T) / H(t_x) <= 0; A0 = H(t_x) - H(T)
    with np.errstate(divide="ignore"):
        log_a0 = h_tx + np.log(-np.expm1(gap))
    alive = -(r + x) * log_at - s * log_bt
    dead = np.log(s) - np.log(r + s + xu)[xi] + log_a0
    head = ((gammaln(r + xu) - gammaln(r))[xi] + r * np.log(alpha)[g]
            + s * np.log(beta)[g])
    mix = np.logaddexp(alive, dead)
    if not grad:
        return head + mix, dead - alive, None
    u = np.exp(dead - mix)  # weight of the "died before T" term
    ratio = np.exp(gap)
    dh_tx = _hyp_gradient(r, s, alpha, beta, d, "xr", hu_tx)[:, d["_xr_inv"]]
    dh_t = _hyp_gradient(r, s, alpha, beta, d, "xT", hu_t)[:, d["_xT_inv"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        d_log_a0 = np.where(gap < 0, (dh_tx - ratio * dh_t) / (1 - ratio), 0.0)
    inv_rsx = (1.0 / (r + s + xu))[xi]
    dr = ((digamma(r + xu) - digamma(r))[xi] + np.log(a_row) - (1 - u) * log_at
          + u * (d_log_a0[0] - inv_rsx))
    dalpha = r / a_row - (1 - u) * (r + x) / at + u * d_log_a0[1]
    ds = np.log(b_row) - (1 - u) * log_bt + u * (1 / s - inv_rsx + d_log_a0[2])
    dbeta = s / b_row - (1 - u) * s / bt + u * d_log_a0[3]
    return head + mix, dead - alive, np.vstack([dr, dalpha, ds, dbeta])


def _loglik(p: np.ndarray, d: dict[str, np.ndarray],
            grad: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """`loglik_rows` without covariates: p = (r, alpha, s, beta), one group."""
    r, alpha, s, beta = p
    return loglik_rows(r, s, np.array([alpha]), np.array([beta]), d, grad)


def p_alive_rows(r: float, s: float, alpha: np.ndarray, beta: np.ndarray,
                 d: dict[str, np.ndarray]) -> np.ndarray:
    """P(alive | x, t_x, T) per row (note 009, eq. (25)); ``alpha``, ``beta`` per group."""
    return expit(-loglik_rows(r, s, alpha, beta, d)[1])


def expected_if_alive(r: float, alpha: Any, s: float, beta: Any, x: Any, T: Any,  # noqa: N803
                      t: Any) -> np.ndarray:
    """E[Y(t) | x, t_x, T] / P(alive) (note 009, eq. (41)), broadcastable arrays."""
    return ((r + x) * (beta + T) / ((alpha + T) * (s - 1))
            * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)))


def new_customer_purchases(r: float, alpha: Any, s: float, beta: Any, t: Any) -> np.ndarray:
    """E[X(t)] of a new customer (note 009, eq. (27)), broadcastable arrays."""
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def dert_rows(r: float, s: float, alpha: np.ndarray, beta: np.ndarray,
              d: dict[str, np.ndarray], delta: float) -> np.ndarray:
    """DERT per row (FHL 2005 JMR, eq. (2)); ``alpha``, ``beta`` per group of ``d``."""
    x, T = d["frequency"], d["T"]  # noqa: N806
    a_row, b_row = np.asarray(alpha)[d["_g"]], np.asarray(beta)[d["_g"]]
    log_dert = (r * np.log(a_row) + s * np.log(b_row) + (s - 1) * np.log(delta)
                + gammaln(r + x + 1) + np.log(hyperu(s, s, delta * (b_row + T)))
                - gammaln(r) - (r + x + 1) * np.log(a_row + T)
                - loglik_rows(r, s, alpha, beta, d)[0])
    return np.exp(log_dert)


class ParetoNBDPredictions:
    """The Pareto/NBD predictions, for one parameter set or one per covariate group.

    Written once for the fits without (`ParetoNBDFit`) and with static covariates
    (`ParetoNBDCovariatesFit`): ``_rows`` gives the customers, their (alpha, beta) per group
    and each customer's group (one group without covariates), ``_new_rows`` a new
    customer's parameters.
    """

    def _groups(self, data: Any, given: dict[str, Any], covariates: Any
                ) -> tuple[pd.DataFrame, dict[str, np.ndarray],
                           tuple[float, np.ndarray, float, np.ndarray]]:
        frame, (x, t_x, T), (r, alpha, s, beta), group = self._rows(  # noqa: N806
            data, given, covariates)
        d = _with_index(x, t_x, T, group)
        return frame, d, (float(np.ravel(r)[0]), np.atleast_1d(np.asarray(alpha, dtype=float)),
                          float(np.ravel(s)[0]), np.atleast_1d(np.asarray(beta, dtype=float)))

    def p_alive(self, data: Any = None, *, covariates: Any = None, frequency: Any = None,
                recency: Any = None, T: Any = None) -> pd.Series | float:  # noqa: N803
        """Compute the probability each customer is alive at T (note 009, eq. (25)).

        P(alive | x, t_x, T) = [1 + s / (r + s + x) (alpha + T)^(r + x) (beta + T)^s A0]^-1.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (fit's time unit).
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
        >>> from clvkit.models import ParetoNBDFit
        >>> fit = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
        ...                                time_unit="W")
        >>> fit.p_alive(frequency=[0, 2, 2], recency=[0, 30.43, 5], T=38.86).round(3).tolist()
        [0.295, 0.869, 0.13]
        """
        frame, d, (r, alpha, s, beta) = self._groups(
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        return prediction(p_alive_rows(r, s, alpha, beta, d), frame, "p_alive",
                          time_unit=self.time_unit)

    def conditional_expected_purchases(self, data: Any = None, *, t: Any,
                                       covariates: Any = None, frequency: Any = None,
                                       recency: Any = None, T: Any = None,  # noqa: N803
                                       ) -> pd.Series | float:
        """Compute expected purchases in the next ``t`` time units (note 009, eq. (41)).

        E[Y(t) | x, t_x, T] = (r + x)(beta + T) / ((alpha + T)(s - 1))
        [1 - ((beta + T) / (beta + T + t))^(s - 1)] P(alive | x, t_x, T).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (fit's time unit).
        t : float or array-like
            Horizon in the fit's time unit; scalar or one per customer.
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``expected_purchases`` indexed like ``data`` (a float for scalar inputs).

        Examples
        --------
        >>> from clvkit.models import ParetoNBDFit
        >>> fit = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
        ...                                time_unit="W")
        >>> fit.conditional_expected_purchases(frequency=[2], recency=[30.43], T=[38.86],
        ...                                    t=39).round(3).tolist()
        [1.455]
        """
        frame, d, (r, alpha, s, beta) = self._groups(
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        g = d["_g"]
        e = (expected_if_alive(r, alpha[g], s, beta[g], d["frequency"], d["T"], t)
             * p_alive_rows(r, s, alpha, beta, d))
        return prediction(e, frame, "expected_purchases", time_unit=self.time_unit,
                          horizon=t if t.ndim == 0 else None)

    def p_alive_at(self, data: Any = None, *, t: Any, covariates: Any = None,
                   frequency: Any = None, recency: Any = None,
                   T: Any = None) -> pd.Series | float:  # noqa: N803
        """P(alive) ``t`` time units after the end of the data (`clvkit.models.future` notes).

        P(alive at T + t | x, t_x, T) = P(alive) ((beta + T) / (beta + T + t))^s: alive at
        T, the dropout rate has the posterior Gamma(s, beta + T) and lifetimes are
        memoryless.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (fit's time unit).
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
        frame, d, (r, alpha, s, beta) = self._groups(
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        t = check_horizon("t", t, len(frame))
        b_t = beta[d["_g"]] + d["T"]
        alive = p_alive_rows(r, s, alpha, beta, d) * (b_t / (b_t + t)) ** s
        return prediction(np.clip(alive, 0.0, 1.0), frame, "p_alive",
                          time_unit=self.time_unit, horizon=t if t.ndim == 0 else None)

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str,
             covariates: Any = None, frequency: Any = None, recency: Any = None,
             T: Any = None) -> pd.Series | float:  # noqa: N803
        """Compute discounted expected residual transactions (FHL 2005 JMR, eq. (2)).

        DERT(delta | r, alpha, s, beta, x, t_x, T) = alpha^r beta^s delta^(s-1)
        Gamma(r + x + 1) Psi(s, s; delta (beta + T)) / [Gamma(r) (alpha + T)^(r + x + 1)
        L(r, alpha, s, beta | x, t_x, T)], with Psi the confluent hypergeometric function of
        the second kind and delta the continuously compounded discount rate per time unit
        of the fit (`clvkit.models.future.continuous_discount_rate`). The closed form: the
        one DERT of the Pareto/NBD. Multiply by the expected spend per transaction to get
        residual CLV.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            Summary with ``frequency``, ``recency``, ``T`` (fit's time unit).
        discount_rate : float
            Effective discount rate per ``discount_period`` (e.g. 0.15 per year), > 0.
        discount_period : {"D", "W", "M", "Y"}
            Period of ``discount_rate``.
        covariates : DataFrame, optional
            Fits with covariates only: the customers' covariates (default: the fit's own).
        frequency, recency, T : array-like, optional
            The same as arrays.

        Returns
        -------
        Series or float
            ``dert`` (discounted number of future transactions), indexed like ``data`` (a
            float for scalar inputs).

        Examples
        --------
        FHL (2005) discount 15 % a year; CDNOW parameters in weeks:

        >>> from clvkit.models import ParetoNBDFit
        >>> fit = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
        ...                                time_unit="W")
        >>> fit.dert(frequency=[0, 2], recency=[0, 30.43], T=[38.86, 38.86],
        ...          discount_rate=0.15, discount_period="Y").round(2).tolist()
        [0.48, 6.52]
        """
        delta = continuous_discount_rate(discount_rate, discount_period=discount_period,
                                         time_unit=self.time_unit)
        frame, d, (r, alpha, s, beta) = self._groups(
            data, {"frequency": frequency, "recency": recency, "T": T}, covariates)
        return prediction(dert_rows(r, s, alpha, beta, d, delta), frame, "dert",
                          time_unit=self.time_unit, discount_rate=discount_rate,
                          discount_period=discount_period, delta=delta)

    def expected_purchases_new_customer(self, t: Any, *, covariates: Any = None) -> Any:
        """Compute expected repeat purchases of a new customer in (0, t] (note 009, eq. (27)).

        E[X(t)] = r beta / (alpha (s - 1)) [1 - (beta / (beta + t))^(s - 1)].

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
        >>> from clvkit.models import ParetoNBDFit
        >>> fit = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
        ...                                time_unit="W")
        >>> fit.expected_purchases_new_customer([13, 39]).round(3)
        array([0.531, 1.213])
        """
        (r, alpha, s, beta), t, out = self._new_rows(t, covariates)
        return out(new_customer_purchases(r, alpha, s, beta, t))


@dataclass(frozen=True)
class ParetoNBDFit(ParetoNBDPredictions, CountDistribution, RFTFit):
    """A fitted Pareto/NBD model (frozen); predictions keep the customer index.

    Examples
    --------
    >>> from clvkit.models import ParetoNBD
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = ParetoNBD().fit(summary, time_unit="W")
    >>> print(fit)  # doctest: +NORMALIZE_WHITESPACE
    Pareto/NBD fitted on 2,357 customers (time unit: weeks): r=0.5533, alpha=10.58, s=0.6062,
    beta=11.67; LL=-9595.0
    """

    params: ParetoNBDParams
    model_name: ClassVar[str] = "Pareto/NBD"

    def conditional_log_pmf(self, n: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,  # noqa: N803
                            t: Any) -> np.ndarray:
        """Log P(X* = n | x, t_x, T) (note 028; `clvkit.models.probabilities`), broadcastable."""
        alive = np.asarray(self.p_alive(frequency=np.atleast_1d(x), recency=np.atleast_1d(t_x),
                                        T=np.atleast_1d(T)), dtype=float).reshape(np.shape(x))
        return pareto_conditional_log_pmf(dataclasses.astuple(self.params), alive, n, x, T, t)

    def _new_log_pmf(self, n: Any, t: Any) -> np.ndarray:
        p = self.params
        return pareto_log_pmf(p.r, p.alpha, p.s, p.beta, n, t)


@dataclass(frozen=True)
class ParetoNBDCovariatesFit(ParetoNBDPredictions, StaticCovariatesFit):
    """A Pareto/NBD fitted with static covariates (frozen); see `ParetoNBD.fit`.

    Customer i has alpha_i = alpha exp(-gamma_trans . z_i) and beta_i = beta exp(-gamma_life .
    z_i) (Fader & Hardie 2007, note 019; CLVTools' parametrisation); ``params`` holds r,
    alpha, s, beta of a customer whose covariates are all 0. Every prediction is the
    Pareto/NBD formula of `ParetoNBDFit` with the customer's own alpha_i and beta_i
    (`ParetoNBDPredictions`); ``covariates=`` defaults to the fit's own customers'.

    Examples
    --------
    >>> import numpy as np
    >>> from clvkit.models import ParetoNBD
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> cov = pd.DataFrame({"half": np.where(summary.index % 2 == 0, "even", "odd")},
    ...                    index=summary.index)
    >>> fit = ParetoNBD().fit(summary, time_unit="W", covariates=cov, trans=["half"])
    >>> fit.coefficient_names
    ('trans.half[odd]',)
    >>> fit.p_alive(summary.head(2), covariates=cov).round(3).tolist()
    [0.869, 0.171]
    """

    params: ParetoNBDParams
    model_name: ClassVar[str] = "Pareto/NBD with static covariates"


class ParetoNBD(RFTModel):
    """Pareto/NBD model of Schmittlein, Morrison & Colombo (1987).

    Poisson purchasing with Gamma(r, alpha) rates while alive; exponential lifetimes with
    Gamma(s, beta) dropout rates.

    The likelihood (note 009, eq. (18)) is maximised in log-parameter space; identical
    customers are compressed into weights and the hypergeometric terms are evaluated once
    per distinct (x, t_x) and (x, T) pair, which keeps million-customer fits fast.

    Parameters
    ----------
    penalizer : float, default 0
        Optional L2 penalty on the parameters.

    Examples
    --------
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = ParetoNBD().fit(summary, time_unit="W")
    >>> fit.params_series().round(3).tolist()
    [0.553, 10.578, 0.606, 11.668]
    """

    params_type = ParetoNBDParams
    scale_params = ("alpha", "beta")
    result_type = ParetoNBDFit
    covariates_result_type = ParetoNBDCovariatesFit
    #: process -> (parameter, sign): p_i = p exp(sign gamma . z_i) (CLVTools pnbd)
    covariate_links: ClassVar[dict[str, tuple[tuple[str, int], ...]]] = {
        "trans": (("alpha", -1),), "life": (("beta", -1),)}
    #: CLVTools' default ``start.params.model`` (R/class_clv_model_pnbd.R), for method="clvtools"
    clvtools_start: ClassVar[tuple[float, ...]] = (0.5, 15.0, 0.5, 10.0)

    def fit(self, data: Any = None, *, covariates: pd.DataFrame | None = None,
            trans: Any = (), life: Any = (), constrain: Any = (),
            regularization: Any = None, reference: Any = None,
            **kwargs: Any) -> ParetoNBDFit | ParetoNBDCovariatesFit:
        """Fit by maximum likelihood, optionally with static covariates.

        Without ``covariates`` this is `RFTModel.fit` (same keywords: ``frequency``,
        ``recency``, ``T``, ``weights``, ``time_unit``, ``strict``).

        Parameters
        ----------
        data : DataFrame or mapping, optional
            RFM summary (``frequency``, ``recency``, ``T``) indexed by customer id.
        covariates : DataFrame, optional
            Static covariates, one row per customer, indexed by the same customer ids
            (extra rows are ignored; a missing customer is an error).
        trans, life : str or sequence of str
            Covariate columns of the purchase (alpha_i) and lifetime (beta_i) processes
            (a string is one column). A constant column or one that is a linear
            combination of the others is refused before fitting (``strict=False``: fitted
            anyway, with a warning).
        constrain : sequence of str
            Design columns whose coefficient is the same in both processes (CLVTools'
            ``names.cov.constr``); reported as ``constr.<column>``.
        regularization : mapping, optional
            ``{"trans": lambda_t, "life": lambda_l}``: CLVTools' ``reg.lambdas``
            (L2 penalty on the coefficients added to the mean negative log-likelihood).
        reference : mapping, optional
            Reference level of categorical covariates (default: first level in sorted order).
        **kwargs
            ``weights``, ``time_unit``, ``strict`` as for the model without covariates; with
            covariates also ``method``: ``"clvkit"`` (default: started from the fit without
            covariates, analytic gradient, run to the maximum) or ``"clvtools"``, CLVTools'
            own optimiser path (its start values, summed objective, numerical gradient and
            default L-BFGS-B tolerances; see `clvkit.models.covariates`), which stops short
            of the maximum where the likelihood is flat but reproduces CLVTools' printed
            estimates digit for digit.

        Returns
        -------
        ParetoNBDFit or ParetoNBDCovariatesFit
        """
        return covariates_or_base(self, super().fit, data, covariates=covariates, trans=trans,
                                  life=life, constrain=constrain,
                                  regularization=regularization, reference=reference,
                                  **kwargs)

    def _precompute_groups(self, d, group):
        return _with_index(d["frequency"], d["recency"], d["T"], group)

    def _loglik_groups(self, values, d, grad):
        r, alpha, s, beta = values
        ll, _, dll = loglik_rows(float(r[0]), float(s[0]), alpha, beta, d, grad)
        return ll, dll

    def _start(self, d, w):
        # r = s = 1; alpha matches the mean purchase rate, beta the mean age
        start = super()._start(d, w)
        start[3] = np.dot(w, d["T"]) / w.sum()
        return start

    def _precompute(self, d):
        return _with_index(d["frequency"], d["recency"], d["T"])

    def _loglik(self, p, d, grad):
        ll, _, dll = _loglik(p, d, grad)
        return ll, dll


ParetoNBDCovariatesFit._model_type = ParetoNBD
