"""Shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, 2010).

References: Fader, P. S. & Hardie, B. G. S. (2007). How to Project Customer Retention.
*Journal of Interactive Marketing* 21(1), 76-90 (P(T = t) and S(t): eqs. (7)-(8),
log-likelihood: eq. (B3) of the appendix). Fader, P. S. & Hardie, B. G. S. (2010).
Customer-Base Valuation in a Contractual Setting: The Perils of Ignoring Heterogeneity.
*Marketing Science* 29(1), 85-93 (DEL and DERL).

Each customer renews at the end of every period with a constant probability 1 - theta;
theta ~ Beta(alpha, beta) across customers. The model is fitted on the number of
customers of one cohort still active at the start of periods 0, 1, ..., n.

With time-invariant covariates (e.g. plan type) it is fitted on one row per customer
(``periods`` observed, ``churned`` or not) and each customer has their own
alpha_i = alpha0 exp(gamma_alpha . z_i) and beta_i = beta0 exp(gamma_beta . z_i). This is the
treatment of the beta-distributed dropout probability of the BG/NBD in Fader, P. S. &
Hardie, B. G. S. (2007), "Incorporating Time-Invariant Covariates into the Pareto/NBD and
BG/NBD Models", brucehardie.com note 019, section 3 (a = a0 exp(gamma_2' x), b = b0
exp(gamma_3' x)), applied to the sBG, whose churn probability has the same beta mixing
distribution; the likelihood of each customer is that of FH (2007) eq. (B3) at their own
(alpha_i, beta_i). A positive ``alpha.`` coefficient raises the mean churn probability
alpha_i / (alpha_i + beta_i), a positive ``beta.`` coefficient lowers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, hyp2f1

from .._validate import check_nonnegative, check_one_of
from ..errors import ClvError, DataValidationError
from ..units import TIME_UNITS
from ._base import (
    FittedModel,
    Model,
    check_not_empty,
    check_periods,
    fail_rows,
    read_weights,
    scalar_or_array,
)
from .covariates import RowGroups, StaticCovariatesFit, fit_static

__all__ = ["ShiftedBetaGeometric", "ShiftedBetaGeometricParams", "ShiftedBetaGeometricFit",
           "ShiftedBetaGeometricCovariatesFit"]


def survival_rows(a: Any, b: Any, t: Any) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta) (FH 2007, eq. (8)), broadcast."""
    return np.exp(betaln(a, b + t) - betaln(a, b))


