"""The verdict: one rule that turns the estimates and the placebo ranks into a plain answer.

Three pieces of evidence, each at level ``ALPHA`` (0.05):

* the model (``its``): the 95% interval of the step excludes zero;
* placebo in time (``placebo``): p = (1 + dates with a step as large) / (1 + dates) <= ALPHA,
  counted only when there are at least ``placebo.MIN_PLACEBOS`` dates (else p cannot reach it);
* placebo in space (``synth``, state-level series only): the treated state's post/pre RMSPE
  ratio ranks high enough among all states that rank / units <= ALPHA, counted only with at
  least ``synth.MIN_UNITS`` units.

The rule, in order:

1. ``untestable``: no placebo test can reach ALPHA (too few dates, no usable donor pool). The
   model's estimate is still shown, but HAC intervals in short windows are too optimistic
   to stand alone.
2. ``change`` (``change_up`` / ``change_down``): the model's interval excludes zero and every
   testable placebo agrees (p <= ALPHA).
3. ``none``: no testable placebo has p <= ALPHA and the model's interval includes zero.
   ``none_model_only``: no testable placebo has p <= ALPHA although the model's interval
   excludes zero: the series moves this much at ordinary dates, so the model's "significant"
   step is what this series does anyway (the words reconcile the two).
4. ``mixed``: anything else (one placebo agrees and the other does not, or a placebo is
   extreme while the model's interval includes zero).

Calibration on the real series (benchmarks/verdict_calibration.py) measures how often the
rule says ``change`` at ordinary dates (target <= 10%) and how often it finds known shifts.

The verdict also lists the other milestones inside the analysed span (``overlaps``, nearest
first): the data cannot separate events that share a window, and the reader is told so.
``params["basis"]`` says which placebo the sentence cites ("time" when the placebo dates are
testable, else "space").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dashboard.analysis.its import ITSResult
from dashboard.analysis.placebo import PlaceboResult
from dashboard.analysis.synth import SynthResult

ALPHA = 0.05
CODES = ("change_up", "change_down", "none", "none_model_only", "mixed", "untestable")


@dataclass(frozen=True)
class Verdict:
    code: str
    params: dict
    overlaps: tuple[str, ...] = ()  # ids of other milestones inside the analysed span
    evidence: dict = field(default_factory=dict)  # test -> passed (True/False), for the table and tests

    @property
    def claims_change(self) -> bool:
        return self.code in ("change_up", "change_down")


def overlapping(milestones: pd.DataFrame, its: ITSResult, own_id: str | None = None) -> tuple[str, ...]:
    """Ids of milestones (columns id, date) whose date falls inside the analysed span."""
    w = its.windows
    inside = (milestones["date"] >= w.pre_start) & (milestones["date"] < w.post_end)
    hits = milestones[inside & (milestones["date"] != its.milestone)]
    hits = hits.assign(distance=(hits["date"] - its.milestone).abs()).sort_values(["distance", "date"])
    return tuple(i for i in hits["id"] if i != own_id)  # nearest first


def decide(its: ITSResult, placebo: PlaceboResult | None, synth: SynthResult | None = None,
           overlaps: tuple[str, ...] = (), alpha: float = ALPHA) -> Verdict:
    """Apply the rule in the module docstring."""
    c = its.change
    params = {"pct": abs(c.pct), "pct_low": c.pct_low, "pct_high": c.pct_high, "per_period": c.per_period,
              "per_period_low": c.per_period_low, "per_period_high": c.per_period_high,
              "n_placebos": placebo.n_placebos if placebo else 0}
    if placebo is not None:
        params.update(share=placebo.share, rank=placebo.rank, n_dates=placebo.n_placebos + 1,
                      p_time=placebo.p_value)
    if synth is not None:
        params.update(space_rank=synth.rank, n_units=synth.n_units, p_space=synth.p_value,
                      space_pct=synth.effect_pct)
    tests = {}
    if placebo is not None and placebo.testable:
        tests["time"] = placebo.p_value <= alpha
    if synth is not None and synth.testable:
        tests["space"] = synth.p_value <= alpha
    model = c.excludes_zero
    evidence = {"model": model, **tests}
    # which test the sentence cites: the placebo dates when they can decide, else the states
    params["basis"] = "time" if "time" in tests else "space" if "space" in tests else "none"
    if not tests:
        code = "untestable"
    elif model and all(tests.values()):
        code = "change_up" if c.pct > 0 else "change_down"
    elif not any(tests.values()):
        code = "none_model_only" if model else "none"
    else:
        code = "mixed"
    return Verdict(code, params, tuple(overlaps), evidence)
