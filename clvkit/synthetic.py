"""Seeded synthetic CRM data with known ground truth.

No open dataset has acquisition channels and costs, e-mail opens and clicks,
landing-page visits, conversions, returns and margins together, so clvkit
generates them. Every number is drawn from a documented model whose parameters
are returned with the data (:class:`CrmTruth`), so tests and students can check
that an analysis recovers the truth within sampling error.

The generating model (all durations in weeks unless a name says otherwise)

* **Acquisition.** Acquisition instants are uniform over the observation window
  ``[start, start + months)`` (calendar months); each customer's first order is
  placed at that instant. The channel is drawn from ``CHANNEL_MIX``; the
  acquisition cost is the channel's CAC (``CAC_BY_CHANNEL``, exact, no noise).
  The business segment is drawn from a channel-specific mix
  (``SEGMENT_MIX_BY_CHANNEL``) and fixes the gross margin
  (``MARGIN_BY_SEGMENT``), so channels differ in profit per customer while the
  purchase process below stays one population.
* **Purchases and dropout (BG/NBD, Fader, Hardie & Lee 2005).**
  ``lambda_i ~ Gamma(shape=r, rate=alpha)`` repeat purchases per week while
  alive, ``p_i ~ Beta(a, b)``. Repeat purchases follow a Poisson process with
  rate ``lambda_i``; after every repeat purchase the customer drops out with
  probability ``p_i``. Vectorised as: the number of repeat purchases until
  dropout ``K_i ~ Geometric(p_i)``, the number of Poisson events in the
  customer's window ``N_i ~ Poisson(lambda_i T_i)`` whose times are sorted
  uniforms on ``[0, T_i]``; the customer keeps the first ``min(K_i, N_i)``;
  ``true_alive_at_end = K_i > N_i``.
* **Spend (Gamma-Gamma, Fader, Hardie & Lee 2005b; Colombo & Jiang 1999).**
  ``nu_i ~ Gamma(shape=q, rate=v)``; each order's value
  ``z ~ Gamma(shape=p, rate=nu_i)``, so ``true_mean_spend = p / nu_i`` and the
  population mean order value is ``p v / (q - 1)``.
* **Order lines and categories.** An order has ``1 + Poisson(0.6)`` lines; the
  order value is split across lines by Dirichlet(1, ..., 1) weights. Each line's
  product category is drawn from the customer's own preference vector
  ``~ Dirichlet(PREFERENCE_CONCENTRATION * CATEGORY_SHARE)`` (small
  concentration: customers stick to one or two categories, which gives
  cross-sell and next-category analyses something to find).
  ``quantity = 1 + Poisson(0.4)``; ``amount`` is the line value. Lines of one
  order in the same category are merged (amounts and quantities summed), so no
  two rows are exact duplicates.
* **Returns.** Each line is returned in full with probability ``return_rate``,
  1-28 days later, as a row with negative ``amount`` and ``quantity`` and the
  same ``order_id``, customer, product and channel; returns falling after the
  observation end are not recorded.
* **Campaigns.** ``campaigns_per_month`` campaign slots per month, each with a
  random tactic and medium, sent on one day as an A/B test: a random
  ``audience_share`` of subscribed customers acquired before the send is split
  half/half between message ``"A"`` and ``"B"`` (two campaign ids). Each send
  opens, clicks, visits the landing page and converts with the CONDITIONAL
  rates of :func:`true_funnel_rates` (nested: no click without an open, ...),
  and unsubscribes with ``unsubscribe_rate`` (independently of the funnel);
  unsubscribed customers receive no later campaign. A conversion's ``revenue``
  is one Gamma-Gamma order value of that customer. Campaign conversions live
  in ``touches`` only; they are **not** added to ``transactions`` (so the
  BG/NBD truth holds exactly for the transactions).

Regenerate the shipped set with::

    python -m clvkit.synthetic --n-customers 20000 --months 24 --seed 42 --out data/synthetic_crm

At warehouse scale, :func:`write_transactions_at_scale` writes the transactions alone
(same model) to one Parquet or CSV file, block by block in bounded memory and
byte-identical per seed and size: e.g. 1M customers with ``frequency=3`` give about 10M
rows, 5M customers with ``frequency=12.5`` about 100M (``benchmarks/bench_report_scale.py``).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._validate import check_nonnegative, check_probability
from .errors import ClvError, DataValidationError

__all__ = [
    "CHANNELS", "SEGMENTS", "CATEGORIES", "TACTICS", "MESSAGES", "MEDIA",
    "CHANNEL_MIX", "CAC_BY_CHANNEL", "SEGMENT_MIX_BY_CHANNEL", "MARGIN_BY_SEGMENT",
    "CATEGORY_SHARE", "BGNBD_TRUTH", "GAMMA_GAMMA_TRUTH", "COST_PER_SEND",
    "CrmTruth", "CrmData", "true_funnel_rates", "customer_ids",
    "generate_crm", "save_crm", "load_crm", "write_transactions_at_scale",
    "main",
]

CHANNELS = ("paid_search", "social", "email_referral", "organic", "affiliate")
SEGMENTS = ("consumer", "small_business", "wholesale")
CATEGORIES = ("books", "music", "electronics", "home", "toys")
TACTICS = ("discount", "newsletter", "win_back", "cross_sell")
MESSAGES = ("A", "B")
MEDIA = ("email", "sms")

#: Share of new customers by acquisition channel.
CHANNEL_MIX = {"paid_search": 0.30, "social": 0.25, "email_referral": 0.10,
               "organic": 0.25, "affiliate": 0.10}
#: Acquisition cost per customer (currency units) by channel.
CAC_BY_CHANNEL = {"paid_search": 45.0, "social": 32.0, "email_referral": 12.0,
                  "organic": 6.0, "affiliate": 25.0}
#: Segment mix (consumer, small_business, wholesale) of each channel's customers.
SEGMENT_MIX_BY_CHANNEL = {
    "paid_search": (0.75, 0.20, 0.05),
    "social": (0.90, 0.08, 0.02),
    "email_referral": (0.70, 0.25, 0.05),
    "organic": (0.65, 0.25, 0.10),
    "affiliate": (0.45, 0.25, 0.30),
}
#: Gross margin rate by business segment.
MARGIN_BY_SEGMENT = {"consumer": 0.40, "small_business": 0.30, "wholesale": 0.15}
#: Population share of the product categories (base of the preference Dirichlet).
CATEGORY_SHARE = {"books": 0.30, "music": 0.20, "electronics": 0.15, "home": 0.20, "toys": 0.15}
#: Total concentration (sum of the parameters) of the customer-level category
#: preference Dirichlet(PREFERENCE_CONCENTRATION * CATEGORY_SHARE); small = loyal to few.
PREFERENCE_CONCENTRATION = 1.5
#: BG/NBD heterogeneity (per week): lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b).
BGNBD_TRUTH = {"r": 0.9, "alpha": 8.0, "a": 0.7, "b": 3.5}
#: Gamma-Gamma spend: nu ~ Gamma(q, rate v), order value ~ Gamma(p, rate nu).
GAMMA_GAMMA_TRUTH = {"p": 6.0, "q": 3.8, "v": 28.0}
#: Cost of one send (currency units) by medium.
COST_PER_SEND = {"email": 0.02, "sms": 0.07}
LINES_EXTRA_MEAN = 0.6
QUANTITY_EXTRA_MEAN = 0.4
RETURN_DELAY_DAYS = (1, 28)

_NAME_TEMPLATES = {
    "discount": "{month}: 15% off & free shipping",
    "newsletter": "{month} newsletter <news & tips>",
    "win_back": "{month}: we miss you & a gift",
    "cross_sell": "{month}: picks for you <new>",
}
_FUNNEL_COLUMNS = ("open_rate", "click_rate", "visit_rate", "conversion_rate", "unsubscribe_rate")


def true_funnel_rates() -> pd.DataFrame:
    """Ground-truth campaign funnel rates by tactic, message and medium.

    Each rate is conditional on the previous stage: ``click_rate`` is
    P(click | open), ``visit_rate`` P(landing-page visit | click),
    ``conversion_rate`` P(conversion | visit); ``unsubscribe_rate`` is
    P(unsubscribe | sent). The table is fixed (it does not depend on the seed):
    base rates by medium times multipliers by tactic and by message within tactic.

    Returns
    -------
    DataFrame
        Indexed by ``(tactic, message, medium)``, one column per rate.

    Examples
    --------
    >>> rates = true_funnel_rates()
    >>> rates.shape
    (16, 5)
    >>> float(rates.loc[("discount", "A", "email"), "open_rate"])
    0.275
    """
    medium_base = {  # open, click|open, visit|click, conversion|visit, unsubscribe|sent
        "email": np.array([0.25, 0.15, 0.70, 0.12, 0.004]),
        "sms": np.array([0.60, 0.10, 0.60, 0.10, 0.010]),
    }
    tactic_mult = {
        "discount": np.array([1.10, 1.30, 1.00, 1.60, 0.80]),
        "newsletter": np.array([0.90, 0.60, 0.90, 0.40, 1.00]),
        "win_back": np.array([0.80, 0.90, 1.00, 0.90, 2.00]),
        "cross_sell": np.array([1.00, 1.10, 0.85, 1.10, 1.20]),
    }
    message_b_mult = {  # message A is the reference (multiplier 1)
        "discount": np.array([1.00, 1.00, 1.00, 1.15, 1.00]),
        "newsletter": np.array([1.15, 1.25, 1.00, 1.00, 0.80]),
        "win_back": np.array([1.10, 0.85, 1.00, 1.00, 1.30]),
        "cross_sell": np.array([1.00, 1.20, 1.00, 1.25, 1.00]),
    }
    index = pd.MultiIndex.from_product([TACTICS, MESSAGES, MEDIA],
                                       names=["tactic", "message", "medium"])
    rows = [medium_base[md] * tactic_mult[t] * (message_b_mult[t] if m == "B" else 1.0)
            for t, m, md in index]
    return pd.DataFrame(np.round(np.array(rows), 6), index=index, columns=list(_FUNNEL_COLUMNS))


@dataclass(frozen=True, eq=False)
class CrmTruth:
    """Ground-truth parameters of a synthetic CRM dataset (see the module docstring).

    Compare two truths with ``a.to_dict() == b.to_dict()`` (``==`` is identity,
    because a DataFrame field has no single truth value).

    Attributes
    ----------
    bgnbd : dict
        ``r, alpha, a, b`` of the BG/NBD heterogeneity, time unit weeks.
    gamma_gamma : dict
        ``p, q, v`` of the Gamma-Gamma spend model (currency units).
    cac_by_channel, margin_by_segment, channel_mix, segment_mix_by_channel,
    category_share, cost_per_send : dict
        The constants used (see the module constants of the same names).
    return_rate : float
        Probability that an order line is returned (in full).
    funnel_rates : DataFrame
        :func:`true_funnel_rates`.
    observation_start, observation_end : Timestamp
        The window ``[start, end)`` of acquisitions, orders, returns and sends.
    n_customers, months, seed, campaigns_per_month, audience_share
        Generator arguments.
    time_unit : str
        Unit of the BG/NBD rates (``"W"``, weeks).
    preference_concentration : float
        Sum of the category preference Dirichlet parameters.
    """

    bgnbd: dict
    gamma_gamma: dict
    cac_by_channel: dict
    margin_by_segment: dict
    return_rate: float
    funnel_rates: pd.DataFrame = field(repr=False)
    channel_mix: dict = field(repr=False)
    segment_mix_by_channel: dict = field(repr=False)
    category_share: dict = field(repr=False)
    cost_per_send: dict = field(repr=False)
    observation_start: pd.Timestamp
    observation_end: pd.Timestamp
    n_customers: int
    months: int
    seed: int
    campaigns_per_month: int
    audience_share: float
    time_unit: str = "W"
    preference_concentration: float = PREFERENCE_CONCENTRATION

    @property
    def mean_order_value(self) -> float:
        """Population mean order value ``p v / (q - 1)`` of the Gamma-Gamma truth."""
        g = self.gamma_gamma
        return g["p"] * g["v"] / (g["q"] - 1.0)

    def to_dict(self) -> dict:
        """JSON-ready dictionary (inverse of :meth:`from_dict`)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["funnel_rates"] = self.funnel_rates.reset_index().to_dict(orient="records")
        out["segment_mix_by_channel"] = {k: list(v) for k, v in self.segment_mix_by_channel.items()}
        out["observation_start"] = self.observation_start.isoformat()
        out["observation_end"] = self.observation_end.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> CrmTruth:
        """Rebuild a truth object from :meth:`to_dict` output."""
        kw = dict(data)
        kw["funnel_rates"] = (pd.DataFrame(kw["funnel_rates"])
                              .set_index(["tactic", "message", "medium"])[list(_FUNNEL_COLUMNS)])
        mix = kw["segment_mix_by_channel"]
        kw["segment_mix_by_channel"] = {k: tuple(v) for k, v in mix.items()}
        kw["observation_start"] = pd.Timestamp(kw["observation_start"])
        kw["observation_end"] = pd.Timestamp(kw["observation_end"])
        return cls(**kw)


