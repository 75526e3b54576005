"""predict_with_best_model: choice by holdout error, honest degeneracy, intervals of the totals.

The data are simulated from known parameters: BG/NBD purchases (Fader, Hardie & Lee 2005:
exponential gaps at rate lambda ~ Gamma(r, alpha), dropout with probability p ~ Beta(a, b)
after each repeat purchase) and Gamma-Gamma spend (each customer's mean nu ~ Gamma(q, gamma),
amounts ~ Gamma(p, nu)), so the truth of every total is known.
"""

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBDFit, GammaGammaFit, predict_with_best_model
from clvkit.summary import rfm_summary

START = pd.Timestamp("2022-01-03")
TRUE = {"r": 0.6, "alpha": 4.0, "a": 0.8, "b": 2.5}   # weekly purchase rates
SPEND = {"p": 6.0, "q": 4.0, "gamma": 15.0}
CAL_WEEKS, OBS_WEEKS = 52, 78


def simulate(n: int, *, seed: int, dropout: bool = True) -> pd.DataFrame:
    """Transactions of ``n`` customers acquired in the first 26 weeks, watched for 78."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n) if dropout else np.zeros(n)
    nu = 1 / rng.gamma(SPEND["q"], 1 / SPEND["gamma"], n)  # scale of the amounts
    rows = []
    for i in range(n):
        t = rng.uniform(0, 26)
        while t <= OBS_WEEKS:
            rows.append((i, t, rng.gamma(SPEND["p"], nu[i])))
            if len(rows) > 1 and rows[-2][0] == i and rng.random() < p[i]:
                break  # dropped out after this repeat purchase
            t += rng.exponential(1 / lam[i])
    frame = pd.DataFrame(rows, columns=["customer_id", "week", "amount"])
    frame["date"] = START + pd.to_timedelta(np.floor(frame["week"] * 7), unit="D")
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame[["customer_id", "date", "amount"]]


def summaries(tx: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    obs_end = START + pd.Timedelta(weeks=OBS_WEEKS) - pd.Timedelta(days=1)
    cal_end = START + pd.Timedelta(weeks=CAL_WEEKS) - pd.Timedelta(days=1)
    cal = rfm_summary(tx, observation_end=obs_end, calibration_end=cal_end, time_unit="W")
    full = rfm_summary(tx, observation_end=obs_end, time_unit="W")
    return cal, full


@pytest.fixture(scope="module")
def bgnbd_data():
    return summaries(simulate(3000, seed=11))


@pytest.fixture(scope="module")
def result(bgnbd_data):
    cal, full = bgnbd_data
    return predict_with_best_model(cal, full, margin=0.3, discount_rate=0.01)


def test_chosen_model_is_not_degenerate_and_says_why(bgnbd_data, result):
    table = result.comparison
    assert result.fits and result.model in table.index
    assert not table.loc[result.model, "degenerate"]
    assert result.model == table.attrs["ranking"][0] == table.attrs["best"]
    # simulated from BG/NBD: the true model is chosen (MAE would pick the under-predicting
    # Pareto/NBD on these data; see clvkit.models.compare)
    assert result.model == "BG/NBD"
    assert result.reason.startswith(f"BG/NBD is used: {table.attrs['best_reason']}.")
    assert f"BG/NBD {table.loc['BG/NBD', 'holdout_rmse']:.3f}" in result.reason
    assert result.fit.success and result.fit.model_name == result.model
    # refitted on the full period: the full summary's customers
    assert result.fit.n_customers == len(bgnbd_data[1])


def test_totals_intervals_cover_the_truth(bgnbd_data, result):
    _, full = bgnbd_data
    truth = BGNBDFit.from_params(**TRUE, time_unit="W")
    spend = GammaGammaFit.from_params(**SPEND, time_unit="W")
    one_month = 365.2425 / 12 / 7
    purchases = truth.conditional_expected_purchases(full, t=one_month).sum()
    t = result.totals
    assert t.loc["purchases_next", "lower"] < purchases < t.loc["purchases_next", "upper"]
    alive = truth.p_alive(full).sum()
    assert t.loc["alive", "lower"] < alive < t.loc["alive", "upper"]
    from clvkit.clv import customer_lifetime_value

    clv = customer_lifetime_value(truth, spend, full, horizon=12, horizon_unit="M",
                                  discount_rate=0.01, discount_period="M")["clv"].sum()
    assert t.loc["clv_revenue", "lower"] < clv < t.loc["clv_revenue", "upper"]
    assert t.loc["clv_margin", "lower"] < 0.3 * clv < t.loc["clv_margin", "upper"]


def test_customers_and_totals_are_consistent(bgnbd_data, result):
    _, full = bgnbd_data
    c, t = result.customers, result.totals
    assert c.index.equals(full.index)
    for name in ("p_alive", "purchases_next", "clv_revenue", "clv_margin"):
        assert (c[f"{name}_lower"] <= c[name] + 1e-12).all()
        assert (c[name] <= c[f"{name}_upper"] + 1e-12).all()
    assert ((c["p_alive_upper"] <= 1) & (c["p_alive_lower"] >= 0)).all()
    np.testing.assert_allclose(c["clv_margin"], 0.3 * c["clv_revenue"])
    assert t.loc["alive", "estimate"] == pytest.approx(c["p_alive"].sum())
    assert t.loc["clv_revenue", "estimate"] == pytest.approx(c["clv_revenue"].sum())
    assert c.attrs["horizon"] == 12 and c.attrs["horizon_unit"] == "M"
    assert c.attrs["discount_rate"] == 0.01 and c.attrs["discount_period"] == "M"


@pytest.mark.slow
def test_bootstrap_intervals_are_seeded_and_agree_with_delta(bgnbd_data, result):
    cal, full = bgnbd_data
    run = {"margin": 0.3, "discount_rate": 0.01, "interval": "bootstrap", "n_replicates": 40}
    one = predict_with_best_model(cal, full, seed=5, **run)
    two = predict_with_best_model(cal, full, seed=5, **run)
    other = predict_with_best_model(cal, full, seed=6, **run)
    pd.testing.assert_frame_equal(one.totals, two.totals)
    pd.testing.assert_frame_equal(one.customers, two.customers)
    assert not one.totals.equals(other.totals)
    assert one.n_replicates == 40 and one.seed == 5 and result.n_replicates == 0
    # same point estimates; bootstrap and delta standard errors of the totals within 50%
    pd.testing.assert_series_equal(one.totals["estimate"], result.totals["estimate"])
    ratio = one.totals["std_error"] / result.totals["std_error"]
    assert ratio.between(0.5, 1.5).all(), ratio


def test_per_customer_margin_rates(bgnbd_data):
    cal, full = bgnbd_data
    rates = pd.Series(np.where(np.arange(len(full)) % 2, 0.2, 0.5), index=full.index)
    out = predict_with_best_model(cal, full, margin=rates, discount_rate=0.01)
    c, t = out.customers, out.totals
    np.testing.assert_allclose(c["clv_margin"], rates * c["clv_revenue"])
    assert t.loc["clv_margin", "estimate"] == pytest.approx(c["clv_margin"].sum())
    with pytest.raises(DataValidationError, match="`margin` has no rate"):
        predict_with_best_model(cal, full, margin=rates.iloc[1:])
    with pytest.raises(DataValidationError, match="at most 1 .e.g. 0.3 for 30%"):
        predict_with_best_model(cal, full, margin=30)


def test_nobody_drops_out_the_no_dropout_model_is_used():
    # simulated without dropout: the dropout models run to "nobody leaves"; NBD, the same
    # purchase process without dropout, is used once it beats the naive baseline
    cal, full = summaries(simulate(1500, seed=3, dropout=False))
    out = predict_with_best_model(cal, full, margin=0.3)
    assert out.fits and out.model == "NBD" and out.has_clv
    assert set(out.rejected) == {"BG/NBD", "MBG/NBD", "Pareto/NBD"}
    assert all("P(alive) > 0.99" in why or "degenerate" in why
               for why in out.rejected.values())
    assert out.comparison.loc[["BG/NBD", "MBG/NBD", "Pareto/NBD"], "degenerate"].all()
    assert out.comparison.loc["NBD", "vs_naive"] < 0
    assert out.reason.startswith("NBD is used: every model with dropout is degenerate")
    assert (out.customers["p_alive"] == 1).all()
    # the NBD's likelihood is the dropout models' limit: BG/NBD with a -> 0 reaches it
    np.testing.assert_allclose(out.comparison.loc["BG/NBD", "log_likelihood"],
                               out.comparison.loc["NBD", "log_likelihood"], atol=0.05)


def test_nbd_fit_is_the_maximum_of_its_closed_form_likelihood():
    # independent check: maximise sum lnG(r+x) - lnG(r) + r ln a - (r+x) ln(a+T) directly
    from scipy.optimize import minimize
    from scipy.special import gammaln

    from clvkit.datasets import cdnow_summary
    from clvkit.models.nbd import NBD

    s = cdnow_summary()
    x, age = s["frequency"].to_numpy(float), s["T"].to_numpy(float)

    def nll(theta):
        r, a = np.exp(theta)
        return -np.sum(gammaln(r + x) - gammaln(r) + r * np.log(a) - (r + x) * np.log(a + age))

    best = minimize(nll, [0.0, 2.0], method="Nelder-Mead",
                    options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 4000})
    fit = NBD().fit(s)
    np.testing.assert_allclose([fit.params.r, fit.params.alpha], np.exp(best.x), rtol=1e-4)
    assert fit.log_likelihood == pytest.approx(-best.fun, abs=0.01)


def test_noise_second_moment_of_the_nbd_is_the_negative_binomial_one():
    # NBD given (x, T): N ~ NegBin with mean m = (r + x) / (alpha + T) t and
    # E[N^2] = m + m^2 (1 + 1 / (r + x))
    from clvkit.models.nbd import NBDFit
    from clvkit.models.select import _count_second_moment

    fit = NBDFit.from_params(r=0.8, alpha=6.0, time_unit="W")
    x = np.repeat([0.0, 3.0, 10.0], 2000)
    age = np.repeat([20.0, 30.0, 40.0], 2000)
    m2 = _count_second_moment(fit, x, age, 4.35, seed=1).reshape(3, -1).mean(axis=1)
    m = (0.8 + np.array([0, 3, 10])) / (6.0 + np.array([20, 30, 40])) * 4.35
    np.testing.assert_allclose(m2, m + m**2 * (1 + 1 / (0.8 + np.array([0, 3, 10]))),
                               rtol=0.02)


def test_predictions_on_distinct_histories_equal_per_customer_ones(bgnbd_data):
    cal, full = bgnbd_data
    out = predict_with_best_model(cal, full, margin=0.3)
    direct = out.fit.p_alive(full)
    np.testing.assert_allclose(out.customers["p_alive"], direct, rtol=1e-12)
    assert out.customers["purchases_next"].sum() == pytest.approx(
        out.totals.loc["purchases_next", "estimate"])
    # the prediction range contains the model range (purchase noise added)
    t = out.totals.loc["purchases_next"]
    assert t["pred_lower"] < t["lower"] < t["upper"] < t["pred_upper"]


def test_without_spend_no_clv_but_purchases(bgnbd_data):
    cal, full = bgnbd_data
    out = predict_with_best_model(cal.drop(columns="monetary_value"),
                                  full.drop(columns="monetary_value"))
    assert out.fits and not out.has_clv and "clv_revenue" not in out.totals.index
    assert any("monetary_value" in n for n in out.notes)


def test_inputs_are_checked(bgnbd_data):
    cal, full = bgnbd_data
    with pytest.raises(DataValidationError, match="calibration_end"):
        predict_with_best_model(full, full)
    days = full.copy()
    days.attrs["time_unit"] = "D"
    with pytest.raises(DataValidationError, match="same `time_unit`"):
        predict_with_best_model(cal, days)
    with pytest.raises(ClvError, match="interval"):
        predict_with_best_model(cal, full, interval="jackknife")
    with pytest.raises(ClvError, match="horizon_unit"):
        predict_with_best_model(cal, full, horizon_unit="months")


def test_horizon_moments_of_the_nbd_are_the_negative_binomial_ones():
    # without discounting W1 = W2 = all purchases over the horizon: negative binomial
    from clvkit.models.nbd import NBDFit
    from clvkit.models.select import _horizon_moments

    fit = NBDFit.from_params(r=0.8, alpha=6.0, time_unit="W")
    x, age = np.repeat([0.0, 5.0], 3000), np.repeat([20.0, 40.0], 3000)
    mom = _horizon_moments(fit, x, age, steps=12, step=4.348125, discount_rate=0.0,
                           seed=2).reshape(3, 2, -1).mean(axis=2)
    shape = 0.8 + np.array([0.0, 5.0])
    m = shape / (6.0 + np.array([20.0, 40.0])) * 12 * 4.348125
    np.testing.assert_allclose(mom[0], m, rtol=0.02)
    np.testing.assert_allclose(mom[1], m + m**2 * (1 + 1 / shape), rtol=0.04)
    np.testing.assert_allclose(mom[2], mom[0])


def test_value_prediction_range_contains_the_model_range(bgnbd_data):
    cal, full = bgnbd_data
    out = predict_with_best_model(cal, full, margin=0.3, discount_rate=0.01)
    for row in ("clv_revenue", "clv_margin"):
        t = out.totals.loc[row]
        assert t["pred_lower"] < t["lower"] < t["estimate"] < t["upper"] < t["pred_upper"]


def test_degenerate_spend_model_falls_back_to_the_sample_mean(bgnbd_data):
    # every customer's amounts are 40 with the same tiny noise: no spread of spend between
    # customers beyond chance, so Gamma-Gamma's q runs off (degenerate). The CLV then uses
    # the sample mean spend per repeat purchase for everyone, labelled as such.
    cal, full = (s.copy() for s in bgnbd_data)
    for s in (cal, full):
        rng = np.random.default_rng(3)
        s["monetary_value"] = np.where(s["frequency"] > 0,
                                       40 + rng.normal(0, 0.01, len(s)), 0.0)
    out = predict_with_best_model(cal, full, margin=0.3, discount_rate=0.01)
    assert out.spend_fit is None and out.spend_model == "sample mean" and out.has_clv
    repeat = full[full["frequency"] > 0]
    mean = float((repeat["frequency"] * repeat["monetary_value"]).sum()
                 / repeat["frequency"].sum())
    assert out.spend_mean == pytest.approx(mean, rel=1e-12)
    # CLV = discounted expected purchases x the same mean spend for every customer
    unit = out.customers["clv_revenue"] / mean
    ref = predict_with_best_model(*bgnbd_data, margin=0.3, discount_rate=0.01)
    assert ref.spend_model == "Gamma-Gamma" and np.isnan(ref.spend_mean)
    gg = ref.spend_fit.conditional_expected_spend(
        full.assign(monetary_value=bgnbd_data[1]["monetary_value"]))
    np.testing.assert_allclose(unit, ref.customers["clv_revenue"] / gg, rtol=1e-9)
    assert (out.customers["clv_revenue_lower"] < out.customers["clv_revenue"]).all()
    t = out.totals.loc["clv_revenue"]
    assert t["lower"] < t["estimate"] < t["upper"]
    assert any("sample mean spend per purchase" in n for n in out.notes)
    assert not any("=" in n or "q" in n.split() for n in out.notes)
    boot = predict_with_best_model(cal, full, interval="bootstrap", n_replicates=20, seed=1)
    assert boot.spend_model == "sample mean"
    b = boot.totals.loc["clv_revenue"]
    assert b["lower"] < b["estimate"] < b["upper"]


# ---------------------------------------------------------------------------------------------
# scoring in chunks and streaming to Parquet (issue 19)


def test_customers_are_the_scores_and_any_chunking_gives_the_same_values(result, bgnbd_data):
    _, full = bgnbd_data
    scores = result.scores
    assert len(scores) == len(full) and scores.has_clv
    whole = scores.frame(chunk_size=len(full))
    pd.testing.assert_frame_equal(result.customers, whole, check_exact=True)
    for size in (1, 7, 1000):
        parts = list(scores.chunks(size))
        assert max(len(p) for p in parts) == min(size, len(full))
        pd.testing.assert_frame_equal(pd.concat(parts), whole, check_exact=True)
    # a chunk is the same rows of the whole table, computed on its own
    pd.testing.assert_frame_equal(scores.chunk(100, 250), whole.iloc[100:250],
                                  check_exact=True)


def test_streamed_parquet_equals_the_table_in_memory(result, tmp_path):
    path = tmp_path / "clv.parquet"
    assert result.scores.write_parquet(path, chunk_size=500) == len(result.customers)
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == -(-len(result.customers) // 500)
    back = pd.read_parquet(path).set_index("customer_id")
    expected = result.customers.copy()
    expected.attrs = {}
    pd.testing.assert_frame_equal(back, expected, check_exact=True, check_index_type=False)
    with pytest.raises(ClvError, match="exists"):
        result.scores.write_parquet(path)
    assert result.scores.write_parquet(path, force=True) == len(result.customers)


def test_score_customers_matches_the_best_model_predictions(result, bgnbd_data):
    from clvkit.models import score_customers

    _, full = bgnbd_data
    scores = score_customers(result.fit, full, spend_fit=result.spend_fit, margin=0.3,
                             discount_rate=0.01)
    pd.testing.assert_frame_equal(scores.frame(), result.scores.frame(), check_exact=True)
    # per-customer intervals contain their estimates
    table = scores.frame()
    for col in ("p_alive", "purchases_next", "clv_revenue", "clv_margin"):
        assert (table[f"{col}_lower"] <= table[col]).all()
        assert (table[col] <= table[f"{col}_upper"]).all()
