"""Real headless Chromium (Playwright, /usr/bin/chromium) against the app served in-process.

Every test collects console errors and page errors and asserts there are none.
"""

from __future__ import annotations

import csv
import logging
import struct
import threading
import zlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
GRAPHS = ("fig-deaths", "fig-homicides", "fig-seizures")
HIGHLIGHT = "#d62728"
TIMEOUT_MS = 20_000

# JS helpers evaluated in the page. Plotly >= 6 encodes arrays in gd.data: read gd._fullData.
JS_GD = "id => document.querySelector('#' + id + ' .js-plotly-plot')"
JS_READY = f"""() => {{ const gd = {JS_GD};
    return {list(GRAPHS)}.every(id => {{ const g = gd(id);
        return g && g._fullData && g._fullData.some(t => t.name !== 'Policy milestones' && t.y && t.y.length); }}); }}"""
JS_SUMMARY = f"""id => {{ const g = ({JS_GD})(id);
    return {{
        title: g._fullLayout.title.text,
        ytitle: g._fullLayout.yaxis.title.text,
        xtype: g._fullLayout.xaxis.type,
        range: g._fullLayout.xaxis.range,
        shapes: g._fullLayout.shapes.map(s => ({{x0: String(s.x0), color: s.line.color}})),
        traces: g._fullData.map(t => ({{name: t.name, group: t.legendgroup, n: t.y ? t.y.length : 0,
                                        y: t.y ? Array.from(t.y) : [], x: t.x ? Array.from(t.x).map(String) : [],
                                        mode: t.mode, hover: t.hovertemplate || ''}})),
    }}; }}"""


@pytest.fixture(scope="session")
def server(dash_app):
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists(), "no /usr/bin/chromium: the README's test command installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield b
        b.close()


class Errors(list):
    def assert_none(self):
        assert list(self) == [], "console/page errors:\n" + "\n".join(self)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors = Errors()
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.errors = errors
    yield pg
    context.close()


def open_view(page, server, path="/"):
    page.goto(server + path)
    try:
        page.wait_for_function(JS_READY)
    except Exception as exc:  # say why the charts never came
        body = page.locator("body").inner_text()[:1500]
        raise AssertionError(f"charts never got data traces; errors={list(page.errors)}; page text:\n{body}") from exc
    return {g: summary(page, g) for g in GRAPHS}


def summary(page, graph):
    return page.evaluate(JS_SUMMARY, graph)


def data_traces(s):
    return [t for t in s["traces"] if t["name"] != "Policy milestones"]


def data_lines(s):
    """Distinct drawn series: a final and a dashed (provisional/fytd) segment are one line."""
    return {t["group"] for t in data_traces(s) if not t["name"].endswith("(raw)")}


def select_dropdown(page, dropdown_id, label):
    page.click(f"#{dropdown_id}")
    option = page.locator(".dash-dropdown-option").filter(has=page.get_by_text(label, exact=True))
    option.first.click()
    page.keyboard.press("Escape")


def test_load_three_graphs_with_data_and_milestones(page, server):
    from dashboard import store

    n_milestones = len(store.milestones())
    views = open_view(page, server)
    for graph, s in views.items():
        assert s["xtype"] == "date", graph
        assert any(t["n"] > 50 for t in data_traces(s)), (graph, [(t["name"], t["n"]) for t in s["traces"]])
        markers = [t for t in s["traces"] if t["name"] == "Policy milestones"]
        assert len(markers) == 1 and markers[0]["n"] == n_milestones, graph
        assert markers[0]["mode"] == "markers"
        assert len(s["shapes"]) == n_milestones
    assert "United States" in views["fig-deaths"]["title"]
    page.errors.assert_none()


def test_change_geography_and_transform_updates_chart_and_url(page, server):
    before = open_view(page, server)["fig-deaths"]
    select_dropdown(page, "us-geo", "Arizona")
    page.wait_for_function(f"() => ({JS_GD})('fig-deaths')._fullLayout.title.text.includes('Arizona')")
    page.locator("#transform label", has_text="Per 100k residents").click()
    page.wait_for_function(f"() => ({JS_GD})('fig-deaths')._fullLayout.yaxis.title.text.startsWith('per 100k')")
    page.wait_for_function("() => location.search.includes('us_geo=US-AZ') && location.search.includes('transform=per100k')")
    after = summary(page, "fig-deaths")
    assert "Arizona" in after["title"] and "United States" in before["title"]
    y_before = data_traces(before)[0]["y"]
    y_after = [v for v in data_traces(after)[0]["y"] if v is not None]
    assert max(y_before) > 10_000  # national 12-month counts
    assert y_after and max(y_after) < 200  # a state's rate per 100k
    assert "us_geo=US-AZ" in page.url and "transform=per100k" in page.url
    assert page.locator("#us-geo-value").inner_text().strip() == "Arizona"
    page.errors.assert_none()


