"""Engine choice of a report (issue 19): auto by input size, named in manifest and index."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from report_helpers import sha, tiny_config  # noqa: E402  (tests/report on sys.path)

from clvkit.errors import ClvError
from clvkit.report import engine as engine_module
from clvkit.report.engine import AUTO_THRESHOLD_BYTES, choose_engine
from clvkit.report.run import build_report


def test_auto_keeps_pandas_for_small_files_and_dataframes(tiny_csv):
    assert tiny_csv.stat().st_size < AUTO_THRESHOLD_BYTES
    choice = choose_engine("auto", source=tiny_csv)
    assert choice.name == "pandas" and "auto: input 0.0 MB, at most 256 MB" in choice.line()
    assert choose_engine("auto", source=pd.DataFrame()).name == "pandas"


def test_auto_takes_duckdb_above_the_threshold(tiny_csv, monkeypatch):
    monkeypatch.setattr(engine_module, "AUTO_THRESHOLD_BYTES", 100)
    choice = choose_engine("auto", source=tiny_csv, memory_limit="1GB")
    assert (choice.name, choice.memory_limit) == ("duckdb", "1GB")
    assert choice.line().startswith("engine duckdb (auto: input ") and "over 0 MB" in (
        choice.line())


def test_a_folder_counts_all_its_files(tmp_path, monkeypatch):
    for name in ("a.parquet", "b.parquet"):
        (tmp_path / name).write_bytes(b"x" * 60)
    monkeypatch.setattr(engine_module, "AUTO_THRESHOLD_BYTES", 100)
    assert choose_engine("auto", source=tmp_path).name == "duckdb"


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ClvError, match="duckdb"):
        choose_engine("polars")


@pytest.mark.notebooks
@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_pack_on_an_sql_engine_has_the_pandas_kpis_and_reruns_identically(
        tiny_csv, tmp_path, engine):
    """kpis.csv equal to the pandas pack's; two runs byte-identical; the engine named."""
    before = sha(tiny_csv)
    cfg = tiny_config(tiny_csv)
    packs = {}
    for label, chosen in (("pandas", "pandas"), (engine, engine), (engine + "-again", engine)):
        result = build_report(month="2024-04", config=cfg, out=tmp_path / label,
                              progress=None, engine=chosen)
        assert result.ok and result.engine.name == chosen
        packs[label] = tmp_path / label
    assert (packs[engine] / "kpis.csv").read_bytes() == (packs["pandas"] / "kpis.csv").read_bytes()
    for path in sorted(packs[engine].iterdir()):
        assert path.read_bytes() == (packs[engine + "-again"] / path.name).read_bytes(), path.name
    manifest = json.loads((packs[engine] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine"] == {"name": engine, "reason": "chosen with --engine",
                                  "memory_limit": None}
    assert f"Computed with the engine {engine} (chosen with --engine)" in (
        packs[engine] / "index.html").read_text(encoding="utf-8")
    assert sha(tiny_csv) == before


def test_the_command_line_takes_engine_and_memory_limit():
    import argparse

    from clvkit.report.command import add_report_arguments

    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    args = parser.parse_args(["--engine", "duckdb", "--memory-limit", "2GB"])
    assert (args.engine, args.memory_limit) == ("duckdb", "2GB")
    assert parser.parse_args([]).engine == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["--engine", "polars"])
