"""Input checks shared by every analysis, and the CDC 12-month-ending guard.

CDC's provisional counts are rolling 12-month sums: consecutive values share 11 of their 12
months, so before/after means, regressions and change points on them count the same deaths
up to twelve times and smear any change over a year. No analysis runs on them silently.
The caller must choose one honest conversion (recorded on the result as ``conversion``):

* ``convert="yoy"``: keep only the 12-month-ending December values, i.e. calendar-year
  totals, which do not overlap; each is compared with the one 12 months earlier. The series
  becomes ``annual``, dated on 1 January of the year each total covers.
* ``convert="monthly"``: recover monthly counts by differencing, x(m) = S(m) - S(m-1) +
  x(m-12). That needs the 11 true monthly counts before the first rolling value
  (``known_monthly``) and a gapless series; without them we refuse rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from etl.vocabulary import frequencies as _vocabulary_frequencies

Conversion = Literal["yoy", "monthly"]
# Months per period, from the vocabulary's periods_per_year (monthly 12 -> 1, half_yearly 2 -> 6,
# annual 1 -> 12). Irregular dates (0 per year) cannot be analysed as a time series; the
# overlapping 12-month-ending sums only after a conversion (below).
PERIOD_MONTHS: dict[str, int] = {
    key: 12 // term.periods_per_year for key, term in _vocabulary_frequencies().items()
    if term.periods_per_year and not term.overlapping
}
OVERLAPPING: tuple[str, ...] = tuple(k for k, term in _vocabulary_frequencies().items() if term.overlapping)
FREQUENCIES: tuple[str, ...] = (*PERIOD_MONTHS, *OVERLAPPING)

# A caveat is a code and its parameters, never a sentence: ("short_series", {"n_pre": 6, ...}).
# The pages word them through the catalog (dashboard/locale/*/LC_MESSAGES/analysis.po,
# keys "analysis.warning.<code>").
Note = tuple[str, dict]


def note(code: str, **params) -> Note:
    return (code, params)


class AnalysisError(ValueError):
    """An analysis that cannot run on this input, with a code and parameters for the reader
    (``analysis.error.<code>`` in the catalog); ``str()`` stays a plain English message for logs."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code, self.params = code, params


class OverlappingWindowsError(AnalysisError):
    """Raised when an analysis is asked to run on overlapping 12-month-ending counts."""

    def __init__(self, message: str):
        super().__init__("overlapping", message)


@dataclass(frozen=True)
class PreparedSeries:
    """A clean, non-overlapping series ready for analysis, with what was done to it."""

    series: pd.Series
    frequency: str  # "monthly", "half_yearly" or "annual" after preparation
    conversion: str | None
    warnings: list[Note] = field(default_factory=list)

    @property
    def period_months(self) -> int:
        return PERIOD_MONTHS[self.frequency]


def month_number(date: pd.Timestamp) -> int:
    """Months since year 0, so that differences of two dates count whole calendar months."""
    return date.year * 12 + date.month - 1


