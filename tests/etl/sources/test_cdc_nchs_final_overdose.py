"""cdc_nchs_final_overdose: the publishers' headline numbers from the seed snapshot (NIDA's
workbook, the re-keyed Data Brief tables, the CDC WONDER export), suppression, layout changes,
and fetch refusing -> seed."""

from __future__ import annotations

import io
import json
import lzma
import shutil
from pathlib import Path

import pandas as pd
import pytest

from etl import paths, pipeline, registry, snapshot
from etl.errors import FetchError, ParseError
from etl.sources import cdc_nchs_final_overdose as nchs

SID = "cdc_nchs_final_overdose"
SEED = "2025-10-25"
MONTHLY = "synthetic_opioids_monthly"


def value(df: pd.DataFrame, series: str, geo: str, date) -> tuple[float, str | None]:
    date = f"{date}-01-01" if isinstance(date, int) else date
    row = df[(df.series_id == f"{SID}.{series}") & (df.geo == geo) & (df.date == date)]
    assert len(row) == 1, (series, geo, date)
    return row.value.iloc[0], row.flag.iloc[0]


@pytest.mark.parametrize(
    "series, geo, year, expected",
    [
        ("all_drugs", "US", 2021, 106_699),  # final, NCHS Data Brief 457 (the re-keyed table has provisional 107,521)
        ("all_drugs", "US", 2020, 91_799),
        ("all_drugs", "US", 2019, 70_630),
        ("all_drugs", "US", 1999, 16_849),
        ("all_drugs_rate", "US", 2021, 32.4),
        ("all_drugs_rate", "US", 2020, 28.3),
        ("synthetic_opioids", "US", 2021, 70_601),
        ("synthetic_opioids_rate", "US", 2021, 21.8),
        ("psychostimulants", "US", 2021, 32_537),
        ("psychostimulants_rate", "US", 2021, 10.0),
        ("cocaine", "US", 2021, 24_486),
        ("cocaine_rate", "US", 2021, 7.3),
        ("cocaine_rate", "US", 2020, 6.0),  # the re-keyed table's 6.9 is a typo
        ("heroin", "US", 2021, 9_173),
        ("heroin_rate", "US", 2021, 2.8),
        ("all_opioids", "US", 2021, 80_411),
        ("heroin", "US", 2001, 1_779),
        ("methadone", "US", 2021, 3_678),  # from the re-keyed table (not in the workbook)
        ("all_drugs", "US-AZ", 2020, 2_550),
        ("all_drugs_rate", "US-NM", 2020, 39.0),
        ("all_drugs", "US-TX", 2020, 4_172),
    ],
)
def test_headline_values(table, series, geo, year, expected):
    assert value(table, series, geo, year) == (expected, None)


def test_states_sum_to_us_total_2020(table):
    states = table[(table.series_id == f"{SID}.all_drugs") & (table.geo != "US") & (table.date == "2020-01-01")]
    assert len(states) == 51
    assert states.value.sum() == value(table, "all_drugs", "US", 2020)[0] == 91799


def test_shape(table):
    assert table.series_id.nunique() == 17
    annual = table[table.series_id != f"{SID}.{MONTHLY}"]
    assert annual[annual.geo == "US"].date.dt.year.agg(["min", "max"]).tolist() == [1999, 2021]
    assert annual.flag.isna().all(), "every annual value is final"
    rates = table[table.series_id.str.endswith("_rate")]
    assert (rates.unit == "per_100k_age_adjusted").all()
    # rates keep the published decimal, not the workbook's float residue (2.4000000000000004)
    assert (rates.value * 10).round(6).mod(1).eq(0).all()


# ---------------------------------------------------------------- CDC WONDER, T40.4 by state and month

@pytest.mark.parametrize("geo, year, expected", [
    ("US-TX", 2021, 1_858), ("US-TX", 2022, 2_452), ("US-TX", 2023, 2_613),
    ("US-AZ", 2021, 1_753), ("US-CA", 2022, 6_473), ("US-NM", 2023, 651),
])
def test_wonder_state_year_sums(table, geo, year, expected):
    """Border states, sums of monthly cells (PROVENANCE: AZ 1,753; CA 6,473; NM 651; TX 1,858 / 2,452 / 2,613)."""
    rows = table[(table.series_id == f"{SID}.{MONTHLY}") & (table.geo == geo) & (table.date.dt.year == year)]
    assert len(rows) == 12 and rows.flag.isna().all()
    assert rows.value.sum() == expected


