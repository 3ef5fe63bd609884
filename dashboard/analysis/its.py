"""Interrupted time series on the chosen windows only: a log-linear count model of the step.

Only the ``window_months`` before the milestone and the ``window_months`` after it (after the
washout gap) enter the fit; the period that straddles the milestone and the gap are left out.
On those points, the main model is a Poisson pseudo-likelihood GLM (log link):

    log E[y_t] = a + b * t + d * post_t + seasonal_t

``t`` is years from the first period wholly after the milestone, ``post_t`` is 1 in the after
window. ``exp(d) - 1`` is the step: the after window relative to what the same trend and
seasonality predict without it, a percentage. The counterfactual is that prediction over the
after window only, with a band from the model's uncertainty about it (delta method on the
linear predictor); the count per period is mean(counterfactual) * (exp(d) - 1), its interval
the same with the ends of d's interval (the counterfactual level held fixed).

Why this model. Counts of deaths, victims and pounds are non-negative and vary in proportion
to their level; a log link makes a shift a percentage, comparable across series and states.
Poisson pseudo-maximum-likelihood (Gourieroux, Monfort & Trognon 1984; Santos Silva & Tenreyro
2006) is consistent for the log-linear mean whatever the variance, so overdispersion (pounds of
fentanyl are not Poisson) does not bias d; Newey-West (HAC) errors, with maxlags =
floor(4 * (n/100)^(2/9)) and t-based intervals on n - k degrees of freedom, allow for the
overdispersion and the autocorrelation that crime series have. ``family="negbin"`` fits an NB2
GLM instead (alpha by moments from the Poisson fit), with the same HAC errors.

Seasonality is modelled as far as the windows can carry it: month-of-year dummies when each
window holds at least 24 months, one sine-cosine pair (an annual cycle) when it holds 12 to 23,
none below (a caveat says so); half-yearly data gets a second-half dummy from 4 half-years a
side; annual data none. The choice depends only on the window length, so the placebo dates
(see ``placebo``) use exactly the same model.

A second model lets the trend bend at the milestone (adds ``g * t * post_t``): ``exp(g) - 1``
is the change in the yearly growth rate. It is reported for transparency, not used by the
verdict: with one or two years a side a bend is barely identified.

HAC intervals are optimistic in windows this short; the placebo dates are the
distribution-free check, and the verdict (``verdict``) requires both to agree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import (
    PERIOD_MONTHS, AnalysisError, Note, check_milestone, milestone_cut, month_number, note, prepare,
)

FAMILIES = ("poisson", "negbin")
# By periods per year: the fewest points a window side needs to be fitted at all, and below
# which the fit carries a "short_series" caveat.
MIN_SIDE_POINTS = {12: 6, 2: 3, 1: 3}
SHORT_SIDE_POINTS = {12: 12, 2: 4, 1: 5}
# Seasonal terms by periods per year: (fewest points a side, terms), first match wins.
SEASONAL_RULES = {
    12: ((24, "month_dummies"), (12, "harmonic"), (0, "none")),
    2: ((4, "half_year"), (0, "none")),
    1: ((0, "none"),),
}
LB_ALPHA = 0.05  # Ljung-Box level below which residuals are called autocorrelated


@dataclass(frozen=True)
class Effect:
    """One coefficient (log scale) with its HAC standard error, interval and p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True)
class Change:
    """The step in the reader's units: a fraction (-0.043 = -4.3%) and a count per period."""

    pct: float
    pct_low: float
    pct_high: float
    per_period: float
    per_period_low: float
    per_period_high: float
    p_value: float

    @property
    def excludes_zero(self) -> bool:
        return self.pct_low > 0 or self.pct_high < 0


@dataclass(frozen=True)
class Windows:
    """The dates the analysis uses: [pre_start, pre_end) and [post_start, post_end)."""

    pre_start: pd.Timestamp
    pre_end: pd.Timestamp
    post_start: pd.Timestamp
    post_end: pd.Timestamp
    expected: int  # points each side when no period is missing


