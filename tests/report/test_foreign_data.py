"""Reports on data analysts really have (issue 18): months, net revenue, foreign exports, CLI.

Unit-level tests (no kernel): the month logic, net revenue and its bridge, the
loader's readings of foreign exports generated in :mod:`foreign_data`, the
command line's options and the pack's extra files. End-to-end builds are in
``test_foreign_packs.py``.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clvkit.errors import ClvError, DataValidationError, ReportError
from clvkit.io import load_transactions
from clvkit.report.config import load_config, override_config
from clvkit.report.data import ReportData, load_report_data, mask_id
from clvkit.report.month import ReportMonth, report_month, resolve_month
from clvkit.report.sections.executive import (
    executive_summary_text,
    headline_numbers,
    monthly_returns,
)
from clvkit.report.sections.quality import (
    data_quality_table,
    data_quality_text,
    quality_checks,
    revenue_bridge_table,
)

sys.path.insert(0, str(Path(__file__).parent))
import foreign_data  # noqa: E402

SHOPIFY_COLUMNS = {"customer_id": "Email", "date": "Created at", "order_id": "Name",
                   "quantity": "Lineitem quantity", "unit_price": "Lineitem price"}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The four foreign exports and their truths."""
    root = tmp_path_factory.mktemp("foreign")
    return {"shopify": (root / "orders_export.csv",
                        foreign_data.shopify_export(root / "orders_export.csv")),
            "erp": (root / "erp.csv", foreign_data.erp_export(root / "erp.csv")),
            "saas": (root / "invoices.csv", foreign_data.saas_invoices(root / "invoices.csv")),
            "cdnow": (root / "CDNOW_master.txt",
                      foreign_data.whitespace_cdnow(root / "CDNOW_master.txt"))}


@pytest.fixture(scope="module")
def shopify_data(exports):
    path, _ = exports["shopify"]
    cfg = load_config({"data": {"path": str(path), "columns": SHOPIFY_COLUMNS,
                                "refunds": "Refunded Amount"}, "currency": "USD"})
    return load_report_data(cfg.data)


def _friday_data(**extra) -> ReportData:
    """Purchases from January to Friday 29 March 2024 (no sale on the weekend after)."""
    days = pd.to_datetime(["2023-02-03", "2023-03-05", "2023-03-20", "2024-01-05", "2024-02-02",
                           "2024-02-08", "2024-02-20", "2024-03-04", "2024-03-08", "2024-03-29"])
    tx = pd.DataFrame({"customer_id": list("abcabcabca"), "date": days,
                       "amount": [10.0, 20, 40, 10, 20, 30, 40, 5, 7, 9]})
    ret = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-02-09"]),
                        "amount": [-6.0]})
    return ReportData(tx, ret, pd.DataFrame(), len(tx) + 1, "x", **extra)


# --------------------------------------------------------------------------- §1 any month

def test_a_month_is_complete_when_the_extract_date_reaches_its_last_day():
    data = _friday_data()
    tx = data.transactions
    # the file ends on Friday 29 March: March is not complete by default...
    assert resolve_month(None, tx).month == "2024-02"
    with pytest.raises(ReportError, match="still in progress.*--partial.*--as-of"):
        resolve_month("2024-03", tx)
    # ...but is once the data are known to be extracted on 31 March (a weekend)
    assert resolve_month("2024-03", tx, as_of="2024-03-31").month == "2024-03"
    assert resolve_month(None, tx, as_of="2024-03-31").month == "2024-03"
    with pytest.raises(ReportError, match="outside the data's range of complete months"):
        resolve_month("2024-05", tx)


