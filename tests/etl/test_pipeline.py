"""The pipeline end to end in a temp data dir: new snapshots, conditional GET, vintages,
offline builds that never touch the network, and atomic writes."""

from __future__ import annotations

import hashlib
import io
import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import etl.errors
import etl.pipeline
import etl.store
from etl import paths
from etl.http import Http
from etl.registry import all_sources
from etl.sources import inegi_homicide

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
SID = "inegi_homicide"
FILE = inegi_homicide.FILE_NAME
PATH = f"/{FILE}"
SEED_DIR = next((REPO_DATA / "raw" / SID).glob(f"*/{FILE}")).parent
SEED = (SEED_DIR / FILE).read_bytes()


def changed(data: bytes) -> bytes:
    """The real file with one revision: Zacatecas (32), Dec 2022, homicides + 7."""
    lines = data.splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln.startswith(b"32|2022|12|"))
    cells = lines[i].rstrip(b"\n").split(b"|")
    cells[3] = str(int(cells[3]) + 7).encode()
    lines[i] = b"|".join(cells) + b"\n"
    return b"".join(lines)


NEW = changed(SEED)


def quiet(_msg: str) -> None:
    pass


def http() -> Http:
    return Http(retries=0, backoff=0, timeout=5, connect_timeout=5)


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith(".staging-") or p.name.endswith(".tmp"))


def raw_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "raw" / SID).iterdir())


def zac_dec_2022(df: pd.DataFrame) -> float:
    row = df[(df["geo"] == "MX-ZAC") & (df["date"] == pd.Timestamp("2022-12-01"))]
    return float(row["value"].iloc[0])


@pytest.fixture
def built(data_dir):
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "ok", res.error
    return {"parquet": paths.tidy_path(SID).read_bytes(), "entry": etl.store.read_catalog()["sources"][SID]}


@pytest.fixture
def publisher(local_server, monkeypatch):
    monkeypatch.setattr(inegi_homicide, "BASE_URL", local_server.base)
    return local_server


# ---------------------------------------------------------------- online: new file, 304, vintages

@pytest.mark.data_sources(SID)
def test_new_file_makes_dated_snapshot_updates_catalog_and_keeps_vintage(data_dir, built, publisher):
    url = publisher.route(PATH, body=NEW, etag='"v2"', headers={"Last-Modified": "Wed, 10 Jun 2026 08:00:00 GMT"})
    today = datetime.now(timezone.utc).date().isoformat()

    [res] = etl.pipeline.run([SID], offline=False, http=http(), progress=quiet)
    assert res.status == "ok" and res.exit_code == 0, res.error
    assert res.snapshot == today
    assert raw_dirs(data_dir) == sorted([SEED_DIR.name, today])

    # the new snapshot: the bytes as served, and a manifest with their provenance
    snap_dir = data_dir / "raw" / SID / today
    assert (snap_dir / FILE).read_bytes() == NEW
    manifest = json.loads((snap_dir / "snapshot.json").read_text())
    assert manifest["source_id"] == SID and manifest["origin"] == "fetch"
    [f] = manifest["files"]
    assert f["name"] == FILE and f["url"] == url
    assert f["md5"] == hashlib.md5(NEW).hexdigest() and f["sha256"] == hashlib.sha256(NEW).hexdigest()
    assert f["size"] == len(NEW) and f["etag"] == '"v2"'
    assert f["last_modified"] == "Wed, 10 Jun 2026 08:00:00 GMT"
    accessed = datetime.fromisoformat(f["accessed_at"])
    assert abs((datetime.now(timezone.utc) - accessed).total_seconds()) < 120

    # the catalog describes the new build
    cat = etl.store.read_catalog()
    entry = cat["sources"][SID]
    parquet = paths.tidy_path(SID).read_bytes()
    assert entry["snapshot"] == today and entry["snapshot_origin"] == "fetch"
    assert entry["snapshot_md5s"] == {FILE: f["md5"]} and entry["fetched_at"] == f["accessed_at"]
    assert entry["parquet_md5"] == hashlib.md5(parquet).hexdigest() != built["entry"]["parquet_md5"]
    assert entry["rows"] == built["entry"]["rows"]
    assert cat["attempts"][SID]["status"] == "ok" and cat["attempts"][SID]["error"] is None
    new_df = pd.read_parquet(paths.tidy_path(SID))
    old_value = zac_dec_2022(pd.read_parquet(io.BytesIO(built["parquet"])))
    assert zac_dec_2022(new_df) == old_value + 7

    # the replaced table is kept as a dated vintage, byte for byte, with its provenance
    old = built["entry"]
    vintage = paths.vintages_dir(SID) / f"{old['built_at'][:10]}_{old['parquet_md5'][:8]}.parquet"
    assert sorted(p.name for p in paths.vintages_dir(SID).iterdir()) == sorted([vintage.name, vintage.with_suffix(".json").name])
    assert vintage.read_bytes() == built["parquet"]
    meta = json.loads(vintage.with_suffix(".json").read_text())
    assert meta["snapshot"] == SEED_DIR.name and meta["rows"] == old["rows"] and meta["built_at"] == old["built_at"]
    assert leftovers(data_dir) == []


