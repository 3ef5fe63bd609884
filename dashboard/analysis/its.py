"""Interrupted time series: segmented regression with Newey–West (HAC) standard errors.

    y = b0 + b1*t + b2*post + b3*(t - t0)*post [+ month-of-year dummies]

``t`` counts periods (months, or years for annual data) from the first observation, ``t0`` is
the first period wholly after the milestone, so b2 is the jump at t0 (level change) and b3
the change in slope per period. Crime and death series are autocorrelated, which makes plain
OLS errors too small; HAC errors use maxlags = floor(4 * (n/100)^(2/9)) (Newey & West 1994)
unless given, with the small-sample correction and t-based CIs. Even so, HAC intervals are
optimistic in short series (about 91% coverage for a nominal 95% on 11 years of monthly
data in our simulations); the placebo test is the distribution-free cross-check.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.stats.stattools import durbin_watson

from dashboard.analysis.guards import check_milestone, milestone_cut, month_number, prepare

MIN_SIDE = {"monthly": 12, "annual": 5}  # below this either side: "short series" warning
FEW_POST = {"monthly": 6, "annual": 3}


@dataclass(frozen=True)
class Effect:
    """One coefficient with its HAC standard error, confidence interval and p-value."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class ITSResult:
    milestone: pd.Timestamp
    frequency: str
    conversion: str | None
    n_pre: int
    n_post: int
    level_change: Effect
    slope_change: Effect
    pre_slope: Effect
    level_change_pct: float | None  # level change as % of the counterfactual at t0
    slope_unit: str  # "per month" or "per year"
    alpha: float
    seasonal: bool
    hac_maxlags: int
    durbin_watson: float
    ljung_box_p: float
    fitted_pre: pd.Series
    fitted_post: pd.Series
    counterfactual: pd.Series  # pre-trend (and seasonality) extended over the post period
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        rows = {"pre_slope": self.pre_slope, "level_change": self.level_change, "slope_change": self.slope_change}
        return pd.DataFrame([{"term": k, **asdict(v)} for k, v in rows.items()])

    def as_dict(self) -> dict:
        skip = {"fitted_pre", "fitted_post", "counterfactual"}
        return {k: (asdict(v) if isinstance(v, Effect) else v) for k, v in self.__dict__.items() if k not in skip}


def design(index: pd.DatetimeIndex, milestone: pd.Timestamp, period_months: int, seasonal: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Segmented-regression design matrix, and a mask dropping the period that straddles the milestone."""
    cut_before, cut_after = milestone_cut(milestone, period_months)
    months = np.array([month_number(d) for d in index])
    t = (months - months[0]) / period_months
    t0 = (month_number(cut_after) - months[0]) / period_months
    post = (index >= cut_after).astype(float)
    X = pd.DataFrame({"const": 1.0, "time": t, "post": post, "time_after": (t - t0) * post}, index=index)
    if seasonal:
        for m in range(2, 13):
            X[f"month_{m}"] = (index.month == m).astype(float)
    keep = np.asarray((index < cut_before) | (index >= cut_after))
    return X, keep


def hac_maxlags(n: int) -> int:
    return int(math.floor(4 * (n / 100) ** (2 / 9)))


def fit_its(
    series: pd.Series,
    milestone: pd.Timestamp,
    *,
    frequency: str,
    alpha: float = 0.05,
    seasonal: bool | None = None,
    maxlags: int | None = None,
    convert: str | None = None,
    known_monthly: pd.Series | None = None,
) -> ITSResult:
    """Level and slope change at ``milestone``. ``seasonal=None``: month dummies when monthly with >= 24 points."""
    prep = prepare(series, frequency, convert, known_monthly)
    y = prep.series
    milestone = check_milestone(y, milestone, prep.period_months)
    warnings = list(prep.warnings)
    monthly = prep.frequency == "monthly"
    if seasonal is None:
        seasonal = monthly and len(y) >= 24
        if monthly and not seasonal:
            warnings.append("fewer than 24 monthly points: seasonality is not modelled and may bias the estimates.")
    elif seasonal and not monthly:
        raise ValueError("seasonal dummies need monthly data")
    X, keep = design(y.index, milestone, prep.period_months, seasonal)
    if not keep.all():
        warnings.append(f"the period containing the milestone ({y.index[~keep][0].date()}) is partly before and partly after, and was left out.")
    X, yk = X[keep], y[keep]
    n_pre, n_post = int((X["post"] == 0).sum()), int((X["post"] == 1).sum())
    if n_pre < 3 or n_post < 3 or len(yk) <= X.shape[1] + 1:
        raise ValueError(f"too few points to fit a segmented regression ({n_pre} before, {n_post} after the milestone)")

    key = "monthly" if monthly else "annual"
    if min(n_pre, n_post) < MIN_SIDE[key]:
        warnings.append(f"short series: {n_pre} points before and {n_post} after (fewer than {MIN_SIDE[key]} on a side); estimates are fragile.")
    if n_post < FEW_POST[key]:
        warnings.append(f"only {n_post} points after the milestone: the slope change is barely identified.")
    lags = hac_maxlags(len(yk)) if maxlags is None else maxlags
    fit = sm.OLS(yk, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    ci = fit.conf_int(alpha)

    def effect(term: str) -> Effect:
        return Effect(float(fit.params[term]), float(fit.bse[term]), float(ci.loc[term, 0]), float(ci.loc[term, 1]), float(fit.pvalues[term]))

    dw = float(durbin_watson(fit.resid))
    lb = float(acorr_ljungbox(fit.resid, lags=[max(1, min(12, len(yk) // 5))])["lb_pvalue"].iloc[0])
    if lb < 0.05 or not 1.5 <= dw <= 2.5:
        warnings.append(
            f"residuals are autocorrelated (Durbin-Watson {dw:.2f}, Ljung-Box p={lb:.3f}): HAC errors "
            "only partly correct for this in short series, so treat p-values and CIs as optimistic."
        )
    post_mask = X["post"] == 1
    cf_X = X[post_mask].assign(post=0.0, time_after=0.0)
    counterfactual = pd.Series(fit.predict(cf_X), index=cf_X.index, name="counterfactual")
    fitted = pd.Series(fit.fittedvalues, index=X.index)
    level = effect("post")
    base = float(counterfactual.iloc[0])
    return ITSResult(
        milestone=milestone, frequency=prep.frequency, conversion=prep.conversion,
        n_pre=n_pre, n_post=n_post, level_change=level, slope_change=effect("time_after"),
        pre_slope=effect("time"), level_change_pct=None if base == 0 else 100 * level.estimate / abs(base),
        slope_unit="per month" if monthly else "per year", alpha=alpha, seasonal=bool(seasonal),
        hac_maxlags=lags, durbin_watson=dw, ljung_box_p=lb,
        fitted_pre=fitted[~post_mask].rename("fitted_pre"), fitted_post=fitted[post_mask].rename("fitted_post"),
        counterfactual=counterfactual, warnings=warnings,
    )
