"""The read API (etl.load / series / source_info / catalog), as_of vintages and revisions,
against tables built offline from the real seed snapshots in a temp data dir."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import etl
import etl.pipeline
import etl.vintages
from etl import paths
from etl.registry import all_sources
from etl.schema import TIDY_COLUMNS

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
BUILT = ["cdc_nchs_final_overdose", "cdc_vsrr_overdose", "inegi_homicide", "population"]
VSRR = "cdc_vsrr_overdose.all_drugs"
INEGI = "inegi_homicide.homicides"
NCHS = "cdc_nchs_final_overdose"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One temp data dir for the module, with BUILT built offline from their seed snapshots."""
    root = tmp_path_factory.mktemp("api") / "data"
    for part in ["reference", "milestones"] + [f"raw/{sid}" for sid in BUILT]:
        shutil.copytree(REPO_DATA / part, root / part)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.DATA_DIR_ENV, str(root))
        results = etl.pipeline.run(BUILT, offline=True, progress=lambda _: None)
        assert [r.status for r in results] == ["ok"] * len(BUILT), [r.error for r in results]
        yield root


def value(df: pd.DataFrame, date: str) -> float:
    return float(df.loc[df["date"] == pd.Timestamp(date), "value"].iloc[0])


# ---------------------------------------------------------------- load

def test_load_by_series_geo_and_date_range(built):
    df = etl.load(INEGI, geo="MX", start="2020-01-01", end="2020-12-01")
    assert list(df.columns) == TIDY_COLUMNS
    assert len(df) == 12 and set(df["geo"]) == {"MX"} and set(df["series_id"]) == {INEGI}
    assert df["date"].min() == pd.Timestamp("2020-01-01") and df["date"].max() == pd.Timestamp("2020-12-01")
    assert df["value"].sum() == 35_787  # INEGI occurrence-based homicides, 2020 (see source tests)


def test_load_several_geos_and_series_across_sources(built):
    states = etl.load(INEGI, geo=["MX-AGU", "MX-BCN"], start="2022-01-01")
    assert set(states["geo"]) == {"MX-AGU", "MX-BCN"} and len(states) == 2 * 12
    both = etl.load([INEGI, VSRR], geo=["MX", "US"], start="2019-01-01", end="2019-12-01")
    assert both.groupby(["series_id", "geo"]).size().to_dict() == {(VSRR, "US"): 12, (INEGI, "MX"): 12}


def test_load_whole_source(built):
    df = etl.load(source="inegi_homicide")
    assert len(df) == etl.catalog()["sources"]["inegi_homicide"]["rows"] == 33 * 23 * 12
    assert df["geo"].nunique() == 33


def test_load_errors(built):
    with pytest.raises(KeyError, match=r"unknown series \['inegi_homicide.nonexistent'\]"):
        etl.load("inegi_homicide.nonexistent")
    with pytest.raises(KeyError, match="unknown source 'nope'"):
        etl.load("nope.series")
    with pytest.raises(ValueError, match="needs series_id or source"):
        etl.load()
    with pytest.raises(FileNotFoundError, match=r"cbp_seizures has not been built yet.*run --offline"):
        etl.load("cbp_seizures.fentanyl_lbs")


