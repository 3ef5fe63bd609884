"""Reference tables: the geographies a tidy row may name, and publishers' codes for them."""

from __future__ import annotations

from functools import cache

import pandas as pd

from etl import paths


@cache
def geo_table() -> pd.DataFrame:
    return pd.read_csv(paths.reference_dir() / "geo.csv", dtype=str, keep_default_na=False)


@cache
def states() -> pd.DataFrame:
    return pd.read_csv(paths.reference_dir() / "states.csv", dtype=str, keep_default_na=False)


def iso_by_agency_code(country: str) -> dict[str, str]:
    """FIPS (US) or INEGI cve_ent (MX), zero-padded to 2 digits -> ISO 3166-2 code."""
    s = states()
    s = s[s["country"] == country]
    return dict(zip(s["agency_code"].str.zfill(2), s["iso_3166_2"]))


def iso_by_postal(country: str = "US") -> dict[str, str]:
    s = states()
    s = s[s["country"] == country]
    return dict(zip(s["postal"], s["iso_3166_2"]))


def cbp_aor_geo() -> dict[str, str]:
    """CBP's upper-case area-of-responsibility name -> our geo code."""
    g = geo_table()
    g = g[g["kind"] == "cbp_aor"]
    return dict(zip(g["agency_code"], g["geo"]))


def geo_names() -> dict[str, str]:
    g = geo_table()
    return dict(zip(g["geo"], g["name"]))
