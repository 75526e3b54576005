"""Predict with the purchase model that fits: compare on a holdout, refit, predict with ranges.

`predict_with_best_model` is the model layer of a report's predictions page:

1. **Compare.** `clvkit.models.compare_models` fits BG/NBD, MBG/NBD and Pareto/NBD (and
   Gamma-Gamma) on the calibration period and scores each purchase model on the holdout
   period (mean absolute error of the expected holdout purchases per customer).
2. **Choose.** Degenerate fits (a parameter at a bound or running off to 0 or infinity,
   P(alive) > 0.99 for nearly everyone: the model sees no dropout) are rejected, each with
   its reason. Of the rest, the models whose holdout squared errors are within noise of
   the lowest holdout RMSE are tied and the one with the lowest BIC is used (the rule of
   `compare_models`, which explains why not MAE). When every model is degenerate the
   result says that no purchase model fits these data and holds no prediction.
3. **Refit and predict.** The chosen model (and Gamma-Gamma) is refitted on the full
   period; a refit that is degenerate there is rejected too and the next model is tried.
   Per customer: P(alive), the expected purchases in the next period, and the CLV over the
   horizon as revenue and as gross margin (discounted by period, units explicit), each
   with a percentile interval from a seeded customer bootstrap of both models
   (`clvkit.models.uncertainty.bootstrap`). Totals (expected number alive, purchases,
   revenue, margin) get the interval of the *sum*: summed within each replicate, then
   the percentiles taken (Efron & Tibshirani 1993, ch. 13), never a sum of intervals.

The intervals cover parameter uncertainty (what the model expects), not the purchase noise
around that expectation.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_nonnegative, check_one_of, check_positive
from ..clv import customer_lifetime_value
from ..errors import ClvError, DataValidationError, example_rows
from ..evaluation import holdout_predictions
from ..units import TIME_UNITS, convert_duration, unit_name
from ._base import ConvergenceWarning, FittedModel
from .compare import MODELS, compare_models, degenerate_reasons, spend_rows
from .gamma_gamma import GammaGamma
from .intervals import _UnitSpend, predict_interval
from .nbd import NBD
from .uncertainty import covariance

__all__ = ["ModelPredictions", "CustomerScores", "score_customers",
           "predict_with_best_model", "predict_subscriptions", "versus_naive", "NAIVE"]

_HOLDOUT = ("frequency_holdout", "duration_holdout")
#: Purchase models by the name shown on the page: the candidates and the no-dropout NBD.
_CANDIDATES = {**{cls.result_type.model_name: cls for cls in MODELS.values()},
               NBD.result_type.model_name: NBD}
#: Row of the comparison table for the naive baseline: each customer keeps buying at the
#: rate of the calibration period (repeat purchases / age) through the holdout.
NAIVE = "Naive (past rate)"
#: Simulated futures per distinct history for the purchase noise of the prediction interval.
_NOISE_DRAWS = 64
#: Values (replicates x customers) held at once for the per-customer CLV quantiles.
_BLOCK_VALUES = 4_000_000


@dataclass(frozen=True)
class ModelPredictions:
    """The model comparison, the choice and its predictions with intervals (frozen).

    Attributes
    ----------
    comparison : DataFrame
        `compare_models` table on the calibration period (one row per model).
    model : str or None
        The model used ("BG/NBD", "MBG/NBD", "Pareto/NBD"), None when none fits.
    reason : str
        One or two sentences: which model is used and why, or why none is.
    rejected : dict of str to str
        Why each rejected model was rejected (degenerate on calibration or full period).
    customers : DataFrame or None
        Indexed by customer: ``p_alive``, ``purchases_next``, ``clv_revenue``,
        ``clv_margin``, each with ``_lower`` and ``_upper``. None when no model fits;
        without a spend model the CLV columns are absent.
    totals : DataFrame or None
        Rows ``alive`` (expected number of customers alive), ``purchases_next``,
        ``clv_revenue``, ``clv_margin``; columns ``estimate``, ``std_error``, ``lower``,
        ``upper`` (the interval of the sum).
    fit, spend_fit : FittedModel or None
        The full-period fits used for the predictions.
    horizon, horizon_unit : float, str
        CLV horizon and its unit.
    next_period, next_period_unit : float, str
        Window of ``purchases_next`` (e.g. 1 month).
    discount_rate, discount_period : float, str
        Discount rate per period, which is also the step of the discounted sum.
    margin : float or Series
        Gross-margin rate(s) applied to the revenue CLV.
    level : float
        Coverage of the intervals.
    interval : {"delta", "bootstrap"}
        How the intervals were made.
    n_replicates : int
        Bootstrap replicates per model (0 for the delta method).
    seed : Any
        Seed of the bootstraps (None for the delta method).
    notes : tuple of str
        Anything else the reader should know (spend model missing or degenerate, ...).
    spend_model : {"Gamma-Gamma", "sample mean", ""}
        What the CLV's value per purchase comes from: the Gamma-Gamma model; the sample
        mean spend per purchase, the same for every customer (the fallback when Gamma-Gamma
        is degenerate); "" when no CLV is predicted.
    spend_mean : float
        The sample mean spend per purchase of the fallback (NaN otherwise).
    scores : CustomerScores or None
        The per-customer predictions in compressed form (delta method): ``customers``
        is ``scores.frame()``; ``scores.write_parquet`` streams them to a file.
    """

    comparison: pd.DataFrame
    model: str | None
    reason: str
    rejected: Mapping[str, str]
    customers: pd.DataFrame | None
    totals: pd.DataFrame | None
    fit: FittedModel | None
    spend_fit: FittedModel | None
    horizon: float
    horizon_unit: str
    next_period: float
    next_period_unit: str
    discount_rate: float
    discount_period: str
    margin: Any
    level: float
    interval: str
    n_replicates: int
    seed: Any
    notes: tuple[str, ...] = field(default=())
    spend_model: str = ""
    spend_mean: float = float("nan")
    scores: CustomerScores | None = field(default=None, repr=False)

    @property
    def fits(self) -> bool:
        """True when a purchase model fits and predictions were made."""
        return self.model is not None

    @property
    def has_clv(self) -> bool:
        """True when CLV (revenue and margin) was predicted."""
        return self.customers is not None and "clv_revenue" in self.customers

    def __str__(self) -> str:
        if not self.fits:
            return self.reason
        parts = [self.reason]
        for row, what in (("purchases_next", "expected purchases in the next "
                           + _span(self.next_period, self.next_period_unit)),
                          ("clv_revenue", "CLV over the next "
                           f"{_span(self.horizon, self.horizon_unit)} (revenue, discounted)")):
            if row in self.totals.index:
                t = self.totals.loc[row]
                parts.append(f"Total {what}: {t['estimate']:,.0f} ({self.level:.0%} interval "
                             f"{t['lower']:,.0f} to {t['upper']:,.0f}).")
        return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# choosing


def _span(value: float, unit: str) -> str:
    """``"1 month"``, ``"39 weeks"``: a duration with its unit, singular when it is 1."""
    name = unit_name(unit)
    return f"{value:.3g} {name[:-1] if value == 1 else name}"


def _check_summaries(calibration: pd.DataFrame, full: pd.DataFrame) -> None:
    for name, frame in (("calibration", calibration), ("full", full)):
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError(f"`{name}` must be an RFM summary DataFrame "
                                      f"(clvkit.summary.rfm_summary), got "
                                      f"{type(frame).__name__}")
    missing = [c for c in _HOLDOUT if c not in calibration.columns]
    if missing:
        raise DataValidationError(
            f"`calibration` lacks holdout column(s) {missing}: the models are compared on a "
            "holdout period; build it with rfm_summary(..., calibration_end=...)")
    unit_c, unit_f = calibration.attrs.get("time_unit"), full.attrs.get("time_unit")
    if unit_c and unit_f and unit_c != unit_f:
        raise DataValidationError(f"`calibration` is in time unit {unit_c!r} and `full` in "
                                  f"{unit_f!r}; build both with the same `time_unit`")


def _fit_quietly(model: Any, data: pd.DataFrame, time_unit: str | None,
                 weights: np.ndarray | None = None) -> tuple[Any, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        fit = model.fit(data, time_unit=time_unit, strict=False, weights=weights)
    return fit, "; ".join(str(w.message) for w in caught
                          if issubclass(w.category, ConvergenceWarning))


def _why(table: pd.DataFrame, chosen: str, rejected: Mapping[str, str],
         period: str, fallback: bool = False) -> str:
    ranking = table.attrs["ranking"]
    if fallback:
        d, se = table.loc[chosen, ["vs_naive", "vs_naive_se"]].astype(float)
        noise = "beyond noise" if abs(d) > 2 * se else "within noise"
        text = (f"{chosen} is used: every model with dropout is degenerate (it sees nobody "
                f"leave), and {chosen}, the same purchase process without dropout, predicts "
                f"the holdout better than the naive baseline (mean squared error {d:+.3f} "
                f"± {se:.3f} per customer, {noise}).")
    elif chosen == ranking[0] and len(ranking) == 1:
        text = f"{chosen} is used: the only candidate that is not degenerate."
    elif chosen == ranking[0]:
        text = f"{chosen} is used: {table.attrs['best_reason']}."
    else:
        skipped = ranking[:ranking.index(chosen)]
        text = (f"{chosen} is used: the best model by holdout error after "
                f"{', '.join(skipped)}, rejected (see below).")
    shown = [m for m in [*ranking, chosen, NAIVE] if np.isfinite(table.loc[m, "holdout_rmse"])]
    rmse = table.loc[list(dict.fromkeys(shown)), "holdout_rmse"]
    text += (f" Holdout RMSE (purchases per customer, {period}): "
             + ", ".join(f"{m} {v:.3f}" for m, v in rmse.items()) + ".")
    if rejected:
        text += " Rejected: " + "; ".join(f"{m} ({why})" for m, why in rejected.items()) + "."
    return text


def _short(reason: str) -> str:
    """The plain-language part of a degeneracy reason, without optimiser messages."""
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    plain = [p for p in parts if not p.startswith(("did not converge", "CONVERGENCE",
                                                   "ABNORMAL", "max |gradient|"))]
    return "; ".join(plain or parts)


@dataclass(frozen=True)
class _Interval:
    """Per-customer estimate and bounds, and the total (a Series as `PredictionInterval`'s)."""

    estimate: np.ndarray
    lower: Any
    upper: Any
    total: pd.Series


# ---------------------------------------------------------------------------------------------
# CLV replicates


def _clv(tx_fit: Any, spend_fit: Any, summary: pd.DataFrame, options: Mapping[str, Any]
         ) -> pd.DataFrame:
    # the one call of clvkit.clv.customer_lifetime_value (its keyword names in one place)
    return customer_lifetime_value(tx_fit, spend_fit, summary, horizon=options["horizon"],
                                   horizon_unit=options["horizon_unit"],
                                   discount_rate=options["discount_rate"],
                                   discount_period=options["discount_period"])


def _distinct(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct rows of ``frame`` (attrs kept) and each row's position among them."""
    codes = frame.groupby(list(frame.columns), sort=True).ngroup().to_numpy()
    first = pd.Series(np.arange(len(frame))).groupby(codes).first().to_numpy()
    uniq = frame.iloc[first].reset_index(drop=True)
    uniq.attrs = dict(frame.attrs)
    return uniq, codes


def _clv_intervals(tx_boot: Any, spend_boot: Any, summary: pd.DataFrame,
                   spend_input: pd.DataFrame, options: Mapping[str, Any], margin: np.ndarray,
                   q: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-customer CLV (revenue, margin) with intervals, and the totals' replicates.

    Replicate i pairs the i-th transaction and spend replicates (independent bootstraps:
    the two models' likelihoods are separate). Discounted purchases are computed once per
    distinct (frequency, recency, T) and expected spend once per distinct
    (frequency, monetary_value), then spread to the customers.
    """
    rft, rft_inv = _distinct(summary[["frequency", "recency", "T"]])
    spend_hist, spend_inv = _distinct(spend_input[["frequency", "monetary_value"]])
    disc_point = _clv(tx_boot.fit, _UnitSpend(), rft, options)["clv"].to_numpy()
    spend_point = spend_boot.fit.conditional_expected_spend(spend_hist).to_numpy()
    n_rep, n = tx_boot.n, len(summary)
    disc = np.empty((n_rep, len(rft)))
    spend = np.empty((n_rep, len(spend_hist)))
    for i, (tf, sf) in enumerate(zip(tx_boot.fits(), spend_boot.fits(), strict=True)):
        disc[i] = _clv(tf, _UnitSpend(), rft, options)["clv"].to_numpy()
        spend[i] = sf.conditional_expected_spend(spend_hist).to_numpy()
    totals = np.zeros((2, n_rep))
    bounds = np.empty((2, n))
    block = max(1, _BLOCK_VALUES // n_rep)
    for start in range(0, n, block):
        sl = slice(start, start + block)
        values = disc[:, rft_inv[sl]] * spend[:, spend_inv[sl]]
        totals[0] += values.sum(axis=1)
        totals[1] += values @ margin[sl]
        bounds[:, sl] = np.quantile(values, q, axis=0)
    revenue = disc_point[rft_inv] * spend_point[spend_inv]
    customers = pd.DataFrame({"clv_revenue": revenue, "clv_revenue_lower": bounds[0],
                              "clv_revenue_upper": bounds[1],
                              "clv_margin": revenue * margin,
                              "clv_margin_lower": bounds[0] * margin,
                              "clv_margin_upper": bounds[1] * margin}, index=summary.index)
    estimates = pd.Series({"clv_revenue": revenue.sum(), "clv_margin": revenue @ margin})
    return customers, _totals(estimates, totals, ["clv_revenue", "clv_margin"], q)


def _at_ages(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Distinct (x, T) of ``rows`` as histories with the last purchase at T, and the map."""
    xt, inv = _distinct(rows[["frequency", "T"]])
    frame = pd.DataFrame({"frequency": xt["frequency"],
                          "recency": np.where(xt["frequency"] > 0, xt["T"], 0.0),
                          "T": xt["T"]})
    frame.attrs = dict(rows.attrs)
    return frame, inv


def _alive_scaled(fit: Any, rows: pd.DataFrame, ages: tuple[pd.DataFrame, np.ndarray],
                  predict: Any) -> np.ndarray:
    """``predict(fit, rows)`` computed once per distinct (x, T) and scaled by P(alive).

    Given alive at T, the future of a BG/NBD, MBG/NBD, Pareto/NBD or NBD customer depends
    on (x, T) only (the rates' posterior given alive ignores t_x), so a conditional
    expectation is E[. | x, t_x, T] = P(alive | x, t_x, T) / P(alive | x, T, T)
    E[. | x, T, T] (as in `clvkit.models.intervals.clv_interval`): the costly part
    (hyp2f1, the discounted sum) is made per distinct (x, T), P(alive) per history.
    """
    frame, inv = ages
    top = np.asarray(predict(fit, frame), dtype=float)
    ref = fit.p_alive(frame).to_numpy()[inv]
    ratio = np.divide(fit.p_alive(rows).to_numpy(), ref, out=np.zeros(len(rows)),
                      where=ref > 0)
    return ratio * top[inv]


def _delta_gradient(fit: Any, predict: Any) -> tuple[np.ndarray, np.ndarray]:
    """``predict(fit)`` and its gradient in the log parameters (central differences, 1e-5)."""
    p = np.asarray(dataclasses.astuple(fit.params), dtype=float)
    ptype = type(fit.params)
    estimate = predict(fit)
    grad = np.empty((p.size, estimate.size))
    for k in range(p.size):
        step = np.zeros(p.size)
        step[k] = 1e-5
        up, down = (predict(dataclasses.replace(fit, params=ptype(*(p * np.exp(s)))))
                    for s in (step, -step))
        grad[k] = (up - down) / 2e-5
    return estimate, grad


def _log_covariance(fit: Any) -> np.ndarray:
    p = np.asarray(dataclasses.astuple(fit.params), dtype=float)
    return covariance(fit).to_numpy() / np.outer(p, p)


@dataclass(frozen=True)
class _FlatSpend:
    """Spend model of the fallback: every customer's value per purchase is ``mean``."""

    mean: float

    def conditional_expected_spend(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series(self.mean, index=frame.index, dtype=float)


@dataclass(frozen=True)
class _FlatSpendBootstrap:
    """Seeded customer bootstrap of the sample mean spend per purchase (``fit``, ``fits()``)."""

    fit: _FlatSpend
    means: np.ndarray

    @property
    def n(self) -> int:
        return len(self.means)

    def fits(self):
        return (_FlatSpend(float(m)) for m in self.means)


def sample_mean_spend(summary: pd.DataFrame) -> tuple[float, float]:
    """Mean spend per repeat purchase over all customers, and its standard error.

    The total of the repeat purchases divided by their number (customers with
    ``frequency > 0`` and a mean spend above 0, as the spend model's inputs); the standard
    error treats customers as the sampled units (ratio estimator).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1, 3], "monetary_value": [0.0, 10.0, 20.0]})
    >>> mean, se = sample_mean_spend(s)
    >>> round(mean, 2), round(se, 2)
    (17.5, 2.65)
    """
    x = summary["frequency"].to_numpy(dtype=float)
    m = summary["monetary_value"].to_numpy(dtype=float)
    use = (x > 0) & (m > 0)
    x, m = x[use], m[use]
    if not len(x):
        return float("nan"), float("nan")
    mean = float(x @ m / x.sum())
    se = float(np.sqrt(np.sum((x * (m - mean)) ** 2)) / x.sum())
    return mean, se


def _gamma_gamma_spend(spend_fit: Any, spend_input: pd.DataFrame
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spend per distinct (x, m): estimate, log-parameter gradient, covariance, map.

    Each customer's distinct row is the fourth item.
    """
    spend_hist, spend_inv = _distinct(spend_input[["frequency", "monetary_value"]])
    s, gs = _delta_gradient(spend_fit, lambda f: f.conditional_expected_spend(spend_hist)
                            .to_numpy())
    return s, gs, _log_covariance(spend_fit), spend_inv


def _flat_spend(mean: float, se: float, n: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fallback's spend: ``mean`` for everyone, one log parameter with variance (se/mean)^2."""
    return (np.array([mean]), np.array([[mean]]), np.array([[(se / mean) ** 2]]),
            np.zeros(n, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class CustomerScores:
    """Per-customer predictions with delta-method intervals, held per distinct history.

    Made by :func:`score_customers` (and by :func:`predict_with_best_model`): the
    costly parts (P(alive), expected purchases, discounted purchases, spend and their
    gradients) are computed once per distinct (frequency, recency, T) and per distinct
    (frequency, monetary value); a customer's row is then a few element-wise operations
    on those, so any chunk of customers is scored on its own, in bounded memory, with
    exactly the values of the whole table.

    CLV_i = d_i s_i (discounted expected purchases times expected spend per purchase);
    the two models' estimates are independent (separate likelihoods), so
    Var(CLV_i) = s_i^2 g_d' C_d g_d + d_i^2 g_s' C_s g_s with the gradients in the log
    parameters; the interval is on the log scale, ``clv exp(-+ z se / clv)`` (as
    `clvkit.models.intervals.delta_interval`), and so are P(alive)'s and the expected
    purchases' (P(alive) capped at 1).

    Attributes
    ----------
    index : Index
        The customers (the summary's index).
    history : ndarray of int64
        Each customer's distinct (frequency, recency, T) row.
    alive, purchases : ndarray, shape (3, rows)
        Estimate, lower and upper bound per distinct history.
    discounted, discounted_var : ndarray
        Discounted expected purchases per distinct history and its variance factor
        ``g_d' C_d g_d`` (None without a spend model, as the three below).
    spend_row : ndarray of int64
        Each customer's distinct (frequency, monetary value) row.
    spend, spend_var : ndarray
        Expected spend per purchase per distinct row and ``g_s' C_s g_s``.
    margin : ndarray
        Gross-margin rate per customer.
    z : float
        Normal quantile of the intervals' level.
    """

    index: pd.Index
    history: np.ndarray
    alive: np.ndarray
    purchases: np.ndarray
    discounted: np.ndarray | None
    discounted_var: np.ndarray | None
    spend_row: np.ndarray | None
    spend: np.ndarray | None
    spend_var: np.ndarray | None
    margin: np.ndarray
    z: float

    @property
    def has_clv(self) -> bool:
        """True when the scores include CLV (a spend model was given)."""
        return self.discounted is not None

    def __len__(self) -> int:
        return len(self.index)

    def chunk(self, start: int, stop: int) -> pd.DataFrame:
        """The predictions of customers ``start .. stop - 1`` (positions), as in `frame`."""
        h = self.history[start:stop]
        cols = {}
        for name, table in (("p_alive", self.alive), ("purchases_next", self.purchases)):
            cols[name], cols[f"{name}_lower"], cols[f"{name}_upper"] = table[:, h]
        if self.has_clv:
            q = self.spend_row[start:stop]
            d, s = self.discounted[h], self.spend[q]
            revenue = d * s
            se = np.sqrt(s * s * self.discounted_var[h] + d * d * self.spend_var[q])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                spread = np.where(revenue > 0, np.exp(self.z * se / revenue), 1.0)
            m = self.margin[start:stop]
            cols.update({"clv_revenue": revenue, "clv_revenue_lower": revenue / spread,
                         "clv_revenue_upper": revenue * spread, "clv_margin": revenue * m,
                         "clv_margin_lower": revenue / spread * m,
                         "clv_margin_upper": revenue * spread * m})
        return pd.DataFrame(cols, index=self.index[start:stop])

    def chunks(self, chunk_size: int = 500_000):
        """Yield `chunk` frames of at most ``chunk_size`` customers, in order."""
        check_positive("chunk_size", chunk_size)
        for start in range(0, len(self), int(chunk_size)):
            yield self.chunk(start, min(start + int(chunk_size), len(self)))

    def frame(self, chunk_size: int = 500_000) -> pd.DataFrame:
        """All customers' predictions, as one frame.

        Columns ``p_alive``, ``purchases_next`` and, with a spend model,
        ``clv_revenue`` and ``clv_margin``, each with ``_lower``/``_upper``.
        """
        if len(self) == 0:
            return self.chunk(0, 0)
        return pd.concat(list(self.chunks(chunk_size)))

    def write_parquet(self, path, *, chunk_size: int = 500_000, force: bool = False) -> int:
        """Stream the predictions to a Parquet file chunk by chunk; return the rows written.

        Memory stays that of one chunk of ``chunk_size`` customers; the file holds one
        row group per chunk, the customer id as its first column (text), and is written
        to a temporary name renamed when complete (:func:`clvkit.outputs.atomic_output`);
        an existing file is replaced only with ``force``.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..outputs import atomic_output, check_output_file

        check_output_file(path, force=force)
        written = 0
        with atomic_output(path, force=force) as tmp:
            writer = None
            try:
                for part in self.chunks(chunk_size):
                    table = pa.Table.from_pandas(part.reset_index(), preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    writer.write_table(table)
                    written += len(part)
                if writer is None:   # no customers: the schema alone
                    table = pa.Table.from_pandas(self.chunk(0, 0).reset_index(),
                                                 preserve_index=False)
                    pq.write_table(table, tmp, compression="zstd")
            finally:
                if writer is not None:
                    writer.close()
        return written


def _scores(fit: Any, rows: pd.DataFrame, inverse: np.ndarray, index: pd.Index,
            weights: np.ndarray, spend: tuple | None, options: Mapping[str, Any],
            margins: np.ndarray, t_next: float, z: float
            ) -> tuple[CustomerScores, dict[str, pd.Series]]:
    """Scores per distinct history and the totals of every quantity with intervals."""
    pa_row, pa_lo, pa_hi, alive_total = _delta_rows(
        fit, lambda f: f.p_alive(rows).to_numpy(), weights, z, probability=True)
    ages = _at_ages(rows)
    nx_row, nx_lo, nx_hi, next_total = _delta_rows(
        fit, lambda f: _alive_scaled(f, rows, ages, lambda g, frame:
                                     g.conditional_expected_purchases(frame, t=t_next)),
        weights, z)
    totals = {"alive": alive_total, "purchases_next": next_total}
    extra = dict.fromkeys(("discounted", "discounted_var", "spend_row", "spend",
                           "spend_var"))
    if spend is not None:
        d, gd = _delta_gradient(fit, lambda f: _alive_scaled(
            f, rows, ages, lambda g, frame: _clv(g, _UnitSpend(), frame, options)["clv"]))
        s, gs, cov_s, spend_row = spend
        cov_d = _log_covariance(fit)
        extra = {"discounted": d, "discounted_var": np.einsum("kn,kl,ln->n", gd, cov_d, gd),
                 "spend_row": spend_row, "spend": s,
                 "spend_var": np.einsum("kn,kl,ln->n", gs, cov_s, gs)}
        # totals: sum_i w_i d_h(i) s_q(i); gradients aggregated per distinct row
        for name, w in (("clv_revenue", np.ones(len(index))), ("clv_margin", margins)):
            ws = w * s[spend_row]
            a = gd @ np.bincount(inverse, weights=ws, minlength=len(d))
            b = gs @ np.bincount(spend_row, weights=w * d[inverse], minlength=len(s))
            se_total = float(np.sqrt(a @ cov_d @ a + b @ cov_s @ b))
            est = float(d[inverse] @ ws)
            totals[name] = pd.Series({"estimate": est, "std_error": se_total,
                                      "lower": est - z * se_total,
                                      "upper": est + z * se_total})
    scores = CustomerScores(index=index, history=np.asarray(inverse, dtype=np.int64),
                            alive=np.vstack([pa_row, pa_lo, pa_hi]),
                            purchases=np.vstack([nx_row, nx_lo, nx_hi]),
                            margin=margins, z=z, **extra)
    return scores, totals


def _check_options(*, horizon, next_period, discount_rate, horizon_unit, discount_period,
                   next_period_unit, level) -> None:
    """The checks of the prediction options shared by the scoring entry points."""
    check_positive("horizon", horizon)
    check_positive("next_period", next_period)
    check_nonnegative("discount_rate", discount_rate)
    for name, unit in (("horizon_unit", horizon_unit), ("discount_period", discount_period),
                       ("next_period_unit", next_period_unit)):
        check_one_of(name, unit, TIME_UNITS)
    if not 0 < level < 1:
        raise ClvError(f"`level` must be between 0 and 1 (e.g. 0.95), got {level!r}")


def _spend_input(summary: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The spend model's input; customers it may not use (``~keep``) count as new.

    New customers get the population mean spend.
    """
    return pd.DataFrame({"frequency": np.where(keep, summary["frequency"], 0),
                         "monetary_value": np.where(keep, summary["monetary_value"], 0.0)},
                        index=summary.index)


def score_customers(fit: Any, summary: pd.DataFrame, *, spend_fit: Any = None,
                    margin: float | pd.Series = 1.0, horizon: float = 12,
                    horizon_unit: str = "M", discount_rate: float = 0.0,
                    discount_period: str = "M", next_period: float = 1,
                    next_period_unit: str = "M", level: float = 0.95) -> CustomerScores:
    """Score every customer of ``summary`` with a fitted purchase (and spend) model.

    The scoring step of :func:`predict_with_best_model` on its own, for a model fitted
    elsewhere (e.g. on the distinct rows of a summary of millions of customers): P(alive),
    the expected purchases in the next ``next_period`` and, with ``spend_fit``, the
    ``horizon`` CLV (revenue and margin), each with a delta-method interval. The result
    holds the costly parts once per distinct history; ``.frame()`` gives the table,
    ``.write_parquet(path)`` streams it chunk by chunk.

    Parameters
    ----------
    fit : fitted purchase model
        BG/NBD, MBG/NBD, Pareto/NBD or NBD result (with a covariance: fitted by clvkit).
    summary : DataFrame
        ``frequency, recency, T`` (and ``monetary_value`` with ``spend_fit``) per
        customer, in ``fit.time_unit``.
    spend_fit : GammaGamma result, optional
        The spend model; customers it may not use (:func:`clvkit.models.compare.spend_rows`)
        get the population mean spend.
    margin, horizon, horizon_unit, discount_rate, discount_period
        As in :func:`predict_with_best_model`.
    next_period, next_period_unit, level
        As in :func:`predict_with_best_model`.

    Returns
    -------
    CustomerScores

    Examples
    --------
    >>> from clvkit.datasets import load_cdnow
    >>> from clvkit.models import BGNBD, GammaGamma
    >>> from clvkit.summary import rfm_summary
    >>> full = rfm_summary(load_cdnow().transactions, observation_end="1998-06-30")
    >>> fit = BGNBD().fit(full)
    >>> spend = GammaGamma().fit(full[full["frequency"] > 0])
    >>> scores = score_customers(fit, full, spend_fit=spend, margin=0.3, discount_rate=0.01)
    >>> table = scores.frame(chunk_size=1000)
    >>> table.equals(scores.frame())
    True
    >>> table.shape
    (2357, 12)
    """
    _check_options(horizon=horizon, next_period=next_period, discount_rate=discount_rate,
                   horizon_unit=horizon_unit, discount_period=discount_period,
                   next_period_unit=next_period_unit, level=level)
    margins = _margin_array(margin, summary.index)
    rows, inverse = _distinct(summary[["frequency", "recency", "T"]].astype(float))
    weights = np.bincount(inverse, minlength=len(rows)).astype(float)
    t_next = float(convert_duration(float(next_period), from_unit=next_period_unit,
                                    to_unit=fit.time_unit))
    spend = None
    if spend_fit is not None:
        keep = spend_rows(summary)
        spend = _gamma_gamma_spend(spend_fit, _spend_input(summary, keep))
    options = {"horizon": horizon, "horizon_unit": horizon_unit,
               "discount_rate": discount_rate, "discount_period": discount_period}
    z = float(stats.norm.ppf((1 + level) / 2))
    return _scores(fit, rows, inverse, summary.index, weights, spend, options, margins,
                   t_next, z)[0]


def _totals(estimates: pd.Series, replicates: np.ndarray, names: Sequence[str],
            q: list[float]) -> pd.DataFrame:
    lo, hi = np.quantile(replicates, q, axis=1)
    return pd.DataFrame({"estimate": estimates[list(names)].to_numpy(dtype=float),
                         "std_error": replicates.std(axis=1, ddof=1),
                         "lower": lo, "upper": hi}, index=pd.Index(names, name="quantity"))


def _margin_array(margin: Any, index: pd.Index) -> np.ndarray:
    if isinstance(margin, pd.Series):
        aligned = margin.reindex(index)
        if aligned.isna().any():
            raise DataValidationError(
                f"`margin` has no rate for {example_rows(index[aligned.isna().to_numpy()])} "
                "of the customers; give every customer a rate or pass one number")
        values = aligned.to_numpy(dtype=float)
    else:
        values = np.full(len(index), float(margin))
    bad = (values > 1) | ~np.isfinite(values)
    if bad.any():
        raise DataValidationError(
            f"`margin` must be gross-margin rates of at most 1 (e.g. 0.3 for 30%; negative "
            f"for customers sold below cost); {example_rows(index[bad])} have "
            f"{values[bad][:3].tolist()}")
    return values


# ---------------------------------------------------------------------------------------------
# the naive baseline and the no-dropout model on the holdout


def _holdout_errors(calibration: pd.DataFrame, fit: Any) -> np.ndarray:
    """Per-customer squared holdout errors of ``fit``, predicted once per distinct history."""
    cols = ["frequency", "recency", "T", "duration_holdout"]
    rows, inv = _distinct(calibration[cols].astype(float))
    rows["frequency_holdout"] = 0
    with np.errstate(all="ignore"):
        pred = holdout_predictions(rows, fit=fit)["predicted"].to_numpy()
    return (calibration["frequency_holdout"].to_numpy(float) - pred[inv]) ** 2


def _naive_errors(calibration: pd.DataFrame) -> np.ndarray:
    x, age = calibration["frequency"].to_numpy(float), calibration["T"].to_numpy(float)
    rate = np.divide(x, age, out=np.zeros_like(x), where=age > 0)
    pred = rate * calibration["duration_holdout"].to_numpy(float)
    return (calibration["frequency_holdout"].to_numpy(float) - pred) ** 2


def versus_naive(errors: np.ndarray, naive: np.ndarray) -> tuple[float, float]:
    """Mean paired difference of squared holdout errors (model - naive) and its standard error.

    Negative: the model predicts the holdout better than the naive baseline. The difference
    is beyond noise when it exceeds twice its standard error.

    Examples
    --------
    >>> d, se = versus_naive(np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0, 2.0]))
    >>> round(d, 3), round(se, 3)
    (-0.75, 0.25)
    """
    diff = errors - naive
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
    return float(diff.mean()), se


def _benchmark_rows(calibration: pd.DataFrame, table: pd.DataFrame,
                    time_unit: str | None) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The comparison table with the NBD and naive rows, and each model's squared errors."""
    errors = {name: _holdout_errors(calibration, fit)
              for name, fit in table.attrs["fits"].items() if name in _CANDIDATES
              and np.isfinite(table.loc[name, "holdout_rmse"])}
    errors[NAIVE] = _naive_errors(calibration)
    nbd, warned = _fit_quietly(NBD(), calibration, time_unit)
    reasons = degenerate_reasons(nbd, warned, None)
    errors[nbd.model_name] = _holdout_errors(calibration, nbd)
    k, n_obs = 2, nbd.n_customers
    rows = pd.DataFrame([
        {"model": nbd.model_name, "kind": "no dropout", "n_params": k, "n_customers": n_obs,
         "log_likelihood": nbd.log_likelihood, "aic": 2 * k - 2 * nbd.log_likelihood,
         "bic": k * np.log(n_obs) - 2 * nbd.log_likelihood, "degenerate": bool(reasons),
         "reason": "; ".join(reasons),
         "params": ", ".join(f"{a}={v:.4g}" for a, v in dataclasses.asdict(nbd.params).items())},
        {"model": NAIVE, "kind": "baseline", "n_params": 0, "n_customers": len(calibration),
         "degenerate": False, "reason": ""}]).set_index("model")
    for name in rows.index:
        e = errors[name]
        rows.loc[name, ["holdout_mae", "holdout_rmse"]] = [
            float(np.mean(np.sqrt(e))), float(np.sqrt(np.mean(e)))]
    out = pd.concat([table, rows.reindex(columns=table.columns)])
    out["degenerate"] = out["degenerate"].astype(bool)
    out["reason"] = out["reason"].fillna("")
    out["vs_naive"], out["vs_naive_se"] = np.nan, np.nan
    for name, e in errors.items():
        if name != NAIVE:
            out.loc[name, ["vs_naive", "vs_naive_se"]] = versus_naive(e, errors[NAIVE])
    out.attrs = {**table.attrs, "fits": {**table.attrs["fits"], nbd.model_name: nbd}}
    return out, errors


def _beats_naive(table: pd.DataFrame, name: str) -> bool:
    return bool(table.loc[name, "vs_naive"] < 0)


# ---------------------------------------------------------------------------------------------
# predictions on distinct histories


def _delta_rows(fit: Any, predict: Any, weights: np.ndarray, z: float, *,
                probability: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    pd.Series]:
    """Per-row estimate and delta-method bounds, and the weighted total with its interval.

    As `clvkit.models.intervals.delta_interval`, on distinct rows standing for ``weights``
    customers each: per row the interval is on the log scale, the total's on the natural
    scale with the gradient of the weighted sum.
    """
    est, grad = _delta_gradient(fit, predict)
    cov = _log_covariance(fit)
    se = np.sqrt(np.maximum(np.einsum("kn,kl,ln->n", grad, cov, grad), 0.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spread = np.where(est > 0, np.exp(z * se / est), 1.0)
    upper = est * spread
    if probability:
        upper = np.minimum(upper, 1.0)
    g = grad @ weights
    total, se_total = float(est @ weights), float(np.sqrt(max(g @ cov @ g, 0.0)))
    return est, est / spread, upper, pd.Series(
        {"estimate": total, "std_error": se_total, "lower": total - z * se_total,
         "upper": total + z * se_total})


def _count_second_moment(fit: Any, x: np.ndarray, age: np.ndarray, t: float,
                         seed: int) -> np.ndarray:
    """E[N^2 | alive] of the purchases N in the next ``t`` (Monte Carlo, per (x, T) row).

    Given alive at T the rates' posterior is known in closed form (FHL 2005 section 3 for
    BG/NBD; Schmittlein, Morrison & Colombo 1987 for Pareto/NBD): lambda ~ Gamma(r + x,
    alpha + T); BG/NBD p ~ Beta(a, b + x) (MBG/NBD b + x + 1), and the customer makes
    min(Poisson(lambda t), Geometric(p)) purchases; Pareto/NBD mu ~ Gamma(s, beta + T) and
    Poisson(lambda min(tau, t)) purchases with tau ~ Exp(mu); NBD: Poisson(lambda t).
    """
    from .bgnbd import BGNBDFit
    from .pareto_nbd import ParetoNBDFit

    rng = np.random.default_rng(seed)
    p = fit.params
    shape = (_NOISE_DRAWS, x.size)
    lam = rng.gamma(p.r + x, 1.0 / (p.alpha + age), size=shape)
    if isinstance(fit, ParetoNBDFit):
        mu = rng.gamma(p.s, 1.0 / (p.beta + age), size=shape)
        n = rng.poisson(lam * np.minimum(rng.exponential(1.0, shape) / mu, t))
    elif isinstance(fit, BGNBDFit):
        drop = rng.beta(p.a, p.b + x + fit._shift, size=shape)
        n = np.minimum(rng.poisson(lam * t), rng.geometric(np.clip(drop, 1e-12, 1.0)))
    else:
        n = rng.poisson(lam * t)
    return (n.astype(float) ** 2).mean(axis=0)


def _noise_variance(fit: Any, rows: pd.DataFrame, p_alive: np.ndarray, expected: np.ndarray,
                    t: float, seed: int) -> np.ndarray:
    """Per-row variance of the purchases in the next ``t`` at the fitted parameters."""
    xt, xt_inv = _distinct(rows[["frequency", "T"]])
    m2 = _count_second_moment(fit, xt["frequency"].to_numpy(float),
                              xt["T"].to_numpy(float), t, seed)[xt_inv]
    return np.maximum(p_alive * m2 - expected ** 2, 0.0)


def _horizon_moments(fit: Any, x: np.ndarray, age: np.ndarray, *, steps: int,
                     step: float, discount_rate: float, seed: int) -> np.ndarray:
    """E[W1], E[W1^2], E[W2] given alive, per (x, T) row (Monte Carlo, `_NOISE_DRAWS`).

    W1 = sum_k (1 + d)^-k N_k and W2 = sum_k (1 + d)^-2k N_k over the discounting steps k of
    length ``step`` (in the fit's time unit), N_k the purchases in step k simulated from the
    rates' posterior given alive (as `_count_second_moment`).
    """
    from .bgnbd import BGNBDFit
    from .pareto_nbd import ParetoNBDFit

    rng = np.random.default_rng(seed)
    p = fit.params
    shape = (_NOISE_DRAWS, x.size)
    lam = rng.gamma(p.r + x, 1.0 / (p.alpha + age), size=shape)
    if isinstance(fit, ParetoNBDFit):
        life = rng.exponential(1.0, shape) / rng.gamma(p.s, 1.0 / (p.beta + age), size=shape)
    elif isinstance(fit, BGNBDFit):
        left = rng.geometric(np.clip(rng.beta(p.a, p.b + x + fit._shift, size=shape),
                                     1e-12, 1.0)).astype(float)
    w1, w2 = np.zeros(shape), np.zeros(shape)
    for k in range(1, steps + 1):
        if isinstance(fit, ParetoNBDFit):
            n = rng.poisson(lam * np.clip(life - (k - 1) * step, 0.0, step))
        elif isinstance(fit, BGNBDFit):
            n = np.minimum(rng.poisson(lam * step), left)
            left = left - n
        else:
            n = rng.poisson(lam * step)
        disc = (1.0 + discount_rate) ** -k
        w1 += disc * n
        w2 += disc**2 * n
    return np.vstack([w1.mean(axis=0), (w1**2).mean(axis=0), w2.mean(axis=0)])


def _clv_noise_variance(fit: Any, spend_fit: Any, full: pd.DataFrame,
                        spend_input: pd.DataFrame, p_alive: np.ndarray,
                        options: Mapping[str, Any], seed: int) -> np.ndarray:
    """Per-customer variance of the discounted revenue around its expectation (chance).

    Purchases as `_horizon_moments`; spend per purchase z ~ Gamma(p, nu) with nu's posterior
    Gamma(q + p x, gamma + x m) (the posterior behind the Gamma-Gamma conditional expected
    spend, Fader, Hardie & Lee 2005, "RFM and CLV"), so
    E[CLV] = p E[1/nu] E[W1] and E[CLV^2] = p E[1/nu^2] E[W2] + p^2 E[1/nu^2] E[W1^2],
    E[1/nu] = B / (A - 1), E[1/nu^2] = B^2 / ((A - 1)(A - 2)). NaN where A <= 2 (the
    variance is infinite).
    """
    steps = int(np.ceil(float(convert_duration(options["horizon"],
                                               from_unit=options["horizon_unit"],
                                               to_unit=options["discount_period"])) - 1e-9))
    step = float(convert_duration(1.0, from_unit=options["discount_period"],
                                  to_unit=fit.time_unit))
    xt, inv = _distinct(full[["frequency", "T"]].astype(float))
    mom = _horizon_moments(fit, xt["frequency"].to_numpy(float), xt["T"].to_numpy(float),
                           steps=steps, step=step, discount_rate=options["discount_rate"],
                           seed=seed)[:, inv] * p_alive
    g = spend_fit.params
    xs = spend_input["frequency"].to_numpy(float)
    a = g.q + g.p * xs
    b = g.gamma + xs * spend_input["monetary_value"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv1 = b / (a - 1)
        inv2 = np.where(a > 2, b**2 / ((a - 1) * (a - 2)), np.nan)
    second = g.p * inv2 * mom[2] + g.p**2 * inv2 * mom[1]
    return np.maximum(second - (g.p * inv1 * mom[0]) ** 2, 0.0)


def _with_noise(total: pd.Series, noise_var: float, z: float) -> pd.Series:
    """A total's prediction interval: parameter and chance variance added (independent)."""
    se = float(np.sqrt(total["std_error"] ** 2 + noise_var))
    return pd.concat([total, pd.Series({"pred_lower": max(total["estimate"] - z * se, 0.0),
                                        "pred_upper": total["estimate"] + z * se})])


# ---------------------------------------------------------------------------------------------
# the entry point


def predict_with_best_model(calibration: pd.DataFrame, full: pd.DataFrame, *,
                            margin: float | pd.Series = 1.0, horizon: float = 12,
                            horizon_unit: str = "M", discount_rate: float = 0.0,
                            discount_period: str = "M", next_period: float = 1,
                            next_period_unit: str = "M",
                            models: Sequence[str] = ("BGNBD", "MBGNBD", "ParetoNBD"),
                            level: float = 0.95, interval: str = "delta",
                            n_replicates: int = 200, seed: Any = 0,
                            time_unit: str | None = None) -> ModelPredictions:
    """Choose the purchase model by holdout error, refit it, predict with intervals.

    See the module notes for the steps. Seeded: the same ``seed`` gives the same result.

    Parameters
    ----------
    calibration : DataFrame
        RFM summary of the calibration period with the holdout columns
        (``rfm_summary(..., calibration_end=...)``); ``monetary_value`` for the spend model.
    full : DataFrame
        RFM summary of the whole period (``frequency, recency, T, monetary_value``): the
        customers to predict for, in the same time unit.
    margin : float or Series, default 1
        Gross-margin rate (at most 1; e.g. 0.3) applied to the revenue CLV; a Series gives
        one per customer (indexed like ``full``). 1 makes the margin CLV equal the revenue
        CLV.
    horizon : float, default 12
        CLV horizon, in ``horizon_unit``.
    horizon_unit : {"D", "W", "M", "Y"}, default "M"
        Unit of ``horizon``.
    discount_rate : float, default 0
        Discount rate per ``discount_period`` (e.g. 0.008 a month for ~10% a year).
    discount_period : {"D", "W", "M", "Y"}, default "M"
        Period of the discount rate, also the step of the discounted sum.
    next_period, next_period_unit : float, str, default 1 and "M"
        Window of the expected purchases ``purchases_next``.
    models : sequence of {"BGNBD", "MBGNBD", "ParetoNBD"}
        Candidate purchase models.
    level : float, default 0.95
        Coverage of the intervals.
    interval : {"delta", "bootstrap"}, default "delta"
        How the intervals are made: the delta method with the observed-information
        covariance of both models (fast: a few predictions per parameter), or a seeded
        customer bootstrap of both models (``n_replicates`` refits each; slower, no normal
        approximation).
    n_replicates : int, default 200
        Bootstrap replicates of each model (``interval="bootstrap"``).
    seed : int or SeedSequence, default 0
        Seed of the bootstraps (``interval="bootstrap"``; the delta method is
        deterministic).
    time_unit : {"D", "W", "M", "Y"}, optional
        Unit of ``recency`` and ``T`` when the summaries' ``attrs`` have none.

    Returns
    -------
    ModelPredictions
        The comparison, the model used (or None) and why, per-customer predictions and
        totals with intervals.

    Raises
    ------
    DataValidationError
        ``calibration`` has no holdout columns, the summaries' time units differ, a margin
        rate is above 1, not finite or missing for a customer.

    Examples
    --------
    >>> from clvkit.datasets import load_cdnow
    >>> from clvkit.summary import rfm_summary
    >>> tx = load_cdnow().transactions
    >>> cal = rfm_summary(tx, observation_end="1998-06-30", calibration_end="1997-09-30")
    >>> full = rfm_summary(tx, observation_end="1998-06-30")
    >>> out = predict_with_best_model(cal, full, margin=0.3, discount_rate=0.01)
    >>> out.model
    'MBG/NBD'
    >>> cols = ["estimate", "std_error", "lower", "upper"]
    >>> out.totals.loc[["purchases_next", "clv_margin"], cols].round(0)
    ... # doctest: +NORMALIZE_WHITESPACE
                    estimate  std_error    lower    upper
    quantity
    purchases_next     182.0        3.0    176.0    187.0
    clv_margin       20105.0      485.0  19155.0  21055.0
    >>> out.totals.loc["purchases_next", ["pred_lower", "pred_upper"]].round(0).tolist()
    [153.0, 211.0]
    """
    _check_summaries(calibration, full)
    _check_options(horizon=horizon, next_period=next_period, discount_rate=discount_rate,
                   horizon_unit=horizon_unit, discount_period=discount_period,
                   next_period_unit=next_period_unit, level=level)
    check_one_of("interval", interval, ("delta", "bootstrap"))
    check_positive("n_replicates", n_replicates)
    margins = _margin_array(margin, full.index)
    spend = "monetary_value" in calibration.columns and "monetary_value" in full.columns
    table = compare_models(calibration, models=models, spend=spend, time_unit=time_unit)
    table, _ = _benchmark_rows(calibration, table, time_unit)
    unit = table.attrs["time_unit"] or time_unit
    period = (f"{_span(float(calibration[_HOLDOUT[1]].iloc[0]), unit)} of holdout"
              if len(calibration) and unit in TIME_UNITS else "holdout")
    rejected = {m: _short(table.loc[m, "reason"]) for m in table.index
                if table.loc[m, "kind"] == "purchases" and table.loc[m, "degenerate"]}
    common = {"comparison": table, "horizon": float(horizon), "horizon_unit": horizon_unit,
              "next_period": float(next_period), "next_period_unit": next_period_unit,
              "discount_rate": float(discount_rate), "discount_period": discount_period,
              "margin": margin, "level": float(level), "interval": interval,
              "n_replicates": int(n_replicates) if interval == "bootstrap" else 0,
              "seed": seed if interval == "bootstrap" else None}
    ranking = [m for m in table.attrs["ranking"] if _beats_naive(table, m)]
    for m in table.attrs["ranking"]:
        if m not in ranking:
            rejected[m] = "predicts the holdout no better than the naive baseline"
    nbd = NBD.result_type.model_name
    fallback = (not ranking and len(rejected) == len(models) and _beats_naive(table, nbd)
                and not table.loc[nbd, "degenerate"]
                and all("no dropout" in table.loc[m, "reason"] for m in rejected))
    if fallback:  # every dropout model says nobody leaves: the model without dropout
        ranking = [nbd]
    # the customers' distinct histories: fits and predictions are made once per row
    rows, inverse = _distinct(full[["frequency", "recency", "T"]].astype(float))
    weights = np.bincount(inverse, minlength=len(rows)).astype(float)
    chosen, fit = None, None
    for name in ranking:
        refit, warned = _fit_quietly(_CANDIDATES[name](), rows, time_unit, weights=weights)
        pa = None if name == nbd else refit.p_alive(rows).iloc[inverse]
        reasons = degenerate_reasons(refit, warned, pa)
        if not reasons:
            chosen, fit = name, refit
            break
        rejected[name] = "degenerate when refitted on the full period: " + _short(
            "; ".join(reasons))
    if chosen is None:
        why = "; ".join(f"{m}: {r}" for m, r in rejected.items())
        return ModelPredictions(
            **common, model=None, rejected=rejected, customers=None, totals=None, fit=None,
            spend_fit=None,
            reason=(f"No purchase model fits these data, so no CLV is predicted: every "
                    f"candidate is degenerate or no better than the naive baseline ({why})."))
    t_next = float(convert_duration(float(next_period), from_unit=next_period_unit,
                                    to_unit=fit.time_unit))
    notes, spend_fit, flat = [], None, None
    keep = spend_rows(full) if spend else None
    if spend:
        spend_fit, warned = _fit_quietly(GammaGamma(), full.loc[keep], time_unit)
        reasons = degenerate_reasons(spend_fit, warned, None)
        if reasons:  # the details depend on rounding (a flat likelihood): not in the text
            spend_fit = None
            flat = sample_mean_spend(full)
            if np.isfinite(flat[0]) and flat[0] > 0 and np.isfinite(flat[1]):
                notes.append(
                    "The Gamma-Gamma spend model is degenerate on these data (its estimate "
                    "runs off, as it does when spend per purchase hardly differs between "
                    "customers beyond chance), so each customer's value per purchase is the "
                    "sample mean spend per purchase of all repeat purchases, the same for "
                    "every customer.")
            else:
                notes.append("No CLV: the Gamma-Gamma spend model is degenerate on these data "
                             "and there are no repeat purchases to average instead.")
                flat = None
        elif not keep.all():
            notes.append(f"{int((~keep).sum()):,} repeat customer(s) whose repeat purchases "
                         "average 0 or less (e.g. a free order) are left out of the spend "
                         "model; their expected spend per purchase is the average customer's.")
    else:
        notes.append("No CLV: the summaries have no `monetary_value` column for the spend "
                     "model.")
    options = {"horizon": horizon, "horizon_unit": horizon_unit,
               "discount_rate": discount_rate, "discount_period": discount_period}
    spend_input, spend_model = None, ""
    if spend_fit is not None or flat is not None:
        spend_model = "Gamma-Gamma" if flat is None else "sample mean"
    if spend_fit is not None:  # customers left out of the spend model: the population mean
        spend_input = _spend_input(full, keep)
    z = float(stats.norm.ppf((1 + level) / 2))
    scores = None
    if interval == "delta":
        spend = None
        if spend_model:
            spend = (_flat_spend(*flat, len(full)) if flat else
                     _gamma_gamma_spend(spend_fit, spend_input))
        scores, sums = _scores(fit, rows, inverse, full.index, weights, spend, options,
                               margins, t_next, z)
        pa_row, nx_row = scores.alive[0], scores.purchases[0]
        alive = _Interval(pa_row[inverse], None, None, sums["alive"])
        nxt = _Interval(None, None, None, sums["purchases_next"])
        clv = None
        if spend_model:
            clv = (None, pd.DataFrame([sums["clv_revenue"].rename("clv_revenue"),
                                       sums["clv_margin"].rename("clv_margin")]
                                      ).rename_axis("quantity"))
    else:
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        tx_seed, spend_seed = seq.spawn(2)
        tx_boot = fit.bootstrap(n=n_replicates, seed=tx_seed)
        a = predict_interval(tx_boot, "p_alive", full, level=level)
        b = predict_interval(tx_boot, "conditional_expected_purchases", full, level=level,
                             t=t_next)
        alive, nxt = (_Interval(*(c.customers.iloc[:, 0].to_numpy(), c.customers["lower"],
                                  c.customers["upper"]), c.total) for c in (a, b))
        pa_row = fit.p_alive(rows).to_numpy()
        nx_row = fit.conditional_expected_purchases(rows, t=t_next).to_numpy()
        if flat:  # the sample mean's bootstrap: customers resampled
            spend_input = full[["frequency", "monetary_value"]]
            pick = np.random.default_rng(spend_seed).integers(
                0, len(full), size=(n_replicates, len(full)))
            spend_boot = _FlatSpendBootstrap(_FlatSpend(flat[0]), np.array(
                [sample_mean_spend(full.iloc[i])[0] for i in pick]))
        elif spend_fit is not None:
            spend_boot = spend_fit.bootstrap(n=n_replicates, seed=spend_seed)
        clv = (None if not spend_model else _clv_intervals(
            tx_boot, spend_boot, full, spend_input, options, margins,
            [(1 - level) / 2, (1 + level) / 2]))
    # prediction intervals of the totals: chance variation of which customers stay and how
    # many purchases they make, added to the parameter uncertainty
    noise_seed = int(np.random.SeedSequence(0 if seed is None else seed).generate_state(1)[0]
                     ) if not isinstance(seed, np.random.SeedSequence) else int(
                         seed.generate_state(1)[0])
    alive_noise = float(weights @ (pa_row * (1 - pa_row)))
    next_noise = float(weights @ _noise_variance(fit, rows, pa_row, nx_row, t_next,
                                                 noise_seed))
    if spend_fit is not None:  # the values' prediction ranges: purchase and spend noise added
        var = _clv_noise_variance(fit, spend_fit, full, spend_input, alive.estimate, options,
                                  noise_seed + 1)
        if np.isfinite(var).all():
            clv = (clv[0], pd.DataFrame([
                _with_noise(clv[1].loc["clv_revenue"], float(var.sum()), z),
                _with_noise(clv[1].loc["clv_margin"], float(var @ margins**2), z)],
                index=clv[1].index))
    totals = pd.DataFrame([_with_noise(alive.total, alive_noise, z).rename("alive"),
                           _with_noise(nxt.total, next_noise, z).rename("purchases_next")])
    totals.index.name = "quantity"
    if scores is not None:
        customers = scores.frame()
    else:
        customers = pd.DataFrame({
            "p_alive": alive.estimate, "p_alive_lower": np.asarray(alive.lower),
            "p_alive_upper": np.asarray(alive.upper),
            "purchases_next": nxt.estimate, "purchases_next_lower": np.asarray(nxt.lower),
            "purchases_next_upper": np.asarray(nxt.upper)}, index=full.index)
        if clv is not None:
            customers = customers.join(clv[0])
    if clv is not None:
        totals = pd.concat([totals, clv[1]])
    customers.attrs = {"time_unit": fit.time_unit, "horizon": float(horizon),
                       "horizon_unit": horizon_unit, "next_period": float(next_period),
                       "next_period_unit": next_period_unit,
                       "discount_rate": float(discount_rate),
                       "discount_period": discount_period, "level": float(level),
                       "interval": interval, "model": chosen}
    return ModelPredictions(**common, model=chosen, rejected=rejected, customers=customers,
                            totals=totals, fit=fit, spend_fit=spend_fit,
                            reason=_why(table, chosen, rejected, period, fallback),
                            notes=tuple(notes), spend_model=spend_model,
                            spend_mean=flat[0] if flat else float("nan"), scores=scores)


# ---------------------------------------------------------------------------------------------
# subscriptions: the contractual model


def predict_subscriptions(transactions: pd.DataFrame, *, month: str, holdout_months: int,
                          margin: float | pd.Series = 1.0, horizon: int = 12,
                          discount_rate: float = 0.0, level: float = 0.95,
                          candidates: Sequence[str] = ("BG/NBD", "MBG/NBD", "Pareto/NBD",
                                                       "NBD")) -> ModelPredictions:
    """Forecast subscriptions (regular monthly charges) with the sBG model, like the others.

    The sBG model (`clvkit.models.subscriptions`) is fitted on the customers' months paid up
    to ``holdout_months`` before ``month`` and scored on the holdout against the naive
    baseline "every paying subscriber keeps paying"; then refitted on everything up to
    ``month``. Per customer: ``p_alive`` (1 while paying, 0 after a missed month: observed),
    ``purchases_next`` (probability of paying next month) and the ``horizon``-month CLV
    (monthly charge x discounted expected payments), with delta-method model ranges; the
    totals' prediction ranges add the renewals' binomial noise. The non-contractual
    ``candidates`` are listed as rejected: the data are subscriptions.

    Returns
    -------
    ModelPredictions
        As `predict_with_best_model`'s; ``model`` is ``"sBG"`` (None when it predicts the
        holdout no better than the naive baseline). Periods are months.
    """
    from .subscriptions import (
        expected_payments,
        fit_retention,
        payment_moments,
        subscription_summary,
    )

    period = pd.Period(month, "M")
    z = float(stats.norm.ppf((1 + level) / 2))
    cal = subscription_summary(transactions, last_month=period - holdout_months)
    paying = cal.loc[cal["active"]]
    tx_hold = transactions.loc[transactions["date"].dt.to_period("M").between(
        period - holdout_months + 1, period)]
    actual = (tx_hold.groupby("customer_id")["date"].apply(
        lambda d: d.dt.to_period("M").nunique()).reindex(paying.index).fillna(0)
        .to_numpy(float))
    cal_fit = fit_retention(cal)
    predicted = expected_payments(cal_fit, paying["months_paid"].to_numpy(),
                                  horizon=holdout_months)
    errors = (actual - predicted) ** 2
    naive = (actual - holdout_months) ** 2
    d, se = versus_naive(errors, naive)
    k = 2
    table = pd.DataFrame([
        {"model": "sBG", "kind": "contractual", "n_params": k, "n_customers": len(cal),
         "log_likelihood": cal_fit.log_likelihood, "aic": 2 * k - 2 * cal_fit.log_likelihood,
         "bic": k * np.log(len(cal)) - 2 * cal_fit.log_likelihood,
         "holdout_mae": float(np.mean(np.sqrt(errors))),
         "holdout_rmse": float(np.sqrt(errors.mean())), "vs_naive": d, "vs_naive_se": se,
         "degenerate": not cal_fit.success, "reason": "" if cal_fit.success else
         cal_fit.message},
        {"model": "Naive (keeps paying)", "kind": "baseline", "n_params": 0,
         "n_customers": len(paying), "holdout_mae": float(np.mean(np.sqrt(naive))),
         "holdout_rmse": float(np.sqrt(naive.mean())), "degenerate": False, "reason": ""},
        *({"model": m, "kind": "purchases", "degenerate": False, "reason": ""}
          for m in candidates)]).set_index("model")
    table.attrs = {"ranking": ["sBG"], "best": "sBG", "time_unit": "M", "fits": {}}
    rejected = {m: "the data are subscriptions (regular monthly charges): the contractual "
                "model applies" for m in candidates}
    common = {"comparison": table, "horizon": float(horizon), "horizon_unit": "M",
              "next_period": 1.0, "next_period_unit": "M", "discount_rate": float(discount_rate),
              "discount_period": "M", "margin": margin, "level": float(level),
              "interval": "delta", "n_replicates": 0, "seed": None}
    noise = "beyond noise" if abs(d) > 2 * se else "within noise"
    lead = (f"holdout: {len(paying):,} subscribers paying {holdout_months} month(s) before "
            f"the end; mean squared error against the naive baseline (everyone keeps paying) "
            f"{d:+.3f} ± {se:.3f} per subscriber, {noise}")
    if table.loc["sBG", "degenerate"] or not d < 0:
        rejected["sBG"] = "predicts the holdout no better than the naive baseline"
        return ModelPredictions(**common, model=None, rejected=rejected, customers=None,
                                totals=None, fit=None, spend_fit=None,
                                reason=f"No purchase model fits these data ({lead}).")
    full = subscription_summary(transactions, last_month=period)
    fit = fit_retention(full)
    margins = _margin_array(margin, full.index)
    on = full["active"].to_numpy()
    k_paid, charge = full["months_paid"].to_numpy(), full["charge"].to_numpy(float)

    def renew(f: Any) -> np.ndarray:
        return np.where(on, expected_payments(f, k_paid, horizon=1), 0.0)

    def value(f: Any) -> np.ndarray:
        return np.where(on, charge * expected_payments(f, k_paid, horizon=horizon,
                                                       discount_rate=discount_rate), 0.0)

    ones = np.ones(len(full))
    q, q_lo, q_hi, q_total = _delta_rows(fit, renew, ones, z, probability=True)
    v, v_lo, v_hi, v_total = _delta_rows(fit, value, ones, z)
    _, _, _, m_total = _delta_rows(fit, lambda f: value(f) * margins, ones, z)
    alive = pd.Series({"estimate": float(on.sum()), "std_error": 0.0,
                       "lower": float(on.sum()), "upper": float(on.sum())})
    # chance: how many of the horizon's months each subscriber goes on paying
    w1, w2 = payment_moments(fit, k_paid, horizon=horizon, discount_rate=discount_rate)
    var = np.where(on, charge**2 * np.maximum(w2 - w1**2, 0.0), 0.0)
    totals = pd.DataFrame([
        _with_noise(alive, 0.0, z).rename("alive"),
        _with_noise(q_total, float(q @ (1 - q)), z).rename("purchases_next"),
        _with_noise(v_total, float(var.sum()), z).rename("clv_revenue"),
        _with_noise(m_total, float(var @ margins**2), z).rename("clv_margin")])
    totals.index.name = "quantity"
    customers = pd.DataFrame({
        "p_alive": on.astype(float), "p_alive_lower": on.astype(float),
        "p_alive_upper": on.astype(float), "purchases_next": q, "purchases_next_lower": q_lo,
        "purchases_next_upper": q_hi, "clv_revenue": v, "clv_revenue_lower": v_lo,
        "clv_revenue_upper": v_hi, "clv_margin": v * margins,
        "clv_margin_lower": v_lo * margins, "clv_margin_upper": v_hi * margins},
        index=full.index)
    first_renewal = fit.params.beta / (fit.params.alpha + fit.params.beta)
    reason = (f"sBG is used: the data are subscriptions, and the contractual model predicts "
              f"the renewals better than the naive baseline ({lead}). {first_renewal:.1%} of "
              "new subscribers renew after their first month, and the rate rises with "
              "tenure (the most loyal stay).")
    return ModelPredictions(**common, model="sBG", rejected=rejected, customers=customers,
                            totals=totals, fit=fit, spend_fit=None, reason=reason,
                            notes=("The 12-month value is each paying subscriber's monthly "
                                   "charge (their median month) times the discounted "
                                   "expected payments; no spend model is needed.",))
