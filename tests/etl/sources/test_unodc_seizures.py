"""unodc_seizures: PROVENANCE's headline figures, duplicates summed, gaps kept, countries, fetcher.

fixtures/unodc_seizures_excerpt.json is NOT invented: it is the seed's records for Mexico and the
United States of the seven drugs shown plus the 'MDMA and Ecstasy-like Drugs' group (which holds a
UNODC aggregate row), unchanged. The fetch tests put those real records into a workbook laid out
the way the code expects UNODC's (title rows above the header); that layout and the dataUNODC
page linking it are SYNTHETIC, made to test the fetcher.
"""

from __future__ import annotations

import io
import json
import lzma
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError
from etl.reference import geo_table
from etl.schema import normalize

SID = "unodc_seizures"
FIXTURE = Path(__file__).parent / "fixtures" / "unodc_seizures_excerpt.json"
TOML = Path(__file__).resolve().parents[3] / "etl" / "sources" / f"{SID}.toml"


def module():
    return etl.registry.get_source(SID).module


def cell(df: pd.DataFrame, drug: str, geo: str, year: int) -> float:
    return df.set_index(["series_id", "geo", "date"])["value"].loc[(f"{SID}.{drug}_kg", geo, pd.Timestamp(year, 1, 1))]


def has(df: pd.DataFrame, drug: str, geo: str, year: int) -> bool:
    return ((df["series_id"] == f"{SID}.{drug}_kg") & (df["geo"] == geo) & (df["date"] == pd.Timestamp(year, 1, 1))).any()


def snapshot_of(tmp_path: Path, name: str, content: bytes) -> etl.snapshot.Snapshot:
    (tmp_path / name).write_bytes(content)
    return etl.snapshot.Snapshot(SID, tmp_path, {"files": [{"name": name, "url": "http://test/" + name}]})


def workbook(records: list[dict]) -> bytes:
    """SYNTHETIC layout: two title rows, a blank row, then UNODC's header and the real records."""
    frame = pd.DataFrame(records)
    top = pd.DataFrame([["Drug seizures 2018-2022"], ["Source: UNODC, Annual Report Questionnaire"], [None]])
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        top.to_excel(xl, index=False, header=False, startrow=0)
        frame.to_excel(xl, index=False, startrow=3)
    return buf.getvalue()


# PROVENANCE.md "Headline values — Mexico, kilograms (sum over duplicate records)".
MEXICO = {
    "methamphetamine": [33_865, 32_027, 18_905, 41_337, 37_061],
    "cocaine_hydrochloride": [16_490, 12_430, 21_152, 15_001, 21_069],
    "fentanyl": [362, 213, 284, 1_284, 1_457],
    "heroin": [492, 409, 286, 282, 170],
    "cannabis_herb": [230_987, 218_557, 157_725, 91_336, 70_842],
}


@pytest.mark.parametrize("drug, year, expected",
                         [(d, 2018 + i, v) for d, vals in MEXICO.items() for i, v in enumerate(vals)])
def test_mexico_matches_provenance(table, drug, year, expected):
    assert round(cell(table, drug, "MX", year)) == expected


@pytest.mark.parametrize("year, expected", [(2020, 8_319), (2021, 12_228), (2022, 16_123)])
def test_united_states_fentanyl(table, year, expected):
    assert round(cell(table, "fentanyl", "US", year)) == expected


def test_duplicate_records_are_summed(table):
    # Mexico's methamphetamine 2018 is two records, 17,558 + 16,307; fentanyl 2021 three.
    assert cell(table, "methamphetamine", "MX", 2018) == 33_865
    assert cell(table, "fentanyl", "MX", 2021) == pytest.approx(20 + 921.68423 + 342.38285)
    assert not table.duplicated(["series_id", "geo", "date"]).any()


def test_unreported_years_stay_missing(table):
    """A year a government did not report is absent, never 0 (US cocaine: only 2020 and 2022)."""
    assert [y for y in range(2018, 2023) if has(table, "cocaine_hydrochloride", "US", y)] == [2020, 2022]
    assert table["value"].gt(0).all() and table["flag"].isna().all()


def test_units_only_reports_are_left_out(table):
    # Mexico's 2019 crack cocaine record is 0 kg (reported in units); 2021's is a real, tiny weight.
    assert not has(table, "crack_cocaine", "MX", 2019)
    assert 0 < cell(table, "crack_cocaine", "MX", 2021) < 1


def test_annual_dates_and_shape(table):
    assert set(zip(table["date"].dt.month, table["date"].dt.day)) == {(1, 1)}
    assert table["date"].min() == pd.Timestamp("2018-01-01") and table["date"].max() == pd.Timestamp("2022-01-01")
    assert set(table["unit"]) == {"kg"} and table["series_id"].nunique() == 7
    assert {"MX", "US"} <= set(table["geo"])


def test_caveat_counts_the_countries_left_out(seed_snapshot, table):
    """The caveat says how many of the file's countries geo.csv lacks; it must stay true."""
    caveats = tomllib.loads(TOML.read_text(encoding="utf-8"))["caveats"]
    shown, total, dropped = map(int, re.search(r"(\d+) of the file's (\d+) countries and territories.*?the other "
                                               r"(\d+)\b", caveats).groups())
    left_out = module().left_out(seed_snapshot)
    assert (shown, dropped) == (table["geo"].nunique(), len(left_out)), (
        f"{TOML.name} caveat says {shown} shown / {dropped} left out; geo.csv now gives "
        f"{table['geo'].nunique()} / {len(left_out)}: update the caveat")
    assert total == shown + dropped == 156


