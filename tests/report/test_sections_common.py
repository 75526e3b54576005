"""Tests of clvkit.report.sections.common."""

from __future__ import annotations

import sys
from pathlib import Path

from clvkit.report.sections._common import section_heading

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import EVIL  # noqa: E402


def test_section_heading_escapes_the_title():
    assert EVIL not in section_heading(EVIL, month="2024-03", section="Data quality")
