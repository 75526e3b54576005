"""Tests of clvkit.report: config validation, content functions, and small end-to-end builds.

The end-to-end builds start one Jupyter kernel per section (~2-4 s each), so they
use tiny data and two sections at most.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clvkit import report
from clvkit.errors import ReportError

EVIL = "<script>alert(1)</script>"


def figures(page: str) -> int:
    return len(re.findall(r'<img [^>]*src="data:image/png;base64,', page))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def tiny_config(path: Path, **changes) -> dict:
    cfg = {"name": "tiny", "title": f"Tiny shop {EVIL} & co",
           "data": {"path": str(path), "columns": {"order_id": "order_id", "product": "product"}},
           "currency": "EUR", "benchmarks": {"churn_rate": 0.4, "average_order_value": 40},
           "sections": ["executive_summary", "data_quality"], "jobs": 2}
    cfg.update(changes)
    return cfg


# --------------------------------------------------------------------------- config

def test_default_config_is_online_retail_november_2011():
    cfg = report.load_config()
    assert cfg.name == "online_retail"
    assert cfg.month == "2011-11"
    assert cfg.currency == "GBP"
    assert Path(cfg.data["path"]).name == "online_retail.parquet"
    assert cfg.sections[0] == "executive_summary"


def test_shipped_synthetic_config_has_campaign_and_channel_sections():
    cfg = report.load_config("synthetic_crm")
    assert cfg.data["kind"] == "synthetic_crm"
    assert {"campaigns", "clv_by_channel"} <= set(cfg.sections)


@pytest.mark.parametrize("change, message", [
    ({"colour": "blue"},
     r"unknown key\(s\) \['colour'\] in config; allowed keys are \['benchmarks'"),
    ({"currency": "POUNDS"}, r"`currency` must be an ISO 4217 code"),
    ({"time_unit": "fortnight"}, r"`time_unit` must be one of \['D', 'W', 'M', 'Y'\]"),
    ({"sections": ["executive_summary", "horoscope"]},
     r"unknown key\(s\) \['horoscope'\] in `sections`"),
    ({"benchmarks": {"churn": 0.1}}, r"unknown key\(s\) \['churn'\] in `benchmarks`"),
    ({"benchmarks": {"churn_rate": "low"}}, r"`benchmarks.churn_rate` must be a number"),
    ({"month": "Nov 2011"}, r"`month` must look like YYYY-MM"),
    ({"jobs": 0}, r"`jobs` must be a whole number >= 1"),
    ({"data": {"path": "data/nowhere.csv"}}, r"data file 'data/nowhere.csv' not found"),
    ({"data": {"path": "data/online_retail.parquet", "colour": 1}},
     r"unknown key\(s\) \['colour'\] in `data`"),
    ({"data": {"path": "data/online_retail.parquet", "preset": "amazon"}},
     r"`data.preset` must be one of"),
    ({"benchmarks": {"churn_rate": 10}}, r"`benchmarks.churn_rate` is a rate.*got 10"),
    ({"options": {"margin": 30}}, r"`options.margin` must be a number > 0 and <= 1 .*got 30"),
    ({"options": {"margin": -3}}, r"`options.margin` must be a number > 0 .*got -3"),
    ({"options": {"top_n": -5}}, r"`options.top_n` must be a whole number >= 1 .*got -5"),
    ({"options": {"top_n": 2.5}}, r"`options.top_n` must be a whole number .*got 2.5"),
    ({"options": {"cohort_months": 0}}, r"`options.cohort_months` must be a whole number >= 1"),
    ({"options": {"engine": "excel"}}, r"`options.engine` must be one of"),
    ({"options": {"min_group_size": 0}}, r"`options.min_group_size` must be a whole number >= 1"),
    ({"options": {"min_group_size": "30"}}, r"`options.min_group_size` must be a whole number"),
    ({"options": {"colour": 1}}, r"unknown key\(s\) \['colour'\] in `options`"),
    ({"data": {"path": "data/online_retail.parquet", "non_product": "POSTAGE"}},
     r"`data.non_product` must be a list"),
])
def test_config_errors_name_the_problem(tiny_csv, change, message):
    with pytest.raises(ReportError, match=message):
        report.load_config(tiny_config(tiny_csv, **change))


def test_missing_config_file():
    with pytest.raises(ReportError, match=r"config file 'no/such.yml' not found.*shipped"):
        report.load_config("no/such.yml")


def test_duplicate_yaml_keys_are_errors(tmp_path, tiny_csv):
    path = tmp_path / "dup.yml"
    path.write_text(f"data: {tiny_csv}\noptions:\n  margin: 0.3\n  margin: 0.5\n",
                    encoding="utf-8")
    with pytest.raises(ReportError, match=r"key 'margin' is written twice.*lines 3 and 4"):
        report.load_config(path)


def test_relative_paths_resolve_against_the_config_folder_only(tmp_path, tiny_csv,
                                                                monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    shutil.copy(tiny_csv, folder / "shop.csv")
    (folder / "shop.yml").write_text("data: shop.csv\n", encoding="utf-8")
    (tmp_path / "shop.csv").write_text("not, the, file\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)                  # a same-named file in the working directory
    cfg = report.load_config(folder / "shop.yml")
    assert Path(cfg.data["path"]) == (folder / "shop.csv").resolve()
    (folder / "other.yml").write_text("data: ../shop.csv\n", encoding="utf-8")
    with pytest.raises(ReportError, match="relative to the config file's folder"):
        report.load_config(folder / "other.yml")
    data = report.load_report_data(cfg.data)
    assert data.source == "shop.csv"             # shown relative to the config's folder


def test_loader_errors_are_hinted_in_yaml_terms(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("cust,day,value\na,2024-01-05,3\n", encoding="utf-8")
    with pytest.raises(ReportError, match="could not load the report data") as err:
        report.load_report_data(report.load_config({"data": str(path)}).data)
    assert "load_transactions(" not in str(err.value)
    assert "`data: {columns: {customer_id: CustomerID" in str(err.value)


def test_loader_options_in_the_config_reach_the_loader(tmp_path, monkeypatch):
    seen = {}
    import clvkit.io

    real = clvkit.io.load_transactions

    def spy(source, **kw):
        seen.update(kw)
        return real(source, **kw)

    monkeypatch.setattr(clvkit.io, "load_transactions", spy)
    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\na,2024-01-05,3\n", encoding="utf-8")
    cfg = report.load_config({"data": {"path": str(path), "dayfirst": True}})
    assert cfg.data["loader"] == {"dayfirst": True}
    report.load_report_data(cfg.data)
    assert seen["dayfirst"] is True


def test_yaml_config_unknown_key(tmp_path, tiny_csv):
    path = tmp_path / "bad.yml"
    path.write_text(f"data: {tiny_csv}\ntitel: typo\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"\['titel'\]"):
        report.load_config(path)


def test_month_outside_data_range_is_refused_before_any_work(tiny_csv, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=r"month 2024-05 is outside the data's range of complete "
                                          r"months 2024-01..2024-04"):
        report.build_report(month="2024-05", config=tiny_config(tiny_csv), out=out,
                            progress=None)
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.notebooks
def test_sections_the_data_cannot_support_are_skipped_with_a_note(tiny_csv, tmp_path):
    lines = []
    result = report.build_report(config=tiny_config(tiny_csv, sections=["campaigns",
                                                                         "clv_by_channel"]),
                                 out=tmp_path / "o", progress=lines.append)
    assert result.ok and not result.failed
    notes = {s.name: s.note for s in result.sections if s.status == "skipped"}
    assert set(notes) == {"campaigns", "clv_by_channel"}
    assert "campaign touches" in notes["campaigns"]
    assert "channel or country column" in notes["clv_by_channel"]
    index = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "skipped: the data have no campaign touches" in index
    assert any("campaigns skipped" in line for line in lines)


def test_unknown_template_parameter_is_refused(tiny_csv):
    with pytest.raises(ReportError, match=r"does not declare parameter\(s\) \['colour'\]"):
        report._check_template_parameters(report.SECTIONS["data_quality"],
                                          {"month": "2024-04", "colour": "red"})


# --------------------------------------------------------------------------- content

@pytest.fixture(scope="module")
def tiny_data(tiny_csv):
    return report.load_report_data(report.load_config(tiny_config(tiny_csv)).data)


def test_default_month_is_last_complete_month(tiny_data):
    assert report._resolve_month(None, tiny_data.transactions) == "2024-04"


def test_headline_numbers_match_a_direct_computation(tiny_data):
    tx = tiny_data.transactions
    head = report.headline_numbers(tiny_data, month="2024-03",
                                   benchmarks={"average_order_value": 40})
    march = tx[tx["date"].dt.to_period("M") == pd.Period("2024-03")]
    first = tx.groupby("customer_id")["date"].min().dt.to_period("M")
    assert head.loc["revenue", "value"] == pytest.approx(march["amount"].sum())
    assert head.loc["orders", "value"] == march["order_id"].nunique()
    assert head.loc["active_customers", "value"] == march["customer_id"].nunique()
    assert head.loc["new_customers", "value"] == (first == pd.Period("2024-03")).sum()
    assert head.loc["average_order_value", "value"] == pytest.approx(march["amount"].sum()
                                                     / march["order_id"].nunique())
    feb = tx[tx["date"].dt.to_period("M") == pd.Period("2024-02")]
    assert head.loc["revenue", "previous"] == pytest.approx(feb["amount"].sum())
    assert head.loc["average_order_value", "benchmark"] == 40
    assert head["last_year"].isna().all()          # the data start in 2024


def test_churn_and_clv_are_undefined_in_the_first_three_months(tiny_data):
    head = report.headline_numbers(tiny_data, month="2024-03")
    assert np.isnan(head.loc["churn_rate", "value"])          # data start in January
    assert np.isnan(head.loc["retention_clv", "value"])       # not a CLV from churn 0
    shown = report.headline_table_display(head, currency="EUR")
    assert shown.loc["Churn rate", "This month"] == "n/a"
    assert shown.loc["CLV (retention model, margin)", "This month"] == "n/a"


def test_retention_clv_uses_the_churn_base_for_margin_and_survival(tiny_data):
    from clvkit import crm

    tx = tiny_data.transactions
    head = report.headline_numbers(tiny_data, month="2024-04", options={"margin": 0.3})
    april = tx[tx["date"].dt.to_period("M") == pd.Period("2024-04")]
    # base at the end of March: customers who bought in January..March
    upto = tx[tx["date"].dt.to_period("M") <= pd.Period("2024-03")]
    base = upto.loc[upto["date"].dt.to_period("M") >= pd.Period("2024-01"),
                    "customer_id"].nunique()
    m = 0.3 * april["amount"].sum() / base
    r = 1 - crm.churn_rate(tx).loc[pd.Period("2024-04")]
    d = 1.1 ** (1 / 12) - 1
    assert head.loc["retention_clv", "value"] == pytest.approx(m * r / (1 + d - r))


def test_old_benchmark_names_get_the_new_name(tiny_csv):
    with pytest.raises(ReportError, match="returning_share"):
        report.load_config(tiny_config(tiny_csv, benchmarks={"repeat_rate": 0.7}))
    with pytest.raises(ReportError, match="average_order_value"):
        report.load_config(tiny_config(tiny_csv, benchmarks={"aov": 40}))


def test_definitions_cover_every_headline_kpi(tiny_data):
    from clvkit.metrics import CLV_FAMILY, METRICS

    head = report.headline_numbers(tiny_data, month="2024-04")
    text = report.definitions_text(tiny_data, month="2024-04", currency="EUR",
                                   options={"margin": 0.3})
    for name in (*head.index, *CLV_FAMILY):
        assert f"**{METRICS[name].label}** (`{name}`)" in text, name
    assert "03 January 2024" in text                      # what "new" means here
    assert "30.0%" in text and "discount rate of 10.0%" in text


def test_executive_summary_is_sentences_with_context(tiny_data):
    head = report.headline_numbers(tiny_data, month="2024-03",
                                   benchmarks={"average_order_value": 40})
    text = report.executive_summary_text(head, month="2024-03", currency="EUR")
    revenue_line = text.splitlines()[0]
    assert revenue_line.startswith("- Revenue ")
    assert "March 2024" in revenue_line and "February 2024" in revenue_line
    assert "target" in text and "€" in text
    assert "no year-on-year comparison" in text


def test_data_quality_reconciles_to_the_cent(tiny_data):
    text = report.data_quality_text(tiny_data, currency="EUR")
    assert "checks pass" in text and "CHECK FAILED" not in text
    assert f"{tiny_data.rows_read:,} rows were read" in text
    table = report.data_quality_table(tiny_data, currency="EUR")
    assert table.loc["total (input)", "rows"] == tiny_data.rows_read
    assert table.loc["missing customer id", "rows"] == 1


def _csv(tmp_path, rows, name="t.csv"):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_unreadable_amounts_are_counted_not_zero_and_bridge_reconciles(tmp_path):
    rows = [("a", "2024-01-05", "10.5"), ("b", "2024-01-06", "oops"), ("c", "2024-01-07", "-2"),
            ("", "2024-01-08", "7"), ("a", "2024-02-03", "4")]
    path = _csv(tmp_path, rows)
    data = report.load_report_data(report.load_config({"data": str(path)}).data)
    bridge = report.revenue_bridge_table(data, month="2024-01", currency="EUR")
    assert bridge.loc["- unreadable amount", "rows"] == 1
    assert bridge.loc["- unreadable amount", "amount (EUR)"] == "n/a"
    assert bridge.loc["all rows in the month", "amount (EUR)"] == "€15.50"   # 10.5 - 2 + 7
    assert bridge.loc["= headline revenue", "amount (EUR)"] == "€10.50"
    assert report.quality_checks(data)["ok"].all()


def test_a_month_without_transactions_is_a_data_gap_not_a_fall(tmp_path):
    rows = [(c, d, "10") for c in "abcd" for d in ("2024-01-05", "2024-02-05", "2024-04-05",
                                                   "2024-05-05")]
    data = report.load_report_data(report.load_config({"data": str(_csv(tmp_path, rows))}).data)
    assert report.data_gaps(data) == ["2024-03"]
    head = report.headline_numbers(data, month="2024-03")
    assert head["value"].isna().all()
    text = report.executive_summary_text(head, month="2024-03", currency="EUR")
    assert "No transactions are recorded in March 2024" in text and "100" not in text
    april = report.headline_numbers(data, month="2024-04")
    assert np.isnan(april.loc["revenue", "previous"])
    assert "2024-03 had no transactions" in report.executive_summary_text(
        april, month="2024-04", currency="EUR")
    assert "Data gap" in report.data_quality_text(data, currency="EUR")


def test_first_cohort_is_marked_left_censored(tiny_data):
    matrix = report.cohort_retention(tiny_data, month="2024-04", cohorts=12)
    assert matrix.attrs["left_censored"] == pd.Period("2024-01", "M")
    assert "left-censored" in report.cohort_text(matrix, month="2024-04")


def test_campaign_names_are_escaped_in_html():
    touches = pd.DataFrame({"campaign_id": ["C1", "C1"], "customer_id": [1, 2],
                            "opened": [True, False], "clicked": [True, False],
                            "visited": [False, False], "converted": [False, False],
                            "unsubscribed": [False, True], "revenue": [0.0, 0.0]})
    campaigns = pd.DataFrame({"name": [f"{EVIL} & <b>"], "tactic": ["discount"],
                              "message": ["A"]}, index=pd.Index(["C1"], name="campaign_id"))
    data = report.ReportData(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), 0, "x",
                             campaigns=campaigns, touches=touches)
    page = report.campaign_table(data, touches, currency="USD")._repr_html_()
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;" in page


def test_section_heading_escapes_the_title():
    assert EVIL not in report.section_heading(EVIL, month="2024-03", section="Data quality")


# --------------------------------------------------------------------------- end to end

@pytest.fixture(scope="module")
def built_twice(tiny_csv, tmp_path_factory):
    """The same tiny report built twice into two folders (4 kernels in all)."""
    root = tmp_path_factory.mktemp("reports")
    before = sha(tiny_csv)
    lines: list[str] = []
    first = report.build_report(month="2024-04", config=tiny_config(tiny_csv),
                                out=root / "a", progress=lines.append)
    second = report.build_report(month="2024-04", config=tiny_config(tiny_csv),
                                 out=root / "b", progress=None)
    return root, first, second, lines, before


@pytest.mark.notebooks
def test_report_writes_notebooks_html_index_and_manifest(built_twice):
    root, first, _, lines, _ = built_twice
    assert first.ok, first.sections
    names = sorted(p.name for p in (root / "a").iterdir())
    assert names == ["01-executive-summary.html", "01-executive-summary.ipynb",
                     "08-data-quality.html", "08-data-quality.ipynb", "index.html",
                     "manifest.json"]
    manifest = json.loads((root / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["month"] == "2024-04" and manifest["status"] == "ok"
    assert manifest["parameters"]["currency"] == "EUR"
    assert manifest["packages"]["papermill"]
    for entry in manifest["outputs"]:
        assert sha(root / "a" / entry["path"]) == entry["sha256"]
    assert any("executive_summary" in line and "ok" in line for line in lines)
    assert sorted(p.name for p in root.iterdir()) == ["a", "b"]   # no temp folders left


@pytest.mark.notebooks
def test_rerun_is_byte_identical(built_twice):
    root, *_ = built_twice
    for path in sorted((root / "a").iterdir()):
        assert path.read_bytes() == (root / "b" / path.name).read_bytes(), path.name


@pytest.mark.notebooks
def test_input_file_is_not_modified(built_twice, tiny_csv):
    *_, before = built_twice
    assert sha(tiny_csv) == before
    manifest = json.loads((built_twice[0] / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"][0]["sha256"] == before


@pytest.mark.notebooks
def test_html_has_no_code_and_escapes_data_text(built_twice):
    root, *_ = built_twice
    for name in ("index.html", "01-executive-summary.html", "08-data-quality.html"):
        page = (root / "a" / name).read_text(encoding="utf-8")
        assert EVIL not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
    summary = (root / "a" / "01-executive-summary.html").read_text(encoding="utf-8")
    index = (root / "a" / "index.html").read_text(encoding="utf-8")
    for name in built_twice[1].headline.index:        # every KPI shown is defined on the page
        assert f'id="def-{name}"' in index, name
        assert f"<code>{name}</code>" in summary, name
    assert "load_section_data" not in summary            # inputs excluded
    assert figures(summary) == 1                          # the trend figure
    assert "Revenue" in summary and "April 2024" in summary


@pytest.mark.notebooks
def test_existing_output_needs_force(built_twice, tiny_csv):
    root, *_ = built_twice
    stamp = sha(root / "a" / "index.html")
    with pytest.raises(ReportError, match="already exists; pass --force"):
        report.build_report(month="2024-04", config=tiny_config(tiny_csv), out=root / "a",
                            progress=None)
    assert sha(root / "a" / "index.html") == stamp


@pytest.mark.notebooks
def test_interrupted_run_leaves_no_half_report(tiny_csv, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "_execute_sections", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.build_report(config=tiny_config(tiny_csv), out=tmp_path / "r", progress=None)
    assert list(tmp_path.iterdir()) == []
    # a rerun (no --force needed: nothing was left behind) completes
    monkeypatch.undo()
    config = {**tiny_config(tiny_csv), "sections": ["data_quality"]}
    result = report.build_report(config=config, out=tmp_path / "r", progress=None)
    assert result.ok and (tmp_path / "r" / "index.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


@pytest.mark.notebooks
def test_failing_section_is_reported_and_others_finish(tiny_csv, tmp_path, monkeypatch, capsys):
    templates = tmp_path / "templates"
    shutil.copytree(report.TEMPLATE_DIR, templates)
    nb = json.loads((templates / "01-executive-summary.ipynb").read_text(encoding="utf-8"))
    nb["cells"][4]["source"] = "raise ValueError('boom in the summary')"
    (templates / "01-executive-summary.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(report, "TEMPLATE_DIR", templates)
    config = tmp_path / "tiny.yml"
    config.write_text(yaml.safe_dump(tiny_config(tiny_csv)), encoding="utf-8")
    parser = argparse.ArgumentParser()
    report.add_report_arguments(parser)
    code = report.run_report_cli(parser.parse_args(
        ["--month", "2024-04", "--config", str(config), "--out", str(tmp_path / "r"),
         "--jobs", "2"]))
    assert code == 1
    lines = capsys.readouterr().out.splitlines()
    failure = next(line for line in lines if "executive_summary" in line)
    assert "failed in cell 5" in failure and "ValueError: boom in the summary" in failure
    assert any("data_quality" in line and "ok" in line for line in lines)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    status = {s["name"]: s for s in manifest["sections"]}
    assert status["data_quality"]["status"] == "ok"
    assert status["executive_summary"]["error"]["ename"] == "ValueError"
    assert "failed: ValueError" in (tmp_path / "r" / "index.html").read_text(encoding="utf-8")


@pytest.mark.notebooks
def test_synthetic_crm_campaign_section_escapes_campaign_names(tmp_path):
    from clvkit.synthetic import generate_crm, save_crm

    crm = generate_crm(n_customers=300, months=6, seed=1)
    campaigns = crm.campaigns.assign(name=f"{EVIL} & friends")
    save_crm(dataclasses.replace(crm, campaigns=campaigns), tmp_path / "crm")
    month = str(crm.transactions["date"].max().to_period("M"))
    result = report.build_report(
        month=month, out=tmp_path / "r", progress=None,
        config={"name": "syn", "data": {"path": str(tmp_path / "crm")}, "currency": "USD",
                "sections": ["campaigns"]})
    assert result.ok, result.sections
    page = (tmp_path / "r" / "06-campaigns.html").read_text(encoding="utf-8")
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in page
    assert figures(page) == 3          # funnel, message comparison, dropout


def test_data_quality_of_shipped_online_retail_reconciles_to_published_total():
    # data/PROVENANCE.md (UCI Online Retail, checked against the published statistics):
    # 541,909 rows; sum(Quantity x UnitPrice) = 9,747,747.934 GBP over all rows.
    data = report.load_report_data(report.load_config().data)
    text = report.data_quality_text(data, currency="GBP", month="2011-11")
    assert text.startswith("541,909 rows were read")
    checks = report.quality_checks(data)
    assert checks["ok"].all(), checks.loc[~checks["ok"]]
    assert checks.loc["input total: raw file vs cleaning log", "expected"] == pytest.approx(
        9_747_747.934, abs=0.01)
    assert "All 17 checks pass" in text                   # 4 file checks + 13 months
    # the November bridge: every row of the file dated in the month -> the headline
    raw = pd.read_parquet("data/online_retail.parquet")
    nov = raw[raw["InvoiceDate"].dt.to_period("M") == pd.Period("2011-11")]
    bridge = report.revenue_bridge_table(data, month="2011-11", currency="GBP")
    assert bridge.loc["all rows in the month", "rows"] == len(nov)
    assert bridge.loc["all rows in the month", "amount (GBP)"] == (
        f"£{(nov['Quantity'] * nov['UnitPrice']).sum():,.2f}")         # £1.46m
    assert bridge.loc["- without customer id", "rows"] == nov["CustomerID"].isna().sum()
    postage = bridge.loc["- non-product lines", "rows"]
    assert postage > 0
    head = report.headline_numbers(data, month="2011-11")
    assert bridge.loc["= headline revenue", "amount (GBP)"] == (
        f"£{head.loc['revenue', 'value']:,.2f}")
    # a tampered load (one purchase lost) fails the check
    tx = data.transactions
    lost = dataclasses.replace(data, transactions=tx.drop(index=tx.index[-1]))
    assert not report.quality_checks(lost)["ok"].all()
    assert "CHECK FAILED" in report.data_quality_text(lost, currency="GBP")


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
@pytest.mark.notebooks
def test_report_renders_in_headless_chromium(built_twice, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "check_report_render", Path(__file__).parent.parent / "scripts" / "check_report_render.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    root, *_ = built_twice
    shots = tmp_path / "shots"
    assert check.main([str(root / "a"), "--keep", str(shots)]) == 0
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "01-executive-summary.png", "08-data-quality.png", "index.png"]


def test_data_argument_accepts_dataframe_and_loadresult(tiny_csv):
    from clvkit.io import load_transactions

    frame = pd.read_csv(tiny_csv).dropna(subset=["customer_id"])
    spec = report.load_config(tiny_config(tiny_csv)).data
    from_frame = report.load_report_data(spec, data=frame)
    from_result = report.load_report_data(spec, data=load_transactions(tiny_csv,
                                                                       order_id="order_id"))
    assert from_frame.source == "DataFrame"
    assert from_frame.transactions["amount"].sum() == pytest.approx(
        from_result.transactions["amount"].sum())
    entry = report._input_files(report.load_config(tiny_config(tiny_csv)), frame)[0]
    assert entry["path"] == "<DataFrame>" and len(entry["sha256"]) == 64


def test_engine_option_is_validated():
    with pytest.raises(ReportError, match=r"options.engine.*'pandas', 'duckdb', 'spark'"):
        report.load_config({"data": "data/cdnow_sample.csv.gz",
                            "options": {"engine": "oracle"}})
    cfg = report.load_config({"data": "data/cdnow_sample.csv.gz", "options": {"engine": "duckdb"}})
    assert cfg.options["engine"] == "duckdb"


def test_predictions_same_with_duckdb_and_degenerate_fit_is_reported():
    # Online Retail: BG/NBD finds almost no dropout (a -> 0); the section must still run and say so.
    # DuckDB sums doubles in parallel threads, so its summary can differ from pandas' in the last
    # bits; this flat likelihood turns that into ~1e-8 relative differences in CLV.
    cfg = report.load_config("online_retail")
    data = report.load_report_data(cfg.data)
    pandas_pred = report.predictions(data, month="2011-11", options=cfg.options)
    duck_pred = report.predictions(data, month="2011-11", options={**cfg.options,
                                                                    "engine": "duckdb"})
    pd.testing.assert_series_equal(pandas_pred["clv_12m"], duck_pred.loc[pandas_pred.index,
                                                                         "clv_12m"], rtol=1e-6)
    assert pandas_pred.attrs["bgnbd_converged"] is False
    text = report.predictions_text(pandas_pred, data, month="2011-11", currency="GBP")
    assert "degenerate" in text


# --------------------------------------------------------------------------- any data set

def run_template_in_process(section: str, data_dir: Path, cfg, month: str) -> list:
    """Execute a section template's code cells in this process (no kernel); return displays."""
    import matplotlib
    import nbformat

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = nbformat.read(report._template_path(report.SECTIONS[section]), as_version=4)
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


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, tiny_csv):
    """Small data sets of different shapes, each prepared as build_report would."""
    from clvkit.synthetic import generate_crm, save_crm

    root = tmp_path_factory.mktemp("sets")
    crm_dir = save_crm(generate_crm(n_customers=300, months=14, seed=1), root / "crm")
    plain = pd.read_csv(tiny_csv)[["customer_id", "date", "amount"]]
    plain.to_csv(root / "plain.csv", index=False)
    cdnow = report.load_config({"data": {"path": "data/cdnow_sample.csv.gz",
                                         "preset": "cdnow"}, "currency": "USD"})
    out = {}
    for name, cfg in (("synthetic", report.load_config("synthetic_crm", data=crm_dir)),
                      ("plain_csv", report.load_config(data=root / "plain.csv")),
                      ("cdnow", cdnow)):
        data = report.load_report_data(cfg.data, data=crm_dir if name == "synthetic" else None
                                       ) if name != "plain_csv" else report.load_report_data(
            cfg.data, data=root / "plain.csv")
        month = report._resolve_month(None, data.transactions)
        folder = root / f"{name}_data"
        report._save_data(data, folder)
        out[name] = (cfg, data, folder, month)
    return out


