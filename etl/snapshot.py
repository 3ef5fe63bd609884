"""Immutable, dated raw snapshots: ``data/raw/<source_id>/<YYYY-MM-DD>/<files> + snapshot.json``.

A fetch is staged in a hidden folder and renamed into place only after the build from it has
passed validation, so a bad download never becomes "the newest snapshot".
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from etl import paths
from etl.http import RawFile

MANIFEST = "snapshot.json"
_DIR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-(\d+))?$")


def file_digest(path: Path, algo: str = "md5") -> str:
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Snapshot:
    source_id: str
    dir: Path
    manifest: dict

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def date(self) -> str:
        return _DIR_RE.match(self.dir.name).group(1) if _DIR_RE.match(self.dir.name) else self.dir.name

    @property
    def files(self) -> list[dict]:
        return self.manifest["files"]

    def file(self, name: str) -> dict:
        for f in self.files:
            if f["name"] == name:
                return f
        raise KeyError(f"{self.source_id} snapshot {self.name} has no file {name!r}")

    def path(self, name: str) -> Path:
        return self.dir / name

    @property
    def md5s(self) -> dict[str, str]:
        return {f["name"]: f["md5"] for f in self.files}

    def fingerprint(self) -> str:
        """One hash for the snapshot's content, independent of its folder name."""
        joined = "\n".join(f"{n}:{m}" for n, m in sorted(self.md5s.items()))
        return hashlib.md5(joined.encode()).hexdigest()


def _sort_key(d: Path) -> tuple[str, int]:
    m = _DIR_RE.match(d.name)
    return (m.group(1), int(m.group(2) or 1))


def list_snapshots(source_id: str) -> list[Snapshot]:
    """Snapshots of a source, oldest first."""
    root = paths.raw_dir(source_id)
    if not root.is_dir():
        return []
    dirs = [d for d in root.iterdir() if d.is_dir() and _DIR_RE.match(d.name) and (d / MANIFEST).is_file()]
    return [read_snapshot(source_id, d) for d in sorted(dirs, key=_sort_key)]


def read_snapshot(source_id: str, d: Path) -> Snapshot:
    return Snapshot(source_id, d, json.loads((d / MANIFEST).read_text(encoding="utf-8")))


def latest_snapshot(source_id: str) -> Snapshot | None:
    snaps = list_snapshots(source_id)
    return snaps[-1] if snaps else None


class StagedSnapshot:
    """Files written to a hidden staging folder; ``commit()`` renames it to its dated name."""

    def __init__(self, source_id: str, files: list[RawFile]):
        if not files:
            raise ValueError("a snapshot needs at least one file")
        self.source_id = source_id
        root = paths.raw_dir(source_id)
        root.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
        entries = []
        for f in files:
            target = self.dir / f.name
            target.write_bytes(f.content)
            entries.append(
                {
                    "name": f.name,
                    "url": f.url,
                    "accessed_at": f.accessed_at,
                    "md5": hashlib.md5(f.content).hexdigest(),
                    "sha256": hashlib.sha256(f.content).hexdigest(),
                    "size": len(f.content),
                    "etag": f.etag,
                    "last_modified": f.last_modified,
                    "content_type": f.content_type,
                }
            )
        self.manifest = {
            "source_id": source_id,
            "origin": "fetch",
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": entries,
        }
        (self.dir / MANIFEST).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")

    def as_snapshot(self) -> Snapshot:
        return Snapshot(self.source_id, self.dir, self.manifest)

    def commit(self) -> Snapshot:
        """Move into place as ``<today>`` (``<today>-2`` ... if that exists). Same content as
        the newest snapshot: keep the old one and drop this copy."""
        newest = latest_snapshot(self.source_id)
        if newest and newest.fingerprint() == self.as_snapshot().fingerprint():
            self.discard()
            return newest
        today = datetime.now(timezone.utc).date().isoformat()
        root = self.dir.parent
        target, n = root / today, 1
        while target.exists():
            n += 1
            target = root / f"{today}-{n}"
        self.dir.rename(target)
        return read_snapshot(self.source_id, target)

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
