r"""One RFM summary, several engines: pandas, DuckDB and Spark SQL.

The step from raw transactions to the per-customer summary touches every row; the
models afterwards only need one row per distinct ``(frequency, recency, T)`` with its
``weights`` (number of customers). This module runs that step where the data live:

``"pandas"``
    In memory; delegates to :func:`clvkit.summary.rfm_summary` (the reference).
``"duckdb"``
    Embedded, out of core: Parquet and CSV files are scanned directly with
    ``read_parquet`` / ``read_csv`` (never loaded whole into pandas); aggregations
    spill to a temporary directory when they exceed ``memory_limit``.
``"spark"``
    Spark SQL through PySpark: ``local[2]`` by default, any cluster when you pass
    your own ``SparkSession``.
``"auto"`` (default)
    pandas for DataFrames and small files; DuckDB (when installed) for files
    whose on-disk size times 10 exceeds the available memory.

The summary is written **once**, as the SQL of :func:`summary_sql`; DuckDB and
Spark SQL run the same text (the only dialect gap, a day number, is bridged by a
one-line DuckDB macro ``unix_date``). Conventions are those of
:mod:`clvkit.summary` (Fader, Hardie & Lee 2005): purchases are counted per
calendar day, ``frequency`` = purchase days - 1, durations between calendar days
in an explicit unit (:data:`clvkit.units.DAYS_PER_UNIT`; months are mean
Gregorian months), ``monetary_value`` = mean value of the repeat purchase days,
inclusive dates. All engines give the same numbers (frequency exactly, floats up
to summation order).

The SQL engines expect *clean* transactions (what :func:`clvkit.load_transactions`
produces, e.g. saved to Parquet): a missing customer id, date or amount is an
error, and amounts are used as they are (no return handling, no cleaning log).

Running on a Spark cluster
--------------------------
The same call runs on a cluster when you pass a ``SparkSession`` connected to it;
clvkit never creates a session when one is given. Paths are then read by the
cluster, so give locations it can see (HDFS, S3, a shared mount), e.g.::

    from pyspark.sql import SparkSession
    spark = (SparkSession.builder
             .master("spark://head-node:7077")        # or "yarn", "k8s://https://..."
             .config("spark.executor.memory", "8g")
             .config("spark.sql.session.timeZone", "UTC")
             .getOrCreate())
    summary = rfm_summary_engine("s3a://bucket/transactions/*.parquet", engine="spark",
                                 spark=spark, observation_end="2024-12-31",
                                 compress=True)

A Spark ``DataFrame`` already in the cluster can be passed as ``source`` too. With
``compress=True`` only the distinct ``(frequency, recency, T)`` rows and their
weights travel back to the driver, which is what the models need
(``BGNBD().fit(summary, weights=summary["weights"])``). Spark needs Java 17+
(``make java`` installs Debian's headless JRE); Databricks and most managed
clusters provide a session as ``spark``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._extras import require
from ._validate import check_one_of
from .contract import ID_ORDER_SQL, as_day, check_transactions
from .errors import ClvError, DataValidationError
from .io import LoadResult
from .parsing import ID_DTYPE, normalise_ids, parse_dates, parse_numbers
from .reading import format_from_name, probe_file, read_table
from .summary import compress_summary, rfm_summary
from .units import DAYS_PER_UNIT, TIME_UNITS

__all__ = [
    "ENGINES",
    "EngineError",
    "rfm_summary_engine",
    "write_rfm_summary",
    "summary_sql",
    "local_spark",
    "run_sql",
]

#: Engine names accepted by ``engine=`` (``"auto"`` picks one of the others).
ENGINES = ("auto", "pandas", "duckdb", "spark")
_MONETARY = ("mean", "mean_all", "sum")
_SOURCE_VIEW = "clvkit_transactions"
_EPOCH = pd.Timestamp("1970-01-01")


class EngineError(ClvError):
    """An engine cannot run here (package not installed, Java missing, ...)."""


# --------------------------------------------------------------------------- the SQL


def summary_sql(*, source: str, observation_end, time_unit: str = "W",
                calibration_end=None, monetary: str = "mean",
                compress: bool = False) -> str:
    """The RFM / calibration-holdout summary as one SQL query (DuckDB and Spark SQL).

    Parameters
    ----------
    source : str
        Name of a table or view with the canonical columns ``customer_id``, ``date``
        (date, timestamp or ISO text) and ``amount``.
    observation_end, time_unit, calibration_end, monetary
        As in :func:`clvkit.summary.rfm_summary`.
    compress : bool, default False
        Return the distinct ``(frequency, recency, T)`` rows with a ``weights`` count
        instead of one row per customer.

    Returns
    -------
    str
        The query. It uses ``unix_date(date)`` (days since 1970-01-01), built into
        Spark SQL and defined as a macro on DuckDB connections by this module.

    Examples
    --------
    >>> sql = summary_sql(source="tx", observation_end="1997-01-29", time_unit="W")
    >>> print(sql.splitlines()[0])
    WITH tx_days AS (
    """
    check_one_of("time_unit", time_unit, TIME_UNITS)
    check_one_of("monetary", monetary, _MONETARY)
    obs_day, cal_day = _day_numbers(observation_end, calibration_end)
    # the unit as a DOUBLE parsed from its shortest repr: the same IEEE value as in Python
    per = f"CAST('{DAYS_PER_UNIT[time_unit]!r}' AS DOUBLE)"
    value = {
        "mean": "CASE WHEN c.occasions > 1 THEN (c.total - c.first_value) "
                "/ CAST(c.occasions - 1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END",
        "mean_all": "c.total / CAST(c.occasions AS DOUBLE)",
        "sum": "c.total",
    }[monetary]
    holdout = ""
    if calibration_end is not None:
        holdout = f""",
       CAST(COALESCE(h.days, 0) AS BIGINT) AS frequency_holdout,
       COALESCE(h.mean_value, CAST(0 AS DOUBLE)) AS monetary_value_holdout,
       CAST({obs_day - cal_day} AS DOUBLE) / {per} AS duration_holdout"""
    per_customer = f"""SELECT c.customer_id,
       CAST(c.occasions - 1 AS BIGINT) AS frequency,
       CAST(c.last_day - c.first_day AS DOUBLE) / {per} AS recency,
       CAST({cal_day} - c.first_day AS DOUBLE) / {per} AS T,
       {value} AS monetary_value{holdout}
FROM calibration c
LEFT JOIN holdout h ON h.customer_id = c.customer_id"""
    if compress:
        tail = f"""SELECT frequency, recency, T, COUNT(*) AS weights
FROM ({per_customer}) per_customer
GROUP BY frequency, recency, T
ORDER BY frequency, recency, T"""
    else:
        tail = per_customer + "\nORDER BY " + ID_ORDER_SQL.format(id="c.customer_id")
    return f"""WITH tx_days AS (
  SELECT customer_id, unix_date(TRY_CAST(date AS DATE)) AS day_number,
         TRY_CAST(amount AS DOUBLE) AS amount
  FROM {source}
),
daily AS (
  SELECT customer_id, day_number, SUM(amount) AS value
  FROM tx_days
  WHERE day_number <= {obs_day}
  GROUP BY customer_id, day_number
),
calibration AS (
  SELECT customer_id, COUNT(*) AS occasions, MIN(day_number) AS first_day,
         MAX(day_number) AS last_day, SUM(value) AS total,
         min_by(value, day_number) AS first_value
  FROM daily
  WHERE day_number <= {cal_day}
  GROUP BY customer_id
),
holdout AS (
  SELECT customer_id, COUNT(*) AS days, AVG(value) AS mean_value
  FROM daily
  WHERE day_number > {cal_day}
  GROUP BY customer_id
)
{tail}"""


def _check_sql(source: str) -> str:
    """Rows, unusable rows and the calibration start: the contract checked in one scan."""
    return f"""SELECT COUNT(*) AS n_rows,
       SUM(CASE WHEN customer_id IS NULL OR TRY_CAST(date AS DATE) IS NULL
                  OR TRY_CAST(amount AS DOUBLE) IS NULL
                  OR isnan(TRY_CAST(amount AS DOUBLE)) THEN 1 ELSE 0 END) AS n_bad
FROM {source}"""


def _day_numbers(observation_end, calibration_end) -> tuple[int, int]:
    obs_end = as_day(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else as_day(calibration_end, "calibration_end")
    if cal_end > obs_end:
        raise DataValidationError(f"calibration_end ({cal_end.date()}) is after "
                                  f"observation_end ({obs_end.date()})")
    return (obs_end - _EPOCH).days, (cal_end - _EPOCH).days


# --------------------------------------------------------------------------- public API


def rfm_summary_engine(
    source: pd.DataFrame | LoadResult | str | os.PathLike | Sequence[str] | Any,
    *,
    observation_end,
    time_unit: str = "W",
    calibration_end=None,
    monetary: str = "mean",
    engine: str = "auto",
    columns: Mapping[str, str] | None = None,
    compress: bool = False,
    spark: Any = None,
    duckdb_connection: Any = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """RFM summary (as :func:`clvkit.summary.rfm_summary`) computed on a chosen engine.

    Parameters
    ----------
    source : DataFrame, LoadResult, path, glob or list of paths
        Transactions: in memory, or Parquet / CSV(.gz) files (a glob such as
        ``"data/tx-*.parquet"`` reads them all). With ``engine="spark"`` also a Spark
        DataFrame; paths with a scheme (``s3a://``, ``hdfs://``) go to the engine as is.
    observation_end : date-like
        Last day observed (inclusive).
    time_unit : {"D", "W", "M", "Y"}, default "W"
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    calibration_end : date-like, optional
        End of the calibration period (inclusive); adds the holdout columns.
    monetary : {"mean", "mean_all", "sum"}, default "mean"
        As in :func:`clvkit.summary.rfm_summary`.
    engine : {"auto", "pandas", "duckdb", "spark"}, default "auto"
        Where to compute (see the module docstring).
    columns : mapping, optional
        Names of the source columns, keyed by canonical name, e.g.
        ``{"customer_id": "CustomerID", "date": "InvoiceDate", "amount": "Revenue"}``.
    compress : bool, default False
        Return the distinct ``(frequency, recency, T)`` rows with an integer
        ``weights`` (number of customers), sorted; fit models on them with
        ``weights=summary["weights"]``.
    spark : SparkSession, optional
        Session to use with ``engine="spark"`` (default: :func:`local_spark`).
    duckdb_connection : duckdb.DuckDBPyConnection, optional
        Connection to use with ``engine="duckdb"`` (default: a new in-memory one).
    memory_limit : str, optional
        DuckDB memory limit such as ``"4GB"`` (default: DuckDB's, 80% of RAM).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (or, with ``compress=True``, a RangeIndex), with
        ``attrs`` ``time_unit``, ``calibration_end``, ``observation_end`` and
        ``engine``.

    Raises
    ------
    DataValidationError
        Missing or unreadable file, missing column, rows with missing customer id,
        date or amount, empty calibration period.
    EngineError
        The engine's package (or, for Spark, Java) is not installed.

    Examples
    --------
    Three customers; ``a`` came back two weeks after the first purchase:

    >>> tx = pd.DataFrame({"cust": ["a", "a", "a", "b", "c"],
    ...                    "day": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08",
    ...                            "2024-01-08"],
    ...                    "eur": [10.0, 5.0, 20.0, 7.0, 3.0]})
    >>> names = {"customer_id": "cust", "date": "day", "amount": "eur"}
    >>> rfm_summary_engine(tx, engine="duckdb", columns=names, observation_end="2024-01-29")
                 frequency  recency    T  monetary_value
    customer_id
    a                    1      2.0  4.0            20.0
    b                    0      0.0  3.0             0.0
    c                    0      0.0  3.0             0.0
    >>> rfm_summary_engine(tx, engine="duckdb", columns=names, observation_end="2024-01-29",
    ...                    compress=True)
       frequency  recency    T  weights
    0          0      0.0  3.0        2
    1          1      2.0  4.0        1
    """
    check_one_of("engine", engine, ENGINES)
    check_one_of("time_unit", time_unit, TIME_UNITS)
    check_one_of("monetary", monetary, _MONETARY)
    names = _column_names(columns)
    frame, paths = _split_source(source, engine)
    if engine == "auto":
        engine = _auto_engine(frame, paths)
    options = dict(observation_end=observation_end, time_unit=time_unit,
                   calibration_end=calibration_end, monetary=monetary)
    if engine == "pandas":
        data = frame if frame is not None else _read_files_pandas(paths)
        out = rfm_summary(_canonical_frame(data, names), **options)
        out = compress_summary(out) if compress else out
    else:
        if isinstance(frame, pd.DataFrame):
            frame = _prepare_frame(frame, names)
        query = summary_sql(source=_SOURCE_VIEW, compress=compress, **options)
        run = _run_duckdb if engine == "duckdb" else _run_spark
        out = run(query, frame=frame, paths=paths, names=names, spark=spark,
                  connection=duckdb_connection, memory_limit=memory_limit)
        if not compress:
            if not pd.api.types.is_numeric_dtype(out[C.CUSTOMER_ID]):  # text ids
                out[C.CUSTOMER_ID] = out[C.CUSTOMER_ID].astype(ID_DTYPE)
            out = out.set_index(C.CUSTOMER_ID)
    obs_end = as_day(observation_end, "observation_end")
    cal_end = obs_end if calibration_end is None else as_day(calibration_end, "calibration_end")
    out.attrs.update(time_unit=time_unit, calibration_end=str(cal_end.date()),
                     observation_end=str(obs_end.date()), engine=engine)
    return out


def write_rfm_summary(
    source: Any,
    out: str | os.PathLike,
    *,
    observation_end,
    time_unit: str = "W",
    calibration_end=None,
    monetary: str = "mean",
    engine: str = "auto",
    columns: Mapping[str, str] | None = None,
    compress: bool = False,
    spark: Any = None,
    duckdb_connection: Any = None,
    memory_limit: str | None = None,
    force: bool = False,
) -> int:
    """Compute the summary on an engine and write it to ``out`` (.parquet or .csv).

    With DuckDB the result streams from the query to the file (``COPY ... TO``), so
    neither the transactions nor the customers pass through pandas. Other engines
    write the DataFrame of :func:`rfm_summary_engine`. ``customer_id`` is the first
    column; the time unit and period ends are stored as Parquet key-value metadata
    (DuckDB) or pandas ``attrs`` (pandas, Spark). The output follows the rules of
    :func:`clvkit.outputs.write_table`: it appears only when complete (written under
    a temporary name in the same folder, then renamed), an existing file is replaced
    only with ``force``, an input file never, and CSV customer ids that a spreadsheet
    would run as a formula are prefixed with ``'`` (:func:`clvkit.outputs.spreadsheet_safe`).

    Parameters
    ----------
    source : DataFrame, LoadResult, path, glob or list of paths
        As in :func:`rfm_summary_engine`.
    out : path
        Output file: ``.csv``, or ``.parquet``/``.pq`` for Parquet; other suffixes
        are refused.
    observation_end, time_unit, calibration_end, monetary, engine, columns, compress, \
spark, duckdb_connection, memory_limit
        As in :func:`rfm_summary_engine`.
    force : bool, default False
        Replace an existing ``out`` (never one of the input files).

    Returns
    -------
    int
        Rows written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "amount": [1.0, 2.0, 3.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-02"])})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "summary.parquet"
    >>> write_rfm_summary(tx, path, engine="duckdb", observation_end="2024-01-15")
    2
    >>> pd.read_parquet(path)["frequency"].tolist()
    [1, 0]
    """
    import re

    from . import outputs

    out = Path(out)
    parquet = outputs.table_format(out) == "parquet"
    check_one_of("engine", engine, ENGINES)
    frame, paths = _split_source(source, engine)
    outputs.check_output_file(out, force=force, protect=[p for p in paths or () if "://" not in p])
    if engine == "auto":
        engine = _auto_engine(frame, paths)
    periods = dict(observation_end=observation_end, time_unit=time_unit,
                   calibration_end=calibration_end, monetary=monetary)
    with outputs.atomic_output(out, force=force) as partial:
        if engine == "duckdb":
            names = _column_names(columns)
            query = summary_sql(source=_SOURCE_VIEW, compress=compress, **periods)
            obs_end, cal_end = _day_numbers(observation_end, calibration_end)
            meta = {"time_unit": time_unit,
                    "observation_end": str((_EPOCH + pd.Timedelta(days=obs_end)).date()),
                    "calibration_end": str((_EPOCH + pd.Timedelta(days=cal_end)).date())}
            fmt = ("FORMAT parquet, KV_METADATA {"
                   + ", ".join(f"{k}: '{v}'" for k, v in meta.items()) + "}"
                   if parquet else "FORMAT csv, HEADER true")
            select = "%QUERY%"
            if not (parquet or compress):
                select = (f"SELECT * REPLACE ({outputs.spreadsheet_safe_sql(C.CUSTOMER_ID)} AS "
                          f"{C.CUSTOMER_ID}) FROM (%QUERY%)")
            if frame is not None:
                frame = _prepare_frame(frame, names)
            target = str(partial).replace("'", "''")
            try:
                _run_duckdb(query, frame=frame, paths=paths, names=names,
                            connection=duckdb_connection, memory_limit=memory_limit,
                            copy_to=f"COPY ({select}) TO '{target}' ({fmt})")
            except ClvError as err:     # DuckDB failed writing (disk full, ...): name `out`
                if partial.name not in str(err):
                    raise
                code = re.search(r'"errno":\s*"(\d+)"', str(err))
                cause = os.strerror(int(code[1])) if code else str(err).splitlines()[-1]
                raise outputs.OutputError(f"cannot write {out}: {cause}") from None
        else:
            table = rfm_summary_engine(source, engine=engine, columns=columns,
                                       compress=compress, spark=spark, **periods)
            table = table if compress else table.reset_index()
            if parquet:
                table.to_parquet(partial, index=False)
            else:
                outputs.spreadsheet_safe(table).to_csv(partial, index=False)
        rows = _count_rows(partial, parquet)
        if rows == 0:
            _empty_check(pd.DataFrame())
    return rows


def local_spark(*, cores: int = 2, app_name: str = "clvkit",
                config: Mapping[str, str] | None = None):
    """A small local SparkSession (created once, reused): ``local[cores]``, no UI, UTC.

    Settings: ``spark.ui.enabled=false``, ``spark.sql.shuffle.partitions=4``,
    ``spark.sql.session.timeZone=UTC``, Arrow transfers to pandas and Python workers
    running this interpreter (``PYSPARK_PYTHON`` unless already set: the id
    normalisation runs there and needs pandas), plus ``config``
    (e.g. ``{"spark.driver.memory": "4g"}``; only used when the session is created).
    To use a cluster, build your own session and pass it as ``spark=`` instead (see
    the module docstring).

    Raises
    ------
    EngineError
        PySpark is not installed or no Java runtime is found.
    """
    _require_java()
    SparkSession = require("pyspark.sql", error=EngineError).SparkSession
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers: this interpreter
    with _quiet_pyspark():
        builder = (SparkSession.builder.master(f"local[{cores}]").appName(app_name)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "4")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC"))
        for key, value in (config or {}).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    return session


# --------------------------------------------------------------------------- sources


def _column_names(columns: Mapping[str, str] | None) -> dict[str, str]:
    names = {c: c for c in C.REQUIRED}
    for key, value in (columns or {}).items():
        check_one_of("columns key", key, C.REQUIRED)
        names[key] = value
    return names


def _split_source(source: Any, engine: str) -> tuple[Any, list[str] | None]:
    """(in-memory frame, None) or (None, file paths)."""
    if isinstance(source, LoadResult):
        return source.transactions, None
    if isinstance(source, pd.DataFrame):
        return source, None
    if isinstance(source, (str, os.PathLike)):
        return None, _expand(str(source))
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(s, (str, os.PathLike)) for s in source):
        return None, [p for s in source for p in _expand(str(s))]
    if engine == "spark" and type(source).__module__.startswith("pyspark"):
        return source, None
    raise DataValidationError(f"source must be a DataFrame, a LoadResult, a file path, a glob "
                              f"or a list of paths, got {type(source).__name__}")


def _expand(path: str) -> list[str]:
    """Local paths and globs -> checked files; remote URIs (``scheme://``) pass as is."""
    if "://" in path:
        return [path]
    if glob.has_magic(path):
        found = sorted(glob.glob(path))
        if not found:
            raise DataValidationError(f"no file matches {path}")
        return [_check_file(Path(p)) for p in found]
    return [_check_file(Path(path))]


def _check_file(path: Path) -> str:
    info = probe_file(path)  # missing, not regular, empty, misnamed: one-line errors
    if info.format == "excel":
        raise DataValidationError(f"{path} is an Excel file: the SQL engines read Parquet and "
                                  "CSV; use engine='pandas' or convert it to Parquet")
    return str(path)


def _check_sql_readable(paths: list[str]) -> None:
    """DuckDB and Spark take the codec from the name: refuse what they would misread."""
    for name in paths:
        if "://" in name:
            continue
        info = probe_file(name)
        gzip_named = name.lower().endswith(".gz")
        head = info.head   # probe_file read the first (decompressed) bytes already
        if info.format == "csv":
            if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:4] == b"\x00\x00\xfe\xff":
                raise DataValidationError(
                    f"{name} is UTF-16/UTF-32 text (byte-order mark); the SQL engines read "
                    "UTF-8 only: use engine='pandas' (CLI: --engine pandas), which reads it, "
                    "or re-save the file as UTF-8")
        if (info.compression is None and not gzip_named) or (
                info.compression == "gzip" and gzip_named and info.format == "csv"):
            continue
        what = (f"{info.compression}-compressed" if info.compression
                else "named .gz but not compressed")
        raise DataValidationError(f"{name} is {what}; the SQL engines read Parquet, plain CSV "
                                  "and gzip CSV named .gz: use engine='pandas' (CLI: --engine "
                                  "pandas), which reads this file, or decompress / rename it")


def _auto_engine(frame: Any, paths: list[str] | None) -> str:
    if frame is not None:
        return "pandas"
    local = [p for p in paths if "://" not in p]
    size = sum(os.path.getsize(p) for p in local)
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        available = 8 * 2**30
    big = len(local) < len(paths) or size * 10 > available
    if big and _has_module("duckdb"):
        return "duckdb"
    return "pandas"


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _read_files_pandas(paths: list[str]) -> pd.DataFrame:
    frames = [read_table(p) for p in paths]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _canonical_frame(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Select and rename the three required columns; parse text dates."""
    missing = [src for src in names.values() if src not in frame.columns]
    if missing:
        raise DataValidationError(f"transactions lack column(s) {missing}; found "
                                  f"{list(frame.columns)}. Map yours with columns={{...}}")
    out = pd.DataFrame({canon: frame[src] for canon, src in names.items()})
    # text columns are read as the loader reads them: ids as written (trimmed, NFC), one
    # date format and one number convention per column decided from all values (not
    # format="mixed", which reads 05/06/2024 month first beside 13/06/2024 day first)
    if not pd.api.types.is_numeric_dtype(out[C.CUSTOMER_ID]):
        out[C.CUSTOMER_ID] = normalise_ids(out[C.CUSTOMER_ID],
                                           column=names[C.CUSTOMER_ID]).values
    if not pd.api.types.is_datetime64_any_dtype(out[C.DATE]):
        out[C.DATE] = parse_dates(out[C.DATE], column=names[C.DATE]).values
    if not pd.api.types.is_numeric_dtype(out[C.AMOUNT]):
        out[C.AMOUNT] = parse_numbers(out[C.AMOUNT], column=names[C.AMOUNT]).values
    return out


def _prepare_frame(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """An in-memory source for the SQL engines: mapped, checked as rfm_summary checks it."""
    frame = _canonical_frame(frame, names)
    check_transactions(frame)
    return _sql_ready(frame)


def _sql_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Calendar days as naive datetimes (time zones resolved as pandas does), float amounts."""
    day = frame[C.DATE].dt.normalize()
    if day.dt.tz is not None:
        day = day.dt.tz_localize(None)
    return frame.assign(**{C.DATE: day.astype("datetime64[us]"),
                           C.AMOUNT: frame[C.AMOUNT].astype("float64")})


# --------------------------------------------------------------------------- DuckDB


@contextlib.contextmanager
def _duckdb_session(connection=None, memory_limit: str | None = None):
    """A DuckDB connection set up for clvkit's SQL: spill directory, memory limit, ``unix_date``.

    A connection of the caller keeps its own settings (only the limit and the macro
    are added) and stays open; an own connection and its spill directory are removed.
    """
    duckdb = require("duckdb", error=EngineError)
    own = connection is None
    con = duckdb.connect() if own else connection
    scratch = tempfile.mkdtemp(prefix="clvkit-duckdb-") if own else None
    try:
        if own:
            con.execute(f"SET temp_directory = '{scratch}'")
            con.execute("SET preserve_insertion_order = false")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("CREATE OR REPLACE TEMP MACRO unix_date(d) AS "
                    "(CAST(d AS DATE) - DATE '1970-01-01')")
        yield con
    finally:
        if own:
            con.close()
            shutil.rmtree(scratch, ignore_errors=True)


def run_sql(queries: Mapping[str, str], *, frames: Mapping[str, pd.DataFrame],
            engine: str, spark: Any = None, duckdb_connection: Any = None,
            memory_limit: str | None = None) -> dict[str, pd.DataFrame]:
    """Run ``queries`` (name -> SQL) on DuckDB or Spark over ``frames`` registered as views.

    The SQL texts are the same for both engines (``unix_date`` is built into Spark
    and defined on DuckDB connections here). ``date`` columns of the frames are
    passed as calendar days.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "amount": [1.0, 2.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-03"])})
    >>> run_sql({"n": "SELECT COUNT(*) AS n, SUM(amount) AS total FROM tx"},
    ...         frames={"tx": tx}, engine="duckdb")["n"]
       n  total
    0  2    3.0
    """
    check_one_of("engine", engine, ("duckdb", "spark"))
    frames = {name: _sql_ready(frame) if C.DATE in frame else frame
              for name, frame in frames.items()}
    if engine == "duckdb":
        duckdb = require("duckdb", error=EngineError)
        with _duckdb_session(duckdb_connection, memory_limit) as con:
            try:
                for name, frame in frames.items():
                    con.register(name, frame)
                return {key: con.execute(query).df() for key, query in queries.items()}
            except duckdb.Error as exc:
                raise DataValidationError(f"DuckDB could not run the report's query: "
                                          f"{_first_line(exc)}") from None
            finally:
                for name in frames:
                    con.unregister(name)
    session = spark if spark is not None else local_spark()
    cached = []
    try:
        with _quiet_pyspark():
            for name, frame in frames.items():
                data = (frame.assign(**{C.DATE: frame[C.DATE].dt.date}) if C.DATE in frame
                        else frame)
                # cached once: the queries read a view several times, and each read of a
                # DataFrame made from pandas would convert it again
                view = session.createDataFrame(data).cache()
                cached.append(view)
                view.createOrReplaceTempView(name)
            return {key: session.sql(query).toPandas() for key, query in queries.items()}
    finally:
        for name in frames:
            session.catalog.dropTempView(name)
        for view in cached:
            view.unpersist()


def _run_duckdb(query: str, *, frame, paths, names, connection=None, memory_limit=None,
                copy_to: str | None = None, **_: Any) -> pd.DataFrame | None:
    duckdb = require("duckdb", error=EngineError)
    label = "the DataFrame" if frame is not None else ", ".join(paths[:3])
    if frame is None:
        _check_sql_readable(paths)
    with _duckdb_session(connection, memory_limit) as con:
        return _duckdb_query(con, duckdb, query, frame=frame, paths=paths, names=names,
                             label=label, copy_to=copy_to, own=connection is None)


def _duckdb_query(con, duckdb, query, *, frame, paths, names, label, copy_to, own):
    try:
        if frame is not None:
            con.register("clvkit_frame", frame)
            scan = "clvkit_frame"
            renamed = ", ".join(C.REQUIRED)
        else:
            found = [row[0] for row in
                     con.execute(f"DESCRIBE SELECT * FROM {_duckdb_scan(paths)}").fetchall()]
            _check_columns(names, found, label)
            scan = _duckdb_scan(paths, text_column=names[C.CUSTOMER_ID])
            types = {row[0]: row[1] for row in
                     con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
            renamed = ", ".join(
                (_duckdb_id(names[canon], types[names[canon]]) if canon == C.CUSTOMER_ID
                 else _quote(src)) + f" AS {canon}" for canon, src in names.items())
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_SOURCE_VIEW} AS SELECT {renamed} "
                    f"FROM {scan}")
        if frame is None:
            _check_counts(con.execute(_check_sql(_SOURCE_VIEW)).fetchone(), label)
        if copy_to is not None:
            con.execute(copy_to.replace("%QUERY%", query))
            return None
        out = con.execute(query).df()
    except duckdb.Error as exc:
        raise DataValidationError(f"DuckDB could not summarise {label}: "
                                  f"{_first_line(exc)}") from None
    finally:
        if not own:
            con.execute(f"DROP VIEW IF EXISTS {_SOURCE_VIEW}")
            if frame is not None:
                con.unregister("clvkit_frame")
    return _empty_check(out)


def _duckdb_scan(paths: list[str], *, text_column: str | None = None) -> str:
    """A DuckDB scan of the files; ``text_column`` of a CSV is read as VARCHAR, as written."""
    listed = "[" + ", ".join(_sql_text(p) for p in paths) + "]"
    kinds = {format_from_name(p) for p in paths}
    if kinds == {"parquet"}:
        return f"read_parquet({listed})"
    if kinds == {"csv"}:
        types = "" if text_column is None else f", types = {{{_sql_text(text_column)}: 'VARCHAR'}}"
        return f"read_csv({listed}, header = true{types})"
    raise DataValidationError(f"the files mix formats ({sorted(kinds)}); pass one format")


#: What Python's str.strip() removes and DuckDB's trim() must remove too.
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003"
               "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _duckdb_id(column: str, sql_type: str) -> str:
    """The customer id as clvkit.parsing.normalise_ids writes it: text as written.

    Text is stripped of surrounding whitespace and NFC-normalised; integer ids are
    written as integers; float ids only when integral (others become NULL and are
    refused by the contract check, as the pandas loader refuses them).
    """
    name = _quote(column)
    kind = sql_type.upper()
    if kind in {"FLOAT", "DOUBLE", "REAL"} or kind.startswith("DECIMAL"):
        return (f"CASE WHEN {name} = round({name}) AND abs({name}) < 9007199254740992 "
                f"THEN CAST(CAST({name} AS HUGEINT) AS VARCHAR) END")
    if kind == "VARCHAR":
        return f"NULLIF(nfc_normalize(trim({name}, {_sql_text(_WHITESPACE)})), '')"
    return f"CAST({name} AS VARCHAR)"


def _check_columns(names: dict[str, str], found: Sequence[str], label: str) -> None:
    missing = [src for src in names.values() if src not in found]
    if missing:
        raise DataValidationError(
            f"{label} lacks column(s) {missing}; found {list(found)}. Map yours with "
            "columns={'customer_id': ..., 'date': ..., 'amount': ...} (CLI: --customer-id, "
            "--date, --amount)")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_counts(row: tuple, label: str) -> None:
    n_rows, n_bad = int(row[0] or 0), int(row[1] or 0)
    if n_rows == 0:
        raise DataValidationError(f"{label} has no rows: nothing to summarise")
    if n_bad:
        raise DataValidationError(
            f"{n_bad:,} of {n_rows:,} rows of {label} have a missing customer id, an "
            "unparsable date or a missing amount; clean them with clvkit.load_transactions "
            "(CLI: clvkit validate) or use --engine pandas")


def _empty_check(out: pd.DataFrame) -> pd.DataFrame:
    if out.empty:
        raise DataValidationError("no purchases on or before the calibration end: the "
                                  "calibration period is empty")
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _count_rows(path: Path, parquet: bool) -> int:
    if parquet:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


# --------------------------------------------------------------------------- Spark


def _require_java() -> None:
    home = os.environ.get("JAVA_HOME")
    if shutil.which("java") or (home and (Path(home) / "bin" / "java").exists()):
        return
    raise EngineError("engine='spark' needs a Java runtime (17 or newer) and none was found "
                      "on PATH or in JAVA_HOME; install one with `make java` (Debian: "
                      "apt-get install default-jre-headless)")


@contextlib.contextmanager
def _quiet_pyspark():
    """Silence PySpark 4.x's notices about pandas 3 (the transfers used here are tested)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support",
                                category=FutureWarning)
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated")
        yield


def _run_spark(query: str, *, frame, paths, names, spark=None, **_: Any) -> pd.DataFrame:
    session = spark if spark is not None else local_spark()
    from pyspark.errors import PySparkException

    label = "the DataFrame" if frame is not None else ", ".join(paths[:3])
    if frame is None:
        _check_sql_readable(paths)
    in_pandas = isinstance(frame, pd.DataFrame)
    try:
        with _quiet_pyspark():
            if in_pandas:
                data = session.createDataFrame(frame.assign(**{C.DATE: frame[C.DATE].dt.date}))
            else:
                data = (_spark_read(session, paths, text_column=names[C.CUSTOMER_ID])
                        if frame is None else frame)
                _check_columns(names, data.columns, label)
                data = data.selectExpr(*(f"`{src}` AS {canon}" for canon, src in names.items()))
                data = _spark_ids(data)
            data.createOrReplaceTempView(_SOURCE_VIEW)
            if not in_pandas:
                _check_counts(session.sql(_check_sql(_SOURCE_VIEW)).first(), label)
            out = session.sql(query).toPandas()
    except PySparkException as exc:
        raise DataValidationError(f"Spark could not summarise {label}: "
                                  f"{_first_line(exc)}") from None
    except Exception as exc:
        if type(exc).__name__ != "Py4JJavaError":
            raise
        raise DataValidationError(f"Spark could not summarise {label}: "
                                  f"{_first_line(exc)}") from None
    finally:
        session.catalog.dropTempView(_SOURCE_VIEW)
    out = _empty_check(out)
    for col in ("frequency", "frequency_holdout", "weights"):
        if col in out:
            out[col] = out[col].astype(np.int64)
    return out


def _spark_ids(data):
    """Text ids as :func:`clvkit.parsing.normalise_ids` and the DuckDB query write them.

    Surrounding whitespace is stripped, the text NFC-normalised, a blank id is NULL.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    if not isinstance(data.schema[C.CUSTOMER_ID].dataType, StringType):
        return data
    space = "".join(f"\\u{ord(c):04x}" for c in _WHITESPACE)
    trimmed = F.regexp_replace(F.col(C.CUSTOMER_ID), f"^[{space}]+|[{space}]+\\z", "")

    def nfc(ids: pd.Series) -> pd.Series:   # local: pickled by value for the workers
        return ids.str.normalize("NFC")

    value = F.pandas_udf(nfc, "string")(trimmed)
    return data.withColumn(C.CUSTOMER_ID, F.when(value == "", None).otherwise(value))


def _spark_read(session, paths: list[str], *, text_column: str | None = None):
    """Spark DataFrame of the files; ``text_column`` of a CSV is read as a string, as written."""
    kinds = {format_from_name(p) for p in paths}
    if kinds == {"parquet"}:
        return session.read.parquet(*paths)
    if kinds == {"csv"}:
        inferred = session.read.csv(paths, header=True, inferSchema=True)
        if text_column not in inferred.columns:
            return inferred  # the column check names what is missing
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(f.name, StringType(), True) if f.name == text_column
                             else f for f in inferred.schema.fields])
        return session.read.csv(paths, header=True, schema=schema)
    raise DataValidationError(f"the files mix formats ({sorted(kinds)}); pass one format")