def test_wonder_texas_december_2021(table):
    assert value(table, MONTHLY, "US-TX", "2021-12-01") == (162, None)


def test_wonder_suppressed_cells_are_missing_and_us_is_a_lower_bound(table):
    m = table[table.series_id == f"{SID}.{MONTHLY}"]
    states = m[m.geo != "US"]
    assert states.geo.nunique() == 51 and len(states) == 51 * 72  # every state-month, 2018-2023
    assert (states.value.isna() == (states.flag == "suppressed")).all()
    assert states.flag.isin(["suppressed"]).sum() == 51 * 72 - 3003  # the export's 3,003 cells are the rest
    sd = states[states.geo == "US-SD"]
    assert sd.value.isna().all() and (sd.flag == "suppressed").all()  # under 10 in every month
    us = m[m.geo == "US"].set_index("date")
    assert (us.flag == "lower_bound").all()
    assert us.value.equals(states.groupby("date").value.sum())
    # the national sums fall short of the published totals (2021: 70,601), as suppression explains
    assert us.groupby(us.index.year).value.sum().to_dict() == {
        2018: 30_612, 2019: 35_725, 2020: 56_083, 2021: 70_292, 2022: 73_518, 2023: 72_425}
    assert 0.004 < 1 - 70_292 / value(table, "synthetic_opioids", "US", 2021)[0] < 0.008


def test_release_of_names_the_file_each_series_comes_from():
    assert nchs.release_of(f"{SID}.all_drugs", "US") == nchs.NIDA_FILE
    assert nchs.release_of(f"{SID}.all_drugs", "US-TX") == nchs.STATE_FILE
    assert nchs.release_of(f"{SID}.methadone", "US") == nchs.NATIONAL_FILE
    assert nchs.release_of(f"{SID}.{MONTHLY}", "US-TX") == nchs.WONDER_FILE


def test_wonder_file_is_stored_compressed_with_the_publishers_digests(seed_snapshot):
    entry = seed_snapshot.file(nchs.WONDER_FILE)
    assert entry["stored_as"] == "xz" and seed_snapshot.path(nchs.WONDER_FILE).name == nchs.WONDER_FILE + ".xz"
    data = seed_snapshot.read_bytes(nchs.WONDER_FILE)
    assert len(data) == entry["size"] == 335_205
    assert entry["sha256"] == "725cc31c0ebfbf6b8051dcd926e691df8abbe691f8259944492a2e445d3bfde9"
    assert seed_snapshot.file(nchs.NIDA_FILE)["sha256"] == "1dc7da7fdb4a92bb7cdfb271e2b5a0fd5e7bde0134b727bdeca1bf3628c7305b"
    seed_snapshot.verify()


# ---------------------------------------------------------------- layout changes

def make_snapshot(tmp_path: Path, **texts: str) -> snapshot.Snapshot:
    """The seed's files in tmp_path, with the CSVs given in ``texts`` replaced (key: file stem)."""
    src = snapshot.latest_snapshot(SID)
    files = []
    for f in src.files:
        entry = {k: f[k] for k in ("name", "url")}
        key = Path(f["name"]).stem
        data = texts[key].encode("utf-8") if key in texts else src.read_bytes(f["name"])
        (tmp_path / f["name"]).write_bytes(data)
        files.append(entry)
    return snapshot.Snapshot(SID, tmp_path, {"source_id": SID, "files": files})


def seed_text(name: str) -> str:
    return snapshot.latest_snapshot(SID).read_bytes(name).decode("utf-8-sig")


def test_state_joined_by_fips_not_name(tmp_path):
    src = seed_text(nchs.STATE_FILE).splitlines()
    renamed = [src[0]] + [line.replace("Arizona,AZ", "Arizona (state),XX") for line in src[1:]]
    df = nchs.transform(make_snapshot(tmp_path, dod_by_state="\n".join(renamed) + "\n"))
    assert value(df, "all_drugs", "US-AZ", 2020)[0] == 2550


WONDER = Path(nchs.WONDER_FILE).stem


