"""Tests of clvkit.crm: hand-computed fixtures, brute-force references, synthetic recovery."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from clvkit import crm
from clvkit.errors import ClvError, DataValidationError


def _tx(rows):
    """Build transactions from (customer_id, 'YYYY-MM-DD', amount[, order_id]) tuples."""
    cols = ["customer_id", "date", "amount", "order_id"][: len(rows[0])]
    df = pd.DataFrame(rows, columns=cols)
    df["date"] = pd.to_datetime(df["date"])
    return df


@pytest.fixture
def small():
    # Jan: 1, 2, 3 (3 buys twice on one day, 2 orders by order_id)
    # Feb: 1, 4;  Mar: nobody;  Apr: 1, 2
    return _tx([
        (1, "2024-01-05", 10.0, 1), (2, "2024-01-10", 20.0, 2), (3, "2024-01-31", 5.0, 3),
        (3, "2024-01-31", 15.0, 4), (1, "2024-02-01", 30.0, 5), (4, "2024-02-14", 40.0, 6),
        (1, "2024-04-02", 50.0, 7), (2, "2024-04-30", 60.0, 8),
    ])


@pytest.fixture
def random_tx():
    rng = np.random.default_rng(3)
    n = 600
    return pd.DataFrame({
        "customer_id": rng.integers(0, 120, n),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "amount": rng.gamma(2.0, 20.0, n).round(2),
    })


@pytest.fixture(scope="module")
def synthetic():
    synthetic = pytest.importorskip("clvkit.synthetic")
    return synthetic.generate_crm(n_customers=20_000, months=24, seed=11)


# ----------------------------------------------------------------- activity (hand-computed)

def test_active_new_returning_by_hand(small):
    nvr = crm.new_vs_returning(small)
    assert list(nvr.index.astype(str)) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert nvr["active"].tolist() == [3, 2, 0, 2]
    assert nvr["new"].tolist() == [3, 1, 0, 0]
    assert nvr["returning"].tolist() == [0, 1, 0, 2]
    assert crm.active_customers(small).tolist() == [3, 2, 0, 2]


def test_calendar_months_not_30_day_blocks():
    # 31 Jan and 1 Feb are consecutive calendar months; 1 Jan and 31 Jan the same month
    tx = _tx([(1, "2024-01-01", 1.0), (1, "2024-01-31", 1.0), (1, "2024-02-01", 1.0)])
    assert crm.active_customers(tx).tolist() == [1, 1]
    assert crm.retention_rate(tx).tolist()[1] == 1.0


def test_retention_by_hand(small):
    r = crm.retention_rate(small)
    # Feb: of {1,2,3} only 1 is back -> 1/3; Mar: 0/2; Apr: previous period idle -> NaN
    assert np.isnan(r.iloc[0])
    assert r.iloc[1] == pytest.approx(1 / 3)
    assert r.iloc[2] == 0.0
    assert np.isnan(r.iloc[3])


def test_churn_inactive_by_hand_with_reactivation(small):
    c = crm.churn_rate(small, inactive_periods=2)
    # base end Jan {1,2,3}; end Feb {1,2,3,4}; Mar: 2 and 3 reach 2 idle months -> 2/4
    # end Mar base {1,4}; Apr: 4 churns (idle Mar, Apr) -> 1/2; 2 re-enters in Apr
    # Feb: nobody can have been idle for 2 months yet -> undefined (NaN), not 0
    assert np.isnan(c.iloc[0]) and np.isnan(c.iloc[1])
    assert c.iloc[2:].tolist() == [0.5, 0.5]
    assert "no purchase in 2 consecutive calendar months" in c.attrs["definition"]


def _brute_force_churn(tx, n_idle):
    """Reference: loop over periods and customers (slow, obviously correct)."""
    p = tx["date"].dt.to_period("M")
    periods = pd.period_range(p.min(), p.max(), freq="M")
    active = {t: set(tx.loc[p == t, "customer_id"]) for t in periods}
    last = {}
    base_prev, rates = set(), []
    for i, t in enumerate(periods):
        for c in active[t]:
            last[c] = i
        base = {c for c, s in last.items() if i - s < n_idle}
        churned = {c for c, s in last.items() if i - s == n_idle}
        rates.append(len(churned) / len(base_prev) if i >= n_idle and base_prev else np.nan)
        base_prev = base
    return np.array(rates)


@pytest.mark.parametrize("n_idle", [1, 2, 3, 5])
def test_churn_matches_brute_force(random_tx, n_idle):
    ours = crm.churn_rate(random_tx, inactive_periods=n_idle).to_numpy()
    np.testing.assert_allclose(ours, _brute_force_churn(random_tx, n_idle), equal_nan=True)


def test_churn_one_period_is_one_minus_retention(random_tx):
    churn = crm.churn_rate(random_tx, inactive_periods=1)
    retention = crm.retention_rate(random_tx)
    np.testing.assert_allclose(churn, 1 - retention, equal_nan=True)


def test_churn_p_alive_series_and_snapshots(small):
    p_alive = pd.Series([0.9, 0.45, 0.2, 0.7], index=[1, 2, 3, 4])
    r = crm.churn_rate(small, definition="p_alive", p_alive=p_alive, threshold=0.5)
    assert str(r.index[0]) == "2024-04"
    assert r.iloc[0] == 0.5
    snaps = pd.DataFrame({"2024-03": [0.9, 0.2, np.nan], "2024-04": [0.3, 0.2, 0.8]})
    r2 = crm.churn_rate(small, definition="p_alive", p_alive=snaps, threshold=0.5)
    assert r2.tolist() == [0.5, pytest.approx(2 / 3)]
    with pytest.raises(ClvError, match="p_alive"):
        crm.churn_rate(small, definition="p_alive")
    with pytest.raises(ClvError, match="definition"):
        crm.churn_rate(small, definition="silent")
    with pytest.raises(ClvError, match="inactive_periods"):
        crm.churn_rate(small, inactive_periods=0)


def test_orders_by_order_id_or_customer_day(small):
    # 8 rows, 8 order ids; without order_id customer 3's two rows on 31 Jan are one order
    assert crm.purchase_frequency(small) == 2.0
    assert crm.purchase_frequency(small.drop(columns="order_id")) == 7 / 4
    assert crm.average_order_value(small) == pytest.approx(230 / 8)
    assert crm.average_order_value(small.drop(columns="order_id")) == pytest.approx(230 / 7)
    assert crm.revenue_per_customer(small) == pytest.approx(230 / 4)
    # customers 1 and 2 have >= 2 orders; 3 has two orders on one day only when order_id counts
    assert crm.repeat_purchase_rate(small) == 0.75
    assert crm.repeat_purchase_rate(small.drop(columns="order_id")) == 0.5


def test_monthly_kpis_consistent_with_single_metrics(small):
    k = crm.monthly_kpis(small, inactive_periods=2)
    assert k["revenue"].tolist() == [50.0, 70.0, 0.0, 110.0]
    assert k["orders"].tolist() == [4, 2, 0, 2]
    np.testing.assert_allclose(k["average_order_value"], [12.5, 35.0, np.nan, 55.0])
    np.testing.assert_allclose(k["retention_rate"], crm.retention_rate(small))
    np.testing.assert_allclose(k["churn_rate"], crm.churn_rate(small, inactive_periods=2))
    np.testing.assert_allclose(k["orders_per_customer"],
                               crm.purchase_frequency(small, period="M"))
    np.testing.assert_allclose(k["returning_share"], [0.0, 0.5, np.nan, 1.0])
    assert "repeat_rate" not in k       # split into returning_share / repeat_purchase_rate
    # cumulative: customers with 2+ orders among all customers seen up to each month end
    for period, value in k["repeat_purchase_rate"].items():
        upto = small[small["date"].dt.to_period("M") <= period]
        assert value == pytest.approx(crm.repeat_purchase_rate(upto)), period
    assert k.attrs["churn_definition"] == "no purchase in 2 consecutive calendar months"


@pytest.mark.parametrize("period", ["D", "W", "Q", "Y"])
def test_other_periods_preserve_totals(random_tx, period):
    k = crm.monthly_kpis(random_tx, period=period)
    assert k.index.freqstr.startswith(period)
    assert k["revenue"].sum() == pytest.approx(random_tx["amount"].sum())
    assert k["new_customers"].sum() == random_tx["customer_id"].nunique()
    assert ((k["retention_rate"].dropna() >= 0) & (k["retention_rate"].dropna() <= 1)).all()


def test_bad_input_raises_clear_errors(small):
    with pytest.raises(DataValidationError, match="negative"):
        crm.monthly_kpis(pd.concat([small, _tx([(1, "2024-01-06", -5.0, 1)])]))
    with pytest.raises(DataValidationError, match="missing column"):
        crm.active_customers(small.drop(columns="amount"))
    with pytest.raises(DataValidationError, match="datetime64"):
        crm.active_customers(small.assign(date=small["date"].astype(str)))
    with pytest.raises(DataValidationError, match="no rows"):
        crm.cohort_matrix(small.iloc[:0])
    with pytest.raises(ClvError, match="period"):
        crm.active_customers(small, period="30D")
    with pytest.raises(ClvError, match="value"):
        crm.cohort_matrix(small, value="profit")


def test_inputs_not_mutated(small):
    before = small.copy()
    crm.monthly_kpis(small)
    crm.cohort_matrix(small, value="revenue")
    crm.cumulative_value(small)
    pd.testing.assert_frame_equal(small, before)


# ----------------------------------------------------------------- cohorts

def test_cohort_matrix_by_hand(small):
    m = crm.cohort_matrix(small, value="customers")
    # Jan cohort {1,2,3}: age0 3, age1 {1} 1, age2 0, age3 {1,2} 2; Feb cohort {4}: 1,0,0,NaN
    np.testing.assert_array_equal(m.iloc[0], [3, 1, 0, 2])
    np.testing.assert_array_equal(m.iloc[1], [1, 0, 0, np.nan])
    assert m.iloc[2:].isna().all().all()      # no cohort acquired in Mar/Apr
    assert m.columns.name == "months_since_acquisition"
    r = crm.cohort_matrix(small)
    np.testing.assert_allclose(r.iloc[0], [1, 1 / 3, 0, 2 / 3])
    rev = crm.cohort_matrix(small, value="revenue")
    np.testing.assert_allclose(rev.iloc[0], [50, 30, 0, 110])
    assert r.attrs["cohort_size"].tolist() == [3, 1, 0, 0]


def test_cohort_matrix_brute_force_and_totals(random_tx):
    m = crm.cohort_matrix(random_tx, value="customers")
    p = random_tx["date"].dt.to_period("M")
    first = p.groupby(random_tx["customer_id"]).transform("min")
    age = (p - first).map(lambda off: off.n)
    ref = (pd.DataFrame({"c": first, "a": age, "id": random_tx["customer_id"]})
           .groupby(["c", "a"])["id"].nunique())
    for (cohort, a), n in ref.items():
        assert m.loc[cohort, a] == n
    rev = crm.cohort_matrix(random_tx, value="revenue")
    assert np.nansum(rev.to_numpy()) == pytest.approx(random_tx["amount"].sum())
    # observed cells form the upper-left triangle; the rest are NaN
    n = len(m)
    observed = np.add.outer(np.arange(n), np.arange(n)) < n
    sizes = m.attrs["cohort_size"].to_numpy()
    assert m.to_numpy()[~observed].size == np.isnan(m.to_numpy()[~observed]).sum()
    np.testing.assert_array_equal(m[0].fillna(0), sizes)


# ----------------------------------------------------------------- Wilson / Newcombe

@pytest.mark.parametrize("x, n, low, high", [
    # Newcombe R.G. (1998a) Stat Med 17:857-872, Table I, method 3 (Wilson score, no cc)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_newcombe_table_1(x, n, low, high):
    lo, hi = crm.wilson_interval(x, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("x, n", [(81, 263), (3, 40), (39, 40), (500, 1000)])
def test_wilson_is_the_score_test_inversion(x, n):
    # independent computation: the limits solve |x/n - p| = z sqrt(p(1-p)/n)
    z = stats.norm.ppf(0.975)
    p_hat = x / n

    def score(p):
        return (p_hat - p) ** 2 - z**2 * p * (1 - p) / n

    lo, hi = crm.wilson_interval(x, n)
    assert lo == pytest.approx(optimize.brentq(score, 1e-12, p_hat), abs=1e-9)
    assert hi == pytest.approx(optimize.brentq(score, p_hat, 1 - 1e-12), abs=1e-9)


@pytest.mark.parametrize("x1, n1, x2, n2, low, high", [
    # Newcombe R.G. (1998b) Stat Med 17:873-890, Table II, method 10 (hybrid score)
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
])
def test_newcombe_hybrid_published(x1, n1, x2, n2, low, high):
    d, lo, hi = crm.newcombe_interval(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


# ----------------------------------------------------------------- funnel, messages, dropout

@pytest.fixture
def touches():
    rows = []
    # tactic d / message A: 10 sends, 6 opens, 3 clicks, 2 visits, 1 conversion, 1 unsubscribe
    for i in range(10):
        rows.append(("d", "A", i < 6, i < 3, i < 2, i < 1, i == 9))
    # tactic d / message B: 10 sends, 8 opens, 4 clicks, 4 visits, 3 conversions
    for i in range(10):
        rows.append(("d", "B", i < 8, i < 4, i < 4, i < 3, False))
    return pd.DataFrame(rows, columns=["tactic", "message", "opened", "clicked", "visited",
                                       "converted", "unsubscribed"])


def test_funnel_by_hand(touches):
    f = crm.funnel(touches, by=("tactic", "message"))
    a = f.loc[("d", "A")]
    assert a["count"].tolist() == [10, 6, 3, 2, 1]
    np.testing.assert_allclose(a["rate"], [1, 0.6, 0.5, 2 / 3, 0.5])
    np.testing.assert_allclose(a["overall_rate"], [1, 0.6, 0.3, 0.2, 0.1])
    lo, hi = crm.wilson_interval(3, 6)
    assert a.loc["clicked", "rate_low"] == pytest.approx(lo)
    assert a.loc["clicked", "rate_high"] == pytest.approx(hi)
    total = crm.funnel(touches, by=None)
    assert total["count"].tolist() == [20, 14, 7, 6, 4]


def test_funnel_rejects_non_nested_stages(touches):
    broken = touches.copy()
    broken.loc[9, "clicked"] = True          # clicked without opening
    with pytest.raises(DataValidationError, match="not nested"):
        crm.funnel(broken, by="tactic")
    with pytest.raises(DataValidationError, match="boolean"):
        crm.funnel(touches.assign(opened=touches["opened"].astype(int)), by="tactic")


def test_compare_messages_by_hand(touches):
    c = crm.compare_messages(touches, stage="converted", by="tactic")
    row = c.loc["d"]
    assert (row["x_a"], row["n_a"], row["x_b"], row["n_b"]) == (1, 10, 3, 10)
    assert row["difference"] == pytest.approx(-0.2)
    d, lo, hi = crm.newcombe_interval(1, 10, 3, 10)
    assert (row["low"], row["high"]) == (pytest.approx(lo), pytest.approx(hi))
    # the pooled z-test equals the uncorrected chi-square test of the 2x2 table
    chi = stats.chi2_contingency([[1, 9], [3, 7]], correction=False)
    assert row["p_value"] == pytest.approx(chi.pvalue)
    # landing-page conversion: converted / visited (1/2 vs 3/4)
    lp = crm.compare_messages(touches, base="visited", by=None)
    assert lp.iloc[0]["rate_a"] == 0.5 and lp.iloc[0]["rate_b"] == 0.75
    with pytest.raises(ClvError, match="not found"):
        crm.compare_messages(touches, b="C")


def test_dropout_by_hand(touches):
    d = crm.dropout(touches, by="message")
    assert d["sent"].tolist() == [10, 10]
    assert d["dropouts"].tolist() == [1, 0]
    assert d.loc["A", "low"] == pytest.approx(crm.wilson_interval(1, 10)[0])


# ----------------------------------------------------------------- cross-sell / up-sell

@pytest.fixture
def baskets():
    df = _tx([
        (1, "2024-01-05", 10.0, 1), (1, "2024-01-05", 30.0, 1), (1, "2024-03-01", 20.0, 2),
        (2, "2024-01-09", 15.0, 3), (2, "2024-02-01", 45.0, 4), (3, "2024-02-02", 8.0, 5),
    ])
    return df.assign(product=["books", "music", "toys", "books", "toys", "music"])


def test_cross_sell_by_hand(baskets):
    assert crm.categories_per_customer(baskets).to_dict() == {1: 3, 2: 2, 3: 1}
    assert crm.multi_category_share(baskets) == pytest.approx(2 / 3)
    pen = crm.category_penetration(baskets)
    assert pen.loc["books", "customers"] == 2
    assert pen.loc["music", "penetration"] == pytest.approx(2 / 3)
    assert pen["revenue"].sum() == pytest.approx(baskets["amount"].sum())
    nxt = crm.next_category(baskets, normalize=False)
    # customer 1: music (30, larger on the tie day) then books; customer 2: books then toys
    assert nxt.loc["music", "books"] == 1
    assert nxt.loc["books", "toys"] == 1
    assert nxt.loc["music", "(none)"] == 1          # customer 3 never bought a second category
    shares = crm.next_category(baskets)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_basket_growth_by_hand(baskets):
    g = crm.basket_growth(baskets)
    # order 1: c1 40 (2 lines), c2 15, c3 8 -> mean 21; order 2: c1 20, c2 45 -> 32.5
    assert g["orders"].tolist() == [3, 2]
    np.testing.assert_allclose(g["mean_order_value"], [21.0, 32.5])
    np.testing.assert_allclose(g["mean_items"], [4 / 3, 1.0])
    m = crm.basket_growth(baskets, by="periods_since_first")
    assert m.index.name == "months_since_first"
    assert m["orders"].tolist() == [3, 1, 1]          # ages 0, 1 (c2 Feb), 2 (c1 Mar)


def test_cumulative_value_handles_censoring():
    tx = _tx([(1, "2024-01-05", 10.0), (1, "2024-03-01", 20.0),
              (2, "2024-02-05", 5.0), (2, "2024-03-05", 7.0), (3, "2024-03-07", 100.0)])
    tx["channel"] = ["a", "a", "a", "a", "b"]
    cv = crm.cumulative_value(tx, by="channel")
    # channel a: age0 mean(10, 5) = 7.5; age1 mean(0, 7) = 3.5 (both observed) -> 11;
    # age2: only customer 1 observed for 2 months, spends 20 -> 31
    np.testing.assert_allclose(cv["a"], [7.5, 11.0, 31.0])
    np.testing.assert_allclose(cv["b"], [100.0, np.nan, np.nan])
    assert cv.attrs["customers"]["a"].tolist() == [2, 2, 1]
    margin = crm.cumulative_value(tx, by="channel", margin=pd.Series({1: 0.5, 2: 1.0, 3: 0.1}))
    np.testing.assert_allclose(margin["a"], [(5 + 5) / 2, 5 + 7 / 2, 8.5 + 10])
    by_cohort = crm.cumulative_value(tx, by="cohort")
    assert list(by_cohort.columns) == ["2024-01", "2024-02", "2024-03"]
    np.testing.assert_allclose(by_cohort["2024-01"], [10.0, 10.0, 30.0])
    np.testing.assert_allclose(by_cohort["2024-03"], [100.0, np.nan, np.nan])
    with pytest.raises(DataValidationError, match="no group"):
        crm.cumulative_value(tx, by=pd.Series({1: "x"}))


# ----------------------------------------------------------------- recovery on synthetic data

def _purchases(data):
    tx = data.transactions
    return tx[tx["amount"] > 0]


def test_funnel_recovers_true_rates(synthetic):
    f = crm.funnel(synthetic.touches)
    truth = synthetic.truth.funnel_rates
    columns = {"opened": "open_rate", "clicked": "click_rate", "visited": "visit_rate",
               "converted": "conversion_rate"}
    z_scores, inside = [], []
    for stage, column in columns.items():
        obs = f.xs(stage, level="stage")
        true = truth[column].reindex(obs.index)
        se = np.sqrt(true * (1 - true) / obs["base"])
        z_scores.append(((obs["rate"] - true) / se).to_numpy())
        inside.append(((obs["rate_low"] <= true) & (true <= obs["rate_high"])).to_numpy())
    z_scores, inside = np.concatenate(z_scores), np.concatenate(inside)
    assert len(z_scores) == 64
    assert np.abs(z_scores).max() < 4.5          # 64 cells: P(any |z| > 4.5) < 0.05 %
    assert inside.mean() >= 0.85                 # nominal 95 % coverage


def test_dropout_recovers_true_unsubscribe_rate(synthetic):
    d = crm.dropout(synthetic.touches, by=("tactic", "message", "medium"))
    true = synthetic.truth.funnel_rates["unsubscribe_rate"].reindex(d.index)
    z = (d["dropout_rate"] - true) / np.sqrt(true * (1 - true) / d["sent"])
    assert np.abs(z).max() < 4.5
    assert ((d["low"] <= true) & (true <= d["high"])).mean() >= 0.8


def test_compare_messages_recovers_true_difference(synthetic):
    # win-back B converts differently from A by construction; compare per-send conversion
    truth = synthetic.truth.funnel_rates
    per_send = truth[["open_rate", "click_rate", "visit_rate", "conversion_rate"]].prod(axis=1)
    c = crm.compare_messages(synthetic.touches, by=("tactic", "medium"))
    true_diff = (per_send.xs("A", level="message") - per_send.xs("B", level="message"))
    true_diff = true_diff.reindex(c.index)
    assert ((c["low"] <= true_diff) & (true_diff <= c["high"])).mean() >= 0.75
    se = np.sqrt(c["rate_a"] * (1 - c["rate_a"]) / c["n_a"] + c["rate_b"] * (1 - c["rate_b"])
                 / c["n_b"])
    assert (np.abs(c["difference"] - true_diff) / se).max() < 4.5


def test_channel_mix_recovered(synthetic):
    tx = _purchases(synthetic)
    first = tx.drop_duplicates("customer_id")
    mix = first["channel"].value_counts(normalize=True)
    n = len(first)
    for channel, p in synthetic.truth.channel_mix.items():
        assert abs(mix[channel] - p) < 4.5 * np.sqrt(p * (1 - p) / n), channel


def test_synthetic_kpis_are_coherent(synthetic):
    tx = _purchases(synthetic)
    k = crm.monthly_kpis(tx)
    assert k["revenue"].sum() == pytest.approx(tx["amount"].sum())
    assert k["new_customers"].sum() == tx["customer_id"].nunique()
    assert k["orders"].sum() == tx["order_id"].nunique()
    np.testing.assert_allclose(crm.churn_rate(tx, inactive_periods=1),
                               1 - crm.retention_rate(tx), equal_nan=True)
    cm = crm.cohort_matrix(tx)
    assert (cm[0].dropna() == 1.0).all()


def test_cumulative_value_single_cohort_is_mean_cumulative_spend(random_tx):
    one_cohort = random_tx.assign(date=random_tx["date"].where(
        random_tx.groupby("customer_id").cumcount() > 0, pd.Timestamp("2023-01-01")))
    one_cohort = one_cohort.sort_values("date")
    cv = crm.cumulative_value(one_cohort)["all"]
    age = one_cohort["date"].dt.to_period("M").map(lambda p: (p - pd.Period("2023-01", "M")).n)
    per_age = one_cohort.groupby(age)["amount"].sum().reindex(cv.index, fill_value=0)
    np.testing.assert_allclose(cv, per_age.cumsum() / one_cohort["customer_id"].nunique())


def test_synthetic_value_curves_non_decreasing(synthetic):
    cv = crm.cumulative_value(_purchases(synthetic), by="channel", max_periods=23)
    assert (cv.diff().iloc[1:] >= 0).all().all()
    assert list(cv.columns) == sorted(synthetic.truth.channel_mix)


# ----------------------------------------------------------------- lift

def test_category_lift_is_the_affinity_over_the_base_rate():
    from clvkit.synthetic import generate_crm
    tx = generate_crm(n_customers=3_000, months=12, seed=3).transactions
    tx = tx[tx["amount"] > 0]
    lift = crm.category_lift(tx)
    counts = crm.next_category(tx, normalize=False)
    share = crm.next_category(tx)
    for c in lift.columns:
        others = counts.drop(index=c, errors="ignore")
        base = others[c].sum() / others.to_numpy().sum()
        assert lift.attrs["base_rate"][c] == pytest.approx(base)
        for f in lift.index:
            if f == c:
                assert np.isnan(lift.loc[f, c])
            else:
                assert lift.loc[f, c] == pytest.approx(share.loc[f, c] / base)
    # the generator draws categories independently of the first one: no lift far from 1
    assert np.nanmax(np.abs(lift.to_numpy() - 1)) < 0.3


def _lift_case():
    d = pd.to_datetime
    touches = pd.DataFrame({
        "customer_id": ["a", "b", "e", "a"],
        "send_date": d(["2024-03-01", "2024-03-01", "2024-02-01", "2024-04-01"]),
        "tactic": ["x", "x", "x", "y"],
        "converted": [False, True, False, False],
        "unsubscribed": [False, False, True, False]})
    tx = pd.DataFrame({
        "customer_id": ["a", "b", "c", "c", "d", "e", "e", "f", "f", "a"],
        "date": d(["2024-01-02", "2024-01-03", "2024-01-04", "2024-03-10", "2024-01-05",
                   "2024-01-06", "2024-03-05", "2024-03-20", "2024-03-25", "2024-03-31"]),
        "amount": 10.0})
    return touches, tx


def test_campaign_lift_hand_computed():
    touches, tx = _lift_case()
    out = crm.campaign_lift(touches, tx, window_days=30)
    x = out.loc["x"]
    # send of 1 March: a (buys 31 March, day 30: inside) and b (converted) contacted, both buy;
    # eligible not contacted: c (buys 10 March) and d (no purchase); e unsubscribed on
    # 1 Feb (not eligible although it buys), f acquired after the send
    # send of 1 Feb (x too): e contacted, does not buy within 30 days (buys 5 March, day 33);
    # eligible not contacted then: a, b, c, d (none buys between 1 Feb and 2 March)
    assert (x["sends"], x["contacted_buyers"]) == (3, 2)
    assert (x["not_contacted"], x["not_contacted_buyers"]) == (6, 1)
    assert x["lift"] == pytest.approx(2 / 3 - 1 / 6)
    # cluster-robust standard error by customer, by hand:
    # residuals (x1 - r1 n1)/N1 - (x2 - r2 n2)/N2 per customer
    # a: 1/9 + 1/36, b: the same, e: -2/9, c: -(2/3)/6, d: (2/6)/6  -> sum of squares 134/36^2
    se = np.sqrt(134) / 36
    z = stats.norm.ppf(0.975)
    assert x["low"] == pytest.approx(x["lift"] - z * se)
    assert x["high"] == pytest.approx(x["lift"] + z * se)
    assert x["relative_lift"] == pytest.approx((2 / 3) / (1 / 6))
    # send of 1 April (y): a contacted (no purchase after), eligible b, c, d, f (e unsubscribed)
    y = out.loc["y"]
    assert (y["sends"], y["contacted_buyers"], y["not_contacted"]) == (1, 0, 4)
    assert out.attrs["window_days"] == 30
    short = crm.campaign_lift(touches, tx, window_days=20).loc["x"]
    assert short["contacted_buyers"] == 1  # a's purchase on day 30 falls out, b converted
    everyone = crm.campaign_lift(touches, tx, by=None)
    assert everyone.index.tolist() == ["all"] and everyone["sends"].iloc[0] == 4


def test_campaign_lift_recovers_the_generator():
    from clvkit.synthetic import generate_crm
    data = generate_crm(n_customers=6_000, months=12, seed=8)
    tx = data.transactions[data.transactions["amount"] > 0]
    out = crm.campaign_lift(data.touches, tx, by=None)
    # campaign conversions are extra purchases by construction (not in the transactions), so
    # the true lift is the conversion rate per send; the interval must cover it
    truth = data.touches["converted"].mean()
    row = out.loc["all"]
    assert row["low"] <= truth <= row["high"]
    by = crm.campaign_lift(data.touches, tx, by=["tactic", "medium"])
    assert by.index.names == ["tactic", "medium"]
    assert by["sends"].sum() == len(data.touches)


def test_campaign_lift_errors():
    touches, tx = _lift_case()
    with pytest.raises(DataValidationError, match="unsubscribed"):
        crm.campaign_lift(touches.drop(columns="unsubscribed"), tx)
    with pytest.raises(ClvError, match="window_days"):
        crm.campaign_lift(touches, tx, window_days=0)


# --------------------------------------------------------------------------- engagement fade

def _fade_touches(opens_by_customer):
    rows = [(cid, pd.Timestamp("2024-01-01") + pd.DateOffset(months=k), flag)
            for cid, flags in opens_by_customer.items() for k, flag in enumerate(flags)]
    return pd.DataFrame(rows, columns=["customer_id", "send_date", "opened"])


def test_engagement_fade_by_hand():
    touches = _fade_touches({"a": [True, False, True, False, False, False],   # faded
                             "b": [False, False, False, False, False, False],  # never engaged
                             "c": [True, False, True, False, False, True],    # opened lately
                             "d": [True, False]})                               # too short
    shuffled = touches.sample(frac=1.0, random_state=3)   # order of rows must not matter
    before = shuffled.copy()
    out = crm.engagement_fade(shuffled, recent=3)
    assert out["faded"].to_dict() == {"a": True, "b": False, "c": False, "d": False}
    assert out.loc["a", "earlier_rate"] == pytest.approx(2 / 3)
    assert out.loc["c", "recent_rate"] == pytest.approx(1 / 3)
    assert np.isnan(out.loc["d", "earlier_rate"])     # no send before the window
    pd.testing.assert_frame_equal(shuffled, before)       # the input is not modified


def test_engagement_fade_rejects_bad_input():
    touches = _fade_touches({"a": [True, False, False]})
    with pytest.raises(ClvError, match="`recent` must be a whole number"):
        crm.engagement_fade(touches, recent=0)
    with pytest.raises(DataValidationError, match="missing column"):
        crm.engagement_fade(touches.drop(columns="opened"))
    gaps = touches.astype({"opened": object})
    gaps.loc[1, "opened"] = None
    with pytest.raises(DataValidationError, match=r"touches\['opened'\]` has missing values"):
        crm.engagement_fade(gaps)


def test_engagement_fade_flags_the_known_share_of_a_synthetic_panel():
    """On a panel whose end of relationship is known (clvkit.synthetic.engagement_panel), the
    number of flagged customers matches its exact expectation, customer by customer: no open in
    the last `recent` sends times at least one open before, each send opened with the open rate
    before the customer's end and the faded rate after it."""
    from clvkit.synthetic import engagement_panel

    panel = engagement_panel(n_customers=4_000, sends=18, seed=7)
    recent, k = 6, panel.truth["sends"]
    out = crm.engagement_fade(panel.touches, recent=recent).reindex(panel.customers.index)
    after = np.arange(k)[None, :] >= panel.customers["true_end_send"].to_numpy()[:, None]
    p_open = np.where(after, panel.truth["faded_open_rate"], panel.truth["open_rate"])
    p_flag = (np.prod(1 - p_open[:, k - recent:], axis=1)
              * (1 - np.prod(1 - p_open[:, :k - recent], axis=1)))
    for group in (panel.customers["true_ended"], ~panel.customers["true_ended"]):
        expected, sd = p_flag[group].sum(), np.sqrt((p_flag * (1 - p_flag))[group].sum())
        assert abs(out.loc[group, "faded"].sum() - expected) < 4 * sd
    # and the flag means something: most flagged customers truly ended, few active ones flagged
    flagged = out["faded"].to_numpy()
    assert panel.customers["true_ended"].to_numpy()[flagged].mean() > 0.8


