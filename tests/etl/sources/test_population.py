"""population: headline denominators from the real seed, each file's quirks, and the fetcher."""

from __future__ import annotations

import http.server
import shutil
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
V2019, V2024, CONAPO = "nst-est2019-alldata.csv", "NST-EST2024-ALLDATA.csv", "conapo_pob_ent_gender_1950_2070.csv"




def value(df: pd.DataFrame, series: str, geo: str, year: int) -> pd.Series:
    at = pd.Timestamp(f"{year}-01-01")
    row = df[(df["series_id"] == f"{SID}.{series}") & (df["geo"] == geo) & (df["date"] == at)]
    assert len(row) == 1, (series, geo, year)
    return row.iloc[0]


@pytest.mark.parametrize("series, geo, year, expected, flag", [
    ("us_total", "US", 2008, 304_093_966, None),  # intercensal (name-matched file)
    ("us_total", "US-AZ", 2008, 6_280_362, None),
    ("us_total", "US-CA", 2008, 36_604_337, None),
    ("us_total", "US", 2000, 282_162_411, None),
    ("us_total", "US", 2010, 309_321_666, None),  # Vintage 2019 POPESTIMATE2010
    ("us_total", "US", 2020, 331_577_720, None),  # Vintage 2024 POPESTIMATE2020
    ("us_total", "US", 2024, 340_110_988, None),
    ("mx_total", "MX", 2008, 111_275_915, None),
    ("mx_total", "MX", 2020, 128_209_170, "projected"),
    ("mx_total", "MX", 2024, 132_274_416, "projected"),
])
def test_headline_facts(table, series, geo, year, expected, flag):
    row = value(table, series, geo, year)
    assert row["value"] == expected and row["flag"] == flag


def test_shape(table):
    us = table[table["series_id"] == f"{SID}.us_total"]
    mx = table[table["series_id"] == f"{SID}.mx_total"]
    assert sorted(us["date"].dt.year.unique()) == list(range(2000, 2025))
    assert sorted(mx["date"].dt.year.unique()) == list(range(1990, 2031))
    assert us["geo"].nunique() == 53 and len(us) == 53 * 25  # US + 50 states + DC + PR, every year
    assert mx["geo"].nunique() == 33 and len(mx) == 33 * 41
    assert set(table["unit"]) == {"persons"} and (table["date"].dt.month == 1).all()


def test_projected_flag_only_from_2020(table):
    mx = table[table["series_id"] == f"{SID}.mx_total"]
    assert (mx["flag"] == "projected").eq(mx["date"].dt.year >= 2020).all()
    assert table.loc[table["series_id"] == f"{SID}.us_total", "flag"].isna().all()


@pytest.mark.parametrize("year", [2005, 2015, 2022])
def test_us_total_is_states_plus_dc_without_puerto_rico(table, year):
    us = table[(table["series_id"] == f"{SID}.us_total") & (table["date"].dt.year == year)].set_index("geo")["value"]
    assert us.drop(["US", "US-PR"]).sum() == us["US"]


def _copy(tmp_path: Path, seed: etl.snapshot.Snapshot) -> etl.snapshot.Snapshot:
    for f in seed.files:
        shutil.copyfile(seed.path(f["name"]), tmp_path / f["name"])
    return etl.snapshot.Snapshot(SID, tmp_path, seed.manifest)


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
    (V2019, lambda t: "", "missing or empty file"),
    (V2024, lambda t: t.replace("POPESTIMATE2022", "POPEST2022"), r"missing column.*POPESTIMATE2022"),
    (V2019, lambda t: t.replace("\n040,4,8,04,", "\n040,4,8,99,"), r"unknown STATE code.*99"),
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


@pytest.fixture
def census_server(seed_snapshot):
    """Serves the real Census files at their official paths under BASE_URL."""
    module = etl.registry.get_source(SID).module
    bodies = {f"/{path}": seed_snapshot.path(name).read_bytes() for name, path in module.CENSUS_FILES.items()}

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
    assert files[CONAPO].content == seed_snapshot.path(CONAPO).read_bytes()
    assert files[V2024].url == f"{census_server}/{module.CENSUS_FILES[V2024]}"
    [result] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
    assert result.status == "ok", result.error
    df = pd.read_parquet(data_dir / "tidy" / f"{SID}.parquet")
    assert value(df, "us_total", "US", 2020)["value"] == 331_577_720


def test_fetch_without_previous_conapo_fails_clearly(census_server, monkeypatch):
    module = etl.registry.get_source(SID).module
    monkeypatch.setattr(module, "BASE_URL", census_server)
    ctx = etl.pipeline.FetchContext(http=etl.http.Http(retries=0), source_id=SID, previous=None,
                                    progress=lambda _: None)
    with pytest.raises(etl.errors.FetchError, match="CONAPO publishes only xlsx"):
        module.fetch(ctx)
