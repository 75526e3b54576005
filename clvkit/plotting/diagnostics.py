"""Diagnostic plots of the purchase models: is the fit believable.

* `count_histogram`: customers by calibration repeat purchases, actual vs each model
  (Fader, Hardie & Lee 2005, Fig. 3), from `clvkit.models.purchase_count_histogram`;
* `prediction_matrix`: P(alive) or expected purchases by frequency x recency for customers
  of one age (a heatmap of the table `prediction_grid` returns);
* `p_alive_history`: one customer's P(alive) through time, from their purchase times (the
  table is `p_alive_path`).

Every plotting function takes its data first, draws on ``ax`` (a new figure when None)
and returns the Axes; colours are colour-blind safe and nothing global is changed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns

from ..errors import ClvError
from ..units import to_units, unit_name
from .crm import _axes, _check_table, _colors

__all__ = ["count_histogram", "prediction_grid", "prediction_matrix", "p_alive_path",
           "p_alive_history"]

_QUANTITIES = {"p_alive": "P(alive)", "expected_purchases": "Expected purchases"}


def count_histogram(table: pd.DataFrame, *, ax=None):
    """Bar chart of customers by calibration repeat purchases: actual vs model(s).

    Parameters
    ----------
    table : DataFrame
        From `clvkit.models.purchase_count_histogram`: column ``actual`` and one column of
        expected counts per model, indexed by ``"0"``, ``"1"``, ..., ``"K+"``.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per column (``ax.containers``), in the table's column order.

    Examples
    --------
    >>> t = pd.DataFrame({"actual": [1411, 439, 507], "BG/NBD": [1408.0, 460.3, 488.7]},
    ...                  index=pd.Index(["0", "1", "2+"], name="frequency"))
    >>> ax = count_histogram(t)
    >>> [round(float(b.get_height()), 1) for b in ax.containers[1]]
    [1408.0, 460.3, 488.7]
    """
    table = _check_table(table, "table", ("actual",))
    ax = _axes(ax)
    x = np.arange(len(table))
    width = 0.8 / table.shape[1]
    for i, (col, color) in enumerate(zip(table.columns, _colors(table.shape[1]), strict=True)):
        label = "Actual" if col == "actual" else str(col)
        ax.bar(x + (i - (table.shape[1] - 1) / 2) * width, table[col].to_numpy(dtype=float),
               width=width, color=color, label=label)
    ax.set_xticks(x, [str(v) for v in table.index])
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel("Customers")
    ax.set_title("Customers by number of repeat purchases: actual vs model")
    ax.legend(frameon=False)
    return ax


def _check_grid_options(T: float, max_frequency: int, n_recency: int) -> None:  # noqa: N803
    if not (np.isfinite(T) and T > 0) or max_frequency < 1 or n_recency < 2:
        raise ClvError(f"`T` must be > 0, `max_frequency` >= 1 and `n_recency` >= 2; got "
                       f"T={T!r}, max_frequency={max_frequency!r}, n_recency={n_recency!r}")


def prediction_grid(fit: Any, *, T: float, quantity: str = "p_alive",  # noqa: N803
                    t: float | None = None, max_frequency: int = 20,
                    n_recency: int = 40) -> pd.DataFrame:
    """P(alive) or expected purchases for every frequency x recency, customers of age ``T``.

    Parameters
    ----------
    fit : fitted BG/NBD, MBG/NBD or Pareto/NBD
        Anything with ``p_alive`` and ``conditional_expected_purchases``.
    T : float
        Customer age, in the fit's time unit.
    quantity : {"p_alive", "expected_purchases"}
        What to compute.
    t : float, optional
        Horizon of the expected purchases (required for ``"expected_purchases"``).
    max_frequency : int, default 20
        Frequencies 0 .. max_frequency.
    n_recency : int, default 40
        Recency values evenly spaced from 0 to ``T`` (recency is 0 when frequency is 0).

    Returns
    -------
    DataFrame
        Index ``frequency``, columns ``recency``; ``attrs`` hold ``quantity``, ``T``,
        ``horizon`` and ``time_unit``.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> prediction_grid(fit, T=38.86, max_frequency=2, n_recency=2).round(3)
    ... # doctest: +NORMALIZE_WHITESPACE
    recency    0.00   38.86
    frequency
    0          1.000  1.000
    1          0.152  0.754
    2          0.025  0.812
    """
    if quantity not in _QUANTITIES:
        raise ClvError(f"`quantity` must be one of {list(_QUANTITIES)}, got {quantity!r}")
    if quantity == "expected_purchases" and t is None:
        raise ClvError("`t` (the horizon, in the fit's time unit) is required for "
                       "quantity='expected_purchases'")
    _check_grid_options(T, max_frequency, n_recency)
    x = np.arange(max_frequency + 1)
    t_x = np.linspace(0, T, n_recency)
    xx, tt = np.meshgrid(x, t_x, indexing="ij")
    tt = np.where(xx == 0, 0.0, tt)  # no repeat purchase: recency is 0
    kw = {"frequency": xx.ravel(), "recency": tt.ravel(), "T": np.full(xx.size, float(T))}
    if quantity == "p_alive":
        values = fit.p_alive(**kw)
    else:
        values = fit.conditional_expected_purchases(t=t, **kw)
    grid = pd.DataFrame(np.asarray(values, dtype=float).reshape(xx.shape),
                        index=pd.Index(x, name="frequency"),
                        columns=pd.Index(t_x.round(2), name="recency"))
    grid.attrs = {"quantity": quantity, "T": float(T), "horizon": t,
                  "time_unit": fit.time_unit}
    return grid


def prediction_matrix(fit: Any, *, T: float, quantity: str = "p_alive",  # noqa: N803
                      t: float | None = None, max_frequency: int = 20, n_recency: int = 40,
                      ax=None):
    """Heatmap of P(alive) or expected purchases by frequency (rows) and recency (columns).

    The highest frequency is drawn at the top. Parameters as `prediction_grid`, plus
    ``ax``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.collections[0].get_array()`` holds the drawn values (rows from the top).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> ax = prediction_matrix(fit, T=38.86, quantity="expected_purchases", t=39,
    ...                        max_frequency=10, n_recency=20)
    >>> ax.get_title()
    'Expected purchases in the next 39 weeks, customers of age 38.86 weeks'
    """
    grid = prediction_grid(fit, T=T, quantity=quantity, t=t, max_frequency=max_frequency,
                           n_recency=n_recency)
    ax = _axes(ax)
    unit = unit_name(fit.time_unit)
    label = _QUANTITIES[quantity]
    limits = {"vmin": 0, "vmax": 1} if quantity == "p_alive" else {"vmin": 0}
    sns.heatmap(grid.iloc[::-1], ax=ax, cmap="cividis", cbar_kws={"label": label},
                xticklabels=max(1, n_recency // 8), yticklabels=max(1, max_frequency // 10),
                **limits)
    ax.set_xlabel(f"Recency: time of last purchase ({unit} since the first)")
    ax.set_ylabel("Repeat purchases (frequency)")
    if quantity == "p_alive":
        ax.set_title(f"Probability alive for customers of age {T:g} {unit}")
    else:
        ax.set_title(f"{label} in the next {t:g} {unit}, customers of age {T:g} {unit}")
    return ax


def _times(fit: Any, purchase_times: Any, T: Any) -> tuple[np.ndarray, float]:  # noqa: N803
    """Purchase times and age in the fit's unit; dates become times since the first purchase day."""
    values = pd.Series(np.asarray(purchase_times).reshape(-1))
    if not pd.api.types.is_datetime64_any_dtype(values):
        return np.sort(values.to_numpy(dtype=float)), T
    if values.isna().any() or not isinstance(T, str | pd.Timestamp | np.datetime64):
        raise ClvError("with purchase dates, `T` must be the end date of the observation "
                       f"(e.g. '2011-12-09') and no date may be missing; got T={T!r}")
    days = values.dt.normalize().drop_duplicates().sort_values()
    first = days.iloc[0]
    times = to_units(days - first, time_unit=fit.time_unit).to_numpy(dtype=float)
    return times, float(to_units(pd.Timestamp(T).normalize() - first,
                                 time_unit=fit.time_unit))


