"""Campaigns section: funnel, dropout, cost and ROI per campaign and medium, contact lift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import columns as C
from ..data import ReportData
from ..month import observation_stop, observed_upto
from ..page import SectionPage, fmt, md_text, section_page, typed_options


def month_touches(data: ReportData, *, month: str, months: int = 1) -> pd.DataFrame:
    """Campaign touches sent in the ``months`` months ending with ``month``.

    Of a month in progress, only the touches sent up to the extract date.
    """
    touches = data.touches
    when = pd.to_datetime(touches["send_date"])
    sent = when.dt.to_period("M")
    end = pd.Period(month, "M")
    return touches.loc[(sent > end - months) & (when < observation_stop(data, month))]


def _campaign_costs(data: ReportData, touches: pd.DataFrame,
                    cost_per_contact: float = 0.0) -> pd.Series:
    """Cost of each touch: the campaign's ``cost_per_send``, else ``cost_per_contact``."""
    per_send = None
    if data.has("campaigns") and "cost_per_send" in data.campaigns:
        per_send = touches["campaign_id"].map(data.campaigns["cost_per_send"])
    if per_send is None:
        per_send = pd.Series(float(cost_per_contact), index=touches.index)
    return per_send.astype(float).fillna(float(cost_per_contact))


def _offer_costs(data: ReportData, touches: pd.DataFrame,
                 offer_cost_per_conversion: float = 0.0) -> pd.Series:
    """Cost of the offer of each touch (discount, free shipping): paid only on conversion.

    The touch's ``offer_cost`` when the data have it, else the campaign's
    ``offer_cost_per_conversion``, else the configured one, times ``converted``.
    """
    converted = touches["converted"].astype(float)
    if "offer_cost" in touches:
        return touches["offer_cost"].astype(float).fillna(0.0)
    per = pd.Series(float(offer_cost_per_conversion), index=touches.index)
    if data.has("campaigns") and "offer_cost_per_conversion" in data.campaigns:
        per = (touches["campaign_id"].map(data.campaigns["offer_cost_per_conversion"])
               .astype(float).fillna(float(offer_cost_per_conversion)))
    return per * converted


def _value_columns(sent, converted, revenue, cost) -> dict:
    """Cost per send, cost per conversion and ROI ((revenue - cost) / cost), NaN when undefined."""
    sent, converted = np.asarray(sent, float), np.asarray(converted, float)
    revenue, cost = np.asarray(revenue, float), np.asarray(cost, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"cost": cost,
                "cost_per_send": np.where(sent > 0, cost / sent, np.nan),
                "cost_per_conversion": np.where(converted > 0, cost / converted, np.nan),
                "roi": np.where(cost > 0, (revenue - cost) / cost, np.nan)}


def campaign_results(data: ReportData, touches: pd.DataFrame, *,
                     cost_per_contact: float = 0.0,
                     offer_cost_per_conversion: float = 0.0) -> pd.DataFrame:
    """One row per campaign of ``touches``: sends, conversions, revenue, cost and ROI (numbers).

    Cost is the send cost -- the campaign's ``cost_per_send`` (synthetic CRM data)
    times its sends, else ``cost_per_contact`` per send -- plus the offer's cost
    (:func:`_offer_costs`: discounts, free shipping, per conversion);
    ``cost_per_conversion`` is cost / conversions and ``roi`` is (attributed
    revenue - cost) / cost; undefined ratios are NaN.

    Examples
    --------
    >>> touches = pd.DataFrame({"campaign_id": ["C1", "C1", "C2"], "customer_id": [1, 2, 1],
    ...     "converted": [True, False, False], "unsubscribed": [False, False, True],
    ...     "revenue": [30.0, 0.0, 0.0]})
    >>> campaigns = pd.DataFrame({"name": ["a", "b"], "tactic": ["d", "n"],
    ...     "message": ["A", "B"], "medium": ["email", "sms"], "cost_per_send": [0.5, 0.1]},
    ...     index=pd.Index(["C1", "C2"], name="campaign_id"))
    >>> data = ReportData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), 0, "x",
    ...                   campaigns=campaigns, touches=touches)
    >>> campaign_results(data, touches)[["sent", "cost", "cost_per_conversion", "roi"]]
                 sent  cost  cost_per_conversion   roi
    campaign_id
    C1              2   1.0                  1.0  29.0
    C2              1   0.1                  NaN  -1.0
    >>> campaign_results(data, touches, offer_cost_per_conversion=5.0).loc["C1", "roi"]
    np.float64(4.0)
    """
    send = _campaign_costs(data, touches, cost_per_contact)
    offer = _offer_costs(data, touches, offer_cost_per_conversion)
    grouped = touches.assign(_cost=send + offer, _offer=offer).groupby("campaign_id", sort=True)
    out = pd.DataFrame({"sent": grouped.size(), "converted": grouped["converted"].sum(),
                        "unsubscribed": grouped["unsubscribed"].sum(),
                        "revenue": grouped["revenue"].sum()})
    campaigns = data.campaigns.reindex(out.index)
    for position, column in enumerate(("name", "tactic", "message", "medium")):
        if column in campaigns:
            out.insert(position, column, campaigns[column].astype("object"))
    out["conversion_rate"] = out["converted"] / out["sent"]
    out["offer_cost"] = grouped["_offer"].sum()
    for key, values in _value_columns(out["sent"], out["converted"], out["revenue"],
                                      grouped["_cost"].sum()).items():
        out[key] = values
    return out


