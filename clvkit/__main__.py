"""``python -m clvkit``: the same command as the ``clvkit`` console script."""

import sys

from .cli import main

if __name__ == "__main__":  # importing the module (e.g. doctest collection) runs nothing
    sys.exit(main())
