"""Real headless Chromium (Playwright, /usr/bin/chromium) against the app served in-process.

The timeline's charts and controls have pattern-matching ids (``{"type": "fig", "panel": key}``):
Dash writes them into the DOM as JSON with sorted keys, which ``dom_id`` reproduces.

Every test collects console errors and page errors and asserts there are none.
"""

from __future__ import annotations

import csv
import json
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from browser_util import goto_settled, open_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
DEFAULT_PANELS = ("deaths", "homicides", "seizures")
HIGHLIGHT = "#d62728"
TIMEOUT_MS = 20_000


def dom_id(**parts) -> str:
    """The DOM id Dash gives a pattern-matching id: its JSON with the keys sorted."""
    return json.dumps(dict(sorted(parts.items())), separators=(",", ":"))


def css(**parts) -> str:
    return f"[id='{dom_id(**parts)}']"


def fig_id(panel: str) -> str:
    return dom_id(type="fig", panel=panel)


# JS helpers evaluated in the page. Plotly >= 6 encodes arrays in gd.data: read gd._fullData.
# Milestone markers sit on the overlay axis y2; legend-only flag entries have x = [null].
JS_GD = "id => { const e = document.getElementById(id); return e && e.querySelector('.js-plotly-plot'); }"
JS_HAS_DATA = "g => g && g._fullData && g._fullData.some(t => t.yaxis !== 'y2' && t.y && t.y.length && t.y[0] !== null)"
JS_READY = f"""panels => {{ const gd = {JS_GD};
    return panels.every(k => ({JS_HAS_DATA})(gd(JSON.stringify({{panel: k, type: 'fig'}})))); }}"""
JS_SUMMARY = f"""id => {{ const g = ({JS_GD})(id);
    return {{
        title: g._fullLayout.title.text,
        ytitle: g._fullLayout.yaxis.title.text,
        xtype: g._fullLayout.xaxis.type,
        range: g._fullLayout.xaxis.range.map(String),
        shapes: g._fullLayout.shapes.map(s => ({{x0: String(s.x0), color: s.line.color, dash: s.line.dash}})),
        traces: g._fullData.map(t => ({{name: t.name, group: t.legendgroup, n: t.y ? t.y.length : 0,
                                        y: t.y ? Array.from(t.y) : [], x: t.x ? Array.from(t.x).map(String) : [],
                                        mode: t.mode, yaxis: t.yaxis, text: t.text ? Array.from(t.text).map(String) : [],
                                        hover: t.hovertemplate || ''}})),
    }}; }}"""


# ``server`` and ``browser`` come from conftest.py, one per module: a session-wide Playwright
# would still hold its event loop when the next module starts its own.


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


def open_view(page, server, path="/", panels=DEFAULT_PANELS):
    page.goto(server + path)
    try:
        page.wait_for_function(JS_READY, arg=list(panels))
        # and Dash's initial callbacks have run (the first one writes the address bar)
        page.wait_for_load_state("networkidle")
    except Exception as exc:  # say why the charts never came
        body = page.locator("body").inner_text()[:1500]
        raise AssertionError(f"charts never got data traces; errors={list(page.errors)}; page text:\n{body}") from exc
    return {k: summary(page, k) for k in panels}


def summary(page, panel):
    return page.evaluate(JS_SUMMARY, fig_id(panel))


def data_traces(s):
    return [t for t in s["traces"] if t["yaxis"] != "y2" and t["x"] != ["null"] and t["n"]]


def marker_traces(s):
    return [t for t in s["traces"] if t["yaxis"] == "y2" and t["mode"] == "markers+text"]


def data_lines(s):
    """Distinct drawn series: a final and a dashed (provisional/fytd) segment are one line."""
    return {t["group"] for t in data_traces(s) if not t["name"].endswith("(raw)")}


def wait_title(page, panel, text):
    page.wait_for_function(f"() => ({JS_GD})({json.dumps(fig_id(panel))})._fullLayout.title.text.includes({json.dumps(text)})")