def test_shared_url_reproduces_view(page, server):
    views = open_view(page, server, "/?us_geo=US-TX&transform=index&index_at=security-dialogue"
                                    "&seize=fentanyl,methamphetamine")
    assert page.locator("#us-geo-value").inner_text().strip() == "Texas"
    assert page.locator("#transform input[value=index]").is_checked()
    assert "High-Level Security Dialogue" in page.locator("#index-at").inner_text()
    seize_text = page.locator("#seize").inner_text()
    assert "Fentanyl" in seize_text and "Methamphetamine" in seize_text
    deaths, seizures = views["fig-deaths"], views["fig-seizures"]
    assert "Texas" in deaths["title"]
    # the base is the milestone's month (2021-10-08 -> the point dated 2021-10-01)
    assert deaths["ytitle"].startswith("index, Oct 2021 = 100")
    assert data_lines(seizures) == {"Fentanyl", "Methamphetamine"}
    for t in data_traces(seizures):
        assert t["n"] > 0
    # the address bar keeps the shared state
    for part in ("us_geo=US-TX", "transform=index", "index_at=security-dialogue", "seize=fentanyl%2Cmethamphetamine"):
        assert part in page.url
    page.errors.assert_none()


def test_malformed_url_shows_notices_and_default_view(page, server):
    views = open_view(page, server, "/?us_geo=XX&start=notadate&bogus=1")
    notices = page.locator("#url-notices").inner_text()
    for name in ("us_geo", "start", "bogus"):
        assert name in notices
    assert page.locator("#url-notices .notice.warning").count() == 3
    assert "United States" in views["fig-deaths"]["title"]
    assert views["fig-deaths"]["range"][0].startswith("2015-01-01")
    assert page.locator("#us-geo-value").inner_text().strip() == "United States"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in body
    page.errors.assert_none()


def test_download_csv_has_rows_with_provenance(page, server, tmp_path):
    open_view(page, server)
    with page.expect_download() as dl:
        page.click("#dl-csv")
    download = dl.value
    assert download.suggested_filename.startswith("xborder_US_MX_CBP-SWB_counts_")
    assert download.suggested_filename.endswith(".csv")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for col in ("series_id", "geo", "date", "value", "source_id", "snapshot_md5", "transform"):
        assert col in rows[0], col
    hit = [r for r in rows if r["series_id"] == "cdc_vsrr_overdose.all_drugs" and r["geo"] == "US"
           and r["date"] == "2020-12-01"]
    assert len(hit) == 1 and float(hit[0]["value"]) == 92478
    assert all(r["snapshot_md5"] and r["source_id"] for r in rows)
    assert {r["source_id"] for r in rows} == {"cdc_vsrr_overdose", "sesnsp_homicide", "inegi_homicide", "cbp_seizures"}
    page.errors.assert_none()


def test_zoom_sync_follows_across_panels(page, server):
    open_view(page, server)
    page.evaluate(f"() => Plotly.relayout(({JS_GD})('fig-deaths'), {{'xaxis.range': ['2019-01-01', '2021-06-01']}})")
    for graph in ("fig-homicides", "fig-seizures"):
        page.wait_for_function(
            f"() => String(({JS_GD})('{graph}')._fullLayout.xaxis.range[0]).startsWith('2019-01-01')")
        rng = summary(page, graph)["range"]
        assert rng[0].startswith("2019-01-01") and rng[1].startswith("2021-06-01"), (graph, rng)
    page.errors.assert_none()


def test_click_milestone_highlights_on_all_charts(page, server):
    views = open_view(page, server)
    assert not any(s["color"] == HIGHLIGHT for v in views.values() for s in v["shapes"])
    page.locator("#ms-list button", has_text="2021-10-08").click()
    for graph in GRAPHS:
        page.wait_for_function(
            f"() => ({JS_GD})('{graph}')._fullLayout.shapes.some(s => s.line.color === '{HIGHLIGHT}')")
        shapes = summary(page, graph)["shapes"]
        red = [s for s in shapes if s["color"] == HIGHLIGHT]
        assert len(red) == 1 and red[0]["x0"].startswith("2021-10-08"), (graph, red)
    page.wait_for_function("() => location.search.includes('hl=security-dialogue')")
    assert page.locator("#ms-list button.active").inner_text() == "2021-10-08"
    page.errors.assert_none()


