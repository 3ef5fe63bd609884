"""``python -m etl schedule``: run the refresh (``python -m etl run``) on a cron expression.

One refresh at a time: APScheduler runs the job with ``max_instances=1`` and ``coalesce=True``
(missed fires collapse into one), and every refresh goes through ``pipeline.run``, which holds
the project's ETL lock (:func:`etl.store.etl_lock`). A refresh that finds the lock held — a
manual ``python -m etl run``, a second scheduler, a cron job — logs that and does nothing.

Each run writes timestamped lines to the log file (default ``data/logs/etl.log``) and stderr:
start, one line per source step from the pipeline's progress callback, and a summary.

    python -m etl schedule                          # every day at 06:17 UTC
    python -m etl schedule --cron "17 */6 * * *"    # every six hours
    python -m etl schedule --once --offline         # one refresh now, then exit
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from etl import paths, pipeline
from etl.errors import LockHeld
from etl.registry import get_source

DEFAULT_CRON = "17 6 * * *"  # once a day, 06:17 UTC (off the hour: publishers' servers are busy at :00)
TIMEZONE = "UTC"
JOB_ID = "etl-refresh"
LOGGER_NAME = "etl.schedule"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
LOG_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"


class CronError(ValueError):
    """The cron expression cannot be parsed."""


def default_log_file() -> Path:
    return paths.data_dir() / "logs" / "etl.log"


def parse_cron(expr: str, timezone: str = TIMEZONE) -> CronTrigger:
    """A CronTrigger from a standard 5-field crontab expression, or a CronError saying why not."""
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(
            f"invalid cron expression {expr!r}: expected 5 fields (minute hour day-of-month month "
            f"day-of-week), got {len(fields)}; example: {DEFAULT_CRON!r}"
        )
    try:
        return CronTrigger.from_crontab(expr, timezone=timezone)
    except ValueError as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}; example: {DEFAULT_CRON!r}") from None


def next_fire_time(expr: str, now: datetime, timezone: str = TIMEZONE) -> datetime | None:
    """When a cron expression fires next after ``now`` (an aware datetime)."""
    return parse_cron(expr, timezone).get_next_fire_time(None, now)


def setup_logger(log_file: Path | str | None = None, *, stderr: bool = True) -> logging.Logger:
    """The scheduler's logger: timestamped lines to ``log_file`` (created) and optionally stderr.

    Calling it again replaces the handlers, so tests and repeated runs do not duplicate lines.
    """
    log_file = Path(log_file) if log_file else default_log_file()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger(LOGGER_NAME)
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    fmt = logging.Formatter(LOG_FORMAT, LOG_DATEFMT)
    handlers: list[logging.Handler] = [logging.FileHandler(log_file, encoding="utf-8")]
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


@dataclass
class RefreshJob:
    """The scheduled job: one ``pipeline.run`` under the ETL lock, logged. Never raises."""

    logger: logging.Logger
    sources: list[str] | None = None
    offline: bool = False
    retention: int = pipeline.DEFAULT_RETENTION

    def _progress(self, msg: str) -> None:
        level = logging.ERROR if " ERROR " in f" {msg} " or ": FAILED " in msg else logging.INFO
        self.logger.log(level, msg)

    def __call__(self) -> int:
        mode = "offline" if self.offline else "online"
        what = ", ".join(self.sources) if self.sources else "all sources"
        self.logger.info("refresh started (%s, %s)", mode, what)
        try:
            results = pipeline.run(self.sources, offline=self.offline, retention=self.retention,
                                   progress=self._progress)
        except LockHeld as exc:
            self.logger.warning("refresh skipped: %s", exc)
            return pipeline.EXIT_LOCKED
        except Exception as exc:  # the scheduler must survive anything one refresh does
            self.logger.exception("refresh crashed: %s: %s", type(exc).__name__, exc)
            return pipeline.EXIT_FAILED
        code = pipeline.exit_code(results)
        label = {0: "all fresh", 1: "partial (some sources kept older data)", 2: "failed"}[code]
        counts = ", ".join(f"{r.source_id}={r.status}" for r in results)
        self.logger.log(logging.INFO if code == 0 else logging.WARNING,
                        "refresh finished: %s (exit %d) — %s", label, code, counts)
        return code


def build_scheduler(job: RefreshJob, trigger: BaseTrigger) -> BlockingScheduler:
    """A blocking scheduler with the refresh job: one instance at a time, missed fires coalesced."""
    scheduler = BlockingScheduler(timezone=TIMEZONE)
    scheduler.add_job(job, trigger, id=JOB_ID, name="ETL refresh", max_instances=1, coalesce=True,
                      misfire_grace_time=3600, replace_existing=True)
    return scheduler


def run_schedule(
    cron: str = DEFAULT_CRON,
    *,
    once: bool = False,
    offline: bool = False,
    log_file: Path | str | None = None,
    sources: list[str] | None = None,
    retention: int = pipeline.DEFAULT_RETENTION,
) -> int:
    """The ``schedule`` command. Returns an exit code (``--once``: the refresh's, as ``run``'s)."""
    trigger = parse_cron(cron)  # fail fast on a bad expression or source id, before any logging setup
    for sid in sources or ():
        get_source(sid)  # KeyError naming the known sources
    logger = setup_logger(log_file)
    job = RefreshJob(logger, sources=sources, offline=offline, retention=retention)
    if once:
        return job()
    scheduler = build_scheduler(job, trigger)
    nxt = trigger.get_next_fire_time(None, datetime.now(trigger.timezone))
    logger.info("scheduler started: cron %r (%s), next refresh %s; log %s", cron, TIMEZONE,
                nxt.isoformat() if nxt else "never", log_file or default_log_file())
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    logger.info("scheduler stopped")
    return 0
