"""seaborn figures: every function takes data first, an optional ``ax``, and returns the Axes."""

from . import crm as _crm
from . import diagnostics as _diagnostics
from . import models as _models
from .crm import *  # noqa: F403
from .diagnostics import *  # noqa: F403
from .models import *  # noqa: F403

__all__ = [*_crm.__all__, *_models.__all__, *_diagnostics.__all__]