def test_load_sees_a_rebuilt_table(data_dir):
    """The in-memory cache is keyed on the file: a refresh is visible at once."""
    shutil.copytree(REPO_DATA / "raw" / "inegi_homicide", data_dir / "raw" / "inegi_homicide")
    etl.pipeline.run(["inegi_homicide"], offline=True, progress=lambda _: None)
    before = value(etl.load(INEGI, geo="MX-ZAC"), "2022-12-01")
    # a newer snapshot with one revised count
    seed = next((data_dir / "raw" / "inegi_homicide").iterdir())
    new = data_dir / "raw" / "inegi_homicide" / "2030-01-01"
    shutil.copytree(seed, new)
    csv = new / "mexico-state-month-homicide-rates-2000-2022.csv"
    lines = csv.read_text().splitlines(keepends=True)
    i = next(i for i, ln in enumerate(lines) if ln.startswith("32|2022|12|"))
    cells = lines[i].split("|")
    cells[3] = str(int(cells[3]) + 5)
    lines[i] = "|".join(cells)
    csv.write_text("".join(lines))
    manifest = json.loads((new / "snapshot.json").read_text())
    data = csv.read_bytes()
    manifest["files"][0].update(md5=hashlib.md5(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (new / "snapshot.json").write_text(json.dumps(manifest))
    [res] = etl.pipeline.run(["inegi_homicide"], offline=True, progress=lambda _: None)
    assert res.snapshot == "2030-01-01"
    assert value(etl.load(INEGI, geo="MX-ZAC"), "2022-12-01") == before + 5
    assert value(etl.load(INEGI, geo="MX-ZAC", as_of="2029-12-31"), "2022-12-01") == before


# ---------------------------------------------------------------- metadata views

def test_series_lists_every_declared_series(built):
    s = etl.series()
    declared = [x.id for src in all_sources().values() for x in src.meta.series]
    assert sorted(s["series_id"]) == sorted(declared) and s["series_id"].is_unique
    assert {"series_id", "title", "title_es", "unit", "frequency", "definition", "source_id", "license"} <= set(s.columns)
    assert (s["series_id"].str.split(".").str[0] == s["source_id"]).all()
    one = etl.series("inegi_homicide")
    assert one["series_id"].tolist() == [INEGI] and one["unit"].tolist() == ["deaths"]


def test_source_info(built):
    info = etl.source_info().set_index("source_id")
    assert sorted(info.index) == sorted(all_sources())
    for sid in all_sources():
        assert info.loc[sid, "status"] == ("ok" if sid in BUILT else "not built")
    assert info.loc["inegi_homicide", "snapshot"] == "2024-03-21"
    assert info.loc["inegi_homicide", "rows"] == 9108
    assert info.loc["inegi_homicide", "date_max"] == "2022-12-01"
    assert info["landing_url"].str.startswith("https://").all() and info["citation"].str.len().gt(0).all()


def test_catalog(built):
    cat = etl.catalog()
    assert set(cat["sources"]) == set(BUILT) and set(cat["attempts"]) == set(BUILT)
    entry = cat["sources"]["cdc_vsrr_overdose"]
    assert entry["snapshot"] == "2026-06-27"
    parquet = (built / entry["parquet"]).read_bytes()
    assert hashlib.md5(parquet).hexdigest() == entry["parquet_md5"]


# ---------------------------------------------------------------- as_of and revisions

def test_as_of_returns_the_2019_vintage(built):
    current = etl.load(VSRR, geo="US")
    old = etl.load(VSRR, geo="US", as_of="2019-12-31")
    # the newest snapshot on or before 2019-12-31 is the one CDC published by 2019-04-24
    assert old.equals(etl.load(VSRR, geo="US", as_of="2019-04-24"))
    assert old["date"].min() == pd.Timestamp("2015-01-01") and old["date"].max() == pd.Timestamp("2018-09-01")
    assert len(old) == 45 and current["date"].max() > pd.Timestamp("2025-01-01")
    # then provisional and since revised upward: 12 months ending Sep 2018, 67,152 then vs 68,421 now
    assert value(old, "2018-09-01") == 67_152 and old["flag"].iloc[-1] == "provisional"
    assert value(current, "2018-09-01") == 68_421
    # the oldest months were already final and match
    assert value(old, "2015-01-01") == value(current, "2015-01-01") == 47_523


def test_as_of_picks_the_newest_snapshot_on_or_before_the_date(built):
    assert etl.load(VSRR, geo="US", as_of="2018-01-01")["date"].max() == pd.Timestamp("2017-05-01")
    assert etl.load(VSRR, geo="US", as_of="2030-01-01").equals(
        etl.load(VSRR, geo="US", as_of="2026-06-27"))
    with pytest.raises(LookupError, match=r"no snapshot on or before 2017-01-01 \(oldest: 2017-12-16\)"):
        etl.load(VSRR, geo="US", as_of="2017-01-01")


def test_revisions_one_row_per_date_and_vintage(built):
    rev = etl.vintages.revisions(VSRR, "US")
    assert list(rev.columns) == ["date", "vintage", "value", "flag", "revision"]
    assert not rev.duplicated(["date", "vintage"]).any()
    assert rev.groupby("vintage").size().to_dict() == {"2017-12-16": 29, "2019-04-24": 45, "2026-06-27": 128}
    # the first vintage holding a date has no revision; later ones are the change vs the previous
    first = rev.groupby("date").head(1)
    assert first["revision"].isna().all()
    sep18 = rev[rev["date"] == pd.Timestamp("2018-09-01")].set_index("vintage")
    assert sep18["value"].to_dict() == {"2019-04-24": 67_152, "2026-06-27": 68_421}
    assert sep18.loc["2026-06-27", "revision"] == 68_421 - 67_152
    window = etl.vintages.revisions(VSRR, "US", start="2018-01-01", end="2018-12-01")
    assert window["date"].between("2018-01-01", "2018-12-01").all() and set(window["vintage"]) == {"2019-04-24", "2026-06-27"}


# ---------------------------------------------------------------- coverage, same-release ratios, renamed ids

def test_coverage_says_where_state_series_end(built):
    cov = etl.coverage(VSRR)
    assert list(cov.columns) == ["series_id", "geo", "first", "last", "release"]
    last = cov.set_index("geo")["last"]
    # the state series end Nov 2023 while the national one runs on (the snapshot's own shape)
    assert last["US-TX"] == pd.Timestamp("2023-11-01") and last["US"] == pd.Timestamp("2025-08-01")
    assert (cov["first"] == pd.Timestamp("2015-01-01")).all()
    # the catalog holds it: no table is read
    entry = etl.catalog()["sources"]["cdc_vsrr_overdose"]
    groups = entry["coverage"][VSRR]
    assert sorted((g["first"], g["last"]) for g in groups) == [("2015-01-01", "2023-11-01"), ("2015-01-01", "2025-08-01")]


def test_coverage_counts_only_dates_with_a_value(built):
    """South Dakota's T40.4 months are all suppressed: it has rows but no coverage."""
    cov = etl.coverage(f"{NCHS}.synthetic_opioids_monthly").set_index("geo")
    assert "US-SD" not in cov.index and len(cov) == 51  # 50 states with a value + the US sum
    assert cov.loc["US", "first"] == pd.Timestamp("2018-01-01") and cov.loc["US", "last"] == pd.Timestamp("2023-12-01")
    assert cov.loc["US-TX", "release"].endswith("/Multiple_Cause_of_Death_2018_2023_Single_Race_MANUAL_DOWNLOAD.csv")
    national = etl.coverage(f"{NCHS}.all_drugs").set_index("geo")
    assert national.loc["US", "release"] == "2025-10-25/Overdose_data_1999-2021_1.19.23.xlsx"
    assert national.loc["US-AZ", "release"] == "2025-10-25/dod_by_state.csv"
    assert national.loc["US-AZ", "last"] == pd.Timestamp("2020-01-01") and national.loc["US", "last"] == pd.Timestamp("2021-01-01")


def test_ratio_within_one_release(built):
    share = etl.ratio(f"{NCHS}.synthetic_opioids", f"{NCHS}.all_drugs", geo="US")
    assert list(share.columns) == ["geo", "date", "numerator", "denominator", "value", "flag", "release"]
    row = share[share["date"] == pd.Timestamp("2021-01-01")].iloc[0]
    assert (row["numerator"], row["denominator"]) == (70_601, 106_699)  # both NIDA's workbook
    assert round(row["value"], 4) == 0.6617 and row["flag"] is None
    assert share["date"].dt.year.tolist() == list(range(1999, 2022))


def test_ratio_refuses_to_mix_releases(built):
    # WONDER's T40.4 by state of residence over the re-keyed state table: two publications
    with pytest.raises(ValueError, match=r"different releases \(US-TX: 2025-10-25/Multiple_Cause.*vs 2025-10-25/dod_by_state.csv"):
        etl.ratio(f"{NCHS}.synthetic_opioids_monthly", f"{NCHS}.all_drugs", geo="US-TX")
    with pytest.raises(ValueError, match="different releases"):
        etl.ratio(f"{NCHS}.methadone", f"{NCHS}.all_drugs", geo="US")  # re-keyed table vs workbook


def test_renamed_population_ids_still_load(built):
    old = etl.load("population.us_total", geo="US-AZ", start="2019-01-01", end="2020-01-01")
    new = etl.load("population.us_resident", geo="US-AZ", start="2019-01-01", end="2020-01-01")
    assert old["value"].tolist() == new["value"].tolist() == [7_067_695, 7_187_135]
    assert set(old["series_id"]) == {"population.us_total"} and set(new["series_id"]) == {"population.us_resident"}
    mx = etl.load("population.mx_total", geo="MX", start="2020-01-01", end="2020-01-01")
    assert mx["value"].tolist() == [128_209_170] and mx["flag"].tolist() == ["projected"]
    assert etl.coverage("population.us_total")["series_id"].unique().tolist() == ["population.us_total"]


def test_damaged_table_reads_as_not_built(built):
    """A truncated table gives the "not built yet" error readers handle, not a pyarrow crash."""
    path = paths.tidy_path("inegi_homicide")
    good = path.read_bytes()
    try:
        path.write_bytes(good[: len(good) // 3])
        with pytest.raises(FileNotFoundError, match=r"unreadable.*run `python -m etl run --offline`"):
            etl.load(INEGI, geo="MX")
    finally:
        path.write_bytes(good)
    assert len(etl.load(INEGI, geo="MX")) == 23 * 12
