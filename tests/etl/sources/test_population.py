"""population: headline denominators from the real seed, the 2019->2020 seam, each file's quirks,
and the fetcher."""

from __future__ import annotations

import http.server
import io
import threading
from pathlib import Path

import pandas as pd
import pytest

import etl.errors
import etl.http
import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError

SID = "population"
REPO = Path(__file__).resolve().parents[3]
INTERCENSAL = "st-est00int-01.csv"
INTERCENSAL_2010 = "nst-est2020int-pop.xlsx"
V2024, CONAPO = "NST-EST2024-ALLDATA.csv", "conapo_pob_ent_gender_1950_2070.csv"
US, MX = "us_resident", "mx_mid_year"




def value(df: pd.DataFrame, series: str, geo: str, year: int) -> pd.Series:
    at = pd.Timestamp(f"{year}-01-01")
    row = df[(df["series_id"] == f"{SID}.{series}") & (df["geo"] == geo) & (df["date"] == at)]
    assert len(row) == 1, (series, geo, year)
    return row.iloc[0]


@pytest.mark.parametrize("series, geo, year, expected, flag", [
    (US, "US", 2008, 304_093_966, None),  # 2000-2010 intercensal (name-matched file)
    (US, "US-AZ", 2008, 6_280_362, None),
    (US, "US-CA", 2008, 36_604_337, None),
    (US, "US", 2000, 282_162_411, None),
    (US, "US", 2010, 309_378_227, None),  # 2010-2020 intercensal, July 1 2010
    (US, "US", 2019, 330_226_227, None),  # ... July 1 2019 (Vintage 2019 said 328,239,523)
    (US, "US-AZ", 2019, 7_067_695, None),
    (US, "US-CA", 2019, 39_547_995, None),
    (US, "US-NM", 2019, 2_110_180, None),
    (US, "US-TX", 2019, 28_856_455, None),
    (US, "US-PR", 2019, 3_302_691, None),
    (US, "US", 2020, 331_577_720, None),  # Vintage 2024 POPESTIMATE2020
    (US, "US", 2024, 340_110_988, None),
    (MX, "MX", 2008, 111_275_915, None),
    (MX, "MX", 2020, 128_209_170, "projected"),
    (MX, "MX", 2024, 132_274_416, "projected"),
])
def test_headline_facts(table, series, geo, year, expected, flag):
    row = value(table, series, geo, year)
    assert row["value"] == expected and row["flag"] == flag


def _by_year(table: pd.DataFrame, geo: str) -> pd.Series:
    rows = table[(table["series_id"] == f"{SID}.{US}") & (table["geo"] == geo)]
    return pd.Series(rows["value"].to_numpy(), index=rows["date"].dt.year.to_numpy())


@pytest.mark.parametrize("geo, step_2019_2020, step_2018_2019", [
    # PROVENANCE.md: intercensal July 2019 -> Vintage 2024 July 2020 (the old V2019 splice: US +1.02%,
    # New Jersey +4.40%, DC -4.94%)
    ("US", 0.41, 0.52), ("US-NJ", 0.14, 0.43), ("US-DC", -2.39, 0.27), ("US-TX", 1.33, 1.22),
    ("US-AZ", 1.69, 1.48), ("US-CA", -0.07, 0.03), ("US-NM", 0.40, 0.33),
])
def test_2019_to_2020_step_is_growth_not_a_change_of_series(table, geo, step_2019_2020, step_2018_2019):
    pop = _by_year(table, geo)
    assert round((pop[2020] / pop[2019] - 1) * 100, 2) == step_2019_2020
    assert round((pop[2019] / pop[2018] - 1) * 100, 2) == step_2018_2019


def test_us_step_was_a_splice_artefact_before(table):
    """The Vintage 2019 value the old splice used: +1.02% into 2020 against +0.41% now."""
    us = _by_year(table, "US")
    v2019_july_2019 = 328_239_523  # nst-est2019-alldata.csv POPESTIMATE2019 (PROVENANCE.md)
    assert round((us[2020] / v2019_july_2019 - 1) * 100, 2) == 1.02
    assert us[2019] - v2019_july_2019 == 1_986_704


def test_shape(table):
    us = table[table["series_id"] == f"{SID}.{US}"]
    mx = table[table["series_id"] == f"{SID}.{MX}"]
    assert sorted(us["date"].dt.year.unique()) == list(range(2000, 2025))
    assert sorted(mx["date"].dt.year.unique()) == list(range(1990, 2031))
    assert us["geo"].nunique() == 53 and len(us) == 53 * 25  # US + 50 states + DC + PR, every year
    assert mx["geo"].nunique() == 33 and len(mx) == 33 * 41
    assert set(table["unit"]) == {"persons"} and (table["date"].dt.month == 1).all()


