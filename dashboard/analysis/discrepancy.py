"""Mexico's two homicide counts side by side: INEGI death certificates vs SESNSP victims.

INEGI counts deaths registered by the civil registry, SESNSP the victims in prosecutors'
case files; the ratio INEGI/SESNSP is usually above 1 and fairly stable within a state. A
sharp move in one state's ratio usually means a change in how that state's prosecutors
record cases, not a change in violence, so the dashboard should say so before anyone
reads a trend into either source. Two flags, on annual totals of complete years:

* ``flag_change``: |ratio_t / ratio_(t-1) - 1| > ``threshold`` (default 25%);
* ``flag_z``: the state's year-over-year change in log ratio is an outlier among all states
  that year (robust z = (d - median) / (1.4826 * MAD) beyond ``z_threshold``), i.e. the state
  moved unlike the others, which separates local recording changes from national ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.analysis.guards import Note, note

COLUMNS = ("geo", "date", "value")


@dataclass(frozen=True)
class DiscrepancyResult:
    table: pd.DataFrame  # geo, year, inegi, sesnsp, ratio, ratio_change, robust_z, flag_change, flag_z, flagged
    flagged_geos: tuple[str, ...]
    threshold: float
    z_threshold: float
    warnings: list[Note] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def _annual(frame: pd.DataFrame, name: str, frequency: str) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}; expected {list(COLUMNS)}")
    tidy = frame.loc[:, list(COLUMNS)].dropna(subset=["value"]).copy()
    if tidy.duplicated(["geo", "date"]).any():
        raise ValueError(f"{name} table has duplicate (geo, date) rows; one value per state and period expected")
    tidy["year"] = pd.to_datetime(tidy["date"]).dt.year
    grouped = tidy.groupby(["geo", "year"])["value"]
    out = grouped.sum().rename(name).to_frame()
    out[f"{name}_months"] = grouped.size() if frequency == "monthly" else 12
    return out


def _robust_z(d: pd.Series) -> pd.Series:
    mad = 1.4826 * (d - d.median()).abs().median()
    return (d - d.median()) / mad if mad > 0 else pd.Series(np.nan, index=d.index)


def source_discrepancy(
    inegi: pd.DataFrame,
    sesnsp: pd.DataFrame,
    *,
    frequency: str = "monthly",
    threshold: float = 0.25,
    z_threshold: float = 3.5,
) -> DiscrepancyResult:
    """Annual INEGI/SESNSP ratio per geo, flagging sharp year-over-year moves (see module docstring)."""
    if frequency not in ("monthly", "annual"):
        raise ValueError("frequency must be 'monthly' or 'annual'")
    both = _annual(inegi, "inegi", frequency).join(_annual(sesnsp, "sesnsp", frequency), how="inner")
    warnings: list[Note] = []
    complete = (both["inegi_months"] == 12) & (both["sesnsp_months"] == 12)
    if not complete.all():
        warnings.append(note("incomplete_years", n=int((~complete).sum())))
    both = both[complete].drop(columns=["inegi_months", "sesnsp_months"]).reset_index()
    if both.empty:
        raise ValueError("the two sources share no complete geo-year")
    zero = both["sesnsp"] <= 0
    if zero.any():
        warnings.append(note("no_sesnsp_victims", n=int(zero.sum())))
    both["ratio"] = both["inegi"] / both["sesnsp"].where(~zero)
    both = both.sort_values(["geo", "year"]).reset_index(drop=True)
    prev = both.groupby("geo")[["ratio", "year"]].shift(1)
    consecutive = both["year"] - prev["year"] == 1
    both["ratio_change"] = (both["ratio"] / prev["ratio"] - 1).where(consecutive)
    dlog = np.log(both["ratio"] / prev["ratio"]).where(consecutive)
    both["robust_z"] = dlog.groupby(both["year"]).transform(_robust_z)
    both["flag_change"] = both["ratio_change"].abs() > threshold
    both["flag_z"] = both["robust_z"].abs() > z_threshold
    both["flagged"] = both["flag_change"] | both["flag_z"]
    if both["geo"].nunique() < 5:
        warnings.append(note("few_geos", n=int(both["geo"].nunique())))
    flagged = tuple(sorted(both.loc[both["flagged"], "geo"].unique()))
    return DiscrepancyResult(both, flagged, threshold, z_threshold, warnings)
