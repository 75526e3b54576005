"""Predictions about the future of each customer: P(alive) later on, and DERT.

P(alive at T + t | x, t_x, T) for the continuous-time models, derived from the posterior of
the latent rates of a customer alive at T (every factor below is the model's own likelihood
term for "alive at T", so the posterior is exact):

* **Pareto/NBD** (Schmittlein, Morrison & Colombo 1987; Fader & Hardie note 009). Alive at
  T, the dropout rate mu has the posterior Gamma(s, beta + T) (the survival term
  e^(-mu T); purchases do not inform mu), and the lifetime is memoryless, so

      P(alive at T + t | x, t_x, T) = P(alive | x, t_x, T) ((beta + T) / (beta + T + t))^s,

  with P(alive) eq. (25) of note 009. (The exponent is s, not s + x: the purchase count
  informs lambda, not mu.)

* **BG/NBD** (Fader, Hardie & Lee 2005) and **MBG/NBD** (Batislam et al. 2007). Dropout
  happens only right after a purchase, with probability p. Alive at T, lambda has the
  posterior Gamma(r + x, alpha + T) and p the posterior Beta(a, b + x + k) (k = 0 for the
  BG/NBD, 1 for the MBG/NBD, which adds a dropout opportunity at the first purchase). A
  customer alive at T with (lambda, p) survives (T, T + t] if each of the Poisson(lambda t)
  purchases in it is followed by staying: E[(1 - p)^N] = e^(-lambda p t). Averaging over
  lambda gives ((alpha + T) / (alpha + T + p t))^(r + x), and over p (Euler's integral and
  Pfaff's transformation of the Gauss hypergeometric function)

      P(alive at T + t | x, t_x, T) = P(alive | x, t_x, T) ((alpha + T) / (alpha + T + t))^a
                                      2F1(a, a + b + k - r; a + b + x + k; t / (alpha + T + t)),

  with P(alive) eq. (1) of FHL's note 021 (BG/NBD) or eq. (5) of Batislam et al. (MBG/NBD).

DERT, the discounted expected residual transactions (Fader, Hardie & Lee 2005, *JMR* 42(4),
"RFM and CLV: Using Iso-Value Curves", eq. (2)), with continuous discounting at rate delta
per time unit of the fit: DERT = int_0^inf e^(-delta t) dE[Y(t) | x, t_x, T]
= int_0^inf delta e^(-delta t) E[Y(t) | x, t_x, T] dt (integration by parts; E[Y(0)] = 0).
Each model has one DERT, its ``dert`` method: the Pareto/NBD's closed form (FHL 2005
eq. (2)), the NBD's (r + x) / ((alpha + T) delta), and for the BG/NBD and MBG/NBD (no closed
form) `discounted_if_alive` below, from the models' conditional expectations (FHL 2005
eq. (10), Wagner & Hoppe 2008) by composite Gauss-Legendre quadrature in log t over
[1e-8 / delta, 60 / delta] (the integrand outside is below 1e-16 of the total). The tests
check the quadrature against the Pareto/NBD's closed form.

`p_alive_at` and `dert` here are thin wrappers of the fits' methods (`clvkit.models.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_one_of
from ..errors import ClvError
from ..units import TIME_UNITS, convert_duration

__all__ = ["p_alive_at", "dert", "continuous_discount_rate", "discounted_if_alive"]

#: Gauss-Legendre rule for DERT: 90 panels of width 1/4 in log t, 8 nodes each.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_PANEL = 0.25
_LOG_LO, _LOG_HI = np.log(1e-8), np.log(60.0)  # in units of 1 / delta
_N_PANELS = int(np.ceil((_LOG_HI - _LOG_LO) / _PANEL))
_NODES = (_LOG_LO + _PANEL * (np.arange(_N_PANELS)[:, None] + (_GL_X[None, :] + 1) / 2)).ravel()
_WEIGHTS = np.tile(_GL_W * _PANEL / 2, _N_PANELS)
#: Customers per block of the quadrature (memory: block x 720 nodes of float64).
_BLOCK = 4096


def method_of(fit: Any, name: str, what: str) -> Callable[..., Any]:
    """``fit.<name>``, or a `ClvError` saying the model does not predict ``what``."""
    found = getattr(fit, name, None)
    if found is None or name.startswith("_"):
        raise ClvError(f"{what} is not a prediction of the "
                       f"{getattr(fit, 'model_name', type(fit).__name__)} (it is one of the "
                       "purchase models BG/NBD, MBG/NBD, Pareto/NBD and NBD; with covariates "
                       "use fit.customer_model(covariates))")
    return found


def p_alive_at(fit: Any, data: Any = None, *, t: Any, frequency: Any = None,
               recency: Any = None, T: Any = None) -> pd.Series | float:  # noqa: N803
    """Probability each customer is still alive ``t`` time units after the end of the data.

    ``fit.p_alive_at(data, t=t, ...)`` (see the module notes for the derivations).

    * Pareto/NBD: P(alive) ((beta + T) / (beta + T + t))^s.
    * BG/NBD (k = 0) and MBG/NBD (k = 1): P(alive) ((alpha + T) / (alpha + T + t))^a
      2F1(a, a + b + k - r; a + b + x + k; t / (alpha + T + t)).

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit, ParetoNBDFit, NBDFit or a fit with static covariates
        Fitted (or given) parameters.
    data : DataFrame or mapping, optional
        Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
    t : float or array-like
        Time after the end of the data (T), in the fit's time unit; scalar or one per
        customer.
    frequency, recency, T : array-like, optional
        The same as arrays.

    Returns
    -------
    Series or float
        ``p_alive`` in [0, 1] indexed like ``data`` (``attrs`` hold ``horizon``); a float if
        every input is a scalar.

    Raises
    ------
    ClvError
        The model has no such prediction.
    DataValidationError
        Invalid customers (`check_customers`).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit, ParetoNBDFit
    >>> bg = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> p_alive_at(bg, frequency=[0, 2], recency=[0, 30.43], T=38.86, t=52).round(3).tolist()
    [0.944, 0.532]
    >>> pnbd = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
    ...                                 time_unit="W")
    >>> round(p_alive_at(pnbd, frequency=2, recency=30.43, T=38.86, t=52), 3)
    0.566
    """
    return method_of(fit, "p_alive_at", "P(alive) at a future time")(
        data, t=t, frequency=frequency, recency=recency, T=T)


def continuous_discount_rate(discount_rate: float, *, discount_period: str,
                             time_unit: str) -> float:
    """Continuously compounded rate per ``time_unit`` of an effective rate per period.

    delta = ln(1 + discount_rate) / (length of ``discount_period`` in ``time_unit``), so
    e^(-delta t) equals (1 + discount_rate)^-(t in periods). The one conversion of every
    model's DERT: the rate must be > 0 (undiscounted, the sum of future purchases can
    diverge).

    Examples
    --------
    >>> round(continuous_discount_rate(0.15, discount_period="Y", time_unit="W"), 6)
    0.002679
    """
    if not (isinstance(discount_rate, int | float | np.integer | np.floating)
            and np.isfinite(discount_rate) and discount_rate > 0):
        raise ClvError(f"`discount_rate` must be > 0 for DERT (got {discount_rate!r}): the "
                       "undiscounted sum of future purchases may diverge; e.g. 0.15 a year")
    check_one_of("discount_period", discount_period, TIME_UNITS)
    if time_unit not in TIME_UNITS:
        raise ClvError(f"the fit has no valid `time_unit` ({time_unit!r}); fit it on a "
                       "summary with attrs['time_unit'] or pass time_unit= to fit")
    return float(np.log1p(discount_rate)
                 / convert_duration(1.0, from_unit=discount_period, to_unit=time_unit))


def discounted_if_alive(expected_if_alive: Callable[[np.ndarray, np.ndarray], np.ndarray],
                        keys: np.ndarray, delta: float) -> np.ndarray:
    """DERT / P(alive) per row by quadrature: int_0^inf delta e^(-delta t) E[Y(t)] / P(alive) dt.

    Parameters
    ----------
    expected_if_alive : callable
        ``expected_if_alive(rows, t)``: E[Y(t) | x, t_x, T] / P(alive) of the rows ``rows``
        (an index array) at the horizons ``t`` of shape (len(rows), nodes).
    keys : ndarray
        One row of numbers per customer that fixes their future given alive (e.g. x and T;
        with covariates also the covariate group): each distinct key is integrated once.
    delta : float
        Continuously compounded discount rate per time unit (`continuous_discount_rate`).

    Returns
    -------
    ndarray
        One value per row of ``keys``; multiply by P(alive) for DERT.
    """
    u = np.exp(_NODES)  # delta * t at the nodes
    weights = _WEIGHTS * u * np.exp(-u)  # d(log t) -> delta t e^(-delta t)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    per_key = np.empty(len(first))
    for start in range(0, len(first), _BLOCK):
        rows = first[start:start + _BLOCK]
        t = np.broadcast_to(u[None, :] / delta, (len(rows), u.size))
        per_key[start:start + _BLOCK] = expected_if_alive(rows, t) @ weights
    return per_key[inverse.ravel()]


def dert(fit: Any, data: Any = None, *, discount_rate: float, discount_period: str,
         frequency: Any = None, recency: Any = None,
         T: Any = None) -> pd.Series | float:  # noqa: N803
    """Discounted expected residual transactions (FHL 2005 JMR eq. (2)): ``fit.dert(...)``.

    DERT = int_0^inf delta e^(-delta t) E[Y(t) | x, t_x, T] dt with delta the continuously
    compounded discount rate per time unit of the fit (`continuous_discount_rate`).
    Multiply by the expected spend per transaction (and a margin) for the residual CLV.

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit, ParetoNBDFit, NBDFit or a fit with static covariates
        Fitted (or given) parameters, with a ``time_unit``.
    data : DataFrame or mapping, optional
        Summary with ``frequency``, ``recency``, ``T`` (in the fit's time unit).
    discount_rate : float
        Effective discount rate per ``discount_period`` (e.g. 0.15 a year), > 0.
    discount_period : {"D", "W", "M", "Y"}
        Period of ``discount_rate``.
    frequency, recency, T : array-like, optional
        The same as arrays.

    Returns
    -------
    Series or float
        ``dert`` indexed like ``data``; ``attrs`` hold the rate, period and ``delta``. A
        float if every input is a scalar.

    Raises
    ------
    ClvError
        A rate <= 0 (the undiscounted sum can diverge), an unknown period, a fit without
        time unit, a model without DERT.
    DataValidationError
        Invalid customers (`check_customers`).

    Examples
    --------
    FHL (2005) discount 15 % a year; CDNOW parameters in weeks:

    >>> from clvkit.models import BGNBDFit
    >>> bg = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> dert(bg, frequency=[0, 2], recency=[0, 30.43], T=38.86, discount_rate=0.15,
    ...      discount_period="Y").round(2).tolist()
    [1.02, 5.18]
    """
    return method_of(fit, "dert", "DERT")(
        data, discount_rate=discount_rate, discount_period=discount_period,
        frequency=frequency, recency=recency, T=T)
