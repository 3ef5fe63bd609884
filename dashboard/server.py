"""Serving hardening at the Flask level: request limits, health, security headers, compression,
cache lifetimes, no version disclosure, a trusted public base URL, and the Graph config.

``harden(app)`` is the one call ``create_app`` makes, last (after the index string is final).
Everything is configured by environment variables (see ENV below); nothing here reads data at
import time or imports the pages.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import os
import re
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import urlsplit

import flask
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard import payload, response_cache
from dashboard.settings import env_bytes
from etl.metadata import is_stale

log = logging.getLogger(__name__)

# Environment variables an operator sets (documented in the README's serving section).
ENV = {
    "MAX_REQUEST_BYTES": "largest request body accepted (default 65536); larger gets 413",
    "PUBLIC_BASE_URL": "the site's public address for permalinks, e.g. https://xborder.example.org",
    "ALLOWED_HOSTS": "comma-separated host names whose Host header may stand in for PUBLIC_BASE_URL",
    "FRAME_ANCESTORS": "CSP frame-ancestors for /embed pages (default *); other pages are 'self' only",
}
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024  # the largest real callback body is ~3 KB; Dash needs no uploads here
FALLBACK_BASE_URL = "http://127.0.0.1:8050"
LOOPBACK_NAMES = {"localhost"}
EMBED_PREFIX = "/embed"
# The serving edge marks the requests it forwards; on those, a response it may keep for every
# reader says so (and the edge removes the mark before a browser sees it).
EDGE_REQUEST_HEADER = "X-Xborder-Edge"
EDGE_SHARE_HEADER = "X-Xborder-Edge-Share"
PAGE_ROUTER = "_pages_content.children"  # Dash Pages' callback that draws a page for its URL

# Merge into every dcc.Graph config (harden also applies it app-wide through Plotly.setPlotConfig):
# plotly.js 4 shows a "send to cloud" button by default, which posts the chart's data off-site.
GRAPH_CONFIG = {
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "displaylogo": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"],
}

# The Content-Security-Policy. Inline <script>s on a page (Dash's renderer bootstrap, clientside
# callbacks, the index's own loader) are allowed by their sha256 hashes, computed from the page
# itself, so any other inline script, and every injected one, is refused. style-src needs
# 'unsafe-inline': plotly.js injects <style> rules at run time and React sets style attributes;
# styles cannot run code. img-src data:/blob: for plotly's legend swatches and PNG export;
# worker-src blob: for the map renderer (maplibre) on the Maps page.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Compression: brotli first (smallest JS), then gzip for every client.
COMPRESS = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/plain", "text/javascript", "application/javascript",
                           "application/json", "image/svg+xml", "application/geo+json"],
    "COMPRESS_LEVEL": 6,
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_MIN_SIZE": 1024,
}
ONE_YEAR = 31_536_000
# Fingerprinted URLs never change content: Dash's ?m=<mtime> assets, its .v<version>m<hash>.
# component bundles, and vendored files whose name carries their version.
FINGERPRINTED_PATH = re.compile(r"\.v[\w-]+m[0-9a-fA-F]+\.|-\d+\.\d+\.\d+(\.min)?\.js$")
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
DISCLOSING_CONFIG = ("python_version", "dash_version", "plotly_version", "ddk_version", "dash_version_url")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S | re.I)

# App-wide Graph config: applied to window.Plotly as soon as it exists (the basic bundle loads
# before the renderer; the full bundle on /maps is loaded later by dcc.Graph).
PLOTLY_CONFIG_SCRIPT = (
    "<script>(function(c){function a(P){if(P&&P.setPlotConfig)P.setPlotConfig(c);}"
    "if(window.Plotly){a(window.Plotly);return;}var v;Object.defineProperty(window,'Plotly',"
    "{configurable:true,enumerable:true,get:function(){return v;},set:function(P){v=P;a(P);}});})(%s);</script>"
)


def max_request_bytes() -> int:
    return env_bytes("MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES, zero_is_off=False)


def harden(app) -> None:
    """Install every serving hook on a Dash app (call once, last in create_app)."""
    server = app.server
    limit_body(server)
    _hide_versions(app)
    app.index_string = app.index_string.replace(
        "{%scripts%}", PLOTLY_CONFIG_SCRIPT % json.dumps(GRAPH_CONFIG, separators=(",", ":")) + "{%scripts%}", 1)

    @server.before_request
    def _check_callback_shape():
        # A forged callback body would make Dash itself raise (a 500): answer 400 with the reason.
        req = flask.request
        if req.method != "POST" or not req.path.endswith("/_dash-update-component"):
            return None
        reason = payload.problem(req.get_json(silent=True), app.callback_map)
        if reason:
            return flask.jsonify({"error": "malformed callback request", "reason": reason}), 400
        return None

    server.add_url_rule("/healthz", "healthz", _healthz_view, methods=["GET", "HEAD"])

    from flask_compress import Compress

    server.config.update(COMPRESS)
    server.config["COMPRESS_CACHE_BACKEND"] = _CompressedAssets
    server.config["COMPRESS_CACHE_KEY"] = _compress_key
    Compress(server)

    # Registered after Compress: Flask runs after_request hooks last-registered first, so the
    # headers are set and file responses buffered before compression sees them.
    server.after_request(_headers)
    # Last: its before_request hook runs after the body checks, and its after_request hook keeps
    # the response before compression (whose variants it keeps too, see _CompressedAssets).
    response_cache.install(app)


def limit_body(server: flask.Flask) -> None:
    """413 for a body over MAX_REQUEST_BYTES, refused unread (the dashboard and the edge)."""
    limit = max_request_bytes()
    server.config["MAX_CONTENT_LENGTH"] = limit

    @server.before_request
    def _limit_body():
        # Refuse before anything reads the body: a declared length over the limit never reaches
        # Dash. A chunked body without a length is cut at the limit by Werkzeug (also 413).
        n = flask.request.content_length
        if n is not None and n > limit:
            raise RequestEntityTooLarge()

    @server.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        body = {"error": "request body too large", "limit_bytes": limit,
                "hint": "a dashboard callback is a few kilobytes; this request was refused unread"}
        return flask.jsonify(body), 413


# ---------------------------------------------------------------- versions

def _hide_versions(app) -> None:
    """Dash writes the Python, Dash and plotly versions into every page's config; the renderer
    needs them only for its debug menu, so they go unless debug tools are on."""
    original = app._config

    def _config():
        cfg = original()
        if not app._dev_tools.ui:
            for key in DISCLOSING_CONFIG:
                cfg.pop(key, None)
        return cfg

    app._config = _config


# ---------------------------------------------------------------- public base URL

def public_base_url() -> str:
    """The base of every permalink: PUBLIC_BASE_URL when set; otherwise the request's own host
    only if it is allow-listed (ALLOWED_HOSTS) or loopback, so a forged Host header never ends up
    in a citation. Outside a request, or for an untrusted host, the local address."""
    configured = os.environ.get("PUBLIC_BASE_URL", "").strip()
    if configured:
        parts = urlsplit(configured)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"PUBLIC_BASE_URL must be an http(s) URL like https://example.org, got {configured!r}")
        return configured.rstrip("/")
    if not flask.has_request_context():
        return FALLBACK_BASE_URL
    host = flask.request.host
    if _trusted_host(host):
        return flask.request.host_url.rstrip("/")
    _warn_untrusted(host)
    return FALLBACK_BASE_URL


def _trusted_host(host: str) -> bool:
    name = urlsplit(f"//{host}").hostname or ""
    allowed = {h.strip().lower() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()}
    if name.lower() in allowed or name.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=64)
def _warn_untrusted(host: str) -> None:
    log.warning("Host %r is neither PUBLIC_BASE_URL nor in ALLOWED_HOSTS: permalinks use %s",
                host, FALLBACK_BASE_URL)


# ---------------------------------------------------------------- health

def health() -> tuple[dict, int]:
    """(body, HTTP status). 503 "unavailable" when the data is unusable: the catalog unreadable, a
    table the catalog lists missing, or no table at all. 200 "degraded" when a source is stale or
    not built yet (its pages say how to build it), 200 "ok" otherwise."""
    from etl import paths

    cat_path = paths.catalog_path()
    try:
        stat = cat_path.stat()
    except OSError as exc:
        return _unhealthy(f"catalog {cat_path.name} unreadable: {exc.strerror or exc}"), 503
    body = _health_for(str(cat_path), stat.st_mtime_ns, stat.st_size, _tables_token(),
                       datetime.now(timezone.utc).date().isoformat())
    return body, 200 if body["status"] != "unavailable" else 503


def _tables_token() -> tuple:
    from etl import paths

    tidy = paths.data_dir() / "tidy"
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in tidy.glob("*.parquet")))
    except OSError:
        return ()


@lru_cache(maxsize=4)
def _health_for(cat_path: str, _mtime_ns: int, _size: int, _tables: tuple, _today: str) -> dict:
    # Cached on the catalog's and tables' stat and the day (ages): a balancer polling every second
    # costs a few stats.
    from etl import paths
    from etl.registry import all_sources

    try:
        with open(cat_path, encoding="utf-8") as fh:
            cat = json.load(fh)
        entries = cat["sources"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _unhealthy(f"catalog unreadable: {type(exc).__name__}: {exc}")
    now = datetime.now(timezone.utc)
    problems, sources = [], {}
    for sid, src in sorted(all_sources().items()):
        entry = entries.get(sid) or {}
        table = paths.tidy_path(sid).is_file()
        age = _age_days(entry.get("snapshot"), now)
        cadence = src.meta.cadence_days
        info = {
            "status": entry.get("status", "not built"),
            "table": table,
            "snapshot": entry.get("snapshot"),
            "built_at": entry.get("built_at"),
            "date_max": entry.get("date_max"),
            "age_days": age,
            "cadence_days": cadence,
            "stale": is_stale(age, cadence),
            "last_attempt": {k: (cat.get("attempts", {}).get(sid) or {}).get(k) for k in ("at", "status", "error")},
        }
        if not table and entry:
            # built once (the catalog lists it) and now gone: an unmounted or half-copied store
            problems.append(f"{sid}: tidy table missing ({paths.tidy_path(sid).name}) though the catalog lists it")
        sources[sid] = info
    if not any(s["table"] for s in sources.values()):
        problems.append("no tidy table at all: run `python -m etl run --offline`")
    fingerprints = "|".join(f"{sid}:{(entries.get(sid) or {}).get('snapshot_fingerprint', 'unbuilt')}"
                            for sid in sorted(sources))
    degraded = any(s["stale"] or not s["table"] for s in sources.values())
    status = "unavailable" if problems else ("degraded" if degraded else "ok")
    return {
        "status": status,
        "data_version": hashlib.sha256(fingerprints.encode()).hexdigest()[:12],
        "catalog": {"readable": True, "updated_at": cat.get("updated_at")},
        "sources": sources,
        "problems": problems,
    }


def _age_days(snapshot: str | None, now: datetime) -> int | None:
    if not snapshot:
        return None
    try:
        as_of = datetime.strptime(snapshot[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return (now - as_of).days


def _unhealthy(problem: str) -> dict:
    return {"status": "unavailable", "data_version": None, "catalog": {"readable": False},
            "sources": {}, "problems": [problem]}


def _healthz_view():
    body, status = health()
    resp = flask.jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---------------------------------------------------------------- headers

def _is_fingerprinted(req) -> bool:
    return "m" in req.args or "v" in req.args or bool(FINGERPRINTED_PATH.search(req.path))


def _headers(resp: flask.Response) -> flask.Response:
    req = flask.request
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    if req.is_secure:
        resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if req.path.startswith(STATIC_PREFIXES) and resp.status_code in (200, 304):
        if _is_fingerprinted(req):
            resp.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        else:
            resp.headers["Cache-Control"] = "no-cache"  # revalidate with the ETag: cheap 304s
        if resp.direct_passthrough and resp.status_code == 200 and resp.mimetype in COMPRESS["COMPRESS_MIMETYPES"]:
            # A file response streams from disk, and Flask-Compress would compress it chunk by
            # chunk on every request; buffered, it is compressed once and kept (_CompressedAssets).
            resp.direct_passthrough = False
            resp.set_data(resp.get_data())
    if req.headers.get(EDGE_REQUEST_HEADER) and _edge_may_share(req, resp):
        resp.headers[EDGE_SHARE_HEADER] = "1"
    if resp.mimetype == "text/html":
        resp.headers["Content-Security-Policy"] = _csp(resp.get_data(as_text=True), req.path)
        if not req.path.startswith(EMBED_PREFIX):
            resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    return resp


def _edge_may_share(req, resp: flask.Response) -> bool:
    """What the serving edge (dashboard/edge.py) may keep and give every reader who sends the same
    request: it keys on all a response here can depend on (method, URL, body, Referer,
    Accept-Language, the code and data versions, the base URL, the day). So: pages, their layout
    and callback map, the page router and the cacheable callbacks (pure functions of all that),
    and fingerprinted static files; never the health check, a download, an error or a cookie."""
    if resp.status_code != 200 or resp.is_streamed or "Set-Cookie" in resp.headers \
            or "no-store" in resp.headers.get("Cache-Control", ""):
        return False
    if req.path.startswith(STATIC_PREFIXES):
        return req.method == "GET" and _is_fingerprinted(req)  # others change with an upgrade, unversioned
    if req.method == "GET":
        return True
    if response_cache.current_key():
        return True
    body = req.get_json(silent=True)
    return isinstance(body, dict) and isinstance(body.get("output"), str) and PAGE_ROUTER in body["output"]


def _csp(html: str, path: str) -> str:
    hashes = sorted({_script_hash(body) for attrs, body in INLINE_SCRIPT.findall(html)
                     if "application/json" not in attrs.lower() and body.strip()})
    policy = dict(CSP)
    policy["script-src"] = " ".join([CSP["script-src"], *hashes])
    policy["frame-ancestors"] = (os.environ.get("FRAME_ANCESTORS", "").strip() or "*") \
        if path.startswith(EMBED_PREFIX) else "'self'"
    return "; ".join(f"{k} {v}" for k, v in policy.items())


@lru_cache(maxsize=256)
def _script_hash(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


# ---------------------------------------------------------------- compression cache

def _compress_key(req) -> str:
    """Flask-Compress's cache key: fingerprinted static files (their bytes never change) and
    cacheable callback responses (keyed on their body and the data version); anything else is
    compressed afresh, and the backend below neither stores nor returns it."""
    if req.method == "GET" and req.path.startswith(STATIC_PREFIXES) and _is_fingerprinted(req):
        return req.full_path
    return response_cache.current_key()


class _CompressedAssets:
    """Bounded in-process store of compressed fingerprinted assets (a few MB: plotly, Dash)."""

    MAX_BYTES = 64 * 1024 * 1024

    def __init__(self):
        self.data: dict[str, bytes] = {}
        self.size = 0

    def get(self, key: str) -> bytes | None:
        if key.endswith(";"):
            return None
        if response_cache.KEY_PREFIX in key:  # "<algorithm>;response:<hash>": the bounded LRU
            lru = flask.current_app.extensions.get("xborder_response_cache")
            return lru.get(key) if lru is not None else None
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if response_cache.KEY_PREFIX in key:
            lru = flask.current_app.extensions.get("xborder_response_cache")
            if lru is not None:
                lru.set(key, value)
            return
        if key.endswith(";") or key in self.data or self.size + len(value) > self.MAX_BYTES:
            return
        self.data[key] = value
        self.size += len(value)
