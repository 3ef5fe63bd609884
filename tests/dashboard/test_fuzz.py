"""Fuzzing the served app: hostile query strings on every page and mutated callback payloads.

The real app is served in-process (Werkzeug, threaded) and sent, reproducibly (Hypothesis with
``derandomize=True``):

(a) random query strings built from the real parameter names (the timeline's ``param_table``
    with the older aliases, and the other pages' parameters) with hostile values: huge lists,
    repeated parameters, non-ASCII, empty values, 10,000 repeated items, ``as_of=garbage``,
    ``year=1800``, numbers, JSON. Each one is sent to every page path as the browser does: the
    document (GET), the chrome (GET /_dash-layout with the page as Referer) and the page layout
    (the Pages router callback with that search string).
(b) mutated callback payloads POSTed to /_dash-update-component, built from the real callback
    map (GET /_dash-dependencies) and the components of each page's real layout: wrong types,
    nested lists, huge strings, unknown pattern ids, missing keys, truncated lists.

Both run twice: against the app, and through the serving edge in front of it (a quarter as many
examples there), since the edge reads every request too.

A user depends on this: a bad link or a forged request gets a page, a notice or a 4xx (400/413,
204 for a prevented update), never a server error, and never hangs a worker. Every response
must be under 2 s. Failures list the exact request and the server's traceback.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callback_bodies import UPDATE, Callback, page_paths, router_body, valid_callbacks

MAX_SECONDS = 2.0
# FUZZ_EXAMPLES=<n> runs fewer (or more) of each, for a quick look while editing this file.
N_QUERIES = int(os.environ.get("FUZZ_EXAMPLES", 1000))    # (a): query strings; each goes to every page path
N_PAYLOADS = int(os.environ.get("FUZZ_EXAMPLES", 1000))   # (b): mutated callback payloads
SETTINGS = dict(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=list(HealthCheck))


# --- the served app, with its error log -----------------------------------------------------------


class ServerErrors(logging.Handler):
    """Every ERROR record the app logs (Flask logs an unhandled exception with its traceback)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []
        self._guard = threading.Lock()  # not `lock`: logging.Handler holds its own while emitting

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        with self._guard:
            self.records.append(text)

    def since(self, n: int) -> list[str]:
        with self._guard:
            return self.records[n:]


@pytest.fixture(scope="module", params=["dashboard", "edge"])
def served(request, dash_app, tmp_path_factory):
    """The app, and the app behind the serving edge (dashboard/edge.py, in the same process, so
    a traceback in either is caught): the edge adds its own reading of every request (its key:
    URL, body, Referer, Accept-Language) and must pass every hostile one through unharmed.
    Yields (base URL, server errors, how many examples of each kind)."""
    from werkzeug.serving import make_server

    errors = ServerErrors()
    logging.getLogger().addHandler(errors)
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # the access log: one line per request
    servers = [make_server("127.0.0.1", 0, dash_app.server, threaded=True)]
    with pytest.MonkeyPatch.context() as mp:
        scale = 1
        if request.param == "edge":
            from dashboard import cache, edge

            mp.setenv(edge.RENDERER_ENV, f"http://127.0.0.1:{servers[0].server_port}")
            mp.setenv(cache.DIR_ENV, str(tmp_path_factory.mktemp("edge-cache")))
            servers.append(make_server("127.0.0.1", 0, edge.create_edge(), threaded=True))
            scale = 4  # a quarter as many examples: the app's own handling is fuzzed in full above
        threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in servers]
        for th in threads:
            th.start()
        yield f"http://127.0.0.1:{servers[-1].server_port}", errors, scale
        for srv, th in zip(servers, threads):
            srv.shutdown()
            th.join(timeout=5)
    logging.getLogger().removeHandler(errors)


