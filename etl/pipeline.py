"""fetch -> staged raw snapshot -> transform -> validate -> atomic Parquet -> catalog.

A source's last good table is replaced only by a table that passed validation. When the
publisher fails, the run says so (naming source, URL and problem) and keeps what was there.
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from etl import paths, store
from etl.errors import EtlError, NoSnapshot, NotModified, ParseError
from etl.http import Http
from etl.registry import Source, all_sources, get_source
from etl.schema import normalize, validate
from etl.snapshot import Snapshot, StagedSnapshot, latest_snapshot, list_snapshots

DEFAULT_RETENTION = 12

# Exit codes of `python -m etl run` (documented in the CLI help and README).
EXIT_OK, EXIT_PARTIAL, EXIT_FAILED, EXIT_LOCKED = 0, 1, 2, 3

Progress = Callable[[str], None]


def stderr_progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class FetchContext:
    """What a source's ``fetch()`` gets: the shared HTTP client and the previous snapshot
    (for conditional GET)."""

    http: Http
    source_id: str
    previous: Snapshot | None
    progress: Progress = stderr_progress


@dataclass
class RunResult:
    source_id: str
    status: str  # ok | not_modified | fallback | failed
    snapshot: str | None = None
    rows: int | None = None
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"ok": EXIT_OK, "not_modified": EXIT_OK, "fallback": EXIT_PARTIAL}.get(self.status, EXIT_FAILED)


def build_table(source: Source, snapshot: Snapshot) -> pd.DataFrame:
    """Transform and validate one snapshot. Any failure becomes an EtlError naming the source."""
    url = snapshot.files[0].get("url") if snapshot.files else None
    try:
        df = source.module.transform(snapshot)
        return validate(normalize(df), source.meta)
    except EtlError as exc:
        exc.source_id = exc.source_id or source.id
        exc.url = exc.url or url
        exc.args = (exc.describe(),)
        raise
    except Exception as exc:  # a publisher's layout change surfaces as KeyError, ValueError...
        raise ParseError(
            f"could not parse snapshot {snapshot.name}: {type(exc).__name__}: {exc}", source_id=source.id, url=url
        ) from exc


def publish(source: Source, snapshot: Snapshot, df: pd.DataFrame, *, status: str, retention: int) -> dict:
    """Write the table atomically (unless unchanged) and its catalog entry."""
    data = store.parquet_bytes(df)
    md5 = hashlib.md5(data).hexdigest()
    previous = store.read_catalog()["sources"].get(source.id)
    target = paths.tidy_path(source.id)
    if (previous and previous.get("parquet_md5") == md5 and target.is_file()
            and previous.get("snapshot") == snapshot.name and previous.get("vintages") == _vintages(source.id)):
        return previous
    if previous and previous.get("parquet_md5") != md5:
        store.keep_vintage(source.id, previous, retention)
    store.write_bytes(data, target)
    entry = {
        "source_id": source.id,
        "title": source.meta.title,
        "publisher": source.meta.publisher,
        "status": status,
        "snapshot": snapshot.name,
        "snapshot_origin": snapshot.manifest.get("origin", "fetch"),
        "snapshot_md5s": snapshot.md5s,
        "snapshot_fingerprint": snapshot.fingerprint(),
        "fetched_at": max((f.get("accessed_at") or "" for f in snapshot.files), default=None),
        "published_at": snapshot.manifest.get("published_at"),
        "parquet": f"tidy/{source.id}.parquet",
        "parquet_md5": md5,
        "rows": int(len(df)),
        "series": int(df["series_id"].nunique()),
        "geos": int(df["geo"].nunique()),
        "date_min": df["date"].min().date().isoformat(),
        "date_max": df["date"].max().date().isoformat(),
        "built_at": store.now_iso(),
        "vintages": _vintages(source.id),
    }
    store.update_catalog(source.id, entry=entry)
    return entry


def _vintages(source_id: str) -> dict:
    """What "as of" and the revisions view can draw on: every raw snapshot is a vintage of the
    source, and the tidy tables that refreshes replaced are kept beside them."""
    return {
        "snapshots": [s.name for s in list_snapshots(source_id)],
        "tables": sorted(p.name for p in paths.vintages_dir(source_id).glob("*.parquet")),
    }


def _build_latest(source: Source, status: str, retention: int) -> tuple[Snapshot, pd.DataFrame]:
    snap = latest_snapshot(source.id)
    if snap is None:
        raise NoSnapshot(f"no local snapshot under {paths.raw_dir(source.id)}", source_id=source.id)
    df = build_table(source, snap)
    publish(source, snap, df, status=status, retention=retention)
    return snap, df


def run_source(
    source: Source,
    *,
    offline: bool,
    http: Http | None = None,
    retention: int = DEFAULT_RETENTION,
    progress: Progress = stderr_progress,
) -> RunResult:
    t0 = time.perf_counter()
    result = RunResult(source.id, "failed")
    try:
        if offline:
            progress(f"{source.id}: building from the newest local snapshot (offline)")
            snap, df = _build_latest(source, "ok", retention)
            result.status, result.snapshot, result.rows = "ok", snap.name, len(df)
        else:
            result = _run_online(source, http or Http(), retention, progress)
    except EtlError as exc:
        result.error = exc.describe()
    result.seconds["total"] = time.perf_counter() - t0
    store.update_catalog(
        source.id,
        attempt={
            "at": store.now_iso(),
            "mode": "offline" if offline else "online",
            "status": result.status,
            "snapshot": result.snapshot,
            "error": result.error,
        },
    )
    progress(_summary_line(result))
    return result


def _run_online(source: Source, http: Http, retention: int, progress: Progress) -> RunResult:
    previous = latest_snapshot(source.id)
    ctx = FetchContext(http=http, source_id=source.id, previous=previous, progress=progress)
    progress(f"{source.id}: fetching")
    try:
        files = source.module.fetch(ctx)
    except NotModified:
        progress(f"{source.id}: not modified since snapshot {previous.name if previous else '-'}")
        snap, df = _build_latest(source, "ok", retention)
        return RunResult(source.id, "not_modified", snap.name, len(df))
    except EtlError as exc:
        return _fall_back(source, exc, retention, progress)
    staged = StagedSnapshot(source.id, files)
    try:
        progress(f"{source.id}: transforming {len(files)} file(s)")
        df = build_table(source, staged.as_snapshot())
    except EtlError as exc:
        staged.discard()
        return _fall_back(source, exc, retention, progress)
    except BaseException:
        staged.discard()
        raise
    snap = staged.commit()
    publish(source, snap, df, status="ok", retention=retention)
    return RunResult(source.id, "ok", snap.name, len(df))


def _fall_back(source: Source, exc: EtlError, retention: int, progress: Progress) -> RunResult:
    """The refresh failed: keep the last good table, or build one from the newest snapshot."""
    progress(f"{source.id}: ERROR {exc.describe()}")
    entry = store.read_catalog()["sources"].get(source.id)
    if entry and paths.tidy_path(source.id).is_file():
        return RunResult(source.id, "fallback", entry["snapshot"], entry["rows"], error=exc.describe())
    try:
        snap, df = _build_latest(source, "fallback", retention)
    except EtlError as inner:
        return RunResult(source.id, "failed", error=f"{exc.describe()}; and no usable local data: {inner.describe()}")
    return RunResult(source.id, "fallback", snap.name, len(df), error=exc.describe())


def _summary_line(r: RunResult) -> str:
    secs = f"{r.seconds.get('total', 0):.1f}s"
    rows = f"{r.rows:,} rows" if r.rows is not None else "no data"
    tail = f" — {r.error}" if r.error else ""
    return f"{r.source_id}: {r.status.upper()} ({rows}, snapshot {r.snapshot or '-'}, {secs}){tail}"


def run(
    source_ids: list[str] | None = None,
    *,
    offline: bool = False,
    http: Http | None = None,
    retention: int = DEFAULT_RETENTION,
    progress: Progress = stderr_progress,
) -> list[RunResult]:
    """Refresh the given sources (all when None) under the project's ETL lock."""
    sources = [get_source(s) for s in source_ids] if source_ids else list(all_sources().values())
    with store.etl_lock():
        results = []
        for i, source in enumerate(sources, start=1):
            progress(f"[{i}/{len(sources)}] {source.id}")
            results.append(run_source(source, offline=offline, http=http, retention=retention, progress=progress))
    return results


def exit_code(results: list[RunResult]) -> int:
    return max((r.exit_code for r in results), default=EXIT_OK)
