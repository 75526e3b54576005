"""Save a fitted model as JSON and load it back, to reuse a fit in a later report.

The file holds what a fit is and what it was fitted on: the model name, its parameters
(written with Python's shortest round-tripping float repr, so the loaded parameters -- and
every prediction -- equal the original's exactly), the covariance of the estimates
(observed information, `clvkit.models.uncertainty.covariance`; ``null`` with a note when it
is undefined), the time unit, the log-likelihood and convergence information, a summary of
the data (customers, distinct rows, observation span = the oldest customer's age, mean
repeat purchases) and the clvkit version that wrote it.

A loaded fit predicts; it has no data, so ``summary()`` and ``bootstrap()`` are not
available on it (the saved covariance is returned by ``load_fit(path, details=True)``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validate import brief
from .._version import __version__
from ..errors import ClvError, DataValidationError
from ..units import TIME_UNITS
from ._base import FittedModel
from .bgbb import BetaGeoBetaBinomialFit
from .bgnbd import BGNBDFit
from .gamma_gamma import GammaGammaFit
from .mbgnbd import MBGNBDFit
from .pareto_nbd import ParetoNBDFit
from .sbg import ShiftedBetaGeometricFit

__all__ = ["save_fit", "load_fit", "FORMAT"]

#: Value of the ``format`` key that marks a clvkit fit file.
FORMAT = "clvkit-fit"
_FORMAT_VERSION = 1
_FITS = {cls.model_name: cls for cls in (BGNBDFit, MBGNBDFit, ParetoNBDFit, GammaGammaFit,
                                         ShiftedBetaGeometricFit, BetaGeoBetaBinomialFit)}


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: store them as null."""
    return None if value is None or not math.isfinite(value) else float(value)


def _data_summary(fit: FittedModel) -> dict[str, Any] | None:
    fd = getattr(fit, "_fit_data", None)
    if fd is None:
        return None
    w = fd.weights
    out: dict[str, Any] = {"n_customers": _number(float(w.sum())),
                           "distinct_rows": int(np.count_nonzero(w > 0))}
    if "T" in fd.columns:
        out["observation_span"] = _number(float(np.max(fd.columns["T"])))
    if "frequency" in fd.columns:
        out["mean_frequency"] = _number(float(np.dot(w, fd.columns["frequency"]) / w.sum()))
    return out


def _covariance(fit: FittedModel) -> tuple[list[list[float | None]] | None, str]:
    try:
        cov = fit.covariance()
    except ClvError as exc:
        return None, f"covariance not available: {exc}"
    return [[_number(v) for v in row] for row in cov.to_numpy()], ""


