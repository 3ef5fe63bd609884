"""Gunicorn settings for the dashboard: ``gunicorn app:server`` reads this file from the repo root.

Why each limit (no request may pin a worker for long):
- sync workers: one request per process at a time, so ``timeout`` is a hard wall: a worker that
  has not answered within it is killed and replaced (its client gets an error, the others never
  notice). Threads (gthread) would keep serving, but a stuck thread is never reclaimed.
- bodies: the app refuses any body over MAX_REQUEST_BYTES (64 KB) with 413 before reading it;
  gunicorn bounds the request line and headers below.
- recycling: each worker is replaced after ``max_requests`` (with jitter, so they never all
  restart at once): memory that fragments or leaks over days is given back.
- slow clients: a sync worker reads a slow upload itself; on the open internet put a buffering
  proxy (nginx, a cloud load balancer) in front, as gunicorn's documentation advises.

Environment: WEB_CONCURRENCY (workers, default 2 x CPUs + 1), GUNICORN_TIMEOUT (default 30 s),
GUNICORN_MAX_REQUESTS (default 2000), HOST/PORT or GUNICORN_BIND, PRERENDER=0 to skip rendering
the default views at start. The same file serves the edge (``dashboard.edge:app``, see its
docstring), which pre-renders nothing.
"""

import gc
import os
import subprocess
import sys

# Arrow's default allocator (mimalloc) keeps the pages it frees for reuse: about 12 MiB per worker
# after a few renders, for no measurable speed (benchmarks/serving.py, in-process p50 28.9 against
# 32.0 ms over five interleaved runs). The system allocator gives them back. This file runs in the
# master before the app (and pyarrow) is imported, so the setting reaches every worker.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

bind = os.environ.get("GUNICORN_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 2
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
limit_request_line = 8190          # a shared view's URL carries its whole state (~1 KB today)
limit_request_fields = 60
limit_request_field_size = 8190
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat off disk: no false timeouts
preload_app = True                 # import once in the master; workers share those pages
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"


def when_ready(server):
    """Pre-render the default views (and build the per-series indexes) in a separate process,
    so the master stays small (workers fork from it) and start-up is not delayed."""
    edge = str(getattr(server.app, "app_uri", "") or "").startswith("dashboard.edge")  # renders nothing itself
    if os.environ.get("PRERENDER", "1") != "0" and not edge:
        subprocess.Popen([sys.executable, "-m", "dashboard.cache", "prerender"], stdout=subprocess.DEVNULL)


def pre_fork(server, worker):
    """Freeze the preloaded app's objects before each worker is forked. Python's cycle collector
    writes to the header of every object it visits, so in a worker each page of the master's
    objects would soon be copied (copy-on-write) and stop being shared; frozen objects are never
    visited. benchmarks/serving.py: private memory (USS) per rendering worker 63-72 -> 39 MiB, PSS
    90-100 -> 74 MiB, speed unchanged (RSS counts shared pages too, so it does not move)."""
    gc.collect()
    gc.freeze()
