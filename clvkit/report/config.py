"""Report configuration: typed section options, YAML loading and checks, the section list."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .. import columns as C
from .._validate import brief
from ..errors import ClvError, ReportError
from ..metrics import KPI_NAMES as _METRIC_KPI_NAMES
from ..units import TIME_UNITS
from .month import check_month as _check_month

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
               "date_unit", "timezone", "returns", "duplicates", "zero", "summary_rows",
               "refunds")
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
    "offer_cost_per_conversion": (float, 0.0, None, (False, False),
                                  "cost of a campaign's offer per conversion: discount, free "
                                  "shipping"),
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
    offer_cost_per_conversion: float = 0.0   # discount / free shipping given per conversion
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
                                      f"got {brief(value)}")
                continue
            number = (not isinstance(value, bool) and isinstance(value, int | float)
                      and np.isfinite(value))
            if kind is int and number and float(value).is_integer():
                object.__setattr__(self, key, int(value))
            elif kind is int or not number:
                raise ReportError(f"`options.{key}` must be a "
                                  f"{'whole number' if kind is int else 'number'} ({hint}), "
                                  f"got {brief(value)}")
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
                                  f"({hint}), got {brief(raw)}")

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
    odd = [k for k in given if not isinstance(k, str | int | float) or isinstance(k, bool)]
    if odd:
        raise ReportError(f"{where} must hold names, got {type(odd[0]).__name__} {brief(odd[0])}")
    unknown = sorted(map(str, set(given) - set(allowed)))
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
        from ..datasets import data_dir

        try:
            return data_dir() / path
        except ClvError as err:
            # an installed wheel ships no data: the user's own file is the likelier fix
            raise ReportError(f"data {str(path)!r} of a shipped config: {err}. To report "
                              "your own transactions, pass the file: clvkit report --data "
                              "FILE (Python: build_report(data=FILE))") from err
    return (base if base is not None else Path.cwd()) / path


def _unique_key_loader():
    """A YAML SafeLoader that refuses a key written twice in one mapping."""
    import yaml

    class _Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            # an alias repeats a node: nested aliases expand exponentially ("billion laughs")
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise ReportError(f"YAML aliases are not allowed (*{str(event.anchor)[:40]} on "
                                  f"line {event.start_mark.line + 1}); write the value out")
            return super().compose_node(parent, index)

    def construct_mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise ReportError(f"a key must be a name, got {type(key).__name__} on line "
                                  f"{key_node.start_mark.line + 1}")
            if key in seen:
                raise ReportError(
                    f"key {brief(key)} is written twice in one mapping (lines "
                    f"{seen[key] + 1} and {key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return _Loader


#: Largest config file read (a report config is a page of YAML).
MAX_CONFIG_BYTES = 1 << 20


def _config_text(path: Path) -> str:
    """The text of a config file: UTF-8, at most :data:`MAX_CONFIG_BYTES`, no NUL bytes."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ReportError(f"config file {str(path)!r} is larger than {MAX_CONFIG_BYTES:,} bytes: "
                          "not a report config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ReportError(f"config file {str(path)!r} is not UTF-8 text (byte offset "
                          f"{err.start}): give a YAML file") from None
    if "\x00" in text:
        raise ReportError(f"config file {str(path)!r} holds a NUL byte (offset "
                          f"{text.index(chr(0))}): not a YAML text file")
    return text


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
        from ..datasets import data_dir

        try:
            return str(data_dir().resolve())
        except ClvError:
            pass
    return str(Path.cwd().resolve())


def shipped_configs() -> tuple[str, ...]:
    """Names of the configurations shipped inside the package (``clvkit/configs/*.yml``)."""
    folder = resources.files("clvkit") / "configs"
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml")))


def _check_number_map(values, allowed, where: str) -> dict:
    if not isinstance(values, dict):
        raise ReportError(f"`{where}` must be a mapping, got {type(values).__name__}")
    _unknown_keys(values, allowed, f"`{where}`")
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise ReportError(f"`{where}.{key}` must be a number, got {brief(value)}")
        out[key] = float(value)
    return out


