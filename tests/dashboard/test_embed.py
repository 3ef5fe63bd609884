"""Embed: one chart for a news article's iframe, in both languages, framed by another site."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from browser_util import JS_SETTLED, chromium, goto_settled, open_page, serve

pytestmark = pytest.mark.browser


@contextmanager
def article(embed_url: str):
    """A plain HTML page on another origin (another port) with the embed in an iframe, as a
    newspaper's page would hold it."""
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article</title></head>'
            f'<body><h1>An article</h1><p>Text before the chart.</p>'
            f'<iframe id="chart" src="{embed_url}" title="chart" style="width:640px;height:440px;border:0"></iframe>'
            f'<p>Text after.</p></body></html>').encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/"
    finally:
        srv.shutdown()


@pytest.fixture(scope="module")
def base(dash_app):
    with serve(dash_app) as url:
        yield url


@pytest.mark.parametrize("lang, title, link", [
    ("en", "US border drug seizures", "Open the full interactive view"),
    ("es", "Decomisos de droga en la frontera de EE. UU.", "Abrir la vista interactiva completa"),
])
def test_embed_in_another_sites_iframe_shows_one_chart_with_source_and_link(base, lang, title, link):
    embed = f"{base}/embed?chart=seizures&seize=fentanyl,cocaine&cbp_geo=US&lang={lang}"
    with chromium() as browser, article(embed) as page_url, open_page(browser, width=900, height=700) as page:
        page.goto(page_url)
        frame = page.frame(url=lambda u: "/embed" in u)
        assert frame is not None, "the iframe did not load the embed (framing refused?)"
        frame.wait_for_function(JS_SETTLED)
        info = frame.evaluate("""() => {
            const gd = document.querySelector('.js-plotly-plot');
            const visible = el => el && getComputedStyle(el).display !== 'none';
            return {title: gd._fullLayout.title.text, sub: gd._fullLayout.title.subtitle.text,
                    traces: gd._fullData.filter(t => t.x && t.x.length > 3).map(t => t.name),
                    nav: visible(document.querySelector('.topbar')), controls: !!document.querySelector('.sidebar'),
                    link: document.querySelector('.embed-open').textContent,
                    href: document.querySelector('.embed-open').getAttribute('href'),
                    lang: document.querySelector('.embed').getAttribute('lang'),
                    footBottom: document.querySelector('.embed-foot').getBoundingClientRect().bottom,
                    foot: document.querySelector('.embed-foot').textContent,
                    frameHeight: window.innerHeight};
        }""")
        as_read = {k: info[k].replace("<br>", " ") for k in ("title", "sub")}  # long lines are wrapped
        assert title in as_read["title"]
        assert ("Source: U.S. CBP" if lang == "en" else "Fuente: CBP de EE. UU.") in as_read["sub"]
        assert len(info["traces"]) >= 2                      # fentanyl and cocaine, nationwide
        assert not info["nav"] and not info["controls"]      # no navigation, no controls
        assert link in info["link"] and info["lang"] == lang
        href = parse_qs(urlparse(info["href"]).query)
        assert href["cbp_geo"] == ["US"] and href["seizures.drug"] == ["fentanyl,cocaine"]
        assert info["footBottom"] <= info["frameHeight"] + 2  # chart, source and link fill the frame
        # the source is said once, in the chart (it goes with it into an image), not again under it
        assert ("Source:" if lang == "en" else "Fuente:") not in info["foot"]
        page.rec.assert_clean()


@pytest.mark.parametrize("chart, note", [
    ("seizures", "not meaningful"),             # pounds under a per-100k link said nothing
    ("deaths", "No population estimate for"),   # lines stopping in 2024 said nothing
    ("homicides", "SESNSP counts victims"),     # two sources: a source line more, which lifted the title off
])
def test_embed_gives_its_frame_to_the_chart_and_keeps_its_notes_and_whole_title(base, chart, note):
    with chromium() as browser, open_page(browser, width=640, height=440) as page:
        goto_settled(page, f"{base}/embed?chart={chart}&transform=per100k")
        notes = page.inner_text(".embed-notes")
        assert note in notes, notes
        sizes = page.evaluate("() => ({frame: window.innerHeight,"
                              " foot: document.querySelector('.embed-foot').getBoundingClientRect().bottom,"
                              " plot: document.querySelector('.embed-graph .nsewdrag').getBoundingClientRect().height,"
                              " top: document.querySelector('.embed-graph').getBoundingClientRect().top,"
                              " title: document.querySelector('.gtitle').getBoundingClientRect().top})")
        # The chart, its source and link fill the 16:11 frame the embed code makes; the notes follow
        # (stacked in the frame with them, they squeezed the plot to 26 px).
        assert sizes["foot"] <= sizes["frame"] + 2 and sizes["plot"] >= 150, sizes
        assert sizes["title"] >= sizes["top"]  # the title's first line was cut by the frame's top edge


def test_unknown_chart_falls_back_with_a_notice(base):
    with chromium() as browser, open_page(browser, width=700, height=450) as page:
        goto_settled(page, f"{base}/embed?chart=nope")
        assert "chart=nope" in page.inner_text(".notice")
        assert "US drug-overdose deaths" in page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.title.text")


def test_copy_embed_code_gives_a_responsive_iframe_of_the_current_view(base):
    with chromium() as browser, open_page(browser) as page:
        goto_settled(page, f"{base}/?us_geo=US-AZ&lang=es")
        page.click('[data-embed="deaths"]')
        code = page.get_attribute('[data-embed="deaths"]', "data-code")
        assert code.startswith("<iframe ") and "width:100%" in code and "aspect-ratio" in code
        src = urlparse(code.split('src="', 1)[1].split('"', 1)[0].replace("&amp;", "&"))
        assert src.path == "/embed"
        q = parse_qs(src.query)
        assert q["chart"] == ["deaths"] and q["us_geo"] == ["US-AZ"] and q["lang"] == ["es"]
