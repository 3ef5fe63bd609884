"""What a tidy table covers, as the catalog records it: per series and geography, the first and
last date that has a value, and the publisher's release (file) the rows come from.

A chart can then say "state series end Nov 2023 while national runs to 2026", and a ratio of
two series is computed only where both parts come from the same release (``etl.ratio``).

A source module may define ``release_of(series_id, geo) -> str``: the file of its snapshot that
a (series, geography) comes from. Without it, a one-file snapshot is one release; a snapshot of
several files has no known release per series (``None``), and ratios across its series refuse.
"""

from __future__ import annotations

import pandas as pd


def release_resolver(module, snapshot):
    """(series_id, geo) -> release label ``<snapshot>/<file>``, or None when unknown."""
    fn = getattr(module, "release_of", None)
    names = [f["name"] for f in snapshot.files] if snapshot is not None else []
    if fn is None:
        only = names[0] if len(names) == 1 else None
        return lambda series_id, geo: f"{snapshot.name}/{only}" if only else None

    def resolve(series_id: str, geo: str) -> str | None:
        name = fn(series_id, geo)
        return f"{snapshot.name}/{name}" if name else None

    return resolve


def table_coverage(df: pd.DataFrame, release=None) -> dict[str, list[dict]]:
    """{series_id: [{"first", "last", "release", "geos": "US,US-AK,..."}, ...]}: geographies that
    share first date, last date and release are grouped (their codes comma-joined, one JSON line
    per group), so the catalog stays small."""
    present = df[df["value"].notna()]
    spans = present.groupby(["series_id", "geo"], sort=True)["date"].agg(["min", "max"]).reset_index()
    out: dict[str, list[dict]] = {}
    for sid, rows in spans.groupby("series_id", sort=True):
        groups: dict[tuple, list[str]] = {}
        for geo, first, last in zip(rows["geo"], rows["min"], rows["max"]):
            key = (first.date().isoformat(), last.date().isoformat(), release(sid, geo) if release else None)
            groups.setdefault(key, []).append(geo)
        out[sid] = [{"first": f, "last": la, "release": r, "geos": ",".join(sorted(g))}
                    for (f, la, r), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], str(kv[0][2])))]
    return out


def table_facts(df: pd.DataFrame, release=None) -> dict:
    """The catalog fields that describe a table's content."""
    return {
        "rows": int(len(df)),
        "series": int(df["series_id"].nunique()),
        "geos": int(df["geo"].nunique()),
        "date_min": df["date"].min().date().isoformat(),
        "date_max": df["date"].max().date().isoformat(),
        "coverage": table_coverage(df, release),
    }


def coverage_frame(entry: dict, series_id: str | None = None) -> pd.DataFrame:
    """One row per (series, geography) of a catalog entry: series_id, geo, first, last, release."""
    rows = [
        {"series_id": sid, "geo": geo, "first": pd.Timestamp(g["first"]), "last": pd.Timestamp(g["last"]),
         "release": g.get("release")}
        for sid, groups in (entry.get("coverage") or {}).items() if series_id is None or sid == series_id
        for g in groups for geo in g["geos"].split(",")
    ]
    return pd.DataFrame(rows, columns=["series_id", "geo", "first", "last", "release"])
