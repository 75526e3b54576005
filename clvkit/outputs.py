"""Writing results safely: spreadsheet-safe text, atomic files, report folders clvkit owns.

Outputs are as precious as inputs. This module holds the rules every writer of
clvkit follows:

* **Tables** (:func:`write_table`): the format follows the suffix (``.csv``,
  ``.parquet``/``.pq``; anything else is refused), an existing file is replaced
  only with ``force=True``, an input file is never replaced (not even with
  ``force``), and the file appears only when complete: it is written under a
  temporary name in the same folder, then renamed with :func:`os.replace`.
  A temporary file left by a killed run (its name carries the owning pid) is
  removed by the next write of the same file.
* **Spreadsheet safety** (:func:`spreadsheet_safe`): CSV text that a spreadsheet
  would run as a formula is neutralised (see the rule below).
* **Report folders** (:func:`check_report_output`, :func:`work_folder`,
  :func:`publish_folder`): a report is built in a marked work folder next to its
  target and renamed into place; ``force`` replaces only a folder that is a
  clvkit report, and a work folder left behind by a killed run is removed by the
  next run.

Spreadsheet rule (OWASP "CSV Injection" guidance): a text cell whose first
character is ``=``, ``+``, ``-``, ``@``, TAB or CR is prefixed with a single quote
``'``, so a spreadsheet shows it as text instead of evaluating it -- *unless* the
whole cell is a plain decimal number (``-5``, ``+3.25``, ``-1e3``), which a
spreadsheet reads as that number and never as a formula (the same exception as
the ``defusedcsv`` package). A phone number such as ``+44 20 7946 0958`` is not a
plain number (it has spaces) and is prefixed. Numeric, boolean and date columns
are never changed. Field separators and quotes inside a cell need no handling
here: pandas quotes such cells, so they cannot start a new cell. Parquet keeps
the data exactly as they are (it is not opened by spreadsheets).

A report folder counts as clvkit's when its ``manifest.json`` is a JSON object
with the keys clvkit writes (:data:`MANIFEST_KEYS`, and ``packages.clvkit``) and
the folder holds nothing but ``manifest.json`` and the files its ``outputs``
list (and a ``.ipynb_checkpoints`` folder with Jupyter's copies of those
notebooks, made when someone opens them): a folder in which someone saved
anything else is not replaced. Each listed output must be a plain file name of
the folder, a regular file (never a folder, a link or a device) whose content
still has the listed ``sha256``: a report notebook someone added notes to is
theirs now, and a copied manifest that lists ``photos`` proves nothing.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ClvError

__all__ = [
    "OutputError", "Terminated", "TABLE_FORMATS", "MANIFEST", "MANIFEST_KEYS",
    "spreadsheet_safe", "spreadsheet_safe_sql", "table_format", "check_output_file",
    "atomic_output", "write_table", "check_report_output", "work_folder", "clean_stale_work",
    "publish_folder", "sigterm_raises", "describe_os_error", "USER_ERRNOS", "file_sha256",
]

#: Suffixes :func:`write_table` writes, and their format.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: File name of a report's manifest.
MANIFEST = "manifest.json"
#: Keys every manifest written by clvkit has.
MANIFEST_KEYS = ("report", "month", "status", "config", "inputs", "parameters", "sections",
                 "outputs", "packages")
#: errno values caused by the user's environment (a one-line error, not a traceback).
USER_ERRNOS = frozenset(getattr(errno, name) for name in (
    "EACCES", "EPERM", "ENOENT", "EISDIR", "ENOTDIR", "ENOSPC", "EROFS", "ELOOP", "EDQUOT",
    "ENXIO", "ENODEV", "ENAMETOOLONG", "EFBIG", "EEXIST", "EBUSY", "ETXTBSY", "EIO", "EMLINK",
    "ENOTEMPTY", "EXDEV") if hasattr(errno, name))

_TRIGGERS = "=+-@\t\r"
_TRIGGER_RE = "[=+\\-@\t\r]"
_NUMBER_RE = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(_NUMBER_RE)
_WORK_MARKER = ".clvkit-work.json"
_WORK_GLOB = ".*.clvkit-*.tmp"
_PARTIAL_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.partial$")


class OutputError(ClvError):
    """An output path clvkit may not write (exists, is an input, not a folder, ...)."""


class Terminated(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """Raised in the main thread on SIGTERM inside :func:`sigterm_raises` (exit code 143)."""

    exit_code = 128 + signal.SIGTERM


# --------------------------------------------------------------------------- spreadsheet text

def _needs_quote(text: str) -> bool:
    return bool(text) and text[0] in _TRIGGERS and _NUMBER.fullmatch(text) is None


def _safe_values(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = _safe_values(pd.Series(values.cat.categories, dtype=object))
        if categories.is_unique:
            return values.cat.rename_categories(list(categories))
        values = values.astype(object)
    if not (pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)):
        return values
    if pd.api.types.is_object_dtype(values.dtype):
        mask = np.fromiter((isinstance(v, str) and _needs_quote(v) for v in values.to_numpy()),
                           dtype=bool, count=len(values))
    else:                       # string dtypes: vectorised
        mask = (values.str.match(_TRIGGER_RE) & ~values.str.fullmatch(_NUMBER_RE))
        mask = mask.fillna(False).astype(bool).to_numpy()
    if not mask.any():
        return values
    out = values.copy()
    out[mask] = "'" + values[mask].astype(str)
    return out


def _safe_index(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_safe_index(level) for level in index.levels])
    if not (pd.api.types.is_object_dtype(index.dtype) or pd.api.types.is_string_dtype(index.dtype)
            or isinstance(index.dtype, pd.CategoricalDtype)):
        return index
    safe = _safe_values(pd.Series(index, dtype=index.dtype))
    return pd.Index(safe, name=index.name, dtype=safe.dtype)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    r"""A copy of ``frame`` whose text a spreadsheet shows instead of running as a formula.

    Text cells (in columns, the index and the column labels) starting with ``=``,
    ``+``, ``-``, ``@``, TAB or CR get a leading ``'``, except cells that are a
    plain decimal number such as ``-5`` or ``+1.5e3``. Numeric, boolean and
    datetime columns are returned unchanged; ``frame`` is not modified.

    Parameters
    ----------
    frame : DataFrame
        Table about to be written as CSV.

    Returns
    -------
    DataFrame
        The same shape, dtypes and ``attrs``.

    Examples
    --------
    >>> frame = pd.DataFrame({"name": ['=HYPERLINK("x")', "-5", "+44 20 7946", "ann"],
    ...                       "value": [-1.0, 2.0, 3.0, 4.0]},
    ...                      index=pd.Index(["@SUM(A1)", "007", "-12", "b"], name="customer_id"))
    >>> safe = spreadsheet_safe(frame)
    >>> safe["name"].tolist()
    ['\'=HYPERLINK("x")', '-5', "'+44 20 7946", 'ann']
    >>> safe.index.tolist()
    ["'@SUM(A1)", '007', '-12', 'b']
    >>> safe["value"].tolist()
    [-1.0, 2.0, 3.0, 4.0]
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        out.isetitem(position, _safe_values(out.iloc[:, position]))
    out.index = _safe_index(out.index)
    out.columns = _safe_index(out.columns)
    out.attrs = dict(frame.attrs)
    return out


