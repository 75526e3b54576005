"""Tests of clvkit.report.config: config validation, typed options, YAML checks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from clvkit.errors import ReportError
from clvkit.report.config import load_config
from clvkit.report.data import load_report_data

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import tiny_config  # noqa: E402


def test_default_config_is_online_retail_november_2011():
    cfg = load_config()
    assert cfg.name == "online_retail"
    assert cfg.month == "2011-11"
    assert cfg.currency == "GBP"
    assert Path(cfg.data["path"]).name == "online_retail.parquet"
    assert cfg.sections[0] == "executive_summary"

def test_shipped_synthetic_config_has_campaign_and_channel_sections():
    cfg = load_config("synthetic_crm")
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
        load_config(tiny_config(tiny_csv, **change))

def test_missing_config_file():
    with pytest.raises(ReportError, match=r"config file 'no/such.yml' not found.*shipped"):
        load_config("no/such.yml")

def test_duplicate_yaml_keys_are_errors(tmp_path, tiny_csv):
    path = tmp_path / "dup.yml"
    path.write_text(f"data: {tiny_csv}\noptions:\n  margin: 0.3\n  margin: 0.5\n",
                    encoding="utf-8")
    with pytest.raises(ReportError, match=r"key 'margin' is written twice.*lines 3 and 4"):
        load_config(path)

def test_relative_paths_resolve_against_the_config_folder_only(tmp_path, tiny_csv,
                                                                monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    shutil.copy(tiny_csv, folder / "shop.csv")
    (folder / "shop.yml").write_text("data: shop.csv\n", encoding="utf-8")
    (tmp_path / "shop.csv").write_text("not, the, file\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)                  # a same-named file in the working directory
    cfg = load_config(folder / "shop.yml")
    assert Path(cfg.data["path"]) == (folder / "shop.csv").resolve()
    (folder / "other.yml").write_text("data: ../shop.csv\n", encoding="utf-8")
    with pytest.raises(ReportError, match="relative to the config file's folder"):
        load_config(folder / "other.yml")
    data = load_report_data(cfg.data)
    assert data.source == "shop.csv"             # shown relative to the config's folder

def test_loader_errors_are_hinted_in_yaml_terms(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("cust,day,value\na,2024-01-05,3\n", encoding="utf-8")
    with pytest.raises(ReportError, match="could not load the report data") as err:
        load_report_data(load_config({"data": str(path)}).data)
    assert "load_transactions(" not in str(err.value)
    assert "`data: {columns: {customer_id: COLUMN" in str(err.value)

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
    cfg = load_config({"data": {"path": str(path), "dayfirst": True}})
    assert cfg.data["loader"] == {"dayfirst": True}
    load_report_data(cfg.data)
    assert seen["dayfirst"] is True

def test_yaml_config_unknown_key(tmp_path, tiny_csv):
    path = tmp_path / "bad.yml"
    path.write_text(f"data: {tiny_csv}\ntitel: typo\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"\['titel'\]"):
        load_config(path)

def test_old_benchmark_names_get_the_new_name(tiny_csv):
    with pytest.raises(ReportError, match="returning_share"):
        load_config(tiny_config(tiny_csv, benchmarks={"repeat_rate": 0.7}))
    with pytest.raises(ReportError, match="average_order_value"):
        load_config(tiny_config(tiny_csv, benchmarks={"aov": 40}))

def test_engine_option_is_validated():
    with pytest.raises(ReportError, match=r"options.engine.*'pandas', 'duckdb', 'spark'"):
        load_config({"data": "data/cdnow_sample.csv.gz",
                            "options": {"engine": "oracle"}})
    cfg = load_config({"data": "data/cdnow_sample.csv.gz", "options": {"engine": "duckdb"}})
    assert cfg.options["engine"] == "duckdb"

def test_privacy_option_is_checked_and_defaults_to_masking(tiny_csv):
    assert load_config(tiny_config(tiny_csv)).mask_ids is True
    cfg = load_config(tiny_config(tiny_csv, privacy={"mask_ids": False}))
    assert cfg.mask_ids is False
    with pytest.raises(ReportError, match=r"`privacy.mask_ids` must be true or false"):
        load_config(tiny_config(tiny_csv, privacy={"mask_ids": "yes"}))
    with pytest.raises(ReportError, match=r"unknown key\(s\) \['hide'\] in `privacy`"):
        load_config(tiny_config(tiny_csv, privacy={"hide": True}))