@pytest.mark.data_sources(SID)
def test_rerun_answered_304_is_not_modified(data_dir, built, publisher):
    publisher.route(PATH, body=NEW, etag='"v2"')
    [first] = etl.pipeline.run([SID], offline=False, http=http(), progress=quiet)
    assert first.status == "ok", first.error
    dirs, entry = raw_dirs(data_dir), etl.store.read_catalog()["sources"][SID]
    parquet = paths.tidy_path(SID).read_bytes()

    [again] = etl.pipeline.run([SID], offline=False, http=http(), progress=quiet)
    assert again.status == "not_modified" and again.exit_code == 0, again.error
    assert again.snapshot == first.snapshot
    assert [h.get("If-None-Match") for p, h in publisher.requests] == [None, '"v2"']
    assert raw_dirs(data_dir) == dirs, "304 must not create a snapshot"
    assert etl.store.read_catalog()["sources"][SID] == entry
    assert paths.tidy_path(SID).read_bytes() == parquet
    assert etl.store.read_catalog()["attempts"][SID]["status"] == "not_modified"
    assert leftovers(data_dir) == []


@pytest.mark.data_sources(SID)
def test_unchanged_file_without_etag_keeps_the_old_snapshot(data_dir, built, publisher):
    publisher.route(PATH, body=SEED)  # no ETag: a full download of identical bytes
    [res] = etl.pipeline.run([SID], offline=False, http=http(), progress=quiet)
    assert res.status == "ok" and res.snapshot == SEED_DIR.name, res.error
    assert raw_dirs(data_dir) == [SEED_DIR.name]
    assert etl.store.read_catalog()["sources"][SID] == built["entry"]
    assert paths.tidy_path(SID).read_bytes() == built["parquet"]
    assert not paths.vintages_dir(SID).exists() and leftovers(data_dir) == []


# ---------------------------------------------------------------- offline never touches the network

