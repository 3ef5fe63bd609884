"""INEGI death-certificate homicides, state x month, 2000–2022 (researcher-derived, CC BY 4.0).

INEGI publishes homicide deaths only as microdata (``.dbf``) and an OLAP query with no simple
API. Gargiulo, Aburto & Floridi (2024, doi:10.17605/OSF.IO/U8DC3) counted them from the
microdata by place and month of occurrence and publish the state x month table on GitHub;
``fetch`` downloads that file (conditional GET). ``MX`` is the sum of the 32 states.
"""

from __future__ import annotations

import pandas as pd

from etl.errors import ParseError
from etl.reference import iso_by_agency_code

SOURCE_ID = "inegi_homicide"
BASE_URL = "https://raw.githubusercontent.com/thegargiulian/mexico-homicide-rates/main"
FILE_NAME = "mexico-state-month-homicide-rates-2000-2022.csv"
SERIES_ID = f"{SOURCE_ID}.homicides"
COLUMNS = {"cve_ent": str, "year": "Int64", "month": "Int64", "homicides": "Float64"}


def fetch(ctx) -> list:
    prev = next((f for f in ctx.previous.files if f["name"] == FILE_NAME), {}) if ctx.previous else {}
    return [ctx.http.get(f"{BASE_URL}/{FILE_NAME}", source_id=SOURCE_ID, name=FILE_NAME,
                         etag=prev.get("etag"), last_modified=prev.get("last_modified"))]


def transform(snapshot) -> pd.DataFrame:
    entry = snapshot.file(FILE_NAME)
    df = _read(snapshot.path(FILE_NAME), entry.get("url"))
    iso = iso_by_agency_code("MX")
    unknown = sorted(set(df["cve_ent"]) - set(iso))
    if unknown:
        raise ParseError(f"{FILE_NAME}: unknown cve_ent {unknown}", source_id=SOURCE_ID, url=entry.get("url"))
    df["geo"] = df["cve_ent"].map(iso)
    df["date"] = pd.to_datetime({"year": df["year"], "month": df["month"], "day": 1})
    national = df.groupby("date", as_index=False)["homicides"].sum().assign(geo="MX")
    out = pd.concat([df[["geo", "date", "homicides"]], national], ignore_index=True)
    return out.rename(columns={"homicides": "value"}).assign(
        series_id=SERIES_ID, unit="deaths", source_id=SOURCE_ID, flag=None)


def _read(path, url: str | None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="|", dtype=str)
    except pd.errors.EmptyDataError as exc:
        raise ParseError(f"{path.name}: empty file", source_id=SOURCE_ID, url=url) from exc
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ParseError(f"{path.name}: missing column(s) {missing}; found {list(df.columns)} "
                         "(expected pipe-delimited)", source_id=SOURCE_ID, url=url)
    df = df[list(COLUMNS)]
    for col in ("year", "month", "homicides"):
        values = pd.to_numeric(df[col].str.strip(), errors="coerce")
        if values.isna().any():
            bad = df.loc[values.isna(), col].iloc[0]
            raise ParseError(f"{path.name}: non-numeric {col} {bad!r}", source_id=SOURCE_ID, url=url)
        df[col] = values
    df["cve_ent"] = df["cve_ent"].str.strip().str.zfill(2)
    return df