def _is_fit_file(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def save_fit(fit: FittedModel, path: str | Path) -> Path:
    """Write a fitted model to a JSON file.

    Parameters
    ----------
    fit : FittedModel
        A BG/NBD, MBG/NBD, Pareto/NBD, Gamma-Gamma, sBG or BG/BB result.
    path : str or Path
        File to write. An existing file is replaced only if it is itself a clvkit fit file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ClvError
        ``fit`` is not a fitted clvkit model, or ``path`` exists and is not a clvkit fit
        file (it is never overwritten).

    Examples
    --------
    >>> import tempfile
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> path = save_fit(fit, Path(tempfile.mkdtemp()) / "bgnbd.json")
    >>> loaded = load_fit(path)
    >>> loaded.params == fit.params, round(loaded.p_alive(frequency=2, recency=30.43, T=38.86), 4)
    (True, 0.7266)
    """
    if not isinstance(fit, FittedModel) or type(fit).model_name not in _FITS:
        raise ClvError(f"save_fit needs a fitted clvkit model (one of {list(_FITS)}), got "
                       f"{type(fit).__name__}")
    path = Path(path)
    if path.exists() and not _is_fit_file(path):
        raise ClvError(f"{path} exists and is not a clvkit fit file: it is not overwritten; "
                       "choose another path")
    names = [f.name for f in dataclasses.fields(fit.params)]
    covariance, note = _covariance(fit)
    doc = {
        "format": FORMAT,
        "format_version": _FORMAT_VERSION,
        "clvkit_version": __version__,
        "model": fit.model_name,
        "time_unit": fit.time_unit,
        "params": {k: float(v) for k, v in dataclasses.asdict(fit.params).items()},
        "covariance": None if covariance is None else {"names": names, "matrix": covariance},
        "covariance_note": note,
        "log_likelihood": _number(fit.log_likelihood),
        "n_customers": fit.n_customers,
        "success": bool(fit.success),
        "iterations": int(fit.iterations),
        "message": fit.message,
        "data": _data_summary(fit),
    }
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _refuse(path: Path, problem: str) -> DataValidationError:
    return DataValidationError(f"{path} is not a clvkit fit file: {problem}; write one with "
                               "clvkit.models.save_fit(fit, path)")


#: Largest fit file read (a fit is a few kilobytes) and deepest nesting of its JSON.
_MAX_BYTES = 1 << 20
_MAX_DEPTH = 6
_EXPECTED = {
    "log_likelihood": "a finite number or null", "n_customers": "a number >= 0",
    "success": "true or false", "iterations": "a whole number >= 0", "message": "text",
    "covariance": "null or {names: the parameter names, matrix: k x k numbers or null}",
    "data": "null or a mapping of names to numbers >= 0",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _depth(value: Any) -> int:
    """Nesting depth of JSON containers (iterative: no recursion limit to hit)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                 else item))
    return deepest


def _valid_covariance(cov: Any, fields: list[str]) -> bool:
    if cov is None:
        return True
    if not isinstance(cov, dict) or cov.get("names") != fields:
        return False
    matrix = cov.get("matrix")
    return (isinstance(matrix, list) and len(matrix) == len(fields) and all(
        isinstance(row, list) and len(row) == len(fields)
        and all(v is None or _is_number(v) and math.isfinite(v) for v in row) for row in matrix))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _read_document(path: Path) -> dict:
    """The JSON object of a fit file: bounded size and depth, a clvkit fit of this format."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            raise _refuse(path, f"it is larger than {_MAX_BYTES:,} bytes")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"cannot read the fit file {path}: {exc}") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise _refuse(path, f"not JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _refuse(path, f"it has no \"format\": \"{FORMAT}\" key")
    if _depth(doc) > _MAX_DEPTH:
        raise _refuse(path, f"its JSON is nested deeper than {_MAX_DEPTH} levels")
    if doc.get("format_version") != _FORMAT_VERSION:
        raise _refuse(path, f"format_version {brief(doc.get('format_version'))} is not "
                            f"{_FORMAT_VERSION}")
    return doc


def load_fit(path: str | Path, *, details: bool = False) -> Any:
    """Read a fitted model written by `save_fit`.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    details : bool, default False
        Also return the file's other contents: ``covariance`` (a DataFrame or None),
        ``covariance_note``, ``data`` (the data summary), ``clvkit_version``.

    Returns
    -------
    FittedModel or (FittedModel, dict)
        A result of the saved model's class, with the saved parameters, log-likelihood,
        customers, time unit and convergence information; its predictions equal the
        original's.

    Raises
    ------
    DataValidationError
        The file cannot be read, is not JSON, or is not a clvkit fit (no ``format:
        clvkit-fit``, unknown model, parameters that do not match the model), or holds
        values a fit cannot have: parameters that are not finite and > 0, an unknown time
        unit, a negative customer count, a covariance that is not k x k, values of the
        wrong type, nesting deeper than a fit file's, more than 1 MiB.
    """
    path = Path(path)
    doc = _read_document(path)
    cls = _FITS.get(doc.get("model")) if isinstance(doc.get("model"), str) else None
    if cls is None:
        raise _refuse(path, f"unknown model {brief(doc.get('model'))} (known: {list(_FITS)})")
    ptype = typing.get_type_hints(cls)["params"]
    fields = [f.name for f in dataclasses.fields(ptype)]
    params = doc.get("params")
    if not isinstance(params, dict) or sorted(params) != sorted(fields) or not all(
            _is_number(v) for v in params.values()):
        raise _refuse(path, f"{doc['model']} needs numeric parameters {fields}, got "
                            f"{brief(params)}")
    bad = {k: v for k, v in params.items() if not (math.isfinite(v) and v > 0)}
    if bad:
        raise _refuse(path, f"parameters must be finite and > 0, got {brief(bad)}")
    unit = doc.get("time_unit")
    if unit is not None and (not isinstance(unit, str) or unit not in TIME_UNITS):
        raise _refuse(path, f"unknown time_unit {brief(unit)} (known: {list(TIME_UNITS)})")
    ll = doc.get("log_likelihood")
    n = doc.get("n_customers", 0)
    checks = {
        "log_likelihood": ll is None or (_is_number(ll) and math.isfinite(ll)),
        "n_customers": _is_number(n) and math.isfinite(n) and n >= 0,
        "success": isinstance(doc.get("success", False), bool),
        "iterations": isinstance(it := doc.get("iterations", 0), int)
        and not isinstance(it, bool) and it >= 0,
        "message": isinstance(doc.get("message", ""), str),
        "covariance": _valid_covariance(doc.get("covariance"), fields),
        "data": doc.get("data") is None or (isinstance(doc["data"], dict) and all(
            v is None or _is_number(v) and math.isfinite(v) and v >= 0
            for v in doc["data"].values())),
    }
    wrong = [key for key, ok in checks.items() if not ok]
    if wrong:
        raise _refuse(path, f"{wrong[0]} {brief(doc.get(wrong[0]))} is not valid (expected: "
                            f"{_EXPECTED[wrong[0]]})")
    fit = cls(params=ptype(**{k: float(params[k]) for k in fields}),
              log_likelihood=float("nan") if ll is None else float(ll),
              n_customers=n, time_unit=unit, success=doc.get("success", False),
              iterations=doc.get("iterations", 0), message=doc.get("message", ""))
    if not details:
        return fit
    cov = doc.get("covariance")
    info = {"covariance": None if cov is None else pd.DataFrame(
                np.array(cov["matrix"], dtype=float), index=cov["names"], columns=cov["names"]),
            "covariance_note": doc.get("covariance_note", ""), "data": doc.get("data"),
            "clvkit_version": doc.get("clvkit_version")}
    return fit, info
