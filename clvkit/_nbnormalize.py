"""Make executed notebooks and their HTML byte-identical from run to run.

An executed notebook carries run-specific data: papermill's start/end times,
durations and input/output paths, nbclient's per-cell ``execution`` timing,
a random ``id`` on the injected-parameters cell. :func:`normalize_notebook`
removes or fixes all of them; :func:`notebook_to_html` renders the result
without code cells and with a fixed ``<title>``.
"""

from __future__ import annotations

import copy
import os
import re

__all__ = ["normalize_notebook", "notebook_to_html", "write_notebook", "sanitize_html",
           "sanitize_notebook", "markdown_to_html"]

#: papermill notebook-level metadata kept (the rest is timing and paths).
_PAPERMILL_KEEP = ("default_parameters", "parameters", "exception", "version")


def normalize_notebook(nb):
    """Return a copy of an executed notebook without run-specific metadata.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook (e.g. read from papermill's output).

    Returns
    -------
    nbformat.NotebookNode
        The same notebook with papermill timing/paths and cell ``execution``
        metadata removed and cell ids set to ``cell-<position>``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    >>> nb.metadata["papermill"] = {"duration": 1.2, "parameters": {"month": "2011-11"}}
    >>> nb.cells[0].metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    >>> out = normalize_notebook(nb)
    >>> out.metadata["papermill"], out.cells[0].id, dict(out.cells[0].metadata)
    ({'parameters': {'month': '2011-11'}}, 'cell-0', {})
    """
    nb = copy.deepcopy(nb)
    pm_meta = nb.metadata.get("papermill")
    if pm_meta is not None:
        nb.metadata["papermill"] = {k: pm_meta[k] for k in _PAPERMILL_KEEP if k in pm_meta}
    nb.metadata.pop("widgets", None)
    for position, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{position}"
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        for output in cell.get("outputs", []):
            output.get("metadata", {}).pop("execution", None)
    return nb


def write_notebook(nb, path) -> None:
    """Write a notebook as nbformat v4 JSON (sorted keys, one-space indent, final newline)."""
    import nbformat

    text = nbformat.writes(nb, version=4)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")


#: Tags and attributes a report page may carry in text and table outputs.
ALLOWED_TAGS = frozenset({"a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2",
                          "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "span",
                          "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
                          "tr", "ul", "caption", "dl", "dt", "dd"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "table": ["class", "border"],
                      "th": ["colspan", "rowspan", "class"], "td": ["colspan", "rowspan", "class"],
                      "*": ["class", "id"]}
#: Link schemes kept; any other (javascript:, data:, vbscript:) loses its href.
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
#: Output types kept in pages (scripts, widgets and SVG -- which can hold script -- are dropped).
_KEPT_MIMETYPES = ("text/plain", "text/html", "text/markdown", "image/png", "image/jpeg")
_STYLE_RE = re.compile(r"<style\b[^>]*>.*?</style>", re.IGNORECASE | re.DOTALL)


def sanitize_html(fragment: str) -> str:
    """Keep only harmless HTML: :data:`ALLOWED_TAGS`, their attributes, http(s)/mailto links.

    Uses ``bleach`` (installed with nbconvert); disallowed tags are removed with
    their markup (their text stays, escaped), ``<style>`` blocks entirely.

    Examples
    --------
    >>> sanitize_html('<p><a href="javascript:alert(1)">x</a><script>alert(2)</script></p>')
    '<p><a>x</a>alert(2)</p>'
    >>> sanitize_html('<a href="https://example.org" onclick="evil()">ok</a>')
    '<a href="https://example.org">ok</a>'
    """
    import bleach

    return bleach.clean(_STYLE_RE.sub("", fragment), tags=ALLOWED_TAGS,
                        attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True,
                        strip_comments=True)


def markdown_to_html(source: str) -> str:
    r"""Render Markdown to HTML as nbconvert does, but never turn bare URLs into links.

    nbconvert's Markdown enables the ``url`` plugin, which makes any ``http://...``
    in the text a live ``<a href>``: a channel named ``http://2130706433/login`` in
    the data would become a link on a report page. Data text is escaped before it
    reaches Markdown (so it cannot write ``[x](...)`` links) and is rendered here as text.

    Examples
    --------
    >>> markdown_to_html("channel http://2130706433/login")
    '<p>channel http://2130706433/login</p>\n'
    >>> markdown_to_html("[docs](https://example.org)")
    '<p><a href="https://example.org">docs</a></p>\n'
    """
    from nbconvert.filters.markdown_mistune import (
        IPythonRenderer,
        MarkdownWithMath,
        import_plugin,
    )

    plugins = [import_plugin(p) for p in MarkdownWithMath.DEFAULT_PLUGINS if p != "url"]
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False), plugins=plugins).render(source)


