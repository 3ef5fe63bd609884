"""The per-worker response front (dashboard/response_cache.py) on the real app and data: a
repeated timeline body is answered with the same bytes without rendering, anything else is not."""

from __future__ import annotations

import copy
import json
import sys

import brotli
import pytest

from callback_bodies import UPDATE, router_body, valid_callbacks
from dashboard import cache, response_cache


class FlaskSender:
    """The ``send`` interface callback_bodies expects, over Flask's test client."""

    def __init__(self, client):
        self.client = client

    class Response:
        def __init__(self, resp):
            self.status_code, self._resp = resp.status_code, resp

        def json(self):
            return self._resp.get_json()

    def send(self, method, path, what, json=None):
        return self.Response(self.client.open(path, method=method, json=json))


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture
def front(dash_app):
    store = dash_app.server.extensions.get("xborder_response_cache")
    assert store is not None, "the response cache is installed by default"
    store.clear()
    yield store
    store.clear()


@pytest.fixture(scope="module")
def bodies(dash_app):
    client = FlaskSender(dash_app.server.test_client())
    deps = client.client.get("/_dash-dependencies").get_json()
    route = next(d for d in deps if "_pages_content" in d["output"])
    callbacks = valid_callbacks(client, deps, route)
    timeline = next(c.body for c in callbacks if "panel-box" in c.body["output"] and "fig" in c.body["output"])
    impact = next(c.body for c in callbacks if "imp-verdict" in c.body["output"])
    maps = next(c.body for c in callbacks if "map-us.figure" in c.body["output"])
    return {"timeline": timeline, "impact": impact, "maps": maps, "router": router_body(route, "/", "?lang=es")}


@pytest.fixture
def renders(monkeypatch, dash_app):
    """Counts the timeline's renders (the function its callback calls)."""
    home = sys.modules["dashboard.pages.home"]
    calls = []
    real = home.render_view

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(home, "render_view", counting)
    return calls


def with_input(body: dict, cid: str, value) -> dict:
    out = copy.deepcopy(body)
    for item in out["inputs"]:
        if isinstance(item, dict) and item.get("id") == cid:
            item["value"] = value
    return out


def post(client, body: dict, **headers):
    return client.post(UPDATE, data=json.dumps(body), content_type="application/json", headers=headers)


def test_a_repeated_body_gets_the_same_bytes_without_a_render(client, front, bodies, renders):
    first = post(client, bodies["timeline"])
    assert first.status_code == 200 and len(renders) == 1
    again = post(client, bodies["timeline"])
    assert again.status_code == 200 and len(renders) == 1, "the second request was rendered again"
    assert again.data == first.data
    assert again.headers["X-Content-Type-Options"] == "nosniff"  # the app's headers still apply
    figs = json.loads(again.data)["response"]
    assert any("figure" in v for v in figs.values())


def test_another_view_is_rendered_and_differs(client, front, bodies, renders):
    a = post(client, with_input(bodies["timeline"], "transform", "counts"))
    b = post(client, with_input(bodies["timeline"], "transform", "index"))
    assert len(renders) == 2 and a.data != b.data
    assert len(front) == 2


def test_new_data_means_a_new_key(client, front, bodies, renders, monkeypatch):
    post(client, bodies["timeline"])
    monkeypatch.setattr(cache, "data_version", lambda: "a-later-refresh")
    post(client, bodies["timeline"])
    assert len(renders) == 2, "a refresh must never be answered with the old data's bytes"


def test_a_compressed_hit_is_the_same_response(client, front, bodies, renders):
    plain = post(client, bodies["timeline"]).data
    first = post(client, bodies["timeline"], **{"Accept-Encoding": "br"})
    second = post(client, bodies["timeline"], **{"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == second.headers["Content-Encoding"] == "br"
    assert brotli.decompress(first.data) == brotli.decompress(second.data) == plain
    assert len(renders) == 1


def test_a_repeated_impact_view_skips_the_model_fit(client, front, bodies, monkeypatch):
    """The Impact page's fits (model, placebo dates, synthetic control) are its costly part."""
    from dashboard import impact

    fits = []
    real = impact.run
    monkeypatch.setattr(impact, "run", lambda *a, **k: fits.append(a) or real(*a, **k))
    first = post(client, bodies["impact"])
    again = post(client, bodies["impact"])
    assert first.status_code == again.status_code == 200
    assert len(fits) == 1 and again.data == first.data


def test_a_repeated_maps_view_is_kept(client, front, bodies):
    first = post(client, bodies["maps"])
    assert first.status_code == 200 and len(front) == 1
    assert post(client, bodies["maps"]).data == first.data


def test_only_marked_callbacks_are_kept(client, front, bodies):
    r = post(client, bodies["router"])
    assert r.status_code == 200
    assert len(front) == 0, "the pages router depends on more than its body"


def test_a_forged_body_is_refused_before_the_cache(client, front, bodies):
    post(client, bodies["timeline"])
    forged = copy.deepcopy(bodies["timeline"])
    forged["inputs"] = forged["inputs"][:-1]  # one input short: Dash itself would raise
    r = post(client, forged)
    assert r.status_code == 400 and "reason" in r.get_json()


def test_the_lru_holds_at_most_its_budget():
    lru = response_cache.BoundedLRU(max_bytes=10)  # synthetic values of known sizes
    lru.set("a", b"1234")
    lru.set("b", b"1234")
    assert lru.get("a") == b"1234"  # a is now the most recent
    lru.set("c", b"1234")           # over budget: b, the least recent, goes
    assert lru.get("b") is None and lru.get("a") and lru.get("c") and lru.size == 8
    lru.set("huge", b"x" * 11)      # larger than the whole budget: never kept
    assert lru.get("huge") is None and lru.size == 8


def test_the_budget_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(response_cache.BYTES_ENV, "1024")
    assert response_cache.max_bytes() == 1024
    monkeypatch.setenv(response_cache.BYTES_ENV, "lots")
    with pytest.raises(ValueError, match="RESPONSE_CACHE_BYTES"):
        response_cache.max_bytes()
