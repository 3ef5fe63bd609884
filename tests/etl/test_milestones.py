"""The milestone registry users edit: every bad row is named with its field."""

import shutil
from pathlib import Path

import pandas as pd
import pytest

from etl import paths
from etl.policy_milestones import MilestoneError, load_milestones

SEED = paths.REPO_ROOT / "data" / "milestones"


@pytest.fixture
def registry(tmp_path) -> Path:
    for f in SEED.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "milestones.csv"


def _append(path: Path, line: str) -> int:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")
    return len(text.rstrip("\n").splitlines()) + 1  # the new row's line number, header = 1


def test_seed_registry_loads_every_row_with_citations():
    ms = load_milestones()
    seed = pd.read_csv(SEED / "milestones.csv")
    assert len(ms) == len(seed) >= 15
    assert ms["source_url"].str.startswith("https://").all()
    assert ms["date"].is_monotonic_increasing
    dialogue = ms.set_index("id").loc["security-dialogue"]
    assert dialogue["date"] == pd.Timestamp("2021-10-08") and dialogue["in_article"]
    merida = ms.set_index("id").loc["merida-funded"]
    assert [a["date"] for a in merida["alt_dates"]] == [pd.Timestamp("2007-10-22"), pd.Timestamp("2008-12-03")]
    assert all(a["source_url"].startswith("https://") for a in merida["alt_dates"])


@pytest.mark.parametrize("line, field, problem", [
    ("bad-date,2021-13-40,policy,US,false,T,T,d,https://example.org", "date", "not a date"),
    ("no-date,,policy,US,false,T,T,d,https://example.org", "date", "required"),
    ("no-url,2021-01-01,policy,US,false,T,T,d,", "source_url", "required"),
    ("bad-url,2021-01-01,policy,US,false,T,T,d,example.org/x", "source_url", "not an http(s) URL"),
    ("security-dialogue,2021-01-01,policy,US,false,T,T,d,https://example.org", "id", "duplicate id"),
    ("new-one,2021-01-01,festival,US,false,T,T,d,https://example.org", "category", "unknown category"),
    ("new-two,2021-01-01,policy,CA,false,T,T,d,https://example.org", "countries", "use US, MX"),
    ("new-three,2021-01-01,policy,US,maybe,T,T,d,https://example.org", "in_article", "true or false"),
])
def test_bad_row_names_file_row_and_field(registry, line, field, problem):
    row = _append(registry, line)
    with pytest.raises(MilestoneError) as err:
        load_milestones(registry)
    msg = str(err.value)
    assert f"milestones.csv row {row}, field '{field}'" in msg and problem in msg


def test_missing_column_is_named(registry):
    text = registry.read_text(encoding="utf-8").replace("source_url", "url", 1)
    registry.write_text(text, encoding="utf-8")
    with pytest.raises(MilestoneError, match=r"missing column\(s\) \['source_url'\]"):
        load_milestones(registry)


def test_alternative_date_for_unknown_milestone_is_named(registry):
    alt = registry.with_name("alternative_dates.csv")
    row = _append(alt, "nope,2020-01-01,label,https://example.org")
    with pytest.raises(MilestoneError, match=rf"alternative_dates.csv row {row}, field 'milestone_id'"):
        load_milestones(registry)


def test_user_added_row_appears_in_date_order(registry):
    _append(registry, "my-event,2020-01-15,policy,MX,false,My event,Mi evento,desc,https://example.org/e")
    ms = load_milestones(registry)
    assert "my-event" in set(ms["id"])
    assert ms["date"].is_monotonic_increasing
