"""A corpus of hostile transaction files, built in a temporary folder at test time.

Each :class:`Case` builds one input (CSV bytes in many encodings and layouts, Excel
through openpyxl, Parquet through pyarrow, zip/gzip archives, a FIFO, a directory, a
symlink loop) from small Python literals and states what the second-edition loader
(``loader-api.md``) must do with it:

``kind="loads"``
    ``rows`` are the exact kept transactions ``(customer_id, date, amount)``, ``returns``
    the separated ones, ``log`` the rows per log reason (every reason, exactly),
    ``decisions`` groups of key words: for each group, one sentence of
    ``LoadResult.decisions`` contains all of its words (case-insensitive; ``"a|b"``
    accepts either spelling). ``total`` is the independent total of the readable,
    finite amounts of the input (default: kept + returns), for the reconciliation.
``kind="error"``
    ``error`` are key words of the ``DataValidationError`` message (case-sensitive,
    as the error contract states; ``"a|b"`` accepts either).

``plain=True`` marks a CSV/Parquet file with the canonical columns, ISO dates and plain
numbers that the SQL engines read without options (used by the engines agreement test).
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

RETURN = "return / cancellation"
IMPLAUSIBLE = "future or implausible date"
NON_FINITE = "non-finite amount"
UNPARSABLE = "unparsable amount"

Row = tuple[str, str, float]


@dataclass(frozen=True)
class Case:
    """One hostile input and what the loader must make of it."""

    id: str
    build: Callable[[Path], Path]
    kind: str  # "loads" | "error"
    options: dict = field(default_factory=dict)
    rows: tuple[Row, ...] = ()
    returns: tuple[Row, ...] = ()
    log: dict[str, int] = field(default_factory=dict)
    decisions: tuple[tuple[str, ...], ...] = ()
    error: tuple[str, ...] = ()
    total: float | None = None
    examples: dict[str, str] = field(default_factory=dict)  # log reason -> raw text shown
    plain: bool = False
    special: str = ""  # "fifo" (must not hang), "nofile" (no bytes to hash)

    def readable_total(self) -> float:
        if self.total is not None:
            return self.total
        return sum(r[2] for r in self.rows) + sum(r[2] for r in self.returns)


# --------------------------------------------------------------------------- builders


def raw(data: bytes, name: str = "tx.csv") -> Callable[[Path], Path]:
    """Write ``data`` as is."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return build


def text(body: str, *, name: str = "tx.csv", encoding: str = "utf-8",
         bom: bytes = b"") -> Callable[[Path], Path]:
    """CSV text in an encoding, optionally after a byte-order mark."""
    return raw(bom + body.encode(encoding), name)


def xlsx(sheets: dict[str, list[list]], name: str = "tx.xlsx") -> Callable[[Path], Path]:
    """A workbook, one sheet per key, rows of Python cell values (header first)."""

    def build(folder: Path) -> Path:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for title, rows in sheets.items():
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(row)
        path = folder / name
        book.save(path)
        return path

    return build


def xlsx_hidden(sheets: dict[str, list[list]], hidden: tuple[str, ...],
                name: str = "tx.xlsx") -> Callable[[Path], Path]:
    """A workbook like :func:`xlsx` whose ``hidden`` sheets are hidden in Excel."""

    def build(folder: Path) -> Path:
        from openpyxl import load_workbook

        path = xlsx(sheets, name)(folder)
        book = load_workbook(path)
        for title in hidden:
            book[title].sheet_state = "hidden"
        book.save(path)
        return path

    return build


def parquet(columns: dict[str, object], name: str = "tx.parquet") -> Callable[[Path], Path]:
    """A Parquet file of a DataFrame built from ``columns``."""

    def build(folder: Path) -> Path:
        path = folder / name
        pd.DataFrame(columns).to_parquet(path, index=False)
        return path

    return build


def zipped(members: dict[str, bytes], name: str = "tx.zip") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(member, data)
        return path

    return build


def gzipped(data: bytes, name: str) -> Callable[[Path], Path]:
    return raw(gzip.compress(data, mtime=0), name)


