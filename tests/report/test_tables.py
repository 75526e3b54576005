"""The report tables are the same on every engine (issue 19), and the KPIs computed from them
are the KPIs of the transactions.

Counts are compared exactly and money to the cent (the engines sum in different orders);
``kpis.csv`` of the report month, written from each engine's tables, must be equal cell
for cell. Data: CDNOW (Fader & Hardie's master file), Online Retail, the synthetic CRM
set and the plain files of the hostile corpus.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.crm import (
    activity_churn_base,
    activity_cohorts,
    activity_kpis,
    activity_table,
    churn_base,
    cohort_matrix,
    monthly_kpis,
)
from clvkit.report.config import load_config
from clvkit.report.data import ReportData, load_report_data
from clvkit.report.exports import kpis_table
from clvkit.report.month import resolve_month
from clvkit.report.sections.executive import comparison_stops, headline_numbers
from clvkit.report.tables import (
    ACTIVITY_SCHEMA,
    MONTHLY_SCHEMA,
    ReportTables,
    engine_tables,
    pandas_tables,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
from hostile_corpus import CASES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data"
SQL_ENGINES = ("duckdb", "spark")


@pytest.fixture(scope="session")
def spark_session():
    if shutil.which("java") is None:
        pytest.fail("Spark SQL tests need a Java runtime (17+): run `make java`")
    from clvkit.engines import local_spark

    return local_spark()


def _load(name: str) -> ReportData:
    specs = {"cdnow": ({"preset": "cdnow"}, DATA / "cdnow_master.csv.gz"),
             "online_retail": (None, None), "synthetic_crm": ("synthetic_crm", None)}
    config, path = specs[name]
    if isinstance(config, dict):
        cfg = load_config({"name": name, "data": {"path": str(path), **config}})
    else:
        cfg = load_config(config)
    return load_report_data(cfg.data)


@pytest.fixture(scope="session")
def loaded():
    """Each data set loaded once by the pandas loader."""
    return {name: _load(name) for name in ("cdnow", "online_retail", "synthetic_crm")}


@pytest.fixture(scope="session")
def produced(loaded, spark_session):
    """Tables of each data set on every engine, with the cuts of a month in progress."""
    out = {}
    for name, data in loaded.items():
        month = resolve_month(None, data.transactions, returns=data.returns)
        cuts = comparison_stops(month)
        out[name] = {engine: engine_tables(data.transactions, data.returns, engine=engine,
                                           cuts=cuts, spark=spark_session)
                     for engine in ("pandas", *SQL_ENGINES)}
    return out


def assert_same_tables(ours: ReportTables, reference: ReportTables, label: str) -> None:
    """Counts exactly, money to the cent, same rows (sorted by customer and month)."""
    ref = reference.activity.sort_values(["customer_id", "period"], ignore_index=True)
    assert list(ours.activity.columns) == list(ACTIVITY_SCHEMA), label
    assert list(ours.monthly.columns) == list(MONTHLY_SCHEMA), label
    assert len(ours.activity) == len(ref) > 0, label
    for frame, other in ((ours.activity, ref), (ours.monthly, reference.monthly)):
        for col in frame.columns:
            if frame[col].dtype == float:
                np.testing.assert_allclose(frame[col], other[col], rtol=0, atol=0.005,
                                           err_msg=f"{label}: {col}")
            else:
                assert frame[col].astype(str).tolist() == other[col].astype(str).tolist(), (
                    f"{label}: {col}")
    assert sorted(ours.cuts) == sorted(reference.cuts), label
    for stop, part in ours.cuts.items():
        assert_same_tables(part, reference.cuts[stop], f"{label} cut {stop}")


@pytest.mark.parametrize("engine", SQL_ENGINES)
@pytest.mark.parametrize("name", ["cdnow", "online_retail", "synthetic_crm"])
def test_sql_engines_produce_the_pandas_tables(produced, name, engine):
    assert produced[name][engine].engine == engine
    assert_same_tables(produced[name][engine], produced[name]["pandas"], f"{name} {engine}")


@pytest.mark.parametrize("engine", SQL_ENGINES)
@pytest.mark.parametrize("name", ["cdnow", "online_retail", "synthetic_crm"])
def test_kpis_csv_is_the_same_on_every_engine(loaded, produced, name, engine):
    import dataclasses

    data = loaded[name]
    period = resolve_month(None, data.transactions, returns=data.returns)
    data = dataclasses.replace(data, as_of=str(period.as_of.date()))

    def kpis(tables):
        head = headline_numbers(dataclasses.replace(data, tables=tables), month=period.month)
        return kpis_table(head, period=period)

    reference = kpis(produced[name]["pandas"])
    assert len(reference) >= 10
    pd.testing.assert_frame_equal(kpis(produced[name][engine]), reference)


def test_partial_month_cuts_give_like_for_like_kpis_on_every_engine(loaded, spark_session):
    """Online Retail's December 2011 (data to the 9th): the cuts of 9 November and 2010."""
    import dataclasses

    data = loaded["online_retail"]
    period = resolve_month("2011-12", data.transactions, returns=data.returns, partial=True)
    data = dataclasses.replace(data, as_of=str(period.as_of.date()))
    cuts = comparison_stops(period)
    assert len(cuts) == 2
    tables = {engine: engine_tables(data.transactions, data.returns, engine=engine, cuts=cuts,
                                    spark=spark_session) for engine in ("pandas", *SQL_ENGINES)}
    heads = {e: kpis_table(headline_numbers(dataclasses.replace(data, tables=t),
                                            month=period.month), period=period)
             for e, t in tables.items()}
    without = kpis_table(headline_numbers(data, month=period.month), period=period)
    for engine in ("pandas", *SQL_ENGINES):
        pd.testing.assert_frame_equal(heads[engine], without)   # = cutting the transactions
    assert heads["pandas"].set_index("metric").loc["orders", "previous"] < 2000  # days 1-9