def test_as_of_comes_from_config_or_command_line(tmp_path):
    path = tmp_path / "t.csv"
    _friday_data().transactions.to_csv(path, index=False)
    cfg = load_config({"data": {"path": str(path), "as_of": "2024-03-31"}})
    assert cfg.data["as_of"] == "2024-03-31"
    assert override_config(load_config({"data": str(path)}), as_of="2024-03-31"
                           ).data["as_of"] == "2024-03-31"
    with pytest.raises(ReportError, match="--as-of must be a day written YYYY-MM-DD"):
        override_config(cfg, as_of="31.03.2024")


def test_partial_month_is_labelled_and_compared_like_for_like():
    full = _friday_data()
    tx = full.transactions.loc[full.transactions["date"] <= "2024-03-10"]   # as the loader cuts
    data = ReportData(tx, full.returns, pd.DataFrame(), len(tx) + 1, "x", as_of="2024-03-10")
    month = resolve_month("2024-03", data.transactions, as_of="2024-03-10", partial=True)
    assert month.partial and month.days == 10
    assert month.label == "1-10 March 2024 (month in progress)"
    assert "Comparisons are like for like" in month.note()
    head = headline_numbers(data, month="2024-03")
    # March 1-10: 5 + 7; February 1-10: 20 + 30 (not the 40 of 20 Feb); March 1-10 2023: 0
    assert head.loc["revenue", "value"] == 12.0
    assert head.loc["revenue", "previous"] == 50.0
    assert head.loc["net_revenue", "previous"] == 44.0       # the return of 9 Feb is in
    assert head.attrs["partial_days"] == 10
    complete = headline_numbers(_friday_data(), month="2024-03")
    assert complete.loc["revenue", "previous"] == 90.0        # the whole of February
    assert "over days 1-10 of March 2024" in executive_summary_text(head, month="2024-03",
                                                                    currency="EUR")


def test_like_for_like_cut_of_a_longer_month_stops_at_the_shorter_months_end():
    month = ReportMonth("2024-03", as_of=pd.Timestamp("2024-03-30"))
    assert month.comparison_end(1) == pd.Timestamp("2024-02-29 23:59:59.999999999")
    assert report_month(_friday_data(), "2024-03").partial is False   # no as_of: complete


def test_every_page_gets_the_partial_banner_and_a_link_back_to_the_index():
    from clvkit.report.run import page_banner

    partial = page_banner(ReportMonth("2024-03", pd.Timestamp("2024-03-10")))
    assert partial.startswith("[&larr; Report index](index.html)")
    assert "Month in progress" in partial and "days 1-10" in partial
    assert "Month in progress" not in page_banner(ReportMonth("2024-02",
                                                              pd.Timestamp("2024-03-10")))


# --------------------------------------------------------------------------- §2 net revenue

def test_net_revenue_is_gross_minus_returns_and_refunds():
    data = _friday_data()
    tx = data.transactions.assign(refunded=[0.0] * 9 + [4.0])       # 4 refunded on 29 March
    data = ReportData(tx, data.returns, pd.DataFrame(), 11, "x")
    assert monthly_returns(data).to_dict() == {pd.Period("2024-02", "M"): 6.0,
                                               pd.Period("2024-03", "M"): 4.0}
    head = headline_numbers(data, month="2024-03")
    assert head.index[:3].tolist() == ["net_revenue", "revenue", "returns"]
    assert head.loc["revenue", "value"] == 21.0
    assert head.loc["returns", "value"] == 4.0
    assert head.loc["net_revenue", "value"] == 17.0
    assert head.loc["net_revenue", "previous"] == 84.0            # 90 - the return of 6


