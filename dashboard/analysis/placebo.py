"""Placebo dates: is the milestone's level change unusual compared with arbitrary dates?

The same segmented regression (see ``its``) is fitted with a fake milestone at every month
with enough data on both sides, except a band around the real date (whose effect would leak
into nearby placebos). The real |level change| is ranked among the placebo |level changes|:
``rank_fraction`` is the share of placebos at least as large, ``p_value`` the usual
(1 + count) / (1 + n) empirical p-value. This needs no assumption about the error
distribution or autocorrelation, but placebos are not independent of each other, and the
smallest attainable p-value is 1 / (n_placebos + 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import check_milestone, month_number, prepare
from dashboard.analysis.its import design


@dataclass(frozen=True)
class PlaceboResult:
    milestone: pd.Timestamp
    real_estimate: float
    placebo: pd.DataFrame  # columns: date, estimate
    n_placebos: int
    rank_fraction: float  # share of placebo |estimates| >= real |estimate|
    p_value: float  # (1 + count) / (1 + n_placebos)
    exclusion_months: int
    min_side_points: int
    frequency: str
    conversion: str | None
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.placebo.copy()

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("placebo")
        return out


def _level_change(y: np.ndarray, index: pd.DatetimeIndex, date: pd.Timestamp, period: int, seasonal: bool) -> float:
    X, keep = design(index, date, period, seasonal)
    beta, *_ = np.linalg.lstsq(X.to_numpy()[keep], y[keep], rcond=None)
    return float(beta[list(X.columns).index("post")])


def placebo_test(
    series: pd.Series,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    min_side_points: int = 12,
    exclusion_months: int = 12,
    seasonal: bool | None = None,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
) -> PlaceboResult:
    """Rank the milestone's ITS level change among placebo dates (see module docstring)."""
    prep = prepare(series, frequency, convert, known_monthly)
    y = prep.series
    period = prep.period_months
    milestone = check_milestone(y, milestone, period)
    if seasonal is None:
        seasonal = prep.frequency == "monthly" and len(y) >= 24
    values, index = y.to_numpy(), y.index
    real = _level_change(values, index, milestone, period, seasonal)

    rows = []
    for i, date in enumerate(index):
        if i < min_side_points or len(index) - i < min_side_points:
            continue
        if abs(month_number(date) - month_number(milestone)) <= exclusion_months:
            continue
        rows.append({"date": date, "estimate": _level_change(values, index, date, period, seasonal)})
    placebo = pd.DataFrame(rows, columns=["date", "estimate"])
    n = len(placebo)
    if n == 0:
        raise ValueError(
            f"no eligible placebo dates: need {min_side_points} points on both sides and more "
            f"than {exclusion_months} months from the milestone"
        )
    count = int((placebo["estimate"].abs() >= abs(real) - 1e-12).sum())
    warnings = list(prep.warnings)
    if n < 19:
        warnings.append(f"only {n} placebo dates: the smallest possible p-value is {1 / (n + 1):.2f}, so the test has little power.")
    return PlaceboResult(
        milestone=milestone, real_estimate=real, placebo=placebo, n_placebos=n,
        rank_fraction=count / n, p_value=(1 + count) / (1 + n),
        exclusion_months=exclusion_months, min_side_points=min_side_points,
        frequency=prep.frequency, conversion=prep.conversion, warnings=warnings,
    )
