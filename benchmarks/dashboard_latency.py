"""Latency of the timeline page: the main callback in-process and over HTTP, and time to first charts.

    .venv/bin/python benchmarks/dashboard_latency.py [--calls 200] [--loads 5]

1. in-process: ``update_timeline(*values)`` (the function Dash runs), cycling over realistic states,
   against a floor callback that only returns a fixed ``go.Figure``;
2. HTTP: POST /_dash-update-component with the JSON body the browser sends (captured from a real
   page load in headless Chromium), against a werkzeug server in a thread; the floor is a one-callback
   Dash app returning the same fixed figure;
3. time to first charts in headless Chromium (browser already launched): navigation start to all three
   graphs having data traces, median of N loads, cold (new context) and warm (reload, HTTP cache).

Targets: p95 < 50 ms in-process; first charts < 1.5 s.
"""

from __future__ import annotations

import argparse
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
GRAPHS = ("fig-deaths", "fig-homicides", "fig-seizures")
JS_READY_AT = """() => {
    const ok = %s.every(id => { const g = document.querySelector('#' + id + ' .js-plotly-plot');
        return g && g._fullData && g._fullData.some(t => t.name !== 'Policy milestones' && t.y && t.y.length); });
    return ok ? performance.now() : false; }""" % json.dumps(list(GRAPHS))

# Realistic states, as overrides of the default control values (control id -> value).
STATES = {
    "default": {},
    "US-AZ per100k": {"us-geo": "US-AZ", "transform": "per100k"},
    "index at milestone": {"transform": "index", "index-at": "security-dialogue",
                           "seize": ["fentanyl", "methamphetamine"]},
    "MX-CHH + firearm": {"mx-geo": "MX-CHH", "firearm": ["on"], "mx-sources": ["sesnsp"]},
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
    from dashboard.state import DEFAULT

    return home.control_values(DEFAULT)


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


def capture_body(browser, base: str) -> dict | None:
    """The JSON body the browser POSTs for the timeline callback on a real page load."""
    bodies = []
    ctx = browser.new_context()
    page = ctx.new_page()
    page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST"
            and "_dash-update-component" in r.url and r.post_data and "fig-deaths.figure" in r.post_data else None)
    page.goto(base + "/")
    page.wait_for_function(JS_READY_AT)
    ctx.close()
    return json.loads(bodies[0]) if bodies else None


def construct_body(dash_app, home, values: dict) -> dict:
    """Fallback: the same shape built from app.callback_map."""
    key = next(k for k in dash_app.callback_map if "fig-deaths.figure" in k)
    outputs = [dict(zip(("id", "property"), o.rsplit(".", 1))) for o in key.strip(".").split("...")]
    return {"output": key, "outputs": outputs,
            "inputs": [{"id": cid, "property": "value", "value": values[cid]} for cid in home.CONTROLS],
            "changedPropIds": [], "state": []}


def body_for(template: dict, values: dict) -> dict:
    body = copy.deepcopy(template)
    for inp in body["inputs"]:
        if inp["id"] in values:
            inp["value"] = values[inp["id"]]
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

    base_values = default_values(home)
    state_values = {name: {**base_values, **over} for name, over in STATES.items()}
    fixed_fig = go.Figure(go.Scatter(x=list(range(128)), y=list(range(128)), mode="lines"))

    rows = []

    # 1. in-process
    arg_cycle = [list(v.values()) for v in state_values.values()]
    for a in arg_cycle:  # warm the store caches once (a running server's steady state)
        home.update_timeline(*a)
    main_ms = time_calls(lambda a: home.update_timeline(*a), arg_cycle, args.calls)
    floor_ms = time_calls(lambda a: fixed_fig, arg_cycle, args.calls)
    rows.append(("in-process update_timeline", main_ms))
    per_state = {name: main_ms[i::len(arg_cycle)] for i, name in enumerate(state_values)}
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

        sizes = [len(post(b).content) for b in bodies]  # warm-up, and check every state answers
        http_ms = time_calls(post, bodies, args.calls)
        rows.append(("HTTP update_timeline", http_ms))

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
    print(f"\nTime to first charts (navigation start -> three graphs with data), {args.loads} loads")
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
