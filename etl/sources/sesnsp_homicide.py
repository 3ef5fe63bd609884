"""SESNSP victims of homicidio doloso and feminicidio, monthly by state (Jan 2015 onward).

SESNSP publishes the wide latin-1 file ``IDVFC_NM_<mes><aa>.csv`` (one column per month) on its
datos abiertos page; the seed snapshot is a complete third-party long reshape of it (bz2, UTF-8).
``transform`` reads either layout into one long frame, then sums victims per series, state and
month; ``MX`` is the sum of the 32 states. Dates are the first of the month (the long file's
day 15 is a placeholder). The firearm share (percent) divides two of those victim series per
geography and month, MX included (national over national, not a mean of state shares).
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from etl.errors import ParseError
from etl.reference import iso_by_agency_code

SOURCE_ID = "sesnsp_homicide"
# SESNSP moves the file every month (the name carries the cut-off); point this at the current one.
DOWNLOAD_URL = "https://www.gob.mx/sesnsp/acciones-y-programas/datos-abiertos-de-incidencia-delictiva"
FILE_NAME = "IDVFC_NM.csv"

# series suffix -> (Subtipo de delito, column to filter or None, value of that column)
SERIES = {
    "homicidio_doloso": ("Homicidio doloso", None, None),
    "homicidio_doloso_firearm": ("Homicidio doloso", "modalidad", "Con arma de fuego"),
    "homicidio_doloso_male": ("Homicidio doloso", "sexo", "Hombre"),
    "homicidio_doloso_female": ("Homicidio doloso", "sexo", "Mujer"),
    "feminicidio": ("Feminicidio", None, None),
    "feminicidio_firearm": ("Feminicidio", "modalidad", "Con arma de fuego"),
}
KEEP = ["cve_ent", "subtipo", "modalidad", "sexo"]
# Shares computed from two victim series: suffix -> (numerator suffix, denominator suffix), in percent.
SHARES = {"homicidio_doloso_firearm_share": ("homicidio_doloso_firearm", "homicidio_doloso")}

# The seed's long layout (third-party reshape) -> our column names.
LONG_COLUMNS = {
    "date_year_month": "date", "cve_ent": "cve_ent", "subtipo_de_delito": "subtipo",
    "modalidad": "modalidad", "genero": "sexo", "n_victimas": "victims",
}
# SESNSP's official wide layout -> our column names; month columns follow.
WIDE_COLUMNS = {
    "Año": "year", "Clave_Ent": "cve_ent", "Subtipo de delito": "subtipo",
    "Modalidad": "modalidad", "Sexo": "sexo",
}
MONTHS = {
    "Enero": 1, "Febrero": 2, "Marzo": 3, "Abril": 4, "Mayo": 5, "Junio": 6, "Julio": 7,
    "Agosto": 8, "Septiembre": 9, "Octubre": 10, "Noviembre": 11, "Diciembre": 12,
}


def fetch(ctx) -> list:
    prev = _previous_entry(ctx.previous)
    return [ctx.http.get(DOWNLOAD_URL, source_id=SOURCE_ID, name=FILE_NAME,
                         etag=prev.get("etag"), last_modified=prev.get("last_modified"))]


def transform(snapshot) -> pd.DataFrame:
    entry = snapshot.files[0]
    path, url = snapshot.path(entry["name"]), entry.get("url")
    header = _header(path, url)
    if set(LONG_COLUMNS) <= set(header):
        long = _read_long(path)
    elif set(WIDE_COLUMNS) | set(MONTHS) <= set(header):
        long = _read_wide(path, url)
    else:
        raise ParseError(
            f"{entry['name']}: layout not recognised; expected the long columns {sorted(LONG_COLUMNS)} "
            f"or the wide columns {sorted(WIDE_COLUMNS)} + Enero…Diciembre; found {header}",
            source_id=SOURCE_ID, url=url)
    long = long[long["subtipo"].isin({s for s, _, _ in SERIES.values()})]
    if long.empty:
        raise ParseError(f"{entry['name']}: no Homicidio doloso / Feminicidio rows", source_id=SOURCE_ID, url=url)
    tidy = pd.concat([_series(long, suffix, *rule) for suffix, rule in SERIES.items()], ignore_index=True)
    victims = _states_and_national(tidy, entry["name"], url)
    return pd.concat([victims, *(_share(victims, s, n, d) for s, (n, d) in SHARES.items())], ignore_index=True)


def _previous_entry(previous) -> dict:
    if previous is None:
        return {}
    return next((f for f in previous.files if f["name"] == FILE_NAME), {})


def _header(path: Path, url: str | None) -> list[str]:
    try:
        try:
            return list(pd.read_csv(path, nrows=0, encoding="utf-8").columns)
        except UnicodeDecodeError:
            return list(pd.read_csv(path, nrows=0, encoding="latin-1").columns)
    except (pd.errors.EmptyDataError, OSError, EOFError) as exc:
        raise ParseError(f"{path.name}: unreadable or empty ({exc})", source_id=SOURCE_ID, url=url) from exc


def _read_long(path: Path) -> pd.DataFrame:
    cat = {c: "category" for c in ("date_year_month", "subtipo_de_delito", "modalidad", "genero")}
    df = pd.read_csv(path, usecols=list(LONG_COLUMNS), dtype={**cat, "cve_ent": str})
    df = df.rename(columns=LONG_COLUMNS)
    dates = pd.to_datetime(df["date"].cat.categories, format="%Y-%m-%d").to_period("M").to_timestamp()
    df["date"] = df["date"].cat.rename_categories(dates)
    return df


def _read_wide(path: Path, url: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # SESNSP's usual encoding (CP1252/latin-1)
    df = pd.read_csv(io.StringIO(text), usecols=[*WIDE_COLUMNS, *MONTHS], dtype=str).rename(columns=WIDE_COLUMNS)
    long = df.melt(id_vars=list(WIDE_COLUMNS.values()), var_name="month", value_name="victims")
    long = long[long["victims"].notna() & (long["victims"].str.strip() != "")]  # months after the cut-off
    victims = pd.to_numeric(long["victims"].str.replace(",", ""), errors="coerce")
    if victims.isna().any():
        bad = long.loc[victims.isna(), "victims"].iloc[0]
        raise ParseError(f"{path.name}: non-numeric victim count {bad!r}", source_id=SOURCE_ID, url=url)
    dates = pd.to_datetime({"year": long["year"].astype(int), "month": long["month"].map(MONTHS), "day": 1})
    return pd.DataFrame({"date": dates, "cve_ent": long["cve_ent"].str.strip().str.zfill(2),
                         **{c: long[c] for c in ("subtipo", "modalidad", "sexo")}, "victims": victims})


def _series(long: pd.DataFrame, suffix: str, subtipo: str, column: str | None, value: str | None) -> pd.DataFrame:
    rows = long[long["subtipo"] == subtipo]
    if column is not None:
        rows = rows[rows[column] == value]
    out = rows.groupby(["cve_ent", "date"], observed=True, as_index=False)["victims"].sum()
    out["series_id"] = f"{SOURCE_ID}.{suffix}"
    return out


def _states_and_national(tidy: pd.DataFrame, name: str, url: str | None) -> pd.DataFrame:
    iso = iso_by_agency_code("MX")
    tidy["cve_ent"] = tidy["cve_ent"].astype(str)
    unknown = sorted(set(tidy["cve_ent"]) - set(iso))
    if unknown:
        raise ParseError(f"{name}: unknown state code(s) {unknown}", source_id=SOURCE_ID, url=url)
    tidy["geo"] = tidy["cve_ent"].map(iso)
    national = tidy.groupby(["series_id", "date"], as_index=False)["victims"].sum().assign(geo="MX")
    out = pd.concat([tidy, national], ignore_index=True)
    return pd.DataFrame({
        "series_id": out["series_id"], "geo": out["geo"], "date": pd.to_datetime(out["date"]),
        "value": out["victims"].astype(float), "unit": "victims", "source_id": SOURCE_ID, "flag": None,
    })


def _share(victims: pd.DataFrame, suffix: str, numerator: str, denominator: str) -> pd.DataFrame:
    """numerator / denominator x 100 per geo and month; months with no denominator victims are
    left out (a share of nothing is undefined, not 0 %)."""
    wide = victims[victims["series_id"].isin([f"{SOURCE_ID}.{numerator}", f"{SOURCE_ID}.{denominator}"])]
    wide = wide.pivot_table(index=["geo", "date"], columns="series_id", values="value", aggfunc="sum")
    num = wide[f"{SOURCE_ID}.{numerator}"]  # both must be published: a blank is not 0 %
    den = wide[f"{SOURCE_ID}.{denominator}"]
    share = (num / den * 100).loc[num.notna() & (den > 0)].rename("value").reset_index()
    return share.assign(series_id=f"{SOURCE_ID}.{suffix}", unit="percent", source_id=SOURCE_ID, flag=None)
