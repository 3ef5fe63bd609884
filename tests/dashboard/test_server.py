"""Serving hardening (dashboard/server.py, gunicorn.conf.py) against the real app and real data.

The health tests copy the repo's built tables and catalog into a temporary data dir and then
break it the way a deployment breaks (a table gone, a truncated catalog).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashboard import server as serving
from etl import paths

ROOT = Path(__file__).resolve().parents[2]
REPO_DATA = ROOT / "data"
PAGES = ("/", "/impact", "/revisions", "/maps", "/sources")


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture
def built_copy(tmp_path, monkeypatch, built_data):
    """A copy of the repo's data dir (reference, milestones, tidy tables, catalog)."""
    root = tmp_path / "data"
    for part in ("reference", "milestones", "tidy"):
        shutil.copytree(REPO_DATA / part, root / part, ignore=shutil.ignore_patterns(".cache"))
    shutil.copy(REPO_DATA / "catalog.json", root / "catalog.json")
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    return root


# ---------------------------------------------------------------- request size

def test_oversized_callback_body_is_refused_with_413_json(client):
    body = json.dumps({"output": "x", "inputs": [{"id": "a", "property": "value", "value": "y" * 132_000}]})
    r = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert r.status_code == 413
    assert r.get_json() == {"error": "request body too large", "limit_bytes": 65536,
                            "hint": "a dashboard callback is a few kilobytes; this request was refused unread"}


def test_body_under_the_limit_reaches_dash(client):
    # A malformed but small callback is Dash's to answer (not 413): the limit only cuts big bodies.
    r = client.post("/_dash-update-component", data=json.dumps({"output": "nope.children", "inputs": []}),
                    content_type="application/json")
    assert r.status_code != 413


# ---------------------------------------------------------------- health

def test_healthz_reports_version_and_freshness_per_source(client, built_copy):
    catalog = json.loads((built_copy / "catalog.json").read_text())
    r = client.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    h = r.get_json()
    assert h["status"] in {"ok", "degraded"} and h["problems"] == []
    assert h["catalog"]["readable"] is True
    assert re.fullmatch(r"[0-9a-f]{12}", h["data_version"])
    cbp = h["sources"]["cbp_seizures"]
    assert cbp["table"] is True
    assert cbp["snapshot"] == catalog["sources"]["cbp_seizures"]["snapshot"]
    assert cbp["date_max"] == catalog["sources"]["cbp_seizures"]["date_max"]
    assert isinstance(cbp["age_days"], int) and cbp["cadence_days"] > 0
    # the data version is the catalog's snapshot fingerprints: another build, another version
    for e in catalog["sources"].values():
        e["snapshot_fingerprint"] = "0" * 32
    (built_copy / "catalog.json").write_text(json.dumps(catalog))
    assert client.get("/healthz").get_json()["data_version"] != h["data_version"]


def test_healthz_503_when_a_catalogued_table_is_missing(client, built_copy):
    (built_copy / "tidy" / "cbp_seizures.parquet").unlink()
    r = client.get("/healthz")
    assert r.status_code == 503
    h = r.get_json()
    assert h["status"] == "unavailable"
    assert any("cbp_seizures" in p and "missing" in p for p in h["problems"])


