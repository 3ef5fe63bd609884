"""OFAC Specially Designated Nationals (SDN) list: Mexico-linked entries under the narcotics programmes.

OFAC replaces ``sdn.csv`` every time the list changes and keeps no history, and the file carries
no designation dates, so each dated copy of the list is one vintage (one raw snapshot folder) and
one point of the series: the number of entries on the list that day. ``transform`` therefore
reads the snapshot it is given *and* every earlier snapshot folder of the source (what was known
as of that snapshot), and returns one point per list copy. A snapshot outside the source's raw
folder (a test's) is read on its own.

Counting rule (the snapshots' PROVENANCE): a record is a narcotics-programme entry when its
``Program`` tags meet {SDNTK, SDNT, ILLICIT-DRUGS-EO, ILLICIT-DRUGS-EO14059} (OFAC spelled the
EO 14059 tag ``ILLICIT-DRUGS-EO`` from Dec 2021 to Sep 2022); it is Mexico-linked when its
``Remarks`` contain "Mexico" (case-sensitive). Records are counted once, however many tags they
carry. The address-based variant also counts a narcotics record with a ``Mexico`` row in the
list's own address file (``add.csv``); a list copy without one is matched against the newest
address file available and flagged ``lower_bound`` (entries delisted before that file are
missing from it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from etl import paths
from etl.errors import ParseError
from etl.snapshot import Snapshot, list_snapshots

SOURCE_ID = "ofac_sdn"
GEO = "MX"
UNIT = "entries"
# OFAC's Sanctions List Service serves the legacy files (www.treasury.gov/ofac/downloads/ redirects here).
SDN_URL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN.CSV"
ADD_URL = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADD.CSV"
SDN_NAME, ADD_NAME = "sdn.csv", "add.csv"

# OFAC's legacy layouts (no header row). Only the fields the counts need are kept.
SDN_FIELDS = ["ent_num", "sdn_name", "sdn_type", "program", "title", "call_sign", "vess_type", "tonnage",
              "grt", "vess_flag", "vess_owner", "remarks"]
ADD_FIELDS = ["ent_num", "add_num", "address", "city", "country", "add_remarks"]
SEPARATORS = {".csv": ",", ".pip": "|"}  # the legacy comma- and pipe-delimited files
EMPTY = "-0-"  # OFAC's empty field

MEXICO = "Mexico"
INDIVIDUAL = "individual"  # SDN_Type; entities have an empty type, vessels and aircraft their own
# series suffix -> the programme tags it counts (any of them)
PROGRAMMES = {
    "kingpin_act": {"SDNTK"},
    "eo14059": {"ILLICIT-DRUGS-EO", "ILLICIT-DRUGS-EO14059"},
    "eo12978": {"SDNT"},
}
NARCOTICS = set().union(*PROGRAMMES.values())


@dataclass(frozen=True)
class _File:
    """One file of a snapshot: a list copy (``sdn``) or its addresses (``add``)."""

    kind: str          # sdn | add
    list_date: date
    path: Path
    name: str
    url: str | None
    md5: str
    stored_as: str | None
    order: int         # position of its snapshot, oldest first (breaks ties of one list date)


def fetch(ctx) -> list:
    """The current list and its address file. An unchanged list (304) means nothing to do."""
    prev = _previous_entry(ctx.previous, SDN_NAME)
    sdn = ctx.http.get(SDN_URL, source_id=SOURCE_ID, name=SDN_NAME,
                       etag=prev.get("etag"), last_modified=prev.get("last_modified"))
    add = ctx.http.get(ADD_URL, source_id=SOURCE_ID, name=ADD_NAME)
    return [sdn, add]


def _previous_entry(previous, name: str) -> dict:
    if previous is None:
        return {}
    return next((f for f in previous.files if f["name"] == name), {})


def transform(snapshot: Snapshot) -> pd.DataFrame:
    files = [f for i, snap in enumerate(_known_as_of(snapshot)) for f in _files(snap, i)]
    lists = [f for f in files if f.kind == "sdn"]
    if not lists:
        raise ParseError(f"snapshot {snapshot.name} and the snapshots before it hold no SDN list (sdn.csv/sdn.pip)",
                         source_id=SOURCE_ID)
    addresses = sorted((f for f in files if f.kind == "add"), key=lambda f: (f.list_date, f.order))
    newest = {}  # list month -> the newest list copy of that month (one point per month)
    for f in sorted(lists, key=lambda f: (f.list_date, f.order)):
        newest[f.list_date.replace(day=1)] = f
    rows = [r for month, f in newest.items() for r in _points(f, month, addresses)]
    return pd.DataFrame(rows).assign(geo=GEO, unit=UNIT, source_id=SOURCE_ID)


def _known_as_of(snapshot: Snapshot) -> list[Snapshot]:
    """This snapshot and the committed ones before it (all of them for a staged fetch)."""
    root = paths.raw_dir(SOURCE_ID)
    if snapshot.dir.parent.resolve() != root.resolve():
        return [snapshot]
    committed = list_snapshots(SOURCE_ID)
    dirs = [s.dir.resolve() for s in committed]
    here = snapshot.dir.resolve()
    if here in dirs:
        return committed[: dirs.index(here) + 1]
    return [*committed, snapshot]  # a staged fetch is newer than everything committed


def _files(snap: Snapshot, order: int) -> list[_File]:
    out = []
    snap.verify()  # the pipeline checks the snapshot it builds; the earlier ones are read here too
    for entry in snap.files:
        stem = entry["name"].split(".", 1)[0].lower()
        kind = "sdn" if stem.startswith("sdn") else "add" if stem.startswith("add") else None
        if kind is None:
            raise ParseError(f"snapshot {snap.name}: file {entry['name']!r} is neither an SDN list (sdn.*) "
                             f"nor an address file (add.*)", source_id=SOURCE_ID, url=entry.get("url"))
        out.append(_File(kind, _list_date(entry, snap), snap.path(entry["name"]), entry["name"], entry.get("url"),
                         entry.get("md5", ""), entry.get("stored_as"), order))
    return out


def _list_date(entry: dict, snap: Snapshot) -> date:
    """The seed's recorded list date; for a fetch, the server's Last-Modified, else the access day."""
    if entry.get("list_date"):
        return date.fromisoformat(entry["list_date"])
    if entry.get("last_modified"):
        try:
            return parsedate_to_datetime(entry["last_modified"]).date()
        except (TypeError, ValueError):
            pass  # an unparseable header: fall back to the access day
    when = entry.get("accessed_at") or snap.date
    try:
        return date.fromisoformat(when[:10])
    except ValueError as exc:
        raise ParseError(f"snapshot {snap.name}: {entry['name']}: no usable list date (accessed_at {when!r})",
                         source_id=SOURCE_ID, url=entry.get("url")) from exc


def _points(f: _File, month: date, addresses: list[_File]) -> list[dict]:
    """The counts of one list copy, dated the first of its month."""
    narc = _narcotics(f)
    remarks = narc[narc["remarks"].str.contains(MEXICO, regex=False)]
    when = pd.Timestamp(month)
    counts = {
        "mx_narcotics_entries": len(remarks),
        "mx_narcotics_entries_individuals": int((remarks["sdn_type"] == INDIVIDUAL).sum()),
        "mx_narcotics_entries_entities": int((remarks["sdn_type"] == "").sum()),
        **{f"mx_narcotics_entries_{suffix}": int(remarks["tags"].map(lambda t, p=tags: bool(p & t)).sum())
           for suffix, tags in PROGRAMMES.items()},
    }
    rows = [{"series_id": f"{SOURCE_ID}.{k}", "date": when, "value": float(v), "flag": None} for k, v in counts.items()]
    own = [a for a in addresses if a.order == f.order]  # the address file of the same snapshot
    lookup = own[-1] if own else (addresses[-1] if addresses else None)
    if lookup is not None:
        mexico = _mexico_addresses(lookup)
        linked = narc["remarks"].str.contains(MEXICO, regex=False) | narc["ent_num"].isin(mexico)
        rows.append({"series_id": f"{SOURCE_ID}.mx_narcotics_entries_incl_address", "date": when,
                     "value": float(linked.sum()), "flag": None if own else "lower_bound"})
    return rows


def _cache_key(f: _File) -> str:
    """The manifest's md5 (a snapshot file never changes); size and mtime where a manifest has none."""
    stat = f.path.stat()
    return f.md5 or f"{stat.st_size}:{stat.st_mtime_ns}"


