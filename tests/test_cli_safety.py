"""The clvkit command never destroys what it did not write, and fails in one line.

Output guards are tested through :func:`clvkit.cli.main` in-process where the
command stops before any kernel starts; the signal tests and the FIFO tests run
the command in a subprocess (with a timeout, so a hang fails instead of blocking).
Tests run as root, where ``chmod 000`` denies nothing: "permission denied" is
produced by a child process that drops to the ``nobody`` user before running the
command (and by ``chmod 000`` when the tests do not run as root).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clvkit import cli
from clvkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
MONTH = "2024-04"


def digest(folder: Path) -> dict:
    """Every path below ``folder`` with the sha256 of its bytes (None for folders)."""
    return {p.relative_to(folder).as_posix():
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def run_cli(*args, timeout=120, user=None, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "clvkit.cli", *map(str, args)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """A folder with transactions (text ids, some a spreadsheet would run) and a report config."""
    rng = np.random.default_rng(3)
    ids = ["=1+1", "@SUM(A1)", "+44 20 7946 0958", "-5", "=HYPERLINK(\"http://x\",\"y\")"]
    ids += [f"C{i:03d}" for i in range(25)]
    rows = []
    for k, cust in enumerate(ids):
        day = pd.Timestamp("2024-01-02") + pd.Timedelta(days=3 * k)
        for n in range(1 + k % 3):
            rows.append((cust, (day + pd.Timedelta(days=25 * n)).strftime("%Y-%m-%d"),
                         round(float(rng.uniform(5, 80)), 2), f"O{k}-{n}"))
    rows.append(("C001", "2024-05-02", 10.0, "O-last"))
    folder = tmp_path_factory.mktemp("shop")
    pd.DataFrame(rows, columns=["customer_id", "date", "amount", "order_id"]).to_csv(
        folder / "tx.csv", index=False)
    config = {"name": "tiny", "title": "Tiny shop", "currency": "EUR",
              "data": {"path": str(folder / "tx.csv"), "columns": {"order_id": "order_id"}},
              "sections": ["data_quality"], "jobs": 1}
    (folder / "tiny.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


def summary(shop, out, *extra):
    return main(["summary", str(shop / "tx.csv"), "--observation-end", "2024-05-31",
                 "--out", str(out), *extra])


def report(shop, out, *extra):
    return main(["report", "--config", str(shop / "tiny.yml"), "--month", MONTH,
                 "--out", str(out), *extra])


# --------------------------------------------------------------------------- report --force

def test_force_does_not_replace_a_folder_that_is_not_a_report(shop, tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_bytes(os.urandom(2048))
    (precious / "data").mkdir()
    (precious / "data" / "raw.csv").write_text("a,b\n1,2\n")
    before = digest(precious)
    assert report(shop, precious, "--force") == 2
    line = one_error_line(capsys)
    assert str(precious) in line and "is not a clvkit report (it has no manifest.json)" in line
    assert "--force" not in line
    assert digest(precious) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]     # nothing left


def test_force_does_not_replace_a_file(shop, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert report(shop, target, "--force") == 2
    line = one_error_line(capsys)
    assert "is a file, not a report folder" in line and "--force" not in line
    assert target.read_text() == "keep me"


@pytest.mark.parametrize("where", ["data file", "data folder", "config", "config folder"])
def test_report_out_equal_to_or_containing_an_input_is_refused(shop, where, capsys):
    out = {"data file": shop / "tx.csv", "data folder": shop, "config": shop / "tiny.yml",
           "config folder": shop}[where]
    before = digest(shop)
    assert report(shop, out, "--force") == 2
    line = one_error_line(capsys)
    assert "is or contains the input" in line and "--force" not in line
    assert digest(shop) == before


def test_report_out_through_a_symlink_to_the_data_folder_is_refused(shop, tmp_path, capsys):
    (tmp_path / "alias").symlink_to(shop)
    before = digest(shop)
    assert report(shop, tmp_path / "alias", "--force") == 2
    assert "is or contains the input" in one_error_line(capsys)
    assert digest(shop) == before


def test_report_out_whose_parent_is_a_file(shop, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    assert report(shop, tmp_path / "plain" / "r") == 2
    line = one_error_line(capsys)
    assert "plain is a file, not a folder" in line


# --------------------------------------------------------------------------- summary --out

def test_summary_never_replaces_its_input(shop, capsys):
    before = digest(shop)
    for extra in ((), ("--force",)):
        assert summary(shop, shop / "tx.csv", *extra) == 2
        assert "is the input file" in one_error_line(capsys)
    link = shop.parent / "tx-link.csv"
    link.symlink_to(shop / "tx.csv")
    try:
        assert summary(shop, link, "--force") == 2
        assert "is the input file" in one_error_line(capsys)
    finally:
        link.unlink()
    assert digest(shop) == before


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_summary_existing_output_needs_force(shop, tmp_path, capsys, engine):
    out = tmp_path / "s.csv"
    out.write_text("old\n")
    assert summary(shop, out, "--engine", engine) == 2
    assert "already exists; pass --force" in one_error_line(capsys)
    assert out.read_text() == "old\n"
    assert summary(shop, out, "--engine", engine, "--force") == 0
    assert pd.read_csv(out)["frequency"].notna().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]       # no temp file left


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("name", ["s.xlsx", "s.json", "summary"])
def test_summary_unknown_suffix_is_refused(shop, tmp_path, capsys, engine, name):
    assert summary(shop, tmp_path / name, "--engine", engine) == 2
    assert "unknown file type" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_summary_csv_neutralises_spreadsheet_formulas(shop, tmp_path, engine):
    out = tmp_path / "s.csv"
    assert summary(shop, out, "--engine", engine) == 0
    back = pd.read_csv(out, dtype={"customer_id": str}, keep_default_na=False)
    ids = set(back["customer_id"])
    assert {"'=1+1", "'@SUM(A1)", "'+44 20 7946 0958", "'=HYPERLINK(\"http://x\",\"y\")",
            "-5", "C000"} <= ids
    assert not any(i[0] in "=+@\t\r" for i in ids)
    parquet = tmp_path / "s.parquet"
    assert summary(shop, parquet, "--engine", engine) == 0
    raw = pd.read_parquet(parquet)
    raw = raw.reset_index() if "customer_id" not in raw else raw
    assert "=1+1" in set(raw["customer_id"].astype(str))                # Parquet: data as is
    merged = back.assign(customer_id=back["customer_id"].str.lstrip("'")).merge(
        raw.assign(customer_id=raw["customer_id"].astype(str)), on="customer_id")
    assert len(merged) == len(back) == len(raw)
    assert np.allclose(merged["monetary_value_x"], merged["monetary_value_y"])


def test_summary_output_errors_are_one_line(shop, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    (tmp_path / "dir.csv").mkdir()
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    cases = {tmp_path / "plain" / "s.csv": "plain is a file, not a folder",
             tmp_path / "nowhere" / "s.csv": "nowhere does not exist",
             tmp_path / "dir.csv": "it is a folder, not a file",
             tmp_path / "loop.csv": "symbolic link loop"}
    for out, message in cases.items():
        assert summary(shop, out, "--force") == 2
        line = one_error_line(capsys)
        assert message in line and str(out.name) in line, line


def test_disk_full_while_writing_is_one_line(shop, tmp_path, capsys, monkeypatch):
    def disk_full(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", disk_full)
    assert summary(shop, tmp_path / "s.csv") == 2
    line = one_error_line(capsys)
    assert line.endswith("s.csv: No space left on device") and "cannot write" in line
    assert list(tmp_path.iterdir()) == []


def test_os_errors_users_cause_are_one_line_and_bugs_keep_their_traceback(monkeypatch,
                                                                         capsys):
    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/s.csv")

    monkeypatch.setattr(cli, "_validate", read_only)
    assert main(["validate", "x.csv"]) == 2
    assert one_error_line(capsys) == "clvkit validate: error: /mnt/ro/s.csv: Read-only file system"

    def bug(args):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(cli, "_validate", bug)
    with pytest.raises(OSError, match="Bad file descriptor"):
        main(["validate", "x.csv"])
    monkeypatch.setattr(cli, "_validate", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        main(["validate", "x.csv"])


# --------------------------------------------------------------------------- FIFOs, permissions

@pytest.mark.parametrize("command", ["validate", "summary", "summary-duckdb", "report"])
def test_fifo_input_fails_in_one_line_without_hanging(shop, tmp_path, command):
    fifo = tmp_path / "tx.csv"
    os.mkfifo(fifo)
    args = {"validate": ["validate", fifo],
            "summary": ["summary", fifo, "--observation-end", "2024-05-31", "--out",
                        tmp_path / "s.csv"],
            "summary-duckdb": ["summary", fifo, "--observation-end", "2024-05-31", "--out",
                               tmp_path / "s.csv", "--engine", "duckdb"],
            "report": ["report", "--config", shop / "tiny.yml", "--data", fifo, "--month",
                       MONTH, "--out", tmp_path / "r"]}[command]
    done = run_cli(*args, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "is not a regular file (a FIFO (named pipe))" in done.stderr


def test_fifo_as_output_is_refused_without_hanging(shop, tmp_path):
    fifo = tmp_path / "s.csv"
    os.mkfifo(fifo)
    done = run_cli("summary", shop / "tx.csv", "--observation-end", "2024-05-31", "--out", fifo,
                   "--force", timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("it is a FIFO (named pipe), not a file; choose another "
                                        "output file")


_AS_NOBODY = """
import os, sys
import clvkit.cli, clvkit.io, clvkit.summary, clvkit.outputs, pandas, pyarrow.parquet
import encodings.idna, encodings.latin_1
clvkit.cli.build_parser()   # imports every subcommand's module while still readable
if os.geteuid() == 0:
    os.setgid(65534)
    os.setuid(65534)