def test_the_revenue_sentence_never_makes_a_part_larger_than_its_whole(tmp_path):
    # returns make the file's rows add up to less than gross revenue
    rows = [("a", "2024-01-05", "100"), ("b", "2024-01-06", "50"), ("a", "2024-01-20", "-60"),
            ("c", "2024-02-03", "10")]
    path = tmp_path / "r.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    data = load_report_data(load_config({"data": str(path)}).data)
    head = headline_numbers(data, month="2024-01")
    text = executive_summary_text(head, month="2024-01", currency="EUR")
    assert "of the €" not in text and "adds up to €90.00" in text
    assert "**Net revenue** €90.00 = gross revenue (sales) €150.00 - returns and refunds €60.00"\
        in text
    bridge = revenue_bridge_table(data, month="2024-01", currency="EUR")
    assert bridge.loc["= gross revenue", "amount (EUR)"] == "€150.00"
    assert bridge.loc["- returns and refunds", "amount (EUR)"] == "€60.00"
    assert bridge.loc["= net revenue", "amount (EUR)"] == "€90.00"
    assert quality_checks(data)["ok"].all()


def test_shopify_multi_line_orders_are_carried_down_and_refunds_netted(exports, shopify_data):
    _, truth = exports["shopify"]
    data = shopify_data
    # nothing is dropped as "missing date" any more: every line is a purchase
    assert int(data.log.loc[data.log["reason"] == "kept", "rows"].sum()) == len(truth)
    assert "missing date" not in set(data.log["reason"])
    carried = [d for d in data.decisions if "multi-line order" in d]
    assert carried and "carried down within the order id" in carried[0]
    # dates with +0100/+0200 offsets are converted to UTC before the month is taken
    utc = truth["date"] - pd.to_timedelta(np.where(truth["date"].dt.month.between(4, 9), 2, 1),
                                          unit="h")
    by_month = truth["amount"].groupby(utc.dt.to_period("M")).sum()
    refunds = truth["refunded"].groupby(utc.dt.to_period("M")).sum()
    head = headline_numbers(data, month="2024-02")
    period = pd.Period("2024-02", "M")
    assert head.loc["revenue", "value"] == pytest.approx(by_month[period], abs=0.005)
    assert head.loc["returns", "value"] == pytest.approx(refunds[period], abs=0.005)
    assert head.loc["net_revenue", "value"] == pytest.approx(
        by_month[period] - refunds[period], abs=0.005)
    checks = quality_checks(data)
    assert checks["ok"].all(), checks.loc[~checks["ok"]]
    assert any(name.startswith("net revenue") for name in checks.index)


def test_german_erp_total_leaves_out_the_summe_row(exports):
    path, truth = exports["erp"]
    cfg = load_config({"data": {"path": str(path), "encoding": "cp1252", "columns": {
        "customer_id": "Kundennummer", "date": "Belegdatum", "amount": "Betrag"}},
        "currency": "EUR"})
    data = load_report_data(cfg.data)
    sales = round(truth["amount"].sum(), 2)
    assert data.file_totals["amount"] == pytest.approx(sales)           # not twice the sales
    assert data.file_totals["summary_rows"] == 1
    assert data.file_totals["unreadable_date_rows"] == 0      # the Summe row has no date
    checks = quality_checks(data)
    assert checks.loc["log: kept + returns + dropped = input total", "expected"] == \
        pytest.approx(sales)
    table = data_quality_table(data, currency="EUR")
    total = table.loc["total (input, without summary rows)", "amount (EUR)"]
    assert total == f"{sales:,.2f}"
    # the rows of that total leave the summary row out too, as its label says
    assert table.loc["total (input, without summary rows)", "rows"] == len(truth)
    assert quality_checks(data)["ok"].all()
    assert data_quality_text(data, currency="EUR").startswith(
        f"{len(truth) + 1:,} rows were read from ")


def test_the_log_never_says_rows_read_from_nan():
    raw = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-02"], "amount": [5.0]})
    result = load_transactions(raw, as_of=None)
    nameless = ReportData(result.transactions, result.returns, result.log, 1, float("nan"))
    text = data_quality_text(nameless, currency="EUR")
    assert "from nan" not in text and "1 rows were read from the input" in text
    from dataclasses import replace

    assert "from nan" not in replace(result, source=None).to_text()


# --------------------------------------------------------------------------- §5 loader & CLI

