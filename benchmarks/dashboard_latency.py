"""Latency of the timeline page: the main callback in-process and over HTTP, and time to first charts.

    .venv/bin/python benchmarks/dashboard_latency.py [--calls 200] [--loads 5]

1. in-process: ``update_timeline`` (the function Dash runs, with the callback context Dash gives
   its pattern-matching ALL inputs and outputs), cycling over realistic states, against a floor
   callback that only returns a fixed ``go.Figure``;
2. HTTP: POST /_dash-update-component with the JSON body the browser sends (captured from a real
   page load in headless Chromium), against a werkzeug server in a thread; the floor is a one-callback
   Dash app returning the same fixed figure;
3. time to first charts in headless Chromium (browser already launched): navigation start to every
   default panel's graph having data traces, median of N loads, cold (new context) and warm (reload,
   HTTP cache).

Targets: p95 < 50 ms in-process; first charts < 1.5 s. The page memoizes whole views
(dashboard.cache): the update_timeline rows time the work with that cache off, the "view cache warm"
rows a repeated view.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
DEFAULT_PANELS = ("deaths", "homicides", "seizures")
# Milestone markers sit on the overlay axis y2; legend-only flag entries have y = [null].
JS_READY_AT = """() => {
    const ok = %s.every(k => { const e = document.getElementById(JSON.stringify({panel: k, type: 'fig'}));
        const g = e && e.querySelector('.js-plotly-plot');
        return g && g._fullData && g._fullData.some(t => t.yaxis !== 'y2' && t.y && t.y.length && t.y[0] !== null); });
    return ok ? performance.now() : false; }""" % json.dumps(list(DEFAULT_PANELS))

# Realistic states, as overrides of the default control values (home.control_values keys:
# a global control id, ("geo", panel) or ("facet", panel, facet)).
STATES = {
    "default": {},
    "US-AZ per100k": {("geo", "deaths"): "US-AZ", "transform": "per100k"},
    "index at milestone": {"transform": "index", "index-at": "security-dialogue",
                           ("facet", "seizures", "drug"): ["fentanyl", "methamphetamine"]},
    "MX-CHH + firearm": {("geo", "homicides"): "MX-CHH", ("facet", "homicides", "weapon"): ["on"],
                         ("facet", "homicides", "source"): ["sesnsp"]},
}


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def serve(flask_app):
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, flask_app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}"


def default_values(home) -> dict:
    from dashboard.registry import registry
    from dashboard.state import default_state

    return home.control_values(default_state(registry()))


def timeline_callback(dash_app) -> tuple[str, dict]:
    """The page's ALL callback (key, spec): Dash's global map until the first request fills the app's."""
    from dash._callback import GLOBAL_CALLBACK_MAP

    callbacks = {**GLOBAL_CALLBACK_MAP, **dash_app.callback_map}
    key = next(k for k in callbacks if '"type":"fig"' in k.replace(" ", "") and ".figure" in k)
    return key, callbacks[key]


def pattern_id(key: tuple) -> dict:
    """A control_values key -> the component's pattern-matching id."""
    return {"type": key[0], "panel": key[1], "facet": key[2]} if key[0] == "facet" else {"type": key[0], "panel": key[1]}


def all_groups(dash_app, values: dict) -> list[list[tuple]]:
    """Per ALL input of the callback, in its order, the controls it matches (in layout order)."""
    _key, cb = timeline_callback(dash_app)
    types = [json.loads(i["id"])["type"] for i in cb["inputs"] if i["id"].startswith("{")]
    return [[k for k in values if isinstance(k, tuple) and k[0] == t] for t in types]


def value_of(values: dict, cid):
    """A control's value by its component id (a string or a pattern-matching dict)."""
    if isinstance(cid, dict):
        key = (cid["type"], cid["panel"], cid["facet"]) if cid["type"] == "facet" else (cid["type"], cid["panel"])
        return values[key]
    return values[cid]


def in_process_caller(dash_app, home, reg, template_values: dict):
    """``update_timeline`` called as Dash calls it: the callback context holds the ALL inputs'
    and outputs' ids (the callback reads them to pair values with panels)."""
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    groups = all_groups(dash_app, template_values)
    keys = [p.key for p in reg.ordered()]
    outputs_list = [[{"id": {"type": part, "panel": k}, "property": "children"} for k in keys]
                    for part in home.PANEL_OUTPUTS]

    def call(values: dict):
        args = [[values[k] for k in g] for g in groups]
        token = context_value.set(AttributeDict(
            inputs_list=[[{"id": pattern_id(k), "property": "value", "value": values[k]} for k in g] for g in groups],
            outputs_list=outputs_list))
        try:
            return home.update_timeline(*args, *[values[c] for c in home.GLOBAL_CONTROLS], {}, "en")
        finally:
            context_value.reset(token)

    return call


