"""One summary, several engines: pandas (the reference), DuckDB and Spark SQL agree.

Spark tests share one local SparkSession per test session (the ``spark`` fixture of
``tests/conftest.py``: ``local[2]``, no UI, 4 shuffle partitions), and are marked ``spark``
by it: ``make slow`` runs them, ``make unit`` does not. They need Java: without it they FAIL
with the fix in the message (CI installs it with ``make java``), they are not skipped.
"""

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvkit.datasets import CDNOW_CALIBRATION_END, CDNOW_OBSERVATION_END, data_dir
from clvkit.engines import (
    EngineError,
    _require_java,
    rfm_summary_engine,
    summary_sql,
    write_rfm_summary,
)
from clvkit.errors import ClvError, DataValidationError
from clvkit.models import BGNBD
from clvkit.summary import compress_summary, rfm_summary

CDNOW_PERIODS = dict(observation_end=CDNOW_OBSERVATION_END,
                     calibration_end=CDNOW_CALIBRATION_END)


def assert_same_summary(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same rows and columns, integer counts exactly, floats to 1e-9."""
    assert list(ours.columns) == list(reference.columns)
    assert [str(i) for i in ours.index] == [str(i) for i in reference.index]
    for col in reference.columns:
        if col.startswith("frequency") or col == "weights":
            assert ours[col].dtype == np.int64, col
            assert (ours[col].to_numpy() == reference[col].to_numpy()).all(), col
        else:
            np.testing.assert_allclose(ours[col].to_numpy(), reference[col].to_numpy(),
                                       rtol=1e-9, atol=1e-9, err_msg=col)


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    """Several purchases per day, times of day, string ids, a year of dates."""
    rng = np.random.default_rng(8)
    n = 1500
    ids = np.array([f"c-{i:03d}-é" for i in range(250)])
    stamps = (pd.Timestamp("2023-01-01")
              + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n), unit="min"))
    return pd.DataFrame({"cust": rng.choice(ids, n), "when": stamps,
                         "value": np.round(rng.gamma(2.0, 20.0, n), 2)})


SYNTH_OPTIONS = dict(observation_end="2023-12-31", calibration_end="2023-08-15",
                     time_unit="M", columns={"customer_id": "cust", "date": "when",
                                             "amount": "value"})


@pytest.fixture(scope="module")
def synthetic_reference(synthetic):
    canon = synthetic.rename(columns={"cust": "customer_id", "when": "date", "value": "amount"})
    return rfm_summary(canon, observation_end="2023-12-31", calibration_end="2023-08-15",
                       time_unit="M")


# --------------------------------------------------------------------------- agreement


def test_cdnow_three_engines_agree(cdnow, spark):
    reference = rfm_summary(cdnow, time_unit="W", **CDNOW_PERIODS)
    for engine in ("pandas", "duckdb", "spark"):
        ours = rfm_summary_engine(cdnow, engine=engine, spark=spark, **CDNOW_PERIODS)
        assert_same_summary(ours, reference)
        assert ours.attrs["engine"] == engine
        assert ours.attrs["time_unit"] == "W"
        assert ours.attrs["calibration_end"] == "1997-09-30"
    # 2,357 customers (Fader, Hardie & Lee 2005) -> far fewer distinct (x, t_x, T) rows
    packed = compress_summary(reference)
    for engine in ("pandas", "duckdb", "spark"):
        ours = rfm_summary_engine(cdnow, engine=engine, spark=spark, compress=True,
                                  **CDNOW_PERIODS)
        assert_same_summary(ours, packed)
        assert ours["weights"].sum() == 2357


def test_synthetic_three_engines_agree_from_parquet(tmp_path, synthetic, synthetic_reference,
                                                    spark):
    path = tmp_path / "tx.parquet"
    synthetic.to_parquet(path)
    for engine in ("pandas", "duckdb", "spark"):
        ours = rfm_summary_engine(path, engine=engine, spark=spark, **SYNTH_OPTIONS)
        assert_same_summary(ours, synthetic_reference)
    # a Spark DataFrame already in the session (how a cluster user calls it)
    ours = rfm_summary_engine(spark.read.parquet(str(path)), engine="spark", spark=spark,
                              **SYNTH_OPTIONS)
    assert_same_summary(ours, synthetic_reference)
    assert synthetic_reference["frequency"].max() > 3  # the data exercise repeat days


def test_spark_corrupt_file_is_one_line_validation_error(tmp_path, spark):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(DataValidationError, match="Spark could not summarise") as info:
        rfm_summary_engine(bad, engine="spark", spark=spark, observation_end="2024-01-01")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("monetary", ["mean", "mean_all", "sum"])
@pytest.mark.parametrize("time_unit", ["D", "W", "M", "Y"])
def test_duckdb_units_and_monetary(synthetic, time_unit, monetary):
    canon = synthetic.rename(columns={"cust": "customer_id", "when": "date", "value": "amount"})
    options = dict(observation_end="2023-12-31", time_unit=time_unit, monetary=monetary)
    assert_same_summary(rfm_summary_engine(canon, engine="duckdb", **options),
                        rfm_summary(canon, **options))


def test_duckdb_csv_gz_and_glob(tmp_path, cdnow):
    reference = rfm_summary(cdnow, time_unit="D", **CDNOW_PERIODS)
    ours = rfm_summary_engine(data_dir() / "cdnow_sample.csv.gz", engine="duckdb", time_unit="D",
                              **CDNOW_PERIODS)
    assert_same_summary(ours, reference)
    tx = cdnow.transactions
    for part, rows in enumerate(np.array_split(np.arange(len(tx)), 3)):
        tx.iloc[rows].to_parquet(tmp_path / f"tx-{part}.parquet")
    globbed = rfm_summary_engine(str(tmp_path / "tx-*.parquet"), engine="duckdb",
                                 time_unit="D", **CDNOW_PERIODS)
    assert_same_summary(globbed, reference)


def test_compressed_fit_equals_full_fit(cdnow):
    # BG/NBD on the 2,357 CDNOW customers vs on their distinct rows with weights
    full = rfm_summary(cdnow, time_unit="W", **CDNOW_PERIODS)
    packed = rfm_summary_engine(cdnow, engine="duckdb", compress=True, **CDNOW_PERIODS)
    assert len(packed) < len(full) / 2
    a = BGNBD().fit(full[["frequency", "recency", "T"]])
    b = BGNBD().fit(packed[["frequency", "recency", "T"]], weights=packed["weights"])
    np.testing.assert_allclose(b.params_series().to_numpy(), a.params_series().to_numpy(),
                               rtol=1e-5)
    assert b.n_customers == 2357


def test_write_summary_duckdb_streams_to_parquet(tmp_path, cdnow):
    out = tmp_path / "summary.parquet"
    rows = write_rfm_summary(cdnow, out, engine="duckdb", time_unit="W", **CDNOW_PERIODS)
    assert rows == 2357
    written = pd.read_parquet(out).set_index("customer_id")
    assert_same_summary(written, rfm_summary(cdnow, time_unit="W", **CDNOW_PERIODS))
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(out).metadata.metadata
    assert meta[b"time_unit"] == b"W" and meta[b"calibration_end"] == b"1997-09-30"


def test_summary_sql_is_one_template():
    sql = summary_sql(source="tx", observation_end="1997-01-29", time_unit="M",
                      calibration_end="1997-01-15", compress=True)
    # day numbers since 1970-01-01 and the unit as the exact Python double
    assert f"<= {(pd.Timestamp('1997-01-29') - pd.Timestamp('1970-01-01')).days}" in sql
    assert "CAST('30.436875' AS DOUBLE)" in sql
    assert "COUNT(*) AS weights" in sql


def test_auto_engine_choice(cdnow, monkeypatch):
    assert rfm_summary_engine(cdnow, observation_end="1997-06-30").attrs["engine"] == "pandas"
    small = rfm_summary_engine(data_dir() / "cdnow_sample.csv.gz", observation_end="1997-06-30")
    assert small.attrs["engine"] == "pandas"  # a 41 kB file fits in memory
    # the same file on a machine with 64 kB of free memory is "bigger than memory"
    monkeypatch.setattr("clvkit.engines.os.sysconf",
                        lambda name: {"SC_AVPHYS_PAGES": 16, "SC_PAGE_SIZE": 4096}[name])
    big = rfm_summary_engine(data_dir() / "cdnow_sample.csv.gz", observation_end="1997-06-30")
    assert big.attrs["engine"] == "duckdb"
    assert_same_summary(big, small)


# --------------------------------------------------------------------------- errors


def test_missing_values_in_file_are_reported(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,5\n,2024-01-02,3\n2,not a date,4\n")
    with pytest.raises(DataValidationError, match="2 of 3 rows .* missing customer id"):
        rfm_summary_engine(path, engine="duckdb", observation_end="2024-02-01")


@pytest.mark.parametrize("kwargs, message", [
    (dict(calibration_end="2024-03-01"), "after observation_end"),
    (dict(observation_end="2023-01-01"), "calibration period is empty"),
    (dict(engine="polars"), "`engine` must be one of"),
    (dict(time_unit="fortnight"), "`time_unit` must be one of"),
    (dict(columns={"customer_id": "nope"}), r"lack\w* column\(s\) \['nope'\]"),
    (dict(columns={"client": "x"}), "`columns key` must be one of"),
])
def test_user_errors(kwargs, message):
    tx = pd.DataFrame({"customer_id": [1, 2], "amount": [1.0, 2.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-05"])})
    options = dict(engine="duckdb", observation_end="2024-02-01") | kwargs
    with pytest.raises(ClvError, match=message):
        rfm_summary_engine(tx, **options)


def test_missing_java_is_a_clear_engine_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(EngineError, match="needs a Java runtime.*make java"):
        _require_java()


# --------------------------------------------------------------------------- property


transaction_sets = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "é"]),
              st.integers(0, 120),  # day
              st.integers(0, 23),  # hour
              st.integers(-5_000, 100_000).map(lambda cents: cents / 100)),
    min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=transaction_sets, cal=st.integers(0, 90), unit=st.sampled_from(["D", "W", "M"]))
def test_duckdb_equals_pandas_on_arbitrary_transactions(rows, cal, unit):
    ids, days, hours, amounts = zip(*rows, strict=True)
    tx = pd.DataFrame({"customer_id": ids, "amount": amounts,
                       "date": pd.Timestamp("2024-01-01")
                       + pd.to_timedelta(np.array(days) * 24 + np.array(hours), unit="h")})
    options = dict(observation_end="2024-03-31", calibration_end=pd.Timestamp("2024-01-01")
                   + pd.Timedelta(days=cal), time_unit=unit)
    try:
        reference = rfm_summary(tx, **options)
    except DataValidationError as exc:  # e.g. an empty calibration period: same error
        assert "calibration period is empty" in str(exc)
        with pytest.raises(DataValidationError, match="calibration period is empty"):
            rfm_summary_engine(tx, engine="duckdb", **options)
        return
    assert_same_summary(rfm_summary_engine(tx, engine="duckdb", **options), reference)
    assert_same_summary(rfm_summary_engine(tx, engine="duckdb", compress=True, **options),
                        compress_summary(reference))


# --------------------------------------------------------------------------- CLI


def test_cli_summary_engines_write_the_same_table(tmp_path, capsys, spark):
    from clvkit.cli import main

    source = str(data_dir() / "cdnow_sample.csv.gz")
    common = ["summary", source, "--preset", "cdnow", "--observation-end", "1998-06-30",
              "--calibration-end", "1997-09-30"]
    tables = {}
    for engine in ("pandas", "duckdb", "spark"):
        out = tmp_path / f"{engine}.parquet"
        assert main([*common, "--engine", engine, "--out", str(out)]) == 0
        assert f"wrote 2,357 customers (W) to {out}" in capsys.readouterr().out
        table = pd.read_parquet(out)
        tables[engine] = table if engine == "pandas" else table.set_index("customer_id")
    assert_same_summary(tables["duckdb"], tables["pandas"])
    assert_same_summary(tables["spark"], tables["pandas"])


def test_callers_duckdb_connection_is_left_as_it_was(cdnow):
    import duckdb

    con = duckdb.connect()
    before = con.execute("SELECT current_setting('temp_directory'), "
                         "current_setting('preserve_insertion_order')").fetchone()
    ours = rfm_summary_engine(cdnow, engine="duckdb", duckdb_connection=con, **CDNOW_PERIODS)
    assert_same_summary(ours, rfm_summary(cdnow, time_unit="W", **CDNOW_PERIODS))
    after = con.execute("SELECT current_setting('temp_directory'), "
                        "current_setting('preserve_insertion_order')").fetchone()
    assert after == before
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = "
                       "'clvkit_transactions'").fetchone() == (0,)
    con.close()


def test_write_summary_empty_calibration_leaves_no_file(tmp_path, cdnow):
    out = tmp_path / "summary.csv"
    with pytest.raises(DataValidationError, match="calibration period is empty"):
        write_rfm_summary(cdnow, out, engine="duckdb", observation_end="1990-01-01")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ids", [["007", "7", "1E3", "1000", "12345678901234567890"],
                                 # without a leading zero DuckDB's sniffer reads DOUBLE
                                 ["1E3", "1000", "5"]])
def test_engines_read_csv_customer_ids_as_written(tmp_path, spark, ids):
    # '007' and '7' are two customers, '1E3' is not 1000, 20 digits stay intact
    rows = [f"{cid},2024-01-0{day},{day}.5" for cid in ids for day in (1, 3)]
    path = tmp_path / "ids.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    for engine in ("pandas", "duckdb", "spark"):
        out = rfm_summary_engine(path, engine=engine, spark=spark, time_unit="D",
                                 observation_end="2024-01-10")
        assert sorted(out.index) == sorted(ids), engine
        assert out["frequency"].tolist() == [1] * len(ids), engine
        assert out["monetary_value"].tolist() == [3.5] * len(ids), engine


def test_engines_trim_and_nfc_normalise_text_ids_like_the_loader(tmp_path, spark):
    # ' c1 ' / 'c1', 'e' + combining accent / 'é', NBSP and ideographic space around 'x':
    # one customer each for pandas and DuckDB; Spark kept them apart
    path = tmp_path / "ids.csv"
    path.write_text("customer_id,date,amount\n c1 ,2024-01-05,3\nc1,2024-02-05,4\n"
                    "e\u0301,2024-01-07,5\n\u00e9,2024-03-01,6\n"
                    "\u00a0x\u3000,2024-01-02,1\nx,2024-01-09,2\n", encoding="utf-8")
    for engine in ("pandas", "duckdb", "spark"):
        out = rfm_summary_engine(path, engine=engine, spark=spark, time_unit="D",
                                 observation_end="2024-12-31")
        assert sorted(out.index) == ["c1", "x", "\u00e9"], engine
        assert out["frequency"].tolist() == [1, 1, 1], engine


def test_pandas_engine_reads_a_day_first_column_once_like_duckdb(tmp_path):
    # format="mixed" read 05/06/2024 as 6 May beside 13/06/2024 as 13 June: recency 38 days
    path = tmp_path / "dayfirst.csv"
    path.write_text("customer_id,date,amount\nA,05/06/2024,3\nA,13/06/2024,4\n"
                    "B,20/06/2024,5\n")
    for engine in ("pandas", "duckdb"):
        out = rfm_summary_engine(path, engine=engine, time_unit="D",
                                 observation_end="2024-06-30")
        assert out.loc["A", "recency"] == 8.0 and out.loc["A", "T"] == 25.0, engine


def test_sql_engines_name_utf16_inside_gzip(tmp_path):
    # the byte-order mark is looked for in the decompressed bytes probe_file read: a gzip
    # UTF-16 CSV got DuckDB's "CSV Error on Line: 1" instead of the reason and the way out
    import gzip

    path = tmp_path / "tx.csv.gz"
    path.write_bytes(gzip.compress("customer_id,date,amount\n007,2024-01-01,2\n"
                                   .encode("utf-16")))
    with pytest.raises(DataValidationError, match="UTF-16/UTF-32 text .*engine='pandas'"):
        rfm_summary_engine(path, engine="duckdb", observation_end="2024-01-10")


def test_sql_engines_refuse_compression_their_readers_would_misread(tmp_path):
    # DuckDB and Spark pick the codec from the name: gzip bytes named .csv would be garbage
    import gzip

    path = tmp_path / "tx.csv"
    path.write_bytes(gzip.compress(b"customer_id,date,amount\n007,2024-01-01,2\n"
                                   b"007,2024-01-03,3\n"))
    with pytest.raises(DataValidationError, match="tx.csv is gzip-compressed; .*"
                                                  "engine='pandas'"):
        rfm_summary_engine(path, engine="duckdb", observation_end="2024-01-10")
    out = rfm_summary_engine(path, engine="pandas", observation_end="2024-01-10",
                             time_unit="D")
    assert out.index.tolist() == ["007"] and out["monetary_value"].tolist() == [3.0]
