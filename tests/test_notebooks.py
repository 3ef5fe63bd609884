"""The notebooks in notebooks/ are committed clean and read data only through the public API.

They are executed by ``pytest --nbmake notebooks/``; these checks are static and fast.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
EXPECTED = {"01_overdose_deaths", "02_mexico_homicides", "03_border_seizures", "04_milestone_impact"}
# Reading files directly, instead of through etl.load / etl.series / etl.milestones.
FORBIDDEN = [r"data/", r"data\\\\", r"read_parquet", r"read_csv", r"read_table", r"pyarrow", r"\bopen\(",
             r"XBORDER_DATA_DIR", r"etl\.paths", r"from etl import paths", r"tidy_path", r"\.parquet"]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_four_notebooks_exist():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_stripped(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_direct_file_reads(path):
    code = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
    for pattern in FORBIDDEN:
        assert not re.search(pattern, code), f"{path.name} reads files directly ({pattern!r}); use etl.load()"
    assert "import etl" in code and "etl.load(" in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_makes_the_repo_importable_and_facts_are_asserted(path):
    cells = _cells(path)
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert "sys.path.insert(0" in "".join(first_code["source"])
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.search(r"^assert ", code, flags=re.M), f"{path.name} asserts no fact"
