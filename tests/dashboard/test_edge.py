"""The serving edge (dashboard/edge.py) in front of the real dashboard: what it keeps, what it
always forwards, how it fails, and that it carries none of the data stack."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import brotli
import pytest

from browser_util import serve_wsgi
from callback_bodies import router_body, valid_callbacks
from test_response_cache import FlaskSender

from dashboard import cache, edge, server

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "numpy", "dash", "plotly", "statsmodels", "scipy")


class Counting:
    """A WSGI wrapper that notes every request the renderer is asked."""

    def __init__(self, wsgi):
        self.wsgi, self.seen = wsgi, []

    def __call__(self, environ, start_response):
        self.seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.wsgi(environ, start_response)


@pytest.fixture(scope="module")
def renderer(dash_app):
    counting = Counting(dash_app.server.wsgi_app)
    with serve_wsgi(counting) as url:
        yield url, counting


@pytest.fixture
def shared_dir(tmp_path, monkeypatch):
    """A fresh shared store per test (the filesystem backend), so no test sees another's entries."""
    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path / "shared"))
    monkeypatch.delenv(cache.REDIS_URL_ENV, raising=False)
    monkeypatch.delenv(cache.SWITCH_ENV, raising=False)
    return tmp_path / "shared"


@pytest.fixture
def edge_client(renderer, shared_dir, monkeypatch):
    url, counting = renderer
    monkeypatch.setenv(edge.RENDERER_ENV, url)
    counting.seen.clear()
    return edge.create_edge().test_client(), counting


@pytest.fixture(scope="module")
def bodies(dash_app):
    client = FlaskSender(dash_app.server.test_client())
    deps = client.client.get("/_dash-dependencies").get_json()
    route = next(d for d in deps if "_pages_content" in d["output"])
    timeline = next(c.body for c in valid_callbacks(client, deps, route)
                    if "panel-box" in c.body["output"] and "fig" in c.body["output"])
    return {"timeline": timeline, "router": router_body(route, "/", "?lang=es")}


def post(client, body, encoding="identity"):
    return client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json",
                       headers={"Accept-Encoding": encoding})


def test_a_repeated_view_is_answered_without_the_renderer(edge_client, bodies, dash_app):
    client, counting = edge_client
    first = post(client, bodies["timeline"])
    second = post(client, bodies["timeline"])
    assert first.status_code == second.status_code == 200
    assert (first.headers[edge.CACHE_HEADER], second.headers[edge.CACHE_HEADER]) == ("MISS", "HIT")
    assert len(counting.seen) == 1                     # the renderer rendered it once
    assert second.data == first.data
    direct = dash_app.server.test_client().post("/_dash-update-component", data=json.dumps(bodies["timeline"]),
                                                content_type="application/json")
    assert json.loads(second.data) == direct.get_json()  # what the dashboard itself answers
    assert server.EDGE_SHARE_HEADER not in second.headers  # the renderer's mark stays between the two
    assert second.headers["X-Content-Type-Options"] == "nosniff"


def test_another_edge_worker_shares_what_the_first_kept(edge_client, bodies):
    client, counting = edge_client
    assert post(client, bodies["timeline"]).headers[edge.CACHE_HEADER] == "MISS"
    other = edge.create_edge().test_client()       # its own (empty) LRU: the shared store answers
    again = post(other, bodies["timeline"])
    assert again.headers[edge.CACHE_HEADER] == "HIT" and len(counting.seen) == 1


def test_each_encoding_is_kept_apart_and_says_what_it_is(edge_client, bodies):
    client, counting = edge_client
    plain = post(client, bodies["timeline"]).data
    br = post(client, bodies["timeline"], "gzip, deflate, br")
    gz = post(client, bodies["timeline"], "gzip")
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == plain
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == plain
    assert len(counting.seen) == 3                  # one render per encoding, then hits
    assert post(client, bodies["timeline"], "br").headers[edge.CACHE_HEADER] == "HIT"
    assert len(counting.seen) == 3