# --------------------------------------------------------------------------- acquisition funnel

def test_acquisition_funnel_checks_its_stages():
    people = pd.DataFrame({"channel": ["a", "a"], "prospect": [False, True],
                           "first_purchase": [True, True]})
    with pytest.raises(DataValidationError, match="True without the stage before it"):
        crm.acquisition_funnel(people)
    with pytest.raises(DataValidationError, match="missing column"):
        crm.acquisition_funnel(people.drop(columns="prospect"))


def test_acquisition_funnel_recovers_the_known_rates_and_cac():
    """On the panel of clvkit.synthetic.acquisition_funnel_panel, each channel's stage rates
    land within 4 standard errors of the generator's, and spend / first-time buyers is the
    channel's CAC (CAC_BY_CHANNEL) within 4 standard errors of its sampling noise."""
    from clvkit.synthetic import CAC_BY_CHANNEL, acquisition_funnel_panel

    panel = acquisition_funnel_panel(seed=5)
    before = panel.people.copy()
    f = crm.acquisition_funnel(panel.people, spend=panel.spend)
    pd.testing.assert_frame_equal(panel.people, before)
    for channel, cac in CAC_BY_CHANNEL.items():
        for stage, key in (("prospect", "prospect_rate"), ("first_purchase", "purchase_rate")):
            row, rate = f.loc[(channel, stage)], panel.truth[key][channel]
            se = np.sqrt(rate * (1 - rate) / f.loc[(channel, "reached" if stage == "prospect"
                                                    else "prospect"), "count"])
            assert abs(row["rate"] - rate) < 4 * se
            assert row["rate_low"] < row["rate"] < row["rate_high"]
        buyers = f.loc[(channel, "first_purchase"), "count"]
        p = panel.truth["prospect_rate"][channel] * panel.truth["purchase_rate"][channel]
        reached = f.loc[(channel, "reached"), "count"]
        # CAC = spend / buyers; buyers ~ Binomial(reached, p): relative sd sqrt((1 - p) / (n p))
        assert abs(f.loc[(channel, "first_purchase"), "cost_per"] / cac - 1) < (
            4 * np.sqrt((1 - p) / (reached * p)) * 1.1)
        assert buyers > 0


def test_campaign_lift_recovers_the_known_effect_of_an_sms_step():
    """E-mail then SMS (clvkit.synthetic.contact_sequence_panel): among the customers the e-mail
    did not convert, the SMS group is compared with its random hold-out; the measured lift is
    within 4 standard errors of the generator's true SMS effect, and its interval excludes 0."""
    from clvkit.synthetic import contact_sequence_panel

    panel = contact_sequence_panel(n_customers=60_000, seed=9)
    c = panel.customers
    sms = panel.touches[panel.touches["medium"] == "sms"]
    row = crm.campaign_lift(sms, panel.transactions, by="medium",
                            window_days=panel.truth["window_days"],
                            acquisition=c.loc[~c["email_converted"], "acquisition_date"]).loc["sms"]
    assert row["sends"] == c["sms_group"].sum() and row["not_contacted"] == c["holdout"].sum()
    se = (row["high"] - row["low"]) / (2 * 1.959964)
    assert abs(row["lift"] - panel.truth["sms_lift"]) < 4 * se
    assert row["low"] > 0