@pytest.mark.parametrize("dataset", ["synthetic", "plain_csv", "cdnow"])
@pytest.mark.parametrize("section", list(report.SECTIONS))
def test_every_section_builds_or_is_skipped_on_any_data(datasets, dataset, section):
    cfg, data, folder, month = datasets[dataset]
    reason = report.section_support(section, data, month=month)
    if reason is not None:
        # only sections that genuinely lack data are skipped
        assert (section, dataset) in {("campaigns", "plain_csv"), ("campaigns", "cdnow"),
                                      ("clv_by_channel", "plain_csv"),
                                      ("clv_by_channel", "cdnow")}, reason
        return
    shown = run_template_in_process(section, folder, cfg, month)
    assert shown, "the section displayed nothing"


@pytest.mark.notebooks
def test_plain_three_column_csv_gives_a_useful_pack_without_tracebacks(tmp_path, tiny_csv):
    plain = pd.read_csv(tiny_csv)[["customer_id", "date", "amount"]]
    path = tmp_path / "plain.csv"
    plain.to_csv(path, index=False)
    result = report.build_report(data=path, out=tmp_path / "out", progress=None,
                                 month="2024-04")
    assert result.ok, [(s.name, s.error) for s in result.sections]
    status = {s.name: s.status for s in result.sections}
    assert status == {"executive_summary": "ok", "segments": "ok", "least_profitable": "ok",
                      "cohorts": "ok", "clv_by_channel": "skipped", "campaigns": "skipped",
                      "predictions": "ok", "data_quality": "ok"}
    for page in (tmp_path / "out").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text and "could not be built" not in text, page
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in text, page