def test_pages_and_the_page_router_are_kept_for_the_next_reader(edge_client, bodies):
    client, counting = edge_client
    answers = [(client.get("/impact?lang=es"), post(client, bodies["router"])) for _ in range(2)]
    assert [(p.headers[edge.CACHE_HEADER], r.headers[edge.CACHE_HEADER]) for p, r in answers] == \
        [("MISS", "MISS"), ("HIT", "HIT")]
    assert len(counting.seen) == 2
    (page, routed), (page_again, routed_again) = answers
    assert page_again.data == page.data and routed_again.data == routed.data
    assert page_again.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]


def test_a_first_visit_in_another_language_is_not_given_a_kept_page(edge_client):
    """Without ?lang= the page speaks the browser's language: the key holds Accept-Language."""
    client, counting = edge_client
    es = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"})
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert es.headers[edge.CACHE_HEADER] == en.headers[edge.CACHE_HEADER] == "MISS"
    assert '<html lang="es">' in es.get_data(as_text=True) and '<html lang="en">' in en.get_data(as_text=True)
    assert client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"}).headers[edge.CACHE_HEADER] == "HIT"


def test_health_checks_and_errors_always_reach_the_renderer(edge_client):
    client, counting = edge_client
    for _ in range(2):
        assert client.get("/healthz").status_code == 200
        bad = client.post("/_dash-update-component", data=b'{"output": 1}', content_type="application/json")
        assert bad.status_code == 400 and bad.headers[edge.CACHE_HEADER] == "MISS"
    assert len(counting.seen) == 4


def test_fingerprinted_static_files_are_kept_for_every_reader(edge_client):
    client, counting = edge_client
    html = client.get("/").get_data(as_text=True)
    asset = next(u for u in __import__("re").findall(r'src="([^"]+)"', html) if "_dash-component-suites" in u)
    first, second = client.get(asset), client.get(asset)
    assert (first.headers[edge.CACHE_HEADER], second.headers[edge.CACHE_HEADER]) == ("MISS", "HIT")
    assert "immutable" in second.headers["Cache-Control"] and second.data == first.data
    assert counting.seen.count(("GET", asset.split("?")[0])) == 1


def test_a_body_over_the_limit_is_refused_before_the_renderer_sees_it(edge_client):
    client, counting = edge_client
    resp = client.post("/_dash-update-component", data=b"x" * (server.DEFAULT_MAX_REQUEST_BYTES + 1),
                       content_type="application/json")
    assert resp.status_code == 413 and resp.get_json()["error"] == "request body too large"
    assert counting.seen == []


