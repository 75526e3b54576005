"""clvkit: Customer Lifetime Value for CRM -- teaching notebooks, validated models, reports."""

from . import datasets, formulas, units
from ._version import __version__
from .errors import ClvError, ConvergenceError, DataValidationError, ReportError
from .io import LoadResult, load_transactions
from .summary import compress_summary, rfm_summary

__all__ = [
    "__version__", "ClvError", "DataValidationError", "ConvergenceError", "ReportError",
    "LoadResult", "load_transactions", "rfm_summary", "compress_summary", "datasets",
    "formulas", "units",
]