def _narcotics(f: _File) -> pd.DataFrame:
    return _read_narcotics(str(f.path), _cache_key(f), f.stored_as, f.name, f.url)


@lru_cache(maxsize=32)
def _read_narcotics(path: str, key: str, stored_as: str | None, name: str, url: str | None) -> pd.DataFrame:
    """The list's narcotics-programme records (``key``, the file's md5, keys the cache)."""
    df = _read(Path(path), SDN_FIELDS, stored_as, name, url)
    df["tags"] = df["program"].str.split("] [", regex=False).map(lambda t: frozenset(s.strip("[] ") for s in t))
    if df.empty or not df["tags"].map(bool).any():
        raise ParseError(f"{name}: no records with a Program tag", source_id=SOURCE_ID, url=url)
    narc = df[df["tags"].map(lambda t: bool(NARCOTICS & t))]
    if narc.empty:
        raise ParseError(f"{name}: no record under a narcotics programme ({sorted(NARCOTICS)}); the programme tags "
                         f"may have been renamed again", source_id=SOURCE_ID, url=url)
    return narc[["ent_num", "sdn_type", "tags", "remarks"]].reset_index(drop=True)


def _mexico_addresses(f: _File) -> frozenset[str]:
    return _read_mexico_addresses(str(f.path), _cache_key(f), f.stored_as, f.name, f.url)


