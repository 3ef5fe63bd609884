"""Synthetic control: a SYNTHETIC panel with known weights, and REAL SESNSP state homicides
(committed seed snapshot, built table) with a shift placed in one state."""

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import AnalysisError, synthetic_control
from dashboard.analysis.synth import MIN_UNITS, _weights

IDX = pd.date_range("2015-01-01", periods=48, freq="MS")
MID = pd.Timestamp("2017-01-15")


def synthetic_panel(seed: int = 1, shift: float = 0.0) -> pd.DataFrame:
    """24 donor states with their own paths; the treated one is 0.6 x d0 + 0.4 x d1 (in index terms)."""
    rng = np.random.default_rng(seed)
    t = np.arange(48)
    cols = {f"D{i:02d}": 100 * np.exp(rng.normal(0, 0.02, 48).cumsum() + 0.1 * np.sin(2 * np.pi * (t + i) / 12))
            for i in range(24)}
    panel = pd.DataFrame(cols, index=IDX)
    idx = panel / panel.iloc[12:24].mean()
    treated = (0.6 * idx["D00"] + 0.4 * idx["D01"]) * 500
    panel["T"] = treated.where(IDX < "2017-02-01", treated * (1 + shift))
    return panel


def test_synthetic_known_weights_and_no_effect():
    res = synthetic_control(synthetic_panel(), "T", MID, frequency="monthly", window_months=12)
    assert res.weights.index[:2].tolist() == ["D00", "D01"]
    assert res.weights["D00"] == pytest.approx(0.6, abs=0.05) and res.weights["D01"] == pytest.approx(0.4, abs=0.05)
    assert res.pre_rmspe < 1 and abs(res.effect_pct) < 0.02
    assert res.n_units == 25 and res.testable and len(res.donors) == 24


def test_synthetic_shift_in_the_treated_state_ranks_first():
    res = synthetic_control(synthetic_panel(shift=0.3), "T", MID, frequency="monthly", window_months=12)
    assert res.effect_pct == pytest.approx(0.3, abs=0.03)
    assert res.rank == 1 and res.p_value == pytest.approx(1 / 25)


@pytest.fixture(scope="module")
def states():
    from dashboard import store

    frame = store.series_all("sesnsp_homicide.homicidio_doloso")
    frame = frame[frame["geo"] != "MX"]
    assert frame["geo"].nunique() == 32
    return frame.pivot(index="date", columns="geo", values="value").sort_index()


def test_real_states_shift_placed_in_one_state_is_recovered(states):
    """+50% in Jalisco from March 2017 (no milestone within a year): recovered on top of Jalisco's own move."""
    when = pd.Timestamp("2017-02-15")
    base = synthetic_control(states, "MX-JAL", when, frequency="monthly", window_months=12)
    shifted = states.assign(**{"MX-JAL": states["MX-JAL"].where(states.index < "2017-03-01", states["MX-JAL"] * 1.5)})
    res = synthetic_control(shifted, "MX-JAL", when, frequency="monthly", window_months=12, placebos=base.placebos)
    assert (1 + res.effect_pct) / (1 + base.effect_pct) - 1 == pytest.approx(0.5, abs=0.02)
    assert res.rank < base.rank  # more unusual among the states than Jalisco's own move
    assert "MX-JAL" not in res.weights.index and res.weights.sum() == pytest.approx(1, abs=1e-3)


def test_fast_weights_equal_pysyncon_on_real_states(states):
    pre = states.loc["2019-10-01":"2020-09-01"]
    index = pre / pre.mean() * 100
    for treated in ("MX-CHH", "MX-GUA", "MX-CMX"):
        donors, x = index.drop(columns=treated), index[treated].rename("treated")
        np.testing.assert_allclose(_weights(donors, x, "qp"), _weights(donors, x, "pysyncon"), atol=2e-3)


def test_too_few_periods_or_donors_are_codes():
    panel = synthetic_panel()
    with pytest.raises(AnalysisError) as err:
        synthetic_control(panel[["T", "D00"]], "T", MID, frequency="monthly", window_months=12)
    assert err.value.code == "synth_no_donors"
    small = synthetic_control(panel.iloc[:, -6:], "T", MID, frequency="monthly", window_months=12)
    assert small.n_units < MIN_UNITS and not small.testable
    assert any(c == "synth_few_units" for c, _ in small.warnings)
