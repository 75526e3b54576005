"""Monthly narrative CRM reports: one command turns a month of transactions into a report pack.

``clvkit report --month 2011-11`` (or :func:`build_report`) reads a YAML
configuration, loads and cleans the data once, then executes one papermill
template per report section (in parallel), and writes to
``reports/<set>/<YYYY-MM>/``:

* ``NN-<section>.ipynb`` -- the executed notebook of each section,
* ``NN-<section>.html`` -- the same without code (what a reader sees),
* ``index.html`` -- the headline numbers and links to every section,
* ``kpis.csv`` -- the month's KPIs with registry names, comparisons and definitions,
* ``target-lists-key.csv`` -- pseudonym -> customer id of the exported lists (mode 600),
* ``manifest.json`` -- inputs and outputs with sha256, parameters, package versions.

The same inputs and configuration give byte-identical notebooks and HTML
(:mod:`clvkit._nbnormalize`). A report is written into a marked work folder
next to the target and renamed into place when complete, so an interrupted run
leaves no half report (a run killed outright leaves its work folder, which the
next run removes). ``force=True`` replaces only a folder that is a clvkit report,
and no output may be, contain or lie inside an input or the config (see
:mod:`clvkit.outputs`). Input files are only read.

The package has one module per job:

* :mod:`clvkit.report.config` -- typed options (:class:`ReportOptions`), YAML loading and checks,
* :mod:`clvkit.report.data` -- loading, staging, masking, the revenue bridge,
* :mod:`clvkit.report.month` -- which month, complete or in progress, like-for-like cuts,
* :mod:`clvkit.report.page` -- what the section pages share (page object, formatting, charts),
* :mod:`clvkit.report.sections` -- one module per section page, each with one entry point,
* :mod:`clvkit.report.kernels` -- executing the sections in papermill kernels,
* :mod:`clvkit.report.exports` -- ``kpis.csv`` and the key of masked target lists,
* :mod:`clvkit.report.manifest`, :mod:`clvkit.report.index`, :mod:`clvkit.report.publish`
  -- the manifest, the index page, the atomic publication,
* :mod:`clvkit.report.run` -- :func:`build_report`, the pipeline of those steps,
* :mod:`clvkit.report.command` -- the ``clvkit report`` command line.

The templates (package data in ``clvkit/templates/``) stay thin: every number they show is
computed by a section module (or the clvkit modules it calls).
"""

from .config import ReportConfig, ReportOptions, load_config, shipped_configs
from .data import ReportData, load_section_data
from .run import ReportResult, add_report_arguments, build_report, run_report_cli

__all__ = [
    "build_report", "load_config", "ReportConfig", "ReportOptions", "ReportResult",
    "ReportData", "load_section_data", "shipped_configs", "add_report_arguments",
    "run_report_cli",
]
