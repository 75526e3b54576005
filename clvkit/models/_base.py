"""Shared machinery of the predictive models: reading data, validation, fitting, results.

Every model in :mod:`clvkit.models` is a small class that only knows

* which columns it reads and how to validate them (``_prepare``),
* its deterministic starting values (``_start``),
* its per-row log-likelihood, optionally with the analytic gradient (``_loglik``),
* the frozen dataclasses of its parameters and of its fitted result.

Everything else -- compressing identical rows into weights, maximising the
log-likelihood in log-parameter space with L-BFGS-B, checking convergence and
building the frozen result -- lives here, once.

Decisions shared by every model:

* **Inputs.** ``fit`` and every prediction method check customers with the one helper
  `check_customers` (frequency a whole number >= 0, 0 <= recency <= T, finite values,
  recency 0 without repeat purchases, positive spend for repeat buyers): the same input is
  refused at fit and at prediction time, with the same message naming the argument, the
  customers and their values.
* **Scalars.** Predictions called with scalars only (``fit.p_alive(frequency=2,
  recency=30.4, T=38.9)``, as lifetimes users do) return a float; arrays or a summary give
  a Series on the customer index.
* **Degenerate fits.** A fit whose estimate sits at an optimiser bound, runs off towards 0
  or infinity, lies on a flat ridge of the likelihood, or rests on no more distinct
  observations than parameters (2 customers for BG/NBD; an sBG cohort ``[100, 0, 0]``) is
  treated like a failure to converge: `ConvergenceError` by default, or with
  ``strict=False`` a `ConvergenceWarning` and a result with ``success=False`` whose
  ``message`` says "degenerate" and names the parameters. No degenerate fit reports
  ``success=True``.
"""

from __future__ import annotations

import dataclasses
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize

from .._validate import check_nonnegative, check_one_of
from ..columns import CUSTOMER_ID
from ..errors import ClvError, ConvergenceError, DataValidationError, example_rows
from ..summary import compress_arrays
from ..units import TIME_UNITS, unit_name
from . import uncertainty
from ._core import (  # noqa: F401  (re-exported: the models import them from here)
    _CURVATURE_TOL,
    _FLAT_STEP,
    _FLAT_TOL,
    _GRADIENT_TOL,
    _HESSIAN_STEP,
    _LOG_BOUND,
    _SHAPE_LIMIT,
    RFT,
    ConvergenceWarning,
    not_curving_down,
    one_blas_thread,
)

__all__ = ["FittedModel", "RFTFit", "FitData", "compress", "ConvergenceWarning"]

#: ``frame.attrs`` key set by `read_frame` when every input was a scalar.
SCALAR_INPUT = "clvkit_scalar_input"


def runs_off(model: Any, theta: np.ndarray) -> np.ndarray:
    """Which base parameters of ``model`` (log scale ``theta``) run off: a degenerate estimate.

    A parameter on the optimiser's bound e^+-`_LOG_BOUND`, or a shape parameter (not in
    ``model.scale_params``) beyond `_SHAPE_LIMIT` or below its inverse. Shared by the fits
    with and without covariates.
    """
    p = np.exp(theta)
    shape = np.array([n not in model.scale_params for n in model._names()])
    return (np.abs(theta) >= _LOG_BOUND - 1e-6) | (
        shape & ((p > _SHAPE_LIMIT) | (p < 1 / _SHAPE_LIMIT)))


def flat_along(objective: Callable[[np.ndarray], float], theta: np.ndarray,
               k: int) -> np.ndarray:
    """Which of the first ``k`` entries of ``theta`` (log parameters) the objective is flat along.

    At a real maximum, multiplying any one parameter, or any two together (e.g. r and
    alpha of a Gamma: same mean, less spread), by e^+-`_FLAT_STEP` lowers the likelihood
    (raises the minimised ``objective``, a mean per customer, by `_FLAT_TOL` at least); a
    flat or rising likelihood means the data do not pin those parameters down (the
    optimiser stopped on a ridge or on its way to a boundary). Shared by the fits with and
    without covariates.
    """
    f0 = objective(theta)
    flat = np.zeros(theta.size, dtype=bool)
    eye = np.eye(theta.size, dtype=bool)
    pairs = [eye[i] | eye[j] for i in range(k) for j in range(i, k)]
    for mask in pairs:
        for step in (-_FLAT_STEP, _FLAT_STEP):
            moved = theta.copy()
            moved[mask] = np.clip(theta[mask] + step, -_LOG_BOUND, _LOG_BOUND)
            if np.any(moved != theta) and objective(moved) < f0 + _FLAT_TOL:
                flat |= mask
    return flat


# ---------------------------------------------------------------------------------------------
# reading and validating data


