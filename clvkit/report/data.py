"""Report data: staging, masking of personal data, the revenue bridge and month resolution."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import columns as C
from ..errors import ClvError, ReportError
from .config import LOADER_KEYS, SECTIONS, Section, _display_path
from .month import observed_upto
from .tables import ReportTables, pandas_tables


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
    decisions : tuple of str
        How the loader read the input (:attr:`clvkit.io.LoadResult.decisions`):
        separator, encoding, decimal convention, date order, duplicates rule...
    as_of : str or None
        The data's extract date (``YYYY-MM-DD``, see :mod:`clvkit.report.month`):
        a report month ending after it is a month in progress.
    tables : ReportTables or None
        The small tables an engine produced (:mod:`clvkit.report.tables`); None:
        computed from ``transactions`` in pandas when needed (:func:`report_tables`).
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
    decisions: tuple[str, ...] = ()
    as_of: str | None = None
    tables: ReportTables | None = None

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

    from ..io import load_transactions

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
    from ..reconcile import is_non_product

    if not names or C.PRODUCT not in tx:
        return tx, tx.iloc[:0]
    mask = is_non_product(tx[C.PRODUCT], names)
    return (tx.loc[~mask].reset_index(drop=True), tx.loc[mask].reset_index(drop=True))


def _bridge(raw: pd.DataFrame, spec: dict) -> tuple[pd.DataFrame, dict]:
    """Monthly revenue bridge and file totals, parsed independently of the loader."""
    from ..reconcile import file_totals, parse_raw, revenue_bridge

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


def load_report_data(spec: dict, *, data=None,
                     hint: Callable[[str], str] = yaml_hint) -> ReportData:
    """Load and clean the data of a report once (``spec`` is ``ReportConfig.data``).

    ``data`` overrides the configured source: a path (file, or synthetic CRM
    folder), a DataFrame of transactions with canonical columns, or a
    :class:`clvkit.io.LoadResult` (then no revenue bridge can be computed: the
    raw input is unknown). Lines whose product is in ``spec["non_product"]`` are
    set apart (``ReportData.non_product``); the monthly revenue bridge is computed
    from the raw input independently of the loader (:mod:`clvkit.reconcile`).
    ``hint`` rewrites the loader's Python-style hints in an error and in the reading
    decisions (default: the config's YAML terms; the command line passes
    :func:`clvkit.cli.cli_hint`).
    """
    from ..io import LoadResult

    if isinstance(data, LoadResult):
        tx, other = _split_non_product(data.transactions, spec.get("non_product"))
        return ReportData(tx, data.returns, data.log, data.rows_read, data.source,
                          non_product=other)
    options = _loader_options(spec)
    try:
        loaded = _load_report_data(spec, data, options)
    except ReportError:
        raise
    except ClvError as err:
        raise ReportError(f"could not load the report data: {hint(str(err))}") from err
    # the decisions are shown to the reader (progress lines, the data-quality page) in the
    # terms of the interface they used: the config's YAML, or the command line's options
    return dataclasses.replace(loaded, decisions=tuple(hint(d) for d in loaded.decisions))


def _load_report_data(spec: dict, data, options: dict) -> ReportData:
    from ..io import load_transactions
    from ..reading import read_source

    extra = {}
    if isinstance(data, pd.DataFrame):
        raw, source, res = data, "DataFrame", load_transactions(data, **options)
    else:
        path = Path(spec["path"] if data is None else data)
        if not path.exists():
            raise ReportError(f"data file {str(path)!r} not found")
        if path.is_dir():
            from ..synthetic import load_crm

            crm = load_crm(path)
            raw, source = crm.transactions, _display_path(path, spec.get("base"))
            res = load_transactions(crm.transactions, **options)
            extra = {"customers": crm.customers, "campaigns": crm.campaigns,
                     "touches": crm.touches}
        else:
            # read once: the loader parses the table, the bridge re-parses the same raw
            # cells independently (its totals must not share the loader's mistakes)
            table = read_source(path, **{k: v for k, v in spec.get("loader", {}).items()
                                         if k in ("encoding", "sep", "sheet")})
            res = load_transactions(table, **options)
            raw = table.frame
            source = _display_path(path, spec.get("base"))
    bridge, totals = _bridge(raw, spec)
    tx, other = _split_non_product(res.transactions, spec.get("non_product"))
    return ReportData(tx, res.returns, res.log, res.rows_read, source, non_product=other,
                      bridge=bridge, file_totals=totals, decisions=tuple(res.decisions),
                      **extra)


def report_tables(data: ReportData) -> ReportTables:
    """The engine's tables of ``data``, or (without them) the pandas tables of its transactions.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-01-05"]),
    ...                    "amount": [5.0]})
    >>> report_tables(ReportData(tx, tx.iloc[:0], pd.DataFrame(), 1, "x")).engine
    'pandas'
    """
    if data.tables is not None:
        return data.tables
    return pandas_tables(data.transactions, data.returns)


def observed_activity(data: ReportData, month: str) -> pd.DataFrame:
    """The customer x month activity of the rows observed up to ``month``.

    The rows of :func:`clvkit.report.month.observed_upto`, from the engine's tables
    when present.
    """
    from ..crm import activity_table
    from .month import observation_stop

    if data.tables is None:
        return activity_table(observed_upto(data.transactions, data, month), period="M")
    stop = observation_stop(data, month)
    return data.tables.activity_before(int((stop - pd.Timestamp("1970-01-01")).days))


def _save_tables(tables: ReportTables, folder: Path, *, masked: bool) -> dict:
    """Write ``tables`` (and their cuts) to ``folder``; return their index for meta.json."""
    folder.mkdir()
    index = {"engine": tables.engine, "cuts": sorted(tables.cuts)}
    for stop, part in (("all", tables), *((str(k), v) for k, v in sorted(tables.cuts.items()))):
        activity = part.activity
        if masked:
            activity = activity.assign(**{C.CUSTOMER_ID: _mask_series(activity[C.CUSTOMER_ID])})
        activity.to_parquet(folder / f"activity-{stop}.parquet", index=False)
        part.monthly.to_parquet(folder / f"monthly-{stop}.parquet", index=False)
        if part.customer_returns is not None:
            back = part.customer_returns
            if masked:
                back = back.assign(**{C.CUSTOMER_ID: _mask_series(back[C.CUSTOMER_ID])})
            back.to_parquet(folder / f"returns-{stop}.parquet", index=False)
    return index


def _load_tables(folder: Path, index: dict) -> ReportTables:
    def part(stop):
        back = folder / f"returns-{stop}.parquet"
        return ReportTables(pd.read_parquet(folder / f"activity-{stop}.parquet"),
                            pd.read_parquet(folder / f"monthly-{stop}.parquet"),
                            engine=index["engine"],
                            customer_returns=pd.read_parquet(back) if back.exists() else None)

    return dataclasses.replace(part("all"), cuts={int(k): part(str(k)) for k in index["cuts"]})


def _save_data(data: ReportData, folder: Path, *, masked: bool = False) -> None:
    folder.mkdir()
    for name in _TABLES:
        frame = getattr(data, name)
        if frame is not None:
            frame.to_parquet(folder / f"{name}.parquet", index=name in ("customers", "campaigns"))
    meta = {"rows_read": int(data.rows_read), "source": str(data.source),
            "file_totals": data.file_totals, "decisions": list(data.decisions),
            "as_of": data.as_of}
    if data.tables is not None:
        meta["tables"] = _save_tables(data.tables, folder / "tables", masked=masked)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def load_section_data(data_dir: str | os.PathLike) -> ReportData:
    """Read the data prepared by :func:`build_report` (used by the section templates)."""
    folder = Path(data_dir)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    tables = {name: pd.read_parquet(folder / f"{name}.parquet")
              for name in _TABLES if (folder / f"{name}.parquet").exists()}
    saved = (_load_tables(folder / "tables", meta["tables"]) if "tables" in meta else None)
    return ReportData(rows_read=meta["rows_read"], source=meta["source"],
                      file_totals=meta.get("file_totals"),
                      decisions=tuple(meta.get("decisions", ())), as_of=meta.get("as_of"),
                      tables=saved, **tables)


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
        tx = observed_upto(data.transactions, data, month)   # as the predictions page
        pairs = pd.DataFrame({"c": tx[C.CUSTOMER_ID], "d": tx[C.DATE].dt.normalize()})
        repeat = int((pairs.drop_duplicates()["c"].value_counts() >= 2).sum())
        if repeat < section.min_repeat_customers:
            return (f"only {repeat} customers bought on two or more days up to {month}; the "
                    f"purchase models need at least {section.min_repeat_customers}")
    return None
