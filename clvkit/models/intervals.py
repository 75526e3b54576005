"""Intervals on predictions from the bootstrap replicates of a fit, per customer and in total.

Every replicate of `clvkit.models.uncertainty.bootstrap` is a complete set of parameters;
a prediction made with each replicate gives the sampling distribution of that prediction,
and its percentiles give the interval (Efron & Tibshirani 1993, ch. 13). A **total** over
customers is summed within each replicate first and its percentiles taken after, so the
interval of a sum is not the (far too wide) sum of the customers' intervals.

These are intervals for what the model *expects* (parameter uncertainty). The number of
purchases a customer will actually make varies around that expectation as well.

Customers with the same history have the same prediction, so predictions are made once per
distinct history (a million customers recorded by day have ~10^5) and then spread back to
the customers: memory is 8 bytes x replicates x distinct histories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..clv import customer_lifetime_value
from ..errors import ClvError
from ._core import RFT, SPEND_COLUMNS
from .protocol import PurchaseModelFit

__all__ = ["PredictionInterval", "predict_interval", "delta_interval", "clv_interval"]

#: Values (replicates x rows) handled at once when taking per-customer quantiles.
_BLOCK_VALUES = 4_000_000


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction with its interval, per customer and in total (frozen).

    Attributes
    ----------
    customers : DataFrame
        Indexed like the data: the point prediction (named after the quantity), ``lower``
        and ``upper``.
    total : Series
        The prediction summed over the customers: ``estimate`` (with the fitted
        parameters), ``std_error`` (sd across replicates), ``lower`` and ``upper``.
    level : float
        Coverage of the intervals.
    n_replicates : int
        Bootstrap replicates the intervals come from.
    """

    customers: pd.DataFrame
    total: pd.Series
    level: float
    n_replicates: int

    def __str__(self) -> str:
        t = self.total
        return (f"total {t['estimate']:,.6g} ({self.level:.0%} interval {t['lower']:,.6g} to "
                f"{t['upper']:,.6g}; {self.n_replicates} bootstrap replicates) over "
                f"{len(self.customers):,} customers")


