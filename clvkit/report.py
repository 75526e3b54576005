"""Monthly narrative CRM reports: one command turns a month of transactions into a report pack.

``clvkit report --month 2011-11`` (or :func:`build_report`) reads a YAML
configuration, loads and cleans the data once, then executes one papermill
template per report section (in parallel), and writes to
``reports/<set>/<YYYY-MM>/``:

* ``NN-<section>.ipynb`` -- the executed notebook of each section,
* ``NN-<section>.html`` -- the same without code (what a reader sees),
* ``index.html`` -- the headline numbers and links to every section,
* ``manifest.json`` -- inputs and outputs with sha256, parameters, package versions.

The same inputs and configuration give byte-identical notebooks and HTML
(:mod:`clvkit._nbnormalize`). Existing output is only replaced with
``force=True``, and a report is written into a temporary folder next to the
target and renamed into place when complete, so an interrupted run leaves no
half report. Input files are only read.

The templates in ``notebooks/templates/`` stay thin: every number they show is
computed by a function of this module (or the clvkit modules it calls).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ClvError, ReportError
from .units import TIME_UNITS

__all__ = [
    "SECTIONS", "Section", "ReportConfig", "ReportData", "ReportResult", "SectionResult",
    "load_config", "load_report_data", "build_report", "add_report_arguments", "run_report_cli",
    "load_section_data", "month_kpis", "headline_numbers", "executive_summary_text",
    "headline_table_display", "plot_monthly_trend", "data_quality_table", "data_quality_text",
    "section_heading",
]

# --------------------------------------------------------------------------- constants

_ROOT = Path(__file__).resolve().parent.parent
#: Folder of the section templates.
TEMPLATE_DIR = _ROOT / "notebooks" / "templates"
#: Configuration used when none is given.
DEFAULT_CONFIG = Path("reports") / "configs" / "online_retail.yml"
#: Folder (relative to the kernel's working directory) holding the prepared data.
_DATA_DIR = "_data"


@dataclass(frozen=True)
class Section:
    """A report section: its template and what the data must contain to run it."""

    name: str
    template: str
    title: str
    needs: tuple[str, ...] = ()


#: Sections in report order. ``needs`` names tables the data must have.
SECTIONS: dict[str, Section] = {s.name: s for s in (
    Section("executive_summary", "01-executive-summary.ipynb", "Executive summary"),
    Section("segments", "02-segments.ipynb", "Segments and their movement"),
    Section("least_profitable", "03-least-profitable.ipynb", "Least-profitable customers"),
    Section("cohorts", "04-cohort-retention.ipynb", "Cohort retention"),
    Section("clv_by_channel", "05-clv-by-channel.ipynb", "CLV by channel and cohort",
            needs=("customers",)),
    Section("campaigns", "06-campaigns.ipynb", "Campaign funnel and dropout",
            needs=("touches",)),
    Section("predictions", "07-predictions.ipynb", "Predicted purchases and customers at risk"),
    Section("data_quality", "08-data-quality.ipynb", "Data quality"),
)}

#: Parameters every template declares in its ``parameters`` cell.
TEMPLATE_PARAMETERS = ("month", "data_dir", "title", "currency", "time_unit", "benchmarks",
                       "options")

_CONFIG_KEYS = ("title", "name", "data", "month", "currency", "time_unit", "benchmarks",
                "sections", "jobs", "options")
_DATA_KEYS = ("path", "kind", "preset", "columns", "as_of")
_DATA_KINDS = ("transactions", "synthetic_crm")
#: Benchmarks a config may set (targets the report compares against).
BENCHMARK_KEYS = ("revenue", "orders", "active_customers", "new_customers", "aov",
                  "repeat_rate", "churn_rate", "retention_rate", "clv", "ltv_to_cac")
#: Section options a config may set, with their defaults.
DEFAULT_OPTIONS: dict[str, Any] = {
    "margin": 1.0,              # gross margin rate used when the data has none
    "annual_discount_rate": 0.10,
    "top_n": 10,                # rows in "least profitable" / "at risk" tables
    "cohort_months": 12,        # cohorts shown in the retention heatmap
}
#: ISO 4217 codes accepted as ``currency`` (with the symbol used in prose).
CURRENCIES = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$",
              "AUD": "A$", "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK ", "PLN": "PLN ",
              "INR": "₹", "CNY": "CN¥", "BRL": "R$"}
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --------------------------------------------------------------------------- config

@dataclass(frozen=True)
class ReportConfig:
    """A validated report configuration.

    Attributes
    ----------
    name : str
        Report set; output goes to ``reports/<name>/<YYYY-MM>/``.
    title : str
        Title shown on every page.
    data : dict
        ``path`` (resolved), ``kind`` ("transactions" or "synthetic_crm"),
        ``preset``, ``columns`` (source names for :func:`clvkit.load_transactions`),
        ``as_of``.
    month : str or None
        Default month (``YYYY-MM``); None means the last complete month of the data.
    currency, time_unit : str
        ISO 4217 code and model time unit (``"D"``, ``"W"``, ``"M"``, ``"Y"``).
    benchmarks : dict
        Targets (keys from :data:`BENCHMARK_KEYS`).
    sections : tuple of str
        Sections to run, in report order.
    jobs : int
        Sections executed in parallel.
    options : dict
        Section options (see :data:`DEFAULT_OPTIONS`).
    source : str or None
        Path of the YAML file, if any.
    """

    name: str
    title: str
    data: dict
    month: str | None
    currency: str
    time_unit: str
    benchmarks: dict
    sections: tuple[str, ...]
    jobs: int
    options: dict
    source: str | None = None


def _unknown_keys(given, allowed, where: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ReportError(f"unknown key(s) {unknown} in {where}; allowed keys are "
                          f"{sorted(allowed)}")


def _find_file(path: str | os.PathLike, *, base: Path | None, what: str) -> Path:
    """Resolve a relative path against the working directory, then ``base`` and its parents."""
    path = Path(path)
    tried = [path if path.is_absolute() else Path.cwd() / path]
    if not path.is_absolute() and base is not None:
        tried += [folder / path for folder in (base, *base.parents)]
    tried.append(_ROOT / path)
    for candidate in tried:
        if candidate.exists():
            return candidate.resolve()
    raise ReportError(f"{what} {str(path)!r} not found (looked in "
                      f"{', '.join(str(p) for p in dict.fromkeys(tried))})")


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ReportError(f"config {str(path)!r} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ReportError(f"config {str(path)!r} must be a mapping of keys to values")
    return raw


def _check_month(month, where: str) -> str:
    month = str(month)
    if not _MONTH_RE.match(month):
        raise ReportError(f"{where} must look like YYYY-MM (e.g. 2011-11), got {month!r}")
    return month


def _check_number_map(values, allowed, where: str) -> dict:
    if not isinstance(values, dict):
        raise ReportError(f"`{where}` must be a mapping, got {type(values).__name__}")
    _unknown_keys(values, allowed, f"`{where}`")
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise ReportError(f"`{where}.{key}` must be a number, got {value!r}")
        out[key] = float(value)
    return out


def _check_data(spec, base: Path | None) -> dict:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or "path" not in spec:
        raise ReportError("`data` must be a path or a mapping with at least `path`, "
                          f"got {spec!r}")
    _unknown_keys(spec, _DATA_KEYS, "`data`")
    path = _find_file(spec["path"], base=base, what="data file")
    kind = spec.get("kind") or ("synthetic_crm" if path.is_dir() else "transactions")
    if kind not in _DATA_KINDS:
        raise ReportError(f"`data.kind` must be one of {list(_DATA_KINDS)}, got {kind!r}")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise ReportError(f"`data.columns` must map canonical names to source names, "
                          f"got {columns!r}")
    allowed_columns = (*C.CANONICAL, "unit_price")
    _unknown_keys(columns, allowed_columns, "`data.columns`")
    preset = spec.get("preset")
    if preset is not None:
        from .io import PRESETS

        if preset not in PRESETS:
            raise ReportError(f"`data.preset` must be one of {sorted(PRESETS)}, got {preset!r}")
    return {"path": str(path), "kind": kind, "preset": preset, "columns": dict(columns),
            "as_of": None if spec.get("as_of") is None else str(spec["as_of"])}


def load_config(config: str | os.PathLike | dict | None = None) -> ReportConfig:
    """Read and validate a report configuration.

    Parameters
    ----------
    config : path, dict or None
        A YAML file, an already-parsed mapping, or None for the default
        (``reports/configs/online_retail.yml``: Online Retail, month 2011-11).

    Returns
    -------
    ReportConfig

    Raises
    ------
    ReportError
        Missing file, invalid YAML, unknown key (named, with the allowed ones),
        bad currency, time unit, month, section, benchmark or option.

    Examples
    --------
    >>> cfg = load_config({"data": "data/cdnow_sample.csv.gz", "currency": "USD",
    ...                    "sections": ["data_quality"], "name": "cdnow"})
    >>> cfg.name, cfg.currency, cfg.sections, cfg.time_unit
    ('cdnow', 'USD', ('data_quality',), 'W')
    >>> load_config({"data": "data/cdnow_sample.csv.gz", "colour": "blue"})
    Traceback (most recent call last):
    ...
    clvkit.errors.ReportError: unknown key(s) ['colour'] in config; allowed keys are \
