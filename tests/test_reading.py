"""Tests of clvkit.reading: every file is read as written, or refused in one clear line."""

import bz2
import codecs
import gzip
import hashlib
import lzma
import os
import signal
import socket
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvkit.reading as reading
from clvkit.errors import DataValidationError
from clvkit.reading import (
    RawTable,
    detect_format,
    format_from_name,
    probe_file,
    read_source,
    read_table,
)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def one_line_error(source, match: str, **options) -> str:
    with pytest.raises(DataValidationError, match=match) as info:
        read_source(source, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


@contextmanager
def no_hang(seconds: int = 10):
    """Fail (instead of hanging the suite) if the code under test blocks on a read."""
    def fail(*_):
        raise AssertionError(f"blocked for {seconds} s: the special file was opened")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- cells as text


def test_csv_cells_are_text_exactly_as_written(tmp_path):
    path = write(tmp_path / "ids.csv", "customer_id,amount,note\n007,12.50,NA\n7,1e3,\n"
                                       "1E3,,null\n12345678901234567890,0042, x \n")
    table = read_source(path)
    frame = table.frame
    assert isinstance(table, RawTable) and table.label == str(path) and table.decisions == ()
    assert frame["customer_id"].tolist() == ["007", "7", "1E3", "12345678901234567890"]
    assert frame["amount"].tolist()[:2] == ["12.50", "1e3"]
    assert frame["amount"].isna().tolist() == [False, False, True, False]
    assert frame["amount"].iloc[3] == "0042"
    # only empty cells are missing; 'NA' and 'null' are text for the parser to judge
    assert frame["note"].tolist()[0] == "NA" and frame["note"].tolist()[2] == "null"
    assert frame["note"].iloc[3] == " x "
    assert all(pd.api.types.is_string_dtype(frame[c]) for c in frame)
    assert list(frame.index) == [0, 1, 2, 3]


def test_read_table_is_the_frame_of_read_source(tmp_path):
    path = write(tmp_path / "t.csv", "a;b\n1;2,5\n")
    pd.testing.assert_frame_equal(read_table(path), read_source(path).frame)


def test_dataframe_passes_through_and_other_sources_are_refused():
    frame = pd.DataFrame({"a": [1]})
    table = read_source(frame)
    assert table.frame is frame and table.label == "DataFrame" and table.decisions == ()
    with pytest.raises(DataValidationError, match="file path or a DataFrame, got int"):
        read_source(42)


# --------------------------------------------------------------------------- structure


def test_header_shorter_than_every_row_is_an_error(tmp_path):
    # pandas would silently make 'customer' values the index and shift every name
    path = write(tmp_path / "short.csv", "customer,date,amount\n1,2024-01-01,5,web\n"
                                         "2,2024-01-02,6,shop\n3,2024-01-03,7,web\n")
    message = one_line_error(path, "header")
    assert "the header has 3 fields but every row has 4 (e.g. lines 2, 3, 4)" in message


def test_trailing_comma_on_every_row_without_header_comma(tmp_path):
    path = write(tmp_path / "trail.csv", "a,b,c\n1,2,3,\n4,,6,\n")
    table = read_source(path)
    assert list(table.frame.columns) == ["a", "b", "c"]
    assert table.frame["b"].isna().tolist() == [False, True]
    assert table.decisions == ("every row ends with ',' (an empty last field the header does "
                               "not have); that empty field was ignored",)


def test_trailing_comma_on_header_and_rows(tmp_path):
    path = write(tmp_path / "trail.csv", "a,b,c,\n1,2,3,\n4,5,6,\n")
    table = read_source(path)
    assert table.frame.to_dict("list") == {"a": ["1", "4"], "b": ["2", "5"], "c": ["3", "6"]}
    assert table.decisions == ("the header ends with ',': its empty, unnamed last column was "
                               "dropped",)


def test_duplicated_column_names_are_an_error(tmp_path):
    # pandas would rename the second to 'amount.1'
    path = write(tmp_path / "dup.csv", "customer,amount,date,amount\n1,2,2024-01-01,3\n")
    message = one_line_error(path, "duplicate")
    assert "'amount' (columns 2, 4)" in message


def test_some_rows_with_more_fields_name_their_real_line_numbers(tmp_path):
    # a blank line and a quoted two-line value come before the bad rows: the line
    # numbers are the file's, not row positions
    text = ('id,name,amount\n1,"two\nlines",5\n\n2,b,6\n3,c,7,extra\n4,d,8\n'
            '5,e,9,x,y\n')
    path = write(tmp_path / "long.csv", text)
    message = one_line_error(path, "more fields than the header")
    assert "2 of 5 rows have more fields than the header's 3 (line 6: 4 fields, line 8: 5 " \
           "fields)" in message
    assert "sep=" in message


def test_one_extra_field_in_some_rows_is_an_error_too(tmp_path):
    path = write(tmp_path / "long.csv", "id,amount\n1,5\n2,6,7\n3,8\n")
    assert "line 3: 3 fields" in one_line_error(path, "more fields")


def test_rows_with_fewer_fields_get_missing_values(tmp_path):
    path = write(tmp_path / "short_rows.csv", "a,b,c\n1,2,3\n4\n5,6\n")
    frame = read_table(path)
    assert frame["a"].tolist() == ["1", "4", "5"]
    assert frame["b"].isna().tolist() == [False, True, False]
    assert frame["c"].isna().tolist() == [False, True, True]


TRICKY = {
    "quoted newline": 'a,b,c\n1,"x\ny",3\n4,5,6\n',
    "quoted separator": 'a,b,c\n1,"x,y",3\n',
    "doubled quotes": 'a,b,c\n1,"he said ""hi""",3\n',
    "crlf and empty cell": "a,b,c\r\n1,2,3\r\n4,,6\r\n",
    "blank lines": "a,b,c\n1,2,3\n\n4,5,6\n\n",
    "spaces kept": "a,b,c\n 1 , 2,3 \n",
    "unicode": "a,b,c\né,😀,\u00a0\n",
    "no final newline": "a,b,c\n1,2,3",
    "one column": "a\n1\n2\n",
}


@pytest.mark.parametrize("name", list(TRICKY))
def test_fast_and_fallback_readers_agree(tmp_path, name, monkeypatch):
    path = write(tmp_path / "t.csv", TRICKY[name])
    fast = read_table(path)
    # the fast reader did read it (it refuses rows whose field count differs)
    assert reading._csv_pyarrow(path, probe_file(path), ",", list(fast.columns),
                                "utf-8") is not None
    monkeypatch.setattr(reading, "_csv_pyarrow", lambda *args, **kwargs: None)
    slow = read_table(path)
    pd.testing.assert_frame_equal(fast, slow)
    assert list(fast.columns) == ["a", "b", "c"][:fast.shape[1]]


def test_tricky_values_exactly(tmp_path):
    frame = read_table(write(tmp_path / "t.csv", TRICKY["quoted newline"]))
    assert frame["b"].tolist() == ["x\ny", "5"]
    frame = read_table(write(tmp_path / "t.csv", TRICKY["doubled quotes"]))
    assert frame["b"].tolist() == ['he said "hi"']


def test_unclosed_quote_is_an_error_not_a_swallowed_file(tmp_path):
    # pyarrow alone would read '"x\n2,3\n4,5\n' as one value of row 2
    path = write(tmp_path / "q.csv", 'a,b\n0,1\n1,"x\n2,3\n4,5\n')
    one_line_error(path, "a quoted value is never closed")
    # a genuine quoted line break in the last row is still read
    path = write(tmp_path / "ok.csv", 'a,b\n0,1\n1,"x\ny"\n')
    assert read_table(path)["b"].tolist() == ["1", "x\ny"]


def test_blank_and_whitespace_lines_before_the_header(tmp_path):
    path = write(tmp_path / "t.csv", "\n   \nid,amount\n007,1\n")
    assert read_table(path).to_dict("list") == {"id": ["007"], "amount": ["1"]}


# --------------------------------------------------------------------------- separator


def test_european_export_semicolon_and_decimal_comma(tmp_path):
    path = write(tmp_path / "eu.csv", "customer;date;amount\n007;01.02.2024;12,50\n"
                                      "008;02.02.2024;1.234,00\n")
    table = read_source(path)
    assert table.frame.to_dict("list") == {"customer": ["007", "008"],
                                           "date": ["01.02.2024", "02.02.2024"],
                                           "amount": ["12,50", "1.234,00"]}
    assert table.decisions == ("separator ';' detected from the header and the first 2 rows "
                               "(3 fields); pass sep= to override",)


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_tab_and_pipe_detected(tmp_path, sep):
    path = write(tmp_path / "t.txt", sep.join(["id", "amount, EUR"]) + "\n"
                 + sep.join(["1", "2,5"]) + "\n" + sep.join(["2", "3"]) + "\n")
    table = read_source(path)
    assert table.frame.to_dict("list") == {"id": ["1", "2"], "amount, EUR": ["2,5", "3"]}
    assert table.decisions[0].startswith(f"separator {sep!r} detected")


def test_comma_is_not_a_decision_and_explicit_sep_is_used_as_given(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,2\n")
    assert read_source(path).decisions == ()
    assert read_source(path).frame.to_dict("list") == {"a": ["1"], "b": ["2"]}
    forced = read_source(path, sep=";")
    assert forced.frame.to_dict("list") == {"a,b": ["1,2"]}
    assert forced.decisions == ()


def test_ambiguous_separator_is_refused(tmp_path):
    path = write(tmp_path / "t.csv", "a;b,c\n1;2,3\n4;5,6\n")
    message = one_line_error(path, "separator is ambiguous")
    assert "sep=" in message and "','" in message and "';'" in message
    assert read_table(path, sep=";").columns.tolist() == ["a", "b,c"]


# --------------------------------------------------------------------------- encoding


ROWS = "customer,date,amount,product\n1,2024-01-01,2.5,café\n2,2024-01-02,3,naïve\n"


@pytest.mark.parametrize("codec, bom, described", [
    ("utf-8", codecs.BOM_UTF8, "encoding utf-8-sig taken from the file's UTF-8 byte-order mark"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "encoding utf-16 taken from the file's UTF-16 "
                                       "little-endian byte-order mark"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "encoding utf-16 taken from the file's UTF-16 "
                                       "big-endian byte-order mark"),
    ("utf-32-le", codecs.BOM_UTF32_LE, "encoding utf-32 taken from the file's UTF-32 "
                                       "little-endian byte-order mark"),
])
def test_byte_order_mark_decides_the_encoding(tmp_path, codec, bom, described, monkeypatch):
    path = write(tmp_path / "bom.csv", bom + ROWS.encode(codec))
    table = read_source(path)
    assert table.frame.columns.tolist() == ["customer", "date", "amount", "product"]
    assert table.frame["product"].tolist() == ["café", "naïve"]
    assert table.decisions == (described,)
    monkeypatch.setattr(reading, "_csv_pyarrow", lambda *args, **kwargs: None)
    pd.testing.assert_frame_equal(read_table(path), table.frame)  # the C reader agrees


def test_undecodable_byte_reports_its_real_offset_and_a_hint(tmp_path):
    # the bad byte sits beyond 2 MB: pandas reports offsets within a chunk, we the file's
    filler = "".join(f"{i},2024-01-01,1.5,plain\n" for i in range(100_000))
    data = ("customer,date,amount,product\n" + filler).encode() + "9,2024-01-02,2,caf\xe9\n" \
        .encode("cp1252")
    assert len(data) > 2_000_000
    path = write(tmp_path / "latin.csv", data)
    offset = data.index(b"\xe9")
    message = one_line_error(path, "encoding=")
    assert f"not valid utf-8 text (byte b'\\xe9' at byte offset {offset})" in message
    assert "it decodes as cp1252: pass encoding='cp1252'" in message
    frame = read_table(path, encoding="cp1252")
    assert frame["product"].iloc[-1] == "café" and len(frame) == 100_001
    assert frame["customer"].iloc[-2] == "99999"


def test_encoding_hint_comes_from_a_window_around_the_error_not_the_whole_file(tmp_path):
    # 0x81 is undefined in cp1252: a whole-file sample would fail cp1252. It sits 3 MB
    # after the first bad byte, outside the bounded sample, so the hint stays cp1252.
    head = "customer,product\n1,caf\xe9\n".encode("cp1252")
    far = b"".join(b"%d,plain\n" % i for i in range(400_000))
    assert len(far) > 3_000_000
    path = write(tmp_path / "mixed.csv", head + far + b"7,\x81\n")
    message = one_line_error(path, "encoding=")
    bad = head.index(b"\xe9")
    assert f"byte offset {bad}" in message
    assert "it decodes as cp1252" in message


def test_undecodable_byte_in_gzip_names_the_decompressed_offset(tmp_path):
    raw = "customer,product\n1,ok\n2,caf\xe9\n".encode("cp1252")
    path = write(tmp_path / "t.csv.gz", gzip.compress(raw))
    message = one_line_error(path, "encoding=")
    bad = raw.index(b"\xe9")
    assert f"byte offset {bad} of the decompressed data" in message


def test_utf16_without_bom_is_named(tmp_path):
    path = write(tmp_path / "u16.csv", ROWS.encode("utf-16-le"))
    message = one_line_error(path, "encoding=")
    assert "byte offset 1" in message and "utf-16-le" in message
    assert read_table(path, encoding="utf-16-le")["product"].tolist() == ["café", "naïve"]


def test_binary_data_named_csv(tmp_path):
    path = write(tmp_path / "img.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "NUL byte b'\\x00' at byte offset 8); it looks like binary data" in \
        one_line_error(path, "encoding=")


def test_byte_order_mark_under_an_explicit_encoding(tmp_path):
    path = write(tmp_path / "u8.csv", codecs.BOM_UTF8 + b"a,b\n1,2\n")
    table = read_source(path, encoding="utf-8")
    assert table.frame.columns.tolist() == ["a", "b"]
    assert table.decisions == ("the UTF-8 byte-order mark at the start of the file was "
                               "removed",)
    path = write(tmp_path / "u16.csv", codecs.BOM_UTF16_LE + "a,b\n1,2\n".encode("utf-16-le"))
    message = one_line_error(path, "encoding=", encoding="utf-8")
    assert "byte offset 0); the file starts with a UTF-16 little-endian byte-order mark: " \
           "pass encoding='utf-16'" in message


def test_explicit_encoding_is_used_as_given(tmp_path):
    path = write(tmp_path / "t.csv", "name,x\nÃ©,1\n".encode())
    # read as latin-1 on purpose: the UTF-8 bytes become two characters each
    assert read_table(path, encoding="latin-1")["name"].tolist() == ["Ã\x83Â©"]
    with pytest.raises(DataValidationError, match="encoding='nope' is not a known"):
        read_source(path, encoding="nope")


# --------------------------------------------------------------------------- compression


def test_gzip_content_in_a_csv_name_is_read_as_gzip(tmp_path):
    path = write(tmp_path / "t.csv", gzip.compress(b"id,amount\n007,1\n"))
    table = read_source(path)
    assert table.frame.to_dict("list") == {"id": ["007"], "amount": ["1"]}
    assert table.decisions == (f"{path} is gzip-compressed (found from its content, not its "
                               "name); decompressed while reading",)
    assert detect_format(path) == "csv" and probe_file(path).compression == "gzip"


@pytest.mark.parametrize("compress, name", [(bz2.compress, "bz2"), (lzma.compress, "xz")])
def test_bz2_and_xz_content(tmp_path, compress, name):
    path = write(tmp_path / "t.csv", compress(b"id,amount\n007,1\n"))
    table = read_source(path)
    assert table.frame.to_dict("list") == {"id": ["007"], "amount": ["1"]}
    assert f"is {name}-compressed" in table.decisions[0]


def test_gz_name_on_plain_text_is_read_as_plain(tmp_path):
    path = write(tmp_path / "t.csv.gz", "id,amount\n1,2\n")
    table = read_source(path)
    assert table.frame.to_dict("list") == {"id": ["1"], "amount": ["2"]}
    assert table.decisions == (f"{path} is named as gzip-compressed but is not compressed; "
                               "read as it is",)


def test_zip_with_one_data_file_is_read_and_named(tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("exports/", "")
        archive.writestr("__MACOSX/exports/._tx.csv", b"\x00\x05")
        archive.writestr("exports/tx.csv", "id;amount\n007;1,5\n")
    table = read_source(path)
    assert table.frame.to_dict("list") == {"id": ["007"], "amount": ["1,5"]}
    assert table.decisions[0] == f"read 'exports/tx.csv', the one data file of the zip " \
                                 f"archive {path}"
    assert table.decisions[1].startswith("separator ';'")


def test_zip_holding_a_parquet_file(tmp_path):
    inner = tmp_path / "tx.parquet"
    pd.DataFrame({"id": [7, 8]}).to_parquet(inner)
    path = tmp_path / "tx.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(inner, "tx.parquet")
    assert detect_format(path) == "parquet"
    assert read_table(path)["id"].tolist() == [7, 8]


def test_zip_holding_a_workbook_and_a_zip_named_csv(tmp_path, workbook):
    path = tmp_path / "book.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(workbook, "book.xlsx")
    table = read_source(path, sheet="Notes")
    assert table.frame.to_dict("list") == {"text": ["see above"]}
    assert table.decisions[0] == f"read 'book.xlsx', the one data file of the zip archive {path}"
    named_csv = write(tmp_path / "x.csv", b"")
    with zipfile.ZipFile(named_csv, "w") as archive:
        archive.writestr("x.csv", "a\n1\n")
    assert read_table(named_csv).to_dict("list") == {"a": ["1"]}


def test_zip_with_several_files_is_an_error(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "x\n1\n")
        archive.writestr("b.csv", "x\n2\n")
    message = one_line_error(path, "zip")
    assert "holding 2 files (a.csv, b.csv)" in message


# --------------------------------------------------------------------------- Excel


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"customer_id": [7, "007", "12345678901234567890"],
                      "amount": [1.5, 2, None]}).to_excel(writer, sheet_name="Sales",
                                                         index=False)
        pd.DataFrame({"customer_id": ["r1"], "amount": [-3.0]}).to_excel(
            writer, sheet_name="Returns", index=False)
        pd.DataFrame({"text": ["see above"]}).to_excel(writer, sheet_name="Notes",
                                                       index=False)
    return path


def test_excel_first_sheet_read_and_named(workbook):
    table = read_source(workbook)
    assert table.decisions == ("sheet 'Sales' of 3 (Sales, Returns, Notes) read; choose "
                               "another with sheet=",)
    ids = table.frame["customer_id"].tolist()
    assert ids == [7, "007", "12345678901234567890"]
    assert [type(v) for v in ids] == [int, str, str]  # numeric 7 and text '007' stay distinct
    assert table.frame["amount"].iloc[:2].tolist() == [1.5, 2]
    assert pd.isna(table.frame["amount"].iloc[2])


@pytest.mark.parametrize("sheet", ["Returns", 1, -2])
def test_excel_sheet_by_name_or_index(workbook, sheet):
    table = read_source(workbook, sheet=sheet)
    assert table.frame.to_dict("list") == {"customer_id": ["r1"], "amount": [-3.0]}
    assert table.decisions[0].startswith("sheet 'Returns' of 3")


@pytest.mark.parametrize("sheet, match", [("Refunds", "no sheet 'Refunds'"),
                                          (5, "sheet=5 is out of range")])
def test_excel_unknown_sheet_lists_the_sheets(workbook, sheet, match):
    message = one_line_error(workbook, match, sheet=sheet)
    assert "'Sales', 'Returns', 'Notes'" in message and "sheet=" in message


def test_excel_single_sheet_and_duplicate_names(tmp_path):
    path = tmp_path / "one.xlsx"
    pd.DataFrame([["a", "b", "a"], [1, 2, 3]]).to_excel(path, header=False, index=False)
    assert "'a' (columns 1, 3)" in one_line_error(path, "duplicate")
    pd.DataFrame({"a": [1]}).to_excel(path, index=False, sheet_name="Data")
    table = read_source(path)
    assert table.decisions == ("sheet 'Data' (the only one) read",)
    assert table.frame.to_dict("list") == {"a": [1]}


def test_sheet_on_a_csv_is_refused(tmp_path):
    path = write(tmp_path / "t.csv", "a\n1\n")
    one_line_error(path, "sheet='Sales' applies to Excel workbooks, but .*t.csv is csv",
                   sheet="Sales")


def test_excel_header_only_has_no_rows(tmp_path):
    path = tmp_path / "empty.xlsx"
    pd.DataFrame(columns=["customer_id", "amount"]).to_excel(path, index=False)
    one_line_error(path, "no rows")


# --------------------------------------------------------------------------- Parquet


def test_parquet_keeps_its_types_including_time_zones(tmp_path):
    path = tmp_path / "t.parquet"
    stamps = pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00"]).tz_localize(
        "Europe/Paris")
    pd.DataFrame({"id": [7, 8], "when": stamps, "amount": [1.5, 2.0]}).to_parquet(path)
    frame = read_table(path)
    assert frame["id"].dtype == np.int64 and frame["amount"].dtype == np.float64
    assert str(frame["when"].dt.tz) == "Europe/Paris"
    assert frame["when"].iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="Europe/Paris")


