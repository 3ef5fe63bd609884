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

from etl import heal, paths, store
from etl.table_coverage import release_resolver
from etl.errors import EtlError, NoSnapshot, NotModified, ParseError
from etl.http import Http
from etl.registry import Source, all_sources, get_source
from etl.schema import normalize, validate
from etl.snapshot import Snapshot, StagedSnapshot, latest_snapshot

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
        snapshot.verify()
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


def publish(source: Source, snapshot: Snapshot, df: pd.DataFrame, *, status: str, retention: int,
            progress: Progress = stderr_progress) -> dict:
    """Write the table atomically (unless the file on disk already holds exactly these bytes and
    the catalog says so) and its catalog entry."""
    data = store.parquet_bytes(df)
    md5 = hashlib.md5(data).hexdigest()
    previous = store.read_catalog()["sources"].get(source.id)
    target = paths.tidy_path(source.id)
    on_disk = store.file_md5(target)
    if (previous and not previous.get("recovered") and previous.get("parquet_md5") == md5 == on_disk
            and previous.get("snapshot") == snapshot.name and previous.get("vintages") == store.vintages_of(source.id)
            and "coverage" in previous):
        return previous
    if on_disk != md5:
        if previous and on_disk is not None and on_disk != previous.get("parquet_md5"):
            progress(f"{source.id}: {heal.table_problem(source.id, previous)}; rewriting it")
        if previous and previous.get("parquet_md5") != md5:
            store.keep_vintage(source.id, previous, retention)
        store.write_bytes(data, target)
    entry = store.catalog_entry(source, snapshot, df, md5=md5, status=status,
                                release=release_resolver(source.module, snapshot))
    store.update_catalog(source.id, entry=entry)
    return entry


def _build_latest(source: Source, status: str, retention: int,
                  progress: Progress = stderr_progress) -> tuple[Snapshot, pd.DataFrame]:
    snap = latest_snapshot(source.id)
    if snap is None:
        raise NoSnapshot(f"no local snapshot under {paths.raw_dir(source.id)}", source_id=source.id)
    df = build_table(source, snap)
    publish(source, snap, df, status=status, retention=retention, progress=progress)
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
            snap, df = _build_latest(source, "ok", retention, progress)
            result.status, result.snapshot, result.rows = "ok", snap.name, len(df)
        else:
            result = _run_online(source, http or Http(), retention, progress)
    except EtlError as exc:
        result.error = exc.describe()
    except OSError as exc:  # disk full, read-only, permissions: this source fails, the others run
        result = _os_error(source, exc)
    result.seconds["total"] = time.perf_counter() - t0
    attempt = {
        "at": store.now_iso(),
        "mode": "offline" if offline else "online",
        "status": result.status,
        "snapshot": result.snapshot,
        "error": result.error,
    }
    try:
        store.update_catalog(source.id, attempt=attempt)
    except OSError as exc:
        progress(f"{source.id}: could not record the attempt in {paths.catalog_path()}: {type(exc).__name__}: {exc}")
    progress(_summary_line(result))
    return result


def _os_error(source: Source, exc: OSError) -> RunResult:
    """The build could not write (or read) a file. The last good table, if it is intact, stays."""
    error = f"[source {source.id}] {type(exc).__name__}: {exc}"
    entry = _catalog_sources().get(source.id)
    if entry and heal.table_problem(source.id, entry) is None:
        return RunResult(source.id, "fallback", entry["snapshot"], entry["rows"], error=error)
    return RunResult(source.id, "failed", error=error)


def _catalog_sources() -> dict:
    try:
        return store.read_catalog()["sources"]
    except OSError:
        return {}


def _run_online(source: Source, http: Http, retention: int, progress: Progress) -> RunResult:
    previous = latest_snapshot(source.id)
    ctx = FetchContext(http=http, source_id=source.id, previous=previous, progress=progress)
    progress(f"{source.id}: fetching")
    try:
        files = source.module.fetch(ctx)
    except NotModified:
        progress(f"{source.id}: not modified since snapshot {previous.name if previous else '-'}")
        snap, df = _build_latest(source, "ok", retention, progress)
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
    publish(source, snap, df, status="ok", retention=retention, progress=progress)
    return RunResult(source.id, "ok", snap.name, len(df))


def _fall_back(source: Source, exc: EtlError, retention: int, progress: Progress) -> RunResult:
    """The refresh failed: keep the last good table, or build one from the newest snapshot."""
    progress(f"{source.id}: ERROR {exc.describe()}")
    entry = store.read_catalog()["sources"].get(source.id)
    if entry and not entry.get("recovered") and heal.table_problem(source.id, entry) is None:
        return RunResult(source.id, "fallback", entry["snapshot"], entry["rows"], error=exc.describe())
    try:
        snap, df = _build_latest(source, "fallback", retention, progress)
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
        repair(progress)
        results = []
        for i, source in enumerate(sources, start=1):
            progress(f"[{i}/{len(sources)}] {source.id}")
            results.append(run_source(source, offline=offline, http=http, retention=retention, progress=progress))
    return results


def repair(progress: Progress = stderr_progress) -> None:
    """What a killed or failed run left behind: temporary files, staging folders, a damaged
    catalog. Runs under the lock at the start of every run (a missing or damaged table is
    rebuilt by the run itself, see ``publish``)."""
    try:
        removed = heal.remove_leftovers()
        if removed:
            progress(f"removed {len(removed)} leftover temporary file(s) of an interrupted run: {', '.join(removed)}")
        problem = heal.heal_catalog()
        if problem:
            progress(f"WARNING: {problem}; rebuilt the catalog from the tidy tables and raw snapshots")
    except OSError as exc:  # a read-only data dir: the sources' builds will say what fails
        progress(f"WARNING: could not repair the data dir {paths.data_dir()}: {type(exc).__name__}: {exc}")


def repair_now(progress: Progress = stderr_progress) -> None:
    """``repair`` under the ETL lock (LockHeld if another run holds it)."""
    with store.etl_lock():
        repair(progress)


def exit_code(results: list[RunResult]) -> int:
    return max((r.exit_code for r in results), default=EXIT_OK)
