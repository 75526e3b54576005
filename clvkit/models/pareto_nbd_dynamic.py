"""Pareto/NBD with time-varying covariates (Bachmann, Meierer & Naef 2021).

Reference: Bachmann, P., Meierer, M. & Naef, J. (2021). The Role of Time-Varying Contextual
Factors in Latent Attrition Models for Customer Base Analysis. *Marketing Science* 40(4),
783-809 (CLVTools' ``pnbd`` with dynamic covariates).

While alive, customer i buys at rate lambda_i exp(gamma_trans . z(t)) and drops out at rate
mu_i exp(gamma_life . z(t)), with lambda_i ~ Gamma(r, alpha), mu_i ~ Gamma(s, beta) and z(t)
the covariates of the period containing t (piecewise constant). With the covariate-weighted
clocks B(t) = int_0^t exp(gamma_trans . z(u)) du and D(t) = int_0^t exp(gamma_life . z(u)) du,
integrating lambda and mu out gives, for repeat purchases at t_1..t_x <= T,

    L = G(r + x) / G(r) alpha^r prod_j exp(gamma_trans . z(t_j))
        [ beta^s / ((alpha + B(T))^(r + x) (beta + D(T))^s)
          + int_{t_x}^T s beta^s exp(gamma_life . z(tau))
                        / ((alpha + B(tau))^(r + x) (beta + D(tau))^(s + 1)) dtau ],

the first term "alive at T", the second "dropped out at tau". B and D are linear within a
period, so the integral is a sum over periods; each is computed by 16-point Gauss-Legendre
quadrature (the integrand is smooth within a period). With covariates constant in time this
is exactly the static model with alpha_i = alpha exp(-gamma_trans . z_i) and beta_i = beta
exp(-gamma_life . z_i) (checked in the tests against the closed form with 2F1).

Covariate table layout (long format, one row per customer and period)::

    customer_id  period      high_season  contacts
    "1"          2005-01-02  0            2
    "1"          2005-01-09  0            0
    ...

``period`` is the first day of a period one ``time_unit`` long; each customer's periods are
consecutive and cover their first purchase to the calibration end (for predictions, also
the horizon). Purchases on the same day count once (as CLVTools).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import digamma, gammaln

from ..columns import CUSTOMER_ID
from ..errors import ClvError, ConvergenceError, DataValidationError, example_rows
from ..units import convert_duration
from ._base import (
    _GRADIENT_TOL,
    _LOG_BOUND,
    ConvergenceWarning,
    not_curving_down,
    one_blas_thread,
    prediction,
)
from .covariates import StaticCovariatesFit, as_names, encode_covariates, id_types_differ
from .pareto_nbd import ParetoNBD, ParetoNBDParams

__all__ = ["ParetoNBDDynamic", "ParetoNBDDynamicFit", "dynamic_data"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2  # on [0, 1]
_HESSIAN_STEP = 1e-4


@dataclass(frozen=True, eq=False)
class DynamicData:
    """Customers on a grid of periods (n customers x K periods, padded with empty periods).

    ``start``: period start (time units since the customer's first purchase, first one
    clipped to 0); ``length``: its part of [0, end]; ``z``: design per process (n, K, k);
    ``bought``: repeat purchases in each period; ``x``, ``t_x``, ``T`` as in the summary.
    """

    index: pd.Index
    start: np.ndarray
    length: np.ndarray
    z: dict[str, np.ndarray]
    bought: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray  # noqa: N815
    names: dict[str, list[str]]


def dynamic_data(transactions: pd.DataFrame, covariates: pd.DataFrame, *,
                 calibration_end: Any, trans: Sequence[str], life: Sequence[str],
                 time_unit: str = "W", period: str = "period",
                 encodings: dict | None = None) -> tuple[DynamicData, dict]:
    """Build the period grid of every customer from transactions and a covariate table.

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id`` and ``date`` (e.g. ``load_transactions(...).transactions``).
    covariates : DataFrame
        Long table: ``customer_id``, ``period`` (first day of each period) and the
        covariate columns (see the module notes).
    calibration_end : date-like
        Last day of the data (inclusive).
    trans, life : sequence of str
        Covariates of the purchase and the lifetime process.
    time_unit : {"D", "W", "M", "Y"}, default "W"
        Length of a period and unit of every duration.
    period : str, default "period"
        Name of the period column.
    encodings : dict, optional
        Encodings of a previous fit (to predict with the same dummies).

    Returns
    -------
    DynamicData, dict
        The grid and the covariate encodings per process.
    """
    end = pd.Timestamp(calibration_end)
    tx = transactions[[CUSTOMER_ID, "date"]]
    days = pd.to_datetime(tx["date"]).dt.tz_localize(None).dt.normalize()
    keep = (days <= end).to_numpy()
    tx = pd.DataFrame({"id": tx[CUSTOMER_ID].to_numpy()[keep], "day": days.to_numpy()[keep]})
    tx = tx.drop_duplicates().sort_values(["id", "day"])
    first = tx.groupby("id", sort=True)["day"].min()
    unit_days = convert_duration(1.0, from_unit=time_unit, to_unit="D")
    for col in (CUSTOMER_ID, period):
        if col not in covariates.columns:
            raise DataValidationError(f"the covariate table lacks column `{col}` (has "
                                      f"{list(covariates.columns)}); see the layout in "
                                      "clvkit.models.pareto_nbd_dynamic")
    cov = covariates.assign(_day=pd.to_datetime(covariates[period]).dt.normalize())
    cov = cov.sort_values([CUSTOMER_ID, "_day"])
    enc = encodings or {p: encode_covariates(cov, names) for p, names in
                        (("trans", trans), ("life", life))}
    ids = first.index
    cov_ids = cov[CUSTOMER_ID].to_numpy()
    pos = pd.Index(ids).get_indexer(cov_ids)
    known = pos >= 0
    cov, pos = cov[known], pos[known]
    missing = np.setdiff1d(np.arange(len(ids)), pos)
    if missing.size:
        types = id_types_differ(ids, cov_ids, here="the transactions",
                                there="the covariate table")
        raise DataValidationError(types or f"no covariate periods for "
                                  f"{example_rows(ids[missing])}")
    d0 = first.to_numpy()[pos]
    rel = (cov["_day"].to_numpy() - d0) / np.timedelta64(1, "D") / unit_days
    T_all = ((end - first) / pd.Timedelta(days=1)).to_numpy() / unit_days  # noqa: N806
    T_row = T_all[pos]  # noqa: N806
    # the periods that overlap [0, T]
    use = (rel <= T_row) & (rel + 1 > 0)  # a period starting at T holds purchases on day T
    cov, pos, rel, T_row = cov[use], pos[use], rel[use], T_row[use]  # noqa: N806
    k = np.zeros(len(pos), dtype=np.intp)
    starts = np.r_[True, pos[1:] != pos[:-1]]
    run = np.cumsum(starts) - 1
    k = np.arange(len(pos)) - np.flatnonzero(starts)[run]
    first_rel = rel[np.flatnonzero(starts)]
    gaps = ~np.isclose(rel - first_rel[run], k)
    count = np.bincount(pos, minlength=len(ids))
    bad = (count == 0) | (np.bincount(pos, weights=gaps, minlength=len(ids)) > 0)
    covered_from = np.full(len(ids), np.inf)
    covered_from[pos[starts]] = first_rel
    covered_to = np.zeros(len(ids))
    np.maximum.at(covered_to, pos, rel + 1)
    bad |= (covered_from > 1e-9) | (covered_to < T_all - 1e-9)
    if bad.any():
        raise DataValidationError(
            f"the covariate periods of {example_rows(ids[bad])} are not consecutive periods "
            f"of one {time_unit!r} covering the first purchase to {end.date()}")
    n, n_k = len(ids), int(count.max())
    start = np.zeros((n, n_k))
    length = np.zeros((n, n_k))
    start[pos, k] = np.maximum(rel, 0.0)
    length[pos, k] = np.minimum(rel + 1, T_row) - np.maximum(rel, 0.0)
    z = {}
    for proc in ("trans", "life"):
        m = enc[proc].matrix(cov)
        arr = np.zeros((n, n_k, m.shape[1]))
        arr[pos, k] = m
        z[proc] = arr
    # repeat purchases: all but each customer's first day
    tpos = pd.Index(ids).get_indexer(tx["id"].to_numpy())
    t_rel = (tx["day"].to_numpy() - first.to_numpy()[tpos]) / np.timedelta64(1, "D") / unit_days
    repeat = t_rel > 0
    tpos, t_rel = tpos[repeat], t_rel[repeat]
    k_of = np.floor(t_rel - covered_from[tpos] + 1e-9).astype(np.intp)
    bought = np.zeros((n, n_k))
    np.add.at(bought, (tpos, k_of), 1.0)
    x = np.bincount(tpos, minlength=n).astype(float)
    t_x = np.zeros(n)
    np.maximum.at(t_x, tpos, t_rel)
    data = DynamicData(index=pd.Index(ids, name=CUSTOMER_ID), start=start, length=length,
                       z=z, bought=bought, x=x, t_x=t_x, T=T_all,
                       names={p: enc[p].names for p in enc})
    return data, enc


def _clock_slopes(step: np.ndarray, rate: np.ndarray, z: np.ndarray, offset: np.ndarray,
                  weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d/d gamma of a covariate clock (B or D): at the end (n, p), and weighted over the nodes.

    ``step`` is each period's increment of the clock (length x rate), ``offset`` the nodes'
    offsets into their period. The slope at node q of period k is (clock slope at the start
    of k) + rate_k offset_kq z_k; its sum over the nodes with ``weights`` (n, K, Q) is
    taken period by period, without the (n, K, Q, p) array of every node's slope.
    """
    slope = step[..., None] * z
    end = np.cumsum(slope, axis=1)
    at_nodes = (np.einsum("nk,nkp->np", weights.sum(axis=2), end - slope)
                + np.einsum("nk,nkp->np", rate * np.einsum("nkq,nkq->nk", weights, offset), z))
    return end[:, -1], at_nodes