def test_a_failing_cell_shows_a_sentence_not_a_traceback():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError",
                                                  evalue="division by zero",
                                                  traceback=["Traceback ...", "1/0"])]
    clean = report._hide_tracebacks(nb)
    (out,) = clean.cells[0].outputs
    assert out.output_type == "stream" and "ZeroDivisionError" in out.text
    assert "Traceback" not in out.text
    assert nb.cells[0].outputs[0].output_type == "error"         # the notebook keeps it


# --------------------------------------------------------------------------- safe HTML

INJECT = ("[clickme](javascript:alert(1)) <img src=x onerror=alert(2)> "
          "`x</code><script>alert(3)</script>` <a href='javascript:alert(4)'>a</a>")


def assert_page_is_safe(page: str, name: str) -> None:
    assert "<script" not in page.lower(), name                       # none at all, ours included
    assert not re.search(r"""<[a-z][^>]*href\s*=\s*["']?\s*javascript:""", page, re.I), name
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page, re.I), name     # no event handlers
    for src in re.findall(r"""<img[^>]*\ssrc\s*=\s*["']([^"']*)""", page, re.I):
        assert src.startswith("data:image/png;base64,"), (name, src[:40])   # embedded only
    assert not re.search(r"""<[a-z][^>]*(src|href)\s*=\s*["']?https?://""", page, re.I), name


