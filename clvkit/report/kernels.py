"""Executing report sections: one papermill kernel per section, in parallel, pages rendered."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ReportError
from .config import (
    SECTIONS,
    TEMPLATE_DIR,
    Section,
)


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


def _template_path(section: Section, template_dir: Path | None = None) -> Path:
    """The template of ``section`` in ``template_dir`` (default the package's templates)."""
    path = Path(template_dir or TEMPLATE_DIR) / section.template
    if not path.exists():
        raise ReportError(f"template {str(path)!r} of section {section.name!r} is missing")
    return path


def _check_template_parameters(section: Section, parameters: dict,
                               template_dir: Path | None = None) -> None:
    """Refuse parameters a template does not declare (papermill would only warn)."""
    import papermill

    declared = papermill.inspect_notebook(str(_template_path(section, template_dir)))
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(f"template {section.template} does not declare parameter(s) "
                          f"{unknown} in its `parameters` cell (it declares {sorted(declared)})")


def _run_section(section: Section, index: int, parameters: dict, work: Path,
                 logs: Path, banner: str = "", template_dir: Path | None = None
                 ) -> SectionResult:
    import nbformat
    import papermill

    from .._nbnormalize import normalize_notebook, notebook_to_html, write_notebook

    stem = Path(section.template).stem
    nb_path, html_path = work / f"{stem}.ipynb", work / f"{stem}.html"
    start = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(_template_path(section, template_dir)), str(nb_path), parameters=parameters,
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


def _execute_sections(sections: list[Section], parameters: dict, work: Path, logs: Path, *,
                      jobs: int, say: Callable[[str], Any], banner: str = "",
                      template_dir: Path | None = None) -> list[SectionResult]:
    total = len(sections)
    if total == 0:
        return []
    done: dict[str, SectionResult] = {}
    workers = max(1, min(jobs, total))
    say(f"clvkit report: {parameters['month']}: running {total} section(s), {workers} at a time")
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        pending = {pool.submit(_run_section, s, i, parameters, work, logs, banner, template_dir)
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
