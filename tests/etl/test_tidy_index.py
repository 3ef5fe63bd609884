"""The per-series index behind etl.load (etl/tidy_index.py): the same rows as a full scan, in
the same order, from memory-mapped files that a replaced table rebuilds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import etl
from etl import paths, tidy_index
from etl.schema import TIDY_COLUMNS

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
SOURCES = ("cbp_seizures", "cdc_vsrr_overdose", "sesnsp_homicide", "population")


@pytest.fixture
def tidy_copy(data_dir):
    """The repo's built tables for a few sources, in a temporary data dir (built offline if absent)."""
    (data_dir / "tidy").mkdir()
    for sid in SOURCES:
        src = REPO_DATA / "tidy" / f"{sid}.parquet"
        if not src.is_file():
            pytest.fail(f"{src} missing: run `python -m etl run --offline` first")
        shutil.copy(src, data_dir / "tidy" / src.name)
    return data_dir


def _scan(sid: str, data_dir: Path) -> pd.DataFrame:
    return pq.read_table(data_dir / "tidy" / f"{sid}.parquet").to_pandas()


def test_every_series_and_geography_matches_a_full_scan(tidy_copy):
    for sid in SOURCES:
        full = _scan(sid, tidy_copy)
        pd.testing.assert_frame_equal(etl.load(source=sid), full[TIDY_COLUMNS].reset_index(drop=True))
        for (series_id, geo), rows in full.groupby(["series_id", "geo"], sort=False):
            pd.testing.assert_frame_equal(etl.load(series_id, geo=geo), rows[TIDY_COLUMNS].reset_index(drop=True))


def test_lists_of_series_geographies_and_dates_match_a_full_scan(tidy_copy):
    full = _scan("cbp_seizures", tidy_copy)
    ids = ["cbp_seizures.fentanyl_lbs", "cbp_seizures.cocaine_events"]
    geos = ["CBP-SWB", "US", "CBP-NB"]
    want = full[full["series_id"].isin(ids) & full["geo"].isin(geos) & (full["date"] >= "2020-01-01")
                & (full["date"] <= "2022-06-01")]
    got = etl.load(ids, geo=geos, start="2020-01-01", end="2022-06-01")
    pd.testing.assert_frame_equal(got, want[TIDY_COLUMNS].reset_index(drop=True))
    # the publisher's headlines (PROVENANCE): fentanyl lbs FY2023, all regions and southwest border
    for geo, expected in (("US", 27_023), ("CBP-SWB", 26_718)):
        fy23 = etl.load("cbp_seizures.fentanyl_lbs", geo=geo, start="2022-10-01", end="2023-09-01")
        assert len(fy23) == 12 and round(fy23["value"].sum()) == expected
    # two sources at once, in source order, as before
    mx = etl.load(["sesnsp_homicide.homicidio_doloso", "population.mx_total"], geo="MX")
    assert list(dict.fromkeys(mx["source_id"])) == ["population", "sesnsp_homicide"]
    assert etl.load("cbp_seizures.fentanyl_lbs", geo="NOWHERE").empty


def test_an_unsorted_table_comes_back_in_file_order(data_dir):
    # synthetic: rows of two series interleaved, as a table written without sorting would be
    df = pd.DataFrame({
        "series_id": ["cbp_seizures.fentanyl_lbs", "cbp_seizures.cocaine_lbs", "cbp_seizures.fentanyl_lbs",
                      "cbp_seizures.cocaine_lbs"],
        "geo": ["US", "US", "US", "US"],
        "date": pd.to_datetime(["2020-02-01", "2020-01-01", "2020-01-01", "2020-02-01"]),
        "value": [2.0, 10.0, 1.0, 20.0],
        "unit": ["lbs"] * 4, "source_id": ["cbp_seizures"] * 4, "flag": [None, None, "fytd", None],
    })
    (data_dir / "tidy").mkdir()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), paths.tidy_path("cbp_seizures"))
    got = etl.load("cbp_seizures.fentanyl_lbs")
    assert list(got["value"]) == [2.0, 1.0]
    assert list(got["flag"].fillna("-")) == ["-", "fytd"]
    both = etl.load(["cbp_seizures.fentanyl_lbs", "cbp_seizures.cocaine_lbs"], geo="US")
    assert list(both["value"]) == [2.0, 10.0, 1.0, 20.0]