PLAIN = [c for c in CASES if c.kind == "loads" and c.plain and not c.options]


@pytest.mark.parametrize("case", PLAIN, ids=[c.id for c in PLAIN])
def test_hostile_plain_files_give_the_same_tables_on_every_engine(case, tmp_path,
                                                                  spark_session):
    from clvkit import load_transactions

    res = load_transactions(case.build(tmp_path))
    if len(res.transactions) == 0:
        pytest.skip("no purchase kept")   # nothing to tabulate: checked by test_hostile
    reference = pandas_tables(res.transactions, res.returns)
    for engine in SQL_ENGINES:
        ours = engine_tables(res.transactions, res.returns, engine=engine, spark=spark_session)
        assert_same_tables(ours, reference, f"{case.id} {engine}")


def test_kpis_from_the_activity_table_are_the_kpis_of_the_transactions(loaded):
    """One definition: monthly_kpis, churn_base and cohort_matrix run the same code on both."""
    for data in loaded.values():
        tx = data.transactions
        act = activity_table(tx)
        pd.testing.assert_frame_equal(activity_kpis(act), monthly_kpis(tx), check_exact=False,
                                      rtol=1e-12)
        pd.testing.assert_series_equal(activity_churn_base(act), churn_base(tx))
        for value in ("retention", "revenue"):
            pd.testing.assert_frame_equal(activity_cohorts(act, value=value),
                                          cohort_matrix(tx, value=value), check_exact=False,
                                          rtol=1e-12)


def test_repeat_buyers_count_an_order_spanning_two_months_once():
    """Order X runs over midnight into February: two orders in all, a repeat buyer in February."""
    tx = pd.DataFrame({"customer_id": ["a", "a", "a"], "order_id": ["X", "X", "Y"],
                       "date": pd.to_datetime(["2024-01-31", "2024-02-01", "2024-02-10"]),
                       "amount": [10.0, 5.0, 20.0]})
    act = activity_table(tx)
    assert act["orders"].tolist() == [1, 2] and act["first_orders"].tolist() == [1, 1]
    kpis = activity_kpis(act)
    assert kpis["orders"].tolist() == [1, 2]
    assert kpis["repeat_purchase_rate"].tolist() == [0.0, 1.0]
    assert kpis.equals(monthly_kpis(tx))


def test_tables_hold_first_day_revenue_and_purchase_days():
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
                       "date": pd.to_datetime(["2024-01-03 10:00", "2024-01-03 18:00",
                                               "2024-01-20", "2024-01-04"]),
                       "amount": [10.0, 2.5, 7.0, 1.0], "refunded": [0.0, 1.0, 0.0, 0.0]})
    ret = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-03-01"]),
                        "amount": [-4.0]})
    for engine in ("pandas", "duckdb"):
        t = engine_tables(tx, ret, engine=engine)
        a = t.activity.set_index("customer_id")
        assert a.loc["a", ["orders", "purchase_days"]].tolist() == [2, 2], engine
        assert a.loc["a", "first_day_revenue"] == 12.5 and a.loc["a", "refunds"] == 1.0
        assert a.loc["a", "first_day"] == (pd.Timestamp("2024-01-03")
                                           - pd.Timestamp("1970-01-01")).days
        assert t.monthly[["rows", "revenue", "returns"]].to_numpy().tolist() == [
            [4, 20.5, 1.0], [0, 0.0, 4.0]], engine
        assert t.returns().to_dict() == {pd.Period("2024-01", "M"): 1.0,
                                         pd.Period("2024-03", "M"): 4.0}
