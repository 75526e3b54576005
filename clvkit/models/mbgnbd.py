"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007): BG/NBD with dropout at time zero.

Reference: Batislam, E. P., Denizel, M. & Filiztekin, A. (2007). Empirical validation and
comparison of models for customer base analysis. *International Journal of Research in
Marketing* 24(3), 201-209; the conditional expectation as in Wagner & Hoppe (2008).

The MBG/NBD lets a customer drop out right after the first purchase too, so customers
without repeat purchases are no longer certainly alive. Its formulas are those of the
BG/NBD with b + x - 1 replaced by b + x (one more dropout opportunity); the shared code is
in `clvkit.models.bgnbd`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pandas as pd  # noqa: F401  (used in the doctests)

from .bgnbd import BGNBD, BGNBDFit, BGNBDParams

__all__ = ["MBGNBD", "MBGNBDParams", "MBGNBDFit"]


@dataclass(frozen=True)
class MBGNBDParams(BGNBDParams):
    """MBG/NBD parameters (same meaning as `BGNBDParams`)."""


@dataclass(frozen=True)
class MBGNBDFit(BGNBDFit):
    """A fitted MBG/NBD model (frozen).

    Methods as `BGNBDFit`, with the MBG/NBD formulas: likelihood and P(alive) from
    Batislam et al. (2007), appendix A, eqs. (3) and (5); E[X(t)] eq. (7); the
    conditional expectation E[Y(t) | x, t_x, T] (Wagner & Hoppe 2008) is
    (a + b + x) / (a - 1) [1 - ((alpha + T) / (alpha + T + t))^(r + x)
    2F1(r + x, b + x + 1; a + b + x; t / (alpha + T + t))] / (1 + a / (b + x)
    ((alpha + T) / (alpha + t_x))^(r + x)).

    Examples
    --------
    >>> from clvkit.models import MBGNBDFit
    >>> fit = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
    >>> fit.p_alive(frequency=[0, 2], recency=[0, 30.43], T=38.86).round(3).tolist()
    [0.39, 0.706]
    >>> fit.expected_purchases_new_customer([39]).round(3)
    array([1.183])
    """

    params: MBGNBDParams
    model_name: ClassVar[str] = "MBG/NBD"
    _shift: ClassVar[int] = 1

    @staticmethod
    def _new_customer_terms(a: float, b: float) -> tuple[float, float, float]:
        # E[X(t)] = b / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b + 1; a + b; t / (alpha + t))]
        return b, b + 1, a + b


class MBGNBD(BGNBD):
    """MBG/NBD model (Batislam et al. 2007), fitted like `BGNBD`.

    Examples
    --------
    >>> summary = pd.read_csv("data/cdnow_customers_summary.csv", index_col="ID")
    >>> fit = MBGNBD().fit(summary, time_unit="W")
    >>> fit.params_series().round(3).tolist()
    [0.525, 6.183, 0.891, 1.614]
    """

    params_type = MBGNBDParams
    result_type = MBGNBDFit
    #: no covariate version (the BG/NBD one would predict with the wrong dropout timing)
    covariates_result_type = None
