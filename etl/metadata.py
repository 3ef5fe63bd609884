"""Source metadata: one TOML file beside each source module, checked on load."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

# How often each cadence publishes, in days; the dashboard calls data stale past 1.5x this.
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "annual": 366, "static": None}
FREQUENCIES = {"monthly", "monthly_12m_ending", "annual"}
UNITS = {"deaths", "victims", "lbs", "events", "persons", "per_100k", "per_100k_age_adjusted"}

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
    source_id: str = ""


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
    first_date: date | None = None
    min_geos: int = 1
    series: tuple[SeriesMeta, ...] = field(default_factory=tuple)

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
        if s["unit"] not in UNITS:
            raise MetadataError(f"{where}: series {s['id']}: unit {s['unit']!r} not one of {sorted(UNITS)}")
        if s["frequency"] not in FREQUENCIES:
            raise MetadataError(
                f"{where}: series {s['id']}: frequency {s['frequency']!r} not one of {sorted(FREQUENCIES)}"
            )
        series.append(SeriesMeta(source_id=raw["id"], **{k: v for k, v in s.items()}))
    if not series:
        raise MetadataError(f"{where}: declares no series")
    ids = [s.id for s in series]
    if len(ids) != len(set(ids)):
        raise MetadataError(f"{where}: duplicate series ids")
    first = checks.get("first_date")
    return SourceMeta(
        **{k: raw[k] for k in REQUIRED_SOURCE_FIELDS},
        caveats=raw.get("caveats", ""),
        first_date=date.fromisoformat(str(first)) if first else None,
        min_geos=int(checks.get("min_geos", 1)),
        series=tuple(series),
    )
