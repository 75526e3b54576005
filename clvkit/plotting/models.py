"""Plots for the predictive models (holdout checks, tracking, P(alive)).

Each function draws the table a :mod:`clvkit.evaluation` function returns (or a fitted
model), on ``ax`` (a new figure when None), and returns the Axes. Colour-blind-safe
colours ("colorblind" palette, "cividis" map); nothing global is changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..units import unit_name
from .crm import _axes, _check_table, _colors
from .diagnostics import prediction_matrix

__all__ = ["holdout_by_frequency", "tracking_chart", "p_alive_matrix"]


def _actual_vs_model(ax, x, actual, predicted, *, model: str, marker: str | None) -> None:
    blue, orange = _colors(2)
    ax.plot(x, actual, color=blue, marker=marker, label="Actual")
    ax.plot(x, predicted, color=orange, marker=marker, linestyle="--", label=model)
    ax.legend(frameon=False)


def holdout_by_frequency(table: pd.DataFrame, *, model: str = "Model",
                         ax=None):
    """Plot mean actual vs predicted holdout purchases by calibration frequency.

    Parameters
    ----------
    table : DataFrame
        From `clvkit.evaluation.conditional_expectations`.
    model : str, default "Model"
        Legend label of the predictions (e.g. ``"BG/NBD"``).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = pd.DataFrame({"n_customers": [10, 5, 2], "actual": [0.2, 0.8, 2.0],
    ...                   "predicted": [0.25, 0.7, 1.8]},
    ...                  index=pd.Index([0, 1, 2], name="frequency"))
    >>> t.attrs = {"time_unit": "W", "max_frequency": 2, "duration_holdout": 39.0}
    >>> holdout_by_frequency(t, model="BG/NBD").get_xlabel()
    'Repeat purchases in the calibration period'
    """
    table = _check_table(table, "table", ("actual", "predicted"))
    ax = _axes(ax)
    x = np.asarray(table.index)
    _actual_vs_model(ax, x, table["actual"], table["predicted"], model=model, marker="o")
    top = table.attrs.get("max_frequency")
    labels = [f"{v}+" if top is not None and v == top else str(v) for v in x]
    ax.set_xticks(x, labels)
    unit, length = table.attrs.get("time_unit"), table.attrs.get("duration_holdout")
    span = f" ({length:g} {unit_name(unit)})" if unit and length else ""
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel(f"Mean purchases in the holdout period{span}")
    ax.set_title("Conditional expectations: actual vs predicted")
    return ax


def tracking_chart(tracking: pd.DataFrame, *, cumulative: bool = True,
                   model: str = "Model", ax=None):
    """Plot the cohort's repeat transactions per period, actual vs expected.

    Parameters
    ----------
    tracking : DataFrame
        From `clvkit.evaluation.cumulative_tracking`.
    cumulative : bool, default True
        Cumulative totals (True) or per-period counts (False).
    model : str, default "Model"
        Legend label of the predictions.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> t = pd.DataFrame({"actual": [1, 3, 2], "predicted": [1.5, 2.5, 2.0]},
    ...                  index=pd.RangeIndex(1, 4, name="period"))
    >>> t = t.assign(actual_cumulative=t["actual"].cumsum(),
    ...              predicted_cumulative=t["predicted"].cumsum())
    >>> t.attrs = {"time_unit": "W", "calibration_period": 2.0}
    >>> tracking_chart(t).get_xlabel()
    'Weeks since the first purchase of the cohort'
    """
    suffix = "_cumulative" if cumulative else ""
    cols = (f"actual{suffix}", f"predicted{suffix}")
    tracking = _check_table(tracking, "tracking", cols)
    ax = _axes(ax)
    _actual_vs_model(ax, tracking.index, tracking[cols[0]], tracking[cols[1]], model=model,
                     marker=None)
    cal = tracking.attrs.get("calibration_period")
    if cal is not None:
        ax.axvline(cal, color="grey", linestyle=":", linewidth=1)
        ax.annotate("end of calibration", (cal, 0), xytext=(4, 4),
                    textcoords="offset points", color="grey", fontsize=8)
    unit = tracking.attrs.get("time_unit")
    name = unit_name(unit).capitalize() if unit else "Periods"
    ax.set_xlabel(f"{name} since the first purchase of the cohort")
    what = "Cumulative repeat transactions" if cumulative else "Repeat transactions per period"
    ax.set_ylabel(what)
    ax.set_title(f"{what}: actual vs expected")
    return ax


def p_alive_matrix(fit, *, T: float, max_frequency: int = 20,  # noqa: N803
                   n_recency: int = 40, ax=None):
    """Heatmap of P(alive) by frequency and recency for customers of age ``T``.

    Parameters
    ----------
    fit : fitted BG/NBD, MBG/NBD or Pareto/NBD result
        Anything with ``p_alive(frequency=..., recency=..., T=...)`` and ``time_unit``.
    T : float
        Customer age, in the fit's time unit.
    max_frequency : int, default 20
        Largest number of repeat purchases shown.
    n_recency : int, default 40
        Number of recency values between 0 and ``T``.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        Drawn by `clvkit.plotting.prediction_matrix` with ``quantity="p_alive"``.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> ax = p_alive_matrix(fit, T=38.86, max_frequency=10, n_recency=20)
    >>> ax.get_ylabel()
    'Repeat purchases (frequency)'
    """
    return prediction_matrix(fit, T=T, quantity="p_alive", max_frequency=max_frequency,
                             n_recency=n_recency, ax=ax)
