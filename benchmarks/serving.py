"""Serving throughput, latency and memory of the dashboard under gunicorn, against two baselines.

    .venv/bin/python benchmarks/serving.py [--seconds 5] [--rounds 2] [--soak 60] [--workers 2]

Everything runs on loopback, bounded in time (each wrk run lasts --seconds; the whole script a
few minutes) and count. Needs wrk (apt-get install -y wrk) and Chromium (to capture the real
callback body the page sends).

1. Requests/s and p50/p95 of the main timeline callback (POST /_dash-update-component) at 8
   and 32 connections (wrk, a Lua script cycling 8 real views), interleaved round by round, for:
   the dashboard with the shared figure cache off (every request renders), the dashboard with
   the cache warm, (a) a naive plotly-express app (reads the Parquet file and calls px.line in
   its callback, as a tutorial would) and (b) a floor app whose callback returns a fixed figure.
   Every app runs under the repo's gunicorn.conf.py with the same worker count. Requests carry
   no Accept-Encoding (the baselines have no compression); one extra row sends "br, gzip".
2. Uncached render p95 in-process at 1x and 100x rows: every table replicated 100 times into a
   temporary XBORDER_DATA_DIR with shifted series ids and geographies (keys stay unique, the real
   keys are untouched, so each view's answer is the same size at both scales); the store's
   per-series caches are cleared before every call, so each call reads through etl.load.
3. RSS (and PSS, USS) per worker at 1x and 100x after load, against the floor app's, and, for
   memory only, against the floor app importing pandas and pyarrow (what any pandas-based worker
   starts at) and the floor app importing the whole dashboard (a worker that never renders).
4. 50 connections for --soak seconds against the cached dashboard, and against the two-tier
   set-up (dashboard/edge.py in front of the dashboard as renderer): errors must be 0.
5. The two tiers: the edge's req/s and memory, the renderer's memory, and what both tiers take
   of the machine (PSS of all workers) against one tier.

Targets: cached >= 0.5x the floor's req/s; uncached p95 <= 50 ms (1x) and <= 250 ms (100x);
RSS per worker <= 1.5x the floor's at 1x (the serving worker, and the rendering one, both
reported) and growing < 2x from 1x to 100x; 0 errors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
GUNICORN = str(Path(PY).parent / "gunicorn")
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
CONNECTIONS = (8, 32)
SCALE = 100
# Views the wrk script cycles through: (transform, rolling) on top of the captured default view.
VIEWS = [(t, r) for t in ("counts", "per100k", "index", "yoy") for r in (0, 12)]
# In-process views (URL queries of the timeline).
QUERIES = ["", "?transform=per100k", "?transform=index", "?transform=yoy&rolling=12", "?log=1",
           "?transform=per100k&rolling=3"]

FLOOR_APP = '''
import plotly.graph_objects as go
from dash import Dash, Input, Output, dcc, html
FIG = go.Figure(go.Scatter(x=list(range(128)), y=list(range(128)), mode="lines"))
app = Dash("floor")
app.layout = html.Div([dcc.Graph(id="g"), dcc.Input(id="i")])
@app.callback(Output("g", "figure"), Input("i", "value"))
def floor(_):
    return FIG
server = app.server
'''

# Memory context only: the floor app that also imports the data stack every pandas app carries
# (pandas 3 imports pyarrow itself), to tell the libraries' share of RSS from the app's.
FLOOR_PANDAS_APP = FLOOR_APP.replace("import plotly.graph_objects as go", "import pandas\nimport pyarrow.parquet\n"
                                     "import plotly.graph_objects as go")

# Memory context only: the floor app in a process that has also imported (and created) the whole
# dashboard but never renders with it: the least any worker of this code base can hold.
FLOOR_DASHBOARD_APP = "import app as _dashboard  # noqa: F401\n" + FLOOR_APP

NAIVE_APP = '''
import os
import pandas as pd
import plotly.express as px
from dash import Dash, Input, Output, dcc, html
TIDY = os.path.join(os.environ["XBORDER_DATA_DIR"], "tidy")
app = Dash("naive")
app.layout = html.Div([dcc.Input(id="i"), dcc.Graph(id="a"), dcc.Graph(id="b"), dcc.Graph(id="c")])
PANELS = [("cdc_vsrr_overdose", ["cdc_vsrr_overdose.all_drugs", "cdc_vsrr_overdose.synthetic_opioids"], "US"),
          ("sesnsp_homicide", ["sesnsp_homicide.homicidio_doloso"], "MX"),
          ("cbp_seizures", ["cbp_seizures.fentanyl_lbs"], "CBP-SWB")]
@app.callback(Output("a", "figure"), Output("b", "figure"), Output("c", "figure"), Input("i", "value"))
def charts(_):
    figs = []
    for source, series, geo in PANELS:
        df = pd.read_parquet(os.path.join(TIDY, source + ".parquet"))
        df = df[df["series_id"].isin(series) & (df["geo"] == geo) & (df["date"] >= "2015-01-01")]
        figs.append(px.line(df, x="date", y="value", color="series_id"))
    return figs
server = app.server
'''

MAIN_CACHED = '''
import sys
import app as _app
from dashboard import cache
home = sys.modules["dashboard.pages.home"]
if not hasattr(home.render_view, "uncached"):  # until the page wraps it itself
    home.render_view = cache.memoize_view(home.render_view)
server = _app.server
'''

SIMPLE_BODY = {"output": "..a.figure...b.figure...c.figure..",
               "outputs": [{"id": k, "property": "figure"} for k in "abc"],
               "inputs": [{"id": "i", "property": "value", "value": None}], "changedPropIds": ["i.value"]}
FLOOR_BODY = {"output": "g.figure", "outputs": {"id": "g", "property": "figure"},
              "inputs": [{"id": "i", "property": "value", "value": None}], "changedPropIds": ["i.value"]}

WRK_LUA = '''
local bodies = { %s }
local i = 0
local headers = { ["Content-Type"] = "application/json" %s }
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", "/_dash-update-component", headers, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKJSON {\\"requests\\":%%d,\\"duration_us\\":%%d,\\"connect\\":%%d,\\"read\\":%%d," ..
    "\\"write\\":%%d,\\"status\\":%%d,\\"timeout\\":%%d,\\"p50_us\\":%%d,\\"p95_us\\":%%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95)))
end
'''


# ---------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def post(url: str, body: dict, encoding: str | None = None) -> bytes:
    req = urllib.request.Request(url + "/_dash-update-component", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **({"Accept-Encoding": encoding}
                                                                                 if encoding else {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


class Gunicorn:
    """One app under the repo's gunicorn.conf.py on a free loopback port."""

    def __init__(self, name: str, app_spec: str, env: dict, workers: int, pythonpath: Path | None = None):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "WEB_CONCURRENCY": str(workers), "PRERENDER": "0",
                    "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_MAX_REQUESTS": "0"}
        cmd = [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "--log-level", "warning"]
        if pythonpath:
            cmd += ["--pythonpath", str(pythonpath)]
        self.proc = subprocess.Popen(cmd + [app_spec], cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        wait_http(self.url + "/")

    def worker_memory(self) -> list[tuple[float, float, float]]:
        """(RSS, PSS, USS) of each worker, MiB: all its pages, its share of them, its own."""
        import psutil

        out = []
        for child in psutil.Process(self.proc.pid).children():
            info = child.memory_full_info()
            out.append((info.rss / 2**20, info.pss / 2**20, info.uss / 2**20))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def lua_script(bodies: list[dict], path: Path, encoding: str | None = None) -> Path:
    quoted = ", ".join(f"[==[{json.dumps(b)}]==]" for b in bodies)
    extra = f', ["Accept-Encoding"] = "{encoding}"' if encoding else ""
    path.write_text(WRK_LUA % (quoted, extra))
    return path


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict:
    threads = min(2, connections)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s",
                          "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary: {out.stdout}\n{out.stderr}")
    r = json.loads(line[8:])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return r


