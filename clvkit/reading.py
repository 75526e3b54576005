"""Read a data file safely: format, compression, encoding and structure decided from content.

This module is the only place where clvkit opens a user's data file. It never
writes to it, never reads from anything but a regular file, and turns every
problem into one :class:`~clvkit.errors.DataValidationError` line that names the
path, the cause and the option that fixes it.

What it decides, and how (each non-obvious decision is one sentence in
:attr:`RawTable.decisions`):

* **format** (:func:`detect_format`): from the name, checked against the first
  bytes (an Excel workbook named ``.csv`` is an error, not a garbled table);
* **compression**: from the magic bytes, not the name (gzip, bz2, xz, or a zip
  archive holding exactly one data file);
* **encoding** (``encoding=None``): a byte-order mark decides (UTF-8, UTF-16,
  UTF-32), otherwise UTF-8; undecodable bytes are reported with their byte offset
  in the file and a hint from a bounded sample around them;
* **separator** (``sep=None``): the one of ``, ; TAB |`` that splits the header and
  the first rows into the same number of fields;
* **structure**: a header shorter than the rows, duplicated column names or rows
  with more fields than the header are errors (pandas would shift columns or
  rename silently); rows with fewer fields get missing values.

CSV cells are returned as text (pandas ``str`` dtype, missing only where a cell is
empty), so that ``007``, ``1E3`` and 20-digit ids arrive exactly as written and
each column is parsed once, later (:mod:`clvkit.parsing`). Parquet and Excel keep
their types (Excel per cell: ``dtype=object``).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import dataclasses
import errno
import gzip
import io
import lzma
import os
import stat
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from .errors import DataValidationError

__all__ = ["RawTable", "SourceInfo", "detect_format", "format_from_name", "probe_file",
           "read_source", "read_table"]

#: Separators tried by ``sep=None``, in order of preference.
SEPARATORS = (",", ";", "\t", "|")

_HEAD_BYTES = 256 * 1024  # decoded sample for the header and the separator
_SNIFF_RECORDS = 50  # records of that sample compared by the separator detection
_HINT_BYTES = 1024 * 1024  # bounded sample for the encoding hint
_CHUNK = 1024 * 1024
_SENTINEL = "\x00clvkit-extra-field"

_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 little-endian"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 big-endian"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 little-endian"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 big-endian"),
)
_COMPRESSION_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",  # an empty archive
}
_COMPRESSION_SUFFIX = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz",
                       ".zip": "zip"}
_DESCRIPTION = {"parquet": "a Parquet file", "xlsx": "an Excel .xlsx (zip) file",
                "xls": "an Excel .xls file", "zstd": "a zstandard-compressed file"}
_KIND_OF_SUFFIX = {".parquet": "parquet", ".pq": "parquet", ".xlsx": "excel",
                   ".xlsm": "excel", ".xls": "excel"}


@dataclass(frozen=True)
class RawTable:
    """A table as read from its source, before any column is parsed.

    Attributes
    ----------
    frame : DataFrame
        The cells: text for CSV (``str`` dtype, NaN for empty cells), stored
        types for Parquet, per-cell Python values for Excel.
    label : str
        Where the table came from (the path, or ``"DataFrame"``).
    decisions : tuple of str
        One sentence per interpretation made while reading (encoding taken from a
        byte-order mark, separator detected, member of a zip archive, sheet, ...).
    """

    frame: pd.DataFrame
    label: str
    decisions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceInfo:
    """What a file holds, from its name and its first bytes (see :func:`probe_file`).

    Attributes
    ----------
    format : {"csv", "parquet", "excel"}
        The data format.
    compression : {None, "gzip", "bz2", "xz", "zip"}
        The compression found in the content (not the name).
    member : str or None
        The data file read inside a zip archive.
    decisions : tuple of str
        Sentences about interpretations (compression that the name does not show).
    member_compression : {None, "gzip", "bz2", "xz"}
        Compression of the zip member itself (``tx.csv.gz`` zipped), found from its
        content; it is decompressed too.
    head : bytes
        The first 8 bytes of the (decompressed) data, e.g. a byte-order mark.
    """

    format: str
    compression: str | None = None
    member: str | None = None
    decisions: tuple[str, ...] = ()
    member_compression: str | None = None
    head: bytes = b""


# --------------------------------------------------------------------------- public API


def read_source(source: str | os.PathLike | pd.DataFrame, *, encoding: str | None = None,
                sep: str | None = None, sheet: str | int | None = None) -> RawTable:
    r"""Read a CSV, Parquet or Excel file (or take a DataFrame) with clear errors.

    Parameters
    ----------
    source : path or DataFrame
        A CSV (any extension but the ones below; compressed or in a one-file zip
        archive), Parquet (``.parquet``, ``.pq``) or Excel (``.xlsx``, ``.xlsm``,
        ``.xls``) file. A DataFrame is passed through unchanged.
    encoding : str, optional
        Text encoding of a CSV file. None detects it: a byte-order mark decides,
        otherwise UTF-8. A given encoding is used as given.
    sep : str, optional
        Field separator of a CSV file. None detects one of ``, ; TAB |``;
        ``"whitespace"`` reads columns aligned with runs of spaces or tabs (see
        :func:`read_whitespace_columns`).
    sheet : str or int, optional
        Excel sheet name or 0-based index. None reads the first sheet.

    Returns
    -------
    RawTable
        ``frame``, ``label`` and ``decisions``.

    Raises
    ------
    DataValidationError
        Missing, unreadable or not regular file; empty file or no rows; format
        named wrongly; undecodable text (with the byte offset); a header shorter
        than the rows, duplicated column names, rows with more fields than the
        header; a zip archive with several files; an unknown sheet.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = path.write_text("customer;date;amount\n007;01.02.2024;12,50\n")
    >>> table = read_source(path)
    >>> table.frame.to_dict("list")
    {'customer': ['007'], 'date': ['01.02.2024'], 'amount': ['12,50']}
    >>> table.decisions[0].startswith("separator ';'")
    True
    """
    if isinstance(source, pd.DataFrame):
        return RawTable(source, "DataFrame", ())
    if not isinstance(source, (str, os.PathLike)):
        raise DataValidationError(f"source must be a file path or a DataFrame, got "
                                  f"{type(source).__name__}")
    for name, value in (("encoding", encoding), ("sep", sep)):
        if value is not None and not isinstance(value, str):
            raise DataValidationError(f"{name}= must be text, got {type(value).__name__} "
                                      f"{str(repr(value))[:40]}")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, str | int)):
        raise DataValidationError(f"sheet= must be a sheet name or a 0-based position, got "
                                  f"{type(sheet).__name__} {str(repr(sheet))[:40]}")
    path = Path(source)
    info = probe_file(path)
    label = str(path)
    if sheet is not None and info.format != "excel":
        raise DataValidationError(f"sheet={sheet!r} applies to Excel workbooks, but {path} is "
                                  f"{info.format}: leave sheet= out")
    if info.format == "parquet":
        frame, decisions = _read_parquet(path, info), ()
    elif info.format == "excel":
        frame, decisions = _read_excel(path, info, sheet=sheet)
    else:
        frame, decisions = _read_csv(path, info, encoding=encoding, sep=sep)
    if len(frame) == 0:
        raise DataValidationError(f"{label} has no rows (only a header): nothing to load")
    if info.format == "excel" or (info.format == "csv" and _may_hold_nul(path, info)):
        _refuse_nul(frame, label)  # text cells of a text file or workbook
    return RawTable(frame, label, info.decisions + tuple(decisions))


def _may_hold_nul(path: Path, info: SourceInfo) -> bool:
    """False when an uncompressed file has no NUL byte at all (a fast byte scan).

    UTF-16/32 text has NUL bytes everywhere: then the cells are looked at.
    """
    if info.compression is not None:
        return True  # decompressing twice costs more than looking at the cells
    with _open_raw(path) as fh:
        while chunk := fh.read(_CHUNK * 8):
            if b"\x00" in chunk:
                return True
    return False


def _refuse_nul(frame: pd.DataFrame, label: str) -> None:
    """A NUL character in any text cell (anywhere in the file) is refused, with its row.

    CSV and Excel only: there a NUL is a damaged or binary file (Parquet strings are
    typed data, and their ids are normalised like any other text).
    """
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values.dtype) and not values.dtype == object:
            hit = values.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        elif values.dtype == object:
            hit = values.map(lambda v: isinstance(v, str) and "\x00" in v).to_numpy(dtype=bool)
        else:
            continue
        if hit.any():
            rows = [int(i) + 1 for i in hit.nonzero()[0][:3]]
            raise DataValidationError(
                f"{label} holds a NUL character (byte 0) in column {str(column)[:60]!r}, data "
                f"row(s) {', '.join(map(str, rows))}{' ...' if hit.sum() > 3 else ''} "
                f"({int(hit.sum()):,} cell(s)): not clean text; a NUL can split one value "
                "into two. Remove the NUL bytes from the file (or pass the right encoding=)")


def read_table(source: str | os.PathLike | pd.DataFrame, *, encoding: str | None = None,
               sep: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    r"""The frame of :func:`read_source` (same parameters, same errors).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "ids.csv"
    >>> _ = path.write_text("customer_id,amount\n007,1\n1E3,2\n12345678901234567890,3\n")
    >>> read_table(path)["customer_id"].tolist()
    ['007', '1E3', '12345678901234567890']
    """
    return read_source(source, encoding=encoding, sep=sep, sheet=sheet).frame


def detect_format(path: str | os.PathLike) -> str:
    """The data format of a file: ``"csv"``, ``"parquet"`` or ``"excel"``.

    The name decides (a compression suffix such as ``.gz`` is looked through) and
    the first bytes must agree: an Excel workbook or Parquet file under another
    name is an error, as is a ``.parquet``/``.xlsx`` name on something else.

    Parameters
    ----------
    path : path
        A regular file.

    Returns
    -------
    str

    Raises
    ------
    DataValidationError
        The path is missing, not a regular file or unreadable, or the name and the
        content disagree.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"a": [1]}).to_parquet(folder / "t.parquet")
    >>> detect_format(folder / "t.parquet")
    'parquet'
    >>> _ = (folder / "t.parquet").rename(folder / "t.csv")
    >>> detect_format(folder / "t.csv")
    Traceback (most recent call last):
    ...
    clvkit.errors.DataValidationError: ...t.csv looks like a Parquet file but its name says csv; \