def derl_rows(a: Any, b: Any, n: Any, d: float) -> np.ndarray:
    """DERL(d | alpha, beta, n - 1) of FH (2010) eq. (6); n = 0 gives DEL (eq. (4)), broadcast."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lead = np.where(n == 0, 1.0, (b + n - 1) / (a + b + n - 1))
    return lead * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + d))


def _discount(discount_rate: float) -> float:
    d = float(check_nonnegative("discount_rate", discount_rate))
    if not d > 0:
        raise DataValidationError("`discount_rate` must be > 0 (DERL is infinite at 0 "
                                  "when alpha <= 1)")
    return d


@dataclass(frozen=True)
class ShiftedBetaGeometricParams:
    """sBG parameters: per-period churn probability theta ~ Beta(alpha, beta)."""

    alpha: float
    beta: float


@dataclass(frozen=True)
class ShiftedBetaGeometricFit(FittedModel):
    """A fitted sBG model (frozen). Periods are counted in ``time_unit``.

    Examples
    --------
    Fader & Hardie (2007), "regular" cohort, survivors per 1000 in years 0-7, and the
    projection for years 8-12 (the paper's observed values: 223, 207, 194, 183, 173):

    >>> from clvkit.models import ShiftedBetaGeometric
    >>> fit = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241],
    ...                                  time_unit="Y")
    >>> fit.params_series().round(3).tolist()
    [0.704, 1.182]
    >>> (1000 * fit.survival([8, 9, 10, 11, 12])).round().tolist()
    [220.0, 204.0, 191.0, 180.0, 170.0]
    """

    params: ShiftedBetaGeometricParams
    model_name: ClassVar[str] = "sBG"

    def churn_probability(self, t: Any) -> np.ndarray | float:
        """Compute P(T = t): probability of churning at renewal opportunity t (eq. 7).

        P(T = t | alpha, beta) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t = 1, 2, ...

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.

        Returns
        -------
        ndarray or float
            A float if the input is a scalar.

        Raises
        ------
        DataValidationError
            Not whole numbers in range (names the positions and values).

        Examples
        --------
        >>> from clvkit.models import ShiftedBetaGeometricFit
        >>> fit = ShiftedBetaGeometricFit.from_params(alpha=1.0, beta=1.0, time_unit="Y")
        >>> fit.churn_probability([1, 2, 3]).round(4)
        array([0.5   , 0.1667, 0.0833])
        """
        t = check_periods("t", t, start=1)
        a, b = self.params.alpha, self.params.beta
        return scalar_or_array(np.exp(betaln(a + 1, b + t - 1) - betaln(a, b)))

    def survival(self, t: Any) -> np.ndarray | float:
        """Compute S(t) = P(T > t): share of the cohort still a customer after t periods (eq. 8).

        S(t | alpha, beta) = B(alpha, beta + t) / B(alpha, beta), t = 0, 1, 2, ...

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 0.

        Returns
        -------
        ndarray or float
            A float if the input is a scalar.

        Raises
        ------
        DataValidationError
            Not whole numbers in range (names the positions and values).

        Examples
        --------
        >>> from clvkit.models import ShiftedBetaGeometricFit
        >>> fit = ShiftedBetaGeometricFit.from_params(alpha=1.0, beta=1.0, time_unit="Y")
        >>> fit.survival([0, 1, 3]).round(4)
        array([1.  , 0.5 , 0.25])
        """
        t = check_periods("t", t, start=0)
        return scalar_or_array(survival_rows(self.params.alpha, self.params.beta, t))

    def retention_rate(self, t: Any) -> np.ndarray | float:
        """Compute r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1).

        The retention rate rises with t: the cohort is sorted, the most loyal remain
        (Fader & Hardie 2007, section "The Retention Rate"; eq. (9)).

        Parameters
        ----------
        t : int or array-like of int
            Periods, >= 1.

        Returns
        -------
        ndarray or float
            A float if the input is a scalar.

        Raises
        ------
        DataValidationError
            Not whole numbers in range (names the positions and values).

        Examples
        --------
        >>> from clvkit.models import ShiftedBetaGeometricFit
        >>> fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
        >>> fit.retention_rate([1, 2, 5]).round(3)
        array([0.627, 0.756, 0.88 ])
        """
        t = check_periods("t", t, start=1)
        a, b = self.params.alpha, self.params.beta
        return scalar_or_array((b + t - 1) / (a + b + t - 1))

    def discounted_expected_lifetime(self, *, discount_rate: float) -> float:
        """Compute DEL, a new customer's discounted expected lifetime in periods (FH 2010).

        DEL(d | alpha, beta) = sum_t S(t) / (1 + d)^t = 2F1(1, beta; alpha + beta; 1/(1+d))
        (Fader & Hardie 2010, eq. (4)): the first payment (t = 0) counts in full.
        Multiply by the margin per period for the expected CLV of a new customer.

        Parameters
        ----------
        discount_rate : float
            Discount rate per period (``time_unit``), > 0.

        Returns
        -------
        float

        Examples
        --------
        >>> from clvkit.models import ShiftedBetaGeometricFit
        >>> fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
        >>> round(fit.discounted_expected_lifetime(discount_rate=0.1), 3)
        3.695
        """
        return float(self.derl(discount_rate=discount_rate, renewals=-1))

    def derl(self, *, discount_rate: float, renewals: Any) -> np.ndarray | float:
        """Compute DERL, discounted expected residual lifetime of an active customer (FH 2010).

        For a customer who has made ``renewals`` = n - 1 renewals and now faces renewal n,
        DERL(d | alpha, beta, n - 1) = (beta + n - 1) / (alpha + beta + n - 1)
        2F1(1, beta + n; alpha + beta + n; 1/(1+d)) (Fader & Hardie 2010, eq. (6)): the
        expected number of future payments, the next one undiscounted and the k-th after
        it discounted by (1 + d)^k. ``renewals = -1`` gives DEL.

        Parameters
        ----------
        discount_rate : float
            Discount rate per period, > 0.
        renewals : int or array-like of int
            Renewals made so far (n - 1), >= 0 (or -1 for a customer not yet acquired).

        Returns
        -------
        ndarray or float
            A float if the input is a scalar.

        Raises
        ------
        DataValidationError
            Not whole numbers in range (names the positions and values).

        Examples
        --------
        >>> from clvkit.models import ShiftedBetaGeometricFit
        >>> fit = ShiftedBetaGeometricFit.from_params(alpha=0.704, beta=1.182, time_unit="Y")
        >>> fit.derl(discount_rate=0.1, renewals=[0, 4]).round(3)
        array([2.965, 5.894])
        """
        d = _discount(discount_rate)
        n = check_periods("renewals", renewals, start=-1) + 1
        return scalar_or_array(derl_rows(self.params.alpha, self.params.beta, n, d))


_CUSTOMER_COLUMNS = ("periods", "churned")


@dataclass(frozen=True)
class ShiftedBetaGeometricCovariatesFit(StaticCovariatesFit):
    """An sBG fitted with time-invariant covariates (frozen); see `ShiftedBetaGeometric.fit`.

    ``params`` are alpha0 and beta0 of a customer whose covariates are all 0 (every
    reference level); coefficients ``alpha.<column>`` and ``beta.<column>`` act as
    alpha_i = alpha0 exp(gamma_alpha . z_i), beta_i = beta0 exp(gamma_beta . z_i).
    `customer_model` gives one customer's plain sBG (survival, retention rate, DEL, ...).

    Examples
    --------
    Two plans, each a cohort of Fader & Hardie (2007): "regular" and "high end":

    >>> from clvkit.models import ShiftedBetaGeometric
    >>> regular, high = [1000, 631, 468, 382, 326, 289, 262, 241], [1000, 869, 743, 653,
    ...                                                           593, 551, 517, 491]
    >>> customers = pd.concat([ShiftedBetaGeometric.customers_from_survivors(regular),
    ...                        ShiftedBetaGeometric.customers_from_survivors(high)],
    ...                       ignore_index=True)
    >>> plan = pd.DataFrame({"plan": ["regular"] * 1000 + ["high end"] * 1000})
    >>> fit = ShiftedBetaGeometric().fit(customers, covariates=plan, life=["plan"],
    ...                                  reference={"plan": "regular"}, time_unit="Y")
    >>> fit.params_series().round(3).tolist()  # the regular cohort's own fit
    [0.704, 1.182]
    >>> fit.customer_params(pd.DataFrame({"plan": ["high end"]})).round(3).values.tolist()
    [[0.668, 3.806]]
    """

    model_name: ClassVar[str] = "sBG with static covariates"

    def survival(self, covariates: pd.DataFrame, *, t: Any) -> pd.DataFrame:
        """Compute S(t) of customers with these covariates (FH 2007 eq. (8) at alpha_i, beta_i).

        Parameters
        ----------
        covariates : DataFrame
            One row per customer with the fit's covariate columns (any index).
        t : int or array-like of int
            Periods, >= 0.

        Returns
        -------
        DataFrame
            One row per customer, one column per period t.
        """
        t = np.atleast_1d(check_periods("t", t, start=0))
        a, b = self._values_for(covariates)
        return pd.DataFrame(survival_rows(a[:, None], b[:, None], t[None, :]),
                            index=covariates.index, columns=pd.Index(t.astype(int), name="t"))

    def derl(self, data: pd.DataFrame, *, discount_rate: float,
             covariates: pd.DataFrame | None = None) -> pd.Series:
        """Compute each active customer's DERL at their own alpha_i, beta_i (FH 2010 eq. (6)).

        A customer still active after ``periods`` periods has made that many renewals;
        customers who churned get 0.

        Parameters
        ----------
        data : DataFrame
            ``periods`` and ``churned`` per customer, indexed by customer id.
        discount_rate : float
            Discount rate per period, > 0.
        covariates : DataFrame, optional
            Indexed by customer id (default: the fitted customers' own).

        Returns
        -------
        Series
            ``derl`` in periods of ``time_unit``, indexed like ``data``.
        """
        d = _discount(discount_rate)
        frame = ShiftedBetaGeometric()._prepare_customers(data, {}, None, self.time_unit)[0]
        (a, b), group = self._grouped(frame.index, covariates)
        n = frame["period"].to_numpy() + 1
        value = np.where(frame["survived"].to_numpy() > 0,
                         derl_rows(a[group], b[group], n, d), 0.0)
        return pd.Series(value, index=frame.index, name="derl").rename_axis(frame.index.name)

    def discounted_expected_lifetime(self, covariates: pd.DataFrame, *,
                                     discount_rate: float) -> pd.Series:
        """Compute DEL of new customers with these covariates (FH 2010 eq. (4)).

        Returns
        -------
        Series
            ``del`` in periods, indexed like ``covariates``.
        """
        a, b = self._values_for(covariates)
        return pd.Series(derl_rows(a, b, 0, _discount(discount_rate)), index=covariates.index,
                         name="del")


class ShiftedBetaGeometric(RowGroups, Model):
    """Shifted-beta-geometric retention model for one contractual cohort (FH 2007).

    Examples
    --------
    Fader & Hardie (2007), "high end" cohort:

    >>> fit = ShiftedBetaGeometric().fit([1000, 869, 743, 653, 593, 551, 517, 491],
    ...                                  time_unit="Y")
    >>> fit.params_series().round(3).tolist()
    [0.668, 3.806]
    """

    params_type = ShiftedBetaGeometricParams
    result_type = ShiftedBetaGeometricFit
    covariates_result_type = ShiftedBetaGeometricCovariatesFit
    #: process -> (parameter, sign): p_i = p0 exp(sign gamma_process . z_i) (note 019, sec. 3)
    covariate_links: ClassVar[dict[str, tuple[tuple[str, int], ...]]] = {
        "alpha": (("alpha", 1),), "beta": (("beta", 1),)}

    def fit(self, survivors: Any, *, time_unit: str, strict: bool = True,
            covariates: pd.DataFrame | None = None, life: Any = (), constrain: Any = (),
            regularization: Any = None,
            reference: Any = None) -> ShiftedBetaGeometricFit | ShiftedBetaGeometricCovariatesFit:
        """Fit alpha and beta to a cohort's survivor counts (FH 2007, eq. (B3)).

        With ``covariates`` the data are one row per customer and every customer has their
        own alpha_i and beta_i (see the module notes; FH note 019, section 3).

        Parameters
        ----------
        survivors : array-like, Series or DataFrame
            Without covariates: customers still active at the start of periods 0, 1, ...,
            n (the first value is the cohort size); non-increasing whole numbers. With
            covariates: a DataFrame indexed by customer id with ``periods`` (a churned
            customer: the renewal opportunity at which they left, >= 1; an active one: the
            periods completed, >= 0) and ``churned`` (True/False or 1/0); build it from
            cohort counts with `customers_from_survivors`.
        time_unit : {"D", "W", "M", "Y"}
            Length of one period (e.g. ``"Y"`` for annual contracts).
        strict : bool, default True
            Raise `ConvergenceError` on non-convergence or a degenerate estimate (else warn,
            ``success=False``).
        covariates : DataFrame, optional
            Time-invariant covariates indexed by customer id (e.g. plan type).
        life : sequence of str
            Covariate columns; each gets a coefficient on alpha (``alpha.<column>``) and one
            on beta (``beta.<column>``).
        constrain : sequence of str
            Design columns whose coefficient is one shared by alpha and beta
            (``constr.<column>``: the mean churn probability stays, its spread changes; the
            form CLVTools uses for the BG/NBD's a and b).
        regularization : mapping, optional
            ``{"alpha": lambda, "beta": lambda}``: L2 penalty on the coefficients added to
            the mean negative log-likelihood (as CLVTools' ``reg.lambdas``).
        reference : mapping, optional
            Reference level of categorical covariates (default: first level in sorted order).

        Returns
        -------
        ShiftedBetaGeometricFit or ShiftedBetaGeometricCovariatesFit
        """
        if covariates is None:
            if life or constrain or regularization or reference:
                raise ClvError("`life`/`constrain`/`regularization`/`reference` need "
                               "`covariates=`")
            return self._fit(survivors, {}, weights=None, time_unit=time_unit, strict=strict)
        return fit_static(self, survivors, covariates=covariates,
                          processes={"alpha": life, "beta": life}, constrain=constrain,
                          regularization=regularization, reference=reference,
                          time_unit=time_unit, strict=strict)

    @classmethod
    def customers_from_survivors(cls, survivors: Any) -> pd.DataFrame:
        """One row per customer (``periods``, ``churned``) from a cohort's survivor counts.

        The counts are checked as by `fit` (whole numbers, not increasing, cohort not empty).

        Examples
        --------
        >>> ShiftedBetaGeometric.customers_from_survivors([3, 2, 1]).to_dict("list")
        {'periods': [1, 2, 2], 'churned': [True, True, False]}
        """
        cls()._prepare(survivors, {}, None, "Y")  # the checks only; the unit does not matter
        s = np.asarray(survivors, dtype=float).astype(np.int64)
        churned = -np.diff(s)
        n = len(s) - 1
        periods = np.r_[np.repeat(np.arange(1, n + 1), churned), np.full(s[-1], n)]
        flag = np.r_[np.ones(churned.sum(), dtype=bool), np.zeros(s[-1], dtype=bool)]
        return pd.DataFrame({"periods": periods, "churned": flag}).rename_axis("customer_id")

    def _prepare_customers(self, data, given, weights, time_unit):
        """One row per customer: ``period`` and ``survived`` as in `_prepare`'s rows."""
        unit = check_one_of("time_unit", time_unit, TIME_UNITS)
        if not isinstance(data, pd.DataFrame):
            raise DataValidationError(
                "with covariates the sBG needs one row per customer: a DataFrame indexed by "
                "customer id with `periods` and `churned` (see customers_from_survivors)")
        missing = [c for c in _CUSTOMER_COLUMNS if c not in data.columns]
        if missing:
            raise DataValidationError(f"missing column(s) {missing}; the sBG with covariates "
                                      f"needs {list(_CUSTOMER_COLUMNS)} (got {list(data.columns)})")
        check_not_empty(data)
        periods = pd.to_numeric(data["periods"], errors="coerce")
        fail_rows(data, periods.isna() | (periods < 0) | (periods != periods.round()),
                  "`periods` is not a whole number >= 0", "give the periods observed")
        churned = data["churned"]
        flag = churned.map({True: 1.0, False: 0.0})  # 1 == True, 0 == False as keys
        fail_rows(data, flag.isna(), "`churned` is not True/False (or 1/0)",
                  "mark each customer churned or not")
        fail_rows(data, (flag == 1) & (periods < 1), "`churned` at period 0",
                  "a churned customer left at a renewal opportunity >= 1")
        frame = pd.DataFrame({"period": periods.to_numpy(dtype=float),
                              "survived": 1.0 - flag.to_numpy(dtype=float)}, index=data.index)
        return frame, read_weights(frame, weights), unit

    def _prepare(self, data, given, weights, time_unit):
        unit = check_one_of("time_unit", time_unit, TIME_UNITS)
        s = pd.Series(np.asarray(data, dtype=float)).rename_axis("period")
        if len(s) < 2:
            raise DataValidationError("`survivors` needs the cohort size and at least one "
                                      "later period")
        frame = s.to_frame("survivors")
        fail_rows(frame, s.isna(), "`survivors` is missing (NaN)", "give every period")
        fail_rows(frame, (s < 0) | (s != s.round()), "`survivors` is not a whole number >= 0",
                  "give counts of active customers")
        fail_rows(frame, s.diff() > 0, "`survivors` increases",
                  "counts of one cohort can only fall; start a new cohort instead")
        if s.iloc[0] <= 0:
            raise DataValidationError("`survivors` starts at 0: the cohort is empty")
        n = len(s) - 1
        churned = -np.diff(s.to_numpy())
        # rows: churn at t = 1..n (weight: churned), still active after n (weight: survivors)
        out = pd.DataFrame({"period": np.r_[np.arange(1, n + 1), n],
                            "survived": np.r_[np.zeros(n), 1.0]})
        return out, np.r_[churned, s.iloc[-1]], unit

    def _start(self, d, w):
        return np.array([1.0, 1.0])

    def _loglik(self, p, d, grad):
        a, b = p
        t, alive = d["period"], d["survived"] > 0
        # churn at t: B(a + 1, b + t - 1) / B(a, b); survive t periods: B(a, b + t) / B(a, b)
        x1, x2 = np.where(alive, a, a + 1), np.where(alive, b + t, b + t - 1)
        ll = betaln(x1, x2) - betaln(a, b)
        if not grad:
            return ll, None
        psi12, psi_ab = digamma(x1 + x2), digamma(a + b)
        da = digamma(x1) - psi12 - digamma(a) + psi_ab
        db = digamma(x2) - psi12 - digamma(b) + psi_ab
        return ll, np.vstack([da, db])


ShiftedBetaGeometricCovariatesFit._model_type = ShiftedBetaGeometric
