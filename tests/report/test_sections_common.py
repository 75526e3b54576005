"""Tests of clvkit.report.sections.common."""

from __future__ import annotations

import sys
from pathlib import Path

from clvkit.report.sections._common import section_heading

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import EVIL  # noqa: E402


def test_section_heading_escapes_the_title():
    assert EVIL not in section_heading(EVIL, month="2024-03", section="Data quality")


def test_a_margin_of_100_percent_is_said_to_be_revenue(tiny_data):
    from clvkit.report.sections._common import _clv_assumptions

    text = _clv_assumptions(tiny_data, {"margin": 1.0, "annual_discount_rate": 0.1})
    assert "figures are revenue" in text and "options.margin" in text
    text = _clv_assumptions(tiny_data, {"margin": 0.3, "annual_discount_rate": 0.1})
    assert "30.0%" in text and "figures are revenue" not in text
