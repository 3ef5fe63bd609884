"""Fixtures every source test uses. Each test module names its source in a module-level SID."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from etl import paths, pipeline, registry, snapshot


@pytest.fixture(scope="module")
def seed_snapshot(request) -> snapshot.Snapshot:
    """The newest committed seed snapshot of the module's source."""
    return snapshot.latest_snapshot(request.module.SID)


@pytest.fixture(scope="module")
def table(seed_snapshot) -> pd.DataFrame:
    """The tidy table built from that snapshot, validated as the pipeline would."""
    return pipeline.build_table(registry.get_source(seed_snapshot.source_id), seed_snapshot)


@pytest.fixture
def data_dir(tmp_path, monkeypatch, request):
    """An isolated data folder with the reference tables and the module's source snapshots."""
    root = tmp_path / "data"
    shutil.copytree(paths.REPO_ROOT / "data" / "reference", root / "reference")
    shutil.copytree(paths.REPO_ROOT / "data" / "raw" / request.module.SID, root / "raw" / request.module.SID)
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(root))
    return root