def test_health_is_the_renderers(edge_client):
    client, _ = edge_client
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["data_version"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_renderer_that_is_down_is_503_with_the_reason(shared_dir, monkeypatch, bodies):
    monkeypatch.setenv(edge.RENDERER_ENV, "http://127.0.0.1:9")  # discard port: nothing listens
    client = edge.create_edge().test_client()
    page = client.get("/")
    assert page.status_code == 503 and page.headers["Retry-After"] and "try again" in page.get_data(as_text=True)
    cb = post(client, bodies["timeline"])
    assert cb.status_code == 503 and "could not be reached" in cb.get_json()["reason"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"


def test_a_renderer_that_hangs_is_504_within_the_timeout(shared_dir, monkeypatch):
    def stuck(environ, start_response):
        time.sleep(3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]

    with serve_wsgi(stuck) as url:
        monkeypatch.setenv(edge.RENDERER_ENV, url)
        monkeypatch.setenv(edge.TIMEOUT_ENV, "0.5")
        client = edge.create_edge().test_client()
        t = time.time()
        resp = client.get("/")
        assert resp.status_code == 504 and time.time() - t < 2.5


@pytest.mark.parametrize("name, value", [(edge.RENDERER_ENV, "ftp://renderer"), (edge.TIMEOUT_ENV, "soon"),
                                         (edge.TIMEOUT_ENV, "0")])
def test_a_misconfigured_edge_fails_at_start_with_the_setting_named(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        edge.create_edge()


def test_the_edge_carries_none_of_the_data_stack():
    """What makes an edge worker small: no pandas, pyarrow, numpy, Dash or plotly, even after
    computing a key (the code and data versions)."""
    code = ("import sys, json; from dashboard import edge; app = edge.create_edge(); "
            "ctx = app.test_request_context('/_dash-update-component', method='POST', data=b'{}'); ctx.push(); "
            "edge.shared_key(ctx.request); "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


@pytest.mark.browser
def test_the_dashboard_works_through_the_edge_and_a_second_reader_gets_kept_answers(renderer, shared_dir, monkeypatch):
    """In Chromium through the edge: every chart drawn, no console error (a CSP violation is one),
    and a second reader's charts come from what the first reader's were kept as."""
    from browser_util import chromium, goto_settled, open_page

    url, counting = renderer
    monkeypatch.setenv(edge.RENDERER_ENV, url)
    with serve_wsgi(edge.create_edge()) as front, chromium() as browser:
        asked = []
        for reader in range(2):
            counting.seen.clear()
            with open_page(browser, width=1280, height=900) as page:
                goto_settled(page, front + "/?lang=es")
                drawn = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                                      ".filter(gd => gd._fullData && gd._fullData.some(t => (t.x || []).length > 3)).length")
                assert drawn >= 2, drawn
                page.rec.assert_clean()
            asked.append(list(counting.seen))
    assert ("POST", "/_dash-update-component") in asked[0] and ("GET", "/") in asked[0]
    # The second reader's page, layout, callback map, router and versioned bundles were all kept;
    # only the bundles Dash names without a version (its lazy chunks) are asked again.
    assert [p for _, p in asked[1] if not p.startswith("/_dash-component-suites/")] == [], asked[1]


def test_under_gunicorn_edge_workers_share_kept_answers_through_redis(redis_url, built_data, tmp_path, bodies):
    """The deployment the README gives: a renderer and an edge, each under gunicorn.conf.py, the
    edge's two workers sharing one Redis. Every repeat is a hit, whichever worker takes it; the
    renderer is asked once."""
    import os
    import signal
    import urllib.request

    from test_server import _free_port, _wait

    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    rport, eport = _free_port(), _free_port()
    env = {**os.environ, "PRERENDER": "0", "REDIS_URL": redis_url, cache.DIR_ENV: str(tmp_path / "unused")}
    env.pop(cache.SWITCH_ENV, None)
    procs = [subprocess.Popen([gunicorn, "-c", "gunicorn.conf.py", spec], cwd=ROOT, start_new_session=True,
                              env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": workers, **extra},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for spec, port, workers, extra in [
                 ("app:server", rport, "1", {}),
                 ("dashboard.edge:app", eport, "2", {edge.RENDERER_ENV: f"http://127.0.0.1:{rport}"})]]
    try:
        _wait(f"http://127.0.0.1:{rport}/healthz")
        _wait(f"http://127.0.0.1:{eport}/healthz")
        data = json.dumps(bodies["timeline"]).encode()
        seen = []
        for _ in range(12):  # new connections: both edge workers take some
            req = urllib.request.Request(f"http://127.0.0.1:{eport}/_dash-update-component", data=data,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                seen.append((r.headers[edge.CACHE_HEADER], r.read()))
        assert [h for h, _ in seen] == ["MISS"] + ["HIT"] * 11
        assert len({b for _, b in seen}) == 1
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


def test_an_edge_without_the_data_store_keeps_no_views(edge_client, bodies, monkeypatch):
    """With no catalog to read the data version from, a kept view would outlive the next
    refresh: the edge forwards every view and keeps only static files."""
    client, counting = edge_client
    monkeypatch.setattr(edge, "catalog_present", lambda: False)  # the renderer, in this process, keeps its data
    heads = [post(client, bodies["timeline"]).headers[edge.CACHE_HEADER] for _ in range(2)]
    assert heads == ["MISS", "MISS"] and len(counting.seen) == 2
