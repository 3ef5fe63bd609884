"""Transforms of one series. Frames here are synthetic (named so) because each test needs a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import transforms, views
from dashboard.views import word


def en(code) -> str:
    """A transform's (catalog key, params) code as the English page words it."""
    return word(code, "en")


def synthetic(dates, values, flag=None):
    return pd.DataFrame({"date": pd.to_datetime(dates), "value": [float(v) for v in values],
                         "flag": flag if flag is not None else [None] * len(dates)})


def test_per_100k_uses_each_dates_calendar_year():
    synthetic_df = synthetic(["2019-06-01", "2020-01-01", "2020-12-01", "2021-03-01"], [50, 10, 20, 30])
    synthetic_pop = pd.Series({2019: 1_000_000.0, 2020: 200_000.0})  # no 2021
    out = transforms.per_100k(synthetic_df, synthetic_pop)
    assert out["value"].iloc[:3].tolist() == pytest.approx([5.0, 5.0, 10.0])
    assert np.isnan(out["value"].iloc[3])  # no population for 2021 -> missing, not a wrong year
    assert synthetic_df["value"].tolist() == [50, 10, 20, 30]  # input untouched


def test_apply_per100k_label_and_no_population_note():
    synthetic_df = synthetic(["2020-01-01", "2020-02-01"], [100, 200])
    r = transforms.apply(synthetic_df, transform="per100k", frequency="monthly", unit="deaths",
                         population=pd.Series({2020: 1e6}))
    # Monthly rates are annualised (x 12), so they read like the yearly rates readers know.
    assert r.frame["value"].tolist() == pytest.approx([120.0, 240.0])
    assert r.frame["raw"].tolist() == [100, 200]
    assert en(r.label) == "per 100k residents per year (annualised)"
    r = transforms.apply(synthetic_df, transform="per100k", frequency="monthly", unit="deaths",
                         population=pd.Series(dtype=float))
    assert r.frame["value"].isna().all()
    assert "population" in en(r.note).lower()


def test_per100k_reports_the_years_without_population_even_under_a_rolling_mean():
    pop = pd.Series({2023: 1e6})  # synthetic: estimates end in 2023
    dates = pd.date_range("2023-01-01", "2025-06-01", freq="MS")
    r = transforms.apply(synthetic(dates, range(len(dates))), transform="per100k", frequency="monthly",
                         unit="deaths", population=pop)
    assert r.unrated_years == (2024, 2025) and r.note is None
    smoothed = transforms.apply(synthetic(dates, range(len(dates))), transform="per100k", frequency="monthly",
                                unit="deaths", population=pop, rolling=3)
    assert smoothed.unrated_years == (2024, 2025)  # the smoothing's own label does not hide them
    assert views.unrated_note({2024}, "en") == "No population estimate for 2024: those points have no rate."
    assert views.unrated_note({2024}, "es") == "No hay estimación de población para 2024: esos puntos no tienen tasa."
    assert views.unrated_note({2024, 2025}, "en") == "No population estimate for 2024–2025: those points have no rate."


def test_index_is_100_at_first_positive_on_or_after_date():
    synthetic_df = synthetic(["2018-12-01", "2019-01-01", "2019-02-01", "2019-03-01"], [5, 0, 40, 80])
    out, base = transforms.index_to(synthetic_df, pd.Timestamp("2019-01-01"))
    assert base == pd.Timestamp("2019-02-01")  # Jan is zero: skipped
    assert out["value"].tolist() == pytest.approx([12.5, 0.0, 100.0, 200.0])
    r = transforms.apply(synthetic_df, transform="index", frequency="monthly", unit="lbs",
                         index_at=pd.Timestamp("2019-01-15"))
    assert r.frame.loc[r.frame["date"] == "2019-02-01", "value"].item() == 100.0
    assert en(r.label) == "index, Feb 2019 = 100"


def test_index_with_no_base_is_empty_with_note():
    synthetic_df = synthetic(["2019-01-01", "2019-02-01"], [1, 2])
    r = transforms.apply(synthetic_df, transform="index", frequency="monthly", unit="lbs",
                         index_at=pd.Timestamp("2030-01-01"))
    assert r.frame["value"].isna().all()
    assert r.note


