"""One word, one meaning (issue 14 §5; README "Glossary"): the public signatures use one name
per concept. ``time_unit`` is the unit of the data's durations, a horizon has
``horizon_unit``, a discount rate has ``discount_period``, row counts are ``weights``.
"""

import importlib
import inspect
import pkgutil

import pandas as pd
import pytest

import clvkit
from clvkit.summary import compress_summary

#: retired names -> the name to use
RETIRED = {"freq_of_discount": "discount_period", "discount_unit": "discount_period",
           "weight": "weights"}


def _public_callables():
    """(qualified name, callable) of every public function and public method of clvkit.

    Private modules are scanned too (``clvkit.models._base`` holds every model's ``fit``).
    """
    seen = set()
    for info in pkgutil.walk_packages(clvkit.__path__, prefix="clvkit."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj):
                items = [(f"{info.name}.{name}", obj)]
            elif inspect.isclass(obj):
                items = [(f"{info.name}.{name}.{m}", f) for m, f in vars(obj).items()
                         if not m.startswith("_") and inspect.isfunction(f)]
            else:
                continue
            for qualname, func in items:
                if qualname not in seen:
                    seen.add(qualname)
                    yield qualname, func


CALLABLES = dict(_public_callables())


def test_the_scan_sees_the_functions_it_guards():
    # a scan that found nothing would pass for any vocabulary
    for name in ("clvkit.clv.customer_lifetime_value", "clvkit.models.intervals.clv_interval",
                 "clvkit.models.pareto_nbd.ParetoNBDPredictions.dert", "clvkit.models.future.dert",
                 "clvkit.summary.rfm_summary", "clvkit.segments.rfm_scores",
                 "clvkit.models._base.RFTModel.fit"):
        assert name in CALLABLES, name
    assert len(CALLABLES) > 200


def test_no_retired_parameter_names():
    found = [f"{name}({p}=...): use {RETIRED[p]}=" for name, func in CALLABLES.items()
             for p in inspect.signature(func).parameters if p in RETIRED]
    assert not found, found


#: functions whose ``horizon`` is a whole number of periods of the data's own ``time_unit``
#: (an age in the data, like a model method's ``t``), not a length with a unit of its own
HORIZON_IN_DATA_PERIODS = {
    "clvkit.economics.ltv_cac_by_channel": "ages of cumulative_margin, in its time_unit",
}


def test_a_horizon_has_horizon_unit_not_time_unit():
    # time_unit next to a horizon without its own horizon_unit would read as the horizon's
    # unit (clvkit.clv.customer_lifetime_value once took it); time_unit beside horizon_unit
    # is the data's unit (models.select.predict_with_best_model)
    found = [name for name, func in CALLABLES.items()
             if {"horizon", "time_unit"} <= set(inspect.signature(func).parameters)
             and "horizon_unit" not in inspect.signature(func).parameters
             and name not in HORIZON_IN_DATA_PERIODS]
    assert not found, found
    for name in HORIZON_IN_DATA_PERIODS:  # the exceptions still exist and say so
        assert "``time_unit``" in CALLABLES[name].__doc__
    for name in ("clvkit.clv.customer_lifetime_value", "clvkit.clv.new_customer_clv",
                 "clvkit.clv.cash_flows", "clvkit.models.intervals.clv_interval"):
        params = inspect.signature(CALLABLES[name]).parameters
        assert {"horizon", "horizon_unit", "discount_rate", "discount_period"} <= set(params)


def test_compressed_rows_carry_weights_that_fit_takes():
    s = pd.DataFrame({"frequency": [0, 0, 2], "recency": [0.0, 0.0, 5.0], "T": [10.0] * 3})
    packed = compress_summary(s)
    assert list(packed.columns) == ["frequency", "recency", "T", "weights"]
    assert packed["weights"].tolist() == [2, 1]


@pytest.mark.parametrize("old, new", [("time_unit", "horizon_unit"),
                                      ("freq_of_discount", "discount_period")])
def test_an_old_keyword_fails_loudly(old, new):
    from clvkit.clv import customer_lifetime_value

    kwargs = {"horizon": 12, "horizon_unit": "M", "discount_rate": 0.01,
              "discount_period": "M"}
    kwargs[old] = kwargs.pop(new)
    with pytest.raises(TypeError, match=old):
        customer_lifetime_value(None, None, pd.DataFrame(), **kwargs)


def test_a_margin_amount_is_margin_per_period_and_margin_is_a_rate():
    """`margin` is a rate in (0, 1]; an amount per customer per period is `margin_per_period`."""
    from clvkit import economics, formulas

    for func in (formulas.retention_clv, formulas.finite_horizon_clv,
                 formulas.cac_payback_periods, economics.retention_scenarios,
                 economics.break_even_retention_spend):
        params = inspect.signature(func).parameters
        assert "margin_per_period" in params and "margin" not in params, func.__name__
