"""Building a report: :func:`build_report` runs the pipeline of named steps.

Each job has its own module: :mod:`~clvkit.report.kernels` (executing the
sections), :mod:`~clvkit.report.manifest`, :mod:`~clvkit.report.index` (the
index page and page notes), :mod:`~clvkit.report.publish` and
:mod:`~clvkit.report.command` (the CLI). Their names stay importable from here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ClvError, ReportError
from ..outputs import (
    USER_ERRNOS,
    describe_os_error,
    work_folder,
)

# re-exports: names of the single-module edition stay importable from clvkit.report.run
from .command import add_report_arguments, run_report_cli  # noqa: F401
from .config import (
    _DATA_DIR,
    SECTIONS,
    TEMPLATE_DIR,
    ReportConfig,
    _display_path,
    load_config,
    override_config,
)
from .data import (
    _save_data,
    load_report_data,
    mask_customer_ids,
    section_support,
    yaml_hint,
)
from .engine import EngineChoice, choose_engine
from .exports import write_kpis, write_target_key
from .index import _index_html, page_banner, small_sample_note
from .kernels import (  # noqa: F401 (re-exports)
    _KERNELS,
    SectionResult,
    _check_template_parameters,
    _execute_sections,
    _hide_tracebacks,
    _run_section,
    _template_path,
)
from .manifest import _input_files, _write_manifest
from .month import check_month, resolve_month
from .publish import _check_output, _protected_paths, _publish
from .sections.executive import headline_numbers, report_cuts
from .tables import ReportTables, engine_tables


@dataclass(frozen=True, eq=False)
class ReportResult:
    """Outcome of :func:`build_report`."""

    out: Path
    month: str
    config: ReportConfig
    sections: tuple[SectionResult, ...]
    headline: pd.DataFrame = field(repr=False)
    seconds: float = 0.0
    engine: EngineChoice | None = None

    @property
    def ok(self) -> bool:
        """True when no section failed (sections skipped for lack of data are not failures)."""
        return all(s.status != "failed" for s in self.sections)

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the sections that failed."""
        return tuple(s.name for s in self.sections if s.status == "failed")


