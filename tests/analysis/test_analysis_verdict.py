"""The verdict rule (dashboard/analysis/verdict.py), case by case on constructed evidence, and on
SYNTHETIC count series end to end."""

from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis import decide, fit_its, placebo_test
from dashboard.analysis.its import Change
from dashboard.analysis.verdict import overlapping


def its(pct: float, low: float, high: float):
    return NS(change=Change(pct, low, high, 100 * pct, 100 * low, 100 * high, 0.01))


def placebo(p: float, n: int = 80):
    return NS(n_placebos=n, share=p, rank=int(p * n) + 1, p_value=p, testable=n >= 19)


def synth(p: float, units: int = 32):
    return NS(rank=max(1, int(p * units)), n_units=units, p_value=p, effect_pct=0.1, testable=units >= 20)


@pytest.mark.parametrize("model, time, space, code", [
    (its(0.2, 0.1, 0.3), placebo(0.01), None, "change_up"),
    (its(-0.2, -0.3, -0.1), placebo(0.01), None, "change_down"),
    (its(0.2, 0.1, 0.3), placebo(0.01), synth(0.03), "change_up"),
    (its(0.2, 0.1, 0.3), placebo(0.01), synth(0.40), "mixed"),           # the states disagree
    (its(-0.04, -0.07, -0.01), placebo(0.55), None, "none_model_only"),  # the Cienfuegos pattern
    (its(-0.02, -0.07, 0.02), placebo(0.69), None, "none"),
    (its(0.02, -0.05, 0.09), placebo(0.02), None, "mixed"),              # extreme date, model unsure
    (its(0.2, 0.1, 0.3), placebo(0.01, n=10), None, "untestable"),       # p cannot reach 0.05
    (its(0.2, 0.1, 0.3), placebo(1.0, n=0), synth(0.03), "change_up"),   # only the states can test
    (its(0.2, 0.1, 0.3), placebo(1.0, n=0), synth(0.5, units=10), "untestable"),
])
def test_rule(model, time, space, code):
    v = decide(model, time, space)
    assert v.code == code
    assert v.claims_change == code.startswith("change")


def test_params_say_which_test_the_sentence_cites():
    assert decide(its(0.2, 0.1, 0.3), placebo(0.01)).params["basis"] == "time"
    only_space = decide(its(0.2, 0.1, 0.3), placebo(1.0, n=0), synth(0.03))
    assert only_space.params["basis"] == "space" and only_space.params["space_rank"] == 1
    v = decide(its(-0.04, -0.07, -0.01), placebo(0.55))
    assert v.params["share"] == 0.55 and v.params["pct"] == pytest.approx(0.04)


def test_overlapping_milestones_named_nearest_first():
    rng = np.random.default_rng(1)
    y = pd.Series(rng.poisson(500, 96).astype(float), index=pd.date_range("2015-01-01", periods=96, freq="MS"))
    when = pd.Timestamp("2020-10-15")
    res = fit_its(y.set_axis(pd.date_range("2015-01-01", periods=96, freq="MS") + pd.DateOffset(years=1)), when,
                  frequency="monthly", window_months=12)
    ms = pd.DataFrame({"id": ["arrest", "law", "far", "before"],
                       "date": pd.to_datetime(["2020-10-15", "2020-12-15", "2023-01-01", "2019-11-04"])})
    assert overlapping(ms, res, "arrest") == ("law", "before")


def test_end_to_end_synthetic_step_and_no_step():
    rng = np.random.default_rng(2)
    t = np.arange(144)
    idx = pd.date_range("2010-01-01", periods=144, freq="MS")
    when = idx[72] + pd.Timedelta(days=14)
    for step, expected in ((0.3, "change_up"), (0.0, "none")):
        y = pd.Series(rng.poisson(800 * np.where(t >= 73, 1 + step, 1)).astype(float), index=idx)
        v = decide(fit_its(y, when, frequency="monthly"), placebo_test(y, when, frequency="monthly"))
        assert v.code == expected
