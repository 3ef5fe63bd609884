"""cdc_nchs_final_overdose: headline numbers from the seed snapshot, quirks, fetch refuses -> seed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from etl import paths, pipeline, snapshot
from etl.errors import FetchError, ParseError
from etl.sources import cdc_nchs_final_overdose as nchs

SID = "cdc_nchs_final_overdose"


def value(df: pd.DataFrame, series: str, geo: str, year: int) -> tuple[float, str | None]:
    row = df[(df.series_id == f"{SID}.{series}") & (df.geo == geo) & (df.date == f"{year}-01-01")]
    assert len(row) == 1, (series, geo, year)
    return row.value.iloc[0], row.flag.iloc[0]



@pytest.mark.parametrize(
    "series, geo, year, expected, flag",
    [
        ("all_drugs", "US", 2020, 91799, None),
        ("all_drugs", "US", 2019, 70630, None),
        ("all_drugs", "US", 2021, 107521, "provisional"),  # provisional VSRR figure, kept as is
        ("all_drugs_rate", "US", 2021, 32.4, None),
        ("all_drugs_rate", "US", 2020, 28.3, None),
        ("synthetic_opioids", "US", 2021, 70601, None),
        ("heroin", "US", 2001, 1779, None),
        ("all_drugs", "US-AZ", 2020, 2550, None),
        ("all_drugs_rate", "US-NM", 2020, 39.0, None),
        ("all_drugs", "US-TX", 2020, 4172, None),
    ],
)
def test_headline_values(table, series, geo, year, expected, flag):
    assert value(table, series, geo, year) == (expected, flag)


def test_states_sum_to_us_total_2020(table):
    states = table[(table.series_id == f"{SID}.all_drugs") & (table.geo != "US") & (table.date == "2020-01-01")]
    assert len(states) == 51
    assert states.value.sum() == value(table, "all_drugs", "US", 2020)[0] == 91799


def test_shape(table):
    assert table.series_id.nunique() == 16
    assert table[table.geo == "US"].date.dt.year.agg(["min", "max"]).tolist() == [2001, 2021]
    assert (table.flag == "provisional").sum() == 1
    rates = table[table.series_id.str.endswith("_rate")]
    assert (rates.unit == "per_100k_age_adjusted").all()


def make_snapshot(tmp_path: Path, national: str, state: str) -> snapshot.Snapshot:
    src = snapshot.latest_snapshot(SID)
    for name, text in (("dod_by_time.csv", national), ("dod_by_state.csv", state)):
        (tmp_path / name).write_text(text if text is not None else src.path(name).read_text("utf-8-sig"), "utf-8")
    return snapshot.Snapshot(SID, tmp_path, src.manifest)


def test_state_joined_by_fips_not_name(tmp_path):
    src = snapshot.latest_snapshot(SID).path("dod_by_state.csv").read_text("utf-8").splitlines()
    renamed = [src[0]] + [line.replace("Arizona,AZ", "Arizona (state),XX") for line in src[1:]]
    df = nchs.transform(make_snapshot(tmp_path, None, "\n".join(renamed) + "\n"))
    assert value(df, "all_drugs", "US-AZ", 2020)[0] == 2550


@pytest.mark.parametrize(
    "which, edit, message",
    [
        ("dod_by_time.csv", lambda t: t.replace("num_total", "total"), "missing column(s) ['num_total']"),
        ("dod_by_time.csv", lambda t: t.replace("2020,91799", "2020,n/a"), "non-numeric or blank value(s)"),
        ("dod_by_state.csv", lambda t: t.replace("Arizona,AZ,4,", "Arizona,AZ,99,"), "unknown FIPS code(s) ['99']"),
        ("dod_by_state.csv", lambda t: "", "empty file"),
    ],
)
def test_layout_changes_are_parse_errors(tmp_path, which, edit, message):
    src = snapshot.latest_snapshot(SID)
    texts = {n: src.path(n).read_text("utf-8-sig") for n in ("dod_by_time.csv", "dod_by_state.csv")}
    texts[which] = edit(texts[which])
    with pytest.raises(ParseError) as err:
        nchs.transform(make_snapshot(tmp_path, texts["dod_by_time.csv"], texts["dod_by_state.csv"]))
    assert message in str(err.value) and which in str(err.value)


def test_fetch_raises_and_online_run_falls_back_to_seed(tmp_path, monkeypatch):
    with pytest.raises(FetchError, match="no machine-readable publisher endpoint"):
        nchs.fetch(None)
    root = tmp_path / "data"
    shutil.copytree(paths.data_dir() / "reference", root / "reference")
    shutil.copytree(paths.raw_dir(SID), root / "raw" / SID)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    [result] = pipeline.run([SID], offline=False, progress=lambda msg: None)
    assert result.status == "fallback"
    assert result.snapshot == "2023-01-03"
    assert "no machine-readable publisher endpoint" in result.error and "wonder.cdc.gov" in result.error
    assert [d.name for d in (root / "raw" / SID).iterdir()] == ["2023-01-03"]
    catalog = json.loads(paths.catalog_path().read_text())
    assert catalog["sources"][SID]["snapshot_origin"] == "seed"
    df = pd.read_parquet(paths.tidy_path(SID))
    assert value(df, "all_drugs", "US", 2020)[0] == 91799
