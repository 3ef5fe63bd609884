"""How often the verdict rule cries wolf, and how often it finds a real shift, on real series.

* False alarms: at randomly drawn ordinary dates (period starts whose analysed span holds no
  registered milestone, with complete windows), the full rule (``verdict.decide``) is run as if
  a milestone fell mid-period there; the share of ``change_*`` verdicts is the false-alarm rate
  (target <= 10%; by construction about 5% or less, since both the model and the placebo must
  reject at 5%).
* Power: the same dates, with a lasting level shift of +10%, +20% or +40% inserted into the
  real series from the first period after the date (every later value multiplied by 1 + s);
  the share of ``change_up`` verdicts is the power.

The draws are paired (the same dates for every shift) and seeded. The placebo table of each
series is computed once: multiplying every value after the date by a constant leaves the
log-linear fit at any date whose windows lie wholly on one side unchanged (only its intercept
moves), and the dates whose windows straddle the inserted shift are exactly those the placebo
test leaves out, so the table is exact for the shifted series too. Likewise the donors'
in-space placebos do not depend on the treated state's values.

Rates come with Wilson 95% intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analysis.guards import AnalysisError, milestone_cut, month_number, prepare
from dashboard.analysis.its import fit_its, seasonal_terms
from dashboard.analysis.placebo import placebo_steps, placebo_test
from dashboard.analysis.synth import synthetic_control
from dashboard.analysis.verdict import decide

SHIFTS = (0.10, 0.20, 0.40)
MID_PERIOD = pd.Timedelta(days=14)  # most milestones fall inside a month: the draws straddle one too


@dataclass(frozen=True)
class Calibration:
    draws: pd.DataFrame  # group, series, geo, date, shift, code
    summary: pd.DataFrame  # group, shift, n, errors, claims, rate, ci_low, ci_high


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def ordinary_dates(y: pd.Series, milestones: pd.Series, window: int, gap: int) -> list[pd.Timestamp]:
    """Month starts with complete windows whose analysed span holds no milestone (a mid-month
    pseudo-milestone at month m uses months [m - window, m) and [m + 1 + gap, m + 1 + gap + window))."""
    months = np.array([month_number(d) for d in y.index])
    present = set(months.tolist())
    marks = np.array([month_number(pd.Timestamp(d)) for d in milestones])
    out = []
    for d, m in zip(y.index, months):
        start, end = m - window, m + 1 + gap + window
        needed = [*range(start, m), *range(m + 1 + gap, end)]
        if all(k in present for k in needed) and not ((marks >= start) & (marks < end)).any():
            out.append(d)
    return out


def _shifted(y: pd.Series, date: pd.Timestamp, shift: float) -> pd.Series:
    _, cut_after = milestone_cut(date + MID_PERIOD, 1)
    return y.where(y.index < cut_after, y * (1 + shift))


def _pick(rng: np.random.Generator, pools: dict, n: int) -> list[tuple]:
    keys = [k for k, dates in pools.items() if dates]
    picks = []
    for _ in range(n):
        k = keys[rng.integers(len(keys))]
        picks.append((k, pools[k][rng.integers(len(pools[k]))]))
    return picks


def national(series: dict[str, pd.Series], milestones: pd.Series, *, n: int = 200, shifts=SHIFTS,
             window: int = 12, gap: int = 0, seed: int = 20240101) -> pd.DataFrame:
    """Draws on monthly series judged by the model and the placebo dates (no donor pool)."""
    seasonal = seasonal_terms(12, window)
    pools = {sid: ordinary_dates(y, milestones, window, gap) for sid, y in series.items()}
    tables = {}
    rows = []
    for sid, date in _pick(np.random.default_rng(seed), pools, n):
        y = series[sid]
        if sid not in tables:
            tables[sid] = placebo_steps(y, period=1, window_months=window, gap_months=gap, straddle=True,
                                        seasonal=seasonal)
        for s in (0.0, *shifts):
            ys = _shifted(y, date, s)
            try:
                its = fit_its(ys, date + MID_PERIOD, frequency="monthly", window_months=window, gap_months=gap,
                              bend=False)
                pl = placebo_test(ys, date + MID_PERIOD, frequency="monthly", window_months=window,
                                  gap_months=gap, steps=tables[sid])
                code = decide(its, pl).code
            except AnalysisError as exc:  # a window of (mostly) zeros: no verdict, counted as no claim
                code = f"error:{exc.code}"
            rows.append({"series": sid, "geo": "", "date": date, "shift": s, "code": code})
    return pd.DataFrame(rows)


def states(panel: pd.DataFrame, milestones: pd.Series, *, n: int = 30, shifts=SHIFTS, window: int = 12,
           gap: int = 0, seed: int = 20240102) -> pd.DataFrame:
    """Draws on one state-level monthly series (columns = states), judged by the model, the
    placebo dates and the synthetic control."""
    seasonal = seasonal_terms(12, window)
    cols = {g: prepare(panel[g].dropna(), "monthly").series for g in panel.columns}
    pools = {g: ordinary_dates(y, milestones, window, gap) for g, y in cols.items()}
    tables, rows = {}, []
    for geo, date in _pick(np.random.default_rng(seed), pools, n):
        y = cols[geo]
        if geo not in tables:
            tables[geo] = placebo_steps(y, period=1, window_months=window, gap_months=gap, straddle=True,
                                        seasonal=seasonal)
        donor_placebos = None
        for s in (0.0, *shifts):
            ys = _shifted(y, date, s)
            shifted_panel = panel.assign(**{geo: ys.reindex(panel.index)})
            try:
                its = fit_its(ys, date + MID_PERIOD, frequency="monthly", window_months=window, gap_months=gap,
                              bend=False)
                pl = placebo_test(ys, date + MID_PERIOD, frequency="monthly", window_months=window,
                                  gap_months=gap, steps=tables[geo])
                sc = synthetic_control(shifted_panel, geo, date + MID_PERIOD, frequency="monthly",
                                       window_months=window, gap_months=gap, placebos=donor_placebos, solver="qp")
                donor_placebos = sc.placebos
                code = decide(its, pl, sc).code
            except AnalysisError as exc:
                code = f"error:{exc.code}"
            rows.append({"series": "", "geo": geo, "date": date, "shift": s, "code": code})
    return pd.DataFrame(rows)


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Per group (and, for the national draws, per source: the ``source`` column) and shift: how
    often the rule claims a change (for an inserted shift: an increase). Draws the model cannot
    fit (a window of zeros, or of mostly zeros) are counted in ``errors``, not in ``n``."""
    parts = [draws]
    if "source" in draws.columns:
        by_source = draws[draws["group"] == "national"].assign(group=lambda d: "national:" + d["source"])
        parts.append(by_source)
    out = []
    for (group, shift), part in pd.concat(parts).groupby(["group", "shift"], sort=False):
        errors = int(part["code"].str.startswith("error").sum())
        part = part[~part["code"].str.startswith("error")]
        claims = part["code"].isin(["change_up", "change_down"]) if shift == 0 else part["code"].eq("change_up")
        k, m = int(claims.sum()), len(part)
        lo, hi = wilson(k, m)
        out.append({"group": group, "shift": shift, "n": m, "errors": errors, "claims": k,
                    "rate": k / m if m else float("nan"), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(out)