def read_frame(data: Any, columns: Sequence[str], given: Mapping[str, Any]) -> pd.DataFrame:
    """Return a DataFrame with ``columns`` from a summary DataFrame, a mapping or keyword arrays.

    Keyword arrays in ``given`` (not None) override columns of ``data``. Without a DataFrame
    the index is a ``RangeIndex`` named ``customer_id``; if every keyword is a scalar the
    frame has one row and ``attrs[SCALAR_INPUT]`` is True (predictions then return a float).
    """
    given = {k: v for k, v in given.items() if v is not None}
    scalar = False
    if data is None:
        if not given:
            raise DataValidationError(
                f"no data: pass a summary DataFrame with columns {list(columns)} "
                "or the arrays as keywords"
            )
        arrays = {k: np.asarray(v) for k, v in given.items()}
        scalar = all(a.ndim == 0 for a in arrays.values())
        data = pd.DataFrame({k: np.atleast_1d(a) if scalar else a for k, a in arrays.items()})
        data.index = pd.RangeIndex(len(data), name=CUSTOMER_ID)
        given = {}
    elif isinstance(data, Mapping):
        data = pd.DataFrame(data)
    elif not isinstance(data, pd.DataFrame):
        raise DataValidationError(
            f"`data` must be a DataFrame or a mapping of arrays, got {type(data).__name__}"
        )
    missing = [c for c in columns if c not in data.columns and c not in given]
    if missing:
        raise DataValidationError(
            f"missing column(s) {missing}; the models need {list(columns)} "
            f"(got {list(data.columns)}); build them with clvkit.summary.rfm_summary"
        )
    out = {}  # new float columns: the caller's frame is never written to
    for col in columns:
        raw = pd.Series(np.asarray(given[col]), index=data.index) if col in given else data[col]
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw):
            out[col] = raw.to_numpy(dtype=float, na_value=np.nan)
            continue
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if bad.any():
            raise DataValidationError(
                f"column `{col}` is not numeric in {example_rows(data.index[bad])}"
            )
        out[col] = values.to_numpy(dtype=float, na_value=np.nan)
    frame = pd.DataFrame(out, index=data.index)
    frame.attrs = dict(data.attrs)
    if scalar:  # every input a scalar: predictions return a float (see `prediction`)
        frame.attrs[SCALAR_INPUT] = True
    return frame


def fail_rows(frame: pd.DataFrame, mask: Any, problem: str, fix: str) -> None:
    """Raise a `DataValidationError` naming ``problem``, the offending rows and the ``fix``."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        raise DataValidationError(f"{problem} in {example_rows(frame.index[mask])}; {fix}")


def check_not_empty(frame: pd.DataFrame) -> None:
    """Raise if ``frame`` has no rows."""
    if len(frame) == 0:
        raise DataValidationError("the summary is empty (0 customers): nothing to fit")


def check_no_nan(frame: pd.DataFrame) -> None:
    """Raise if any column has missing values (names the column and rows)."""
    check_not_empty(frame)
    for col in frame.columns:
        fail_rows(frame, frame[col].isna(), f"column `{col}` is missing (NaN)",
                  "drop or fill those customers before fitting")


def check_counts(frame: pd.DataFrame, col: str = "frequency") -> None:
    """Raise unless ``frame[col]`` holds non-negative integers, not all zero."""
    x = frame[col].to_numpy()
    fail_rows(frame, x < 0, f"`{col}` is negative", "counts of repeat purchases must be >= 0")
    fail_rows(frame, x != np.round(x), f"`{col}` is not a whole number",
              "it counts repeat purchases (periods with a purchase after the first)")
    if not (x > 0).any():
        raise DataValidationError(
            f"all {len(x)} customers have `{col}` = 0 (no repeat purchase): the model cannot "
            "be identified; use a longer calibration period or more customers"
        )


#: Largest number of transaction opportunities a BG/BB customer may have: its likelihood sums
#: one term per opportunity after the last transaction (n = 10,000 is 27 years of days).
MAX_OPPORTUNITIES = 10_000


def _refuse(frame: pd.DataFrame, mask: Any, problem: str, fix: str,
            shown: Sequence[str]) -> None:
    """Raise a `DataValidationError`: ``problem``, the rows, their values of ``shown``, ``fix``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    rows = np.flatnonzero(mask)[:3]
    values = "; ".join(", ".join(f"{c}={frame[c].iat[i]:g}" for c in shown) for i in rows)
    more = "; ..." if mask.sum() > len(rows) else ""
    raise DataValidationError(f"{problem} in {example_rows(frame.index[mask])} "
                              f"(values: {values}{more}); {fix}")


