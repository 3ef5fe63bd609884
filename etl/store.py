"""Atomic writes of tidy Parquet and the catalog, and the lock that serialises ETL runs.

Nothing here writes a file in place: each write goes to a temporary file in the same folder
and is renamed over the target, so a crash leaves either the old file or the new one (and a
``.<name>.*.tmp`` file that the next run removes, see etl.heal). Files are written mode 0644:
the dashboard may run as another user than the ETL.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from etl import paths
from etl.table_coverage import table_facts
from etl.errors import LockHeld

CATALOG_VERSION = 1
TMP_SUFFIX = ".tmp"
FILE_MODE = 0o644  # readable by group and others (mkstemp creates 0600)
# One Arrow type per tidy column in every file, so DuckDB, Polars or pyarrow can concatenate all
# tables: a source with no flags still writes ``flag`` as string, never as Arrow's null type.
TIDY_ARROW_SCHEMA = pa.schema([
    ("series_id", pa.string()), ("geo", pa.string()), ("date", pa.timestamp("ns")), ("value", pa.float64()),
    ("unit", pa.string()), ("source_id", pa.string()), ("flag", pa.string()),
])
# Fields a catalog entry must have for readers (CLI, dashboard) to use it.
ENTRY_FIELDS = ("source_id", "status", "snapshot", "parquet", "parquet_md5", "rows", "date_min", "date_max", "built_at")

log = logging.getLogger("etl")


class CatalogDamaged(ValueError):
    """catalog.json cannot be used as it is (not JSON, or not the catalog's shape)."""


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialise a tidy table; identical tables give identical bytes (so md5s compare)."""
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(df, schema=TIDY_ARROW_SCHEMA, preserve_index=False)
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def file_md5(path: Path) -> str | None:
    """md5 of a file, None if it is missing."""
    try:
        return hashlib.md5(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write_bytes(data: bytes, target: Path) -> None:
    _atomic_write(target, lambda p: p.write_bytes(data))


def write_json(obj: dict, target: Path) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    _atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))


def empty_catalog() -> dict:
    return {"version": CATALOG_VERSION, "sources": {}, "attempts": {}}


def load_catalog_file() -> dict:
    """The catalog as stored; CatalogDamaged if it is truncated, not JSON or not its shape."""
    path = paths.catalog_path()
    if not path.is_file():
        return empty_catalog()
    try:
        cat = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogDamaged(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(cat, dict):
        raise CatalogDamaged(f"{path}: expected a JSON object, found {type(cat).__name__}")
    cat.setdefault("sources", {})
    cat.setdefault("attempts", {})
    if not isinstance(cat["sources"], dict) or not isinstance(cat["attempts"], dict):
        raise CatalogDamaged(f"{path}: 'sources' and 'attempts' must be objects")
    for sid, entry in cat["sources"].items():
        missing = [k for k in ENTRY_FIELDS if not isinstance(entry, dict) or k not in entry]
        if missing:
            raise CatalogDamaged(f"{path}: entry {sid!r} lacks {missing}")
    return cat


def read_catalog() -> dict:
    """The catalog. A damaged catalog.json is rebuilt (in memory) from the tidy tables and the
    raw snapshots, with a warning; the next ETL run writes the rebuilt one (etl.heal)."""
    try:
        return load_catalog_file()
    except CatalogDamaged as exc:
        from etl.heal import rebuild_catalog  # the rebuild reads the registry and the tables

        log.warning("%s; rebuilt from the tidy tables and raw snapshots", exc)
        return rebuild_catalog()


def update_catalog(source_id: str, *, entry: dict | None = None, attempt: dict | None = None) -> dict:
    """Replace a source's build entry and/or record its latest attempt, atomically.

    The build entry (``sources[id]``) only changes when a new table was written; a failed
    refresh touches only ``attempts[id]``, so the entry of the last good build stays as it was.
    """
    cat = read_catalog()
    if entry is not None:
        cat["sources"][source_id] = entry
    if attempt is not None:
        cat["attempts"][source_id] = attempt
    cat["updated_at"] = now_iso()
    write_json(cat, paths.catalog_path())
    return cat


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def catalog_entry(source, snapshot, df, *, md5: str, status: str, release=None, built_at: str | None = None) -> dict:
    """A source's build entry: what was built from which snapshot, and what the table covers."""
    return {
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
        **table_facts(df, release),
        "built_at": built_at or now_iso(),
        "vintages": vintages_of(source.id),
    }


def vintages_of(source_id: str) -> dict:
    """What "as of" and the revisions view can draw on: every raw snapshot is a vintage of the
    source, and the tidy tables that refreshes replaced are kept beside them."""
    from etl.snapshot import list_snapshots

    return {
        "snapshots": [s.name for s in list_snapshots(source_id)],
        "tables": sorted(p.name for p in paths.vintages_dir(source_id).glob("*.parquet")),
    }


def keep_vintage(source_id: str, entry: dict | None, retention: int) -> str | None:
    """Before a source's table is replaced, keep the current one as a dated vintage, if the file
    on disk is the one the catalog describes (a damaged or unrecorded file is not a vintage)."""
    current = paths.tidy_path(source_id)
    if entry is None or retention <= 0 or file_md5(current) != entry.get("parquet_md5"):
        return None
    vdir = paths.vintages_dir(source_id)
    name = f"{entry['built_at'][:10]}_{entry['parquet_md5'][:8]}.parquet"
    target = vdir / name
    if not target.exists():
        _atomic_write(target, lambda p: p.write_bytes(current.read_bytes()))
        meta = {k: entry[k] for k in ("snapshot", "snapshot_md5s", "built_at", "rows", "date_min", "date_max")}
        write_json(meta, target.with_suffix(".json"))
    vintages = sorted(vdir.glob("*.parquet"))
    for old in vintages[: max(0, len(vintages) - retention)]:
        old.unlink()
        old.with_suffix(".json").unlink(missing_ok=True)
    return name


@contextlib.contextmanager
def etl_lock() -> Iterator[None]:
    """Hold the project's ETL lock, or raise LockHeld at once (never wait)."""
    path = paths.lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise LockHeld(f"another ETL run holds the lock {path} ({holder}); try again when it ends") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {now_iso()}")
        fh.flush()
        yield
    finally:
        fh.close()
