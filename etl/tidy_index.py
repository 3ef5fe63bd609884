"""A per-series index into each tidy table, so a lookup costs the size of its answer.

For ``data/tidy/<source>.parquet`` it keeps two uncompressed Arrow IPC files under
``<data dir>/tidy/.cache/index/`` (or ``XBORDER_INDEX_DIR``), named by the table's size and
modification time so a refresh that replaces the table builds a new pair:

- ``<source>-<size>-<mtime>.rows.arrow``: the value columns (date, value, flag) in the table's order;
- ``<source>-<size>-<mtime>.keys.arrow``: one row per run of identical (series_id, geo, unit,
  source_id) in that order, with the run's [start, stop) rows, sorted by (series_id, geo, start);
- ``<source>-<size>-<mtime>.series.arrow``: one row per series_id, with its [lo, hi) stretch of
  the key table.

All three are memory-mapped: every worker process reads the same page-cache pages, nothing is
copied per process, and only the pages of an answer are touched. A lookup bisects the small
series directory, then the series' own stretch of the key table (never the whole key table: each
probe into a mapped file maps a block of pages, so a bisection over a large file would touch
megabytes), slices the rows zero-copy and converts only them.
Rows come back in the table's own order, exactly as a full scan with a mask would return them.

The build streams the Parquet file by row group (bounded memory) and writes atomically
(temporary file, then rename), so concurrent workers building the same index is harmless.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl import paths

INDEX_DIR_ENV = "XBORDER_INDEX_DIR"
KEY_COLUMNS = ("series_id", "geo", "unit", "source_id")  # constant within a run
ROW_COLUMNS = ("date", "value", "flag")
TIDY_ORDER = ("series_id", "geo", "date", "value", "unit", "source_id", "flag")
BATCH_ROWS = 1 << 16      # rows read from the Parquet file at a time while building
BLOCK_ROWS = 1 << 20      # rows per record batch in the rows file: few batch headers to read at open
OPEN_INDEXES = 64  # bounded: one entry per (table, version) a process has read

_build_lock = threading.Lock()


def index_dir() -> Path:
    """Where the index files live: beside the tidy tables unless XBORDER_INDEX_DIR says otherwise
    (a read-only or network data dir: point it at local disk)."""
    env = os.environ.get(INDEX_DIR_ENV)
    return Path(env) if env else paths.data_dir() / "tidy" / ".cache" / "index"


class TidyIndex:
    """A memory-mapped tidy table with its run index."""

    def __init__(self, rows: pa.Table, keys: pa.Table, metadata: dict | None, directory: pa.Table):
        self.rows = rows
        self.keys = keys
        self.metadata = metadata
        self._dir_sid, self._dir_lo, self._dir_hi = (_one_chunk(directory.column(c)) for c in ("series_id", "lo", "hi"))
        # Columns as Python-indexable arrays for bisect (one element read per probe). The key
        # file is one record batch, so these are views onto the mapped file, not copies.
        self._sid, self._geo, self._unit, self._src, self._start, self._stop = (
            _one_chunk(keys.column(c)) for c in (*KEY_COLUMNS, "start", "stop"))
        self.schema = pa.schema(
            [pa.field(n, pa.large_string()) if n in KEY_COLUMNS else rows.schema.field(n) for n in TIDY_ORDER],
            metadata=metadata,
        )

    def _series_range(self, series_id: str) -> tuple[int, int]:
        """The series' [lo, hi) stretch of the key table, from the directory (empty if absent)."""
        view = _Column(self._dir_sid)
        i = bisect.bisect_left(view, series_id)
        if i < len(view) and view[i] == series_id:
            return self._dir_lo[i].as_py(), self._dir_hi[i].as_py()
        return 0, 0

    def runs(self, series_ids: Iterable[str] | None, geos: Iterable[str] | None) -> list[int]:
        """Key-table positions of the runs matching the series and geographies (None = any)."""
        geo_set = set(geos) if geos is not None else None
        if series_ids is None:
            if geo_set is None:
                return list(range(len(self.keys)))
            mask = pc.is_in(self._geo, value_set=pa.array(sorted(geo_set), type=self._geo.type))
            return pc.indices_nonzero(mask).to_pylist()
        out: list[int] = []
        for sid in dict.fromkeys(series_ids):
            lo, hi = self._series_range(sid)
            if geo_set is None:
                out.extend(range(lo, hi))
                continue
            geo_view = _Column(self._geo, lo, hi)
            for g in sorted(geo_set):
                a = bisect.bisect_left(geo_view, g)
                b = bisect.bisect_right(geo_view, g)
                out.extend(range(lo + a, lo + b))
        return out

    def pairs(self, series_ids: Iterable[str] | None = None) -> pa.Table:
        """The (series_id, geo) pairs the table holds, sorted. With ``series_ids``, only theirs,
        read from their stretches of the key table (the size of the answer); without, every pair
        (the size of the key table, never the rows)."""
        if series_ids is None:
            keys = pa.table({"series_id": self._sid, "geo": self._geo})
            return keys.group_by(["series_id", "geo"]).aggregate([]).sort_by([("series_id", "ascending"),
                                                                              ("geo", "ascending")])
        # Value by value from each stretch: Arrow's hash kernels would read whole mapped buffers.
        found = sorted({(sid, g) for sid in set(series_ids)
                        for g in self._geo.slice(*_span(self._series_range(sid))).to_pylist()})
        return pa.table({"series_id": pa.array([a for a, _ in found], pa.large_string()),
                         "geo": pa.array([b for _, b in found], pa.large_string())})

    def select(self, series_ids: Iterable[str] | None, geos: Iterable[str] | None) -> pa.Table:
        """The tidy rows of the matching runs, in the table's order."""
        picked = sorted(self.runs(series_ids, geos), key=lambda k: self._start[k].as_py())
        pieces, n_rows, key_vals = [], [], {c: [] for c in KEY_COLUMNS}
        for k in picked:
            start, stop = self._start[k].as_py(), self._stop[k].as_py()
            pieces.append(self.rows.slice(start, stop - start))
            n_rows.append(stop - start)
            for c, arr in zip(KEY_COLUMNS, (self._sid, self._geo, self._unit, self._src)):
                key_vals[c].append(arr[k].as_py())
        if pieces:
            body = pa.concat_tables(pieces)
        else:
            body = self.rows.slice(0, 0)
        # one value per run, repeated to its rows: the answer's size, no per-table work
        idx = pa.array(np.repeat(np.arange(len(n_rows), dtype=np.int64), n_rows))
        cols = {c: pa.array(key_vals[c], type=pa.large_string()).take(idx) for c in KEY_COLUMNS}
        arrays = [cols[n] if n in KEY_COLUMNS else body.column(n) for n in TIDY_ORDER]
        return pa.Table.from_arrays(arrays, schema=self.schema)


