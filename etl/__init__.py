"""ETL for the cross-border dashboard: publisher -> raw snapshot -> tidy Parquet.

The public read API lives in :mod:`etl.api`; the names below are re-exported so that
notebooks can write ``import etl; etl.load("cbp_seizures.fentanyl_lbs", geo="CBP-SWB")``.
They load on first use (PEP 562): ``etl.api`` imports pandas and pyarrow, and a process that
needs only ``etl.paths`` or ``etl.metadata`` (the serving edge, the health check) should not
carry them.
"""

from __future__ import annotations

import importlib

__all__ = ["catalog", "coverage", "load", "milestones", "ratio", "series", "source_info"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("etl.api"), name)
    raise AttributeError(f"module 'etl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
