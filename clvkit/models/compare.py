"""Which model to trust: fit the purchase models side by side and compare them on one table.

`compare_models` fits BG/NBD, MBG/NBD and Pareto/NBD (and Gamma-Gamma for spend) on a
calibration summary and returns one row per model:

* **Likelihood.** Full-sample log-likelihood, number of parameters k, AIC = 2k - 2 LL and
  BIC = k ln(n) - 2 LL (n customers; for Gamma-Gamma the repeat buyers it is fitted on).
* **Goodness of fit.** A chi-square test on the calibration purchase-count histogram
  (Fader, Hardie & Lee 2005, Fig. 3): the observed number of customers with 0, 1, ...,
  K - 1 and K or more repeat purchases against the expected number, sum over customers of
  P(X(T_i) = x) for each customer's own age T_i (FHL 2005 eq. (8) for BG/NBD and MBG/NBD,
  quadrature for Pareto/NBD: `clvkit.models.probabilities.probability_of_purchases`).
  The counts are pooled so every
  expected count is >= 5 (K is shared by all models, so their statistics compare);
  degrees of freedom = K + 1 - 1 - k.
* **Holdout.** MAE and RMSE of the conditional expected purchases over the holdout period
  against the actual purchases (`clvkit.evaluation.holdout_predictions`), and, with
  `error_by_decile`, the error by decile of predicted value.
* **Spend.** The Gamma-Gamma row has its likelihood, AIC and BIC and the mean spend check:
  the model's population mean p gamma / (q - 1) beside the actual mean of the repeat
  buyers' mean spend (equal in expectation under the model); ``reason`` notes a gap over
  10% and a spend-frequency correlation (`clvkit.evaluation.gamma_gamma_check`) without
  marking the fit degenerate.
* **Degenerate fits.** ``degenerate`` is True, with a ``reason``, when the fit did not
  converge or is degenerate (`ConvergenceWarning` / ``success=False``: a parameter at an
  optimiser bound, running off to 0 or infinity, or on a flat ridge), when a parameter
  sits at the optimiser bound e^+-20, or when P(alive) > 0.99 for more than 99% of the
  customers (the model then says nobody ever leaves: BG/NBD with a ~ 0 on Online Retail).

The table's ``attrs["best"]`` is the model to use, ``attrs["best_reason"]`` says why,
``attrs["ranking"]`` lists the non-degenerate purchase models best first and
``attrs["fits"]`` holds the fitted results by model name. The rule: among the
non-degenerate purchase models, those whose holdout squared errors are within noise of the
lowest holdout RMSE (mean paired difference of the customers' squared errors less than two
standard errors above it) are tied, and the tied model with the lowest BIC is used; without
a holdout, the lowest BIC. Squared error, not absolute error: the predictions are expected
purchases (means), and MAE is minimised by the median of the holdout count, which for
skewed counts lies below the mean, so MAE rewards models that under-predict (measured on
3,000 customers simulated from BG/NBD: the true parameters had a higher holdout MAE than
the Pareto/NBD fit, which under-predicted the holdout purchases by 5%).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._validate import check_one_of
from ..errors import ClvError, ConvergenceError, DataValidationError
from ..evaluation import error_metrics, gamma_gamma_check, holdout_predictions
from ._base import _LOG_BOUND, ConvergenceWarning, FittedModel
from .bgnbd import BGNBD
from .gamma_gamma import GammaGamma
from .mbgnbd import MBGNBD
from .pareto_nbd import ParetoNBD
from .probabilities import probability_of_purchases

__all__ = ["compare_models", "purchase_count_histogram", "error_by_decile", "degenerate_reasons",
           "spend_rows", "MODELS"]

#: The purchase models `compare_models` knows, by the name used in ``models=``.
MODELS = {"BGNBD": BGNBD, "MBGNBD": MBGNBD, "ParetoNBD": ParetoNBD}
#: P(alive) above which a customer counts as "certainly alive" ...
_ALIVE = 0.99
#: ... and the share of such customers above which a fit is degenerate.
_ALIVE_SHARE = 0.99
#: Smallest expected count of a histogram cell in the chi-square test.
_MIN_EXPECTED = 5.0
#: Distinct ages per vectorised call of the purchase-count probabilities ...
_AGE_BLOCK = 256
#: ... and purchase counts per block while looking for the pooling point.
_COUNT_BLOCK = 8
#: Gauss-Legendre nodes of the Pareto/NBD lifetime integral.
_NODES = 128
_HOLDOUT = ("frequency_holdout", "duration_holdout")
#: Relative gap between the Gamma-Gamma mean spend p gamma / (q - 1) and the actual mean of
#: the repeat buyers' mean spend beyond which the spend row notes it (under the model the two
#: agree in expectation).
_SPEND_GAP = 0.1


# ---------------------------------------------------------------------------------------------
# P(X(t) = x)


def _expected_counts(fit: FittedModel, T: np.ndarray, max_n: int,  # noqa: N803
                     pooling: bool = False) -> np.ndarray:
    """Expected number of customers with 0 .. max_n - 1 repeat purchases, and the rest.

    One vectorised call for every distinct age (in blocks of ages, to bound memory). With
    ``pooling`` the counts are computed in blocks of purchase counts and stop once a
    count's expected number falls below 5 (or the rest does): `_pool` never looks past
    that point, so the heavy buyers' long tail (x up to hundreds) costs nothing.
    """
    ages, counts = np.unique(T, return_counts=True)
    pos = ages > 0
    ages, counts, at_zero = ages[pos], counts[pos], counts[~pos].sum()
    parts: list[np.ndarray] = []
    step = _COUNT_BLOCK if pooling else max_n
    for first in range(0, max_n, step):
        n = np.arange(first, min(first + step, max_n), dtype=float)
        block = np.zeros(n.size)
        for start in range(0, ages.size, _AGE_BLOCK):
            sl = slice(start, start + _AGE_BLOCK)
            block += counts[sl] @ probability_of_purchases(fit, t=ages[sl, None],
                                                           n=n[None, :])
        if first == 0:
            block[0] += at_zero  # age 0: no repeat purchase for sure
        parts.append(block)
        done = np.concatenate(parts)
        if pooling and (not np.all(np.isfinite(done)) or done.min() < _MIN_EXPECTED
                        or len(T) - done.sum() < _MIN_EXPECTED):
            break
    expected = np.concatenate(parts)
    return np.append(expected, len(T) - expected.sum())


def _pool(expected: np.ndarray) -> int:
    """Largest K such that the expected counts of 0 .. K - 1 and of K+ are all >= 5."""
    n_total = expected.sum()
    best = 1
    for k in range(1, len(expected)):
        if expected[:k].min() >= _MIN_EXPECTED and n_total - expected[:k].sum() >= _MIN_EXPECTED:
            best = k
        else:
            break
    return best


def purchase_count_histogram(data: pd.DataFrame, *, fits: Mapping[str, FittedModel],
                             max_count: int | None = None) -> pd.DataFrame:
    """Actual vs expected number of customers by calibration repeat purchases (FHL 2005, Fig. 3).

    Parameters
    ----------
    data : DataFrame
        Calibration summary with ``frequency`` and ``T`` (in the fits' time unit).
    fits : mapping of str to fitted BG/NBD, MBG/NBD or Pareto/NBD
        The models to show, by label.
    max_count : int, optional
        Pool counts >= ``max_count`` in the last row. Default: the largest value for which
        every expected count of every model is >= 5 (as the chi-square test needs).

    Returns
    -------
    DataFrame
        Index ``frequency`` labels ``"0"``, ``"1"``, ..., ``"K+"``; columns ``actual`` and
        one expected count per model. ``attrs["max_count"]`` is K.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> s = pd.DataFrame({"frequency": [0, 0, 1, 3], "T": [39.0, 39.0, 39.0, 20.0]})
    >>> purchase_count_histogram(s, fits={"BG/NBD": fit}, max_count=2).round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
               actual  BG/NBD
    frequency
    0               2    2.38
    1               1    0.78
    2+              1    0.84
    """
    if not fits:
        raise ClvError("`fits` is empty: pass at least one fitted purchase model")
    for col in ("frequency", "T"):
        if col not in data.columns:
            raise DataValidationError(f"`data` lacks column `{col}`; build it with "
                                      "clvkit.summary.rfm_summary")
    x = data["frequency"].to_numpy(dtype=float)
    T = data["T"].to_numpy(dtype=float)  # noqa: N806
    top = int(max(x.max() + 2, 10))
    if max_count is None:
        full = {name: _expected_counts(f, T, top, pooling=True) for name, f in fits.items()}
        # pooled for the models whose expected counts are finite (a degenerate fit's may not be)
        k = min((_pool(e) for e in full.values() if np.isfinite(e).all()), default=1)
    else:
        if not isinstance(max_count, int | np.integer) or max_count < 1:
            raise ClvError(f"`max_count` must be an integer >= 1, got {max_count!r}")
        k = int(max_count)
    table = {"actual": np.append(np.bincount(np.minimum(x, k).astype(int), minlength=k + 1)[:k],
                                 int((x >= k).sum()))}
    for name, f in fits.items():
        if max_count is None:  # the counts below k are those computed to choose k
            table[name] = np.append(full[name][:k], len(T) - full[name][:k].sum())
        else:
            table[name] = _expected_counts(f, T, k)
    labels = [str(i) for i in range(k)] + [f"{k}+"]
    out = pd.DataFrame(table, index=pd.Index(labels, name="frequency"))
    out.attrs = {"max_count": k}
    return out


def _chi_square(actual: np.ndarray, expected: np.ndarray,
                n_params: int) -> tuple[float, int, float]:
    stat = float(np.sum((actual - expected) ** 2 / expected))
    dof = len(actual) - 1 - n_params
    p = float(stats.chi2.sf(stat, dof)) if dof > 0 else float("nan")
    return stat, dof, p


# ---------------------------------------------------------------------------------------------
# holdout errors


def _holdout(calibration: pd.DataFrame, holdout: pd.DataFrame | None) -> pd.DataFrame | None:
    """The calibration summary with the holdout columns, or None when there is no holdout."""
    if holdout is None:
        return calibration if all(c in calibration.columns for c in _HOLDOUT) else None
    if not isinstance(holdout, pd.DataFrame):
        raise DataValidationError(f"`holdout` must be a DataFrame with columns {list(_HOLDOUT)}"
                                  f", got {type(holdout).__name__}")
    missing = [c for c in _HOLDOUT if c not in holdout.columns]
    if missing:
        raise DataValidationError(f"`holdout` lacks column(s) {missing}; build it with "
                                  "rfm_summary(..., calibration_end=...)")
    absent = calibration.index.difference(holdout.index)
    if len(absent):
        from ..errors import example_rows

        raise DataValidationError(f"`holdout` has no row for {example_rows(absent)} of the "
                                  "calibration customers; pass a holdout row per customer")
    base = calibration.drop(columns=[c for c in _HOLDOUT if c in calibration.columns])
    return base.join(holdout[list(_HOLDOUT)])


def error_by_decile(data: pd.DataFrame, *, fits: Mapping[str, FittedModel]) -> pd.DataFrame:
    """Holdout error by decile of predicted purchases, per model.

    Customers are ranked by the model's expected holdout purchases (ties broken by order)
    and cut into ten groups of equal size; decile 10 holds the highest predictions.

    Parameters
    ----------
    data : DataFrame
        Calibration/holdout summary (``frequency, recency, T, frequency_holdout,
        duration_holdout``).
    fits : mapping of str to fitted purchase models
        By label, e.g. ``compare_models(...).attrs["fits"]``.

    Returns
    -------
    DataFrame
        Index (``model``, ``decile``); columns ``n_customers``, ``predicted`` and ``actual``
        (mean holdout purchases per customer), ``error`` (actual - predicted) and ``mae``.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> s = pd.DataFrame({"frequency": np.arange(20) % 5, "recency": 30.0, "T": 39.0,
    ...                   "frequency_holdout": np.arange(20) % 3, "duration_holdout": 39.0})
    >>> s.loc[s["frequency"] == 0, "recency"] = 0.0
    >>> t = error_by_decile(s, fits={"BG/NBD": fit})
    >>> t.index.names, int(t["n_customers"].sum())
    (FrozenList(['model', 'decile']), 20)
    """
    missing = [c for c in _HOLDOUT if c not in data.columns]
    if missing:
        raise DataValidationError(f"`data` lacks holdout column(s) {missing}; build it with "
                                  "rfm_summary(..., calibration_end=...)")
    parts = []
    for name, fit in fits.items():
        pred = holdout_predictions(data, fit=fit)
        rank = pred["predicted"].rank(method="first")
        pred["decile"] = pd.qcut(rank, 10, labels=range(1, 11)).astype(int)
        pred["abs_error"] = (pred["actual"] - pred["predicted"]).abs()
        g = pred.groupby("decile")
        part = pd.DataFrame({"n_customers": g.size(), "predicted": g["predicted"].mean(),
                             "actual": g["actual"].mean().astype(float),
                             "mae": g["abs_error"].mean()})
        part["error"] = part["actual"] - part["predicted"]
        part.index = pd.MultiIndex.from_product([[name], part.index], names=["model", "decile"])
        parts.append(part[["n_customers", "predicted", "actual", "error", "mae"]])
    return pd.concat(parts)


# ---------------------------------------------------------------------------------------------
# the comparison


def _fit_quietly(model: Any, data: pd.DataFrame, time_unit: str | None) -> tuple[Any, str]:
    """Fit with ``strict=False``; return the result (or None) and what went wrong."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            fit = model.fit(data, time_unit=time_unit, strict=False)
        except ConvergenceError as exc:
            return None, f"the fit raised ConvergenceError: {exc}"
    problems = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    return fit, "; ".join(problems)


def degenerate_reasons(fit: FittedModel, warned: str = "",
                       p_alive: pd.Series | None = None) -> list[str]:
    """Why a fit is degenerate (empty when it is not): the criteria of `compare_models`.

    Parameters
    ----------
    fit : FittedModel
        A fitted result.
    warned : str, default ""
        The `ConvergenceWarning` text issued by the fit (``strict=False``), if any.
    p_alive : Series, optional
        The fit's P(alive) of the customers (purchase models): more than 99% of them above
        0.99 means the model sees no dropout.

    Returns
    -------
    list of str
        One reason per failed criterion.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.8, alpha=10.0, a=1e-6, b=9000.0, time_unit="W")
    >>> degenerate_reasons(fit, p_alive=pd.Series([1.0, 1.0, 0.999]))
    ['P(alive) > 0.99 for 100.0% of customers (the model sees no dropout)']
    """
    reasons = []
    if warned or not fit.success:
        reasons.append(f"did not converge or degenerate: {fit.message}")
    values = dataclasses.asdict(fit.params)
    at_bound = [k for k, v in values.items() if abs(np.log(v)) >= _LOG_BOUND - 1e-3]
    if at_bound:
        reasons.append(f"parameter(s) at the optimiser bound e^+-{_LOG_BOUND:g}: "
                       + ", ".join(f"{k}={values[k]:.3g}" for k in at_bound))
    if p_alive is not None:
        share = float((p_alive > _ALIVE).mean())
        if share > _ALIVE_SHARE:
            reasons.append(f"P(alive) > {_ALIVE} for {share:.1%} of customers (the model sees "
                           "no dropout)")
    return reasons


def _row(name: str, fit: FittedModel, n_obs: float) -> dict[str, Any]:
    k = len(dataclasses.fields(fit.params))
    ll = fit.log_likelihood
    return {"model": name, "kind": "purchases", "n_params": k, "n_customers": n_obs,
            "log_likelihood": ll, "aic": 2 * k - 2 * ll, "bic": k * np.log(n_obs) - 2 * ll,
            "params": ", ".join(f"{a}={v:.4g}" for a, v in dataclasses.asdict(fit.params).items())}


def compare_models(calibration: pd.DataFrame, holdout: pd.DataFrame | None = None, *,
                   models: Sequence[str] = ("BGNBD", "MBGNBD", "ParetoNBD"),
                   spend: bool = True, time_unit: str | None = None,
                   max_count: int | None = None) -> pd.DataFrame:
    """Fit the purchase models (and Gamma-Gamma) and compare them on one table.

    See the module notes for every column's definition.

    Parameters
    ----------
    calibration : DataFrame
        RFM summary (`clvkit.summary.rfm_summary`) with ``frequency``, ``recency``, ``T``;
        ``monetary_value`` for the spend model; with ``calibration_end=...`` it also has
        the holdout columns ``frequency_holdout`` and ``duration_holdout``.
    holdout : DataFrame, optional
        ``frequency_holdout`` and ``duration_holdout`` per customer (same index), if not
        already columns of ``calibration``. Without either, the holdout columns are NaN and
        the best model is chosen by BIC.
    models : sequence of {"BGNBD", "MBGNBD", "ParetoNBD"}
        Purchase models to fit.
    spend : bool, default True
        Also fit Gamma-Gamma on ``monetary_value`` (skipped with a note in
        ``attrs["notes"]`` when the column is missing).
    time_unit : {"D", "W", "M", "Y"}, optional
        Unit of ``recency`` and ``T`` if ``calibration.attrs`` has none.
    max_count : int, optional
        Pool repeat purchases >= ``max_count`` in the chi-square test (default: pooled so
        every expected count is >= 5).

    Returns
    -------
    DataFrame
        One row per model (index ``model``): ``kind``, ``n_params``, ``n_customers``,
        ``log_likelihood``, ``aic``, ``bic``, ``chi2``, ``chi2_dof``, ``chi2_p``,
        ``holdout_mae``, ``holdout_rmse``, ``mean_spend_model``, ``mean_spend_actual``,
        ``degenerate``, ``reason``, ``params``. ``attrs``: ``best`` (model name or None),
        ``best_reason``, ``ranking``, ``max_count``, ``time_unit``, ``fits`` (fitted
        results by name),
        ``notes``.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> table = compare_models(cdnow_summary(), spend=False)
    >>> table[["log_likelihood", "bic"]].round(1)  # doctest: +NORMALIZE_WHITESPACE
                log_likelihood      bic
    model
    BG/NBD             -9582.4  19195.9
    MBG/NBD            -9582.1  19195.3
    Pareto/NBD         -9595.0  19221.0
    >>> table.attrs["best"], table.attrs["best_reason"]
    ('MBG/NBD', 'lowest BIC among the non-degenerate models (no holdout)')
    """
    if not isinstance(calibration, pd.DataFrame):
        raise DataValidationError(f"`calibration` must be an RFM summary DataFrame, got "
                                  f"{type(calibration).__name__}")
    if not models:
        raise ClvError("`models` is empty: name at least one of " + ", ".join(MODELS))
    for m in models:
        check_one_of("models", m, MODELS)
    with_holdout = _holdout(calibration, holdout)
    rows, fits, notes, errors = [], {}, [], {}
    for key in models:
        fit, warned = _fit_quietly(MODELS[key](), calibration, time_unit)
        label = MODELS[key].result_type.model_name
        if fit is None:
            rows.append({"model": label, "kind": "purchases", "degenerate": True,
                         "reason": warned})
            continue
        fits[label] = fit
        row = _row(label, fit, fit.n_customers)
        with np.errstate(all="ignore"):  # a degenerate fit may give NaN: reported below
            pa = fit.p_alive(calibration)
            pred = (None if with_holdout is None
                    else holdout_predictions(with_holdout, fit=fit))
        reasons = degenerate_reasons(fit, warned, pa)
        if pred is not None:
            bad = ~np.isfinite(pred["predicted"].to_numpy())
            if bad.any():  # a degenerate estimate (e.g. r ~ 1e7) can overflow the formulas
                reasons.append(f"its expected holdout purchases are not finite for "
                               f"{int(bad.sum()):,} of {bad.size:,} customers")
            else:
                m = error_metrics(pred)
                errors[label] = (pred["actual"].to_numpy(float)
                                 - pred["predicted"].to_numpy()) ** 2
                row.update(holdout_mae=m.mae, holdout_rmse=m.rmse)
        row.update(degenerate=bool(reasons), reason="; ".join(reasons))
        rows.append(row)
    with np.errstate(all="ignore"):
        hist = (purchase_count_histogram(calibration, fits=fits, max_count=max_count)
                if fits else None)
    if hist is not None:
        for row in rows:
            if row["model"] in fits:
                stat, dof, p = _chi_square(hist["actual"].to_numpy(float),
                                           hist[row["model"]].to_numpy(), row["n_params"])
                row.update(chi2=stat, chi2_dof=dof, chi2_p=p)
    if spend and "monetary_value" not in calibration.columns:
        notes.append("Gamma-Gamma not fitted: the summary has no `monetary_value` column")
    elif spend:
        rows.append(_spend_row(calibration, time_unit, fits))
    table = pd.DataFrame(rows).set_index("model")
    columns = ["kind", "n_params", "n_customers", "log_likelihood", "aic", "bic", "chi2",
               "chi2_dof", "chi2_p", "holdout_mae", "holdout_rmse", "mean_spend_model",
               "mean_spend_actual", "degenerate", "reason", "params"]
    table = table.reindex(columns=columns)
    table["degenerate"] = table["degenerate"].astype(bool)
    table["reason"] = table["reason"].fillna("")
    ranking, why = _ranking(table, errors if with_holdout is not None else None)
    table.attrs = {"best": ranking[0] if ranking else None, "best_reason": why,
                   "ranking": ranking,
                   "max_count": None if hist is None else hist.attrs["max_count"],
                   "time_unit": next((f.time_unit for f in fits.values()), time_unit),
                   "fits": fits, "notes": notes}
    return table


def spend_rows(summary: pd.DataFrame) -> np.ndarray:
    """True for the customers the spend model may use (a repeat buyer needs a mean spend > 0).

    A repeat buyer whose repeat purchases average 0 or less (a $0 purchase, as one CDNOW
    customer has) is left out of the spend model only: the purchase models keep them.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1, 2], "monetary_value": [0.0, 0.0, 12.5]})
    >>> spend_rows(s).tolist()
    [True, False, True]
    """
    x = summary["frequency"].to_numpy(dtype=float)
    m = summary["monetary_value"].to_numpy(dtype=float)
    return ~((x > 0) & ~(m > 0))


def _spend_row(calibration: pd.DataFrame, time_unit: str | None,
               fits: dict[str, FittedModel]) -> dict[str, Any]:
    keep = spend_rows(calibration)
    left_out = int((~keep).sum())
    calibration = calibration.loc[keep]
    gg, warned = _fit_quietly(GammaGamma(), calibration, time_unit)
    if gg is None:
        return {"model": "Gamma-Gamma", "kind": "spend", "degenerate": True, "reason": warned}
    fits[gg.model_name] = gg
    row = _row(gg.model_name, gg, gg.n_customers)
    repeat = calibration[calibration["frequency"] > 0]
    reasons = degenerate_reasons(gg, warned, None)
    check = gamma_gamma_check(calibration)
    actual = float(repeat["monetary_value"].mean())
    notes = [] if check.ok else [f"spend and frequency correlated (r = {check.correlation:.2f})"]
    if left_out:
        notes.append(f"{left_out:,} repeat buyer(s) with a mean spend of 0 or less left out of "
                     "the spend model")
    gap = gg.mean_spend / actual - 1
    if abs(gap) > _SPEND_GAP:
        notes.append(f"model mean spend {gg.mean_spend:.4g} is {gap:+.0%} off the actual mean "
                     f"{actual:.4g} of the repeat buyers")
    row.update(kind="spend", mean_spend_model=gg.mean_spend, mean_spend_actual=actual,
               degenerate=bool(reasons), reason="; ".join(reasons + notes))
    return row


def _ranking(table: pd.DataFrame,
             errors: Mapping[str, np.ndarray] | None) -> tuple[list[str], str]:
    """Non-degenerate purchase models, best first, and why the first is best."""
    ok = table[(table["kind"] == "purchases") & ~table["degenerate"]]
    if ok.empty:
        return [], ("every purchase model is degenerate (see `reason`): no purchase model "
                    "fits these data; use rule-based views instead")
    if errors is None:
        ranking = list(ok["bic"].sort_values(kind="mergesort").index)
        return ranking, "lowest BIC among the non-degenerate models (no holdout)"
    rmse = ok["holdout_rmse"].sort_values(kind="mergesort")
    lowest = str(rmse.index[0])
    tied = []
    for name in rmse.index:
        diff = errors[name] - errors[lowest]
        noise = 2 * diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else 0.0
        if diff.mean() <= noise:
            tied.append(str(name))
    ranking = list(ok.loc[tied, "bic"].sort_values(kind="mergesort").index)
    ranking += [str(m) for m in rmse.index if m not in tied]
    best = ranking[0]
    if len(tied) == 1:
        why = ("lowest holdout RMSE among the non-degenerate models, lower than the others' "
               "beyond noise")
    elif best == lowest:
        why = ("lowest holdout RMSE and lowest BIC of the non-degenerate models whose holdout "
               "errors are within noise of each other (" + ", ".join(tied) + ")")
    else:
        why = (f"holdout RMSE {rmse[best]:.4g}, within noise of the lowest ({lowest} "
               f"{rmse[lowest]:.4g}), and the lowest BIC of those models ("
               + ", ".join(tied) + ")")
    return ranking, why
