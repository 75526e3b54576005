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
* **Covariate effects (option ``effects=CovariateEffects()``; off by default, so the
  shipped set is unchanged).** Purchases and dropout follow a Pareto/NBD instead of the
  BG/NBD, with the parametrisation of CLVTools and Fader & Hardie (2007): the purchase
  rate ``lambda_i ~ Gamma(r, rate alpha exp(-gamma_trans[channel_i]))`` and the dropout
  rate ``mu_i ~ Gamma(s, rate beta exp(-gamma_life[channel_i]))`` (a positive coefficient
  raises the rate; the reference channel has 0). Campaigns are drawn first (as above, at
  random: no selection into campaigns), and in every calendar week (weeks start on the
  window's first day) the customer's dropout hazard is ``mu_i exp(contacts_life * c)``
  with ``c`` the campaign sends received that week (Bachmann, Meierer & Naef 2021's
  time-varying covariate); a random ``contactable_share`` of the customers consent to
  marketing, the others receive no campaign. The customer is alive from the first order until the
  cumulative hazard reaches an Exp(1) draw; repeat purchases are a Poisson process with
  rate ``lambda_i`` while alive. ``customers`` then holds ``true_mu`` and
  ``true_dropout_week`` (weeks since the window's start; NaN if alive at the end) in
  place of ``true_p``; :func:`weekly_contacts` gives the covariate table.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._validate import check_nonnegative, check_probability
from .errors import ClvError, DataValidationError, example_rows

__all__ = [
    "CHANNELS", "SEGMENTS", "CATEGORIES", "TACTICS", "MESSAGES", "MEDIA",
    "CHANNEL_MIX", "CAC_BY_CHANNEL", "SEGMENT_MIX_BY_CHANNEL", "MARGIN_BY_SEGMENT",
    "CATEGORY_SHARE", "BGNBD_TRUTH", "GAMMA_GAMMA_TRUTH", "COST_PER_SEND",
    "CrmTruth", "CrmData", "CovariateEffects", "true_funnel_rates", "customer_ids",
    "weekly_contacts",
    "generate_crm", "save_crm", "load_crm", "EngagementPanel", "engagement_panel",
    "FunnelPanel", "acquisition_funnel_panel", "SequencePanel", "contact_sequence_panel",
    "write_transactions_at_scale",
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


@dataclass(frozen=True)
class CovariateEffects:
    """True covariate effects of the Pareto/NBD option of :func:`generate_crm`.

    Coefficients are natural logs of rate multipliers, as CLVTools prints them: a
    coefficient g of the purchase process multiplies the purchase rate by exp(g); of the
    lifetime process, the dropout rate by exp(g) (so the lifetime by exp(-g)).

    Attributes
    ----------
    pareto_nbd : dict
        ``r, alpha, s, beta`` (weeks) of a customer of the reference channel in a week
        without contacts.
    reference_channel : str
        The channel whose coefficients are 0.
    trans_by_channel, life_by_channel : dict
        Coefficient of each channel in the purchase and the lifetime process.
    contacts_life : float
        Coefficient of the number of campaign sends in a week on that week's dropout rate.
    contactable_share : float
        Share of customers who consent to marketing at acquisition, drawn at random
        (the others are never sent a campaign; column ``contactable``).

    Examples
    --------
    >>> effects = CovariateEffects()
    >>> effects.life_by_channel[effects.reference_channel], effects.contacts_life
    (0.0, -1.0)
    """

    pareto_nbd: dict = field(default_factory=lambda: {"r": 0.9, "alpha": 8.0, "s": 0.8,
                                                      "beta": 30.0})
    reference_channel: str = "organic"
    trans_by_channel: dict = field(default_factory=lambda: {
        "paid_search": 0.2, "social": -0.3, "email_referral": 0.4, "organic": 0.0,
        "affiliate": 0.0})
    life_by_channel: dict = field(default_factory=lambda: {
        "paid_search": 0.3, "social": 0.6, "email_referral": -0.5, "organic": 0.0,
        "affiliate": 0.2})
    contacts_life: float = -1.0
    contactable_share: float = 0.6

    def __post_init__(self) -> None:
        for name in ("trans_by_channel", "life_by_channel"):
            table = getattr(self, name)
            if sorted(table) != sorted(CHANNELS):
                raise ClvError(f"`{name}` must give a coefficient for every channel "
                               f"{list(CHANNELS)}, got {sorted(table)}")
            if table[self.reference_channel] != 0:
                raise ClvError(f"the reference channel {self.reference_channel!r} must have "
                               f"coefficient 0 in `{name}`, got {table[self.reference_channel]}")
        if sorted(self.pareto_nbd) != ["alpha", "beta", "r", "s"] or min(
                self.pareto_nbd.values()) <= 0:
            raise ClvError("`pareto_nbd` must give positive r, alpha, s, beta, got "
                           f"{self.pareto_nbd}")
        check_probability("contactable_share", self.contactable_share, upper_open=False)


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
    covariate_effects : dict or None
        The :class:`CovariateEffects` of the Pareto/NBD option as a dict (``bgnbd`` then
        does not describe the purchases); None for the default BG/NBD data.
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
    covariate_effects: dict | None = None

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
        if out["covariate_effects"] is None:  # the default data's truth.json is unchanged
            del out["covariate_effects"]
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


def _campaigns(rng, customers, acq_ts, start, months, campaigns_per_month, audience_share,
               subscribed=None):
    """Campaign slots as A/B tests and the per-send funnel outcomes."""
    rates = true_funnel_rates()
    n = len(customers)
    nu = customers["true_nu"].to_numpy()
    subscribed = np.ones(n, dtype=bool) if subscribed is None else subscribed.copy()
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


def _weekly_sends(touches, ids, start, n_weeks):
    """Campaign sends per customer (rows, in ``ids`` order) and calendar week since ``start``."""
    pos = pd.Index(ids).get_indexer(touches["customer_id"].to_numpy())
    week = ((touches["send_date"].to_numpy() - np.datetime64(start.to_datetime64(), "ns"))
            // np.timedelta64(7, "D")).astype(np.int64)
    flat = np.bincount(pos * n_weeks + week, minlength=len(ids) * n_weeks)
    return flat.reshape(len(ids), n_weeks).astype(float)


def _orders_with_effects(rng, customers, t0_days, window_days, touches, start, effects):
    """Order times (days since start): trial order + Pareto/NBD repeats while alive.

    The dropout hazard changes by calendar week with the campaign sends (see the module
    notes); returns owner, days, repeat counts, alive flags and the dropout week (NaN if
    alive at the end).
    """
    n = len(customers)
    chan = customers["channel"].astype(str).to_numpy()
    g_trans = np.array([effects.trans_by_channel[c] for c in chan])
    g_life = np.array([effects.life_by_channel[c] for c in chan])
    pn = effects.pareto_nbd
    lam = rng.gamma(pn["r"], 1.0 / pn["alpha"], size=n) * np.exp(g_trans)
    mu = rng.gamma(pn["s"], 1.0 / pn["beta"], size=n) * np.exp(g_life)
    end_w = window_days / 7.0
    n_weeks = int(np.ceil(end_w))
    sends = _weekly_sends(touches, customers.index, start, n_weeks)
    a0 = t0_days / 7.0
    lo = np.maximum(np.arange(n_weeks)[None, :], a0[:, None])
    exposure = np.clip(np.minimum(np.arange(1, n_weeks + 1), end_w)[None, :] - lo, 0.0, None)
    rate = mu[:, None] * np.exp(effects.contacts_life * sends)
    cum = np.cumsum(rate * exposure, axis=1)
    e = rng.exponential(size=n)
    k = (cum < e[:, None]).sum(axis=1)          # the week of dropout (n_weeks: alive at end)
    alive = k >= n_weeks
    kk = np.minimum(k, n_weeks - 1)
    before = np.where(k > 0, cum[np.arange(n), np.maximum(kk - 1, 0)], 0.0)
    drop = np.where(alive, np.nan,
                    lo[np.arange(n), kk] + (e - before) / rate[np.arange(n), kk])
    span = np.where(alive, end_w, drop) - a0     # weeks alive within the window
    n_repeat = rng.poisson(lam * span)
    owner = np.repeat(np.arange(n), n_repeat)
    u = rng.random(len(owner)) * span[owner]
    order = np.lexsort((u, owner))
    owner, u = owner[order], u[order]
    days = np.r_[t0_days, t0_days[owner] + 7.0 * u]
    owner = np.r_[np.arange(n), owner]
    return owner, days, n_repeat, alive, drop, lam, mu


def weekly_contacts(touches: pd.DataFrame, transactions: pd.DataFrame, *, start,
                    until) -> pd.DataFrame:
    """Campaign sends per customer and calendar week: the time-varying covariate table.

    The long layout of :mod:`clvkit.models.pareto_nbd_dynamic`: one row per customer and
    week from the week of their first purchase to the week holding ``until``, weeks
    starting on ``start``'s weekday (the synthetic window's first day), with the number of
    sends that week (0 in most weeks). Sends after ``until`` are not counted.

    Parameters
    ----------
    touches : DataFrame
        ``customer_id``, ``send_date`` (one row per send).
    transactions : DataFrame
        ``customer_id``, ``date`` (the first purchase starts a customer's rows).
    start : date-like
        The first day of the first week.
    until : date-like
        Last day covered (e.g. the calibration end, or the end of a prediction horizon).

    Returns
    -------
    DataFrame
        ``customer_id`` (text), ``period`` (first day of the week), ``contacts`` (int).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"],
    ...                    "date": pd.to_datetime(["2023-01-03", "2023-01-10"])})
    >>> sends = pd.DataFrame({"customer_id": ["a", "a"],
    ...                       "send_date": pd.to_datetime(["2023-01-04", "2023-01-12"])})
    >>> weekly_contacts(sends, tx, start="2023-01-01", until="2023-01-14")
      customer_id     period  contacts
    0           a 2023-01-01         1
    1           a 2023-01-08         1
    2           b 2023-01-08         0
    """
    start, until = pd.Timestamp(start).normalize(), pd.Timestamp(until).normalize()
    origin = np.datetime64(start.to_datetime64(), "ns")
    days = pd.to_datetime(transactions["date"])
    late = (days < start).to_numpy()
    if late.any():
        raise DataValidationError(f"purchases before `start` ({start.date()}) in rows "
                                  f"{example_rows(transactions.index[late])}; start the weeks "
                                  "on or before the first purchase")
    first = days[(days <= until + pd.Timedelta(days=1) - pd.Timedelta(1))].groupby(
        transactions["customer_id"]).min()
    ids = first.index.astype(str)
    first_week = ((first.to_numpy() - origin) // np.timedelta64(7, "D")).astype(np.int64)
    n_weeks = int((until.to_datetime64() - origin) // np.timedelta64(7, "D")) + 1
    sent = pd.to_datetime(touches["send_date"])
    kept = touches.loc[((sent >= start) & (sent < until + pd.Timedelta(days=1))).to_numpy()]
    kept = kept.loc[kept["customer_id"].astype(str).isin(ids).to_numpy()]
    sends = _weekly_sends(kept.assign(customer_id=kept["customer_id"].astype(str)), ids, start,
                          n_weeks)
    rows = n_weeks - first_week
    who = np.repeat(np.arange(len(ids)), rows)
    week = first_week[who] + (np.arange(len(who)) - np.repeat(np.cumsum(rows) - rows, rows))
    return pd.DataFrame({
        "customer_id": ids.to_numpy()[who].astype(object),
        "period": (origin + (7 * week).astype("timedelta64[D]")).astype("datetime64[ns]"),
        "contacts": sends[who, week].astype(np.int64),
    })


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
                 audience_share: float = 0.3,
                 effects: CovariateEffects | None = None) -> CrmData:
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
    effects : CovariateEffects, optional
        Purchases and dropout from a Pareto/NBD with these channel effects and a
        time-varying effect of campaign sends on dropout (module notes). Default: the
        BG/NBD data without covariate effects (the shipped set).

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
    if effects is None:
        owner, days, n_repeat, alive = _orders(rng, customers, t0_days, window_days)
    else:  # campaigns first: their sends change the dropout hazard week by week
        consent = rng.random(len(customers)) < effects.contactable_share
        campaigns, touches, subscribed = _campaigns(rng, customers, acq_ts, start,
                                                    int(months), campaigns_per_month,
                                                    audience_share, subscribed=consent)
        owner, days, n_repeat, alive, drop, lam, mu = _orders_with_effects(
            rng, customers, t0_days, window_days, touches, start, effects)
        customers = customers.drop(columns=["true_p"]).assign(true_lambda=lam)
        customers.insert(customers.columns.get_loc("true_lambda") + 1, "true_mu", mu)
        customers["true_dropout_week"] = drop
        customers["contactable"] = consent
    lines, _ = _lines(rng, customers, pref, owner, days, start, end)
    returns = _returns(rng, lines, return_rate, end)
    transactions = (pd.concat([lines, returns], ignore_index=True)
                    .sort_values(["date", "order_id", "amount"], kind="stable", ascending=[
                        True, True, False])
                    .reset_index(drop=True))
    customers["true_alive_at_end"] = alive
    customers["true_repeat_purchases"] = n_repeat.astype(np.int64)
    if effects is None:
        campaigns, touches, subscribed = _campaigns(rng, customers, acq_ts, start,
                                                    int(months), campaigns_per_month,
                                                    audience_share)
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
        covariate_effects=None if effects is None else asdict(effects),
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


# --------------------------------------------------------------------------- engagement panel

@dataclass(frozen=True, eq=False)
class EngagementPanel:
    """A panel of monthly e-mails whose opens fade when a relationship ends (known truth).

    Attributes
    ----------
    touches : DataFrame
        One row per send: ``customer_id``, ``send_date``, ``opened``, ``clicked``.
    customers : DataFrame
        Per customer (index ``customer_id``): ``true_ended`` and ``true_end_send``
        (number of the first send after the relationship ended, 0-based; equal to
        the number of sends when it did not end).
    truth : dict
        The generating parameters (``open_rate``, ``faded_open_rate``,
        ``click_rate``, ``ended_share``, ``sends``, ``seed``).
    """

    touches: pd.DataFrame
    customers: pd.DataFrame
    truth: dict


def engagement_panel(*, n_customers: int = 2_000, sends: int = 24, start="2023-01-01",
                     open_rate: float = 0.35, faded_open_rate: float = 0.03,
                     click_rate: float = 0.25, ended_share: float = 0.4,
                     seed: int = 0) -> EngagementPanel:
    """Monthly e-mails to every customer; opens fade after a relationship ends.

    No open data set records when a customer's relationship ended, so this panel
    knows it by construction: a share ``ended_share`` of customers end their
    relationship just before a send drawn uniformly from 1 to ``sends - 1``; each
    send before that is opened with probability ``open_rate``, each send from it on
    with ``faded_open_rate`` (a mail client's preview, a stray click); a click
    follows an open with probability ``click_rate``. Independent of
    :func:`generate_crm` (its own seed), so the shipped CRM data do not change.

    Examples
    --------
    >>> panel = engagement_panel(n_customers=5, sends=4, seed=1)
    >>> panel.touches.shape, list(panel.touches.columns)
    ((20, 4), ['customer_id', 'send_date', 'opened', 'clicked'])
    >>> panel.truth["open_rate"], int(panel.customers["true_end_send"].max()) <= 4
    (0.35, True)
    """
    for name, value in (("open_rate", open_rate), ("faded_open_rate", faded_open_rate),
                        ("click_rate", click_rate), ("ended_share", ended_share)):
        check_probability(name, value)
    if isinstance(sends, bool) or not isinstance(sends, (int, np.integer)) or sends < 2:
        raise ClvError(f"`sends` must be a whole number >= 2, got {sends!r}")
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) \
            or n_customers < 1:
        raise ClvError(f"`n_customers` must be a whole number >= 1, got {n_customers!r}")
    rng = np.random.default_rng(seed)
    n, k = int(n_customers), int(sends)
    ended = rng.random(n) < ended_share
    end_send = np.where(ended, rng.integers(1, k, size=n), k)
    after = np.arange(k)[None, :] >= end_send[:, None]
    opened = rng.random((n, k)) < np.where(after, faded_open_rate, open_rate)
    clicked = opened & (rng.random((n, k)) < click_rate)
    ids = customer_ids(n)
    dates = pd.date_range(pd.Timestamp(start).normalize() + pd.Timedelta(hours=10), periods=k,
                          freq="MS")
    touches = pd.DataFrame({"customer_id": np.repeat(ids, k),
                            "send_date": np.tile(dates.to_numpy(dtype="datetime64[ns]"), n),
                            "opened": opened.ravel(), "clicked": clicked.ravel()})
    customers = pd.DataFrame({"true_ended": ended, "true_end_send": end_send.astype(np.int64)},
                             index=pd.Index(ids, name="customer_id"))
    truth = {"open_rate": float(open_rate), "faded_open_rate": float(faded_open_rate),
             "click_rate": float(click_rate), "ended_share": float(ended_share), "sends": k,
             "seed": int(seed)}
    return EngagementPanel(touches=touches, customers=customers, truth=truth)


# --------------------------------------------------------------------------- acquisition funnel

#: People each channel reaches (aware of the shop) in the funnel panel.
FUNNEL_REACH = {"paid_search": 40_000, "social": 60_000, "email_referral": 5_000,
                "organic": 30_000, "affiliate": 15_000}
#: P(prospect | reached): visited, subscribed or asked, by channel.
FUNNEL_PROSPECT_RATE = {"paid_search": 0.08, "social": 0.04, "email_referral": 0.20,
                        "organic": 0.10, "affiliate": 0.06}
#: P(first purchase | prospect), by channel.
FUNNEL_PURCHASE_RATE = {"paid_search": 0.25, "social": 0.15, "email_referral": 0.30,
                        "organic": 0.20, "affiliate": 0.35}


@dataclass(frozen=True, eq=False)
class FunnelPanel:
    """People reached by each acquisition channel, with their funnel stages (known truth).

    Attributes
    ----------
    people : DataFrame
        One row per person reached: ``channel``, ``prospect``, ``first_purchase``.
    spend : Series
        Acquisition spend by channel (reach x cost per reach).
    truth : dict
        ``prospect_rate``, ``purchase_rate`` and ``cost_per_reach`` by channel, ``seed``.
    """

    people: pd.DataFrame
    spend: pd.Series
    truth: dict


def acquisition_funnel_panel(*, seed: int = 0) -> FunnelPanel:
    """The awareness -> prospect -> first purchase funnel behind each channel's CAC.

    The shop's data start at a customer's first purchase; the stages before it are
    not in them. This panel draws them with known rates: each channel reaches
    ``FUNNEL_REACH`` people, who become prospects with ``FUNNEL_PROSPECT_RATE`` and
    first-time buyers with ``FUNNEL_PURCHASE_RATE`` (given a prospect). The cost per
    person reached is set so that the expected cost per first-time buyer is the
    channel's ``CAC_BY_CHANNEL``: ``cost_per_reach = CAC x prospect rate x purchase
    rate``. Independent of :func:`generate_crm` (its own seed).

    Examples
    --------
    >>> panel = acquisition_funnel_panel(seed=1)
    >>> panel.people.columns.tolist()
    ['channel', 'prospect', 'first_purchase']
    >>> round(panel.truth["cost_per_reach"]["paid_search"], 2)
    0.9
    >>> bool((panel.people["first_purchase"] <= panel.people["prospect"]).all())
    True
    """
    rng = np.random.default_rng(seed)
    reach = np.array([FUNNEL_REACH[c] for c in CHANNELS])
    channel = np.repeat(np.arange(len(CHANNELS)), reach)
    p_prospect = np.array([FUNNEL_PROSPECT_RATE[c] for c in CHANNELS])[channel]
    p_purchase = np.array([FUNNEL_PURCHASE_RATE[c] for c in CHANNELS])[channel]
    prospect = rng.random(len(channel)) < p_prospect
    first = prospect & (rng.random(len(channel)) < p_purchase)
    people = pd.DataFrame({"channel": _categorical(channel, CHANNELS), "prospect": prospect,
                           "first_purchase": first})
    people.index.name = "person"
    cost = {c: CAC_BY_CHANNEL[c] * FUNNEL_PROSPECT_RATE[c] * FUNNEL_PURCHASE_RATE[c]
            for c in CHANNELS}
    spend = pd.Series({c: FUNNEL_REACH[c] * cost[c] for c in CHANNELS}, name="spend")
    spend.index.name = "channel"
    truth = {"prospect_rate": dict(FUNNEL_PROSPECT_RATE),
             "purchase_rate": dict(FUNNEL_PURCHASE_RATE), "cost_per_reach": cost,
             "seed": int(seed)}
    return FunnelPanel(people=people, spend=spend, truth=truth)


# --------------------------------------------------------------------------- e-mail, then SMS

@dataclass(frozen=True, eq=False)
class SequencePanel:
    """An e-mail to every customer, then an SMS to a random part of those it did not convert.

    Attributes
    ----------
    touches : DataFrame
        One row per send: ``customer_id``, ``send_date``, ``tactic`` ("sequence"),
        ``message`` ("A"), ``medium`` ("email" or "sms"), ``opened``, ``converted``,
        ``unsubscribed``.
    transactions : DataFrame
        Purchases: ``customer_id``, ``date``, ``amount``.
    customers : DataFrame
        Per customer: ``acquisition_date``, ``email_converted``, ``sms_group`` (sent
        the SMS) and ``holdout`` (not converted by the e-mail, left without an SMS).
    truth : dict
        The generating rates, the window and the costs per send.
    """

    touches: pd.DataFrame
    transactions: pd.DataFrame
    customers: pd.DataFrame
    truth: dict


def contact_sequence_panel(*, n_customers: int = 20_000, start="2024-03-04",
                           email_open_rate: float = 0.25, email_conversion_rate: float = 0.06,
                           base_purchase_rate: float = 0.05, sms_lift: float = 0.02,
                           holdout_share: float = 0.5, order_value: float = 40.0,
                           seed: int = 0) -> SequencePanel:
    """A two-step contact sequence with a known effect of its second step.

    Day 0: an e-mail to every customer; it is opened with ``email_open_rate`` and an
    opener buys at once (converts) with ``email_conversion_rate``. Day 7: of the
    customers it did not convert, a random ``1 - holdout_share`` get an SMS and the
    others nothing (the hold-out). In the next 23 days every one of them buys with
    ``base_purchase_rate``, plus ``sms_lift`` if they got the SMS: the true
    incremental effect of the SMS step. Orders are worth ``order_value``. The cost per
    send is ``COST_PER_SEND`` of the medium. Independent of :func:`generate_crm`.

    Examples
    --------
    >>> panel = contact_sequence_panel(n_customers=100, seed=1)
    >>> panel.touches["medium"].value_counts().to_dict()["email"]
    100
    >>> bool((panel.customers["sms_group"] & panel.customers["holdout"]).any())
    False
    """
    for name, value in (("email_open_rate", email_open_rate),
                        ("email_conversion_rate", email_conversion_rate),
                        ("base_purchase_rate", base_purchase_rate),
                        ("holdout_share", holdout_share)):
        check_probability(name, value)
    check_probability("base_purchase_rate + sms_lift", base_purchase_rate + sms_lift)
    check_nonnegative("sms_lift", sms_lift)
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) \
            or n_customers < 1:
        raise ClvError(f"`n_customers` must be a whole number >= 1, got {n_customers!r}")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    ids = customer_ids(n)
    day0 = pd.Timestamp(start).normalize() + pd.Timedelta(hours=10)
    sms_day = day0 + pd.Timedelta(days=7)
    opened = rng.random(n) < email_open_rate
    converted = opened & (rng.random(n) < email_conversion_rate)
    gets_sms = ~converted & (rng.random(n) >= holdout_share)
    buys = ~converted & (rng.random(n) < base_purchase_rate + sms_lift * gets_sms)
    buy_day = sms_day + pd.to_timedelta(rng.integers(1, 24, size=n), unit="D")
    conversion_day = day0 + pd.to_timedelta(rng.integers(1, 7, size=n), unit="D")
    transactions = pd.DataFrame({
        "customer_id": np.r_[ids[converted], ids[buys]],
        "date": np.r_[conversion_day[converted], buy_day[buys]].astype("datetime64[ns]"),
        "amount": float(order_value)}).sort_values(["date", "customer_id"], ignore_index=True)
    sms_ids = ids[gets_sms]
    touches = pd.DataFrame({
        "customer_id": np.r_[ids, sms_ids],
        "send_date": np.r_[np.full(n, day0.to_datetime64()),
                           np.full(len(sms_ids), sms_day.to_datetime64())].astype("datetime64[ns]"),
        "tactic": "sequence", "message": "A",
        "medium": pd.Categorical(np.r_[np.full(n, "email"), np.full(len(sms_ids), "sms")],
                                 categories=list(MEDIA)),
        "opened": np.r_[opened, np.zeros(len(sms_ids), bool)],
        "converted": np.r_[converted, np.zeros(len(sms_ids), bool)],
        "unsubscribed": False})
    customers = pd.DataFrame({
        "acquisition_date": np.full(n, (day0 - pd.Timedelta(days=30)).to_datetime64()),
        "email_converted": converted, "sms_group": gets_sms, "holdout": ~converted & ~gets_sms},
        index=pd.Index(ids, name="customer_id"))
    truth = {"email_open_rate": float(email_open_rate),
             "email_conversion_rate": float(email_conversion_rate),
             "base_purchase_rate": float(base_purchase_rate), "sms_lift": float(sms_lift),
             "holdout_share": float(holdout_share), "order_value": float(order_value),
             "window_days": 23, "cost_per_send": dict(COST_PER_SEND), "seed": int(seed)}
    return SequencePanel(touches=touches, transactions=transactions, customers=customers,
                         truth=truth)


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
