"""What every model module shares and that knows no model: the ground floor of the package.

The optimiser's bounds and tolerances, the one-BLAS-thread guard, the curvature test of a
maximum, `ConvergenceWarning` and the names of the (frequency, recency, T) columns. It
imports nothing from `clvkit.models`, so the fitted results (`_base`), their uncertainty
(`uncertainty`) and the intervals on predictions (`intervals`) can all build on it without
importing each other in a circle (a test walks the imports: tests/test_models_imports.py).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

__all__ = ["ConvergenceWarning", "RFT", "SPEND_COLUMNS", "not_curving_down", "one_blas_thread"]

#: The columns of the models fitted on each customer's (frequency x, recency t_x, age T).
RFT = ("frequency", "recency", "T")
#: The columns of the spend models (Gamma-Gamma): repeat purchases and their mean spend.
SPEND_COLUMNS = ("frequency", "monetary_value")

#: Bounds on the log of every parameter (e^-20 .. e^20): a fit that ends on a bound is degenerate.
_LOG_BOUND = 20.0
#: Shape parameters beyond [1/limit, limit] mean the maximum lies at 0 or infinity.
_SHAPE_LIMIT = 1e5
#: Largest |gradient| of the *mean* log-likelihood (per customer) accepted as a maximum.
_GRADIENT_TOL = 1e-4
#: Step (log scale) of the central differences of the gradient that give the Hessian.
_HESSIAN_STEP = 1e-4
#: Smallest eigenvalue of the Hessian, relative to the largest, of a real maximum.
_CURVATURE_TOL = 1e-10
#: Moving one parameter by this factor (e^3 = 20x) either way must lower the likelihood at a
#: real maximum; if it does not, the estimate sits on a ridge or runs off to a boundary.
_FLAT_STEP = 3.0
#: Smallest fall of the mean log-likelihood (per customer) that counts as "lower".
_FLAT_TOL = 1e-9


@functools.cache
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: fits are correct without it, only slower on busy machines
        return None
    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread while optimising.

    The optimiser's and the gradient's linear algebra is on tiny matrices; on a busy
    multi-core machine OpenBLAS's thread start-up then costs more than the arithmetic
    (measured: BG/NBD on CDNOW 130 ms instead of 6 ms). Process-wide settings are
    restored on exit.
    """
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(
        limits=1, user_api="blas")


def not_curving_down(hess: np.ndarray) -> str | None:
    """Why the Hessian of a mean negative log-likelihood is not positive definite, or None.

    The curvature half of every fit's success test (`_CURVATURE_TOL`, relative to the
    largest eigenvalue); a Hessian with non-finite entries fails it.
    """
    eig = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
    if not np.all(np.isfinite(eig)) or eig.min() <= _CURVATURE_TOL * max(eig.max(), 0):
        return (f"the likelihood does not curve down in every direction (Hessian "
                f"eigenvalues {np.array2string(eig, precision=3)})")
    return None


class ConvergenceWarning(UserWarning):
    """Issued instead of `ConvergenceError` when a model is fitted with ``strict=False``."""