def select_dropdown(page, selector, label):
    page.click(selector)
    option = page.locator(".dash-dropdown-option").filter(has=page.get_by_text(label, exact=True))
    option.first.click()
    page.keyboard.press("Escape")


def query(page) -> dict:
    return dict(parse_qsl(urlsplit(page.url).query))


def wait_url(page, *parts, timeout_ms=TIMEOUT_MS, **params):
    """Poll the address bar until it holds each ``part`` and each parameter's (decoded) value,
    with page.wait_for_timeout: Playwright's sync API processes the page's events only while it
    waits, so time.sleep would freeze them."""
    waited = 0
    while not (all(p in page.url for p in parts) and all(query(page).get(k) == v for k, v in params.items())):
        assert waited < timeout_ms, f"URL never got {parts} {params}: {page.url}"
        page.wait_for_timeout(100)
        waited += 100
    return page.url


def plain(title: str) -> str:
    """A chart title without its markup (the geography is on a second, smaller line)."""
    return " ".join(re.sub(r"<[^>]+>", " ", title).split())


def test_load_default_graphs_with_data_and_numbered_milestones(page, server):
    from dashboard import store

    n_milestones = len(store.milestones())
    numbers = {str(n) for n in store.milestone_numbers().values()}
    views = open_view(page, server)
    for panel, s in views.items():
        assert s["xtype"] == "date", panel
        assert any(t["n"] > 50 for t in data_traces(s)), (panel, [(t["name"], t["n"]) for t in s["traces"]])
        markers = [txt for t in marker_traces(s) for txt in t["text"]]
        # every milestone once: a number, or "N+" for N close ones
        assert sum(int(x[:-1]) if x.endswith("+") else 1 for x in markers) == n_milestones, (panel, markers)
        assert {x for x in markers if not x.endswith("+")} <= numbers
        assert len(s["shapes"]) == n_milestones
        assert s["range"][0].startswith("2015-01-01")  # the first data point
    assert "United States" in views["deaths"]["title"]
    for key in ("deaths", "homicides", "seizures"):
        assert page.locator(css(type="panel-box", panel=key)).is_visible()
    assert page.locator(css(type="panel-box", panel="lab_reports")).is_hidden()  # opt-in panels
    # the flag legend says what the dashed tails mean
    assert {"provisional"} <= {t["name"] for t in views["deaths"]["traces"] if t["group"] == "flag-provisional"}
    page.errors.assert_none()


def test_change_geography_and_transform_updates_chart_and_url(page, server):
    before = open_view(page, server)["deaths"]
    select_dropdown(page, css(type="geo", panel="deaths"), "Arizona")
    wait_title(page, "deaths", "Arizona")
    page.locator("#transform label", has_text="Per 100k residents").click()
    page.wait_for_function(f"() => ({JS_GD})({json.dumps(fig_id('deaths'))})._fullLayout.yaxis.title.text.startsWith('per 100k')")
    wait_url(page, us_geo="US-AZ", transform="per100k")
    after = summary(page, "deaths")
    assert "Arizona" in after["title"] and "United States" in before["title"]
    y_before = data_traces(before)[0]["y"]
    y_after = [v for v in data_traces(after)[0]["y"] if v is not None]
    assert max(y_before) > 10_000  # national 12-month counts
    assert y_after and max(y_after) < 200  # a state's rate per 100k
    assert page.locator(f"[id='{dom_id(type='geo', panel='deaths')}-value']").inner_text().strip() == "Arizona"
    # the monthly homicide rate is annualised, and its axis says so
    assert summary(page, "homicides")["ytitle"] == "per 100k residents per year<br>(annualised)"
    page.errors.assert_none()