@dataclass
class Client:
    """Sends requests one at a time (so a server traceback belongs to the request before it) and
    keeps what went wrong."""

    base: str
    errors: ServerErrors
    session: requests.Session = field(default_factory=requests.Session)
    sent: int = 0
    max_latency: float = 0.0
    slowest: str = ""
    statuses: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def send(self, method: str, path: str, what: str, **kw) -> requests.Response | None:
        before = len(self.errors.records)
        start = time.perf_counter()
        try:
            resp = self.session.request(method, self.base + path, timeout=30, **kw)
            status = resp.status_code
        except requests.RequestException as exc:  # the server closed on us: as bad as a 5xx
            resp, status = None, f"no response ({type(exc).__name__})"
        took = time.perf_counter() - start
        self.sent += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if took > self.max_latency:
            self.max_latency, self.slowest = took, what
        logged = self.errors.since(before)
        if not isinstance(status, int) or status >= 500 or took > MAX_SECONDS or logged:
            self.failures.append({"request": what, "status": status, "seconds": round(took, 3),
                                  "server_log": logged[-1] if logged else ""})
        return resp

    def report(self, name: str) -> str:
        return (f"{name}: {self.sent} requests, max latency {self.max_latency:.3f} s ({self.slowest[:120]}), "
                f"statuses {dict(sorted(self.statuses.items(), key=str))}, {len(self.failures)} failures")

    def groups(self) -> dict[str, list[dict]]:
        """Failures by cause: the exception and the innermost frame of the server's traceback
        (or the status and slowness when nothing was logged)."""
        out: dict[str, list[dict]] = {}
        for f in self.failures:
            log = f["server_log"].strip().splitlines()
            frames = [line.strip() for line in log if line.strip().startswith("File ")]
            ours = [f for f in frames if "site-packages" not in f and ("/dashboard/" in f or "/etl/" in f)]
            where = (ours or frames)[-1:] or [""]
            key = f"{log[-1][:200]} at {where[0]}" if log and frames else \
                f"{f['status']}" + (f" slower than {MAX_SECONDS} s" if f["seconds"] > MAX_SECONDS else "")
            out.setdefault(key, []).append(f)
        return out

    def assert_clean(self, name: str) -> None:
        print("\n" + self.report(name))
        groups = self.groups()
        shown = "\n\n".join(
            f"[{len(fs)}x] {cause}\n  e.g. {fs[0]['request'][:1500]}\n  -> {fs[0]['status']} in {fs[0]['seconds']} s"
            f"\n{_tail(fs[0]['server_log'])}" for cause, fs in sorted(groups.items(), key=lambda kv: -len(kv[1])))
        in_app = sum(len(fs) for cause, fs in groups.items() if "site-packages" not in cause.split(" at ")[-1])
        assert self.failures == [], (f"{self.report(name)}; {len(groups)} distinct causes, {in_app} failures raised "
                                     f"in the app's own code, the rest in Dash's request handling:\n\n{shown}")


def _tail(log: str, n: int = 2500) -> str:
    """A traceback's last frames and its exception (a huge value in the message is cut)."""
    lines = [line if len(line) < 400 else line[:400] + "…" for line in log.splitlines()]
    return "\n".join(lines)[-n:]


# --- the app's real surface -------------------------------------------------------------------------


def dependencies(client: Client) -> list[dict]:
    resp = client.send("GET", "/_dash-dependencies", "GET /_dash-dependencies")
    assert resp is not None and resp.status_code == 200
    return resp.json()


# --- hostile values -------------------------------------------------------------------------------

REAL_VALUES = ["US", "US-AZ", "US-NYC", "MX", "MX-CHH", "CBP-SWB", "CBP-SEC-TUCSON", "heroin", "fentanyl",
               "all_drugs,synthetic_opioids", "sesnsp,inegi", "lbs", "events", "ofo", "usbp", "1", "0", "true",
               "2019-01-01", "2015-01-01", "security-dialogue", "cienfuegos-arrest", "per100k", "index", "yoy",
               "counts", "3", "12", "es", "en", "deaths", "homicides,seizures", "2020", "2026-06-27",
               "cbp_seizures.fentanyl_lbs", "sesnsp_homicide.homicidio_doloso", "-rate", "name"]
HOSTILE_VALUES = [
    "", " ", "garbage", "1800", "1800-01-01", "9999-12-31", "0000-00-00", "2019-13-45", "NaT", "nan", "NaN", "inf",
    "-1", "0", "1e308", "-0", "99999999999999999999999", "3.5", "null", "None", "true", "[]", "{}",
    '{"a": [1, 2, {"b": null}]}', "[1, 2, 3]", '["heroin", "cocaine"]', ",", ",,,,", "heroin,,cocaine",
    ",".join(["heroin"] * 10_000), ",".join(["x"] * 10_000), "heroin," * 200, "ñandú", "México–EE. UU.",
    "日本語", "😀" * 50, "\u202e", "\x00", "\r\nSet-Cookie: x=1", "<script>alert(1)</script>", "' OR 1=1 --",
    "../../etc/passwd", "%", "%zz", "%00", "%ff%fe", "a" * 5000, "US-AZ" * 300,
]
OTHER_PAGE_PARAMS = ["series", "geo", "milestone", "window", "gap", "x", "y", "as_of", "year", "us_drug",
                     "mx_source", "sort", "chart", "lang"]