def test_whitespace_cdnow_master_as_other_libraries_ship_it(exports):
    path, truth = exports["cdnow"]
    with pytest.raises(DataValidationError, match="the separator must be one character, or "
                                                  "sep='whitespace'"):
        load_transactions(path, preset="cdnow", sep="  ")
    result = load_transactions(path, preset="cdnow", sep="whitespace", as_of=None)
    assert result.rows_read == len(truth)
    assert result.transactions["amount"].sum() == pytest.approx(truth["amount"].sum())
    assert set(result.transactions["customer_id"]) == {f"{int(c):>6d}".strip()
                                                       for c in truth["customer_id"]}
    assert any("no header row" in d for d in result.decisions)
    # without a preset the columns are named by position and the message says how to map them
    with pytest.raises(DataValidationError, match="column_1"):
        load_transactions(path, sep="whitespace")


def test_a_per_customer_summary_file_gets_a_message_that_says_so():
    with pytest.raises(DataValidationError, match="already a per-customer summary"):
        load_transactions("data/cdnow_customers_summary.csv")


def test_columns_matching_a_preset_suggest_it():
    raw = pd.read_parquet("data/online_retail.parquet").head(50)
    with pytest.raises(DataValidationError, match=r"match the preset 'online_retail'.*"
                                                  r"--preset online_retail"):
        load_transactions(raw)


def test_report_command_takes_the_loaders_options(monkeypatch, tmp_path):
    import clvkit.report.run as run
    from clvkit.cli import main

    seen = {}

    def fake_build(**kwargs):
        seen.update(kwargs)
        raise ReportError("stop here")

    monkeypatch.setattr(run, "build_report", fake_build)
    code = main(["report", "--data", "x.csv", "--customer-id", "Email", "--date", "Created at",
                 "--order-id", "Name", "--sep", "whitespace", "--decimal", ",", "--dayfirst",
                 "--encoding", "cp1252", "--refunds", "Refunded Amount", "--sheet", "1",
                 "--as-of", "2024-03-31", "--partial", "--no-mask"])
    assert code == 2
    assert seen["columns"] == {"customer_id": "Email", "date": "Created at", "order_id": "Name"}
    assert seen["loader"] == {"sep": "whitespace", "decimal": ",", "dayfirst": True,
                              "encoding": "cp1252", "refunds": "Refunded Amount", "sheet": "1"}
    assert seen["as_of"] == "2024-03-31" and seen["partial"] is True
    assert seen["mask_ids"] is False
    main(["report", "--data", "x.csv"])
    assert seen["loader"] == {} and seen["mask_ids"] is None and seen["partial"] is False


def test_command_line_options_reach_the_config():
    cfg = override_config(load_config("default", data="x.csv"),
                          columns={"customer_id": "Email", "date": None},
                          loader={"sep": "whitespace"}, mask_ids=False)
    assert cfg.data["columns"] == {"customer_id": "Email"}
    assert cfg.data["loader"] == {"sep": "whitespace"} and cfg.mask_ids is False
    with pytest.raises(ReportError, match="unknown key"):
        override_config(cfg, loader={"colour": "blue"})


def test_target_list_key_is_written_for_the_owner_only(tmp_path, shopify_data):
    from clvkit.report.exports import KEY_FILE, write_target_key

    emails = sorted(set(shopify_data.transactions["customer_id"]))[:3]
    listed = pd.DataFrame({"customer_id": [mask_id(e) for e in emails], "spend": [1, 2, 3]})
    listed.to_csv(tmp_path / "02-segments-at-risk.csv", index=False)
    path = write_target_key(shopify_data, tmp_path)
    assert path.name == KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = pd.read_csv(path, dtype="string")
    assert dict(zip(key["pseudonym"], key["customer_id"], strict=True)) == {
        mask_id(e): e for e in emails}