@pytest.mark.parametrize(
    "which, edit, message",
    [
        ("dod_by_time", lambda t: t.replace("num_methadone", "methadone"), "missing column(s) ['num_methadone']"),
        ("dod_by_time", lambda t: t.replace(",13165,4.1,13471,4,3543,", ",13165,4.1,n/a,4,3543,"),
         "non-numeric or blank value(s)"),
        ("dod_by_state", lambda t: t.replace("Arizona,AZ,4,", "Arizona,AZ,99,"), "unknown FIPS code(s) ['99']"),
        ("dod_by_state", lambda t: "", "empty file"),
        (WONDER, lambda t: t.replace(",Deaths,", ",Number,"), "missing column(s) ['Deaths']"),
        (WONDER, lambda t: t.replace(",T40.4,12,", ",T40.1,12,", 1), "expected only multiple cause T40.4"),
        (WONDER, lambda t: t.replace(",T40.4,12,", ",T40.4,Suppressed,", 1), "not readable"),
        (WONDER, lambda t: t.replace(",Alabama,01,", ",Alabama,99,", 1), "unknown State Code(s) ['99']"),
        (WONDER, lambda t: t + t.splitlines()[1] + "\r\n", "more than one row for a state and month"),
    ],
)
def test_layout_changes_are_parse_errors(tmp_path, which, edit, message):
    names = {Path(f["name"]).stem: f["name"] for f in snapshot.latest_snapshot(SID).files}
    text = edit(seed_text(names[which]))
    with pytest.raises(ParseError) as err:
        nchs.transform(make_snapshot(tmp_path, **{which: text}))
    assert message in str(err.value) and names[which] in str(err.value)


def test_workbook_without_its_total_row_is_a_parse_error(tmp_path):
    snap = make_snapshot(tmp_path)
    book = pd.read_excel(io.BytesIO(snap.read_bytes(nchs.NIDA_FILE)), sheet_name=None, header=None)
    book["Number Drug OD Deaths"] = book["Number Drug OD Deaths"].replace("  Total Overdose Deaths", "Total")
    with pd.ExcelWriter(snap.path(nchs.NIDA_FILE)) as xl:
        for name, df in book.items():
            df.to_excel(xl, sheet_name=name, header=False, index=False)
    with pytest.raises(ParseError, match=r"Number Drug OD Deaths.*no row labelled 'Total Overdose Deaths'"):
        nchs.transform(snap)


def test_damaged_compressed_seed_is_refused_by_the_pipeline(tmp_path):
    """A stored .xz whose content no longer matches snapshot.json's digests is not built."""
    seed = snapshot.latest_snapshot(SID)
    d = tmp_path / SEED
    shutil.copytree(seed.dir, d)
    data = seed.read_bytes(nchs.WONDER_FILE).replace(b",Texas,48,Other synthetic narcotics,T40.4,162,",
                                                     b",Texas,48,Other synthetic narcotics,T40.4,163,")
    (d / (nchs.WONDER_FILE + ".xz")).write_bytes(lzma.compress(data))
    with pytest.raises(ParseError, match=r"does not match snapshot.json \(md5, sha256: md5 .*changed or damaged"):
        pipeline.build_table(registry.get_source(SID), snapshot.read_snapshot(SID, d))


def test_fetch_raises_and_online_run_falls_back_to_seed(tmp_path, monkeypatch):
    with pytest.raises(FetchError, match="no machine-readable publisher endpoint"):
        nchs.fetch(None)
    root = tmp_path / "data"
    shutil.copytree(paths.data_dir() / "reference", root / "reference")
    shutil.copytree(paths.raw_dir(SID), root / "raw" / SID)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    [result] = pipeline.run([SID], offline=False, progress=lambda msg: None)
    assert result.status == "fallback"
    assert result.snapshot == SEED
    assert "no machine-readable publisher endpoint" in result.error and "wonder.cdc.gov" in result.error
    assert [d.name for d in (root / "raw" / SID).iterdir()] == [SEED]
    catalog = json.loads(paths.catalog_path().read_text())
    assert catalog["sources"][SID]["snapshot_origin"] == "seed"
    df = pd.read_parquet(paths.tidy_path(SID))
    assert value(df, "all_drugs", "US", 2021)[0] == 106_699
