"""Read-only, cached data access for the dashboard, through the ETL's read API only.

Caches are keyed on the catalog's modification time: after a refresh rewrites the catalog,
the next request sees the new data without a restart.
"""

from __future__ import annotations

import hashlib
import tomllib
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pandas as pd

import etl
from etl import paths, vocabulary
from etl.reference import geo_table
from etl.metadata import is_stale


def catalog_token() -> int:
    """Changes whenever a refresh rewrites the catalog."""
    try:
        return paths.catalog_path().stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def milestones_token() -> int:
    try:
        return paths.milestones_path().stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@lru_cache(maxsize=4)
def _catalog(token: int) -> dict:
    return etl.catalog()


def catalog() -> dict:
    return _catalog(catalog_token())


@lru_cache(maxsize=1)
def series_meta() -> dict[str, dict]:
    """series_id -> metadata (title, unit, frequency, definition, source_id, ...)."""
    return {r["series_id"]: r for r in etl.series().to_dict("records")}


@lru_cache(maxsize=1)
def sources_meta() -> dict[str, dict]:
    return {r["source_id"]: r for r in etl.source_info().to_dict("records")}


@lru_cache(maxsize=256)
def _series(series_id: str, geo: str, token: int) -> pd.DataFrame:
    try:
        return etl.load(series_id, geo=geo)
    except FileNotFoundError:
        return pd.DataFrame(columns=["series_id", "geo", "date", "value", "unit", "source_id", "flag"])


def series(series_id: str, geo: str) -> pd.DataFrame:
    """Rows of one series in one geography (empty frame if not built or not published)."""
    return _series(series_id, geo, catalog_token())


@lru_cache(maxsize=8)
def _series_all(series_id: str, token: int) -> pd.DataFrame:
    return etl.load(series_id)


def series_all(series_id: str) -> pd.DataFrame:
    """Every geography of one series."""
    return _series_all(series_id, catalog_token())


