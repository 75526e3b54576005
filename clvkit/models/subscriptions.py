"""Subscriptions: recognise regular monthly charges and forecast them with the sBG model.

A subscription (SaaS plan, membership, box) is *contractual*: a customer pays every month
until they cancel, and a missing payment means they left. The purchase models of
`clvkit.models.select` (BG/NBD, Pareto/NBD, ...) are for *non-contractual* buying, where
leaving is never observed; on a monthly invoice log they see a Poisson process with almost
no variation and fit badly. This module

1. recognises such data (`subscription_evidence`): most customers with three or more
   payments are charged once a month (every gap between payment days 25-35 days);
2. summarises each customer (`subscription_summary`): months paid, still paying at the end
   (paid in the last month), their monthly charge;
3. fits the shifted-beta-geometric model (Fader & Hardie 2007; `clvkit.models.sbg`) to
   *all* customers at once (`fit_retention`): a customer who paid k months and left has
   churned at renewal k, P(T = k) = B(a + 1, b + k - 1) / B(a, b) (FH 2007, eq. (7)); one
   still paying has survived k - 1 renewals, S(k - 1) = B(a, b + k - 1) / B(a, b) (eq. (8));
4. predicts for a subscriber still paying after k months (`expected_payments`): the
   expected payments in the next h months, sum_j S(k - 1 + j) / S(k - 1), discounted by
   (1 + d)^-j, the retention-model analogue of FH 2010's DERL over a finite horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln

from .. import columns as C
from .sbg import ShiftedBetaGeometric, ShiftedBetaGeometricFit

__all__ = ["SubscriptionEvidence", "subscription_evidence", "subscription_summary",
           "fit_retention", "expected_payments", "payment_moments"]

#: Gaps between payment days that count as "monthly", in days.
MONTHLY_GAP_DAYS = (25, 35)
#: Share of the customers with >= 3 payments who must pay monthly for the data to count as
#: subscriptions.
SUBSCRIPTION_SHARE = 0.6


@dataclass(frozen=True)
class SubscriptionEvidence:
    """Why data do (or do not) look like subscriptions (frozen).

    Attributes
    ----------
    n_customers : int
        Customers with at least three payment days (the ones that can show a rhythm).
    n_monthly : int
        Of those, the customers whose every gap between payment days is 25 to 35 days.
    share : float
        ``n_monthly / n_customers`` (0 without such customers).
    """

    n_customers: int
    n_monthly: int
    share: float

    @property
    def is_subscription(self) -> bool:
        """True when at least 60% of the customers with three or more payments pay monthly."""
        return self.n_customers >= 10 and self.share >= SUBSCRIPTION_SHARE


def _payment_days(tx: pd.DataFrame) -> pd.DataFrame:
    days = tx[C.DATE].dt.normalize()
    return (tx.assign(_day=days).groupby([C.CUSTOMER_ID, "_day"], sort=True)[C.AMOUNT].sum()
            .reset_index())


def subscription_evidence(tx: pd.DataFrame) -> SubscriptionEvidence:
    """How many customers pay once a month, every month (see `SubscriptionEvidence`).

    Examples
    --------
    >>> days = pd.date_range("2024-01-05", periods=6, freq="MS") + pd.Timedelta(days=4)
    >>> tx = pd.DataFrame({"customer_id": np.repeat([f"c{i}" for i in range(12)], 6),
    ...                    "date": np.tile(days, 12), "amount": 29.0})
    >>> ev = subscription_evidence(tx)
    >>> ev.n_monthly, ev.is_subscription
    (12, True)
    """
    pay = _payment_days(tx)
    gap = pay.groupby(C.CUSTOMER_ID)["_day"].diff().dt.days
    counts = pay.groupby(C.CUSTOMER_ID).size()
    many = counts.index[counts >= 3]
    monthly = gap.between(*MONTHLY_GAP_DAYS) | gap.isna()
    regular = monthly.groupby(pay[C.CUSTOMER_ID]).all().reindex(many)
    n, k = len(many), int(regular.sum())
    return SubscriptionEvidence(n_customers=n, n_monthly=k, share=k / n if n else 0.0)


def subscription_summary(tx: pd.DataFrame, *, last_month: str | pd.Period) -> pd.DataFrame:
    """One row per customer: months paid, still paying, monthly charge (up to ``last_month``).

    Parameters
    ----------
    tx : DataFrame
        Transactions (``customer_id``, ``date``, ``amount``).
    last_month : str or Period
        The last month observed; a customer who paid in it is still paying.

    Returns
    -------
    DataFrame
        Indexed by customer: ``first_month``, ``months_paid`` (k, months from the first to
        the last paid month), ``active`` (paid in ``last_month``), ``charge`` (median
        monthly amount).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-03", "2024-02-03", "2024-03-03",
    ...                                            "2024-01-09"]),
    ...                    "amount": [10.0, 10.0, 12.0, 30.0]})
    >>> subscription_summary(tx, last_month="2024-03")[["months_paid", "active", "charge"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 months_paid  active  charge
    customer_id
    a                      3    True    10.0
    b                      1   False    30.0
    """
    last = pd.Period(last_month, "M")
    tx = tx.loc[tx[C.DATE].dt.to_period("M") <= last]
    month = tx[C.DATE].dt.to_period("M")
    by = tx.assign(_month=month).groupby([C.CUSTOMER_ID, "_month"])[C.AMOUNT].sum()
    g = by.reset_index().groupby(C.CUSTOMER_ID)
    first, final = g["_month"].min(), g["_month"].max()
    paid = np.array([(b - a).n + 1 for a, b in zip(first, final, strict=True)], dtype=int)
    out = pd.DataFrame({"first_month": first, "months_paid": paid, "active": final == last,
                        "charge": g[C.AMOUNT].median()})
    out.index.name = C.CUSTOMER_ID
    return out


class _PooledSBG(ShiftedBetaGeometric):
    """sBG fitted on every customer's (periods, survived) row instead of one cohort's counts."""

    def _prepare(self, data, given, weights, time_unit):
        return data, np.asarray(weights, dtype=float), time_unit


def fit_retention(summary: pd.DataFrame, *, strict: bool = False) -> ShiftedBetaGeometricFit:
    """Fit the sBG model to all customers of `subscription_summary` (monthly periods).

    A customer who paid k months and stopped churned at renewal k; one still paying has
    survived k - 1 renewals (right-censored), see the module notes.

    Examples
    --------
    >>> s = pd.DataFrame({"months_paid": [1, 2, 3, 5, 8, 3, 6, 12],
    ...                   "active": [False, False, False, False, True, True, True, True]})
    >>> fit = fit_retention(s)
    >>> fit.model_name, fit.time_unit
    ('sBG', 'M')
    """
    k = summary["months_paid"].to_numpy(dtype=float)
    active = summary["active"].to_numpy(dtype=bool)
    rows = pd.DataFrame({"period": np.where(active, k - 1, k),
                         "survived": active.astype(float)})
    counted = rows.groupby(["period", "survived"]).size().reset_index(name="w")
    return _PooledSBG()._fit(counted[["period", "survived"]], {},
                             weights=counted["w"].to_numpy(float), time_unit="M",
                             strict=strict)


def expected_payments(fit: ShiftedBetaGeometricFit, months_paid: np.ndarray, *,
                      horizon: int, discount_rate: float = 0.0) -> np.ndarray:
    """Expected (discounted) payments in the next ``horizon`` months of paying subscribers.

    For a subscriber who has paid k months and is still paying:
    sum_{j=1..h} S(k - 1 + j) / S(k - 1) (1 + d)^-j, with S(t) = B(a, b + t) / B(a, b)
    (FH 2007, eq. (8)).

    Examples
    --------
    >>> from clvkit.models import ShiftedBetaGeometricFit
    >>> fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
    >>> expected_payments(fit, np.array([1]), horizon=1).round(3).tolist()  # S(1) = 0.627
    [0.627]
    """
    a, b = fit.params.alpha, fit.params.beta
    n = np.asarray(months_paid, dtype=float)[:, None] - 1
    j = np.arange(1, horizon + 1)[None, :]
    log_s = betaln(a, b + n + j) - betaln(a, b + n)
    return (np.exp(log_s) * (1 + discount_rate) ** -j.astype(float)).sum(axis=1)


def payment_moments(fit: ShiftedBetaGeometricFit, months_paid: np.ndarray, *, horizon: int,
                    discount_rate: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """E[W] and E[W^2] of the discounted payments W of paying subscribers over ``horizon``.

    A subscriber pays months 1..L of the horizon (L their remaining lifetime), so with
    s_k = S(n + k) / S(n) (n = months paid - 1) and discount factors d_k = (1 + d)^-k,
    E[W] = sum_k d_k s_k and E[W^2] = sum_k s_k d_k (2 D_k - d_k), D_k = d_1 + ... + d_k
    (W^2 = sum_{j, k <= L} d_j d_k, and P(L >= max(j, k)) = s_max(j, k)).

    Examples
    --------
    >>> from clvkit.models import ShiftedBetaGeometricFit
    >>> fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
    >>> w1, w2 = payment_moments(fit, np.array([1]), horizon=1)
    >>> round(float(w1[0]), 3), round(float(w2[0]), 3)  # one payment w.p. S(1) = 0.627
    (0.627, 0.627)
    """
    a, b = fit.params.alpha, fit.params.beta
    j = np.arange(1, horizon + 1)
    d = (1 + discount_rate) ** -j.astype(float)
    n = np.asarray(months_paid, dtype=float)[:, None] - 1
    surv = np.exp(betaln(a, b + n + j) - betaln(a, b + n))
    return surv @ d, surv @ (d * (2 * np.cumsum(d) - d))
