"""The shared rendered-view cache (dashboard/cache.py): file system by default, a real
redis-server (started by the test) when REDIS_URL is set, shared between app instances."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.io.json import to_json_plotly

from dashboard import cache

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class View:  # synthetic: a stand-in for the timeline's ViewState
    geo: str = "US"
    drugs: tuple[str, ...] = ("all_drugs",)


@pytest.fixture
def fs_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("FIGURE_CACHE", raising=False)
    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path / "figures"))
    return tmp_path / "figures"


def _chart(view: View) -> dict:
    fig = go.Figure(go.Scatter(x=["2020-01-01", "2020-02-01"], y=[1.0, 2.0], name=view.geo))
    return {"fig": {"deaths": fig}, "title": f"Deaths in {view.geo}"}


def test_miss_then_hit_returns_what_dash_would_send(fs_cache):
    calls = []

    def render(view):
        calls.append(view)
        return _chart(view)

    cached = cache.memoize_view(render)
    first = cached(View())
    second = cached(View())
    assert len(calls) == 1 and cached.hits == 1 and cached.misses == 1
    assert first == second
    assert json.loads(to_json_plotly(first)) == json.loads(to_json_plotly(_chart(View())))
    assert first["fig"]["deaths"]["data"][0]["name"] == "US"  # a plain dict, as sent to the browser
    assert any(fs_cache.iterdir())  # stored on disk, where every worker of the host finds it


def test_views_are_told_apart_field_by_field(fs_cache):
    cached = cache.memoize_view(_chart)
    assert cached(View("US-AZ"))["title"] == "Deaths in US-AZ"
    assert cached(View("US-TX"))["title"] == "Deaths in US-TX"
    assert cached(View("US-AZ", ("heroin",)))["title"] == "Deaths in US-AZ"
    assert cached.misses == 3
    cached(View("US-TX"))
    assert cached.hits == 1


def test_new_data_means_new_keys(fs_cache, data_dir):
    catalog = data_dir / "catalog.json"
    catalog.write_text(json.dumps({"sources": {"cbp_seizures": {"snapshot_fingerprint": "a", "parquet_md5": "1"}}}))
    cached = cache.memoize_view(_chart)
    cached(View())
    cached(View())
    assert (cached.misses, cached.hits) == (1, 1)
    time.sleep(0.01)
    catalog.write_text(json.dumps({"sources": {"cbp_seizures": {"snapshot_fingerprint": "b", "parquet_md5": "2"}}}))
    cached(View())
    assert cached.misses == 2  # a refresh changed the data version: rendered again, nothing invalidated


def test_a_rebuild_with_the_same_data_is_a_new_version(fs_cache, data_dir):
    """The page says when the tables were built: a rebuild that changed no number still shows it."""
    catalog = data_dir / "catalog.json"
    entry = {"snapshot_fingerprint": "a", "parquet_md5": "1", "built_at": "2026-11-30T06:00:00+00:00"}
    catalog.write_text(json.dumps({"sources": {"cbp_seizures": entry}}))
    before = cache.data_version()
    time.sleep(0.01)
    catalog.write_text(json.dumps({"sources": {"cbp_seizures": {**entry, "built_at": "2026-12-01T06:00:00+00:00"}}}))
    assert cache.data_version() != before


def test_cache_off_renders_every_time(fs_cache, monkeypatch):
    monkeypatch.setenv("FIGURE_CACHE", "off")
    cached = cache.memoize_view(_chart)
    cached(View())
    cached(View())
    assert cached.misses == 2 and cached.hits == 0


def test_redis_backend_and_a_dead_redis_falls_back_to_rendering(redis_url, monkeypatch, caplog):
    monkeypatch.setenv("REDIS_URL", redis_url)
    cached = cache.memoize_view(_chart)
    cached(View("MX"))
    cached(View("MX"))
    assert (cached.misses, cached.hits) == (1, 1)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    assert cached(View("MX"))["title"] == "Deaths in MX"
    assert "figure cache unavailable" in caplog.text


def test_prerender_defaults_fills_the_cache(fs_cache):
    cached = cache.memoize_view(_chart, defaults=lambda: [(View("US-AZ"),), (View("US-NM"),)])
    done = cache.prerender_defaults()
    assert done[f"{_chart.__module__}.{_chart.__qualname__}"] == 2
    cached(View("US-AZ"))
    assert cached.hits == 1


TWO_INSTANCES = r"""
import json, sys
import app  # the real dashboard app
from dashboard import cache
home = sys.modules["dashboard.pages.home"]
render = home.render_view if hasattr(home.render_view, "uncached") else cache.memoize_view(home.render_view)
parsed = home.parse_url("?transform=per100k")
out = render(parsed.state, parsed.notices)
print("RESULT " + json.dumps({"hits": render.hits, "misses": render.misses,
                              "title": out["fig"][sorted(out["fig"])[0]]["layout"]["title"]["text"]}))
"""


def _instance(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", TWO_INSTANCES], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, out.stderr[-3000:]
    return json.loads(line[7:])


def test_two_app_instances_sharing_redis_see_each_others_figures(redis_url, tmp_path, built_data):
    import os

    env = {**os.environ, "REDIS_URL": redis_url, cache.DIR_ENV: str(tmp_path / "unused")}
    env.pop("FIGURE_CACHE", None)
    first = _instance(env)
    second = _instance(env)
    assert (first["misses"], first["hits"]) == (1, 0)
    assert (second["misses"], second["hits"]) == (0, 1)  # another process, the figure the first rendered
    assert first["title"] == second["title"] and first["title"]
