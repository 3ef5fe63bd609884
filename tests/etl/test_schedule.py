"""``python -m etl schedule``: cron parsing, a real scheduled refresh, and lock contention."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

import etl.cli
import etl.store
from etl import paths, schedule

REPO = Path(__file__).resolve().parents[2]
SID = "inegi_homicide"
LOCK_MESSAGE = "another ETL run holds the lock"


# ---------------------------------------------------------------- cron expressions

def test_default_cron_fires_daily_at_0617_utc():
    fixed_now = datetime(2024, 3, 10, 12, 0, tzinfo=timezone.utc)
    trigger = CronTrigger.from_crontab(schedule.DEFAULT_CRON, timezone="UTC")
    assert trigger.get_next_fire_time(None, fixed_now) == datetime(2024, 3, 11, 6, 17, tzinfo=timezone.utc)
    early = datetime(2024, 3, 10, 6, 0, tzinfo=timezone.utc)
    assert schedule.next_fire_time(schedule.DEFAULT_CRON, early) == datetime(2024, 3, 10, 6, 17, tzinfo=timezone.utc)


def test_cron_expression_other_than_daily():
    fixed_now = datetime(2024, 12, 31, 23, 59, tzinfo=timezone.utc)
    # Mondays at 04:30: 31 Dec 2024 is a Tuesday, so next is Monday 6 Jan 2025.
    assert schedule.next_fire_time("30 4 * * mon", fixed_now) == datetime(2025, 1, 6, 4, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("expr, pattern", [
    ("61 6 * * *", r"higher than the maximum"),
    ("17 6 * *", r"expected 5 fields"),
    ("every day", r"expected 5 fields"),
    ("17 6 * * funday", r"invalid cron expression"),
])
def test_bad_cron_expression_is_a_clear_error(expr, pattern):
    with pytest.raises(schedule.CronError, match=pattern) as info:
        schedule.parse_cron(expr)
    assert repr(expr) in str(info.value) and "example" in str(info.value)


def test_cli_bad_cron_exits_2_with_message(data_dir, capsys):
    assert etl.cli.main(["schedule", "--cron", "61 6 * * *", "--once", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "error: invalid cron expression '61 6 * * *'" in err
    assert not (data_dir / "logs").exists()  # rejected before anything ran


def test_cli_unknown_source_exits_2(data_dir, capsys):
    assert etl.cli.main(["schedule", "nope", "--once", "--offline"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- a real refresh

@pytest.mark.data_sources(SID)
def test_schedule_once_offline_refreshes_and_logs(data_dir):
    log = data_dir / "logs" / "etl.log"
    assert etl.cli.main(["schedule", SID, "--once", "--offline"]) == 0  # default log under the data dir
    entry = json.loads(paths.catalog_path().read_text())["sources"][SID]
    assert entry["status"] == "ok" and entry["rows"] > 0
    assert paths.tidy_path(SID).is_file()
    text = log.read_text()
    assert "refresh started (offline, inegi_homicide)" in text
    assert f"{SID}: building from the newest local snapshot (offline)" in text
    assert f"{SID}: OK (" in text
    assert "refresh finished: all fresh (exit 0)" in text
    # every line starts with an ISO timestamp
    assert all(line[:4].isdigit() and line[10] == "T" for line in text.splitlines())


@pytest.mark.data_sources(SID)
def test_interval_job_runs_a_refresh_in_the_scheduler(data_dir, tmp_path):
    log = tmp_path / "sched.log"
    job = schedule.RefreshJob(schedule.setup_logger(log, stderr=False), sources=[SID], offline=True)
    scheduler = schedule.build_scheduler(job, IntervalTrigger(seconds=1, timezone="UTC"))
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if log.is_file() and "refresh finished" in log.read_text():
                break
            time.sleep(0.1)
    finally:
        scheduler.shutdown(wait=True)
        thread.join(5)
    assert not thread.is_alive()
    text = log.read_text()
    assert "refresh finished: all fresh (exit 0)" in text
    assert f"{SID}: OK (" in text
    assert json.loads(paths.catalog_path().read_text())["sources"][SID]["status"] == "ok"
    assert scheduler.get_jobs() == []  # shut down cleanly


def test_scheduler_job_is_single_instance_and_coalesced(tmp_path):
    job = schedule.RefreshJob(schedule.setup_logger(tmp_path / "x.log", stderr=False))
    scheduler = schedule.build_scheduler(job, schedule.parse_cron(schedule.DEFAULT_CRON))
    (j,) = scheduler.get_jobs()
    assert j.max_instances == 1 and j.coalesce is True
    assert str(j.trigger.timezone) == "UTC"


@pytest.mark.data_sources(SID)
def test_failed_source_is_logged_as_error(data_dir, tmp_path):
    # A source with no snapshot at all: the run fails, the log says which and why, nothing raises.
    log = tmp_path / "fail.log"
    job = schedule.RefreshJob(schedule.setup_logger(log, stderr=False), sources=["sesnsp_homicide"], offline=True)
    assert job() == 2
    text = log.read_text()
    assert "ERROR   sesnsp_homicide: FAILED" in text and "no local snapshot" in text
    assert "refresh finished: failed (exit 2)" in text


# ---------------------------------------------------------------- lock contention

@pytest.mark.data_sources(SID)
def test_scheduled_job_logs_lock_held_and_does_not_crash(data_dir, tmp_path):
    log = tmp_path / "locked.log"
    job = schedule.RefreshJob(schedule.setup_logger(log, stderr=False), sources=[SID], offline=True)
    with etl.store.etl_lock():
        assert job() == 3
    text = log.read_text()
    assert "refresh skipped" in text and LOCK_MESSAGE in text
    assert not paths.tidy_path(SID).exists()  # nothing was done
    assert job() == 0  # and the next fire, with the lock free, refreshes


@pytest.mark.data_sources(SID)
def test_lock_held_inside_running_scheduler(data_dir, tmp_path):
    log = tmp_path / "locked-sched.log"
    job = schedule.RefreshJob(schedule.setup_logger(log, stderr=False), sources=[SID], offline=True)
    scheduler = schedule.build_scheduler(job, IntervalTrigger(seconds=1, timezone="UTC"))
    with etl.store.etl_lock():
        thread = threading.Thread(target=scheduler.start, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (log.is_file() and LOCK_MESSAGE in log.read_text()):
                time.sleep(0.1)
            assert thread.is_alive()  # the scheduler survived the contention
        finally:
            scheduler.shutdown(wait=True)
            thread.join(5)
    assert LOCK_MESSAGE in log.read_text()


@pytest.mark.data_sources(SID)
def test_cli_schedule_once_exits_3_when_locked(data_dir, capsys):
    with etl.store.etl_lock():
        code = etl.cli.main(["schedule", SID, "--once", "--offline"])
    assert code == 3
    assert LOCK_MESSAGE in capsys.readouterr().err  # the logger also writes to stderr
    assert LOCK_MESSAGE in (data_dir / "logs" / "etl.log").read_text()


# ---------------------------------------------------------------- deploy examples

DEPLOY = REPO / "etl" / "deploy"


def test_deploy_examples_use_the_real_commands():
    crontab = (DEPLOY / "crontab").read_text()
    assert "python -m etl schedule --once" in crontab and "python -m etl run" in crontab
    service = (DEPLOY / "xborder-etl.service").read_text()
    assert "ExecStart=/srv/xborder/.venv/bin/python -m etl schedule --once" in service
    assert "Type=oneshot" in service and "SuccessExitStatus=1 3" in service
    timer = (DEPLOY / "xborder-etl.timer").read_text()
    assert "OnCalendar=*-*-* 06:17:00 UTC" in timer and "Unit=xborder-etl.service" in timer
    assert "python -m etl schedule" in (DEPLOY / "entrypoint.sh").read_text()
    assert "entrypoint.sh" in (DEPLOY / "Containerfile").read_text()
    workflow = (DEPLOY / "github-refresh.yml").read_text()
    assert "schedule:" in workflow and "cron:" in workflow and "python -m etl run" in workflow
    assert "git commit" in workflow


def test_deploy_crontab_expression_parses():
    lines = [ln for ln in (DEPLOY / "crontab").read_text().splitlines() if ln.strip() and not ln.startswith("#")
             and "=" not in ln.split()[0]]
    assert lines
    for ln in lines:
        schedule.parse_cron(" ".join(ln.split()[:5]))


def test_deploy_workflow_is_valid_yaml_with_a_parsable_cron():
    import yaml  # a dev dependency: a missing parser must fail, not skip
    wf = yaml.safe_load((DEPLOY / "github-refresh.yml").read_text())
    on = wf.get("on", wf.get(True))  # PyYAML reads the bare key `on` as True
    for item in on["schedule"]:
        schedule.parse_cron(item["cron"])
