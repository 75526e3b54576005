"""Make executed notebooks and their HTML byte-identical from run to run.

An executed notebook carries run-specific data: papermill's start/end times,
durations and input/output paths, nbclient's per-cell ``execution`` timing,
a random ``id`` on the injected-parameters cell. :func:`normalize_notebook`
removes or fixes all of them; :func:`notebook_to_html` renders the result
without code cells and with a fixed ``<title>``.
"""

from __future__ import annotations

import copy

__all__ = ["normalize_notebook", "notebook_to_html", "write_notebook"]

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


def notebook_to_html(nb, *, title: str) -> str:
    """Render a notebook to standalone HTML without code, prompts or run-specific data.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A (normalised) executed notebook.
    title : str
        Text of the HTML ``<title>`` (escaped by the template).

    Returns
    -------
    str
        The HTML page; images are embedded as base64 PNG.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body