def test_sanitiser_neutralises_markdown_links_html_and_code_span_breakouts():
    import nbformat

    from clvkit._nbnormalize import notebook_to_html

    md = report.section_heading(INJECT, month="2024-03", section="S") + "\n\n" + INJECT
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": INJECT}),
                    nbformat.v4.new_output("display_data", data={"text/markdown": md}),
                    nbformat.v4.new_output("display_data", data={"text/html": INJECT}),
                    nbformat.v4.new_output("display_data",
                                           data={"application/javascript": "alert(5)"})]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(INJECT), cell])
    page = notebook_to_html(nb, title=INJECT)
    assert_page_is_safe(page, "synthetic notebook")
    assert "alert(5)" not in page
    assert "clickme" in page                                   # the text survives, as text


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
    result = report.build_report(config=cfg, out=root / "out", progress=None)
    return root / "out", result


@pytest.mark.notebooks
def test_injected_text_in_every_field_renders_as_text(hostile_pack):
    out, result = hostile_pack
    assert result.ok, [(s.name, s.error) for s in result.sections]
    assert {s.status for s in result.sections} == {"ok"}
    pages = sorted(out.glob("*.html"))
    assert len(pages) == 9
    for page in pages:
        assert_page_is_safe(page.read_text(encoding="utf-8"), page.name)
    campaigns = (out / "06-campaigns.html").read_text(encoding="utf-8")
    assert "camp [clickme](javascript:alert(1))" in campaigns            # shown as text
    channel = (out / "05-clv-by-channel.html").read_text(encoding="utf-8")
    assert "chan [clickme](javascript:alert(1))" in channel
    quality = (out / "08-data-quality.html").read_text(encoding="utf-8")
    assert "[f](javascript:alert(6))" in quality                          # the folder name
    assert figures(channel) >= 1                                           # figures embedded


