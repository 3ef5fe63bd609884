"""Every tidy table, built offline from every seed snapshot, is one schema: DuckDB and Polars read
each file and concatenate all of them with no schema error; ``flag`` is always an Arrow string
column (never Arrow's null type, which a source without flags used to write); tables and the
catalog are readable by group and others (the dashboard may run as another user)."""

from __future__ import annotations

import stat

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import etl.pipeline
from etl import paths
from etl.registry import all_sources
from etl.store import TIDY_ARROW_SCHEMA
from tests.conftest import make_data_dir


@pytest.fixture(scope="module")
def tidy(tmp_path_factory):
    """Every source built offline from its seed in one temp data dir; the tidy files."""
    root = make_data_dir(tmp_path_factory.mktemp("interop") / "data", sorted(all_sources()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(root))
        results = etl.pipeline.run(offline=True, progress=lambda _: None)
        assert {r.source_id: r.status for r in results} == {sid: "ok" for sid in all_sources()}, \
            [r.error for r in results if r.status != "ok"]
        yield root, sorted((root / "tidy").glob("*.parquet"))


def test_every_file_has_the_one_tidy_schema(tidy):
    _, files = tidy
    assert {f.stem for f in files} == set(all_sources())
    for f in files:
        schema = pq.read_schema(f)
        assert schema.remove_metadata().equals(TIDY_ARROW_SCHEMA), (f.name, schema)
        assert schema.field("flag").type == pa.string() != pa.null(), f.name


def test_sources_without_any_flag_still_write_a_string_flag(tidy):
    root, _ = tidy
    inegi = pq.read_table(root / "tidy" / "inegi_homicide.parquet")
    assert inegi.column("flag").null_count == inegi.num_rows  # no INEGI value is flagged
    assert inegi.schema.field("flag").type == pa.string()


def test_polars_reads_and_concatenates_every_table(tidy):
    _, files = tidy
    frames = [pl.read_parquet(f) for f in files]
    assert all(df.schema == frames[0].schema for df in frames)
    both = pl.concat(frames, how="vertical")
    assert both.height == sum(df.height for df in frames)
    assert both.schema["flag"] == pl.String and both.schema["date"] == pl.Datetime("ns")
    assert set(both["source_id"].unique()) == set(all_sources())
    # the lower bounds and suppressed cells are there as flags, next to the sources without any
    counts = both.filter(pl.col("source_id") == "cdc_nchs_final_overdose")["flag"].value_counts()
    assert dict(zip(counts["flag"], counts["count"])) == {None: 3873, "suppressed": 669, "lower_bound": 72}


def test_duckdb_reads_and_unions_every_table(tidy):
    root, files = tidy
    con = duckdb.connect()
    per_file = sum(con.execute("select count(*) from read_parquet(?)", [str(f)]).fetchone()[0] for f in files)
    glob = str(root / "tidy" / "*.parquet")
    total, sources = con.execute(f"select count(*), count(distinct source_id) from read_parquet('{glob}')").fetchone()
    assert total == per_file and sources == len(all_sources())
    types = dict(con.execute(f"select column_name, column_type from (describe select * from read_parquet('{glob}'))").fetchall())
    assert types["flag"] == "VARCHAR" and types["value"] == "DOUBLE"
    # final 2021 from the NIDA workbook, read by DuckDB straight from the tidy file
    final_2021 = con.execute(
        f"select value from read_parquet('{glob}') where series_id = 'cdc_nchs_final_overdose.all_drugs' "
        "and geo = 'US' and date = '2021-01-01'").fetchone()[0]
    assert final_2021 == 106_699


def test_tables_and_catalog_are_readable_by_group_and_others(tidy):
    root, files = tidy
    for f in [*files, root / "catalog.json"]:
        mode = stat.S_IMODE(f.stat().st_mode)
        assert mode == 0o644, (f.name, oct(mode))