def test_a_replaced_table_is_reindexed_and_old_index_files_go(tidy_copy):
    sid = "cdc_vsrr_overdose"
    before = etl.load(f"{sid}.all_drugs", geo="US")
    old_files = set(tidy_index.index_dir().glob(f"{sid}-*.arrow"))
    assert len(old_files) == 3  # rows, keys, series directory
    path = paths.tidy_path(sid)
    t = pq.read_table(path)
    t = t.set_column(t.schema.get_field_index("value"), "value", pa.compute.multiply(t["value"], 2))
    tmp = path.with_suffix(".tmp")
    pq.write_table(t, tmp)
    os.replace(tmp, path)  # what the ETL's atomic write does
    after = etl.load(f"{sid}.all_drugs", geo="US")
    assert list(after["value"]) == [2 * v for v in before["value"]]
    new_files = set(tidy_index.index_dir().glob(f"{sid}-*.arrow"))
    assert len(new_files) == 3 and not (new_files & old_files)


def test_index_files_are_memory_mapped_not_copied(tidy_copy):
    etl.load("cbp_seizures.fentanyl_lbs", geo="CBP-SWB")
    path = paths.tidy_path("cbp_seizures")
    st = path.stat()
    if hasattr(tidy_index._open, "cache_clear"):
        tidy_index._open.cache_clear()
    before = pa.total_allocated_bytes()  # other tests in this process may hold Arrow memory
    ix = tidy_index._open("cbp_seizures", str(path), st.st_size, st.st_mtime_ns)
    # Arrow's default pool holds no copy of the rows: their buffers live in the mapped file
    assert ix.rows.num_rows == pq.ParquetFile(path).metadata.num_rows
    assert pa.total_allocated_bytes() - before < ix.rows.nbytes / 4


def test_key_columns_are_views_onto_the_mapped_file(tidy_copy):
    """A copy of the key table per worker would grow with the data (100x rows: 100x keys)."""
    etl.load("cbp_seizures.fentanyl_lbs", geo="CBP-SWB")
    path = paths.tidy_path("cbp_seizures")
    st = path.stat()
    tidy_index._open.cache_clear()
    before = pa.total_allocated_bytes()
    ix = tidy_index._open("cbp_seizures", str(path), st.st_size, st.st_mtime_ns)
    assert pa.total_allocated_bytes() - before < 64 * 1024
    assert ix.keys.column("series_id").num_chunks == 1


def test_a_series_pairs_match_the_full_listing(tidy_copy):
    """The geography lists a panel offers come from its series' stretch of the index."""
    for sid in SOURCES:
        ix = tidy_index.open_index(sid, paths.tidy_path(sid))
        every = ix.pairs().to_pandas()
        some = sorted(set(every["series_id"]))[::3] + ["no.such_series"]
        got = ix.pairs(some).to_pandas()
        want = every[every["series_id"].isin(some)].reset_index(drop=True)
        assert got.equals(want), sid
        assert ix.pairs([]).num_rows == 0


def test_the_series_directory_covers_each_series_once(tidy_copy):
    ix = tidy_index.open_index("sesnsp_homicide", paths.tidy_path("sesnsp_homicide"))
    d = tidy_index.series_directory(ix.keys.column("series_id")).to_pandas()
    keys = ix.keys.column("series_id").to_pylist()
    assert list(d["series_id"]) == sorted(set(keys))
    for sid, lo, hi in d.itertuples(index=False):
        assert set(keys[lo:hi]) == {sid} and hi - lo == keys.count(sid)
