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
The Pareto/NBD has it in closed form (`ParetoNBDFit.dert`); here it is evaluated
numerically for the BG/NBD, MBG/NBD and Pareto/NBD alike, from the models' conditional
expectations (FHL 2005 eq. (10), Wagner & Hoppe 2008, note 009 eq. (41)), by composite
Gauss-Legendre quadrature in log t over [1e-8 / delta, 60 / delta] (the integrand outside
is below 1e-16 of the total).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import hyp2f1

from .._validate import check_one_of, check_positive
from ..errors import ClvError
from ..units import TIME_UNITS, convert_duration
from ._base import RFT, check_customers, check_horizon, prediction
from .bgnbd import BGNBDFit
from .pareto_nbd import ParetoNBDFit

__all__ = ["p_alive_at", "dert", "continuous_discount_rate"]

#: Gauss-Legendre rule for DERT: 90 panels of width 1/4 in log t, 8 nodes each.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_PANEL = 0.25
_LOG_LO, _LOG_HI = np.log(1e-8), np.log(60.0)  # in units of 1 / delta
_N_PANELS = int(np.ceil((_LOG_HI - _LOG_LO) / _PANEL))
_NODES = (_LOG_LO + _PANEL * (np.arange(_N_PANELS)[:, None] + (_GL_X[None, :] + 1) / 2)).ravel()
_WEIGHTS = np.tile(_GL_W * _PANEL / 2, _N_PANELS)
#: Customers per block of the quadrature (memory: block x 720 nodes of float64).
_BLOCK = 4096


def _check_fit(fit: Any, what: str) -> None:
    if not isinstance(fit, BGNBDFit | ParetoNBDFit):
        raise ClvError(f"{what} is implemented for BG/NBD, MBG/NBD and Pareto/NBD fits, not "
                       f"{getattr(fit, 'model_name', type(fit).__name__)}")
    if fit.time_unit not in TIME_UNITS:
        raise ClvError(f"the fit has no valid `time_unit` ({fit.time_unit!r}); fit it on a "
                       "summary with attrs['time_unit'] or pass time_unit= to fit")


def _read(fit: Any, data: Any, given: dict[str, Any]) -> tuple[pd.DataFrame, list[np.ndarray]]:
    frame = fit._read(data, RFT, given)
    check_customers(frame)
    return frame, [frame[c].to_numpy(dtype=float) for c in RFT]


def _p_alive(fit: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:  # noqa: N803
    return np.asarray(fit.p_alive(frequency=x, recency=t_x, T=T), dtype=float)


def p_alive_at(fit: Any, data: Any = None, *, t: Any, frequency: Any = None,
               recency: Any = None, T: Any = None) -> pd.Series | float:  # noqa: N803
    """Probability each customer is still alive ``t`` time units after the end of the data.

    P(alive at T + t | x, t_x, T): P(alive at T) times the posterior probability of
    surviving the next ``t`` (see the module notes for the derivations). With ``t = 0`` it
    is ``fit.p_alive``.

    * Pareto/NBD: P(alive) ((beta + T) / (beta + T + t))^s.
    * BG/NBD (k = 0) and MBG/NBD (k = 1): P(alive) ((alpha + T) / (alpha + T + t))^a
      2F1(a, a + b + k - r; a + b + x + k; t / (alpha + T + t)).

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit or ParetoNBDFit
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
    _check_fit(fit, "P(alive) at a future time")
    frame, (x, t_x, T) = _read(fit, data, {"frequency": frequency, "recency": recency,  # noqa: N806
                                           "T": T})
    t = check_horizon("t", t, len(frame))
    alive = _p_alive(fit, x, t_x, T)
    p = fit.params
    if isinstance(fit, ParetoNBDFit):
        survive = ((p.beta + T) / (p.beta + T + t)) ** p.s
    else:
        k = fit._shift
        survive = (((p.alpha + T) / (p.alpha + T + t)) ** p.a
                   * hyp2f1(p.a, p.a + p.b + k - p.r, p.a + p.b + x + k, t / (p.alpha + T + t)))
    return prediction(np.clip(alive * survive, 0.0, 1.0), frame, "p_alive",
                      time_unit=fit.time_unit, horizon=t if t.ndim == 0 else None)


def continuous_discount_rate(discount_rate: float, *, discount_period: str,
                             time_unit: str) -> float:
    """Continuously compounded rate per ``time_unit`` of an effective rate per period.

    delta = ln(1 + discount_rate) / (length of ``discount_period`` in ``time_unit``), so
    e^(-delta t) equals (1 + discount_rate)^-(t in periods).

    Examples
    --------
    >>> round(continuous_discount_rate(0.15, discount_period="Y", time_unit="W"), 6)
    0.002679
    """
    check_positive("discount_rate", discount_rate)
    check_one_of("discount_period", discount_period, TIME_UNITS)
    check_one_of("time_unit", time_unit, TIME_UNITS)
    return float(np.log1p(discount_rate)
                 / convert_duration(1.0, from_unit=discount_period, to_unit=time_unit))


def dert(fit: Any, data: Any = None, *, discount_rate: float, discount_period: str,
         frequency: Any = None, recency: Any = None,
         T: Any = None) -> pd.Series | float:  # noqa: N803
    """Discounted expected residual transactions, computed numerically (FHL 2005 JMR eq. (2)).

    DERT = int_0^inf delta e^(-delta t) E[Y(t) | x, t_x, T] dt with delta the continuously
    compounded discount rate per time unit of the fit (`continuous_discount_rate`), by
    quadrature in log t (module notes). Multiply by the expected spend per transaction (and
    a margin) for the residual CLV. For the Pareto/NBD it agrees with the closed form
    `ParetoNBDFit.dert`.

    Parameters
    ----------
    fit : BGNBDFit, MBGNBDFit or ParetoNBDFit
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
        time unit.
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
    _check_fit(fit, "DERT")
    if not (np.isfinite(discount_rate) and discount_rate > 0):
        raise ClvError(f"`discount_rate` must be > 0 for DERT (got {discount_rate!r}): the "
                       "undiscounted sum of future purchases may diverge; e.g. 0.15 a year")
    delta = continuous_discount_rate(discount_rate, discount_period=discount_period,
                                     time_unit=fit.time_unit)
    frame, (x, t_x, T) = _read(fit, data, {"frequency": frequency, "recency": recency,  # noqa: N806
                                           "T": T})
    u = np.exp(_NODES)  # delta * t at the nodes
    weights = _WEIGHTS * u * np.exp(-u)  # d(log t) -> delta t e^(-delta t)
    # each distinct (x, T) once: E[Y(t)] / P(alive) depends on nothing else
    pairs, inverse = np.unique(np.column_stack([x, T]), axis=0, return_inverse=True)
    per_pair = np.empty(len(pairs))
    for start in range(0, len(pairs), _BLOCK):
        block = pairs[start:start + _BLOCK]
        e = fit._expected_if_alive(block[:, :1], block[:, 1:], u[None, :] / delta)
        per_pair[start:start + _BLOCK] = e @ weights
    value = per_pair[inverse.ravel()] * _p_alive(fit, x, t_x, T)
    return prediction(value, frame, "dert", time_unit=fit.time_unit,
                      discount_rate=discount_rate, discount_period=discount_period,
                      delta=delta)
