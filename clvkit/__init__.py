"""clvkit: Customer Lifetime Value for CRM -- teaching notebooks, validated models, reports.

The core (loading, summary, formulas) is imported eagerly; the heavier modules
(models, plotting, report, ...) load on first use, e.g. ``clvkit.models.BGNBD``,
so ``import clvkit`` stays light for report kernels and the command line.
"""

import importlib

from . import datasets, formulas, units
from ._version import __version__
from .errors import ClvError, ConvergenceError, DataValidationError, ReportError
from .io import LoadResult, load_transactions
from .summary import compress_summary, rfm_summary

_LAZY = ("models", "clv", "evaluation", "segments", "economics", "crm", "narrative",
         "plotting", "synthetic", "report", "cli", "metrics", "reconcile", "strategy")

__all__ = [
    "__version__", "ClvError", "DataValidationError", "ConvergenceError", "ReportError",
    "LoadResult", "load_transactions", "rfm_summary", "compress_summary", "datasets",
    "formulas", "units", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'clvkit' has no attribute {name!r}")
