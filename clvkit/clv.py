"""Per-customer CLV from a transaction model and a spend model, with explicit units.

lifetimes' ``customer_lifetime_value(..., time=12, freq=...)`` counts ``time`` in "months"
of 30 data units when ``freq="D"`` (its default) and 4.345 when ``freq="W"``; its
documentation calls it with ``time=12`` and the default ``freq`` on the *weekly* CDNOW
summary, so the "12-month" CLV there spans 12 x 30 = 360 weeks. Here the horizon carries
its own unit (``horizon_unit``), the discount rate its own period (``discount_period``),
and both are converted to the model's ``time_unit`` (the unit of the data's durations)
with `clvkit.units.convert_duration` (mean Gregorian months, never "30 days" or
"4.345 weeks"); a summary in another unit than the model is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ._validate import check_nonnegative, check_one_of, check_positive
from .errors import ClvError
from .units import TIME_UNITS, convert_duration

__all__ = ["customer_lifetime_value", "new_customer_clv", "cash_flows", "write_cash_flows",
           "MAX_DISCOUNT_STEPS"]

#: Most discounting steps (one model prediction each) a CLV may take: 1,200 steps are
#: 100 years of monthly or 23 years of weekly discounting (about 20 s for the 2,357 CDNOW
#: customers on a busy 2-core machine; longer horizons belong in a coarser unit).
MAX_DISCOUNT_STEPS = 1_200


def _discount_steps(horizon: float, horizon_unit: str, discount_period: str,
                    model_unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Ends of the discounting steps, in discount periods and in the model's time unit."""
    n_periods = convert_duration(float(horizon), from_unit=horizon_unit, to_unit=discount_period)
    if not n_periods <= MAX_DISCOUNT_STEPS:  # also catches an overflow to inf
        raise ClvError(
            f"`horizon`={horizon:g} {horizon_unit!r} is {n_periods:,.0f} discounting periods "
            f"of `discount_period`={discount_period!r}, above the limit of "
            f"{MAX_DISCOUNT_STEPS:,} steps (one model prediction each): use a coarser "
            "`discount_period` (e.g. 'Y') or a shorter horizon")
    ends = np.minimum(np.arange(1, int(np.ceil(n_periods - 1e-9)) + 1), n_periods)
    return ends, convert_duration(ends, from_unit=discount_period, to_unit=model_unit)


def _model_unit(fit: Any) -> str:
    unit = getattr(fit, "time_unit", None)
    if unit not in TIME_UNITS:
        raise ClvError("`transaction_model_fit` has no valid `time_unit`; fit it on a summary "
                       "with attrs['time_unit'] or pass time_unit= to fit")
    return unit