def test_projected_flag_only_from_2020(table):
    mx = table[table["series_id"] == f"{SID}.{MX}"]
    assert (mx["flag"] == "projected").eq(mx["date"].dt.year >= 2020).all()
    assert table.loc[table["series_id"] == f"{SID}.{US}", "flag"].isna().all()


@pytest.mark.parametrize("year", [2005, 2015, 2019, 2022])
def test_us_total_is_states_plus_dc_without_puerto_rico(table, year):
    us = table[(table["series_id"] == f"{SID}.{US}") & (table["date"].dt.year == year)].set_index("geo")["value"]
    assert us.drop(["US", "US-PR"]).sum() == us["US"]


def test_old_series_ids_are_answered(table):
    module = etl.registry.get_source(SID).module
    assert module.RENAMED_SERIES == {f"{SID}.us_total": f"{SID}.{US}", f"{SID}.mx_total": f"{SID}.{MX}"}
    declared = {s.id for s in etl.registry.get_source(SID).meta.series}
    assert declared == {f"{SID}.{US}", f"{SID}.{MX}"}


def test_conapo_is_stored_compressed_with_the_publishers_digests(seed_snapshot):
    entry = seed_snapshot.file(CONAPO)
    assert entry["stored_as"] == "xz" and seed_snapshot.path(CONAPO).suffix == ".xz"
    assert len(seed_snapshot.read_bytes(CONAPO)) == entry["size"] == 416_673
    assert entry["sha256"] == "2f355558f4032ec7949a49ce6afa9bdbdca152f7ded77bf88ed0a73003c6ee3f"
    assert seed_snapshot.file(INTERCENSAL_2010)["sha256"] == "0b828e111e32c9233434fc872f3cf450119515babb7794e9ff0370bf017e0d3d"
    assert set(seed_snapshot.md5s) == {INTERCENSAL, INTERCENSAL_2010, V2024, CONAPO}  # Vintage 2019 no longer kept


def _copy(tmp_path: Path, seed: etl.snapshot.Snapshot) -> etl.snapshot.Snapshot:
    """The seed's files, uncompressed, in tmp_path (a manifest without stored_as: they get edited)."""
    for f in seed.files:
        (tmp_path / f["name"]).write_bytes(seed.read_bytes(f["name"]))
    files = [{"name": f["name"], "url": f["url"], "md5": f["md5"]} for f in seed.files]
    return etl.snapshot.Snapshot(SID, tmp_path, {"source_id": SID, "files": files})


# States whose rows get Census's leading dot back (a sample is enough to exercise the stripping).
STATE_NAMES = {"Alabama", "Arizona", "California", "Texas", "New Mexico", "Wyoming", "District of Columbia"}


def _official_intercensal(text: str) -> str:
    """The Census original, before the third-party trim: title rows, dotted state names, notes."""
    lines = text.splitlines(keepends=True)
    body = [("." + ln if ln.split(",")[0] in STATE_NAMES else ln) for ln in lines[1:]]
    return ("table with row headers in column A and column headers in rows 3 through 4.,,,,,,,,,,,,,\n"
            + lines[0] + "".join(body) + "\nNote: The estimates are based on the 2000 Census.,,,,,,,,,,,,,\n")


def test_official_intercensal_layout_parses_the_same(tmp_path, seed_snapshot, table):
    snap = _copy(tmp_path, seed_snapshot)
    path = snap.path(INTERCENSAL)
    path.write_text(_official_intercensal(path.read_text()))
    got = etl.registry.get_source(SID).module.transform(snap)
    assert got["value"].sum() == table["value"].sum() and len(got) == len(table)


@pytest.mark.parametrize("file, mutate, message", [
    (INTERCENSAL, lambda t: t.replace("\nArizona,", "\nArizona Territory,"), r"unmatched area name.*Arizona Territory"),
    (INTERCENSAL, lambda t: t.replace(",2001,2002,", ",2002,2003,", 1), "2001 … 2009"),
    (INTERCENSAL, lambda t: t.replace('"6,280,362"', '"n/a"'), "non-numeric population"),
    (INTERCENSAL, lambda t: t.replace('\nWyoming,"493,786","494,300"', '\nWyoming,"493,786","n/a"'), r"no data row for \['US-WY'\]"),
    (V2024, lambda t: "", "missing or empty file"),
    (V2024, lambda t: t.replace("POPESTIMATE2022", "POPEST2022"), r"missing column.*POPESTIMATE2022"),
    (V2024, lambda t: t.replace("\n40,4,8,4,", "\n40,4,8,99,"), r"unknown STATE code.*99"),
    (CONAPO, lambda t: t.replace("pob_mid_year", "pob_mitad"), "missing column.*pob_mid_year"),
    (CONAPO, lambda t: t.replace(",00,Total,", ",99,Total,"), "unknown cve_ent"),
])
def test_layout_changes_raise_parse_error(tmp_path, seed_snapshot, file, mutate, message):
    snap = _copy(tmp_path, seed_snapshot)
    text = snap.path(file).read_text(encoding="utf-8")
    changed = mutate(text)
    assert changed != text or not changed
    snap.path(file).write_text(changed, encoding="utf-8")
    with pytest.raises(ParseError, match=message):
        etl.registry.get_source(SID).module.transform(snap)