def p_alive_path(fit: Any, *, purchase_times: Any, T: float,  # noqa: N803
                 n_points: int = 200) -> pd.DataFrame:
    """One customer's P(alive) at every time from the first purchase to age ``T``.

    At each time tau the customer's history is (x = repeat purchases in (0, tau], t_x =
    time of the last of them, age tau); P(alive) is the model's ``p_alive`` of that history.
    It rises at every purchase and decays between purchases: to 1 for the Pareto/NBD; for
    the BG/NBD to (b + x - 1) / (a + b + x - 1), since a customer may leave right after a
    purchase (FHL 2005).

    Parameters
    ----------
    fit : fitted BG/NBD, MBG/NBD or Pareto/NBD
        Anything with ``p_alive`` and ``time_unit``.
    purchase_times : array-like of float or of datetimes
        Times of the customer's purchases in the fit's time unit, counted from the first
        purchase (0 may be included or left out; it is the first purchase); or the purchase
        dates (datetime64 / Timestamps), turned into days since the first purchase day in
        the fit's unit, one purchase per day, as `clvkit.summary.rfm_summary` counts them.
    T : float or date
        Age at which the path ends (e.g. the customer's ``T``), >= the last purchase; with
        purchase dates, the last day observed (as ``observation_end`` of ``rfm_summary``).
    n_points : int, default 200
        Evenly spaced times; the purchase times are added.

    Returns
    -------
    DataFrame
        ``time``, ``frequency``, ``recency``, ``p_alive`` (sorted by time); ``attrs`` hold
        ``purchase_times`` and ``time_unit``.

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> p = p_alive_path(fit, purchase_times=[10.0, 30.43], T=38.86, n_points=2)
    >>> p.round(3).to_numpy().tolist()
    [[0.0, 0.0, 0.0, 1.0], [10.0, 1.0, 10.0, 0.754], [30.43, 2.0, 30.43, 0.812], \
[38.86, 2.0, 30.43, 0.727]]
    """
    times, T = _times(fit, purchase_times, T)  # noqa: N806
    if times.size and (not np.all(np.isfinite(times)) or times[0] < 0):
        raise ClvError("`purchase_times` must be finite times >= 0 since the first purchase, "
                       f"got {list(times)}")
    if not (np.isfinite(T) and T >= (times[-1] if times.size else 0)) or n_points < 2:
        raise ClvError(f"`T` must be >= the last purchase time and `n_points` >= 2; got "
                       f"T={T!r}, n_points={n_points!r}")
    repeat = times[times > 0]
    tau = np.unique(np.concatenate([np.linspace(0, T, n_points), repeat]))
    x = np.searchsorted(repeat, tau, side="right")
    t_x = np.where(x > 0, repeat[np.maximum(x - 1, 0)] if repeat.size else 0.0, 0.0)
    p = fit.p_alive(frequency=x.astype(float), recency=t_x, T=tau)
    out = pd.DataFrame({"time": tau, "frequency": x, "recency": t_x,
                        "p_alive": np.asarray(p, dtype=float)})
    out.attrs = {"purchase_times": repeat.tolist(), "time_unit": fit.time_unit}
    return out


