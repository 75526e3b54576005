"""Old private names of the shared page helpers (now public in :mod:`clvkit.report.page`).

Kept so section modules written against the first names keep importing; new
code imports from :mod:`clvkit.report.page` and :mod:`clvkit.report.month`.
"""

from ..month import month_end as _month_end
from ..month import upto as _upto
from ..page import SectionPage, section_heading, section_page
from ..page import bullet_list as _bullets
from ..page import clv_assumptions as _clv_assumptions
from ..page import fmt as _fmt
from ..page import has_cac as _has_cac
from ..page import margin_phrase as _margin_phrase
from ..page import margin_rate as _margin_rate
from ..page import md_text as _text
from ..page import money_axis as _money_axis
from ..page import monthly_discount as _monthly_discount
from ..page import new_axes as _axes
from ..page import palette as _palette
from ..page import typed_options as _options

__all__ = ["SectionPage", "section_heading", "section_page", "_bullets", "_clv_assumptions",
           "_palette", "_text", "_fmt", "_has_cac", "_margin_phrase", "_margin_rate",
           "_money_axis", "_monthly_discount", "_axes", "_options", "_month_end", "_upto"]
