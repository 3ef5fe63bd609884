"""Source metadata (etl/sources/*.toml) and the provenance of the seed snapshots under data/raw."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest

from etl import metadata, vocabulary
from etl.metadata import MetadataError, load_metadata
from etl.registry import SOURCES_DIR, all_sources
from etl.snapshot import Snapshot, stored_name

REPO = Path(__file__).resolve().parents[2]
TOMLS = sorted(SOURCES_DIR.glob("*.toml"))
MANIFESTS = sorted((REPO / "data" / "raw").glob("*/*/snapshot.json"))


def is_https(url: str) -> bool:
    u = urlparse(url)
    return u.scheme == "https" and bool(u.netloc) and " " not in url


def test_every_source_module_has_metadata():
    modules = {p.stem for p in SOURCES_DIR.glob("*.py") if p.stem != "__init__"}
    assert modules == {p.stem for p in TOMLS}
    assert set(all_sources()) == modules


@pytest.mark.parametrize("toml", TOMLS, ids=[p.stem for p in TOMLS])
def test_metadata_loads_and_is_complete(toml):
    meta = load_metadata(toml)
    assert meta.id == toml.stem
    for name in metadata.REQUIRED_SOURCE_FIELDS:
        assert str(getattr(meta, name)).strip(), f"{toml.name}: empty {name}"
    assert is_https(meta.landing_url) and is_https(meta.download_url)
    assert meta.cadence in metadata.CADENCE_DAYS
    assert meta.series, "declares no series"
    for s in meta.series:
        assert s.id.startswith(meta.id + ".") and s.source_id == meta.id
        assert s.unit in vocabulary.units(), s.id
        assert s.frequency in vocabulary.frequencies(), s.id
        assert s.title.strip() and s.definition.strip()
    # every URL-looking string in the file is https
    raw = toml.read_text(encoding="utf-8")
    assert "http://" not in raw, f"{toml.name} has a plain-http URL"


def test_series_ids_are_globally_unique():
    ids = [s.id for src in all_sources().values() for s in src.meta.series]
    assert len(ids) == len(set(ids))


def write_variant(tmp_path: Path, mutate) -> Path:
    """A copy of a real TOML, changed by ``mutate(dict-of-text)``, under the source's own name."""
    text = (SOURCES_DIR / "inegi_homicide.toml").read_text(encoding="utf-8")
    path = tmp_path / "inegi_homicide.toml"
    path.write_text(mutate(text), encoding="utf-8")
    return path


def drop_line(key: str):
    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        i = next(i for i, ln in enumerate(lines) if ln.startswith(f"{key} = "))
        return "".join(lines[:i] + lines[i + 1:])
    return mutate


@pytest.mark.parametrize("mutate, message", [
    (drop_line("license"), r"missing field\(s\) license"),
    (drop_line("citation"), r"missing field\(s\) citation"),
    (lambda t: t.replace('unit = "deaths"', 'unit = "corpses"'), r"unit 'corpses' not one of"),
    (lambda t: t.replace('frequency = "monthly"', 'frequency = "fortnightly"'), r"frequency 'fortnightly'"),
    (lambda t: t.replace('cadence = "annual"', 'cadence = "sometimes"'), r"cadence 'sometimes'"),
    (lambda t: t.replace('id = "inegi_homicide"\n', 'id = "inegi"\n', 1), r"must equal the file name"),
    (lambda t: t.replace('id = "inegi_homicide.homicides"', 'id = "other.homicides"'), r"must start with"),
    (lambda t: t.replace('definition = "Deaths whose', 'definitio = "Deaths whose'), r"series #1 missing field\(s\) definition"),
    (lambda t: t[: t.index("[[series]]")], r"declares no series"),
], ids=["no-license", "no-citation", "bad-unit", "bad-frequency", "bad-cadence", "id-mismatch",
        "series-prefix", "series-field", "no-series"])
def test_bad_metadata_raises_naming_the_file(tmp_path, mutate, message):
    path = write_variant(tmp_path, mutate)
    with pytest.raises(MetadataError, match=message) as info:
        load_metadata(path)
    assert str(info.value).startswith("inegi_homicide.toml:")


def test_invalid_toml_syntax_is_an_error(tmp_path):
    path = write_variant(tmp_path, lambda t: t.replace('cadence = "annual"', 'cadence = annual'))
    with pytest.raises(tomllib.TOMLDecodeError):
        load_metadata(path)


# ---------------------------------------------------------------- seed snapshots

def test_every_source_has_a_seed_snapshot():
    assert {m.parent.parent.name for m in MANIFESTS} == set(all_sources())


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[f"{m.parent.parent.name}/{m.parent.name}" for m in MANIFESTS])
def test_seed_snapshot_checksums_and_provenance(manifest):
    snap = json.loads(manifest.read_text(encoding="utf-8"))
    d = manifest.parent
    assert snap["source_id"] == d.parent.name
    listed = [f["name"] for f in snap["files"]]
    assert listed and len(listed) == len(set(listed))
    assert sorted(stored_name(f) for f in snap["files"]) == sorted(p.name for p in d.iterdir() if p.name != "snapshot.json"), \
        "every file in the snapshot folder is listed, and every listed file exists"
    reader = Snapshot(snap["source_id"], d, snap)
    for f in snap["files"]:
        # A compressed copy keeps the publisher's bytes' digests: check the decompressed bytes.
        data = reader.read_bytes(f["name"])
        assert hashlib.md5(data).hexdigest() == f["md5"], f"{f['name']}: md5 mismatch"
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f"{f['name']}: sha256 mismatch"
        assert len(data) == f["size"]
        assert is_https(f["url"]), f["url"]
        assert f["accessed_at"]
        if snap.get("origin") == "seed":
            prov = f.get("provenance")
            assert prov, f"{f['name']}: seed file without provenance"
            assert is_https(prov["official_url"]), prov["official_url"]
            assert prov.get("publisher") and (prov.get("copied_from") or prov.get("notes"))
