"""The closed vocabularies (units, frequencies, flags, milestone categories, geography kinds),
defined once in ``vocabulary.toml`` for the ETL, the tidy schema and the dashboard."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).with_name("vocabulary.toml")
STYLES = {"dash", "dot", "gap"}


class VocabularyError(ValueError):
    pass


@dataclass(frozen=True)
class Term:
    id: str
    label: str
    label_es: str
    count: bool = False              # units: a count (never negative; may be summed and divided by population)
    rate: bool = False               # units: already a rate or score (no per-100k)
    per_capita: bool = True          # units: a count a rate per resident makes sense of (not pounds seized)
    periods_per_year: int = 0        # frequencies
    overlapping: bool = False        # frequencies: 12-month-ending sums
    style: str = ""                  # flags: how points with the flag are drawn
    color: str = ""                  # milestone categories
    country: str = ""                # geo kinds
    kinds: tuple[str, ...] = ()      # geo kinds: geo.csv kinds listed


@dataclass(frozen=True)
class Vocabulary:
    units: dict[str, Term]
    frequencies: dict[str, Term]
    flags: dict[str, Term]
    milestone_categories: dict[str, Term]
    geo_kinds: dict[str, Term]

    @property
    def count_units(self) -> set[str]:
        return {k for k, u in self.units.items() if u.count}


_FIELDS = {f for f in Term.__dataclass_fields__} - {"id"}
_SECTIONS = ("units", "frequencies", "flags", "milestone_categories", "geo_kinds")


def load(path: Path = PATH) -> Vocabulary:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for section in _SECTIONS:
        terms = {}
        for key, entry in raw.get(section, {}).items():
            where = f"{path.name}: [{section}.{key}]"
            unknown = set(entry) - _FIELDS
            if unknown:
                raise VocabularyError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
            if not entry.get("label") or not entry.get("label_es"):
                raise VocabularyError(f"{where}: needs label and label_es")
            if section == "flags" and entry.get("style") not in STYLES:
                raise VocabularyError(f"{where}: style must be one of {sorted(STYLES)}")
            if "kinds" in entry:
                entry = {**entry, "kinds": tuple(entry["kinds"])}
            terms[key] = Term(id=key, **entry)
        if not terms:
            raise VocabularyError(f"{path.name}: section [{section}] is empty")
        out[section] = terms
    return Vocabulary(**out)


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    return load()


def units() -> dict[str, Term]:
    return vocabulary().units


def frequencies() -> dict[str, Term]:
    return vocabulary().frequencies


def flags() -> dict[str, Term]:
    return vocabulary().flags


def milestone_categories() -> dict[str, Term]:
    return vocabulary().milestone_categories


def geo_kinds() -> dict[str, Term]:
    return vocabulary().geo_kinds
