"""Shared fixtures for the dashboard tests: the built tidy data (built offline if missing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


from app import app as APP  # noqa: E402  (creates the app, which registers the pages, first)


@pytest.fixture(scope="session", autouse=True)
def built_data():
    """The dashboard reads data/tidy through the ETL read API; build it offline once if absent."""
    tidy = ROOT / "data" / "tidy"
    if not any(tidy.glob("*.parquet")):
        subprocess.run([sys.executable, "-m", "etl", "run", "--offline"], cwd=ROOT, check=True)
    return tidy


@pytest.fixture(scope="session")
def reg(dash_app):
    """The panel registry built from the sources' metadata."""
    from dashboard.registry import registry

    return registry()


@pytest.fixture(scope="session")
def valid_geos(dash_app):
    """Per panel, the geographies its control offers (from the data)."""
    return sys.modules["dashboard.pages.home"].geo_choices()


@pytest.fixture(scope="session")
def milestone_ids():
    from dashboard import store

    return set(store.milestones()["id"])


@pytest.fixture(scope="session")
def dash_app():
    """The real app object (``from app import app``)."""
    return APP


@pytest.fixture(scope="session")
def home(dash_app):
    return sys.modules["dashboard.pages.home"]


@pytest.fixture(scope="module")
def server(dash_app):
    """The real app served on a free loopback port (a test module may define its own)."""
    from browser_util import serve

    with serve(dash_app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's), one per test module."""
    from browser_util import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server (Debian's package) on a unix socket, for this test only."""
    assert Path(REDIS).exists(), "no redis-server: the README's test command installs it"
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen([REDIS, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert sock.exists(), "redis-server did not start"
    yield f"unix://{sock}"
    proc.terminate()
    proc.wait(timeout=10)
