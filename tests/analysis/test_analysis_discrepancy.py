"""INEGI vs SESNSP discrepancy on SYNTHETIC state tables (fixed seeds)."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import source_discrepancy

STATES = ["MX-CHH", "MX-SON", "MX-BCN", "MX-TAM", "MX-GUA", "MX-JAL", "MX-MIC", "MX-GRO"]
DATES = pd.date_range("2015-01-01", "2020-12-01", freq="MS")


def synthetic_sources(seed: int = 41) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SESNSP victims ~ 100/month; INEGI = 1.15 x SESNSP, except MX-SON jumps to 1.8 x from 2019."""
    rng = np.random.default_rng(seed)
    rows_s, rows_i = [], []
    for geo in STATES:
        for date in DATES:
            victims = float(rng.poisson(100))
            ratio = 1.8 if (geo == "MX-SON" and date.year >= 2019) else 1.15
            rows_s.append({"geo": geo, "date": date, "value": victims})
            rows_i.append({"geo": geo, "date": date, "value": float(rng.poisson(victims * ratio))})
    return pd.DataFrame(rows_i), pd.DataFrame(rows_s)


def test_synthetic_sharp_ratio_move_flags_only_that_state():
    inegi, sesnsp = synthetic_sources()
    res = source_discrepancy(inegi, sesnsp)
    assert res.flagged_geos == ("MX-SON",)
    son = res.table[(res.table["geo"] == "MX-SON") & (res.table["year"] == 2019)].iloc[0]
    assert son["flag_change"] and son["flag_z"]
    assert abs(son["ratio"] - 1.8) < 0.1
    assert res.table[res.table["geo"] == "MX-SON"]["flagged"].sum() == 1  # 2020 is stable again
    assert len(res.table) == len(STATES) * 6


def test_incomplete_years_dropped_with_warning():
    inegi, sesnsp = synthetic_sources()
    sesnsp = sesnsp[~((sesnsp["geo"] == "MX-GRO") & (sesnsp["date"] == pd.Timestamp("2020-12-01")))]
    res = source_discrepancy(inegi, sesnsp)
    assert len(res.table) == len(STATES) * 6 - 1
    assert ("incomplete_years", {"n": 1}) in res.warnings


def test_missing_columns_and_duplicates_rejected():
    inegi, sesnsp = synthetic_sources()
    with pytest.raises(ValueError, match="lacks columns"):
        source_discrepancy(inegi.rename(columns={"value": "deaths"}), sesnsp)
    with pytest.raises(ValueError, match="duplicate"):
        source_discrepancy(pd.concat([inegi, inegi.head(1)]), sesnsp)
