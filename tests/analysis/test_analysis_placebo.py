"""Placebo-date tests on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
from scipy import stats

from dashboard.analysis import placebo_test

IDX = pd.date_range("2012-01-01", periods=120, freq="MS")
T0 = IDX[60]


def synthetic(seed: int, level: float = 0.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(120)
    y = 100 + 0.3 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, 120) + level * (t >= 60)
    return pd.Series(y, index=IDX)


def test_synthetic_real_effect_ranks_in_top_5pct():
    res = placebo_test(synthetic(3, level=20), T0, frequency="monthly")
    assert res.n_placebos > 40
    assert res.rank_fraction < 0.05
    assert res.p_value < 0.05
    assert (res.placebo["date"].sub(T0).abs() > pd.Timedelta(days=366)).all()


def test_synthetic_pure_noise_ranks_are_roughly_uniform():
    ranks = [placebo_test(synthetic(seed), T0, frequency="monthly").rank_fraction for seed in range(50)]
    assert 0.35 < np.mean(ranks) < 0.65
    assert stats.kstest(ranks, "uniform").pvalue > 0.01


def test_few_placebo_dates_warn():
    res = placebo_test(synthetic(1).iloc[24:96], T0, frequency="monthly", exclusion_months=18)
    assert res.n_placebos < 19
    assert any("placebo dates" in w for w in res.warnings)
