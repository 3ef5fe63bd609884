"""Before/after windows on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import OverlappingWindowsError, before_after

IDX = pd.date_range("2015-01-01", periods=72, freq="MS")


def synthetic_step(seed: int = 0, step: float = 20.0) -> pd.Series:
    """Flat at 100 with noise, +step from month 36 (2018-01) on."""
    rng = np.random.default_rng(seed)
    return pd.Series(100 + step * (np.arange(72) >= 36) + rng.normal(0, 1, 72), index=IDX)


def test_synthetic_step_difference_and_counts():
    res = before_after(synthetic_step(), pd.Timestamp("2018-01-01"), frequency="monthly")
    assert res.n_before == 12 and res.n_after == 12
    assert abs(res.difference - 20) < 1.5
    assert abs(res.pct_change - 20) < 1.5
    assert res.before_start == pd.Timestamp("2017-01-01") and res.after_end == pd.Timestamp("2019-01-01")
    assert res.warnings == []


def test_washout_gap_moves_after_window():
    res = before_after(synthetic_step(), pd.Timestamp("2018-01-01"), frequency="monthly", window_months=24, gap_months=6)
    assert res.after_start == pd.Timestamp("2018-07-01") and res.n_after == 24 and res.n_before == 24


def test_mid_month_milestone_month_belongs_to_neither_window():
    res = before_after(synthetic_step(), pd.Timestamp("2018-01-08"), frequency="monthly")
    assert res.before_end == pd.Timestamp("2018-01-01") and res.after_start == pd.Timestamp("2018-02-01")


def test_incomplete_window_warns():
    res = before_after(synthetic_step(), pd.Timestamp("2020-06-01"), frequency="monthly", window_months=12)
    assert res.n_after == 7
    assert ("incomplete_window", {"side": "after", "n": 7, "expected": 12}) in res.warnings


def test_twelve_month_ending_refused_and_milestone_range_checked():
    with pytest.raises(OverlappingWindowsError):
        before_after(synthetic_step(), pd.Timestamp("2018-01-01"), frequency="monthly_12m_ending")
    with pytest.raises(ValueError, match="outside the data range"):
        before_after(synthetic_step(), pd.Timestamp("2024-01-01"), frequency="monthly")
