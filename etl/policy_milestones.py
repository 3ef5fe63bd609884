"""The policy-milestone registry: a CSV users edit, validated row by row on load.

``data/milestones/milestones.csv`` holds one row per milestone; ``alternative_dates.csv``
beside it holds other defensible dates for the same event (announced vs. funded vs. signed),
each with its own citation. A bad row raises an error naming the file, row and field.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from etl import paths, vocabulary

CATEGORIES = set(vocabulary.milestone_categories())
COUNTRIES = {"US", "MX"}
COLUMNS = ["id", "date", "category", "countries", "in_article", "title_en", "title_es", "description_en", "source_url"]
REQUIRED = ["id", "date", "category", "title_en", "source_url"]
ALT_COLUMNS = ["milestone_id", "date", "label", "source_url"]


class MilestoneError(ValueError):
    """A milestone row breaks the registry's rules; the message names file, row and field."""


def _fail(path: Path, line: int, field: str, problem: str) -> None:
    raise MilestoneError(f"{path.name} row {line}, field '{field}': {problem}")


def _date(path: Path, line: int, field: str, value: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(pd.to_datetime(value, format="%Y-%m-%d"))
    except (ValueError, TypeError):
        _fail(path, line, field, f"{value!r} is not a date in YYYY-MM-DD form")


def _url(path: Path, line: int, field: str, value: str) -> str:
    if not value.startswith(("https://", "http://")):
        _fail(path, line, field, f"{value!r} is not an http(s) URL; every milestone needs a citation")
    return value


def _read_rows(path: Path, columns: list[str]) -> list[tuple[int, dict]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise MilestoneError(f"{path.name}: missing column(s) {missing}; found {reader.fieldnames}")
        # Line numbers as a spreadsheet shows them: the header is row 1.
        return [(i, {k: (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader, start=2)]


def load_milestones(path: str | Path | None = None) -> pd.DataFrame:
    """Validated milestones, sorted by date, with an ``alt_dates`` list per milestone."""
    path = Path(path) if path else paths.milestones_path()
    rows, seen = [], {}
    for line, r in _read_rows(path, COLUMNS):
        for field in REQUIRED:
            if not r.get(field):
                _fail(path, line, field, "is required and empty")
        if r["id"] in seen:
            _fail(path, line, "id", f"duplicate id {r['id']!r} (first on row {seen[r['id']]})")
        seen[r["id"]] = line
        if r["category"] not in CATEGORIES:
            _fail(path, line, "category", f"unknown category {r['category']!r}; use one of {sorted(CATEGORIES)}")
        countries = [c for c in r["countries"].split(";") if c] or ["US", "MX"]
        if set(countries) - COUNTRIES:
            _fail(path, line, "countries", f"{r['countries']!r}: use US, MX or US;MX")
        if r["in_article"].lower() not in {"true", "false", ""}:
            _fail(path, line, "in_article", f"{r['in_article']!r} must be true or false")
        rows.append(
            {
                **r,
                "date": _date(path, line, "date", r["date"]),
                "countries": countries,
                "in_article": r["in_article"].lower() == "true",
                "title_es": r["title_es"] or r["title_en"],
                "source_url": _url(path, line, "source_url", r["source_url"]),
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["alt_dates"] = _alternative_dates(path.with_name("alternative_dates.csv"), set(seen)).reindex(df["id"]).values
    df["alt_dates"] = df["alt_dates"].apply(lambda v: v if isinstance(v, list) else [])
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _alternative_dates(path: Path, ids: set[str]) -> pd.Series:
    if not path.is_file():
        return pd.Series(dtype=object)
    alts: dict[str, list] = {}
    for line, r in _read_rows(path, ALT_COLUMNS):
        if r["milestone_id"] not in ids:
            _fail(path, line, "milestone_id", f"{r['milestone_id']!r} is not a milestone id")
        alts.setdefault(r["milestone_id"], []).append(
            {
                "date": _date(path, line, "date", r["date"]),
                "label": r["label"] or r["date"],
                "source_url": _url(path, line, "source_url", r["source_url"]),
            }
        )
    return pd.Series(alts, dtype=object)
