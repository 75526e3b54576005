"""Tests of clvkit.outputs: spreadsheet-safe text, atomic tables, report folders clvkit owns."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from clvkit import outputs
from clvkit.outputs import (
    MANIFEST_KEYS,
    OutputError,
    check_report_output,
    clean_stale_work,
    publish_folder,
    spreadsheet_safe,
    spreadsheet_safe_sql,
    write_table,
)

# cell -> what a spreadsheet-safe CSV holds
CELLS = {
    "=1+1": "'=1+1",
    "=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(A1:A9)",
    "\t=1": "'\t=1",
    "\r=1": "'\r=1",
    "+44 20 7946 0958": "'+44 20 7946 0958",    # a phone number is not a plain number
    "-5": "-5",                                  # plain numbers: read as numbers, not formulas
    "+3.25": "+3.25",
    "-1e3": "-1e3",
    "-.5": "-.5",
    "007": "007",
    "ann": "ann",
    "a=b": "a=b",
    "'=already": "'=already",
    "": "",
}


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


# --------------------------------------------------------------------------- spreadsheet_safe

@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_spreadsheet_safe_cells_columns_and_index(dtype):
    raw = list(CELLS)
    index = pd.Index(raw, name="customer_id", dtype=dtype)
    frame = pd.DataFrame({"text": pd.Series(raw, dtype=dtype, index=index),
                          "value": np.linspace(-3, 3, len(raw)),
                          "count": np.arange(len(raw)) - 5}, index=index)
    before = frame.copy(deep=True)
    safe = spreadsheet_safe(frame)
    assert safe["text"].tolist() == list(CELLS.values())
    assert safe.index.tolist() == list(CELLS.values())
    assert safe.index.name == "customer_id"
    for name in ("value", "count"):                                   # numbers untouched
        assert safe[name].dtype == frame[name].dtype
        assert np.array_equal(safe[name].to_numpy(), frame[name].to_numpy())
    pd.testing.assert_frame_equal(frame, before)                      # input not modified


def test_spreadsheet_safe_keeps_missing_values_non_text_cells_and_labels():
    frame = pd.DataFrame({"=evil": ["=a", None, 3, np.nan],
                          "cat": pd.Categorical(["-x", "-1", "-x", "y"]),
                          "when": pd.to_datetime(["2024-01-01"] * 4),
                          "flag": [True, False, True, False]})
    frame.attrs["time_unit"] = "W"
    safe = spreadsheet_safe(frame)
    assert list(safe.columns) == ["'=evil", "cat", "when", "flag"]
    assert safe["'=evil"].tolist()[:3] == ["'=a", None, 3] and pd.isna(safe.iloc[3, 0])
    assert safe["cat"].tolist() == ["'-x", "-1", "'-x", "y"]
    assert isinstance(safe["cat"].dtype, pd.CategoricalDtype)
    assert safe["when"].equals(frame["when"]) and safe["flag"].equals(frame["flag"])
    assert safe.attrs == {"time_unit": "W"}


def test_spreadsheet_safe_sql_applies_the_same_rule():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register("cells", pd.DataFrame({"customer_id": list(CELLS)}))
    got = [row[0] for row in con.execute(
        f"SELECT {spreadsheet_safe_sql('customer_id')} FROM cells").fetchall()]
    assert got == list(CELLS.values())


# --------------------------------------------------------------------------- write_table

@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({"frequency": [2, 0, 1], "monetary_value": [-1.5, 0.0, 12.25]},
                        index=pd.Index(["=1+1", "-5", "@x"], name="customer_id"))


def test_write_table_csv_is_neutralised_and_parquet_is_exact(tmp_path, table):
    write_table(table, tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv", dtype={"customer_id": str}, index_col="customer_id")
    assert back.index.tolist() == ["'=1+1", "-5", "'@x"]
    assert back["monetary_value"].tolist() == [-1.5, 0.0, 12.25]
    write_table(table, tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"), table,
                                  check_index_type=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.parquet"]


def test_write_table_mode_follows_umask(tmp_path, table):
    old = os.umask(0o022)
    try:
        write_table(table, tmp_path / "s.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "s.csv").st_mode) == 0o644


def test_existing_file_needs_force_and_is_replaced_with_it(tmp_path, table):
    path = tmp_path / "s.csv"
    path.write_text("precious\n")
    with pytest.raises(OutputError, match=r"s\.csv already exists; pass --force"):
        write_table(table, path)
    assert path.read_text() == "precious\n"
    write_table(table, path, force=True)
    assert path.read_text().startswith("customer_id,frequency")


@pytest.mark.parametrize("name", ["s.xlsx", "s.txt", "s"])
def test_unknown_suffix_is_refused(tmp_path, table, name):
    with pytest.raises(OutputError, match=r"unknown file type .*\.csv, \.parquet or \.pq"):
        write_table(table, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_input_is_never_replaced_even_with_force(tmp_path, table):
    data = tmp_path / "in.csv"
    data.write_text("customer_id,date,amount\n1,2024-01-01,5\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    for target in (data, tmp_path / "sub" / ".." / "in.csv", tmp_path / "link.csv",
                   tmp_path / "hard.csv"):
        with pytest.raises(OutputError, match="is the input file .*never overwrites"):
            write_table(table, target, force=True, protect=[data])
    assert data.read_text() == "customer_id,date,amount\n1,2024-01-01,5\n"


def test_paths_that_cannot_be_files(tmp_path, table):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="plain is a file, not a folder"):
        write_table(table, tmp_path / "plain" / "s.csv")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        write_table(table, tmp_path / "plain" / "deeper" / "s.csv")
    with pytest.raises(OutputError, match="folder .*nowhere does not exist"):
        write_table(table, tmp_path / "nowhere" / "s.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(OutputError, match="it is a folder, not a file"):
        write_table(table, tmp_path / "d.csv", force=True)
    os.mkfifo(tmp_path / "p.csv")
    with pytest.raises(OutputError, match=r"it is a FIFO \(named pipe\), not a file"):
        write_table(table, tmp_path / "p.csv", force=True)
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    with pytest.raises(OutputError, match="symbolic link loop"):
        write_table(table, tmp_path / "loop.csv", force=True)


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, table, monkeypatch):
    path = tmp_path / "s.csv"
    path.write_text("old\n")

    def half_then_disk_full(self, target, **kwargs):
        with open(target, "w") as handle:
            handle.write("customer_id,freq")
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_disk_full)
    with pytest.raises(OutputError, match=r"cannot write .*s\.csv: No space left on device"):
        write_table(table, path, force=True)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]


def test_partial_of_a_dead_process_is_removed_by_the_next_write(tmp_path, table):
    stale = tmp_path / f".s.csv.{dead_pid()}-0123abcd.partial"
    stale.write_text("half")
    alive = tmp_path / f".s.csv.{os.getppid()}-0123abcd.partial"    # a running process
    alive.write_text("half")
    other = tmp_path / ".t.csv.999999999-0123abcd.partial"          # another file's
    other.write_text("half")
    write_table(table, tmp_path / "s.csv")
    assert not stale.exists() and alive.exists() and other.exists()


# --------------------------------------------------------------------------- report folders

def fake_report(folder, files=("index.html", "01-x.html")):
    folder.mkdir()
    for name in files:
        (folder / name).write_text(name)
    manifest = {key: None for key in MANIFEST_KEYS}
    manifest.update(packages={"clvkit": "0.2.0"},
                    outputs=[{"path": name, "sha256": hashlib.sha256(name.encode()).hexdigest(),
                              "bytes": len(name)} for name in files])
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def tree(folder):
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_a_clvkit_report_is_replaced_only_with_force(tmp_path):
    report = fake_report(tmp_path / "2024-04")
    with pytest.raises(OutputError, match="already exists; pass --force to replace it"):
        check_report_output(report)
    assert check_report_output(report, force=True) == report
    assert check_report_output(tmp_path / "new", force=False) == tmp_path / "new"


@pytest.mark.parametrize("spoil, reason", [
    (lambda f: (f / "manifest.json").unlink(), "it has no manifest.json"),
    (lambda f: (f / "manifest.json").write_text("{not json"), "is not readable JSON"),
    (lambda f: (f / "manifest.json").write_text('{"outputs": []}'),
     "was not written by clvkit"),
    (lambda f: (f / "manifest.json").write_text(json.dumps(
        {**{k: 1 for k in MANIFEST_KEYS}, "packages": {"numpy": "2"}})),
     r"missing \['packages.clvkit'\]"),
    (lambda f: (f / "notes.txt").write_text("mine"),
     r"holds 1 item\(s\) the report did not write: notes.txt"),
    (lambda f: (f / "raw").mkdir(), "did not write: raw/"),
    (lambda f: ((f / ".ipynb_checkpoints").mkdir(),
                (f / ".ipynb_checkpoints" / "mine-checkpoint.ipynb").write_text("{}")),
     "did not write: .ipynb_checkpoints/"),
])
def test_a_folder_that_is_not_a_clvkit_report_is_refused_even_with_force(tmp_path, spoil,
                                                                          reason):
    folder = fake_report(tmp_path / "r")
    spoil(folder)
    before = tree(folder)
    with pytest.raises(OutputError, match=reason) as err:
        check_report_output(folder, force=True)
    assert "is not a clvkit report" in str(err.value) and "force" not in str(err.value)
    assert tree(folder) == before


@pytest.mark.parametrize("listed, make, reason", [
    # a copied clvkit manifest listing a folder of the user's: never "ours"
    ("photos", lambda f: ((f / "photos").mkdir(), (f / "photos" / "holiday.jpg").write_bytes(
        b"\xff\xd8jpeg")), r"lists items that are not regular files: photos \(a folder\)"),
    ("link.html", lambda f: (f / "link.html").symlink_to(f.parent / "elsewhere.txt"),
     r"not regular files: link.html \(a symbolic link\)"),
    ("../outside.txt", lambda f: None, r"not file names of the report: '../outside.txt'"),
    ("..", lambda f: None, r"not file names of the report: '..'"),
    (".", lambda f: None, r"not file names of the report: '.'"),
])
def test_force_trusts_only_regular_files_the_manifest_lists_by_name(tmp_path, listed, make,
                                                                     reason):
    (tmp_path / "elsewhere.txt").write_text("someone's")
    folder = fake_report(tmp_path / "r")
    make(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"].append({"path": listed, "sha256": "0" * 64, "bytes": 1})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    before = tree(tmp_path)
    with pytest.raises(OutputError, match=reason):
        check_report_output(folder, force=True)
    assert tree(tmp_path) == before


def test_force_refuses_a_report_whose_files_were_edited_and_names_them(tmp_path):
    folder = fake_report(tmp_path / "r", files=("index.html", "01-x.ipynb", "02-y.ipynb"))
    (folder / "01-x.ipynb").write_text("01-x.ipynb + my notes")   # an analyst's notes
    with pytest.raises(OutputError, match=r"1 file\(s\) changed since clvkit wrote them "
                       r"\(sha256 differs from its manifest.json\): 01-x.ipynb\)"):
        check_report_output(folder, force=True)
    assert (folder / "01-x.ipynb").read_text() == "01-x.ipynb + my notes"


def test_a_listed_file_that_is_gone_does_not_block_force(tmp_path):
    folder = fake_report(tmp_path / "r")
    (folder / "01-x.html").unlink()
    assert check_report_output(folder, force=True) == folder


def test_jupyter_checkpoints_of_the_reports_notebooks_do_not_block_force(tmp_path):
    report = fake_report(tmp_path / "r", files=("index.html", "01-x.ipynb"))
    (report / ".ipynb_checkpoints").mkdir()
    (report / ".ipynb_checkpoints" / "01-x-checkpoint.ipynb").write_text("{}")
    assert check_report_output(report, force=True) == report


def test_files_links_and_bad_parents_are_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="exists and is a file, not a report folder") as err:
        check_report_output(tmp_path / "file", force=True)
    assert "force" not in str(err.value)
    report = fake_report(tmp_path / "real")
    (tmp_path / "link").symlink_to(report)
    with pytest.raises(OutputError, match="is a symbolic link") as err:
        check_report_output(tmp_path / "link", force=True)
    assert "force" not in str(err.value)
    with pytest.raises(OutputError, match="file is a file, not a folder"):
        check_report_output(tmp_path / "file" / "2024-04")
    with pytest.raises(OutputError, match="file is a file, not a folder"):
        check_report_output(tmp_path / "file" / "tiny" / "2024-04")
    # missing folders above the report are fine: the report creates them
    assert check_report_output(tmp_path / "reports" / "tiny" / "2024-04")


def test_output_may_not_be_contain_or_lie_inside_an_input(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    csv = data / "tx.csv"
    csv.write_text("x")
    crm = tmp_path / "crm"
    crm.mkdir()
    config = tmp_path / "cfg" / "r.yml"
    config.parent.mkdir()
    config.write_text("x")
    (tmp_path / "alias").symlink_to(data)
    protect = [csv, crm, config]
    cases = {csv: "is or contains the input", data: "is or contains the input",
             tmp_path: "is or contains the input", tmp_path / "alias": "is or contains",
             crm / "2024-04": "lies inside the input folder", config: "is or contains",
             config.parent: "is or contains", crm / ".." / "data": "is or contains"}
    for out, message in cases.items():
        with pytest.raises(OutputError, match=message) as err:
            check_report_output(out, force=True, protect=protect)
        assert "force" not in str(err.value), out
    assert check_report_output(tmp_path / "reports", protect=protect) == tmp_path / "reports"


def test_publish_replaces_a_report_and_puts_it_back_when_the_rename_fails(tmp_path,
                                                                         monkeypatch):
    out = fake_report(tmp_path / "r", files=("old.html",))
    with outputs.work_folder(out) as work:
        staged = fake_report(work / "report", files=("new.html",))
        publish_folder(staged, out, work=work, force=True)
        assert (out / "new.html").exists() and (work / "replaced" / "old.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]

    real_replace = os.replace

    def fail_into_place(src, dst):
        if str(src) == str(staged):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_replace(src, dst)

    with outputs.work_folder(out) as work:
        staged = fake_report(work / "report", files=("newer.html",))
        monkeypatch.setattr(os, "replace", fail_into_place)
        with pytest.raises(OSError, match="No space left"):
            publish_folder(staged, out, work=work, force=True)
        monkeypatch.undo()
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "new.html"]


def test_stale_work_folders_of_dead_processes_are_removed(tmp_path):
    def work(name, marker):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "customers.parquet").write_text("secret")
        if marker is not None:
            (folder / ".clvkit-work.json").write_text(json.dumps(marker))
        return folder

    host = socket.gethostname()
    dead = work(".r.clvkit-1-a.tmp", {"clvkit": "work folder", "pid": dead_pid(), "host": host})
    alive = work(".r.clvkit-2-b.tmp", {"clvkit": "work folder", "pid": os.getppid(),
                                       "host": host})
    unmarked = work(".r.clvkit-3-c.tmp", None)
    elsewhere = work(".r.clvkit-4-d.tmp", {"clvkit": "work folder", "pid": dead_pid(),
                                           "host": host + "-other"})
    other_name = work(".r.mine.tmp", {"clvkit": "work folder", "pid": dead_pid(), "host": host})
    assert clean_stale_work(tmp_path) == [dead]
    assert not dead.exists()
    assert all(p.exists() for p in (alive, unmarked, elsewhere, other_name))


def test_work_folder_is_marked_and_removed_on_error(tmp_path):
    with pytest.raises(ZeroDivisionError), outputs.work_folder(tmp_path / "r") as work:
        marker = json.loads((work / ".clvkit-work.json").read_text())
        assert marker["pid"] == os.getpid() and marker["host"] == socket.gethostname()
        1 / 0  # noqa: B018
    assert list(tmp_path.iterdir()) == []
