"""Shared model machinery: input validation, row compression, convergence handling."""

import warnings

import numpy as np
import pandas as pd
import pytest

from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, ConvergenceError, DataValidationError
from clvkit.models import BGNBD, ConvergenceWarning
from clvkit.models._base import compress


@pytest.fixture
def summary():
    s = pd.DataFrame(
        {"frequency": [0.0, 2, 1, 5, 0, 3], "recency": [0.0, 8.0, 3.0, 20.0, 0.0, 9.5],
         "T": [10.0, 12.0, 30.0, 25.0, 4.0, 30.0]},
        index=pd.Index([11, 12, 13, 14, 15, 16], name="customer_id"))
    s.attrs["time_unit"] = "W"
    return s


@pytest.mark.parametrize("column, value, match", [
    ("frequency", -1, "negative"),
    ("frequency", 1.5, "whole number"),
    ("recency", 99.0, "recency` > `T"),
    ("T", np.nan, "NaN"),
    ("recency", -2.0, "negative"),
])
def test_bad_values_are_named(summary, column, value, match):
    bad = summary.copy()
    bad.loc[14, column] = value
    with pytest.raises(DataValidationError, match=match) as err:
        BGNBD().fit(bad)
    assert "14" in str(err.value)  # the offending customer id is shown


def test_empty_all_zero_missing_column(summary):
    with pytest.raises(DataValidationError, match="empty"):
        BGNBD().fit(summary.iloc[:0])
    zero = summary.assign(frequency=0, recency=0.0)
    with pytest.raises(DataValidationError, match="frequency` = 0"):
        BGNBD().fit(zero)
    with pytest.raises(DataValidationError, match="missing column"):
        BGNBD().fit(summary.drop(columns="T"))


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary().iloc[:500]


def test_time_unit_is_required_and_consistent(cdnow):
    summary = cdnow
    bare = pd.DataFrame(summary)
    bare.attrs = {}
    with pytest.raises(ClvError, match="time unit"):
        BGNBD().fit(bare)
    with pytest.raises(ClvError, match="contradicts"):
        BGNBD().fit(summary, time_unit="D")
    fit = BGNBD().fit(frequency=bare["frequency"], recency=bare["recency"], T=bare["T"],
                      time_unit="D")
    assert fit.time_unit == "D"


def test_fit_does_not_mutate_input_or_model(cdnow):
    summary = cdnow
    before = summary.copy()
    model = BGNBD()
    f1 = model.fit(summary)
    pd.testing.assert_frame_equal(summary, before)
    assert summary.attrs == {"time_unit": "W"}
    f2 = model.fit(summary)
    assert f1 == f2 and f1 is not f2  # deterministic, new object each time


def test_compressed_summary_fits_like_the_full_one(cdnow):
    # clvkit.summary.compress_summary gives unique rows with a `weights` count
    from clvkit.summary import compress_summary

    packed = compress_summary(cdnow)
    assert len(packed) < len(cdnow)
    full = BGNBD().fit(cdnow)
    small = BGNBD().fit(packed, weights=packed["weights"])
    assert small.n_customers == full.n_customers
    assert small.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-12)


def test_compress_preserves_totals():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"frequency": rng.integers(0, 3, 1000),
                       "recency": rng.integers(0, 4, 1000) / 7, "T": 5.0})
    packed = compress(df)
    assert packed["weights"].sum() == 1000
    assert len(packed) == len(df.drop_duplicates())
    assert not packed.duplicated(["frequency", "recency", "T"]).any()


def test_non_convergence_raises_or_warns():
    # nobody ever drops out (every customer bought at the very end): b runs off to infinity
    s = pd.DataFrame({"frequency": [1, 2, 3, 4], "recency": [10.0] * 4, "T": [10.0] * 4})
    with pytest.raises(ConvergenceError, match="did not converge"):
        BGNBD().fit(s, time_unit="W")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = BGNBD().fit(s, time_unit="W", strict=False)
    assert not fit.success
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_blas_threads_restored_after_fit(cdnow):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info()]
    BGNBD().fit(cdnow)
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()] == before


def test_negative_age_or_zero_age_with_repeats_is_rejected(summary):
    bad = summary.copy()
    bad.loc[15, "T"] = -1.0
    with pytest.raises(DataValidationError, match="`T` is negative") as err:
        BGNBD().fit(bad)
    assert "15" in str(err.value)
    bad = summary.copy()
    bad.loc[14, ["T", "recency"]] = 0.0
    with pytest.raises(DataValidationError, match="0 with repeat purchases"):
        BGNBD().fit(bad)


@pytest.mark.parametrize("model", ["BGNBD", "ParetoNBD", "MBGNBD"])
def test_customers_first_seen_on_the_last_day_add_nothing(model):
    # rfm_summary gives T = 0 to a customer whose first purchase is on the observation end:
    # the likelihood of "no repeat purchase in zero time" is 1, so the fit is unchanged
    import clvkit.models as models

    base = cdnow_summary()
    extra = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [0.0, 0.0]},
                         index=pd.Index([90001, 90002], name="customer_id"))
    more = pd.concat([base, extra])
    more.attrs = dict(base.attrs)
    a = getattr(models, model)().fit(base)
    b = getattr(models, model)().fit(more)
    np.testing.assert_allclose(a.params_series(), b.params_series(), rtol=1e-6)
    assert b.log_likelihood == pytest.approx(a.log_likelihood, rel=1e-10)
    assert b.n_customers == a.n_customers + 2
