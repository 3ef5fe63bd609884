"""What was known when: every raw snapshot is a vintage of its source.

The tidy table of an older snapshot is rebuilt on demand with the same transform (and kept
in memory), so ``as_of`` and the revisions view need no extra files to stay consistent.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from etl.registry import get_source
from etl.snapshot import Snapshot, list_snapshots


def snapshots_as_of(source_id: str, as_of: pd.Timestamp) -> list[Snapshot]:
    return [s for s in list_snapshots(source_id) if pd.Timestamp(s.date) <= as_of]


@lru_cache(maxsize=16)
def _built(source_id: str, snapshot_dir: str, fingerprint: str) -> pd.DataFrame:
    from etl.pipeline import build_table

    snap = next(s for s in list_snapshots(source_id) if str(s.dir) == snapshot_dir)
    return build_table(get_source(source_id), snap)


def table_for(snapshot: Snapshot) -> pd.DataFrame:
    return _built(snapshot.source_id, str(snapshot.dir), snapshot.fingerprint())


def table_as_of(source_id: str, as_of: pd.Timestamp) -> pd.DataFrame:
    snaps = snapshots_as_of(source_id, as_of)
    if not snaps:
        first = list_snapshots(source_id)
        since = first[0].date if first else "never"
        raise LookupError(f"{source_id}: no snapshot on or before {as_of.date()} (oldest: {since})")
    return table_for(snaps[-1])


def revisions(series_id: str, geo: str, start=None, end=None) -> pd.DataFrame:
    """One row per (date, vintage): how a value changed from snapshot to snapshot.

    Columns: date, vintage (snapshot date), value, flag, revision (change vs the previous
    vintage that had this date).
    """
    source_id = series_id.split(".", 1)[0]
    frames = []
    for snap in list_snapshots(source_id):
        df = table_for(snap)
        sel = df[(df["series_id"] == series_id) & (df["geo"] == geo)]
        if start is not None:
            sel = sel[sel["date"] >= pd.Timestamp(start)]
        if end is not None:
            sel = sel[sel["date"] <= pd.Timestamp(end)]
        frames.append(sel[["date", "value", "flag"]].assign(vintage=snap.date))
    if not frames:
        return pd.DataFrame(columns=["date", "vintage", "value", "flag", "revision"])
    out = pd.concat(frames, ignore_index=True).sort_values(["date", "vintage"])
    out["revision"] = out.groupby("date")["value"].diff()
    return out[["date", "vintage", "value", "flag", "revision"]].reset_index(drop=True)