@dataclass(frozen=True)
class ITSResult:
    milestone: pd.Timestamp
    frequency: str
    conversion: str | None
    window_months: int
    gap_months: int
    family: str
    alpha: float
    windows: Windows
    n_pre: int
    n_post: int
    seasonal: str  # month_dummies | harmonic | half_year | none
    step: Effect  # d, log scale
    change: Change  # exp(d) - 1 and the count per period
    trend: Effect  # b, log change per year
    bend: Effect | None  # g of the bending model, log change in yearly growth
    hac_maxlags: int
    dispersion: float  # Pearson chi2 / df of the main fit (1 for Poisson data)
    ljung_box_p: float
    observed: pd.Series  # the points that entered the fit
    fitted: pd.Series
    counterfactual: pd.Series  # after window only
    counterfactual_low: pd.Series
    counterfactual_high: pd.Series
    warnings: list[Note] = field(default_factory=list)

    @property
    def period_unit(self) -> str:
        return {12: "month", 2: "half_year", 1: "year"}[periods_per_year(self.frequency)]

    def to_frame(self) -> pd.DataFrame:
        rows = {"trend": self.trend, "step": self.step, **({"bend": self.bend} if self.bend else {})}
        return pd.DataFrame([{"term": k, **asdict(v)} for k, v in rows.items()])

    def as_dict(self) -> dict:
        skip = {"observed", "fitted", "counterfactual", "counterfactual_low", "counterfactual_high"}
        return {k: (asdict(v) if isinstance(v, (Effect, Change, Windows)) else v)
                for k, v in self.__dict__.items() if k not in skip}


def periods_per_year(frequency: str) -> int:
    return 12 // PERIOD_MONTHS[frequency]


def hac_maxlags(n: int) -> int:
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def seasonal_terms(ppy: int, side_points: int) -> str:
    return next(terms for least, terms in SEASONAL_RULES[ppy] if side_points >= least)


def window_bounds(milestone: pd.Timestamp, period_months: int, window_months: int, gap_months: int) -> Windows:
    cut_before, cut_after = milestone_cut(milestone, period_months)
    post_start = cut_after + pd.DateOffset(months=gap_months)
    return Windows(cut_before - pd.DateOffset(months=window_months), cut_before, post_start,
                   post_start + pd.DateOffset(months=window_months), window_months // period_months)


def check_window(window_months: int, gap_months: int, period_months: int) -> None:
    if window_months < 1 or gap_months < 0:
        raise ValueError("window_months must be >= 1 and gap_months >= 0")
    if window_months % period_months or gap_months % period_months:
        raise AnalysisError("window_not_whole_periods", f"window and gap must be multiples of {period_months} months",
                            period=period_months)


def select(y: pd.Series, w: Windows) -> tuple[pd.Series, np.ndarray]:
    """The points of both windows, and a 0/1 after-window flag."""
    idx = y.index
    pre = (idx >= w.pre_start) & (idx < w.pre_end)
    post = (idx >= w.post_start) & (idx < w.post_end)
    keep = pre | post
    return y[keep], post[keep].astype(float)


def design(index: pd.DatetimeIndex, post: np.ndarray, w: Windows, seasonal: str, bend: bool = False) -> pd.DataFrame:
    """Columns: const, trend (years from the first period after the milestone), step, [bend], seasonal terms."""
    months = np.array([month_number(d) for d in index], dtype=float)
    t = (months - month_number(w.post_start)) / 12.0
    X = {"const": np.ones(len(index)), "trend": t, "step": post}
    if bend:
        X["bend"] = t * post
    X.update(seasonal_columns(np.asarray(index.month), seasonal))
    return pd.DataFrame(X, index=index)


def seasonal_columns(moy: np.ndarray, seasonal: str) -> dict[str, np.ndarray]:
    """The seasonal terms for months of year ``moy`` (see ``SEASONAL_RULES``)."""
    if seasonal == "month_dummies":
        return {f"month_{m}": (moy == m).astype(float) for m in range(2, 13)}
    if seasonal == "harmonic":
        return {"sin12": np.sin(2 * np.pi * moy / 12), "cos12": np.cos(2 * np.pi * moy / 12)}
    if seasonal == "half_year":
        return {"second_half": (moy >= 7).astype(float)}
    return {}


def irls(X: np.ndarray, y: np.ndarray, alpha_nb: float = 0.0, tol: float = 1e-10, maxiter: int = 100) -> np.ndarray:
    """Maximum (pseudo-)likelihood of the log-linear Poisson (alpha_nb = 0) or NB2 GLM by
    iteratively reweighted least squares; the same estimates as statsmodels' GLM, without its
    overhead, for the hundreds of placebo fits."""
    mean = max(float(y.mean()), 1e-9)
    eta = np.log(y + 0.1 * mean)
    beta = np.zeros(X.shape[1])
    for _ in range(maxiter):
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        wts = np.sqrt(mu / (1 + alpha_nb * mu))
        new, *_ = np.linalg.lstsq(X * wts[:, None], z * wts, rcond=None)
        eta = np.clip(X @ new, -700, 700)
        if np.max(np.abs(new - beta)) < tol * (1 + np.max(np.abs(new))):
            return new
        beta = new
    return beta


def _effect(fit, term: str, alpha: float) -> Effect:
    ci = fit.conf_int(alpha)
    return Effect(float(fit.params[term]), float(fit.bse[term]), float(ci.loc[term, 0]), float(ci.loc[term, 1]),
                  float(fit.pvalues[term]))


def _glm(yk: pd.Series, X: pd.DataFrame, family: str, lags: int, alpha_nb: float):
    import statsmodels.api as sm  # imported where used: the timeline starts without it

    fam = sm.families.Poisson() if family == "poisson" else sm.families.NegativeBinomial(alpha=alpha_nb)
    try:
        fit = sm.GLM(yk, X, family=fam).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True},
                                            use_t=True)
    except (ValueError, np.linalg.LinAlgError) as exc:  # statsmodels: "NaN, inf or invalid value in weights"
        raise AnalysisError("fit_failed", f"the count model could not be fitted: {exc}") from exc
    if not (np.isfinite(fit.params).all() and np.isfinite(fit.bse).all()):
        raise AnalysisError("fit_failed", "the count model's estimates are not finite")
    return fit


