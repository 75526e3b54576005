"""Sphinx configuration of the clvkit documentation site (``make docs``).

Offline by construction: MathJax comes from the ``sphinx-mathjax-offline`` package, the
theme (furo) ships its assets, notebooks are rendered with their committed outputs
(never executed here), and ``docs/check_links.py`` checks every internal link.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

from clvkit import __version__  # noqa: E402

project = "clvkit"
author = "clvkit developers"
copyright = "clvkit developers (MIT)"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinxarg.ext",
    "myst_nb",
    "clvkit_docs",
]

# ---------------------------------------------------------------- sources
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 4
nb_execution_mode = "off"          # the course is shown with its committed outputs
nb_merge_streams = True
suppress_warnings = [
    "myst.header",      # notebooks may start below a level-1 heading
    "myst.domains",     # sphinx-argparse's domain has no resolve_any_xref (harmless)
    "ref.python",       # a type word in a docstring ("name") matching two attributes
]

# ---------------------------------------------------------------- API reference
autosummary_generate = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"         # the numpy docstrings state the types
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# ---------------------------------------------------------------- HTML
html_theme = "furo"
html_title = f"clvkit {release}"
html_static_path = []
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None       # byte-identical rebuilds: no build date in the pages
napoleon_use_ivar = True
