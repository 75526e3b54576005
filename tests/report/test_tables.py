"""The report tables are the same on every engine (issue 19), and the KPIs computed from them
are the KPIs of the transactions.

Counts are compared exactly and money to the cent (the engines sum in different orders);
``kpis.csv`` of the report month, written from each engine's tables, must be equal cell
for cell. Data: CDNOW (Fader & Hardie's master file), Online Retail, the synthetic CRM
set and the plain files of the hostile corpus.
"""

from __future__ import annotations

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
    RETURNS_SCHEMA,
    ReportTables,
    engine_tables,
    pandas_tables,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
from hostile_corpus import CASES  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data"
SQL_ENGINES = ("duckdb", "spark")


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
def produced(loaded, request):
    """``produced(name, engine)``: the tables of a data set on an engine, made once."""
    made = {}

    def get(name, engine):
        if (name, engine) not in made:
            data = loaded[name]
            month = resolve_month(None, data.transactions, returns=data.returns)
            spark = request.getfixturevalue("spark") if engine == "spark" else None
            made[name, engine] = engine_tables(data.transactions, data.returns, engine=engine,
                                               cuts=comparison_stops(month), spark=spark)
        return made[name, engine]

    return get


#: Spark SQL is slow on a shared 2-core machine (30-220 s a data set): its runs are in the
#: Spark tier (``-m spark``, ``make slow``; the ``spark`` fixture of tests/conftest.py is the
#: one shared session), not in the unit tests.
SLOW = pytest.mark.spark
PAIRS = [("cdnow", "duckdb"), ("online_retail", "duckdb"), ("synthetic_crm", "duckdb"),
         pytest.param("cdnow", "spark", marks=SLOW),
         pytest.param("online_retail", "spark", marks=SLOW),
         pytest.param("synthetic_crm", "spark", marks=SLOW)]


def assert_same_tables(ours: ReportTables, reference: ReportTables, label: str) -> None:
    """Counts exactly, money to the cent, same rows (sorted by customer and month)."""
    ref = reference.activity.sort_values(["customer_id", "period"], ignore_index=True)
    assert list(ours.activity.columns) == list(ACTIVITY_SCHEMA), label
    assert list(ours.monthly.columns) == list(MONTHLY_SCHEMA), label
    assert len(ours.activity) == len(ref) > 0, label
    back = reference.customer_returns.sort_values(["customer_id", "period"], ignore_index=True)
    assert list(ours.customer_returns.columns) == list(RETURNS_SCHEMA), label
    assert len(ours.customer_returns) == len(back), label
    for frame, other in ((ours.activity, ref), (ours.monthly, reference.monthly),
                         (ours.customer_returns, back)):
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


@pytest.mark.parametrize(("name", "engine"), PAIRS)
def test_sql_engines_produce_the_pandas_tables(produced, name, engine):
    assert produced(name, engine).engine == engine
    assert_same_tables(produced(name, engine), produced(name, "pandas"), f"{name} {engine}")


@pytest.mark.parametrize(("name", "engine"), PAIRS)
def test_kpis_csv_is_the_same_on_every_engine(loaded, produced, name, engine):
    import dataclasses

    data = loaded[name]
    period = resolve_month(None, data.transactions, returns=data.returns)
    data = dataclasses.replace(data, as_of=str(period.as_of.date()))

    def kpis(tables):
        head = headline_numbers(dataclasses.replace(data, tables=tables), month=period.month)
        return kpis_table(head, period=period)

    reference = kpis(produced(name, "pandas"))
    assert len(reference) >= 10
    pd.testing.assert_frame_equal(kpis(produced(name, engine)), reference)


@pytest.mark.parametrize("engine", ["pandas", "duckdb", pytest.param("spark", marks=SLOW)])
def test_partial_month_cuts_give_like_for_like_kpis_on_every_engine(loaded, engine, request):
    """Online Retail's December 2011 (data to the 9th): the cuts of 9 November and 2010."""
    import dataclasses

    data = loaded["online_retail"]
    period = resolve_month("2011-12", data.transactions, returns=data.returns, partial=True)
    data = dataclasses.replace(data, as_of=str(period.as_of.date()))
    cuts = comparison_stops(period)
    assert len(cuts) == 2
    spark = request.getfixturevalue("spark") if engine == "spark" else None
    tables = engine_tables(data.transactions, data.returns, engine=engine, cuts=cuts,
                           spark=spark)
    head = kpis_table(headline_numbers(dataclasses.replace(data, tables=tables),
                                       month=period.month), period=period)
    without = kpis_table(headline_numbers(data, month=period.month), period=period)
    pd.testing.assert_frame_equal(head, without)   # = cutting the transactions in pandas
    orders = head.set_index("metric").loc["orders"]
    assert orders["previous"] < orders["last_year"] < 2000    # days 1-9 of each month