def _check_benchmarks(values) -> dict:
    """Benchmarks by metric name; names of the first edition get the new name in the error."""
    from ..metrics import _RENAMED

    if isinstance(values, dict):
        for key in values:
            if key in _RENAMED and key not in BENCHMARK_KEYS:
                raise ReportError(f"`benchmarks.{key}` is no longer a metric name: "
                                  f"{_RENAMED[key]} (definitions in clvkit.metrics)")
    from ..metrics import METRICS

    out = _check_number_map(values, BENCHMARK_KEYS, "benchmarks")
    for key, value in out.items():
        unit = METRICS[key].unit
        if unit == "percent" and not 0 <= value <= 1:
            raise ReportError(f"`benchmarks.{key}` is a rate: a fraction between 0 and 1 "
                              f"(10% is written 0.10), got {brief(values[key])}")
        if value < 0:
            raise ReportError(f"`benchmarks.{key}` must be >= 0, got {brief(values[key])}")
    return out


def _check_data(spec, base: Path | None, *, shipped: bool = False,
                override=None) -> dict:
    if spec is None and override is not None:
        spec = {}
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or ("path" not in spec and override is None):
        raise ReportError("`data` must be a path or a mapping with at least `path`, "
                          f"got {brief(spec)}")
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
        raise ReportError(f"`data.kind` must be one of {list(_DATA_KINDS)}, got {brief(kind)}")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise ReportError(f"`data.columns` must map canonical names to source names, "
                          f"got {brief(columns)}")
    allowed_columns = (*C.CANONICAL, "unit_price")
    _unknown_keys(columns, allowed_columns, "`data.columns`")
    preset = spec.get("preset")
    if preset is not None:
        from ..io import PRESETS

        if preset not in PRESETS:
            raise ReportError(f"`data.preset` must be one of {sorted(PRESETS)}, "
                              f"got {brief(preset)}")
    non_product = spec.get("non_product") or []
    if not isinstance(non_product, list) or not all(isinstance(v, str) for v in non_product):
        raise ReportError("`data.non_product` must be a list of product names (postage, fees, "
                          f"...) to leave out of revenue, got {brief(non_product)}")
    loader = {key: spec[key] for key in LOADER_KEYS if key in spec}
    for key, value in loader.items():
        wanted = (bool if key == "dayfirst" else (str, int) if key == "sheet" else str)
        if value is not None and (not isinstance(value, wanted) or (
                key == "sheet" and isinstance(value, bool))):
            kind = ("true or false" if key == "dayfirst" else "a sheet name or position"
                    if key == "sheet" else "text")
            raise ReportError(f"`data.{key}` must be {kind}, got {type(value).__name__} "
                              f"{brief(value)}")
    return {"path": None if path is None else str(path), "kind": kind, "preset": preset,
            "columns": dict(columns),
            "as_of": _check_as_of(spec.get("as_of")),
            "non_product": list(non_product), "loader": loader}