def test_healthz_503_when_the_catalog_is_unreadable(client, built_copy):
    text = (built_copy / "catalog.json").read_text()
    (built_copy / "catalog.json").write_text(text[: len(text) // 2])  # a half-written copy
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["catalog"] == {"readable": False}
    (built_copy / "catalog.json").unlink()
    r = client.get("/healthz")
    assert r.status_code == 503 and "catalog" in r.get_json()["problems"][0]


# ---------------------------------------------------------------- headers

def _inline_scripts(html: str) -> list[str]:
    return [body for attrs, body in serving.INLINE_SCRIPT.findall(html)
            if "application/json" not in attrs and body.strip()]


def test_page_csp_allows_exactly_its_inline_scripts(client):
    r = client.get("/")
    csp = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
    html = r.get_data(as_text=True)
    scripts = _inline_scripts(html)
    assert scripts, "Dash's page has inline scripts (renderer bootstrap)"
    allowed = set(re.findall(r"'sha256-[^']+'", csp["script-src"]))
    assert allowed == {serving._script_hash(s) for s in scripts}
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["default-src"] == "'self'" and csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'self'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_embed_pages_may_be_framed_as_configured(client, monkeypatch):
    csp = client.get("/embed").headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp
    monkeypatch.setenv("FRAME_ANCESTORS", "https://news.example.org")
    r = client.get("/embed?chart=x")
    assert "frame-ancestors https://news.example.org" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers
    assert "frame-ancestors 'self'" in client.get("/sources").headers["Content-Security-Policy"]


def test_page_discloses_no_versions(client):
    html = client.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', html).group(1))
    for key in ("python_version", "dash_version", "plotly_version"):
        assert key not in config
    assert sys.version.split()[0] not in html
    assert 'name="generator"' not in html


def test_graph_config_removes_the_cloud_button_app_wide(client):
    assert serving.GRAPH_CONFIG["showSendToCloud"] is False
    assert "sendDataToCloud" in serving.GRAPH_CONFIG["modeBarButtonsToRemove"]
    html = client.get("/").get_data(as_text=True)
    assert 'setPlotConfig' in html and '"showSendToCloud":false' in html


# ---------------------------------------------------------------- compression and cache lifetimes

def _asset_urls(html: str) -> list[str]:
    return re.findall(r'src="(/(?:assets|_dash-component-suites)/[^"]+)"', html)


def test_js_is_compressed_and_fingerprinted_assets_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    urls = _asset_urls(html)
    suite = next(u for u in urls if u.startswith("/_dash-component-suites/") and ".v" in u)
    raw = client.get(suite)
    br = client.get(suite, headers={"Accept-Encoding": "br"})
    gz = client.get(suite, headers={"Accept-Encoding": "gzip"})
    assert raw.headers.get("Content-Encoding") is None
    assert br.headers["Content-Encoding"] == "br" and gz.headers["Content-Encoding"] == "gzip"
    assert len(br.data) < 0.5 * len(raw.data) and len(gz.data) < 0.5 * len(raw.data)
    assert "immutable" in br.headers["Cache-Control"] and "max-age=31536000" in br.headers["Cache-Control"]


def test_the_plotly_bundle_goes_out_compressed(client):
    html = client.get("/").get_data(as_text=True)
    bundle = re.search(r'src=\\"(/assets/vendor/plotly-basic[^\\"]+)\\"', html) or \
        re.search(r'src="(/assets/vendor/plotly-basic[^"]+)"', html)
    assert bundle, "the index loads the basic plotly bundle"
    raw = client.get(bundle.group(1))
    r = client.get(bundle.group(1), headers={"Accept-Encoding": "br, gzip"})
    assert raw.status_code == 200 and len(raw.data) > 1_000_000
    assert r.headers["Content-Encoding"] == "br"
    assert len(r.data) < 0.35 * len(raw.data)
    assert "max-age=31536000" in r.headers["Cache-Control"]  # the file name carries its version
    again = client.get(bundle.group(1), headers={"Accept-Encoding": "br, gzip"})
    assert again.data == r.data


# ---------------------------------------------------------------- permalinks

def test_public_base_url_ignores_a_forged_host(dash_app, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    flask_app = dash_app.server
    with flask_app.test_request_context("/", headers={"Host": "evil.example"}):
        assert serving.public_base_url() == serving.FALLBACK_BASE_URL
    with flask_app.test_request_context("/", headers={"Host": "127.0.0.1:9000"}):
        assert serving.public_base_url() == "http://127.0.0.1:9000"
    monkeypatch.setenv("ALLOWED_HOSTS", "xborder.example.org")
    with flask_app.test_request_context("/", headers={"Host": "xborder.example.org"}):
        assert serving.public_base_url() == "http://xborder.example.org"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://stats.example.org/")
    with flask_app.test_request_context("/", headers={"Host": "evil.example"}):
        assert serving.public_base_url() == "https://stats.example.org"
    monkeypatch.setenv("PUBLIC_BASE_URL", "stats.example.org")
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        serving.public_base_url()


# ---------------------------------------------------------------- gunicorn

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def test_gunicorn_config_bounds_every_request():
    cfg: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), cfg)
    assert cfg["worker_class"] == "sync" and 0 < cfg["timeout"] <= 60
    assert cfg["max_requests"] > 0 and 0 < cfg["max_requests_jitter"] < cfg["max_requests"]
    assert cfg["limit_request_line"] <= 8190 and cfg["limit_request_field_size"] <= 8190


def test_gunicorn_freezes_the_preloaded_objects_before_each_fork():
    """Frozen objects are never visited by the cycle collector, so a worker keeps sharing the
    master's pages instead of copying them."""
    import gc

    cfg: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), cfg)
    before = gc.get_freeze_count()
    keep = [[] for _ in range(10)]  # tracked objects (lists) the next freeze must take
    try:
        cfg["pre_fork"](None, None)
        assert gc.get_freeze_count() >= before + len(keep)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("app_uri, prerenders", [("app:server", True), ("dashboard.edge:app", False)])
