"""Known-answer tests of the local count model on SYNTHETIC series (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import AnalysisError, fit_its
from dashboard.analysis.guards import OverlappingWindowsError

IDX = pd.date_range("2012-01-01", periods=120, freq="MS")
T0 = IDX[60] + pd.Timedelta(days=14)  # mid-January 2017, as most milestones fall inside a month


def synthetic_counts(seed: int, step: float = 0.0, n: int = 120, level: float = 400.0) -> pd.Series:
    """Poisson counts around a 3%/year trend and a 10% seasonal wave, x(1 + step) from month 61 on."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    mu = level * np.exp(0.03 * t / 12) * (1 + 0.1 * np.sin(2 * np.pi * (t + 1) / 12)) * np.where(t >= 61, 1 + step, 1)
    return pd.Series(rng.poisson(mu).astype(float), index=pd.date_range("2012-01-01", periods=n, freq="MS"))


@pytest.mark.parametrize("window", [12, 24, 36])
def test_synthetic_20pct_step_recovered_with_interval(window):
    res = fit_its(synthetic_counts(1, step=0.2), T0, frequency="monthly", window_months=window)
    assert abs(res.change.pct - 0.2) <= 0.05
    assert res.change.pct_low <= 0.2 <= res.change.pct_high
    assert res.n_pre == window and res.n_post == window
    # the count per month is the counterfactual level times the step
    assert res.change.per_period == pytest.approx(res.counterfactual.mean() * res.change.pct)


def test_fit_uses_only_the_chosen_windows():
    y = synthetic_counts(2, step=0.2)
    res = fit_its(y, T0, frequency="monthly", window_months=12)
    assert res.observed.index.min() == pd.Timestamp("2016-01-01")  # 12 months before January 2017
    assert res.observed.index.max() == pd.Timestamp("2018-01-01")  # 12 months after it
    wild = y.copy()
    wild[wild.index < "2015-06-01"] *= 5  # data outside the windows cannot move the fit
    assert fit_its(wild, T0, frequency="monthly", window_months=12).change.pct == pytest.approx(res.change.pct)
    other = fit_its(y, T0, frequency="monthly", window_months=24)
    assert other.change.pct != pytest.approx(res.change.pct)


def test_counterfactual_only_over_the_after_window_with_a_band():
    res = fit_its(synthetic_counts(3, step=0.2), T0, frequency="monthly", window_months=12, gap_months=3)
    assert res.counterfactual.index[0] == pd.Timestamp("2017-05-01")  # January straddles, then a 3-month gap
    assert len(res.counterfactual) == 12 and res.counterfactual.index[-1] == pd.Timestamp("2018-04-01")
    assert (res.counterfactual_low < res.counterfactual).all() and (res.counterfactual < res.counterfactual_high).all()
    assert not res.observed.index.isin(pd.date_range("2017-01-01", "2017-04-01", freq="MS")).any()


def test_no_step_interval_covers_zero_most_of_the_time():
    covered = [fit_its(synthetic_counts(s), T0, frequency="monthly", window_months=12).change.excludes_zero
               for s in range(40)]
    assert np.mean(covered) <= 0.15  # Poisson noise: HAC intervals near nominal


def test_seasonal_terms_follow_the_window_and_say_so():
    y = synthetic_counts(4)
    assert fit_its(y, T0, frequency="monthly", window_months=24).seasonal == "month_dummies"
    short = fit_its(y, T0, frequency="monthly", window_months=12)
    assert short.seasonal == "harmonic" and ("seasonal_harmonic", {}) in short.warnings
    six = fit_its(y, T0, frequency="monthly", window_months=6)
    codes = {c for c, _ in six.warnings}
    assert six.seasonal == "none" and {"seasonal_none", "short_series", "not_whole_years"} <= codes


def test_negbin_family_gives_the_same_kind_of_answer():
    res = fit_its(synthetic_counts(1, step=0.2), T0, frequency="monthly", window_months=24, family="negbin")
    assert res.family == "negbin" and abs(res.change.pct - 0.2) <= 0.05


def test_half_yearly_series_by_periods_per_year():
    t = np.arange(20)
    rng = np.random.default_rng(6)
    y = pd.Series(rng.poisson(1000 * np.where(t >= 10, 1.3, 1.0)).astype(float),
                  index=pd.date_range("2012-01-01", periods=20, freq="6MS"))
    res = fit_its(y, pd.Timestamp("2017-01-01"), frequency="half_yearly", window_months=60)
    assert res.n_pre == 10 and res.n_post == 10 and res.seasonal == "half_year"
    assert abs(res.change.pct - 0.3) <= 0.05 and res.period_unit == "half_year"
    with pytest.raises(AnalysisError) as err:
        fit_its(y, pd.Timestamp("2017-01-01"), frequency="half_yearly", window_months=12)
    assert err.value.code == "too_few_points" and err.value.params["need"] == 3
    with pytest.raises(AnalysisError, match="multiples"):
        fit_its(y, pd.Timestamp("2017-01-01"), frequency="half_yearly", window_months=9)
    with pytest.raises(ValueError, match="start a period"):
        fit_its(y.set_axis(y.index + pd.DateOffset(months=1)), pd.Timestamp("2017-02-01"), frequency="half_yearly")


def test_errors_are_codes_with_parameters():
    y = synthetic_counts(7)
    with pytest.raises(AnalysisError) as err:
        fit_its(y, pd.Timestamp("2030-01-01"), frequency="monthly")
    assert err.value.code == "outside_range" and err.value.params["first"] == pd.Timestamp("2012-01-01")
    with pytest.raises(OverlappingWindowsError):
        fit_its(y.rolling(12).sum().dropna(), T0, frequency="monthly_12m_ending")
    with pytest.raises(AnalysisError) as err:
        fit_its(y * 0, T0, frequency="monthly")
    assert err.value.code == "zero_side"


def test_result_tables():
    res = fit_its(synthetic_counts(8, step=0.2), T0, frequency="monthly", window_months=24, alpha=0.1, maxlags=6)
    assert list(res.to_frame()["term"]) == ["trend", "step", "bend"]
    d = res.as_dict()
    assert d["hac_maxlags"] == 6 and d["alpha"] == 0.1 and "counterfactual" not in d
    wide = fit_its(synthetic_counts(8, step=0.2), T0, frequency="monthly", window_months=24, alpha=0.01)
    assert wide.change.pct_high - wide.change.pct_low > res.change.pct_high - res.change.pct_low
