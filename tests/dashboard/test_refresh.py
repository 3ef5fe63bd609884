"""A refresh while the dashboard runs: the next request shows the new data, no restart."""

import hashlib
import json
import shutil
from dataclasses import replace

import pytest

from dashboard import store, views
from dashboard.state import default_state
from etl import paths, pipeline

SID = "inegi_homicide"
SERIES = "inegi_homicide.homicides"


def _new_vintage(root, changed_value: int) -> str:
    """A later snapshot of the same real file with one count changed (a synthetic revision)."""
    raw = root / "raw" / SID
    seed = sorted(raw.iterdir())[-1]
    new = raw / "2099-01-01"
    shutil.copytree(seed, new)
    name = json.loads((new / "snapshot.json").read_text())["files"][0]["name"]
    lines = (new / name).read_text(encoding="utf-8").splitlines()
    # first data row: Aguascalientes, January 2000
    cols = lines[1].split("|")
    cols[3] = str(changed_value)
    lines[1] = "|".join(cols)
    (new / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = json.loads((new / "snapshot.json").read_text())
    body = (new / name).read_bytes()
    manifest["files"][0].update(md5=hashlib.md5(body).hexdigest(), sha256=hashlib.sha256(body).hexdigest(),
                                size=len(body))
    (new / "snapshot.json").write_text(json.dumps(manifest))
    return new.name


def _timeline_first_value(reg) -> float:
    """The first point of the INEGI line on the timeline's homicide panel, for Aguascalientes."""
    state = replace(default_state(reg), start="2000-01-01").with_panel("homicides", geo="MX-AGU", source=("inegi",))
    panel = views.build_panel(reg.panels["homicides"], state)
    (shown,) = panel.shown
    assert shown.series_id == SERIES
    return shown.frame["value"].iloc[0]


@pytest.mark.data_sources(SID)
def test_dashboard_sees_a_refresh_without_restart(data_dir, reg):
    assert pipeline.exit_code(pipeline.run([SID], offline=True, progress=lambda m: None)) == 0
    before = store.series(SERIES, "MX-AGU")
    assert before.iloc[0]["value"] == 0  # the real count for Jan 2000
    assert _timeline_first_value(reg) == 0
    built_before = store.last_updated([SID])

    _new_vintage(data_dir, changed_value=7)
    assert pipeline.exit_code(pipeline.run([SID], offline=True, progress=lambda m: None)) == 0

    after = store.series(SERIES, "MX-AGU")  # same process, same caches: no restart
    assert after.iloc[0]["value"] == 7
    assert _timeline_first_value(reg) == 7  # the timeline's panel, through the registry
    assert store.provenance(SID)["snapshot"] == "2099-01-01"
    assert store.last_updated([SID]) >= built_before
    entry = store.catalog()["sources"][SID]
    assert entry["vintages"]["snapshots"] == ["2024-03-21", "2099-01-01"]
    assert len(entry["vintages"]["tables"]) == 1  # the replaced table, kept as a vintage
    assert (paths.vintages_dir(SID) / entry["vintages"]["tables"][0]).is_file()
