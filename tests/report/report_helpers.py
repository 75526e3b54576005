"""Shared helpers of the report tests (data builders, page checks); imported by path."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd

from clvkit.report.config import SECTIONS
from clvkit.report.run import _template_path

EVIL = "<script>alert(1)</script>"

def figures(page: str) -> int:
    return len(re.findall(r'<img [^>]*src="data:image/png;base64,', page))

def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

def tiny_config(path: Path, **changes) -> dict:
    cfg = {"name": "tiny", "title": f"Tiny shop {EVIL} & co",
           "data": {"path": str(path), "columns": {"order_id": "order_id", "product": "product"}},
           "currency": "EUR", "benchmarks": {"churn_rate": 0.4, "average_order_value": 40},
           "sections": ["executive_summary", "data_quality"], "jobs": 2}
    cfg.update(changes)
    return cfg

def _csv(tmp_path, rows, name="t.csv"):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path

def run_template_in_process(section: str, data_dir: Path, cfg, month: str) -> list:
    """Execute a section template's code cells in this process (no kernel); return displays."""
    import matplotlib
    import nbformat

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(_template_path(SECTIONS[section]), as_version=4)
    shown: list = []
    ns = {"month": month, "data_dir": str(data_dir), "title": cfg.title,
          "currency": cfg.currency, "time_unit": cfg.time_unit,
          "benchmarks": dict(cfg.benchmarks), "options": dict(cfg.options)}
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        exec(compile(cell.source, f"{section}", "exec"), ns)   # noqa: S102
        ns["display"] = shown.append
    plt.close("all")
    return shown

INJECT = ("[clickme](javascript:alert(1)) <img src=x onerror=alert(2)> "
          "`x</code><script>alert(3)</script>` <a href='javascript:alert(4)'>a</a>")

def assert_page_is_safe(page: str, name: str) -> None:
    assert "<script" not in page.lower(), name                       # none at all, ours included
    assert not re.search(r"""<[a-z][^>]*href\s*=\s*["']?\s*javascript:""", page, re.I), name
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page, re.I), name     # no event handlers
    for src in re.findall(r"""<img[^>]*\ssrc\s*=\s*["']([^"']*)""", page, re.I):
        assert src.startswith("data:image/png;base64,"), (name, src[:40])   # embedded only
    assert not re.search(r"""<[a-z][^>]*(src|href)\s*=\s*["']?https?://""", page, re.I), name

def channel_table(min_group_size=30):
    table = pd.DataFrame({"value": [900.0, 300.0, 200.0, 500.0],
                          "customers": [11, 400, 120, 40], "customers_observed": [11, 350, 90, 30],
                          "cac": [50.0, 100.0, 40.0, 20.0]},
                         index=pd.Index(["Switzerland", "United Kingdom", "France", "other"],
                                        name="country"))
    table["ltv_to_cac"] = table["value"] / table["cac"]
    table["ranked"] = (table["customers_observed"] >= min_group_size) & (table.index != "other")
    table.attrs.update(group="country", min_group_size=min_group_size)
    return table

def partial_month_data():
    """Purchases and returns from January to 31 March 2024, extracted on 15 March (as_of).

    Rows after the extract date are kept so that a section measuring to the month's
    end, not to the extract date, shows it. Returns the report data and the
    transactions cut at 15 March.
    """
    import numpy as np

    from clvkit.report.data import ReportData

    rng = np.random.default_rng(18)
    n = 300
    tx = pd.DataFrame({"customer_id": rng.integers(0, 60, n).astype(str),
                       "date": (pd.Timestamp("2024-01-01")
                                + pd.to_timedelta(rng.integers(0, 91, n), unit="D")),
                       "amount": rng.integers(5, 80, n).astype(float),
                       "country": rng.choice(["UK", "France"], n)})
    tx = tx.sort_values("date", kind="mergesort").reset_index(drop=True)
    ret = tx.iloc[::25][["customer_id", "date", "amount"]].assign(amount=lambda f: -f["amount"] / 2)
    data = ReportData(tx, ret.reset_index(drop=True), pd.DataFrame(), len(tx), "x",
                      as_of="2024-03-15")
    return data, tx.loc[tx["date"] < "2024-03-16"]
