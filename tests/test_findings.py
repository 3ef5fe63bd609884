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


def test_findings_use_the_impact_pages_numbers_and_words(rendered):
    """The same settings as the Impact page: its verdict and its results table appear in the document."""
    from dashboard import impact

    for sid, geo, milestone, window in [("sesnsp_homicide.homicidio_doloso", "MX", "cienfuegos-arrest", 12),
                                        ("cbp_seizures.fentanyl_lbs", "CBP-SWB", "security-dialogue", 12),
                                        ("cdc_vsrr_overdose.synthetic_opioids", "US", "dea-fentanyl-surge", 36)]:
        r = impact.run(sid, geo, milestone, window)
        assert impact.verdict_text(r, "en") in rendered
        for row in impact.results_table(r, "en").itertuples():
            assert f"| {row.measure} | {row.estimate} | {row.interval} | {row.p} |" in rendered, (sid, row.measure)


def test_every_required_section_and_caveat_is_present(rendered):
    for needle in ["cienfuegos-arrest", "foreign-agents-law", "security-dialogue", "dea-fentanyl-surge",
                   "Homicidio doloso victims (SESNSP", "Homicide deaths (INEGI", "Southwest Border", "calendar-year totals",
                   "Overlap", "Lagged cross-correlation", "spurious correlation", "## Data versions", "## Method",
                   "## Calibration of the verdict on real data", "false alarm", "+20% shift inserted",
                   "No significant lag"]:
        assert needle in rendered, needle
    assert "peak at lag" not in rendered.lower()


def test_cli_writes_the_document(tmp_path, rendered):
    target = tmp_path / "FINDINGS.md"
    subprocess.run([sys.executable, "-m", "dashboard.findings", "--write", str(target)], cwd=ROOT, check=True)
    assert target.read_bytes() == rendered.encode("utf-8")
