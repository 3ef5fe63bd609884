"""cbp_seizures: headline facts from the seed snapshot, the publisher's quirks, and the fetcher."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl import paths
from etl.errors import FetchError, ParseError
from etl.http import Http
from etl.sources import cbp_seizures

SID = "cbp_seizures"
APR, DEC = "nationwide-drugs-fy23-fy26-apr.csv", "nationwide-drugs-fy23-fy26-dec.csv"
FY20_23, FY19_22 = "nationwide-drugs-fy20-fy23.csv", "nationwide-drugs-fy19-fy22.csv"


# ---------------------------------------------------------------- helpers and fixtures

def seed_bytes(name: str) -> bytes:
    return etl.snapshot.latest_snapshot(SID).path(name).read_bytes()


def excerpt(name: str = APR, *needles: str, limit: int = 40) -> bytes:
    """Header + the first `limit` real rows of a seed file containing all `needles` (LF)."""
    header, *rows = seed_bytes(name).decode().splitlines()
    picked = [r for r in rows if all(n in r for n in needles)][:limit]
    return ("\n".join([header, *picked]) + "\n").encode()


def snapshot_of(tmp_path, files: dict[str, bytes]) -> etl.snapshot.Snapshot:
    d = tmp_path / "snap"
    d.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, content in files.items():
        (d / name).write_bytes(content)
        entries.append({"name": name, "url": f"https://example.test/{name}", "md5": hashlib.md5(content).hexdigest()})
    return etl.snapshot.Snapshot(SID, d, {"source_id": SID, "files": entries})


def total(df: pd.DataFrame, series: str, geo: str, start: str, end: str) -> float:
    sel = df[(df.series_id == f"{SID}.{series}") & (df.geo == geo) & df.date.between(start, end)]
    return float(sel.value.sum())



# ---------------------------------------------------------------- headline facts

@pytest.mark.parametrize(
    "geo, start, end, expected",
    [
        ("US", "2022-10-01", "2023-09-01", 27_023),  # FY2023
        ("CBP-SWB", "2022-10-01", "2023-09-01", 26_718),
        ("US", "2023-10-01", "2024-09-01", 21_889),  # FY2024
        ("US", "2020-10-01", "2021-09-01", 11_201),  # FY2021: in two releases, counted once
        ("US", "2018-10-01", "2019-09-01", 2_804),  # FY2019: only in the oldest release
        ("CBP-SWB", "2025-10-01", "2026-04-01", 6_262),  # FY2026 to date
    ],
)
def test_fentanyl_lbs_headlines(table, geo, start, end, expected):
    assert round(total(table, "fentanyl_lbs", geo, start, end)) == expected


def test_shape(table):
    assert table.series_id.nunique() == 36
    assert table.date.min() == pd.Timestamp("2018-10-01") and table.date.max() == pd.Timestamp("2026-04-01")
    assert {"US", "CBP-SWB", "CBP-NB", "CBP-CI", "CBP-FO-SAN-DIEGO", "CBP-SEC-TUCSON"} <= set(table.geo)
    assert table.value.notna().all()


# ---------------------------------------------------------------- quirks

def test_fytd_flag_on_every_fy2026_row(table):
    fy2026 = table.date >= "2025-10-01"
    assert (table.loc[fy2026, "flag"] == "fytd").all()
    assert table.loc[~fy2026, "flag"].isna().all()


@pytest.mark.parametrize(
    "fy, month, expected",
    [("2023", "OCT", "2022-10-01"), ("2023", "DEC", "2022-12-01"), ("2023", "JAN", "2023-01-01"),
     ("2023", "SEP", "2023-09-01"), ("2026 (FYTD)", "NOV", "2025-11-01")],
)
def test_fiscal_months_map_to_calendar(fy, month, expected):
    header = ",".join(cbp_seizures.COLUMNS)
    row = f"{fy},{month},U.S. Border Patrol,Southwest Border,Land Only,YUMA SECTOR,Fentanyl,2,1.5"
    parsed = cbp_seizures._parse(f"{header}\r\n{row}\r\n".encode(), "x.csv", None)
    assert parsed.loc[0, "date"] == pd.Timestamp(expected)
    assert parsed.loc[0, "fytd"] == fy.endswith("(FYTD)")


def test_newest_release_wins_for_the_current_year(table):
    def raw_sum(name):
        raw = pd.read_csv(io.BytesIO(seed_bytes(name)), dtype={"FY": str})
        sel = raw[(raw.FY == "2026 (FYTD)") & raw["Month (abbv)"].isin(["OCT", "NOV", "DEC"]) & (raw["Drug Type"] == "Fentanyl")]
        return sel["Sum Qty (lbs)"].sum()

    got = total(table, "fentanyl_lbs", "US", "2025-10-01", "2025-12-01")
    assert got == pytest.approx(raw_sum(APR))
    assert got != pytest.approx(raw_sum(DEC))  # the -dec release was revised


@pytest.mark.parametrize("order", [(APR, DEC), (DEC, APR)])
def test_recency_beats_manifest_order(tmp_path, order):
    files = {n: excerpt(n, "2026 (FYTD)", ",Fentanyl,", limit=10_000) for n in order}
    got = cbp_seizures.transform(snapshot_of(tmp_path / "both", files))
    only_apr = cbp_seizures.transform(snapshot_of(tmp_path / "apr", {APR: files[APR]}))
    pd.testing.assert_frame_equal(got, only_apr)


def test_tie_goes_to_first_file_in_manifest(tmp_path):
    a = excerpt(APR, "2025,", "Fentanyl")
    b = a.replace(b",Fentanyl,", b",Heroin,")
    got = cbp_seizures.transform(snapshot_of(tmp_path, {"b.csv": b, "a.csv": a}))
    assert set(got.series_id.str.split(".").str[1].str.split("_").str[0]) == {"heroin"}


def test_missing_months_are_zero_and_lines_continuous(table):
    months = pd.date_range("2018-10-01", "2026-04-01", freq="MS")
    assert (table.groupby(["series_id", "geo"]).size() == len(months)).all()
    houlton = table[(table.series_id == f"{SID}.fentanyl_lbs") & (table.geo == "CBP-SEC-HOULTON")]
    assert len(houlton) == len(months) and (houlton.value == 0).any()


def test_components_only_where_they_operate(table):
    ofo_geos = set(table.loc[table.series_id.str.endswith("_ofo"), "geo"])
    usbp_geos = set(table.loc[table.series_id.str.endswith("_usbp"), "geo"])
    assert not any(g.startswith("CBP-SEC-") for g in ofo_geos)
    assert not any(g.startswith("CBP-FO-") for g in usbp_geos)
    parts = table[table.geo == "US"].pivot_table(index="date", columns="series_id", values="value")
    both = parts[f"{SID}.cocaine_lbs_ofo"] + parts[f"{SID}.cocaine_lbs_usbp"]
    pd.testing.assert_series_equal(parts[f"{SID}.cocaine_lbs"], both, check_names=False)


def test_crlf_and_lf_parse_the_same(tmp_path):
    lf = excerpt(FY19_22, "Fentanyl")
    crlf = lf.replace(b"\n", b"\r\n")
    a = cbp_seizures.transform(snapshot_of(tmp_path, {"a.csv": lf}))
    b = cbp_seizures.transform(snapshot_of(tmp_path, {"a.csv": crlf}))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "old, new, message",
    [
        (b"Sum Qty (lbs)", b"Quantity (lbs)", r"unexpected header; expected .*Sum Qty \(lbs\).* found .*Quantity \(lbs\)"),
        (b",Land Filter", b"", r"unexpected header.*found \['FY', 'Month \(abbv\)', 'Component', 'Region', 'Area"),
        (b",Fentanyl,2,", b",Fentanyl,2,12 lbs", r"bad\.csv: non-numeric 'Sum Qty \(lbs\)' value '12 lbs[0-9.]*' in data row \d+ \(line \d+\)"),
        (b",Fentanyl,", b",Xylazine,", r"unknown 'Drug Type' value 'Xylazine'"),
        (b"YUMA SECTOR", b"ATLANTIS SECTOR", r"unknown 'Area of Responsibility' value 'ATLANTIS SECTOR'"),
        (b"2022,", b"FY22,", r"unknown 'FY' value 'FY22'"),
    ],
)
def test_layout_changes_raise_parse_error(tmp_path, old, new, message):
    good = excerpt(FY19_22, "2022,", "YUMA SECTOR", "Fentanyl,2,")
    assert old in good
    with pytest.raises(ParseError, match=message):
        cbp_seizures.transform(snapshot_of(tmp_path, {"bad.csv": good.replace(old, new)}))


@pytest.mark.parametrize("content", [b"", b"\r\n", ",".join(cbp_seizures.COLUMNS).encode() + b"\r\n"])
def test_empty_file_raises_parse_error(tmp_path, content):
    with pytest.raises(ParseError, match=r"empty\.csv: (empty file|no data rows)"):
        cbp_seizures.transform(snapshot_of(tmp_path, {"empty.csv": content}))


# ---------------------------------------------------------------- fetcher

class Server:
    """127.0.0.1 server: path -> body; answers 304 when If-None-Match equals the body's ETag."""

    def __init__(self, routes: dict[str, bytes]):
        self.routes, self.hits = routes, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.hits.append(self.path)
                body = owner.routes.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if self.path.endswith("seizures") else "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