def customer_lifetime_value(
    transaction_model_fit: Any,
    spend_model_fit: Any,
    summary: pd.DataFrame,
    *,
    horizon: float,
    horizon_unit: str,
    discount_rate: float,
    discount_period: str,
    covariates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Discounted expected value of each customer's purchases over the next ``horizon``.

    The horizon is cut into steps of one discounting period (``discount_period``); step k
    (k = 1, 2, ...) contributes the expected purchases in that step, E[Y(t_k)] - E[Y(t_{k-1})]
    from the transaction model, times the expected spend per purchase from the spend model,
    discounted by ``(1 + discount_rate) ** k``. A last partial step (horizon not a whole
    number of periods) is discounted with its fractional exponent. This is the discrete
    sum used by lifetimes' ``customer_lifetime_value`` and by Fader, Hardie & Lee (2005,
    JMR), with the units made explicit.

    Parameters
    ----------
    transaction_model_fit : fitted BG/NBD, MBG/NBD or Pareto/NBD result
        Anything with ``conditional_expected_purchases(summary, t=...)`` and ``time_unit``.
    spend_model_fit : GammaGammaFit
        Anything with ``conditional_expected_spend(summary)``.
    summary : DataFrame
        RFM summary (``frequency, recency, T, monetary_value``) in the transaction model's
        time unit, indexed by ``customer_id``.
    horizon : float
        Length of the CLV horizon, in ``horizon_unit``.
    horizon_unit : {"D", "W", "M", "Y"}
        Unit of ``horizon`` (independent of the model's ``time_unit``; converted).
    discount_rate : float
        Discount rate per ``discount_period`` (e.g. 0.01 per month).
    discount_period : {"D", "W", "M", "Y"}
        Period of the discount rate, which is also the step of the sum.
    covariates : DataFrame, optional
        For a transaction model fitted with covariates: the customers' covariates, indexed
        like ``summary`` (default: the fit's own customers').

    Returns
    -------
    DataFrame
        Indexed like ``summary``: ``expected_purchases`` (undiscounted, over the horizon),
        ``discounted_purchases``, ``expected_spend`` and ``clv``; ``attrs`` record the
        horizon, units and discount rate.

    Raises
    ------
    ClvError
        Invalid horizon, unit or rate; a horizon of more than `MAX_DISCOUNT_STEPS`
        discounting periods (checked before any work; use a coarser ``discount_period``).
    DataValidationError
        Invalid customers in ``summary`` (negative or non-integer frequency, recency
        outside [0, T], NaN, non-positive spend of a repeat buyer, ...), raised by the
        models' own input checks before the first step is computed.

    Examples
    --------
    One year at 1% per month for the first CDNOW customers (models fitted in weeks):

    >>> from clvkit.models import BGNBD, GammaGamma
    >>> s = pd.read_csv("data/cdnow_customers_summary_with_transactions.csv", index_col="ID")
    >>> s = s.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    >>> s.attrs["time_unit"] = "W"
    >>> clv = customer_lifetime_value(BGNBD().fit(s), GammaGamma().fit(s), s.head(3),
    ...                               horizon=12, horizon_unit="M", discount_rate=0.01,
    ...                               discount_period="M")
    >>> clv["clv"].round(2).tolist()
    [36.3, 4.64, 8.35]
    """
    check_positive("horizon", horizon)
    check_one_of("horizon_unit", horizon_unit, TIME_UNITS)
    check_nonnegative("discount_rate", discount_rate)
    check_one_of("discount_period", discount_period, TIME_UNITS)
    model_unit = _model_unit(transaction_model_fit)
    if not isinstance(summary, pd.DataFrame):
        raise ClvError(f"`summary` must be a DataFrame, got {type(summary).__name__}")

    ends, ends_model = _discount_steps(horizon, horizon_unit, discount_period, model_unit)

    # the models validate the customers on the first call, before any step is summed
    spend = spend_model_fit.conditional_expected_spend(summary).to_numpy()
    cumulative = np.zeros(len(summary))
    discounted = np.zeros(len(summary))
    inputs = {} if covariates is None else {"covariates": covariates}
    for end, t in zip(ends, ends_model, strict=True):  # memory: two columns, not one per step
        current = transaction_model_fit.conditional_expected_purchases(
            summary, t=t, **inputs).to_numpy()
        discounted += (current - cumulative) * (1.0 + discount_rate) ** -end
        cumulative = current
    out = pd.DataFrame(
        {
            "expected_purchases": cumulative,
            "discounted_purchases": discounted,
            "expected_spend": spend,
            "clv": discounted * spend,
        },
        index=summary.index,
    )
    out.attrs = {"horizon": horizon, "horizon_unit": horizon_unit, "model_time_unit": model_unit,
                 "discount_rate": discount_rate, "discount_period": discount_period}
    return out


def new_customer_clv(
    transaction_model_fit: Any,
    spend_model_fit: Any,
    *,
    horizon: float,
    horizon_unit: str,
    discount_rate: float,
    discount_period: str,
    margin: float = 1.0,
    include_first_purchase: bool = True,
    covariates: Any = None,
) -> pd.Series:
    """Expected discounted value of a customer acquired today (to compare with acquisition spend).

    The customer's first purchase happens today (t = 0, undiscounted, counted when
    ``include_first_purchase``); the repeat purchases follow the transaction model's
    unconditional expectation E[X(t)] (BG/NBD: FHL 2005 eq. (9); MBG/NBD: Batislam et al.
    2007 eq. (7); Pareto/NBD: note 009 eq. (27)), summed by discount period as in
    `customer_lifetime_value`: step k adds E[X(t_k)] - E[X(t_{k-1})] discounted by
    (1 + discount_rate)^-k (a last partial step by its fractional exponent). Each purchase
    is worth the Gamma-Gamma population mean spend p gamma / (q - 1) (Fader & Hardie's
    Gamma-Gamma note, eq. (3)) times ``margin``:

        clv = margin * mean_spend * ([include_first_purchase] + discounted repeat purchases).

    Parameters
    ----------
    transaction_model_fit : fitted BG/NBD, MBG/NBD or Pareto/NBD result
        Anything with ``expected_purchases_new_customer(t)`` and ``time_unit`` (the unit
        of the model's durations; the horizon and the discount period are converted to it).
    spend_model_fit : GammaGammaFit
        Anything with ``mean_spend`` (the population mean spend per transaction).
    horizon : float
        Length of the horizon, in ``horizon_unit``.
    horizon_unit : {"D", "W", "M", "Y"}
        Unit of ``horizon``.
    discount_rate : float
        Discount rate per ``discount_period`` (e.g. 0.01 a month), >= 0.
    discount_period : {"D", "W", "M", "Y"}
        Period of the discount rate, which is also the step of the sum.
    margin : float, default 1
        Share of spend that is profit (1 gives revenue).
    include_first_purchase : bool, default True
        Count the acquisition purchase itself (made today).
    covariates : mapping or one-row DataFrame, optional
        For a transaction model fitted with covariates (then required): the new customer's
        covariates; the model of that customer is ``fit.customer_model(covariates)``.

    Returns
    -------
    Series
        ``expected_purchases`` (repeat purchases over the horizon, undiscounted),
        ``discounted_purchases`` (repeat purchases, discounted), ``first_purchase`` (1 or 0),
        ``mean_spend``, ``margin`` and ``clv``; ``attrs`` record the horizon, units and rate.

    Raises
    ------
    ClvError
        Invalid horizon, unit, rate or margin; a spend model whose mean spend is infinite
        (q <= 1); a horizon of more than `MAX_DISCOUNT_STEPS` discount periods; a
        transaction model with covariates without ``covariates=``.

    Examples
    --------
    CDNOW models (fitted in weeks), one year at 1% a month, 30% margin:

    >>> from clvkit.models import BGNBDFit, GammaGammaFit
    >>> bg = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit=None)
    >>> v = new_customer_clv(bg, gg, horizon=1, horizon_unit="Y", discount_rate=0.01,
    ...                      discount_period="M", margin=0.3)
    >>> v.round(3).to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'expected_purchases': 1.449, 'discounted_purchases': 1.373, 'first_purchase': 1.0,
     'mean_spend': 35.219, 'margin': 0.3, 'clv': 25.076}
    """
    check_positive("horizon", horizon)
    check_one_of("horizon_unit", horizon_unit, TIME_UNITS)
    check_nonnegative("discount_rate", discount_rate)
    check_one_of("discount_period", discount_period, TIME_UNITS)
    check_nonnegative("margin", margin)
    if covariates is not None:  # the models of this customer; a model without covariates refuses
        models = [transaction_model_fit, spend_model_fit]
        for i, fit in enumerate(models):
            customer_model = getattr(fit, "customer_model", None)
            if customer_model is not None:
                models[i] = customer_model(covariates)
            elif i == 0:
                raise ClvError(f"the {fit.model_name} has no covariates: drop `covariates=`")
        transaction_model_fit, spend_model_fit = models
    for role, fit in (("transaction", transaction_model_fit), ("spend", spend_model_fit)):
        if hasattr(fit, "customer_model"):    # a fit with covariates
            raise ClvError(f"the {role} model has covariates: a new customer's value depends on "
                           "them; pass the new customer's `covariates=` (e.g. {'Channel': 1}) or "
                           f"the model of that customer, fit.customer_model(...), as the {role} "
                           "model")
    model_unit = _model_unit(transaction_model_fit)
    mean_spend = float(spend_model_fit.mean_spend)
    if not np.isfinite(mean_spend):
        raise ClvError(f"the spend model's population mean spend is {mean_spend} (Gamma-Gamma "
                       "q <= 1): a new customer's value is undefined; check the spend data")
    ends, ends_model = _discount_steps(horizon, horizon_unit, discount_period, model_unit)
    cumulative = np.atleast_1d(transaction_model_fit.expected_purchases_new_customer(ends_model))
    increments = np.diff(np.concatenate([[0.0], cumulative]))
    discounted = float(np.sum(increments * (1.0 + discount_rate) ** -ends))
    first = 1.0 if include_first_purchase else 0.0
    out = pd.Series({"expected_purchases": float(cumulative[-1]),
                     "discounted_purchases": discounted, "first_purchase": first,
                     "mean_spend": mean_spend, "margin": float(margin),
                     "clv": float(margin) * mean_spend * (first + discounted)}, name="new_customer")
    out.attrs = {"horizon": horizon, "horizon_unit": horizon_unit,
                 "model_time_unit": model_unit, "discount_rate": discount_rate,
                 "discount_period": discount_period}
    return out


def cash_flows(
    transaction_model_fit: Any,
    spend_model_fit: Any,
    summary: pd.DataFrame,
    *,
    horizon: float,
    horizon_unit: str,
    discount_rate: float,
    discount_period: str,
    margin: float = 1.0,
    chunk_size: int = 100_000,
) -> Iterator[pd.DataFrame]:
    """Expected cash flow of every customer in every discount period, in chunks of customers.

    A customer x period table (pymc-marketing #218, #1097) in long form: for each customer and
    each period k = 1, 2, ... of ``discount_period`` up to ``horizon``, the expected purchases
    in the period (E[Y(t_k)] - E[Y(t_{k-1})], the model's conditional expectation), the
    cash flow (purchases x expected spend per purchase x ``margin``) and its value discounted
    by (1 + discount_rate)^-k, exactly the terms that `customer_lifetime_value` sums. The
    table is yielded ``chunk_size`` customers at a time, so 10 million customers never sit
    in memory at once: write each chunk (`write_cash_flows`) or aggregate it.

    Parameters
    ----------
    transaction_model_fit : fitted BG/NBD, MBG/NBD or Pareto/NBD result
        Anything with ``conditional_expected_purchases(summary, t=...)`` and ``time_unit``.
    spend_model_fit : GammaGammaFit
        Anything with ``conditional_expected_spend(summary)``.
    summary : DataFrame
        RFM summary in the transaction model's time unit, indexed by ``customer_id``.
    horizon : float
        Length of the horizon, in ``horizon_unit``.
    horizon_unit : {"D", "W", "M", "Y"}
        Unit of ``horizon``.
    discount_rate : float
        Discount rate per ``discount_period``, >= 0.
    discount_period : {"D", "W", "M", "Y"}
        Period of the rate and of the table's rows.
    margin : float, default 1
        Share of spend that is profit.
    chunk_size : int, default 100,000
        Customers per yielded DataFrame.

    Yields
    ------
    DataFrame
        Columns ``customer_id`` (the summary's index), ``period`` (1, 2, ...), ``period_end``
        (in ``discount_period`` units; the last may be partial), ``expected_purchases``,
        ``cash_flow`` and ``discounted_cash_flow``; rows ordered by customer then period.
        ``attrs`` record the horizon, units, rate and margin.

    Raises
    ------
    ClvError
        Invalid horizon, units, rate, margin or ``chunk_size``; too many periods.
    DataValidationError
        Invalid customers (the models' `check_customers`), raised for the first chunk
        that holds one.

    Examples
    --------
    >>> from clvkit.datasets import cdnow_summary
    >>> from clvkit.models import BGNBDFit, GammaGammaFit
    >>> bg = BGNBDFit.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaFit.from_params(p=6.25, q=3.74, gamma=15.44, time_unit="W")
    >>> s = cdnow_summary(with_spend=True).head(2)
    >>> s.attrs["time_unit"] = "W"
    >>> first = next(cash_flows(bg, gg, s, horizon=3, horizon_unit="M", discount_rate=0.01,
    ...                         discount_period="M"))
    >>> first[["customer_id", "period", "discounted_cash_flow"]].round(3).values.tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['1', 1, 3.904], ['1', 2, 3.69], ['1', 3, 3.499], ['2', 1, 0.486], ['2', 2, 0.462],
     ['2', 3, 0.441]]
    """
    check_positive("horizon", horizon)
    check_one_of("horizon_unit", horizon_unit, TIME_UNITS)
    check_nonnegative("discount_rate", discount_rate)
    check_one_of("discount_period", discount_period, TIME_UNITS)
    check_nonnegative("margin", margin)
    if not (isinstance(chunk_size, int | np.integer) and chunk_size >= 1):
        raise ClvError(f"`chunk_size` must be a whole number >= 1, got {chunk_size!r}")
    model_unit = _model_unit(transaction_model_fit)
    if not isinstance(summary, pd.DataFrame):
        raise ClvError(f"`summary` must be a DataFrame, got {type(summary).__name__}")
    ends, ends_model = _discount_steps(horizon, horizon_unit, discount_period, model_unit)
    factors = (1.0 + discount_rate) ** -ends
    k = len(ends)
    attrs = {"horizon": horizon, "horizon_unit": horizon_unit, "model_time_unit": model_unit,
             "discount_rate": discount_rate, "discount_period": discount_period,
             "margin": margin}
    id_name = summary.index.name or "customer_id"
    return _cash_flow_chunks(transaction_model_fit, spend_model_fit, summary, ends,
                             ends_model, factors, k, float(margin), int(chunk_size), attrs,
                             id_name)


def _cash_flow_chunks(tfit: Any, sfit: Any, summary: pd.DataFrame, ends: np.ndarray,
                      ends_model: np.ndarray, factors: np.ndarray, k: int, margin: float,
                      chunk_size: int, attrs: dict[str, Any],
                      id_name: str) -> Iterator[pd.DataFrame]:
    """The generator behind `cash_flows` (arguments checked before the first chunk)."""
    for start in range(0, len(summary), chunk_size):
        chunk = summary.iloc[start:start + chunk_size]
        chunk.attrs = dict(summary.attrs)
        spend = sfit.conditional_expected_spend(chunk).to_numpy()
        cumulative = np.column_stack(
            [tfit.conditional_expected_purchases(chunk, t=t).to_numpy() for t in ends_model])
        per_period = np.diff(cumulative, axis=1, prepend=0.0)
        flow = per_period * (spend * margin)[:, None]
        out = pd.DataFrame({
            id_name: np.repeat(chunk.index.to_numpy(), k),
            "period": np.tile(np.arange(1, k + 1), len(chunk)),
            "period_end": np.tile(ends, len(chunk)),
            "expected_purchases": per_period.ravel(),
            "cash_flow": flow.ravel(),
            "discounted_cash_flow": (flow * factors[None, :]).ravel(),
        })
        out.attrs = dict(attrs)
        yield out


def write_cash_flows(chunks: Iterable[pd.DataFrame], path: Any) -> int:
    """Write the chunks of `cash_flows` to one Parquet file, one chunk at a time.

    Parameters
    ----------
    chunks : iterable of DataFrame
        As yielded by `cash_flows` (same columns in every chunk).
    path : str or path-like
        Parquet file to create; an existing file is refused (never overwritten).
        Written through `clvkit.outputs` under a temporary name and renamed when
        complete, so a failed run leaves nothing at ``path``.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ClvError
        ``path`` exists.
    """
    import pathlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    from . import outputs

    target = pathlib.Path(path)
    if os.path.lexists(target):
        raise ClvError(f"{target} exists: cash_flows never overwrites a file; choose a new path "
                       "or remove it yourself")
    outputs.check_output_file(target)
    rows = 0
    # written under a temporary name in the same folder and renamed when complete
    # (clvkit.outputs): a failed or killed run never leaves a half-written file at `path`
    with outputs.atomic_output(target) as partial:
        writer = None
        try:
            for chunk in chunks:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(partial, table.schema)
                writer.write_table(table)
                rows += len(chunk)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ClvError("cash_flows yielded no rows: nothing to write")
    return rows
