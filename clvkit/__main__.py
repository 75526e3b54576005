"""``python -m clvkit``: the same command as the ``clvkit`` console script."""

import sys

from .cli import main

sys.exit(main())
