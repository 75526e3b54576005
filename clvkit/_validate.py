"""Small argument checks shared by every module (one helper, one message style)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ClvError

__all__ = ["check_one_of", "check_probability", "check_nonnegative", "check_positive", "brief"]


def brief(value: Any, limit: int = 60) -> str:
    """``repr(value)`` capped at ``limit`` characters: messages never print a whole user value.

    Examples
    --------
    >>> brief("x" * 100, limit=12)
    "'xxxxxxxx... (102 characters)"
    >>> brief([1, 2])
    '[1, 2]'
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 3]}... ({len(text):,} characters)"


def check_one_of(name: str, value: Any, options: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``options``, else raise a `ClvError` naming them.

    Examples
    --------
    >>> check_one_of("returns", "net", ["separate", "net", "drop"])
    'net'
    >>> check_one_of("returns", "keep", ["separate", "net"])
    Traceback (most recent call last):
    ...
    clvkit.errors.ClvError: `returns` must be one of ['separate', 'net'], got 'keep'
    """
    options = list(options)
    if value not in options:
        raise ClvError(f"`{name}` must be one of {options}, got {brief(value)}")
    return value


def _check(name: str, value: Any, ok: np.ndarray, rule: str) -> Any:
    if not np.all(ok):
        raise ClvError(f"`{name}` must be {rule}, got {brief(value)}")
    return value


def check_probability(name: str, value: Any, *, upper_open: bool = True) -> Any:
    """Check a rate lies in [0, 1) (or [0, 1] with ``upper_open=False``).

    Examples
    --------
    >>> check_probability("retention", 0.8)
    0.8
    >>> check_probability("retention", 1.0)
    Traceback (most recent call last):
    ...
    clvkit.errors.ClvError: `retention` must be in [0, 1), got 1.0
    """
    arr = np.asarray(value, dtype=float)
    ok = (arr >= 0) & ((arr < 1) if upper_open else (arr <= 1))
    return _check(name, value, ok, "in [0, 1)" if upper_open else "in [0, 1]")


def check_nonnegative(name: str, value: Any) -> Any:
    """Check a number (or array) is finite and >= 0.

    Examples
    --------
    >>> check_nonnegative("discount_rate", 0.1)
    0.1
    """
    arr = np.asarray(value, dtype=float)
    return _check(name, value, np.isfinite(arr) & (arr >= 0), "finite and >= 0")


def check_positive(name: str, value: Any) -> Any:
    """Check a number (or array) is finite and > 0.

    Examples
    --------
    >>> check_positive("horizon", 0)
    Traceback (most recent call last):
    ...
    clvkit.errors.ClvError: `horizon` must be finite and > 0, got 0
    """
    arr = np.asarray(value, dtype=float)
    return _check(name, value, np.isfinite(arr) & (arr > 0), "finite and > 0")