def test_caveat_counts_the_units_only_years_left_out(seed_snapshot, table):
    caveats = tomllib.loads(TOML.read_text(encoding="utf-8"))["caveats"]
    dropped, kept = (int(n.replace(",", "")) for n in
                     re.search(r"\(([\d,]+) of the ([\d,]+) country-drug-years", caveats).groups())
    assert kept - dropped == len(table), f"{TOML.name}: update the caveat's count of 0 kg country-drug-years"


def test_every_country_in_geo_csv_is_kept(seed_snapshot, table, monkeypatch):
    """SYNTHETIC geo rows for Hong Kong and Taiwan (real UNODC records): listed, they join the table."""
    assert not {"HK", "TW"} & set(table["geo"])
    before = len(module().left_out(seed_snapshot))
    extra = pd.DataFrame([{"geo": "HK", "kind": "country", "country": "HK", "name": "Hong Kong"},
                          {"geo": "TW", "kind": "country", "country": "TW", "name": "Taiwan"}])
    monkeypatch.setattr(module(), "geo_table", lambda: pd.concat([geo_table(), extra]).fillna(""))
    out = module().transform(seed_snapshot)
    assert {"HK", "TW", "MX", "US"} <= set(out["geo"])
    assert len(module().left_out(seed_snapshot)) == before - 2


def test_committed_fixture_is_an_excerpt_of_the_seed(seed_snapshot):
    entry = seed_snapshot.files[0]
    assert entry["stored_as"] == "xz" and entry["size"] == 3_277_460
    seed = json.loads(lzma.decompress(seed_snapshot.path(entry["name"]).read_bytes()))
    excerpt = json.loads(FIXTURE.read_text(encoding="utf-8"))
    shown = set(module().DRUGS)
    assert excerpt == [r for r in seed if r["msCode"] in ("MEX", "USA")
                       and (r["DrugName"] in shown or r["DrugGroup"] == "MDMA and Ecstasy-like Drugs")]


def test_workbook_layout_matches_the_json(tmp_path, table):
    records = json.loads(FIXTURE.read_text(encoding="utf-8"))
    out = normalize(module().transform(snapshot_of(tmp_path, "Drug_seizures_2018_2022.xlsx", workbook(records))))
    got = out.set_index(["series_id", "geo", "date"])["value"]
    want = table.set_index(["series_id", "geo", "date"])["value"].loc[got.index]
    pd.testing.assert_series_equal(got, want, check_names=False, rtol=1e-9)
    assert len(got) == len(table[table["geo"].isin(["MX", "US"])])


@pytest.mark.parametrize("mutate, message", [
    (lambda r: [{k: v for k, v in x.items() if k != "msCode"} for x in r], "missing UNODC column"),
    (lambda r: [{**x, "Kilograms": "n/a"} if i == 0 else x for i, x in enumerate(r)], "non-numeric"),
    (lambda r: [{**x, "Kilograms": -1} if i == 0 else x for i, x in enumerate(r)], "negative"),
    (lambda r: [{**x, "DrugName": "Something else"} for x in r], "none of the drugs"),
])
def test_layout_changes_raise_parse_error(tmp_path, mutate, message):
    records = mutate(json.loads(FIXTURE.read_text(encoding="utf-8")))
    with pytest.raises(ParseError, match=message):
        module().transform(snapshot_of(tmp_path, "seizures.json", json.dumps(records).encode()))


def test_workbook_without_header_row_raises(tmp_path):
    buf = io.BytesIO()
    pd.DataFrame({"Country": ["Mexico"], "Year": [2022]}).to_excel(buf, index=False)
    with pytest.raises(ParseError, match="no header row"):
        module().transform(snapshot_of(tmp_path, "Drug_seizures.xlsx", buf.getvalue()))


PAGE = b"""<!DOCTYPE html><html><body><h1>Drug seizures</h1>
<a href="/sites/default/files/Drug_seizures_2018_2022.xlsx">Download (xlsx)</a></body></html>"""


def test_fetch_follows_the_page_link_to_the_workbook(data_dir, local_server, monkeypatch):
    body = workbook(json.loads(FIXTURE.read_text(encoding="utf-8")))
    local_server.route("/sites/default/files/Drug_seizures_2018_2022.xlsx", body=body, etag='"w1"',
                       headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    monkeypatch.setattr(module(), "LANDING_URL", local_server.route("/dp-drug-seizures", body=PAGE,
                                                                    headers={"Content-Type": "text/html"}))
    [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert first.status == "ok", first.error
    snap = etl.snapshot.latest_snapshot(SID)
    assert snap.name != "2024-12-05" and snap.files[0]["name"] == "Drug_seizures_2018_2022.xlsx"
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert round(cell(df, "fentanyl", "MX", 2022)) == 1_457
    [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert second.status == "not_modified", second.error


def test_page_without_workbook_link_keeps_the_seed(data_dir, local_server, monkeypatch):
    url = local_server.route("/dp-drug-seizures", body=b"<!DOCTYPE html><html><body>No file</body></html>",
                             headers={"Content-Type": "text/html"})
    monkeypatch.setattr(module(), "LANDING_URL", url)
    [result] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert result.status == "fallback" and result.snapshot == "2024-12-05"
    assert "source unodc_seizures" in result.error and ".xlsx link" in result.error
