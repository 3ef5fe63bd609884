"""Change points found in the data alone (PELT, via ruptures), set against the milestones.

Letting the data place the breaks, then measuring how far each is from the nearest
milestone, guards against reading meaning into a date chosen after looking at the chart.
Default penalty: 3 * sigma^2 * log(n) for "l2" (BIC uses 2; 3 halved false breaks in pure
noise in our simulations at no cost in power), with the noise variance sigma^2
estimated robustly from first differences (MAD), so the breaks themselves do not inflate it;
for "rbf" (kernel cost, unit scale) 2 * log(n). "l2" finds shifts in the mean: a steady trend
or strong seasonality shows up as a staircase of breaks, so read them with that in mind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import ruptures as rpt

from dashboard.analysis.guards import month_number, prepare


@dataclass(frozen=True)
class Break:
    date: pd.Timestamp  # first period of the new segment
    index: int  # position of that period in the analysed series
    nearest_milestone_id: str | None
    nearest_milestone_date: pd.Timestamp | None
    months_to_milestone: int | None  # break minus milestone, in months (positive: break after)


@dataclass(frozen=True)
class ChangePointResult:
    breaks: tuple[Break, ...]
    model: str
    penalty: float
    min_size: int
    frequency: str
    conversion: str | None
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        cols = [f for f in Break.__dataclass_fields__]
        return pd.DataFrame([asdict(b) for b in self.breaks], columns=cols)

    def as_dict(self) -> dict:
        return asdict(self)


def default_penalty(values: np.ndarray, model: str) -> float:
    n = len(values)
    if model == "rbf":
        return 2.0 * math.log(n)
    diffs = np.diff(values)
    mad = float(np.median(np.abs(diffs - np.median(diffs)))) / 0.6745
    sigma2 = (mad**2) / 2 if mad > 0 else float(np.var(values)) or 1.0
    return 3.0 * sigma2 * math.log(n)


def _as_mapping(milestones: Mapping[str, pd.Timestamp] | Sequence[pd.Timestamp] | None) -> dict[str, pd.Timestamp]:
    if milestones is None:
        return {}
    if isinstance(milestones, Mapping):
        return {str(k): pd.Timestamp(v) for k, v in milestones.items()}
    return {str(pd.Timestamp(d).date()): pd.Timestamp(d) for d in milestones}


def detect_changepoints(
    series: pd.Series,
    *,
    frequency: str,
    model: str = "l2",
    penalty: float | None = None,
    min_size: int = 6,
    milestones: Mapping[str, pd.Timestamp] | Sequence[pd.Timestamp] | None = None,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
) -> ChangePointResult:
    """Break dates by PELT, each with its distance in months to the nearest milestone."""
    if model not in ("l2", "rbf"):
        raise ValueError(f"model must be 'l2' or 'rbf', got {model!r}")
    prep = prepare(series, frequency, convert, known_monthly)
    y = prep.series
    values = y.to_numpy()
    warnings = list(prep.warnings)
    if len(values) < 2 * min_size:
        raise ValueError(f"{len(values)} points cannot hold two segments of min_size={min_size}")
    full = pd.date_range(y.index[0], y.index[-1], freq="MS" if prep.frequency == "monthly" else "YS")
    if len(full) != len(y):
        warnings.append(f"{len(full) - len(y)} periods are missing; segments are built from the points present.")
    pen = default_penalty(values, model) if penalty is None else float(penalty)
    signal = values.reshape(-1, 1)
    if model == "rbf":
        spread = values.std()
        signal = (signal - values.mean()) / (spread if spread > 0 else 1.0)
    ends = rpt.Pelt(model=model, min_size=min_size, jump=1).fit(signal).predict(pen=pen)
    marks = _as_mapping(milestones)
    breaks = []
    for k in ends[:-1]:  # the last "end" is the series length, not a break
        date = y.index[k]
        mid, mdate, dist = None, None, None
        if marks:
            mid, mdate = min(marks.items(), key=lambda kv: abs(month_number(date) - month_number(kv[1])))
            dist = month_number(date) - month_number(mdate)
        breaks.append(Break(date, int(k), mid, mdate, dist))
    if len(breaks) > len(values) / (4 * min_size):
        warnings.append("many breaks were found: the series may trend or be seasonal rather than shift; consider a larger penalty.")
    return ChangePointResult(tuple(breaks), model, pen, min_size, prep.frequency, prep.conversion, warnings)