def test_switching_a_facet_and_an_opt_in_panel_updates_the_url(page, server):
    open_view(page, server)
    page.locator(css(type="facet", panel="homicides", facet="weapon") + " input").check()
    wait_url(page, **{"homicides.weapon": "1"})
    page.wait_for_function(f"""() => ({JS_GD})({json.dumps(fig_id('homicides'))})._fullData
        .some(t => t.name === '…of which with a firearm (SESNSP)')""")
    page.locator("#panels input[value=lab_reports]").check()
    wait_url(page, panels="deaths,homicides,seizures,lab_reports")
    page.wait_for_function(JS_READY, arg=["lab_reports"])
    assert page.locator(css(type="panel-box", panel="lab_reports")).is_visible()
    lab = summary(page, "lab_reports")
    assert data_lines(lab) == {"Fentanyl"}
    notes = page.locator(css(type="notes", panel="lab_reports")).inner_text()
    assert "Half-yearly values" in notes
    # A panel first drawn hidden keeps its height when shown (it was 0 px, the chart spilling out).
    box = page.locator(css(type="panel-box", panel="lab_reports"))
    graph = page.locator(css(type="fig", panel="lab_reports"))
    page.wait_for_timeout(500)
    assert graph.bounding_box()["height"] >= 400
    assert box.bounding_box()["height"] > graph.bounding_box()["height"]  # its notes and tools under it
    page.errors.assert_none()


def test_shared_url_reproduces_view(page, server):
    views = open_view(page, server, "/?us_geo=US-TX&transform=index&index_at=security-dialogue"
                                    "&seize=fentanyl,methamphetamine")
    assert page.locator(f"[id='{dom_id(type='geo', panel='deaths')}-value']").inner_text().strip() == "Texas"
    assert page.locator("#transform input[value=index]").is_checked()
    assert "High-Level Security Dialogue" in page.locator("#index-at").inner_text()
    seize_text = page.locator(css(type="facet", panel="seizures", facet="drug")).inner_text()
    assert "Fentanyl" in seize_text and "Methamphetamine" in seize_text
    deaths, seizures = views["deaths"], views["seizures"]
    assert "Texas" in deaths["title"]
    # the base is the milestone's month (2021-10-08 -> the point dated 2021-10-01)
    assert deaths["ytitle"].startswith("index, Oct 2021 = 100")
    assert data_lines(seizures) == {"Fentanyl", "Methamphetamine"}
    for t in data_traces(seizures):
        assert t["n"] > 0
    # the address bar keeps the shared state, under the canonical names (the old "seize" is an alias)
    wait_url(page, us_geo="US-TX", transform="index", index_at="security-dialogue",
             **{"seizures.drug": "fentanyl,methamphetamine"})
    assert "seize" not in query(page)
    page.errors.assert_none()


def test_index_base_date_is_offered_only_under_index(page, server):
    """The base date means nothing for counts, rates or growth: it was live under all of them."""
    open_view(page, server, "/?transform=index")
    assert page.locator("#index-at").is_enabled()
    page.click("#transform input[value=counts]")
    page.wait_for_function("() => document.querySelector('#index-at').disabled")
    page.click("#transform input[value=index]")
    page.wait_for_function("() => !document.querySelector('#index-at').disabled")
    open_view(page, server, "/?transform=per100k")
    assert page.locator("#index-at").is_disabled()
    page.errors.assert_none()


def test_malformed_url_shows_notices_and_default_view(page, server):
    views = open_view(page, server, "/?us_geo=XX&start=notadate&bogus=1")
    notices = page.locator("#url-notices").inner_text()
    for name in ("us_geo", "start", "bogus"):
        assert name in notices
    assert page.locator("#url-notices .notice.warning").count() == 3
    assert "United States" in views["deaths"]["title"]
    assert views["deaths"]["range"][0].startswith("2015-01-01")
    assert page.locator(f"[id='{dom_id(type='geo', panel='deaths')}-value']").inner_text().strip() == "United States"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in body
    page.errors.assert_none()


def _download_csv(page, tmp_path):
    with page.expect_download() as dl:
        page.click("#dl-csv")
    download = dl.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with path.open(newline="") as f:
        return download.suggested_filename, list(csv.DictReader(f))


