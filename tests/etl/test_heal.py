"""The ETL heals what a crash, a full disk or a hand edit leaves behind, on real seed snapshots in
a temporary data dir: damaged tables are rebuilt, a damaged catalog is rebuilt from the tables and
snapshots, leftovers of a killed run are removed, an OSError fails only its own source, and a run
killed with SIGKILL at random moments is always followed by a clean normal run."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import etl
import etl.cli
import etl.pipeline
import etl.store
from etl import heal, paths
from tests.conftest import make_data_dir

REPO = Path(__file__).resolve().parents[2]
SID = "inegi_homicide"
OTHER = "cdc_nchs_final_overdose"


def quiet(_msg: str) -> None:
    pass


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def assert_healthy(sources) -> None:
    """Every table reads, matches the catalog, the catalog is valid and nothing temporary is left."""
    cat = etl.store.load_catalog_file()  # raises CatalogDamaged if it is not valid
    for sid in sources:
        entry = cat["sources"][sid]
        path = paths.tidy_path(sid)
        assert pq.read_table(path).num_rows == entry["rows"], sid
        assert md5(path) == entry["parquet_md5"], sid
        assert not entry.get("recovered"), sid
    assert heal.leftovers() == []


@pytest.fixture
def built(data_dir):
    results = etl.pipeline.run([SID, OTHER], offline=True, progress=quiet)
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    return {sid: paths.tidy_path(sid).read_bytes() for sid in (SID, OTHER)}


# ---------------------------------------------------------------- a damaged table is rebuilt

@pytest.mark.data_sources(SID, OTHER)
@pytest.mark.parametrize("damage", ["truncated", "zero_bytes", "other_table", "deleted"])
def test_offline_run_rebuilds_a_damaged_table(data_dir, built, damage, capsys):
    path = paths.tidy_path(SID)
    good = built[SID]
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "zero_bytes":
        path.write_bytes(b"")
    elif damage == "other_table":  # a readable Parquet file, but not the one the catalog describes
        path.write_bytes(built[OTHER])
    else:
        path.unlink()
    assert heal.table_problem(SID, etl.catalog()["sources"][SID])

    assert etl.cli.main(["run", "--offline", SID]) == 0
    err = capsys.readouterr().err
    if damage != "deleted":
        assert "differs from the catalog" in err and "rewriting it" in err
    assert path.read_bytes() == good  # the same bytes as the first build
    assert_healthy([SID, OTHER])
    assert not paths.vintages_dir(SID).exists(), "a damaged file is never kept as a vintage"


@pytest.mark.data_sources(SID, OTHER)
def test_missing_only_rebuilds_a_damaged_table(data_dir, built, capsys):
    path = paths.tidy_path(SID)
    path.write_bytes(built[SID][:100])
    assert etl.cli.main(["run", "--offline", "--missing-only", SID, OTHER]) == 0
    assert "1/1] " + SID in capsys.readouterr().err  # only the damaged source is rebuilt
    assert path.read_bytes() == built[SID]
    assert_healthy([SID, OTHER])


@pytest.mark.data_sources(SID, OTHER)
def test_online_failure_does_not_fall_back_to_a_damaged_table(data_dir, built, local_server, monkeypatch):
    from etl.sources import inegi_homicide

    local_server.route(f"/{inegi_homicide.FILE_NAME}", body=b"Forbidden\n", status=403)
    monkeypatch.setattr(inegi_homicide, "BASE_URL", local_server.base)
    paths.tidy_path(SID).write_bytes(b"PAR1 not really")
    [res] = etl.pipeline.run([SID], offline=False, progress=quiet)
    assert res.status == "fallback" and "HTTP 403" in res.error
    assert paths.tidy_path(SID).read_bytes() == built[SID], "rebuilt from the newest snapshot"
    assert_healthy([SID])


# ---------------------------------------------------------------- a damaged catalog is rebuilt

CORRUPTIONS = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "not_an_object": lambda text: "[]",
    "entry_without_md5": lambda text: json.dumps(
        {**json.loads(text), "sources": {k: {kk: vv for kk, vv in v.items() if kk != "parquet_md5"}
                                         for k, v in json.loads(text)["sources"].items()}}),
}


@pytest.mark.data_sources(SID, OTHER)
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_damaged_catalog_is_rebuilt_with_a_warning(data_dir, built, corruption, capsys, caplog):
    cat_path = paths.catalog_path()
    before = json.loads(cat_path.read_text())
    cat_path.write_text(CORRUPTIONS[corruption](cat_path.read_text()))

    # readers get a rebuilt catalog (the pages are not empty) and a warning
    cat = etl.catalog()
    assert "rebuilt from the tidy tables and raw snapshots" in caplog.text
    assert set(cat["sources"]) == {SID, OTHER}
    for sid in (SID, OTHER):
        entry, old = cat["sources"][sid], before["sources"][sid]
        assert entry["recovered"]
        for key in ("parquet_md5", "rows", "date_min", "date_max", "snapshot", "snapshot_md5s", "coverage"):
            assert entry[key] == old[key], (sid, key)
    assert len(etl.load(f"{SID}.homicides", geo="MX")) == 23 * 12

    # status and list do not crash
    assert etl.cli.main(["status"]) == 0
    assert f"{SID}: ok" in capsys.readouterr().out
    assert etl.cli.main(["list"]) == 0

    # the next run writes a valid catalog and replaces the recovered entries with checked ones
    assert etl.cli.main(["run", "--offline", SID, OTHER]) == 0
    assert "WARNING" in capsys.readouterr().err
    assert_healthy([SID, OTHER])
    after = json.loads(cat_path.read_text())
    assert after["sources"][SID]["parquet_md5"] == before["sources"][SID]["parquet_md5"]
    assert after["attempts"][SID]["status"] == "ok"


@pytest.mark.data_sources(SID, OTHER)
def test_missing_only_with_nothing_to_build_still_repairs_the_catalog(data_dir, built):
    paths.catalog_path().write_text('{"sources": {')
    assert etl.cli.main(["run", "--offline", "--missing-only", SID, OTHER]) == 0
    cat = etl.store.load_catalog_file()  # written back, valid
    for sid in (SID, OTHER):  # entries inferred from the tables (marked so) until the next build
        assert cat["sources"][sid]["recovered"] and cat["sources"][sid]["parquet_md5"] == md5(paths.tidy_path(sid))
    assert heal.leftovers() == []


# ---------------------------------------------------------------- leftovers of a killed run

@pytest.mark.data_sources(SID, OTHER)
def test_leftovers_are_removed_at_the_next_start(data_dir, built):
    tmp_files = [
        data_dir / ".catalog.json.k2j3h4.tmp",
        data_dir / "tidy" / f".{SID}.parquet.ab12cd.tmp",
        data_dir / "vintages" / SID / ".2030-01-01_0123abcd.parquet.x9y8.tmp",
    ]
    staging = data_dir / "raw" / SID / ".staging-q1w2e3"
    for p in tmp_files:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"half a file")
    staging.mkdir()
    (staging / "file.csv").write_bytes(b"half a download")
    # a dashboard worker's index build in progress is not the ETL's to remove
    index_tmp = data_dir / "tidy" / ".cache" / "index" / ".inegi.rows.arrow.zz.tmp"
    index_tmp.parent.mkdir(parents=True)
    index_tmp.write_bytes(b"index being built")

    assert sorted(heal.leftovers()) == sorted(tmp_files + [staging])
    messages = []
    [res] = etl.pipeline.run([SID], offline=True, progress=messages.append)
    assert res.status == "ok"
    assert any("removed 4 leftover temporary file(s)" in m for m in messages), messages
    assert heal.leftovers() == [] and not staging.exists()
    assert index_tmp.exists()
    assert [p.name for p in (data_dir / "raw" / SID).iterdir()] == ["2024-03-21"]


# ---------------------------------------------------------------- an OSError fails only its source

@pytest.mark.data_sources(SID, OTHER)
@pytest.mark.parametrize("previous_build", [False, True])
def test_disk_full_in_one_source_is_its_failed_attempt_and_the_others_run(data_dir, monkeypatch, previous_build):
    if previous_build:
        [res] = etl.pipeline.run([SID], offline=True, progress=quiet)
        assert res.status == "ok"
        good = paths.tidy_path(SID).read_bytes()
        # a newer snapshot, so the table must be rewritten
        shutil.copytree(data_dir / "raw" / SID / "2024-03-21", data_dir / "raw" / SID / "2030-01-01")
        csv = data_dir / "raw" / SID / "2030-01-01" / "mexico-state-month-homicide-rates-2000-2022.csv"
        data = csv.read_bytes().replace(b"\n32|2022|12|", b"\n32|2022|12|1", 1)
        csv.write_bytes(data)
        manifest = json.loads(csv.with_name("snapshot.json").read_text())
        manifest["files"][0].update(md5=hashlib.md5(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest(),
                                    size=len(data))
        csv.with_name("snapshot.json").write_text(json.dumps(manifest))
    real_write = etl.store.write_bytes

    def disk_full_for_inegi(data, target):
        if target.name == f"{SID}.parquet":
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real_write(data, target)

    monkeypatch.setattr(etl.store, "write_bytes", disk_full_for_inegi)
    results = {r.source_id: r for r in etl.pipeline.run([SID, OTHER], offline=True, progress=quiet)}

    inegi = results[SID]
    assert inegi.status == ("fallback" if previous_build else "failed")
    assert f"[source {SID}] OSError: [Errno 28] No space left on device" in inegi.error
    assert results[OTHER].status == "ok" and paths.tidy_path(OTHER).is_file()
    cat = etl.store.read_catalog()
    assert cat["attempts"][SID]["status"] == inegi.status and "No space left" in cat["attempts"][SID]["error"]
    assert cat["attempts"][OTHER]["status"] == "ok"
    if previous_build:
        assert paths.tidy_path(SID).read_bytes() == good and cat["sources"][SID]["snapshot"] == "2024-03-21"
    else:
        assert SID not in cat["sources"] and not paths.tidy_path(SID).exists()
    assert etl.pipeline.exit_code(list(results.values())) == (1 if previous_build else 2)
    assert heal.leftovers() == []


# ---------------------------------------------------------------- SIGKILL at random moments

KILL_SOURCES = ["inegi_homicide", "cdc_vsrr_overdose"]
KILLS = 20


def _toggle_newer_snapshot(root: Path, on: bool) -> None:
    """A newer INEGI snapshot (one revised count) comes and goes, so every run has tables,
    vintages and catalog entries to write, not just an unchanged table to confirm."""
    d = root / "raw" / SID / "2030-01-01"
    if not on:
        shutil.rmtree(d, ignore_errors=True)
        return
    if d.exists():
        return
    shutil.copytree(root / "raw" / SID / "2024-03-21", d)
    csv = d / "mexico-state-month-homicide-rates-2000-2022.csv"
    data = csv.read_bytes().replace(b"\n32|2022|12|", b"\n32|2022|12|1", 1)
    csv.write_bytes(data)
    manifest = json.loads((d / "snapshot.json").read_text())
    manifest["files"][0].update(md5=hashlib.md5(data).hexdigest(), sha256=hashlib.sha256(data).hexdigest(),
                                size=len(data))
    (d / "snapshot.json").write_text(json.dumps(manifest))


def _run(env, kill: tuple[str | None, float] | None = None) -> tuple[int, str, dict[str, float]]:
    """One ``python -m etl run --offline``. ``kill=(None, t)``: SIGKILL t seconds after the start;
    ``kill=(source, t)``: t seconds after the run starts building that source (where it writes
    tables, vintages and the catalog); ``kill=("tmp", n)``: as soon as the n-th temporary file of
    an atomic write is seen (mid-write). Returns (exit code, stderr, seconds from start to each
    "<source>: building" and "<source>: OK" line)."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "etl", "run", "--offline", *KILL_SOURCES], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1)
    timer = None
    marks: dict[str, float] = {}
    lines = []
    if kill is not None and kill[0] is None:
        timer = threading.Timer(kill[1], _sigkill, args=(proc,))
        timer.start()
    elif kill is not None and kill[0] == "tmp":
        timer = threading.Thread(target=_kill_mid_write, args=(proc, Path(env[paths.DATA_DIR_ENV]), int(kill[1])))
        timer.cancel = lambda: None
        timer.start()
    for line in proc.stderr:
        lines.append(line)
        for sid in KILL_SOURCES:
            for event in ("building", "OK"):
                if line.startswith(f"{sid}: {event}"):
                    marks[f"{sid} {event}"] = time.monotonic() - start
                    if kill is not None and kill[0] == sid and event == "building":
                        timer = threading.Timer(kill[1], _sigkill, args=(proc,))
                        timer.start()
    code = proc.wait(timeout=120)
    if timer is not None:
        timer.cancel()
    return code, "".join(lines), marks