['benchmarks', 'currency', 'data', 'jobs', 'month', 'name', 'options', 'sections', 'time_unit', \
'title']
    """
    source = None
    base = None
    if config is None:
        config = _find_file(DEFAULT_CONFIG, base=None, what="default config")
    if isinstance(config, dict):
        raw = dict(config)
    else:
        path = _find_file(config, base=None, what="config file")
        raw, source, base = _read_yaml(path), str(path), path.parent
    _unknown_keys(raw, _CONFIG_KEYS, "config")
    if "data" not in raw:
        raise ReportError("config has no `data` (the transactions file or synthetic CRM folder)")
    data = _check_data(raw["data"], base)
    name = str(raw.get("name") or (Path(source).stem if source else Path(data["path"]).stem))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ReportError(f"`name` may only hold letters, digits, '_', '-' and '.', got {name!r}")
    currency = str(raw.get("currency", "GBP"))
    if currency not in CURRENCIES:
        raise ReportError(f"`currency` must be an ISO 4217 code, one of {sorted(CURRENCIES)}, "
                          f"got {currency!r}")
    time_unit = raw.get("time_unit", "W")
    if time_unit not in TIME_UNITS:
        raise ReportError(f"`time_unit` must be one of {list(TIME_UNITS)}, got {time_unit!r}")
    sections = raw.get("sections", list(SECTIONS))
    if not isinstance(sections, list) or not sections:
        raise ReportError(f"`sections` must be a non-empty list of {list(SECTIONS)}")
    _unknown_keys(sections, SECTIONS, "`sections`")
    sections = tuple(s for s in SECTIONS if s in sections)
    jobs = raw.get("jobs", min(2, os.cpu_count() or 1))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ReportError(f"`jobs` must be a whole number >= 1, got {jobs!r}")
    options = {**DEFAULT_OPTIONS,
               **_check_number_map(raw.get("options") or {}, DEFAULT_OPTIONS, "options")}
    month = None if raw.get("month") is None else _check_month(raw["month"], "`month`")
    return ReportConfig(
        name=name, title=str(raw.get("title") or f"{name} monthly CRM report"), data=data,
        month=month, currency=currency, time_unit=time_unit,
        benchmarks=_check_number_map(raw.get("benchmarks") or {}, BENCHMARK_KEYS, "benchmarks"),
        sections=sections, jobs=jobs, options=options, source=source)


# --------------------------------------------------------------------------- data

@dataclass(frozen=True)
class ReportData:
    """Everything a report section reads: cleaned transactions and the optional CRM tables.

    Attributes
    ----------
    transactions, returns, log : DataFrame
        As in :class:`clvkit.io.LoadResult`.
    rows_read : int
        Rows in the input transactions.
    source : str
        Where the transactions came from.
    customers, campaigns, touches : DataFrame or None
        Customer attributes (indexed by ``customer_id``), campaigns and touches,
        when the data set has them (synthetic CRM).
    """

    transactions: pd.DataFrame
    returns: pd.DataFrame
    log: pd.DataFrame
    rows_read: int
    source: str
    customers: pd.DataFrame | None = None
    campaigns: pd.DataFrame | None = None
    touches: pd.DataFrame | None = None

    def has(self, table: str) -> bool:
        """Whether the optional table ``table`` is present and non-empty."""
        frame = getattr(self, table)
        return frame is not None and len(frame) > 0


_TABLES = ("transactions", "returns", "log", "customers", "campaigns", "touches")


def load_report_data(spec: dict, *, data=None) -> ReportData:
    """Load and clean the data of a report once (``spec`` is ``ReportConfig.data``).

    ``data`` overrides the configured source: a path (file, or synthetic CRM
    folder), a DataFrame of transactions with canonical columns, or a
    :class:`clvkit.io.LoadResult`.
    """
    from .io import LoadResult, load_transactions

    if isinstance(data, LoadResult):
        return ReportData(data.transactions, data.returns, data.log, data.rows_read, data.source)
    options = {"preset": spec.get("preset"), **spec.get("columns", {})}
    if spec.get("as_of") is not None:
        options["as_of"] = spec["as_of"]
    if isinstance(data, pd.DataFrame):
        res = load_transactions(data, **options)
        return ReportData(res.transactions, res.returns, res.log, res.rows_read, "DataFrame")
    path = Path(spec["path"] if data is None else data)
    if not path.exists():
        raise ReportError(f"data file {str(path)!r} not found")
    if path.is_dir():
        from .synthetic import load_crm

        crm = load_crm(path)
        res = load_transactions(crm.transactions, **options)
        return ReportData(res.transactions, res.returns, res.log, res.rows_read, str(path),
                          customers=crm.customers, campaigns=crm.campaigns, touches=crm.touches)
    res = load_transactions(path, **options)
    return ReportData(res.transactions, res.returns, res.log, res.rows_read, res.source)


def _save_data(data: ReportData, folder: Path) -> None:
    folder.mkdir()
    for name in _TABLES:
        frame = getattr(data, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=name in ("customers", "campaigns"))
    meta = {"rows_read": int(data.rows_read), "source": _display_path(data.source)}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def load_section_data(data_dir: str | os.PathLike) -> ReportData:
    """Read the data prepared by :func:`build_report` (used by the section templates)."""
    folder = Path(data_dir)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet")
              for name in _TABLES if (folder / f"{name}.parquet").exists()}
    return ReportData(rows_read=meta["rows_read"], source=meta["source"], **tables)


def _month_range(tx: pd.DataFrame) -> tuple[pd.Period, pd.Period, pd.Timestamp]:
    """First month, last *complete* month and last transaction date of the data."""
    first, last = tx[C.DATE].min(), tx[C.DATE].max()
    last_month = last.to_period("M")
    if last.normalize() < last_month.end_time.normalize():
        last_month -= 1
    return first.to_period("M"), last_month, last


def _resolve_month(month: str | None, tx: pd.DataFrame) -> str:
    if len(tx) == 0:
        raise ReportError("the data have no transactions left after cleaning; nothing to report")
    first, last, last_date = _month_range(tx)
    if month is None:
        if last < first:
            raise ReportError(f"the data hold no complete month (last transaction "
                              f"{last_date:%Y-%m-%d}); pass --month")
        return str(last)
    wanted = pd.Period(_check_month(month, "month"), "M")
    if not first <= wanted <= last:
        raise ReportError(
            f"month {month} is outside the data's range of complete months {first}..{last} "
            f"(transactions from {tx[C.DATE].min():%Y-%m-%d} to {last_date:%Y-%m-%d}); "
            "choose a month in that range")
    return str(wanted)


# --------------------------------------------------------------------------- section content

def section_heading(title: str, month: str, section: str) -> str:
    """Markdown heading of a section page, with data text escaped.

    Examples
    --------
    >>> section_heading("Shop <A&B>", "2011-11", "Data quality")
    '# Data quality\\n**Shop &lt;A&amp;B&gt;** -- November 2011'
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    return f"# {section}\n**{html.escape(title)}** -- {label}"


