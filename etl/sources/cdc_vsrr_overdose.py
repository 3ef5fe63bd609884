"""CDC NCHS VSRR provisional drug overdose death counts (data.cdc.gov xkb8-kh2a).

Every value is a 12-month-ending count; ``date`` is the first day of the month that ends the
window. Three file layouts are read (official CSV, SODA snake_case CSV/JSON, the 2017 CSV);
where files of one snapshot overlap, the file with the newer vintage wins.
"""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from etl.errors import FetchError, NotModified, ParseError
from etl.http import RawFile
from etl.reference import iso_by_postal

SOURCE_ID = "cdc_vsrr_overdose"
BASE_URL = "https://data.cdc.gov/resource/xkb8-kh2a.json"
PAGE_SIZE = 50000
QUERY = {"$where": "period='12 month-ending'", "$order": ":id"}
FILE_NAME = "xkb8-kh2a.json"
CSV_URL = "https://data.cdc.gov/api/views/xkb8-kh2a/rows.csv?accessType=DOWNLOAD"  # the alternative
CSV_NAME = "VSRR_Provisional_Drug_Overdose_Death_Counts.csv"

INDICATORS = {  # publisher indicator -> series stem; all others are dropped
    "Number of Drug Overdose Deaths": "all_drugs",
    "Synthetic opioids, excl. methadone (T40.4)": "synthetic_opioids",
    "Heroin (T40.1)": "heroin",
    "Natural & semi-synthetic opioids (T40.2)": "natural_semisynthetic_opioids",
    "Methadone (T40.3)": "methadone",
    "Cocaine (T40.5)": "cocaine",
    "Psychostimulants with abuse potential (T43.6)": "psychostimulants",
    "Opioids (T40.0-T40.4,T40.6)": "all_opioids",
}
COLUMNS = {  # official Title Case header -> SODA field name (the 2017 file uses the same names)
    "State": "state", "State Name": "state_name", "Year": "year", "Month": "month",
    "Period": "period", "Indicator": "indicator", "Data Value": "data_value",
    "Percent Complete": "percent_complete", "Percent Pending Investigation": "percent_pending_investigation",
    "Footnote": "footnote", "Footnote Symbol": "footnote_symbol", "Predicted Value": "predicted_value",
}
REQUIRED = ["state", "year", "month", "indicator"]
EXTRA_GEOS = {"US": "US", "YC": "US-NYC"}  # CDC codes that are not state postal codes
MONTHS = {m: i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August",
     "September", "October", "November", "December"], start=1)}
PERIOD = "12 month-ending"
UNDERREPORTED = "underreported"  # footnote text (lower case) marking incomplete recent months


def fetch(ctx) -> list[RawFile]:
    """The SODA API, paged; when the API fails, the full CSV download of the same dataset."""
    try:
        return [_fetch_api(ctx)]
    except (FetchError, ParseError) as api_error:
        ctx.progress(f"{SOURCE_ID}: API failed ({api_error.problem}); trying the full CSV download")
        previous = _previous_entry(ctx, CSV_NAME)
        try:
            return [ctx.http.get(CSV_URL, source_id=SOURCE_ID, name=CSV_NAME,
                                 etag=previous.get("etag"), last_modified=previous.get("last_modified"))]
        except NotModified:
            raise
        except FetchError as csv_error:
            raise FetchError(f"API failed ({api_error.problem}) and so did the full CSV ({csv_error.problem})",
                             source_id=SOURCE_ID, url=CSV_URL) from csv_error


def _fetch_api(ctx) -> RawFile:
    rows, offset, first = [], 0, None
    while True:
        params = {**QUERY, "$limit": PAGE_SIZE, "$offset": offset}
        page = ctx.http.get(BASE_URL, source_id=SOURCE_ID, name=FILE_NAME, params=params)
        first = first or page
        batch = _json_rows(page.content, page.url)
        rows.extend(batch)
        ctx.progress(f"{SOURCE_ID}: page at offset {offset}: {len(batch)} rows ({len(rows)} so far)")
        if len(batch) < PAGE_SIZE:
            break
        offset += PAGE_SIZE
    if not rows:
        raise FetchError("the API returned no rows", source_id=SOURCE_ID, url=first.url)
    return RawFile(name=FILE_NAME, content=json.dumps(rows).encode(), url=f"{BASE_URL}?{urlencode(QUERY)}",
                   accessed_at=first.accessed_at, content_type="application/json")


def _previous_entry(ctx, name: str) -> dict:
    if ctx.previous is None:
        return {}
    return next((f for f in ctx.previous.files if f["name"] == name), {})


def transform(snapshot) -> pd.DataFrame:
    frames = []
    for entry in snapshot.files:
        raw = _read(snapshot.path(entry["name"]).read_bytes(), entry)
        marks_completeness = raw[["percent_complete", "footnote"]].notna().any().any()
        frames.append(_tidy(raw, entry).assign(vintage=_vintage(entry, snapshot), marked=marks_completeness))
    df = _flag_unmarked(pd.concat(frames, ignore_index=True))
    df = df.sort_values("vintage", kind="stable").drop_duplicates(["series_id", "geo", "date"], keep="last")
    return df.drop(columns=["vintage", "marked"]).assign(source_id=SOURCE_ID)  # newer vintage wins above