PLAIN = [c for c in CASES if c.kind == "loads" and c.plain and not c.options]


def _plain_loaded(case, folder):
    from clvkit import load_transactions

    return load_transactions(case.build(folder))


@pytest.mark.parametrize("case", PLAIN, ids=[c.id for c in PLAIN])
def test_hostile_plain_files_give_the_same_tables_on_duckdb(case, tmp_path):
    res = _plain_loaded(case, tmp_path)
    assert len(res.transactions) > 0
    assert_same_tables(engine_tables(res.transactions, res.returns, engine="duckdb"),
                       pandas_tables(res.transactions, res.returns), case.id)


def test_hostile_plain_files_give_the_same_tables_on_spark(tmp_path, spark):
    """All plain files at once (ids prefixed by the case): one Spark run."""
    parts = {"transactions": [], "returns": []}
    for case in PLAIN:
        (tmp_path / case.id).mkdir()
        res = _plain_loaded(case, tmp_path / case.id)
        for name in parts:
            frame = getattr(res, name)
            parts[name].append(frame.assign(customer_id=case.id + "/" + frame["customer_id"]
                                            .astype("string")))
    tx, ret = (pd.concat(parts[n], ignore_index=True) for n in ("transactions", "returns"))
    assert tx["customer_id"].str.split("/").str[0].nunique() == len(PLAIN)
    assert_same_tables(engine_tables(tx, ret, engine="spark", spark=spark),
                       pandas_tables(tx, ret), "hostile plain files")


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
                                               "2024-01-20 00:00", "2024-01-04 00:00"]),
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
        assert t.customer_returns.to_dict("list") == {"customer_id": ["a"], "period": [650],
                                                     "rows": [1], "amount": [-4.0]}
        c = t.customers
        assert c.loc["a", ["orders", "purchase_days", "revenue", "returns", "net_value"]
                     ].tolist() == [2, 2, 19.5, 4.0, 15.5], engine
        assert c.loc["b", "net_value"] == 1.0


@pytest.mark.parametrize(("name", "engine"), [("online_retail", "pandas"), *PAIRS])
def test_prediction_inputs_from_the_tables_are_the_rfm_summary(loaded, produced, name, engine):
    """frequency, recency, T exactly; money to the cent (Fader, Hardie & Lee 2005 conventions)."""
    from clvkit.report.tables import rfm_from_activity
    from clvkit.summary import rfm_summary

    data = loaded[name]
    tx = data.transactions
    end = tx["date"].max().normalize()
    cal_end = (end.to_period("M") - 4).end_time.normalize()
    stop = (end - pd.Timestamp("1970-01-01")).days + 1
    activity = produced(name, engine).activity_before(stop)
    ours = rfm_from_activity(activity, observation_end=end, time_unit="W",
                             calibration_end=cal_end)
    reference = rfm_summary(tx, observation_end=end, time_unit="W",
                            calibration_end=cal_end)          # the same customer order
    assert ours.index.astype(str).tolist() == reference.index.astype(str).tolist()
    for col in reference.columns:
        if col.startswith("monetary"):
            np.testing.assert_allclose(ours[col], reference[col], rtol=0, atol=0.005)
        else:
            assert (ours[col].to_numpy() == reference[col].to_numpy()).all(), col
    assert ours.attrs == reference.attrs


@pytest.mark.parametrize("name", ["cdnow", "online_retail", "synthetic_crm"])
def test_subscription_evidence_from_the_tables_is_that_of_the_transactions(loaded, produced,
                                                                          name):
    """The payment-gap rule of clvkit.models.subscriptions, counted from the activity table."""
    from clvkit.models.subscriptions import subscription_evidence
    from clvkit.report.tables import subscription_evidence_from_activity

    ours = subscription_evidence_from_activity(produced(name, "pandas").activity)
    assert ours == subscription_evidence(loaded[name].transactions)
    assert ours.n_customers > 0


def test_subscription_evidence_from_the_tables_on_monthly_payers():
    """Monthly payers (gaps 25-35 days, across months and inside one) count; others do not."""
    from clvkit.models.subscriptions import subscription_evidence
    from clvkit.report.tables import pandas_tables, subscription_evidence_from_activity

    rng = np.random.default_rng(19)
    rows = []
    for i in range(60):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 40)))
        for _ in range(int(rng.integers(1, 9))):
            rows.append((f"c{i}", day, 9.5))
            # mostly monthly gaps (some inside a month: 1 then 30 January), some not
            day += pd.Timedelta(days=int(rng.choice([25, 29, 30, 31, 35, 3, 24, 36, 60])))
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    reference = subscription_evidence(tx)
    assert 0 < reference.n_monthly < reference.n_customers
    assert subscription_evidence_from_activity(pandas_tables(tx).activity) == reference