def _orders(tx: pd.DataFrame) -> pd.Series:
    """Order key per row: the order id when present, else (customer, day)."""
    if C.ORDER_ID in tx:
        return tx[C.ORDER_ID].astype("string")
    return tx[C.CUSTOMER_ID].astype("string") + "|" + tx[C.DATE].dt.strftime("%Y-%m-%d")


def month_kpis(transactions: pd.DataFrame) -> pd.DataFrame:
    """Monthly CRM indicators, one row per calendar month (``PeriodIndex``).

    Columns: ``revenue``, ``orders``, ``active_customers``, ``new_customers``,
    ``returning_customers``, ``aov`` (revenue per order), ``repeat_rate``
    (share of active customers who bought before this month), ``churn_rate``
    (share of last month's customers who did not buy this month) and
    ``retention_rate`` (1 - churn). The first month has no churn.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2, 1, 3], "amount": [10.0, 20.0, 30.0, 5.0],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-02-01", "2024-02-03"])})
    >>> month_kpis(tx)[["revenue", "active_customers", "new_customers", "churn_rate"]]
             revenue  active_customers  new_customers  churn_rate
    month                                                        
    2024-01     30.0                 2              2         NaN
    2024-02     35.0                 2              1         0.5
    """
    tx_month = transactions[C.DATE].dt.to_period("M")
    frame = pd.DataFrame({"customer_id": transactions[C.CUSTOMER_ID].to_numpy(),
                          "amount": transactions[C.AMOUNT].to_numpy(),
                          "order": _orders(transactions).to_numpy(),
                          "month": tx_month.to_numpy()})
    first = frame.groupby("customer_id")["month"].transform("min")
    grouped = frame.groupby("month")
    out = pd.DataFrame({
        "revenue": grouped["amount"].sum(),
        "orders": grouped["order"].nunique(),
        "active_customers": grouped["customer_id"].nunique(),
        "new_customers": frame[first == frame["month"]].groupby("month")["customer_id"].nunique(),
    })
    full = pd.period_range(tx_month.min(), tx_month.max(), freq="M", name="month")
    out = out.reindex(full).fillna(0)
    for col in ("orders", "active_customers", "new_customers"):
        out[col] = out[col].astype("int64")
    out["returning_customers"] = out["active_customers"] - out["new_customers"]
    out["aov"] = out["revenue"] / out["orders"].replace(0, np.nan)
    out["repeat_rate"] = out["returning_customers"] / out["active_customers"].replace(0, np.nan)
    pairs = frame[["customer_id", "month"]].drop_duplicates()
    nxt = pairs.assign(month=pairs["month"] + 1)
    stayed = nxt.merge(pairs, on=["customer_id", "month"]).groupby("month").size()
    previous_active = out["active_customers"].shift(1)
    out["retention_rate"] = stayed.reindex(full).fillna(0) / previous_active.replace(0, np.nan)
    out["churn_rate"] = 1 - out["retention_rate"]
    return out