def test_download_csv_has_rows_with_provenance(page, server, tmp_path):
    open_view(page, server)
    name, rows = _download_csv(page, tmp_path)
    assert name.startswith("xborder_US_MX_CBP-SWB_counts_") and name.endswith(".csv")
    assert rows
    for col in ("series_id", "geo", "date", "value", "source_id", "snapshot_md5", "transform"):
        assert col in rows[0], col
    hit = [r for r in rows if r["series_id"] == "cdc_vsrr_overdose.all_drugs" and r["geo"] == "US"
           and r["date"] == "2020-12-01"]
    assert len(hit) == 1 and float(hit[0]["value"]) == 92478
    assert all(r["snapshot_md5"] and r["source_id"] for r in rows)
    assert {r["source_id"] for r in rows} == {"cdc_vsrr_overdose", "sesnsp_homicide", "inegi_homicide", "cbp_seizures"}
    page.errors.assert_none()


def _drag_zoom(page, panel, x0, x1):
    page.evaluate(f"() => Plotly.relayout(({JS_GD})({json.dumps(fig_id(panel))}), "
                  f"{{'xaxis.range': [{json.dumps(x0)}, {json.dumps(x1)}]}})")


def test_zoom_sync_follows_across_panels_and_goes_to_the_url(page, server):
    open_view(page, server)
    _drag_zoom(page, "deaths", "2019-01-01", "2021-06-01")
    for panel in ("homicides", "seizures"):
        page.wait_for_function(
            f"() => String(({JS_GD})({json.dumps(fig_id(panel))})._fullLayout.xaxis.range[0]).startsWith('2019-01-01')")
        rng = summary(page, panel)["range"]
        assert rng[0].startswith("2019-01-01") and rng[1].startswith("2021-06-01"), (panel, rng)
    wait_url(page, x0="2019-01-01", x1="2021-06-01")
    assert "x0=2019-01-01" in page.locator("#permalink").get_attribute("href")
    # the zoom survives a control change (the callback keeps the zoom store)
    page.locator("#transform label", has_text="Index = 100 at").click()
    page.wait_for_function(f"() => ({JS_GD})({json.dumps(fig_id('deaths'))})._fullLayout.yaxis.title.text.startsWith('index')")
    wait_url(page, transform="index", x0="2019-01-01", x1="2021-06-01")
    assert summary(page, "seizures")["range"][0].startswith("2019-01-01")
    # and a shared zoomed link opens zoomed
    page.goto(page.url)
    page.wait_for_function(JS_READY, arg=list(DEFAULT_PANELS))
    for panel in DEFAULT_PANELS:
        assert summary(page, panel)["range"][0].startswith("2019-01-01"), panel
    page.errors.assert_none()


def test_zoom_on_any_chart_moves_the_others_and_the_url(page, server):
    """Zooming the third chart works like zooming the first: the others follow, the URL keeps it."""
    open_view(page, server)
    _drag_zoom(page, "seizures", "2020-01-01", "2022-12-01")
    for panel in ("deaths", "homicides"):
        page.wait_for_function(
            f"() => String(({JS_GD})({json.dumps(fig_id(panel))})._fullLayout.xaxis.range[0]).startsWith('2020-01-01')")
    wait_url(page, x0="2020-01-01", x1="2022-12-01")
    page.errors.assert_none()


def test_csv_download_after_a_zoom_covers_only_the_zoomed_range(page, server, tmp_path):
    open_view(page, server)
    _drag_zoom(page, "deaths", "2019-01-01", "2021-06-01")
    wait_url(page, x0="2019-01-01", x1="2021-06-01")
    name, rows = _download_csv(page, tmp_path)
    assert "_2019-01_2021-06_" in name
    dates = {r["date"] for r in rows}
    assert min(dates) == "2019-01-01" and max(dates) == "2021-06-01"
    assert {r["panel"] for r in rows} == set(DEFAULT_PANELS)
    hit = [r for r in rows if r["series_id"] == "cdc_vsrr_overdose.all_drugs" and r["date"] == "2020-12-01"]
    assert len(hit) == 1 and float(hit[0]["value"]) == 92478
    page.errors.assert_none()


