"""Publisher faults against a local server serving real excerpts of INEGI's pipe-delimited file.

For every fault: the online run falls back, names source, URL and problem, leaves the last good
Parquet and catalog entry byte-identical, records the attempt, and leaves no temporary files
and no new raw snapshot behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import etl.cli
import etl.pipeline
import etl.store
from etl import paths
from etl.errors import LockHeld
from etl.http import Http
from etl.sources import inegi_homicide

REPO = Path(__file__).resolve().parents[2]
REPO_DATA = REPO / "data"
SID = "inegi_homicide"
FILE = inegi_homicide.FILE_NAME
PATH = f"/{FILE}"
SEED = next((REPO_DATA / "raw" / SID).glob(f"*/{FILE}")).read_bytes()
EXCERPT = b"".join(SEED.splitlines(keepends=True)[:40])  # header + 39 real rows (Aguascalientes 2000-2003)
HEADER, _, ROWS = EXCERPT.partition(b"\n")


def quiet(_msg: str) -> None:
    pass


def fast_http(**kw) -> Http:
    return Http(**{"retries": 1, "backoff": 0, "timeout": 1, "connect_timeout": 1, **kw})


def drop_column(data: bytes, name: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    i = lines[0].rstrip(b"\n").split(b"|").index(name)
    out = []
    for line in lines:
        cells = line.rstrip(b"\n").split(b"|")
        del cells[i]
        out.append(b"|".join(cells) + b"\n")
    return b"".join(out)


def replace_cell(data: bytes, row: int, column: bytes, value: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    i = lines[0].rstrip(b"\n").split(b"|").index(column)
    cells = lines[row].rstrip(b"\n").split(b"|")
    cells[i] = value
    lines[row] = b"|".join(cells) + b"\n"
    return b"".join(lines)


HTML = (b"<!DOCTYPE html>\n<html><head><title>Page not found</title></head>"
        b"<body><h1>This file has moved</h1></body></html>\n")

# id -> (route options, http client options, pattern the error must contain, expected server hits)
FAULTS = {
    "http_403": (dict(body=b"Forbidden\n", status=403), {}, r"HTTP 403", 1),
    "http_500_retried": (dict(body=b"oops\n", status=500), {}, r"HTTP 500", 2),  # retries=1: two requests
    "timeout": (dict(body=EXCERPT, delay=5), {}, r"timed out", 2),
    "truncated_body": (dict(body=EXCERPT, truncate=len(EXCERPT) // 2), {}, r"truncated", 1),
    "html_instead_of_csv": (dict(body=HTML, headers={"Content-Type": "text/html"}), {}, r"HTML", 1),
    "renamed_column": (dict(body=EXCERPT.replace(b"|homicides|", b"|defunciones|", 1)), {},
                       r"missing column.*'homicides'", 1),
    "missing_column": (dict(body=drop_column(EXCERPT, b"month")), {}, r"missing column.*'month'", 1),
    "empty_file": (dict(body=b""), {}, r"empty", 1),
    "blank_lines_only": (dict(body=b"\n\n\n"), {}, r"empty", 1),
    "header_only": (dict(body=HEADER + b"\n"), {}, r"no rows", 1),
    "non_numeric_values": (dict(body=replace_cell(EXCERPT, 3, b"homicides", b"n.d.")), {},
                           r"non-numeric homicides 'n\.d\.'", 1),
    "non_numeric_year": (dict(body=replace_cell(EXCERPT, 5, b"year", b"2OO0")), {}, r"non-numeric year '2OO0'", 1),
    "comma_instead_of_pipe": (dict(body=EXCERPT.replace(b"|", b",")), {}, r"missing column.*pipe-delimited", 1),
}


def leftovers(root) -> list[str]:
    """Temporary files or staging folders anywhere under the data dir."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.startswith(".staging-") or p.name.endswith(".tmp"))


def raw_dirs(root) -> list[str]:
    d = root / "raw" / SID
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def state(root) -> dict:
    cat = etl.store.read_catalog()
    return {
        "parquet": paths.tidy_path(SID).read_bytes(),
        "entry": json.dumps(cat["sources"][SID], sort_keys=True),
        "raw": raw_dirs(root),
    }


@pytest.fixture
def built(data_dir):
    """A good offline build of the source in the temp data dir; returns its state."""
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "ok", res.error
    return state(data_dir)


