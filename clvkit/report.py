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
(:mod:`clvkit._nbnormalize`). A report is written into a marked work folder
next to the target and renamed into place when complete, so an interrupted run
leaves no half report (a run killed outright leaves its work folder, which the
next run removes). ``force=True`` replaces only a folder that is a clvkit report,
and no output may be, contain or lie inside an input or the config (see
:mod:`clvkit.outputs`). Input files are only read.

The templates (package data in ``clvkit/templates/``) stay thin: every number they show is
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
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from .errors import ClvError, ReportError
from .metrics import KPI_NAMES as _METRIC_KPI_NAMES
from .outputs import (
    USER_ERRNOS,
    OutputError,
    check_report_output,
    describe_os_error,
    publish_folder,
    work_folder,
)
from .units import TIME_UNITS

__all__ = [
    "SECTIONS", "Section", "ReportConfig", "ReportData", "ReportResult", "SectionResult",
    "load_config", "load_report_data", "build_report", "add_report_arguments", "run_report_cli",
    "load_section_data", "section_heading", "month_kpis", "headline_numbers",
    "executive_summary_text", "headline_table_display", "plot_monthly_trend",
    "segment_movement", "segment_sizes", "moved_into", "segments_text", "plot_segment_sizes",
    "profit_table", "least_profitable_display", "profit_text", "plot_profit_curve",
    "cohort_retention", "cohort_text", "cohort_sizes_table", "plot_cohort_retention",
    "clv_by_channel", "clv_by_channel_text", "clv_by_channel_display", "plot_clv_by_channel",
    "cohort_value_curves",
    "month_touches", "campaign_table", "campaign_funnel", "campaign_dropout", "campaign_text",
    "campaign_results", "campaign_dropout_display", "medium_table", "contact_lift",
    "contact_lift_text", "contact_lift_display",
    "predictions", "at_risk_customers", "at_risk_text", "predictions_text",
    "at_risk_display", "plot_p_alive", "data_quality_table", "data_quality_text",
    "ReportOptions", "section_support", "shipped_configs", "definitions_text",
    "revenue_bridge_table", "quality_checks", "quality_checks_display", "data_gaps",
    "mask_id", "mask_customer_ids", "target_lists", "write_target_lists", "target_lists_text",
]

# --------------------------------------------------------------------------- constants

#: Folder of the section templates (package data, found with importlib.resources).
TEMPLATE_DIR = Path(os.fspath(resources.files("clvkit") / "templates"))
#: Folder of the shipped configurations (package data).
CONFIG_DIR = Path(os.fspath(resources.files("clvkit") / "configs"))
#: Shipped configuration used when neither a config nor data is given.
DEFAULT_CONFIG = "online_retail"
#: Shipped configuration used for ``--data FILE`` without a config: any transactions file.
GENERIC_CONFIG = "default"
#: Folder (relative to the kernel's working directory) holding the prepared data.
_DATA_DIR = "_data"


@dataclass(frozen=True)
class Section:
    """A report section: its template and what the data must contain to run it.

    ``needs`` names tables the data must have (``touches``, ``campaigns``,
    ``customers``); ``needs_any_column`` columns of which the transactions (or
    the customers table) must hold at least one; ``min_repeat_customers`` the
    customers with two or more purchase days the section's models need. A
    section the data cannot support is skipped with a note, not run.
    """

    name: str
    template: str
    title: str
    needs: tuple[str, ...] = ()
    needs_any_column: tuple[str, ...] = ()
    min_repeat_customers: int = 0


#: Sections in report order, with what each needs from the data.
SECTIONS: dict[str, Section] = {s.name: s for s in (
    Section("executive_summary", "01-executive-summary.ipynb", "Executive summary"),
    Section("segments", "02-segments.ipynb", "Segments and their movement"),
    Section("least_profitable", "03-least-profitable.ipynb", "Least-profitable customers"),
    Section("cohorts", "04-cohort-retention.ipynb", "Cohort retention"),
    Section("clv_by_channel", "05-clv-by-channel.ipynb", "CLV by channel and cohort",
            needs_any_column=("channel", "country")),
    Section("campaigns", "06-campaigns.ipynb", "Campaign funnel and dropout",
            needs=("touches", "campaigns")),
    Section("predictions", "07-predictions.ipynb", "Predicted purchases and customers at risk",
            min_repeat_customers=20),
    Section("data_quality", "08-data-quality.ipynb", "Data quality"),
)}


def section_support(section: Section | str, data: ReportData, *, month: str) -> str | None:
    """Why the data cannot support ``section`` in ``month`` (one sentence), or None if they can.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-05"]),
    ...                    "amount": [5.0]})
    >>> data = ReportData(tx, tx.iloc[:0], pd.DataFrame(), 1, "x")
    >>> section_support("campaigns", data, month="2024-01")
    'the data have no campaign touches and campaigns tables (a synthetic CRM folder has them)'
    >>> section_support("executive_summary", data, month="2024-01") is None
    True
    """
    section = SECTIONS[section] if isinstance(section, str) else section
    missing = [t for t in section.needs if not data.has(t)]
    if missing:
        names = " and ".join({"touches": "campaign touches"}.get(t, t) for t in missing)
        return f"the data have no {names} tables (a synthetic CRM folder has them)"
    if section.needs_any_column:
        have = set(data.transactions.columns)
        if data.has("customers"):
            have |= set(data.customers.columns)
        if not have & set(section.needs_any_column):
            return (f"the data have no {' or '.join(section.needs_any_column)} column to group "
                    "customers by (map one in the config's `data.columns`)")
    if section.min_repeat_customers:
        tx = _upto(data.transactions, month)
        pairs = pd.DataFrame({"c": tx[C.CUSTOMER_ID], "d": tx[C.DATE].dt.normalize()})
        repeat = int((pairs.drop_duplicates()["c"].value_counts() >= 2).sum())
        if repeat < section.min_repeat_customers:
            return (f"only {repeat} customers bought on two or more days up to {month}; the "
                    f"purchase models need at least {section.min_repeat_customers}")
    return None

#: Parameters every template declares in its ``parameters`` cell.
TEMPLATE_PARAMETERS = ("month", "data_dir", "title", "currency", "time_unit", "benchmarks",
                       "options")

_CONFIG_KEYS = ("title", "name", "data", "month", "currency", "time_unit", "benchmarks",
                "sections", "jobs", "options", "privacy")
#: Keys of a config's ``privacy`` mapping, with their defaults.
PRIVACY_KEYS = {"mask_ids": True}
#: Options of :func:`clvkit.load_transactions` a config may set under ``data``
#: (values are passed through; the loader checks them and names the option).
LOADER_KEYS = ("encoding", "sep", "sheet", "decimal", "thousands", "date_format", "dayfirst",
               "date_unit", "timezone", "returns", "duplicates", "zero")
_DATA_KEYS = ("path", "kind", "preset", "columns", "as_of", "non_product", *LOADER_KEYS)
_DATA_KINDS = ("transactions", "synthetic_crm")
#: Benchmarks a config may set (targets the report compares against): the headline KPIs.
BENCHMARK_KEYS = (*_METRIC_KPI_NAMES, "observed_value_to_cac")
#: Rules of the section options: (type, lower bound, upper bound, bounds open?, hint).
_OPTION_RULES: dict[str, tuple] = {
    "margin": (float, 0.0, 1.0, (True, False), "a fraction of revenue: 30% is written 0.30"),
    "annual_discount_rate": (float, 0.0, 1.0, (False, True), "a fraction: 10% is written 0.10"),
    "top_n": (int, 1, None, (False, False), "rows in the least-profitable and at-risk tables"),
    "cohort_months": (int, 1, None, (False, False), "cohorts shown in the retention heatmap"),
    "cost_per_order": (float, 0.0, None, (False, False), "cost to serve one order"),
    "cost_per_contact": (float, 0.0, None, (False, False), "cost of one campaign touch"),
    "clv_horizon_months": (int, 1, None, (False, False), "months of observed value"),
    "at_risk_threshold": (float, 0.0, 1.0, (True, True), "a probability: 50% is written 0.5"),
    "campaign_months": (int, 1, None, (False, False), "months of campaigns compared"),
    "min_group_size": (int, 1, None, (False, False),
                       "customers a channel or country needs to be ranked"),
    "engine": (str, ("pandas", "duckdb", "spark"), None, None, "engine of the RFM summary"),
}


@dataclass(frozen=True)
class ReportOptions(Mapping):
    """Section options of a report, typed and range-checked once at load.

    Also reads like a read-only mapping (``options["margin"]``), which is how the
    section templates receive them (as a papermill parameter).

    Examples
    --------
    >>> ReportOptions(margin=0.3).top_n
    10
    >>> ReportOptions(margin=30)
    Traceback (most recent call last):
    ...
    clvkit.errors.ReportError: `options.margin` must be a number > 0 and <= 1 (a fraction of \
revenue: 30% is written 0.30), got 30
    """

    margin: float = 1.0              # gross margin rate used when the data have none
    annual_discount_rate: float = 0.10
    top_n: int = 10                  # rows in "least profitable" / "at risk" tables
    cohort_months: int = 12          # cohorts shown in the retention heatmap
    cost_per_order: float = 0.0      # cost to serve one order (least-profitable customers)
    cost_per_contact: float = 0.0    # cost of one campaign touch
    clv_horizon_months: int = 12     # observed value horizon of "CLV by channel"
    at_risk_threshold: float = 0.5   # P(alive) below which a customer counts as at risk
    campaign_months: int = 3         # months of campaigns compared by tactic and message
    min_group_size: int = 30         # customers a group needs to be ranked (CLV by channel)
    engine: str = "pandas"           # engine of the RFM summary behind the predictions

    def __post_init__(self):
        for key, (kind, low, high, open_, hint) in _OPTION_RULES.items():
            value = raw = getattr(self, key)
            if kind is str:
                if value not in low:
                    raise ReportError(f"`options.{key}` must be one of {list(low)}, "
                                      f"got {value!r}")
                continue
            number = (not isinstance(value, bool) and isinstance(value, int | float)
                      and np.isfinite(value))
            if kind is int and number and float(value).is_integer():
                object.__setattr__(self, key, int(value))
            elif kind is int or not number:
                raise ReportError(f"`options.{key}` must be a "
                                  f"{'whole number' if kind is int else 'number'} ({hint}), "
                                  f"got {value!r}")
            else:
                object.__setattr__(self, key, float(value))
            value = getattr(self, key)
            too_low = value <= low if open_[0] else value < low
            too_high = high is not None and (value >= high if open_[1] else value > high)
            if too_low or too_high:
                bounds = f"{'>' if open_[0] else '>='} {low:g}" + (
                    f" and {'<' if open_[1] else '<='} {high:g}" if high is not None else "")
                raise ReportError(f"`options.{key}` must be a "
                                  f"{'whole number' if kind is int else 'number'} {bounds} "
                                  f"({hint}), got {raw!r}")

    @classmethod
    def from_mapping(cls, values) -> ReportOptions:
        """Options from a mapping (a config's ``options``); unknown keys are errors."""
        if isinstance(values, ReportOptions):
            return values
        if values is None:
            return cls()
        if not isinstance(values, Mapping):
            raise ReportError(f"`options` must be a mapping, got {type(values).__name__}")
        _unknown_keys(values, _OPTION_RULES, "`options`")
        return cls(**values)

    def __getitem__(self, key):
        if key not in _OPTION_RULES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(_OPTION_RULES)

    def __len__(self):
        return len(_OPTION_RULES)


#: Section options a config may set, with their defaults.
DEFAULT_OPTIONS: dict[str, Any] = dict(ReportOptions())
#: ISO 4217 codes accepted as ``currency``.
CURRENCIES = ("GBP", "USD", "EUR", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "INR",
              "CNY", "BRL")
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
    options : ReportOptions
        Section options, typed and range-checked.
    source : str or None
        Path of the YAML file, if any.
    mask_ids : bool
        ``privacy.mask_ids``: pages and exported lists show customer ids as
        stable pseudonyms (:func:`mask_id`) and mask names and e-mail columns
        (default True).
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
    options: ReportOptions
    source: str | None = None
    mask_ids: bool = True


