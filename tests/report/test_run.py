"""Tests of clvkit.report.run: end-to-end builds, publishing, safety of the HTML, the wheel.

The end-to-end builds start one Jupyter kernel per section (~2-4 s each), so they
use tiny data and two sections at most.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import clvkit.report.run as report_run
from clvkit.errors import ReportError
from clvkit.report.config import SECTIONS, TEMPLATE_DIR
from clvkit.report.data import mask_id, section_support
from clvkit.report.run import (
    _check_template_parameters,
    _hide_tracebacks,
    add_report_arguments,
    build_report,
    run_report_cli,
)
from clvkit.report.sections._common import section_heading
from clvkit.report.sections.segments import AT_RISK_SEGMENTS

sys.path.insert(0, str(Path(__file__).parent))
from report_helpers import (  # noqa: E402
    EVIL,
    INJECT,
    assert_page_is_safe,
    figures,
    run_template_in_process,
    sha,
    tiny_config,
)


def test_month_outside_data_range_is_refused_before_any_work(tiny_csv, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ReportError, match=r"month 2024-06 is outside the data's range of complete "
                                          r"months 2024-01..2024-04"):
        build_report(month="2024-06", config=tiny_config(tiny_csv), out=out,
                            progress=None)
    assert not out.exists() and list(tmp_path.iterdir()) == []

@pytest.mark.notebooks
def test_sections_the_data_cannot_support_are_skipped_with_a_note(tiny_csv, tmp_path):
    lines = []
    result = build_report(config=tiny_config(tiny_csv, sections=["campaigns",
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
        _check_template_parameters(SECTIONS["data_quality"],
                                          {"month": "2024-04", "colour": "red"})

@pytest.mark.notebooks
def test_report_writes_notebooks_html_index_and_manifest(built_twice):
    root, first, _, lines, _ = built_twice
    assert first.ok, first.sections
    names = sorted(p.name for p in (root / "a").iterdir())
    assert names == ["01-executive-summary.html", "01-executive-summary.ipynb",
                     "08-data-quality.html", "08-data-quality.ipynb", "index.html",
                     "kpis.csv", "manifest.json"]
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
        build_report(month="2024-04", config=tiny_config(tiny_csv), out=root / "a",
                            progress=None)
    assert sha(root / "a" / "index.html") == stamp

@pytest.mark.notebooks
def test_interrupted_run_leaves_no_half_report(tiny_csv, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_run, "_execute_sections", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_report(config=tiny_config(tiny_csv), out=tmp_path / "r", progress=None)
    assert list(tmp_path.iterdir()) == []
    # a rerun (no --force needed: nothing was left behind) completes
    monkeypatch.undo()
    config = {**tiny_config(tiny_csv), "sections": ["data_quality"]}
    result = build_report(config=config, out=tmp_path / "r", progress=None)
    assert result.ok and (tmp_path / "r" / "index.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]

@pytest.mark.notebooks
def test_failing_section_is_reported_and_others_finish(tiny_csv, tmp_path, monkeypatch, capsys):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, templates)
    nb = json.loads((templates / "01-executive-summary.ipynb").read_text(encoding="utf-8"))
    nb["cells"][4]["source"] = "raise ValueError('boom in the summary')"
    (templates / "01-executive-summary.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(report_run, "TEMPLATE_DIR", templates)
    config = tmp_path / "tiny.yml"
    config.write_text(yaml.safe_dump(tiny_config(tiny_csv)), encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_report_arguments(parser)
    code = run_report_cli(parser.parse_args(
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

@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="headless Chromium not installed (apt-get install -y chromium)")
@pytest.mark.notebooks
def test_report_renders_in_headless_chromium(built_twice, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "check_report_render", Path(__file__).parents[2] / "scripts" / "check_report_render.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    root, *_ = built_twice
    shots = tmp_path / "shots"
    assert check.main([str(root / "a"), "--keep", str(shots)]) == 0
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "01-executive-summary.png", "08-data-quality.png", "index.png"]

@pytest.mark.parametrize("dataset", ["synthetic", "plain_csv", "cdnow"])
@pytest.mark.parametrize("section", list(SECTIONS))
def test_every_section_builds_or_is_skipped_on_any_data(datasets, dataset, section):
    cfg, data, folder, month = datasets[dataset]
    reason = section_support(section, data, month=month)
    if reason is not None:
        # only sections that genuinely lack data are skipped
        assert (section, dataset) in {("campaigns", "plain_csv"), ("campaigns", "cdnow"),
                                      ("clv_by_channel", "plain_csv"),
                                      ("clv_by_channel", "cdnow")}, reason
        return
    shown = run_template_in_process(section, folder, cfg, month)
    assert shown, "the section displayed nothing"

def test_a_failing_cell_shows_a_sentence_not_a_traceback():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError",
                                                  evalue="division by zero",
                                                  traceback=["Traceback ...", "1/0"])]
    clean = _hide_tracebacks(nb)
    (out,) = clean.cells[0].outputs
    assert out.output_type == "stream" and "ZeroDivisionError" in out.text
    assert "Traceback" not in out.text
    assert nb.cells[0].outputs[0].output_type == "error"         # the notebook keeps it

def test_sanitiser_neutralises_markdown_links_html_and_code_span_breakouts():
    import nbformat

    from clvkit._nbnormalize import notebook_to_html

    md = section_heading(INJECT, month="2024-03", section="S") + "\n\n" + INJECT
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
    assert figures(campaigns) == 3          # funnel, message comparison, dropout
    channel = (out / "05-clv-by-channel.html").read_text(encoding="utf-8")
    assert "chan [clickme](javascript:alert(1))" in channel
    quality = (out / "08-data-quality.html").read_text(encoding="utf-8")
    assert "[f](javascript:alert(6))" in quality                          # the folder name
    assert figures(channel) >= 1                                           # figures embedded

@pytest.mark.notebooks
def test_no_email_address_in_any_page_with_the_default_config(email_pack, email_csv):
    out = email_pack[0]
    emails = set(pd.read_csv(email_csv)["customer_id"].dropna())
    pattern = re.compile(r"user\d+@example\.com")
    pages = list(out.glob("*.html")) + list(out.glob("*.ipynb")) + [
        p for p in out.glob("*.csv") if p.name != "target-lists-key.csv"]
    assert len(list(out.glob("*.html"))) == 3
    # the key back to the ids is the data owner's alone (mode 600), written beside the lists
    key = out / "target-lists-key.csv"
    assert not key.exists() or (key.stat().st_mode & 0o077) == 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not pattern.search(text), page
    # the customers are shown, as pseudonyms
    least = (out / "03-least-profitable.html").read_text(encoding="utf-8")
    assert sum(mask_id(e) in least for e in emails) >= 5
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
    assert set(at_risk["segment"]) <= set(AT_RISK_SEGMENTS)
    assert at_risk["spend_to_date"].is_monotonic_decreasing
    for name in ("02-segments.html", "02-segments.ipynb", "manifest.json"):
        assert sha(out / name) == sha(again / name), name

@pytest.mark.notebooks
def test_predictions_stream_every_customer_to_the_pack_identically_on_rerun(tmp_path):
    # issue 19: a generated shop (write_transactions_at_scale); the predictions page writes
    # 07-predictions-customers.parquet, lists it as an export, links it, same bytes on rerun
    from clvkit.synthetic import write_transactions_at_scale

    data = tmp_path / "shop.parquet"
    write_transactions_at_scale(data, n_customers=3000, frequency=2.0, seed=5)
    cfg = tiny_config(data, sections=["predictions"], currency="USD")
    cfg["data"] = {"path": str(data)}
    for run in ("a", "b"):
        result = build_report(month="2024-12", config=cfg, out=tmp_path / run, progress=None)
        assert result.ok, [(s.name, s.error) for s in result.sections]
    name = "07-predictions-customers.parquet"
    first, again = (tmp_path / run / name for run in ("a", "b"))
    assert first.read_bytes() == again.read_bytes()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    section = next(s for s in manifest["sections"] if s["name"] == "predictions")
    assert section["exports"] == [name]
    assert name in {o["path"] for o in manifest["outputs"]}
    assert f'href="{name}"' in (tmp_path / "a" / "07-predictions.html").read_text("utf-8")
    table = pd.read_parquet(first)
    assert len(table) == 3000 and table["customer_id"].is_unique
    assert table["customer_id"].str.fullmatch(r"c-[0-9a-f]{12}").all()   # pseudonyms
    assert (table["clv_margin_lower"] <= table["clv_margin_upper"]).all()
