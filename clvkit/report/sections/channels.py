"""CLV by channel section: observed value, CAC, value curves and channel effects.

Observed value and CAC per acquisition group, value curves by cohort, and each channel's
effect on purchase rate and lifetime (a Pareto/NBD with channel covariates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import columns as C
from ...errors import ClvError, ConvergenceError, ReportError
from ..data import ReportData
from ..month import observation_end, observation_stop, observed_upto
from ..page import (
    SectionPage,
    clv_assumptions,
    fmt,
    margin_rate,
    md_text,
    section_page,
    typed_options,
)


def _acquisition_groups(data: ReportData, tx: pd.DataFrame, *, top: int = 6) -> pd.Series:
    """Group of each customer: acquisition channel, else channel or country of the first order.

    Beyond the ``top`` largest groups, customers are pooled as "other".
    """
    if data.has("customers") and "channel" in data.customers:
        labels = data.customers["channel"].astype("object")
        labels.name = "channel"
    else:
        column = next((c for c in (C.CHANNEL, "country") if c in tx), None)
        if column is None:
            raise ReportError("CLV by channel needs an acquisition channel: customers with "
                              "`channel` (synthetic CRM), or a `channel` or `country` column")
        first = tx.sort_values(C.DATE, kind="mergesort").drop_duplicates(C.CUSTOMER_ID)
        labels = first.set_index(C.CUSTOMER_ID)[column].astype("object")
        labels.name = column
    largest = labels.value_counts().index[:top]
    return labels.where(labels.isin(largest), "other")


def grouping_sentence(data: ReportData) -> str:
    """What the page's groups are, in one sentence (as `_acquisition_groups` decides).

    Examples
    --------
    >>> from clvkit.report.data import ReportData
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": [pd.Timestamp("2020-01-01")],
    ...                    "amount": [1.0], "country": ["UK"]})
    >>> data = ReportData(tx, None, None, 1, "x")
    >>> print(grouping_sentence(data))  # doctest: +NORMALIZE_WHITESPACE
    The data have no acquisition channels: customers are grouped by the country of their
    first order.
    """
    if data.has("customers") and "channel" in data.customers:
        return "Customers are grouped by their acquisition channel."
    column = "channel" if C.CHANNEL in data.transactions else "country"
    return (f"The data have no acquisition channels: customers are grouped by the {column} of "
            "their first order.")


def _acquired_and_lines(data: ReportData, tx: pd.DataFrame, month: str
                        ) -> tuple[pd.Series, pd.DataFrame, pd.Timestamp]:
    """Acquisition date per customer, purchase and return lines, and the observation end.

    Acquisition is the customers table's ``acquisition_date`` when the data have
    one, else the first purchase; returns (negative amounts) are included so that
    value is net of returns, as :func:`clvkit.economics.cumulative_margin` expects,
    except returns dated before the customer's acquisition or by customers with no
    purchase (goods bought before the data begin).
    """
    end = observation_stop(data, month)     # the extract date of a month in progress
    if data.has("customers") and "acquisition_date" in data.customers:
        acquired = pd.to_datetime(data.customers["acquisition_date"])
    else:
        acquired = tx.groupby(C.CUSTOMER_ID)[C.DATE].min()
    acquired = acquired.loc[acquired < end]
    lines = tx[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]]
    if data.returns is not None and len(data.returns):
        returned = observed_upto(data.returns, data, month)[[C.CUSTOMER_ID, C.DATE, C.AMOUNT]]
        # a return by a customer with no purchase since acquisition (the goods were bought
        # before the data begin) belongs to no customer's observed value
        since = returned[C.CUSTOMER_ID].map(acquired)
        returned = returned.loc[since.notna() & (returned[C.DATE] >= since)]
        lines = pd.concat([lines, returned], ignore_index=True)
    return acquired, lines, end


def clv_by_channel(data: ReportData, *, month: str, horizon: int = 12,
                   options: dict | None = None) -> pd.DataFrame:
    """Observed value (``horizon`` months of margin net of returns) per acquisition group, vs CAC.

    The ``observed_value`` metric of :mod:`clvkit.metrics`, computed by the same
    function as the course (:func:`clvkit.economics.cumulative_margin`): margin
    net of returns in the first ``horizon`` months after acquisition (months of
    average Gregorian length, 30.44 days), averaged over the customers acquired
    at least ``horizon`` months before the end of ``month``. Acquisition is the
    customers table's ``acquisition_date`` when the data have one, else the first
    purchase. The mean CAC of the group and the ratio (LTV:CAC) are added when the
    data have CAC. Without acquisition channels the customers are grouped by the
    channel or country of their first order (``attrs["group"]`` names it).
    ``ranked`` is False for groups with fewer than ``options["min_group_size"]``
    customers observed over the horizon (and for "other"): they are shown but
    never called best or worst.
    """
    from ...economics import cumulative_margin

    options = typed_options(options)
    tx = observed_upto(data.transactions, data, month)
    groups = _acquisition_groups(data, tx)
    acquired, lines, end = _acquired_and_lines(data, tx, month)
    customers = pd.DataFrame({"acquisition_date": acquired,
                              "group": groups.reindex(acquired.index)}).dropna()
    curve = cumulative_margin(customers, lines, observation_end=end, by="group",
                              margin=margin_rate(data, options), time_unit="M",
                              max_age=horizon - 1)
    at = curve.loc[curve["age"] == horizon - 1].set_index("group")
    value = pd.DataFrame({"customers": customers["group"].value_counts()})
    value["customers_observed"] = (at["customers_observed"].reindex(value.index).fillna(0)
                                   .astype("int64"))
    value["value"] = at["cumulative_margin"].reindex(value.index)
    if data.has("customers") and "cac" in data.customers:
        value["cac"] = data.customers["cac"].groupby(groups).mean()
        value["ltv_to_cac"] = value["value"] / value["cac"]
    value.index.name = groups.name
    value.attrs.update(group=groups.name, horizon=horizon, period="M",
                       value="margin net of returns",
                       assumptions=clv_assumptions(data, options, discounted=False),
                       min_group_size=options["min_group_size"],
                       observation_end=end - pd.Timedelta(days=1))
    value["ranked"] = ((value["customers_observed"] >= options["min_group_size"])
                       & (value.index != "other"))
    return value.sort_values("value", ascending=False, kind="mergesort")


def cohort_value_curves(data: ReportData, *, month: str, options: dict | None = None,
                        max_months: int = 12) -> pd.DataFrame:
    """Mean cumulative margin (net of returns) per customer by months since acquisition.

    One curve per acquisition quarter (columns, e.g. ``"2011Q1"``), computed like
    the ``observed_value`` metric (:func:`clvkit.economics.cumulative_margin`:
    months of 30.44 days since acquisition). Each curve stops at the last age the
    whole quarter's cohort has reached, so the same customers are averaged all
    along it; a quarter with no such age is left out. ``attrs["customers"]``
    holds the counts.
    """
    from ...economics import cumulative_margin

    options = typed_options(options)
    tx = observed_upto(data.transactions, data, month)
    acquired, lines, end = _acquired_and_lines(data, tx, month)
    customers = pd.DataFrame({"acquisition_date": acquired,
                              "quarter": acquired.dt.to_period("Q").astype(str)})
    long = cumulative_margin(customers, lines, observation_end=end, by="quarter",
                             margin=margin_rate(data, options), time_unit="M",
                             max_age=max_months - 1)
    curves = long.pivot(index="age", columns="quarter", values="cumulative_margin")
    counts = long.pivot(index="age", columns="quarter", values="customers_observed")
    # only ages the whole quarter has reached: a curve averaged over fewer and fewer
    # customers changes composition along its length and jumps (the newest cohort drops)
    whole = counts.ge(customers.groupby("quarter").size().reindex(counts.columns), axis=1)
    curves = curves.where(whole).dropna(axis=1, how="all")
    counts = counts.where(whole)[curves.columns]
    curves.index.name = counts.index.name = "months_since_acquisition"
    curves.columns.name = counts.columns.name = "acquisition quarter"
    curves.attrs.update(customers=counts, value="margin net of returns")
    return curves


def clv_by_channel_text(table: pd.DataFrame, *, currency: str, horizon: int,
                        benchmark: float | None = None) -> str:
    """Sentences comparing groups' observed value and observed value:CAC.

    Only groups marked ``ranked`` (at least ``attrs["min_group_size"]``
    customers observed; "other" never) are called best or worst; the text names
    the groups too small to rank.
    """
    minimum = table.attrs.get("min_group_size", 1)
    ranked = (table["ranked"] if "ranked" in table
              else (table["customers_observed"] >= minimum) & (table.index != "other"))
    named = table.loc[ranked, "value"].dropna()
    small = [i for i in table.index[~ranked] if i != "other"]
    via = {"channel": "acquired through", "country": "from"}.get(table.attrs.get("group"),
                                                                 "in group")
    kind = {"channel": "channel", "country": "country"}.get(table.attrs.get("group"), "group")
    ratio = (table.loc[ranked, "ltv_to_cac"].dropna() if "ltv_to_cac" in table
             else pd.Series(dtype=float))
    if len(ratio) >= 2:         # where CAC is known, the ranking follows value:CAC
        best, worst = ratio.idxmax(), ratio.idxmin()
        text = (f"Ranked by observed value:CAC (margin brought per unit of acquisition "
                f"cost), customers {via} **{md_text(best)}** return "
                f"{fmt(ratio[best], 'number', currency)} times their acquisition cost "
                f"({fmt(table.loc[best, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months for a CAC of "
                f"{fmt(table.loc[best, 'cac'], 'currency', currency)}), against "
                f"{fmt(ratio[worst], 'number', currency)} {via} {md_text(worst)}.")
    elif len(named) >= 2:
        best, worst = named.idxmax(), named.idxmin()
        text = (f"A customer {via} **{md_text(best)}** brought "
                f"{fmt(table.loc[best, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[best, 'customers_observed']):,} "
                f"customers observed), against "
                f"{fmt(table.loc[worst, 'value'], 'currency', currency)} {via} "
                f"{md_text(worst)} ({int(table.loc[worst, 'customers_observed']):,} customers).")
    elif len(named) == 1:
        only = named.index[0]
        text = (f"A customer {via} **{md_text(only)}** brought "
                f"{fmt(table.loc[only, 'value'], 'currency', currency)} of margin in their "
                f"first {horizon} months ({int(table.loc[only, 'customers_observed']):,} "
                f"customers observed); no other {kind} is large enough to compare with it.")
    else:
        text = (f"No {kind} has the {minimum:,} customers observed over {horizon} months "
                "needed to compare it with others, so none is called best or worst.")
    if small:
        text += (f" Too few customers to rank (fewer than {minimum:,} observed, shown in the "
                 f"table but not compared): {', '.join(md_text(g) for g in small)}.")
    if "ltv_to_cac" in table:
        if len(ratio):
            text += (f" Among the {kind} groups large enough to rank, observed value:CAC "
                     f"ranges from {fmt(ratio.min(), 'number', currency)} "
                     f"({md_text(ratio.idxmin())}) to {fmt(ratio.max(), 'number', currency)}"
                     f" ({md_text(ratio.idxmax())})")
            if benchmark is not None:
                below = ratio.index[ratio < benchmark]
                text += (f"; {len(below)} fall below the target of "
                         f"{fmt(benchmark, 'number', currency)}"
                         + (f": {', '.join(md_text(c) for c in below)}" if len(below)
                            else ""))
            text += "."
    if table.attrs.get("assumptions"):
        text += f" Observed value is historical gross margin. {table.attrs['assumptions']}"
    return text


#: The displayed tables' header of the observed value (a margin, as the page's intro says).
VALUE_HEADER = "observed value per customer"


def clv_by_channel_display(table: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted channel table: customers, customers observed, value, CAC, and whether ranked."""
    out = table[["customers", "customers_observed"]].rename(
        columns={"customers_observed": "customers observed"})
    out[VALUE_HEADER] = [fmt(v, "currency", currency) for v in table["value"]]
    if "cac" in table:
        out["CAC"] = [fmt(v, "currency", currency) for v in table["cac"]]
        out["observed value:CAC"] = [fmt(v, "number", currency) for v in table["ltv_to_cac"]]
    if "ranked" in table:
        minimum = table.attrs.get("min_group_size", 1)
        out["ranked"] = ["yes" if r else ("no (pooled)" if i == "other"
                                          else f"no (< {minimum:,} customers)")
                         for i, r in zip(table.index, table["ranked"], strict=True)]
    return out


