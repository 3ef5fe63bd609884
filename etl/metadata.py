"""Source metadata: one TOML file beside each source module, checked on load."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
import math
from pathlib import Path

from etl import vocabulary

# How often each cadence publishes, in days; the dashboard calls data stale past 1.5x this.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "half_yearly": 184, "annual": 366,
                "irregular": None, "static": None}
# A snapshot is stale when it is more than this many release intervals old: one missed release,
# with half an interval's grace for a publisher that is a little late.
STALE_FACTOR = 1.5


def stale_after(cadence_days: int | None) -> int | None:
    """The age in whole days past which data of this release interval is stale (an age in days is
    more than 1.5 x 31 = 46.5 exactly when it is more than 46); None: never stale (no interval,
    or NaN, as a table of sources holds a missing one)."""
    if not cadence_days or math.isnan(cadence_days):
        return None
    return int(STALE_FACTOR * cadence_days)


def is_stale(age_days: int | None, cadence_days: int | None) -> bool:
    limit = stale_after(cadence_days)
    return age_days is not None and limit is not None and age_days > limit

REQUIRED_SOURCE_FIELDS = (
    "id", "publisher", "title", "landing_url", "download_url", "license", "citation", "cadence",
)
REQUIRED_SERIES_FIELDS = ("id", "title", "unit", "frequency", "definition")


class MetadataError(ValueError):
    pass


@dataclass(frozen=True)
class SeriesMeta:
    id: str
    title: str
    unit: str
    frequency: str
    definition: str
    title_es: str = ""
    caveats: str = ""
    caveats_es: str = ""
    definition_es: str = ""
    source_id: str = ""
    # How the dashboard shows the series (panel, label, facets...): checked by dashboard.registry.
    display: dict = field(default_factory=dict, hash=False, compare=False)


SERIES_FIELDS = set(SeriesMeta.__dataclass_fields__) - {"source_id"}


@dataclass(frozen=True)
class SourceMeta:
    id: str
    publisher: str
    title: str
    landing_url: str
    download_url: str
    license: str
    citation: str
    cadence: str
    caveats: str = ""
    caveats_es: str = ""
    title_es: str = ""
    license_es: str = ""
    short_name: str = ""       # what a chart's source line calls it ("CDC/NCHS VSRR")
    short_name_es: str = ""
    publisher_es: str = ""     # the publisher as a Spanish reader knows it (a Mexican agency's own name)
    first_date: date | None = None
    min_geos: int = 1
    series: tuple[SeriesMeta, ...] = field(default_factory=tuple)
    # Timeline panels this source declares (raw tables; checked by dashboard.registry).
    panels: tuple[dict, ...] = field(default_factory=tuple)
    path: str = ""

    @property
    def cadence_days(self) -> int | None:
        return CADENCE_DAYS[self.cadence]

    def series_by_id(self) -> dict[str, SeriesMeta]:
        return {s.id: s for s in self.series}


def load_metadata(path: Path) -> SourceMeta:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    where = path.name
    missing = [k for k in REQUIRED_SOURCE_FIELDS if not raw.get(k)]
    if missing:
        raise MetadataError(f"{where}: missing field(s) {', '.join(missing)}")
    if raw["id"] != path.stem:
        raise MetadataError(f"{where}: id {raw['id']!r} must equal the file name {path.stem!r}")
    if raw["cadence"] not in CADENCE_DAYS:
        raise MetadataError(f"{where}: cadence {raw['cadence']!r} not one of {sorted(CADENCE_DAYS)}")
    checks = raw.get("checks", {})
    series = []
    for i, s in enumerate(raw.get("series", []), start=1):
        missing = [k for k in REQUIRED_SERIES_FIELDS if not s.get(k)]
        if missing:
            raise MetadataError(f"{where}: series #{i} missing field(s) {', '.join(missing)}")
        if not s["id"].startswith(raw["id"] + "."):
            raise MetadataError(f"{where}: series id {s['id']!r} must start with {raw['id']!r}.")
        units, freqs = vocabulary.units(), vocabulary.frequencies()
        if s["unit"] not in units:
            raise MetadataError(f"{where}: series {s['id']}: unit {s['unit']!r} not one of {sorted(units)}")
        if s["frequency"] not in freqs:
            raise MetadataError(
                f"{where}: series {s['id']}: frequency {s['frequency']!r} not one of {sorted(freqs)}"
            )
        unknown = set(s) - SERIES_FIELDS
        if unknown:
            raise MetadataError(f"{where}: series {s['id']}: unknown field(s) {', '.join(sorted(unknown))}")
        if "display" in s and not isinstance(s["display"], dict):
            raise MetadataError(f"{where}: series {s['id']}: display must be a table")
        series.append(SeriesMeta(source_id=raw["id"], **{k: v for k, v in s.items()}))
    if not series:
        raise MetadataError(f"{where}: declares no series")
    ids = [s.id for s in series]
    if len(ids) != len(set(ids)):
        raise MetadataError(f"{where}: duplicate series ids")
    first = checks.get("first_date")
    panels = raw.get("panels", [])
    if not isinstance(panels, list) or not all(isinstance(p, dict) for p in panels):
        raise MetadataError(f"{where}: panels must be an array of tables ([[panels]])")
    return SourceMeta(
        **{k: raw[k] for k in REQUIRED_SOURCE_FIELDS},
        caveats=raw.get("caveats", ""),
        caveats_es=raw.get("caveats_es", ""),
        title_es=raw.get("title_es", ""),
        license_es=raw.get("license_es", ""),
        short_name=raw.get("short_name", ""),
        short_name_es=raw.get("short_name_es", ""),
        publisher_es=raw.get("publisher_es", ""),
        panels=tuple(panels),
        path=str(path),
        first_date=date.fromisoformat(str(first)) if first else None,
        min_geos=int(checks.get("min_geos", 1)),
        series=tuple(series),
    )