sys.exit(clvkit.cli.main(sys.argv[1:]))
"""


def test_permission_denied_is_one_line(shop):
    """A real EACCES: the child drops to ``nobody`` (as root) or the folders are chmod 000."""
    root = Path(tempfile.mkdtemp(prefix="clvkit-perm-"))
    try:
        os.chmod(root, 0o755)
        closed, secret = root / "closed", root / "secret.csv"
        closed.mkdir()
        readable = root / "tx.csv"
        for path in (secret, readable):
            path.write_bytes((shop / "tx.csv").read_bytes())
        os.chmod(readable, 0o644)
        if os.geteuid() == 0:
            os.chmod(closed, 0o755)          # root's folder: nobody may not write in it
            os.chmod(secret, 0o600)          # root's file: nobody may not read it
        else:
            os.chmod(closed, 0o555)
            os.chmod(secret, 0o000)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        def run(*args):
            return subprocess.run([sys.executable, "-c", _AS_NOBODY, *map(str, args)],
                                  cwd=root, env=env, capture_output=True, text=True,
                                  timeout=120)

        done = run("summary", readable, "--observation-end", "2024-05-31", "--out",
                   closed / "s.csv")
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"clvkit summary: error: cannot write {closed / 's.csv'}: Permission denied"]
        done = run("validate", secret)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "permission denied" in lines[0].lower(), lines
        assert str(secret) in lines[0]
    finally:
        for path in (root / "closed", root / "secret.csv"):
            os.chmod(path, 0o700)
        subprocess.run(["rm", "-rf", str(root)], check=True)


# --------------------------------------------------------------------------- signals

def _start_report(shop, out) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "clvkit.cli", "report", "--config",
                             shop / "tiny.yml", "--month", MONTH, "--out", out], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_kernel_log(parent: Path, proc: subprocess.Popen, timeout=90) -> Path:
    """The work folder once a kernel has started in it (its stderr log exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for work in parent.glob(".*.clvkit-*.tmp"):
            if list((work / "logs").glob("*.stderr")) and (work / "report" / "_data").exists():
                return work
        if proc.poll() is not None:
            pytest.fail(f"report finished before a kernel started: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no kernel started in time")


def _tmp_logs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("clvkit-report-logs-*")}


