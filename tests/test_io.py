"""Tests of clvkit.io: the data contract, the cleaning log and every bad-input error."""

import hashlib
import io as _io

import pandas as pd
import pytest

import clvkit
from clvkit import DataValidationError, load_transactions
from clvkit.errors import ClvError


def raw_frame():
    return pd.DataFrame({
        "cust": [1, 1, 2, None, 3, 3, 3, 4, 5],
        "when": ["2024-01-02", "2024-01-05", "2024-01-03", "2024-01-03", "bad date",
                 "2024-01-07", "2024-01-07", "2099-01-01", "2024-01-09"],
        "value": [10.0, -4.0, 5.0, 8.0, 7.0, 3.0, 3.0, 9.0, 0.0],
    })


def test_every_row_is_accounted_for_and_revenue_reconciles():
    raw = raw_frame()
    res = load_transactions(raw, customer_id="cust", date="when", amount="value",
                            as_of="2025-01-01", duplicates="drop")
    log = res.log.set_index("reason")
    assert int(log["rows"].sum()) == len(raw) == res.rows_read
    assert log.loc["missing customer id", "rows"] == 1
    assert log.loc["unparsable date", "rows"] == 1
    assert log.loc["future or implausible date", "rows"] == 1
    assert log.loc["exact duplicate", "rows"] == 1
    assert log.loc["zero amount", "rows"] == 1
    assert log.loc["return / cancellation", "rows"] == 1
    assert log.loc["kept", "rows"] == 3
    assert log["amount"].sum() == pytest.approx(raw["value"].sum())
    assert res.transactions["amount"].sum() == pytest.approx(18.0)
    assert res.returns["amount"].tolist() == [-4.0]
    assert len(res.row_outcome) == len(raw)
    assert res.row_outcome.value_counts().sum() == len(raw)


def test_input_dataframe_is_not_modified():
    raw = raw_frame()
    before = raw.copy()
    load_transactions(raw, customer_id="cust", date="when", amount="value")
    pd.testing.assert_frame_equal(raw, before)


@pytest.mark.parametrize("policy, n_tx, n_ret", [("separate", 3, 1), ("net", 4, 1), ("drop", 3, 0)])
def test_returns_policy(policy, n_tx, n_ret):
    res = load_transactions(raw_frame(), customer_id="cust", date="when", amount="value",
                            returns=policy, as_of="2025-01-01", duplicates="drop")
    assert len(res.transactions) == n_tx
    assert len(res.returns) == n_ret
    assert int(res.log["rows"].sum()) == 9


@pytest.mark.parametrize("extra, expected", [
    ({}, "keep"),                                         # customer, date, amount only
    ({"order": ["o1", "o1", "o2"]}, "drop"),              # an order id tells repeats apart
    ({"when": ["2024-01-02 10:15"] * 2 + ["2024-01-03"]}, "drop"),  # so does a time of day
])
def test_duplicates_decided_from_the_file_and_logged(extra, expected):
    raw = pd.DataFrame({"cust": ["A", "A", "B"], "when": ["2024-01-02"] * 2 + ["2024-01-03"],
                        "value": [5.0, 5.0, 7.0], **extra})
    res = load_transactions(raw, customer_id="cust", date="when", amount="value",
                            order_id="order" if "order" in extra else None, as_of=None)
    assert len(res.transactions) == (3 if expected == "keep" else 2)
    [note] = [d for d in res.decisions if "repeats another row" in d]
    assert ("kept" if expected == "keep" else "dropped") in note
    assert f"duplicates='{'drop' if expected == 'keep' else 'keep'}'" in note
    # an explicit option wins and is not reported as a guess
    other = "drop" if expected == "keep" else "keep"
    res = load_transactions(raw, customer_id="cust", date="when", amount="value",
                            order_id="order" if "order" in extra else None, as_of=None,
                            duplicates=other)
    assert len(res.transactions) == (3 if other == "keep" else 2)
    assert not [d for d in res.decisions if "repeats another row" in d]


def test_keep_duplicates_and_zero():
    res = load_transactions(raw_frame(), customer_id="cust", date="when", amount="value",
                            duplicates="keep", zero="keep", as_of=None)
    assert len(res.transactions) == 6
    assert "future or implausible date" not in set(res.log["reason"])


