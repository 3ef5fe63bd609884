"""CDC NCHS final (NVSS) drug overdose deaths: US 1999-2021 by drug class, states 2016-2020, and
deaths involving synthetic opioids (T40.4) by state and month 2018-2023.

- US counts and age-adjusted rates by drug class, 1999-2021: NIDA's workbook of NCHS final data
  (CDC WONDER). Its 2021 total is the final 106,699 (NCHS Data Brief 457).
- US natural and semi-synthetic opioids and methadone, 2001-2021 (not in the workbook), and the
  state all-drug counts and rates 2016-2020: third-party re-keyed tables of Data Brief 457 and of
  CDC's "Drug Overdose Mortality by State" page.
- T40.4 deaths by state of residence and month, 2018-2023: a CDC WONDER export. WONDER suppresses
  counts of 1-9 and the export leaves those state-months out: here they are rows with no value and
  flag ``suppressed``, and the US (sum of the states) is flagged ``lower_bound`` in every month
  where a state is suppressed.

There is no machine-readable publisher endpoint, so ``fetch`` refuses and the pipeline builds
from the newest local snapshot.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from etl.errors import FetchError, ParseError
from etl.reference import iso_by_agency_code

SOURCE_ID = "cdc_nchs_final_overdose"
NIDA_FILE = "Overdose_data_1999-2021_1.19.23.xlsx"
NATIONAL_FILE = "dod_by_time.csv"
STATE_FILE = "dod_by_state.csv"
WONDER_FILE = "Multiple_Cause_of_Death_2018_2023_Single_Race_MANUAL_DOWNLOAD.csv"
DATA_BRIEF_URL = "https://www.cdc.gov/nchs/products/databriefs/db457.htm"
WONDER_URL = "https://wonder.cdc.gov/mcd-icd10.html"
STATE_PAGE_URL = "https://www.cdc.gov/nchs/pressroom/sosmap/drug_poisoning_mortality/drug_poisoning.htm"

# NIDA workbook: sheet -> (unit, series suffix). Row labels carry leading blanks and footnote
# marks ("Heroin4", " Cocaine5"): a row is found by the start of its label, before the marks.
NIDA_SHEETS = {"Number Drug OD Deaths": ("deaths", ""), "Rate Drug OD Deaths": ("per_100k_age_adjusted", "_rate")}
NIDA_ROWS = {  # label start -> series stem
    "Total Overdose Deaths": "all_drugs",
    "Any Opioid": "all_opioids",
    "Synthetic Opioids other than Methadone (primarily fentanyl)": "synthetic_opioids",
    "Heroin": "heroin",
    "Cocaine": "cocaine",
    "Psychostimulants With Abuse Potential (primarily methamphetamine)": "psychostimulants",
}
NIDA_YEARS = range(1999, 2022)
NIDA_HEADER = "Total Overdose Deaths"  # the years are on the row above it
# dod_by_time.csv columns used: only the classes the workbook lacks (its 2021 total is the
# provisional 107,521 and its 2020 cocaine rate a typo, so the workbook supplies everything else).
NATIONAL_COLUMNS = {  # column -> (series stem, unit)
    "num_natural": ("natural_semisynthetic_opioids", "deaths"),
    "num_methadone": ("methadone", "deaths"),
    "rate_natural": ("natural_semisynthetic_opioids_rate", "per_100k_age_adjusted"),
    "rate_methadone": ("methadone_rate", "per_100k_age_adjusted"),
}
STATE_PREFIXES = {"num": ("all_drugs", "deaths"), "rate": ("all_drugs_rate", "per_100k_age_adjusted")}
STATE_YEARS = range(2016, 2021)
WONDER_SERIES = f"{SOURCE_ID}.synthetic_opioids_monthly"
WONDER_COLUMNS = ["Month Code", "State Code", "Multiple Cause of death Code", "Deaths"]
WONDER_CODE = "T40.4"
WONDER_MONTHS = pd.date_range("2018-01-01", "2023-12-01", freq="MS")
# Which file each series comes from (the release a ratio must not mix): see release_of().
RELEASE_BY_STEM = {stem: NATIONAL_FILE for stem, _ in NATIONAL_COLUMNS.values()} | {"synthetic_opioids_monthly": WONDER_FILE}


def release_of(series_id: str, geo: str) -> str:
    """The snapshot file a (series, geography) comes from."""
    stem = series_id.split(".", 1)[1]
    if stem in RELEASE_BY_STEM:
        return RELEASE_BY_STEM[stem]
    return NIDA_FILE if geo == "US" else STATE_FILE


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
    annual = pd.concat([_nida(snapshot), _national(national), _states(states, snapshot)], ignore_index=True)
    return pd.concat([annual.assign(flag=None), _wonder(snapshot)], ignore_index=True).assign(source_id=SOURCE_ID)


def _state_columns() -> list[str]:
    return [f"{prefix}_{year}" for prefix in STATE_PREFIXES for year in STATE_YEARS]


def _fail(snapshot, name: str, problem: str) -> ParseError:
    return ParseError(f"{name}: {problem}", source_id=SOURCE_ID, url=snapshot.file(name).get("url"))


def _read(snapshot, name: str, required: list[str]) -> pd.DataFrame:
    content = snapshot.read_bytes(name)
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


def _nida(snapshot) -> pd.DataFrame:
    """The workbook's all-ages sheets: one row per drug class (Female/Male sub-rows ignored)."""
    try:
        book = pd.read_excel(io.BytesIO(snapshot.read_bytes(NIDA_FILE)), sheet_name=list(NIDA_SHEETS), header=None)
    except (OSError, ValueError, KeyError) as exc:  # missing file or sheet; not an xlsx workbook
        raise _fail(snapshot, NIDA_FILE, f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    frames = []
    for sheet, (unit, suffix) in NIDA_SHEETS.items():
        df = book[sheet]
        labels = df[1].astype(str).str.strip()
        top = labels.index[labels == NIDA_HEADER]
        if not len(top):
            raise _fail(snapshot, NIDA_FILE, f"sheet {sheet!r}: no row labelled {NIDA_HEADER!r} in column B")
        years = pd.to_numeric(df.loc[top[0] - 1], errors="coerce")
        cols = {c: int(y) for c, y in years.items() if pd.notna(y) and int(y) in NIDA_YEARS}
        if sorted(cols.values()) != list(NIDA_YEARS):
            raise _fail(snapshot, NIDA_FILE, f"sheet {sheet!r}: expected the years {NIDA_YEARS.start}-"
                                             f"{NIDA_YEARS.stop - 1} above {NIDA_HEADER!r}, found {sorted(cols.values())}")
        for start, stem in NIDA_ROWS.items():
            # the label, then at most footnote marks ("4", "5a"): "Heroin AND ..." is another row
            match = labels[labels.str.fullmatch(rf"{re.escape(start)}\d*[a-z]?")]
            if len(match) != 1:
                raise _fail(snapshot, NIDA_FILE, f"sheet {sheet!r}: expected one row labelled {start!r}, "
                                                 f"found {len(match)}")
            values = pd.to_numeric(df.loc[match.index[0], list(cols)], errors="coerce")
            if values.isna().any():
                raise _fail(snapshot, NIDA_FILE, f"sheet {sheet!r}, row {start!r}: blank or non-numeric value(s)")
            frames.append(pd.DataFrame({
                "series_id": f"{SOURCE_ID}.{stem}{suffix}", "geo": "US",
                "date": pd.to_datetime([f"{cols[c]}-01-01" for c in cols]),
                # rates are stored as computed floats (21.6, 2.4000000000000004): keep the published decimal
                "value": values.to_numpy(dtype=float).round(0 if unit == "deaths" else 1), "unit": unit,
            }))
    return pd.concat(frames, ignore_index=True)


def _wonder(snapshot) -> pd.DataFrame:
    """Deaths involving T40.4 by state of residence and month; suppressed state-months are rows
    with no value (flag suppressed), and the US sum of states is a lower bound where any is."""
    try:
        df = pd.read_csv(io.BytesIO(snapshot.read_bytes(WONDER_FILE)), dtype=str)
    except pd.errors.EmptyDataError as exc:
        raise _fail(snapshot, WONDER_FILE, "empty file") from exc
    missing = [c for c in WONDER_COLUMNS if c not in df.columns]
    if missing:
        raise _fail(snapshot, WONDER_FILE, f"missing column(s) {missing}; found {list(df.columns)}")
    codes = set(df["Multiple Cause of death Code"].str.strip())
    if codes != {WONDER_CODE}:
        raise _fail(snapshot, WONDER_FILE, f"expected only multiple cause {WONDER_CODE}, found {sorted(codes)}")
    date = pd.to_datetime(df["Month Code"].str.strip(), format="%Y/%m", errors="coerce")
    deaths = pd.to_numeric(df["Deaths"].str.strip(), errors="coerce")
    bad = date.isna() | deaths.isna()
    if bad.any():
        row = df[bad].iloc[0]
        raise _fail(snapshot, WONDER_FILE, f"row {bad.idxmax() + 2}: month {row['Month Code']!r} or deaths "
                                           f"{row['Deaths']!r} not readable (a total or footnote row?)")
    iso = iso_by_agency_code("US")
    fips = df["State Code"].str.strip().str.zfill(2)
    geo = fips.map(iso)
    if geo.isna().any():
        raise _fail(snapshot, WONDER_FILE, f"unknown State Code(s) {sorted(set(fips[geo.isna()]))}")
    if geo.eq("US-PR").any():
        raise _fail(snapshot, WONDER_FILE, "Puerto Rico rows: the US sum is the 50 states and DC")
    cells = pd.DataFrame({"geo": geo, "date": date, "value": deaths.astype(float)})
    if cells.duplicated(["geo", "date"]).any():
        raise _fail(snapshot, WONDER_FILE, "more than one row for a state and month")
    outside = ~cells["date"].isin(WONDER_MONTHS)
    if outside.any():
        raise _fail(snapshot, WONDER_FILE, f"month {cells.loc[outside, 'date'].iloc[0]:%Y-%m} outside "
                                           f"{WONDER_MONTHS[0]:%Y-%m}..{WONDER_MONTHS[-1]:%Y-%m}")
    states = sorted(g for g in iso.values() if g != "US-PR")
    grid = pd.MultiIndex.from_product([states, WONDER_MONTHS], names=["geo", "date"]).to_frame(index=False)
    full = grid.merge(cells, on=["geo", "date"], how="left")
    full["flag"] = full["value"].isna().map({True: "suppressed", False: None})
    us = full.groupby("date", as_index=False).agg(value=("value", "sum"), suppressed=("value", lambda v: v.isna().any()))
    us = us.assign(geo="US", flag=us.pop("suppressed").map({True: "lower_bound", False: None}))
    out = pd.concat([full, us], ignore_index=True)
    return out.assign(series_id=WONDER_SERIES, unit="deaths")
