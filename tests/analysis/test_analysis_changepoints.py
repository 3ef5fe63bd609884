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
