"""Immutable, dated raw snapshots: ``data/raw/<source_id>/<YYYY-MM-DD>/<files> + snapshot.json``.

A fetch is staged in a hidden folder and renamed into place only after the build from it has
passed validation, so a bad download never becomes "the newest snapshot".

A large seed file may be stored compressed: its manifest entry keeps the publisher's name, md5,
sha256 and size (of the uncompressed bytes) and says ``"stored_as": "xz"`` (or bz2, gz); the file
on disk is ``<name>.xz``. ``Snapshot.read_bytes`` and ``open`` decompress it, ``path`` gives the
stored file (pandas reads it by its extension), and ``verify`` checks the publisher's digests.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from etl import paths
from etl.errors import ParseError
from etl.http import RawFile

MANIFEST = "snapshot.json"
STAGING_PREFIX = ".staging-"
_DIR_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:-(\d+))?$")
# stored_as -> (file suffix, opener). The suffix is the one pandas infers compression from.
COMPRESSIONS = {"xz": (".xz", lzma.open), "bz2": (".bz2", bz2.open), "gz": (".gz", gzip.open)}


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
        """The file as stored (``<name>.xz`` for a compressed copy; pandas reads it by extension)."""
        return self.dir / stored_name(self.file(name))

    def open(self, name: str):
        """A binary file object of the publisher's bytes (decompressed if stored compressed)."""
        stored = self.file(name).get("stored_as")
        path = self.path(name)
        return COMPRESSIONS[stored][1](path, "rb") if stored else path.open("rb")

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def verify(self) -> None:
        """Raise ParseError unless every file's bytes (decompressed) match the manifest's size,
        md5 and sha256 (those it records): a damaged or hand-edited raw file is never built."""
        for f in self.files:
            try:
                data = self.read_bytes(f["name"])
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise ParseError(f"snapshot {self.name}: cannot read {stored_name(f)}: {exc}",
                                 source_id=self.source_id, url=f.get("url")) from exc
            got = {"size": len(data), "md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
            bad = [k for k in ("size", "md5", "sha256") if f.get(k) is not None and f[k] != got[k]]
            if bad:
                raise ParseError(
                    f"snapshot {self.name}: {stored_name(f)} does not match {MANIFEST} ({', '.join(bad)}: "
                    + ", ".join(f"{k} {got[k]} != {f[k]}" for k in bad) + "); the raw file was changed or damaged",
                    source_id=self.source_id, url=f.get("url"))

    @property
    def md5s(self) -> dict[str, str]:
        return {f["name"]: f["md5"] for f in self.files}

    def fingerprint(self) -> str:
        """One hash for the snapshot's content, independent of its folder name."""
        joined = "\n".join(f"{n}:{m}" for n, m in sorted(self.md5s.items()))
        return hashlib.md5(joined.encode()).hexdigest()


def stored_name(entry: dict) -> str:
    """The name on disk of a manifest entry: the publisher's name, plus a suffix if compressed."""
    stored = entry.get("stored_as")
    if stored is None:
        return entry["name"]
    if stored not in COMPRESSIONS:
        raise ParseError(f"{entry['name']}: stored_as {stored!r} not one of {sorted(COMPRESSIONS)}")
    return entry["name"] + COMPRESSIONS[stored][0]


def compress(data: bytes, stored_as: str = "xz") -> bytes:
    """The bytes to store for a compressed copy (the manifest keeps the digests of ``data``)."""
    buf = io.BytesIO()
    with COMPRESSIONS[stored_as][1](buf, "wb") as fh:
        fh.write(data)
    return buf.getvalue()


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
        self.dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
        try:
            self._write(source_id, files)
        except BaseException:  # disk full half way: no staging folder left behind
            self.discard()
            raise

    def _write(self, source_id: str, files: list[RawFile]) -> None:
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