def test_canonical_columns_and_order():
    res = load_transactions(raw_frame(), customer_id="cust", date="when", amount="value")
    assert list(res.transactions.columns) == ["customer_id", "date", "amount"]
    assert res.transactions["date"].is_monotonic_increasing
    # customer ids are text, exactly as written (issue 11: never 0042 -> 42)
    assert pd.api.types.is_string_dtype(res.transactions["customer_id"])


def test_missing_column_names_the_columns_found():
    with pytest.raises(DataValidationError, match=r"'CustomerID'.*Columns found: 'cust'"):
        load_transactions(raw_frame(), customer_id="CustomerID", date="when", amount="value")


def test_error_family():
    assert issubclass(DataValidationError, ClvError)
    assert issubclass(DataValidationError, ValueError)


def test_all_dates_unparsable():
    raw = pd.DataFrame({"customer_id": [1, 2], "date": ["x", "y"], "amount": [1.0, 2.0]})
    with pytest.raises(DataValidationError,
                       match=r"no value of column 'date' could be read as a date \(2 distinct"):
        load_transactions(raw)


def test_non_numeric_amount_column():
    raw = pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01"] * 2,
                        "amount": ["ten", "eleven"]})
    with pytest.raises(DataValidationError,
                       match=r"column 'amount' is not numeric: none of its 2 distinct values"):
        load_transactions(raw)


def test_some_amounts_unparsable_are_logged():
    raw = pd.DataFrame({"customer_id": [1, 2, 3], "date": ["2024-01-01"] * 3,
                        "amount": ["£1,200.50", "n/a", None]})
    res = load_transactions(raw)
    log = res.log.set_index("reason")["rows"]
    assert log["unparsable amount"] == 1 and log["missing amount"] == 1
    assert res.transactions["amount"].tolist() == [1200.5]


def test_blank_string_ids_are_missing():
    raw = pd.DataFrame({"customer_id": ["a", "  ", ""], "date": ["2024-01-01"] * 3,
                        "amount": [1.0, 2.0, 3.0]})
    res = load_transactions(raw)
    assert res.log.set_index("reason")["rows"]["missing customer id"] == 2


def test_empty_dataframe():
    with pytest.raises(DataValidationError, match="no rows"):
        load_transactions(pd.DataFrame(columns=["customer_id", "date", "amount"]))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataValidationError, match="empty"):
        load_transactions(path)


def test_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("customer_id,date,amount\n")
    with pytest.raises(DataValidationError, match="no rows"):
        load_transactions(path)


def test_non_utf8_csv_suggests_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,date,amount,product\n1,2024-01-01,2.5,caf\xe9\n"
                     .encode("cp1252"))
    with pytest.raises(DataValidationError, match="not valid utf-8.*encoding='cp1252'"):
        load_transactions(path)
    res = load_transactions(path, encoding="cp1252")
    assert len(res.transactions) == 1


def test_excel_named_csv(tmp_path):
    path = tmp_path / "sheet.csv"
    pd.DataFrame({"a": [1]}).to_excel(tmp_path / "real.xlsx")
    path.write_bytes((tmp_path / "real.xlsx").read_bytes())
    with pytest.raises(DataValidationError, match="looks like an Excel"):
        load_transactions(path)


