"""Lagged cross-correlation of two series (e.g. fentanyl seized vs fentanyl deaths).

Sign convention: the correlation at lag k pairs x(t) with y(t+k), so a peak at a positive
lag k means x leads y by k months (periods); a negative lag means y leads x.

Two trending series correlate strongly at every lag even when unrelated (spurious
correlation), so levels are never correlated directly: ``method="difference"`` (default)
uses first differences; ``method="prewhiten"`` (Box-Jenkins) differences when the ADF test
says x is non-stationary, fits an AR model to x, and passes both series through that filter,
so x's own persistence cannot manufacture a peak. Bands are +/- z * sqrt(b / n), with
Bartlett's variance factor b = 1 + 2 * sum_j rho_x(j) rho_y(j) for two independent series with
autocorrelations rho_x, rho_y (j = 1..min(24, n/4)): differencing white noise alone makes b = 1.5,
and a plain 1/sqrt(n) band would then find "significant" lags far too often.

Which lags count. Under independence about 1 lag in 20 pokes out of the pointwise 95% band
(+/- 1.96 / sqrt(n)) by chance, so with 49 lags some almost always do. A lag is called
significant only outside the family-wise band +/- z_fw / sqrt(n), z_fw = the Bonferroni
quantile 1 - 0.05 / (2 * number of lags); the peak is the largest |r| among the significant
lags, and when there is none the result says so (``reading`` = ("no_significant_lag", ...))
instead of naming a meaningless "peak". Both bands are returned for the chart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import PERIOD_MONTHS, Note, PreparedSeries, note, prepare

SIGN_CONVENTION = "positive lag k: x leads y by k months (corr of x(t) with y(t+k))"
MIN_PAIRS = 10


@dataclass(frozen=True)
class XCorrResult:
    table: pd.DataFrame  # columns: lag, corr, n, significant
    peak_lag: int | None  # the largest |corr| among the significant lags; None when none is
    peak_corr: float | None
    band: float  # pointwise: |corr| above this is outside the +/- z/sqrt(n) band
    band_familywise: float  # |corr| above this is significant across all lags (Bonferroni)
    n: int
    method: str
    transform: str  # plain-language description of what was correlated
    adf_p_x: float
    adf_p_y: float
    sign_convention: str = SIGN_CONVENTION
    warnings: list[Note] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        return self.peak_lag is not None

    @property
    def reading(self) -> Note:
        """("peak", {lag, corr, band, n}) or ("no_significant_lag", {band, n}): catalog keys
        ``analysis.xcorr.peak_lead`` / ``peak_lag`` / ``peak_same`` / ``no_significant_lag``."""
        if self.peak_lag is None:
            return note("no_significant_lag", band=self.band_familywise, n=self.n)
        return note("peak", lag=self.peak_lag, corr=self.peak_corr, band=self.band_familywise, n=self.n)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("table")
        return out


def _adf_p(values: pd.Series) -> float:
    clean = values.dropna().to_numpy()
    if len(clean) < 12:
        return float("nan")
    from statsmodels.tsa.stattools import adfuller  # imported where used: the timeline starts without it

    try:  # statsmodels >= 0.15 returns a result object; 0.14 only a tuple
        return float(adfuller(clean, autolag="AIC", result_object=True).pvalue)
    except TypeError:
        return float(adfuller(clean, autolag="AIC")[1])


def _bartlett_factor(tx: pd.Series, ty: pd.Series, lags: int) -> float:
    """1 + 2 * sum rho_x(j) rho_y(j): the variance inflation of a cross-correlation between two
    independent autocorrelated series (Bartlett 1935), never below 1."""
    from statsmodels.tsa.stattools import acf

    rx = acf(tx.dropna().to_numpy(), nlags=lags, fft=True)[1:]
    ry = acf(ty.dropna().to_numpy(), nlags=lags, fft=True)[1:]
    return max(1.0, 1.0 + 2.0 * float(np.sum(rx * ry)))


def _filter(values: pd.Series, params: np.ndarray) -> pd.Series:
    """Apply the AR filter e(t) = v(t) - c - sum phi_i v(t-i) fitted on x."""
    out = values - params[0]
    for i, phi in enumerate(params[1:], start=1):
        out = out - phi * values.shift(i)
    return out


def lagged_xcorr(
    x: pd.Series | PreparedSeries,
    y: pd.Series | PreparedSeries,
    *,
    frequency: str = "monthly",
    max_lag: int = 24,
    method: str = "difference",
    z: float = 1.96,
) -> XCorrResult:
    """Correlation of x(t) with y(t+k) for k in -max_lag..max_lag (see module docstring).

    Pass ``PreparedSeries`` (from ``guards.prepare``) to use 12-month-ending data after an
    explicit conversion; raw 12-month-ending series are refused.
    """
    if method not in ("difference", "prewhiten"):
        raise ValueError(f"method must be 'difference' or 'prewhiten', got {method!r}")
    px = x if isinstance(x, PreparedSeries) else prepare(x, frequency)
    py = y if isinstance(y, PreparedSeries) else prepare(y, frequency)
    if px.frequency != py.frequency:
        raise ValueError(f"x is {px.frequency} and y is {py.frequency}: put them on one frequency first")
    common = px.series.index.intersection(py.series.index)
    if len(common) < 3 * MIN_PAIRS:
        raise ValueError(f"only {len(common)} common dates; need at least {3 * MIN_PAIRS}")
    full = pd.date_range(common[0], common[-1], freq=f"{PERIOD_MONTHS[px.frequency]}MS")
    lx, ly = px.series.reindex(full), py.series.reindex(full)  # gaps become NaN, never bridged
    lx[~full.isin(common)] = np.nan
    ly[~full.isin(common)] = np.nan
    adf_x, adf_y = _adf_p(lx), _adf_p(ly)
    warnings = px.warnings + py.warnings
    for name, p in (("x", adf_x), ("y", adf_y)):
        if not p <= 0.05:  # trending series correlate at every lag even when unrelated
            warnings.append(note("trending", series=name, adf_p=p))

    if method == "difference" or adf_x > 0.05:
        tx, ty, transform = lx.diff(), ly.diff(), "first differences"
    else:
        tx, ty, transform = lx, ly, "levels"
    if method == "prewhiten":
        if tx.isna().sum() > 1:
            raise ValueError("pre-whitening needs a gapless common period")
        tx, ty = tx.dropna(), ty.dropna()
        arr = tx.to_numpy()
        from statsmodels.tsa.ar_model import AutoReg, ar_select_order

        order = ar_select_order(arr, maxlag=min(12, len(arr) // 5), trend="c").ar_lags
        params = np.asarray(AutoReg(arr, lags=order or 0, trend="c").fit().params)
        p = len(params) - 1
        tx, ty = _filter(tx, params), _filter(ty, params)
        transform = f"{transform}, pre-whitened by an AR({p}) filter fitted on x"

    rows = []
    for k in range(-max_lag, max_lag + 1):
        pair = pd.concat([tx, ty.shift(-k)], axis=1).dropna()
        n_k = len(pair)
        corr = float(pair.iloc[:, 0].corr(pair.iloc[:, 1])) if n_k >= MIN_PAIRS else float("nan")
        rows.append({"lag": k, "corr": corr, "n": n_k})
    table = pd.DataFrame(rows)
    if table["corr"].isna().all():
        raise ValueError("no lag has enough overlapping points to correlate")
    n = int(pd.concat([tx, ty], axis=1).dropna().shape[0])
    bartlett = _bartlett_factor(tx, ty, max(1, min(24, n // 4)))
    band = z * np.sqrt(bartlett / n)
    tested = int(table["corr"].notna().sum())
    from scipy import stats

    z_fw = float(stats.norm.ppf(1 - 0.05 / (2 * tested)))
    band_fw = z_fw * np.sqrt(bartlett / n)
    table["significant"] = table["corr"].abs() > band_fw
    sig = table[table["significant"]]
    peak = sig.loc[sig["corr"].abs().idxmax()] if len(sig) else None
    return XCorrResult(
        table=table, peak_lag=None if peak is None else int(peak["lag"]),
        peak_corr=None if peak is None else float(peak["corr"]), band=float(band), band_familywise=float(band_fw),
        n=n, method=method, transform=transform, adf_p_x=adf_x, adf_p_y=adf_y, warnings=warnings,
    )
