"""A per-worker front for callback responses: the same request body, the same bytes, at once.

The shared view cache (dashboard/cache.py) spares a worker the render, but a hit still goes
through Dash's dispatch: the callback, the output lists, and plotly's JSON encoder walking a
70 KB figure structure. A report-day reader mostly asks for views someone already asked for,
with the very same callback body, so this module answers those before Dash is involved:

- A callback opts in with ``@cacheable_response`` (under ``@callback``). It must be a pure
  function of its request body: everything it reads is in the inputs and states Dash posts (no
  request headers: a payload without a valid language gets the default, not Accept-Language).
  The timeline, Impact and Maps callbacks do.
- Its key is a hash of the raw body, the code and data versions, the public base URL a citation
  embeds, and the UTC date (freshness notes count days).
- The uncompressed response bytes go into a bounded LRU in this process (RESPONSE_CACHE_BYTES,
  default 8 MiB; 0 turns it off); Flask-Compress keeps the compressed variants under the same key
  (server.py), so a hit is neither rendered, nor serialised, nor compressed again.

A hit skips Dash, never the app's own checks: the body limit and the body-shape check run
before it, and the security headers and compression hooks after it, on every response.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone

import flask

from dashboard.settings import env_bytes

BYTES_ENV = "RESPONSE_CACHE_BYTES"
DEFAULT_BYTES = 8 * 1024 * 1024
MARK = "_xborder_cacheable_response"
KEY_PREFIX = "response:"


def cacheable_response(fn: Callable) -> Callable:
    """Mark a Dash callback whose response depends on its request body alone."""
    setattr(fn, MARK, True)
    return fn


class BoundedLRU:
    """Least-recently-used bytes, at most ``max_bytes`` in total; thread-safe."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.size = 0
        self._data: OrderedDict[str, tuple] = OrderedDict()  # key -> (value, its size)
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def set(self, key: str, value, nbytes: int | None = None) -> None:
        """Keep ``value`` (bytes, or anything else with its size in ``nbytes``)."""
        n = len(value) if nbytes is None else nbytes
        if n > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._data[key] = (value, n)
            self.size += n
            while self.size > self.max_bytes:
                _, (_, dropped) = self._data.popitem(last=False)
                self.size -= dropped

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.size = 0


def max_bytes() -> int:
    return env_bytes(BYTES_ENV, DEFAULT_BYTES, zero_is_off=True)


def cacheable_outputs(callback_map: dict) -> frozenset[str]:
    """The output keys (as a callback body names them) of the callbacks marked cacheable."""
    return frozenset(k for k, v in callback_map.items() if getattr(v.get("callback"), MARK, False))


def response_key(body: bytes) -> str:
    from dashboard import cache
    from dashboard.server import public_base_url

    h = hashlib.sha256(body)
    today = datetime.now(timezone.utc).date().isoformat()
    h.update(f"|{cache.code_version()}|{cache.data_version()}|{public_base_url()}|{today}".encode())
    return KEY_PREFIX + h.hexdigest()[:32]


def install(app, store: BoundedLRU | None = None) -> BoundedLRU | None:
    """Name each cacheable callback request by its response key (``current_key``: what the
    compression cache and the serving edge share it under) and answer repeated ones from
    ``store`` (a new LRU sized by the environment unless given; none when that size is 0).
    Nothing at all when FIGURE_CACHE turns caching off. Register after the body-shape check
    and after Flask-Compress."""
    from dashboard import cache

    if not cache.enabled():
        return None
    if store is None:
        size = max_bytes()
        store = BoundedLRU(size) if size else None
    server = app.server
    outputs: dict[int, frozenset[str]] = {}

    def eligible(req) -> bool:
        if req.method != "POST" or not req.path.endswith("/_dash-update-component"):
            return False
        body = req.get_json(silent=True)  # parsed once per request by Flask, shared with the shape check
        if not isinstance(body, dict) or not isinstance(body.get("output"), str):
            return False
        n = len(app.callback_map)
        if n not in outputs:  # Dash pages add their callbacks at the first request
            outputs.clear()
            outputs[n] = cacheable_outputs(app.callback_map)
        return body["output"] in outputs[n]

    @server.before_request
    def _answer_from_cache():
        req = flask.request
        if not eligible(req):
            return None
        key = response_key(req.get_data(cache=True))
        flask.g.response_key = key
        hit = store.get(key) if store is not None else None
        if hit is None:
            return None
        flask.g.response_hit = True
        return flask.Response(hit, mimetype="application/json")

    def _keep(resp: flask.Response) -> flask.Response:
        key = flask.g.get("response_key")
        if store is not None and key and not flask.g.get("response_hit") and resp.status_code == 200 \
                and not resp.is_streamed and "Content-Encoding" not in resp.headers:
            store.set(key, resp.get_data())
        return resp

    server.after_request(_keep)
    if store is not None:
        server.extensions["xborder_response_cache"] = store
    return store


def current_key() -> str:
    """The response key of the request being served ("" outside a cacheable callback)."""
    return flask.g.get("response_key", "") if flask.has_request_context() else ""
