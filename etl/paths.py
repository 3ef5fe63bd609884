"""Where the project's data lives. One environment variable moves all of it (tests use it)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "XBORDER_DATA_DIR"


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data")


def raw_dir(source_id: str | None = None) -> Path:
    root = data_dir() / "raw"
    return root / source_id if source_id else root


def tidy_path(source_id: str) -> Path:
    return data_dir() / "tidy" / f"{source_id}.parquet"


def vintages_dir(source_id: str) -> Path:
    return data_dir() / "vintages" / source_id


def catalog_path() -> Path:
    return data_dir() / "catalog.json"


def lock_path() -> Path:
    return data_dir() / ".etl.lock"


def reference_dir() -> Path:
    return data_dir() / "reference"


def milestones_path() -> Path:
    return data_dir() / "milestones" / "milestones.csv"
