"""UNODC drug seizures: kilograms seized per country, drug and year, as governments report them.

The figures come from the Annual Report Questionnaire (ARQ) that governments send to UNODC,
published on dataUNODC as one workbook (``Drug_seizures_<first>_<last>.xlsx``). The seed is a
third-party JSON conversion of that workbook with UNODC's column names and every record kept;
``transform`` reads either. Several records can share a country x drug x year (sub-entries of the
questionnaire, e.g. quantities first reported in different units); UNODC's own totals add them,
so they are summed here. A country is kept when data/reference/geo.csv lists it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlparse

import pandas as pd
from babel.core import get_global

from etl.errors import FetchError, ParseError
from etl.http import RawFile
from etl.reference import geo_table

if TYPE_CHECKING:
    from etl.pipeline import FetchContext
    from etl.snapshot import Snapshot

SOURCE_ID = "unodc_seizures"
LANDING_URL = "https://dataunodc.un.org/dp-drug-seizures"
# The workbook's name carries its years and changes with each World Drug Report; read it off the page.
LINK_RE = re.compile(r"""href\s*=\s*["']([^"']*drug(?:[_\- ]|%20)*seizures[^"']*\.xlsx)["']""", re.I)

# UNODC column -> our name. Kilograms is UNODC's own conversion of what the government reported.
COLUMNS = {"msCode": "iso3", "DrugName": "drug_name", "Reference year": "year", "Kilograms": "kg"}

# UNODC DrugName -> our drug id (series "<drug>_kg"). Only single drugs: UNODC's aggregate rows
# ('Total "ecstasy"-type substances (including the above, ...)') must not be added to their parts.
DRUGS = {
    "Fentanyl": "fentanyl",
    "Methamphetamine": "methamphetamine",
    "Cocaine hydrochloride": "cocaine_hydrochloride",
    '"Crack" cocaine': "crack_cocaine",
    "Heroin": "heroin",
    "Opium": "opium",
    "Cannabis herb (marijuana)": "cannabis_herb",
}


def fetch(ctx: FetchContext) -> list[RawFile]:
    page = ctx.http.get(LANDING_URL, source_id=SOURCE_ID, name="dp-drug-seizures.html", allow_html=True)
    match = LINK_RE.search(page.content.decode("utf-8", errors="replace"))
    if not match:
        raise FetchError("no drug seizures .xlsx link on the dataUNODC page", source_id=SOURCE_ID, url=LANDING_URL)
    url = urljoin(page.url, match.group(1))
    name = unquote(Path(urlparse(url).path).name).replace(" ", "_")
    same = next((f for f in ctx.previous.files if f.get("url") == url), {}) if ctx.previous else {}
    return [ctx.http.get(url, source_id=SOURCE_ID, name=name,
                         etag=same.get("etag"), last_modified=same.get("last_modified"))]


def transform(snapshot: Snapshot) -> pd.DataFrame:
    entry = snapshot.files[0]
    records = _read(snapshot.path(entry["name"]), entry["name"], entry.get("url"))
    kept = records[records["drug_name"].isin(DRUGS)].copy()
    if kept.empty:
        raise ParseError(f"{entry['name']}: none of the drugs {sorted(DRUGS)} in field DrugName",
                         source_id=SOURCE_ID, url=entry.get("url"))
    kept["geo"] = kept["iso3"].map(country_geo())
    kept = kept[kept["geo"].notna()]
    # Duplicate country x drug x year records are sub-entries of one report: UNODC adds them.
    totals = kept.groupby(["geo", "drug_name", "year"], as_index=False)["kg"].sum()
    # 0 kg in every record: the government reported the drug only in units (doses, tablets) that
    # UNODC gave no weight for. That is no kilogram figure, not "nothing seized": leave it out.
    totals = totals[totals["kg"] > 0]
    return pd.DataFrame({
        "series_id": SOURCE_ID + "." + totals["drug_name"].map(DRUGS) + "_kg", "geo": totals["geo"],
        "date": pd.to_datetime({"year": totals["year"], "month": 1, "day": 1}), "value": totals["kg"].astype(float),
        "unit": "kg", "source_id": SOURCE_ID, "flag": None,
    })


def country_geo() -> dict[str, str]:
    """ISO 3166-1 alpha-3 (UNODC msCode) -> our geo, for every country row of geo.csv. The alpha-3 to
    alpha-2 table is CLDR's (Babel's territory aliases); a geo.csv row may also name its alpha-3 in
    agency_code."""
    countries = geo_table()[geo_table()["kind"] == "country"]
    by_code = dict(zip(countries["geo"], countries["geo"]))
    out = {a3: by_code[a2[0]] for a3, a2 in get_global("territory_aliases").items()
           if len(a3) == 3 and a3.isalpha() and len(a2) == 1 and a2[0] in by_code}
    out.update({c: g for c, g in zip(countries["agency_code"], countries["geo"]) if len(c) == 3 and c.isalpha()})
    return out


def left_out(snapshot: Snapshot) -> list[str]:
    """The alpha-3 codes in the file that geo.csv does not list (their rows are not in the table)."""
    entry = snapshot.files[0]
    codes = set(_read(snapshot.path(entry["name"]), entry["name"], entry.get("url"))["iso3"])
    return sorted(codes - set(country_geo()))


def _read(path: Path, name: str, url: str | None) -> pd.DataFrame:
    """The seed's JSON (an array of records) or UNODC's workbook, whose header row is found by its names."""
    try:
        if name.lower().endswith(".json"):
            raw = pd.read_json(path, orient="records", dtype=False)
        else:
            raw = _read_workbook(path.read_bytes(), name, url)
    except (ValueError, OSError, EOFError, KeyError) as exc:
        raise ParseError(f"{name}: unreadable ({type(exc).__name__}: {exc})", source_id=SOURCE_ID, url=url) from exc
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ParseError(f"{name}: missing UNODC column(s) {missing}; found {list(raw.columns)}",
                         source_id=SOURCE_ID, url=url)
    df = raw[list(COLUMNS)].rename(columns=COLUMNS)
    df["iso3"] = df["iso3"].astype(str).str.strip().str.upper()
    df["drug_name"] = df["drug_name"].astype(str).str.strip()
    for col in ("year", "kg"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            bad = df.loc[values.isna(), col].iloc[0]
            raise ParseError(f"{name}: field {col!r} has non-numeric value {bad!r}", source_id=SOURCE_ID, url=url)
        df[col] = values
    if (df["kg"] < 0).any():
        raise ParseError(f"{name}: field 'Kilograms' has a negative value", source_id=SOURCE_ID, url=url)
    df["year"] = df["year"].astype(int)
    return df


def _read_workbook(content: bytes, name: str, url: str | None) -> pd.DataFrame:
    sheet = pd.read_excel(io.BytesIO(content), header=None, dtype=object)
    header = next((i for i, row in sheet.head(30).iterrows() if set(COLUMNS) <= {str(v).strip() for v in row}), None)
    if header is None:
        raise ParseError(f"{name}: no header row with {sorted(COLUMNS)} in the first 30 rows",
                         source_id=SOURCE_ID, url=url)
    body = sheet.iloc[header + 1:].dropna(how="all")
    body.columns = [str(v).strip() for v in sheet.iloc[header]]
    return body.reset_index(drop=True)