@lru_cache(maxsize=32)
def _read_mexico_addresses(path: str, key: str, stored_as: str | None, name: str, url: str | None) -> frozenset[str]:
    df = _read(Path(path), ADD_FIELDS, stored_as, name, url)
    return frozenset(df.loc[df["country"] == MEXICO, "ent_num"])


def _read(path: Path, fields: list[str], stored_as: str | None, name: str, url: str | None) -> pd.DataFrame:
    """A legacy OFAC file -> stripped strings, ``-0-`` as empty, only rows whose ent_num is a number."""
    suffix = Path(name).suffix.lower()  # the publisher's name; a compressed copy is read by stored_as
    if suffix not in SEPARATORS:
        raise ParseError(f"{name}: unknown format {suffix!r}; expected one of {sorted(SEPARATORS)}",
                         source_id=SOURCE_ID, url=url)
    try:
        df = pd.read_csv(path, header=None, sep=SEPARATORS[suffix], encoding="latin-1", dtype=str,
                         keep_default_na=False, compression=stored_as)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError, ValueError) as exc:
        raise ParseError(f"{name}: unreadable ({exc})", source_id=SOURCE_ID, url=url) from exc
    if df.shape[1] != len(fields):
        raise ParseError(f"{name}: {df.shape[1]} fields per row, expected {len(fields)} ({', '.join(fields)})",
                         source_id=SOURCE_ID, url=url)
    df.columns = fields
    df = df.apply(lambda col: col.str.strip())
    df = df.mask(df == EMPTY, "")
    df = df[df["ent_num"].str.fullmatch(r"\d+")]  # drops the closing Ctrl-Z line
    if df.empty:
        raise ParseError(f"{name}: no records (no row starts with a numeric ent_num)", source_id=SOURCE_ID, url=url)
    return df.reset_index(drop=True)
