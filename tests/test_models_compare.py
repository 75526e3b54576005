"""compare_models: likelihoods, chi-square, holdout errors, degenerate fits (CDNOW, Online Retail).

Published values: BG/NBD LL -9582.4 on the CDNOW sample (Fader, Hardie & Lee 2005, p. 280);
Pareto/NBD LL -9595.0 (Fader & Hardie, note 009 / lifetimes); MBG/NBD parameters as lifetimes
0.11.3 fits them (r 0.5248, alpha 6.183, a 0.8914, b 1.614); Gamma-Gamma p 6.25, q 3.74,
gamma 15.44 (FHL 2005 JMR).
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary, load_cdnow
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import (
    BGNBDFit,
    ParetoNBDFit,
    compare_models,
    error_by_decile,
    probability_of_purchases,
    purchase_count_histogram,
)
from clvkit.summary import rfm_summary

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def summary():
    return rfm_summary(load_cdnow().transactions, observation_end=OBS_END,
                       calibration_end=CAL_END, time_unit="W")


@pytest.fixture(scope="module")
def table(summary):
    return compare_models(summary, spend=False)


def test_likelihoods_are_the_published_ones(table):
    assert list(table.index) == ["BG/NBD", "MBG/NBD", "Pareto/NBD"]
    assert table.loc["BG/NBD", "log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert table.loc["Pareto/NBD", "log_likelihood"] == pytest.approx(-9595.0, abs=0.05)
    mbg = table.attrs["fits"]["MBG/NBD"].params
    np.testing.assert_allclose([mbg.r, mbg.alpha, mbg.a, mbg.b], [0.5248, 6.183, 0.8914, 1.614],
                               rtol=2e-3)
    k, n = 4, 2357
    assert (table["n_params"] == k).all() and (table["n_customers"] == n).all()
    np.testing.assert_allclose(table["aic"], 2 * k - 2 * table["log_likelihood"])
    np.testing.assert_allclose(table["bic"], k * np.log(n) - 2 * table["log_likelihood"])
    assert not table["degenerate"].any() and (table["reason"] == "").all()


def test_chi_square_on_the_count_histogram(summary, table):
    fits = {k: v for k, v in table.attrs["fits"].items()}
    hist = purchase_count_histogram(summary, fits=fits)
    k = table.attrs["max_count"]
    assert hist.attrs["max_count"] == k and list(hist.index)[-1] == f"{k}+"
    x = summary["frequency"].to_numpy()
    np.testing.assert_array_equal(hist["actual"].iloc[:-1], [np.sum(x == i) for i in range(k)])
    assert hist["actual"].iloc[-1] == np.sum(x >= k)
    for name in fits:
        assert hist[name].sum() == pytest.approx(len(summary))
        assert hist[name].min() >= 5  # pooled so every expected count is >= 5
        a, e = hist["actual"].to_numpy(float), hist[name].to_numpy()
        assert table.loc[name, "chi2"] == pytest.approx(np.sum((a - e) ** 2 / e))
        assert table.loc[name, "chi2_dof"] == len(hist) - 1 - 4
    # a finer pooling fails the >= 5 rule for some model: K is the largest that passes
    finer = purchase_count_histogram(summary, fits=fits, max_count=k + 1)
    assert finer.drop(columns="actual").to_numpy().min() < 5
    # the expected count of 0 purchases is sum_i P(X(T_i) = 0), customer by customer
    bg = fits["BG/NBD"]
    direct = sum(probability_of_purchases(bg, t=T, n=0) for T in summary["T"])
    assert hist.loc["0", "BG/NBD"] == pytest.approx(float(direct), rel=1e-10)
    # BG/NBD fits the histogram (FHL 2005, Fig. 3): not rejected at 5%
    assert table.loc["BG/NBD", "chi2_p"] > 0.05


def test_holdout_errors_and_best(summary, table):
    for name, fit in table.attrs["fits"].items():
        pred = fit.conditional_expected_purchases(summary, t=39).to_numpy()
        err = summary["frequency_holdout"].to_numpy() - pred
        assert table.loc[name, "holdout_mae"] == pytest.approx(np.abs(err).mean())
        assert table.loc[name, "holdout_rmse"] == pytest.approx(np.sqrt((err**2).mean()))
    # the rule: models whose squared errors are within 2 standard errors (paired) of the
    # lowest holdout RMSE are tied; the tied model with the lowest BIC is used
    sq = {name: (summary["frequency_holdout"].to_numpy()
                 - fit.conditional_expected_purchases(summary, t=39).to_numpy()) ** 2
          for name, fit in table.attrs["fits"].items()}
    lowest = table["holdout_rmse"].idxmin()
    tied = [m for m in sq if (sq[m] - sq[lowest]).mean()
            <= 2 * (sq[m] - sq[lowest]).std(ddof=1) / np.sqrt(len(summary))]
    assert len(tied) > 1  # on CDNOW the three models' holdout errors are within noise
    assert table.attrs["best"] == table.loc[tied, "bic"].idxmin()
    assert table.attrs["ranking"][:len(tied)] == list(table.loc[tied, "bic"].sort_values().index)
    assert "within noise" in table.attrs["best_reason"]


def test_holdout_given_separately(summary, table):
    cal = summary.drop(columns=["frequency_holdout", "duration_holdout"])
    hold = summary[["frequency_holdout", "duration_holdout"]].iloc[::-1]
    t = compare_models(cal, hold, models=("BGNBD",), spend=False)
    assert t.loc["BG/NBD", "holdout_mae"] == pytest.approx(table.loc["BG/NBD", "holdout_mae"])
    with pytest.raises(DataValidationError, match="no row for"):
        compare_models(cal, hold.iloc[5:], models=("BGNBD",), spend=False)
    none = compare_models(cal, models=("BGNBD", "ParetoNBD"), spend=False)
    assert none["holdout_mae"].isna().all()
    assert none.attrs["best"] == none["bic"].idxmin() and "BIC" in none.attrs["best_reason"]


def test_unknown_model_is_refused(summary):
    with pytest.raises(ClvError, match="BGNBD"):
        compare_models(summary, models=("BG/NBD",))


def test_error_by_decile(summary, table):
    fits = {k: table.attrs["fits"][k] for k in ("BG/NBD", "Pareto/NBD")}
    dec = error_by_decile(summary, fits=fits)
    for name in fits:
        part = dec.loc[name]
        assert list(part.index) == list(range(1, 11))
        assert part["n_customers"].sum() == len(summary)
        assert part["n_customers"].max() - part["n_customers"].min() <= 1
        assert np.all(np.diff(part["predicted"]) >= 0)  # ranked by prediction
        total = (part["actual"] * part["n_customers"]).sum()
        assert total == pytest.approx(summary["frequency_holdout"].sum())
        np.testing.assert_allclose(part["error"], part["actual"] - part["predicted"])


def test_spend_row():
    s = cdnow_summary(with_spend=True)
    t = compare_models(s, models=("BGNBD",))
    gg = t.loc["Gamma-Gamma"]
    np.testing.assert_allclose(
        list(map(float, [x.split("=")[1] for x in gg["params"].split(", ")])),
        [6.25, 3.74, 15.44], rtol=2e-3)
    assert gg["kind"] == "spend" and gg["n_customers"] == 946 and gg["n_params"] == 3
    assert gg["bic"] == pytest.approx(3 * np.log(946) - 2 * gg["log_likelihood"])
    rep = s.loc[s["frequency"] > 0, "monetary_value"]
    assert gg["mean_spend_actual"] == pytest.approx(rep.mean())
    assert gg["mean_spend_model"] == pytest.approx(6.2488 * 15.4477 / (3.7446 - 1), rel=1e-3)
    assert gg["mean_spend_model"] == pytest.approx(gg["mean_spend_actual"], rel=0.01)
    assert gg["reason"] == "" and not gg["degenerate"]
    skewed = s.assign(monetary_value=np.where(s["frequency"] == 1, s["monetary_value"] * 6,
                                              s["monetary_value"]))
    gap = compare_models(skewed, models=("BGNBD",)).loc["Gamma-Gamma"]
    rel = gap["mean_spend_model"] / gap["mean_spend_actual"] - 1
    assert abs(rel) > 0.1 and f"{rel:+.0%} off the actual mean" in gap["reason"]
    assert t.attrs["best"] == "BG/NBD"  # the spend model is never "best"
    no_spend = compare_models(s.drop(columns="monetary_value"), models=("BGNBD",))
    assert "Gamma-Gamma" not in no_spend.index and "monetary_value" in no_spend.attrs["notes"][0]


@pytest.mark.parametrize("t", [0.5, 39.0, 78.0, 500.0])
def test_pareto_pmf_mean_is_the_expected_purchases(t):
    """sum_x x P(X(t) = x) = E[X(t)] of note 009, eq. (27); the pmf sums to 1."""
    fit = ParetoNBDFit.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669, time_unit="W")
    n = np.arange(3000)
    p = probability_of_purchases(fit, t=t, n=n)
    assert (p >= 0).all() and p.sum() == pytest.approx(1, abs=1e-10)
    assert (n * p).sum() == pytest.approx(fit.expected_purchases_new_customer(t), rel=1e-8)


def test_pareto_pmf_matches_lifetimes():
    """lifetimes 0.11.3's conditional pmf (note 013's closed form) at x = t_x = T = 0."""
    lifetimes = pytest.importorskip("lifetimes")
    peer = lifetimes.ParetoNBDFitter()
    peer.params_ = pd.Series({"r": 0.5533, "alpha": 10.5774, "s": 0.6062, "beta": 11.6686})
    fit = ParetoNBDFit.from_params(r=0.5533, alpha=10.5774, s=0.6062, beta=11.6686,
                                   time_unit="W")
    for t in (13.0, 39.0):
        want = [peer.conditional_probability_of_n_purchases_up_to_time(n, t, 0, 0, 0)
                for n in range(6)]
        np.testing.assert_allclose(probability_of_purchases(fit, t=t, n=np.arange(6)), want,
                                   rtol=1e-8)


def test_pareto_pmf_without_dropout_is_the_nbd():
    """With (almost) no dropout the Pareto/NBD count is the NBD, as the BG/NBD with b huge."""
    pnbd = ParetoNBDFit.from_params(r=0.5, alpha=8.0, s=1e-3, beta=1e6, time_unit="W")
    bg = BGNBDFit.from_params(r=0.5, alpha=8.0, a=1e-3, b=1e6, time_unit="W")
    n = np.arange(10)
    np.testing.assert_allclose(probability_of_purchases(pnbd, t=20, n=n),
                               probability_of_purchases(bg, t=20, n=n), rtol=1e-6)
    with pytest.raises(ClvError, match="Pareto/NBD"):
        probability_of_purchases(object(), t=1, n=0)


# --- Online Retail: the purchase models degenerate (issue 12) --------------------------------


@pytest.fixture(scope="module")
def retail(online_retail):
    return online_retail.transactions


def test_online_retail_holdout_every_purchase_model_degenerate(retail):
    s = rfm_summary(retail, observation_end="2011-12-09", calibration_end="2011-09-09",
                    time_unit="W")
    t = compare_models(s)
    purchases = t[t["kind"] == "purchases"]
    assert purchases["degenerate"].all()
    for name, row in purchases.iterrows():
        assert "P(alive) > 0.99 for 100.0% of customers" in row["reason"], name
        pa = t.attrs["fits"][name].p_alive(s)
        assert (pa > 0.99).mean() == 1.0
    assert t.attrs["best"] is None and "every purchase model is degenerate" in \
        t.attrs["best_reason"]
    assert not t.loc["Gamma-Gamma", "degenerate"]


def test_online_retail_bgnbd_converges_but_is_flagged(retail):
    """The whole year (issue 12's setting): the optimiser succeeds with a ~ 0, the flag fires."""
    s = rfm_summary(retail, observation_end="2011-12-09", time_unit="W")
    t = compare_models(s, models=("BGNBD",), spend=False)
    fit = t.attrs["fits"]["BG/NBD"]
    assert fit.success and fit.params.a < 0.01
    share = float((fit.p_alive(s) > 0.99).mean())
    assert 0.99 < share < 1
    assert t.loc["BG/NBD", "degenerate"]
    assert f"P(alive) > 0.99 for {share:.1%} of customers" in t.loc["BG/NBD", "reason"]
    assert t.attrs["best"] is None


def test_degenerate_reasons_by_rule():
    """Each rule on its own: a parameter at the bound e^+-20, P(alive) ~ 1 for all."""
    from clvkit.models.compare import degenerate_reasons

    at_bound = BGNBDFit.from_params(r=0.24, alpha=4.4, a=np.exp(-20), b=2.4, time_unit="W")
    reasons = degenerate_reasons(at_bound, "", None)
    assert len(reasons) == 1 and "at the optimiser bound" in reasons[0] and "a=2.06e-09" in \
        reasons[0]
    fine = BGNBDFit.from_params(r=0.24, alpha=4.4, a=0.79, b=2.4, time_unit="W")
    assert degenerate_reasons(fine, "", pd.Series([0.5, 1.0])) == []
    alive = pd.Series(np.r_[np.full(995, 0.999), np.full(5, 0.5)])
    assert "99.5% of customers" in degenerate_reasons(fine, "", alive)[0]
    assert degenerate_reasons(fine, "", pd.Series(np.r_[np.full(99, 0.999), 0.5])) == []  # 99%: ok
    assert "did not converge" in degenerate_reasons(fine, "ConvergenceWarning: ...", None)[0]


def test_table_survives_pandas_operations(table):
    """attrs hold the fits: copying, rounding and concatenating the table still work."""
    both = pd.concat([table, table.round(2)])
    assert len(both) == 6 and both.attrs["best"] == table.attrs["best"]


def test_fits_with_non_finite_predictions_are_flagged_not_fatal():
    # 40 customers over four months: the fits run off (r ~ 1e7) and BG/NBD's holdout
    # predictions overflow to NaN; the table says so, silently (no RuntimeWarning)
    import warnings

    rng = np.random.default_rng(7)
    rows = []
    for cust in range(1, 41):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 100)))
        for k in range(int(rng.integers(1, 5))):
            day = first + pd.Timedelta(days=int(k * rng.integers(10, 40)))
            if day > pd.Timestamp("2024-05-02"):
                break
            rows.append((cust, day, 10.0))
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    s = rfm_summary(tx, observation_end="2024-05-01", calibration_end="2024-04-01",
                    time_unit="W")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        t = compare_models(s, spend=False)
    assert t["degenerate"].all() and t.attrs["best"] is None
    bg = t.loc["BG/NBD"]
    n = len(s)
    assert f"expected holdout purchases are not finite for {n} of {n} customers" in bg["reason"]
    assert np.isnan(bg["holdout_mae"]) and np.isfinite(bg["log_likelihood"])