def campaign_table(data: ReportData, touches: pd.DataFrame, *, currency: str,
                   cost_per_contact: float = 0.0,
                   offer_cost_per_conversion: float = 0.0) -> pd.DataFrame:
    """Formatted :func:`campaign_results` ("n/a" where a ratio is undefined).

    Name, tactic, message, medium, sends, conversions, revenue, cost per send,
    cost per conversion and ROI.
    """
    res = campaign_results(data, touches, cost_per_contact=cost_per_contact,
                           offer_cost_per_conversion=offer_cost_per_conversion)
    out = res[[c for c in ("name", "tactic", "message", "medium", "sent", "converted",
                           "unsubscribed") if c in res]].copy()
    out["conversion"] = [fmt(v, "percent", currency) for v in res["conversion_rate"]]
    out["revenue"] = [fmt(v, "currency", currency) for v in res["revenue"]]
    out["cost per send"] = [fmt(v, "currency", currency, 3) for v in res["cost_per_send"]]
    out["offer cost"] = [fmt(v, "currency", currency) for v in res["offer_cost"]]
    out["cost per conversion"] = [fmt(v, "currency", currency)
                                  for v in res["cost_per_conversion"]]
    out["ROI"] = [fmt(v, "percent", currency) for v in res["roi"]]
    return out


def medium_table(data: ReportData, touches: pd.DataFrame, *, currency: str,
                 cost_per_contact: float = 0.0,
                 offer_cost_per_conversion: float = 0.0) -> pd.DataFrame | None:
    """E-mail vs SMS (the campaigns' ``medium``); None when the data have no medium.

    Sends, open, conversion and unsubscribe rates, revenue, cost per conversion and ROI.
    """
    if "medium" not in touches:
        return None
    cost = (_campaign_costs(data, touches, cost_per_contact)
            + _offer_costs(data, touches, offer_cost_per_conversion))
    grouped = touches.assign(_cost=cost).groupby(touches["medium"].astype("object"), sort=True)
    sent, converted = grouped.size(), grouped["converted"].sum()
    revenue = grouped["revenue"].sum()
    values = _value_columns(sent, converted, revenue, grouped["_cost"].sum())
    out = pd.DataFrame({"sent": sent})
    if "opened" in touches:
        out["opened"] = [fmt(v, "percent", currency) for v in grouped["opened"].mean()]
    out["converted"] = [fmt(v, "percent", currency) for v in converted / sent]
    out["unsubscribed"] = [fmt(v, "percent", currency)
                           for v in grouped["unsubscribed"].mean()]
    out["revenue"] = [fmt(v, "currency", currency) for v in revenue]
    out["cost per conversion"] = [fmt(v, "currency", currency)
                                  for v in values["cost_per_conversion"]]
    out["ROI"] = [fmt(v, "percent", currency) for v in values["roi"]]
    out.index.name = "medium"
    return out