def test_kpis_csv_holds_registry_names_values_comparisons_definitions(tmp_path):
    from clvkit.metrics import METRICS
    from clvkit.report.exports import KPI_COLUMNS, write_kpis

    head = headline_numbers(_friday_data(), month="2024-02")
    path = write_kpis(head, tmp_path / "kpis.csv",
                      period=ReportMonth("2024-02", pd.Timestamp("2024-03-29")))
    table = pd.read_csv(path)
    assert tuple(table.columns) == KPI_COLUMNS
    assert table["metric"].tolist() == head.index.tolist()
    row = table.set_index("metric").loc["net_revenue"]
    assert row["value"] == head.loc["net_revenue", "value"] == 84.0
    assert row["previous"] == 10.0 and row["definition"] == METRICS["net_revenue"].definition
    assert not table["formula"].str.startswith("'").any()     # no spreadsheet quoting needed


# --------------------------------------------------------------------------- §4 and §6

def test_charts_carry_alt_text_from_their_titles():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from clvkit.report.page import Chart, section_page

    fig, axes = plt.subplots(1, 2)
    axes[0].set_title("Net revenue")
    axes[1].set(title="Churn rate", ylabel="share")
    fig.suptitle("January to March")
    page = section_page("executive_summary", title="t", month="2024-03",
                        figures={"trends": axes[0]})
    chart = page.figures["trends"]
    assert isinstance(chart, Chart) and chart.figure is fig
    assert chart.alt == ("Chart: January to March. 2 panels: Net revenue, Churn rate "
                         "(y: share).")
    png, meta = chart._repr_png_()
    assert png[:4] == b"\x89PNG" and meta == {"alt": chart.alt}


def test_page_helpers_have_public_names_and_the_old_names_still_import():
    from clvkit.report import month, page
    from clvkit.report.sections import _common

    assert _common._fmt is page.fmt and _common._text is page.md_text
    assert _common._upto is month.upto and _common._month_end is month.month_end
    with pytest.raises(ClvError):
        month.check_month("2024-13", "month")


def test_a_change_driven_by_one_invoice_is_flagged(exports):
    path, truth = exports["saas"]
    cfg = load_config({"data": {"path": str(path), "as_of": "2024-03-31", "columns": {
        "customer_id": "account", "date": "invoice_date", "amount": "total",
        "order_id": "invoice"}}, "currency": "USD"})
    data = load_report_data(cfg.data)
    head = headline_numbers(data, month="2024-03")
    text = executive_summary_text(head, month="2024-03", currency="USD", data=data)
    big = truth.loc[truth["total"] == 48000.0, "invoice"].item()
    assert head.loc["net_revenue", "value"] < head.loc["net_revenue", "last_year"]
    assert "**Driven by one order:** the change in net revenue on March 2023" in text
    assert f"order {big.replace('-', chr(92) + '-')} of $48,000" in text   # Markdown-escaped
    march = truth.loc[truth["invoice_date"].str.startswith("2024-03"), "total"].sum()
    before = truth.loc[truth["invoice_date"].str.startswith("2023-03"), "total"].sum() - 48000
    without = march / before - 1
    assert f"without it, net revenue is {'up' if without > 0 else 'down'} {abs(without):.1%}" \
        in text
    # an ordinary month is not flagged
    quiet = headline_numbers(data, month="2023-11")
    assert "Driven by one order" not in executive_summary_text(quiet, month="2023-11",
                                                               currency="USD", data=data)


def test_small_samples_and_the_churn_lag_are_stated():
    from clvkit.report.run import small_sample_note
    from clvkit.report.sections.executive import definitions_text

    data = _friday_data()
    head = headline_numbers(data, month="2024-02")
    assert small_sample_note(head, month="2024-02").startswith(
        "Small sample: only 3 customers bought in February 2024")
    big = head.copy()
    big.loc["active_customers", "value"] = 500
    assert small_sample_note(big, month="2024-02") == ""
    text = definitions_text(data, month="2024-02", currency="EUR")
    assert "churn in April counts customers whose last purchase was in January" in text