_KPI_LABELS = {
    "revenue": ("Revenue", "money", True), "orders": ("Orders", "count", True),
    "active_customers": ("Active customers", "count", True),
    "new_customers": ("New customers", "count", True),
    "returning_customers": ("Returning customers", "count", True),
    "aov": ("Average order value", "money", True),
    "repeat_rate": ("Repeat rate", "rate", True),
    "churn_rate": ("Churn rate", "rate", False),
    "retention_rate": ("Retention rate", "rate", True),
    "clv": ("CLV (retention model)", "money", True),
    "ltv_to_cac": ("LTV:CAC", "ratio", True),
}


def headline_numbers(data: ReportData, *, month: str, benchmarks: dict | None = None,
                     options: dict | None = None) -> pd.DataFrame:
    """The month's headline numbers next to last month, the same month last year and targets.

    Parameters
    ----------
    data : ReportData
        Report data (see :func:`load_report_data`).
    month : str
        ``YYYY-MM``.
    benchmarks : dict, optional
        Targets by KPI name (:data:`BENCHMARK_KEYS`).
    options : dict, optional
        ``margin`` (gross margin rate when customers have none) and
        ``annual_discount_rate`` for the CLV.

    Returns
    -------
    DataFrame
        Indexed by KPI name with columns ``label, kind, higher_is_better, value,
        previous, last_year, benchmark`` (NaN where not available).
    """
    options = {**DEFAULT_OPTIONS, **(options or {})}
    kpis = month_kpis(data.transactions)
    kpis["clv"] = _clv_by_month(data, kpis, options)
    if data.has("customers") and "cac" in data.customers:
        kpis["ltv_to_cac"] = kpis["clv"] / _cac_by_month(data, kpis.index)
    period = pd.Period(month, "M")

    def row_of(p):
        return kpis.loc[p] if p in kpis.index else pd.Series(np.nan, index=kpis.columns)

    table = pd.DataFrame({"value": row_of(period), "previous": row_of(period - 1),
                          "last_year": row_of(period - 12)})
    table = table.loc[[k for k in _KPI_LABELS if k in table.index]]
    table["benchmark"] = pd.Series(benchmarks or {}, dtype=float).reindex(table.index)
    meta = pd.DataFrame.from_dict(_KPI_LABELS, orient="index",
                                  columns=["label", "kind", "higher_is_better"])
    return meta.loc[table.index].join(table)