def check_customers(frame: pd.DataFrame, *, age: str | None = "T",
                    monetary: str | None = None, discrete: bool = False) -> None:
    """Check per-customer model inputs, the same way for fitting and for predicting.

    The one validation of what describes a customer (``frequency`` x and, if present in
    ``frame``, ``recency`` t_x, the age column and the monetary column):

    * every value is finite (no NaN, no infinity);
    * x is a whole number >= 0 (it counts repeat purchases, as ``fit`` requires);
    * 0 <= t_x <= age, age >= 0, age > 0 when x > 0, and t_x = 0 when x = 0;
    * ``discrete`` (BG/BB): t_x and age are whole numbers, x <= t_x, 1 <= age <=
      `MAX_OPPORTUNITIES`;
    * ``monetary``: > 0 for customers with x > 0; for x = 0 it is not used and may be
      0 or NaN (not negative or infinite).

    Raises
    ------
    DataValidationError
        Naming the argument (column), the offending rows (customer ids, or positions for
        arrays) with their values, and what a valid value is.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": [2, -1], "recency": [5.0, 0.0], "T": [9.0, 9.0]})
    >>> check_customers(df)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: `frequency` is negative in 1 row (e.g. 1) (values: ...
    """
    cols = [c for c in ("frequency", "recency", age) if c is not None and c in frame.columns]
    arrays = {c: frame[c].to_numpy(dtype=float) for c in cols}
    for c in cols:
        v = arrays[c]
        _refuse(frame, np.isnan(v), f"`{c}` is missing (NaN)",
                "drop or fill those customers", [c])
        _refuse(frame, np.isinf(v), f"`{c}` is infinite", "values must be finite", [c])
    x = arrays["frequency"]
    _refuse(frame, x < 0, "`frequency` is negative",
            "counts of repeat purchases must be whole numbers >= 0", ["frequency"])
    _refuse(frame, x != np.round(x), "`frequency` is not a whole number",
            "it counts repeat purchases (periods with a purchase after the first)",
            ["frequency"])
    t_x, T = arrays.get("recency"), arrays.get(age)  # noqa: N806
    if t_x is not None:
        _refuse(frame, t_x < 0, "`recency` is negative",
                "recency is time from first to last purchase", ["recency"])
    if T is not None and not discrete:
        # T = 0 (first purchase on the last observed day) is allowed without repeat purchases
        _refuse(frame, (T < 0) | ((T == 0) & (x > 0)),
                f"`{age}` is negative, or 0 with repeat purchases",
                f"{age} is the customer's age (time from first purchase to the end of the "
                "observation period)", ["frequency", age])
    if t_x is not None and T is not None and not discrete:
        _refuse(frame, t_x > T * (1 + 1e-9), f"`recency` > `{age}`",
                "recency cannot exceed the customer's age; check the observation end date",
                ["recency", age])
    if t_x is not None:
        _refuse(frame, (x == 0) & (t_x != 0), "`recency` != 0 although `frequency` = 0",
                "customers without repeat purchase have recency 0", ["frequency", "recency"])
    if discrete and t_x is not None and T is not None:
        _refuse(frame, (t_x != np.round(t_x)) | (T != np.round(T)) | (T < 1),
                f"`recency`/`{age}` are not whole numbers ({age} >= 1)",
                "the BG/BB counts transaction opportunities", ["recency", age])
        _refuse(frame, (x > t_x) | (t_x > T), f"not 0 <= frequency <= recency <= {age}",
                f"x transactions happen at opportunities up to t_x <= {age}",
                ["frequency", "recency", age])
        _refuse(frame, T > MAX_OPPORTUNITIES,
                f"`{age}` exceeds the limit of {MAX_OPPORTUNITIES:,} transaction opportunities",
                "the BG/BB likelihood has one term per opportunity; count opportunities in a "
                "coarser unit (weeks instead of days) or use a continuous-time model (BG/NBD)",
                [age])
    if monetary is not None:
        m = frame[monetary].to_numpy(dtype=float)
        _refuse(frame, (x > 0) & ~(np.isfinite(m) & (m > 0)),
                f"`{monetary}` is not > 0 for a repeat buyer",
                "the Gamma-Gamma model needs a positive, finite mean spend per repeat "
                "transaction; drop or fix those customers", ["frequency", monetary])
        _refuse(frame, (x == 0) & ((m < 0) | np.isinf(m)),
                f"`{monetary}` is negative or infinite",
                "spend cannot be negative (for customers without repeat purchases it is not "
                "used: 0 or NaN)", ["frequency", monetary])


def resolve_time_unit(frame: pd.DataFrame, time_unit: str | None) -> str:
    """Return the time unit of the data: ``time_unit`` or ``frame.attrs["time_unit"]``."""
    attr = frame.attrs.get("time_unit")
    if time_unit is None and attr is None:
        raise ClvError(
            "unknown time unit: pass `time_unit=` (one of "
            f"{list(TIME_UNITS)}) or use a summary with attrs['time_unit']"
        )
    if time_unit is not None and attr is not None and time_unit != attr:
        raise ClvError(
            f"`time_unit`={time_unit!r} contradicts the summary's attrs['time_unit']={attr!r}"
        )
    return check_one_of("time_unit", time_unit or attr, TIME_UNITS)


