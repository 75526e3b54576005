"""Which engine builds a report's tables: ``--engine {auto,pandas,duckdb,spark}``.

``auto`` picks pandas for a DataFrame and for inputs up to
:data:`AUTO_THRESHOLD_BYTES` on disk, DuckDB above it when DuckDB is installed
(pandas otherwise). The choice and its reason are printed, written to
``manifest.json`` and shown on the index page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .._validate import check_one_of
from ..engines import ENGINES

__all__ = ["AUTO_THRESHOLD_BYTES", "EngineChoice", "choose_engine"]

#: Input size (bytes on disk, a folder's files summed) above which ``auto`` picks DuckDB.
#: The shipped Online Retail file (~9 MB of Parquet, 0.5M rows) stays on pandas; a
#: 1.3M-row CSV (~80 MB) too; 10M rows and more go to DuckDB.
AUTO_THRESHOLD_BYTES = 256 * 2**20


@dataclass(frozen=True)
class EngineChoice:
    """The engine of a report and why it was chosen."""

    name: str
    reason: str
    memory_limit: str | None = None

    def line(self) -> str:
        """One sentence for the progress output, the manifest and the index page."""
        limit = f", memory limit {self.memory_limit}" if self.memory_limit else ""
        return f"engine {self.name} ({self.reason}{limit})"


def _input_bytes(source) -> int | None:
    if not isinstance(source, str | os.PathLike):
        return None
    path = Path(source)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.is_file() else None


def choose_engine(engine: str = "auto", *, source=None,
                  memory_limit: str | None = None) -> EngineChoice:
    """Resolve ``engine`` (``auto`` by the input's size) into an :class:`EngineChoice`.

    Examples
    --------
    >>> choose_engine("duckdb", memory_limit="2GB").line()
    'engine duckdb (chosen with --engine, memory limit 2GB)'
    >>> import pandas as pd
    >>> choose_engine("auto", source=pd.DataFrame()).line()
    'engine pandas (auto: the data are a DataFrame in memory)'
    """
    import importlib.util

    check_one_of("engine", engine, ENGINES)
    if engine != "auto":
        return EngineChoice(engine, "chosen with --engine", memory_limit)
    size = _input_bytes(source)
    if size is None:
        return EngineChoice("pandas", "auto: the data are a DataFrame in memory", memory_limit)
    mb, limit = size / 2**20, AUTO_THRESHOLD_BYTES / 2**20
    if size <= AUTO_THRESHOLD_BYTES:
        return EngineChoice("pandas", f"auto: input {mb:,.1f} MB, at most {limit:,.0f} MB",
                            memory_limit)
    if importlib.util.find_spec("duckdb") is None:
        return EngineChoice("pandas", f"auto: input {mb:,.1f} MB, over {limit:,.0f} MB, but "
                            "duckdb is not installed", memory_limit)
    return EngineChoice("duckdb", f"auto: input {mb:,.1f} MB, over {limit:,.0f} MB",
                        memory_limit)
