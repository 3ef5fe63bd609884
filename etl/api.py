"""The read API: what the dashboard and notebooks use instead of file paths.

    import etl
    etl.series()                                         # every series with its metadata
    etl.load("cdc_vsrr_overdose.all_drugs", geo="US", start="2019-01-01")
    etl.load(["sesnsp_homicide.homicidio_doloso", "inegi_homicide.homicides"], geo="MX")
    etl.load("cdc_vsrr_overdose.all_drugs", geo="US", as_of="2019-06-01")   # what was known then
    etl.coverage("cdc_vsrr_overdose.all_drugs")          # first and last date per geography
    etl.ratio("cdc_nchs_final_overdose.synthetic_opioids", "cdc_nchs_final_overdose.all_drugs", geo="US")
    etl.milestones()
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from etl import paths, store
from etl.table_coverage import coverage_frame
from etl.heal import TableUnreadable
from etl.registry import all_sources, get_source
from etl.schema import TIDY_COLUMNS


def _as_list(x: str | Iterable[str] | None) -> list[str] | None:
    if x is None:
        return None
    return [x] if isinstance(x, str) else list(x)


def catalog() -> dict:
    """The catalog: per source, what was built from which snapshot, and the last attempt."""
    return store.read_catalog()


def source_info() -> pd.DataFrame:
    """One row per source: metadata and build status."""
    cat = catalog()["sources"]
    rows = []
    for src in all_sources().values():
        m = src.meta
        entry = cat.get(src.id, {})
        rows.append(
            {
                "source_id": m.id, "title": m.title, "publisher": m.publisher, "license": m.license,
                "landing_url": m.landing_url, "download_url": m.download_url, "citation": m.citation,
                "cadence": m.cadence, "cadence_days": m.cadence_days, "caveats": m.caveats,
                "title_es": m.title_es, "caveats_es": m.caveats_es, "short_name": m.short_name,
                "short_name_es": m.short_name_es, "license_es": m.license_es, "publisher_es": m.publisher_es,
                "status": entry.get("status", "not built"), "snapshot": entry.get("snapshot"),
                "fetched_at": entry.get("fetched_at"), "published_at": entry.get("published_at"),
                "built_at": entry.get("built_at"), "rows": entry.get("rows"),
                "date_min": entry.get("date_min"), "date_max": entry.get("date_max"),
            }
        )
    return pd.DataFrame(rows)


def series(source_id: str | None = None) -> pd.DataFrame:
    """One row per declared series: id, titles, unit, frequency, definition, caveats, source."""
    rows = []
    for src in all_sources().values():
        if source_id and src.id != source_id:
            continue
        for s in src.meta.series:
            rows.append(
                {
                    "series_id": s.id, "title": s.title, "title_es": s.title_es or s.title, "unit": s.unit,
                    "frequency": s.frequency, "definition": s.definition, "caveats": s.caveats,
                    "source_id": src.id, "publisher": src.meta.publisher, "license": src.meta.license,
                }
            )
    return pd.DataFrame(rows)


def source_of(series_id: str) -> str:
    return series_id.split(".", 1)[0]


def renamed_series() -> dict[str, str]:
    """Old series id -> current id, from each source module's ``RENAMED_SERIES``: ``load``
    answers an old id with the current series' rows (under the id asked for)."""
    return _registry_facts()[0]


_facts_memo: list = [None, None]


def _registry_facts() -> tuple[dict[str, str], frozenset[str]]:
    """(renamed ids, known series ids), worked out once per registry (``load`` asks on every
    call; a test that rebuilds the registry gets fresh answers)."""
    sources = all_sources()
    if _facts_memo[0] is not sources:
        renamed = {old: new for src in sources.values()
                   for old, new in getattr(src.module, "RENAMED_SERIES", {}).items()}
        known = frozenset(s.id for src in sources.values() for s in src.meta.series)
        _facts_memo[:] = [sources, (renamed, known)]
    return _facts_memo[1]


def coverage(series_id: str | Iterable[str] | None = None, *, source: str | None = None) -> pd.DataFrame:
    """First and last date with a value, per series and geography, as the catalog records them.

    Columns: series_id, geo, first, last, release (the publisher's file the rows come from,
    ``<snapshot>/<file>``; None where the source does not say). A chart can say "state series
    end Nov 2023 while national runs to 2026" from this without loading the rows.
    """
    ids = _as_list(series_id)
    aliases = renamed_series()
    current = [aliases.get(i, i) for i in ids] if ids else None
    if current is None and source is None:
        raise ValueError("coverage() needs series_id or source")
    _check_known(current)
    sources = sorted({source_of(i) for i in current}) if current else [get_source(source).id]
    cat = catalog()["sources"]
    frames = []
    for sid in sources:
        entry = cat.get(sid)
        if entry is None:
            raise FileNotFoundError(f"{sid} has not been built yet; run `python -m etl run --offline`")
        df = coverage_frame(entry)
        frames.append(df[df["series_id"].isin(current)] if current else df)
    out = pd.concat(frames, ignore_index=True)
    if ids:  # answer old ids under the name asked for
        back = {aliases[i]: i for i in ids if i in aliases}
        out["series_id"] = out["series_id"].replace(back)
    return out.sort_values(["series_id", "geo"]).reset_index(drop=True)


