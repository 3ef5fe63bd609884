"""A cache of rendered views shared by every worker (and, with Redis, every host).

    render_view = cache.memoize_view(render_view, defaults=lambda: [(DEFAULT, [])])

Keys are a hash of the function, the normalised arguments (a frozen ViewState is compared
field by field), the data version (every table's snapshot fingerprint and md5, the milestones
file, the display metadata) and the code version, plus the public base URL a citation embeds.
A refresh therefore never needs to invalidate anything: new data means new keys, and old entries
age out (FileSystemCache keeps at most THRESHOLD files; Redis entries expire after REDIS_TTL).

Values are stored as Dash sends them: each figure and component already reduced to plain JSON
types (lists, dicts, strings), so a hit costs one read and one unpickle, never a plotly figure
rebuild. A memoized function returns that same plain form on a miss, so callers see one type.

Backends (Flask-Caching's): RedisCache when REDIS_URL is set (redis://host:6379/0 or
unix:///path/redis.sock), else FileSystemCache under <data dir>/tidy/.cache/figures, or
XBORDER_FIGURE_CACHE_DIR. FIGURE_CACHE=off turns caching off. A cache that fails (Redis down)
is logged and skipped: the view is rendered as if there were no cache.

``prerender_defaults()`` renders every registered function's default views into the cache; the
ETL calls it at the end of a run (``python -m dashboard.cache prerender`` does the same).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
DIR_ENV = "XBORDER_FIGURE_CACHE_DIR"
SWITCH_ENV = "FIGURE_CACHE"       # "off" disables
THRESHOLD = 2000                  # FileSystemCache: most files kept before it prunes
REDIS_TTL = 7 * 24 * 3600         # seconds; keys of superseded data versions expire
KEY_PREFIX = "xborder:view:"
# What the rendering depends on besides the data: the code, the display metadata, the page's
# assets (their ?m= fingerprints are in every page) and the installed Dash and plotly (whose
# bundles a page names).
CODE_GLOBS = ("dashboard/**/*.py", "dashboard/locale/**/*.po", "dashboard/*.toml", "dashboard/assets/**/*",
              "etl/sources/*.toml", "etl/vocabulary.toml")
CODE_PACKAGES = ("dash", "plotly")
ROOT = Path(__file__).resolve().parents[1]

_registry: dict[str, tuple[Callable, Callable | None]] = {}
_backend_lock = threading.Lock()
_backend_state: dict = {}


# ---------------------------------------------------------------- versions

@functools.lru_cache(maxsize=1)
def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for pattern in CODE_GLOBS:
        for p in sorted(ROOT.glob(pattern)):
            if p.is_file():
                h.update(p.relative_to(ROOT).as_posix().encode())
                h.update(p.read_bytes())
    for name in CODE_PACKAGES:
        try:
            h.update(f"{name}=={version(name)}".encode())
        except PackageNotFoundError:
            h.update(f"{name} absent".encode())
    return h.hexdigest()[:12]


def data_version() -> str:
    """A hash of what every view is drawn from: each table's snapshot and bytes, the milestones."""
    from etl import paths

    tokens = []
    for p in (paths.catalog_path(), paths.milestones_path()):
        try:
            st = p.stat()
            tokens.append((str(p), st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            tokens.append((str(p), 0, 0))
    return _data_version(tuple(tokens))


@functools.lru_cache(maxsize=8)
def _data_version(tokens: tuple) -> str:
    # Content, not modification times: two hosts reading copies of one store agree on keys.
    h = hashlib.sha256()
    catalog_path, milestones_path = tokens[0][0], tokens[1][0]
    try:
        sources = json.loads(Path(catalog_path).read_text(encoding="utf-8")).get("sources", {})
    except (OSError, ValueError):
        sources = {}
    for sid in sorted(sources):
        e = sources[sid]
        # built_at too: the page says when the tables were last built, even if nothing changed
        h.update(f"{sid}:{e.get('snapshot_fingerprint')}:{e.get('parquet_md5')}:{e.get('built_at')};".encode())
    try:
        h.update(Path(milestones_path).read_bytes())
    except OSError:
        h.update(b"no milestones")
    return h.hexdigest()[:12]


# ---------------------------------------------------------------- keys and values

def _canon(obj):
    """A JSON-able, order-stable form of an argument (dataclasses field by field)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__qualname__,
                **{f.name: _canon(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, dict):
        return {"__dict__": sorted((json.dumps(_canon(k), sort_keys=True), _canon(v)) for k, v in obj.items())}
    if isinstance(obj, (list, tuple)):
        return [_canon(x) for x in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_canon(x) for x in obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return repr(obj)


def view_key(name: str, args: tuple, kwargs: dict) -> str:
    from dashboard.server import public_base_url

    payload = json.dumps([name, code_version(), data_version(), public_base_url(), _canon(args), _canon(kwargs)],
                         sort_keys=True, separators=(",", ":"))
    return KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:32]


def _plain(value):
    """Figures and components as the JSON types Dash would send (one pass of plotly's encoder)."""
    import orjson
    from plotly.io.json import to_json_plotly

    def leaf(v):
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        return orjson.loads(to_json_plotly(v))

    if isinstance(value, dict):
        return {k: leaf(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(leaf(v) for v in value)
    if isinstance(value, list):
        return [leaf(v) for v in value]
    return leaf(value)


# ---------------------------------------------------------------- backends

def enabled() -> bool:
    """False when FIGURE_CACHE turns caching off (every request renders)."""
    return os.environ.get(SWITCH_ENV, "").lower() not in {"off", "0", "false", "no"}


def backend():
    """The process's cache backend (None when caching is off); built once per process and URL."""
    if not enabled():
        return None
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    where = url or str(_cache_dir())
    with _backend_lock:
        if _backend_state.get("where") != where or _backend_state.get("pid") != os.getpid():
            _backend_state.update(where=where, pid=os.getpid(), backend=_make_backend(url))
        return _backend_state["backend"]


def _cache_dir() -> Path:
    env = os.environ.get(DIR_ENV)
    if env:
        return Path(env)
    from etl import paths

    return paths.data_dir() / "tidy" / ".cache" / "figures"


def _make_backend(url: str):
    from flask_caching.backends import FileSystemCache, RedisCache

    if url:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return RedisCache(host=client, default_timeout=REDIS_TTL, key_prefix="")
    d = _cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    # mode 0644: a prerender run by the ETL's user must be readable by the web workers' user
    return FileSystemCache(str(d), threshold=THRESHOLD, default_timeout=0, mode=0o644)


def _cache_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        import redis

        errors.append(redis.exceptions.RedisError)
    except ImportError:
        pass
    return tuple(errors)


def cache_get(key: str):
    be = backend()
    if be is None:
        return None
    try:
        return be.get(key)
    except _cache_errors() as exc:
        log.warning("figure cache unavailable (%s); rendering without it", exc)
        return None


def cache_set(key: str, value) -> None:
    be = backend()
    if be is None:
        return
    try:
        be.set(key, value)
    except _cache_errors() as exc:
        log.warning("figure cache unavailable (%s); result not stored", exc)


# ---------------------------------------------------------------- the decorator

def memoize_view(fn: Callable | None = None, *, defaults: Callable[[], list[tuple]] | None = None):
    """Cache a view renderer's result across workers, keyed on its arguments and the data version.

    ``defaults`` (optional) returns the argument tuples of the views worth pre-rendering.
    Usable as ``memoize_view(fn)``, ``@memoize_view`` or ``@memoize_view(defaults=...)``.
    """
    if fn is None:
        return lambda f: memoize_view(f, defaults=defaults)
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = view_key(name, args, kwargs)
        hit = cache_get(key)
        if hit is not None:
            wrapper.hits += 1
            return hit
        wrapper.misses += 1
        value = _plain(fn(*args, **kwargs))
        cache_set(key, value)
        return value

    wrapper.hits = wrapper.misses = 0
    wrapper.uncached = fn
    _registry[name] = (wrapper, defaults)
    return wrapper


def prerender_defaults() -> dict[str, int]:
    """Render every registered view's defaults into the cache; {function name: views rendered}.

    Imports the app (which registers the memoized functions), so the ETL must call this from a
    function, never at module level: ``from dashboard.cache import prerender_defaults``.
    """
    from etl.tidy_index import build_all

    build_all()  # the per-series indexes too, so the first request after a refresh reads at once
    if not _registry:
        from dashboard.app import create_app

        create_app()
    done = {}
    for name, (wrapper, defaults) in _registry.items():
        if defaults is None:
            continue
        n = 0
        for args in defaults():
            wrapper(*args)
            n += 1
        done[name] = n
    return done


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m dashboard.cache", description="The shared figure cache.")
    ap.add_argument("command", choices=["prerender", "info"])
    args = ap.parse_args(argv)
    from dashboard import cache  # the module the pages register with (not this __main__)

    if args.command == "prerender":
        done = cache.prerender_defaults()
        print(json.dumps({"rendered": done, "data_version": data_version()}))
    else:
        url = os.environ.get(REDIS_URL_ENV, "")
        print(json.dumps({"backend": "redis" if url else "filesystem", "where": url or str(_cache_dir()),
                          "data_version": data_version(), "code_version": code_version()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
