"""Shared helpers for the benchmark scripts: timing, peak memory, table printing."""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def timed(fn: Callable, *, repeat: int = 3):
    """Run ``fn`` ``repeat`` times; return (best seconds, last result)."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line describing the machine the numbers come from."""
    import os

    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}")


def print_table(rows: list[dict], *, title: str) -> None:
    """Print rows as a Markdown table (ready to paste into the README)."""
    frame = pd.DataFrame(rows)
    print(f"\n### {title}\n\n{machine()}\n")
    print(frame.to_markdown(index=False) if _has_tabulate() else frame.to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
