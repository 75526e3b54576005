"""Model evaluation on the CDNOW calibration/holdout split (Fader, Hardie & Lee 2005)."""

import numpy as np
import pandas as pd
import pytest

from clvkit import evaluation as ev
from clvkit.datasets import cdnow_summary, load_cdnow
from clvkit.errors import DataValidationError
from clvkit.models import BGNBD
from clvkit.summary import rfm_summary

CAL_END, OBS_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def tx():
    return load_cdnow().transactions


@pytest.fixture(scope="module")
def summary(tx):
    return rfm_summary(tx, observation_end=OBS_END, calibration_end=CAL_END, time_unit="W")


@pytest.fixture(scope="module")
def fit(summary):
    return BGNBD().fit(summary)


def test_summary_is_the_published_one(summary):
    pub = cdnow_summary()
    np.testing.assert_array_equal(summary["frequency"], pub["frequency"])
    np.testing.assert_allclose(summary["recency"], pub["recency"], atol=0.005)
    assert (summary["duration_holdout"] == 39).all()


def test_conditional_expectations(summary, fit):
    table = ev.conditional_expectations(summary, fit=fit, max_frequency=7)
    assert list(table.index) == list(range(8))
    assert table["n_customers"].sum() == len(summary)
    # the actual means are plain group means of the holdout purchases
    x = summary["frequency"].clip(upper=7)
    np.testing.assert_allclose(table["actual"],
                               summary.groupby(x)["frequency_holdout"].mean())
    # FHL (2005) Fig. 4: predictions follow the actual means closely and rise with x
    assert np.all(np.diff(table["predicted"]) > 0)
    np.testing.assert_allclose(table["predicted"], table["actual"], atol=0.4)
    assert table.attrs["duration_holdout"] == 39 and table.attrs["time_unit"] == "W"


def test_error_metrics(summary, fit):
    preds = ev.holdout_predictions(summary, fit=fit)
    assert preds.index.equals(summary.index)
    m = ev.error_metrics(preds)
    err = preds["actual"] - preds["predicted"]
    assert m.mae == pytest.approx(err.abs().mean())
    assert m.rmse == pytest.approx(np.sqrt((err**2).mean()))
    assert m.correlation == pytest.approx(preds["actual"].corr(preds["predicted"]))
    assert m.total_actual == 1882  # repeat purchase days in weeks 40-78 (CDNOW sample)
    assert 0.5 < m.correlation < 1 and m.rmse >= m.mae


def test_error_metrics_hand_computed():
    m = ev.error_metrics(pd.DataFrame({"actual": [0, 2], "predicted": [1.0, 1.0]}))
    assert (m.mae, m.rmse, m.n_customers) == (1.0, 1.0, 2)
    assert np.isnan(m.correlation)  # constant prediction: correlation undefined


def test_tracking_totals_are_exact(tx, summary, fit):
    t = ev.cumulative_tracking(tx, fit=fit, calibration_end=CAL_END, observation_end=OBS_END)
    assert len(t) == 78 and t.attrs["calibration_period"] == 39
    # actual repeat transactions: calibration total at week 39, all at week 78
    assert t.loc[39, "actual_cumulative"] == summary["frequency"].sum()
    assert t.loc[78, "actual_cumulative"] == (summary["frequency"].sum()
                                              + summary["frequency_holdout"].sum())
    assert (t["actual"] >= 0).all() and (t["predicted"] >= 0).all()
    # expected by week 39 = sum of E[X(age at the end of day 273)] over customers
    ages = summary["T"] + 1 / 7
    expected = fit.expected_purchases_new_customer(ages.to_numpy()).sum()
    assert t.loc[39, "predicted_cumulative"] == pytest.approx(expected, rel=1e-10)
    # in-sample the model tracks the cohort within a few percent
    assert t.loc[39, "predicted_cumulative"] == pytest.approx(t.loc[39, "actual_cumulative"],
                                                              rel=0.03)


def test_gamma_gamma_check():
    s = cdnow_summary(with_spend=True)
    check = ev.gamma_gamma_check(s)
    # Fader, Hardie & Lee (2005, JMR 42(4), p. 420): correlation 0.11 on CDNOW
    assert check.correlation == pytest.approx(0.11, abs=0.005)
    assert check.ok and check.n_customers == 946 and "0.11" in check.sentence
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, 300)
    bad = pd.DataFrame({"frequency": x, "monetary_value": 10.0 * x + rng.normal(0, 1, 300)})
    warned = ev.gamma_gamma_check(bad)
    assert not warned.ok and warned.sentence.startswith("Warning")


def test_missing_holdout_columns(fit):
    with pytest.raises(DataValidationError, match="frequency_holdout"):
        ev.conditional_expectations(cdnow_summary(), fit=fit)