def test_gunicorn_prerenders_for_the_dashboard_but_not_for_the_edge(monkeypatch, app_uri, prerenders):
    """The edge renders nothing: a pre-render started beside it would render into the shared
    cache a second time."""
    from types import SimpleNamespace

    cfg: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), cfg)
    started = []
    monkeypatch.setattr(cfg["subprocess"], "Popen", lambda cmd, **kw: started.append(cmd))
    monkeypatch.delenv("PRERENDER", raising=False)
    cfg["when_ready"](SimpleNamespace(app=SimpleNamespace(app_uri=app_uri)))
    assert bool(started) is prerenders and all("prerender" in cmd for cmd in started)


def test_gunicorn_workers_use_the_system_allocator_for_arrow():
    """Set before pyarrow is imported, or it has no effect: a fresh interpreter reads the config
    the way gunicorn's master does, then imports pyarrow as the app would."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    code = ("exec(open('gunicorn.conf.py').read(), {}); import pyarrow; "
            "print(pyarrow.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "system"


def test_under_gunicorn_a_132kb_post_is_refused_at_once_and_the_worker_lives(built_data):
    port = _free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "PRERENDER": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:server"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base + "/healthz")
        body = json.dumps({"output": "x", "inputs": [{"id": "a", "property": "value", "value": "y" * 132_000}]})
        req = urllib.request.Request(base + "/_dash-update-component", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
        t = time.time()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 413 and time.time() - t < 5
        with urllib.request.urlopen(base + "/healthz", timeout=30) as r:  # the same single worker answers
            assert r.status == 200
            server_header = r.headers.get("Server", "")
        assert not re.search(r"\d", server_header), server_header  # no version numbers
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# ---------------------------------------------------------------- browser: zero CSP violations

CSP_LISTENER = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")


@pytest.mark.browser
def test_every_page_loads_with_zero_csp_violations(server, browser):
    import dash

    paths_ = sorted({p["path"] for p in dash.page_registry.values() if "<" not in p["path"]} | set(PAGES))
    report = {}
    for path in paths_:
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        console = []
        page.on("console", lambda m, c=console: c.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        if path == "/":  # its charts are drawn after the page's callbacks: wait for them, on a slow host too
            page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.wait_for_timeout(500)
        graphs = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(g => "
                               "[g._context.showSendToCloud, g.querySelectorAll('[data-title*=\"Cloud\"]').length])")
        report[path] = {"violations": page.evaluate("window.__csp") + console, "graphs": graphs}
        context.close()
    assert all(not r["violations"] for r in report.values()), report
    assert report["/"]["graphs"], "the timeline draws charts"
    assert all(g == [False, 0] for r in report.values() for g in r["graphs"]), report