def _flag_unmarked(df: pd.DataFrame) -> pd.DataFrame:
    """Flag recent months of a copy that dropped CDC's completeness columns.

    A copy without Percent Complete and Footnote (the seed's US drug-class file) would show its
    recent months as final. CDC marks 12-month periods of a data year that is not yet closed
    "Underreported due to incomplete data"; a period still incomplete in a release was
    incomplete in every earlier one. So, per geography, the unmarked copy's periods from the
    first one that a marked file of the same or a newer vintage calls provisional are
    provisional too.
    """
    unmarked = ~df["marked"] & df["flag"].isna() & ~df["series_id"].str.endswith("_predicted")
    if not unmarked.any():
        return df
    provisional = df[df["marked"] & df["flag"].eq("provisional")]
    df = df.copy()
    for (geo, vintage), rows in df[unmarked].groupby(["geo", "vintage"]):
        later = provisional[(provisional["geo"] == geo) & (provisional["vintage"] >= vintage)]
        if len(later):
            df.loc[rows.index[rows["date"] >= later["date"].min()], "flag"] = "provisional"
    return df


def _vintage(entry: dict, snapshot) -> str:
    return entry.get("vintage") or (entry.get("accessed_at") or snapshot.date)[:7]


def _fail(problem: str, entry: dict) -> ParseError:
    return ParseError(f"{entry['name']}: {problem}", source_id=SOURCE_ID, url=entry.get("url"))


def _json_rows(content: bytes, url: str) -> list[dict]:
    rows = json.loads(content)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ParseError(f"expected a JSON list of objects, got {type(rows).__name__}", source_id=SOURCE_ID, url=url)
    return rows


def _read(content: bytes, entry: dict) -> pd.DataFrame:
    """Any known layout -> DataFrame of strings with SODA field names."""
    if not content.strip():
        raise _fail("empty file", entry)
    if entry["name"].endswith(".json"):
        try:
            rows = _json_rows(content, entry.get("url"))
        except (ValueError, ParseError) as exc:
            raise _fail(f"not a JSON list of objects ({exc})", entry) from exc
        bad = [i for i, r in enumerate(rows) if not set(REQUIRED) <= set(r)]
        if bad:
            raise _fail(f"object #{bad[0]} lacks key(s) {sorted(set(REQUIRED) - set(rows[bad[0]]))}", entry)
        df = pd.DataFrame(rows, dtype=object)
    else:
        df = pd.read_csv(io.BytesIO(content), dtype=str, encoding="utf-8-sig", keep_default_na=False)
        df = df.rename(columns=COLUMNS)
        missing = [c for c in [*REQUIRED, "data_value"] if c not in df.columns]
        if missing:
            raise _fail(f"unknown layout: missing column(s) {missing}; found {list(df.columns)}", entry)
    # Columns the publisher adds later are ignored; a missing or renamed one fails above.
    return df.reindex(columns=list(COLUMNS.values())).replace("", None)


def _tidy(df: pd.DataFrame, entry: dict) -> pd.DataFrame:
    kept = df[df["indicator"].isin(INDICATORS) & df["period"].fillna(PERIOD).eq(PERIOD)]
    if kept.empty:
        raise _fail(f"no 12-month-ending rows of a known indicator; found {sorted(set(df['indicator']))[:8]}", entry)
    df = kept
    stem = df["indicator"].map(INDICATORS)
    geo, date = _geos(df["state"], entry), _dates(df["year"], df["month"], entry)
    reported = _numbers(df["data_value"], "data_value", entry)
    predicted = _numbers(df["predicted_value"], "predicted_value", entry)
    complete = _numbers(df["percent_complete"], "percent_complete", entry, plus="+")
    late = (complete < 100) | df["footnote"].astype("string").fillna("").str.lower().str.contains(UNDERREPORTED)
    rep = pd.DataFrame({"series_id": SOURCE_ID + "." + stem, "geo": geo, "date": date, "value": reported,
                        "flag": np.where(reported.isna(), "suppressed", np.where(late, "provisional", None))})
    pred = pd.DataFrame({"series_id": SOURCE_ID + "." + stem + "_predicted", "geo": geo, "date": date,
                         "value": predicted, "flag": np.where(predicted.isna(), "suppressed", "predicted")})
    pred = pred[predicted.notna() | reported.isna()]  # blank prediction beside a count: not published
    return pd.concat([rep, pred], ignore_index=True).assign(unit="deaths")


def _numbers(col: pd.Series, name: str, entry: dict, plus: str = "") -> pd.Series:
    """Strings -> floats; blank -> NaN; thousands separators dropped; `plus` ('+' in '99.5+') stripped."""
    col = col.astype("string")
    out = pd.to_numeric(col.str.replace(",", "", regex=False).str.removesuffix(plus), errors="coerce")
    bad = col[out.isna() & col.notna()]
    if len(bad):
        raise _fail(f"non-numeric {name} value(s) {sorted(set(bad))[:5]}", entry)
    return out.astype(float)


def _geos(codes: pd.Series, entry: dict) -> pd.Series:
    out = codes.map({**iso_by_postal("US"), **EXTRA_GEOS})
    if out.isna().any():
        raise _fail(f"unknown state code(s) {sorted(set(codes[out.isna()]))}", entry)
    return out


def _dates(years: pd.Series, months: pd.Series, entry: dict) -> pd.Series:
    month = months.map(MONTHS)
    if month.isna().any():
        raise _fail(f"unknown month name(s) {sorted(set(months[month.isna()].astype(str)))}", entry)
    return pd.to_datetime(dict(year=_numbers(years, "year", entry), month=month, day=1))
