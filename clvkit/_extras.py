"""Optional features and the extra that installs each: one line instead of a traceback.

The distribution is ``clvkit-crm`` (the import package and the command are ``clvkit``;
``clvkit`` on the package index is an unrelated library). The base install runs
``clvkit validate``, ``clvkit summary`` and ``clvkit report``; other features need an
extra, and a missing one ends in a :class:`~clvkit.errors.ClvError` that names it.
"""

from __future__ import annotations

import importlib

from .errors import ClvError

#: The name to ``pip install`` (not ``clvkit``: that name belongs to another project).
DISTRIBUTION = "clvkit-crm"

#: Top-level module -> (feature, extra). ``None`` as the extra: part of the base install.
MODULE_EXTRAS: dict[str, tuple[str, str | None]] = {
    "duckdb": ("the DuckDB engine", "scale"),
    "pyspark": ("the Spark engine", "scale"),
    "nbgrader": ("`clvkit course` (nbgrader 0.9)", "course"),
    "sphinx": ("the documentation site", "docs"),
    "myst_nb": ("the documentation site", "docs"),
    "jupyterlab": ("the course in JupyterLab", "notebooks"),
    "nbval": ("notebook validation", "notebooks"),
    "papermill": ("`clvkit report`", None),
    "nbconvert": ("`clvkit report`", None),
    "nbformat": ("`clvkit report`", None),
    "nbclient": ("`clvkit report`", None),
    "ipykernel": ("`clvkit report`", None),
    "jupyter_client": ("`clvkit report`", None),
    "bleach": ("`clvkit report`", None),
}


def install_hint(module: str) -> str | None:
    """The one-line message for a missing ``module``, or ``None`` if it is not optional.

    Examples
    --------
    >>> install_hint("duckdb")
    "the DuckDB engine needs duckdb: pip install 'clvkit-crm[scale]'"
    >>> print(install_hint("papermill"))
    `clvkit report` needs papermill (base install): pip install --force-reinstall clvkit-crm
    >>> install_hint("pyspark.sql") == install_hint("pyspark")
    True
    >>> install_hint("numpy") is None
    True
    """
    top = module.partition(".")[0]
    if top not in MODULE_EXTRAS:
        return None
    feature, extra = MODULE_EXTRAS[top]
    if extra is None:
        return (f"{feature} needs {top} (base install): "
                f"pip install --force-reinstall {DISTRIBUTION}")
    return f"{feature} needs {top}: pip install '{DISTRIBUTION}[{extra}]'"


def require(module: str, *, error: type[ClvError] = ClvError):
    """Import ``module``, or raise ``error`` with the one line naming its extra.

    Parameters
    ----------
    module : str
        Module to import (``"duckdb"``, ``"pyspark.sql"``, ...); its top-level name must
        be in :data:`MODULE_EXTRAS`.
    error : type of ClvError
        Exception class to raise (an engine raises its ``EngineError``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ClvError
        The module (or one it needs) cannot be imported.

    Examples
    --------
    >>> require("nbformat").__name__
    'nbformat'
    """
    hint = install_hint(module)
    if hint is None:
        raise ValueError(f"{module!r} is not an optional dependency; known: "
                         f"{sorted(MODULE_EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError:
        raise error(hint) from None