def _sigkill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


def _kill_mid_write(proc: subprocess.Popen, root: Path, nth: int) -> None:
    """Poll the folders the ETL writes to and SIGKILL while the nth temporary file is there."""
    seen: set[str] = set()
    while proc.poll() is None:
        for d in (root, root / "tidy", *root.glob("vintages/*")):
            with contextlib.suppress(FileNotFoundError):
                seen.update(e.path for e in os.scandir(d) if e.name.endswith(".tmp"))
        if len(seen) >= nth:
            _sigkill(proc)
            return
        time.sleep(0.0002)


def _problems(root: Path) -> list[str]:
    """What is wrong in a data dir after a normal run (read from the files, not through the
    env-dependent API, since workers run side by side): every table reads and matches the
    catalog, the catalog is valid JSON of the catalog's shape, no temporary file is left."""
    try:
        cat = json.loads((root / "catalog.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"catalog.json: {exc}"]
    problems = []
    for sid in KILL_SOURCES:
        entry = cat.get("sources", {}).get(sid)
        if not entry or any(k not in entry for k in etl.store.ENTRY_FIELDS) or entry.get("recovered"):
            problems.append(f"{sid}: catalog entry {entry!r:.200}")
            continue
        path = root / "tidy" / f"{sid}.parquet"
        try:
            rows = pq.read_table(path).num_rows
        except Exception as exc:  # any unreadable table is the failure this test looks for
            problems.append(f"{sid}: {type(exc).__name__}: {exc}")
            continue
        if rows != entry["rows"] or md5(path) != entry["parquet_md5"]:
            problems.append(f"{sid}: table does not match its catalog entry")
    left = [str(p.relative_to(root)) for p in root.rglob("*")
            if (p.name.endswith(".tmp") or p.name.startswith(".staging-")) and ".cache" not in p.parts]
    return problems + [f"left behind: {x}" for x in left]


def test_sigkill_at_random_moments_then_a_normal_run_is_clean(tmp_path, monkeypatch, capsys):
    """20 times: a real ``python -m etl run --offline`` subprocess killed with SIGKILL, then a
    normal run (the same CLI entry point, in this process to save the interpreter start-up) that
    must exit 0 and leave every table readable and matching the catalog, and nothing temporary."""
    t0 = time.monotonic()
    root = make_data_dir(tmp_path / "data", KILL_SOURCES)
    env = {**os.environ, paths.DATA_DIR_ENV: str(root)}
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    code, err, marks = _run(env)
    assert code == 0, err
    span = marks[f"{KILL_SOURCES[-1]} OK"]
    build = {sid: marks[f"{sid} OK"] - marks[f"{sid} building"] for sid in KILL_SOURCES}
    # A third of the kills anywhere in the run (imports included), a third inside a source's build
    # (transform, table, vintage, catalog), a third while an atomic write has its temporary file
    # open (the 1st-3rd of the run's writes).
    rng = random.Random(20261201)
    plan = []
    for i in range(KILLS):
        sid = rng.choice(KILL_SOURCES)
        plan.append([(None, rng.uniform(0.05, span)), (sid, rng.uniform(0, build[sid])), ("tmp", rng.randint(1, 3))][i % 3])
    failures, killed, mid_write = [], 0, 0
    for i, kill in enumerate(plan):
        _toggle_newer_snapshot(root, on=i % 4 < 2)
        code, _, _ = _run(env, kill=kill)
        killed += code == -signal.SIGKILL
        mid_write += any(p.startswith("left behind") for p in _problems(root))
        code = etl.cli.main(["run", "--offline", *KILL_SOURCES])  # the normal run after the kill
        err = capsys.readouterr().err
        problems = _problems(root)
        if code != 0 or problems:
            failures.append(f"kill {i} {kill}: normal run exited {code}, {problems}: {err[-2000:]}")
    assert failures == []
    # a run that ends before its kill moment is fine, but most must really be killed
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} runs were killed before they ended"
    assert mid_write >= 2, f"only {mid_write} kills landed mid-write (a temporary file left to remove)"
    assert time.monotonic() - t0 < 120, "keep this test near a minute"