def _clv_by_month(data: ReportData, kpis: pd.DataFrame, options: dict) -> pd.Series:
    """Retention-model CLV per month: m r / (1 + d - r) with monthly margin and retention."""
    from .formulas import retention_clv

    margin_rate = options["margin"]
    if data.has("customers") and "margin" in data.customers:
        tx = data.transactions
        rate = tx[C.CUSTOMER_ID].map(data.customers["margin"]).fillna(margin_rate).to_numpy()
        gross = (tx[C.AMOUNT].to_numpy() * rate)
        monthly_margin = pd.Series(gross).groupby(tx[C.DATE].dt.to_period("M").to_numpy()).sum()
        monthly_margin = monthly_margin.reindex(kpis.index).fillna(0)
    else:
        monthly_margin = kpis["revenue"] * margin_rate
    per_customer = monthly_margin / kpis["active_customers"].replace(0, np.nan)
    monthly_d = (1 + options["annual_discount_rate"]) ** (1 / 12) - 1
    retention = kpis["retention_rate"].clip(upper=0.999)
    ok = per_customer.notna() & retention.notna()
    clv = pd.Series(np.nan, index=kpis.index)
    clv[ok] = retention_clv(per_customer[ok].to_numpy(), retention=retention[ok].to_numpy(),
                            discount_rate=monthly_d)
    return clv


def _cac_by_month(data: ReportData, months: pd.PeriodIndex) -> pd.Series:
    customers = data.customers
    acquired = pd.to_datetime(customers["acquisition_date"]).dt.to_period("M")
    return customers["cac"].groupby(acquired.to_numpy()).mean().reindex(months)


def _fmt(value: float, kind: str, currency: str) -> str:
    if pd.isna(value):
        return "–"
    if kind == "money":
        return f"{CURRENCIES[currency]}{value:,.0f}" if abs(value) >= 100 else \
            f"{CURRENCIES[currency]}{value:,.2f}"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _change_phrase(value: float, other: float, kind: str, currency: str, label: str) -> str:
    if pd.isna(other) or pd.isna(value):
        return ""
    if kind == "rate":
        diff = (value - other) * 100
        return f"{diff:+.1f} points vs {label} ({_fmt(other, kind, currency)})"
    if other == 0:
        return f"vs {label} ({_fmt(other, kind, currency)})"
    return f"{(value / other - 1):+.1%} vs {label} ({_fmt(other, kind, currency)})"


def executive_summary_text(headline: pd.DataFrame, *, month: str, currency: str) -> str:
    """Markdown sentences that put each headline number in context.

    Each KPI becomes one bullet: its value, the change since last month, since
    the same month last year (when the data reach back) and against the target.
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    lines = [f"In **{label}**:"]
    for key, row in headline.iterrows():
        if pd.isna(row["value"]):
            continue
        parts = [_change_phrase(row["value"], row[col], row["kind"], currency, name)
                 for col, name in (("previous", "last month"), ("last_year", "a year earlier"),
                                   ("benchmark", "target"))]
        context = "; ".join(p for p in parts if p)
        text = f"- {row['label']}: **{_fmt(row['value'], row['kind'], currency)}**"
        lines.append(text + (f" ({context})" if context else "") + ".")
    return "\n".join(lines)


def headline_table_display(headline: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Headline numbers formatted as text, ready to display (one row per KPI)."""
    out = pd.DataFrame(index=pd.Index(headline["label"], name="KPI"))
    for col, name in (("value", "This month"), ("previous", "Last month"),
                      ("last_year", "Same month last year"), ("benchmark", "Target")):
        out[name] = [_fmt(v, k, currency) for v, k in zip(headline[col], headline["kind"],
                                                           strict=True)]
    return out


