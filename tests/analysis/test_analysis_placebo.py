"""Placebo dates on SYNTHETIC count series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dashboard.analysis import placebo_test
from dashboard.analysis.placebo import MIN_PLACEBOS, placebo_steps, step_at

IDX = pd.date_range("2010-01-01", periods=144, freq="MS")
T0 = IDX[72] + pd.Timedelta(days=14)


def synthetic(seed: int, step: float = 0.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(144)
    mu = 300 * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) * np.where(t >= 73, 1 + step, 1)
    return pd.Series(rng.poisson(mu).astype(float), index=IDX)


def test_synthetic_real_step_ranks_first():
    res = placebo_test(synthetic(3, step=0.3), T0, frequency="monthly", window_months=12)
    assert res.n_placebos >= MIN_PLACEBOS and res.testable
    assert res.rank == 1 and res.p_value == 1 / (res.n_placebos + 1)
    assert abs(res.real_estimate - 0.3) < 0.05


def test_placebo_windows_never_contain_the_milestone():
    res = placebo_test(synthetic(4), T0, frequency="monthly", window_months=12, gap_months=3)
    d = res.placebo["date"]
    # a placebo at month p uses [p - 12, p + 1 + 3 + 12): it must end before January 2016 or start after it
    starts, ends = d - pd.DateOffset(months=12), d + pd.DateOffset(months=16)
    assert (((ends <= pd.Timestamp("2016-01-01")) | (starts > pd.Timestamp("2016-01-01")))).all()
    assert res.window_months == 12 and res.gap_months == 3


def test_synthetic_pure_noise_ranks_are_roughly_uniform():
    ps = [placebo_test(synthetic(seed), T0, frequency="monthly").p_value for seed in range(40)]
    assert 0.35 < np.mean(ps) < 0.65
    assert stats.kstest(ps, "uniform").pvalue > 0.01


def test_fast_table_equals_the_single_date_fit():
    y = synthetic(5)
    table = placebo_steps(y, period=1, window_months=12, gap_months=1, straddle=True, seasonal="harmonic")
    for i in (0, 30, 60):
        d = table["date"].iloc[i]
        # The same fit by another route (one batched solve against one lstsq): equal to rounding,
        # which differs between CPUs' BLAS kernels in the last few bits.
        expected = step_at(y, d + pd.Timedelta(days=14), 1, 12, 1, "harmonic")
        assert table["log_step"].iloc[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_too_long_windows_leave_no_placebo_and_say_so():
    res = placebo_test(synthetic(1).iloc[24:120], T0, frequency="monthly", window_months=36)
    assert res.n_placebos == 0 and not res.testable
    assert ("no_placebos", {"window": 36}) in res.warnings
    few = placebo_test(synthetic(1).iloc[12:120], T0, frequency="monthly", window_months=24)
    assert 0 < few.n_placebos < MIN_PLACEBOS and any(c == "few_placebos" for c, _ in few.warnings)