@pytest.mark.notebooks
def test_sigterm_during_report_removes_the_work_folder(shop, tmp_path):
    logs_before = _tmp_logs()
    proc = _start_report(shop, tmp_path / "r")
    work = _wait_for_kernel_log(tmp_path, proc)
    assert (work / "report" / "_data").exists()          # customer data are in there
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "clvkit report: terminated"
    assert list(tmp_path.iterdir()) == []                  # no work folder, no half report
    assert _tmp_logs() <= logs_before                      # no log folder in /tmp


@pytest.mark.notebooks
def test_sigkill_leaves_a_work_folder_that_the_next_run_removes(shop, tmp_path, capsys):
    proc = _start_report(shop, tmp_path / "r")
    work = _wait_for_kernel_log(tmp_path, proc)
    proc.kill()
    proc.communicate(timeout=30)
    assert work.exists() and (work / ".clvkit-work.json").exists()   # SIGKILL cannot clean up
    # an unrelated folder of the same shape but without clvkit's marker is never touched
    lookalike = tmp_path / ".r.clvkit-1-x.tmp"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("keep")
    assert report(shop, tmp_path / "r") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.clvkit-1-x.tmp", "r"]
    # the rebuilt report is a clvkit report: --force replaces it, and only it
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"
    (tmp_path / "r" / "my-notes.txt").write_text("added by a person")
    assert report(shop, tmp_path / "r", "--force") == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "did not write: my-notes.txt" in line and "--force" not in line
    (tmp_path / "r" / "my-notes.txt").unlink()
    assert report(shop, tmp_path / "r", "--force") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.clvkit-1-x.tmp", "r"]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_is_one_line(small_disk, capsys):
    source = ROOT / "data" / "cdnow_sample.csv.gz"            # ~2,357 customers: > 16 KiB
    args = ["summary", str(source), "--preset", "cdnow", "--observation-end", "1997-09-30"]
    for engine in ("pandas", "duckdb"):
        out = small_disk / f"{engine}.csv"
        assert main([*args, "--engine", engine, "--out", str(out)]) == 2
        line = one_error_line(capsys)
        assert str(out) in line and "No space left on device" in line, line
        assert list(small_disk.iterdir()) == []              # no half file, no temp file


def test_full_disk_during_report_is_one_line(shop, small_disk, capsys):
    assert report(shop, small_disk / "r") == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"cannot write the report {small_disk / 'r'}: " in line
    assert "No space left on device" in line
    assert list(small_disk.iterdir()) == []                  # work folder removed


def test_read_only_disk_is_one_line(small_disk, capsys):
    source = ROOT / "data" / "cdnow_sample.csv.gz"
    args = ["summary", str(source), "--preset", "cdnow", "--observation-end", "1997-09-30"]
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    out = small_disk / "s.csv"
    assert main([*args, "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert str(out) in line and "Read-only file system" in line, line
