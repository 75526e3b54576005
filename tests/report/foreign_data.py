"""Exports the kit never shipped with, generated with a fixed seed (imported by path).

* :func:`shopify_export` -- a Shopify-style orders export: one line per item, the
  order's fields (e-mail, created-at with a UTC offset, total, refunded amount)
  only on an order's first line.
* :func:`erp_export` -- a German ERP export: cp1252, ``;`` separated, decimal
  commas, day-first dates, a trailing ``Summe`` row.
* :func:`saas_invoices` -- a SaaS invoice log of regular monthly charges and
  one outlier invoice.
* :func:`whitespace_cdnow` -- the CDNOW master file as Fader & Hardie (and
  lifetimes) ship it: no header, columns aligned with spaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Data folder of the repository (the shipped CDNOW master file).
DATA = Path(__file__).resolve().parents[2] / "data"


def shopify_export(path: Path, *, customers: int = 80, seed: int = 11) -> pd.DataFrame:
    """Write a Shopify-style export to ``path``; return the truth: one row per line item.

    Orders from January 2023 to Friday 29 March 2024 (the file's last day);
    ``Created at`` carries a ``+0100``/``+0200`` offset; some orders have a
    ``Refunded Amount``. The truth frame has the carried-down customer and
    date, the line amount and the order's refund (on its first line).
    """
    rng = np.random.default_rng(seed)
    lines, order = [], 1000
    start, end = pd.Timestamp("2023-01-02"), pd.Timestamp("2024-03-29")
    span = (end - start).days
    for c in range(customers):
        email = f"buyer{c:03d}@example.com"
        days = np.sort(rng.integers(0, span + 1, size=int(rng.integers(1, 6))))
        for d in days:
            order += 1
            when = start + pd.Timedelta(days=int(d), hours=int(rng.integers(8, 20)),
                                        minutes=int(rng.integers(0, 60)))
            offset = "+0200" if 4 <= when.month <= 9 else "+0100"
            items = int(rng.integers(1, 4))
            prices = rng.choice([12.5, 19.9, 24.0, 39.0, 59.0], size=items)
            qty = rng.integers(1, 3, size=items)
            total = float((prices * qty).sum())
            refund = round(total * 0.5, 2) if rng.random() < 0.1 else None
            for i in range(items):
                first = i == 0
                lines.append({
                    "Name": f"#{order}", "Email": email if first else "",
                    "Financial Status": ("partially_refunded" if refund else "paid")
                    if first else "",
                    "Created at": f"{when:%Y-%m-%d %H:%M:%S} {offset}" if first else "",
                    "Lineitem quantity": int(qty[i]), "Lineitem name": f"Item {i}",
                    "Lineitem price": f"{prices[i]:.2f}",
                    "Total": f"{total:.2f}" if first else "",
                    "Refunded Amount": f"{refund:.2f}" if first and refund else "",
                    "_customer": email, "_date": when, "_refund": refund if first else 0.0})
    frame = pd.DataFrame(lines)
    frame.drop(columns=[c for c in frame if c.startswith("_")]).to_csv(path, index=False)
    truth = pd.DataFrame({"customer_id": frame["_customer"], "date": frame["_date"],
                          "amount": frame["Lineitem quantity"]
                          * frame["Lineitem price"].astype(float),
                          "refunded": frame["_refund"].fillna(0.0)})
    return truth


def erp_export(path: Path, *, customers: int = 60, seed: int = 12) -> pd.DataFrame:
    """Write a cp1252 ``;``/decimal-comma export with a trailing ``Summe`` row; return the truth."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        for d in np.sort(rng.integers(0, 700, size=int(rng.integers(1, 8)))):
            day = pd.Timestamp("2022-06-01") + pd.Timedelta(days=int(d))
            amount = round(float(rng.uniform(50, 5000)), 2)
            rows.append((f"K{c:04d}", f"Müller & Söhne {c}", day, amount))
    rows.sort(key=lambda r: r[2])
    truth = pd.DataFrame(rows, columns=["customer_id", "name", "date", "amount"])
    text = ["Kundennummer;Kundenname;Belegdatum;Betrag"]
    for cid, name, day, amount in rows:
        euros = f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
        text.append(f"{cid};{name};{day:%d.%m.%Y};{euros}")
    total = f"{truth['amount'].sum():,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    text.append(f"Summe;;;{total}")
    path.write_bytes(("\r\n".join(text) + "\r\n").encode("cp1252"))
    return truth


def saas_invoices(path: Path, *, accounts: int = 70, seed: int = 13) -> pd.DataFrame:
    """Write a SaaS invoice log: monthly charges, and one $48,000 invoice in March 2023."""
    rng = np.random.default_rng(seed)
    rows, number = [], 5000
    for a in range(accounts):
        plan = float(rng.choice([29.0, 49.0, 99.0, 249.0]))
        start = pd.Period("2022-07", "M") + int(rng.integers(0, 12))
        months = int(rng.integers(3, 22))
        for k in range(months):
            month = start + k
            if month > pd.Period("2024-03", "M"):
                break
            number += 1
            rows.append((f"INV-{number}", f"acct-{a:03d}",
                         (month.start_time + pd.Timedelta(days=a % 27)).strftime("%Y-%m-%d"),
                         plan))
    number += 1
    rows.append((f"INV-{number}", "acct-999", "2023-03-15", 48000.0))   # a one-off deal
    frame = pd.DataFrame(rows, columns=["invoice", "account", "invoice_date", "total"])
    frame.sort_values(["invoice_date", "invoice"]).to_csv(path, index=False)
    return frame


def whitespace_cdnow(path: Path, *, rows: int = 6000) -> pd.DataFrame:
    """Write the first ``rows`` rows of the CDNOW master file as lifetimes ships it."""
    frame = pd.read_csv(DATA / "cdnow_master.csv.gz", dtype={"customer_id": str}, nrows=rows)
    days = pd.to_datetime(frame["date"]).dt.strftime("%Y%m%d")
    text = [f"{int(c):>6d} {d} {int(q):>3d} {a:>8.2f}"
            for c, d, q, a in zip(frame["customer_id"], days, frame["quantity"], frame["amount"],
                                  strict=True)]
    path.write_text("\n".join(text) + "\n", encoding="ascii")
    return frame