def build_report(*, month: str | None = None, config: str | Path | dict | None = None,
                 data=None, out: str | Path | None = None, force: bool = False,
                 jobs: int | None = None, currency: str | None = None,
                 preset: str | None = None, columns: dict | None = None,
                 loader: dict | None = None, as_of=None, partial: bool = False,
                 mask_ids: bool | None = None,
                 progress: Callable[[str], Any] | None = print,
                 hint: Callable[[str], str] = yaml_hint, engine: str = "auto",
                 memory_limit: str | None = None) -> ReportResult:
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
    currency, preset : str, optional
        Override the config's currency and ``data.preset`` (see
        :func:`clvkit.report.config.override_config`).
    columns, loader : dict, optional
        Override the config's ``data.columns`` (canonical name -> source column)
        and loader options (``sep``, ``decimal``, ``encoding``, ...).
    as_of : date-like, optional
        The data's extract date (default the config's ``data.as_of``, else the
        last date in the data): a month is complete when it ends on or before it.
    partial : bool, default False
        Allow the month in progress; it is labelled on every page and compared
        like for like (:mod:`clvkit.report.month`).
    mask_ids : bool, optional
        Override ``privacy.mask_ids``. Masked target lists come with a key file
        (``target-lists-key.csv``, pseudonym -> customer id, mode 600).
    progress : callable or None, default print
        Receives one line per event (section started/finished/failed).
    hint : callable, default :func:`clvkit.report.data.yaml_hint`
        Rewrites the loader's Python-style hints (``encoding='cp1252'``) in errors
        and reading decisions: the config's YAML terms by default;
        ``clvkit report`` without ``--config`` passes :func:`clvkit.cli.cli_hint`
        (``--encoding 'cp1252'``).
    engine : {"auto", "pandas", "duckdb", "spark"}, default "auto"
        Engine producing the report's tables (:mod:`clvkit.report.tables`);
        ``auto`` by the input's size (:func:`clvkit.report.engine.choose_engine`).
        Named in ``manifest.json`` and on the index page.
    memory_limit : str, optional
        DuckDB memory limit such as ``"2GB"`` (larger work spills to a temporary folder).

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
    cfg = override_config(load_config(config, data=data), currency=currency, preset=preset,
                          columns=columns, loader=loader, as_of=as_of, mask_ids=mask_ids)
    wanted = month or cfg.month
    protect = _protected_paths(cfg, data)
    if wanted is not None:      # refuse early, before the data are loaded
        check_month(wanted, "month")
        _check_output(Path(out) if out is not None else Path("reports") / cfg.name / wanted,
                      force=force, protect=protect)
    source = data if isinstance(data, str | os.PathLike) else cfg.data["path"]
    try:
        choice = choose_engine(engine, source=data if data is not None else source,
                               memory_limit=memory_limit)
    except ClvError as err:
        raise ReportError(str(err)) from None
    say(f"clvkit report: loading {_display_path(source)}"
        + (f" (preset {cfg.data['preset']})" if cfg.data.get("preset") else "")
        + f"; amounts in {cfg.currency}"
        + ("" if currency or preset else " (from the config; --currency changes it)"))
    try:
        loaded = load_report_data(cfg.data, data=data, hint=hint)
    except ClvError as err:
        if isinstance(err, ReportError):
            raise
        raise ReportError(f"could not load the report data: {err}") from err
    for decision in loaded.decisions:
        say(f"clvkit report: read: {decision}")
    period = resolve_month(month or cfg.month, loaded.transactions, as_of=cfg.data.get("as_of"),
                           returns=loaded.returns, partial=partial)
    month = period.month
    loaded = dataclasses.replace(loaded, as_of=str(period.as_of.date()))
    if period.partial:
        say(f"clvkit report: {period.note()}")     # names the month and its days once
    say(f"clvkit report: {choice.line()}")
    loaded = dataclasses.replace(loaded, tables=_engine_tables(loaded, choice, period))
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
        _check_template_parameters(section, parameters, template_dir=TEMPLATE_DIR)
    headline = headline_numbers(loaded, month=month, benchmarks=cfg.benchmarks,
                                options=cfg.options)
    inputs = _input_files(cfg, data)
    small = small_sample_note(headline, month=month)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The marked work folder (removed on exit, or by the next run if this process is
    # killed) holds the report being built, the kernels' logs and a replaced report.
    with work_folder(out) as work:
        staged, logs = work / "report", work / "logs"
        try:
            staged.mkdir()
            logs.mkdir()
            _save_data(mask_customer_ids(loaded) if cfg.mask_ids else loaded,
                       staged / _DATA_DIR, masked=cfg.mask_ids)
            ran = {r.name: r for r in _execute_sections(sections, parameters, staged, logs,
                                                       jobs=jobs or cfg.jobs, say=say,
                                                       banner=page_banner(period, [small]),
                                                       template_dir=TEMPLATE_DIR)}
            results = [ran.get(name) or skipped[name] for name in cfg.sections]
            shutil.rmtree(staged / _DATA_DIR)
            write_kpis(headline, staged / "kpis.csv", period=period)
            if cfg.mask_ids:
                write_target_key(loaded, staged)
            (staged / "index.html").write_text(_index_html(cfg, period, headline, results,
                                                           notes=[small], engine=choice),
                                               encoding="utf-8")
            _write_manifest(staged, cfg=cfg, month=month, parameters=parameters,
                            inputs=inputs, results=results, template_dir=TEMPLATE_DIR,
                            engine=choice)
            _publish(staged, out, work=work, force=force, protect=protect)
        except OSError as err:      # disk full, read-only, ...: one line naming the output
            if err.errno not in USER_ERRNOS:
                raise
            raise ReportError(f"cannot write the report {out}: {describe_os_error(err)}"
                              ) from None
    result = ReportResult(out=out, month=month, config=cfg, sections=tuple(results),
                          headline=headline, seconds=round(time.perf_counter() - started, 1),
                          engine=choice)
    verdict = "done" if result.ok else f"FAILED sections: {', '.join(result.failed)}"
    say(f"clvkit report: {verdict} in {result.seconds:.1f} s -> {out / 'index.html'}")
    return result


def _engine_tables(loaded, choice: EngineChoice, period) -> ReportTables:
    """The report tables of ``loaded`` on the chosen engine (with the month's cuts)."""
    try:
        return engine_tables(loaded.transactions, loaded.returns, engine=choice.name,
                             cuts=report_cuts(period), memory_limit=choice.memory_limit)
    except ClvError as err:
        raise ReportError(f"engine {choice.name} could not build the report tables: "
                          f"{err}") from None


# --------------------------------------------------------------------------- command line
