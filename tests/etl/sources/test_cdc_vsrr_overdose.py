"""cdc_vsrr_overdose: headline numbers from the seed snapshots, layout quirks, SODA paging fetch."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from etl import paths, pipeline, registry, snapshot
from etl.errors import ParseError
from etl.sources import cdc_vsrr_overdose as vsrr

SID = "cdc_vsrr_overdose"
FIXTURE = Path(__file__).parent / "fixtures" / "cdc_vsrr_overdose_soda_excerpt.json"

OFFICIAL = "State,Year,Month,Period,Indicator,Data Value,Percent Complete,Percent Pending Investigation,State Name,Footnote,Footnote Symbol,Predicted Value\n"
LEGACY = "\ufeffState,State Name,Year,Month,Period,Indicator,Data Value,Percent Complete,Percent Pending Investigation,Footnote\n"
SODA_CSV = "state,year,month,period,indicator,percent_complete,percent_pending_investigation,state_name,footnote,footnote_symbol,data_value,predicted_value\n"


def value(df: pd.DataFrame, series: str, geo: str, date: str) -> tuple[float, str | None]:
    row = df[(df.series_id == f"{SID}.{series}") & (df.geo == geo) & (df.date == date)]
    assert len(row) == 1, (series, geo, date)
    return row.value.iloc[0], row.flag.iloc[0]



@pytest.mark.parametrize(
    "series, geo, date, expected, flag",
    [
        ("all_drugs", "US", "2020-12-01", 92478, None),
        ("all_drugs_predicted", "US", "2020-12-01", 93655, "predicted"),
        ("synthetic_opioids", "US", "2020-12-01", 56894, None),
        ("heroin", "US", "2021-12-01", 9263, None),
        ("all_drugs", "US-AZ", "2020-12-01", 2644, None),
        ("all_drugs", "US-TX", "2020-12-01", 4154, None),
        ("all_drugs", "US", "2024-12-01", 80856, None),  # drug-class file (early 2026) only
        # That file has no completeness columns; the mid-2026 T40.4 file marks US from Jan 2025.
        ("all_drugs", "US", "2025-08-01", 70133, "provisional"),
        ("heroin", "US", "2025-01-01", 2746, "provisional"),
        ("synthetic_opioids", "US", "2026-01-01", 36825, "provisional"),  # footnote "Underreported"
    ],
)
def test_headline_values(table, series, geo, date, expected, flag):
    assert value(table, series, geo, date) == (expected, flag)


def test_newest_snapshot_shape(table):
    assert table.series_id.nunique() == 16
    assert {"US", "US-NYC", "US-NY", "US-PR"} <= set(table.geo)
    assert (table[table.series_id.str.endswith("_predicted")].flag.isin(["predicted", "suppressed"])).all()


def test_newer_vintage_wins_on_overlap(table):
    # accurate_provisional.csv (2024-05) says 105,384 for Nov 2023; the 2026 drug-class file revises it.
    assert value(table, "all_drugs", "US", "2023-11-01") == (108529, None)


@pytest.mark.parametrize("snap_name, shared_month", [("2017-12-16", "2016-12-01"), ("2019-04-24", "2017-12-01")])
def test_older_vintages_build(table, snap_name, shared_month):
    snap = snapshot.read_snapshot(SID, paths.raw_dir(SID) / snap_name)
    old = pipeline.build_table(registry.get_source(SID), snap)
    v_old, _ = value(old, "all_drugs", "US", shared_month)
    v_new, _ = value(table, "all_drugs", "US", shared_month)
    assert v_old > 0 and v_new > 0
    assert old.geo.nunique() == 53


def make_snapshot(tmp_path: Path, name: str, text: str) -> snapshot.Snapshot:
    (tmp_path / name).write_text(text, encoding="utf-8")
    entry = {"name": name, "url": "https://data.cdc.gov/test", "vintage": "2020-01"}
    return snapshot.Snapshot(SID, tmp_path, {"files": [entry]})


@pytest.mark.parametrize(
    "name, text, series, geo, date, expected, flag",
    [
        ("pct.csv", OFFICIAL + "AZ,2018,January,12 month-ending,Number of Drug Overdose Deaths,1566,99.5+,0.247,Arizona,,,1614\n",
         "all_drugs", "US-AZ", "2018-01-01", 1566, "provisional"),
        ("thousands.csv", LEGACY + 'US,United States,2015,January,12 month-ending,Number of Drug Overdose Deaths,"47,523",100,0.143178356,\n',
         "all_drugs", "US", "2015-01-01", 47523, None),
        ("legacy99.csv", LEGACY + 'MI,Michigan,2017,April,12 month-ending,Number of Drug Overdose Deaths,"2,095",99+,0.85,\n',
         "all_drugs", "US-MI", "2017-04-01", 2095, "provisional"),
        ("suppressed.csv", SODA_CSV + 'AL,2020,December,12 month-ending,"Synthetic opioids, excl. methadone (T40.4)",100,0.21,Alabama,Numbers may differ from published reports using final data. See Technical Notes. Data not shown due to low data quality.,**,,\n',
         "synthetic_opioids", "US-AL", "2020-12-01", None, "suppressed"),
        ("nyc.csv", SODA_CSV + 'YC,2020,December,12 month-ending,"Synthetic opioids, excl. methadone (T40.4)",100,0.08,New York City,Numbers may differ from published reports using final data. See Technical Notes.,**,1626,1627\n',
         "synthetic_opioids_predicted", "US-NYC", "2020-12-01", 1627, "predicted"),
        ("under.csv", SODA_CSV + 'US,2026,January,12 month-ending,"Synthetic opioids, excl. methadone (T40.4)",100,0.25,United States,Underreported due to incomplete data.,*,36825,37488\n',
         "synthetic_opioids", "US", "2026-01-01", 36825, "provisional"),
    ],
)
def test_quirks(tmp_path, name, text, series, geo, date, expected, flag):
    v, f = value(vsrr.transform(make_snapshot(tmp_path, name, text)), series, geo, date)
    assert f == flag
    assert (pd.isna(v) if expected is None else v == expected)


UNMARKED = "State,Year,Month,Period,Indicator,Data Value,Predicted Value\n"


@pytest.mark.parametrize("marked_vintage, flagged", [("2026-06", True), ("2025-06", False)])
def test_copy_without_completeness_columns_takes_the_marked_files_provisional_months(
        tmp_path, marked_vintage, flagged):
    """Synthetic known answer: an unmarked copy (vintage 2026-01) beside a file that marks Jan 2025 underreported.

    A newer (or equal) release that still calls a month incomplete means it was incomplete in the
    older copy too; an older release says nothing about a newer copy.
    """
    (tmp_path / "classes.csv").write_text(
        UNMARKED + "US,2024,December,12 month-ending,Heroin (T40.1),2795,2830\n"
        "US,2025,January,12 month-ending,Heroin (T40.1),2746,2777\n", encoding="utf-8")
    (tmp_path / "t404.csv").write_text(
        SODA_CSV + 'US,2025,January,12 month-ending,"Synthetic opioids, excl. methadone (T40.4)",100,0.13,'
        "United States,Underreported due to incomplete data.,*,47030,47227\n", encoding="utf-8")
    files = [{"name": "classes.csv", "url": "https://data.cdc.gov/test", "vintage": "2026-01"},
             {"name": "t404.csv", "url": "https://data.cdc.gov/test", "vintage": marked_vintage}]
    df = vsrr.transform(snapshot.Snapshot(SID, tmp_path, {"files": files}))
    assert value(df, "heroin", "US", "2024-12-01") == (2795, None)
    assert value(df, "heroin", "US", "2025-01-01") == (2746, "provisional" if flagged else None)
    assert value(df, "heroin_predicted", "US", "2025-01-01") == (2777, "predicted")


def test_added_publisher_column_is_ignored(tmp_path):
    text = OFFICIAL.replace("\n", ",Race\n") + "AZ,2018,January,12 month-ending,Number of Drug Overdose Deaths,1566,100,0,Arizona,,,1614,All\n"
    df = vsrr.transform(make_snapshot(tmp_path, "extra.csv", text))
    assert value(df, "all_drugs", "US-AZ", "2018-01-01")[0] == 1566


def test_dropped_indicators(tmp_path):
    text = LEGACY + 'AK,Alaska,2015,January,12 month-ending,Number of Deaths,"4,034",100,0,\n'
    text += 'AK,Alaska,2015,January,12 month-ending,Number of Drug Overdose Deaths,126,100,0,\n'
    df = vsrr.transform(make_snapshot(tmp_path, "drop.csv", text))
    assert list(df.series_id) == [f"{SID}.all_drugs"]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("renamed.csv", OFFICIAL.replace("Data Value", "Deaths") + "AZ,2018,January,12 month-ending,Number of Drug Overdose Deaths,1566,100,0,Arizona,,,1614\n",
         "missing column(s) ['data_value']"),
        ("text.csv", OFFICIAL + "AZ,2018,January,12 month-ending,Number of Drug Overdose Deaths,n/a,100,0,Arizona,,,1614\n",
         "non-numeric data_value"),
        ("empty.csv", "", "empty file"),
        ("renamed_indicator.csv", OFFICIAL + "AZ,2018,January,12 month-ending,Drug Overdose Deaths,1566,100,0,Arizona,,,1614\n",
         "no 12-month-ending rows of a known indicator; found ['Drug Overdose Deaths']"),
        ("notlist.json", '{"error": "query failed"}', "not a JSON list"),
        ("nokeys.json", '[{"state": "US", "year": "2020", "data_value": "1"}]', "lacks key(s) ['indicator', 'month']"),
        ("geo.csv", OFFICIAL + "ZZ,2018,January,12 month-ending,Number of Drug Overdose Deaths,1,100,0,Nowhere,,,1\n",
         "unknown state code(s) ['ZZ']"),
    ],
)
def test_unknown_layout_is_parse_error(tmp_path, name, text, message):
    with pytest.raises(ParseError) as err:
        vsrr.transform(make_snapshot(tmp_path, name, text))
    assert message in str(err.value) and name in str(err.value)


class SodaHandler(BaseHTTPRequestHandler):
    rows: list[dict] = []
    queries: list[dict] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        type(self).queries.append(query)
        start, limit = int(query["$offset"]), int(query["$limit"])
        body = json.dumps(self.rows[start:start + limit]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def soda_server():
    SodaHandler.rows, SodaHandler.queries = json.loads(FIXTURE.read_text(encoding="utf-8")), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), SodaHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/resource/xkb8-kh2a.json"
    server.shutdown()
    server.server_close()



def test_fetch_pages_through_soda_api(soda_server, data_dir, monkeypatch):
    monkeypatch.setattr(vsrr, "BASE_URL", soda_server)
    monkeypatch.setattr(vsrr, "PAGE_SIZE", 30)
    [result] = pipeline.run([SID], offline=False, progress=lambda msg: None)
    assert result.status == "ok", result.error
    assert [q["$offset"] for q in SodaHandler.queries] == ["0", "30"]
    assert all(q["$limit"] == "30" and q["$order"] == ":id" and q["$where"] == "period='12 month-ending'"
               for q in SodaHandler.queries)
    snap = snapshot.latest_snapshot(SID)
    assert snap.name == result.snapshot and [f["name"] for f in snap.files] == ["xkb8-kh2a.json"]
    rows = json.loads(snap.path("xkb8-kh2a.json").read_bytes())
    assert rows == SodaHandler.rows
    assert snap.file("xkb8-kh2a.json")["md5"] == hashlib.md5(snap.path("xkb8-kh2a.json").read_bytes()).hexdigest()
    df = pd.read_parquet(paths.tidy_path(SID))
    assert value(df, "synthetic_opioids", "US", "2020-12-01")[0] == 56894
    assert value(df, "synthetic_opioids", "US-NYC", "2020-12-01")[0] == 1626
    assert value(df, "synthetic_opioids_predicted", "US", "2020-12-01") == (57265, "predicted")
    v, flag = value(df, "synthetic_opioids", "US-AL", "2020-12-01")
    assert pd.isna(v) and flag == "suppressed"


def test_api_failure_falls_back_to_the_full_csv_download(data_dir, monkeypatch):
    """The full CSV is the documented alternative to the SODA API. When the API answers 500, the
    server here serves a real full download (CDC's 2019 release, official CSV layout)."""
    from etl.http import Http

    body = (paths.REPO_ROOT / "data" / "raw" / SID / "2019-04-24" /
            "VSRR_Provisional_Drug_Overdose_Death_Counts_2019_vintage.csv").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            api = self.path.startswith("/resource/")
            self.send_response(500 if api else 200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", "0" if api else str(len(body)))
            self.end_headers()
            if not api:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    messages = []
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setattr(vsrr, "BASE_URL", f"{base}/resource/xkb8-kh2a.json")
        monkeypatch.setattr(vsrr, "CSV_URL", f"{base}/api/views/xkb8-kh2a/rows.csv")
        [result] = pipeline.run([SID], offline=False, http=Http(retries=0, timeout=10), progress=messages.append)
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == "ok", result.error
    assert any("API failed (HTTP 500" in m and "full CSV" in m for m in messages)
    snap = snapshot.latest_snapshot(SID)
    assert [f["name"] for f in snap.files] == [vsrr.CSV_NAME]
    assert snap.files[0]["url"].endswith("/api/views/xkb8-kh2a/rows.csv")
    table = pipeline.build_table(registry.get_source(SID), snap)
    assert value(table, "all_drugs", "US", "2018-09-01")[0] == 67152  # that release's value
