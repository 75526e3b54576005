"""Tests of clvkit.summary against the published CDNOW calibration summary and lifetimes."""

import numpy as np
import pandas as pd
import pytest

from clvkit import DataValidationError, compress_summary, rfm_summary
from clvkit.datasets import CDNOW_CALIBRATION_END, CDNOW_OBSERVATION_END, cdnow_summary


@pytest.fixture(scope="module")
def cdnow_cal(cdnow):
    return rfm_summary(cdnow, observation_end=CDNOW_OBSERVATION_END,
                       calibration_end=CDNOW_CALIBRATION_END, time_unit="W")


def test_reproduces_published_cdnow_summary(cdnow_cal):
    # Fader, Hardie & Lee (2005): 2,357 customers, 39-week calibration ending 1997-09-30;
    # per-customer (x, t_x, T) as distributed with the paper (printed to 2 decimals).
    published = cdnow_summary(with_spend=True)
    assert len(cdnow_cal) == 2357
    assert (cdnow_cal.index == published.index).all()
    assert (cdnow_cal["frequency"] == published["frequency"]).all()
    assert np.abs(cdnow_cal["recency"] - published["recency"]).max() <= 0.005 + 1e-9
    assert np.abs(cdnow_cal["T"] - published["T"]).max() <= 0.005 + 1e-9
    # zbar printed to 2 decimals: within one unit of the last digit
    assert np.abs(cdnow_cal["monetary_value"] - published["monetary_value"]).max() <= 0.01 + 1e-9
    assert cdnow_cal.attrs["time_unit"] == "W"


def test_holdout_columns(cdnow, cdnow_cal):
    assert (cdnow_cal["duration_holdout"] == 39.0).all()  # 273 days / 7
    # naive reference: distinct purchase days per customer after the calibration end
    tx = cdnow.transactions
    hold = tx[tx["date"] > CDNOW_CALIBRATION_END]
    naive = hold.groupby("customer_id")["date"].nunique().reindex(cdnow_cal.index, fill_value=0)
    assert (cdnow_cal["frequency_holdout"] == naive).all()
    assert (cdnow_cal.loc[cdnow_cal["frequency_holdout"] == 0,
                          "monetary_value_holdout"] == 0).all()


def test_matches_lifetimes(cdnow):
    utils = pytest.importorskip("lifetimes.utils")
    tx = cdnow.transactions.copy()
    theirs = utils.calibration_and_holdout_data(
        tx, "customer_id", "date", calibration_period_end=CDNOW_CALIBRATION_END,
        observation_period_end=CDNOW_OBSERVATION_END, freq="D", monetary_value_col="amount")
    ours = rfm_summary(cdnow, observation_end=CDNOW_OBSERVATION_END,
                       calibration_end=CDNOW_CALIBRATION_END, time_unit="D")
    theirs = theirs.reindex(ours.index)
    assert (ours["frequency"] == theirs["frequency_cal"]).all()
    assert np.allclose(ours["recency"], theirs["recency_cal"])
    assert np.allclose(ours["T"], theirs["T_cal"])
    assert np.allclose(ours["monetary_value"], theirs["monetary_value_cal"])
    assert (ours["frequency_holdout"] == theirs["frequency_holdout"]).all()


def test_time_units_are_explicit():
    tx = pd.DataFrame({"customer_id": [1, 1], "amount": [1.0, 2.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-12-31"])})
    days = rfm_summary(tx, observation_end="2024-12-31", time_unit="D")
    months = rfm_summary(tx, observation_end="2024-12-31", time_unit="M")
    assert days.loc[1, "recency"] == 365.0
    assert months.loc[1, "recency"] == pytest.approx(365 / (365.2425 / 12))
    assert months.attrs["time_unit"] == "M"


def test_same_day_purchases_are_one_occasion():
    tx = pd.DataFrame({"customer_id": [1, 1, 1], "amount": [1.0, 2.0, 4.0],
                       "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00",
                                               "2024-01-08 00:00"])})
    s = rfm_summary(tx, observation_end="2024-01-08", time_unit="W")
    assert s.loc[1, "frequency"] == 1
    assert s.loc[1, "monetary_value"] == 4.0
    assert rfm_summary(tx, observation_end="2024-01-08", monetary="mean_all").loc[
        1, "monetary_value"] == 3.5


def test_does_not_mutate_input(cdnow):
    before = cdnow.transactions.copy()
    rfm_summary(cdnow.transactions, observation_end=CDNOW_OBSERVATION_END)
    pd.testing.assert_frame_equal(before, cdnow.transactions)


def test_bad_input():
    tx = pd.DataFrame({"customer_id": [1], "date": pd.to_datetime(["2024-01-01"]),
                       "amount": [1.0]})
    with pytest.raises(DataValidationError, match="missing column"):
        rfm_summary(tx.drop(columns="amount"), observation_end="2024-02-01")
    with pytest.raises(DataValidationError, match="after"):
        rfm_summary(tx, observation_end="2024-02-01", calibration_end="2024-03-01")
    with pytest.raises(DataValidationError, match="empty"):
        rfm_summary(tx, observation_end="2023-02-01")
    with pytest.raises(DataValidationError, match="must be a date"):
        rfm_summary(tx, observation_end="someday")
    with pytest.raises(DataValidationError, match="datetimes"):
        rfm_summary(tx.assign(date="2024-01-01"), observation_end="2024-02-01")
    with pytest.raises(Exception, match="time_unit"):
        rfm_summary(tx, observation_end="2024-02-01", time_unit="fortnight")


def test_compress_summary_preserves_counts(cdnow_cal):
    packed = compress_summary(cdnow_cal)
    assert packed["weights"].sum() == len(cdnow_cal)
    assert len(packed) < len(cdnow_cal)