def plot_clv_by_channel(table: pd.DataFrame, *, currency: str, ax=None):
    """:func:`clvkit.plotting.clv_by_channel` with each channel's mean CAC marked (when known)."""
    from ...plotting import clv_by_channel as bars

    ax = bars(table, currency=currency, ax=ax)
    if "cac" in table:
        ordered = table.sort_values("value")
        ax.scatter(ordered["cac"], [str(i) for i in ordered.index], color="black",
                   marker="D", zorder=3, label="mean CAC")
        ax.legend(loc="lower right", fontsize="small")
    return ax


# --------------------------------------------------------------------------- channel effects

#: Fewest repeat buyers a channel needs for its effect on purchase rate and lifetime.
MIN_REPEAT_BUYERS = 10
_SUMMARY_COLUMNS = ("frequency", "recency", "T")


@dataclass(frozen=True)
class ChannelEffects:
    """Each acquisition channel's effect on purchase rate and lifetime, against a reference.

    Attributes
    ----------
    table : DataFrame or None
        Indexed by channel (the reference channel excluded): ``purchase_rate``,
        ``purchase_lower``, ``purchase_upper`` (multiplier of the purchase rate while alive,
        exp(gamma_trans), and its interval) and ``lifetime``, ``lifetime_lower``,
        ``lifetime_upper`` (multiplier of the expected lifetime, exp(-gamma_life)), plus
        ``customers``. None when no estimate is published (``reason`` says why).
    reference : str or None
        The channel the others are compared with (multipliers 1).
    left_out : tuple of str
        Channels with too few customers or repeat buyers, not estimated.
    reason : str or None
        Why there are no estimates, in plain words.
    level : float
        Coverage of the intervals.
    n_customers : int
        Customers in the fit.
    """

    table: pd.DataFrame | None
    reference: str | None
    left_out: tuple[str, ...]
    reason: str | None
    level: float
    n_customers: int