def fifo(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


def directory(folder: Path) -> Path:
    path = folder / "folder.csv"
    path.mkdir()
    (path / "inside.csv").write_text("customer_id,date,amount\nA,2024-01-05,1.0\n")
    return path


def symlink_loop(folder: Path) -> Path:
    first, second = folder / "first.csv", folder / "second.csv"
    first.symlink_to(second)
    second.symlink_to(first)
    return first


def xlsx_named_csv(folder: Path) -> Path:
    path = xlsx({"Sheet1": [["customer_id", "date", "amount"],
                            ["A", datetime(2024, 1, 5), 10.0]]}, "book.xlsx")(folder)
    target = folder / "looks_like.csv"
    target.write_bytes(path.read_bytes())
    path.unlink()
    return target


# --------------------------------------------------------------------------- data

HEAD = "customer_id,date,amount\n"
SEMI = "customer_id;date;amount\n"
RETAIL_HEAD = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
RETAIL = {"preset": "online_retail"}


def _cp1252_big() -> tuple[bytes, int]:
    """> 64 KiB of ASCII rows, then a cp1252 byte: (file bytes, offset of that byte)."""
    body = HEAD + "".join(f"C{i:05d},2024-01-05,1.00\n" for i in range(4000))
    prefix = body.encode("ascii") + b"Caf"
    return prefix + b"\xe9,2024-01-06,2.00\n", len(prefix)


CP1252_BYTES, CP1252_OFFSET = _cp1252_big()
assert CP1252_OFFSET > 65536

PLAIN_BODY = HEAD + "A,2024-01-05,12.50\nB,2024-01-06,3.75\nC,2024-02-01,100.00\n"
PLAIN_ROWS = (("A", "2024-01-05", 12.5), ("B", "2024-01-06", 3.75), ("C", "2024-02-01", 100.0))
PLAIN_LOG = {"kept": 3}


def _wb(rows: list[list]) -> dict[str, list[list]]:
    return {"Sheet1": [["customer_id", "date", "amount"], *rows]}


CASES: list[Case] = [
    # ------------------------------------------------------------------ numbers
    Case("decimal_comma_quoted",
         text(HEAD + 'A,2024-01-05,"12,50"\nB,2024-01-06,"3,75"\nC,2024-01-07,"-2,25"\n'),
         "loads", rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-06", 3.75)),
         returns=(("C", "2024-01-07", -2.25),), log={"kept": 2, RETURN: 1},
         decisions=(("amount", "decimal"),)),
    Case("dot_thousands_comma_decimal",
         text(SEMI + "A;2024-01-05;1.234,50\nB;2024-01-06;12,00\n"),
         "loads", rows=(("A", "2024-01-05", 1234.5), ("B", "2024-01-06", 12.0)),
         log={"kept": 2}, decisions=(("amount", "decimal"), ("sep", ";"))),
    Case("nbsp_thousands_comma_decimal",
         text(SEMI + "A;2024-01-05;1\u00a0234,50\nB;2024-01-06;7,10\n"),
         "loads", rows=(("A", "2024-01-05", 1234.5), ("B", "2024-01-06", 7.1)),
         log={"kept": 2}, decisions=(("amount", "decimal"),)),
    Case("narrow_nbsp_thousands_comma_decimal",
         text(SEMI + "A;2024-01-05;1\u202f234,50\nB;2024-01-06;12\u202f000,00\n"),
         "loads", rows=(("A", "2024-01-05", 1234.5), ("B", "2024-01-06", 12000.0)),
         log={"kept": 2}, decisions=(("amount", "decimal"),)),
    Case("comma_thousands_dot_decimal",
         text(HEAD + 'A,2024-01-05,"1,234.50"\nB,2024-01-06,12.00\n'),
         "loads", rows=(("A", "2024-01-05", 1234.5), ("B", "2024-01-06", 12.0)),
         log={"kept": 2}, decisions=(("amount", "decimal|thousands"),)),
    Case("swiss_apostrophe_thousands",
         text(HEAD + "A,2024-01-05,1'234.50\nB,2024-01-06,99.95\n"),
         "loads", rows=(("A", "2024-01-05", 1234.5), ("B", "2024-01-06", 99.95)),
         log={"kept": 2}, decisions=(("amount", "decimal|thousands"),)),
    Case("several_comma_groups_are_thousands",
         text(HEAD + 'A,2024-01-05,"1,234,567"\nB,2024-01-06,"2,500"\n'),
         "loads", rows=(("A", "2024-01-05", 1234567.0), ("B", "2024-01-06", 2500.0)),
         log={"kept": 2}, decisions=(("amount", "decimal|thousands"),)),
    Case("several_dot_groups_are_thousands",
         text(SEMI + "A;2024-01-05;1.234.567\nB;2024-01-06;2.500\n"),
         "loads", rows=(("A", "2024-01-05", 1234567.0), ("B", "2024-01-06", 2500.0)),
         log={"kept": 2}, decisions=(("amount", "decimal|thousands"),)),
    Case("ambiguous_comma_group_only",
         text(HEAD + 'A,2024-01-05,"1,234"\nB,2024-01-06,"2,500"\n'),
         "error", error=("decimal=", "'amount'", "1,234|2,500")),
    Case("ambiguous_three_decimals_dot_only",
         text(HEAD + "A,2024-01-05,1.234\nB,2024-01-06,5.678\n"),
         "error", error=("decimal=", "'amount'", "1.234|5.678")),
    Case("explicit_decimal_comma_resolves",
         text(HEAD + 'A,2024-01-05,"1,234"\nB,2024-01-06,"2,500"\n'),
         "loads", options={"decimal": ","},
         rows=(("A", "2024-01-05", 1.234), ("B", "2024-01-06", 2.5)), log={"kept": 2}),
    Case("explicit_thousands_comma_resolves",
         text(HEAD + 'A,2024-01-05,"1,234"\nB,2024-01-06,"2,500"\n'),
         "loads", options={"decimal": ".", "thousands": ","},
         rows=(("A", "2024-01-05", 1234.0), ("B", "2024-01-06", 2500.0)), log={"kept": 2}),
    Case("explicit_decimal_point_resolves",
         text(HEAD + "A,2024-01-05,1.234\nB,2024-01-06,5.678\n"),
         "loads", options={"decimal": "."},
         rows=(("A", "2024-01-05", 1.234), ("B", "2024-01-06", 5.678)), log={"kept": 2}),
    Case("currency_pound_prefix",
         text(HEAD + "A,2024-01-05,£12.50\nB,2024-01-06,£3.00\n"),
         "loads", rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-06", 3.0)),
         log={"kept": 2}, decisions=(("£",),)),
    Case("currency_euro_suffix_decimal_comma",
         text(SEMI + "A;2024-01-05;12,50 €\nB;2024-01-06;1.000,00 €\n"),
         "loads", rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-06", 1000.0)),
         log={"kept": 2}, decisions=(("€",),)),
    Case("currency_code_eur",
         text(HEAD + "A,2024-01-05,EUR 12.50\nB,2024-01-06,EUR 7.25\n"),
         "loads", rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-06", 7.25)),
         log={"kept": 2}, decisions=(("EUR",),)),
    Case("currency_mixed_pound_dollar",
         text(HEAD + "A,2024-01-05,£12.50\nB,2024-01-06,$3.00\n"),
         "error", error=("currency", "'amount'", "£12.50", "$3.00")),
    Case("online_retail_decimal_comma",
         text("InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country\n"
              "536365;85123A;WHITE HANGING HEART;6;01.12.2010 08:26;2,55;17850;United Kingdom\n"
              "536366;22633;HAND WARMER;12;13.12.2010 09:00;1,85;17850;United Kingdom\n"
              "C536379;D;Discount;-1;14.12.2010 09:41;27,50;14527;United Kingdom\n"
              "536367;84879;ASSORTED BIRDS;32;15.12.2010 10:00;1.234,50;13047;France\n"),
         "loads", options=RETAIL,
         rows=(("17850", "2010-12-01 08:26", 15.3), ("17850", "2010-12-13 09:00", 22.2),
               ("13047", "2010-12-15 10:00", 39504.0)),
         returns=(("14527", "2010-12-14 09:41", -27.5),), log={"kept": 3, RETURN: 1},
         decisions=(("sep", ";"), ("decimal",), ("dayfirst|day-first|day first|%d.%m",))),
    Case("online_retail_original_layout",
         text(RETAIL_HEAD
              + "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
              + "536366,22633,HAND WARMER,12,12/13/2010 9:00,1.85,17850,United Kingdom\n"
              + "C536379,D,Discount,-1,12/14/2010 9:41,27.50,14527,United Kingdom\n"
              + "A563185,B,Adjust bad debt,1,8/12/2011 14:50,11062.06,12346,United Kingdom\n"
              + "536367,84879,ASSORTED BIRDS,32,12/15/2010 10:00,1.69,13047,France\n"
              + "536368,22086,PAPER CHAIN KIT,1,12/15/2010 11:00,2.00,,United Kingdom\n"),
         "loads", options=RETAIL,
         rows=(("17850", "2010-12-01 08:26", 15.3), ("17850", "2010-12-13 09:00", 22.2),
               ("13047", "2010-12-15 10:00", 54.08)),
         returns=(("14527", "2010-12-14 09:41", -27.5),),
         log={"missing customer id": 1, "excluded order": 1, "kept": 3, RETURN: 1},
         total=15.3 + 22.2 - 27.5 + 11062.06 + 54.08 + 2.00,
         decisions=(("month-first|month first|dayfirst=False|%m/%d",),)),
    Case("online_retail_overflow_quantity_times_price",
         text(RETAIL_HEAD
              + "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26,2.55,17850,UK\n"
              + "536366,22633,HAND WARMER,1e308,2010-12-01 08:28,1e308,17851,UK\n"),
         "loads", options=RETAIL, rows=(("17850", "2010-12-01 08:26", 15.3),),
         log={"kept": 1, NON_FINITE: 1}),
    Case("non_finite_amounts",
         text(HEAD + "A,2024-01-05,10.00\nB,2024-01-06,inf\nC,2024-01-07,-inf\n"
              "D,2024-01-08,1e309\n"),
         "loads", rows=(("A", "2024-01-05", 10.0),), log={"kept": 1, NON_FINITE: 3}),
    Case("unparsable_amount_among_numbers",
         text(HEAD + "A,2024-01-05,10.00\nB,2024-01-06,abc\nC,2024-01-07,5.00\n"),
         "loads", rows=(("A", "2024-01-05", 10.0), ("C", "2024-01-07", 5.0)),
         log={"kept": 2, UNPARSABLE: 1}, examples={UNPARSABLE: "abc"}),
    # ------------------------------------------------------------------ dates
    Case("dayfirst_slash_with_day_over_12",
         text(HEAD + "A,05/01/2024,1.00\nB,13/01/2024,2.00\nC,02/03/2024,3.00\n"
              "D,11/12/2024,4.00\n"),
         "loads", rows=(("A", "2024-01-05", 1.0), ("B", "2024-01-13", 2.0),
                        ("C", "2024-03-02", 3.0), ("D", "2024-12-11", 4.0)),
         log={"kept": 4}, decisions=(("date", "dayfirst|day-first|day first|%d/%m"),)),
    Case("monthfirst_slash_with_day_over_12",
         text(HEAD + "A,01/05/2024,1.00\nB,01/13/2024,2.00\nC,03/02/2024,3.00\n"),
         "loads", rows=(("A", "2024-01-05", 1.0), ("B", "2024-01-13", 2.0),
                        ("C", "2024-03-02", 3.0)),
         log={"kept": 3},
         decisions=(("date", "month-first|month first|dayfirst=False|%m/%d"),)),
    Case("dayfirst_with_times",
         text(HEAD + "A,05/01/2024 14:30,1.00\nB,13/01/2024 09:05,2.00\n"), "loads",
         rows=(("A", "2024-01-05 14:30", 1.0), ("B", "2024-01-13 09:05", 2.0)),
         log={"kept": 2}, decisions=(("date", "dayfirst|day-first|day first|%d/%m"),)),
    Case("all_ambiguous_day_month",
         text(HEAD + "A,01/02/2024,1.00\nB,03/04/2024,2.00\n"),
         "error", error=("dayfirst=", "date_format=", "'date'", "01/02/2024|03/04/2024")),
    Case("all_ambiguous_dayfirst_true",
         text(HEAD + "A,01/02/2024,1.00\nB,03/04/2024,2.00\n"), "loads",
         options={"dayfirst": True},
         rows=(("A", "2024-02-01", 1.0), ("B", "2024-04-03", 2.0)), log={"kept": 2}),
    Case("all_ambiguous_dayfirst_false",
         text(HEAD + "A,01/02/2024,1.00\nB,03/04/2024,2.00\n"), "loads",
         options={"dayfirst": False},
         rows=(("A", "2024-01-02", 1.0), ("B", "2024-03-04", 2.0)), log={"kept": 2}),
    Case("all_ambiguous_date_format",
         text(HEAD + "A,01/02/2024,1.00\nB,03/04/2024,2.00\n"), "loads",
         options={"date_format": "%d/%m/%Y"},
         rows=(("A", "2024-02-01", 1.0), ("B", "2024-04-03", 2.0)), log={"kept": 2}),
    Case("genuinely_mixed_day_month",
         text(HEAD + "A,13/02/2024,1.00\nB,02/13/2024,2.00\nC,01/01/2024,3.00\n"),
         "error", error=("mixed", "'date'", "13/02/2024", "02/13/2024")),
    Case("iso_stays_iso_with_dayfirst",
         text(HEAD + "A,2024-01-02,1.00\nB,2024-03-04,2.00\n"), "loads",
         options={"dayfirst": True},
         rows=(("A", "2024-01-02", 1.0), ("B", "2024-03-04", 2.0)), log={"kept": 2}),
    Case("european_dots_day_over_12",
         text(HEAD + "A,06.01.2024,1.00\nB,13.01.2024,2.00\n"), "loads",
         rows=(("A", "2024-01-06", 1.0), ("B", "2024-01-13", 2.0)), log={"kept": 2},
         decisions=(("date", "dayfirst|day-first|day first|%d.%m"),)),
    Case("integer_dates_without_unit",
         text(HEAD + "A,45292,1.00\nB,45293,2.00\n"),
         "error", error=("date_unit=", "'date'", "45292|45293")),
    Case("excel_serial_days_unit_D",
         text(HEAD + "A,45292,1.00\nB,45293,2.00\n"), "loads", options={"date_unit": "D"},
         rows=(("A", "2024-01-01", 1.0), ("B", "2024-01-02", 2.0)), log={"kept": 2}),
    Case("unix_seconds_unit_s",
         text(HEAD + "A,1704067200,1.00\nB,1704157200,2.00\n"), "loads",
         options={"date_unit": "s"},
         rows=(("A", "2024-01-01", 1.0), ("B", "2024-01-02 01:00", 2.0)), log={"kept": 2}),
    Case("unix_milliseconds_unit_ms",
         text(HEAD + "A,1704067200000,1.00\nB,1704157200500,2.00\n"), "loads",
         options={"date_unit": "ms"},
         rows=(("A", "2024-01-01", 1.0), ("B", "2024-01-02 01:00:00.5", 2.0)),
         log={"kept": 2}),
    Case("utc_z_suffix",
         text(HEAD + "A,2024-03-10T10:00:00Z,1.00\nB,2024-03-11T23:30:00Z,2.00\n"), "loads",
         rows=(("A", "2024-03-10 10:00", 1.0), ("B", "2024-03-11 23:30", 2.0)),
         log={"kept": 2}, decisions=(("UTC",),)),
    Case("plus_one_hour_offset",
         text(HEAD + "A,2024-03-10T10:00:00+01:00,1.00\nB,2024-03-11T00:30:00+01:00,2.00\n"),
         "loads", rows=(("A", "2024-03-10 09:00", 1.0), ("B", "2024-03-10 23:30", 2.0)),
         log={"kept": 2}, decisions=(("UTC",),)),
    Case("mixed_dst_offsets",
         text(HEAD + "A,2024-03-30T12:00:00+01:00,1.00\nB,2024-04-02T12:00:00+02:00,2.00\n"
              "C,2024-10-28T00:30:00+01:00,3.00\n"),
         "loads", rows=(("A", "2024-03-30 11:00", 1.0), ("B", "2024-04-02 10:00", 2.0),
                        ("C", "2024-10-27 23:30", 3.0)),
         log={"kept": 3}, decisions=(("UTC",),)),
    Case("timezone_berlin_moves_to_next_day",
         text(HEAD + "A,2024-03-10T23:30:00Z,1.00\nB,2024-07-01T12:00:00Z,2.00\n"), "loads",
         options={"timezone": "Europe/Berlin"},
         rows=(("A", "2024-03-11 00:30", 1.0), ("B", "2024-07-01 14:00", 2.0)),
         log={"kept": 2}, decisions=(("Europe/Berlin",),)),
    Case("parquet_tz_aware_timestamps",
         parquet({"customer_id": ["A", "B"],
                  "date": pd.to_datetime(["2024-01-10 20:00", "2024-07-01 09:00"])
                  .tz_localize("America/New_York"),
                  "amount": [10.0, 20.0]}),
         "loads", rows=(("A", "2024-01-11 01:00", 10.0), ("B", "2024-07-01 13:00", 20.0)),
         log={"kept": 2}, decisions=(("UTC",),), plain=True),
    Case("dates_out_of_ns_range",
         text(HEAD + "A,2024-01-05,10.00\nB,2300-01-01,5.00\nC,0001-01-01,7.00\n"), "loads",
         rows=(("A", "2024-01-05", 10.0),), log={"kept": 1, IMPLAUSIBLE: 2}, total=22.0),
    Case("future_dates",
         text(HEAD + "A,2024-01-05,10.00\nB,2099-06-01,4.00\n"), "loads",
         options={"as_of": "2025-01-01"},
         rows=(("A", "2024-01-05", 10.0),), log={"kept": 1, IMPLAUSIBLE: 1}, total=14.0),
    # ------------------------------------------------------------------ ids
    Case("ids_007_vs_7",
         text(HEAD + "007,2024-01-05,1.00\n7,2024-01-06,2.00\n"), "loads",
         rows=(("007", "2024-01-05", 1.0), ("7", "2024-01-06", 2.0)), log={"kept": 2},
         plain=True),
    Case("ids_1E3_vs_1000",
         text(HEAD + "1E3,2024-01-05,1.00\n1000,2024-01-06,2.00\n"), "loads",
         rows=(("1E3", "2024-01-05", 1.0), ("1000", "2024-01-06", 2.0)), log={"kept": 2},
         plain=True),
    Case("ids_twenty_digits",
         text(HEAD + "12345678901234567890,2024-01-05,1.00\n"
              "12345678901234567891,2024-01-06,2.00\n"), "loads",
         rows=(("12345678901234567890", "2024-01-05", 1.0),
               ("12345678901234567891", "2024-01-06", 2.0)), log={"kept": 2}, plain=True),
    Case("ids_leading_zeros_kept",
         text(HEAD + "0042,2024-01-05,1.00\n0042,2024-01-06,2.00\n42,2024-01-07,3.00\n"),
         "loads", rows=(("0042", "2024-01-05", 1.0), ("0042", "2024-01-06", 2.0),
                        ("42", "2024-01-07", 3.0)), log={"kept": 3}, plain=True),
    Case("ids_text_na_and_null_are_ids",
         text(HEAD + "NA,2024-01-05,1.00\nnull,2024-01-06,2.00\n"), "loads",
         rows=(("NA", "2024-01-05", 1.0), ("null", "2024-01-06", 2.0)), log={"kept": 2},
         plain=True),
    Case("ids_surrounding_spaces_normalised",
         text(HEAD + '" A1 ",2024-01-05,1.00\nA1,2024-01-06,2.00\n"B2\t",2024-01-07,3.00\n'),
         "loads", rows=(("A1", "2024-01-05", 1.0), ("A1", "2024-01-06", 2.0),
                        ("B2", "2024-01-07", 3.0)),
         log={"kept": 3}, decisions=(("id", "2"),), plain=True),
    Case("ids_nfd_accents_normalised",
         text(HEAD + "Jose\u0301,2024-01-05,1.00\nJos\u00e9,2024-01-06,2.00\n"), "loads",
         rows=(("Jos\u00e9", "2024-01-05", 1.0), ("Jos\u00e9", "2024-01-06", 2.0)),
         log={"kept": 2}, decisions=(("id", "1"),), plain=True),
    Case("excel_number_7_vs_text_007",
         xlsx(_wb([[7, datetime(2024, 1, 5), 1.0], ["007", datetime(2024, 1, 6), 2.0],
                   [12345678901234, datetime(2024, 1, 7), 3.0]])), "loads",
         rows=(("7", "2024-01-05", 1.0), ("007", "2024-01-06", 2.0),
               ("12345678901234", "2024-01-07", 3.0)), log={"kept": 3}),
    Case("parquet_integer_ids",
         parquet({"customer_id": [7, 42, 12345678901234567],
                  "date": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07"]),
                  "amount": [1.0, 2.0, 3.0]}), "loads",
         rows=(("7", "2024-01-05", 1.0), ("42", "2024-01-06", 2.0),
               ("12345678901234567", "2024-01-07", 3.0)), log={"kept": 3}, plain=True),
    Case("parquet_float_integral_ids",
         parquet({"customer_id": [7.0, 12345.0],
                  "date": pd.to_datetime(["2024-01-05", "2024-01-06"]),
                  "amount": [1.0, 2.0]}), "loads",
         rows=(("7", "2024-01-05", 1.0), ("12345", "2024-01-06", 2.0)), log={"kept": 2},
         plain=True),
    Case("parquet_text_ids_leading_zeros",
         parquet({"customer_id": ["007", "7", "0042"],
                  "date": pd.to_datetime(["2024-01-05", "2024-01-06", "2024-01-07"]),
                  "amount": [1.0, 2.0, 3.0]}), "loads",
         rows=(("007", "2024-01-05", 1.0), ("7", "2024-01-06", 2.0),
               ("0042", "2024-01-07", 3.0)), log={"kept": 3}, plain=True),
    Case("blank_id_and_empty_amount_are_missing",
         text(HEAD + 'A,2024-01-05,10.00\n"  ",2024-01-06,4.00\nB,2024-01-07,\n'),
         "loads", rows=(("A", "2024-01-05", 10.0),),
         log={"kept": 1, "missing customer id": 1, "missing amount": 1}, total=14.0),
    Case("excel_text_twenty_digit_ids",
         xlsx(_wb([["12345678901234567890", datetime(2024, 1, 5), 1.0],
                   ["12345678901234567891", datetime(2024, 1, 6), 2.0]])), "loads",
         rows=(("12345678901234567890", "2024-01-05", 1.0),
               ("12345678901234567891", "2024-01-06", 2.0)), log={"kept": 2}),
    Case("all_ids_missing",
         text(HEAD + ",2024-01-05,1.00\n,2024-01-06,2.00\n"),
         "error", error=("'customer_id'",)),
    # ------------------------------------------------------------------ structure
    Case("plain_csv", text(PLAIN_BODY), "loads", rows=PLAIN_ROWS, log=PLAIN_LOG, plain=True),
    Case("crlf_line_endings", text(PLAIN_BODY.replace("\n", "\r\n")), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, plain=True),
    Case("header_shorter_than_rows",
         text(HEAD + "A,2024-01-05,12.50,x\nB,2024-01-06,3.00,y\n"),
         "error", error=("header", "3", "4")),
    Case("trailing_comma_every_row",
         text("customer_id,date,amount,\nA,2024-01-05,12.50,\nB,2024-01-06,3.75,\n"), "loads",
         rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-06", 3.75)), log={"kept": 2},
         decisions=(("trailing|empty|unnamed",),)),
    Case("duplicated_column_names",
         text("customer_id,date,amount,amount\nA,2024-01-05,1.00,2.00\n"),
         "error", error=("duplicate", "amount")),
    # no order id and no time of day: three equal rows may be three purchases; they are
    # kept, and the decision says so and names the option that drops them
    Case("every_row_duplicate",
         text(HEAD + "A,2024-01-05,10.00\n" * 3), "loads",
         rows=(("A", "2024-01-05", 10.0),) * 3, log={"kept": 3}, total=30.0,
         decisions=(("2 rows repeat", "kept", "duplicates='drop'"),)),
    # a time of day tells a repeated record apart: the repeats are dropped and logged
    Case("every_row_duplicate_with_time",
         text(HEAD + "A,2024-01-05 10:15,10.00\n" * 3), "loads",
         rows=(("A", "2024-01-05 10:15", 10.0),), log={"kept": 1, "exact duplicate": 2},
         total=30.0, decisions=(("2 rows repeat", "dropped", "duplicates='keep'"),)),
    Case("semicolon_european_export",
         text(SEMI + "A;05.01.2024;12,50\nB;13.01.2024;1.234,00\nC;20.02.2024;-3,00\n"),
         "loads", rows=(("A", "2024-01-05", 12.5), ("B", "2024-01-13", 1234.0)),
         returns=(("C", "2024-02-20", -3.0),), log={"kept": 2, RETURN: 1},
         decisions=(("sep", ";"), ("amount", "decimal"),
                    ("date", "dayfirst|day-first|day first|%d.%m"))),
    Case("tab_separated",
         text(PLAIN_BODY.replace(",", "\t")), "loads", rows=PLAIN_ROWS, log=PLAIN_LOG,
         decisions=(("sep", "tab|\\t"),), plain=True),
    Case("pipe_separated",
         text(PLAIN_BODY.replace(",", "|")), "loads", rows=PLAIN_ROWS, log=PLAIN_LOG,
         plain=True),
    Case("multi_sheet_first_read",
         xlsx({"Sales": [["customer_id", "date", "amount"], ["A", datetime(2024, 1, 5), 10.0],
                         ["B", datetime(2024, 1, 6), 20.0]],
               "Returns": [["customer_id", "date", "amount"],
                           ["R", datetime(2024, 2, 1), 5.0]]}),
         "loads", rows=(("A", "2024-01-05", 10.0), ("B", "2024-01-06", 20.0)),
         log={"kept": 2}, decisions=(("sheet=", "Sales"),)),
    Case("multi_sheet_by_name",
         xlsx({"Sales": [["customer_id", "date", "amount"], ["A", datetime(2024, 1, 5), 10.0]],
               "Returns": [["customer_id", "date", "amount"],
                           ["R", datetime(2024, 2, 1), 5.0]]}),
         "loads", options={"sheet": "Returns"}, rows=(("R", "2024-02-01", 5.0),),
         log={"kept": 1}),
    Case("multi_sheet_by_index",
         xlsx({"Sales": [["customer_id", "date", "amount"], ["A", datetime(2024, 1, 5), 10.0]],
               "Returns": [["customer_id", "date", "amount"],
                           ["R", datetime(2024, 2, 1), 5.0]]}),
         "loads", options={"sheet": 1}, rows=(("R", "2024-02-01", 5.0),), log={"kept": 1}),
    Case("excel_text_dates_dayfirst",
         xlsx(_wb([["A", "05/01/2024", 1.0], ["B", "13/01/2024", 2.0]])), "loads",
         rows=(("A", "2024-01-05", 1.0), ("B", "2024-01-13", 2.0)), log={"kept": 2}),
    Case("xlsx_bytes_named_csv", xlsx_named_csv, "error", error=("Excel", "looks_like.csv")),
    Case("zip_single_csv", zipped({"tx.csv": PLAIN_BODY.encode()}), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, decisions=(("zip|tx.csv",),)),
    Case("zip_two_files", zipped({"a.csv": PLAIN_BODY.encode(), "b.csv": PLAIN_BODY.encode()}),
         "error", error=("zip", "a.csv", "b.csv")),
    Case("gzip_content_named_csv", gzipped(PLAIN_BODY.encode(), "tx.csv"), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, decisions=(("gzip",),), plain=True),
    Case("csv_gz", gzipped(PLAIN_BODY.encode(), "tx.csv.gz"), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, plain=True),
    # ------------------------------------------------------------------ encodings
    Case("utf16_le_bom", text(PLAIN_BODY, encoding="utf-16"), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, decisions=(("utf-16|utf16",),), plain=True),
    Case("utf16_be_bom", text(PLAIN_BODY, encoding="utf-16-be", bom=b"\xfe\xff"), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, decisions=(("utf-16|utf16",),), plain=True),
    Case("utf8_bom", text(PLAIN_BODY, bom=b"\xef\xbb\xbf"), "loads",
         rows=PLAIN_ROWS, log=PLAIN_LOG, plain=True),
    Case("cp1252_without_encoding_offset_beyond_64k", raw(CP1252_BYTES),
         "error", error=("encoding=", f"byte offset {CP1252_OFFSET}|position {CP1252_OFFSET}")),
    Case("cp1252_with_encoding",
         text(HEAD + "Caf\u00e9,2024-01-05,1.00\nM\u00fcller,2024-01-06,2.00\n",
              encoding="cp1252"), "loads", options={"encoding": "cp1252"},
         rows=(("Caf\u00e9", "2024-01-05", 1.0), ("M\u00fcller", "2024-01-06", 2.0)),
         log={"kept": 2}),
    # ------------------------------------------------------------------ not data
    Case("empty_file", raw(b"", "empty.csv"), "error", error=("empty", "empty.csv")),
    Case("header_only", text(HEAD, name="head.csv"), "error",
         error=("no rows|no data", "head.csv")),
    Case("missing_file", lambda folder: folder / "nowhere.csv", "error",
         error=("not found", "nowhere.csv"), special="nofile"),
    Case("fifo", fifo, "error", error=("not a regular file", "pipe.csv"), special="fifo"),
    Case("directory", directory, "error", error=("directory", "folder.csv"), special="nofile"),
    Case("symlink_loop", symlink_loop, "error",
         error=("first.csv", "symlink|symbolic link|loop|Too many levels"), special="nofile"),
]

# --------------------------------------------------------------------------- round two (issue 23)
SUMMARY = "summary / total row"
DUPLICATE = "exact duplicate"
ORDER_HEAD = "customer_id,date,amount,order_id\n"


def _dated_subtotals() -> str:
    """Three months of purchases, each followed by a dated subtotal row ("Total January")."""
    lines, rows = [HEAD], []
    for month, name in ((1, "January"), (2, "February"), (3, "March")):
        total = 0.0
        for day, customer in enumerate(("A", "B", "C"), start=1):
            amount = 10.0 * day + month
            total += amount
            lines.append(f"{customer},2024-{month:02d}-{day:02d},{amount:.2f}\n")
            rows.append((customer, f"2024-{month:02d}-{day:02d}", amount))
        lines.append(f"Total {name},2024-{month:02d}-28,{total:.2f}\n")
    return "".join(lines), tuple(rows)


SUBTOTAL_BODY, SUBTOTAL_ROWS = _dated_subtotals()
SHEET_HEAD = ["customer_id", "date", "amount"]
BIG_NUL = HEAD + "A,2024-01-05,1.00\n" * 20_000 + "B\x00,2024-01-06,2.00\n"  # NUL at ~370 KB

ROUND_TWO: list[Case] = [
    # summary rows anywhere: dated subtotals in the middle double the revenue
    Case("dated_subtotals_mid_file", text(SUBTOTAL_BODY), "loads",
         rows=tuple(sorted(SUBTOTAL_ROWS, key=lambda r: (r[1], r[0]))),
         log={SUMMARY: 3, "kept": 9}, decisions=(("summary", "data row 4, 8, 12"),),
         total=sum(r[2] for r in SUBTOTAL_ROWS) * 2),
    # a customer named like a total whose purchase is not a subtotal stays a purchase
    Case("customer_named_total_is_kept",
         text(HEAD + "A,2024-01-01,5.00\nB,2024-01-02,6.00\nTotal Wine,2024-01-03,7.00\n"),
         "loads", rows=(("A", "2024-01-01", 5.0), ("B", "2024-01-02", 6.0),
                        ("Total Wine", "2024-01-03", 7.0)), log={"kept": 3}),
    # a convention that changes halfway: US amounts, then EU amounts
    Case("us_then_eu_amounts",
         text(HEAD + 'A,2024-01-05,"1,234.50"\nB,2024-01-06,12.25\nC,2024-01-07,"2,000.00"\n'
              'D,2024-02-05,"1.234,50"\nE,2024-02-06,"12,25"\n'),
         "error", error=("mixes number conventions", "'amount'", "1,234.50|2,000.00",
                         "1.234,50|12,25", "decimal=")),
    # the same row written two ways is one row repeated
    Case("duplicate_written_two_ways",
         text(ORDER_HEAD + " C001 ,2024-01-02,10.00,o1\nC001,2024-01-02 00:00:00,10.0,o1\n"
              "C002,2024-01-03,5.00,o2\n"), "loads",
         rows=(("C001", "2024-01-02", 10.0), ("C002", "2024-01-03", 5.0)),
         log={DUPLICATE: 1, "kept": 2}, decisions=(("1 row repeats", "dropped"),),
         total=25.0),
    # invisible characters (zero-width space, right-to-left mark, a BOM inside the file)
    Case("invisible_characters_in_ids",
         text(HEAD + "C001,2024-01-02,1.00\nC\u200b001,2024-01-03,2.00\n"
              "\u200fC001,2024-01-04,3.00\n\ufeffC002,2024-01-05,4.00\nC002,2024-01-06,5.00\n"),
         "loads", rows=(("C001", "2024-01-02", 1.0), ("C001", "2024-01-03", 2.0),
                        ("C001", "2024-01-04", 3.0), ("C002", "2024-01-05", 4.0),
                        ("C002", "2024-01-06", 5.0)),
         log={"kept": 5}, decisions=(("invisible", "3 distinct ids", "3 rows"),)),
    # a NUL byte far beyond the first 256 KB
    Case("nul_byte_after_256k", text(BIG_NUL), "error",
         error=("NUL", "'customer_id'", "20001")),
    # a valid CSV whose first data cell is larger than 128 KB
    Case("field_larger_than_128k",
         text("customer_id,date,amount,note\nA,2024-01-05,1.00," + "x" * 200_000
              + "\nB,2024-01-06,2.00,short\n"),
         "loads", rows=(("A", "2024-01-05", 1.0), ("B", "2024-01-06", 2.0)), log={"kept": 2}),
    # hidden sheets are skipped (and named); sheets are chosen by exact name first
    Case("hidden_first_sheet_skipped",
         xlsx_hidden({"Old": [SHEET_HEAD, ["Z", "2024-01-01", 99.0]],
                      "Sales": [SHEET_HEAD, ["A", "2024-01-05", 1.0]]}, hidden=("Old",)),
         "loads", rows=(("A", "2024-01-05", 1.0),), log={"kept": 1},
         decisions=(("hidden", "'Old'", "skipped"), ("sheet 'Sales'",))),
    Case("sheet_named_1_by_name",
         xlsx({"1": [SHEET_HEAD, ["A", "2024-01-05", 1.0]],
               "2": [SHEET_HEAD, ["B", "2024-01-05", 2.0]],
               "3": [SHEET_HEAD, ["C", "2024-01-05", 3.0]]}),
         "loads", options={"sheet": "1"}, rows=(("A", "2024-01-05", 1.0),), log={"kept": 1}),
    Case("sheet_named_2024_by_name",
         xlsx({"2023": [SHEET_HEAD, ["A", "2023-01-05", 1.0]],
               "2024": [SHEET_HEAD, ["B", "2024-01-05", 2.0]]}),
         "loads", options={"sheet": "2024"}, rows=(("B", "2024-01-05", 2.0),), log={"kept": 1}),
    # date formats with no year, unknown directives; options of the wrong type
    Case("date_format_without_year", text(PLAIN_BODY), "error",
         options={"date_format": "%d"}, error=("date_format='%d'", "no year")),
    Case("date_format_unknown_directive", text(PLAIN_BODY), "error",
         options={"date_format": "%Y-%m-%Q"}, error=("date_format=", "%Q")),
    Case("dayfirst_as_text", text(PLAIN_BODY), "error",
         options={"dayfirst": "false"}, error=("dayfirst=", "True, False", "'false'")),
    Case("sep_as_number", text(PLAIN_BODY), "error", options={"sep": 5},
         error=("sep=", "text", "int 5")),
    Case("encoding_as_number", text(PLAIN_BODY), "error", options={"encoding": 8},
         error=("encoding=", "text", "int 8")),
    Case("as_of_not_a_date", text(PLAIN_BODY), "error", options={"as_of": "someday"},
         error=("as_of=", "'someday'")),
]
CASES += ROUND_TWO

#: Cases whose expectation is a successful load / a clear error.
LOADS = [c for c in CASES if c.kind == "loads"]
ERRORS = [c for c in CASES if c.kind == "error"]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
assert all(c.kind in {"loads", "error"} for c in CASES)
assert all(bool(c.error) == (c.kind == "error") for c in CASES)