def spreadsheet_safe_sql(column: str) -> str:
    """The rule of :func:`spreadsheet_safe` as a SQL (DuckDB) expression on ``column``.

    Examples
    --------
    >>> import duckdb
    >>> sql = spreadsheet_safe_sql("id")
    >>> duckdb.sql(f"SELECT {sql} AS id FROM (VALUES ('=1+1'), ('-5'), ('x')) t(id)").fetchall()
    [("'=1+1",), ('-5',), ('x',)]
    """
    text = f'CAST("{column.replace(chr(34), chr(34) * 2)}" AS VARCHAR)'
    trigger = _TRIGGER_RE.replace("\t", "\\t").replace("\r", "\\r")
    return (f"CASE WHEN regexp_matches({text}, '^{trigger}') AND NOT regexp_matches({text}, "
            f"'^{_NUMBER_RE}$') THEN '''' || {text} ELSE {text} END")


# --------------------------------------------------------------------------- output files

def table_format(path: str | os.PathLike) -> str:
    """The format (``"csv"`` or ``"parquet"``) a table written to ``path`` gets.

    Raises
    ------
    OutputError
        The suffix is not one of :data:`TABLE_FORMATS`.

    Examples
    --------
    >>> table_format("summary.PQ")
    'parquet'
    >>> table_format("summary.xlsx")
    Traceback (most recent call last):
    ...
    clvkit.outputs.OutputError: cannot write summary.xlsx: unknown file type '.xlsx'; name the \
output .csv, .parquet or .pq
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise OutputError(f"cannot write {path}: unknown file type {suffix or '(none)'!r}; "
                          "name the output .csv, .parquet or .pq")
    return TABLE_FORMATS[suffix]


def describe_os_error(exc: OSError) -> str:
    """One line naming the path(s) and the cause of an :class:`OSError`.

    Examples
    --------
    >>> describe_os_error(PermissionError(13, "Permission denied", "/data/x.csv"))
    '/data/x.csv: Permission denied'
    """
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    cause = exc.strerror or str(exc)
    return f"{' -> '.join(names)}: {cause}" if names else cause


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a file" if stat.S_ISREG(mode) else "not a regular file"


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as err:      # RuntimeError: symlink loop (Python < 3.13)
        raise OutputError(f"cannot use {path}: symbolic link loop ({err})") from None


def _check_parent(path: Path, what: str) -> None:
    parent = path.parent
    try:
        st = os.stat(parent)
    except OSError as err:
        if err.errno == errno.ENOENT:
            raise OutputError(f"cannot write {what} {path}: folder {parent} does not exist"
                              ) from None
        if err.errno == errno.ENOTDIR:
            raise OutputError(f"cannot write {what} {path}: a part of {parent} is a file, "
                              "not a folder") from None
        raise OutputError(f"cannot write {what} {path}: {describe_os_error(err)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {what} {path}: {parent} is {_kind(st.st_mode)}, "
                          "not a folder")


def _check_ancestors(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder (missing ones get created)."""
    for parent in path.parents:
        try:
            st = os.stat(parent)
        except FileNotFoundError:
            continue
        except OSError as err:
            if err.errno == errno.ENOTDIR:
                continue            # a file further up: reported at that level
            raise OutputError(f"cannot write the report to {path}: {describe_os_error(err)}"
                              ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"cannot write the report to {path}: {parent} is "
                              f"{_kind(st.st_mode)}, not a folder")
        return


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)
    return a == b


