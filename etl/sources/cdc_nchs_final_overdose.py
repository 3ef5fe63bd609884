"""CDC NCHS final (NVSS) annual drug overdose deaths: US 2001-2021 by drug class, states 2016-2020.

The seed files are third-party re-keyed tables of NCHS Data Brief 457 and CDC's "Drug Overdose
Mortality by State" page. There is no machine-readable publisher endpoint, so ``fetch`` refuses
and the pipeline builds from the newest local snapshot.
"""

from __future__ import annotations

import io

import pandas as pd

from etl.errors import FetchError, ParseError
from etl.reference import iso_by_agency_code

SOURCE_ID = "cdc_nchs_final_overdose"
NATIONAL_FILE = "dod_by_time.csv"
STATE_FILE = "dod_by_state.csv"
DATA_BRIEF_URL = "https://www.cdc.gov/nchs/products/databriefs/db457.htm"
WONDER_URL = "https://wonder.cdc.gov/mcd-icd10.html"
STATE_PAGE_URL = "https://www.cdc.gov/nchs/pressroom/sosmap/drug_poisoning_mortality/drug_poisoning.htm"

NATIONAL_COLUMNS = {  # dod_by_time.csv column -> (series stem, unit)
    "num_total": ("all_drugs", "deaths"),
    "num_synthetic": ("synthetic_opioids", "deaths"),
    "num_heroin": ("heroin", "deaths"),
    "num_natural": ("natural_semisynthetic_opioids", "deaths"),
    "num_methadone": ("methadone", "deaths"),
    "num_cocaine": ("cocaine", "deaths"),
    "num_psychostimulant": ("psychostimulants", "deaths"),
    "num_anyopioid": ("all_opioids", "deaths"),
    "rate_total": ("all_drugs_rate", "per_100k_age_adjusted"),
    "rate_synthetic": ("synthetic_opioids_rate", "per_100k_age_adjusted"),
    "rate_heroin": ("heroin_rate", "per_100k_age_adjusted"),
    "rate_natural": ("natural_semisynthetic_opioids_rate", "per_100k_age_adjusted"),
    "rate_methadone": ("methadone_rate", "per_100k_age_adjusted"),
    "rate_cocaine": ("cocaine_rate", "per_100k_age_adjusted"),
    "rate_psychostimulant": ("psychostimulants_rate", "per_100k_age_adjusted"),
    "rate_any": ("all_opioids_rate", "per_100k_age_adjusted"),
}
STATE_PREFIXES = {"num": ("all_drugs", "deaths"), "rate": ("all_drugs_rate", "per_100k_age_adjusted")}
STATE_YEARS = range(2016, 2021)
# (series stem, year) whose value in the seed is not the final figure: 2021 num_total (107,521) is
# the provisional VSRR count; Data Brief 457 gives 106,699 final. Flagged, never substituted.
PROVISIONAL = {("all_drugs", 2021)}


def fetch(ctx):
    raise FetchError(
        "no machine-readable publisher endpoint: NCHS publishes these final counts only as Data Brief "
        f"tables ({DATA_BRIEF_URL}), the state map page ({STATE_PAGE_URL}) and interactive CDC WONDER "
        f"queries ({WONDER_URL}); refresh this source by replacing the seed snapshot under data/raw/{SOURCE_ID}/",
        source_id=SOURCE_ID,
        url=DATA_BRIEF_URL,
    )


def transform(snapshot) -> pd.DataFrame:
    national = _read(snapshot, NATIONAL_FILE, ["year", *NATIONAL_COLUMNS])
    states = _read(snapshot, STATE_FILE, ["fips", *_state_columns()])
    tidy = pd.concat([_national(national), _states(states, snapshot)], ignore_index=True)
    provisional = [(s.split(".", 1)[1], d.year) in PROVISIONAL for s, d in zip(tidy["series_id"], tidy["date"])]
    return tidy.assign(flag=[("provisional" if p else None) for p in provisional], source_id=SOURCE_ID)


def _state_columns() -> list[str]:
    return [f"{prefix}_{year}" for prefix in STATE_PREFIXES for year in STATE_YEARS]


def _fail(snapshot, name: str, problem: str) -> ParseError:
    return ParseError(f"{name}: {problem}", source_id=SOURCE_ID, url=snapshot.file(name).get("url"))


def _read(snapshot, name: str, required: list[str]) -> pd.DataFrame:
    content = snapshot.path(name).read_bytes()
    if not content.strip():
        raise _fail(snapshot, name, "empty file")
    df = pd.read_csv(io.BytesIO(content), dtype=str, encoding="utf-8-sig")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise _fail(snapshot, name, f"missing column(s) {missing}; found {list(df.columns)}")
    if df.empty:
        raise _fail(snapshot, name, "no data rows")
    numeric = df[required].apply(pd.to_numeric, errors="coerce")
    rows, cols = numeric.isna().to_numpy().nonzero()
    if len(rows):
        bad = [(f"row {r + 2}", required[c], df[required[c]].iat[r]) for r, c in zip(rows[:5], cols[:5])]
        raise _fail(snapshot, name, f"non-numeric or blank value(s) {bad}")
    return numeric


def _national(df: pd.DataFrame) -> pd.DataFrame:
    long = df.melt(id_vars="year", var_name="column", value_name="value")
    stem_unit = long["column"].map(NATIONAL_COLUMNS)
    return pd.DataFrame({
        "series_id": SOURCE_ID + "." + stem_unit.str[0],
        "geo": "US",
        "date": pd.to_datetime(long["year"].astype(int).astype(str) + "-01-01"),
        "value": long["value"].astype(float),
        "unit": stem_unit.str[1],
    })


def _states(df: pd.DataFrame, snapshot) -> pd.DataFrame:
    fips = df["fips"].astype(int).astype(str).str.zfill(2)
    geo = fips.map(iso_by_agency_code("US"))
    if geo.isna().any():
        raise _fail(snapshot, STATE_FILE, f"unknown FIPS code(s) {sorted(set(fips[geo.isna()]))}")
    long = df.drop(columns="fips").assign(geo=geo).melt(id_vars="geo", var_name="column", value_name="value")
    prefix_year = long["column"].str.split("_", n=1)
    stem_unit = prefix_year.str[0].map(STATE_PREFIXES)
    return pd.DataFrame({
        "series_id": SOURCE_ID + "." + stem_unit.str[0],
        "geo": long["geo"],
        "date": pd.to_datetime(prefix_year.str[1] + "-01-01"),
        "value": long["value"].astype(float),
        "unit": stem_unit.str[1],
    })