def _edit_workbook(snap, edit) -> None:
    """Rewrite the 2010-2020 intercensal workbook with one cell-level change (its real content)."""
    raw = pd.read_excel(io.BytesIO(snap.read_bytes(INTERCENSAL_2010)), header=None, dtype=object)
    edited = edit(raw)  # a changed copy, or None when edited in place
    raw = raw if edited is None else edited
    raw.to_excel(snap.path(INTERCENSAL_2010), header=False, index=False)


def _row(raw: pd.DataFrame, name: str) -> int:
    return int(raw.index[raw[0].astype(str) == name][0])


def _rename(raw, old, new):
    raw.loc[_row(raw, old), 0] = new


def _set(raw, name, col, value):
    raw.loc[_row(raw, name), col] = value


@pytest.mark.parametrize("edit, message", [
    (lambda r: _rename(r, ".Arizona", ".Arizona Territory"), r"unmatched area name.*Arizona Territory"),
    (lambda r: r.__setitem__(3, r[3].replace(2011, 2012)), r"July 1 2010 … 2019"),
    (lambda r: _rename(r, "Geographic Area", "Area"), r"'Geographic Area' header"),
    (lambda r: r.drop(index=_row(r, ".Wyoming")), r"no data row for \['US-WY'\]"),
    (lambda r: _set(r, ".Texas", 5, "n/a"), r"nst-est2020int-pop.xlsx: non-numeric population"),
    (lambda r: _rename(r, ".Nevada", ".Texas"), r"more than one row for \['US-TX'\]"),
])
def test_workbook_layout_changes_raise_parse_error(tmp_path, seed_snapshot, edit, message):
    snap = _copy(tmp_path, seed_snapshot)
    _edit_workbook(snap, edit)
    with pytest.raises(ParseError, match=message):
        etl.registry.get_source(SID).module.transform(snap)


def test_workbook_that_is_not_xlsx_is_a_parse_error(tmp_path, seed_snapshot):
    snap = _copy(tmp_path, seed_snapshot)
    snap.path(INTERCENSAL_2010).write_bytes(b"<html>moved</html>")
    with pytest.raises(ParseError, match=r"nst-est2020int-pop.xlsx: cannot read the workbook"):
        etl.registry.get_source(SID).module.transform(snap)


@pytest.fixture
def census_server(seed_snapshot):
    """Serves the real Census files at their official paths under BASE_URL."""
    module = etl.registry.get_source(SID).module
    bodies = {f"/{path}": seed_snapshot.read_bytes(name) for name, path in module.CENSUS_FILES.items()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = bodies.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()



def test_fetch_downloads_census_and_carries_conapo_over(data_dir, census_server, seed_snapshot, monkeypatch):
    module = etl.registry.get_source(SID).module
    monkeypatch.setattr(module, "BASE_URL", census_server)
    ctx = etl.pipeline.FetchContext(http=etl.http.Http(retries=0), source_id=SID, previous=seed_snapshot,
                                    progress=lambda _: None)
    files = {f.name: f for f in module.fetch(ctx)}
    assert set(files) == set(seed_snapshot.md5s)
    assert files[CONAPO].content == seed_snapshot.read_bytes(CONAPO)  # the publisher's bytes, not the .xz
    assert files[V2024].url == f"{census_server}/{module.CENSUS_FILES[V2024]}"
    [result] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert result.status == "ok", result.error
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert value(df, US, "US", 2020)["value"] == 331_577_720 and value(df, US, "US", 2019)["value"] == 330_226_227


def test_fetch_without_previous_conapo_fails_clearly(census_server, monkeypatch):
    module = etl.registry.get_source(SID).module
    monkeypatch.setattr(module, "BASE_URL", census_server)
    ctx = etl.pipeline.FetchContext(http=etl.http.Http(retries=0), source_id=SID, previous=None,
                                    progress=lambda _: None)
    with pytest.raises(etl.errors.FetchError, match="CONAPO publishes only xlsx"):
        module.fetch(ctx)