def check_series(series: pd.Series, frequency: str) -> pd.Series:
    """Validate index and values; return a float series sorted by date, NaNs dropped."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {FREQUENCIES}, got {frequency!r}")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("series must be indexed by month-start Timestamps (a DatetimeIndex)")
    if not series.index.is_unique:
        raise ValueError("series has duplicate dates; aggregate them before analysis")
    if not (series.index == series.index.to_period("M").to_timestamp()).all():
        raise ValueError("series dates must be the first day of a month")
    if frequency in PERIOD_MONTHS and PERIOD_MONTHS[frequency] > 1:
        step = PERIOD_MONTHS[frequency]
        if ((series.index.month - 1) % step).any():
            raise ValueError(f"{frequency} dates must start a period (months 1, {1 + step}, ...): a period is {step} months")
    return series.astype(float).sort_index().dropna()


def check_milestone(series: pd.Series, milestone: pd.Timestamp, period_months: int) -> pd.Timestamp:
    """A milestone outside the data can only be extrapolated to, never tested: refuse it."""
    milestone = pd.Timestamp(milestone)
    first = series.index.min()
    end = series.index.max() + pd.DateOffset(months=period_months)
    if not (first < milestone < end):
        raise AnalysisError("outside_range",
            f"milestone {milestone.date()} is outside the data range "
            f"{first.date()} to {(end - pd.Timedelta(days=1)).date()}: there is no data on "
            "both sides of it, so no before/after comparison is possible",
            first=first, last=end - pd.Timedelta(days=1),
        )
    return milestone


def prepare(
    series: pd.Series,
    frequency: str,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
) -> PreparedSeries:
    """Check the input and apply the 12-month-ending guard (see the module docstring)."""
    clean = check_series(series, frequency)
    if frequency not in OVERLAPPING:
        if convert is not None:
            raise ValueError(f"convert={convert!r} only applies to monthly_12m_ending series")
        return PreparedSeries(clean, frequency, None, [])
    if convert is None:
        raise OverlappingWindowsError(
            "this series holds 12-month-ending counts: each value overlaps the previous one "
            "by 11 months, so comparing or regressing them would count the same deaths up to "
            "12 times. Pass convert='yoy' (non-overlapping calendar-year totals) or "
            "convert='monthly' with known_monthly (recover monthly counts)."
        )
    if convert == "yoy":
        return _to_annual(clean)
    if convert == "monthly":
        return _to_monthly(clean, known_monthly)
    raise ValueError(f"convert must be 'yoy' or 'monthly', got {convert!r}")


def _to_annual(rolling: pd.Series) -> PreparedSeries:
    december = rolling[rolling.index.month == 12]
    annual = pd.Series(
        december.to_numpy(), index=pd.DatetimeIndex([pd.Timestamp(d.year, 1, 1) for d in december.index]),
        name=rolling.name,
    )
    return PreparedSeries(annual, "annual", "yoy", [note("converted_yoy", n=len(annual))])


def _to_monthly(rolling: pd.Series, known_monthly: pd.Series | None) -> PreparedSeries:
    first = rolling.index.min()
    needed = pd.date_range(first - pd.DateOffset(months=11), periods=11, freq="MS")
    if known_monthly is None or not needed.isin(known_monthly.dropna().index).all():
        raise OverlappingWindowsError(
            "cannot recover monthly counts from 12-month-ending sums: the 11 monthly counts "
            f"from {needed[0].date()} to {needed[-1].date()} (before the first rolling value) "
            "are needed and were not given. Use convert='yoy' instead."
        )
    full = pd.date_range(first, rolling.index.max(), freq="MS")
    if len(full) != len(rolling):
        raise OverlappingWindowsError(
            "cannot recover monthly counts: the 12-month-ending series has gaps, and "
            "differencing across a gap would invent values. Use convert='yoy' instead."
        )
    values = list(known_monthly.astype(float).reindex(needed).to_numpy())
    sums = rolling.to_numpy()
    for i, total in enumerate(sums):
        # S(m) minus the 11 preceding monthly counts gives x(m).
        values.append(total - float(np.sum(values[-11:])))
    monthly = pd.Series(values[11:], index=full, name=rolling.name)
    if (monthly < 0).any():
        bad = monthly.index[monthly < 0][0].date()
        raise ValueError(
            f"recovered monthly count for {bad} is negative: the 12-month-ending sums and the "
            "known monthly counts are inconsistent (different vintages or rounding?)"
        )
    return PreparedSeries(monthly, "monthly", "monthly", [note("converted_monthly")])


def milestone_cut(milestone: pd.Timestamp, period_months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start of the period holding the milestone, and start of the first period wholly after.

    Equal when the milestone falls on a period boundary; otherwise the period between them
    straddles the milestone, is partly treated, and every analysis leaves it out.
    """
    first_month = (milestone.month - 1) // period_months * period_months + 1
    start = pd.Timestamp(milestone.year, first_month, 1)
    after = start if start == milestone else start + pd.DateOffset(months=period_months)
    return start, after
