"""Repairs a run needs before it trusts what is on disk.

- A killed run leaves ``.<name>.*.tmp`` files (atomic writes) and ``.staging-*`` folders (fetches
  not yet committed): ``remove_leftovers`` deletes them, under the ETL lock only, so it never
  touches the files of a run in progress.
- A tidy table is trusted only if its bytes match the md5 the catalog recorded (or, with no
  entry, if it reads as Parquet): ``table_problem`` says what is wrong, and the pipeline rebuilds.
- A truncated or hand-broken catalog.json is rebuilt from the tables and the raw snapshots
  (``rebuild_catalog``): each readable table gets an entry marked ``recovered``, naming the newest
  snapshot of its source; the next build of that source replaces the entry with a checked one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl import paths, store
from etl.snapshot import STAGING_PREFIX, latest_snapshot


def leftovers() -> list[Path]:
    """Temporary files and staging folders in the places the ETL writes: the data dir (catalog),
    tidy/ (tables), vintages/<source>/ and raw/<source>/. Not tidy/.cache/, where dashboard
    workers build their indexes outside the ETL lock."""
    root = paths.data_dir()
    tmp = f".*{store.TMP_SUFFIX}"
    found = [p for pattern in (tmp, f"tidy/{tmp}", f"vintages/*/{tmp}") for p in root.glob(pattern) if p.is_file()]
    found += [p for p in root.glob(f"raw/*/{STAGING_PREFIX}*") if p.is_dir()]
    return sorted(found)


def remove_leftovers() -> list[str]:
    """Delete what a killed run left behind; returns the paths removed (relative to the data dir).
    Call only while holding the ETL lock."""
    removed = []
    for p in leftovers():
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink(missing_ok=True)
        removed.append(str(p.relative_to(paths.data_dir())))
    return removed


def read_table(path: Path):
    """The Parquet table at ``path``, or raise ``TableUnreadable`` naming the file and problem."""
    try:
        return pq.read_table(path)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:
        raise TableUnreadable(f"{path} is unreadable ({type(exc).__name__}: {exc}); "
                              "run `python -m etl run --offline` to rebuild it") from exc


class TableUnreadable(FileNotFoundError):
    """A tidy table exists but is not a readable Parquet file. A FileNotFoundError, so readers
    that show "not built yet" for a missing table do the same for a damaged one."""


def table_problem(source_id: str, entry: dict | None) -> str | None:
    """Why the source's tidy table cannot be trusted, or None if it can."""
    path = paths.tidy_path(source_id)
    if not path.is_file():
        return f"{path.name} is missing"
    if entry and entry.get("parquet_md5"):
        md5 = store.file_md5(path)
        if md5 != entry["parquet_md5"]:
            return f"{path.name} differs from the catalog (md5 {md5} != {entry['parquet_md5']})"
        return None
    try:
        read_table(path)
    except TableUnreadable as exc:
        return str(exc)
    return None


def rebuild_catalog() -> dict:
    """A catalog made from what is on disk: an entry for each source whose table reads."""
    from etl.table_coverage import release_resolver
    from etl.registry import all_sources

    cat = store.empty_catalog()
    now = store.now_iso()
    for source in all_sources().values():
        path = paths.tidy_path(source.id)
        snap = latest_snapshot(source.id)
        if snap is None or not path.is_file():
            continue
        try:
            df = read_table(path).to_pandas()
        except TableUnreadable:
            continue
        entry = store.catalog_entry(source, snap, df, md5=store.file_md5(path), status="ok",
                                    release=release_resolver(source.module, snap),
                                    built_at=_mtime_iso(path))
        entry["recovered"] = now  # the snapshot is inferred (the newest), not recorded by a build
        cat["sources"][source.id] = entry
    cat["recovered_at"] = now
    return cat


def heal_catalog() -> str | None:
    """Write a rebuilt catalog if the stored one is damaged; returns the problem, if any.
    Call only while holding the ETL lock."""
    try:
        store.load_catalog_file()
        return None
    except store.CatalogDamaged as exc:
        store.write_json(rebuild_catalog(), paths.catalog_path())
        return str(exc)


def _mtime_iso(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