def check_output_file(path: str | os.PathLike, *, force: bool = False,
                      protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Refuse an output file clvkit may not write; return it.

    Parameters
    ----------
    path : path
        The file about to be written.
    force : bool, default False
        Allow replacing an existing regular file.
    protect : paths
        Inputs that must never be replaced (compared after resolving symlinks,
        and by inode, so a hard link counts too), not even with ``force``.

    Raises
    ------
    OutputError
        Parent folder missing or not a folder; ``path`` is a folder, FIFO, device
        or symlink loop; ``path`` is one of ``protect``; or it exists and
        ``force`` is False.
    """
    path = Path(path)
    _check_parent(path, "the output")
    real = _resolve(path)
    for item in protect:
        item = Path(item)
        if real == _resolve(item) or _same(path, item):
            raise OutputError(f"{path} is the input file {item}; clvkit never overwrites its "
                              "input: choose another output file")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    except OSError as err:
        raise OutputError(f"cannot write {path}: {describe_os_error(err)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"cannot write {path}: it is {_kind(st.st_mode)}, not a file; "
                          "choose another output file")
    if not force:
        raise OutputError(f"{path} already exists; pass --force (force=True) to replace it")
    return path


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:             # EPERM: alive, owned by someone else
        return True
    try:                        # a zombie is dead for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _clean_stale_partials(path: Path) -> None:
    with contextlib.suppress(OSError):
        for item in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
            match = _PARTIAL_RE.match(item.name)
            if (match and match["name"] == path.name and not _pid_alive(int(match["pid"]))
                    and item.is_file() and not item.is_symlink()):
                item.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, force: bool = False,
                  mode: int = 0o666) -> Iterator[Path]:
    """A temporary path in ``path``'s folder that becomes ``path`` when the block succeeds.

    The temporary file is created empty (``mode``, less the umask: 0o600 makes
    a file only its owner can read, from its first byte) and its
    name carries the pid, so a later call removes one left by a killed process.
    Without ``force`` the final rename never replaces a file that appeared
    meanwhile. OS errors while writing become :class:`OutputError` naming
    ``path``. Call :func:`check_output_file` first.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_output(target) as partial:
    ...     _ = partial.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['x.txt'])
    """
    path = Path(path)
    _clean_stale_partials(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        try:
            os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode))
            yield partial
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            if force:
                os.replace(partial, path)
            else:
                _rename_no_replace(partial, path)
        except OSError as err:
            if err.filename not in (None, str(partial), str(path)):
                raise                   # about another file (an input): left as it is
            cause = err.strerror or str(err)
            raise OutputError(f"cannot write {path}: {cause}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()


def _rename_no_replace(partial: Path, path: Path) -> None:
    try:
        os.link(partial, path)          # fails if path exists: no race with another writer
    except FileExistsError:
        raise OutputError(f"{path} already exists; pass --force (force=True) to replace it"
                          ) from None
    except OSError:                     # file system without hard links
        if os.path.lexists(path):
            raise OutputError(f"{path} already exists; pass --force (force=True) to replace "
                              "it") from None
        os.replace(partial, path)


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *, force: bool = False,
                index: bool = True, protect: Iterable[str | os.PathLike] = (),
                mode: int = 0o666) -> Path:
    """Write ``frame`` to ``path`` (CSV or Parquet by suffix), safely and atomically.

    CSV text goes through :func:`spreadsheet_safe`; Parquet is written as is.

    Parameters
    ----------
    frame : DataFrame
        Table to write (for per-customer tables the customer id is the index).
    path : path
        ``.csv``, ``.parquet`` or ``.pq``.
    force : bool, default False
        Replace an existing file.
    index : bool, default True
        Write the index as the first column(s).
    protect : paths
        Inputs that must never be replaced, even with ``force``.
    mode : int, default 0o666
        Permissions of the new file, less the umask (0o600: readable by the
        owner only, e.g. a key file that maps pseudonyms back to customer ids).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        See :func:`table_format` and :func:`check_output_file`; also an OS error
        while writing (disk full, read-only file system), the path named.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> frame = pd.DataFrame({"frequency": [2, 0]},
    ...                      index=pd.Index(["=cmd|' /C calc'!A0", "17"], name="customer_id"))
    >>> path = write_table(frame, folder / "summary.csv")
    >>> print(path.read_text().strip())
    customer_id,frequency
    '=cmd|' /C calc'!A0,2
    17,0
    >>> write_table(frame, folder / "summary.csv")
    Traceback (most recent call last):
    ...
    clvkit.outputs.OutputError: .../summary.csv already exists; pass --force (force=True) to \
