"""Lagged cross-correlation on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import OverlappingWindowsError, lagged_xcorr

N = 156
IDX = pd.date_range("2010-01-01", periods=N, freq="MS")


def synthetic_pair(seed: int, trending: bool) -> tuple[pd.Series, pd.Series]:
    """x is a random walk with drift (trending) or a stationary AR(1); y(t) = x(t-6) + noise."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, 1, N)
    x = np.zeros(N)
    for i in range(1, N):
        x[i] = (x[i - 1] + 0.2 if trending else 0.8 * x[i - 1]) + e[i]
    xs = pd.Series(x, index=IDX)
    ys = (xs.shift(6) + rng.normal(0, 0.5, N)).dropna()
    return xs, ys


@pytest.mark.parametrize("method", ["difference", "prewhiten"])
@pytest.mark.parametrize("trending", [True, False])
def test_synthetic_x_leading_y_by_6_peaks_at_plus_6(method, trending):
    x, y = synthetic_pair(21, trending)
    res = lagged_xcorr(x, y, method=method)
    assert res.peak_lag == 6 and res.peak_corr > res.band
    assert "positive lag k: x leads y" in res.sign_convention
    assert list(res.table["lag"]) == list(range(-24, 25))
    swapped = lagged_xcorr(y, x, method=method)
    assert swapped.peak_lag == -6


def test_synthetic_trending_inputs_warn_about_spurious_correlation():
    x, y = synthetic_pair(22, trending=True)
    res = lagged_xcorr(x, y)
    assert res.adf_p_x > 0.05
    assert any(code == "trending" and p["series"] == "x" for code, p in res.warnings)
    x, y = synthetic_pair(22, trending=False)
    assert not any(code == "trending" for code, _ in lagged_xcorr(x, y).warnings)


def test_synthetic_independent_series_have_no_significant_lag():
    """Pointwise, about 1 lag in 20 pokes out by chance; the family-wise band keeps the verdict honest."""
    found = 0
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        x, y = (pd.Series(rng.normal(size=N), index=IDX) for _ in range(2))
        res = lagged_xcorr(x, y)
        found += res.significant
        if not res.significant:
            assert res.peak_lag is None and res.peak_corr is None
            assert res.reading == ("no_significant_lag", {"band": res.band_familywise, "n": res.n})
    assert found <= 3  # family-wise 5%


def test_peak_is_chosen_among_significant_lags_only():
    x, y = synthetic_pair(25, trending=False)
    res = lagged_xcorr(x, y)
    sig = res.table[res.table["significant"]]
    assert res.peak_lag in set(sig["lag"]) and res.band_familywise > res.band
    assert res.reading[0] == "peak" and res.reading[1]["lag"] == 6


def test_twelve_month_ending_inputs_refused():
    x, y = synthetic_pair(24, trending=False)
    with pytest.raises(OverlappingWindowsError):
        lagged_xcorr(x, y, frequency="monthly_12m_ending")