def test_a_gap_is_flagged_where_it_distorts_later_months(tmp_path):
    # CDNOW without March 1998: April's churn would count everyone who "skipped" March
    raw = pd.read_csv("data/cdnow_sample.csv.gz", dtype={"customer_id": str})
    path = tmp_path / "cdnow_no_march.csv"
    raw.loc[~raw["date"].str.startswith("1998-03")].to_csv(path, index=False)
    data = load_report_data(load_config({"data": {"path": str(path), "preset": "cdnow"},
                                         "currency": "USD"}).data)
    head = headline_numbers(data, month="1998-04")
    assert np.isnan(head.loc["churn_rate", "value"])
    assert np.isnan(head.loc["retention_rate", "value"])
    text = executive_summary_text(head, month="1998-04", currency="USD")
    assert "**Distorted by a data gap:** churn rate" in text and "of 1998-04" in text
    june = headline_numbers(data, month="1998-06")
    assert np.isnan(june.loc["churn_rate", "value"])
    assert not np.isnan(june.loc["retention_rate", "value"])     # retention looks back 1 month


def test_month_logic_lives_in_one_module_and_run_jobs_in_their_own():
    from clvkit.report import command, config, data, index, kernels, manifest, month, publish, run

    assert config._check_month is month.check_month
    assert not hasattr(data, "_resolve_month") and not hasattr(data, "_month_range")
    for job, name in ((kernels, "_execute_sections"), (manifest, "_write_manifest"),
                      (index, "_index_html"), (publish, "_publish"),
                      (command, "run_report_cli")):
        assert getattr(run, name) is getattr(job, name)      # old names still importable
        assert getattr(job, name).__module__ == job.__name__


def test_pack_files_are_written_through_clvkit_outputs(tmp_path):
    from clvkit.outputs import OutputError
    from clvkit.report.exports import write_kpis

    head = headline_numbers(_friday_data(), month="2024-02")
    period = ReportMonth("2024-02", pd.Timestamp("2024-03-29"))
    write_kpis(head, tmp_path / "kpis.csv", period=period)
    with pytest.raises(OutputError, match="already exists"):      # never replaced silently
        write_kpis(head, tmp_path / "kpis.csv", period=period)


def test_a_partial_months_recency_is_measured_to_the_extract_date(monkeypatch):
    import clvkit.segments
    from clvkit.report.sections.segments import segment_movement

    seen = []
    real = clvkit.segments.rfm_scores

    def spy(*args, **kwargs):
        seen.append(kwargs["observation_end"])
        return real(*args, **kwargs)

    monkeypatch.setattr(clvkit.segments, "rfm_scores", spy)
    full = _friday_data()
    tx = full.transactions.loc[full.transactions["date"] <= "2024-03-10"]
    partial = ReportData(tx, full.returns, pd.DataFrame(), len(tx), "x", as_of="2024-03-10")
    segment_movement(partial, month="2024-03")
    # this month scored at the extract date; last month at its own (complete) end
    assert seen == [pd.Timestamp("2024-03-10"), pd.Timestamp("2024-02-29")]


def test_report_command_hints_name_options_not_yaml(exports, tmp_path, capsys):
    from clvkit.cli import main

    path, _ = exports["erp"]
    assert main(["report", "--data", str(path), "--out", str(tmp_path / "r")]) == 2
    error = capsys.readouterr().err
    assert "pass --encoding 'cp1252'" in error and "data: {" not in error
    assert main(["report", "--data", str(exports["shopify"][0]),
                 "--out", str(tmp_path / "r")]) == 2
    assert "--customer-id 'COLUMN' --date 'COLUMN'" in capsys.readouterr().err
    # a --config user keeps the config's YAML terms
    config = tmp_path / "report.yaml"
    config.write_text(f"data:\n  path: {path}\n", encoding="utf-8")
    assert main(["report", "--config", str(config), "--out", str(tmp_path / "r")]) == 2
    assert "`data: {encoding: 'cp1252'}`" in capsys.readouterr().err


