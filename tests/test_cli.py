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
