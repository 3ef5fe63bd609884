"""ETL for the cross-border dashboard: publisher -> raw snapshot -> tidy Parquet.

The public read API lives in :mod:`etl.api`; the names below are re-exported so that
notebooks can write ``import etl; etl.load("cbp_seizures.fentanyl_lbs", geo="CBP-SWB")``.
"""

from etl.api import catalog, coverage, load, milestones, ratio, series, source_info

__all__ = ["catalog", "coverage", "load", "milestones", "ratio", "series", "source_info"]
