"""The clvkit command line: help, version, validate, summary and clear one-line errors."""

import subprocess
import sys

import pandas as pd
import pytest

from clvkit import __version__
from clvkit.cli import main


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("validate", "summary", "report"):
        assert command in out


def test_validate_prints_log(capsys):
    assert main(["validate", "data/cdnow_sample.csv.gz", "--preset", "cdnow"]) == 0
    out = capsys.readouterr().out
    assert "6,919 rows read" in out and "kept" in out


def test_validate_unusable_file_one_line(tmp_path, capsys):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing column" in err[0]


def test_summary_writes_file(tmp_path, capsys):
    out = tmp_path / "s.csv"
    assert main(["summary", "data/cdnow_sample.csv.gz", "--preset", "cdnow",
                 "--observation-end", "1997-09-30", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 2357


def test_console_script_entry_point():
    done = subprocess.run([sys.executable, "-m", "clvkit.cli", "validate", "nope.csv"],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "clvkit validate: error: file not found: nope.csv"


def test_python_dash_m_clvkit_runs_the_command(tmp_path):
    # `python -m clvkit` (no console script on PATH, e.g. a kernel's venv) is the same command
    root = str(__import__("pathlib").Path(__file__).parents[1])
    env = {**__import__("os").environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-m", "clvkit", "validate", "nope.csv"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == "clvkit validate: error: file not found: nope.csv"


def test_loader_hints_are_written_as_command_line_options(tmp_path, capsys):
    path = tmp_path / "amb.csv"
    path.write_text('customer_id,date,amount\n1,2024-01-05,"1,234"\n2,2024-01-06,"2,500"\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "pass --decimal '.' or --decimal ','" in err and "decimal=" not in err
    # the option it names resolves it
    assert main(["validate", str(path), "--decimal", ".", "--thousands", ","]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 rows usable" in out


def test_european_export_is_read_and_every_decision_printed(tmp_path, capsys):
    path = tmp_path / "eu.csv"
    path.write_bytes("id;when;value\n007;13/02/2024;12,50\n7;02/03/2024;1.234,50\n"
                     .encode("utf-16"))
    assert main(["validate", str(path), "--customer-id", "id", "--date", "when",
                 "--amount", "value"]) == 0
    out = capsys.readouterr().out
    for words in ("utf-16", "separator ';'", "day-first", "decimal comma", "1,247.00"):
        assert words in out, words


def test_output_piped_into_a_closed_reader_is_not_a_traceback(tmp_path):
    result = subprocess.run(
        f"{sys.executable} -m clvkit.cli validate data/online_retail.parquet "
        "--preset online_retail | head -1", shell=True, capture_output=True, text=True,
        cwd=str(__import__("pathlib").Path(__file__).parents[1]), timeout=120)
    assert result.stdout.startswith("541,909 rows read")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_missing_columns_hint_names_the_options_and_the_other_sheets(tmp_path, capsys):
    # a workbook whose first sheet is a cover page: the error shows the sheets and the options,
    # written as command-line options only (no Python call mixed in)
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["Export from CRM"]}).to_excel(writer, sheet_name="About",
                                                             index=False)
        pd.DataFrame({"id": ["a"], "when": ["2024-01-05"], "value": [3.0]}).to_excel(
            writer, sheet_name="Data", index=False)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "(About, Data)" in err and "--sheet" in err
    assert "--customer-id 'COLUMN' --date 'COLUMN' --amount 'COLUMN'" in err
    assert "load_transactions" not in err and "=" not in err and "CustomerID" not in err
    assert main(["validate", str(path), "--sheet", "Data", "--customer-id", "id", "--date",
                 "when", "--amount", "value"]) == 0
    assert "choose another with --sheet" in capsys.readouterr().out


def test_encoding_hint_is_one_command_line_option(tmp_path, capsys):
    path = tmp_path / "cp.csv"
    path.write_bytes("customer_id;date;amount €\n1;2024-01-05;3\n".encode("cp1252"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("--encoding") == 1 and "--encoding 'cp1252'" in err


def test_every_option_a_loader_message_names_exists_on_the_command_line(tmp_path, capsys):
    # the duplicates note said "pass duplicates='drop'", an option the CLI did not have
    path = tmp_path / "dup.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-05,3\n1,2024-01-05,3\n2,2024-01-06,0\n")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pass --duplicates 'drop'" in out and "duplicates=" not in out
    assert main(["validate", str(path), "--duplicates", "drop", "--zero", "keep"]) == 0
    out = capsys.readouterr().out
    assert "exact duplicate" in out and "zero amount" not in out
    assert "2 of 3 rows usable" in out


def test_summary_dates_must_be_iso_and_unused_rows_are_counted(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-05,3\n2,2024-05-06,4\n"
                    "3,2024-06-01,5\n1,2024-06-10,6\n2,2024-06-11,-4\n")
    out = tmp_path / "s.csv"
    # 05.06.2024 was read month first (6 May) without a word
    with pytest.raises(SystemExit) as stop:
        main(["summary", str(path), "--observation-end", "05.06.2024", "--out", str(out)])
    assert stop.value.code == 2 and not out.exists()
    assert "'05.06.2024' is not a day written YYYY-MM-DD" in capsys.readouterr().err
    assert main(["summary", str(path), "--observation-end", "2024-06-05", "--out",
                 str(out)]) == 0
    said = capsys.readouterr().out
    assert "wrote 3 customers" in said
    assert "1 purchase rows after 2024-06-05 not used" in said
    assert "1 of 5 file rows are not purchases" in said
