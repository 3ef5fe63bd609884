"""The serving edge: answers what was already rendered, forwards the rest to the dashboard.

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:8051 app:server         # the renderer
    RENDERER_URL=http://127.0.0.1:8051 gunicorn -c gunicorn.conf.py dashboard.edge:app

Why a second tier: a dashboard worker that renders carries pandas, pyarrow, numpy, plotly and
statsmodels, about 150 MiB of RSS, most of it the libraries' code. On report day most readers ask
for views someone already asked for, and answering those needs none of that. The edge is a small
Flask app (no Dash, no data stack) that keeps the responses the dashboard marks as shareable and
forwards every other request to the renderer: the dashboard itself, run as its own gunicorn. Many
cheap edge workers take the traffic; a few renderers do the work.

What is kept is the renderer's decision (server.EDGE_SHARE_HEADER on a response to a request
the edge marked with server.EDGE_REQUEST_HEADER): pages, their layout and callback map, the page
router, the cacheable callbacks and fingerprinted static files. The key (``shared_key``) holds
everything the dashboard may read from a request and what it renders from, so a kept answer is
the one the renderer would give. Each is kept per content encoding the edge asked for (br, gzip
or none), so a hit is neither rendered nor compressed again. The store is the shared cache (dashboard/cache.py: files under the data directory, or
Redis when REDIS_URL is set, so every edge worker and host shares it), with a small LRU in each
worker in front. Downloads, data tables, errors and health checks always go to the renderer.
The edge reads the data version from the same store as the renderer (XBORDER_DATA_DIR: only
catalog.json and the milestones file); without it, it keeps static files only.

Failures are the edge's to word: a renderer that refuses the connection is 503 with the reason
and Retry-After; one that does not answer within RENDERER_TIMEOUT seconds is 504. The body limit
(MAX_REQUEST_BYTES) applies here, before anything is forwarded. ``/healthz`` is the renderer's
health, or 503 when it cannot be asked: what a load balancer polls.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import quote

import flask
import urllib3

from dashboard import cache, response_cache, server
from dashboard.settings import env_bytes
from etl import paths

log = logging.getLogger(__name__)

RENDERER_ENV = "RENDERER_URL"
TIMEOUT_ENV = "RENDERER_TIMEOUT"
DEFAULT_RENDERER = "http://127.0.0.1:8051"
DEFAULT_TIMEOUT = 25.0       # seconds; under gunicorn's 30 s, so the edge answers before it is killed
HEALTH_TIMEOUT = 3.0
LRU_BYTES_ENV = "EDGE_LRU_BYTES"
DEFAULT_LRU_BYTES = 8 * 1024 * 1024
KEY_PREFIX = "xborder:edge:"
CACHE_HEADER = "X-Cache"     # HIT or MISS, as caching proxies say it
ENCODINGS = ("br", "gzip")   # the renderer's Flask-Compress order
# Hop-by-hop headers (RFC 9110 7.6.1) and those the serving side sets for itself.
NOT_FORWARDED = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                 "transfer-encoding", "upgrade", "content-length", "accept-encoding"}
NOT_RETURNED = NOT_FORWARDED - {"accept-encoding"} | {"date", "server", server.EDGE_SHARE_HEADER.lower()}
PATH_SAFE = "/-._~!$&'()*+,;=:@"   # what a path may carry unescaped (RFC 3986 pchar and "/")


@dataclass(frozen=True)
class Stored:
    """A response as the edge keeps and replays it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    shareable: bool = False

    @property
    def nbytes(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers)