def _loglik(theta: np.ndarray, dd: DynamicData, grad: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per-customer log-likelihood, P(alive at T), and d ll / d theta (n, k) if ``grad``.

    theta = (log r, log alpha, log s, log beta, gamma_trans, gamma_life).
    """
    k_t, k_l = dd.z["trans"].shape[2], dd.z["life"].shape[2]
    r, alpha, s, beta = np.exp(theta[:4])
    g_t, g_l = theta[4:4 + k_t], theta[4 + k_t:4 + k_t + k_l]
    e_t = np.exp(dd.z["trans"] @ g_t)  # (n, K)
    e_l = np.exp(dd.z["life"] @ g_l)
    b_step, d_step = dd.length * e_t, dd.length * e_l
    b_end, d_end = np.cumsum(b_step, axis=1), np.cumsum(d_step, axis=1)
    b_start, d_start = b_end - b_step, d_end - d_step
    b_T, d_T = b_end[:, -1], d_end[:, -1]  # noqa: N806
    x, rx = dd.x, r + dd.x
    log_c = (gammaln(rx) - gammaln(r) + r * np.log(alpha)
             + np.einsum("nk,nkp,p->n", dd.bought, dd.z["trans"], g_t))
    log_a = -rx * np.log(alpha + b_T) + s * np.log(beta) - s * np.log(beta + d_T)
    # quadrature nodes on the part of every period after t_x
    lo = np.maximum(dd.start, dd.t_x[:, None])
    span = np.maximum(dd.start + dd.length - lo, 0.0)  # (n, K)
    tau_off = (lo - dd.start)[..., None] + span[..., None] * _NODES  # offset in the period
    bq = b_start[..., None] + e_t[..., None] * tau_off  # (n, K, Q)
    dq = d_start[..., None] + e_l[..., None] * tau_off
    with np.errstate(divide="ignore"):
        log_wq = np.log(span[..., None] * _WEIGHTS)
    log_f = (np.log(s) + s * np.log(beta) + np.log(e_l)[..., None]
             - rx[:, None, None] * np.log(alpha + bq) - (s + 1) * np.log(beta + dq))
    terms = log_f + log_wq
    top = np.maximum(terms.max(axis=(1, 2)), log_a)
    with np.errstate(divide="ignore"):
        total = top + np.log(np.exp(log_a - top)
                             + np.exp(terms - top[:, None, None]).sum(axis=(1, 2)))
    ll = log_c + total
    p_alive = np.exp(log_a - total)
    if not grad:
        return ll, p_alive, None
    pq = np.exp(terms - total[:, None, None])  # weights of the nodes, sum + p_alive = 1
    out = np.empty((len(x), theta.size))
    la_bT, la_bq = np.log(alpha + b_T), np.log(alpha + bq)
    out[:, 0] = (digamma(rx) - digamma(r) + np.log(alpha)
                 - p_alive * la_bT - np.einsum("nkq,nkq->n", pq, la_bq)) * r
    out[:, 1] = (r / alpha - p_alive * rx / (alpha + b_T)
                 - rx * np.einsum("nkq,nkq->n", pq, 1 / (alpha + bq))) * alpha
    out[:, 2] = (p_alive * (np.log(beta) - np.log(beta + d_T))
                 + np.einsum("nkq,nkq->n", pq, 1 / s + np.log(beta) - np.log(beta + dq))) * s
    out[:, 3] = (p_alive * (s / beta - s / (beta + d_T))
                 + np.einsum("nkq,nkq->n", pq, s / beta - (s + 1) / (beta + dq))) * beta
    if k_t:
        zt = dd.z["trans"]
        bg_T, bgq = _clock_slopes(b_step, e_t, zt, tau_off, pq / (alpha + bq))  # noqa: N806
        out[:, 4:4 + k_t] = (np.einsum("nk,nkp->np", dd.bought, zt)
                             - p_alive[:, None] * rx[:, None] * bg_T / (alpha + b_T)[:, None]
                             - rx[:, None] * bgq)
    if k_l:
        zl = dd.z["life"]
        dg_T, dgq = _clock_slopes(d_step, e_l, zl, tau_off, pq / (beta + dq))  # noqa: N806
        out[:, 4 + k_t:] = (-p_alive[:, None] * s * dg_T / (beta + d_T)[:, None]
                            + np.einsum("nkq,nkp->np", pq, zl)
                            - (s + 1) * dgq)
    return ll, p_alive, out


@dataclass(frozen=True, eq=False)
class _Likelihood:
    """The fit's objective on the period grid, with customer weights (1 each in the fit).

    Also the likelihood a bootstrap refits (`clvkit.models.uncertainty.resample`): a
    replicate gives each customer -- their whole covariate history -- a count.
    """

    dd: DynamicData
    weights: np.ndarray

    def refit_objective(self, theta: np.ndarray, weights: np.ndarray
                        ) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood per customer and its gradient."""
        with np.errstate(all="ignore"):
            ll, _, g = _loglik(theta, self.dd, True)
        wsum = weights.sum()
        f = -float(np.sum(weights * ll)) / wsum
        if not np.isfinite(f):
            return np.inf, np.zeros_like(theta)
        return f, -(weights[:, None] * g).sum(axis=0) / wsum

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """`refit_objective` with the fit's weights."""
        return self.refit_objective(theta, self.weights)

    def hessian(self, theta: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Hessian of the mean objective: central differences of the analytic gradient."""
        hess = np.empty((theta.size, theta.size))
        for j in range(theta.size):
            step = np.zeros(theta.size)
            step[j] = _HESSIAN_STEP
            hess[:, j] = (self.refit_objective(theta + step, weights)[1]
                          - self.refit_objective(theta - step, weights)[1]) / (2 * _HESSIAN_STEP)
        return (hess + hess.T) / 2

    def is_maximum(self, theta: np.ndarray, weights: np.ndarray) -> bool:
        """The fit's test: |gradient| below the tolerance, Hessian positive definite."""
        grad = self.refit_objective(theta, weights)[1]
        return bool(np.max(np.abs(grad)) < _GRADIENT_TOL
                    and not_curving_down(self.hessian(theta, weights)) is None)

    @staticmethod
    def bounds(k: int) -> list[tuple[float, float]]:
        """Log base parameters within e^+-20, coefficients free."""
        return [(-_LOG_BOUND, _LOG_BOUND)] * 4 + [(-np.inf, np.inf)] * (k - 4)


@dataclass(frozen=True)
class ParetoNBDDynamicFit(StaticCovariatesFit):
    """A Pareto/NBD fitted with time-varying covariates (frozen); see `ParetoNBDDynamic`.

    ``params`` are r, alpha, s, beta of a customer whose covariates are 0 in every period;
    ``coefficients`` the gamma_trans (``trans.*``) and gamma_life (``life.*``).
    """

    params: ParetoNBDParams
    model_name: ClassVar[str] = "Pareto/NBD with time-varying covariates"
    _model_type: ClassVar[type] = ParetoNBD

    def customer_params(self, covariates: pd.DataFrame) -> pd.DataFrame:
        """Not defined: a customer's parameters change from period to period."""
        raise ClvError("customer parameters change over time with time-varying covariates; "
                       "use p_alive / conditional_expected_purchases")

    def customer_model(self, covariates: Any) -> Any:
        """Not defined for time-varying covariates (see `customer_params`)."""
        return self.customer_params(covariates)

    def _likelihood(self) -> Any:
        return None if self._problem is None else self._problem["likelihood"]

    def dert(self, data: Any = None, *, discount_rate: float, discount_period: str,
             **inputs: Any) -> pd.Series:
        """Not defined: DERT sums over all future time, and the covariates end with the table.

        Use `conditional_expected_purchases` over the horizon the covariate table covers.
        """
        raise ClvError("DERT needs the covariates for all future time; the time-varying "
                       "Pareto/NBD knows them only as far as the covariate table goes: use "
                       "conditional_expected_purchases(..., t=<periods covered>)")

    def expected_purchases_new_customer(self, t: Any, **inputs: Any) -> Any:
        """Not defined: a new customer's purchases depend on their future covariate path."""
        raise ClvError("a new customer's expected purchases depend on the covariates of every "
                       "period ahead; with time-varying covariates fit a static-covariate "
                       "model (ParetoNBD().fit(..., covariates=...)) for new customers")

    def _grid(self, transactions: pd.DataFrame, covariates: pd.DataFrame,
              end: Any) -> DynamicData:
        enc = self._problem["encodings"]
        dd, _ = dynamic_data(transactions, covariates, calibration_end=end,
                             trans=enc["trans"].columns, life=enc["life"].columns,
                             time_unit=self.time_unit, period=self._problem["period"],
                             encodings=enc)
        return dd

    def p_alive(self, transactions: pd.DataFrame, *, covariates: pd.DataFrame,
                calibration_end: Any = None) -> pd.Series:
        """P(alive at the calibration end) per customer: the "alive" share of L (see notes).

        Parameters
        ----------
        transactions, covariates
            As for ``fit`` (default calibration end: the fit's).
        calibration_end : date-like, optional
            Last day of the data.

        Returns
        -------
        Series
            ``p_alive`` indexed by customer id.
        """
        end = calibration_end or self._problem["calibration_end"]
        dd = self._grid(transactions, covariates, end)
        _, alive, _ = _loglik(self._theta(), dd, False)
        return prediction(alive, pd.DataFrame(index=dd.index), "p_alive",
                          time_unit=self.time_unit)

    def conditional_expected_purchases(self, transactions: pd.DataFrame, *, t: int,
                                       covariates: pd.DataFrame,
                                       calibration_end: Any = None) -> pd.Series:
        """Expected purchases in the ``t`` periods after the calibration end.

        E[Y] = P(alive) (r + x) / (alpha + B(T)) int_T^{T+t} exp(gamma_trans . z(u))
        ((beta + D(T)) / (beta + D(u)))^s du: the posterior of lambda and mu given alive at
        T is Gamma(r + x, alpha + B(T)) and Gamma(s, beta + D(T)). The covariate table must
        cover the horizon; ``t`` is a whole number of periods.

        Returns
        -------
        Series
            ``expected_purchases`` indexed by customer id.
        """
        end = pd.Timestamp(calibration_end or self._problem["calibration_end"])
        theta = self._theta()
        dd = self._grid(transactions, covariates, end)
        _, alive, _ = _loglik(theta, dd, False)
        days = convert_duration(float(t), from_unit=self.time_unit, to_unit="D")
        horizon = end + pd.Timedelta(days=float(days))
        full = self._grid(transactions, covariates, horizon)
        k_t = full.z["trans"].shape[2]
        r, alpha, s, beta = np.exp(theta[:4])
        g_t, g_l = theta[4:4 + k_t], theta[4 + k_t:]
        b_T = (dd.length * np.exp(dd.z["trans"] @ g_t)).sum(axis=1)  # noqa: N806
        d_T = (dd.length * np.exp(dd.z["life"] @ g_l)).sum(axis=1)  # noqa: N806
        e_t = np.exp(full.z["trans"] @ g_t)
        e_l = np.exp(full.z["life"] @ g_l)
        d_step = full.length * e_l
        d_start = np.cumsum(d_step, axis=1) - d_step
        T = dd.T  # noqa: N806
        lo = np.maximum(full.start, T[:, None])
        span = np.maximum(full.start + full.length - lo, 0.0)
        off = (lo - full.start)[..., None] + span[..., None] * _NODES
        dq = d_start[..., None] + e_l[..., None] * off
        integral = (span[..., None] * _WEIGHTS * e_t[..., None]
                    * ((beta + d_T)[:, None, None] / (beta + dq)) ** s).sum(axis=(1, 2))
        e = alive * (r + dd.x) / (alpha + b_T) * integral
        return prediction(e, pd.DataFrame(index=dd.index), "expected_purchases",
                          time_unit=self.time_unit, horizon=t)


class ParetoNBDDynamic:
    """Pareto/NBD with time-varying covariates (Bachmann, Meierer & Naef 2021).

    Examples
    --------
    See ``tests/test_models_pareto_nbd_dynamic.py`` (CLVTools' apparel data).
    """

    def fit(self, transactions: pd.DataFrame, *, covariates: pd.DataFrame,
            calibration_end: Any, trans: Sequence[str] = (), life: Sequence[str] = (),
            time_unit: str = "W", period: str = "period",
            strict: bool = True) -> ParetoNBDDynamicFit:
        """Fit by maximum likelihood (analytic gradient; L-BFGS-B from the base model's fit).

        Parameters
        ----------
        transactions : DataFrame
            ``customer_id``, ``date``.
        covariates : DataFrame
            Long covariate table (see the module notes).
        calibration_end : date-like
            Last day of the data used (inclusive).
        trans, life : str or sequence of str
            Covariates of the purchase and the lifetime process (a string is one column).
        time_unit : {"D", "W", "M", "Y"}, default "W"
            Period length and unit of the parameters.
        period : str, default "period"
            Name of the period column of ``covariates``.
        strict : bool, default True
            Raise `ConvergenceError` if the fit does not converge (else warn).

        Returns
        -------
        ParetoNBDDynamicFit
        """
        trans, life = as_names("`trans`", trans), as_names("`life`", life)
        if not trans and not life:
            raise ClvError("name the time-varying covariates: `trans=` and/or `life=`")
        dd, enc = dynamic_data(transactions, covariates, calibration_end=calibration_end,
                               trans=trans, life=life, time_unit=time_unit, period=period)
        base = ParetoNBD().fit(frequency=dd.x, recency=dd.t_x, T=dd.T, time_unit=time_unit,
                               strict=False)
        k = len(enc["trans"].names) + len(enc["life"].names)
        theta0 = np.r_[np.log([base.params.r, base.params.alpha, base.params.s,
                               base.params.beta]), np.zeros(k)]
        n = len(dd.x)
        likelihood = _Likelihood(dd=dd, weights=np.ones(n))
        objective = likelihood.objective
        with one_blas_thread():
            res = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B",
                                    bounds=likelihood.bounds(theta0.size),
                                    options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10})
            theta = res.x
            hess = likelihood.hessian(theta, likelihood.weights) * n
        grad_norm = float(np.max(np.abs(objective(theta)[1])))
        definite = not_curving_down(hess) is None
        ok = bool(grad_norm < _GRADIENT_TOL and definite
                  and np.all(np.abs(theta[:4]) < _LOG_BOUND - 1e-6))
        message = (f"{res.message} (max |gradient| of mean LL = {grad_norm:.2g}; Hessian "
                   f"{'positive definite' if definite else 'NOT positive definite'})")
        if not definite and np.all(np.isfinite(hess)):
            eig, vectors = np.linalg.eigh(hess)
            names_all = ["r", "alpha", "s", "beta", *[f"trans.{c}" for c in enc["trans"].names],
                         *[f"life.{c}" for c in enc["life"].names]]
            along = vectors[:, np.argmin(eig)]
            message += ("; degenerate: the likelihood is flat along "
                        + ", ".join(np.array(names_all)[np.abs(along) > 0.3]))
        if not ok:
            text = f"ParetoNBDDynamic did not converge: {message}"
            if strict:
                raise ConvergenceError(text)
            import warnings
            warnings.warn(text, ConvergenceWarning, stacklevel=2)
        names = tuple([f"trans.{c}" for c in enc["trans"].names]
                      + [f"life.{c}" for c in enc["life"].names])
        ll = float(_loglik(theta, dd, False)[0].sum())
        return ParetoNBDDynamicFit(
            params=ParetoNBDParams(*map(float, np.exp(theta[:4]))), log_likelihood=ll,
            n_customers=n, time_unit=time_unit, success=ok, iterations=int(res.nit),
            message=message, coefficient_names=names,
            coefficients=tuple(float(v) for v in theta[4:]), objective=-ll / n,
            _information=hess,
            _problem={"encodings": enc, "period": period, "likelihood": likelihood,
                      "calibration_end": pd.Timestamp(calibration_end)})
