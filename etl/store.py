"""Atomic writes of tidy Parquet and the catalog, and the lock that serialises ETL runs.

Nothing here writes a file in place: each write goes to a temporary file in the same folder
and is renamed over the target, so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from etl import paths
from etl.errors import LockHeld

CATALOG_VERSION = 1


def _atomic_write(target: Path, write) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
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
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_bytes(data: bytes, target: Path) -> None:
    _atomic_write(target, lambda p: p.write_bytes(data))


def write_json(obj: dict, target: Path) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    _atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))


def read_catalog() -> dict:
    path = paths.catalog_path()
    if not path.is_file():
        return {"version": CATALOG_VERSION, "sources": {}, "attempts": {}}
    cat = json.loads(path.read_text(encoding="utf-8"))
    cat.setdefault("sources", {})
    cat.setdefault("attempts", {})
    return cat


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


def keep_vintage(source_id: str, entry: dict | None, retention: int) -> str | None:
    """Before a source's table is replaced, keep the current one as a dated vintage."""
    current = paths.tidy_path(source_id)
    if entry is None or not current.is_file() or retention <= 0:
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