def plot_monthly_trend(data: ReportData, *, month: str, currency: str, months: int = 13,
                       ax=None):
    """Revenue bars and active customers line over the ``months`` months ending at ``month``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    kpis = month_kpis(data.transactions)
    end = pd.Period(month, "M")
    window = kpis.loc[(kpis.index > end - months) & (kpis.index <= end)]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    colors = sns.color_palette("colorblind")
    labels = window.index.strftime("%b %y")
    ax.bar(labels, window["revenue"], color=colors[0], label="Revenue")
    ax.set_ylabel(f"Revenue ({currency})")
    ax.set_xlabel("Month")
    twin = ax.twinx()
    twin.plot(labels, window["active_customers"], color=colors[1], marker="o",
              label="Active customers")
    twin.set_ylabel("Active customers")
    twin.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Revenue and active customers by month")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", frameon=False)
    return ax


def data_quality_table(data: ReportData, *, currency: str) -> pd.DataFrame:
    """The cleaning log with a total row: rows and amount per reason, reconciling to the input."""
    log = data.log[["reason", "action", "rows", "amount"]].copy()
    total = pd.DataFrame({"reason": ["total (input)"], "action": [""],
                          "rows": [int(log["rows"].sum())], "amount": [log["amount"].sum()]})
    log = pd.concat([log, total], ignore_index=True)
    log["share of rows"] = (log["rows"] / data.rows_read).map("{:.1%}".format)
    log["amount"] = log["amount"].map(lambda v: f"{v:,.2f}")
    log = log.rename(columns={"amount": f"amount ({currency})"})
    return log.set_index("reason")


def data_quality_text(data: ReportData, *, currency: str) -> str:
    """Sentences on rows read, kept and dropped, and whether revenue reconciles to the cent."""
    log = data.log
    kept_rows = int(log.loc[log["action"].str.startswith("kept"), "rows"].sum())
    dropped = log.loc[log["action"] == "dropped"]
    symbol = CURRENCIES[currency]
    input_total = round(float(log["amount"].sum()), 2)
    parts = round(float(data.transactions[C.AMOUNT].sum()), 2), \
        round(float(data.returns[C.AMOUNT].sum()), 2), \
        round(float(dropped["amount"].sum()), 2)
    diff = round(input_total - sum(parts), 2)
    reconcile = ("reconciles to the cent" if abs(diff) < 0.005
                 else f"does NOT reconcile (difference {symbol}{diff:,.2f})")
    reasons = ", ".join(f"{int(r.rows):,} {html.escape(str(r.reason))}"
                        for r in dropped.itertuples()) or "none"
    return (f"{data.rows_read:,} rows were read from `{html.escape(_display_path(data.source))}`; "
            f"**{kept_rows:,}** were kept as purchases, "
            f"{int(log.loc[log['action'] == 'separated', 'rows'].sum()):,} set apart as "
            f"returns or cancellations, and {int(dropped['rows'].sum()):,} dropped "
            f"({reasons}).\n\n"
            f"Revenue check: input total {symbol}{input_total:,.2f} = kept purchases "
            f"{symbol}{parts[0]:,.2f} + returns {symbol}{parts[1]:,.2f} + dropped rows "
            f"{symbol}{parts[2]:,.2f} -- the cleaning {reconcile}.")


# --------------------------------------------------------------------------- execution

@dataclass(frozen=True)
class SectionResult:
    """Outcome of one section: ``status`` is "ok" or "failed" (then ``error`` says why)."""

    name: str
    title: str
    status: str
    notebook: str
    html: str
    seconds: float
    error: dict | None = None


@dataclass(frozen=True)
class ReportResult:
    """Outcome of :func:`build_report`."""

    out: Path
    month: str
    config: ReportConfig
    sections: tuple[SectionResult, ...]
    headline: pd.DataFrame = field(repr=False)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every section executed without error."""
        return all(s.status == "ok" for s in self.sections)

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the sections that failed."""
        return tuple(s.name for s in self.sections if s.status != "ok")


#: Environment of the kernels (deterministic hashing, dates and figure backend).
_KERNEL_ENV = {"PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}


def _kernel_manager_class(stderr_path: Path, cwd: Path):
    """A kernel manager that starts kernels in ``cwd`` with a fixed environment, stderr to a file.

    (papermill's own ``cwd`` changes the working directory of the whole process,
    which races when sections run in threads.)
    """
    from jupyter_client.manager import AsyncKernelManager

    class _ReportKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["env"] = {**kw.get("env", os.environ), **_KERNEL_ENV}
            kw["cwd"] = str(cwd)
            with open(stderr_path, "ab") as handle:
                kw["stderr"] = handle
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _ReportKernelManager


def _template_path(section: Section) -> Path:
    path = TEMPLATE_DIR / section.template
    if not path.exists():
        raise ReportError(f"template {str(path)!r} of section {section.name!r} is missing")
    return path


def _check_template_parameters(section: Section, parameters: dict) -> None:
    """papermill only warns on unknown parameters: refuse them before executing."""
    import papermill

    declared = papermill.inspect_notebook(str(_template_path(section)))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(f"template {section.template} does not declare parameter(s) "
                          f"{unknown} in its `parameters` cell (it declares {sorted(declared)})")


def _run_section(section: Section, index: int, parameters: dict, work: Path,
                 logs: Path) -> SectionResult:
    import nbformat
    import papermill

    from ._nbnormalize import normalize_notebook, notebook_to_html, write_notebook

    stem = Path(section.template).stem
    nb_path, html_path = work / f"{stem}.ipynb", work / f"{stem}.html"
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(_template_path(section)), str(nb_path), parameters=parameters,
            kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False,
            record_timing=False,
            kernel_manager_class=_kernel_manager_class(logs / f"{stem}.stderr", work))
    except papermill.PapermillExecutionError as err:
        error = {"cell_index": err.cell_index, "execution_count": err.exec_count,
                 "ename": err.ename, "evalue": str(err.evalue)}
    except Exception as err:  # kernel died, template unreadable, ...
        error = {"cell_index": None, "execution_count": None, "ename": type(err).__name__,
                 "evalue": str(err)}
    if nb_path.exists():
        nb = normalize_notebook(nbformat.read(nb_path, as_version=4))
        write_notebook(nb, nb_path)
        html_path.write_text(notebook_to_html(nb, title=f"{section.title} -- "
                                              f"{parameters['title']} {parameters['month']}"),
                             encoding="utf-8")
    return SectionResult(name=section.name, title=section.title,
                         status="ok" if error is None else "failed",
                         notebook=nb_path.name if nb_path.exists() else "",
                         html=html_path.name if html_path.exists() else "",
                         seconds=round(time.perf_counter() - start, 1), error=error)


def _describe_failure(result: SectionResult, logs: Path) -> str:
    err = result.error or {}
    where = (f"cell {err['cell_index']} (execution count {err['execution_count']})"
             if err.get("cell_index") is not None else "before any cell ran")
    text = f"failed in {where}: {err.get('ename')}: {err.get('evalue')}"
    stderr = logs / f"{Path(SECTIONS[result.name].template).stem}.stderr"
    if err.get("cell_index") is None and stderr.exists():
        tail = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        text += "\n      kernel stderr: " + "\n      ".join(tail)
    return text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _display_path(path) -> str:
    """A path relative to the working directory when it lies below it (stable across machines)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _input_files(cfg: ReportConfig, data) -> list[dict]:
    if isinstance(data, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=True).to_numpy()
                                .tobytes()).hexdigest()
        return [{"path": "<DataFrame>", "sha256": digest, "rows": len(data)}]
    if data is not None and not isinstance(data, str | os.PathLike):
        return [{"path": f"<{type(data).__name__}>", "sha256": None}]
    root = Path(cfg.data["path"] if data is None else data)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    return [{"path": _display_path(p), "sha256": _sha256(p), "bytes": p.stat().st_size}
            for p in files]