def test_click_milestone_highlights_on_all_charts(page, server):
    from dashboard import store

    number = store.milestone_numbers()["security-dialogue"]
    views = open_view(page, server)
    assert not any(s["color"] == HIGHLIGHT for v in views.values() for s in v["shapes"])
    page.locator("#ms-list button", has_text="8 Oct 2021").click()
    for panel in DEFAULT_PANELS:
        page.wait_for_function(
            f"() => ({JS_GD})({json.dumps(fig_id(panel))})._fullLayout.shapes.some(s => s.line.color === '{HIGHLIGHT}')")
        shapes = summary(page, panel)["shapes"]
        red = [s for s in shapes if s["color"] == HIGHLIGHT]
        assert len(red) == 1 and red[0]["x0"].startswith("2021-10-08"), (panel, red)
    wait_url(page, hl="security-dialogue")
    assert page.locator("#ms-list button.active").inner_text() == "8 Oct 2021"
    # the key's number is the number on the charts
    item = page.locator("#ms-list li", has=page.locator("button.active"))
    assert item.locator(".ms-num").inner_text() == str(number)
    page.errors.assert_none()


def test_html_lang_skip_link_and_nav_carry_the_language(page, server):
    open_view(page, server)
    assert page.evaluate("() => document.documentElement.lang") == "en"
    skip = page.locator("a.skip-link")
    assert skip.get_attribute("href") == "#charts" and page.locator("#charts").count() == 1
    hrefs = page.evaluate("() => [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
    assert hrefs and all(h.endswith("?lang=en") for h in hrefs), hrefs
    page.goto(server + "/?lang=es")
    page.wait_for_function(JS_READY, arg=list(DEFAULT_PANELS))
    assert page.evaluate("() => document.documentElement.lang") == "es"
    hrefs = page.evaluate("() => [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
    assert all(h.endswith("?lang=es") for h in hrefs), hrefs
    page.errors.assert_none()


def test_spanish_url_renders_spanish_controls_charts_and_numbers(page, server):
    from dashboard import i18n

    es = i18n.catalog("es")
    views = open_view(page, server, "/?lang=es")
    assert page.locator("#controls-drawer summary").first.inner_text().strip() == es["controls.summary"]
    assert page.locator("#transform").inner_text().count(es["transform.per100k.control"]) == 1
    assert page.locator("#dl-csv").inner_text() == es["download.csv"]
    assert es["controls.panels"] in page.locator(".controls").inner_text()
    assert plain(views["deaths"]["title"]) == "Muertes por sobredosis de drogas en EE. UU. Estados Unidos"
    assert views["deaths"]["ytitle"] == "muertes, 12 meses acumulados"
    assert data_lines(views["deaths"]) == {"Todas las sobredosis", "Opioides sintéticos (fentanilo, T40.4)"}
    notes = page.locator(css(type="notes", panel="deaths")).inner_text()
    assert es["note.overlapping"] in notes
    assert "Todas las sobredosis: de 47,523 (12 meses hasta ene 2015)" in notes  # es-MX keeps 47,523
    page.errors.assert_none()


def test_spanish_chart_dates_are_written_as_the_text_writes_them(page, server):
    """"ene 2020" on the axis beside "ene 2015" in the notes (plotly's own es locale wrote "Ene"),
    while the toolbar keeps plotly's Spanish words."""
    open_view(page, server, "/?lang=es&x0=2020-01-01&x1=2021-06-01")
    ticks = page.evaluate("() => [...document.querySelectorAll('.xtick text')].map(t => t.textContent)")
    assert "ene 2021" in ticks and not any(t[:1].isupper() for t in ticks), ticks
    tips = page.evaluate("() => [...document.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title'))")
    assert "Descargar gráfica como PNG" in tips
    page.errors.assert_none()


def test_language_switch_keeps_the_view(page, server):
    open_view(page, server, "/?us_geo=US-AZ&start=2016-01-01")
    wait_url(page, us_geo="US-AZ", start="2016-01-01")
    # a control changed after the page loaded is kept too
    page.locator("#transform label", has_text="Index = 100 at").click()
    wait_url(page, transform="index")
    page.click("a.lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'es'")
    page.wait_for_function(JS_READY, arg=list(DEFAULT_PANELS))
    assert {k: query(page).get(k) for k in ("lang", "us_geo", "start", "transform")} == \
        {"lang": "es", "us_geo": "US-AZ", "start": "2016-01-01", "transform": "index"}, page.url
    assert "Arizona" in summary(page, "deaths")["title"] and summary(page, "deaths")["title"].startswith("Muertes")
    assert page.locator("#transform input[value=index]").is_checked()
    # and back to English, still the same view
    page.click("a.lang-switch")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.wait_for_function(JS_READY, arg=list(DEFAULT_PANELS))
    q = query(page)
    assert (q.get("us_geo"), q.get("start"), q.get("transform")) == ("US-AZ", "2016-01-01", "index"), page.url
    assert q.get("lang", "en") == "en"
    assert plain(summary(page, "deaths")["title"]).startswith("US drug-overdose deaths")
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


def test_opening_a_panels_data_table_draws_its_points(page, server):
    """The table is drawn only when its box is opened: the reader's toggle must reach the server."""
    open_view(page, server)
    box = page.locator('details.panel-table').first
    box.locator("summary").click()
    rows = box.locator("tbody tr")
    rows.first.wait_for(timeout=TIMEOUT_MS)
    assert rows.count() > 100  # one row per month since 2015
    assert box.locator("thead th").count() >= 2  # the date and at least one series
    page.errors.assert_none()


PLOTLY_SCRIPTS = "() => [...document.scripts].map(s => s.src.split('/').pop().split('?')[0]).filter(s => s.includes('plotly'))"


def test_maps_page_draws_both_choropleths_from_shipped_geojson(page, server):
    page.goto(server + "/maps?year=2021&mx_source=sesnsp")
    # predicates as functions: the app's Content-Security-Policy forbids evaluating strings
    page.wait_for_function("() => document.querySelectorAll('#map-us .js-plotly-plot, #map-mx .js-plotly-plot').length === 2"
                           " && [...document.querySelectorAll('.js-plotly-plot')].every(g => g._fullData && "
                           "g._fullData.length && g._fullData[0].type === 'choropleth')")
    counts = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullData[0].locations.length)")
    assert counts[0] >= 50 and counts[1] == 32
    assert "2021" in page.locator("#map-us").inner_text()
    full = [x for x in page.evaluate(PLOTLY_SCRIPTS) if "locale" not in x]
    assert full == ["plotly.min.js"]  # the full bundle: it has the map traces
    page.errors.assert_none()


def test_timeline_loads_only_the_basic_plotly_bundle(page, server):
    from dashboard.app import PLOTLY_BASIC, PLOTLY_LOCALE_ES, PLOTLY_LOCALE_ES_MX

    open_view(page, server)
    # the basic bundle and its small Spanish locales (the language switch needs no reload of plotly)
    assert sorted(page.evaluate(PLOTLY_SCRIPTS)) == sorted([PLOTLY_BASIC, PLOTLY_LOCALE_ES, PLOTLY_LOCALE_ES_MX])
    assert PLOTLY_BASIC == "plotly-basic-4.1.1.min.js"
    page.errors.assert_none()


def test_revisions_page_draws_one_line_per_vintage_and_the_table(page, server):
    page.goto(server + "/revisions?series=all_drugs&geo=US")
    page.wait_for_function(f"""() => {{ const g = ({JS_GD})('rev-figure');
        return g && g._fullData && g._fullData.filter(t => t.name.startsWith('as of ') && t.y && t.y.length).length >= 2; }}""")
    traces = page.evaluate(JS_SUMMARY, "rev-figure")["traces"]
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
    page.wait_for_function("() => { const g = document.querySelector('#imp-figure .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length >= 4; }")
    names = page.evaluate("() => document.querySelector('#imp-figure .js-plotly-plot')._fullData.map(t => t.name)")
    assert {"Fitted before", "Fitted after", "Counterfactual: the model without the step"} <= set(names)
    table = page.locator("#imp-table").inner_text()
    assert "Level change at the milestone" in table and "Placebo" in table
    assert "not proof" in page.locator("#imp-caveats").inner_text()
    # the selection lives in the URL, and a changed milestone redraws
    assert "milestone=security-dialogue" in page.url
    page.locator("#imp-milestone").click()
    page.locator(".dash-dropdown-option", has_text="Cienfuegos").first.click()
    page.wait_for_function("() => window.location.search.includes('milestone=cienfuegos-arrest')")
    page.wait_for_function("() => document.querySelector('#imp-figure').innerText.includes('Cienfuegos')")
    page.wait_for_function("() => { const g = document.querySelector('#xc-figure .js-plotly-plot');"
                           " return g && g._fullData && g._fullData.length === 1 && g._fullData[0].x.length === 49; }")
    page.errors.assert_none()


SCROLL_CLASSES = ("() => { const t = document.querySelector('#disc-table'), b = t && t.closest('.table-scroll');"
                  " return b ? [b.classList.contains('scroll-more-left'), b.classList.contains('scroll-more-right')]"
                  " : null; }")


def test_a_table_wider_than_a_phone_fades_the_side_with_more_columns(browser, server):
    """Impact's flagged-states table scrolls sideways on a phone: readers took the columns they
    saw for the whole table. The edge with more beyond it fades (assets/scroll_hint.js)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    try:
        phone.goto(server + "/impact")
        phone.wait_for_function(f"() => {{ const c = ({SCROLL_CLASSES})(); return c && c[1]; }}")
        assert phone.evaluate(SCROLL_CLASSES) == [False, True]
        phone.evaluate("() => { document.querySelector('#disc-table').closest('.table-scroll').scrollLeft = 1e6; }")
        phone.wait_for_function(f"() => {{ const c = ({SCROLL_CLASSES})(); return c[0] && !c[1]; }}")
        fade = phone.evaluate("() => getComputedStyle(document.querySelector('#disc-table').closest('.table-scroll'))"
                              ".maskImage")
        assert "linear-gradient" in fade
    finally:
        context.close()
    page_wide = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page_wide.goto(server + "/impact")
    page_wide.wait_for_function(f"() => ({SCROLL_CLASSES})() !== null")
    page_wide.wait_for_timeout(300)
    assert page_wide.evaluate(SCROLL_CLASSES) == [False, False]  # it fits: nothing fades
    page_wide.context.close()


def test_opening_the_wide_sections_on_a_phone_never_widens_the_page(browser, server):
    """On a 390 px phone, opening "Table of the displayed series" or "Cite this view" (a wide
    table, a code block) widened the whole column to ~690 px: text and charts ran off the screen."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    try:
        # every chart: the longest permalink, one unbreakable word of ~300 characters
        every = "deaths,homicides,firearm_share,seizures,lab_reports,unodc_seizures,federal_crimes,incidence,sanctions,oc_index"
        open_view(phone, server, f"/?lang=es&panels={every}", panels=DEFAULT_PANELS)
        for details in ("#change-table", "#cite-view"):
            phone.locator(f"details:has({details}) > summary").click()
            phone.wait_for_function(f"() => document.querySelector('{details}').offsetHeight > 0")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        # and the table still shows all its columns, inside a box that scrolls
        assert phone.evaluate("() => document.querySelector('#change-table').scrollWidth") > 390
    finally:
        context.close()


def test_on_a_phone_the_controls_end_with_a_link_to_the_charts(browser, server):
    """The opened controls push the charts ~1,800 px down a phone's page: a link at their end
    takes the reader to the charts; on a desktop (charts beside the controls) it is not shown."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    try:
        open_view(phone, server, "/?lang=es", panels=DEFAULT_PANELS)
        if not phone.evaluate("() => document.querySelector('#controls-drawer').open"):  # closed on a phone
            phone.locator("#controls-drawer > summary").click()
        link = phone.locator("#controls-drawer .to-charts")
        assert link.inner_text().strip() == "Ver las gráficas ↓"
        link.click()
        phone.wait_for_function("() => Math.abs(document.querySelector('#charts').getBoundingClientRect().top) < 40")
    finally:
        context.close()
    wide = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    wide.goto(server + "/")
    assert not wide.locator("#controls-drawer .to-charts").is_visible()
    wide.context.close()


JS_TITLE = """id => { const g = document.getElementById(id).querySelector('.js-plotly-plot');
    const box = g.getBoundingClientRect(), title = g.querySelector('.gtitle').getBoundingClientRect();
    return {text: g.layout.title.text, sub: g.layout.title.subtitle.text, top: g.layout.margin.t,
            right: title.right - box.left, width: box.width}; }"""


def test_chart_titles_take_the_width_of_their_chart_on_a_desktop_and_still_fit_a_phone(browser, server):
    """The server wraps titles for a phone (SVG text never wraps itself); on a desktop that left
    "Decomisos de droga en la frontera de / EE. UU." in two lines over a 900 px plot, and the
    revisions source in five (assets/fit_titles.js re-wraps both to the chart)."""
    seizures = fig_id("seizures")
    wide = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True).new_page()
    try:
        for pg in (wide, phone):
            pg.set_default_timeout(TIMEOUT_MS)
            pg.goto(server + "/?lang=es")
            pg.wait_for_function(JS_READY, arg=["seizures"])
        wide.wait_for_function(f"() => ({JS_TITLE})({json.dumps(seizures)}).text.split('<br>').length === 2")
        w = wide.evaluate(JS_TITLE, seizures)
        assert w["text"].startswith("Decomisos de droga en la frontera de EE.\u00a0UU.<br>") and w["top"] == 96
        phone.wait_for_timeout(500)
        p = phone.evaluate(JS_TITLE, seizures)
        assert p["text"].count("<br>") == 2 and p["top"] == 116  # two lines and the geography's
        assert p["right"] <= p["width"]  # nothing runs off the phone's chart
        # The toolbar a tap shows would cover that title: a phone has no toolbar.
        phone.locator(f"[id='{seizures}'] .nsewdrag").first.tap()
        assert phone.evaluate("() => getComputedStyle(document.querySelector('.modebar-container')).display") == "none"

        wide.goto(server + "/revisions")
        wide.wait_for_function("() => { const g = document.querySelector('#rev-figure .js-plotly-plot');"
                               " return g && g.layout.meta && !g.layout.title.text.includes('<br>'); }")
        wide.wait_for_timeout(300)
        fit = wide.evaluate("() => document.querySelector('#rev-figure .js-plotly-plot').layout.meta.fit")
        r = wide.evaluate(JS_TITLE, "rev-figure")
        assert fit["source"]["lines"] >= 4 and r["sub"].count("<br>") + 1 <= 2
        assert r["text"].count("<br>") == 0 and r["right"] <= r["width"]
    finally:
        wide.context.close()
        phone.context.close()


@pytest.mark.parametrize("path", ["/revisions?lang=es", "/?lang=es", "/impact?lang=es"])
def test_on_a_phone_no_chart_title_or_source_runs_into_its_plot(browser, server, path):
    """Dash hands a graph back a copy of its re-fitted layout; fitting the copy again took the
    saved lines off the top margin once more each time, until the revisions source (four lines
    on a phone) lay over the plot."""
    with open_page(browser, width=390, height=844) as pg:
        goto_settled(pg, server + path)
        pg.wait_for_timeout(800)  # every redraw's pass has run
        gaps = pg.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .filter(g => g.querySelector('.nsewdrag') && g.querySelector('.gtitle')).map(g => {
              const plotTop = g.querySelector('.nsewdrag').getBoundingClientRect().top;
              const text = [...g.querySelectorAll('.gtitle, .gtitle-subtitle')].map(e => e.getBoundingClientRect().bottom);
              return Math.round(plotTop - Math.max(...text)); })""")
        assert gaps and min(gaps) >= 0, gaps
        pg.rec.assert_clean()
