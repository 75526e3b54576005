"""Run the course notebooks deterministically.

``execute`` runs a notebook from a fresh ``python3`` kernel (working directory =
the notebook's folder) and saves it with its outputs, without run-specific data
(timings, random cell ids), so that ``pytest --nbval`` compares like with like.
The course notebooks are nbgrader source notebooks: their exercises, release and
grading live in :mod:`clvkit.course`.

Command line::

    python -m clvkit.notebook_tools execute notebooks/01-clv-formula.ipynb ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._nbnormalize import normalize_notebook, write_notebook
from .errors import ClvError

__all__ = ["execute_notebook", "main"]


def _read(path):
    import nbformat

    return nbformat.read(str(path), as_version=4)


def execute_notebook(path, *, output=None, timeout: int = 300, kernel_name: str = "python3"):
    """Execute a notebook from a fresh kernel and save it deterministically.

    The kernel runs in the notebook's folder (like nbval and papermill); a cell
    that raises stops the run (cells tagged ``raises-exception`` may raise). The
    saved notebook has no timing metadata, cell ids ``cell-<n>`` and the kernel
    spec ``python3``.

    Parameters
    ----------
    path : path-like
        Notebook to run.
    output : path-like, optional
        Where to save; default overwrite ``path``.
    timeout : int, default 300
        Seconds allowed per cell.
    kernel_name : str, default "python3"

    Returns
    -------
    nbformat.NotebookNode
        The executed, normalised notebook.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    nb = _read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    try:
        client.execute()
    except CellExecutionError as error:
        raise ClvError(f"{path}: a cell failed (the notebook was not saved):\n{error}") from error
    nb = normalize_notebook(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    write_notebook(nb, output or path)
    return nb


def main(argv: list[str] | None = None) -> int:
    """Command line: ``execute`` notebooks (run and re-save them deterministically)."""
    parser = argparse.ArgumentParser(prog="python -m clvkit.notebook_tools",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("execute", help="run and re-save notebooks deterministically"
                   ).add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        execute_notebook(path)
        print(f"executed {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