replace it
    """
    fmt = table_format(path)
    path = check_output_file(path, force=force, protect=protect)
    with atomic_output(path, force=force, mode=mode) as partial:
        if fmt == "csv":
            spreadsheet_safe(frame).to_csv(partial, index=index)
        else:
            frame.to_parquet(partial, index=index)
    return path


# --------------------------------------------------------------------------- report folders

def _not_a_report(folder: Path) -> str | None:
    """Why ``folder`` is not a report clvkit wrote (None when it is one)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return f"it has no {MANIFEST}"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"its {MANIFEST} is not readable JSON ({type(err).__name__})"
    missing = [k for k in MANIFEST_KEYS if k not in data] if isinstance(data, dict) else ["all"]
    if missing or not isinstance(data.get("packages"), dict) or "clvkit" not in data["packages"]:
        missing = missing or ["packages.clvkit"]
        return f"its {MANIFEST} was not written by clvkit (missing {missing})"
    outputs = data["outputs"]
    if not (isinstance(outputs, list)
            and all(isinstance(o, dict) and isinstance(o.get("path"), str) for o in outputs)):
        return f"its {MANIFEST} has no list of outputs"
    problem = _not_our_outputs(folder, outputs)
    if problem:
        return problem
    listed = {o["path"] for o in outputs} | {MANIFEST}
    extra = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                   if p.name not in listed and not _only_checkpoints(p, listed))
    if extra:
        return f"it holds {len(extra)} item(s) the report did not write: {_shown(extra)}"
    return None