def _package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("clvkit", "numpy", "pandas", "scipy", "matplotlib", "seaborn", "papermill",
                 "nbconvert", "nbformat", "nbclient", "ipykernel", "pyarrow", "PyYAML"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _write_manifest(work: Path, *, cfg: ReportConfig, month: str, parameters: dict,
                    inputs: list[dict], results: list[SectionResult]) -> None:
    outputs = [{"path": p.name, "sha256": _sha256(p), "bytes": p.stat().st_size}
               for p in sorted(work.iterdir()) if p.is_file() and p.name != "manifest.json"]
    config_entry = {"path": _display_path(cfg.source) if cfg.source else None,
                    "sha256": _sha256(Path(cfg.source)) if cfg.source else None,
                    "resolved": {**cfg.__dict__, "data": {**cfg.data,
                                                          "path": _display_path(cfg.data["path"])},
                                 "source": None, "sections": list(cfg.sections)}}
    manifest = {
        "report": cfg.name, "title": cfg.title, "month": month,
        "status": "ok" if all(r.status == "ok" for r in results) else "failed",
        "config": config_entry, "inputs": inputs,
        "parameters": {k: v for k, v in parameters.items() if k != "data_dir"},
        "sections": [{"name": r.name, "title": r.title, "template":
                      f"notebooks/templates/{SECTIONS[r.name].template}",
                      "template_sha256": _sha256(_template_path(SECTIONS[r.name])),
                      "status": r.status, "error": r.error,
                      "notebook": r.notebook, "html": r.html} for r in results],
        "environment": dict(_KERNEL_ENV), "packages": _package_versions(), "outputs": outputs,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")


_INDEX_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222}h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0}th,td{padding:.35rem .8rem;border-bottom:1px solid #ddd;
text-align:right}th:first-child,td:first-child{text-align:left}.failed{color:#b00020;font-weight:bold}
li{margin:.3rem 0}"""


def _index_html(cfg: ReportConfig, month: str, headline: pd.DataFrame,
                results: list[SectionResult]) -> str:
    esc = html.escape
    label = pd.Period(month, "M").strftime("%B %Y")
    table = headline_table_display(headline, currency=cfg.currency)
    rows = "\n".join("<tr><td>" + "</td><td>".join(esc(str(v)) for v in (kpi, *row)) +
                     "</td></tr>" for kpi, row in zip(table.index, table.to_numpy(), strict=True))
    head = "".join(f"<th>{esc(c)}</th>" for c in ("KPI", *table.columns))
    items = []
    for r in results:
        status = ("" if r.status == "ok" else
                  f' <span class="failed">failed: {esc(str((r.error or {}).get("ename")))}'
                  f"</span>")
        link = f'<a href="{esc(r.html)}">{esc(r.title)}</a>' if r.html else esc(r.title)
        nb = f' (<a href="{esc(r.notebook)}">notebook</a>)' if r.notebook else ""
        items.append(f"<li>{link}{nb}{status}</li>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(cfg.title)} -- {esc(label)}</title>
<style>{_INDEX_CSS}</style>
</head>
<body>
<h1>{esc(cfg.title)}</h1>
<p class="sub">Monthly CRM report for <strong>{esc(label)}</strong>
(currency {esc(cfg.currency)})</p>
<h2>Headline numbers</h2>
<table id="headline">
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Sections</h2>
<ol>
{chr(10).join(items)}
</ol>
<p class="sub">Inputs, parameters and checksums: <a href="manifest.json">manifest.json</a></p>
</body>
</html>
"""


def _publish(work: Path, out: Path, *, force: bool) -> None:
    """Move the finished report into place (replacing ``out`` only with ``force``)."""
    os.chmod(work, 0o755)
    if not out.exists():
        os.replace(work, out)
        return
    if not force:
        raise ReportError(f"{out} already exists; pass --force to replace it")
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / out.name)
    os.replace(work, out)
    shutil.rmtree(old, ignore_errors=True)


