"""Parameter uncertainty of every fitted model: standard errors and a customer bootstrap.

Standard errors
    The observed information is the Hessian of the negative log-likelihood at the estimate.
    It is computed in log-parameter space (where the models are optimised) by central
    differences of the models' *analytic* gradients, inverted, and carried to the natural
    scale with the delta method, ``Cov(p) = diag(p) Cov(log p) diag(p)``. The 95% interval
    is ``exp(log p +- 1.96 se(log p))``: it stays positive, as every parameter must. This is
    what lifetimes prints in its ``summary`` (its ``variance_matrix_`` is the same delta
    method) apart from its interval, which is symmetric on the natural scale and can go
    below zero.

Bootstrap
    A replicate resamples the ``N`` customers with replacement. Customers with the same
    data are one compressed row with a count, so resampling customers is drawing new
    counts ``Multinomial(N, counts / N)`` for the compressed rows (Efron & Tibshirani 1993,
    ch. 6), never expanding the data. Each replicate is refitted from the point estimate
    by Newton steps with the full-sample information matrix (the replicate's optimum is
    within a few standard errors of the estimate, where that matrix is accurate), until
    the step is below 1e-6 standard errors of every log parameter; a replicate that does
    not converge so is refitted with L-BFGS-B as in ``fit``. Every replicate draws from its own
    ``numpy.random.SeedSequence`` child of ``seed``: the same seed gives identical
    replicates whatever ``n_jobs``.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import ClvError
from ._core import ConvergenceWarning, one_blas_thread
from .intervals import predict_interval

__all__ = ["covariance", "summary", "bootstrap", "BootstrapResult", "resample"]

# A fit here is any `clvkit.models._base.FittedModel` (annotated `Any`): the fitted results
# build on this module, so it imports none of them (tests/test_models_imports.py).

#: Step (in log-parameter space) of the central differences of the analytic gradient.
#: A bootstrap replicate has converged when every Newton step is below this many standard
#: errors of the log parameter (the remaining error shrinks ~50x per step after the first).
_STEP_TOL = 1e-6
_MAX_NEWTON = 30


def _fit_data(fit: Any) -> Any:
    data = getattr(fit, "_fit_data", None)
    if data is None:
        raise ClvError(
            f"this {fit.model_name} result was not fitted here (built with from_params or "
            "without its data), so it has no likelihood to measure uncertainty with; fit the "
            "model to the data with `.fit(...)` first"
        )
    return data


def _theta(fit: Any) -> np.ndarray:
    return np.log(np.asarray(dataclasses.astuple(fit.params), dtype=float))


def _names(fit: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(fit.params)]


def log_information(fit: Any) -> np.ndarray:
    """Observed information in log-parameter space: Hessian of the total negative LL.

    Central differences (step 1e-4) of the model's analytic gradient of the mean negative
    log-likelihood, symmetrised and multiplied by the number of customers. With a
    ``penalizer`` the penalty (the function that was maximised) is included.

    Parameters
    ----------
    fit : FittedModel
        A result returned by a model's ``fit``.

    Returns
    -------
    ndarray
        k x k matrix, k the number of parameters.
    """
    fd = _fit_data(fit)
    return fd.model._hessian(_theta(fit), fd.columns, fd.weights) * fd.weights.sum()


def _log_covariance(fit: Any) -> np.ndarray:
    info = log_information(fit)
    eig = np.linalg.eigvalsh(info)
    if not np.all(np.isfinite(info)) or eig.min() <= 1e-12 * max(eig.max(), 1e-300):
        raise ClvError(
            f"the {fit.model_name} likelihood is flat or not at a maximum at the estimate "
            f"(information matrix eigenvalues {np.array2string(eig, precision=3)}): standard "
            "errors are undefined. Check `fit.message` for a degenerate parameter; use "
            "`fit.bootstrap()` or a small `penalizer`"
        )
    return np.linalg.inv(info)


def covariance(fit: Any) -> pd.DataFrame:
    """Return the covariance matrix of the parameter estimates (natural scale).

    The inverse observed information in log-parameter space carried to the parameters by the
    delta method: ``Cov(p_i, p_j) = p_i p_j Cov(log p_i, log p_j)``.

    Parameters
    ----------
    fit : FittedModel
        A result returned by a model's ``fit``.

    Returns
    -------
    DataFrame
        Parameters x parameters.

    Raises
    ------
    ClvError
        The result was not fitted (``from_params``) or the information matrix is singular.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD
    >>> cov = BGNBD().fit(cdnow_summary()).covariance()
    >>> np.sqrt(np.diag(cov)).round(4).tolist()
    [0.0126, 0.3782, 0.1857, 0.7053]
    """
    p = np.exp(_theta(fit))
    cov = _log_covariance(fit) * np.outer(p, p)
    names = _names(fit)
    return pd.DataFrame(cov, index=names, columns=names)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ClvError(f"`level` must be between 0 and 1 (e.g. 0.95), got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2))


def summary(fit: Any, *, level: float = 0.95) -> pd.DataFrame:
    """Return estimate, standard error and interval of every parameter.

    The interval is ``exp(log p -+ z se(log p))`` with ``z`` the normal quantile of
    ``level`` (1.96 for 95%): computed on the log scale where the likelihood is closer to
    quadratic, and positive like the parameters.

    Parameters
    ----------
    fit : FittedModel
        A result returned by a model's ``fit``.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    DataFrame
        Indexed by parameter: ``estimate``, ``std_error`` (delta method), ``lower``,
        ``upper``; ``attrs["level"]`` and ``attrs["method"]``.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD
    >>> BGNBD().fit(cdnow_summary()).summary().round(3)
           estimate  std_error  lower  upper
    r         0.243      0.013  0.219  0.268
    alpha     4.414      0.378  3.731  5.221
    a         0.793      0.186  0.501  1.255
    b         2.426      0.705  1.372  4.289
    """
    z = _z(level)
    theta = _theta(fit)
    se_log = np.sqrt(np.diag(_log_covariance(fit)))
    p = np.exp(theta)
    out = pd.DataFrame({"estimate": p, "std_error": p * se_log,
                        "lower": np.exp(theta - z * se_log), "upper": np.exp(theta + z * se_log)},
                       index=pd.Index(_names(fit), name="parameter"))
    out.index.name = None
    out.attrs = {"level": level, "method": "observed information (delta method), "
                 "log-scale interval", "model": fit.model_name}
    return out


# ---------------------------------------------------------------------------------------------
# bootstrap


def _counts(what: str, w: np.ndarray) -> int:
    total = w.sum()
    if not np.allclose(w, np.round(w)) or total < 1:
        raise ClvError(
            f"the {what} fit has non-integer weights (total {total:.6g}); the "
            "customer bootstrap resamples whole customers, so weights must be counts"
        )
    return int(round(total))


def _refit(target: Any, w: np.ndarray, theta0: np.ndarray,
           inv_info: np.ndarray) -> tuple[np.ndarray, bool]:
    """Maximise the reweighted likelihood from ``theta0``: Newton steps, else L-BFGS-B."""
    tol = _STEP_TOL * np.sqrt(np.diag(inv_info) / w.sum())  # standard errors of log p
    lower, upper = np.array(target.bounds(theta0.size), dtype=float).T
    theta = theta0.copy()
    for _ in range(_MAX_NEWTON):
        f, g = target.refit_objective(theta, w)
        if not np.isfinite(f):
            break
        step = -inv_info @ g
        theta = np.clip(theta + step, lower, upper)
        if np.all(np.abs(step) < tol):
            return theta, True
    res = optimize.minimize(
        target.refit_objective, theta0, args=(w,), jac=True, method="L-BFGS-B",
        bounds=target.bounds(theta0.size),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20})
    return res.x, target.is_maximum(res.x, w)


def _replicates(target: Any, theta0: np.ndarray, inv_info: np.ndarray,
                seeds: list[np.random.SeedSequence]) -> tuple[np.ndarray, np.ndarray]:
    w = target.weights
    n_customers = int(round(w.sum()))
    prob = w / w.sum()
    thetas = np.empty((len(seeds), theta0.size))
    ok = np.empty(len(seeds), dtype=bool)
    with one_blas_thread():
        for i, seq in enumerate(seeds):
            wb = np.random.default_rng(seq).multinomial(n_customers, prob).astype(float)
            thetas[i], ok[i] = _refit(target, wb, theta0, inv_info)
    return thetas, ok


def resample(target: Any, *, theta0: np.ndarray, inv_info: np.ndarray, n: Any, seed: Any,
             n_jobs: Any, what: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """Refit ``target`` on ``n`` customer resamples: the replicate estimates (optimiser scale).

    The one bootstrap loop of every fit, with and without covariates. ``target`` is the
    likelihood of the fit on its compressed rows: ``weights`` (customers per row, whole
    numbers), ``refit_objective(theta, weights)`` (mean negative log-likelihood and
    gradient), ``is_maximum(theta, weights)`` and ``bounds(k)``. ``theta0`` is the
    estimate and ``inv_info`` the inverse Hessian of the mean objective there (the Newton
    steps' matrix). Returns the replicates (n x k), their convergence flags and the seed
    recorded (the entropy drawn when ``seed`` is None).

    Raises
    ------
    ClvError
        ``n``, ``seed`` or ``n_jobs`` invalid (`bootstrap`); weights that are not counts.
    """
    _check_bootstrap_options(n=n, seed=seed, n_jobs=n_jobs)
    _counts(what, target.weights)
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    seeds = seq.spawn(int(n))
    args = (target, theta0, inv_info)
    if n_jobs == 1 or n < 2:
        thetas, ok = _replicates(*args, seeds)
    else:
        chunks = [list(c) for c in np.array_split(np.arange(int(n)), int(n_jobs)) if len(c)]
        with ProcessPoolExecutor(max_workers=len(chunks)) as pool:
            parts = list(pool.map(_replicates, *zip(*[(*args, [seeds[i] for i in c])
                                                      for c in chunks], strict=True)))
        thetas = np.vstack([p[0] for p in parts])
        ok = np.concatenate([p[1] for p in parts])
    if not ok.all():
        warnings.warn(f"{int((~ok).sum())} of {len(ok)} bootstrap replicates of the "
                      f"{what} fit did not converge (see `.converged`); intervals "
                      "include them", ConvergenceWarning, stacklevel=4)
    return thetas, ok, seq.entropy if seed is None else seed


@dataclass(frozen=True)
class BootstrapResult:
    """Parameter replicates of a customer bootstrap (frozen); see `bootstrap`.

    Attributes
    ----------
    fit : FittedModel
        The point estimate the replicates were computed around.
    replicates : DataFrame
        One row per replicate, one column per estimate (``fit.estimates()``: parameters on
        the natural scale, covariate coefficients as they are).
    converged : ndarray of bool
        Whether each replicate's refit converged.
    seed : int or None
        The seed the replicates were drawn with.
    """

    fit: Any
    replicates: pd.DataFrame
    converged: np.ndarray
    seed: Any

    @property
    def n(self) -> int:
        """Number of replicates."""
        return len(self.replicates)

    def covariance(self) -> pd.DataFrame:
        """Covariance of the parameter replicates."""
        return self.replicates.cov()

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Estimate, bootstrap standard error and percentile interval of every parameter.

        Parameters
        ----------
        level : float, default 0.95
            Coverage of the percentile interval.

        Returns
        -------
        DataFrame
            Indexed by parameter: ``estimate`` (the fit), ``std_error`` (sd of the
            replicates), ``lower``, ``upper``.
        """
        _z(level)
        q = self.replicates.quantile([(1 - level) / 2, (1 + level) / 2])
        out = pd.DataFrame({"estimate": self.fit.estimates().to_numpy(),
                            "std_error": self.replicates.std(ddof=1).to_numpy(),
                            "lower": q.iloc[0].to_numpy(), "upper": q.iloc[1].to_numpy()},
                           index=self.replicates.columns)
        out.attrs = {"level": level, "method": f"customer bootstrap, {self.n} replicates, "
                     "percentile interval", "model": self.fit.model_name}
        return out

    def fits(self) -> list[Any]:
        """The replicates as fitted results (to predict with), in order."""
        return [self.fit.with_estimates(row) for row in self.replicates.to_numpy()]

    def predict(self, method: str, data: pd.DataFrame, *, level: float = 0.95,
                **kwargs: Any) -> Any:
        """Any per-customer prediction with intervals; see `clvkit.models.intervals`.

        Returns a `clvkit.models.intervals.PredictionInterval` (per customer and total).
        """
        return predict_interval(self, method, data, level=level, **kwargs)

    def p_alive(self, data: pd.DataFrame, *, level: float = 0.95, **kwargs: Any) -> Any:
        """P(alive) per customer with intervals, and the expected number alive in total.

        Examples
        --------
        >>> from clvkit.datasets import cdnow_summary
        >>> from clvkit.models import BGNBD
        >>> s = cdnow_summary()
        >>> boot = BGNBD().fit(s).bootstrap(n=100, seed=1)
        >>> boot.p_alive(s).customers.loc[["1", "2"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                     p_alive  lower  upper
        customer_id
        1              0.727  0.698  0.754
        2              0.212  0.171  0.246
        """
        return self.predict("p_alive", data, level=level, **kwargs)

    def conditional_expected_purchases(self, data: pd.DataFrame, *, t: Any,
                                       level: float = 0.95, **kwargs: Any) -> Any:
        """Expected purchases in the next ``t`` with intervals, per customer and in total.

        Examples
        --------
        >>> from clvkit.datasets import cdnow_summary
        >>> from clvkit.models import BGNBD
        >>> s = cdnow_summary()
        >>> boot = BGNBD().fit(s).bootstrap(n=100, seed=1)
        >>> print(boot.conditional_expected_purchases(s, t=39))  # doctest: +ELLIPSIS
        total 1,... (95% interval ... to ...; 100 bootstrap replicates) over 2,357 customers
        """
        return self.predict("conditional_expected_purchases", data, level=level, t=t, **kwargs)

    def conditional_expected_spend(self, data: pd.DataFrame, *, level: float = 0.95,
                                   **kwargs: Any) -> Any:
        """Expected spend per transaction (Gamma-Gamma) with intervals."""
        return self.predict("conditional_expected_spend", data, level=level, **kwargs)

    def __str__(self) -> str:
        return (f"bootstrap of {self.fit.model_name}: {self.n} replicates "
                f"({int(self.converged.sum())} converged), seed {self.seed}")


#: Fewest replicates `bootstrap` accepts (with 1 a "95%" interval has zero width; with a
#: handful it is their range). Five is a floor for quick checks; use the default 200+.
MIN_REPLICATES = 5


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _check_bootstrap_options(*, n: Any, seed: Any, n_jobs: Any) -> None:
    """``n`` and ``n_jobs`` whole numbers in range, ``seed`` what `numpy.random` takes."""
    if not _whole(n) or n < MIN_REPLICATES:
        raise ClvError(f"`n` must be a whole number >= {MIN_REPLICATES} (bootstrap replicates), "
                       f"got {str(repr(n))[:60]}")
    if not _whole(n_jobs) or n_jobs < 1:
        raise ClvError(f"`n_jobs` must be a whole number >= 1, got {str(repr(n_jobs))[:60]}")
    seeds = seed if isinstance(seed, list | tuple) and seed else [seed]
    if not (seed is None or isinstance(seed, np.random.SeedSequence)
            or all(_whole(v) and v >= 0 for v in seeds)):
        raise ClvError("`seed` must be None, a whole number >= 0, a list of them or a "
                       f"numpy SeedSequence, got {str(repr(seed))[:60]}")


def bootstrap(fit: Any, *, n: int = 200, seed: Any = None,
              n_jobs: int = 1) -> BootstrapResult:
    """Refit the model on ``n`` resamples of the customers (multinomial reweighting).

    Parameters
    ----------
    fit : FittedModel
        A result returned by a model's ``fit``.
    n : int, default 200
        Number of replicates, a whole number >= `MIN_REPLICATES` (5).
    seed : int, list of int or SeedSequence, optional
        Seed of the resampling; the same seed gives identical replicates (whatever
        ``n_jobs``). None draws fresh entropy (recorded in the result's ``seed``).
    n_jobs : int, default 1
        Worker processes; replicates are split between them.

    Returns
    -------
    BootstrapResult
        The replicate parameter table and convergence flags.

    Raises
    ------
    ClvError
        The result was not fitted here, its weights are not counts, or its information
        matrix is singular; ``n`` is not a whole number >= 5, ``n_jobs`` not one >= 1,
        ``seed`` not a whole number >= 0 (or a list of them, or a SeedSequence).

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBD
    >>> boot = BGNBD().fit(cdnow_summary()).bootstrap(n=50, seed=1)
    >>> boot.replicates.shape, bool(boot.converged.all())
    ((50, 4), True)
    """
    fd = _fit_data(fit)
    _check_bootstrap_options(n=n, seed=seed, n_jobs=n_jobs)
    _counts(fit.model_name, fd.weights)
    inv_info = _log_covariance(fit) * fd.weights.sum()  # inverse Hessian of the *mean* NLL
    thetas, ok, seed = resample(fd, theta0=_theta(fit), inv_info=inv_info, n=n, seed=seed,
                                n_jobs=n_jobs, what=fit.model_name)
    reps = pd.DataFrame(np.exp(thetas), columns=_names(fit))
    reps.index.name = "replicate"
    return BootstrapResult(fit=fit, replicates=reps, converged=ok, seed=seed)
