"""Pages of the site generated from the code, written before Sphinx reads the sources.

* ``guide/_generated/config.md``: the config reference, from the typed config
  (:class:`clvkit.report.ReportOptions`, the sections, keys and accepted values);
* ``guide/_generated/kpis.md``: every KPI definition, from :mod:`clvkit.metrics`;
* ``api/generated/<module>.md``: one page per public module; each public object is
  documented once, on the page of the module that defines it;
* ``course/_student/``: the student edition of the course (``clvkit course release``:
  no solutions, no hidden tests), rendered by MyST-NB with its committed outputs.

The CLI reference is generated from the argparse parser by ``sphinx-argparse``
(``guide/cli.md``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
REPO = DOCS.parent


def _write(path: Path, text: str) -> None:
    """Write only when the text changed (Sphinx then rebuilds only what changed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- config


def config_reference() -> str:
    """The config reference page (Markdown), generated from clvkit.report.config."""
    from clvkit.report import config as C

    rules = C._OPTION_RULES
    option_rows = []
    for field in dataclasses.fields(C.ReportOptions):
        kind, low, high, open_, hint = rules[field.name]
        if kind is str:
            allowed = "one of " + ", ".join(f"`{v}`" for v in low)
        else:
            allowed = (f"{'>' if open_[0] else '>='} {low:g}"
                       + (f" and {'<' if open_[1] else '<='} {high:g}" if high is not None
                          else ""))
        option_rows.append([f"`{field.name}`", kind.__name__, f"`{field.default!r}`", allowed,
                            hint])
    section_rows = [[f"`{s.name}`", s.title, f"`{s.template}`",
                     ", ".join(s.needs) or "-", ", ".join(s.needs_any_column) or "-",
                     s.min_repeat_customers or "-"] for s in C.SECTIONS.values()]
    return "\n".join([
        "# Config reference",
        "",
        "Generated from the typed config (`clvkit.report.config`): every key a report",
        "config (YAML file or dict) accepts. Unknown keys are errors; numbers are",
        "range-checked once, when the config is loaded. The shipped configs are",
        ", ".join(f"`{n}`" for n in C.shipped_configs()) + " (`clvkit/configs/*.yml`).",
        "",
        "## Top-level keys",
        "",
        _table(["key", "meaning"], [
            ["`name`", "report set: output goes to `reports/<name>/<YYYY-MM>/`"],
            ["`title`", "title shown on every page"],
            ["`data`", "where the data are and how to read them (below)"],
            ["`month`", "`YYYY-MM`; default: the last complete month of the data"],
            ["`currency`", "ISO 4217 code, one of " + ", ".join(C.CURRENCIES)],
            ["`time_unit`", "unit of the models' durations: `D`, `W`, `M` or `Y`"],
            ["`benchmarks`", "targets the KPIs are compared with (keys below)"],
            ["`sections`", "sections to run, in report order (below)"],
            ["`jobs`", "sections executed in parallel"],
            ["`options`", "section options (below)"],
            ["`privacy`", ", ".join(f"`{k}` (default `{v}`)"
                                    for k, v in C.PRIVACY_KEYS.items())
             + ": pages and exported lists show customer ids as stable pseudonyms"],
        ]),
        "## `data:`",
        "",
        "Keys: " + ", ".join(f"`{k}`" for k in C._DATA_KEYS) + ". `kind` is one of "
        + ", ".join(f"`{k}`" for k in C._DATA_KINDS) + "; the loader options ("
        + ", ".join(f"`{k}`" for k in C.LOADER_KEYS) + ") are those of "
        "{func}`clvkit.load_transactions`. Relative paths are relative to the config "
        "file's folder.",
        "",
        "## `options:`",
        "",
        _table(["option", "type", "default", "allowed", "meaning"], option_rows),
        "## `benchmarks:`",
        "",
        "Keys (each a KPI of the [KPI definitions](kpis.md)): "
        + ", ".join(f"`{k}`" for k in C.BENCHMARK_KEYS) + ".",
        "",
        "## `sections:`",
        "",
        "A section the data cannot support is skipped with a note on the index page.",
        "",
        _table(["section", "page", "template", "needs tables", "needs a column",
                "repeat customers"], section_rows),
    ])


# --------------------------------------------------------------------------- KPIs


def kpi_reference() -> str:
    """Every metric of the registry (Markdown), from clvkit.metrics.definitions_table."""
    from clvkit import metrics

    table = metrics.definitions_table()
    parts = ["# KPI definitions", "",
             "Generated from the registry `clvkit.metrics`: each metric is defined once, and "
             "these are the definitions the report pages show (churn's window is shown for "
             "3 inactive months, CLV horizons for 12 months, the report defaults).", ""]
    for name, row in table.iterrows():
        parts += [f"## {row['label']}", "", f"`{name}` ({row['family']}, {row['unit']}"
                  + (f", {row['basis']}" if row["basis"] else "")
                  + (", lower is better" if row["lower_is_better"] else "") + ")", "",
                  row["definition"], "", f"- *Formula:* {row['formula']}",
                  f"- *Numerator:* {row['numerator']}"]
        if row["denominator"]:
            parts.append(f"- *Denominator:* {row['denominator']}")
        if row["window"]:
            parts.append(f"- *Window:* {row['window']}")
        parts.append("")
    return "\n".join(parts)


# --------------------------------------------------------------------------- pages


def reading_guide() -> str:
    """How to read each report page: its title, what it needs, and the prose it shows."""
    import nbformat

    from clvkit.report.config import SECTIONS, TEMPLATE_DIR

    parts = ["# How to read each page", "",
             "A report's `index.html` shows the month's headline KPIs (each compared with the "
             "month before, the same month a year earlier and the config's target, with its "
             "definition) and links to one page per section. Below, each section's page with "
             "the explanations it prints above its tables and figures (generated from the "
             "section templates in `clvkit/templates/`). Sections the data cannot support are "
             "skipped with a note on the index page.", ""]
    for section in SECTIONS.values():
        nb = nbformat.read(TEMPLATE_DIR / section.template, as_version=4)
        prose = [c.source.strip() for c in nb.cells
                 if c.cell_type == "markdown" and c.source.strip()]
        needs = [*section.needs, *(f"a `{c}` column" for c in section.needs_any_column)]
        if section.min_repeat_customers:
            needs.append(f"{section.min_repeat_customers} customers with repeat purchases")
        parts += [f"## {section.title}", "",
                  f"Page `{section.template.replace('.ipynb', '.html')}` (section "
                  f"`{section.name}`)" + (f"; needs {', '.join(needs)}" if needs else "")
                  + ".", ""]
        parts += [f"> {line}" if line else ">" for text in prose
                  for line in (*text.splitlines(), "")][:-1]
        parts.append("")
    return "\n".join(parts)


# --------------------------------------------------------------------------- API


def public_modules() -> list[str]:
    """Modules with an ``__all__`` and no private part in their name, in name order."""
    import clvkit

    names = ["clvkit"]
    for info in pkgutil.walk_packages(clvkit.__path__, "clvkit."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if hasattr(importlib.import_module(info.name), "__all__"):
            names.append(info.name)
    return sorted(names)


def api_pages() -> dict[str, list[tuple[str, str]]]:
    """Module -> [(name, directive)]: each public object on its defining module's page."""
    modules = public_modules()
    owner: dict[int, str] = {}
    pages: dict[str, list[tuple[str, str]]] = {m: [] for m in modules}
    for name in modules:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or attr.startswith("__"):
                continue
            defined = getattr(obj, "__module__", None)
            home = defined if defined in pages else None
            if home is None:        # defined in a private module: the first public exporter
                home = name
            if id(obj) in owner or (home != name and attr in dict(pages[home])):
                continue
            if home != name and attr not in getattr(importlib.import_module(home),
                                                      "__all__", ()):
                home = name
            owner[id(obj)] = home
            kind = ("autoclass" if inspect.isclass(obj) else
                    "autofunction" if callable(obj) else "autodata")
            pages[home].append((attr, kind))
    return pages


def api_sources() -> dict[str, str]:
    """File name -> Markdown of the API pages and their index."""
    out = {}
    pages = api_pages()
    for module, entries in pages.items():
        lines = [f"# `{module}`", "", "```{eval-rst}", f".. automodule:: {module}",
                 "   :no-members:", ""]
        for attr, kind in entries:
            lines.append(f".. {kind}:: {module}.{attr}")
            if kind == "autoclass":
                lines.append("   :members:")
                obj = getattr(importlib.import_module(module), attr)
                if dataclasses.is_dataclass(obj):   # fields: in the docstring's Attributes
                    fields = ", ".join(f.name for f in dataclasses.fields(obj))
                    if fields:
                        lines.append(f"   :exclude-members: {fields}")
            lines.append("")
        lines.append("```")
        out[f"{module}.md"] = "\n".join(lines) + "\n"
    toc = "\n".join(f"generated/{m}" for m in pages)
    out["index.md"] = ("# API reference\n\nGenerated from the numpy docstrings: every "
                       "public name (`__all__`) of every public module, each on the page of "
                       "the module that defines it. Equations are rendered by MathJax "
                       "shipped with the site (no CDN).\n\n```{toctree}\n:maxdepth: 1\n\n"
                       + toc + "\n```\n")
    return out


# --------------------------------------------------------------------------- course


def release_student_edition(folder: Path) -> None:
    """The student edition of the course in ``folder`` (``clvkit course release``)."""
    from clvkit._extras import require
    from clvkit.course import release

    require("nbgrader")
    if folder.exists():
        shutil.rmtree(folder)
    release(folder, source=REPO / "notebooks")


#: Anchor of INSTRUCTORS.md's title on the instructor's page.
RUBRIC_ANCHOR = "instructor-guide-exercises-written-questions-and-their-rubric"


def instructors_guide() -> str:
    """The course's instructor documents (notebooks/README.md, INSTRUCTORS.md) as one page.

    Their links to each other become links within the page; links to other files of the
    repository become plain text naming the file.
    """
    import re

    readme = (REPO / "notebooks" / "README.md").read_text(encoding="utf-8")
    rubric = (REPO / "notebooks" / "INSTRUCTORS.md").read_text(encoding="utf-8")
    # both one level below the page's title
    readme, rubric = (re.sub(r"^(#+) ", r"#\1 ", t, flags=re.M) for t in (readme, rubric))

    def link(match: re.Match) -> str:
        text, target = match[1], match[2]
        if re.match(r"[a-z]+:", target):
            return match[0]
        file, _, anchor = target.partition("#")
        if file == "INSTRUCTORS.md":
            return f"[{text}](#{anchor or RUBRIC_ANCHOR})"
        if file in ("README.md", ""):
            return f"[{text}](#{anchor})" if anchor else text
        return f"{text} (`{file}` in the repository)"

    text = "\n".join(["# Instructor's guide", "", readme.rstrip(), "", rubric])
    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, text)


def generate(app) -> None:
    """Write every generated page (Sphinx ``builder-inited``)."""
    _write(DOCS / "guide" / "_generated" / "config.md", config_reference())
    _write(DOCS / "guide" / "_generated" / "kpis.md", kpi_reference())
    _write(DOCS / "guide" / "_generated" / "reading.md", reading_guide())
    _write(DOCS / "_generated" / "instructors.md", instructors_guide())
    for name, text in api_sources().items():
        target = DOCS / "api" / ("index.md" if name == "index.md" else f"generated/{name}")
        _write(target, text)
    release_student_edition(DOCS / "course" / "_student")


def setup(app):
    """Register the generator."""
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "version": "1"}