class RendererUnavailable(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def renderer_url() -> str:
    url = (os.environ.get(RENDERER_ENV) or DEFAULT_RENDERER).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{RENDERER_ENV} must be an http(s) URL like {DEFAULT_RENDERER}, got {url!r}")
    return url


def renderer_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 300:
        raise ValueError(f"{TIMEOUT_ENV} must be between 0 and 300 seconds, got {raw!r}")
    return value


def chosen_encoding(req: flask.Request) -> str:
    """The one encoding the edge asks the renderer for and keeps a copy under."""
    for enc in ENCODINGS:
        if req.accept_encodings[enc]:
            return enc
    return "identity"


def shared_key(req: flask.Request) -> str | None:
    """The key a response to ``req`` is kept under: everything the dashboard may read from a
    request (method, URL, body, the Referer that tells /_dash-layout its page, Accept-Language
    for a first visit's language, the host through the public base URL) and what it renders
    from (code and data versions, the UTC day). None for what is never kept."""
    if req.path == "/healthz" or req.method not in ("GET", "POST"):
        return None
    h = hashlib.sha256()
    if req.path.startswith(server.STATIC_PREFIXES):  # the same bytes for everyone, every day
        h.update(f"static|{req.full_path}|{cache.code_version()}".encode("utf-8", "surrogateescape"))
        return KEY_PREFIX + "static:" + h.hexdigest()[:32]
    if not catalog_present():
        # No data version to key on (an edge host without the data store mounted): a kept
        # answer would outlive the next refresh, so nothing but static files is kept.
        _warn_no_catalog(str(paths.catalog_path()))
        return None
    language = " ".join(req.headers.get("Accept-Language", "").lower().split())
    referer = req.headers.get("Referer", "") if req.path.startswith("/_dash-") else ""
    today = datetime.now(timezone.utc).date().isoformat()
    for part in (req.method, req.full_path, referer, language, cache.code_version(), cache.data_version(),
                 server.public_base_url(), today):
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    h.update(req.get_data(cache=True))
    return KEY_PREFIX + h.hexdigest()[:32]


def catalog_present() -> bool:
    return paths.catalog_path().is_file()


@lru_cache(maxsize=1)
def _warn_no_catalog(where: str) -> None:
    log.warning("edge: no catalog at %s, so no data version: pages and views are not kept", where)


def _target(req: flask.Request) -> str:
    query = req.query_string.decode("latin-1")
    return quote(req.path, safe=PATH_SAFE) + (f"?{query}" if query else "")


def forward(pool: urllib3.PoolManager, req: flask.Request, encoding: str) -> Stored:
    """Ask the renderer, as the browser asked the edge, for one encoding."""
    headers = {k: v for k, v in req.headers.items() if k.lower() not in NOT_FORWARDED}
    headers["Accept-Encoding"] = encoding
    headers[server.EDGE_REQUEST_HEADER] = "1"
    headers["X-Forwarded-For"] = ", ".join(filter(None, [req.headers.get("X-Forwarded-For"), req.remote_addr]))
    try:
        r = pool.request(req.method, renderer_url() + _target(req), body=req.get_data(cache=True) or None,
                         headers=headers, redirect=False, retries=False, decode_content=False,
                         timeout=urllib3.Timeout(connect=HEALTH_TIMEOUT, read=renderer_timeout()))
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise RendererUnavailable(504, f"the renderer did not answer within {renderer_timeout():g} s") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise RendererUnavailable(503, f"the renderer could not be reached ({type(exc).__name__})") from exc
    # A HEAD answer has no body to count: its Content-Length is the renderer's, not 0.
    dropped = NOT_RETURNED - {"content-length"} if req.method == "HEAD" else NOT_RETURNED
    kept = tuple((k, v) for k, v in r.headers.items() if k.lower() not in dropped)
    return Stored(r.status, kept, r.data, shareable=r.headers.get(server.EDGE_SHARE_HEADER) == "1")


def _respond(stored: Stored, how: str) -> flask.Response:
    resp = flask.Response(stored.body, status=stored.status)
    resp.headers.clear()
    for k, v in stored.headers:
        resp.headers.add(k, v)
    resp.headers[CACHE_HEADER] = how
    return resp


def _unavailable(exc: RendererUnavailable, path: str) -> flask.Response:
    log.warning("edge: %s (%s)", exc.reason, path)
    text = "The dashboard is busy or restarting; please try again in a moment."
    if path.startswith("/_dash-"):
        resp = flask.jsonify({"error": "renderer unavailable", "reason": exc.reason})
    else:
        resp = flask.Response(f"<!doctype html><title>{exc.status}</title><p>{text}</p>", mimetype="text/html")
    resp.status_code = exc.status
    resp.headers["Retry-After"] = "10"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def create_edge(lru: response_cache.BoundedLRU | None = None) -> flask.Flask:
    app = flask.Flask(__name__)
    server.limit_body(app)
    renderer_url(), renderer_timeout()  # a misconfiguration fails at start, not at the first reader
    size = env_bytes(LRU_BYTES_ENV, DEFAULT_LRU_BYTES, zero_is_off=True)
    local = lru if lru is not None else (response_cache.BoundedLRU(size) if size else None)
    # Connections to the renderer are kept alive and reused; one sync worker needs one at a time.
    pool = urllib3.PoolManager(num_pools=2, maxsize=4, block=False)
    app.extensions["xborder_edge"] = {"lru": local, "pool": pool}

    def lookup(key: str) -> Stored | None:
        hit = local.get(key) if local is not None else None
        if hit is None:
            hit = cache.cache_get(key)
            if isinstance(hit, Stored) and local is not None:
                local.set(key, hit, hit.nbytes)
        return hit if isinstance(hit, Stored) else None

    def keep(key: str, stored: Stored) -> None:
        if local is not None:
            local.set(key, stored, stored.nbytes)
        cache.cache_set(key, stored)

    @app.route("/healthz", methods=["GET", "HEAD"])
    def healthz():
        try:
            r = pool.request("GET", renderer_url() + "/healthz", retries=False,
                             timeout=urllib3.Timeout(connect=HEALTH_TIMEOUT, read=HEALTH_TIMEOUT))
            resp = flask.Response(r.data, status=r.status, mimetype="application/json")
        except urllib3.exceptions.HTTPError as exc:
            body = {"status": "unavailable", "data_version": None, "catalog": {"readable": None}, "sources": {},
                    "problems": [f"renderer at {renderer_url()} not answering: {type(exc).__name__}"]}
            resp = flask.jsonify(body)
            resp.status_code = 503
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.route("/", defaults={"_path": ""}, methods=["GET", "HEAD", "POST"])
    @app.route("/<path:_path>", methods=["GET", "HEAD", "POST"])
    def relay(_path: str):
        req = flask.request
        encoding = chosen_encoding(req)
        key = shared_key(req)
        if key is not None:
            key = f"{key}|{encoding}"
            hit = lookup(key)
            if hit is not None:
                return _respond(hit, "HIT")
        try:
            stored = forward(pool, req, encoding)
        except RendererUnavailable as exc:
            return _unavailable(exc, req.path)
        if key is not None and stored.shareable:
            keep(key, stored)
        return _respond(stored, "MISS")

    @app.after_request
    def _security(resp: flask.Response) -> flask.Response:
        for k, v in server.SECURITY_HEADERS.items():  # the renderer's are passed on; these cover the edge's own
            resp.headers.setdefault(k, v)
        return resp

    return app


app = create_edge()