def _unknown_keys(given, allowed, where: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ReportError(f"unknown key(s) {unknown} in {where}; allowed keys are "
                          f"{sorted(allowed)}")


def _resolve(path: str | os.PathLike, base: Path | None, *, shipped: bool = False) -> Path:
    """A path of a config: absolute, or relative to the config file's folder (``base``).

    Relative paths of a shipped config resolve against the data folder
    (:func:`clvkit.datasets.data_dir`, ``$CLVKIT_DATA``); of a config given as a
    mapping, against the working directory. Nothing else is searched.
    """
    path = Path(path).expanduser()
    if path.is_absolute():
        return path
    if shipped:
        from .datasets import data_dir

        try:
            return data_dir() / path
        except ClvError as err:
            raise ReportError(f"data {str(path)!r} of a shipped config: {err}") from err
    return (base if base is not None else Path.cwd()) / path


def _unique_key_loader():
    """A YAML SafeLoader that refuses a key written twice in one mapping."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ReportError(
                    f"key {key!r} is written twice in one mapping (lines "
                    f"{seen[key] + 1} and {key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return _Loader


def _read_yaml(text: str, where: str) -> dict:
    import yaml

    try:
        raw = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 (a SafeLoader)
    except ReportError as err:
        raise ReportError(f"config {where}: {err}") from None
    except yaml.YAMLError as err:
        raise ReportError(f"config {where} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise ReportError(f"config {where} must be a mapping of keys to values")
    return raw


def _display_base(base: Path | None, *, shipped: bool, override: bool) -> str:
    """Folder that report pages and the manifest show data paths relative to."""
    if base is not None and not override:
        return str(base)
    if shipped and not override:
        from .datasets import data_dir

        try:
            return str(data_dir().resolve())
        except ClvError:
            pass
    return str(Path.cwd().resolve())


def shipped_configs() -> tuple[str, ...]:
    """Names of the configurations shipped inside the package (``clvkit/configs/*.yml``)."""
    folder = resources.files("clvkit") / "configs"
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml")))


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


def _check_benchmarks(values) -> dict:
    """Benchmarks by metric name; names of the first edition get the new name in the error."""
    from .metrics import _RENAMED

    if isinstance(values, dict):
        for key in values:
            if key in _RENAMED and key not in BENCHMARK_KEYS:
                raise ReportError(f"`benchmarks.{key}` is no longer a metric name: "
                                  f"{_RENAMED[key]} (definitions in clvkit.metrics)")
    from .metrics import METRICS

    out = _check_number_map(values, BENCHMARK_KEYS, "benchmarks")
    for key, value in out.items():
        unit = METRICS[key].unit
        if unit == "percent" and not 0 <= value <= 1:
            raise ReportError(f"`benchmarks.{key}` is a rate: a fraction between 0 and 1 "
                              f"(10% is written 0.10), got {values[key]!r}")
        if value < 0:
            raise ReportError(f"`benchmarks.{key}` must be >= 0, got {values[key]!r}")
    return out


def _check_data(spec, base: Path | None, *, shipped: bool = False,
                override=None) -> dict:
    if spec is None and override is not None:
        spec = {}
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or ("path" not in spec and override is None):
        raise ReportError("`data` must be a path or a mapping with at least `path`, "
                          f"got {spec!r}")
    _unknown_keys(spec, _DATA_KEYS, "`data`")
    if override is None:
        path = _resolve(spec["path"], base, shipped=shipped)
        if not path.exists():
            raise ReportError(f"data file {str(spec['path'])!r} not found (looked for "
                              f"{path}; relative paths are relative to the config file's "
                              "folder)")
        path = path.resolve()
    elif isinstance(override, str | os.PathLike):
        path = Path(override)
    else:
        path = None
    kind = spec.get("kind") or ("synthetic_crm" if path is not None and path.is_dir()
                                else "transactions")
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
    non_product = spec.get("non_product") or []
    if not isinstance(non_product, list) or not all(isinstance(v, str) for v in non_product):
        raise ReportError("`data.non_product` must be a list of product names (postage, fees, "
                          f"...) to leave out of revenue, got {non_product!r}")
    loader = {key: spec[key] for key in LOADER_KEYS if key in spec}
    return {"path": None if path is None else str(path), "kind": kind, "preset": preset,
            "columns": dict(columns),
            "as_of": None if spec.get("as_of") is None else str(spec["as_of"]),
            "non_product": list(non_product), "loader": loader}


def load_config(config: str | os.PathLike | dict | None = None, *, data=None) -> ReportConfig:
    """Read and validate a report configuration.

    Parameters
    ----------
    config : path, name, dict or None
        A YAML file, the name of a shipped config (:func:`shipped_configs`:
        ``"online_retail"``, ``"synthetic_crm"``, ``"default"``), an already-parsed
        mapping, or None: ``"online_retail"`` (month 2011-11), or ``"default"``
        (any transactions file) when ``data`` is given.
    data : path, DataFrame or LoadResult, optional
        Data that will override the config's ``data.path``: the configured path
        then need not exist, and a config without ``data`` is accepted.

    Returns
    -------
    ReportConfig

    Raises
    ------
    ReportError
        Missing file, invalid YAML, a key written twice, unknown key (named, with
        the allowed ones), bad currency, time unit, month, section, benchmark or
        option (typed and range-checked, see :class:`ReportOptions`).

    Notes
    -----
    Relative paths in a config file are relative to the file's folder (never
    the working directory); in a shipped config, to the data folder
    (``$CLVKIT_DATA``); in a mapping, to the working directory.

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
['benchmarks', 'currency', 'data', 'jobs', 'month', 'name', 'options', 'privacy', 'sections', \
'time_unit', 'title']
    """
    source = None
    base = None
    shipped = False
    if config is None:
        config = GENERIC_CONFIG if isinstance(data, str | os.PathLike) else DEFAULT_CONFIG
    if isinstance(config, dict):
        raw = dict(config)
    elif isinstance(config, str) and config in shipped_configs():
        path = CONFIG_DIR / f"{config}.yml"
        raw = _read_yaml(path.read_text(encoding="utf-8"), f"{config!r} (shipped)")
        source, shipped = str(path), True
    else:
        path = Path(config).expanduser()
        if not path.is_file():
            raise ReportError(f"config file {str(config)!r} not found (give a YAML file, or "
                              f"the name of a shipped config: {list(shipped_configs())})")
        raw = _read_yaml(path.read_text(encoding="utf-8"), repr(str(config)))
        source, base = str(path.resolve()), path.resolve().parent
    _unknown_keys(raw, _CONFIG_KEYS, "config")
    if "data" not in raw and data is None:
        raise ReportError("config has no `data` (the transactions file or synthetic CRM folder)")
    spec = _check_data(raw.get("data"), base, shipped=shipped, override=data)
    spec["base"] = _display_base(base, shipped=shipped, override=data is not None)
    stem = (Path(spec["path"]).stem.split(".")[0] if spec["path"] is not None
            else "report")
    name = str(raw.get("name") or (stem if shipped or not source else Path(source).stem))
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
    options = ReportOptions.from_mapping(raw.get("options") or {})
    month = None if raw.get("month") is None else _check_month(raw["month"], "`month`")
    privacy = raw.get("privacy") or {}
    if not isinstance(privacy, Mapping):
        raise ReportError(f"`privacy` must be a mapping such as {{mask_ids: true}}, "
                          f"got {privacy!r}")
    _unknown_keys(privacy, PRIVACY_KEYS, "`privacy`")
    mask_ids = privacy.get("mask_ids", PRIVACY_KEYS["mask_ids"])
    if not isinstance(mask_ids, bool):
        raise ReportError(f"`privacy.mask_ids` must be true or false, got {mask_ids!r}")
    return ReportConfig(
        name=name, title=str(raw.get("title") or f"{name} monthly CRM report"), data=spec,
        month=month, currency=currency, time_unit=time_unit,
        benchmarks=_check_benchmarks(raw.get("benchmarks") or {}),
        sections=sections, jobs=jobs, options=options, source=source, mask_ids=mask_ids)


# --------------------------------------------------------------------------- data

@dataclass(frozen=True, eq=False)
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
    non_product : DataFrame or None
        Purchase lines that are not products (``data.non_product``: postage, fees),
        left out of ``transactions`` and of revenue.
    bridge : DataFrame or None
        Monthly revenue bridge (:func:`clvkit.reconcile.revenue_bridge`, flat:
        ``month, step, rows, amount``), computed from the raw input.
    file_totals : dict or None
        :func:`clvkit.reconcile.file_totals` of the raw input.
    """

    transactions: pd.DataFrame
    returns: pd.DataFrame
    log: pd.DataFrame
    rows_read: int
    source: str
    customers: pd.DataFrame | None = None
    campaigns: pd.DataFrame | None = None
    touches: pd.DataFrame | None = None
    non_product: pd.DataFrame | None = None
    bridge: pd.DataFrame | None = None
    file_totals: dict | None = None

    def has(self, table: str) -> bool:
        """Whether the optional table ``table`` is present and non-empty."""
        frame = getattr(self, table)
        return frame is not None and len(frame) > 0


_TABLES = ("transactions", "returns", "log", "customers", "campaigns", "touches", "non_product",
           "bridge")
#: Columns holding personal data (names, e-mail addresses, phone numbers) masked with the ids.
PERSONAL_COLUMNS = ("name", "first_name", "last_name", "full_name", "customer_name", "email",
                    "e_mail", "email_address", "phone", "phone_number")
_MASK_DIGITS = 12


def mask_id(value) -> str:
    """A stable short pseudonym of a customer id (or name, e-mail address): ``c-`` + 12 hex digits.

    The first 12 hex digits of the SHA-256 of the text: the same id always gives
    the same pseudonym (so pages, lists and reruns agree), and the id cannot be
    read from it. It is not encryption: someone who can guess candidate ids can
    hash them and compare.

    Examples
    --------
    >>> mask_id("ann@example.com")
    'c-71d4f55f72fa'
    >>> mask_id(17) == mask_id("17")
    True
    """
    return "c-" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:_MASK_DIGITS]


def _mask_series(values: pd.Series) -> pd.Series:
    return values.map(mask_id, na_action="ignore").astype("object")


def mask_customer_ids(data: ReportData) -> ReportData:
    """``data`` with every customer id replaced by :func:`mask_id` and personal columns masked.

    Customer ids in the transactions, returns, non-product lines, campaign
    touches and the customers table's index are pseudonymised consistently;
    columns named in :data:`PERSONAL_COLUMNS` of the transactions and customers
    are masked too. Raises ReportError in the (astronomically unlikely) case two
    ids share a pseudonym.
    """
    import dataclasses

    changes = {}
    for name in ("transactions", "returns", "non_product", "touches", "customers"):
        frame = getattr(data, name)
        if frame is None:
            continue
        frame = frame.copy()
        if C.CUSTOMER_ID in frame.columns:
            frame[C.CUSTOMER_ID] = _mask_series(frame[C.CUSTOMER_ID])
        if name == "customers":
            masked = frame.index.map(lambda v: mask_id(v) if pd.notna(v) else v)
            if masked.nunique() != frame.index.nunique():
                raise ReportError("two customer ids share a masked pseudonym; set "
                                  "`privacy: {mask_ids: false}` to show the ids")
            frame.index = pd.Index(masked, name=frame.index.name)
        if name in ("transactions", "customers"):
            for column in frame.columns.intersection(PERSONAL_COLUMNS):
                frame[column] = _mask_series(frame[column])
        changes[name] = frame
    tx = data.transactions
    if tx is not None and C.CUSTOMER_ID in tx:
        if changes["transactions"][C.CUSTOMER_ID].nunique() != tx[C.CUSTOMER_ID].nunique():
            raise ReportError("two customer ids share a masked pseudonym; set "
                              "`privacy: {mask_ids: false}` to show the ids")
    return dataclasses.replace(data, **changes)


def _loader_options(spec: dict) -> dict:
    """Keyword arguments of :func:`clvkit.load_transactions` from ``ReportConfig.data``."""
    import inspect

    from .io import load_transactions

    options = {"preset": spec.get("preset"), **spec.get("columns", {}),
               **spec.get("loader", {})}
    if spec.get("as_of") is not None:
        options["as_of"] = spec["as_of"]
    accepted = inspect.signature(load_transactions).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return options
    unknown = sorted(k for k in options if k not in accepted)
    if unknown:
        raise ReportError(f"`data` option(s) {unknown} are not supported by this version of "
                          "clvkit's loader; remove them from the config's `data`")
    return options


def _split_non_product(tx: pd.DataFrame, names) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(product lines, non-product lines) of ``tx`` by the config's ``data.non_product``."""
    from .reconcile import is_non_product

    if not names or C.PRODUCT not in tx:
        return tx, tx.iloc[:0]
    mask = is_non_product(tx[C.PRODUCT], names)
    return (tx.loc[~mask].reset_index(drop=True), tx.loc[mask].reset_index(drop=True))


def _bridge(raw: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, dict]:
    """Monthly revenue bridge and file totals, parsed independently of the loader."""
    from .reconcile import file_totals, parse_raw, revenue_bridge

    loader = spec.get("loader", {})
    parsed = parse_raw(raw, preset=spec.get("preset"), columns=spec.get("columns"),
                       options=loader)
    bridge = revenue_bridge(parsed, preset=spec.get("preset"),
                            non_product=spec.get("non_product", ()),
                            as_of=spec.get("as_of") or "now",
                            duplicates=loader.get("duplicates"), zero=loader.get("zero"))
    totals = file_totals(parsed)
    totals = {**totals, "first_date": str(totals["first_date"]),
              "last_date": str(totals["last_date"])}
    return bridge.reset_index(), totals


_CALL_RE = re.compile(r"load_transactions\((?P<args>[^)]*)\)")
_KEYWORD_RE = re.compile(r"\b(?P<key>[a-z_]+)=(?P<value>'[^']*'|\"[^\"]*\"|[^\s,;)]+)")


def yaml_hint(message: str) -> str:
    """Rewrite the loader's Python-style hints (``decimal=','``) in the config's YAML terms.

    Examples
    --------
    >>> yaml_hint("ambiguous 'amount': pass decimal=',' or decimal='.'")
    "ambiguous 'amount': pass `data: {decimal: ','}` or `data: {decimal: '.'}`"
    >>> yaml_hint("e.g. load_transactions(path, customer_id='CustomerID', date='InvoiceDate')")
    'e.g. `data: {columns: {customer_id: CustomerID, date: InvoiceDate}}`'
    """
    columns = (*C.CANONICAL, "unit_price")

    def call(match):
        pairs = [(m["key"], m["value"].strip("'\"")) for m in _KEYWORD_RE.finditer(match["args"])]
        cols = ", ".join(f"{k}: {v}" for k, v in pairs if k in columns)
        opts = ", ".join(f"{k}: {v}" for k, v in pairs if k not in columns)
        inner = ", ".join(x for x in (f"columns: {{{cols}}}" if cols else "", opts) if x)
        return f"`data: {{{inner}}}`"

    def keyword(match):
        key = match["key"]
        if key not in LOADER_KEYS and key not in columns:
            return match.group(0)
        if key in columns:
            return f"`data: {{columns: {{{key}: {match['value'].strip(chr(39) + chr(34))}}}}}`"
        return f"`data: {{{key}: {match['value']}}}`"

    return _KEYWORD_RE.sub(keyword, _CALL_RE.sub(call, message))


def load_report_data(spec: dict, *, data=None) -> ReportData:
    """Load and clean the data of a report once (``spec`` is ``ReportConfig.data``).

    ``data`` overrides the configured source: a path (file, or synthetic CRM
    folder), a DataFrame of transactions with canonical columns, or a
    :class:`clvkit.io.LoadResult` (then no revenue bridge can be computed: the
    raw input is unknown). Lines whose product is in ``spec["non_product"]`` are
    set apart (``ReportData.non_product``); the monthly revenue bridge is computed
    from the raw input independently of the loader (:mod:`clvkit.reconcile`).
    """
    from .io import LoadResult

    if isinstance(data, LoadResult):
        tx, other = _split_non_product(data.transactions, spec.get("non_product"))
        return ReportData(tx, data.returns, data.log, data.rows_read, data.source,
                          non_product=other)
    options = _loader_options(spec)
    try:
        return _load_report_data(spec, data, options)
    except ReportError:
        raise
    except ClvError as err:
        raise ReportError(f"could not load the report data: {yaml_hint(str(err))}") from err


def _load_report_data(spec: dict, data, options: dict) -> ReportData:
    from .io import load_transactions
    from .reading import read_table

    extra = {}
    if isinstance(data, pd.DataFrame):
        raw, source, res = data, "DataFrame", load_transactions(data, **options)
    else:
        path = Path(spec["path"] if data is None else data)
        if not path.exists():
            raise ReportError(f"data file {str(path)!r} not found")
        if path.is_dir():
            from .synthetic import load_crm

            crm = load_crm(path)
            raw, source = crm.transactions, _display_path(path, spec.get("base"))
            res = load_transactions(crm.transactions, **options)
            extra = {"customers": crm.customers, "campaigns": crm.campaigns,
                     "touches": crm.touches}
        else:
            res = load_transactions(path, **options)
            raw = read_table(path, **{k: v for k, v in spec.get("loader", {}).items()
                                      if k in ("encoding", "sep", "sheet")})
            source = _display_path(path, spec.get("base"))
    bridge, totals = _bridge(raw, spec)
    tx, other = _split_non_product(res.transactions, spec.get("non_product"))
    return ReportData(tx, res.returns, res.log, res.rows_read, source, non_product=other,
                      bridge=bridge, file_totals=totals, **extra)


def _save_data(data: ReportData, folder: Path) -> None:
    folder.mkdir()
    for name in _TABLES:
        frame = getattr(data, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=name in ("customers", "campaigns"))
    meta = {"rows_read": int(data.rows_read), "source": str(data.source),
            "file_totals": data.file_totals}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def load_section_data(data_dir: str | os.PathLike) -> ReportData:
    """Read the data prepared by :func:`build_report` (used by the section templates)."""
    folder = Path(data_dir)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet")
              for name in _TABLES if (folder / f"{name}.parquet").exists()}
    return ReportData(rows_read=meta["rows_read"], source=meta["source"],
                      file_totals=meta.get("file_totals"), **tables)


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

def section_heading(title: str, *, month: str, section: str) -> str:
    r"""Markdown heading of a section page, with data text escaped.

    Examples
    --------
    >>> section_heading("Shop <A&B>", month="2011-11", section="Data quality")
    '# Data quality\n**Shop &lt;A&amp;B&gt;** -- November 2011'
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    return f"# {section}\n**{_text(title)}** -- {label}"


def _fmt(value, kind: str, currency: str = "GBP", decimals: int | None = None) -> str:
    from .narrative import format_value

    return format_value(value, kind=kind, currency=currency, decimals=decimals)


def _upto(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    """Rows dated up to the end of ``month`` (the report never looks into the future)."""
    end = pd.Period(month, "M").end_time
    return frame.loc[frame[C.DATE] <= end]


def _month_end(month: str) -> pd.Timestamp:
    return pd.Period(month, "M").end_time.normalize()


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>])")


def _text(value) -> str:
    r"""Text from data or config (a title, channel, country, product, file name) for Markdown.

    HTML-escaped and with Markdown punctuation backslash-escaped, so a value such
    as ``[x](javascript:alert(1))`` or a backtick stays text; line breaks become
    spaces. (Pages are sanitised after rendering as well.)

    Examples
    --------
    >>> _text("[x](javascript:alert(1)) <b>")
    '\\[x\\]\\(javascript:alert\\(1\\)\\) &lt;b&gt;'
    """
    flat = " ".join(str(value).split())
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(flat, quote=False))


def _bullets(sentences) -> str:
    return "\n".join(f"- {html.escape(s)}" for s in sentences)


def _options(options) -> ReportOptions:
    """Section options (a mapping or :class:`ReportOptions`) typed, with the defaults."""
    return ReportOptions.from_mapping(options)


def _monthly_discount(options: dict) -> float:
    """Monthly discount rate equivalent to ``options["annual_discount_rate"]``."""
    return (1 + options["annual_discount_rate"]) ** (1 / 12) - 1


def month_kpis(data: ReportData, *, options: dict | None = None) -> pd.DataFrame:
    """Monthly KPIs of :func:`clvkit.crm.monthly_kpis` plus the retention-model CLV and LTV:CAC.

    Definitions: :data:`clvkit.metrics.METRICS`. ``retention_clv`` is the
    retention-model value of a customer of the churn base, m r / (1 + d - r),
    with m the month's gross margin divided by the churn base at the end of the
    previous month (the same customers the churn rate is a share of), r = 1 - the
    month's churn rate and d the monthly discount rate; it is NaN (n/a) where churn
    is undefined (the first three months of the data). ``ltv_to_cac`` divides it by
    the mean CAC of the month's new customers (only when the data have customer CAC).
    """
    from .crm import churn_base, monthly_kpis
    from .formulas import retention_clv

    options = _options(options)
    tx = data.transactions
    kpis = monthly_kpis(tx, period="M")
    rate = np.full(len(tx), options["margin"])
    if data.has("customers") and "margin" in data.customers:
        rate = tx[C.CUSTOMER_ID].map(data.customers["margin"]).fillna(options["margin"])
    month_of = tx[C.DATE].dt.to_period("M")
    margin = (tx[C.AMOUNT] * rate).groupby(month_of).sum().reindex(kpis.index).fillna(0.0)
    base = churn_base(tx, period="M").shift(1)
    per_customer = margin / base.replace(0, np.nan)
    retention = (1 - kpis["churn_rate"]).clip(upper=0.999)
    ok = (per_customer.notna() & retention.notna()).to_numpy()
    clv = np.full(len(kpis), np.nan)
    clv[ok] = retention_clv(per_customer.to_numpy()[ok], retention=retention.to_numpy()[ok],
                            discount_rate=_monthly_discount(options))
    kpis["retention_clv"] = clv
    if data.has("customers") and "cac" in data.customers:
        acquired = pd.to_datetime(data.customers["acquisition_date"]).dt.to_period("M")
        cac = data.customers["cac"].groupby(acquired).mean().reindex(kpis.index)
        kpis["ltv_to_cac"] = kpis["retention_clv"] / cac
    return kpis


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
        Indexed by KPI name (:data:`clvkit.metrics.KPI_NAMES`, those the data
        support) with columns ``label, kind, higher_is_better, value, previous,
        last_year, benchmark`` (NaN where not available or undefined).
    """
    from .metrics import KPI_NAMES, METRICS

    kpis = month_kpis(data, options=options)
    period = pd.Period(month, "M")
    keys = [k for k in KPI_NAMES if k in kpis.columns]
    kpis = kpis[keys]

    def row(p):
        return kpis.loc[p] if p in kpis.index else pd.Series(np.nan, index=keys)

    gaps = set(data_gaps(data)) | {str(p) for p in kpis.index[_active_by_month(data) == 0]}
    kpis.loc[[p for p in kpis.index if str(p) in gaps]] = np.nan    # a gap is n/a, not 0
    table = pd.DataFrame({"value": row(period), "previous": row(period - 1),
                          "last_year": row(period - 12)}).astype(float)
    table["benchmark"] = pd.Series(benchmarks or {}, dtype=float).reindex(table.index)
    meta = pd.DataFrame({"label": [METRICS[k].label for k in keys],
                         "kind": [METRICS[k].unit for k in keys],
                         "higher_is_better": [METRICS[k].higher_is_better for k in keys]},
                        index=keys)
    out = meta.join(table)
    out.attrs["churn_definition"] = kpis.attrs.get("churn_definition", "")
    out.attrs["gaps"] = [str(p) for p in (period, period - 1, period - 12) if str(p) in gaps]
    out.attrs["month"] = month
    if data.bridge is not None and len(data.bridge):
        rows = data.bridge.loc[data.bridge["month"] == month].set_index("step")["amount"]
        if len(rows):
            out.attrs["file_total"] = float(rows["all rows in the month"])
    return out


def _active_by_month(data: ReportData) -> pd.Series:
    """Active customers per month (0 in months without transactions)."""
    from .crm import active_customers

    return active_customers(data.transactions, period="M")


def definitions_text(data: ReportData, *, month: str, currency: str,
                     options: dict | None = None,
                     names: tuple[str, ...] | None = None) -> str:
    """Markdown definitions of the headline KPIs and CLV figures, from :mod:`clvkit.metrics`.

    Adds what the data and configuration decide: the data's start date (what
    "new" means), the churn window, why churn and retention do not add up to
    100%, and the margin and discount rate the CLV figures assume.
    """
    from .metrics import CLV_FAMILY, KPI_NAMES, definitions_markdown

    options = _options(options)
    start = data.transactions[C.DATE].min()
    notes = {
        "new_customers": (f"The data start on {start:%d %B %Y}; customers who bought before "
                          "that are new when first seen." if pd.notna(start) else ""),
        "churn_rate": ("Churn and retention need not add up to 100%: retention compares two "
                       "consecutive months, while churn counts only customers who have gone "
                       "three full months without a purchase, as a share of everyone who "
                       "bought in the last three months."),
        "retention_clv": _clv_assumptions(data, options),
        "observed_value": _clv_assumptions(data, options, discounted=False),
        "predicted_clv": _clv_assumptions(data, options),
    }
    names = names or tuple(n for n in dict.fromkeys((*KPI_NAMES, *CLV_FAMILY))
                           if n not in ("ltv_to_cac",) or _has_cac(data))
    return ("## Definitions\n\n"
            + definitions_markdown(names, horizon=int(options["clv_horizon_months"]),
                                   notes=notes))


def _has_cac(data: ReportData) -> bool:
    return data.has("customers") and "cac" in data.customers


def _clv_assumptions(data: ReportData, options: dict, *, discounted: bool = True) -> str:
    """One sentence: the margin (and discount rate) a CLV figure assumes."""
    if data.has("customers") and "margin" in data.customers:
        margin = "each customer's own gross margin rate from the data"
    else:
        margin = (f"a gross margin of {_fmt(options['margin'], 'percent')} of revenue "
                  "(an assumption, set by `options.margin`)")
    if not discounted:
        return f"Assumes {margin}; not discounted."
    return (f"Assumes {margin} and an annual discount rate of "
            f"{_fmt(options['annual_discount_rate'], 'percent')} "
            f"({_fmt(_monthly_discount(options), 'percent', decimals=2)} a month).")


def executive_summary_text(headline: pd.DataFrame, *, month: str, currency: str) -> str:
    """Markdown sentences (escaped) that put each headline number in context.

    One :func:`clvkit.narrative.describe_change` sentence per KPI: its value,
    the change since last month, since the same month last year (when the data
    reach back) and against the configured target.
    """
    from .narrative import describe_change

    label = pd.Period(month, "M").strftime("%B %Y")
    if month in headline.attrs.get("gaps", ()):
        return (f"**No transactions are recorded in {label}.** This is a gap in the data (a "
                "missing extract?), not a fall in sales: the month's numbers are n/a. Check "
                "the data-quality page.")
    sentences = []
    for _, row in headline.iterrows():
        has_ly = pd.notna(row["last_year"])
        sentences.append(describe_change(
            row["label"], row["value"], kind=row["kind"], period=month,
            previous=row["previous"], last_year=row["last_year"] if has_ly else None,
            benchmark=None if pd.isna(row["benchmark"]) else row["benchmark"],
            higher_is_better=bool(row["higher_is_better"]), currency=currency,
            benchmark_label="the target"))
    note = ""
    if not headline["last_year"].notna().any():
        note = ("\n\nThe data do not reach back to the same month last year, so there is no "
                "year-on-year comparison.")
    gaps = [g for g in headline.attrs.get("gaps", ()) if g != month]
    if gaps:
        note += (f"\n\n{', '.join(gaps)} had no transactions at all (a gap in the data): "
                 "comparisons with it are n/a.")
    definition = headline.attrs.get("churn_definition")
    if definition:
        note += f"\n\nA customer counts as churned after {html.escape(definition)}."
    if "file_total" in headline.attrs and "revenue" in headline.index:
        note += ("\n\nRevenue covers identified customers' purchases after cancellations, "
                 "returns, duplicates and non-product lines (postage, fees) are set apart: "
                 f"{_fmt(headline.loc['revenue', 'value'], 'currency', currency)} of the "
                 f"{_fmt(headline.attrs['file_total'], 'currency', currency)} that all rows of "
                 f"the file dated in {label} add up to (the revenue bridge on the data-quality "
                 "page shows each step).")
    return _bullets(sentences) + note


def headline_table_display(headline: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Headline numbers formatted as text, ready to display (one row per KPI)."""
    out = pd.DataFrame(index=pd.Index(headline["label"], name="KPI"))
    for col, name in (("value", "This month"), ("previous", "Last month"),
                      ("last_year", "Same month last year"), ("benchmark", "Target")):
        out[name] = [_fmt(v, k, currency) for v, k in zip(headline[col], headline["kind"],
                                                           strict=True)]
    return out


def _axes(ax, figsize=(8, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _palette():
    import seaborn as sns

    return sns.color_palette("colorblind")


def _money_axis(axis, currency: str) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: _fmt(v, "currency", currency)
                                           .replace(".00", "")))


def plot_monthly_trend(data: ReportData, *, month: str, currency: str, months: int = 13,
                       ax=None):
    """Revenue bars and active customers line over the ``months`` months ending at ``month``."""
    from .crm import monthly_kpis

    kpis = monthly_kpis(_upto(data.transactions, month), period="M").iloc[-months:]
    ax = _axes(ax)
    colors = _palette()
    labels = kpis.index.strftime("%b %y")
    ax.bar(labels, kpis["revenue"], color=colors[0], label="Revenue")
    ax.set_ylabel(f"Revenue ({currency})")
    _money_axis(ax.yaxis, currency)
    ax.set_xlabel("Month")
    twin = ax.twinx()
    twin.plot(labels, kpis["active_customers"], color=colors[1], marker="o",
              label="Active customers")
    twin.set_ylabel("Active customers")
    twin.set_ylim(bottom=0)
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("Revenue and active customers by month")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", frameon=False)
    return ax


# ----- segments

def segment_movement(data: ReportData, *, month: str, time_unit: str = "D") -> pd.DataFrame:
    """RFM segment of every customer at the end of last month and at the end of ``month``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``previous`` (segment at the end of the
        previous month; "(new)" for customers whose first purchase is in
        ``month``), ``current``, ``moved`` (bool), ``monetary`` (total spend to
        date) and ``last_purchase`` (date).
    """
    from .segments import rfm_scores

    tx = _upto(data.transactions, month)
    prev_month = str(pd.Period(month, "M") - 1)
    now = rfm_scores(tx, observation_end=_month_end(month), time_unit=time_unit)
    before_tx = _upto(tx, prev_month)
    previous = (rfm_scores(before_tx, observation_end=_month_end(prev_month),
                           time_unit=time_unit)["segment"]
                if len(before_tx) else pd.Series(dtype="object"))
    prev = previous.astype("object").reindex(now.index).fillna("(new)")
    out = pd.DataFrame({"previous": prev, "current": now["segment"].astype("object"),
                        "monetary": now["monetary"],
                        "last_purchase": tx.groupby(C.CUSTOMER_ID)[C.DATE].max()
                        .reindex(now.index).dt.normalize()})
    out["moved"] = out["previous"] != out["current"]
    return out


def segment_sizes(movement: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment last month and this month, with the change."""
    from .segments import SEGMENT_NAMES

    order = [s for s in SEGMENT_NAMES if s in set(movement["current"])
             | set(movement["previous"])]
    out = pd.DataFrame({
        "last month": movement["previous"].value_counts().reindex(order, fill_value=0),
        "this month": movement["current"].value_counts().reindex(order, fill_value=0),
    })
    out["change"] = out["this month"] - out["last month"]
    out.index.name = "segment"
    return out


def moved_into(movement: pd.DataFrame, *, segment: str = "At risk", n: int = 10,
               currency: str = "GBP") -> pd.DataFrame:
    """Customers who moved into ``segment`` this month, most valuable first (top ``n``)."""
    moved = movement.loc[movement["moved"] & (movement["current"] == segment)]
    moved = moved.sort_values(["monetary", "last_purchase"], ascending=[False, True],
                              kind="mergesort").head(n)
    return pd.DataFrame({"segment last month": moved["previous"],
                         "spend to date": [_fmt(v, "currency", currency)
                                           for v in moved["monetary"]],
                         "last purchase": moved["last_purchase"].dt.strftime("%Y-%m-%d")},
                        index=moved.index)


#: Segments whose customers make the at-risk target list.
AT_RISK_SEGMENTS = ("At risk", "Can't lose them")


def target_lists(movement: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Customer lists for CRM action, from :func:`segment_movement`.

    ``at_risk``: every customer whose RFM segment at the end of the month is
    one of :data:`AT_RISK_SEGMENTS` (valuable customers slipping away);
    ``win_back``: the customers who moved into "At risk" this month (the
    first candidates for a win-back contact). Most valuable first; columns
    ``segment``, ``segment_last_month``, ``spend_to_date``, ``last_purchase``,
    indexed by ``customer_id``.
    """
    def listing(rows):
        rows = rows.sort_values(["monetary", "last_purchase"], ascending=[False, True],
                                kind="mergesort")
        out = pd.DataFrame({"segment": rows["current"].astype("object"),
                            "segment_last_month": rows["previous"].astype("object"),
                            "spend_to_date": rows["monetary"].round(2),
                            "last_purchase": rows["last_purchase"].dt.strftime("%Y-%m-%d")},
                           index=rows.index)
        out.index.name = C.CUSTOMER_ID
        return out

    return {"at_risk": listing(movement.loc[movement["current"].isin(AT_RISK_SEGMENTS)]),
            "win_back": listing(movement.loc[movement["moved"]
                                             & (movement["current"] == "At risk")])}


def write_target_lists(lists: dict[str, pd.DataFrame], *, folder: str | os.PathLike,
                       prefix: str) -> dict[str, Path]:
    """Write each list of :func:`target_lists` as ``<prefix>-<name>.csv`` in ``folder``.

    Written with :func:`clvkit.outputs.write_table` (spreadsheet-safe text: an id
    such as ``=HYPERLINK(...)`` gets a leading ``'``), replacing a previous copy.
    Returns the paths by list name.
    """
    from .outputs import write_table

    folder = Path(folder)
    return {name: write_table(frame, folder / f"{prefix}-{name.replace('_', '-')}.csv",
                              force=True)
            for name, frame in lists.items()}


def target_lists_text(lists: dict[str, pd.DataFrame], paths: dict[str, Path]) -> str:
    """Markdown bullets linking each exported list, with its size."""
    what = {"at_risk": "at-risk customers (segments " + ", ".join(AT_RISK_SEGMENTS) + ")",
            "win_back": "win-back candidates (moved into \"At risk\" this month)"}
    return "\n".join(f"- [{_text(paths[name].name)}]({paths[name].name}): "
                     f"{len(frame):,} {what.get(name, _text(name))}"
                     for name, frame in lists.items())


def segments_text(movement: pd.DataFrame, *, month: str, currency: str) -> str:
    """Sentences on how many customers changed segment and who moved into "At risk"."""
    label = pd.Period(month, "M").strftime("%B %Y")
    existing = movement.loc[movement["previous"] != "(new)"]
    into = movement.loc[movement["moved"] & (movement["current"] == "At risk")]
    valuable = into["previous"].isin(["Champions", "Loyal customers", "Can't lose them"])
    share = existing["moved"].mean() if len(existing) else float("nan")
    return (
        f"At the end of {label}, {len(movement):,} customers have bought at least once; "
        f"{int(existing['moved'].sum()):,} of the {len(existing):,} customers known a month "
        f"earlier ({_fmt(share, 'percent', currency)}) changed RFM segment, and "
        f"{int((movement['previous'] == '(new)').sum()):,} are new this month.\n\n"
        f"**{len(into):,} customers moved into \"At risk\"** this month "
        f"({int(valuable.sum()):,} of them were Champions, Loyal customers or Can't lose them "
        f"last month); together they have spent "
        f"{_fmt(into['monetary'].sum(), 'currency', currency)} to date. They are the first "
        "candidates for a win-back contact.")


def plot_segment_sizes(sizes: pd.DataFrame, *, ax=None):
    """Horizontal bars: customers per segment last month and this month."""
    ax = _axes(ax, figsize=(8, 4.5))
    colors = _palette()
    y = np.arange(len(sizes))
    ax.barh(y - 0.2, sizes["last month"], height=0.4, color=colors[7], label="last month")
    ax.barh(y + 0.2, sizes["this month"], height=0.4, color=colors[0], label="this month")
    ax.set_yticks(y, sizes.index)
    ax.invert_yaxis()
    ax.set_xlabel("Customers")
    ax.set_ylabel("RFM segment")
    ax.set_title("Customers per RFM segment")
    ax.legend(frameon=False)
    return ax


# ----- least profitable customers

def profit_table(data: ReportData, *, month: str, options: dict | None = None) -> pd.DataFrame:
    """Profit per customer up to the end of ``month`` (:func:`clvkit.segments.customer_profit`).

    Margin: the customers' own ``margin`` when the data have it, else
    ``options["margin"]``; cost to serve ``options["cost_per_order"]`` per order
    and ``options["cost_per_contact"]`` per campaign touch; acquisition cost
    the customers' ``cac`` when present.
    """
    from .segments import customer_profit

    options = _options(options)
    tx, ret = _upto(data.transactions, month), _upto(data.returns, month)
    margin, cac, contacts = options["margin"], None, None
    if data.has("customers"):
        customers = data.customers.loc[data.customers.index.isin(tx[C.CUSTOMER_ID])]
        margin = customers["margin"] if "margin" in customers else margin
        cac = customers["cac"] if "cac" in customers else None
    if data.has("touches"):
        touches = data.touches
        contacts = touches.loc[pd.to_datetime(touches["send_date"]) <= _month_end(month)]
    profit = customer_profit(tx, returns=ret, margin=margin,
                             cost_per_order=options["cost_per_order"],
                             cost_per_contact=options["cost_per_contact"],
                             contacts=contacts, acquisition_cost=cac)
    profit = profit.loc[profit.index.isin(tx[C.CUSTOMER_ID])]
    profit.attrs["margin"] = "customers" if isinstance(margin, pd.Series) else "option"
    return profit


def least_profitable_display(profit: pd.DataFrame, *, n: int, currency: str) -> pd.DataFrame:
    """The ``n`` least profitable customers with their revenue and cost terms, formatted."""
    from .segments import least_profitable

    worst = least_profitable(profit, n=n)
    cols = [c for c in ("revenue", "returns", "cogs", "cost_to_serve", "acquisition_cost",
                        "profit") if c in worst]
    out = worst[["orders"]].copy()
    for col in cols:
        out[col.replace("_", " ")] = [_fmt(v, "currency", currency) for v in worst[col]]
    return out


def profit_text(profit: pd.DataFrame, *, month: str, currency: str, options: dict) -> str:
    """Sentences on how many customers lose money and what they cost."""
    label = pd.Period(month, "M").strftime("%B %Y")
    losers = profit.loc[profit["profit"] < 0]
    total = profit["profit"].sum()
    margin = ("each customer's gross margin rate from the data" if profit.attrs.get("margin")
              == "customers" else f"gross margin {_fmt(options['margin'], 'percent', currency)}")
    cost = _fmt(options["cost_per_order"], "currency", currency)
    assumptions = f"{margin}, {cost} cost to serve per order"
    return (f"Up to the end of {label}, **{len(losers):,} of {len(profit):,} customers "
            f"({_fmt(len(losers) / max(len(profit), 1), 'percent', currency)}) lost money**: "
            f"together {_fmt(losers['profit'].sum(), 'currency', currency)}, against a total "
            f"profit of {_fmt(total, 'currency', currency)}. Without them profit would be "
            f"{_fmt(total - losers['profit'].sum(), 'currency', currency)}.\n\n"
            f"Assumptions: {assumptions}; returns are subtracted from revenue."
            + (f" {over:,} customers returned more than they bought within the data (returns "
               "of purchases made before the data begin), which makes their net revenue "
               "negative." if (over := int((profit["returns"] > profit["revenue"]).sum())) else ""))


def plot_profit_curve(profit: pd.DataFrame, *, currency: str, ax=None):
    """Cumulative profit with customers sorted from most to least profitable (whale curve)."""
    ax = _axes(ax)
    ordered = np.sort(profit["profit"].to_numpy())[::-1]
    share = np.arange(1, len(ordered) + 1) / len(ordered) * 100
    ax.plot(share, np.cumsum(ordered), color=_palette()[0])
    ax.axhline(ordered.sum(), color=_palette()[3], linestyle="--", label="total profit")
    ax.set_xlabel("Customers, most profitable first (%)")
    ax.set_ylabel(f"Cumulative profit ({currency})")
    _money_axis(ax.yaxis, currency)
    ax.set_title("Cumulative profit by customer (whale curve)")
    ax.legend(frameon=False, loc="lower right")
    return ax


# ----- cohorts

def cohort_retention(data: ReportData, *, month: str, cohorts: int = 12) -> pd.DataFrame:
    """Monthly retention of the last ``cohorts`` acquisition cohorts up to ``month``.

    :func:`clvkit.crm.cohort_matrix` cut to the last ``cohorts`` rows and
    ``cohorts`` ages (plot it with :func:`clvkit.plotting.cohort_heatmap`).
    """
    from .crm import cohort_matrix

    matrix = cohort_matrix(_upto(data.transactions, month), period="M", value="retention")
    sizes = matrix.attrs["cohort_size"]
    acquired = sizes.index[sizes.to_numpy() > 0]        # months that acquired no one are no cohort
    out = matrix.loc[acquired].iloc[-cohorts:, :cohorts].copy()
    out.attrs = {**matrix.attrs, "cohort_size": sizes.loc[out.index],
                 "left_censored": matrix.index[0] if matrix.index[0] in out.index else None}
    return out


def _weighted_retention(matrix: pd.DataFrame, age: int) -> float:
    """Size-weighted mean retention at ``age`` (cohorts that reached it, not the first)."""
    if age not in matrix.columns:
        return float("nan")
    censored = matrix.attrs.get("left_censored")
    sizes = pd.Series(matrix.attrs.get("cohort_size", pd.Series(1.0, index=matrix.index)),
                      dtype=float).reindex(matrix.index)
    keep = matrix[age].notna() & (matrix.index != censored) & (sizes > 0)
    if not keep.any():
        return float("nan")
    return float(np.average(matrix.loc[keep, age].astype(float), weights=sizes[keep]))


def cohort_text(matrix: pd.DataFrame, *, month: str) -> str:
    """Sentences on month-1 and month-3 retention of recent cohorts.

    Averages are weighted by cohort size over the cohorts that reached the age,
    leaving out the left-censored first cohort of the data.
    """
    comparable = matrix.drop(index=[matrix.attrs.get("left_censored")], errors="ignore")
    best = (comparable[1].idxmax() if 1 in comparable.columns and comparable[1].notna().any()
            else None)
    text = (f"On average (weighted by cohort size) "
            f"{_fmt(_weighted_retention(matrix, 1), 'percent', 'GBP')} of a cohort's customers "
            f"bought again in the month after their first purchase and "
            f"{_fmt(_weighted_retention(matrix, 3), 'percent', 'GBP')} three months after it "
            f"(cohorts shown: {matrix.index[0]:%B %Y} to {matrix.index[-1]:%B %Y}).")
    if best is not None:
        size = matrix.attrs.get("cohort_size")
        customers = (f", {int(size.loc[best]):,} customers" if size is not None else "")
        text += (f" The best first-month retention was the {best:%B %Y} cohort's "
                 f"({_fmt(matrix.loc[best, 1], 'percent', 'GBP')}{customers}).")
    censored = matrix.attrs.get("left_censored")
    if censored is not None:
        text += (f"\n\nThe {censored:%B %Y} cohort is the first month of the data: it holds "
                 "every customer who was already buying before the data begin, not only new "
                 "ones (left-censored), so its retention is not comparable with later cohorts "
                 "and is left out of the averages; it is marked * below.")
    return text


def cohort_sizes_table(matrix: pd.DataFrame, *, currency: str = "GBP") -> pd.DataFrame:
    """Per cohort: customers acquired, month-1 and month-3 retention, and a note.

    The left-censored first cohort is marked (``note``).
    """
    sizes = matrix.attrs.get("cohort_size")
    censored = matrix.attrs.get("left_censored")
    out = pd.DataFrame(index=pd.Index([f"{p:%Y-%m}" for p in matrix.index], name="cohort"))
    out["customers"] = ([int(v) for v in sizes.reindex(matrix.index)] if sizes is not None
                        else pd.NA)
    for age in (1, 3):
        if age in matrix.columns:
            out[f"month {age}"] = [_fmt(v, "percent", currency) for v in matrix[age]]
    out["note"] = ["* left-censored: includes customers buying before the data begin"
                   if p == censored else "" for p in matrix.index]
    return out


def plot_cohort_retention(matrix: pd.DataFrame, *, ax=None):
    """Retention heatmap without month 0 (100% by definition), rows labelled with cohort sizes.

    :func:`clvkit.plotting.cohort_heatmap` on ages 1 and later; each row reads
    ``YYYY-MM (n=…)``, with ``*`` on the left-censored first cohort.
    """
    from .plotting import cohort_heatmap

    sizes = matrix.attrs.get("cohort_size")
    censored = matrix.attrs.get("left_censored")
    shown = matrix.drop(columns=[0], errors="ignore")
    labels = [f"{p:%Y-%m}" + (f" (n={int(sizes.loc[p]):,})" if sizes is not None else "")
              + (" *" if p == censored else "") for p in matrix.index]
    shown = shown.set_axis(pd.Index(labels, name=matrix.index.name), axis=0)
    shown.attrs = {k: v for k, v in matrix.attrs.items()
                   if k not in ("cohort_size", "left_censored")}
    ax = cohort_heatmap(shown, ax=ax)
    ax.set_title(ax.get_title() + " (month 0 = 100% left out; * left-censored)")
    return ax


# ----- CLV by channel

def _margin_rate(data: ReportData, options: dict):
    """Gross margin rate: per customer when the data have it, else the configured rate."""
    if data.has("customers") and "margin" in data.customers:
        return data.customers["margin"]
    return options["margin"]


def _acquisition_groups(data: ReportData, tx: pd.DataFrame, *, top: int = 6) -> pd.Series:
    """Group of each customer: acquisition channel, else channel or country of the first order.

    Beyond the ``top`` largest groups, customers are pooled as "other".
    """
    if data.has("customers") and "channel" in data.customers:
        labels = data.customers["channel"].astype("object")
        labels.name = "channel"
    else:
        column = next((c for c in (C.CHANNEL, "country") if c in tx), None)
        if column is None:
            raise ReportError("CLV by channel needs an acquisition channel: customers with "
                              "`channel` (synthetic CRM), or a `channel` or `country` column")
        first = tx.sort_values(C.DATE, kind="mergesort").drop_duplicates(C.CUSTOMER_ID)
        labels = first.set_index(C.CUSTOMER_ID)[column].astype("object")
        labels.name = column
    largest = labels.value_counts().index[:top]
    return labels.where(labels.isin(largest), "other")


def clv_by_channel(data: ReportData, *, month: str, horizon: int = 12,
                   options: dict | None = None) -> pd.DataFrame:
    """Observed ``horizon``-month margin per customer by acquisition channel, vs CAC.

    Uses :func:`clvkit.crm.value_by_group` on gross margin (cohorts at least
    ``horizon`` months old at the end of ``month``; earlier ages use every
    cohort that reached them), the mean CAC of the channel and their ratio
    (LTV:CAC) when the data have CAC. Without acquisition channels the
    customers are grouped by the channel or country of their first order
    (``attrs["group"]`` names it). ``ranked`` is False for groups with fewer than
    ``options["min_group_size"]`` customers observed over the horizon (and for
    "other"): they are shown but never called best or worst.
    """
    from .crm import value_by_group

    options = _options(options)
    tx = _upto(data.transactions, month)
    groups = _acquisition_groups(data, tx)
    value = value_by_group(tx, by=groups, horizon=horizon, period="M",
                           margin=_margin_rate(data, options))
    if data.has("customers") and "cac" in data.customers:
        value["cac"] = data.customers["cac"].groupby(groups).mean()
        value["ltv_to_cac"] = value["value"] / value["cac"]
    value.index.name = groups.name
    value.attrs["group"] = groups.name
    value.attrs["assumptions"] = _clv_assumptions(data, options, discounted=False)
    value["ranked"] = ((value["customers_observed"] >= options["min_group_size"])
                       & (value.index != "other"))
    value.attrs["min_group_size"] = options["min_group_size"]
    return value.sort_values("value", ascending=False, kind="mergesort")


def cohort_value_curves(data: ReportData, *, month: str, options: dict | None = None,
                        max_months: int = 12) -> pd.DataFrame:
    """Mean cumulative margin per customer by months since acquisition, per acquisition quarter.

    :func:`clvkit.crm.cumulative_value` with the customers grouped by the
    calendar quarter of their first purchase (columns, e.g. ``"2011Q1"``).
    """
    from .crm import cumulative_value

    options = _options(options)
    tx = _upto(data.transactions, month)
    quarter = tx.groupby(C.CUSTOMER_ID)[C.DATE].min().dt.to_period("Q").astype(str)
    curves = cumulative_value(tx, by=quarter, period="M", margin=_margin_rate(data, options),
                              max_periods=max_months)
    curves.columns.name = "acquisition quarter"
    return curves


def clv_by_channel_text(table: pd.DataFrame, *, currency: str, horizon: int,
                        benchmark: float | None = None) -> str:
    """Sentences comparing groups' observed value and observed value:CAC.

    Only groups marked ``ranked`` (at least ``attrs["min_group_size"]``
    customers observed; "other" never) are called best or worst; the text names
    the groups too small to rank.
    """
    minimum = table.attrs.get("min_group_size", 1)
    ranked = (table["ranked"] if "ranked" in table
              else (table["customers_observed"] >= minimum) & (table.index != "other"))
    named = table.loc[ranked, "value"].dropna()
    small = [i for i in table.index[~ranked] if i != "other"]
    via = {"channel": "acquired through", "country": "from"}.get(table.attrs.get("group"),
                                                                 "in group")
    kind = {"channel": "channel", "country": "country"}.get(table.attrs.get("group"), "group")
    if len(named) >= 2:
        best, worst = named.idxmax(), named.idxmin()
        text = (f"A customer {via} **{_text(best)}** brought "
                f"{_fmt(table.loc[best, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[best, 'customers_observed']):,} "
                f"customers observed), against "
                f"{_fmt(table.loc[worst, 'value'], 'currency', currency)} {via} "
                f"{_text(worst)} ({int(table.loc[worst, 'customers_observed']):,} customers).")
    elif len(named) == 1:
        only = named.index[0]
        text = (f"A customer {via} **{_text(only)}** brought "
                f"{_fmt(table.loc[only, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[only, 'customers_observed']):,} "
                f"customers observed); no other {kind} is large enough to compare with it.")
    else:
        text = (f"No {kind} has the {minimum:,} customers observed over {horizon} months "
                "needed to compare it with others, so none is called best or worst.")
    if small:
        text += (f" Too few customers to rank (fewer than {minimum:,} observed, shown in the "
                 f"table but not compared): {', '.join(_text(g) for g in small)}.")
    if "ltv_to_cac" in table:
        ratio = table.loc[ranked, "ltv_to_cac"].dropna()
        if len(ratio):
            text += (f" Among the {kind} groups large enough to rank, observed value:CAC "
                     f"ranges from {_fmt(ratio.min(), 'number', currency)} "
                     f"({_text(ratio.idxmin())}) to {_fmt(ratio.max(), 'number', currency)}"
                     f" ({_text(ratio.idxmax())})")
            if benchmark is not None:
                below = ratio.index[ratio < benchmark]
                text += (f"; {len(below)} fall below the target of "
                         f"{_fmt(benchmark, 'number', currency)}"
                         + (f": {', '.join(_text(c) for c in below)}" if len(below)
                            else ""))
            text += "."
    if table.attrs.get("assumptions"):
        text += f" Observed value is historical gross margin. {table.attrs['assumptions']}"
    return text


def clv_by_channel_display(table: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted channel table: customers, customers observed, value, CAC, and whether ranked."""
    out = table[["customers", "customers_observed"]].copy()
    out["observed value per customer (margin)"] = [_fmt(v, "currency", currency)
                                                   for v in table["value"]]
    if "cac" in table:
        out["CAC"] = [_fmt(v, "currency", currency) for v in table["cac"]]
        out["observed value:CAC"] = [_fmt(v, "number", currency) for v in table["ltv_to_cac"]]
    if "ranked" in table:
        minimum = table.attrs.get("min_group_size", 1)
        out["ranked"] = ["yes" if r else ("no (pooled)" if i == "other"
                                          else f"no (< {minimum:,} customers)")
                         for i, r in zip(table.index, table["ranked"], strict=True)]
    return out


def plot_clv_by_channel(table: pd.DataFrame, *, currency: str, ax=None):
    """:func:`clvkit.plotting.clv_by_channel` with each channel's mean CAC marked (when known)."""
    from .plotting import clv_by_channel as bars

    ax = bars(table, currency=currency, ax=ax)
    if "cac" in table:
        ordered = table.sort_values("value")
        ax.scatter(ordered["cac"], [str(i) for i in ordered.index], color="black",
                   marker="D", zorder=3, label="mean CAC")
        ax.legend(loc="lower right", fontsize="small")
    return ax


# ----- campaigns

def month_touches(data: ReportData, *, month: str, months: int = 1) -> pd.DataFrame:
    """Campaign touches sent in the ``months`` months ending with ``month``."""
    touches = data.touches
    sent = pd.to_datetime(touches["send_date"]).dt.to_period("M")
    end = pd.Period(month, "M")
    return touches.loc[(sent > end - months) & (sent <= end)]


def _campaign_costs(data: ReportData, touches: pd.DataFrame,
                    cost_per_contact: float = 0.0) -> pd.Series:
    """Cost of each touch: the campaign's ``cost_per_send``, else ``cost_per_contact``."""
    per_send = None
    if data.has("campaigns") and "cost_per_send" in data.campaigns:
        per_send = touches["campaign_id"].map(data.campaigns["cost_per_send"])
    if per_send is None:
        per_send = pd.Series(float(cost_per_contact), index=touches.index)
    return per_send.astype(float).fillna(float(cost_per_contact))


def _value_columns(sent, converted, revenue, cost) -> dict:
    """Cost per send, cost per conversion and ROI ((revenue - cost) / cost), NaN when undefined."""
    sent, converted = np.asarray(sent, float), np.asarray(converted, float)
    revenue, cost = np.asarray(revenue, float), np.asarray(cost, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"cost": cost,
                "cost_per_send": np.where(sent > 0, cost / sent, np.nan),
                "cost_per_conversion": np.where(converted > 0, cost / converted, np.nan),
                "roi": np.where(cost > 0, (revenue - cost) / cost, np.nan)}


def campaign_results(data: ReportData, touches: pd.DataFrame, *,
                     cost_per_contact: float = 0.0) -> pd.DataFrame:
    """One row per campaign of ``touches``: sends, conversions, revenue, cost and ROI (numbers).

    Cost is the campaign's ``cost_per_send`` (synthetic CRM data) times its sends,
    else ``cost_per_contact`` per send; ``cost_per_conversion`` is cost / conversions
    and ``roi`` is (attributed revenue - cost) / cost; undefined ratios are NaN.

    Examples
    --------
    >>> touches = pd.DataFrame({"campaign_id": ["C1", "C1", "C2"], "customer_id": [1, 2, 1],
    ...     "converted": [True, False, False], "unsubscribed": [False, False, True],
    ...     "revenue": [30.0, 0.0, 0.0]})
    >>> campaigns = pd.DataFrame({"name": ["a", "b"], "tactic": ["d", "n"],
    ...     "message": ["A", "B"], "medium": ["email", "sms"], "cost_per_send": [0.5, 0.1]},
    ...     index=pd.Index(["C1", "C2"], name="campaign_id"))
    >>> data = ReportData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), 0, "x",
    ...                   campaigns=campaigns, touches=touches)
    >>> campaign_results(data, touches)[["sent", "cost", "cost_per_conversion", "roi"]]
                 sent  cost  cost_per_conversion   roi
    campaign_id
    C1              2   1.0                  1.0  29.0
    C2              1   0.1                  NaN  -1.0
    """
    cost = _campaign_costs(data, touches, cost_per_contact)
    grouped = touches.assign(_cost=cost).groupby("campaign_id", sort=True)
    out = pd.DataFrame({"sent": grouped.size(), "converted": grouped["converted"].sum(),
                        "unsubscribed": grouped["unsubscribed"].sum(),
                        "revenue": grouped["revenue"].sum()})
    campaigns = data.campaigns.reindex(out.index)
    for position, column in enumerate(("name", "tactic", "message", "medium")):
        if column in campaigns:
            out.insert(position, column, campaigns[column].astype("object"))
    out["conversion_rate"] = out["converted"] / out["sent"]
    for key, values in _value_columns(out["sent"], out["converted"], out["revenue"],
                                      grouped["_cost"].sum()).items():
        out[key] = values
    return out


def campaign_table(data: ReportData, touches: pd.DataFrame, *, currency: str,
                   cost_per_contact: float = 0.0) -> pd.DataFrame:
    """Formatted :func:`campaign_results` ("n/a" where a ratio is undefined).

    Name, tactic, message, medium, sends, conversions, revenue, cost per send,
    cost per conversion and ROI.
    """
    res = campaign_results(data, touches, cost_per_contact=cost_per_contact)
    out = res[[c for c in ("name", "tactic", "message", "medium", "sent", "converted",
                           "unsubscribed") if c in res]].copy()
    out["conversion"] = [_fmt(v, "percent", currency) for v in res["conversion_rate"]]
    out["revenue"] = [_fmt(v, "currency", currency) for v in res["revenue"]]
    out["cost per send"] = [_fmt(v, "currency", currency, 3) for v in res["cost_per_send"]]
    out["cost per conversion"] = [_fmt(v, "currency", currency)
                                  for v in res["cost_per_conversion"]]
    out["ROI"] = [_fmt(v, "percent", currency) for v in res["roi"]]
    return out


def medium_table(data: ReportData, touches: pd.DataFrame, *, currency: str,
                 cost_per_contact: float = 0.0) -> pd.DataFrame | None:
    """E-mail vs SMS (the campaigns' ``medium``); None when the data have no medium.

    Sends, open, conversion and unsubscribe rates, revenue, cost per conversion and ROI.
    """
    if "medium" not in touches:
        return None
    cost = _campaign_costs(data, touches, cost_per_contact)
    grouped = touches.assign(_cost=cost).groupby(touches["medium"].astype("object"), sort=True)
    sent, converted = grouped.size(), grouped["converted"].sum()
    revenue = grouped["revenue"].sum()
    values = _value_columns(sent, converted, revenue, grouped["_cost"].sum())
    out = pd.DataFrame({"sent": sent})
    if "opened" in touches:
        out["opened"] = [_fmt(v, "percent", currency) for v in grouped["opened"].mean()]
    out["converted"] = [_fmt(v, "percent", currency) for v in converted / sent]
    out["unsubscribed"] = [_fmt(v, "percent", currency)
                           for v in grouped["unsubscribed"].mean()]
    out["revenue"] = [_fmt(v, "currency", currency) for v in revenue]
    out["cost per conversion"] = [_fmt(v, "currency", currency)
                                  for v in values["cost_per_conversion"]]
    out["ROI"] = [_fmt(v, "percent", currency) for v in values["roi"]]
    out.index.name = "medium"
    return out


def contact_lift(data: ReportData, touches: pd.DataFrame, *, month: str) -> pd.DataFrame | None:
    """Purchase rate in ``month`` of existing customers contacted vs not contacted that month.

    Existing customers are those whose first purchase is before ``month``;
    contacted ones received at least one touch in ``month`` (``touches`` should
    hold the month's touches). Returns rows ``contacted`` and ``not contacted``
    with ``customers``, ``buyers`` and ``purchase_rate`` and ``attrs["lift"]``
    (difference in points), or None when either group is empty. Contact was not
    randomised: the difference is an association, not an effect.
    """
    tx = _upto(data.transactions, month)
    start = pd.Period(month, "M").start_time
    first = tx.groupby(C.CUSTOMER_ID)[C.DATE].min()
    existing = first.index[first < start]
    in_month = set(tx.loc[tx[C.DATE] >= start, C.CUSTOMER_ID])
    contacted = existing.isin(set(touches["customer_id"]))
    rows = {}
    for label, mask in (("contacted", contacted), ("not contacted", ~contacted)):
        ids = existing[mask]
        if not len(ids):
            return None
        buyers = int(sum(i in in_month for i in ids))
        rows[label] = {"customers": len(ids), "buyers": buyers, "purchase_rate": buyers / len(ids)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "existing customers"
    out.attrs["lift"] = (out.loc["contacted", "purchase_rate"]
                         - out.loc["not contacted", "purchase_rate"])
    return out


def contact_lift_display(lift: pd.DataFrame | None, *, currency: str = "GBP"):
    """Formatted :func:`contact_lift` (purchase rate in percent), or None."""
    if lift is None:
        return None
    out = lift[["customers", "buyers"]].copy()
    out["purchase rate"] = [_fmt(v, "percent", currency) for v in lift["purchase_rate"]]
    return out


def contact_lift_text(lift: pd.DataFrame | None, *, month: str) -> str:
    """One paragraph on :func:`contact_lift`, with the caveat that contact was not randomised."""
    label = pd.Period(month, "M").strftime("%B %Y")
    if lift is None:
        return (f"No comparison with customers not contacted: in {label} either every existing "
                "customer was contacted or none was.")
    c, n = lift.loc["contacted"], lift.loc["not contacted"]
    return (f"In {label}, {_fmt(c['purchase_rate'], 'percent', 'GBP')} of the "
            f"{int(c['customers']):,} existing customers who were contacted bought, against "
            f"{_fmt(n['purchase_rate'], 'percent', 'GBP')} of the {int(n['customers']):,} who "
            f"were not: a difference of {lift.attrs['lift'] * 100:+.1f} points. Who was "
            "contacted was not decided at random (campaigns target chosen customers), so this "
            "difference is an association, not the campaigns' effect.")


def campaign_funnel(touches: pd.DataFrame) -> pd.DataFrame:
    """Funnel by tactic and message (:func:`clvkit.crm.funnel`), stage rates in columns."""
    from .crm import funnel

    f = funnel(touches, by=("tactic", "message"))
    return f["overall_rate"].unstack("stage")[list(f.index.get_level_values("stage").unique())]


def campaign_dropout(touches: pd.DataFrame) -> pd.DataFrame:
    """Unsubscribe rate per send by tactic and message, with Wilson intervals."""
    from .crm import dropout

    return dropout(touches, by=("tactic", "message"))


def campaign_text(touches: pd.DataFrame, funnel_table: pd.DataFrame, drop: pd.DataFrame, *,
                  month: str, currency: str, months: int = 1) -> str:
    """Sentences on the month's sends, then the best conversion and highest dropout by tactic.

    ``funnel_table`` and ``drop`` are the tables the page shows (over the
    ``months`` months ending with ``month``): the best and worst named here are
    their maxima, so text and table agree.
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    first = (pd.Period(month, "M") - (months - 1)).strftime("%B %Y")
    period = label if months == 1 else f"{first} to {label}"
    conv = funnel_table["converted"]
    best, worst = conv.idxmax(), drop["dropout_rate"].idxmax()
    return (f"In {label} {touches['campaign_id'].nunique():,} campaigns were sent "
            f"{len(touches):,} times to {touches['customer_id'].nunique():,} customers: "
            f"{_fmt(touches['opened'].mean(), 'percent', currency)} opened, "
            f"{_fmt(touches['converted'].mean(), 'percent', currency)} bought, for "
            f"{_fmt(touches['revenue'].sum(), 'currency', currency)} of attributed revenue, and "
            f"{_fmt(touches['unsubscribed'].mean(), 'percent', currency)} unsubscribed.\n\n"
            f"By tactic and message over {period} (the tables below): best conversion per "
            f"send **{_text(best[0])}, message {_text(best[1])}** "
            f"({_fmt(conv.max(), 'percent', currency)}); highest dropout "
            f"**{_text(worst[0])}, message {_text(worst[1])}** "
            f"({_fmt(drop['dropout_rate'].max(), 'percent', currency, 2)} of sends unsubscribed).")


def campaign_dropout_display(drop: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted :func:`campaign_dropout`: sends, unsubscribes, rate and interval in percent."""
    out = drop[["sent", "dropouts"]].copy()
    out["dropout rate"] = [_fmt(v, "percent", currency, 2) for v in drop["dropout_rate"]]
    out["95% interval"] = [f"{_fmt(lo, 'percent', currency, 2)} to "
                           f"{_fmt(hi, 'percent', currency, 2)}"
                           for lo, hi in zip(drop["low"], drop["high"], strict=True)]
    return out


# ----- predictions

def predictions(data: ReportData, *, month: str, time_unit: str = "W",
                options: dict | None = None) -> pd.DataFrame:
    """BG/NBD and Gamma-Gamma predictions per customer at the end of ``month``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: the RFM summary columns plus ``p_alive``,
        ``expected_purchases_next_month``, ``clv_12m`` (12 months, discounted at
        ``options["annual_discount_rate"]``) and ``revenue_to_date``.
    """
    from .clv import customer_lifetime_value
    from .models import BGNBD, GammaGamma
    from .models._base import ConvergenceWarning
    from .summary import rfm_summary
    from .units import convert_duration

    options = _options(options)
    tx = _upto(data.transactions, month)
    # the observation ends at midnight after the month's last day: first purchases on that
    # day get an age T of one day rather than zero
    end = _month_end(month) + pd.Timedelta(days=1)
    if options["engine"] == "pandas":
        summary = rfm_summary(tx, observation_end=end, time_unit=time_unit)
    else:  # the same summary computed by SQL (clvkit.engines): DuckDB or Spark
        from .engines import rfm_summary_engine

        summary = rfm_summary_engine(tx[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]],
                                     engine=options["engine"], observation_end=end,
                                     time_unit=time_unit)
    # A data set where almost nobody drops out drives BG/NBD's `a` towards 0: the
    # estimate is then degenerate but still usable (P(alive) ~ 1). The report keeps
    # it and says so (predictions_text) instead of failing the section.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        bgnbd = BGNBD().fit(summary, strict=False)
    fit_notes = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    with warnings.catch_warnings(record=True) as caught_spend:
        warnings.simplefilter("always", ConvergenceWarning)
        spend = GammaGamma().fit(repeat, strict=False)
    spend_notes = [str(w.message) for w in caught_spend
                   if issubclass(w.category, ConvergenceWarning)]
    out = summary.copy()
    out["p_alive"] = bgnbd.p_alive(summary)
    one_month = convert_duration(1.0, from_unit="M", to_unit=time_unit)
    out["expected_purchases_next_month"] = bgnbd.conditional_expected_purchases(summary,
                                                                                t=one_month)
    monthly_d = (1 + options["annual_discount_rate"]) ** (1 / 12) - 1
    clv = customer_lifetime_value(bgnbd, spend, summary, horizon=12, time_unit="M",
                                  discount_rate=monthly_d, freq_of_discount="M")
    out["clv_12m"] = clv["clv"]
    rate = _margin_rate(data, options)
    out["clv_12m_margin"] = out["clv_12m"] * (rate.reindex(out.index).fillna(options["margin"])
                                              if isinstance(rate, pd.Series) else rate)
    out["revenue_to_date"] = tx.groupby(C.CUSTOMER_ID)[C.AMOUNT].sum().reindex(out.index)
    out.attrs.update(time_unit=time_unit, bgnbd=bgnbd.params_series().to_dict(),
                     assumptions=_clv_assumptions(data, options),
                     bgnbd_converged=not fit_notes, bgnbd_note=" ".join(fit_notes),
                     gamma_gamma_converged=not spend_notes,
                     gamma_gamma=spend.params_series().to_dict())
    return out


def at_risk_customers(pred: pd.DataFrame, *, n: int = 10, threshold: float = 0.5,
                      top_share: float = 0.2, overdue_factor: float = 2.0) -> pd.DataFrame:
    """Valuable customers (top ``top_share`` by revenue to date) who may be leaving.

    At risk means P(alive) < ``threshold``. When the model puts no valuable
    customer below the threshold (a fit with almost no dropout), the rule falls
    back to *overdue* repeat customers: time since the last purchase more than
    ``overdue_factor`` times their mean gap between purchases. ``attrs["rule"]``
    says which rule selected the rows. Sorted by revenue to date, top ``n``.
    """
    cutoff = pred["revenue_to_date"].quantile(1 - top_share)
    valuable = pred.loc[pred["revenue_to_date"] >= cutoff].copy()
    valuable["since_last"] = valuable["T"] - valuable["recency"]
    gap = valuable["recency"] / valuable["frequency"].where(valuable["frequency"] > 0)
    valuable["usual_gap"] = gap
    risky = valuable.loc[valuable["p_alive"] < threshold]
    rule = "p_alive"
    if risky.empty:
        risky = valuable.loc[valuable["since_last"] > overdue_factor * gap]
        rule = "overdue"
    out = risky.sort_values(["revenue_to_date", "p_alive"], ascending=[False, True],
                            kind="mergesort").head(n)
    out.attrs.update(rule=rule, threshold=threshold, overdue_factor=overdue_factor,
                     time_unit=pred.attrs.get("time_unit", "W"))
    return out


def at_risk_text(risky: pd.DataFrame) -> str:
    """One sentence saying which rule selected the customers at risk."""
    unit = risky.attrs.get("time_unit", "W")
    from .units import unit_name

    if risky.attrs.get("rule") == "overdue":
        return (f"No valuable customer has a P(alive) below {risky.attrs['threshold']:.0%}, so "
                f"these are the valuable repeat customers who are *overdue*: the time since "
                f"their last purchase is more than {risky.attrs['overdue_factor']:g} times their "
                f"usual gap between purchases (times in {unit_name(unit)}).")
    return (f"Valuable customers whose probability of still being active is below "
            f"{risky.attrs.get('threshold', 0.5):.0%} (times in {unit_name(unit)}).")


def predictions_text(pred: pd.DataFrame, data: ReportData, *, month: str, currency: str,
                     threshold: float = 0.5) -> str:
    """Sentences on next month's expected purchases and customers at risk."""
    nxt = pd.Period(month, "M") + 1
    expected = pred["expected_purchases_next_month"].sum()
    tx = data.transactions
    occasions = tx.loc[tx[C.DATE].dt.to_period("M") == pd.Period(month, "M")]
    actual_now = occasions.groupby([C.CUSTOMER_ID, occasions[C.DATE].dt.normalize()]).ngroups
    text = (f"The BG/NBD model expects **{_fmt(expected, 'count', currency)} purchases** "
            f"(purchase days) from the {len(pred):,} existing customers in {nxt:%B %Y}, against "
            f"{actual_now:,} in {pd.Period(month, 'M'):%B %Y} (new customers come on top). "
            f"{_fmt((pred['p_alive'] < threshold).mean(), 'percent', currency)} of customers "
            f"have a probability below {threshold:.0%} of still being active.")
    later = tx.loc[tx[C.DATE].dt.to_period("M") == nxt]
    if len(later) and nxt <= tx[C.DATE].max().to_period("M"):
        known = later.loc[later[C.CUSTOMER_ID].isin(pred.index)]
        actual = known.groupby([C.CUSTOMER_ID, known[C.DATE].dt.normalize()]).ngroups
        text += (f" (The data already hold {actual:,} purchase days of these customers in "
                 f"{nxt:%B %Y}"
                 + (", a partial month" if tx[C.DATE].max() < nxt.end_time.normalize() else "")
                 + ".)")
    text += (f"\n\nPredictive 12-month CLV of the existing base (discounted): "
             f"{_fmt(pred['clv_12m'].sum(), 'currency', currency)} of **revenue**, "
             f"{_fmt(pred['clv_12m_margin'].sum(), 'currency', currency)} of **gross margin**. "
             + pred.attrs.get("assumptions", ""))
    params = pred.attrs.get("bgnbd", {})
    if (pred["p_alive"] < threshold).sum() == 0 and params:
        dropout = params["a"] / (params["a"] + params["b"])
        text += (f"\n\nNote: the fitted BG/NBD dropout parameters (a = {params['a']:.3g}, "
                 f"b = {params['b']:.3g}) give a mean dropout probability after a purchase of "
                 f"{dropout:.2g}: the model sees almost no customers leaving in these data, so "
                 "P(alive) hardly separates them.")
    if not pred.attrs.get("gamma_gamma_converged", True):
        text += ("\n\nThe Gamma-Gamma spend model is degenerate on these data (its spread "
                 "parameters ran off to their limit): it predicts about the same spend per "
                 "purchase for every customer, so the CLV ranks customers by expected "
                 "purchases only.")
    if not pred.attrs.get("bgnbd_converged", True):
        text += ("\n\nThe BG/NBD estimate is degenerate (a dropout parameter ran to its bound), "
                 "so treat P(alive) and the expected purchases as optimistic.")
    return text


def at_risk_display(risky: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted at-risk table."""
    return pd.DataFrame({
        "revenue to date": [_fmt(v, "currency", currency) for v in risky["revenue_to_date"]],
        "P(alive)": [_fmt(v, "percent", currency) for v in risky["p_alive"]],
        "since last purchase": risky["since_last"].round(1),
        "usual gap": risky["usual_gap"].round(1),
        "expected purchases next month": risky["expected_purchases_next_month"].round(2),
        "predictive 12-month CLV (revenue)": [_fmt(v, "currency", currency)
                                              for v in risky["clv_12m"]],
        "predictive 12-month CLV (margin)": [_fmt(v, "currency", currency)
                                             for v in risky["clv_12m_margin"]],
    }, index=risky.index)


def plot_p_alive(pred: pd.DataFrame, *, ax=None):
    """Histogram of P(alive) across customers."""
    ax = _axes(ax)
    ax.hist(pred["p_alive"], bins=np.linspace(0, 1, 21), color=_palette()[0])
    ax.set_xlabel("P(alive) at the end of the month")
    ax.set_ylabel("Customers")
    ax.set_title("How likely are customers to still be active? (BG/NBD)")
    return ax


# ----- data quality

def data_quality_table(data: ReportData, *, currency: str) -> pd.DataFrame:
    """The cleaning log with a total row: rows and amount per reason ("n/a" where unreadable)."""
    log = data.log[["reason", "action", "rows", "amount"]].copy()
    total = pd.DataFrame({"reason": ["total (input)"], "action": [""],
                          "rows": [int(log["rows"].sum())],
                          "amount": [log["amount"].sum(min_count=1)]})
    log = pd.concat([log, total], ignore_index=True)
    log["share of rows"] = [_fmt(v, "percent", currency) for v in log["rows"] / data.rows_read]
    log["amount"] = log["amount"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.2f}")
    log = log.rename(columns={"amount": f"amount ({currency})"})
    return log.set_index("reason")


def revenue_bridge_table(data: ReportData, *, month: str, currency: str) -> pd.DataFrame | None:
    """The month's revenue bridge from the file to the headline (None without raw input).

    Rows: :data:`clvkit.reconcile.BRIDGE_STEPS`; columns rows and amount
    (formatted, "n/a" for amounts that could not be read), and the report's own
    revenue of the month under the last line for comparison.
    """
    if data.bridge is None or len(data.bridge) == 0:
        return None
    bridge = data.bridge.loc[data.bridge["month"] == month].set_index("step")
    if bridge.empty:
        return None
    out = pd.DataFrame({"rows": bridge["rows"].astype(int),
                        f"amount ({currency})": [_fmt(v, "currency", currency, 2)
                                                 for v in bridge["amount"]]})
    out.index = [("= " if s == "headline revenue" else "" if s.startswith("all") else "- ") + s
                 for s in out.index]
    out.index.name = "step"
    mine = data.transactions.loc[data.transactions[C.DATE].dt.to_period("M")
                                 == pd.Period(month, "M"), C.AMOUNT]
    out.loc["report: revenue of the month"] = [len(mine), _fmt(mine.sum(), "currency",
                                                               currency, 2)]
    return out


def _monthly_revenue(data: ReportData) -> pd.Series:
    tx = data.transactions
    return tx[C.AMOUNT].groupby(tx[C.DATE].dt.to_period("M")).sum()


def quality_checks(data: ReportData) -> pd.DataFrame:
    """Checks that can fail: the loader's accounts against totals computed from the raw input.

    Returns
    -------
    DataFrame
        One row per check: ``check``, ``expected``, ``found``, ``ok`` (bool). The
        checks: rows read (raw file vs loader), input total (raw file's readable
        amounts vs the cleaning log), kept amount (log vs the loaded purchases)
        and the revenue of every month (bridge vs report). Without a raw input
        (data given as a LoadResult) only the log's own identity is checked.
    """
    log = data.log
    rows = []
    kept_log = float(log.loc[log["action"].str.startswith("kept"), "amount"].sum())
    kept_data = float(data.transactions[C.AMOUNT].sum())
    if data.non_product is not None and len(data.non_product):
        kept_data += float(data.non_product[C.AMOUNT].sum())
    parts = (kept_log, float(data.returns[C.AMOUNT].sum()),
             float(log.loc[log["action"] == "dropped", "amount"].sum()))
    rows.append(("log: kept + returns + dropped = input total", log["amount"].sum(),
                 sum(parts)))
    rows.append(("kept purchases: log vs loaded data", kept_log, kept_data))
    totals = data.file_totals
    if totals:
        rows.append(("rows: raw file vs loader", totals["rows"], data.rows_read))
        rows.append(("input total: raw file vs cleaning log", totals["amount"],
                     float(log["amount"].sum())))
    if data.bridge is not None and len(data.bridge):
        from .reconcile import check_bridge

        bridge = data.bridge.set_index(["month", "step"])
        for month, row in check_bridge(bridge, _monthly_revenue(data)).iterrows():
            rows.append((f"revenue {month}: bridge vs report", row["bridge"], row["report"]))
    out = pd.DataFrame(rows, columns=["check", "expected", "found"])
    out["ok"] = (out["expected"].astype(float) - out["found"].astype(float)).abs() < 0.005
    return out.set_index("check")


def quality_checks_display(checks: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """:func:`quality_checks` formatted: counts as counts, money to the cent, "ok" or "FAILED"."""
    def fmt(name, value):
        return (_fmt(value, "count", currency) if name.startswith("rows")
                else _fmt(value, "currency", currency, 2))

    return pd.DataFrame({
        "expected": [fmt(n, v) for n, v in checks["expected"].items()],
        "found": [fmt(n, v) for n, v in checks["found"].items()],
        "result": ["ok" if ok else "FAILED" for ok in checks["ok"]]},
        index=checks.index)


def data_gaps(data: ReportData) -> list[str]:
    """Months between the first and the last transaction with no row at all in the input."""
    if data.bridge is not None and len(data.bridge):
        first = data.bridge.loc[data.bridge["step"] == "all rows in the month"]
        return [str(m) for m in first.loc[first["rows"] == 0, "month"]]
    tx = data.transactions
    if len(tx) == 0:
        return []
    months = tx[C.DATE].dt.to_period("M")
    span = pd.period_range(months.min(), months.max(), freq="M")
    return [str(m) for m in span.difference(pd.PeriodIndex(months.unique()))]


def data_quality_text(data: ReportData, *, currency: str, month: str | None = None) -> str:
    """Sentences on rows read, kept and dropped, the independent checks, date range and gaps."""
    log = data.log
    kept_rows = int(log.loc[log["action"].str.startswith("kept"), "rows"].sum())
    dropped = log.loc[log["action"] == "dropped"]
    reasons = ", ".join(f"{int(r.rows):,} {_text(r.reason)}"
                        for r in dropped.itertuples()) or "none"
    text = (f"{data.rows_read:,} rows were read from {_text(data.source)} (the whole "
            f"file, not only this month); **{kept_rows:,}** were kept as purchases, "
            f"{int(log.loc[log['action'] == 'separated', 'rows'].sum()):,} set apart as "
            f"returns or cancellations, and {int(dropped['rows'].sum()):,} dropped "
            f"({reasons}).")
    if data.non_product is not None and len(data.non_product):
        text += (f" Of the purchases, {len(data.non_product):,} lines are not products "
                 f"(postage, fees; {_fmt(data.non_product[C.AMOUNT].sum(), 'currency', currency)}"
                 ") and are left out of revenue.")
    checks = quality_checks(data)
    failed = checks.loc[~checks["ok"]]

    def money(name, value):
        return _fmt(value, "count" if name.startswith("rows") else "currency", currency,
                    None if name.startswith("rows") else 2)

    if failed.empty:
        text += (f"\n\n**All {len(checks)} checks pass**: the loader's counts and totals "
                 "agree with totals computed independently from the raw input, for the file "
                 "and for the revenue of every month.")
    else:
        items = "; ".join(f"{html.escape(name)}: expected {money(name, r.expected)}, found "
                          f"{money(name, r.found)}" for name, r in failed.iterrows())
        text += (f"\n\n**CHECK FAILED: {len(failed)} of {len(checks)} checks do NOT "
                 f"reconcile** ({items}). Do not trust the revenue figures until this is "
                 "explained.")
    totals = data.file_totals or {}
    if totals.get("unreadable_amount_rows"):
        text += (f" {totals['unreadable_amount_rows']:,} rows have an amount that could not "
                 "be read: they are counted as rows, their amount is n/a (not 0).")
    if totals.get("unreadable_date_rows"):
        text += (f" {totals['unreadable_date_rows']:,} rows have a date that could not be "
                 "read and belong to no month.")
    tx = data.transactions
    if len(tx):
        first, last = tx[C.DATE].min(), tx[C.DATE].max()
        text += (f"\n\nThe purchases run from {first:%d %B %Y} to {last:%d %B %Y}")
        if month is not None:
            lag = (last.normalize() - _month_end(month)).days
            text += (f"; the data end {abs(lag)} day(s) "
                     f"{'after' if lag >= 0 else 'before'} the end of the report month"
                     + (" (the month may be incomplete)" if lag < 0 else ""))
        text += "."
    gaps = data_gaps(data)
    if gaps:
        text += (f" **Data gap:** no transactions at all in {', '.join(gaps)}; these months "
                 "are shown as n/a, not as a fall in sales.")
    return text


# --------------------------------------------------------------------------- execution

@dataclass(frozen=True)
class SectionResult:
    """Outcome of one section: ``status`` is "ok", "failed" (``error`` says why) or "skipped".

    A section is skipped, not run, when the data cannot support it
    (:func:`section_support`); ``note`` then says why.
    """

    name: str
    title: str
    status: str
    notebook: str
    html: str
    seconds: float
    error: dict | None = None
    note: str | None = None


@dataclass(frozen=True, eq=False)
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
        """True when no section failed (sections skipped for lack of data are not failures)."""
        return all(s.status != "failed" for s in self.sections)

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the sections that failed."""
        return tuple(s.name for s in self.sections if s.status == "failed")


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
                info = await super()._async_launch_kernel(kernel_cmd, **kw)
            process = getattr(self.provisioner, "process", None)
            if process is not None:
                _KERNELS.setdefault(str(cwd), []).append(process)
            return info

    return _ReportKernelManager


#: Kernel processes (``Popen``) started by running reports, by their working folder.
_KERNELS: dict[str, list] = {}


def _stop_kernels(cwd: Path) -> None:
    """Kill the kernels still running in ``cwd`` (the report was interrupted or terminated)."""
    for process in _KERNELS.pop(str(cwd), []):
        if process.poll() is None:      # Popen never signals a process it has reaped
            process.kill()


def _template_path(section: Section) -> Path:
    path = TEMPLATE_DIR / section.template
    if not path.exists():
        raise ReportError(f"template {str(path)!r} of section {section.name!r} is missing")
    return path


def _check_template_parameters(section: Section, parameters: dict) -> None:
    """Refuse parameters a template does not declare (papermill would only warn)."""
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
        html_path.write_text(notebook_to_html(_hide_tracebacks(nb), title=f"{section.title} -- "
                                              f"{parameters['title']} {parameters['month']}"),
                             encoding="utf-8")
    return SectionResult(name=section.name, title=section.title,
                         status="ok" if error is None else "failed",
                         notebook=nb_path.name if nb_path.exists() else "",
                         html=html_path.name if html_path.exists() else "",
                         seconds=round(time.perf_counter() - start, 1), error=error)


def _hide_tracebacks(nb):
    """A copy of ``nb`` whose error outputs read as one plain sentence (no Python traceback).

    The pages are for readers who do not read code; the executed notebook keeps
    the full traceback for whoever fixes the section.
    """
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out = nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=(f"This part of the section could not be built "
                          f"({out.get('ename')}: {out.get('evalue')}). The section's notebook "
                          "(.ipynb) holds the details.\n"))
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb


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


def _display_path(path, base: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``base`` (default the working directory), POSIX style.

    Reports show data and config paths relative to the config file's folder, so
    their text does not depend on the working directory the report was built from.
    """
    if base is None:        # for messages: below the working directory, else absolute
        try:
            return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return str(path)
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()
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
    return [{"path": _display_path(p, cfg.data.get("base")), "sha256": _sha256(p),
             "bytes": p.stat().st_size}
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
    base = cfg.data.get("base")
    shipped = cfg.source is not None and Path(cfg.source).parent == CONFIG_DIR
    shown = (f"clvkit/configs/{Path(cfg.source).name}" if shipped
             else _display_path(cfg.source, base) if cfg.source else None)
    data_path = (_display_path(cfg.data["path"], base) if cfg.data.get("path") is not None
                 else None)
    resolved = {**cfg.__dict__, "options": dict(cfg.options), "source": None,
                "sections": list(cfg.sections),
                "data": {k: v for k, v in {**cfg.data, "path": data_path}.items()
                         if k != "base"}}
    config_entry = {"path": shown,
                    "sha256": _sha256(Path(cfg.source)) if cfg.source else None,
                    "resolved": resolved}
    manifest = {
        "report": cfg.name, "title": cfg.title, "month": month,
        "status": "ok" if all(r.status != "failed" for r in results) else "failed",
        "config": config_entry, "inputs": inputs,
        "parameters": {k: v for k, v in parameters.items() if k != "data_dir"},
        "sections": [{"name": r.name, "title": r.title, "template":
                      f"clvkit/templates/{SECTIONS[r.name].template}",
                      "template_sha256": _sha256(_template_path(SECTIONS[r.name])),
                      "status": r.status, "error": r.error,
                      "notebook": r.notebook, "html": r.html,
                      "exports": [p.name for p in sorted(work.glob(
                          f"{Path(SECTIONS[r.name].template).stem}-*.csv"))]}
                     for r in results],
        "environment": dict(_KERNEL_ENV), "packages": _package_versions(), "outputs": outputs,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")


_INDEX_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222}h1{margin-bottom:.2rem}.sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0}
th,td{padding:.35rem .8rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.failed{color:#b00020;font-weight:bold}
.skipped{color:#555;font-style:italic}dt{font-weight:bold;margin-top:.4rem}
li{margin:.3rem 0}"""


def _definitions_html(headline: pd.DataFrame) -> str:
    """Definitions of the headline KPIs (from :mod:`clvkit.metrics`) as an HTML list."""
    from .metrics import definitions_table

    table = definitions_table(list(headline.index))
    items = "\n".join(
        f'<dt id="def-{html.escape(name)}">{html.escape(row.label)}</dt>'
        f"<dd>{html.escape(row.definition)} <em>Formula:</em> {html.escape(row.formula)}."
        + (f" <em>Window:</em> {html.escape(row.window)}." if isinstance(row.window, str)
           else "") + "</dd>"
        for name, row in table.iterrows())
    return f'<h2 id="definitions">Definitions</h2>\n<dl>\n{items}\n</dl>'


def _index_html(cfg: ReportConfig, month: str, headline: pd.DataFrame,
                results: list[SectionResult]) -> str:
    esc = html.escape
    label = pd.Period(month, "M").strftime("%B %Y")
    privacy = ("Customer ids, names and e-mail addresses are shown as pseudonyms (stable "
               "short hashes; set <code>privacy: {mask_ids: false}</code> to show them)."
               if cfg.mask_ids else "Customer ids are shown as in the data "
               "(<code>privacy: {mask_ids: false}</code>).")
    table = headline_table_display(headline, currency=cfg.currency)
    rows = "\n".join("<tr><td>" + "</td><td>".join(esc(str(v)) for v in (kpi, *row)) +
                     "</td></tr>" for kpi, row in zip(table.index, table.to_numpy(), strict=True))
    head = "".join(f"<th>{esc(c)}</th>" for c in ("KPI", *table.columns))
    items = []
    for r in results:
        status = ("" if r.status == "ok" else
                  f' <span class="skipped">({esc(r.note or "skipped")})</span>'
                  if r.status == "skipped" else
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
{_definitions_html(headline)}
<h2>Sections</h2>
<ol>
{chr(10).join(items)}
</ol>
<p class="sub">Inputs, parameters and checksums: <a href="manifest.json">manifest.json</a></p>
<p class="sub">{privacy}</p>
</body>
</html>
"""


def _protected_paths(cfg: ReportConfig, data) -> list[Path]:
    """Files and folders a report must never write into or replace: the config and the data."""
    paths = [Path(cfg.source)] if cfg.source else []
    if data is None:
        paths.append(Path(cfg.data["path"]))
    elif isinstance(data, str | os.PathLike):
        paths.append(Path(data))
    return paths


def _check_output(out: Path, *, force: bool, protect=()) -> None:
    """Refuse ``out`` unless it is new, or (with ``force``) a report clvkit wrote."""
    try:
        check_report_output(out, force=force, protect=protect)
    except OutputError as err:
        raise ReportError(str(err)) from None


def _publish(staged: Path, out: Path, *, work: Path, force: bool, protect=()) -> None:
    """Move the finished report into place (replacing ``out`` only with ``force``)."""
    try:
        publish_folder(staged, out, work=work, force=force, protect=protect)
    except OutputError as err:
        raise ReportError(str(err)) from None


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
        Replace an existing output folder that is a clvkit report (its
        ``manifest.json`` proves it, see :mod:`clvkit.outputs`). Any other
        existing path, and a folder that is, contains or lies inside an input
        or the config, is refused even with ``force``.
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
    cfg = load_config(config, data=data)
    wanted = month or cfg.month
    protect = _protected_paths(cfg, data)
    if wanted is not None:      # refuse early, before the data are loaded
        _check_month(wanted, "month")
        _check_output(Path(out) if out is not None else Path("reports") / cfg.name / wanted,
                      force=force, protect=protect)
    source = data if isinstance(data, str | os.PathLike) else cfg.data["path"]
    say(f"clvkit report: loading {_display_path(source)}")
    try:
        loaded = load_report_data(cfg.data, data=data)
    except ClvError as err:
        if isinstance(err, ReportError):
            raise
        raise ReportError(f"could not load the report data: {err}") from err
    month = _resolve_month(month or cfg.month, loaded.transactions)
    skipped = {}
    for name in cfg.sections:
        reason = section_support(name, loaded, month=month)
        if reason is not None:
            skipped[name] = SectionResult(name=name, title=SECTIONS[name].title,
                                          status="skipped", notebook="", html="", seconds=0.0,
                                          note=f"skipped: {reason}")
            say(f"clvkit report: section {name} skipped: {reason}")
    out = Path(out) if out is not None else Path("reports") / cfg.name / month
    _check_output(out, force=force, protect=protect)
    parameters = {"month": month, "data_dir": _DATA_DIR, "title": cfg.title,
                  "currency": cfg.currency, "time_unit": cfg.time_unit,
                  "benchmarks": dict(cfg.benchmarks), "options": dict(cfg.options)}
    sections = [SECTIONS[name] for name in cfg.sections if name not in skipped]
    for section in sections:
        _check_template_parameters(section, parameters)
    headline = headline_numbers(loaded, month=month, benchmarks=cfg.benchmarks,
                                options=cfg.options)
    inputs = _input_files(cfg, data)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The marked work folder (removed on exit, or by the next run if this process is
    # killed) holds the report being built, the kernels' logs and a replaced report.
    with work_folder(out) as work:
        staged, logs = work / "report", work / "logs"
        try:
            staged.mkdir()
            logs.mkdir()
            _save_data(mask_customer_ids(loaded) if cfg.mask_ids else loaded,
                       staged / _DATA_DIR)
            ran = {r.name: r for r in _execute_sections(sections, parameters, staged, logs,
                                                       jobs=jobs or cfg.jobs, say=say)}
            results = [ran.get(name) or skipped[name] for name in cfg.sections]
            shutil.rmtree(staged / _DATA_DIR)
            (staged / "index.html").write_text(_index_html(cfg, month, headline, results),
                                               encoding="utf-8")
            _write_manifest(staged, cfg=cfg, month=month, parameters=parameters,
                            inputs=inputs, results=results)
            _publish(staged, out, work=work, force=force, protect=protect)
        except OSError as err:      # disk full, read-only, ...: one line naming the output
            if err.errno not in USER_ERRNOS:
                raise
            raise ReportError(f"cannot write the report {out}: {describe_os_error(err)}"
                              ) from None
    result = ReportResult(out=out, month=month, config=cfg, sections=tuple(results),
                          headline=headline, seconds=round(time.perf_counter() - started, 1))
    verdict = "done" if result.ok else f"FAILED sections: {', '.join(result.failed)}"
    say(f"clvkit report: {verdict} in {result.seconds:.1f} s -> {out / 'index.html'}")
    return result


def _execute_sections(sections: list[Section], parameters: dict, work: Path, logs: Path, *,
                      jobs: int, say: Callable[[str], Any]) -> list[SectionResult]:
    total = len(sections)
    if total == 0:
        return []
    done: dict[str, SectionResult] = {}
    workers = max(1, min(jobs, total))
    say(f"clvkit report: {parameters['month']}: running {total} section(s), {workers} at a time")
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        pending = {pool.submit(_run_section, s, i, parameters, work, logs)
                   for i, s in enumerate(sections)}
        while pending:      # short waits: a signal (SIGTERM, Ctrl-C) is handled at once
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for res in sorted((f.result() for f in finished), key=lambda r: r.name):
                done[res.name] = res
                line = f"  [{len(done)}/{total}] {res.name:<18} "
                if res.status == "ok":
                    say(line + f"ok ({res.seconds:.1f} s)")
                else:
                    say(line + _describe_failure(res, logs))
    except BaseException:   # interrupted or terminated: no further section, no kernel left
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_kernels(work)
        raise
    finally:
        pool.shutdown(wait=True)
        _KERNELS.pop(str(work), None)
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
    parser.add_argument("--force", action="store_true",
                        help="replace an existing clvkit report folder (only a folder whose "
                        "manifest.json shows clvkit wrote it; never any other path)")
    parser.add_argument("--jobs", type=int, help="sections executed in parallel")


def run_report_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit report`` from parsed arguments; return the exit code.

    0: every section ran; 1: a section failed (the report is still written);
    2: the report could not be built (configuration, data or output error).
    OS errors (permission denied, disk full, ...) propagate: :func:`clvkit.cli.main`
    turns them into one line and exit code 2.
    """
    try:
        result = build_report(month=args.month, config=args.config, data=args.data,
                              out=args.out, force=args.force, jobs=args.jobs)
    except ClvError as err:
        print(f"clvkit report: error: {err}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1