rename it with the right extension
    """
    return probe_file(path).format


def format_from_name(name: str | os.PathLike) -> str:
    """The format a file name says, looking through a compression suffix (no file access).

    For remote paths (``s3a://...``) that cannot be opened here; local files go
    through :func:`detect_format`, which also checks the content.

    Examples
    --------
    >>> format_from_name("s3a://bucket/tx-2024.parquet"), format_from_name("tx.csv.gz")
    ('parquet', 'csv')
    """
    return _name_kind(Path(name).name)[0]


def probe_file(path: str | os.PathLike) -> SourceInfo:
    r"""Format and compression of a file, from its name and first bytes, without reading it.

    Parameters
    ----------
    path : path
        A regular file.

    Returns
    -------
    SourceInfo

    Raises
    ------
    DataValidationError
        As :func:`detect_format`; also a zip archive with no or several data files.

    Examples
    --------
    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "tx.csv"
    >>> _ = path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    >>> info = probe_file(path)
    >>> info.format, info.compression
    ('csv', 'gzip')
    """
    path = Path(path)
    size = _check_path(path)
    if size == 0:
        raise DataValidationError(f"{path} is empty (0 bytes): nothing to load")
    with _open_raw(path) as fh:
        magic = fh.read(8)
    name_kind, name_compression = _name_kind(path.name)
    compression = _compression_of(magic)
    member = None
    decisions = []
    if compression == "zip" and _is_xlsx(path):
        compression = None
    inside = None
    if compression == "zip":
        member = _zip_member(path)
        name_kind, _ = _name_kind(member)
        decisions.append(f"read {member!r}, the one data file of the zip archive {path}")
        head = _inner_head(path, SourceInfo(name_kind, compression, member))
        inside = _compression_of(head)
        inside = None if inside == "zip" else inside   # a workbook (or a zip: refused below)
        if inside is not None:
            decisions.append(f"{member!r} inside the zip is {inside}-compressed; decompressed "
                             "while reading")
    elif compression is not None and name_compression != compression:
        decisions.append(f"{path} is {compression}-compressed (found from its content, not "
                         "its name); decompressed while reading")
    elif compression is None and name_compression not in (None, "zip"):
        decisions.append(f"{path} is named as {name_compression}-compressed but is not "
                         "compressed; read as it is")
    info = SourceInfo(name_kind, compression, member, tuple(decisions), inside)
    inner = magic if compression is None else _inner_head(path, info)
    # a zip at the top is a workbook only if it holds one; inside a container, assume so
    xlsx = inner[:4] == b"PK\x03\x04" and (compression is not None or _is_xlsx(path))
    content = _content_kind(inner, xlsx)
    expected = {"csv": None, "parquet": "parquet", "excel": ("xlsx", "xls")}[name_kind]
    if content is not None and content not in (expected or ()):
        raise DataValidationError(f"{path} looks like {_DESCRIPTION[content]} but its name "
                                  f"says {name_kind}; rename it with the right extension")
    if content is None and expected is not None:
        what = "a Parquet file" if name_kind == "parquet" else "an Excel workbook"
        raise DataValidationError(
            f"{path} is named as {name_kind} but is not {what} (it starts with "
            f"{inner[:4]!r}); rename it with the right extension")
    return dataclasses.replace(info, head=bytes(inner[:8]))


# --------------------------------------------------------------------------- paths


def _check_path(path: Path) -> int:
    """Size of a regular file; one-line errors for everything else (nothing is opened)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _path_error(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataValidationError(f"{path} is a directory, not a data file")
    if not stat.S_ISREG(st.st_mode):
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a character device" if stat.S_ISCHR(st.st_mode)
                else "a block device" if stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a special file")
        raise DataValidationError(f"{path} is not a regular file ({what}); clvkit reads data "
                                  "only from regular files: save the data to a file first")
    return st.st_size


def _path_error(path: Path, exc: OSError) -> DataValidationError:
    if exc.errno == errno.ENOENT:
        if os.path.islink(path):
            return DataValidationError(f"file not found: {path} is a symbolic link to "
                                       f"{os.readlink(path)}, which does not exist")
        return DataValidationError(f"file not found: {path}")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return DataValidationError(f"permission denied: {path} cannot be read by this user; "
                                   "fix its permissions or copy it somewhere readable")
    if exc.errno == errno.ELOOP:
        return DataValidationError(f"{path} is a symbolic link loop (too many levels of "
                                   "symbolic links): point the link at a real file")
    if exc.errno == errno.ENOTDIR:
        return DataValidationError(f"file not found: {path} (a part of the path is not a "
                                   "directory)")
    return DataValidationError(f"{path} cannot be opened: {exc.strerror or exc}")


@contextmanager
def _open_raw(path: Path) -> Iterator[IO[bytes]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; errors become one line
    except OSError as exc:
        raise _path_error(path, exc) from None
    try:
        yield fh
    finally:
        fh.close()


# --------------------------------------------------------------------------- format


def _name_kind(name: str) -> tuple[str, str | None]:
    """(format, compression) from a file name: ``tx.parquet.gz`` -> ("parquet", "gzip")."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = None
    if suffixes and suffixes[-1] in _COMPRESSION_SUFFIX:
        compression = _COMPRESSION_SUFFIX[suffixes.pop()]
    return _KIND_OF_SUFFIX.get(suffixes[-1] if suffixes else "", "csv"), compression


def _compression_of(magic: bytes) -> str | None:
    for prefix, name in _COMPRESSION_MAGIC.items():
        if magic.startswith(prefix):
            return name
    return None


def _content_kind(head: bytes, xlsx: bool) -> str | None:
    if xlsx:
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return None


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _zip_member(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataValidationError(f"{path} could not be read as a zip archive: "
                                  f"{_first_line(exc)}") from None
    data = [i.filename for i in infos if not i.is_dir()
            and not i.filename.startswith("__MACOSX/")
            and not Path(i.filename).name.startswith(".")]
    if len(data) == 1:
        return data[0]
    if not data:
        raise DataValidationError(f"{path} is a zip archive with no data file in it")
    shown = ", ".join(data[:10]) + (", ..." if len(data) > 10 else "")
    raise DataValidationError(f"{path} is a zip archive holding {len(data)} files ({shown}); "
                              "clvkit reads a zip with exactly one data file: extract the "
                              "one you want and pass its path")


@contextmanager
def _open_data(path: Path, info: SourceInfo) -> Iterator[IO[bytes]]:
    """The decompressed bytes of the file (a stream; nothing is read ahead)."""
    with _open_raw(path) as raw:
        if info.compression is None:
            yield raw
        elif info.compression == "zip":
            with zipfile.ZipFile(raw) as archive, archive.open(info.member) as member:
                if info.member_compression is None:
                    yield member
                else:
                    with _decompressor(member, info.member_compression) as stream:
                        yield stream
        else:
            with _decompressor(raw, info.compression) as stream:
                yield stream


def _decompressor(raw: IO[bytes], compression: str) -> IO[bytes]:
    return (gzip.GzipFile(fileobj=raw, mode="rb") if compression == "gzip"
            else bz2.BZ2File(raw, mode="rb") if compression == "bz2"
            else lzma.LZMAFile(raw, mode="rb"))


def _inner_head(path: Path, info: SourceInfo) -> bytes:
    try:
        with _open_data(path, info) as fh:
            return fh.read(8)
    except DataValidationError:
        raise
    except Exception as exc:  # a corrupt archive or stream
        raise DataValidationError(f"{path} could not be read as {info.compression}: "
                                  f"{_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unreadable(path: Path, kind: str, exc: BaseException) -> DataValidationError:
    common = isinstance(exc, (pd.errors.ParserError, OSError, ValueError, EOFError))
    kind_of = "" if common else f" ({type(exc).__name__})"
    return DataValidationError(f"{path} could not be read as {kind}{kind_of}: "
                               f"{_first_line(exc)}")


# --------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, info: SourceInfo) -> pd.DataFrame:
    try:
        if info.compression is None:
            return pd.read_parquet(path)
        with _open_data(path, info) as fh:  # Parquet needs random access
            return pd.read_parquet(io.BytesIO(fh.read()))
    except Exception as exc:  # pyarrow raises its own types on corrupt files
        raise _unreadable(path, "parquet", exc) from None


# --------------------------------------------------------------------------- Excel


def _read_excel(path: Path, info: SourceInfo, *, sheet) -> tuple[pd.DataFrame, list[str]]:
    try:
        if info.compression is None:
            book = pd.ExcelFile(path)
        else:
            with _open_data(path, info) as fh:
                book = pd.ExcelFile(io.BytesIO(fh.read()))
        with book:
            names = list(book.sheet_names)
            hidden = _hidden_sheets(book)
            chosen = _choose_sheet(path, names, sheet, hidden)
            cells = pd.read_excel(book, sheet_name=chosen, header=None, dtype=object,
                                  keep_default_na=False, na_values=[""])
    except DataValidationError:
        raise
    except Exception as exc:  # openpyxl / xlrd raise their own types on corrupt files
        raise _unreadable(path, "excel", exc) from None
    listed = ", ".join(map(str, names))
    decisions = [f"sheet {chosen!r} of {len(names)} ({listed}) read; choose another with "
                 "sheet=" if len(names) > 1 else f"sheet {chosen!r} (the only one) read"]
    if hidden:
        state = "read as asked" if chosen in hidden else "skipped"
        decisions.append(f"hidden sheet(s) {', '.join(map(repr, hidden))} {state}")
    return _excel_table(path, cells, decisions), decisions


def _hidden_sheets(book: pd.ExcelFile) -> list[str]:
    """Names of the hidden (or very hidden) sheets of a workbook (openpyxl and xlrd)."""
    inner = getattr(book, "book", None)
    if hasattr(inner, "worksheets"):  # openpyxl
        return [ws.title for ws in inner.worksheets if ws.sheet_state != "visible"]
    if hasattr(inner, "sheets"):  # xlrd
        return [sh.name for sh in inner.sheets() if getattr(sh, "visibility", 0)]
    return []


def _choose_sheet(path: Path, names: list[str], sheet, hidden: list[str] = ()) -> str:
    """The sheet to read: by exact name first, then by 0-based position.

    ``sheet=None`` reads the first *visible* sheet. A text ``sheet`` is a name; text of
    digits that names no sheet is a position (the command line passes text). An integer
    is a position, unless it is written as a sheet's name too and that sheet is another:
    then it is ambiguous and refused.
    """
    listed = ", ".join(repr(n) for n in names)
    if sheet is None:
        visible = [n for n in names if n not in hidden]
        if not visible:
            raise DataValidationError(f"{path}: every sheet is hidden ({listed}); pass sheet= "
                                      "the name of the sheet to read")
        return visible[0]
    if isinstance(sheet, bool) or not isinstance(sheet, str | int):
        raise DataValidationError(f"sheet= must be a sheet name or a 0-based position, got "
                                  f"{type(sheet).__name__} {str(repr(sheet))[:60]}")
    text = str(sheet)
    named = [n for n in names if str(n) == text]
    position = (int(text) if isinstance(sheet, int)
                else int(text) if text.isascii() and text.isdigit() else None)
    if position is not None and not -len(names) <= position < len(names):
        position = None
    if named and position is not None and isinstance(sheet, int) and names[position] != named[0]:
        raise DataValidationError(
            f"{path}: sheet={sheet} is ambiguous: a sheet is named {named[0]!r} and position "
            f"{position} is sheet {names[position]!r}; pass sheet='{named[0]}' (a name, as "
            f"text) or the other sheet's name")
    if named:
        return named[0]
    if position is not None:
        return names[position]
    if isinstance(sheet, int):
        raise DataValidationError(f"{path} has {len(names)} sheet(s) ({listed}); sheet={sheet} "
                                  "is out of range: pass sheet= a name or a 0-based index")
    raise DataValidationError(f"{path} has no sheet {str(repr(sheet))[:60]}; its sheets are "
                              f"{listed}: pass sheet= one of these names or a 0-based index")


def _excel_table(path: Path, cells: pd.DataFrame, decisions: list[str]) -> pd.DataFrame:
    """First non-empty row as the header (names kept as written), the rest as data."""
    filled = cells.notna().any(axis=1).to_numpy()
    if not filled.any():
        raise DataValidationError(f"{path} has no data (the sheet is empty): nothing to load")
    start = int(filled.argmax())
    header = cells.iloc[start].tolist()
    names = [f"Unnamed: {i}" if _blank(value) else value for i, value in enumerate(header)]
    _check_duplicates(path, [n for n, value in zip(names, header, strict=True)
                             if not _blank(value)])
    frame = cells.iloc[start + 1:].reset_index(drop=True)
    frame.columns = names
    empty = [n for n, value in zip(names, header, strict=True)
             if _blank(value) and frame[n].isna().all()]
    if empty:
        frame = frame.drop(columns=empty)
        decisions.append(f"{len(empty)} empty column(s) without a name dropped")
    return frame


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (
        isinstance(value, str) and not value.strip())


def _check_duplicates(path: Path, names: list) -> None:
    seen: dict = {}
    for position, name in enumerate(names, start=1):
        seen.setdefault(name, []).append(position)
    repeated = {name: where for name, where in seen.items() if len(where) > 1}
    if repeated:
        shown = "; ".join(f"{name!r} (columns {', '.join(map(str, where))})"
                          for name, where in list(repeated.items())[:5])
        raise DataValidationError(
            f"{path} has duplicate column names in its header: {shown}; pandas would rename "
            "them to 'name.1' silently. Give every column its own name.")


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, info: SourceInfo, *, encoding: str | None,
              sep: str | None) -> tuple[pd.DataFrame, list[str]]:
    decisions: list[str] = []
    head = _read_head(path, info)
    enc = _choose_encoding(path, head, encoding, decisions)
    text, complete = _decode_head(path, info, head, enc)
    if sep == WHITESPACE:
        return _read_whitespace(path, info, text, enc, decisions), decisions
    if sep is None:
        sep = _detect_separator(path, text, complete, decisions)
    elif len(sep) != 1:
        raise DataValidationError(f"sep={sep!r}: the separator must be one character, or "
                                  f"sep='{WHITESPACE}' for columns aligned with spaces")
    records = _records(text, sep)
    if not complete and records:
        records = records[:-1]  # the sample may end inside a record
    header_at = next((i for i, r in enumerate(records) if not _blank_record(r)), None)
    if header_at is None:
        raise DataValidationError(f"{path} has no data (no header row): nothing to load")
    header = records[header_at]
    _check_duplicates(path, [n for n in header if n.strip()])
    names = [n if n.strip() else f"Unnamed: {i}" for i, n in enumerate(header)]
    try:
        frame = None
        if header_at == 0:
            frame = _csv_pyarrow(path, info, sep, names, enc)
        if frame is None:
            frame = _csv_c(path, info, sep, names, enc, skip=header_at + 1)
    except UnicodeDecodeError:
        raise _decode_error(path, info, enc) from None
    except DataValidationError:
        raise
    except pd.errors.ParserError as exc:
        if "fields in line" in str(exc):
            raise _structure_error(path, info, enc, sep, len(names), header_at) from None
        if "EOF inside string" in str(exc):
            raise DataValidationError(
                f"{path} could not be read as csv: a quoted value is never closed "
                f"({_first_line(exc).removeprefix('Error tokenizing data. ')}); add the "
                "missing '\"' in the file") from None
        raise _unreadable(path, "csv", exc) from None
    except Exception as exc:
        raise _unreadable(path, "csv", exc) from None
    if _SENTINEL in frame:
        if frame[_SENTINEL].notna().any():
            raise _structure_error(path, info, enc, sep, len(names), header_at)
        frame = frame.drop(columns=_SENTINEL)
        rows = [r for r in records[header_at + 1:] if r]
        if rows and all(len(r) == len(names) + 1 and r[-1] == "" for r in rows):
            decisions.append(f"every row ends with {sep!r} (an empty last field the header "
                             "does not have); that empty field was ignored")
    last = names[-1]
    if not header[-1].strip() and frame[last].isna().all() and len(names) > 1:
        frame = frame.drop(columns=last)
        decisions.append(f"the header ends with {sep!r}: its empty, unnamed last column was "
                         "dropped")
    return frame, decisions


def _blank_record(record: list[str]) -> bool:
    """An empty or whitespace-only line, which pandas skips."""
    return not record or (len(record) == 1 and not record[0].strip())


def _read_head(path: Path, info: SourceInfo) -> bytes:
    try:
        with _open_data(path, info) as fh:
            return fh.read(_HEAD_BYTES)
    except DataValidationError:
        raise
    except Exception as exc:
        raise _unreadable(path, "csv", exc) from None


def _choose_encoding(path: Path, head: bytes, encoding: str | None,
                     decisions: list[str]) -> str:
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise DataValidationError(f"encoding={encoding!r} is not a known text encoding "
                                      "(e.g. 'utf-8', 'cp1252', 'utf-16')") from None
        if name == "utf-8" and head.startswith(codecs.BOM_UTF8):
            decisions.append("the UTF-8 byte-order mark at the start of the file was removed")
            return "utf-8-sig"
        return encoding
    for bom, name, description in _BOMS:
        if head.startswith(bom):
            decisions.append(f"encoding {name} taken from the file's {description} "
                             "byte-order mark")
            return name
    if b"\x00" in head:
        sample = head[:4096]
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        guess = ("utf-16-le" if odd > len(sample) // 4 and even == 0
                 else "utf-16-be" if even > len(sample) // 4 and odd == 0 else None)
        at = head.index(b"\x00")
        hint = (f"it looks like {guess} without a byte-order mark: pass encoding='{guess}'"
                if guess else "it looks like binary data, not text; pass the right file "
                "(or its encoding with encoding=)")
        raise DataValidationError(f"{path} is not valid utf-8 text (NUL byte b'\\x00' at byte "
                                  f"offset {at}); {hint}")
    return "utf-8"


def _decode_head(path: Path, info: SourceInfo, head: bytes, enc: str) -> tuple[str, bool]:
    complete = len(head) < _HEAD_BYTES
    try:
        text = codecs.getincrementaldecoder(enc)("strict").decode(head, final=complete)
    except UnicodeDecodeError:
        raise _decode_error(path, info, enc) from None
    return text, complete


def _records(text: str, sep: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out: list[list[str]] = []
    # csv refuses fields over 128 KB by default: sniffing must not depend on field size
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    try:
        for record in reader:
            out.append(record)
            if len(out) > _SNIFF_RECORDS * 4:
                break
    except csv.Error:
        pass  # an unbalanced quote: pandas will report it with its line
    finally:
        csv.field_size_limit(limit)
    return out


def _detect_separator(path: Path, text: str, complete: bool, decisions: list[str]) -> str:
    scores = {}
    for sep in SEPARATORS:
        records = [r for r in _records(text, sep) if r]
        if not complete:
            records = records[:-1]
        records = records[:_SNIFF_RECORDS + 1]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        rows = records[1:] or records
        scores[sep] = (sum(len(r) == width for r in rows) / len(rows), width, len(rows))
    if not scores:
        return ","
    ranked = sorted(scores, key=lambda s: scores[s][0], reverse=True)
    best = ranked[0]
    if len(ranked) > 1 and scores[ranked[1]][0] == scores[best][0]:
        shown = " and ".join(f"{s!r} ({scores[s][1]} fields)" for s in ranked[:2])
        raise DataValidationError(f"{path}: the separator is ambiguous: {shown} both split "
                                  "the header and the first rows evenly; pass sep=")
    if best != ",":
        decisions.append(f"separator {best!r} detected from the header and the first "
                         f"{scores[best][2]} rows ({scores[best][1]} fields); pass sep= to "
                         "override")
    return best


def _csv_source(path: Path, info: SourceInfo, stack) -> tuple[Any, str | None]:
    if info.compression == "zip":
        return stack.enter_context(_open_data(path, info)), None
    return path, info.compression


def _csv_pyarrow(path: Path, info: SourceInfo, sep: str, names: list[str], enc: str):
    """Fast path: every row has exactly the header's fields (pyarrow refuses anything else)."""
    with ExitStack() as stack:
        source, compression = _csv_source(path, info, stack)
        try:
            frame = pd.read_csv(source, engine="pyarrow", sep=sep, header=0, names=names,
                                dtype=str, keep_default_na=False, na_values=[""],
                                encoding=enc, compression=compression)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, ImportError):
            return None  # short or long rows, bad bytes...: the C reader diagnoses them
    # pyarrow accepts a quote left open at the end of the file (the rest of the file
    # becomes the last value); the C reader refuses it, so let it check that case
    last = frame.iloc[-1].dropna() if len(frame) else pd.Series(dtype=str)
    if last.str.contains("[\r\n]", regex=True).any():
        return None
    return frame


def _csv_c(path: Path, info: SourceInfo, sep: str, names: list[str], enc: str,
           skip: int) -> pd.DataFrame:
    """Rows may have fewer fields than the header; one extra column catches longer rows."""
    with ExitStack() as stack:
        source, compression = _csv_source(path, info, stack)
        frame = pd.read_csv(source, engine="c", sep=sep, header=None, skiprows=skip,
                            names=[*names, _SENTINEL], index_col=False, dtype=str,
                            keep_default_na=False, na_values=[""], encoding=enc,
                            compression=compression, low_memory=False)
    return frame


def _structure_error(path: Path, info: SourceInfo, enc: str, sep: str, width: int,
                     header_at: int) -> DataValidationError:
    """Rows with more fields than the header, located by a full (slow) scan."""
    longer: list[tuple[int, int]] = []
    rows = 0
    with _open_data(path, info) as fh:
        text = io.TextIOWrapper(fh, encoding=enc, newline="")
        reader = csv.reader(text, delimiter=sep)
        line = 0
        for number, record in enumerate(reader):
            start, line = line + 1, reader.line_num
            if number <= header_at or not record:
                continue
            rows += 1
            if len(record) > width:
                longer.append((start, len(record)))
    counts = {n for _, n in longer}
    lines = ", ".join(str(line) for line, _ in longer[:5]) + (", ..." if len(longer) > 5
                                                              else "")
    if longer and len(longer) == rows and len(counts) == 1:
        noun = "field" if width == 1 else "fields"
        return DataValidationError(
            f"{path}: the header has {width} {noun} but every row has {counts.pop()} (e.g. "
            f"lines {lines}); pandas would make the first column the index and shift every "
            f"column name. Add the missing column name(s) to the header line, or pass sep= "
            f"if {sep!r} is not the separator.")
    shown = ", ".join(f"line {line}: {n} fields" for line, n in longer[:5])
    return DataValidationError(
        f"{path}: {len(longer)} of {rows} rows have more fields than the header's {width} "
        f"({shown}{', ...' if len(longer) > 5 else ''}); their values would shift into the "
        f"wrong columns. Fix those lines (quote values containing {sep!r}) or pass the right "
        "sep=")


def _decode_error(path: Path, info: SourceInfo, enc: str) -> DataValidationError:
    """The first undecodable byte, its offset in the (decompressed) data, and a hint."""
    offset, bad = _first_undecodable(path, info, enc)
    where = " of the decompressed data" if info.compression else ""
    if offset is None:  # pragma: no cover - pandas and Python codecs agree
        return DataValidationError(f"{path} is not valid {enc} text; pass its encoding "
                                   "with encoding=")
    with _open_data(path, info) as fh:
        head = fh.read(4)
    marks = [(name, described) for bom, name, described in _BOMS if head.startswith(bom)]
    hint = (f"the file starts with a {marks[0][1]} byte-order mark: pass "
            f"encoding='{marks[0][0]}' (or encoding=None to detect it)" if marks
            else _encoding_hint(path, info, offset))
    return DataValidationError(
        f"{path} is not valid {enc} text (byte {bad!r} at byte offset {offset}{where}); {hint}")


def _first_undecodable(path: Path, info: SourceInfo, enc: str) -> tuple[int | None, bytes]:
    decoder = codecs.getincrementaldecoder(enc)("strict")
    fed = 0
    with _open_data(path, info) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            fed += len(chunk)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object holds the bytes still pending from earlier chunks + this one
                at = fed - len(exc.object) + exc.start
                return at, exc.object[exc.start:exc.start + 1]
            if not chunk:
                return None, b""


def _encoding_hint(path: Path, info: SourceInfo, offset: int) -> str:
    start = max(0, offset - 64 * 1024)
    with _open_data(path, info) as fh:
        skip = start
        while skip:
            skip -= len(fh.read(min(skip, _CHUNK))) or skip
        sample = fh.read(_HINT_BYTES)
    for candidate in ("cp1252", "latin-1"):
        try:
            sample.decode(candidate)
        except UnicodeDecodeError:
            continue
        return f"it decodes as {candidate}: pass encoding='{candidate}'"
    return "pass the file's encoding with encoding=..."  # pragma: no cover


# --------------------------------------------------------------------------- whitespace

#: ``sep=`` value of files whose columns are separated by runs of spaces or tabs.
WHITESPACE = "whitespace"
_NUMBER_LIKE = r"[+-]?[\d.,:/-]+"


def headerless(first_line: str) -> bool:
    """True when a whitespace-aligned file's first line holds only numbers and dates.

    Such a file has no header row (CDNOW_master.txt as other libraries ship it).

    Examples
    --------
    >>> headerless("   00001 19970101  1  11.77")
    True
    >>> headerless("customer date amount")
    False
    """
    import re

    fields = first_line.split()
    return bool(fields) and all(re.fullmatch(_NUMBER_LIKE, f) for f in fields)


def _read_whitespace(path: Path, info: SourceInfo, text: str, enc: str,
                     decisions: list[str]) -> pd.DataFrame:
    """Read a file whose fields are separated by runs of spaces or tabs (``sep="whitespace"``)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise DataValidationError(f"{path} has no data (no header row): nothing to load")
    no_header = headerless(first)
    width = len(first.split())
    names = [f"column_{i + 1}" for i in range(width)] if no_header else None
    with ExitStack() as stack:
        source, compression = _csv_source(path, info, stack)
        try:
            frame = pd.read_csv(source, sep=r"\s+", engine="c", header=None if no_header else 0,
                                names=names, index_col=False, dtype=str,
                                keep_default_na=False, na_values=[""], encoding=enc,
                                compression=compression)
        except UnicodeDecodeError:
            raise _decode_error(path, info, enc) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataValidationError(
                f"{path} could not be read with sep='{WHITESPACE}': "
                f"{_first_line(exc)} (a value with a space inside, such as a product name, "
                "splits into two columns; such files need a real separator)") from None
    if not no_header:
        _check_duplicates(path, list(frame.columns))
    decisions.append(
        f"columns separated by runs of spaces or tabs (sep='{WHITESPACE}')"
        + (f"; the first line holds only numbers, so the file has no header row: its "
           f"{width} columns are named column_1 .. column_{width} (name them, e.g. "
           "customer_id='column_1', or use a preset that knows the layout)"
           if no_header else ""))
    return frame