def channel_effects(customers: pd.DataFrame, *, reference: str | None = None,
                    min_customers: int = 30, min_repeat_buyers: int = MIN_REPEAT_BUYERS,
                    level: float = 0.95, time_unit: str = "W") -> ChannelEffects:
    """Each channel's effect on purchase rate and lifetime, with intervals.

    A Pareto/NBD with the acquisition channel as a static covariate of both processes
    (Fader & Hardie 2007, "Incorporating time-invariant covariates into the Pareto/NBD and
    BG/NBD models"; :meth:`clvkit.models.ParetoNBD.fit` with ``covariates``): one 0/1
    dummy per channel against a named reference channel. The purchase rate of a channel
    is the reference's times exp(gamma_trans) and its dropout rate times exp(gamma_life),
    so its expected lifetime is the reference's times exp(-gamma_life). Intervals are
    Wald intervals of the coefficients (observed information), transformed the same way.

    Channels with fewer than ``min_customers`` customers or ``min_repeat_buyers`` repeat
    buyers, customers without a channel and the pooled group ``"other"`` are left out of
    the fit (named in ``left_out``). With fewer than two channels left, or when the model
    does not converge, ``table`` is None and ``reason`` says why.

    Parameters
    ----------
    customers : DataFrame
        One row per customer: ``frequency``, ``recency``, ``T`` (the model summary of
        :func:`clvkit.summary.rfm_summary`, any one time unit) and ``channel``.
    reference : str, optional
        The channel to compare with (default: the channel with the most customers).
    min_customers, min_repeat_buyers : int
        What a channel needs to be estimated.
    level : float, default 0.95
        Coverage of the intervals.
    time_unit : {"D", "W", "M", "Y"}, default "W"
        Unit of ``recency`` and ``T`` (the multipliers do not depend on it).

    Returns
    -------
    ChannelEffects

    Examples
    --------
    >>> from clvkit.summary import rfm_summary
    >>> from clvkit.synthetic import CovariateEffects, generate_crm
    >>> crm = generate_crm(n_customers=2000, months=12, seed=1, effects=CovariateEffects())
    >>> frame = rfm_summary(crm.transactions, observation_end="2023-12-31").join(
    ...     crm.customers["channel"])
    >>> effects = channel_effects(frame, reference="organic")
    >>> effects.reason is None, sorted(effects.table.index)
    (True, ['affiliate', 'email_referral', 'paid_search', 'social'])
    >>> print(effects.table.loc["social", ["purchase_rate", "lifetime"]].round(2).to_string())
    purchase_rate    0.83
    lifetime         0.49
    """
    missing = [c for c in (*_SUMMARY_COLUMNS, "channel") if c not in customers.columns]
    if missing:
        raise ReportError(f"channel effects need the columns {missing} (have "
                          f"{list(customers.columns)}): one row per customer with frequency, "
                          "recency, T and channel")
    label = customers["channel"].astype("object")
    usable = label.notna() & (label != "other")
    label = label[usable].astype(str)
    repeat = customers.loc[usable, "frequency"].to_numpy() > 0
    counts = pd.DataFrame({"customers": label.value_counts(),
                           "repeat": pd.Series(repeat, index=label.index).groupby(label).sum()})
    counts = counts.sort_values(["customers"], ascending=False, kind="mergesort")
    enough = (counts["customers"] >= min_customers) & (counts["repeat"] >= min_repeat_buyers)
    kept, left_out = list(counts.index[enough]), tuple(counts.index[~enough])
    if reference is not None and reference not in kept:
        raise ClvError(f"the reference channel {reference!r} is not among the channels with "
                       f"enough customers ({kept})")

    def none(reason: str, ref: str | None = None) -> ChannelEffects:
        return ChannelEffects(table=None, reference=ref, left_out=left_out, reason=reason,
                              level=level, n_customers=0)

    if len(kept) < 2:
        return none(f"fewer than two channels have {min_customers:,} customers and "
                    f"{min_repeat_buyers:,} repeat buyers")
    ref = reference if reference is not None else kept[0]
    rows = label.index[label.isin(kept).to_numpy()]
    frame = customers.loc[rows, list(_SUMMARY_COLUMNS)]
    from ...models import ParetoNBD

    try:
        fit = ParetoNBD().fit(frame, covariates=pd.DataFrame({"channel": label[rows]}),
                              trans=["channel"], life=["channel"],
                              reference={"channel": ref}, time_unit=time_unit)
    except ConvergenceError:
        return none("the purchase model with channels did not settle on an answer (the data "
                    "are too thin or too irregular to separate the channels)", ref)
    try:
        table = fit.summary(level=level)
    except ClvError:  # a flat likelihood: no standard errors
        return none("the purchase model with channels did not settle on an answer (the data "
                    "are too thin or too irregular to separate the channels)", ref)
    others = [c for c in kept if c != ref]
    trans = table.loc[[f"trans.channel[{c}]" for c in others]]
    life = table.loc[[f"life.channel[{c}]" for c in others]]
    out = pd.DataFrame({
        "purchase_rate": np.exp(trans["estimate"].to_numpy()),
        "purchase_lower": np.exp(trans["lower"].to_numpy()),
        "purchase_upper": np.exp(trans["upper"].to_numpy()),
        "lifetime": np.exp(-life["estimate"].to_numpy()),
        "lifetime_lower": np.exp(-life["upper"].to_numpy()),
        "lifetime_upper": np.exp(-life["lower"].to_numpy()),
        "customers": counts.loc[others, "customers"].to_numpy(),
    }, index=pd.Index(others, name="channel"))
    if not np.isfinite(out.to_numpy(dtype=float)).all():
        return none("the purchase model with channels gave no finite intervals (the data are "
                    "too thin to separate the channels)", ref)
    return ChannelEffects(table=out, reference=ref, left_out=left_out, reason=None,
                          level=level, n_customers=len(rows))


