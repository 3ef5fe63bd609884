"""dea_nflis: headline facts from the real seed (the DQS export), half-year dates, groups, fetcher.

The committed fixture fixtures/dea_nflis_DQS_excerpt.csv is NOT invented: it is the header and the
199 lines of the seed export whose base is 'Fentanyl' in 2017 SA1 or 2025 SA2, byte for byte.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.schema import normalize

SID = "dea_nflis"
FIXTURE = Path(__file__).parent / "fixtures" / "dea_nflis_DQS_excerpt.csv"
HEADER = ("LABTYPE,RPTAGGR,YYYY,PERIOD,DRUG_REPORTS,QUERY_RUN_DATE,SUBSTANCE_ID,SUBSTANCE_DESCRIPTION,"
          "BASE_ID,BASE_DESCRIPTION,DRUG_CATEGORY_CODE,DRUG_CATEGORY_DESCRIPTION,STATE,STATE_LONG_NAME,STATE_FIPS")
GROUPS = ["fentanyl", "fluorofentanyl", "acetyl_fentanyl", "carfentanil", "anpp", "other_fentanyl_related"]


def module():
    return etl.registry.get_source(SID).module


def yearly(df: pd.DataFrame) -> pd.Series:
    return df.groupby(["series_id", "geo", df["date"].dt.year])["value"].sum()


def value(df: pd.DataFrame, series: str, geo: str, date: str) -> float:
    return df.set_index(["series_id", "geo", "date"])["value"].loc[(f"{SID}.{series}", geo, pd.Timestamp(date))]


def snapshot_of(tmp_path: Path, content: bytes, name: str = "NFLIS_Drug_DQS.csv") -> etl.snapshot.Snapshot:
    (tmp_path / name).write_bytes(content)
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": name, "url": "http://test/" + name}]})


# PROVENANCE.md's table: sums over all states (and territories), both halves.
@pytest.mark.parametrize("year, all_reports, fentanyl", [
    (2017, 82_238, 59_215), (2018, 105_835, 86_614), (2019, 131_404, 104_267),
    (2020, 143_465, 123_344), (2021, 206_797, 162_336), (2022, 225_807, 173_250),
    (2023, 223_635, 178_862), (2024, 190_367, 155_020), (2025, 136_404, 117_251),
])
def test_national_totals_match_provenance(table, year, all_reports, fentanyl):
    y = yearly(table)
    assert y.loc[(f"{SID}.reports_all_fentanyl_related", "US", year)] == all_reports
    assert y.loc[(f"{SID}.reports_fentanyl", "US", year)] == fentanyl


@pytest.mark.parametrize("series, geo, date, expected", [
    ("reports_fentanyl", "US", "2021-01-01", 83_879),          # Jan-Jun 2021, the whole country
    ("reports_fentanyl", "US", "2023-01-01", 95_173),          # the peak half-year
    # FENTANYL 4,514 + FENTANYL SALT UNDETERMINED 258 + FENTANYL HYDROCHLORIDE 1 (Jul-Dec 2019)
    ("reports_fentanyl", "US-PA", "2019-07-01", 4_773),
    ("reports_fentanyl", "US-AZ", "2023-01-01", 9_441),
    ("reports_carfentanil", "US-OH", "2017-01-01", 2_182),    # Ohio's 2017 carfentanil wave
    ("reports_all_fentanyl_related", "US-OH", "2021-07-01", 15_024),
])
def test_headline_cells(table, series, geo, date, expected):
    assert value(table, series, geo, date) == expected


def test_half_year_dates(table):
    assert set(zip(table["date"].dt.month, table["date"].dt.day)) == {(1, 1), (7, 1)}
    assert table["date"].min() == pd.Timestamp("2017-01-01")
    assert table["date"].max() == pd.Timestamp("2025-07-01")  # 2025 SA2 (JUL - DEC)
    assert table.groupby(["series_id", "geo"]).size().eq(18).all()  # 9 years x 2 halves, zeros filled


def test_shape_and_geographies(table):
    assert table["series_id"].nunique() == 7
    assert set(table["unit"]) == {"reports"}
    geos = set(table["geo"])
    assert len(geos) == 53 and {"US", "US-DC", "US-PR"} <= geos  # 50 states + DC + PR + US
    assert not {"US-GU", "US-VI"} & geos


def test_us_counts_territories_and_unknown_state(table):
    """US is the sum of every row; Guam (3), USVI (18) and state XX (3) are in US only."""
    states = table[table["geo"] != "US"].groupby(["series_id", "date"])["value"].sum()
    national = table[table["geo"] == "US"].set_index(["series_id", "date"])["value"]
    gap = (national - states).groupby(level="series_id").sum()
    assert gap[f"{SID}.reports_all_fentanyl_related"] == 24
    assert (gap >= 0).all()


def test_groups_add_up_to_the_category(table):
    wide = table.pivot_table(index=["geo", "date"], columns="series_id", values="value")
    parts = wide[[f"{SID}.reports_{g}" for g in GROUPS]].sum(axis=1)
    pd.testing.assert_series_equal(parts, wide[f"{SID}.reports_all_fentanyl_related"], check_names=False)


def test_recent_half_years_are_provisional(table):
    """Query run 2026-03-03: half-years ending within 24 months of it (2024, 2025) are provisional."""
    flagged = table.groupby(table["date"].dt.year)["flag"].agg(lambda f: set(f.dropna()))
    assert all(flagged[y] == {"provisional"} for y in (2024, 2025))
    assert all(flagged[y] == set() for y in range(2017, 2024))
    assert table.loc[table["flag"] == "provisional", "value"].notna().all()


def test_committed_fixture_is_an_excerpt_of_the_seed(seed_snapshot):
    entry = seed_snapshot.files[0]
    assert entry["stored_as"] == "xz" and entry["size"] == 2_164_937
    seed = lzma.decompress(seed_snapshot.path(entry["name"]).read_bytes()).decode().splitlines(keepends=True)
    lines = FIXTURE.read_text().splitlines(keepends=True)
    assert lines[0] == seed[0] and lines[0].strip() == HEADER
    wanted = [ln for ln in seed[1:] if ('"2017","SA1 (JAN - JUN)"' in ln or '"2025","SA2 (JUL - DEC)"' in ln)
              and '","Fentanyl","33","' in ln]
    assert lines[1:] == wanted and len(wanted) == 199


def test_excerpt_gives_the_seed_values(tmp_path, table):
    out = normalize(module().transform(snapshot_of(tmp_path, FIXTURE.read_bytes())))
    assert sorted(out["date"].unique()) == [pd.Timestamp("2017-01-01"), pd.Timestamp("2025-07-01")]  # no gap filled
    fent = out[out["series_id"] == f"{SID}.reports_fentanyl"].set_index(["geo", "date"])["value"].sort_index()
    same = table[(table["series_id"] == f"{SID}.reports_fentanyl") & table["date"].isin(out["date"].unique())
                 & table["geo"].isin(fent.index.get_level_values("geo"))]
    pd.testing.assert_series_equal(fent, same.set_index(["geo", "date"])["value"].sort_index(), check_names=False)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("BASE_DESCRIPTION", "BASE", 1), "missing column"),
    (lambda t: t.replace('"DrugReport  "', '"DrugExhibit"', 1), "RPTAGGR"),
    (lambda t: t.replace('"Local/Municipal,State,Federal,Private"', '"Federal"', 1), "LABTYPE"),
    (lambda t: t.replace('"33","Fentanyl and Fentanyl-related"', '"34","Other"', 1), "DRUG_CATEGORY_CODE"),
    (lambda t: t.replace('"SA1 (JAN - JUN)"', '"2017"', 1), "PERIOD"),
    (lambda t: t.replace('","PA","Pennsylvania"', '","ZZ","Nowhere"', 1), "unknown code"),
    (lambda t: t.replace('"2017","SA1 (JAN - JUN)","', '"2017","SA1 (JAN - JUN)","n/a', 1), "DRUG_REPORTS"),
    (lambda t: t.split("\n", 1)[0] + "\n", "no data rows"),
    (lambda t: "", "unreadable or empty"),
])
def test_other_queries_and_layout_changes_raise(tmp_path, mutate, message):
    text = mutate(FIXTURE.read_text())
    with pytest.raises(ParseError, match=message):
        module().transform(snapshot_of(tmp_path, text.encode()))


def test_fetch_builds_from_a_dqs_export(data_dir, local_server, monkeypatch):
    url = local_server.route("/dqs/export.csv", body=FIXTURE.read_bytes(), etag='"q1"')
    monkeypatch.setattr(module(), "DOWNLOAD_URL", url)
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    snap = etl.snapshot.latest_snapshot(SID)
    assert snap.name != "2026-03-03" and snap.files[0]["etag"] == '"q1"' and snap.files[0]["url"] == url
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert value(df, "reports_fentanyl", "US-VT", "2017-01-01") == 146
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error


def test_login_page_instead_of_export_keeps_the_seed(data_dir, local_server, monkeypatch):
    url = local_server.route("/", body=b"<!DOCTYPE html><html><body>Log in to the DQS</body></html>")
    monkeypatch.setattr(module(), "DOWNLOAD_URL", url)
    [result] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert result.status == "fallback" and result.snapshot == "2026-03-03"
    assert "source dea_nflis" in result.error and "HTML" in result.error