def optional_time_unit(frame: pd.DataFrame, time_unit: str | None) -> str | None:
    """Return ``time_unit`` or ``frame.attrs["time_unit"]``, validated, or None if neither."""
    unit = time_unit or frame.attrs.get("time_unit")
    return None if unit is None else check_one_of("time_unit", unit, TIME_UNITS)


def read_weights(frame: pd.DataFrame, weights: Any) -> np.ndarray:
    """Row weights: None (all 1), a column name of ``frame`` or an array of counts."""
    if weights is None:
        return np.ones(len(frame))
    if isinstance(weights, str):
        raise ClvError("pass `weights` as an array (e.g. summary['weights']), not a column name")
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape != (len(frame),):
        raise DataValidationError(f"`weights` has {w.size} values for {len(frame)} rows")
    fail_rows(frame, ~np.isfinite(w) | (w < 0), "`weights` is negative or not finite",
              "weights count identical customers and must be >= 0")
    if w.sum() <= 0:
        raise DataValidationError("`weights` sum to 0: no customer to fit")
    return w


def compress(data: pd.DataFrame | Mapping[str, Any], *, weights: Any = None) -> pd.DataFrame:
    """Collapse identical rows into unique rows with a ``weights`` column (counts).

    A million customers described by (frequency, recency, T) usually take a few thousand
    distinct values; fitting on the distinct rows with weights gives the same
    log-likelihood at a fraction of the cost. Models call this automatically.

    Parameters
    ----------
    data : DataFrame or mapping of arrays
        Numeric columns to collapse (e.g. ``frequency, recency, T``).
    weights : array-like, optional
        Existing counts per row (default 1 each).

    Returns
    -------
    DataFrame
        Unique rows (sorted), with a float ``weights`` column summing to the input weights.

    Examples
    --------
    >>> df = pd.DataFrame({"frequency": [0, 2, 0, 2], "recency": [0, 5.0, 0, 5.0], "T": 9.0})
    >>> compress(df)
       frequency  recency    T  weights
    0          0      0.0  9.0      2.0
    1          2      5.0  9.0      2.0
    """
    frame = pd.DataFrame(data)
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    cols, w = compress_arrays({c: frame[c].to_numpy() for c in frame.columns}, w)
    return pd.DataFrame({**cols, "weights": w})


def series(values: Any, index: pd.Index, name: str, **attrs: Any) -> pd.Series:
    """Return a customer-level result: a float Series on the customer index."""
    out = pd.Series(np.asarray(values, dtype=float), index=index, name=name)
    out.attrs = dict(attrs)
    return out


def prediction(values: Any, frame: pd.DataFrame, name: str, **attrs: Any) -> pd.Series | float:
    """Return a prediction: a float for scalar inputs, else a Series on ``frame``'s index.

    Scalars in, a float out (as lifetimes' ``conditional_probability_alive(2, 30.4, 38.9)``);
    arrays or a summary in, a Series named ``name`` with ``attrs`` keeping the customer index.
    """
    if frame.attrs.get(SCALAR_INPUT):
        return float(np.asarray(values, dtype=float).reshape(-1)[0])
    return series(values, frame.index, name, **attrs)


def check_periods(name: str, values: Any, *, start: int) -> np.ndarray:
    """Check whole numbers of periods >= ``start`` (scalar or array); return a float array.

    Raises a `DataValidationError` naming ``name``, the offending positions and values.

    Examples
    --------
    >>> check_periods("t", [1, 2.5, -1], start=0)
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: `t` must hold whole numbers of periods >= 0: 2 rows \
(e.g. 1, 2) are not (values: 2.5, -1)
    """
    arr = np.asarray(values, dtype=float)
    flat = arr.reshape(-1)
    bad = ~np.isfinite(flat) | (flat < start) | (flat != np.round(flat))
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in flat[bad][:5])
        raise DataValidationError(
            f"`{name}` must hold whole numbers of periods >= {start}: "
            f"{example_rows(np.flatnonzero(bad))} are not (values: {shown})")
    return arr


def scalar_or_array(values: np.ndarray) -> np.ndarray | float:
    """Return a float for a 0-d result (scalar input), else the array."""
    return float(values) if np.ndim(values) == 0 else values


