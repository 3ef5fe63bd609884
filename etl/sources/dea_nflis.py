"""DEA NFLIS-Drug: lab reports of fentanyl and fentanyl-related substances, by state and half-year.

NFLIS-Drug counts the drugs that federal, state and local forensic laboratories identify in the
items law enforcement submits to them. The file is a Data Query System (DQS) export of drug
category 33 ("Fentanyl and Fentanyl-related"), all lab types, by state and half-year, one row per
substance; only non-zero cells are listed. ``transform`` sums reports per substance group (the
file's ``BASE_DESCRIPTION``), state and half-year, fills the missing cells with 0, and adds US as
the sum of every row of the file (the DQS gives no national row). Half-years are dated Jan 1 and
Jul 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from etl.errors import ParseError
from etl.http import RawFile
from etl.reference import geo_table, iso_by_postal

if TYPE_CHECKING:
    from etl.pipeline import FetchContext
    from etl.snapshot import Snapshot

SOURCE_ID = "dea_nflis"
# The DQS builds exports on demand behind a free login; there is no public file URL. Point this
# at an export (the query described in the module docstring) to refresh; the DQS front page
# answers with HTML, which the HTTP client refuses, so a refresh fails loudly and keeps the seed.
DOWNLOAD_URL = "https://www.nflis.deadiversion.usdoj.gov/"
FILE_NAME = "NFLIS_Drug_DQS.csv"

COLUMNS = ["LABTYPE", "RPTAGGR", "YYYY", "PERIOD", "DRUG_REPORTS", "QUERY_RUN_DATE", "BASE_DESCRIPTION",
           "DRUG_CATEGORY_CODE", "STATE"]
# What the query must have been: any other export (one lab type, exhibits, another category)
# counts something else and must not be read as this series.
EXPECTED = {
    "LABTYPE": "Local/Municipal,State,Federal,Private",
    "RPTAGGR": "DrugReport",            # written "DrugReport  " with two trailing spaces
    "DRUG_CATEGORY_CODE": "33",         # Fentanyl and Fentanyl-related
}
PERIODS = {"SA1 (JAN - JUN)": 1, "SA2 (JUL - DEC)": 7}  # DQS half-year -> month it starts

# BASE_DESCRIPTION -> substance group (series suffix after "reports_"). A base not listed here is
# counted in "other_fentanyl_related"; every row is counted in "all_fentanyl_related".
GROUPS = {
    "Fentanyl": "fentanyl",
    "Fluorofentanyl": "fluorofentanyl",          # isomer undetermined
    "para-Fluorofentanyl": "fluorofentanyl",
    "ortho-Fluorofentanyl": "fluorofentanyl",
    "meta-Fluorofentanyl": "fluorofentanyl",
    "3-Fluorofentanyl": "fluorofentanyl",
    "Acetyl fentanyl": "acetyl_fentanyl",
    "Carfentanil": "carfentanil",
    "4-ANPP": "anpp",
}
OTHER, ALL = "other_fentanyl_related", "all_fentanyl_related"
SUFFIXES = [*dict.fromkeys(GROUPS.values()), OTHER, ALL]

# DQS state codes with no row in data/reference/geo.csv: counted in US, not shown on their own.
NOT_IN_GEO = {"GU": "Guam", "VI": "U.S. Virgin Islands", "XX": "state unknown or other"}

# A half-year that ended less than this many months before the query ran is flagged provisional:
# labs keep adding reports for items they are still analysing.
PROVISIONAL_MONTHS = 24


def fetch(ctx: FetchContext) -> list[RawFile]:
    prev = next((f for f in ctx.previous.files if f["name"] == FILE_NAME), {}) if ctx.previous else {}
    return [ctx.http.get(DOWNLOAD_URL, source_id=SOURCE_ID, name=FILE_NAME,
                         etag=prev.get("etag"), last_modified=prev.get("last_modified"))]


def transform(snapshot: Snapshot) -> pd.DataFrame:
    entry = snapshot.files[0]
    rows = _read(snapshot.path(entry["name"]), entry.get("url"))
    grid = _grid(_by_group(rows))
    ran = pd.Timestamp(rows["QUERY_RUN_DATE"].iloc[0])
    ends = grid["date"] + pd.DateOffset(months=6)
    flag = (ends > ran - pd.DateOffset(months=PROVISIONAL_MONTHS)).map({True: "provisional", False: None})
    return pd.DataFrame({
        "series_id": SOURCE_ID + ".reports_" + grid["suffix"], "geo": grid["geo"], "date": grid["date"],
        "value": grid["value"].astype(float), "unit": "reports", "source_id": SOURCE_ID,
        "flag": flag.astype(object),
    })


def _read(path: Path, url: str | None) -> pd.DataFrame:
    name = path.name
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise ParseError(f"{name}: unreadable or empty ({exc})", source_id=SOURCE_ID, url=url) from exc
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ParseError(f"{name}: not a NFLIS DQS export; missing column(s) {missing}; found {list(df.columns)}",
                         source_id=SOURCE_ID, url=url)
    if df.empty:
        raise ParseError(f"{name}: no data rows", source_id=SOURCE_ID, url=url)
    for col, want in EXPECTED.items():
        bad = sorted(set(df[col].str.strip()) - {want})
        if bad:
            raise ParseError(f"{name}: field {col} is {bad[:3]}, expected only {want!r} (a different DQS query)",
                             source_id=SOURCE_ID, url=url)
    bad = sorted(set(df["PERIOD"]) - set(PERIODS))
    if bad:
        raise ParseError(f"{name}: field PERIOD has {bad[:3]}, expected half-years {list(PERIODS)}",
                         source_id=SOURCE_ID, url=url)
    reports = pd.to_numeric(df["DRUG_REPORTS"].str.replace(",", ""), errors="coerce")
    if reports.isna().any() or (reports < 0).any():
        bad = df.loc[reports.isna() | (reports < 0), "DRUG_REPORTS"].iloc[0]
        raise ParseError(f"{name}: field DRUG_REPORTS has non-count value {bad!r}", source_id=SOURCE_ID, url=url)
    known = set(iso_by_postal("US")) & set(geo_table()["geo"].str.removeprefix("US-"))
    unknown = sorted(set(df["STATE"]) - known - set(NOT_IN_GEO))
    if unknown:
        raise ParseError(f"{name}: field STATE has unknown code(s) {unknown}", source_id=SOURCE_ID, url=url)
    if df["QUERY_RUN_DATE"].nunique() != 1:
        raise ParseError(f"{name}: field QUERY_RUN_DATE differs between rows (several exports joined?)",
                         source_id=SOURCE_ID, url=url)
    df["reports"] = reports
    df["date"] = pd.to_datetime({"year": df["YYYY"].astype(int), "month": df["PERIOD"].map(PERIODS), "day": 1})
    df["suffix"] = df["BASE_DESCRIPTION"].map(GROUPS).fillna(OTHER)
    return df


def _by_group(rows: pd.DataFrame) -> pd.DataFrame:
    """Reports per group, geo and half-year; US counts every row, including NOT_IN_GEO codes."""
    both = pd.concat([rows, rows.assign(suffix=ALL)], ignore_index=True)
    states = both[~both["STATE"].isin(NOT_IN_GEO)].copy()
    states["geo"] = states["STATE"].map(iso_by_postal("US"))
    national = both.assign(geo="US")
    keys = ["suffix", "geo", "date"]
    return pd.concat([states, national], ignore_index=True).groupby(keys, as_index=False)["reports"].sum()


def _grid(long: pd.DataFrame) -> pd.DataFrame:
    """The DQS lists non-zero cells only: every group x geo in the file gets every half-year the file
    covers, 0 if absent. A half-year with no row at all was not queried, so it stays absent."""
    index = pd.MultiIndex.from_product(
        [SUFFIXES, sorted(long["geo"].unique()), sorted(long["date"].unique())], names=["suffix", "geo", "date"])
    out = long.set_index(["suffix", "geo", "date"])["reports"].reindex(index, fill_value=0)
    return out.rename("value").reset_index()