def capture_timeline_body(url: str) -> dict:
    """The JSON body the browser POSTs for the timeline callback (triggered by one control)."""
    from playwright.sync_api import sync_playwright

    bodies = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        page = browser.new_page()
        page.on("request", lambda r: bodies.append(r.post_data) if r.method == "POST"
                and "_dash-update-component" in r.url and r.post_data and "view-query" in r.post_data else None)
        page.goto(url + "/")
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.evaluate("() => window.dash_clientside.set_props('transform', {value: 'per100k'})")
        deadline = time.time() + 30
        while not bodies and time.time() < deadline:
            page.wait_for_timeout(100)
        browser.close()
    if not bodies:
        raise RuntimeError("the page sent no timeline callback after a control changed")
    return json.loads(bodies[0])


def view_bodies(template: dict) -> list[dict]:
    out = []
    for transform, rolling in VIEWS:
        body = json.loads(json.dumps(template))
        for inp in body["inputs"]:
            if isinstance(inp, dict) and inp.get("id") == "transform":
                inp["value"] = transform
            if isinstance(inp, dict) and inp.get("id") == "rolling":
                inp["value"] = rolling
        out.append(body)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# ---------------------------------------------------------------- 100x data

def build_scaled_data_dir(target: Path, factor: int) -> dict[str, int]:
    """The repo's data dir with every tidy table replicated ``factor`` times: replica k's series ids
    get the suffix _rk and its geographies -Rk, so (series_id, geo, date) stays unique."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from etl import paths

    src = paths.data_dir()
    target.mkdir(parents=True)
    for part in ("reference", "milestones", "geo"):
        if (src / part).is_dir():
            shutil.copytree(src / part, target / part)
    catalog = json.loads((src / "catalog.json").read_text())
    (target / "tidy").mkdir()
    rows = {}
    for f in sorted((src / "tidy").glob("*.parquet")):
        t = pq.read_table(f)
        parts = [t]
        empty = pa.scalar("", pa.large_string())
        for k in range(1, factor):
            sfx = pa.scalar(f"_r{k:03d}", pa.large_string())
            gsfx = pa.scalar(f"-R{k:03d}", pa.large_string())
            parts.append(t.set_column(t.schema.get_field_index("series_id"), "series_id",
                                      pc.binary_join_element_wise(t["series_id"].cast(pa.large_string()), sfx, empty)
                                      .cast(t.schema.field("series_id").type))
                          .set_column(t.schema.get_field_index("geo"), "geo",
                                      pc.binary_join_element_wise(t["geo"].cast(pa.large_string()), gsfx, empty)
                                      .cast(t.schema.field("geo").type)))
        big = pa.concat_tables(parts).sort_by([("series_id", "ascending"), ("geo", "ascending"),
                                               ("date", "ascending")])
        pq.write_table(big, target / "tidy" / f.name, compression="zstd")
        rows[f.stem] = big.num_rows
        if f.stem in catalog.get("sources", {}):
            catalog["sources"][f.stem]["rows"] = big.num_rows
            catalog["sources"][f.stem]["parquet_md5"] = f"x{factor}-{catalog['sources'][f.stem].get('parquet_md5')}"
        del big, parts
    (target / "catalog.json").write_text(json.dumps(catalog, indent=2))
    return rows


# ---------------------------------------------------------------- in-process mode (a subprocess)

def inprocess(calls: int) -> dict:
    """Uncached render latency of the timeline in this process (XBORDER_DATA_DIR chooses the data)."""
    import logging

    logging.disable(logging.WARNING)
    import app  # noqa: F401  (registers the pages)
    from dashboard import store

    home = sys.modules["dashboard.pages.home"]
    render = getattr(home.render_view, "uncached", home.render_view)
    states = [home.parse_url(q) for q in QUERIES]
    data_caches = [getattr(store, n) for n in ("_series", "_series_all", "_population") if hasattr(store, n)]
    for s in states:  # import-time work and metadata caches: a running worker's steady state
        render(s.state, s.notices)
    cold, warm = [], []
    for i in range(calls):
        s = states[i % len(states)]
        for c in data_caches:
            c.cache_clear()
        t = time.perf_counter()
        render(s.state, s.notices)
        cold.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        render(s.state, s.notices)
        warm.append((time.perf_counter() - t) * 1000)
    return {"cold_p50": pct(cold, .5), "cold_p95": pct(cold, .95), "warm_p50": pct(warm, .5),
            "warm_p95": pct(warm, .95), "notices": sum(len(s.notices) for s in states)}


def run_inprocess(data_dir: Path, calls: int) -> dict:
    env = {**os.environ, "XBORDER_DATA_DIR": str(data_dir), "FIGURE_CACHE": "off"}
    out = subprocess.run([PY, __file__, "--inprocess", str(calls)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("INPROC ")), None)
    if line is None:
        raise RuntimeError(f"in-process run failed:\n{out.stderr[-3000:]}")
    return json.loads(line[7:])


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (medians are reported)")
    ap.add_argument("--soak", type=int, default=60, help="seconds of the 50-connection run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--calls", type=int, default=60, help="in-process calls per scale")
    ap.add_argument("--inprocess", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inprocess:
        print("INPROC " + json.dumps(inprocess(args.inprocess)))
        return 0
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    from etl import paths

    started = time.time()
    load_start = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="xborder-serving-"))
    servers: list[Gunicorn] = []
    try:
        (tmp / "floor_app.py").write_text(textwrap.dedent(FLOOR_APP))
        (tmp / "naive_app.py").write_text(textwrap.dedent(NAIVE_APP))
        (tmp / "floor_pandas_app.py").write_text(textwrap.dedent(FLOOR_PANDAS_APP))
        (tmp / "floor_dashboard_app.py").write_text(textwrap.dedent(FLOOR_DASHBOARD_APP))
        (tmp / "main_cached.py").write_text(textwrap.dedent(MAIN_CACHED))
        data1 = paths.data_dir()
        fig_dir = tmp / "figures"
        common = {"XBORDER_DATA_DIR": str(data1)}
        apps = {
            "floor (fixed figure)": Gunicorn("floor", "floor_app:server", common, args.workers, tmp),
            "naive plotly-express": Gunicorn("naive", "naive_app:server", common, args.workers, tmp),
            "dashboard, cache off": Gunicorn("main-off", "app:server", {**common, "FIGURE_CACHE": "off"},
                                             args.workers),
            "dashboard, cache warm": Gunicorn("main-cached", "main_cached:server",
                                              {**common, "XBORDER_FIGURE_CACHE_DIR": str(fig_dir)}, args.workers, tmp),
        }
        servers.extend(apps.values())
        # Two tiers: the edge (no data stack) in front of the dashboard as its renderer.
        renderer = Gunicorn("renderer", "app:server", {**common, "XBORDER_FIGURE_CACHE_DIR": str(tmp / "figures-r")},
                            args.workers)
        servers.append(renderer)
        apps["edge -> renderer, warm"] = Gunicorn(
            "edge", "dashboard.edge:app", {**common, "RENDERER_URL": renderer.url,
                                           "XBORDER_FIGURE_CACHE_DIR": str(tmp / "figures-r")}, args.workers)
        servers.append(apps["edge -> renderer, warm"])
        floor_pandas = Gunicorn("floor-pandas", "floor_pandas_app:server", common, args.workers, tmp)
        floor_dashboard = Gunicorn("floor-dashboard", "floor_dashboard_app:server", common, args.workers, tmp)
        servers.extend([floor_pandas, floor_dashboard])
        for baseline in (floor_pandas, floor_dashboard):
            for _ in range(20 * args.workers):  # every worker answers, as the floor's did under wrk
                post(baseline.url, FLOOR_BODY)
        template = capture_timeline_body(apps["dashboard, cache off"].url)
        bodies = view_bodies(template)
        sizes = [len(post(apps["dashboard, cache warm"].url, b)) for b in bodies]  # warms the cache too
        for b in bodies:
            post(apps["edge -> renderer, warm"].url, b)
        scripts = {
            "floor (fixed figure)": lua_script([FLOOR_BODY], tmp / "floor.lua"),
            "naive plotly-express": lua_script([SIMPLE_BODY], tmp / "naive.lua"),
            "dashboard, cache off": lua_script(bodies, tmp / "main.lua"),
            "dashboard, cache warm": lua_script(bodies, tmp / "main.lua"),
            "edge -> renderer, warm": lua_script(bodies, tmp / "main.lua"),
        }
        post(apps["naive plotly-express"].url, SIMPLE_BODY)
        post(apps["floor (fixed figure)"].url, FLOOR_BODY)
        results: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.rounds):  # interleaved: machine noise hits every app alike
            for name, srv in apps.items():
                for c in CONNECTIONS:
                    results.setdefault((name, c), []).append(wrk(srv.url, scripts[name], c, args.seconds))
        br = wrk(apps["dashboard, cache warm"].url, lua_script(bodies, tmp / "main_br.lua", "br, gzip"), 8,
                 args.seconds)
        mem1 = {name: srv.worker_memory() for name, srv in apps.items()}
        mem1["floor + pandas/pyarrow import"] = floor_pandas.worker_memory()
        mem1["floor + dashboard import"] = floor_dashboard.worker_memory()
        mem1["renderer behind the edge"] = renderer.worker_memory()

        soak = wrk(apps["dashboard, cache warm"].url, scripts["dashboard, cache warm"], 50, args.soak)
        soak_edge = wrk(apps["edge -> renderer, warm"].url, scripts["edge -> renderer, warm"], 50, args.soak)
        for srv in servers:
            srv.stop()
        servers.clear()

        # 100x rows
        data100 = tmp / "data100"
        t0 = time.time()
        rows100 = build_scaled_data_dir(data100, SCALE)
        build_s = time.time() - t0
        # What the ETL's end-of-run hook (prerender_defaults) does: index the new tables once.
        subprocess.run([PY, "-c", "from etl.tidy_index import build_all; build_all()"], cwd=ROOT, check=True,
                       env={**os.environ, "XBORDER_DATA_DIR": str(data100)}, timeout=600)
        inproc1 = run_inprocess(data1, args.calls)
        inproc100 = run_inprocess(data100, args.calls)
        big = Gunicorn("main-100x", "app:server", {"XBORDER_DATA_DIR": str(data100), "FIGURE_CACHE": "off"},
                       args.workers)
        servers.append(big)
        big_run, big_error = None, ""
        try:
            for b in bodies * 2:
                post(big.url, b)
            big_run = wrk(big.url, scripts["dashboard, cache off"], 8, args.seconds)
        except (OSError, RuntimeError) as exc:  # say why, keep the other figures
            big.stop()
            big_error = f"{exc}; server log: {big.proc.stderr.read().decode(errors='replace')[-1500:]}"
        mem100 = big.worker_memory() if big.proc.poll() is None else []
        big.stop()
        servers.clear()
        # The edge at 100x: it never reads a table, so its memory should not move.
        renderer100 = Gunicorn("renderer-100x", "app:server", {"XBORDER_DATA_DIR": str(data100),
                                                               "XBORDER_FIGURE_CACHE_DIR": str(tmp / "figures-100")},
                               args.workers)
        servers.append(renderer100)
        edge100 = Gunicorn("edge-100x", "dashboard.edge:app",
                           {"XBORDER_DATA_DIR": str(data100), "RENDERER_URL": renderer100.url,
                            "XBORDER_FIGURE_CACHE_DIR": str(tmp / "figures-100")}, args.workers)
        servers.append(edge100)
        for b in bodies * (2 * args.workers):
            post(edge100.url, b)
        edge_run100 = wrk(edge100.url, scripts["edge -> renderer, warm"], 8, args.seconds)
        edge_mem100 = edge100.worker_memory()
        for srv in servers:
            srv.stop()
        servers.clear()
    finally:
        for srv in servers:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def med(name, c, key):
        return statistics.median(r[key] for r in results[(name, c)])

    floor = {c: med("floor (fixed figure)", c, "rps") for c in CONNECTIONS}
    print(f"\nHost: {os.cpu_count()} CPUs, load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
          f"{args.workers} sync workers per app (gunicorn.conf.py); wrk {args.seconds} s x {args.rounds} "
          f"interleaved rounds, medians; main callback response {min(sizes) // 1024}-{max(sizes) // 1024} KiB, "
          f"{len(bodies)} views cycled\n")
    print(f"{'app':<26}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'vs floor':>10}")
    print("-" * 77)
    for name in apps:
        for c in CONNECTIONS:
            rps = med(name, c, "rps")
            errs = sum(r["errors"] for r in results[(name, c)])
            print(f"{name:<26}{c:>6}{rps:>9.0f}{med(name, c, 'p50_us') / 1000:>9.1f}"
                  f"{med(name, c, 'p95_us') / 1000:>9.1f}{errs:>8}{rps / floor[c]:>9.2f}x")
    print(f"{'dashboard, cache warm, br':<26}{8:>6}{br['rps']:>9.0f}{br['p50_us'] / 1000:>9.1f}"
          f"{br['p95_us'] / 1000:>9.1f}{br['errors']:>8}{br['rps'] / floor[8]:>9.2f}x")
    print(f"{'edge -> renderer 100x, warm':<26}{8:>6}{edge_run100['rps']:>9.0f}{edge_run100['p50_us'] / 1000:>9.1f}"
          f"{edge_run100['p95_us'] / 1000:>9.1f}{edge_run100['errors']:>8}{edge_run100['rps'] / floor[8]:>9.2f}x")
    if big_run:
        print(f"{'dashboard 100x, cache off':<26}{8:>6}{big_run['rps']:>9.0f}{big_run['p50_us'] / 1000:>9.1f}"
              f"{big_run['p95_us'] / 1000:>9.1f}{big_run['errors']:>8}{big_run['rps'] / floor[8]:>9.2f}x")
    else:
        print(f"dashboard 100x over HTTP failed: {big_error}")

    print(f"\nUncached render of the timeline in-process ({args.calls} calls, {len(QUERIES)} views; store "
          f"caches cleared before each call = cold; the same call repeated = warm store)")
    print(f"100x data: {sum(rows100.values()):,} rows ({', '.join(f'{k} {v:,}' for k, v in rows100.items())}), "
          f"built in {build_s:.0f} s")
    print(f"{'scale':<8}{'cold p50':>10}{'cold p95':>10}{'warm p50':>10}{'warm p95':>10}")
    for label, r in (("1x", inproc1), (f"{SCALE}x", inproc100)):
        print(f"{label:<8}{r['cold_p50']:>10.1f}{r['cold_p95']:>10.1f}{r['warm_p50']:>10.1f}{r['warm_p95']:>10.1f}")

    def mem_row(label, ws):
        rss, pss, uss = ([w[i] for w in ws] for i in range(3))
        print(f"{label:<40}{statistics.mean(rss):>9.0f}{max(rss):>9.0f}{statistics.mean(pss):>10.0f}"
              f"{statistics.mean(uss):>10.0f}")
        return max(rss)

    print(f"\n{'Memory per worker after the runs (MiB)':<40}{'RSS mean':>9}{'RSS max':>9}{'PSS mean':>10}{'USS mean':>10}")
    floor_rss = mem_row("floor (fixed figure)", mem1["floor (fixed figure)"])
    lib_floor = mem_row("floor + pandas/pyarrow import", mem1["floor + pandas/pyarrow import"])
    import_floor = mem_row("floor + dashboard import (never renders)", mem1["floor + dashboard import"])
    mem_row("naive plotly-express", mem1["naive plotly-express"])
    main1 = mem_row("dashboard 1x (cache off)", mem1["dashboard, cache off"])
    mem_row("dashboard 1x (cache warm)", mem1["dashboard, cache warm"])
    main100 = mem_row(f"dashboard {SCALE}x (cache off)", mem100) if mem100 else float("nan")
    edge1 = mem_row("edge (serves kept answers)", mem1["edge -> renderer, warm"])
    edge100 = mem_row(f"edge {SCALE}x", edge_mem100)
    mem_row("renderer behind the edge", mem1["renderer behind the edge"])

    def pss(ws):
        return sum(w[1] for w in ws)

    one_tier = pss(mem1["dashboard, cache warm"])
    two_tier = pss(mem1["edge -> renderer, warm"]) + pss(mem1["renderer behind the edge"])
    print(f"Machine memory (PSS of all workers): one tier {one_tier:.0f} MiB for {args.workers} workers; "
          f"two tiers {two_tier:.0f} MiB for {args.workers} edge + {args.workers} renderer workers")

    for label, run in (("cached dashboard", soak), ("edge -> renderer", soak_edge)):
        print(f"\n50 connections for {args.soak} s ({label}): {run['requests']} requests, "
              f"{run['rps']:.0f} req/s, p95 {run['p95_us'] / 1000:.1f} ms, errors {run['errors']} "
              f"(connect {run['connect']}, read {run['read']}, write {run['write']}, status {run['status']}, "
              f"timeout {run['timeout']})", end="")
    print()
    cached8 = med("dashboard, cache warm", 8, "rps") / floor[8]
    cached32 = med("dashboard, cache warm", 32, "rps") / floor[32]

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    print("\nTargets:")
    print(f"  cached >= 0.5x floor: {verdict(min(cached8, cached32) >= 0.5)} ({cached8:.2f}x at 8, {cached32:.2f}x at 32)")
    print(f"  uncached p95 <= 50 ms at 1x: {verdict(inproc1['cold_p95'] <= 50)} ({inproc1['cold_p95']:.1f} ms)")
    print(f"  uncached p95 <= 250 ms at {SCALE}x: {verdict(inproc100['cold_p95'] <= 250)} "
          f"({inproc100['cold_p95']:.1f} ms)")
    edge8 = med("edge -> renderer, warm", 8, "rps") / floor[8]
    edge32 = med("edge -> renderer, warm", 32, "rps") / floor[32]
    print(f"  cached through the edge >= 0.5x floor: {verdict(min(edge8, edge32) >= 0.5)} "
          f"({edge8:.2f}x at 8, {edge32:.2f}x at 32)")
    print(f"  RSS <= 1.5x floor at 1x, serving worker (edge): {verdict(edge1 <= 1.5 * floor_rss)} "
          f"({edge1 / floor_rss:.2f}x)")
    print(f"  RSS <= 1.5x floor at 1x, rendering worker: {verdict(main1 <= 1.5 * floor_rss)} "
          f"({main1 / floor_rss:.2f}x; the floor with pandas/pyarrow imported is {lib_floor / floor_rss:.2f}x, "
          f"with the dashboard imported and never rendering {import_floor / floor_rss:.2f}x)")
    print(f"  RSS growth 1x -> {SCALE}x < 2x: {verdict(main100 < 2 * main1 and edge100 < 2 * edge1)} "
          f"(rendering worker {main100 / main1:.2f}x, edge {edge100 / edge1:.2f}x)")
    print(f"  0 errors under 50 connections: {verdict(soak['errors'] == 0 and soak_edge['errors'] == 0)} "
          f"(cached dashboard {soak['errors']}, edge {soak_edge['errors']})")
    print(f"\nTotal time {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
