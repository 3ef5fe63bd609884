"""``python -m etl``: list sources, refresh them, show their status.

Each command's help is its documentation; the README repeats the examples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

from etl import heal, paths, pipeline, store
from etl.errors import LockHeld
from etl.metadata import MetadataError
from etl.vocabulary import VocabularyError
from etl.registry import all_sources

EPILOG = """\
examples:
  python -m etl list                          sources, their series and build status
  python -m etl run --offline                 rebuild every source from the newest local snapshot
  python -m etl run cbp_seizures              fetch CBP's current file, then rebuild
  python -m etl status --json                 the catalog, machine-readable
  python -m etl schedule                      refresh every day at 06:17 UTC (log: data/logs/etl.log)

exit codes of `run`:
  0  all sources fresh (fetched, not modified, or built offline as asked)
  1  partial: some source failed to refresh and kept or fell back to an older snapshot
  2  failed: some source has no usable data
  3  another ETL run holds the lock; nothing was done
"""


def _cmd_list(args: argparse.Namespace) -> int:
    cat = store.read_catalog()["sources"]
    for src in all_sources().values():
        entry = cat.get(src.id)
        state = f"{entry['status']} · {entry['rows']:,} rows · {entry['date_min']}..{entry['date_max']}" if entry else "not built"
        print(f"{src.id}  [{src.meta.cadence}]  {src.meta.title}\n    {src.meta.publisher} — {state}")
        if args.series:
            for s in src.meta.series:
                print(f"      {s.id:<48} {s.unit:<22} {s.frequency:<18} {s.title}")
    return 0


PRERENDER_ENV = "XBORDER_PRERENDER"


def prerender_dashboard() -> None:
    """Render the dashboard's default views into its shared figure cache, so the first reader
    after a refresh gets them at once. A separate process: the ETL never imports the dashboard,
    and a failure here never fails the refresh. ``XBORDER_PRERENDER=0`` turns it off."""
    if os.environ.get(PRERENDER_ENV, "1") == "0":
        return
    try:
        done = subprocess.run([sys.executable, "-m", "dashboard.cache", "prerender"], capture_output=True, text=True,
                              timeout=300, cwd=paths.REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"warning: could not pre-render the dashboard's default views: {exc}", file=sys.stderr)
        return
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"warning: pre-rendering the dashboard's default views failed: {tail}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    sources = args.sources or None
    if args.missing_only:  # missing, or damaged: a table that does not match the catalog is rebuilt
        built = store.read_catalog()["sources"]
        sources = [sid for sid in (sources or all_sources()) if heal.table_problem(sid, built.get(sid))]
        if not sources:
            try:
                pipeline.repair_now()  # leftovers of a killed run, a damaged catalog.json
            except LockHeld:
                pass  # the run holding the lock repairs it
            print("every source is built; nothing to do", file=sys.stderr)
            return pipeline.EXIT_OK
    try:
        results = pipeline.run(sources, offline=args.offline, retention=args.keep_vintages)
    except LockHeld as exc:
        print(f"error: {exc}", file=sys.stderr)
        return pipeline.EXIT_LOCKED
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return pipeline.EXIT_FAILED
    code = pipeline.exit_code(results)
    label = {0: "all fresh", 1: "partial (some sources kept older data)", 2: "failed"}[code]
    print(f"done: {label}", file=sys.stderr)
    if code != pipeline.EXIT_FAILED:
        prerender_dashboard()
    return code


def _cmd_status(args: argparse.Namespace) -> int:
    cat = store.read_catalog()
    if args.json:
        print(json.dumps(cat, indent=2, ensure_ascii=False))
        return 0
    for sid in all_sources():
        entry = cat["sources"].get(sid)
        attempt = cat["attempts"].get(sid, {})
        if entry:
            print(f"{sid}: {entry['status']} — snapshot {entry['snapshot']}, {entry['rows']:,} rows, "
                  f"{entry['date_min']}..{entry['date_max']}, built {entry['built_at']}")
        else:
            print(f"{sid}: not built")
        if attempt.get("error"):
            print(textwrap.indent(f"last attempt {attempt['at']} ({attempt['status']}): {attempt['error']}", "    "))
    return 0


def _cmd_schedule(args: argparse.Namespace) -> int:
    from etl import schedule  # imports APScheduler only for this command

    try:
        schedule.parse_cron(args.cron)
    except schedule.CronError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return pipeline.EXIT_FAILED
    try:
        return schedule.run_schedule(args.cron, once=args.once, offline=args.offline, log_file=args.log_file,
                                     sources=args.sources or None, retention=args.keep_vintages)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return pipeline.EXIT_FAILED


def _add_refresh_arguments(p: argparse.ArgumentParser) -> None:
    """What `run` and `schedule` share: which sources, offline or not, vintages kept."""
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="source ids (default: all); see `list`")
    p.add_argument("--offline", action="store_true",
                   help="build from the newest local snapshot; never touch the network")
    p.add_argument("--keep-vintages", type=int, default=pipeline.DEFAULT_RETENTION, metavar="N",
                   help="previous tidy tables to keep per source as dated vintages (default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m etl",
        description="Refresh the dashboard's data: fetch each publisher's file into a dated raw snapshot, "
        "transform it to the tidy table, validate it and write Parquet atomically.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list sources and their build status",
                       description="List every source with its cadence, publisher and build status.",
                       epilog="example:\n  python -m etl list --series", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--series", action="store_true", help="also list each source's series with unit and frequency")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="fetch and rebuild sources (all by default)",
                       description="Fetch, snapshot, transform, validate and write each source. "
                       "A failed source keeps its last good table.",
                       epilog="examples:\n  python -m etl run --offline\n  python -m etl run cdc_vsrr_overdose cbp_seizures\n\n"
                       + EPILOG.split("\n\n", 1)[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_refresh_arguments(p)
    p.add_argument("--missing-only", action="store_true",
                   help="only build sources that have no tidy table yet (first start of a fresh clone)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("status", help="show what was built from which snapshot, and the last errors",
                       description="Show the catalog: per source, status, snapshot, rows, date range, "
                       "build time and the last attempt's error.",
                       epilog="example:\n  python -m etl status --json", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print the whole catalog as JSON")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("schedule", help="run the refresh (`run`) on a cron schedule, logging each run",
                       description="Run `python -m etl run` on a cron expression (UTC) with APScheduler, "
                       "one refresh at a time: a refresh that finds the ETL lock held logs it and skips. "
                       "Each run logs timestamped per-source lines to the log file and stderr.",
                       epilog="examples:\n  python -m etl schedule\n"
                       "  python -m etl schedule --cron \"17 */6 * * *\" --log-file /var/log/xborder-etl.log\n"
                       "  python -m etl schedule --once --offline\n\n"
                       "exit codes: with --once, those of `run` (3: another ETL run holds the lock);\n"
                       "  2 also for an invalid cron expression; 0 when the scheduler is stopped",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_refresh_arguments(p)
    p.add_argument("--cron", default="17 6 * * *", metavar="EXPR",
                   help='5-field crontab expression in UTC (default "%(default)s": daily at 06:17)')
    p.add_argument("--once", action="store_true", help="run one refresh now and exit with its exit code")
    p.add_argument("--log-file", default=None, metavar="PATH",
                   help="append the run log here (default: data/logs/etl.log under the data dir)")
    p.set_defaults(func=_cmd_schedule)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MetadataError, VocabularyError) as exc:  # a bad TOML entry: one line naming file, entry, field
        print(f"error: {exc}", file=sys.stderr)
        return 2
