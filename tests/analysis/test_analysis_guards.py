"""The CDC 12-month-ending guard and input checks, on SYNTHETIC counts (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import (
    OverlappingWindowsError, before_after, detect_changepoints, fit_its, placebo_test, prepare,
)

IDX = pd.date_range("2010-01-01", periods=144, freq="MS")


def synthetic_counts(seed: int = 31) -> tuple[pd.Series, pd.Series]:
    """Monthly Poisson counts with a +30 level shift from 2016-01, and their 12-month-ending sums."""
    rng = np.random.default_rng(seed)
    monthly = pd.Series(rng.poisson(100 + 30 * (np.arange(144) >= 72)).astype(float), index=IDX)
    return monthly, monthly.rolling(12).sum().dropna()


MILESTONE = pd.Timestamp("2016-01-01")


@pytest.mark.parametrize("analysis", [
    lambda s: before_after(s, MILESTONE, frequency="monthly_12m_ending"),
    lambda s: fit_its(s, MILESTONE, frequency="monthly_12m_ending"),
    lambda s: placebo_test(s, MILESTONE, frequency="monthly_12m_ending"),
    lambda s: detect_changepoints(s, frequency="monthly_12m_ending"),
])
def test_twelve_month_ending_never_runs_silently(analysis):
    _, rolling = synthetic_counts()
    with pytest.raises(OverlappingWindowsError, match="overlap"):
        analysis(rolling)
    assert issubclass(OverlappingWindowsError, ValueError)


def test_yoy_conversion_gives_calendar_year_totals():
    monthly, rolling = synthetic_counts()
    prep = prepare(rolling, "monthly_12m_ending", convert="yoy")
    truth = monthly.groupby(monthly.index.year).sum()
    assert prep.frequency == "annual" and prep.conversion == "yoy"
    assert list(prep.series.index.year) == list(truth.index)
    np.testing.assert_allclose(prep.series.to_numpy(), truth.to_numpy())
    res = before_after(rolling, MILESTONE, frequency="monthly_12m_ending", convert="yoy", window_months=36)
    assert res.conversion == "yoy" and res.n_before == 3 and res.n_after == 3
    assert abs(res.difference - 360) < 100


def test_monthly_conversion_recovers_counts_with_known_start():
    monthly, rolling = synthetic_counts()
    known = monthly.iloc[:11]
    prep = prepare(rolling, "monthly_12m_ending", convert="monthly", known_monthly=known)
    pd.testing.assert_series_equal(prep.series, monthly.iloc[11:], check_freq=False, check_names=False)
    res = fit_its(rolling, MILESTONE, frequency="monthly_12m_ending", convert="monthly", known_monthly=known,
                  window_months=24)
    assert res.conversion == "monthly" and res.frequency == "monthly"
    assert res.change.pct_low <= 0.3 <= res.change.pct_high  # +30 on 100


def test_monthly_conversion_refused_without_known_start_or_with_gaps():
    monthly, rolling = synthetic_counts()
    with pytest.raises(OverlappingWindowsError, match="11 monthly counts"):
        prepare(rolling, "monthly_12m_ending", convert="monthly")
    with pytest.raises(OverlappingWindowsError, match="11 monthly counts"):
        prepare(rolling, "monthly_12m_ending", convert="monthly", known_monthly=monthly.iloc[1:11])
    with pytest.raises(OverlappingWindowsError, match="gaps"):
        prepare(rolling.drop(rolling.index[30]), "monthly_12m_ending", convert="monthly", known_monthly=monthly.iloc[:11])


def test_bad_inputs_rejected():
    monthly, _ = synthetic_counts()
    with pytest.raises(ValueError, match="frequency"):
        prepare(monthly, "weekly")
    with pytest.raises(ValueError, match="first day of a month"):
        prepare(monthly.set_axis(monthly.index + pd.Timedelta(days=3)), "monthly")
    with pytest.raises(ValueError, match="only applies"):
        prepare(monthly, "monthly", convert="yoy")