def contact_lift(data: ReportData, touches: pd.DataFrame, *, month: str) -> pd.DataFrame | None:
    """Purchase rate in ``month`` of existing customers contacted vs not contacted that month.

    Existing customers are those whose first purchase is before ``month``;
    contacted ones received at least one touch in ``month`` (``touches`` should
    hold the month's touches). Returns rows ``contacted`` and ``not contacted``
    with ``customers``, ``buyers`` and ``purchase_rate`` and ``attrs["lift"]``
    (difference in points), or None when either group is empty. Contact was not
    randomised: the difference is an association, not an effect.
    """
    tx = observed_upto(data.transactions, data, month)
    start = pd.Period(month, "M").start_time
    first = tx.groupby(C.CUSTOMER_ID)[C.DATE].min()
    existing = first.index[first < start]
    in_month = set(tx.loc[tx[C.DATE] >= start, C.CUSTOMER_ID])
    contacted = existing.isin(set(touches["customer_id"]))
    rows = {}
    for label, mask in (("contacted", contacted), ("not contacted", ~contacted)):
        ids = existing[mask]
        if not len(ids):
            return None
        buyers = int(sum(i in in_month for i in ids))
        rows[label] = {"customers": len(ids), "buyers": buyers, "purchase_rate": buyers / len(ids)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "existing customers"
    out.attrs["lift"] = (out.loc["contacted", "purchase_rate"]
                         - out.loc["not contacted", "purchase_rate"])
    return out


def contact_lift_display(lift: pd.DataFrame | None, *, currency: str = "GBP"):
    """Formatted :func:`contact_lift` (purchase rate in percent), or None."""
    if lift is None:
        return None
    out = lift[["customers", "buyers"]].copy()
    out["purchase rate"] = [fmt(v, "percent", currency) for v in lift["purchase_rate"]]
    return out


def contact_lift_text(lift: pd.DataFrame | None, *, month: str) -> str:
    """One paragraph on :func:`contact_lift`, with the caveat that contact was not randomised."""
    label = pd.Period(month, "M").strftime("%B %Y")
    if lift is None:
        return (f"No comparison with customers not contacted: in {label} either every existing "
                "customer was contacted or none was.")
    c, n = lift.loc["contacted"], lift.loc["not contacted"]
    return (f"In {label}, {fmt(c['purchase_rate'], 'percent', 'GBP')} of the "
            f"{int(c['customers']):,} existing customers who were contacted bought, against "
            f"{fmt(n['purchase_rate'], 'percent', 'GBP')} of the {int(n['customers']):,} who "
            f"were not: a difference of {lift.attrs['lift'] * 100:+.1f} points. Who was "
            "contacted was not decided at random (campaigns target chosen customers), so this "
            "difference is an association, not the campaigns' effect.")


def roi_text(lift: pd.DataFrame | None, *, currency: str = "GBP",
             offer_cost_per_conversion: float = 0.0, has_offer_costs: bool = False) -> str:
    """The attribution rule, what ROI counts, and a warning when contact showed no lift.

    Examples
    --------
    >>> lift = pd.DataFrame({"purchase_rate": [0.10, 0.12]},
    ...                     index=["contacted", "not contacted"])
    >>> lift.attrs["lift"] = -0.02
    >>> "bought no more than" in roi_text(lift)
    True
    """
    offer = ("the offer's cost recorded in the data (discounts, free shipping)"
             if has_offer_costs else
             f"an offer cost of {fmt(offer_cost_per_conversion, 'currency', currency)} per "
             "conversion (`options.offer_cost_per_conversion`: discounts, free shipping)"
             if offer_cost_per_conversion else
             "no offer cost (none is configured: set `options.offer_cost_per_conversion` for "
             "the discounts and free shipping a conversion costs, or ROI is overstated)")
    text = ("**Attribution:** a conversion and its revenue count for a campaign as the CRM "
            "recorded them on the touch (the touch's `converted` and `revenue`); a customer "
            "touched by several campaigns can count for each. **ROI** = (attributed revenue "
            f"- cost) / cost, where cost is the send cost plus {offer}.")
    if lift is not None and lift.attrs.get("lift", 0.0) <= 0:
        c, n = lift.loc["contacted", "purchase_rate"], lift.loc["not contacted", "purchase_rate"]
        text += (f" **Read the ROI with care:** contacted customers bought no more than "
                 f"uncontacted ones this month ({fmt(c, 'percent', 'GBP')} against "
                 f"{fmt(n, 'percent', 'GBP')}), so the attributed revenue may well have come "
                 "without the campaigns.")
    return text


def campaign_funnel(touches: pd.DataFrame) -> pd.DataFrame:
    """Funnel by tactic and message (:func:`clvkit.crm.funnel`), stage rates in columns."""
    from ...crm import funnel

    f = funnel(touches, by=("tactic", "message"))
    return f["overall_rate"].unstack("stage")[list(f.index.get_level_values("stage").unique())]


def campaign_dropout(touches: pd.DataFrame) -> pd.DataFrame:
    """Unsubscribe rate per send by tactic and message, with Wilson intervals."""
    from ...crm import dropout

    return dropout(touches, by=("tactic", "message"))


def campaign_text(touches: pd.DataFrame, funnel_table: pd.DataFrame, drop: pd.DataFrame, *,
                  month: str, currency: str, months: int = 1) -> str:
    """Sentences on the month's sends, then the best conversion and highest dropout by tactic.

    ``funnel_table`` and ``drop`` are the tables the page shows (over the
    ``months`` months ending with ``month``): the best and worst named here are
    their maxima, so text and table agree.
    """
    label = pd.Period(month, "M").strftime("%B %Y")
    first = (pd.Period(month, "M") - (months - 1)).strftime("%B %Y")
    period = label if months == 1 else f"{first} to {label}"
    conv = funnel_table["converted"]
    best, worst = conv.idxmax(), drop["dropout_rate"].idxmax()
    return (f"In {label} {touches['campaign_id'].nunique():,} campaigns were sent "
            f"{len(touches):,} times to {touches['customer_id'].nunique():,} customers: "
            f"{fmt(touches['opened'].mean(), 'percent', currency)} opened, "
            f"{fmt(touches['converted'].mean(), 'percent', currency)} bought, for "
            f"{fmt(touches['revenue'].sum(), 'currency', currency)} of attributed revenue, and "
            f"{fmt(touches['unsubscribed'].mean(), 'percent', currency)} unsubscribed.\n\n"
            f"By tactic and message over {period} (the tables below): best conversion per "
            f"send **{md_text(best[0])}, message {md_text(best[1])}** "
            f"({fmt(conv.max(), 'percent', currency)}); highest dropout "
            f"**{md_text(worst[0])}, message {md_text(worst[1])}** "
            f"({fmt(drop['dropout_rate'].max(), 'percent', currency, 2)} of sends unsubscribed).")


def campaign_dropout_display(drop: pd.DataFrame, *, currency: str) -> pd.DataFrame:
    """Formatted :func:`campaign_dropout`: sends, unsubscribes, rate and interval in percent."""
    out = drop[["sent", "dropouts"]].copy()
    out["dropout rate"] = [fmt(v, "percent", currency, 2) for v in drop["dropout_rate"]]
    out["95% interval"] = [f"{fmt(lo, 'percent', currency, 2)} to "
                           f"{fmt(hi, 'percent', currency, 2)}"
                           for lo, hi in zip(drop["low"], drop["high"], strict=True)]
    return out


def build(data: ReportData, *, month: str, title: str, currency: str,
          options: dict | None = None) -> SectionPage:
    """The campaigns page: funnel and dropout by tactic, A/B, costs and ROI, e-mail vs SMS, lift.

    Returns a :class:`~clvkit.report.page.SectionPage` with texts
    ``summary`` and ``lift``, tables ``dropout``, ``campaigns``, ``mediums`` (None
    when the data do not say the medium) and ``lift`` (None without data), and
    figures ``funnel``, ``messages`` and ``dropout``.
    """
    from ... import crm, plotting

    options = typed_options(options)
    months, cost = options["campaign_months"], options["cost_per_contact"]
    offer = options["offer_cost_per_conversion"]
    touches = month_touches(data, month=month)
    window = month_touches(data, month=month, months=months)
    funnel_table = campaign_funnel(window)
    drop = campaign_dropout(window)
    text = campaign_text(touches, funnel_table, drop, month=month, currency=currency,
                         months=months)
    figures = {
        "funnel": plotting.funnel_chart(crm.funnel(window, by=("tactic", "message")),
                                        hue="tactic"),
        "messages": plotting.message_comparison(crm.compare_messages(window,
                                                                     stage="converted")),
        "dropout": plotting.dropout_chart(drop),
    }
    lift = contact_lift(data, touches, month=month)
    return section_page(
        "campaigns", title=title, month=month,
        text={"summary": text, "lift": contact_lift_text(lift, month=month),
              "roi": roi_text(lift, currency=currency, offer_cost_per_conversion=offer,
                              has_offer_costs="offer_cost" in touches
                              or (data.has("campaigns")
                                  and "offer_cost_per_conversion" in data.campaigns))},
        tables={"dropout": campaign_dropout_display(drop, currency=currency),
                "campaigns": campaign_table(data, touches, currency=currency,
                                            cost_per_contact=cost,
                                            offer_cost_per_conversion=offer),
                "mediums": medium_table(data, window, currency=currency, cost_per_contact=cost,
                                        offer_cost_per_conversion=offer),
                "lift": contact_lift_display(lift, currency=currency)},
        figures=figures)
