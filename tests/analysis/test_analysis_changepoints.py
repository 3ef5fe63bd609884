"""Change-point detection on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import detect_changepoints

IDX = pd.date_range("2010-01-01", periods=120, freq="MS")


def synthetic_break(seed: int, shift: float = 20.0) -> pd.Series:
    """Noise (sd 5) around 100, +shift from month 60 (2015-01) on."""
    rng = np.random.default_rng(seed)
    return pd.Series(100 + shift * (np.arange(120) >= 60) + rng.normal(0, 5, 120), index=IDX)


@pytest.mark.parametrize("model", ["l2", "rbf"])
def test_synthetic_break_at_month_60_detected_within_2_months(model):
    res = detect_changepoints(synthetic_break(11), frequency="monthly", model=model)
    assert len(res.breaks) == 1
    assert abs(res.breaks[0].index - 60) <= 2


def test_synthetic_break_distance_to_named_milestones():
    milestones = {"far": pd.Timestamp("2011-03-01"), "near": pd.Timestamp("2014-10-08")}
    res = detect_changepoints(synthetic_break(12), frequency="monthly", milestones=milestones)
    brk = res.breaks[0]
    assert brk.nearest_milestone_id == "near"
    assert brk.months_to_milestone == (brk.date.year - 2014) * 12 + brk.date.month - 10
    frame = res.to_frame()
    assert list(frame.columns)[:2] == ["date", "index"] and len(frame) == 1


def test_synthetic_pure_noise_has_no_breaks_with_default_penalty():
    res = detect_changepoints(synthetic_break(13, shift=0.0), frequency="monthly")
    assert res.breaks == ()
    assert res.penalty > 0


def test_milestones_as_plain_dates_and_explicit_penalty():
    res = detect_changepoints(synthetic_break(14), frequency="monthly", penalty=1e9, milestones=[pd.Timestamp("2015-01-01")])
    assert res.breaks == () and res.penalty == 1e9
    res = detect_changepoints(synthetic_break(14), frequency="monthly", milestones=[pd.Timestamp("2015-01-01")])
    assert res.breaks[0].nearest_milestone_id == "2015-01-01"


def test_a_break_far_from_every_milestone_names_none():
    """The break is in 2015-01; a 2019 milestone is 40+ months away: not "its" break."""
    res = detect_changepoints(synthetic_break(15), frequency="monthly", milestones={"late": pd.Timestamp("2019-06-01")})
    brk = res.breaks[0]
    assert brk.nearest_milestone_id is None and brk.months_to_milestone is None
    assert brk.code == "none_within" and brk.params == {"max": 12} and res.max_distance_months == 12
    wide = detect_changepoints(synthetic_break(15), frequency="monthly", max_distance_months=60,
                               milestones={"late": pd.Timestamp("2019-06-01")})
    assert wide.breaks[0].code == "before" and wide.breaks[0].params["milestone"] == "late"
    assert wide.breaks[0].params["months"] == -wide.breaks[0].months_to_milestone
