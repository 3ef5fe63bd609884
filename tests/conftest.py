"""Fixtures shared by all tests: an isolated data directory and a configurable local HTTP server.

    @pytest.mark.data_sources("inegi_homicide")      # raw snapshots to copy (default: none)
    def test_x(data_dir, local_server):
        url = local_server.route("/file.csv", body=b"...", status=200, delay=0, truncate=None)

Tests in tests/etl/sources/ define their own ``data_dir``; a module's fixture overrides these.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from etl import paths

REPO = Path(__file__).resolve().parents[1]
REPO_DATA = REPO / "data"


def pytest_configure(config):
    config.addinivalue_line("markers", "data_sources(*ids): raw snapshots the data_dir fixture copies")
    # ETL runs in tests do not pre-render the dashboard (tests/dashboard/test_cache.py tests that).
    import os

    os.environ.setdefault("XBORDER_PRERENDER", "0")


def make_data_dir(root: Path, sources=()) -> Path:
    """Copy the repo's reference tables, milestones and the raw snapshots of ``sources`` to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for part in ("reference", "milestones"):
        shutil.copytree(REPO_DATA / part, root / part)
    for sid in sources:
        shutil.copytree(REPO_DATA / "raw" / sid, root / "raw" / sid)
    return root


@pytest.fixture
def data_dir(tmp_path, monkeypatch, request) -> Path:
    """A temporary data dir (XBORDER_DATA_DIR points at it) with no tidy tables and no catalog."""
    marker = request.node.get_closest_marker("data_sources")
    root = make_data_dir(tmp_path / "data", marker.args if marker else ())
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    return root


# ---------------------------------------------------------------- local HTTP server

@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds to wait before answering
    truncate: int | None = None  # send only this many body bytes (Content-Length stays full), then close
    etag: str | None = None      # sent as ETag; a request with a matching If-None-Match gets 304


class LocalServer:
    """Threaded server on 127.0.0.1:<free port>; ``route()`` configures a path's answer."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, headers) in arrival order
        self._stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                owner.requests.append((self.path, dict(self.headers)))
                route = owner.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404)
                    return
                if route.delay and owner._stop.wait(route.delay):
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                headers = {"Content-Type": "text/csv", "Content-Length": str(len(route.body)), **route.headers}
                if route.etag:
                    headers["ETag"] = route.etag
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(route.body if route.truncate is None else route.body[: route.truncate])
                self.wfile.flush()
                if route.truncate is not None:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def route(self, path: str, body: bytes = b"", **options) -> str:
        """Serve ``body`` at ``path`` (options: status, headers, delay, truncate, etag); returns its URL."""
        self.routes[path] = Route(body=body, **options)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p.split("?", 1)[0] == path)

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()
