"""Change points found in the data alone (PELT, via ruptures), set against the milestones.

Letting the data place the breaks, then measuring how far each is from the nearest
milestone, guards against reading meaning into a date chosen after looking at the chart.
Default penalty: 3 * sigma^2 * log(n) for "l2" (BIC uses 2; 3 halved false breaks in pure
noise in our simulations at no cost in power), with the noise variance sigma^2
estimated robustly from first differences (MAD), so the breaks themselves do not inflate it;
for "rbf" (kernel cost, unit scale) 2 * log(n). "l2" finds shifts in the mean: a steady trend
or strong seasonality shows up as a staircase of breaks, so read them with that in mind.

Each break names its nearest milestone only when it lies within ``max_distance_months``
(default ``MAX_DISTANCE_MONTHS`` = 12) of it: a 2016 break "42 months from" a 2019 milestone
says nothing about that milestone. ``Break.code`` / ``Break.params`` say which case applies,
for the catalog (``analysis.changepoint.<code>``):

* ``after`` / ``before`` / ``same_month``: {"milestone": id, "months": |distance|};
* ``none_within``: {"max": max_distance_months}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import PERIOD_MONTHS, Note, month_number, note, prepare

MAX_DISTANCE_MONTHS = 12


@dataclass(frozen=True)
class Break:
    date: pd.Timestamp  # first period of the new segment
    index: int  # position of that period in the analysed series
    nearest_milestone_id: str | None  # None when no milestone is within max_distance_months
    nearest_milestone_date: pd.Timestamp | None
    months_to_milestone: int | None  # break minus milestone, in months (positive: break after)
    code: str = "none_within"  # after | before | same_month | none_within (see module docstring)
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ChangePointResult:
    breaks: tuple[Break, ...]
    model: str
    penalty: float
    min_size: int
    frequency: str
    conversion: str | None
    max_distance_months: int = MAX_DISTANCE_MONTHS
    warnings: list[Note] = field(default_factory=list)

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
    max_distance_months: int = MAX_DISTANCE_MONTHS,
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
    full = pd.date_range(y.index[0], y.index[-1], freq=f"{PERIOD_MONTHS[prep.frequency]}MS")
    if len(full) != len(y):
        warnings.append(note("missing_periods", n=len(full) - len(y)))
    pen = default_penalty(values, model) if penalty is None else float(penalty)
    signal = values.reshape(-1, 1)
    if model == "rbf":
        spread = values.std()
        signal = (signal - values.mean()) / (spread if spread > 0 else 1.0)
    import ruptures as rpt  # imported where used: the timeline starts without it

    ends = rpt.Pelt(model=model, min_size=min_size, jump=1).fit(signal).predict(pen=pen)
    marks = _as_mapping(milestones)
    breaks = []
    for k in ends[:-1]:  # the last "end" is the series length, not a break
        date = y.index[k]
        breaks.append(_label(date, int(k), marks, max_distance_months))
    if len(breaks) > len(values) / (4 * min_size):
        warnings.append(note("many_breaks", n=len(breaks)))
    return ChangePointResult(tuple(breaks), model, pen, min_size, prep.frequency, prep.conversion,
                             max_distance_months, warnings)


def _label(date: pd.Timestamp, k: int, marks: dict[str, pd.Timestamp], max_distance: int) -> Break:
    """The break with its nearest milestone, if one is within ``max_distance`` months."""
    if marks:
        mid, mdate = min(marks.items(), key=lambda kv: abs(month_number(date) - month_number(kv[1])))
        dist = month_number(date) - month_number(mdate)
        if abs(dist) <= max_distance:
            code = "after" if dist > 0 else "before" if dist < 0 else "same_month"
            return Break(date, k, mid, mdate, dist, code, {"milestone": mid, "months": abs(dist)})
    return Break(date, k, None, None, None, "none_within", {"max": max_distance})