OLD_ALIASES = ["us_geo", "mx_geo", "cbp_geo", "drugs", "predicted", "mx_sources", "firearm", "seize", "measure",
               "component", "start", "end", "transform", "index_at", "rolling", "log", "cats", "hl", "changepoints"]


def param_names() -> list[str]:
    from dashboard import store
    from dashboard.pages import home
    from dashboard.registry import registry
    from dashboard.state import param_table

    table = param_table(registry(), home.geo_choices(), set(store.milestones()["id"]))
    return sorted(set(table) | set(OLD_ALIASES) | set(OTHER_PAGE_PARAMS))


def values():
    return st.one_of(st.sampled_from(REAL_VALUES), st.sampled_from(HOSTILE_VALUES),
                     st.text(max_size=40), st.integers().map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.lists(st.sampled_from(REAL_VALUES + ["bogus", ""]), max_size=300).map(",".join))


@st.composite
def query_strings(draw, names: list[str]) -> str:
    name = st.one_of(st.sampled_from(names), st.sampled_from(names), st.text(min_size=1, max_size=20))
    pairs = draw(st.lists(st.tuples(name, values()), max_size=10))
    if draw(st.booleans()) and pairs and len(pairs[0][1]) < 100:  # one parameter repeated many times
        pairs += [pairs[0]] * draw(st.sampled_from([2, 50, 500]))
    encoded = urlencode(pairs)
    style = draw(st.sampled_from(["encoded", "encoded", "raw", "array"]))
    if style == "raw":  # what a hand-edited link carries: unescaped, non-ASCII, stray % and &
        encoded = "&".join(f"{k}={v}" for k, v in pairs)
        encoded = quote(encoded, safe="=&%,;:/?@+$!*'()[]{}\"<> ")
    elif style == "array":
        encoded += "&" + "&".join(f"{n}[]=1" for n, _ in pairs[:5])
    return "?" + encoded if encoded or draw(st.booleans()) else ""


# --- (a) random query strings on every page ---------------------------------------------------------


def test_random_query_strings_on_every_page_never_fail(served):
    base, errors, scale = served
    client = Client(base, errors)
    route = next(d for d in dependencies(client) if "_pages_content" in d["output"])
    paths, names = page_paths(), param_names()
    assert {"/", "/impact", "/revisions", "/maps", "/sources"} <= set(paths)

    @settings(max_examples=max(1, N_QUERIES // scale), **SETTINGS)
    @given(query=query_strings(names), other=st.sampled_from([p for p in paths if p != "/"]))
    @example(query="?drugs=" + ",".join(["heroin"] * 10_000), other="/embed")
    @example(query="?" + "&".join(["us_geo=US-AZ"] * 10_000), other="/impact")
    @example(query="?as_of=garbage&year=1800&series=garbage", other="/revisions")
    @example(query="?year=1800&us_drug=%00&mx_source=%F0%9F%98%80&sort=[]", other="/maps")
    @example(query='?series={"a":[1,2]}&geo=[]&window=1e308&gap=-1&x=&y=null', other="/impact")
    @example(query="?chart=" + "x" * 5000 + "&start=NaT&end=nan&x0=2030-01-01&x1=1900-01-01", other="/embed")
    @example(query="?lang=es&lang=xx&lang=&panels=deaths,bogus&cats=&hl=" + "é" * 300, other="/sources")
    def send(query, other):
        for path in paths:
            client.send("GET", path + query, f"GET {path}{query}")
        # The chrome and the page layout, which read the query: the timeline's for every query,
        # and one other page's (Hypothesis spreads them over the pages): rendering all six for
        # each of 1,000 queries would take most of ten minutes.
        for path in ("/", other):
            # the chrome, as the renderer asks for it; a browser percent-encodes its Referer
            client.send("GET", "/_dash-layout", f"GET /_dash-layout (Referer {path}{query})",
                        headers={"Referer": requests.utils.requote_uri(base + path + query)})
            client.send("POST", UPDATE, f"router pathname={path!r} search={query!r}",
                        json=router_body(route, path, query))

    send()
    client.assert_clean("query strings")


# --- (b) mutated callback payloads ---------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
              st.sampled_from(REAL_VALUES)),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(st.text(max_size=8), children,
                                                                                max_size=4)),
    max_leaves=20,
)
HUGE_VALUES = st.sampled_from([
    "x" * 30_000, ["heroin"] * 5_000, [[[[["deep"]]]]] * 100, {"x0": "2019-01-01", "x1": "y" * 20_000},
    list(range(5_000)), "ñ" * 20_000, ["x" * 10] * 3_000, 1e308, -1, 10**30, float("inf"),
])