def sanitize_notebook(nb):
    """A copy of ``nb`` safe to render: Markdown and HTML rendered then sanitised, scripts dropped.

    Markdown (cells and ``text/markdown`` outputs) is rendered to HTML first --
    so a ``[x](javascript:...)`` link or raw HTML written by data into Markdown is
    neutralised after Markdown has had its say -- then :func:`sanitize_html` is
    applied. Outputs of other types than :data:`_KEPT_MIMETYPES` are removed.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":     # rendered, sanitised, kept as (HTML) Markdown
            cell.source = sanitize_html(markdown_to_html(cell.source))
            continue
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is None:
                kept.append(output)
                continue
            for mime in [m for m in data if m not in _KEPT_MIMETYPES]:
                del data[mime]
            if not data:
                continue
            kept.append(output)
            if "text/markdown" in data:
                data["text/html"] = markdown_to_html(data.pop("text/markdown"))
            if "text/html" in data:
                html = data["text/html"]
                html = "".join(html) if isinstance(html, list) else html
                data["text/html"] = sanitize_html(html)
        if "outputs" in cell:
            cell["outputs"] = kept
    return nb


def nbconvert_template_dirs() -> list[str]:
    """Return nbconvert's template folders (holding ``lab/``), however nbconvert was installed.

    Jupyter looks in ``share/jupyter`` of the environment and of ``JUPYTER_PATH``;
    ``pip install --target DIR`` puts the package in ``DIR/nbconvert`` and its
    templates in ``DIR/share/jupyter``, which it does not search, so that folder is
    added. The working folder, nbconvert's default extra base, is not searched.

    Returns
    -------
    list of str
        Existing folders, each with a ``lab/conf.json``.

    Raises
    ------
    ClvError
        No folder holds nbconvert's ``lab`` template: the message says what to set.

    Examples
    --------
    >>> import os
    >>> all(os.path.isfile(os.path.join(d, "lab", "conf.json")) for d in nbconvert_template_dirs())
    True
    """
    from pathlib import Path

    import nbconvert
    from jupyter_core.paths import jupyter_path

    beside = Path(nbconvert.__file__).resolve().parents[1] / "share" / "jupyter"
    candidates = [*jupyter_path("nbconvert", "templates"),
                  os.fspath(beside / "nbconvert" / "templates")]
    found = [d for d in dict.fromkeys(candidates)
             if os.path.isfile(os.path.join(d, "lab", "conf.json"))]
    if not found:
        from .errors import ClvError

        raise ClvError("nbconvert's HTML templates (nbconvert/templates/lab) are not installed "
                       "where Jupyter looks: set JUPYTER_PATH to the share/jupyter folder of the "
                       "installation that holds them")
    return found


def notebook_to_html(nb, *, title: str) -> str:
    """Render a notebook to a standalone, sanitised HTML page without code or scripts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A (normalised) executed notebook.
    title : str
        Text of the HTML ``<title>`` (escaped by the template).

    Returns
    -------
    str
        The HTML page: text sanitised (:func:`sanitize_notebook`), images embedded
        as base64 PNG, no ``<script>`` (the page template drops require.js, MathJax
        and mermaid), so it works offline.
    """
    from importlib import resources

    from nbconvert import HTMLExporter

    folder = os.fspath(resources.files("clvkit") / "templates" / "html")
    templates = nbconvert_template_dirs()     # for `{% extends 'lab/index.html.j2' %}`
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True,
                            extra_template_paths=[folder, *templates],
                            extra_template_basedirs=templates,
                            template_file="clvkit_page.html.j2")
    body, _ = exporter.from_notebook_node(sanitize_notebook(nb),
                                          resources={"metadata": {"name": title}})
    return body
