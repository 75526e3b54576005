"""pandas and DuckDB find the same customers in every plain hostile corpus file (issue 11).

For each corpus case that is a CSV or Parquet file with the canonical columns, loads with
the default options and keeps every row (no drops or returns, so the SQL engine, which
takes clean transactions as they are, sees the same purchases), the set of customer ids
of :func:`clvkit.engines.rfm_summary_engine` with ``engine="duckdb"`` on the *file* must
equal that of :func:`clvkit.summary.rfm_summary` on ``load_transactions(file)`` and the
ids the case expects. Spark is left out here (see tests/test_engines.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clvkit import load_transactions
from clvkit.engines import rfm_summary_engine
from clvkit.errors import ClvError
from clvkit.summary import rfm_summary

sys.path.insert(0, str(Path(__file__).parent))
from hostile_corpus import CASES, Case  # noqa: E402

OBSERVATION_END = "2030-12-31"

#: Files DuckDB's readers cannot take as they are, and the word its refusal must give.
SQL_UNREADABLE = {"gzip_content_named_csv": "gzip", "utf16_le_bom": "UTF-16",
                  "utf16_be_bom": "UTF-16"}

ENGINE_CASES = [c for c in CASES if c.kind == "loads" and c.plain and not c.options
                and set(c.log) == {"kept"}]


def test_engine_cases_cover_ids_encodings_and_parquet():
    names = {c.id for c in ENGINE_CASES}
    assert {"ids_007_vs_7", "ids_1E3_vs_1000", "ids_twenty_digits", "utf16_le_bom",
            "parquet_integer_ids", "gzip_content_named_csv"} <= names
    assert len(ENGINE_CASES) >= 15


@pytest.mark.parametrize("case", ENGINE_CASES, ids=[c.id for c in ENGINE_CASES])
def test_duckdb_and_pandas_find_the_same_customers(case: Case, tmp_path):
    pytest.importorskip("duckdb", reason="the scale extra (DuckDB) is not installed")
    path = case.build(tmp_path)
    expected = sorted({row[0] for row in case.rows})
    found: dict[str, object] = {}
    try:
        summary = rfm_summary(load_transactions(path).transactions,
                              observation_end=OBSERVATION_END)
        found["pandas"] = sorted(summary.index, key=str)
    except ClvError as exc:
        found["pandas"] = f"error: {exc}"
    try:
        summary = rfm_summary_engine(path, engine="duckdb", observation_end=OBSERVATION_END)
        found["duckdb"] = sorted(map(str, summary.index))  # the same text, whatever the type
    except ClvError as exc:
        found["duckdb"] = f"error: {exc}"
    report = f"expected ids {expected}; pandas {found['pandas']}; duckdb {found['duckdb']}"
    # ids are strings as written (pandas), and DuckDB finds exactly the same customers
    # (compared as text: DuckDB's 7.0 for a Parquet float id 7.0 is not pandas' "7")
    assert found["pandas"] == expected, report
    if case.id in SQL_UNREADABLE:
        # DuckDB cannot read this file as it is: it must refuse with the reason and the way
        # out, never read other customers (documented in clvkit.engines)
        assert str(found["duckdb"]).startswith("error: "), report
        assert SQL_UNREADABLE[case.id] in str(found["duckdb"]), report
        assert "--engine pandas" in str(found["duckdb"]), report
        return
    assert found["duckdb"] == found["pandas"], report