# --------------------------------------------------------------------------- format checks


def test_excel_named_csv_is_caught(tmp_path, workbook):
    path = write(tmp_path / "sheet.csv", workbook.read_bytes())
    one_line_error(path, "looks like an Excel .xlsx \\(zip\\) file but its name says csv")


def test_parquet_named_csv_and_text_named_parquet(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "real.parquet")
    path = write(tmp_path / "t.csv", (tmp_path / "real.parquet").read_bytes())
    one_line_error(path, "looks like a Parquet file but its name says csv")
    text = write(tmp_path / "t.parquet", "a,b\n1,2\n")
    one_line_error(text, "is named as parquet but is not a Parquet file \\(it starts with "
                         "b'a,b\\\\n'\\)")


def test_corrupt_parquet_is_one_line(tmp_path):
    path = write(tmp_path / "bad.parquet", b"PAR1garbage-garbage")
    one_line_error(path, "could not be read as parquet")


def test_format_from_name():
    assert format_from_name("s3a://bucket/x.PARQUET") == "parquet"
    assert format_from_name("x.xlsx") == "excel"
    assert format_from_name("x.tsv.bz2") == "csv"


# --------------------------------------------------------------------------- paths


def test_missing_file_and_directory(tmp_path):
    assert one_line_error(tmp_path / "nope.csv", "file not found") == \
        f"file not found: {tmp_path / 'nope.csv'}"
    assert one_line_error(tmp_path, "directory") == f"{tmp_path} is a directory, not a data file"