PAGE_PATH = "/document/stats/nationwide-drug-seizures"
NEW_NAME = "nationwide-drugs-fy23-fy26-may.csv"


def page(href: str) -> bytes:
    return (f'<!DOCTYPE html><html><body><a href="/sites/default/files/2026-05/amo-drug-seizures-fy23-fy26-may.csv">AMO</a>'
            f'<a href="{href}">Nationwide Drug Seizures FY23-FY26 (CSV)</a></body></html>').encode()



@pytest.mark.parametrize(
    "href, csv_path",
    [(f"/sites/default/files/2026-05/{NEW_NAME}", f"/sites/default/files/2026-05/{NEW_NAME}"),
     (f"../../sites/default/files/2026-05/{NEW_NAME}", f"/sites/default/files/2026-05/{NEW_NAME}")],
)
def test_fetch_runs_pipeline_against_local_server(data_dir, monkeypatch, href, csv_path):
    csv = excerpt(APR, "Southwest Border", ",Fentanyl,", limit=10_000)  # small real excerpt, FY2023-FY2026
    oldest = seed_bytes(FY19_22)
    server = Server({PAGE_PATH: page(href), csv_path: csv})
    monkeypatch.setattr(cbp_seizures, "DISCOVERY_URL", server.base + PAGE_PATH)
    try:
        [result] = etl.pipeline.run([SID], offline=False, http=Http(retries=0, timeout=5))
        assert result.status == "ok", result.error
        snap = etl.snapshot.latest_snapshot(SID)
        # the new release first; older releases kept only while they still supply a fiscal year
        assert [f["name"] for f in snap.files] == [NEW_NAME, FY20_23, FY19_22]
        assert snap.files[0]["url"] == server.base + csv_path and snap.files[0]["etag"]
        assert snap.path(FY19_22).read_bytes() == oldest  # carried over byte for byte
        df = pd.read_parquet(paths.tidy_path(SID))
        assert round(total(df, "fentanyl_lbs", "CBP-SWB", "2025-10-01", "2026-04-01")) == 6_262
        assert round(total(df, "fentanyl_lbs", "US", "2020-10-01", "2021-09-01")) == 11_201
        # second run: conditional GET with the stored ETag -> 304 -> not modified
        [again] = etl.pipeline.run([SID], offline=False, http=Http(retries=0, timeout=5))
        assert again.status == "not_modified", again.error
        assert json.loads((data_dir / "catalog.json").read_text())["sources"][SID]["snapshot"] == snap.name
    finally:
        server.close()


def test_fetch_without_link_raises_fetch_error_naming_the_page(monkeypatch):
    server = Server({PAGE_PATH: b"<!DOCTYPE html><html><body><a href='/other.csv'>x</a></body></html>"})
    url = server.base + PAGE_PATH
    monkeypatch.setattr(cbp_seizures, "DISCOVERY_URL", url)
    ctx = etl.pipeline.FetchContext(http=Http(retries=0, timeout=5), source_id=SID, previous=None)
    try:
        with pytest.raises(FetchError, match=r"no nationwide-drugs.*link") as info:
            cbp_seizures.fetch(ctx)
        assert info.value.url == url
    finally:
        server.close()