DENOMINATORS = tomllib.loads((Path(__file__).with_name("denominators.toml")).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _geo_countries() -> dict[str, str]:
    g = geo_table()
    return {code: country for code, country in zip(g["geo"], g["country"]) if isinstance(country, str)}


@lru_cache(maxsize=64)
def _population(geo: str, token: int) -> pd.Series:
    sid = DENOMINATORS.get(_geo_countries().get(geo, ""))
    if sid is None:
        return pd.Series(dtype=float)
    df = _series(sid, geo, token)
    years = df["date"].to_numpy().astype("datetime64[Y]").astype("int64") + 1970
    return pd.Series(df["value"].to_numpy(), index=years, dtype=float)


def population(geo: str) -> pd.Series:
    """Population by calendar year for a country or state (empty for non-ISO areas)."""
    return _population(geo, catalog_token())


_last_good_milestones: list[pd.DataFrame] = []


@lru_cache(maxsize=2)
def _milestones(token: int) -> tuple[pd.DataFrame, str]:
    """(milestones, error). A bad edit to the registry keeps the last good version on screen
    and says what is wrong, instead of taking the dashboard down."""
    from etl.policy_milestones import MilestoneError

    try:
        ms = etl.milestones()
    except (MilestoneError, OSError) as exc:
        fallback = _last_good_milestones[-1] if _last_good_milestones else _empty_milestones()
        return fallback, f"The milestones file has an error, so the last good version is shown: {exc}"
    _last_good_milestones[:] = [ms]
    return ms, ""


def _empty_milestones() -> pd.DataFrame:
    from etl.policy_milestones import COLUMNS

    return pd.DataFrame(columns=[*COLUMNS, "alt_dates"]).astype({"date": "datetime64[ns]"})


def milestones() -> pd.DataFrame:
    return _milestones(milestones_token())[0]


def milestone_numbers() -> dict[str, int]:
    """Milestone id -> the number its marker carries on every chart and in the key."""
    return _milestone_numbers(milestones_token())


@lru_cache(maxsize=2)
def _milestone_numbers(_token: int) -> dict[str, int]:
    from dashboard.figures import milestone_numbers

    return milestone_numbers(milestones())


def milestones_error() -> str:
    return _milestones(milestones_token())[1]


@lru_cache(maxsize=4)
def _geo_codes(token: int) -> dict[str, tuple[str, ...]]:
    return {key: tuple(_kind_rows(key)["geo"]) for key in vocabulary.geo_kinds()}


def geo_codes() -> dict[str, tuple[str, ...]]:
    """Every geography of each kind of the vocabulary (``us``, ``mx``, ``cbp``, ``country``), in the
    order the controls list them: the country first, then by kind, parent and name."""
    return _geo_codes(catalog_token())


def valid_geos() -> dict[str, set[str]]:
    return {k: set(v) for k, v in geo_codes().items()}


def _kind_rows(geo_kind: str) -> pd.DataFrame:
    """The geography table's rows of one kind of the vocabulary, in control order."""
    kind = vocabulary.geo_kinds()[geo_kind]
    g = geo_table()
    rows = g[g["kind"].isin(kind.kinds) & ((g["country"] == kind.country) if kind.country else True)]
    order = {k: i for i, k in enumerate(kind.kinds)}
    return rows.assign(_k=rows["kind"].map(order)).sort_values(["_k", "parent", "name"]).drop(columns="_k")


@lru_cache(maxsize=1)
def _geo_names() -> dict[str, str]:
    return dict(zip(geo_table()["geo"], geo_table()["name"]))


@lru_cache(maxsize=1)
def _geo_names_es() -> dict[str, str]:
    g = geo_table()
    es = g["name_es"] if "name_es" in g else g["name"]
    return {c: (e or n) for c, n, e in zip(g["geo"], g["name"], es)}


def geo_name(code: str, lang: str = "en") -> str:
    names = _geo_names_es() if lang == "es" else _geo_names()
    return names.get(code, code)


def publisher(source_id: str, lang: str = "en") -> str:
    """The publisher's name in the reader's language (metadata ``publisher_es``), else in English."""
    meta = sources_meta().get(source_id, {})
    return (lang == "es" and meta.get("publisher_es")) or meta.get("publisher", source_id)


def source_short(source_id: str, lang: str = "en") -> str:
    """The short name a chart's source line uses (metadata ``short_name``), else the publisher."""
    meta = sources_meta().get(source_id, {})
    if lang == "es" and meta.get("short_name_es"):
        return meta["short_name_es"]
    return meta.get("short_name") or meta.get("publisher", source_id)


@lru_cache(maxsize=16)
def _panel_geos(geo_kind: str, series_ids: tuple[str, ...], token: int) -> tuple[str, ...]:
    """Geographies of a panel's kind that hold data for at least one of its series: the country
    first, then by name."""
    have = set()
    wanted = set(series_ids)
    for source_id in {series_meta()[sid]["source_id"] for sid in series_ids if sid in series_meta()}:
        try:
            pairs = etl.api.series_geos(source_id, wanted)  # the panel's stretch of the index only
        except (FileNotFoundError, OSError, ValueError, KeyError):
            continue
        have |= set(pairs.loc[pairs["series_id"].isin(wanted), "geo"])
    rows = _kind_rows(geo_kind)
    return tuple(rows.loc[rows["geo"].isin(have), "geo"])


def panel_geos(spec) -> tuple[str, ...]:
    """The geographies a panel's geography control offers."""
    return _panel_geos(spec.geo_kind, tuple(s.id for s in spec.series), catalog_token())


def provenance(source_id: str, now: datetime | None = None) -> dict:
    """What the line under a chart says: publisher, license, period, snapshot, freshness."""
    meta = sources_meta().get(source_id, {})
    entry = catalog()["sources"].get(source_id, {})
    now = now or datetime.now(timezone.utc)
    fetched = entry.get("fetched_at")
    # Age of the data, not of the copy: a snapshot is named by the day its data was current (the
    # fetch day, or a seed's vintage), so an old seed copied yesterday is still stale.
    stale, age_days = False, None
    if entry.get("snapshot") and meta.get("cadence_days"):
        as_of = pd.Timestamp(entry["snapshot"][:10], tz="UTC").to_pydatetime()
        age_days = (now - as_of).days
        stale = is_stale(age_days, meta["cadence_days"])
    return {
        "source_id": source_id,
        "publisher": meta.get("publisher", source_id),
        "title": meta.get("title", ""),
        "license": meta.get("license", ""),
        "landing_url": meta.get("landing_url", ""),
        "period": f"{entry.get('date_min', '?')} – {entry.get('date_max', '?')}",
        "date_max": entry.get("date_max") or "",
        "snapshot": entry.get("snapshot", "not built"),
        "fetched_at": (fetched or "")[:10],
        "origin": entry.get("snapshot_origin", "fetch"),
        "published_at": entry.get("published_at") or "",
        "snapshot_md5s": entry.get("snapshot_md5s", {}),
        "stale": stale,
        "age_days": age_days,
        "cadence": meta.get("cadence", ""),
        "cadence_days": meta.get("cadence_days"),
    }


def data_version(source_ids: list[str]) -> str:
    """A short hash of the raw snapshots behind a view: same hash, same numbers."""
    cat = catalog()["sources"]
    parts = [f"{sid}:{cat.get(sid, {}).get('snapshot_fingerprint', 'unbuilt')}" for sid in sorted(set(source_ids))]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def last_updated(source_ids: list[str]) -> str:
    """When the newest of these tables was built (UTC), as the page shows it."""
    built = [catalog()["sources"].get(sid, {}).get("built_at") for sid in source_ids]
    built = [b for b in built if b]
    return pd.Timestamp(max(built)).strftime("%Y-%m-%d %H:%M UTC") if built else "never"