def _clear(low: float, high: float) -> bool:
    """Whether an interval of a multiplier excludes 1 (a difference beyond noise)."""
    return high < 1 or low > 1


def channel_effects_text(effects: ChannelEffects) -> str:
    """Sentences on the channels whose purchase rate or lifetime differs from the reference.

    Only differences whose interval excludes 1 are called differences; the text says when
    there are none, why no estimate is shown, and that these are associations.
    """
    if effects.table is None:
        return (f"Each channel's effect on purchase rate and lifetime is not shown: "
                f"{effects.reason}.")
    t, ref, pct = effects.table, md_text(effects.reference), f"{effects.level:.0%}"
    parts = []
    for col, what in (("purchase", "buy {x} as often while active"),
                      ("lifetime", "stay {x} as long")):
        value = "purchase_rate" if col == "purchase" else "lifetime"
        clear = [c for c in t.index if _clear(t.loc[c, f"{col}_lower"], t.loc[c, f"{col}_upper"])]
        if not clear:
            parts.append(f"No channel's {'purchase rate' if col == 'purchase' else 'lifetime'} "
                         f"differs from {ref}'s beyond noise ({pct} intervals include 1).")
            continue
        parts.append("Compared with customers acquired through **" + ref + "**, " + "; ".join(
            f"customers through **{md_text(c)}** "
            + what.format(x=f"{t.loc[c, value]:.2f} times")
            + f" ({pct} interval {t.loc[c, f'{col}_lower']:.2f} to "
              f"{t.loc[c, f'{col}_upper']:.2f})" for c in clear) + ".")
    text = " ".join(parts)
    text += (f" Estimated by a Pareto/NBD with the channel as a covariate of the purchase rate "
             f"and the lifetime ({effects.n_customers:,} customers); these are associations: "
             "customers choose their channel, so a channel's customers may differ for other "
             "reasons.")
    if effects.left_out:
        text += (" Not estimated (too few customers or repeat buyers): "
                 + ", ".join(md_text(c) for c in effects.left_out) + ".")
    return text


