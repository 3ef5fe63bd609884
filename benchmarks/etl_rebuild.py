"""Offline rebuild time per source against the floor of merely parsing its raw files.

    .venv/bin/python benchmarks/etl_rebuild.py [--repeat 3] [SOURCE ...]

In a temporary copy of data/ (reference, milestones, raw), for each source, median of N runs:

* rebuild: ``etl.pipeline.run([id], offline=True)`` from scratch (the source's tidy Parquet and
  catalog removed before each run): read + transform + validate + Parquet + catalog;
* floor: only parsing the same raw files (the newest snapshot's) with pandas, with the right
  separator, encoding and compression, no transform;
* transform / checks: the rebuild's two main parts, timed alone (the rest is Parquet, catalog,
  lock and fsync);
* load: ``etl.load`` of a typical dashboard series, cold (read cache cleared) and warm.

Target: rebuild within 3x the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

TARGET = 3.0
# A typical dashboard series per source and the geography it is usually drawn for.
TYPICAL = {
    "cdc_vsrr_overdose": ("cdc_vsrr_overdose.all_drugs", "US"),
    "cdc_nchs_final_overdose": (None, "US"),
    "sesnsp_homicide": ("sesnsp_homicide.homicidio_doloso", "MX"),
    "inegi_homicide": ("inegi_homicide.homicides", "MX"),
    "cbp_seizures": ("cbp_seizures.fentanyl_lbs", "CBP-SWB"),
    "population": (None, "US"),
}


def read_kwargs(source_id: str, name: str) -> dict:
    """How each raw file is parsed at minimum: separator, encoding, header (compression is inferred)."""
    kw: dict = {"dtype": str, "keep_default_na": False}
    if source_id == "inegi_homicide":
        kw["sep"] = "|"
    if source_id.startswith("cdc_"):
        kw["encoding"] = "utf-8-sig"
    if source_id == "population":
        if name.lower().startswith("nst-est"):
            kw["encoding"] = "latin-1"
        if name.startswith("st-est00int"):
            kw["header"] = None
    return kw


def parse_raw(snapshot) -> int:
    rows = 0
    for f in snapshot.files:
        path = snapshot.path(f["name"])
        if f["name"].endswith(".json"):
            rows += len(pd.DataFrame(json.loads(path.read_bytes()), dtype=object))
        else:
            rows += len(pd.read_csv(path, **read_kwargs(snapshot.source_id, f["name"])))
    return rows


def median_time(fn, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*", help="source ids (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="xborder-bench-"))
    data = tmp / "data"
    for part in ("reference", "milestones", "raw"):
        shutil.copytree(ROOT / "data" / part, data / part)
    os.environ["XBORDER_DATA_DIR"] = str(data)

    import etl
    import etl.api
    import etl.pipeline
    import etl.store
    from etl import paths
    from etl.registry import all_sources
    from etl.schema import normalize, validate
    from etl.snapshot import latest_snapshot

    ids = args.sources or list(all_sources())
    quiet = lambda _msg: None  # noqa: E731
    rows = []
    try:
        for sid in ids:
            snap = latest_snapshot(sid)
            size_mb = sum(f["size"] for f in snap.files) / 1e6

            def scratch(sid=sid):
                paths.tidy_path(sid).unlink(missing_ok=True)
                cat = etl.store.read_catalog()
                cat["sources"].pop(sid, None)
                etl.store.write_json(cat, paths.catalog_path())

            def rebuild(sid=sid):
                [res] = etl.pipeline.run([sid], offline=True, progress=quiet)
                assert res.status == "ok", res.error

            floor = median_time(lambda: parse_raw(snap), args.repeat)
            build = median_time(rebuild, args.repeat, before=scratch)
            # where the rebuild's time goes: the source's transform, then normalize + pandera checks
            source = all_sources()[sid]
            transform = median_time(lambda: source.module.transform(snap), args.repeat)
            df = source.module.transform(snap)
            check = median_time(lambda: validate(normalize(df), source.meta), args.repeat)

            series_id, geo = TYPICAL.get(sid, (None, None))
            meta = all_sources()[sid].meta
            series_id = series_id or meta.series[0].id
            load = lambda: etl.load(series_id, geo=geo)  # noqa: E731
            cold = median_time(load, args.repeat, before=etl.api._read_parquet.cache_clear)
            load()
            warm = median_time(load, max(args.repeat, 5))
            n = len(load())
            rows.append(dict(source=sid, files=len(snap.files), mb=size_mb, floor=floor, rebuild=build,
                             transform=transform, check=check,
                             ratio=build / floor, cold_ms=cold * 1e3, warm_ms=warm * 1e3,
                             series=f"{series_id} [{geo}] ({n} rows)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    head = f"{'source':<26}{'files':>6}{'MB':>7}{'floor s':>9}{'rebuild s':>11}{'ratio':>7}{'transform':>10}{'checks':>8}  {'load cold ms':>12}{'warm ms':>9}  series"
    print(f"offline rebuild vs parse floor, median of {args.repeat} (target: rebuild <= {TARGET:g}x floor)\n")
    print(head)
    print("-" * len(head))
    for r in rows:
        flag = "" if r["ratio"] <= TARGET else "  !"
        print(f"{r['source']:<26}{r['files']:>6}{r['mb']:>7.1f}{r['floor']:>9.3f}{r['rebuild']:>11.3f}"
              f"{r['ratio']:>6.1f}x{r['transform']:>10.3f}{r['check']:>8.3f}  {r['cold_ms']:>12.1f}{r['warm_ms']:>9.1f}  {r['series']}{flag}")
    total_floor = sum(r["floor"] for r in rows)
    total_build = sum(r["rebuild"] for r in rows)
    print("-" * len(head))
    print(f"{'total':<26}{sum(r['files'] for r in rows):>6}{sum(r['mb'] for r in rows):>7.1f}{total_floor:>9.3f}"
          f"{total_build:>11.3f}{total_build / total_floor:>6.1f}x"
          f"{sum(r['transform'] for r in rows):>10.3f}{sum(r['check'] for r in rows):>8.3f}  "
          f"{sum(r['cold_ms'] for r in rows):>12.1f}{sum(r['warm_ms'] for r in rows):>9.1f}")
    over = [r["source"] for r in rows if r["ratio"] > TARGET]
    print(f"\nwithin {TARGET:g}x: " + ("all sources" if not over else f"no — over target: {', '.join(over)}")
          + f"; total {total_build / total_floor:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