def test_shopify_order_total_on_the_first_line_is_not_an_unreadable_amount(exports):
    from clvkit.io import ORDER_LINE

    path, _ = exports["shopify"]
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    first = raw["Total"] != ""
    cfg = load_config({"data": {"path": str(path), "refunds": "Refunded Amount", "columns": {
        "customer_id": "Email", "date": "Created at", "amount": "Total", "order_id": "Name"}},
        "currency": "USD"})
    data = load_report_data(cfg.data)
    log = data.log.set_index("reason")
    assert log.loc[ORDER_LINE, "rows"] == (~first).sum() > 0
    assert log.loc[ORDER_LINE, "amount"] == 0.0
    assert "missing amount" not in log.index
    assert log["rows"].sum() == len(raw)                  # every input row accounted for
    assert data.transactions["amount"].sum() == pytest.approx(raw.loc[first, "Total"]
                                                              .astype(float).sum())
    assert data.file_totals["unreadable_amount_rows"] == 0
    assert data.file_totals["order_line_rows"] == (~first).sum()
    steps = data.bridge.groupby("step")["rows"].sum()
    assert steps["unreadable amount"] == 0
    assert steps["order lines (amount on the order's first line)"] == (~first).sum()
    assert quality_checks(data)["ok"].all()
    text = data_quality_text(data, currency="USD")
    assert "could not be read" not in text and "further lines of multi-line orders" in text
    assert log.loc[ORDER_LINE, "action"] == "counted in its order"


def test_kpis_csv_writes_money_to_the_cent_and_counts_as_integers(tmp_path):
    from clvkit.metrics import METRICS
    from clvkit.report.exports import write_kpis

    head = headline_numbers(_friday_data(), month="2024-02")
    head.loc["net_revenue", "value"] = 16446.879999999994     # float noise of a sum
    head.loc["orders", "previous"] = 344.0
    path = write_kpis(head, tmp_path / "kpis.csv",
                      period=ReportMonth("2024-02", pd.Timestamp("2024-03-29")))
    text = path.read_text(encoding="utf-8")
    assert "16446.879999" not in text and "344.0" not in text
    table = pd.read_csv(path, dtype={"value": str, "previous": str}).set_index("metric")
    assert table.loc["net_revenue", "value"] == "16446.88"
    assert table.loc["orders", "previous"] == "344"
    counts = [m for m in table.index if m in METRICS and METRICS[m].unit == "count"]
    assert counts and not table.loc[counts, "value"].dropna().str.contains(".", regex=False).any()


def test_the_partial_month_line_says_month_in_progress_once(monkeypatch, tmp_path):
    import clvkit.report.run as run

    def stop(*_args, **_kwargs):
        raise ReportError("stop here")

    monkeypatch.setattr(run, "headline_numbers", stop)
    lines = []
    _friday_data().transactions.to_csv(tmp_path / "tx.csv", index=False)
    with pytest.raises(ReportError, match="stop here"):
        run.build_report(data=str(tmp_path / "tx.csv"), month="2024-03", partial=True,
                         as_of="2024-03-15", out=tmp_path / "r", progress=lines.append)
    line = next(x for x in lines if "progress" in x)
    assert line.lower().count("month in progress") == 1, line
    assert "days 1-15" in line and "March 2024" in line


def test_report_without_shipped_data_suggests_data_file(monkeypatch, tmp_path, capsys):
    from clvkit.cli import main

    monkeypatch.setenv("CLVKIT_DATA", str(tmp_path / "absent"))   # an installed wheel
    assert main(["report"]) == 2
    error = capsys.readouterr().err
    assert "clvkit report --data FILE" in error and "CLVKIT_DATA" in error
