"""Before/after windows around a milestone: the simplest "did it change?" number.

The period that contains the milestone (e.g. October 2021 for a dialogue held on the 8th) is
partly before and partly after, so it belongs to neither window. An optional washout gap
skips the first months after the milestone, when an effect could not yet show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from dashboard.analysis.guards import AnalysisError, Note, check_milestone, milestone_cut, note, prepare


@dataclass(frozen=True)
class WindowComparison:
    """Means of equal-length windows before and after a milestone."""

    milestone: pd.Timestamp
    window_months: int
    gap_months: int
    before_start: pd.Timestamp
    before_end: pd.Timestamp  # exclusive
    after_start: pd.Timestamp
    after_end: pd.Timestamp  # exclusive
    n_before: int
    n_after: int
    mean_before: float
    mean_after: float
    difference: float
    pct_change: float | None  # None when the before mean is 0
    frequency: str
    conversion: str | None
    warnings: list[Note] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def before_after(
    series: pd.Series,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    window_months: int = 12,
    gap_months: int = 0,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
) -> WindowComparison:
    """Compare the mean of ``window_months`` before the milestone with the same span after.

    The after window starts ``gap_months`` after the first period wholly after the milestone.
    Raises ``OverlappingWindowsError`` on 12-month-ending data unless ``convert`` is given.
    """
    if window_months < 1 or gap_months < 0:
        raise ValueError("window_months must be >= 1 and gap_months >= 0")
    prep = prepare(series, frequency, convert, known_monthly)
    period = prep.period_months
    if window_months % period or gap_months % period:
        raise AnalysisError("window_not_whole_periods", f"for {prep.frequency} data, window and gap must be "
                            f"multiples of {period} months", period=period)
    y = prep.series
    milestone = check_milestone(y, milestone, period)
    cut_before, cut_after = milestone_cut(milestone, period)
    before_start = cut_before - pd.DateOffset(months=window_months)
    after_start = cut_after + pd.DateOffset(months=gap_months)
    after_end = after_start + pd.DateOffset(months=window_months)
    before = y[(y.index >= before_start) & (y.index < cut_before)]
    after = y[(y.index >= after_start) & (y.index < after_end)]
    if before.empty or after.empty:
        side = "before" if before.empty else "after"
        raise AnalysisError("empty_window", f"no data in the {side} window around {milestone.date()}", side=side)

    warnings = list(prep.warnings)
    expected = window_months // period
    for name, part in (("before", before), ("after", after)):
        if len(part) < expected:
            warnings.append(note("incomplete_window", side=name, n=len(part), expected=expected))
    if period < 12 and window_months % 12:
        # seasonal swings can masquerade as change when the windows are not whole years
        warnings.append(note("not_whole_years", window=window_months))
    mean_before, mean_after = float(before.mean()), float(after.mean())
    return WindowComparison(
        milestone=milestone, window_months=window_months, gap_months=gap_months,
        before_start=before_start, before_end=cut_before, after_start=after_start,
        after_end=after_end, n_before=len(before), n_after=len(after),
        mean_before=mean_before, mean_after=mean_after, difference=mean_after - mean_before,
        pct_change=None if mean_before == 0 else 100.0 * (mean_after - mean_before) / abs(mean_before),
        frequency=prep.frequency, conversion=prep.conversion, warnings=warnings,
    )