@dataclass(frozen=True, eq=False)
class CrmData:
    """Synthetic CRM tables plus their ground truth (output of :func:`generate_crm`).

    Attributes
    ----------
    customers : DataFrame
        Indexed by ``customer_id``: ``channel, acquisition_date, cac, segment,
        margin, category_preference`` and latent ``true_*`` columns.
    transactions : DataFrame
        Order lines (canonical columns); returns have negative ``amount``.
    campaigns : DataFrame
        Indexed by ``campaign_id``.
    touches : DataFrame
        One row per (campaign, customer) send with the nested funnel flags.
    truth : CrmTruth
        Ground-truth parameters.
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    campaigns: pd.DataFrame
    touches: pd.DataFrame
    truth: CrmTruth

    @property
    def observation_end(self) -> pd.Timestamp:
        """End (exclusive) of the observation window."""
        return self.truth.observation_end


# --------------------------------------------------------------------------- helpers

def _categorical(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(categories))


def _draw_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix (vectorised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _group_rank(owner: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal (sorted) ``owner``."""
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    lengths = np.diff(np.r_[starts, len(owner)])
    return np.arange(len(owner)) - np.repeat(starts, lengths)


def _to_timestamps(base: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Return ``base + days`` rounded down to the minute, as datetime64[ns]."""
    minutes = np.floor(days * 1440.0).astype(np.int64)
    return np.datetime64(base.to_datetime64(), "ns") + minutes.astype("timedelta64[m]")


def _check_args(n_customers, months, return_rate, campaigns_per_month, audience_share):
    if int(n_customers) != n_customers or n_customers < 1:
        raise ClvError(f"`n_customers` must be a positive integer, got {n_customers!r}")
    if int(months) != months or months < 1:
        raise ClvError(f"`months` must be a positive integer, got {months!r}")
    check_probability("return_rate", return_rate)
    check_nonnegative("campaigns_per_month", campaigns_per_month)
    check_probability("audience_share", audience_share, upper_open=False)


# --------------------------------------------------------------------------- generator

def _customers(rng, n, start, window_days, *, ids=None, frequency=1.0):
    chan = rng.choice(len(CHANNELS), size=n, p=[CHANNEL_MIX[c] for c in CHANNELS])
    seg_mix = np.array([SEGMENT_MIX_BY_CHANNEL[c] for c in CHANNELS])
    seg = _draw_rows(rng, seg_mix[chan])
    t0_days = rng.random(n) * window_days
    acq_ts = _to_timestamps(start, t0_days)
    t0_days = (acq_ts - np.datetime64(start.to_datetime64(), "ns")) / np.timedelta64(1, "D")
    g, gg = BGNBD_TRUTH, GAMMA_GAMMA_TRUTH
    lam = rng.gamma(g["r"], frequency / g["alpha"], size=n)
    p_drop = rng.beta(g["a"], g["b"], size=n)
    nu = rng.gamma(gg["q"], 1.0 / gg["v"], size=n)
    share = np.array([CATEGORY_SHARE[c] for c in CATEGORIES])
    pref = rng.dirichlet(PREFERENCE_CONCENTRATION * share, size=n)
    cac = np.array([CAC_BY_CHANNEL[c] for c in CHANNELS])[chan]
    margin = np.array([MARGIN_BY_SEGMENT[s] for s in SEGMENTS])[seg]
    customers = pd.DataFrame(
        {
            "channel": _categorical(chan, CHANNELS),
            "acquisition_date": pd.DatetimeIndex(acq_ts).normalize().astype("datetime64[ns]"),
            "cac": cac.astype(float),
            "segment": _categorical(seg, SEGMENTS),
            "margin": margin.astype(float),
            "category_preference": _categorical(pref.argmax(axis=1), CATEGORIES),
            "true_lambda": lam,
            "true_p": p_drop,
            "true_nu": nu,
            "true_mean_spend": GAMMA_GAMMA_TRUTH["p"] / nu,
        },
        index=pd.Index(customer_ids(n) if ids is None else ids, name="customer_id"),
    )
    return customers, acq_ts, t0_days, pref


def _orders(rng, customers, t0_days, window_days, *, kept_only=False):
    """Order times (days since start) per customer: trial order + BG/NBD repeats.

    ``kept_only`` draws only the ``m = min(K, N)`` kept event times instead of all ``N``
    (the same distribution, another random stream; the scale generator's choice, where
    frequent buyers have many events past their dropout): the first ``m`` of ``N``
    sorted uniforms are ``S_j / (S_m + G)`` with ``S_j`` the partial sums of ``m``
    standard exponentials and ``G ~ Gamma(N + 1 - m)`` (uniform order statistics as
    normalised exponential spacings).
    """
    n = len(customers)
    lam = customers["true_lambda"].to_numpy()
    t_weeks = (window_days - t0_days) / 7.0
    k_drop = rng.geometric(customers["true_p"].to_numpy())
    n_events = rng.poisson(lam * t_weeks)
    n_repeat = np.minimum(k_drop, n_events)
    alive = k_drop > n_events
    if kept_only:
        owner = np.repeat(np.arange(n), n_repeat)
        spacing = rng.standard_exponential(len(owner))
        total = np.cumsum(spacing)
        ends = np.cumsum(n_repeat)
        before = np.r_[0.0, total][ends - n_repeat]      # sum of earlier customers' spacings
        partial = total - before[owner]
        rest = rng.standard_gamma(n_events - n_repeat + 1.0)
        last = np.where(n_repeat > 0, np.r_[0.0, total][ends] - before, 0.0)
        u = partial / (last + rest)[owner] * t_weeks[owner]
        days = np.r_[t0_days, t0_days[owner] + 7.0 * u]
        return np.r_[np.arange(n), owner], days, n_repeat, alive
    owner = np.repeat(np.arange(n), n_events)
    u = rng.random(len(owner)) * t_weeks[owner]
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    keep = _group_rank(owner) < n_repeat[owner]
    owner = np.r_[np.arange(n), owner[keep]]
    days = np.r_[t0_days, t0_days[owner[n:]] + 7.0 * u[keep]]
    return owner, days, n_repeat, alive


def _lines(rng, customers, pref, owner, days, start, end):
    """Order lines (with order values split across lines) and the return rows."""
    nu = customers["true_nu"].to_numpy()
    ts = _to_timestamps(start, days)
    # order ids in time order (ties broken by customer)
    sort = np.lexsort((owner, ts))
    owner, ts = owner[sort], ts[sort]
    n_orders = len(owner)
    value = rng.gamma(GAMMA_GAMMA_TRUTH["p"], 1.0 / nu[owner])
    n_lines = 1 + rng.poisson(LINES_EXTRA_MEAN, size=n_orders)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    w = rng.gamma(1.0, size=len(line_order))
    w /= np.bincount(line_order, weights=w)[line_order]
    amount = np.maximum(np.round(value[line_order] * w, 2), 0.01)
    line_cust = owner[line_order]
    product = _draw_rows(rng, pref[line_cust])
    quantity = 1 + rng.poisson(QUANTITY_EXTRA_MEAN, size=len(line_order))
    lines = pd.DataFrame({
        "customer_id": customers.index.to_numpy()[line_cust],
        "date": ts[line_order],
        "amount": amount,
        "order_id": line_order.astype(np.int64) + 1,
        "quantity": quantity.astype(np.int64),
        "product": _categorical(product, CATEGORIES),
        "channel": customers["channel"].array.take(line_cust),
    })
    # lines of one order in the same category are one line (no exact duplicate rows)
    lines = (lines.groupby(["order_id", "product"], observed=True, sort=True)
             .agg(customer_id=("customer_id", "first"), date=("date", "first"),
                  amount=("amount", "sum"), quantity=("quantity", "sum"),
                  channel=("channel", "first"))
             .reset_index()[["customer_id", "date", "amount", "order_id", "quantity",
                             "product", "channel"]])
    lines["amount"] = lines["amount"].round(2)
    return lines, value


def _returns(rng, lines, return_rate, end):
    returned = rng.random(len(lines)) < return_rate
    lo, hi = RETURN_DELAY_DAYS
    delay_days = rng.integers(lo, hi + 1, size=len(lines)) + rng.random(len(lines))
    ret_date = lines["date"].to_numpy() + (delay_days * 1440).astype(np.int64).astype(
        "timedelta64[m]")
    keep = returned & (ret_date < np.datetime64(end.to_datetime64(), "ns"))
    ret = lines.loc[keep].copy()
    ret["date"] = ret_date[keep]
    ret["amount"] = -ret["amount"]
    ret["quantity"] = -ret["quantity"]
    return ret


def _campaigns(rng, customers, acq_ts, start, months, campaigns_per_month, audience_share):
    """Campaign slots as A/B tests and the per-send funnel outcomes."""
    rates = true_funnel_rates()
    n = len(customers)
    nu = customers["true_nu"].to_numpy()
    subscribed = np.ones(n, dtype=bool)
    camp_rows, touch_parts = [], []
    n_slots = months * int(campaigns_per_month)
    slot_month = np.repeat(np.arange(months), int(campaigns_per_month))
    slot_tactic = rng.integers(0, len(TACTICS), size=n_slots)
    slot_medium = (rng.random(n_slots) < 0.25).astype(int)  # 25% sms
    slot_day = rng.integers(0, 27, size=n_slots)
    order = np.lexsort((slot_day, slot_month))
    width = max(3, len(str(2 * n_slots)))
    for j, s in enumerate(order):
        send = (start + pd.DateOffset(months=int(slot_month[s]))
                + pd.Timedelta(days=int(slot_day[s]), hours=10))
        tactic, medium = TACTICS[slot_tactic[s]], MEDIA[slot_medium[s]]
        eligible = subscribed & (acq_ts < send.to_datetime64())
        chosen = eligible & (rng.random(n) < audience_share)
        is_b = rng.random(n) < 0.5
        for m, message in enumerate(MESSAGES):
            idx = np.flatnonzero(chosen & (is_b == bool(m)))
            cid = f"C{2 * j + m + 1:0{width}d}"
            month_name = send.strftime("%b %Y")
            camp_rows.append({"campaign_id": cid,
                              "name": _NAME_TEMPLATES[tactic].format(month=month_name),
                              "tactic": tactic, "message": message, "medium": medium,
                              "send_date": send, "cost_per_send": COST_PER_SEND[medium]})
            r = rates.loc[(tactic, message, medium)].to_numpy()
            k = len(idx)
            opened = rng.random(k) < r[0]
            clicked = opened & (rng.random(k) < r[1])
            visited = clicked & (rng.random(k) < r[2])
            converted = visited & (rng.random(k) < r[3])
            unsub = rng.random(k) < r[4]
            revenue = np.where(converted, rng.gamma(GAMMA_GAMMA_TRUTH["p"], 1.0 / nu[idx]), 0.0)
            subscribed[idx[unsub]] = False
            touch_parts.append(pd.DataFrame({
                "campaign_id": cid, "customer_id": customers.index.to_numpy()[idx],
                "send_date": send, "tactic": tactic, "message": message, "medium": medium,
                "opened": opened, "clicked": clicked, "visited": visited,
                "converted": converted, "unsubscribed": unsub,
                "revenue": np.round(revenue, 2),
            }))
    campaigns = pd.DataFrame(camp_rows, columns=["campaign_id", "name", "tactic", "message",
                                                 "medium", "send_date", "cost_per_send"])
    campaigns = campaigns.set_index("campaign_id").astype({"name": str, "cost_per_send": float})
    campaigns["send_date"] = campaigns["send_date"].astype("datetime64[ns]")
    for col, cats in (("tactic", TACTICS), ("message", MESSAGES), ("medium", MEDIA)):
        campaigns[col] = pd.Categorical(campaigns[col], categories=list(cats))
    touches = (pd.concat(touch_parts, ignore_index=True) if touch_parts else pd.DataFrame(
        columns=["campaign_id", "customer_id", "send_date", "tactic", "message", "medium",
                 "opened", "clicked", "visited", "converted", "unsubscribed", "revenue"]))
    touches = touches.astype({"customer_id": str, "send_date": "datetime64[ns]",
                              "opened": bool, "clicked": bool, "visited": bool,
                              "converted": bool, "unsubscribed": bool, "revenue": float})
    for col, cats in (("tactic", TACTICS), ("message", MESSAGES), ("medium", MEDIA)):
        touches[col] = pd.Categorical(touches[col], categories=list(cats))
    touches["campaign_id"] = touches["campaign_id"].astype(str)
    return campaigns, touches, subscribed


def customer_ids(n: int) -> np.ndarray:
    """Text customer ids ``C0001`` ... of equal width, so they sort in numeric order.

    Customer ids are text everywhere in clvkit (see :func:`clvkit.load_transactions`).

    Examples
    --------
    >>> customer_ids(3).tolist()
    ['C1', 'C2', 'C3']
    >>> customer_ids(12)[[0, -1]].tolist()
    ['C01', 'C12']
    """
    width = len(str(int(n)))
    return np.array([f"C{i:0{width}d}" for i in range(1, int(n) + 1)], dtype=object)


def generate_crm(*, n_customers: int = 20_000, months: int = 24, start="2023-01-01",
                 seed: int = 0, return_rate: float = 0.06, campaigns_per_month: int = 2,
                 audience_share: float = 0.3) -> CrmData:
    """Generate a seeded synthetic CRM dataset with known ground truth.

    The model is described in the module docstring; every draw comes from one
    ``numpy.random.default_rng(seed)`` in a fixed order, so the same arguments
    give identical frames. All steps are vectorised over customers (the only
    Python loop is over campaigns).

    Parameters
    ----------
    n_customers : int, default 20_000
        Customers acquired during the window.
    months : int, default 24
        Length of the observation window in calendar months.
    start : str or Timestamp, default "2023-01-01"
        First day of the window (normalised to midnight).
    seed : int, default 0
        Seed of the random generator.
    return_rate : float, default 0.06
        Probability that an order line is returned.
    campaigns_per_month : int, default 2
        Campaign slots (A/B tests) per month; each gives two campaign ids.
    audience_share : float, default 0.3
        Share of eligible (subscribed, already acquired) customers sent each slot.

    Returns
    -------
    CrmData
        ``customers``, ``transactions``, ``campaigns``, ``touches`` and ``truth``.

    Examples
    --------
    >>> crm = generate_crm(n_customers=200, months=6, seed=1)
    >>> crm.customers.shape[0], crm.transactions.columns.tolist()[:4]
    (200, ['customer_id', 'date', 'amount', 'order_id'])
    >>> bool((crm.transactions["date"] < crm.observation_end).all())
    True
    >>> crm.truth.cac_by_channel["organic"]
    6.0
    """
    _check_args(n_customers, months, return_rate, campaigns_per_month, audience_share)
    try:
        start = pd.Timestamp(start).normalize()
    except (TypeError, ValueError) as exc:
        raise ClvError(f"`start` must be a date such as '2023-01-01', got {start!r}") from exc
    end = start + pd.DateOffset(months=int(months))
    window_days = (end - start) / pd.Timedelta(days=1)
    rng = np.random.default_rng(seed)

    customers, acq_ts, t0_days, pref = _customers(rng, int(n_customers), start, window_days)
    owner, days, n_repeat, alive = _orders(rng, customers, t0_days, window_days)
    lines, _ = _lines(rng, customers, pref, owner, days, start, end)
    returns = _returns(rng, lines, return_rate, end)
    transactions = (pd.concat([lines, returns], ignore_index=True)
                    .sort_values(["date", "order_id", "amount"], kind="stable", ascending=[
                        True, True, False])
                    .reset_index(drop=True))
    customers["true_alive_at_end"] = alive
    customers["true_repeat_purchases"] = n_repeat.astype(np.int64)
    campaigns, touches, subscribed = _campaigns(rng, customers, acq_ts, start, int(months),
                                                campaigns_per_month, audience_share)
    customers["subscribed_at_end"] = subscribed
    truth = CrmTruth(
        bgnbd=dict(BGNBD_TRUTH), gamma_gamma=dict(GAMMA_GAMMA_TRUTH),
        cac_by_channel=dict(CAC_BY_CHANNEL), margin_by_segment=dict(MARGIN_BY_SEGMENT),
        return_rate=float(return_rate), funnel_rates=true_funnel_rates(),
        channel_mix=dict(CHANNEL_MIX), segment_mix_by_channel=dict(SEGMENT_MIX_BY_CHANNEL),
        category_share=dict(CATEGORY_SHARE), cost_per_send=dict(COST_PER_SEND),
        observation_start=start, observation_end=end, n_customers=int(n_customers),
        months=int(months), seed=int(seed), campaigns_per_month=int(campaigns_per_month),
        audience_share=float(audience_share),
    )
    return CrmData(customers=customers, transactions=transactions, campaigns=campaigns,
                   touches=touches, truth=truth)


# --------------------------------------------------------------------------- files

_TABLES = ("customers", "transactions", "campaigns", "touches")


def save_crm(crm: CrmData, path) -> Path:
    """Write ``crm`` as Parquet files (one per table) plus ``truth.json`` into ``path``.

    The output is deterministic: the same ``CrmData`` gives byte-identical files.

    Parameters
    ----------
    crm : CrmData
        Output of :func:`generate_crm`.
    path : str or Path
        Directory (created if missing).

    Returns
    -------
    Path
        The directory written.
    """
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for name in _TABLES:
        getattr(crm, name).to_parquet(out / f"{name}.parquet", engine="pyarrow",
                                      compression="zstd", index=name in ("customers",
                                                                         "campaigns"))
    (out / "truth.json").write_text(json.dumps(crm.truth.to_dict(), indent=2, sort_keys=True)
                                    + "\n", encoding="utf-8")
    return out


def load_crm(path="data/synthetic_crm") -> CrmData:
    """Load a dataset written by :func:`save_crm` (default: the shipped set).

    Relative paths are tried against the working directory first, then against
    the repository root (so notebooks in ``notebooks/`` find ``data/``).

    Parameters
    ----------
    path : str or Path, default "data/synthetic_crm"
        Directory holding ``customers.parquet, transactions.parquet,
        campaigns.parquet, touches.parquet, truth.json``.

    Returns
    -------
    CrmData

    Examples
    --------
    >>> crm = load_crm()
    >>> crm.truth.seed, crm.customers.shape[0]
    (42, 20000)
    """
    folder = Path(path)
    if not folder.is_absolute() and not folder.exists():
        folder = Path(__file__).resolve().parent.parent / folder
    missing = [f"{n}.parquet" for n in _TABLES if not (folder / f"{n}.parquet").exists()]
    if not (folder / "truth.json").exists():
        missing.append("truth.json")
    if missing:
        raise DataValidationError(
            f"synthetic CRM folder {str(folder)!r} lacks {missing}; regenerate it with "
            "`python -m clvkit.synthetic --n-customers 20000 --months 24 --seed 42 "
            "--out data/synthetic_crm`")
    tables = {n: pd.read_parquet(folder / f"{n}.parquet", engine="pyarrow") for n in _TABLES}
    truth = CrmTruth.from_dict(json.loads((folder / "truth.json").read_text(encoding="utf-8")))
    return CrmData(truth=truth, **tables)


# --------------------------------------------------------------------------- at scale

#: Customers generated from one random stream (``default_rng([seed, block])``): the
#: unit of the scale generator; its output does not depend on how it is written.
SCALE_BLOCK_CUSTOMERS = 100_000
_SCALE_FORMATS = ("parquet", "csv")


def _scale_schema():
    import pyarrow as pa

    return pa.schema([("customer_id", pa.string()), ("date", pa.timestamp("s")),
                      ("amount", pa.float64()), ("order_id", pa.int64()),
                      ("quantity", pa.int64()), ("product", pa.string()),
                      ("channel", pa.string())])


def _scale_block(seed, block, first, n, n_total, *, months, start, frequency, return_rate):
    """Order lines and returns of customers ``first .. first + n - 1`` (one random stream)."""
    rng = np.random.default_rng([int(seed), int(block)])
    end = start + pd.DateOffset(months=int(months))
    window_days = (end - start) / pd.Timedelta(days=1)
    width = len(str(int(n_total)))
    ids = np.array([f"C{i:0{width}d}" for i in range(first + 1, first + n + 1)], dtype=object)
    customers, _, t0_days, pref = _customers(rng, n, start, window_days, ids=ids,
                                             frequency=frequency)
    owner, days, _, _ = _orders(rng, customers, t0_days, window_days, kept_only=True)
    lines, _ = _lines(rng, customers, pref, owner, days, start, end)
    returns = _returns(rng, lines, return_rate, end)
    rows = pd.concat([lines, returns], ignore_index=True)
    order = np.lexsort((-rows["amount"].to_numpy(), rows["order_id"].to_numpy(),
                        rows["date"].to_numpy()))
    return rows.take(order)


def _scale_table(rows: pd.DataFrame, order_offset: int):
    import pyarrow as pa

    def text(column):
        codes = rows[column].cat.codes.to_numpy()
        return pa.DictionaryArray.from_arrays(
            codes, pa.array(rows[column].cat.categories.to_numpy(dtype=object),
                            type=pa.string())).cast(pa.string())

    return pa.Table.from_arrays([
        pa.array(rows["customer_id"].to_numpy(dtype=object), type=pa.string()),
        pa.array(rows["date"].to_numpy().astype("datetime64[s]")),
        pa.array(rows["amount"].to_numpy()),
        pa.array(rows["order_id"].to_numpy() + order_offset),
        pa.array(rows["quantity"].to_numpy()),
        text("product"),
        text("channel"),
    ], schema=_scale_schema())


def _scale_rows(args):
    """Block ``args`` as an Arrow table plus its counts (run in a worker process)."""
    (seed, block, first, n, n_total, kw) = args
    rows = _scale_block(seed, block, first, n, n_total, **kw)
    return (_scale_table(rows, 0), int(rows["order_id"].max()),
            int((rows["amount"].to_numpy() < 0).sum()))


def _in_order(fn, jobs, *, workers):
    """``map(fn, jobs)`` computed by ``workers`` processes, at most ``workers + 1`` ahead."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = []
        for job in jobs:
            pending.append(pool.submit(fn, job))
            if len(pending) > workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def write_transactions_at_scale(path, *, n_customers: int, months: int = 24,
                                start="2023-01-01", seed: int = 0, frequency: float = 1.0,
                                return_rate: float = 0.06, format: str | None = None,
                                workers: int = 1, progress=None) -> dict:
    """Write a large seeded transactions file block by block, in bounded memory.

    The customers, orders, lines and returns follow the model of :func:`generate_crm`
    (module docstring): BG/NBD purchases with Gamma-distributed rates (a few customers
    buy very often, most once or twice), Gamma-Gamma order values split over order
    lines, five acquisition channels, returns 1-28 days after the purchase. Only the
    transactions are written (no customers table, campaigns or truth). Customers are
    generated in blocks of ``SCALE_BLOCK_CUSTOMERS``, each from its own random stream
    ``default_rng([seed, block])``, and appended to the file; memory stays that of one
    block per worker (1 million rows and ~0.5 GB at ``frequency=3``, 2 million rows and
    ~0.7 GB at ``frequency=12.5``) whatever ``n_customers`` is. Only the purchases each
    customer keeps before dropping out are drawn (``_orders(kept_only=True)``), so
    frequent buyers cost no more than their rows. The same arguments give a
    byte-identical file.

    Parameters
    ----------
    path : str or Path
        Output file; ``.parquet`` or ``.csv`` (or give ``format``). An existing file
        is replaced.
    n_customers : int
        Customers acquired during the window; ids ``C1 ...`` of equal width (text).
    months : int, default 24
        Length of the observation window in calendar months.
    start : str or Timestamp, default "2023-01-01"
        First day of the window.
    seed : int, default 0
        Seed of the random streams.
    frequency : float, default 1.0
        Multiplier of every customer's purchase rate (``lambda``): the rows per
        customer grow with it (about 5.8 at 1, 10 at 2.2 and 20 at 5.5 over 24 months).
    return_rate : float, default 0.06
        Probability that an order line is returned.
    format : {"parquet", "csv"}, optional
        Default from the file extension.
    workers : int, default 1
        Blocks generated in parallel (processes); the file does not depend on it.
        At most ``workers + 1`` blocks are held in memory.
    progress : callable, optional
        Receives one line per block written.

    Returns
    -------
    dict
        ``rows``, ``customers`` (with at least one row: all of them), ``orders``,
        ``returns``, ``path``, ``format``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> folder = tempfile.mkdtemp()
    >>> info = write_transactions_at_scale(f"{folder}/tx.parquet", n_customers=500, seed=1)
    >>> info["customers"], info["rows"] > 1000
    (500, True)
    >>> pd.read_parquet(f"{folder}/tx.parquet").columns.tolist()
    ['customer_id', 'date', 'amount', 'order_id', 'quantity', 'product', 'channel']
    """
    _check_args(n_customers, months, return_rate, 0, 0.5)
    if not np.isfinite(frequency) or frequency <= 0:
        raise ClvError(f"`frequency` must be a positive number, got {frequency!r}")
    out = Path(path)
    fmt = format or {".parquet": "parquet", ".csv": "csv"}.get(out.suffix.lower())
    if fmt not in _SCALE_FORMATS:
        raise ClvError(f"`format` must be one of {list(_SCALE_FORMATS)} (or a .parquet/.csv "
                       f"path), got {format!r} for {str(out)!r}")
    start = pd.Timestamp(start).normalize()
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = _scale_schema()
    tmp = out.with_name(out.name + ".partial")
    writer = (pq.ParquetWriter(tmp, schema, compression="zstd") if fmt == "parquet"
              else pacsv.CSVWriter(tmp, schema))
    counts = {"rows": 0, "orders": 0, "returns": 0}
    kw = {"months": months, "start": start, "frequency": float(frequency),
          "return_rate": float(return_rate)}
    jobs = [(int(seed), block, first, min(SCALE_BLOCK_CUSTOMERS, int(n_customers) - first),
             int(n_customers), kw)
            for block, first in enumerate(range(0, int(n_customers), SCALE_BLOCK_CUSTOMERS))]
    try:
        for (_, _, first, n, _, _), (table, orders, n_returns) in zip(
                jobs, _in_order(_scale_rows, jobs, workers=workers), strict=True):
            import pyarrow.compute as pc

            table = table.set_column(3, "order_id",
                                     pc.add(table.column("order_id"), counts["orders"]))
            writer.write_table(table)
            counts["rows"] += table.num_rows
            counts["orders"] += orders
            counts["returns"] += n_returns
            if progress is not None:
                progress(f"{first + n:,} customers, {counts['rows']:,} rows")
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.replace(out)
    return {**counts, "customers": int(n_customers), "path": str(out), "format": fmt}


def main(argv=None) -> int:
    """Run the command line ``python -m clvkit.synthetic --n-customers N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m clvkit.synthetic",
                                     description="Write a seeded synthetic CRM dataset.")
    parser.add_argument("--n-customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="data/synthetic_crm")
    args = parser.parse_args(argv)
    crm = generate_crm(n_customers=args.n_customers, months=args.months, start=args.start,
                       seed=args.seed)
    out = save_crm(crm, args.out)
    print(f"wrote {len(crm.customers)} customers, {len(crm.transactions)} transaction rows, "
          f"{len(crm.campaigns)} campaigns, {len(crm.touches)} touches to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
