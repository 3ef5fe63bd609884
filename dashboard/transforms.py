"""Pure transforms of one tidy series (columns date, value, flag): no I/O, no state.

Each returns a new frame plus a short label for the axis; raw values stay in ``raw`` so a
rolling mean can be drawn over them and a download says what was done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl import vocabulary



@dataclass(frozen=True)
class Transformed:
    frame: pd.DataFrame  # date, value, raw, flag
    label: tuple         # what the y values now are: (catalog key, params)
    note: tuple | None = None   # what the user should know (e.g. why nothing is shown), or None
    # Calendar years with values but no population estimate (a per-100k rate has no value there);
    # kept apart from ``note`` so smoothing's note cannot hide it, and a panel can name them once.
    unrated_years: tuple[int, ...] = ()


def per_100k(df: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """Divide by the population of each date's calendar year (Series indexed by year)."""
    years = df["date"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970
    pop = population.reindex(years).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = df["value"].to_numpy(dtype=float) / pop * 1e5
    return df.assign(value=rate)


def index_base(df: pd.DataFrame, at: pd.Timestamp) -> int | None:
    """The row an index is based on: the first dated on or after ``at`` with a positive value
    (rows sorted by date), or None."""
    eligible = (df["date"].to_numpy() >= np.datetime64(at)) & (df["value"].to_numpy(dtype=float) > 0)
    return int(eligible.argmax()) if eligible.any() else None


def index_to(df: pd.DataFrame, at: pd.Timestamp) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """100 at the first date on or after ``at`` that has a positive value."""
    i = index_base(df, at)
    if i is None:
        return df.assign(value=np.nan), None
    values = df["value"].to_numpy(dtype=float)
    return df.assign(value=values / values[i] * 100), pd.Timestamp(df["date"].iloc[i])


def year_over_year(df: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """% change against the same period a year earlier, matched by date, not by position."""
    dates = df["date"].to_numpy()
    months = dates.astype("datetime64[M]")
    if (months.astype(dates.dtype) == dates).all():
        before_dates = (months - 12).astype(dates.dtype)  # period starts: the same month a year earlier
    else:
        before_dates = (df["date"] - pd.DateOffset(years=1)).to_numpy()  # any other day, as the calendar says
    prior = pd.Series(df["value"].to_numpy(), index=dates)
    prior = prior[~prior.index.duplicated(keep="last")]
    before = prior.reindex(before_dates).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero a year earlier: inf, as pandas gives
        change = (df["value"].to_numpy(dtype=float) / before - 1) * 100
    return df.assign(value=change)


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
    rate or index or growth first, then smoothing.

    ``label`` and ``note`` are catalog codes with parameters (the page words them): the axis
    label says what the values now are, the note what the reader should know."""
    if not df["date"].is_monotonic_increasing:  # the store's rows come sorted: skip the sort then
        df = df.sort_values("date")
    # One constructor call: selecting, assigning and re-indexing each cost a fixed ~0.3 ms in pandas.
    out = pd.DataFrame({"date": df["date"].to_numpy(), "value": df["value"].to_numpy(),
                        "flag": df["flag"].array, "raw": df["value"].to_numpy()})
    freq = vocabulary.frequencies()[frequency]
    label: tuple = ("axis.unit_12m" if freq.overlapping else "axis.unit", {"unit": unit})
    note: tuple | None = None
    unrated: tuple[int, ...] = ()
    if transform == "per100k":
        if population is None or population.empty:
            return Transformed(out.assign(value=np.nan), label, ("note.no_population", {}))
        out = per_100k(out, population)
        if freq.periods_per_year > 1 and not freq.overlapping:
            # Annualised, so monthly and half-yearly rates read like the yearly rates readers know.
            out = out.assign(value=out["value"] * freq.periods_per_year)
        missing = out["value"].isna() & out["raw"].notna()
        if missing.any():
            unrated = tuple(int(y) for y in sorted(out.loc[missing, "date"].dt.year.unique()))
        label = ("axis.per100k_12m", {}) if freq.overlapping else \
            ("axis.per100k_annualised", {}) if freq.periods_per_year > 1 else ("axis.per100k_year", {})
    elif transform == "index":
        out, base = index_to(out, index_at if index_at is not None else out["date"].min())
        label = ("axis.index", {"base": base}) if base is not None else ("axis.index_plain", {})
        if base is None:
            note = ("note.no_index_base", {})
    elif transform == "yoy":
        out = year_over_year(out, frequency)
        label = ("axis.yoy", {})
    if rolling and rolling > 1:
        periods = rolling * freq.periods_per_year / 12
        if freq.overlapping:
            note = ("note.rolling_12m", {})
        elif freq.periods_per_year == 0 or periods < 2 or not float(periods).is_integer():
            note = ("note.rolling_not_applicable", {"months": rolling, "frequency": frequency})
        else:
            out = out.assign(unsmoothed=out["value"])
            out = rolling_mean(out, int(periods))
            label = ("axis.rolling", {"inner": label, "months": rolling})
    return Transformed(out, label, note, unrated)
