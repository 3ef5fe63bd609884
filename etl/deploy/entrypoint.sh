#!/bin/sh
# Container entry point: build any missing tables from the bundled snapshots (so the data is
# usable at once, with no network), then refresh on a schedule in the foreground.
# Arguments are passed to `python -m etl schedule`, e.g.
#   podman run xborder-etl --cron "17 */6 * * *"
#   podman run xborder-etl --once
set -eu
cd /app
DATA="${XBORDER_DATA_DIR:-/app/data}"
# A fresh, empty volume mounted as the data dir: seed it with the repo's reference data,
# milestones, GeoJSON and raw snapshots.
if [ ! -d "$DATA/raw" ]; then
    mkdir -p "$DATA"
    cp -a /app/seed/. "$DATA/"
fi
python -m etl run --offline --missing-only || true
exec python -m etl schedule "$@"
