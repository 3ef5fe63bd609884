"""notebooks/FINDINGS.md is produced by dashboard.findings and must never drift from the data or the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "notebooks" / "FINDINGS.md"
REFRESH = "python -m dashboard.findings --write notebooks/FINDINGS.md"


@pytest.fixture(scope="module")
def rendered() -> str:
    """The document as the code renders it now (the tidy data is built offline first if missing)."""
    if not any((ROOT / "data" / "tidy").glob("*.parquet")):
        subprocess.run([sys.executable, "-m", "etl", "run", "--offline"], cwd=ROOT, check=True)
    from dashboard.findings import render

    return render()


def _first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), start=1):
        if x != y:
            return f"first difference at line {i}:\n  committed: {x}\n  rendered:  {y}"
    return f"line counts differ ({len(a.splitlines())} committed, {len(b.splitlines())} rendered) or line endings differ"


def test_committed_findings_equal_render_byte_for_byte(rendered):
    committed = COMMITTED.read_bytes() if COMMITTED.is_file() else b""
    if committed != rendered.encode("utf-8"):
        pytest.fail(f"notebooks/FINDINGS.md is out of date with the data or code; run `{REFRESH}` and commit it.\n"
                    + _first_difference(committed.decode("utf-8", "replace"), rendered), pytrace=False)


def test_render_is_deterministic(rendered):
    from dashboard.findings import render

    assert render() == rendered


def test_findings_use_the_impact_pages_numbers(rendered):
    """The same settings as the Impact page: its results table's numbers appear in the document."""
    from dashboard import impact

    for key, geo, milestone in [("sesnsp", "MX", "cienfuegos-arrest"), ("fentanyl_lbs", "CBP-SWB", "security-dialogue"),
                                ("od_synthetic", "US", "dea-fentanyl-surge")]:
        table = impact.run(key, geo, milestone).table.set_index("measure")
        for value in [*table["estimate"].iloc[:2], table["interval"].iloc[3], table["interval"].iloc[4]]:
            for part in value.split(" to "):
                assert part in rendered, f"{key}/{milestone}: {part!r} from the Impact page is missing"


def test_every_required_section_and_caveat_is_present(rendered):
    for needle in ["cienfuegos-arrest", "foreign-agents-law", "security-dialogue", "dea-fentanyl-surge",
                   "Homicide victims (SESNSP)", "Homicide deaths (INEGI)", "Southwest Border", "calendar-year totals",
                   "Overlap", "Lagged cross-correlation", "spurious correlation", "## Data versions", "## Method"]:
        assert needle in rendered, needle


def test_cli_prints_and_writes(tmp_path, rendered):
    out = subprocess.run([sys.executable, "-m", "dashboard.findings"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert out == rendered
    target = tmp_path / "FINDINGS.md"
    subprocess.run([sys.executable, "-m", "dashboard.findings", "--write", str(target)], cwd=ROOT, check=True)
    assert target.read_bytes() == rendered.encode("utf-8")
