"""save_fit / load_fit: a fitted model as JSON, predictions equal after the round trip."""

import json

import numpy as np
import pytest

from clvkit import __version__
from clvkit.datasets import cdnow_summary
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import (
    BGNBD,
    BetaGeoBetaBinomialFit,
    GammaGamma,
    GammaGammaFit,
    MBGNBDFit,
    ParetoNBD,
    ShiftedBetaGeometricFit,
    load_fit,
    save_fit,
)


@pytest.fixture(scope="module")
def summary():
    return cdnow_summary(with_spend=True)


@pytest.mark.parametrize("model", [BGNBD, ParetoNBD])
def test_round_trip_predicts_exactly(tmp_path, summary, model):
    fit = model().fit(summary)
    path = save_fit(fit, tmp_path / "fit.json")
    loaded, info = load_fit(path, details=True)
    assert type(loaded) is type(fit) and loaded.params == fit.params
    assert (loaded.log_likelihood, loaded.n_customers, loaded.time_unit, loaded.success) == (
        fit.log_likelihood, fit.n_customers, "W", True)
    np.testing.assert_array_equal(loaded.p_alive(summary), fit.p_alive(summary))
    np.testing.assert_array_equal(loaded.conditional_expected_purchases(summary, t=39),
                                  fit.conditional_expected_purchases(summary, t=39))
    np.testing.assert_array_equal(info["covariance"], fit.covariance())
    assert list(info["covariance"].index) == list(fit.params_series().index)
    assert info["data"]["n_customers"] == 2357
    assert info["data"]["observation_span"] == summary["T"].max()
    assert info["data"]["mean_frequency"] == pytest.approx(summary["frequency"].mean())
    assert info["clvkit_version"] == __version__
    doc = json.loads(path.read_text())
    assert doc["format"] == "clvkit-fit" and doc["model"] == fit.model_name


def test_gamma_gamma_round_trip(tmp_path, summary):
    fit = GammaGamma().fit(summary)
    loaded = load_fit(save_fit(fit, tmp_path / "gg.json"))
    assert isinstance(loaded, GammaGammaFit) and loaded.params == fit.params
    np.testing.assert_array_equal(loaded.conditional_expected_spend(summary),
                                  fit.conditional_expected_spend(summary))


@pytest.mark.parametrize("fit", [
    MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W"),
    ShiftedBetaGeometricFit.from_params(alpha=0.668, beta=3.806, time_unit=None),
    BetaGeoBetaBinomialFit.from_params(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783,
                                       time_unit=None),
])
def test_given_parameters_round_trip(tmp_path, fit):
    loaded, info = load_fit(save_fit(fit, tmp_path / "f.json"), details=True)
    assert type(loaded) is type(fit) and loaded.params == fit.params
    assert np.isnan(loaded.log_likelihood)  # NaN is stored as null (valid JSON)
    assert info["covariance"] is None and "not fitted here" in info["covariance_note"]
    assert info["data"] is None


@pytest.mark.parametrize("content, match", [
    ("not json {", "not JSON"),
    ('{"model": "BG/NBD"}', 'no "format": "clvkit-fit"'),
    ('[1, 2]', 'no "format"'),
    ('{"format": "clvkit-fit", "format_version": 1, "model": "XYZ"}', "unknown model 'XYZ'"),
    ('{"format": "clvkit-fit", "format_version": 1, "model": "BG/NBD", "params": {"r": 1}}',
     "needs numeric parameters"),
    ('{"format": "clvkit-fit", "format_version": 9, "model": "BG/NBD"}', "format_version 9"),
])
def test_refuses_what_is_not_a_fit(tmp_path, content, match):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(DataValidationError, match=match) as err:
        load_fit(path)
    assert str(path) in str(err.value) and "save_fit" in str(err.value)
    with pytest.raises(DataValidationError, match="cannot read"):
        load_fit(tmp_path / "missing.json")


def test_never_overwrites_another_file(tmp_path, summary):
    other = tmp_path / "data.json"
    other.write_text('{"customers": 3}')
    fit = MBGNBDFit.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614, time_unit="W")
    with pytest.raises(ClvError, match="not overwritten"):
        save_fit(fit, other)
    assert other.read_text() == '{"customers": 3}'
    save_fit(fit, tmp_path / "a.json")
    save_fit(fit, tmp_path / "a.json")  # replacing a fit file is fine
    with pytest.raises(ClvError, match="needs a fitted clvkit model"):
        save_fit(summary, tmp_path / "b.json")