def channel_effects_display(effects: ChannelEffects, table: pd.DataFrame, *,
                            currency: str) -> pd.DataFrame:
    """Observed value beside each channel's purchase-rate and lifetime multipliers.

    ``table`` is :func:`clv_by_channel`'s; the reference channel reads "1 (reference)",
    a channel not estimated "not estimated".
    """
    ref = effects.reference
    out = pd.DataFrame({"customers": table["customers"],
                        VALUE_HEADER: [fmt(v, "currency", currency) for v in table["value"]]},
                       index=table.index)
    pct = f"{effects.level:.0%}"
    for col, name in (("purchase", "purchase rate"), ("lifetime", "expected lifetime")):
        value = "purchase_rate" if col == "purchase" else "lifetime"
        header = f"{name} vs {ref} ({pct} interval)" if ref is not None else name
        cells = []
        for channel in table.index:
            if effects.table is not None and channel in effects.table.index:
                row = effects.table.loc[channel]
                cells.append(f"{row[value]:.2f} ({row[f'{col}_lower']:.2f} to "
                             f"{row[f'{col}_upper']:.2f})")
            elif channel == ref and effects.table is not None:
                cells.append("1 (reference)")
            else:
                cells.append("not estimated")
        out[header] = cells
    return out


def _customer_summary(data: ReportData, tx: pd.DataFrame, groups: pd.Series,
                      month: str) -> pd.DataFrame:
    """frequency, recency, T (weeks) and channel of every customer observed up to ``month``."""
    from ...summary import rfm_summary

    summary = rfm_summary(tx, observation_end=observation_end(data, month), time_unit="W")
    return summary[list(_SUMMARY_COLUMNS)].assign(channel=groups.reindex(summary.index))