def _quantiles(level: float) -> list[float]:
    if not 0 < level < 1:
        raise ClvError(f"`level` must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return [(1 - level) / 2, (1 + level) / 2]


def _distinct(cols: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                       np.ndarray]:
    """Distinct rows of equal-length columns, the row -> distinct-row index, and the counts."""
    keys = list(cols.values())
    n = len(keys[0])
    if n == 0:
        return dict(cols), np.zeros(0, dtype=int), np.zeros(0)
    order = np.lexsort(keys[::-1])
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in keys:
        ks = k[order]
        new[1:] |= ks[1:] != ks[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    first = order[new]
    return {c: k[first] for c, k in zip(cols, keys, strict=True)}, inverse, np.bincount(inverse)


def _frame(cols: Mapping[str, np.ndarray], time_unit: str | None) -> pd.DataFrame:
    out = pd.DataFrame(dict(cols))
    if time_unit is not None:
        out.attrs["time_unit"] = time_unit
    return out


def _total(estimate: float, per_replicate: np.ndarray, q: list[float]) -> pd.Series:
    lo, hi = np.quantile(per_replicate, q)
    return pd.Series({"estimate": estimate, "std_error": float(np.std(per_replicate, ddof=1)),
                      "lower": lo, "upper": hi}, name="total")


def _replicate_values(fits: list[Any], method: str, frame: pd.DataFrame,
                      kwargs: Mapping[str, Any]) -> np.ndarray:
    return np.vstack([getattr(f, method)(frame, **kwargs).to_numpy() for f in fits])


def predict_interval(boot: Any, method: str, data: pd.DataFrame, *, level: float = 0.95,
                     **kwargs: Any) -> PredictionInterval:
    """Call ``fit.<method>(data, **kwargs)`` with every replicate: per-customer and total interval.

    Parameters
    ----------
    boot : BootstrapResult
        From ``fit.bootstrap(...)``.
    method : str
        A per-customer prediction of the fit, e.g. ``"p_alive"``,
        ``"conditional_expected_purchases"``, ``"conditional_expected_spend"``.
    data : DataFrame
        The customers' summary, as for the method.
    level : float, default 0.95
        Coverage of the percentile intervals.
    **kwargs
        Passed to the method (e.g. ``t=39``); a per-customer horizon array is allowed.

    Returns
    -------
    PredictionInterval
        ``customers`` (estimate, lower, upper) and ``total``.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD
    >>> s = cdnow_summary()
    >>> boot = BGNBD().fit(s).bootstrap(n=100, seed=1)
    >>> out = predict_interval(boot, "conditional_expected_purchases", s, t=39)
    >>> out.customers.columns.tolist()
    ['expected_purchases', 'lower', 'upper']
    >>> t = out.total
    >>> bool(t["lower"] < t["estimate"] < t["upper"])
    True
    """
    q = _quantiles(level)
    fit = boot.fit
    if not hasattr(fit, method) or method.startswith("_"):
        raise ClvError(f"{fit.model_name} has no per-customer prediction `{method}`")
    estimate = getattr(fit, method)(data, **kwargs)  # validates the data like any prediction
    n = len(estimate)
    columns = fit.input_columns
    if columns is None:  # predictions need more than the columns (e.g. covariates): as given
        values = _replicate_values(boot.fits(), method, data, kwargs)
        return _interval(estimate, values, np.arange(n), np.ones(n), q, level, boot.n)
    cols = {c: np.asarray(data[c], dtype=float) for c in columns if c in data}
    per_customer = {k: np.asarray(v, dtype=float) for k, v in kwargs.items()
                    if np.ndim(v) == 1 and np.size(v) == n}
    cols.update({f"__{k}": v for k, v in per_customer.items()})
    uniq, inverse, counts = _distinct(cols)
    frame = _frame({c: v for c, v in uniq.items() if not c.startswith("__")}, fit.time_unit)
    kw = {**kwargs, **{k: uniq[f"__{k}"] for k in per_customer}}
    values = _replicate_values(boot.fits(), method, frame, kw)
    return _interval(estimate, values, inverse, counts, q, level, boot.n)


def _interval(estimate: pd.Series, values: np.ndarray, inverse: np.ndarray, counts: np.ndarray,
              q: list[float], level: float, n_replicates: int) -> PredictionInterval:
    """Percentile intervals of replicate ``values`` (replicates x distinct rows)."""
    lo, hi = np.quantile(values, q, axis=0)
    customers = pd.DataFrame({estimate.name: estimate.to_numpy(), "lower": lo[inverse],
                              "upper": hi[inverse]}, index=estimate.index)
    customers.attrs = {**estimate.attrs, "level": level, "n_replicates": n_replicates}
    return PredictionInterval(customers=customers,
                              total=_total(float(estimate.sum()), values @ counts, q),
                              level=level, n_replicates=n_replicates)


def delta_interval(fit: Any, method: str, data: pd.DataFrame, *, level: float = 0.95,
                   **kwargs: Any) -> PredictionInterval:
    """Interval of ``fit.<method>(data, **kwargs)`` by the delta method (no bootstrap).

    The gradient of each customer's prediction with respect to the log parameters (and,
    for a fit with covariates, the coefficients: every entry of ``fit.estimates()``) is
    taken by central differences (step 1e-5, two predictions per parameter) and combined
    with their covariance from the observed information (``fit.covariance()``):
    ``se = sqrt(g' Cov(log p) g)``. Per customer the interval is built on the log scale,
    ``est exp(-+ z se / est)`` (positive like the predictions; probabilities are capped
    at 1); the total's on the natural scale, ``sum -+ z se(sum)`` with the gradient of the
    sum. Quick at any size, and asymptotically the same as the bootstrap.

    Parameters
    ----------
    fit : FittedModel
        A result returned by a model's ``fit``.
    method : str
        A per-customer prediction, e.g. ``"conditional_expected_purchases"``.
    data : DataFrame
        The customers' summary.
    level : float, default 0.95
        Coverage of the intervals.
    **kwargs
        Passed to the method (e.g. ``t=39``).

    Returns
    -------
    PredictionInterval
        ``customers`` (estimate, lower, upper) and ``total`` (``n_replicates`` is 0).

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD
    >>> s = cdnow_summary()
    >>> out = delta_interval(BGNBD().fit(s), "conditional_expected_purchases", s, t=39)
    >>> out.total.round(1).tolist()
    [1653.4, 74.3, 1507.7, 1799.1]
    """
    import dataclasses

    from scipy import stats

    z = float(stats.norm.ppf(_quantiles(level)[1]))
    if not hasattr(fit, method) or method.startswith("_"):
        raise ClvError(f"{fit.model_name} has no per-customer prediction `{method}`")
    estimate = getattr(fit, method)(data, **kwargs)
    n_log = len(dataclasses.fields(fit.params))
    if hasattr(fit, "with_estimates"):  # a fit with covariates: base parameters, coefficients
        p = fit.estimates().to_numpy(dtype=float)
        rebuild = fit.with_estimates
    else:
        p = np.asarray(dataclasses.astuple(fit.params), dtype=float)
        ptype = type(fit.params)

        def rebuild(values: np.ndarray) -> Any:
            return dataclasses.replace(fit, params=ptype(*values))

    # the coordinates: log base parameters, coefficients as they are
    scale = np.concatenate([p[:n_log], np.ones(p.size - n_log)])
    cov_log = fit.covariance().to_numpy() / np.outer(scale, scale)

    def moved(step: np.ndarray) -> np.ndarray:
        values = np.concatenate([p[:n_log] * np.exp(step[:n_log]), p[n_log:] + step[n_log:]])
        return getattr(rebuild(values), method)(data, **kwargs).to_numpy()

    grad = np.empty((p.size, len(estimate)))
    for k in range(p.size):
        step = np.zeros(p.size)
        step[k] = 1e-5
        grad[k] = (moved(step) - moved(-step)) / 2e-5
    est = estimate.to_numpy()
    se = np.sqrt(np.einsum("kn,kl,ln->n", grad, cov_log, grad))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(est > 0, np.exp(z * se / est), 1.0)
    upper = est * spread
    if method.startswith("p_") or estimate.name.startswith("p_"):
        upper = np.minimum(upper, 1.0)
    g_total = grad.sum(axis=1)
    se_total = float(np.sqrt(g_total @ cov_log @ g_total))
    total = pd.Series({"estimate": float(est.sum()), "std_error": se_total,
                       "lower": float(est.sum()) - z * se_total,
                       "upper": float(est.sum()) + z * se_total}, name="total")
    customers = pd.DataFrame({estimate.name: est, "lower": est / spread, "upper": upper},
                             index=estimate.index)
    customers.attrs = {**estimate.attrs, "level": level, "method": "delta method"}
    return PredictionInterval(customers=customers, total=total, level=level, n_replicates=0)


class _UnitSpend:
    """A spend 'model' of 1 per purchase.

    With it `customer_lifetime_value` returns the discounted expected purchases (its one
    definition of the discounted sum).
    """

    @staticmethod
    def conditional_expected_spend(summary: pd.DataFrame) -> pd.Series:
        return pd.Series(1.0, index=summary.index)


def _clv_interval_per_customer(transaction_boot: Any, spend_boot: Any, summary: pd.DataFrame,
                               *, q: list[float], level: float, covariates: Any, options: dict,
                               progress: Callable[[int], None] | None) -> PredictionInterval:
    """`clv_interval` for a transaction model with covariates.

    Every replicate pair gives every customer's CLV (`customer_lifetime_value` with the
    customers' covariates).
    """
    point = customer_lifetime_value(transaction_boot.fit, spend_boot.fit, summary,
                                    covariates=covariates, **options)
    clv = np.empty((transaction_boot.n, len(summary)))
    for i, (tf, sf) in enumerate(zip(transaction_boot.fits(), spend_boot.fits(), strict=True)):
        clv[i] = customer_lifetime_value(tf, sf, summary, covariates=covariates,
                                         **options)["clv"].to_numpy()
        if progress is not None:
            progress(i + 1)
    lower, upper = np.quantile(clv, q, axis=0)
    customers = pd.DataFrame({"clv": point["clv"].to_numpy(), "lower": lower, "upper": upper},
                             index=point.index)
    customers.attrs = {**point.attrs, "level": level, "n_replicates": transaction_boot.n}
    return PredictionInterval(customers=customers,
                              total=_total(float(point["clv"].sum()), clv.sum(axis=1), q),
                              level=level, n_replicates=transaction_boot.n)


def clv_interval(transaction_boot: Any, spend_boot: Any, summary: pd.DataFrame, *,
                 horizon: float, horizon_unit: str, discount_rate: float, discount_period: str,
                 level: float = 0.95, covariates: pd.DataFrame | None = None,
                 progress: Callable[[int], None] | None = None) -> PredictionInterval:
    """Customer lifetime value with intervals from a transaction and a spend bootstrap.

    The transaction model must be BG/NBD, MBG/NBD or Pareto/NBD. Replicate ``i`` pairs the
    ``i``-th replicate of the transaction model with the ``i``-th replicate of the
    Gamma-Gamma spend model and computes
    `clvkit.clv.customer_lifetime_value` with them; the two bootstraps are independent (the
    models' likelihoods are separate, FHL 2005 JMR assume spend independent of the
    transaction process). Their numbers of replicates must match.

    Parameters
    ----------
    transaction_boot, spend_boot : BootstrapResult
        Bootstraps of a BG/NBD, MBG/NBD or Pareto/NBD fit and of a Gamma-Gamma fit.
    summary : DataFrame
        ``frequency, recency, T, monetary_value`` per customer, in the transaction model's
        time unit.
    horizon, horizon_unit, discount_rate, discount_period
        As for `clvkit.clv.customer_lifetime_value`.
    level : float, default 0.95
        Coverage of the percentile intervals.
    covariates : DataFrame, optional
        For a transaction model fitted with static covariates: the customers' covariates,
        indexed like ``summary`` (default: the fit's own customers'). Each replicate then
        computes every customer's CLV directly (no sharing across histories: slower).
    progress : callable, optional
        Called with the number of replicates done (for long runs).

    Returns
    -------
    PredictionInterval
        ``customers`` with ``clv``, ``lower``, ``upper``; ``total`` the CLV of all of them.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD, GammaGamma
    >>> s = cdnow_summary(with_spend=True)
    >>> tx = BGNBD().fit(s).bootstrap(n=50, seed=1)
    >>> spend = GammaGamma().fit(s).bootstrap(n=50, seed=2)
    >>> out = clv_interval(tx, spend, s, horizon=12, horizon_unit="M", discount_rate=0.01,
    ...                    discount_period="M")
    >>> out.customers.columns.tolist(), out.n_replicates
    (['clv', 'lower', 'upper'], 50)
    """
    q = _quantiles(level)
    tx_fit, spend_fit = transaction_boot.fit, spend_boot.fit
    with_covariates = getattr(tx_fit, "coefficient_names", None) is not None
    if not (isinstance(tx_fit, PurchaseModelFit)
            and (tx_fit.input_columns == RFT or with_covariates)):
        raise ClvError("`transaction_boot` must be a bootstrap of a purchase model fitted on "
                       "(frequency, recency, T), with or without static covariates: BG/NBD, "
                       f"MBG/NBD or Pareto/NBD, or the NBD (got {tx_fit.model_name})")
    if getattr(spend_fit, "input_columns", None) != SPEND_COLUMNS:
        raise ClvError("`spend_boot` must be a bootstrap of a Gamma-Gamma fit "
                       f"(got {spend_fit.model_name})")
    if transaction_boot.n != spend_boot.n:
        raise ClvError(f"the bootstraps have {transaction_boot.n} and {spend_boot.n} "
                       "replicates; bootstrap both models with the same `n`")
    if covariates is not None and not with_covariates:
        raise ClvError("`covariates` is for a transaction model fitted with covariates; "
                       f"{tx_fit.model_name} has none")
    options = {"horizon": horizon, "horizon_unit": horizon_unit, "discount_rate": discount_rate,
               "discount_period": discount_period}
    if with_covariates:     # each customer has his own parameters: no sharing by history
        return _clv_interval_per_customer(transaction_boot, spend_boot, summary, q=q,
                                          level=level, covariates=covariates, options=options,
                                          progress=progress)
    point = customer_lifetime_value(transaction_boot.fit, spend_boot.fit, summary, **options)
    x = summary["frequency"].to_numpy(dtype=float)
    m = np.where(x > 0, summary["monetary_value"].to_numpy(dtype=float), 0.0)
    rft, rft_inv, _ = _distinct({c: summary[c].to_numpy(dtype=float) for c in RFT})
    # Given alive at T, the future of a BG/NBD, MBG/NBD or Pareto/NBD customer depends on
    # (x, T) only (the posterior of the rates given alive ignores t_x), so
    # E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) / P(alive | x, T, T) E[Y(t) | x, T, T]:
    # the (costly) discounted sum is made once per distinct (x, T), P(alive) per history.
    xt, xt_inv, _ = _distinct({"frequency": rft["frequency"], "T": rft["T"]})
    xt_frame = _frame({"frequency": xt["frequency"],
                       "recency": np.where(xt["frequency"] > 0, xt["T"], 0.0), "T": xt["T"]},
                      transaction_boot.fit.time_unit)
    rft_frame = _frame(rft, transaction_boot.fit.time_unit)
    xs, x_inv, _ = _distinct({"frequency": x})
    # Gamma-Gamma expected spend is affine in the customer's mean spend m (eq. (5) of the
    # note): E = A(x) + B(x) m, so two evaluations per distinct x give it for every m
    # (at m = 1 and m = 2: a repeat buyer's mean spend must be positive)
    x_frame = pd.DataFrame({"frequency": xs["frequency"], "monetary_value": 1.0})
    x_frame1 = x_frame.assign(monetary_value=2.0)
    n_rep = transaction_boot.n
    disc = np.empty((n_rep, len(rft_frame)))
    a_x = np.empty((n_rep, len(x_frame)))
    b_x = np.empty((n_rep, len(x_frame)))
    for i, (tf, sf) in enumerate(zip(transaction_boot.fits(), spend_boot.fits(), strict=True)):
        top = customer_lifetime_value(tf, _UnitSpend(), xt_frame, **options)["clv"].to_numpy()
        ratio = tf.p_alive(rft_frame).to_numpy() / tf.p_alive(xt_frame).to_numpy()[xt_inv]
        disc[i] = ratio * top[xt_inv]
        at_1 = sf.conditional_expected_spend(x_frame).to_numpy()
        b_x[i] = sf.conditional_expected_spend(x_frame1).to_numpy() - at_1
        a_x[i] = at_1 - b_x[i]
        if progress is not None:
            progress(i + 1)
    n = len(summary)
    lower, upper = np.empty(n), np.empty(n)
    totals = np.zeros(n_rep)
    block = max(1, _BLOCK_VALUES // n_rep)
    for start in range(0, n, block):
        sl = slice(start, start + block)
        ix = x_inv[sl]
        clv = disc[:, rft_inv[sl]] * (a_x[:, ix] + b_x[:, ix] * m[sl])
        totals += clv.sum(axis=1)
        lower[sl], upper[sl] = np.quantile(clv, q, axis=0)
    customers = pd.DataFrame({"clv": point["clv"].to_numpy(), "lower": lower, "upper": upper},
                             index=point.index)
    customers.attrs = {**point.attrs, "level": level, "n_replicates": n_rep}
    return PredictionInterval(customers=customers,
                              total=_total(float(point["clv"].sum()), totals, q),
                              level=level, n_replicates=n_rep)
