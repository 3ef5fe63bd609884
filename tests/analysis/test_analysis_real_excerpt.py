"""One REAL series: INEGI monthly homicides, national total 2000-2022, from the committed seed snapshot.

Mexico's homicides roughly doubled in 2008 as the war on the cartels escalated; a change-point
method that misses that break, or an ITS that calls this autocorrelated series clean, is wrong.
"""

from pathlib import Path

import pandas as pd
import pytest

from dashboard.analysis import detect_changepoints, fit_its

SNAPSHOT = Path(__file__).parents[2] / "data/raw/inegi_homicide/2024-03-21/mexico-state-month-homicide-rates-2000-2022.csv"


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


def test_real_inegi_its_flags_autocorrelation(national):
    res = fit_its(national, pd.Timestamp("2008-06-30"), frequency="monthly")
    assert res.level_change.estimate > 0 and res.slope_change.estimate > 0
    assert res.durbin_watson < 1.0
    assert any("autocorrelated" in w for w in res.warnings)