def _check_as_of(value) -> str | None:
    """``data.as_of``: None, "now" or a date (a YAML date or ISO text)."""
    if value is None or value == "now":
        return value
    from ..errors import DataValidationError
    from ..io import as_of_limit

    try:
        as_of_limit(value)
    except DataValidationError:
        raise ReportError(f"`data.as_of` must be a date such as 2011-12-09 (or now), got "
                          f"{brief(value)}") from None
    return str(value)


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
        raw = _read_yaml(_config_text(path), f"{config!r} (shipped)")
        source, shipped = str(path), True
    else:
        path = Path(config).expanduser()
        if not path.is_file():
            raise ReportError(f"config file {str(config)!r} not found (give a YAML file, or "
                              f"the name of a shipped config: {list(shipped_configs())})")
        raw = _read_yaml(_config_text(path), repr(str(config)))
        source, base = str(path.resolve()), path.resolve().parent
    _unknown_keys(raw, _CONFIG_KEYS, "config")
    if "data" not in raw and data is None:
        raise ReportError("config has no `data` (the transactions file or synthetic CRM folder)")
    spec = _check_data(raw.get("data"), base, shipped=shipped, override=data)
    spec["base"] = _display_base(base, shipped=shipped, override=data is not None)
    stem = (Path(spec["path"]).stem.split(".")[0] if spec["path"] is not None
            else "report")
    name = str(raw.get("name") or (stem if shipped or not source else Path(source).stem))
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}", name):
        raise ReportError("`name` is a folder name under reports/: up to 100 letters, digits, "
                          f"'_', '-' and '.', not starting with '.', got {brief(name)}")
    currency = str(raw.get("currency", "GBP"))
    if currency not in CURRENCIES:
        raise ReportError(f"`currency` must be an ISO 4217 code, one of {sorted(CURRENCIES)}, "
                          f"got {brief(currency)}")
    time_unit = raw.get("time_unit", "W")
    if time_unit not in TIME_UNITS:
        raise ReportError(f"`time_unit` must be one of {list(TIME_UNITS)}, got {brief(time_unit)}")
    sections = raw.get("sections", list(SECTIONS))
    if not isinstance(sections, list) or not sections:
        raise ReportError(f"`sections` must be a non-empty list of {list(SECTIONS)}")
    _unknown_keys(sections, SECTIONS, "`sections`")
    sections = tuple(s for s in SECTIONS if s in sections)
    jobs = raw.get("jobs", min(2, os.cpu_count() or 1))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ReportError(f"`jobs` must be a whole number >= 1, got {brief(jobs)}")
    options = ReportOptions.from_mapping(raw.get("options") or {})
    month = None if raw.get("month") is None else _check_month(raw["month"], "`month`")
    privacy = raw.get("privacy") or {}
    if not isinstance(privacy, Mapping):
        raise ReportError(f"`privacy` must be a mapping such as {{mask_ids: true}}, "
                          f"got {brief(privacy)}")
    _unknown_keys(privacy, PRIVACY_KEYS, "`privacy`")
    mask_ids = privacy.get("mask_ids", PRIVACY_KEYS["mask_ids"])
    if not isinstance(mask_ids, bool):
        raise ReportError(f"`privacy.mask_ids` must be true or false, got {brief(mask_ids)}")
    return ReportConfig(
        name=name, title=str(raw.get("title") or f"{name} monthly CRM report"), data=spec,
        month=month, currency=currency, time_unit=time_unit,
        benchmarks=_check_benchmarks(raw.get("benchmarks") or {}),
        sections=sections, jobs=jobs, options=options, source=source, mask_ids=mask_ids)

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


def override_config(cfg: ReportConfig, *, currency: str | None = None,
                    preset: str | None = None, columns: dict | None = None,
                    loader: dict | None = None, as_of=None,
                    mask_ids: bool | None = None) -> ReportConfig:
    """``cfg`` with the command line's options applied.

    A preset that knows its currency (CDNOW: USD, Online Retail: GBP) sets it
    unless ``currency`` is given. ``columns`` (canonical name -> source column)
    and ``loader`` (options of :data:`LOADER_KEYS`) are merged into the config's
    ``data`` (None values ignored); ``as_of`` sets ``data.as_of`` (the extract
    date); ``mask_ids`` sets ``privacy.mask_ids``.

    Examples
    --------
    >>> cfg = override_config(load_config("default", data="x.csv"), preset="cdnow")
    >>> cfg.currency, cfg.data["preset"]
    ('USD', 'cdnow')
    """
    from ..io import PRESETS

    changes: dict = {}
    data = dict(cfg.data)
    if preset is not None:
        if preset not in PRESETS:
            raise ReportError(f"unknown preset {brief(preset)}; choose one of {sorted(PRESETS)}")
        data["preset"] = preset
        if currency is None and PRESETS[preset].currency:
            currency = PRESETS[preset].currency
    given = {k: v for k, v in (columns or {}).items() if v is not None}
    if given:
        _unknown_keys(given, (*C.CANONICAL, "unit_price"), "columns")
        data["columns"] = {**data.get("columns", {}), **given}
    options = {k: v for k, v in (loader or {}).items() if v is not None}
    if options:
        _unknown_keys(options, LOADER_KEYS, "loader options")
        data["loader"] = {**data.get("loader", {}), **options}
    if as_of is not None:
        from .month import check_day

        data["as_of"] = str(check_day(as_of, "--as-of").date())
    if data != cfg.data:
        changes["data"] = data
    if mask_ids is not None:
        changes["mask_ids"] = bool(mask_ids)
    if currency is not None:
        if currency not in CURRENCIES:
            raise ReportError(f"`currency` must be an ISO 4217 code, one of "
                              f"{sorted(CURRENCIES)}, got {brief(currency)}")
        changes["currency"] = currency
    return dataclasses.replace(cfg, **changes) if changes else cfg
