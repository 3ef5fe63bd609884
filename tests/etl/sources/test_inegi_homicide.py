"""inegi_homicide: headline facts from the real seed, layout quirks, and the fetcher."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest

import etl.pipeline
import etl.registry
import etl.snapshot
from etl.errors import ParseError

SID = "inegi_homicide"
FILE = "mexico-state-month-homicide-rates-2000-2022.csv"
REPO = Path(__file__).resolve().parents[3]




def national(df: pd.DataFrame) -> pd.Series:
    mx = df[df["geo"] == "MX"]
    return mx.groupby(mx["date"].dt.year)["value"].sum()


@pytest.mark.parametrize("year, expected", [
    (2020, 35_787), (2008, 14_229), (2007, 8_837), (2010, 26_046), (2018, 34_426), (2022, 31_048),
])
def test_headline_national_totals(table, year, expected):
    assert national(table)[year] == expected


def test_shape(table):
    assert table["date"].min() == pd.Timestamp("2000-01-01")
    assert table["date"].max() == pd.Timestamp("2022-12-01")
    assert table["geo"].nunique() == 33 and len(table) == 33 * 23 * 12
    assert set(table["unit"]) == {"deaths"} and table["flag"].isna().all()


def test_national_is_sum_of_states(table):
    states = table[table["geo"] != "MX"].groupby("date")["value"].sum()
    mx = table[table["geo"] == "MX"].set_index("date")["value"]
    pd.testing.assert_series_equal(mx.sort_index(), states.sort_index(), check_names=False)


def test_cve_ent_keeps_leading_zero(table):
    # cve_ent "01" is Aguascalientes: 1 death in Mar 2000, 2 in Apr 2000 (PROVENANCE.md).
    ags = table[table["geo"] == "MX-AGU"].set_index("date")["value"]
    assert ags[pd.Timestamp("2000-03-01")] == 1 and ags[pd.Timestamp("2000-04-01")] == 2


def _snapshot_with(tmp_path: Path, seed: etl.snapshot.Snapshot, text: str) -> etl.snapshot.Snapshot:
    (tmp_path / FILE).write_text(text, encoding="utf-8")
    return etl.snapshot.Snapshot(SID, tmp_path, seed.manifest)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("|", ","), "missing column"),  # no longer pipe-delimited
    (lambda t: t.replace("homicides|", "deaths|", 1), "missing column.*homicides"),
    (lambda t: t.replace("\n01|2000|3|1|", "\n01|2000|3|x|", 1), "non-numeric homicides"),
    (lambda t: t.replace("\n01|2000|3|", "\n33|2000|3|", 1), "unknown cve_ent"),
    (lambda t: "", "empty file"),
])
def test_layout_changes_raise_parse_error(tmp_path, seed_snapshot, mutate, message):
    text = mutate(seed_snapshot.path(FILE).read_text(encoding="utf-8"))
    with pytest.raises(ParseError, match=message):
        etl.registry.get_source(SID).module.transform(_snapshot_with(tmp_path, seed_snapshot, text))


def test_fetch_conditional_get(tmp_path, monkeypatch, seed_snapshot):
    root = tmp_path / "data"
    shutil.copytree(REPO / "data" / "reference", root / "reference")
    shutil.copytree(REPO / "data" / "raw" / SID, root / "raw" / SID)
    monkeypatch.setenv("XBORDER_DATA_DIR", str(root))
    # A real excerpt: the published file's first 2 years + 2022 (first_date and 32 states kept).
    lines = seed_snapshot.path(FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    body = "".join([lines[0]] + [ln for ln in lines[1:] if ln.split("|")[1] in {"2000", "2001", "2022"}]).encode()
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("If-None-Match")))
            if self.headers.get("If-None-Match") == '"abc"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"abc"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(etl.registry.get_source(SID).module, "BASE_URL", f"http://127.0.0.1:{server.server_port}")
        [first] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
        assert first.status == "ok", first.error
        df = pd.read_parquet(root / "tidy" / f"{SID}.parquet")
        assert sorted(df["date"].dt.year.unique()) == [2000, 2001, 2022]
        assert national(df)[2022] == 31_048
        [second] = etl.pipeline.run([SID], offline=False, progress=lambda _: None)
        assert second.status == "not_modified", second.error
        assert seen == [(f"/{FILE}", None), (f"/{FILE}", '"abc"')]
    finally:
        server.shutdown()


def test_series_is_monthly_though_the_table_is_republished_yearly(table):
    """The data are monthly (12 dates a year in every geography); the source's cadence is how
    often the publisher republishes the table (a year at a time), which the stale badge uses."""
    source = etl.registry.get_source(SID)
    [series] = source.meta.series
    assert series.frequency == "monthly" and source.meta.cadence == "annual"
    per_year = table.groupby(["geo", table["date"].dt.year]).size()
    assert (per_year == 12).all()
    assert set(table["date"].dt.month) == set(range(1, 13)) and (table["date"].dt.day == 1).all()
