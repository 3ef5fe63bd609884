"""REAL series: INEGI monthly homicides, national total 2000-2022, from the committed seed snapshot.

Mexico's homicides roughly doubled in 2008 as the war on the cartels escalated; a change-point
method that misses that break is wrong. And a +20% level shift inserted into this real series,
at every ordinary date, must come back out of the count model.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import detect_changepoints, fit_its
from dashboard.analysis.calibration import MID_PERIOD, _shifted, ordinary_dates

SNAPSHOT = Path(__file__).parents[2] / "data/raw/inegi_homicide/2024-03-21/mexico-state-month-homicide-rates-2000-2022.csv"
MILESTONES = Path(__file__).parents[2] / "data/milestones/milestones.csv"


@pytest.fixture(scope="module")
def national() -> pd.Series:
    assert SNAPSHOT.exists(), f"seed snapshot missing: {SNAPSHOT}"
    raw = pd.read_csv(SNAPSHOT, sep="|")
    total = raw.groupby(["year", "month"], as_index=False)["homicides"].sum()
    index = pd.to_datetime(total[["year", "month"]].assign(day=1))
    return pd.Series(total["homicides"].astype(float).to_numpy(), index=pd.DatetimeIndex(index))


@pytest.mark.parametrize("model", ["l2", "rbf"])
def test_real_inegi_2008_escalation_is_a_change_point(national, model):
    merida = {"merida-announced": pd.Timestamp("2007-10-22"), "merida-funded": pd.Timestamp("2008-06-30")}
    res = detect_changepoints(national, frequency="monthly", model=model, min_size=12, milestones=merida)
    first = res.breaks[0]
    assert pd.Timestamp("2008-01-01") <= first.date <= pd.Timestamp("2008-12-01")
    assert first.nearest_milestone_id == "merida-funded" and abs(first.months_to_milestone) <= 6
    assert first.code in ("after", "before", "same_month") and first.params["milestone"] == "merida-funded"


def test_real_inegi_inserted_20pct_shift_is_recovered(national):
    """At each of the ordinary dates (no milestone in the windows), 12-month windows: the median
    recovered step is within 5 points of +20% and the 95% interval covers +20% at >= 80% of the
    dates (HAC intervals are somewhat optimistic: that is why the verdict also needs the placebo)."""
    milestones = pd.to_datetime(pd.read_csv(MILESTONES)["date"])
    dates = ordinary_dates(national, milestones, 12, 0)
    assert len(dates) > 100
    est, covered = [], []
    for d in dates:
        res = fit_its(_shifted(national, d, 0.2), d + MID_PERIOD, frequency="monthly", window_months=12, bend=False)
        est.append(res.change.pct)
        covered.append(res.change.pct_low <= 0.2 <= res.change.pct_high)
    assert abs(np.median(est) - 0.2) <= 0.05
    assert np.mean(covered) >= 0.8