def check_horizon(name: str, t: Any, n: int) -> np.ndarray:
    """Check a horizon (scalar or one per customer); return it as a float array."""
    arr = np.asarray(check_nonnegative(name, t), dtype=float)
    if arr.ndim and arr.shape != (n,):
        raise ClvError(f"`{name}` must be a scalar or one value per customer ({n}), "
                       f"got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------------------------------
# fitted results


@dataclass(frozen=True, eq=False)
class FitData:
    """What a fit was computed from: the model settings and the compressed, precomputed rows.

    Kept on the fitted result (not shown, not compared) so standard errors and the
    bootstrap (`clvkit.models.uncertainty`) can reuse the exact likelihood of the fit.
    """

    model: Model
    columns: dict[str, np.ndarray]
    weights: np.ndarray

    # the likelihood to refit on resampled customers (`clvkit.models.uncertainty.resample`)
    def refit_objective(self, theta: np.ndarray, weights: np.ndarray
                        ) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood (+ penalty) and gradient with other row weights."""
        return self.model._objective(theta, self.columns, weights)

    def is_maximum(self, theta: np.ndarray, weights: np.ndarray) -> bool:
        """Whether ``theta`` maximises the likelihood with these weights (the fit's test)."""
        grad = self.model._objective(theta, self.columns, weights)[1]
        return self.model._not_a_maximum(theta, self.columns, weights,
                                         float(np.max(np.abs(grad)))) is None

    @staticmethod
    def bounds(k: int) -> list[tuple[float, float]]:
        """The optimiser's bounds on the ``k`` log parameters."""
        return [(-_LOG_BOUND, _LOG_BOUND)] * k


@dataclass(frozen=True)
class FittedModel:
    """Base class of every fitted result: frozen parameters, likelihood and convergence info.

    Attributes
    ----------
    params : frozen dataclass
        The maximum-likelihood parameters (model-specific class).
    log_likelihood : float
        Full-sample log-likelihood at ``params`` (sum over customers, weights applied, no
        penalty), comparable with the values printed in the papers.
    n_customers : int
        Customers the model was fitted on (sum of the weights).
    time_unit : str or None
        Unit of the time columns the model was fitted on (``"D"``, ``"W"``, ``"M"``, ``"Y"``);
        every rate parameter and every horizon of a prediction is in this unit. (None only
        for the Gamma-Gamma and BG/BB models fitted without a unit.)
    success, iterations, message
        Convergence information from the optimiser.
    """

    params: Any
    log_likelihood: float
    n_customers: int
    time_unit: str | None
    success: bool
    iterations: int
    message: str
    _fit_data: FitData | None = field(default=None, repr=False, compare=False)

    model_name: ClassVar[str] = "model"
    #: Summary columns that fix a customer's predictions (None: more than columns, e.g.
    #: covariates; see `clvkit.models.protocol`).
    input_columns: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def from_params(cls, *, time_unit: str | None, **params: float) -> FittedModel:
        """Build a result from known parameter values (e.g. published ones) to predict with.

        The result has ``log_likelihood`` NaN, ``n_customers`` 0 and ``iterations`` 0: it was
        not fitted.

        Examples
        --------
        >>> from clvkit.models import BGNBDFit
        >>> BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W").params
        BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
        """
        if time_unit is not None:
            check_one_of("time_unit", time_unit, TIME_UNITS)
        ptype = typing.get_type_hints(cls)["params"]
        fields = [f.name for f in dataclasses.fields(ptype)]
        if sorted(params) != sorted(fields):
            raise ClvError(f"{cls.model_name} needs parameters {fields}, got {list(params)}")
        return cls(params=ptype(**{k: float(v) for k, v in params.items()}),
                   log_likelihood=float("nan"), n_customers=0, time_unit=time_unit,
                   success=True, iterations=0, message="parameters given, not fitted")

    def params_series(self) -> pd.Series:
        """Parameters as a Series (name -> value), e.g. for display."""
        return pd.Series(dataclasses.asdict(self.params), name=self.model_name)

    def estimates(self) -> pd.Series:
        """Everything estimated, as a Series: parameters (and covariate coefficients).

        In the order of the columns of a bootstrap's ``replicates``.
        """
        return self.params_series()

    def with_estimates(self, values: Sequence[float]) -> FittedModel:
        """A copy with other ``estimates()`` (e.g. a bootstrap replicate), to predict with."""
        return dataclasses.replace(self, params=type(self.params)(*map(float, values)))

    def __str__(self) -> str:  # short, readable in notebooks
        values = ", ".join(f"{k}={v:.4g}" for k, v in dataclasses.asdict(self.params).items())
        return (f"{self.model_name} fitted on {self.n_customers:,} customers "
                f"(time unit: {unit_name(self.time_unit)}): {values}; "
                f"LL={self.log_likelihood:.1f}")

    def covariance(self) -> pd.DataFrame:
        """Covariance of the parameter estimates (observed information, delta method).

        See `clvkit.models.uncertainty.covariance`.
        """
        return uncertainty.covariance(self)

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors and intervals; see `clvkit.models.uncertainty.summary`."""
        return uncertainty.summary(self, level=level)

    def bootstrap(self, *, n: int = 200, seed: Any = None, n_jobs: int = 1) -> Any:
        """Refit on resampled customers; see `clvkit.models.uncertainty.bootstrap`."""
        return uncertainty.bootstrap(self, n=n, seed=seed, n_jobs=n_jobs)

    def _read(self, data: Any, columns: Sequence[str], given: Mapping[str, Any]) -> pd.DataFrame:
        """Read prediction inputs and check their time unit agrees with the fit."""
        frame = read_frame(data, columns, given)
        unit = frame.attrs.get("time_unit")
        if unit is not None and unit != self.time_unit:
            raise ClvError(
                f"the data are in time unit {unit!r} but the model was fitted in "
                f"{self.time_unit!r}; rebuild the summary with time_unit={self.time_unit!r}"
            )
        return frame


class RFTFit(FittedModel):
    """A fitted model on each customer's (frequency, recency, T), one parameter set for all.

    Gives the purchase models' predictions (`clvkit.models.protocol`) their customers:
    `_rows` reads and checks them once, for every prediction alike. The fits with
    covariates (`clvkit.models.covariates.StaticCovariatesFit`) answer the same two
    questions with each customer's own parameters, so the predictions are written once
    per model for both.
    """

    input_columns: ClassVar[tuple[str, ...] | None] = RFT

    def _rows(self, data: Any, given: Mapping[str, Any], covariates: Any = None
              ) -> tuple[pd.DataFrame, list[np.ndarray], tuple[Any, ...], np.ndarray]:
        """Checked customers: frame, [x, t_x, T], parameters (scalars) and groups (all 0).

        The parameters are the dataclass's values; a fit with covariates returns one value
        per covariate group instead, and ``groups`` numbers each customer's group.
        """
        if covariates is not None:
            raise ClvError(f"the {self.model_name} has no covariates: drop `covariates=`")
        frame = self._read(data, RFT, given)
        check_customers(frame)
        cols = [frame[c].to_numpy(dtype=float) for c in RFT]
        return (frame, cols, dataclasses.astuple(self.params),
                np.zeros(len(frame), dtype=np.intp))

    def _new_rows(self, t: Any, covariates: Any = None
                  ) -> tuple[tuple[Any, ...], np.ndarray, Callable[[Any], Any]]:
        """A new customer's parameters, the checked horizon ``t`` and how to return values."""
        if covariates is not None:
            raise ClvError(f"the {self.model_name} has no covariates: drop `covariates=`")
        t = np.asarray(check_horizon("t", t, np.size(t)), dtype=float)
        return dataclasses.astuple(self.params), t, scalar_or_array


# ---------------------------------------------------------------------------------------------
# the model base class


class Model:
    """Base class of the model specifications (`BGNBD`, `ParetoNBD`, ...).

    A model object holds only its settings (``penalizer``); `fit` returns a new frozen
    `FittedModel` and never changes the model object.

    Parameters
    ----------
    penalizer : float, default 0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood (as in lifetimes); the reported ``log_likelihood`` is un-penalised.
    """

    params_type: ClassVar[type]
    result_type: ClassVar[type[FittedModel]]
    #: compress identical rows into weights before fitting
    compress_rows: ClassVar[bool] = True
    #: parameters that carry a unit (time or money): exempt from the degeneracy check
    scale_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = float(check_nonnegative("penalizer", penalizer))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(penalizer={self.penalizer})"

    # -- to implement per model --------------------------------------------------------------
    def _prepare(self, data: Any, given: Mapping[str, Any], weights: Any,
                 time_unit: str | None) -> tuple[pd.DataFrame, np.ndarray, str]:
        """Return the validated data columns, weights and time unit."""
        raise NotImplementedError

    def _start(self, d: Mapping[str, np.ndarray], w: np.ndarray) -> np.ndarray:
        """Deterministic starting values (natural scale)."""
        raise NotImplementedError

    def _loglik(self, p: np.ndarray, d: Mapping[str, np.ndarray],
                grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-row log-likelihood and, if available and ``grad``, d ll / d p (shape (k, n))."""
        raise NotImplementedError

    def _precompute(self, d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Add derived arrays that do not depend on the parameters (hook)."""
        return d

    # -- shared ------------------------------------------------------------------------------
    def _fit(self, data: Any, given: Mapping[str, Any], *, weights: Any,
             time_unit: str | None, strict: bool) -> FittedModel:
        frame, w, unit = self._prepare(data, given, weights, time_unit)
        cols = {c: frame[c].to_numpy(dtype=float) for c in frame.columns}
        if self.compress_rows:
            cols, w = compress_arrays(cols, w)
        d = self._precompute(cols)
        theta, res, grad_norm = self._maximise(d, w)
        not_max = self._not_a_maximum(theta, d, w, grad_norm)
        p = np.exp(theta)
        ll = float(np.sum(w * self._loglik(p, d, False)[0]))
        degenerate = runs_off(self, theta) | self._flat(theta, d, w)
        distinct = int(np.count_nonzero(w > 0))
        too_few = distinct <= theta.size
        ok = bool(np.isfinite(ll) and np.all(np.isfinite(p)) and not degenerate.any()
                  and not too_few and not_max is None)
        message = f"{res.message} (max |gradient| of mean LL = {grad_norm:.2g})"
        if not_max is not None and not degenerate.any():
            message += f"; not a maximum: {not_max}"
        if degenerate.any():
            message += ("; degenerate estimate (runs off towards 0 or infinity, or the "
                        "likelihood is flat along it): "
                        + ", ".join(np.array(self._names())[degenerate]))
        if too_few:
            message += (f"; degenerate: {distinct} distinct observation(s) cannot identify "
                        f"{theta.size} parameters")
        if not ok:
            shown = ", ".join(f"{k}={v:.6g}" for k, v in zip(self._names(), p, strict=True))
            text = (f"{type(self).__name__} did not converge: {message}; parameters {shown}, "
                    f"LL={ll:.6g}. Check the data (enough repeat buyers? time unit?) or set "
                    "a small `penalizer`")
            if strict:
                raise ConvergenceError(text)
            warnings.warn(text, ConvergenceWarning, stacklevel=3)
        n = w.sum()
        return self.result_type(
            params=self.params_type(*map(float, p)),
            log_likelihood=ll,
            n_customers=int(round(n)) if np.isclose(n, round(n)) else float(n),
            time_unit=unit,
            success=ok,
            iterations=int(res.nit),
            message=message,
            _fit_data=FitData(model=self, columns=d, weights=w),
        )

    def log_likelihood(self, data: Any = None, *, params: Any, weights: Any = None,
                       time_unit: str | None = None, **columns: Any) -> float:
        """Return the full-sample log-likelihood of ``data`` at ``params`` (no penalty).

        Useful to compare with other software at *their* parameter estimates.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            The data as for ``fit``.
        params : dataclass or sequence of float
            Parameter values in the order of the model's parameter dataclass.
        weights, time_unit, **columns
            As for ``fit``.

        Returns
        -------
        float
            Sum over customers (weighted) of the log-likelihood.
        """
        frame, w, _ = self._prepare(data, columns, weights, time_unit)
        d = self._precompute({c: frame[c].to_numpy(dtype=float) for c in frame.columns})
        values = (dataclasses.astuple(params) if dataclasses.is_dataclass(params) else params)
        p = np.asarray(values, dtype=float)
        return float(np.sum(w * self._loglik(p, d, False)[0]))

    def _flat(self, theta: np.ndarray, d: Mapping[str, np.ndarray],
              w: np.ndarray) -> np.ndarray:
        """Parameters along which the objective does not fall 20x away from ``theta``.

        See `flat_along`.
        """
        return flat_along(lambda th: self._objective(th, d, w, False)[0], theta, theta.size)

    def _names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.params_type)]

    def _hessian(self, theta: np.ndarray, d: Mapping[str, np.ndarray],
                 w: np.ndarray) -> np.ndarray:
        """Hessian of the mean negative LL in log-parameter space.

        Central differences (step `_HESSIAN_STEP`) of the gradient, symmetrised.
        """
        k = theta.size
        hess = np.empty((k, k))
        with one_blas_thread():
            for j in range(k):
                step = np.zeros(k)
                step[j] = _HESSIAN_STEP
                g_up = self._objective(theta + step, d, w)[1]
                g_down = self._objective(theta - step, d, w)[1]
                hess[:, j] = (g_up - g_down) / (2 * _HESSIAN_STEP)
        return (hess + hess.T) / 2

    def _not_a_maximum(self, theta: np.ndarray, d: Mapping[str, np.ndarray], w: np.ndarray,
                       grad_norm: float) -> str | None:
        """Why ``theta`` is not a maximum of the likelihood (None when it is one).

        The one success test of every fit (and bootstrap refit): the largest |gradient|
        of the mean log-likelihood is below `_GRADIENT_TOL` *and* the Hessian of the mean
        negative log-likelihood is positive definite (the likelihood curves down in every
        direction). What the optimiser says about its own stopping rule does not count.
        Estimates on a bound are reported as degenerate by the caller.
        """
        if not np.isfinite(grad_norm) or grad_norm >= _GRADIENT_TOL:
            return (f"the gradient ({grad_norm:.2g}) is above the tolerance "
                    f"{_GRADIENT_TOL:g}: the likelihood still rises")
        return not_curving_down(self._hessian(theta, d, w))

    def _objective(self, theta: np.ndarray, d: Mapping[str, np.ndarray], w: np.ndarray,
                   want_grad: bool = True) -> tuple[float, np.ndarray]:
        """Mean negative log-likelihood (+ penalty) in log-parameter space, with gradient."""
        p = np.exp(theta)
        wsum = w.sum()
        with np.errstate(all="ignore"):
            ll, dll = self._loglik(p, d, want_grad)
            # sums without BLAS (its thread start-up dominates on a busy machine)
            f = -float(np.sum(w * ll)) / wsum + self.penalizer * float(np.sum(p**2))
        if not np.isfinite(f):
            return np.inf, np.zeros_like(theta)
        if not want_grad:
            return f, np.zeros_like(theta)
        if dll is None:  # central differences in log space
            g = np.empty_like(theta)
            for k in range(theta.size):
                h = np.zeros_like(theta)
                h[k] = 1e-6
                g[k] = (self._objective(theta + h, d, w, False)[0]
                        - self._objective(theta - h, d, w, False)[0]) / 2e-6
            return f, g
        g = -np.einsum("kn,n->k", dll, w) / wsum * p + 2 * self.penalizer * p**2  # d/dtheta
        return f, g

    def _maximise(self, d: Mapping[str, np.ndarray],
                  w: np.ndarray) -> tuple[np.ndarray, optimize.OptimizeResult, float]:
        theta0 = np.log(self._start(d, w))
        with one_blas_thread():
            res = optimize.minimize(
                self._objective, theta0, args=(d, w), jac=True, method="L-BFGS-B",
                bounds=[(-_LOG_BOUND, _LOG_BOUND)] * theta0.size,
                options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20},
            )
            grad = self._objective(res.x, d, w)[1]
        return res.x, res, float(np.max(np.abs(grad)))