def _shown(names: list[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (the manifest's ``sha256``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _not_our_outputs(folder: Path, outputs: list[dict]) -> str | None:
    """Why the manifest's ``outputs`` do not prove the files are clvkit's (None: they do).

    Only a plain file name of the folder (no ``/``, ``.`` or ``..``) that is a
    regular file (not a folder, link or device) with the listed ``sha256`` counts as
    written by clvkit; anything else listed makes the folder someone else's.
    """
    odd, kinds, edited = [], [], []
    for entry in outputs:
        name, digest = entry["path"], entry.get("sha256")
        if name in ("", ".", "..", MANIFEST) or "/" in name or "\\" in name or "\0" in name:
            odd.append(repr(name))
            continue
        try:
            st = os.lstat(folder / name)
        except FileNotFoundError:
            continue  # nothing there to destroy
        if not stat.S_ISREG(st.st_mode):
            kinds.append(f"{name} ({_kind(st.st_mode)})")
        elif not isinstance(digest, str) or file_sha256(folder / name) != digest:
            edited.append(name)
    if odd:
        return f"its {MANIFEST} lists paths that are not file names of the report: {_shown(odd)}"
    if kinds:
        return f"its {MANIFEST} lists items that are not regular files: {_shown(kinds)}"
    if edited:
        return (f"{len(edited)} file(s) changed since clvkit wrote them (sha256 differs from "
                f"its {MANIFEST}): {_shown(edited)}")
    return None


def _only_checkpoints(path: Path, listed: set[str]) -> bool:
    """``.ipynb_checkpoints`` holding only Jupyter's copies of the report's own notebooks."""
    if path.name != ".ipynb_checkpoints" or path.is_symlink() or not path.is_dir():
        return False
    return all(p.is_file() and not p.is_symlink() and p.name.endswith("-checkpoint.ipynb")
               and p.name.removesuffix("-checkpoint.ipynb") + ".ipynb" in listed
               for p in path.iterdir())


def _overlap(out: Path, item: Path) -> str | None:
    real, other = _resolve(out), _resolve(item)
    if real == other or real in other.parents:
        return f"is or contains the input {item}"
    if other.is_dir() and other in real.parents:
        return f"lies inside the input folder {item}"
    return None


def check_report_output(out: str | os.PathLike, *, force: bool = False,
                        protect: Iterable[str | os.PathLike] = ()) -> Path:
    """Refuse a report output folder clvkit may not write or replace; return it.

    Parameters
    ----------
    out : path
        The report folder about to be written.
    force : bool, default False
        Allow replacing an existing *clvkit report* folder (see the module docstring).
    protect : paths
        Inputs (data files or folders, the config): ``out`` may not be, contain or
        lie inside any of them (symlinks resolved), whatever ``force`` says.

    Raises
    ------
    OutputError
        With one line naming ``out`` and the reason. Only the message for an
        existing clvkit report suggests ``--force``.
    """
    out = Path(out)
    _check_ancestors(out)
    for item in protect:
        problem = _overlap(out, Path(item))
        if problem:
            raise OutputError(f"the output folder {out} {problem}; choose an output folder "
                              "apart from the inputs and the config")
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return out
    except OSError as err:
        raise OutputError(f"cannot write the report to {out}: {describe_os_error(err)}"
                          ) from None
    keep = "clvkit replaces only report folders it wrote: choose another output folder"
    if stat.S_ISLNK(st.st_mode):
        raise OutputError(f"{out} is a symbolic link (to {os.readlink(out)}); {keep}")
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{out} exists and is {_kind(st.st_mode)}, not a report folder; {keep}")
    try:
        reason = _not_a_report(out)
    except OSError as err:
        raise OutputError(f"cannot inspect {out}: {describe_os_error(err)}") from None
    if reason:
        raise OutputError(f"{out} exists and is not a clvkit report ({reason}); {keep}")
    if not force:
        raise OutputError(f"{out} already exists; pass --force to replace it")
    return out


def clean_stale_work(parent: str | os.PathLike) -> list[Path]:
    """Remove work folders in ``parent`` left behind by clvkit processes that died.

    Only folders named like clvkit's work folders *and* holding clvkit's marker
    file are considered, and only those whose owning process (same host) is no
    longer running are removed.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    host = socket.gethostname()
    with contextlib.suppress(OSError):
        for folder in Path(parent).glob(_WORK_GLOB):
            try:
                if folder.is_symlink() or not folder.is_dir():
                    continue
                marker = json.loads((folder / _WORK_MARKER).read_text(encoding="utf-8"))
                pid = int(marker["pid"])
                if marker.get("clvkit") != "work folder" or marker.get("host") != host:
                    continue
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not _pid_alive(pid):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def work_folder(out: str | os.PathLike) -> Iterator[Path]:
    """A marked temporary folder next to ``out`` (same file system), removed on exit.

    Stale work folders of dead processes in the same parent are removed first
    (:func:`clean_stale_work`). The marker names this process, so a folder left
    by SIGKILL is removed by the next run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with work_folder(root / "2024-04") as work:
    ...     work.parent == root, work.name.startswith(".2024-04.clvkit-")
    (True, True)
    >>> list(root.iterdir())
    []
    """
    out = Path(out)
    clean_stale_work(out.parent)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.clvkit-{os.getpid()}-", suffix=".tmp",
                                 dir=out.parent))
    try:
        marker = {"clvkit": "work folder", "pid": os.getpid(), "host": socket.gethostname()}
        (work / _WORK_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def publish_folder(staged: str | os.PathLike, out: str | os.PathLike, *, work: str | os.PathLike,
                   force: bool = False, protect: Iterable[str | os.PathLike] = ()) -> None:
    """Rename the finished folder ``staged`` to ``out``, replacing only a clvkit report.

    ``out`` is checked again (:func:`check_report_output`) right before. A replaced
    report is moved into ``work`` (removed with it); if the final rename fails it
    is put back.
    """
    staged, out, work = Path(staged), Path(out), Path(work)
    check_report_output(out, force=force, protect=protect)
    if not os.path.lexists(out):
        os.replace(staged, out)
        return
    old = work / "replaced"
    os.replace(out, old)
    try:
        os.replace(staged, out)
    except BaseException:
        os.replace(old, out)
        raise


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` so that ``finally`` blocks run.

    Only the first SIGTERM raises; later ones are ignored while cleaning up. Does
    nothing outside the main thread (where signal handlers cannot be set).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