@pytest.mark.data_sources(*sorted(all_sources()))
def test_offline_run_never_touches_the_network(data_dir, monkeypatch):
    def no_network(self, *args, **kwargs):
        raise AssertionError(f"offline run tried to connect to {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    with pytest.raises(AssertionError):  # the guard works
        socket.create_connection(("127.0.0.1", 9), timeout=1)

    results = etl.pipeline.run(offline=True, progress=quiet)
    assert {r.source_id: r.status for r in results} == {sid: "ok" for sid in all_sources()}
    assert etl.pipeline.exit_code(results) == 0
    cat = etl.store.read_catalog()
    for sid in all_sources():
        assert paths.tidy_path(sid).is_file()
        assert cat["attempts"][sid]["mode"] == "offline" and cat["sources"][sid]["snapshot_origin"] == "seed"
    assert leftovers(data_dir) == []


# ---------------------------------------------------------------- atomic writes

def add_snapshot(root: Path, name: str, content: bytes) -> None:
    """A newer local snapshot (as a fetch would leave it) so an offline rebuild changes the table."""
    d = root / "raw" / SID / name
    d.mkdir()
    (d / FILE).write_bytes(content)
    entry = {"name": FILE, "url": inegi_homicide.BASE_URL + PATH, "accessed_at": "2030-01-01T00:00:00+00:00",
             "md5": hashlib.md5(content).hexdigest(), "sha256": hashlib.sha256(content).hexdigest(),
             "size": len(content), "etag": None, "last_modified": None, "content_type": "text/csv"}
    manifest = {"source_id": SID, "origin": "fetch", "created_at": entry["accessed_at"], "files": [entry]}
    (d / "snapshot.json").write_text(json.dumps(manifest))


def fail_replace(*args, **kwargs):
    raise OSError("simulated crash in os.replace")


def fail_half_written(self, data):
    with open(self, "wb") as fh:
        fh.write(data[: len(data) // 2])
    raise OSError("simulated crash half way through the write")


def fail_pyarrow(*args, **kwargs):
    raise OSError("simulated pyarrow failure")


@pytest.mark.data_sources(SID)
@pytest.mark.parametrize("target, attr, boom, retention", [
    ("os", "replace", fail_replace, 12),               # while keeping the vintage
    ("os", "replace", fail_replace, 0),                # while replacing the table itself
    ("Path", "write_bytes", fail_half_written, 0),     # a half-written temporary file
    ("pq", "write_table", fail_pyarrow, 12),           # pyarrow fails while serialising
], ids=["replace-vintage", "replace-table", "half-written", "pyarrow"])
def test_crash_mid_write_leaves_old_parquet_and_no_tmp(data_dir, built, target, attr, boom, retention):
    """An OSError while writing is this source's failed attempt: the run returns (no traceback),
    the last good table and its entry stay, nothing temporary is left, and the next run succeeds."""
    add_snapshot(data_dir, "2030-01-01", NEW)
    obj = {"os": etl.store.os, "Path": Path, "pq": etl.store.pq}[target]
    messages = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(obj, attr, boom)
        [res] = etl.pipeline.run([SID], offline=True, retention=retention, progress=messages.append)

    assert res.status == "fallback" and res.exit_code == etl.pipeline.EXIT_PARTIAL
    assert f"[source {SID}] OSError: simulated" in res.error
    assert res.snapshot == SEED_DIR.name and res.rows == built["entry"]["rows"]
    assert paths.tidy_path(SID).read_bytes() == built["parquet"]
    cat = etl.store.read_catalog()
    assert cat["sources"][SID] == built["entry"]
    if target != "os":  # with os.replace broken the catalog cannot be written either: the run says so
        assert cat["attempts"][SID]["status"] == "fallback" and "simulated" in cat["attempts"][SID]["error"]
    else:
        assert any("could not record the attempt" in m for m in messages)
    assert leftovers(data_dir) == []
    assert list(paths.vintages_dir(SID).glob("*.parquet")) == []
    # the lock was released and the next run succeeds
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "ok" and res.snapshot == "2030-01-01"
    assert zac_dec_2022(pd.read_parquet(paths.tidy_path(SID))) == zac_dec_2022(
        pd.read_parquet(io.BytesIO(built["parquet"]))) + 7


@pytest.mark.data_sources(SID)
def test_atomic_write_helper_cleans_up(data_dir, built):
    target = paths.tidy_path(SID)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(etl.store.os, "replace", fail_replace)
        with pytest.raises(OSError):
            etl.store.write_bytes(b"not a parquet file", target)
        with pytest.raises(OSError):
            etl.store.write_json({"broken": True}, paths.catalog_path())
    assert target.read_bytes() == built["parquet"]
    assert etl.store.read_catalog()["sources"][SID] == built["entry"]
    assert leftovers(data_dir) == []


# ---------------------------------------------------------------- compressed seed files

def compressed_snapshot(root: Path, stored_as: str) -> "etl.snapshot.Snapshot":
    """The INEGI seed stored compressed, as a large seed is committed: the manifest keeps the
    publisher's digests and size and says stored_as."""
    import etl.snapshot

    d = root / "raw" / SID / "2030-02-02"
    d.mkdir(parents=True)
    entry = json.loads((SEED_DIR / "snapshot.json").read_text())["files"][0]
    (d / (FILE + etl.snapshot.COMPRESSIONS[stored_as][0])).write_bytes(etl.snapshot.compress(SEED, stored_as))
    manifest = {"source_id": SID, "origin": "seed", "created_at": "2030-02-02T00:00:00+00:00",
                "files": [{**entry, "stored_as": stored_as}]}
    (d / "snapshot.json").write_text(json.dumps(manifest))
    return etl.snapshot.read_snapshot(SID, d)


@pytest.mark.data_sources(SID)
@pytest.mark.parametrize("stored_as", ["xz", "bz2", "gz"])
def test_compressed_file_is_verified_and_read_transparently(data_dir, built, stored_as):
    snap = compressed_snapshot(data_dir, stored_as)
    assert snap.path(FILE).name == f"{FILE}.{stored_as}" and snap.path(FILE).stat().st_size < len(SEED) / 3
    assert snap.read_bytes(FILE) == SEED and snap.md5s == {FILE: hashlib.md5(SEED).hexdigest()}
    snap.verify()
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "ok" and res.snapshot == "2030-02-02"
    # same publisher bytes, same table
    assert paths.tidy_path(SID).read_bytes() == built["parquet"]


@pytest.mark.data_sources(SID)
def test_damaged_compressed_file_is_not_built(data_dir, built):
    snap = compressed_snapshot(data_dir, "xz")
    stored = snap.path(FILE)
    stored.write_bytes(stored.read_bytes()[:-200])  # a truncated download or checkout
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "failed" and f"cannot read {FILE}.xz" in res.error
    assert paths.tidy_path(SID).read_bytes() == built["parquet"], "the last good table stays"


@pytest.mark.data_sources(SID)
def test_unknown_compression_is_a_clear_error(data_dir, built):
    import etl.snapshot

    snap = compressed_snapshot(data_dir, "xz")
    manifest = json.loads((snap.dir / "snapshot.json").read_text())
    manifest["files"][0]["stored_as"] = "zip"
    (snap.dir / "snapshot.json").write_text(json.dumps(manifest))
    with pytest.raises(etl.errors.ParseError, match=r"stored_as 'zip' not one of \['bz2', 'gz', 'xz'\]"):
        etl.snapshot.read_snapshot(SID, snap.dir).verify()
