"""Shipped data: checksums match data/SHA256SUMS (copied from shared/data/PROVENANCE.md)."""

import hashlib

import pytest

from clvkit.datasets import cdnow_summary, data_dir, load_donations


def checksums():
    lines = (data_dir() / "SHA256SUMS").read_text().splitlines()
    return [tuple(line.split()) for line in lines if line.strip()]


@pytest.mark.parametrize("digest, name", checksums())
def test_checksum(digest, name):
    assert hashlib.sha256((data_dir() / name).read_bytes()).hexdigest() == digest


def test_checksum_list_covers_data_files():
    listed = {name for _, name in checksums()}
    assert {"cdnow_sample.csv.gz", "cdnow_master.csv.gz", "online_retail.parquet",
            "donations.csv"} <= listed


def test_summary_and_donations():
    s = cdnow_summary()
    assert len(s) == 2357 and s.attrs["time_unit"] == "W"
    assert int(load_donations()["weights"].sum()) == 11104