def nb_alpha(y: np.ndarray, mu: np.ndarray, k: int) -> float:
    """NB2 dispersion by moments: E[(y - mu)^2 - mu] = alpha * mu^2."""
    return max(0.0, float(np.sum(((y - mu) ** 2 - mu) / mu**2) / max(1, len(y) - k)))


def fit_its(
    series: pd.Series,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    window_months: int = 12,
    gap_months: int = 0,
    family: str = "poisson",
    alpha: float = 0.05,
    seasonal: str | None = None,
    maxlags: int | None = None,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
    bend: bool = True,
) -> ITSResult:
    """The step at ``milestone`` on the two windows (see module docstring). ``seasonal=None``:
    chosen from the window length (``SEASONAL_RULES``); ``bend=False`` skips the bending model."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    prep = prepare(series, frequency, convert, known_monthly)
    period = prep.period_months
    ppy = 12 // period
    check_window(window_months, gap_months, period)
    y = prep.series
    milestone = check_milestone(y, milestone, period)
    if (y < 0).any():
        raise AnalysisError("negative_values", "a log-linear count model needs non-negative values")
    w = window_bounds(milestone, period, window_months, gap_months)
    yk, post = select(y, w)
    n_pre, n_post = int((post == 0).sum()), int((post == 1).sum())
    need = MIN_SIDE_POINTS[ppy]
    if min(n_pre, n_post) < need:
        raise AnalysisError("too_few_points", f"{n_pre} points before and {n_post} after the milestone; "
                            f"the model needs {need} on each side", n_pre=n_pre, n_post=n_post, need=need)
    if yk[post == 0].sum() <= 0 or yk[post == 1].sum() <= 0:
        raise AnalysisError("zero_side", "one window holds only zeros: a percentage change is undefined")
    # A window of mostly zeros (fentanyl seized between ports in one sector: 1 month in 12) cannot
    # carry a trend and seasons on a log scale: the fit ran to a step of +297,722% or failed.
    nonzero = min(int((yk[post == 0] > 0).sum()), int((yk[post == 1] > 0).sum()))
    if nonzero < need:
        raise AnalysisError("sparse_side", f"a window has {nonzero} non-zero values; the model needs {need}",
                            nonzero=nonzero, need=need)

    warnings = list(prep.warnings)
    cut_before, cut_after = milestone_cut(milestone, period)
    if cut_before != cut_after:
        warnings.append(note("straddle_dropped", period=cut_before))
    for side, n in (("before", n_pre), ("after", n_post)):
        if n < w.expected:
            warnings.append(note("incomplete_window", side=side, n=n, expected=w.expected))
    if min(n_pre, n_post) < SHORT_SIDE_POINTS[ppy]:
        warnings.append(note("short_series", n_pre=n_pre, n_post=n_post, min=SHORT_SIDE_POINTS[ppy]))
    if ppy > 1 and window_months % 12:
        warnings.append(note("not_whole_years", window=window_months))
    seasonal = seasonal or seasonal_terms(ppy, w.expected)
    if seasonal != SEASONAL_RULES[ppy][0][1]:  # less than the full set of seasonal terms
        warnings.append(note(f"seasonal_{seasonal}"))

    X = design(yk.index, post, w, seasonal)
    if len(yk) <= X.shape[1] + 1:
        raise AnalysisError("too_few_points", f"{len(yk)} points cannot carry {X.shape[1]} terms",
                            n_pre=n_pre, n_post=n_post, need=need)
    lags = hac_maxlags(len(yk)) if maxlags is None else maxlags
    alpha_nb = 0.0
    if family == "negbin":
        mu0 = np.exp(X.to_numpy() @ irls(X.to_numpy(), yk.to_numpy()))
        alpha_nb = max(nb_alpha(yk.to_numpy(), mu0, X.shape[1]), 1e-8)  # no overdispersion: NB -> Poisson
    fit = _glm(yk, X, family, lags, alpha_nb)
    step, trend = _effect(fit, "step", alpha), _effect(fit, "trend", alpha)

    # Counterfactual over the after window: the same model without the step.
    Xc = X[post == 1].assign(step=0.0)
    eta = Xc.to_numpy() @ fit.params.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", Xc.to_numpy(), fit.cov_params().to_numpy(), Xc.to_numpy()))
    from scipy import stats

    crit = float(stats.t.ppf(1 - alpha / 2, fit.df_resid))
    cf = pd.Series(np.exp(eta), index=Xc.index, name="counterfactual")
    base = float(cf.mean())
    change = Change(
        pct=math.expm1(step.estimate), pct_low=math.expm1(step.ci_low), pct_high=math.expm1(step.ci_high),
        per_period=base * math.expm1(step.estimate), per_period_low=base * math.expm1(step.ci_low),
        per_period_high=base * math.expm1(step.ci_high), p_value=step.p_value,
    )
    resid = np.asarray(fit.resid_pearson)
    from statsmodels.stats.diagnostic import acorr_ljungbox

    lb = float(acorr_ljungbox(resid, lags=[max(1, min(6, len(resid) // 5))])["lb_pvalue"].iloc[0])
    if lb < LB_ALPHA:
        warnings.append(note("autocorrelated", lb_p=lb))
    dispersion = float(np.sum(resid**2) / fit.df_resid)

    bent = None
    Xb = design(yk.index, post, w, seasonal, bend=True)
    if bend and len(yk) > Xb.shape[1] + 2:
        bent = _effect(_glm(yk, Xb, family, lags, alpha_nb), "bend", alpha)
    return ITSResult(
        milestone=milestone, frequency=prep.frequency, conversion=prep.conversion, window_months=window_months,
        gap_months=gap_months, family=family, alpha=alpha, windows=w, n_pre=n_pre, n_post=n_post,
        seasonal=seasonal, step=step, change=change, trend=trend, bend=bent, hac_maxlags=lags,
        dispersion=dispersion, ljung_box_p=lb, observed=yk.rename("observed"),
        fitted=pd.Series(np.asarray(fit.fittedvalues), index=yk.index, name="fitted"), counterfactual=cf,
        counterfactual_low=pd.Series(np.exp(eta - crit * se), index=Xc.index, name="counterfactual_low"),
        counterfactual_high=pd.Series(np.exp(eta + crit * se), index=Xc.index, name="counterfactual_high"),
        warnings=warnings,
    )
