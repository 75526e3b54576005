"""Running a report: papermill kernels, manifest, index page, publishing, build_report and CLI."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import html
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ClvError, ReportError
from ..outputs import (
    USER_ERRNOS,
    OutputError,
    check_report_output,
    describe_os_error,
    file_sha256,
    publish_folder,
    work_folder,
)
from .config import (
    _DATA_DIR,
    CONFIG_DIR,
    DEFAULT_CONFIG,
    SECTIONS,
    TEMPLATE_DIR,
    ReportConfig,
    Section,
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
from .exports import write_kpis, write_target_key
from .month import ReportMonth, check_month, resolve_month
from .sections.executive import headline_numbers, headline_table_display


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
                 logs: Path, banner: str = "") -> SectionResult:
    import nbformat
    import papermill

    from .._nbnormalize import normalize_notebook, notebook_to_html, write_notebook

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
        html_path.write_text(notebook_to_html(_with_banner(_hide_tracebacks(nb), banner),
                                              title=f"{section.title} -- "
                                              f"{parameters['title']} {parameters['month']}"),
                             encoding="utf-8")
    return SectionResult(name=section.name, title=section.title,
                         status="ok" if error is None else "failed",
                         notebook=nb_path.name if nb_path.exists() else "",
                         html=html_path.name if html_path.exists() else "",
                         seconds=round(time.perf_counter() - start, 1), error=error)


#: Customers active in the report month below which every page warns of a small sample.
SMALL_SAMPLE = 30


def small_sample_note(headline: pd.DataFrame, *, month: str) -> str:
    """A warning when few customers bought in the month ("" otherwise).

    Examples
    --------
    >>> head = pd.DataFrame({"value": [12.0]}, index=["active_customers"])
    >>> small_sample_note(head, month="2024-03")[:45]
    'Small sample: only 12 customers bought in Mar'
    """
    if "active_customers" not in headline.index:
        return ""
    active = headline.loc["active_customers", "value"]
    if not pd.notna(active) or active >= SMALL_SAMPLE:
        return ""
    label = pd.Period(month, "M").strftime("%B %Y")
    return (f"Small sample: only {int(active):,} customers bought in {label}. Rates and "
            "changes move by several points with a single customer; read them as "
            "indications, not trends.")


def page_banner(month: ReportMonth, notes=()) -> str:
    """Markdown shown first on every section page: the index link, a partial-month note.

    Examples
    --------
    >>> page_banner(ReportMonth("2024-02", pd.Timestamp("2024-03-01")))
    '[&larr; Report index](index.html)'
    """
    lines = [n for n in (month.note(), *notes) if n]
    return "[&larr; Report index](index.html)" + "".join(f"\n\n**{n}**" for n in lines)


def _with_banner(nb, banner: str):
    """``nb`` with a Markdown cell holding ``banner`` first (the HTML page only)."""
    import nbformat

    if banner:
        cell = nbformat.v4.new_markdown_cell(banner)
        cell["id"] = "clvkit-page-banner"
        nb.cells.insert(0, cell)
    return nb


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


_sha256 = file_sha256



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

    from .._version import __version__

    # clvkit's own version from the imported package: its distribution is `clvkit-crm`, and a
    # distribution named `clvkit` would be the unrelated project of that name
    out = {"python": sys.version.split()[0], "clvkit": __version__}
    for name in ("numpy", "pandas", "scipy", "matplotlib", "seaborn", "papermill",
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
li{margin:.3rem 0}.warn{background:#fff4e5;border-left:4px solid #b35c00;padding:.4rem .8rem}"""


def _definitions_html(headline: pd.DataFrame) -> str:
    """Definitions of the headline KPIs (from :mod:`clvkit.metrics`) as an HTML list."""
    from ..metrics import definitions_table

    table = definitions_table(list(headline.index))
    items = "\n".join(
        f'<dt id="def-{html.escape(name)}">{html.escape(row.label)}</dt>'
        f"<dd>{html.escape(row.definition)} <em>Formula:</em> {html.escape(row.formula)}."
        + (f" <em>Window:</em> {html.escape(row.window)}." if isinstance(row.window, str)
           else "") + "</dd>"
        for name, row in table.iterrows())
    return f'<h2 id="definitions">Definitions</h2>\n<dl>\n{items}\n</dl>'


def _index_notes(cfg: ReportConfig, period: ReportMonth, extra=()) -> list[str]:
    """Warnings under the index's title: a month in progress, a margin never set, ``extra``."""
    notes = []
    if period.partial:
        notes.append(period.note())
    if cfg.options.margin == 1.0:
        notes.append("No gross margin is configured (options.margin is 100%): every "
                     "\"margin\" and CLV figure in this report is revenue, not profit. Set "
                     "options.margin (e.g. 0.3) in the config.")
    return notes + [n for n in extra if n]


