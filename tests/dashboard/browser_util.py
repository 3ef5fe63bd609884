"""What the browser tests of the maps, revisions, sources, accessibility and Spanish walk share:
the in-process server, headless Chromium, a page that records console errors and every request
that left the loopback interface (and blocks it), and waiting for a page's charts to be drawn."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
PAGES = ("/", "/impact", "/revisions", "/maps", "/sources")
ROOT = Path(__file__).resolve().parents[2]
# axe-core from npm (Debian's nodejs/npm packages), installed once into the virtualenv
AXE_VERSION = "4.10.3"
AXE_PREFIX = ROOT / ".venv" / "share" / "axe-tools"
AXE_JS = AXE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"

# A page is ready when its content is rendered, every graph on it is drawn, and (goto_settled)
# the network has been idle for half a second: no callback in flight.
JS_SETTLED = """() => {
    const content = document.querySelector('#_pages_content');
    const graphs = [...document.querySelectorAll('.dash-graph')];
    return content && content.children.length && !document.querySelector('[data-dash-is-loading="true"]')
        && graphs.every(g => { const gd = g.querySelector('.js-plotly-plot'); return gd && gd._fullLayout; });
}"""


@contextmanager
def serve(dash_app):
    """The real app on a free loopback port, in a daemon thread."""
    with serve_wsgi(dash_app.server) as url:
        yield url


@contextmanager
def serve_wsgi(wsgi):
    """Any WSGI app (the dashboard, the serving edge, a stand-in) on a free loopback port."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=5)


@contextmanager
def chromium():
    assert Path(CHROMIUM).exists(), "no /usr/bin/chromium: the README's test command installs it"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Recorder:
    """Console errors, page errors and off-loopback requests of one page."""

    def __init__(self):
        self.errors: list[str] = []
        self.offsite: list[str] = []

    def assert_clean(self):
        assert self.offsite == [], "requests left the machine:\n" + "\n".join(self.offsite)
        assert self.errors == [], "console/page errors:\n" + "\n".join(self.errors)


@contextmanager
def open_page(browser, width: int = 1280, height: int = 900, locale: str = "en-US", bypass_csp: bool = False):
    """A fresh context whose off-loopback requests are recorded and aborted. ``bypass_csp`` lets a
    test inject a checker script (axe-core) past the app's Content-Security-Policy."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  accept_downloads=True, bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    rec = Recorder()

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            r.continue_()
        else:
            rec.offsite.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: rec.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: rec.errors.append(f"pageerror: {e}"))
    page.rec = rec
    try:
        yield page
    finally:
        context.close()


def axe_script() -> Path:
    """axe.min.js, installed with npm on first use (``npm install --prefix .venv/share/axe-tools
    axe-core@<version>``); a missing npm is a loud failure, not a skip."""
    import shutil
    import subprocess

    if not AXE_JS.exists():
        npm = shutil.which("npm")
        assert npm, "no npm: apt-get install -y nodejs npm (Debian), then rerun to install axe-core"
        subprocess.run([npm, "install", "--prefix", str(AXE_PREFIX), "--no-audit", "--no-fund", "--no-save",
                        f"axe-core@{AXE_VERSION}"], check=True, capture_output=True, timeout=300)
    assert AXE_JS.exists(), f"npm ran but {AXE_JS} is missing"
    return AXE_JS


def goto_settled(page, url: str):
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(JS_SETTLED)
    page.wait_for_timeout(250)  # let plotly finish its last redraw