# ---------------------------------------------------------------------------------------------
# models fitted on (frequency, recency, T): BG/NBD, MBG/NBD, Pareto/NBD



def validate_rft(frame: pd.DataFrame) -> None:
    """Check a (frequency, recency, T) summary, before any optimisation.

    A customer with T = 0 (first purchase on the last observed day) and no repeat purchase
    adds exactly 0 to the log-likelihood and has P(alive) = 1.
    """
    check_not_empty(frame)
    check_customers(frame)  # the same checks and messages as every prediction
    check_counts(frame)


class RFTModel(Model):
    """A model fitted on each customer's (frequency x, recency t_x, age T)."""

    def fit(self, data: pd.DataFrame | Mapping[str, Any] | None = None, *,
            frequency: Any = None, recency: Any = None, T: Any = None,  # noqa: N803
            weights: Any = None, time_unit: str | None = None,
            strict: bool = True) -> Any:
        """Fit the model by maximum likelihood and return a new frozen fitted result.

        Parameters
        ----------
        data : DataFrame or mapping, optional
            RFM summary with columns ``frequency`` (repeat purchases x), ``recency`` (t_x)
            and ``T`` (age), indexed by ``customer_id``, ``attrs["time_unit"]`` set
            (as returned by `clvkit.summary.rfm_summary`).
        frequency, recency, T : array-like, optional
            The same columns as arrays (override columns of ``data``).
        weights : array-like, optional
            Number of customers each row stands for (default 1). Identical rows are
            compressed automatically, so a large summary fits as its distinct rows.
        time_unit : {"D", "W", "M", "Y"}, optional
            Unit of ``recency`` and ``T``; required if ``data`` has no ``attrs["time_unit"]``.
        strict : bool, default True
            If the optimiser does not converge or the estimate is degenerate (see the module
            notes), raise `ConvergenceError` (True) or issue a `ConvergenceWarning` and
            return the result with ``success=False`` (False).

        Returns
        -------
        FittedModel
            Model-specific frozen result with the parameters, the full-sample
            log-likelihood, ``n_customers``, ``time_unit`` and convergence information.

        Raises
        ------
        DataValidationError
            NaN, negative or non-integer frequency, recency > T, empty summary, all
            frequencies zero, ... (checked before optimising).
        ConvergenceError
            The optimiser did not reach a maximum, or the estimate is degenerate: a
            parameter at a bound or on a flat ridge, or no more distinct customers than
            parameters (``strict=True``).
        """
        return self._fit(data, {"frequency": frequency, "recency": recency, "T": T},
                         weights=weights, time_unit=time_unit, strict=strict)

    def _prepare(self, data, given, weights, time_unit):
        frame = read_frame(data, RFT, given)
        unit = resolve_time_unit(frame, time_unit)
        validate_rft(frame)
        return frame, read_weights(frame, weights), unit

    def _start(self, d, w):
        # r = 1 and alpha chosen so the mean purchase rate r / alpha matches sum(x) / sum(T)
        rate = np.dot(w, d["frequency"]) / np.dot(w, d["T"])
        return np.array([1.0, 1.0 / rate, 1.0, 1.0])