@pytest.mark.data_sources(SID)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_falls_back_and_keeps_last_good_build(fault, data_dir, built, local_server, monkeypatch):
    route, http_kw, problem, hits = FAULTS[fault]
    url = local_server.route(PATH, **route)
    monkeypatch.setattr(inegi_homicide, "BASE_URL", local_server.base)

    [res] = etl.pipeline.run([SID], offline=False, http=fast_http(**http_kw), progress=quiet)

    assert res.status == "fallback", res
    assert res.exit_code == etl.pipeline.EXIT_PARTIAL
    assert f"source {SID}" in res.error and url in res.error, res.error
    assert res.error and re.search(problem, res.error), res.error
    assert res.snapshot == built["raw"][0] and res.rows == json.loads(built["entry"])["rows"]
    # the last good build is untouched, byte for byte
    after = state(data_dir)
    assert after["parquet"] == built["parquet"]
    assert after["entry"] == built["entry"]
    assert after["raw"] == built["raw"], "a failed fetch must not become a snapshot"
    attempt = etl.store.read_catalog()["attempts"][SID]
    assert attempt["status"] == "fallback" and attempt["mode"] == "online"
    assert attempt["error"] == res.error
    assert leftovers(data_dir) == []
    assert not (data_dir / "vintages").exists()
    assert local_server.hits(PATH) == hits


@pytest.mark.data_sources(SID)
def test_fault_is_reported_by_status(data_dir, built, local_server, monkeypatch, capsys):
    local_server.route(PATH, body=b"Forbidden\n", status=403)
    monkeypatch.setattr(inegi_homicide, "BASE_URL", local_server.base)
    etl.pipeline.run([SID], offline=False, http=fast_http(), progress=quiet)
    assert etl.cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert f"{SID}: ok" in out and "last attempt" in out and "(fallback)" in out and "HTTP 403" in out


# ---------------------------------------------------------------- no previous build, no snapshot

@pytest.mark.parametrize("fault", ["http_403", "renamed_column"])
def test_no_previous_build_and_no_snapshot_fails(fault, data_dir, local_server, monkeypatch, capsys):
    route, _, problem, _ = FAULTS[fault]
    url = local_server.route(PATH, **route)
    monkeypatch.setattr(inegi_homicide, "BASE_URL", local_server.base)

    [res] = etl.pipeline.run([SID], offline=False, http=fast_http(), progress=quiet)
    assert res.status == "failed"
    assert res.exit_code == etl.pipeline.EXIT_FAILED == 2
    assert etl.pipeline.exit_code([res]) == 2
    assert f"source {SID}" in res.error and url in res.error
    assert re.search(problem, res.error) and "no usable local data" in res.error
    assert not paths.tidy_path(SID).exists()
    assert raw_dirs(data_dir) == [] and leftovers(data_dir) == []
    cat = etl.store.read_catalog()
    assert SID not in cat["sources"] and cat["attempts"][SID]["status"] == "failed"

    # the CLI says the same with exit code 2 (403 is not retried, so the default client is quick)
    capsys.readouterr()
    assert etl.cli.main(["run", SID]) == 2
    err = capsys.readouterr().err
    assert "FAILED" in err and "done: failed" in err


# ---------------------------------------------------------------- a second run while one holds the lock

@pytest.mark.data_sources(SID)
def test_second_run_while_locked_exits_3(data_dir, built):
    env = {**os.environ, paths.DATA_DIR_ENV: str(data_dir)}
    with etl.store.etl_lock():
        proc = subprocess.run([sys.executable, "-m", "etl", "run", "--offline"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == etl.pipeline.EXIT_LOCKED == 3, proc.stderr
    assert "another ETL run holds the lock" in proc.stderr
    assert str(paths.lock_path()) in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert state(data_dir) == built and leftovers(data_dir) == []


@pytest.mark.data_sources(SID)
def test_second_run_while_locked_raises_lock_held_in_process(data_dir, built):
    with etl.store.etl_lock():
        with pytest.raises(LockHeld, match="another ETL run holds the lock"):
            etl.pipeline.run([SID], offline=True, progress=quiet)
        assert etl.cli.main(["run", "--offline", SID]) == 3
    assert state(data_dir) == built
    # the lock is released afterwards: the next run goes through
    [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
    assert res.status == "ok"