def _span(lo_hi: tuple[int, int]) -> tuple[int, int]:
    """(offset, length) of a [lo, hi) range, as Arrow's slice takes it."""
    lo, hi = lo_hi
    return lo, hi - lo


def series_directory(series_ids: pa.ChunkedArray | pa.Array) -> pa.Table:
    """One row per distinct series_id of a sorted key column, with its [lo, hi) positions."""
    sid = _one_chunk(series_ids) if isinstance(series_ids, pa.ChunkedArray) else series_ids
    n = len(sid)
    if n == 0:
        return pa.table({"series_id": pa.array([], pa.large_string()), "lo": pa.array([], pa.int64()),
                         "hi": pa.array([], pa.int64())})
    starts = np.zeros(1, dtype=np.int64)
    if n > 1:
        change = pc.not_equal(sid.slice(1), sid.slice(0, n - 1))
        starts = np.concatenate([starts, pc.indices_nonzero(change).to_numpy().astype(np.int64) + 1])
    stops = np.append(starts[1:], n)
    return pa.table({"series_id": sid.take(pa.array(starts)).cast(pa.large_string()),
                     "lo": pa.array(starts, pa.int64()), "hi": pa.array(stops, pa.int64())})


def _one_chunk(col: pa.ChunkedArray) -> pa.Array:
    """The column as one array: zero-copy when it has one chunk (every key file written here)."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


class _Column:
    """A read-only sequence view of part of an Arrow string array, for ``bisect``."""

    __slots__ = ("arr", "lo", "hi")

    def __init__(self, arr: pa.Array, lo: int = 0, hi: int | None = None):
        self.arr, self.lo, self.hi = arr, lo, len(arr) if hi is None else hi

    def __len__(self) -> int:
        return self.hi - self.lo

    def __getitem__(self, i: int) -> str:
        return self.arr[self.lo + i].as_py()


def _names(source_id: str, stat: os.stat_result) -> tuple[Path, Path, Path]:
    stem = f"{source_id}-{stat.st_size}-{stat.st_mtime_ns}"
    d = index_dir()
    return d / f"{stem}.rows.arrow", d / f"{stem}.keys.arrow", d / f"{stem}.series.arrow"


def open_index(source_id: str, parquet_path: Path) -> TidyIndex:
    """The index of a tidy table, built on first use (or after the table was replaced)."""
    stat = parquet_path.stat()
    return _open(source_id, str(parquet_path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=OPEN_INDEXES)
def _open(source_id: str, parquet_path: str, size: int, mtime_ns: int) -> TidyIndex:
    stat = os.stat(parquet_path)
    files = _names(source_id, stat)
    if not all(f.is_file() for f in files):
        with _build_lock:
            if not all(f.is_file() for f in files):
                build(source_id, Path(parquet_path), *files)
    rows, keys, directory = (pa.ipc.open_file(pa.memory_map(str(f))).read_all() for f in files)
    meta = keys.schema.metadata
    return TidyIndex(rows, keys.replace_schema_metadata(None), meta, directory)


def build(source_id: str, parquet_path: Path, rows_path: Path, keys_path: Path, series_path: Path) -> None:
    """Stream the table once: write its value columns and the run boundaries of its keys."""
    pf = pq.ParquetFile(parquet_path)
    schema = pf.schema_arrow
    missing = [c for c in TIDY_ORDER if c not in schema.names]
    if missing:
        raise ValueError(f"{source_id}: {parquet_path} lacks the tidy columns {missing}")
    rows_schema = pa.schema([schema.field(c) for c in ROW_COLUMNS])
    rows_path.parent.mkdir(parents=True, exist_ok=True)
    runs = {c: [] for c in (*KEY_COLUMNS, "start", "stop")}
    offset = 0
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    with _atomic(rows_path) as tmp_rows, pa.OSFile(str(tmp_rows), "wb") as sink, \
            pa.ipc.new_file(sink, rows_schema) as writer:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(TIDY_ORDER)):
            n = batch.num_rows
            if n == 0:
                continue
            keys = [batch.column(c).cast(pa.large_string()) for c in KEY_COLUMNS]
            change = pa.array([False] * (n - 1), type=pa.bool_()) if n > 1 else None
            for col in keys:
                if n > 1:
                    diff = pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), True)
                    change = pc.or_(change, diff)
            starts = [0] + ([i + 1 for i in pc.indices_nonzero(change).to_pylist()] if n > 1 else [])
            first = tuple(k[0].as_py() for k in keys)
            for j, s in enumerate(starts):
                key = first if j == 0 else tuple(k[s].as_py() for k in keys)
                stop = starts[j + 1] if j + 1 < len(starts) else n
                prev = tuple(runs[c][-1] for c in KEY_COLUMNS) if runs["stop"] else None
                if j == 0 and prev == key and runs["stop"][-1] == offset:
                    runs["stop"][-1] = offset + stop  # the run goes on from the previous batch
                    continue
                for c, v in zip(KEY_COLUMNS, key):
                    runs[c].append(v)
                runs["start"].append(offset + s)
                runs["stop"].append(offset + stop)
            pending.append(pa.record_batch([batch.column(c) for c in ROW_COLUMNS], schema=rows_schema))
            pending_rows += n
            if pending_rows >= BLOCK_ROWS:
                writer.write_table(pa.Table.from_batches(pending, rows_schema).combine_chunks())
                pending, pending_rows = [], 0
            offset += n
        if pending:
            writer.write_table(pa.Table.from_batches(pending, rows_schema).combine_chunks())
    keys_table = pa.table(
        {c: pa.array(runs[c], type=pa.large_string()) for c in KEY_COLUMNS}
        | {"start": pa.array(runs["start"], type=pa.int64()), "stop": pa.array(runs["stop"], type=pa.int64())}
    )
    keys_table = keys_table.sort_by([("series_id", "ascending"), ("geo", "ascending"), ("start", "ascending")])
    keys_table = keys_table.replace_schema_metadata(schema.metadata)  # pandas metadata: same dtypes as the table
    keys_table = keys_table.combine_chunks()  # one record batch: readers map it without copying
    with _atomic(keys_path) as tmp_keys, pa.OSFile(str(tmp_keys), "wb") as sink, \
            pa.ipc.new_file(sink, keys_table.schema) as writer:
        writer.write_table(keys_table)
    directory = series_directory(keys_table.column("series_id"))
    with _atomic(series_path) as tmp_dir, pa.OSFile(str(tmp_dir), "wb") as sink, \
            pa.ipc.new_file(sink, directory.schema) as writer:
        writer.write_table(directory)
    _remove_stale(source_id, rows_path, keys_path, series_path)


@contextlib.contextmanager
def _atomic(target: Path):
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; every worker user must read it
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_stale(source_id: str, *keep: Path) -> None:
    """Index files of older versions of this table (a mapped file stays readable once unlinked)."""
    for p in index_dir().glob(f"{source_id}-*.arrow"):
        if p not in keep:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def build_all() -> list[str]:
    """Build (or check) the index of every tidy table present; the sources indexed."""
    done = []
    for path in sorted((paths.data_dir() / "tidy").glob("*.parquet")):
        open_index(path.stem, path)
        done.append(path.stem)
    return done
