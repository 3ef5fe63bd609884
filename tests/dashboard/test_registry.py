"""The panel registry: what the dashboard shows is data. Every declared panel is valid, a bad
entry names its file, entry and field, the dashboard's Python names no source or series, and a
source added in another folder appears on the timeline with no code change."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.registry import RegistryError, build
from etl.metadata import load_metadata
from etl.registry import SOURCES_DIR, all_sources

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "throwaway"


def test_every_panel_has_series_facets_and_both_languages(reg):
    assert [p.key for p in reg.ordered()][:1] == ["deaths"]
    for p in reg.ordered():
        assert p.series, p.key
        assert p.title and p.title_es and "{geo}" in p.title and "{geo}" in p.title_es
        for f in p.facets:
            assert f.label and f.label_es
            for v in f.values:
                assert v.label and v.label_es, (p.key, f.key, v.id)
        for s in p.series:
            assert s.label and s.label_es, s.id
            assert re.match(r"^#[0-9a-fA-F]{6}$", s.color)


def test_default_view_draws_something_on_every_panel(reg):
    for p in reg.ordered():
        chosen = p.select({f.key: f.default for f in p.facets})
        assert chosen, f"panel {p.key}: its default facets select no series"


def test_selection_follows_the_facets(reg):
    deaths = reg.panels["deaths"]
    ids = [s.id for s in deaths.select({"drug": ("heroin", "cocaine"), "variant": ("predicted",)})]
    assert ids == ["cdc_vsrr_overdose.heroin", "cdc_vsrr_overdose.heroin_predicted",
                   "cdc_vsrr_overdose.cocaine", "cdc_vsrr_overdose.cocaine_predicted"]
    seizures = reg.panels["seizures"]
    ids = [s.id for s in seizures.select({"drug": ("cocaine",), "measure": ("events",), "component": ("ofo",)})]
    assert ids == ["cbp_seizures.cocaine_events_ofo"]
    homicides = reg.panels["homicides"]  # the firearm line belongs to SESNSP: without it, none
    ids = [s.id for s in homicides.select({"source": ("inegi",), "weapon": ("firearm",)})]
    assert ids == ["inegi_homicide.homicides"]


def test_half_yearly_and_irregular_series_are_declared_honestly(reg):
    freqs = {s.frequency for p in reg.ordered() for s in p.series}
    assert {"half_yearly", "monthly", "monthly_12m_ending", "annual"} <= freqs
    assert all(s.frequency == "half_yearly" for s in reg.panels["lab_reports"].series)


# --- bad entries ------------------------------------------------------------------------------


BAD_CASES = [
    # (description, TOML text appended to a copy of cbp_seizures.toml's panel/series, expected fragments)
    ("unknown geo kind", lambda t: t.replace('geo_kind = "cbp"', 'geo_kind = "galaxy"'), ["panel 'seizures'", "geo_kind", "galaxy"]),
    ("unknown facet kind", lambda t: t.replace('kind = "single"', 'kind = "slider"', 1), ["facet 'measure'", "kind", "slider"]),
    ("facet value not declared", lambda t: t.replace('facets = { drug = "fentanyl", measure = "lbs", component = "all" }',
                                                     'facets = { drug = "fentanyl", measure = "tons", component = "all" }', 1),
     ["series 'cbp_seizures.fentanyl_lbs'", "measure", "tons"]),
    ("series on an undeclared panel", lambda t: t.replace('panel = "seizures"', 'panel = "nowhere"', 1),
     ["series 'cbp_seizures.fentanyl_lbs'", "panel", "nowhere"]),
    ("bad colour", lambda t: t.replace('color = "#16a085"', 'color = "teal"', 1), ["color", "teal"]),
    ("default not a value", lambda t: t.replace('default = "lbs"', 'default = "kg"'), ["facet 'measure'", "default", "kg"]),
    ("missing Spanish title", lambda t: t.replace('title_es = "Decomisos de droga en la frontera de EE. UU. — {geo}"\n', ''),
     ["panel 'seizures'", "title_es"]),
    ("unknown display field", lambda t: t.replace('color = "#16a085"', 'color = "#16a085"\ncolour = "#16a085"', 1),
     ["cbp_seizures.fentanyl_lbs", "colour"]),
]


@pytest.mark.parametrize("name, edit, fragments", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_entry_names_file_entry_and_field(name, edit, fragments, tmp_path):
    bad = tmp_path / "cbp_seizures.toml"
    bad.write_text(edit((SOURCES_DIR / "cbp_seizures.toml").read_text()), encoding="utf-8")
    metas = {sid: src.meta for sid, src in all_sources().items()}
    metas["cbp_seizures"] = load_metadata(bad)
    with pytest.raises(RegistryError) as exc:
        build(metas)
    msg = str(exc.value)
    assert "cbp_seizures.toml" in msg
    for fragment in fragments:
        assert fragment in msg, msg
    assert "\n" not in msg


def _env(tmp_path: Path, sources: Path, data: Path) -> dict:
    env = {k: v for k, v in os.environ.items()}
    env["XBORDER_SOURCE_PATH"] = str(sources)
    env["XBORDER_DATA_DIR"] = str(data)
    return env


@pytest.mark.parametrize("cli, old, new, fragments", [
    ("dashboard", 'geo_kind = "mx"', 'geo_kind = "moon"', ["excerpt_source.toml", "panel 'excerpt'", "geo_kind"]),
    ("etl", 'unit = "deaths"', 'unit = "corpses"', ["excerpt_source.toml", "corpses"]),
], ids=["dashboard-bad-panel", "etl-bad-unit"])
def test_cli_prints_a_bad_entry_in_one_line_and_exits_2(cli, old, new, fragments, tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "excerpt_source.toml").write_text((FIXTURE / "excerpt_source.toml").read_text().replace(old, new))
    shutil.copy(FIXTURE / "excerpt_source.py", sources)
    run = subprocess.run([sys.executable, "-m", cli, "list"], cwd=ROOT, capture_output=True, text=True,
                         env=_env(tmp_path, sources, ROOT / "data"), timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --- the dashboard names no source or series --------------------------------------------------


def test_dashboard_python_names_no_source_or_series_id():
    # Source ids without an underscore ("population") are also plain column names: series ids
    # ("population.us_resident") still catch a reference to that source.
    ids = {sid for sid in all_sources() if "_" in sid}
    ids |= {s.id for src in all_sources().values() for s in src.meta.series}
    pattern = re.compile(r"""["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)?)["']""")
    offenders = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for literal in pattern.findall(line):
                if literal in ids:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {literal}")
    assert not offenders, "dashboard code names sources or series:\n" + "\n".join(offenders)


# --- a source in another folder, through the registry alone -----------------------------------


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory):
    """A source kept outside the package (module + TOML + one real-excerpt CSV), built offline
    into a temporary data folder."""
    root = tmp_path_factory.mktemp("throwaway")
    sources, data = root / "sources", root / "data"
    sources.mkdir()
    for name in ("excerpt_source.toml", "excerpt_source.py"):
        shutil.copy(FIXTURE / name, sources)
    shutil.copytree(ROOT / "data" / "reference", data / "reference")
    shutil.copytree(ROOT / "data" / "milestones", data / "milestones")
    snap = data / "raw" / "excerpt_source" / "2024-03-21"
    snap.mkdir(parents=True)
    body = (FIXTURE / "inegi_mx_2019_2020.csv").read_bytes()
    (snap / "inegi_mx_2019_2020.csv").write_bytes(body)
    (snap / "snapshot.json").write_text(json.dumps({
        "source_id": "excerpt_source", "origin": "seed", "created_at": "2024-03-21T00:00:00+00:00",
        "files": [{"name": "inegi_mx_2019_2020.csv", "url": "https://www.inegi.org.mx/programas/mortalidad/",
                   "accessed_at": "2024-03-21T00:00:00+00:00", "md5": hashlib.md5(body).hexdigest(),
                   "sha256": hashlib.sha256(body).hexdigest(), "size": len(body), "etag": None,
                   "last_modified": None, "content_type": "text/csv"}],
    }))
    env = _env(root, sources, data)
    run = subprocess.run([sys.executable, "-m", "etl", "run", "--offline", "excerpt_source"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return env


def test_throwaway_source_is_listed(throwaway):
    run = subprocess.run([sys.executable, "-m", "dashboard", "list", "--series"], cwd=ROOT, env=throwaway,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "excerpt  [mx, excerpt.geo=MX, opt-in]  Excerpt panel" in run.stdout
    assert "excerpt_source.homicides" in run.stdout


RENDER = """
import json, sys
from dashboard.app import create_app
app = create_app()
from dashboard.pages import home
with app.server.test_request_context("/?panels=excerpt"):
    v = home.render_view(home.parse_url("panels=excerpt").state, [])
fig = v["fig"]["excerpt"]
print(json.dumps({"title": fig["layout"]["title"]["text"], "names": [t.get("name") for t in fig["data"]],
                  "n": len(fig["data"][0]["y"]), "sum": float(sum(fig["data"][0]["y"]))}))
"""


def test_throwaway_source_is_rendered_on_the_timeline(throwaway):
    run = subprocess.run([sys.executable, "-c", RENDER], cwd=ROOT, env=throwaway, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["title"].startswith("Excerpt panel<br>") and "Mexico" in out["title"]
    assert out["names"][0] == "Homicide deaths (excerpt)"
    assert out["n"] == 24 and out["sum"] == 71061  # the excerpt's real monthly counts, 2019–2020

