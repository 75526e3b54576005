"""Report packs built from foreign exports (issue 18), end to end: kernels run, pages checked.

Packs are built once per session (a few kernels each) and shared by the tests.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from clvkit.report.data import mask_id
from clvkit.report.run import build_report

sys.path.insert(0, str(Path(__file__).parent))
import foreign_data  # noqa: E402

pytestmark = pytest.mark.notebooks

SHOPIFY_COLUMNS = {"customer_id": "Email", "date": "Created at", "order_id": "Name",
                   "quantity": "Lineitem quantity", "unit_price": "Lineitem price"}
PAGES = {"executive_summary": "01-executive-summary.html", "segments": "02-segments.html",
         "data_quality": "08-data-quality.html"}


@pytest.fixture(scope="session")
def shopify_pack(tmp_path_factory):
    """March 2024 in progress (data to Friday 29 March) of a Shopify export: 3 sections."""
    root = tmp_path_factory.mktemp("shopify_pack")
    path = root / "orders_export.csv"
    truth = foreign_data.shopify_export(path)
    cfg = {"name": "shop", "title": "Shop", "currency": "USD", "jobs": 2,
           "sections": list(PAGES),
           "data": {"path": str(path), "columns": SHOPIFY_COLUMNS,
                    "refunds": "Refunded Amount"}}
    result = build_report(config=cfg, month="2024-03", partial=True, out=root / "out",
                          progress=None)
    return result, truth, root / "out"


def test_partial_month_pack_is_labelled_on_every_page_and_links_back(shopify_pack):
    result, _, out = shopify_pack
    assert result.ok and result.month == "2024-03"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "1-29 March 2024 (month in progress)" in index
    assert "Comparisons are like for like" in index
    for name, page in PAGES.items():
        text = (out / page).read_text(encoding="utf-8")
        assert '<a href="index.html">' in text, name
        assert "Month in progress: the data were extracted on 29 March 2024" in text, name


def test_pack_charts_have_alt_text(shopify_pack):
    _, _, out = shopify_pack
    for page in PAGES.values():
        text = (out / page).read_text(encoding="utf-8")
        images = re.findall(r"<img [^>]*>", text)
        for image in images:
            alt = re.search(r'alt="([^"]*)"', image)
            assert alt and alt.group(1).startswith("Chart: "), (page, image[:80])
    trends = (out / PAGES["executive_summary"]).read_text(encoding="utf-8")
    assert 'alt="Chart: March 2023 to March 2024. 4 panels: Net revenue' in trends


def test_pack_writes_kpis_csv_with_like_for_like_comparisons(shopify_pack):
    result, truth, out = shopify_pack
    kpis = pd.read_csv(out / "kpis.csv").set_index("metric")
    assert kpis["partial"].all() and (kpis["days"] == 29).all()
    assert kpis.loc["net_revenue", "value"] == pytest.approx(
        result.headline.loc["net_revenue", "value"])
    # last year's comparison covers 1-29 March 2023 only (UTC dates)
    utc = truth["date"] - pd.to_timedelta(truth["date"].dt.month.between(4, 9) + 1, unit="h")
    march = (utc >= "2023-03-01") & (utc < "2023-03-30")
    assert kpis.loc["revenue", "last_year"] == pytest.approx(truth.loc[march, "amount"].sum())
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert "kpis.csv" in {o["path"] for o in manifest["outputs"]}


def test_masked_target_lists_come_with_an_owner_only_key(shopify_pack):
    _, truth, out = shopify_pack
    key_path = out / "target-lists-key.csv"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    key = pd.read_csv(key_path, dtype="string").set_index("pseudonym")["customer_id"]
    listed = pd.concat([pd.read_csv(p, dtype="string") for p in out.glob("02-segments-*.csv")])
    assert len(listed) and listed["customer_id"].str.startswith("c-").all()
    for pseudonym in listed["customer_id"]:
        assert mask_id(key[pseudonym]) == pseudonym and key[pseudonym] in set(truth["customer_id"])


def test_no_mask_shows_ids_and_writes_no_key(tmp_path):
    path = tmp_path / "orders_export.csv"
    foreign_data.shopify_export(path, customers=30)
    cfg = {"name": "shop", "currency": "USD", "sections": ["segments"],
           "data": {"path": str(path), "columns": SHOPIFY_COLUMNS}}
    result = build_report(config=cfg, out=tmp_path / "out", mask_ids=False, progress=None)
    assert result.ok
    listed = pd.concat([pd.read_csv(p, dtype="string")
                        for p in (tmp_path / "out").glob("02-segments-*.csv")])
    assert listed["customer_id"].str.endswith("@example.com").all()
    assert not (tmp_path / "out" / "target-lists-key.csv").exists()


def test_command_line_reads_whitespace_cdnow_with_its_preset(tmp_path, capsys):
    from clvkit.cli import main

    path = tmp_path / "CDNOW_master.txt"
    truth = foreign_data.whitespace_cdnow(path, rows=3000)
    config = tmp_path / "qc.yml"
    config.write_text(yaml.safe_dump({"name": "cdnow", "sections": ["data_quality"],
                                      "data": {"path": str(path)}}), encoding="utf-8")
    code = main(["report", "--config", str(config), "--preset", "cdnow", "--sep", "whitespace",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    page = (tmp_path / "out" / "08-data-quality.html").read_text(encoding="utf-8")
    assert f"{len(truth):,} rows were read" in page and "checks pass" in page
    kpis = pd.read_csv(tmp_path / "out" / "kpis.csv").set_index("metric")
    month = kpis["month"].iloc[0]
    dates = pd.to_datetime(truth["date"])
    assert kpis.loc["revenue", "value"] == pytest.approx(
        truth.loc[dates.dt.strftime("%Y-%m") == month, "amount"].sum())
