"""Round trips through the loader: write a random frame in a random locale and shape, read it back.

A frame of (customer id text, date, amount) is written as CSV with a random separator
(``,`` ``;`` TAB), number convention (decimal point or comma, with a matching thousands
separator or none), date format (ISO, d/m/Y, m/d/Y, d.m.Y), encoding (UTF-8 with or
without BOM, UTF-16), line ending and column order. It is loaded back with the options
that shape requires (``dayfirst`` only when no day exceeds 12, since then the order cannot
be read from the data; ``decimal``/``date_format`` sometimes given explicitly) and must
come back exactly: ids as the strings written, dates, amounts to the cent.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clvkit import load_transactions

# id characters: digits and letters (ids like 007, 1E3, 0042, 20 digits), accents (NFC)
ID_ALPHABET = "0123456789ABCDEFXYZabcxyz-_éßø"
RESERVED = {"na", "nan", "null", "none", "n/a", "inf", "-inf", "true", "false"}

ids = (st.text(ID_ALPHABET, min_size=1, max_size=20)
       .filter(lambda s: s.lower() not in RESERVED and s.strip() == s))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2024, 12, 31))
cents = st.integers(min_value=1, max_value=10**9)  # 0.01 .. 10,000,000.00
rows = st.lists(st.tuples(ids, days, cents), min_size=1, max_size=30)

# (decimal mark, thousands separator) as written
NUMBER_STYLES = [(".", ""), (".", ","), (",", ""), (",", "."), (",", " "), (",", "\u00a0")]
DATE_STYLES = {"iso": "%Y-%m-%d", "dmy": "%d/%m/%Y", "mdy": "%m/%d/%Y", "dmy_dots": "%d.%m.%Y"}
SEPARATORS = [",", ";", "\t"]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16"]


def format_amount(value_cents: int, decimal: str, thousands: str) -> str:
    whole, frac = divmod(value_cents, 100)
    grouped = f"{whole:,}".replace(",", thousands)
    return f"{grouped}{decimal}{frac:02d}"


@st.composite
def shapes(draw):
    return dict(sep=draw(st.sampled_from(SEPARATORS)),
                number=draw(st.sampled_from(NUMBER_STYLES)),
                date_style=draw(st.sampled_from(sorted(DATE_STYLES))),
                encoding=draw(st.sampled_from(ENCODINGS)),
                newline=draw(st.sampled_from(["\n", "\r\n"])),
                order=draw(st.permutations(["customer_id", "date", "amount"])),
                explicit_decimal=draw(st.booleans()),
                explicit_date_format=draw(st.booleans()))


def write_csv(path, data, shape) -> None:
    decimal, thousands = shape["number"]
    fmt = DATE_STYLES[shape["date_style"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=shape["sep"], lineterminator=shape["newline"],
                        quoting=csv.QUOTE_MINIMAL)
    writer.writerow(shape["order"])
    for cid, day, value in data:
        cells = {"customer_id": cid, "date": day.strftime(fmt),
                 "amount": format_amount(value, decimal, thousands)}
        writer.writerow([cells[c] for c in shape["order"]])
    path.write_bytes(buffer.getvalue().encode(shape["encoding"]))


def options_for(data, shape) -> dict:
    """The options a user must (or may) pass for this shape."""
    options: dict = {"duplicates": "keep", "as_of": None}
    style = shape["date_style"]
    if shape["explicit_date_format"]:
        options["date_format"] = DATE_STYLES[style]
    elif style != "iso" and all(day.day <= 12 for _, day, _ in data):
        options["dayfirst"] = style != "mdy"  # the order cannot be read from these values
    decimal, thousands = shape["number"]
    if shape["explicit_decimal"]:
        options["decimal"] = decimal
        if thousands:
            options["thousands"] = thousands
    return options


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=rows, shape=shapes())
def test_written_frame_loads_back_exactly(tmp_path, data, shape):
    path = tmp_path / "roundtrip.csv"
    write_csv(path, data, shape)
    options = options_for(data, shape)
    res = load_transactions(path, **options)

    got = sorted((cid, pd.Timestamp(day), float(amount)) for cid, day, amount in
                 zip(res.transactions["customer_id"], res.transactions["date"],
                     res.transactions["amount"], strict=True))
    want = sorted((cid, pd.Timestamp(day), value / 100) for cid, day, value in data)
    assert got == want, (shape, options)
    assert all(type(cid) is str for cid in res.transactions["customer_id"])
    assert int(res.log["rows"].sum()) == res.rows_read == len(data)
    assert len(res.returns) == 0