def build(data: ReportData, *, month: str, title: str, currency: str,
          benchmarks: dict | None = None, options: dict | None = None) -> SectionPage:
    """The CLV by channel page: observed value and CAC per group, value curves by cohort.

    Returns a :class:`~clvkit.report.page.SectionPage` with texts ``summary`` and
    ``effects``, tables ``channels`` and (where the data have acquisition channels)
    ``effects``, and figures ``channels`` and ``curves``.
    """
    from ...plotting import clv_over_tenure

    options = typed_options(options)
    horizon = options["clv_horizon_months"]
    table = clv_by_channel(data, month=month, horizon=horizon, options=options)
    text = clv_by_channel_text(table, currency=currency, horizon=horizon,
                               benchmark=(benchmarks or {}).get("observed_value_to_cac"))
    heading = ("CLV by country and cohort" if table.attrs.get("group") == "country"
               else None)
    bars = plot_clv_by_channel(table, currency=currency)
    curves = cohort_value_curves(data, month=month, options=options)
    texts = {"summary": f"{grouping_sentence(data)} {text}"}
    tables = {"channels": clv_by_channel_display(table, currency=currency)}
    if table.attrs.get("group") == "channel":   # effects where the data have channels
        tx = observed_upto(data.transactions, data, month)
        effects = channel_effects(_customer_summary(data, tx, _acquisition_groups(data, tx),
                                                    month),
                                  min_customers=options["min_group_size"])
        texts["effects"] = channel_effects_text(effects)
        tables["effects"] = channel_effects_display(effects, table, currency=currency)
    else:
        texts["effects"] = ("Each channel's effect on purchase rate and lifetime is not shown: "
                            "the data have no acquisition channels.")
    return section_page(
        "clv_by_channel", title=title, month=month, text=texts, heading=heading,
        tables=tables,
        figures={"channels": bars, "curves": clv_over_tenure(curves, currency=currency)})