def test_country_names_are_text_in_the_channel_sentence():
    table = pd.DataFrame({"value": [10.0, 5.0], "customers": [30, 40],
                          "customers_observed": [30, 40]},
                         index=pd.Index([INJECT, "France"], name="country"))
    table.attrs["group"] = "country"
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from clvkit._nbnormalize import sanitize_html

    html_text = markdown2html_mistune(report.clv_by_channel_text(table, currency="EUR",
                                                                 horizon=6))
    assert "<a " not in html_text and "<script" not in html_text and "<img" not in html_text
    assert sanitize_html(html_text) == html_text          # nothing left to strip


# --------------------------------------------------------------------------- installed wheel

@pytest.mark.notebooks
def test_installed_wheel_builds_a_report_from_outside_the_repository(tmp_path, tiny_csv):
    """Build the wheel, install it into a target folder (offline) and run ``clvkit report``.

    The run uses PYTHONPATH = target + the venv's site-packages (the target first, so it
    shadows the venv's editable install: checked), in a folder outside the repository.
    """
    import subprocess
    import sys
    import sysconfig
    import zipfile

    repo = Path(report.__file__).resolve().parent.parent
    dist, target, work = tmp_path / "dist", tmp_path / "target", tmp_path / "elsewhere"
    work.mkdir()
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(dist), str(repo)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = dist.glob("clvkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for section in report.SECTIONS.values():
        assert f"clvkit/templates/{section.template}" in names
    assert {f"clvkit/configs/{n}.yml" for n in report.shipped_configs()} <= names
    assert "clvkit/templates/html/clvkit_page.html.j2" in names
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                              "-q", "--target", str(target), str(wheel)],
                             capture_output=True, text=True, check=False)
    assert install.returncode == 0, install.stderr[-2000:]
    plain = pd.read_csv(tiny_csv)[["customer_id", "date", "amount"]]
    plain.to_csv(work / "sales.csv", index=False)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CLVKIT_DATA")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    where = subprocess.run([sys.executable, "-c", "import clvkit; print(clvkit.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(target)
    run = subprocess.run([sys.executable, "-c",
                          "import sys; from clvkit.cli import main; "
                          "sys.exit(main(['report', '--data', 'sales.csv', '--month', '2024-04',"
                          " '--out', 'out']))"],
                         cwd=work, env=env, capture_output=True, text=True, check=False,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    pages = sorted(p.name for p in (work / "out").glob("*.html"))
    assert "index.html" in pages and "01-executive-summary.html" in pages
    manifest = json.loads((work / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["path"] == "clvkit/configs/default.yml"
    assert manifest["inputs"][0]["path"] == "sales.csv"


# --------------------------------------------------------------------------- pages worth reading

@pytest.fixture(scope="module")
def crm_data(tmp_path_factory):
    """Synthetic CRM data (campaigns with costs and media, uncontacted customers) as a report
    reads them, and its last complete month."""
    from clvkit.synthetic import generate_crm, save_crm

    folder = save_crm(generate_crm(n_customers=300, months=8, seed=3),
                      tmp_path_factory.mktemp("crm") / "crm")
    data = report.load_report_data(report.load_config("synthetic_crm", data=folder).data,
                                   data=folder)
    return data, report._resolve_month(None, data.transactions)


def test_campaign_text_names_the_maxima_of_the_tables_shown(crm_data):
    data, month = crm_data
    touches = report.month_touches(data, month=month)
    window = report.month_touches(data, month=month, months=3)
    funnel_table, drop = report.campaign_funnel(window), report.campaign_dropout(window)
    text = report.campaign_text(touches, funnel_table, drop, month=month, currency="USD",
                                months=3)
    worst = drop["dropout_rate"].idxmax()
    shown = report.campaign_dropout_display(drop, currency="USD")
    rate = shown.loc[worst, "dropout rate"]
    assert f"highest dropout **{worst[0]}, message {worst[1]}** ({rate} of sends" in text.replace(
        "\\", "")
    assert rate == shown["dropout rate"].loc[drop["dropout_rate"].idxmax()]
    best = funnel_table["converted"].idxmax()
    assert f"best conversion per send **{best[0]}, message {best[1]}**" in text.replace("\\", "")


def test_campaign_costs_cost_per_conversion_and_roi_recompute(crm_data):
    data, month = crm_data
    touches = report.month_touches(data, month=month)
    res = report.campaign_results(data, touches)
    cid = res.index[0]
    mine = touches[touches["campaign_id"] == cid]
    cost = len(mine) * data.campaigns.loc[cid, "cost_per_send"]
    assert res.loc[cid, "cost"] == pytest.approx(cost)
    assert res.loc[cid, "cost_per_send"] == pytest.approx(data.campaigns.loc[cid,
                                                                            "cost_per_send"])
    converted = mine["converted"].sum()
    expected = cost / converted if converted else np.nan
    assert res.loc[cid, "cost_per_conversion"] == pytest.approx(expected, nan_ok=True)
    assert res.loc[cid, "roi"] == pytest.approx((mine["revenue"].sum() - cost) / cost)
    table = report.campaign_table(data, touches, currency="USD")
    assert {"medium", "cost per send", "cost per conversion", "ROI"} <= set(table.columns)
    # without campaign costs the configured cost per contact is used
    no_cost = dataclasses.replace(data, campaigns=data.campaigns.drop(columns="cost_per_send"))
    assert report.campaign_results(no_cost, touches, cost_per_contact=0.5).loc[
        cid, "cost"] == pytest.approx(0.5 * len(mine))
    assert report.campaign_table(no_cost, touches, currency="USD")["ROI"].eq("n/a").all()


def test_email_vs_sms_and_lift_against_customers_not_contacted(crm_data):
    data, month = crm_data
    touches = report.month_touches(data, month=month)
    mediums = report.medium_table(data, touches, currency="USD")
    assert sorted(mediums.index) == sorted(touches["medium"].astype(str).unique())
    assert mediums["sent"].sum() == len(touches)
    lift = report.contact_lift(data, touches, month=month)
    tx = data.transactions
    start = pd.Period(month, "M").start_time
    first = tx.groupby("customer_id")["date"].min()
    existing = set(first.index[first < start])
    buyers = set(tx.loc[(tx["date"] >= start) & (tx["date"] <= pd.Period(month, "M").end_time),
                        "customer_id"])
    contacted = existing & set(touches["customer_id"])
    not_contacted = existing - contacted
    assert lift.loc["contacted", "customers"] == len(contacted)
    assert lift.loc["not contacted", "customers"] == len(not_contacted) > 0
    rate = len(not_contacted & buyers) / len(not_contacted)
    assert lift.loc["not contacted", "purchase_rate"] == pytest.approx(rate)
    text = report.contact_lift_text(lift, month=month)
    assert "not decided at random" in text and "association" in text
    shown = report.contact_lift_display(lift, currency="USD")
    assert shown.loc["not contacted", "purchase rate"] == f"{rate * 100:.1f}%"
    everyone = touches.iloc[:0]
    assert report.contact_lift(data, everyone, month=month) is None


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


def test_small_groups_are_shown_but_not_called_best():
    text = report.clv_by_channel_text(channel_table(), currency="GBP", horizon=12)
    assert "**United Kingdom**" in text and "against £200.00 from France" in text
    assert "Switzerland" in text.split("Too few customers to rank")[1]
    assert "**Switzerland**" not in text
    # the value:CAC range ignores the small group too (Switzerland has the highest, 18.00)
    assert "18.00" not in text and "to 5.00 (France)" in text
    shown = report.clv_by_channel_display(channel_table(), currency="GBP")
    assert shown.loc["Switzerland", "ranked"] == "no (< 30 customers)"
    assert shown.loc["United Kingdom", "customers"] == 400
    assert shown.loc["other", "ranked"] == "no (pooled)"
    # with a smaller minimum the small group competes and wins
    assert "**Switzerland**" in report.clv_by_channel_text(channel_table(5), currency="GBP",
                                                          horizon=12)
    # no group large enough: nobody is best
    none = report.clv_by_channel_text(channel_table(1000), currency="GBP", horizon=12)
    assert "none is called best" in none and "**" not in none


def test_clv_by_channel_marks_groups_below_the_configured_minimum(crm_data):
    data, month = crm_data
    options = report.ReportOptions(min_group_size=40)
    table = report.clv_by_channel(data, month=month, horizon=3, options=options)
    assert table.attrs["min_group_size"] == 40
    expected = (table["customers_observed"] >= 40) & (table.index != "other")
    assert table["ranked"].tolist() == expected.tolist()
    assert report.ReportOptions().min_group_size == 30


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
        result = report.build_report(month="2024-04", config=cfg, out=root / run,
                                     progress=None)
        assert result.ok, [(s.name, s.error) for s in result.sections]
        outs.append(root / run)
    return outs


def test_privacy_option_is_checked_and_defaults_to_masking(tiny_csv):
    assert report.load_config(tiny_config(tiny_csv)).mask_ids is True
    cfg = report.load_config(tiny_config(tiny_csv, privacy={"mask_ids": False}))
    assert cfg.mask_ids is False
    with pytest.raises(ReportError, match=r"`privacy.mask_ids` must be true or false"):
        report.load_config(tiny_config(tiny_csv, privacy={"mask_ids": "yes"}))
    with pytest.raises(ReportError, match=r"unknown key\(s\) \['hide'\] in `privacy`"):
        report.load_config(tiny_config(tiny_csv, privacy={"hide": True}))


def test_masking_is_stable_and_consistent_across_tables(email_csv):
    data = report.load_report_data(report.load_config(tiny_config(email_csv)).data)
    masked = report.mask_customer_ids(data)
    ids = data.transactions["customer_id"]
    assert masked.transactions["customer_id"].tolist() == [report.mask_id(v) for v in ids]
    assert masked.transactions["customer_id"].nunique() == ids.nunique()
    assert not masked.transactions["customer_id"].str.contains("@").any()
    assert data.transactions["customer_id"].str.contains("@").all()      # input untouched


@pytest.mark.notebooks
def test_no_email_address_in_any_page_with_the_default_config(email_pack, email_csv):
    out = email_pack[0]
    emails = set(pd.read_csv(email_csv)["customer_id"].dropna())
    pattern = re.compile(r"user\d+@example\.com")
    pages = list(out.glob("*.html")) + list(out.glob("*.ipynb")) + list(out.glob("*.csv"))
    assert len(list(out.glob("*.html"))) == 3
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not pattern.search(text), page
    # the customers are shown, as pseudonyms
    least = (out / "03-least-profitable.html").read_text(encoding="utf-8")
    assert sum(report.mask_id(e) in least for e in emails) >= 5
    assert "pseudonyms" in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.notebooks
def test_target_lists_are_exported_linked_listed_and_identical_on_rerun(email_pack):
    out, again = email_pack
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    segments = next(s for s in manifest["sections"] if s["name"] == "segments")
    assert segments["exports"] == ["02-segments-at-risk.csv", "02-segments-win-back.csv"]
    listed = {o["path"] for o in manifest["outputs"]}
    page = (out / "02-segments.html").read_text(encoding="utf-8")
    for name in segments["exports"]:
        assert name in listed
        assert f'href="{name}"' in page
        assert sha(out / name) == sha(again / name)
        frame = pd.read_csv(out / name, dtype=str)
        assert list(frame.columns) == ["customer_id", "segment", "segment_last_month",
                                       "spend_to_date", "last_purchase"]
        assert frame["customer_id"].str.fullmatch(r"c-[0-9a-f]{12}").all()
    at_risk = pd.read_csv(out / "02-segments-at-risk.csv")
    assert set(at_risk["segment"]) <= set(report.AT_RISK_SEGMENTS)
    assert at_risk["spend_to_date"].is_monotonic_decreasing
    for name in ("02-segments.html", "02-segments.ipynb", "manifest.json"):
        assert sha(out / name) == sha(again / name), name


def test_target_list_csv_neutralises_formula_like_ids(tmp_path):
    movement = pd.DataFrame(
        {"previous": ["Champions", "At risk", "Lost"], "current": ["At risk", "At risk", "Lost"],
         "monetary": [500.0, 80.0, 10.0],
         "last_purchase": pd.to_datetime(["2024-01-02", "2024-02-03", "2023-05-01"])},
        index=pd.Index(['=HYPERLINK("http://x","y")', "+1234 5", "c"], name="customer_id"))
    movement["moved"] = movement["previous"] != movement["current"]
    lists = report.target_lists(movement)
    assert lists["win_back"].index.tolist() == ['=HYPERLINK("http://x","y")']
    assert lists["at_risk"].index.tolist() == ['=HYPERLINK("http://x","y")', "+1234 5"]
    paths = report.write_target_lists(lists, folder=tmp_path, prefix="02-segments")
    back = pd.read_csv(paths["at_risk"], dtype=str)
    assert back["customer_id"].tolist() == ['\'=HYPERLINK("http://x","y")', "'+1234 5"]
    assert not back["customer_id"].str.match(r"[=+\-@]").any()
    assert "[02\\-segments\\-win\\-back\\.csv](02-segments-win-back.csv): 1 win-back" in (
        report.target_lists_text(lists, paths))


def test_cohort_page_shows_sizes_weighted_averages_and_marks_the_first_cohort(tiny_data):
    matrix = report.cohort_retention(tiny_data, month="2024-04", cohorts=12)
    sizes = matrix.attrs["cohort_size"]
    table = report.cohort_sizes_table(matrix)
    assert table["customers"].tolist() == [int(v) for v in sizes]
    assert table["note"].iloc[0].startswith("* left-censored")
    assert (table["note"].iloc[1:] == "").all()
    later = matrix.iloc[1:]
    w = sizes.iloc[1:]
    reached = later[1].notna()
    expected = (later.loc[reached, 1] * w[reached]).sum() / w[reached].sum()
    text = report.cohort_text(matrix, month="2024-04")
    assert f"On average (weighted by cohort size) {expected * 100:.1f}%" in text
    import matplotlib

    matplotlib.use("Agg")
    ax = report.plot_cohort_retention(matrix)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"2024-01 (n={int(sizes.iloc[0])}) *"
    assert "0" not in [t.get_text() for t in ax.get_xticklabels()]
    matplotlib.pyplot.close("all")