def time_calls(fn, args_cycle: list, n: int) -> list[float]:
    out = []
    for i in range(n):
        args = args_cycle[i % len(args_cycle)]
        t = time.perf_counter()
        fn(args)
        out.append((time.perf_counter() - t) * 1000)
    return out


def floor_app(fixed_fig):
    """A one-callback Dash app returning a fixed figure: Dash + HTTP + JSON overhead, no work."""
    from dash import Dash, Input, Output, dcc

    app = Dash("floor")
    app.layout = __import__("dash").html.Div([dcc.Graph(id="g"), dcc.Input(id="i")])

    @app.callback(Output("g", "figure"), Input("i", "value"))
    def floor(_):
        return fixed_fig

    return app


def _is_timeline(body: dict) -> bool:
    return '"type":"fig"' in body.get("output", "").replace(" ", "") and ".figure" in body.get("output", "")


def capture_body(browser, base: str) -> dict | None:
    """The JSON body the browser POSTs for the timeline callback when a control changes (the
    callback does not run on page load: the layout carries the first figures)."""
    bodies = []
    ctx = browser.new_context()
    page = ctx.new_page()

    def keep(r):
        if r.method == "POST" and "_dash-update-component" in r.url and r.post_data:
            body = json.loads(r.post_data)
            if _is_timeline(body):
                bodies.append(body)

    page.on("request", keep)
    page.goto(base + "/")
    page.wait_for_function(JS_READY_AT)
    page.wait_for_load_state("networkidle")
    page.locator("#transform input[value=index]").check()
    for _ in range(100):
        if bodies:
            break
        page.wait_for_timeout(100)  # Playwright's sync API processes events only while it waits
    ctx.close()
    return bodies[0] if bodies else None


def construct_body(dash_app, home, values: dict) -> dict:
    """Fallback: the same shape built from the callback's signature."""
    key, cb = timeline_callback(dash_app)
    keys = [p.key for p in __import__("dashboard.registry", fromlist=["registry"]).registry().ordered()]

    def expand(cid: str, prop: str):
        if cid.startswith("{"):
            pattern = json.loads(cid)
            return [{"id": {**pattern, "panel": k}, "property": prop} for k in keys]
        return {"id": cid, "property": prop}

    outputs = [expand(*o.rsplit(".", 1)) for o in key.strip(".").split("...")]
    groups = iter(all_groups(dash_app, values))
    inputs = [[{"id": pattern_id(k), "property": "value", "value": values[k]} for k in next(groups)]
              if i["id"].startswith("{") else {"id": i["id"], "property": "value", "value": values[i["id"]]}
              for i in cb["inputs"]]
    state = [{"id": "zoom", "property": "data", "value": {}}, {"id": "page-lang", "property": "data", "value": "en"}]
    return {"output": key, "outputs": outputs, "inputs": inputs, "changedPropIds": ["transform.value"], "state": state}


def body_for(template: dict, values: dict) -> dict:
    """The template with every control (pattern-matching ones inside the ALL lists) set to ``values``."""
    body = copy.deepcopy(template)
    for inp in body["inputs"]:
        for item in (inp if isinstance(inp, list) else [inp]):
            try:
                item["value"] = value_of(values, item["id"])
            except KeyError:
                pass
    return body


