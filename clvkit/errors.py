"""One exception family for every user-facing error in clvkit."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ClvError", "DataValidationError", "ConvergenceError", "ReportError", "example_rows"]


class ClvError(Exception):
    """Base class of every error clvkit raises on purpose."""


class DataValidationError(ClvError, ValueError):
    """Input data break the data contract (missing column, bad values, empty file, ...)."""


class ConvergenceError(ClvError, RuntimeError):
    """A model's optimiser did not converge to a valid maximum."""


class ReportError(ClvError):
    """A report could not be configured, executed or written."""


def example_rows(index: Iterable, *, limit: int = 5) -> str:
    """Format the first few row labels of an offending selection for an error message.

    Parameters
    ----------
    index : iterable
        Row labels (positions or ids) of the offending rows.
    limit : int, default 5
        How many labels to show before ``...``.

    Returns
    -------
    str
        ``"3 rows (e.g. 4, 7, 9)"``-style text.

    Examples
    --------
    >>> example_rows([4, 7, 9])
    '3 rows (e.g. 4, 7, 9)'
    >>> example_rows(range(10), limit=2)
    '10 rows (e.g. 0, 1, ...)'
    """
    labels = list(index)
    shown = ", ".join(str(label) for label in labels[:limit])
    more = ", ..." if len(labels) > limit else ""
    noun = "row" if len(labels) == 1 else "rows"
    return f"{len(labels)} {noun} (e.g. {shown}{more})"