def png_distinct_colours(data: bytes, max_rows: int | None = None) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB/RGBA PNG, decoded with zlib only (no PIL)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, bytearray(), None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    prev = bytearray(stride)
    colours = set()
    rows = height if max_rows is None else min(height, max_rows)
    for r in range(rows):
        ftype = raw[r * (stride + 1)]
        line = bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        colours.update(bytes(line[i:i + bpp]) for i in range(0, stride, bpp))
        prev = line
    return width, height, len(colours)


def test_full_page_screenshot_is_not_blank(page, server):
    open_view(page, server)
    page.wait_for_timeout(300)  # let Plotly finish drawing
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "timeline.png"
    png = page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    width, height, colours = png_distinct_colours(png)
    assert width == 1280 and height > 900
    assert colours > 200, colours  # a blank page has 1; text, lines and markers give hundreds
    page.errors.assert_none()


PLOTLY_SCRIPTS = "[...document.scripts].map(s => s.src.split('/').pop().split('?')[0]).filter(s => s.includes('plotly'))"


def test_maps_page_draws_both_choropleths_from_shipped_geojson(page, server):
    page.goto(server + "/maps?year=2021&mx_source=sesnsp")
    page.wait_for_function("document.querySelectorAll('#map-us .js-plotly-plot, #map-mx .js-plotly-plot').length === 2"
                           " && [...document.querySelectorAll('.js-plotly-plot')].every(g => g._fullData && "
                           "g._fullData.length && g._fullData[0].type === 'choroplethmap')")
    counts = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullData[0].locations.length)")
    assert counts[0] >= 50 and counts[1] == 32
    assert "2021" in page.locator("#map-us").inner_text()
    assert page.evaluate(PLOTLY_SCRIPTS) == ["plotly.min.js"]  # the full bundle: it has the map traces
    page.errors.assert_none()


def test_timeline_loads_only_the_basic_plotly_bundle(page, server):
    open_view(page, server)
    assert page.evaluate(PLOTLY_SCRIPTS) == ["plotly-basic-4.1.1.min.js"]
    page.errors.assert_none()


def test_revisions_page_draws_one_line_per_vintage_and_the_table(page, server):
    page.goto(server + "/revisions?series=all_drugs&geo=US")
    page.wait_for_function(f"""() => {{ const g = ({JS_GD})('rev-figure');
        return g && g._fullData && g._fullData.filter(t => t.name.startsWith('as of ') && t.y && t.y.length).length >= 2; }}""")
    traces = summary(page, "rev-figure")["traces"]
    vintages = {t["name"]: t["n"] for t in traces if t["name"].startswith("as of ")}
    assert len(vintages) >= 2 and all(n > 0 for n in vintages.values()), vintages
    assert {"as of 2019-04-24", "as of 2026-06-27"} <= set(vintages)
    page.wait_for_selector("#rev-results")
    table = page.locator("#rev-results").inner_text()
    assert "Sep 2018" in table and "67,152" in table and "68,421" in table
    assert "revised from 67,152 to 68,421 (+1.9%)" in page.locator("#rev-summary").inner_text()
    page.wait_for_function("() => location.search.includes('as_of=')")
    assert "series=all_drugs" in page.url and "geo=US" in page.url
    page.errors.assert_none()


def test_impact_page_shows_fit_counterfactual_results_and_caveats(page, server):
    page.goto(server + "/impact?series=fentanyl_lbs&geo=CBP-SWB&milestone=security-dialogue&window=12")
    page.wait_for_function("(() => { const g = document.querySelector('#imp-figure .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length >= 4; })()")
    names = page.evaluate("document.querySelector('#imp-figure .js-plotly-plot')._fullData.map(t => t.name)")
    assert {"Fitted before", "Fitted after", "Counterfactual (pre-trend extended)"} <= set(names)
    table = page.locator("#imp-table").inner_text()
    assert "Level change at the milestone" in table and "Placebo" in table
    assert "not proof" in page.locator("#imp-caveats").inner_text()
    # the selection lives in the URL, and a changed milestone redraws
    assert "milestone=security-dialogue" in page.url
    page.locator("#imp-milestone").click()
    page.locator(".dash-dropdown-option", has_text="Cienfuegos").first.click()
    page.wait_for_function("window.location.search.includes('milestone=cienfuegos-arrest')")
    page.wait_for_function("document.querySelector('#imp-figure').innerText.includes('Cienfuegos')")
    page.wait_for_function("(() => { const g = document.querySelector('#xc-figure .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length === 1 && g._fullData[0].x.length === 49; })()")
    page.errors.assert_none()
