"""The data sets shipped in ``data/`` (never downloaded at run time).

See ``data/README.md`` for provenance, licences and citations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataValidationError
from .io import LoadResult, load_transactions
from .parsing import ID_DTYPE

__all__ = ["data_dir", "load_cdnow", "load_online_retail", "cdnow_summary", "load_donations",
           "CDNOW_CALIBRATION_END", "CDNOW_OBSERVATION_END", "load_clvtools_apparel",
           "APPAREL_CALIBRATION_END"]

#: End of the 39-week calibration period used by Fader, Hardie & Lee (2005).
CDNOW_CALIBRATION_END = "1997-09-30"
#: Last day of the CDNOW data (78 weeks after 1 January 1997, less one day).
CDNOW_OBSERVATION_END = "1998-06-30"


def data_dir() -> Path:
    """Folder holding the shipped data: ``$CLVKIT_DATA`` or the repository's ``data/``.

    Examples
    --------
    >>> (data_dir() / "cdnow_sample.csv.gz").exists()
    True
    """
    env = os.environ.get("CLVKIT_DATA")
    path = Path(env) if env else Path(__file__).resolve().parent.parent / "data"
    if not path.is_dir():
        raise DataValidationError(f"data folder not found: {path}; set CLVKIT_DATA to the "
                                  "folder holding the shipped data sets")
    return path


def load_cdnow(kind: str = "sample") -> LoadResult:
    """CDNOW transactions (Fader & Hardie): ``kind="sample"`` (2,357 customers) or ``"master"``.

    Examples
    --------
    >>> cdnow = load_cdnow()
    >>> tx = cdnow.transactions
    >>> tx["customer_id"].nunique(), round(float(tx["amount"].sum()), 2)
    (2357, 244091.94)
    """
    files = {"sample": "cdnow_sample.csv.gz", "master": "cdnow_master.csv.gz"}
    if kind not in files:
        raise DataValidationError(f"`kind` must be one of {list(files)}, got {kind!r}")
    return load_transactions(data_dir() / files[kind], preset="cdnow")


def load_online_retail(**options) -> LoadResult:
    """UCI Online Retail (Chen, Sain & Guo 2012; CC BY 4.0), raw rows cleaned by the preset.

    Keyword options are passed to :func:`clvkit.load_transactions` (e.g. ``returns="net"``).

    Examples
    --------
    >>> retail = load_online_retail()
    >>> retail.rows_read, int(retail.log["rows"].sum())
    (541909, 541909)
    """
    return load_transactions(data_dir() / "online_retail.parquet", preset="online_retail",
                             **options)


def cdnow_summary(*, with_spend: bool = False) -> pd.DataFrame:
    """The published CDNOW calibration summary (x, t_x, T in weeks; 2,357 customers).

    Returns the columns under clvkit's names (``frequency``, ``recency``, ``T``
    and, with ``with_spend=True``, ``monetary_value``), indexed by ``customer_id``.

    Examples
    --------
    >>> cdnow_summary().loc["1"].to_dict()
    {'frequency': 2.0, 'recency': 30.43, 'T': 38.86}
    """
    if with_spend:
        raw = pd.read_csv(data_dir() / "cdnow_customers_summary_with_transactions.csv")
        raw = raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    else:
        raw = pd.read_csv(data_dir() / "cdnow_customers_summary.csv")
    out = raw.rename(columns={"ID": "customer_id"})
    out["customer_id"] = out["customer_id"].astype(str).astype(ID_DTYPE)  # ids are text
    out = out.set_index("customer_id")
    out.attrs["time_unit"] = "W"
    return out


def load_donations() -> pd.DataFrame:
    """BG/BB donations example (Fader, Hardie & Shang 2010): pattern counts of 11,104 donors.

    Examples
    --------
    >>> int(load_donations()["weights"].sum())
    11104
    """
    return pd.read_csv(data_dir() / "donations.csv")


#: Estimation end of CLVTools' apparel examples (``estimation.split = 104`` weeks).
APPAREL_CALIBRATION_END = "2006-12-31"


def load_clvtools_apparel() -> dict[str, Any]:
    """CLVTools' simulated apparel retailer (GPL-3; see ``data/clvtools_apparel/PROVENANCE.md``).

    Prepared as CLVTools does for its examples: zero-price purchases kept, same-day
    purchases one transaction, weekly, estimation end 2006-12-31.

    Returns
    -------
    dict
        ``transactions`` (`LoadResult`), ``summary`` (weekly RFM summary to the estimation
        end, indexed by ``customer_id``), ``static`` (``Gender`` 0 male / 1 female,
        ``Channel`` 0 online / 1 offline, indexed by ``customer_id``) and ``dynamic`` (the
        long weekly table: ``customer_id``, ``period``, ``High.Season``, ``Gender``,
        ``Channel``; the layout of `clvkit.models.ParetoNBDDynamic`).

    Examples
    --------
    >>> apparel = load_clvtools_apparel()
    >>> len(apparel["summary"]), int(apparel["summary"]["frequency"].sum())
    (600, 1266)
    """
    from .summary import rfm_summary

    folder = data_dir() / "clvtools_apparel"
    loaded = load_transactions(folder / "apparelTrans.csv", customer_id="Id", date="Date",
                               amount="Price", zero="keep", as_of="2020-01-01")
    summary = rfm_summary(loaded, observation_end=APPAREL_CALIBRATION_END, time_unit="W")
    static = pd.read_csv(folder / "apparelStaticCov.csv", dtype={"Id": ID_DTYPE})
    dynamic = pd.read_csv(folder / "apparelDynCov.csv.gz", dtype={"Id": ID_DTYPE}).rename(
        columns={"Id": "customer_id", "Cov.Date": "period"})
    static = static.rename(columns={"Id": "customer_id"}).set_index("customer_id")
    return {"transactions": loaded, "summary": summary, "static": static, "dynamic": dynamic}
