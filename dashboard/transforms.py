"""Pure transforms of one tidy series (columns date, value, flag): no I/O, no state.

Each returns a new frame plus a short label for the axis; raw values stay in ``raw`` so a
rolling mean can be drawn over them and a download says what was done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERIODS_PER_YEAR = {"monthly": 12, "monthly_12m_ending": 12, "annual": 1}


@dataclass(frozen=True)
class Transformed:
    frame: pd.DataFrame  # date, value, raw, flag
    label: str           # what the y values now are
    note: str = ""       # what the user should know (e.g. why nothing is shown)


def per_100k(df: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """Divide by the population of each date's calendar year (Series indexed by year)."""
    pop = df["date"].dt.year.map(population)
    return df.assign(value=df["value"] / pop * 1e5)


def index_to(df: pd.DataFrame, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """100 at the first date on or after ``at`` that has a positive value."""
    base = df[(df["date"] >= at) & (df["value"] > 0)]
    if base.empty:
        return df.assign(value=np.nan), None
    row = base.iloc[0]
    return df.assign(value=df["value"] / row["value"] * 100), row["date"]


def year_over_year(df: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """% change against the same period a year earlier, matched by date, not by position."""
    lag = pd.DateOffset(months=12) if frequency != "annual" else pd.DateOffset(years=1)
    prior = df.set_index("date")["value"]
    before = (df["date"] - lag).map(prior)
    return df.assign(value=(df["value"] / before - 1) * 100)


def rolling_mean(df: pd.DataFrame, window: int) -> pd.DataFrame:
    return df.assign(value=df["value"].rolling(window, min_periods=window).mean())


def log_hidden(values: pd.Series) -> int:
    """How many points a log axis cannot draw (zero, negative)."""
    return int((values.dropna() <= 0).sum())


def apply(
    df: pd.DataFrame,
    *,
    transform: str,
    frequency: str,
    unit: str,
    population: pd.Series | None = None,
    index_at: pd.Timestamp | None = None,
    rolling: int = 0,
) -> Transformed:
    """The dashboard's transform pipeline for one series, in the order an analyst expects:
    rate or index or growth first, then smoothing."""
    out = df[["date", "value", "flag"]].sort_values("date").assign(raw=df["value"]).reset_index(drop=True)
    label, note = unit, ""
    if frequency == "monthly_12m_ending":
        label = f"{unit}, 12 months ending"
    if transform == "per100k":
        if population is None or population.empty:
            return Transformed(out.assign(value=np.nan), label, "No population for this geography: per 100k not available.")
        out = per_100k(out, population)
        missing = out["value"].isna() & out["raw"].notna()
        if missing.any():
            years = sorted(out.loc[missing, "date"].dt.year.unique())
            note = (f"No population estimate for {years[0]}–{years[-1]}: those points have no rate."
                    if len(years) > 1 else f"No population estimate for {years[0]}: those points have no rate.")
        label = "per 100k residents" + (", 12 months ending" if frequency == "monthly_12m_ending" else
                                         ", per month" if frequency == "monthly" else ", per year")
    elif transform == "index":
        out, base = index_to(out, index_at if index_at is not None else out["date"].min())
        label = f"index, {base:%b %Y} = 100" if base is not None else "index"
        if base is None:
            note = "No positive value on or after the index date."
    elif transform == "yoy":
        out = year_over_year(out, frequency)
        label = "% change vs. a year earlier"
    if rolling and rolling > 1 and frequency != "annual":
        if frequency == "monthly_12m_ending":
            note = "Already a 12-month sum: a rolling mean would smooth twice, so none is applied."
        else:
            out = out.assign(unsmoothed=out["value"])
            out = rolling_mean(out, rolling)
            label += f" ({rolling}-month mean)"
    return Transformed(out, label, note)