def test_fifo_is_not_read(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    with no_hang():
        message = one_line_error(path, "not a regular file")
    assert message.startswith(f"{path} is not a regular file (a FIFO (named pipe))")
    assert "empty" not in message


def test_character_device_is_not_read():
    with no_hang():
        message = one_line_error("/dev/zero", "not a regular file")
    assert "a character device" in message and "0 bytes" not in message


def test_socket_is_not_read():
    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # AF_UNIX paths must be short
    path = folder / "s.csv"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        with no_hang():
            message = one_line_error(path, "not a regular file")
        assert "a socket" in message
    finally:
        server.close()
        path.unlink()
        folder.rmdir()


def test_symlink_loop_and_broken_link(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    message = one_line_error(tmp_path / "a.csv", "symbolic link loop")
    assert str(tmp_path / "a.csv") in message
    (tmp_path / "c.csv").symlink_to(tmp_path / "gone.csv")
    one_line_error(tmp_path / "c.csv", "file not found: .*c.csv is a symbolic link to "
                                       ".*gone.csv, which does not exist")


def test_permission_denied(tmp_path, monkeypatch):
    path = write(tmp_path / "secret.csv", "a\n1\n")
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: simulate the refusal the OS gives other users
        def refuse(file, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(reading, "open", refuse, raising=False)
    assert one_line_error(path, "permission denied") == \
        f"permission denied: {path} cannot be read by this user; fix its permissions or " \
        "copy it somewhere readable"


def test_empty_file_header_only_and_blank_lines(tmp_path):
    assert one_line_error(write(tmp_path / "e.csv", b""), "empty") == \
        f"{tmp_path / 'e.csv'} is empty (0 bytes): nothing to load"
    one_line_error(write(tmp_path / "h.csv", "customer_id,date,amount\n"), "no rows")
    one_line_error(write(tmp_path / "b.csv", "\n\n\n"), "no header row")


def test_truncated_gzip_is_one_line(tmp_path):
    full = gzip.compress("".join(f"{i},2024-01-01,1.0\n" for i in range(5000)).encode())
    path = write(tmp_path / "cut.csv.gz", full[:200])
    one_line_error(path, "could not be read")


# --------------------------------------------------------------------------- never modified


def test_input_files_are_never_modified(tmp_path, workbook):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "t.parquet")
    files = [write(tmp_path / "t.csv", "a;b\n1;2\n"),
             write(tmp_path / "t.csv.gz", gzip.compress(b"a,b\n1,2\n")),
             tmp_path / "t.parquet", workbook]
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as archive:
        archive.writestr("t.csv", "a,b\n1,2\n")
    files.append(tmp_path / "t.zip")
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns,
                  p.stat().st_size) for p in files}
    for path in files:
        read_source(path)
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns,
                 p.stat().st_size) for p in files}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["book.xlsx", "t.csv", "t.csv.gz", "t.parquet", "t.zip"])


@pytest.mark.parametrize("member", ["tx.csv.gz", "tx.csv"])
def test_a_gzip_file_inside_a_zip_is_decompressed(tmp_path, member):
    text = b"customer_id,date,amount\n007,2024-01-05,3.5\n7,2024-01-06,4\n"
    path = tmp_path / "tx.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, gzip.compress(text))
    table = read_source(path)
    assert table.frame["customer_id"].tolist() == ["007", "7"]
    assert any("gzip-compressed; decompressed" in d for d in table.decisions)