def build_report(*, month: str | None = None, config: str | Path | dict | None = None,
                 data=None, out: str | Path | None = None, force: bool = False,
                 jobs: int | None = None,
                 progress: Callable[[str], Any] | None = print) -> ReportResult:
    """Build the monthly report pack of one month.

    Parameters
    ----------
    month : str, optional
        ``YYYY-MM``; default the config's ``month``, else the data's last complete month.
    config : path, dict or None
        Report configuration (see :func:`load_config`); None for the default
        Online Retail report.
    data : path, DataFrame or LoadResult, optional
        Overrides the configured data source.
    out : path, optional
        Output folder; default ``reports/<config name>/<YYYY-MM>``.
    force : bool, default False
        Replace an existing output folder.
    jobs : int, optional
        Sections executed in parallel (default: the config's ``jobs``).
    progress : callable or None, default print
        Receives one line per event (section started/finished/failed).

    Returns
    -------
    ReportResult
        ``ok`` is False when a section failed (the report is still written,
        with the failure shown in ``index.html`` and ``manifest.json``).

    Raises
    ------
    ReportError
        Invalid configuration, month outside the data, missing file or template,
        or an existing output folder without ``force``.
    """
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    cfg = load_config(config)
    say(f"clvkit report: loading {_display_path(data if isinstance(data, str | os.PathLike) else cfg.data['path'])}")
    try:
        loaded = load_report_data(cfg.data, data=data)
    except ClvError as err:
        if isinstance(err, ReportError):
            raise
        raise ReportError(f"could not load the report data: {err}") from err
    month = _resolve_month(month or cfg.month, loaded.transactions)
    for name in cfg.sections:
        missing = [t for t in SECTIONS[name].needs if not loaded.has(t)]
        if missing:
            raise ReportError(f"section {name!r} needs the table(s) {missing}, which the data "
                              f"{_display_path(loaded.source)!r} lack; remove it from `sections`")
    out = Path(out) if out is not None else Path("reports") / cfg.name / month
    if out.exists() and not force:
        raise ReportError(f"{out} already exists; pass --force to replace it")
    parameters = {"month": month, "data_dir": _DATA_DIR, "title": cfg.title,
                  "currency": cfg.currency, "time_unit": cfg.time_unit,
                  "benchmarks": dict(cfg.benchmarks), "options": dict(cfg.options)}
    sections = [SECTIONS[name] for name in cfg.sections]
    for section in sections:
        _check_template_parameters(section, parameters)
    headline = headline_numbers(loaded, month=month, benchmarks=cfg.benchmarks,
                                options=cfg.options)
    inputs = _input_files(cfg, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    logs = Path(tempfile.mkdtemp(prefix="clvkit-report-logs-"))
    try:
        _save_data(loaded, work / _DATA_DIR)
        results = _execute_sections(sections, parameters, work, logs,
                                    jobs=jobs or cfg.jobs, say=say)
        shutil.rmtree(work / _DATA_DIR)
        (work / "index.html").write_text(_index_html(cfg, month, headline, results),
                                         encoding="utf-8")
        _write_manifest(work, cfg=cfg, month=month, parameters=parameters, inputs=inputs,
                        results=results)
        _publish(work, out, force=force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
    result = ReportResult(out=out, month=month, config=cfg, sections=tuple(results),
                          headline=headline, seconds=round(time.perf_counter() - started, 1))
    verdict = "done" if result.ok else f"FAILED sections: {', '.join(result.failed)}"
    say(f"clvkit report: {verdict} in {result.seconds:.1f} s -> {out / 'index.html'}")
    return result


def _execute_sections(sections: list[Section], parameters: dict, work: Path, logs: Path, *,
                      jobs: int, say: Callable[[str], Any]) -> list[SectionResult]:
    total = len(sections)
    done: dict[str, SectionResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, total))) as pool:
        futures = {pool.submit(_run_section, s, i, parameters, work, logs): s
                   for i, s in enumerate(sections)}
        for future in as_completed(futures):
            res = future.result()
            done[res.name] = res
            line = f"  [{len(done)}/{total}] {res.name:<18} "
            if res.status == "ok":
                say(line + f"ok ({res.seconds:.1f} s)")
            else:
                say(line + _describe_failure(res, logs))
    return [done[s.name] for s in sections]


# --------------------------------------------------------------------------- command line

def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``clvkit report`` options to ``parser``."""
    parser.add_argument("--month", help="month to report, YYYY-MM (default: the config's "
                        "month, else the last complete month of the data)")
    parser.add_argument("--config", help=f"report configuration YAML (default {DEFAULT_CONFIG})")
    parser.add_argument("--data", help="transactions file or synthetic CRM folder "
                        "(overrides the config's data)")
    parser.add_argument("--out", help="output folder (default reports/<set>/<YYYY-MM>)")
    parser.add_argument("--force", action="store_true", help="replace an existing report")
    parser.add_argument("--jobs", type=int, help="sections executed in parallel")


def run_report_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit report`` from parsed arguments; return the exit code (0 ok, 1 failed, 2 error)."""
    try:
        result = build_report(month=args.month, config=args.config, data=args.data,
                              out=args.out, force=args.force, jobs=args.jobs)
    except ClvError as err:
        print(f"clvkit report: error: {err}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1
