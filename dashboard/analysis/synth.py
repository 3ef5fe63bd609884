"""Placebo in space: the treated state against a synthetic state built from the other states.

Synthetic control (Abadie & Gardeazabal 2003; Abadie, Diamond & Hainmueller 2010, 2015), on the
same windows as ``its``. Each unit is indexed to 100 = its own mean over the before window, so
that states of very different size can be combined; the synthetic state is the convex
combination of donors (weights >= 0, summing to 1) closest to the treated state's indexed
before-window path, every before-window period counting as one predictor with equal weight
(``pysyncon.Synth`` with a fixed V; its predictors are scaled by their spread across units).

* ``effect_pct``: mean of the treated path over the after window / mean of the synthetic path - 1.
* ``pre_rmspe`` (index points): how well the synthetic state tracks the treated one before; a
  poor fit means the synthetic state is no counterfactual, and a caveat says so.
* In-space placebo: every donor in turn is treated as if it were the treated state (the real
  treated state left out of its pool). The ratio of after- to before-window RMSPE of the
  treated state is ranked among all units' ratios (Abadie, Diamond & Hainmueller 2010):
  ``rank`` 1 = the largest, ``p_value`` = rank / number of units. With fewer than 20 units the
  test cannot reach 0.05.

National series have no donor pool (no other country is measured the same way); the Impact
page says so and relies on the placebo in time.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import PERIOD_MONTHS, AnalysisError, Note, note
from dashboard.analysis.its import check_window, window_bounds

MIN_UNITS = 20  # treated + donors: fewer and p = rank / units cannot reach 0.05
MIN_PRE_POINTS = 3
POOR_FIT_FACTOR = 2.0  # pre-window RMSPE above this multiple of the donors' median: poor fit
MIN_WEIGHT = 0.001  # weights below are shown as 0


@dataclass(frozen=True)
class SynthResult:
    treated: str
    milestone: pd.Timestamp
    window_months: int
    gap_months: int
    donors: tuple[str, ...]  # the pool actually used
    excluded: tuple[str, ...]  # candidate donors without complete, positive data in the windows
    weights: pd.Series  # donor -> weight, largest first, zeros dropped
    treated_index: pd.Series  # the treated state's path, 100 = its before-window mean
    synthetic_index: pd.Series
    pre_rmspe: float
    post_rmspe: float
    effect_pct: float  # fraction: -0.04 = 4% below the synthetic state
    per_period: float  # the gap in the series' own units per period
    placebos: pd.DataFrame  # geo, effect_pct, pre_rmspe, ratio (donors as if treated)
    rank: int  # of the treated state's post/pre RMSPE ratio among all units, 1 = largest
    n_units: int
    p_value: float
    warnings: list[Note] = field(default_factory=list)

    @property
    def testable(self) -> bool:
        return self.n_units >= MIN_UNITS


SOLVERS = ("pysyncon", "qp")


def _weights(pre_donors: pd.DataFrame, pre_treated: pd.Series, solver: str = "pysyncon") -> np.ndarray:
    if solver == "qp":
        return _weights_qp(pre_donors.to_numpy(), pre_treated.to_numpy())
    from pysyncon import Synth

    synth = Synth()
    with _warnings.catch_warnings():  # SLSQP's bound warnings on exact fits say nothing new
        _warnings.simplefilter("ignore", RuntimeWarning)
        synth.fit(X0=pre_donors, X1=pre_treated, Z0=pre_donors, Z1=pre_treated,
                  custom_V=np.ones(len(pre_treated)))
    w = np.clip(np.asarray(synth.W, dtype=float), 0, None)
    return w / w.sum()


def _weights_qp(X0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """The same problem as ``pysyncon.Synth.fit`` with an equal-weight V (each predictor scaled
    by its spread across units, then min ||x1 - X0 w||^2 over w >= 0, sum w = 1; Abadie,
    Diamond & Hainmueller 2010, eq. 2), solved as non-negative least squares (Lawson-Hanson,
    ``scipy.optimize.nnls``) with the adding-up constraint as a heavily weighted extra row:
    much faster than pysyncon's SLSQP with finite differences, for the calibration's thousands
    of fits. tests/analysis/test_analysis_synth.py checks that both give the same weights."""
    from scipy.optimize import nnls

    scale = np.concatenate([X0, x1[:, None]], axis=1).std(axis=1, ddof=1)
    scale[scale == 0] = 1.0
    A, b = X0 / scale[:, None], x1 / scale
    big = 1e4 * max(1.0, float(np.abs(A).max()))
    w, _ = nnls(np.vstack([A, np.full(A.shape[1], big)]), np.append(b, big), maxiter=50 * A.shape[1])
    return w / w.sum()


def _fit(index: pd.DataFrame, treated: str, pool: list[str], pre: np.ndarray, post: np.ndarray,
         solver: str = "pysyncon"):
    donors = index[pool]
    w = _weights(donors[pre], index.loc[pre, treated].rename("treated"), solver)
    synthetic = donors.to_numpy() @ w
    gap = index[treated].to_numpy() - synthetic
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[post] ** 2)))
    effect = float(index.loc[post, treated].mean() / synthetic[post].mean() - 1)
    return w, synthetic, pre_rmspe, post_rmspe, effect


def synthetic_control(
    panel: pd.DataFrame,
    treated: str,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    window_months: int = 12,
    gap_months: int = 0,
    placebos: pd.DataFrame | None = None,
    solver: str = "pysyncon",
    placebo_solver: str = "qp",
) -> SynthResult:
    """``panel``: one column per unit (the treated state and the candidate donors), indexed by
    period start, already on a non-overlapping frequency (see ``guards.prepare``). ``placebos``:
    the donors' in-space placebo table of an earlier call on the same panel and windows (it does
    not depend on the treated state's values, so the calibration reuses it). ``solver`` fits the
    treated state's weights (the ones shown), ``placebo_solver`` the donors' placebo fits:
    "pysyncon" or "qp" (the same weights, hundreds of times faster)."""
    if solver not in SOLVERS or placebo_solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if frequency not in PERIOD_MONTHS:
        raise ValueError(f"frequency must be one of {tuple(PERIOD_MONTHS)} (convert 12-month-ending sums first)")
    if treated not in panel.columns:
        raise ValueError(f"treated unit {treated!r} is not a column of the panel")
    period = PERIOD_MONTHS[frequency]
    check_window(window_months, gap_months, period)
    w = window_bounds(pd.Timestamp(milestone), period, window_months, gap_months)
    idx = panel.index
    pre_mask = (idx >= w.pre_start) & (idx < w.pre_end)
    post_mask = (idx >= w.post_start) & (idx < w.post_end)
    data = panel[pre_mask | post_mask].astype(float)
    pre, post = pre_mask[pre_mask | post_mask], post_mask[pre_mask | post_mask]
    if pre.sum() < MIN_PRE_POINTS or post.sum() < 1:
        raise AnalysisError("synth_too_few_points", "the windows hold too few periods for a synthetic control",
                            n_pre=int(pre.sum()), n_post=int(post.sum()), need=MIN_PRE_POINTS)
    pre_mean = data[pre].mean()
    usable = data.notna().all() & (pre_mean > 0)
    if not usable[treated]:
        raise AnalysisError("synth_treated_incomplete", f"{treated} lacks complete, positive data in the windows")
    candidates = [c for c in panel.columns if c != treated]
    donors = [c for c in candidates if usable[c]]
    excluded = tuple(c for c in candidates if not usable[c])
    if len(donors) < 2:
        raise AnalysisError("synth_no_donors", "fewer than two donors have complete data in the windows",
                            n=len(donors))
    index = data[[treated, *donors]] / pre_mean[[treated, *donors]] * 100

    wts, synthetic, pre_rmspe, post_rmspe, effect = _fit(index, treated, donors, pre, post, solver)
    if placebos is None or list(placebos["geo"]) != donors:
        rows = []
        for j in donors:  # in-space placebos: the real treated state is never a donor
            pool = [d for d in donors if d != j]
            _, _, p_pre, p_post, p_eff = _fit(index, j, pool, pre, post, placebo_solver)
            rows.append({"geo": j, "effect_pct": p_eff, "pre_rmspe": p_pre,
                         "ratio": p_post / p_pre if p_pre > 0 else np.inf})
        placebos = pd.DataFrame(rows, columns=["geo", "effect_pct", "pre_rmspe", "ratio"])
    ratio = post_rmspe / pre_rmspe if pre_rmspe > 0 else np.inf
    rank = 1 + int((placebos["ratio"] >= ratio - 1e-12).sum())
    n_units = len(donors) + 1
    warnings: list[Note] = []
    if excluded:
        warnings.append(note("synth_donors_dropped", n=len(excluded)))
    if n_units < MIN_UNITS:
        warnings.append(note("synth_few_units", n=n_units, min_p=1 / n_units))
    if pre_rmspe > POOR_FIT_FACTOR * float(placebos["pre_rmspe"].median()):
        warnings.append(note("synth_poor_fit", rmspe=pre_rmspe))
    weights = pd.Series(wts, index=donors).sort_values(ascending=False)
    level = float(pre_mean[treated])
    return SynthResult(
        treated=treated, milestone=pd.Timestamp(milestone), window_months=window_months, gap_months=gap_months,
        donors=tuple(donors), excluded=excluded, weights=weights[weights >= MIN_WEIGHT],
        treated_index=index[treated].rename("treated"),
        synthetic_index=pd.Series(synthetic, index=index.index, name="synthetic"),
        pre_rmspe=pre_rmspe, post_rmspe=post_rmspe, effect_pct=effect,
        per_period=float((index.loc[post, treated].mean() - synthetic[post].mean()) / 100 * level),
        placebos=placebos, rank=rank, n_units=n_units, p_value=rank / n_units, warnings=warnings,
    )
