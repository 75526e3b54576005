"""Fixtures of the report tests: tiny data, prepared data sets, built packs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.report.config import load_config
from clvkit.report.data import _save_data, load_report_data
from clvkit.report.month import resolve_month
from clvkit.report.run import build_report

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import EVIL, INJECT, sha, tiny_config  # noqa: E402


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory) -> Path:
    """40 customers buying from January to early May 2024, a return and a row without customer."""
    rng = np.random.default_rng(7)
    rows = []
    order = 1000
    for cust in range(1, 41):
        first = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 100)))
        for k in range(int(rng.integers(1, 5))):
            day = first + pd.Timedelta(days=int(k * rng.integers(10, 40)))
            if day > pd.Timestamp("2024-05-02"):
                break
            order += 1
            rows.append((cust, day.strftime("%Y-%m-%d"), round(float(rng.uniform(5, 80)), 2),
                         f"O{order}", EVIL if cust == 3 else "mug"))
    rows.append((5, "2024-03-15", -12.5, "O9999", "mug"))          # a return
    rows.append((None, "2024-02-10", 30.0, "O9998", "mug"))         # no customer id
    rows.append((7, "2024-05-02", 11.0, "O9997", "mug"))            # makes April complete
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "order_id", "product"])
    frame["customer_id"] = frame["customer_id"].astype("Int64")
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    frame.to_csv(path, index=False)
    return path

@pytest.fixture(scope="module")
def tiny_data(tiny_csv):
    return load_report_data(load_config(tiny_config(tiny_csv)).data)

@pytest.fixture(scope="module")
def built_twice(tiny_csv, tmp_path_factory):
    """The same tiny report built twice into two folders (4 kernels in all)."""
    root = tmp_path_factory.mktemp("reports")
    before = sha(tiny_csv)
    lines: list[str] = []
    first = build_report(month="2024-04", config=tiny_config(tiny_csv),
                                out=root / "a", progress=lines.append)
    second = build_report(month="2024-04", config=tiny_config(tiny_csv),
                                 out=root / "b", progress=None)
    return root, first, second, lines, before

@pytest.fixture(scope="module")
def datasets(tmp_path_factory, tiny_csv):
    """Small data sets of different shapes, each prepared as build_report would."""
    from clvkit.synthetic import generate_crm, save_crm

    root = tmp_path_factory.mktemp("sets")
    crm_dir = save_crm(generate_crm(n_customers=300, months=14, seed=1), root / "crm")
    plain = pd.read_csv(tiny_csv)[["customer_id", "date", "amount"]]
    plain.to_csv(root / "plain.csv", index=False)
    cdnow = load_config({"data": {"path": "data/cdnow_sample.csv.gz",
                                         "preset": "cdnow"}, "currency": "USD"})
    out = {}
    for name, cfg in (("synthetic", load_config("synthetic_crm", data=crm_dir)),
                      ("plain_csv", load_config(data=root / "plain.csv")),
                      ("cdnow", cdnow)):
        data = load_report_data(cfg.data, data=crm_dir if name == "synthetic" else None
                                       ) if name != "plain_csv" else load_report_data(
            cfg.data, data=root / "plain.csv")
        month = resolve_month(None, data.transactions).month
        folder = root / f"{name}_data"
        _save_data(data, folder)
        out[name] = (cfg, data, folder, month)
    return out

@pytest.fixture(scope="module")
def hostile_pack(tmp_path_factory):
    """A full pack on synthetic CRM data whose every text field carries an injection."""
    from clvkit.synthetic import generate_crm, save_crm

    root = tmp_path_factory.mktemp("hostile")
    folder = root / "shop `[f](javascript:alert(6))` <b>x</b>"
    save_crm(generate_crm(n_customers=400, months=14, seed=3), folder)
    customers = pd.read_parquet(folder / "customers.parquet")
    first = customers["channel"].iloc[0]
    customers["channel"] = customers["channel"].astype(str).replace(first, "chan " + INJECT)
    customers.to_parquet(folder / "customers.parquet")
    campaigns = pd.read_parquet(folder / "campaigns.parquet")
    campaigns["name"] = "camp " + INJECT
    campaigns["tactic"] = campaigns["tactic"].astype(str).replace(campaigns["tactic"].iloc[0],
                                                                  "tac " + INJECT)
    campaigns.to_parquet(folder / "campaigns.parquet")
    tx = pd.read_parquet(folder / "transactions.parquet")
    tx["product"] = tx["product"].astype(str).replace(tx["product"].iloc[0], "prod " + INJECT)
    tx.to_parquet(folder / "transactions.parquet")
    cfg = {"name": "hostile", "title": "title " + INJECT,
           "data": {"path": str(folder), "kind": "synthetic_crm"}, "currency": "USD"}
    result = build_report(config=cfg, out=root / "out", progress=None)
    return root / "out", result

@pytest.fixture(scope="module")
def crm_data(tmp_path_factory):
    """Synthetic CRM data (campaigns with costs and media, uncontacted customers) as a report
    reads them, and its last complete month."""
    from clvkit.synthetic import generate_crm, save_crm

    folder = save_crm(generate_crm(n_customers=300, months=8, seed=3),
                      tmp_path_factory.mktemp("crm") / "crm")
    data = load_report_data(load_config("synthetic_crm", data=folder).data,
                                   data=folder)
    return data, resolve_month(None, data.transactions).month

@pytest.fixture(scope="module")
def email_csv(tiny_csv, tmp_path_factory) -> Path:
    """The tiny shop with e-mail addresses as customer ids."""
    frame = pd.read_csv(tiny_csv, dtype={"customer_id": "string"})
    frame["customer_id"] = "user" + frame["customer_id"] + "@example.com"
    path = tmp_path_factory.mktemp("email") / "email.csv"
    frame.to_csv(path, index=False)
    return path

@pytest.fixture(scope="module")
def email_pack(email_csv, tmp_path_factory):
    """A pack (segments, least profitable) on e-mail ids with the default privacy, built twice."""
    root = tmp_path_factory.mktemp("privacy")
    cfg = tiny_config(email_csv, sections=["segments", "least_profitable"])
    outs = []
    for run in ("a", "b"):
        result = build_report(month="2024-04", config=cfg, out=root / run,
                                     progress=None)
        assert result.ok, [(s.name, s.error) for s in result.sections]
        outs.append(root / run)
    return outs
