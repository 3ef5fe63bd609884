"""Known-answer tests of the segmented regression on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import fit_its

IDX = pd.date_range("2012-01-01", periods=120, freq="MS")
T0 = IDX[60]


def synthetic(seed: int, level: float = 0.0, slope: float = 0.0, ar: float = 0.0, n: int = 120) -> pd.Series:
    """Trend + seasonality + noise, with a level and/or slope change injected at month 60."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = rng.normal(0, 5, n)
    for i in range(1, n):
        noise[i] += ar * noise[i - 1]
    y = 100 + 0.3 * t + 10 * np.sin(2 * np.pi * t / 12) + noise
    y += level * (t >= 60) + slope * (t - 60) * (t >= 60)
    return pd.Series(y, index=pd.date_range("2012-01-01", periods=n, freq="MS"))


def test_synthetic_level_shift_recovered_within_10pct_and_covered_by_ci():
    res = fit_its(synthetic(1, level=20), T0, frequency="monthly")
    assert abs(res.level_change.estimate - 20) <= 2
    assert res.level_change.ci_low <= 20 <= res.level_change.ci_high
    assert res.level_change.p_value < 0.001
    assert res.seasonal and res.n_pre == 60 and res.n_post == 60


def test_synthetic_slope_change_recovered_within_10pct_and_covered_by_ci():
    res = fit_its(synthetic(2, slope=1.0), T0, frequency="monthly")
    assert abs(res.slope_change.estimate - 1.0) <= 0.1
    assert res.slope_change.ci_low <= 1.0 <= res.slope_change.ci_high
    assert res.level_change.ci_low <= 0 <= res.level_change.ci_high
    assert res.slope_unit == "per month"


def test_synthetic_counterfactual_extends_pre_trend():
    res = fit_its(synthetic(3, level=20, slope=0.5), T0, frequency="monthly")
    assert res.counterfactual.index[0] == T0 and len(res.counterfactual) == res.n_post
    gap = res.fitted_post - res.counterfactual
    k = np.arange(res.n_post)
    expected = res.level_change.estimate + res.slope_change.estimate * k
    np.testing.assert_allclose(gap.to_numpy(), expected, atol=1e-8)
    assert res.fitted_pre.index[-1] < T0


def test_milestone_outside_range_is_an_error():
    with pytest.raises(ValueError, match="outside the data range"):
        fit_its(synthetic(4), pd.Timestamp("2030-01-01"), frequency="monthly")
    with pytest.raises(ValueError, match="outside the data range"):
        fit_its(synthetic(4), pd.Timestamp("2011-06-01"), frequency="monthly")


def test_synthetic_short_series_warns():
    y = synthetic(5, level=20, n=70).iloc[50:]  # 10 before, 10 after month 60
    res = fit_its(y, T0, frequency="monthly")
    assert any("short series" in w for w in res.warnings)
    assert any("seasonality is not modelled" in w for w in res.warnings)
    long = fit_its(synthetic(5, level=20), T0, frequency="monthly")
    assert not any("short series" in w for w in long.warnings)


def test_synthetic_few_post_points_warns():
    y = synthetic(6, n=64)
    res = fit_its(y, T0, frequency="monthly")
    assert res.n_post == 4
    assert any("only 4 points after" in w for w in res.warnings)


def test_synthetic_autocorrelated_residuals_warn_and_white_noise_does_not():
    red = fit_its(synthetic(7, ar=0.9), T0, frequency="monthly")
    assert any("autocorrelated" in w for w in red.warnings)
    white = fit_its(synthetic(7), T0, frequency="monthly")
    assert not any("autocorrelated" in w for w in white.warnings)


def test_mid_month_milestone_drops_straddling_month():
    res = fit_its(synthetic(8, level=20), pd.Timestamp("2017-01-15"), frequency="monthly")
    assert res.n_pre == 60 and res.n_post == 59
    assert res.counterfactual.index[0] == pd.Timestamp("2017-02-01")
    assert any("left out" in w for w in res.warnings)


def test_result_tables():
    res = fit_its(synthetic(9, level=20), T0, frequency="monthly", alpha=0.1, maxlags=12)
    assert list(res.to_frame()["term"]) == ["pre_slope", "level_change", "slope_change"]
    d = res.as_dict()
    assert d["hac_maxlags"] == 12 and d["alpha"] == 0.1 and "counterfactual" not in d
    wide = fit_its(synthetic(9, level=20), T0, frequency="monthly", alpha=0.01)
    assert wide.level_change.ci_high - wide.level_change.ci_low > res.level_change.ci_high - res.level_change.ci_low
