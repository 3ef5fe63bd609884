"""Placebo in time: is the milestone's step unusual compared with ordinary dates?

The same model as ``its`` (same window, washout gap, seasonal terms and family; a placebo date
straddles its period exactly when the real milestone does) is fitted at every eligible date:
every period start whose two windows are complete and do not contain the milestone (a date
whose windows hold the real milestone would carry its effect). The milestone's |step| (log
scale, so a halving and a doubling count alike) is ranked among the placebo |steps|:

* ``share``: the share of placebo dates whose step is at least as large ("shifts this large
  happen at 55% of ordinary dates");
* ``rank``: the milestone's place among all n + 1 dates, 1 = largest;
* ``p_value``: (1 + count) / (1 + n), the usual empirical p-value.

No assumption about the error distribution or autocorrelation is needed, but placebo dates
overlap each other, and the smallest attainable p-value is 1 / (n + 1): below
``MIN_PLACEBOS`` dates (19, i.e. p can reach 0.05) the test cannot reject and says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import AnalysisError, Note, check_milestone, milestone_cut, month_number, note, prepare
from dashboard.analysis.its import (
    check_window, design, irls, nb_alpha, periods_per_year, seasonal_columns, seasonal_terms, select,
    window_bounds,
)

MIN_PLACEBOS = 19


@dataclass(frozen=True)
class PlaceboResult:
    milestone: pd.Timestamp
    real_estimate: float  # the milestone's step, exp(d) - 1
    placebo: pd.DataFrame  # columns: date, estimate (exp(d) - 1)
    n_placebos: int
    count_as_large: int
    share: float  # count_as_large / n_placebos
    rank: int  # 1 + count_as_large, among n_placebos + 1
    p_value: float  # (1 + count) / (1 + n_placebos)
    window_months: int
    gap_months: int
    frequency: str
    conversion: str | None
    warnings: list[Note] = field(default_factory=list)

    @property
    def testable(self) -> bool:
        return self.n_placebos >= MIN_PLACEBOS

    def to_frame(self) -> pd.DataFrame:
        return self.placebo.copy()

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("placebo")
        return out


def step_at(y: pd.Series, milestone: pd.Timestamp, period: int, window_months: int, gap_months: int,
            seasonal: str, family: str = "poisson", complete: bool = False) -> float:
    """The log step d at one date by IRLS (nan when a window is incomplete or holds only zeros)."""
    w = window_bounds(milestone, period, window_months, gap_months)
    yk, post = select(y, w)
    n_post = int(post.sum())
    n_pre = len(post) - n_post
    if complete and (n_pre < w.expected or n_post < w.expected):
        return float("nan")
    if min(n_pre, n_post) == 0:
        return float("nan")
    values = yk.to_numpy()
    if values[post == 0].sum() <= 0 or values[post == 1].sum() <= 0:
        return float("nan")
    X = design(yk.index, post, w, seasonal).to_numpy()
    if len(values) <= X.shape[1] + 1:
        return float("nan")
    alpha_nb = nb_alpha(values, np.exp(X @ irls(X, values)), X.shape[1]) if family == "negbin" else 0.0
    return float(irls(X, values, alpha_nb)[2])  # column 2 is the step


def placebo_steps(y: pd.Series, *, period: int, window_months: int, gap_months: int, straddle: bool,
                  seasonal: str, family: str = "poisson") -> pd.DataFrame:
    """The log step at every period start with two complete windows: columns date, log_step.

    The same design as ``its.design`` (const, trend, step, seasonal terms), built with month
    arithmetic instead of dates because it runs at every date; ``step_at`` gives the same numbers."""
    months = np.array([month_number(d) for d in y.index])
    values = y.to_numpy(dtype=float)
    seas = seasonal_columns(np.asarray(y.index.month), seasonal)
    seas = np.column_stack(list(seas.values())) if seas else np.empty((len(values), 0))
    expected, lag = window_months // period, (period if straddle else 0) + gap_months
    rows = []
    for date, m in zip(y.index, months):
        pre = (months >= m - window_months) & (months < m)
        post = (months >= m + lag) & (months < m + lag + window_months)
        if pre.sum() < expected or post.sum() < expected:
            continue
        keep = pre | post
        v, flag = values[keep], post[keep].astype(float)
        if v[flag == 0].sum() <= 0 or v[flag == 1].sum() <= 0:
            continue
        X = np.column_stack([np.ones(len(v)), (months[keep] - (m + lag)) / 12.0, flag, seas[keep]])
        if len(v) <= X.shape[1] + 1:
            continue
        alpha_nb = nb_alpha(v, np.exp(X @ irls(X, v)), X.shape[1]) if family == "negbin" else 0.0
        rows.append((date, float(irls(X, v, alpha_nb)[2])))
    return pd.DataFrame(rows, columns=["date", "log_step"])


def rank_among(steps: pd.DataFrame, milestone: pd.Timestamp, period: int,
               window_months: int, gap_months: int) -> pd.DataFrame:
    """The placebo dates whose windows do not contain the milestone."""
    cut_before, cut_after = milestone_cut(milestone, period)
    straddle = period if cut_before != cut_after else 0
    span_before = pd.DateOffset(months=window_months)
    span_after = pd.DateOffset(months=straddle + gap_months + window_months)
    # a placebo at date p uses [p - window, p + straddle + gap + window): it must not hold the milestone's periods
    starts = steps["date"] - span_before
    ends = steps["date"] + span_after
    holds = (starts <= cut_before) & (ends > cut_before) | (starts < cut_after) & (ends > cut_after)
    return steps[~holds.to_numpy()]


def placebo_test(
    series: pd.Series,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    window_months: int = 12,
    gap_months: int = 0,
    family: str = "poisson",
    seasonal: str | None = None,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
    steps: pd.DataFrame | None = None,
) -> PlaceboResult:
    """Rank the milestone's step among the placebo dates (see module docstring). ``steps``: a
    precomputed ``placebo_steps`` table of the same series and settings (the calibration reuses it)."""
    prep = prepare(series, frequency, convert, known_monthly)
    y, period = prep.series, prep.period_months
    check_window(window_months, gap_months, period)
    milestone = check_milestone(y, milestone, period)
    ppy = periods_per_year(prep.frequency)
    seasonal = seasonal or seasonal_terms(ppy, window_months // period)
    cut_before, cut_after = milestone_cut(milestone, period)
    real = step_at(y, milestone, period, window_months, gap_months, seasonal, family)
    if not np.isfinite(real):
        raise AnalysisError("zero_side", "the milestone's step cannot be estimated (a window is empty or all zeros)")
    if steps is None:
        steps = placebo_steps(y, period=period, window_months=window_months, gap_months=gap_months,
                              straddle=cut_before != cut_after, seasonal=seasonal, family=family)
    kept = rank_among(steps, milestone, period, window_months, gap_months)
    n = len(kept)
    count = int((kept["log_step"].abs() >= abs(real) - 1e-12).sum())
    warnings = list(prep.warnings)
    if n == 0:
        warnings.append(note("no_placebos", window=window_months))
    elif n < MIN_PLACEBOS:
        warnings.append(note("few_placebos", n=n, min_p=1 / (n + 1)))
    table = pd.DataFrame({"date": kept["date"].to_numpy(), "estimate": np.expm1(kept["log_step"].to_numpy())})
    return PlaceboResult(
        milestone=milestone, real_estimate=float(np.expm1(real)), placebo=table, n_placebos=n,
        count_as_large=count, share=count / n if n else float("nan"), rank=count + 1,
        p_value=(1 + count) / (1 + n), window_months=window_months, gap_months=gap_months,
        frequency=prep.frequency, conversion=prep.conversion, warnings=warnings,
    )
