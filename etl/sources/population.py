"""Population denominators: US Census PEP (July 1) and CONAPO mid-year, national and by state.

US 2000–2009 come from the intercensal table ST-EST00INT-01 and 2010–2019 from the 2010–2020
intercensal table NST-EST2020INT-POP (revised to fit both the 2010 and the 2020 Census, so the
step into Vintage 2024 at 2020 is real growth, not a change of estimate series); 2020–2024 come
from Vintage 2024 (joined by FIPS). The two intercensal tables have no codes: their rows are
matched to data/reference/states.csv by ``name`` (the only files matched by name) and any
unmatched name fails the build. Mexico comes from CONAPO's 2023 projections (``pob_mid_year``,
Total).

CONAPO publishes only xlsx workbooks by single year of age; the project uses a reshaped CSV of
them. ``fetch`` therefore downloads the three Census files and carries the CONAPO file over,
byte for byte, from the previous snapshot.
"""

from __future__ import annotations

import io

import pandas as pd

from etl.errors import FetchError, ParseError
from etl.http import RawFile
from etl.reference import iso_by_agency_code, states

SOURCE_ID = "population"
BASE_URL = "https://www2.census.gov/programs-surveys/popest"
CENSUS_FILES = {  # snapshot name -> path under BASE_URL
    "st-est00int-01.csv": "tables/2000-2010/intercensal/state/st-est00int-01.csv",
    "nst-est2020int-pop.xlsx": "tables/2010-2020/intercensal/national/nst-est2020int-pop.xlsx",
    "NST-EST2024-ALLDATA.csv": "datasets/2020-2024/state/totals/NST-EST2024-ALLDATA.csv",
}
ALLDATA_YEARS = {"NST-EST2024-ALLDATA.csv": range(2020, 2025)}
INTERCENSAL = "st-est00int-01.csv"
INTERCENSAL_YEARS = {col: 1998 + col for col in range(2, 12)}  # column position -> July 1 year (2000–2009)
INTERCENSAL_2010 = "nst-est2020int-pop.xlsx"
INTERCENSAL_2010_YEARS = {col: 2008 + col for col in range(2, 12)}  # column position -> July 1 year (2010–2019)
INTERCENSAL_SKIP = {"Northeast", "Midwest", "South", "West"}  # Census regions, not geos
CONAPO = "conapo_pob_ent_gender_1950_2070.csv"
CONAPO_YEARS, CONAPO_PROJECTED_FROM = range(1990, 2031), 2020
US_SERIES, MX_SERIES = f"{SOURCE_ID}.us_resident", f"{SOURCE_ID}.mx_mid_year"
# Ids the dashboard and notebooks used before the rename ("total" read as national only, but the
# series hold every state too); etl.load still answers them.
RENAMED_SERIES = {f"{SOURCE_ID}.us_total": US_SERIES, f"{SOURCE_ID}.mx_total": MX_SERIES}


def fetch(ctx) -> list[RawFile]:
    files = [ctx.http.get(f"{BASE_URL}/{path}", source_id=SOURCE_ID, name=name) for name, path in CENSUS_FILES.items()]
    if ctx.previous is None or CONAPO not in ctx.previous.md5s:
        raise FetchError(f"CONAPO publishes only xlsx; {CONAPO} must come from a previous snapshot, and there is none",
                         source_id=SOURCE_ID)
    entry = ctx.previous.file(CONAPO)
    content = ctx.previous.read_bytes(CONAPO)  # the publisher's bytes, even if stored compressed
    carried = RawFile(CONAPO, content, entry["url"], entry["accessed_at"], content_type=entry.get("content_type"))
    return files + [carried]