def ratio(
    numerator: str,
    denominator: str,
    geo: str | Iterable[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """numerator ÷ denominator (e.g. the synthetic-opioid share of overdose deaths), only where
    both parts come from the same release (the same file of the same snapshot, per the catalog's
    coverage) and have a value: a share never mixes a re-keyed table with the publisher's
    workbook, or a state-of-residence export with a national table.

    Columns: geo, date, numerator, denominator, value, flag (the parts' flag, e.g. lower_bound,
    numerator's first), release. Raises ValueError naming the releases when no geography matches.
    """
    parts = {}
    for role, sid in (("numerator", numerator), ("denominator", denominator)):
        rows = load(sid, geo=geo, start=start, end=end)
        cov = coverage(sid)[["geo", "release"]]
        parts[role] = rows.merge(cov, on="geo", how="left")[["geo", "date", "value", "flag", "release"]]
    both = parts["numerator"].merge(parts["denominator"], on=["geo", "date"], suffixes=("_n", "_d"))
    same = both["release_n"].notna() & (both["release_n"] == both["release_d"])
    valid = same & both["value_n"].notna() & both["value_d"].notna() & (both["value_d"] != 0)
    if len(both) and not same.any():
        pairs = sorted({f"{g}: {n} vs {d}" for g, n, d in zip(both["geo"], both["release_n"], both["release_d"])})
        raise ValueError(f"{numerator} and {denominator} come from different releases ({'; '.join(pairs[:5])}); "
                         "a ratio of them would mix publications")
    out = both[valid]
    flag = out["flag_n"].where(out["flag_n"].notna(), out["flag_d"])
    return pd.DataFrame({
        "geo": out["geo"], "date": out["date"], "numerator": out["value_n"], "denominator": out["value_d"],
        "value": out["value_n"] / out["value_d"], "flag": flag.astype(object).where(flag.notna(), None),
        "release": out["release_n"],
    }).sort_values(["geo", "date"]).reset_index(drop=True)


def load(
    series_id: str | Iterable[str] | None = None,
    geo: str | Iterable[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    *,
    source: str | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Tidy rows for the given series (or a whole source), geographies and date range.

    ``as_of`` returns the data as known on that date: built from the newest raw snapshot
    dated on or before it.
    """
    asked = _as_list(series_id)
    if asked is None and source is None:
        raise ValueError("load() needs series_id or source")
    aliases = renamed_series()
    ids = [aliases.get(i, i) for i in asked] if asked else None
    wanted_sources = sorted({source_of(s) for s in ids}) if ids else [source]
    for sid in wanted_sources:
        get_source(sid)  # unknown source -> KeyError naming the known ones
    geos = _as_list(geo) or None
    if as_of is None:
        # The per-series index: the cost of the answer, not of the table (etl/tidy_index.py).
        indexes = [_index(sid) for sid in wanted_sources]
        _check_known(ids)
        frames = [ix.select([i for i in ids if source_of(i) == sid] if ids else None, geos).to_pandas()
                  for sid, ix in zip(wanted_sources, indexes)]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        mask = None  # the index returned exactly the rows asked for
    else:
        frames = [_table(sid, as_of) for sid in wanted_sources]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        mask = pd.Series(True, index=df.index)
        _check_known(ids)
        if ids:
            mask &= df["series_id"].isin(ids)
        if geos:
            mask &= df["geo"].isin(geos)
    if start is not None or end is not None:
        mask = pd.Series(True, index=df.index) if mask is None else mask
        if start is not None:
            mask &= df["date"] >= pd.Timestamp(start)
        if end is not None:
            mask &= df["date"] <= pd.Timestamp(end)
    if mask is not None:
        out = df.loc[mask, TIDY_COLUMNS].reset_index(drop=True)
    else:  # the index's answer is already in the tidy column order: no copy
        out = df if list(df.columns) == TIDY_COLUMNS else df[TIDY_COLUMNS]
    back = {aliases[i]: i for i in asked or () if i in aliases}
    if back:  # an old id is answered under the name asked for
        out["series_id"] = out["series_id"].replace(back)
    return out


def series_geos(source_id: str, series_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """The (series_id, geo) pairs a source's table holds (only those of ``series_ids`` when
    given), read from its index: no row scan, and a cost that follows the answer's size."""
    get_source(source_id)
    return _index(source_id).pairs(None if series_ids is None else list(series_ids)).to_pandas()


def _check_known(ids: list[str] | None) -> None:
    if ids:
        unknown = set(ids) - _registry_facts()[1]
        if unknown:
            raise KeyError(f"unknown series {sorted(unknown)}")


def _tidy_file(source_id: str):
    path = paths.tidy_path(source_id)
    if not path.is_file():
        raise FileNotFoundError(
            f"{source_id} has not been built yet ({path} missing); run `python -m etl run --offline`"
        )
    return path


def _index(source_id: str):
    from etl.tidy_index import open_index

    path = _tidy_file(source_id)
    try:
        return open_index(source_id, path)
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise TableUnreadable(f"{source_id}: {path} is unreadable ({type(exc).__name__}: {exc}); "
                              "run `python -m etl run --offline` to rebuild it") from exc


def _table(source_id: str, as_of) -> pd.DataFrame:
    if as_of is not None:
        from etl.vintages import table_as_of

        return table_as_of(source_id, pd.Timestamp(as_of))
    path = _tidy_file(source_id)
    stat = path.stat()
    return _read_parquet(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _read_parquet(path: str, _mtime_ns: int, _size: int) -> pd.DataFrame:
    # Keyed on mtime and size as well as path: a refresh that replaces the file invalidates it.
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise TableUnreadable(f"{path} is unreadable ({type(exc).__name__}: {exc}); "
                              "run `python -m etl run --offline` to rebuild it") from exc


def milestones(path=None) -> pd.DataFrame:
    """The policy milestones, validated (see etl.milestones)."""
    from etl.policy_milestones import load_milestones

    return load_milestones(path)