def first_charts(browser, base: str, loads: int) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    for _ in range(loads):
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(base + "/", wait_until="commit")
        cold.append(page.wait_for_function(JS_READY_AT, polling="raf").json_value())
        page.reload(wait_until="commit")
        warm.append(page.wait_for_function(JS_READY_AT, polling="raf").json_value())
        ctx.close()
    return cold, warm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--loads", type=int, default=5)
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    load_start = os.getloadavg()[0]

    import plotly.graph_objects as go
    import requests

    from app import app as dash_app
    # The module Dash loaded: ``pages.home`` today (Dash(__name__) in dashboard/app.py). Importing
    # ``dashboard.pages.home`` as well would run the page twice (duplicate page path, callbacks).
    home = sys.modules.get("dashboard.pages.home") or sys.modules["pages.home"]
    from dashboard.registry import registry

    reg = registry()
    base_values = default_values(home)
    call = in_process_caller(dash_app, home, reg, base_values)
    state_values = {name: {**base_values, **over} for name, over in STATES.items()}
    fixed_fig = go.Figure(go.Scatter(x=list(range(128)), y=list(range(128)), mode="lines"))

    rows = []

    # 1. in-process
    arg_cycle = list(state_values.values())
    for a in arg_cycle:  # warm the store caches once (a running server's steady state)
        call(a)
    # The page memoizes whole views (dashboard.cache): time the work itself with the cache off, as
    # the figures before the cache were taken, and the cached path apart.
    cached_view = home.render_view
    uncached_view = getattr(cached_view, "uncached", cached_view)
    has_view_cache = cached_view is not uncached_view

    @contextlib.contextmanager
    def view_cache_warm(warm_up):
        """The page's memoized renderer for the block (its cache filled by ``warm_up`` first)."""
        home.render_view = cached_view
        try:
            warm_up()
            yield
        finally:
            home.render_view = uncached_view

    home.render_view = uncached_view
    main_ms = time_calls(call, arg_cycle, args.calls)
    floor_ms = time_calls(lambda a: fixed_fig, arg_cycle, args.calls)
    rows.append(("in-process update_timeline", main_ms))
    per_state = {name: main_ms[i::len(arg_cycle)] for i, name in enumerate(state_values)}
    if has_view_cache:
        with view_cache_warm(lambda: [call(a) for a in arg_cycle]):
            rows.append(("in-process, view cache warm", time_calls(call, arg_cycle, args.calls)))
    rows.append(("in-process floor (fixed go.Figure)", floor_ms))

    # 2. HTTP
    srv, base = serve(dash_app.server)
    requests.get(base + "/", timeout=30)  # first request: Dash sets up its callbacks now
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        template = capture_body(browser, base)
        body_source = "captured from Chromium"
        if template is None:
            template, body_source = construct_body(dash_app, home, base_values), "constructed from callback_map"
        bodies = [body_for(template, v) for v in state_values.values()]
        session = requests.Session()
        url = base + "/_dash-update-component"

        def post(body, url=url):
            r = session.post(url, json=body, timeout=30)
            r.raise_for_status()
            return r

        # The per-worker response front (dashboard/response_cache.py) answers a repeated body
        # before Dash: off (a budget of 0 keeps nothing) for the rows that time the render and the
        # view cache, on for its own row.
        front = dash_app.server.extensions.get("xborder_response_cache")
        budget = front.max_bytes if front is not None else 0
        if front is not None:
            front.clear()
            front.max_bytes = 0
        sizes = [len(post(b).content) for b in bodies]  # warm-up, and check every state answers
        http_ms = time_calls(post, bodies, args.calls)
        rows.append(("HTTP update_timeline", http_ms))
        if has_view_cache:
            with view_cache_warm(lambda: [post(b) for b in bodies]):
                rows.append(("HTTP, view cache warm", time_calls(post, bodies, args.calls)))
                if front is not None:
                    front.max_bytes = budget
                    for b in bodies:
                        post(b)
                    rows.append(("HTTP, response cache warm", time_calls(post, bodies, args.calls)))

        fsrv, fbase = serve(floor_app(fixed_fig).server)
        session.get(fbase + "/", timeout=30)
        fbody = {"output": "g.figure", "outputs": {"id": "g", "property": "figure"},
                 "inputs": [{"id": "i", "property": "value", "value": None}], "changedPropIds": ["i.value"]}
        furl = fbase + "/_dash-update-component"
        post(fbody, furl)
        rows.append(("HTTP floor (fixed go.Figure)", time_calls(lambda b: post(b, furl), [fbody], args.calls)))

        # 3. first charts
        cold, warm = first_charts(browser, base, args.loads)
        browser.close()
        fsrv.shutdown()
    srv.shutdown()

    print(f"\nHost: {os.cpu_count()} CPUs, load average {load_start:.1f} at start, "
          f"{os.getloadavg()[0]:.1f} at end (other jobs on the machine inflate every number)")
    print(f"Timeline callback latency, {args.calls} calls each, cycling {len(STATES)} states "
          f"({', '.join(STATES)}); HTTP body {body_source}; response {min(sizes) // 1024}-{max(sizes) // 1024} KiB\n")
    print(f"{'path':<38}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    print("-" * 65)
    for name, ms in rows:
        print(f"{name:<38}{pct(ms, .5):>9.1f}{pct(ms, .95):>9.1f}{max(ms):>9.1f}")
    print("\nin-process update_timeline by state")
    for name, ms in per_state.items():
        print(f"  {name:<36}{pct(ms, .5):>9.1f}{pct(ms, .95):>9.1f}{max(ms):>9.1f}")
    print(f"\nTime to first charts (navigation start -> the {len(DEFAULT_PANELS)} default graphs with data), "
          f"{args.loads} loads")
    print(f"{'':<38}{'median s':>9}{'min s':>9}{'max s':>9}")
    for name, ms in (("cold (new browser context)", cold), ("warm (reload, HTTP cache)", warm)):
        print(f"{name:<38}{statistics.median(ms) / 1000:>9.2f}{min(ms) / 1000:>9.2f}{max(ms) / 1000:>9.2f}")
    p95 = pct(main_ms, .95)
    fc = statistics.median(cold) / 1000
    print(f"\nTargets: in-process p95 < 50 ms: {'PASS' if p95 < 50 else 'FAIL'} ({p95:.1f} ms); "
          f"first charts < 1.5 s: {'PASS' if fc < 1.5 else 'FAIL'} ({fc:.2f} s cold)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