def test_yoy_matches_by_date_not_position():
    """A gap (2019-03 missing) must not shift the comparison: a positional shift(12) would."""
    dates = pd.date_range("2019-01-01", "2020-06-01", freq="MS").delete(2)  # drop 2019-03-01
    synthetic_df = synthetic(dates, range(1, len(dates) + 1))
    synthetic_df["value"] = [float(d.month + (100 if d.year == 2020 else 0)) for d in dates]
    out = transforms.year_over_year(synthetic_df, "monthly").set_index("date")["value"]
    # 2020-01 vs 2019-01: 101 / 1
    assert out[pd.Timestamp("2020-01-01")] == pytest.approx((101 / 1 - 1) * 100)
    assert out[pd.Timestamp("2020-04-01")] == pytest.approx((104 / 4 - 1) * 100)
    assert np.isnan(out[pd.Timestamp("2020-03-01")])  # its year-earlier month is the gap
    assert out[:"2019-12-01"].isna().all()


def test_yoy_annual():
    synthetic_df = synthetic(["2019-01-01", "2020-01-01", "2022-01-01"], [100, 150, 300])
    out = transforms.year_over_year(synthetic_df, "annual")["value"].tolist()
    assert np.isnan(out[0]) and out[1] == pytest.approx(50.0) and np.isnan(out[2])


def test_rolling_mean_keeps_raw_as_unsmoothed():
    synthetic_df = synthetic(pd.date_range("2020-01-01", periods=5, freq="MS"), [3, 6, 9, 12, 15])
    r = transforms.apply(synthetic_df, transform="counts", frequency="monthly", unit="events", rolling=3)
    assert r.frame["unsmoothed"].tolist() == [3, 6, 9, 12, 15]
    assert r.frame["value"].iloc[:2].isna().all()
    assert r.frame["value"].iloc[2:].tolist() == pytest.approx([6.0, 9.0, 12.0])
    assert en(r.label) == "seizure events (3-month mean)"
    assert r.note is None


def test_twelve_month_ending_series_refuses_rolling_with_note():
    synthetic_df = synthetic(pd.date_range("2020-01-01", periods=5, freq="MS"), [3, 6, 9, 12, 15])
    r = transforms.apply(synthetic_df, transform="counts", frequency="monthly_12m_ending", unit="deaths", rolling=6)
    assert "unsmoothed" not in r.frame
    assert r.frame["value"].tolist() == [3, 6, 9, 12, 15]
    assert "12-month" in en(r.note)
    assert en(r.label) == "deaths, rolling 12-month total"


def test_half_yearly_rolling_counts_periods_not_months():
    """A 12-month mean of half-yearly values averages 2 of them; a 3-month one cannot be taken."""
    synthetic_df = synthetic(["2020-01-01", "2020-07-01", "2021-01-01", "2021-07-01"], [10, 20, 30, 40])
    r = transforms.apply(synthetic_df, transform="counts", frequency="half_yearly", unit="reports", rolling=12)
    assert r.frame["value"].tolist()[1:] == pytest.approx([15.0, 25.0, 35.0])
    r = transforms.apply(synthetic_df, transform="counts", frequency="half_yearly", unit="reports", rolling=3)
    assert r.frame["value"].tolist() == [10, 20, 30, 40]
    assert "half-yearly" in en(r.note)


def test_half_yearly_rate_is_annualised():
    synthetic_df = synthetic(["2020-01-01", "2020-07-01"], [50, 70])
    r = transforms.apply(synthetic_df, transform="per100k", frequency="half_yearly", unit="reports",
                         population=pd.Series({2020: 1e6}))
    assert r.frame["value"].tolist() == pytest.approx([10.0, 14.0])


def test_apply_sorts_by_date_and_keeps_flag():
    synthetic_df = synthetic(["2020-03-01", "2020-01-01", "2020-02-01"], [3, 1, 2], flag=[None, None, "fytd"])
    r = transforms.apply(synthetic_df, transform="counts", frequency="monthly", unit="lbs")
    assert r.frame["value"].tolist() == [1, 2, 3]
    assert r.frame["flag"].tolist()[1] == "fytd"


def test_log_hidden_counts_non_positive():
    synthetic_values = pd.Series([5.0, 0.0, -2.0, np.nan, 1e-9, 3.0])
    assert transforms.log_hidden(synthetic_values) == 2
    assert transforms.log_hidden(pd.Series([1.0, 2.0])) == 0
    assert transforms.log_hidden(pd.Series([], dtype=float)) == 0