def _slots(body: dict) -> list[tuple[str, int, int | None]]:
    """(section, index, index within a pattern list) of every input and state value."""
    out = []
    for section in ("inputs", "state"):
        items = body.get(section) if isinstance(body, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, list):
                out += [(section, i, j) for j, x in enumerate(item) if isinstance(x, dict)]
            elif isinstance(item, dict):
                out.append((section, i, None))
    return out


def _item(body, slot):
    section, i, j = slot
    return body[section][i] if j is None else body[section][i][j]


MUTATIONS = ("value", "value", "value", "huge", "id", "drop_key", "drop_item_key", "truncate", "extend",
             "output", "changed", "shape")


@st.composite
def mutated(draw, callbacks: list[Callback]):
    cb = draw(st.sampled_from(callbacks))
    body = json.loads(json.dumps(cb.body))
    steps = draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3))
    for step in steps:
        slots = _slots(body)
        if not isinstance(body, dict):
            break
        if step in ("value", "huge", "id", "drop_item_key") and not slots:
            step = "drop_key"
        if step == "value":
            _item(body, draw(st.sampled_from(slots)))["value"] = draw(JSON_VALUES)
        elif step == "huge":
            _item(body, draw(st.sampled_from(slots)))["value"] = draw(HUGE_VALUES)
        elif step == "id":
            item = _item(body, draw(st.sampled_from(slots)))
            cur = item.get("id")
            item["id"] = draw(st.one_of(
                st.builds(lambda c, v: {**cur, c: v} if isinstance(cur, dict) else {"type": c, "id": v},
                          st.sampled_from(["panel", "facet", "type", "id", "extra"]),
                          st.one_of(st.text(max_size=12), st.integers(), st.sampled_from(["bogus", "deaths", ""]))),
                st.sampled_from(["no-such-component", "", 42, None, ["a"], {"type": "facet"}]),
            ))
        elif step == "drop_key" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
        elif step == "drop_item_key":
            item = _item(body, draw(st.sampled_from(slots)))
            item.pop(draw(st.sampled_from(sorted(item))), None)
        elif step == "truncate":
            section = draw(st.sampled_from(["inputs", "state", "outputs"]))
            if isinstance(body.get(section), list) and body[section]:
                body[section] = body[section][:-1] if draw(st.booleans()) else \
                    [x[:-1] if isinstance(x, list) else x for x in body[section]]
        elif step == "extend":
            section = draw(st.sampled_from(["inputs", "state"]))
            if isinstance(body.get(section), list):
                body[section].append(draw(st.sampled_from([
                    {"id": "nope", "property": "value", "value": 1},
                    [{"id": {"type": "facet", "panel": "bogus", "facet": "x"}, "property": "value", "value": ["a"]}],
                    None, "string", 7])))
        elif step == "output":
            body["output"] = draw(st.sampled_from(["nope.children", "", "..a.b...c.d..", "x" * 500,
                                                   callbacks[0].body["output"], 3, None]))
        elif step == "changed":
            body["changedPropIds"] = draw(st.sampled_from([[], ["nope.value"], None, "x", [1, 2], ["." * 50]]))
        elif step == "shape":  # the envelope itself is wrong: nothing more to mutate
            body = draw(st.sampled_from([[], "string", 5, None, {"inputs": {}}, [body], {"output": body.get("output")},
                                         {**body, "inputs": {"a": 1}}, {**body, "state": "s"}]))
            break
    return cb.name, body


def test_mutated_callback_payloads_never_fail(served):
    base, errors, scale = served
    client = Client(base, errors)
    deps = dependencies(client)
    route = next(d for d in deps if "_pages_content" in d["output"])
    callbacks = valid_callbacks(client, deps, route)
    names = {c.name for c in callbacks}
    assert any("panel" in n and "fig" in n for n in names), names     # the timeline's ALL callback
    assert {c.page for c in callbacks} >= {"/", "/impact", "/revisions", "/maps"}
    for cb in callbacks:  # the valid payloads themselves work
        resp = client.send("POST", UPDATE, f"valid {cb.name}: {json.dumps(cb.body)}", json=cb.body)
        assert resp is not None and resp.status_code in (200, 204), (cb.name, resp.status_code if resp else None)

    @settings(max_examples=max(1, N_PAYLOADS // scale), **SETTINGS)
    @given(case=mutated(callbacks), raw=st.sampled_from([False] * 19 + [True]))
    def send(case, raw):
        name, body = case
        data = json.dumps(body)
        if raw:  # not JSON at all, or truncated JSON
            data = data[: len(data) // 2]
        client.send("POST", UPDATE, f"{name}: {data}", data=data.encode(),
                    headers={"Content-Type": "application/json"})

    send()
    client.assert_clean("callback payloads")