def transform(snapshot) -> pd.DataFrame:
    us = pd.concat([_intercensal(snapshot), _intercensal_2010(snapshot),
                    *(_alldata(snapshot, n, y) for n, y in ALLDATA_YEARS.items())])
    us = us.assign(series_id=US_SERIES, flag=None)
    mx = _conapo(snapshot).assign(series_id=MX_SERIES)
    out = pd.concat([us, mx], ignore_index=True)
    out["date"] = pd.to_datetime(out["year"].astype(str) + "-01-01")
    out = out.assign(unit="persons", source_id=SOURCE_ID)
    return out[["series_id", "geo", "date", "value", "unit", "source_id", "flag"]]


def _fail(snapshot, name: str, problem: str) -> ParseError:
    url = snapshot.file(name).get("url") if name in snapshot.md5s else None
    return ParseError(f"{name}: {problem}", source_id=SOURCE_ID, url=url)


def _read(snapshot, name: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(snapshot.path(name), dtype=str, **kwargs)
    except (pd.errors.EmptyDataError, FileNotFoundError) as exc:
        raise _fail(snapshot, name, f"missing or empty file ({exc})") from exc


def _numbers(snapshot, name: str, values: pd.Series) -> pd.Series:
    out = pd.to_numeric(values.astype(str).str.replace(",", "").str.strip(), errors="coerce")
    if out.isna().any():
        raise _fail(snapshot, name, f"non-numeric population {values[out.isna()].iloc[0]!r}")
    return out.astype(float)


def _intercensal(snapshot) -> pd.DataFrame:
    """Trimmed or official layout: data rows are those whose July 1, 2000 cell is a number."""
    raw = _read(snapshot, INTERCENSAL, header=None, keep_default_na=False)
    start = _intercensal_header_end(raw)
    if start is None:
        raise _fail(snapshot, INTERCENSAL, f"expected a 'Geographic Area' header with 2001 … 2009 in columns 4–12; "
                                           f"first rows {raw.head(3).values.tolist()}")
    rows = raw.iloc[start:]
    rows = rows[rows[2].str.replace(",", "").str.strip().str.isdigit()]
    names = rows[0].str.strip().str.lstrip(".")
    return _by_name(snapshot, INTERCENSAL, rows, names, INTERCENSAL_YEARS)


def _by_name(snapshot, name: str, rows: pd.DataFrame, names: pd.Series, years: dict[int, int]) -> pd.DataFrame:
    """Rows of a table without codes, matched to the reference states by name; every US geo
    (the US, 50 states, DC, Puerto Rico) must have exactly one row."""
    keep = ~names.isin(INTERCENSAL_SKIP)
    rows, names = rows[keep], names[keep]
    us_states = states()[states()["country"] == "US"]
    by_name = {"United States": "US", **dict(zip(us_states["name"], us_states["iso_3166_2"]))}
    geo = names.map(by_name)
    if geo.isna().any():
        raise _fail(snapshot, name, f"unmatched area name(s) {sorted(names[geo.isna()])} "
                                    "(not in data/reference/states.csv)")
    if geo.duplicated().any():
        raise _fail(snapshot, name, f"more than one row for {sorted(set(geo[geo.duplicated()]))}")
    missing = sorted(set(by_name.values()) - set(geo))
    if missing:
        raise _fail(snapshot, name, f"no data row for {missing}")
    long = rows[list(years)].assign(geo=geo.to_numpy()).melt(id_vars="geo", var_name="col", value_name="value")
    return pd.DataFrame({"geo": long["geo"], "year": long["col"].map(years),
                         "value": _numbers(snapshot, name, long["value"])})


def _intercensal_2010(snapshot) -> pd.DataFrame:
    """NST-EST2020INT-POP: a title row, a two-row header (July 1 2010 … 2019 in columns 3–12
    under "Population Estimate (as of July 1)"), dotted state names, footnote rows."""
    name = INTERCENSAL_2010
    try:
        raw = pd.read_excel(io.BytesIO(snapshot.read_bytes(name)), header=None, dtype=object)
    except (OSError, ValueError, KeyError) as exc:  # missing file; not an xlsx workbook
        raise _fail(snapshot, name, f"cannot read the workbook ({type(exc).__name__}: {exc})") from exc
    header = raw.index[raw[0].astype(str).str.strip() == "Geographic Area"]
    years_row = header[0] + 1 if len(header) else None
    if years_row is None or years_row not in raw.index or raw.shape[1] < 12 or [
            _year(raw.at[years_row, c]) for c in INTERCENSAL_2010_YEARS] != list(INTERCENSAL_2010_YEARS.values()):
        raise _fail(snapshot, name, "expected a 'Geographic Area' header with July 1 2010 … 2019 in columns 3–12 "
                                    "of the row below it")
    rows = raw.iloc[years_row + 1:]
    rows = rows[pd.to_numeric(rows[2], errors="coerce").notna() & rows[0].notna()]
    names = rows[0].astype(str).str.strip().str.lstrip(".")
    return _by_name(snapshot, name, rows, names, INTERCENSAL_2010_YEARS)


def _year(cell) -> int | None:
    try:
        return int(float(str(cell).strip()))
    except ValueError:
        return None


def _intercensal_header_end(raw: pd.DataFrame) -> int | None:
    """Row after the header, if the header (or the row below it: the official two-row header)
    puts 2001 and 2009 where INTERCENSAL_YEARS expects them."""
    if raw.shape[1] < 12:
        return None
    for i in raw.index[raw[0].str.strip() == "Geographic Area"]:
        for j in (i, i + 1):
            if j in raw.index and [raw.at[j, 3].strip(), raw.at[j, 11].strip()] == ["2001", "2009"]:
                return j + 1
    return None


def _alldata(snapshot, name: str, years: range) -> pd.DataFrame:
    df = _read(snapshot, name, encoding="latin-1")
    cols = ["SUMLEV", "STATE", *(f"POPESTIMATE{y}" for y in years)]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise _fail(snapshot, name, f"missing column(s) {missing}; found {list(df.columns)[:12]} …")
    sumlev = df["SUMLEV"].str.strip().str.lstrip("0")  # some copies strip Census's leading zeros
    df = df[sumlev.isin(["10", "40"])].copy()
    iso = {"00": "US", **iso_by_agency_code("US")}
    df["geo"] = df["STATE"].str.strip().str.zfill(2).map(iso)
    if df["geo"].isna().any():
        raise _fail(snapshot, name, f"unknown STATE code(s) {sorted(df.loc[df['geo'].isna(), 'STATE'])}")
    long = df.melt(id_vars="geo", value_vars=cols[2:], var_name="col", value_name="value")
    return pd.DataFrame({"geo": long["geo"], "year": long["col"].str[-4:].astype(int),
                         "value": _numbers(snapshot, name, long["value"])})


def _conapo(snapshot) -> pd.DataFrame:
    df = _read(snapshot, CONAPO)
    missing = [c for c in ("n_year", "cve_ent", "genero", "pob_mid_year") if c not in df.columns]
    if missing:
        raise _fail(snapshot, CONAPO, f"missing column(s) {missing}; found {list(df.columns)}")
    df = df[(df["genero"] == "Total") & df["n_year"].astype(int).isin(CONAPO_YEARS)]
    iso = {"00": "MX", **iso_by_agency_code("MX")}
    geo = df["cve_ent"].str.strip().str.zfill(2).map(iso)
    if geo.isna().any():
        raise _fail(snapshot, CONAPO, f"unknown cve_ent {sorted(df.loc[geo.isna(), 'cve_ent'].unique())}")
    year = df["n_year"].astype(int)
    flag = year.map(lambda y: "projected" if y >= CONAPO_PROJECTED_FROM else None)
    value = _numbers(snapshot, CONAPO, df["pob_mid_year"])
    return pd.DataFrame({"geo": geo, "year": year, "value": value, "flag": flag})
