"""Annual state rates for the choropleths: counts / population x 100k, joined by code."""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

import etl
from etl import paths
from etl.reference import states

US_MAP_SERIES = {"all_drugs": "cdc_vsrr_overdose.all_drugs", "synthetic_opioids": "cdc_vsrr_overdose.synthetic_opioids"}
MX_MAP_SERIES = {"sesnsp": "sesnsp_homicide.homicidio_doloso", "inegi": "inegi_homicide.homicides"}


@lru_cache(maxsize=2)
def geojson(name: str) -> dict:
    return json.loads((paths.data_dir() / "geo" / name).read_text(encoding="utf-8"))


def _population(series_id: str, year: int) -> pd.Series:
    pop = etl.load(series_id, start=f"{year}-01-01", end=f"{year}-01-01")
    return pop.set_index("geo")["value"]


def us_overdose_rates(year: int, drug: str = "all_drugs") -> pd.DataFrame:
    """Deaths in the 12 months ending December of ``year`` per 100k residents, by state.

    Columns: geo, location (FIPS, the GeoJSON id), name, deaths, population, value."""
    deaths = etl.load(US_MAP_SERIES[drug], start=f"{year}-12-01", end=f"{year}-12-01")
    return _rates(deaths, _population("population.us_total", year), "US")


def mx_homicide_rates(year: int, source: str = "inegi") -> pd.DataFrame:
    """Homicides in calendar ``year`` (sum of 12 months) per 100k residents, by state."""
    monthly = etl.load(MX_MAP_SERIES[source], start=f"{year}-01-01", end=f"{year}-12-01")
    counts = monthly.groupby("geo", as_index=False).agg(value=("value", "sum"), months=("value", "size"))
    counts = counts[counts["months"] == 12]  # an incomplete year would understate the rate
    return _rates(counts, _population("population.mx_total", year), "MX")


def _rates(counts: pd.DataFrame, population: pd.Series, country: str) -> pd.DataFrame:
    ref = states()
    ref = ref[ref["country"] == country][["iso_3166_2", "agency_code", "name"]]
    df = counts.rename(columns={"value": "count"}).merge(ref, left_on="geo", right_on="iso_3166_2")
    df["population"] = df["geo"].map(population)
    df["value"] = df["count"] / df["population"] * 1e5
    df["location"] = df["agency_code"].str.zfill(2)
    return df[["geo", "location", "name", "count", "population", "value"]].dropna(subset=["value"])


def complete_years(series_id: str, month: int = 12) -> list[int]:
    """Years whose ``month`` (December: a full calendar year) is in the national series."""
    geo = "MX" if series_id.startswith(("sesnsp", "inegi")) else "US"
    dates = etl.load(series_id, geo=geo)["date"]
    return sorted(dates[dates.dt.month == month].dt.year.unique().tolist())
