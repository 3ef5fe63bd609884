"""The policy-milestone registry: a CSV users edit, validated row by row on load.

``data/milestones/milestones.csv`` holds one row per milestone; ``alternative_dates.csv``
beside it holds other defensible dates for the same event (announced vs. funded vs. signed),
each with its own citation. A bad row raises an error naming the file, row and field.

Spanish text: ``title_es``, ``description_es`` (milestones) and ``label_es`` (alternative
dates) may be left empty; the last two may also be left out, as a column of an older file or as
the missing cell of a row typed in the older form. The row still loads and the Spanish view
shows the English text. A missing Spanish description or label is a gap, not an error, so it
is a warning: one log line per file (logger ``etl.policy_milestones``) naming the rows, and in
the frame a ``description_es_fallback`` column, True where ``description_es`` holds the English
text. The seed registry itself has every description in both languages (a test holds it to that).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pandas as pd

from etl import paths, vocabulary

log = logging.getLogger(__name__)

CATEGORIES = set(vocabulary.milestone_categories())
COUNTRIES = {"US", "MX"}
# Columns the CSV must have; the optional ones may be absent (files written before they existed).
CSV_COLUMNS = ["id", "date", "category", "countries", "in_article", "title_en", "title_es", "description_en", "source_url"]
OPTIONAL_COLUMNS = ["description_es"]
REQUIRED = ["id", "date", "category", "title_en", "source_url"]
# Columns of the validated frame (plus ``alt_dates``), in the CSV's order.
COLUMNS = ["id", "date", "category", "countries", "in_article", "title_en", "title_es", "description_en",
           "description_es", "source_url", "description_es_fallback"]
ALT_COLUMNS = ["milestone_id", "date", "label", "source_url"]
ALT_OPTIONAL_COLUMNS = ["label_es"]


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


def _read_rows(path: Path, columns: list[str], optional: list[str]) -> list[tuple[int, dict]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise MilestoneError(f"{path.name}: missing column(s) {missing}; found {header}")
        blank = dict.fromkeys(optional, "")
        # A row typed in the form the file had before its optional columns (e.g. without
        # description_es) is read in that form: those cells are simply empty.
        older = [h for h in header if h not in optional]
        rows = []
        # Line numbers as a spreadsheet shows them: the header is row 1.
        for i, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) == len(header):
                names = header
            elif len(cells) == len(older):
                names = older
            else:
                # Any other length would shift later values into the wrong field (a URL read as
                # a title): say so rather than report a misleading field.
                raise MilestoneError(f"{path.name} row {i}: {len(cells)} fields but the header has "
                                     f"{len(header)} ({','.join(header)}); leave a cell empty rather than out")
            rows.append((i, {**blank, **{k: v.strip() for k, v in zip(names, cells) if k}}))
        return rows


def _warn_fallback(path: Path, field: str, lines: list[int], shown: str) -> None:
    if lines:
        log.warning("%s: no %s on row(s) %s; the %s is shown in its place",
                    path.name, field, ", ".join(map(str, lines)), shown)


def load_milestones(path: str | Path | None = None) -> pd.DataFrame:
    """Validated milestones, sorted by date, with an ``alt_dates`` list per milestone."""
    path = Path(path) if path else paths.milestones_path()
    rows, seen, no_es = [], {}, []
    for line, r in _read_rows(path, CSV_COLUMNS, OPTIONAL_COLUMNS):
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
        fallback = not r["description_es"]
        if fallback:
            no_es.append(line)
        rows.append(
            {
                **r,
                "date": _date(path, line, "date", r["date"]),
                "countries": countries,
                "in_article": r["in_article"].lower() == "true",
                "title_es": r["title_es"] or r["title_en"],
                "description_es": r["description_es"] or r["description_en"],
                "source_url": _url(path, line, "source_url", r["source_url"]),
                "description_es_fallback": fallback,
            }
        )
    _warn_fallback(path, "description_es", no_es, "English description")
    df = pd.DataFrame(rows, columns=COLUMNS).astype({"description_es_fallback": bool})
    df["alt_dates"] = _alternative_dates(path.with_name("alternative_dates.csv"), set(seen)).reindex(df["id"]).values
    df["alt_dates"] = df["alt_dates"].apply(lambda v: v if isinstance(v, list) else [])
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _alternative_dates(path: Path, ids: set[str]) -> pd.Series:
    if not path.is_file():
        return pd.Series(dtype=object)
    alts: dict[str, list] = {}
    no_es = []
    for line, r in _read_rows(path, ALT_COLUMNS, ALT_OPTIONAL_COLUMNS):
        if r["milestone_id"] not in ids:
            _fail(path, line, "milestone_id", f"{r['milestone_id']!r} is not a milestone id")
        label = r["label"] or r["date"]
        if not r["label_es"]:
            no_es.append(line)
        alts.setdefault(r["milestone_id"], []).append(
            {
                "date": _date(path, line, "date", r["date"]),
                "label": label,
                "label_es": r["label_es"] or label,
                "source_url": _url(path, line, "source_url", r["source_url"]),
            }
        )
    _warn_fallback(path, "label_es", no_es, "English label")
    return pd.Series(alts, dtype=object)