def _index_html(cfg: ReportConfig, period: ReportMonth, headline: pd.DataFrame,
                results: list[SectionResult], notes=()) -> str:
    esc = html.escape
    label = period.label
    notes = "".join(f'<p class="warn">{esc(n)}</p>\n' for n in _index_notes(cfg, period, notes))
    privacy = ("Customer ids, names and e-mail addresses are shown as pseudonyms (stable "
               "short hashes; set <code>privacy: {mask_ids: false}</code> or pass "
               "<code>--no-mask</code> to show them). The key of the target lists "
               "(pseudonym &rarr; customer id), for the CRM team to act on them, is "
               "<code>target-lists-key.csv</code>, readable by the report's owner only."
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
(currency {esc(cfg.currency)}; data extracted {period.as_of:%d %B %Y})</p>
{notes}<p class="sub">The same numbers for BI tools, with their definitions:
<a href="kpis.csv">kpis.csv</a></p>
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
                 jobs: int | None = None, currency: str | None = None,
                 preset: str | None = None, columns: dict | None = None,
                 loader: dict | None = None, as_of=None, partial: bool = False,
                 mask_ids: bool | None = None,
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
    say(f"clvkit report: loading {_display_path(source)}"
        + (f" (preset {cfg.data['preset']})" if cfg.data.get("preset") else "")
        + f"; amounts in {cfg.currency}"
        + ("" if currency or preset else " (from the config; --currency changes it)"))
    try:
        loaded = load_report_data(cfg.data, data=data)
    except ClvError as err:
        if isinstance(err, ReportError):
            raise
        raise ReportError(f"could not load the report data: {err}") from err
    for decision in loaded.decisions:
        say(f"clvkit report: read: {yaml_hint(decision)}")
    period = resolve_month(month or cfg.month, loaded.transactions, as_of=cfg.data.get("as_of"),
                           returns=loaded.returns, partial=partial)
    month = period.month
    loaded = dataclasses.replace(loaded, as_of=str(period.as_of.date()))
    if period.partial:
        say(f"clvkit report: {period.label}: {period.note()}")
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
                       staged / _DATA_DIR)
            ran = {r.name: r for r in _execute_sections(sections, parameters, staged, logs,
                                                       jobs=jobs or cfg.jobs, say=say,
                                                       banner=page_banner(period, [small]))}
            results = [ran.get(name) or skipped[name] for name in cfg.sections]
            shutil.rmtree(staged / _DATA_DIR)
            write_kpis(headline, staged / "kpis.csv", period=period)
            if cfg.mask_ids:
                write_target_key(loaded, staged)
            (staged / "index.html").write_text(_index_html(cfg, period, headline, results,
                                                           notes=[small]), encoding="utf-8")
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
                      jobs: int, say: Callable[[str], Any], banner: str = ""
                      ) -> list[SectionResult]:
    total = len(sections)
    if total == 0:
        return []
    done: dict[str, SectionResult] = {}
    workers = max(1, min(jobs, total))
    say(f"clvkit report: {parameters['month']}: running {total} section(s), {workers} at a time")
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        pending = {pool.submit(_run_section, s, i, parameters, work, logs, banner)
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
    parser.add_argument("--currency", help="ISO 4217 code of the amounts (default: the "
                        "preset's, else the config's)")
    parser.add_argument("--preset", help="a known data layout (cdnow, online_retail): column "
                        "names, rules and currency")
    parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="the date the data were "
                        "extracted (default: the config's data.as_of, else the last date in "
                        "the data); a month is complete when it ends on or before it")
    parser.add_argument("--partial", action="store_true", help="report the month in progress "
                        "(labelled on every page, compared like for like with the same days "
                        "of last month and last year)")
    parser.add_argument("--no-mask", dest="mask_ids", action="store_const", const=False,
                        help="show customer ids as in the data (default: pseudonyms, with a "
                        "key file readable by you only beside the target lists)")
    from ..cli import add_loader_arguments

    add_loader_arguments(parser.add_argument_group(
        "reading the data (as for clvkit validate; override the config's data options)"),
        defaults=False)


def run_report_cli(args: argparse.Namespace) -> int:
    """Run ``clvkit report`` from parsed arguments; return the exit code.

    0: every section ran; 1: a section failed (the report is still written);
    2: the report could not be built (configuration, data or output error).
    OS errors (permission denied, disk full, ...) propagate: :func:`clvkit.cli.main`
    turns them into one line and exit code 2.
    """
    from ..cli import loader_options

    columns, loader = loader_options(args)
    try:
        result = build_report(month=args.month, config=args.config, data=args.data,
                              out=args.out, force=args.force, jobs=args.jobs,
                              currency=args.currency, preset=args.preset, columns=columns,
                              loader=loader, as_of=getattr(args, "as_of", None),
                              partial=getattr(args, "partial", False),
                              mask_ids=getattr(args, "mask_ids", None))
    except ClvError as err:
        print(f"clvkit report: error: {err}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1