def p_alive_history(fit: Any, *, purchase_times: Any, T: float,  # noqa: N803
                    n_points: int = 200, ax=None):
    """Plot one customer's P(alive) through time, with their purchases marked.

    Parameters as `p_alive_path`, plus ``ax``.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.lines[0]`` is the P(alive) path (its data are `p_alive_path`'s ``time`` and
        ``p_alive``).

    Examples
    --------
    >>> from clvkit.models import BGNBDFit
    >>> fit = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> ax = p_alive_history(fit, purchase_times=[10.0, 30.43], T=38.86)
    >>> ax.get_ylabel()
    'P(alive)'
    """
    path = p_alive_path(fit, purchase_times=purchase_times, T=T, n_points=n_points)
    ax = _axes(ax)
    blue, orange = _colors(2)
    ax.plot(path["time"], path["p_alive"], color=blue, label="P(alive)", drawstyle="default")
    for i, when in enumerate([0.0, *path.attrs["purchase_times"]]):
        ax.axvline(when, color=orange, linestyle=":", linewidth=1,
                   label="Purchase" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    unit = unit_name(fit.time_unit)
    ax.set_xlabel(f"Time since the first purchase ({unit})")
    ax.set_ylabel("P(alive)")
    ax.set_title("Probability the customer is alive, through time")
    ax.legend(frameon=False)
    return ax