def test_excel_file_loads(tmp_path):
    path = tmp_path / "tx.xlsx"
    pd.DataFrame({"customer_id": [1, 2], "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                  "amount": [3.0, 4.0]}).to_excel(path, index=False)
    assert load_transactions(path).transactions["amount"].sum() == 7.0


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(DataValidationError, match="directory"):
        load_transactions(tmp_path)
    with pytest.raises(DataValidationError, match="not found"):
        load_transactions(tmp_path / "nope.csv")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1garbage-garbage")
    with pytest.raises(DataValidationError, match="could not be read as parquet"):
        load_transactions(path)


def test_truncated_csv_gz(tmp_path):
    good = tmp_path / "t.csv.gz"
    pd.DataFrame({"customer_id": range(5000), "date": "2024-01-01",
                  "amount": 1.0}).to_csv(good, index=False)
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataValidationError, match="could not be read"):
        load_transactions(cut)


def test_unit_price_times_quantity():
    raw = pd.DataFrame({"id": [1, 1], "d": ["2024-01-01", "2024-01-02"], "q": [2, 3],
                        "p": [1.5, 2.0]})
    res = load_transactions(raw, customer_id="id", date="d", quantity="q", unit_price="p")
    assert res.transactions["amount"].tolist() == [3.0, 6.0]


def test_unknown_preset_and_policy():
    with pytest.raises(ClvError, match="preset"):
        load_transactions(raw_frame(), preset="nope")
    with pytest.raises(ClvError, match="returns"):
        load_transactions(raw_frame(), returns="keep")


def test_source_type_checked():
    with pytest.raises(DataValidationError, match="a file path, a DataFrame or a RawTable"):
        load_transactions(42)


def test_csv_file_never_modified(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n1,2024-01-01,5\n,2024-01-02,3\n")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    load_transactions(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_online_retail_preset_matches_provenance(online_retail):
    # data/PROVENANCE.md: 541,909 rows; sum(Quantity x UnitPrice) = 9,747,747.93 (all rows);
    # 135,080 rows without CustomerID; 4,372 customers.
    log = online_retail.log.set_index("reason")
    assert online_retail.rows_read == 541_909
    assert int(log["rows"].sum()) == 541_909
    assert round(float(log["amount"].sum()), 2) == 9_747_747.93
    assert log.loc["missing customer id", "rows"] == 135_080
    customers = set(online_retail.transactions["customer_id"]) | set(
        online_retail.returns["customer_id"])
    # one customer (13256) has a single zero-priced line, logged as "zero amount"
    assert len(customers) == 4_372 - 1
    assert log.loc["zero amount", "rows"] == 40
    assert (online_retail.transactions["amount"] > 0).all()
    assert online_retail.returns["order_id"].str.startswith("C").all()
    assert "country" in online_retail.transactions.columns


def test_cdnow_preset(cdnow):
    # data/PROVENANCE.md: 6,919 rows, 2,357 customers, $244,091.94
    assert cdnow.rows_read == 6_919
    assert len(cdnow.transactions) == 6_919
    assert cdnow.transactions["customer_id"].nunique() == 2_357
    assert round(float(cdnow.transactions["amount"].sum()), 2) == 244_091.94


def test_public_api():
    assert "load_transactions" in clvkit.__all__
    assert clvkit.__version__


def test_to_text_lists_reasons():
    res = load_transactions(pd.read_csv(_io.StringIO(
        "customer_id,date,amount\n1,2024-01-01,5\n,2024-01-02,3\n")))
    text = res.to_text()
    assert "missing customer id" in text and "2 rows read" in text


def test_optional_canonical_columns_picked_up_by_name():
    raw = pd.DataFrame({"customer_id": [1], "date": ["2024-01-01"], "amount": [2.0],
                        "order_id": ["o1"], "channel": ["web"], "other": [0]})
    res = load_transactions(raw)
    assert list(res.transactions.columns) == ["customer_id", "date", "amount", "order_id",
                                              "channel"]


def test_a_table_read_once_loads_like_its_file(tmp_path):
    from clvkit.reading import read_source

    path = tmp_path / "t.csv"
    path.write_text("customer_id;date;amount\nA;13/01/2024;1,50\nB;02/02/2024;2,00\n",
                    encoding="utf-8")
    table = read_source(path)
    from_table = load_transactions(table, as_of=None)
    from_file = load_transactions(path, as_of=None)
    pd.testing.assert_frame_equal(from_table.transactions, from_file.transactions)
    assert from_table.decisions == from_file.decisions and from_table.source == from_file.source
    assert any("';'" in d or "semicolon" in d for d in from_table.decisions)


def _purchases(n=8):
    return pd.DataFrame({"customer_id": [f"c{i % 3}" for i in range(n)],
                         "date": [f"2024-01-{i + 1:02d}" for i in range(n)],
                         "amount": [10.0 + i for i in range(n)]})


def test_dated_total_row_is_not_a_customer():
    # an export's trailing "Total" row with a date used to become a customer called
    # "Total" and double the revenue
    body = _purchases()
    total = pd.DataFrame({"customer_id": ["Total"], "date": ["2024-01-31"],
                          "amount": [body["amount"].sum()]})
    result = load_transactions(pd.concat([body, total], ignore_index=True))
    assert result.transactions["amount"].sum() == pytest.approx(body["amount"].sum())
    assert "Total" not in set(result.transactions["customer_id"])
    row = result.log.set_index("reason").loc["summary / total row"]
    assert row["rows"] == 1 and row["amount"] == pytest.approx(body["amount"].sum())
    assert "row 9: Total" in row["examples"]
    assert any("summary_rows='keep'" in d for d in result.decisions)
    assert result.log["rows"].sum() == result.rows_read == 9


def test_unlabelled_trailing_totals_are_dropped_and_keep_restores_them():
    body = _purchases(12)
    s = body["amount"].sum()
    totals = pd.DataFrame({"customer_id": [None, "ALL"], "date": [None, "2024-02-01"],
                           "amount": [s, s]})
    frame = pd.concat([body, totals], ignore_index=True)
    result = load_transactions(frame)
    assert result.log.set_index("reason").loc["summary / total row", "rows"] == 2
    kept = load_transactions(frame, summary_rows="keep")
    assert "summary / total row" not in set(kept.log["reason"])
    assert "ALL" in set(kept.transactions["customer_id"])


def test_a_last_purchase_that_is_not_a_total_is_kept():
    body = _purchases()
    body.loc[len(body) - 1, "amount"] = 99.0     # not the sum of the rows above
    result = load_transactions(body)
    assert len(result.transactions) == len(body)
    small = _purchases(6)                         # too few rows to call any row a total
    small.loc[5, "amount"] = small["amount"].iloc[:5].sum()
    assert len(load_transactions(small).transactions) == 6
    known = _purchases(12)                        # a known customer's big purchase
    known.loc[11, "amount"] = known["amount"].iloc[:11].sum()
    assert len(load_transactions(known).transactions) == 12


def test_the_revenue_bridge_removes_the_summary_rows_the_loader_drops():
    # with a dated "Total" row the report's independent bridge said December had the
    # file's total plus December's purchases: its reconciliation check failed
    from clvkit.reconcile import parse_raw, revenue_bridge

    body = _purchases(12)
    body["date"] = [f"2024-{1 + i % 12:02d}-05" for i in range(12)]
    total = pd.DataFrame({"customer_id": ["Total"], "date": ["2024-12-31"],
                          "amount": [body["amount"].sum()]})
    raw = pd.concat([body, total], ignore_index=True).astype(str)
    bridge = revenue_bridge(parse_raw(raw), as_of=None)
    loaded = load_transactions(raw, as_of=None).transactions
    by_month = loaded.groupby(loaded["date"].dt.to_period("M").astype(str))["amount"].sum()
    headline = bridge.xs("gross revenue", level="step")["amount"]
    assert headline.to_dict() == pytest.approx(by_month.to_dict())
    assert bridge.loc[("2024-12", "other exclusions"), "rows"] == 1


def test_duplicates_exact_across_many_columns_of_many_distinct_values():
    # 14 columns of ~4,000 distinct cells each: more row kinds than fit in one 64-bit code,
    # so the loader must keep its combined row code exact (issue 23 sped this up).
    n = 4000
    raw = pd.DataFrame({"cust": [i % 50 + 1 for i in range(n)],
                        "when": [f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(n)],
                        "value": [i + 1.0 for i in range(n)]})
    for k in range(12):
        raw[f"x{k}"] = [f"v{(i * 7 + k) % n}" for i in range(n)]
    padded = raw.iloc[[20]].copy()
    padded["x3"] = "\u200b " + padded["x3"] + " "        # equal after normalising
    other = raw.iloc[[30]].copy()
    other["x11"] = "another"                              # differs in the last column only
    raw = pd.concat([raw, raw.iloc[[10]], padded, other], ignore_index=True)
    res = load_transactions(raw, customer_id="cust", date="when", amount="value",
                            as_of="2025-01-01", duplicates="drop")
    dropped = res.row_outcome[res.row_outcome == "exact duplicate"].index.tolist()
    assert dropped == [n, n + 1]
