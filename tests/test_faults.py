"""Fault tests: unusable input files give one clear line on stderr and a non-zero exit.

Each fault is tried through ``clvkit.cli.main`` (in process), through the real command in a
subprocess (no traceback may leak), and through the DuckDB engine path (``--engine duckdb``
and ``rfm_summary_engine``), which scans files itself instead of using the loader.
"""

import gzip
import subprocess
import sys

import pandas as pd
import pytest

from clvkit.cli import main
from clvkit.engines import rfm_summary_engine
from clvkit.errors import DataValidationError

TX = pd.DataFrame({"customer_id": [1, 1, 2, 3] * 50,
                   "date": pd.date_range("2024-01-01", periods=200, freq="D"),
                   "amount": [10.0, 12.5, 3.0, 8.0] * 50})


def corrupt_parquet(folder):
    path = folder / "corrupt.parquet"
    TX.to_parquet(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # starts with PAR1, no footer
    return path


def truncated_csv_gz(folder):
    path = folder / "truncated.csv.gz"
    text = TX.to_csv(index=False).encode() * 20
    path.write_bytes(gzip.compress(text)[:-200])  # stream ends before its end marker
    return path


def excel_named_csv(folder):
    path = folder / "really_excel.csv"
    TX.assign(date=TX["date"].dt.strftime("%Y-%m-%d")).to_excel(path, index=False,
                                                                engine="openpyxl")
    return path


def directory(folder):
    path = folder / "a_folder.parquet"
    path.mkdir()
    return path


FAULTS = {"corrupt parquet": corrupt_parquet, "truncated csv.gz": truncated_csv_gz,
          "excel named .csv": excel_named_csv, "directory": directory}
EXPECTED = {"corrupt parquet": "corrupt.parquet", "truncated csv.gz": "truncated.csv.gz",
            "excel named .csv": "Excel", "directory": "directory"}


def commands(path, out):
    summary = ["summary", str(path), "--observation-end", "2024-12-31", "--out", str(out)]
    return {"validate": ["validate", str(path)], "summary": summary,
            "summary --engine duckdb": [*summary, "--engine", "duckdb"]}


def assert_one_line(stderr: str, fault: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("clvkit "), lines[0]
    assert "error:" in lines[0] and EXPECTED[fault] in lines[0], lines[0]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("fault", FAULTS)
def test_cli_in_process(tmp_path, capsys, fault):
    path = FAULTS[fault](tmp_path)
    out = tmp_path / "summary.parquet"
    for name, argv in commands(path, out).items():
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 2, (name, code)
        assert_one_line(captured.err, fault)
        assert not out.exists(), name  # nothing half-written


@pytest.mark.parametrize("fault", FAULTS)
def test_cli_subprocess(tmp_path, fault):
    path = FAULTS[fault](tmp_path)
    argvs = commands(path, tmp_path / "summary.csv")
    for args in (argvs["summary"], argvs["summary --engine duckdb"]):  # loader, then DuckDB
        run = subprocess.run([sys.executable, "-m", "clvkit.cli", *args], capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert_one_line(run.stderr, fault)


@pytest.mark.parametrize("fault", FAULTS)
def test_duckdb_engine_raises_one_line_validation_error(tmp_path, fault):
    path = FAULTS[fault](tmp_path)
    with pytest.raises(DataValidationError) as info:
        rfm_summary_engine(path, engine="duckdb", observation_end="2024-12-31")
    assert "\n" not in str(info.value)
    assert EXPECTED[fault] in str(info.value)


def test_engine_option_rejects_loader_only_options(tmp_path, capsys):
    path = tmp_path / "tx.parquet"
    TX.to_parquet(path)
    code = main(["summary", str(path), "--observation-end", "2024-12-31", "--out",
                 str(tmp_path / "s.csv"), "--engine", "duckdb", "--unit-price", "price"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--unit-price need(s) --engine pandas" in err
